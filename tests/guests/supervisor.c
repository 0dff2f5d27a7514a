/*
 * supervisor: ring-3 access to the runtime's supervisor-only pages.
 *   ReadIdt()       reads the IDT at GLINT_IDT_GPA        -> #PF at 0x5000
 *   ReadPageTable() reads the PML4 at GLINT_PML4_GPA      -> #PF at 0x1000
 *   ExecStub()      jumps to the exception stubs           -> #PF at 0x7000
 *   WriteBootInfo() writes the read-only boot info page   -> #PF at 0x10008
 */
#include <glint/guest.h>
#include <glint/layout.h>

static uint64_t read_at(uint64_t addr)
{
    uint64_t v;
    __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
    return v;
}

static void ReadIdt(const glint_args *a)
{
    (void)a;
    glint_return_u64(read_at(GLINT_IDT_GPA));
}
GLINT_FUNCTION(ReadIdt, GLINT_U64);

static void ReadPageTable(const glint_args *a)
{
    (void)a;
    glint_return_u64(read_at(GLINT_PML4_GPA));
}
GLINT_FUNCTION(ReadPageTable, GLINT_U64);

static void ExecStub(const glint_args *a)
{
    (void)a;
    __asm__ volatile("call *%0" : : "r"((uint64_t)GLINT_STUBS_GPA) : "memory");
}
GLINT_FUNCTION(ExecStub, GLINT_VOID);

static void WriteBootInfo(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movq $0, (%0)" : : "r"((uint64_t)GLINT_BOOT_INFO_GVA + 8) : "memory");
}
GLINT_FUNCTION(WriteBootInfo, GLINT_VOID);
