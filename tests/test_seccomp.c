/*
 * test_seccomp.c - glint_seccomp_restrict_thread and the CLI's filter.
 *
 * A filter cannot be removed, so every library test installs it in a
 * forked child; the test process stays unfiltered.  The child reports a
 * failed check through a page of shared memory (it may not write to a
 * pipe: the filter allows writes to fd 1 and 2 only) and leaves with _exit
 * (no atexit handlers, which could make forbidden calls).
 *
 * Proves: under the filter the guest still runs calls, host calls, the
 * default print, time limits, interrupts from a host function, restores
 * (also after a fault) and the FS selector reset; a host function's
 * forbidden system calls fail with EPERM (ERRNO mode) or kill the process
 * with SIGSYS (KILL mode); another ABI (int $0x80) is killed in either
 * mode; `glint call` runs under the filter unless --no-seccomp.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define SC_GLINT GLINT_BUILD_DIR "/bin/glint"

extern char **environ;

/* ---- running a check in a filtered child ---------------------------------- */

struct sc_shared {
    char message[1024];
};
static struct sc_shared *sc_shm;

#define CHILD_CHECK(cond, ...)                                                               \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            snprintf(sc_shm->message, sizeof sc_shm->message, __VA_ARGS__);                  \
            _exit(1);                                                                        \
        }                                                                                    \
    } while (0)

#define CHILD_OK(sb, expr)                                                                   \
    do {                                                                                     \
        glint_status st_ = (expr);                                                           \
        CHILD_CHECK(st_ == GLINT_OK, "%s: %s: %s", #expr, glint_status_name(st_),             \
                    (sb) ? glint_sandbox_error(sb)->message : "");                           \
    } while (0)

#define CHILD_STATUS(sb, expr, want)                                                         \
    do {                                                                                     \
        glint_status st_ = (expr);                                                           \
        CHILD_CHECK(st_ == (want), "%s: %s, want %s: %s", #expr, glint_status_name(st_),      \
                    glint_status_name(want), (sb) ? glint_sandbox_error(sb)->message : "");   \
    } while (0)

/* Runs child(arg) in a fork; returns its wait status.  The child's failure
 * message, if any, is in sc_shm->message. */
static int sc_run_child(void (*child)(void *), void *arg)
{
    if (!sc_shm) {
        sc_shm = mmap(NULL, sizeof *sc_shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
        cr_assert(sc_shm != MAP_FAILED, "mmap: %s", strerror(errno));
    }
    memset(sc_shm, 0, sizeof *sc_shm);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        child(arg);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static void sc_expect_exit0(int status)
{
    cr_assert(WIFEXITED(status), "child killed by signal %d (%s): %s",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0,
              WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "?", sc_shm->message);
    cr_assert_eq(WEXITSTATUS(status), 0, "child failed: %s", sc_shm->message);
}

static void sc_expect_sigsys(int status)
{
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
              "child was not killed by SIGSYS (exited %d, signal %d): %s",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0, sc_shm->message);
}

static glint_sandbox *child_create(const char *path, const glint_config *cfg)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_file(path, cfg, &sb, &err);
    CHILD_CHECK(s == GLINT_OK, "create %s: %s", path, err.message);
    return sb;
}

static void child_restrict(unsigned flags)
{
    glint_error err;
    glint_status s = glint_seccomp_restrict_thread(flags, &err);
    CHILD_CHECK(s == GLINT_OK, "glint_seccomp_restrict_thread: %s: %s", glint_status_name(s),
                err.message);
}

/* ---- host functions ------------------------------------------------------- */

static const glint_function sig_block = {.name = "Block", .ret = GLINT_VOID};
static const glint_function sig_tick = {.name = "Tick", .ret = GLINT_U64, .nparams = 1,
                                        .params = {GLINT_U64}};

static glint_status tick_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                            glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)user;
    ret->v.u64 = args[0].v.u64 + 1;
    return GLINT_OK;
}

static glint_status interrupt_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                 glint_value *ret, void *user)
{
    (void)args, (void)nargs, (void)ret, (void)user;
    glint_sandbox_interrupt(glint_hostcall_sandbox(hc)); /* tgkill from the filtered thread */
    return GLINT_OK;
}

/* What a host function saw when it tried forbidden system calls. */
struct forbidden {
    int open_errno, socket_errno, exec_errno, mmap_exec_errno, write_errno, ioctl_errno,
        x32_errno;
};

static int errno_of(long rc)
{
    return rc < 0 ? errno : 0;
}

static glint_status forbidden_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                 glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret;
    struct forbidden *f = user;
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    f->open_errno = errno_of(fd);
    f->socket_errno = errno_of(socket(AF_INET, SOCK_STREAM, 0));
    char *argv[] = {"/bin/true", NULL};
    f->exec_errno = errno_of(execve("/bin/true", argv, environ));
    void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    f->mmap_exec_errno = m == MAP_FAILED ? errno : 0;
    f->write_errno = errno_of(write(3, "x", 1));
    int n;
    f->ioctl_errno = errno_of(ioctl(0, FIONREAD, &n));
    f->x32_errno = errno_of(syscall(0x40000000L | SYS_getpid)); /* x32 ABI */
    return GLINT_OK;
}

static glint_status socket_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                              glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret, (void)user;
    (void)socket(AF_INET, SOCK_STREAM, 0); /* KILL mode: never returns */
    return GLINT_OK;
}

/* ---- the library filter --------------------------------------------------- */

Test(seccomp, unknown_flags_are_refused)
{
    glint_error err;
    cr_assert_eq(glint_seccomp_restrict_thread(0x80, &err), GLINT_E_INVALID);
    cr_assert(th_has(err.message, "flags"), "message: %s", err.message);
    cr_assert_eq(glint_seccomp_restrict_thread(~0u, NULL), GLINT_E_INVALID);
}

/* Snapshots, restores, host calls, print, selectors: all under the filter. */
static void child_calls_and_restores(void *arg)
{
    (void)arg;
    glint_sandbox *sb = child_create(TEST_GUEST("snap_counter"), NULL);
    CHILD_OK(sb, glint_sandbox_register(sb, &sig_tick, tick_cb, NULL));
    CHILD_OK(sb, glint_sandbox_register(sb, &sig_block, interrupt_cb, NULL));
    CHILD_OK(sb, glint_sandbox_init(sb));
    glint_snapshot *snap = NULL;
    CHILD_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 100;
    glint_sandbox *spin = child_create(TEST_GUEST("spin"), &cfg);
    CHILD_OK(spin, glint_sandbox_init(spin));
    glint_sandbox *basic = child_create(TEST_GUEST("basic"), NULL);
    CHILD_OK(basic, glint_sandbox_init(basic));

    child_restrict(GLINT_SECCOMP_ERRNO);

    glint_value r, a = glint_u64(41);
    CHILD_OK(sb, glint_sandbox_call(sb, "Get", NULL, 0, &r));
    uint64_t start = r.v.u64;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3; i++)
            CHILD_OK(sb, glint_sandbox_call(sb, "Bump", NULL, 0, &r));
        CHILD_CHECK(r.v.u64 == start + 3, "Bump gave %llu", (unsigned long long)r.v.u64);
        CHILD_OK(sb, glint_sandbox_call(sb, "CallTick", &a, 1, &r));
        CHILD_CHECK(r.v.u64 == 42, "CallTick(41) = %llu", (unsigned long long)r.v.u64);
        CHILD_OK(sb, glint_sandbox_call(sb, "SetFsSel", NULL, 0, NULL)); /* arch_prctl path */
        CHILD_OK(sb, glint_sandbox_call(sb, "GetFsSel", NULL, 0, &r));
        CHILD_OK(sb, glint_sandbox_restore(sb, snap));
        CHILD_OK(sb, glint_sandbox_call(sb, "Get", NULL, 0, &r));
        CHILD_CHECK(r.v.u64 == start, "Get after restore = %llu, want %llu",
                    (unsigned long long)r.v.u64, (unsigned long long)start);
    }
    CHILD_STATUS(sb, glint_sandbox_call(sb, "Fault", NULL, 0, NULL), GLINT_E_EXCEPTION);
    CHILD_OK(sb, glint_sandbox_restore(sb, snap));
    CHILD_STATUS(sb, glint_sandbox_call(sb, "CallBlock", NULL, 0, NULL), GLINT_E_CANCELLED);
    CHILD_OK(sb, glint_sandbox_restore(sb, snap));
    CHILD_OK(sb, glint_sandbox_call(sb, "Bump", NULL, 0, &r));

    CHILD_STATUS(spin, glint_sandbox_call(spin, "Spin", NULL, 0, NULL), GLINT_E_TIMEOUT);
    glint_value pa[2] = {glint_cstr("under seccomp"), glint_i32(7)};
    CHILD_OK(basic, glint_sandbox_call(basic, "Printf", pa, 2, NULL)); /* default print */

    /* Creating a sandbox is not allowed any more: it fails cleanly. */
    glint_sandbox *late = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_file(TEST_GUEST("basic"), NULL, &late, &err);
    CHILD_CHECK(s != GLINT_OK && late == NULL, "creating a sandbox under the filter gave %s",
                glint_status_name(s));

    glint_sandbox_destroy(spin); /* destruction is allowed */
    glint_sandbox_destroy(basic);
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

Test(seccomp, guest_runs_calls_host_calls_and_restores, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    sc_expect_exit0(sc_run_child(child_calls_and_restores, NULL));
}

static void child_forbidden_errno(void *arg)
{
    (void)arg;
    struct forbidden f;
    memset(&f, 0, sizeof f);
    glint_sandbox *sb = child_create(TEST_GUEST("basic"), NULL);
    CHILD_OK(sb, glint_sandbox_register(sb, &sig_block, forbidden_cb, &f));
    CHILD_OK(sb, glint_sandbox_init(sb));
    child_restrict(GLINT_SECCOMP_ERRNO);
    glint_value r;
    CHILD_OK(sb, glint_sandbox_call(sb, "CallBlock", NULL, 0, &r));
    CHILD_CHECK(r.v.i32 == 7, "CallBlock gave %d", r.v.i32);
    CHILD_CHECK(f.open_errno == EPERM, "open: errno %d", f.open_errno);
    CHILD_CHECK(f.socket_errno == EPERM, "socket: errno %d", f.socket_errno);
    CHILD_CHECK(f.exec_errno == EPERM, "execve: errno %d", f.exec_errno);
    CHILD_CHECK(f.mmap_exec_errno == EPERM, "mmap PROT_EXEC: errno %d", f.mmap_exec_errno);
    CHILD_CHECK(f.write_errno == EPERM, "write to fd 3: errno %d", f.write_errno);
    CHILD_CHECK(f.ioctl_errno == EPERM, "ioctl FIONREAD: errno %d", f.ioctl_errno);
    CHILD_CHECK(f.x32_errno == EPERM, "x32 getpid: errno %d", f.x32_errno);
    glint_value args[2] = {glint_i32(40), glint_i32(2)};
    CHILD_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r)); /* still usable */
    CHILD_CHECK(r.v.i32 == 42, "Add gave %d", r.v.i32);
    glint_sandbox_destroy(sb);
}

Test(seccomp, forbidden_calls_fail_with_eperm, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    sc_expect_exit0(sc_run_child(child_forbidden_errno, NULL));
}

static void child_forbidden_kill(void *arg)
{
    (void)arg;
    glint_sandbox *sb = child_create(TEST_GUEST("basic"), NULL);
    CHILD_OK(sb, glint_sandbox_register(sb, &sig_block, socket_cb, NULL));
    CHILD_OK(sb, glint_sandbox_init(sb));
    child_restrict(GLINT_SECCOMP_KILL);
    glint_value r, args[2] = {glint_i32(40), glint_i32(2)};
    CHILD_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    CHILD_CHECK(r.v.i32 == 42, "Add gave %d", r.v.i32);
    (void)glint_sandbox_call(sb, "CallBlock", NULL, 0, &r);
    CHILD_CHECK(0, "a forbidden socket() in a host function did not kill the process");
}

Test(seccomp, forbidden_call_kills_in_kill_mode, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    sc_expect_sigsys(sc_run_child(child_forbidden_kill, NULL));
}

/* The i386 entry point (int $0x80) fails closed: killed even in ERRNO mode. */
static void child_other_abi(void *arg)
{
    (void)arg;
    child_restrict(GLINT_SECCOMP_ERRNO);
    long rc = 20; /* i386 getpid */
    __asm__ volatile("int $0x80" : "+a"(rc) : : "memory");
    CHILD_CHECK(0, "int $0x80 returned %ld under the filter", rc);
}

Test(seccomp, other_abi_is_killed)
{
    sc_expect_sigsys(sc_run_child(child_other_abi, NULL));
}

/* ---- the CLI ---------------------------------------------------------------- */

/* The "Seccomp:" mode of `pid` (0 none, 2 filter), or -1. */
static int seccomp_mode_of(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int mode = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Seccomp: %d", &mode) == 1)
            break;
    fclose(f);
    return mode;
}

/* Starts `glint [extra] call spin.elf Spin`, waits until it reached the
 * guest (its filter is set before initialization), and returns the mode
 * its main thread shows; the spinner is then killed. */
static int cli_mode_while_spinning(const char *extra)
{
    char *argv[8];
    int n = 0;
    argv[n++] = "glint";
    if (extra)
        argv[n++] = (char *)extra;
    argv[n++] = "--timeout";
    argv[n++] = "20000";
    argv[n++] = "call";
    argv[n++] = TEST_GUEST("spin");
    argv[n++] = "Spin";
    argv[n] = NULL;
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, SC_GLINT, NULL, NULL, argv, environ), 0);
    int mode = -1;
    for (int i = 0; i < 100 && mode != 2; i++) { /* up to 5 s */
        th_sleep_ms(50);
        mode = seccomp_mode_of(pid);
    }
    if (extra) /* no filter expected: give it time to reach the guest anyway */
        th_sleep_ms(300), mode = seccomp_mode_of(pid);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    return mode;
}

Test(seccomp, cli_runs_under_the_filter, .timeout = 30)
{
    SKIP_IF_NO_KVM();
    if (getenv("GLINT_UNDER_ASAN"))
        cr_skip_test("the CLI of a sanitizer build runs without the filter (LeakSanitizer "
                     "needs clone and ptrace at exit)");
    cr_assert_eq(cli_mode_while_spinning(NULL), 2, "glint call is not under a seccomp filter");
    cr_assert_eq(cli_mode_while_spinning("--no-seccomp"), 0,
                 "glint --no-seccomp call is under a seccomp filter");
}

/* Runs glint with argv; returns the exit code (128 + signal if killed) and
 * captures stdout into out. */
static int cli_run(char *const argv[], char *out, size_t size)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, SC_GLINT, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    size_t len = 0;
    ssize_t k;
    while (len + 1 < size && (k = read(p[0], out + len, size - 1 - len)) > 0)
        len += (size_t)k;
    out[len] = '\0';
    close(p[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Every kind of call the CLI makes, with the filter on (the default):
 * results of each type, print, GetWeekday, guest failures, time limits. */
Test(seccomp, cli_every_kind_of_call, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    static const struct {
        const char *guest, *fn, *arg;
        int code;
        const char *out;
    } cases[] = {
        {TYPES_GUEST, "Void", NULL, 0, ""},
        {TEST_GUEST("basic"), "Add", "20", 0, NULL}, /* two args: below */
        {TEST_GUEST("basic"), "Echo", "hello", 0, "hello\n"},
        {TEST_GUEST("basic"), "Printf", "x", 0, NULL},
        {HELLO_GUEST, "SayHello", "World", 0, "Hello, World!"},
        {TEST_GUEST("aborts"), "Abort", NULL, 4, ""},
        {TEST_GUEST("invalid_op"), "Ud2", NULL, 4, ""},
        {TEST_GUEST("spin"), "Spin", NULL, 5, ""},
        {TEST_GUEST("host_unregistered"), "CallMissing", NULL, 0, "rc=-1"},
    };
    char out[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[12];
        int n = 0;
        argv[n++] = "glint";
        argv[n++] = "--weekday";
        argv[n++] = "--timeout";
        argv[n++] = "200";
        argv[n++] = "call";
        argv[n++] = (char *)cases[i].guest;
        argv[n++] = (char *)cases[i].fn;
        if (cases[i].arg)
            argv[n++] = (char *)cases[i].arg;
        if (!strcmp(cases[i].fn, "Add") || !strcmp(cases[i].fn, "Printf"))
            argv[n++] = "22";
        argv[n] = NULL;
        int code = cli_run(argv, out, sizeof out);
        cr_assert_eq(code, cases[i].code, "%s %s: exit %d, want %d (%d = SIGSYS?)",
                     cases[i].guest, cases[i].fn, code, cases[i].code, 128 + SIGSYS);
        if (cases[i].out && cases[i].out[0])
            cr_assert(th_has(out, cases[i].out), "%s: output \"%s\"", cases[i].fn, out);
    }
    char *add[] = {"glint", "call", TEST_GUEST("basic"), "Add", "20", "22", NULL};
    cr_assert_eq(cli_run(add, out, sizeof out), 0);
    cr_assert_str_eq(out, "42\n");
    char *print[] = {"glint", "call", TEST_GUEST("basic"), "Printf", "hi", "5", NULL};
    cr_assert_eq(cli_run(print, out, sizeof out), 0);
    cr_assert(th_has(out, "print:hi:5"), "print output \"%s\"", out);
}
