/*
 * stub.c - the process backend's stub: the only code, besides the guest's,
 * in a sandbox's jailed child process.  A static, freestanding program
 * (no libc) linked at PROC_STUB_BASE (stub.ld), embedded in libglint and
 * executed from a sealed memfd, once per host process, as the zygote.
 *
 * The zygote (stub_main) closes every file descriptor but its socket to
 * the host, unmaps everything but itself (the initial stack, vDSO, vvar),
 * takes namespaces of its own, drops capabilities, sets resource limits,
 * installs the signal handler on an alternate stack, then no_new_privs and
 * the host's seccomp filter; then it forks spares on request, with
 * CLONE_PARENT so that each is the host's child.  A spare (spare_main)
 * waits for a sandbox's descriptors, maps the control page and guest
 * memory with the permissions the host wrote there, arms userfaultfd
 * write-protection for dirty tracking, unmaps the set-up gate (the one
 * place the filter lets make any system call) and reports ready
 * (PROC_REP_READY, no signal: the first command is a full state, whose
 * frame stub_resume builds afresh with the XSAVE header the zygote learned
 * from a signal of its own).
 *
 * From then on the child runs only in two places: guest code, and the
 * handler.  Every fault, the interrupt signal and every refused system call
 * enter the handler, which copies the registers and fault details into the
 * control page, wakes the host and waits at gate_wait.  What follows the
 * wait is fixed code (stub_resume, on its own stack): it applies the
 * host's command and returns into the guest with rt_sigreturn, from the
 * handler's frame for a plain resume, or from a frame built afresh from the
 * host's state for a restore.  A guest that jumps to gate_wait itself ends
 * up in the same fixed code, so once the host has seen the child waiting
 * there (process.c: quiesce), no guest code runs until the host says so.  After the
 * filter, only two instructions may make system calls (PROC_GATE_*), with
 * arguments the filter pins.  The guest can write the stub's stack and the
 * control page and jump anywhere: the host treats all of it as hostile.
 */
#include <stddef.h>
#include <stdint.h>

#include "proc_abi.h"

#define STR(x) #x
#define XSTR(x) STR(x)
#define STUB_FD_HIGH 16 /* spare_main */
#define STUB_STACK_SIZE 12288 /* stub_stack (below): the zygote used one page of it, measured */

#define SYS_close 3
#define SYS_mmap 9
#define SYS_munmap 11
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_ioctl 16
#define SYS_sigaltstack 131
#define SYS_prctl 157
#define SYS_arch_prctl 158
#define SYS_setrlimit 160
#define SYS_capset 126
#define SYS_futex 202
#define SYS_exit_group 231
#define SYS_getppid 110
#define SYS_getpid 39
#define SYS_kill 62
#define SYS_seccomp 317
#define SYS_userfaultfd 323
#define SYS_close_range 436
#define SYS_unshare 272
#define SYS_read 0
#define SYS_write 1
#define SYS_socketpair 53
#define SYS_sendmsg 46
#define SYS_recvmsg 47
#define SYS_clone 56
#define SYS_fcntl 72
#define SYS_dup3 292

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_FIXED_NOREPLACE 0x100000
#define MAP_ANONYMOUS 0x20
#define MAP_POPULATE 0x8000

#define SA_SIGINFO 4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000
#define SA_NODEFER 0x40000000

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

typedef unsigned long u64;

/* Every system call of the set-up goes through gate_setup, alone in its
 * page at PROC_GATE_SETUP: the seccomp filter, installed by the zygote,
 * allows any call from there, and a spare unmaps that page before it
 * reports ready, so no instruction is left there for a guest to reach. */
static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("call gate_setup" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* The gates: the only system-call instructions the filter lets through. */
__asm__(".section .gate_setup, \"ax\", @progbits\n"
        ".globl gate_setup\n"
        "gate_setup:\n"                 /* PROC_GATE_SETUP: until the spare is ready */
        "    syscall\n"
        "    ret\n"
        ".section .text.gates, \"ax\", @progbits\n"
        ".globl gate_syscall\n"
        "gate_syscall:\n"               /* PROC_GATE_SYSCALL: rax = nr, args in rdi, rsi, rdx, r10 */
        "    syscall\n"
        "    ret\n"
        ".p2align 4\n"
        ".globl gate_sigreturn\n"
        "gate_sigreturn:\n"             /* PROC_GATE_SIGRET */
        "    movl $15, %eax\n"
        "    syscall\n"
        "    ud2\n"
        ".p2align 4\n"
        ".globl gate_ready\n"
        "gate_ready:\n"                 /* PROC_GATE_READY */
        "    ud2\n"
        ".p2align 4\n"
        /* PROC_GATE_WAIT: the only FUTEX_WAIT.  In: ebx = the to_child
         * value already seen.  Whoever waits here (the handler, or a guest
         * that jumped here) continues only into stub_resume, on the stub's
         * own stack, once to_child moves, or into gate_park when the host
         * asks: never back into code the guest chose. */
        ".globl gate_wait\n"
        "gate_wait:\n"
        "1:  movabsq $" XSTR(PROC_RO_TO_CHILD) ", %rdi\n"
        "    xorl %esi, %esi\n"            /* FUTEX_WAIT */
        "    movl %ebx, %edx\n"
        "    xorl %r10d, %r10d\n"          /* no timeout */
        "    movl $202, %eax\n"
        "    syscall\n"
        ".if (. - gate_wait) != 24\n"
        ".error \"gate_wait: PROC_GATE_WAIT_IP moved\"\n"
        ".endif\n"
        "2:  movabsq $" XSTR(PROC_RO_TO_CHILD) ", %rdi\n"
        "    cmpl %ebx, (%rdi)\n"
        "    jne 3f\n"
        "    testl $0x80000000, 4(%rdi)\n"  /* RO->park_token & PROC_PARK_NOW */
        "    jz 1b\n"
        "    jmp gate_park\n"
        ".globl gate_go\n"
        "gate_go:\n"                      /* to_child moved: run the command */
        "3:  leaq stub_stack+" XSTR(STUB_STACK_SIZE) "(%rip), %rsp\n"
        "    jmp stub_resume\n"
        ".org gate_syscall + 0x80, 0xcc\n"
        /* PROC_GATE_PARK: the only write, of RO->word (read by the kernel
         * from the read-only page) to the park pipe; then fixed code: with
         * a park token still in RO->word, a bounded spin until to_child
         * moves, then gate_wait; without one, the host's next command is
         * already there: run it.  See struct proc_ro. */
        ".globl gate_park\n"
        "gate_park:\n"
        "    movl $1, %eax\n"              /* write */
        "    movl $" XSTR(PROC_FD_PARK) ", %edi\n"
        "    movabsq $" XSTR(PROC_RO_ADDR) ", %rsi\n" /* &RO->word */
        "    movl $8, %edx\n"
        "    syscall\n"
        ".if (. - gate_park) != 27\n"
        ".error \"gate_park: PROC_GATE_PARK_IP moved\"\n"
        ".endif\n"
        "    movabsq $" XSTR(PROC_RO_ADDR) ", %rdi\n"
        "    movq (%rdi), %rbx\n"         /* ebx: to_child; the top half: the token */
        "    movq %rbx, %rax\n"
        "    shrq $32, %rax\n"
        "    jz 3b\n"
        "    movabsq $" XSTR(PROC_CTL_ADDR + 0x40) ", %rdx\n" /* &CTL->park_hint */
        "    movl %ebx, (%rdx)\n"
        "    movabsq $" XSTR(PROC_RO_PARK_SPIN) ", %rax\n"
        "    movl (%rax), %ecx\n"
        "    cmpl $" XSTR(PROC_PARK_SPIN_MAX) ", %ecx\n"
        "    jbe 4f\n"
        "    movl $" XSTR(PROC_PARK_SPIN_MAX) ", %ecx\n"
        "4:  testl %ecx, %ecx\n"
        "    jz 6f\n"
        "5:  cmpl %ebx, (%rdi)\n"
        "    jne 3b\n"
        "    pause\n"
        "    cmpl $0, (%rax)\n"           /* the host ended the spin: sleep now */
        "    je 6f\n"
        "    decl %ecx\n"
        "    jnz 5b\n"
        "6:  movabsq $" XSTR(PROC_CTL_ADDR + 0x44) ", %rax\n" /* &CTL->child_waiting */
        "    movl $1, %ecx\n"
        "    xchgl %ecx, (%rax)\n"
        "    jmp 1b\n"
        ".org gate_syscall + 0x100, 0xcc\n"
        /* PROC_GATE_FAST, the exit gate (glint/abi.h): the guest jumps here
         * instead of faulting on an OUT, with RCX = where to resume (after
         * that OUT).  Its registers go to fast_regs, the flags too (from
         * the stub's stack: nothing is written below the guest's RSP), and
         * fast_exit reports them.  No system call, no signal frame. */
        ".globl gate_fast\n"
        "gate_fast:\n"
        "    movabsq %rax, fast_regs+104\n"
        "    movabsq $fast_regs, %rax\n"
        "    movq %r8, 0(%rax)\n"
        "    movq %r9, 8(%rax)\n"
        "    movq %r10, 16(%rax)\n"
        "    movq %r11, 24(%rax)\n"
        "    movq %r12, 32(%rax)\n"
        "    movq %r13, 40(%rax)\n"
        "    movq %r14, 48(%rax)\n"
        "    movq %r15, 56(%rax)\n"
        "    movq %rdi, 64(%rax)\n"
        "    movq %rsi, 72(%rax)\n"
        "    movq %rbp, 80(%rax)\n"
        "    movq %rbx, 88(%rax)\n"
        "    movq %rdx, 96(%rax)\n"
        "    movq %rcx, 112(%rax)\n"
        "    movq %rsp, 120(%rax)\n"
        "    movq %rcx, 128(%rax)\n"      /* rip: the resume address */
        "    leaq stub_stack+" XSTR(STUB_STACK_SIZE) "(%rip), %rsp\n"
        "    pushfq\n"
        "    popq 136(%rax)\n"
        "    call fast_exit\n"
        "    ud2\n"
        /* Back into the guest from fast_regs, flags first (from the stub's
         * stack), RSP last, then a jump through memory: every register is
         * the guest's. */
        ".globl fast_resume\n"
        "fast_resume:\n"
        "    leaq stub_stack+" XSTR(STUB_STACK_SIZE) "(%rip), %rsp\n"
        "    pushq fast_regs+136(%rip)\n"
        "    popfq\n"
        "    movabsq $fast_regs, %rax\n"
        "    movq 0(%rax), %r8\n"
        "    movq 8(%rax), %r9\n"
        "    movq 16(%rax), %r10\n"
        "    movq 24(%rax), %r11\n"
        "    movq 32(%rax), %r12\n"
        "    movq 40(%rax), %r13\n"
        "    movq 48(%rax), %r14\n"
        "    movq 56(%rax), %r15\n"
        "    movq 64(%rax), %rdi\n"
        "    movq 72(%rax), %rsi\n"
        "    movq 80(%rax), %rbp\n"
        "    movq 88(%rax), %rbx\n"
        "    movq 96(%rax), %rdx\n"
        "    movq 112(%rax), %rcx\n"
        "    movq 120(%rax), %rsp\n"
        "    movq 104(%rax), %rax\n"
        "    jmp *fast_regs+128(%rip)\n"
        ".globl gate_fast_end\n"
        "gate_fast_end:\n"
        ".text\n");
extern char gate_syscall[], gate_sigreturn[], gate_ready[];
extern char gate_fast[], gate_fast_end[] __attribute__((visibility("hidden")));
__attribute__((noreturn, visibility("hidden"))) void fast_resume(void);

/* The guest's registers at its last exit through the gate (proc_regs
 * layout: gate_fast and fast_resume use the offsets). */
__attribute__((used, aligned(64), section(".bss.hot"))) struct proc_regs fast_regs;
_Static_assert(offsetof(struct proc_regs, rax) == 104 && offsetof(struct proc_regs, rcx) == 112 &&
                   offsetof(struct proc_regs, rsp) == 120 && offsetof(struct proc_regs, rip) == 128 &&
                   offsetof(struct proc_regs, rflags) == 136,
               "gate_fast: fast_regs offsets");
/* The guest's state is in fast_regs and its FPU/SSE/AVX registers (the
 * stub uses none), not in a signal frame; and a signal that came while
 * the stub ran for it, delivered at the next resume. */
static int fast_mode __attribute__((section(".bss.hot")));
static int fast_signal __attribute__((section(".bss.hot")));
struct k_sigcontext;
static void load_fast_regs(struct k_sigcontext *mc);
static void report_fast(uint32_t kind, int sig);
static void xsave_to_ctl(void);
static void xrstor_from_ctl(void);

static long gate(long n, long a, long b, long c, long d)
{
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("call gate_syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "r8", "r9", "memory");
    return r;
}

#define CTL ((volatile struct proc_ctl *)PROC_CTL_ADDR)
#define RO ((volatile const struct proc_ro *)PROC_RO_ADDR)

/*
 * The stub's memory, laid out so that a sandbox's process writes as few
 * pages of its own as it can (each is a private copy of the zygote's):
 * - stub_stack: the zygote's and a spare's set-up stack, and after the
 *   ready report the stack every command runs on (set-up never returns);
 *   a sandbox touches its top page.
 * - alt_stack: the signal handler's stack, its top page aligned: a signal
 *   frame with the XSAVE area (2.8 KiB where AVX-512 is on) and the
 *   handler's own frames fit in that one page.
 * - .bss.hot (stub.ld: one page, page aligned): every variable a sandbox
 *   writes, then the XSAVE image of a restore's fresh frame (fresh_fp).
 * All of it, with the text and the control pages, fits the 60 KiB between
 * the guest's boot info page and its image (proc_abi.h, stub.ld).
 */
__attribute__((used, aligned(4096), section(".bss.stack_cmd"))) uint8_t stub_stack[STUB_STACK_SIZE];
static uint8_t alt_stack[16384] __attribute__((aligned(4096), section(".bss.stack_alt")));

static int ctl_mapped __attribute__((section(".bss.hot"))); /* a spare that has its control page */

__attribute__((noreturn)) static void die(uint32_t step, long rc)
{
    /* Tell the host why, if the control page is there, then exit. */
    if (ctl_mapped) {
        CTL->rep_kind = PROC_REP_SETUP_FAILED;
        CTL->err = step;
        CTL->code = (int32_t)-rc;
        __atomic_add_fetch((uint32_t *)&CTL->to_host, 1, __ATOMIC_SEQ_CST);
        sys6(SYS_futex, (long)&CTL->to_host, FUTEX_WAKE, 1, 0, 0, 0);
    }
    for (;;)
        sys(SYS_exit_group, 100 + step, 0, 0);
}

/* Kernel ABI structures, just what is needed. */
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
struct k_rlimit {
    u64 cur, max;
};
struct k_sock_fprog {
    unsigned short len;
    void *filter;
};
struct k_uffdio_api {
    u64 api, features, ioctls;
};
struct k_uffdio_register {
    u64 start, len, mode, ioctls;
};
struct k_uffdio_writeprotect {
    u64 start, len, mode;
};

/* ucontext_t on x86-64, as the kernel lays it out. */
struct k_sigcontext {
    u64 r8, r9, r10, r11, r12, r13, r14, r15;
    u64 rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    u64 err, trapno, oldmask, cr2;
    uint8_t *fpstate;
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
    union {
        struct {
            u64 addr; /* SIGSEGV etc.: si_addr */
        } fault;
        struct {
            u64 call_addr;
            int syscall;
            unsigned arch;
        } sys;
    } u;
};

static void copy(volatile void *dst, const volatile void *src, size_t n)
{
    volatile uint8_t *d = dst;
    const volatile uint8_t *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}

/* Zeroes n bytes (a multiple of 8, 8-byte aligned) with plain stores that
 * the compiler cannot turn into a call to memset (there is none here). */
static void zero(volatile void *p, size_t n)
{
    volatile uint64_t *q = p;
    for (size_t i = 0; i < n / 8; i++)
        q[i] = 0;
}

#define FP_XSTATE_MAGIC1 0x46505853u

static uint64_t rdfsbase(void)
{
    uint64_t v;
    __asm__ volatile("rdfsbase %0" : "=r"(v));
    return v;
}
static uint64_t rdgsbase(void)
{
    uint64_t v;
    __asm__ volatile("rdgsbase %0" : "=r"(v));
    return v;
}

static void report(void)
{
    __atomic_add_fetch((uint32_t *)&CTL->to_host, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n((uint32_t *)&CTL->host_waiting, __ATOMIC_SEQ_CST))
        gate(SYS_futex, (long)&CTL->to_host, FUTEX_WAKE, 1, 0);
}

/* Spins a bounded while for the host's next command, then waits at
 * gate_wait; parks (gate_park) as soon as the host asks with a park token.
 * Never returns. */
__attribute__((noreturn)) static void wait_command(uint32_t seen)
{
    /* CTL->spin is read on every round: the host ends the spin early
     * (0) when the next command is not coming soon. */
    for (uint32_t i = 0; i < CTL->spin && i < 100000; i++) {
        if (__atomic_load_n((const uint32_t *)&RO->to_child, __ATOMIC_ACQUIRE) != seen) {
            /* The command is there: no futex call, no wake from the host. */
            __asm__ volatile("jmp gate_go" ::: "memory");
            __builtin_unreachable();
        }
        if (__atomic_load_n((const uint32_t *)&RO->park_token, __ATOMIC_RELAXED) & PROC_PARK_NOW) {
            __asm__ volatile("jmp gate_park" ::: "memory");
            __builtin_unreachable();
        }
        __builtin_ia32_pause();
    }
    __atomic_store_n((uint32_t *)&CTL->child_waiting, 1, __ATOMIC_SEQ_CST);
    __asm__ volatile("movl %0, %%ebx\n\tjmp gate_wait" : : "r"(seen) : "rbx", "memory");
    __builtin_unreachable();
}

static void save_regs(const struct k_sigcontext *mc)
{
    volatile struct proc_regs *r = &CTL->regs;
    r->r8 = mc->r8, r->r9 = mc->r9, r->r10 = mc->r10, r->r11 = mc->r11;
    r->r12 = mc->r12, r->r13 = mc->r13, r->r14 = mc->r14, r->r15 = mc->r15;
    r->rdi = mc->rdi, r->rsi = mc->rsi, r->rbp = mc->rbp, r->rbx = mc->rbx;
    r->rdx = mc->rdx, r->rax = mc->rax, r->rcx = mc->rcx, r->rsp = mc->rsp;
    r->rip = mc->rip, r->rflags = mc->eflags, r->cs = mc->cs;
    if (CTL->fsgsbase) {
        r->fs_base = rdfsbase();
        r->gs_base = rdgsbase();
    }
}

static void load_regs(struct k_sigcontext *mc)
{
    volatile struct proc_regs *r = &CTL->set;
    mc->r8 = r->r8, mc->r9 = r->r9, mc->r10 = r->r10, mc->r11 = r->r11;
    mc->r12 = r->r12, mc->r13 = r->r13, mc->r14 = r->r14, mc->r15 = r->r15;
    mc->rdi = r->rdi, mc->rsi = r->rsi, mc->rbp = r->rbp, mc->rbx = r->rbx;
    mc->rdx = r->rdx, mc->rax = r->rax, mc->rcx = r->rcx, mc->rsp = r->rsp;
    mc->rip = r->rip, mc->eflags = r->rflags;
    mc->cs = 0x33; /* back to 64-bit user code, whatever the guest had */
    mc->ss = 0x2b;
}

static uint32_t fp_size(const uint8_t *fp)
{
    uint32_t magic, size;
    copy(&magic, fp + 464, 4);
    copy(&size, fp + 464 + 16, 4); /* sw_reserved.xstate_size */
    if (magic != FP_XSTATE_MAGIC1 || size < 576 || size > 65536)
        return 512;
    return size;
}

static void dump_fp(const uint8_t *fp)
{
    uint32_t n = fp ? fp_size(fp) : 0;
    if (n > PROC_XSAVE_MAX)
        n = PROC_XSAVE_MAX;
    if (fp)
        copy(CTL->xsave, fp, n);
    CTL->xsave_size = n;
}

static void load_fp(uint8_t *fp)
{
    if (!fp)
        return;
    uint32_t n = fp_size(fp);
    copy(fp, CTL->xsave, 464); /* legacy area, not sw_reserved */
    /* MXCSR: reserved bits must be clear or sigreturn fails. */
    uint32_t mxcsr;
    copy(&mxcsr, fp + 24, 4);
    mxcsr &= 0xffff;
    copy(fp + 24, &mxcsr, 4);
    if (n >= 832) {
        uint64_t bv;
        copy(&bv, CTL->xsave + 512, 8);
        bv &= 7; /* x87, SSE, AVX; everything else back to its initial state */
        copy(fp + 512, &bv, 8);
        copy(fp + 576, CTL->xsave + 576, 256);
    }
}

/* The frame of the signal being handled (the guest's state), for resumes
 * that keep it; and the kernel's own XSAVE header, seen in the first frame. */
static struct k_ucontext *saved_uc __attribute__((section(".bss.hot")));
static uint8_t fp_hdr[48] __attribute__((section(".bss.hot")));
static uint32_t fp_size_seen __attribute__((section(".bss.hot")));

static void learn_fp(const struct k_sigcontext *mc)
{
    if (!fp_size_seen && mc->fpstate) {
        uint32_t n = fp_size(mc->fpstate);
        if (n > 512) {
            copy(fp_hdr, mc->fpstate + 464, 48);
            fp_size_seen = n;
        }
    }
}

static void handler(int sig, struct k_siginfo *si, struct k_ucontext *uc)
{
    struct k_sigcontext *mc = &uc->mc;
    if (!ctl_mapped) {
        /* The zygote's own signal (stub_main): the kernel's XSAVE header,
         * learned once for every spare; nothing to report to. */
        learn_fp(mc);
        if (sig == PROC_SIG_INTERRUPT)
            return;
        die(2, -sig); /* a fault in the stub's own set-up */
    }
    if ((sig == PROC_SIG_INTERRUPT || sig == 24 /* SIGXCPU */) && mc->rip >= PROC_STUB_BASE &&
        mc->rip < PROC_STUB_END) {
        if (mc->rip >= (u64)fast_resume && mc->rip < (u64)gate_fast_end) {
            /* On the way back into the guest: it is as if the signal had
             * come at its resume address, with its registers. */
            load_fast_regs(mc);
        } else {
            /* The stub is at work for an exit through the gate (its signals
             * are not blocked there): report it at the next resume. */
            fast_signal = sig;
            return;
        }
    }
    fast_mode = 0;
    CTL->rep_kind = PROC_REP_SIGNAL;
    CTL->signo = sig;
    CTL->code = si->code;
    CTL->trapno = mc->trapno;
    CTL->err = mc->err;
    CTL->addr = si->u.fault.addr;
    if (sig == 31) { /* SIGSYS */
        CTL->sys_nr = si->u.sys.syscall;
        CTL->sys_arch = si->u.sys.arch;
        CTL->sys_addr = si->u.sys.call_addr;
    }
    save_regs(mc);
    saved_uc = uc;
    learn_fp(mc);
    uint32_t seen = __atomic_load_n((const uint32_t *)&RO->to_child, __ATOMIC_SEQ_CST);
    report();
    wait_command(seen);
}

/* The report of an exit through the gate (or of a signal held back while
 * the stub worked for one): the guest's registers from fast_regs. */
static void report_fast(uint32_t kind, int sig)
{
    CTL->rep_kind = kind;
    CTL->signo = sig;
    CTL->code = 0;
    CTL->trapno = 0;
    CTL->err = 0;
    CTL->addr = 0;
    volatile uint64_t *d = (volatile uint64_t *)&CTL->regs;
    const uint64_t *s = (const uint64_t *)&fast_regs;
    for (size_t i = 0; i < offsetof(struct proc_regs, fs_base) / 8; i++)
        d[i] = s[i];
    CTL->regs.cs = 0x33;
}

/* The exit through the gate ends the call: its OUT (before the resume
 * address, in executable guest memory) is to GLINT_PORT_DONE. */
static int ends_call(uint64_t rip)
{
    uint32_t n = CTL->nmaps;
    for (uint32_t i = 0; i < n && i < 64; i++) {
        uint64_t gva = CTL->maps[i].gva, size = CTL->maps[i].size;
        if ((CTL->maps[i].prot & PROT_EXEC) && rip - 2 >= gva && rip - 2 < gva + size && rip <= gva + size)
            return *(volatile const uint8_t *)(rip - 2) == 0xe6 &&
                   *(volatile const uint8_t *)(rip - 1) == 0xe0 /* GLINT_PORT_DONE */;
    }
    return 0;
}

__attribute__((noreturn, used)) void fast_exit(void);
__attribute__((noreturn, used)) void fast_exit(void)
{
    fast_mode = 1;
    report_fast(PROC_REP_FAST, 0);
    /* A restore follows (the host said so with the command): park now,
     * after the report, without being asked (struct proc_ro). */
    int park = __atomic_load_n((const uint32_t *)&RO->park_token, __ATOMIC_RELAXED) == PROC_PARK_AT_DONE &&
               ends_call(fast_regs.rip);
    uint32_t seen = __atomic_load_n((const uint32_t *)&RO->to_child, __ATOMIC_SEQ_CST);
    report();
    if (park)
        __asm__ volatile("jmp gate_park" ::: "memory");
    wait_command(seen);
}

/* A signal frame now holds the guest's state from fast_regs. */
static void load_fast_regs(struct k_sigcontext *mc)
{
    const struct proc_regs *r = &fast_regs;
    mc->r8 = r->r8, mc->r9 = r->r9, mc->r10 = r->r10, mc->r11 = r->r11;
    mc->r12 = r->r12, mc->r13 = r->r13, mc->r14 = r->r14, mc->r15 = r->r15;
    mc->rdi = r->rdi, mc->rsi = r->rsi, mc->rbp = r->rbp, mc->rbx = r->rbx;
    mc->rdx = r->rdx, mc->rax = r->rax, mc->rcx = r->rcx, mc->rsp = r->rsp;
    mc->rip = r->rip, mc->eflags = r->rflags;
}

/* FPU/SSE/AVX, straight from the registers (the stub uses none of them). */
static uint64_t xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static void xsave_to_ctl(void)
{
    uint32_t mask = (uint32_t)(xcr0() & 7);
    __asm__ volatile("xsave64 %0" : "=m"(*(uint8_t(*)[832])CTL->xsave) : "a"(mask), "d"(0) : "memory");
    CTL->xsave_size = 832;
}

static void xrstor_from_ctl(void)
{
    uint8_t img[832] __attribute__((aligned(64))); /* on the stack: not a page of its own */
    copy(img, CTL->xsave, 832);
    uint32_t mxcsr;
    copy(&mxcsr, img + 24, 4);
    mxcsr &= 0xffff; /* reserved bits would fault */
    copy(img + 24, &mxcsr, 4);
    uint64_t mask = xcr0() & 7, bv;
    copy(&bv, img + 512, 8);
    bv &= mask;
    copy(img + 512, &bv, 8);
    for (size_t i = 520; i < 576; i++) /* XCOMP_BV and the reserved header: 0 */
        img[i] = 0;
    __asm__ volatile("xrstor64 %0" : : "m"(*(uint8_t(*)[832])img), "a"((uint32_t)mask), "d"(0) : "memory");
}

/* A whole new signal frame, built from the host's state alone: a restore
 * owes nothing to what the guest left on the stub's stacks. */
static struct {
    uint64_t pretcode;
    struct k_ucontext uc;
} fresh __attribute__((aligned(64), section(".bss.hot")));
/* Last in the hot page (stub.ld): an XSAVE image of up to ~3 KiB stays in
 * it; a larger one (a CPU with more state) spills into the next page. */
static uint8_t fresh_fp[7168] __attribute__((aligned(64), section(".bss.hot_fp")));

#define FP_XSTATE_MAGIC2 0x46505845u

__attribute__((noreturn)) static void sigreturn_at(void *uc)
{
    __asm__ volatile("movq %0, %%rsp\n\tjmp gate_sigreturn" : : "r"(uc) : "memory");
    __builtin_unreachable();
}

static void reset_selectors(void)
{
    uint16_t ds, es, fs, gs;
    __asm__ volatile("mov %%ds, %0; mov %%es, %1; mov %%fs, %2; mov %%gs, %3"
                     : "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
    if (ds | es)
        __asm__ volatile("mov %0, %%ds; mov %0, %%es" : : "r"(0));
    if (fs | gs)
        __asm__ volatile("mov %0, %%fs; mov %0, %%gs" : : "r"(0));
    /* The guest may have moved the bases (WRFSBASE, or a selector load).
     * Where they can be read (the host found out, in the read-only page),
     * only set them when they moved. */
    if (RO->fsgsbase && !(ds | es | fs | gs) && rdfsbase() == PROC_BOOT_FS && rdgsbase() == 0)
        return;
    gate(SYS_arch_prctl, 0x1002, PROC_BOOT_FS, 0, 0);
    gate(SYS_arch_prctl, 0x1001, 0, 0, 0);
}

__attribute__((noreturn, used)) void stub_resume(void);
__attribute__((noreturn, used)) void stub_resume(void)
{
    __atomic_store_n((uint32_t *)&CTL->child_waiting, 0, __ATOMIC_RELAXED);
    uint32_t cmd = CTL->cmd, f = CTL->cmd_flags;
    if (cmd == PROC_CMD_EXIT)
        for (;;)
            gate(SYS_exit_group, 0, 0, 0, 0);
    if (cmd == PROC_CMD_DUMP) {
        if (fast_mode)
            xsave_to_ctl();
        else
            dump_fp(saved_uc ? saved_uc->mc.fpstate : 0);
        CTL->rep_kind = PROC_REP_DUMP;
        uint32_t seen = __atomic_load_n((const uint32_t *)&RO->to_child, __ATOMIC_SEQ_CST);
        report();
        wait_command(seen);
    }
    if (f & PROC_SET_GREGS) {
        /* Restore: everything from the host and from constants. */
        fast_mode = 0;
        fast_signal = 0;
        saved_uc = 0; /* the frame below is not the handler's */
        volatile struct k_ucontext *u = &fresh.uc;
        zero(&fresh, sizeof fresh);
        u->flags = 1 | 2 | 4; /* UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS */
        u->stack.sp = alt_stack;
        u->stack.flags = 0;
        u->stack.size = sizeof alt_stack;
        u->sigmask = 0;
        load_regs((struct k_sigcontext *)&u->mc);
        uint32_t n = fp_size_seen;
        /* Only what sigreturn reads: the XSAVE image and its end marker. */
        zero(fresh_fp, n > 512 && n + 4 <= sizeof fresh_fp ? (n + 4 + 7) & ~7u : 512);
        if (n > 512 && n + 4 <= sizeof fresh_fp) {
            copy(fresh_fp + 464, fp_hdr, 48); /* the kernel's sw_reserved, as it wrote it */
            uint32_t m2 = FP_XSTATE_MAGIC2;
            copy(fresh_fp + n, &m2, 4);
        }
        load_fp(fresh_fp);
        u->mc.fpstate = fresh_fp;
        reset_selectors();
        sigreturn_at((void *)u);
    }
    if (fast_mode) {
        /* The guest left through the gate: its state is in fast_regs and
         * in the FPU/SSE/AVX registers. */
        if (f & PROC_SET_RIP)
            fast_regs.rip = CTL->set.rip;
        if (f & PROC_SET_FP)
            xrstor_from_ctl();
        if (f & PROC_SET_FSGS)
            reset_selectors();
        if (fast_signal) {
            /* A signal that came while the stub worked: reported now, at the
             * guest's resume address, before it runs again. */
            report_fast(PROC_REP_SIGNAL, fast_signal);
            fast_signal = 0;
            uint32_t seen = __atomic_load_n((const uint32_t *)&RO->to_child, __ATOMIC_SEQ_CST);
            report();
            wait_command(seen);
        }
        fast_mode = 0;
        saved_uc = 0; /* no frame holds the guest's state */
        fast_resume();
    }
    struct k_ucontext *uc = saved_uc;
    if (!uc) /* only after a guest jumped into the stub: fail, in stub code */
        __asm__ volatile("jmp gate_ready" ::: "memory");
    if (f & PROC_SET_RIP)
        uc->mc.rip = CTL->set.rip;
    if (f & PROC_SET_FP)
        load_fp(uc->mc.fpstate);
    if (f & PROC_SET_FSGS)
        reset_selectors();
    sigreturn_at(uc);
}

/* Kernel ABI for passing file descriptors (SCM_RIGHTS). */
struct k_iovec {
    void *base;
    size_t len;
};
struct k_msghdr {
    void *name;
    int namelen;
    struct k_iovec *iov;
    size_t iovlen;
    void *control;
    size_t controllen;
    unsigned flags;
};
struct k_cmsg3 {
    size_t len;
    int level, type;
    int fds[3];
    int pad;
};
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define MSG_NOSIGNAL 0x4000
#define MSG_CMSG_CLOEXEC 0x40000000

/* Sends `word` and up to two descriptors on socket fd (SCM_RIGHTS). */
static long send_fds(int fd, long word, const int *fds, int n)
{
    struct k_iovec iov = {&word, sizeof word};
    struct k_cmsg3 cm;
    zero(&cm, sizeof cm);
    cm.len = 16 + 4u * (unsigned)n;
    cm.level = SOL_SOCKET;
    cm.type = SCM_RIGHTS;
    for (int i = 0; i < n; i++)
        cm.fds[i] = fds[i];
    struct k_msghdr mh = {0, 0, &iov, 1, n ? &cm : 0, n ? (16 + 8 * ((4u * (unsigned)n + 7) / 8)) : 0, 0};
    return sys(SYS_sendmsg, fd, &mh, MSG_NOSIGNAL);
}

static int host_pid; /* read by the zygote from the host's first message */
static int ns_ok;    /* the zygote has its own user, IPC and UTS namespaces */
static uint32_t go_spin; /* the host's hello: pause loops a spare spins for `go` */

/* Receives one message with up to 3 descriptors (SCM_RIGHTS) on sock:
 * how many came, or 0 at the socket's end (or on a malformed message). */
static int recv_fds(int sock, int *fds, u64 *extra)
{
    long word = 0, rc;
    struct k_iovec iov = {&word, sizeof word};
    struct k_cmsg3 cm;
    zero(&cm, sizeof cm);
    struct k_msghdr mh = {0, 0, &iov, 1, &cm, sizeof cm, 0};
    do
        rc = sys(SYS_recvmsg, sock, &mh, MSG_CMSG_CLOEXEC);
    while (rc == -4 /* EINTR */);
    u64 count = (u64)word & PROC_ARM_COUNT_MASK;
    *extra = (u64)word & ~PROC_ARM_COUNT_MASK;
    if (rc != (long)sizeof word || cm.level != SOL_SOCKET || cm.type != SCM_RIGHTS || cm.len < 16 + 4 ||
        cm.len > 16 + 12 || (u64)(cm.len - 16) / 4 != count)
        return 0;
    int n = (int)count;
    for (int i = 0; i < n; i++)
        fds[i] = cm.fds[i];
    return n;
}

/* Writes one byte per page of [p, p + n): the copy-on-write faults that a
 * fork would take on its first report happen while it is still a spare. */
static void pretouch(volatile void *p, size_t n)
{
    volatile uint8_t *b = p;
    for (size_t i = 0; i < n; i += 4096)
        b[i] = b[i];
    b[n - 1] = b[n - 1];
}

/*
 * A spare: a child of the zygote (and, by CLONE_PARENT, of the host), with
 * the zygote's jail and filter.  It holds nothing of the host and waits on
 * the socket only it and the host hold.  First the host arms it: a
 * control memfd with the offset of its slot there and the park pipe's
 * write end (it maps its control pages, closes the memfd and readies its
 * userfaultfd).  Then, when a sandbox takes it, the guest
 * memory memfd; once the host has written into the control page what to
 * map (`go`), it maps guest memory, arms dirty tracking, unmaps the set-up
 * gate and reports ready.  A spare whose socket closes exits quietly.
 */
__attribute__((noreturn)) static void spare_main(int sock, int other)
{
    long rc;
    sys(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, 9, 0);
    /* What the set-up, the ready report and a first call write: the top
     * page of the signal stack (a frame with the XSAVE area), the top of
     * the stack (set-up is running on it) and the hot page (the exit
     * gate's registers, the flags, a restore's fresh frame). */
    pretouch(alt_stack + sizeof alt_stack - 4096, 4096);
    pretouch(&fast_regs, sizeof fast_regs);
    pretouch(fresh_fp, 512);
    if (sys(SYS_getppid, 0, 0, 0) != (long)host_pid) /* reparented: the host is gone */
        die(1, -3);
    sys(SYS_close, PROC_FD_ZYGOTE, 0, 0);
    sys(SYS_close, other, 0, 0);
    /* 1: armed by the host: a control memfd (its pages at ctl_off there)
     * and the park pipe's write end. */
    int got[3];
    u64 ctl_off = 0, none;
    if (recv_fds(sock, got, &ctl_off) != 2)
        for (;;)
            sys(SYS_exit_group, 0, 0, 0); /* dropped unused: not a failure */
    /* Out of the way of everything received (all below 16), but within the
     * 64 descriptors a process's table holds before it grows: a grown one
     * (128) costs every sandbox process ~1.1 KiB of kernel memory. */
    int high_sock = (int)sys(SYS_fcntl, sock, 0 /* F_DUPFD */, STUB_FD_HIGH);
    int high_ctl = (int)sys(SYS_fcntl, got[0], 0, STUB_FD_HIGH);
    int high_park = (int)sys(SYS_fcntl, got[1], 0, STUB_FD_HIGH);
    if (high_sock < 0 || high_ctl < 0 || high_park < 0 || high_park >= 64)
        die(1, -24);
    sys(SYS_close_range, 0, STUB_FD_HIGH - 1, 0); /* the descriptors as received */
    if ((rc = sys(SYS_dup3, high_park, PROC_FD_PARK, 0)) < 0)
        die(1, rc);
    sys(SYS_close, high_park, 0, 0);
    /* 2: the control pages, populated now; then the memfd (other spares'
     * pages too) goes, before anything but this code runs here. */
    if (ctl_off % (PROC_CTL_SIZE + PROC_RO_SIZE) || ctl_off >= PROC_ARM_OFF_MAX)
        die(1, -22);
    rc = sys6(SYS_mmap, PROC_CTL_ADDR, PROC_CTL_SIZE, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_POPULATE, high_ctl, (long)ctl_off);
    if (rc != (long)PROC_CTL_ADDR)
        die(1, rc);
    rc = sys6(SYS_mmap, PROC_RO_ADDR, PROC_RO_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_POPULATE,
              high_ctl, (long)(ctl_off + PROC_CTL_SIZE));
    if (rc != (long)PROC_RO_ADDR)
        die(1, rc);
    sys(SYS_close, high_ctl, 0, 0);
    /* The userfaultfd for dirty tracking, ready before it is needed. */
    long uffd = sys(SYS_userfaultfd, 02000000 /* O_CLOEXEC */ | 04000 /* O_NONBLOCK */ | 1 /* USER_MODE_ONLY */, 0, 0);
    if (uffd >= 0) {
        /* WP_HUGETLBFS_SHMEM (1<<12), WP_UNPOPULATED (1<<13), WP_ASYNC (1<<15) */
        struct k_uffdio_api api = {0xAA, (1ull << 12) | (1ull << 13) | (1ull << 15), 0};
        if (sys(SYS_ioctl, uffd, 0xc018aa3f /* UFFDIO_API */, &api) != 0) {
            sys(SYS_close, uffd, 0, 0);
            uffd = -1;
        }
    }
    /* 3: a sandbox: the host wrote what to map into the control page and
     * sends its guest memory; or the end of this spare. */
    int nfd = recv_fds(high_sock, got, &none);
    if (nfd != 1 && nfd != 2)
        for (;;)
            sys(SYS_exit_group, 0, 0, 0);
    sys(SYS_close, high_sock, 0, 0);
    int memfd = got[0], snapfd = nfd == 2 ? got[1] : -1; /* snapfd: PROC_MAP_SNAPSHOT maps */
    /* The host may still be loading it: wait until the control page says
     * how to map it (a bounded spin, then asleep). */
    for (uint32_t i = 0; !__atomic_load_n((uint32_t *)&CTL->go, __ATOMIC_ACQUIRE); i++) {
        if (i < go_spin)
            __builtin_ia32_pause();
        else
            sys6(SYS_futex, (long)&CTL->go, FUTEX_WAIT, 0, 0, 0, 0);
    }
    ctl_mapped = 1;
    if (CTL->host_pid != (uint32_t)host_pid)
        die(9, -3);
    CTL->ns_ok = (uint32_t)ns_ok;
    /* 4: guest memory with the page tables' permissions. */
    uint32_t n = CTL->nmaps;
    if (n > 64)
        die(4, -22);
    for (uint32_t i = 0; i < n; i++) {
        u64 gva = CTL->maps[i].gva, size = CTL->maps[i].size;
        uint32_t prot = CTL->maps[i].prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
        int snap = (CTL->maps[i].prot & PROC_MAP_SNAPSHOT) != 0;
        if (snap && (snapfd < 0 || (prot & PROT_WRITE)))
            die(4, -9 /* EBADF */);
        /* The snapshot's pages exist already: mapped now, in one call, not
         * one page fault each in the first guest call (populating a
         * writable range would allocate its holes). */
        rc = sys6(SYS_mmap, (long)gva, (long)size, prot,
                  MAP_SHARED | MAP_FIXED_NOREPLACE | (snap ? MAP_POPULATE : 0), snap ? snapfd : memfd,
                  snap ? (long)(CTL->snap_off + gva) : (long)gva);
        if (rc != (long)gva)
            die(4, rc < 0 ? rc : -17);
    }
    sys(SYS_close, memfd, 0, 0);
    if (snapfd >= 0)
        sys(SYS_close, snapfd, 0, 0);
    /* 5: dirty tracking: userfaultfd write-protect, asynchronous (no
     * messages: the kernel just clears the protection), read by the host
     * with PAGEMAP_SCAN.  Optional. */
    CTL->uffd_ok = 0;
    if (CTL->want_uffd && uffd >= 0) {
        int ok = 1;
        for (uint32_t i = 0; ok && i < n; i++) {
            if (!CTL->maps[i].uffd_wp)
                continue;
            struct k_uffdio_register reg = {CTL->maps[i].gva, CTL->maps[i].size, 2 /* MODE_WP */, 0};
            ok = sys(SYS_ioctl, uffd, 0xc020aa00 /* UFFDIO_REGISTER */, &reg) == 0;
            struct k_uffdio_writeprotect wp = {CTL->maps[i].gva, CTL->maps[i].size, 1 /* WP */};
            ok = ok && sys(SYS_ioctl, uffd, 0xc018aa06 /* UFFDIO_WRITEPROTECT */, &wp) == 0;
        }
        CTL->uffd_ok = (uint32_t)ok;
        if (!ok)
            sys(SYS_close, uffd, 0, 0);
    } else if (uffd >= 0) {
        sys(SYS_close, uffd, 0, 0);
    }
    /* 7: limits (the zygote set the others; NPROC here, or it could not fork). */
    struct k_rlimit zero_lim = {0, 0}, as = {CTL->rlimit_as, CTL->rlimit_as};
    sys(SYS_setrlimit, 6 /* NPROC */, &zero_lim, 0);
    if (as.cur)
        sys(SYS_setrlimit, 9 /* AS */, &as, 0);
    /* 9: the guest's FS/GS bases (without FSGSBASE the guest cannot change
     * them, and the handler never needs to). */
    sys(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, CTL->set.fs_base, 0);
    sys(SYS_arch_prctl, 0x1001 /* ARCH_SET_GS */, CTL->set.gs_base, 0);
    /* Every signal blocked from here until the guest's first instruction,
     * as in the handler: an interrupt sent while the stub waits for its
     * first command comes then (a fresh frame's mask is empty), instead
     * of being held back by the stub and dropped by that command. */
    u64 all = ~0ull;
    sys6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&all, 0, 8, 0, 0);
    /* 10: the jail (the zygote's filter) closes: the set-up gate goes. */
    if ((rc = gate(SYS_munmap, PROC_GATE_SETUP, 4096, 0, 0)) < 0)
        die(10, rc);
    /* 11: ready, from here (a signal would cost the host ~10 us more);
     * the host's first command, a full state, enters the guest.  Commands
     * count from 0 (the host set it before go): one the host posted
     * during the set-up is taken at once. */
    CTL->rep_kind = PROC_REP_READY;
    report();
    wait_command(0);
}

/*
 * The zygote: the program the host executes, once per host process (the
 * process backend starts another if it dies).  It sheds everything of the
 * host (descriptors, initial stack, vDSO, vvar), takes namespaces of its
 * own, drops every capability, sets limits and the signal handler, and
 * then serves one request on its socket (PROC_FD_ZYGOTE): PROC_ZYGOTE_FORK
 * clones a spare with CLONE_PARENT (the spare is the host's child, not the
 * zygote's) and answers with the spare's pid, its pidfd and the host's end
 * of a socket pair that only the spare shares.  Forking this small, already
 * jailed-in-all-but-seccomp process costs a fraction of executing a new one.
 */
__attribute__((noreturn, used)) void stub_main(void);
__attribute__((noreturn, used)) void stub_main(void)
{
    long rc;
    /* 1: nothing but the socket to the host (and nothing of stdin/out/err). */
    sys(SYS_close_range, 0, PROC_FD_ZYGOTE - 1, 0);
    sys(SYS_close_range, PROC_FD_ZYGOTE + 1, ~0u, 0);
    u64 empty = 0;
    sys6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&empty, 0, 8, 0, 0);
    static struct proc_zygote_hello hello;
    if (sys(SYS_read, PROC_FD_ZYGOTE, &hello, sizeof hello) != (long)sizeof hello || hello.host_pid <= 0 ||
        hello.filter_len == 0 || hello.filter_len > 128)
        die(1, -22);
    host_pid = (int)hello.host_pid;
    go_spin = hello.go_spin;
    /* 3: everything else goes: initial stack, vDSO, vvar, brk. */
    if ((rc = sys(SYS_munmap, 0, PROC_STUB_BASE, 0)) < 0)
        die(3, rc);
    if ((rc = sys(SYS_munmap, PROC_STUB_END, 0x7ffffffff000ull - PROC_STUB_END, 0)) < 0)
        die(3, rc);
    /* 6: namespaces of its own where the host allows them (user, IPC, UTS;
     * a network namespace costs ~0.6 ms and a sandbox cannot make a system
     * call anyway), shared by its spares, then no capabilities in any (a
     * root host's child would have them all, and a new user namespace
     * gives them too). */
    ns_ok = sys(SYS_unshare, 0x10000000 /* NEWUSER */ | 0x08000000 /* NEWIPC */ |
                                 0x04000000 /* NEWUTS */, 0, 0) == 0;
    struct {
        uint32_t version;
        int pid;
    } caphdr = {0x20080522, 0};
    struct {
        uint32_t eff, perm, inh;
    } capdata[2] = {{0, 0, 0}, {0, 0, 0}};
    for (int c = 0; c < 64; c++)
        if (sys(SYS_prctl, 24 /* PR_CAPBSET_DROP */, c, 0) == -22 /* EINVAL: past the last */)
            break;
    sys6(SYS_prctl, 47 /* PR_CAP_AMBIENT */, 4 /* CLEAR_ALL */, 0, 0, 0, 0);
    if ((rc = sys(SYS_capset, &caphdr, capdata, 0)) < 0)
        die(6, rc);
    /* 7: limits. */
    struct k_rlimit zero_lim = {0, 0};
    sys(SYS_setrlimit, 1 /* FSIZE */, &zero_lim, 0);
    sys(SYS_setrlimit, 4 /* CORE */, &zero_lim, 0);
    sys(SYS_setrlimit, 8 /* MEMLOCK */, &zero_lim, 0);
    /* 8: the handler, on its own stack, with every signal blocked inside
     * (inherited by the spares). */
    struct k_stack ss = {alt_stack, 0, sizeof alt_stack};
    if ((rc = sys(SYS_sigaltstack, &ss, 0, 0)) < 0)
        die(8, rc);
    struct k_sigaction sa = {(void *)handler, SA_SIGINFO | SA_ONSTACK | SA_RESTORER, gate_sigreturn, ~0ull};
    static const int sigs[] = {4 /* ILL */, 5 /* TRAP */, 7 /* BUS */, 8 /* FPE */, 11 /* SEGV */,
                               31 /* SYS */, PROC_SIG_INTERRUPT, 24 /* XCPU */};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if ((rc = sys6(SYS_rt_sigaction, sigs[i], (long)&sa, 0, 8, 0, 0)) < 0)
            die(8, rc);
    /* One signal to itself: its frame shows the kernel's XSAVE header and
     * size, which a restore's fresh frame must carry (learn_fp). */
    sys(SYS_kill, sys(SYS_getpid, 0, 0, 0), PROC_SIG_INTERRUPT, 0);
    /* 9: die with the host. */
    sys(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, 9, 0);
    if (sys(SYS_getppid, 0, 0, 0) != (long)host_pid)
        die(9, -3);
    /* 10: the jail, once for every sandbox: only the gates may make system
     * calls, each with pinned arguments; and gate_setup, which each spare
     * unmaps before it runs a guest instruction. */
    struct k_sock_fprog prog = {(unsigned short)hello.filter_len, hello.filter};
    if ((rc = sys(SYS_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0)) < 0)
        die(10, rc);
    if ((rc = sys(SYS_seccomp, 1 /* SET_MODE_FILTER */, 0, &prog)) < 0)
        die(10, rc);
    long word = PROC_ZYGOTE_READY;
    if (sys(SYS_write, PROC_FD_ZYGOTE, &word, sizeof word) != (long)sizeof word)
        die(9, -32);
    /* Serve: one request per message; the host closing its end ends us. */
    for (;;) {
        rc = sys(SYS_read, PROC_FD_ZYGOTE, &word, sizeof word);
        if (rc == -4 /* EINTR */)
            continue;
        if (rc != (long)sizeof word || word != PROC_ZYGOTE_FORK)
            for (;;)
                sys(SYS_exit_group, 0, 0, 0);
        int sv[2] = {-1, -1};
        rc = sys6(SYS_socketpair, 1 /* AF_UNIX */, 5 /* SOCK_SEQPACKET */ | 02000000 /* CLOEXEC */, 0,
                  (long)sv, 0, 0);
        int pidfd = -1;
        if (rc == 0) {
            /* exit signal SIGCHLD is the zygote's own (CLONE_PARENT) */
            rc = sys6(SYS_clone, 0x00008000 /* CLONE_PARENT */ | 0x00001000 /* CLONE_PIDFD */, 0,
                      (long)&pidfd, 0, 0, 0);
            if (rc == 0)
                spare_main(sv[1], sv[0]);
            sys(SYS_close, sv[1], 0, 0);
        }
        int fds[2] = {sv[0], pidfd};
        send_fds(PROC_FD_ZYGOTE, rc, fds, rc > 0 ? 2 : 0);
        if (sv[0] >= 0)
            sys(SYS_close, sv[0], 0, 0);
        if (pidfd >= 0)
            sys(SYS_close, pidfd, 0, 0);
    }
}

__asm__(".text\n"
        ".globl stub_start\n"
        "stub_start:\n"
        "    leaq stub_stack+" XSTR(STUB_STACK_SIZE) "(%rip), %rsp\n"
        "    xorl %ebp, %ebp\n"
        "    call stub_main\n"
        "    ud2\n");
