/*
 * pool.c - recycling pools: pristine sandboxes of one snapshot on demand.
 *
 * A pool keeps up to max_idle ready sandboxes (VM, vCPU and memory mapping
 * kept) in an idle ring: acquire takes the newest (its pages are the
 * warmest), the reaper expires the oldest.  A sandbox given back is
 * restored to the pool's snapshot on the releasing thread, which costs
 * what the guest dirtied (glint_sandbox_restore: dirty pages, and the
 * ring-3 vCPU state, or every register group after a failure), and then
 * joins the idle ring; when the ring is full, or the restore failed, it
 * goes to the reaper thread, which destroys it off the caller's path.
 *
 * The same thread refills: while fewer than min_idle sandboxes are ready,
 * the ready ones and the ones out leave room in the ring (so that a release
 * never finds it full because of a refill) and the pool is in use (an
 * acquire within idle_timeout_ms), it creates one at a time; a failed
 * creation is retried after REFILL_RETRY_NS.  The
 * ready ones the refill keeps do not expire while the pool is in use.
 *
 * The reaper sleeps on a condition variable: with a deadline only while
 * sandboxes are idle and idle_timeout_ms is set, without one otherwise, so
 * an idle pool that has shrunk to zero has no VM and no wake-ups.
 *
 * One mutex guards the lists and counters; nobody holds it across a VM
 * creation, a restore or a destruction.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "sandbox.h"
#include "snapshot.h"
#include "thread.h"

#define POOL_MAX_IDLE (1u << 20)
#define POOL_THREAD_STACK (128u * 1024u)
#define REFILL_RETRY_NS 100000000ull /* 100 ms after a failed background creation */

struct idle_entry {
    glint_sandbox *sb;
    uint64_t since_ns; /* when it became idle (monotonic) */
    int cpu;           /* the CPU it was given back on; -1: made by the pool */
};

/* A sandbox waiting for the reaper. */
struct doomed {
    glint_sandbox *sb;
    struct doomed *next;
};

struct glint_pool {
    struct glint_snapshot *snap; /* a reference */
    glint_backend backend;       /* what its sandboxes run on (never AUTO) */
    size_t max_idle, min_idle;
    uint64_t idle_timeout_ns;    /* 0: keep idle sandboxes */
    size_t nhost;
    glint_host_function *host;            /* host[i].sig.name points at names[i] */
    char (*names)[GLINT_MAX_NAME + 1];

    pthread_t reaper;
    pthread_mutex_t lock;
    pthread_cond_t wake;         /* the reaper: work to do, or stop */

    /* Under lock.  The idle ring: ring[head] is the oldest, the newest is
     * at head + nidle - 1 (mod max_idle). */
    struct idle_entry *ring;
    size_t head, nidle;
    struct doomed *doomed;
    int stopping;
    size_t out;
    uint64_t created, reused, destroyed, refilled, refill_failures;
    uint64_t last_acquire_ns;    /* for min_idle: is the pool in use? */
    uint64_t refill_retry_ns;    /* no background creation before this */

    /* Metrics and tracing (under lock; stats.c, trace.c). */
    glint_pool_metrics m;
    struct glint_obs_tracer tracer;
};

API void glint_pool_config_default(glint_pool_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->max_idle = 16;
    cfg->prefill = 0;
    cfg->idle_timeout_ms = 30000;
}

/* ------------------------------------------------------------------------- */
/* Making sandboxes. */

static glint_status register_all(glint_sandbox *sb, const glint_host_function *host, size_t nhost,
                                 glint_error *err)
{
    for (size_t i = 0; i < nhost; i++) {
        glint_status s = glint_sandbox_register(sb, &host[i].sig, host[i].callback, host[i].user);
        if (s != GLINT_OK)
            return glint_fail(err, s, "pool: host function %zu: %s", i + 1,
                              glint_sandbox_error(sb)->message);
    }
    return GLINT_OK;
}

/* A ready sandbox in the state of the pool's snapshot. */
static glint_status make_sandbox(glint_pool *pool, glint_sandbox **out, glint_error *err)
{
    glint_sandbox *sb = NULL;
    pthread_mutex_lock(&pool->lock);
    struct glint_obs_tracer tracer = pool->tracer;
    pthread_mutex_unlock(&pool->lock);
    glint_obs_new_tracer = &tracer; /* the sandbox takes it as it is created */
    glint_status s = glint_sandbox_create_from_snapshot_on(pool->snap, pool->backend, &sb, err);
    glint_obs_new_tracer = NULL;
    if (s != GLINT_OK)
        return s;
    /* The restore hint: only a pool that can keep a sandbox restores it
     * (one with max_idle 0 destroys each on release, unrestored). */
    sb->pooled = pool->max_idle > 0;
    s = register_all(sb, pool->host, pool->nhost, err);
    if (s == GLINT_OK && (s = glint_sandbox_init(sb)) != GLINT_OK)
        glint_fail(err, s, "pool: %s", glint_sandbox_error(sb)->message);
    if (s != GLINT_OK) {
        glint_sandbox_destroy(sb);
        return s;
    }
    *out = sb;
    return GLINT_OK;
}

/*
 * Checks the configured host functions against the snapshot's without
 * making a VM: registers them on a sandbox shell (no memory, no vCPU), as
 * glint_sandbox_init would find them.
 */
static glint_status check_host_set(const struct glint_snapshot *snap, const glint_pool_config *cfg,
                                   glint_error *err)
{
    glint_sandbox *sb = glint_sandbox_new(&snap->cfg, err);
    if (!sb)
        return GLINT_E_NOMEM;
    sb->lay = snap->lay;
    glint_status s = glint_sandbox_finish_setup(sb, err);
    if (s == GLINT_OK)
        s = register_all(sb, cfg->host, cfg->nhost, err);
    char why[600];
    if (s == GLINT_OK && !glint_host_set_matches(sb, snap, why, sizeof why))
        s = glint_fail(err, GLINT_E_INCOMPATIBLE, "pool: %s", why);
    glint_sandbox_destroy(sb);
    return s;
}

static glint_status check_config(const glint_pool_config *cfg, glint_error *err)
{
    if (cfg->max_idle > POOL_MAX_IDLE)
        return glint_fail(err, GLINT_E_INVALID, "pool: max_idle %zu is too large (maximum %u)",
                          cfg->max_idle, POOL_MAX_IDLE);
    if (cfg->prefill > cfg->max_idle)
        return glint_fail(err, GLINT_E_INVALID, "pool: prefill %zu exceeds max_idle %zu",
                          cfg->prefill, cfg->max_idle);
    if (cfg->min_idle > cfg->max_idle)
        return glint_fail(err, GLINT_E_INVALID, "pool: min_idle %zu exceeds max_idle %zu",
                          cfg->min_idle, cfg->max_idle);
    if (cfg->nhost && !cfg->host)
        return glint_fail(err, GLINT_E_INVALID, "pool: %zu host functions but host is NULL",
                          cfg->nhost);
    if (cfg->nhost > GLINT_MAX_HOST_FUNCS)
        return glint_fail(err, GLINT_E_INVALID, "pool: %zu host functions (at most %u)", cfg->nhost,
                          GLINT_MAX_HOST_FUNCS);
    for (size_t i = 0; i < cfg->nhost; i++)
        if (!cfg->host[i].sig.name || !cfg->host[i].callback)
            return glint_fail(err, GLINT_E_INVALID,
                              "pool: host function %zu: name and callback are required", i + 1);
    return GLINT_OK;
}

/* ------------------------------------------------------------------------- */
/* The idle ring and the reaper (lock held unless said otherwise). */

static void ring_push(glint_pool *pool, glint_sandbox *sb, int cpu)
{
    size_t at = (pool->head + pool->nidle) % pool->max_idle;
    pool->ring[at] = (struct idle_entry){sb, glint_now_ns(), cpu};
    if (++pool->nidle == 1 && pool->idle_timeout_ns)
        pthread_cond_signal(&pool->wake); /* the reaper now has a deadline */
}

static glint_sandbox *ring_pop_newest(glint_pool *pool)
{
    pool->nidle--;
    return pool->ring[(pool->head + pool->nidle) % pool->max_idle].sb;
}

/*
 * For an acquire on `cpu`: the newest of the last RING_NEAR idle sandboxes
 * that was given back on that CPU, else the newest.  Where a sandbox runs
 * may depend on where it was last used (the process backend binds a busy
 * caller's sandbox process to the caller's CPU), and one given back on
 * another CPU would have to move (under glintd's load half of all acquires
 * did, each a migration).  The ring keeps its order, oldest at head.
 */
#define RING_NEAR 8
static glint_sandbox *ring_pop_near(glint_pool *pool, int cpu)
{
    size_t n = pool->nidle, pick = n - 1;
    for (size_t k = 0; cpu >= 0 && k < n && k < RING_NEAR; k++)
        if (pool->ring[(pool->head + n - 1 - k) % pool->max_idle].cpu == cpu) {
            pick = n - 1 - k;
            break;
        }
    glint_sandbox *sb = pool->ring[(pool->head + pick) % pool->max_idle].sb;
    for (size_t j = pick; j + 1 < n; j++)
        pool->ring[(pool->head + j) % pool->max_idle] = pool->ring[(pool->head + j + 1) % pool->max_idle];
    pool->nidle--;
    return sb;
}

static glint_sandbox *ring_pop_oldest(glint_pool *pool)
{
    glint_sandbox *sb = pool->ring[pool->head].sb;
    pool->head = (pool->head + 1) % pool->max_idle;
    pool->nidle--;
    return sb;
}

/* Destroys sb outside the lock (held on entry and on return). */
static void destroy_unlocked(glint_pool *pool, glint_sandbox *sb)
{
    pthread_mutex_unlock(&pool->lock);
    glint_sandbox_destroy(sb);
    pthread_mutex_lock(&pool->lock);
    pool->destroyed++;
}

static void wait_until(glint_pool *pool, uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000ull),
                          (long)(deadline_ns % 1000000000ull)};
    pthread_cond_timedwait(&pool->wake, &pool->lock, &ts);
}

/* In use: an acquire within idle_timeout (always, without a timeout). */
static int in_use(const glint_pool *pool, uint64_t now)
{
    return !pool->idle_timeout_ns || now - pool->last_acquire_ns < pool->idle_timeout_ns;
}

/* Creates one ready sandbox for min_idle, outside the lock. */
static void refill_one(glint_pool *pool)
{
    pthread_mutex_unlock(&pool->lock);
    glint_error err;
    glint_sandbox *sb = NULL;
    glint_status s = make_sandbox(pool, &sb, &err);
    pthread_mutex_lock(&pool->lock);
    if (s != GLINT_OK) {
        pool->refill_failures++;
        pool->refill_retry_ns = glint_now_ns() + REFILL_RETRY_NS;
        return;
    }
    pool->created++;
    pool->refilled++;
    if (!pool->stopping && pool->nidle < pool->max_idle)
        ring_push(pool, sb, -1);
    else
        destroy_unlocked(pool, sb);
}

/* When the oldest idle sandbox expires: idle_timeout after it became idle,
 * but not while the pool is in use and it is one of the min_idle kept. */
static uint64_t expiry(const glint_pool *pool, uint64_t now)
{
    uint64_t expires = pool->ring[pool->head].since_ns + pool->idle_timeout_ns;
    if (pool->nidle <= pool->min_idle && in_use(pool, now)) {
        uint64_t unused = pool->last_acquire_ns + pool->idle_timeout_ns;
        if (unused > expires)
            expires = unused;
    }
    return expires;
}

static void *reaper_main(void *arg)
{
    glint_pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (pool->doomed) {
            struct doomed *d = pool->doomed;
            pool->doomed = d->next;
            glint_sandbox *sb = d->sb;
            free(d);
            destroy_unlocked(pool, sb);
            continue;
        }
        if (pool->stopping)
            break;
        uint64_t now = glint_now_ns(), wake = UINT64_MAX;
        /* Leave room in the ring for the ones out to come back. */
        if (pool->nidle < pool->min_idle && pool->nidle + pool->out < pool->max_idle &&
            in_use(pool, now)) {
            if (now >= pool->refill_retry_ns) {
                refill_one(pool);
                continue;
            }
            wake = pool->refill_retry_ns;
        }
        if (pool->idle_timeout_ns && pool->nidle) {
            uint64_t expires = expiry(pool, now);
            if (now >= expires) {
                destroy_unlocked(pool, ring_pop_oldest(pool));
                continue;
            }
            if (expires < wake)
                wake = expires;
        }
        if (wake == UINT64_MAX)
            pthread_cond_wait(&pool->wake, &pool->lock); /* nothing to do or time: sleep */
        else
            wait_until(pool, wake);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Hands sb to the reaper (lock not held); destroys it here if that fails. */
static void doom(glint_pool *pool, glint_sandbox *sb)
{
    struct doomed *d = malloc(sizeof *d);
    pthread_mutex_lock(&pool->lock);
    if (pool->out)
        pool->out--;
    if (d) {
        d->sb = sb;
        d->next = pool->doomed;
        pool->doomed = d;
        pthread_cond_signal(&pool->wake);
    } else {
        destroy_unlocked(pool, sb);
    }
    pthread_mutex_unlock(&pool->lock);
}

static glint_status start_reaper(glint_pool *pool, glint_error *err)
{
    /* The reaper must take no signal meant for the process or a vCPU. */
    int rc = glint_thread_start(&pool->reaper, POOL_THREAD_STACK, 0, reaper_main, pool);
    if (rc != 0)
        return glint_fail(err, GLINT_E_NOMEM, "pool: cannot start the reaper thread: %s",
                          strerror(rc));
    return GLINT_OK;
}

/* ------------------------------------------------------------------------- */
/* Life cycle. */

static void pool_free(glint_pool *pool)
{
    glint_snapshot_free(pool->snap);
    free(pool->host);
    free(pool->names);
    free(pool->ring);
    free(pool);
}

static glint_pool *pool_alloc(const glint_snapshot *snap, const glint_pool_config *cfg)
{
    glint_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->max_idle = cfg->max_idle;
    pool->min_idle = cfg->min_idle;
    pool->last_acquire_ns = glint_now_ns(); /* a new pool is in use: warm it to min_idle */
    pool->idle_timeout_ns = (uint64_t)cfg->idle_timeout_ms * 1000000ull;
    pool->nhost = cfg->nhost;
    pool->snap = glint_snapshot_ref((glint_snapshot *)snap);
    pool->host = cfg->nhost ? calloc(cfg->nhost, sizeof *pool->host) : NULL;
    pool->names = cfg->nhost ? calloc(cfg->nhost, sizeof *pool->names) : NULL;
    pool->ring = cfg->max_idle ? calloc(cfg->max_idle, sizeof *pool->ring) : NULL;
    if ((cfg->nhost && (!pool->host || !pool->names)) || (cfg->max_idle && !pool->ring)) {
        pool_free(pool);
        return NULL;
    }
    for (size_t i = 0; i < cfg->nhost; i++) {
        pool->host[i] = cfg->host[i];
        /* The name fits: check_host_set registered it. */
        snprintf(pool->names[i], sizeof pool->names[i], "%s", cfg->host[i].sig.name);
        pool->host[i].sig.name = pool->names[i];
    }
    return pool;
}

static glint_status prefill(glint_pool *pool, size_t n, glint_error *err)
{
    for (size_t i = 0; i < n; i++) {
        glint_sandbox *sb;
        glint_status s = make_sandbox(pool, &sb, err);
        if (s != GLINT_OK)
            return s;
        pthread_mutex_lock(&pool->lock);
        pool->created++;
        if (pool->nidle < pool->max_idle) /* the refill may have filled it meanwhile */
            ring_push(pool, sb, -1);
        else
            destroy_unlocked(pool, sb);
        pthread_mutex_unlock(&pool->lock);
    }
    return GLINT_OK;
}

API glint_status glint_pool_create(const glint_snapshot *snap, const glint_pool_config *cfg,
                                   glint_pool **out, glint_error *err)
{
    if (!out)
        return glint_fail(err, GLINT_E_INVALID, "glint_pool_create: out is NULL");
    *out = NULL;
    if (!snap)
        return glint_fail(err, GLINT_E_INVALID, "glint_pool_create: snapshot is NULL");
    glint_pool_config defaults;
    if (!cfg) {
        glint_pool_config_default(&defaults);
        cfg = &defaults;
    }
    glint_status s;
    if ((s = check_config(cfg, err)) || (s = check_host_set(snap, cfg, err)))
        return s;
    const struct glint_snapshot *isnap = (const struct glint_snapshot *)snap;
    if (cfg->backend < GLINT_BACKEND_AUTO || cfg->backend > GLINT_BACKEND_PROCESS)
        return glint_fail(err, GLINT_E_INVALID, "pool: backend %d is not auto, kvm or process", cfg->backend);
    const struct hv_ops *be;
    glint_error e;
    if ((s = glint_snapshot_backend_for(isnap, cfg->backend, &be, &e)) || (s = be->probe(&e)))
        return glint_fail(err, s, "pool: %s", e.message);
    glint_pool *pool = pool_alloc(snap, cfg);
    if (!pool)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory creating a pool");
    pool->backend = be->id;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->wake, &ca);
    pthread_condattr_destroy(&ca);
    if ((s = start_reaper(pool, err)) != GLINT_OK) {
        pthread_cond_destroy(&pool->wake);
        pthread_mutex_destroy(&pool->lock);
        pool_free(pool);
        return s;
    }
    glint_obs_pool_count(1);
    if ((s = prefill(pool, cfg->prefill, err)) != GLINT_OK) {
        glint_pool_destroy(pool);
        return s;
    }
    *out = pool;
    return GLINT_OK;
}

API void glint_pool_destroy(glint_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    pthread_join(pool->reaper, NULL); /* it empties the doomed list first */
    while (pool->doomed) {            /* only a release racing destroy (misuse) leaves any */
        struct doomed *d = pool->doomed;
        pool->doomed = d->next;
        glint_sandbox_destroy(d->sb);
        free(d);
    }
    while (pool->nidle)
        glint_sandbox_destroy(ring_pop_newest(pool));
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    glint_obs_tracer_set(&pool->tracer, NULL, NULL);
    glint_obs_pool_count(0);
    pool_free(pool);
}

/* ------------------------------------------------------------------------- */
/* Acquire and release. */

static glint_status acquire(glint_pool *pool, glint_sandbox **out, glint_error *err, int *hit)
{
    pthread_mutex_lock(&pool->lock);
    if (pool->min_idle) /* only the refill asks whether the pool is in use */
        pool->last_acquire_ns = glint_now_ns();
    if (pool->nidle) {
        *out = ring_pop_near(pool, sched_getcpu());
        *hit = 1;
        pool->reused++;
        pool->out++;
        if (pool->nidle < pool->min_idle)
            pthread_cond_signal(&pool->wake); /* refill in the background */
        pthread_mutex_unlock(&pool->lock);
        return GLINT_OK;
    }
    if (pool->min_idle)
        pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    glint_sandbox *sb;
    glint_status s = make_sandbox(pool, &sb, err);
    if (s != GLINT_OK)
        return s;
    pthread_mutex_lock(&pool->lock);
    pool->created++;
    pool->out++;
    pthread_mutex_unlock(&pool->lock);
    *out = sb;
    return GLINT_OK;
}

/* A pool span: to the pool's tracer, else the process-wide one. */
static void pool_span(glint_pool *pool, glint_span *span)
{
    pthread_mutex_lock(&pool->lock);
    struct glint_obs_tracer t = pool->tracer;
    pthread_mutex_unlock(&pool->lock);
    glint_obs_emit(&t, span);
}

API glint_status glint_pool_acquire(glint_pool *pool, glint_sandbox **out, glint_error *err)
{
    if (!out)
        return glint_fail(err, GLINT_E_INVALID, "glint_pool_acquire: out is NULL");
    *out = NULL;
    if (!pool)
        return glint_fail(err, GLINT_E_INVALID, "glint_pool_acquire: pool is NULL");
    uint64_t t0 = glint_now_ns(), id = 0, parent = 0;
    if (glint_obs_tracing()) {
        id = glint_obs_span_id();
        parent = glint_obs_cur();
        glint_obs_set_cur(id);
    }
    int hit = 0;
    glint_status s = acquire(pool, out, err, &hit);
    uint64_t t1 = glint_now_ns();
    pthread_mutex_lock(&pool->lock);
    if (s == GLINT_OK) {
        pool->m.acquires++;
        if (hit)
            pool->m.hits++;
        else
            pool->m.misses++;
        glint_hist_add(&pool->m.acquire_duration, t1 - t0);
        /* The pool's tracer (or none) for its spans from now on. */
        glint_obs_tracer_set(&(*out)->obs.tracer, pool->tracer.fn, pool->tracer.user);
    } else {
        pool->m.acquire_failures++;
    }
    pthread_mutex_unlock(&pool->lock);
    if (id) {
        glint_obs_set_cur(parent);
        glint_span span = {.kind = GLINT_SPAN_POOL_ACQUIRE, .name = "pool_acquire",
                           .function = hit ? "hit" : "miss",
                           .backend = glint_backend_name(pool->backend), .status = s,
                           .start_ns = t0, .end_ns = t1, .id = id, .parent = parent,
                           .sandbox_id = s == GLINT_OK ? (*out)->obs.id : 0,
                           .thread_id = glint_obs_tid(), .sandbox = *out};
        pool_span(pool, &span);
    }
    return s;
}

/* Folds the lease's stats into the pool's and starts the sandbox's afresh. */
static void release_metrics(glint_pool *pool, glint_sandbox *sb, glint_status s, uint64_t t0, uint64_t id,
                            uint64_t parent)
{
    uint64_t t1 = glint_now_ns();
    uint64_t sbid = sb->obs.id;
    pthread_mutex_lock(&pool->lock);
    pool->m.releases++;
    if (s != GLINT_OK)
        pool->m.release_failures++;
    glint_hist_add(&pool->m.release_duration, t1 - t0);
    glint_sandbox_stats st;
    glint_stats_read(&sb->obs.st, &st);
    st.exits = 0; /* kept by the sandbox itself, not per lease */
    glint_stats_fold(&pool->m.sandboxes, &st);
    memset(&sb->obs.st, 0, sizeof sb->obs.st);
    glint_obs_tracer_set(&sb->obs.tracer, pool->tracer.fn, pool->tracer.user);
    pthread_mutex_unlock(&pool->lock);
    if (id) {
        glint_obs_set_cur(parent);
        glint_span span = {.kind = GLINT_SPAN_POOL_RELEASE, .name = "pool_release",
                           .backend = glint_backend_name(pool->backend), .status = s,
                           .start_ns = t0, .end_ns = t1, .id = id, .parent = parent,
                           .sandbox_id = sbid, .thread_id = glint_obs_tid()};
        pool_span(pool, &span);
    }
}

API void glint_pool_release(glint_pool *pool, glint_sandbox *sb)
{
    if (!pool || !sb)
        return;
    uint64_t t0 = glint_now_ns(), id = 0, parent = 0;
    if (glint_obs_tracing()) {
        id = glint_obs_span_id();
        parent = glint_obs_cur();
        glint_obs_set_cur(id);
    }
    /* A sandbox the pool cannot keep (max_idle 0, full, stopping) is
     * destroyed as it is: restoring it first would only cost time (the
     * whole of a release with max_idle 0, as in glintd's fresh mode). */
    pthread_mutex_lock(&pool->lock);
    int keep = !pool->stopping && pool->nidle < pool->max_idle;
    pthread_mutex_unlock(&pool->lock);
    if (!keep) {
        release_metrics(pool, sb, GLINT_OK, t0, id, parent);
        doom(pool, sb);
        return;
    }
    /* Nothing the last user set may survive: auto-restore, error, poison,
     * memory, vCPU state (restore clears all but the first). */
    glint_status s = glint_sandbox_set_auto_restore(sb, NULL);
    if (s == GLINT_OK)
        s = glint_sandbox_restore(sb, pool->snap);
    release_metrics(pool, sb, s, t0, id, parent);
    if (s == GLINT_OK) {
        pthread_mutex_lock(&pool->lock);
        if (!pool->stopping && pool->nidle < pool->max_idle) {
            ring_push(pool, sb, sched_getcpu());
            if (pool->out)
                pool->out--;
            pthread_mutex_unlock(&pool->lock);
            return;
        }
        pthread_mutex_unlock(&pool->lock);
    }
    doom(pool, sb);
}

API void glint_pool_get_metrics(glint_pool *pool, glint_pool_metrics *m)
{
    if (!m)
        return;
    memset(m, 0, sizeof *m);
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    *m = pool->m;
    pthread_mutex_unlock(&pool->lock);
}

API void glint_pool_set_tracer(glint_pool *pool, glint_tracer_fn fn, void *user)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    glint_obs_tracer_set(&pool->tracer, fn, user);
    /* The ready sandboxes take it now; the ones out, when acquired again. */
    for (size_t i = 0; i < pool->nidle; i++) {
        glint_sandbox *sb = pool->ring[(pool->head + i) % pool->max_idle].sb;
        glint_obs_tracer_set(&sb->obs.tracer, fn, user);
    }
    pthread_mutex_unlock(&pool->lock);
}

API void glint_pool_get_stats(glint_pool *pool, glint_pool_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    st->idle = pool->nidle;
    st->out = pool->out;
    st->created = pool->created;
    st->reused = pool->reused;
    st->destroyed = pool->destroyed;
    st->refilled = pool->refilled;
    st->refill_failures = pool->refill_failures;
    pthread_mutex_unlock(&pool->lock);
}

/* ------------------------------------------------------------------------- */

int glint_debug_memory_equal(const glint_sandbox *sb, const glint_snapshot *snap, char *why,
                             size_t why_size)
{
    if (sb->lay.mem_size != snap->lay.mem_size) {
        snprintf(why, why_size, "memory sizes differ");
        return 0;
    }
    const size_t page = GLINT_PAGE_SIZE, pages = (size_t)(sb->lay.mem_size / page);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < pages; i++) {
        const uint8_t *a = sb->mem + i * page, *b = snap->mem + i * page;
        int differs;
        if (sb->tables_elided && i < GLINT_BOOT_INFO_GVA / page) {
            /* glint's x86 tables, never copied in (snapshot.c): a backend
             * that does not read them; they stay zero here. */
            static const uint8_t none[GLINT_PAGE_SIZE];
            differs = memcmp(a, none, page) != 0;
        } else if (i == GLINT_BOOT_INFO_GVA / page) {
            /* The exit gate is the backend's (glint_sandbox_sync_exit_gate), not the snapshot's. */
            const size_t g = offsetof(struct glint_boot_info, exit_gate);
            uint64_t want = sb->no_exit_gate ? 0 : sb->be->exit_gate, have;
            memcpy(&have, a + g, 8);
            differs = memcmp(a, b, g) != 0 || memcmp(a + g + 8, b + g + 8, page - g - 8) != 0 || have != want;
        } else {
            differs = memcmp(a, b, page) != 0;
        }
        if (differs && !bad++)
            first = i;
    }
    if (!bad)
        return 1;
    static const uint8_t zero[GLINT_PAGE_SIZE];
    size_t off = 0;
    const uint8_t *a = sb->mem + first * page, *b = snap->mem + first * page;
    if (sb->tables_elided && first < GLINT_BOOT_INFO_GVA / page)
        b = zero; /* what the first page was compared with */
    while (off < page - 1 && a[off] == b[off])
        off++;
    snprintf(why, why_size,
             "%zu of %zu pages differ; the first at GPA 0x%llx (0x%02x, expected 0x%02x)", bad,
             pages, (unsigned long long)(first * page + off), a[off], b[off]);
    return 0;
}
