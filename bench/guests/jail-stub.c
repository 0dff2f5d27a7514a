/*
 * jail-stub.c - the bench's minimal jailed process (see bench/jailer.h): a
 * static, freestanding program (no libc), built by the Makefile into
 * $(BUILD)/bench/jail-stub and started by glint-bench with the control
 * memfd as fd 3.
 *
 * Set-up: unmap everything but its own image (initial stack, vDSO, vvar),
 * map the control page next to the image, close every file descriptor,
 * die with the parent, install the handler for SIGSEGV and SIGILL on an
 * alternate stack, then no_new_privs and a seccomp filter that lets
 * through only futex from gate_syscall and rt_sigreturn from
 * gate_sigreturn (checked by instruction pointer) and kills the process
 * for anything else.  Then it loops on `out %al,$0x10`: each one is an
 * exit to the host, reported by the handler (jailer.h).
 */
#include <stddef.h>
#include <stdint.h>

#define JAIL_STUB 1
#include "../jailer.h"

#define SYS_mmap 9
#define SYS_munmap 11
#define SYS_rt_sigaction 13
#define SYS_rt_sigreturn 15
#define SYS_sigaltstack 131
#define SYS_prctl 157
#define SYS_futex 202
#define SYS_exit_group 231
#define SYS_seccomp 317
#define SYS_close_range 436

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

typedef unsigned long u64;

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* The only two system-call instructions the filter lets through. */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl gate_syscall\n"
        "gate_syscall:\n" /* rax = nr, args in rdi, rsi, rdx, r10 */
        "    syscall\n"
        "    ret\n"
        ".p2align 4\n"
        ".globl gate_sigreturn\n"
        "gate_sigreturn:\n" /* sa_restorer */
        "    movl $15, %eax\n"
        "    syscall\n"
        "    ud2\n");
extern char gate_syscall[], gate_sigreturn[];
#define GATE_SYSCALL_IP ((u64)gate_syscall + 2)   /* seccomp sees the IP after `syscall` */
#define GATE_SIGRET_IP ((u64)gate_sigreturn + 7)  /* movl (5) + syscall (2) */

static long gate(long n, long a, long b, long c, long d)
{
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("call gate_syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "r8", "r9", "memory");
    return r;
}

extern char __executable_start[], _end[];
__attribute__((used)) uint8_t setup_stack[8192] __attribute__((aligned(16)));
static uint8_t alt_stack[32768] __attribute__((aligned(16)));
static volatile struct jail_ctl *ctl;

__attribute__((noreturn)) static void die(uint32_t step, long rc)
{
    if (ctl) {
        ctl->failed_step = step;
        ctl->failed_rc = rc;
    }
    for (;;)
        sys(SYS_exit_group, 100 + step, 0, 0);
}

struct k_sigaction {
    void *handler;
    u64 flags;
    void *restorer;
    u64 mask;
};
struct k_stack {
    void *sp;
    int flags;
    size_t size;
};
struct k_sigcontext {
    u64 r8, r9, r10, r11, r12, r13, r14, r15;
    u64 rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    u64 err, trapno, oldmask, cr2;
    void *fpstate;
    u64 reserved1[8];
};
struct k_ucontext {
    u64 flags;
    struct k_ucontext *link;
    struct k_stack stack;
    struct k_sigcontext mc;
    u64 sigmask;
};
struct k_siginfo {
    int signo, errnum, code, pad;
    u64 addr;
};
struct k_sock_filter {
    uint16_t code;
    uint8_t jt, jf;
    uint32_t k;
};
struct k_sock_fprog {
    unsigned short len;
    struct k_sock_filter *filter;
};

/* Reports, then waits for the host's answer: 1 if it says step. */
static int exit_to_host(void)
{
    volatile struct jail_ctl *c = ctl;
    c->reports++;
    uint32_t seen = __atomic_load_n(&c->to_child, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&c->to_host, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->host_waiting, __ATOMIC_SEQ_CST))
        gate(SYS_futex, (long)&c->to_host, FUTEX_WAKE, 1, 0);
    /* Wait for the answer: a bounded spin, then the futex. */
    uint32_t spin = c->spin;
    for (uint32_t i = 0; i < spin; i++) {
        if (__atomic_load_n(&c->to_child, __ATOMIC_ACQUIRE) != seen)
            goto answered;
        __builtin_ia32_pause();
    }
    for (;;) {
        __atomic_store_n(&c->child_waiting, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&c->to_child, __ATOMIC_SEQ_CST) != seen)
            break;
        gate(SYS_futex, (long)&c->to_child, FUTEX_WAIT, (long)seen, 0);
        if (__atomic_load_n(&c->to_child, __ATOMIC_SEQ_CST) != seen)
            break;
    }
    __atomic_store_n(&c->child_waiting, 0, __ATOMIC_RELAXED);
answered:
    return c->cmd == JAIL_CMD_STEP;
}

static void handler(int sig, struct k_siginfo *si, struct k_ucontext *uc)
{
    volatile struct jail_ctl *c = ctl;
    c->signo = (uint32_t)sig;
    c->code = (uint32_t)si->code;
    c->rip = uc->mc.rip;
    c->trapno = uc->mc.trapno;
    c->err = uc->mc.err;
    c->addr = si->addr;
    if (exit_to_host())
        uc->mc.rip += 2; /* over `out %al,$0x10` */
}

/* The exit without a fault: what the handler does, from a plain call. */
__attribute__((noinline)) static void gate_exit(void)
{
    volatile struct jail_ctl *c = ctl;
    c->signo = 0;
    c->rip = (uint64_t)__builtin_return_address(0);
    exit_to_host();
}

#define BPF_LD_W_ABS 0x20
#define BPF_JEQ_K 0x15
#define BPF_JGE_K 0x35
#define BPF_RET_K 0x06
#define AUDIT_ARCH_X86_64 0xc000003eu
#define SECCOMP_RET_KILL_PROCESS 0x80000000u
#define SECCOMP_RET_ALLOW 0x7fff0000u
/* struct seccomp_data: nr 0, arch 4, instruction_pointer 8 */
#define OFF_NR 0
#define OFF_ARCH 4
#define OFF_IP_LO 8
#define OFF_IP_HI 12

static void put(struct k_sock_filter *f, int i, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
    f[i].code = code;
    f[i].jt = jt;
    f[i].jf = jf;
    f[i].k = k;
}

__attribute__((noreturn, used)) void stub_main(void);
__attribute__((noreturn, used)) void stub_main(void)
{
    long rc;
    /* 1: only the image stays: the initial stack, vDSO and vvar go. */
    u64 lo = (u64)__executable_start & ~0xfffull, hi = ((u64)_end + 0xfff) & ~0xfffull;
    if (lo && (rc = sys(SYS_munmap, 0, lo, 0)) < 0)
        die(1, rc);
    if ((rc = sys(SYS_munmap, hi, 0x7ffffffff000ull - hi, 0)) < 0)
        die(1, rc);
    /* 2: the control page, right after the image (same page table). */
    rc = sys6(SYS_mmap, (long)hi, 4096, 3 /* RW */, 1 | 0x100000 /* SHARED|FIXED_NOREPLACE */,
              JAIL_CTL_FD, 0);
    if (rc != (long)hi)
        die(2, rc);
    ctl = (volatile struct jail_ctl *)hi;
    if (ctl->magic != JAIL_MAGIC)
        die(2, -22);
    /* 3: no file descriptors at all; die with the parent. */
    sys(SYS_close_range, 0, ~0u, 0);
    sys(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, 9, 0);
    /* 4: the handler, on its own stack, every signal blocked inside. */
    struct k_stack ss = {alt_stack, 0, sizeof alt_stack};
    if ((rc = sys(SYS_sigaltstack, &ss, 0, 0)) < 0)
        die(4, rc);
    struct k_sigaction sa;
    sa.handler = (void *)handler;
    sa.flags = 4 /* SA_SIGINFO */ | 0x08000000 /* SA_ONSTACK */ | 0x04000000 /* SA_RESTORER */;
    sa.restorer = gate_sigreturn;
    sa.mask = ~0ull;
    if ((rc = sys6(SYS_rt_sigaction, 11 /* SEGV */, (long)&sa, 0, 8, 0, 0)) < 0 ||
        (rc = sys6(SYS_rt_sigaction, 4 /* ILL */, (long)&sa, 0, 8, 0, 0)) < 0)
        die(4, rc);
    /* 5: the jail. */
    if ((GATE_SYSCALL_IP >> 32) != (GATE_SIGRET_IP >> 32))
        die(5, -22);
    struct k_sock_filter f[15];
    put(f, 0, BPF_LD_W_ABS, OFF_ARCH, 0, 0);
    put(f, 1, BPF_JEQ_K, AUDIT_ARCH_X86_64, 0, 12);          /* else 14 */
    put(f, 2, BPF_LD_W_ABS, OFF_NR, 0, 0);
    put(f, 3, BPF_JGE_K, 0x40000000u, 10, 0);                /* x32: 14 */
    put(f, 4, BPF_LD_W_ABS, OFF_IP_HI, 0, 0);
    put(f, 5, BPF_JEQ_K, (uint32_t)(GATE_SYSCALL_IP >> 32), 0, 8); /* else 14 */
    put(f, 6, BPF_LD_W_ABS, OFF_IP_LO, 0, 0);
    put(f, 7, BPF_JEQ_K, (uint32_t)GATE_SYSCALL_IP, 0, 2);   /* else 10 */
    put(f, 8, BPF_LD_W_ABS, OFF_NR, 0, 0);
    put(f, 9, BPF_JEQ_K, SYS_futex, 3, 4);                   /* 13 : 14 */
    put(f, 10, BPF_JEQ_K, (uint32_t)GATE_SIGRET_IP, 0, 3);   /* else 14 */
    put(f, 11, BPF_LD_W_ABS, OFF_NR, 0, 0);
    put(f, 12, BPF_JEQ_K, SYS_rt_sigreturn, 0, 1);           /* 13 : 14 */
    put(f, 13, BPF_RET_K, SECCOMP_RET_ALLOW, 0, 0);
    put(f, 14, BPF_RET_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
    struct k_sock_fprog prog = {15, f};
    if ((rc = sys6(SYS_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0, 0)) < 0)
        die(5, rc);
    if ((rc = sys(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog)) < 0)
        die(5, rc);
    /* 6: the "guest": every `out` (or call of gate_exit) is an exit. */
    if (ctl->gate)
        for (;;)
            gate_exit();
    for (;;)
        __asm__ volatile("out %%al, $0x10" ::: "memory");
}

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "    leaq setup_stack+8192(%rip), %rsp\n"
        "    xorl %ebp, %ebp\n"
        "    call stub_main\n"
        "    ud2\n");
