/*
 * profile.c - `glint call --profile FILE`: samples the guest at 1000 Hz
 * during initialization and the call, then writes the folded stacks to
 * FILE and a flame graph to FILE.svg.
 *
 * The call runs under the seccomp filter, which forbids opening and writing
 * files; so a thread created before the filter (and so without it) waits
 * for the call to end and writes the files.  The sandbox is not in use
 * meanwhile: the main thread only waits for it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PROFILE_HZ 1000u

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int go, started;
    glint_sandbox *sb;
    const char *path;
    glint_status status;
    uint64_t samples;
    char svg[4096];
    char message[800];
} w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&w.lock);
    while (!w.go)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    w.status = glint_sandbox_profile_stop(w.sb, w.path, w.svg, &w.samples);
    if (w.status != GLINT_OK)
        snprintf(w.message, sizeof w.message, "%s", glint_sandbox_error(w.sb)->message);
    return NULL;
}

int cli_profile_start(const struct cli_opts *o, glint_sandbox *sb)
{
    if (!o->profile_path)
        return -1;
    if (snprintf(w.svg, sizeof w.svg, "%s.svg", o->profile_path) >= (int)sizeof w.svg) {
        cli_error("--profile: the file name is too long");
        return CLI_EXIT_USAGE;
    }
    w.sb = sb;
    w.path = o->profile_path;
    if (glint_sandbox_profile_start(sb, PROFILE_HZ) != GLINT_OK) {
        cli_error("--profile: %s", glint_sandbox_error(sb)->message);
        return CLI_EXIT_INTERNAL;
    }
    int rc = pthread_create(&w.thread, NULL, writer_main, NULL);
    if (rc != 0) {
        glint_sandbox_profile_stop(sb, NULL, NULL, NULL);
        cli_error("--profile: cannot start a thread: %s", strerror(rc));
        return CLI_EXIT_INTERNAL;
    }
    w.started = 1;
    return -1;
}

int cli_profile_finish(const struct cli_opts *o, glint_sandbox *sb)
{
    (void)sb;
    if (!o->profile_path || !w.started)
        return -1;
    pthread_mutex_lock(&w.lock);
    w.go = 1;
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
    pthread_join(w.thread, NULL);
    w.started = 0;
    if (w.status != GLINT_OK) {
        cli_error("--profile: %s", w.message);
        return w.status == GLINT_E_IO ? CLI_EXIT_INTERNAL : cli_exit_code(w.status);
    }
    fprintf(stderr, "glint: profile: %llu samples in %s and %s\n", (unsigned long long)w.samples,
            w.path, w.svg);
    return -1;
}
