/*
 * runtime.c - glint's WebAssembly runtime guest: an ordinary glint guest
 * (built with the guest flags, linked with libglint-guest.a and the engine
 * in src/wasm) that runs one WebAssembly module.
 *
 * The host (src/host/wasm_image.c) builds a wasm image from this ELF plus
 * one read-only segment right after it (struct gw_blob, blob.h): the
 * module's bytes and its callable exports, already decoded and validated on
 * the host.  glint_main decodes the module again here, instantiates it with
 * limits derived from the sandbox (memory bounded by the guest heap) and
 * runs _initialize if the module has one, so a snapshot taken after
 * initialization holds the instantiated module.
 *
 * Every function in the wasm image's function table has this runtime's
 * WasmCall as its entry; the call frame's fn_index names the export
 * (blob->fns[fn_index]).  WasmCall converts the glint arguments to wasm
 * values (strings and bytes are copied into the module's memory through its
 * glint_alloc export), calls the function, and writes the result frame
 * itself (the guest library's glint_return_* check the runtime's own
 * function table, which does not describe the module's functions).  A trap
 * fails the call with glint_return_error: the host gets
 * GLINT_E_GUEST_ERROR and the sandbox stays usable.
 */
#include <glint/guest.h>
#include <glint/layout.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../host/utf8.h" /* the host library's own check */
#include "../wasm.h"
#include "blob.h"

#define BOOT ((const struct glint_boot_info *)(uintptr_t)GLINT_BOOT_INFO_GVA)
#define RESULT_DATA sizeof(struct glint_result_frame)

extern const char __glint_image_end[]; /* glint.ld: the page after this image */

static const struct gw_blob *blob;
static wasm_module *mod;
static wasm_instance *inst;

static uint32_t min_u32(uint64_t a, uint64_t b)
{
    uint64_t m = a < b ? a : b;
    return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

/* Limits from the sandbox's heap: the module's memory, value stack and call
 * frames all live there. */
static void sandbox_limits(wasm_limits *lim)
{
    uint64_t heap = BOOT->heap_size;
    wasm_limits_default(lim);
    lim->max_memory_pages = min_u32(heap / 65536u, 65536u);
    if (!lim->max_memory_pages)
        lim->max_memory_pages = 1; /* a module asking for more fails to instantiate */
    uint32_t slots = min_u32(heap / 32u, 1u << 20);
    lim->max_value_stack = slots < 4096 ? 4096 : slots;
    uint32_t depth = min_u32(heap / 256u, 10000u);
    lim->max_call_depth = depth < 256 ? 256 : depth;
    lim->max_table_elems = min_u32(heap / 64u, 100000u);
}

/* ---- WASI preview 1 (docs/wasm.md) -------------------------------------------------
 * The module may import functions of "wasi_snapshot_preview1" (the host
 * refuses any other import).  fd_write to fd 1 and 2 goes to the host's
 * print function (during initialization, where host calls are not
 * possible, the output is dropped); args and environ are empty;
 * proc_exit(code) ends the call with an error naming the code;
 * clock_time_get and random_get ask the host functions the host may grant,
 * wasi_clock_time_get(uint32 clock_id) -> uint64 and wasi_random_get(uint32
 * length) -> bytes, and answer ENOSYS where it has not (or during
 * initialization, where host calls are not possible); every other function
 * returns ENOSYS (52), so that a module sees the same answers on every run
 * unless the host grants time or randomness. */
#define WASI_ESUCCESS 0u
#define WASI_EBADF 8u
#define WASI_EFAULT 21u
#define WASI_EIO 29u
#define WASI_ENOSYS 52u

enum wasi_fn { WASI_OTHER, WASI_FD_WRITE, WASI_PROC_EXIT, WASI_SIZES_GET, WASI_LIST_GET, WASI_CLOCK, WASI_RANDOM };

struct wasi_import {
    enum wasi_fn kind;
    uint32_t index; /* the import's index in the module */
};
static struct wasi_import *wasi_imports;
static int wasi_exited; /* proc_exit ran in this call */
static int32_t wasi_exit_code;

static int import_is(const wasm_functype *t, uint32_t np, uint32_t nr)
{
    if (t->nparams != np || t->nresults != nr)
        return 0;
    for (uint32_t i = 0; i < np; i++)
        if (t->params[i] != WASM_I32)
            return 0;
    for (uint32_t i = 0; i < nr; i++)
        if (t->results[i] != WASM_I32)
            return 0;
    return 1;
}

static int wasi_call(void *user, wasm_instance *in, const wasm_val *args, wasm_val *results, wasm_error *err)
{
    const struct wasi_import *w = user;
    const wasm_functype *t = wasm_module_import_func_type(mod, w->index);
    size_t mlen = 0;
    uint8_t *mem = wasm_instance_memory(in, &mlen);
    uint32_t rc = WASI_ENOSYS;
    switch (w->kind) {
    case WASI_PROC_EXIT:
        wasi_exited = 1;
        wasi_exit_code = (int32_t)args[0].v.i32;
        err->kind = WASM_ERR_HOST;
        err->trap = WASM_TRAP_NONE;
        snprintf(err->msg, sizeof err->msg, "proc_exit(%d): the module exited", (int32_t)args[0].v.i32);
        return -1;
    case WASI_SIZES_GET: { /* args_sizes_get, environ_sizes_get: none */
        uint32_t a = args[0].v.i32, b = args[1].v.i32;
        if ((uint64_t)a + 4 > mlen || (uint64_t)b + 4 > mlen) {
            rc = WASI_EFAULT;
            break;
        }
        memset(mem + a, 0, 4);
        memset(mem + b, 0, 4);
        rc = WASI_ESUCCESS;
        break;
    }
    case WASI_LIST_GET: rc = WASI_ESUCCESS; break; /* args_get, environ_get: nothing to write */
    case WASI_CLOCK: { /* clock_time_get(id, precision, *time): the host's grant, if any */
        uint32_t out = args[2].v.i32;
        if ((uint64_t)out + 8 > mlen) {
            rc = WASI_EFAULT;
            break;
        }
        glint_val id = GLINT_VAL_U32(args[0].v.i32), r;
        if (glint_host_call("wasi_clock_time_get", GLINT_U64, &r, 1, &id) != 0)
            break; /* not granted: ENOSYS */
        memcpy(mem + out, &r.v.u64, 8);
        rc = WASI_ESUCCESS;
        break;
    }
    case WASI_RANDOM: { /* random_get(buf, len): the host's grant, if any */
        uint32_t p = args[0].v.i32, n = args[1].v.i32;
        if ((uint64_t)p + n > mlen) {
            rc = WASI_EFAULT;
            break;
        }
        glint_val len = GLINT_VAL_U32(n), r;
        if (glint_host_call("wasi_random_get", GLINT_BYTES, &r, 1, &len) != 0)
            break; /* not granted: ENOSYS */
        if (r.v.bytes.len != n) {
            rc = WASI_EIO; /* the host answered with another length */
            break;
        }
        memcpy(mem + p, r.v.bytes.ptr, n);
        rc = WASI_ESUCCESS;
        break;
    }
    case WASI_FD_WRITE: {
        uint32_t fd = args[0].v.i32, iovs = args[1].v.i32, n = args[2].v.i32, out = args[3].v.i32;
        if (fd != 1 && fd != 2) {
            rc = WASI_EBADF;
            break;
        }
        if ((uint64_t)iovs + (uint64_t)n * 8 > mlen || (uint64_t)out + 4 > mlen) {
            rc = WASI_EFAULT;
            break;
        }
        uint32_t total = 0;
        rc = WASI_ESUCCESS;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t p, l;
            memcpy(&p, mem + iovs + 8 * i, 4);
            memcpy(&l, mem + iovs + 8 * i + 4, 4);
            if ((uint64_t)p + l > mlen) {
                rc = WASI_EFAULT;
                break;
            }
            if (l) {
                glint_val v = {.type = GLINT_STRING, .v.str = {(const char *)mem + p, l}};
                (void)glint_host_call("print", GLINT_VOID, NULL, 1, &v); /* dropped if refused */
            }
            total += l;
        }
        memcpy(mem + out, &total, 4);
        break;
    }
    case WASI_OTHER: break;
    }
    for (uint32_t i = 0; i < t->nresults; i++)
        results[i].v.i64 = i == 0 && t->results[0] == WASM_I32 ? rc : 0;
    return 0;
}

/* ---- host functions as imports (module "glint", docs/wasm.md) ----------------------
 * The host wrote its registered functions into the input buffer before
 * this initialization (glint/abi.h, struct glint_hostfn_table); an import
 * "glint"."name" binds to the one of that name whose signature maps to the
 * import's type exactly: int32, uint32 and bool are i32, int64 and uint64
 * i64, float f32, double f64; a string or bytes parameter is two i32
 * (pointer, length) in the module's memory; the result is a number or
 * nothing.  A call is a host call; the host's refusal or failure traps. */
static struct glint_hostfn_entry *host_fns;
static uint32_t n_host_fns;

static void read_host_fns(void)
{
    const struct glint_hostfn_table *t = (const struct glint_hostfn_table *)(uintptr_t)BOOT->input_base;
    if (t->magic != GLINT_HOSTFN_MAGIC)
        return;
    uint64_t room = (BOOT->input_size - sizeof *t) / sizeof t->fn[0];
    uint32_t n = t->count < room ? t->count : (uint32_t)room;
    host_fns = calloc(n + 1, sizeof *host_fns); /* the input buffer is overwritten by calls */
    if (!host_fns)
        glint_abort(1, "wasm: out of memory for %u host functions", n);
    memcpy(host_fns, t->fn, n * sizeof *host_fns);
    for (uint32_t i = 0; i < n; i++)
        host_fns[i].name[GLINT_MAX_NAME] = 0;
    n_host_fns = n;
}

static int wasm_of(uint8_t glint_type, wasm_valtype *out)
{
    switch (glint_type) {
    case GLINT_I32: case GLINT_U32: case GLINT_BOOL: *out = WASM_I32; return 1;
    case GLINT_I64: case GLINT_U64: *out = WASM_I64; return 1;
    case GLINT_F32: *out = WASM_F32; return 1;
    case GLINT_F64: *out = WASM_F64; return 1;
    default: return 0;
    }
}

/* The wasm type a host function maps to, into p/r; 0 if it has none
 * (a string or bytes result). */
static int host_fn_type(const struct glint_hostfn_entry *h, wasm_valtype *p, uint32_t *np, wasm_valtype *r,
                        uint32_t *nr)
{
    *np = 0;
    for (uint32_t k = 0; k < h->nparams && k < GLINT_MAX_PARAMS; k++) {
        if (h->params[k] == GLINT_STRING || h->params[k] == GLINT_BYTES) {
            p[(*np)++] = WASM_I32;
            p[(*np)++] = WASM_I32;
        } else if (!wasm_of(h->params[k], &p[(*np)++])) {
            return 0;
        }
    }
    *nr = 0;
    if (h->ret == GLINT_VOID)
        return 1;
    *nr = 1;
    return wasm_of(h->ret, &r[0]);
}

/* Checks every "glint" import against the host's functions before the
 * module is instantiated, so that a missing or mistyped one is named. */
static void check_host_imports(void)
{
    for (size_t i = 0; i < wasm_module_import_count(mod); i++) {
        size_t ml, nl;
        const char *mn = wasm_module_import_module(mod, i, &ml), *nn = wasm_module_import_name(mod, i, &nl);
        if (ml != 5 || memcmp(mn, "glint", 5) != 0)
            continue;
        const struct glint_hostfn_entry *h = NULL;
        for (uint32_t k = 0; k < n_host_fns && !h; k++)
            if (strlen(host_fns[k].name) == nl && !memcmp(host_fns[k].name, nn, nl))
                h = &host_fns[k];
        if (!h)
            glint_abort(1, "wasm: the module imports \"glint\".\"%.*s\", but the host registered no "
                        "function of that name", (int)(nl > 63 ? 63 : nl), nn);
        wasm_valtype p[2 * GLINT_MAX_PARAMS], r[1];
        uint32_t np, nr;
        const wasm_functype *t = wasm_module_import_func_type(mod, i);
        char want[300], got[300];
        wasm_functype_format(t, got, sizeof got);
        if (!host_fn_type(h, p, &np, r, &nr))
            glint_abort(1, "wasm: the module imports \"glint\".\"%s\" %s, but the host's %s returns a "
                        "string or bytes, which an import cannot", h->name, got, h->name);
        wasm_functype_format(&(wasm_functype){np, nr, p, r}, want, sizeof want);
        if (np != t->nparams || nr != t->nresults || memcmp(p, t->params, np * sizeof *p) != 0 ||
            (nr && r[0] != t->results[0]))
            glint_abort(1, "wasm: the module imports \"glint\".\"%s\" as %s, but the host's %s needs %s",
                        h->name, got, h->name, want);
    }
}

static int host_import_call(void *user, wasm_instance *in, const wasm_val *args, wasm_val *results,
                            wasm_error *err)
{
    const struct glint_hostfn_entry *h = user;
    size_t mlen = 0;
    uint8_t *mem = wasm_instance_memory(in, &mlen);
    glint_val v[GLINT_MAX_PARAMS], r;
    uint32_t a = 0;
    for (uint32_t k = 0; k < h->nparams; k++) {
        v[k].type = (glint_type)h->params[k];
        switch (h->params[k]) {
        case GLINT_STRING:
        case GLINT_BYTES: {
            uint32_t p = args[a].v.i32, n = args[a + 1].v.i32;
            a += 2;
            if ((uint64_t)p + n > mlen) {
                err->kind = WASM_ERR_HOST;
                err->trap = WASM_TRAP_NONE;
                snprintf(err->msg, sizeof err->msg, "host function %s: argument %u (%u bytes at %u) is "
                         "outside the module's memory", h->name, k, n, p);
                return -1;
            }
            v[k].v.bytes.ptr = mem + p;
            v[k].v.bytes.len = n;
            break;
        }
        case GLINT_I64: case GLINT_U64: v[k].v.u64 = args[a++].v.i64; break;
        case GLINT_F64: memcpy(&v[k].v.f64, &args[a++].v.i64, 8); break;
        case GLINT_F32: memcpy(&v[k].v.f32, &args[a++].v.i32, 4); break;
        case GLINT_BOOL: v[k].v.b = args[a++].v.i32 != 0; break;
        default: v[k].v.u32 = args[a++].v.i32; break;
        }
    }
    if (glint_host_call(h->name, (glint_type)h->ret, &r, h->nparams, v) != 0) {
        err->kind = WASM_ERR_HOST;
        err->trap = WASM_TRAP_NONE;
        snprintf(err->msg, sizeof err->msg, "host function %s: %s", h->name, glint_host_error());
        return -1;
    }
    switch (h->ret) {
    case GLINT_VOID: break;
    case GLINT_I64: case GLINT_U64: results[0].v.i64 = r.v.u64; break;
    case GLINT_F64: memcpy(&results[0].v.i64, &r.v.f64, 8); break;
    case GLINT_F32: results[0].v.i64 = 0, memcpy(&results[0].v.i32, &r.v.f32, 4); break;
    case GLINT_BOOL: results[0].v.i64 = r.v.b ? 1 : 0; break;
    default: results[0].v.i64 = r.v.u32; break;
    }
    return 0;
}

static int resolve_import(void *user, const wasm_module *m, size_t i, wasm_import_value *out)
{
    (void)user;
    size_t ml, nl;
    const char *mn = wasm_module_import_module(m, i, &ml), *nn = wasm_module_import_name(m, i, &nl);
    if (wasm_module_import_kind(m, i) == WASM_EXTERN_FUNC && ml == 5 && !memcmp(mn, "glint", 5)) {
        for (uint32_t k = 0; k < n_host_fns; k++)
            if (strlen(host_fns[k].name) == nl && !memcmp(host_fns[k].name, nn, nl)) {
                memset(out, 0, sizeof *out);
                out->kind = WASM_EXTERN_FUNC;
                out->fn = host_import_call;
                out->user = &host_fns[k];
                out->type = *wasm_module_import_func_type(m, i);
                return 0;
            }
        return -1; /* check_host_imports names it first */
    }
    if (wasm_module_import_kind(m, i) != WASM_EXTERN_FUNC || ml != 22 ||
        memcmp(mn, "wasi_snapshot_preview1", 22) != 0)
        return -1;
    const wasm_functype *t = wasm_module_import_func_type(m, i);
    struct wasi_import *w = &wasi_imports[i];
    w->index = (uint32_t)i;
    w->kind = WASI_OTHER;
#define IS(s) (nl == sizeof(s) - 1 && !memcmp(nn, s, nl))
    if (IS("fd_write") && import_is(t, 4, 1))
        w->kind = WASI_FD_WRITE;
    else if (IS("proc_exit") && import_is(t, 1, 0))
        w->kind = WASI_PROC_EXIT;
    else if ((IS("args_sizes_get") || IS("environ_sizes_get")) && import_is(t, 2, 1))
        w->kind = WASI_SIZES_GET;
    else if ((IS("args_get") || IS("environ_get")) && import_is(t, 2, 1))
        w->kind = WASI_LIST_GET;
    else if (IS("clock_time_get") && t->nparams == 3 && t->nresults == 1 && t->params[0] == WASM_I32 &&
             t->params[1] == WASM_I64 && t->params[2] == WASM_I32 && t->results[0] == WASM_I32)
        w->kind = WASI_CLOCK;
    else if (IS("random_get") && import_is(t, 2, 1))
        w->kind = WASI_RANDOM;
#undef IS
    memset(out, 0, sizeof *out);
    out->kind = WASM_EXTERN_FUNC;
    out->fn = wasi_call;
    out->user = w;
    out->type = *t;
    return 0;
}

void glint_main(void)
{
    const struct gw_blob *b = (const struct gw_blob *)(const void *)__glint_image_end;
    if (b->magic != GW_BLOB_MAGIC)
        return; /* run on its own, without a module: nothing to load */
    if (b->version != GW_BLOB_VERSION)
        glint_abort(1, "wasm runtime: module descriptor version %u, this runtime reads %u", b->version,
                    GW_BLOB_VERSION);
    /* memory.grow and the engine's own allocations fail cleanly instead of
     * stopping the guest when the heap runs out. */
    glint_heap_null_on_failure(true);
    wasm_limits lim;
    sandbox_limits(&lim);
    wasm_error e;
    const uint8_t *bytes = (const uint8_t *)b + b->module_off;
    mod = wasm_module_new(bytes, (size_t)b->module_len, &lim, &e);
    if (!mod)
        glint_abort(1, "wasm: loading the module: %s (%s)", e.msg, wasm_error_kind_name(e.kind));
    size_t nimports = wasm_module_import_count(mod);
    wasi_imports = calloc(nimports + 1, sizeof *wasi_imports);
    if (!wasi_imports)
        glint_abort(1, "wasm: out of memory for %zu imports", nimports);
    read_host_fns();
    check_host_imports();
    inst = wasm_instance_new(mod, &lim, resolve_import, NULL, &e);
    if (!inst) {
        if (e.kind == WASM_ERR_LIMIT || e.kind == WASM_ERR_NOMEM)
            glint_abort(1, "wasm: instantiating the module: %s (the sandbox heap is %llu KiB, "
                        "memory is limited to %u pages of 64 KiB: raise the heap size)",
                        e.msg, (unsigned long long)(BOOT->heap_size / 1024), lim.max_memory_pages);
        glint_abort(1, "wasm: instantiating the module: %s (%s)", e.msg, wasm_error_kind_name(e.kind));
    }
    if (b->init_func != GW_NO_FUNC) {
        wasm_val r[1];
        if (wasm_call(inst, b->init_func, NULL, 0, r, 1, &e) != 0)
            glint_abort(1, "wasm: _initialize failed: %s", e.msg);
    }
    blob = b;
}

/* ---- results ---------------------------------------------------------------- */

static struct glint_result_frame *result_frame(void)
{
    return (struct glint_result_frame *)(uintptr_t)BOOT->output_base;
}

static void put_scalar(uint32_t type, uint64_t bits)
{
    struct glint_result_frame *r = result_frame();
    r->value.type = type;
    r->value.reserved = 0;
    r->value.len = 0;
    r->value.bits = bits;
    r->reserved = 0;
    r->status = GLINT_RESULT_OK;
}


/* ---- calls ------------------------------------------------------------------- */

/* The function's name from the name section, else the name it is exported
 * under, else NULL. */
static const char *func_name(uint32_t func)
{
    const char *n = wasm_module_func_name(mod, func);
    if (n)
        return n;
    size_t count = wasm_module_export_count(mod);
    for (size_t i = 0; i < count; i++)
        if (wasm_module_export_kind(mod, i) == WASM_EXTERN_FUNC && wasm_module_export_index(mod, i) == func) {
            size_t len;
            const char *e = wasm_module_export_name(mod, i, &len);
            static char buf[128];
            if (len >= sizeof buf)
                len = sizeof buf - 1;
            memcpy(buf, e, len);
            buf[len] = 0;
            return buf;
        }
    return NULL;
}

/* "trap: integer divide by zero in function 3 \"div\" at offset 0x1a2" */
static void fail_wasm(const char *what, const wasm_error *e)
{
    const char *in = what ? " (in " : "", *wh = what ? what : "", *end = what ? ")" : "";
    if (e->kind == WASM_ERR_TRAP || e->kind == WASM_ERR_EXHAUSTION) {
        const char *name = e->func != UINT32_MAX ? func_name(e->func) : NULL;
        const char *trap = wasm_trap_text(e->trap);
        if (e->func == UINT32_MAX)
            glint_return_error("trap: %s%s%s%s", trap, in, wh, end);
        else if (name)
            glint_return_error("trap: %s in function %u \"%.100s\" at offset 0x%x%s%s%s", trap, e->func,
                               name, e->offset, in, wh, end);
        else
            glint_return_error("trap: %s in function %u at offset 0x%x%s%s%s", trap, e->func, e->offset,
                               in, wh, end);
        return;
    }
    glint_return_error("wasm %s%s%s%s: %.300s", wasm_error_kind_name(e->kind), in, wh, end, e->msg);
}

/* Copies `len` bytes into the module's memory through glint_alloc; the
 * address in *ptr.  0, or -1 with the call failed. */
static int pass_buffer(const uint8_t *data, uint64_t len, uint32_t *ptr)
{
    wasm_error e;
    if (len > UINT32_MAX) {
        glint_return_error("wasm: an argument of %llu bytes does not fit a 32-bit memory",
                           (unsigned long long)len);
        return -1;
    }
    wasm_val a = {.type = WASM_I32, .v.i32 = (uint32_t)len}, r;
    if (wasm_call(inst, blob->alloc_func, &a, 1, &r, 1, &e) != 0) {
        fail_wasm("glint_alloc", &e);
        return -1;
    }
    size_t mlen;
    uint8_t *mem = wasm_instance_memory(inst, &mlen);
    if (!mem || (uint64_t)r.v.i32 + len > mlen) {
        glint_return_error("wasm: glint_alloc(%llu) returned 0x%x, outside the module's %zu-byte memory",
                           (unsigned long long)len, r.v.i32, mlen);
        return -1;
    }
    if (len)
        memcpy(mem + r.v.i32, data, (size_t)len);
    *ptr = r.v.i32;
    return 0;
}

static void free_buffer(uint32_t ptr, uint32_t len)
{
    if (blob->free_func == GW_NO_FUNC)
        return;
    wasm_val a[2] = {{.type = WASM_I32, .v.i32 = ptr}, {.type = WASM_I32, .v.i32 = len}}, r[1];
    wasm_error e;
    (void)wasm_call(inst, blob->free_func, a, 2, r, 1, &e); /* a trap there is the module's own */
}

/* Copies a string or bytes result out of the module's memory into the
 * result frame.  0, or -1 with the call failed. */
static int put_buffer(uint32_t type, uint64_t packed)
{
    uint32_t ptr = (uint32_t)(packed >> 32), len = (uint32_t)packed;
    size_t mlen;
    uint8_t *mem = wasm_instance_memory(inst, &mlen);
    if ((uint64_t)ptr + len > mlen || (!mem && len)) {
        glint_return_error("wasm: the %s result (ptr 0x%x, len %u, packed as ptr << 32 | len) lies "
                           "outside the module's %zu-byte memory",
                           type == GLINT_STRING ? "string" : "bytes", ptr, len, mlen);
        return -1;
    }
    const uint8_t *src = mem ? mem + ptr : (const uint8_t *)"";
    if (type == GLINT_STRING && !glint_utf8_valid(src, len)) {
        glint_return_error("wasm: the string result (%u bytes at 0x%x) is not valid UTF-8", len, ptr);
        return -1;
    }
    uint64_t cap = BOOT->output_size;
    if (cap < RESULT_DATA + 1 || len > cap - RESULT_DATA - 1) {
        glint_return_error("wasm: a result of %u bytes does not fit in the %llu-byte output buffer", len,
                           (unsigned long long)cap);
        return -1;
    }
    struct glint_result_frame *r = result_frame();
    uint8_t *dst = (uint8_t *)r + RESULT_DATA;
    if (len)
        memcpy(dst, src, len);
    dst[len] = 0;
    r->value.type = type;
    r->value.reserved = 0;
    r->value.len = len;
    r->value.bits = RESULT_DATA;
    r->reserved = 0;
    r->status = GLINT_RESULT_OK;
    free_buffer(ptr, len);
    return 0;
}

static void WasmCall(const glint_args *a)
{
    if (!blob || !inst) {
        glint_return_error("wasm runtime: no module is loaded");
        return;
    }
    uint32_t k = a->fn_index;
    if (k >= blob->nfns) {
        glint_return_error("wasm runtime: no export %u (the module has %u callable exports)", k, blob->nfns);
        return;
    }
    const struct gw_fn *f = &blob->fns[k];
    if (a->nargs != f->nparams) {
        glint_return_error("wasm runtime: %u arguments for a function of %u", a->nargs, f->nparams);
        return;
    }
    wasm_val args[2 * GLINT_MAX_PARAMS];
    uint32_t bufs[GLINT_MAX_PARAMS][2];
    unsigned n = 0, nbufs = 0;
    int failed = 0;
    for (unsigned i = 0; i < f->nparams && !failed; i++) {
        const struct glint_abi_value *v = &a->args[i];
        if (v->type != f->params[i]) {
            glint_return_error("wasm runtime: argument %u has type %u, expected %u", i + 1, v->type,
                               f->params[i]);
            failed = 1;
            break;
        }
        switch (v->type) {
        case GLINT_BOOL:
        case GLINT_I32:
        case GLINT_U32: args[n].type = WASM_I32, args[n++].v.i32 = (uint32_t)v->bits; break;
        case GLINT_I64:
        case GLINT_U64: args[n].type = WASM_I64, args[n++].v.i64 = v->bits; break;
        case GLINT_F32: args[n].type = WASM_F32, args[n++].v.i32 = (uint32_t)v->bits; break;
        case GLINT_F64: args[n].type = WASM_F64, args[n++].v.i64 = v->bits; break;
        case GLINT_STRING:
        case GLINT_BYTES: {
            uint32_t p;
            if (pass_buffer((const uint8_t *)(uintptr_t)v->bits, v->len, &p) != 0) {
                failed = 1;
                break;
            }
            bufs[nbufs][0] = p, bufs[nbufs++][1] = (uint32_t)v->len;
            args[n].type = WASM_I32, args[n++].v.i32 = p;
            args[n].type = WASM_I32, args[n++].v.i32 = (uint32_t)v->len;
            break;
        }
        default:
            glint_return_error("wasm runtime: argument %u has unsupported type %u", i + 1, v->type);
            failed = 1;
        }
    }
    wasm_val res[1];
    wasm_error e;
    wasi_exited = 0;
    if (!failed && wasm_call(inst, f->wasm_func, args, n, res, 1, &e) != 0) {
        /* proc_exit(0) from a function without a result (a command's
         * _start) is a normal end. */
        if (wasi_exited && wasi_exit_code == 0 && f->ret == GLINT_VOID) {
            res[0].v.i64 = 0;
        } else {
            fail_wasm(NULL, &e);
            failed = 1;
        }
    }
    for (unsigned i = 0; i < nbufs; i++)
        free_buffer(bufs[i][0], bufs[i][1]);
    if (failed)
        return;
    switch (f->ret) {
    case GLINT_VOID: break;
    case GLINT_BOOL: put_scalar(GLINT_BOOL, (uint32_t)res[0].v.i32 != 0); break;
    case GLINT_I32: put_scalar(GLINT_I32, (uint64_t)(int64_t)(int32_t)res[0].v.i32); break;
    case GLINT_U32:
    case GLINT_F32: put_scalar(f->ret, (uint32_t)res[0].v.i32); break;
    case GLINT_I64:
    case GLINT_U64:
    case GLINT_F64: put_scalar(f->ret, res[0].v.i64); break;
    case GLINT_STRING:
    case GLINT_BYTES: (void)put_buffer(f->ret, res[0].v.i64); break;
    default: glint_return_error("wasm runtime: unsupported result type %u", f->ret);
    }
}
GLINT_FUNCTION(WasmCall, GLINT_VOID);
