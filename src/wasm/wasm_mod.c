/*
 * wasm_mod.c - WebAssembly binary decoder, validator and compiler to the
 * interpreter's internal form (see wasm_int.h).
 *
 * One pass over the bytes: sections are decoded in order, every count and
 * length is checked against the bytes left before anything is allocated,
 * and every function body is validated and compiled in the same walk (the
 * validator's operand stack heights give the slot of every operand).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_int.h"

#define TRY(x)                                                                                               \
    do {                                                                                                     \
        if (!(x))                                                                                            \
            return false;                                                                                    \
    } while (0)

typedef struct rd {
    const uint8_t *p, *end;
} rd;

typedef struct dctx {
    wasm_module *m;
    wasm_error *err;
    const uint8_t *base;
    const char *sec;
    int64_t func; /* function being compiled, -1 if none */
    const uint8_t *mod_end, *sec_end;
} dctx;

/* ---- errors -------------------------------------------------------------------- */

static bool derr(dctx *d, wasm_error_kind kind, const uint8_t *at, const char *fmt, va_list ap) {
    char what[200];
    wasm__vfmt(what, sizeof what, fmt, ap);
    uint32_t off = (uint32_t)(at - d->base);
    if (d->func >= 0)
        wasm__set_err(d->err, kind, "%s section, function %u, offset 0x%x: %s", d->sec, (uint32_t)d->func, off,
                      what);
    else
        wasm__set_err(d->err, kind, "%s section, offset 0x%x: %s", d->sec, off, what);
    d->err->offset = off;
    return false;
}

__attribute__((format(printf, 3, 4))) static bool malformed(dctx *d, const uint8_t *at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    derr(d, WASM_ERR_MALFORMED, at, fmt, ap);
    va_end(ap);
    return false;
}

__attribute__((format(printf, 3, 4))) static bool invalid(dctx *d, const uint8_t *at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    derr(d, WASM_ERR_INVALID, at, fmt, ap);
    va_end(ap);
    return false;
}

__attribute__((format(printf, 3, 4))) static bool limit(dctx *d, const uint8_t *at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    derr(d, WASM_ERR_LIMIT, at, fmt, ap);
    va_end(ap);
    return false;
}

static bool nomem(dctx *d) {
    wasm__set_err(d->err, WASM_ERR_NOMEM, "%s section: out of memory", d->sec);
    return false;
}

/* ---- primitive reads ------------------------------------------------------------- */

static bool rd_byte(dctx *d, rd *r, uint8_t *out) {
    *out = 0;
    if (r->p >= r->end)
        return malformed(d, r->p, "unexpected end of section or function");
    *out = *r->p++;
    return true;
}

static bool rd_u32(dctx *d, rd *r, uint32_t *out) {
    *out = 0;
    uint32_t v = 0;
    for (unsigned i = 0;; i++) {
        if (r->p >= r->end) {
            /* diagnose an over-long encoding that runs past the section as the reference does */
            const uint8_t *q = r->p;
            for (unsigned k = i; k < 5 && q < d->mod_end; k++, q++)
                if (k == 4 && (*q & 0x80))
                    return malformed(d, q, "integer representation too long");
                else if (!(*q & 0x80))
                    break;
            return malformed(d, r->p, "unexpected end of section or function");
        }
        uint8_t b = *r->p++;
        if (i == 4) {
            if (b & 0x80)
                return malformed(d, r->p - 1, "integer representation too long");
            if (b & 0x70)
                return malformed(d, r->p - 1, "integer too large");
        }
        v |= (uint32_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
    }
    *out = v;
    return true;
}

/* Signed LEB128 of at most `bits` bits (32, 33 for block types, or 64). The last
 * byte allowed may not continue, and its bits from the value's sign bit upward
 * must all equal that sign bit. */
static bool rd_sleb(dctx *d, rd *r, unsigned bits, int64_t *out) {
    *out = 0;
    const unsigned last = (bits - 1) / 7;
    const uint8_t top = (uint8_t)((0x7fu << (bits - 7 * last - 1)) & 0x7f);
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    for (unsigned i = 0;; i++) {
        if (r->p >= r->end)
            return malformed(d, r->p, "unexpected end of section or function");
        b = *r->p++;
        if (i == last) {
            if (b & 0x80)
                return malformed(d, r->p - 1, "integer representation too long");
            if ((b & top) != 0 && (b & top) != top)
                return malformed(d, r->p - 1, "integer too large");
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    *out = (int64_t)v;
    return true;
}

static bool rd_s32(dctx *d, rd *r, int32_t *out) {
    int64_t v;
    bool ok = rd_sleb(d, r, 32, &v);
    *out = (int32_t)v;
    return ok;
}

static bool rd_s64(dctx *d, rd *r, int64_t *out) {
    return rd_sleb(d, r, 64, out);
}

static bool rd_s33(dctx *d, rd *r, int64_t *out) {
    return rd_sleb(d, r, 33, out);
}

static bool rd_fixed(dctx *d, rd *r, unsigned n, uint64_t *out) {
    *out = 0;
    if ((size_t)(r->end - r->p) < n)
        return malformed(d, r->p, "unexpected end of section or function");
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    *out = v;
    return true;
}

static bool utf8_ok(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        unsigned len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else
            return false;
        if (n - i < len)
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static bool rd_name(dctx *d, rd *r, char **out, uint32_t *outlen) {
    uint32_t n;
    TRY(rd_u32(d, r, &n));
    if ((size_t)(r->end - r->p) < n)
        return malformed(d, r->p, "length out of bounds: unexpected end");
    if (!utf8_ok(r->p, n))
        return malformed(d, r->p, "malformed UTF-8 encoding");
    char *s = malloc((size_t)n + 1);
    if (!s)
        return nomem(d);
    memcpy(s, r->p, n);
    s[n] = 0;
    r->p += n;
    *out = s;
    if (outlen)
        *outlen = n;
    return true;
}

static bool is_num(uint8_t t) {
    return t == WASM_I32 || t == WASM_I64 || t == WASM_F32 || t == WASM_F64;
}
static bool is_ref(uint8_t t) {
    return t == WASM_FUNCREF || t == WASM_EXTERNREF;
}

static bool rd_valtype(dctx *d, rd *r, uint8_t *out) {
    const uint8_t *at = r->p;
    TRY(rd_byte(d, r, out));
    if (is_num(*out) || is_ref(*out))
        return true;
    if (*out == WASM_V128)
        return malformed(d, at, "malformed value type: v128 (SIMD is not supported)");
    return malformed(d, at, "malformed value type 0x%x", *out);
}

static bool rd_reftype(dctx *d, rd *r, uint8_t *out) {
    const uint8_t *at = r->p;
    TRY(rd_byte(d, r, out));
    if (is_ref(*out))
        return true;
    return malformed(d, at, "malformed reference type 0x%x", *out);
}

static bool rd_limits(dctx *d, rd *r, wlimits *l, bool mem) {
    const uint8_t *at = r->p;
    uint8_t flag;
    TRY(rd_byte(d, r, &flag));
    if (flag & 0x80)
        return malformed(d, at, "integer representation too long: malformed limits flags");
    if (flag > 1) {
        if (mem && flag < 4)
            return malformed(d, at, "integer too large: shared memory is not supported");
        return malformed(d, at, "integer too large: malformed limits flags");
    }
    TRY(rd_u32(d, r, &l->min));
    l->has_max = flag == 1;
    l->max = 0;
    if (l->has_max)
        TRY(rd_u32(d, r, &l->max));
    if (mem) {
        if (l->min > 65536 || (l->has_max && l->max > 65536))
            return invalid(d, at, "memory size must be at most 65536 pages (4GiB)");
    }
    if (l->has_max && l->min > l->max)
        return invalid(d, at, "size minimum must not be greater than maximum");
    return true;
}

static bool rd_count(dctx *d, rd *r, uint32_t *n, size_t min_item_bytes) {
    TRY(rd_u32(d, r, n));
    if ((uint64_t)*n * min_item_bytes > (uint64_t)(r->end - r->p))
        return malformed(d, r->p, "length out of bounds: unexpected end of section or function (count %u)", *n);
    return true;
}

/* ---- constant expressions ------------------------------------------------------------ */

static bool rd_const_expr(dctx *d, rd *r, uint8_t want, wexpr *e, uint32_t nglobals_visible) {
    wasm_module *m = d->m;
    const uint8_t *start = r->p;
    e->kind = WEXPR_NONE;
    unsigned count = 0;
    for (;;) {
        const uint8_t *at = r->p;
        uint8_t op;
        TRY(rd_byte(d, r, &op));
        if (op == 0x0b)
            break;
        count++;
        switch (op) {
        case 0x41: {
            int32_t v;
            TRY(rd_s32(d, r, &v));
            e->kind = WEXPR_CONST;
            e->type = WASM_I32;
            e->val = (uint32_t)v;
            break;
        }
        case 0x42: {
            int64_t v;
            TRY(rd_s64(d, r, &v));
            e->kind = WEXPR_CONST;
            e->type = WASM_I64;
            e->val = (uint64_t)v;
            break;
        }
        case 0x43:
            TRY(rd_fixed(d, r, 4, &e->val));
            e->kind = WEXPR_CONST;
            e->type = WASM_F32;
            break;
        case 0x44:
            TRY(rd_fixed(d, r, 8, &e->val));
            e->kind = WEXPR_CONST;
            e->type = WASM_F64;
            break;
        case 0x23: {
            uint32_t g;
            TRY(rd_u32(d, r, &g));
            if (g >= nglobals_visible || g >= m->nglobal_imports)
                return invalid(d, at, "unknown global %u", g);
            if (m->globals[g].mut)
                return invalid(d, at, "constant expression required: global %u is mutable", g);
            e->kind = WEXPR_GLOBAL;
            e->type = m->globals[g].type;
            e->idx = g;
            break;
        }
        case 0xd0: {
            uint8_t t;
            TRY(rd_reftype(d, r, &t));
            e->kind = WEXPR_REFNULL;
            e->type = t;
            e->val = 0;
            break;
        }
        case 0xd2: {
            uint32_t f;
            TRY(rd_u32(d, r, &f));
            if (f >= m->nfuncs)
                return invalid(d, at, "unknown function %u", f);
            m->declared_refs[f] = 1;
            e->kind = WEXPR_REFFUNC;
            e->type = WASM_FUNCREF;
            e->idx = f;
            break;
        }
        default:
            if ((op >= 0x12 && op <= 0x19) || op == 0x1d || op == 0x1e || op == 0x1f || op == 0x27 ||
                (op >= 0xc5 && op <= 0xcf) || (op >= 0xd3 && op != 0xfc))
                return malformed(d, at, "illegal opcode 0x%x", op);
            return invalid(d, at, "constant expression required (opcode 0x%x)", op);
        }
    }
    if (count != 1 || e->type != want)
        return invalid(d, start, "type mismatch in constant expression");
    return true;
}

/* ---- growable buffers ------------------------------------------------------------------ */

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

/* ---- function body validation + compilation ------------------------------------------------ */

enum { K_BLOCK, K_LOOP, K_IF, K_ELSE, K_FUNC };

typedef struct ctrl {
    uint8_t kind;
    bool unreachable, dead;
    uint32_t height;
    uint32_t nparams, nresults;
    const wasm_valtype *params, *results;
    uint32_t loop_pos;
    int32_t fix_head;
    int32_t else_cell, else_ins; /* if: the BRUNLESS to patch */
} ctrl;

typedef struct fixup {
    uint32_t cell, ins;
    int32_t next;
} fixup;

enum { H_OTHER, H_MOV, H_DST, H_CONST };
typedef struct hist {
    uint32_t pos;
    uint8_t kind;
    uint32_t op;
    uint64_t dst, src;
} hist;

typedef struct cctx {
    dctx *d;
    const void *const *h;   /* handler table */
    uint32_t nlocals;
    uint8_t *ltypes;
    uint8_t *vals;
    size_t nvals, capvals, maxvals;
    ctrl *ctl;
    size_t nctl, capctl;
    fixup *fix;
    size_t nfix, capfix;
    wcell *code;
    size_t ncode, capcode;
    wmap *map;
    size_t nmap, capmap;
    hist hs[2];
    uint32_t barrier;
    const uint8_t *ins_at;
} cctx;

static const wasm_valtype VT_ONE[256] = {
    [WASM_I32] = WASM_I32, [WASM_I64] = WASM_I64, [WASM_F32] = WASM_F32, [WASM_F64] = WASM_F64,
    [WASM_FUNCREF] = WASM_FUNCREF, [WASM_EXTERNREF] = WASM_EXTERNREF,
};

const char *wasm_valtype_name(wasm_valtype t) {
    switch (t) {
    case WASM_I32: return "i32";
    case WASM_I64: return "i64";
    case WASM_F32: return "f32";
    case WASM_F64: return "f64";
    case WASM_V128: return "v128";
    case WASM_FUNCREF: return "funcref";
    case WASM_EXTERNREF: return "externref";
    }
    return "?";
}

void wasm_functype_format(const wasm_functype *t, char *buf, size_t size) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, k < size ? size - k : 0, "(");
    for (uint32_t i = 0; i < t->nparams; i++)
        k += (size_t)snprintf(buf + k, k < size ? size - k : 0, "%s%s", i ? ", " : "",
                              wasm_valtype_name(t->params[i]));
    k += (size_t)snprintf(buf + k, k < size ? size - k : 0, ")");
    if (t->nresults == 1)
        k += (size_t)snprintf(buf + k, k < size ? size - k : 0, " -> %s", wasm_valtype_name(t->results[0]));
    else if (t->nresults > 1) {
        k += (size_t)snprintf(buf + k, k < size ? size - k : 0, " -> (");
        for (uint32_t i = 0; i < t->nresults; i++)
            k += (size_t)snprintf(buf + k, k < size ? size - k : 0, "%s%s", i ? ", " : "",
                                  wasm_valtype_name(t->results[i]));
        (void)snprintf(buf + k, k < size ? size - k : 0, ")");
    }
}

static const char *tname(uint8_t t) {
    return t == WT_ANY ? "any" : wasm_valtype_name((wasm_valtype)t);
}

#define CERR_INVALID(c, ...) invalid((c)->d, (c)->ins_at, __VA_ARGS__)

static inline ctrl *top(cctx *c) {
    return &c->ctl[c->nctl - 1];
}
static inline bool live(cctx *c) {
    ctrl *t = top(c);
    return !t->unreachable && !t->dead;
}
static inline uint64_t S(cctx *c, size_t h) {
    return (uint64_t)c->nlocals + h;
}

static bool push(cctx *c, uint8_t t) {
    if (!grow((void **)&c->vals, &c->capvals, c->nvals + 1, 1))
        return nomem(c->d);
    c->vals[c->nvals++] = t;
    if (c->nvals > c->maxvals)
        c->maxvals = c->nvals;
    return true;
}

static bool pop_any(cctx *c, uint8_t *got) {
    *got = WT_ANY;
    ctrl *t = top(c);
    if (c->nvals == t->height) {
        if (t->unreachable) {
            *got = WT_ANY;
            return true;
        }
        return CERR_INVALID(c, "type mismatch: operand stack is empty");
    }
    *got = c->vals[--c->nvals];
    return true;
}

static bool pop(cctx *c, uint8_t want) {
    uint8_t got;
    TRY(pop_any(c, &got));
    if (got != want && got != WT_ANY && want != WT_ANY)
        return CERR_INVALID(c, "type mismatch: expected %s, got %s", tname(want), tname(got));
    return true;
}

static bool pop_vals(cctx *c, uint32_t n, const wasm_valtype *ts) {
    for (uint32_t i = n; i-- > 0;)
        TRY(pop(c, (uint8_t)ts[i]));
    return true;
}
static bool push_vals(cctx *c, uint32_t n, const wasm_valtype *ts) {
    for (uint32_t i = 0; i < n; i++)
        TRY(push(c, (uint8_t)ts[i]));
    return true;
}

/* emission */
static bool emitc(cctx *c, wcell v) {
    if (!grow((void **)&c->code, &c->capcode, c->ncode + 1, sizeof(wcell)))
        return nomem(c->d);
    c->code[c->ncode++] = v;
    return true;
}

static bool emit_op(cctx *c, int op, uint8_t hk) {
    if (!grow((void **)&c->map, &c->capmap, c->nmap + 1, sizeof(wmap)))
        return nomem(c->d);
    c->map[c->nmap].pos = (uint32_t)c->ncode;
    c->map[c->nmap].off = (uint32_t)(c->ins_at - c->d->base);
    c->nmap++;
    c->hs[1] = c->hs[0];
    c->hs[0].pos = (uint32_t)c->ncode;
    c->hs[0].kind = hk;
    c->hs[0].op = (uint32_t)op;
    return emitc(c, (wcell)(uintptr_t)c->h[op]);
}

static void truncate_last(cctx *c) {
    c->ncode = c->hs[0].pos;
    while (c->nmap && c->map[c->nmap - 1].pos >= c->ncode)
        c->nmap--;
    c->hs[0] = c->hs[1];
    c->hs[1].kind = H_OTHER;
    c->hs[1].pos = 0;
}

static bool last_is(cctx *c, uint8_t kind, uint64_t dst) {
    hist *h = &c->hs[0];
    return h->kind == kind && h->pos >= c->barrier && h->pos < c->ncode && h->dst == dst;
}

/* If the instruction just emitted only copied a local (or constant) into
 * stack slot `s`, drop it and return the local's slot. */
static uint64_t fold(cctx *c, uint64_t s) {
    if (last_is(c, H_MOV, s)) {
        uint64_t src = c->hs[0].src;
        truncate_last(c);
        return src;
    }
    return s;
}

static void set_dst(cctx *c, uint64_t dst) {
    c->hs[0].dst = dst;
}

static void bind_label(cctx *c) {
    c->barrier = (uint32_t)c->ncode;
    c->hs[0].kind = H_OTHER;
    c->hs[1].kind = H_OTHER;
}

static bool add_fixup(cctx *c, ctrl *t, uint32_t cell, uint32_t ins) {
    if (!grow((void **)&c->fix, &c->capfix, c->nfix + 1, sizeof(fixup)))
        return nomem(c->d);
    c->fix[c->nfix].cell = cell;
    c->fix[c->nfix].ins = ins;
    c->fix[c->nfix].next = t->fix_head;
    t->fix_head = (int32_t)c->nfix++;
    return true;
}

static bool push_ctrl(cctx *c, uint8_t kind, uint32_t np, const wasm_valtype *p, uint32_t nr,
                      const wasm_valtype *r) {
    bool dead = c->nctl ? !live(c) : false;
    if (!grow((void **)&c->ctl, &c->capctl, c->nctl + 1, sizeof(ctrl)))
        return nomem(c->d);
    ctrl *t = &c->ctl[c->nctl++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->dead = dead;
    t->nparams = np;
    t->params = p;
    t->nresults = nr;
    t->results = r;
    t->height = (uint32_t)c->nvals;
    t->fix_head = -1;
    t->else_cell = -1;
    return push_vals(c, np, p);
}

static inline uint32_t label_arity(const ctrl *t) {
    return t->kind == K_LOOP ? t->nparams : t->nresults;
}
static inline const wasm_valtype *label_types(const ctrl *t) {
    return t->kind == K_LOOP ? t->params : t->results;
}

static void set_unreachable(cctx *c) {
    ctrl *t = top(c);
    c->nvals = t->height;
    t->unreachable = true;
}

/* Emits a branch to control frame `t` with the values on top of the stack
 * (already type-checked, still on the stack). cond: slot or UINT64_MAX. */
static bool emit_branch(cctx *c, ctrl *t, uint64_t cond) {
    uint32_t n = label_arity(t);
    uint64_t src = S(c, c->nvals - n);
    if (t->kind == K_FUNC) {
        /* branch to the function's label: return */
        uint32_t skip_cell = 0, skip_ins = 0;
        if (cond != UINT64_MAX) {
            skip_ins = (uint32_t)c->ncode;
            TRY(emit_op(c, WOP_BRUNLESS, H_OTHER));
            TRY(emitc(c, cond));
            skip_cell = (uint32_t)c->ncode;
            TRY(emitc(c, 0));
        }
        TRY(emit_op(c, WOP_RETURN, H_OTHER));
        TRY(emitc(c, src));
        TRY(emitc(c, n));
        if (cond != UINT64_MAX) {
            c->code[skip_cell] = (wcell)(c->ncode - skip_ins);
            bind_label(c);
        }
        return true;
    }
    uint64_t dst = S(c, t->height);
    bool copy = n && src != dst;
    uint32_t ins = (uint32_t)c->ncode;
    if (cond == UINT64_MAX) {
        TRY(emit_op(c, copy ? WOP_JMPC : WOP_JMP, H_OTHER));
    } else {
        TRY(emit_op(c, copy ? WOP_BRIFC : WOP_BRIF, H_OTHER));
        TRY(emitc(c, cond));
    }
    if (copy) {
        TRY(emitc(c, n));
        TRY(emitc(c, src));
        TRY(emitc(c, dst));
    }
    uint32_t cell = (uint32_t)c->ncode;
    if (t->kind == K_LOOP) {
        TRY(emitc(c, (wcell)(int64_t)((int64_t)t->loop_pos - (int64_t)ins)));
    } else {
        TRY(emitc(c, 0));
        TRY(add_fixup(c, t, cell, ins));
    }
    return true;
}

static bool rd_blocktype(cctx *c, rd *r, uint32_t *np, const wasm_valtype **p, uint32_t *nr,
                         const wasm_valtype **res) {
    wasm_module *m = c->d->m;
    const uint8_t *at = r->p;
    if (r->p < r->end && *r->p == 0x40) {
        r->p++;
        *np = *nr = 0;
        *p = *res = NULL;
        return true;
    }
    if (r->p < r->end && (is_num(*r->p) || is_ref(*r->p))) {
        uint8_t t = *r->p++;
        *np = 0;
        *p = NULL;
        *nr = 1;
        *res = &VT_ONE[t];
        return true;
    }
    int64_t x;
    TRY(rd_s33(c->d, r, &x));
    if (x < 0) {
        if (x == -5)
            return malformed(c->d, at, "malformed value type: v128 (SIMD is not supported)");
        return malformed(c->d, at, "malformed block type");
    }
    if ((uint64_t)x >= m->ntypes)
        return invalid(c->d, at, "unknown type %u", (uint32_t)x);
    const wasm_functype *ft = &m->types[x];
    *np = ft->nparams;
    *p = ft->params;
    *nr = ft->nresults;
    *res = ft->results;
    return true;
}

static bool unop(cctx *c, int op, uint8_t t, uint8_t rt) {
    TRY(pop(c, t));
    size_t h = c->nvals;
    TRY(push(c, rt));
    if (!live(c))
        return true;
    uint64_t a = fold(c, S(c, h));
    TRY(emit_op(c, op, H_DST));
    set_dst(c, S(c, h));
    TRY(emitc(c, S(c, h)));
    return emitc(c, a);
}

static int imm_variant(int op) {
    switch (op) {
    case WOP_I32_ADD: return WOP_I32_ADDI;
    case WOP_I32_SUB: return WOP_I32_SUBI;
    case WOP_I32_AND: return WOP_I32_ANDI;
    case WOP_I32_SHL: return WOP_I32_SHLI;
    case WOP_I32_SHR_U: return WOP_I32_SHRUI;
    case WOP_I32_SHR_S: return WOP_I32_SHRSI;
    case WOP_I64_ADD: return WOP_I64_ADDI;
    default: return -1;
    }
}

static bool binop(cctx *c, int op, uint8_t t, uint8_t rt) {
    TRY(pop(c, t));
    TRY(pop(c, t));
    size_t h = c->nvals;
    TRY(push(c, rt));
    if (!live(c))
        return true;
    uint64_t sa = S(c, h), sb = S(c, h + 1);
    int iv = imm_variant(op);
    if (iv >= 0 && last_is(c, H_CONST, sb)) {
        uint64_t imm = c->hs[0].src;
        truncate_last(c);
        uint64_t a = fold(c, sa);
        TRY(emit_op(c, iv, H_DST));
        set_dst(c, sa);
        TRY(emitc(c, sa));
        TRY(emitc(c, a));
        return emitc(c, imm);
    }
    uint64_t b = fold(c, sb);
    uint64_t a = b != sb ? fold(c, sa) : sa;
    TRY(emit_op(c, op, H_DST));
    set_dst(c, sa);
    TRY(emitc(c, sa));
    TRY(emitc(c, a));
    return emitc(c, b);
}

static bool memarg(cctx *c, rd *r, unsigned natural_log2, uint32_t *offset) {
    wasm_module *m = c->d->m;
    uint32_t align;
    TRY(rd_u32(c->d, r, &align));
    TRY(rd_u32(c->d, r, offset));
    if (m->nmems == 0)
        return CERR_INVALID(c, "unknown memory 0");
    if (align > natural_log2)
        return CERR_INVALID(c, "alignment must not be larger than natural");
    return true;
}

static bool load(cctx *c, rd *r, int op, uint8_t rt, unsigned lg) {
    uint32_t off;
    TRY(memarg(c, r, lg, &off));
    TRY(pop(c, WASM_I32));
    size_t h = c->nvals;
    TRY(push(c, rt));
    if (!live(c))
        return true;
    uint64_t a = fold(c, S(c, h));
    TRY(emit_op(c, op, H_DST));
    set_dst(c, S(c, h));
    TRY(emitc(c, S(c, h)));
    TRY(emitc(c, a));
    return emitc(c, off);
}

static bool store(cctx *c, rd *r, int op, uint8_t t, unsigned lg) {
    uint32_t off;
    TRY(memarg(c, r, lg, &off));
    TRY(pop(c, t));
    TRY(pop(c, WASM_I32));
    size_t h = c->nvals;
    if (!live(c))
        return true;
    uint64_t sv = S(c, h + 1);
    uint64_t v = fold(c, sv);
    uint64_t a = v != sv ? fold(c, S(c, h)) : S(c, h);
    TRY(emit_op(c, op, H_OTHER));
    TRY(emitc(c, a));
    TRY(emitc(c, v));
    return emitc(c, off);
}

static bool check_local(cctx *c, uint32_t x) {
    if (x >= c->nlocals)
        return CERR_INVALID(c, "unknown local %u", x);
    return true;
}

static int cmp_brif(int op, bool unless) {
    int base;
    switch (op) {
    case WOP_I32_EQZ: base = 0; break;
    case WOP_I32_LT_S: base = 1; break;
    case WOP_I32_LT_U: base = 2; break;
    case WOP_I32_NE: base = 3; break;
    case WOP_I32_EQ: base = 4; break;
    case WOP_I32_GE_S: base = 5; break;
    case WOP_I32_GE_U: base = 6; break;
    case WOP_I32_GT_S: base = 7; break;
    case WOP_I32_GT_U: base = 8; break;
    case WOP_I32_LE_S: base = 9; break;
    case WOP_I32_LE_U: base = 10; break;
    default: return -1;
    }
    return (unless ? WOP_I32_EQZ_BRUNLESS : WOP_I32_EQZ_BRIF) + base;
}

/* Emits a conditional jump (BRIF/BRUNLESS without copies) on `cond`, fusing
 * a preceding i32 comparison.  Returns the cell to patch through *cell. */
static bool emit_condjump(cctx *c, uint64_t cond, bool unless, uint32_t *cell, uint32_t *ins) {
    hist *hh = &c->hs[0];
    if (hh->kind == H_DST && hh->pos >= c->barrier && hh->dst == cond) {
        int fop = cmp_brif((int)hh->op, unless);
        if (fop >= 0) {
            uint32_t p = hh->pos;
            uint64_t a = c->code[p + 2];
            uint64_t b = hh->op == WOP_I32_EQZ ? 0 : c->code[p + 3];
            truncate_last(c);
            *ins = (uint32_t)c->ncode;
            TRY(emit_op(c, fop, H_OTHER));
            TRY(emitc(c, a));
            TRY(emitc(c, b));
            *cell = (uint32_t)c->ncode;
            return emitc(c, 0);
        }
    }
    *ins = (uint32_t)c->ncode;
    TRY(emit_op(c, unless ? WOP_BRUNLESS : WOP_BRIF, H_OTHER));
    TRY(emitc(c, cond));
    *cell = (uint32_t)c->ncode;
    return emitc(c, 0);
}

/* Whether a data section follows the current (code) section. */
static bool data_follows(dctx *d) {
    rd r = {d->sec_end, d->mod_end};
    wasm_error e;
    dctx t = *d;
    t.err = &e;
    while (r.p < r.end) {
        uint8_t id = *r.p++;
        uint32_t size;
        if (id == 11)
            return true;
        if (!rd_u32(&t, &r, &size) || size > (size_t)(r.end - r.p))
            return false;
        r.p += size;
    }
    return false;
}

static bool compile_body(cctx *c, rd *r, uint32_t fidx, wcode *out) {
    dctx *d = c->d;
    wasm_module *m = d->m;
    const wasm_functype *ft = &m->types[m->func_type[fidx]];
    TRY(push_ctrl(c, K_FUNC, 0, NULL, ft->nresults, ft->results));
    while (c->nctl > 0) {
        c->ins_at = r->p;
        uint8_t op;
        if (r->p >= r->end)
            return malformed(d, r->p, "section size mismatch: unexpected end of section or function (END opcode expected)");
        op = *r->p++;
        switch (op) {
        case 0x00: /* unreachable */
            if (live(c))
                TRY(emit_op(c, WOP_UNREACHABLE, H_OTHER));
            set_unreachable(c);
            break;
        case 0x01:
            break;
        case 0x02: /* block */
        case 0x03: /* loop */ {
            uint32_t np, nr;
            const wasm_valtype *p, *res;
            TRY(rd_blocktype(c, r, &np, &p, &nr, &res));
            TRY(pop_vals(c, np, p));
            TRY(push_ctrl(c, op == 0x02 ? K_BLOCK : K_LOOP, np, p, nr, res));
            if (op == 0x03) {
                bind_label(c);
                top(c)->loop_pos = (uint32_t)c->ncode;
            }
            break;
        }
        case 0x04: /* if */ {
            uint32_t np, nr;
            const wasm_valtype *p, *res;
            TRY(rd_blocktype(c, r, &np, &p, &nr, &res));
            TRY(pop(c, WASM_I32));
            uint64_t cond = S(c, c->nvals);
            TRY(pop_vals(c, np, p));
            int32_t ec = -1, ei = -1;
            if (live(c)) {
                uint32_t cell, ins;
                cond = fold(c, cond);
                TRY(emit_condjump(c, cond, true, &cell, &ins));
                ec = (int32_t)cell;
                ei = (int32_t)ins;
            }
            TRY(push_ctrl(c, K_IF, np, p, nr, res));
            top(c)->else_cell = ec;
            top(c)->else_ins = ei;
            break;
        }
        case 0x05: /* else */ {
            ctrl *t = top(c);
            if (t->kind != K_IF)
                return CERR_INVALID(c, "else without matching if");
            TRY(pop_vals(c, t->nresults, t->results));
            if (c->nvals != t->height)
                return CERR_INVALID(c, "type mismatch: values remaining on stack at end of block");
            if (live(c)) {
                uint32_t ins = (uint32_t)c->ncode;
                TRY(emit_op(c, WOP_JMP, H_OTHER));
                uint32_t cell = (uint32_t)c->ncode;
                TRY(emitc(c, 0));
                TRY(add_fixup(c, t, cell, ins));
            }
            if (t->else_cell >= 0) {
                c->code[t->else_cell] = (wcell)(int64_t)((int64_t)c->ncode - t->else_ins);
                t->else_cell = -1;
            }
            bind_label(c);
            t->kind = K_ELSE;
            t->unreachable = false;
            TRY(push_vals(c, t->nparams, t->params));
            break;
        }
        case 0x0b: /* end */ {
            ctrl *t = top(c);
            TRY(pop_vals(c, t->nresults, t->results));
            if (c->nvals != t->height)
                return CERR_INVALID(c, "type mismatch: values remaining on stack at end of block");
            if (t->kind == K_IF) {
                if (t->nparams != t->nresults ||
                    (t->nparams && memcmp(t->params, t->results, t->nparams * sizeof(wasm_valtype))))
                    return CERR_INVALID(c, "type mismatch: if without else must leave its parameters");
            }
            if (t->kind == K_FUNC) {
                if (live(c)) {
                    TRY(emit_op(c, WOP_RETURN, H_OTHER));
                    TRY(emitc(c, S(c, t->height)));
                    TRY(emitc(c, t->nresults));
                }
                /* patch branches to the end: they were emitted as returns */
                c->nctl--;
                if (r->p != r->end)
                    return malformed(d, r->p, "section size mismatch: junk after END of function body");
                break;
            }
            if (t->else_cell >= 0)
                c->code[t->else_cell] = (wcell)(int64_t)((int64_t)c->ncode - t->else_ins);
            for (int32_t f = t->fix_head; f >= 0; f = c->fix[f].next)
                c->code[c->fix[f].cell] = (wcell)(int64_t)((int64_t)c->ncode - c->fix[f].ins);
            bind_label(c);
            uint32_t nr = t->nresults;
            const wasm_valtype *res = t->results;
            c->nctl--;
            TRY(push_vals(c, nr, res));
            break;
        }
        case 0x0c: /* br */
        case 0x0d: /* br_if */ {
            uint32_t l;
            TRY(rd_u32(d, r, &l));
            if (l >= c->nctl)
                return CERR_INVALID(c, "unknown label %u", l);
            ctrl *t = &c->ctl[c->nctl - 1 - l];
            uint64_t cond = UINT64_MAX;
            if (op == 0x0d) {
                TRY(pop(c, WASM_I32));
                cond = S(c, c->nvals);
            }
            uint32_t n = label_arity(t);
            const wasm_valtype *ts = label_types(t);
            TRY(pop_vals(c, n, ts));
            TRY(push_vals(c, n, ts));
            if (live(c)) {
                if (cond != UINT64_MAX) {
                    cond = fold(c, cond);
                    uint64_t src = S(c, c->nvals - n);
                    bool copy = t->kind != K_FUNC && n && src != S(c, t->height);
                    if (t->kind != K_FUNC && !copy) {
                        uint32_t cell, ins;
                        TRY(emit_condjump(c, cond, false, &cell, &ins));
                        if (t->kind == K_LOOP)
                            c->code[cell] = (wcell)(int64_t)((int64_t)t->loop_pos - (int64_t)ins);
                        else
                            TRY(add_fixup(c, t, cell, ins));
                    } else
                        TRY(emit_branch(c, t, cond));
                } else
                    TRY(emit_branch(c, t, cond));
            }
            if (op == 0x0c) {
                TRY(pop_vals(c, n, ts));
                set_unreachable(c);
            }
            break;
        }
        case 0x0e: /* br_table */ {
            uint32_t n;
            TRY(rd_count(d, r, &n, 1));
            uint32_t *ls = malloc(((size_t)n + 1) * sizeof *ls);
            if (!ls)
                return nomem(d);
            bool ok = true;
            for (uint32_t i = 0; i <= n && ok; i++) {
                ok = rd_u32(d, r, &ls[i]);
                if (ok && ls[i] >= c->nctl)
                    ok = CERR_INVALID(c, "unknown label %u", ls[i]);
            }
            if (ok)
                ok = pop(c, WASM_I32);
            uint64_t idx = S(c, c->nvals);
            if (ok) {
                ctrl *dt = &c->ctl[c->nctl - 1 - ls[n]];
                uint32_t arity = label_arity(dt);
                for (uint32_t i = 0; i <= n && ok; i++) {
                    ctrl *t = &c->ctl[c->nctl - 1 - ls[i]];
                    if (label_arity(t) != arity) {
                        ok = CERR_INVALID(c, "type mismatch: br_table targets differ in arity");
                        break;
                    }
                    /* check the values against this label's types, then restore */
                    size_t save = c->nvals;
                    ok = pop_vals(c, arity, label_types(t));
                    c->nvals = save; /* pops do not change the entries */
                }
                if (ok && live(c)) {
                    uint64_t src = S(c, c->nvals - arity);
                    uint32_t ins = (uint32_t)c->ncode;
                    ok = emit_op(c, WOP_BRTABLE, H_OTHER) && emitc(c, idx) && emitc(c, n) && emitc(c, arity) &&
                         emitc(c, src);
                    for (uint32_t i = 0; i <= n && ok; i++) {
                        ctrl *t = &c->ctl[c->nctl - 1 - ls[i]];
                        if (t->kind == K_FUNC) {
                            ok = emitc(c, UINT64_MAX) && emitc(c, 0);
                            continue;
                        }
                        ok = emitc(c, S(c, t->height));
                        uint32_t cell = (uint32_t)c->ncode;
                        if (ok && t->kind == K_LOOP)
                            ok = emitc(c, (wcell)(int64_t)((int64_t)t->loop_pos - (int64_t)ins));
                        else if (ok)
                            ok = emitc(c, 0) && add_fixup(c, t, cell, ins);
                    }
                }
                if (ok) {
                    ok = pop_vals(c, arity, label_types(dt));
                    set_unreachable(c);
                }
            }
            free(ls);
            TRY(ok);
            break;
        }
        case 0x0f: /* return */ {
            TRY(pop_vals(c, ft->nresults, ft->results));
            if (live(c)) {
                TRY(emit_op(c, WOP_RETURN, H_OTHER));
                TRY(emitc(c, S(c, c->nvals)));
                TRY(emitc(c, ft->nresults));
            }
            set_unreachable(c);
            break;
        }
        case 0x10: /* call */ {
            uint32_t f;
            TRY(rd_u32(d, r, &f));
            if (f >= m->nfuncs)
                return CERR_INVALID(c, "unknown function %u", f);
            const wasm_functype *t = &m->types[m->func_type[f]];
            TRY(pop_vals(c, t->nparams, t->params));
            uint64_t base = S(c, c->nvals);
            TRY(push_vals(c, t->nresults, t->results));
            if (live(c)) {
                TRY(emit_op(c, WOP_CALL, H_OTHER));
                TRY(emitc(c, f));
                TRY(emitc(c, base));
            }
            break;
        }
        case 0x11: /* call_indirect */ {
            uint32_t ti, tab;
            TRY(rd_u32(d, r, &ti));
            TRY(rd_u32(d, r, &tab));
            if (tab >= m->ntables)
                return CERR_INVALID(c, "unknown table %u", tab);
            if (ti >= m->ntypes)
                return CERR_INVALID(c, "unknown type %u", ti);
            if (m->tables[tab].elem != WASM_FUNCREF)
                return CERR_INVALID(c, "type mismatch: call_indirect on a table of externref");
            TRY(pop(c, WASM_I32));
            uint64_t es = S(c, c->nvals);
            const wasm_functype *t = &m->types[ti];
            TRY(pop_vals(c, t->nparams, t->params));
            uint64_t base = S(c, c->nvals);
            TRY(push_vals(c, t->nresults, t->results));
            if (live(c)) {
                TRY(emit_op(c, WOP_CALL_INDIRECT, H_OTHER));
                TRY(emitc(c, ti));
                TRY(emitc(c, tab));
                TRY(emitc(c, base));
                TRY(emitc(c, es));
            }
            break;
        }
        case 0x1a: /* drop */ {
            uint8_t t;
            TRY(pop_any(c, &t));
            break;
        }
        case 0x1b: /* select */
        case 0x1c: /* select t */ {
            uint8_t t = WT_ANY;
            if (op == 0x1c) {
                uint32_t n;
                TRY(rd_u32(d, r, &n));
                if (n != 1)
                    return CERR_INVALID(c, "invalid result arity");
                TRY(rd_valtype(d, r, &t));
            }
            TRY(pop(c, WASM_I32));
            uint8_t t1, t2;
            TRY(pop_any(c, &t1));
            TRY(pop_any(c, &t2));
            if (op == 0x1b) {
                if ((t1 != WT_ANY && !is_num(t1)) || (t2 != WT_ANY && !is_num(t2)))
                    return CERR_INVALID(c, "type mismatch: select needs numeric operands");
                if (t1 != WT_ANY && t2 != WT_ANY && t1 != t2)
                    return CERR_INVALID(c, "type mismatch: select operands differ");
                t = t1 == WT_ANY ? t2 : t1;
            } else {
                if ((t1 != WT_ANY && t1 != t) || (t2 != WT_ANY && t2 != t))
                    return CERR_INVALID(c, "type mismatch: select operands");
            }
            size_t h = c->nvals;
            TRY(push(c, t));
            if (live(c)) {
                uint64_t sc = S(c, h + 2), sb = S(c, h + 1), sa = S(c, h);
                uint64_t cond = fold(c, sc);
                uint64_t b = cond != sc ? fold(c, sb) : sb;
                uint64_t a = b != sb ? fold(c, sa) : sa;
                TRY(emit_op(c, WOP_SELECT, H_DST));
                set_dst(c, sa);
                TRY(emitc(c, sa));
                TRY(emitc(c, cond));
                TRY(emitc(c, a));
                TRY(emitc(c, b));
            }
            break;
        }
        case 0x20: /* local.get */ {
            uint32_t x;
            TRY(rd_u32(d, r, &x));
            TRY(check_local(c, x));
            size_t h = c->nvals;
            TRY(push(c, c->ltypes[x]));
            if (live(c)) {
                TRY(emit_op(c, WOP_MOV, H_MOV));
                set_dst(c, S(c, h));
                c->hs[0].src = x;
                TRY(emitc(c, S(c, h)));
                TRY(emitc(c, x));
            }
            break;
        }
        case 0x21: /* local.set */
        case 0x22: /* local.tee */ {
            uint32_t x;
            TRY(rd_u32(d, r, &x));
            TRY(check_local(c, x));
            TRY(pop(c, c->ltypes[x]));
            size_t h = c->nvals;
            if (op == 0x22)
                TRY(push(c, c->ltypes[x]));
            if (live(c)) {
                if (op == 0x21 && last_is(c, H_DST, S(c, h))) {
                    c->code[c->hs[0].pos + 1] = x;
                    c->hs[0].kind = H_OTHER;
                } else if (op == 0x21 && last_is(c, H_CONST, S(c, h))) {
                    c->code[c->hs[0].pos + 1] = x;
                    c->hs[0].kind = H_OTHER;
                } else if (op == 0x21 && last_is(c, H_MOV, S(c, h))) {
                    c->code[c->hs[0].pos + 1] = x;
                    c->hs[0].kind = H_OTHER;
                } else {
                    TRY(emit_op(c, WOP_MOV, H_OTHER));
                    TRY(emitc(c, x));
                    TRY(emitc(c, S(c, h)));
                }
            }
            break;
        }
        case 0x23: /* global.get */ {
            uint32_t g;
            TRY(rd_u32(d, r, &g));
            if (g >= m->nglobals)
                return CERR_INVALID(c, "unknown global %u", g);
            size_t h = c->nvals;
            TRY(push(c, m->globals[g].type));
            if (live(c)) {
                TRY(emit_op(c, WOP_GLOBAL_GET, H_DST));
                set_dst(c, S(c, h));
                TRY(emitc(c, S(c, h)));
                TRY(emitc(c, g));
            }
            break;
        }
        case 0x24: /* global.set */ {
            uint32_t g;
            TRY(rd_u32(d, r, &g));
            if (g >= m->nglobals)
                return CERR_INVALID(c, "unknown global %u", g);
            if (!m->globals[g].mut)
                return CERR_INVALID(c, "global is immutable: global %u", g);
            TRY(pop(c, m->globals[g].type));
            if (live(c)) {
                uint64_t s = fold(c, S(c, c->nvals));
                TRY(emit_op(c, WOP_GLOBAL_SET, H_OTHER));
                TRY(emitc(c, g));
                TRY(emitc(c, s));
            }
            break;
        }
        case 0x25: /* table.get */
        case 0x26: /* table.set */ {
            uint32_t tab;
            TRY(rd_u32(d, r, &tab));
            if (tab >= m->ntables)
                return CERR_INVALID(c, "unknown table %u", tab);
            uint8_t et = m->tables[tab].elem;
            if (op == 0x25) {
                TRY(pop(c, WASM_I32));
                size_t h = c->nvals;
                TRY(push(c, et));
                if (live(c)) {
                    TRY(emit_op(c, WOP_TABLE_GET, H_DST));
                    set_dst(c, S(c, h));
                    TRY(emitc(c, S(c, h)));
                    TRY(emitc(c, tab));
                    TRY(emitc(c, S(c, h)));
                }
            } else {
                TRY(pop(c, et));
                TRY(pop(c, WASM_I32));
                size_t h = c->nvals;
                if (live(c)) {
                    TRY(emit_op(c, WOP_TABLE_SET, H_OTHER));
                    TRY(emitc(c, tab));
                    TRY(emitc(c, S(c, h)));
                    TRY(emitc(c, S(c, h + 1)));
                }
            }
            break;
        }
        case 0x28: TRY(load(c, r, WOP_I32_LOAD, WASM_I32, 2)); break;
        case 0x29: TRY(load(c, r, WOP_I64_LOAD, WASM_I64, 3)); break;
        case 0x2a: TRY(load(c, r, WOP_F32_LOAD, WASM_F32, 2)); break;
        case 0x2b: TRY(load(c, r, WOP_F64_LOAD, WASM_F64, 3)); break;
        case 0x2c: TRY(load(c, r, WOP_I32_LOAD8_S, WASM_I32, 0)); break;
        case 0x2d: TRY(load(c, r, WOP_I32_LOAD8_U, WASM_I32, 0)); break;
        case 0x2e: TRY(load(c, r, WOP_I32_LOAD16_S, WASM_I32, 1)); break;
        case 0x2f: TRY(load(c, r, WOP_I32_LOAD16_U, WASM_I32, 1)); break;
        case 0x30: TRY(load(c, r, WOP_I64_LOAD8_S, WASM_I64, 0)); break;
        case 0x31: TRY(load(c, r, WOP_I64_LOAD8_U, WASM_I64, 0)); break;
        case 0x32: TRY(load(c, r, WOP_I64_LOAD16_S, WASM_I64, 1)); break;
        case 0x33: TRY(load(c, r, WOP_I64_LOAD16_U, WASM_I64, 1)); break;
        case 0x34: TRY(load(c, r, WOP_I64_LOAD32_S, WASM_I64, 2)); break;
        case 0x35: TRY(load(c, r, WOP_I64_LOAD32_U, WASM_I64, 2)); break;
        case 0x36: TRY(store(c, r, WOP_I32_STORE, WASM_I32, 2)); break;
        case 0x37: TRY(store(c, r, WOP_I64_STORE, WASM_I64, 3)); break;
        case 0x38: TRY(store(c, r, WOP_F32_STORE, WASM_F32, 2)); break;
        case 0x39: TRY(store(c, r, WOP_F64_STORE, WASM_F64, 3)); break;
        case 0x3a: TRY(store(c, r, WOP_I32_STORE8, WASM_I32, 0)); break;
        case 0x3b: TRY(store(c, r, WOP_I32_STORE16, WASM_I32, 1)); break;
        case 0x3c: TRY(store(c, r, WOP_I64_STORE8, WASM_I64, 0)); break;
        case 0x3d: TRY(store(c, r, WOP_I64_STORE16, WASM_I64, 1)); break;
        case 0x3e: TRY(store(c, r, WOP_I64_STORE32, WASM_I64, 2)); break;
        case 0x3f: /* memory.size */
        case 0x40: /* memory.grow */ {
            const uint8_t *at = r->p;
            uint8_t z;
            TRY(rd_byte(d, r, &z));
            if (z != 0)
                return malformed(d, at, "zero byte expected");
            if (m->nmems == 0)
                return CERR_INVALID(c, "unknown memory 0");
            if (op == 0x40)
                TRY(pop(c, WASM_I32));
            size_t h = c->nvals;
            TRY(push(c, WASM_I32));
            if (live(c)) {
                TRY(emit_op(c, op == 0x3f ? WOP_MEMORY_SIZE : WOP_MEMORY_GROW, H_OTHER));
                TRY(emitc(c, S(c, h)));
                if (op == 0x40)
                    TRY(emitc(c, S(c, h)));
            }
            break;
        }
        case 0x41: /* i32.const */
        case 0x42:
        case 0x43:
        case 0x44: {
            uint64_t v;
            uint8_t t;
            if (op == 0x41) {
                int32_t x;
                TRY(rd_s32(d, r, &x));
                v = (uint32_t)x;
                t = WASM_I32;
            } else if (op == 0x42) {
                int64_t x;
                TRY(rd_s64(d, r, &x));
                v = (uint64_t)x;
                t = WASM_I64;
            } else if (op == 0x43) {
                TRY(rd_fixed(d, r, 4, &v));
                t = WASM_F32;
            } else {
                TRY(rd_fixed(d, r, 8, &v));
                t = WASM_F64;
            }
            size_t h = c->nvals;
            TRY(push(c, t));
            if (live(c)) {
                TRY(emit_op(c, WOP_CONST, H_CONST));
                set_dst(c, S(c, h));
                c->hs[0].src = v;
                TRY(emitc(c, S(c, h)));
                TRY(emitc(c, v));
            }
            break;
        }
        case 0x45: TRY(unop(c, WOP_I32_EQZ, WASM_I32, WASM_I32)); break;
        case 0x50: TRY(unop(c, WOP_I64_EQZ, WASM_I64, WASM_I32)); break;
        case 0xd0: /* ref.null */ {
            uint8_t t;
            TRY(rd_reftype(d, r, &t));
            size_t h = c->nvals;
            TRY(push(c, t));
            if (live(c)) {
                TRY(emit_op(c, WOP_CONST, H_CONST));
                set_dst(c, S(c, h));
                c->hs[0].src = 0;
                TRY(emitc(c, S(c, h)));
                TRY(emitc(c, 0));
            }
            break;
        }
        case 0xd1: /* ref.is_null */ {
            uint8_t t;
            TRY(pop_any(c, &t));
            if (t != WT_ANY && !is_ref(t))
                return CERR_INVALID(c, "type mismatch: ref.is_null needs a reference");
            size_t h = c->nvals;
            TRY(push(c, WASM_I32));
            if (live(c)) {
                TRY(emit_op(c, WOP_REF_IS_NULL, H_DST));
                set_dst(c, S(c, h));
                TRY(emitc(c, S(c, h)));
                TRY(emitc(c, S(c, h)));
            }
            break;
        }
        case 0xd2: /* ref.func */ {
            uint32_t f;
            TRY(rd_u32(d, r, &f));
            if (f >= m->nfuncs)
                return CERR_INVALID(c, "unknown function %u", f);
            if (!m->declared_refs[f])
                return CERR_INVALID(c, "undeclared function reference %u", f);
            size_t h = c->nvals;
            TRY(push(c, WASM_FUNCREF));
            if (live(c)) {
                TRY(emit_op(c, WOP_REF_FUNC, H_DST));
                set_dst(c, S(c, h));
                TRY(emitc(c, S(c, h)));
                TRY(emitc(c, f));
            }
            break;
        }
        case 0xfc: {
            uint32_t sub;
            TRY(rd_u32(d, r, &sub));
            if (sub <= 7) {
                static const uint8_t from[8] = {WASM_F32, WASM_F32, WASM_F64, WASM_F64,
                                                WASM_F32, WASM_F32, WASM_F64, WASM_F64};
                TRY(unop(c, WOP_I32_TRUNC_SAT_F32_S + (int)sub, from[sub], sub < 4 ? WASM_I32 : WASM_I64));
                break;
            }
            switch (sub) {
            case 8: /* memory.init */ {
                uint32_t seg;
                TRY(rd_u32(d, r, &seg));
                const uint8_t *at = r->p;
                uint8_t z;
                TRY(rd_byte(d, r, &z));
                if (!m->has_datacount && data_follows(d))
                    return malformed(d, c->ins_at, "data count section required");
                if (z != 0)
                    return malformed(d, at, "zero byte expected");
                if (m->nmems == 0)
                    return CERR_INVALID(c, "unknown memory 0");
                if (seg >= m->datacount)
                    return CERR_INVALID(c, "unknown data segment %u", seg);
                TRY(pop(c, WASM_I32));
                TRY(pop(c, WASM_I32));
                TRY(pop(c, WASM_I32));
                size_t h = c->nvals;
                if (live(c)) {
                    TRY(emit_op(c, WOP_MEMORY_INIT, H_OTHER));
                    TRY(emitc(c, seg));
                    TRY(emitc(c, S(c, h)));
                    TRY(emitc(c, S(c, h + 1)));
                    TRY(emitc(c, S(c, h + 2)));
                }
                break;
            }
            case 9: /* data.drop */ {
                uint32_t seg;
                TRY(rd_u32(d, r, &seg));
                if (!m->has_datacount && data_follows(d))
                    return malformed(d, c->ins_at, "data count section required");
                if (seg >= m->datacount)
                    return CERR_INVALID(c, "unknown data segment %u", seg);
                if (live(c)) {
                    TRY(emit_op(c, WOP_DATA_DROP, H_OTHER));
                    TRY(emitc(c, seg));
                }
                break;
            }
            case 10: /* memory.copy */
            case 11: /* memory.fill */ {
                const uint8_t *at = r->p;
                uint8_t z1, z2 = 0;
                TRY(rd_byte(d, r, &z1));
                if (sub == 10)
                    TRY(rd_byte(d, r, &z2));
                if (z1 || z2)
                    return malformed(d, at, "zero byte expected");
                if (m->nmems == 0)
                    return CERR_INVALID(c, "unknown memory 0");
                TRY(pop(c, WASM_I32));
                TRY(pop(c, WASM_I32));
                TRY(pop(c, WASM_I32));
                size_t h = c->nvals;
                if (live(c)) {
                    TRY(emit_op(c, sub == 10 ? WOP_MEMORY_COPY : WOP_MEMORY_FILL, H_OTHER));
                    TRY(emitc(c, S(c, h)));
                    TRY(emitc(c, S(c, h + 1)));
                    TRY(emitc(c, S(c, h + 2)));
                }
                break;
            }
            case 12: /* table.init */ {
                uint32_t seg, tab;
                TRY(rd_u32(d, r, &seg));
                TRY(rd_u32(d, r, &tab));
                if (tab >= m->ntables)
                    return CERR_INVALID(c, "unknown table %u", tab);
                if (seg >= m->nelems)
                    return CERR_INVALID(c, "unknown elem segment %u", seg);
                if (m->elems[seg].type != m->tables[tab].elem)
                    return CERR_INVALID(c, "type mismatch: table.init element types differ");
                TRY(pop(c, WASM_I32));
                TRY(pop(c, WASM_I32));
                TRY(pop(c, WASM_I32));
                size_t h = c->nvals;
                if (live(c)) {
                    TRY(emit_op(c, WOP_TABLE_INIT, H_OTHER));
                    TRY(emitc(c, tab));
                    TRY(emitc(c, seg));
                    TRY(emitc(c, S(c, h)));
                    TRY(emitc(c, S(c, h + 1)));
                    TRY(emitc(c, S(c, h + 2)));
                }
                break;
            }
            case 13: /* elem.drop */ {
                uint32_t seg;
                TRY(rd_u32(d, r, &seg));
                if (seg >= m->nelems)
                    return CERR_INVALID(c, "unknown elem segment %u", seg);
                if (live(c)) {
                    TRY(emit_op(c, WOP_ELEM_DROP, H_OTHER));
                    TRY(emitc(c, seg));
                }
                break;
            }
            case 14: /* table.copy */ {
                uint32_t dt, st;
                TRY(rd_u32(d, r, &dt));
                TRY(rd_u32(d, r, &st));
                if (dt >= m->ntables)
                    return CERR_INVALID(c, "unknown table %u", dt);
                if (st >= m->ntables)
                    return CERR_INVALID(c, "unknown table %u", st);
                if (m->tables[dt].elem != m->tables[st].elem)
                    return CERR_INVALID(c, "type mismatch: table.copy element types differ");
                TRY(pop(c, WASM_I32));
                TRY(pop(c, WASM_I32));
                TRY(pop(c, WASM_I32));
                size_t h = c->nvals;
                if (live(c)) {
                    TRY(emit_op(c, WOP_TABLE_COPY, H_OTHER));
                    TRY(emitc(c, dt));
                    TRY(emitc(c, st));
                    TRY(emitc(c, S(c, h)));
                    TRY(emitc(c, S(c, h + 1)));
                    TRY(emitc(c, S(c, h + 2)));
                }
                break;
            }
            case 15: /* table.grow */
            case 16: /* table.size */
            case 17: /* table.fill */ {
                uint32_t tab;
                TRY(rd_u32(d, r, &tab));
                if (tab >= m->ntables)
                    return CERR_INVALID(c, "unknown table %u", tab);
                uint8_t et = m->tables[tab].elem;
                if (sub == 15) {
                    TRY(pop(c, WASM_I32));
                    TRY(pop(c, et));
                    size_t h = c->nvals;
                    TRY(push(c, WASM_I32));
                    if (live(c)) {
                        TRY(emit_op(c, WOP_TABLE_GROW, H_OTHER));
                        TRY(emitc(c, S(c, h)));
                        TRY(emitc(c, tab));
                        TRY(emitc(c, S(c, h)));
                        TRY(emitc(c, S(c, h + 1)));
                    }
                } else if (sub == 16) {
                    size_t h = c->nvals;
                    TRY(push(c, WASM_I32));
                    if (live(c)) {
                        TRY(emit_op(c, WOP_TABLE_SIZE, H_DST));
                        set_dst(c, S(c, h));
                        TRY(emitc(c, S(c, h)));
                        TRY(emitc(c, tab));
                    }
                } else {
                    TRY(pop(c, WASM_I32));
                    TRY(pop(c, et));
                    TRY(pop(c, WASM_I32));
                    size_t h = c->nvals;
                    if (live(c)) {
                        TRY(emit_op(c, WOP_TABLE_FILL, H_OTHER));
                        TRY(emitc(c, tab));
                        TRY(emitc(c, S(c, h)));
                        TRY(emitc(c, S(c, h + 1)));
                        TRY(emitc(c, S(c, h + 2)));
                    }
                }
                break;
            }
            default:
                return malformed(d, c->ins_at, "illegal opcode 0xfc 0x%x", sub);
            }
            break;
        }
        default:
            if (op >= 0x46 && op <= 0x4f) {
                TRY(binop(c, WOP_I32_EQ + (op - 0x46), WASM_I32, WASM_I32));
            } else if (op >= 0x51 && op <= 0x5a) {
                TRY(binop(c, WOP_I64_EQ + (op - 0x51), WASM_I64, WASM_I32));
            } else if (op >= 0x5b && op <= 0x60) {
                TRY(binop(c, WOP_F32_EQ + (op - 0x5b), WASM_F32, WASM_I32));
            } else if (op >= 0x61 && op <= 0x66) {
                TRY(binop(c, WOP_F64_EQ + (op - 0x61), WASM_F64, WASM_I32));
            } else if (op >= 0x67 && op <= 0x69) {
                TRY(unop(c, WOP_I32_CLZ + (op - 0x67), WASM_I32, WASM_I32));
            } else if (op >= 0x6a && op <= 0x78) {
                TRY(binop(c, WOP_I32_ADD + (op - 0x6a), WASM_I32, WASM_I32));
            } else if (op >= 0x79 && op <= 0x7b) {
                TRY(unop(c, WOP_I64_CLZ + (op - 0x79), WASM_I64, WASM_I64));
            } else if (op >= 0x7c && op <= 0x8a) {
                TRY(binop(c, WOP_I64_ADD + (op - 0x7c), WASM_I64, WASM_I64));
            } else if (op >= 0x8b && op <= 0x91) {
                TRY(unop(c, WOP_F32_ABS + (op - 0x8b), WASM_F32, WASM_F32));
            } else if (op >= 0x92 && op <= 0x98) {
                TRY(binop(c, WOP_F32_ADD + (op - 0x92), WASM_F32, WASM_F32));
            } else if (op >= 0x99 && op <= 0x9f) {
                TRY(unop(c, WOP_F64_ABS + (op - 0x99), WASM_F64, WASM_F64));
            } else if (op >= 0xa0 && op <= 0xa6) {
                TRY(binop(c, WOP_F64_ADD + (op - 0xa0), WASM_F64, WASM_F64));
            } else if (op >= 0xa7 && op <= 0xbf) {
                static const uint8_t cv[25][2] = {
                    {WASM_I64, WASM_I32}, {WASM_F32, WASM_I32}, {WASM_F32, WASM_I32}, {WASM_F64, WASM_I32},
                    {WASM_F64, WASM_I32}, {WASM_I32, WASM_I64}, {WASM_I32, WASM_I64}, {WASM_F32, WASM_I64},
                    {WASM_F32, WASM_I64}, {WASM_F64, WASM_I64}, {WASM_F64, WASM_I64}, {WASM_I32, WASM_F32},
                    {WASM_I32, WASM_F32}, {WASM_I64, WASM_F32}, {WASM_I64, WASM_F32}, {WASM_F64, WASM_F32},
                    {WASM_I32, WASM_F64}, {WASM_I32, WASM_F64}, {WASM_I64, WASM_F64}, {WASM_I64, WASM_F64},
                    {WASM_F32, WASM_F64}, {WASM_F32, WASM_I32}, {WASM_F64, WASM_I64}, {WASM_I32, WASM_F32},
                    {WASM_I64, WASM_F64},
                };
                const uint8_t *t = cv[op - 0xa7];
                if (op >= 0xbc) {
                    /* reinterpret: the bits stay, only the type changes */
                    TRY(pop(c, t[0]));
                    TRY(push(c, t[1]));
                } else
                    TRY(unop(c, WOP_I32_WRAP_I64 + (op - 0xa7), t[0], t[1]));
            } else if (op >= 0xc0 && op <= 0xc4) {
                static const uint8_t et[5] = {WASM_I32, WASM_I32, WASM_I64, WASM_I64, WASM_I64};
                TRY(unop(c, WOP_I32_EXTEND8_S + (op - 0xc0), et[op - 0xc0], et[op - 0xc0]));
            } else {
                return malformed(d, c->ins_at, "illegal opcode 0x%x", op);
            }
            break;
        }
    }
    out->frame_slots = (uint32_t)(c->nlocals + c->maxvals + 1);
    return true;
}

/* After a validation error in a body: the reference decodes before it
 * validates, so a malformed encoding later in the body wins.  Skims the
 * rest of the body (depth: open blocks); false with the malformed error. */
static bool skim_body(dctx *d, rd *r, size_t depth) {
    while (depth > 0) {
        const uint8_t *at = r->p;
        uint8_t op, b;
        uint32_t u, n;
        int32_t s32;
        int64_t s64;
        uint64_t fx;
        TRY(rd_byte(d, r, &op));
        switch (op) {
        case 0x02: case 0x03: case 0x04:
            if (r->p < r->end && (*r->p == 0x40 || is_num(*r->p) || is_ref(*r->p)))
                r->p++;
            else
                TRY(rd_s33(d, r, &s64));
            depth++;
            break;
        case 0x0b: depth--; break;
        case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25:
        case 0x26: case 0xd2:
            TRY(rd_u32(d, r, &u));
            break;
        case 0x0e:
            TRY(rd_count(d, r, &n, 1));
            for (uint32_t i = 0; i <= n; i++)
                TRY(rd_u32(d, r, &u));
            break;
        case 0x11: TRY(rd_u32(d, r, &u)); TRY(rd_u32(d, r, &u)); break;
        case 0x1c:
            TRY(rd_count(d, r, &n, 1));
            for (uint32_t i = 0; i < n; i++)
                TRY(rd_valtype(d, r, &b));
            break;
        case 0x3f: case 0x40:
            TRY(rd_byte(d, r, &b));
            if (b)
                return malformed(d, at, "zero byte expected");
            break;
        case 0x41: TRY(rd_s32(d, r, &s32)); break;
        case 0x42: TRY(rd_s64(d, r, &s64)); break;
        case 0x43: TRY(rd_fixed(d, r, 4, &fx)); break;
        case 0x44: TRY(rd_fixed(d, r, 8, &fx)); break;
        case 0xd0: TRY(rd_reftype(d, r, &b)); break;
        case 0xfc:
            TRY(rd_u32(d, r, &u));
            if (u <= 7)
                break;
            switch (u) {
            case 8: TRY(rd_u32(d, r, &n)); TRY(rd_byte(d, r, &b)); break;
            case 9: case 13: case 15: case 16: case 17: TRY(rd_u32(d, r, &n)); break;
            case 10: TRY(rd_byte(d, r, &b)); TRY(rd_byte(d, r, &b)); break;
            case 11: TRY(rd_byte(d, r, &b)); break;
            case 12: case 14: TRY(rd_u32(d, r, &n)); TRY(rd_u32(d, r, &n)); break;
            default: return malformed(d, at, "illegal opcode 0xfc 0x%x", u);
            }
            break;
        default:
            if (op >= 0x28 && op <= 0x3e) {
                TRY(rd_u32(d, r, &u));
                TRY(rd_u32(d, r, &u));
            } else if (!(op <= 0x01 || op == 0x05 || op == 0x0f || op == 0x1a || op == 0x1b ||
                         (op >= 0x45 && op <= 0xc4) || op == 0xd1))
                return malformed(d, at, "illegal opcode 0x%x", op);
        }
    }
    if (r->p != r->end)
        return malformed(d, r->p, "section size mismatch: junk after END of function body");
    return true;
}

static bool decode_code(dctx *d, rd *r, uint32_t fidx, wcode *out, const void *const *handlers) {
    wasm_module *m = d->m;
    const wasm_functype *ft = &m->types[m->func_type[fidx]];
    uint32_t ngroups;
    TRY(rd_count(d, r, &ngroups, 2));
    /* first pass: count */
    rd r2 = *r;
    uint64_t total = ft->nparams;
    for (uint32_t i = 0; i < ngroups; i++) {
        uint32_t n;
        uint8_t t;
        TRY(rd_u32(d, &r2, &n));
        TRY(rd_valtype(d, &r2, &t));
        total += n;
        if (total > 0xffffffffull)
            return malformed(d, r2.p, "too many locals");
    }
    if (total > 50000)
        return limit(d, r->p, "too many locals (%u)", (uint32_t)total);
    cctx c;
    memset(&c, 0, sizeof c);
    c.d = d;
    c.h = handlers;
    c.nlocals = (uint32_t)total;
    c.ltypes = malloc(total + 1);
    if (!c.ltypes)
        return nomem(d);
    uint32_t k = 0;
    for (; k < ft->nparams; k++)
        c.ltypes[k] = (uint8_t)ft->params[k];
    for (uint32_t i = 0; i < ngroups; i++) {
        uint32_t n;
        uint8_t t;
        rd_u32(d, r, &n);
        rd_valtype(d, r, &t);
        memset(c.ltypes + k, t, n);
        k += n;
    }
    bool ok = compile_body(&c, r, fidx, out);
    if (!ok && d->err->kind == WASM_ERR_INVALID && c.nctl > 0) {
        wasm_error saved = *d->err;
        rd rest = {c.ins_at, r->end};
        /* re-read from the failing instruction: skip it first by skimming at its depth */
        if (skim_body(d, &rest, c.nctl))
            *d->err = saved;
    }
    free(c.ltypes);
    free(c.vals);
    free(c.ctl);
    free(c.fix);
    if (!ok) {
        free(c.code);
        free(c.map);
        return false;
    }
    out->nlocals = (uint32_t)total;
    out->code = c.code;
    out->ncode = c.ncode;
    out->map = c.map;
    out->nmap = c.nmap;
    out->type = m->func_type[fidx];
    return true;
}

/* ---- sections ------------------------------------------------------------------------ */

static uint64_t type_hash(const wasm_functype *t) {
    uint64_t h = 1469598103934665603ull;
    h = (h ^ t->nparams) * 1099511628211ull;
    for (uint32_t i = 0; i < t->nparams; i++)
        h = (h ^ (uint8_t)t->params[i]) * 1099511628211ull;
    h = (h ^ (0x100 + t->nresults)) * 1099511628211ull;
    for (uint32_t i = 0; i < t->nresults; i++)
        h = (h ^ (uint8_t)t->results[i]) * 1099511628211ull;
    return h;
}

static bool sec_type(dctx *d, rd *r) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_count(d, r, &n, 1));
    m->types = calloc(n ? n : 1, sizeof *m->types);
    m->type_sig = calloc(n ? n : 1, sizeof *m->type_sig);
    if (!m->types || !m->type_sig)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = r->p;
        uint8_t form;
        TRY(rd_byte(d, r, &form));
        if (form != 0x60)
            return malformed(d, at, "integer representation too long: malformed function type 0x%x", form);
        wasm_functype *t = &m->types[i];
        m->ntypes = i + 1;
        uint32_t np, nr;
        TRY(rd_count(d, r, &np, 1));
        wasm_valtype *vs = calloc((size_t)np + 1, sizeof *vs);
        if (!vs)
            return nomem(d);
        t->params = vs;
        for (uint32_t k = 0; k < np; k++) {
            uint8_t vt;
            TRY(rd_valtype(d, r, &vt));
            vs[k] = vt;
        }
        t->nparams = np;
        TRY(rd_count(d, r, &nr, 1));
        wasm_valtype *rs = calloc((size_t)nr + 1, sizeof *rs);
        if (!rs)
            return nomem(d);
        t->results = rs;
        for (uint32_t k = 0; k < nr; k++) {
            uint8_t vt;
            TRY(rd_valtype(d, r, &vt));
            rs[k] = vt;
        }
        t->nresults = nr;
        m->type_sig[i] = type_hash(t);
    }
    return true;
}

static bool rd_tabletype(dctx *d, rd *r, wtable *t) {
    TRY(rd_reftype(d, r, &t->elem));
    return rd_limits(d, r, &t->lim, false);
}

static bool rd_globaltype(dctx *d, rd *r, wglobal *g) {
    TRY(rd_valtype(d, r, &g->type));
    const uint8_t *at = r->p;
    TRY(rd_byte(d, r, &g->mut));
    if (g->mut > 1)
        return malformed(d, at, "malformed mutability");
    return true;
}

static bool sec_import(dctx *d, rd *r) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_count(d, r, &n, 1));
    m->imports = calloc(n ? n : 1, sizeof *m->imports);
    /* upper bounds for the index spaces (replacing the empty ones) */
    free(m->func_type);
    free(m->tables);
    free(m->mems);
    free(m->globals);
    m->func_type = calloc((size_t)n + 1, sizeof *m->func_type);
    m->tables = calloc((size_t)n + 1, sizeof *m->tables);
    m->mems = calloc((size_t)n + 1, sizeof *m->mems);
    m->globals = calloc((size_t)n + 1, sizeof *m->globals);
    if (!m->imports || !m->func_type || !m->tables || !m->mems || !m->globals)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        wimport *im = &m->imports[i];
        m->nimports = i + 1;
        TRY(rd_name(d, r, &im->mod, &im->modlen));
        TRY(rd_name(d, r, &im->name, &im->namelen));
        const uint8_t *at = r->p;
        TRY(rd_byte(d, r, &im->kind));
        switch (im->kind) {
        case WASM_EXTERN_FUNC:
            TRY(rd_u32(d, r, &im->type));
            if (im->type >= m->ntypes)
                return invalid(d, at, "unknown type %u", im->type);
            m->func_type[m->nfuncs++] = im->type;
            m->nfunc_imports++;
            break;
        case WASM_EXTERN_TABLE:
            TRY(rd_tabletype(d, r, &im->table));
            m->tables[m->ntables++] = im->table;
            m->ntable_imports++;
            break;
        case WASM_EXTERN_MEMORY:
            TRY(rd_limits(d, r, &im->mem, true));
            m->mems[m->nmems++] = im->mem;
            m->nmem_imports++;
            if (m->nmems > 1)
                return invalid(d, at, "multiple memories");
            break;
        case WASM_EXTERN_GLOBAL:
            TRY(rd_globaltype(d, r, &im->global));
            m->globals[m->nglobals++] = im->global;
            m->nglobal_imports++;
            break;
        default:
            return malformed(d, at, "malformed import kind 0x%x", im->kind);
        }
    }
    return true;
}

static bool ensure_spaces(dctx *d) {
    wasm_module *m = d->m;
    if (!m->func_type) {
        m->func_type = calloc(1, sizeof *m->func_type);
        m->tables = calloc(1, sizeof *m->tables);
        m->mems = calloc(1, sizeof *m->mems);
        m->globals = calloc(1, sizeof *m->globals);
        if (!m->func_type || !m->tables || !m->mems || !m->globals)
            return nomem(d);
    }
    return true;
}

static bool extend(dctx *d, void **p, uint32_t have, uint32_t add, size_t elem) {
    void *q = realloc(*p, ((size_t)have + add + 1) * elem);
    if (!q)
        return nomem(d);
    *p = q;
    return true;
}

static bool sec_function(dctx *d, rd *r) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_count(d, r, &n, 1));
    TRY(extend(d, (void **)&m->func_type, m->nfuncs, n, sizeof *m->func_type));
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = r->p;
        uint32_t t;
        TRY(rd_u32(d, r, &t));
        if (t >= m->ntypes)
            return invalid(d, at, "unknown type %u", t);
        m->func_type[m->nfuncs++] = t;
    }
    return true;
}

static bool sec_table(dctx *d, rd *r) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_count(d, r, &n, 1));
    TRY(extend(d, (void **)&m->tables, m->ntables, n, sizeof *m->tables));
    for (uint32_t i = 0; i < n; i++) {
        TRY(rd_tabletype(d, r, &m->tables[m->ntables]));
        m->ntables++;
    }
    return true;
}

static bool sec_memory(dctx *d, rd *r) {
    wasm_module *m = d->m;
    uint32_t n;
    const uint8_t *at = r->p;
    TRY(rd_count(d, r, &n, 1));
    TRY(extend(d, (void **)&m->mems, m->nmems, n, sizeof *m->mems));
    for (uint32_t i = 0; i < n; i++) {
        TRY(rd_limits(d, r, &m->mems[m->nmems], true));
        m->nmems++;
    }
    if (m->nmems > 1)
        return invalid(d, at, "multiple memories");
    return true;
}

static bool sec_global(dctx *d, rd *r) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_count(d, r, &n, 1));
    TRY(extend(d, (void **)&m->globals, m->nglobals, n, sizeof *m->globals));
    for (uint32_t i = 0; i < n; i++) {
        wglobal *g = &m->globals[m->nglobals];
        TRY(rd_globaltype(d, r, g));
        TRY(rd_const_expr(d, r, g->type, &g->init, m->nglobals));
        m->nglobals++;
    }
    return true;
}

static bool sec_export(dctx *d, rd *r) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_count(d, r, &n, 1));
    m->exports = calloc(n ? n : 1, sizeof *m->exports);
    if (!m->exports)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        wexport *e = &m->exports[i];
        const uint8_t *at = r->p;
        TRY(rd_name(d, r, &e->name, &e->namelen));
        m->nexports = i + 1;
        const uint8_t *kat = r->p;
        TRY(rd_byte(d, r, &e->kind));
        TRY(rd_u32(d, r, &e->idx));
        switch (e->kind) {
        case WASM_EXTERN_FUNC:
            if (e->idx >= m->nfuncs)
                return invalid(d, kat, "unknown function %u", e->idx);
            m->declared_refs[e->idx] = 1;
            break;
        case WASM_EXTERN_TABLE:
            if (e->idx >= m->ntables)
                return invalid(d, kat, "unknown table %u", e->idx);
            break;
        case WASM_EXTERN_MEMORY:
            if (e->idx >= m->nmems)
                return invalid(d, kat, "unknown memory %u", e->idx);
            break;
        case WASM_EXTERN_GLOBAL:
            if (e->idx >= m->nglobals)
                return invalid(d, kat, "unknown global %u", e->idx);
            break;
        default:
            return malformed(d, kat, "malformed export kind 0x%x", e->kind);
        }
        for (uint32_t k = 0; k < i; k++)
            if (m->exports[k].namelen == e->namelen && !memcmp(m->exports[k].name, e->name, e->namelen))
                return invalid(d, at, "duplicate export name \"%s\"", e->name);
    }
    return true;
}

static bool sec_start(dctx *d, rd *r) {
    wasm_module *m = d->m;
    const uint8_t *at = r->p;
    TRY(rd_u32(d, r, &m->start));
    if (m->start >= m->nfuncs)
        return invalid(d, at, "unknown function %u", m->start);
    const wasm_functype *t = &m->types[m->func_type[m->start]];
    if (t->nparams || t->nresults)
        return invalid(d, at, "start function must have type [] -> []");
    m->has_start = true;
    return true;
}

static bool sec_elem(dctx *d, rd *r) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_count(d, r, &n, 1));
    m->elems = calloc(n ? n : 1, sizeof *m->elems);
    if (!m->elems)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        welem *e = &m->elems[i];
        m->nelems = i + 1;
        const uint8_t *at = r->p;
        uint32_t flags;
        TRY(rd_u32(d, r, &flags));
        if (flags > 7)
            return malformed(d, at, "malformed elements segment kind %u", flags);
        e->mode = (flags & 1) ? ((flags & 2) ? WSEG_DECLARATIVE : WSEG_PASSIVE) : WSEG_ACTIVE;
        e->table = 0;
        if ((flags & 3) == 2)
            TRY(rd_u32(d, r, &e->table));
        if (e->mode == WSEG_ACTIVE) {
            if (e->table >= m->ntables)
                return invalid(d, at, "unknown table %u", e->table);
            TRY(rd_const_expr(d, r, WASM_I32, &e->offset, m->nglobals));
        }
        bool exprs = flags & 4;
        e->type = WASM_FUNCREF;
        if (flags & 3) {
            const uint8_t *kat = r->p;
            if (exprs)
                TRY(rd_reftype(d, r, &e->type));
            else {
                uint8_t kind;
                TRY(rd_byte(d, r, &kind));
                if (kind != 0)
                    return malformed(d, kat, "malformed elements segment kind");
            }
        }
        uint32_t cnt;
        TRY(rd_count(d, r, &cnt, 1));
        e->items = calloc(cnt ? cnt : 1, sizeof *e->items);
        if (!e->items)
            return nomem(d);
        e->n = cnt;
        for (uint32_t k = 0; k < cnt; k++) {
            if (exprs) {
                TRY(rd_const_expr(d, r, e->type, &e->items[k], m->nglobals));
            } else {
                const uint8_t *fat = r->p;
                uint32_t f;
                TRY(rd_u32(d, r, &f));
                if (f >= m->nfuncs)
                    return invalid(d, fat, "unknown function %u", f);
                m->declared_refs[f] = 1;
                e->items[k].kind = WEXPR_REFFUNC;
                e->items[k].type = WASM_FUNCREF;
                e->items[k].idx = f;
            }
        }
        if (e->mode == WSEG_ACTIVE && m->tables[e->table].elem != e->type)
            return invalid(d, at, "type mismatch: element segment type differs from table %u", e->table);
    }
    return true;
}

static bool sec_datacount(dctx *d, rd *r) {
    TRY(rd_u32(d, r, &d->m->datacount));
    d->m->has_datacount = true;
    return true;
}

static bool sec_code(dctx *d, rd *r, const uint8_t *at) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_u32(d, r, &n));
    uint32_t ndef = m->nfuncs - m->nfunc_imports;
    if (n != ndef)
        return malformed(d, at, "function and code section have inconsistent lengths");
    if ((uint64_t)n * 2 > (uint64_t)(r->end - r->p))
        return malformed(d, r->p, "unexpected end of section or function");
    const void *const *handlers = wasm__handlers();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size;
        d->func = m->nfunc_imports + i;
        TRY(rd_u32(d, r, &size));
        if (size > (size_t)(r->end - r->p))
            return malformed(d, r->p, "length out of bounds: unexpected end of section or function");
        rd body = {r->p, r->p + size};
        m->codes[i].body_off = (uint32_t)(r->p - d->base);
        TRY(decode_code(d, &body, m->nfunc_imports + i, &m->codes[i], handlers));
        r->p += size;
    }
    d->func = -1;
    return true;
}

static bool sec_data(dctx *d, rd *r, const uint8_t *at) {
    wasm_module *m = d->m;
    uint32_t n;
    TRY(rd_count(d, r, &n, 1));
    if (m->has_datacount && n != m->datacount)
        return malformed(d, at, "data count and data section have inconsistent lengths");
    m->datas = calloc(n ? n : 1, sizeof *m->datas);
    if (!m->datas)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        wdata *s = &m->datas[i];
        m->ndatas = i + 1;
        const uint8_t *sat = r->p;
        uint32_t flags;
        TRY(rd_u32(d, r, &flags));
        if (flags > 2)
            return malformed(d, sat, "malformed data segment kind %u", flags);
        s->mode = flags == 1 ? WSEG_PASSIVE : WSEG_ACTIVE;
        if (flags == 2)
            TRY(rd_u32(d, r, &s->mem));
        if (s->mode == WSEG_ACTIVE) {
            if (s->mem >= m->nmems)
                return invalid(d, sat, "unknown memory %u", s->mem);
            TRY(rd_const_expr(d, r, WASM_I32, &s->offset, m->nglobals));
        }
        TRY(rd_u32(d, r, &s->len));
        if (s->len > (size_t)(r->end - r->p))
            return malformed(d, r->p, "unexpected end of section or function: data segment length out of bounds");
        s->bytes = malloc(s->len ? s->len : 1);
        if (!s->bytes)
            return nomem(d);
        memcpy(s->bytes, r->p, s->len);
        r->p += s->len;
    }
    return true;
}

static void parse_names(wasm_module *m, const uint8_t *p, const uint8_t *end) {
    /* best effort: a malformed name section is ignored */
    wasm_error e;
    dctx d = {m, &e, p, "name", -1, end, end};
    rd r = {p, end};
    while (r.p < r.end) {
        uint8_t id;
        uint32_t size;
        if (!rd_byte(&d, &r, &id) || !rd_u32(&d, &r, &size) || size > (size_t)(r.end - r.p))
            return;
        rd sub = {r.p, r.p + size};
        r.p += size;
        if (id != 1)
            continue;
        uint32_t n;
        if (!rd_u32(&d, &sub, &n))
            return;
        if (!m->func_names && m->nfuncs) {
            m->func_names = calloc(m->nfuncs, sizeof *m->func_names);
            if (!m->func_names)
                return;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint32_t idx;
            char *name;
            if (!rd_u32(&d, &sub, &idx) || !rd_name(&d, &sub, &name, NULL))
                return;
            if (idx < m->nfuncs && !m->func_names[idx])
                m->func_names[idx] = name;
            else
                free(name);
        }
    }
}

static bool sec_custom(dctx *d, rd *r) {
    wasm_module *m = d->m;
    char *name;
    TRY(rd_name(d, r, &name, NULL));
    wcustom *nc = realloc(m->customs, (m->ncustoms + 1) * sizeof *nc);
    if (!nc) {
        free(name);
        return nomem(d);
    }
    m->customs = nc;
    wcustom *cs = &m->customs[m->ncustoms++];
    cs->name = name;
    cs->len = (size_t)(r->end - r->p);
    cs->bytes = malloc(cs->len ? cs->len : 1);
    if (!cs->bytes)
        return nomem(d);
    memcpy(cs->bytes, r->p, cs->len);
    r->p = r->end;
    return true;
}

static const char *sec_names[13] = {"custom", "type",   "import", "function", "table", "memory",   "global",
                                    "export", "start",  "element", "code",    "data",  "datacount"};

static bool decode(dctx *d, const uint8_t *bytes, size_t len) {
    wasm_module *m = d->m;
    rd r = {bytes, bytes + len};
    d->sec = "header";
    if (len < 4)
        return malformed(d, bytes + len, "unexpected end: truncated magic header");
    if (len < 4 || memcmp(bytes, "\0asm", 4))
        return malformed(d, bytes, "magic header not detected");
    if (len < 8)
        return malformed(d, bytes + 4, "unexpected end: unknown binary version");
    if (memcmp(bytes + 4, "\1\0\0\0", 4))
        return malformed(d, bytes + 4, "unknown binary version");
    r.p += 8;
    /* order ranks: type1 import2 function3 table4 memory5 global6 export7 start8 element9 datacount10 code11 data12 */
    static const uint8_t rank[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    unsigned last = 0;
    bool have_func = false, have_code = false;
    const uint8_t *names = NULL, *names_end = NULL;
    while (r.p < r.end) {
        const uint8_t *at = r.p;
        uint8_t id = *r.p++;
        d->sec = id < 13 ? sec_names[id] : "unknown";
        if (id > 12)
            return malformed(d, at, "malformed section id %u", id);
        uint32_t size;
        TRY(rd_u32(d, &r, &size));
        if (size > (size_t)(r.end - r.p))
            return malformed(d, r.p, "length out of bounds: section size exceeds the module (unexpected end)");
        rd s = {r.p, r.p + size};
        d->sec_end = s.end;
        if (id != 0) {
            if (rank[id] <= last)
                return malformed(d, at, "unexpected content after last section (section %u out of order)", id);
            last = rank[id];
            TRY(ensure_spaces(d));
            if (id >= 6 && !m->declared_refs) {
                m->declared_refs = calloc((size_t)m->nfuncs + 1, 1);
                if (!m->declared_refs)
                    return nomem(d);
            }
        }
        bool ok = true;
        switch (id) {
        case 0: {
            ok = sec_custom(d, &s);
            if (ok && !strcmp(m->customs[m->ncustoms - 1].name, "name")) {
                names = s.end - m->customs[m->ncustoms - 1].len;
                names_end = s.end;
            }
            break;
        }
        case 1: ok = sec_type(d, &s); break;
        case 2: ok = sec_import(d, &s); break;
        case 3: ok = sec_function(d, &s); have_func = true; break;
        case 4: ok = sec_table(d, &s); break;
        case 5: ok = sec_memory(d, &s); break;
        case 6: ok = sec_global(d, &s); break;
        case 7: ok = sec_export(d, &s); break;
        case 8: ok = sec_start(d, &s); break;
        case 9: ok = sec_elem(d, &s); break;
        case 10:
            m->codes = calloc((size_t)(m->nfuncs - m->nfunc_imports) + 1, sizeof *m->codes);
            if (!m->codes)
                return nomem(d);
            ok = sec_code(d, &s, at);
            have_code = true;
            break;
        case 11: ok = sec_data(d, &s, at); break;
        case 12: ok = sec_datacount(d, &s); break;
        }
        TRY(ok);
        if (s.p != s.end)
            return malformed(d, s.p, "section size mismatch");
        r.p = s.end;
    }
    d->sec = "module";
    TRY(ensure_spaces(d));
    if (!m->declared_refs) {
        m->declared_refs = calloc((size_t)m->nfuncs + 1, 1);
        if (!m->declared_refs)
            return nomem(d);
    }
    (void)have_func;
    if (!have_code && m->nfuncs != m->nfunc_imports)
        return malformed(d, r.p, "function and code section have inconsistent lengths");
    if (!m->codes) {
        m->codes = calloc(1, sizeof *m->codes);
        if (!m->codes)
            return nomem(d);
    }
    if (m->has_datacount && m->ndatas != m->datacount)
        return malformed(d, r.p, "data count and data section have inconsistent lengths");
    if (names)
        parse_names(m, names, names_end);
    return true;
}

void wasm_limits_default(wasm_limits *l) {
    l->max_memory_pages = 256;
    l->max_table_elems = 100000;
    l->max_call_depth = 10000;
    l->max_value_stack = 1u << 20;
    l->max_module_bytes = 64u << 20;
}

wasm_module *wasm_module_new(const uint8_t *bytes, size_t len, const wasm_limits *lim, wasm_error *err) {
    wasm_error dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof *err);
    err->func = UINT32_MAX;
    wasm_module *m = calloc(1, sizeof *m);
    if (!m) {
        wasm__set_err(err, WASM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    wasm_limits_default(&m->lim);
    if (lim) {
        if (lim->max_memory_pages)
            m->lim.max_memory_pages = lim->max_memory_pages;
        if (lim->max_table_elems)
            m->lim.max_table_elems = lim->max_table_elems;
        if (lim->max_call_depth)
            m->lim.max_call_depth = lim->max_call_depth;
        if (lim->max_value_stack)
            m->lim.max_value_stack = lim->max_value_stack;
        if (lim->max_module_bytes)
            m->lim.max_module_bytes = lim->max_module_bytes;
    }
    if (len > m->lim.max_module_bytes) {
        wasm__set_err(err, WASM_ERR_LIMIT, "module is %lu bytes, the limit is %u", (unsigned long)len,
                      m->lim.max_module_bytes);
        free(m);
        return NULL;
    }
    dctx d = {m, err, bytes, "header", -1, bytes + len, bytes + len};
    if (!decode(&d, bytes, len)) {
        wasm_module_free(m);
        return NULL;
    }
    return m;
}

void wasm_module_free(wasm_module *m) {
    if (!m)
        return;
    for (uint32_t i = 0; i < m->ntypes; i++) {
        free((void *)m->types[i].params);
        free((void *)m->types[i].results);
    }
    free(m->types);
    free(m->type_sig);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free(m->imports[i].mod);
        free(m->imports[i].name);
    }
    free(m->imports);
    free(m->func_type);
    free(m->tables);
    free(m->mems);
    free(m->globals);
    for (uint32_t i = 0; i < m->nexports; i++)
        free(m->exports[i].name);
    free(m->exports);
    for (uint32_t i = 0; i < m->nelems; i++)
        free(m->elems[i].items);
    free(m->elems);
    for (uint32_t i = 0; i < m->ndatas; i++)
        free(m->datas[i].bytes);
    free(m->datas);
    if (m->codes) {
        for (uint32_t i = 0; i + m->nfunc_imports < m->nfuncs; i++) {
            free(m->codes[i].code);
            free(m->codes[i].map);
        }
        free(m->codes);
    }
    free(m->declared_refs);
    if (m->func_names) {
        for (uint32_t i = 0; i < m->nfuncs; i++)
            free(m->func_names[i]);
        free(m->func_names);
    }
    for (uint32_t i = 0; i < m->ncustoms; i++) {
        free(m->customs[i].name);
        free(m->customs[i].bytes);
    }
    free(m->customs);
    free(m);
}

/* ---- module queries -------------------------------------------------------------------- */

size_t wasm_module_export_count(const wasm_module *m) {
    return m->nexports;
}
const char *wasm_module_export_name(const wasm_module *m, size_t i, size_t *len) {
    if (i >= m->nexports)
        return NULL;
    if (len)
        *len = m->exports[i].namelen;
    return m->exports[i].name;
}
wasm_extern_kind wasm_module_export_kind(const wasm_module *m, size_t i) {
    return i < m->nexports ? (wasm_extern_kind)m->exports[i].kind : WASM_EXTERN_FUNC;
}
uint32_t wasm_module_export_index(const wasm_module *m, size_t i) {
    return i < m->nexports ? m->exports[i].idx : UINT32_MAX;
}
size_t wasm_module_import_count(const wasm_module *m) {
    return m->nimports;
}
const char *wasm_module_import_module(const wasm_module *m, size_t i, size_t *len) {
    if (i >= m->nimports)
        return NULL;
    if (len)
        *len = m->imports[i].modlen;
    return m->imports[i].mod;
}
const char *wasm_module_import_name(const wasm_module *m, size_t i, size_t *len) {
    if (i >= m->nimports)
        return NULL;
    if (len)
        *len = m->imports[i].namelen;
    return m->imports[i].name;
}
wasm_extern_kind wasm_module_import_kind(const wasm_module *m, size_t i) {
    return i < m->nimports ? (wasm_extern_kind)m->imports[i].kind : WASM_EXTERN_FUNC;
}
const wasm_functype *wasm_module_func_type(const wasm_module *m, uint32_t func) {
    if (func >= m->nfuncs)
        return NULL;
    return &m->types[m->func_type[func]];
}
const wasm_functype *wasm_module_import_func_type(const wasm_module *m, size_t i) {
    if (i >= m->nimports || m->imports[i].kind != WASM_EXTERN_FUNC)
        return NULL;
    return &m->types[m->imports[i].type];
}
const char *wasm_module_func_name(const wasm_module *m, uint32_t func) {
    if (!m->func_names || func >= m->nfuncs)
        return NULL;
    return m->func_names[func];
}
const uint8_t *wasm_module_custom_section(const wasm_module *m, const char *name, size_t *len) {
    for (uint32_t i = 0; i < m->ncustoms; i++)
        if (!strcmp(m->customs[i].name, name)) {
            if (len)
                *len = m->customs[i].len;
            return m->customs[i].bytes;
        }
    return NULL;
}
