/*
 * procwatch.c - a process-backend sandbox's jailed process seen from the
 * outside (see procwatch.h).
 */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "glint_common.h"
#include "procwatch.h"
#include "sandbox.h" /* glint_debug_guest_pid, a test hook: only to find the process */

pid_t sandbox_pid(glint_sandbox *sb)
{
    int pid = sb ? glint_debug_guest_pid(sb) : -1;
    return pid > 0 ? (pid_t)pid : -1;
}

int perf_insns_open(pid_t pid, char *why, size_t len)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    int fd = (int)syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, len, "perf_event_open(PERF_COUNT_HW_INSTRUCTIONS) on the sandbox process: "
                 "%s%s", strerror(e),
                 e == ENOENT || e == EOPNOTSUPP ? " (no hardware instruction counter here)"
                 : e == EACCES || e == EPERM    ? " (see /proc/sys/kernel/perf_event_paranoid)"
                                                : "");
        return -1;
    }
    return fd;
}

int64_t perf_insns_read(int fd)
{
    uint64_t v[3];
    if (fd < 0 || read(fd, v, sizeof v) != (ssize_t)sizeof v)
        return -1;
    if (v[1] != v[2]) /* multiplexed: part of the time not counted */
        return -1;
    return (int64_t)v[0];
}

int proc_schedstat(pid_t pid, struct sched_stat *st)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long run, wait, slices;
    int ok = fscanf(f, "%llu %llu %llu", &run, &wait, &slices) == 3;
    fclose(f);
    if (!ok)
        return -1;
    st->runtime_ns = run;
    st->slices = slices;
    return 0;
}

static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    return p && p[1] == ' ' ? p[2] : 0;
}

int proc_wait_sleeping(pid_t pid, unsigned ms)
{
    uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
    do {
        char s = proc_state(pid);
        if (s == 'S')
            return 0;
        if (s == 0 || s == 'Z' || s == 'X')
            return -1;
        usleep(50);
    } while (now_ns() < end);
    return -1;
}

void proc_watch_init(struct proc_watch *w, pid_t pid)
{
    memset(w, 0, sizeof *w);
    w->pid = pid;
    w->perf = pid > 0 ? perf_insns_open(pid, w->perf_why, sizeof w->perf_why) : -1;
    w->insns = w->perf >= 0 ? 0 : -1;
    if (pid <= 0)
        snprintf(w->why, sizeof w->why, "cannot find the sandbox's process");
}

int proc_watch_begin(struct proc_watch *w)
{
    if (w->why[0])
        return -1;
    if (proc_wait_sleeping(w->pid, 100) < 0) {
        snprintf(w->why, sizeof w->why, "the sandbox process %d did not go to sleep within "
                 "100 ms", (int)w->pid);
        return -1;
    }
    if (proc_schedstat(w->pid, &w->s0) < 0) {
        snprintf(w->why, sizeof w->why, "/proc/%d/schedstat unreadable", (int)w->pid);
        return -1;
    }
    w->i0 = w->perf >= 0 ? perf_insns_read(w->perf) : -1;
    return 0;
}

int proc_watch_end(struct proc_watch *w)
{
    if (w->why[0])
        return -1;
    struct sched_stat s1;
    int64_t i1 = w->perf >= 0 ? perf_insns_read(w->perf) : -1;
    if (proc_schedstat(w->pid, &s1) < 0) {
        snprintf(w->why, sizeof w->why, "the sandbox process %d went away (a respawn?)",
                 (int)w->pid);
        return -1;
    }
    w->ran_ns += s1.runtime_ns - w->s0.runtime_ns;
    w->slices += s1.slices - w->s0.slices;
    if (w->insns >= 0 && i1 >= 0 && w->i0 >= 0)
        w->insns += i1 - w->i0;
    else if (w->insns >= 0) {
        w->insns = -1;
        snprintf(w->perf_why, sizeof w->perf_why, "the perf counter did not count all the time");
    }
    w->n++;
    return 0;
}

void proc_watch_close(struct proc_watch *w)
{
    if (w->perf >= 0)
        close(w->perf);
    w->perf = -1;
}

double proc_watch_insns(const struct proc_watch *w, const char *what, char *note, size_t len)
{
    if (w->why[0] || w->n == 0) {
        snprintf(note, len, "guest insns of %s not measured: %s", what,
                 w->why[0] ? w->why : "nothing watched");
        return -1;
    }
    if (w->insns >= 0) {
        snprintf(note, len, "guest insns of %s: user-mode instructions of the sandbox process "
                 "(guest and stub) by perf, %zu watched; it ran %.1f us in %llu time slices",
                 what, w->n, (double)w->ran_ns / 1000.0, (unsigned long long)w->slices);
        return (double)w->insns / (double)w->n;
    }
    if (w->slices == 0 && w->ran_ns == 0) {
        snprintf(note, len, "guest insns of %s: 0, measured: the sandbox process (asleep "
                 "before each) was not scheduled during any of %zu (its /proc/PID/schedstat "
                 "did not move), so it ran no instruction", what, w->n);
        return 0;
    }
    snprintf(note, len, "guest insns of %s not measured: the sandbox process ran %.1f us in "
             "%llu time slices during %zu of them (stub or guest code), and %s", what,
             (double)w->ran_ns / 1000.0, (unsigned long long)w->slices, w->n, w->perf_why);
    return -1;
}

/* ------------------------------------------------------------------------- */
/* The counting pass. */

static long count_call(glint_sandbox *sb, int fd, const char *fn, const glint_value *args,
                       size_t nargs, char *why, size_t len)
{
    long c = -1;
    for (int i = 0; i < 3; i++) {
        glint_value res;
        int64_t a = perf_insns_read(fd);
        glint_status st = glint_sandbox_call(sb, fn, args, nargs, &res);
        int64_t b = perf_insns_read(fd);
        if (st != GLINT_OK) {
            snprintf(why, len, "%s while counting: %s: %.300s", fn, glint_status_name(st),
                     glint_sandbox_error(sb)->message);
            return -1;
        }
        if (a < 0 || b < 0) {
            snprintf(why, len, "the perf counter did not count all the time");
            return -1;
        }
        c = (long)(b - a);
    }
    return c;
}

int proc_count_insns(const glint_image *img, struct glint_counts *out, char *why, size_t len)
{
    glint_config cfg;
    bench_config(&cfg);
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status st = glint_sandbox_create(img, &cfg, &sb, &err);
    if (st != GLINT_OK) {
        snprintf(why, len, "glint_sandbox_create: %.300s", err.message);
        return -1;
    }
    int rc = -1, fd = -1;
    if (bench_check_backend(sb, why, len) < 0)
        goto out;
    pid_t pid = sandbox_pid(sb);
    if (pid <= 0) {
        snprintf(why, len, "cannot find the sandbox's process");
        goto out;
    }
    if ((fd = perf_insns_open(pid, why, len)) < 0)
        goto out;
    int64_t i0 = perf_insns_read(fd);
    if (glint_sandbox_register(sb, &g_host_ping_sig, bench_host_ping, NULL) != GLINT_OK ||
        glint_sandbox_init(sb) != GLINT_OK) {
        snprintf(why, len, "init while counting: %.300s", glint_sandbox_error(sb)->message);
        goto out;
    }
    int64_t i1 = perf_insns_read(fd);
    if (i0 < 0 || i1 < 0 || i1 == 0) {
        snprintf(why, len, "the perf counter %s", i1 == 0 ? "counted nothing" :
                 "did not count all the time");
        goto out;
    }
    out->init = (long)(i1 - i0);
    static const char s64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    glint_value i32 = glint_i32(42), str = glint_str(s64, 64), touch = glint_i32(TOUCH_PAGES);
    glint_value add[2] = {glint_i32(3), glint_i32(4)};
    out->echo = count_call(sb, fd, "Echo", &i32, 1, why, len);
    out->call_host = out->echo < 0 ? -1 : count_call(sb, fd, "CallHost", NULL, 0, why, len);
    out->echo_string = out->call_host < 0 ? -1 : count_call(sb, fd, "EchoString", &str, 1, why, len);
    out->add = out->echo_string < 0 ? -1 : count_call(sb, fd, "Add", add, 2, why, len);
    out->touch = out->add < 0 ? -1 : count_call(sb, fd, "Touch", &touch, 1, why, len);
    rc = out->touch < 0 ? -1 : 0;
out:
    if (fd >= 0)
        close(fd);
    glint_sandbox_destroy(sb);
    return rc;
}
