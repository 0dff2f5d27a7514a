/*
 * x86_64_stubs.S - the ring-0 exception stubs, as data for the host.
 *
 * libglint never executes these bytes: cpu_x86_64.c copies them into the
 * guest's supervisor-only stub page.  Stub N sits at 16 * N from the start
 * and pushes an error code (0 if the CPU pushed none) and the vector, then
 * reports to the host with an OUT to GLINT_PORT_EXCEPTION (0xE3).  The host
 * never resumes a faulted guest, but if it did the stub would report again.
 */
    .section .rodata.glint_stubs, "a"
    .globl glint_x86_stubs
    .globl glint_x86_stubs_end
    .p2align 4
glint_x86_stubs:
    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .p2align 4
    .if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    pushq $\vec
    jmp 1f
    .else
    pushq $0
    pushq $\vec
    jmp 1f
    .endif
    .endr
    .p2align 4
1:  outb %al, $0xE3
    jmp 1b
glint_x86_stubs_end:
    .section .note.GNU-stack, "", @progbits
