/*
 * out_of_bounds: accesses outside guest memory.
 *   WriteHigh()        writes at 0x3ff00000 (inside the 1 GiB map, above memory)
 *   WriteFar()         writes at 0x7f0000000000 (lower half, far above memory)
 *   WriteUpper()       writes at 0xffff800000001000 (upper half, canonical)
 *   ReadNonCanonical() reads at 0x8000000000000000 (non-canonical: #GP)
 */
#include <glint/guest.h>

static void write_at(uint64_t addr)
{
    __asm__ volatile("movq $0x55, (%0)" : : "r"(addr) : "memory");
}

static void WriteHigh(const glint_args *a)
{
    (void)a;
    write_at(0x3ff00000ull);
}
GLINT_FUNCTION(WriteHigh, GLINT_VOID);

static void WriteFar(const glint_args *a)
{
    (void)a;
    write_at(0x7f0000000000ull);
}
GLINT_FUNCTION(WriteFar, GLINT_VOID);

static void WriteUpper(const glint_args *a)
{
    (void)a;
    write_at(0xffff800000001000ull);
}
GLINT_FUNCTION(WriteUpper, GLINT_VOID);

static void ReadNonCanonical(const glint_args *a)
{
    (void)a;
    uint64_t v;
    __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(0x8000000000000000ull) : "memory");
    glint_return_u64(v);
}
GLINT_FUNCTION(ReadNonCanonical, GLINT_U64);
