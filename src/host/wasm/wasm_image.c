/*
 * wasm_image.c - WebAssembly modules as glint images (docs/wasm.md).
 *
 * glint_image_open_* hands a buffer that starts with "\0asm" here.  The
 * module is decoded and validated on the host with the engine's own
 * decoder (src/wasm, compiled into libglint with its symbols renamed, see
 * the Makefile), so a malformed or invalid module is refused at open with
 * the engine's message and never reaches a sandbox.  The image is then the
 * embedded runtime guest (src/wasm/runtime, wasm_blob.S) plus one read-only
 * segment after it holding a struct gw_blob (src/wasm/runtime/blob.h): the
 * callable exports and the module's bytes.  Its function table lists the
 * module's callable exports with glint signatures, each with the runtime's
 * WasmCall as entry: calls need no routing on the host, and snapshots,
 * pools and snapshot files work unchanged.
 *
 * Signatures: by default each wasm type maps to the glint type of the same
 * width (i32 -> int32, i64 -> int64, f32 -> float, f64 -> double).  The
 * custom section "glint.sig" may declare others, one per line:
 *     greet(string) -> string
 *     is_even(uint32) -> bool
 * where a string or bytes parameter is two wasm i32 (ptr, len) and a string
 * or bytes result is one wasm i64 (ptr << 32 | len).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../wasm/runtime/blob.h"
#include "../../wasm/wasm.h"
#include "error.h"
#include "image.h"

/* The runtime guest, linked in by wasm_blob.S. */
extern const unsigned char glint_wasm_runtime_start[], glint_wasm_runtime_end[];

#define SIG_SECTION "glint.sig"

struct sig {
    char name[GLINT_MAX_NAME + 1];
    glint_function fn;
    int used;
};

struct builder {
    const wasm_module *m;
    const uint8_t *bytes;
    size_t len;
    glint_error *err;
    struct sig *sigs;
    size_t nsigs;
    /* Result. */
    size_t nfns;
    glint_function funcs[GLINT_IMAGE_MAX_FUNCS];
    struct gw_fn gw[GLINT_IMAGE_MAX_FUNCS];
    char names[GLINT_IMAGE_MAX_FUNCS][GLINT_MAX_NAME + 1];
    char **skipped;
    size_t nskipped;
    uint32_t alloc_func, free_func, init_func;
    int needs_alloc, needs_memory;
    char need_why[GLINT_MAX_NAME + 1];
};

__attribute__((format(printf, 2, 3))) static glint_status add_skipped(struct builder *b, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char **n = realloc(b->skipped, (b->nskipped + 1) * sizeof *n);
    if (!n)
        return glint_fail(b->err, GLINT_E_NOMEM, "out of memory listing a module's exports");
    b->skipped = n;
    if (!(n[b->nskipped] = strdup(line)))
        return glint_fail(b->err, GLINT_E_NOMEM, "out of memory listing a module's exports");
    b->nskipped++;
    return GLINT_OK;
}

static int valid_glint_name(const char *s, size_t n)
{
    if (n == 0 || n > GLINT_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

/* ---- glint.sig ---------------------------------------------------------------- */

static int type_from_word(const char *w, size_t n, glint_type *out)
{
    static const struct {
        const char *name;
        glint_type t;
    } names[] = {
        {"void", GLINT_VOID}, {"bool", GLINT_BOOL},     {"i32", GLINT_I32},     {"int32", GLINT_I32},
        {"u32", GLINT_U32},   {"uint32", GLINT_U32},    {"i64", GLINT_I64},     {"int64", GLINT_I64},
        {"u64", GLINT_U64},   {"uint64", GLINT_U64},    {"f32", GLINT_F32},     {"float", GLINT_F32},
        {"f64", GLINT_F64},   {"double", GLINT_F64},    {"string", GLINT_STRING}, {"bytes", GLINT_BYTES},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && !memcmp(names[i].name, w, n)) {
            *out = names[i].t;
            return 1;
        }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* One declaration "name(type, ...) -> type" in [p, end). */
static glint_status parse_decl(struct builder *b, const char *p, const char *end, size_t lineno)
{
    const char *start = p;
    int len = (int)(end - start > 120 ? 120 : end - start);
#define BAD(why)                                                                                             \
    glint_fail(b->err, GLINT_E_BAD_IMAGE, "custom section " SIG_SECTION ", line %zu ('%.*s'): %s", lineno, len, \
               start, why)
    const char *w = p;
    while (p < end && is_word(*p))
        p++;
    if (!valid_glint_name(w, (size_t)(p - w)))
        return BAD("expected a function name ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)");
    struct sig s;
    memset(&s, 0, sizeof s);
    memcpy(s.name, w, (size_t)(p - w));
    s.fn.name = NULL;
    s.fn.ret = GLINT_VOID;
    while (p < end && is_space(*p))
        p++;
    if (p == end || *p != '(')
        return BAD("expected '(' after the name");
    p++;
    for (;;) {
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p == ')' && s.fn.nparams == 0) {
            p++;
            break;
        }
        w = p;
        while (p < end && is_word(*p))
            p++;
        glint_type t;
        if (!type_from_word(w, (size_t)(p - w), &t) || t == GLINT_VOID)
            return BAD("expected a parameter type (bool, int32, uint32, int64, uint64, float, double, string, "
                       "bytes)");
        if (s.fn.nparams >= GLINT_MAX_PARAMS)
            return BAD("more than 16 parameters");
        s.fn.params[s.fn.nparams++] = t;
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == ')') {
            p++;
            break;
        }
        return BAD("expected ',' or ')' after a parameter type");
    }
    while (p < end && is_space(*p))
        p++;
    if (p + 1 < end && p[0] == '-' && p[1] == '>') {
        p += 2;
        while (p < end && is_space(*p))
            p++;
        w = p;
        while (p < end && is_word(*p))
            p++;
        if (!type_from_word(w, (size_t)(p - w), &s.fn.ret))
            return BAD("expected a result type after '->'");
        while (p < end && is_space(*p))
            p++;
    }
    if (p != end)
        return BAD("unexpected text after the declaration");
    for (size_t i = 0; i < b->nsigs; i++)
        if (!strcmp(b->sigs[i].name, s.name))
            return BAD("declared twice");
    struct sig *n = realloc(b->sigs, (b->nsigs + 1) * sizeof *n);
    if (!n)
        return glint_fail(b->err, GLINT_E_NOMEM, "out of memory reading " SIG_SECTION);
    b->sigs = n;
    b->sigs[b->nsigs++] = s;
    return GLINT_OK;
#undef BAD
}

/* Lines, ';' or NUL separate declarations; '#' starts a comment. */
static glint_status parse_sigs(struct builder *b)
{
    size_t len;
    const uint8_t *sec = wasm_module_custom_section(b->m, SIG_SECTION, &len);
    if (!sec)
        return GLINT_OK;
    const char *p = (const char *)sec, *end = p + len;
    size_t lineno = 1;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\n' && *q != ';' && *q != '\0' && *q != '#')
            q++;
        const char *a = p, *z = q;
        while (a < z && is_space(*a))
            a++;
        while (z > a && is_space(z[-1]))
            z--;
        if (a < z) {
            glint_status s = parse_decl(b, a, z, lineno);
            if (s)
                return s;
        }
        if (q < end && *q == '#')
            while (q < end && *q != '\n')
                q++;
        if (q < end && *q == '\n')
            lineno++;
        p = q < end ? q + 1 : q;
    }
    return GLINT_OK;
}

/* ---- exports -------------------------------------------------------------------- */

/* The wasm value type a glint type travels as (string/bytes: see the callers). */
static wasm_valtype scalar_vt(glint_type t)
{
    switch (t) {
    case GLINT_BOOL:
    case GLINT_I32:
    case GLINT_U32: return WASM_I32;
    case GLINT_I64:
    case GLINT_U64: return WASM_I64;
    case GLINT_F32: return WASM_F32;
    case GLINT_F64: return WASM_F64;
    default: return WASM_I32;
    }
}

static int is_buffer(glint_type t)
{
    return t == GLINT_STRING || t == GLINT_BYTES;
}

/* Does the declared glint signature travel as wasm type ft? */
static int sig_matches(const glint_function *fn, const wasm_functype *ft)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < fn->nparams; i++) {
        if (is_buffer(fn->params[i])) {
            if (k + 2 > ft->nparams || ft->params[k] != WASM_I32 || ft->params[k + 1] != WASM_I32)
                return 0;
            k += 2;
        } else {
            if (k >= ft->nparams || ft->params[k] != scalar_vt(fn->params[i]))
                return 0;
            k++;
        }
    }
    if (k != ft->nparams)
        return 0;
    if (fn->ret == GLINT_VOID)
        return ft->nresults == 0;
    if (ft->nresults != 1)
        return 0;
    return ft->results[0] == (is_buffer(fn->ret) ? WASM_I64 : scalar_vt(fn->ret));
}

/* The default signature for ft, or a reason why there is none. */
static const char *default_sig(const wasm_functype *ft, glint_function *fn)
{
    static const char *const bad_param = "a parameter of a reference or vector type";
    if (ft->nparams > GLINT_MAX_PARAMS)
        return "more than 16 parameters";
    if (ft->nresults > 1)
        return "multi-value results (more than one result)";
    memset(fn, 0, sizeof *fn);
    for (uint32_t i = 0; i < ft->nparams; i++) {
        switch (ft->params[i]) {
        case WASM_I32: fn->params[i] = GLINT_I32; break;
        case WASM_I64: fn->params[i] = GLINT_I64; break;
        case WASM_F32: fn->params[i] = GLINT_F32; break;
        case WASM_F64: fn->params[i] = GLINT_F64; break;
        default: return bad_param;
        }
    }
    fn->nparams = ft->nparams;
    fn->ret = GLINT_VOID;
    if (ft->nresults == 1) {
        switch (ft->results[0]) {
        case WASM_I32: fn->ret = GLINT_I32; break;
        case WASM_I64: fn->ret = GLINT_I64; break;
        case WASM_F32: fn->ret = GLINT_F32; break;
        case WASM_F64: fn->ret = GLINT_F64; break;
        default: return "a result of a reference or vector type";
        }
    }
    return NULL;
}

static int type_is(const wasm_functype *ft, uint32_t np, const wasm_valtype *p, uint32_t nr, const wasm_valtype *r)
{
    if (ft->nparams != np || ft->nresults != nr)
        return 0;
    for (uint32_t i = 0; i < np; i++)
        if (ft->params[i] != p[i])
            return 0;
    for (uint32_t i = 0; i < nr; i++)
        if (ft->results[i] != r[i])
            return 0;
    return 1;
}

static glint_status find_special(struct builder *b)
{
    static const wasm_valtype i32[] = {WASM_I32, WASM_I32};
    b->alloc_func = b->free_func = b->init_func = GW_NO_FUNC;
    size_t n = wasm_module_export_count(b->m);
    for (size_t i = 0; i < n; i++) {
        if (wasm_module_export_kind(b->m, i) != WASM_EXTERN_FUNC)
            continue;
        size_t len;
        const char *name = wasm_module_export_name(b->m, i, &len);
        uint32_t idx = wasm_module_export_index(b->m, i);
        const wasm_functype *ft = wasm_module_func_type(b->m, idx);
        char t[200];
        wasm_functype_format(ft, t, sizeof t);
        if (len == 11 && !memcmp(name, "glint_alloc", 11)) {
            if (!type_is(ft, 1, i32, 1, i32))
                return glint_fail(b->err, GLINT_E_BAD_IMAGE,
                                  "export glint_alloc has type %s; the string/bytes allocator must be "
                                  "(i32) -> i32 (docs/wasm.md)", t);
            b->alloc_func = idx;
        } else if (len == 10 && !memcmp(name, "glint_free", 10)) {
            if (!type_is(ft, 2, i32, 0, NULL))
                return glint_fail(b->err, GLINT_E_BAD_IMAGE,
                                  "export glint_free has type %s; it must be (i32, i32) -> () "
                                  "(docs/wasm.md)", t);
            b->free_func = idx;
        } else if (len == 11 && !memcmp(name, "_initialize", 11) && type_is(ft, 0, NULL, 0, NULL)) {
            b->init_func = idx;
        }
    }
    return GLINT_OK;
}

static int has_memory_export(const wasm_module *m)
{
    size_t n = wasm_module_export_count(m);
    for (size_t i = 0; i < n; i++)
        if (wasm_module_export_kind(m, i) == WASM_EXTERN_MEMORY)
            return 1;
    return 0;
}

static glint_status collect_exports(struct builder *b)
{
    glint_status s;
    size_t n = wasm_module_export_count(b->m);
    for (size_t i = 0; i < n; i++) {
        if (wasm_module_export_kind(b->m, i) != WASM_EXTERN_FUNC)
            continue;
        size_t len;
        const char *name = wasm_module_export_name(b->m, i, &len);
        uint32_t idx = wasm_module_export_index(b->m, i);
        const wasm_functype *ft = wasm_module_func_type(b->m, idx);
        char t[200];
        wasm_functype_format(ft, t, sizeof t);
        int nl = len > 80 ? 80 : (int)len;
        if (!valid_glint_name(name, len)) {
            if ((s = add_skipped(b, "'%.*s' %s: the name is not a glint function name "
                                    "([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)", nl, name, t)))
                return s;
            continue;
        }
        if (idx == b->alloc_func || idx == b->free_func || idx == b->init_func) {
            const char *why = idx == b->init_func ? "run by glint at initialization"
                                                  : "glint's string/bytes allocator";
            if ((s = add_skipped(b, "%.*s %s: %s", nl, name, t, why)))
                return s;
            continue;
        }
        struct sig *sg = NULL;
        for (size_t k = 0; k < b->nsigs; k++)
            if (strlen(b->sigs[k].name) == len && !memcmp(b->sigs[k].name, name, len))
                sg = &b->sigs[k];
        glint_function fn;
        if (sg) {
            sg->used = 1;
            fn = sg->fn;
            if (!sig_matches(&fn, ft)) {
                char want[300];
                fn.name = sg->name;
                glint_function_format(&fn, want, sizeof want);
                return glint_fail(b->err, GLINT_E_BAD_IMAGE,
                                  "custom section " SIG_SECTION " declares %s, but export %s has wasm type %s "
                                  "(a string or bytes parameter is two i32: ptr, len; a string or bytes "
                                  "result is one i64: ptr << 32 | len; see docs/wasm.md)",
                                  want, sg->name, t);
            }
            int params_buf = 0;
            for (uint32_t k = 0; k < fn.nparams; k++)
                params_buf |= is_buffer(fn.params[k]);
            if (params_buf && !b->needs_alloc) {
                b->needs_alloc = 1;
                snprintf(b->need_why, sizeof b->need_why, "%s", sg->name);
            }
            if ((params_buf || is_buffer(fn.ret)) && !b->needs_memory) {
                b->needs_memory = 1;
                if (!b->need_why[0])
                    snprintf(b->need_why, sizeof b->need_why, "%s", sg->name);
            }
        } else {
            const char *why = default_sig(ft, &fn);
            if (why) {
                if ((s = add_skipped(b, "%.*s %s: not callable: %s", nl, name, t, why)))
                    return s;
                continue;
            }
        }
        if (b->nfns >= GLINT_IMAGE_MAX_FUNCS)
            return glint_fail(b->err, GLINT_E_BAD_IMAGE, "the module exports more than %u callable functions",
                              GLINT_IMAGE_MAX_FUNCS);
        memcpy(b->names[b->nfns], name, len);
        b->names[b->nfns][len] = 0;
        fn.name = b->names[b->nfns];
        for (uint32_t k = fn.nparams; k < GLINT_MAX_PARAMS; k++)
            fn.params[k] = GLINT_VOID;
        b->funcs[b->nfns] = fn;
        struct gw_fn *g = &b->gw[b->nfns];
        memset(g, 0, sizeof *g);
        g->wasm_func = idx;
        g->ret = (uint8_t)fn.ret;
        g->nparams = (uint8_t)fn.nparams;
        for (uint32_t k = 0; k < fn.nparams; k++)
            g->params[k] = (uint8_t)fn.params[k];
        b->nfns++;
    }
    for (size_t k = 0; k < b->nsigs; k++)
        if (!b->sigs[k].used)
            return glint_fail(b->err, GLINT_E_BAD_IMAGE,
                              "custom section " SIG_SECTION " declares %s, which the module does not export as "
                              "a function", b->sigs[k].name);
    if (b->needs_memory && !has_memory_export(b->m))
        return glint_fail(b->err, GLINT_E_BAD_IMAGE,
                          "%s takes or returns a string or bytes, but the module exports no memory "
                          "(docs/wasm.md: export the memory and glint_alloc)", b->need_why);
    if (b->needs_alloc && b->alloc_func == GW_NO_FUNC)
        return glint_fail(b->err, GLINT_E_BAD_IMAGE,
                          "%s takes a string or bytes, but the module exports no glint_alloc(i32) -> i32 "
                          "to receive it (docs/wasm.md)", b->needs_alloc ? b->need_why : "");
    return GLINT_OK;
}

/* ---- the image ------------------------------------------------------------------ */

static glint_status build_image(struct glint_image *img, struct builder *b)
{
    size_t rt_len = (size_t)(glint_wasm_runtime_end - glint_wasm_runtime_start);
    size_t blob_off = (rt_len + 15u) & ~(size_t)15u;
    size_t head = sizeof(struct gw_blob) + b->nfns * sizeof(struct gw_fn);
    size_t mod_off = (head + 15u) & ~(size_t)15u;
    size_t blob_len = mod_off + b->len;
    uint8_t *data = calloc(1, blob_off + blob_len);
    if (!data)
        return glint_fail(b->err, GLINT_E_NOMEM, "out of memory building a %zu-byte wasm image",
                          blob_off + blob_len);
    memcpy(data, glint_wasm_runtime_start, rt_len);
    struct gw_blob *hdr = (struct gw_blob *)(void *)(data + blob_off);
    hdr->magic = GW_BLOB_MAGIC;
    hdr->version = GW_BLOB_VERSION;
    hdr->nfns = (uint32_t)b->nfns;
    hdr->module_off = mod_off;
    hdr->module_len = b->len;
    hdr->alloc_func = b->alloc_func;
    hdr->free_func = b->free_func;
    hdr->init_func = b->init_func;
    memcpy(hdr->fns, b->gw, b->nfns * sizeof(struct gw_fn));
    memcpy(data + blob_off + mod_off, b->bytes, b->len);

    /* The runtime ELF first, as any guest. */
    free(img->data);
    img->data = data;
    img->size = rt_len;
    glint_error e;
    glint_status s = glint_elf_parse(img, &e);
    if (s)
        return glint_fail(b->err, s, "the embedded wasm runtime is not a valid guest: %s", e.message);
    long call = -1;
    for (size_t i = 0; i < img->nfuncs; i++)
        if (!strcmp(img->funcs[i].name, "WasmCall"))
            call = (long)i;
    if (call < 0 || img->nsegs >= GLINT_IMAGE_MAX_SEGS)
        return glint_fail(b->err, GLINT_E_BAD_IMAGE, "the embedded wasm runtime has no WasmCall function");
    uint64_t entry = img->fn_entries[call];

    /* Then the module's functions, all entering the runtime's WasmCall. */
    glint_function *funcs = calloc(b->nfns + 1, sizeof *funcs);
    uint64_t *entries = calloc(b->nfns + 1, sizeof *entries);
    char(*names)[GLINT_MAX_NAME + 1] = calloc(b->nfns + 1, sizeof *names);
    if (!funcs || !entries || !names) {
        free(funcs), free(entries), free(names);
        return glint_fail(b->err, GLINT_E_NOMEM, "out of memory for a wasm image's function table");
    }
    for (size_t i = 0; i < b->nfns; i++) {
        funcs[i] = b->funcs[i];
        memcpy(names[i], b->names[i], sizeof names[i]);
        funcs[i].name = names[i];
        entries[i] = entry;
    }
    free(img->funcs), free(img->fn_entries), free(img->names);
    img->funcs = funcs, img->fn_entries = entries, img->names = names, img->nfuncs = b->nfns;

    /* The descriptor and module, read-only, right after the runtime. */
    struct glint_segment *seg = &img->segs[img->nsegs++];
    seg->vaddr = img->image_end;
    seg->memsz = blob_len;
    seg->filesz = blob_len;
    seg->offset = blob_off;
    seg->flags = 4u; /* PF_R */
    img->image_end = (seg->vaddr + blob_len + 4095u) & ~(uint64_t)4095u;
    img->size = blob_off + blob_len;
    img->is_wasm = 1;
    img->skipped = b->skipped;
    img->nskipped = b->nskipped;
    b->skipped = NULL;
    b->nskipped = 0;
    return GLINT_OK;
}

int glint_wasm_is_module(const uint8_t *data, size_t len)
{
    return len >= 4 && !memcmp(data, "\0asm", 4);
}

glint_status glint_wasm_image_parse(struct glint_image *img, glint_error *err)
{
    wasm_error we;
    wasm_module *m = wasm_module_new(img->data, img->size, NULL, &we);
    if (!m) {
        if (we.kind == WASM_ERR_NOMEM)
            return glint_fail(err, GLINT_E_NOMEM, "WebAssembly module: %s", we.msg);
        return glint_fail(err, GLINT_E_BAD_IMAGE, "%s WebAssembly module: %s",
                          we.kind == WASM_ERR_MALFORMED ? "malformed" : we.kind == WASM_ERR_INVALID ? "invalid"
                                                                                                    : "refused",
                          we.msg);
    }
    glint_status s = GLINT_OK;
    struct builder *b = calloc(1, sizeof *b);
    if (!b) {
        wasm_module_free(m);
        return glint_fail(err, GLINT_E_NOMEM, "out of memory reading a WebAssembly module");
    }
    b->m = m;
    b->bytes = img->data;
    b->len = img->size;
    b->err = err;
    for (size_t i = 0; i < wasm_module_import_count(m) && !s; i++) {
        size_t ml, nl;
        const char *mn = wasm_module_import_module(m, i, &ml), *nn = wasm_module_import_name(m, i, &nl);
        if (wasm_module_import_kind(m, i) == WASM_EXTERN_FUNC && ml == 22 &&
            !memcmp(mn, "wasi_snapshot_preview1", 22))
            continue; /* the runtime provides WASI preview 1 (docs/wasm.md) */
        if (wasm_module_import_kind(m, i) == WASM_EXTERN_FUNC && ml == 5 && !memcmp(mn, "glint", 5))
            continue; /* a host function: matched against the registered ones at init */
        static const char *const kinds[] = {"function", "table", "memory", "global"};
        unsigned k = (unsigned)wasm_module_import_kind(m, i);
        s = glint_fail(err, GLINT_E_BAD_IMAGE,
                       "the module imports the %s \"%.*s\".\"%.*s\"; glint provides only the functions of "
                       "wasi_snapshot_preview1 and the host's functions (module \"glint\") to WebAssembly "
                       "modules (docs/wasm.md)",
                       k < 4 ? kinds[k] : "item", (int)(ml > 60 ? 60 : ml), mn, (int)(nl > 60 ? 60 : nl), nn);
    }
    /* The module's bytes must outlive the builder: copy them before the
     * image's buffer is replaced by the runtime's. */
    uint8_t *copy = NULL;
    if (!s && !(copy = malloc(img->size ? img->size : 1)))
        s = glint_fail(err, GLINT_E_NOMEM, "out of memory copying a WebAssembly module");
    if (!s) {
        memcpy(copy, img->data, img->size);
        b->bytes = copy;
    }
    if (!s)
        s = find_special(b);
    if (!s)
        s = parse_sigs(b);
    if (!s)
        s = collect_exports(b);
    if (!s)
        s = build_image(img, b);
    for (size_t i = 0; i < b->nskipped; i++)
        free(b->skipped[i]);
    free(b->skipped);
    free(b->sigs);
    free(b);
    free(copy);
    wasm_module_free(m);
    return s;
}
