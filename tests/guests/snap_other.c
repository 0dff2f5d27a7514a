/*
 * snap_other: another memory need than snap_counter (256 KiB more image),
 * so that with the same configuration its layout differs.
 *
 *   Bump() -> uint64   ++counter (from 0)
 *   Get() -> uint64    counter
 */
#include <glint/guest.h>

static uint8_t pad[256u << 10];
static uint64_t counter;

static void Bump(const glint_args *a)
{
    (void)a;
    pad[counter % sizeof pad] = 1;
    glint_return_u64(++counter);
}
GLINT_FUNCTION(Bump, GLINT_U64);

static void Get(const glint_args *a)
{
    (void)a;
    glint_return_u64(counter);
}
GLINT_FUNCTION(Get, GLINT_U64);
