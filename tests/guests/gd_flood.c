/*
 * gd_flood: a guest that floods the host's print function (glintd tests).
 *
 *   Flood(uint32 n) -> uint32   printf()s n lines in one call; returns how
 *                               many the host accepted (printf >= 0)
 */
#include <glint/guest.h>
#include <stdio.h>

static void Flood(const glint_args *a)
{
    uint32_t n = glint_arg_u32(a, 0), ok = 0;
    for (uint32_t i = 0; i < n; i++)
        if (printf("flood line %u of %u\n", i + 1, n) >= 0)
            ok++;
    glint_return_u32(ok);
}
GLINT_FUNCTION(Flood, GLINT_U32, GLINT_U32);
