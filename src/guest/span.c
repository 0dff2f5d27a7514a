/*
 * span.c - guest tracing spans (glint_span_begin/end, glint/guest.h).
 *
 * The host sets GLINT_CALL_SPANS in the call frame when it traces the call;
 * without it a span costs one load and one comparison.  With it, each
 * begin and end is a host call to the reserved GLINT_SPAN_HOSTFN, which the
 * host handles itself (glint/abi.h).
 */
#include <string.h>

#include "internal.h"

bool glint_span_enabled(void)
{
    if (!glint__ready)
        return false;
    const volatile struct glint_call_frame *f = glint__frame();
    return (f->reserved & GLINT_CALL_SPANS) != 0;
}

static void span_op(uint32_t op, const char *name)
{
    char buf[GLINT_MAX_NAME + 1];
    size_t n = name ? strnlen(name, GLINT_MAX_NAME) : 0;
    memcpy(buf, name ? name : "", n);
    buf[n] = 0;
    glint_val args[2] = {GLINT_VAL_U32(op), {.type = GLINT_STRING, .v.str = {buf, n}}};
    (void)glint_host_call(GLINT_SPAN_HOSTFN, GLINT_VOID, NULL, 2, args);
}

void glint_span_begin(const char *name)
{
    if (glint_span_enabled())
        span_op(GLINT_SPAN_OP_BEGIN, name);
}

void glint_span_end(void)
{
    if (glint_span_enabled())
        span_op(GLINT_SPAN_OP_END, "");
}
