/*
 * trace_guest: metrics and tracing tests (tests/test_stats.c, test_trace.c).
 *
 *   Add(int32, int32) -> int32
 *   Work(int32 x) -> int32     spans "outer" { "inner" { Ping(x) } }, returns Ping's result
 *   Ping2(int32 x) -> int32    Ping(x) twice, no spans
 *   Fail() -> void             glint_return_error (sandbox stays usable)
 *   Crash() -> void            opens span "doomed", then aborts
 *   Spin() -> void             never returns (time limits, interrupts)
 *   Spans(uint32 open, uint32 pairs) -> uint32   `open` nested begins left
 *                              open and `pairs` begin/end pairs; returns 1
 *   Enabled() -> bool          glint_span_enabled()
 *   Dirty(uint32 n) -> uint32  writes n pages of a buffer, returns n
 */
#include <glint/guest.h>
#include <stdlib.h>

static void Add(const glint_args *a)
{
    glint_return_i32(glint_arg_i32(a, 0) + glint_arg_i32(a, 1));
}
GLINT_FUNCTION(Add, GLINT_I32, GLINT_I32, GLINT_I32);

static int32_t ping(int32_t x)
{
    glint_val arg = GLINT_VAL_I32(x), r;
    if (glint_host_call("Ping", GLINT_I32, &r, 1, &arg) != 0)
        glint_abort(3, "Ping failed: %s", glint_host_error());
    return r.v.i32;
}

static void Work(const glint_args *a)
{
    glint_span_begin("outer");
    glint_span_begin("inner");
    int32_t r = ping(glint_arg_i32(a, 0));
    glint_span_end();
    glint_span_end();
    glint_return_i32(r);
}
GLINT_FUNCTION(Work, GLINT_I32, GLINT_I32);

static void Ping2(const glint_args *a)
{
    int32_t x = glint_arg_i32(a, 0);
    glint_return_i32(ping(x) + ping(x));
}
GLINT_FUNCTION(Ping2, GLINT_I32, GLINT_I32);

static void Fail(const glint_args *a)
{
    (void)a;
    glint_return_error("failing on purpose");
}
GLINT_FUNCTION(Fail, GLINT_VOID);

static void Crash(const glint_args *a)
{
    (void)a;
    glint_span_begin("doomed");
    glint_abort(7, "crashing on purpose");
}
GLINT_FUNCTION(Crash, GLINT_VOID);

static void Spin(const glint_args *a)
{
    (void)a;
    for (;;)
        __asm__ volatile("" ::: "memory");
}
GLINT_FUNCTION(Spin, GLINT_VOID);

static void Spans(const glint_args *a)
{
    uint32_t open = glint_arg_u32(a, 0), pairs = glint_arg_u32(a, 1);
    for (uint32_t i = 0; i < open; i++)
        glint_span_begin("open\"\\quoted");
    for (uint32_t i = 0; i < pairs; i++) {
        glint_span_begin("pair");
        glint_span_end();
    }
    glint_return_u32(1);
}
GLINT_FUNCTION(Spans, GLINT_U32, GLINT_U32, GLINT_U32);

static void Enabled(const glint_args *a)
{
    (void)a;
    glint_return_bool(glint_span_enabled());
}
GLINT_FUNCTION(Enabled, GLINT_BOOL);

static unsigned char buf[16 * 4096];

static void Dirty(const glint_args *a)
{
    uint32_t n = glint_arg_u32(a, 0);
    for (uint32_t i = 0; i < n && i < 16; i++)
        buf[i * 4096] ^= 1;
    glint_return_u32(n);
}
GLINT_FUNCTION(Dirty, GLINT_U32, GLINT_U32);
