/*
 * qemu-pvh.S - the QEMU peer's guest: the smallest thing QEMU can boot.
 *
 * A PVH kernel (an ELF with a XEN_ELFNOTE_PHYS32_ENTRY note) that QEMU's
 * `-M microvm -kernel` starts in 32-bit protected mode; it writes one byte
 * to the isa-debug-exit port, which makes QEMU exit with status
 * (0x21 << 1) | 1 = 67.  Built by glint-bench with:
 *   cc -nostdlib -static -no-pie -Wl,-Ttext=0x100000 -Wl,--build-id=none
 */
#define DEBUG_EXIT_PORT 0xf4
#define EXIT_VALUE      0x21

    .section .note.pvh, "a"
    .balign 4
    .long 4                 /* name size: "Xen\0" */
    .long 4                 /* descriptor size */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long pvh_start

    .text
    .code32
    .globl pvh_start
pvh_start:
    movb $EXIT_VALUE, %al
    outb %al, $DEBUG_EXIT_PORT
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
