/*
 * hello.c - a WebAssembly module for glint in plain C (docs/wasm.md).
 *
 *   clang --target=wasm32 -O2 -nostdlib -Iinclude -Wl,--no-entry \
 *         -Wl,--export-dynamic -o hello.wasm examples/wasm/c/hello.c
 *   glint call hello.wasm greet World      ->  Hello, World!
 *   glint call hello.wasm add 2 3          ->  5
 */
#define GLINT_WASM_BUMP_ALLOCATOR
#include <glint/wasm-guest.h>

GLINT_EXPORT(add) int add(int a, int b)
{
    return a + b;
}

GLINT_EXPORT(fib) long long fib(int n)
{
    long long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        long long t = a + b;
        a = b;
        b = t;
    }
    return a;
}

GLINT_EXPORT(hypot2) double hypot2(double x, double y)
{
    return x * x + y * y;
}

GLINT_SIG("greet(string) -> string");
GLINT_EXPORT(greet) uint64_t greet(const char *name, uint32_t len)
{
    static const char hello[] = "Hello, ";
    char *out = glint_alloc(len + 8);
    for (uint32_t i = 0; i < 7; i++)
        out[i] = hello[i];
    for (uint32_t i = 0; i < len; i++)
        out[7 + i] = name[i];
    out[7 + len] = '!';
    return glint_result(out, len + 8);
}

GLINT_SIG("checksum(bytes) -> uint32");
GLINT_EXPORT(checksum) uint32_t checksum(const unsigned char *p, uint32_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}
