/*
 * internal.h - shared internals of the guest library (not installed).
 *
 * Names start with glint__ and are hidden: a guest cannot collide with them
 * by accident.  Everything here runs in ring 3 with no OS underneath.
 */
#ifndef GLINT_GUEST_INTERNAL_H
#define GLINT_GUEST_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glint/abi.h"
#include "glint/guest.h"
#include "glint/layout.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* The boot info page (read-only, filled by the host before the first run). */
#define BOOT ((const struct glint_boot_info *)(uintptr_t)GLINT_BOOT_INFO_GVA)

/* A hypercall: `out %al, $port` with AL = 0, or the same exit through the
 * host's exit gate where it offers one (glint/abi.h). */
#define GLINT__HYPERCALL(port)                                                      \
    __asm__ volatile("movq 0x10020, %%rdx\n\t"                                    \
                     "testq %%rdx, %%rdx\n\t"                                       \
                     "jz 1f\n\t"                                                    \
                     "leaq 2f(%%rip), %%rcx\n\t"                                    \
                     "jmp *%%rdx\n"                                                 \
                     "1: outb %%al, %0\n"                                           \
                     "2:"                                                           \
                     :                                                              \
                     : "N"(port), "a"(0)                                            \
                     : "rcx", "rdx", "memory", "cc")

static inline uint8_t *glint__out(void)
{
    return (uint8_t *)(uintptr_t)BOOT->output_base;
}

static inline struct glint_call_frame *glint__frame(void)
{
    return (struct glint_call_frame *)(uintptr_t)BOOT->input_base;
}

/* Set to 1 by _start once glint_main has returned (start.S). */
extern HIDDEN volatile uint8_t glint__ready;

/* The function table, bracketed by glint.ld. */
extern HIDDEN const struct glint_fn_desc __glint_fns_start[], __glint_fns_end[];

/* The descriptor of the function being called, or NULL outside a call. */
HIDDEN const struct glint_fn_desc *glint__current_fn(void);
/* Its name, or "glint_main" / "?" when there is none. */
HIDDEN const char *glint__current_name(void);
/* "int32", "string", ... */
HIDDEN const char *glint__type_name(unsigned t);

/* ---- aborting (abort.c) ---- */
__attribute__((noreturn, format(printf, 3, 4))) HIDDEN void glint__abort(uint32_t kind, int32_t code,
                                                                          const char *fmt, ...);
__attribute__((noreturn, format(printf, 3, 0))) HIDDEN void glint__vabort(uint32_t kind, int32_t code,
                                                                           const char *fmt, va_list ap);

/* ---- formatting (format.c) ---- */
/*
 * An output sink for the printf engine: bytes go to buf[0..cap); when it is
 * full, flush (if not NULL) is called to empty it, else the rest is dropped
 * (snprintf truncation).  `total` counts every byte produced.  `failed` is
 * set by a flush that could not deliver.
 */
struct glint_sink {
    char *buf;
    size_t cap;
    size_t pos;
    size_t total;
    void (*flush)(struct glint_sink *s);
    int failed;
};
HIDDEN void glint__sink_write(struct glint_sink *s, const char *p, size_t n);
HIDDEN void glint__sink_fill(struct glint_sink *s, char c, size_t n);
__attribute__((format(printf, 2, 0))) HIDDEN void glint__vformat(struct glint_sink *s, const char *fmt,
                                                                  va_list ap);
/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8
 * sequence (n itself when s[0..n) ends on a boundary). */
HIDDEN size_t glint__utf8_cut(const char *s, size_t n);
/* Replaces bytes of s[0..n) that are not valid UTF-8 with '?' (the host
 * accepts only valid UTF-8 in strings). */
HIDDEN void glint__utf8_sanitize(char *s, size_t n);

/* Float conversions: conv is one of "fFeEgGaA"; flags as in format.c. */
struct glint_spec {
    unsigned flags;
    int width;      /* -1: none */
    int prec;       /* -1: none */
    char conv;
};
#define FL_LEFT  1u
#define FL_PLUS  2u
#define FL_SPACE 4u
#define FL_ALT   8u
#define FL_ZERO  16u
HIDDEN void glint__format_double(struct glint_sink *s, const struct glint_spec *sp, double x);
/* Pads `len` bytes of body with the spec's width: call before/after. */
HIDDEN void glint__pad(struct glint_sink *s, const struct glint_spec *sp, size_t len, bool before);

/* ---- big decimal numbers (bignum.c), used by printf and strtod ---- */
#define BIG_LIMBS 140
struct glint_big {
    int n;                      /* limbs in use; 0 means the value 0 */
    uint32_t limb[BIG_LIMBS];   /* base 10^9, least significant first */
};
HIDDEN void glint__big_set(struct glint_big *b, uint64_t v);
HIDDEN void glint__big_mul_small(struct glint_big *b, uint32_t m);
HIDDEN void glint__big_mul_pow2(struct glint_big *b, unsigned k);
HIDDEN void glint__big_mul_pow5(struct glint_big *b, unsigned k);
HIDDEN int glint__big_cmp(const struct glint_big *a, const struct glint_big *b);
/* Writes the decimal digits (no leading zeros; "" for 0); returns their count. */
HIDDEN int glint__big_digits(const struct glint_big *b, char *out);
/* Sets b from decimal digit characters d[0..n) ('0'..'9'). */
HIDDEN void glint__big_from_digits(struct glint_big *b, const char *d, int n);

/* ---- host calls (hostcall.c) ---- */
/* print(text[0..len)); returns 0 or the glint_host_call code. */
HIDDEN int glint__print(const char *text, size_t len);
/* Sends one log message to the host (GLINT_LOG_HOSTFN); no reply (hostcall.c). */
HIDDEN void glint__log_send(unsigned level, const char *file, size_t file_len, uint32_t line,
                            const char *msg, size_t len);

#endif
