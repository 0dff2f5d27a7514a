/*
 * native_guest.c - the kernels of kernels.c as a native glint guest, the
 * reference the WebAssembly runtimes are compared with
 * (scripts/bench-wasm.sh builds it: glint-cc -O2).  Each function has the
 * name and the types of the module's export of the same kernel.
 */
#include <glint/guest.h>

#include "kernels.c"

#define WRAP_I32(name)                                                    \
    static void name(const glint_args *a)                                 \
    {                                                                     \
        glint_return_i32((int32_t)kern_##name(glint_arg_i32(a, 0)));      \
    }                                                                     \
    GLINT_FUNCTION(name, GLINT_I32, GLINT_I32)

#define WRAP_F64(name)                                                    \
    static void name(const glint_args *a)                                 \
    {                                                                     \
        glint_return_f64(kern_##name(glint_arg_i32(a, 0)));               \
    }                                                                     \
    GLINT_FUNCTION(name, GLINT_F64, GLINT_I32)

WRAP_I32(fib);
WRAP_F64(matmul);
WRAP_I32(crc32);
WRAP_I32(heapsort);
WRAP_I32(sha256);
WRAP_F64(nbody);
WRAP_I32(lz77);
WRAP_I32(echo);
