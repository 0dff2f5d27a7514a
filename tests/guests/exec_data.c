/*
 * exec_data: jumps into memory that is not executable (W^X, NX).
 *   ExecData()  calls a `ret` in a .data array
 *   ExecStack() calls a `ret` in a stack array
 *   ExecHeap()  calls a `ret` in a malloc'd block
 *   ExecInput() calls into the input buffer
 * Each faults with #PF (vector 14, instruction fetch) at the address that
 * Where(name) returns (for ExecStack, Where gives 0: the address varies).
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <stdlib.h>
#include <string.h>

static uint8_t data_code[16] = {0xc3};
static uint8_t *heap_code;

static void call_at(const void *p)
{
    __asm__ volatile("call *%0" : : "r"(p) : "memory");
}

static uint64_t input_base(void)
{
    return ((const volatile struct glint_boot_info *)GLINT_BOOT_INFO_GVA)->input_base;
}

static void ExecData(const glint_args *a)
{
    (void)a;
    call_at(data_code);
}
GLINT_FUNCTION(ExecData, GLINT_VOID);

static void ExecStack(const glint_args *a)
{
    (void)a;
    volatile uint8_t code[16] = {0xc3};
    call_at((const void *)code);
}
GLINT_FUNCTION(ExecStack, GLINT_VOID);

static void ExecHeap(const glint_args *a)
{
    (void)a;
    call_at(heap_code);
}
GLINT_FUNCTION(ExecHeap, GLINT_VOID);

static void ExecInput(const glint_args *a)
{
    (void)a;
    call_at((const void *)(uintptr_t)input_base());
}
GLINT_FUNCTION(ExecInput, GLINT_VOID);

void glint_main(void)
{
    heap_code = malloc(16);
    heap_code[0] = 0xc3;
}

static void Where(const glint_args *a)
{
    const char *n = glint_arg_string(a, 0, NULL);
    uint64_t at = 0;
    if (!strcmp(n, "ExecData"))
        at = (uint64_t)(uintptr_t)data_code;
    else if (!strcmp(n, "ExecHeap"))
        at = (uint64_t)(uintptr_t)heap_code;
    else if (!strcmp(n, "ExecInput"))
        at = input_base();
    glint_return_u64(at);
}
GLINT_FUNCTION(Where, GLINT_U64, GLINT_STRING);
