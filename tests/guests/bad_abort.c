/*
 * bad_abort: raw OUTs to GLINT_PORT_ABORT with malformed or extreme
 * glint_abort_frames.  The host must end each call with GLINT_E_ABORT or
 * GLINT_E_BAD_GUEST_DATA and a message, never crash or over-read.
 *   MsgOffOOB()    message offset past the output buffer
 *   MsgLenHuge()   message length near 2^64
 *   MsgOffHuge()   offset near 2^64 (offset + length overflows)
 *   BadKind()      kind 99 with a valid message "odd kind"
 *   LongRaw()      valid frame, code 77, 10000 bytes of 'y' (host keeps
 *                  at most GLINT_ABORT_MSG_MAX of them)
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <string.h>

#define MSG_OFF 256u

static const volatile struct glint_boot_info *boot(void)
{
    return (const volatile struct glint_boot_info *)GLINT_BOOT_INFO_GVA;
}

static void raw_abort(uint32_t kind, int32_t code, uint64_t len, uint64_t off)
{
    volatile struct glint_abort_frame *f =
        (volatile struct glint_abort_frame *)(uintptr_t)boot()->output_base;
    f->kind = kind;
    f->code = code;
    f->msg_len = len;
    f->msg_off = off;
    __asm__ volatile("outb %%al, %0" : : "N"(GLINT_PORT_ABORT), "a"(0) : "memory");
}

static void put_msg(const char *s, size_t len)
{
    memcpy((void *)(uintptr_t)(boot()->output_base + MSG_OFF), s, len);
}

static void MsgOffOOB(const glint_args *a)
{
    (void)a;
    raw_abort(GLINT_ABORT_USER, 1, 16, boot()->output_size + 64);
}
GLINT_FUNCTION(MsgOffOOB, GLINT_VOID);

static void MsgLenHuge(const glint_args *a)
{
    (void)a;
    put_msg("huge", 4);
    raw_abort(GLINT_ABORT_USER, 2, ~0ull - 8, MSG_OFF);
}
GLINT_FUNCTION(MsgLenHuge, GLINT_VOID);

static void MsgOffHuge(const glint_args *a)
{
    (void)a;
    raw_abort(GLINT_ABORT_USER, 3, 16, ~0ull - 4);
}
GLINT_FUNCTION(MsgOffHuge, GLINT_VOID);

static void BadKind(const glint_args *a)
{
    (void)a;
    put_msg("odd kind", 8);
    raw_abort(99, 4, 8, MSG_OFF);
}
GLINT_FUNCTION(BadKind, GLINT_VOID);

static void LongRaw(const glint_args *a)
{
    (void)a;
    memset((void *)(uintptr_t)(boot()->output_base + MSG_OFF), 'y', 10000);
    raw_abort(GLINT_ABORT_USER, 77, 10000, MSG_OFF);
}
GLINT_FUNCTION(LongRaw, GLINT_VOID);
