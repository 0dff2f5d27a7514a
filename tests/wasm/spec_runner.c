/*
 * spec_runner.c - runs the WebAssembly spec test suite (as converted by
 * wast2json) against glint's engine (src/wasm).
 *
 *   spec_runner [-v] FILE.json...
 *
 * For each JSON command list: module, register, action, assert_return,
 * assert_trap, assert_exhaustion, assert_invalid, assert_malformed (binary
 * modules only; text modules are skipped), assert_unlinkable,
 * assert_uninstantiable.  Prints one line per file and a total.
 *
 * Built twice (scripts/wasm-spec.sh): for the host, with jansson, and, with
 * SPEC_IN_SANDBOX, as a glint guest (glint-cc, the engine compiled for the
 * guest, tests/wasm/minijson for the JSON): then the whole run, engine
 * included, happens inside a sandbox; files come from the host function
 * read_file, and tests/wasm/spec_sandbox.c is the host that calls Run.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/wasm/wasm.h"

#ifdef SPEC_IN_SANDBOX
#include <glint/guest.h>

/* read_file(path) -> bytes, granted by tests/wasm/spec_sandbox.c. */
uint8_t *spec_read_file(const char *path, size_t *len)
{
    glint_val arg = {.type = GLINT_STRING}, ret;
    arg.v.str.ptr = path;
    arg.v.str.len = strlen(path);
    if (glint_host_call("read_file", GLINT_BYTES, &ret, 1, &arg) != 0)
        return NULL;
    uint8_t *b = malloc(ret.v.bytes.len ? ret.v.bytes.len : 1);
    if (!b)
        return NULL;
    memcpy(b, ret.v.bytes.ptr, ret.v.bytes.len);
    *len = ret.v.bytes.len;
    return b;
}
#else
uint8_t *spec_read_file(const char *path, size_t *len);
uint8_t *spec_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || n < 0 || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}
#endif

static int verbose;
static wasm_limits lim;

/* ---- registry ---------------------------------------------------------------------- */

typedef struct entry {
    char *name;            /* "$name" of a module command, or NULL */
    wasm_module *m;
    wasm_instance *inst;
} entry;

typedef struct reg {
    char *as;
    wasm_instance *inst;
} reg;

static entry *ents;
static size_t nents;
static reg *regs;
static size_t nregs;
static wasm_instance *current;
static wasm_module *spectest_mod;
static wasm_instance *spectest;

static int host_print(void *user, wasm_instance *inst, const wasm_val *args, wasm_val *results, wasm_error *err) {
    (void)user, (void)inst, (void)args, (void)results, (void)err;
    return 0;
}

static const wasm_valtype T_I32[] = {WASM_I32}, T_I64[] = {WASM_I64}, T_F32[] = {WASM_F32}, T_F64[] = {WASM_F64},
                          T_I32F32[] = {WASM_I32, WASM_F32}, T_F64F64[] = {WASM_F64, WASM_F64};
static const struct {
    const char *name;
    wasm_functype t;
} prints[] = {
    {"print", {0, 0, NULL, NULL}},         {"print_i32", {1, 0, T_I32, NULL}},
    {"print_i64", {1, 0, T_I64, NULL}},    {"print_f32", {1, 0, T_F32, NULL}},
    {"print_f64", {1, 0, T_F64, NULL}},    {"print_i32_f32", {2, 0, T_I32F32, NULL}},
    {"print_f64_f64", {2, 0, T_F64F64, NULL}},
};

static wasm_instance *find_registered(const char *name, size_t len) {
    for (size_t i = nregs; i-- > 0;)
        if (strlen(regs[i].as) == len && !memcmp(regs[i].as, name, len))
            return regs[i].inst;
    return NULL;
}

static int resolve(void *user, const wasm_module *m, size_t i, wasm_import_value *out) {
    (void)user;
    size_t ml, nl;
    const char *mod = wasm_module_import_module(m, i, &ml);
    const char *name = wasm_module_import_name(m, i, &nl);
    wasm_instance *from = NULL;
    if (ml == 8 && !memcmp(mod, "spectest", 8)) {
        for (size_t k = 0; k < sizeof prints / sizeof prints[0]; k++)
            if (strlen(prints[k].name) == nl && !memcmp(prints[k].name, name, nl)) {
                out->kind = WASM_EXTERN_FUNC;
                out->fn = host_print;
                out->type = prints[k].t;
                return 0;
            }
        from = spectest;
    } else
        from = find_registered(mod, ml);
    if (!from)
        return -1;
    const wasm_module *fm = NULL;
    /* find the export by name in `from` */
    for (size_t e = 0; e < nents; e++)
        if (ents[e].inst == from)
            fm = ents[e].m;
    if (from == spectest)
        fm = spectest_mod;
    if (!fm)
        return -1;
    for (size_t e = 0; e < wasm_module_export_count(fm); e++) {
        size_t el;
        const char *en = wasm_module_export_name(fm, e, &el);
        if (el == nl && !memcmp(en, name, nl)) {
            out->kind = wasm_module_export_kind(fm, e);
            out->from = from;
            out->index = wasm_module_export_index(fm, e);
            return 0;
        }
    }
    return -1;
}

/* spectest: globals, table, memory as a tiny module */
static void build_spectest(void) {
    static const uint8_t bin[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        /* table */ 0x04, 0x05, 0x01, 0x70, 0x01, 0x0a, 0x14,
        /* memory */ 0x05, 0x04, 0x01, 0x01, 0x01, 0x02,
        /* global */ 0x06, 0x21, 0x04, 0x7f, 0x00, 0x41, 0x9a, 0x05, 0x0b, 0x7e, 0x00, 0x42, 0x9a, 0x05, 0x0b, 0x7d,
        0x00, 0x43, 0x66, 0xa6, 0x26, 0x44, 0x0b, 0x7c, 0x00, 0x44, 0xcd, 0xcc, 0xcc, 0xcc, 0xcc, 0xd4, 0x84, 0x40,
        0x0b,
        /* export */ 0x07, 0x46, 0x06, 0x0a, 'g', 'l', 'o', 'b', 'a', 'l', '_', 'i', '3', '2', 0x03, 0x00, 0x0a, 'g',
        'l', 'o', 'b', 'a', 'l', '_', 'i', '6', '4', 0x03, 0x01, 0x0a, 'g', 'l', 'o', 'b', 'a', 'l', '_', 'f', '3',
        '2', 0x03, 0x02, 0x0a, 'g', 'l', 'o', 'b', 'a', 'l', '_', 'f', '6', '4', 0x03, 0x03, 0x05, 't', 'a', 'b', 'l',
        'e', 0x01, 0x00, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00};
    wasm_error err;
    spectest_mod = wasm_module_new(bin, sizeof bin, &lim, &err);
    if (!spectest_mod) {
        fprintf(stderr, "spectest module: %s\n", err.msg);
        exit(2);
    }
    spectest = wasm_instance_new(spectest_mod, &lim, NULL, NULL, &err);
    if (!spectest) {
        fprintf(stderr, "spectest instance: %s\n", err.msg);
        exit(2);
    }
}

/* ---- helpers ------------------------------------------------------------------------- */

static char dir[4096];

static uint8_t *read_file(const char *name, size_t *len) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return spec_read_file(path, len);
}

static int npass, nfail, nskip;
static int tpass, tfail, tskip;
static const char *curfile;
static int shown;

/* Known failures (-k FILE): lines "FILE.json:LINE reason"; such a failure
 * is counted apart, and a known one that passes is reported. */
static char known[64][64];
static int nknown, known_hit[64];
static int tknown;

static int is_known(int line)
{
    char key[64];
    snprintf(key, sizeof key, "%s:%d", curfile, line);
    for (int i = 0; i < nknown; i++)
        if (!strcmp(known[i], key)) {
            known_hit[i] = 1;
            return 1;
        }
    return 0;
}

static void load_known(const char *path)
{
    size_t len = 0;
    uint8_t *b = spec_read_file(path, &len);
    if (!b) {
        fprintf(stderr, "spec_runner: cannot open %s\n", path);
        exit(2);
    }
    size_t at = 0;
    while (nknown < 64 && at < len) {
        size_t end = at;
        while (end < len && b[end] != '\n')
            end++;
        if (end > at && b[at] != '#') {
            size_t n = 0;
            while (at + n < end && n < 63 && b[at + n] != ' ' && b[at + n] != '\t')
                n++;
            memcpy(known[nknown], b + at, n);
            known[nknown][n] = 0;
            nknown++;
        }
        at = end + 1;
    }
    free(b);
}

__attribute__((format(printf, 2, 3))) static void failf(int line, const char *fmt, ...) {
    int k = is_known(line);
    if (k)
        tknown++;
    else
        nfail++;
    if (!verbose && shown >= 8)
        return;
    shown++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "  %s %s:%d: ", k ? "KNOWN" : "FAIL", curfile, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static wasm_valtype parse_type(const char *t) {
    if (!strcmp(t, "i32")) return WASM_I32;
    if (!strcmp(t, "i64")) return WASM_I64;
    if (!strcmp(t, "f32")) return WASM_F32;
    if (!strcmp(t, "f64")) return WASM_F64;
    if (!strcmp(t, "funcref")) return WASM_FUNCREF;
    if (!strcmp(t, "externref")) return WASM_EXTERNREF;
    return WASM_V128;
}

static bool parse_val(json_t *j, wasm_val *v) {
    const char *t = json_string_value(json_object_get(j, "type"));
    const char *s = json_string_value(json_object_get(j, "value"));
    if (!t)
        return false;
    v->type = parse_type(t);
    if (v->type == WASM_V128)
        return false;
    v->v.i64 = 0;
    if (v->type == WASM_FUNCREF || v->type == WASM_EXTERNREF) {
        if (!s || !strcmp(s, "null"))
            v->v.ref = 0;
        else
            v->v.ref = strtoull(s, NULL, 10) + 1;
        return true;
    }
    if (!s)
        return false;
    v->v.i64 = strtoull(s, NULL, 10);
    return true;
}

static wasm_instance *lookup_inst(json_t *action) {
    const char *mod = json_string_value(json_object_get(action, "module"));
    if (!mod)
        return current;
    for (size_t i = nents; i-- > 0;)
        if (ents[i].name && !strcmp(ents[i].name, mod))
            return ents[i].inst;
    return NULL;
}

/* Runs an action; 0 ok (results filled), -1 error in *err. */
static int do_action(json_t *action, wasm_val *res, size_t *nres, wasm_error *err, int line) {
    const char *type = json_string_value(json_object_get(action, "type"));
    const char *field = json_string_value(json_object_get(action, "field"));
    wasm_instance *inst = lookup_inst(action);
    memset(err, 0, sizeof *err);
    if (!inst) {
        snprintf(err->msg, sizeof err->msg, "no module for action");
        err->kind = WASM_ERR_LINK;
        return -2;
    }
    if (!strcmp(type, "get")) {
        if (wasm_instance_global_get(inst, field, &res[0]) != 0) {
            snprintf(err->msg, sizeof err->msg, "no global %s", field);
            return -2;
        }
        *nres = 1;
        return 0;
    }
    int64_t fi = -1;
    size_t flen = json_string_length(json_object_get(action, "field"));
    for (size_t e = 0; e < nents; e++)
        if (ents[e].inst == inst)
            for (size_t k = 0; k < wasm_module_export_count(ents[e].m); k++) {
                size_t el;
                const char *en = wasm_module_export_name(ents[e].m, k, &el);
                if (el == flen && !memcmp(en, field, el) && wasm_module_export_kind(ents[e].m, k) == WASM_EXTERN_FUNC)
                    fi = wasm_module_export_index(ents[e].m, k);
            }
    if (fi < 0) {
        snprintf(err->msg, sizeof err->msg, "no function %s", field);
        return -2;
    }
    json_t *args = json_object_get(action, "args");
    size_t na = json_array_size(args);
    wasm_val av[64];
    if (na > 64)
        return -2;
    for (size_t i = 0; i < na; i++)
        if (!parse_val(json_array_get(args, i), &av[i])) {
            snprintf(err->msg, sizeof err->msg, "bad argument");
            return -2;
        }
    (void)line;
    *nres = 0;
    int rc = wasm_call(inst, (uint32_t)fi, av, na, res, 64, err);
    if (rc == 0) {
        /* count results: the function's type */
        *nres = 64;
    }
    return rc;
}

static bool match_val(json_t *exp, const wasm_val *got) {
    const char *t = json_string_value(json_object_get(exp, "type"));
    const char *s = json_string_value(json_object_get(exp, "value"));
    wasm_valtype vt = parse_type(t);
    if (vt != got->type)
        return false;
    switch (vt) {
    case WASM_I32:
        return (uint32_t)strtoull(s, NULL, 10) == got->v.i32;
    case WASM_I64:
        return strtoull(s, NULL, 10) == got->v.i64;
    case WASM_F32:
        if (!strcmp(s, "nan:canonical"))
            return (got->v.i32 & 0x7fffffffu) == 0x7fc00000u;
        if (!strcmp(s, "nan:arithmetic"))
            return (got->v.i32 & 0x7fc00000u) == 0x7fc00000u;
        return (uint32_t)strtoull(s, NULL, 10) == got->v.i32;
    case WASM_F64:
        if (!strcmp(s, "nan:canonical"))
            return (got->v.i64 & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
        if (!strcmp(s, "nan:arithmetic"))
            return (got->v.i64 & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
        return strtoull(s, NULL, 10) == got->v.i64;
    case WASM_FUNCREF:
    case WASM_EXTERNREF:
        if (!s)
            return got->v.ref != 0;
        if (!strcmp(s, "null"))
            return got->v.ref == 0;
        if (vt == WASM_FUNCREF)
            return got->v.ref != 0;
        return got->v.ref == strtoull(s, NULL, 10) + 1;
    default:
        return false;
    }
}

static void valstr(const wasm_val *v, char *buf, size_t n) {
    switch (v->type) {
    case WASM_I32: snprintf(buf, n, "i32:%u", v->v.i32); break;
    case WASM_F32: snprintf(buf, n, "f32:0x%08x", v->v.i32); break;
    case WASM_I64: snprintf(buf, n, "i64:%llu", (unsigned long long)v->v.i64); break;
    case WASM_F64: snprintf(buf, n, "f64:0x%016llx", (unsigned long long)v->v.i64); break;
    default: snprintf(buf, n, "ref:0x%llx", (unsigned long long)v->v.ref); break;
    }
}

static bool has_simd(json_t *j) {
    const char *t = json_string_value(json_object_get(j, "type"));
    return t && !strcmp(t, "v128");
}

static bool action_uses_simd(json_t *cmd) {
    json_t *a = json_object_get(cmd, "action");
    json_t *args = json_object_get(a, "args");
    for (size_t i = 0; i < json_array_size(args); i++)
        if (has_simd(json_array_get(args, i)))
            return true;
    json_t *ex = json_object_get(cmd, "expected");
    for (size_t i = 0; i < json_array_size(ex); i++)
        if (has_simd(json_array_get(ex, i)))
            return true;
    return false;
}

static void push_entry(const char *name, wasm_module *m, wasm_instance *inst) {
    ents = realloc(ents, (nents + 1) * sizeof *ents);
    ents[nents].name = name ? strdup(name) : NULL;
    ents[nents].m = m;
    ents[nents].inst = inst;
    nents++;
}

static void run_file(const char *path) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &je);
    build_spectest();
    npass = nfail = nskip = 0;
    shown = 0;
    const char *slash = strrchr(path, '/');
    curfile = slash ? slash + 1 : path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (!root) {
        printf("%-36s cannot parse JSON: %s\n", curfile, je.text);
        tfail++;
        return;
    }
    current = NULL;
    json_t *cmds = json_object_get(root, "commands");
    for (size_t ci = 0; ci < json_array_size(cmds); ci++) {
        json_t *cmd = json_array_get(cmds, ci);
        const char *type = json_string_value(json_object_get(cmd, "type"));
        int line = (int)json_integer_value(json_object_get(cmd, "line"));
        const char *text = json_string_value(json_object_get(cmd, "text"));
        const char *fname = json_string_value(json_object_get(cmd, "filename"));
        const char *mtype = json_string_value(json_object_get(cmd, "module_type"));
        wasm_error err;
        if (!strcmp(type, "module")) {
            size_t len;
            uint8_t *b = read_file(fname, &len);
            current = NULL;
            if (!b) {
                failf(line, "cannot read %s", fname);
                continue;
            }
            wasm_module *m = wasm_module_new(b, len, &lim, &err);
            free(b);
            if (!m) {
                failf(line, "module: %s: %s", wasm_error_kind_name(err.kind), err.msg);
                continue;
            }
            wasm_instance *inst = wasm_instance_new(m, &lim, resolve, NULL, &err);
            if (!inst) {
                failf(line, "instantiate: %s: %s", wasm_error_kind_name(err.kind), err.msg);
                push_entry(NULL, m, NULL);
                continue;
            }
            push_entry(json_string_value(json_object_get(cmd, "name")), m, inst);
            current = inst;
            npass++;
        } else if (!strcmp(type, "register")) {
            const char *as = json_string_value(json_object_get(cmd, "as"));
            wasm_instance *inst = lookup_inst(cmd);
            if (!inst) {
                failf(line, "register: no module");
                continue;
            }
            regs = realloc(regs, (nregs + 1) * sizeof *regs);
            regs[nregs].as = strdup(as);
            regs[nregs].inst = inst;
            nregs++;
        } else if (!strcmp(type, "action") || !strcmp(type, "assert_return")) {
            if (action_uses_simd(cmd)) {
                nskip++;
                continue;
            }
            wasm_val res[64];
            size_t nres;
            json_t *action = json_object_get(cmd, "action");
            int rc = do_action(action, res, &nres, &err, line);
            if (rc != 0) {
                failf(line, "%s %s: %s: %s", type, json_string_value(json_object_get(action, "field")),
                      wasm_error_kind_name(err.kind), err.msg);
                continue;
            }
            json_t *ex = json_object_get(cmd, "expected");
            bool ok = true;
            char gb[64] = "";
            size_t ne = json_array_size(ex);
            for (size_t i = 0; i < ne && ok; i++) {
                if (!match_val(json_array_get(ex, i), &res[i])) {
                    ok = false;
                    valstr(&res[i], gb, sizeof gb);
                    char *es = json_dumps(json_array_get(ex, i), JSON_COMPACT);
                    failf(line, "%s: result %zu: got %s, expected %s",
                          json_string_value(json_object_get(action, "field")), i, gb, es);
                    free(es);
                }
            }
            if (ok)
                npass++;
        } else if (!strcmp(type, "assert_trap") || !strcmp(type, "assert_exhaustion")) {
            if (action_uses_simd(cmd)) {
                nskip++;
                continue;
            }
            wasm_val res[64];
            size_t nres;
            json_t *action = json_object_get(cmd, "action");
            int rc = do_action(action, res, &nres, &err, line);
            wasm_error_kind want = !strcmp(type, "assert_trap") ? WASM_ERR_TRAP : WASM_ERR_EXHAUSTION;
            if (rc == 0)
                failf(line, "%s %s: no trap (expected \"%s\")", type,
                      json_string_value(json_object_get(action, "field")), text);
            else if (err.kind != want || !strstr(err.msg, text))
                failf(line, "%s %s: got %s: %s (expected \"%s\")", type,
                      json_string_value(json_object_get(action, "field")), wasm_error_kind_name(err.kind), err.msg,
                      text);
            else
                npass++;
        } else if (!strcmp(type, "assert_invalid") || !strcmp(type, "assert_malformed") ||
                   !strcmp(type, "assert_unlinkable") || !strcmp(type, "assert_uninstantiable")) {
            if (mtype && strcmp(mtype, "binary")) {
                nskip++;
                continue;
            }
            size_t len;
            uint8_t *b = read_file(fname, &len);
            if (!b) {
                failf(line, "cannot read %s", fname);
                continue;
            }
            wasm_error_kind want = !strcmp(type, "assert_invalid")      ? WASM_ERR_INVALID
                                   : !strcmp(type, "assert_malformed")  ? WASM_ERR_MALFORMED
                                   : !strcmp(type, "assert_unlinkable") ? WASM_ERR_LINK
                                                                        : WASM_ERR_TRAP;
            wasm_module *m = wasm_module_new(b, len, &lim, &err);
            free(b);
            wasm_instance *inst = NULL;
            if (m && (want == WASM_ERR_LINK || want == WASM_ERR_TRAP)) {
                inst = wasm_instance_new(m, &lim, resolve, NULL, &err);
                if (inst)
                    push_entry(NULL, m, inst);
                else
                    push_entry(NULL, m, NULL); /* keep: a partly initialised instance may be referenced */
            } else if (m)
                push_entry(NULL, m, NULL);
            if ((m && want != WASM_ERR_LINK && want != WASM_ERR_TRAP) || inst)
                failf(line, "%s: accepted (expected \"%s\")", type, text);
            else if (err.kind != want || !strstr(err.msg, text))
                failf(line, "%s: got %s: %s (expected \"%s\")", type, wasm_error_kind_name(err.kind), err.msg, text);
            else
                npass++;
        } else {
            failf(line, "unknown command %s", type);
        }
    }
    json_decref(root);
    wasm_instance_free(spectest);
    wasm_module_free(spectest_mod);
    spectest = NULL;
    spectest_mod = NULL;
    printf("%-36s %6d passed %5d failed %5d skipped\n", curfile, npass, nfail, nskip);
    fflush(stdout);
    tpass += npass;
    tfail += nfail;
    tskip += nskip;
    /* instances first (newest first), then modules */
    for (size_t i = nents; i-- > 0;)
        wasm_instance_free(ents[i].inst);
    for (size_t i = nents; i-- > 0;) {
        wasm_module_free(ents[i].m);
        free(ents[i].name);
    }
    free(ents);
    ents = NULL;
    nents = 0;
    for (size_t i = 0; i < nregs; i++)
        free(regs[i].as);
    free(regs);
    regs = NULL;
    nregs = 0;
}

#ifdef SPEC_IN_SANDBOX
static int spec_main(int argc, char **argv);

/* Run(args): the command line, words separated by spaces; 0 if all passed. */
static void Run(const glint_args *a)
{
    size_t n = 0;
    const char *s = glint_arg_string(a, 0, &n);
    char *line = malloc(n + 1), *argv[4096];
    memcpy(line, s, n);
    line[n] = 0;
    int argc = 0;
    argv[argc++] = "spec_runner";
    for (char *w = strtok(line, " "); w && argc < 4095; w = strtok(NULL, " "))
        argv[argc++] = w;
    argv[argc] = NULL;
    glint_return_i32(spec_main(argc, argv));
}
GLINT_FUNCTION(Run, GLINT_I32, GLINT_STRING);

static int spec_main(int argc, char **argv) {
#else
int main(int argc, char **argv) {
#endif
    wasm_limits_default(&lim);
    lim.max_memory_pages = 65536;
    lim.max_call_depth = 10000;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "-k") && i + 1 < argc)
            load_known(argv[++i]);
    }
    for (; i < argc; i++)
        run_file(argv[i]);
    for (int k = 0; k < nknown; k++)
        if (!known_hit[k])
            printf("known failure %s did not fail (passes now, or its file was not run)\n", known[k]);
    printf("TOTAL: %d passed, %d failed, %d skipped, %d known failures (tests/wasm/known-failures.txt)\n",
           tpass, tfail, tskip, tknown);
    printf("%d passed, %d failed\n", tpass, tfail);
    return tfail ? 1 : 0;
}
