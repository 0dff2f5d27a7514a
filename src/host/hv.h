/*
 * hv.h - the backend interface (internal).
 *
 * A backend runs one guest CPU context over one slice of guest memory that
 * the caller owns, and reports each exit in neutral terms.  Two backends
 * implement it, chosen at run time through an operations table:
 *
 *   kvm.c      a KVM micro-VM (hardware isolation); the only file that
 *              talks to /dev/kvm
 *   process.c  a seccomp-jailed child process that holds only the guest's
 *              memory and the stub (src/stub); the only file that knows
 *              about it
 *
 * Nothing above this interface knows which backend runs.
 */
#ifndef GLINT_HV_H
#define GLINT_HV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu_x86_64.h"
#include "glint/glint.h"
#include "ucpu.h"

struct hv;

enum hv_exit_kind {
    HV_EXIT_IO,        /* hypercall port I/O: port, size, value, is_out */
    HV_EXIT_MMIO,      /* access to a GPA with no memory: addr, is_write (KVM) */
    HV_EXIT_EXCEPTION, /* CPU exception: vector, rip, rsp, addr (fault address), error_code */
    HV_EXIT_SYSCALL,   /* the guest tried a system call: detail = number, rip, what */
    HV_EXIT_SHUTDOWN,  /* triple fault (KVM) */
    HV_EXIT_HLT,
    HV_EXIT_INTR,      /* interrupted (signal, immediate exit) */
    HV_EXIT_DIED,      /* the guest's process ended: detail = signal, what */
    HV_EXIT_OTHER,     /* anything else: raw_reason, detail */
};

struct hv_exit {
    enum hv_exit_kind kind;
    uint16_t port;
    uint8_t size;
    uint8_t is_out;
    uint32_t value;
    uint64_t addr;
    uint32_t raw_reason;
    uint64_t detail;
    uint32_t vector;
    uint64_t rip, rsp, error_code;
    char what[128]; /* backend's words for what happened, when it has any */
};

/* What a backend needs to create a guest context. */
struct hv_prep;

struct hv_setup {
    uint8_t *mem;                    /* host mapping of guest memory (MAP_SHARED of memfd if
                                        the backend has shared_memory) */
    size_t mem_size;
    int memfd;                       /* the memfd behind mem (-1: none) */
    const struct glint_layout *lay;
    /* Initial state (page tables, tables and stubs already written to mem
     * by x86_setup); NULL: the caller sets it with restore_cpu(full). */
    const struct x86_state *st;
    /* What prepare() started for this memory, or NULL; create owns it
     * (also when it fails). */
    struct hv_prep *prep;
    /* A backend with shares_snapshot_pages: a sealed memfd holding this
     * memory's snapshot at share_off + GVA (-1: none).  The guest's
     * read-only image pages (glint_page_shareable) are mapped from it and
     * were not copied into memfd; the caller keeps it open. */
    int share_fd;
    uint64_t share_off;
};

struct hv_ops {
    const char *name;           /* "kvm", "process" */
    glint_backend id;
    /* The host's mapping of guest memory must be the memory the guest
     * sees: MAP_SHARED of a memfd, never a private copy-on-write mapping. */
    int shared_memory;
    /* The guest runs on glint's x86 tables in its memory (PML4, PDPT, PD,
     * GDT, IDT, TSS, exception stubs and stack: the pages below
     * GLINT_BOOT_INFO_GVA).  0: the backend never reads them (it takes
     * the guest's pages from the page tables at lay->pt_base), so a
     * sandbox made from a snapshot need not get a copy of them. */
    int uses_cpu_tables;
    /* A sandbox made from a snapshot maps the guest's read-only image
     * pages (code, read-only data) from the snapshot's own sealed memfd
     * instead of a copy (hv_setup.share_fd), in the guest's side and in
     * the host's mapping; hv_ops.unshare ends it. */
    int shares_snapshot_pages;
    /* boot_info.exit_gate for guests on this backend (glint/abi.h): the
     * GVA of an exit without a fault, or 0 (exits are OUT). */
    uint64_t exit_gate;
    const char *cpu_state_format; /* part of the snapshot file format */
    size_t cpu_state_size;

    /* Usable here?  Cached; GLINT_E_NO_KVM with a reason otherwise. */
    glint_status (*probe)(glint_error *err);
    glint_status (*create)(struct hv **out, const struct hv_setup *setup, glint_error *err);
    void (*destroy)(struct hv *hv);
    /* Runs the guest until its next exit. */
    glint_status (*run)(struct hv *hv, struct hv_exit *ex, glint_error *err);
    /* Stops the current run of `thread` (called under the sandbox's run
     * lock, once per run).  The next or current run returns HV_EXIT_INTR. */
    void (*interrupt)(struct hv *hv, pthread_t thread);
    /* Makes the next run return HV_EXIT_INTR at once (on) or not (off). */
    void (*set_immediate_exit)(struct hv *hv, int on);
    /* The guest's RIP after an interrupted run, for reports (0 unknown). */
    uint64_t (*guest_rip)(struct hv *hv);

    /* CPU state: cpu_state_size opaque bytes in cpu_state_format. */
    glint_status (*save_cpu)(struct hv *hv, void *state, glint_error *err);
    /* full: everything, also what only a failed guest could have changed. */
    glint_status (*restore_cpu)(struct hv *hv, const void *state, int full, glint_error *err);
    uint64_t (*cpu_state_rip)(const void *state);
    void (*cpu_state_set_rip)(void *state, uint64_t rip);
    /* Validates a state read from a file; 0 with a reason if unusable. */
    int (*cpu_state_check)(const void *state, char *why, size_t why_size);
    /* Snapshot files hold the neutral form (ucpu.h).  export: what ring-3
     * code sees of `state`; import: a complete state for this backend, the
     * rest being glint's own set-up for layout `lay`.  Import fails where
     * this host cannot hold the state (AVX state on a host without AVX). */
    void (*cpu_export)(const void *state, struct ucpu *u);
    glint_status (*cpu_import)(const struct ucpu *u, const struct glint_layout *lay, void *state,
                               glint_error *err);
    /* Sets a bit per 4 KiB page the guest wrote since the last call, and
     * re-arms tracking. */
    glint_status (*dirty_pages)(struct hv *hv, uint64_t *bitmap, glint_error *err);
    /* Test hook: the state the next run starts from equals `state`. */
    int (*debug_cpu_matches)(struct hv *hv, const void *state, char *why, size_t why_size);
    /* One line on how this backend works here (dirty tracking, ...). */
    const char *(*describe)(void);
    /* Makes sure no guest code runs until the next run (NULL: nothing to
     * do, the guest cannot run outside run()).  Called before a restore or
     * snapshot touches guest memory.  GLINT_OK, or the guest is gone. */
    glint_status (*quiesce)(struct hv *hv, glint_error *err);
    /* Test hook: the process holding the guest (0 for KVM: the caller's). */
    int (*debug_pid)(struct hv *hv);
    /* Profiler (profile.c).  kick: make the current run of `thread` return
     * HV_EXIT_INTR soon without stopping the call (under the run lock; one
     * kick at a time, cleared with set_immediate_exit(0) by the vCPU thread
     * when it has taken the sample).  sample_regs: RIP, RSP and RBP of the
     * guest after such an exit; 0 if unknown. */
    void (*kick)(struct hv *hv, pthread_t thread);
    /* Optional: a restore will follow the coming call (on: auto-restore,
     * or a pooled sandbox), so the backend may prepare for it while the
     * guest finishes. */
    void (*restore_hint)(struct hv *hv, int on);
    /* Optional: called as soon as a new sandbox's guest memory exists
     * (memfd), before the host loads it, so that a backend whose guest
     * runs elsewhere can start that side meanwhile.  NULL: nothing
     * started (create does it all).  prepare_drop: what create never
     * took (a failure in between). */
    struct hv_prep *(*prepare)(int memfd, int share_fd);
    void (*prepare_drop)(struct hv_prep *p);
    int (*sample_regs)(struct hv *hv, uint64_t *rip, uint64_t *rsp, uint64_t *rbp);
    /* Optional (debugger, gdbstub.c): the hypervisor's own guest-debug
     * facility.  flags 0 turns it off; HV_DEBUG_BP makes every int3 stop
     * in the host, HV_DEBUG_STEP (with BP) every instruction.  Either
     * comes back from run() as an HV_EXIT_EXCEPTION with vector 3 (RIP
     * after the int3, as the guest's CPU would have left it) or 1 (RIP of
     * the next instruction), without the guest's own exception path and
     * without TF in its RFLAGS.  Returns 1 if the backend did it, 0 if the
     * caller must use the trap flag and the guest's own #BP/#DB (NULL, or
     * not available on this host: see describe), -1 on an error. */
    int (*guest_debug)(struct hv *hv, unsigned flags, glint_error *err);
    /* With shares_snapshot_pages: from now on the guest's side maps only
     * its own memfd (which the caller has filled, and mapped in its place
     * on the host's side).  The side already running still maps the
     * snapshot's pages until the next full restore_cpu replaces it. */
    void (*unshare)(struct hv *hv);
};

#define HV_DEBUG_BP   1u
#define HV_DEBUG_STEP 2u

extern const struct hv_ops hv_kvm_ops;
extern const struct hv_ops hv_process_ops;

/* Test hooks of the process backend (process.c), harmless where it never
 * ran.  settle: waits until its keeper thread is idle (killed children
 * reaped, spares at their target), so that counts of descriptors and
 * child processes are steady.  spares: sets how many spare processes are
 * kept ahead (negative: unchanged), settles, and returns the previous
 * target.  zygote_pid: the zygote's pid, or -1 if there is none. */
void glint_debug_process_settle(void);
int glint_debug_process_spares(int target);
/* New sandbox processes are told to start their set-up only `ms`
 * milliseconds into their first call (0: at once, as normally), so that
 * tests can land on that window; glint_debug_guest_pid then names such a
 * process without waiting for it. */
void glint_debug_process_hold_setup(unsigned ms);
/* How the calling thread hands commands to its sandbox processes
 * (process.c: share_cpu): 0 decides as normally (busy or not), 1 always
 * shares its CPU with them, -1 always spins, 2 spins with them kept off
 * its CPU (a trial's binding). */
void glint_debug_process_share(int mode);
int glint_debug_process_zygote_pid(void);

/* Test hooks of the KVM backend (kvm.c): whether the hypervisor's
 * guest-debug facility stops ring-3 guest code here (1; 0 with the reason
 * in why), after a probe VM tried it once per process; and how many
 * debug exits (KVM_EXIT_DEBUG) sandboxes of this process have taken. */
int glint_debug_kvm_guest_debug(char *why, size_t why_size);
unsigned long glint_debug_kvm_debug_exits(void);

/* The table for a backend (not AUTO); NULL if unknown. */
const struct hv_ops *hv_ops_of(glint_backend b);
/* The table whose CPU state format is `fmt`; NULL if none. */
const struct hv_ops *hv_ops_for_format(const char *fmt);
/* Resolves `want` (AUTO: GLINT_BACKEND, KVM, process) to a usable backend. */
glint_status hv_select(int want, const struct hv_ops **out, glint_error *err);

#endif
