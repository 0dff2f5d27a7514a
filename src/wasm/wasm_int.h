/*
 * wasm_int.h - private structures shared by the decoder/validator/compiler
 * (wasm_mod.c) and the interpreter (wasm_exec.c).
 *
 * Compiled code: each function body is translated once, at decode time,
 * into an array of 64-bit cells.  An instruction is a handler address (the
 * interpreter's computed-goto label) followed by its operands.  Operands
 * that name values are slot indices in the frame: a frame is
 *     [params][locals][operand stack]
 * of 64-bit slots, and because the validator knows the operand stack height
 * at every instruction, every stack operand becomes a fixed slot index.
 * Branch targets are cell offsets relative to the branching instruction.
 */
#ifndef GLINT_WASM_INT_H
#define GLINT_WASM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasm.h"

typedef uint64_t wcell;

/* Value type "unknown" for the validator's polymorphic stack. */
#define WT_ANY 0

enum { WEXPR_NONE = 0, WEXPR_CONST, WEXPR_GLOBAL, WEXPR_REFNULL, WEXPR_REFFUNC };

/* A constant expression (2.0: one instruction then end). */
typedef struct wexpr {
    uint8_t kind;
    uint8_t type; /* value type it produces */
    uint32_t idx; /* global or function index */
    uint64_t val; /* const bits */
} wexpr;

typedef struct wlimits {
    uint32_t min, max;
    bool has_max;
} wlimits;

typedef struct wtable {
    uint8_t elem;
    wlimits lim;
} wtable;

typedef struct wglobal {
    uint8_t type;
    uint8_t mut;
    wexpr init;
} wglobal;

typedef struct wimport {
    char *mod, *name;
    uint32_t modlen, namelen;
    uint8_t kind;
    uint32_t type;      /* FUNC: type index */
    wtable table;       /* TABLE */
    wlimits mem;        /* MEMORY */
    wglobal global;     /* GLOBAL (init unused) */
} wimport;

typedef struct wexport {
    char *name;
    uint32_t namelen;
    uint8_t kind;
    uint32_t idx;
} wexport;

enum { WSEG_ACTIVE = 0, WSEG_PASSIVE, WSEG_DECLARATIVE };

typedef struct welem {
    uint8_t mode;
    uint8_t type;
    uint32_t table;
    wexpr offset;
    uint32_t n;
    wexpr *items;
} welem;

typedef struct wdata {
    uint8_t mode;
    uint32_t mem;
    wexpr offset;
    uint32_t len;
    uint8_t *bytes;
} wdata;

/* A (trap) map entry: code cell position -> module byte offset. */
typedef struct wmap {
    uint32_t pos, off;
} wmap;

typedef struct wcode {
    uint32_t type;
    uint32_t nlocals;        /* params + declared locals */
    uint32_t frame_slots;    /* nlocals + max operand stack height (+ slack) */
    uint32_t body_off;
    wcell *code;
    size_t ncode;
    wmap *map;
    size_t nmap;
} wcode;

typedef struct wcustom {
    char *name;
    uint8_t *bytes;
    size_t len;
} wcustom;

struct wasm_module {
    wasm_limits lim;
    uint32_t ntypes;
    wasm_functype *types;
    uint64_t *type_sig;      /* a hash per type, for fast call_indirect checks */
    uint32_t nimports;
    wimport *imports;
    uint32_t nfuncs, nfunc_imports;      /* nfuncs counts imports too */
    uint32_t *func_type;                 /* per function (imports first) */
    uint32_t ntables, ntable_imports;
    wtable *tables;
    uint32_t nmems, nmem_imports;
    wlimits *mems;
    uint32_t nglobals, nglobal_imports;
    wglobal *globals;
    uint32_t nexports;
    wexport *exports;
    bool has_start;
    uint32_t start;
    uint32_t nelems;
    welem *elems;
    uint32_t ndatas;
    wdata *datas;
    bool has_datacount;
    uint32_t datacount;
    wcode *codes;            /* nfuncs - nfunc_imports */
    uint8_t *declared_refs;  /* per function: may appear in ref.func */
    char **func_names;       /* name section, per function, or NULL */
    uint32_t ncustoms;
    wcustom *customs;
};

/* ---- runtime objects ------------------------------------------------------- */

typedef struct wfuncinst {
    const wasm_functype *type;
    uint64_t sig;
    wasm_instance *inst;     /* owner (NULL for host functions) */
    const wcode *code;       /* NULL for host functions */
    wasm_host_fn fn;
    void *user;
    wasm_instance *host_inst; /* instance passed to the host fn */
    uint32_t idx;            /* index in the owner's space */
} wfuncinst;

typedef struct wtableinst {
    uint8_t elem;
    uint32_t size, max;      /* max already clamped by limits */
    uint64_t *elems;
} wtableinst;

typedef struct wmeminst {
    uint8_t *data;
    uint64_t size;           /* bytes */
    uint32_t pages, max;     /* max clamped by limits */
} wmeminst;

typedef struct wglobalinst {
    uint64_t val;
    uint8_t type, mut;
} wglobalinst;

typedef struct wthread wthread;

struct wasm_instance {
    const wasm_module *m;
    wasm_limits lim;
    wfuncinst **funcs;       /* nfuncs */
    wfuncinst *own_funcs;    /* defined functions */
    wfuncinst *host_funcs;   /* imported host functions (per import slot) */
    wtableinst **tables;
    wtableinst *own_tables;
    wmeminst *mem;           /* memory 0 or NULL */
    wmeminst own_mem;
    wglobalinst **globals;
    wglobalinst *own_globals;
    uint8_t *elem_dropped;   /* per element segment */
    uint8_t *data_dropped;   /* per data segment */
    volatile int interrupt;
    wthread *thread;         /* cached execution stack, NULL while in use */
};

/* wasm_exec.c */
const void *const *wasm__handlers(void);
int wasm__invoke(wasm_instance *inst, wfuncinst *f, const wasm_val *args, wasm_val *results, wasm_error *err);
void wasm__set_err(wasm_error *err, wasm_error_kind kind, const char *fmt, ...);
void wasm__vfmt(char *buf, size_t n, const char *fmt, __builtin_va_list ap);
bool wasm__functype_eq(const wasm_functype *a, const wasm_functype *b);

/* Opcodes of the internal form: the interpreter's handler table order. */
#define WOPS(X) \
    X(UNREACHABLE) X(NOP) X(JMP) X(JMPC) X(BRIF) X(BRIFC) X(BRUNLESS) X(BRTABLE) X(RETURN) X(LOOPCHK) \
    X(CALL) X(CALL_INDIRECT) X(SELECT) X(MOV) X(MOV2) X(CONST) \
    X(GLOBAL_GET) X(GLOBAL_SET) X(TABLE_GET) X(TABLE_SET) X(TABLE_SIZE) X(TABLE_GROW) X(TABLE_FILL) \
    X(TABLE_COPY) X(TABLE_INIT) X(ELEM_DROP) X(MEMORY_SIZE) X(MEMORY_GROW) X(MEMORY_FILL) \
    X(MEMORY_COPY) X(MEMORY_INIT) X(DATA_DROP) X(REF_FUNC) X(REF_IS_NULL) \
    X(I32_LOAD) X(I64_LOAD) X(F32_LOAD) X(F64_LOAD) X(I32_LOAD8_S) X(I32_LOAD8_U) X(I32_LOAD16_S) \
    X(I32_LOAD16_U) X(I64_LOAD8_S) X(I64_LOAD8_U) X(I64_LOAD16_S) X(I64_LOAD16_U) X(I64_LOAD32_S) \
    X(I64_LOAD32_U) X(I32_STORE) X(I64_STORE) X(F32_STORE) X(F64_STORE) X(I32_STORE8) X(I32_STORE16) \
    X(I64_STORE8) X(I64_STORE16) X(I64_STORE32) \
    X(I32_EQZ) X(I32_EQ) X(I32_NE) X(I32_LT_S) X(I32_LT_U) X(I32_GT_S) X(I32_GT_U) X(I32_LE_S) \
    X(I32_LE_U) X(I32_GE_S) X(I32_GE_U) \
    X(I64_EQZ) X(I64_EQ) X(I64_NE) X(I64_LT_S) X(I64_LT_U) X(I64_GT_S) X(I64_GT_U) X(I64_LE_S) \
    X(I64_LE_U) X(I64_GE_S) X(I64_GE_U) \
    X(F32_EQ) X(F32_NE) X(F32_LT) X(F32_GT) X(F32_LE) X(F32_GE) \
    X(F64_EQ) X(F64_NE) X(F64_LT) X(F64_GT) X(F64_LE) X(F64_GE) \
    X(I32_CLZ) X(I32_CTZ) X(I32_POPCNT) X(I32_ADD) X(I32_SUB) X(I32_MUL) X(I32_DIV_S) X(I32_DIV_U) \
    X(I32_REM_S) X(I32_REM_U) X(I32_AND) X(I32_OR) X(I32_XOR) X(I32_SHL) X(I32_SHR_S) X(I32_SHR_U) \
    X(I32_ROTL) X(I32_ROTR) \
    X(I64_CLZ) X(I64_CTZ) X(I64_POPCNT) X(I64_ADD) X(I64_SUB) X(I64_MUL) X(I64_DIV_S) X(I64_DIV_U) \
    X(I64_REM_S) X(I64_REM_U) X(I64_AND) X(I64_OR) X(I64_XOR) X(I64_SHL) X(I64_SHR_S) X(I64_SHR_U) \
    X(I64_ROTL) X(I64_ROTR) \
    X(F32_ABS) X(F32_NEG) X(F32_CEIL) X(F32_FLOOR) X(F32_TRUNC) X(F32_NEAREST) X(F32_SQRT) X(F32_ADD) \
    X(F32_SUB) X(F32_MUL) X(F32_DIV) X(F32_MIN) X(F32_MAX) X(F32_COPYSIGN) \
    X(F64_ABS) X(F64_NEG) X(F64_CEIL) X(F64_FLOOR) X(F64_TRUNC) X(F64_NEAREST) X(F64_SQRT) X(F64_ADD) \
    X(F64_SUB) X(F64_MUL) X(F64_DIV) X(F64_MIN) X(F64_MAX) X(F64_COPYSIGN) \
    X(I32_WRAP_I64) X(I32_TRUNC_F32_S) X(I32_TRUNC_F32_U) X(I32_TRUNC_F64_S) X(I32_TRUNC_F64_U) \
    X(I64_EXTEND_I32_S) X(I64_EXTEND_I32_U) X(I64_TRUNC_F32_S) X(I64_TRUNC_F32_U) X(I64_TRUNC_F64_S) \
    X(I64_TRUNC_F64_U) X(F32_CONVERT_I32_S) X(F32_CONVERT_I32_U) X(F32_CONVERT_I64_S) \
    X(F32_CONVERT_I64_U) X(F32_DEMOTE_F64) X(F64_CONVERT_I32_S) X(F64_CONVERT_I32_U) \
    X(F64_CONVERT_I64_S) X(F64_CONVERT_I64_U) X(F64_PROMOTE_F32) \
    X(I32_EXTEND8_S) X(I32_EXTEND16_S) X(I64_EXTEND8_S) X(I64_EXTEND16_S) X(I64_EXTEND32_S) \
    X(I32_TRUNC_SAT_F32_S) X(I32_TRUNC_SAT_F32_U) X(I32_TRUNC_SAT_F64_S) X(I32_TRUNC_SAT_F64_U) \
    X(I64_TRUNC_SAT_F32_S) X(I64_TRUNC_SAT_F32_U) X(I64_TRUNC_SAT_F64_S) X(I64_TRUNC_SAT_F64_U) \
    X(I32_ADDI) X(I32_SUBI) X(I32_ANDI) X(I32_SHLI) X(I32_SHRUI) X(I32_SHRSI) X(I64_ADDI) \
    X(I32_EQZ_BRIF) X(I32_LT_S_BRIF) X(I32_LT_U_BRIF) X(I32_NE_BRIF) X(I32_EQ_BRIF) \
    X(I32_GE_S_BRIF) X(I32_GE_U_BRIF) X(I32_GT_S_BRIF) X(I32_GT_U_BRIF) X(I32_LE_S_BRIF) X(I32_LE_U_BRIF) \
    X(I32_EQZ_BRUNLESS) X(I32_LT_S_BRUNLESS) X(I32_LT_U_BRUNLESS) X(I32_NE_BRUNLESS) X(I32_EQ_BRUNLESS) \
    X(I32_GE_S_BRUNLESS) X(I32_GE_U_BRUNLESS) X(I32_GT_S_BRUNLESS) X(I32_GT_U_BRUNLESS) \
    X(I32_LE_S_BRUNLESS) X(I32_LE_U_BRUNLESS)

#define WOP_ENUM(n) WOP_##n,
enum wop { WOPS(WOP_ENUM) WOP__COUNT };
#undef WOP_ENUM

#endif
