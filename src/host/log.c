/*
 * log.c - guest logging (glint_log in the guest).
 *
 * The most verbose level the host wants goes into every call frame (call.c:
 * the frame's reserved field, glint/abi.h), so a guest skips messages above
 * it without an exit.  A message arrives as a host call to GLINT_LOG_HOSTFN,
 * which hostcall.c hands here before any registered function is looked up:
 * it is never registered, so it is not part of the host-function set that
 * snapshots and pools compare, and it works during initialization.  No
 * reply is written.  Each call (and initialization) takes at most
 * GLINT_LOG_MAX_MESSAGES messages and GLINT_LOG_MAX_BYTES bytes of text;
 * the rest is counted, reported once when the call ends, and added to
 * glint_sandbox_log_dropped.  Nothing is stored: a flood costs the guest
 * exits within its time limit, and the host no memory.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "sandbox.h"
#include "wire.h"

static const char *const level_names[] = {"off", "error", "warn", "info", "debug", "trace"};

API const char *glint_log_level_name(unsigned level)
{
    return level <= GLINT_LOG_TRACE ? level_names[level] : "?";
}

API glint_status glint_log_level_parse(const char *name, unsigned *out, glint_error *err)
{
    if (!name || !out)
        return glint_fail(err, GLINT_E_INVALID, "glint_log_level_parse: name and out are required");
    for (unsigned i = 0; i <= GLINT_LOG_TRACE; i++)
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = i;
            return GLINT_OK;
        }
    if (strcasecmp(name, "warning") == 0) {
        *out = GLINT_LOG_WARN;
        return GLINT_OK;
    }
    return glint_fail(err, GLINT_E_INVALID,
                      "log level '%.40s' is not one of off, error, warn, info, debug, trace", name);
}

/* The default: one line on stderr, like the default print writes stdout. */
static void log_stderr(glint_sandbox *sb, unsigned level, const char *file, uint32_t line,
                       const char *message, void *user)
{
    (void)sb, (void)user;
    if (file && *file)
        fprintf(stderr, "glint: guest log [%s] %s:%u: %s\n", glint_log_level_name(level), file, line,
                message);
    else
        fprintf(stderr, "glint: guest log [%s] %s\n", glint_log_level_name(level), message);
    fflush(stderr);
}

void glint_log_defaults(glint_sandbox *sb)
{
    sb->log_level = GLINT_LOG_WARN;
    sb->log_cb = log_stderr;
    sb->log_user = NULL;
}

API glint_status glint_sandbox_set_log(glint_sandbox *sb, unsigned max_level, glint_log_fn callback,
                                       void *user)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (max_level > GLINT_LOG_TRACE)
        return glint_fail(&sb->err, GLINT_E_INVALID, "log level %u is not one of GLINT_LOG_OFF .. "
                          "GLINT_LOG_TRACE", max_level);
    sb->log_level = max_level;
    sb->log_cb = callback ? callback : log_stderr;
    sb->log_user = callback ? user : NULL;
    return GLINT_OK;
}

API uint64_t glint_sandbox_log_dropped(const glint_sandbox *sb)
{
    return sb ? sb->log_dropped : 0;
}

static void drop(glint_sandbox *sb)
{
    sb->log_dropped_call++;
    sb->log_dropped++;
}

glint_status glint_log_hostcall(glint_sandbox *sb, const struct glint_hostcall_frame *f)
{
    const uint8_t *out = sb->mem + sb->lay.output_base;
    uint64_t osz = sb->lay.output_size;
    if (f->nargs != 4 || f->args[0].type != GLINT_U32 || f->args[2].type != GLINT_U32 ||
        f->args[3].type != GLINT_STRING || f->args[0].bits > GLINT_LOG_TRACE ||
        f->args[0].bits == GLINT_LOG_OFF) {
        drop(sb); /* malformed: the guest library never sends this */
        return GLINT_OK;
    }
    unsigned level = (unsigned)f->args[0].bits;
    if (level > sb->log_level || !sb->log_cb)
        return GLINT_OK; /* the level changed since the frame was written: not wanted */
    if (sb->log_msgs >= GLINT_LOG_MAX_MESSAGES || f->args[3].len > GLINT_LOG_MAX_BYTES ||
        sb->log_bytes + f->args[3].len > GLINT_LOG_MAX_BYTES) {
        drop(sb);
        return GLINT_OK;
    }
    glint_value msg, file;
    size_t used = 0;
    char why[200];
    if (!glint_wire_decode(&f->args[3], GLINT_STRING, out, osz, sb->hc_args_buf, osz + 16, &used, &msg,
                           why, sizeof why)) {
        drop(sb);
        return GLINT_OK;
    }
    /* The decoded copies are in the sandbox's buffer, NUL-terminated:
     * make each one line. */
    glint_sanitize((char *)msg.v.str.ptr);
    const char *fname = "?";
    if (f->args[1].type == GLINT_STRING && f->args[1].len <= 255 &&
        glint_wire_decode(&f->args[1], GLINT_STRING, out, osz, sb->hc_args_buf, osz + 16, &used, &file,
                          why, sizeof why)) {
        glint_sanitize((char *)file.v.str.ptr);
        fname = file.v.str.ptr;
    }
    sb->log_msgs++;
    sb->log_bytes += msg.v.str.len;
    sb->log_cb(sb, level, fname, (uint32_t)f->args[2].bits, msg.v.str.ptr, sb->log_user);
    return GLINT_OK;
}

void glint_log_call_end(glint_sandbox *sb)
{
    char line[160];
    snprintf(line, sizeof line,
             "%llu guest log message%s dropped (at most %u messages and %u bytes per call)",
             (unsigned long long)sb->log_dropped_call, sb->log_dropped_call == 1 ? "" : "s",
             GLINT_LOG_MAX_MESSAGES, GLINT_LOG_MAX_BYTES);
    sb->log_dropped_call = 0;
    if (sb->log_cb)
        sb->log_cb(sb, GLINT_LOG_WARN, "", 0, line, sb->log_user);
}
