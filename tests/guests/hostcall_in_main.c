/*
 * hostcall_in_main: glint_main calls print("from main"), which the guest
 * library or the host must refuse (host calls exist only during a call).
 *   MainResult() -> string   "rc=RC msg=MESSAGE" of that attempt
 */
#include <glint/guest.h>
#include <stdio.h>
#include <string.h>

static int main_rc = 12345;
static char main_msg[256];

void glint_main(void)
{
    glint_val arg = GLINT_VAL_STR("from main");
    main_rc = glint_host_call("print", GLINT_VOID, NULL, 1, &arg);
    strncpy(main_msg, glint_host_error(), sizeof main_msg - 1);
}

static void MainResult(const glint_args *a)
{
    (void)a;
    char text[320];
    snprintf(text, sizeof text, "rc=%d msg=%s", main_rc, main_msg);
    glint_return_string(text);
}
GLINT_FUNCTION(MainResult, GLINT_STRING);
