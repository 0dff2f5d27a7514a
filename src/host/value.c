/* value.c - value constructors, type names and signature formatting. */
#include <stdio.h>
#include <string.h>

#include "glint/glint.h"

#define API __attribute__((visibility("default")))

API glint_value glint_str(const char *s, size_t len)
{
    glint_value v = {.type = GLINT_STRING};
    v.v.str.ptr = s;
    v.v.str.len = len;
    return v;
}

/* A NULL string is taken as the empty string. */
API glint_value glint_cstr(const char *s)
{
    return s ? glint_str(s, strlen(s)) : glint_str("", 0);
}

API glint_value glint_bytes(const void *p, size_t len)
{
    glint_value v = {.type = GLINT_BYTES};
    v.v.bytes.ptr = p;
    v.v.bytes.len = len;
    return v;
}

API const char *glint_type_name(glint_type type)
{
    static const char *const names[GLINT_TYPE_COUNT] = {
        [GLINT_VOID] = "void",     [GLINT_BOOL] = "bool",   [GLINT_I32] = "int32",
        [GLINT_U32] = "uint32",    [GLINT_I64] = "int64",   [GLINT_U64] = "uint64",
        [GLINT_F32] = "float",     [GLINT_F64] = "double",  [GLINT_STRING] = "string",
        [GLINT_BYTES] = "bytes",
    };
    if ((unsigned)type < GLINT_TYPE_COUNT)
        return names[type];
    return "?";
}

/* Text written so far; `len` counts what would be written with unlimited room. */
struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len < o->size) {
        size_t room = o->size - o->len - 1; /* keep one byte for the NUL */
        size_t k = n < room ? n : room;
        memcpy(o->buf + o->len, s, k);
        o->buf[o->len + k] = '\0';
    }
    o->len += n;
}

API size_t glint_function_format(const glint_function *fn, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    if (size)
        buf[0] = '\0';
    put(&o, fn->name ? fn->name : "?");
    put(&o, "(");
    uint32_t n = fn->nparams < GLINT_MAX_PARAMS ? fn->nparams : GLINT_MAX_PARAMS;
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            put(&o, ", ");
        put(&o, glint_type_name(fn->params[i]));
    }
    put(&o, ") -> ");
    put(&o, glint_type_name(fn->ret));
    return o.len;
}
