/*
 * glint_snap.c - snapshots, restore and the pool, through the public API:
 *
 *   snapshot               glint_sandbox_snapshot of an initialized bench
 *                          sandbox + glint_snapshot_free
 *   restore                glint_sandbox_restore after Touch(TOUCH_PAGES),
 *                          a call that changes a few pages; runs no guest
 *                          code (0 exits, counted by glint and by KVM; on
 *                          the process backend, the sandbox process is
 *                          watched: perf or its schedstat)
 *   call_with_restore      Echo(42) with auto-restore on: call + restore
 *   sandbox_from_snapshot  create from the snapshot, register HostPing,
 *                          init (no guest code), Add(3, 4), destroy; parts
 *   pooled_sandbox         glint_pool_acquire + Add(3, 4) + release, warm pool
 *
 * All from one snapshot of one initialized sandbox of the bench guest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "glint/glint.h"
#include "glint_common.h"
#include "glint_count.h"
#include "kvmstats.h"
#include "procwatch.h"

/* The pool (src/host/pool.c) may not be in this libglint yet: measured
 * when its source is there, unless -DBENCH_POOL=0 says otherwise. */
#if defined(BENCH_POOL)
#if BENCH_POOL
#define BENCH_HAVE_POOL 1
#endif
#elif defined(__has_include)
#if __has_include("../src/host/pool.c")
#define BENCH_HAVE_POOL 1
#endif
#endif

static const char *const g_snap_names[] = {"snapshot", "restore", "call_with_restore",
                                           "sandbox_from_snapshot", "pooled_sandbox"};
#define NSNAP (sizeof g_snap_names / sizeof g_snap_names[0])

static void bench_take(glint_sandbox *sb)
{
    struct samples s = {0};
    char why[500] = "";
    size_t warm = iters(20, 3), n = iters(1000, 50);
    uint64_t exits0 = 0;
    for (size_t i = 0; i < warm + n; i++) {
        if (i == warm)
            exits0 = glint_sandbox_exit_count(sb);
        glint_snapshot *snap = NULL;
        uint64_t t0 = now_ns();
        glint_status st = glint_sandbox_snapshot(sb, &snap);
        glint_snapshot_free(snap);
        uint64_t t1 = now_ns();
        if (st != GLINT_OK) {
            snprintf(why, sizeof why, "glint_sandbox_snapshot: %s: %.300s", glint_status_name(st),
                     glint_sandbox_error(sb)->message);
            break;
        }
        if (i >= warm)
            samples_add(&s, (double)(t1 - t0));
    }
    if (s.n == 0) {
        samples_free(&s);
        result_skip("snapshot", "%s", why);
        return;
    }
    struct result *r = result_add("snapshot", &s);
    r->exits = (double)(glint_sandbox_exit_count(sb) - exits0) / (double)r->n;
    r->guest_insns = 0;
    result_note(r, "initialized sandbox (default config): take + free; runs no guest code");
}

/* How many pages of guest memory Touch(TOUCH_PAGES) changes, host writes
 * (arguments, call frame) included, from a restored state; -1 if unknown. */
static long pages_changed(glint_sandbox *sb, const glint_snapshot *snap, const uint8_t *mem,
                          size_t len)
{
    uint8_t *copy = malloc(len);
    glint_value arg = glint_i32(TOUCH_PAGES), res;
    long n = -1;
    if (copy && glint_sandbox_restore(sb, snap) == GLINT_OK) {
        memcpy(copy, mem, len);
        if (glint_sandbox_call(sb, "Touch", &arg, 1, &res) == GLINT_OK) {
            n = 0;
            for (size_t off = 0; off + 4096 <= len; off += 4096)
                n += memcmp(copy + off, mem + off, 4096) != 0;
        }
    }
    free(copy);
    return n;
}

/* Touch (untimed), then restore (timed), n times.  On the process
 * backend, pw (watched separately, see watch_restores) says whether the
 * sandbox process ran during restores. */
static void bench_restore(glint_sandbox *sb, int vcpu, const glint_snapshot *snap, long changed,
                          const struct proc_watch *pw)
{
    glint_value arg = glint_i32(TOUCH_PAGES), res;
    struct samples s = {0};
    char why[500] = "";
    size_t warm = iters(500, 50), n = iters(10000, 1000);
    uint64_t exits = 0;
    int64_t kvm_exits = 0, emul = 0;
    struct vstats vs;
    if (vcpu >= 0)
        vstats_open(&vs, vcpu);
    else
        memset(&vs, 0, sizeof vs), vs.fd = -1,
            snprintf(vs.why, sizeof vs.why, "no vCPU fd found");
    for (size_t i = 0; i < warm + n && !why[0]; i++) {
        glint_status st = glint_sandbox_call(sb, "Touch", &arg, 1, &res);
        if (st != GLINT_OK || !check_i32(&res, &arg)) {
            snprintf(why, sizeof why, "Touch(%d): %s: %.300s", TOUCH_PAGES, glint_status_name(st),
                     glint_sandbox_error(sb)->message);
            break;
        }
        uint64_t e0 = glint_sandbox_exit_count(sb);
        int64_t k0 = vstats_get(&vs, "exits"), m0 = vstats_get(&vs, "insn_emulation");
        uint64_t t0 = now_ns();
        st = glint_sandbox_restore(sb, snap);
        uint64_t t1 = now_ns();
        if (st != GLINT_OK)
            snprintf(why, sizeof why, "glint_sandbox_restore: %s: %.300s", glint_status_name(st),
                     glint_sandbox_error(sb)->message);
        else if (i >= warm) {
            samples_add(&s, (double)(t1 - t0));
            exits += glint_sandbox_exit_count(sb) - e0;
            kvm_exits += vstats_get(&vs, "exits") - k0;
            emul += vstats_get(&vs, "insn_emulation") - m0;
        }
    }
    if (s.n == 0) {
        samples_free(&s);
        vstats_close(&vs);
        result_skip("restore", "%s", why);
        return;
    }
    struct result *r = result_add("restore", &s);
    r->exits = (double)exits / (double)r->n;
    result_note(r, "after Touch(%d), which changes %ld pages (memory diff)", TOUCH_PAGES, changed);
    if (g_be == GLINT_BACKEND_KVM) {
        int kvm_ok = vs.ok && vstats_get(&vs, "exits") >= 0;
        if (kvm_ok) {
            r->insn_emulation = (double)emul / (double)r->n;
            result_extra(r, "kvm_exits", (double)kvm_exits / (double)r->n);
        }
        /* Measured by KVM's own count: no exit means no KVM_RUN entered
         * the guest.  Without that counter nothing is known. */
        if (kvm_ok && kvm_exits == 0 && exits == 0)
            r->guest_insns = 0;
        if (!kvm_ok)
            result_note(r, "guest insns not measured: KVM's vCPU exit counter not readable (%s)",
                        vs.why[0] ? vs.why : "no stats fd");
        else
            result_note(r, "%.3f exits per restore in KVM's own vCPU stats%s",
                        (double)kvm_exits / (double)r->n,
                        kvm_exits ? " (guest insns not measured)" : ", so no guest code ran");
        result_note(r, "registers are handed to KVM for the next KVM_RUN (call_with_restore "
                       "includes that)");
    } else {
        char note[600];
        double gi = proc_watch_insns(pw, "a restore", note, sizeof note);
        if (gi >= 0 && exits == 0)
            r->guest_insns = gi;
        result_note(r, "%s (a separate pass: Touch, wait until the process sleeps, restore)",
                    note);
        result_note(r, "registers are set at the next resume (call_with_restore includes that)");
    }
    if (changed >= 0)
        result_extra(r, "pages_changed", (double)changed);
    vstats_close(&vs);
    if (why[0])
        result_note(r, "stopped early: %s", why);
}

/* The process backend: `n` more Touch + restore, each restore watched
 * (the process asleep before it): did the sandbox process run? */
static void watch_restores(glint_sandbox *sb, const glint_snapshot *snap, struct proc_watch *w,
                           size_t n)
{
    glint_value arg = glint_i32(TOUCH_PAGES), res;
    for (size_t i = 0; i < n && !w->why[0]; i++) {
        if (glint_sandbox_call(sb, "Touch", &arg, 1, &res) != GLINT_OK) {
            snprintf(w->why, sizeof w->why, "Touch: %.250s", glint_sandbox_error(sb)->message);
            break;
        }
        if (proc_watch_begin(w) < 0)
            break;
        glint_status st = glint_sandbox_restore(sb, snap);
        proc_watch_end(w);
        if (st != GLINT_OK)
            snprintf(w->why, sizeof w->why, "glint_sandbox_restore: %.250s",
                     glint_sandbox_error(sb)->message);
    }
}

static void bench_call_restore(glint_sandbox *sb, int vcpu, const glint_snapshot *snap)
{
    glint_status st = glint_sandbox_set_auto_restore(sb, snap);
    if (st != GLINT_OK) {
        result_skip("call_with_restore", "glint_sandbox_set_auto_restore: %s: %.300s",
                    glint_status_name(st), glint_sandbox_error(sb)->message);
        return;
    }
    glint_value i32 = glint_i32(42);
    struct call_spec spec = {"call_with_restore", "Echo", &i32, 1, check_i32, iters(1000, 100),
                             iters(10000, 1000), g_counts.c.echo};
    struct result *r = bench_time_calls(sb, vcpu, &spec);
    if (r)
        result_note(r, "Echo(42) with auto-restore to the snapshot after every call");
    glint_sandbox_set_auto_restore(sb, NULL);
}

/* One sandbox_from_snapshot sample: its four parts in v[], its exits
 * before the call in *init_exits and in total in *exits; 0 or -1 with why. */
static int from_snapshot_once(const glint_snapshot *snap, double v[4], uint64_t *init_exits,
                              uint64_t *exits, char *why, size_t len)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_value args[2] = {glint_i32(3), glint_i32(4)}, res;
    uint64_t t0 = now_ns();
    glint_status st = glint_sandbox_create_from_snapshot(snap, &sb, &err);
    uint64_t t1 = now_ns();
    if (st != GLINT_OK) {
        snprintf(why, len, "glint_sandbox_create_from_snapshot: %s: %.300s", glint_status_name(st),
                 err.message);
        return -1;
    }
    if (bench_check_backend(sb, why, len) < 0) {
        glint_sandbox_destroy(sb);
        return -1;
    }
    st = glint_sandbox_register(sb, &g_host_ping_sig, bench_host_ping, NULL);
    if (st == GLINT_OK)
        st = glint_sandbox_init(sb);
    uint64_t t2 = now_ns();
    *init_exits = glint_sandbox_exit_count(sb);
    if (st == GLINT_OK)
        st = glint_sandbox_call(sb, "Add", args, 2, &res);
    uint64_t t3 = now_ns();
    if (st != GLINT_OK || res.type != GLINT_I32 || res.v.i32 != 7)
        snprintf(why, len, "%s: %.300s", st != GLINT_OK ? glint_status_name(st) : "Add(3, 4) != 7",
                 glint_sandbox_error(sb)->message);
    *exits = glint_sandbox_exit_count(sb);
    glint_sandbox_destroy(sb);
    uint64_t t4 = now_ns();
    v[0] = (double)(t1 - t0), v[1] = (double)(t2 - t1), v[2] = (double)(t3 - t2);
    v[3] = (double)(t4 - t3);
    return why[0] ? -1 : 0;
}

/* Adds w's figures to the aggregate a (several sandboxes, one each). */
static void watch_merge(struct proc_watch *a, const struct proc_watch *w)
{
    if (a->why[0])
        return;
    if (w->why[0]) {
        snprintf(a->why, sizeof a->why, "%s", w->why);
        return;
    }
    a->n += w->n, a->ran_ns += w->ran_ns, a->slices += w->slices;
    if (w->insns < 0 && a->insns >= 0)
        snprintf(a->perf_why, sizeof a->perf_why, "%s", w->perf_why);
    a->insns = a->insns >= 0 && w->insns >= 0 ? a->insns + w->insns : -1;
}

/* Does initializing a sandbox from the snapshot run guest code?  A
 * separate pass of `n` sandboxes (create, register + init watched, Add,
 * destroy).  KVM: the vCPU's own exit counter over the init (no exit: the
 * guest was never entered).  Process: the sandbox process, asleep before
 * the init, watched (procwatch.h).  The guest instructions per init, or
 * -1; how, or why not, in note. */
static double init_insns(const glint_snapshot *snap, size_t n, char *note, size_t len)
{
    char why[400] = "";
    int64_t kvm_exits = 0;
    size_t done = 0;
    struct proc_watch agg;
    memset(&agg, 0, sizeof agg);
    for (size_t i = 0; i < n && !why[0]; i++) {
        int vb[64], va[64];
        size_t nvb = g_be == GLINT_BACKEND_KVM ? list_vcpu_fds(vb, 64) : 0;
        glint_sandbox *sb = NULL;
        glint_error err;
        glint_status st = glint_sandbox_create_from_snapshot(snap, &sb, &err);
        if (st != GLINT_OK) {
            snprintf(why, sizeof why, "glint_sandbox_create_from_snapshot: %.300s", err.message);
            break;
        }
        if (bench_check_backend(sb, why, sizeof why) < 0) {
            glint_sandbox_destroy(sb);
            break;
        }
        struct vstats vs;
        struct proc_watch w;
        memset(&vs, 0, sizeof vs), vs.fd = -1;
        int64_t e0 = -1, e1 = -1;
        if (g_be == GLINT_BACKEND_KVM) {
            int vcpu = new_vcpu_fd(vb, nvb, va, list_vcpu_fds(va, 64));
            if (vcpu >= 0)
                vstats_open(&vs, vcpu);
            e0 = vstats_get(&vs, "exits");
        } else {
            proc_watch_init(&w, sandbox_pid(sb));
            proc_watch_begin(&w);
        }
        st = glint_sandbox_register(sb, &g_host_ping_sig, bench_host_ping, NULL);
        if (st == GLINT_OK)
            st = glint_sandbox_init(sb);
        if (g_be == GLINT_BACKEND_KVM) {
            e1 = vstats_get(&vs, "exits");
            if (e0 < 0 || e1 < 0)
                snprintf(why, sizeof why, "KVM's vCPU exit counter not readable (%s)",
                         vs.why[0] ? vs.why : "vCPU fd not found");
            else
                kvm_exits += e1 - e0;
            vstats_close(&vs);
        } else {
            proc_watch_end(&w);
            proc_watch_close(&w);
            watch_merge(&agg, &w);
        }
        if (st != GLINT_OK)
            snprintf(why, sizeof why, "init: %.300s", glint_sandbox_error(sb)->message);
        glint_sandbox_destroy(sb);
        done += !why[0];
    }
    if (g_be != GLINT_BACKEND_KVM) {
        if (why[0] && !agg.why[0])
            snprintf(agg.why, sizeof agg.why, "%s", why);
        return proc_watch_insns(&agg, "an init", note, len);
    }
    if (why[0] || done == 0) {
        snprintf(note, len, "guest insns of an init not measured: %s", why[0] ? why : "no sample");
        return -1;
    }
    if (kvm_exits) {
        snprintf(note, len, "guest insns of an init not measured: KVM counted %.3f exits per "
                 "init, so guest code ran", (double)kvm_exits / (double)done);
        return -1;
    }
    snprintf(note, len, "guest insns of an init: 0, measured: KVM's vCPU stats counted no exit "
             "during the init of %zu sandboxes, so no KVM_RUN entered a guest", done);
    return 0;
}

/* Samples alternate with sandbox_cold's (from the guest file), so that the
 * target (cheaper than sandbox_cold) compares the two under the same
 * conditions: VM creation and teardown swing by 2x within minutes here. */
static void bench_from_snapshot(const glint_snapshot *snap, const char *guest)
{
    static const char *const parts[] = {"create", "init", "call", "destroy"};
    struct samples total = {0}, part[4] = {{0}}, cold = {0};
    char why[500] = "";
    size_t warm = iters(10, 2), n = iters(300, 20);
    uint64_t init_exits = 0, exits = 0;
    for (size_t i = 0; i < warm + n; i++) {
        double v[4], c[4];
        uint64_t ie, ex, cx;
        if (from_snapshot_once(snap, v, &ie, &ex, why, sizeof why) < 0)
            break;
        int cold_ok = bench_cold_once(guest, c, &cx, why, sizeof why) == 0;
        why[0] = 0; /* a failing cold sample only leaves the comparison out */
        if (i < warm)
            continue;
        init_exits += ie, exits += ex;
        for (int p = 0; p < 4; p++)
            samples_add(&part[p], v[p]);
        samples_add(&total, v[0] + v[1] + v[2] + v[3]);
        if (cold_ok)
            samples_add(&cold, c[0] + c[1] + c[2] + c[3]);
    }
    if (total.n == 0) {
        for (int p = 0; p < 4; p++)
            samples_free(&part[p]);
        samples_free(&cold);
        result_skip("sandbox_from_snapshot", "%s", why);
        return;
    }
    double cold_p50 = cold.n ? samples_pct(&cold, 0.5) / 1000.0 : -1;
    samples_free(&cold);
    struct result *r = result_add("sandbox_from_snapshot", &total);
    if (cold_p50 > 0) {
        result_extra(r, "cold_interleaved_p50_us", cold_p50);
        result_note(r, "sandbox_cold interleaved with these samples: p50 %.1f us", cold_p50);
    }
    r->exits = (double)exits / (double)r->n;
    result_extra(r, "init_exits", (double)init_exits / (double)r->n);
    result_note(r, "create from the snapshot, register HostPing + init, Add(3,4), destroy; "
                   "%.0f exits before the call", (double)init_exits / (double)r->n);
    char note[600];
    double gi = init_insns(snap, iters(20, 5), note, sizeof note);
    if (gi >= 0)
        result_extra(r, "init_guest_insns", gi);
    result_note(r, "%s", note);
    bench_set_insns(r, g_counts.c.add);
    if (g_counts.counted)
        result_note(r, "guest insns: Add %ld (the call only)", g_counts.c.add);
    if (why[0])
        result_note(r, "stopped early: %s", why);
    for (int p = 0; p < 4; p++) {
        char name[48];
        snprintf(name, sizeof name, "sandbox_from_snapshot.%s", parts[p]);
        result_add(name, &part[p]);
    }
}

#ifdef BENCH_HAVE_POOL
/* The time of one guest instruction in ring 3 (us), from the floors, or -1. */
static double insn_cost_us(void)
{
    const struct result *r = result_find("guest_insn_cost_ring3");
    if (!r || r->skipped)
        return -1;
    /* The figure is per dec+jnz: the counted instructions per iteration
     * when the floors could count them, else 2 by construction. */
    return r->p50_us / (r->guest_insns > 0 ? r->guest_insns : 2);
}

/* One acquire + Add(3, 4) + release: 0, or -1 with why.  *exits gets the
 * exits of the call. */
static int pooled_once(glint_pool *pool, uint64_t *ns, uint64_t *exits, char *why, size_t len)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_value args[2] = {glint_i32(3), glint_i32(4)}, res;
    uint64_t t0 = now_ns();
    glint_status st = glint_pool_acquire(pool, &sb, &err);
    if (st != GLINT_OK) {
        snprintf(why, len, "glint_pool_acquire: %s: %.300s", glint_status_name(st), err.message);
        return -1;
    }
    if (bench_check_backend(sb, why, len) < 0) {
        glint_pool_release(pool, sb);
        return -1;
    }
    uint64_t e0 = glint_sandbox_exit_count(sb);
    st = glint_sandbox_call(sb, "Add", args, 2, &res);
    uint64_t e1 = glint_sandbox_exit_count(sb);
    if (st != GLINT_OK || res.type != GLINT_I32 || res.v.i32 != 7)
        snprintf(why, len, "%s: %.300s", st != GLINT_OK ? glint_status_name(st) : "Add(3, 4) != 7",
                 glint_sandbox_error(sb)->message);
    glint_pool_release(pool, sb);
    *ns = now_ns() - t0;
    *exits = e1 - e0;
    return why[0] ? -1 : 0;
}

/* The pool's targets need the floors: the exit round trip plus the time of
 * the guest instructions the sample runs, and the VM life cycle. */
static void pooled_targets(struct result *r)
{
    const struct result *exit = result_find("kvm_exit_roundtrip");
    double insn = insn_cost_us();
    if (!exit || exit->skipped || insn < 0 || r->guest_insns < 0) {
        result_note(r, "no floor for the target (needs kvm_exit_roundtrip, "
                       "guest_insn_cost_ring3 and the guest insns)");
        return;
    }
    double floor = exit->p50_us + r->guest_insns * insn;
    result_extra(r, "exit_plus_insns_us", floor);
    result_note(r, "floor: exit round trip %.3f us + %.0f insns x %.6f us", exit->p50_us,
                r->guest_insns, insn);
}

static void bench_pool(const glint_snapshot *snap)
{
    glint_pool_config pc;
    glint_pool_config_default(&pc);
    glint_host_function host = {g_host_ping_sig, bench_host_ping, NULL};
    pc.max_idle = 4, pc.prefill = 2, pc.idle_timeout_ms = 0, pc.host = &host, pc.nhost = 1;
    pc.backend = g_be;
    glint_pool *pool = NULL;
    glint_error err;
    glint_status st = glint_pool_create(snap, &pc, &pool, &err);
    if (st != GLINT_OK) {
        result_skip("pooled_sandbox", "glint_pool_create: %s: %.300s", glint_status_name(st),
                    err.message);
        return;
    }
    struct samples s = {0};
    char why[500] = "";
    size_t warm = iters(500, 50), n = iters(10000, 1000);
    uint64_t exits = 0;
    glint_pool_stats st0, st1;
    for (size_t i = 0; i < warm + n; i++) {
        uint64_t ns, ex;
        if (i == warm)
            glint_pool_get_stats(pool, &st0);
        if (pooled_once(pool, &ns, &ex, why, sizeof why) < 0)
            break;
        if (i >= warm)
            samples_add(&s, (double)ns), exits += ex;
    }
    glint_pool_get_stats(pool, &st1);
    glint_pool_destroy(pool);
    if (s.n == 0) {
        samples_free(&s);
        result_skip("pooled_sandbox", "%s", why);
        return;
    }
    struct result *r = result_add("pooled_sandbox", &s);
    r->exits = (double)exits / (double)r->n;
    bench_set_insns(r, g_counts.c.add);
    result_note(r, "acquire + Add(3,4) + release; pool of max_idle 4, prefill 2; while timed: "
                   "%llu VMs created, %llu reuses",
                (unsigned long long)(st1.created - st0.created),
                (unsigned long long)(st1.reused - st0.reused));
    result_extra(r, "vms_created", (double)(st1.created - st0.created));
    if (g_be == GLINT_BACKEND_KVM)
        pooled_targets(r);
    else
        result_note(r, "target against floor_proc_fault_handler (the process backend's exit floor)");
    if (why[0])
        result_note(r, "stopped early: %s", why);
}
#else
static void bench_pool(const glint_snapshot *snap)
{
    (void)snap;
    result_skip("pooled_sandbox", "the pool (src/host/pool.c) is not in this libglint yet");
}
#endif

void bench_snapshots(const glint_image *img, const char *guest)
{
    char why[500];
    int vcpu;
    struct guest_maps before, after;
    guest_maps_read(&before);
    glint_sandbox *sb = bench_make_sandbox(img, NULL, &vcpu, why, sizeof why);
    if (!sb) {
        for (size_t i = 0; i < NSNAP; i++)
            result_skip(g_snap_names[i], "%s", why);
        return;
    }
    guest_maps_read(&after);
    size_t len = 0;
    const uint8_t *mem = (const uint8_t *)guest_maps_new(&before, &after, &len);
    bench_take(sb);
    glint_snapshot *snap = NULL;
    glint_status st = glint_sandbox_snapshot(sb, &snap);
    if (st != GLINT_OK) {
        for (size_t i = 1; i < NSNAP; i++)
            result_skip(g_snap_names[i], "glint_sandbox_snapshot: %s: %.300s",
                        glint_status_name(st), glint_sandbox_error(sb)->message);
        glint_sandbox_destroy(sb);
        return;
    }
    long changed = mem ? pages_changed(sb, snap, mem, len) : -1;
    struct proc_watch pw;
    memset(&pw, 0, sizeof pw);
    if (g_be != GLINT_BACKEND_KVM) {
        /* After pages_changed's first restore, which may start a new process. */
        glint_sandbox_restore(sb, snap);
        proc_watch_init(&pw, sandbox_pid(sb));
        watch_restores(sb, snap, &pw, iters(200, 50));
        proc_watch_close(&pw);
    }
    bench_restore(sb, vcpu, snap, changed, &pw);
    bench_call_restore(sb, vcpu, snap);
    glint_sandbox_destroy(sb);
    bench_from_snapshot(snap, guest);
    bench_pool(snap);
    glint_snapshot_free(snap);
}
