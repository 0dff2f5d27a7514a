/*
 * fuzz_frames - libFuzzer target for the guest-to-host frames: the result
 * of a guest call (finish), host-call frames (glint_hostcall_dispatch,
 * argument decoding, the registered callbacks and the reply) and abort
 * frames, decoded by the library's own code from a real sandbox's output
 * buffer.  No guest code runs: the fuzzer's bytes are written over the
 * start of the output buffer and glint_debug_guest_out() handles an OUT
 * to the chosen port as the run loop would.
 *
 * Input: byte 0 picks the port (DONE, HOSTCALL, ABORT, EXCEPTION, or any
 * other port), byte 1 the declared return type of the running function
 * (10: guest initialization), the rest is the output buffer's content.
 * Every glint status is fine; crashes and sanitizer reports are bugs.
 */
#include <stdint.h>
#include <string.h>

#include "glint/abi.h"
#include "fuzz_host.h"
#include "sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static glint_sandbox *sb;
static size_t dirty; /* bytes of the output buffer the last input wrote */

static uint16_t pick_port(uint8_t b)
{
    switch (b % 5) {
    case 0: return GLINT_PORT_DONE;
    case 1: return GLINT_PORT_HOSTCALL;
    case 2: return GLINT_PORT_ABORT;
    case 3: return GLINT_PORT_EXCEPTION;
    default: return b;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!sb)
        sb = fh_sandbox();
    uint8_t *out = sb->mem + sb->lay.output_base;
    size_t n = size - 2;
    if (n > sb->lay.output_size)
        n = (size_t)sb->lay.output_size;
    memset(out, 0, dirty);
    memcpy(out, data + 2, n);
    dirty = n;

    glint_function fn = {.name = "Fuzzed", .ret = (glint_type)(data[1] % (GLINT_TYPE_COUNT + 1))};
    glint_value result;
    memset(&result, 0, sizeof result);
    glint_status s = glint_debug_guest_out(sb, fn.ret == GLINT_TYPE_COUNT ? NULL : &fn,
                                           pick_port(data[0]), &result);
    fh_report(sb, s, &result);
    /* A decoded result must be what was declared, and its data readable. */
    if (s == GLINT_OK && fn.ret != GLINT_TYPE_COUNT && data[0] % 5 == 0) {
        if (result.type != fn.ret)
            abort();
        if (result.type == GLINT_STRING && result.v.str.len &&
            result.v.str.ptr[result.v.str.len] != 0)
            abort();
        if (result.type == GLINT_BYTES && result.v.bytes.len)
            (void)*(volatile const uint8_t *)&result.v.bytes.ptr[result.v.bytes.len - 1];
    }
    /* The error message is always one NUL-terminated line. */
    const glint_error *e = glint_sandbox_error(sb);
    if (strlen(e->message) >= sizeof e->message || strchr(e->message, '\n'))
        abort();
    return 0;
}
