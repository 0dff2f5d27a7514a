/*
 * trace.c - `glint call --trace FILE`: every span of the run (create, init,
 * the call, its host calls and the guest's own spans) as a Chrome
 * trace-event JSON file (open it in ui.perfetto.dev or chrome://tracing).
 *
 * The call runs under the seccomp filter, which lets the calling thread
 * write only to stdout and stderr.  So the file is opened, and a writer
 * thread started, before the filter; the process-wide tracer copies each
 * span into a preallocated buffer (no allocation, no system call but a
 * futex), and at the end the writer thread writes them and closes the file.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TRACE_MAX_SPANS 16384u

struct kept_span {
    glint_span span;
    char name[GLINT_MAX_NAME + 1], function[GLINT_MAX_NAME + 1];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    glint_trace_file *tf;
    struct kept_span *spans;
    size_t n;
    uint64_t dropped;
    int finish, done;
    glint_status status;
    glint_error err;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void keep(const glint_span *sp, void *user)
{
    (void)user;
    pthread_mutex_lock(&g.lock);
    if (g.n < TRACE_MAX_SPANS) {
        struct kept_span *k = &g.spans[g.n++];
        k->span = *sp;
        snprintf(k->name, sizeof k->name, "%s", sp->name ? sp->name : "");
        snprintf(k->function, sizeof k->function, "%s", sp->function ? sp->function : "");
        k->span.name = k->name;
        k->span.function = sp->function ? k->function : NULL;
        k->span.sandbox = NULL;
    } else {
        g.dropped++;
    }
    pthread_mutex_unlock(&g.lock);
}

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.lock);
    while (!g.finish)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    for (size_t i = 0; i < g.n; i++)
        glint_trace_file_write(&g.spans[i].span, g.tf);
    g.status = glint_trace_file_close(g.tf, &g.err);
    return NULL;
}

int cli_trace_start(const struct cli_opts *o)
{
    if (!o->trace_path)
        return -1;
    glint_error err;
    if (glint_trace_file_open(o->trace_path, 0, &g.tf, &err) != GLINT_OK) {
        cli_error("--trace: %s", err.message);
        return CLI_EXIT_USAGE;
    }
    g.spans = calloc(TRACE_MAX_SPANS, sizeof *g.spans);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the writer takes no signal */
    int rc = g.spans ? pthread_create(&g.thread, NULL, writer_main, NULL) : ENOMEM;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        cli_error("--trace: cannot start the writer thread: %s", strerror(rc));
        glint_trace_file_close(g.tf, NULL);
        free(g.spans);
        g.tf = NULL;
        return CLI_EXIT_INTERNAL;
    }
    g.done = 1;
    glint_set_tracer(keep, NULL);
    return -1;
}

int cli_trace_finish(const struct cli_opts *o)
{
    if (!o->trace_path || !g.done)
        return -1;
    glint_set_tracer(NULL, NULL);
    pthread_mutex_lock(&g.lock);
    g.finish = 1;
    pthread_cond_signal(&g.cond);
    pthread_mutex_unlock(&g.lock);
    pthread_join(g.thread, NULL);
    g.done = 0;
    free(g.spans);
    if (g.dropped)
        cli_error("--trace: %llu spans over the limit of %u were left out of %s",
                  (unsigned long long)g.dropped, TRACE_MAX_SPANS, o->trace_path);
    if (g.status != GLINT_OK) {
        cli_error("--trace: %s: %s", o->trace_path, g.err.message);
        return CLI_EXIT_INTERNAL;
    }
    return -1;
}
