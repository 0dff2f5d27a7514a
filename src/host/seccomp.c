/*
 * seccomp.c - glint_seccomp_restrict_thread: a system-call allow list for
 * the threads that run guest calls, as raw classic BPF (linux/filter.h,
 * linux/seccomp.h), so that libglint needs nothing beyond libc and the
 * kernel headers.  The list is documented in glint.h and docs/security.md;
 * keep the three in step.
 *
 * Program shape: check the architecture (anything but x86-64, e.g. the
 * i386 entry point int $0x80, kills the process in either mode; x32 calls
 * come through the x86-64 entry with __X32_SYSCALL_BIT set in the number,
 * so they match no rule below and are forbidden like any unlisted call),
 * then one block per allowed system call:
 *
 *     LD  nr;  JEQ nr ? fall through : skip block
 *     [argument checks; a failed one jumps to the block's RET forbidden]
 *     RET ALLOW
 *     RET forbidden
 *
 * and RET forbidden at the end.  Every jump is forward and short (within a
 * block, or over one), so no offset can overflow BPF's 8-bit jumps.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asm/prctl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>

#include "error.h"
#include "sandbox.h"

#define MAX_INSNS 512
#define MAX_VALUES 24
#define MAX_CONDS 4

#ifndef P_PIDFD
#define P_PIDFD 3 /* linux/wait.h, Linux 5.4 */
#endif

/* PAGEMAP_SCAN (Linux 6.7; Debian 12's linux/fs.h predates it):
 * _IOWR('f', 16, struct pm_scan_arg), and struct pm_scan_arg is twelve
 * __u64 fields, 96 bytes. */
struct glint_seccomp_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
};
_Static_assert(sizeof(struct glint_seccomp_pm_scan_arg) == 96, "struct pm_scan_arg is 96 bytes");
#ifndef PAGEMAP_SCAN
#define PAGEMAP_SCAN _IOWR('f', 16, struct glint_seccomp_pm_scan_arg)
#endif
_Static_assert(PAGEMAP_SCAN == 0xC0606610u, "PAGEMAP_SCAN is _IOWR('f', 16, 96 bytes)");

/* An argument condition on args[arg]: */
enum cond_op {
    COND_NONE,
    COND_IN,    /* its low 32 bits equal one of values[] */
    COND_CLEAR, /* its low 32 bits have none of the bits of values[0] set */
    COND_NULL,  /* all 64 bits are zero (a pointer argument that must be NULL) */
};

struct cond {
    enum cond_op op;
    unsigned arg;
    unsigned nvalues;
    uint32_t values[MAX_VALUES];
};

struct prog {
    struct sock_filter insns[MAX_INSNS];
    unsigned n;
    int overflow;
};

static void emit(struct prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
    if (p->n >= MAX_INSNS) {
        p->overflow = 1;
        return;
    }
    p->insns[p->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static uint32_t arg_low(unsigned arg)
{
    return (uint32_t)(offsetof(struct seccomp_data, args) + 8u * arg); /* little endian */
}

/* Emits one condition; each failure jumps to the block's RET forbidden,
 * whose index is recorded in fail[] for patching. */
static void emit_cond(struct prog *p, const struct cond *c, unsigned *fail, unsigned *nfail)
{
    if (c->op == COND_NULL) { /* any bit set in either half fails */
        for (unsigned half = 0; half < 2; half++) {
            emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, arg_low(c->arg) + 4u * half);
            fail[(*nfail)++] = p->n;
            emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 0, 0xffffffffu); /* jt patched */
        }
        return;
    }
    emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, arg_low(c->arg));
    if (c->op == COND_CLEAR) {
        fail[(*nfail)++] = p->n;
        emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 0, c->values[0]); /* jt patched */
        return;
    }
    for (unsigned i = 0; i < c->nvalues; i++) /* a match skips the rest and the JA */
        emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(c->nvalues - i), 0, c->values[i]);
    fail[(*nfail)++] = p->n;
    emit(p, BPF_JMP | BPF_JA, 0, 0, 0); /* k patched */
}

/* One allowed system call, with up to MAX_CONDS argument conditions (all
 * must hold). */
static void emit_rule(struct prog *p, long nr, const struct cond *conds, unsigned nconds,
                      uint32_t forbid)
{
    unsigned fail[2 * MAX_CONDS], nfail = 0;
    if (nconds > MAX_CONDS) {
        p->overflow = 1;
        return;
    }
    emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
    unsigned skip = p->n;
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint32_t)nr); /* jf patched */
    for (unsigned i = 0; i < nconds; i++)
        if (conds[i].op != COND_NONE)
            emit_cond(p, &conds[i], fail, &nfail);
    emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
    if (nfail)
        emit(p, BPF_RET | BPF_K, 0, 0, forbid);
    if (p->overflow)
        return;
    unsigned end = p->n; /* first instruction after the block */
    unsigned ret_forbid = end - 1;
    if (end - skip - 1 > 255 || (nfail && ret_forbid - fail[0] - 1 > 255)) {
        p->overflow = 1;
        return;
    }
    p->insns[skip].jf = (uint8_t)(end - skip - 1);
    for (unsigned i = 0; i < nfail; i++) {
        struct sock_filter *f = &p->insns[fail[i]];
        unsigned off = ret_forbid - fail[i] - 1;
        if (BPF_OP(f->code) == BPF_JSET)
            f->jt = (uint8_t)off;
        else
            f->k = off;
    }
}

static void allow(struct prog *p, long nr, uint32_t forbid)
{
    emit_rule(p, nr, NULL, 0, forbid);
}

/* The ioctl requests a calling thread issues during calls and restores: a
 * KVM vCPU's (KVM_SET_GUEST_DEBUG: a debugger's session, gdbstub.c), and
 * the process backend's PAGEMAP_SCAN (dirty pages). */
static const uint32_t ioctl_requests[] = {
    KVM_RUN,           KVM_GET_REGS,        KVM_SET_REGS,        KVM_GET_SREGS,
    KVM_SET_SREGS,     KVM_GET_FPU,         KVM_SET_FPU,         KVM_GET_XSAVE,
    KVM_SET_XSAVE,     KVM_GET_XCRS,        KVM_SET_XCRS,        KVM_GET_MSRS,
    KVM_SET_MSRS,      KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_DEBUGREGS,
    KVM_SET_DEBUGREGS, KVM_GET_DIRTY_LOG,   KVM_CLEAR_DIRTY_LOG, TCGETS,
    PAGEMAP_SCAN,      KVM_SET_GUEST_DEBUG,
};

static void build(struct prog *p, uint32_t forbid)
{
    const uint32_t kill = SECCOMP_RET_KILL_PROCESS;
    emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AUDIT_ARCH_X86_64);
    emit(p, BPF_RET | BPF_K, 0, 0, kill); /* fail closed: never another ABI */

    struct cond c = {.op = COND_IN, .arg = 1};
    for (size_t i = 0; i < sizeof ioctl_requests / sizeof ioctl_requests[0]; i++)
        c.values[c.nvalues++] = ioctl_requests[i];
    emit_rule(p, SYS_ioctl, &c, 1, forbid);

    struct cond std_fds = {.op = COND_IN, .arg = 0, .nvalues = 2, .values = {1, 2}};
    emit_rule(p, SYS_write, &std_fds, 1, forbid);
    emit_rule(p, SYS_writev, &std_fds, 1, forbid);

    const struct cond tgkill_conds[] = {
        {.op = COND_IN, .arg = 0, .nvalues = 1, .values = {(uint32_t)getpid()}}, /* own process */
        {.op = COND_IN, .arg = 2, .nvalues = 1, .values = {(uint32_t)glint_interrupt_signal()}},
    };
    emit_rule(p, SYS_tgkill, tgkill_conds, 2, forbid);

    /* Process backend: interrupt (SIGUSR1) or kill the guest's child through
     * its pidfd; signal 0 only asks whether it is still there (after
     * waitid's ECHILD).  No siginfo, no flags. */
    const struct cond pidfd_signal_conds[] = {
        {.op = COND_IN, .arg = 1, .nvalues = 3, .values = {0, SIGUSR1, SIGKILL}},
        {.op = COND_NULL, .arg = 2},
        {.op = COND_IN, .arg = 3, .nvalues = 1, .values = {0}},
    };
    emit_rule(p, SYS_pidfd_send_signal, pidfd_signal_conds, 3, forbid);

    /* Process backend: notice (WNOHANG, WNOWAIT) or reap the dead child,
     * by pidfd only; no rusage. */
    const struct cond waitid_conds[] = {
        {.op = COND_IN, .arg = 0, .nvalues = 1, .values = {P_PIDFD}},
        {.op = COND_CLEAR, .arg = 3, .nvalues = 1,
         .values = {~(uint32_t)(WEXITED | WNOHANG | WNOWAIT)}},
        {.op = COND_NULL, .arg = 4},
    };
    emit_rule(p, SYS_waitid, waitid_conds, 3, forbid);

    struct cond fsgs = {.op = COND_IN, .arg = 0, .nvalues = 4,
                        .values = {ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS}};
    emit_rule(p, SYS_arch_prctl, &fsgs, 1, forbid);

    struct cond no_exec = {.op = COND_CLEAR, .arg = 2, .nvalues = 1, .values = {PROT_EXEC}};
    emit_rule(p, SYS_mmap, &no_exec, 1, forbid);
    emit_rule(p, SYS_mprotect, &no_exec, 1, forbid);

    /* Process backend: whether the calling thread is being preempted
     * (process.c: share_cpu), its own figures only. */
    struct cond self_usage = {.op = COND_IN, .arg = 0, .nvalues = 1, .values = {RUSAGE_THREAD}};
    emit_rule(p, SYS_getrusage, &self_usage, 1, forbid);

    static const long plain[] = {
        SYS_futex,        SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,
        SYS_gettimeofday, SYS_sched_yield,   SYS_getpid,          SYS_gettid,
        SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_restart_syscall, SYS_munmap,
        SYS_mremap,       SYS_madvise,       SYS_brk,             SYS_fstat,
        SYS_newfstatat,   SYS_close,         SYS_exit,            SYS_exit_group,
        SYS_sigaltstack, /* sanitizer runtimes ask for it in their noreturn hooks */
        SYS_read,         SYS_poll, /* process backend: the park pipe before a restore (quiesce) */
        SYS_getcpu,       SYS_sched_setaffinity, /* process backend: a sandbox process on its caller's CPU
                                                   * (or off it); pools: the caller's CPU (sched_getcpu) */
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        allow(p, plain[i], forbid);
    emit(p, BPF_RET | BPF_K, 0, 0, forbid);
}

API glint_status glint_seccomp_restrict_thread(unsigned flags, glint_error *err)
{
#if !defined(__x86_64__)
    (void)flags;
    return glint_fail(err, GLINT_E_INVALID, "seccomp filter: only x86-64 is supported");
#else
    if (flags & ~GLINT_SECCOMP_ERRNO)
        return glint_fail(err, GLINT_E_INVALID, "seccomp filter: unknown flags 0x%x", flags);
    uint32_t forbid = (flags & GLINT_SECCOMP_ERRNO) ? SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)
                                                    : SECCOMP_RET_KILL_PROCESS;
    static _Thread_local struct prog p; /* 4 KiB: off the stack */
    memset(&p, 0, sizeof p);
    build(&p, forbid);
    if (p.overflow)
        return glint_fail(err, GLINT_E_INVALID, "seccomp filter: program too long (internal)");
    struct sock_fprog fprog = {.len = (unsigned short)p.n, .filter = p.insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "seccomp filter: PR_SET_NO_NEW_PRIVS: %s",
                          strerror(errno));
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "seccomp filter: PR_SET_SECCOMP: %s",
                          strerror(errno));
    glint_error_clear(err);
    return GLINT_OK;
#endif
}
