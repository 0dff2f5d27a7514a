/*
 * stack_overflow: Recurse(uint64 depth) recurses `depth` times with a
 * 512-byte frame; a large depth runs into the guard page under the stack.
 */
#include <glint/guest.h>

static uint64_t recurse(uint64_t n)
{
    volatile uint8_t pad[512];
    pad[0] = (uint8_t)n;
    pad[511] = (uint8_t)(n >> 8);
    if (n == 0)
        return pad[0];
    return recurse(n - 1) + pad[0] + pad[511];
}

static void Recurse(const glint_args *a)
{
    glint_return_u64(recurse(glint_arg_u64(a, 0)));
}
GLINT_FUNCTION(Recurse, GLINT_U64, GLINT_U64);
