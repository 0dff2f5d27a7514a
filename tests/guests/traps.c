/*
 * traps: instructions that enter the kernel on an ordinary OS.  There is
 * no kernel here, so each must end as a reported exception.
 *   Syscall()  syscall (LSTAR is 0)
 *   Int80()    int $0x80 (the IDT gates are ring-0 only)
 *   Int3()     int3
 */
#include <glint/guest.h>

static void Syscall(const glint_args *a)
{
    (void)a;
    __asm__ volatile("syscall" ::: "rcx", "r11", "memory");
}
GLINT_FUNCTION(Syscall, GLINT_VOID);

static void Int80(const glint_args *a)
{
    (void)a;
    __asm__ volatile("int $0x80" ::: "memory");
}
GLINT_FUNCTION(Int80, GLINT_VOID);

static void Int3(const glint_args *a)
{
    (void)a;
    __asm__ volatile("int3" ::: "memory");
}
GLINT_FUNCTION(Int3, GLINT_VOID);
