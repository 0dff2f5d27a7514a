/*
 * log.c - glint_log: leveled messages to the host's log.
 *
 * The host writes the most verbose level it wants into the call frame's
 * reserved field (glint/abi.h) before every call and before glint_main, so
 * the check needs no exit.  A message is formatted into a static buffer
 * (the guest has one thread) and sent as a host call to GLINT_LOG_HOSTFN,
 * which the host handles itself and does not answer (see hostcall.c).
 */
#include <string.h>

#include "internal.h"

static char msg[GLINT_LOG_MSG_MAX + 1];

unsigned glint_log_level(void)
{
    return (unsigned)(((const volatile struct glint_call_frame *)glint__frame())->reserved &
                      GLINT_LOG_LEVEL_MASK);
}

bool glint_log_enabled(unsigned level)
{
    return level != GLINT_LOG_OFF && level <= glint_log_level();
}

void glint_log_at(unsigned level, const char *file, int line, const char *fmt, ...)
{
    if (!glint_log_enabled(level))
        return;
    struct glint_sink s = {.buf = msg, .cap = GLINT_LOG_MSG_MAX};
    va_list ap;
    va_start(ap, fmt);
    glint__vformat(&s, fmt ? fmt : "", ap);
    va_end(ap);
    size_t n = s.pos;
    if (s.total > n) /* truncated: do not end inside a UTF-8 sequence */
        n = glint__utf8_cut(msg, n);
    glint__utf8_sanitize(msg, n);
    msg[n] = 0;
    if (!file)
        file = "";
    size_t flen = strnlen(file, 255);
    glint__log_send(level, file, flen, line < 0 ? 0u : (uint32_t)line, msg, n);
}
