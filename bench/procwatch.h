/*
 * procwatch.h - what the bench can learn about a process-backend sandbox's
 * jailed process from the outside.  libglint does not make the child's pid
 * public: the bench finds it through the sandbox's pidfd (the pidfds this
 * process holds, read from /proc/self/fdinfo, before and after creating
 * the sandbox).  With it:
 *   - perf_event_open counts the process's user-mode instructions (the
 *     guest's and the stub handler's) where the host has a PMU;
 *   - /proc/PID/schedstat says whether it ran at all (CPU time and the
 *     number of times it was scheduled): a process that was not scheduled
 *     during an operation ran no instruction in it.
 */
#ifndef BENCH_PROCWATCH_H
#define BENCH_PROCWATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "glint/glint.h"
#include "glint_count.h"

/* The process holding a process-backend sandbox's guest, or -1.  (Found
 * through libglint's test hook: spare processes are forked before the
 * sandbox that takes one, so no descriptor appears with it.) */
pid_t sandbox_pid(glint_sandbox *sb);

/* A counter of `pid`'s user-mode instructions: the fd, or -1 with why. */
int perf_insns_open(pid_t pid, char *why, size_t len);
/* Its count so far, or -1 (also when it never ran: multiplexed out). */
int64_t perf_insns_read(int fd);

struct sched_stat {
    uint64_t runtime_ns; /* CPU time (sum_exec_runtime) */
    uint64_t slices;     /* times it was scheduled in */
};
/* /proc/PID/schedstat: 0, or -1 when unreadable (the process is gone). */
int proc_schedstat(pid_t pid, struct sched_stat *st);
/* Waits up to `ms` for `pid` to sleep (state S in /proc/PID/stat; the stub
 * sleeps only in FUTEX_WAIT): 0, or -1. */
int proc_wait_sleeping(pid_t pid, unsigned ms);

/*
 * Did a sandbox's process run during operations?  begin (before each)
 * waits for it to sleep and reads its schedstat and counter; end (after)
 * adds what moved.  An unreadable step leaves a reason in why.
 */
struct proc_watch {
    pid_t pid;
    int perf;          /* perf counter fd, or -1 */
    char perf_why[300];
    size_t n;          /* operations watched */
    uint64_t ran_ns, slices;
    int64_t insns;     /* user-mode instructions, -1 when not counted */
    struct sched_stat s0;
    int64_t i0;
    char why[300];     /* the watch failed: why (then nothing is known) */
};
/* Starts watching `pid` (opens the perf counter if it can). */
void proc_watch_init(struct proc_watch *w, pid_t pid);
int proc_watch_begin(struct proc_watch *w);
int proc_watch_end(struct proc_watch *w);
void proc_watch_close(struct proc_watch *w);
/* The watched operations' guest instructions per operation, or -1, with
 * a note saying how they were measured or why not. */
double proc_watch_insns(const struct proc_watch *w, const char *what, char *note, size_t len);

/* The counting pass on the process backend: user-mode instructions of a
 * throw-away sandbox's process, counted by perf (guest and stub handler).
 * 0, or -1 with why. */
int proc_count_insns(const glint_image *img, struct glint_counts *out, char *why, size_t len);

#endif
