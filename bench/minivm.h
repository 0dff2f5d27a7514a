/*
 * minivm.h - the benchmark's own minimal KVM VMM (independent of libglint).
 *
 * One VM, one memory slot of MINIVM_MEM bytes at GPA 0, one vCPU that starts
 * directly in 64-bit long mode at CPL 3 (or CPL 0) with host-built page
 * tables, a GDT and a 64-bit TSS whose I/O bitmap opens port MINIVM_PORT.
 * The guest's code is copied to MINIVM_CODE_GPA; RIP starts there.  This is
 * the smallest VM glint's design needs: it gives the floors every glint
 * figure is compared with.
 */
#ifndef BENCH_MINIVM_H
#define BENCH_MINIVM_H

#include <stddef.h>
#include <stdint.h>

#define MINIVM_MEM      0x10000u /* 64 KiB of guest memory */
#define MINIVM_CODE_GPA 0x8000u
#define MINIVM_DATA_GPA 0x9000u  /* a data page the host may write (loop counts) */
#define MINIVM_PORT     0x10u    /* the one port open to ring 3 */
#define MINIVM_TRAPS_GPA 0x9100u /* u64: #DB traps taken by the guest's handler */

struct kvm_run;

struct minivm {
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    uint8_t *mem;
};

/* Nanoseconds each phase of minivm_create_timed took. */
struct minivm_phases {
    uint64_t create_vm, guest_memory, set_memory_region, create_vcpu, vcpu_setup;
};

/* Opens /dev/kvm once.  0, or -1 with a reason in why[len]. */
int minivm_init(char *why, size_t len);
/* The open /dev/kvm fd (after minivm_init). */
int minivm_kvm_fd(void);

/* Creates a VM running `code` (len bytes) at CPL `ring` (0 or 3).  Returns 0,
 * or -1 with a one-line reason in why[len].  `ph` may be NULL. */
int minivm_create(struct minivm *vm, int ring, const uint8_t *code, size_t len,
                  struct minivm_phases *ph, char *why, size_t whylen);
/* One KVM_RUN; returns the exit reason, or -1 (errno set). */
int minivm_run(struct minivm *vm);
/* Runs until an OUT to MINIVM_PORT; 0, or -1 with a reason. */
int minivm_run_to_out(struct minivm *vm, char *why, size_t len);
/* Sets or clears RFLAGS.TF (KVM_GET_REGS + KVM_SET_REGS): with it set, the
 * guest's #DB handler counts one trap per instruction.  0 or -1. */
int minivm_set_trap_flag(struct minivm *vm, int on);
void minivm_destroy(struct minivm *vm);

/* For figures that interleave their samples with the exit round trip's
 * (floors.c): a ring-3 VM looping on OUT, run to its first exit (0, or -1
 * with a reason), and one timed KVM_RUN of it in ns (-1 if it did not end
 * in the OUT).  Destroy the VM with minivm_destroy. */
int floors_exit_vm_open(struct minivm *vm, char *why, size_t len);
double floors_exit_once(struct minivm *vm);

/* Guest code for the floors (see minivm.c for the instructions). */
extern const uint8_t minivm_code_outloop[];    /* out; jmp back */
extern const size_t minivm_code_outloop_len;
extern const uint8_t minivm_code_countloop[];  /* rcx=[DATA]; dec rcx; jnz; out; jmp back */
extern const size_t minivm_code_countloop_len;
/* Instructions the guest executes per exit in each program. */
#define MINIVM_OUTLOOP_INSNS 2u
/* countloop: mov + N*(dec,jnz) + out + jmp */
#define MINIVM_COUNTLOOP_INSNS(n) (3u + 2u * (uint64_t)(n))

#endif
