/*
 * hotpages.h - hot pages, shared by the backends' dirty-page tracking
 * (kvm.c: the dirty log; process.c: userfaultfd write protection).
 *
 * Protecting a page again after a restore costs a write fault on the
 * guest's next write to it (an exit to KVM, or a TLB flush on the child's
 * CPU), and some pages (the stack, the call buffers, a runtime's own state)
 * are written after every restore.  A page seen written after two restores
 * running becomes hot, up to GLINT_HOT_MAX: it stays writable and is
 * reported dirty at every read of the tracking instead.
 */
#ifndef GLINT_HOTPAGES_H
#define GLINT_HOTPAGES_H

#include <stdint.h>
#include <stdlib.h>

#define GLINT_HOT_MAX 16u /* per sandbox: each costs a 4 KiB copy per restore */

struct glint_hot {
    uint64_t *hot;  /* bitmap of hot pages */
    uint64_t *prev; /* pages written before the previous read */
    uint32_t n;     /* hot pages so far */
};

/* Bitmaps for `pages` pages; 0, or -1 (out of memory). */
static inline int glint_hot_init(struct glint_hot *h, uint64_t pages)
{
    uint64_t words = (pages + 63) / 64 + 1;
    h->hot = calloc(words, sizeof *h->hot);
    h->prev = calloc(words, sizeof *h->prev);
    h->n = 0;
    return h->hot && h->prev ? 0 : -1;
}

static inline void glint_hot_free(struct glint_hot *h)
{
    free(h->hot);
    free(h->prev);
    h->hot = h->prev = NULL;
}

/*
 * One read of the tracking: `written` holds the pages written since the
 * previous one (words 64-bit words).  Adds written and hot pages to
 * `report` (the pages a restore copies back) and leaves in `written` only
 * the pages to protect again (written, not hot).  Returns whether any is
 * left there.
 */
static inline int glint_hot_fold(struct glint_hot *h, uint64_t *written, uint64_t *report, uint64_t words)
{
    int any = 0;
    for (uint64_t w = 0; w < words; w++) {
        uint64_t fresh = written[w] & h->prev[w] & ~h->hot[w]; /* written again: hot */
        h->prev[w] = written[w];
        for (uint64_t bits = fresh; bits && h->n < GLINT_HOT_MAX; bits &= bits - 1) {
            h->hot[w] |= bits & -bits;
            h->n++;
        }
        report[w] |= written[w] | h->hot[w];
        written[w] &= ~h->hot[w];
        any |= written[w] != 0;
    }
    return any;
}

#endif
