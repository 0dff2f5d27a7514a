/*
 * fuzz_guest: the guest of fuzz_sandbox.c (and the sandbox of
 * fuzz_frames.c).  Every function takes the fuzzer's bytes, a sequence of
 * records
 *
 *     op (1 byte)  len (2 bytes, little-endian)  payload (len bytes)
 *
 * and for each one copies the payload over the start of the output buffer
 * and writes to a port chosen by op: 0 DONE, 1 HOSTCALL, 2 ABORT, 3 the
 * port number op itself (mostly ports that are not hypercalls).  After
 * the last record it returns normally.  One function per return type, so
 * that the host decodes results against every declared type.
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <string.h>

static void out_port(uint16_t port)
{
    __asm__ volatile("outb %%al, %%dx" : : "a"(0), "d"(port) : "memory");
}

static void run(const glint_args *a)
{
    const volatile struct glint_boot_info *boot =
        (const volatile struct glint_boot_info *)GLINT_BOOT_INFO_GVA;
    uint8_t *out = (uint8_t *)(uintptr_t)boot->output_base;
    size_t cap = (size_t)boot->output_size;
    size_t n = 0;
    const uint8_t *p = glint_arg_bytes(a, 0, &n);
    size_t i = 0;
    while (n - i >= 3) {
        uint8_t op = p[i];
        size_t len = (size_t)p[i + 1] | (size_t)p[i + 2] << 8;
        i += 3;
        if (len > n - i)
            len = n - i;
        memcpy(out, p + i, len < cap ? len : cap);
        i += len;
        static const uint16_t ports[3] = {GLINT_PORT_DONE, GLINT_PORT_HOSTCALL, GLINT_PORT_ABORT};
        out_port(op % 4 == 3 ? op : ports[op % 4]);
    }
}

#define FUZZ_FN(name, ret)              \
    static void name(const glint_args *a) \
    {                                   \
        run(a);                         \
    }                                   \
    GLINT_FUNCTION(name, ret, GLINT_BYTES)

FUZZ_FN(FuzzVoid, GLINT_VOID);
FUZZ_FN(FuzzBool, GLINT_BOOL);
FUZZ_FN(FuzzI32, GLINT_I32);
FUZZ_FN(FuzzU32, GLINT_U32);
FUZZ_FN(FuzzI64, GLINT_I64);
FUZZ_FN(FuzzU64, GLINT_U64);
FUZZ_FN(FuzzF32, GLINT_F32);
FUZZ_FN(FuzzF64, GLINT_F64);
FUZZ_FN(FuzzString, GLINT_STRING);
FUZZ_FN(FuzzBytes, GLINT_BYTES);
