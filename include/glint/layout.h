/*
 * glint/layout.h - the guest memory map.
 *
 * One linear slice of guest memory, identity mapped (GVA == GPA), all in
 * the lower half.  The fixed part is at the bottom; the rest is laid out by
 * the host from the image and the configuration, in this order:
 *
 *   0x000000 +--------------------------------+
 *            | null page            not present |  catches NULL dereferences
 *   0x001000 | PML4, PDPT, PD       supervisor  |  PTs are at the top (below)
 *   0x004000 | GDT                  supervisor  |
 *   0x005000 | IDT                  supervisor  |
 *   0x006000 | TSS + I/O bitmap     supervisor  |
 *   0x007000 | exception stubs      supervisor  |  ring-0 code, read-only + exec
 *   0x008000 | exception stack      supervisor  |  2 pages, RSP0 in the TSS
 *   0x00A000 | (not present)                   |
 *   0x010000 | boot info            user, RO    |  FS base; canary at %fs:0x28
 *   0x011000 | (not present)                   |
 *   0x020000 | guest image          user        |  per PT_LOAD: R, RW or RX (W^X)
 *            |   ... up to the image end       |
 *            | heap                 user RW NX  |  page aligned, zero
 *            | guard page           not present |  stack overflow -> #PF here
 *            | stack                user RW NX  |  grows down from its top
 *            | input buffer         user RW NX  |  host -> guest
 *            | output buffer        user RW NX  |  guest -> host
 *            | page tables (PTs)    supervisor  |  one per 2 MiB of memory
 *   size     +--------------------------------+
 *
 * Nothing is executable but the image's code and the stubs; nothing is both
 * writable and executable.  The host maps guest memory read/write, never
 * executable.
 */
#ifndef GLINT_LAYOUT_H
#define GLINT_LAYOUT_H

#define GLINT_PAGE_SIZE        0x1000ull

#define GLINT_PML4_GPA         0x1000ull
#define GLINT_PDPT_GPA         0x2000ull
#define GLINT_PD_GPA           0x3000ull
#define GLINT_GDT_GPA          0x4000ull
#define GLINT_IDT_GPA          0x5000ull
#define GLINT_TSS_GPA          0x6000ull
#define GLINT_STUBS_GPA        0x7000ull
#define GLINT_EXC_STACK_GPA    0x8000ull /* bottom; top is GLINT_EXC_STACK_TOP */
#define GLINT_EXC_STACK_TOP    0xA000ull
#define GLINT_BOOT_INFO_GVA    0x10000ull /* at 64 KiB: mappable where vm.mmap_min_addr = 65536 */
#define GLINT_IMAGE_BASE       0x20000ull /* lowest address a guest segment may use */

#define GLINT_GUARD_SIZE       GLINT_PAGE_SIZE
/* One PD maps 1 GiB: the upper bound of guest memory. */
#define GLINT_MEMORY_MAX       0x40000000ull

#endif /* GLINT_LAYOUT_H */
