/*
 * results.c - samples, percentiles and the result table (stdout and JSON).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define RESULTS_MAX 96

static struct result g_results[RESULTS_MAX];
static size_t g_nresults;

void samples_add(struct samples *s, double ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return; /* a lost sample under memory pressure; n says how many were kept */
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = ns;
}

void samples_free(struct samples *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

double samples_pct(struct samples *s, double q)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    return pct(s->v, s->n, q);
}

static struct result *new_result(const char *name)
{
    static struct result overflow;
    struct result *r = g_nresults < RESULTS_MAX ? &g_results[g_nresults++] : &overflow;
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->guest_insns = r->exits = r->insn_emulation = -1;
    return r;
}

struct result *result_add(const char *name, struct samples *s)
{
    if (s->n == 0) {
        samples_free(s);
        return result_skip(name, "no samples were taken");
    }
    struct result *r = new_result(name);
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    r->p50_us = pct(s->v, s->n, 0.50) / 1000.0;
    r->p90_us = pct(s->v, s->n, 0.90) / 1000.0;
    r->p99_us = pct(s->v, s->n, 0.99) / 1000.0;
    r->n = s->n;
    samples_free(s);
    return r;
}

struct result *result_skip(const char *name, const char *fmt, ...)
{
    struct result *r = new_result(name);
    r->skipped = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
    return r;
}

void result_note(struct result *r, const char *fmt, ...)
{
    size_t used = strlen(r->note);
    if (used && used + 2 < sizeof r->note) {
        strcat(r->note, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note + used, sizeof r->note - used, fmt, ap);
    va_end(ap);
}

void result_extra(struct result *r, const char *key, double val)
{
    if (r->nextra >= RESULT_EXTRA_MAX)
        return;
    snprintf(r->extra[r->nextra].key, sizeof r->extra[0].key, "%s", key);
    r->extra[r->nextra++].val = val;
}

struct result *result_find(const char *name)
{
    for (size_t i = 0; i < g_nresults; i++)
        if (strcmp(g_results[i].name, name) == 0)
            return &g_results[i];
    return NULL;
}

/* A number in a field of 10: "-" when not applicable. */
static void fmt_num(char *buf, size_t len, double v, int decimals)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else if (v == 0)
        snprintf(buf, len, "0");
    else if (decimals == 0 || v >= 100000)
        snprintf(buf, len, "%.0f", v);
    else if (v >= 100)
        snprintf(buf, len, "%.1f", v);
    else if (v >= 0.1)
        snprintf(buf, len, "%.3f", v);
    else
        snprintf(buf, len, "%.6f", v);
}

void results_print_table(void)
{
    printf("\n%-32s %11s %11s %11s %7s %9s %7s %7s  %s\n", "metric", "p50 us", "p90 us", "p99 us",
           "n", "g.insns", "exits", "emul", "notes");
    for (size_t i = 0; i < g_nresults; i++) {
        const struct result *r = &g_results[i];
        if (r->skipped) {
            printf("%-32s %11s  skipped: %s\n", r->name, "-", r->note);
            continue;
        }
        char a[32], b[32], c[32], gi[32], ex[32], em[32];
        fmt_num(a, sizeof a, r->p50_us, 3);
        fmt_num(b, sizeof b, r->p90_us, 3);
        fmt_num(c, sizeof c, r->p99_us, 3);
        fmt_num(gi, sizeof gi, r->guest_insns, 0);
        fmt_num(ex, sizeof ex, r->exits, 1);
        fmt_num(em, sizeof em, r->insn_emulation, 1);
        printf("%-32s %11s %11s %11s %7zu %9s %7s %7s  %s\n", r->name, a, b, c, r->n, gi, ex, em,
               r->note);
    }
}

/* JSON string body: escapes quotes, backslashes and control bytes. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* A JSON number ("null" when not applicable or not finite). */
static void json_num(FILE *f, double v)
{
    if (v < 0 || !isfinite(v))
        fputs("null", f);
    else
        fprintf(f, "%.6g", v);
}

static void json_result(FILE *f, const struct result *r)
{
    fputs("  ", f);
    json_str(f, r->name);
    if (r->skipped) {
        fputs(": {\"skipped\": ", f);
        json_str(f, r->note);
        fputs("}", f);
        return;
    }
    fputs(": {\"p50_us\": ", f);
    json_num(f, r->p50_us);
    fputs(", \"p90_us\": ", f);
    json_num(f, r->p90_us);
    fputs(", \"p99_us\": ", f);
    json_num(f, r->p99_us);
    fprintf(f, ", \"n\": %zu", r->n);
    if (r->guest_insns >= 0) {
        fputs(", \"guest_insns\": ", f);
        json_num(f, r->guest_insns);
    }
    if (r->exits >= 0) {
        fputs(", \"exits\": ", f);
        json_num(f, r->exits);
    }
    if (r->insn_emulation >= 0) {
        fputs(", \"insn_emulation\": ", f);
        json_num(f, r->insn_emulation);
    }
    for (size_t i = 0; i < r->nextra; i++) {
        fputs(", ", f);
        json_str(f, r->extra[i].key);
        fputs(": ", f);
        json_num(f, r->extra[i].val);
    }
    if (r->note[0]) {
        fputs(", \"note\": ", f);
        json_str(f, r->note);
    }
    fputs("}", f);
}

/*
 * The ratios that matter, each glint figure over its floor and glint over
 * each peer (below 1: glint is faster), and the targets of the issues.
 * An entry divides metric a's value by metric b's (b NULL: a's value
 * alone); a value is the p50, or the named extra, or "guest_insns" or
 * "exits".  op and bound give the target, if any: "<=", "<" or ">=".
 */
struct ratio_def {
    const char *a, *key_a, *b, *key_b;
    const char *op;
    double bound;
    int full_only; /* needs a full run's N: not judged with --quick */
    const char *label; /* NULL: "a[.key_a] / b[.key_b]" */
};

static const struct ratio_def g_ratios[] = {
    {"call_empty", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_empty", "interleaved_p50_us", "call_empty", "exit_interleaved_p50_us", "<=",
     1.3, 0, "call_empty / kvm_exit_roundtrip, interleaved"},
    {"call_empty", "guest_insns", NULL, NULL, "<", 150, 0, NULL},
    {"call_host", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_string", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_bytes_1m", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "kvm_vm_lifecycle", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", "init_guest_insns", NULL, NULL, "<", 1000, 0, NULL},
    {"restore", NULL, "kvm_exit_roundtrip", NULL, "<=", 3, 0, NULL},
    {"restore", "guest_insns", NULL, NULL, "<=", 0, 0, NULL},
    {"call_with_restore", NULL, "call_empty", NULL, NULL, 0, 0, NULL},
    {"call_with_restore", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"sandbox_from_snapshot", NULL, "sandbox_cold", NULL, NULL, 0, 0, NULL},
    {"sandbox_from_snapshot", NULL, "sandbox_from_snapshot", "cold_interleaved_p50_us", "<", 1, 0,
     "sandbox_from_snapshot / sandbox_cold, interleaved"},
    {"sandbox_from_snapshot", "init_guest_insns", NULL, NULL, "<=", 0, 0, NULL},
    {"sandbox_from_snapshot", NULL, "kvm_vm_lifecycle", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "pooled_sandbox", "exit_plus_insns_us", "<=", 5, 0,
     "pooled_sandbox / (kvm_exit_roundtrip + its guest insns)"},
    {"kvm_vm_lifecycle", NULL, "pooled_sandbox", NULL, ">=", 10, 0, NULL},
    {"pooled_sandbox", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"density", "live", NULL, NULL, ">=", 10000, 1, NULL},
    {"density", "host_kib_per_sandbox", "kvm_vm_density", "host_kib_per_vm", "<=", 1.5, 1, NULL},
    {"density", NULL, "kvm_vm_density", NULL, NULL, 0, 0, NULL},
    {"density_elf", "host_kib_per_sandbox", "kvm_vm_density", "host_kib_per_vm", NULL, 0, 0,
     NULL},
    {"sandbox_cold", NULL, "peer_posix_spawn", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "peer_fork_zygote", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "peer_bwrap", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "peer_node_vm_context", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "peer_node_wasm_instance", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "peer_qemu_microvm", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "peer_posix_spawn", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "peer_fork_zygote", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "peer_bwrap", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "peer_node_vm_context", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "peer_node_wasm_instance", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "peer_qemu_microvm", NULL, NULL, 0, 0, NULL},
    {"call_empty", NULL, "peer_fork_zygote", NULL, NULL, 0, 0, NULL},
    {"call_empty", NULL, "peer_node_wasm_instance", NULL, NULL, 0, 0, NULL},
    /* The jailed-process floors against each other (jailer.c). */
    {"floor_proc_exit_roundtrip", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"floor_proc_ptrace_roundtrip", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"floor_proc_create", NULL, "peer_posix_spawn", NULL, NULL, 0, 0, NULL},
    {"call_empty", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
};
#define NRATIOS (sizeof g_ratios / sizeof g_ratios[0])

static double value_of(const struct result *r, const char *key)
{
    if (!key)
        return r->p50_us;
    if (strcmp(key, "guest_insns") == 0)
        return r->guest_insns;
    if (strcmp(key, "exits") == 0)
        return r->exits;
    for (size_t i = 0; i < r->nextra; i++)
        if (strcmp(r->extra[i].key, key) == 0)
            return r->extra[i].val;
    return -1;
}

/* Entry i's value, or -1 when a side is missing, skipped or not known. */
static double ratio(size_t i)
{
    const struct ratio_def *d = &g_ratios[i];
    const struct result *x = result_find(d->a), *y = d->b ? result_find(d->b) : NULL;
    if (!x || x->skipped || (d->b && (!y || y->skipped)))
        return -1;
    double a = value_of(x, d->key_a);
    if (!d->b)
        return a;
    double b = value_of(y, d->key_b);
    return a < 0 || b <= 0 ? -1 : a / b;
}

/* "call_empty / kvm_exit_roundtrip", "density.live", ... */
static void ratio_label(size_t i, char *buf, size_t len)
{
    const struct ratio_def *d = &g_ratios[i];
    char a[100], b[100];
    snprintf(a, sizeof a, "%s%s%s", d->a, d->key_a ? "." : "", d->key_a ? d->key_a : "");
    snprintf(b, sizeof b, "%s%s%s", d->b ? d->b : "", d->key_b ? "." : "",
             d->key_b ? d->key_b : "");
    if (d->label)
        snprintf(buf, len, "%s", d->label);
    else if (d->b)
        snprintf(buf, len, "%.70s / %.70s", a, b);
    else
        snprintf(buf, len, "%s", a);
}

enum verdict { NO_TARGET, MET, MISSED, NOT_JUDGED };

/* How entry i's value `v` (-1: unknown) stands against its target. */
static enum verdict judge(size_t i, double v)
{
    const struct ratio_def *d = &g_ratios[i];
    if (!d->op)
        return NO_TARGET;
    if (v < 0 || (d->full_only && g_opts.quick))
        return NOT_JUDGED;
    int ok = strcmp(d->op, "<=") == 0 ? v <= d->bound
             : strcmp(d->op, "<") == 0 ? v < d->bound
                                       : v >= d->bound;
    return ok ? MET : MISSED;
}

/* "target <= 1.3: met" into buf ("" without a target). */
static void target_text(size_t i, double v, char *buf, size_t len)
{
    static const char *const words[] = {"", "met", "MISSED", "not judged"};
    const struct ratio_def *d = &g_ratios[i];
    enum verdict vd = judge(i, v);
    if (vd == NO_TARGET) {
        buf[0] = 0;
        return;
    }
    const char *why = vd != NOT_JUDGED ? "" : v < 0 ? " (not measured)" : " (quick run: small N)";
    snprintf(buf, len, "target %s %g: %s%s", d->op, d->bound, words[vd], why);
}

/* The value as text: "1.008x" for ratios, the plain number otherwise. */
static void value_text(size_t i, double v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "n/a");
    else if (g_ratios[i].b)
        snprintf(buf, len, "%.3fx", v);
    else
        snprintf(buf, len, "%.0f", v);
}

void results_print_ratios(void)
{
    printf("\nratios of p50s and targets (glint over floor; glint over peer: below 1 = glint "
           "faster)\n");
    for (size_t i = 0; i < NRATIOS; i++) {
        char label[160], val[32], tgt[96];
        ratio_label(i, label, sizeof label);
        double r = ratio(i);
        value_text(i, r, val, sizeof val);
        target_text(i, r, tgt, sizeof tgt);
        printf("  %-62s %10s  %s\n", label, val, tgt);
    }
}

static void json_ratios(FILE *f)
{
    fputs(",\n  \"ratios\": {", f);
    int first = 1;
    for (size_t i = 0; i < NRATIOS; i++) {
        char label[160];
        ratio_label(i, label, sizeof label);
        double r = ratio(i);
        if (r < 0 || !g_ratios[i].b)
            continue;
        fprintf(f, "%s\"%s\": %.4g", first ? "" : ", ", label, r);
        first = 0;
    }
    fputs("},\n  \"targets\": {", f);
    first = 1;
    for (size_t i = 0; i < NRATIOS; i++) {
        enum verdict vd = judge(i, ratio(i));
        if (vd == NO_TARGET)
            continue;
        char label[160];
        ratio_label(i, label, sizeof label);
        fprintf(f, "%s\n    \"%s\": {\"value\": ", first ? "" : ",", label);
        json_num(f, ratio(i));
        fprintf(f, ", \"target\": \"%s %g\", \"met\": %s}", g_ratios[i].op, g_ratios[i].bound,
                vd == MET ? "true" : vd == MISSED ? "false" : "null");
        first = 0;
    }
    fputs("\n  }", f);
}

int results_write_json(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "glint-bench: cannot write %s\n", path);
        return -1;
    }
    fputs("{\n  \"machine\": ", f);
    machine_json(f);
    for (size_t i = 0; i < g_nresults; i++) {
        fputs(",\n", f);
        json_result(f, &g_results[i]);
    }
    json_ratios(f);
    fputs("\n}\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "glint-bench: error writing %s\n", path);
        return -1;
    }
    return 0;
}

/* The table and the ratios in Markdown, for docs/benchmarks.md. */
int results_write_markdown(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "glint-bench: cannot write %s\n", path);
        return -1;
    }
    fputs("| metric | p50 µs | p90 µs | p99 µs | n | guest insns | exits | insn_emulation | notes |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---|\n", f);
    for (size_t i = 0; i < g_nresults; i++) {
        const struct result *r = &g_results[i];
        if (r->skipped) {
            fprintf(f, "| %s | | | | | | | | skipped: %s |\n", r->name, r->note);
            continue;
        }
        char a[32], b[32], c[32], gi[32], ex[32], em[32];
        fmt_num(a, sizeof a, r->p50_us, 3);
        fmt_num(b, sizeof b, r->p90_us, 3);
        fmt_num(c, sizeof c, r->p99_us, 3);
        fmt_num(gi, sizeof gi, r->guest_insns, 0);
        fmt_num(ex, sizeof ex, r->exits, 1);
        fmt_num(em, sizeof em, r->insn_emulation, 1);
        fprintf(f, "| %s | %s | %s | %s | %zu | %s | %s | %s | %s |\n", r->name, a, b, c, r->n,
                gi, ex, em, r->note);
    }
    fputs("\n| ratio of p50s, or value | value | target |\n|---|---:|---|\n", f);
    for (size_t i = 0; i < NRATIOS; i++) {
        char label[160], val[32], tgt[96];
        ratio_label(i, label, sizeof label);
        double x = ratio(i);
        value_text(i, x, val, sizeof val);
        target_text(i, x, tgt, sizeof tgt);
        fprintf(f, "| %s | %s | %s |\n", label, val, tgt + (tgt[0] ? 7 : 0));
    }
    return fclose(f);
}
