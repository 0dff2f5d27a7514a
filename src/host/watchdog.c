/*
 * watchdog.c - time limits and interrupts.
 *
 * A running guest is stopped by setting kvm_run.immediate_exit and sending
 * the interrupt signal to the thread in KVM_RUN, which makes KVM_RUN return
 * EINTR.  Both happen under the sandbox's run_lock and only while a run is
 * in progress, so a signal never targets a thread that left glint.  Each run
 * has a sequence number; an interrupt names the run it stops, so one that
 * arrives late (a pending signal, a stale immediate_exit) finds a different
 * run and is ignored: the run loop just enters KVM_RUN again.
 *
 * A run gets at most one signal, however often it is interrupted: the first
 * interrupt records the reason, sets immediate_exit and signals; later ones
 * find the run already stopping and do nothing.  immediate_exit stays set
 * until the run ends, so a signal that lands while the thread is outside
 * KVM_RUN (in a host function, say) is not lost: the next KVM_RUN returns at
 * once.  One signal is also a workaround: on PVM hosts a second signal that
 * reaches the thread while KVM_RUN handles the first can leave the vCPU in
 * the guest for good (no exit on signals, memory-slot removal or mprotect);
 * a storm of interrupts from other threads hit that within a few hundred
 * calls.
 *
 * Time limits: one process-wide watchdog thread scans the sandboxes that
 * have a limit.  While calls run it wakes at most every WD_TICK_NS; after
 * WD_IDLE_NS with no call running it sleeps until a call starts.  Starting
 * a call costs no system call unless the watchdog is asleep.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "sandbox.h"
#include "thread.h"

#define WD_TICK_NS 2000000ull     /* 2 ms: resolution of time limits */
#define WD_IDLE_NS 1000000000ull  /* 1 s without calls: sleep */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;
static glint_sandbox *g_list;
static int g_thread_started;
static atomic_int g_sleeping;

static pthread_once_t g_signal_once = PTHREAD_ONCE_INIT;
static int g_signal_ok;

uint64_t glint_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

API int glint_interrupt_signal(void)
{
    return SIGRTMIN + 5;
}

static void on_signal(int sig)
{
    (void)sig; /* its only job is to make KVM_RUN return EINTR */
}

/* g_cond waits on CLOCK_MONOTONIC, like every deadline here. */
static void init_cond(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cond, &ca);
    pthread_condattr_destroy(&ca);
}

/* A forked child has no watchdog thread, and g_lock may have been held by
 * the parent's: start afresh (the parent's sandboxes are unusable there). */
static void after_fork_in_child(void)
{
    pthread_mutex_init(&g_lock, NULL);
    init_cond();
    g_list = NULL;
    g_thread_started = 0;
    atomic_store(&g_sleeping, 0);
}

static void install_signal(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: KVM_RUN must return */
    g_signal_ok = sigaction(glint_interrupt_signal(), &sa, NULL) == 0;
    init_cond();
    (void)pthread_atfork(NULL, NULL, after_fork_in_child);
}

/* Stops run `only_seq` of sb (0: the current run, if any).  The first
 * interrupt of a run records its reason and sends the run's only signal. */
static void interrupt_run(glint_sandbox *sb, glint_status reason, uint64_t only_seq)
{
    pthread_mutex_lock(&sb->run_lock);
    uint64_t seq = atomic_load(&sb->seq);
    if (sb->running && (only_seq == 0 || only_seq == seq) &&
        atomic_load(&sb->cancel_seq) != seq) {
        atomic_store(&sb->cancel_reason, (int)reason);
        atomic_store(&sb->cancel_seq, seq);
        sb->be->interrupt(sb->hv, sb->thread);
    }
    pthread_mutex_unlock(&sb->run_lock);
}

API void glint_sandbox_interrupt(glint_sandbox *sb)
{
    if (sb)
        interrupt_run(sb, GLINT_E_CANCELLED, 0);
}

static uint64_t scan(uint64_t now, int *any_running)
{
    uint64_t next = UINT64_MAX;
    *any_running = 0;
    for (glint_sandbox *sb = g_list; sb; sb = sb->wd_next) {
        uint64_t deadline = atomic_load(&sb->deadline_ns);
        if (!deadline)
            continue;
        *any_running = 1;
        if (now >= deadline) {
            /* The run may have ended and the next begun since the load:
             * clear only this deadline and stop only its run. */
            uint64_t seq = atomic_load(&sb->deadline_seq);
            if (atomic_compare_exchange_strong(&sb->deadline_ns, &deadline, 0))
                interrupt_run(sb, GLINT_E_TIMEOUT, seq);
        } else if (deadline < next) {
            next = deadline;
        }
    }
    return next;
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    uint64_t idle_since = 0;
    pthread_mutex_lock(&g_lock);
    for (;;) {
        uint64_t now = glint_now_ns();
        int running;
        uint64_t next = scan(now, &running);
        if (!running) {
            if (!idle_since)
                idle_since = now;
            if (!g_list || now - idle_since >= WD_IDLE_NS) {
                atomic_store(&g_sleeping, 1);
                scan(now, &running); /* a call may have started meanwhile */
                if (!running) {
                    pthread_cond_wait(&g_cond, &g_lock);
                    atomic_store(&g_sleeping, 0);
                    idle_since = 0;
                    continue;
                }
                atomic_store(&g_sleeping, 0);
            }
        } else {
            idle_since = 0;
        }
        uint64_t wake = now + WD_TICK_NS;
        if (next < wake)
            wake = next;
        struct timespec ts = {(time_t)(wake / 1000000000ull), (long)(wake % 1000000000ull)};
        pthread_cond_timedwait(&g_cond, &g_lock, &ts);
    }
    return NULL;
}

glint_status glint_watchdog_add(glint_sandbox *sb, glint_error *err)
{
    pthread_once(&g_signal_once, install_signal);
    if (!g_signal_ok)
        return glint_fail(err, GLINT_E_INVALID, "cannot install the interrupt signal handler");
    pthread_mutex_lock(&g_lock);
    if (!g_thread_started) {
        /* The watchdog must never take the interrupt signal itself. */
        pthread_t t;
        int rc = glint_thread_start(&t, 64 * 1024, 1, watchdog_main, NULL);
        if (rc != 0) {
            pthread_mutex_unlock(&g_lock);
            return glint_fail(err, GLINT_E_NOMEM, "cannot start the watchdog thread: %s",
                              strerror(rc));
        }
        g_thread_started = 1;
    }
    sb->wd_prev = NULL;
    sb->wd_next = g_list;
    if (g_list)
        g_list->wd_prev = sb;
    g_list = sb;
    pthread_mutex_unlock(&g_lock);
    return GLINT_OK;
}

void glint_watchdog_remove(glint_sandbox *sb)
{
    pthread_mutex_lock(&g_lock);
    if (sb->wd_prev)
        sb->wd_prev->wd_next = sb->wd_next;
    else if (g_list == sb)
        g_list = sb->wd_next;
    if (sb->wd_next)
        sb->wd_next->wd_prev = sb->wd_prev;
    sb->wd_next = sb->wd_prev = NULL;
    pthread_mutex_unlock(&g_lock);
}

void glint_run_begin(glint_sandbox *sb)
{
    pthread_mutex_lock(&sb->run_lock);
    sb->thread = pthread_self();
    atomic_fetch_add(&sb->seq, 1);
    sb->running = 1;
    pthread_mutex_unlock(&sb->run_lock);
    if (sb->cfg.timeout_ms) {
        atomic_store(&sb->deadline_seq, atomic_load(&sb->seq));
        atomic_store(&sb->deadline_ns, glint_now_ns() + (uint64_t)sb->cfg.timeout_ms * 1000000ull);
        if (atomic_load(&g_sleeping)) {
            pthread_mutex_lock(&g_lock);
            pthread_cond_signal(&g_cond);
            pthread_mutex_unlock(&g_lock);
        }
    }
}

void glint_run_end(glint_sandbox *sb)
{
    atomic_store(&sb->deadline_ns, 0);
    pthread_mutex_lock(&sb->run_lock);
    sb->running = 0;
    sb->kick_pending = 0; /* a profiler kick still on its way hits no later call */
    sb->be->set_immediate_exit(sb->hv, 0);
    pthread_mutex_unlock(&sb->run_lock);
}

glint_status glint_run_cancelled(glint_sandbox *sb)
{
    if (atomic_load(&sb->cancel_seq) == atomic_load(&sb->seq))
        return (glint_status)atomic_load(&sb->cancel_reason);
    return GLINT_OK;
}
