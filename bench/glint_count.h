/*
 * glint_count.h - the counting pass: guest instructions of glint calls.
 */
#ifndef BENCH_GLINT_COUNT_H
#define BENCH_GLINT_COUNT_H

#include <stddef.h>

#include "glint/glint.h"

/* Guest instructions of one call of each bench function, and of init. */
struct glint_counts {
    long init, echo, call_host, echo_string, add;
};

/* Runs the counting pass on a throw-away sandbox of `img` (see
 * glint_count.c).  0, or -1 with a one-line reason in why. */
int glint_count_insns(const glint_image *img, struct glint_counts *out, char *why, size_t len);

#endif
