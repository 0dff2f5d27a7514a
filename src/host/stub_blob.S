/* stub_blob.S - the process backend's stub program (src/stub), built by the
 * Makefile and embedded here so that libglint needs no file at run time. */
    .section .rodata.glint_stub, "a", @progbits
    .p2align 4
    .globl glint_stub_start
    .hidden glint_stub_start
glint_stub_start:
    .incbin GLINT_STUB_PATH
    .globl glint_stub_end
    .hidden glint_stub_end
glint_stub_end:
    .section .note.GNU-stack, "", @progbits
