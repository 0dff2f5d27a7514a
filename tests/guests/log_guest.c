/*
 * log_guest.c - guest logging (tests/test_log.c): levels, the level check
 * before formatting, source locations, floods.
 */
#include <glint/guest.h>
#include <stdio.h>
#include <string.h>

static uint32_t formatted; /* how often side() ran: arguments of a message sent */

static const char *side(void)
{
    formatted++;
    return "side";
}

void glint_main(void)
{
    glint_log(GLINT_LOG_WARN, "from glint_main");
}

/* One message at each level, each with a %s argument that counts. */
static void Levels(const glint_args *a)
{
    (void)a;
    glint_log(GLINT_LOG_ERROR, "error %s", side());
    glint_log(GLINT_LOG_WARN, "warn %s", side());
    glint_log(GLINT_LOG_INFO, "info %s", side());
    glint_log(GLINT_LOG_DEBUG, "debug %s", side());
    glint_log(GLINT_LOG_TRACE, "trace %s", side());
}
GLINT_FUNCTION(Levels, GLINT_VOID);

static void Formatted(const glint_args *a)
{
    (void)a;
    glint_return_u32(formatted);
}
GLINT_FUNCTION(Formatted, GLINT_U32);

static void Level(const glint_args *a)
{
    (void)a;
    glint_return_u32(glint_log_level());
}
GLINT_FUNCTION(Level, GLINT_U32);

/* A message; the result, set before it, survives the log call and says
 * the line of the message. */
static void Located(const glint_args *a)
{
    char r[32];
    snprintf(r, sizeof r, "kept %d", __LINE__ + 2);
    glint_return_string(r);
    glint_log(GLINT_LOG_ERROR, "value %d and %s", glint_arg_i32(a, 0), "text\nwith a newline");
}
GLINT_FUNCTION(Located, GLINT_STRING, GLINT_I32);

/* n messages of `size` bytes each at warn. */
static char big[70000];
static void Flood(const glint_args *a)
{
    uint32_t n = glint_arg_u32(a, 0), size = glint_arg_u32(a, 1);
    if (size >= sizeof big)
        size = sizeof big - 1;
    memset(big, 'x', size);
    big[size] = 0;
    for (uint32_t i = 0; i < n; i++)
        glint_log(GLINT_LOG_WARN, "%u %s", i, big);
    glint_return_u32(n);
}
GLINT_FUNCTION(Flood, GLINT_U32, GLINT_U32, GLINT_U32);
