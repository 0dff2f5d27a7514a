/* weekday.c - `--weekday`: the host function GetWeekday() -> string. */
#include <time.h>

#include "cli.h"

/* Today's weekday name in local time, e.g. "Monday". */
static glint_status get_weekday(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                glint_value *ret, void *user)
{
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    (void)args, (void)nargs, (void)user;
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !localtime_r(&now, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6)
        return glint_hostcall_fail(hc, "GetWeekday: cannot read the local time");
    *ret = glint_cstr(days[tm.tm_wday]);
    return GLINT_OK;
}

const glint_function cli_weekday_fn = {.name = "GetWeekday", .ret = GLINT_STRING, .nparams = 0};

glint_status cli_register_weekday(glint_sandbox *sb)
{
    return glint_sandbox_register(sb, &cli_weekday_fn, get_weekday, NULL);
}
