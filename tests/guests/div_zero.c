/*
 * div_zero: integer division faults, #DE (vector 0) at the site
 * Where(name) -> uint64 returns.
 *   DivZero(int32 d)        100 / d, called with d = 0
 *   DivOverflow(int32 d)    INT32_MIN / d, called with d = -1
 */
#include <glint/guest.h>
#include <string.h>

extern const char div_zero_site[], div_ovf_site[];

static void DivZero(const glint_args *a)
{
    int32_t d = glint_arg_i32(a, 0);
    int32_t q;
    __asm__ volatile("cltd\n\tdiv_zero_site: idivl %2"
                     : "=a"(q) : "a"(100), "r"(d) : "rdx", "cc");
    glint_return_i32(q);
}
GLINT_FUNCTION(DivZero, GLINT_I32, GLINT_I32);

static void DivOverflow(const glint_args *a)
{
    int32_t d = glint_arg_i32(a, 0);
    int32_t q;
    __asm__ volatile("cltd\n\tdiv_ovf_site: idivl %2"
                     : "=a"(q) : "a"(INT32_MIN), "r"(d) : "rdx", "cc");
    glint_return_i32(q);
}
GLINT_FUNCTION(DivOverflow, GLINT_I32, GLINT_I32);

static void Where(const glint_args *a)
{
    const char *n = glint_arg_string(a, 0, NULL);
    uint64_t at = 0;
    if (!strcmp(n, "DivZero"))
        at = (uint64_t)(uintptr_t)div_zero_site;
    else if (!strcmp(n, "DivOverflow"))
        at = (uint64_t)(uintptr_t)div_ovf_site;
    glint_return_u64(at);
}
GLINT_FUNCTION(Where, GLINT_U64, GLINT_STRING);
