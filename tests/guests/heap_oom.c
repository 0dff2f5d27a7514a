/*
 * heap_oom: exhausts the guest heap.
 *   Exhaust() -> uint64      mallocs 64 KiB blocks until the heap runs out:
 *                            GLINT_E_GUEST_OOM (malloc never returns NULL)
 *   Huge() -> uint64         one malloc(1 GiB): GLINT_E_GUEST_OOM
 *   NullMode() -> bool       with glint_heap_null_on_failure(true),
 *                            malloc(1 GiB) returns NULL: true
 */
#include <glint/guest.h>
#include <stdlib.h>

static void Exhaust(const glint_args *a)
{
    (void)a;
    uint64_t n = 0;
    for (;;) {
        volatile uint8_t *p = malloc(64 << 10);
        if (!p)
            break;
        p[0] = 1;
        n++;
    }
    glint_return_u64(n);
}
GLINT_FUNCTION(Exhaust, GLINT_U64);

static void Huge(const glint_args *a)
{
    (void)a;
    void *volatile p = malloc((size_t)1 << 30);
    glint_return_u64((uint64_t)(uintptr_t)p);
}
GLINT_FUNCTION(Huge, GLINT_U64);

static void NullMode(const glint_args *a)
{
    (void)a;
    glint_heap_null_on_failure(true);
    void *volatile p = malloc((size_t)1 << 30);
    glint_heap_null_on_failure(false);
    glint_return_bool(p == NULL);
}
GLINT_FUNCTION(NullMode, GLINT_BOOL);
