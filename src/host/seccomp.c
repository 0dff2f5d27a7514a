/*
 * seccomp.c - glint_seccomp_restrict_thread: a system-call allow list for
 * the threads that run guest calls, as raw classic BPF (linux/filter.h,
 * linux/seccomp.h), so that libglint needs nothing beyond libc and the
 * kernel headers.  The list is documented in glint.h and docs/security.md;
 * keep the three in step.
 *
 * Program shape: check the architecture (anything but x86-64 is forbidden,
 * so x32 and i386 entry points are closed too), then one block per allowed
 * system call:
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
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <asm/prctl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>

#include "error.h"
#include "sandbox.h"

#define MAX_INSNS 512
#define MAX_VALUES 24

/* An argument condition: the low 32 bits of args[arg] ... */
enum cond_op {
    COND_NONE,
    COND_IN,    /* ... equal one of values[] */
    COND_CLEAR, /* ... have none of the bits of values[0] set */
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

/* One allowed system call, with up to two argument conditions. */
static void emit_rule(struct prog *p, long nr, const struct cond *a, const struct cond *b,
                      uint32_t forbid)
{
    unsigned fail[2], nfail = 0;
    emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
    unsigned skip = p->n;
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint32_t)nr); /* jf patched */
    if (a && a->op != COND_NONE)
        emit_cond(p, a, fail, &nfail);
    if (b && b->op != COND_NONE)
        emit_cond(p, b, fail, &nfail);
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
    emit_rule(p, nr, NULL, NULL, forbid);
}

/* The ioctl requests a vCPU thread issues during calls and restores. */
static const uint32_t ioctl_requests[] = {
    KVM_RUN,           KVM_GET_REGS,        KVM_SET_REGS,        KVM_GET_SREGS,
    KVM_SET_SREGS,     KVM_GET_FPU,         KVM_SET_FPU,         KVM_GET_XSAVE,
    KVM_SET_XSAVE,     KVM_GET_XCRS,        KVM_SET_XCRS,        KVM_GET_MSRS,
    KVM_SET_MSRS,      KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_DEBUGREGS,
    KVM_SET_DEBUGREGS, KVM_GET_DIRTY_LOG,   KVM_CLEAR_DIRTY_LOG, TCGETS,
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
    emit_rule(p, SYS_ioctl, &c, NULL, forbid);

    struct cond std_fds = {.op = COND_IN, .arg = 0, .nvalues = 2, .values = {1, 2}};
    emit_rule(p, SYS_write, &std_fds, NULL, forbid);
    emit_rule(p, SYS_writev, &std_fds, NULL, forbid);

    struct cond own_pid = {.op = COND_IN, .arg = 0, .nvalues = 1, .values = {(uint32_t)getpid()}};
    struct cond our_sig = {.op = COND_IN, .arg = 2, .nvalues = 1,
                           .values = {(uint32_t)glint_interrupt_signal()}};
    emit_rule(p, SYS_tgkill, &own_pid, &our_sig, forbid);

    struct cond fsgs = {.op = COND_IN, .arg = 0, .nvalues = 4,
                        .values = {ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS}};
    emit_rule(p, SYS_arch_prctl, &fsgs, NULL, forbid);

    struct cond no_exec = {.op = COND_CLEAR, .arg = 2, .nvalues = 1, .values = {PROT_EXEC}};
    emit_rule(p, SYS_mmap, &no_exec, NULL, forbid);
    emit_rule(p, SYS_mprotect, &no_exec, NULL, forbid);

    static const long plain[] = {
        SYS_futex,        SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,
        SYS_gettimeofday, SYS_sched_yield,   SYS_getpid,          SYS_gettid,
        SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_restart_syscall, SYS_munmap,
        SYS_mremap,       SYS_madvise,       SYS_brk,             SYS_fstat,
        SYS_newfstatat,   SYS_close,         SYS_exit,            SYS_exit_group,
        SYS_sigaltstack, /* sanitizer runtimes ask for it in their noreturn hooks */
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
