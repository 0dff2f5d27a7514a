/*
 * guest_error: a function that fails cleanly with glint_return_error.
 *   Half(int32 x) -> int32   x / 2, or the error "odd number X" when x is odd
 *   LongError() -> int32     an error message of 3000 bytes ("zzz...")
 */
#include <glint/guest.h>
#include <string.h>

static void Half(const glint_args *a)
{
    int32_t x = glint_arg_i32(a, 0);
    if (x % 2 != 0)
        glint_return_error("odd number %d", (int)x);
    else
        glint_return_i32(x / 2);
}
GLINT_FUNCTION(Half, GLINT_I32, GLINT_I32);

static char zs[3001];

static void LongError(const glint_args *a)
{
    (void)a;
    memset(zs, 'z', sizeof zs - 1);
    glint_return_error("%s", zs);
}
GLINT_FUNCTION(LongError, GLINT_I32);
