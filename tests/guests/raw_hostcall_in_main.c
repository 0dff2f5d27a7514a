/*
 * raw_hostcall_in_main: glint_main bypasses the guest library and sends a
 * well-formed print("raw from main") host call frame with a raw OUT.  No
 * call is in progress, so the host must never run the print callback.
 *   Nop() -> void
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <string.h>

void glint_main(void)
{
    const volatile struct glint_boot_info *bi =
        (const volatile struct glint_boot_info *)GLINT_BOOT_INFO_GVA;
    uint8_t *out = (uint8_t *)(uintptr_t)bi->output_base;
    memcpy(out + 1024, "print", 5);
    memcpy(out + 2048, "raw from main", 14);
    volatile struct glint_hostcall_frame *f = (volatile struct glint_hostcall_frame *)out;
    f->name_len = 5;
    f->nargs = 1;
    f->ret_type = GLINT_VOID;
    f->reserved = 0;
    f->name_off = 1024;
    f->args[0].type = GLINT_STRING;
    f->args[0].reserved = 0;
    f->args[0].len = 13;
    f->args[0].bits = 2048;
    __asm__ volatile("outb %%al, %0" : : "N"(GLINT_PORT_HOSTCALL), "a"(0) : "memory");
}

static void Nop(const glint_args *a)
{
    (void)a;
}
GLINT_FUNCTION(Nop, GLINT_VOID);
