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

/* The ratios that matter: each glint figure over its floor, and glint
 * over each peer (below 1: glint is faster).  Of p50s, or of the named
 * extra values when keys are given. */
static const struct {
    const char *a, *b, *key_a, *key_b;
} g_ratios[] = {
    {"call_empty", "kvm_exit_roundtrip", NULL, NULL},
    {"call_host", "kvm_exit_roundtrip", NULL, NULL},
    {"call_string", "kvm_exit_roundtrip", NULL, NULL},
    {"call_bytes_1m", "kvm_exit_roundtrip", NULL, NULL},
    {"sandbox_cold", "kvm_vm_lifecycle", NULL, NULL},
    {"density", "kvm_vm_density", NULL, NULL},
    {"density", "kvm_vm_density", "host_kib_per_sandbox", "host_kib_per_vm"},
    {"sandbox_cold", "peer_posix_spawn", NULL, NULL},
    {"sandbox_cold", "peer_fork_zygote", NULL, NULL},
    {"sandbox_cold", "peer_bwrap", NULL, NULL},
    {"sandbox_cold", "peer_node_vm_context", NULL, NULL},
    {"sandbox_cold", "peer_node_wasm_instance", NULL, NULL},
    {"sandbox_cold", "peer_qemu_microvm", NULL, NULL},
    {"call_empty", "peer_fork_zygote", NULL, NULL},
    {"call_empty", "peer_node_wasm_instance", NULL, NULL},
};
#define NRATIOS (sizeof g_ratios / sizeof g_ratios[0])

static double value_of(const struct result *r, const char *key)
{
    if (!key)
        return r->p50_us;
    for (size_t i = 0; i < r->nextra; i++)
        if (strcmp(r->extra[i].key, key) == 0)
            return r->extra[i].val;
    return -1;
}

/* Ratio i, or -1 when either side is missing or skipped. */
static double ratio(size_t i)
{
    const struct result *x = result_find(g_ratios[i].a), *y = result_find(g_ratios[i].b);
    if (!x || !y || x->skipped || y->skipped)
        return -1;
    double a = value_of(x, g_ratios[i].key_a), b = value_of(y, g_ratios[i].key_b);
    return a < 0 || b <= 0 ? -1 : a / b;
}

/* "call_empty / kvm_exit_roundtrip" or "density.host_kib_per_sandbox / ...". */
static void ratio_label(size_t i, char *buf, size_t len)
{
    if (g_ratios[i].key_a)
        snprintf(buf, len, "%s.%s / %s.%s", g_ratios[i].a, g_ratios[i].key_a, g_ratios[i].b,
                 g_ratios[i].key_b);
    else
        snprintf(buf, len, "%s / %s", g_ratios[i].a, g_ratios[i].b);
}

void results_print_ratios(void)
{
    printf("\nratios of p50s (glint over floor; glint over peer: below 1 = glint faster)\n");
    for (size_t i = 0; i < NRATIOS; i++) {
        char label[160];
        ratio_label(i, label, sizeof label);
        double r = ratio(i);
        if (r < 0)
            printf("  %-60s  n/a (one side skipped or not run)\n", label);
        else
            printf("  %-60s  %9.3fx\n", label, r);
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
        if (r < 0)
            continue;
        fprintf(f, "%s\"%s\": %.4g", first ? "" : ", ", label, r);
        first = 0;
    }
    fputs("}", f);
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
    fputs("\n| ratio of p50s | value |\n|---|---:|\n", f);
    for (size_t i = 0; i < NRATIOS; i++) {
        char label[160];
        ratio_label(i, label, sizeof label);
        double x = ratio(i);
        if (x < 0)
            fprintf(f, "| %s | n/a |\n", label);
        else
            fprintf(f, "| %s | %.3f |\n", label, x);
    }
    return fclose(f);
}
