/* init_fault: glint_main executes ud2, so initialization fails with #UD. */
#include <glint/guest.h>

void glint_main(void)
{
    __asm__ volatile("ud2" ::: "memory");
}

static void Nop(const glint_args *a)
{
    (void)a;
}
GLINT_FUNCTION(Nop, GLINT_VOID);
