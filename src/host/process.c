/*
 * process.c - the process backend: each sandbox's guest runs in its own
 * seccomp-jailed child process.  The only file that knows about it.
 *
 * The child runs the stub (src/stub/stub.c, embedded in libglint): a fork
 * of the zygote, which the keeper thread executes from a sealed memfd (see
 * "Processes" below: spares forked ahead, reaping off the caller's path).
 * Its address space holds the guest's user pages at their guest addresses (MAP_SHARED
 * of the sandbox memfd, with the permissions of the sandbox's page tables),
 * the stub, the control page (proc_abi.h) and [vsyscall].
 *
 * An exit: the guest faults (its OUT hypercalls raise #GP in a process),
 * the stub's handler copies registers and fault details to the control
 * page and bumps `to_host`; the host, spinning briefly and then sleeping on
 * that futex word, decodes the report into a neutral hv_exit, answers with
 * a command and bumps `to_child`.  Both sides spin only within an adaptive
 * bound, and only when the host has more than one CPU.
 *
 * Everything read from the control page is hostile: it is copied once and
 * validated.  Interrupts are a signal to the child (SIGUSR1), with SIGKILL
 * as the last resort when the child does not answer; a child that dies
 * ends the call with an error, and the next full restore starts a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "hotpages.h"
#include "hv.h"
#include "layout.h"
#include "proc_abi.h"
#include "thread.h"
#include "ucpu.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* PAGEMAP_SCAN (Linux 6.7), defined here for older headers. */
struct glint_page_region {
    uint64_t start, end, categories;
};
struct glint_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
};
#define GLINT_PAGEMAP_SCAN _IOWR('f', 16, struct glint_pm_scan_arg)
#define PM_SCAN_WP_MATCHING (1ull << 0)
#define PM_SCAN_CHECK_WPASYNC (1ull << 1)
#define PAGE_IS_WRITTEN (1ull << 1) /* uapi linux/fs.h: WPALLOWED 0, WRITTEN 1, FILE 2, PRESENT 3 */

/* The stub program, linked in by stub_blob.S. */
extern const unsigned char glint_stub_start[], glint_stub_end[];

_Static_assert(PROC_STUB_BASE >= GLINT_BOOT_INFO_GVA + GLINT_PAGE_SIZE && PROC_STUB_END <= GLINT_IMAGE_BASE,
               "the stub overlaps guest addresses");

/* ------------------------------------------------------------------------- */
/* The guest's CPU state is a struct ucpu (ucpu.h): what ring-3 code can see. */

/* ------------------------------------------------------------------------- */

#define MAX_MAPS 64

struct hv {
    uint8_t *mem;
    size_t mem_size;
    int memfd;
    int share_fd;           /* the snapshot's sealed memfd (hv_setup.share_fd; not ours), or -1 */
    uint64_t share_off;
    struct glint_layout lay;
    struct proc_map *maps;  /* [nmaps]: what the child maps (read_maps) */
    uint32_t nmaps;

    uint32_t ctl_id, ctl_gen; /* the control pages' slot (ctl_take); CTL_NONE: none */
    struct proc_ctl *ctl;
    struct proc_ro *ro;     /* read-only in the child (proc_abi.h) */
    pid_t pid;
    int pidfd;
    int pagemap_fd;         /* /proc/PID/pagemap, opened by the first dirty_pages (open_pagemap) */
    int tracking;           /* the child's userfaultfd write-protect tracking is on */
    int park_fd;            /* read end of the park pipe */
    uint64_t parked;        /* RO word at the child's last proven park (0: not parked) */
    uint32_t park_token;    /* the last park request's number */
    int park_at_done;       /* post commands with PROC_PARK_AT_DONE (a restore follows the call) */
    int park_at_done_due;   /* the call ended with it: the stub parks unasked, nothing may be
                             * posted before its record is read */
    uint32_t seen;          /* to_host value of the last report consumed */
    int setup_pending;      /* the child's first report (ready, or why set-up failed) is not read
                             * yet: await_ready */
    unsigned go_held_ms;    /* glint_debug_process_hold_setup: await_ready says go */
    int dead;               /* the child is gone: respawn on a full restore */
    int died_sig;

    struct ucpu cpu;        /* the guest's state as of the last report, plus pending changes */
    uint32_t pending;       /* PROC_SET_* to apply at the next resume */
    int in_guest_state;     /* cpu is meaningful (the guest entered, or a state was set) */

    _Atomic int stop;       /* immediate exit / interrupt requested */
    _Atomic int intr_sent;  /* an interrupt signal went out since the child was started */
    _Atomic uint64_t stop_ns;
    pthread_t thread;

    /* Hot pages (hotpages.h): protecting a page again flushes the TLB of
     * the child's CPU.  scan: a scratch bitmap of guest memory's size. */
    struct glint_hot hot;
    uint64_t *scan;

    /* Adaptive spinning. */
    uint32_t spin_ns;
    uint32_t misses;
    uint32_t cooldown;
    /* The child's spin between calls: idle_since is when the last call
     * ended (0: not idle); long_idle counts the last calls after which the
     * next command came later than the child spins (saturating). */
    uint64_t idle_since;
    uint32_t long_idle;
    /* Sharing the caller's CPU (share_cpu): this command's choice, and the
     * CPU the child is bound to (-1: any of g.cpus). */
    int share;
    int child_cpu;
};

static struct {
    pthread_once_t once;
    glint_error err;
    int stub_fd;
    int ncpu;
    cpu_set_t cpus; /* the CPUs this process may run on (ncpu of them) */
    int fsgsbase;
    int uffd;         /* userfaultfd write-protect + PAGEMAP_SCAN work here */
    uint32_t pause_ps; /* what one PAUSE costs here, in picoseconds (spin_loops) */
    char describe[320];
} g = {.once = PTHREAD_ONCE_INIT, .stub_fd = -1, .pause_ps = 12000};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The child's spins count PAUSE instructions (it has no clock), and what
 * one costs varies tenfold between CPUs (12 ns on some, 26 ns on this
 * machine's EPYC, ~40 ns on Skylake-SP): each spin is set as a time,
 * turned into a count by the cost measured once here (the fastest of a
 * few rounds: a round that was preempted reads too slow).
 */
static void calibrate_pause(void)
{
    uint64_t best = UINT64_MAX;
    for (int round = 0; round < 5; round++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < 1000; i++)
            __builtin_ia32_pause();
        uint64_t d = now_ns() - t0;
        if (d < best)
            best = d;
    }
    /* best ns per 1000 pauses = ps per pause; 1 ns .. 200 ns is believable */
    if (best >= 1000 && best <= 200000)
        g.pause_ps = (uint32_t)best;
}

/* PAUSE loops that take about ns nanoseconds here (at least 1). */
static uint32_t spin_loops(uint64_t ns)
{
    uint64_t n = ns * 1000 / g.pause_ps;
    return n ? (n < 1000000 ? (uint32_t)n : 1000000u) : 1u;
}

/* ------------------------------------------------------------------------- */
/* The child's seccomp filter.  Only the stub's two gates may make system
 * calls: futex on the two control words (wait without a timeout, or wake)
 * and rt_sigreturn.  Everything else, from anywhere, is SECCOMP_RET_TRAP:
 * SIGSYS reaches the handler, which reports it. */

struct bpf_fix {
    unsigned insn;
    int label;
    int which; /* 0: jt, 1: jf */
};

struct bpf {
    struct sock_filter f[128];
    unsigned n;
    int label_at[32];   /* instruction index of each label */
    struct bpf_fix fix[64];
    unsigned nfix;
};

static void op(struct bpf *b, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
    b->f[b->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
#define OFF_IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define OFF_IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)
#define OFF_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8u * (i))
#define OFF_ARG_HI(i) (offsetof(struct seccomp_data, args) + 8u * (i) + 4u)

enum { L_TRAP, L_ALLOW, L_WAIT, L_PARK, L_SYSCALL, L_ARCH, L_ARCH_GS, L_MUNMAP, L_EXIT, L_COUNT };

static void ld(struct bpf *b, uint32_t off)
{
    op(b, BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
}

/* If A == k fall through, else go to label `no`. */
static void need(struct bpf *b, uint32_t k, int no)
{
    b->fix[b->nfix++] = (struct bpf_fix){b->n, no, 1};
    op(b, BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0);
}

/* If A == k go to label `yes`, else fall through. */
static void when(struct bpf *b, uint32_t k, int yes)
{
    b->fix[b->nfix++] = (struct bpf_fix){b->n, yes, 0};
    op(b, BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0);
}

static void label(struct bpf *b, int l)
{
    b->label_at[l] = (int)b->n;
}

/* If system-call argument i (64 bits) == v fall through, else trap. */
static void pin(struct bpf *b, unsigned i, uint64_t v)
{
    ld(b, OFF_ARG_HI(i));
    need(b, (uint32_t)(v >> 32), L_TRAP);
    ld(b, OFF_ARG_LO(i));
    need(b, (uint32_t)v, L_TRAP);
}

/*
 * Only the stub's gates may make system calls, each with pinned arguments:
 *   PROC_GATE_WAIT_IP     futex(&RO->to_child, FUTEX_WAIT, *, NULL)
 *   PROC_GATE_PARK_IP     write(PROC_FD_PARK, &RO->word, 8)
 *   PROC_GATE_SYSCALL_IP  futex(&to_host, FUTEX_WAKE, ...),
 *                         arch_prctl(ARCH_SET_FS, boot info), arch_prctl(ARCH_SET_GS, 0),
 *                         munmap(PROC_GATE_SETUP, 4096), exit_group(0)
 *   PROC_GATE_SIGRET_IP   rt_sigreturn
 *   PROC_GATE_SETUP_IP    anything: the zygote and a spare's set-up; each spare
 *                         unmaps that page (the munmap above) before it reports
 *                         ready, so no guest can reach an instruction there
 * Everything else, any ABI, from anywhere: SECCOMP_RET_TRAP (SIGSYS, which
 * the handler reports).  The filter assumes the guest can jump to a gate
 * with registers of its choosing.
 */
static int build_filter(struct bpf *b)
{
    const uint64_t to_host = PROC_CTL_ADDR + offsetof(struct proc_ctl, to_host);
    const uint64_t to_child = PROC_RO_TO_CHILD;
    memset(b, 0, sizeof *b);
    ld(b, OFF_ARCH);
    need(b, AUDIT_ARCH_X86_64, L_TRAP);
    ld(b, OFF_NR);
    b->fix[b->nfix++] = (struct bpf_fix){b->n, L_TRAP, 0};
    op(b, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 0); /* x32 */
    ld(b, OFF_IP_HI);
    need(b, (uint32_t)((uint64_t)PROC_STUB_BASE >> 32), L_TRAP);
    ld(b, OFF_IP_LO);
    when(b, (uint32_t)PROC_GATE_WAIT_IP, L_WAIT);
    when(b, (uint32_t)PROC_GATE_PARK_IP, L_PARK);
    when(b, (uint32_t)PROC_GATE_SYSCALL_IP, L_SYSCALL);
    when(b, (uint32_t)PROC_GATE_SETUP_IP, L_ALLOW);
    need(b, (uint32_t)PROC_GATE_SIGRET_IP, L_TRAP);
    ld(b, OFF_NR);
    need(b, __NR_rt_sigreturn, L_TRAP);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

    label(b, L_WAIT); /* futex(&to_child, FUTEX_WAIT, val, NULL) */
    ld(b, OFF_NR);
    need(b, __NR_futex, L_TRAP);
    pin(b, 0, to_child);
    pin(b, 1, FUTEX_WAIT);
    pin(b, 3, 0);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

    label(b, L_PARK); /* write(PROC_FD_PARK, &RO->word, 8) */
    ld(b, OFF_NR);
    need(b, __NR_write, L_TRAP);
    pin(b, 0, PROC_FD_PARK);
    pin(b, 1, PROC_RO_ADDR);
    pin(b, 2, 8);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

    label(b, L_SYSCALL);
    ld(b, OFF_NR);
    when(b, __NR_exit_group, L_EXIT);
    when(b, __NR_arch_prctl, L_ARCH);
    when(b, __NR_munmap, L_MUNMAP);
    need(b, __NR_futex, L_TRAP);
    pin(b, 0, to_host);
    pin(b, 1, FUTEX_WAKE);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

    label(b, L_ARCH); /* (ARCH_SET_FS, boot info) or (ARCH_SET_GS, 0) */
    ld(b, OFF_ARG_HI(0));
    need(b, 0, L_TRAP);
    ld(b, OFF_ARG_HI(1));
    need(b, 0, L_TRAP);
    ld(b, OFF_ARG_LO(0));
    when(b, 0x1001 /* ARCH_SET_GS */, L_ARCH_GS);
    need(b, 0x1002 /* ARCH_SET_FS */, L_TRAP);
    ld(b, OFF_ARG_LO(1));
    need(b, (uint32_t)GLINT_BOOT_INFO_GVA, L_TRAP);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
    label(b, L_ARCH_GS);
    ld(b, OFF_ARG_LO(1));
    need(b, 0, L_TRAP);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
    label(b, L_EXIT); /* exit_group(0): PROC_CMD_EXIT */
    pin(b, 0, 0);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
    label(b, L_MUNMAP); /* munmap(PROC_GATE_SETUP, 4096) */
    pin(b, 0, PROC_GATE_SETUP);
    pin(b, 1, 4096);
    label(b, L_ALLOW);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
    label(b, L_TRAP);
    op(b, BPF_RET | BPF_K, SECCOMP_RET_TRAP, 0, 0);

    /* Resolve: every jump is forward and within 255 instructions. */
    for (unsigned i = 0; i < b->nfix; i++) {
        int d = b->label_at[b->fix[i].label] - (int)b->fix[i].insn - 1;
        if (d < 0 || d > 255)
            return -1;
        if (b->fix[i].which == 0)
            b->f[b->fix[i].insn].jt = (uint8_t)d;
        else
            b->f[b->fix[i].insn].jf = (uint8_t)d;
    }
    return 0;
}


/* ------------------------------------------------------------------------- */
/* Processes: the keeper thread, the zygote and spares.
 *
 * The host executes the stub once, as the zygote (stub.c: stub_main): a
 * process that has already shed everything of the host, taken namespaces
 * of its own, dropped its capabilities and installed the signal handler.
 * Every sandbox process is a fork of it, made with CLONE_PARENT so that it
 * is the host's child (its parent-death signal and waitid work as for any
 * child): forking that small process costs a fraction of executing a new
 * one.  A fork waits, as a spare, for a sandbox's descriptors on a socket
 * only it and the host hold; when they come it maps the sandbox, takes the
 * seccomp filter and reports ready.
 *
 * The keeper thread lives as long as the host process: it executes the
 * zygote (so the zygote's parent-death signal fires only when the host
 * ends; the zygote's forks name the same parent), keeps `target` spares
 * forked ahead while sandboxes are being created (dropping them after
 * SPARE_IDLE_NS without one), reaps the processes of destroyed sandboxes
 * (a destroy sends SIGKILL and goes on: the child's exit costs the host
 * nothing), and starts children for threads that may not (a restore that
 * replaces a dead child, on a thread under glint_seccomp_restrict_thread).
 */

#define SPARE_MAX 16
#define SPARE_DEFAULT 4
#define SPARE_IDLE_NS 10000000000ull /* spares go after 10 s without a sandbox created */
#define GO_SPIN_NS 240000u /* a spare spins for `go` once it has its memory (proc_abi.h) */
#define ZYGOTE_WAIT_MS 5000
#define REAP_MAX 4096

/*
 * Control pages.  Every sandbox process has two, shared with the host
 * (struct proc_ctl, struct proc_ro).  They are slots of a few large
 * memfds, CTL_SLOTS each, every one mapped here once: a memfd of its own
 * would cost every sandbox ~2 KiB of kernel memory (inode, dentry, file,
 * page-cache node, a mapping here).  A child maps only its own slot and
 * keeps no descriptor of the memfd (stub.c: spare_main), and a slot goes
 * to another spare only once the process that mapped it has been reaped
 * (ctl_give's callers), so no process ever shares a control page with a
 * sandbox not its own.  Freed slots are zeroed and keep their pages for the
 * next spare: returning them (MADV_REMOVE) at once unmaps them here, and
 * every unmapping in a process with more than one thread interrupts the
 * other CPUs to flush their TLBs (on this PVM host the keeper's
 * MADV_REMOVEs were a third of its time).  They go back in bulk instead:
 * a memfd's free pages once CTL_KEEP_FREE slots of it hold pages unused,
 * and all of them when the spares go idle (ctl_trim).  The first memfd
 * stays for the next sandboxes, and empty ones after the last in use go.
 */
#define CTL_SLOT (PROC_CTL_SIZE + PROC_RO_SIZE)
#define CTL_SLOTS 1024u  /* per memfd: 8 MiB of address space here */
#define CTL_CHUNKS 256u  /* 262,144 sandbox processes at once */
#define CTL_NONE UINT32_MAX
#define CTL_KEEP_FREE 64u /* free slots per memfd that keep their pages (512 KiB) */
_Static_assert(CTL_SLOT == 8192 && (CTL_SLOT & PROC_ARM_COUNT_MASK) == 0, "slot offsets clear of the arm word's count");
_Static_assert((uint64_t)CTL_SLOTS * CTL_SLOT <= PROC_ARM_OFF_MAX, "slot offsets fit the arm word");

static struct {
    pthread_mutex_t lock;
    uint32_t gen;        /* bumped in a forked child: the parent's slots are not its own */
    uint32_t nchunks;
    struct ctl_chunk {
        int fd;
        uint8_t *base;   /* CTL_SLOTS * CTL_SLOT, mapped here */
        uint32_t nused;
        uint32_t nkept;                  /* free slots whose pages are still there */
        uint64_t used[CTL_SLOTS / 64];
        uint64_t kept[CTL_SLOTS / 64];   /* of those: free, zero, populated */
    } chunk[CTL_CHUNKS]; /* fixed: the keeper never allocates (see kp.reap) */
} ctlp = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A free slot, zero, its pages populated here: its address (NULL with
 * errno set), its id, generation, memfd and offset there. */
static struct proc_ctl *ctl_take(uint32_t *id, uint32_t *gen, int *fd, uint64_t *off)
{
    pthread_mutex_lock(&ctlp.lock);
    uint32_t ci = 0;
    while (ci < ctlp.nchunks && ctlp.chunk[ci].nused == CTL_SLOTS)
        ci++;
    struct ctl_chunk *c = &ctlp.chunk[ci < CTL_CHUNKS ? ci : 0];
    if (ci == CTL_CHUNKS) {
        pthread_mutex_unlock(&ctlp.lock);
        errno = EMFILE;
        return NULL;
    }
    if (ci == ctlp.nchunks) {
        int f = memfd_create("glint-ctl", MFD_CLOEXEC);
        void *m = MAP_FAILED;
        if (f < 0 || ftruncate(f, (off_t)CTL_SLOTS * CTL_SLOT) < 0 ||
            (m = mmap(NULL, (size_t)CTL_SLOTS * CTL_SLOT, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0)) ==
                MAP_FAILED) {
            int e = errno;
            if (f >= 0)
                close(f);
            pthread_mutex_unlock(&ctlp.lock);
            errno = e;
            return NULL;
        }
        memset(c, 0, sizeof *c);
        c->fd = f;
        c->base = m;
        ctlp.nchunks++;
    }
    /* A slot that kept its pages first: no page fault. */
    uint32_t idx = UINT32_MAX;
    if (c->nkept)
        for (uint32_t k = 0; k < CTL_SLOTS / 64 && idx == UINT32_MAX; k++)
            if (c->kept[k])
                idx = k * 64 + (uint32_t)__builtin_ctzll(c->kept[k]);
    if (idx == UINT32_MAX) {
        uint32_t w = 0;
        while (c->used[w] == ~0ull)
            w++;
        idx = w * 64 + (uint32_t)__builtin_ctzll(~c->used[w]);
    } else {
        c->kept[idx / 64] &= ~(1ull << (idx % 64));
        c->nkept--;
    }
    c->used[idx / 64] |= 1ull << (idx % 64);
    c->nused++;
    *id = ci * CTL_SLOTS + idx;
    *gen = ctlp.gen;
    *fd = c->fd;
    pthread_mutex_unlock(&ctlp.lock);
    *off = (uint64_t)idx * CTL_SLOT;
    volatile uint8_t *p = c->base + *off;
    for (size_t i = 0; i < CTL_SLOT; i += GLINT_PAGE_SIZE)
        p[i] = 0; /* populated now (if it was not), not on the first report */
    return (struct proc_ctl *)(c->base + *off);
}

/* Returns the pages of a memfd's free slots that kept them (under
 * ctlp.lock): one madvise per run of such slots. */
static void ctl_trim_chunk_locked(struct ctl_chunk *c)
{
    for (uint32_t i = 0; i < CTL_SLOTS && c->nkept;) {
        if (!(c->kept[i / 64] >> (i % 64) & 1)) {
            i++;
            continue;
        }
        uint32_t j = i;
        while (j < CTL_SLOTS && (c->kept[j / 64] >> (j % 64) & 1)) {
            c->kept[j / 64] &= ~(1ull << (j % 64));
            c->nkept--;
            j++;
        }
        (void)madvise(c->base + (size_t)i * CTL_SLOT, (size_t)(j - i) * CTL_SLOT, MADV_REMOVE);
        i = j; /* zero either way: a failed madvise leaves zeroed pages */
    }
}

/* Every free slot's pages back (the keeper, when the spares go idle). */
static void ctl_trim(void)
{
    pthread_mutex_lock(&ctlp.lock);
    for (uint32_t i = 0; i < ctlp.nchunks; i++)
        ctl_trim_chunk_locked(&ctlp.chunk[i]);
    pthread_mutex_unlock(&ctlp.lock);
}

/* Gives a slot back, once no process maps it (its child reaped, or never
 * armed): zeroed, its pages kept for the next spare.  Any thread (madvise
 * is in the host threads' seccomp list). */
static void ctl_give(uint32_t id, uint32_t gen)
{
    if (id == CTL_NONE)
        return;
    pthread_mutex_lock(&ctlp.lock);
    if (gen == ctlp.gen && id / CTL_SLOTS < ctlp.nchunks) {
        struct ctl_chunk *c = &ctlp.chunk[id / CTL_SLOTS];
        uint32_t idx = id % CTL_SLOTS;
        uint8_t *p = c->base + (size_t)idx * CTL_SLOT;
        memset(p, 0, CTL_SLOT);
        c->used[idx / 64] &= ~(1ull << (idx % 64));
        c->nused--;
        c->kept[idx / 64] |= 1ull << (idx % 64);
        if (++c->nkept > CTL_KEEP_FREE)
            ctl_trim_chunk_locked(c);
        /* Empty memfds at the end go (the first stays): a peak of
         * sandboxes leaves no descriptor or mapping behind. */
        while (ctlp.nchunks > 1 && ctlp.chunk[ctlp.nchunks - 1].nused == 0) {
            struct ctl_chunk *last = &ctlp.chunk[--ctlp.nchunks];
            munmap(last->base, (size_t)CTL_SLOTS * CTL_SLOT);
            close(last->fd);
        }
    }
    pthread_mutex_unlock(&ctlp.lock);
}

/* A spare, armed: its control pages and park pipe are there before a
 * sandbox takes it. */
struct spare {
    pid_t pid;
    int pidfd, sock;       /* sock: the host's end of the spare's socket */
    int park_r;
    uint32_t ctl_id, ctl_gen; /* its control pages' slot: given back when it is reaped */
    struct proc_ctl *ctl;  /* PROC_CTL_SIZE + PROC_RO_SIZE, mapped here */
};
#define SPARE_NONE {.pid = -1, .pidfd = -1, .sock = -1, .park_r = -1, .ctl_id = CTL_NONE}

/* Closes what the host holds of a spare; its slot goes with its reaping. */
static void spare_release(struct spare *s)
{
    if (s->sock >= 0)
        close(s->sock);
    if (s->park_r >= 0)
        close(s->park_r);
    s->sock = s->park_r = -1;
    s->ctl = NULL;
}

struct reap {
    pid_t pid;
    int pidfd;
    uint32_t ctl_id, ctl_gen; /* given back once reaped */
    int asked;                /* told to exit (PROC_CMD_EXIT), not killed */
};

/* A child started for a thread that may not (see start_child). */
struct start_req {
    int memfd, share_fd;
    struct spare sp;
    int err;
    /* Or a pagemap to open (pid >= 0): the descriptor in fd, or -1. */
    pid_t pid;
    int pidfd, fd;
};

static struct {
    pthread_mutex_t lock; /* everything here */
    pthread_cond_t cond;  /* the keeper waits for work; others for its results */
    int started;
    /* The zygote: zsock < 0 while there is none. */
    pid_t zpid;
    int zpidfd, zsock;
    int zwant;            /* a thread waits for a zygote */
    int zerr;             /* errno of the last failure to start one */
    char zwhy[160];       /* and what happened, when the zygote itself failed */
    uint64_t zgen;        /* attempts made, so waiters see theirs end */
    /* Spares, forked ahead while sandboxes are being created. */
    struct spare spare[SPARE_MAX];
    int nspare, target, filling;
    uint64_t last_take;
    /* Killed children to reap. */
    struct reap reap[REAP_MAX]; /* fixed: the keeper never allocates (a fork()
                                 * while it held an allocator's lock could
                                 * leave the child's allocator locked) */
    size_t nreap;
    int reaping;
    /* One delegated start at a time. */
    struct start_req *req;
    int req_done;
} kp = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .zsock = -1, .zpidfd = -1,
        .target = SPARE_DEFAULT};

/* One conversation with the zygote at a time (not under kp.lock). */
static pthread_mutex_t zlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t keeper_tid;

/* Waits for a killed child (or one told to exit: SIGKILL unless it is
 * gone already); then no process maps its control pages. */
static void reap_now(pid_t pid, int pidfd, uint32_t ctl_id, uint32_t ctl_gen, int asked)
{
    siginfo_t si;
    if (asked && pidfd >= 0) {
        memset(&si, 0, sizeof si);
        if (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WNOHANG, NULL) == 0 && si.si_pid) {
            close(pidfd);
            ctl_give(ctl_id, ctl_gen);
            return;
        }
        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    } else if (asked && pid > 0) {
        kill(pid, SIGKILL);
    }
    if (pidfd >= 0) {
        while (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED, NULL) < 0 && errno == EINTR)
            ;
        close(pidfd);
    } else if (pid > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    ctl_give(ctl_id, ctl_gen);
}

/* Queues a killed child for the keeper (under kp.lock); reaps it here if
 * the queue is full. */
static void reap_later_locked(pid_t pid, int pidfd, uint32_t ctl_id, uint32_t ctl_gen, int asked)
{
    if (kp.nreap == REAP_MAX) {
        reap_now(pid, pidfd, ctl_id, ctl_gen, asked);
        return;
    }
    kp.reap[kp.nreap++] = (struct reap){pid, pidfd, ctl_id, ctl_gen, asked};
    pthread_cond_broadcast(&kp.cond);
}

static void drop_spare_locked(struct spare *s)
{
    spare_release(s);
    if (s->pidfd >= 0)
        (void)syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
    reap_later_locked(s->pid, s->pidfd, s->ctl_id, s->ctl_gen, 0);
    s->ctl_id = CTL_NONE;
}

/* The zygote is gone or unusable (under zlock): forget it, reap it. */
static void zygote_lost(void)
{
    pthread_mutex_lock(&kp.lock);
    if (kp.zsock >= 0) {
        close(kp.zsock);
        kp.zsock = -1;
        (void)syscall(SYS_pidfd_send_signal, kp.zpidfd, SIGKILL, NULL, 0);
        reap_later_locked(kp.zpid, kp.zpidfd, CTL_NONE, 0, 0);
        kp.zpidfd = -1;
        kp.zpid = 0;
    }
    pthread_mutex_unlock(&kp.lock);
}

/* Reads one message from the zygote's socket, with descriptors; waits at
 * most ZYGOTE_WAIT_MS.  Bytes read, 0 at its end, -1 with errno. */
static ssize_t zygote_recv(int fd, int64_t *word, int *fds, int *nfds)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r;
    while ((r = poll(&p, 1, ZYGOTE_WAIT_MS)) < 0 && errno == EINTR)
        ;
    if (r == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (r < 0)
        return -1;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } cm;
    struct iovec iov = {word, sizeof *word};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                        .msg_controllen = sizeof cm.buf};
    ssize_t n;
    while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    *nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int f;
            memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
            if (*nfds < 2)
                fds[(*nfds)++] = f;
            else
                close(f);
        }
    }
    if (n > 0 && (size_t)n != sizeof *word) {
        errno = EPROTO;
        return -1;
    }
    return n;
}

/* vfork + exec of the stub, with `zs` as the zygote's socket (PROC_FD_ZYGOTE).
 * On its own so that nothing of the caller's frame lives across vfork. */
static __attribute__((noinline)) pid_t zygote_exec(int zs, int *err)
{
    char *argv[] = {"glint-zygote", NULL};
    char *envp[] = {NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        /* vfork child: system calls only.  fd 3: the socket; fd 4: the
         * stub to execute. */
        int z = fcntl(zs, F_DUPFD, 100), s = fcntl(g.stub_fd, F_DUPFD, 100);
        if (z < 0 || s < 0 || dup2(z, PROC_FD_ZYGOTE) < 0 || dup3(s, PROC_FD_ZYGOTE + 1, O_CLOEXEC) < 0)
            _exit(126);
        syscall(SYS_close_range, PROC_FD_ZYGOTE + 2, ~0u, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        syscall(SYS_execveat, PROC_FD_ZYGOTE + 1, "", argv, envp, AT_EMPTY_PATH);
        _exit(127);
    }
    *err = pid < 0 ? errno : 0;
    return pid;
}

/* Executes the stub as the zygote.  On the keeper thread only. */
static void zygote_start(void)
{
    int sv[2] = {-1, -1}, e = 0;
    pid_t pid = -1;
    int pidfd = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        e = errno;
        goto out;
    }
    static struct proc_zygote_hello hello;
    static struct bpf b;
    memset(&hello, 0, sizeof hello);
    if (build_filter(&b) != 0) {
        e = EPROTO; /* internal: a jump out of range */
        goto out;
    }
    hello.host_pid = (int64_t)getpid();
    hello.filter_len = b.n;
    hello.go_spin = g.ncpu > 1 ? spin_loops(GO_SPIN_NS) : 0;
    memcpy(hello.filter, b.f, b.n * sizeof b.f[0]);
    if (send(sv[0], &hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello) {
        e = errno;
        goto out;
    }
    int64_t word;
    pid = zygote_exec(sv[1], &e);
    if (pid < 0)
        goto out;
    close(sv[1]);
    sv[1] = -1;
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int fds[2], nfds = 0;
    ssize_t n = pidfd < 0 ? -1 : zygote_recv(sv[0], &word, fds, &nfds);
    if (pidfd < 0 || n != (ssize_t)sizeof word || word != PROC_ZYGOTE_READY || nfds) {
        e = pidfd < 0 || n < 0 ? errno : EPROTO;
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        kill(pid, SIGKILL);
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (pidfd >= 0)
            while (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED, NULL) < 0 && errno == EINTR)
                ;
        else
            while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
                ;
        if (pidfd >= 0)
            close(pidfd);
        pthread_mutex_lock(&kp.lock);
        if (si.si_code == CLD_EXITED && si.si_status > 100)
            snprintf(kp.zwhy, sizeof kp.zwhy, "the zygote failed its set-up step %d and exited",
                     si.si_status - 100);
        else if (si.si_code == CLD_EXITED)
            snprintf(kp.zwhy, sizeof kp.zwhy, "the zygote exited with status %d during set-up%s",
                     si.si_status, si.si_status >= 126 ? " (could not execute the stub)" : "");
        else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
            snprintf(kp.zwhy, sizeof kp.zwhy, "the zygote died of signal %d during set-up", si.si_status);
        else
            snprintf(kp.zwhy, sizeof kp.zwhy, "the zygote did not report ready: %s", strerror(e));
        pthread_mutex_unlock(&kp.lock);
        pid = -1;
        pidfd = -1;
        goto out;
    }
out:
    if (sv[1] >= 0)
        close(sv[1]);
    pthread_mutex_lock(&kp.lock);
    if (pid > 0) {
        kp.zpid = pid;
        kp.zpidfd = pidfd;
        kp.zsock = sv[0];
        kp.zerr = 0;
        kp.zwhy[0] = 0;
    } else {
        if (sv[0] >= 0)
            close(sv[0]);
        kp.zerr = e ? e : EPROTO;
    }
    kp.zgen++;
    kp.zwant = 0;
    pthread_cond_broadcast(&kp.cond);
    pthread_mutex_unlock(&kp.lock);
}

static int keeper_start_locked(void);

/* Makes sure there is a zygote: the keeper starts it (others ask and
 * wait).  Never called with zlock held.  0 or an errno. */
static int zygote_ensure(void)
{
    pthread_mutex_lock(&kp.lock);
    int e = 0;
    if (kp.zsock < 0) {
        if (kp.started && pthread_equal(pthread_self(), keeper_tid)) {
            pthread_mutex_unlock(&kp.lock);
            zygote_start();
            pthread_mutex_lock(&kp.lock);
        } else if ((e = keeper_start_locked()) == 0) {
            uint64_t gen = kp.zgen;
            kp.zwant = 1;
            pthread_cond_broadcast(&kp.cond);
            while (kp.zgen == gen)
                pthread_cond_wait(&kp.cond, &kp.lock);
        }
        if (!e && kp.zsock < 0)
            e = kp.zerr ? kp.zerr : EPROTO;
    }
    pthread_mutex_unlock(&kp.lock);
    return e;
}

/* A new spare from the zygote (starting a zygote first if there is none).
 * 0, or an errno. */
static int zygote_fork(struct spare *out)
{
    int e = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((e = zygote_ensure()) != 0)
            return e;
        pthread_mutex_lock(&zlock);
        pthread_mutex_lock(&kp.lock);
        int zs = kp.zsock;
        pthread_mutex_unlock(&kp.lock);
        if (zs < 0) { /* lost meanwhile */
            pthread_mutex_unlock(&zlock);
            e = EPIPE;
            continue;
        }
        int64_t word = PROC_ZYGOTE_FORK;
        int fds[2], nfds = 0;
        ssize_t n = send(zs, &word, sizeof word, MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof word)
            n = zygote_recv(zs, &word, fds, &nfds);
        if (n == (ssize_t)sizeof word && word > 0 && nfds == 2) {
            pthread_mutex_unlock(&zlock);
            *out = (struct spare)SPARE_NONE;
            out->pid = (pid_t)word;
            out->pidfd = fds[1];
            out->sock = fds[0];
            return 0;
        }
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        if (n == (ssize_t)sizeof word && word < 0 && word > -4096) {
            pthread_mutex_unlock(&zlock);
            return (int)-word; /* the zygote could not fork (EAGAIN, ENOMEM): it is fine */
        }
        e = n < 0 ? errno : EPIPE;
        zygote_lost(); /* gone or confused: another one, once */
        pthread_mutex_unlock(&zlock);
    }
    return e ? e : EPROTO;
}

/* Sends descriptors (and a word) to a spare.  0 or an errno. */
static int send_fds(int sock, const int *fds, int n, uint64_t ctl_off)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(3 * sizeof(int))];
    } cm;
    memset(&cm, 0, sizeof cm);
    int64_t word = (int64_t)(ctl_off | (uint64_t)n); /* proc_abi.h: PROC_ARM_COUNT_MASK */
    struct iovec iov = {&word, sizeof word};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                        .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
    ssize_t r;
    while ((r = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return r == (ssize_t)sizeof word ? 0 : r < 0 ? errno : EPIPE;
}

/* Arms a new spare: its control pages (a slot, ctl_take) and the write end
 * of its park pipe go to it now, so that it maps its control pages and
 * readies its dirty tracking before any sandbox waits for it.  0, or an
 * errno (the caller drops the spare). */
static int spare_arm(struct spare *s)
{
    int park[2] = {-1, -1}, e = 0, ctlfd;
    uint64_t off;
    if (!(s->ctl = ctl_take(&s->ctl_id, &s->ctl_gen, &ctlfd, &off)))
        return errno;
    if (pipe2(park, O_CLOEXEC | O_NONBLOCK) < 0)
        return errno;
    s->park_r = park[0];
    /* One page of records (512; a guest that writes more gets EAGAIN):
     * the kernel's ring for 16 pages costs every sandbox 1 KiB. */
    (void)fcntl(park[0], F_SETPIPE_SZ, 4096);
    int fds[2] = {ctlfd, park[1]};
    e = send_fds(s->sock, fds, 2, off);
    close(park[1]);
    return e;
}

/* Hands the armed spare its sandbox's guest memory (its control page
 * already says how to map it).  The spare's socket is closed either way.
 * 0, or an errno (EPIPE and the like: the spare is gone). */
static int spare_configure(struct spare *s, int memfd, int share_fd)
{
    int fds[2] = {memfd, share_fd};
    int e = send_fds(s->sock, fds, share_fd >= 0 ? 2 : 1, 0);
    close(s->sock);
    s->sock = -1;
    return e;
}

/* A new armed spare from the zygote.  0 or an errno. */
static int spare_fork(struct spare *out)
{
    int e = zygote_fork(out);
    if (e)
        return e;
    if ((e = spare_arm(out)) != 0) {
        pthread_mutex_lock(&kp.lock);
        drop_spare_locked(out);
        pthread_mutex_unlock(&kp.lock);
    }
    return e;
}

/* A spare, forked ahead or now. */
static int spare_take(struct spare *out)
{
    pthread_mutex_lock(&kp.lock);
    kp.last_take = now_ns();
    if (kp.nspare > 0) {
        *out = kp.spare[--kp.nspare];
        pthread_cond_broadcast(&kp.cond); /* the keeper forks another */
        pthread_mutex_unlock(&kp.lock);
        return 0;
    }
    int e = keeper_start_locked();
    pthread_cond_broadcast(&kp.cond);
    pthread_mutex_unlock(&kp.lock);
    return e ? e : spare_fork(out);
}

/* A spare handed guest memory `memfd` (and the snapshot's, share_fd, or
 * -1); it maps it once its control page says how (spawn_child: fill_ctl,
 * then `go`).  0 (*s holds the child and its control pages), or an errno. */
static int start_child_here(int memfd, int share_fd, struct spare *s)
{
    int e = 0;
    for (int tries = 0; tries < 4; tries++) {
        if ((e = spare_take(s)) != 0)
            return e;
        if ((e = spare_configure(s, memfd, share_fd)) == 0)
            return 0;
        /* That spare died (killed from outside?): reap it, take another. */
        pthread_mutex_lock(&kp.lock);
        drop_spare_locked(s);
        pthread_mutex_unlock(&kp.lock);
        if (e != EPIPE && e != ECONNREFUSED && e != ECONNRESET)
            return e;
    }
    return e;
}

/* After a peak of sandboxes (under kp.lock): a spare whose control pages
 * keep a later memfd of slots alive while an earlier one has room, to be
 * dropped (and forked again, its pages then in the earlier memfd), so that
 * the later memfd can go (ctl_give); -1 if none. */
static int stale_spare_locked(void)
{
    int found = -1;
    pthread_mutex_lock(&ctlp.lock);
    for (int i = 0; i < kp.nspare && found < 0; i++) {
        const struct spare *sp = &kp.spare[i];
        if (sp->ctl_id == CTL_NONE || sp->ctl_gen != ctlp.gen)
            continue;
        for (uint32_t ci = 0; ci < sp->ctl_id / CTL_SLOTS && ci < ctlp.nchunks; ci++)
            if (ctlp.chunk[ci].nused < CTL_SLOTS) {
                found = i;
                break;
            }
    }
    pthread_mutex_unlock(&ctlp.lock);
    return found;
}

static int open_pagemap_here(pid_t pid, int pidfd);

/* When the keeper last started a step of work (share_cpu). */
static _Atomic uint64_t kp_step_ns;

static void *keeper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&kp.lock);
    for (;;) {
        atomic_store_explicit(&kp_step_ns, now_ns(), memory_order_relaxed);
        if (kp.zwant && kp.zsock < 0) {
            pthread_mutex_unlock(&kp.lock);
            zygote_start();
            pthread_mutex_lock(&kp.lock);
            continue;
        }
        if (kp.zwant) { /* one came meanwhile */
            kp.zwant = 0;
            kp.zgen++;
            pthread_cond_broadcast(&kp.cond);
        }
        if (kp.req && !kp.req_done) {
            struct start_req *r = kp.req;
            pthread_mutex_unlock(&kp.lock);
            if (r->pid >= 0)
                r->fd = open_pagemap_here(r->pid, r->pidfd);
            else
                r->err = start_child_here(r->memfd, r->share_fd, &r->sp);
            pthread_mutex_lock(&kp.lock);
            kp.req_done = 1;
            pthread_cond_broadcast(&kp.cond);
            continue;
        }
        if (kp.nreap) {
            struct reap list[64];
            size_t n = kp.nreap < 64 ? kp.nreap : 64;
            kp.nreap -= n;
            memcpy(list, kp.reap + kp.nreap, n * sizeof list[0]);
            kp.reaping = 1;
            pthread_mutex_unlock(&kp.lock);
            for (size_t i = 0; i < n; i++)
                reap_now(list[i].pid, list[i].pidfd, list[i].ctl_id, list[i].ctl_gen, list[i].asked);
            pthread_mutex_lock(&kp.lock);
            kp.reaping = 0;
            pthread_cond_broadcast(&kp.cond);
            continue;
        }
        uint64_t t = now_ns();
        int active = kp.last_take && t - kp.last_take < SPARE_IDLE_NS;
        if (active && kp.nspare < kp.target) {
            kp.filling = 1;
            pthread_mutex_unlock(&kp.lock);
            struct spare s;
            int e = spare_fork(&s);
            pthread_mutex_lock(&kp.lock);
            kp.filling = 0;
            if (e == 0 && kp.nspare < SPARE_MAX)
                kp.spare[kp.nspare++] = s;
            else if (e == 0)
                drop_spare_locked(&s);
            else
                kp.last_take = 0; /* cannot fork now: wait for the next sandbox */
            pthread_cond_broadcast(&kp.cond);
            continue;
        }
        if (kp.nspare > (active ? kp.target : 0)) {
            drop_spare_locked(&kp.spare[--kp.nspare]);
            continue;
        }
        int stale = stale_spare_locked();
        if (stale >= 0) {
            struct spare s = kp.spare[stale];
            kp.spare[stale] = kp.spare[--kp.nspare];
            drop_spare_locked(&s);
            continue;
        }
        if (kp.nspare) { /* until they go idle (kp.cond runs on CLOCK_MONOTONIC) */
            struct timespec ts;
            uint64_t until = kp.last_take + SPARE_IDLE_NS + 1000000;
            ts.tv_sec = (time_t)(until / 1000000000ull);
            ts.tv_nsec = (long)(until % 1000000000ull);
            pthread_cond_timedwait(&kp.cond, &kp.lock, &ts);
        } else {
            if (!active)
                ctl_trim(); /* idle: the free control slots' pages go back */
            pthread_cond_wait(&kp.cond, &kp.lock);
        }
    }
    return NULL;
}

/* Starts the keeper thread if it is not running (under kp.lock). */
static int keeper_start_locked(void)
{
    if (kp.started)
        return 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&kp.cond);
    pthread_cond_init(&kp.cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = glint_thread_start(&keeper_tid, 64 * 1024, 1, keeper_main, NULL);
    if (rc != 0)
        return rc;
    kp.started = 1;
    return 0;
}

/* After fork(): the zygote, the spares and the keeper belong to the parent. */
static void keeper_after_fork(void)
{
    pthread_mutex_init(&kp.lock, NULL);
    pthread_cond_init(&kp.cond, NULL);
    pthread_mutex_init(&zlock, NULL);
    if (kp.zsock >= 0)
        close(kp.zsock);
    if (kp.zpidfd >= 0)
        close(kp.zpidfd);
    for (int i = 0; i < kp.nspare; i++) {
        spare_release(&kp.spare[i]);
        close(kp.spare[i].pidfd);
    }
    /* The control memfds (mapped here still) are the parent's: new ones
     * for this process's sandboxes, and no slot of the parent's given back
     * from here (ctl_give checks the generation). */
    pthread_mutex_init(&ctlp.lock, NULL);
    for (uint32_t i = 0; i < ctlp.nchunks; i++)
        close(ctlp.chunk[i].fd);
    ctlp.nchunks = 0;
    ctlp.gen++;
    for (size_t i = 0; i < kp.nreap; i++)
        if (kp.reap[i].pidfd >= 0)
            close(kp.reap[i].pidfd);
    kp.nreap = 0;
    kp.reaping = 0;
    kp.zsock = kp.zpidfd = -1;
    kp.zpid = 0;
    kp.zwant = 0;
    kp.nspare = kp.filling = 0;
    kp.last_take = 0;
    kp.req = NULL;
    kp.started = 0;
}

/*
 * A child handed guest memory `memfd`, with its control pages in *s.  A
 * thread that may be under glint_seccomp_restrict_thread (a restore
 * replacing a dead child: no memfd_create, pipe2, sendmsg or open there)
 * asks the keeper (`delegate`).  0 or an errno.
 */
static int keeper_request(struct start_req *r);

static int start_child(int memfd, int share_fd, int delegate, struct spare *s)
{
    if (!delegate)
        return start_child_here(memfd, share_fd, s);
    struct start_req r = {memfd, share_fd, SPARE_NONE, 0, -1, -1, -1};
    int e = keeper_request(&r);
    if (e == 0) {
        e = r.err;
        *s = r.sp;
    }
    return e;
}

/* Has the keeper thread do r (one request at a time) and waits for it.
 * 0, or an errno (no keeper thread). */
static int keeper_request(struct start_req *r)
{
    pthread_mutex_lock(&kp.lock);
    int e = keeper_start_locked();
    if (e == 0) {
        while (kp.req) /* one at a time */
            pthread_cond_wait(&kp.cond, &kp.lock);
        kp.req = r;
        kp.req_done = 0;
        pthread_cond_broadcast(&kp.cond);
        while (!kp.req_done)
            pthread_cond_wait(&kp.cond, &kp.lock);
        kp.req = NULL;
        pthread_cond_broadcast(&kp.cond);
    }
    pthread_mutex_unlock(&kp.lock);
    return e;
}

/* A child started before the host has loaded guest memory (hv_ops.prepare):
 * it wakes and takes the memfd meanwhile, and waits for its control page. */
struct hv_prep {
    struct spare s;
};

static glint_status process_probe(glint_error *err);

static struct hv_prep *process_prepare(int memfd, int share_fd)
{
    if (process_probe(NULL) != GLINT_OK)
        return NULL;
    struct hv_prep *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    if (start_child_here(memfd, share_fd, &p->s) != 0) { /* create tries again, and says why */
        free(p);
        return NULL;
    }
    return p;
}

static void process_prepare_drop(struct hv_prep *p)
{
    pthread_mutex_lock(&kp.lock);
    drop_spare_locked(&p->s);
    pthread_mutex_unlock(&kp.lock);
    free(p);
}

/* Kills a sandbox's child (or, `asked`, leaves it to the exit command
 * already posted) and leaves the reaping (and giving back its control
 * pages) to the keeper, which kills an asked child that has not gone yet. */
static void kill_and_reap_later(pid_t pid, int pidfd, uint32_t ctl_id, uint32_t ctl_gen, int asked)
{
    if (asked)
        ;
    else if (pidfd >= 0)
        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    else
        kill(pid, SIGKILL);
    pthread_mutex_lock(&kp.lock);
    if (keeper_start_locked() == 0) {
        reap_later_locked(pid, pidfd, ctl_id, ctl_gen, asked);
        pthread_mutex_unlock(&kp.lock);
        return;
    }
    pthread_mutex_unlock(&kp.lock);
    reap_now(pid, pidfd, ctl_id, ctl_gen, asked);
}

/* Test hooks (sandbox.h). */
void glint_debug_process_settle(void)
{
    pthread_mutex_lock(&kp.lock);
    for (;;) {
        int active = kp.last_take && now_ns() - kp.last_take < SPARE_IDLE_NS;
        if (!kp.nreap && !kp.reaping && !kp.filling && !kp.req && !kp.zwant &&
            kp.nspare == (active ? kp.target : 0))
            break;
        if (!kp.started)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 10000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&kp.cond, &kp.lock, &ts);
    }
    pthread_mutex_unlock(&kp.lock);
}

int glint_debug_process_spares(int target)
{
    pthread_mutex_lock(&kp.lock);
    int old = kp.target;
    if (target >= 0)
        kp.target = target > SPARE_MAX ? SPARE_MAX : target;
    pthread_cond_broadcast(&kp.cond);
    pthread_mutex_unlock(&kp.lock);
    glint_debug_process_settle();
    return old;
}

int glint_debug_process_zygote_pid(void)
{
    pthread_mutex_lock(&kp.lock);
    int pid = kp.zsock >= 0 ? (int)kp.zpid : -1;
    pthread_mutex_unlock(&kp.lock);
    return pid;
}

/* ------------------------------------------------------------------------- */
/* One-time set-up: the stub memfd, host facts, and a probe child. */

static glint_status spawn_child(struct hv *hv, int delegate, struct hv_prep *prep, glint_error *err);
static int open_pagemap(struct hv *hv);
static glint_status settle(struct hv *hv, glint_error *err);
static const char *sig_name(int sig);
static void kill_child(struct hv *hv);
static glint_status process_quiesce(struct hv *hv, glint_error *err);
static int parked_has_read(struct hv *hv);

/*
 * Can ring-3 code use RDFSBASE/WRFSBASE here?  AT_HWCAP2 says what the
 * kernel advertises, but a guest kernel (PVM) can leave CR4.FSGSBASE set
 * without advertising it, and then a guest could change its FS base behind
 * the backend's back.  Try it, in a child.
 */
static int fsgsbase_works(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t v;
        __asm__ volatile("rdfsbase %0" : "=r"(v));
        (void)v;
        _exit(0);
    }
    if (pid < 0)
        return (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void process_init_once(void)
{
    glint_error *err = &g.err;
    const char *spares = getenv("GLINT_PROCESS_SPARES");
    if (spares && *spares) {
        char *end;
        errno = 0;
        long v = strtol(spares, &end, 10);
        if (*end || errno || v < 0 || v > SPARE_MAX) {
            glint_fail(err, GLINT_E_INVALID, "GLINT_PROCESS_SPARES: '%.40s' is not a number from 0 to %d",
                       spares, SPARE_MAX);
            return;
        }
        pthread_mutex_lock(&kp.lock);
        kp.target = (int)v;
        pthread_mutex_unlock(&kp.lock);
    }
    size_t len = (size_t)(glint_stub_end - glint_stub_start);
    int fd = memfd_create("glint-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        glint_fail(err, GLINT_E_NO_KVM, "process backend: memfd_create: %s", strerror(errno));
        return;
    }
    if (write(fd, glint_stub_start, len) != (ssize_t)len ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        glint_fail(err, GLINT_E_NO_KVM, "process backend: preparing the stub: %s", strerror(errno));
        close(fd);
        return;
    }
    g.stub_fd = fd;
    /* The CPUs this process may run on (its affinity: taskset, a cpuset
     * such as a container's --cpuset-cpus or Kubernetes' static CPU
     * manager), not the machine's: on one CPU a spin waits for a process
     * that cannot run until the spinner stops, so nothing spins then. */
    long n = sched_getaffinity(0, sizeof g.cpus, &g.cpus) == 0 ? CPU_COUNT(&g.cpus)
                                                               : sysconf(_SC_NPROCESSORS_ONLN);
    g.ncpu = n > 0 ? (int)n : 1;
    g.fsgsbase = fsgsbase_works();
    calibrate_pause();
    g.uffd = 1; /* the probe finds out */
    (void)pthread_atfork(NULL, NULL, keeper_after_fork);

    /* Probe: a real child over one page of memory must reach "ready". */
    struct hv probe;
    memset(&probe, 0, sizeof probe);
    probe.memfd = memfd_create("glint-probe", MFD_CLOEXEC);
    probe.share_fd = -1;
    probe.pidfd = probe.pagemap_fd = probe.park_fd = -1;
    probe.ctl_id = CTL_NONE;
    probe.pid = -1;
    if (probe.memfd < 0 || ftruncate(probe.memfd, 2 * (off_t)GLINT_PAGE_SIZE) < 0) {
        glint_fail(err, GLINT_E_NO_KVM, "process backend: probe memory: %s", strerror(errno));
        if (probe.memfd >= 0)
            close(probe.memfd);
        return;
    }
    probe.mem_size = 2 * GLINT_PAGE_SIZE;
    struct proc_map probe_map = {GLINT_BOOT_INFO_GVA, GLINT_PAGE_SIZE, PROT_READ | PROT_WRITE, 1};
    probe.maps = &probe_map;
    probe.nmaps = 1;
    probe.lay.mem_size = GLINT_BOOT_INFO_GVA + GLINT_PAGE_SIZE;
    glint_error perr;
    glint_status s = spawn_child(&probe, 0, NULL, &perr);
    if (s == GLINT_OK)
        s = settle(&probe, &perr);
    pthread_mutex_lock(&kp.lock);
    kp.last_take = 0; /* the probe is no demand for spares */
    pthread_cond_broadcast(&kp.cond);
    pthread_mutex_unlock(&kp.lock);
    if (s == GLINT_OK && !probe.ctl->uffd_ok)
        g.uffd = 0;
    if (s == GLINT_OK && g.uffd && open_pagemap(&probe) < 0)
        g.uffd = 0;
    kill_child(&probe);
    ctl_give(probe.ctl_id, probe.ctl_gen); /* the probe child is reaped */
    close(probe.memfd);
    if (s != GLINT_OK) {
        glint_fail(err, GLINT_E_NO_KVM, "process backend unusable: %s", perr.message);
        return;
    }
    char spin[64] = "no spinning";
    if (g.ncpu > 1)
        snprintf(spin, sizeof spin, "bounded adaptive spinning, PAUSE %u.%u ns", g.pause_ps / 1000,
                 g.pause_ps % 1000 / 100);
    snprintf(g.describe, sizeof g.describe,
             "jailed process (forks of one zygote, %d kept ahead); dirty tracking: %s; FS/GS base: %s; "
             "%d CPU%s to run on (%s); debugger: trap flag and int3 (SIGTRAP in the child)",
             kp.target,
             g.uffd ? "userfaultfd write-protect + PAGEMAP_SCAN" : "none (restore compares every page)",
             g.fsgsbase ? "FSGSBASE" : "fixed (no FSGSBASE)", g.ncpu, g.ncpu == 1 ? "" : "s", spin);
    g.err.status = GLINT_OK;
}

static glint_status process_probe(glint_error *err)
{
    pthread_once(&g.once, process_init_once);
    if (g.err.status != GLINT_OK) {
        if (err)
            *err = g.err;
        return g.err.status;
    }
    return GLINT_OK;
}

static const char *process_describe(void)
{
    return process_probe(NULL) == GLINT_OK ? g.describe : g.err.message;
}

/* ------------------------------------------------------------------------- */
/* Waiting for the child. */

static int child_gone(struct hv *hv, int *sig)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long rc;
    while ((rc = syscall(SYS_waitid, P_PIDFD, hv->pidfd, &si, WEXITED | WNOHANG | WNOWAIT, NULL)) < 0 &&
           errno == EINTR)
        ;
    if (rc < 0) {
        /* ECHILD: someone else reaped it (a waitpid(-1) in the application). */
        if (syscall(SYS_pidfd_send_signal, hv->pidfd, 0, NULL, 0) == 0)
            return 0;
        *sig = 0;
        return 1;
    }
    if (si.si_pid == 0)
        return 0;
    *sig = si.si_code == CLD_EXITED ? 0 : si.si_status;
    if (si.si_code == CLD_EXITED)
        *sig = -si.si_status - 1; /* exit status s as -(s+1) */
    return 1;
}

static void send_signal(struct hv *hv, int sig)
{
    /* Noted before it goes: one sent before a new child is ready may be
     * dropped (await_ready sends it again). */
    if (sig == PROC_SIG_INTERRUPT)
        atomic_store(&hv->intr_sent, 1);
    if (hv->pidfd >= 0)
        (void)syscall(SYS_pidfd_send_signal, hv->pidfd, sig, NULL, 0);
}

#define GRACE_NS 200000000ull /* an interrupted child that does not answer in 200 ms is killed */
#define PARK_SPIN_NS 120000u  /* a parked child spins before it sleeps */
#define SPIN_MAX_NS 20000u
#define IDLE_SPIN_NS 50000u  /* about what a child spins for its next command after a call */
#define LONG_IDLE_MIN 2u     /* calls in a row followed by such a gap: calls far apart */
#define LONG_IDLE_MAX 4u
#define SHORT_SPIN_NS 6000u  /* a host call's answer, not the next call */
#define SETUP_SPIN_NS 40000u /* the host waits for a new child's "ready" */
#define READY_SPIN_NS 120000u /* a ready child spins for its first command */

/* How a calling thread hands off to its sandbox processes (share_cpu). */
static _Thread_local struct {
    uint64_t until;  /* sharing until then (0: spinning) */
    uint64_t hold;   /* the length of the last verdict (0: none since a quiet window) */
    uint64_t window; /* when this window started (0: none yet) */
    long nivcsw;     /* the thread's involuntary switches then */
    uint32_t tries, hits; /* waits for a report in this window that spun, and found it */
    int force;       /* glint_debug_process_share */
    int created;     /* the thread started a sandbox process in this window */
    int trial;       /* this window keeps the processes off this CPU (SHARE_AWAY) */
} share_tl;

/*
 * Waits until the child posts a report after hv->seen.  0: a report;
 * 1: the child died (hv->dead set).  Honours a time-out for set-up.
 */
static int wait_report(struct hv *hv, uint64_t setup_deadline)
{
    struct proc_ctl *c = hv->ctl;
    uint32_t seen = hv->seen;
    /* Spin first, within an adaptive bound. */
    if (!hv->share)
        share_tl.tries++; /* (share_cpu) a wait that spins, or that spinning was given up for */
    if (hv->spin_ns && !hv->cooldown && !hv->share) {
        uint64_t end = now_ns() + hv->spin_ns;
        for (unsigned i = 0;; i++) {
            if (__atomic_load_n(&c->to_host, __ATOMIC_ACQUIRE) != seen) {
                hv->misses = 0;
                share_tl.hits++;
                return 0;
            }
            __builtin_ia32_pause();
            if ((i & 63) == 63 && now_ns() >= end)
                break;
        }
        if (++hv->misses >= 8) { /* spinning does not pay here now: rest a while */
            hv->cooldown = 256;
            hv->misses = 0;
        }
    } else if (hv->cooldown) {
        hv->cooldown--;
    }
    for (;;) {
        __atomic_store_n(&c->host_waiting, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST) != seen)
            break;
        struct timespec ts = {0, 20000000}; /* 20 ms: then look at the child */
        syscall(SYS_futex, &c->to_host, FUTEX_WAIT, seen, &ts, NULL, 0);
        if (__atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST) != seen)
            break;
        int sig = 0;
        if (child_gone(hv, &sig)) {
            __atomic_store_n(&c->host_waiting, 0, __ATOMIC_RELAXED);
            hv->dead = 1;
            hv->died_sig = sig;
            return 1;
        }
        uint64_t t = now_ns();
        uint64_t since = atomic_load(&hv->stop_ns); /* may be later than t: set meanwhile */
        if ((since && t > since && t - since > GRACE_NS) || (setup_deadline && t > setup_deadline))
            send_signal(hv, SIGKILL); /* seen as dead on the next round */
    }
    __atomic_store_n(&c->host_waiting, 0, __ATOMIC_RELAXED);
    return 0;
}

/*
 * Spinning, or sharing the caller's CPU.  With a CPU to spare, the host
 * thread and the sandbox process each spin a bounded while for the other
 * (a call costs ~1 us so on two idle CPUs here, ~2 us with futex hand-offs
 * on one CPU, tens of us with futex wake-ups across CPUs).  On a busy host a spin takes a CPU from
 * threads with work to do, and the scheduler makes a process that spun pay
 * it back later by waiting, for up to a slice (milliseconds): under a
 * gateway's load that was the whole tail.  So a thread that is preempted
 * while it spins shares its CPU with its sandbox processes instead: each is
 * bound to the caller's CPU at its next command and nobody spins, so every
 * hand-off is a same-CPU futex wake-up, the cheapest without a spare CPU.
 * Busy is judged per calling thread: SHARE_PREEMPTIONS involuntary context
 * switches of it (getrusage) in a window of SHARE_WINDOW_NS of spinning
 * (measured here: 1-2 in a loop of calls on an idle host, 59-191 under a
 * gateway's load).  Such a window starts a *trial*: one more window of
 * spinning with the thread's sandbox processes kept off its CPU
 * (SHARE_AWAY).  The trial passes, and spinning goes on, only for a thread
 * that was not preempted again, waited at least SHARE_TRIAL_WAITS times
 * (a tight loop of calls: a gateway's worker waits 30-100 times in a
 * window) and found nine reports in ten within its spin; otherwise the
 * thread shares.  On an idle host a busy window was most often the caller
 * and its sandbox process placed on one CPU, spinning turn about (118 and
 * 129 switches in two windows at the start of a loop of calls here): a
 * verdict on that window alone made the loop share, at ~6 us a call
 * instead of ~0.5, and the end of the hold left the process on the
 * caller's CPU, so it shared again (the bench's call_empty, p50 or p90,
 * in most runs).  A trial also ends each hold, and resets the sandbox's
 * spin cooldown.  A window in which the thread started a sandbox process,
 * or the keeper worked (within SHARE_SPAWN_NS), is not judged: the
 * processes that make one (the keeper, the zygote, the new process setting
 * up, the last one exiting) preempt the threads that wait by themselves (a
 * loop of creations ran a third slower sharing; right after a process
 * backend's first sandbox, the zygote and four spares starting put 61 and
 * 97 involuntary switches in two windows of a loop of calls).  A failed
 * trial shares for SHARE_MIN_NS, doubling to SHARE_MAX_NS while each trial
 * after it fails.  On one CPU there is nothing else to do.
 */
#define SHARE_WINDOW_NS 2000000ull
#define SHARE_PREEMPTIONS 4
#define SHARE_SPAWN_NS 1000000ull /* a spare's own set-up after the keeper's step */
#define SHARE_TRIAL_WAITS 200     /* a trial passes only for a thread calling at least that often */
#define SHARE_MIN_NS 50000000ull
#define SHARE_MAX_NS 1600000000ull


void glint_debug_process_share(int mode)
{
    share_tl.force = mode;
}

enum { SHARE_SPIN, SHARE_ON, SHARE_AWAY };

static void share_window(uint64_t t, long nivcsw, int trial)
{
    share_tl.window = t;
    share_tl.nivcsw = nivcsw;
    share_tl.tries = share_tl.hits = 0;
    share_tl.created = 0;
    share_tl.trial = trial;
}

static int share_cpu(void)
{
    if (g.ncpu <= 1)
        return SHARE_ON;
    if (share_tl.force)
        return share_tl.force == 2 ? SHARE_AWAY : share_tl.force > 0 ? SHARE_ON : SHARE_SPIN;
    uint64_t t = now_ns();
    if (share_tl.until) {
        if (t < share_tl.until)
            return SHARE_ON;
        share_tl.until = 0; /* a trial: spin, the processes off this CPU */
        share_tl.window = 0;
    }
    if (share_tl.window && t - share_tl.window < SHARE_WINDOW_NS)
        return share_tl.trial ? SHARE_AWAY : SHARE_SPIN;
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0)
        return SHARE_SPIN;
    if (!share_tl.window) { /* the first window, or the trial after a hold */
        share_window(t, ru.ru_nivcsw, share_tl.hold != 0);
        return share_tl.trial ? SHARE_AWAY : SHARE_SPIN;
    }
    /* Sandbox processes being made or reaped (by this thread, or by the
     * keeper for any: a zygote, spares forked and armed, processes gone)
     * preempt the threads that wait for them by themselves: no verdict. */
    if (atomic_load_explicit(&kp_step_ns, memory_order_relaxed) + SHARE_SPAWN_NS >= share_tl.window)
        share_tl.created = 1;
    if (share_tl.created) {
        int trial = share_tl.trial;
        share_window(t, ru.ru_nivcsw, trial);
        return trial ? SHARE_AWAY : SHARE_SPIN;
    }
    /* Preempted SHARE_PREEMPTIONS times per SHARE_WINDOW_NS (over a window
     * that may be longer: calls far apart). */
    long d = ru.ru_nivcsw - share_tl.nivcsw;
    int preempted = d >= SHARE_PREEMPTIONS &&
                    (uint64_t)d * SHARE_WINDOW_NS >= SHARE_PREEMPTIONS * (t - share_tl.window);
    if (share_tl.trial) {
        /* Spinning paid with the processes on other CPUs (not preempted,
         * and nine waits in ten of a tight loop found the report): spin
         * on. */
        if (!preempted && share_tl.tries >= SHARE_TRIAL_WAITS && share_tl.hits * 10 >= share_tl.tries * 9) {
            share_tl.hold = 0;
            share_window(t, ru.ru_nivcsw, 0);
            return SHARE_SPIN;
        }
        share_tl.hold = share_tl.hold ? share_tl.hold * 2 : SHARE_MIN_NS;
        if (share_tl.hold > SHARE_MAX_NS)
            share_tl.hold = SHARE_MAX_NS;
        share_tl.until = t + share_tl.hold;
        share_tl.window = 0;
        return SHARE_ON;
    }
    /* A spinning window that was preempted: try the processes on other
     * CPUs. */
    share_window(t, ru.ru_nivcsw, preempted);
    return preempted ? SHARE_AWAY : SHARE_SPIN;
}

/* Binds the child to the calling thread's CPU (SHARE_ON), to every CPU of
 * the process's but that one (SHARE_AWAY), or frees it to run on any
 * (spinning: it must be able to run beside the spinning host).  A failure
 * (a cpuset that changed) leaves it where it is, and is not tried again
 * for that binding.  hv->child_cpu: -1 any, c >= 0 only c, -2 - c all but c. */
static void bind_child(struct hv *hv, int mode)
{
    int cpu = mode != SHARE_SPIN ? sched_getcpu() : -1;
    int code = cpu < 0 ? -1 : mode == SHARE_ON ? cpu : -2 - cpu;
    if (code == hv->child_cpu || hv->pid <= 0 || g.ncpu <= 1)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (code >= 0) {
        CPU_SET(cpu, &set);
    } else {
        set = g.cpus;
        if (code < -1)
            CPU_CLR(cpu, &set);
        if (CPU_COUNT(&set) == 0)
            set = g.cpus;
    }
    (void)sched_setaffinity(hv->pid, sizeof set, &set);
    hv->child_cpu = code;
}

/* Posts the command already written to the control page; a run's carries
 * PROC_PARK_AT_DONE when a restore follows (process_run checks that the
 * stub may get it). */
static void post_command(struct hv *hv, int run)
{
    struct proc_ctl *c = hv->ctl;
    if (hv->idle_since) {
        uint64_t gap = now_ns() - hv->idle_since;
        hv->idle_since = 0;
        if (gap > IDLE_SPIN_NS)
            hv->long_idle += hv->long_idle < LONG_IDLE_MAX;
        else
            hv->long_idle = 0;
    }
    /* A new child is setting up wherever the zygote forked it: moving it
     * there would cost more than its set-up, so it is bound from its next
     * command on. */
    int mode = share_cpu();
    hv->share = mode == SHARE_ON;
    if (mode == SHARE_AWAY) /* a trial of spinning (share_cpu): give it a fair one */
        hv->cooldown = hv->misses = 0;
    if (!hv->setup_pending)
        bind_child(hv, mode);
    int spin = hv->spin_ns && !hv->cooldown && !hv->share;
    /* Calls far apart: a short spin (a host call's answer) and no park
     * spin, decided here, since the host may not get a CPU to end the
     * spin when the call ends (process_run). */
    int apart = hv->long_idle >= LONG_IDLE_MIN;
    c->spin = spin ? spin_loops(apart ? SHORT_SPIN_NS : IDLE_SPIN_NS) : 0;
    hv->ro->park_spin = spin && !apart ? spin_loops(PARK_SPIN_NS) : 0;
    if (!hv->setup_pending) /* else await_ready counts from the child's first report */
        hv->seen = __atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST);
    /* One store: the next count and no park request (proc_abi.h). */
    uint64_t next = (uint64_t)(uint32_t)(hv->ro->to_child + 1u);
    if (run && hv->park_at_done)
        next |= (uint64_t)PROC_PARK_AT_DONE << 32;
    __atomic_store_n(&hv->ro->word, next, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->child_waiting, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, &hv->ro->to_child, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* ------------------------------------------------------------------------- */
/* Children. */

/* Kills hv's child.  Before a restore writes guest memory for another
 * child the old one must be gone (a dying guest could still write that
 * memory: it is shared), so this waits for it; process_destroy, after
 * which nothing reads that memory, leaves the reaping to the keeper. */
static void kill_child_how(struct hv *hv, int wait)
{
    if (hv->pid > 0 && !wait) {
        /* The child is told to exit: no signal, and no interrupt to its
         * CPU while it spins in the stub for its next command.  Whatever it
         * is doing in the stub (waiting for a command, parked, its last
         * report unread), the next command it sees is this one; a child
         * that does not see it (a guest running on its own) the keeper
         * kills when it reaps it.  Owns the pidfd and the control pages
         * now. */
        int asked = !hv->dead && hv->ctl;
        if (asked) {
            hv->ctl->cmd = PROC_CMD_EXIT;
            hv->ctl->cmd_flags = 0;
            post_command(hv, 0);
        }
        kill_and_reap_later(hv->pid, hv->pidfd, hv->ctl_id, hv->ctl_gen, asked);
        hv->ctl_id = CTL_NONE;
        hv->ctl = NULL;
        hv->ro = NULL;
    } else if (hv->pid > 0) {
        if (hv->pidfd >= 0)
            (void)syscall(SYS_pidfd_send_signal, hv->pidfd, SIGKILL, NULL, 0);
        else
            kill(hv->pid, SIGKILL);
        reap_now(hv->pid, hv->pidfd, CTL_NONE, 0, 0); /* closes the pidfd; the control pages stay */
    } else if (hv->pidfd >= 0) {
        close(hv->pidfd);
    }
    if (hv->pagemap_fd >= 0)
        close(hv->pagemap_fd);
    if (hv->park_fd >= 0)
        close(hv->park_fd);
    hv->pid = -1;
    hv->pidfd = hv->pagemap_fd = hv->park_fd = -1;
    hv->tracking = 0;
    hv->parked = 0;
    hv->park_at_done_due = 0;
    hv->setup_pending = 0;
    hv->dead = 1;
}

static void kill_child(struct hv *hv)
{
    kill_child_how(hv, 1);
}

/* A sandbox process's set-up steps (stub.c: spare_main's die() codes; the
 * zygote's are in zygote_start's message). */
static const char *const setup_steps[] = {
    [1] = "taking its descriptors and control pages", [2] = "a fault in its own set-up",
    [4] = "mapping guest memory",
    [9] = "the host went away", [10] = "unmapping the set-up gate",
};

/* What a new child maps and how it starts, in its control page. */
static void fill_ctl(struct hv *hv, struct proc_ctl *c, struct proc_ro *ro)
{
    memset(c, 0, sizeof *c);
    c->mem_size = hv->mem_size;
    c->nmaps = hv->nmaps;
    memcpy(c->maps, hv->maps, hv->nmaps * sizeof hv->maps[0]);
    c->rlimit_as = 0; /* no new mappings can be made anyway; RLIMIT_AS would count the memfd */
    c->snap_off = hv->share_off;
    c->want_uffd = (uint32_t)g.uffd;
    c->host_pid = (uint32_t)getpid(); /* not 1 as a test: the host may be PID 1 (containers) */
    /* FS/GS bases are reset with the pinned arch_prctl on every full state
     * load, never read back: a snapshot's bases are the boot values. */
    c->fsgsbase = 0;
    ro->fsgsbase = (uint32_t)g.fsgsbase;
    c->set.fs_base = GLINT_BOOT_INFO_GVA;
    /* After "ready" the child spins a while for its first command, which
     * usually follows within the rest of a create and an init. */
    c->spin = g.ncpu > 1 ? spin_loops(READY_SPIN_NS) : 0;
    /* The child counts commands from 0 (stub.c: the ready report): one
     * posted before it is ready is taken then. */
    __atomic_store_n(&ro->word, 0, __ATOMIC_RELAXED);
}

static _Atomic unsigned g_hold_setup_ms;

void glint_debug_process_hold_setup(unsigned ms)
{
    atomic_store(&g_hold_setup_ms, ms);
}

/* The control page is filled in: the child maps what it says. */
static void say_go(struct proc_ctl *c)
{
    __atomic_store_n(&c->go, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &c->go, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Starts a child for hv (memory, maps), on the keeper thread where the
 * caller may be filtered (`delegate`); its first report is read later
 * (await_ready). */
static glint_status spawn_child(struct hv *hv, int delegate, struct hv_prep *prep, glint_error *err)
{
    struct spare s = SPARE_NONE;
    int e = 0;
    share_tl.created = 1; /* (share_cpu) */
    if (prep) {
        s = prep->s;
        free(prep);
    } else {
        e = start_child(hv->memfd, hv->share_fd, delegate, &s);
    }
    if (e) {
        char why[160];
        pthread_mutex_lock(&kp.lock);
        snprintf(why, sizeof why, "%s", kp.zsock < 0 && kp.zwhy[0] ? kp.zwhy : strerror(e));
        pthread_mutex_unlock(&kp.lock);
        return glint_fail(err, e == EAGAIN || e == ENOMEM || e == EMFILE || e == ENFILE ? GLINT_E_NOMEM
                                                                                       : GLINT_E_HYPERVISOR,
                          "process backend: cannot start the sandbox process: %s", why);
    }
    /* The child's own control pages replace the last child's (which is
     * gone: kill_child waited for it, so no process maps them now). */
    if (hv->pid > 0)
        kill_child(hv);
    ctl_give(hv->ctl_id, hv->ctl_gen);
    hv->ctl = s.ctl;
    hv->ro = (struct proc_ro *)((char *)s.ctl + PROC_CTL_SIZE);
    hv->ctl_id = s.ctl_id;
    hv->ctl_gen = s.ctl_gen;
    hv->child_cpu = -1; /* as the zygote: any of g.cpus */
    struct proc_ctl *c = hv->ctl;
    /* What to map, then go (the child waits for it, spinning a while). */
    fill_ctl(hv, c, hv->ro);
    hv->go_held_ms = atomic_load(&g_hold_setup_ms);
    if (!hv->go_held_ms)
        say_go(c);
    hv->seen = 0;
    hv->pid = s.pid;
    hv->dead = 0;
    atomic_store(&hv->intr_sent, 0); /* before the pidfd: any signal sent to this child counts */
    hv->pidfd = s.pidfd;
    hv->pagemap_fd = -1;
    hv->tracking = 0;
    hv->park_fd = s.park_r;
    hv->parked = 0;
    hv->park_at_done_due = 0;
    /* Not waited for here: the first command is posted before the child
     * is ready and it takes that at once (one hand-off fewer, and each
     * costs tens of microseconds between CPUs on a virtualized host);
     * await_ready reads its first report. */
    hv->setup_pending = 1;
    hv->spin_ns = g.ncpu > 1 ? SPIN_MAX_NS : 0;
    hv->misses = hv->cooldown = 0;
    hv->share = g.ncpu <= 1; /* until a command says (post_command) */
    return GLINT_OK;
}

/*
 * Reads a new child's first report: ready, or why its set-up failed.  The
 * child may have taken a command posted meanwhile and reported on that
 * too (to_host 2: the ready report was first; a child whose set-up fails
 * reports nothing after that).  GLINT_OK, or the child is gone (hv->dead,
 * *died: it died during set-up, hv->died_sig says how) or killed here
 * (an error in err).
 */
static glint_status await_ready(struct hv *hv, int *died, glint_error *err)
{
    *died = 0;
    if (!hv->setup_pending)
        return GLINT_OK;
    struct proc_ctl *c = hv->ctl;
    if (hv->go_held_ms) {
        struct timespec ts = {(time_t)(hv->go_held_ms / 1000), (long)(hv->go_held_ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        hv->go_held_ms = 0;
        say_go(c);
    }
    hv->setup_pending = 0;
    hv->seen = 0; /* the count at spawn_child */
    /* The set-up takes the child tens of microseconds on another CPU:
     * spinning through it saves the host a wake-up. */
    hv->spin_ns = g.ncpu > 1 ? SETUP_SPIN_NS : 0;
    /* 5 s from now: a set-up that has not ended by then never will. */
    int gone = wait_report(hv, now_ns() + 5000000000ull);
    hv->spin_ns = g.ncpu > 1 ? SPIN_MAX_NS : 0;
    if (gone) {
        *died = 1;
        return GLINT_OK;
    }
    /* The kind is read only for a failure: once ready, the child may be
     * writing its next report already (the count comes last). */
    uint32_t n = __atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST);
    uint32_t kind = c->rep_kind;
    if (n == 1 && kind == PROC_REP_SETUP_FAILED) {
        uint64_t step = c->err;
        int code = c->code;
        kill_child(hv);
        return glint_fail(err, GLINT_E_HYPERVISOR, "process backend: sandbox set-up failed at %s: %s",
                          step < sizeof setup_steps / sizeof setup_steps[0] && setup_steps[step]
                              ? setup_steps[step] : "an unknown step",
                          strerror(code));
    }
    hv->seen = 1; /* reports after this one answer commands */
    /* Tracking is on in this child (else dirty_pages counts every
     * writable page); its pagemap is opened when first read. */
    hv->tracking = g.uffd && c->uffd_ok;
    /* An interrupt sent before the child had its control page was dropped
     * (stub.c: handler): again, now that it is blocked until the guest's
     * first instruction.  That is a cancellation (stop) or a profiler's
     * sample (a kick: its profiler sends no other until this one is
     * answered).  One that was not dropped makes the resend an interrupt
     * exit of no consequence. */
    if (atomic_load(&hv->stop) || atomic_exchange(&hv->intr_sent, 0))
        send_signal(hv, PROC_SIG_INTERRUPT);
    return GLINT_OK;
}

/* How a child that died during set-up went (died_sig: wait_report). */
static void setup_death(int sig, char *buf, size_t size)
{
    int st = -sig - 1;
    if (sig < 0 && st > 100 && st - 100 < (int)(sizeof setup_steps / sizeof setup_steps[0]) &&
        setup_steps[st - 100])
        snprintf(buf, size, "the sandbox process exited during set-up, at %s", setup_steps[st - 100]);
    else if (sig < 0)
        snprintf(buf, size, "the sandbox process exited with status %d during set-up", st);
    else
        snprintf(buf, size, "the sandbox process died of signal %d (%s) during set-up", sig, sig_name(sig));
}

/* await_ready where no command is in flight: a child that died during
 * set-up is an error. */
static glint_status settle(struct hv *hv, glint_error *err)
{
    int died;
    glint_status s = await_ready(hv, &died, err);
    if (s != GLINT_OK || !died)
        return s;
    char why[160];
    setup_death(hv->died_sig, why, sizeof why);
    kill_child(hv);
    return glint_fail(err, GLINT_E_HYPERVISOR, "process backend: %s", why);
}

/* The guest's user pages and their permissions, from the page tables that
 * x86_setup wrote (the same description the KVM backend runs on). */
static glint_status read_maps(struct hv *hv, glint_error *err)
{
    const struct glint_layout *l = &hv->lay;
    uint64_t pages = l->pt_base / GLINT_PAGE_SIZE;
    struct proc_map maps[MAX_MAPS];
    uint32_t nmaps = 0;
    uint32_t cur = 0;
    uint64_t start = 0;
    for (uint64_t p = GLINT_BOOT_INFO_GVA / GLINT_PAGE_SIZE; p <= pages; p++) {
        uint32_t prot = 0;
        if (p < pages) {
            uint64_t pte;
            uint64_t at = l->pt_base + (p >> 9) * GLINT_PAGE_SIZE + (p & 511) * 8;
            if (at + 8 > hv->mem_size)
                return glint_fail(err, GLINT_E_INVALID, "process backend: page tables outside memory");
            memcpy(&pte, hv->mem + at, 8);
            if ((pte & 1) && (pte & 4)) { /* present, user */
                if (p * GLINT_PAGE_SIZE >= PROC_STUB_BASE && p * GLINT_PAGE_SIZE < PROC_STUB_END)
                    return glint_fail(err, GLINT_E_INVALID,
                                      "process backend: guest page 0x%llx is where the stub lives "
                                      "(no glint guest has pages between 0x%x and 0x%x)",
                                      (unsigned long long)(p * GLINT_PAGE_SIZE), PROC_STUB_BASE,
                                      PROC_STUB_END);
                if ((pte & ~0xfffull & ((1ull << 52) - 1)) != p * GLINT_PAGE_SIZE)
                    return glint_fail(err, GLINT_E_INVALID,
                                      "process backend: page 0x%llx is not identity mapped",
                                      (unsigned long long)(p * GLINT_PAGE_SIZE));
                prot = PROT_READ | ((pte & 2) ? PROT_WRITE : 0) | ((pte >> 63) ? 0 : PROT_EXEC);
                if ((prot & PROT_WRITE) && (prot & PROT_EXEC))
                    return glint_fail(err, GLINT_E_INVALID,
                                      "process backend: page 0x%llx is writable and executable",
                                      (unsigned long long)(p * GLINT_PAGE_SIZE));
                if (hv->share_fd >= 0 && glint_page_shareable(hv->mem, l, p))
                    prot |= PROC_MAP_SNAPSHOT; /* the snapshot's page, not copied (snapshot.c) */
            }
        }
        if (prot != cur || p == pages) {
            if (cur) {
                if (nmaps >= MAX_MAPS)
                    return glint_fail(err, GLINT_E_INVALID,
                                      "process backend: guest memory has more than %d regions", MAX_MAPS);
                maps[nmaps++] = (struct proc_map){start * GLINT_PAGE_SIZE, (p - start) * GLINT_PAGE_SIZE,
                                                  cur, (cur & PROT_WRITE) ? 1u : 0u};
            }
            cur = prot;
            start = p;
        }
    }
    /* As many as there are (a handful): every sandbox keeps them. */
    if (!(hv->maps = malloc((nmaps ? nmaps : 1) * sizeof *maps)))
        return glint_fail(err, GLINT_E_NOMEM, "out of memory creating a sandbox process");
    memcpy(hv->maps, maps, nmaps * sizeof *maps);
    hv->nmaps = nmaps;
    return GLINT_OK;
}

static void process_unshare(struct hv *hv)
{
    hv->share_fd = -1;
    for (uint32_t i = 0; i < hv->nmaps; i++)
        hv->maps[i].prot &= ~PROC_MAP_SNAPSHOT;
}

static void process_destroy(struct hv *hv)
{
    if (!hv)
        return;
    kill_child_how(hv, 0); /* the keeper reaps it, then gives its control pages back */
    ctl_give(hv->ctl_id, hv->ctl_gen); /* a child already reaped left them here */
    glint_hot_free(&hv->hot);
    free(hv->scan);
    free(hv->maps);
    free(hv);
}

static glint_status process_create(struct hv **out, const struct hv_setup *st, glint_error *err)
{
    *out = NULL;
    struct hv_prep *prep = st->prep; /* ours, whatever happens */
    glint_status s = process_probe(err);
    struct hv *hv = NULL;
    if (s != GLINT_OK)
        goto fail;
    if (st->memfd < 0) {
        s = glint_fail(err, GLINT_E_INVALID, "process backend: guest memory is not a memfd");
        goto fail;
    }
    if (!(hv = calloc(1, sizeof *hv))) {
        s = glint_fail(err, GLINT_E_NOMEM, "out of memory creating a sandbox process");
        goto fail;
    }
    hv->mem = st->mem;
    hv->mem_size = st->mem_size;
    hv->memfd = st->memfd;
    hv->share_fd = st->share_fd;
    hv->share_off = st->share_off;
    hv->lay = *st->lay;
    hv->pidfd = hv->pagemap_fd = hv->park_fd = -1;
    hv->ctl_id = CTL_NONE;
    hv->pid = -1;
    hv->dead = 1;
    size_t words = (st->mem_size / GLINT_PAGE_SIZE + 63) / 64 + 1;
    hv->scan = calloc(words, sizeof *hv->scan);
    if (glint_hot_init(&hv->hot, st->mem_size / GLINT_PAGE_SIZE) < 0 || !hv->scan) {
        s = glint_fail(err, GLINT_E_NOMEM, "out of memory creating a sandbox process");
        goto fail;
    }
    if ((s = read_maps(hv, err)))
        goto fail;
    s = spawn_child(hv, 0, prep, err); /* takes prep */
    prep = NULL;
    if (s)
        goto fail;
    hv->cpu.magic = UCPU_MAGIC;
    hv->cpu.version = UCPU_VERSION;
    if (st->st) {
        hv->cpu.rip = st->st->rip;
        hv->cpu.rsp = st->st->rsp;
        hv->cpu.rflags = RFLAGS_FIXED;
        hv->cpu.fs_base = st->st->fs.base;
        hv->cpu.gs_base = st->st->gs.base;
        ucpu_default_fp(&hv->cpu);
        hv->pending = PROC_SET_GREGS | PROC_SET_FP | PROC_SET_FSGS;
        hv->in_guest_state = 1;
    }
    *out = hv;
    return GLINT_OK;
fail:
    if (prep)
        process_prepare_drop(prep);
    process_destroy(hv);
    return s;
}

/* ------------------------------------------------------------------------- */
/* Running. */

static void set_immediate_exit(struct hv *hv, int on)
{
    atomic_store(&hv->stop, on);
    if (!on)
        atomic_store(&hv->stop_ns, 0);
}

static void process_interrupt(struct hv *hv, pthread_t thread)
{
    (void)thread; /* the host thread waits on the child; stopping the child wakes it */
    atomic_store(&hv->stop, 1);
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&hv->stop_ns, &zero, now_ns());
    send_signal(hv, PROC_SIG_INTERRUPT);
}

static uint64_t process_guest_rip(struct hv *hv)
{
    return hv->cpu.rip;
}

/* A profiler sample: the interrupt signal without `stop`, so the report
 * is an interrupt exit and the next run resumes the guest as it was. */
static void process_kick(struct hv *hv, pthread_t thread)
{
    (void)thread;
    send_signal(hv, PROC_SIG_INTERRUPT);
}

static int process_sample_regs(struct hv *hv, uint64_t *rip, uint64_t *rsp, uint64_t *rbp)
{
    if (!hv->in_guest_state)
        return 0;
    *rip = hv->cpu.rip, *rsp = hv->cpu.rsp, *rbp = hv->cpu.rbp;
    return 1;
}

/* Writes the pending state into the control page for the next resume. */
static void write_pending(struct hv *hv)
{
    struct proc_ctl *c = hv->ctl;
    const struct ucpu *u = &hv->cpu;
    c->cmd = PROC_CMD_RESUME;
    c->cmd_flags = hv->pending;
    if (hv->pending & (PROC_SET_GREGS | PROC_SET_RIP)) {
        struct proc_regs r = {
            u->r8, u->r9, u->r10, u->r11, u->r12, u->r13, u->r14, u->r15,
            u->rdi, u->rsi, u->rbp, u->rbx, u->rdx, u->rax, u->rcx, u->rsp, u->rip, u->rflags,
            u->fs_base, u->gs_base, 0x33,
        };
        c->set = r;
    }
    if (hv->pending & PROC_SET_FSGS) {
        c->set.fs_base = u->fs_base;
        c->set.gs_base = u->gs_base;
    }
    if (hv->pending & PROC_SET_FP) {
        memset(c->xsave, 0, 832);
        memcpy(c->xsave, u->fx, 464);
        memcpy(c->xsave + 512, &u->xstate_bv, 8);
        memcpy(c->xsave + 576, u->ymmh, 256);
    }
    hv->pending = 0;
}

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGSYS: return "SIGSYS";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGXCPU: return "SIGXCPU";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
    }
}

/* Decodes port I/O at rip (in an executable page of guest memory): IN or
 * OUT, imm8 or DX forms, 1, 2 or 4 bytes.  Returns the instruction length,
 * 0 if it is not port I/O. */
static unsigned decode_io(struct hv *hv, uint64_t rip, uint64_t rdx, uint16_t *port, uint8_t *size,
                          uint8_t *is_out)
{
    if (rip >= hv->mem_size || hv->mem_size - rip < 3)
        return 0;
    int exec = 0;
    for (uint32_t i = 0; i < hv->nmaps && !exec; i++) {
        const struct proc_map *m = &hv->maps[i];
        exec = rip >= m->gva && rip + 3 <= m->gva + m->size && (m->prot & PROT_EXEC);
    }
    if (!exec)
        return 0;
    uint8_t b[3];
    memcpy(b, hv->mem + rip, 3);
    unsigned pre = b[0] == 0x66, op = b[pre];
    uint8_t wide = pre ? 2 : 4;
    if (b[0] == 0xf3 || b[0] == 0xf2) { /* rep ins/outs: never a hypercall */
        if (b[1] >= 0x6c && b[1] <= 0x6f) {
            *port = (uint16_t)rdx;
            *size = 0;
            *is_out = b[1] >= 0x6e;
            return 2;
        }
        return 0;
    }
    switch (op) {
    case 0x6c: case 0x6d: case 0x6e: case 0x6f: /* ins/outs: one element, port in DX */
        *port = (uint16_t)rdx;
        *size = (op & 1) ? wide : 1;
        *is_out = op >= 0x6e;
        return pre + 1;
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:
        *port = b[pre + 1];
        *size = (op & 1) ? wide : 1;
        *is_out = op >= 0xe6;
        return pre + 2;
    case 0xec: case 0xed: case 0xee: case 0xef:
        *port = (uint16_t)rdx;
        *size = (op & 1) ? wide : 1;
        *is_out = op >= 0xee;
        return pre + 1;
    default:
        return 0;
    }
}

/* Names the instruction at rip for reports of system-call attempts that
 * fault instead of reaching the filter (int $0x80 without IA-32 emulation,
 * sysenter), and privileged instructions. */
static const char *insn_name(struct hv *hv, uint64_t rip)
{
    if (rip >= hv->mem_size || hv->mem_size - rip < 2)
        return NULL;
    uint8_t b[2];
    memcpy(b, hv->mem + rip, 2);
    if (b[0] == 0xcd && b[1] == 0x80) return "int $0x80 (a 32-bit system call), refused";
    if (b[0] == 0x0f && b[1] == 0x34) return "sysenter (a system call), refused";
    if (b[0] == 0x0f && b[1] == 0x05) return "syscall, refused";
    if (b[0] == 0xf4) return "hlt (privileged)";
    if (b[0] == 0xfa || b[0] == 0xfb) return "cli/sti (privileged)";
    if (b[0] >= 0xe4 && b[0] <= 0xef && b[0] != 0xe8 && b[0] != 0xe9 && b[0] != 0xea && b[0] != 0xeb)
        return "port I/O that is not a hypercall";
    if (b[0] == 0xec || b[0] == 0xed || b[0] == 0xee || b[0] == 0xef)
        return "port I/O that is not a hypercall";
    return NULL;
}

static void fill_regs(struct ucpu *u, const struct proc_regs *r)
{
    u->r8 = r->r8, u->r9 = r->r9, u->r10 = r->r10, u->r11 = r->r11;
    u->r12 = r->r12, u->r13 = r->r13, u->r14 = r->r14, u->r15 = r->r15;
    u->rdi = r->rdi, u->rsi = r->rsi, u->rbp = r->rbp, u->rbx = r->rbx;
    u->rdx = r->rdx, u->rax = r->rax, u->rcx = r->rcx, u->rsp = r->rsp;
    u->rip = r->rip, u->rflags = r->rflags;
    (void)r->fs_base; /* see spawn_child: the bases a restore sets are the boot values */
}

static glint_status run_once(struct hv *hv, struct hv_exit *ex, glint_error *err);

/*
 * A call ended (GLINT_PORT_DONE): the child now spins a while for its next
 * command (or, parked for a restore, for the one after it), which pays
 * when calls follow each other (a loop of calls, a pool handing the
 * sandbox on) and burns a CPU for nothing when they come from requests
 * further apart than the spin (a gateway: the CPU it takes is the one
 * the next request needs).  Once LONG_IDLE_MIN calls in a row were
 * followed by such a gap, the child spins only briefly after each command
 * (post_command), and the host ends even that as soon as it sees the call
 * end; the next command wakes it.
 */
static glint_status process_run(struct hv *hv, struct hv_exit *ex, glint_error *err)
{
    glint_status s = run_once(hv, ex, err);
    if (s == GLINT_OK && ex->kind == HV_EXIT_IO && ex->port == GLINT_PORT_DONE && !hv->dead && hv->ctl) {
        hv->idle_since = now_ns();
        if (hv->long_idle >= LONG_IDLE_MIN) {
            __atomic_store_n(&hv->ctl->spin, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&hv->ro->park_spin, 0, __ATOMIC_RELAXED);
        }
    }
    return s;
}

static glint_status run_once(struct hv *hv, struct hv_exit *ex, glint_error *err)
{
    memset(ex, 0, sizeof *ex);
    if (atomic_load(&hv->stop)) {
        ex->kind = HV_EXIT_INTR;
        return GLINT_OK;
    }
    if (hv->dead)
        return glint_fail(err, GLINT_E_HYPERVISOR,
                          "process backend: the sandbox process is gone (restore the sandbox)");
    if (hv->park_at_done_due) {
        process_quiesce(hv, err); /* the stub parked after the last call: read its record first */
        if (hv->dead)
            return glint_fail(err, GLINT_E_HYPERVISOR,
                              "process backend: the sandbox process did not park after its call");
    }
    if (hv->park_at_done && hv->parked && hv->parked == __atomic_load_n(&hv->ro->word, __ATOMIC_RELAXED) &&
        !parked_has_read(hv)) {
        kill_child(hv);
        return glint_fail(err, GLINT_E_HYPERVISOR, "process backend: the sandbox process did not park");
    }
    write_pending(hv);
    post_command(hv, 1);
    int died = 0;
    glint_status rs = await_ready(hv, &died, err); /* a new child takes the command once ready */
    if (rs != GLINT_OK)
        return rs;
    if (died || wait_report(hv, 0)) {
        int sig = hv->died_sig;
        int ours = atomic_load(&hv->stop_ns) != 0;
        kill_child(hv); /* reap */
        if (ours) { /* we killed it after an interrupt it did not answer */
            ex->kind = HV_EXIT_INTR;
            return GLINT_OK;
        }
        ex->kind = HV_EXIT_DIED;
        ex->detail = (uint64_t)(int64_t)sig;
        if (died)
            setup_death(sig, ex->what, sizeof ex->what);
        else if (sig >= 0)
            snprintf(ex->what, sizeof ex->what,
                     "the sandbox process was killed by signal %d (%s) (killed from outside glint?)", sig,
                     sig_name(sig));
        else if (sig == -1)
            snprintf(ex->what, sizeof ex->what,
                     "the sandbox process exited with status 0 (the guest jumped to the stub's exit, or "
                     "something outside glint ended it)");
        else
            snprintf(ex->what, sizeof ex->what,
                     "the sandbox process exited with status %d (killed from outside glint?)", -sig - 1);
        return GLINT_OK;
    }
    struct proc_ctl *c = hv->ctl;
    hv->seen = __atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST);
    /* One copy of the report; everything below looks only at the copy. */
    struct {
        uint32_t kind;
        int32_t signo, code;
        uint64_t trapno, err, addr;
        int32_t sys_nr;
        uint32_t sys_arch;
        struct proc_regs regs;
    } r;
    r.kind = c->rep_kind;
    r.signo = c->signo;
    r.code = c->code;
    r.trapno = c->trapno;
    r.err = c->err;
    r.addr = c->addr;
    r.sys_nr = c->sys_nr;
    r.sys_arch = c->sys_arch;
    r.regs = c->regs;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    fill_regs(&hv->cpu, &r.regs);
    hv->in_guest_state = 1;
    ex->rip = r.regs.rip;
    ex->rsp = r.regs.rsp;
    if (r.kind == PROC_REP_FAST) {
        /* The exit gate: the OUT before the resume address, as if it had
         * run (glint/abi.h).  The guest chose the registers and may have
         * jumped there from anywhere: the OUT must be there, in guest code. */
        uint16_t port;
        uint8_t size, is_out;
        uint64_t rip = r.regs.rip;
        unsigned len = rip >= 2 ? decode_io(hv, rip - 2, r.regs.rdx, &port, &size, &is_out) : 0;
        if (len != 2 || !is_out || size != 1 || port < GLINT_PORT_FIRST || port > GLINT_PORT_LAST) {
            ex->kind = HV_EXIT_OTHER;
            ex->raw_reason = r.kind;
            snprintf(ex->what, sizeof ex->what,
                     "a jump into the exit gate to resume at 0x%llx, which does not follow an OUT to a "
                     "hypercall port", (unsigned long long)rip);
            return GLINT_OK;
        }
        ex->kind = HV_EXIT_IO;
        ex->port = port;
        ex->size = 1;
        ex->is_out = 1;
        ex->value = (uint32_t)(r.regs.rax & 0xff);
        /* The stub parks after this report, unasked (proc_abi.h). */
        hv->park_at_done_due = port == GLINT_PORT_DONE &&
                               (uint32_t)(__atomic_load_n(&hv->ro->word, __ATOMIC_RELAXED) >> 32) == PROC_PARK_AT_DONE;
        return GLINT_OK;
    }
    if (r.kind != PROC_REP_SIGNAL) {
        ex->kind = HV_EXIT_OTHER;
        ex->raw_reason = r.kind;
        snprintf(ex->what, sizeof ex->what, "unexpected report %u from the sandbox process", r.kind);
        return GLINT_OK;
    }
    const char *mode = (r.regs.cs & 0xffff) != 0x33 ? " in 32-bit compatibility mode (a far jump "
                                                      "to the 32-bit code segment)" : "";
    switch (r.signo) {
    case PROC_SIG_INTERRUPT:
    case SIGXCPU:
        ex->kind = HV_EXIT_INTR;
        return GLINT_OK;
    case SIGSYS:
        ex->kind = HV_EXIT_SYSCALL;
        ex->detail = (uint64_t)(uint32_t)r.sys_nr;
        ex->raw_reason = r.sys_arch;
        snprintf(ex->what, sizeof ex->what, "%s system call %d%s",
                 r.sys_arch == AUDIT_ARCH_X86_64 ? ((uint32_t)r.sys_nr & 0x40000000u ? "x32" : "x86-64")
                 : r.sys_arch == AUDIT_ARCH_I386 ? "32-bit (i386)" : "foreign-ABI",
                 (int)((uint32_t)r.sys_nr & ~0x40000000u),
                 r.regs.rip >= 0xffffffffff600000ull ? " through the vsyscall page" : "");
        return GLINT_OK;
    case SIGSEGV:
        if (r.trapno == 13 && !*mode) {
            uint16_t port;
            uint8_t size, is_out;
            unsigned len = r.err == 0 ? decode_io(hv, r.regs.rip, r.regs.rdx, &port, &size, &is_out) : 0;
            /* Only the ports open to ring 3 on KVM exit; others are #GP there too. */
            if (len && size == 0 && port >= GLINT_PORT_FIRST && port <= GLINT_PORT_LAST) {
                ex->kind = HV_EXIT_OTHER;
                snprintf(ex->what, sizeof ex->what,
                         "repeated string I/O (rep %s) on hypercall port 0x%x at rip 0x%llx",
                         is_out ? "outs" : "ins", port, (unsigned long long)r.regs.rip);
                return GLINT_OK;
            }
            /* Every byte of the access must be in an open port (the TSS
             * bitmap's rule on KVM). */
            if (len && size && port >= GLINT_PORT_FIRST && port + size - 1u <= GLINT_PORT_LAST) {
                ex->kind = HV_EXIT_IO;
                ex->port = port;
                ex->size = size;
                ex->is_out = is_out;
                ex->value = is_out ? (uint32_t)(r.regs.rax & (size == 1 ? 0xff : size == 2 ? 0xffff
                                                                                      : 0xffffffffu)) : 0;
                hv->cpu.rip += len; /* resume after it */
                hv->pending |= PROC_SET_RIP;
                return GLINT_OK;
            }
        }
        ex->kind = HV_EXIT_EXCEPTION;
        ex->vector = r.trapno == 14 ? 14 : r.trapno == 12 ? 12 : 13;
        ex->error_code = r.err;
        ex->addr = r.trapno == 14 ? r.addr : 0;
        break;
    case SIGILL:
        ex->kind = HV_EXIT_EXCEPTION;
        ex->vector = 6;
        break;
    case SIGFPE:
        ex->kind = HV_EXIT_EXCEPTION;
        ex->vector = r.trapno == 16 || r.trapno == 19 ? (uint32_t)r.trapno : 0;
        break;
    case SIGTRAP:
        ex->kind = HV_EXIT_EXCEPTION;
        ex->vector = r.trapno == 1 ? 1 : 3;
        break;
    case SIGBUS:
        ex->kind = HV_EXIT_EXCEPTION;
        ex->vector = r.trapno == 17 ? 17 : r.trapno == 14 ? 14 : (uint32_t)(r.trapno & 31);
        ex->error_code = r.err;
        ex->addr = r.addr;
        break;
    default:
        ex->kind = HV_EXIT_OTHER;
        ex->raw_reason = (uint32_t)r.signo;
        snprintf(ex->what, sizeof ex->what, "unexpected signal %d in the sandbox process", r.signo);
        return GLINT_OK;
    }
    if (*mode) {
        snprintf(ex->what, sizeof ex->what, "%s", mode + 1);
    } else if (ex->vector == 13 || ex->vector == 6) {
        const char *n = insn_name(hv, r.regs.rip);
        if (n)
            snprintf(ex->what, sizeof ex->what, "%s", n);
    }
    return GLINT_OK;
}

/* ------------------------------------------------------------------------- */
/* CPU state. */

static glint_status process_save_cpu(struct hv *hv, void *state, glint_error *err)
{
    struct ucpu *u = state;
    if (hv->dead || !hv->in_guest_state)
        return glint_fail(err, GLINT_E_STATE, "process backend: no guest state to save");
    if (hv->park_at_done_due) {
        /* The stub parks after the call it just ended: read its record
         * first, or a later restore would wait for one that never comes. */
        process_quiesce(hv, err);
        if (hv->dead)
            return glint_fail(err, GLINT_E_HYPERVISOR, "process backend: the sandbox process did not park");
    }
    *u = hv->cpu;
    if (!(hv->pending & PROC_SET_FP)) {
        /* Ask the child for its FPU/SSE/AVX state. */
        glint_status s = settle(hv, err);
        if (s != GLINT_OK)
            return s;
        struct proc_ctl *c = hv->ctl;
        c->cmd = PROC_CMD_DUMP;
        c->cmd_flags = 0;
        post_command(hv, 0);
        if (wait_report(hv, now_ns() + 2000000000ull)) {
            kill_child(hv);
            return glint_fail(err, GLINT_E_HYPERVISOR, "process backend: the sandbox process died");
        }
        hv->seen = __atomic_load_n(&c->to_host, __ATOMIC_SEQ_CST);
        uint32_t n = c->xsave_size, kind = c->rep_kind;
        uint8_t x[832];
        memset(x, 0, sizeof x);
        memcpy(x, c->xsave, n < sizeof x ? (n < 512 ? 512 : n) : sizeof x);
        if (kind != PROC_REP_DUMP || n < 512)
            return glint_fail(err, GLINT_E_BAD_GUEST_DATA, "process backend: bad state dump (%u bytes)", n);
        memcpy(u->fx, x, 464);
        memset(u->fx + 464, 0, 48);
        uint64_t bv = 3;
        if (n >= 832)
            memcpy(&bv, x + 512, 8);
        u->xstate_bv = bv & 7;
        if (u->xstate_bv & 4)
            memcpy(u->ymmh, x + 576, 256);
        else
            memset(u->ymmh, 0, 256);
    }
    return GLINT_OK;
}

static int process_state_check(const void *state, char *why, size_t why_size)
{
    return ucpu_check(state, why, why_size);
}

static glint_status process_restore_cpu(struct hv *hv, const void *state, int full, glint_error *err)
{
    const struct ucpu *u = state;
    char why[200];
    if (!process_state_check(u, why, sizeof why))
        return glint_fail(err, GLINT_E_INCOMPATIBLE, "restore: %s", why);
    if (u->fs_base != GLINT_BOOT_INFO_GVA || u->gs_base != 0)
        return glint_fail(err, GLINT_E_INCOMPATIBLE,
                          "restore: the state has FS base 0x%llx, GS base 0x%llx; the process backend "
                          "restores only the boot values (0x10000, 0)", (unsigned long long)u->fs_base,
                          (unsigned long long)u->gs_base);
    if (hv->dead || (full && hv->in_guest_state)) {
        /* A fresh process: nothing of the old one (signals in flight, a
         * guest that forged reports) survives a full restore. */
        kill_child(hv);
        glint_status s = spawn_child(hv, 1, NULL, err);
        if (s != GLINT_OK)
            return s;
    }
    hv->cpu = *u;
    hv->pending = PROC_SET_GREGS | PROC_SET_FP | PROC_SET_FSGS;
    hv->in_guest_state = 1;
    return GLINT_OK;
}

static void process_cpu_export(const void *state, struct ucpu *u)
{
    *u = *(const struct ucpu *)state;
}

/* Does this host's CPU and kernel give a process AVX state (XCR0 has SSE
 * and AVX)?  The guest runs in a process, so it has what the host has. */
static int host_has_avx(void)
{
    if (!__builtin_cpu_supports("avx"))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;
}

static glint_status process_cpu_import(const struct ucpu *u, const struct glint_layout *lay,
                                       void *state, glint_error *err)
{
    (void)lay;
    if ((u->xstate_bv & 4) && !host_has_avx())
        return glint_fail(err, GLINT_E_INCOMPATIBLE,
                          "the state holds AVX register state, which this host's CPU does not offer");
    *(struct ucpu *)state = *u;
    return GLINT_OK;
}

static uint64_t process_state_rip(const void *state)
{
    return ((const struct ucpu *)state)->rip;
}

static void process_state_set_rip(void *state, uint64_t rip)
{
    ((struct ucpu *)state)->rip = rip;
}

static glint_status scan_range(struct hv *hv, uint64_t start, uint64_t end, uint64_t flags,
                               struct glint_page_region *vec, uint64_t *bitmap, glint_error *err);

/*
 * A child's /proc/PID/pagemap, or -1.  The child is the host's and not
 * reaped, so its PID is its own, unless the application reaped it behind
 * glint's back (a waitpid(-1)): a pidfd that still reaches the process
 * after the open says the file is that process's.
 */
static int open_pagemap_here(pid_t pid, int pidfd)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
    int fd = pid > 0 && pidfd >= 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/*
 * Opens the child's pagemap, which dirty_pages reads: when first needed,
 * not for every sandbox (a sandbox that is never restored never reads it;
 * the open costs ~16 us here).  The keeper thread opens it: the caller may
 * be under glint_seccomp_restrict_thread, which forbids open.  0, or -1
 * (no tracking).
 */
static int open_pagemap(struct hv *hv)
{
    if (hv->pagemap_fd >= 0)
        return 0;
    struct start_req r = {-1, -1, SPARE_NONE, 0, hv->pid, hv->pidfd, -1};
    if (hv->pid > 0 && keeper_request(&r) == 0)
        hv->pagemap_fd = r.fd;
    return hv->pagemap_fd >= 0 ? 0 : -1;
}

static glint_status process_dirty_pages(struct hv *hv, uint64_t *bitmap, glint_error *err)
{
    uint64_t pages = hv->mem_size / GLINT_PAGE_SIZE;
    glint_status rs = settle(hv, err); /* its tracking is on once it is ready */
    if (rs != GLINT_OK)
        return rs;
    if (hv->tracking && !hv->dead && open_pagemap(hv) < 0)
        hv->tracking = 0;
    if (!hv->tracking || hv->dead) {
        /* No tracking: every writable page may have changed. */
        for (uint32_t i = 0; i < hv->nmaps; i++) {
            if (!(hv->maps[i].prot & PROT_WRITE))
                continue;
            for (uint64_t p = hv->maps[i].gva / GLINT_PAGE_SIZE;
                 p < (hv->maps[i].gva + hv->maps[i].size) / GLINT_PAGE_SIZE && p < pages; p++)
                bitmap[p / 64] |= 1ull << (p % 64);
        }
        return GLINT_OK;
    }
    /* Only write-protected regions may be scanned (the rest cannot change).
     * One read-only scan per region finds the written pages; hot pages are
     * reported as they are, and a page written in two scans running joins
     * them while there is room (it then stays writable).  Only the others
     * are protected again, by a second scan of just their runs:
     * re-protecting costs a TLB flush on the child's CPU, and each scan a
     * system call. */
    struct glint_page_region vec[64];
    uint64_t words = (pages + 63) / 64, *seen = hv->scan;
    memset(seen, 0, words * sizeof *seen);
    for (uint32_t m = 0; m < hv->nmaps; m++) {
        if (!hv->maps[m].uffd_wp)
            continue;
        uint64_t start = hv->maps[m].gva, end = hv->maps[m].gva + hv->maps[m].size;
        /* Regions next to each other in the list, with only unmapped
         * guest pages between them (a stack's guard page), are one scan:
         * the hole has no mapping in the child, unless the stub's own
         * pages lie in it. */
        while (m + 1 < hv->nmaps && hv->maps[m + 1].uffd_wp &&
               (end >= PROC_STUB_END || hv->maps[m + 1].gva <= PROC_STUB_BASE)) {
            m++;
            end = hv->maps[m].gva + hv->maps[m].size;
        }
        if (end > hv->mem_size)
            end = hv->mem_size;
        glint_status s = scan_range(hv, start, end, 0, vec, seen, err);
        if (s != GLINT_OK)
            return s;
    }
    if (!glint_hot_fold(&hv->hot, seen, bitmap, words)) /* seen: now the pages to protect again */
        return GLINT_OK;
    for (uint64_t p = 0; p < pages;) {
        if (!seen[p / 64]) {
            p = (p / 64 + 1) * 64;
            continue;
        }
        if (!(seen[p / 64] >> (p % 64) & 1)) {
            p++;
            continue;
        }
        uint64_t q = p;
        while (q < pages && (seen[q / 64] >> (q % 64) & 1))
            q++;
        glint_status s = scan_range(hv, p * GLINT_PAGE_SIZE, q * GLINT_PAGE_SIZE,
                                    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, vec, NULL, err);
        if (s != GLINT_OK)
            return s;
        p = q;
    }
    return GLINT_OK;
}

static glint_status scan_range(struct hv *hv, uint64_t start, uint64_t end, uint64_t flags,
                               struct glint_page_region *vec, uint64_t *bitmap, glint_error *err)
{
    uint64_t pages = hv->mem_size / GLINT_PAGE_SIZE;
    while (start < end) {
        struct glint_pm_scan_arg a = {
            .size = sizeof a, .flags = flags,
            .start = start, .end = end, .vec = (uint64_t)(uintptr_t)vec, .vec_len = 64,
            .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
        };
        long n = ioctl(hv->pagemap_fd, GLINT_PAGEMAP_SCAN, &a);
        if (n < 0)
            return glint_fail(err, GLINT_E_HYPERVISOR, "process backend: PAGEMAP_SCAN: %s",
                              strerror(errno));
        for (long i = 0; bitmap && i < n; i++)
            for (uint64_t p = vec[i].start / GLINT_PAGE_SIZE; p < vec[i].end / GLINT_PAGE_SIZE && p < pages; p++)
                bitmap[p / 64] |= 1ull << (p % 64);
        if (a.walk_end <= start)
            break;
        start = a.walk_end;
    }
    return GLINT_OK;
}

static int process_debug_cpu_matches(struct hv *hv, const void *state, char *why, size_t why_size)
{
    struct ucpu now;
    if (process_save_cpu(hv, &now, NULL) != GLINT_OK) {
        snprintf(why, why_size, "cannot read the guest state");
        return 0;
    }
    const struct ucpu *want = state;
    if (memcmp(&now.r8, &want->r8, offsetof(struct ucpu, fx) - offsetof(struct ucpu, r8)) != 0) {
        snprintf(why, why_size, "general registers differ (rip 0x%llx, expected 0x%llx)",
                 (unsigned long long)now.rip, (unsigned long long)want->rip);
        return 0;
    }
    if (memcmp(now.fx, want->fx, 416) != 0) {
        snprintf(why, why_size, "FPU/SSE state differs");
        return 0;
    }
    if ((now.xstate_bv & 4) != (want->xstate_bv & 4) || memcmp(now.ymmh, want->ymmh, 256) != 0) {
        snprintf(why, why_size, "AVX state differs");
        return 0;
    }
    return 1;
}

/*
 * Parks the child: afterwards it runs no guest instruction until the next
 * command.  The proof is a park record (proc_abi.h, struct proc_ro) equal
 * to the RO word with this park's token, which only the stub's fixed code
 * can have written during this park (the kernel reads it from a page the
 * child cannot write), not the control page, which the guest can write.
 * What the parked child runs next is the stub's fixed resume code, which a
 * restore makes rebuild the whole state from the host's.  So a guest that
 * forged a report and kept running is caught here, before a restore or a
 * snapshot touches its memory; it gets 200 ms to park (the
 * stub, waiting for a command, parks when asked), then its process is
 * killed and the next state load starts a fresh one.  A parked child spins
 * a while (park_spin) before it sleeps, so the command after a restore
 * usually needs no wake-up.
 */
/* Waits for the park record `cur` (up to 200 ms; 1: found, 0: not, the child
 * may be gone).  wake: the child may sleep and must be woken to see the
 * request. */
/* Waits until the stub's park_hint (the to_child of its last park record,
 * set after it has read its park word) is `want`: spinning, then yielding
 * past SPIN_MAX_NS (at once when sharing a CPU with the child: it may be
 * the one waiting for it); 1, or 0 after limit_ns. */
static int park_hint_is(struct hv *hv, uint32_t want, uint64_t limit_ns)
{
    uint64_t start = now_ns();
    for (unsigned i = 0;; i++) {
        if (__atomic_load_n(&hv->ctl->park_hint, __ATOMIC_ACQUIRE) == want)
            return 1;
        if (hv->share) {
            if (now_ns() - start > limit_ns)
                return 0;
            sched_yield();
            continue;
        }
        if ((i & 63) == 63) {
            uint64_t t = now_ns() - start;
            if (t > limit_ns)
                return 0;
            if (t > SPIN_MAX_NS)
                sched_yield();
        }
        __builtin_ia32_pause();
    }
}

static int await_record(struct hv *hv, uint64_t cur, int wake)
{
    uint64_t start = now_ns();
    /* Read the pipe once the stub says it wrote (a hint only: reading it
     * in a loop would fight the child's write for the pipe's lock). */
    if (!hv->share)
        (void)park_hint_is(hv, (uint32_t)cur, SPIN_MAX_NS);
    for (unsigned tries = 0;; tries++) {
        uint64_t rec[64];
        ssize_t n = read(hv->park_fd, rec, sizeof rec);
        if (n > 0) {
            int found = 0;
            for (ssize_t i = 0; i < n / 8; i++)
                found |= rec[i] == cur;
            if (found) {
                /* Older records, if any, past a full read (a shorter one
                 * took all the pipe held; the stub writes none after its
                 * record until the next command). */
                while (n == (ssize_t)sizeof rec && (n = read(hv->park_fd, rec, sizeof rec)) > 0)
                    ;
                return 1;
            }
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return 0; /* the child is gone */
        if (now_ns() - start > GRACE_NS) /* a stub that was asleep may wait for a CPU */
            return 0;
        if (tries < 4 && !hv->share) {
            for (int i = 0; i < 32; i++)
                __builtin_ia32_pause();
        } else {
            /* A wake that came just before the child slept was lost: again. */
            if (wake)
                syscall(SYS_futex, &hv->ro->to_child, FUTEX_WAKE, 1, NULL, NULL, 0);
            struct pollfd p = {.fd = hv->park_fd, .events = POLLIN};
            (void)poll(&p, 1, 1);
        }
    }
}

/*
 * A command posted with a park token (PROC_PARK_AT_DONE) must not reach a
 * parked stub before it has read the word it parked at: it would take the
 * new word for the one it parked at and wait for the next.  The stub sets
 * park_hint once it has (after its record), so wait for that: at once for
 * a stub that was not preempted in between.  1: read; 0: not within 200 ms.
 */
static int parked_has_read(struct hv *hv)
{
    return park_hint_is(hv, (uint32_t)hv->parked, GRACE_NS);
}

static glint_status process_quiesce(struct hv *hv, glint_error *err)
{
    if (hv->setup_pending && settle(hv, err) != GLINT_OK)
        return GLINT_OK; /* gone: a full restore starts afresh */
    if (hv->dead)
        return GLINT_OK;
    uint64_t word = __atomic_load_n(&hv->ro->word, __ATOMIC_RELAXED);
    if (hv->parked && hv->parked == word)
        return GLINT_OK; /* no command since the last proof */
    if (hv->park_at_done_due) {
        /* The call ended through the gate with PROC_PARK_AT_DONE: the stub
         * parked after its report, unasked. */
        hv->park_at_done_due = 0;
        if (await_record(hv, word, 0)) {
            hv->parked = word;
            return GLINT_OK;
        }
        kill_child(hv); /* not parked: a guest running on its own, or gone; start afresh */
        return GLINT_OK;
    }
    hv->park_token = (hv->park_token + 1) & ~PROC_PARK_NOW;
    uint64_t cur = (uint64_t)hv->ro->to_child | (uint64_t)(PROC_PARK_NOW | hv->park_token) << 32;
    __atomic_store_n(&hv->ro->word, cur, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&hv->ctl->child_waiting, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, &hv->ro->to_child, FUTEX_WAKE, 1, NULL, NULL, 0); /* it looks at the token */
    if (await_record(hv, cur, 1)) {
        hv->parked = cur;
        return GLINT_OK;
    }
    kill_child(hv); /* not parked: a guest running on its own, or gone; start afresh */
    return GLINT_OK;
}

static void process_restore_hint(struct hv *hv, int on)
{
    hv->park_at_done = on;
}

static int process_debug_pid(struct hv *hv)
{
    glint_error err;
    if (!hv->go_held_ms) /* glint_debug_process_hold_setup: a child not yet told to start */
        (void)settle(hv, &err); /* what tests look at in /proc: the child as set up */
    return hv->dead ? -1 : (int)hv->pid;
}

const struct hv_ops hv_process_ops = {
    .name = "process",
    .id = GLINT_BACKEND_PROCESS,
    .shared_memory = 1,
    .uses_cpu_tables = 0,
    .shares_snapshot_pages = 1,
    .exit_gate = PROC_GATE_FAST,
    .cpu_state_format = UCPU_FORMAT,
    .cpu_state_size = sizeof(struct ucpu),
    .probe = process_probe,
    .create = process_create,
    .destroy = process_destroy,
    .run = process_run,
    .interrupt = process_interrupt,
    .set_immediate_exit = set_immediate_exit,
    .guest_rip = process_guest_rip,
    .kick = process_kick,
    .sample_regs = process_sample_regs,
    .save_cpu = process_save_cpu,
    .restore_cpu = process_restore_cpu,
    .cpu_state_rip = process_state_rip,
    .cpu_state_set_rip = process_state_set_rip,
    .cpu_state_check = process_state_check,
    .cpu_export = process_cpu_export,
    .cpu_import = process_cpu_import,
    .dirty_pages = process_dirty_pages,
    .debug_cpu_matches = process_debug_cpu_matches,
    .describe = process_describe,
    .debug_pid = process_debug_pid,
    .quiesce = process_quiesce,
    .restore_hint = process_restore_hint,
    .prepare = process_prepare,
    .unshare = process_unshare,
    .prepare_drop = process_prepare_drop,
};
_Static_assert(PROC_BOOT_FS == GLINT_BOOT_INFO_GVA, "proc_abi.h: boot info");
