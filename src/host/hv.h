/*
 * hv.h - the hypervisor backend interface (internal).
 *
 * kvm.c is the only implementation and the only file that talks to
 * /dev/kvm.  A backend runs one vCPU over one guest memory slot that the
 * caller owns, and reports each exit in hypervisor-neutral terms.
 */
#ifndef GLINT_HV_H
#define GLINT_HV_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_x86_64.h"
#include "glint/glint.h"

struct hv;

enum hv_exit_kind {
    HV_EXIT_IO,       /* port I/O: port, size, value, is_out */
    HV_EXIT_MMIO,     /* access to a GPA with no memory: addr, is_write */
    HV_EXIT_SHUTDOWN, /* triple fault */
    HV_EXIT_HLT,
    HV_EXIT_INTR,     /* interrupted by a signal or immediate_exit */
    HV_EXIT_OTHER,    /* anything else: raw_reason, detail */
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
};

/* Is the hypervisor usable?  Opens it once per process. */
glint_status hv_probe(glint_error *err);

/* Creates a VM with `mem` (mem_size bytes, page aligned) at GPA 0 and one
 * vCPU, in state *st if st is not NULL (otherwise set it with
 * hv_restore_cpu(full)).  KVM tracks the pages the guest dirties (see
 * hv_dirty_pages).  `mem` must outlive the VM. */
glint_status hv_create(struct hv **out, void *mem, size_t mem_size, const struct x86_state *st,
                       glint_error *err);

/* Complete vCPU state as opaque bytes: general, segment, control and debug
 * registers, FPU/SSE/AVX (XSAVE) state, XCR0, the MSRs a guest could
 * change, and pending events.  hv_cpu_state_size() bytes; the layout is
 * named by hv_cpu_state_format() (part of the snapshot file format). */
size_t hv_cpu_state_size(void);
const char *hv_cpu_state_format(void);
glint_status hv_save_cpu(struct hv *hv, void *state, glint_error *err);
/*
 * full: every piece, one ioctl each.  Otherwise only what ring-3 code can
 * change: general registers, RIP, RFLAGS, segments (through the next
 * KVM_RUN: no system call) and the XSAVE state (one ioctl).  Control,
 * debug and model-specific registers, XCR0 and descriptor tables are
 * privileged: a guest that tried to change them faulted and was poisoned,
 * and poisoned sandboxes get a full restore.
 */
glint_status hv_restore_cpu(struct hv *hv, const void *state, int full, glint_error *err);
uint64_t hv_cpu_state_rip(const void *state);
void hv_cpu_state_set_rip(void *state, uint64_t rip);
/* Validates a state read from a file; 0 with a reason if it is unusable. */
int hv_cpu_state_check(const void *state, char *why, size_t why_size);

/* Sets a bit in `bitmap` (one per 4 KiB page) for every page the guest
 * wrote since the last call, and re-arms tracking for those pages. */
glint_status hv_dirty_pages(struct hv *hv, uint64_t *bitmap, glint_error *err);

void hv_destroy(struct hv *hv);

/* Runs the vCPU until the next exit.  GLINT_OK with *ex filled, or
 * GLINT_E_HYPERVISOR with *err filled.  Makes exactly one system call
 * (a few more after a guest loaded FS or GS: see null_thread_selectors). */
glint_status hv_run(struct hv *hv, struct hv_exit *ex, glint_error *err);

/* Makes the next or current hv_run return HV_EXIT_INTR (async-safe: a store). */
void hv_set_immediate_exit(struct hv *hv, int on);

/* State at a fault, for reports.  Slow path (two system calls). */
glint_status hv_fault_state(struct hv *hv, uint64_t *rip, uint64_t *rsp, uint64_t *cr2,
                            glint_error *err);

#endif

/*
 * Test hook: compares the state the vCPU will start its next run with
 * (pending sync-regs writes included) with a saved state: every register
 * group that hv_save_cpu captures.  0 with the first difference named in
 * `why` if they differ.
 */
int hv_debug_cpu_matches(struct hv *hv, const void *state, char *why, size_t why_size);
