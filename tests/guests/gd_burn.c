/*
 * gd_burn: a guest that computes for a while and then answers (glintd
 * tests: slow requests that succeed; the guest has no clock, so the tests
 * calibrate the iteration count against wall time).
 *
 *   Burn(uint64 n) -> uint64    n iterations of a loop the compiler keeps;
 *                               returns n
 */
#include <glint/guest.h>

static void Burn(const glint_args *a)
{
    uint64_t n = glint_arg_u64(a, 0);
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < n; i++)
        sink += i;
    glint_return_u64(n);
}
GLINT_FUNCTION(Burn, GLINT_U64, GLINT_U64);
