/*
 * soak.c - long-running stability check, driven by scripts/soak.sh.
 *
 *   soak GUEST_ELF CALLS CYCLES
 *
 * GUEST_ELF is the basic test guest.  Phase 1 makes CALLS guest calls on
 * one sandbox (Add, Echo, with a restore to the snapshot every 1,000 calls);
 * phase 2 makes CYCLES create_from_snapshot + init + call + destroy cycles.
 * Every result is checked.  Open file descriptors and resident memory are
 * measured after a warm-up and at the end of each phase and printed; the
 * exit status is 1 if any call fails or either grows beyond the tolerance
 * (0 descriptors, RSS_SLACK_KIB of resident memory), 2 on bad usage, 77 if
 * this host cannot run micro-VMs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glint/glint.h"

#define RSS_SLACK_KIB 4096L
#define WARMUP 1000L

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* Live child processes of this process (the process backend's sandbox
 * processes among them), from /proc/self/task/ * /children. */
static int count_children(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        FILE *f = fopen(path, "r");
        int pid;
        while (f && fscanf(f, "%d", &pid) == 1)
            n++;
        if (f)
            fclose(f);
    }
    closedir(d);
    return n;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One Add and one Echo on sb; 0 if both give the right result. */
static int check_calls(glint_sandbox *sb, long i)
{
    glint_value a[2] = {glint_i32((int32_t)(i & 0xffff)), glint_i32(7)}, r;
    if (glint_sandbox_call(sb, "Add", a, 2, &r) != GLINT_OK || r.v.i32 != (int32_t)(i & 0xffff) + 7) {
        fprintf(stderr, "soak: call %ld: Add failed: %s\n", i, glint_sandbox_error(sb)->message);
        return -1;
    }
    char text[32];
    int n = snprintf(text, sizeof text, "soak-%ld", i);
    glint_value s = glint_str(text, (size_t)n);
    if (glint_sandbox_call(sb, "Echo", &s, 1, &r) != GLINT_OK || r.v.str.len != (size_t)n ||
        memcmp(r.v.str.ptr, text, (size_t)n) != 0) {
        fprintf(stderr, "soak: call %ld: Echo failed: %s\n", i, glint_sandbox_error(sb)->message);
        return -1;
    }
    return 0;
}

struct mark {
    int fds;
    long rss;
    int children;
};

static struct mark mark_now(void)
{
    struct mark m = {count_fds(), rss_kib(), count_children()};
    return m;
}

/* Prints a phase's numbers; 0 if descriptors and memory stayed flat. */
static int report(const char *phase, long n, double secs, struct mark m0, struct mark m1)
{
    long grew = m1.rss - m0.rss;
    printf("soak: %s: %ld in %.1f s (%.2f us each); fds %d -> %d; child processes %d -> %d; "
           "VmRSS %ld -> %ld KiB (%+ld)\n",
           phase, n, secs, secs * 1e6 / (double)(n ? n : 1), m0.fds, m1.fds, m0.children,
           m1.children, m0.rss, m1.rss, grew);
    int bad = 0;
    if (m1.children != m0.children) {
        fprintf(stderr, "soak: %s: child processes went from %d to %d\n", phase, m0.children,
                m1.children);
        bad = 1;
    }
    if (m1.fds != m0.fds) {
        fprintf(stderr, "soak: %s: file descriptors grew from %d to %d\n", phase, m0.fds, m1.fds);
        bad = 1;
    }
    if (grew > RSS_SLACK_KIB) {
        fprintf(stderr, "soak: %s: resident memory grew by %ld KiB (tolerance %ld KiB)\n", phase,
                grew, RSS_SLACK_KIB);
        bad = 1;
    }
    return bad;
}

static int phase_calls(glint_sandbox *sb, const glint_snapshot *snap, long calls)
{
    struct mark m0 = {0, 0, 0};
    double t0 = 0;
    for (long i = 0; i < calls + WARMUP; i++) {
        if (i == WARMUP) {
            m0 = mark_now();
            t0 = now_s();
        }
        if (check_calls(sb, i) != 0)
            return 1;
        if (i % 1000 == 999 && glint_sandbox_restore(sb, snap) != GLINT_OK) {
            fprintf(stderr, "soak: restore: %s\n", glint_sandbox_error(sb)->message);
            return 1;
        }
    }
    return report("calls (2 per step)", calls, now_s() - t0, m0, mark_now());
}

static int one_cycle(const glint_snapshot *snap, long i)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    if (glint_sandbox_create_from_snapshot(snap, &sb, &err) != GLINT_OK) {
        fprintf(stderr, "soak: cycle %ld: create: %s\n", i, err.message);
        return -1;
    }
    int rc = 0;
    if (glint_sandbox_init(sb) != GLINT_OK) {
        fprintf(stderr, "soak: cycle %ld: init: %s\n", i, glint_sandbox_error(sb)->message);
        rc = -1;
    } else {
        rc = check_calls(sb, i);
    }
    glint_sandbox_destroy(sb);
    return rc;
}

static int phase_cycles(const glint_snapshot *snap, long cycles)
{
    struct mark m0 = {0, 0, 0};
    double t0 = 0;
    for (long i = 0; i < cycles + WARMUP; i++) {
        if (i == WARMUP) {
            m0 = mark_now();
            t0 = now_s();
        }
        if (one_cycle(snap, i) != 0)
            return 1;
    }
    return report("create/destroy cycles", cycles, now_s() - t0, m0, mark_now());
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: soak GUEST_ELF CALLS CYCLES\n");
        return 2;
    }
    long calls = atol(argv[2]), cycles = atol(argv[3]);
    glint_error err;
    if (glint_probe(&err) != GLINT_OK) {
        fprintf(stderr, "soak: skipped, this host cannot run micro-VMs: %s\n", err.message);
        return 77;
    }
    glint_sandbox *sb = NULL;
    if (glint_sandbox_create_file(argv[1], NULL, &sb, &err) != GLINT_OK) {
        fprintf(stderr, "soak: %s\n", err.message);
        return 1;
    }
    glint_snapshot *snap = NULL;
    if (glint_sandbox_init(sb) != GLINT_OK || glint_sandbox_snapshot(sb, &snap) != GLINT_OK) {
        fprintf(stderr, "soak: %s\n", glint_sandbox_error(sb)->message);
        return 1;
    }
    int bad = phase_calls(sb, snap, calls);
    glint_sandbox_destroy(sb);
    if (!bad)
        bad = phase_cycles(snap, cycles);
    glint_snapshot_free(snap);
    printf("soak: %s\n", bad ? "FAILED" : "ok");
    return bad;
}
