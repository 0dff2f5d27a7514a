/*
 * call.c - the current call: argument accessors and typed results.
 *
 * The call frame is at input_base and the result frame at output_base
 * (both from the boot info page).  Accessors and glint_return_* check the
 * function's declared signature (its descriptor in .glint.fns, found by
 * the frame's fn_index) and abort with a message naming the mismatch.
 * Large results are placed right after the result frame; their location
 * is an offset from output_base.
 */
#include <string.h>

#include "internal.h"

#define DATA_OFF sizeof(struct glint_result_frame)

const struct glint_fn_desc *glint__current_fn(void)
{
    if (!glint__ready)
        return NULL;
    const struct glint_fn_desc *d = __glint_fns_start + glint__frame()->fn_index;
    return d < __glint_fns_end ? d : NULL;
}

const char *glint__current_name(void)
{
    const struct glint_fn_desc *d = glint__current_fn();
    return d ? d->name : glint__ready ? "?" : "glint_main";
}

const char *glint__type_name(unsigned t)
{
    static const char names[GLINT_TYPE_COUNT][8] = {"void", "bool", "int32", "uint32", "int64",
                                                    "uint64", "float", "double", "string", "bytes"};
    return t < GLINT_TYPE_COUNT ? names[t] : "invalid";
}

/* ---- arguments ---- */

__attribute__((noreturn, cold)) static void bad_arg(const glint_args *a, unsigned i, glint_type want,
                                                     const char *who)
{
    if (!glint__ready)
        glint__abort(GLINT_ABORT_USER, 0, "glint_main: %s(%u) called outside a guest call", who, i);
    if (i >= a->nargs)
        glint__abort(GLINT_ABORT_USER, 0, "%s: %s(%u): no argument %u (the call has %u)",
                     glint__current_name(), who, i, i, a->nargs);
    glint__abort(GLINT_ABORT_USER, 0, "%s: %s(%u): argument %u is %s, not %s", glint__current_name(),
                 who, i, i, glint__type_name(a->args[i].type), glint__type_name(want));
}

static inline uint64_t arg(const glint_args *a, unsigned i, glint_type t, const char *who)
{
    if (__builtin_expect(i >= a->nargs || a->args[i].type != (uint32_t)t, 0))
        bad_arg(a, i, t, who);
    return a->args[i].bits;
}

size_t glint_arg_count(const glint_args *a)
{
    return a->nargs;
}

bool glint_arg_bool(const glint_args *a, unsigned i)
{
    return arg(a, i, GLINT_BOOL, "glint_arg_bool") != 0;
}

int32_t glint_arg_i32(const glint_args *a, unsigned i)
{
    return (int32_t)(uint32_t)arg(a, i, GLINT_I32, "glint_arg_i32");
}

uint32_t glint_arg_u32(const glint_args *a, unsigned i)
{
    return (uint32_t)arg(a, i, GLINT_U32, "glint_arg_u32");
}

int64_t glint_arg_i64(const glint_args *a, unsigned i)
{
    return (int64_t)arg(a, i, GLINT_I64, "glint_arg_i64");
}

uint64_t glint_arg_u64(const glint_args *a, unsigned i)
{
    return arg(a, i, GLINT_U64, "glint_arg_u64");
}

float glint_arg_f32(const glint_args *a, unsigned i)
{
    uint32_t b = (uint32_t)arg(a, i, GLINT_F32, "glint_arg_f32");
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

double glint_arg_f64(const glint_args *a, unsigned i)
{
    uint64_t b = arg(a, i, GLINT_F64, "glint_arg_f64");
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

const char *glint_arg_string(const glint_args *a, unsigned i, size_t *len)
{
    uint64_t p = arg(a, i, GLINT_STRING, "glint_arg_string");
    if (len)
        *len = a->args[i].len;
    return (const char *)(uintptr_t)p;
}

const uint8_t *glint_arg_bytes(const glint_args *a, unsigned i, size_t *len)
{
    uint64_t p = arg(a, i, GLINT_BYTES, "glint_arg_bytes");
    if (len)
        *len = a->args[i].len;
    return (const uint8_t *)(uintptr_t)p;
}

/* ---- results ---- */

__attribute__((noreturn, cold)) static void bad_return(glint_type t, const char *who)
{
    if (!glint__ready)
        glint__abort(GLINT_ABORT_USER, 0, "glint_main: %s called outside a guest call", who);
    const struct glint_fn_desc *d = glint__current_fn();
    if (!d)
        glint__abort(GLINT_ABORT_USER, 0, "%s: the call frame names function %u, which is not in "
                     "the function table", who, glint__frame()->fn_index);
    glint__abort(GLINT_ABORT_USER, 0, "%s: %s sets a %s result, but %s is declared to return %s",
                 d->name, who, glint__type_name(t), d->name, glint__type_name(d->ret));
}

__attribute__((noreturn, cold)) static void too_big(const char *who, size_t len)
{
    uint64_t size = BOOT->output_size;
    glint__abort(GLINT_ABORT_USER, 0,
                 "%s: %s: a result of %zu bytes does not fit in the output buffer (%llu bytes, "
                 "%llu usable for a result)",
                 glint__current_name(), who, len, (unsigned long long)size,
                 (unsigned long long)(size > DATA_OFF + 1 ? size - DATA_OFF - 1 : 0));
}

/* The result frame, after checking that the function returns type t. */
static inline struct glint_result_frame *result(glint_type t, const char *who)
{
    const struct glint_fn_desc *d = glint__current_fn();
    if (__builtin_expect(!d || d->ret != t, 0))
        bad_return(t, who);
    return (struct glint_result_frame *)glint__out();
}

static inline void set(struct glint_result_frame *r, glint_type t, uint64_t len, uint64_t bits)
{
    r->value.type = t;
    r->value.reserved = 0;
    r->value.len = len;
    r->value.bits = bits;
    r->reserved = 0;
    r->status = GLINT_RESULT_OK;
}

void glint_return_bool(bool v)
{
    set(result(GLINT_BOOL, "glint_return_bool"), GLINT_BOOL, 0, v ? 1 : 0);
}

void glint_return_i32(int32_t v)
{
    set(result(GLINT_I32, "glint_return_i32"), GLINT_I32, 0, (uint64_t)(int64_t)v);
}

void glint_return_u32(uint32_t v)
{
    set(result(GLINT_U32, "glint_return_u32"), GLINT_U32, 0, v);
}

void glint_return_i64(int64_t v)
{
    set(result(GLINT_I64, "glint_return_i64"), GLINT_I64, 0, (uint64_t)v);
}

void glint_return_u64(uint64_t v)
{
    set(result(GLINT_U64, "glint_return_u64"), GLINT_U64, 0, v);
}

void glint_return_f32(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    set(result(GLINT_F32, "glint_return_f32"), GLINT_F32, 0, b);
}

void glint_return_f64(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    set(result(GLINT_F64, "glint_return_f64"), GLINT_F64, 0, b);
}

/* Copies len bytes (and a NUL for strings) after the result frame.  The
 * source may lie in the output buffer itself (memmove). */
static void copy_out(glint_type t, const void *p, size_t len, const char *who)
{
    struct glint_result_frame *r = result(t, who);
    uint64_t size = BOOT->output_size;
    if (size < DATA_OFF + 1 || len > size - DATA_OFF - 1)
        too_big(who, len);
    uint8_t *data = (uint8_t *)r + DATA_OFF;
    if (len && data != p)
        memmove(data, p, len);
    data[len] = 0;
    set(r, t, len, DATA_OFF);
}

void glint_return_string(const char *s)
{
    copy_out(GLINT_STRING, s, strlen(s), "glint_return_string");
}

void glint_return_stringn(const char *s, size_t len)
{
    copy_out(GLINT_STRING, s, len, "glint_return_stringn");
}

void glint_return_bytes(const void *p, size_t len)
{
    copy_out(GLINT_BYTES, p, len, "glint_return_bytes");
}

void *glint_result_buffer(size_t len)
{
    uint64_t size = BOOT->output_size;
    if (size < DATA_OFF || len > size - DATA_OFF)
        return NULL;
    return glint__out() + DATA_OFF;
}

void glint_return_buffer(size_t len)
{
    struct glint_result_frame *r = result(GLINT_BYTES, "glint_return_buffer");
    uint64_t size = BOOT->output_size;
    if (size < DATA_OFF || len > size - DATA_OFF)
        too_big("glint_return_buffer", len);
    set(r, GLINT_BYTES, len, DATA_OFF);
}

void glint_return_error(const char *fmt, ...)
{
    if (!glint__ready)
        glint__abort(GLINT_ABORT_USER, 0, "glint_main: glint_return_error called outside a guest call");
    struct glint_result_frame *r = (struct glint_result_frame *)glint__out();
    uint64_t size = BOOT->output_size;
    struct glint_sink s = {0};
    s.buf = (char *)r + DATA_OFF;
    s.cap = size > DATA_OFF + 1 ? (size_t)(size - DATA_OFF - 1) : 0;
    va_list ap;
    va_start(ap, fmt);
    glint__vformat(&s, fmt, ap);
    va_end(ap);
    size_t n = s.total > s.pos ? glint__utf8_cut(s.buf, s.pos) : s.pos;
    s.buf[n] = '\0';
    glint__utf8_sanitize(s.buf, n);
    set(r, GLINT_STRING, n, DATA_OFF);
    r->status = GLINT_RESULT_ERROR;
}
