/* thread.h - starting glint's own background threads (internal). */
#ifndef GLINT_THREAD_H
#define GLINT_THREAD_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

/*
 * Starts fn(arg) on a new thread with every signal blocked: glint's own
 * threads (watchdog, pool reaper, profiler, service, process keeper) must
 * never take a signal meant for the application, a vCPU or a sandbox's
 * interrupt.  stack: its size in bytes, 0 for the default; detached: no
 * pthread_join will follow.  0, or pthread_create's error number.
 */
static inline int glint_thread_start(pthread_t *t, size_t stack, int detached, void *(*fn)(void *),
                                     void *arg)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        return rc;
    if (stack)
        pthread_attr_setstacksize(&attr, stack);
    if (detached)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(t, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc;
}

#endif /* GLINT_THREAD_H */
