/*
 * host_fail: calls the host function Fail(string) -> int32, which the test
 * registers to fail with glint_hostcall_fail.
 *   CallFail(string s) -> string    "rc=RC msg=MESSAGE" of Fail(s)
 */
#include <glint/guest.h>
#include <stdio.h>

static void CallFail(const glint_args *a)
{
    glint_val arg = {.type = GLINT_STRING};
    arg.v.str.ptr = glint_arg_string(a, 0, &arg.v.str.len);
    glint_val r;
    int rc = glint_host_call("Fail", GLINT_I32, &r, 1, &arg);
    char text[400];
    if (rc == 0)
        snprintf(text, sizeof text, "rc=0 value=%d", (int)r.v.i32);
    else
        snprintf(text, sizeof text, "rc=%d msg=%s", rc, glint_host_error());
    glint_return_string(text);
}
GLINT_FUNCTION(CallFail, GLINT_STRING, GLINT_STRING);
