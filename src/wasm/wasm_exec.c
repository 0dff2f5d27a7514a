/*
 * wasm_exec.c - instances and the interpreter.
 *
 * The interpreter runs the internal form built by wasm_mod.c with
 * computed-goto threaded dispatch.  Calls do not recurse on the C stack: a
 * call pushes a frame record and moves the frame pointer; the callee's
 * frame starts at the caller's argument slots, so arguments are never
 * copied and results land where the caller expects them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_int.h"

/* ---- formatting / errors -------------------------------------------------------------- */

static void put(char *buf, size_t n, size_t *k, char ch) {
    if (*k + 1 < n)
        buf[(*k)++] = ch;
}

void wasm__vfmt(char *buf, size_t n, const char *fmt, __builtin_va_list ap) {
    size_t k = 0;
    if (!n)
        return;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(buf, n, &k, *p);
            continue;
        }
        p++;
        bool lng = false;
        while (*p == 'l' || *p == 'z') {
            lng = true;
            p++;
        }
        char tmp[24];
        int tn = 0;
        switch (*p) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            while (*s)
                put(buf, n, &k, *s++);
            break;
        }
        case 'c':
            put(buf, n, &k, (char)va_arg(ap, int));
            break;
        case 'd': {
            long long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            if (v < 0)
                put(buf, n, &k, '-');
            do {
                tmp[tn++] = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            while (tn)
                put(buf, n, &k, tmp[--tn]);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            unsigned base = *p == 'x' ? 16 : 10;
            do {
                tmp[tn++] = "0123456789abcdef"[u % base];
                u /= base;
            } while (u);
            while (tn)
                put(buf, n, &k, tmp[--tn]);
            break;
        }
        case '%':
            put(buf, n, &k, '%');
            break;
        default:
            put(buf, n, &k, '%');
            if (*p)
                put(buf, n, &k, *p);
            else
                p--;
        }
    }
    buf[k] = 0;
}

void wasm__set_err(wasm_error *err, wasm_error_kind kind, const char *fmt, ...) {
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    err->kind = kind;
    wasm__vfmt(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

const char *wasm_error_kind_name(wasm_error_kind k) {
    switch (k) {
    case WASM_OK: return "ok";
    case WASM_ERR_MALFORMED: return "malformed";
    case WASM_ERR_INVALID: return "invalid";
    case WASM_ERR_LINK: return "link";
    case WASM_ERR_TRAP: return "trap";
    case WASM_ERR_EXHAUSTION: return "exhaustion";
    case WASM_ERR_LIMIT: return "limit";
    case WASM_ERR_NOMEM: return "nomem";
    case WASM_ERR_INTERRUPTED: return "interrupted";
    case WASM_ERR_HOST: return "host";
    }
    return "?";
}

const char *wasm_trap_text(wasm_trap t) {
    switch (t) {
    case WASM_TRAP_NONE: return "no trap";
    case WASM_TRAP_UNREACHABLE: return "unreachable";
    case WASM_TRAP_DIV_ZERO: return "integer divide by zero";
    case WASM_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_TRAP_MEMORY_OOB: return "out of bounds memory access";
    case WASM_TRAP_TABLE_OOB: return "out of bounds table access";
    case WASM_TRAP_INDIRECT_TYPE: return "indirect call type mismatch";
    case WASM_TRAP_NULL_REF: return "uninitialized element";
    case WASM_TRAP_STACK: return "call stack exhausted";
    }
    return "?";
}

bool wasm__functype_eq(const wasm_functype *a, const wasm_functype *b) {
    if (a == b)
        return true;
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           !memcmp(a->params, b->params, a->nparams * sizeof *a->params) &&
           !memcmp(a->results, b->results, a->nresults * sizeof *a->results);
}

/* ---- float helpers ------------------------------------------------------------------------ */

static inline float F32(uint64_t v) {
    uint32_t b = (uint32_t)v;
    float f;
    memcpy(&f, &b, 4);
    return f;
}
static inline uint64_t BF32(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}
static inline double F64(uint64_t v) {
    double f;
    memcpy(&f, &v, 8);
    return f;
}
static inline uint64_t BF64(double f) {
    uint64_t b;
    memcpy(&b, &f, 8);
    return b;
}

static inline uint64_t f32_trunc_b(uint64_t b) {
    uint32_t x = (uint32_t)b, e = (x >> 23) & 0xff;
    if (e == 0xff)
        return (x & 0x7fffff) ? (x | 0x400000) : x;
    if (e >= 150)
        return x;
    float f = F32(x);
    float r = (float)(int32_t)f;
    return (BF32(r) & 0x7fffffff) | (x & 0x80000000u);
}
static inline uint64_t f32_floor_b(uint64_t b) {
    uint64_t t = f32_trunc_b(b);
    uint32_t x = (uint32_t)b;
    if (((x >> 23) & 0xff) >= 150)
        return t;
    float tf = F32(t), xf = F32(x);
    if (tf > xf)
        return BF32(tf - 1.0f);
    return t;
}
static inline uint64_t f32_ceil_b(uint64_t b) {
    uint64_t t = f32_trunc_b(b);
    uint32_t x = (uint32_t)b;
    if (((x >> 23) & 0xff) >= 150)
        return t;
    float tf = F32(t), xf = F32(x);
    if (tf < xf)
        return BF32(tf + 1.0f);
    return t;
}
static inline uint64_t f32_nearest_b(uint64_t b) {
    uint32_t x = (uint32_t)b, e = (x >> 23) & 0xff;
    if (e == 0xff)
        return (x & 0x7fffff) ? (x | 0x400000) : x;
    if (e >= 150)
        return x;
    volatile float a = F32(x & 0x7fffffff);
    float r = (a + 8388608.0f) - 8388608.0f;
    return (BF32(r) & 0x7fffffff) | (x & 0x80000000u);
}

static inline uint64_t f64_trunc_b(uint64_t x) {
    uint64_t e = (x >> 52) & 0x7ff;
    if (e == 0x7ff)
        return (x & 0xfffffffffffffull) ? (x | 0x8000000000000ull) : x;
    if (e >= 1075)
        return x;
    double r = (double)(int64_t)F64(x);
    return (BF64(r) & 0x7fffffffffffffffull) | (x & 0x8000000000000000ull);
}
static inline uint64_t f64_floor_b(uint64_t x) {
    uint64_t t = f64_trunc_b(x);
    if (((x >> 52) & 0x7ff) >= 1075)
        return t;
    if (F64(t) > F64(x))
        return BF64(F64(t) - 1.0);
    return t;
}
static inline uint64_t f64_ceil_b(uint64_t x) {
    uint64_t t = f64_trunc_b(x);
    if (((x >> 52) & 0x7ff) >= 1075)
        return t;
    if (F64(t) < F64(x))
        return BF64(F64(t) + 1.0);
    return t;
}
static inline uint64_t f64_nearest_b(uint64_t x) {
    uint64_t e = (x >> 52) & 0x7ff;
    if (e == 0x7ff)
        return (x & 0xfffffffffffffull) ? (x | 0x8000000000000ull) : x;
    if (e >= 1075)
        return x;
    volatile double a = F64(x & 0x7fffffffffffffffull);
    double r = (a + 4503599627370496.0) - 4503599627370496.0;
    return (BF64(r) & 0x7fffffffffffffffull) | (x & 0x8000000000000000ull);
}

static inline float fmin32(float a, float b) {
    if (a != a || b != b)
        return a + b;
    if (a == 0 && b == 0)
        return (BF32(a) & 0x80000000u) ? a : b;
    return a < b ? a : b;
}
static inline float fmax32(float a, float b) {
    if (a != a || b != b)
        return a + b;
    if (a == 0 && b == 0)
        return (BF32(a) & 0x80000000u) ? b : a;
    return a > b ? a : b;
}
static inline double fmin64(double a, double b) {
    if (a != a || b != b)
        return a + b;
    if (a == 0 && b == 0)
        return (BF64(a) >> 63) ? a : b;
    return a < b ? a : b;
}
static inline double fmax64(double a, double b) {
    if (a != a || b != b)
        return a + b;
    if (a == 0 && b == 0)
        return (BF64(a) >> 63) ? b : a;
    return a > b ? a : b;
}

static inline float sqrt32(float x) {
#if defined(__x86_64__)
    float r;
    __asm__("sqrtss %1, %0" : "=x"(r) : "x"(x));
    return r;
#else
    return __builtin_sqrtf(x);
#endif
}
static inline double sqrt64(double x) {
#if defined(__x86_64__)
    double r;
    __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x));
    return r;
#else
    return __builtin_sqrt(x);
#endif
}

static inline uint32_t popc32(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (x * 0x01010101u) >> 24;
}
static inline uint64_t popc64(uint64_t x) {
    return popc32((uint32_t)x) + popc32((uint32_t)(x >> 32));
}

/* saturating conversions */
static inline uint64_t sat_i32_s(double x) {
    if (x != x)
        return 0;
    if (x <= -2147483648.0)
        return (uint32_t)INT32_MIN;
    if (x >= 2147483647.0)
        return (uint32_t)INT32_MAX;
    return (uint32_t)(int32_t)x;
}
static inline uint64_t sat_i32_u(double x) {
    if (x != x || x <= 0)
        return 0;
    if (x >= 4294967295.0)
        return UINT32_MAX;
    return (uint32_t)x;
}
static inline uint64_t sat_i64_s(double x) {
    if (x != x)
        return 0;
    if (x <= -9223372036854775808.0)
        return (uint64_t)INT64_MIN;
    if (x >= 9223372036854775808.0)
        return (uint64_t)INT64_MAX;
    return (uint64_t)(int64_t)x;
}
static inline uint64_t sat_i64_u(double x) {
    if (x != x || x <= 0)
        return 0;
    if (x >= 18446744073709551616.0)
        return UINT64_MAX;
    return (uint64_t)x;
}

/* ---- execution state ---------------------------------------------------------------------- */

typedef struct wframe {
    const wcell *ip;
    size_t fp;
    wfuncinst *f;
} wframe;

struct wthread {
    uint64_t *stack;
    size_t cap, max;
    wframe *frames;
    size_t nframes, fcap, fmax;
};

static void thread_free(wthread *t) {
    if (!t)
        return;
    free(t->stack);
    free(t->frames);
    free(t);
}

static wthread *thread_new(const wasm_limits *lim) {
    wthread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max = lim->max_value_stack;
    t->fmax = lim->max_call_depth;
    return t;
}

/* Makes room for `need` slots; false if over the limit or out of memory. */
static bool stack_reserve(wthread *t, size_t need, wasm_error *err) {
    if (need <= t->cap)
        return true;
    if (need > t->max) {
        wasm__set_err(err, WASM_ERR_EXHAUSTION, "call stack exhausted: value stack limit (%lu slots)",
                      (unsigned long)t->max);
        err->trap = WASM_TRAP_STACK;
        return false;
    }
    size_t nc = t->cap ? t->cap * 2 : 4096;
    while (nc < need)
        nc *= 2;
    if (nc > t->max)
        nc = t->max;
    uint64_t *s = realloc(t->stack, nc * sizeof *s);
    if (!s) {
        wasm__set_err(err, WASM_ERR_NOMEM, "out of memory for the value stack");
        return false;
    }
    t->stack = s;
    t->cap = nc;
    return true;
}

static bool frames_reserve(wthread *t, wasm_error *err) {
    if (t->nframes < t->fcap)
        return true;
    if (t->nframes >= t->fmax) {
        wasm__set_err(err, WASM_ERR_EXHAUSTION, "call stack exhausted: %lu nested calls",
                      (unsigned long)t->nframes);
        err->trap = WASM_TRAP_STACK;
        return false;
    }
    size_t nc = t->fcap ? t->fcap * 2 : 256;
    if (nc > t->fmax)
        nc = t->fmax;
    wframe *f = realloc(t->frames, nc * sizeof *f);
    if (!f) {
        wasm__set_err(err, WASM_ERR_NOMEM, "out of memory for the call stack");
        return false;
    }
    t->frames = f;
    t->fcap = nc;
    return true;
}

static uint32_t map_offset(const wcode *c, const wcell *ip) {
    if (!c || !c->nmap)
        return 0;
    uint32_t pos = (uint32_t)(ip - c->code);
    size_t lo = 0, hi = c->nmap;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (c->map[mid].pos <= pos)
            lo = mid;
        else
            hi = mid;
    }
    return c->map[lo].off;
}

static void set_trap(wasm_error *err, wasm_trap trap, const wfuncinst *f, const wcell *ip, const char *detail) {
    err->kind = trap == WASM_TRAP_STACK ? WASM_ERR_EXHAUSTION : WASM_ERR_TRAP;
    err->trap = trap;
    err->func = f ? f->idx : UINT32_MAX;
    err->offset = f ? map_offset(f->code, ip) : 0;
    const char *name = f && f->inst ? wasm_module_func_name(f->inst->m, f->idx) : NULL;
    char where[120];
    if (name)
        wasm__set_err(err, err->kind, "function %u (%s), offset 0x%x", err->func, name, err->offset);
    else
        wasm__set_err(err, err->kind, "function %u, offset 0x%x", err->func, err->offset);
    memcpy(where, err->msg, sizeof where);
    where[sizeof where - 1] = 0;
    wasm__set_err(err, err->kind, "%s%s: %s", wasm_trap_text(trap), detail ? detail : "", where);
}

static int call_host(wfuncinst *f, uint64_t *slots, wasm_error *err) {
    const wasm_functype *t = f->type;
    wasm_val abuf[8], rbuf[8];
    wasm_val *args = abuf, *res = rbuf;
    if (t->nparams > 8)
        args = calloc(t->nparams, sizeof *args);
    if (t->nresults > 8)
        res = calloc(t->nresults, sizeof *res);
    int rc = -1;
    if (!args || !res) {
        wasm__set_err(err, WASM_ERR_NOMEM, "out of memory calling a host function");
        goto out;
    }
    for (uint32_t i = 0; i < t->nparams; i++) {
        args[i].type = t->params[i];
        args[i].v.i64 = slots[i];
    }
    for (uint32_t i = 0; i < t->nresults; i++) {
        res[i].type = t->results[i];
        res[i].v.i64 = 0;
    }
    err->kind = WASM_OK;
    rc = f->fn(f->user, f->host_inst, args, res, err);
    if (rc != 0) {
        if (err->kind == WASM_OK)
            wasm__set_err(err, WASM_ERR_HOST, "host function failed");
        rc = -1;
        goto out;
    }
    for (uint32_t i = 0; i < t->nresults; i++) {
        uint64_t v = res[i].v.i64;
        if (t->results[i] == WASM_I32 || t->results[i] == WASM_F32)
            v = (uint32_t)v;
        slots[i] = v;
    }
out:
    if (args != abuf)
        free(args);
    if (res != rbuf)
        free(res);
    return rc;
}

/* Table/memory helpers used by the interpreter and instantiation. */
static int64_t mem_grow(wmeminst *mem, uint32_t delta) {
    uint32_t old = mem->pages;
    if (delta == 0)
        return old;
    if (delta > mem->max - old)
        return -1;
    uint64_t nsize = (uint64_t)(old + delta) * 65536;
    if (nsize > SIZE_MAX)
        return -1;
    uint8_t *d = realloc(mem->data, (size_t)nsize);
    if (!d)
        return -1;
    memset(d + mem->size, 0, (size_t)(nsize - mem->size));
    mem->data = d;
    mem->size = nsize;
    mem->pages = old + delta;
    return old;
}

static int64_t table_grow(wtableinst *tb, uint32_t delta, uint64_t init) {
    uint32_t old = tb->size;
    if (delta > tb->max - old)
        return -1;
    if (delta == 0)
        return old;
    uint64_t *e = realloc(tb->elems, ((size_t)old + delta) * sizeof *e);
    if (!e)
        return -1;
    for (uint32_t i = 0; i < delta; i++)
        e[old + i] = init;
    tb->elems = e;
    tb->size = old + delta;
    return old;
}

static uint64_t eval_const(wasm_instance *inst, const wexpr *e) {
    switch (e->kind) {
    case WEXPR_CONST: return e->val;
    case WEXPR_GLOBAL: return inst->globals[e->idx]->val;
    case WEXPR_REFFUNC: return (uint64_t)(uintptr_t)inst->funcs[e->idx];
    default: return 0;
    }
}

/* table.init / memory.init semantics, shared with instantiation. */
static bool do_table_init(wasm_instance *inst, uint32_t tab, uint32_t seg, uint32_t d, uint32_t s, uint32_t n) {
    wtableinst *tb = inst->tables[tab];
    const welem *e = &inst->m->elems[seg];
    uint32_t len = inst->elem_dropped[seg] ? 0 : e->n;
    if ((uint64_t)s + n > len || (uint64_t)d + n > tb->size)
        return false;
    for (uint32_t i = 0; i < n; i++)
        tb->elems[d + i] = eval_const(inst, &e->items[s + i]);
    return true;
}

static bool do_memory_init(wasm_instance *inst, uint32_t seg, uint32_t d, uint32_t s, uint32_t n) {
    wmeminst *mem = inst->mem;
    const wdata *ds = &inst->m->datas[seg];
    uint32_t len = inst->data_dropped[seg] ? 0 : ds->len;
    if ((uint64_t)s + n > len || (uint64_t)d + n > mem->size)
        return false;
    if (n)
        memcpy(mem->data + d, ds->bytes + s, n);
    return true;
}

/* ---- the interpreter ---------------------------------------------------------------------- */

#define WOP_LABEL(n) &&L_##n,

/* Runs f with its arguments in t->stack[base...]; frames above t->nframes. */
static int run(wthread *t, wfuncinst *f0, size_t base, wasm_error *err, const void *const **tbl_out) {
    static const void *const tbl[] = {WOPS(WOP_LABEL)};
    if (tbl_out) {
        *tbl_out = tbl;
        return 0;
    }
    const size_t frame_base = t->nframes;
    wfuncinst *f = f0;
    wasm_instance *inst = f->inst;
    volatile int *intr = &f0->inst->interrupt;
    uint64_t *fp = t->stack + base;
    const wcell *ip;
    uint8_t *mb;
    uint64_t ms;
    wfuncinst *callee;
    uint64_t *nfp;
    wasm_trap trap = WASM_TRAP_NONE;
    const char *detail = NULL;
    char dbuf[48];

#define RELOAD_MEM()                                                                                         \
    do {                                                                                                     \
        if (inst->mem) {                                                                                     \
            mb = inst->mem->data;                                                                            \
            ms = inst->mem->size;                                                                            \
        } else {                                                                                             \
            mb = NULL;                                                                                       \
            ms = 0;                                                                                          \
        }                                                                                                    \
    } while (0)
#define DISPATCH() goto *(const void *)(uintptr_t)ip[0]
#define NEXT(n)                                                                                              \
    do {                                                                                                     \
        ip += (n);                                                                                           \
        DISPATCH();                                                                                          \
    } while (0)
#define R(k) fp[ip[k]]
/* taken branch; backward branches (loops) check for an interrupt */
#define JUMP(off)                                                                                            \
    do {                                                                                                     \
        int64_t o_ = (int64_t)(off);                                                                         \
        ip += o_;                                                                                            \
        if (o_ <= 0 && __builtin_expect(*intr, 0))                                                           \
            goto interrupted;                                                                                \
        DISPATCH();                                                                                          \
    } while (0)
#define TRAP(x)                                                                                              \
    do {                                                                                                     \
        trap = (x);                                                                                          \
        goto trapped;                                                                                        \
    } while (0)

    /* enter f0 */
    {
        const wcode *c = f->code;
        uint32_t np = f->type->nparams;
        if (!stack_reserve(t, base + c->frame_slots, err))
            return -1;
        fp = t->stack + base;
        memset(fp + np, 0, (size_t)(c->nlocals - np) * sizeof *fp);
        ip = c->code;
        RELOAD_MEM();
        DISPATCH();
    }

L_UNREACHABLE:
    TRAP(WASM_TRAP_UNREACHABLE);
L_NOP:
    NEXT(1);
L_JMP:
    JUMP(ip[1]);
L_JMPC: {
    uint64_t n = ip[1], *s = fp + ip[2], *d = fp + ip[3];
    for (uint64_t i = 0; i < n; i++)
        d[i] = s[i];
    JUMP(ip[4]);
}
L_BRIF:
    if ((uint32_t)R(1)) {
        JUMP(ip[2]);
    }
    NEXT(3);
L_BRIFC:
    if ((uint32_t)R(1)) {
        uint64_t n = ip[2], *s = fp + ip[3], *d = fp + ip[4];
        for (uint64_t i = 0; i < n; i++)
            d[i] = s[i];
        JUMP(ip[5]);
    }
    NEXT(6);
L_BRUNLESS:
    if (!(uint32_t)R(1)) {
        JUMP(ip[2]);
    }
    NEXT(3);
L_BRTABLE: {
    uint32_t i = (uint32_t)R(1);
    uint64_t n = ip[2], arity = ip[3];
    if (i > n)
        i = (uint32_t)n;
    const wcell *e = ip + 5 + 2 * (size_t)i;
    if (e[0] == UINT64_MAX) {
        /* to the function label: return */
        uint64_t *s = fp + ip[4];
        for (uint64_t k = 0; k < arity; k++)
            fp[k] = s[k];
        goto do_return;
    }
    uint64_t *s = fp + ip[4], *d = fp + e[0];
    if (s != d)
        for (uint64_t k = 0; k < arity; k++)
            d[k] = s[k];
    JUMP(e[1]);
}
L_RETURN: {
    uint64_t n = ip[2], *s = fp + ip[1];
    if (s != fp)
        for (uint64_t k = 0; k < n; k++)
            fp[k] = s[k];
}
do_return:
    if (t->nframes == frame_base)
        return 0;
    {
        wframe *fr = &t->frames[--t->nframes];
        ip = fr->ip;
        fp = t->stack + fr->fp;
        f = fr->f;
        inst = f->inst;
        RELOAD_MEM();
        DISPATCH();
    }
L_LOOPCHK:
    if (__builtin_expect(*intr, 0))
        goto interrupted;
    NEXT(1);
L_CALL:
    callee = inst->funcs[ip[1]];
    nfp = fp + ip[2];
    ip += 3;
    goto do_call;
L_CALL_INDIRECT: {
    wtableinst *tb = inst->tables[ip[2]];
    uint32_t i = (uint32_t)R(4);
    if (i >= tb->size) {
        detail = " (undefined element)";
        TRAP(WASM_TRAP_TABLE_OOB);
    }
    uint64_t e = tb->elems[i];
    if (!e) {
        uint32_t k = 0;
        char *p = dbuf;
        const char *pre = " ";
        while (*pre)
            *p++ = *pre++;
        char tmp[12];
        do {
            tmp[k++] = (char)('0' + i % 10);
            i /= 10;
        } while (i);
        while (k)
            *p++ = tmp[--k];
        *p = 0;
        detail = dbuf;
        TRAP(WASM_TRAP_NULL_REF);
    }
    callee = (wfuncinst *)(uintptr_t)e;
    const wasm_functype *want = &inst->m->types[ip[1]];
    if (callee->type != want && (callee->sig != inst->m->type_sig[ip[1]] || !wasm__functype_eq(callee->type, want)))
        TRAP(WASM_TRAP_INDIRECT_TYPE);
    nfp = fp + ip[3];
    ip += 5;
    goto do_call;
}
do_call:
    if (__builtin_expect(*intr, 0)) {
        goto interrupted;
    }
    if (!callee->code) {
        if (call_host(callee, nfp, err) != 0)
            goto failed;
        RELOAD_MEM();
        DISPATCH();
    }
    {
        const wcode *c = callee->code;
        if (!frames_reserve(t, err))
            goto failed;
        size_t nfo = (size_t)(nfp - t->stack);
        if (nfo + c->frame_slots > t->cap) {
            size_t fpo = (size_t)(fp - t->stack);
            if (!stack_reserve(t, nfo + c->frame_slots, err))
                goto failed;
            fp = t->stack + fpo;
            nfp = t->stack + nfo;
        }
        wframe *fr = &t->frames[t->nframes++];
        fr->ip = ip;
        fr->fp = (size_t)(fp - t->stack);
        fr->f = f;
        f = callee;
        fp = nfp;
        uint32_t np = callee->type->nparams;
        for (uint32_t k = np; k < c->nlocals; k++)
            fp[k] = 0;
        ip = c->code;
        if (callee->inst != inst) {
            inst = callee->inst;
            RELOAD_MEM();
        }
        DISPATCH();
    }
L_SELECT:
    R(1) = (uint32_t)R(2) ? R(3) : R(4);
    NEXT(5);
L_MOV:
    R(1) = R(2);
    NEXT(3);
L_MOV2:
    R(1) = R(2);
    R(3) = R(4);
    NEXT(5);
L_CONST:
    R(1) = ip[2];
    NEXT(3);
L_GLOBAL_GET:
    R(1) = inst->globals[ip[2]]->val;
    NEXT(3);
L_GLOBAL_SET:
    inst->globals[ip[1]]->val = R(2);
    NEXT(3);
L_TABLE_GET: {
    wtableinst *tb = inst->tables[ip[2]];
    uint32_t i = (uint32_t)R(3);
    if (i >= tb->size)
        TRAP(WASM_TRAP_TABLE_OOB);
    R(1) = tb->elems[i];
    NEXT(4);
}
L_TABLE_SET: {
    wtableinst *tb = inst->tables[ip[1]];
    uint32_t i = (uint32_t)R(2);
    if (i >= tb->size)
        TRAP(WASM_TRAP_TABLE_OOB);
    tb->elems[i] = R(3);
    NEXT(4);
}
L_TABLE_SIZE:
    R(1) = inst->tables[ip[2]]->size;
    NEXT(3);
L_TABLE_GROW: {
    int64_t r = table_grow(inst->tables[ip[2]], (uint32_t)R(4), R(3));
    R(1) = (uint32_t)r;
    NEXT(5);
}
L_TABLE_FILL: {
    wtableinst *tb = inst->tables[ip[1]];
    uint32_t i = (uint32_t)R(2), n = (uint32_t)R(4);
    uint64_t v = R(3);
    if ((uint64_t)i + n > tb->size)
        TRAP(WASM_TRAP_TABLE_OOB);
    for (uint32_t k = 0; k < n; k++)
        tb->elems[i + k] = v;
    NEXT(5);
}
L_TABLE_COPY: {
    wtableinst *dt = inst->tables[ip[1]], *st = inst->tables[ip[2]];
    uint32_t d = (uint32_t)R(3), s = (uint32_t)R(4), n = (uint32_t)R(5);
    if ((uint64_t)s + n > st->size || (uint64_t)d + n > dt->size)
        TRAP(WASM_TRAP_TABLE_OOB);
    if (n)
        memmove(dt->elems + d, st->elems + s, (size_t)n * sizeof(uint64_t));
    NEXT(6);
}
L_TABLE_INIT:
    if (!do_table_init(inst, (uint32_t)ip[1], (uint32_t)ip[2], (uint32_t)R(3), (uint32_t)R(4), (uint32_t)R(5)))
        TRAP(WASM_TRAP_TABLE_OOB);
    NEXT(6);
L_ELEM_DROP:
    inst->elem_dropped[ip[1]] = 1;
    NEXT(2);
L_MEMORY_SIZE:
    R(1) = inst->mem->pages;
    NEXT(2);
L_MEMORY_GROW: {
    int64_t r = mem_grow(inst->mem, (uint32_t)R(2));
    R(1) = (uint32_t)r;
    RELOAD_MEM();
    NEXT(3);
}
L_MEMORY_FILL: {
    uint32_t d = (uint32_t)R(1), n = (uint32_t)R(3);
    if ((uint64_t)d + n > ms)
        TRAP(WASM_TRAP_MEMORY_OOB);
    if (n)
        memset(mb + d, (int)(uint8_t)R(2), n);
    NEXT(4);
}
L_MEMORY_COPY: {
    uint32_t d = (uint32_t)R(1), s = (uint32_t)R(2), n = (uint32_t)R(3);
    if ((uint64_t)d + n > ms || (uint64_t)s + n > ms)
        TRAP(WASM_TRAP_MEMORY_OOB);
    if (n)
        memmove(mb + d, mb + s, n);
    NEXT(4);
}
L_MEMORY_INIT:
    if (!do_memory_init(inst, (uint32_t)ip[1], (uint32_t)R(2), (uint32_t)R(3), (uint32_t)R(4)))
        TRAP(WASM_TRAP_MEMORY_OOB);
    NEXT(5);
L_DATA_DROP:
    inst->data_dropped[ip[1]] = 1;
    NEXT(2);
L_REF_FUNC:
    R(1) = (uint64_t)(uintptr_t)inst->funcs[ip[2]];
    NEXT(3);
L_REF_IS_NULL:
    R(1) = R(2) == 0;
    NEXT(3);

#define LOAD(name, N, T, CONV)                                                                               \
    L_##name : {                                                                                             \
        uint64_t ea = (uint64_t)(uint32_t)R(2) + ip[3];                                                      \
        if (__builtin_expect(ea + N > ms, 0))                                                                \
            TRAP(WASM_TRAP_MEMORY_OOB);                                                                      \
        T v;                                                                                                 \
        memcpy(&v, mb + ea, N);                                                                              \
        R(1) = CONV;                                                                                         \
        NEXT(4);                                                                                             \
    }
    LOAD(I32_LOAD, 4, uint32_t, v)
    LOAD(I64_LOAD, 8, uint64_t, v)
    LOAD(F32_LOAD, 4, uint32_t, v)
    LOAD(F64_LOAD, 8, uint64_t, v)
    LOAD(I32_LOAD8_S, 1, int8_t, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD8_U, 1, uint8_t, v)
    LOAD(I32_LOAD16_S, 2, int16_t, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD16_U, 2, uint16_t, v)
    LOAD(I64_LOAD8_S, 1, int8_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD8_U, 1, uint8_t, v)
    LOAD(I64_LOAD16_S, 2, int16_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD16_U, 2, uint16_t, v)
    LOAD(I64_LOAD32_S, 4, int32_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD32_U, 4, uint32_t, v)
#define STORE(name, N, T)                                                                                    \
    L_##name : {                                                                                             \
        uint64_t ea = (uint64_t)(uint32_t)R(1) + ip[3];                                                      \
        if (__builtin_expect(ea + N > ms, 0))                                                                \
            TRAP(WASM_TRAP_MEMORY_OOB);                                                                      \
        T v = (T)R(2);                                                                                       \
        memcpy(mb + ea, &v, N);                                                                              \
        NEXT(4);                                                                                             \
    }
    STORE(I32_STORE, 4, uint32_t)
    STORE(I64_STORE, 8, uint64_t)
    STORE(F32_STORE, 4, uint32_t)
    STORE(F64_STORE, 8, uint64_t)
    STORE(I32_STORE8, 1, uint8_t)
    STORE(I32_STORE16, 2, uint16_t)
    STORE(I64_STORE8, 1, uint8_t)
    STORE(I64_STORE16, 2, uint16_t)
    STORE(I64_STORE32, 4, uint32_t)

#define A32 ((uint32_t)R(2))
#define B32 ((uint32_t)R(3))
#define SA32 ((int32_t)R(2))
#define SB32 ((int32_t)R(3))
#define A64 (R(2))
#define B64 (R(3))
#define SA64 ((int64_t)R(2))
#define SB64 ((int64_t)R(3))
#define FA32 F32(R(2))
#define FB32 F32(R(3))
#define FA64 F64(R(2))
#define FB64 F64(R(3))
#define UN(name, expr)                                                                                       \
    L_##name : R(1) = (expr);                                                                                \
    NEXT(3);
#define BIN(name, expr)                                                                                      \
    L_##name : R(1) = (expr);                                                                                \
    NEXT(4);

    UN(I32_EQZ, A32 == 0)
    BIN(I32_EQ, A32 == B32)
    BIN(I32_NE, A32 != B32)
    BIN(I32_LT_S, SA32 < SB32)
    BIN(I32_LT_U, A32 < B32)
    BIN(I32_GT_S, SA32 > SB32)
    BIN(I32_GT_U, A32 > B32)
    BIN(I32_LE_S, SA32 <= SB32)
    BIN(I32_LE_U, A32 <= B32)
    BIN(I32_GE_S, SA32 >= SB32)
    BIN(I32_GE_U, A32 >= B32)
    UN(I64_EQZ, A64 == 0)
    BIN(I64_EQ, A64 == B64)
    BIN(I64_NE, A64 != B64)
    BIN(I64_LT_S, SA64 < SB64)
    BIN(I64_LT_U, A64 < B64)
    BIN(I64_GT_S, SA64 > SB64)
    BIN(I64_GT_U, A64 > B64)
    BIN(I64_LE_S, SA64 <= SB64)
    BIN(I64_LE_U, A64 <= B64)
    BIN(I64_GE_S, SA64 >= SB64)
    BIN(I64_GE_U, A64 >= B64)
    BIN(F32_EQ, FA32 == FB32)
    BIN(F32_NE, FA32 != FB32)
    BIN(F32_LT, FA32 < FB32)
    BIN(F32_GT, FA32 > FB32)
    BIN(F32_LE, FA32 <= FB32)
    BIN(F32_GE, FA32 >= FB32)
    BIN(F64_EQ, FA64 == FB64)
    BIN(F64_NE, FA64 != FB64)
    BIN(F64_LT, FA64 < FB64)
    BIN(F64_GT, FA64 > FB64)
    BIN(F64_LE, FA64 <= FB64)
    BIN(F64_GE, FA64 >= FB64)

    UN(I32_CLZ, A32 ? (uint32_t)__builtin_clz(A32) : 32u)
    UN(I32_CTZ, A32 ? (uint32_t)__builtin_ctz(A32) : 32u)
    UN(I32_POPCNT, popc32(A32))
    BIN(I32_ADD, (uint32_t)(A32 + B32))
    BIN(I32_SUB, (uint32_t)(A32 - B32))
    BIN(I32_MUL, (uint32_t)(A32 * B32))
L_I32_DIV_S:
    if (B32 == 0)
        TRAP(WASM_TRAP_DIV_ZERO);
    if (SA32 == INT32_MIN && SB32 == -1)
        TRAP(WASM_TRAP_INT_OVERFLOW);
    R(1) = (uint32_t)(SA32 / SB32);
    NEXT(4);
L_I32_DIV_U:
    if (B32 == 0)
        TRAP(WASM_TRAP_DIV_ZERO);
    R(1) = A32 / B32;
    NEXT(4);
L_I32_REM_S:
    if (B32 == 0)
        TRAP(WASM_TRAP_DIV_ZERO);
    R(1) = SB32 == -1 ? 0 : (uint32_t)(SA32 % SB32);
    NEXT(4);
L_I32_REM_U:
    if (B32 == 0)
        TRAP(WASM_TRAP_DIV_ZERO);
    R(1) = A32 % B32;
    NEXT(4);
    BIN(I32_AND, A32 & B32)
    BIN(I32_OR, A32 | B32)
    BIN(I32_XOR, A32 ^ B32)
    BIN(I32_SHL, (uint32_t)(A32 << (B32 & 31)))
    BIN(I32_SHR_S, (uint32_t)(SA32 >> (B32 & 31)))
    BIN(I32_SHR_U, A32 >> (B32 & 31))
    BIN(I32_ROTL, (uint32_t)((A32 << (B32 & 31)) | (A32 >> ((32 - (B32 & 31)) & 31))))
    BIN(I32_ROTR, (uint32_t)((A32 >> (B32 & 31)) | (A32 << ((32 - (B32 & 31)) & 31))))

    UN(I64_CLZ, A64 ? (uint64_t)__builtin_clzll(A64) : 64u)
    UN(I64_CTZ, A64 ? (uint64_t)__builtin_ctzll(A64) : 64u)
    UN(I64_POPCNT, popc64(A64))
    BIN(I64_ADD, A64 + B64)
    BIN(I64_SUB, A64 - B64)
    BIN(I64_MUL, A64 * B64)
L_I64_DIV_S:
    if (B64 == 0)
        TRAP(WASM_TRAP_DIV_ZERO);
    if (SA64 == INT64_MIN && SB64 == -1)
        TRAP(WASM_TRAP_INT_OVERFLOW);
    R(1) = (uint64_t)(SA64 / SB64);
    NEXT(4);
L_I64_DIV_U:
    if (B64 == 0)
        TRAP(WASM_TRAP_DIV_ZERO);
    R(1) = A64 / B64;
    NEXT(4);
L_I64_REM_S:
    if (B64 == 0)
        TRAP(WASM_TRAP_DIV_ZERO);
    R(1) = SB64 == -1 ? 0 : (uint64_t)(SA64 % SB64);
    NEXT(4);
L_I64_REM_U:
    if (B64 == 0)
        TRAP(WASM_TRAP_DIV_ZERO);
    R(1) = A64 % B64;
    NEXT(4);
    BIN(I64_AND, A64 & B64)
    BIN(I64_OR, A64 | B64)
    BIN(I64_XOR, A64 ^ B64)
    BIN(I64_SHL, A64 << (B64 & 63))
    BIN(I64_SHR_S, (uint64_t)(SA64 >> (B64 & 63)))
    BIN(I64_SHR_U, A64 >> (B64 & 63))
    BIN(I64_ROTL, (A64 << (B64 & 63)) | (A64 >> ((64 - (B64 & 63)) & 63)))
    BIN(I64_ROTR, (A64 >> (B64 & 63)) | (A64 << ((64 - (B64 & 63)) & 63)))

    UN(F32_ABS, A32 & 0x7fffffffu)
    UN(F32_NEG, A32 ^ 0x80000000u)
    UN(F32_CEIL, f32_ceil_b(A32))
    UN(F32_FLOOR, f32_floor_b(A32))
    UN(F32_TRUNC, f32_trunc_b(A32))
    UN(F32_NEAREST, f32_nearest_b(A32))
    UN(F32_SQRT, BF32(sqrt32(FA32)))
    BIN(F32_ADD, BF32(FA32 + FB32))
    BIN(F32_SUB, BF32(FA32 - FB32))
    BIN(F32_MUL, BF32(FA32 * FB32))
    BIN(F32_DIV, BF32(FA32 / FB32))
    BIN(F32_MIN, BF32(fmin32(FA32, FB32)))
    BIN(F32_MAX, BF32(fmax32(FA32, FB32)))
    BIN(F32_COPYSIGN, (A32 & 0x7fffffffu) | (B32 & 0x80000000u))
    UN(F64_ABS, A64 & 0x7fffffffffffffffull)
    UN(F64_NEG, A64 ^ 0x8000000000000000ull)
    UN(F64_CEIL, f64_ceil_b(A64))
    UN(F64_FLOOR, f64_floor_b(A64))
    UN(F64_TRUNC, f64_trunc_b(A64))
    UN(F64_NEAREST, f64_nearest_b(A64))
    UN(F64_SQRT, BF64(sqrt64(FA64)))
    BIN(F64_ADD, BF64(FA64 + FB64))
    BIN(F64_SUB, BF64(FA64 - FB64))
    BIN(F64_MUL, BF64(FA64 * FB64))
    BIN(F64_DIV, BF64(FA64 / FB64))
    BIN(F64_MIN, BF64(fmin64(FA64, FB64)))
    BIN(F64_MAX, BF64(fmax64(FA64, FB64)))
    BIN(F64_COPYSIGN, (A64 & 0x7fffffffffffffffull) | (B64 & 0x8000000000000000ull))

    UN(I32_WRAP_I64, (uint32_t)A64)
#define TRUNC(name, FX, lo_ok, hi_ok, CONV)                                                                  \
    L_##name : {                                                                                             \
        __auto_type x = FX;                                                                                  \
        if (x != x)                                                                                          \
            TRAP(WASM_TRAP_INVALID_CONVERSION);                                                              \
        if (!(lo_ok && hi_ok))                                                                               \
            TRAP(WASM_TRAP_INT_OVERFLOW);                                                                    \
        R(1) = CONV;                                                                                         \
        NEXT(3);                                                                                             \
    }
    TRUNC(I32_TRUNC_F32_S, FA32, x >= -2147483648.0f, x < 2147483648.0f, (uint32_t)(int32_t)x)
    TRUNC(I32_TRUNC_F32_U, FA32, x > -1.0f, x < 4294967296.0f, (uint32_t)x)
    TRUNC(I32_TRUNC_F64_S, FA64, x > -2147483649.0, x < 2147483648.0, (uint32_t)(int32_t)x)
    TRUNC(I32_TRUNC_F64_U, FA64, x > -1.0, x < 4294967296.0, (uint32_t)x)
    UN(I64_EXTEND_I32_S, (uint64_t)(int64_t)SA32)
    UN(I64_EXTEND_I32_U, (uint64_t)A32)
    TRUNC(I64_TRUNC_F32_S, FA32, x >= -9223372036854775808.0f, x < 9223372036854775808.0f, (uint64_t)(int64_t)x)
    TRUNC(I64_TRUNC_F32_U, FA32, x > -1.0f, x < 18446744073709551616.0f, (uint64_t)x)
    TRUNC(I64_TRUNC_F64_S, FA64, x >= -9223372036854775808.0, x < 9223372036854775808.0, (uint64_t)(int64_t)x)
    TRUNC(I64_TRUNC_F64_U, FA64, x > -1.0, x < 18446744073709551616.0, (uint64_t)x)
    UN(F32_CONVERT_I32_S, BF32((float)SA32))
    UN(F32_CONVERT_I32_U, BF32((float)A32))
    UN(F32_CONVERT_I64_S, BF32((float)SA64))
    UN(F32_CONVERT_I64_U, BF32((float)A64))
    UN(F32_DEMOTE_F64, BF32((float)FA64))
    UN(F64_CONVERT_I32_S, BF64((double)SA32))
    UN(F64_CONVERT_I32_U, BF64((double)A32))
    UN(F64_CONVERT_I64_S, BF64((double)SA64))
    UN(F64_CONVERT_I64_U, BF64((double)A64))
    UN(F64_PROMOTE_F32, BF64((double)FA32))
    UN(I32_EXTEND8_S, (uint32_t)(int32_t)(int8_t)A32)
    UN(I32_EXTEND16_S, (uint32_t)(int32_t)(int16_t)A32)
    UN(I64_EXTEND8_S, (uint64_t)(int64_t)(int8_t)A64)
    UN(I64_EXTEND16_S, (uint64_t)(int64_t)(int16_t)A64)
    UN(I64_EXTEND32_S, (uint64_t)(int64_t)(int32_t)A64)
    UN(I32_TRUNC_SAT_F32_S, sat_i32_s((double)FA32))
    UN(I32_TRUNC_SAT_F32_U, sat_i32_u((double)FA32))
    UN(I32_TRUNC_SAT_F64_S, sat_i32_s(FA64))
    UN(I32_TRUNC_SAT_F64_U, sat_i32_u(FA64))
    UN(I64_TRUNC_SAT_F32_S, sat_i64_s((double)FA32))
    UN(I64_TRUNC_SAT_F32_U, sat_i64_u((double)FA32))
    UN(I64_TRUNC_SAT_F64_S, sat_i64_s(FA64))
    UN(I64_TRUNC_SAT_F64_U, sat_i64_u(FA64))

    /* immediate forms: [dst, a, imm] */
    BIN(I32_ADDI, (uint32_t)(A32 + (uint32_t)ip[3]))
    BIN(I32_SUBI, (uint32_t)(A32 - (uint32_t)ip[3]))
    BIN(I32_ANDI, A32 & (uint32_t)ip[3])
    BIN(I32_SHLI, (uint32_t)(A32 << (ip[3] & 31)))
    BIN(I32_SHRUI, A32 >> (ip[3] & 31))
    BIN(I32_SHRSI, (uint32_t)(SA32 >> (ip[3] & 31)))
    BIN(I64_ADDI, A64 + ip[3])

    /* fused compare-and-branch: [a, b, off] */
#define CB(name, cond)                                                                                       \
    L_##name##_BRIF : if (cond) {                                                                            \
        JUMP(ip[3]);                                                                                          \
    }                                                                                                        \
    NEXT(4);                                                                                                 \
    L_##name##_BRUNLESS : if (!(cond)) {                                                                     \
        JUMP(ip[3]);                                                                                          \
    }                                                                                                        \
    NEXT(4);
#define CA32 ((uint32_t)R(1))
#define CB32 ((uint32_t)R(2))
    CB(I32_EQZ, CA32 == 0)
    CB(I32_LT_S, (int32_t)CA32 < (int32_t)CB32)
    CB(I32_LT_U, CA32 < CB32)
    CB(I32_NE, CA32 != CB32)
    CB(I32_EQ, CA32 == CB32)
    CB(I32_GE_S, (int32_t)CA32 >= (int32_t)CB32)
    CB(I32_GE_U, CA32 >= CB32)
    CB(I32_GT_S, (int32_t)CA32 > (int32_t)CB32)
    CB(I32_GT_U, CA32 > CB32)
    CB(I32_LE_S, (int32_t)CA32 <= (int32_t)CB32)
    CB(I32_LE_U, CA32 <= CB32)

trapped:
    set_trap(err, trap, f, ip, detail);
    t->nframes = frame_base;
    return -1;
interrupted:
    *intr = 0;
    wasm__set_err(err, WASM_ERR_INTERRUPTED, "interrupted in function %u", f->idx);
    err->func = f->idx;
    t->nframes = frame_base;
    return -1;
failed:
    if (err->kind == WASM_ERR_EXHAUSTION) {
        err->func = f->idx;
        err->offset = map_offset(f->code, ip);
    }
    t->nframes = frame_base;
    return -1;
}

const void *const *wasm__handlers(void) {
    const void *const *tbl = NULL;
    run(NULL, NULL, 0, NULL, &tbl);
    return tbl;
}

/* Calls f (any function) with args; results into results (nresults of its type). */
int wasm__invoke(wasm_instance *inst, wfuncinst *f, const wasm_val *args, wasm_val *results, wasm_error *err) {
    const wasm_functype *ft = f->type;
    if (!f->code) {
        /* a host function re-exported */
        uint64_t buf[16];
        uint64_t *s = buf;
        size_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
        if (n > 16) {
            s = calloc(n, sizeof *s);
            if (!s) {
                wasm__set_err(err, WASM_ERR_NOMEM, "out of memory");
                return -1;
            }
        }
        for (uint32_t i = 0; i < ft->nparams; i++)
            s[i] = args[i].v.i64;
        int rc = call_host(f, s, err);
        if (rc == 0)
            for (uint32_t i = 0; i < ft->nresults; i++) {
                results[i].type = ft->results[i];
                results[i].v.i64 = s[i];
            }
        if (s != buf)
            free(s);
        return rc;
    }
    wasm_instance *owner = f->inst;
    (void)inst;
    wthread *t = owner->thread;
    if (t)
        owner->thread = NULL;
    else {
        t = thread_new(&owner->lim);
        if (!t) {
            wasm__set_err(err, WASM_ERR_NOMEM, "out of memory");
            return -1;
        }
    }
    int rc = -1;
    size_t need = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    if (stack_reserve(t, need + f->code->frame_slots, err)) {
        for (uint32_t i = 0; i < ft->nparams; i++) {
            uint64_t v = args[i].v.i64;
            if (ft->params[i] == WASM_I32 || ft->params[i] == WASM_F32)
                v = (uint32_t)v;
            t->stack[i] = v;
        }
        t->nframes = 0;
        owner->interrupt = 0;
        rc = run(t, f, 0, err, NULL);
        if (rc == 0)
            for (uint32_t i = 0; i < ft->nresults; i++) {
                results[i].type = ft->results[i];
                uint64_t v = t->stack[i];
                if (ft->results[i] == WASM_I32 || ft->results[i] == WASM_F32)
                    v = (uint32_t)v;
                results[i].v.i64 = v;
            }
    }
    if (!owner->thread)
        owner->thread = t;
    else
        thread_free(t);
    return rc;
}

/* ---- instances ---------------------------------------------------------------------------- */

static bool limits_match(uint64_t have_min, bool have_has_max, uint64_t have_max, const wlimits *want) {
    if (have_min < want->min)
        return false;
    if (want->has_max) {
        if (!have_has_max || have_max > want->max)
            return false;
    }
    return true;
}

void wasm_instance_free(wasm_instance *inst) {
    if (!inst)
        return;
    const wasm_module *m = inst->m;
    if (inst->own_tables) {
        for (uint32_t i = 0; i + m->ntable_imports < m->ntables; i++)
            free(inst->own_tables[i].elems);
        free(inst->own_tables);
    }
    free(inst->own_mem.data);
    free(inst->own_funcs);
    free(inst->host_funcs);
    free(inst->funcs);
    free(inst->tables);
    free(inst->globals);
    free(inst->own_globals);
    free(inst->elem_dropped);
    free(inst->data_dropped);
    thread_free(inst->thread);
    free(inst);
}

static wasm_instance *inst_fail(wasm_instance *inst, wasm_error *err, wasm_error_kind kind, const char *fmt,
                                const char *a, const char *b) {
    wasm__set_err(err, kind, fmt, a, b);
    wasm_instance_free(inst);
    return NULL;
}

wasm_instance *wasm_instance_new(const wasm_module *m, const wasm_limits *lim, wasm_resolver resolve,
                                 void *resolve_user, wasm_error *err) {
    wasm_error dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof *err);
    err->func = UINT32_MAX;
    wasm_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        wasm__set_err(err, WASM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    inst->m = m;
    inst->lim = m->lim;
    if (lim) {
        if (lim->max_memory_pages)
            inst->lim.max_memory_pages = lim->max_memory_pages;
        if (lim->max_table_elems)
            inst->lim.max_table_elems = lim->max_table_elems;
        if (lim->max_call_depth)
            inst->lim.max_call_depth = lim->max_call_depth;
        if (lim->max_value_stack)
            inst->lim.max_value_stack = lim->max_value_stack;
    }
    uint32_t ndef = m->nfuncs - m->nfunc_imports;
    inst->funcs = calloc((size_t)m->nfuncs + 1, sizeof *inst->funcs);
    inst->own_funcs = calloc((size_t)ndef + 1, sizeof *inst->own_funcs);
    inst->host_funcs = calloc((size_t)m->nfunc_imports + 1, sizeof *inst->host_funcs);
    inst->tables = calloc((size_t)m->ntables + 1, sizeof *inst->tables);
    inst->own_tables = calloc((size_t)(m->ntables - m->ntable_imports) + 1, sizeof *inst->own_tables);
    inst->globals = calloc((size_t)m->nglobals + 1, sizeof *inst->globals);
    inst->own_globals = calloc((size_t)(m->nglobals - m->nglobal_imports) + 1, sizeof *inst->own_globals);
    inst->elem_dropped = calloc((size_t)m->nelems + 1, 1);
    inst->data_dropped = calloc((size_t)m->ndatas + 1, 1);
    if (!inst->funcs || !inst->own_funcs || !inst->tables || !inst->own_tables || !inst->globals ||
        !inst->own_globals || !inst->elem_dropped || !inst->data_dropped || !inst->host_funcs)
        return inst_fail(inst, err, WASM_ERR_NOMEM, "out of memory%s%s", "", "");

    /* imports */
    uint32_t fi = 0, ti = 0, gi = 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const wimport *im = &m->imports[i];
        wasm_import_value v;
        memset(&v, 0, sizeof v);
        if (!resolve || resolve(resolve_user, m, i, &v) != 0)
            return inst_fail(inst, err, WASM_ERR_LINK, "unknown import \"%s\" \"%s\"", im->mod, im->name);
        if (v.kind != im->kind)
            return inst_fail(inst, err, WASM_ERR_LINK, "incompatible import type for \"%s\" \"%s\": wrong kind",
                             im->mod, im->name);
        switch (im->kind) {
        case WASM_EXTERN_FUNC: {
            const wasm_functype *want = &m->types[im->type];
            wfuncinst *fn;
            if (v.from) {
                if (v.index >= v.from->m->nfuncs)
                    return inst_fail(inst, err, WASM_ERR_LINK, "unknown import \"%s\" \"%s\"", im->mod, im->name);
                fn = v.from->funcs[v.index];
            } else {
                if (!v.fn || !wasm__functype_eq(&v.type, want))
                    return inst_fail(inst, err, WASM_ERR_LINK,
                                     "incompatible import type for \"%s\" \"%s\": function type differs", im->mod,
                                     im->name);
                /* host function: allocate a function object owned by this instance */
                fn = &inst->host_funcs[fi];
                fn->type = want;
                fn->sig = m->type_sig[im->type];
                fn->fn = v.fn;
                fn->user = v.user;
                fn->host_inst = inst;
                fn->idx = fi;
            }
            if (!wasm__functype_eq(fn->type, want))
                return inst_fail(inst, err, WASM_ERR_LINK,
                                 "incompatible import type for \"%s\" \"%s\": function type differs", im->mod,
                                 im->name);
            inst->funcs[fi++] = fn;
            break;
        }
        case WASM_EXTERN_TABLE: {
            if (!v.from || v.index >= v.from->m->ntables)
                return inst_fail(inst, err, WASM_ERR_LINK, "unknown import \"%s\" \"%s\"", im->mod, im->name);
            wtableinst *tb = v.from->tables[v.index];
            const wtable *decl = &v.from->m->tables[v.index];
            if (tb->elem != im->table.elem ||
                !limits_match(tb->size, decl->lim.has_max, decl->lim.max, &im->table.lim))
                return inst_fail(inst, err, WASM_ERR_LINK, "incompatible import type for \"%s\" \"%s\": table",
                                 im->mod, im->name);
            inst->tables[ti++] = tb;
            break;
        }
        case WASM_EXTERN_MEMORY: {
            if (!v.from || !v.from->mem || v.index != 0)
                return inst_fail(inst, err, WASM_ERR_LINK, "unknown import \"%s\" \"%s\"", im->mod, im->name);
            wmeminst *mem = v.from->mem;
            const wlimits *decl = &v.from->m->mems[0];
            if (!limits_match(mem->pages, decl->has_max, decl->max, &im->mem))
                return inst_fail(inst, err, WASM_ERR_LINK, "incompatible import type for \"%s\" \"%s\": memory",
                                 im->mod, im->name);
            inst->mem = mem;
            break;
        }
        case WASM_EXTERN_GLOBAL: {
            if (!v.from || v.index >= v.from->m->nglobals)
                return inst_fail(inst, err, WASM_ERR_LINK, "unknown import \"%s\" \"%s\"", im->mod, im->name);
            wglobalinst *g = v.from->globals[v.index];
            if (g->type != im->global.type || g->mut != im->global.mut)
                return inst_fail(inst, err, WASM_ERR_LINK, "incompatible import type for \"%s\" \"%s\": global",
                                 im->mod, im->name);
            inst->globals[gi++] = g;
            break;
        }
        }
    }
    /* defined functions */
    for (uint32_t i = 0; i < ndef; i++) {
        wfuncinst *fn = &inst->own_funcs[i];
        uint32_t idx = m->nfunc_imports + i;
        fn->type = &m->types[m->func_type[idx]];
        fn->sig = m->type_sig[m->func_type[idx]];
        fn->inst = inst;
        fn->code = &m->codes[i];
        fn->idx = idx;
        inst->funcs[idx] = fn;
    }
    /* globals */
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        wglobalinst *g = &inst->own_globals[i - m->nglobal_imports];
        g->type = m->globals[i].type;
        g->mut = m->globals[i].mut;
        g->val = eval_const(inst, &m->globals[i].init);
        inst->globals[i] = g;
    }
    /* tables */
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        wtableinst *tb = &inst->own_tables[i - m->ntable_imports];
        const wtable *d = &m->tables[i];
        uint32_t max = d->lim.has_max ? d->lim.max : UINT32_MAX;
        if (max > inst->lim.max_table_elems)
            max = inst->lim.max_table_elems;
        if (d->lim.min > max)
            return inst_fail(inst, err, WASM_ERR_LIMIT, "table of %s elements is over the limit%s", "min", "");
        tb->elem = d->elem;
        tb->max = max;
        tb->size = d->lim.min;
        tb->elems = calloc((size_t)d->lim.min + 1, sizeof *tb->elems);
        if (!tb->elems)
            return inst_fail(inst, err, WASM_ERR_NOMEM, "out of memory%s%s", "", "");
        inst->tables[i] = tb;
    }
    /* memory */
    if (m->nmems > m->nmem_imports) {
        const wlimits *d = &m->mems[0];
        uint32_t max = d->has_max ? d->max : 65536;
        if (max > inst->lim.max_memory_pages)
            max = inst->lim.max_memory_pages;
        if (d->min > max)
            return inst_fail(inst, err, WASM_ERR_LIMIT, "memory minimum is over the page limit%s%s", "", "");
        inst->own_mem.max = max;
        inst->own_mem.pages = 0;
        inst->own_mem.size = 0;
        inst->mem = &inst->own_mem;
        if (d->min && mem_grow(&inst->own_mem, d->min) < 0)
            return inst_fail(inst, err, WASM_ERR_NOMEM, "out of memory for the linear memory%s%s", "", "");
    }
    /* element segments */
    bool shared_writes = false;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const welem *e = &m->elems[i];
        if (e->mode == WSEG_ACTIVE) {
            uint32_t off = (uint32_t)eval_const(inst, &e->offset);
            if (e->table < m->ntable_imports && e->n)
                shared_writes = true;
            if (!do_table_init(inst, e->table, i, off, 0, e->n)) {
                set_trap(err, WASM_TRAP_TABLE_OOB, NULL, NULL, " (element segment)");
                if (shared_writes)
                    return NULL; /* its functions may be referenced from a shared table: keep it */
                wasm_instance_free(inst);
                return NULL;
            }
            inst->elem_dropped[i] = 1;
        } else if (e->mode == WSEG_DECLARATIVE)
            inst->elem_dropped[i] = 1;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const wdata *ds = &m->datas[i];
        if (ds->mode == WSEG_ACTIVE) {
            uint32_t off = (uint32_t)eval_const(inst, &ds->offset);
            if (!do_memory_init(inst, i, off, 0, ds->len)) {
                set_trap(err, WASM_TRAP_MEMORY_OOB, NULL, NULL, " (data segment)");
                if (shared_writes)
                    return NULL;
                wasm_instance_free(inst);
                return NULL;
            }
            inst->data_dropped[i] = 1;
        }
    }
    if (m->has_start) {
        if (wasm__invoke(inst, inst->funcs[m->start], NULL, NULL, err) != 0) {
            if (shared_writes)
                return NULL;
            wasm_instance_free(inst);
            return NULL;
        }
    }
    return inst;
}

int wasm_call(wasm_instance *inst, uint32_t func, const wasm_val *args, size_t nargs, wasm_val *results,
              size_t nresults, wasm_error *err) {
    wasm_error dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof *err);
    err->func = func;
    if (func >= inst->m->nfuncs) {
        wasm__set_err(err, WASM_ERR_INVALID, "call: no function %u", func);
        return -1;
    }
    wfuncinst *f = inst->funcs[func];
    const wasm_functype *ft = f->type;
    if (nargs != ft->nparams || nresults < ft->nresults) {
        wasm__set_err(err, WASM_ERR_INVALID, "call: function %u takes %u arguments and returns %u results", func,
                      ft->nparams, ft->nresults);
        return -1;
    }
    for (uint32_t i = 0; i < ft->nparams; i++)
        if (args[i].type != ft->params[i]) {
            wasm__set_err(err, WASM_ERR_INVALID, "call: argument %u of function %u has the wrong type", i, func);
            return -1;
        }
    return wasm__invoke(inst, f, args, results, err);
}

int64_t wasm_instance_export_func(const wasm_instance *inst, const char *name) {
    const wasm_module *m = inst->m;
    size_t n = strlen(name);
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WASM_EXTERN_FUNC && m->exports[i].namelen == n &&
            !memcmp(m->exports[i].name, name, n))
            return m->exports[i].idx;
    return -1;
}

int wasm_instance_global_get(const wasm_instance *inst, const char *name, wasm_val *out) {
    const wasm_module *m = inst->m;
    size_t n = strlen(name);
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WASM_EXTERN_GLOBAL && m->exports[i].namelen == n &&
            !memcmp(m->exports[i].name, name, n)) {
            const wglobalinst *g = inst->globals[m->exports[i].idx];
            out->type = g->type;
            out->v.i64 = g->val;
            return 0;
        }
    return -1;
}

uint8_t *wasm_instance_memory(wasm_instance *inst, size_t *len) {
    if (!inst->mem) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = (size_t)inst->mem->size;
    return inst->mem->data;
}

void wasm_interrupt(wasm_instance *inst) {
    inst->interrupt = 1;
}
