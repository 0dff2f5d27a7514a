/*
 * glint/wasm-guest.h - helpers for WebAssembly modules that glint runs
 * (docs/wasm.md), for C and C++ compiled with clang --target=wasm32 or
 * wasm32-wasi.  Nothing here is needed: it only spells the convention.
 *
 *     #include <glint/wasm-guest.h>
 *
 *     GLINT_SIG("greet(string) -> string");
 *     GLINT_EXPORT(greet) uint64_t greet(const char *name, uint32_t len)
 *     {
 *         char *out = glint_alloc(len + 8);
 *         ...
 *         return glint_result(out, len + 8);
 *     }
 *
 * The convention:
 *  - numbers: i32 <-> int32 (uint32 and bool by declaration), i64 <-> int64
 *    (uint64), f32 <-> float, f64 <-> double, by the export's own type;
 *  - a string or bytes parameter arrives as two i32, (pointer, length), in
 *    memory the module's glint_alloc(size) returned; the module owns it
 *    until the call returns, when glint passes it to glint_free(ptr, size)
 *    if the module exports one;
 *  - a string or bytes result is one i64, pointer << 32 | length
 *    (glint_result); glint copies it out, then passes it to
 *    glint_free(ptr, length) if the module exports one;
 *  - the custom section "glint.sig" declares which parameters and results
 *    are strings or bytes (or bool, uint32, uint64): one declaration
 *    "name(type, ...) -> type" per line (GLINT_SIG adds one).
 * The module exports its memory (clang and wasm-ld do by default) and, if
 * any function takes a string or bytes, glint_alloc.
 */
#ifndef GLINT_WASM_GUEST_H
#define GLINT_WASM_GUEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exports a function under `name` (clang's wasm export_name attribute). */
#define GLINT_EXPORT(name) __attribute__((export_name(#name), used))

/* Adds a declaration to the module's "glint.sig" custom section, at file
 * scope: GLINT_SIG("greet(string) -> string");  (clang 14 places data with
 * section attributes in memory, so this uses the assembler, which wasm-ld
 * turns into a custom section; the declarations of all files add up.) */
#define GLINT_SIG(decl)                                                                             \
    __asm__(".section .custom_section.glint.sig,\"\",@\n.ascii \"" decl "\\n\"\n.text\n")

/* A string or bytes result: pointer << 32 | length. */
static inline uint64_t glint_result(const void *p, size_t len)
{
    return (uint64_t)(uintptr_t)p << 32 | (uint32_t)len;
}

/* The allocator glint calls to pass strings and bytes in: define it (with
 * GLINT_EXPORT(glint_alloc)), or define GLINT_WASM_BUMP_ALLOCATOR before
 * including this header in one file for a simple bump allocator that never
 * frees (fine for sandboxes restored after each call, see docs/wasm.md). */
void *glint_alloc(uint32_t size);

#ifdef GLINT_WASM_BUMP_ALLOCATOR
extern unsigned char __heap_base[]; /* wasm-ld: the first byte after the data and stack */
static uintptr_t glint__bump;
GLINT_EXPORT(glint_alloc) void *glint_alloc(uint32_t size)
{
    if (!glint__bump)
        glint__bump = (uintptr_t)__heap_base;
    uintptr_t p = (glint__bump + 7u) & ~(uintptr_t)7u;
    uintptr_t end = p + size;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) == (size_t)-1)
        __builtin_trap();
    glint__bump = end;
    return (void *)p;
}
#endif

#ifdef __cplusplus
}
#endif

#endif
