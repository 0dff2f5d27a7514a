/*
 * jail: a guest for the process backend's jail tests (tests/test_jail.c).
 *   Add(int32, int32) -> int32      proves the sandbox works
 *   ReadAt(uint64 addr) -> uint64   reads 8 bytes at addr
 *   WriteAt(uint64 addr, uint64 v)  writes v at addr
 *   Spin()                          loops forever
 * The stub's control page (JAIL_CTL_ADDR, 4 KiB) is writable from the
 * guest.  These overwrite all of it with the pseudo-random words of
 * jail_scribble_word(seed, i) (tests/guests/jail.h):
 *   Scribble(uint64 seed)           ... in address order, then return
 *   ScribbleFault(uint64 seed)      ... in address order, then ud2
 *   ScribbleQuiet(uint64 seed)      wait until the host sleeps on the page's
 *                                   futex word (host_waiting), then ~5 ms
 *                                   more, then scribble and return
 *   ScribbleQuietFault(uint64 seed) the same, then ud2
 *   ScribbleSpin(uint64 seed)       scribble from the end down (the host's
 *                                   futex word last), then loop forever
 */
#include <glint/guest.h>
#include <stdint.h>

#include "jail.h"

static void Add(const glint_args *a)
{
    glint_return_i32((int32_t)((uint32_t)glint_arg_i32(a, 0) + (uint32_t)glint_arg_i32(a, 1)));
}
GLINT_FUNCTION(Add, GLINT_I32, GLINT_I32, GLINT_I32);

static void ReadAt(const glint_args *a)
{
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)glint_arg_u64(a, 0);
    glint_return_u64(*p);
}
GLINT_FUNCTION(ReadAt, GLINT_U64, GLINT_U64);

static void WriteAt(const glint_args *a)
{
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)glint_arg_u64(a, 0);
    *p = glint_arg_u64(a, 1);
}
GLINT_FUNCTION(WriteAt, GLINT_VOID, GLINT_U64, GLINT_U64);

__attribute__((noreturn)) static void spin(void)
{
    for (;;)
        __asm__ volatile("" ::: "memory");
}

static void Spin(const glint_args *a)
{
    (void)a;
    spin();
}
GLINT_FUNCTION(Spin, GLINT_VOID);

static volatile uint64_t *ctl(void)
{
    return (volatile uint64_t *)(uintptr_t)JAIL_CTL_ADDR;
}

static void scribble(uint64_t seed)
{
    for (uint64_t i = 0; i < JAIL_CTL_WORDS; i++)
        ctl()[i] = jail_scribble_word(seed, i);
}

static void scribble_down(uint64_t seed)
{
    for (uint64_t i = JAIL_CTL_WORDS; i-- > 0;)
        ctl()[i] = jail_scribble_word(seed, i);
}

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* Until the host waits in futex on to_host (it sets host_waiting first),
 * and then a few milliseconds, so that it is surely asleep: it then sees
 * only the report the stub writes after the scribble. */
static void wait_host_asleep(void)
{
    volatile uint32_t *host_waiting = (volatile uint32_t *)(uintptr_t)(JAIL_CTL_ADDR + JAIL_CTL_HOST_WAITING);
    while (*host_waiting == 0)
        __builtin_ia32_pause();
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < 15000000ull) /* 5 ms at 3 GHz */
        __builtin_ia32_pause();
}

static void Scribble(const glint_args *a)
{
    scribble(glint_arg_u64(a, 0));
}
GLINT_FUNCTION(Scribble, GLINT_VOID, GLINT_U64);

static void ScribbleFault(const glint_args *a)
{
    scribble(glint_arg_u64(a, 0));
    __asm__ volatile("ud2");
}
GLINT_FUNCTION(ScribbleFault, GLINT_VOID, GLINT_U64);

static void ScribbleQuiet(const glint_args *a)
{
    wait_host_asleep();
    scribble(glint_arg_u64(a, 0));
}
GLINT_FUNCTION(ScribbleQuiet, GLINT_VOID, GLINT_U64);

static void ScribbleQuietFault(const glint_args *a)
{
    wait_host_asleep();
    scribble(glint_arg_u64(a, 0));
    __asm__ volatile("ud2");
}
GLINT_FUNCTION(ScribbleQuietFault, GLINT_VOID, GLINT_U64);

static void ScribbleSpin(const glint_args *a)
{
    scribble_down(glint_arg_u64(a, 0));
    spin();
}
GLINT_FUNCTION(ScribbleSpin, GLINT_VOID, GLINT_U64);
