/*
 * stats.c - metrics: per-sandbox counters and histograms, the process's
 * counters, and the hooks that record them (docs/observability.md).
 *
 * A sandbox's stats are written only by the thread that holds it (busy),
 * each field with a relaxed atomic store (a plain add and store on x86-64),
 * and read by anyone with relaxed atomic loads: no lock, no allocation.
 * The histogram bucket is a count-leading-zeros away.
 */
#include <stdlib.h>
#include <string.h>

#include "observe.h"
#include "sandbox.h"

static _Atomic uint64_t g_created, g_destroyed, g_snapshots, g_pools_created, g_pools_destroyed;
static _Atomic uint64_t g_next_sandbox_id = 1;

API uint64_t glint_histogram_bucket_bound_ns(unsigned i)
{
    if (i >= GLINT_HIST_BUCKETS - 1)
        return UINT64_MAX;
    return (1ull << i) * 1000ull;
}

static inline unsigned bucket_of(uint64_t ns)
{
    uint64_t us = ns / 1000u;
    if (!us)
        return 0;
    unsigned b = 64u - (unsigned)__builtin_clzll(us); /* us in [2^(b-1), 2^b) */
    return b < GLINT_HIST_BUCKETS ? b : GLINT_HIST_BUCKETS - 1;
}

void glint_hist_add(glint_histogram *h, uint64_t ns)
{
    OBS_INC(h->count);
    OBS_ADD(h->sum_ns, ns);
    OBS_INC(h->buckets[bucket_of(ns)]);
}

/* Word by word: every field is a uint64_t. */
_Static_assert(sizeof(glint_sandbox_stats) % sizeof(uint64_t) == 0, "stats are words");
_Static_assert(GLINT_E_BAD_SNAPSHOT < GLINT_STATUS_SLOTS, "by_status has a slot for each status");

void glint_stats_read(const glint_sandbox_stats *src, glint_sandbox_stats *dst)
{
    const uint64_t *s = (const uint64_t *)src;
    uint64_t *d = (uint64_t *)dst;
    for (size_t i = 0; i < sizeof *src / sizeof(uint64_t); i++)
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* dst += src, field by field (all fields are counts or sums). */
void glint_stats_fold(glint_sandbox_stats *dst, const glint_sandbox_stats *src)
{
    const uint64_t *s = (const uint64_t *)src;
    uint64_t *d = (uint64_t *)dst;
    for (size_t i = 0; i < sizeof *src / sizeof(uint64_t); i++)
        d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

API void glint_sandbox_get_stats(const glint_sandbox *sb, glint_sandbox_stats *st)
{
    if (!st)
        return;
    if (!sb) {
        memset(st, 0, sizeof *st);
        return;
    }
    glint_stats_read(&sb->obs.st, st);
    st->exits = __atomic_load_n(&sb->exits, __ATOMIC_RELAXED);
}

API void glint_get_process_stats(glint_process_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    st->sandboxes_created = atomic_load(&g_created);
    st->sandboxes_destroyed = atomic_load(&g_destroyed);
    st->sandboxes_live = st->sandboxes_created - st->sandboxes_destroyed;
    st->snapshots_taken = atomic_load(&g_snapshots);
    st->pools_created = atomic_load(&g_pools_created);
    st->pools_destroyed = atomic_load(&g_pools_destroyed);
}

/* ------------------------------------------------------------------------- */
/* Life cycle. */

static void emit_sb(glint_sandbox *sb, glint_span_kind kind, const char *fn, glint_status s,
                    uint64_t t0, uint64_t t1)
{
    glint_span span = {
        .kind = kind,
        .name = glint_span_kind_name(kind),
        .function = fn,
        .backend = sb->be ? sb->be->name : NULL,
        .status = s,
        .start_ns = t0,
        .end_ns = t1,
        .id = glint_obs_span_id(),
        .parent = glint_obs_cur(),
        .sandbox_id = sb->obs.id,
        .thread_id = glint_obs_tid(),
        .sandbox = sb,
    };
    glint_obs_emit(&sb->obs.tracer, &span);
}

void glint_obs_sandbox_new(glint_sandbox *sb)
{
    sb->obs.id = atomic_fetch_add(&g_next_sandbox_id, 1);
    const struct glint_obs_tracer *t = glint_obs_new_tracer;
    if (t && t->fn)
        glint_obs_tracer_set(&sb->obs.tracer, t->fn, t->user);
}

void glint_obs_created(glint_sandbox *sb, uint64_t t0)
{
    sb->obs.counted = 1;
    atomic_fetch_add(&g_created, 1);
    if (glint_obs_tracing())
        emit_sb(sb, GLINT_SPAN_CREATE, NULL, GLINT_OK, t0, glint_now_ns());
}

void glint_obs_destroyed(glint_sandbox *sb)
{
    if (sb->obs.counted)
        atomic_fetch_add(&g_destroyed, 1);
    glint_obs_tracer_set(&sb->obs.tracer, NULL, NULL);
    free(sb->obs.gspan);
    sb->obs.gspan = NULL;
}

void glint_obs_init_done(glint_sandbox *sb, glint_status s, uint64_t t0)
{
    OBS_INC(sb->obs.st.inits);
    if (glint_obs_tracing())
        emit_sb(sb, GLINT_SPAN_INIT, NULL, s, t0, glint_now_ns());
}

void glint_obs_snapshot_done(glint_sandbox *sb, glint_status s, uint64_t t0)
{
    if (s == GLINT_OK) {
        OBS_INC(sb->obs.st.snapshots);
        atomic_fetch_add(&g_snapshots, 1);
    }
    if (glint_obs_tracing())
        emit_sb(sb, GLINT_SPAN_SNAPSHOT, NULL, s, t0, glint_now_ns());
}

void glint_obs_restore_done(glint_sandbox *sb, glint_status s, uint64_t t0)
{
    uint64_t t1 = glint_now_ns();
    OBS_INC(sb->obs.st.restores);
    if (s != GLINT_OK)
        OBS_INC(sb->obs.st.restore_failures);
    glint_hist_add(&sb->obs.st.restore_duration, t1 - t0);
    if (glint_obs_tracing())
        emit_sb(sb, GLINT_SPAN_RESTORE, NULL, s, t0, t1);
}

void glint_obs_pool_count(int created)
{
    atomic_fetch_add(created ? &g_pools_created : &g_pools_destroyed, 1);
}

/* ------------------------------------------------------------------------- */
/* Calls. */

uint64_t glint_obs_call_begin(glint_sandbox *sb, const char *fn)
{
    uint64_t t0 = glint_now_ns();
    if (glint_obs_tracing() && glint_obs_wants(sb)) {
        struct glint_obs *o = &sb->obs;
        o->call_id = glint_obs_span_id();
        o->call_parent = glint_obs_cur();
        o->call_start_ns = t0;
        o->call_fn = fn;
        o->frame_flags = GLINT_CALL_SPANS;
        o->gdepth = o->gcount = o->gskip = 0;
        glint_obs_set_cur(o->call_id);
    }
    return t0;
}

void glint_obs_call_done(glint_sandbox *sb, glint_status s, uint64_t t0, uint64_t seq0)
{
    glint_sandbox_stats *st = &sb->obs.st;
    OBS_INC(st->calls);
    OBS_INC(st->by_status[(unsigned)s < GLINT_STATUS_SLOTS ? (unsigned)s : GLINT_STATUS_SLOTS - 1]);
    if (atomic_load_explicit(&sb->seq, memory_order_relaxed) == seq0)
        return; /* refused before any guest code ran */
    glint_hist_add(&st->call_duration, glint_now_ns() - t0);
    if (s != GLINT_E_POISONED && sb->state == SB_POISONED) {
        OBS_INC(st->guest_failures);
        if (s == GLINT_E_TIMEOUT)
            OBS_INC(st->timeouts);
        else if (s == GLINT_E_CANCELLED)
            OBS_INC(st->cancellations);
    }
}

/* Closes the guest spans the guest left open, innermost first. */
static void close_guest_spans(glint_sandbox *sb, glint_status s, uint64_t now)
{
    struct glint_obs *o = &sb->obs;
    while (o->gdepth) {
        struct glint_obs_gspan *g = &o->gspan[--o->gdepth];
        glint_span span = {
            .kind = GLINT_SPAN_GUEST, .name = g->name, .function = o->call_fn,
            .backend = sb->be->name, .status = s, .start_ns = g->start_ns, .end_ns = now,
            .id = g->id, .parent = g->parent, .sandbox_id = o->id, .thread_id = glint_obs_tid(),
            .sandbox = sb,
        };
        glint_obs_emit(&o->tracer, &span);
    }
}

void glint_obs_call_end(glint_sandbox *sb, glint_status s)
{
    struct glint_obs *o = &sb->obs;
    if (__builtin_expect(!o->call_id, 1))
        return;
    uint64_t now = glint_now_ns();
    close_guest_spans(sb, s, now);
    glint_span span = {
        .kind = GLINT_SPAN_CALL, .name = "call", .function = o->call_fn,
        .backend = sb->be ? sb->be->name : NULL, .status = s, .start_ns = o->call_start_ns,
        .end_ns = now, .id = o->call_id, .parent = o->call_parent, .sandbox_id = o->id,
        .thread_id = glint_obs_tid(), .sandbox = sb,
    };
    glint_obs_set_cur(o->call_parent);
    o->call_id = 0;
    o->frame_flags = 0;
    glint_obs_emit(&o->tracer, &span);
}

/* ------------------------------------------------------------------------- */
/* Host calls and guest spans. */

uint64_t glint_obs_hostcall_begin(glint_sandbox *sb)
{
    (void)sb;
    return glint_now_ns();
}

void glint_obs_hostcall_end(glint_sandbox *sb, const char *fn, glint_status s, uint64_t t0)
{
    uint64_t t1 = glint_now_ns();
    glint_sandbox_stats *st = &sb->obs.st;
    OBS_INC(st->host_calls);
    if (s != GLINT_OK)
        OBS_INC(st->host_call_failures);
    glint_hist_add(&st->host_call_duration, t1 - t0);
    if (sb->obs.call_id)
        emit_sb(sb, GLINT_SPAN_HOST_CALL, fn, s, t0, t1);
}

void glint_obs_hostcall_refused(glint_sandbox *sb)
{
    OBS_INC(sb->obs.st.host_calls_refused);
}

void glint_obs_guest_span(glint_sandbox *sb, uint32_t op, const char *name, size_t len)
{
    struct glint_obs *o = &sb->obs;
    if (!o->call_id)
        return; /* not traced: a guest that ignored the frame's flag */
    if (op == GLINT_SPAN_OP_BEGIN) {
        if (o->gcount >= GLINT_GUEST_SPAN_MAX || o->gdepth >= GLINT_GUEST_SPAN_DEPTH) {
            OBS_INC(o->st.guest_spans_dropped);
            o->gskip++; /* its end must not close the enclosing span */
            return;
        }
        if (!o->gspan && !(o->gspan = calloc(GLINT_GUEST_SPAN_DEPTH, sizeof *o->gspan))) {
            /* Few sandboxes are ever traced: the room comes with the first span. */
            OBS_INC(o->st.guest_spans_dropped);
            o->gskip++;
            return;
        }
        struct glint_obs_gspan *g = &o->gspan[o->gdepth++];
        o->gcount++;
        OBS_INC(o->st.guest_spans);
        g->id = glint_obs_span_id();
        g->parent = glint_obs_cur();
        g->start_ns = glint_now_ns();
        if (len > GLINT_MAX_NAME)
            len = GLINT_MAX_NAME;
        size_t n = 0;
        for (size_t i = 0; i < len && name[i]; i++) {
            unsigned char c = (unsigned char)name[i];
            g->name[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        if (!n)
            g->name[n++] = '?';
        g->name[n] = 0;
        glint_obs_set_cur(g->id);
    } else if (op == GLINT_SPAN_OP_END) {
        if (o->gskip) {
            o->gskip--;
            return;
        }
        if (!o->gdepth)
            return;
        struct glint_obs_gspan *g = &o->gspan[--o->gdepth];
        glint_span span = {
            .kind = GLINT_SPAN_GUEST, .name = g->name, .function = o->call_fn,
            .backend = sb->be->name, .status = GLINT_OK, .start_ns = g->start_ns,
            .end_ns = glint_now_ns(), .id = g->id, .parent = g->parent, .sandbox_id = o->id,
            .thread_id = glint_obs_tid(), .sandbox = sb,
        };
        glint_obs_set_cur(g->parent);
        glint_obs_emit(&o->tracer, &span);
    }
}
