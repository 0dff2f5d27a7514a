/* init_spin: glint_main never returns, so initialization hits the time limit. */
#include <glint/guest.h>

void glint_main(void)
{
    for (;;)
        __asm__ volatile("" ::: "memory");
}

static void Nop(const glint_args *a)
{
    (void)a;
}
GLINT_FUNCTION(Nop, GLINT_VOID);
