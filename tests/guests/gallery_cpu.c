/*
 * gallery_cpu: system registers and instructions a hostile guest may try
 * from ring 3 (tests/test_gallery.c).
 *   MSRs:      WrmsrLstar, WrmsrFsBase, RdmsrApicBase, Rdpmc, Xsetbv
 *   CRs/DRs:   WriteCr4, WriteCr0, ReadCr8, WriteCr8, ReadCr2, WriteDr7
 *   tables:    Sgdt, Sidt, Sldt, Str, Smsw (-> u64, allowed without UMIP),
 *              Ltr, Lldt, LoadKernelDs, LoadBadFs, FarJmpRing0, IretToRing0
 *   entry:     Sysenter, Sysret, Swapgs, Vmcall, Vmmcall, Int20, Int40, IntFF,
 *              Icebp (int1)
 *   halting:   MwaitLoop, PauseLoop (pause forever), HltLoop
 *   flags:     TrapFlag (single step), AlignCheck (EFLAGS.AC + misaligned)
 *   facts:     Rdtscp (-> TSC_AUX), Cpuid (-> ebx of leaf 1)
 */
#include <glint/guest.h>

#define VOID_ASM(fn, text)                                                               \
    static void fn(const glint_args *a)                                                  \
    {                                                                                    \
        (void)a;                                                                         \
        __asm__ volatile(text : : : "rax", "rcx", "rdx", "memory");                      \
    }                                                                                    \
    GLINT_FUNCTION(fn, GLINT_VOID)

VOID_ASM(WrmsrLstar, "movl $0xc0000082, %%ecx\n\txorl %%eax, %%eax\n\txorl %%edx, %%edx\n\twrmsr");
VOID_ASM(WrmsrFsBase, "movl $0xc0000100, %%ecx\n\txorl %%eax, %%eax\n\txorl %%edx, %%edx\n\twrmsr");
VOID_ASM(RdmsrApicBase, "movl $0x1b, %%ecx\n\trdmsr");
VOID_ASM(Rdpmc, "xorl %%ecx, %%ecx\n\trdpmc");
VOID_ASM(Xsetbv, "xorl %%ecx, %%ecx\n\tmovl $7, %%eax\n\txorl %%edx, %%edx\n\txsetbv");
VOID_ASM(WriteCr4, "xorl %%eax, %%eax\n\tmovq %%rax, %%cr4");
VOID_ASM(WriteCr0, "movl $0x80000011, %%eax\n\tmovq %%rax, %%cr0");
VOID_ASM(ReadCr8, "movq %%cr8, %%rax");
VOID_ASM(WriteCr8, "movl $15, %%eax\n\tmovq %%rax, %%cr8");
VOID_ASM(ReadCr2, "movq %%cr2, %%rax");
VOID_ASM(WriteDr7, "movl $1, %%eax\n\tmovq %%rax, %%dr7");
VOID_ASM(Ltr, "movl $0x28, %%eax\n\tltr %%ax");
VOID_ASM(Lldt, "xorl %%eax, %%eax\n\tlldt %%ax");
VOID_ASM(LoadKernelDs, "movl $0x10, %%eax\n\tmovl %%eax, %%ds");
VOID_ASM(LoadBadFs, "movl $0x1238, %%eax\n\tmovl %%eax, %%fs");
VOID_ASM(Sysenter, "sysenter");
VOID_ASM(Sysret, "sysretq");
VOID_ASM(Swapgs, "swapgs");
VOID_ASM(Vmcall, "vmcall");
VOID_ASM(Int20, "int $0x20");
VOID_ASM(Int40, "int $0x40");
VOID_ASM(IntFF, "int $0xff");
VOID_ASM(Icebp, ".byte 0xf1");
VOID_ASM(PauseLoop, "1: pause\n\tjmp 1b");
VOID_ASM(HltLoop, "1: hlt\n\tjmp 1b");
VOID_ASM(MwaitLoop, "1: xorl %%eax, %%eax\n\txorl %%ecx, %%ecx\n\tmwait\n\tjmp 1b");

/* Far jump through a pointer to selector 0x08 (the ring-0 code segment). */
static void FarJmpRing0(const glint_args *a)
{
    (void)a;
    static struct __attribute__((packed)) {
        uint64_t off;
        uint16_t sel;
    } target = {0x7000, 0x08};
    __asm__ volatile("rex64 ljmp *%0" : : "m"(target) : "memory");
}
GLINT_FUNCTION(FarJmpRing0, GLINT_VOID);

/* iretq with a forged frame that asks for CPL 0. */
static void IretToRing0(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movq %%rsp, %%rax\n\t"
                     "pushq $0x10\n\t"   /* ss */
                     "pushq %%rax\n\t"   /* rsp */
                     "pushq $0x2\n\t"    /* rflags */
                     "pushq $0x08\n\t"   /* cs: ring 0 */
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "iretq\n"
                     "1:" : : : "rax", "memory");
}
GLINT_FUNCTION(IretToRing0, GLINT_VOID);

static void Vmmcall(const glint_args *a)
{
    (void)a;
    uint64_t r = 0;
    __asm__ volatile("vmmcall" : "+a"(r) : : "rbx", "rcx", "rdx", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(Vmmcall, GLINT_U64);

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

static void Sgdt(const glint_args *a)
{
    (void)a;
    struct desc_ptr d = {0, 0};
    __asm__ volatile("sgdt %0" : "=m"(d));
    glint_return_u64(d.base);
}
GLINT_FUNCTION(Sgdt, GLINT_U64);

static void Sidt(const glint_args *a)
{
    (void)a;
    struct desc_ptr d = {0, 0};
    __asm__ volatile("sidt %0" : "=m"(d));
    glint_return_u64(d.base);
}
GLINT_FUNCTION(Sidt, GLINT_U64);

static void Sldt(const glint_args *a)
{
    (void)a;
    uint64_t v = 0;
    __asm__ volatile("sldt %0" : "=r"(v));
    glint_return_u64(v);
}
GLINT_FUNCTION(Sldt, GLINT_U64);

static void Str(const glint_args *a)
{
    (void)a;
    uint64_t v = 0;
    __asm__ volatile("str %0" : "=r"(v));
    glint_return_u64(v);
}
GLINT_FUNCTION(Str, GLINT_U64);

static void Smsw(const glint_args *a)
{
    (void)a;
    uint64_t v = 0;
    __asm__ volatile("smsw %0" : "=r"(v));
    glint_return_u64(v);
}
GLINT_FUNCTION(Smsw, GLINT_U64);

static void TrapFlag(const glint_args *a)
{
    (void)a;
    __asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tnop\n\tnop" : : : "memory", "cc");
}
GLINT_FUNCTION(TrapFlag, GLINT_VOID);

static void AlignCheck(const glint_args *a)
{
    (void)a;
    static uint64_t words[4];
    uint64_t v;
    __asm__ volatile("pushfq\n\torq $0x40000, (%%rsp)\n\tpopfq\n\t"
                     "movq 1(%1), %0\n\t"
                     "pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq"
                     : "=r"(v) : "r"(words) : "memory", "cc");
    glint_return_u64(v);
}
GLINT_FUNCTION(AlignCheck, GLINT_U64);

static void Rdtscp(const glint_args *a)
{
    (void)a;
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
    glint_return_u64(aux);
}
GLINT_FUNCTION(Rdtscp, GLINT_U64);

static void Cpuid(const glint_args *a)
{
    (void)a;
    uint32_t eax = 1, ebx, ecx = 0, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    glint_return_u64(ebx);
}
GLINT_FUNCTION(Cpuid, GLINT_U64);
