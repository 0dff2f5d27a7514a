/*
 * named_omega: one function, Omega(int32) -> int32, returning its argument + 1.
 * named_alpha and named_omega differ only in that name (of equal length), so
 * their layouts and entry addresses match: restoring one's sandbox to the
 * other's snapshot must bring the other's function table.
 */
#include <glint/guest.h>

static void Omega(const glint_args *a)
{
    glint_return_i32(glint_arg_i32(a, 0) + 1);
}
GLINT_FUNCTION(Omega, GLINT_I32, GLINT_I32);
