/*
 * glint_metrics.c - glint measured through its public API (glint/glint.h)
 * with the bench guest (guests/bench-guest.c, built with glint-cc):
 *
 *   call_empty     warm sandbox, Echo(int32) -> int32
 *   call_host      CallHost(): the guest calls the host's HostPing() once
 *   call_string    EchoString of 64 bytes
 *   call_bytes_1m  EchoBytes of 1 MiB (in and out)
 *   sandbox_cold   create from the guest file (in the page cache), init,
 *                  Add(3, 4), destroy; also each part; and
 *                  sandbox_cold_paced, the same with 1 ms idle after each
 *   sandbox_info   open the guest image and list its functions; no VM
 *
 * and runs the snapshot and pool figures (glint_snap.c) and the density
 * figures (density.c).
 *
 * All of it runs once per backend (kvm, process) that glint_backend_probe
 * accepts here, in the results group named after the backend; a backend
 * that cannot run is recorded as skipped with the probe's message.  Every
 * sandbox is created with cfg.backend set explicitly and checked with
 * glint_sandbox_backend.
 *
 * exits come from glint_sandbox_exit_count(); insn_emulation (KVM) from
 * the sandbox's vCPU stats fd, found among this process's fds; guest_insns
 * from a separate counting pass: the trap flag on KVM (glint_count.c), perf
 * on the sandbox process (procwatch.c).  Each metric that cannot run says
 * why (no KVM, no guest, a failing library).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "glint/glint.h"
#include "glint_common.h"
#include "glint_count.h"
#include "jailer.h"
#include "kvmstats.h"
#include "minivm.h"
#include "procwatch.h"

struct bench_counts g_counts;
glint_backend g_be = GLINT_BACKEND_KVM;

void bench_config(glint_config *cfg)
{
    glint_config_default(cfg);
    cfg->backend = g_be;
}

int bench_check_backend(const glint_sandbox *sb, char *why, size_t len)
{
    glint_backend b = glint_sandbox_backend(sb);
    if (b == g_be)
        return 0;
    snprintf(why, len, "the sandbox runs on the %s backend, not %s", glint_backend_name(b),
             glint_backend_name(g_be));
    return -1;
}

const glint_function g_host_ping_sig = {.name = "HostPing", .ret = GLINT_I32, .nparams = 0};

glint_status bench_host_ping(glint_hostcall *hc, const glint_value *args, size_t nargs,
                             glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)user;
    ret->v.i32 = 1;
    return GLINT_OK;
}

glint_sandbox *bench_make_sandbox(const glint_image *img, const glint_config *cfg, int *vcpu,
                                  char *why, size_t len)
{
    int before[64], after[64];
    size_t nb = list_vcpu_fds(before, 64);
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_config c;
    memset(&err, 0, sizeof err);
    if (cfg)
        c = *cfg;
    else
        bench_config(&c);
    c.backend = g_be;
    glint_status st = glint_sandbox_create(img, &c, &sb, &err);
    if (st != GLINT_OK) {
        snprintf(why, len, "glint_sandbox_create: %s: %.300s", glint_status_name(st), err.message);
        return NULL;
    }
    if (bench_check_backend(sb, why, len) < 0) {
        glint_sandbox_destroy(sb);
        return NULL;
    }
    size_t na = list_vcpu_fds(after, 64);
    *vcpu = g_be == GLINT_BACKEND_KVM ? new_vcpu_fd(before, nb, after, na) : -1;
    st = glint_sandbox_register(sb, &g_host_ping_sig, bench_host_ping, NULL);
    if (st == GLINT_OK)
        st = glint_sandbox_init(sb);
    if (st != GLINT_OK) {
        snprintf(why, len, "%s: %.300s", glint_status_name(st), glint_sandbox_error(sb)->message);
        glint_sandbox_destroy(sb);
        return NULL;
    }
    return sb;
}

int check_i32(const glint_value *r, const glint_value *a)
{
    return r->type == GLINT_I32 && (a == NULL ? r->v.i32 == 1 : r->v.i32 == a[0].v.i32);
}

static int check_str(const glint_value *r, const glint_value *a)
{
    return r->type == GLINT_STRING && r->v.str.len == a[0].v.str.len &&
           memcmp(r->v.str.ptr, a[0].v.str.ptr, r->v.str.len) == 0;
}

static int check_bytes(const glint_value *r, const glint_value *a)
{
    return r->type == GLINT_BYTES && r->v.bytes.len == a[0].v.bytes.len &&
           memcmp(r->v.bytes.ptr, a[0].v.bytes.ptr, r->v.bytes.len) == 0;
}

void bench_set_insns(struct result *r, long count)
{
    if (!g_counts.counted) {
        result_note(r, "guest insns: %s", g_counts.why);
    } else if (count >= 0) {
        r->guest_insns = (double)count;
        result_note(r, "guest insns %s", g_counts.how);
    }
}

struct result *bench_time_calls(glint_sandbox *sb, int vcpu, const struct call_spec *c)
{
    glint_value res;
    for (size_t i = 0; i < c->warm; i++)
        if (glint_sandbox_call(sb, c->fn, c->args, c->nargs, &res) != GLINT_OK)
            break;
    struct vstats vs;
    if (vcpu >= 0)
        vstats_open(&vs, vcpu);
    else
        memset(&vs, 0, sizeof vs), vs.fd = -1,
            snprintf(vs.why, sizeof vs.why, "vCPU fd not found");
    int64_t emul0 = vstats_get(&vs, "insn_emulation");
    uint64_t exits0 = glint_sandbox_exit_count(sb);
    struct samples s = {0};
    char why[500] = "";
    for (size_t i = 0; i < c->n; i++) {
        uint64_t t0 = now_ns();
        glint_status st = glint_sandbox_call(sb, c->fn, c->args, c->nargs, &res);
        uint64_t t1 = now_ns();
        if (st != GLINT_OK) {
            snprintf(why, sizeof why, "%s(...) failed: %s: %.300s", c->fn, glint_status_name(st),
                     glint_sandbox_error(sb)->message);
            break;
        }
        if (!c->check(&res, c->args)) {
            snprintf(why, sizeof why, "%s(...) returned a wrong result", c->fn);
            break;
        }
        samples_add(&s, (double)(t1 - t0));
    }
    if (why[0] && s.n == 0) {
        samples_free(&s);
        result_skip(c->metric, "%s", why);
        vstats_close(&vs);
        return NULL;
    }
    struct result *r = result_add(c->metric, &s);
    r->exits = (double)(glint_sandbox_exit_count(sb) - exits0) / (double)r->n;
    int64_t emul = vstats_get(&vs, "insn_emulation");
    if (emul >= 0 && emul0 >= 0)
        r->insn_emulation = (double)(emul - emul0) / (double)r->n;
    else if (g_be == GLINT_BACKEND_KVM)
        result_note(r, "insn_emulation: %s", vs.why);
    vstats_close(&vs);
    bench_set_insns(r, c->insns);
    if (why[0])
        result_note(r, "stopped early: %s", why);
    return r;
}

/* call_empty and the exit round trip, in alternating blocks of 500, so
 * that the target (within 1.3x) compares them under the same conditions:
 * this machine's exit round trip moves between ~25 and ~35 us for minutes
 * at a time.  Adds the two p50s to call_empty's result. */
static void call_empty_interleaved(glint_sandbox *sb, struct result *r)
{
    struct minivm vm;
    char why[300];
    if (!r || floors_exit_vm_open(&vm, why, sizeof why) < 0)
        return;
    struct samples calls = {0}, exits = {0};
    glint_value arg = glint_i32(42), res;
    size_t blocks = iters(20, 4);
    for (size_t b = 0; b < blocks; b++) {
        for (size_t i = 0; i < 500; i++) {
            double ns = floors_exit_once(&vm);
            if (ns >= 0)
                samples_add(&exits, ns);
        }
        for (size_t i = 0; i < 500; i++) {
            uint64_t t0 = now_ns();
            glint_status st = glint_sandbox_call(sb, "Echo", &arg, 1, &res);
            if (st == GLINT_OK && check_i32(&res, &arg))
                samples_add(&calls, (double)(now_ns() - t0));
        }
    }
    minivm_destroy(&vm);
    if (calls.n && exits.n) {
        double c = samples_pct(&calls, 0.5) / 1000.0, e = samples_pct(&exits, 0.5) / 1000.0;
        result_extra(r, "interleaved_p50_us", c);
        result_extra(r, "exit_interleaved_p50_us", e);
        result_note(r, "interleaved with the minimal VM's exit round trip: %.3f us vs %.3f us", c,
                    e);
    }
    samples_free(&calls);
    samples_free(&exits);
}

/* The same on the process backend, against the floor of a fault delivered
 * to a handler in this process (floor_proc_fault_handler): blocks of 500
 * faults and 500 calls; the SIGSEGV handler is installed only around each
 * block of faults. */
static void call_empty_interleaved_proc(glint_sandbox *sb, struct result *r)
{
    char why[300];
    if (!r)
        return;
    struct samples calls = {0}, faults = {0};
    glint_value arg = glint_i32(42), res;
    size_t blocks = iters(20, 4);
    for (size_t b = 0; b < blocks; b++) {
        if (jailer_fault_open(why, sizeof why) < 0) {
            result_note(r, "not interleaved: %s", why);
            break;
        }
        for (size_t i = 0; i < 500; i++) {
            double ns = jailer_fault_once();
            if (ns >= 0)
                samples_add(&faults, ns);
        }
        jailer_fault_close();
        for (size_t i = 0; i < 500; i++) {
            uint64_t t0 = now_ns();
            glint_status st = glint_sandbox_call(sb, "Echo", &arg, 1, &res);
            if (st == GLINT_OK && check_i32(&res, &arg))
                samples_add(&calls, (double)(now_ns() - t0));
        }
    }
    if (calls.n && faults.n) {
        double c = samples_pct(&calls, 0.5) / 1000.0, f = samples_pct(&faults, 0.5) / 1000.0;
        result_extra(r, "interleaved_p50_us", c);
        result_extra(r, "fault_interleaved_p50_us", f);
        result_note(r, "interleaved with the fault-handler floor: %.3f us vs %.3f us (the "
                       "sandbox process sleeps through each block of faults and the scheduler "
                       "may then wake it on the other CPU, so this pass can come out faster)",
                    c, f);
    }
    samples_free(&calls);
    samples_free(&faults);
}

/* The CPU `pid` last ran on (/proc/PID/stat field 39), or -1. */
static int last_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    int field = 2, cpu = -1;
    for (char *t = p ? strtok(p + 1, " ") : NULL; t; t = strtok(NULL, " "))
        if (++field == 39) {
            cpu = atoi(t);
            break;
        }
    return cpu;
}

/* The process backend: where the sandbox process ran against this thread
 * (a call costs about twice as much when the two share a CPU: no side can
 * spin while the other runs). */
static void note_placement(struct result *r, pid_t pid)
{
    if (!r || pid <= 0)
        return;
    int mine = sched_getcpu(), its = last_cpu(pid);
    if (mine < 0 || its < 0)
        return;
    result_extra(r, "same_cpu", mine == its);
    result_note(r, "after the timed calls this thread was on CPU %d, the sandbox process last "
                   "on CPU %d%s", mine, its, mine == its ? " (the same: no spinning)" : "");
}

/* What observability costs on a call (docs/observability.md): a log
 * message the level filters out in the guest, one it sends (to a callback
 * that drops it), and call_empty while the profiler samples at 1 kHz. */
static unsigned g_logged;
static void count_log(glint_sandbox *sb, unsigned level, const char *file, uint32_t line,
                      const char *message, void *user)
{
    (void)sb, (void)level, (void)file, (void)line, (void)message, (void)user;
    g_logged++;
}

static void bench_observability(glint_sandbox *sb, int vcpu, glint_value *i32)
{
    char why[200] = "";
    glint_status s = glint_sandbox_set_log(sb, GLINT_LOG_WARN, count_log, NULL);
    if (s != GLINT_OK) {
        snprintf(why, sizeof why, "glint_sandbox_set_log: %.150s", glint_sandbox_error(sb)->message);
        result_skip("call_log_filtered", "%s", why);
        result_skip("call_log", "%s", why);
    } else {
        struct call_spec filtered = {"call_log_filtered", "LogDebug", i32, 1, check_i32, iters(2000, 200),
                                     iters(20000, 2000), -1};
        struct result *r = bench_time_calls(sb, vcpu, &filtered);
        if (r)
            result_note(r, "Echo plus glint_log(debug, ...) under the level warn: filtered in the guest; "
                           "%u messages reached the host (want 0)", g_logged);
        g_logged = 0;
        struct call_spec sent = {"call_log", "LogWarn", i32, 1, check_i32, iters(1000, 100),
                                 iters(10000, 1000), -1};
        r = bench_time_calls(sb, vcpu, &sent);
        if (r)
            result_note(r, "Echo plus glint_log(warn, ...): one host call per message, to a callback "
                           "that counts it (%u messages)", g_logged);
        glint_sandbox_set_log(sb, GLINT_LOG_WARN, NULL, NULL);
    }
    s = glint_sandbox_profile_start(sb, 1000);
    if (s != GLINT_OK) {
        result_skip("call_empty_profiled", "glint_sandbox_profile_start: %s", glint_sandbox_error(sb)->message);
        return;
    }
    struct call_spec prof = {"call_empty_profiled", "Echo", i32, 1, check_i32, iters(2000, 200),
                             iters(20000, 2000), -1};
    struct result *r = bench_time_calls(sb, vcpu, &prof);
    uint64_t samples = 0;
    glint_sandbox_profile_stop(sb, NULL, NULL, &samples);
    if (r)
        result_note(r, "call_empty while the profiler samples at 1,000 Hz of wall time: %llu samples",
                    (unsigned long long)samples);
}

static void bench_calls(const glint_image *img)
{
    char why[500];
    int vcpu;
    glint_sandbox *sb = bench_make_sandbox(img, NULL, &vcpu, why, sizeof why);
    pid_t child = sb && g_be != GLINT_BACKEND_KVM ? sandbox_pid(sb) : -1;
    if (!sb) {
        static const char *const names[] = {"call_empty", "call_host", "call_string"};
        for (size_t i = 0; i < 3; i++)
            result_skip(names[i], "%s", why);
    } else {
        static const char str64[] =
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        glint_value i32 = glint_i32(42), s64 = glint_str(str64, 64);
        struct call_spec specs[] = {
            {"call_empty", "Echo", &i32, 1, check_i32, iters(2000, 200), iters(20000, 2000),
             g_counts.c.echo},
            {"call_host", "CallHost", NULL, 0, check_i32, iters(1000, 100), iters(10000, 1000),
             g_counts.c.call_host},
            {"call_string", "EchoString", &s64, 1, check_str, iters(1000, 100),
             iters(10000, 1000), g_counts.c.echo_string},
        };
        for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
            struct result *r = bench_time_calls(sb, vcpu, &specs[i]);
            note_placement(r, child);
            if (i == 0 && g_be == GLINT_BACKEND_KVM)
                call_empty_interleaved(sb, r);
            else if (i == 0)
                call_empty_interleaved_proc(sb, r);
        }
        bench_observability(sb, vcpu, &i32);
        glint_sandbox_destroy(sb);
    }

    glint_config cfg;
    bench_config(&cfg);
    cfg.input_size = cfg.output_size = 2u << 20;
    sb = bench_make_sandbox(img, &cfg, &vcpu, why, sizeof why);
    uint8_t *mib = malloc(1u << 20);
    if (!sb || !mib) {
        result_skip("call_bytes_1m", "%s", sb ? "out of memory" : why);
    } else {
        for (size_t i = 0; i < (1u << 20); i++)
            mib[i] = (uint8_t)(i * 131u + 7u);
        glint_value b = glint_bytes(mib, 1u << 20);
        struct call_spec spec = {"call_bytes_1m", "EchoBytes", &b, 1, check_bytes,
                                 iters(20, 3), iters(300, 20), -1};
        struct result *r = bench_time_calls(sb, vcpu, &spec);
        if (r)
            result_note(r, "input and output buffers of 2 MiB; guest insns not counted: %s",
                        g_be == GLINT_BACKEND_KVM
                            ? "each of the 1 MiB copies' iterations would trap"
                            : "the counting pass leaves EchoBytes out, as on KVM");
    }
    free(mib);
    glint_sandbox_destroy(sb);
}

int bench_cold_once(const char *guest, double v[4], uint64_t *exits, char *why, size_t len)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_value args[2] = {glint_i32(3), glint_i32(4)}, res;
    glint_config cfg;
    bench_config(&cfg);
    uint64_t t0 = now_ns();
    glint_status st = glint_sandbox_create_file(guest, &cfg, &sb, &err);
    uint64_t t1 = now_ns();
    if (st != GLINT_OK) {
        snprintf(why, len, "glint_sandbox_create_file: %s: %.300s", glint_status_name(st),
                 err.message);
        return -1;
    }
    if (bench_check_backend(sb, why, len) < 0) {
        glint_sandbox_destroy(sb);
        return -1;
    }
    st = glint_sandbox_init(sb);
    uint64_t t2 = now_ns();
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

/* create_file -> init -> Add(3, 4) -> destroy, with each part timed;
 * back to back (`sandbox_cold`, judged), or with `pause_us` of idle time
 * after each (`sandbox_cold_paced`: a request that does not follow the
 * last at once, so a backend's background work, such as the process
 * backend forking its next spare and reaping the last process, has room). */
static void bench_cold_as(const char *guest, const char *name, unsigned pause_us)
{
    static const char *const parts[] = {"create", "init", "call", "destroy"};
    struct samples total = {0}, part[4] = {{0}};
    char why[500] = "";
    size_t warm = iters(10, 2), n = iters(300, 20);
    double exits = 0;
    for (size_t i = 0; i < warm + n; i++) {
        double v[4];
        uint64_t ex;
        if (bench_cold_once(guest, v, &ex, why, sizeof why) < 0)
            break;
        if (pause_us)
            usleep(pause_us);
        if (i < warm)
            continue;
        exits += (double)ex;
        for (int p = 0; p < 4; p++)
            samples_add(&part[p], v[p]);
        samples_add(&total, v[0] + v[1] + v[2] + v[3]);
    }
    if (total.n == 0) {
        result_skip(name, "%s", why);
        for (int p = 0; p < 4; p++)
            samples_free(&part[p]);
        return;
    }
    struct result *r = result_add(name, &total);
    r->exits = exits / (double)r->n;
    result_note(r, "default config; create from the file, init, Add(3,4), destroy");
    if (pause_us)
        result_note(r, "%u us idle after each sample (not timed)", pause_us);
    if (g_counts.counted) {
        bench_set_insns(r, g_counts.c.init + g_counts.c.add);
        result_extra(r, "init_guest_insns", (double)g_counts.c.init);
        result_note(r, "init %ld + Add %ld", g_counts.c.init, g_counts.c.add);
    } else {
        bench_set_insns(r, -1);
    }
    if (why[0])
        result_note(r, "stopped early: %s", why);
    for (int p = 0; p < 4; p++) {
        char pname[64];
        snprintf(pname, sizeof pname, "%s.%s", name, parts[p]);
        result_add(pname, &part[p]);
    }
}

static void bench_cold(const char *guest)
{
    bench_cold_as(guest, "sandbox_cold", 0);
    bench_cold_as(guest, "sandbox_cold_paced", 1000);
}

static void bench_info(const char *guest)
{
    struct samples s = {0};
    char why[500] = "", buf[256];
    size_t warm = iters(100, 10), n = iters(3000, 200), nfn = 0;
    for (size_t i = 0; i < warm + n; i++) {
        glint_image *img = NULL;
        glint_error err;
        uint64_t t0 = now_ns();
        glint_status st = glint_image_open_file(guest, &img, &err);
        if (st != GLINT_OK) {
            snprintf(why, sizeof why, "glint_image_open_file: %s: %.300s", glint_status_name(st),
                     err.message);
            break;
        }
        nfn = glint_image_function_count(img);
        for (size_t f = 0; f < nfn; f++)
            glint_function_format(glint_image_function(img, f), buf, sizeof buf);
        glint_image_close(img);
        if (i >= warm)
            samples_add(&s, (double)(now_ns() - t0));
    }
    if (s.n == 0) {
        samples_free(&s);
        result_skip("sandbox_info", "%s", why);
        return;
    }
    struct result *r = result_add("sandbox_info", &s);
    r->exits = 0;
    r->guest_insns = 0;
    result_note(r, "open + validate the ELF, format %zu signatures, close; no VM", nfn);
}

/* The counting pass for g_be: fills g_counts. */
static void count_insns(const glint_image *img)
{
    memset(&g_counts, 0, sizeof g_counts);
    char failed[400];
    if (g_be == GLINT_BACKEND_KVM) {
        g_counts.counted = glint_count_insns(img, &g_counts.c, failed, sizeof failed) == 0;
        snprintf(g_counts.how, sizeof g_counts.how, "counted by the trap-flag pass");
        if (!g_counts.counted) {
            char how[300];
            if (floors_insn_counting(3, how, sizeof how) == 0)
                snprintf(g_counts.why, sizeof g_counts.why,
                         "cannot be counted on this host: %.300s", how);
            else
                snprintf(g_counts.why, sizeof g_counts.why, "the counting pass failed: %.300s",
                         failed);
        }
    } else {
        g_counts.counted = proc_count_insns(img, &g_counts.c, failed, sizeof failed) == 0;
        snprintf(g_counts.how, sizeof g_counts.how,
                 "counted by perf: user-mode instructions of the sandbox process (guest and "
                 "stub handler)");
        if (!g_counts.counted)
            snprintf(g_counts.why, sizeof g_counts.why, "not measured: %.360s", failed);
    }
    if (!g_counts.counted)
        memset(&g_counts.c, 0xff, sizeof g_counts.c); /* all -1 */
    results_group_counting(glint_backend_name(g_be),
                           g_counts.counted ? g_counts.how : g_counts.why);
}

/* Every glint metric on g_be. */
static void bench_backend(const glint_image *img, const char *guest)
{
    printf("glint: %s backend ...\n", glint_backend_name(g_be));
    count_insns(img);
    bench_calls(img);
    bench_cold(guest);
    bench_info(guest);
    bench_snapshots(img, guest);
    bench_density(img, guest);
}

void bench_glint(void)
{
    static const glint_backend backends[] = {GLINT_BACKEND_KVM, GLINT_BACKEND_PROCESS};
    char why[500];
    glint_error err;
    memset(&err, 0, sizeof err);
    const char *guest = artifact_glint_guest(why, sizeof why);
    glint_image *img = NULL;
    glint_status st = GLINT_OK;
    if (guest)
        st = glint_image_open_file(guest, &img, &err);
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
        const char *name = glint_backend_name(backends[b]);
        results_set_group(name);
        memset(&err, 0, sizeof err);
        if (!guest) {
            results_skip_group(name, "cannot build the bench guest: %s", why);
        } else if (st != GLINT_OK) {
            results_skip_group(name, "glint_image_open_file(%.100s): %s: %.300s", guest,
                               glint_status_name(st), err.message);
        } else if (glint_backend_probe(backends[b], &err) != GLINT_OK) {
            results_skip_group(name, "glint_backend_probe: %.500s", err.message);
            printf("glint: %s backend skipped: %s\n", name, err.message);
        } else {
            g_be = backends[b];
            double waited, busy = host_settle(&waited);
            printf("glint: %s backend: the host was %.0f%% busy after %.1f s of waiting for it to "
                   "go quiet (at most 10 s)\n", name, busy * 100, waited);
            bench_backend(img, guest);
        }
    }
    results_set_group(NULL);
    glint_image_close(img);
}
