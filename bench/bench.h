/*
 * bench.h - shared pieces of glint-bench: options, timing, samples and the
 * result table.
 *
 * Every figure is a set of samples in nanoseconds, taken after warm-up; the
 * table and the JSON give p50/p90/p99 (nearest rank) in microseconds and n.
 * A metric that cannot run here is recorded as skipped with its reason:
 * nothing is ever left out silently.  Timings are reported, never asserted.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifndef GLINT_BUILD_DIR
#define GLINT_BUILD_DIR "build"
#endif
#ifndef GLINT_SOURCE_DIR
#define GLINT_SOURCE_DIR "."
#endif

struct bench_opts {
    int quick;         /* few iterations: a smoke run */
    const char *json;  /* where to write the JSON, or NULL */
    const char *markdown; /* where to write a Markdown table, or NULL */
    const char *only;  /* run only groups whose name contains this, or NULL */
    const char *build_dir;
    const char *source_dir;
};
extern struct bench_opts g_opts;

/* Iterations: `full` normally, `quick` with --quick. */
static inline size_t iters(size_t full, size_t quick) { return g_opts.quick ? quick : full; }

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A growable array of samples in nanoseconds. */
struct samples {
    double *v;
    size_t n, cap;
};
void samples_add(struct samples *s, double ns);
void samples_free(struct samples *s);
/* Nearest-rank percentile q (0..1) of the samples (sorts them); 0 if none. */
double samples_pct(struct samples *s, double q);

#define RESULT_EXTRA_MAX 16
struct result {
    char name[48];
    char group[16];         /* "" for floors and peers; the glint backend ("kvm", "process") */
    int skipped;
    double p50_us, p90_us, p99_us;
    size_t n;
    double guest_insns;     /* per sample; < 0 when not applicable */
    double exits;           /* per sample; < 0 when not applicable */
    double insn_emulation;  /* per sample, from the vCPU stats fd; < 0 when unknown */
    char note[1024];        /* skip reason, or how the figure was measured */
    size_t nextra;
    struct { char key[32]; double val; } extra[RESULT_EXTRA_MAX];
};

/* Records a metric from its samples (which it frees).  The returned result
 * stays valid until the program ends; set the optional fields on it. */
struct result *result_add(const char *name, struct samples *s);
/* Records a skipped metric with a printf-style reason. */
struct result *result_skip(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void result_note(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void result_extra(struct result *r, const char *key, double val);
/* The result `name` of the current group, else of the ungrouped ones
 * (floors, peers); NULL if none. */
struct result *result_find(const char *name);
/* The same in group `group` (then ungrouped). */
struct result *result_find_in(const char *group, const char *name);

/* Groups: the glint metrics run once per backend, each in its own group
 * (the backend's name).  New results join the current group ("" or NULL:
 * ungrouped).  A group that cannot run is recorded as skipped with the
 * reason; its counting method goes into the JSON with the group. */
void results_set_group(const char *group);
void results_skip_group(const char *group, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void results_group_counting(const char *group, const char *how);

void results_print_table(void);
void results_print_ratios(void);
int results_write_json(const char *path);
int results_write_markdown(const char *path);

/* Machine description for the table header and the JSON. */
void machine_describe(void);
void machine_print(void);
/* The machine object of the JSON. */
void machine_json(FILE *f);
/* How guest instructions can be counted here (floors.c fills it in). */
void machine_set_counting(const char *how);
/* The kvm module in use ("kvm_pvm", "kvm_intel", "kvm_amd" or "none"). */
const char *machine_kvm_module(void);

/* Helpers (util.c). */
/* Runs argv (found in PATH) to completion with stdout/stderr to `log`
 * (NULL: /dev/null); returns its exit status, -1 (errno set) if it could
 * not be started, -2 if it did not exit normally. */
int run_command(char *const argv[], const char *log);
/* Absolute path of an executable in PATH, or NULL (static buffer). */
const char *which(const char *prog);
int file_exists(const char *path);
/* mkdir -p of one or two levels. */
int make_dir(const char *path);
/* MemAvailable from /proc/meminfo in bytes, or 0. */
uint64_t mem_available(void);
/* The same once it stops moving (memory freed earlier, e.g. by destroyed
 * VMs, comes back lazily): waits until two reads 30 ms apart differ by
 * less than 256 KiB, at most ~3 s. */
uint64_t mem_available_settled(void);
/* Waits (100 ms steps, at most 10 s) until the CPUs were less than 10%
 * busy for 100 ms: what an earlier part left running (the kernel tearing
 * down 10,000 VMs or processes) must not be measured with the next.
 * Returns the last step's busy fraction (-1: /proc/stat unreadable) and
 * the time waited. */
double host_settle(double *waited_s);
/* Raises RLIMIT_NOFILE to its hard limit. */
void raise_fd_limit(void);

/* Artifacts built at start-up into GLINT_BUILD_DIR/bench (artifacts.c):
 * the path, or NULL with a one-line reason in why. */
const char *artifact_add_static(char *why, size_t len);
const char *artifact_qemu_guest(char *why, size_t len);
const char *artifact_glint_guest(char *why, size_t len);

/* How guest instructions of `ring` (0 or 3) can be counted on this host:
 * returns 1 and names the method in buf, 0 and says why not, or -1 when
 * the floors did not run (floors.c). */
int floors_insn_counting(int ring, char *buf, size_t len);

/* The groups of measurements. */
void bench_floors(void);
void bench_peers(void);
void bench_glint(void);

#endif
