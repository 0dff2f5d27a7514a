/* spin: Spin() -> void never returns (time limits, interrupts); Nop() -> void. */
#include <glint/guest.h>

static void Spin(const glint_args *a)
{
    (void)a;
    for (;;)
        __asm__ volatile("" ::: "memory");
}
GLINT_FUNCTION(Spin, GLINT_VOID);

static void Nop(const glint_args *a)
{
    (void)a;
}
GLINT_FUNCTION(Nop, GLINT_VOID);
