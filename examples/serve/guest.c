/*
 * serve guest: Upper(string line) -> string, the line in upper case (ASCII).
 *
 * An empty line is an error (glint_return_error: the sandbox stays usable).
 * The line "!loop" loops forever and "!crash" writes through a NULL
 * pointer, to show how the host survives a guest that runs away or crashes:
 * the call fails, and the pool hands out a pristine sandbox next time.
 * Build: glint-cc -O2 -o serve-guest.elf guest.c
 */
#include <glint/guest.h>
#include <stdlib.h>
#include <string.h>

static void Upper(const glint_args *a)
{
    size_t len = 0;
    const char *s = glint_arg_string(a, 0, &len);
    if (len == 0) {
        glint_return_error("empty request");
        return;
    }
    if (strcmp(s, "!loop") == 0)
        for (;;)
            __asm__ volatile("" ::: "memory");
    if (strcmp(s, "!crash") == 0)
        *(volatile int *)0 = 1;
    char *out = malloc(len); /* glint's heap; the pool resets it after each request anyway */
    for (size_t i = 0; i < len; i++)
        out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
    glint_return_stringn(out, len);
    free(out);
}
GLINT_FUNCTION(Upper, GLINT_STRING, GLINT_STRING);
