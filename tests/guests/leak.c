/*
 * leak: a guest that dirties every piece of state ring 3 can reach, tries
 * the privileged changes it cannot make, and reads its state back, so that
 * the pool tests can prove nothing of one use reaches the next.
 *
 *   Read() -> bytes           a struct leak_state (leak.h) as the function finds it
 *   Dirty(uint32 mode) -> void   dirty what `mode` says, end as it says (leak.h)
 *   Add(int32, int32) -> int32
 *   Touch(uint32 pages) -> uint64   writes `pages` heap pages, returns a sum
 *   Triple(int32) -> int32   calls the host's HostTriple(int32) -> int32
 *
 * Read and Dirty are naked: Read must see the registers exactly as the
 * dispatch loop hands them over, and Dirty returns to the loop with every
 * register (callee-saved ones too) still holding its own values.
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <stddef.h>
#include <stdlib.h>

#include "leak.h"

_Static_assert(offsetof(struct leak_state, gpr) == 8, "leak_state.gpr");
_Static_assert(offsetof(struct leak_state, rflags) == 136, "leak_state.rflags");
_Static_assert(offsetof(struct leak_state, sel) == 144, "leak_state.sel");
_Static_assert(offsetof(struct leak_state, xcr0) == 208, "leak_state.xcr0");
_Static_assert(offsetof(struct leak_state, features) == 224, "leak_state.features");
_Static_assert(offsetof(struct leak_state, fxsave) == 256, "leak_state.fxsave");
_Static_assert(offsetof(struct leak_state, ymmh) == 768, "leak_state.ymmh");
_Static_assert(offsetof(struct leak_state, sum) == 1024, "leak_state.sum");

#define BOOT ((const struct glint_boot_info *)(uintptr_t)GLINT_BOOT_INFO_GVA)

/* The same addresses as assembler text, for the asm below. */
#define BOOT_S "0x10000"  /* GLINT_BOOT_INFO_GVA */
#define IMAGE_S "0x20000" /* GLINT_IMAGE_BASE */
_Static_assert(GLINT_BOOT_INFO_GVA == 0x10000, "BOOT_S");
_Static_assert(GLINT_IMAGE_BASE == 0x20000, "IMAGE_S");

/* Read's capture buffer: excluded from the .data/.bss checksum. */
__attribute__((aligned(64))) struct leak_state leak_g_state;

/* Start of the data segment: glint.ld puts it on the page after .init_array. */
extern const char __init_array_end[];

uint32_t leak_dirty_memory(uint32_t mode);
void leak_read_rest(const glint_args *a);

/* ---- reading ------------------------------------------------------------ */

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static int has_avx(void)
{
    uint32_t a, b, c, d;
    cpuid(1, &a, &b, &c, &d);
    if ((c & (3u << 27)) != (3u << 27)) /* OSXSAVE and AVX */
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;
}

static int has_rdtscp(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000u, &a, &b, &c, &d);
    if (a < 0x80000001u)
        return 0;
    cpuid(0x80000001u, &a, &b, &c, &d);
    return (d >> 27) & 1u;
}

/* FNV-1a over 8-byte words of [lo, hi), skipping [skip_lo, skip_hi). */
static void sum_region(enum leak_region r, uintptr_t lo, uintptr_t hi, uintptr_t skip_lo,
                       uintptr_t skip_hi)
{
    uint64_t h = 0xcbf29ce484222325ull, nz = 0;
    for (uintptr_t p = lo; p + 8 <= hi; p += 8) {
        if (p >= skip_lo && p < skip_hi)
            continue;
        uint64_t w = *(const volatile uint64_t *)p;
        nz += w != 0;
        h = (h ^ w) * 0x100000001b3ull;
    }
    leak_g_state.sum[r] = h;
    leak_g_state.nonzero[r] = nz;
}

/* The C half of Read, entered by a tail jump with the registers saved. */
void leak_read_rest(const glint_args *a)
{
    (void)a;
    struct leak_state *s = &leak_g_state;
    uint64_t magic, canary;
    __asm__ volatile("movq %%fs:0, %0" : "=r"(magic));
    __asm__ volatile("movq %%fs:0x28, %0" : "=r"(canary));
    s->fs_magic = magic;
    s->fs_canary = canary;
    s->tsc_aux = ~0ull;
    if (has_rdtscp()) {
        uint32_t lo, hi, aux;
        __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
        s->tsc_aux = aux;
        s->features |= LEAK_F_RDTSCP;
    }
    uintptr_t data = ((uintptr_t)__init_array_end + 4095) & ~(uintptr_t)4095;
    uintptr_t me = (uintptr_t)s;
    sum_region(LEAK_R_DATA, data, BOOT->heap_base, me, me + sizeof *s);
    sum_region(LEAK_R_HEAP, BOOT->heap_base, BOOT->heap_base + BOOT->heap_size, 0, 0);
    sum_region(LEAK_R_STACK, BOOT->stack_top - BOOT->stack_size, BOOT->stack_top - 8192, 0, 0);
    sum_region(LEAK_R_INPUT, BOOT->input_base, BOOT->input_base + BOOT->input_size, 0, 0);
    sum_region(LEAK_R_OUTPUT, BOOT->output_base, BOOT->output_base + BOOT->output_size, 0, 0);
    s->magic = LEAK_MAGIC;
    glint_return_bytes(s, sizeof *s);
}

#define SAVE(reg, off) "movq %" reg ", leak_g_state+" #off "(%rip)\n\t"
#define SEL(reg, off) \
    "movw %" reg ", %ax\n\tmovzwl %ax, %eax\n\tmovq %rax, leak_g_state+" #off "(%rip)\n\t"
#define YMMH(n) "vextractf128 $1, %ymm" #n ", leak_g_state+768+16*" #n "(%rip)\n\t"

__attribute__((naked)) static void Read(__attribute__((unused)) const glint_args *a)
{
    __asm__ volatile(
        SAVE("rax", 8) SAVE("rbx", 16) SAVE("rcx", 24) SAVE("rdx", 32)
        SAVE("rsi", 40) SAVE("rdi", 48) SAVE("rbp", 56) SAVE("rsp", 64)
        SAVE("r8", 72) SAVE("r9", 80) SAVE("r10", 88) SAVE("r11", 96)
        SAVE("r12", 104) SAVE("r13", 112) SAVE("r14", 120) SAVE("r15", 128)
        "pushfq\n\t"
        "popq leak_g_state+136(%rip)\n\t"
        "cld\n\t"                         /* the C half needs the ABI's flags */
        "pushfq\n\t"
        "andq $~0x40000, (%rsp)\n\t"
        "popfq\n\t"
        SEL("cs", 144) SEL("ds", 152) SEL("es", 160) SEL("fs", 168) SEL("gs", 176) SEL("ss", 184)
        "fxsave64 leak_g_state+256(%rip)\n\t"
        "movq $0, leak_g_state+224(%rip)\n\t"
        "movq $0, leak_g_state+208(%rip)\n\t"
        "movl $1, %eax\n\t"
        "xorl %ecx, %ecx\n\t"
        "cpuid\n\t"
        "andl $0x18000000, %ecx\n\t"     /* OSXSAVE and AVX */
        "cmpl $0x18000000, %ecx\n\t"
        "jne 1f\n\t"
        "xorl %ecx, %ecx\n\t"
        "xgetbv\n\t"
        "movl %eax, leak_g_state+208(%rip)\n\t"
        "movl %edx, leak_g_state+212(%rip)\n\t"
        "andl $6, %eax\n\t"
        "cmpl $6, %eax\n\t"
        "jne 1f\n\t"
        "movq $1, leak_g_state+224(%rip)\n\t"
        YMMH(0) YMMH(1) YMMH(2) YMMH(3) YMMH(4) YMMH(5) YMMH(6) YMMH(7)
        YMMH(8) YMMH(9) YMMH(10) YMMH(11) YMMH(12) YMMH(13) YMMH(14) YMMH(15)
        "1:\n\t"
        "movq leak_g_state+16(%rip), %rbx\n\t" /* CPUID clobbered it: the loop's frame */
        "movq leak_g_state+48(%rip), %rdi\n\t"
        "jmp leak_read_rest\n\t");
}
GLINT_FUNCTION(Read, GLINT_BYTES);

/* ---- dirtying ------------------------------------------------------------ */

static void fill(uintptr_t lo, uintptr_t hi, uint64_t pattern)
{
    for (uintptr_t p = lo; p + 8 <= hi; p += 8)
        *(volatile uint64_t *)p = pattern ^ p;
}

/* The C half of Dirty: memory.  Returns LEAK_F_AVX if YMM can be written. */
uint32_t leak_dirty_memory(uint32_t mode)
{
    uint32_t features = has_avx() ? LEAK_F_AVX : 0;
    if (mode & LEAK_MEM) {
        glint_heap_null_on_failure(true);
        for (size_t size = BOOT->heap_size; size >= 16; size /= 2)
            for (void *p; (p = malloc(size)) != NULL;)
                fill((uintptr_t)p, (uintptr_t)p + size, 0x4845415048454150ull);
        fill(BOOT->heap_base, BOOT->heap_base + BOOT->heap_size, 0x6865617068656170ull);
        fill(BOOT->input_base, BOOT->input_base + BOOT->input_size, 0x494e505554494e50ull);
        /* The first 8 bytes hold the result status, "none": a void call. */
        fill(BOOT->output_base + 8, BOOT->output_base + BOOT->output_size, 0x4f55545055544f55ull);
    }
    if (mode & LEAK_DATA) {
        uintptr_t data = ((uintptr_t)__init_array_end + 4095) & ~(uintptr_t)4095;
        fill(data, BOOT->heap_base, 0x4441544144415441ull);
    }
    return features;
}

/* 16 distinct 32-byte patterns for YMM0-15. */
__asm__(".pushsection .rodata.leak_pat, \"a\"\n"
        ".p2align 5\n"
        "leak_pat:\n"
        ".set leak_n, 0\n"
        ".rept 512\n"
        ".byte (0xa5 ^ leak_n ^ (leak_n >> 5)) & 0xff\n"
        ".set leak_n, leak_n + 1\n"
        ".endr\n"
        "leak_fcw: .word 0x0c7f\n"       /* round toward zero, single precision */
        ".p2align 2\n"
        "leak_mxcsr: .long 0xffff\n"     /* all flags, DAZ, FTZ, round toward zero */
        ".p2align 3\n"
        "leak_desc: .word 0xfff\n.quad " IMAGE_S "\n"
        ".popsection\n");

#define YMM(n) "vmovdqu leak_pat+32*" #n "(%rip), %ymm" #n "\n\t"
#define XMM(n) "movdqu leak_pat+32*" #n "(%rip), %xmm" #n "\n\t"
#define GPR(reg, v) "movabsq $0x" v ", %" reg "\n\t"
#define END(n, label) "cmpb $" #n ", 2(%rsp)\n\tje " label "\n\t"
#define WRMSR(label, msr, value)                                                               \
    label ":\n\tmovl $" msr ", %ecx\n\tmovl $" value ", %eax\n\txorl %edx, %edx\n\twrmsr\n\t" \
    "jmp leak_end_return\n\t"
#define INSN(label, text) label ":\n\t" text "\n\tjmp leak_end_return\n\t"

__attribute__((naked)) static void Dirty(__attribute__((unused)) const glint_args *a)
{
    __asm__ volatile(
        "movl 48(%rdi), %r12d\n\t"        /* args[0].bits: the mode */
        "movl %r12d, %edi\n\t"
        "subq $8, %rsp\n\t"               /* the ABI's 16-byte alignment at a call */
        "call leak_dirty_memory\n\t"
        "addq $8, %rsp\n\t"
        "movl %eax, %r13d\n\t"            /* LEAK_F_AVX */
        "cld\n\t"
        /* The stack: every byte below the return address. */
        "testl $0x004, %r12d\n\t"
        "jz 1f\n\t"
        "movq " BOOT_S "+0x50, %rdi\n\t"   /* boot info: stack_top */
        "subq " BOOT_S "+0x58, %rdi\n\t"   /* - stack_size */
        "movq %rsp, %rcx\n\t"
        "subq %rdi, %rcx\n\t"
        "shrq $3, %rcx\n\t"
        "movabsq $0x535441434b535441, %rax\n\t"
        "rep stosq\n\t"
        "1:\n\t"
        /* x87, MXCSR, XMM/YMM. */
        "testl $0x008, %r12d\n\t"
        "jz 2f\n\t"
        "fldpi\n\tfld1\n\tfldl2t\n\tfldl2e\n\tfldlg2\n\tfldln2\n\tfldz\n\tfldpi\n\t"
        "fldcw leak_fcw(%rip)\n\t"
        "ldmxcsr leak_mxcsr(%rip)\n\t"
        "testl $1, %r13d\n\t"
        "jz 3f\n\t"
        YMM(0) YMM(1) YMM(2) YMM(3) YMM(4) YMM(5) YMM(6) YMM(7)
        YMM(8) YMM(9) YMM(10) YMM(11) YMM(12) YMM(13) YMM(14) YMM(15)
        "jmp 2f\n\t"
        "3:\n\t"
        XMM(0) XMM(1) XMM(2) XMM(3) XMM(4) XMM(5) XMM(6) XMM(7)
        XMM(8) XMM(9) XMM(10) XMM(11) XMM(12) XMM(13) XMM(14) XMM(15)
        "2:\n\t"
        "testl $0x010, %r12d\n\t"
        "jz 4f\n\t"
        "xorl %eax, %eax\n\t"
        "movw %ax, %ds\n\t"
        "movw %ax, %es\n\t"
        "4:\n\t"
        "testl $0x020, %r12d\n\t"
        "jz 5f\n\t"
        "xorl %eax, %eax\n\t"
        "movw %ax, %fs\n\t"
        "movw %ax, %gs\n\t"
        "5:\n\t"
        "pushq %r12\n\t"                  /* the mode, at (%rsp) from here on */
        "testl $0x040, (%rsp)\n\t"
        "jz 6f\n\t"
        "pushfq\n\t"
        "orq $0x43600, (%rsp)\n\t"        /* AC, DF; IF and IOPL are ignored at ring 3 */
        "popfq\n\t"
        "6:\n\t"
        "testl $0x080, (%rsp)\n\t"
        "jz 7f\n\t"
        GPR("rax", "a0a0a0a0a0a0a0a0") GPR("rbx", "b0b0b0b0b0b0b0b0")
        GPR("rcx", "c0c0c0c0c0c0c0c0") GPR("rdx", "d0d0d0d0d0d0d0d0")
        GPR("rsi", "5151515151515151") GPR("rdi", "d1d1d1d1d1d1d1d1")
        GPR("rbp", "b1b1b1b1b1b1b1b1") GPR("r8", "0808080808080808")
        GPR("r9", "0909090909090909") GPR("r10", "1010101010101010")
        GPR("r11", "1111111111111111") GPR("r12", "1212121212121212")
        GPR("r13", "1313131313131313") GPR("r14", "1414141414141414")
        GPR("r15", "1515151515151515")
        "testl $0x100, (%rsp)\n\t"
        "jz 7f\n\t"
        "movq " BOOT_S "+0x30, %rbx\n\t"   /* boot info: input_base, the call frame */
        "7:\n\t"
        END(0, "leak_end_return") END(1, "leak_end_spin") END(2, "leak_end_null")
        END(3, "leak_end_ud2") END(4, "leak_end_abort")
        END(5, "leak_kgs") END(6, "leak_star") END(7, "leak_lstar") END(8, "leak_sfmask")
        END(9, "leak_tscaux") END(10, "leak_wpat") END(11, "leak_efer") END(12, "leak_fsbase")
        END(13, "leak_gsbase") END(14, "leak_swapgs") END(15, "leak_wrfs") END(16, "leak_wrgs")
        END(17, "leak_cr0") END(18, "leak_cr3") END(19, "leak_cr4") END(20, "leak_dr0")
        END(21, "leak_dr7") END(22, "leak_lgdt") END(23, "leak_lidt") END(24, "leak_ltr")
        END(25, "leak_xsetbv") END(26, "leak_syscall") END(27, "leak_int80")
        "ud2\n\t"
        "leak_end_return:\n\t"
        "leaq 8(%rsp), %rsp\n\t"
        "ret\n\t"
        "leak_end_spin:\n\t"
        "pause\n\t"
        "jmp leak_end_spin\n\t"
        "leak_end_null:\n\t"
        "movq %rax, 0\n\t"
        "jmp leak_end_return\n\t"
        "leak_end_ud2:\n\t"
        "ud2\n\t"
        "leak_end_abort:\n\t"
        "movq " BOOT_S "+0x40, %rdi\n\t"   /* boot info: output_base */
        "movq $0x6300000000, %rax\n\t"    /* kind GLINT_ABORT_USER, code 99 */
        "movq %rax, (%rdi)\n\t"
        "movq $0, 8(%rdi)\n\t"            /* no message */
        "movq $0, 16(%rdi)\n\t"
        "outb %al, $0xE2\n\t"
        "jmp leak_end_spin\n\t"
        WRMSR("leak_kgs", "0xc0000102", "0x12340000")
        WRMSR("leak_star", "0xc0000081", "0x12340000")
        WRMSR("leak_lstar", "0xc0000082", "0x12340000")
        WRMSR("leak_sfmask", "0xc0000084", "0x40700")
        WRMSR("leak_tscaux", "0xc0000103", "0x1234")
        WRMSR("leak_wpat", "0x277", "0x06060606")
        WRMSR("leak_efer", "0xc0000080", "0x501")
        WRMSR("leak_fsbase", "0xc0000100", "0x12340000")
        WRMSR("leak_gsbase", "0xc0000101", "0x12340000")
        INSN("leak_swapgs", "swapgs")
        INSN("leak_wrfs", "movl $" BOOT_S "+0x10, %eax\n\twrfsbase %rax")
        INSN("leak_wrgs", "movl $" BOOT_S ", %eax\n\twrgsbase %rax")
        INSN("leak_cr0", "movl $0x80000033, %eax\n\tmovq %rax, %cr0")
        INSN("leak_cr3", "movl $0x2000, %eax\n\tmovq %rax, %cr3")
        INSN("leak_cr4", "movl $0x6a0, %eax\n\tmovq %rax, %cr4")
        INSN("leak_dr0", "movl $" IMAGE_S ", %eax\n\tmovq %rax, %db0")
        INSN("leak_dr7", "movl $0x401, %eax\n\tmovq %rax, %db7")
        INSN("leak_lgdt", "lgdt leak_desc(%rip)")
        INSN("leak_lidt", "lidt leak_desc(%rip)")
        INSN("leak_ltr", "movl $0x28, %eax\n\tltr %ax")
        INSN("leak_xsetbv", "xorl %ecx, %ecx\n\tmovl $3, %eax\n\txorl %edx, %edx\n\txsetbv")
        INSN("leak_syscall", "syscall")
        INSN("leak_int80", "int $0x80"));
}
GLINT_FUNCTION(Dirty, GLINT_VOID, GLINT_U32);

/* ---- ordinary functions --------------------------------------------------- */

static void Add(const glint_args *a)
{
    glint_return_i32((int32_t)((uint32_t)glint_arg_i32(a, 0) + (uint32_t)glint_arg_i32(a, 1)));
}
GLINT_FUNCTION(Add, GLINT_I32, GLINT_I32, GLINT_I32);

static void Touch(const glint_args *a)
{
    uint32_t pages = glint_arg_u32(a, 0);
    uint8_t *p = malloc((size_t)pages * 4096 + 1);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < pages; i++) {
        p[(size_t)i * 4096] = (uint8_t)(i + 1);
        sum += p[(size_t)i * 4096];
    }
    free(p);
    glint_return_u64(sum);
}
GLINT_FUNCTION(Touch, GLINT_U64, GLINT_U32);

static void Triple(const glint_args *a)
{
    glint_val arg = GLINT_VAL_I32(glint_arg_i32(a, 0)), ret;
    if (glint_host_call("HostTriple", GLINT_I32, &ret, 1, &arg) != 0)
        glint_return_error("HostTriple: %s", glint_host_error());
    else
        glint_return_i32(ret.v.i32);
}
GLINT_FUNCTION(Triple, GLINT_I32, GLINT_I32);
