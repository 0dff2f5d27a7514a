/*
 * snap_heap: heap state for the snapshot tests (run it with a heap of at
 * least 4 MiB).  glint_main allocates a region of REGION_PAGES pages and
 * fills it with a pattern; calls keep strings on the heap.
 *
 *   Dirty(uint32 n, uint32 seed) -> void  writes a pattern derived from
 *                                         seed into pages 0..n-1 of the region
 *   Sum() -> uint64                       a checksum of the whole region
 *   Keep(string) -> uint32                keeps a heap copy; returns how many are kept
 *   Kept() -> string                      the kept strings joined with ','
 */
#include <glint/guest.h>
#include <stdlib.h>
#include <string.h>

#define REGION_PAGES 600u
#define PAGE 4096u
#define MAX_KEPT 64u

static uint8_t *region;
static char *kept[MAX_KEPT];
static uint32_t nkept;

static void fill(uint32_t pages, uint32_t seed)
{
    for (uint32_t p = 0; p < pages; p++)
        for (uint32_t i = 0; i < PAGE; i += 8) {
            uint64_t v = ((uint64_t)seed << 32 | p) * 0x9e3779b97f4a7c15ull + i;
            memcpy(region + (size_t)p * PAGE + i, &v, 8);
        }
}

void glint_main(void)
{
    region = malloc((size_t)REGION_PAGES * PAGE);
    fill(REGION_PAGES, 1);
}

static void Dirty(const glint_args *a)
{
    uint32_t n = glint_arg_u32(a, 0);
    if (n > REGION_PAGES)
        glint_return_error("Dirty: at most %u pages", REGION_PAGES);
    else
        fill(n, glint_arg_u32(a, 1));
}
GLINT_FUNCTION(Dirty, GLINT_VOID, GLINT_U32, GLINT_U32);

static void Sum(const glint_args *a)
{
    (void)a;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < (size_t)REGION_PAGES * PAGE; i += 8) {
        uint64_t v;
        memcpy(&v, region + i, 8);
        h = (h ^ v) * 1099511628211ull;
    }
    glint_return_u64(h);
}
GLINT_FUNCTION(Sum, GLINT_U64);

static void Keep(const glint_args *a)
{
    if (nkept == MAX_KEPT) {
        glint_return_error("Keep: full");
        return;
    }
    kept[nkept++] = strdup(glint_arg_string(a, 0, NULL));
    glint_return_u32(nkept);
}
GLINT_FUNCTION(Keep, GLINT_U32, GLINT_STRING);

static void Kept(const glint_args *a)
{
    (void)a;
    size_t len = 1;
    for (uint32_t i = 0; i < nkept; i++)
        len += strlen(kept[i]) + 1;
    char *s = malloc(len), *p = s;
    for (uint32_t i = 0; i < nkept; i++) {
        size_t n = strlen(kept[i]);
        memcpy(p, kept[i], n);
        p += n;
        if (i + 1 < nkept)
            *p++ = ',';
    }
    *p = 0;
    glint_return_string(s);
    free(s);
}
GLINT_FUNCTION(Kept, GLINT_STRING);
