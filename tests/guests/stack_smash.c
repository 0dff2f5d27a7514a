/*
 * stack_smash: Smash(uint32 n) writes n bytes into a 16-byte stack buffer.
 * With n = 64 the canary is overwritten and the stack protector stops the
 * guest on return (GLINT_E_ABORT); with n = 8 it returns n.
 */
#include <glint/guest.h>

__attribute__((noinline, stack_protect)) static uint32_t fill(uint32_t n)
{
    char buf[16];
    char *p;
    __asm__("" : "=r"(p) : "0"(buf)); /* hide the bound from the optimizer */
    for (uint32_t i = 0; i < n; i++)
        p[i] = 'A';
    __asm__ volatile("" : : "r"(buf) : "memory");
    return n;
}

static void Smash(const glint_args *a)
{
    glint_return_u32(fill(glint_arg_u32(a, 0)));
}
GLINT_FUNCTION(Smash, GLINT_U32, GLINT_U32);
