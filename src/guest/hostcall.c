/*
 * hostcall.c - calling host functions (glint_host_call) and print.
 *
 * The request is a glint_hostcall_frame at the start of the output buffer,
 * followed by the name and the string/bytes data (located by offsets), then
 * an OUT to GLINT_PORT_HOSTCALL.  The host answers with a
 * glint_hostcall_reply in the input buffer at GLINT_ALIGN16(data_end) of the
 * current call frame.  Failures keep a copy of the host's message for
 * glint_host_error(): the reply itself is overwritten by the next call.
 *
 * A result the guest function set before the host call survives it (see
 * keep_result); memory from glint_result_buffer that is not yet returned
 * does not: host calls (printf included) reuse the output buffer.
 */
#include <string.h>

#include "internal.h"

static char last_error[768];

const char *glint_host_error(void)
{
    return last_error;
}

__attribute__((format(printf, 2, 3))) static int fail(int rc, const char *fmt, ...)
{
    struct glint_sink s = {.buf = last_error, .cap = sizeof last_error - 1};
    va_list ap;
    va_start(ap, fmt);
    glint__vformat(&s, fmt, ap);
    va_end(ap);
    last_error[s.pos] = '\0';
    return rc;
}

static bool valid_type(uint32_t t)
{
    return t < GLINT_TYPE_COUNT;
}

/* Checks the request and writes the frame; returns 0 or a fail() code. */
static int build(const char *name, size_t name_len, glint_type ret_type, size_t nargs,
                 const glint_val *args)
{
    uint8_t *out = glint__out();
    uint64_t size = BOOT->output_size;
    struct glint_hostcall_frame *f = (struct glint_hostcall_frame *)out;
    uint64_t off = sizeof *f;
    if (off + name_len > size)
        return fail(-1, "host call %s: the output buffer (%llu bytes) is too small", name,
                    (unsigned long long)size);
    memcpy(out + off, name, name_len);
    f->name_off = off;
    f->name_len = (uint32_t)name_len;
    f->nargs = (uint32_t)nargs;
    f->ret_type = (uint32_t)ret_type;
    f->reserved = 0;
    off = GLINT_ALIGN16(off + name_len);
    for (size_t i = 0; i < nargs; i++) {
        const glint_val *v = &args[i];
        struct glint_abi_value *w = &f->args[i];
        if (!valid_type(v->type) || v->type == GLINT_VOID)
            return fail(-1, "host call %s: argument %zu has invalid type %d", name, i + 1, (int)v->type);
        w->type = (uint32_t)v->type;
        w->reserved = 0;
        w->len = 0;
        switch (v->type) {
        case GLINT_BOOL: w->bits = v->v.b ? 1 : 0; break;
        case GLINT_I32: w->bits = (uint64_t)(int64_t)v->v.i32; break;
        case GLINT_U32: w->bits = v->v.u32; break;
        case GLINT_F32: { uint32_t b; memcpy(&b, &v->v.f32, 4); w->bits = b; break; }
        case GLINT_STRING:
        case GLINT_BYTES: {
            const void *p = v->type == GLINT_STRING ? (const void *)v->v.str.ptr : (const void *)v->v.bytes.ptr;
            size_t len = v->type == GLINT_STRING ? v->v.str.len : v->v.bytes.len;
            if (len && !p)
                return fail(-1, "host call %s: argument %zu is a NULL pointer of %zu bytes", name,
                            i + 1, len);
            if (off > size || len > size - off)
                return fail(-1, "host call %s: arguments need more than the %llu-byte output buffer "
                            "(argument %zu has %zu bytes)", name, (unsigned long long)size, i + 1, len);
            if (len)
                memmove(out + off, p, len);
            w->len = len;
            w->bits = off;
            off = GLINT_ALIGN16(off + len);
            break;
        }
        default: memcpy(&w->bits, &v->v, 8); break; /* I64, U64, F64 */
        }
    }
    return 0;
}

/* Turns a successful reply's value into *ret. */
static int take_value(const char *name, const struct glint_hostcall_reply *r, glint_type ret_type,
                      glint_val *ret)
{
    if (r->value.type != (uint32_t)ret_type && ret_type != GLINT_VOID)
        return fail(-2, "host call %s: the reply is %s, expected %s", name,
                    glint__type_name(r->value.type), glint__type_name(ret_type));
    if (!ret)
        return 0;
    ret->type = ret_type;
    uint64_t b = r->value.bits;
    switch (ret_type) {
    case GLINT_VOID: break;
    case GLINT_BOOL: ret->v.b = b != 0; break;
    case GLINT_I32: ret->v.i32 = (int32_t)(uint32_t)b; break;
    case GLINT_U32: ret->v.u32 = (uint32_t)b; break;
    case GLINT_F32: { uint32_t f = (uint32_t)b; memcpy(&ret->v.f32, &f, 4); break; }
    case GLINT_STRING:
        ret->v.str.ptr = (const char *)(uintptr_t)b;
        ret->v.str.len = r->value.len;
        break;
    case GLINT_BYTES:
        ret->v.bytes.ptr = (const uint8_t *)(uintptr_t)b;
        ret->v.bytes.len = r->value.len;
        break;
    default: memcpy(&ret->v, &b, 8); break;
    }
    return 0;
}

/* Bytes of output buffer the request needs (frame, name, data; 16-aligned pieces). */
static uint64_t request_size(size_t name_len, size_t nargs, const glint_val *args)
{
    uint64_t n = GLINT_ALIGN16(sizeof(struct glint_hostcall_frame) + (uint64_t)name_len);
    for (size_t i = 0; i < nargs; i++) {
        uint64_t len = args[i].type == GLINT_STRING ? args[i].v.str.len
                     : args[i].type == GLINT_BYTES ? args[i].v.bytes.len : 0;
        if (len > ((uint64_t)1 << 40))
            return UINT64_MAX;
        n += GLINT_ALIGN16(len);
    }
    return n;
}

/*
 * The request overwrites the start of the output buffer, where a result
 * set before the host call lives.  Keep the result frame, and move string
 * or bytes result data out of the way (above the request) and back.
 */
struct kept_result {
    struct glint_result_frame frame;
    uint64_t data_len; /* 0: nothing moved */
    uint64_t data_off; /* where it waits during the call */
};

static int keep_result(struct kept_result *k, const char *name, uint64_t need)
{
    uint8_t *out = glint__out();
    uint64_t size = BOOT->output_size;
    memcpy(&k->frame, out, sizeof k->frame);
    k->data_len = 0;
    const struct glint_abi_value *v = &k->frame.value;
    if (k->frame.status == GLINT_RESULT_NONE || (v->type != GLINT_STRING && v->type != GLINT_BYTES) ||
        v->bits != sizeof(struct glint_result_frame))
        return 0;
    uint64_t len = v->len + (v->type == GLINT_STRING); /* with its NUL */
    uint64_t at = GLINT_ALIGN16(need);
    if (at > size || len > size - at)
        return fail(-1, "host call %s: the output buffer (%llu bytes) cannot hold both the request "
                    "and the %llu-byte result set before it", name, (unsigned long long)size,
                    (unsigned long long)v->len);
    memmove(out + at, out + v->bits, len);
    k->data_len = len;
    k->data_off = at;
    return 0;
}

static void restore_result(const struct kept_result *k)
{
    uint8_t *out = glint__out();
    if (k->data_len)
        memmove(out + k->frame.value.bits, out + k->data_off, k->data_len);
    memcpy(out, &k->frame, sizeof k->frame);
}

int glint_host_call(const char *name, glint_type ret_type, glint_val *ret, size_t nargs,
                    const glint_val *args)
{
    if (!name)
        return fail(-1, "host call: the name is NULL");
    if (!glint__ready)
        return fail(-1, "host call %.63s: host functions can be called only during a guest call, "
                    "not in glint_main", name);
    size_t name_len = strnlen(name, GLINT_MAX_NAME + 1);
    if (name_len == 0 || name_len > GLINT_MAX_NAME)
        return fail(-1, "host call: the name '%.63s...' is empty or longer than %u bytes", name,
                    GLINT_MAX_NAME);
    if (nargs > GLINT_MAX_PARAMS || (nargs && !args))
        return fail(-1, "host call %s: %zu arguments (at most %u)", name, nargs, GLINT_MAX_PARAMS);
    if (!valid_type(ret_type))
        return fail(-1, "host call %s: invalid return type %d", name, (int)ret_type);
    struct kept_result kept;
    int rc = keep_result(&kept, name, request_size(name_len, nargs, args));
    if (rc)
        return rc;
    rc = build(name, name_len, ret_type, nargs, args);
    if (rc) {
        restore_result(&kept);
        return rc;
    }
    GLINT__HYPERCALL(GLINT_PORT_HOSTCALL);
    restore_result(&kept);
    const struct glint_call_frame *frame = glint__frame();
    struct glint_hostcall_reply r;
    memcpy(&r, (const uint8_t *)frame + GLINT_ALIGN16(frame->data_end), sizeof r);
    if (r.status == GLINT_HOSTCALL_OK)
        return take_value(name, &r, ret_type, ret);
    rc = r.status == GLINT_HOSTCALL_REFUSED ? -1 : -2;
    if (!r.message_len)
        return fail(rc, "host call %s: %s, with no message", name,
                    rc == -1 ? "refused by the host" : "failed");
    return fail(rc, "%.*s", (int)(r.message_len < sizeof last_error ? r.message_len : sizeof last_error),
                (const char *)(uintptr_t)r.message);
}

int glint__print(const char *text, size_t len)
{
    glint_val v = {.type = GLINT_STRING};
    v.v.str.ptr = text;
    v.v.str.len = len;
    return glint_host_call("print", GLINT_VOID, NULL, 1, &v);
}

/*
 * A log message: like glint_host_call, also in glint_main, but the host
 * sends no reply (glint/abi.h), so nothing is read back.  The file name is
 * sent as it is; the host shows one that is not valid UTF-8 as "?".
 */
void glint__log_send(unsigned level, const char *file, size_t file_len, uint32_t line,
                     const char *msg, size_t len)
{
    static const char name[] = GLINT_LOG_HOSTFN;
    glint_val args[4] = {GLINT_VAL_U32(level), {.type = GLINT_STRING}, GLINT_VAL_U32(line),
                         {.type = GLINT_STRING}};
    args[1].v.str.ptr = file;
    args[1].v.str.len = file_len;
    args[3].v.str.ptr = msg;
    args[3].v.str.len = len;
    struct kept_result kept;
    if (keep_result(&kept, name, request_size(sizeof name - 1, 4, args)))
        return;
    if (build(name, sizeof name - 1, GLINT_VOID, 4, args) == 0)
        GLINT__HYPERCALL(GLINT_PORT_HOSTCALL);
    restore_result(&kept);
}
