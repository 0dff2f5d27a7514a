/*
 * cpu_x86_64.h - x86-64 CPU set-up for a glint guest, independent of the
 * hypervisor: page tables, GDT, IDT, TSS with I/O bitmap, exception stubs,
 * and the register state the vCPU starts in (ring 3, long mode).
 */
#ifndef GLINT_CPU_X86_64_H
#define GLINT_CPU_X86_64_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

struct x86_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g;
};

struct x86_table {
    uint64_t base;
    uint16_t limit;
};

/* Everything a hypervisor backend needs to put the vCPU at the entry point. */
struct x86_state {
    uint64_t cr0, cr3, cr4, efer;
    struct x86_segment cs, ds, es, fs, gs, ss, tr, ldt;
    struct x86_table gdt, idt;
    uint64_t rip, rsp, rflags;
};

#define X86_SEL_KERNEL_CS 0x10u
#define X86_SEL_KERNEL_DS 0x18u
#define X86_SEL_USER_DS   0x2bu
#define X86_SEL_USER_CS   0x33u
#define X86_SEL_TSS       0x40u

#define X86_CR4_OSXSAVE (1ull << 18)

/*
 * Writes the page tables at lay->pt_base into guest memory `mem` (mem_size
 * bytes, zero) for the regions given, with `cpu_tables` also glint's x86
 * tables below GLINT_BOOT_INFO_GVA (x86_write_cpu_tables), and fills *st
 * with the initial state: ring 3 at `entry` with RSP = `stack_top` and FS
 * base = GLINT_BOOT_INFO_GVA.  Regions must be page aligned, inside
 * lay->mem_size, and not overlap; pages not covered are not present.
 */
void x86_setup(uint8_t *mem, const struct glint_layout *lay, const struct glint_region *regions,
               size_t nregions, uint64_t entry, int cpu_tables, struct x86_state *st);

/* glint's x86 tables, the pages below GLINT_BOOT_INFO_GVA: PML4, PDPT, PD,
 * GDT, IDT and exception stubs, TSS + I/O bitmap (the exception stack
 * stays zero).  They depend on the layout only: a backend that does not run
 * on them (hv_ops.uses_cpu_tables 0) gets none, and its snapshots get
 * these. */
void x86_write_cpu_tables(uint8_t *mem, const struct glint_layout *lay);

/* Only the register state of x86_setup: glint's control state (the same
 * for every guest) and RIP = entry, RSP = lay->stack_top. */
void x86_boot_state(const struct glint_layout *lay, uint64_t entry, struct x86_state *st);

/* Name of an exception vector ("page fault", ...); "vector N" if unknown. */
const char *x86_vector_name(unsigned vector);

/* Vectors that push an error code. */
int x86_vector_has_error_code(unsigned vector);

#endif
