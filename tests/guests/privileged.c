/*
 * privileged: ring-0 instructions executed in ring 3.  Each raises #GP(0)
 * (vector 13) at the site that Where(name) -> uint64 returns.
 *   Hlt, Cli, Sti, Lgdt, Lidt, MovCr3, ReadCr0, Wrmsr, Rdmsr, Invlpg, Wbinvd
 */
#include <glint/guest.h>
#include <string.h>

struct site {
    const char *name;
    const char *at;
};

/* Each function is one labelled instruction. */
#define PRIV(fn, label, asm_text)                                   \
    extern const char label[];                                      \
    static void fn(const glint_args *a)                             \
    {                                                               \
        (void)a;                                                    \
        __asm__ volatile(#label ": " asm_text : : : "rax", "rcx", "rdx", "memory"); \
    }                                                               \
    GLINT_FUNCTION(fn, GLINT_VOID)

__attribute__((used, aligned(16))) static const uint8_t table_desc[16];

PRIV(Hlt, priv_hlt, "hlt");
PRIV(Cli, priv_cli, "cli");
PRIV(Sti, priv_sti, "sti");
PRIV(Lgdt, priv_lgdt, "lgdt table_desc(%%rip)");
PRIV(Lidt, priv_lidt, "lidt table_desc(%%rip)");
PRIV(MovCr3, priv_movcr3, "xorl %%eax, %%eax\n\tpriv_movcr3_insn: movq %%rax, %%cr3");
PRIV(ReadCr0, priv_readcr0, "movq %%cr0, %%rax");
PRIV(Wrmsr, priv_wrmsr, "movl $0xc0000080, %%ecx\n\txorl %%eax, %%eax\n\txorl %%edx, %%edx\n\t"
                        "priv_wrmsr_insn: wrmsr");
PRIV(Rdmsr, priv_rdmsr, "movl $0xc0000080, %%ecx\n\tpriv_rdmsr_insn: rdmsr");
PRIV(Invlpg, priv_invlpg, "invlpg table_desc(%%rip)");
PRIV(Wbinvd, priv_wbinvd, "wbinvd");

extern const char priv_movcr3_insn[], priv_wrmsr_insn[], priv_rdmsr_insn[];

static const struct site sites[] = {
    {"Hlt", priv_hlt},       {"Cli", priv_cli},
    {"Sti", priv_sti},       {"Lgdt", priv_lgdt},
    {"Lidt", priv_lidt},     {"MovCr3", priv_movcr3_insn},
    {"ReadCr0", priv_readcr0}, {"Wrmsr", priv_wrmsr_insn},
    {"Rdmsr", priv_rdmsr_insn}, {"Invlpg", priv_invlpg},
    {"Wbinvd", priv_wbinvd},
};

static void Where(const glint_args *a)
{
    const char *n = glint_arg_string(a, 0, NULL);
    for (size_t i = 0; i < sizeof sites / sizeof sites[0]; i++)
        if (!strcmp(n, sites[i].name)) {
            glint_return_u64((uint64_t)(uintptr_t)sites[i].at);
            return;
        }
    glint_return_u64(0);
}
GLINT_FUNCTION(Where, GLINT_U64, GLINT_STRING);
