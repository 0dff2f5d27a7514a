/*
 * gallery_ports: port I/O a hostile guest may try (tests/test_gallery.c).
 * Only GLINT_PORT_DONE..GLINT_PORT_ABORT are open in the TSS I/O bitmap,
 * for both directions; anything touching another port is #GP.
 *   OutPort(u32 port), InPort(u32 port)  outb / inb to any port
 *   InDone, InHostcall, InlAbort         IN from the hypercall ports
 *   OutwDone                             16-bit OUT to DONE (0xE0-0xE1: open)
 *   OutlHostcall, OutwAbort              wide OUTs reaching the closed 0xE3
 *   OutsbDone, RepOutsbHostcall, InsbDone  string I/O on hypercall ports
 */
#include <glint/guest.h>

static void OutPort(const glint_args *a)
{
    uint16_t port = (uint16_t)glint_arg_u32(a, 0);
    __asm__ volatile("outb %%al, %%dx" : : "a"(0x55), "d"(port) : "memory");
}
GLINT_FUNCTION(OutPort, GLINT_VOID, GLINT_U32);

static void InPort(const glint_args *a)
{
    uint16_t port = (uint16_t)glint_arg_u32(a, 0);
    uint8_t v;
    __asm__ volatile("inb %%dx, %%al" : "=a"(v) : "d"(port) : "memory");
    glint_return_u32(v);
}
GLINT_FUNCTION(InPort, GLINT_U32, GLINT_U32);

static void InDone(const glint_args *a)
{
    (void)a;
    uint8_t v;
    __asm__ volatile("inb %1, %%al" : "=a"(v) : "N"(GLINT_PORT_DONE) : "memory");
    glint_return_u32(v);
}
GLINT_FUNCTION(InDone, GLINT_U32);

static void InHostcall(const glint_args *a)
{
    (void)a;
    uint8_t v;
    __asm__ volatile("inb %1, %%al" : "=a"(v) : "N"(GLINT_PORT_HOSTCALL) : "memory");
    glint_return_u32(v);
}
GLINT_FUNCTION(InHostcall, GLINT_U32);

static void InlAbort(const glint_args *a)
{
    (void)a;
    uint32_t v;
    __asm__ volatile("inl %1, %%eax" : "=a"(v) : "N"(GLINT_PORT_ABORT) : "memory");
    glint_return_u32(v);
}
GLINT_FUNCTION(InlAbort, GLINT_U32);

static void OutwDone(const glint_args *a)
{
    (void)a;
    __asm__ volatile("outw %%ax, %0" : : "N"(GLINT_PORT_DONE), "a"(0x1234) : "memory");
}
GLINT_FUNCTION(OutwDone, GLINT_VOID);

static void OutlHostcall(const glint_args *a)
{
    (void)a;
    __asm__ volatile("outl %%eax, %0" : : "N"(GLINT_PORT_HOSTCALL), "a"(0) : "memory");
}
GLINT_FUNCTION(OutlHostcall, GLINT_VOID);

static void OutwAbort(const glint_args *a)
{
    (void)a;
    __asm__ volatile("outw %%ax, %0" : : "N"(GLINT_PORT_ABORT), "a"(0) : "memory");
}
GLINT_FUNCTION(OutwAbort, GLINT_VOID);

static const char junk[64] = "junk junk junk junk junk junk junk junk junk junk junk junk";

static void OutsbDone(const glint_args *a)
{
    (void)a;
    const char *p = junk;
    __asm__ volatile("outsb" : "+S"(p) : "d"(GLINT_PORT_DONE) : "memory");
}
GLINT_FUNCTION(OutsbDone, GLINT_VOID);

static void RepOutsbHostcall(const glint_args *a)
{
    (void)a;
    const char *p = junk;
    uint64_t n = 16;
    __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(GLINT_PORT_HOSTCALL) : "memory");
}
GLINT_FUNCTION(RepOutsbHostcall, GLINT_VOID);

static char sink[64];

static void InsbDone(const glint_args *a)
{
    (void)a;
    char *p = sink;
    __asm__ volatile("insb" : "+D"(p) : "d"(GLINT_PORT_DONE) : "memory");
    glint_return_u32((uint8_t)sink[0]);
}
GLINT_FUNCTION(InsbDone, GLINT_U32);
