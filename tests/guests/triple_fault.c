/*
 * triple_fault: tries to take the vCPU down by faulting with a broken stack.
 * From ring 3 this cannot triple-fault: the CPU switches to the ring-0
 * exception stack (RSP0 in the TSS), so each case is an ordinary exception.
 *   BadStackUd2()  RSP = 0x1008 (a supervisor page), then ud2  -> #UD
 *   BadStackPush() RSP = 0x1008, then push                      -> #PF at 0x1000
 *   ZeroStack()    RSP = 0, then push (to 0xffff...fff8)         -> a fault, never a crash
 */
#include <glint/guest.h>

static void BadStackUd2(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movq $0x1008, %%rsp\n\tud2" ::: "memory");
}
GLINT_FUNCTION(BadStackUd2, GLINT_VOID);

static void BadStackPush(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movq $0x1008, %%rsp\n\tpushq %%rax" ::: "memory");
}
GLINT_FUNCTION(BadStackPush, GLINT_VOID);

static void ZeroStack(const glint_args *a)
{
    (void)a;
    __asm__ volatile("xorl %%esp, %%esp\n\tpushq %%rax" ::: "memory");
}
GLINT_FUNCTION(ZeroStack, GLINT_VOID);
