/*
 * basic: a well-behaved guest for the sandbox tests.
 *
 *   Add(int32, int32) -> int32      Nop() -> void
 *   Echo(string) -> string          Counter() -> uint64 (1, 2, 3, ... per sandbox)
 *   Printf(string s, int32 n) -> void   printf("print:%s:%d\n", s, n)
 *   CallBlock() -> int32            calls the host's Block() -> void, returns 7
 *   CallReenter() -> int32          calls the host's Reenter() -> int32, returns it
 *   HeapWorks(uint32 n) -> uint64   n malloc/realloc/free rounds, returns a checksum
 */
#include <glint/guest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void Add(const glint_args *a)
{
    glint_return_i32((int32_t)((uint32_t)glint_arg_i32(a, 0) + (uint32_t)glint_arg_i32(a, 1)));
}
GLINT_FUNCTION(Add, GLINT_I32, GLINT_I32, GLINT_I32);

static void Nop(const glint_args *a)
{
    (void)a;
}
GLINT_FUNCTION(Nop, GLINT_VOID);

static void Echo(const glint_args *a)
{
    size_t len = 0;
    const char *s = glint_arg_string(a, 0, &len);
    glint_return_stringn(s, len);
}
GLINT_FUNCTION(Echo, GLINT_STRING, GLINT_STRING);

static uint64_t counter;

static void Counter(const glint_args *a)
{
    (void)a;
    glint_return_u64(++counter);
}
GLINT_FUNCTION(Counter, GLINT_U64);

static void Printf(const glint_args *a)
{
    printf("print:%s:%d\n", glint_arg_string(a, 0, NULL), (int)glint_arg_i32(a, 1));
}
GLINT_FUNCTION(Printf, GLINT_VOID, GLINT_STRING, GLINT_I32);

static void CallBlock(const glint_args *a)
{
    (void)a;
    int rc = glint_host_call("Block", GLINT_VOID, NULL, 0, NULL);
    if (rc != 0)
        glint_return_error("Block returned %d: %s", rc, glint_host_error());
    else
        glint_return_i32(7);
}
GLINT_FUNCTION(CallBlock, GLINT_I32);

static void CallReenter(const glint_args *a)
{
    (void)a;
    glint_val r;
    int rc = glint_host_call("Reenter", GLINT_I32, &r, 0, NULL);
    if (rc != 0)
        glint_return_error("Reenter returned %d: %s", rc, glint_host_error());
    else
        glint_return_i32(r.v.i32);
}
GLINT_FUNCTION(CallReenter, GLINT_I32);

static void HeapWorks(const glint_args *a)
{
    uint32_t n = glint_arg_u32(a, 0);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t size = 16 + (i * 37u) % 2000u;
        uint8_t *p = malloc(size);
        memset(p, (int)(i & 0xff), size);
        p = realloc(p, size * 2);
        for (size_t k = 0; k < size; k++)
            sum += p[k];
        free(p);
    }
    glint_return_u64(sum);
}
GLINT_FUNCTION(HeapWorks, GLINT_U64, GLINT_U32);
