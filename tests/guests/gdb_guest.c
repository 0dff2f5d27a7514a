/*
 * gdb_guest: a guest for debugger tests (tests/test_gdb.c), built with
 * -O0 -g (see the Makefile) so that gdb can step it and print its locals.
 *   Sum(int32 n)   1 + 2 + ... + n, through gdb_add
 *   Fault(int32 x) writes through a null pointer (SIGSEGV in gdb)
 */
#include <glint/guest.h>

int gdb_add(int acc, int v)
{
    int next = acc + v;
    return next;
}

static void Sum(const glint_args *a)
{
    int n = glint_arg_i32(a, 0);
    int total = 0;
    for (int i = 1; i <= n; i++)
        total = gdb_add(total, i);
    glint_return_i32(total);
}
GLINT_FUNCTION(Sum, GLINT_I32, GLINT_I32);

volatile int *volatile gdb_null;

static void Fault(const glint_args *a)
{
    *gdb_null = glint_arg_i32(a, 0);
    glint_return_i32(0);
}
GLINT_FUNCTION(Fault, GLINT_I32, GLINT_I32);
