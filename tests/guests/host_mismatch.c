/*
 * host_mismatch: calls the host function Count(int32) -> int32 (registered
 * by the test) with the wrong signature.  Each returns "rc=RC msg=MESSAGE".
 *   WrongType()    Count("seven")
 *   WrongCount0()  Count()
 *   WrongCount2()  Count(1, 2)
 *   WrongRet()     Count(1) expecting a string
 *   WrongRetVoid() Count(1) expecting nothing
 *   Right()        Count(41): "rc=0 value=V"
 */
#include <glint/guest.h>
#include <stdio.h>

static void report(int rc, const glint_val *r)
{
    char text[300];
    if (rc == 0 && r)
        snprintf(text, sizeof text, "rc=0 value=%d", (int)r->v.i32);
    else
        snprintf(text, sizeof text, "rc=%d msg=%s", rc, glint_host_error());
    glint_return_string(text);
}

static void WrongType(const glint_args *a)
{
    (void)a;
    glint_val arg = GLINT_VAL_STR("seven"), r;
    report(glint_host_call("Count", GLINT_I32, &r, 1, &arg), NULL);
}
GLINT_FUNCTION(WrongType, GLINT_STRING);

static void WrongCount0(const glint_args *a)
{
    (void)a;
    glint_val r;
    report(glint_host_call("Count", GLINT_I32, &r, 0, NULL), NULL);
}
GLINT_FUNCTION(WrongCount0, GLINT_STRING);

static void WrongCount2(const glint_args *a)
{
    (void)a;
    glint_val args[2] = {GLINT_VAL_I32(1), GLINT_VAL_I32(2)}, r;
    report(glint_host_call("Count", GLINT_I32, &r, 2, args), NULL);
}
GLINT_FUNCTION(WrongCount2, GLINT_STRING);

static void WrongRet(const glint_args *a)
{
    (void)a;
    glint_val arg = GLINT_VAL_I32(1), r;
    report(glint_host_call("Count", GLINT_STRING, &r, 1, &arg), NULL);
}
GLINT_FUNCTION(WrongRet, GLINT_STRING);

static void WrongRetVoid(const glint_args *a)
{
    (void)a;
    glint_val arg = GLINT_VAL_I32(1);
    report(glint_host_call("Count", GLINT_VOID, NULL, 1, &arg), NULL);
}
GLINT_FUNCTION(WrongRetVoid, GLINT_STRING);

static void Right(const glint_args *a)
{
    (void)a;
    glint_val arg = GLINT_VAL_I32(41), r;
    int rc = glint_host_call("Count", GLINT_I32, &r, 1, &arg);
    report(rc, rc == 0 ? &r : NULL);
}
GLINT_FUNCTION(Right, GLINT_STRING);
