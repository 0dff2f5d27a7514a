/*
 * jail_syscalls: every way into the kernel a ring-3 guest has, for the
 * process backend's seccomp jail (tests/test_jail.c).  Each function tries
 * one system-call entry and returns rax if it ever comes back (it must not:
 * the jail refuses every one and the call fails).
 *   Syscall()     syscall, rax = 39 (getpid)
 *   Int80()       int $0x80, eax = 20 (i386 getpid)
 *   Sysenter()    sysenter, eax = 20
 *   Vsyscall()    call 0xffffffffff600000 (the vsyscall gettimeofday)
 *   X32()         syscall, rax = 0x40000000 | 39 (x32 getpid)
 *   Compat32()    lret to the 32-bit code segment 0x23, then int $0x80 (eax = 20)
 *   GateGetpid()  call the stub's syscall gate 0x40000000 with rax = 39
 *   GateFutex()   the same gate with rax = 202 (futex) on address 0x1234
 *   GateWrite()   the same gate with rax = 1 (write) to the park pipe's fd 5
 *   GateExit(u64) the same gate with rax = 231 (exit_group) and that status
 *   ParkForged()  the park gate's own syscall instruction (write to fd 5),
 *                 with a buffer in guest memory holding a forged record
 *   WriteRO()     a store to the control area's read-only page (the park word)
 *   ParkGate()    a jump to the whole park gate, as if the host had asked
 *   ExitGate()    the boot info's exit gate (0 where there is none)
 *   GateNoOut()   a jump into the exit gate to resume after a jmp, not an OUT
 *   GatePort80()  ... after an OUT to port 0x80, not a hypercall port
 *   GateOutside() ... at an address outside guest memory (the stub's)
 *   Where(string) -> uint64  the address of a site: "lret" (Compat32's far return)
 */
#include <glint/guest.h>
#include <stdint.h>
#include <string.h>
#include "jail.h"

#define STUB_GATE 0x11000ull /* proc_abi.h: PROC_STUB_BASE */
#define PARK_GATE_SYSCALL (STUB_GATE + 0x80 + 25) /* proc_abi.h: PROC_GATE_PARK_IP - 2 */
#define RO_WORD JAIL_RO_ADDR                       /* proc_abi.h: PROC_RO_ADDR */

static void Syscall(const glint_args *a)
{
    (void)a;
    uint64_t r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(39ull) : "rcx", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(Syscall, GLINT_U64);

static void Int80(const glint_args *a)
{
    (void)a;
    uint64_t r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20ull) : "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(Int80, GLINT_U64);

static void Sysenter(const glint_args *a)
{
    (void)a;
    uint64_t r;
    /* If it ever returned, it would not be here: the kernel resumes a
     * sysenter at its own landing pad.  It must not be allowed at all. */
    __asm__ volatile("sysenter\n\tud2"
                     : "=a"(r) : "a"(20ull) : "rbx", "rcx", "rdx", "rsi", "rdi", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(Sysenter, GLINT_U64);

static void Vsyscall(const glint_args *a)
{
    (void)a;
    uint64_t r;
    __asm__ volatile("xorl %%edi, %%edi\n\t"
                     "xorl %%esi, %%esi\n\t"
                     "movq $0xffffffffff600000, %%rax\n\t"
                     "call *%%rax"
                     : "=a"(r)
                     :
                     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(Vsyscall, GLINT_U64);

static void X32(const glint_args *a)
{
    (void)a;
    uint64_t r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(0x40000000ull | 39) : "rcx", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(X32, GLINT_U64);

static void Compat32(const glint_args *a)
{
    (void)a;
    uint64_t r;
    __asm__ volatile("pushq $0x23\n\t"
                     "leaq 1f(%%rip), %%rcx\n\t"
                     "pushq %%rcx\n\t"
                     "movl $20, %%eax\n\t"
                     ".globl jail_lret_site\n"
                     "jail_lret_site: lretq\n\t"
                     ".code32\n"
                     "1:  int $0x80\n\t"
                     "ud2\n\t"
                     ".code64"
                     : "=a"(r)
                     :
                     : "rcx", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(Compat32, GLINT_U64);

static void GateGetpid(const glint_args *a)
{
    (void)a;
    uint64_t r;
    __asm__ volatile("movabsq %1, %%rcx\n\t"
                     "call *%%rcx"
                     : "=a"(r)
                     : "i"(STUB_GATE), "a"(39ull)
                     : "rcx", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(GateGetpid, GLINT_U64);

static void GateFutex(const glint_args *a)
{
    (void)a;
    uint64_t r;
    register uint64_t r10 __asm__("r10") = 0; /* no timeout */
    __asm__ volatile("movabsq %[gate], %%rcx\n\t"
                     "call *%%rcx"
                     : "=a"(r), "+r"(r10)
                     : [gate] "i"(STUB_GATE), "a"(202ull), "D"(0x1234ull), "S"(0ull /* FUTEX_WAIT */),
                       "d"(0ull)
                     : "rcx", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(GateFutex, GLINT_U64);

static void GateWrite(const glint_args *a)
{
    (void)a;
    static const uint64_t rec = 1;
    uint64_t r;
    __asm__ volatile("movabsq %[gate], %%rcx\n\t"
                     "call *%%rcx"
                     : "=a"(r)
                     : [gate] "i"(STUB_GATE), "a"(1ull), "D"(5ull), "S"(&rec), "d"(8ull)
                     : "rcx", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(GateWrite, GLINT_U64);

static void GateExit(const glint_args *a)
{
    uint64_t r;
    __asm__ volatile("movabsq %[gate], %%rcx\n\t"
                     "call *%%rcx"
                     : "=a"(r)
                     : [gate] "i"(STUB_GATE), "a"(231ull), "D"(glint_arg_u64(a, 0))
                     : "rcx", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(GateExit, GLINT_U64, GLINT_U64);

static void ParkForged(const glint_args *a)
{
    (void)a;
    /* What the host's current word could be: any count, any token. */
    static volatile uint64_t rec = 0x0000000100000002ull;
    uint64_t r;
    __asm__ volatile("leaq 1f(%%rip), %%rcx\n\t"
                     "pushq %%rcx\n\t"
                     "movabsq %[gate], %%rcx\n\t"
                     "jmp *%%rcx\n"
                     "1:"
                     : "=a"(r)
                     : [gate] "i"(PARK_GATE_SYSCALL), "a"(1ull), "D"(5ull), "S"(&rec), "d"(8ull)
                     : "rcx", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(ParkForged, GLINT_U64);

static void WriteRO(const glint_args *a)
{
    (void)a;
    *(volatile uint64_t *)RO_WORD = 0x0000000100000002ull;
    glint_return_u64(*(volatile uint64_t *)RO_WORD);
}
GLINT_FUNCTION(WriteRO, GLINT_U64);

static void ParkGate(const glint_args *a)
{
    (void)a;
    uint64_t r;
    __asm__ volatile("leaq 1f(%%rip), %%rcx\n\t"
                     "pushq %%rcx\n\t"
                     "movabsq %[gate], %%rcx\n\t"
                     "jmp *%%rcx\n"
                     "1:"
                     : "=a"(r)
                     : [gate] "i"(STUB_GATE + 0x80)
                     : "rcx", "rdx", "rsi", "rdi", "r11", "memory");
    glint_return_u64(r);
}
GLINT_FUNCTION(ParkGate, GLINT_U64);

static void ExitGate(const glint_args *a)
{
    (void)a;
    uint64_t g;
    __asm__ volatile("movq 0x10020, %0" : "=r"(g));
    glint_return_u64(g);
}
GLINT_FUNCTION(ExitGate, GLINT_U64);

/* Jumps to the exit gate (when there is one) with RCX = resume. */
#define GATE_JUMP(resume_setup)                                                          \
    do {                                                                                 \
        uint64_t g;                                                                      \
        __asm__ volatile("movq 0x10020, %0" : "=r"(g));                               \
        if (!g) {                                                                        \
            glint_return_u64(0);                                                         \
            return;                                                                      \
        }                                                                                \
        __asm__ volatile(resume_setup "\n\tjmp *%0\n"                                  \
                         "3: nop\n\t"                                                   \
                         "jmp 4f\n\t"                                                   \
                         "outb %%al, $0x80\n"                                           \
                         "5: nop\n"                                                     \
                         "4:"                                                            \
                         : : "r"(g), "a"(0) : "rcx", "memory");                          \
        glint_return_u64(1);                                                             \
    } while (0)

static void GateNoOut(const glint_args *a)
{
    (void)a;
    GATE_JUMP("leaq 3f(%%rip), %%rcx");
}
GLINT_FUNCTION(GateNoOut, GLINT_U64);

static void GatePort80(const glint_args *a)
{
    (void)a;
    GATE_JUMP("leaq 5f(%%rip), %%rcx");
}
GLINT_FUNCTION(GatePort80, GLINT_U64);

static void GateOutside(const glint_args *a)
{
    (void)a;
    GATE_JUMP("movabsq $0x40000102, %%rcx");
}
GLINT_FUNCTION(GateOutside, GLINT_U64);

extern const char jail_lret_site[];

static void Where(const glint_args *a)
{
    const char *n = glint_arg_string(a, 0, NULL);
    glint_return_u64(!strcmp(n, "lret") ? (uint64_t)(uintptr_t)jail_lret_site : 0);
}
GLINT_FUNCTION(Where, GLINT_U64, GLINT_STRING);
