/*
 * host_unregistered: calls a host function nobody registered.
 *   CallMissing() -> string    "rc=RC msg=MESSAGE" of glint_host_call("NoSuchHostFn")
 */
#include <glint/guest.h>
#include <stdio.h>

static void CallMissing(const glint_args *a)
{
    (void)a;
    glint_val arg = GLINT_VAL_STR("never delivered");
    glint_val r;
    int rc = glint_host_call("NoSuchHostFn", GLINT_I32, &r, 1, &arg);
    char text[300];
    snprintf(text, sizeof text, "rc=%d msg=%s", rc, glint_host_error());
    glint_return_string(text);
}
GLINT_FUNCTION(CallMissing, GLINT_STRING);
