/*
 * seccomp.c - `glint call` runs the guest under glint's seccomp filter
 * (glint_seccomp_restrict_thread, kill-process mode) unless --no-seccomp.
 *
 * The filter goes on the thread that runs the guest, after the sandbox is
 * created and before the guest's initialization: from then on the guest and
 * the host functions it calls (print, GetWeekday) can reach only the system
 * calls listed in glint.h.  Anything else kills glint with SIGSYS.
 *
 * A sanitizer build (make test-asan) runs without it: LeakSanitizer's check
 * at exit needs clone and ptrace, which the filter forbids.
 */
#include <time.h>

#include "cli.h"

#if defined(__SANITIZE_ADDRESS__)
#define CLI_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLI_SANITIZED 1
#endif
#endif

int cli_seccomp_start(const struct cli_opts *o)
{
#ifdef CLI_SANITIZED
    (void)o;
    return -1;
#else
    if (o->no_seccomp)
        return -1;
    tzset(); /* GetWeekday's localtime_r reads /etc/localtime once: now, not under the filter */
    glint_error err;
    if (glint_seccomp_restrict_thread(GLINT_SECCOMP_KILL, &err) == GLINT_OK)
        return -1;
    cli_error("%s (run with --no-seccomp to go without the filter)", err.message);
    return CLI_EXIT_INTERNAL;
#endif
}
