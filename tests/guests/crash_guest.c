/*
 * crash_guest: guests that fail for crash-dump tests (tests/test_coredump.c).
 *   Crash(int32 x)       Crash -> crash_outer -> crash_middle -> crash_inner,
 *                        which writes through a null pointer (#PF)
 *   SmashFp(int32 x)     crash_smasher loads a garbage frame pointer, then faults
 *   FillCrash(int32 mib) fills `mib` MiB of heap with non-zero bytes, then faults
 *   AvxCrash(int32 x)    with AVX: YMM1 = eight copies of x, YMM2 = eight of
 *                        x + 1, then #PF in avx_crasher; without: returns -1
 *   Spin()               loops forever (time limit)
 *   Ok(int32 x)          returns x + 1
 */
#include <glint/guest.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

volatile int *volatile crash_target; /* NULL */
volatile int crash_sink;

__attribute__((noinline)) void crash_inner(int x)
{
    crash_sink = x;
    *crash_target = x; /* #PF at 0 */
    crash_sink = x + 1;
}

__attribute__((noinline)) void crash_middle(int x)
{
    crash_inner(x * 2);
    crash_sink = x;
}

__attribute__((noinline)) void crash_outer(int x)
{
    crash_middle(x + 1);
    crash_sink = x;
}

static void Crash(const glint_args *a)
{
    crash_outer(glint_arg_i32(a, 0));
    glint_return_i32(0);
}
GLINT_FUNCTION(Crash, GLINT_I32, GLINT_I32);

__attribute__((noinline)) void crash_smasher(int x)
{
    crash_sink = x;
    /* Frame pointer and the saved return address pointing at garbage. */
    __asm__ volatile("movabs $0x4141414141414141, %%rbp\n\t"
                     "movl $0, %%eax\n\t"
                     "movl %%eax, (%%rax)" ::: "rax", "memory");
}

static void SmashFp(const glint_args *a)
{
    crash_smasher(glint_arg_i32(a, 0));
    glint_return_i32(0);
}
GLINT_FUNCTION(SmashFp, GLINT_I32, GLINT_I32);

static void FillCrash(const glint_args *a)
{
    size_t n = (size_t)glint_arg_i32(a, 0) << 20;
    unsigned char *p = malloc(n);
    if (!p)
        glint_abort(1, "FillCrash: no memory");
    memset(p, 0x5a, n);
    crash_outer((int)p[n - 1]);
    glint_return_i32(0);
}
GLINT_FUNCTION(FillCrash, GLINT_I32, GLINT_I32);

static int crash_has_avx(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if ((c & (3u << 27)) != (3u << 27)) /* OSXSAVE and AVX */
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;
}

/* Loads the YMM registers and faults in the same asm: no compiled code
 * can touch them in between. */
__attribute__((noinline)) void avx_crasher(int x)
{
    volatile int v[2] = {x, x + 1};
    __asm__ volatile("vbroadcastss (%0), %%ymm1\n\t"
                     "vbroadcastss 4(%0), %%ymm2\n\t"
                     "movl $0, %%eax\n\t"
                     "movl %%eax, (%%rax)" ::"r"(v) : "rax", "xmm1", "xmm2", "memory");
}

static void AvxCrash(const glint_args *a)
{
    if (!crash_has_avx()) {
        glint_return_i32(-1);
        return;
    }
    avx_crasher(glint_arg_i32(a, 0));
    glint_return_i32(0);
}
GLINT_FUNCTION(AvxCrash, GLINT_I32, GLINT_I32);

static void Spin(const glint_args *a)
{
    (void)a;
    for (;;)
        crash_sink++;
}
GLINT_FUNCTION(Spin, GLINT_VOID);

static void Ok(const glint_args *a)
{
    glint_return_i32(glint_arg_i32(a, 0) + 1);
}
GLINT_FUNCTION(Ok, GLINT_I32, GLINT_I32);
