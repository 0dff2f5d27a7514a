/*
 * test_stats.c - metrics (docs/observability.md, "Metrics"): exact counts
 * for a scripted sequence of calls, failures, host calls, restores and pool
 * use; histogram sums; process-wide counters.  Suite `stats`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "helpers.h"

#define TRACE_GUEST TEST_GUEST("trace_guest")

static glint_status host_ping(glint_hostcall *hc, const glint_value *args, size_t nargs,
                              glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)user;
    *ret = glint_i32(args[0].v.i32 + 1);
    return GLINT_OK;
}

static const glint_host_function g_ping = {
    .sig = {.name = "Ping", .ret = GLINT_I32, .nparams = 1, .params = {GLINT_I32}},
    .callback = host_ping,
};

static glint_sandbox *start_traced_guest(uint32_t timeout_ms)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = timeout_ms;
    glint_sandbox *sb = th_create(TRACE_GUEST, &cfg);
    EXPECT_OK(sb, glint_sandbox_register(sb, &g_ping.sig, g_ping.callback, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

static uint64_t hist_bucket_sum(const glint_histogram *h)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < GLINT_HIST_BUCKETS; i++)
        n += h->buckets[i];
    return n;
}

static void expect_hist(const glint_histogram *h, uint64_t count, const char *what)
{
    cr_expect_eq(h->count, count, "%s: count %llu, want %llu", what, (unsigned long long)h->count,
                 (unsigned long long)count);
    cr_expect_eq(hist_bucket_sum(h), h->count, "%s: buckets sum to %llu, count %llu", what,
                 (unsigned long long)hist_bucket_sum(h), (unsigned long long)h->count);
    if (count)
        cr_expect_gt(h->sum_ns, 0, "%s: no time recorded", what);
}

static uint64_t status_sum(const glint_sandbox_stats *st)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < GLINT_STATUS_SLOTS; i++)
        n += st->by_status[i];
    return n;
}

Test(stats, histogram_buckets)
{
    cr_expect_eq(glint_histogram_bucket_bound_ns(0), 1000);
    cr_expect_eq(glint_histogram_bucket_bound_ns(1), 2000);
    cr_expect_eq(glint_histogram_bucket_bound_ns(10), 1024000);
    cr_expect_eq(glint_histogram_bucket_bound_ns(GLINT_HIST_BUCKETS - 2), (1ull << 30) * 1000);
    cr_expect_eq(glint_histogram_bucket_bound_ns(GLINT_HIST_BUCKETS - 1), UINT64_MAX);
    cr_expect_eq(glint_histogram_bucket_bound_ns(1000), UINT64_MAX);
    glint_sandbox_stats st;
    memset(&st, 0xff, sizeof st);
    glint_sandbox_get_stats(NULL, &st);
    cr_expect_eq(st.calls, 0);
    cr_expect_eq(st.call_duration.count, 0);
    glint_sandbox_get_stats(NULL, NULL); /* no crash */
    glint_pool_metrics m;
    memset(&m, 0xff, sizeof m);
    glint_pool_get_metrics(NULL, &m);
    cr_expect_eq(m.acquires, 0);
}

Test(stats, scripted_sequence, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_process_stats p0, p1;
    glint_get_process_stats(&p0);
    glint_sandbox *sb = start_traced_guest(300);
    glint_sandbox_stats st;
    glint_sandbox_get_stats(sb, &st);
    cr_expect_eq(st.calls, 0);
    cr_expect_eq(st.inits, 1);

    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_value args[2] = {glint_i32(2), glint_i32(3)}, r;
    for (int i = 0; i < 3; i++)
        EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Fail", NULL, 0, NULL), GLINT_E_GUEST_ERROR);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Nope", NULL, 0, NULL), GLINT_E_NO_FUNCTION);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Add", args, 1, NULL), GLINT_E_SIGNATURE);
    glint_value x = glint_i32(10);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Ping2", &x, 1, &r));
    cr_expect_eq(r.v.i32, 22);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Work", &x, 1, &r)); /* not traced: its spans cost nothing */
    cr_expect_eq(r.v.i32, 11);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Spin", NULL, 0, NULL), GLINT_E_TIMEOUT);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Add", args, 2, NULL), GLINT_E_POISONED);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Crash", NULL, 0, NULL), GLINT_E_ABORT);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    EXPECT_STATUS(sb, glint_sandbox_call_index(sb, 999, NULL, 0, NULL), GLINT_E_NO_FUNCTION);

    glint_sandbox_get_stats(sb, &st);
    cr_expect_eq(st.calls, 12, "calls %llu", (unsigned long long)st.calls);
    cr_expect_eq(status_sum(&st), st.calls);
    cr_expect_eq(st.by_status[GLINT_OK], 5);
    cr_expect_eq(st.by_status[GLINT_E_GUEST_ERROR], 1);
    cr_expect_eq(st.by_status[GLINT_E_NO_FUNCTION], 2);
    cr_expect_eq(st.by_status[GLINT_E_SIGNATURE], 1);
    cr_expect_eq(st.by_status[GLINT_E_TIMEOUT], 1);
    cr_expect_eq(st.by_status[GLINT_E_POISONED], 1);
    cr_expect_eq(st.by_status[GLINT_E_ABORT], 1);
    cr_expect_eq(st.guest_failures, 2);
    cr_expect_eq(st.timeouts, 1);
    cr_expect_eq(st.cancellations, 0);
    cr_expect_eq(st.host_calls, 3);
    cr_expect_eq(st.host_call_failures, 0);
    cr_expect_eq(st.host_calls_refused, 0);
    cr_expect_eq(st.guest_spans, 0);
    cr_expect_eq(st.restores, 4);
    cr_expect_eq(st.restore_failures, 0);
    cr_expect_eq(st.snapshots, 1);
    cr_expect_eq(st.inits, 1);
    cr_expect_eq(st.exits, glint_sandbox_exit_count(sb));
    /* Calls that ran guest code: Add x3, Fail, Ping2, Work, Spin, Crash. */
    expect_hist(&st.call_duration, 8, "call_duration");
    expect_hist(&st.restore_duration, 4, "restore_duration");
    expect_hist(&st.host_call_duration, 3, "host_call_duration");
    /* The time limit was 300 ms: Spin's call lies in a bucket >= 2^18 us. */
    uint64_t slow = 0;
    for (unsigned i = 19; i < GLINT_HIST_BUCKETS; i++)
        slow += st.call_duration.buckets[i];
    cr_expect_eq(slow, 1, "one call of >= 262 ms (the time limit), got %llu", (unsigned long long)slow);
    cr_expect_geq(st.call_duration.sum_ns, 300000000ull);

    glint_get_process_stats(&p1);
    cr_expect_eq(p1.sandboxes_created - p0.sandboxes_created, 1);
    cr_expect_eq(p1.snapshots_taken - p0.snapshots_taken, 1);
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
    glint_get_process_stats(&p1);
    cr_expect_eq(p1.sandboxes_destroyed - p0.sandboxes_destroyed, 1);
    cr_expect_eq(p1.sandboxes_live, p0.sandboxes_live);
}

Test(stats, auto_restore_and_refused_host_calls, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* Without Ping registered, Work's host call is refused and it aborts. */
    glint_sandbox *sb = th_start(TRACE_GUEST, NULL);
    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    EXPECT_OK(sb, glint_sandbox_set_auto_restore(sb, snap));
    glint_value x = glint_u32(3), r;
    for (int i = 0; i < 4; i++)
        EXPECT_OK(sb, glint_sandbox_call(sb, "Dirty", &x, 1, &r));
    glint_value w = glint_i32(1);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Work", &w, 1, NULL), GLINT_E_ABORT);
    glint_sandbox_stats st;
    glint_sandbox_get_stats(sb, &st);
    cr_expect_eq(st.calls, 5);
    cr_expect_eq(st.restores, 5, "one auto-restore per call: %llu", (unsigned long long)st.restores);
    cr_expect_eq(st.host_calls, 0);
    cr_expect_eq(st.host_calls_refused, 1);
    cr_expect_eq(st.guest_failures, 1);
    expect_hist(&st.call_duration, 5, "call_duration");
    expect_hist(&st.restore_duration, 5, "restore_duration");
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

struct interrupter {
    glint_sandbox *sb;
    atomic_int done;
};

static void *interrupt_main(void *arg)
{
    struct interrupter *it = arg;
    while (!atomic_load(&it->done)) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
        glint_sandbox_interrupt(it->sb);
    }
    return NULL;
}

Test(stats, cancellation, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 0;
    glint_sandbox *sb = th_start(TRACE_GUEST, &cfg);
    struct interrupter it = {.sb = sb};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, interrupt_main, &it), 0);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Spin", NULL, 0, NULL), GLINT_E_CANCELLED);
    atomic_store(&it.done, 1);
    pthread_join(t, NULL);
    glint_sandbox_stats st;
    glint_sandbox_get_stats(sb, &st);
    cr_expect_eq(st.calls, 1);
    cr_expect_eq(st.cancellations, 1);
    cr_expect_eq(st.timeouts, 0);
    cr_expect_eq(st.guest_failures, 1);
    cr_expect_eq(st.by_status[GLINT_E_CANCELLED], 1);
    expect_hist(&st.call_duration, 1, "call_duration");
    glint_sandbox_destroy(sb);
}

Test(stats, pool, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *base = start_traced_guest(1000);
    glint_snapshot *snap;
    EXPECT_OK(base, glint_sandbox_snapshot(base, &snap));
    glint_sandbox_destroy(base);

    glint_pool_config pc;
    glint_pool_config_default(&pc);
    pc.max_idle = 2;
    pc.host = &g_ping;
    pc.nhost = 1;
    glint_pool *pool;
    glint_error err;
    glint_process_stats p0, p1;
    glint_get_process_stats(&p0);
    cr_assert_eq(glint_pool_create(snap, &pc, &pool, &err), GLINT_OK, "%s", err.message);

    glint_value args[2] = {glint_i32(1), glint_i32(2)}, x = glint_i32(5), r;
    glint_sandbox *a, *b;
    /* Lease 1 (a miss): Add, Add, Ping2 (two host calls). */
    cr_assert_eq(glint_pool_acquire(pool, &a, &err), GLINT_OK, "%s", err.message);
    EXPECT_OK(a, glint_sandbox_call(a, "Add", args, 2, &r));
    EXPECT_OK(a, glint_sandbox_call(a, "Add", args, 2, &r));
    EXPECT_OK(a, glint_sandbox_call(a, "Ping2", &x, 1, &r));
    glint_sandbox_stats st;
    glint_sandbox_get_stats(a, &st);
    cr_expect_eq(st.calls, 3);
    glint_pool_release(pool, a);
    /* Lease 2 (a hit, the same sandbox): its stats start afresh. */
    cr_assert_eq(glint_pool_acquire(pool, &a, &err), GLINT_OK, "%s", err.message);
    glint_sandbox_get_stats(a, &st);
    cr_expect_eq(st.calls, 0, "a lease's stats start at zero, got %llu", (unsigned long long)st.calls);
    EXPECT_STATUS(a, glint_sandbox_call(a, "Fail", NULL, 0, NULL), GLINT_E_GUEST_ERROR);
    /* Lease 3 (a miss, while 2 is out). */
    cr_assert_eq(glint_pool_acquire(pool, &b, &err), GLINT_OK, "%s", err.message);
    EXPECT_STATUS(b, glint_sandbox_call(b, "Crash", NULL, 0, NULL), GLINT_E_ABORT);
    glint_pool_release(pool, a);
    glint_pool_release(pool, b);
    /* Lease 4 (a hit). */
    cr_assert_eq(glint_pool_acquire(pool, &a, &err), GLINT_OK, "%s", err.message);
    glint_pool_release(pool, a);

    glint_pool_metrics m;
    glint_pool_get_metrics(pool, &m);
    cr_expect_eq(m.acquires, 4);
    cr_expect_eq(m.hits, 2);
    cr_expect_eq(m.misses, 2);
    cr_expect_eq(m.acquire_failures, 0);
    cr_expect_eq(m.releases, 4);
    cr_expect_eq(m.release_failures, 0);
    expect_hist(&m.acquire_duration, 4, "acquire_duration");
    expect_hist(&m.release_duration, 4, "release_duration");
    cr_expect_eq(m.sandboxes.calls, 5);
    cr_expect_eq(m.sandboxes.by_status[GLINT_OK], 3);
    cr_expect_eq(m.sandboxes.by_status[GLINT_E_GUEST_ERROR], 1);
    cr_expect_eq(m.sandboxes.by_status[GLINT_E_ABORT], 1);
    cr_expect_eq(m.sandboxes.guest_failures, 1);
    cr_expect_eq(m.sandboxes.host_calls, 2);
    cr_expect_eq(m.sandboxes.restores, 4, "one restore per release: %llu",
                 (unsigned long long)m.sandboxes.restores);
    expect_hist(&m.sandboxes.call_duration, 5, "sandboxes.call_duration");
    expect_hist(&m.sandboxes.host_call_duration, 2, "sandboxes.host_call_duration");
    glint_pool_stats ps;
    glint_pool_get_stats(pool, &ps);
    cr_expect_eq(ps.reused, m.hits);
    cr_expect_eq(ps.created, m.misses);

    glint_pool_destroy(pool);
    glint_get_process_stats(&p1);
    cr_expect_eq(p1.pools_created - p0.pools_created, 1);
    cr_expect_eq(p1.pools_destroyed - p0.pools_destroyed, 1);
    cr_expect_eq(p1.sandboxes_created - p0.sandboxes_created, 2);
    cr_expect_eq(p1.sandboxes_destroyed - p0.sandboxes_destroyed, 2);
    glint_snapshot_free(snap);
}
