/*
 * abort.c - stopping the guest: glint_abort, GLINT_PANIC, abort(), exit(),
 * assert() failures and the stack protector.
 *
 * The message is formatted straight into the output buffer after a
 * glint_abort_frame (no heap, little stack), then the guest writes to
 * GLINT_PORT_ABORT.  The host poisons the sandbox; should it resume the
 * vCPU anyway, the OUT is repeated forever.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MSG_OFF sizeof(struct glint_abort_frame)

void glint__utf8_sanitize(char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        uint32_t cp = len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;
        bool ok = len != 0 && n - i >= len;
        for (size_t k = 1; ok && k < len; k++) {
            ok = ((unsigned char)p[i + k] & 0xc0) == 0x80;
            cp = (cp << 6) | ((unsigned char)p[i + k] & 0x3fu);
        }
        if (ok && len > 1) {
            uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
            ok = cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        }
        if (!ok) {
            p[i++] = '?';
            continue;
        }
        i += len;
    }
}

/* A sink over the output buffer, after the abort frame. */
static struct glint_sink message_sink(void)
{
    uint64_t size = BOOT->output_size;
    struct glint_sink s = {0};
    s.buf = (char *)glint__out() + MSG_OFF;
    s.cap = size > MSG_OFF + 1 ? (size_t)(size - MSG_OFF - 1) : 0;
    return s;
}

__attribute__((format(printf, 2, 3))) static void sformat(struct glint_sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    glint__vformat(s, fmt, ap);
    va_end(ap);
}

__attribute__((noreturn)) static void finish(struct glint_sink *s, uint32_t kind, int32_t code)
{
    size_t n = s->pos;
    if (s->total > s->pos)
        n = glint__utf8_cut(s->buf, n);
    s->buf[n] = '\0';
    glint__utf8_sanitize(s->buf, n);
    struct glint_abort_frame *f = (struct glint_abort_frame *)glint__out();
    f->kind = kind;
    f->code = code;
    f->msg_len = n;
    f->msg_off = MSG_OFF;
    for (;;)
        __asm__ volatile("outb %%al, %0" : : "N"(GLINT_PORT_ABORT), "a"(0) : "memory");
}

void glint__vabort(uint32_t kind, int32_t code, const char *fmt, va_list ap)
{
    struct glint_sink s = message_sink();
    glint__vformat(&s, fmt, ap);
    finish(&s, kind, code);
}

void glint__abort(uint32_t kind, int32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    glint__vabort(kind, code, fmt, ap);
}

void glint_abort(int32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    glint__vabort(GLINT_ABORT_USER, code, fmt, ap);
}

void glint_panic_at(const char *file, int line, const char *fmt, ...)
{
    struct glint_sink s = message_sink();
    sformat(&s, "%s:%d: ", file ? file : "?", line);
    va_list ap;
    va_start(ap, fmt);
    glint__vformat(&s, fmt, ap);
    va_end(ap);
    finish(&s, GLINT_ABORT_USER, 0);
}

void glint__assert_fail(const char *expr, const char *file, int line, const char *func)
{
    (void)func;
    glint__abort(GLINT_ABORT_USER, 0, "%s:%d: assertion failed: %s", file, line, expr);
}

void abort(void)
{
    glint__abort(GLINT_ABORT_USER, 0, "abort() called (from 0x%llx)",
                 (unsigned long long)(uintptr_t)__builtin_return_address(0));
}

void exit(int status)
{
    glint__abort(GLINT_ABORT_USER, status,
                 "exit(%d) called: a guest function cannot exit; it returns to the host", status);
}

void _Exit(int status)
{
    exit(status);
}

/* Called by code built with -fstack-protector when a canary was overwritten.
 * Its own frame must not be checked (the caller's stack is already bad). */
__attribute__((noreturn, no_stack_protector)) void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
    glint__abort(GLINT_ABORT_STACK, 0,
                 "the stack protector found a corrupted frame in the function at 0x%llx",
                 (unsigned long long)(uintptr_t)__builtin_return_address(0));
}
