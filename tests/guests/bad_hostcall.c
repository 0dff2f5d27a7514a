/*
 * bad_hostcall: raw OUTs to GLINT_PORT_HOSTCALL with malformed
 * glint_hostcall_frames, bypassing the guest library.  The host must stop
 * each with GLINT_E_BAD_GUEST_DATA.  If it answers instead, the function
 * returns "replied STATUS: MESSAGE" so that the test can show what happened.
 *
 *   NameLenZero, NameLenLong (200), NameOffOOB, NameOffHuge,
 *   TooManyArgs (17), ArgBadTag (99), ArgStrOOB, ArgLenHuge, RetBadTag (55)
 * ArgBadUtf8 sends print("\xff\xfe"): well formed, so the host refuses it
 * (reply status GLINT_HOSTCALL_REFUSED) instead of stopping the guest.
 * All take no parameters and return string.  The name, where valid, is
 * "print", which is always registered (print(string) -> void).
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <stdio.h>
#include <string.h>

#define NAME_OFF 1024u
#define DATA_OFF 2048u

static const volatile struct glint_boot_info *boot(void)
{
    return (const volatile struct glint_boot_info *)GLINT_BOOT_INFO_GVA;
}

static volatile struct glint_hostcall_frame *frame(void)
{
    return (volatile struct glint_hostcall_frame *)(uintptr_t)boot()->output_base;
}

/* A well-formed call print("hi"); each case then breaks one field. */
static void good_print_frame(void)
{
    uint8_t *out = (uint8_t *)(uintptr_t)boot()->output_base;
    memcpy(out + NAME_OFF, "print", 5);
    memcpy(out + DATA_OFF, "hi", 3);
    volatile struct glint_hostcall_frame *f = frame();
    f->name_len = 5;
    f->nargs = 1;
    f->ret_type = GLINT_VOID;
    f->reserved = 0;
    f->name_off = NAME_OFF;
    f->args[0].type = GLINT_STRING;
    f->args[0].reserved = 0;
    f->args[0].len = 2;
    f->args[0].bits = DATA_OFF;
}

/* Sends the frame; if the host answers, returns its reply as a string. */
static void send(void)
{
    __asm__ volatile("outb %%al, %0" : : "N"(GLINT_PORT_HOSTCALL), "a"(0) : "memory");
    const volatile struct glint_call_frame *call =
        (const volatile struct glint_call_frame *)(uintptr_t)boot()->input_base;
    const volatile struct glint_hostcall_reply *r =
        (const volatile struct glint_hostcall_reply *)(uintptr_t)(boot()->input_base +
                                                                  GLINT_ALIGN16(call->data_end));
    char text[200];
    snprintf(text, sizeof text, "replied %u: %.100s", (unsigned)r->status,
             r->message_len ? (const char *)(uintptr_t)r->message : "");
    glint_return_string(text);
}

#define CASE(fn, ...)                   \
    static void fn(const glint_args *a) \
    {                                   \
        (void)a;                        \
        good_print_frame();             \
        __VA_ARGS__;                    \
        send();                         \
    }                                   \
    GLINT_FUNCTION(fn, GLINT_STRING)

CASE(NameLenZero, frame()->name_len = 0);
CASE(NameLenLong, frame()->name_len = 200);
CASE(NameOffOOB, frame()->name_off = boot()->output_size - 2);
CASE(NameOffHuge, frame()->name_off = ~0ull - 2);
CASE(TooManyArgs, frame()->nargs = 17);
CASE(ArgBadTag, frame()->args[0].type = 99);
CASE(ArgStrOOB, frame()->args[0].bits = boot()->output_size - 1);
CASE(ArgLenHuge, frame()->args[0].len = ~0ull - 1024);
CASE(RetBadTag, frame()->ret_type = 55);
CASE(ArgBadUtf8, memcpy((uint8_t *)(uintptr_t)boot()->output_base + DATA_OFF, "\xff\xfe", 3));
