/*
 * forge: a guest that attacks the process backend's control page
 * (JAIL_CTL_ADDR in jail.h, writable from guest code in a process).
 *
 *   Get() -> uint64          the counter
 *   Bump() -> uint64         ++counter
 *   ForgeAndRun() -> void    bumps `to_host` so that the host sees a copy of
 *                            the previous report (a finished call) while this
 *                            code keeps running, then writes the input
 *                            buffer's first bytes into `stolen` forever
 *   Stolen() -> uint64       what ForgeAndRun saw (OR of them)
 *   Len(string) -> uint64    its length
 *
 * On KVM there is no such page: ForgeAndRun faults (write outside guest
 * memory).
 */
#include <glint/abi.h>
#include <glint/guest.h>
#include <glint/layout.h>
#include <stdint.h>
#include "jail.h"

static volatile uint64_t counter = 1000;
static volatile uint64_t stolen;

static void Get(const glint_args *a)
{
    (void)a;
    glint_return_u64(counter);
}
GLINT_FUNCTION(Get, GLINT_U64);

static void Bump(const glint_args *a)
{
    (void)a;
    glint_return_u64(++counter);
}
GLINT_FUNCTION(Bump, GLINT_U64);

static void ForgeAndRun(const glint_args *a)
{
    (void)a;
    volatile uint32_t *to_host = (volatile uint32_t *)(uintptr_t)JAIL_CTL_ADDR;
    __atomic_add_fetch(to_host, 1, __ATOMIC_SEQ_CST);
    const struct glint_boot_info *bi = (const struct glint_boot_info *)(uintptr_t)GLINT_BOOT_INFO_GVA;
    const volatile uint64_t *in = (const volatile uint64_t *)(uintptr_t)bi->input_base;
    for (;;) {
        stolen |= in[sizeof(struct glint_call_frame) / 8]; /* the first argument's bytes */
        counter++;
    }
}
GLINT_FUNCTION(ForgeAndRun, GLINT_VOID);

static void Stolen(const glint_args *a)
{
    (void)a;
    glint_return_u64(stolen);
}
GLINT_FUNCTION(Stolen, GLINT_U64);

static void Len(const glint_args *a)
{
    size_t n = 0;
    (void)glint_arg_string(a, 0, &n);
    glint_return_u64(n);
}
GLINT_FUNCTION(Len, GLINT_U64, GLINT_STRING);
