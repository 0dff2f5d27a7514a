/*
 * wire.h - values crossing the VM boundary (internal).
 *
 * Encoding host values into guest memory, and decoding guest-written
 * values: always from a copy of the guest's structure, with every offset
 * and length checked against the window it must lie in.
 */
#ifndef GLINT_WIRE_H
#define GLINT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "glint/glint.h"
#include "utf8.h"

/* True if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */

/*
 * Decodes a guest-written value `w` (a copy) that must have type `expect`.
 * STRING/BYTES data is at offset w->bits, length w->len, in `window`
 * (window_size bytes of guest memory); it is copied to copy_buf (copy_cap
 * bytes, advancing *copy_off) with a NUL after it.  On failure returns 0 and
 * writes a reason ("is a string, expected int32") into why.
 */
int glint_wire_decode(const struct glint_abi_value *w, glint_type expect, const uint8_t *window,
                      uint64_t window_size, uint8_t *copy_buf, size_t copy_cap, size_t *copy_off,
                      glint_value *out, char *why, size_t why_size);

/* Scalar bits of a host value (type already checked). */
uint64_t glint_wire_scalar(const glint_value *v);

/* Replaces control characters with '?' so that guest text stays one line. */
void glint_sanitize(char *s);

#endif
