/*
 * glint/guest.h - the guest library (libglint-guest.a) API.
 *
 * A guest is a static x86-64 ELF built with `glint-cc`.  It declares the
 * functions the host may call with GLINT_FUNCTION, at file scope; the
 * declarations land in the ".glint.fns" section, which the host reads at
 * load time.  A guest may also define `void glint_main(void)`, run once
 * during initialization (before the first call) for its own set-up.
 *
 *     #include <glint/guest.h>
 *
 *     static void Add(const glint_args *a)
 *     {
 *         glint_return_i32(glint_arg_i32(a, 0) + glint_arg_i32(a, 1));
 *     }
 *     GLINT_FUNCTION(Add, GLINT_I32, GLINT_I32, GLINT_I32);
 *
 * The host checks argument count and types before the call, so the
 * accessors need no checks of their own; asking for the wrong type or index
 * aborts the guest with a message naming it.  Memory the host provides
 * (heap, .bss) is zero on entry.
 *
 * The guest runs in ring 3 with no OS: no files, no clock, no threads.  The
 * usual C helpers come from this library: <string.h>, <stdlib.h>, <stdio.h>
 * (printf family to the host's print function), <assert.h>, <ctype.h>.
 */
#ifndef GLINT_GUEST_H
#define GLINT_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glint/abi.h"

/* Arguments of the current call (a view of the call frame). */
typedef struct glint_call_frame glint_args;

/* Declares guest function `fn` (a `void fn(const glint_args *)`), exported
 * under its own name, returning `rtype` and taking the listed parameter types. */
#define GLINT_FUNCTION(fn, rtype, ...)                                                   \
    static void fn(const glint_args *);                                                  \
    __attribute__((used, section(".glint.fns"), aligned(8)))                             \
    static const struct glint_fn_desc glint_fn_desc_##fn = {                             \
        .entry = (uint64_t)(uintptr_t)&fn,                                               \
        .ret = (rtype),                                                                  \
        .nparams = (uint8_t)(sizeof((uint8_t[]){0, ##__VA_ARGS__}) - 1),                 \
        .params = {__VA_ARGS__},                                                         \
        .name = #fn,                                                                     \
    }

/* Optional guest initialization, run once before the first call. */
void glint_main(void);

/* ---- arguments (index from 0) ---- */
size_t glint_arg_count(const glint_args *a);
bool glint_arg_bool(const glint_args *a, unsigned i);
int32_t glint_arg_i32(const glint_args *a, unsigned i);
uint32_t glint_arg_u32(const glint_args *a, unsigned i);
int64_t glint_arg_i64(const glint_args *a, unsigned i);
uint64_t glint_arg_u64(const glint_args *a, unsigned i);
float glint_arg_f32(const glint_args *a, unsigned i);
double glint_arg_f64(const glint_args *a, unsigned i);
/* NUL-terminated; *len (if not NULL) gets the byte length.  Valid for the call. */
const char *glint_arg_string(const glint_args *a, unsigned i, size_t *len);
const uint8_t *glint_arg_bytes(const glint_args *a, unsigned i, size_t *len);

/* ---- results: call one of these once before returning (none for void) ---- */
void glint_return_bool(bool v);
void glint_return_i32(int32_t v);
void glint_return_u32(uint32_t v);
void glint_return_i64(int64_t v);
void glint_return_u64(uint64_t v);
void glint_return_f32(float v);
void glint_return_f64(double v);
/* Copy into the output buffer; a result too large for it aborts the guest. */
void glint_return_string(const char *s);
void glint_return_stringn(const char *s, size_t len);
void glint_return_bytes(const void *p, size_t len);
/* Zero-copy: space for `len` bytes of a BYTES result, in the output buffer
 * (NULL if it cannot fit).  Fill it, then return glint_return_buffer(len).
 * A host call (printf included) made in between overwrites that space. */
void *glint_result_buffer(size_t len);
void glint_return_buffer(size_t len);
/* Fails the call: the host gets GLINT_E_GUEST_ERROR with this message.
 * The sandbox stays usable.  Arguments must not point into the output
 * buffer (the message is formatted there). */
void glint_return_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- calling host functions ---- */
typedef struct glint_val {
    glint_type type;
    union {
        bool b;
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        float f32;
        double f64;
        struct {
            const char *ptr; /* NUL-terminated when received from the host */
            size_t len;
        } str;
        struct {
            const uint8_t *ptr;
            size_t len;
        } bytes;
    } v;
} glint_val;

#define GLINT_VAL_BOOL(x) ((glint_val){.type = GLINT_BOOL, .v.b = (x)})
#define GLINT_VAL_I32(x) ((glint_val){.type = GLINT_I32, .v.i32 = (x)})
#define GLINT_VAL_U32(x) ((glint_val){.type = GLINT_U32, .v.u32 = (x)})
#define GLINT_VAL_I64(x) ((glint_val){.type = GLINT_I64, .v.i64 = (x)})
#define GLINT_VAL_U64(x) ((glint_val){.type = GLINT_U64, .v.u64 = (x)})
#define GLINT_VAL_F32(x) ((glint_val){.type = GLINT_F32, .v.f32 = (x)})
#define GLINT_VAL_F64(x) ((glint_val){.type = GLINT_F64, .v.f64 = (x)})
#define GLINT_VAL_STR(s) ((glint_val){.type = GLINT_STRING, .v.str = {(s), __builtin_strlen(s)}})
#define GLINT_VAL_BYTES(p, n) ((glint_val){.type = GLINT_BYTES, .v.bytes = {(const uint8_t *)(p), (n)}})

/*
 * Calls host function `name` with `nargs` arguments, expecting a result of
 * type `ret_type` (GLINT_VOID for none) in *ret (may be NULL).  Only valid
 * during a guest call (not in glint_main).  Returns 0 on success; otherwise
 * -1 when the host refused the call (unregistered name, signature mismatch,
 * arguments too large) and -2 when the host function failed, and
 * glint_host_error() says why.  String and bytes results point into the
 * input buffer and stay valid until the next host call or the end of the
 * guest call.
 */
int glint_host_call(const char *name, glint_type ret_type, glint_val *ret, size_t nargs,
                    const glint_val *args);
/* Message of the last failed glint_host_call ("" if none). */
const char *glint_host_error(void);

/* ---- logging ---- */
/*
 * glint_log(level, fmt, ...) sends one printf-style message, with the
 * source file and line, to the host's log (by default the host prints
 * warnings and errors to its stderr).  Levels: GLINT_LOG_ERROR, _WARN,
 * _INFO, _DEBUG, _TRACE.  The host sets the most verbose level it wants
 * and the guest reads it without an exit: a message above it costs one
 * comparison, and neither its format nor its arguments are evaluated.
 * Each message sent is one host call (one exit); messages longer than
 * GLINT_LOG_MSG_MAX bytes are truncated.  The host caps what it takes per
 * call (by default 100 messages, 64 KiB) and counts what it drops.  Works
 * in glint_main too.
 */
#define GLINT_LOG_MSG_MAX 4000u
#define glint_log(level, ...)                                                            \
    do {                                                                                 \
        if (glint_log_enabled(level))                                                    \
            glint_log_at((level), __FILE__, __LINE__, __VA_ARGS__);                      \
    } while (0)
/* True if the host wants messages of `level` now. */
bool glint_log_enabled(unsigned level);
/* The most verbose level the host wants now (GLINT_LOG_OFF: none). */
unsigned glint_log_level(void);
/* What glint_log expands to, without the level check (it checks again). */
void glint_log_at(unsigned level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- tracing spans ---- */
/*
 * glint_span_begin(name) ... glint_span_end() marks a stretch of the current
 * guest call as a span in the host's trace, nested under the call's span
 * (and under any guest span still open).  Spans nest: each end closes the
 * innermost open one; spans left open end with the call.  When the host
 * traces nothing, both cost one comparison and make no exit; when it does,
 * each is one host call (one exit).  Names are ASCII, at most 63 bytes
 * (longer ones are cut).  The host keeps at most 32 open and 1024 per call
 * and drops (counts) the rest.  Only during a guest call, not in glint_main.
 */
void glint_span_begin(const char *name);
void glint_span_end(void);
/* True if the host wants spans for the current call. */
bool glint_span_enabled(void);

/* ---- failure ---- */
/* Aborts the sandbox with `code` and a formatted message (at most
 * GLINT_ABORT_MSG_MAX bytes reach the host).  Never returns. */
__attribute__((noreturn, format(printf, 2, 3))) void glint_abort(int32_t code, const char *fmt,
                                                                  ...);
/* "file:line: message" abort, used by assert() and GLINT_PANIC. */
__attribute__((noreturn, format(printf, 3, 4))) void glint_panic_at(const char *file, int line,
                                                                     const char *fmt, ...);
#define GLINT_PANIC(...) glint_panic_at(__FILE__, __LINE__, __VA_ARGS__)

/*
 * Heap exhaustion: by default malloc/calloc/realloc/aligned_alloc that
 * cannot be satisfied stop the guest with GLINT_E_GUEST_OOM (the host gets
 * the size asked and the heap's size).  After glint_heap_null_on_failure(true)
 * they return NULL instead, as ISO C allows.
 */
void glint_heap_null_on_failure(bool on);
/* Bytes of heap in use and in total (for tests and diagnostics). */
size_t glint_heap_used(void);
size_t glint_heap_size(void);

#endif /* GLINT_GUEST_H */
