/* error.h - filling glint_error (internal). */
#ifndef GLINT_ERROR_H
#define GLINT_ERROR_H

#include "glint/glint.h"

/*
 * Clears *err (if not NULL) and records `status` with a printf-style
 * one-line message.  Returns `status`, so callers can `return glint_fail(...)`.
 */
glint_status glint_fail(glint_error *err, glint_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets *err to GLINT_OK with an empty message. */
void glint_error_clear(glint_error *err);

/* Checked size arithmetic: false on overflow. */
static inline int glint_add_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* True if [off, off+len) lies within [0, size), without overflow. */
static inline int glint_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

#endif /* GLINT_ERROR_H */
