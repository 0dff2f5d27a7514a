/*
 * trace.c - tracing: span ids, the thread's current span, tracers, and the
 * built-in Chrome trace-event JSON writer (docs/observability.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "observe.h"
#include "sandbox.h"

atomic_int g_obs_trace_users;
_Thread_local const struct glint_obs_tracer *glint_obs_new_tracer;

static _Atomic uint64_t g_next_span = 1;
static _Thread_local uint64_t t_cur, t_tid;

/* The process-wide tracer: set under the write lock, used under the read
 * lock, so that glint_set_tracer returning means the old one is unused. */
static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct glint_obs_tracer g_tracer;
static atomic_int g_global_on;

API const char *glint_span_kind_name(glint_span_kind kind)
{
    static const char *const names[] = {"create", "init", "call", "host_call", "restore",
                                        "snapshot", "pool_acquire", "pool_release", "guest"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

uint64_t glint_obs_span_id(void)
{
    return atomic_fetch_add_explicit(&g_next_span, 1, memory_order_relaxed);
}

uint64_t glint_obs_tid(void)
{
    if (!t_tid)
        t_tid = (uint64_t)syscall(SYS_gettid);
    return t_tid;
}

uint64_t glint_obs_cur(void)
{
    return t_cur;
}

void glint_obs_set_cur(uint64_t id)
{
    t_cur = id;
}

int glint_obs_wants(const glint_sandbox *sb)
{
    return sb->obs.tracer.fn || atomic_load_explicit(&g_global_on, memory_order_relaxed);
}

void glint_obs_tracer_set(struct glint_obs_tracer *t, glint_tracer_fn fn, void *user)
{
    if (!t->fn && fn)
        atomic_fetch_add(&g_obs_trace_users, 1);
    else if (t->fn && !fn)
        atomic_fetch_sub(&g_obs_trace_users, 1);
    t->fn = fn;
    t->user = fn ? user : NULL;
}

void glint_obs_emit(const struct glint_obs_tracer *t, glint_span *span)
{
    if (t && t->fn) {
        t->fn(span, t->user);
        return;
    }
    if (!atomic_load_explicit(&g_global_on, memory_order_relaxed))
        return;
    pthread_rwlock_rdlock(&g_lock);
    if (g_tracer.fn)
        g_tracer.fn(span, g_tracer.user);
    pthread_rwlock_unlock(&g_lock);
}

API void glint_set_tracer(glint_tracer_fn fn, void *user)
{
    pthread_rwlock_wrlock(&g_lock);
    glint_obs_tracer_set(&g_tracer, fn, user);
    atomic_store(&g_global_on, fn != NULL);
    pthread_rwlock_unlock(&g_lock);
}

API void glint_sandbox_set_tracer(glint_sandbox *sb, glint_tracer_fn fn, void *user)
{
    if (sb)
        glint_obs_tracer_set(&sb->obs.tracer, fn, user);
}

/* ------------------------------------------------------------------------- */
/* The Chrome trace-event writer. */

#define TRACE_DEFAULT_MAX (256ull << 20)

struct glint_trace_file {
    pthread_mutex_t lock;
    FILE *f;
    uint64_t bytes, max_bytes, written;
    _Atomic uint64_t dropped;
    int failed;
    int pid;
};

/* Writes s as the inside of a JSON string: escapes quotes, backslashes and
 * control characters; bytes >= 0x80 are replaced (names are ASCII). */
static void json_str(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fputc('?', f);
        else
            fputc(c, f);
    }
}

API glint_status glint_trace_file_open(const char *path, uint64_t max_bytes, glint_trace_file **out,
                                       glint_error *err)
{
    if (!out)
        return glint_fail(err, GLINT_E_INVALID, "glint_trace_file_open: out is NULL");
    *out = NULL;
    if (!path)
        return glint_fail(err, GLINT_E_INVALID, "glint_trace_file_open: path is NULL");
    glint_trace_file *tf = calloc(1, sizeof *tf);
    if (!tf)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory opening a trace file");
    tf->f = fopen(path, "we");
    if (!tf->f) {
        int e = errno;
        free(tf);
        return glint_fail(err, GLINT_E_IO, "%s: %s", path, strerror(e));
    }
    pthread_mutex_init(&tf->lock, NULL);
    tf->max_bytes = max_bytes ? max_bytes : TRACE_DEFAULT_MAX;
    tf->pid = (int)getpid();
    int n = fprintf(tf->f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    tf->bytes = n > 0 ? (uint64_t)n : 0;
    *out = tf;
    return GLINT_OK;
}

/* One "X" (complete) event; ts and dur in microseconds. */
API void glint_trace_file_write(const glint_span *span, void *user)
{
    glint_trace_file *tf = user;
    if (!tf || !span)
        return;
    pthread_mutex_lock(&tf->lock);
    if (tf->bytes >= tf->max_bytes || tf->failed) {
        atomic_fetch_add(&tf->dropped, 1);
        pthread_mutex_unlock(&tf->lock);
        return;
    }
    FILE *f = tf->f;
    long before = ftell(f);
    uint64_t dur = span->end_ns >= span->start_ns ? span->end_ns - span->start_ns : 0;
    fprintf(f, "%s{\"name\":\"", tf->written ? ",\n" : "");
    json_str(f, span->name);
    fprintf(f, "\",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%" PRIu64 ".%03u,\"dur\":%" PRIu64 ".%03u,"
               "\"pid\":%d,\"tid\":%" PRIu64 ",\"args\":{\"kind\":\"%s\"",
            span->kind == GLINT_SPAN_GUEST ? "guest" : "glint", span->start_ns / 1000u,
            (unsigned)(span->start_ns % 1000u), dur / 1000u, (unsigned)(dur % 1000u), tf->pid,
            span->thread_id, glint_span_kind_name(span->kind));
    if (span->function) {
        fputs(",\"function\":\"", f);
        json_str(f, span->function);
        fputc('"', f);
    }
    if (span->backend)
        fprintf(f, ",\"backend\":\"%s\"", span->backend);
    fprintf(f, ",\"status\":\"%s\",\"id\":%" PRIu64 ",\"parent\":%" PRIu64 ",\"sandbox\":%" PRIu64 "}}",
            glint_status_name(span->status), span->id, span->parent, span->sandbox_id);
    long after = ftell(f);
    if (ferror(f))
        tf->failed = 1;
    tf->bytes += after > before ? (uint64_t)(after - before) : 0;
    tf->written++;
    pthread_mutex_unlock(&tf->lock);
}

API uint64_t glint_trace_file_dropped(const glint_trace_file *tf)
{
    return tf ? atomic_load(&((glint_trace_file *)tf)->dropped) : 0;
}

API glint_status glint_trace_file_close(glint_trace_file *tf, glint_error *err)
{
    if (!tf)
        return GLINT_OK;
    fprintf(tf->f, "\n],\"otherData\":{\"producer\":\"glint " GLINT_VERSION_STRING "\","
                   "\"spans\":%" PRIu64 ",\"dropped\":%" PRIu64 "}}\n",
            tf->written, (uint64_t)atomic_load(&tf->dropped));
    int bad = ferror(tf->f) || tf->failed;
    if (fclose(tf->f) != 0)
        bad = 1;
    pthread_mutex_destroy(&tf->lock);
    free(tf);
    if (bad)
        return glint_fail(err, GLINT_E_IO, "writing the trace file failed");
    return GLINT_OK;
}
