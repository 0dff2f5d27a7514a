/*
 * hello guest: SayHello(string name) -> string.
 *
 * Asks the host for the weekday through the host function
 * GetWeekday() -> string, then answers "Hello, NAME! Today is WEEKDAY."
 * Build: glint-cc -O2 -o hello-guest.elf guest.c
 */
#include <glint/guest.h>
#include <stdio.h>

static void SayHello(const glint_args *a)
{
    const char *name = glint_arg_string(a, 0, NULL);
    glint_val day;
    if (glint_host_call("GetWeekday", GLINT_STRING, &day, 0, NULL) != 0) {
        glint_return_error("GetWeekday failed: %s", glint_host_error());
        return;
    }
    char text[256];
    int n = snprintf(text, sizeof text, "Hello, %s! Today is %s.", name, day.v.str.ptr);
    if (n < 0 || (size_t)n >= sizeof text) {
        glint_return_error("name too long (%d bytes of greeting)", n);
        return;
    }
    glint_return_stringn(text, (size_t)n);
}
GLINT_FUNCTION(SayHello, GLINT_STRING, GLINT_STRING);
