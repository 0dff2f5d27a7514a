/*
 * test_cli.c - the real build/bin/glint binary, run with posix_spawn.
 *
 * Each test runs glint with an argv, captures stdout, stderr and the exit
 * status, and checks them against docs/cli.md.  Tests that start a sandbox
 * skip with a message when glint_probe() fails (no backend usable here);
 * usage and image errors need none (glint checks them before it creates
 * one).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glint/glint.h>

extern char **environ;

#define GLINT_BIN    GLINT_BUILD_DIR "/bin/glint"
#define TYPES_GUEST  GLINT_BUILD_DIR "/examples/types/types-guest.elf"
#define HELLO_GUEST  GLINT_BUILD_DIR "/examples/hello/hello-guest.elf"
#define GUEST(name)  GLINT_BUILD_DIR "/guests/" name ".elf"

/* ---------------------------------------------------------------------------
 * Running glint.
 */
struct buf {
    char *p;
    size_t len, cap;
};

struct run {
    int code;          /* exit code, or 128 + signal if killed */
    struct buf out, err;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        cr_assert(b->p, "out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Starts glint with argv (argv[0] included, NULL-terminated); stdin from
 * `input` (NULL: /dev/null).  Returns the pid; *out and *err read its output. */
static pid_t spawn_prog(const char *prog, char *const argv[], const char *input, int *out,
                        int *err)
{
    int po[2], pe[2], pi[2];
    cr_assert(pipe2(po, O_CLOEXEC) == 0 && pipe2(pe, O_CLOEXEC) == 0 &&
                  pipe2(pi, O_CLOEXEC) == 0,
              "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    int fds[] = {po[0], po[1], pe[0], pe[1], pi[0], pi[1]};
    for (size_t i = 0; i < 6; i++)
        posix_spawn_file_actions_addclose(&fa, fds[i]);
    pid_t pid;
    int e = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert(e == 0, "cannot run %s: %s", prog, strerror(e));
    close(po[1]);
    close(pe[1]);
    close(pi[0]);
    if (input) /* small inputs only: must fit the pipe buffer */
        cr_assert(write(pi[1], input, strlen(input)) == (ssize_t)strlen(input));
    close(pi[1]);
    *out = po[0];
    *err = pe[0];
    return pid;
}

/* Reads both pipes to EOF (at most 60 s), then reaps the child. */
static void collect(pid_t pid, int out, int err, struct run *r)
{
    struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
    struct buf *dst[2] = {&r->out, &r->err};
    time_t start = time(NULL);
    int open_fds = 2;
    while (open_fds > 0) {
        if (time(NULL) - start >= 60) {
            kill(pid, SIGKILL); /* leave no glint behind holding our descriptors */
            waitpid(pid, NULL, 0);
            cr_assert_fail("glint did not finish within 60 s");
        }
        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            cr_assert_fail("poll: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            char chunk[65536];
            ssize_t n = read(p[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                buf_add(dst[i], chunk, (size_t)n);
                continue;
            }
            close(p[i].fd);
            p[i].fd = -1;
            open_fds--;
        }
    }
    int status;
    cr_assert(waitpid(pid, &status, 0) == pid);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    buf_add(&r->out, "", 0);
    buf_add(&r->err, "", 0);
}

static pid_t spawn_glint(char *const argv[], const char *input, int *out, int *err)
{
    cr_assert(access(GLINT_BIN, X_OK) == 0, "%s is missing (make cli builds it)", GLINT_BIN);
    return spawn_prog(GLINT_BIN, argv, input, out, err);
}

static struct run run_argv(char *const argv[], const char *input)
{
    struct run r = {0};
    int out, err;
    pid_t pid = spawn_glint(argv, input, &out, &err);
    collect(pid, out, err, &r);
    return r;
}

/* RUN("call", guest, "EchoI32", "5"): glint with those words. */
#define RUN(...) run_argv((char *[]){"glint", __VA_ARGS__, NULL}, NULL)
#define RUN_IN(input, ...) run_argv((char *[]){"glint", __VA_ARGS__, NULL}, input)

static void run_free(struct run *r)
{
    free(r->out.p);
    free(r->err.p);
}

/* ---------------------------------------------------------------------------
 * Checks.
 */

/* Exit code `code`, and stderr is exactly one line "glint: ..." that
 * contains `needle`. */
static void expect_fail(struct run *r, int code, const char *needle)
{
    cr_expect_eq(r->code, code, "exit code %d, expected %d; stderr: %s", r->code, code, r->err.p);
    cr_expect(!strncmp(r->err.p, "glint: ", 7), "stderr does not start with 'glint: ': %s",
              r->err.p);
    char *nl = strchr(r->err.p, '\n');
    cr_expect(nl && nl[1] == '\0', "stderr is not one line: [%s]", r->err.p);
    cr_expect(strstr(r->err.p, needle), "stderr lacks '%s': %s", needle, r->err.p);
}

static void expect_ok(struct run *r, const char *stdout_text)
{
    cr_expect_eq(r->code, 0, "exit code %d; stderr: %s", r->code, r->err.p);
    cr_expect_str_eq(r->out.p, stdout_text);
    cr_expect_str_eq(r->err.p, "");
}

static void need_kvm(void)
{
    glint_error err;
    if (glint_probe(&err) != GLINT_OK)
        cr_skip_test("skipped: no usable KVM here: %s", err.message);
}

static void need_file(const char *path)
{
    cr_assert(access(path, R_OK) == 0, "%s is missing (make builds it): %s", path, strerror(errno));
}

/* A temporary file holding `len` bytes; returns its malloc'd path. */
static char *temp_file(const void *data, size_t len)
{
    char *path = strdup("/tmp/glint-cli-test-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    cr_assert(write(fd, data, len) == (ssize_t)len);
    close(fd);
    return path;
}


/* ---------------------------------------------------------------------------
 * Usage errors, --help, --version: no guest, no VM.
 */
Test(cli_usage, no_arguments)
{
    struct run r = RUN("--");
    expect_fail(&r, 2, "no command given");
    run_free(&r);
    r = run_argv((char *[]){"glint", NULL}, NULL);
    expect_fail(&r, 2, "no command given");
    run_free(&r);
    r = run_argv((char *[]){NULL}, NULL); /* argc == 0 */
    expect_fail(&r, 2, "no command given");
    run_free(&r);
}

Test(cli_usage, unknown_command)
{
    struct run r = RUN("frobnicate", "x");
    expect_fail(&r, 2, "unknown command 'frobnicate'");
    cr_expect_str_eq(r.out.p, "");
    run_free(&r);
}

Test(cli_usage, unknown_option)
{
    const char *cases[][4] = {
        {"--bogus", "info", "x", "unknown option '--bogus'"},
        {"info", "x", "--bogus=3", "unknown option '--bogus'"},
        {"-x", "info", "x", "unknown option '-x'"},
        {"--raw=yes", "info", "x", "--raw takes no value"},
        {"info", "x", "--heap", "--heap needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r = RUN((char *)cases[i][0], (char *)cases[i][1], (char *)cases[i][2]);
        expect_fail(&r, 2, cases[i][3]);
        run_free(&r);
    }
}

Test(cli_usage, bad_sizes_and_timeouts)
{
    const char *cases[][3] = {
        {"--heap", "12Q", "--heap: '12Q' is not a size"},
        {"--heap", "99999999999999999999", "--heap: '99999999999999999999' is too large"},
        {"--heap", "17179869184G", "is too large"},
        {"--heap", "", "is not a size"},
        {"--heap", "-4K", "is not a size"},
        {"--heap", " 4K", "is not a size"},
        {"--heap", "4KB", "is not a size"},
        {"--heap", "1", "--heap 1: heap size 1 is too small"},
        {"--stack", "1G", "--stack 1073741824: stack size"},
        {"--input", "5X", "--input: '5X' is not a size"},
        {"--output", "0", "--output 0: output buffer size 0 is too small"},
        {"--timeout", "1.5", "--timeout: '1.5' is not a number of milliseconds"},
        {"--timeout", "-1", "--timeout: '-1' is not a number of milliseconds"},
        {"--timeout", "4294967296", "is too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r = RUN((char *)cases[i][0], (char *)cases[i][1], "info", "x.elf");
        expect_fail(&r, 2, cases[i][2]);
        run_free(&r);
    }
    /* Sizes that fit one by one but not together. */
    struct run r = RUN("--heap", "512M", "--stack", "64M", "--input", "256M", "--output",
                       "256M", "info", "x.elf");
    expect_fail(&r, 2, "exceeds the maximum");
    run_free(&r);
}

Test(cli_usage, help)
{
    char *forms[][2] = {{"--help", NULL}, {"-h", NULL}, {"help", NULL}, {"call", "--help"}};
    for (size_t i = 0; i < 4; i++) {
        struct run r = run_argv((char *[]){"glint", forms[i][0], forms[i][1], NULL}, NULL);
        cr_expect_eq(r.code, 0, "%s: exit %d", forms[i][0], r.code);
        cr_expect_str_eq(r.err.p, "");
        cr_expect(strstr(r.out.p, "usage: glint"), "%s", r.out.p);
        const char *must[] = {"--timeout MS", "--heap SIZE", "--stack SIZE", "--raw",
                              "--weekday", "--backend B", "info --host", "@FILE",
                              "Exit codes:", "  0  success", "  2  usage error",
                              "  3  invalid guest image", "  4  the guest failed",
                              "  5  time limit", "  6  no backend this host can use"};
        for (size_t k = 0; k < sizeof must / sizeof must[0]; k++)
            cr_expect(strstr(r.out.p, must[k]), "--help lacks '%s'", must[k]);
        run_free(&r);
    }
}

Test(cli_usage, version)
{
    char *forms[] = {"--version", "-V", "version"};
    for (size_t i = 0; i < 3; i++) {
        struct run r = run_argv((char *[]){"glint", forms[i], NULL}, NULL);
        expect_ok(&r, "glint " GLINT_VERSION_STRING "\n");
        run_free(&r);
    }
}

Test(cli_usage, missing_words)
{
    struct run r = RUN("call");
    expect_fail(&r, 2, "call needs a guest file and a function name");
    run_free(&r);
    r = RUN("call", TYPES_GUEST);
    expect_fail(&r, 2, "call needs a guest file and a function name");
    run_free(&r);
    r = RUN("info");
    expect_fail(&r, 2, "info takes one guest file");
    run_free(&r);
    r = RUN("info", "a.elf", "b.elf");
    expect_fail(&r, 2, "info takes one guest file");
    run_free(&r);
}

/* ---------------------------------------------------------------------------
 * Invalid guest images: exit 3, no VM needed.
 */
Test(cli_image, not_a_guest)
{
    const char *cases[][2] = {
        {"/bin/sh", "/bin/sh: "},
        {GLINT_SOURCE_DIR "/Makefile", "not an ELF file"},
        {"/nonexistent/guest.elf", "/nonexistent/guest.elf: "},
        {"/tmp", "/tmp: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r = RUN("info", (char *)cases[i][0]);
        expect_fail(&r, 3, cases[i][1]);
        cr_expect_str_eq(r.out.p, "");
        run_free(&r);
        r = RUN("call", (char *)cases[i][0], "Main");
        expect_fail(&r, 3, cases[i][1]);
        run_free(&r);
    }
}

/* ---------------------------------------------------------------------------
 * info: the function table, no VM.
 */
Test(cli_info, types_guest)
{
    need_file(TYPES_GUEST);
    struct run r = RUN("info", TYPES_GUEST);
    cr_expect_eq(r.code, 0, "stderr: %s", r.err.p);
    cr_expect_str_eq(r.err.p, "");
    const char *must[] = {
        "EchoBool(bool) -> bool\n", "EchoI32(int32) -> int32\n", "EchoU64(uint64) -> uint64\n",
        "EchoF32(float) -> float\n", "EchoString(string) -> string\n",
        "EchoBytes(bytes) -> bytes\n", "Void() -> void\n", "Bytes1M(uint32) -> bytes\n",
        "Sum16(bool, int32, uint32, int64, uint64, float, double, string, bytes, bool, int32, "
        "uint32, int64, uint64, float, double) -> double\n"};
    for (size_t k = 0; k < sizeof must / sizeof must[0]; k++)
        cr_expect(strstr(r.out.p, must[k]), "info lacks '%s' in:\n%s", must[k], r.out.p);
    cr_expect(r.out.p[0] != '\n' && !strstr(r.out.p, "\n\n"), "blank lines in:\n%s", r.out.p);
    /* Source order (glint-cc keeps it): the guest declares them in this order. */
    const char *first = strstr(r.out.p, "EchoBool("), *second = strstr(r.out.p, "EchoI32(");
    const char *last = strstr(r.out.p, "HostSum16(");
    cr_expect(first == r.out.p, "EchoBool is not listed first:\n%s", r.out.p);
    cr_expect(second && first && second > first && last && last > second,
              "functions not in source order:\n%s", r.out.p);
    run_free(&r);
}

Test(cli_info, options_anywhere)
{
    need_file(TYPES_GUEST);
    struct run r = RUN("info", "--timeout", "5", TYPES_GUEST, "--raw");
    cr_expect_eq(r.code, 0, "stderr: %s", r.err.p);
    cr_expect(strstr(r.out.p, "EchoI32(int32) -> int32\n"));
    run_free(&r);
}

/* ---------------------------------------------------------------------------
 * Arguments that do not fit the signature: exit 2 before any VM exists.
 */
Test(cli_args, unknown_function_and_count)
{
    need_file(TYPES_GUEST);
    struct run r = RUN("call", TYPES_GUEST, "NoSuchFunction");
    expect_fail(&r, 2, "no function named 'NoSuchFunction'");
    run_free(&r);
    r = RUN("call", TYPES_GUEST, "EchoI32");
    expect_fail(&r, 2, "EchoI32(int32) -> int32 takes 1 argument, got 0");
    run_free(&r);
    r = RUN("call", TYPES_GUEST, "EchoI32", "1", "2");
    expect_fail(&r, 2, "takes 1 argument, got 2");
    run_free(&r);
    r = RUN("call", TYPES_GUEST, "Void", "1");
    expect_fail(&r, 2, "Void() -> void takes 0 arguments, got 1");
    run_free(&r);
}

Test(cli_args, bad_values)
{
    need_file(TYPES_GUEST);
    const char *cases[][3] = {
        {"EchoI32", "12x", "argument 1 (int32): '12x' is not an integer"},
        {"EchoI32", "", "'' is not an integer"},
        {"EchoI32", " 5", "is not an integer"},
        {"EchoI32", "0x", "is not an integer"},
        {"EchoI32", "1e3", "is not an integer"},
        {"EchoI32", "2147483648", "'2147483648' is out of range"},
        {"EchoI32", "-2147483649", "is out of range"},
        {"EchoI32", "0x80000000", "is out of range"},
        {"EchoU32", "-1", "'-1' is negative"},
        {"EchoU32", "4294967296", "is out of range"},
        {"EchoI64", "9223372036854775808", "is out of range"},
        {"EchoI64", "-9223372036854775809", "is out of range"},
        {"EchoU64", "18446744073709551616", "is out of range"},
        {"EchoU64", "0x10000000000000000", "is out of range"},
        {"EchoU64", "99999999999999999999x", "is not an integer"},
        {"EchoBool", "yes", "argument 1 (bool): 'yes' is not a bool"},
        {"EchoF32", "1.5x", "argument 1 (float): '1.5x' is not a number"},
        {"EchoF32", "1e39", "is out of range for float"},
        {"EchoF64", "1e309", "is out of range for double"},
        {"EchoF64", "", "is not a number"},
        {"EchoBytes", "0xZZ", "argument 1 (bytes): '0xZZ' is not hex"},
        {"EchoBytes", "abc", "odd number of hex digits"},
        {"EchoBytes", "@/nonexistent/file", "cannot open '/nonexistent/file'"},
        {"EchoBytes", "@/tmp", "'/tmp': read failed"},
        {"EchoString", "\xff", "argument 1 (string): is not valid UTF-8 (byte 1)"},
        {"EchoString", "ok\xc0\xaf", "not valid UTF-8 (byte 3)"},       /* overlong */
        {"EchoString", "\xed\xa0\x80", "not valid UTF-8"},              /* surrogate */
        {"EchoString", "\xf4\x90\x80\x80", "not valid UTF-8"},          /* > U+10FFFF */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r = RUN("call", TYPES_GUEST, (char *)cases[i][0], (char *)cases[i][1]);
        expect_fail(&r, 2, cases[i][2]);
        cr_expect(strstr(r.err.p, "types-guest.elf: "), "no file name in: %s", r.err.p);
        run_free(&r);
    }
}

Test(cli_args, file_larger_than_input_buffer)
{
    need_file(TYPES_GUEST);
    size_t len = 200 * 1024;
    char *data = calloc(1, len);
    char *path = temp_file(data, len);
    char at[300];
    snprintf(at, sizeof at, "@%s", path);
    struct run r = RUN("call", TYPES_GUEST, "Checksum", at);
    expect_fail(&r, 2, "larger than the input buffer");
    run_free(&r);
    unlink(path);
    free(path);
    free(data);
}

/* ---------------------------------------------------------------------------
 * Calls that run: every type both ways through the types guest.
 */
struct echo_case {
    const char *fn, *arg, *out;
};

static const struct echo_case echo_cases[] = {
    {"EchoBool", "true", "true\n"},
    {"EchoBool", "1", "true\n"},
    {"EchoBool", "false", "false\n"},
    {"EchoBool", "0", "false\n"},
    {"EchoI32", "-2147483648", "-2147483648\n"},
    {"EchoI32", "0x7fffffff", "2147483647\n"},
    {"EchoI32", "-0x10", "-16\n"},
    {"EchoI32", "007", "7\n"},
    {"EchoU32", "4294967295", "4294967295\n"},
    {"EchoU32", "+3", "3\n"},
    {"EchoI64", "-9223372036854775808", "-9223372036854775808\n"},
    {"EchoI64", "9223372036854775807", "9223372036854775807\n"},
    {"EchoU64", "18446744073709551615", "18446744073709551615\n"},
    {"EchoU64", "0xFFFFFFFFFFFFFFFF", "18446744073709551615\n"},
    {"EchoF32", "0.1", "0.1\n"},
    {"EchoF32", "3.4028235e38", "3.4028235e+38\n"},
    {"EchoF32", "1e-45", "1e-45\n"},
    {"EchoF32", "-inf", "-inf\n"},
    {"EchoF64", "0.1", "0.1\n"},
    {"EchoF64", "0.30000000000000004", "0.30000000000000004\n"},
    {"EchoF64", "1e308", "1e+308\n"},
    {"EchoF64", "-0", "-0\n"},
    {"EchoF64", "0x1p-3", "0.125\n"},
    {"EchoF64", "nan", "nan\n"},
    {"EchoString", "hello, w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80", "hello, w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80\n"},
    {"EchoString", "", "\n"},
    {"EchoString", "-5", "-5\n"},
    {"EchoBytes", "0xDEADbeef", "deadbeef\n"},
    {"EchoBytes", "00ff10", "00ff10\n"},
    {"EchoBytes", "", "\n"},
    {"EchoBytes", "0x", "\n"},
    {"StrLen", "h\xc3\xa9llo", "6\n"},
    {"Checksum", "", "14695981039346656037\n"}, /* FNV-1a offset basis */
};

Test(cli_call, echo_every_type, .timeout = 120)
{
    need_kvm();
    need_file(TYPES_GUEST);
    for (size_t i = 0; i < sizeof echo_cases / sizeof echo_cases[0]; i++) {
        const struct echo_case *c = &echo_cases[i];
        struct run r = RUN("call", TYPES_GUEST, (char *)c->fn, (char *)c->arg);
        cr_expect_eq(r.code, 0, "%s %s: exit %d: %s", c->fn, c->arg, r.code, r.err.p);
        cr_expect_str_eq(r.out.p, c->out, "%s %s", c->fn, c->arg);
        cr_expect_str_eq(r.err.p, "");
        run_free(&r);
    }
}

Test(cli_call, void_and_options_after_command)
{
    need_kvm();
    need_file(TYPES_GUEST);
    struct run r = RUN("call", TYPES_GUEST, "Void");
    expect_ok(&r, "");
    run_free(&r);
    r = RUN("call", TYPES_GUEST, "EchoI32", "-5", "--timeout", "5000", "--heap=1M");
    expect_ok(&r, "-5\n");
    run_free(&r);
    r = RUN("--stack", "128K", "call", "--", TYPES_GUEST, "EchoString", "--raw");
    expect_ok(&r, "--raw\n");
    run_free(&r);
}

Test(cli_call, raw_output)
{
    need_kvm();
    need_file(TYPES_GUEST);
    struct run r = RUN("--raw", "call", TYPES_GUEST, "EchoString", "no newline");
    expect_ok(&r, "no newline");
    run_free(&r);
    r = RUN("call", TYPES_GUEST, "EchoBytes", "41420a43", "--raw");
    cr_expect_eq(r.code, 0, "%s", r.err.p);
    cr_expect(r.out.len == 4 && !memcmp(r.out.p, "AB\nC", 4));
    run_free(&r);
    r = RUN("--raw", "call", TYPES_GUEST, "EchoI32", "5"); /* scalars keep their newline */
    expect_ok(&r, "5\n");
    run_free(&r);
}

Test(cli_call, bytes_from_file_and_stdin)
{
    need_kvm();
    need_file(TYPES_GUEST);
    const unsigned char data[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '@', '\n'};
    char *path = temp_file(data, sizeof data);
    char at[300];
    snprintf(at, sizeof at, "@%s", path);
    struct run r = RUN("call", TYPES_GUEST, "EchoBytes", at);
    expect_ok(&r, "00017f80ff400a\n");
    run_free(&r);
    unlink(path);
    free(path);
    r = RUN_IN("stdin!", "call", TYPES_GUEST, "EchoBytes", "@-");
    expect_ok(&r, "737464696e21\n");
    run_free(&r);
}

Test(cli_call, large_input_with_bigger_buffer, .timeout = 60)
{
    need_kvm();
    need_file(TYPES_GUEST);
    size_t len = 200 * 1024;
    unsigned char *data = malloc(len);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        data[i] = (unsigned char)(i * 31 + 7);
        h = (h ^ data[i]) * 0x100000001b3ull;
    }
    char *path = temp_file(data, len);
    char at[300], want[64];
    snprintf(at, sizeof at, "@%s", path);
    snprintf(want, sizeof want, "%llu\n", (unsigned long long)h);
    struct run r = RUN("--input", "1M", "call", TYPES_GUEST, "Checksum", at);
    expect_ok(&r, want);
    run_free(&r);
    unlink(path);
    free(path);
    free(data);
}

/* Each argument fits the buffer, but not with the call frame: libglint's
 * GLINT_E_TOO_LARGE is a usage error. */
Test(cli_call, arguments_too_large_for_buffer)
{
    need_kvm();
    need_file(TYPES_GUEST);
    char hex[2 * 4090 + 1];
    for (size_t i = 0; i < 2 * 4090; i++)
        hex[i] = "0123456789abcdef"[i % 16];
    hex[2 * 4090] = '\0';
    struct run r = RUN("--input", "4K", "call", TYPES_GUEST, "Checksum", hex);
    expect_fail(&r, 2, "input buffer");
    run_free(&r);
}

Test(cli_call, sixteen_parameters)
{
    need_kvm();
    need_file(TYPES_GUEST);
    /* Parameter k counts (k + 1) times its value; string/bytes count their
     * length: 1 - 2 + 6 - 12 + 20 + 3 + 1.75 + 24 + 18 + 0 + 55 + 72 + 91
     * + 112 + 22.5 + 40 = 452.25. */
    struct run r = RUN("call", TYPES_GUEST, "Sum16", "true", "-1", "2", "-3", "4", "0.5", "0.25",
                       "abc", "0102", "false", "5", "6", "7", "8", "1.5", "2.5");
    expect_ok(&r, "452.25\n");
    run_free(&r);
}

static uint8_t types_pattern(uint32_t i, uint32_t seed)
{
    return (uint8_t)(i ^ (i >> 8) ^ (i >> 16) ^ (seed * 7u));
}

Test(cli_call, one_mebibyte_result, .timeout = 60)
{
    need_kvm();
    need_file(TYPES_GUEST);
    const size_t mib = 1u << 20;
    struct run r = RUN("--output", "2M", "--raw", "call", TYPES_GUEST, "Bytes1M", "3");
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err.p);
    cr_assert_eq(r.out.len, mib);
    for (uint32_t i = 0; i < mib; i++)
        if ((uint8_t)r.out.p[i] != types_pattern(i, 3))
            cr_assert_fail("byte %u differs", i);
    run_free(&r);
    r = RUN("--output", "2M", "call", TYPES_GUEST, "Bytes1M", "3");
    cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err.p);
    cr_expect_eq(r.out.len, 2 * mib + 1);
    char head[8];
    snprintf(head, sizeof head, "%02x%02x%02x", types_pattern(0, 3), types_pattern(1, 3),
             types_pattern(2, 3));
    cr_expect(!strncmp(r.out.p, head, 6), "starts %.8s, expected %s", r.out.p, head);
    cr_expect_eq(r.out.p[2 * mib], '\n');
    run_free(&r);
    /* The default output buffer cannot hold it: the guest reports an error. */
    r = RUN("call", TYPES_GUEST, "Bytes1M", "3");
    expect_fail(&r, 4, "cannot hold 1 MiB");
    cr_expect_str_eq(r.out.p, "");
    run_free(&r);
}

Test(cli_call, missing_host_function_is_a_guest_error)
{
    need_kvm();
    need_file(TYPES_GUEST);
    struct run r = RUN("call", TYPES_GUEST, "HostEchoI32", "5");
    expect_fail(&r, 4, "HostEchoI32");
    run_free(&r);
}

Test(cli_call, hello_with_weekday)
{
    need_kvm();
    need_file(HELLO_GUEST);
    struct run r = RUN("--weekday", "call", HELLO_GUEST, "SayHello", "World");
    cr_expect_eq(r.code, 0, "exit %d: %s", r.code, r.err.p);
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    bool found = false;
    for (size_t d = 0; d < 7; d++) {
        char want[64];
        snprintf(want, sizeof want, "Hello, World! Today is %s.\n", days[d]);
        found |= !strcmp(r.out.p, want);
    }
    cr_expect(found, "unexpected greeting: %s", r.out.p);
    run_free(&r);
    /* Without --weekday the guest has only print. */
    r = RUN("call", HELLO_GUEST, "SayHello", "World");
    expect_fail(&r, 4, "SayHello");
    run_free(&r);
}

/* ---------------------------------------------------------------------------
 * Guests that fail, time limits and signals.
 */
struct fail_case {
    const char *guest, *fn, *arg, *needle;
    int code;
};

static const struct fail_case fail_cases[] = {
    {GUEST("zero_page"), "WriteZero", NULL, "zero_page.elf: WriteZero: ", 4},
    {GUEST("stack_overflow"), "Recurse", "100000000", "stack_overflow.elf: Recurse: ", 4},
    {GUEST("aborts"), "AssertFail", "2", "aborts.elf: AssertFail: ", 4},
    {GUEST("aborts"), "Panic", NULL, "panic number 7", 4},
    {GUEST("aborts"), "LongAbort", NULL, "LongAbort: ", 4},
    {GUEST("guest_error"), "Half", "3", "odd number 3", 4},
    {GUEST("guest_error"), "LongError", NULL, "LongError: ", 4},
    {GUEST("heap_oom"), "Exhaust", NULL, "heap_oom.elf: Exhaust: ", 4},
};

Test(cli_fail, guest_failures, .timeout = 120)
{
    need_kvm();
    for (size_t i = 0; i < sizeof fail_cases / sizeof fail_cases[0]; i++) {
        const struct fail_case *c = &fail_cases[i];
        need_file(c->guest);
        struct run r = RUN("call", (char *)c->guest, (char *)c->fn, (char *)c->arg);
        expect_fail(&r, c->code, c->needle);
        cr_expect_str_eq(r.out.p, "", "%s", c->fn);
        run_free(&r);
    }
    /* The same guest still works for a good call. */
    struct run r = RUN("call", GUEST("guest_error"), "Half", "8");
    expect_ok(&r, "4\n");
    run_free(&r);
}

Test(cli_fail, time_limit, .timeout = 30)
{
    need_kvm();
    need_file(GUEST("spin"));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct run r = RUN("--timeout", "100", "call", GUEST("spin"), "Spin");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    expect_fail(&r, 5, "spin.elf: Spin: ");
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect(secs < 10, "took %.1f s", secs);
    run_free(&r);
    /* The limit covers initialization too. */
    need_file(GUEST("init_spin"));
    r = RUN("--timeout", "100", "call", GUEST("init_spin"), "Nop");
    expect_fail(&r, 5, "init_spin.elf: ");
    run_free(&r);
}

/* Sends `sig` to glint while `guest` spins in `fn` (with a 20 s time limit as
 * a safety net, so that a test killed early leaves no spinner behind). */
static void cancel_with(const char *guest, const char *fn, int sig, const char *name)
{
    need_kvm();
    need_file(guest);
    int out, err;
    pid_t pid = spawn_glint((char *[]){"glint", "call", (char *)guest, (char *)fn, "--timeout",
                                       "20000", NULL},
                            NULL, &out, &err);
    struct timespec pause = {0, 500 * 1000 * 1000};
    nanosleep(&pause, NULL);
    kill(pid, sig);
    struct run r = {0};
    collect(pid, out, err, &r);
    char want[64];
    snprintf(want, sizeof want, "cancelled by %s", name);
    expect_fail(&r, 5, want);
    run_free(&r);
}

Test(cli_fail, sigint_cancels, .timeout = 30)
{
    cancel_with(GUEST("spin"), "Spin", SIGINT, "SIGINT");
}

Test(cli_fail, sigterm_cancels, .timeout = 30)
{
    cancel_with(GUEST("spin"), "Spin", SIGTERM, "SIGTERM");
}

Test(cli_fail, sigint_cancels_init, .timeout = 30)
{
    cancel_with(GUEST("init_spin"), "Nop", SIGINT, "SIGINT");
}

/* glint with `words` (NULL-terminated) in a mount namespace whose /dev is
 * an empty tmpfs.  Skips the test if that cannot be done here. */
static struct run run_without_dev(char *const words[])
{
    char *argv[16] = {"unshare", "-rm", "sh", "-c",
                      "mount -t tmpfs none /dev 2>/dev/null || exit 99; exec \"$0\" \"$@\"",
                      GLINT_BIN};
    size_t n = 6;
    for (size_t i = 0; words[i]; i++) {
        cr_assert(n + 1 < sizeof argv / sizeof argv[0]);
        argv[n++] = words[i];
    }
    argv[n] = NULL;
    int out, err;
    pid_t pid = spawn_prog("unshare", argv, NULL, &out, &err);
    struct run r = {0};
    collect(pid, out, err, &r);
    if (r.code == 99 || r.code == 127 || !strncmp(r.err.p, "unshare: ", 9))
        cr_skip_test("skipped: cannot hide /dev/kvm here (unshare -rm: exit %d, %s)", r.code,
                     r.err.p);
    return r;
}
#define RUN_WITHOUT_DEV(...) run_without_dev((char *[]){__VA_ARGS__, NULL})

/* The host as PID 1 (a container's entry point): the process backend's
 * child must not mistake its parent for init.  `unshare -rpf` makes glint
 * PID 1 of a new PID namespace (user namespace for the permission). */
Test(cli_backend, process_backend_as_pid_1, .timeout = 30)
{
    need_file(TYPES_GUEST);
    glint_error err;
    if (glint_backend_probe(GLINT_BACKEND_PROCESS, &err) != GLINT_OK)
        cr_skip_test("skipped: this host cannot use the process backend: %s", err.message);
    char *argv[] = {"unshare", "-rpf", "sh", "-c", "[ $$ = 1 ] || exit 98; exec \"$0\" \"$@\"",
                    GLINT_BIN, "--backend", "process", "call", TYPES_GUEST, "EchoI32", "7", NULL};
    /* Under ASan, LeakSanitizer cannot stop the threads of a PID 1 in a
     * namespace (it says so on stderr): no leak check for this run. */
    char *asan = getenv("ASAN_OPTIONS") ? strdup(getenv("ASAN_OPTIONS")) : NULL;
    setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0", 1);
    int out, errfd;
    pid_t pid = spawn_prog("unshare", argv, NULL, &out, &errfd);
    if (asan)
        setenv("ASAN_OPTIONS", asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(asan);
    struct run r = {0};
    collect(pid, out, errfd, &r);
    if (r.code == 127 || !strncmp(r.err.p, "unshare: ", 9))
        cr_skip_test("skipped: cannot make a PID namespace here (unshare -rpf: exit %d, %s)", r.code,
                     r.err.p);
    cr_assert_neq(r.code, 98, "glint was not PID 1 in the new namespace");
    expect_ok(&r, "7\n");
    run_free(&r);
}

/* Without /dev/kvm: --backend kvm is exit 6; auto falls back to process. */
Test(cli_fail, no_kvm, .timeout = 30)
{
    need_file(TYPES_GUEST);
    struct run r = RUN_WITHOUT_DEV("--backend", "kvm", "call", TYPES_GUEST, "Void");
    expect_fail(&r, 6, "glint: cannot use the kvm backend here (--backend kvm): ");
    cr_expect(strstr(r.err.p, "/dev/kvm"), "%s", r.err.p);
    cr_expect_str_eq(r.out.p, "");
    run_free(&r);
    /* auto, even where this suite runs with GLINT_BACKEND=kvm. */
    char *env = getenv("GLINT_BACKEND") ? strdup(getenv("GLINT_BACKEND")) : NULL;
    unsetenv("GLINT_BACKEND");
    r = RUN_WITHOUT_DEV("call", TYPES_GUEST, "EchoI32", "7");
    if (env)
        setenv("GLINT_BACKEND", env, 1);
    free(env);
    expect_ok(&r, "7\n");
    run_free(&r);
}

/* ---------------------------------------------------------------------------
 * Backends: --backend, glint info --host.
 */
static bool backend_usable(glint_backend b, glint_error *err)
{
    return glint_backend_probe(b, err) == GLINT_OK;
}

/* The line of `text` that starts with `prefix`, copied into buf; NULL if none. */
static const char *line_starting(const char *text, const char *prefix, char *buf, size_t size)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, prefix, n) != 0)
            continue;
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(buf, size, "%.*s", (int)len, p);
        return buf;
    }
    return NULL;
}

Test(cli_backend, bad_backend_is_a_usage_error)
{
    const char *cases[][4] = {
        {"--backend", "bogus", "info", "--backend: 'bogus' is not a backend (auto, kvm or process)"},
        {"--backend", "", "info", "--backend: '' is not a backend"},
        {"--backend", "KVM", "info", "--backend: 'KVM' is not a backend"},
        {"--backend=bogus", "call", "x.elf", "--backend: 'bogus' is not a backend"},
        {"snapshot", "x.elf", "--backend=proc", "--backend: 'proc' is not a backend"},
        {"info", "--host", "--backend", "option --backend needs a value"},
        {"--host", "call", "x.elf", "--host is for glint info only"},
        {"--host=1", "info", "x.elf", "option --host takes no value"},
        {"info", "--host", "x.elf", "info --host takes no guest file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r = RUN((char *)cases[i][0], (char *)cases[i][1], (char *)cases[i][2]);
        expect_fail(&r, 2, cases[i][3]);
        cr_expect_str_eq(r.out.p, "");
        run_free(&r);
    }
    /* Valid names pass the option check (info of a missing file is exit 3). */
    const char *good[] = {"auto", "kvm", "process"};
    for (size_t i = 0; i < 3; i++) {
        struct run r = RUN("--backend", (char *)good[i], "info", "/nonexistent/guest.elf");
        expect_fail(&r, 3, "/nonexistent/guest.elf");
        run_free(&r);
    }
}

Test(cli_backend, info_host_lists_every_backend)
{
    struct run r = RUN("info", "--host");
    glint_error kerr, perr, serr;
    bool kvm = backend_usable(GLINT_BACKEND_KVM, &kerr);
    bool proc = backend_usable(GLINT_BACKEND_PROCESS, &perr);
    cr_expect_eq(r.code, kvm || proc ? 0 : 6, "exit %d; stderr: %s", r.code, r.err.p);
    cr_expect_str_eq(r.err.p, "");
    char line[1024];
    const char *k = line_starting(r.out.p, "kvm ", line, sizeof line);
    cr_assert(k, "no kvm line: %s", r.out.p);
    if (kvm) {
        cr_expect(strstr(k, " usable: KVM micro-VM") && !strstr(k, "not usable"), "%s", k);
        /* How the debugger steps here: the hypervisor's facility, or the
         * trap flag with the reason the probe VM gave. */
        cr_expect(strstr(k, "; debugger: KVM guest debug") ||
                      strstr(k, "; debugger: trap flag and int3 through the guest's IDT ("),
                  "%s", k);
    } else {
        /* Not usable, and why: libglint's probe message, not empty. */
        cr_expect(strstr(k, " not usable: "), "kvm line does not say it is not usable: %s", k);
        cr_expect(kerr.message[0] && strstr(k, kerr.message), "kvm line lacks the reason '%s': %s",
                  kerr.message, k);
    }
    const char *p = line_starting(r.out.p, "process ", line, sizeof line);
    cr_assert(p, "no process line: %s", r.out.p);
    cr_expect(proc ? !strstr(p, "not usable") && strstr(p, " usable: jailed process") &&
                         strstr(p, "; debugger: trap flag and int3")
                   : strstr(p, " not usable: ") != NULL,
              "%s", p);
    /* What auto selects, as glint_backend_select says, and GLINT_BACKEND. */
    const char *a = line_starting(r.out.p, "auto ", line, sizeof line);
    cr_assert(a, "no auto line: %s", r.out.p);
    glint_backend sel;
    if (glint_backend_select(GLINT_BACKEND_AUTO, &sel, &serr) == GLINT_OK) {
        char want[64];
        snprintf(want, sizeof want, "selects %s (", glint_backend_name(sel));
        cr_expect(strstr(a, want), "auto line lacks '%s': %s", want, a);
    } else {
        cr_expect(strstr(a, "selects none: "), "%s", a);
    }
    const char *env = getenv("GLINT_BACKEND");
    cr_expect(strstr(a, env && *env ? "(GLINT_BACKEND=" : "(GLINT_BACKEND is not set)"), "%s", a);
    run_free(&r);

    /* --backend NAME asks about that backend only. */
    r = RUN("--backend", "kvm", "info", "--host");
    cr_expect_eq(r.code, kvm ? 0 : 6, "--backend kvm info --host: exit %d", r.code);
    run_free(&r);
    r = RUN("info", "--host", "--backend=process");
    cr_expect_eq(r.code, proc ? 0 : 6, "--backend process info --host: exit %d", r.code);
    run_free(&r);
}

/* The process backend spins only with more than one CPU to run on, counted
 * in the process's affinity (taskset, a container's cpuset), not the
 * machine's: a glint confined to one CPU says so, does not spin, and its
 * sandboxes work. */
Test(cli_backend, process_backend_counts_the_cpus_it_may_run_on)
{
    glint_error err;
    if (!backend_usable(GLINT_BACKEND_PROCESS, &err))
        cr_skip_test("the process backend is not usable here: %s", err.message);
    cpu_set_t all, one;
    cr_assert_eq(sched_getaffinity(0, sizeof all, &all), 0, "sched_getaffinity: %s", strerror(errno));
    int n = CPU_COUNT(&all), first = -1;
    for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
        if (CPU_ISSET(c, &all))
            first = c;
    char want[64];
    snprintf(want, sizeof want, "; %d CPU%s to run on (%s", n, n == 1 ? "" : "s",
             n > 1 ? "bounded adaptive spinning, PAUSE " : "no spinning);");
    struct run r = RUN("--backend", "process", "info", "--host");
    cr_expect(strstr(r.out.p, want), "'%s' not in: %s", want, r.out.p);
    run_free(&r);
    /* glint inherits this thread's affinity: one CPU. */
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0, "sched_setaffinity: %s", strerror(errno));
    r = RUN("--backend", "process", "info", "--host");
    struct run c = RUN("--backend", "process", "call", TYPES_GUEST, "EchoI32", "5");
    sched_setaffinity(0, sizeof all, &all);
    cr_expect(strstr(r.out.p, "; 1 CPU to run on (no spinning);"), "%s", r.out.p);
    cr_expect_eq(c.code, 0, "call on one CPU: exit %d: %s", c.code, c.err.p);
    cr_expect_str_eq(c.out.p, "5\n");
    run_free(&r);
    run_free(&c);
}

Test(cli_backend, info_host_shows_glint_backend)
{
    setenv("GLINT_BACKEND", "process", 1); /* this test's own worker process */
    struct run r = RUN("info", "--host");
    char line[1024];
    const char *a = line_starting(r.out.p, "auto ", line, sizeof line);
    cr_assert(a, "no auto line: %s", r.out.p);
    glint_error err;
    if (backend_usable(GLINT_BACKEND_PROCESS, &err))
        cr_expect(strstr(a, "selects process (GLINT_BACKEND=process)"), "%s", a);
    else
        cr_expect(strstr(a, "selects none: ") && strstr(a, "(GLINT_BACKEND=process)"), "%s", a);
    run_free(&r);
    unsetenv("GLINT_BACKEND");
}

/* --backend kvm where this host cannot use KVM: exit 6, one line. */
Test(cli_backend, kvm_without_dev_kvm, .timeout = 30)
{
    glint_error err;
    if (backend_usable(GLINT_BACKEND_KVM, &err))
        cr_skip_test("skipped: this host can use KVM");
    need_file(TYPES_GUEST);
    struct run r = RUN("--backend", "kvm", "call", TYPES_GUEST, "EchoI32", "5");
    expect_fail(&r, 6, "glint: cannot use the kvm backend here (--backend kvm): ");
    cr_expect(strstr(r.err.p, err.message), "stderr lacks '%s': %s", err.message, r.err.p);
    cr_expect_str_eq(r.out.p, "");
    run_free(&r);
    /* GLINT_BACKEND=kvm asks for it too, under auto. */
    setenv("GLINT_BACKEND", "kvm", 1);
    r = RUN("call", TYPES_GUEST, "EchoI32", "5");
    unsetenv("GLINT_BACKEND");
    expect_fail(&r, 6, "(GLINT_BACKEND=kvm): ");
    run_free(&r);
    /* glint snapshot: exit 6 and no file. */
    char *dir = strdup("/tmp/glint-cli-kvm-XXXXXX");
    cr_assert(dir && mkdtemp(dir));
    char *snap = NULL;
    cr_assert(asprintf(&snap, "%s/t.snap", dir) > 0);
    r = RUN("snapshot", "--backend=kvm", TYPES_GUEST, "-o", snap);
    expect_fail(&r, 6, "cannot use the kvm backend here");
    cr_expect(access(snap, F_OK) != 0, "%s was written", snap);
    run_free(&r);
    rmdir(dir);
    free(snap);
    free(dir);
}

/* A bad GLINT_BACKEND is a usage error when glint creates a sandbox. */
Test(cli_backend, bad_glint_backend_env, .timeout = 30)
{
    need_file(TYPES_GUEST);
    setenv("GLINT_BACKEND", "bogus", 1);
    struct run r = RUN("call", TYPES_GUEST, "EchoI32", "5");
    unsetenv("GLINT_BACKEND");
    expect_fail(&r, 2, "GLINT_BACKEND");
    run_free(&r);
}

/* GLINT_PROCESS_SPARES: a bad value makes the process backend unusable with
 * a message that names it (a usage error for glint call); 0 and 16 work. */
Test(cli_backend, glint_process_spares_env, .timeout = 30)
{
    glint_error err;
    if (!backend_usable(GLINT_BACKEND_PROCESS, &err))
        cr_skip_test("skipped: the process backend is not usable here: %s", err.message);
    need_file(TYPES_GUEST);
    static const char *const bad[] = {"lots", "-1", "17", "4x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("GLINT_PROCESS_SPARES", bad[i], 1);
        struct run r = RUN("--backend", "process", "call", TYPES_GUEST, "EchoI32", "5");
        char want[128];
        snprintf(want, sizeof want, "GLINT_PROCESS_SPARES: '%s' is not a number from 0 to 16", bad[i]);
        expect_fail(&r, 2, want);
        run_free(&r);
        r = RUN("info", "--host");
        char line[1024];
        const char *p = line_starting(r.out.p, "process ", line, sizeof line);
        cr_assert(p, "no process line: %s", r.out.p);
        cr_expect(strstr(p, "not usable: ") && strstr(p, want), "%s", p);
        run_free(&r);
    }
    static const char *const good[] = {"0", "16"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("GLINT_PROCESS_SPARES", good[i], 1);
        struct run r = RUN("--backend", "process", "call", TYPES_GUEST, "EchoI32", "5");
        expect_ok(&r, "5\n");
        run_free(&r);
    }
    unsetenv("GLINT_PROCESS_SPARES");
}

/* ---------------------------------------------------------------------------
 * Snapshots: glint snapshot, and snapshot files for call and info.
 */
#define GOLDEN_SNAP GLINT_SOURCE_DIR "/tests/golden/basic.snap"

/* A fresh directory; rm_rf_dir removes it with the files in it. */
static char *temp_dir(void)
{
    char *d = strdup("/tmp/glint-cli-snap-XXXXXX");
    cr_assert(d && mkdtemp(d), "mkdtemp: %s", strerror(errno));
    return d;
}

static char *in_dir(const char *dir, const char *name)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void rm_rf_dir(char *dir)
{
    char *argv[] = {"rm", "-rf", dir, NULL};
    int out, err;
    pid_t pid = spawn_prog("rm", argv, NULL, &out, &err);
    struct run r = {0};
    collect(pid, out, err, &r);
    run_free(&r);
    free(dir);
}

/* Copies `src` to `dst` with `len` bytes of it (all if len is SIZE_MAX),
 * xoring the byte at `flip` (if < len) with 0x01. */
static void copy_damaged(const char *src, const char *dst, size_t len, size_t flip)
{
    FILE *in = fopen(src, "rb");
    cr_assert(in, "%s: %s", src, strerror(errno));
    struct buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
        buf_add(&b, chunk, n);
    fclose(in);
    if (len > b.len)
        len = b.len;
    if (flip < len)
        b.p[flip] ^= 0x01;
    FILE *out = fopen(dst, "wb");
    cr_assert(out && fwrite(b.p, 1, len, out) == len);
    fclose(out);
    free(b.p);
}

Test(cli_snapshot, help_mentions_snapshots)
{
    struct run r = RUN("--help");
    cr_expect_eq(r.code, 0);
    const char *must[] = {"snapshot GUEST.elf -o FILE", "-o FILE", "snapshot file",
                          "  3  invalid guest image or snapshot file"};
    for (size_t k = 0; k < sizeof must / sizeof must[0]; k++)
        cr_expect(strstr(r.out.p, must[k]), "--help lacks '%s'", must[k]);
    run_free(&r);
}

Test(cli_snapshot, snapshot_then_info_and_call, .timeout = 60)
{
    need_kvm();
    need_file(GUEST("basic"));
    char *dir = temp_dir(), *snap = in_dir(dir, "basic.snap");
    struct run r = RUN("snapshot", GUEST("basic"), "-o", snap);
    expect_ok(&r, "");
    run_free(&r);
    FILE *f = fopen(snap, "rb");
    char magic[8] = {0};
    cr_assert(f && fread(magic, 1, 8, f) == 8);
    fclose(f);
    cr_expect(!memcmp(magic, "GLINTSNP", 8));

    /* info lists the same functions as for the ELF. */
    struct run elf = RUN("info", GUEST("basic"));
    r = RUN("info", snap);
    expect_ok(&r, elf.out.p);
    run_free(&r);
    run_free(&elf);

    r = RUN("call", snap, "Add", "20", "22");
    expect_ok(&r, "42\n");
    run_free(&r);
    for (int i = 0; i < 2; i++) { /* every run starts from the snapshot */
        r = RUN("call", snap, "Counter");
        expect_ok(&r, "1\n");
        run_free(&r);
    }
    r = RUN("call", snap, "Printf", "x", "-3");
    expect_ok(&r, "print:x:-3\n");
    run_free(&r);
    /* -o after call is an ordinary argument. */
    r = RUN("call", snap, "Echo", "-o");
    expect_ok(&r, "-o\n");
    run_free(&r);
    /* Options before the command, -o before the guest; the file is replaced. */
    r = RUN("-o", snap, "--stack", "32K", "snapshot", GUEST("basic"));
    expect_ok(&r, "");
    run_free(&r);
    r = RUN("call", snap, "Nop");
    expect_ok(&r, "");
    run_free(&r);
    free(snap);
    rm_rf_dir(dir);
}

/* The golden snapshot (tests/golden) was taken after three calls of
 * Counter: a call from it shows the saved state, no re-initialization. */
Test(cli_snapshot, golden_file_keeps_its_state, .timeout = 60)
{
    need_kvm();
    need_file(GOLDEN_SNAP);
    struct run r = RUN("call", GOLDEN_SNAP, "Counter");
    expect_ok(&r, "4\n");
    run_free(&r);
}

Test(cli_snapshot, sizes_come_from_the_snapshot, .timeout = 60)
{
    need_kvm();
    need_file(TYPES_GUEST);
    char *dir = temp_dir(), *snap = in_dir(dir, "types.snap");
    struct run r = RUN("--input", "1M", "--output", "2M", "snapshot", TYPES_GUEST, "-o", snap);
    expect_ok(&r, "");
    run_free(&r);
    /* 200 KiB of argument: too large for the default input buffer, not for this one. */
    size_t len = 200 * 1024;
    unsigned char *data = calloc(1, len);
    char *path = temp_file(data, len);
    char at[300];
    snprintf(at, sizeof at, "@%s", path);
    r = RUN("call", snap, "Checksum", at);
    cr_expect_eq(r.code, 0, "%s", r.err.p);
    run_free(&r);
    r = RUN("--raw", "call", snap, "Bytes1M", "3");
    cr_expect_eq(r.code, 0, "%s", r.err.p);
    cr_expect_eq(r.out.len, 1u << 20);
    run_free(&r);
    unlink(path);
    free(path);
    free(data);
    free(snap);
    rm_rf_dir(dir);
}

Test(cli_snapshot, options_a_snapshot_fixes_are_refused)
{
    need_file(GOLDEN_SNAP);
    const char *cases[][3] = {
        {"--heap", "1M", "--heap cannot be used with a snapshot file"},
        {"--stack=64K", NULL, "--stack cannot be used with a snapshot file"},
        {"--input", "8K", "--input cannot be used"},
        {"--output", "8K", "--output cannot be used"},
        {"--timeout", "100", "--timeout cannot be used with a snapshot file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r = cases[i][1] ? RUN((char *)cases[i][0], (char *)cases[i][1], "call",
                                         GOLDEN_SNAP, "Add", "1", "2")
                                   : RUN((char *)cases[i][0], "call", GOLDEN_SNAP, "Add", "1", "2");
        expect_fail(&r, 2, cases[i][2]);
        cr_expect(strstr(r.err.p, "basic.snap: "), "%s", r.err.p);
        run_free(&r);
        r = cases[i][1] ? RUN("info", GOLDEN_SNAP, (char *)cases[i][0], (char *)cases[i][1])
                        : RUN("info", GOLDEN_SNAP, (char *)cases[i][0]);
        expect_fail(&r, 2, cases[i][2]);
        run_free(&r);
    }
}

Test(cli_snapshot, usage_errors)
{
    need_file(GOLDEN_SNAP);
    need_file(GUEST("basic"));
    struct run r = RUN("snapshot", GUEST("basic"));
    expect_fail(&r, 2, "-o is missing");
    run_free(&r);
    r = RUN("snapshot", "-o", "/tmp/x.snap");
    expect_fail(&r, 2, "usage: glint snapshot GUEST.elf -o FILE");
    run_free(&r);
    r = RUN("snapshot", GUEST("basic"), GUEST("basic"), "-o", "/tmp/x.snap");
    expect_fail(&r, 2, "snapshot takes one guest file");
    run_free(&r);
    r = RUN("snapshot", GUEST("basic"), "-o", "a", "-o", "b");
    expect_fail(&r, 2, "-o given twice");
    run_free(&r);
    r = RUN("snapshot", GUEST("basic"), "-o");
    expect_fail(&r, 2, "-o needs a file name");
    run_free(&r);
    r = RUN("-o", "/tmp/x.snap", "call", GOLDEN_SNAP, "Nop");
    expect_fail(&r, 2, "-o FILE is for glint snapshot only");
    run_free(&r);
    r = RUN("snapshot", GOLDEN_SNAP, "-o", "/tmp/x.snap");
    expect_fail(&r, 2, "is already a snapshot");
    run_free(&r);
    r = RUN("call", GOLDEN_SNAP, "NoSuch");
    expect_fail(&r, 2, "no function named 'NoSuch'");
    run_free(&r);
    r = RUN("call", GOLDEN_SNAP, "Add", "1");
    expect_fail(&r, 2, "Add(int32, int32) -> int32 takes 2 arguments, got 1");
    run_free(&r);
    /* Not a guest at all: exit 3 as for call. */
    r = RUN("snapshot", GLINT_SOURCE_DIR "/Makefile", "-o", "/tmp/x.snap");
    expect_fail(&r, 3, "not an ELF file");
    run_free(&r);
}

Test(cli_snapshot, cannot_write_the_file, .timeout = 60)
{
    need_kvm();
    need_file(GUEST("basic"));
    char *dir = temp_dir(), *out = in_dir(dir, "missing/x.snap");
    struct run r = RUN("snapshot", GUEST("basic"), "-o", out);
    expect_fail(&r, 1, out);
    run_free(&r);
    /* Initialization that fails leaves no file. */
    char *snap = in_dir(dir, "spin.snap");
    need_file(GUEST("init_spin"));
    r = RUN("--timeout", "100", "snapshot", GUEST("init_spin"), "-o", snap);
    expect_fail(&r, 5, "init_spin.elf: ");
    cr_expect(access(snap, F_OK) != 0, "a snapshot was written after a failed init");
    run_free(&r);
    need_file(GUEST("init_fault"));
    r = RUN("snapshot", GUEST("init_fault"), "-o", snap);
    expect_fail(&r, 4, "init_fault.elf: ");
    cr_expect(access(snap, F_OK) != 0, "a snapshot was written after a failed init");
    run_free(&r);
    free(out);
    free(snap);
    rm_rf_dir(dir);
}

/* Corrupt and truncated snapshot files: exit 3, no VM needed. */
Test(cli_snapshot, corrupt_files_are_exit_3)
{
    need_file(GOLDEN_SNAP);
    char *dir = temp_dir(), *bad = in_dir(dir, "bad.snap");
    struct {
        size_t len, flip;
        const char *needle;
    } cases[] = {
        {SIZE_MAX, 8, "format version"},
        {SIZE_MAX, 100, "checksum mismatch in the header"},
        {SIZE_MAX, 16, "ABI version"},
        {5000, SIZE_MAX, "truncated: "},
        {300, SIZE_MAX, "truncated: header needs 512 bytes"},
        {SIZE_MAX, 0, "not a glint snapshot file"}, /* not the magic: read as an ELF */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copy_damaged(GOLDEN_SNAP, bad, cases[i].len, cases[i].flip);
        struct run r = RUN("info", bad);
        expect_fail(&r, 3, i == 5 ? "not an ELF file" : cases[i].needle);
        cr_expect(strstr(r.err.p, "bad.snap: "), "%s", r.err.p);
        cr_expect_str_eq(r.out.p, "");
        run_free(&r);
        r = RUN("call", bad, "Add", "1", "2");
        expect_fail(&r, 3, i == 5 ? "not an ELF file" : cases[i].needle);
        run_free(&r);
    }
    free(bad);
    rm_rf_dir(dir);
}

/* A damaged memory page is caught too (the memory checksum). */
Test(cli_snapshot, damaged_memory_is_exit_3)
{
    need_file(GOLDEN_SNAP);
    char *dir = temp_dir(), *bad = in_dir(dir, "bad.snap");
    struct stat st;
    cr_assert(stat(GOLDEN_SNAP, &st) == 0);
    for (size_t off = 8192; off < (size_t)st.st_size; off += 4096 * 3 + 123) {
        copy_damaged(GOLDEN_SNAP, bad, SIZE_MAX, off);
        struct run r = RUN("info", bad);
        expect_fail(&r, 3, "bad.snap: ");
        cr_expect(strstr(r.err.p, "memory page") || strstr(r.err.p, "memory image"), "%s",
                  r.err.p);
        run_free(&r);
    }
    free(bad);
    rm_rf_dir(dir);
}

/* A host function for snapshots only: no guest ever calls it here. */
static glint_status never_called(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                 glint_value *ret, void *user)
{
    (void)args, (void)nargs, (void)ret, (void)user;
    return glint_hostcall_fail(hc, "not expected to run");
}

Test(cli_snapshot, host_functions, .timeout = 60)
{
    need_kvm();
    need_file(HELLO_GUEST);
    char *dir = temp_dir(), *with = in_dir(dir, "with.snap"), *without = in_dir(dir, "without.snap");
    struct run r = RUN("--weekday", "snapshot", HELLO_GUEST, "-o", with);
    expect_ok(&r, "");
    run_free(&r);
    r = RUN("call", with, "SayHello", "World");
    expect_fail(&r, 2, "expects the host function GetWeekday() -> string: give --weekday");
    run_free(&r);
    r = RUN("call", with, "SayHello", "World", "--weekday");
    cr_expect_eq(r.code, 0, "%s", r.err.p);
    cr_expect(!strncmp(r.out.p, "Hello, World! Today is ", 23), "%s", r.out.p);
    run_free(&r);
    r = RUN("info", with); /* info needs no host functions */
    expect_ok(&r, "SayHello(string) -> string\n");
    run_free(&r);
    /* Taken without --weekday: the guest has only print, with or without it now. */
    r = RUN("snapshot", HELLO_GUEST, "-o", without);
    expect_ok(&r, "");
    run_free(&r);
    r = RUN("--weekday", "call", without, "SayHello", "World");
    expect_fail(&r, 4, "SayHello");
    run_free(&r);

    /* Host functions glint cannot give, from snapshots made with libglint. */
    struct {
        glint_function fn;
        const char *file, *needle;
    } cases[] = {
        {{.name = "Block", .ret = GLINT_VOID}, "block.snap",
         "expects the host function Block() -> void, which glint cannot provide"},
        {{.name = "print", .ret = GLINT_I32, .nparams = 1, .params = {GLINT_I32}}, "print.snap",
         "expects the host function print(int32) -> int32, but glint's is print(string) -> void"},
        {{.name = "GetWeekday", .ret = GLINT_I32}, "weekday.snap",
         "expects the host function GetWeekday() -> int32, but glint's is GetWeekday() -> string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        glint_sandbox *sb;
        glint_error err;
        cr_assert_eq(glint_sandbox_create_file(GUEST("basic"), NULL, &sb, &err), GLINT_OK, "%s",
                     err.message);
        cr_assert_eq(glint_sandbox_register(sb, &cases[i].fn, never_called, NULL), GLINT_OK);
        cr_assert_eq(glint_sandbox_init(sb), GLINT_OK, "%s", glint_sandbox_error(sb)->message);
        glint_snapshot *snap;
        cr_assert_eq(glint_sandbox_snapshot(sb, &snap), GLINT_OK);
        char *path = in_dir(dir, cases[i].file);
        cr_assert_eq(glint_snapshot_save(snap, path, &err), GLINT_OK, "%s", err.message);
        glint_snapshot_free(snap);
        glint_sandbox_destroy(sb);
        r = RUN("--weekday", "call", path, "Add", "1", "2");
        expect_fail(&r, 2, cases[i].needle);
        run_free(&r);
        r = RUN("info", path); /* info still works */
        cr_expect_eq(r.code, 0, "%s", r.err.p);
        run_free(&r);
        free(path);
    }
    free(with);
    free(without);
    rm_rf_dir(dir);
}

/* Without /dev/kvm: info works, auto runs the file on the process backend,
 * --backend kvm is exit 6. */
Test(cli_snapshot, no_kvm, .timeout = 30)
{
    need_file(GOLDEN_SNAP);
    struct run r = RUN_WITHOUT_DEV("info", GOLDEN_SNAP);
    cr_expect_eq(r.code, 0, "info without KVM: %s", r.err.p);
    cr_expect(strstr(r.out.p, "Counter() -> uint64\n"), "%s", r.out.p);
    run_free(&r);
    /* auto, even where this suite runs with GLINT_BACKEND=kvm. */
    char *env = getenv("GLINT_BACKEND") ? strdup(getenv("GLINT_BACKEND")) : NULL;
    unsetenv("GLINT_BACKEND");
    r = RUN_WITHOUT_DEV("call", GOLDEN_SNAP, "Nop");
    if (env)
        setenv("GLINT_BACKEND", env, 1);
    free(env);
    cr_expect_eq(r.code, 0, "call without KVM: %s", r.err.p);
    run_free(&r);
    /* Asking for KVM where there is none is exit 6 whatever the file. */
    r = RUN_WITHOUT_DEV("--backend", "kvm", "call", GOLDEN_SNAP, "Nop");
    expect_fail(&r, 6, "glint: cannot use the kvm backend here (--backend kvm): ");
    run_free(&r);
}

/* A snapshot file runs on either backend: --backend chooses, as for an ELF. */
Test(cli_snapshot, any_backend_runs_the_file, .timeout = 60)
{
    need_file(GUEST("basic"));
    glint_error err;
    if (glint_backend_probe(GLINT_BACKEND_PROCESS, &err) != GLINT_OK)
        cr_skip_test("skipped: this host cannot use the process backend: %s", err.message);
    char *dir = temp_dir(), *snap = in_dir(dir, "basic.snap");
    struct run r = RUN("--backend", "process", "snapshot", GUEST("basic"), "-o", snap);
    expect_ok(&r, "");
    run_free(&r);
    r = RUN("--backend", "process", "call", snap, "Add", "40", "2");
    expect_ok(&r, "42\n");
    run_free(&r);
    r = RUN("call", snap, "Add", "40", "2");
    expect_ok(&r, "42\n");
    run_free(&r);
    r = RUN("--backend", "kvm", "call", snap, "Add", "40", "2");
    if (glint_backend_probe(GLINT_BACKEND_KVM, &err) == GLINT_OK) {
        expect_ok(&r, "42\n");
    } else {
        expect_fail(&r, 6, "glint: cannot use the kvm backend here (--backend kvm): ");
        cr_expect_str_eq(r.out.p, "");
    }
    run_free(&r);
    /* info runs nothing: --backend changes nothing there. */
    r = RUN("--backend", "kvm", "info", snap);
    cr_expect_eq(r.code, 0, "%s", r.err.p);
    cr_expect(strstr(r.out.p, "Nop() -> void\n"), "%s", r.out.p);
    run_free(&r);
    free(snap);
    rm_rf_dir(dir);
}

/* ---------------------------------------------------------------------------
 * Closed standard descriptors: glint puts /dev/null on them before it opens
 * anything, so neither a guest's memory nor a KVM descriptor can become
 * "standard output" (or input).  Without that, printf wrote the result into
 * the guest's memfd.
 */

static pid_t spawn_with_std_closed(char *const argv[], int *err_fd)
{
    int pe[2];
    cr_assert(pipe2(pe, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, 0);
    posix_spawn_file_actions_addclose(&fa, 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    pid_t pid;
    int e = posix_spawn(&pid, GLINT_BIN, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pe[1]);
    cr_assert(e == 0, "cannot run glint: %s", strerror(e));
    *err_fd = pe[0];
    return pid;
}

static int wait_code(pid_t pid)
{
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* What /proc/PID/fd/FD points at ("" if it cannot be read). */
static void fd_target(pid_t pid, int fd, char *out, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
    ssize_t n = readlink(path, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
}

Test(cli_std, closed_stdin_and_stdout_become_dev_null, .timeout = 30)
{
    need_kvm();
    int err_fd;
    pid_t pid = spawn_with_std_closed(
        (char *[]){"glint", "--timeout", "5000", "call", GUEST("spin"), "Spin", NULL}, &err_fd);
    /* Wait until the VM exists (the guest spins), then look at fds 0 and 1. */
    char t0[256] = "", t1[256] = "";
    for (int i = 0; i < 200; i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        char t[256];
        for (int fd = 0; fd < 16; fd++) {
            fd_target(pid, fd, t, sizeof t);
            if (strstr(t, "kvm-vcpu"))
                goto vm_up;
        }
    }
vm_up:
    fd_target(pid, 0, t0, sizeof t0);
    fd_target(pid, 1, t1, sizeof t1);
    kill(pid, SIGKILL);
    wait_code(pid);
    close(err_fd);
    cr_expect_str_eq(t0, "/dev/null", "standard input of glint is %s", t0);
    cr_expect_str_eq(t1, "/dev/null", "standard output of glint is %s", t1);

    /* And a call works end to end with them closed. */
    pid = spawn_with_std_closed((char *[]){"glint", "call", TYPES_GUEST, "EchoBytes", "@-", NULL},
                                &err_fd);
    struct buf err = {0};
    buf_add(&err, "", 0);
    char chunk[4096];
    ssize_t n;
    while ((n = read(err_fd, chunk, sizeof chunk)) > 0)
        buf_add(&err, chunk, (size_t)n);
    close(err_fd);
    int code = wait_code(pid);
    cr_expect_eq(code, 0, "bytes from a closed stdin: exit code %d; stderr: %s", code, err.p);
    cr_expect_str_eq(err.p, "");
    free(err.p);
}
