/*
 * gallery_memory: a hostile guest against its own memory map
 * (tests/test_gallery.c).
 *   WritePml4, WritePd, WritePageTables  rewrite its page tables to map
 *        memory outside the guest: the tables are not reachable (#PF)
 *   WriteIoBitmap, WriteIdt, WriteGdt, WriteExcStack  runtime pages (#PF)
 *   ScribbleAll()   0xCC over every page it can write (data, heap, stack
 *                   below it, input, output), then returns
 *   RecurseBig(u64) recursion with 16 KiB frames (stack overflow)
 *   AllocaHuge()    64 MiB alloca, touched (probes reach the guard page)
 *   JumpGuard() -> u64  moves RSP below the guard page by hand and writes:
 *                   lands in its own heap (the guard page is a bug catcher)
 *   ManySmallNull() -> u64  malloc(64) until NULL (NULL mode), free, retry
 *   ReallocGrow()   realloc doubling until the heap is exhausted
 *   CallocOverflow() calloc whose size overflows
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <stdlib.h>
#include <string.h>

static const struct glint_boot_info *boot(void)
{
    return (const struct glint_boot_info *)(uintptr_t)GLINT_BOOT_INFO_GVA;
}

static void poke(uint64_t addr)
{
    __asm__ volatile("movq $0xffffffffffffffff, (%0)" : : "r"(addr) : "memory");
}

#define POKE(fn, addr_expr)                                                              \
    static void fn(const glint_args *a)                                                  \
    {                                                                                    \
        (void)a;                                                                         \
        poke(addr_expr);                                                                 \
    }                                                                                    \
    GLINT_FUNCTION(fn, GLINT_VOID)

POKE(WritePml4, GLINT_PML4_GPA);
POKE(WritePd, GLINT_PD_GPA + 8);
POKE(WritePageTables, boot()->output_base + boot()->output_size);
POKE(WriteIoBitmap, GLINT_TSS_GPA + 0x70);
POKE(WriteIdt, GLINT_IDT_GPA + 0x80 * 16);
POKE(WriteGdt, GLINT_GDT_GPA + 8);
POKE(WriteExcStack, GLINT_EXC_STACK_TOP - 8);

static volatile uint64_t data_marker = 0x1234;

static void fill(uint64_t from, uint64_t to)
{
    for (volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)from; (uint64_t)(uintptr_t)p < to; p++)
        *p = 0xCC;
}

static void ScribbleAll(const glint_args *a)
{
    (void)a;
    const struct glint_boot_info *b = boot();
    uint64_t rsp;
    __asm__ volatile("movq %%rsp, %0" : "=r"(rsp));
    uint64_t data = (uint64_t)(uintptr_t)&data_marker & ~(GLINT_PAGE_SIZE - 1);
    uint64_t heap = b->heap_base, heap_end = b->heap_base + b->heap_size;
    uint64_t stack_lo = b->stack_top - b->stack_size;
    uint64_t in = b->input_base, in_end = b->input_base + b->input_size;
    uint64_t out = b->output_base, out_end = b->output_base + b->output_size;
    fill(data, heap);       /* .data and .bss: the runtime's own state too */
    fill(heap, heap_end);
    fill(stack_lo, rsp - 4096);
    fill(in, in_end);       /* the call frame */
    fill(out, out_end);     /* where the result goes */
}
GLINT_FUNCTION(ScribbleAll, GLINT_VOID);

static uint64_t recurse_big(uint64_t n)
{
    volatile uint8_t frame[16384];
    frame[0] = (uint8_t)n;
    frame[sizeof frame - 1] = (uint8_t)n;
    if (n == 0)
        return frame[0];
    return recurse_big(n - 1) + frame[sizeof frame - 1];
}

static void RecurseBig(const glint_args *a)
{
    glint_return_u64(recurse_big(glint_arg_u64(a, 0)));
}
GLINT_FUNCTION(RecurseBig, GLINT_U64, GLINT_U64);

static void AllocaHuge(const glint_args *a)
{
    (void)a;
    volatile uint8_t *p = __builtin_alloca(64u << 20);
    p[0] = 1;
    glint_return_u64(p[0]);
}
GLINT_FUNCTION(AllocaHuge, GLINT_U64);

static void JumpGuard(const glint_args *a)
{
    (void)a;
    uint64_t below = boot()->stack_size + 2 * GLINT_PAGE_SIZE, where;
    __asm__ volatile("movq %%rsp, %%r11\n\t"
                     "subq %1, %%rsp\n\t"
                     "movq $0x5a5a, (%%rsp)\n\t"
                     "movq %%rsp, %0\n\t"
                     "movq %%r11, %%rsp"
                     : "=r"(where) : "r"(below) : "r11", "memory");
    glint_return_u64(where);
}
GLINT_FUNCTION(JumpGuard, GLINT_U64);

static void ManySmallNull(const glint_args *a)
{
    (void)a;
    glint_heap_null_on_failure(true);
    void **head = NULL;
    uint64_t n = 0;
    for (void **p; (p = malloc(64)) != NULL; n++) {
        *p = head;
        head = p;
    }
    while (head) {
        void **next = *head;
        free(head);
        head = next;
    }
    void *again = malloc(4096);
    if (!again)
        glint_abort(1, "malloc fails after freeing everything");
    free(again);
    glint_return_u64(n);
}
GLINT_FUNCTION(ManySmallNull, GLINT_U64);

static void ReallocGrow(const glint_args *a)
{
    (void)a;
    char *p = NULL;
    for (size_t n = 4096;; n *= 2) {
        p = realloc(p, n);
        p[n - 1] = 1;
    }
}
GLINT_FUNCTION(ReallocGrow, GLINT_VOID);

static void CallocOverflow(const glint_args *a)
{
    (void)a;
    volatile size_t huge = (size_t)1 << 62;
    char *p = calloc(huge, 8);
    glint_return_u64((uint64_t)(uintptr_t)p);
}
GLINT_FUNCTION(CallocOverflow, GLINT_U64);
