/*
 * snap_counter: the snapshot tests' main guest.  State lives in a global
 * counter (in .data, starting at 1000) and in the vCPU registers a call
 * leaves behind; host functions Tick(uint64) -> uint64 and
 * Big(uint32) -> string are called by some functions.
 *
 *   Bump() -> uint64            ++counter
 *   Get() -> uint64             counter
 *   InitRuns() -> uint64        times glint_main ran (1 after init)
 *   Hello(string) -> string     "hello <s> #<counter>"
 *   CallTick(uint64) -> uint64  Tick(v) from the host
 *   CallBig(uint32 n) -> uint64 Big(n) from the host (n bytes: host writes
 *                               deep into the input buffer); sum of its bytes
 *   SpinAfterTick() -> void     Tick(0), then loops forever
 *   CallBlock() -> void         calls the host's Block() -> void
 *   Abort() / Fault() -> void   glint_abort(7) / write to address 0x8
 *   InPort() -> uint32          `inb` from GLINT_PORT_DONE (an open port,
 *                               but reading it is not part of the ABI)
 *   StackMark(uint64 v)         fills 2 KiB of its stack with v
 *   Take2(string, string)       ignores its arguments
 *   Peek(uint32 off) -> uint32  byte at offset `off` of the input buffer
 *   Smear(uint64 v) -> void     leaves v in the scratch registers, xmm15,
 *                               ymm15 (if AVX), sets DF, a non-default
 *                               MXCSR and x87 control word, and loads
 *                               DS/ES/GS, then returns (ABI-violating on
 *                               purpose: state a restore must undo)
 *   SetBases(uint64 gs) -> void WRGSBASE gs, and WRFSBASE to a copy of the
 *                               boot-info page (so the stack protector still
 *                               works); #UD where FSGSBASE is off
 *   GetBase(uint32 i) -> uint64 RDFSBASE (0) or RDGSBASE (1)
 *   SetFsSel() -> void          loads the user data selector into FS (which
 *                               also zeroes the FS base: restore before the
 *                               next call)
 *   GetFsSel() -> uint64        the FS selector on entry
 *   Snoop(uint32 i) -> uint64   item i of that state as found on entry:
 *                               0-7 r8 r9 r10 r11 rax rcx rdx rsi,
 *                               8 rflags, 9 xmm15 low, 10 ymm15 upper low,
 *                               11 mxcsr, 12 x87 control word, 13 ds, 14 es, 15 gs
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <stdio.h>
#include <string.h>

static uint64_t counter = 1000;
static uint64_t init_runs;

/* Read by the naked functions' assembly: not static, so the names stay. */
uint64_t snap_snoop[16];
uint64_t snap_smear;
uint8_t snap_have_avx;

static int detect_avx(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27)) || !(c & (1u << 28))) /* OSXSAVE, AVX */
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;
}

void glint_main(void)
{
    init_runs++;
    snap_have_avx = (uint8_t)detect_avx();
}

static void Bump(const glint_args *a)
{
    (void)a;
    glint_return_u64(++counter);
}
GLINT_FUNCTION(Bump, GLINT_U64);

static void Get(const glint_args *a)
{
    (void)a;
    glint_return_u64(counter);
}
GLINT_FUNCTION(Get, GLINT_U64);

static void InitRuns(const glint_args *a)
{
    (void)a;
    glint_return_u64(init_runs);
}
GLINT_FUNCTION(InitRuns, GLINT_U64);

static void Hello(const glint_args *a)
{
    char buf[200];
    snprintf(buf, sizeof buf, "hello %s #%llu", glint_arg_string(a, 0, NULL),
             (unsigned long long)counter);
    glint_return_string(buf);
}
GLINT_FUNCTION(Hello, GLINT_STRING, GLINT_STRING);

static void CallTick(const glint_args *a)
{
    glint_val arg = GLINT_VAL_U64(glint_arg_u64(a, 0)), ret;
    if (glint_host_call("Tick", GLINT_U64, &ret, 1, &arg) != 0)
        glint_return_error("Tick: %s", glint_host_error());
    else
        glint_return_u64(ret.v.u64);
}
GLINT_FUNCTION(CallTick, GLINT_U64, GLINT_U64);

static void CallBig(const glint_args *a)
{
    glint_val arg = GLINT_VAL_U32(glint_arg_u32(a, 0)), ret;
    if (glint_host_call("Big", GLINT_STRING, &ret, 1, &arg) != 0) {
        glint_return_error("Big: %s", glint_host_error());
        return;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < ret.v.str.len; i++)
        sum += (uint8_t)ret.v.str.ptr[i];
    glint_return_u64(sum);
}
GLINT_FUNCTION(CallBig, GLINT_U64, GLINT_U32);

static void SpinAfterTick(const glint_args *a)
{
    (void)a;
    glint_val arg = GLINT_VAL_U64(0), ret;
    glint_host_call("Tick", GLINT_U64, &ret, 1, &arg);
    for (;;)
        __asm__ volatile("" ::: "memory");
}
GLINT_FUNCTION(SpinAfterTick, GLINT_VOID);

static void CallBlock(const glint_args *a)
{
    (void)a;
    glint_host_call("Block", GLINT_VOID, NULL, 0, NULL);
}
GLINT_FUNCTION(CallBlock, GLINT_VOID);

static void Abort(const glint_args *a)
{
    (void)a;
    glint_abort(7, "snap_counter aborts on purpose");
}
GLINT_FUNCTION(Abort, GLINT_VOID);

static void Fault(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movq $1, (%0)" : : "r"(8ull) : "memory");
}
GLINT_FUNCTION(Fault, GLINT_VOID);

static void InPort(const glint_args *a)
{
    (void)a;
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "N"(GLINT_PORT_DONE) : "memory");
    glint_return_u32(v);
}
GLINT_FUNCTION(InPort, GLINT_U32);

static void StackMark(const glint_args *a)
{
    volatile uint64_t mark[256];
    uint64_t v = glint_arg_u64(a, 0);
    for (unsigned i = 0; i < 256; i++)
        mark[i] = v;
    __asm__ volatile("" : : "r"(mark) : "memory");
}
GLINT_FUNCTION(StackMark, GLINT_VOID, GLINT_U64);

static void Take2(const glint_args *a)
{
    (void)a;
}
GLINT_FUNCTION(Take2, GLINT_VOID, GLINT_STRING, GLINT_STRING);

static void Peek(const glint_args *a)
{
    uint32_t off = glint_arg_u32(a, 0);
    glint_return_u32(((const volatile uint8_t *)a)[off]);
}
GLINT_FUNCTION(Peek, GLINT_U32, GLINT_U32);

/* ---- register state a restore must undo ---- */

void snap_smear_body(const glint_args *a);
void snap_smear_body(const glint_args *a)
{
    snap_smear = glint_arg_u64(a, 0);
}

void snap_snoop_body(const glint_args *a);
void snap_snoop_body(const glint_args *a)
{
    uint32_t i = glint_arg_u32(a, 0);
    glint_return_u64(i < 16 ? snap_snoop[i] : 0);
}

__attribute__((naked)) static void Smear(const glint_args *a)
{
    (void)a;
    __asm__ volatile(
        "subq $8, %rsp\n\t"
        "call snap_smear_body\n\t"
        "addq $8, %rsp\n\t"
        "movq snap_smear(%rip), %rax\n\t"
        "movq %rax, %r8\n\tmovq %rax, %r9\n\tmovq %rax, %r10\n\tmovq %rax, %r11\n\t"
        "movq %rax, %rcx\n\tmovq %rax, %rdx\n\tmovq %rax, %rsi\n\t"
        "movq %rax, %xmm15\n\t"
        "cmpb $0, snap_have_avx(%rip)\n\t"
        "je 1f\n\t"
        "vcmptrueps %ymm14, %ymm14, %ymm14\n\t"
        "vinsertf128 $1, %xmm14, %ymm15, %ymm15\n\t" /* upper half all ones */
        "vpxor %xmm14, %xmm14, %xmm14\n\t"          /* (clears ymm14 upper too) */
        "1:\n\t"
        "pushq $0x6f80\n\t"                          /* MXCSR: round toward zero */
        "ldmxcsr (%rsp)\n\t"
        "movw $0x0c7f, (%rsp)\n\t"                   /* x87: round toward zero */
        "fldcw (%rsp)\n\t"
        "addq $8, %rsp\n\t"
        "movl $0x2b, %ecx\n\t" /* the user data selector: DS/ES/GS start null */
        "movl %ecx, %ds\n\tmovl %ecx, %es\n\tmovl %ecx, %gs\n\t"
        "movq %rax, %rcx\n\t"
        "std\n\t"
        "ret");
}
GLINT_FUNCTION(Smear, GLINT_VOID, GLINT_U64);

__attribute__((naked)) static void Snoop(const glint_args *a)
{
    (void)a;
    __asm__ volatile(
        "movq %r8, snap_snoop+0(%rip)\n\t"
        "movq %r9, snap_snoop+8(%rip)\n\t"
        "movq %r10, snap_snoop+16(%rip)\n\t"
        "movq %r11, snap_snoop+24(%rip)\n\t"
        "movq %rax, snap_snoop+32(%rip)\n\t"
        "movq %rcx, snap_snoop+40(%rip)\n\t"
        "movq %rdx, snap_snoop+48(%rip)\n\t"
        "movq %rsi, snap_snoop+56(%rip)\n\t"
        "pushfq\n\t"
        "popq %rax\n\t"
        "movq %rax, snap_snoop+64(%rip)\n\t"
        "cld\n\t"
        "movq %xmm15, snap_snoop+72(%rip)\n\t"
        "movq $0, snap_snoop+80(%rip)\n\t"
        "cmpb $0, snap_have_avx(%rip)\n\t"
        "je 1f\n\t"
        "vextractf128 $1, %ymm15, %xmm14\n\t"
        "movq %xmm14, snap_snoop+80(%rip)\n\t"
        "1:\n\t"
        "movq $0, snap_snoop+88(%rip)\n\t"
        "stmxcsr snap_snoop+88(%rip)\n\t"
        "movq $0, snap_snoop+96(%rip)\n\t"
        "fnstcw snap_snoop+96(%rip)\n\t"
        "xorl %eax, %eax\n\tmovw %ds, %ax\n\tmovq %rax, snap_snoop+104(%rip)\n\t"
        "movw %es, %ax\n\tmovq %rax, snap_snoop+112(%rip)\n\t"
        "movw %gs, %ax\n\tmovq %rax, snap_snoop+120(%rip)\n\t"
        "jmp snap_snoop_body");
}
GLINT_FUNCTION(Snoop, GLINT_U64, GLINT_U32);

/* ---- segment bases (FSGSBASE instructions) ---- */

static uint8_t fs_copy[4096] __attribute__((aligned(4096)));

static void SetBases(const glint_args *a)
{
    uint64_t gs = glint_arg_u64(a, 0);
    memcpy(fs_copy, (const void *)(uintptr_t)GLINT_BOOT_INFO_GVA, sizeof fs_copy);
    __asm__ volatile("wrgsbase %0" : : "r"(gs) : "memory");
    __asm__ volatile("wrfsbase %0" : : "r"((uint64_t)(uintptr_t)fs_copy) : "memory");
}
GLINT_FUNCTION(SetBases, GLINT_VOID, GLINT_U64);

static void GetBase(const glint_args *a)
{
    uint64_t v;
    if (glint_arg_u32(a, 0) == 0)
        __asm__ volatile("rdfsbase %0" : "=r"(v));
    else
        __asm__ volatile("rdgsbase %0" : "=r"(v));
    glint_return_u64(v);
}
GLINT_FUNCTION(GetBase, GLINT_U64, GLINT_U32);

__attribute__((naked)) static void SetFsSel(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movl $0x2b, %ecx\n\tmovl %ecx, %fs\n\tret");
}
GLINT_FUNCTION(SetFsSel, GLINT_VOID);

__attribute__((naked)) static void GetFsSel(const glint_args *a)
{
    (void)a;
    __asm__ volatile("xorl %eax, %eax\n\tmovw %fs, %ax\n\tmovq %rax, %rdi\n\tjmp glint_return_u64");
}
GLINT_FUNCTION(GetFsSel, GLINT_U64);
