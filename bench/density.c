/*
 * density.c - how many live sandboxes fit, and what each costs the host.
 *
 *   density      N live sandboxes from one snapshot (10,000; 200 with
 *                --quick on KVM, 300 on the process backend), each
 *                initialized (no guest code) and then called once: host
 *                memory per sandbox (MemAvailable delta / N, after the
 *                calls and before them), the creation rate, and the first
 *                call's time.  Beside kvm_vm_density (KVM) or
 *                floor_proc_memory (process backend).
 *   density_elf  N live sandboxes created from the ELF and initialized
 *                (2,000; 50 with --quick), as issue 3 measured them.
 *
 * Both run on the backend of the glint group (g_be); the workers are told
 * it on their command line.  On the process backend each live sandbox is
 * a process too: N is capped by RLIMIT_NPROC, pid_max and threads-max
 * (with room to spare), and every worker stops creating when MemAvailable
 * falls under 2 GiB, so that the machine survives.
 *
 * Each sandbox holds file descriptors (VM and vCPU; on the process
 * backend the guest memfd, the control memfd, a pidfd, the pagemap and
 * /proc/PID/syscall), and RLIMIT_NOFILE may
 * allow fewer than N in one process (its hard limit cannot be raised
 * without CAP_SYS_RESOURCE).  So `density` runs in worker processes
 * (glint-bench --density-worker GUEST), as many as the limit needs, each
 * with its own snapshot of the same initialized guest.  The workers are
 * started and ready (snapshot taken) before the first MemAvailable
 * reading, so their own process memory is not counted.  They create their
 * share one worker after the other, so the creation rate is that of one
 * thread.
 *
 * Worker protocol (lines; parent -> worker on stdin, worker -> parent on
 * stdout):
 *   (started as glint-bench --density-worker GUEST BACKEND)
 *   worker: "ready CAPACITY FDS_PER_SANDBOX FD_LIMIT" | "error MESSAGE"
 *   parent: "create Q"
 *   worker: "t NS" per sandbox (create + register + init), then
 *           "created LIVE ELAPSED_NS INIT_EXITS [why it stopped]"
 *   parent: "call"
 *   worker: "c NS" per sandbox (its first call, Add(3, 4)), then
 *           "called OK ELAPSED_NS [why it stopped]"
 *   parent: closes stdin; the worker exits (the kernel tears its VMs down).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "hv.h" /* glint_debug_process_settle, a test hook: steady descriptor counts */
#include "glint/glint.h"
#include "glint_common.h"

#define WORKERS_MAX 8
/* At most this many sandboxes per worker: KVM's costs grow with the VMs of
 * one process (every VM registers an MMU notifier on the process's address
 * space: creating a VM takes all of its mappings' locks, and each
 * copy-on-write fault calls every VM's notifier), so one process of
 * 10,000 would measure that instead. */
#define PER_WORKER_MAX 2500
/* Workers stop creating sandboxes below this much MemAvailable. */
#define MEM_FLOOR_BYTES (2ull << 30)

extern char **environ;

/* The /proc/meminfo counters that say where a sandbox's memory goes (KiB). */
#define MI_N 6
static const char *const g_mi_names[MI_N] = {"Shmem", "AnonPages", "PageTables", "KernelStack",
                                             "Slab", "Committed_AS"};
struct meminfo_kib {
    long long v[MI_N];
};

static void meminfo_read(struct meminfo_kib *m)
{
    for (int i = 0; i < MI_N; i++)
        m->v[i] = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return;
    char line[128];
    while (fgets(line, sizeof line, f))
        for (int i = 0; i < MI_N; i++) {
            size_t l = strlen(g_mi_names[i]);
            if (strncmp(line, g_mi_names[i], l) == 0 && line[l] == ':')
                m->v[i] = atoll(line + l + 1);
        }
    fclose(f);
}

/* Shmem + AnonPages + PageTables + KernelStack + Slab from a to b, per
 * sandbox: what the kernel charges for them (KiB), or -1 if unreadable.
 * MemAvailable also moves with the page cache and other activity. */
static double meminfo_charged(const struct meminfo_kib *a, const struct meminfo_kib *b, double n)
{
    double sum = 0;
    for (int i = 0; i < 5; i++) {
        if (a->v[i] < 0 || b->v[i] < 0)
            return -1;
        sum += (double)(b->v[i] - a->v[i]);
    }
    return sum / n;
}

/* "Shmem 120.0, AnonPages 3.1, ..." per sandbox into buf. */
static void meminfo_delta(const struct meminfo_kib *a, const struct meminfo_kib *b, double n,
                          char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < MI_N && o < len; i++)
        if (a->v[i] >= 0 && b->v[i] >= 0)
            o += (size_t)snprintf(buf + o, len - o, "%s%s %.1f", o ? ", " : "", g_mi_names[i],
                                  (double)(b->v[i] - a->v[i]) / n);
}

/* ------------------------------------------------------------------------- */
/* density_elf: in this process. */

static void bench_density_elf(const glint_image *img)
{
    size_t n = iters(2000, 50), live = 0;
    glint_config cfg;
    bench_config(&cfg);
    glint_sandbox **sbs = calloc(n, sizeof *sbs);
    if (!sbs) {
        result_skip("density_elf", "out of memory");
        return;
    }
    char why[500] = "";
    struct samples s = {0};
    struct meminfo_kib mi0, mi1;
    uint64_t mem0 = mem_available_settled(), t0 = now_ns();
    meminfo_read(&mi0);
    for (; live < n; live++) {
        glint_error err;
        uint64_t t = now_ns();
        glint_status st = glint_sandbox_create(img, &cfg, &sbs[live], &err);
        if (st != GLINT_OK) {
            snprintf(why, sizeof why, "%s: %.300s", glint_status_name(st), err.message);
            break;
        }
        if (bench_check_backend(sbs[live], why, sizeof why) < 0) {
            glint_sandbox_destroy(sbs[live]);
            break;
        }
        st = glint_sandbox_init(sbs[live]);
        if (st != GLINT_OK) {
            snprintf(why, sizeof why, "init: %s: %.300s", glint_status_name(st),
                     glint_sandbox_error(sbs[live])->message);
            glint_sandbox_destroy(sbs[live]);
            break;
        }
        samples_add(&s, (double)(now_ns() - t));
    }
    uint64_t t1 = now_ns(), mem1 = mem_available_settled();
    meminfo_read(&mi1);
    for (size_t i = 0; i < live; i++)
        glint_sandbox_destroy(sbs[i]);
    free(sbs);
    if (live == 0) {
        samples_free(&s);
        result_skip("density_elf", "%s", why);
        return;
    }
    struct result *r = result_add("density_elf", &s);
    double kib = mem0 > mem1 ? (double)(mem0 - mem1) / 1024.0 / (double)live : 0;
    double rate = (double)live * 1e9 / (double)(t1 - t0);
    result_extra(r, "live", (double)live);
    result_extra(r, "host_kib_per_sandbox", kib);
    result_extra(r, "created_per_s", rate);
    result_note(r, "%zu live sandboxes from the ELF (default config), initialized: %.0f KiB host "
                   "memory each (MemAvailable delta), %.0f/s; times are create+init", live, kib,
                rate);
    char mi[300];
    meminfo_delta(&mi0, &mi1, (double)live, mi, sizeof mi);
    if (mi[0])
        result_note(r, "per sandbox, /proc/meminfo deltas (KiB): %s", mi);
    const char *fname = g_be == GLINT_BACKEND_KVM ? "kvm_vm_density" : "floor_proc_memory";
    const char *fkey = g_be == GLINT_BACKEND_KVM ? "host_kib_per_vm" : "host_kib_per_process";
    const struct result *fl = result_find(fname);
    for (size_t i = 0; fl && !fl->skipped && i < fl->nextra; i++)
        if (strcmp(fl->extra[i].key, fkey) == 0 && fl->extra[i].val > 0)
            result_note(r, "%.2fx %s's memory", kib / fl->extra[i].val, fname);
    if (g_opts.quick)
        result_note(r, "quick run: N is small, so the memory figure is rough");
    if (live < n)
        result_note(r, "stopped at %zu: %s", live, why);
}

/* ------------------------------------------------------------------------- */
/* The worker. */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* A sandbox from `snap`, initialized; NULL with why. */
static glint_sandbox *worker_sandbox(const glint_snapshot *snap, char *why, size_t len)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status st = glint_sandbox_create_from_snapshot(snap, &sb, &err);
    if (st != GLINT_OK) {
        snprintf(why, len, "glint_sandbox_create_from_snapshot: %s: %.300s", glint_status_name(st),
                 err.message);
        return NULL;
    }
    if (bench_check_backend(sb, why, len) < 0) {
        glint_sandbox_destroy(sb);
        return NULL;
    }
    st = glint_sandbox_register(sb, &g_host_ping_sig, bench_host_ping, NULL);
    if (st == GLINT_OK)
        st = glint_sandbox_init(sb);
    if (st != GLINT_OK) {
        snprintf(why, len, "init: %s: %.300s", glint_status_name(st),
                 glint_sandbox_error(sb)->message);
        glint_sandbox_destroy(sb);
        return NULL;
    }
    return sb;
}

static int add_once(glint_sandbox *sb, char *why, size_t len)
{
    glint_value args[2] = {glint_i32(3), glint_i32(4)}, res;
    glint_status st = glint_sandbox_call(sb, "Add", args, 2, &res);
    if (st == GLINT_OK && res.type == GLINT_I32 && res.v.i32 == 7)
        return 0;
    snprintf(why, len, "Add(3, 4): %s: %.300s", st != GLINT_OK ? glint_status_name(st) : "!= 7",
             glint_sandbox_error(sb)->message);
    return -1;
}

/* The worker's snapshot, and how many sandboxes its fd limit allows. */
static glint_snapshot *worker_setup(const char *guest, size_t *cap, int *per, char *why,
                                    size_t len)
{
    glint_image *img = NULL;
    glint_error err;
    if (glint_image_open_file(guest, &img, &err) != GLINT_OK) {
        snprintf(why, len, "%.300s", err.message);
        return NULL;
    }
    int vcpu;
    glint_config cfg;
    bench_config(&cfg);
    cfg.timeout_ms = 10000; /* first calls slow down as VMs pile up: do not lose the figure */
    glint_sandbox *sb = bench_make_sandbox(img, &cfg, &vcpu, why, len);
    glint_image_close(img);
    glint_snapshot *snap = NULL;
    if (sb && glint_sandbox_snapshot(sb, &snap) != GLINT_OK)
        snprintf(why, len, "glint_sandbox_snapshot: %.300s", glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
    if (!snap)
        return NULL;
    /* The process backend keeps spare processes (and their descriptors)
     * ahead: count with its keeper idle, before and after. */
    glint_debug_process_settle();
    int f0 = count_fds();
    glint_sandbox *probe = worker_sandbox(snap, why, len);
    glint_debug_process_settle();
    *per = count_fds() - f0;
    if (probe && *per <= 0)
        snprintf(why, len, "one sandbox added %d file descriptors: cannot size the workers", *per);
    if (!probe || add_once(probe, why, len) < 0 || *per <= 0) {
        glint_sandbox_destroy(probe);
        glint_snapshot_free(snap);
        return NULL;
    }
    glint_sandbox_destroy(probe);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    long room = (long)rl.rlim_cur - count_fds() - 32;
    *cap = room > 0 ? (size_t)(room / *per) : 0;
    return snap;
}

static void worker_loop(glint_snapshot *snap, size_t quota)
{
    glint_sandbox **sbs = calloc(quota ? quota : 1, sizeof *sbs);
    char why[500] = "";
    size_t live = 0, ok = 0;
    uint64_t init_exits = 0, t0 = now_ns();
    for (; sbs && live < quota; live++) {
        if (live % 100 == 99 && mem_available() < MEM_FLOOR_BYTES) {
            snprintf(why, sizeof why, "MemAvailable fell under %llu MiB: stopped to keep the "
                     "machine alive", MEM_FLOOR_BYTES >> 20);
            break;
        }
        uint64_t t = now_ns();
        if (!(sbs[live] = worker_sandbox(snap, why, sizeof why)))
            break;
        printf("t %llu\n", (unsigned long long)(now_ns() - t));
        init_exits += glint_sandbox_exit_count(sbs[live]);
    }
    printf("created %zu %llu %llu %s\n", live, (unsigned long long)(now_ns() - t0),
           (unsigned long long)init_exits, sbs ? why : "out of memory");
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin) || strncmp(line, "call", 4) != 0)
        return;
    why[0] = 0;
    t0 = now_ns();
    for (; ok < live; ok++) {
        uint64_t t = now_ns();
        if (add_once(sbs[ok], why, sizeof why) < 0)
            break;
        printf("c %llu\n", (unsigned long long)(now_ns() - t));
    }
    printf("called %zu %llu %s\n", ok, (unsigned long long)(now_ns() - t0), why);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) /* until the parent closes stdin */
        ;
}

int density_worker_main(const char *guest, const char *backend)
{
    raise_fd_limit();
    char why[500] = "";
    glint_backend be;
    glint_error err;
    if (glint_backend_parse(backend, &be, &err) != GLINT_OK || be == GLINT_BACKEND_AUTO) {
        printf("error bad backend '%.100s'\n", backend);
        return 1;
    }
    g_be = be;
    size_t cap = 0, quota = 0;
    int per = 0;
    glint_snapshot *snap = worker_setup(guest, &cap, &per, why, sizeof why);
    if (!snap) {
        printf("error %s\n", why);
        return 1;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("ready %zu %d %llu\n", cap, per, (unsigned long long)rl.rlim_cur);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin) || sscanf(line, "create %zu", &quota) != 1)
        return 0;
    worker_loop(snap, quota);
    return 0; /* exiting tears the VMs down */
}

/* ------------------------------------------------------------------------- */
/* density: the parent. */

struct worker {
    pid_t pid;
    FILE *in, *out; /* to the worker's stdin, from its stdout */
    size_t cap, quota, live;
    int fds_per;
    unsigned long long fd_limit;
};

static int worker_start(struct worker *w, const char *guest, char *why, size_t len)
{
    int to[2], from[2];
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || pipe2(to, O_CLOEXEC) < 0) {
        snprintf(why, len, "cannot start a density worker: %s", strerror(errno));
        return -1;
    }
    exe[n] = 0;
    if (pipe2(from, O_CLOEXEC) < 0) {
        close(to[0]), close(to[1]);
        snprintf(why, len, "cannot start a density worker: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from[1], 1);
    char *argv[] = {exe, "--density-worker", (char *)guest, (char *)glint_backend_name(g_be),
                    NULL};
    int e = posix_spawn(&w->pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(to[0]), close(from[1]);
    if (e != 0) {
        close(to[1]), close(from[0]);
        snprintf(why, len, "cannot start %.300s --density-worker: %s", exe, strerror(e));
        return -1;
    }
    w->in = fdopen(to[1], "w");
    w->out = fdopen(from[0], "r");
    char line[600];
    if (!w->in || !w->out || !fgets(line, sizeof line, w->out)) {
        snprintf(why, len, "a density worker ended before it was ready");
        return -1;
    }
    line[strcspn(line, "\n")] = 0;
    if (sscanf(line, "ready %zu %d %llu", &w->cap, &w->fds_per, &w->fd_limit) != 3) {
        snprintf(why, len, "density worker: %.400s", strncmp(line, "error ", 6) ? line : line + 6);
        return -1;
    }
    return 0;
}

static void worker_end(struct worker *w)
{
    if (w->in)
        fclose(w->in);
    if (w->out)
        fclose(w->out);
    int st;
    if (w->pid > 0)
        while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
            ;
    memset(w, 0, sizeof *w);
}

/* Reads "<tag> NS" samples into s until the line starting with `end`,
 * which it leaves in `line`; -1 if the worker went away. */
static int worker_read(struct worker *w, char tag, const char *end, struct samples *s,
                       char *line, size_t len)
{
    while (fgets(line, (int)len, w->out)) {
        unsigned long long ns;
        line[strcspn(line, "\n")] = 0;
        if (line[0] == tag && sscanf(line + 1, " %llu", &ns) == 1)
            samples_add(s, (double)ns);
        else if (strncmp(line, end, strlen(end)) == 0)
            return 0;
    }
    snprintf(line, len, "the density worker ended early");
    return -1;
}

/* State of one density run across its workers. */
struct density_run {
    struct worker w[WORKERS_MAX];
    size_t nw, n, live, called;
    struct samples create, call;
    uint64_t create_ns, init_exits;
    uint64_t mem0, mem1, mem2;
    struct meminfo_kib mi0, mi2;
    char why[600];
    char limit_note[300]; /* N was capped by a process limit */
};

/* Starts as many workers as the fd limit needs for d->n sandboxes. */
static int start_workers(struct density_run *d, const char *guest)
{
    if (worker_start(&d->w[0], guest, d->why, sizeof d->why) < 0)
        return -1;
    d->nw = 1;
    if (d->w[0].cap == 0) {
        snprintf(d->why, sizeof d->why, "RLIMIT_NOFILE %llu leaves no room for a sandbox",
                 d->w[0].fd_limit);
        return -1;
    }
    size_t cap = d->w[0].cap < PER_WORKER_MAX ? d->w[0].cap : PER_WORKER_MAX;
    size_t want = (d->n + cap - 1) / cap;
    if (want > WORKERS_MAX)
        want = WORKERS_MAX;
    while (d->nw < want && worker_start(&d->w[d->nw], guest, d->why, sizeof d->why) == 0)
        d->nw++;
    size_t left = d->n;
    for (size_t i = 0; i < d->nw; i++) {
        d->w[i].quota = left / (d->nw - i);
        if (d->w[i].quota > d->w[i].cap || d->w[i].quota > PER_WORKER_MAX)
            d->w[i].quota = d->w[i].cap < PER_WORKER_MAX ? d->w[i].cap : PER_WORKER_MAX;
        left -= d->w[i].quota;
    }
    return 0;
}

/* Creation, worker after worker; stops at the first that falls short. */
static void create_phase(struct density_run *d)
{
    for (size_t i = 0; i < d->nw; i++) {
        struct worker *w = &d->w[i];
        char line[700];
        fprintf(w->in, "create %zu\n", w->quota);
        fflush(w->in);
        unsigned long long live = 0, ns = 0, ie = 0;
        int off = 0;
        if (worker_read(w, 't', "created ", &d->create, line, sizeof line) < 0 ||
            sscanf(line, "created %llu %llu %llu %n", &live, &ns, &ie, &off) < 3) {
            snprintf(d->why, sizeof d->why, "%.500s", line);
            return;
        }
        w->live = (size_t)live;
        d->live += w->live, d->create_ns += ns, d->init_exits += ie;
        if (w->live < w->quota) {
            snprintf(d->why, sizeof d->why, "%.500s", off ? line + off : "?");
            return;
        }
    }
}

static void call_phase(struct density_run *d)
{
    for (size_t i = 0; i < d->nw && d->w[i].live; i++) {
        struct worker *w = &d->w[i];
        char line[700];
        fprintf(w->in, "call\n");
        fflush(w->in);
        unsigned long long ok = 0, ns = 0;
        if (worker_read(w, 'c', "called ", &d->call, line, sizeof line) < 0 ||
            sscanf(line, "called %llu %llu", &ok, &ns) != 2) {
            snprintf(d->why, sizeof d->why, "%.500s", line);
            return;
        }
        d->called += (size_t)ok;
        if (ok < w->live) {
            snprintf(d->why, sizeof d->why, "first call: %.500s", line);
            return;
        }
    }
}

static void density_report(struct density_run *d)
{
    double first_call = samples_pct(&d->call, 0.5) / 1000.0;
    double first_call99 = samples_pct(&d->call, 0.99) / 1000.0;
    samples_free(&d->call);
    struct result *r = result_add("density", &d->create);
    double live = (double)d->live;
    double kib = d->mem0 > d->mem2 ? (double)(d->mem0 - d->mem2) / 1024.0 / live : 0;
    double kib0 = d->mem0 > d->mem1 ? (double)(d->mem0 - d->mem1) / 1024.0 / live : 0;
    double rate = live * 1e9 / (double)(d->create_ns ? d->create_ns : 1);
    r->exits = (double)d->init_exits / live; /* guest insns: not measured here */
    result_extra(r, "live", live);
    result_extra(r, "host_kib_per_sandbox", kib);
    result_extra(r, "host_kib_before_first_call", kib0);
    result_extra(r, "created_per_s", rate);
    result_extra(r, "first_call_p50_us", first_call);
    result_extra(r, "first_call_p99_us", first_call99);
    result_extra(r, "processes", (double)d->nw);
    result_note(r, "%zu live sandboxes from one snapshot, each called once: %.0f KiB host memory "
                   "each (MemAvailable delta; %.0f before the first call), %.0f/s; times are "
                   "create+init (%.0f exits before the first call; guest insns not measured); "
                   "first call p50 %.1f us, p99 %.1f us",
                d->live, kib, kib0, rate, r->exits, first_call, first_call99);
    result_note(r, "in %zu worker process(es) of at most %d (RLIMIT_NOFILE %llu: room for %zu "
                   "sandboxes of %d fds per process); config: default but a 10 s time limit",
                d->nw, PER_WORKER_MAX, d->w[0].fd_limit, d->w[0].cap, d->w[0].fds_per);
    char mi[300];
    meminfo_delta(&d->mi0, &d->mi2, live, mi, sizeof mi);
    if (mi[0])
        result_note(r, "per sandbox, /proc/meminfo deltas (KiB): %s", mi);
    if (d->mi0.v[0] >= 0 && d->mi2.v[0] >= 0)
        result_extra(r, "shmem_kib", (double)(d->mi2.v[0] - d->mi0.v[0]) / live);
    if (d->mi0.v[2] >= 0 && d->mi2.v[2] >= 0)
        result_extra(r, "pagetables_kib", (double)(d->mi2.v[2] - d->mi0.v[2]) / live);
    double charged = meminfo_charged(&d->mi0, &d->mi2, live);
    if (charged > 0)
        result_extra(r, "charged_kib_per_sandbox", charged);
    if (d->limit_note[0])
        result_note(r, "%s", d->limit_note);
    int kvm = g_be == GLINT_BACKEND_KVM;
    const struct result *raw = result_find(kvm ? "kvm_vm_density" : "floor_proc_memory");
    const char *key = kvm ? "host_kib_per_vm" : "host_kib_per_process";
    for (size_t i = 0; raw && !raw->skipped && i < raw->nextra; i++) {
        if (strcmp(raw->extra[i].key, key) == 0 && raw->extra[i].val > 0) {
            result_extra(r, kvm ? "memory_vs_raw_vm" : "memory_vs_floor_process",
                         kib / raw->extra[i].val);
            result_note(r, "%.2fx the minimal %s's memory (MemAvailable)", kib / raw->extra[i].val,
                        kvm ? "VM" : "jailed process");
        }
        if (!kvm && charged > 0 && strcmp(raw->extra[i].key, "charged_kib_per_process") == 0 &&
            raw->extra[i].val > 0)
            result_note(r, "charged %.1f KiB = %.2fx the minimal jailed process's %.1f", charged,
                        charged / raw->extra[i].val, raw->extra[i].val);
    }
    if (g_opts.quick)
        result_note(r, "quick run: N is small, so the memory figure is rough");
    if (d->live < d->n || d->why[0])
        result_note(r, "stopped at %zu of %zu: %s", d->live, d->n, d->why);
}

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* Processes (threads, in fact) there are now: /proc/loadavg's 4th field. */
static long tasks_now(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    long running = -1, total = -1;
    if (f) {
        if (fscanf(f, "%*f %*f %*f %ld/%ld", &running, &total) != 2)
            total = -1;
        fclose(f);
    }
    return total;
}

/* The process backend: every sandbox is a process.  Caps d->n so that
 * RLIMIT_NPROC, pid_max and threads-max keep 1,000 to spare. */
static void cap_by_process_limits(struct density_run *d)
{
    struct rlimit rl;
    long tasks = tasks_now(), room = -1;
    const char *by = NULL;
    long lim[3] = {getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                       ? (long)rl.rlim_cur : -1,
                   read_long("/proc/sys/kernel/pid_max"),
                   read_long("/proc/sys/kernel/threads-max")};
    static const char *const names[3] = {"RLIMIT_NPROC", "pid_max", "threads-max"};
    for (int i = 0; i < 3; i++) {
        if (lim[i] < 0)
            continue;
        long r = lim[i] - (tasks > 0 ? tasks : 0) - 1000;
        if (room < 0 || r < room)
            room = r, by = names[i];
    }
    if (room >= 0 && (size_t)room < d->n) {
        size_t was = d->n;
        d->n = room > 0 ? (size_t)room : 0;
        snprintf(d->limit_note, sizeof d->limit_note, "N capped from %zu to %zu by %s (%ld tasks "
                 "running)", was, d->n, by, tasks);
    }
}

static void bench_density_snapshot(const char *guest)
{
    struct density_run *d = calloc(1, sizeof *d);
    if (!d) {
        result_skip("density", "out of memory");
        return;
    }
    d->n = g_be == GLINT_BACKEND_KVM ? iters(10000, 200) : iters(10000, 300);
    if (g_be != GLINT_BACKEND_KVM)
        cap_by_process_limits(d);
    if (d->n == 0) {
        result_skip("density", "not measured: %s", d->limit_note);
        free(d);
        return;
    }
    if (start_workers(d, guest) == 0) {
        d->mem0 = mem_available_settled();
        meminfo_read(&d->mi0);
        create_phase(d);
        d->mem1 = mem_available_settled();
        if (d->live)
            call_phase(d);
        d->mem2 = mem_available_settled();
        meminfo_read(&d->mi2);
    }
    if (d->live == 0 || d->called < d->live) {
        samples_free(&d->create);
        samples_free(&d->call);
        result_skip("density", "%s", d->why[0] ? d->why : "no sandbox was created");
    } else {
        density_report(d);
    }
    for (size_t i = 0; i < WORKERS_MAX; i++)
        worker_end(&d->w[i]);
    free(d);
}

void bench_density(const glint_image *img, const char *guest)
{
    bench_density_elf(img); /* first: the workers' VMs are freed lazily after they exit */
    bench_density_snapshot(guest);
}
