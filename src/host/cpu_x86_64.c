/*
 * cpu_x86_64.c - x86-64 set-up of a glint guest (no hypervisor calls here).
 *
 * The vCPU starts in 64-bit long mode at CPL 3.  Ring 0 exists only for the
 * exception stubs: the IDT's 32 gates point at them, the TSS gives them a
 * stack (RSP0) and opens the hypercall ports to ring 3 through its I/O
 * permission bitmap.  GDT, IDT, TSS, stubs and their stack are
 * supervisor-only pages; the page tables are not mapped at all.
 */
#include <assert.h>
#include <string.h>

#include "cpu_x86_64.h"
#include "glint/abi.h"

extern const uint8_t glint_x86_stubs[];
extern const uint8_t glint_x86_stubs_end[];

#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_U   (1ull << 2)
#define PTE_NX  (1ull << 63)
#define PT_ENTRIES 512u

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* TSS: 104 bytes, then the I/O bitmap for ports 0..255 and its 0xFF end byte. */
#define TSS_RSP0       4u
#define TSS_IOPB       0x66u
#define TSS_SIZE       0x68u
#define IOBITMAP_BYTES 32u
#define TSS_LIMIT      (TSS_SIZE + IOBITMAP_BYTES + 1u - 1u)

#define STUB_STRIDE 16u
#define IDT_VECTORS 32u

static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* A code or data descriptor with the accessed bit preset (the GDT page is
 * writable for the CPU anyway, but nothing needs to write it). */
static uint64_t gdt_entry(unsigned dpl, int code)
{
    uint64_t d = 0;
    d |= 0xffffull;                        /* limit 15:0 (ignored in 64-bit) */
    d |= (uint64_t)(code ? 0xb : 0x3) << 40; /* type: code exec/read/accessed, data rw/accessed */
    d |= 1ull << 44;                       /* S: code/data */
    d |= (uint64_t)dpl << 45;
    d |= 1ull << 47;                       /* present */
    d |= 0xfull << 48;                     /* limit 19:16 */
    if (code)
        d |= 1ull << 53;                   /* L: 64-bit code */
    else
        d |= 1ull << 54;                   /* D/B */
    d |= 1ull << 55;                       /* G */
    return d;
}

static void write_gdt(uint8_t *mem)
{
    uint8_t *gdt = mem + GLINT_GDT_GPA;
    put64(gdt + X86_SEL_KERNEL_CS, gdt_entry(0, 1));
    put64(gdt + X86_SEL_KERNEL_DS, gdt_entry(0, 0));
    put64(gdt + (X86_SEL_USER_DS & ~3u), gdt_entry(3, 0));
    put64(gdt + (X86_SEL_USER_CS & ~3u), gdt_entry(3, 1));
    /* 16-byte 64-bit TSS descriptor, type 0xb (busy). */
    uint64_t base = GLINT_TSS_GPA, lo = 0;
    lo |= TSS_LIMIT & 0xffffu;
    lo |= (base & 0xffffffull) << 16;
    lo |= 0xbull << 40;
    lo |= 1ull << 47;
    lo |= ((base >> 24) & 0xffull) << 56;
    put64(gdt + X86_SEL_TSS, lo);
    put64(gdt + X86_SEL_TSS + 8, base >> 32);
}

static void write_idt_and_stubs(uint8_t *mem)
{
    size_t stubs_len = (size_t)(glint_x86_stubs_end - glint_x86_stubs);
    assert(stubs_len <= GLINT_PAGE_SIZE && stubs_len >= IDT_VECTORS * STUB_STRIDE);
    memcpy(mem + GLINT_STUBS_GPA, glint_x86_stubs, stubs_len);

    for (unsigned v = 0; v < IDT_VECTORS; v++) {
        uint8_t *g = mem + GLINT_IDT_GPA + 16u * v;
        uint64_t off = GLINT_STUBS_GPA + (uint64_t)STUB_STRIDE * v;
        put16(g + 0, (uint16_t)off);
        put16(g + 2, X86_SEL_KERNEL_CS);
        g[4] = 0;    /* IST: none, RSP0 from the TSS */
        g[5] = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
        put16(g + 6, (uint16_t)(off >> 16));
        put32(g + 8, (uint32_t)(off >> 32));
    }
}

static void write_tss(uint8_t *mem)
{
    uint8_t *tss = mem + GLINT_TSS_GPA;
    put64(tss + TSS_RSP0, GLINT_EXC_STACK_TOP);
    put16(tss + TSS_IOPB, TSS_SIZE);
    uint8_t *bitmap = tss + TSS_SIZE;
    memset(bitmap, 0xff, IOBITMAP_BYTES + 1u);
    for (unsigned port = GLINT_PORT_FIRST; port <= GLINT_PORT_LAST; port++)
        bitmap[port / 8] &= (uint8_t)~(1u << (port % 8));
}

static uint64_t leaf_flags(uint32_t flags)
{
    uint64_t pte = PTE_P;
    if (flags & GLINT_MAP_USER)
        pte |= PTE_U;
    if (flags & GLINT_MAP_WRITE)
        pte |= PTE_W;
    if (!(flags & GLINT_MAP_EXEC))
        pte |= PTE_NX;
    return pte;
}

static void map_range(uint8_t *mem, const struct glint_layout *lay, uint64_t gva, uint64_t size,
                      uint32_t flags)
{
    uint64_t pte_flags = leaf_flags(flags);
    for (uint64_t a = gva; a < gva + size; a += GLINT_PAGE_SIZE) {
        uint64_t pt = lay->pt_base + (a >> 21) * GLINT_PAGE_SIZE;
        put64(mem + pt + ((a >> 12) % PT_ENTRIES) * 8, a | pte_flags);
    }
}

/* PML4, PDPT and PD: below GLINT_BOOT_INFO_GVA, with glint's other tables. */
static void write_upper_tables(uint8_t *mem, const struct glint_layout *lay)
{
    const uint64_t upper = PTE_P | PTE_W | PTE_U; /* leaves decide */
    put64(mem + GLINT_PML4_GPA, GLINT_PDPT_GPA | upper);
    put64(mem + GLINT_PDPT_GPA, GLINT_PD_GPA | upper);
    for (uint64_t i = 0; i < lay->pt_count; i++)
        put64(mem + GLINT_PD_GPA + i * 8, (lay->pt_base + i * GLINT_PAGE_SIZE) | upper);
}

/* The page tables at lay->pt_base: every page's permissions. */
static void write_leaf_tables(uint8_t *mem, const struct glint_layout *lay,
                              const struct glint_region *regions, size_t nregions)
{
    /* The runtime's own pages: supervisor only. */
    map_range(mem, lay, GLINT_GDT_GPA, 3 * GLINT_PAGE_SIZE, GLINT_MAP_WRITE); /* GDT, IDT, TSS */
    map_range(mem, lay, GLINT_STUBS_GPA, GLINT_PAGE_SIZE, GLINT_MAP_EXEC);
    map_range(mem, lay, GLINT_EXC_STACK_GPA, GLINT_EXC_STACK_TOP - GLINT_EXC_STACK_GPA,
              GLINT_MAP_WRITE);
    map_range(mem, lay, GLINT_BOOT_INFO_GVA, GLINT_PAGE_SIZE, GLINT_MAP_USER);
    for (size_t i = 0; i < nregions; i++)
        map_range(mem, lay, regions[i].gva, regions[i].size, regions[i].flags);
}

static struct x86_segment seg(uint16_t selector, unsigned dpl, int code)
{
    struct x86_segment s = {
        .base = 0, .limit = 0xffffffffu, .selector = selector,
        .type = code ? 0xb : 0x3, .present = 1, .dpl = (uint8_t)dpl,
        .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
    };
    return s;
}

void x86_write_cpu_tables(uint8_t *mem, const struct glint_layout *lay)
{
    write_gdt(mem);
    write_idt_and_stubs(mem);
    write_tss(mem);
    write_upper_tables(mem, lay);
}

void x86_setup(uint8_t *mem, const struct glint_layout *lay, const struct glint_region *regions,
               size_t nregions, uint64_t entry, int cpu_tables, struct x86_state *st)
{
    if (cpu_tables)
        x86_write_cpu_tables(mem, lay);
    write_leaf_tables(mem, lay, regions, nregions);
    x86_boot_state(lay, entry, st);
}

void x86_boot_state(const struct glint_layout *lay, uint64_t entry, struct x86_state *st)
{
    memset(st, 0, sizeof *st);
    st->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
    st->cr3 = GLINT_PML4_GPA;
    st->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    st->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    st->cs = seg(X86_SEL_USER_CS, 3, 1);
    st->ds = st->es = st->ss = st->gs = seg(X86_SEL_USER_DS, 3, 0);
    st->fs = seg(X86_SEL_USER_DS, 3, 0);
    st->fs.base = GLINT_BOOT_INFO_GVA;
    st->tr = (struct x86_segment){
        .base = GLINT_TSS_GPA, .limit = TSS_LIMIT, .selector = X86_SEL_TSS,
        .type = 0xb, .present = 1,
    };
    st->ldt = (struct x86_segment){.type = 0x2, .present = 0};
    st->gdt = (struct x86_table){GLINT_GDT_GPA, X86_SEL_TSS + 16 - 1};
    st->idt = (struct x86_table){GLINT_IDT_GPA, IDT_VECTORS * 16 - 1};
    st->rip = entry;
    st->rsp = lay->stack_top;
    st->rflags = 0x2;
}

const char *x86_vector_name(unsigned vector)
{
    static const char *const names[32] = {
        [0] = "divide error (#DE)", [1] = "debug exception (#DB)", [2] = "NMI",
        [3] = "breakpoint (#BP)", [4] = "overflow (#OF)", [5] = "bound range exceeded (#BR)",
        [6] = "invalid opcode (#UD)", [7] = "device not available (#NM)",
        [8] = "double fault (#DF)", [10] = "invalid TSS (#TS)",
        [11] = "segment not present (#NP)", [12] = "stack-segment fault (#SS)",
        [13] = "general protection fault (#GP)", [14] = "page fault (#PF)",
        [16] = "x87 floating-point exception (#MF)", [17] = "alignment check (#AC)",
        [18] = "machine check (#MC)", [19] = "SIMD floating-point exception (#XM)",
        [20] = "virtualization exception (#VE)", [21] = "control protection exception (#CP)",
    };
    if (vector < 32 && names[vector])
        return names[vector];
    return "reserved exception vector";
}

int x86_vector_has_error_code(unsigned vector)
{
    switch (vector) {
    case 8: case 10: case 11: case 12: case 13: case 14: case 17: case 21: case 29: case 30:
        return 1;
    default:
        return 0;
    }
}
