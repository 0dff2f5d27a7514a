/*
 * guard.c - SIGINT and SIGTERM stop the guest, from a thread.
 *
 * glint_sandbox_interrupt must not be called from a signal handler, so the
 * signals are blocked and a helper thread takes them with sigwait.  Once a
 * signal arrived, the helper interrupts the current sandbox every 20 ms
 * until cli_guard_stop: an interrupt is a no-op while no call runs, so
 * repeating it also stops a call (or init) that starts just after the
 * signal.  The lock keeps the sandbox alive while the helper uses it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "cli.h"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    sigset_t set;
    glint_sandbox *sb; /* under lock */
    int signo;         /* under lock: the first signal taken, or 0 */
    bool stopped;      /* under lock */
} guard = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void *guard_main(void *unused)
{
    (void)unused;
    int sig = 0;
    while (sigwait(&guard.set, &sig) != 0)
        ;
    pthread_mutex_lock(&guard.lock);
    if (!guard.stopped)
        guard.signo = sig;
    while (!guard.stopped) {
        if (guard.sb)
            glint_sandbox_interrupt(guard.sb);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 20 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&guard.wake, &guard.lock, &until);
    }
    pthread_mutex_unlock(&guard.lock);
    /* Stopped: swallow further signals until the process exits. */
    for (;;)
        sigwait(&guard.set, &sig);
    return NULL;
}

int cli_guard_start(void)
{
    sigemptyset(&guard.set);
    sigaddset(&guard.set, SIGINT);
    sigaddset(&guard.set, SIGTERM);
    int e = pthread_sigmask(SIG_BLOCK, &guard.set, NULL);
    if (e == 0) {
        pthread_t t;
        e = pthread_create(&t, NULL, guard_main, NULL);
        if (e == 0)
            pthread_detach(t);
    }
    if (e != 0) {
        errno = e;
        return -1;
    }
    return 0;
}

void cli_guard_set(glint_sandbox *sb)
{
    pthread_mutex_lock(&guard.lock);
    guard.sb = sb;
    pthread_mutex_unlock(&guard.lock);
}

int cli_guard_signal(void)
{
    pthread_mutex_lock(&guard.lock);
    int sig = guard.signo;
    pthread_mutex_unlock(&guard.lock);
    return sig;
}

void cli_guard_stop(void)
{
    pthread_mutex_lock(&guard.lock);
    guard.stopped = true;
    guard.sb = NULL;
    pthread_cond_broadcast(&guard.wake);
    pthread_mutex_unlock(&guard.lock);
}
