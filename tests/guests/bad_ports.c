/*
 * bad_ports: port I/O to ports the TSS I/O bitmap keeps closed: #GP
 * (vector 13) each time.
 *   Out80()    outb to 0x80 (POST port)
 *   Out3f8()   outb to 0x3f8 (COM1)
 *   In60()     inb from 0x60
 *   OutExc()   outb to GLINT_PORT_EXCEPTION (ring 0 only)
 *   OutlDone() outl to GLINT_PORT_DONE: 4 ports wide, reaching the closed 0xE3
 */
#include <glint/guest.h>

static void Out80(const glint_args *a)
{
    (void)a;
    __asm__ volatile("outb %%al, $0x80" : : "a"(0) : "memory");
}
GLINT_FUNCTION(Out80, GLINT_VOID);

static void Out3f8(const glint_args *a)
{
    (void)a;
    __asm__ volatile("outb %%al, %%dx" : : "a"('x'), "d"(0x3f8) : "memory");
}
GLINT_FUNCTION(Out3f8, GLINT_VOID);

static void In60(const glint_args *a)
{
    (void)a;
    uint8_t v;
    __asm__ volatile("inb $0x60, %%al" : "=a"(v) : : "memory");
    glint_return_u32(v);
}
GLINT_FUNCTION(In60, GLINT_U32);

static void OutExc(const glint_args *a)
{
    (void)a;
    __asm__ volatile("outb %%al, %0" : : "N"(GLINT_PORT_EXCEPTION), "a"(0) : "memory");
}
GLINT_FUNCTION(OutExc, GLINT_VOID);

static void OutlDone(const glint_args *a)
{
    (void)a;
    __asm__ volatile("outl %%eax, %0" : : "N"(GLINT_PORT_DONE), "a"(0) : "memory");
}
GLINT_FUNCTION(OutlDone, GLINT_VOID);
