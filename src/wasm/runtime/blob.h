/*
 * blob.h - what the host hands the WebAssembly runtime guest: one read-only
 * segment placed right after the runtime's own image (at its
 * __glint_image_end), holding this header, the callable exports the host
 * derived from the module, and the module's bytes.
 *
 * Shared by the host (src/host/wasm_image.c, hosted C) and the runtime
 * guest (src/wasm/runtime/runtime.c, freestanding); fixed-width fields only.
 * The host decodes and validates the module first, so the runtime decodes
 * a module known to be valid; it still checks every field it uses.
 *
 * Parameter and result mapping (docs/wasm.md):
 *   glint BOOL, I32, U32  <->  one wasm i32
 *   glint I64, U64        <->  one wasm i64
 *   glint F32 / F64       <->  wasm f32 / f64
 *   glint STRING, BYTES   param: two wasm i32 (ptr, len) in the module's
 *                         memory, allocated with its glint_alloc export;
 *                         result: one wasm i64, ptr << 32 | len
 */
#ifndef GLINT_WASM_BLOB_H
#define GLINT_WASM_BLOB_H

#include <stdint.h>

#define GW_BLOB_MAGIC   0x314d5341574c47ull /* "GLWASM1" */
#define GW_BLOB_VERSION 1u
#define GW_NO_FUNC      0xffffffffu

struct gw_fn {
    uint32_t wasm_func;   /* function index in the module (imports first) */
    uint8_t ret;          /* glint_type of the result */
    uint8_t nparams;      /* glint parameters, 0..GLINT_MAX_PARAMS */
    uint8_t params[16];   /* glint_type of each */
    uint8_t reserved[2];
};

struct gw_blob {
    uint64_t magic;         /* GW_BLOB_MAGIC */
    uint32_t version;       /* GW_BLOB_VERSION */
    uint32_t nfns;          /* entries in fns[], in the host's function-table order */
    uint64_t module_off;    /* offset of the module's bytes from the start of this header */
    uint64_t module_len;
    uint32_t alloc_func;    /* glint_alloc(i32) -> i32, or GW_NO_FUNC */
    uint32_t free_func;     /* glint_free(i32, i32), or GW_NO_FUNC */
    uint32_t init_func;     /* _initialize() (reactor modules), or GW_NO_FUNC */
    uint32_t reserved;
    struct gw_fn fns[];
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct gw_fn) == 24, "gw_fn layout");
_Static_assert(sizeof(struct gw_blob) == 48, "gw_blob layout");
#endif

#endif
