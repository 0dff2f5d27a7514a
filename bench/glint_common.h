/*
 * glint_common.h - what the glint groups of glint-bench share
 * (glint_metrics.c, glint_snap.c, density.c): the bench guest's host
 * function, sandboxes, timed calls, and the counting pass's results.
 */
#ifndef BENCH_GLINT_COMMON_H
#define BENCH_GLINT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "glint/glint.h"
#include "glint_count.h"

/* The counting pass's results (glint_count.c), or counted == 0 and why;
 * every count is -1 when not counted. */
struct bench_counts {
    int counted;
    struct glint_counts c;
    char why[400];
    char how[160]; /* when counted: how, for the notes */
};
extern struct bench_counts g_counts;

/* The backend the glint group runs on now: bench_glint runs every glint
 * metric once per backend this host can use, each sandbox created with
 * cfg.backend set to it and checked with glint_sandbox_backend. */
extern glint_backend g_be;
/* glint_config_default with backend = g_be. */
void bench_config(glint_config *cfg);
/* 0 when sb runs on g_be; -1 with why otherwise. */
int bench_check_backend(const glint_sandbox *sb, char *why, size_t len);

/* Touch(TOUCH_PAGES): the call before each timed restore. */
#define TOUCH_PAGES 2

/* HostPing() -> int32, returning 1: the host function the bench guest calls. */
extern const glint_function g_host_ping_sig;
glint_status bench_host_ping(glint_hostcall *hc, const glint_value *args, size_t nargs,
                             glint_value *ret, void *user);

/* A sandbox of `img` on g_be (cfg may be NULL: bench_config's; its
 * backend is set to g_be either way) with HostPing registered,
 * initialized; its vCPU fd in *vcpu (-1 if not found).  NULL with a
 * one-line reason on failure. */
glint_sandbox *bench_make_sandbox(const glint_image *img, const glint_config *cfg, int *vcpu,
                                  char *why, size_t len);

/* Checks a call's result against what the bench function must return
 * (args NULL: the function returns 1). */
typedef int (*check_fn)(const glint_value *res, const glint_value *args);
int check_i32(const glint_value *res, const glint_value *args);

struct call_spec {
    const char *metric, *fn;
    const glint_value *args;
    size_t nargs;
    check_fn check;
    size_t warm, n;
    long insns; /* from the counting pass, -1 if none */
};

/* Times spec->n calls (after spec->warm) on a warm sandbox and records the
 * metric with exits, insn_emulation (from `vcpu`'s stats, if >= 0) and
 * guest instructions; returns it, or NULL when skipped. */
struct result *bench_time_calls(glint_sandbox *sb, int vcpu, const struct call_spec *spec);

/* Sets r->guest_insns to `count` from the counting pass, or says why not. */
void bench_set_insns(struct result *r, long count);

/* One sandbox_cold sample from the guest file: create, init, Add(3, 4),
 * destroy, timed in v[0..3]; the sandbox's exits in *exits.  0, or -1 with
 * a one-line reason. */
int bench_cold_once(const char *guest, double v[4], uint64_t *exits, char *why, size_t len);

/* Snapshot, restore, call_with_restore, sandbox_from_snapshot and
 * pooled_sandbox (glint_snap.c); `guest` is the bench guest's path. */
void bench_snapshots(const glint_image *img, const char *guest);

/* density (from one snapshot, in worker processes) and density_elf
 * (density.c); `guest` is the bench guest's path. */
void bench_density(const glint_image *img, const char *guest);

/* The density worker's main: glint-bench --density-worker GUEST BACKEND. */
int density_worker_main(const char *guest, const char *backend);

#endif
