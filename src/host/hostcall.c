/*
 * hostcall.c - the guest calling a host function.
 *
 * The guest's glint_hostcall_frame is copied out of the output buffer and
 * checked: structural damage (offsets outside the buffer, bad type tags,
 * too many arguments) is malformed data and poisons the sandbox; a call the
 * host does not allow (unregistered name, wrong signature, invalid UTF-8,
 * outside a guest call) is refused and reported to the guest, and never
 * reaches a callback.  The reply goes into the input buffer after the
 * current call's arguments.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "sandbox.h"
#include "wire.h"

glint_status glint_hostcall_dispatch(glint_sandbox *sb, const char *ctx);

API void *glint_hostcall_buffer(glint_hostcall *hc, size_t size)
{
    return hc && size <= hc->scratch_size ? glint_sandbox_buffer(hc->sb, GLINT_BUF_SCRATCH) : NULL;
}

API glint_status glint_hostcall_fail(glint_hostcall *hc, const char *fmt, ...)
{
    if (!hc)
        return GLINT_E_GUEST_ERROR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hc->message, sizeof hc->message, fmt ? fmt : "", ap);
    va_end(ap);
    hc->failed = 1;
    return GLINT_E_GUEST_ERROR;
}

API glint_sandbox *glint_hostcall_sandbox(glint_hostcall *hc)
{
    return hc ? hc->sb : NULL;
}

/*
 * Writes the reply.  Data that does not fit turns the reply into a failure
 * with a message saying so; the header and a short message always fit
 * because calls keep REPLY_RESERVE bytes free.
 */
static void reply(glint_sandbox *sb, uint32_t status, const char *msg, const glint_value *v)
{
    uint8_t *in = sb->mem + sb->lay.input_base;
    uint64_t cap = sb->lay.input_size;
    uint64_t roff = GLINT_ALIGN16(sb->data_end);
    uint64_t off = roff + sizeof(struct glint_hostcall_reply);
    struct glint_hostcall_reply r;
    memset(&r, 0, sizeof r);
    char toobig[160];

    if (status == GLINT_HOSTCALL_OK && v &&
        (v->type == GLINT_STRING || v->type == GLINT_BYTES)) {
        const void *p = v->type == GLINT_STRING ? (const void *)v->v.str.ptr : (const void *)v->v.bytes.ptr;
        size_t len = v->type == GLINT_STRING ? v->v.str.len : v->v.bytes.len;
        if (len < cap && glint_range_ok(off, (uint64_t)len + 1, cap) && (p || !len)) {
            if (len)
                memcpy(in + off, p, len);
            in[off + len] = 0;
            r.value.type = v->type;
            r.value.len = len;
            r.value.bits = sb->lay.input_base + off;
        } else {
            snprintf(toobig, sizeof toobig,
                     "host function result of %zu bytes does not fit in the %llu-byte input buffer",
                     len, (unsigned long long)cap);
            status = GLINT_HOSTCALL_FAILED;
            msg = toobig;
        }
    } else if (status == GLINT_HOSTCALL_OK && v) {
        r.value.type = v->type;
        r.value.bits = glint_wire_scalar(v);
    }
    r.status = status;
    if (msg && *msg) {
        size_t len = strlen(msg);
        uint64_t room = cap > off + 1 ? cap - off - 1 : 0;
        if (len > room)
            len = (size_t)room;
        memcpy(in + off, msg, len);
        in[off + len] = 0;
        r.message_len = (uint32_t)len;
        r.message = sb->lay.input_base + off;
    }
    memcpy(in + roff, &r, sizeof r);
    uint64_t end = off + (r.message_len ? r.message_len + 1u : 0u);
    if (r.value.type == GLINT_STRING || r.value.type == GLINT_BYTES)
        end = r.value.bits - sb->lay.input_base + r.value.len + 1;
    if (end < roff + sizeof r)
        end = roff + sizeof r;
    if (end > sb->host_in_hw)
        sb->host_in_hw = end;
}

static const struct glint_host_entry *find_host(const glint_sandbox *sb, const char *name)
{
    for (size_t i = 0; i < sb->nhost; i++)
        if (strcmp(sb->host[i].name, name) == 0)
            return &sb->host[i];
    return NULL;
}

static glint_status refuse(glint_sandbox *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static glint_status refuse(glint_sandbox *sb, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply(sb, GLINT_HOSTCALL_REFUSED, msg, NULL);
    glint_obs_hostcall_refused(sb);
    return GLINT_OK;
}

static glint_status invoke(glint_sandbox *sb, const struct glint_host_entry *e, const glint_value *args,
                           size_t nargs)
{
    glint_hostcall *hc = &sb->hc;
    hc->failed = 0;
    hc->message[0] = 0;
    glint_value ret;
    memset(&ret, 0, sizeof ret);
    ret.type = e->sig.ret;
    uint64_t t0 = glint_obs_hostcall_begin(sb);
    glint_status st = e->callback(hc, args, nargs, &ret, e->user);
    glint_obs_hostcall_end(sb, e->name, st, t0);
    char msg[GLINT_ABORT_MSG_MAX + 64];
    if (st != GLINT_OK) {
        if (hc->message[0])
            snprintf(msg, sizeof msg, "%s", hc->message);
        else
            snprintf(msg, sizeof msg, "host function %s failed (%s)", e->name, glint_status_name(st));
        reply(sb, GLINT_HOSTCALL_FAILED, msg, NULL);
    } else if (ret.type != e->sig.ret) {
        snprintf(msg, sizeof msg, "host function %s returned %s, declared %s", e->name,
                 glint_type_name(ret.type), glint_type_name(e->sig.ret));
        reply(sb, GLINT_HOSTCALL_FAILED, msg, NULL);
    } else if (ret.type == GLINT_STRING &&
               ((!ret.v.str.ptr && ret.v.str.len) ||
                (ret.v.str.len && !glint_utf8_valid((const uint8_t *)ret.v.str.ptr, ret.v.str.len)))) {
        snprintf(msg, sizeof msg, "host function %s returned a string that is not valid UTF-8", e->name);
        reply(sb, GLINT_HOSTCALL_FAILED, msg, NULL);
    } else {
        reply(sb, GLINT_HOSTCALL_OK, NULL, &ret);
    }
    return GLINT_OK;
}

/*
 * A guest tracing span (GLINT_SPAN_HOSTFN, never registered): (u32 op,
 * string name) -> void.  Handled here, whether or not a tracer wants it
 * (stats.c ignores it then); the guest gets an empty OK reply.
 */
static glint_status guest_span(glint_sandbox *sb, const char *ctx, const struct glint_hostcall_frame *f,
                               const uint8_t *out, uint64_t osz)
{
    if (f->nargs != 2 || f->ret_type != GLINT_VOID || f->args[0].type != GLINT_U32 ||
        f->args[1].type != GLINT_STRING)
        return refuse(sb, "%s: takes (uint32, string) -> void", GLINT_SPAN_HOSTFN);
    glint_value v[2];
    size_t used = 0;
    char why[200];
    if (!glint_wire_decode(&f->args[0], GLINT_U32, out, osz, sb->hc_args_buf, osz + 16, &used, &v[0],
                           why, sizeof why) ||
        !glint_wire_decode(&f->args[1], GLINT_STRING, out, osz, sb->hc_args_buf, osz + 16, &used,
                           &v[1], why, sizeof why)) {
        if (strstr(why, "UTF-8"))
            return refuse(sb, "%s: the name %s", GLINT_SPAN_HOSTFN, why);
        return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA, "%s: malformed span: %s", ctx, why);
    }
    glint_obs_guest_span(sb, v[0].v.u32, v[1].v.str.ptr, v[1].v.str.len);
    reply(sb, GLINT_HOSTCALL_OK, NULL, NULL);
    return GLINT_OK;
}

glint_status glint_hostcall_dispatch(glint_sandbox *sb, const char *ctx)
{
    const uint8_t *out = sb->mem + sb->lay.output_base;
    uint64_t osz = sb->lay.output_size;
    struct glint_hostcall_frame f;
    memcpy(&f, out, sizeof f);
    if (!glint_sandbox_buffer(sb, GLINT_BUF_HOSTCALL_ARGS))
        return glint_fail(&sb->err, GLINT_E_NOMEM, "%s: out of memory for a host call's arguments", ctx);

    /* Guest logging: an internal name, never registered, no reply (log.c). */
    if (f.name_len == sizeof GLINT_LOG_HOSTFN - 1 && glint_range_ok(f.name_off, f.name_len, osz) &&
        memcmp(out + f.name_off, GLINT_LOG_HOSTFN, f.name_len) == 0)
        return glint_log_hostcall(sb, &f);
    if (!sb->in_call)
        return refuse(sb, "host functions can be called only during a guest call");
    if (f.name_len == 0 || f.name_len > GLINT_MAX_NAME || !glint_range_ok(f.name_off, f.name_len, osz))
        return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA,
                          "%s: malformed host call: name of %u bytes at offset 0x%llx", ctx, f.name_len,
                          (unsigned long long)f.name_off);
    char name[GLINT_MAX_NAME + 1];
    memcpy(name, out + f.name_off, f.name_len);
    name[f.name_len] = 0;
    if (strlen(name) != f.name_len)
        return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA, "%s: malformed host call: NUL in the name", ctx);
    glint_sanitize(name);
    if (f.nargs > GLINT_MAX_PARAMS || f.ret_type >= GLINT_TYPE_COUNT)
        return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA,
                          "%s: malformed host call to '%s': %u arguments, return type tag %u", ctx, name,
                          f.nargs, f.ret_type);
    for (uint32_t i = 0; i < f.nargs; i++)
        if (f.args[i].type >= GLINT_TYPE_COUNT || f.args[i].type == GLINT_VOID)
            return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA,
                              "%s: malformed host call to '%s': argument %u has type tag %u", ctx, name,
                              i + 1, f.args[i].type);

    if (f.name_len == sizeof GLINT_SPAN_HOSTFN - 1 && memcmp(name, GLINT_SPAN_HOSTFN, f.name_len) == 0)
        return guest_span(sb, ctx, &f, out, osz);
    const struct glint_host_entry *e = find_host(sb, name);
    if (!e)
        return refuse(sb, "no host function named '%s' is registered", name);
    char sig[256];
    glint_function_format(&e->sig, sig, sizeof sig);
    if (f.nargs != e->sig.nparams)
        return refuse(sb, "host function %s: called with %u argument%s", sig, f.nargs,
                      f.nargs == 1 ? "" : "s");
    if (f.ret_type != (uint32_t)e->sig.ret)
        return refuse(sb, "host function %s: caller expects a %s result", sig,
                      glint_type_name((glint_type)f.ret_type));

    glint_value args[GLINT_MAX_PARAMS];
    size_t used = 0;
    for (uint32_t i = 0; i < f.nargs; i++) {
        char why[200];
        if (f.args[i].type != (uint32_t)e->sig.params[i])
            return refuse(sb, "host function %s: argument %u is %s, expected %s", sig, i + 1,
                          glint_type_name((glint_type)f.args[i].type), glint_type_name(e->sig.params[i]));
        if (!glint_wire_decode(&f.args[i], e->sig.params[i], out, osz, sb->hc_args_buf, osz + 16, &used,
                               &args[i], why, sizeof why)) {
            if (strstr(why, "UTF-8") || strstr(why, "bool"))
                return refuse(sb, "host function %s: argument %u %s", sig, i + 1, why);
            return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA, "%s: malformed host call to %s: argument %u %s",
                              ctx, name, i + 1, why);
        }
    }
    return invoke(sb, e, args, f.nargs);
}
