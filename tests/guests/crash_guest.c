/*
 * crash_guest: guests that fail for crash-dump tests (tests/test_coredump.c).
 *   Crash(int32 x)       Crash -> crash_outer -> crash_middle -> crash_inner,
 *                        which writes through a null pointer (#PF)
 *   SmashFp(int32 x)     crash_smasher loads a garbage frame pointer, then faults
 *   FillCrash(int32 mib) fills `mib` MiB of heap with non-zero bytes, then faults
 *   Spin()               loops forever (time limit)
 *   Ok(int32 x)          returns x + 1
 */
#include <glint/guest.h>
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
