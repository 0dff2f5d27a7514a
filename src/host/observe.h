/*
 * observe.h - metrics (stats.c) and tracing (trace.c), internal.
 *
 * Metrics are always on.  A sandbox's counters are written only by the
 * thread that holds the sandbox (its busy flag), with relaxed atomic
 * stores, so that any thread may read them: no lock, no allocation.
 *
 * Tracing is off unless a tracer is set somewhere; g_obs_trace_users counts
 * the tracers set (process-wide, per sandbox, per pool), so that every hook
 * costs one load and one predictable branch when there is none.
 */
#ifndef GLINT_OBSERVE_H
#define GLINT_OBSERVE_H

#include <stdatomic.h>
#include <stdint.h>

#include "glint/glint.h"

#define GLINT_GUEST_SPAN_DEPTH 32u    /* guest spans open at once, per call */
#define GLINT_GUEST_SPAN_MAX   1024u  /* guest spans per call */

struct glint_obs_tracer {
    glint_tracer_fn fn;
    void *user;
};

struct glint_obs_gspan {
    uint64_t id, parent, start_ns;
    char name[GLINT_MAX_NAME + 1];
};

/* Per sandbox (a member of struct glint_sandbox). */
struct glint_obs {
    glint_sandbox_stats st;
    uint64_t id;                     /* process-unique, never 0 */
    int counted;                     /* counted in the process's created/live */
    struct glint_obs_tracer tracer;
    /* The running call, while traced. */
    uint64_t call_id, call_parent, call_start_ns, call_seq;
    const char *call_fn;
    uint32_t frame_flags;            /* GLINT_CALL_SPANS when traced, for marshal */
    uint32_t gdepth, gcount, gskip; /* open, recorded, dropped but open */
    struct glint_obs_gspan *gspan;   /* [GLINT_GUEST_SPAN_DEPTH], allocated at the first guest span */
};

extern atomic_int g_obs_trace_users;

static inline int glint_obs_tracing(void)
{
    return __builtin_expect(atomic_load_explicit(&g_obs_trace_users, memory_order_relaxed) != 0, 0);
}

/* Relaxed single-writer updates. */
#define OBS_ADD(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define OBS_INC(field) OBS_ADD(field, 1)

uint64_t glint_now_ns(void);
void glint_hist_add(glint_histogram *h, uint64_t ns);
void glint_stats_read(const glint_sandbox_stats *src, glint_sandbox_stats *dst);
void glint_stats_fold(glint_sandbox_stats *dst, const glint_sandbox_stats *src);

/* Life cycle (sandbox.c, snapshot.c). */
void glint_obs_sandbox_new(glint_sandbox *sb);
void glint_obs_created(glint_sandbox *sb, uint64_t t0);
void glint_obs_destroyed(glint_sandbox *sb);
void glint_obs_init_done(glint_sandbox *sb, glint_status s, uint64_t t0);
void glint_obs_snapshot_done(glint_sandbox *sb, glint_status s, uint64_t t0);
void glint_obs_restore_done(glint_sandbox *sb, glint_status s, uint64_t t0);
void glint_obs_pool_count(int created);

/* Calls (call.c): begin returns the start time; done records the call's
 * metrics; end emits its span (after any auto-restore). */
uint64_t glint_obs_call_begin(glint_sandbox *sb, const char *fn);
void glint_obs_call_done(glint_sandbox *sb, glint_status s, uint64_t t0, uint64_t seq0);
void glint_obs_call_end(glint_sandbox *sb, glint_status s);

/* Host calls (hostcall.c). */
uint64_t glint_obs_hostcall_begin(glint_sandbox *sb);
void glint_obs_hostcall_end(glint_sandbox *sb, const char *fn, glint_status s, uint64_t t0);
void glint_obs_hostcall_refused(glint_sandbox *sb);
/* A guest span operation (hostcall.c, GLINT_SPAN_HOSTFN). */
void glint_obs_guest_span(glint_sandbox *sb, uint32_t op, const char *name, size_t len);

/* Spans (trace.c). */
uint64_t glint_obs_span_id(void);
uint64_t glint_obs_tid(void);
/* The thread's innermost open span (0 if none) and setting it. */
uint64_t glint_obs_cur(void);
void glint_obs_set_cur(uint64_t id);
/* Delivers a span to `t` if set, else to the process-wide tracer. */
void glint_obs_emit(const struct glint_obs_tracer *t, glint_span *span);
void glint_obs_tracer_set(struct glint_obs_tracer *t, glint_tracer_fn fn, void *user);
/* A tracer would take this sandbox's spans (its own or the process-wide one). */
int glint_obs_wants(const glint_sandbox *sb);
/* The tracer new sandboxes take on this thread (pools, while creating). */
extern _Thread_local const struct glint_obs_tracer *glint_obs_new_tracer;

#endif
