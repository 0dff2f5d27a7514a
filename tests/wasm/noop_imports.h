/* noop_imports.h - an import resolver for fuzzing the WebAssembly engine
 * (fuzz/fuzz_wasm_exec.c, tests/wasm/fuzz_mutate.c): every function import
 * resolves to a host function that does nothing; any other import fails
 * instantiation.  Include after src/wasm/wasm.h. */
#ifndef GLINT_WASM_NOOP_IMPORTS_H
#define GLINT_WASM_NOOP_IMPORTS_H

static int noop_host(void *u, wasm_instance *i, const wasm_val *a, wasm_val *r, wasm_error *e)
{
    (void)u, (void)i, (void)a, (void)r, (void)e;
    return 0;
}

static int noop_resolve(void *user, const wasm_module *m, size_t i, wasm_import_value *out)
{
    (void)user;
    if (wasm_module_import_kind(m, i) != WASM_EXTERN_FUNC)
        return -1;
    out->kind = WASM_EXTERN_FUNC;
    out->fn = noop_host;
    out->type = *wasm_module_import_func_type(m, i);
    return 0;
}

#endif
