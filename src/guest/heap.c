/*
 * heap.c - malloc, calloc, realloc, free, aligned_alloc over the heap the
 * host provides ([heap_base, heap_base + heap_size) in the boot info).
 *
 * Boundary-tag allocator.  Every chunk starts with a 16-byte header
 * {prev_size, size | PREV_INUSE}; the payload follows, 16-byte aligned.  A
 * free chunk keeps its size in the next chunk's prev_size and sits in one of
 * NBINS size-class lists (exact classes up to 512 bytes, then four classes
 * per power of two), with a bitmap of non-empty bins.  Free neighbours are
 * coalesced at once, so no two free chunks touch, and a free chunk never
 * touches `top`: the untouched rest of the heap, from which new chunks are
 * cut.  Invariant: the chunk just below top is in use.
 *
 * The host hands the heap over zeroed, and `hwm` marks the highest address
 * ever handed out: calloc only clears memory below it.  The allocator is
 * set up on first use, so a guest that never allocates pays nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HDR        16u
#define MIN_CHUNK  32u
#define PREV_INUSE 1u
#define NBINS      128u

struct chunk {
    size_t prev_size; /* size of the previous chunk, valid only when it is free */
    size_t head;      /* size of this chunk | PREV_INUSE */
    struct chunk *fd; /* free chunks: bin list links (in the payload) */
    struct chunk *bk;
};

static struct {
    uint8_t *lo, *hi; /* the heap */
    uint8_t *top;     /* start of the never-cut rest */
    uint8_t *hwm;     /* memory at and above it was never handed out: still zero */
    size_t used;      /* bytes of chunks in use, headers included */
    bool null_on_failure;
    uint64_t binmap[NBINS / 64];
    struct chunk *bins[NBINS];
} H;

static inline size_t csize(const struct chunk *c)
{
    return c->head & ~(size_t)15;
}

static inline struct chunk *at(void *p, ptrdiff_t off)
{
    return (struct chunk *)((uint8_t *)p + off);
}

static void heap_init(void)
{
    H.lo = (uint8_t *)(uintptr_t)BOOT->heap_base;
    H.hi = H.lo + BOOT->heap_size;
    H.top = H.hwm = H.lo;
}

/* ---- bins ---- */

static unsigned bin_index(size_t sz)
{
    if (sz <= 512)
        return (unsigned)(sz / 16 - 2);
    unsigned k = 63u - (unsigned)__builtin_clzll(sz);
    unsigned i = 31u + (k - 9u) * 4u + (unsigned)((sz >> (k - 2u)) & 3u);
    return i < NBINS ? i : NBINS - 1;
}

static void bin_insert(struct chunk *c)
{
    unsigned i = bin_index(csize(c));
    c->bk = NULL;
    c->fd = H.bins[i];
    if (c->fd)
        c->fd->bk = c;
    H.bins[i] = c;
    H.binmap[i / 64] |= 1ull << (i % 64);
}

static void bin_remove(struct chunk *c)
{
    unsigned i = bin_index(csize(c));
    if (c->bk)
        c->bk->fd = c->fd;
    else
        H.bins[i] = c->fd;
    if (c->fd)
        c->fd->bk = c->bk;
    if (!H.bins[i])
        H.binmap[i / 64] &= ~(1ull << (i % 64));
}

/* First non-empty bin at index >= i, or NBINS. */
static unsigned next_bin(unsigned i)
{
    for (unsigned w = i / 64; w < NBINS / 64; w++) {
        uint64_t m = H.binmap[w];
        if (w == i / 64)
            m &= ~0ull << (i % 64);
        if (m)
            return w * 64 + (unsigned)__builtin_ctzll(m);
    }
    return NBINS;
}

/* ---- chunks ---- */

/* Is chunk c (below top) in use?  Its successor's PREV_INUSE says. */
static bool in_use(struct chunk *c)
{
    uint8_t *next = (uint8_t *)c + csize(c);
    return next == H.top || (at(next, 0)->head & PREV_INUSE);
}

/* Makes c (not in any bin, not counted in `used`) free: coalesces it with
 * free neighbours and bins it, or gives it back to top. */
static void release(struct chunk *c)
{
    size_t sz = csize(c);
    if (!(c->head & PREV_INUSE)) {
        struct chunk *prev = at(c, -(ptrdiff_t)c->prev_size);
        bin_remove(prev);
        sz += csize(prev);
        c = prev; /* prev's own PREV_INUSE is set: no two free chunks touch */
    }
    struct chunk *next = at(c, (ptrdiff_t)sz);
    if ((uint8_t *)next == H.top) {
        H.top = (uint8_t *)c;
        return;
    }
    if (!in_use(next)) {
        bin_remove(next);
        sz += csize(next);
        next = at(c, (ptrdiff_t)sz);
    }
    c->head = sz | PREV_INUSE;
    next->prev_size = sz;
    next->head &= ~(size_t)PREV_INUSE;
    bin_insert(c);
}

/* Trims in-use chunk c to sz bytes, releasing the rest if it is big enough. */
static void trim(struct chunk *c, size_t sz)
{
    size_t have = csize(c);
    if (have - sz < MIN_CHUNK)
        return;
    c->head = sz | (c->head & PREV_INUSE);
    struct chunk *rest = at(c, (ptrdiff_t)sz);
    rest->head = (have - sz) | PREV_INUSE;
    release(rest);
}

/* Best fit in bin i among chunks of at least sz bytes, else NULL. */
static struct chunk *fit_in_bin(unsigned i, size_t sz)
{
    struct chunk *best = NULL;
    for (struct chunk *c = H.bins[i]; c; c = c->fd) {
        size_t cs = csize(c);
        if (cs >= sz && (!best || cs < csize(best))) {
            best = c;
            if (cs == sz)
                break;
        }
    }
    return best;
}

static struct chunk *take(size_t sz)
{
    unsigned i = bin_index(sz);
    struct chunk *c = H.bins[i] ? fit_in_bin(i, sz) : NULL;
    if (!c) {
        unsigned j = next_bin(i + 1);
        if (j < NBINS)
            c = H.bins[j];
    }
    if (c) {
        bin_remove(c);
        uint8_t *next = (uint8_t *)c + csize(c);
        at(next, 0)->head |= PREV_INUSE; /* a free chunk never touches top */
        trim(c, sz);
        return c;
    }
    if ((size_t)(H.hi - H.top) < sz)
        return NULL;
    c = at(H.top, 0);
    c->head = sz | PREV_INUSE;
    H.top += sz;
    if (H.top > H.hwm)
        H.hwm = H.top;
    return c;
}

/* Chunk size for a request of n bytes, or 0 if it cannot exist. */
static size_t request(size_t n)
{
    if (n > ((size_t)1 << 40))
        return 0;
    size_t sz = (n + HDR + 15) & ~(size_t)15;
    return sz < MIN_CHUNK ? MIN_CHUNK : sz;
}

/* ---- failure ---- */

__attribute__((format(printf, 1, 2))) static void *out_of_memory(const char *fmt, ...)
{
    if (H.null_on_failure) {
        errno = ENOMEM;
        return NULL;
    }
    char what[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    glint__abort(GLINT_ABORT_OOM, 0, "%s: guest heap exhausted (heap %llu bytes, %zu in use)", what,
                 (unsigned long long)BOOT->heap_size, H.used);
}

__attribute__((noreturn, format(printf, 1, 2))) static void corrupt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    glint__vabort(GLINT_ABORT_USER, 0, fmt, ap);
}

/* The chunk of payload p, after checking that p came from this heap and is in use. */
static struct chunk *owner(void *p, const char *who)
{
    uint8_t *b = p;
    if (!H.lo || b < H.lo + HDR || b >= H.top || ((uintptr_t)b & 15))
        corrupt("%s(%p): not a pointer from malloc, or already freed (heap [%p, %p))", who, p,
                (void *)H.lo, (void *)H.hi);
    struct chunk *c = at(b, -(ptrdiff_t)HDR);
    size_t sz = csize(c);
    if (sz < MIN_CHUNK || sz > (size_t)(H.top - (uint8_t *)c))
        corrupt("%s(%p): heap corrupted (chunk size %zu)", who, p, sz);
    if (!in_use(c))
        corrupt("%s(%p): double free, or a pointer that is not from malloc", who, p);
    return c;
}

/* ---- the API ---- */

static void *alloc(size_t n)
{
    size_t sz = request(n);
    if (!H.lo)
        heap_init();
    struct chunk *c = sz ? take(sz) : NULL;
    if (!c)
        return NULL;
    H.used += csize(c);
    return (uint8_t *)c + HDR;
}

void *malloc(size_t n)
{
    void *p = alloc(n);
    return p ? p : out_of_memory("malloc(%zu)", n);
}

void *calloc(size_t n, size_t m)
{
    if (m && n > (size_t)-1 / m)
        return out_of_memory("calloc(%zu, %zu): the size overflows", n, m);
    size_t total = n * m;
    uint8_t *old_hwm = H.hwm;
    uint8_t *p = alloc(total);
    if (!p)
        return out_of_memory("calloc(%zu, %zu)", n, m);
    if (p < old_hwm)
        memset(p, 0, (size_t)((p + total < old_hwm ? p + total : old_hwm) - p));
    return p;
}

void free(void *p)
{
    if (!p)
        return;
    struct chunk *c = owner(p, "free");
    H.used -= csize(c);
    release(c);
}

/* Grows in-use chunk c in place to sz bytes if its neighbour allows. */
static bool grow(struct chunk *c, size_t sz)
{
    size_t have = csize(c);
    uint8_t *next = (uint8_t *)c + have;
    if (next == H.top) {
        if ((size_t)(H.hi - (uint8_t *)c) < sz)
            return false;
        c->head = sz | (c->head & PREV_INUSE);
        H.top = (uint8_t *)c + sz;
        if (H.top > H.hwm)
            H.hwm = H.top;
        return true;
    }
    struct chunk *nc = at(next, 0);
    if (in_use(nc) || have + csize(nc) < sz)
        return false;
    bin_remove(nc);
    have += csize(nc);
    c->head = have | (c->head & PREV_INUSE);
    at(c, (ptrdiff_t)have)->head |= PREV_INUSE;
    trim(c, sz);
    return true;
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    struct chunk *c = owner(p, "realloc");
    size_t sz = request(n), have = csize(c);
    if (!sz)
        return out_of_memory("realloc(%p, %zu)", p, n);
    if (sz <= have || grow(c, sz)) {
        if (sz <= have)
            trim(c, sz);
        H.used += csize(c) - have;
        return p;
    }
    void *q = alloc(n);
    if (!q)
        return out_of_memory("realloc(%p, %zu)", p, n);
    memcpy(q, p, have - HDR);
    free(p);
    return q;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= 16)
        return malloc(n);
    if (n > ((size_t)1 << 40) || align > ((size_t)1 << 30))
        return out_of_memory("aligned_alloc(%zu, %zu)", align, n);
    uint8_t *p = alloc(n + align + MIN_CHUNK);
    if (!p)
        return out_of_memory("aligned_alloc(%zu, %zu)", align, n);
    struct chunk *c = at(p, -(ptrdiff_t)HDR);
    size_t have = csize(c);
    H.used -= have;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    if (a != p && (size_t)(a - p) < MIN_CHUNK)
        a += align;
    if (a != p) { /* give the lead back */
        size_t lead = (size_t)(a - p);
        struct chunk *ac = at(a, -(ptrdiff_t)HDR);
        ac->head = (have - lead) | PREV_INUSE;
        c->head = lead | (c->head & PREV_INUSE);
        release(c);
        c = ac;
    }
    trim(c, request(n));
    H.used += csize(c);
    return a;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = aligned_alloc(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *memalign(size_t align, size_t n)
{
    return aligned_alloc(align, n);
}

void glint_heap_null_on_failure(bool on)
{
    H.null_on_failure = on;
}

size_t glint_heap_used(void)
{
    return H.used;
}

size_t glint_heap_size(void)
{
    return (size_t)BOOT->heap_size;
}
