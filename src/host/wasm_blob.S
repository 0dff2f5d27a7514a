/* wasm_blob.S - glint's WebAssembly runtime guest (src/wasm/runtime), built
 * by the Makefile and embedded here so that running a .wasm needs no guest
 * file and no guest toolchain (src/host/wasm/wasm_image.c). */
    .section .rodata.glint_wasm_runtime, "a", @progbits
    .p2align 4
    .globl glint_wasm_runtime_start
    .hidden glint_wasm_runtime_start
glint_wasm_runtime_start:
    .incbin GLINT_WASM_RUNTIME_PATH
    .globl glint_wasm_runtime_end
    .hidden glint_wasm_runtime_end
glint_wasm_runtime_end:
    .section .note.GNU-stack, "", @progbits
