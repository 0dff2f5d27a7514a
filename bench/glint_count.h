/*
 * glint_count.h - the counting pass: guest instructions of glint calls.
 */
#ifndef BENCH_GLINT_COUNT_H
#define BENCH_GLINT_COUNT_H

#include <stddef.h>
#include <stdint.h>

#include "glint/glint.h"

/* Guest instructions of one call of each bench function, and of init. */
struct glint_counts {
    long init, echo, call_host, echo_string, add, touch; /* touch: Touch(TOUCH_PAGES) */
};

/* Runs the counting pass on a throw-away sandbox of `img` (see
 * glint_count.c).  0, or -1 with a one-line reason in why. */
int glint_count_insns(const glint_image *img, struct glint_counts *out, char *why, size_t len);

/* This process's glint guest-memory mappings ("memfd:glint-guest", offset 0). */
#define GUEST_MAPS_MAX 64
struct guest_maps {
    size_t n;
    uintptr_t lo[GUEST_MAPS_MAX], hi[GUEST_MAPS_MAX];
};
void guest_maps_read(struct guest_maps *m);
/* The one mapping of `after` that is not in `before`: its start, and its
 * length in *len; 0 if there is none or more than one. */
uintptr_t guest_maps_new(const struct guest_maps *before, const struct guest_maps *after,
                         size_t *len);

#endif
