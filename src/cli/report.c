/* report.c - one-line errors and exit codes. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

/*
 * Every failure is one line on stderr, so anything that could break the
 * line (newlines and other control bytes from file names, arguments or
 * guest messages) is written as \xNN.  Bytes >= 0x80 pass through (UTF-8).
 */
void cli_error(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(buf, sizeof buf, "(cannot format the error message)");
    fputs("glint: ", stderr);
    for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
    fflush(stderr);
}

int cli_exit_code(glint_status s)
{
    switch (s) {
    case GLINT_OK:
        return CLI_EXIT_OK;
    case GLINT_E_INVALID:
    case GLINT_E_NO_FUNCTION:
    case GLINT_E_SIGNATURE:
    case GLINT_E_TOO_LARGE:
    case GLINT_E_INCOMPATIBLE: /* a snapshot's host functions vs. the command line */
        return CLI_EXIT_USAGE;
    case GLINT_E_IO:
    case GLINT_E_BAD_IMAGE:
    case GLINT_E_ABI:
    case GLINT_E_BAD_SNAPSHOT:
        return CLI_EXIT_IMAGE;
    case GLINT_E_GUEST_ERROR:
    case GLINT_E_ABORT:
    case GLINT_E_EXCEPTION:
    case GLINT_E_STACK_OVERFLOW:
    case GLINT_E_GUEST_OOM:
    case GLINT_E_SHUTDOWN:
    case GLINT_E_OUT_OF_BOUNDS:
    case GLINT_E_UNEXPECTED_EXIT:
    case GLINT_E_BAD_GUEST_DATA:
    case GLINT_E_POISONED:
        return CLI_EXIT_GUEST;
    case GLINT_E_TIMEOUT:
    case GLINT_E_CANCELLED:
        return CLI_EXIT_TIME;
    case GLINT_E_NO_KVM:
        return CLI_EXIT_NO_BACKEND;
    case GLINT_E_NOMEM:
    case GLINT_E_STATE:
    case GLINT_E_BUSY:
    case GLINT_E_HYPERVISOR:
    default:
        return CLI_EXIT_INTERNAL;
    }
}
