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
 * with SIGSYS (KILL mode); the process backend's calls (pidfd_send_signal,
 * waitid, ioctl PAGEMAP_SCAN) pass with their pinned arguments and fail
 * with EPERM with any other; x32 calls are forbidden (EPERM, SIGSYS in
 * KILL mode); the i386 entry point (int $0x80) is killed with SIGSYS in
 * ERRNO mode on a kernel with IA-32 emulation, and is #GP (SIGSEGV) before
 * any system call on one without; `glint call` runs under the filter
 * unless --no-seccomp.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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
    /* The process backend's keeper idle (not forking spares or reaping)
     * when this multi-threaded process forks: less the fork can catch
     * half-way (see the 40 s bound below). */
    glint_debug_process_settle();
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Never outlive the test (a test killed for its time limit must not
         * leave a child holding the runner's output open). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(3);
        child(arg);
        _exit(0);
    }
    /* Bounded: a child stuck for 40 s fails the test with a message instead
     * of hanging the suite.  (Seen twice under AddressSanitizer, in full
     * runs only: a fork taken while another thread of the test process held
     * the sanitizer allocator's lock left the child's allocator locked for
     * good.) */
    int status = 0;
    double t0 = th_now_ms();
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && th_now_ms() - t0 < 40000)
        th_sleep_ms(5);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_fail("the test's child process %d did not finish in 40 s (killed)", (int)pid);
    }
    cr_assert_eq(r, pid);
    return status;
}

static void sc_expect_exit0(int status)
{
    cr_assert(WIFEXITED(status), "child killed by signal %d (%s): %s",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0,
              WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "?", sc_shm->message);
    cr_assert_eq(WEXITSTATUS(status), 0, "child failed: %s", sc_shm->message);
}

static void sc_expect_signal(int status, int sig)
{
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig,
              "child was not killed by %s (exited %d, signal %d): %s", strsignal(sig),
              WIFEXITED(status) ? WEXITSTATUS(status) : -1,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0, sc_shm->message);
}

static void sc_expect_sigsys(int status)
{
    sc_expect_signal(status, SIGSYS);
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

/* Binds the snap_counter guest's host functions (Tick, Block) and runs its
 * initialization. */
static void child_init_counter(glint_sandbox *sb)
{
    CHILD_OK(sb, glint_sandbox_register(sb, &sig_tick, tick_cb, NULL));
    CHILD_OK(sb, glint_sandbox_register(sb, &sig_block, interrupt_cb, NULL));
    CHILD_OK(sb, glint_sandbox_init(sb));
}

/* Snapshots, restores, host calls, print, selectors: all under the filter. */
static void child_calls_and_restores(void *arg)
{
    (void)arg;
    glint_sandbox *sb = child_create(TEST_GUEST("snap_counter"), NULL);
    child_init_counter(sb);
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

/* A sandbox made before the filter whose dirty pages are first read under
 * it (the process backend opens the process's pagemap then: on its keeper
 * thread, since the filter forbids open), in the filter's killing mode. */
static void child_first_restore_under_filter(void *arg)
{
    (void)arg;
    glint_sandbox *base = child_create(TEST_GUEST("snap_counter"), NULL);
    child_init_counter(base);
    glint_snapshot *snap = NULL;
    CHILD_OK(base, glint_sandbox_snapshot(base, &snap));
    glint_sandbox_destroy(base);
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_from_snapshot(snap, &sb, &err);
    CHILD_CHECK(s == GLINT_OK, "create from snapshot: %s", err.message);
    child_init_counter(sb);

    child_restrict(0);

    glint_value r;
    CHILD_OK(sb, glint_sandbox_call(sb, "Get", NULL, 0, &r));
    uint64_t start = r.v.u64;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3; i++)
            CHILD_OK(sb, glint_sandbox_call(sb, "Bump", NULL, 0, &r));
        CHILD_CHECK(r.v.u64 == start + 3, "Bump gave %llu", (unsigned long long)r.v.u64);
        CHILD_OK(sb, glint_sandbox_restore(sb, snap));
        CHILD_OK(sb, glint_sandbox_call(sb, "Get", NULL, 0, &r));
        CHILD_CHECK(r.v.u64 == start, "Get after restore = %llu, want %llu",
                    (unsigned long long)r.v.u64, (unsigned long long)start);
    }
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

Test(seccomp, first_restore_of_a_new_sandbox_under_the_filter, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    sc_expect_exit0(sc_run_child(child_first_restore_under_filter, NULL));
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

/* ---- other ABIs ------------------------------------------------------------ */

#define SC_X32_BIT 0x40000000L /* __X32_SYSCALL_BIT */

/* x32: the x86-64 entry point (AUDIT_ARCH_X86_64) with __X32_SYSCALL_BIT in
 * the number.  Unfiltered, the kernel answers getpid (x32 enabled) or
 * ENOSYS (disabled); never EPERM or SIGSYS, so those come from the filter. */
static void child_x32_unfiltered(void *arg)
{
    (void)arg;
    long rc = syscall(SC_X32_BIT | SYS_getpid);
    int e = errno;
    CHILD_CHECK(rc == getpid() || (rc == -1 && e == ENOSYS),
                "unfiltered x32 getpid: rc %ld, errno %d (%s)", rc, e, strerror(e));
    if (rc == -1)
        _exit(2); /* x32 disabled in this kernel */
}

static void child_x32_errno(void *arg)
{
    (void)arg;
    child_restrict(GLINT_SECCOMP_ERRNO);
    long rc = syscall(SC_X32_BIT | SYS_getpid);
    int e = errno;
    CHILD_CHECK(rc == -1 && e == EPERM, "x32 getpid under the ERRNO filter: rc %ld, errno %d", rc,
                e);
    rc = syscall(SC_X32_BIT | SYS_write, 1, "", 0); /* write(1) is allowed, but not as x32 */
    e = errno;
    CHILD_CHECK(rc == -1 && e == EPERM, "x32 write(1) under the ERRNO filter: rc %ld, errno %d",
                rc, e);
}

static void child_x32_kill(void *arg)
{
    (void)arg;
    child_restrict(GLINT_SECCOMP_KILL);
    long rc = syscall(SC_X32_BIT | SYS_getpid);
    CHILD_CHECK(0, "x32 getpid under the KILL filter returned %ld (errno %d)", rc, errno);
}

Test(seccomp, x32_abi_is_forbidden)
{
    int status = sc_run_child(child_x32_unfiltered, NULL);
    cr_assert(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2),
              "unfiltered x32 probe: status 0x%x: %s", status, sc_shm->message);
    cr_log_info("seccomp: this kernel %s x32 system calls",
                WEXITSTATUS(status) == 0 ? "runs" : "refuses (ENOSYS)");
    sc_expect_exit0(sc_run_child(child_x32_errno, NULL));
    sc_expect_sigsys(sc_run_child(child_x32_kill, NULL));
}

/* i386: int $0x80 with eax = 20 (i386 getpid). */
static long sc_int80_getpid(void)
{
    long rc = 20;
    __asm__ volatile("int $0x80" : "+a"(rc) : : "memory", "r8", "r9", "r10", "r11");
    return rc;
}

/* Without the filter: exits 0 if the kernel runs i386 system calls (IA-32
 * emulation); without it, int $0x80 is #GP and the child dies of SIGSEGV. */
static void child_int80_unfiltered(void *arg)
{
    (void)arg;
    signal(SIGSEGV, SIG_DFL); /* a sanitizer's SEGV handler would turn #GP into exit(1) */
    long rc = sc_int80_getpid();
    CHILD_CHECK(rc == getpid(), "unfiltered int $0x80 getpid returned %ld, want %d", rc,
                (int)getpid());
}

/* The filter fails closed on another architecture: killed even in ERRNO
 * mode, where an x86-64 call would just fail. */
static void child_int80_errno(void *arg)
{
    (void)arg;
    signal(SIGSEGV, SIG_DFL);
    child_restrict(GLINT_SECCOMP_ERRNO);
    long rc = sc_int80_getpid();
    CHILD_CHECK(0, "int $0x80 returned %ld under the filter", rc);
}

Test(seccomp, i386_abi_is_killed_or_absent)
{
    int probe = sc_run_child(child_int80_unfiltered, NULL);
    int ia32;
    if (WIFEXITED(probe) && WEXITSTATUS(probe) == 0)
        ia32 = 1;
    else if (WIFSIGNALED(probe) && WTERMSIG(probe) == SIGSEGV)
        ia32 = 0;
    else
        cr_assert_fail("unfiltered int $0x80 probe: status 0x%x (want exit 0 or SIGSEGV): %s",
                       probe, sc_shm->message);
    int status = sc_run_child(child_int80_errno, NULL);
    if (ia32) {
        cr_log_info("seccomp: this kernel has IA-32 emulation: int $0x80 under the filter must "
                    "die of SIGSYS");
        sc_expect_sigsys(status);
    } else {
        cr_log_info("seccomp: this kernel has no IA-32 emulation (int $0x80 is #GP): int $0x80 "
                    "under the filter must die of SIGSEGV, before reaching seccomp");
        sc_expect_signal(status, SIGSEGV);
    }
}

/* ---- the process backend's system calls ------------------------------------ */

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* PAGEMAP_SCAN (Linux 6.7), for headers that predate it. */
struct sc_page_region {
    uint64_t start, end, categories;
};
struct sc_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
};
#define SC_PAGEMAP_SCAN _IOWR('f', 16, struct sc_pm_scan_arg)
#define SC_PAGE_IS_PRESENT (1ull << 3)
_Static_assert(SC_PAGEMAP_SCAN == 0xC0606610u, "PAGEMAP_SCAN");

/* Expects a raw system call's result to be refused by the filter. */
#define CHILD_EPERM(expr)                                                                    \
    do {                                                                                     \
        errno = 0;                                                                           \
        long rc_ = (expr);                                                                   \
        int e_ = errno;                                                                      \
        CHILD_CHECK(rc_ == -1 && e_ == EPERM, "%s: rc %ld, errno %d (%s), want EPERM", #expr,  \
                    rc_, e_, strerror(e_));                                                  \
    } while (0)

#define CHILD_RC(expr, want)                                                                 \
    do {                                                                                     \
        errno = 0;                                                                           \
        long rc_ = (expr);                                                                   \
        int e_ = errno;                                                                      \
        CHILD_CHECK(rc_ == (want), "%s: rc %ld, errno %d (%s), want %ld", #expr, rc_, e_,     \
                    strerror(e_), (long)(want));                                             \
    } while (0)

/* Under the ERRNO filter, each of the process backend's calls passes with
 * the arguments it uses and is refused (EPERM) with any other value of a
 * pinned argument.  Every refused variant is one the kernel would accept
 * (or answer with another errno), so EPERM can only come from the filter. */
static void child_process_backend_calls(void *arg)
{
    (void)arg;
    /* A child to signal and reap, as the process backend's stub: it
     * blocks SIGUSR1 and SIGTERM, so neither ends it. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t parent = getpid();
    pid_t kid = fork();
    CHILD_CHECK(kid >= 0, "fork: %s", strerror(errno));
    if (kid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* the check below closes the race with it */
        if (getppid() != parent)
            _exit(0);
        for (;;)
            pause();
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    int pidfd = (int)syscall(SYS_pidfd_open, kid, 0);
    CHILD_CHECK(pidfd >= 0, "pidfd_open: %s", strerror(errno));

    /* Two pages, the first touched: PAGEMAP_SCAN reports exactly it. */
    char *mem = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHILD_CHECK(mem != MAP_FAILED, "mmap: %s", strerror(errno));
    mem[0] = 1;
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    CHILD_CHECK(pagemap >= 0, "open /proc/self/pagemap: %s", strerror(errno));
    int spare = dup(pagemap);
    CHILD_CHECK(spare >= 0, "dup: %s", strerror(errno));
    pid_t self = getpid();

    child_restrict(GLINT_SECCOMP_ERRNO);

    /* ioctl PAGEMAP_SCAN: allowed; the same request with another size is not. */
    struct sc_page_region vec[4];
    memset(vec, 0, sizeof vec);
    struct sc_pm_scan_arg a = {
        .size = sizeof a, .start = (uint64_t)(uintptr_t)mem,
        .end = (uint64_t)(uintptr_t)mem + 8192, .vec = (uint64_t)(uintptr_t)vec, .vec_len = 4,
        .category_mask = SC_PAGE_IS_PRESENT, .return_mask = SC_PAGE_IS_PRESENT,
    };
    CHILD_RC(ioctl(pagemap, SC_PAGEMAP_SCAN, &a), 1);
    CHILD_CHECK(vec[0].start == a.start && vec[0].end == a.start + 4096 &&
                    vec[0].categories == SC_PAGE_IS_PRESENT,
                "PAGEMAP_SCAN region [0x%llx, 0x%llx) categories 0x%llx",
                (unsigned long long)vec[0].start, (unsigned long long)vec[0].end,
                (unsigned long long)vec[0].categories);
    CHILD_EPERM(ioctl(pagemap, _IOWR('f', 16, char[88]), &a));
    CHILD_EPERM(ioctl(pagemap, _IOWR('f', 17, struct sc_pm_scan_arg), &a));

    /* pidfd_send_signal: signals 0, SIGUSR1, SIGKILL; no siginfo; no flags. */
    CHILD_RC(syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0), 0);
    CHILD_RC(syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0), 0);
    CHILD_EPERM(syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0));
    CHILD_EPERM(syscall(SYS_pidfd_send_signal, pidfd, SIGSTOP, NULL, 0));
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_QUEUE; /* the kernel would accept this siginfo */
    info.si_pid = self;
    CHILD_EPERM(syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, &info, 0));
    CHILD_EPERM(syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, (void *)(1ull << 32), 0));
    CHILD_EPERM(syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 1u /* PIDFD_SIGNAL_THREAD */));

    /* waitid: P_PIDFD only; WEXITED, WNOHANG, WNOWAIT only; no rusage. */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHILD_RC(syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WNOHANG | WNOWAIT, NULL), 0);
    CHILD_CHECK(si.si_pid == 0, "waitid WNOHANG on a live child: si_pid %d", (int)si.si_pid);
    CHILD_EPERM(syscall(SYS_waitid, P_PID, kid, &si, WEXITED | WNOHANG, NULL));
    CHILD_EPERM(syscall(SYS_waitid, P_ALL, 0, &si, WEXITED | WNOHANG, NULL));
    CHILD_EPERM(syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WSTOPPED | WNOHANG, NULL));
    CHILD_EPERM(syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WNOHANG | __WALL, NULL));
    struct rusage ru;
    CHILD_EPERM(syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WNOHANG, &ru));

    /* A busy caller shares its CPU with its sandbox process (process.c:
     * share_cpu): its own involuntary switches, its CPU, the child's
     * affinity; nobody else's usage. */
    CHILD_RC(syscall(SYS_getrusage, RUSAGE_THREAD, &ru), 0);
    CHILD_EPERM(syscall(SYS_getrusage, RUSAGE_SELF, &ru));
    CHILD_EPERM(syscall(SYS_getrusage, RUSAGE_CHILDREN, &ru));
    unsigned cpu = 0;
    CHILD_RC(syscall(SYS_getcpu, &cpu, NULL, NULL), 0);
    cpu_set_t mask;
    CPU_ZERO(&mask);
    CPU_SET(cpu, &mask);
    CHILD_RC(syscall(SYS_sched_setaffinity, kid, sizeof mask, &mask), 0);

    CHILD_RC(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0), 0);
    memset(&si, 0, sizeof si);
    CHILD_RC(syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED, NULL), 0);
    CHILD_CHECK(si.si_pid == kid && si.si_code == CLD_KILLED && si.si_status == SIGKILL,
                "waitid reaped pid %d code %d status %d, want %d killed by SIGKILL",
                (int)si.si_pid, si.si_code, si.si_status, (int)kid);

    /* Always allowed, used around them: close, clock_gettime, sched_yield, getpid. */
    struct timespec ts;
    CHILD_RC(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts), 0);
    CHILD_RC(syscall(SYS_sched_yield), 0);
    CHILD_RC(syscall(SYS_getpid), self);
    CHILD_RC(close(pidfd), 0);
    CHILD_RC(close(spare), 0);
    CHILD_RC(close(pagemap), 0);
    /* ...and what stays forbidden next to them. */
    CHILD_EPERM(syscall(SYS_pidfd_open, self, 0));
    CHILD_EPERM(syscall(SYS_kill, kid, SIGKILL));
    CHILD_EPERM(syscall(SYS_wait4, -1, NULL, WNOHANG, NULL));
}

Test(seccomp, process_backend_calls_are_pinned)
{
    sc_expect_exit0(sc_run_child(child_process_backend_calls, NULL));
}

/* In KILL mode a refused variant kills the process. */
static void child_pidfd_signal_kill(void *arg)
{
    (void)arg;
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    CHILD_CHECK(pidfd >= 0, "pidfd_open: %s", strerror(errno));
    child_restrict(GLINT_SECCOMP_KILL);
    CHILD_RC(syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0), 0);
    long rc = syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
    CHILD_CHECK(0, "pidfd_send_signal(SIGTERM) under the KILL filter returned %ld", rc);
}

Test(seccomp, process_backend_variant_kills_in_kill_mode)
{
    sc_expect_sigsys(sc_run_child(child_pidfd_signal_kill, NULL));
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
