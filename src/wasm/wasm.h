/*
 * wasm.h - glint's WebAssembly engine: decoder, validator and interpreter
 * for WebAssembly 2.0 core (no SIMD), written to run inside a glint guest
 * (freestanding: it uses only the guest library's <string.h>, <stdlib.h>
 * and <math.h>, no OS, no threads, no code generation) and, for its tests,
 * on the host as ordinary C.
 *
 * The engine never trusts a module: decoding and validation refuse every
 * malformed or invalid module with a message naming the section, the byte
 * offset and the rule broken; execution checks every memory and table
 * access, every indirect call's type, and the call depth; a trap ends the
 * call with a message naming the trap, the function and the code offset.
 * Nothing a module does can make the engine read or write outside its own
 * allocations.
 *
 * Lifetimes: a module owns copies of everything it needs from the bytes
 * (the caller may free them after decode); an instance refers to its
 * module, which must outlive it.
 */
#ifndef GLINT_WASM_H
#define GLINT_WASM_H

#include <stddef.h>
#include <stdint.h>

/* Value types (their binary encodings). */
typedef enum wasm_valtype {
    WASM_I32 = 0x7f,
    WASM_I64 = 0x7e,
    WASM_F32 = 0x7d,
    WASM_F64 = 0x7c,
    WASM_V128 = 0x7b,      /* decoded only to refuse it: SIMD is not supported */
    WASM_FUNCREF = 0x70,
    WASM_EXTERNREF = 0x6f,
} wasm_valtype;

/* A value.  Floats travel as their bits, so NaN payloads are exact. */
typedef struct wasm_val {
    wasm_valtype type;
    union {
        uint32_t i32;      /* also f32 bits */
        uint64_t i64;      /* also f64 bits */
        uint32_t f32_bits;
        uint64_t f64_bits;
        uint64_t ref;      /* funcref: function index + 1 in its store; externref: host value + 1; 0: null */
    } v;
} wasm_val;

typedef enum wasm_extern_kind {
    WASM_EXTERN_FUNC = 0,
    WASM_EXTERN_TABLE = 1,
    WASM_EXTERN_MEMORY = 2,
    WASM_EXTERN_GLOBAL = 3,
} wasm_extern_kind;

/* What failed, one line, NUL-terminated.  kind tells decode/validation
 * errors, link errors, traps and exhaustion apart. */
typedef enum wasm_error_kind {
    WASM_OK = 0,
    WASM_ERR_MALFORMED,    /* the binary does not decode (spec: assert_malformed) */
    WASM_ERR_INVALID,      /* it decodes but does not validate (assert_invalid) */
    WASM_ERR_LINK,         /* an import is missing or does not match (assert_unlinkable) */
    WASM_ERR_TRAP,         /* a trap, in start or in a call (assert_trap, assert_uninstantiable) */
    WASM_ERR_EXHAUSTION,   /* call stack exhausted (assert_exhaustion) */
    WASM_ERR_LIMIT,        /* a configured limit refused it (memory, table, stack, sizes) */
    WASM_ERR_NOMEM,        /* the engine ran out of memory */
    WASM_ERR_INTERRUPTED,  /* wasm_interrupt stopped the call */
    WASM_ERR_HOST,         /* a host (imported) function failed */
} wasm_error_kind;

typedef enum wasm_trap {
    WASM_TRAP_NONE = 0,
    WASM_TRAP_UNREACHABLE,
    WASM_TRAP_DIV_ZERO,          /* integer divide by zero */
    WASM_TRAP_INT_OVERFLOW,      /* integer overflow (INT_MIN / -1) */
    WASM_TRAP_INVALID_CONVERSION,/* float to int: NaN or out of range */
    WASM_TRAP_MEMORY_OOB,        /* out of bounds memory access */
    WASM_TRAP_TABLE_OOB,         /* out of bounds table access (incl. undefined element) */
    WASM_TRAP_INDIRECT_TYPE,     /* indirect call type mismatch */
    WASM_TRAP_NULL_REF,          /* uninitialized element / null reference called */
    WASM_TRAP_STACK,             /* call stack exhausted */
} wasm_trap;

typedef struct wasm_error {
    wasm_error_kind kind;
    wasm_trap trap;
    uint32_t func;               /* traps: function index; (uint32_t)-1 if none */
    uint32_t offset;             /* byte offset in the module of the failing instruction or field */
    char msg[320];               /* e.g. "code section, function 3, offset 0x1a2: type mismatch: ..." */
} wasm_error;

/* Resource limits; 0 fields take the defaults (wasm_limits_default). */
typedef struct wasm_limits {
    uint32_t max_memory_pages;   /* 64 KiB pages per memory (default 256 = 16 MiB) */
    uint32_t max_table_elems;    /* per table (default 100000) */
    uint32_t max_call_depth;     /* nested calls (default 10000) */
    uint32_t max_value_stack;    /* value slots (default 1 << 20) */
    uint32_t max_module_bytes;   /* binary size accepted (default 64 MiB) */
} wasm_limits;
void wasm_limits_default(wasm_limits *l);

/* ---- modules ---------------------------------------------------------------- */

typedef struct wasm_module wasm_module;

/* A function type. */
typedef struct wasm_functype {
    uint32_t nparams, nresults;
    const wasm_valtype *params, *results;
} wasm_functype;

/* Decodes and validates `len` bytes (copied).  NULL with *err filled. */
wasm_module *wasm_module_new(const uint8_t *bytes, size_t len, const wasm_limits *lim, wasm_error *err);
void wasm_module_free(wasm_module *m);

/* Exports and imports, in module order. */
size_t wasm_module_export_count(const wasm_module *m);
const char *wasm_module_export_name(const wasm_module *m, size_t i, size_t *len);
wasm_extern_kind wasm_module_export_kind(const wasm_module *m, size_t i);
uint32_t wasm_module_export_index(const wasm_module *m, size_t i); /* in its kind's index space */
size_t wasm_module_import_count(const wasm_module *m);
const char *wasm_module_import_module(const wasm_module *m, size_t i, size_t *len);
const char *wasm_module_import_name(const wasm_module *m, size_t i, size_t *len);
wasm_extern_kind wasm_module_import_kind(const wasm_module *m, size_t i);
/* The type of function `func` (imports first, as in the index space). */
const wasm_functype *wasm_module_func_type(const wasm_module *m, uint32_t func);
/* The type of import i, when it is a function. */
const wasm_functype *wasm_module_import_func_type(const wasm_module *m, size_t i);
/* Name section: the function's name, or NULL. */
const char *wasm_module_func_name(const wasm_module *m, uint32_t func);
/* A custom section by name: its bytes, or NULL. */
const uint8_t *wasm_module_custom_section(const wasm_module *m, const char *name, size_t *len);

/* ---- instances --------------------------------------------------------------- */

typedef struct wasm_instance wasm_instance;

/* A host function: reads nparams args, writes nresults results; returns 0,
 * or -1 with a message in *err (kind WASM_ERR_HOST, or a trap it chooses). */
typedef int (*wasm_host_fn)(void *user, wasm_instance *inst, const wasm_val *args, wasm_val *results,
                            wasm_error *err);

/* An import as the embedder provides it.  For functions `type` must match
 * the module's import exactly.  Tables, memories and globals come from
 * another instance's export (to share them, as the spec's `register`). */
typedef struct wasm_import_value {
    wasm_extern_kind kind;
    wasm_host_fn fn;            /* FUNC from the host */
    void *user;
    wasm_functype type;
    wasm_instance *from;        /* FUNC/TABLE/MEMORY/GLOBAL from another instance... */
    uint32_t index;             /* ... its index in that kind's index space */
} wasm_import_value;

/* Resolves import i of `m` (module name, field name); return 0 and fill
 * *out, or -1 if the embedder has no such import (a link error). */
typedef int (*wasm_resolver)(void *user, const wasm_module *m, size_t i, wasm_import_value *out);

/* Instantiates: links imports, allocates memories, tables and globals,
 * runs active segments and the start function.  NULL with *err filled
 * (LINK, TRAP, LIMIT, NOMEM). */
wasm_instance *wasm_instance_new(const wasm_module *m, const wasm_limits *lim, wasm_resolver resolve,
                                 void *resolve_user, wasm_error *err);
void wasm_instance_free(wasm_instance *inst);

/* Calls function `func` (index space of the module, imports included):
 * nargs must equal its parameter count and every type match (else
 * WASM_ERR_INVALID, nothing run).  0, or -1 with *err (TRAP, EXHAUSTION,
 * INTERRUPTED, HOST).  After a trap the instance stays usable. */
int wasm_call(wasm_instance *inst, uint32_t func, const wasm_val *args, size_t nargs, wasm_val *results,
              size_t nresults, wasm_error *err);

/* Exported items by name (-1 if none of that kind). */
int64_t wasm_instance_export_func(const wasm_instance *inst, const char *name);
/* Globals: read and write by export name (0, or -1 if none / immutable on write). */
int wasm_instance_global_get(const wasm_instance *inst, const char *name, wasm_val *out);

/* Memory 0 of the instance (NULL, 0 if it has none); valid until the next
 * call that may grow it. */
uint8_t *wasm_instance_memory(wasm_instance *inst, size_t *len);

/* Asks the running call to stop at its next loop back-edge or call
 * (WASM_ERR_INTERRUPTED).  Safe from a signal handler or another thread. */
void wasm_interrupt(wasm_instance *inst);

/* The error kind's name ("malformed", "trap", ...) and a trap's spec text
 * ("integer divide by zero", "out of bounds memory access", ...). */
const char *wasm_error_kind_name(wasm_error_kind k);
const char *wasm_trap_text(wasm_trap t);

/* "i32", "i64", "f32", "f64", "v128", "funcref", "externref"; "?" otherwise. */
const char *wasm_valtype_name(wasm_valtype t);
/* A function type as text: "(i32, i32) -> i64", "() " without results,
 * "(f64) -> (i32, i32)" with several; truncated to size. */
void wasm_functype_format(const wasm_functype *t, char *buf, size_t size);

#endif
