/*
 * traps: instructions that enter the kernel on an ordinary OS.  There is
 * no kernel here, so each must end as a reported exception.
 *   Syscall()  syscall (LSTAR is 0)
 *   Int80()    int $0x80 (the IDT gates are ring-0 only)
 *   Int3()     int3
 *   Where(string) -> uint64  the address of that function's instruction
 */
#include <glint/guest.h>
#include <string.h>

extern const char syscall_site[], int80_site[], int3_site[];

static void Syscall(const glint_args *a)
{
    (void)a;
    __asm__ volatile("syscall_site: syscall" ::: "rcx", "r11", "memory");
}
GLINT_FUNCTION(Syscall, GLINT_VOID);

static void Int80(const glint_args *a)
{
    (void)a;
    __asm__ volatile("int80_site: int $0x80" ::: "memory");
}
GLINT_FUNCTION(Int80, GLINT_VOID);

static void Int3(const glint_args *a)
{
    (void)a;
    __asm__ volatile("int3_site: int3" ::: "memory");
}
GLINT_FUNCTION(Int3, GLINT_VOID);

static void Where(const glint_args *a)
{
    const char *n = glint_arg_string(a, 0, NULL);
    uint64_t at = 0;
    if (!strcmp(n, "Syscall"))
        at = (uint64_t)(uintptr_t)syscall_site;
    else if (!strcmp(n, "Int80"))
        at = (uint64_t)(uintptr_t)int80_site;
    else if (!strcmp(n, "Int3"))
        at = (uint64_t)(uintptr_t)int3_site;
    glint_return_u64(at);
}
GLINT_FUNCTION(Where, GLINT_U64, GLINT_STRING);
