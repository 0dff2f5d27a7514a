/*
 * prof_guest.c - the profiler (tests/test_profile.c): known nested
 * functions where one is hot, and a guest that lies in its frame pointers.
 */
#include <glint/guest.h>

static volatile uint64_t sink;

__attribute__((noinline)) static uint64_t hot_inner(uint64_t n)
{
    uint64_t x = n;
    for (uint64_t i = 0; i < 2000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink = x;
    return x;
}

__attribute__((noinline)) static uint64_t cold_inner(uint64_t n)
{
    uint64_t x = n;
    for (uint64_t i = 0; i < 100; i++)
        x = x * 6364136223846793005ull + 1;
    sink = x;
    return x;
}

__attribute__((noinline)) static uint64_t middle(uint64_t n)
{
    return hot_inner(n) ^ cold_inner(n);
}

__attribute__((noinline)) static uint64_t outer(uint64_t rounds)
{
    uint64_t x = 0;
    for (uint64_t i = 0; i < rounds; i++)
        x += middle(i);
    return x;
}

/* Burns CPU in outer -> middle -> hot_inner (mostly) for `ms` of the
 * guest's own loop count. */
static void Burn(const glint_args *a)
{
    glint_return_u64(outer(glint_arg_u64(a, 0)));
}
GLINT_FUNCTION(Burn, GLINT_U64, GLINT_U64);

/* Spins with RBP pointing at a frame that points at itself, then at a
 * chain that runs into garbage and out of guest memory, then at values
 * that are not addresses. */
static uint64_t fake[8];
static void LyingFrames(const glint_args *a)
{
    uint64_t rounds = glint_arg_u64(a, 0);
    fake[0] = (uint64_t)(uintptr_t)&fake[0]; /* a loop */
    fake[1] = 0x1234;
    fake[2] = (uint64_t)(uintptr_t)&fake[4];
    fake[3] = 0x5678;
    fake[4] = 0xffff800000000000ull; /* out of guest memory */
    fake[5] = 0x9abc;
    static const uint64_t bad[] = {(uint64_t)(uintptr_t)&fake[0], (uint64_t)(uintptr_t)&fake[2],
                                   0xfffffffffffffff8ull, 0x7, 0x1000, 0x3fffffff0ull};
    for (uint64_t r = 0; r < rounds; r++) {
        uint64_t fp = bad[r % 6];
        __asm__ volatile("push %%rbp\n\t"
                         "mov %0, %%rbp\n\t"
                         "mov $20000, %%ecx\n"
                         "1: dec %%ecx\n\t"
                         "jnz 1b\n\t"
                         "pop %%rbp"
                         :
                         : "r"(fp)
                         : "rcx", "memory");
    }
    glint_return_u64(rounds);
}
GLINT_FUNCTION(LyingFrames, GLINT_U64, GLINT_U64);
