/*
 * write_code: WriteCode() writes a byte over its own first instruction, which
 * is read-only (W^X): #PF (vector 14, error code: present + write + user) at
 * the address Where("WriteCode") returns.
 */
#include <glint/guest.h>

static void WriteCode(const glint_args *a);

static void Where(const glint_args *a)
{
    (void)a;
    glint_return_u64((uint64_t)(uintptr_t)&WriteCode);
}
GLINT_FUNCTION(Where, GLINT_U64, GLINT_STRING);

static void WriteCode(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movb $0xc3, (%0)" : : "r"(&WriteCode) : "memory");
}
GLINT_FUNCTION(WriteCode, GLINT_VOID);
