/*
 * zero_page: touches the not-present page at address 0.
 *   WriteZero() writes 8 bytes at 0x10, ReadZero() reads at 0x0:
 *   both #PF (vector 14) at the site named by Where(name) -> uint64.
 */
#include <glint/guest.h>
#include <string.h>

extern const char zero_write_site[], zero_read_site[];

static void WriteZero(const glint_args *a)
{
    (void)a;
    __asm__ volatile("zero_write_site: movq $1, (%0)" : : "r"((uint64_t)0x10) : "memory");
}
GLINT_FUNCTION(WriteZero, GLINT_VOID);

static void ReadZero(const glint_args *a)
{
    (void)a;
    uint64_t v;
    __asm__ volatile("zero_read_site: movq (%1), %0" : "=r"(v) : "r"((uint64_t)0) : "memory");
    glint_return_u64(v);
}
GLINT_FUNCTION(ReadZero, GLINT_U64);

static void Where(const glint_args *a)
{
    const char *n = glint_arg_string(a, 0, NULL);
    uint64_t at = 0;
    if (!strcmp(n, "WriteZero"))
        at = (uint64_t)(uintptr_t)zero_write_site;
    else if (!strcmp(n, "ReadZero"))
        at = (uint64_t)(uintptr_t)zero_read_site;
    glint_return_u64(at);
}
GLINT_FUNCTION(Where, GLINT_U64, GLINT_STRING);
