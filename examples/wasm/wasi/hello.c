/*
 * hello.c - a WebAssembly module for glint built against wasi-libc
 * (Debian's wasi-libc and libclang-rt-14-dev-wasm32), as a reactor:
 * malloc, snprintf and printf work; printf goes to the host's print
 * function (docs/wasm.md, WASI).
 *
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -Iinclude \
 *         -o hello-wasi.wasm examples/wasm/wasi/hello.c
 *   glint call hello-wasi.wasm shout hey     ->  HEY!
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <glint/wasm-guest.h>

GLINT_EXPORT(glint_alloc) void *glint_alloc(uint32_t size)
{
    return malloc(size ? size : 1);
}

GLINT_EXPORT(glint_free) void glint_free(void *p, uint32_t size)
{
    (void)size;
    free(p);
}

GLINT_SIG("shout(string) -> string");
GLINT_EXPORT(shout) uint64_t shout(const char *s, uint32_t len)
{
    char *out = malloc(len + 2);
    for (uint32_t i = 0; i < len; i++)
        out[i] = (char)toupper((unsigned char)s[i]);
    out[len] = '!';
    return glint_result(out, len + 1);
}

GLINT_EXPORT(hello) int hello(int n)
{
    for (int i = 0; i < n; i++)
        printf("hello %d from wasi-libc\n", i);
    fflush(stdout);
    return n;
}
