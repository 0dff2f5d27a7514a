/*
 * test_concurrency.c - many sandboxes on many threads at once: every thread
 * makes SB_PER_THREAD sandboxes from one shared snapshot, and all of them
 * exist, call and restore at the same time.  Results are checked: Counter()
 * counts per sandbox (1, 2, 3, ...) and starts again at 1 after a restore,
 * so a sandbox that saw another's memory or a bad restore shows at once.
 *
 * 2,000 sandboxes on 200 threads (about 12 s on 2 CPUs).  The descriptor
 * limit is raised to its hard limit first; the test skips, saying why, if
 * that is still too low.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "helpers.h"
#include "sandbox.h" /* glint_debug_process_settle (test hook) */

#define SB_PER_THREAD 10
#define ROUNDS 6
#define FDS_PER_SANDBOX 4 /* VM, vCPU, memory, and one spare */

struct conc {
    const glint_snapshot *snap;
    pthread_barrier_t all_created, all_done;
    _Atomic long calls, restores, failures;
    pthread_mutex_t msg_lock;
    char msg[512];
};

struct conc_thread {
    struct conc *c;
    int id;
};

static void conc_fail(struct conc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conc_fail(struct conc *c, const char *fmt, ...)
{
    if (atomic_fetch_add(&c->failures, 1) == 0) {
        pthread_mutex_lock(&c->msg_lock);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->msg, sizeof c->msg, fmt, ap);
        va_end(ap);
        pthread_mutex_unlock(&c->msg_lock);
    }
}

/* Counter() must give `want`, then Add(id, k) must give id + k. */
static void conc_check(struct conc *c, glint_sandbox *sb, int id, int k, uint64_t want)
{
    glint_value r;
    glint_status s = glint_sandbox_call(sb, "Counter", NULL, 0, &r);
    if (s != GLINT_OK || r.v.u64 != want) {
        conc_fail(c, "thread %d sandbox %d: Counter gave %s %llu, want %llu: %s", id, k,
                  glint_status_name(s), (unsigned long long)r.v.u64, (unsigned long long)want,
                  glint_sandbox_error(sb)->message);
        return;
    }
    glint_value a[2] = {glint_i32(id), glint_i32(k)};
    s = glint_sandbox_call(sb, "Add", a, 2, &r);
    if (s != GLINT_OK || r.v.i32 != id + k)
        conc_fail(c, "thread %d sandbox %d: Add gave %s %d: %s", id, k, glint_status_name(s),
                  r.v.i32, glint_sandbox_error(sb)->message);
    atomic_fetch_add(&c->calls, 2);
}

static void *conc_main(void *arg)
{
    struct conc_thread *t = arg;
    struct conc *c = t->c;
    glint_sandbox *sb[SB_PER_THREAD] = {0};
    for (int k = 0; k < SB_PER_THREAD; k++) {
        glint_error err;
        glint_status s = glint_sandbox_create_from_snapshot(c->snap, &sb[k], &err);
        if (s == GLINT_OK && (s = glint_sandbox_init(sb[k])) != GLINT_OK)
            err = *glint_sandbox_error(sb[k]);
        if (s != GLINT_OK)
            conc_fail(c, "thread %d sandbox %d: %s: %s", t->id, k, glint_status_name(s), err.message);
    }
    /* Every sandbox of every thread exists from here on. */
    pthread_barrier_wait(&c->all_created);
    for (int round = 0; round < ROUNDS && !atomic_load(&c->failures); round++) {
        for (int k = 0; k < SB_PER_THREAD; k++) {
            if (!sb[k])
                continue;
            /* Counter counts 1, 2 between restores (every other round). */
            conc_check(c, sb[k], t->id, k, (uint64_t)(round % 2) + 1);
            if (round % 2 == 1) {
                glint_status s = glint_sandbox_restore(sb[k], c->snap);
                if (s != GLINT_OK)
                    conc_fail(c, "thread %d sandbox %d: restore: %s", t->id, k,
                              glint_sandbox_error(sb[k])->message);
                atomic_fetch_add(&c->restores, 1);
            }
        }
    }
    pthread_barrier_wait(&c->all_done);
    for (int k = 0; k < SB_PER_THREAD; k++)
        glint_sandbox_destroy(sb[k]);
    return NULL;
}

/* Raises the descriptor limit to the hard limit; returns the new limit. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

/* Descriptors open once the process backend's helpers are steady: a
 * sandbox just made and destroyed (so its keeper keeps its spares, as it
 * does for 10 s after a sandbox is made), its process reaped.  A run that
 * ends more than 10 s after its last sandbox was made finds the spares
 * gone, with their descriptors: not a leak. */
static int steady_fds(glint_sandbox *(*make)(void))
{
    glint_sandbox_destroy(make());
    glint_debug_process_settle();
    return th_count_fds();
}

static glint_snapshot *g_conc_snap;

static glint_sandbox *from_conc_snap(void)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    cr_assert_eq(glint_sandbox_create_from_snapshot(g_conc_snap, &sb, &err), GLINT_OK, "%s", err.message);
    return sb;
}

static void run_concurrency(int nthreads)
{
    long nsb = (long)nthreads * SB_PER_THREAD;
    rlim_t lim = raise_nofile();
    if (lim < (rlim_t)(nsb * FDS_PER_SANDBOX + 256))
        cr_skip_test("concurrency test skipped: needs %ld file descriptors, RLIMIT_NOFILE is %llu",
                     nsb * FDS_PER_SANDBOX + 256, (unsigned long long)lim);

    /* A generous time limit: the point is many VMs at once, and with 100
     * threads per CPU a thread can wait a long time for its turn while its
     * call's wall-clock limit runs. */
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 60000;
    glint_sandbox *first = th_start(TEST_GUEST("basic"), &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(first, glint_sandbox_snapshot(first, &snap));
    glint_sandbox_destroy(first);

    struct conc c = {.snap = snap, .msg_lock = PTHREAD_MUTEX_INITIALIZER};
    pthread_barrier_init(&c.all_created, NULL, (unsigned)nthreads);
    pthread_barrier_init(&c.all_done, NULL, (unsigned)nthreads);
    pthread_t *tid = calloc((size_t)nthreads, sizeof *tid);
    struct conc_thread *ct = calloc((size_t)nthreads, sizeof *ct);
    cr_assert(tid && ct);
    g_conc_snap = snap;
    int fds0 = steady_fds(from_conc_snap);
    double t0 = th_now_ms();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < nthreads; i++) {
        ct[i] = (struct conc_thread){&c, i};
        cr_assert_eq(pthread_create(&tid[i], &attr, conc_main, &ct[i]), 0, "thread %d", i);
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tid[i], NULL);
    double ms = th_now_ms() - t0;
    int fds1 = steady_fds(from_conc_snap);

    cr_log_info("concurrency: %ld sandboxes on %d threads in %.0f ms: %ld calls, %ld restores; "
                "fds %d -> %d", nsb, nthreads, ms, atomic_load(&c.calls), atomic_load(&c.restores),
                fds0, fds1);
    cr_assert_eq(atomic_load(&c.failures), 0, "%ld failures; first: %s", atomic_load(&c.failures),
                 c.msg);
    cr_assert_eq(atomic_load(&c.calls), nsb * ROUNDS * 2);
    cr_assert_eq(fds1, fds0, "file descriptors leaked: %d -> %d", fds0, fds1);
    pthread_barrier_destroy(&c.all_created);
    pthread_barrier_destroy(&c.all_done);
    free(tid);
    free(ct);
    glint_snapshot_free(snap);
    th_expect_fresh_sandbox_works();
}

Test(concurrency, sandboxes_on_threads, .timeout = 600)
{
    SKIP_IF_NO_KVM();
    run_concurrency(200);
}
