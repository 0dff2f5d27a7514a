/*
 * helpers.h - shared helpers for glint's Criterion tests.
 *
 * Everything here is `static inline` (or a macro) because every
 * tests/test_*.c is linked into one binary.  Helpers that assert must run
 * on the test's own thread: Criterion's asserts are not for worker threads.
 */
#ifndef GLINT_TEST_HELPERS_H
#define GLINT_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "glint/glint.h"

/* Paths of the guests the Makefile builds before the tests. */
#define TEST_GUEST(name) GLINT_BUILD_DIR "/guests/" name ".elf"
#define HELLO_GUEST      GLINT_BUILD_DIR "/examples/hello/hello-guest.elf"
#define TYPES_GUEST      GLINT_BUILD_DIR "/examples/types/types-guest.elf"

/* Criterion kills a VM test that runs longer than this (seconds). */
#define VM_TEST_TIMEOUT 60

/* A VM test still running after this many seconds aborts its worker
 * process (see th_deadline), whatever its Criterion .timeout says. */
#define VM_TEST_DEADLINE 900 /* above every Criterion .timeout in the suite */

static inline void *th_deadline_main(void *arg)
{
    unsigned seconds = (unsigned)(uintptr_t)arg;
    struct timespec ts = {(time_t)seconds, 0};
    while (nanosleep(&ts, &ts) != 0)
        ;
    static const char msg[] = "glint-tests: a test is still running after its deadline: "
                              "aborting its worker (a hang, see the test named below)\n";
    (void)!write(2, msg, sizeof msg - 1);
    abort();
}

/* Aborts the test's worker process if the test has not ended after
 * `seconds`: a hung test then fails by name instead of hanging the run.
 * (Criterion's own .timeout did not stop a worker whose thread was stuck in
 * KVM_RUN; abort() ends every thread of the process.) */
static inline void th_deadline(unsigned seconds)
{
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, th_deadline_main, (void *)(uintptr_t)seconds) != 0)
        cr_log_warn("could not start the deadline thread");
    pthread_attr_destroy(&a);
}

/* First statement of every test that needs /dev/kvm. */
#define SKIP_IF_NO_KVM()                                                              \
    do {                                                                              \
        glint_error skip_err_;                                                        \
        if (glint_probe(&skip_err_) != GLINT_OK)                                      \
            cr_skip_test("sandbox test skipped, no usable backend: %s",       \
                         skip_err_.message);                                          \
        th_deadline(VM_TEST_DEADLINE);                                                \
    } while (0)

/* The backend this run's sandboxes use (GLINT_BACKEND, else auto). */
static inline glint_backend th_backend(void)
{
    glint_backend b = GLINT_BACKEND_AUTO;
    glint_error e;
    if (glint_backend_select(GLINT_BACKEND_AUTO, &b, &e) != GLINT_OK)
        return GLINT_BACKEND_AUTO;
    return b;
}

/* For tests of what only a micro-VM has (ring 0, triple faults, page
 * tables the guest walks, copy-on-write in the host): a visible skip on
 * the process backend, saying why. */
#define SKIP_UNLESS_KVM(why)                                                          \
    do {                                                                              \
        if (th_backend() != GLINT_BACKEND_KVM)                                        \
            cr_skip_test("KVM-only test skipped on the %s backend: %s",               \
                         glint_backend_name(th_backend()), why);                      \
    } while (0)

/* Asserts that `expr` (a glint_status) is `want`, showing the sandbox's
 * message (sb may be NULL) when it is not. */
#define EXPECT_STATUS(sb, expr, want)                                                 \
    do {                                                                              \
        glint_status got_ = (expr);                                                   \
        glint_status want_ = (want);                                                  \
        cr_assert_eq(got_, want_, "%s\n  got %s, want %s: %s", #expr,               \
                     glint_status_name(got_), glint_status_name(want_),               \
                     (sb) ? glint_sandbox_error(sb)->message : "");                   \
    } while (0)

#define EXPECT_OK(sb, expr) EXPECT_STATUS(sb, expr, GLINT_OK)

/* Case-insensitive substring test. */
static inline bool th_has(const char *hay, const char *needle)
{
    return hay && needle && strcasestr(hay, needle) != NULL;
}

/* True if `hay` contains any of the NULL-terminated list of needles. */
static inline bool th_has_any(const char *hay, ...)
{
    va_list ap;
    va_start(ap, hay);
    bool found = false;
    for (const char *n = va_arg(ap, const char *); n && !found; n = va_arg(ap, const char *))
        found = th_has(hay, n);
    va_end(ap);
    return found;
}

/* HAS_ANY(msg, "a", "b") */
#define HAS_ANY(hay, ...) th_has_any((hay), __VA_ARGS__, (const char *)NULL)

/* Creates a sandbox from `path` (cfg may be NULL); asserts success. */
static inline glint_sandbox *th_create(const char *path, const glint_config *cfg)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_file(path, cfg, &sb, &err);
    cr_assert_eq(s, GLINT_OK, "create %s: %s: %s", path, glint_status_name(s), err.message);
    cr_assert_not_null(sb);
    return sb;
}

/* th_create + glint_sandbox_init; asserts success. */
static inline glint_sandbox *th_start(const char *path, const glint_config *cfg)
{
    glint_sandbox *sb = th_create(path, cfg);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

/* A config with the defaults and the given buffer sizes. */
static inline glint_config th_config_buffers(size_t input, size_t output)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.input_size = input;
    cfg.output_size = output;
    return cfg;
}

/* Asserts that value `v` is the string `want` (exact bytes). */
static inline void th_expect_str(const glint_value *v, const char *want, size_t want_len)
{
    cr_assert_eq(v->type, GLINT_STRING, "result type %s, want string",
                 glint_type_name(v->type));
    cr_assert_eq(v->v.str.len, want_len, "string of %zu bytes, want %zu: \"%.*s\"",
                 v->v.str.len, want_len, (int)(v->v.str.len > 200 ? 200 : v->v.str.len),
                 v->v.str.ptr ? v->v.str.ptr : "");
    cr_assert(want_len == 0 || memcmp(v->v.str.ptr, want, want_len) == 0,
              "string \"%.*s\", want \"%s\"", (int)v->v.str.len, v->v.str.ptr, want);
}

/* Calls a guest function taking one string and returning a string, and
 * copies the result into buf (NUL-terminated); asserts GLINT_OK. */
static inline const char *th_call_str(glint_sandbox *sb, const char *fn, const char *arg,
                                      char *buf, size_t size)
{
    glint_value in = glint_cstr(arg ? arg : "");
    glint_value out;
    EXPECT_OK(sb, glint_sandbox_call(sb, fn, &in, arg ? 1 : 0, &out));
    cr_assert_eq(out.type, GLINT_STRING, "%s returned %s", fn, glint_type_name(out.type));
    size_t n = out.v.str.len < size - 1 ? out.v.str.len : size - 1;
    memcpy(buf, out.v.str.ptr, n);
    buf[n] = '\0';
    return buf;
}

/* The first cap - 1 bytes of the file at path, NUL-terminated (malloc'd),
 * or NULL if it cannot be opened. */
static inline char *th_read_text(const char *path, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(cap);
    cr_assert_not_null(buf, "out of memory reading %s", path);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Number of open file descriptors of this process. */
/* Test hook (src/host/hv.h): waits until the process backend's keeper
 * thread is idle (destroyed sandboxes' processes reaped, spare processes
 * at their target), so counts of descriptors and children are steady. */
void glint_debug_process_settle(void);

static inline int th_count_fds(void)
{
    glint_debug_process_settle();
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d, "cannot open /proc/self/fd");
    int n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own descriptor */
}

/* Monotonic milliseconds. */
static inline double th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void th_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Proves that the process still runs guests: a fresh sandbox of the basic
 * guest computes Add(20, 22). */
static inline void th_expect_fresh_sandbox_works(void)
{
    glint_sandbox *sb = th_start(TEST_GUEST("basic"), NULL);
    glint_value args[2] = {glint_i32(20), glint_i32(22)};
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_assert_eq(r.type, GLINT_I32);
    cr_assert_eq(r.v.i32, 42, "Add(20, 22) = %d in a fresh sandbox", r.v.i32);
    glint_sandbox_destroy(sb);
}

#endif /* GLINT_TEST_HELPERS_H */
