/*
 * bad_result: functions that leave a malformed glint_result_frame in the
 * output buffer and return normally.  The host must refuse each one with
 * GLINT_E_BAD_GUEST_DATA (NoResult may also be caught by the guest library).
 *
 *   StrOffsetOOB() -> string   data runs past the end of the output buffer
 *   StrLenHuge() -> string     length near 2^64 (offset + length overflows)
 *   StrLenBuffer() -> string   length = the whole buffer, from offset 32
 *   BytesOffHuge() -> bytes    offset near 2^64
 *   BadTag() -> int32          type tag 77
 *   WrongType() -> int32       a uint64 where int32 is declared
 *   StringForInt() -> int32    a valid string where int32 is declared
 *   BadStatus() -> int32       status 9
 *   ErrorNotString() -> int32  status ERROR with an int32 "message"
 *   ErrorMsgOOB() -> int32     status ERROR, message outside the buffer
 *   BoolTwo() -> bool          bool encoded as 2
 *   VoidTag() -> int32         type VOID where int32 is declared
 *   BadUtf8() -> string        a string that is not valid UTF-8 ("\xff\xfe")
 *   NoResult() -> int32        returns without setting a result
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <string.h>

static const volatile struct glint_boot_info *boot(void)
{
    return (const volatile struct glint_boot_info *)GLINT_BOOT_INFO_GVA;
}

/* Writes a result frame directly, bypassing the guest library. */
static void put(uint32_t status, uint32_t type, uint64_t len, uint64_t bits)
{
    volatile struct glint_result_frame *r =
        (volatile struct glint_result_frame *)(uintptr_t)boot()->output_base;
    r->value.type = type;
    r->value.reserved = 0;
    r->value.len = len;
    r->value.bits = bits;
    r->reserved = 0;
    r->status = status;
}

/* A valid string "abc" at offset 64 of the output buffer. */
static void put_abc(void)
{
    memcpy((void *)(uintptr_t)(boot()->output_base + 64), "abc", 4);
}

/* Two bytes that are not UTF-8 at offset 64. */
static void put_not_utf8(void)
{
    memcpy((void *)(uintptr_t)(boot()->output_base + 64), "\xff\xfe", 3);
}

#define BAD(fn, ret, ...)                       \
    static void fn(const glint_args *a)         \
    {                                           \
        (void)a;                                \
        __VA_ARGS__;                            \
    }                                           \
    GLINT_FUNCTION(fn, ret)

BAD(StrOffsetOOB, GLINT_STRING, put(GLINT_RESULT_OK, GLINT_STRING, 10, boot()->output_size - 5));
BAD(StrLenHuge, GLINT_STRING, put(GLINT_RESULT_OK, GLINT_STRING, ~0ull - 32, 64));
BAD(StrLenBuffer, GLINT_STRING, put(GLINT_RESULT_OK, GLINT_STRING, boot()->output_size, 32));
BAD(BytesOffHuge, GLINT_BYTES, put(GLINT_RESULT_OK, GLINT_BYTES, 4, ~0ull - 1));
BAD(BadTag, GLINT_I32, put(GLINT_RESULT_OK, 77, 0, 1));
BAD(WrongType, GLINT_I32, put(GLINT_RESULT_OK, GLINT_U64, 0, 1));
BAD(StringForInt, GLINT_I32, put_abc(); put(GLINT_RESULT_OK, GLINT_STRING, 3, 64));
BAD(BadStatus, GLINT_I32, put(9, GLINT_I32, 0, 1));
BAD(ErrorNotString, GLINT_I32, put(GLINT_RESULT_ERROR, GLINT_I32, 0, 1));
BAD(ErrorMsgOOB, GLINT_I32, put(GLINT_RESULT_ERROR, GLINT_STRING, 8, boot()->output_size + 4096));
BAD(BoolTwo, GLINT_BOOL, put(GLINT_RESULT_OK, GLINT_BOOL, 0, 2));
BAD(VoidTag, GLINT_I32, put(GLINT_RESULT_OK, GLINT_VOID, 0, 0));
BAD(BadUtf8, GLINT_STRING, put_not_utf8(); put(GLINT_RESULT_OK, GLINT_STRING, 2, 64));
BAD(NoResult, GLINT_I32, (void)0);
