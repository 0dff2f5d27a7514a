/*
 * start.S - the guest's entry point, dispatch loop and ABI note.
 *
 * The host enters _start in ring 3 with RSP = boot_info.stack_top (16-byte
 * aligned), FS base = the boot info page, every other register zero and
 * .bss/heap already zero.  Protocol (glint/abi.h):
 *
 *   _start:  .init_array constructors (if any), then glint_main() if the
 *            guest defines one; then mark initialization finished.
 *   loop:    OUT to GLINT_PORT_DONE (the first one means "initialized",
 *            each later one "call finished, result in the output buffer"),
 *            through the exit gate where the host offers one.
 *            When the host resumes us, a glint_call_frame is at input_base:
 *            call frame->entry(frame), and loop.
 *
 * RSP stays at stack_top across the loop, so every call is made with the
 * 16-byte alignment the SysV ABI requires.  RBX holds the frame address
 * (callee-saved, so it survives the guest function).
 *
 * The note is emitted from this file so that it is linked into every guest:
 * _start always is.
 */
#include "asm.h"

    .section .text.glint_start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    movl $__init_array_start, %ebx  /* constructors, if any (usually none) */
1:  cmpl $__init_array_end, %ebx
    jae 2f
    call *(%rbx)
    addl $8, %ebx
    jmp 1b
2:
    movl $glint_main, %eax          /* weak: 0 when the guest has none */
    testl %eax, %eax
    jz 3f
    call *%rax
3:
    movb $1, glint__ready(%rip)     /* host calls are allowed from now on */
    movq ASM_BOOT_INFO_GVA + ASM_BI_INPUT_BASE, %rbx
glint__dispatch:
    movq ASM_BOOT_INFO_GVA + ASM_BI_EXIT_GATE, %rdx /* the exit gate (glint/abi.h), or an OUT */
    testq %rdx, %rdx
    jz 1f
    leaq 2f(%rip), %rcx
    jmp *%rdx
1:  outb %al, $ASM_PORT_DONE
2:  movq %rbx, %rdi
    call *ASM_CALL_ENTRY(%rbx)
    jmp glint__dispatch
    .size _start, . - _start

    .weak glint_main

/* 1 once initialization (glint_main) has finished: a guest call can be in
 * progress only then.  Read by hostcall.c and result.c. */
    .section .bss.glint_ready, "aw", @nobits
    .globl glint__ready
    .hidden glint__ready
    .type glint__ready, @object
glint__ready:
    .byte 0
    .size glint__ready, 1

/* The ABI note: owner "glint", type GLINT_NOTE_ABI, a struct glint_abi_note.
 * __glint_fns_start/__glint_fns_end come from glint.ld. */
    .section .note.glint, "a", @note
    .p2align 2
    .long 6                         /* n_namesz: "glint" and its NUL */
    .long 24                        /* n_descsz: sizeof(struct glint_abi_note) */
    .long ASM_NOTE_ABI              /* n_type */
    .asciz "glint"
    .p2align 2
    .long ASM_ABI_VERSION           /* abi_version */
    .long ASM_FN_DESC_SIZE          /* fn_desc_size */
    .quad __glint_fns_start         /* fn_table */
    .quad __glint_fns_end           /* fn_table_end */
    .p2align 2

    .section .note.GNU-stack, "", @progbits
