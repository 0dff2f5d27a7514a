/*
 * snap_big: 2 MiB of data that glint_main fills with a non-zero pattern,
 * so every page of it is in a snapshot taken after initialization (the
 * sharing test: many sandboxes from one snapshot must not copy it).
 *
 *   Sum() -> uint64   reads every page of the data; a checksum
 *   Bump() -> uint64  a per-sandbox counter, 1, 2, 3, ...
 */
#include <glint/guest.h>

#define BIG (2u << 20)

static uint8_t big[BIG];
static uint64_t counter;

void glint_main(void)
{
    for (uint32_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 131u + 7u) | 1u;
}

static void Sum(const glint_args *a)
{
    (void)a;
    uint64_t s = 0;
    for (uint32_t i = 0; i < BIG; i += 64)
        s += big[i];
    glint_return_u64(s);
}
GLINT_FUNCTION(Sum, GLINT_U64);

static void Bump(const glint_args *a)
{
    (void)a;
    glint_return_u64(++counter);
}
GLINT_FUNCTION(Bump, GLINT_U64);
