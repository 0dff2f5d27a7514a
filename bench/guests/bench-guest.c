/*
 * bench-guest.c - the guest glint-bench calls.  Each function does as
 * little as its figure allows, so the figures show glint's own costs.
 *
 *   Echo(int32) -> int32          call_empty
 *   Add(int32, int32) -> int32    the peers' trivial function (sandbox_cold)
 *   CallHost() -> int32           call_host: one call of the host's HostPing() -> int32
 *   EchoString(string) -> string  call_string
 *   EchoBytes(bytes) -> bytes     call_bytes_1m
 *   Touch(int32 n) -> int32       restore: changes one byte in each of n
 *                                 distinct pages of .bss (n <= 16); returns n
 *   LogDebug(int32) -> int32      call_log_filtered: Echo plus a glint_log at
 *                                 debug, which the host's default level drops
 *                                 in the guest (no exit, no formatting)
 *   LogWarn(int32) -> int32       call_log: Echo plus one message at warn (one
 *                                 host call)
 */
#include <glint/guest.h>

static void LogDebug(const glint_args *a)
{
    int32_t v = glint_arg_i32(a, 0);
    glint_log(GLINT_LOG_DEBUG, "echo %d", (int)v);
    glint_return_i32(v);
}
GLINT_FUNCTION(LogDebug, GLINT_I32, GLINT_I32);

static void LogWarn(const glint_args *a)
{
    int32_t v = glint_arg_i32(a, 0);
    glint_log(GLINT_LOG_WARN, "echo %d", (int)v);
    glint_return_i32(v);
}
GLINT_FUNCTION(LogWarn, GLINT_I32, GLINT_I32);

static void Echo(const glint_args *a)
{
    glint_return_i32(glint_arg_i32(a, 0));
}
GLINT_FUNCTION(Echo, GLINT_I32, GLINT_I32);

static void Add(const glint_args *a)
{
    glint_return_i32((int32_t)((uint32_t)glint_arg_i32(a, 0) + (uint32_t)glint_arg_i32(a, 1)));
}
GLINT_FUNCTION(Add, GLINT_I32, GLINT_I32, GLINT_I32);

static void CallHost(const glint_args *a)
{
    (void)a;
    glint_val r;
    if (glint_host_call("HostPing", GLINT_I32, &r, 0, NULL) != 0) {
        glint_return_error("HostPing failed: %s", glint_host_error());
        return;
    }
    glint_return_i32(r.v.i32);
}
GLINT_FUNCTION(CallHost, GLINT_I32);

static void EchoString(const glint_args *a)
{
    size_t len;
    const char *s = glint_arg_string(a, 0, &len);
    glint_return_stringn(s, len);
}
GLINT_FUNCTION(EchoString, GLINT_STRING, GLINT_STRING);

static void EchoBytes(const glint_args *a)
{
    size_t len;
    const uint8_t *p = glint_arg_bytes(a, 0, &len);
    glint_return_bytes(p, len);
}
GLINT_FUNCTION(EchoBytes, GLINT_BYTES, GLINT_BYTES);

/* 16 pages of .bss, one written byte each: the pages a call dirties. */
static volatile uint8_t g_pages[16][4096] __attribute__((aligned(4096)));

static void Touch(const glint_args *a)
{
    int32_t n = glint_arg_i32(a, 0);
    if (n < 0 || n > 16) {
        glint_return_error("Touch: n = %d is not in 0..16", (int)n);
        return;
    }
    for (int32_t i = 0; i < n; i++)
        g_pages[i][0]++;
    glint_return_i32(n);
}
GLINT_FUNCTION(Touch, GLINT_I32, GLINT_I32);
