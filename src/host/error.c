/* error.c - status names and error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define API __attribute__((visibility("default")))

void glint_error_clear(glint_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

glint_status glint_fail(glint_error *err, glint_status status, const char *fmt, ...)
{
    if (!err)
        return status;
    glint_error_clear(err);
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* One line: a message never carries a newline from guest text. */
    for (char *p = err->message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return status;
}

API const char *glint_status_name(glint_status status)
{
    static const char *const names[] = {
        [GLINT_OK] = "GLINT_OK",
        [GLINT_E_INVALID] = "GLINT_E_INVALID",
        [GLINT_E_NOMEM] = "GLINT_E_NOMEM",
        [GLINT_E_IO] = "GLINT_E_IO",
        [GLINT_E_STATE] = "GLINT_E_STATE",
        [GLINT_E_BUSY] = "GLINT_E_BUSY",
        [GLINT_E_NO_KVM] = "GLINT_E_NO_KVM",
        [GLINT_E_HYPERVISOR] = "GLINT_E_HYPERVISOR",
        [GLINT_E_BAD_IMAGE] = "GLINT_E_BAD_IMAGE",
        [GLINT_E_ABI] = "GLINT_E_ABI",
        [GLINT_E_NO_FUNCTION] = "GLINT_E_NO_FUNCTION",
        [GLINT_E_SIGNATURE] = "GLINT_E_SIGNATURE",
        [GLINT_E_TOO_LARGE] = "GLINT_E_TOO_LARGE",
        [GLINT_E_GUEST_ERROR] = "GLINT_E_GUEST_ERROR",
        [GLINT_E_ABORT] = "GLINT_E_ABORT",
        [GLINT_E_EXCEPTION] = "GLINT_E_EXCEPTION",
        [GLINT_E_STACK_OVERFLOW] = "GLINT_E_STACK_OVERFLOW",
        [GLINT_E_GUEST_OOM] = "GLINT_E_GUEST_OOM",
        [GLINT_E_TIMEOUT] = "GLINT_E_TIMEOUT",
        [GLINT_E_CANCELLED] = "GLINT_E_CANCELLED",
        [GLINT_E_SHUTDOWN] = "GLINT_E_SHUTDOWN",
        [GLINT_E_OUT_OF_BOUNDS] = "GLINT_E_OUT_OF_BOUNDS",
        [GLINT_E_UNEXPECTED_EXIT] = "GLINT_E_UNEXPECTED_EXIT",
        [GLINT_E_BAD_GUEST_DATA] = "GLINT_E_BAD_GUEST_DATA",
        [GLINT_E_POISONED] = "GLINT_E_POISONED",
        [GLINT_E_INCOMPATIBLE] = "GLINT_E_INCOMPATIBLE",
        [GLINT_E_BAD_SNAPSHOT] = "GLINT_E_BAD_SNAPSHOT",
    };
    if ((unsigned)status < sizeof names / sizeof names[0] && names[status])
        return names[status];
    return "GLINT_E_UNKNOWN";
}
