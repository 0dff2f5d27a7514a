/* fuzz_mutate.c - robustness check: decodes, instantiates and runs randomly
 * mutated copies of the given .wasm files (build with ASan/UBSan).
 *   fuzz_mutate ITERATIONS SEED FILE.wasm... */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "../../src/wasm/wasm.h"
#include "noop_imports.h"

static wasm_instance *volatile running;
static void on_alarm(int sig) {
    (void)sig;
    if (running)
        wasm_interrupt(running);
}

int main(int argc, char **argv) {
    long iters = atol(argv[1]);
    srand((unsigned)atol(argv[2]));
    int nf = argc - 3;
    unsigned char **files = calloc(nf, sizeof *files);
    size_t *lens = calloc(nf, sizeof *lens);
    for (int i = 0; i < nf; i++) {
        FILE *f = fopen(argv[3 + i], "rb");
        files[i] = malloc(1 << 20);
        lens[i] = fread(files[i], 1, 1 << 20, f);
        fclose(f);
    }
    signal(SIGALRM, on_alarm);
    wasm_limits lim;
    wasm_limits_default(&lim);
    lim.max_memory_pages = 64;
    lim.max_call_depth = 2000;
    long ok_mod = 0, ok_inst = 0, calls = 0;
    unsigned char *buf = malloc(2 << 20);
    for (long it = 0; it < iters; it++) {
        int k = rand() % nf;
        size_t len = lens[k];
        memcpy(buf, files[k], len);
        int nmut = (rand() % 2) ? 1 : 1 + rand() % 4;
        for (int j = 0; j < nmut && len > 8; j++) {
            size_t p = 8 + (size_t)rand() % (len - 8);
            switch (rand() % 6) {
            case 0: buf[p] ^= (unsigned char)(1u << (rand() % 8)); break;
            case 1: buf[p] = (unsigned char)rand(); break;
            case 2: len = p + 1; break;
            case 3: memmove(buf + p + 1, buf + p, len - p); buf[p] = (unsigned char)rand(); len++; break;
            case 4: memmove(buf + p, buf + p + 1, len - p - 1); len--; break;
            case 5: buf[p] = (unsigned char[]){0x00, 0x0b, 0x0c, 0x0d, 0x0e, 0x02, 0x03, 0x04, 0x05, 0x10, 0x11, 0x1a, 0x1b, 0xff, 0x80, 0x7f}[rand() % 16]; break;
            }
        }
        wasm_error err;
        wasm_module *m = wasm_module_new(buf, len, &lim, &err);
        if (!m)
            continue;
        ok_mod++;
        wasm_instance *in = wasm_instance_new(m, &lim, noop_resolve, NULL, &err);
        if (in) {
            ok_inst++;
            for (size_t e = 0; e < wasm_module_export_count(m); e++) {
                if (wasm_module_export_kind(m, e) != WASM_EXTERN_FUNC)
                    continue;
                uint32_t fi = wasm_module_export_index(m, e);
                const wasm_functype *t = wasm_module_func_type(m, fi);
                wasm_val args[32], res[32];
                if (t->nparams > 32 || t->nresults > 32)
                    continue;
                for (uint32_t a = 0; a < t->nparams; a++) {
                    args[a].type = t->params[a];
                    args[a].v.i64 = (uint64_t)rand() % 5;
                }
                running = in;
                struct itimerval tv = {{0, 0}, {0, 20000}};
                setitimer(ITIMER_REAL, &tv, NULL);
                wasm_call(in, fi, args, t->nparams, res, t->nresults, &err);
                struct itimerval z = {{0, 0}, {0, 0}};
                setitimer(ITIMER_REAL, &z, NULL);
                running = NULL;
                calls++;
            }
            wasm_instance_free(in);
        }
        wasm_module_free(m);
    }
    for (int i = 0; i < nf; i++)
        free(files[i]);
    free(files);
    free(lens);
    free(buf);
    printf("%ld iterations: %ld modules decoded, %ld instantiated, %ld calls\n", iters, ok_mod, ok_inst, calls);
    return 0;
}
