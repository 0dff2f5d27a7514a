/*
 * hello - a minimal glint host program.
 *
 * Usage: hello GUEST.elf NAME
 *
 * Opens the guest, registers the host function GetWeekday() -> string,
 * initializes the sandbox, calls SayHello(NAME) and prints the result.
 * Every failure prints glint's one-line message and exits 1.
 */
#define _POSIX_C_SOURCE 200809L /* localtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <glint/glint.h>

/* GetWeekday() -> string: today's weekday in local time. */
static glint_status get_weekday(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                glint_value *ret, void *user)
{
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    (void)args;
    (void)nargs;
    (void)user;
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !localtime_r(&now, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6)
        return glint_hostcall_fail(hc, "cannot read the local time");
    *ret = glint_cstr(days[tm.tm_wday]);
    return GLINT_OK;
}

static int fail(const char *what, const glint_error *err)
{
    fprintf(stderr, "hello: %s: %s (%s)\n", what, err->message, glint_status_name(err->status));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s GUEST.elf NAME\n", argv[0]);
        return 2;
    }
    glint_error err;
    glint_sandbox *sb = NULL;
    if (glint_sandbox_create_file(argv[1], NULL, &sb, &err) != GLINT_OK)
        return fail("opening the guest", &err);

    const glint_function weekday = {.name = "GetWeekday", .ret = GLINT_STRING, .nparams = 0};
    int rc = 0;
    glint_value arg = glint_cstr(argv[2]);
    glint_value result;
    if (glint_sandbox_register(sb, &weekday, get_weekday, NULL) != GLINT_OK)
        rc = fail("registering GetWeekday", glint_sandbox_error(sb));
    else if (glint_sandbox_init(sb) != GLINT_OK)
        rc = fail("initializing the guest", glint_sandbox_error(sb));
    else if (glint_sandbox_call(sb, "SayHello", &arg, 1, &result) != GLINT_OK)
        rc = fail("calling SayHello", glint_sandbox_error(sb));
    else {
        fwrite(result.v.str.ptr, 1, result.v.str.len, stdout);
        putchar('\n');
    }
    glint_sandbox_destroy(sb);
    return rc;
}
