/*
 * invalid_op: Ud2() and Ud0() execute undefined opcodes: #UD (vector 6) at
 * the site Where(name) -> uint64 returns.
 */
#include <glint/guest.h>
#include <string.h>

extern const char ud2_site[], ud0_site[];

static void Ud2(const glint_args *a)
{
    (void)a;
    __asm__ volatile("ud2_site: ud2" ::: "memory");
}
GLINT_FUNCTION(Ud2, GLINT_VOID);

static void Ud0(const glint_args *a)
{
    (void)a;
    __asm__ volatile("ud0_site: .byte 0x0f, 0xff, 0xc0" ::: "memory");
}
GLINT_FUNCTION(Ud0, GLINT_VOID);

static void Where(const glint_args *a)
{
    const char *n = glint_arg_string(a, 0, NULL);
    uint64_t at = 0;
    if (!strcmp(n, "Ud2"))
        at = (uint64_t)(uintptr_t)ud2_site;
    else if (!strcmp(n, "Ud0"))
        at = (uint64_t)(uintptr_t)ud0_site;
    glint_return_u64(at);
}
GLINT_FUNCTION(Where, GLINT_U64, GLINT_STRING);
