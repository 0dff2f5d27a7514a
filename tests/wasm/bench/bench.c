/* bench.c - times compute kernels in the engine against the same kernels in
 * native C.  Usage: bench KERNELS.wasm */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../src/wasm/wasm.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

__attribute__((noinline)) static unsigned nfib(unsigned n) { return n < 2 ? n : nfib(n - 1) + nfib(n - 2); }
__attribute__((noinline)) static int nsieve(volatile unsigned char *m, unsigned n, int r) {
    int c = 0;
    do {
        memset((void *)m, 1, n);
        c = 0;
        for (unsigned i = 2; i < n; i++)
            if (m[i]) {
                c++;
                for (unsigned j = i * i; j < n; j += i) m[j] = 0;
            }
    } while (--r);
    return c;
}
__attribute__((noinline)) static double nmatmul(volatile double *m, unsigned n) {
    unsigned nn = n * n;
    for (unsigned i = 0; i < nn; i++) { m[i] = i; m[i + nn] = 0.5; }
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++) {
            double s = 0;
            for (unsigned k = 0; k < n; k++) s += m[i * n + k] * m[k * n + j + nn];
            m[i * n + j + 2 * nn] = s;
        }
    return m[2 * nn + 7];
}

int main(int argc, char **argv) {
    FILE *f = fopen(argc > 1 ? argv[1] : "kernels.wasm", "rb");
    if (!f) return 1;
    static unsigned char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    wasm_error err;
    wasm_module *m = wasm_module_new(buf, len, NULL, &err);
    if (!m) { printf("%s\n", err.msg); return 1; }
    wasm_instance *in = wasm_instance_new(m, NULL, NULL, NULL, &err);
    if (!in) { printf("%s\n", err.msg); return 1; }
    wasm_val a[2], r[1];
    double t0, tw, tn;
    /* fib */
    a[0].type = WASM_I32; a[0].v.i32 = 32;
    t0 = now(); if (wasm_call(in, wasm_instance_export_func(in, "fib"), a, 1, r, 1, &err)) { printf("%s\n", err.msg); return 1; }
    tw = now() - t0;
    t0 = now(); unsigned nf = nfib(32); tn = now() - t0;
    printf("fib(32)       wasm %.3fs native %.3fs ratio %.1fx  (%u/%u)\n", tw, tn, tw / tn, r[0].v.i32, nf);
    /* sieve */
    a[0].v.i32 = 1000000; a[1].type = WASM_I32; a[1].v.i32 = 30;
    t0 = now(); if (wasm_call(in, wasm_instance_export_func(in, "sieve"), a, 2, r, 1, &err)) { printf("%s\n", err.msg); return 1; }
    tw = now() - t0;
    unsigned char *mem = malloc(1 << 20);
    t0 = now(); int nc = nsieve(mem, 1000000, 30); tn = now() - t0;
    printf("sieve(1e6)x30 wasm %.3fs native %.3fs ratio %.1fx  (%u/%d)\n", tw, tn, tw / tn, r[0].v.i32, nc);
    /* matmul */
    a[0].v.i32 = 200;
    t0 = now(); if (wasm_call(in, wasm_instance_export_func(in, "matmul"), a, 1, r, 1, &err)) { printf("%s\n", err.msg); return 1; }
    tw = now() - t0;
    double *dm = malloc(3 * 200 * 200 * sizeof(double));
    t0 = now(); double nm = nmatmul(dm, 200); tn = now() - t0;
    double wr; memcpy(&wr, &r[0].v.f64_bits, 8);
    printf("matmul(200)   wasm %.3fs native %.3fs ratio %.1fx  (%g/%g)\n", tw, tn, tw / tn, wr, nm);
    wasm_instance_free(in);
    wasm_module_free(m);
    return 0;
}
