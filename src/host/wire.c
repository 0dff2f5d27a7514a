/* wire.c - encoding and checking values that cross the VM boundary. */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "wire.h"


uint64_t glint_wire_scalar(const glint_value *v)
{
    uint64_t bits = 0;
    switch (v->type) {
    case GLINT_BOOL: bits = v->v.b ? 1 : 0; break;
    case GLINT_I32: bits = (uint64_t)(int64_t)v->v.i32; break;
    case GLINT_U32: bits = v->v.u32; break;
    case GLINT_I64: bits = (uint64_t)v->v.i64; break;
    case GLINT_U64: bits = v->v.u64; break;
    case GLINT_F32: { uint32_t b; memcpy(&b, &v->v.f32, 4); bits = b; break; }
    case GLINT_F64: memcpy(&bits, &v->v.f64, 8); break;
    default: break;
    }
    return bits;
}

int glint_wire_decode(const struct glint_abi_value *w, glint_type expect, const uint8_t *window,
                      uint64_t window_size, uint8_t *copy_buf, size_t copy_cap, size_t *copy_off,
                      glint_value *out, char *why, size_t why_size)
{
    if (w->type != (uint32_t)expect) {
        snprintf(why, why_size, "is %s%s (type tag %u), expected %s",
                 w->type < GLINT_TYPE_COUNT ? "a " : "an invalid value",
                 w->type < GLINT_TYPE_COUNT ? glint_type_name((glint_type)w->type) : "", w->type,
                 glint_type_name(expect));
        return 0;
    }
    out->type = expect;
    uint64_t b = w->bits;
    switch (expect) {
    case GLINT_VOID: break;
    case GLINT_BOOL:
        if (b > 1) {
            snprintf(why, why_size, "is a bool with value %llu (must be 0 or 1)",
                     (unsigned long long)b);
            return 0;
        }
        out->v.b = b != 0;
        break;
    case GLINT_I32: out->v.i32 = (int32_t)(uint32_t)b; break;
    case GLINT_U32: out->v.u32 = (uint32_t)b; break;
    case GLINT_I64: out->v.i64 = (int64_t)b; break;
    case GLINT_U64: out->v.u64 = b; break;
    case GLINT_F32: { uint32_t f = (uint32_t)b; memcpy(&out->v.f32, &f, 4); break; }
    case GLINT_F64: memcpy(&out->v.f64, &b, 8); break;
    case GLINT_STRING:
    case GLINT_BYTES: {
        if (!glint_range_ok(b, w->len, window_size)) {
            snprintf(why, why_size, "has %llu bytes at offset 0x%llx, outside the %llu-byte buffer",
                     (unsigned long long)w->len, (unsigned long long)b,
                     (unsigned long long)window_size);
            return 0;
        }
        size_t off = *copy_off;
        if (!glint_range_ok(off, w->len + 1, copy_cap)) {
            snprintf(why, why_size, "has %llu bytes, more than fit", (unsigned long long)w->len);
            return 0;
        }
        uint8_t *dst = copy_buf + off;
        memcpy(dst, window + b, (size_t)w->len);
        dst[w->len] = 0;
        *copy_off = off + (size_t)w->len + 1;
        if (expect == GLINT_STRING && !glint_utf8_valid(dst, (size_t)w->len)) {
            snprintf(why, why_size, "is a string that is not valid UTF-8");
            return 0;
        }
        if (expect == GLINT_STRING)
            out->v.str.ptr = (const char *)dst, out->v.str.len = (size_t)w->len;
        else
            out->v.bytes.ptr = dst, out->v.bytes.len = (size_t)w->len;
        break;
    }
    }
    return 1;
}

void glint_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}
