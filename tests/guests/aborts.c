/*
 * aborts: the ways a guest gives up, each ending the call with GLINT_E_ABORT.
 *   LongAbort()       glint_abort(42, ...) with a 3000-byte message
 *                     "begin xxx...xxx end": the host keeps a truncated copy
 *   AssertFail(int32) assert(x == 1), called with 2
 *   Panic()           GLINT_PANIC("panic number %d", 7)
 *   Abort()           abort()
 */
#include <assert.h>
#include <glint/guest.h>
#include <stdlib.h>
#include <string.h>

static char filler[3001];

static void LongAbort(const glint_args *a)
{
    (void)a;
    memset(filler, 'x', sizeof filler - 1);
    glint_abort(42, "begin %s end", filler);
}
GLINT_FUNCTION(LongAbort, GLINT_VOID);

static void AssertFail(const glint_args *a)
{
    int32_t x = glint_arg_i32(a, 0);
    assert(x == 1);
    glint_return_i32(x);
}
GLINT_FUNCTION(AssertFail, GLINT_I32, GLINT_I32);

static void Panic(const glint_args *a)
{
    (void)a;
    GLINT_PANIC("panic number %d", 7);
}
GLINT_FUNCTION(Panic, GLINT_VOID);

static void Abort(const glint_args *a)
{
    (void)a;
    abort();
}
GLINT_FUNCTION(Abort, GLINT_VOID);
