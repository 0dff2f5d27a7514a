/*
 * gallery_flow: a hostile guest against the call protocol and its own
 * control flow (tests/test_gallery.c).
 *   JumpZero          jumps to address 0
 *   PopReturn         pops its return address and returns past its caller
 *   RetNonCanonical   returns to 0x4141414141414141 (#GP)
 *   RetOutside        returns to 0x41414141 (beyond guest memory)
 *   RetStackTop       moves RSP to the stack top and returns
 *   HostcallForever   calls the host function Nop in a loop, never returning
 *   FrameThenAbort    writes a host-call frame, then OUT to the abort port
 *   FrameThenDone     writes a host-call frame, then OUT to the done port
 *   AbortFrameThenHostcall  writes an abort frame, then OUT to the host-call port
 *   GarbageHostcall   fills the output buffer with 0xFF, OUT to the host-call port
 *   WriteCanary       writes the stack-protector canary at %fs:0x28 (read-only)
 *   FsBaseOutside     wrfsbase beyond guest memory, then reads %fs:0x28
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <string.h>

static const struct glint_boot_info *boot(void)
{
    return (const struct glint_boot_info *)(uintptr_t)GLINT_BOOT_INFO_GVA;
}

static void JumpZero(const glint_args *a)
{
    (void)a;
    __asm__ volatile("xorl %%eax, %%eax\n\tjmp *%%rax" : : : "rax", "memory");
}
GLINT_FUNCTION(JumpZero, GLINT_VOID);

__attribute__((naked)) static void PopReturn(const glint_args *a)
{
    (void)a;
    __asm__ volatile("popq %rax\n\tret");
}
GLINT_FUNCTION(PopReturn, GLINT_VOID);

__attribute__((naked)) static void RetNonCanonical(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movabsq $0x4141414141414141, %rax\n\tpushq %rax\n\tret");
}
GLINT_FUNCTION(RetNonCanonical, GLINT_VOID);

__attribute__((naked)) static void RetOutside(const glint_args *a)
{
    (void)a;
    __asm__ volatile("pushq $0x41414141\n\tret");
}
GLINT_FUNCTION(RetOutside, GLINT_VOID);

static void RetStackTop(const glint_args *a)
{
    (void)a;
    uint64_t top = boot()->stack_top;
    __asm__ volatile("movq %0, %%rsp\n\tret" : : "r"(top) : "memory");
}
GLINT_FUNCTION(RetStackTop, GLINT_VOID);

static void HostcallForever(const glint_args *a)
{
    (void)a;
    for (;;)
        glint_host_call("Nop", GLINT_VOID, NULL, 0, NULL);
}
GLINT_FUNCTION(HostcallForever, GLINT_VOID);

static void *out_buf(void)
{
    return (void *)(uintptr_t)boot()->output_base;
}

static void hostcall_frame(void)
{
    struct glint_hostcall_frame *f = out_buf();
    memset(f, 0, sizeof *f);
    memcpy((char *)f + 512, "print", 5);
    f->name_len = 5;
    f->name_off = 512;
    f->nargs = 1;
    f->args[0].type = GLINT_STRING;
    f->args[0].len = 3;
    f->args[0].bits = 512;
    f->ret_type = GLINT_VOID;
}

static void out(uint16_t port)
{
    __asm__ volatile("outb %%al, %%dx" : : "a"(0), "d"(port) : "memory");
}

static void FrameThenAbort(const glint_args *a)
{
    (void)a;
    hostcall_frame();
    out(GLINT_PORT_ABORT);
}
GLINT_FUNCTION(FrameThenAbort, GLINT_VOID);

static void FrameThenDone(const glint_args *a)
{
    (void)a;
    hostcall_frame();
    out(GLINT_PORT_DONE);
}
GLINT_FUNCTION(FrameThenDone, GLINT_U64);

static void AbortFrameThenHostcall(const glint_args *a)
{
    (void)a;
    struct glint_abort_frame *f = out_buf();
    f->kind = GLINT_ABORT_USER;
    f->code = 9;
    f->msg_len = 4;
    f->msg_off = 64;
    memcpy((char *)out_buf() + 64, "boom", 4);
    out(GLINT_PORT_HOSTCALL);
}
GLINT_FUNCTION(AbortFrameThenHostcall, GLINT_VOID);

static void GarbageHostcall(const glint_args *a)
{
    (void)a;
    memset(out_buf(), 0xFF, 4096);
    out(GLINT_PORT_HOSTCALL);
}
GLINT_FUNCTION(GarbageHostcall, GLINT_VOID);

static void WriteCanary(const glint_args *a)
{
    (void)a;
    __asm__ volatile("movq $0, %%fs:0x28" : : : "memory");
}
GLINT_FUNCTION(WriteCanary, GLINT_VOID);

static void FsBaseOutside(const glint_args *a)
{
    (void)a;
    uint64_t v;
    __asm__ volatile("wrfsbase %1\n\tmovq %%fs:0x28, %0" : "=r"(v) : "r"(0x7f0000000000ull) : "memory");
    glint_return_u64(v);
}
GLINT_FUNCTION(FsBaseOutside, GLINT_U64);
