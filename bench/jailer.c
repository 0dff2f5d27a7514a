/*
 * jailer.c - the floors of the jailed-process mechanism (the process
 * backend's), measured with the bench's own minimal jailer (jailer.h,
 * guests/jail-stub.c), independent of libglint, in the same run as
 * everything else:
 *
 *   floor_proc_fault_handler     `out` in ring 3 (#GP) -> SIGSEGV handler
 *                                on an alternate stack in this process,
 *                                RIP += 2 through the ucontext, sigreturn
 *   floor_proc_gate_roundtrip    the same exchange without a fault (the exit gate)
 *   floor_proc_exit_roundtrip    the exit glint uses: the jailed stub's
 *                                `out` -> its handler -> message on the
 *                                shared page -> host wakes, answers ->
 *                                handler steps RIP and returns -> next `out`
 *   floor_proc_ptrace_roundtrip  the same exit through ptrace: SIGSEGV stop,
 *                                GETREGS, SETREGS (rip + 2), CONT 0, waitpid
 *   floor_proc_create            memfd + posix_spawn of the stub + its set-up
 *                                and first exit + SIGKILL + reap
 *   floor_proc_memory            memory per live stub parked in its handler
 *
 * Every figure also carries min_us (the brief's "min / median").  What
 * cannot run here is recorded as skipped with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench.h"
#include "jailer.h"

#define SPIN_NS 20000u           /* both sides spin up to ~20 us before the futex */
#define WAIT_LIMIT_NS 2000000000ull /* a stub that does not report in 2 s has failed */

static int g_ncpu;
static uint32_t g_child_spin; /* pause loops of ~SPIN_NS, 0 on one CPU */
static const char *g_stub;

/* ------------------------------------------------------------------------- */

/* Records `s` with its minimum as the extra min_us and in the note. */
static struct result *add_min_median(const char *name, struct samples *s)
{
    double min = s->n ? s->v[0] : 0;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] < min)
            min = s->v[i];
    struct result *r = result_add(name, s);
    if (!r->skipped) {
        result_extra(r, "min_us", min / 1000.0);
        result_note(r, "min %.3f us", min / 1000.0);
    }
    return r;
}

static int count_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Pause loops (a load of a shared word and `pause`, as the stub spins)
 * that take about `ns` here. */
static uint32_t calibrate_spin(uint64_t ns)
{
    volatile uint32_t word = 0;
    const uint32_t loops = 20000;
    uint64_t best = UINT64_MAX;
    for (int t = 0; t < 5; t++) {
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < loops; i++) {
            if (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 1)
                break;
            __builtin_ia32_pause();
        }
        uint64_t dt = now_ns() - t0;
        if (dt && dt < best)
            best = dt;
    }
    if (best == UINT64_MAX)
        return 1000;
    uint64_t n = ns * loops / best;
    return n < 1 ? 1 : n > 1000000 ? 1000000 : (uint32_t)n;
}

/* ------------------------------------------------------------------------- */
/* floor_proc_fault_handler: in this process. */

static volatile sig_atomic_t g_faults;
static volatile int g_fault_sig;
static volatile long g_fault_trapno;

static void fault_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)si;
    ucontext_t *uc = ucv;
    uc->uc_mcontext.gregs[REG_RIP] += 2; /* `out %al,$0x10` and `ud2` are 2 bytes */
    g_fault_sig = sig;
    g_fault_trapno = (long)uc->uc_mcontext.gregs[REG_TRAPNO];
    g_faults++;
}

static double time_fault(int ud2)
{
    uint64_t t0 = now_ns();
    if (ud2)
        __asm__ volatile("ud2" ::: "memory");
    else
        __asm__ volatile("out %%al, $0x10" ::"a"(0) : "memory");
    return (double)(now_ns() - t0);
}

static void floor_fault_handler(void)
{
    const char *name = "floor_proc_fault_handler";
    size_t alt_size = 65536;
    void *alt = malloc(alt_size);
    stack_t ss = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0}, old_ss;
    struct sigaction sa, old_segv, old_ill;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    if (!alt || sigaltstack(&ss, &old_ss) < 0) {
        result_skip(name, "not measured: sigaltstack: %s", strerror(errno));
        free(alt);
        return;
    }
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGILL, &sa, &old_ill);

    size_t warm = iters(1000, 100), n = iters(20000, 500);
    struct samples s = {0}, u = {0};
    g_faults = 0;
    for (size_t i = 0; i < warm; i++)
        time_fault(0), time_fault(1);
    int out_sig = 0;
    long out_trap = -1;
    for (size_t i = 0; i < n; i++) {
        samples_add(&s, time_fault(0));
        if (i == 0)
            out_sig = g_fault_sig, out_trap = g_fault_trapno;
    }
    for (size_t i = 0; i < n; i++)
        samples_add(&u, time_fault(1));
    int ud2_sig = g_fault_sig;
    long ud2_trap = g_fault_trapno;
    size_t faults = (size_t)g_faults;

    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGILL, &old_ill, NULL);
    sigaltstack(&old_ss, NULL);
    free(alt);

    if (faults != 2 * (warm + n)) {
        samples_free(&s);
        samples_free(&u);
        result_skip(name, "not measured: %zu faults reached the handler, not %zu", faults,
                    2 * (warm + n));
        return;
    }
    double umin = u.n ? u.v[0] : 0;
    for (size_t i = 0; i < u.n; i++)
        umin = u.v[i] < umin ? u.v[i] : umin;
    double up50 = samples_pct(&u, 0.5);
    samples_free(&u);
    struct result *r = add_min_median(name, &s);
    result_extra(r, "ud2_p50_us", up50 / 1000.0);
    result_extra(r, "ud2_min_us", umin / 1000.0);
    result_note(r, "out %%al,$0x10 in ring 3 (signal %d, trap %ld) -> handler on an alternate "
                   "stack in this process, RIP += 2, sigreturn; ud2 (signal %d, trap %ld): "
                   "p50 %.3f, min %.3f us",
                out_sig, out_trap, ud2_sig, ud2_trap, up50 / 1000.0, umin / 1000.0);
}

static struct {
    void *alt;
    stack_t old_ss;
    struct sigaction old_segv;
    int open;
} g_fo;

int jailer_fault_open(char *why, size_t len)
{
    if (g_fo.open)
        return 0;
    size_t alt_size = 65536;
    if (!g_fo.alt && !(g_fo.alt = malloc(alt_size))) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    stack_t ss = {.ss_sp = g_fo.alt, .ss_size = alt_size, .ss_flags = 0};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    if (sigaltstack(&ss, &g_fo.old_ss) < 0) {
        snprintf(why, len, "sigaltstack: %s", strerror(errno));
        return -1;
    }
    sigaction(SIGSEGV, &sa, &g_fo.old_segv);
    g_fo.open = 1;
    return 0;
}

double jailer_fault_once(void)
{
    sig_atomic_t before = g_faults;
    double ns = time_fault(0);
    return g_faults == before + 1 ? ns : -1;
}

void jailer_fault_close(void)
{
    if (!g_fo.open)
        return;
    sigaction(SIGSEGV, &g_fo.old_segv, NULL);
    sigaltstack(&g_fo.old_ss, NULL);
    g_fo.open = 0;
}

/* ------------------------------------------------------------------------- */
/* The jailed stub. */

struct jchild {
    pid_t pid;
    struct jail_ctl *ctl;
    uint32_t seen;   /* to_host of the last report consumed */
    int reaped;
    int status;
};

extern char **environ;

/* Starts the stub with a fresh control page; 0 or -1 with a reason. */
static int jail_spawn_mode(struct jchild *j, uint32_t spin, uint32_t gate, char *why, size_t len);

static int jail_spawn(struct jchild *j, uint32_t spin, char *why, size_t len)
{
    return jail_spawn_mode(j, spin, 0, why, len);
}

static int jail_spawn_mode(struct jchild *j, uint32_t spin, uint32_t gate, char *why, size_t len)
{
    memset(j, 0, sizeof *j);
    j->pid = -1;
    int fd = (int)syscall(SYS_memfd_create, "bench-jail-ctl", MFD_CLOEXEC);
    if (fd < 0) {
        snprintf(why, len, "memfd_create: %s", strerror(errno));
        return -1;
    }
    if (ftruncate(fd, 4096) < 0) {
        snprintf(why, len, "ftruncate: %s", strerror(errno));
        close(fd);
        return -1;
    }
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(why, len, "mmap: %s", strerror(errno));
        close(fd);
        return -1;
    }
    j->ctl = p;
    j->ctl->magic = JAIL_MAGIC;
    j->ctl->spin = spin;
    j->ctl->gate = gate;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, JAIL_CTL_FD);
    char *argv[] = {(char *)"jail-stub", NULL}, *envp[] = {NULL};
    int e = posix_spawn(&j->pid, g_stub, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    if (e != 0) {
        snprintf(why, len, "posix_spawn %s: %s", g_stub, strerror(e));
        munmap(p, 4096);
        j->ctl = NULL;
        j->pid = -1;
        return -1;
    }
    return 0;
}

/* Why the stub died, from its wait status. */
static void death_reason(const struct jchild *j, char *why, size_t len)
{
    int st = j->status;
    if (WIFEXITED(st) && WEXITSTATUS(st) > 100)
        snprintf(why, len, "the stub failed its set-up step %u (rc %lld), exit %d",
                 j->ctl ? j->ctl->failed_step : 0, j->ctl ? (long long)j->ctl->failed_rc : 0,
                 WEXITSTATUS(st));
    else if (WIFEXITED(st))
        snprintf(why, len, "the stub exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(why, len, "the stub was killed by signal %d%s", WTERMSIG(st),
                 WTERMSIG(st) == SIGSYS ? " (its seccomp filter)" : "");
    else
        snprintf(why, len, "the stub stopped (status 0x%x)", st);
}

/* Waits for the stub's next report (to_host != j->seen): spins up to
 * spin_ns, then sleeps on the futex.  0, or -1 with a reason. */
static int jail_wait(struct jchild *j, uint64_t spin_ns, char *why, size_t len)
{
    struct jail_ctl *c = j->ctl;
    uint32_t seen = j->seen;
    if (spin_ns) {
        uint64_t end = now_ns() + spin_ns;
        for (unsigned i = 0;; i++) {
            uint32_t v = __atomic_load_n(&c->to_host, __ATOMIC_ACQUIRE);
            if (v != seen) {
                j->seen = v;
                return 0;
            }
            __builtin_ia32_pause();
            if ((i & 63) == 63 && now_ns() >= end)
                break;
        }
    }
    uint64_t deadline = now_ns() + WAIT_LIMIT_NS;
    for (;;) {
        __atomic_store_n(&c->host_waiting, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST) != seen)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        syscall(SYS_futex, &c->to_host, FUTEX_WAIT, seen, &ts, NULL, 0);
        if (__atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST) != seen)
            break;
        if (!j->reaped && waitpid(j->pid, &j->status, WNOHANG) == j->pid)
            j->reaped = 1;
        if (j->reaped || now_ns() > deadline) {
            __atomic_store_n(&c->host_waiting, 0, __ATOMIC_RELAXED);
            if (j->reaped)
                death_reason(j, why, len);
            else
                snprintf(why, len, "the stub did not report within %llu ms",
                         (unsigned long long)(WAIT_LIMIT_NS / 1000000));
            return -1;
        }
    }
    __atomic_store_n(&c->host_waiting, 0, __ATOMIC_RELAXED);
    j->seen = __atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST);
    return 0;
}

/* Answers the last report: step over the `out`. */
static void jail_answer(struct jchild *j)
{
    struct jail_ctl *c = j->ctl;
    c->cmd = JAIL_CMD_STEP;
    __atomic_add_fetch(&c->to_child, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->child_waiting, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, &c->to_child, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void jail_kill(struct jchild *j)
{
    if (j->pid > 0 && !j->reaped) {
        kill(j->pid, SIGKILL);
        while (waitpid(j->pid, &j->status, 0) < 0 && errno == EINTR)
            ;
        j->reaped = 1;
    }
}

static void jail_destroy(struct jchild *j)
{
    jail_kill(j);
    if (j->ctl)
        munmap(j->ctl, 4096);
    j->ctl = NULL;
}

/* ------------------------------------------------------------------------- */
/* floor_proc_exit_roundtrip */

/* A stub (gate: exits by call, not by fault) stopped at its first report;
 * 0, or -1 with figure `name` skipped and the stub gone. */
static int jail_first_exit(struct jchild *j, uint32_t gate, uint64_t spin_ns, const char *name)
{
    char why[300];
    if (jail_spawn_mode(j, g_child_spin, gate, why, sizeof why) < 0) {
        result_skip(name, "not measured: %s", why);
        return -1;
    }
    if (jail_wait(j, spin_ns, why, sizeof why) < 0) {
        result_skip(name, "not measured: first exit: %s", why);
        jail_destroy(j);
        return -1;
    }
    return 0;
}

/* n timed round trips of a stub already stopped at a report; samples in s.
 * 0 or -1 with a reason. */
static int roundtrips(struct jchild *j, uint64_t spin_ns, size_t warm, size_t n,
                      struct samples *s, char *why, size_t len)
{
    for (size_t i = 0; i < warm + n; i++) {
        uint64_t t0 = now_ns();
        jail_answer(j);
        if (jail_wait(j, spin_ns, why, len) < 0)
            return -1;
        uint64_t t1 = now_ns();
        if (i >= warm)
            samples_add(s, (double)(t1 - t0));
    }
    return 0;
}

static void floor_exit_roundtrip(void)
{
    const char *name = "floor_proc_exit_roundtrip";
    char why[300];
    struct jchild j;
    uint64_t spin_ns = g_ncpu > 1 ? SPIN_NS : 0;
    if (jail_first_exit(&j, 0, spin_ns, name) < 0)
        return;
    uint32_t signo = j.ctl->signo;
    uint64_t trapno = j.ctl->trapno;
    struct samples s = {0}, f = {0};
    size_t warm = iters(1000, 50), n = iters(20000, 500);
    if (roundtrips(&j, spin_ns, warm, n, &s, why, sizeof why) < 0) {
        samples_free(&s);
        result_skip(name, "not measured: %s", why);
        jail_destroy(&j);
        return;
    }
    /* The same with no spinning at all: futex both ways. */
    j.ctl->spin = 0;
    int futex_ok = roundtrips(&j, 0, warm / 4, n / 4, &f, why, sizeof why) == 0;
    uint64_t reports = j.ctl->reports;
    jail_destroy(&j);

    struct result *r = add_min_median(name, &s);
    result_extra(r, "spin_ns", (double)spin_ns);
    result_extra(r, "child_spin_loops", (double)g_child_spin);
    result_note(r, "stub (seccomp: futex/rt_sigreturn from its gates only) `out` -> SIGSEGV "
                   "handler (signal %u, trap %llu) on an alternate stack -> message on a "
                   "MAP_SHARED memfd page -> host answers -> RIP += 2, sigreturn; both sides "
                   "spin %s before FUTEX_WAIT/FUTEX_WAKE; %d CPUs, not pinned; %llu reports",
                signo, (unsigned long long)trapno,
                spin_ns ? "up to ~20 us" : "not at all (one CPU)", g_ncpu,
                (unsigned long long)reports);
    if (futex_ok && f.n) {
        double fmin = f.v[0];
        for (size_t i = 0; i < f.n; i++)
            fmin = f.v[i] < fmin ? f.v[i] : fmin;
        double fp50 = samples_pct(&f, 0.5);
        result_extra(r, "futex_only_p50_us", fp50 / 1000.0);
        result_extra(r, "futex_only_min_us", fmin / 1000.0);
        result_note(r, "no spinning (futex both ways): p50 %.3f, min %.3f us (n %zu)",
                    fp50 / 1000.0, fmin / 1000.0, f.n);
    } else if (!futex_ok) {
        result_note(r, "futex-only variant not measured: %s", why);
    }
    samples_free(&f);
}

/* floor_proc_gate_roundtrip: the same exchange, the stub calling its own
 * exit function instead of faulting (the process backend's exit gate). */
static void floor_gate_roundtrip(void)
{
    const char *name = "floor_proc_gate_roundtrip";
    char why[300];
    struct jchild j;
    uint64_t spin_ns = g_ncpu > 1 ? SPIN_NS : 0;
    if (jail_first_exit(&j, 1, spin_ns, name) < 0)
        return;
    struct samples s = {0};
    size_t warm = iters(1000, 50), n = iters(20000, 500);
    int ok = roundtrips(&j, spin_ns, warm, n, &s, why, sizeof why) == 0;
    uint64_t reports = j.ctl->reports, signo = j.ctl->signo;
    jail_destroy(&j);
    if (!ok || signo != 0) {
        samples_free(&s);
        result_skip(name, "not measured: %s", ok ? "the stub reported a signal" : why);
        return;
    }
    struct result *r = add_min_median(name, &s);
    result_extra(r, "spin_ns", (double)spin_ns);
    result_note(r, "the same stub and jail, but each exit is a call of the stub's own exit function "
                   "(no fault, no signal): message on the shared page -> host answers -> return; "
                   "both sides spin %s before FUTEX_WAIT/FUTEX_WAKE; %d CPUs, not pinned; %llu "
                   "reports", spin_ns ? "up to ~20 us" : "not at all (one CPU)", g_ncpu,
                (unsigned long long)reports);
}

/* ------------------------------------------------------------------------- */
/* floor_proc_ptrace_roundtrip: a fork of this process, traced. */

__attribute__((noreturn)) static void ptrace_child(void)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
        _exit(101);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(102);
    raise(SIGSTOP);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        _exit(103);
    for (;;)
        __asm__ volatile("out %%al, $0x10" ::"a"(0) : "memory");
}

/* waitpid for a stop by `sig`; 0 or -1 with a reason. */
static int wait_stop(pid_t pid, int sig, char *why, size_t len)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        snprintf(why, len, "waitpid: %s", strerror(errno));
        return -1;
    }
    if (WIFSTOPPED(st) && WSTOPSIG(st) == sig)
        return 0;
    if (WIFEXITED(st))
        snprintf(why, len, "the child exited %d%s", WEXITSTATUS(st),
                 WEXITSTATUS(st) == 101 ? " (PTRACE_TRACEME failed)"
                 : WEXITSTATUS(st) == 103 ? " (seccomp failed)" : "");
    else if (WIFSIGNALED(st))
        snprintf(why, len, "the child was killed by signal %d", WTERMSIG(st));
    else
        snprintf(why, len, "the child stopped with signal %d, not %d", WSTOPSIG(st), sig);
    return -1;
}

static void floor_ptrace_roundtrip(void)
{
    const char *name = "floor_proc_ptrace_roundtrip";
    char why[300];
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        result_skip(name, "not measured: fork: %s", strerror(errno));
        return;
    }
    if (pid == 0)
        ptrace_child();
    int ok = wait_stop(pid, SIGSTOP, why, sizeof why) == 0;
    if (ok && ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_EXITKILL) < 0) {
        snprintf(why, sizeof why, "PTRACE_SETOPTIONS: %s", strerror(errno));
        ok = 0;
    }
    if (ok && ptrace(PTRACE_CONT, pid, NULL, NULL) < 0) {
        snprintf(why, sizeof why, "PTRACE_CONT: %s", strerror(errno));
        ok = 0;
    }
    ok = ok && wait_stop(pid, SIGSEGV, why, sizeof why) == 0;
    struct samples s = {0};
    size_t warm = iters(1000, 50), n = iters(20000, 500);
    for (size_t i = 0; ok && i < warm + n; i++) {
        struct user_regs_struct regs;
        uint64_t t0 = now_ns();
        if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0) {
            snprintf(why, sizeof why, "PTRACE_GETREGS: %s", strerror(errno));
            ok = 0;
            break;
        }
        regs.rip += 2;
        if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) < 0 ||
            ptrace(PTRACE_CONT, pid, NULL, NULL) < 0) {
            snprintf(why, sizeof why, "PTRACE_SETREGS/CONT: %s", strerror(errno));
            ok = 0;
            break;
        }
        if (wait_stop(pid, SIGSEGV, why, sizeof why) < 0) {
            ok = 0;
            break;
        }
        uint64_t t1 = now_ns();
        if (i >= warm)
            samples_add(&s, (double)(t1 - t0));
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (!ok) {
        samples_free(&s);
        result_skip(name, "not measured: %s", why);
        return;
    }
    struct result *r = add_min_median(name, &s);
    result_note(r, "traced fork of the bench under a seccomp filter (exit_group only) loops on "
                "`out`: SIGSEGV stop, PTRACE_GETREGS + SETREGS (rip + 2) + PTRACE_CONT "
                "(signal 0) + waitpid; %d CPUs, not pinned", g_ncpu);
}

/* ------------------------------------------------------------------------- */
/* floor_proc_create */

static void floor_create(void)
{
    const char *name = "floor_proc_create";
    char why[300] = "";
    size_t warm = iters(20, 3), n = iters(400, 50), failed = 0;
    struct samples total = {0}, spawn = {0}, first = {0}, destroy = {0};
    for (size_t i = 0; i < warm + n; i++) {
        struct jchild j;
        uint64_t t0 = now_ns();
        if (jail_spawn(&j, 0, why, sizeof why) < 0) {
            failed++;
            break;
        }
        uint64_t t1 = now_ns();
        int ok = jail_wait(&j, 0, why, sizeof why) == 0;
        uint64_t t2 = now_ns();
        jail_destroy(&j);
        uint64_t t3 = now_ns();
        if (!ok) {
            failed++;
            if (failed > 3)
                break;
            continue;
        }
        if (i < warm)
            continue;
        samples_add(&total, (double)(t3 - t0));
        samples_add(&spawn, (double)(t1 - t0));
        samples_add(&first, (double)(t2 - t1));
        samples_add(&destroy, (double)(t3 - t2));
    }
    if (total.n == 0) {
        samples_free(&total);
        samples_free(&spawn);
        samples_free(&first);
        samples_free(&destroy);
        result_skip(name, "not measured: %s", why);
        return;
    }
    double p[3] = {samples_pct(&spawn, 0.5), samples_pct(&first, 0.5),
                   samples_pct(&destroy, 0.5)};
    samples_free(&spawn);
    samples_free(&first);
    samples_free(&destroy);
    struct result *r = add_min_median(name, &total);
    result_extra(r, "spawn_p50_us", p[0] / 1000.0);
    result_extra(r, "setup_first_exit_p50_us", p[1] / 1000.0);
    result_extra(r, "destroy_p50_us", p[2] / 1000.0);
    result_note(r, "memfd control page + posix_spawn of the static stub | its set-up (unmap all "
                   "but itself, map the page, handler, seccomp) and first exit | SIGKILL + reap: "
                   "p50s %.1f | %.1f | %.1f us",
                p[0] / 1000.0, p[1] / 1000.0, p[2] / 1000.0);
    if (failed)
        result_note(r, "%zu runs failed: %s", failed, why);
}

/* ------------------------------------------------------------------------- */
/* floor_proc_memory */

struct meminfo {
    long long avail, committed, slab, pagetables, kstack, shmem, anon;
};

static void read_meminfo(struct meminfo *m)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return;
    char line[128];
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "MemAvailable: %lld kB", &m->avail);
        sscanf(line, "Committed_AS: %lld kB", &m->committed);
        sscanf(line, "Slab: %lld kB", &m->slab);
        sscanf(line, "PageTables: %lld kB", &m->pagetables);
        sscanf(line, "KernelStack: %lld kB", &m->kstack);
        sscanf(line, "Shmem: %lld kB", &m->shmem);
        sscanf(line, "AnonPages: %lld kB", &m->anon);
    }
    fclose(f);
}

/* VmRSS and VmPTE of `pid` in KiB (-1 each when unknown). */
static void proc_status_kib(pid_t pid, long long *rss, long long *pte)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    *rss = *pte = -1;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %lld kB", rss);
        sscanf(line, "VmPTE: %lld kB", pte);
    }
    if (f)
        fclose(f);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { MEM_AVAIL, MEM_PT, MEM_KSTACK, MEM_SLAB, MEM_COMMITTED, MEM_SHMEM, MEM_ANON, MEM_CHARGED,
       MEM_NFIELDS };
#define MEM_ROUNDS_MAX 5

/* floor_proc_memory: `rounds` rounds of N live stubs parked in their
 * handler (FUTEX_WAIT), each round's /proc/meminfo deltas per process; the
 * figures are the medians over the rounds (other processes on the machine
 * move these global counters too).  The stubs' own page tables and
 * resident pages come from their /proc/PID/status. */
static void floor_memory(void)
{
    const char *name = "floor_proc_memory";
    size_t want = iters(1000, 100), rounds = iters(3, 1), live = 0, done = 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < want + 64)
        want = rl.rlim_cur > 128 ? rl.rlim_cur - 64 : 64;
    struct jchild *kids = calloc(want, sizeof *kids);
    if (!kids) {
        result_skip(name, "not measured: out of memory");
        return;
    }
    char why[300] = "";
    struct samples s = {0};
    double per[MEM_NFIELDS][MEM_ROUNDS_MAX];
    long long rss_sum = 0, pte_sum = 0, nstat = 0;
    uint64_t spawn_ns = 0;
    for (size_t round = 0; round < rounds; round++) {
        mem_available_settled();
        struct meminfo m0, m1;
        read_meminfo(&m0);
        uint64_t t0 = now_ns();
        for (live = 0; live < want; live++) {
            uint64_t t = now_ns();
            if (jail_spawn(&kids[live], 0, why, sizeof why) < 0)
                break;
            if (jail_wait(&kids[live], 0, why, sizeof why) < 0) {
                jail_destroy(&kids[live]);
                break;
            }
            samples_add(&s, (double)(now_ns() - t));
        }
        spawn_ns += now_ns() - t0;
        mem_available_settled();
        read_meminfo(&m1);
        if (round == 0) {
            for (size_t i = 0; i < live; i++) {
                long long rss, pte;
                proc_status_kib(kids[i].pid, &rss, &pte);
                if (rss >= 0 && pte >= 0)
                    rss_sum += rss, pte_sum += pte, nstat++;
            }
        }
        for (size_t i = 0; i < live; i++)
            kill(kids[i].pid, SIGKILL);
        for (size_t i = 0; i < live; i++)
            jail_destroy(&kids[i]);
        if (live < want || m0.avail == 0 || m1.avail == 0)
            break;
        double nl = (double)live;
        per[MEM_AVAIL][done] = (double)(m0.avail - m1.avail) / nl;
        per[MEM_PT][done] = (double)(m1.pagetables - m0.pagetables) / nl;
        per[MEM_KSTACK][done] = (double)(m1.kstack - m0.kstack) / nl;
        per[MEM_SLAB][done] = (double)(m1.slab - m0.slab) / nl;
        per[MEM_COMMITTED][done] = (double)(m1.committed - m0.committed) / nl;
        per[MEM_SHMEM][done] = (double)(m1.shmem - m0.shmem) / nl;
        per[MEM_ANON][done] = (double)(m1.anon - m0.anon) / nl;
        /* What the kernel charges for them, counter by counter (MemAvailable
         * also moves with the page cache and other tenants' work). */
        per[MEM_CHARGED][done] = per[MEM_SHMEM][done] + per[MEM_ANON][done] + per[MEM_PT][done] +
                                 per[MEM_KSTACK][done] + per[MEM_SLAB][done];
        done++;
    }
    free(kids);
    if (done == 0) {
        samples_free(&s);
        if (live < want)
            result_skip(name, "not measured: %zu of %zu stubs started: %s", live, want, why);
        else
            result_skip(name, "not measured: no MemAvailable in /proc/meminfo");
        return;
    }
    char rounds_txt[120] = "";
    for (size_t i = 0, o = 0; i < done && o < sizeof rounds_txt; i++)
        o += (size_t)snprintf(rounds_txt + o, sizeof rounds_txt - o, "%s%.1f", i ? ", " : "",
                              per[MEM_AVAIL][i]);
    double med[MEM_NFIELDS];
    for (int f = 0; f < MEM_NFIELDS; f++)
        med[f] = median(per[f], done);
    double loads[1] = {-1};
    getloadavg(loads, 1);
    double created_per_s = (double)s.n * 1e9 / (double)(spawn_ns ? spawn_ns : 1);
    struct result *r = add_min_median(name, &s);
    result_extra(r, "live", (double)want);
    /* Negative: a global counter moved the wrong way (other activity): null. */
    result_extra(r, "host_kib_per_process", med[MEM_AVAIL] > 0 ? med[MEM_AVAIL] : -1);
    result_extra(r, "pagetables_kib", med[MEM_PT] >= 0 ? med[MEM_PT] : -1);
    result_extra(r, "kernelstack_kib", med[MEM_KSTACK] >= 0 ? med[MEM_KSTACK] : -1);
    result_extra(r, "charged_kib_per_process", med[MEM_CHARGED] > 0 ? med[MEM_CHARGED] : -1);
    result_extra(r, "slab_kib", med[MEM_SLAB] >= 0 ? med[MEM_SLAB] : -1);
    result_extra(r, "committed_kib", med[MEM_COMMITTED] >= 0 ? med[MEM_COMMITTED] : -1);
    result_extra(r, "vmpte_kib", nstat ? (double)pte_sum / (double)nstat : -1);
    result_extra(r, "vmrss_kib", nstat ? (double)rss_sum / (double)nstat : -1);
    result_extra(r, "created_per_s", created_per_s);
    result_note(r, "%zu live stubs parked in FUTEX_WAIT in their handler; per process, median of "
                   "%zu round(s) of /proc/meminfo deltas: MemAvailable %.1f KiB (rounds: %s), "
                   "charged %.1f KiB = Shmem %.1f + AnonPages %.1f + PageTables %.1f + KernelStack "
                   "%.1f + Slab %.1f; Committed_AS %.1f; "
                   "from /proc/PID/status: VmPTE %.1f, VmRSS %.1f KiB; load average %.1f; the "
                   "percentiles are spawn + first exit",
                want, done, med[MEM_AVAIL], rounds_txt, med[MEM_CHARGED], med[MEM_SHMEM], med[MEM_ANON],
                med[MEM_PT], med[MEM_KSTACK], med[MEM_SLAB], med[MEM_COMMITTED],
                nstat ? (double)pte_sum / (double)nstat : -1,
                nstat ? (double)rss_sum / (double)nstat : -1, loads[0]);
    if (med[MEM_AVAIL] <= 0)
        result_note(r, "MemAvailable per process not measured: it rose while the stubs lived "
                       "(other activity on the machine)");
    if (g_opts.quick)
        result_note(r, "quick run: N is small, so the memory figures are rough");
    if (done < rounds)
        result_note(r, "only %zu of %zu rounds: %s", done, rounds,
                    why[0] ? why : "MemAvailable unreadable");
}

/* ------------------------------------------------------------------------- */

void bench_proc_floors(void)
{
    static const char *const stub_names[] = {"floor_proc_exit_roundtrip", "floor_proc_gate_roundtrip",
                                             "floor_proc_create", "floor_proc_memory"};
    static char stub[4200];
    g_ncpu = count_cpus();
    g_child_spin = g_ncpu > 1 ? calibrate_spin(SPIN_NS) : 0;
    snprintf(stub, sizeof stub, "%s/bench/jail-stub", g_opts.build_dir);
    g_stub = stub;
    printf("floors: the bench's own minimal jailed process (%s) ...\n", g_stub);
    floor_fault_handler();
    if (access(g_stub, X_OK) == 0) {
        floor_exit_roundtrip();
        floor_gate_roundtrip();
    } else {
        for (size_t i = 0; i < sizeof stub_names / sizeof stub_names[0]; i++)
            result_skip(stub_names[i], "not measured: %s is not built (the Makefile builds it with glint-bench)", g_stub);
    }
    floor_ptrace_roundtrip();
    if (access(g_stub, X_OK) == 0) {
        floor_create();
        floor_memory();
    }
}
