/*
 * test_storm.c - kill storms: glint_sandbox_interrupt from other threads
 * before, during and after calls and during host-function calls, on many
 * sandboxes of one thread and on many threads at once.
 *
 * What must hold (glint.h, glint_sandbox_interrupt):
 *  - no deadlock (every test has a Criterion time limit) and no crash;
 *  - an interrupt that does not land while a call runs has no effect: a
 *    call that no interrupt hit returns GLINT_OK with the right result, in
 *    particular the first call after a storm has stopped (no stale
 *    cancellation: a pending signal or a leftover immediate_exit);
 *  - a call an interrupt did hit fails with GLINT_E_CANCELLED and nothing
 *    else, poisons the sandbox (later calls GLINT_E_POISONED), and
 *    glint_sandbox_restore to the snapshot makes it usable again.
 *
 * The threads storm always runs 50 threads x 500 iterations (about 2 s;
 * 5 s under ASan); GLINT_LONG_TESTS=1 makes the other storms 10x longer.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#define STORM_TIMEOUT 120

static bool storm_long(void)
{
    const char *v = getenv("GLINT_LONG_TESTS");
    return v && *v && *v != '0';
}

/* xorshift: cheap per-thread randomness. */
static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void spin_us(unsigned us)
{
    if (us == 0)
        return;
    double end = th_now_ms() + us / 1000.0;
    while (th_now_ms() < end)
        ;
}

/* ---- host function Block() -> void, per-sandbox behaviour --------------- */

enum block_mode { BLOCK_RETURN, BLOCK_SELF_INTERRUPT, BLOCK_WAIT_OTHER };

struct block_ctx {
    _Atomic int mode;
    _Atomic int entered;   /* Block (BLOCK_WAIT_OTHER) runs and waits for: */
    _Atomic int released;  /* set by the other thread after its interrupt */
};

static glint_status block_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                             glint_value *ret, void *user)
{
    (void)args, (void)nargs, (void)ret;
    struct block_ctx *c = user;
    switch (atomic_load(&c->mode)) {
    case BLOCK_SELF_INTERRUPT:
        glint_sandbox_interrupt(glint_hostcall_sandbox(hc));
        break;
    case BLOCK_WAIT_OTHER:
        atomic_store(&c->entered, 1);
        while (!atomic_load(&c->released))
            ;
        break;
    default:
        break;
    }
    return GLINT_OK;
}

static const glint_function g_block = {.name = "Block", .ret = GLINT_VOID};

/* A snapshot of the basic guest after init, with Block registered; no
 * time limit (a storm must not be mistaken for a timeout on a loaded box). */
static glint_snapshot *basic_snapshot(void)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 0;
    static struct block_ctx unused;
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), &cfg);
    EXPECT_OK(sb, glint_sandbox_register(sb, &g_block, block_cb, &unused));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_sandbox_destroy(sb);
    return snap;
}

/* A sandbox from `snap` with Block bound to `ctx`; NULL on failure (no
 * assert, so that worker threads can use it). */
static glint_sandbox *from_snapshot(const glint_snapshot *snap, struct block_ctx *ctx,
                                    glint_error *err)
{
    glint_sandbox *sb = NULL;
    if (glint_sandbox_create_from_snapshot(snap, &sb, err) != GLINT_OK)
        return NULL;
    if (glint_sandbox_register(sb, &g_block, block_cb, ctx) != GLINT_OK ||
        glint_sandbox_init(sb) != GLINT_OK) {
        *err = *glint_sandbox_error(sb);
        glint_sandbox_destroy(sb);
        return NULL;
    }
    return sb;
}

static glint_sandbox *th_from_snapshot(const glint_snapshot *snap, struct block_ctx *ctx)
{
    glint_error err;
    glint_sandbox *sb = from_snapshot(snap, ctx, &err);
    cr_assert_not_null(sb, "sandbox from snapshot: %s", err.message);
    return sb;
}

/* Asserts that a cancelled sandbox is poisoned and comes back on restore. */
static void expect_cancelled_then_restore(glint_sandbox *sb, glint_status s, const glint_snapshot *snap)
{
    cr_assert_eq(s, GLINT_E_CANCELLED, "interrupted call gave %s: %s", glint_status_name(s),
                 glint_sandbox_error(sb)->message);
    cr_assert(glint_sandbox_poisoned(sb), "a cancelled sandbox must be poisoned");
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL), GLINT_E_POISONED);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    cr_assert(!glint_sandbox_poisoned(sb), "restore must clear the poisoned state");
}

static void expect_add(glint_sandbox *sb, int32_t a, int32_t b)
{
    glint_value args[2] = {glint_i32(a), glint_i32(b)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_assert_eq(r.v.i32, a + b, "Add(%d, %d) = %d", a, b, r.v.i32);
}

/* ---- interrupts before and after calls, many sandboxes on one thread ---- */

Test(storm, before_and_after_many_sandboxes, .timeout = STORM_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    enum { N = 64 };
    int rounds = storm_long() ? 500 : 50;
    glint_snapshot *snap = basic_snapshot();
    static struct block_ctx ctx[N];
    glint_sandbox *sb[N];
    for (int i = 0; i < N; i++)
        sb[i] = th_from_snapshot(snap, &ctx[i]);
    uint32_t seed = 12345;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < N; i++) {
            /* Interrupts to this and other sandboxes while none runs. */
            for (uint32_t k = rnd(&seed) % 4; k > 0; k--)
                glint_sandbox_interrupt(sb[rnd(&seed) % N]);
            glint_sandbox_interrupt(sb[i]);
            expect_add(sb[i], r, i);
            glint_sandbox_interrupt(sb[i]);
            if (r % 7 == 0) /* a host call after interrupts: nothing pending */
                EXPECT_OK(sb[i], glint_sandbox_call(sb[i], "CallBlock", NULL, 0, NULL));
        }
    }
    for (int i = 0; i < N; i++)
        glint_sandbox_destroy(sb[i]);
    glint_snapshot_free(snap);
}

/* ---- interrupts during a call: a spinning guest ------------------------- */

struct pest {
    glint_sandbox *sb;
    pthread_mutex_t lock;  /* held around each interrupt; taken to disarm */
    _Atomic int armed, quit;
    _Atomic unsigned long sent;
    unsigned delay_us;     /* set by the caller before arming */
};

/* Interrupts p->sb every few microseconds while armed. */
static void *pest_main(void *arg)
{
    struct pest *p = arg;
    while (!atomic_load(&p->quit)) {
        if (!atomic_load(&p->armed)) {
            th_sleep_ms(0);
            continue;
        }
        spin_us(p->delay_us);
        pthread_mutex_lock(&p->lock);
        if (atomic_load(&p->armed)) {
            glint_sandbox_interrupt(p->sb);
            atomic_fetch_add(&p->sent, 1);
        }
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

/* After this returns no interrupt of the pest is in flight or to come. */
static void pest_disarm(struct pest *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->armed, 0);
    pthread_mutex_unlock(&p->lock);
}

Test(storm, during_spin_then_restore, .timeout = STORM_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* 1,000 rounds: before glint sent one signal per run, a PVM host lost
     * the vCPU for good within a few hundred rounds of this pattern. */
    int rounds = storm_long() ? 5000 : 1000;
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 0; /* only the interrupts can stop Spin */
    glint_sandbox *sb = th_start(TEST_GUEST("spin"), &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));

    struct pest p = {.sb = sb, .lock = PTHREAD_MUTEX_INITIALIZER};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, pest_main, &p), 0);
    uint32_t seed = 777;
    for (int r = 0; r < rounds; r++) {
        p.delay_us = rnd(&seed) % 300;
        atomic_store(&p.armed, 1);
        glint_status s = glint_sandbox_call(sb, "Spin", NULL, 0, NULL);
        pest_disarm(&p);
        expect_cancelled_then_restore(sb, s, snap);
        /* Interrupts may have kept coming after the cancellation: none of
         * them may reach these calls. */
        EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
        EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    }
    atomic_store(&p.quit, 1);
    pthread_join(t, NULL);
    cr_log_info("storm: %d spins cancelled by %lu interrupts", rounds, atomic_load(&p.sent));
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

/* ---- interrupts during host-function calls ------------------------------ */

struct host_pest {
    glint_sandbox *sb;
    struct block_ctx *ctx;
    _Atomic int quit;
};

/* Waits for Block to be running, interrupts, then lets Block return. */
static void *host_pest_main(void *arg)
{
    struct host_pest *h = arg;
    while (!atomic_load(&h->quit)) {
        int one = 1;
        if (!atomic_compare_exchange_strong(&h->ctx->entered, &one, 0))
            continue;
        glint_sandbox_interrupt(h->sb);
        atomic_store(&h->ctx->released, 1);
    }
    return NULL;
}

Test(storm, during_host_calls, .timeout = STORM_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    int rounds = storm_long() ? 2000 : 200;
    glint_snapshot *snap = basic_snapshot();
    struct block_ctx ctx = {0};
    glint_sandbox *sb = th_from_snapshot(snap, &ctx);
    struct host_pest h = {.sb = sb, .ctx = &ctx};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, host_pest_main, &h), 0);
    glint_value r;
    for (int i = 0; i < rounds; i++) {
        /* Another thread interrupts while Block runs on this one. */
        atomic_store(&ctx.released, 0);
        atomic_store(&ctx.mode, BLOCK_WAIT_OTHER);
        glint_status s = glint_sandbox_call(sb, "CallBlock", NULL, 0, &r);
        expect_cancelled_then_restore(sb, s, snap);
        /* The host function interrupts its own sandbox. */
        atomic_store(&ctx.mode, BLOCK_SELF_INTERRUPT);
        s = glint_sandbox_call(sb, "CallBlock", NULL, 0, &r);
        expect_cancelled_then_restore(sb, s, snap);
        /* No interrupt: the host call completes. */
        atomic_store(&ctx.mode, BLOCK_RETURN);
        EXPECT_OK(sb, glint_sandbox_call(sb, "CallBlock", NULL, 0, &r));
        cr_assert_eq(r.v.i32, 7);
        expect_add(sb, i, 1);
    }
    atomic_store(&h.quit, 1);
    pthread_join(t, NULL);
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

/* ---- many threads, random interrupts from interrupter threads ----------- */

struct slot {
    glint_sandbox *sb;
    struct block_ctx ctx;
    pthread_mutex_t lock;  /* interrupters hold it; the owner takes it to go quiet */
    _Atomic int quiet;
};

struct storm {
    const glint_snapshot *snap;
    struct slot *slots;
    int nslots, iters;
    uint64_t heap_sum;     /* HeapWorks(HEAP_N) of a fresh sandbox */
    _Atomic int quit;
    _Atomic long ok, cancelled, quiet_calls, interrupts, failures;
    pthread_mutex_t msg_lock;
    char msg[512];
};

#define HEAP_N 40u

static void storm_fail(struct storm *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void storm_fail(struct storm *st, const char *fmt, ...)
{
    if (atomic_fetch_add(&st->failures, 1) == 0) {
        pthread_mutex_lock(&st->msg_lock);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
        pthread_mutex_unlock(&st->msg_lock);
    }
}

struct worker {
    struct storm *st;
    int id;
};

static void *interrupter_main(void *arg)
{
    struct storm *st = arg;
    uint32_t seed = (uint32_t)(uintptr_t)&seed;
    while (!atomic_load(&st->quit)) {
        struct slot *sl = &st->slots[rnd(&seed) % (uint32_t)st->nslots];
        pthread_mutex_lock(&sl->lock);
        if (!atomic_load(&sl->quiet) && sl->sb) {
            glint_sandbox_interrupt(sl->sb);
            atomic_fetch_add(&st->interrupts, 1);
        }
        pthread_mutex_unlock(&sl->lock);
        spin_us(rnd(&seed) % 20);
    }
    return NULL;
}

/* One random call; `quiet`: no interrupt can come, so it must succeed. */
static void storm_op(struct storm *st, struct slot *sl, int id, int it, uint32_t *seed, int quiet)
{
    glint_sandbox *sb = sl->sb;
    glint_value r = {0};
    glint_status s;
    uint32_t op = rnd(seed) % 4;
    const char *what;
    int good;
    if (op == 0) {
        what = "HeapWorks";
        glint_value a = glint_u32(HEAP_N);
        s = glint_sandbox_call(sb, what, &a, 1, &r);
        good = r.v.u64 == st->heap_sum;
    } else if (op == 1) {
        what = "CallBlock";
        s = glint_sandbox_call(sb, what, NULL, 0, &r);
        good = r.v.i32 == 7;
    } else {
        what = "Add";
        glint_value a[2] = {glint_i32(id), glint_i32(it)};
        s = glint_sandbox_call(sb, what, a, 2, &r);
        good = r.v.i32 == id + it;
    }
    if (s == GLINT_OK) {
        atomic_fetch_add(&st->ok, 1);
        if (!good)
            storm_fail(st, "thread %d iteration %d: %s gave a wrong result", id, it, what);
        return;
    }
    if (s != GLINT_E_CANCELLED || quiet) {
        storm_fail(st, "thread %d iteration %d: %s%s gave %s: %s", id, it, what,
                   quiet ? " (no interrupt possible)" : "", glint_status_name(s),
                   glint_sandbox_error(sb)->message);
        return;
    }
    atomic_fetch_add(&st->cancelled, 1);
    if (!glint_sandbox_poisoned(sb))
        storm_fail(st, "thread %d: cancelled but not poisoned", id);
    else if ((s = glint_sandbox_call(sb, "Nop", NULL, 0, NULL)) != GLINT_E_POISONED)
        storm_fail(st, "thread %d: call after cancel gave %s, want GLINT_E_POISONED", id,
                   glint_status_name(s));
    if ((s = glint_sandbox_restore(sb, st->snap)) != GLINT_OK)
        storm_fail(st, "thread %d: restore after cancel: %s: %s", id, glint_status_name(s),
                   glint_sandbox_error(sb)->message);
}

static void *storm_worker(void *arg)
{
    struct worker *w = arg;
    struct storm *st = w->st;
    struct slot *sl = &st->slots[w->id];
    uint32_t seed = 0x1234567u * (uint32_t)(w->id + 1);
    for (int it = 0; it < st->iters && !atomic_load(&st->failures); it++) {
        atomic_store(&sl->ctx.mode, rnd(&seed) % 8 == 0 ? BLOCK_SELF_INTERRUPT : BLOCK_RETURN);
        if (it % 10 != 9) {
            storm_op(st, sl, w->id, it, &seed, 0);
            continue;
        }
        /* Quiet: after the lock no interrupter touches this sandbox; old
         * interrupts, and its own before and after, must not matter. */
        pthread_mutex_lock(&sl->lock);
        atomic_store(&sl->quiet, 1);
        pthread_mutex_unlock(&sl->lock);
        atomic_store(&sl->ctx.mode, BLOCK_RETURN);
        glint_sandbox_interrupt(sl->sb);
        storm_op(st, sl, w->id, it, &seed, 1);
        glint_sandbox_interrupt(sl->sb);
        storm_op(st, sl, w->id, it, &seed, 1);
        atomic_fetch_add(&st->quiet_calls, 2);
        atomic_store(&sl->quiet, 0);
    }
    return NULL;
}

static void run_storm(int nthreads, int iters, int ninterrupters)
{
    glint_snapshot *snap = basic_snapshot();
    struct storm st = {.snap = snap, .nslots = nthreads, .iters = iters,
                       .msg_lock = PTHREAD_MUTEX_INITIALIZER};
    st.slots = calloc((size_t)nthreads, sizeof *st.slots);
    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    pthread_t *t = calloc((size_t)(nthreads + ninterrupters), sizeof *t);
    cr_assert(st.slots && w && t);
    for (int i = 0; i < nthreads; i++) {
        pthread_mutex_init(&st.slots[i].lock, NULL);
        st.slots[i].sb = th_from_snapshot(snap, &st.slots[i].ctx);
    }
    glint_value a = glint_u32(HEAP_N), r;
    EXPECT_OK(st.slots[0].sb, glint_sandbox_call(st.slots[0].sb, "HeapWorks", &a, 1, &r));
    st.heap_sum = r.v.u64;

    double t0 = th_now_ms();
    for (int i = 0; i < ninterrupters; i++)
        cr_assert_eq(pthread_create(&t[nthreads + i], NULL, interrupter_main, &st), 0);
    for (int i = 0; i < nthreads; i++) {
        w[i] = (struct worker){&st, i};
        cr_assert_eq(pthread_create(&t[i], NULL, storm_worker, &w[i]), 0);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    atomic_store(&st.quit, 1);
    for (int i = 0; i < ninterrupters; i++)
        pthread_join(t[nthreads + i], NULL);
    double ms = th_now_ms() - t0;

    cr_log_info("storm: %d threads x %d iterations in %.0f ms: %ld ok (%ld quiet), %ld cancelled, "
                "%ld interrupts sent", nthreads, iters, ms, atomic_load(&st.ok),
                atomic_load(&st.quiet_calls), atomic_load(&st.cancelled), atomic_load(&st.interrupts));
    cr_assert_eq(atomic_load(&st.failures), 0, "%ld failures; first: %s", atomic_load(&st.failures),
                 st.msg);
    /* Every sandbox still works once the storm is over. */
    for (int i = 0; i < nthreads; i++) {
        if (glint_sandbox_poisoned(st.slots[i].sb))
            EXPECT_OK(st.slots[i].sb, glint_sandbox_restore(st.slots[i].sb, snap));
        expect_add(st.slots[i].sb, i, 1000);
        glint_sandbox_destroy(st.slots[i].sb);
    }
    free(t);
    free(w);
    free(st.slots);
    glint_snapshot_free(snap);
}

Test(storm, many_threads, .timeout = 600)
{
    SKIP_IF_NO_KVM();
    run_storm(50, storm_long() ? 2000 : 500, 4);
}
