/*
 * fuzz_wasm - libFuzzer target for the WebAssembly engine's decoder,
 * validator and translator (src/wasm): wasm_module_new on arbitrary bytes.
 * A module it accepts must answer every query about its exports and
 * imports consistently (names inside the module, types for functions).
 * Execution is fuzzed by fuzz_wasm_exec.c (and tests/wasm/fuzz_mutate.c
 * mutates the spec modules).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/wasm/wasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wasm_limits lim;
    wasm_limits_default(&lim);
    lim.max_memory_pages = 16;
    lim.max_table_elems = 1024;
    wasm_error err;
    memset(&err, 0, sizeof err);
    wasm_module *m = wasm_module_new(data, size, &lim, &err);
    if (!m) {
        if (err.kind != WASM_ERR_MALFORMED && err.kind != WASM_ERR_INVALID && err.kind != WASM_ERR_LIMIT &&
            err.kind != WASM_ERR_NOMEM)
            abort();
        if (!memchr(err.msg, 0, sizeof err.msg) || !err.msg[0])
            abort();
        return 0;
    }
    size_t nimp = wasm_module_import_count(m), nexp = wasm_module_export_count(m);
    for (size_t i = 0; i < nimp; i++) {
        size_t l1, l2;
        if (!wasm_module_import_module(m, i, &l1) || !wasm_module_import_name(m, i, &l2))
            abort();
        if (wasm_module_import_kind(m, i) == WASM_EXTERN_FUNC && !wasm_module_import_func_type(m, i))
            abort();
    }
    for (size_t i = 0; i < nexp; i++) {
        size_t len;
        if (!wasm_module_export_name(m, i, &len))
            abort();
        if (wasm_module_export_kind(m, i) == WASM_EXTERN_FUNC) {
            const wasm_functype *t = wasm_module_func_type(m, wasm_module_export_index(m, i));
            if (!t || (t->nparams && !t->params) || (t->nresults && !t->results))
                abort();
        }
    }
    wasm_module_free(m);
    return 0;
}
