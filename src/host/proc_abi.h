/*
 * proc_abi.h - the contract between the process backend (process.c) and
 * its stub (src/stub/stub.c), the tiny static program that becomes each
 * sandbox's jailed child process.
 *
 * The child's address space holds only: guest memory (the sandbox memfd,
 * mapped at the same guest addresses as in the VM, with the page tables'
 * permissions), the stub's code and stack at PROC_STUB_BASE, the control
 * page at PROC_CTL_ADDR and the read-only page after it (a slot of a memfd shared
 * with the host) and the kernel's [vsyscall] page, which no process can
 * unmap.  Its file descriptors: the write end of the park pipe and the
 * userfaultfd of dirty tracking.
 *
 * Everything the child writes to the control page is hostile input: the
 * guest can write that page too.  The host copies what it needs out of it
 * and validates the copy.
 */
#ifndef GLINT_PROC_ABI_H
#define GLINT_PROC_ABI_H

#include <stddef.h>
#include <stdint.h>

/* The stub and its control pages sit in the 60 KiB no guest ever uses:
 * between the boot info page (GLINT_BOOT_INFO_GVA) and the lowest address
 * a guest segment may use (GLINT_IMAGE_BASE).  So everything a sandbox's
 * process touches shares the guest's first page-table pages (the 2 MiB
 * of its boot info and image): no page-table page of its own (8 KiB less
 * per sandbox than the stub in a GiB of its own), and the guest keeps
 * every address up to GLINT_MEMORY_MAX. */
#define PROC_STUB_BASE   0x11000 /* gates, then text; linked here (src/stub/stub.ld) */
#define PROC_GATE_SYSCALL (PROC_STUB_BASE + 0x0)  /* `syscall; ret`: futex after the filter */
#define PROC_GATE_SIGRET  (PROC_STUB_BASE + 0x10) /* `mov $15,%eax; syscall`: sa_restorer */
#define PROC_GATE_READY   (PROC_STUB_BASE + 0x20) /* `ud2`: "set up, waiting for the first run" */
#define PROC_GATE_WAIT    (PROC_STUB_BASE + 0x30) /* the only FUTEX_WAIT; continues into fixed code */
#define PROC_GATE_WAIT_IP (PROC_GATE_WAIT + 24)
#define PROC_GATE_PARK    (PROC_STUB_BASE + 0x80) /* the only write: a park record; continues into fixed code */
#define PROC_GATE_PARK_IP (PROC_GATE_PARK + 27)
#define PROC_GATE_FAST    (PROC_STUB_BASE + 0x100) /* the exit gate (glint/abi.h): an exit without a fault */
#define PROC_GATE_SETUP   (PROC_STUB_BASE + 0x2000) /* `syscall; ret`, alone in its page: any call, until
                                                   * the spare unmaps the page (stub.c: sys6) */
#define PROC_GATE_SETUP_IP (PROC_GATE_SETUP + 2)
/* Instruction pointers the kernel reports to seccomp (after the syscall). */
#define PROC_GATE_SYSCALL_IP (PROC_GATE_SYSCALL + 2)
#define PROC_GATE_SIGRET_IP  (PROC_GATE_SIGRET + 7) /* movl $15,%eax (5) + syscall (2) */
#define PROC_CTL_ADDR    0x14000 /* control page, shared with the host, after the text */
#define PROC_CTL_SIZE    0x1000
#define PROC_RO_ADDR     (PROC_CTL_ADDR + PROC_CTL_SIZE) /* struct proc_ro: read-only in the child */
#define PROC_RO_SIZE     0x1000
#define PROC_RO_TO_CHILD (PROC_RO_ADDR + 0)    /* offsetof(struct proc_ro, to_child) */
#define PROC_RO_PARK_SPIN (PROC_RO_ADDR + 0x40) /* offsetof(struct proc_ro, park_spin) */
#define PROC_PARK_SPIN_MAX 100000 /* pause loops (~1 ms at 10 ns), whatever the host asks */
#define PROC_STUB_END    0x20000 /* the stub keeps [PROC_STUB_BASE, this): stub.ld checks */

/* The zygote (stub.c: stub_main) starts with one descriptor: its socket
 * (AF_UNIX, SOCK_SEQPACKET) to the host.  Messages are one 64-bit word:
 * the host's pid (first, before the zygote runs), then PROC_ZYGOTE_READY
 * from the zygote, then requests (PROC_ZYGOTE_FORK), each answered with
 * the new spare's pid (or -errno) and, with a pid, two descriptors
 * (SCM_RIGHTS): the host's end of the spare's socket and its pidfd.  A
 * spare gets its sandbox's three descriptors below on its socket. */
#define PROC_FD_ZYGOTE 3
#define PROC_ZYGOTE_READY 0x5245414459ll /* "READY" */
#define PROC_ZYGOTE_FORK  0x4b524f46ll   /* "FORK" */

/* The host's first message to the zygote: who its parent is, and the
 * seccomp filter (struct sock_filter[filter_len]) every sandbox runs under. */
struct proc_zygote_hello {
    int64_t host_pid;
    uint32_t filter_len;
    uint32_t go_spin; /* pause loops a spare spins for `go` before it sleeps (0: one CPU) */
    uint64_t filter[128];
};

/* A spare gets two messages on its socket: a control memfd and the park
 * pipe's write end when the host arms it, then its sandbox's guest memory
 * memfd.  Each message's word: how many descriptors it carries, plus, in
 * the first, the offset of the spare's own control pages in that memfd
 * (PROC_CTL_SIZE + PROC_RO_SIZE there; the memfd holds many spares'; the
 * spare maps its own and closes the descriptor before anything else runs).
 * A sandbox's process keeps only the park pipe's write end, as fd 5 (the
 * seccomp filter pins it), and its userfaultfd. */
#define PROC_ARM_COUNT_MASK 0x1fffull     /* the word's descriptor count */
#define PROC_ARM_OFF_MAX (1ull << 40)       /* the control pages' offset: 8 KiB aligned, below this */
#define PROC_FD_PARK 5 /* write end of the park pipe (see struct proc_ro) */

/* The sandbox's memory message may carry a second descriptor: the sealed
 * memfd of the snapshot the sandbox was made from.  Maps flagged with
 * PROC_MAP_SNAPSHOT (read-only image pages) come from it, at
 * snap_off + GVA; the child closes both once mapped. */
#define PROC_MAP_SNAPSHOT 0x1000u

#define PROC_BOOT_FS 0x10000 /* GLINT_BOOT_INFO_GVA: the FS base a guest starts with */

#define PROC_SIG_INTERRUPT 10 /* SIGUSR1: the host stops the guest */

/* Host -> child commands (ctl->cmd), after a report. */
#define PROC_CMD_RESUME 1u /* apply the set_* fields flagged in cmd_flags, sigreturn into the guest */
#define PROC_CMD_DUMP   2u /* copy the FPU/SSE/AVX state into ctl->xsave, report again */
#define PROC_CMD_EXIT   3u /* exit_group(0) (a destroyed sandbox; the host kills it if it lingers) */

#define PROC_SET_GREGS 1u /* all of ctl->set (general registers, RIP, RFLAGS) */
#define PROC_SET_RIP   2u /* only ctl->set.rip */
#define PROC_SET_FP    4u /* the XSAVE image in ctl->xsave (legacy area, header, AVX) */
#define PROC_SET_FSGS  8u /* ctl->set.fs_base / gs_base */

/* Child -> host report kinds. */
#define PROC_REP_SIGNAL 1u /* a signal reached the handler: signo, code, trapno, ... */
#define PROC_REP_DUMP   2u /* answer to PROC_CMD_DUMP */
#define PROC_REP_SETUP_FAILED 3u /* the stub could not set itself up: err = step, code = errno */
#define PROC_REP_FAST   4u /* the guest took the exit gate: regs (rip = its resume address, after an OUT) */
#define PROC_REP_READY  5u /* set up: waiting for the first command (a full state: GREGS, FP, FSGS) */

struct proc_regs {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, rflags;
    uint64_t fs_base, gs_base;
    uint64_t cs; /* reported only: the code segment the guest was in */
};

#define PROC_XSAVE_MAX 832u /* legacy 512 + header 64 + AVX 256: what glint keeps of it (struct ucpu) */

/*
 * The page after the control page, mapped read-only in the child: what the
 * guest must not be able to forge.  Its first word, `word`, holds the
 * host's command count (to_child, a futex word: the stub waits for it to
 * move) and, only while the host parks the child, a park token that is
 * new for every park (never 0).  The host changes the word with single
 * 64-bit stores: a command stores (count + 1, no token).
 *
 * Parking (before a restore or a snapshot): the host stores (count, new
 * token) and reads the park pipe.  The stub, waiting for a command, sees
 * the request and jumps to PROC_GATE_PARK: a write of `word`, as the kernel reads
 * it from this page, to the pipe, then fixed code that loads `word` again
 * and, if it still carries a token, waits for to_child to move (spinning
 * up to park_spin loops, then FUTEX_WAIT at PROC_GATE_WAIT); without a
 * token the host has already posted its next command, which it then runs.
 * A record equal to the host's current word was written during this park,
 * when no command was pending, so the child is in that fixed code and runs
 * no guest instruction until the host's next command.  The guest can jump
 * to the gate itself, with any registers (the filter pins fd, buffer and
 * length), but only into the same fixed code, and it cannot write this
 * page: a record it makes at another time never matches.
 *
 * Parking at the end of a call: when a restore will follow a call, the
 * host posts its commands with the token PROC_PARK_AT_DONE.  The stub then
 * parks right after reporting the exit through the gate that ends the call
 * (an OUT to GLINT_PORT_DONE), and the host, which posts nothing more
 * before it has read that record, finds it in the pipe when it restores,
 * without asking.  The count makes each such word new too.  Other exits
 * (host calls, faults) park only on a request (PROC_PARK_NOW).
 */
struct proc_ro {
    union {
        uint64_t word;
        struct {
            uint32_t to_child;   /* low half: the command count (futex word) */
            uint32_t park_token; /* high half: PROC_PARK_NOW | n while the host parks the child;
                                  * PROC_PARK_AT_DONE with a command: park after the call's
                                  * last exit (a restore follows); 0 otherwise */
        };
    };
    uint8_t pad0[56];
    uint32_t park_spin;          /* pause loops the parked stub spins before FUTEX_WAIT (capped) */
    uint8_t pad1[60];
    uint32_t fsgsbase;           /* RDFSBASE/RDGSBASE work here: a restore checks the bases
                                  * instead of setting them with two system calls */
};

#define PROC_PARK_NOW     0x80000000u /* a park request: with a number new for every park */
#define PROC_PARK_AT_DONE 1u          /* no request: park at the exit that ends the call */

_Static_assert(offsetof(struct proc_ro, to_child) == PROC_RO_TO_CHILD - PROC_RO_ADDR, "proc_ro");
_Static_assert(offsetof(struct proc_ro, park_spin) == PROC_RO_PARK_SPIN - PROC_RO_ADDR, "proc_ro");

struct proc_ctl {
    /* Words first: each on its own cache line. */
    uint32_t to_host;        /* child increments after a report; host futex-waits on it */
    uint32_t host_waiting;   /* 1 while the host sleeps on to_host */
    uint8_t pad0[56];
    uint32_t park_hint;      /* to_child of the last park record written (a hint: the guest can write it) */
    uint32_t child_waiting;  /* 1 while the child sleeps on to_child (a hint: the guest can write it) */
    uint32_t spin;           /* host-set: how long the child spins before sleeping (loops) */
    uint32_t go;             /* host-set: this page says what to map (a new child waits for it) */
    uint8_t pad1[48];

    /* Command (host -> child). */
    uint32_t cmd, cmd_flags;
    struct proc_regs set;

    /* Report (child -> host). */
    uint32_t rep_kind;
    int32_t signo, code;
    uint32_t reserved;
    uint64_t trapno, err, addr; /* uc_mcontext REG_TRAPNO, REG_ERR; si_addr */
    int32_t sys_nr;             /* SIGSYS: si_syscall, si_arch, si_call_addr */
    uint32_t sys_arch;
    uint64_t sys_addr;
    struct proc_regs regs;
    uint32_t fsgsbase;          /* the stub could read FS/GS base (FSGSBASE instructions) */
    uint32_t xsave_size;        /* bytes valid in xsave (DUMP) */

    /* Set-up (host -> child, before the guest ever runs). */
    uint64_t mem_size;
    uint32_t nmaps, reserved2;
    struct proc_map {
        uint64_t gva, size;
        uint32_t prot;          /* PROT_*, and PROC_MAP_SNAPSHOT */
        uint32_t uffd_wp;       /* writable: track writes */
    } maps[64];
    uint64_t rlimit_as;
    uint64_t snap_off;          /* PROC_MAP_SNAPSHOT maps: offset of GVA 0 in the snapshot memfd */
    uint32_t want_uffd;         /* set up userfaultfd write-protect tracking */
    uint32_t uffd_ok;           /* child -> host: tracking is on */
    uint32_t ns_ok;             /* child -> host: it has its own user, IPC and UTS namespaces */
    uint32_t host_pid;         /* host -> child: its parent; any other parent means the host is gone */

    uint8_t xsave[PROC_XSAVE_MAX] __attribute__((aligned(64)));
};

_Static_assert(sizeof(struct proc_ctl) <= PROC_CTL_SIZE, "control page too large");
_Static_assert(offsetof(struct proc_ctl, park_hint) == 0x40 && offsetof(struct proc_ctl, child_waiting) == 0x44,
               "src/stub/stub.c: gate_park addresses them");

#endif
