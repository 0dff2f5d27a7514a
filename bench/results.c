/*
 * results.c - samples, percentiles and the result table (stdout and JSON).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define RESULTS_MAX 192

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

/* Groups (one per glint backend), in the order they were first named. */
#define GROUPS_MAX 4
static struct group {
    char name[16];
    int skipped;
    char why[640];      /* skip reason */
    char counting[400]; /* how guest instructions were counted, or why not */
} g_groups[GROUPS_MAX];
static size_t g_ngroups;
static char g_cur_group[16];

static struct group *group_get(const char *name)
{
    for (size_t i = 0; i < g_ngroups; i++)
        if (strcmp(g_groups[i].name, name) == 0)
            return &g_groups[i];
    if (g_ngroups == GROUPS_MAX || !name[0])
        return NULL;
    struct group *g = &g_groups[g_ngroups++];
    snprintf(g->name, sizeof g->name, "%s", name);
    return g;
}

void results_set_group(const char *group)
{
    snprintf(g_cur_group, sizeof g_cur_group, "%s", group ? group : "");
    if (g_cur_group[0])
        group_get(g_cur_group);
}

void results_skip_group(const char *group, const char *fmt, ...)
{
    struct group *g = group_get(group);
    if (!g)
        return;
    g->skipped = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->why, sizeof g->why, fmt, ap);
    va_end(ap);
}

void results_group_counting(const char *group, const char *how)
{
    struct group *g = group_get(group);
    if (g)
        snprintf(g->counting, sizeof g->counting, "%s", how);
}

static struct result *new_result(const char *name)
{
    static struct result overflow;
    struct result *r = g_nresults < RESULTS_MAX ? &g_results[g_nresults++] : &overflow;
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->group, sizeof r->group, "%s", g_cur_group);
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

static struct result *find_exact(const char *group, const char *name)
{
    for (size_t i = 0; i < g_nresults; i++)
        if (strcmp(g_results[i].group, group) == 0 && strcmp(g_results[i].name, name) == 0)
            return &g_results[i];
    return NULL;
}

struct result *result_find_in(const char *group, const char *name)
{
    struct result *r = group && group[0] ? find_exact(group, name) : NULL;
    return r ? r : find_exact("", name);
}

struct result *result_find(const char *name)
{
    return result_find_in(g_cur_group, name);
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

static void print_row(const struct result *r)
{
    if (r->skipped) {
        printf("%-32s %11s  skipped: %s\n", r->name, "-", r->note);
        return;
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

void results_print_table(void)
{
    printf("\n%-32s %11s %11s %11s %7s %9s %7s %7s  %s\n", "metric", "p50 us", "p90 us", "p99 us",
           "n", "g.insns", "exits", "emul", "notes");
    for (size_t i = 0; i < g_nresults; i++)
        if (!g_results[i].group[0])
            print_row(&g_results[i]);
    for (size_t k = 0; k < g_ngroups; k++) {
        const struct group *g = &g_groups[k];
        if (g->skipped) {
            printf("\nglint, %s backend: skipped: %s\n", g->name, g->why);
            continue;
        }
        printf("\nglint, %s backend (every sandbox checked with glint_sandbox_backend); guest "
               "instructions: %s\n", g->name, g->counting[0] ? g->counting : "not probed");
        for (size_t i = 0; i < g_nresults; i++)
            if (strcmp(g_results[i].group, g->name) == 0)
                print_row(&g_results[i]);
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
 * The ratios that matter, each glint figure over its backend's floor and
 * glint over each peer (below 1: glint is faster), and the targets.  Each
 * table belongs to a group: the floors' own ratios (""), and per glint
 * backend ("kvm", "process"), whose names resolve in that group first.
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

/* The jailed-process floors against each other and the peers (jailer.c). */
static const struct ratio_def g_ratios_floors[] = {
    {"floor_proc_exit_roundtrip", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"floor_proc_gate_roundtrip", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"floor_proc_ptrace_roundtrip", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"floor_proc_create", NULL, "peer_posix_spawn", NULL, NULL, 0, 0, NULL},
};

/* glint on KVM against the minimal VM (floors.c). */
static const struct ratio_def g_ratios_kvm[] = {
    {"call_empty", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_empty", "interleaved_p50_us", "call_empty", "exit_interleaved_p50_us", "<=",
     1.3, 0, "call_empty / kvm_exit_roundtrip, interleaved"},
    {"call_empty", "guest_insns", NULL, NULL, "<", 150, 0, NULL},
    {"call_host", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_log_filtered", NULL, "call_empty", NULL, NULL, 0, 0, NULL},
    {"call_log", NULL, "call_empty", NULL, NULL, 0, 0, NULL},
    {"call_empty_profiled", NULL, "call_empty", NULL, NULL, 0, 0, NULL},
    {"call_string", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_bytes_1m", NULL, "kvm_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "kvm_vm_lifecycle", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold_paced", NULL, "kvm_vm_lifecycle", NULL, NULL, 0, 0, NULL},
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
};

/* glint on the process backend against the minimal jailer (jailer.c). */
static const struct ratio_def g_ratios_process[] = {
    {"call_empty", NULL, "floor_proc_fault_handler", NULL, "<=", 1.3, 0, NULL},
    {"call_empty", "interleaved_p50_us", "call_empty", "fault_interleaved_p50_us", NULL, 0, 0,
     "call_empty / floor_proc_fault_handler, interleaved"},
    {"call_empty", "guest_insns", NULL, NULL, "<", 150, 0, NULL},
    {"call_empty", NULL, "floor_proc_exit_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_log_filtered", NULL, "call_empty", NULL, NULL, 0, 0, NULL},
    {"call_log", NULL, "call_empty", NULL, NULL, 0, 0, NULL},
    {"call_empty_profiled", NULL, "call_empty", NULL, NULL, 0, 0, NULL},
    {"call_empty", NULL, "floor_proc_gate_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_host", NULL, "floor_proc_gate_roundtrip", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "floor_proc_gate_roundtrip", NULL, NULL, 0, 0, NULL},
    {"call_host", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"call_string", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"call_bytes_1m", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "floor_proc_create", NULL, "<=", 1.2, 0, NULL},
    {"sandbox_cold_paced", NULL, "floor_proc_create", NULL, NULL, 0, 0, NULL},
    {"sandbox_cold", NULL, "peer_posix_spawn", NULL, "<", 1, 0, NULL},
    {"sandbox_cold", "init_guest_insns", NULL, NULL, "<", 1000, 0, NULL},
    {"restore", NULL, "floor_proc_fault_handler", NULL, "<=", 3, 0, NULL},
    {"restore", "guest_insns", NULL, NULL, "<=", 0, 0, NULL},
    {"call_with_restore", NULL, "call_empty", NULL, NULL, 0, 0, NULL},
    {"call_with_restore", NULL, "floor_proc_fault_handler", NULL, NULL, 0, 0, NULL},
    {"sandbox_from_snapshot", NULL, "sandbox_cold", NULL, NULL, 0, 0, NULL},
    {"sandbox_from_snapshot", NULL, "sandbox_from_snapshot", "cold_interleaved_p50_us", "<", 1, 0,
     "sandbox_from_snapshot / sandbox_cold, interleaved"},
    {"sandbox_from_snapshot", "init_guest_insns", NULL, NULL, "<=", 0, 0, NULL},
    {"sandbox_from_snapshot", NULL, "floor_proc_create", NULL, NULL, 0, 0, NULL},
    {"pooled_sandbox", NULL, "floor_proc_fault_handler", NULL, "<=", 5, 0, NULL},
    {"floor_proc_create", NULL, "pooled_sandbox", NULL, NULL, 0, 0, NULL},
    {"density", "live", NULL, NULL, ">=", 10000, 1, NULL},
    {"density", "charged_kib_per_sandbox", "floor_proc_memory", "charged_kib_per_process", "<=", 1.5,
     1, NULL},
    {"density", "host_kib_per_sandbox", "floor_proc_memory", "host_kib_per_process", NULL, 0, 0, NULL},
    {"density", NULL, "floor_proc_memory", NULL, NULL, 0, 0, NULL},
    {"density_elf", "host_kib_per_sandbox", "floor_proc_memory", "host_kib_per_process", NULL, 0,
     0, NULL},
};

/* glint (either backend) against the peers. */
static const struct ratio_def g_ratios_peers[] = {
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
};

struct ratio_table {
    const char *backend; /* NULL: the floors' table */
    const struct ratio_def *defs;
    size_t n;
};
#define TABLE(be, t) {be, t, sizeof t / sizeof t[0]}
static const struct ratio_table g_tables[] = {
    TABLE(NULL, g_ratios_floors), TABLE("kvm", g_ratios_kvm), TABLE("kvm", g_ratios_peers),
    TABLE("process", g_ratios_process), TABLE("process", g_ratios_peers),
};
#define NTABLES (sizeof g_tables / sizeof g_tables[0])

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

/* "call_empty.guest_insns" into buf. */
static void side_name(const char *m, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", m, key ? "." : "", key ? key : "");
}

/* Entry d's value in group `grp`, or -1 when a side is missing, skipped or
 * not known (then why, if not NULL, says which). */
static double ratio(const char *grp, const struct ratio_def *d, char *why, size_t len)
{
    const struct result *x = result_find_in(grp, d->a);
    const struct result *y = d->b ? result_find_in(grp, d->b) : NULL;
    char side[120];
    if (why && len)
        why[0] = 0;
    if (!x || x->skipped || (d->b && (!y || y->skipped))) {
        const struct result *bad = !x || x->skipped ? x : y;
        if (why)
            snprintf(why, len, "%s %s", bad ? bad->name : !x ? d->a : d->b,
                     bad ? "skipped" : "not run");
        return -1;
    }
    double a = value_of(x, d->key_a);
    if (a < 0) {
        side_name(d->a, d->key_a, side, sizeof side);
        if (why)
            snprintf(why, len, "%s not measured (see its note)", side);
        return -1;
    }
    if (!d->b)
        return a;
    double b = value_of(y, d->key_b);
    if (b <= 0) {
        side_name(d->b, d->key_b, side, sizeof side);
        if (why)
            snprintf(why, len, "%s not measured (see its note)", side);
        return -1;
    }
    return a / b;
}

/* "call_empty / kvm_exit_roundtrip", "density.live", ... */
static void ratio_label(const struct ratio_def *d, char *buf, size_t len)
{
    char a[100], b[100];
    side_name(d->a, d->key_a, a, sizeof a);
    side_name(d->b ? d->b : "", d->key_b, b, sizeof b);
    if (d->label)
        snprintf(buf, len, "%s", d->label);
    else if (d->b)
        snprintf(buf, len, "%.70s / %.70s", a, b);
    else
        snprintf(buf, len, "%s", a);
}

enum verdict { NO_TARGET, MET, MISSED, NOT_JUDGED };

/* How entry d's value `v` (-1: unknown) stands against its target. */
static enum verdict judge(const struct ratio_def *d, double v)
{
    if (!d->op)
        return NO_TARGET;
    if (v < 0 || (d->full_only && g_opts.quick))
        return NOT_JUDGED;
    int ok = strcmp(d->op, "<=") == 0 ? v <= d->bound
             : strcmp(d->op, "<") == 0 ? v < d->bound
                                       : v >= d->bound;
    return ok ? MET : MISSED;
}

/* Why entry d was not judged, into buf. */
static void not_judged_why(const char *grp, const struct ratio_def *d, double v, char *buf,
                           size_t len)
{
    if (v >= 0 && d->full_only && g_opts.quick)
        snprintf(buf, len, "quick run: N is small");
    else
        ratio(grp, d, buf, len);
}

/* "target <= 1.3: met" into buf ("" without a target). */
static void target_text(const char *grp, const struct ratio_def *d, double v, char *buf,
                        size_t len)
{
    static const char *const words[] = {"", "met", "NOT MET", "not judged"};
    enum verdict vd = judge(d, v);
    if (vd == NO_TARGET) {
        buf[0] = 0;
        return;
    }
    char why[200] = "";
    if (vd == NOT_JUDGED)
        not_judged_why(grp, d, v, why, sizeof why);
    snprintf(buf, len, "target %s %g: %s%s%s%s", d->op, d->bound, words[vd], why[0] ? " (" : "",
             why, why[0] ? ")" : "");
}

/* The value as text: "1.008x" for ratios, the plain number otherwise. */
static void value_text(const struct ratio_def *d, double v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "n/a");
    else if (d->b)
        snprintf(buf, len, "%.3fx", v);
    else
        snprintf(buf, len, "%.0f", v);
}

static const struct group *group_of(const char *backend)
{
    for (size_t i = 0; i < g_ngroups; i++)
        if (strcmp(g_groups[i].name, backend) == 0)
            return &g_groups[i];
    return NULL;
}

/* Tables of a group: 0 for the floors' (backend NULL), else the
 * backend's, when it ran. */
static int table_shown(const struct ratio_table *t)
{
    if (!t->backend)
        return 1;
    const struct group *g = group_of(t->backend);
    return g && !g->skipped;
}

static size_t count_targets(const char *backend)
{
    size_t n = 0;
    for (size_t t = 0; t < NTABLES; t++)
        if (g_tables[t].backend && strcmp(g_tables[t].backend, backend) == 0)
            for (size_t i = 0; i < g_tables[t].n; i++)
                n += g_tables[t].defs[i].op != NULL;
    return n;
}

void results_print_ratios(void)
{
    printf("\nratios of p50s and targets (glint over its backend's floor; glint over peer: "
           "below 1 = glint faster)\n");
    const char *last = "-";
    for (size_t t = 0; t < NTABLES; t++) {
        const struct ratio_table *tb = &g_tables[t];
        const char *grp = tb->backend ? tb->backend : "";
        if (strcmp(grp, last) != 0) {
            last = grp;
            const struct group *g = tb->backend ? group_of(tb->backend) : NULL;
            if (!tb->backend)
                printf(" floors:\n");
            else if (!g)
                printf(" %s backend: not run; its %zu targets not judged\n", grp,
                       count_targets(grp));
            else if (g->skipped)
                printf(" %s backend: skipped (%s); its %zu targets not judged\n", grp, g->why,
                       count_targets(grp));
            else
                printf(" %s backend:\n", grp);
        }
        if (!table_shown(tb))
            continue;
        for (size_t i = 0; i < tb->n; i++) {
            char label[160], val[32], tgt[320];
            ratio_label(&tb->defs[i], label, sizeof label);
            double r = ratio(grp, &tb->defs[i], NULL, 0);
            value_text(&tb->defs[i], r, val, sizeof val);
            target_text(grp, &tb->defs[i], r, tgt, sizeof tgt);
            printf("  %-62s %10s  %s\n", label, val, tgt);
        }
    }
}

/* The group objects of "ratios" (targets 0) or "targets" (1). */
static void json_ratio_groups(FILE *f, int targets)
{
    const char *names[1 + GROUPS_MAX];
    size_t nn = 0;
    if (!targets)
        names[nn++] = "";
    for (size_t k = 0; k < g_ngroups; k++)
        names[nn++] = g_groups[k].name;
    for (size_t k = 0; k < nn; k++) {
        const char *grp = names[k];
        fprintf(f, "%s\n    \"%s\": {", k ? "," : "", grp[0] ? grp : "floors");
        const struct group *g = grp[0] ? group_of(grp) : NULL;
        if (g && g->skipped) {
            fputs("\"skipped\": ", f);
            json_str(f, g->why);
            fputs("}", f);
            continue;
        }
        int first = 1;
        for (size_t t = 0; t < NTABLES; t++) {
            const struct ratio_table *tb = &g_tables[t];
            if (strcmp(tb->backend ? tb->backend : "", grp) != 0)
                continue;
            for (size_t i = 0; i < tb->n; i++) {
                const struct ratio_def *d = &tb->defs[i];
                char label[160], why[200];
                ratio_label(d, label, sizeof label);
                double r = ratio(grp, d, why, sizeof why);
                if (!targets) {
                    if (r < 0 || !d->b)
                        continue;
                    fprintf(f, "%s\"%s\": %.4g", first ? "" : ", ", label, r);
                    first = 0;
                    continue;
                }
                enum verdict vd = judge(d, r);
                if (vd == NO_TARGET)
                    continue;
                fprintf(f, "%s\n      \"%s\": {\"value\": ", first ? "" : ",", label);
                json_num(f, r);
                fprintf(f, ", \"target\": \"%s %g\", \"met\": %s", d->op, d->bound,
                        vd == MET ? "true" : vd == MISSED ? "false" : "null");
                if (vd == NOT_JUDGED) {
                    not_judged_why(grp, d, r, why, sizeof why);
                    fputs(", \"not_judged\": ", f);
                    json_str(f, why);
                }
                fputs("}", f);
                first = 0;
            }
        }
        fputs(targets && !first ? "\n    }" : "}", f);
    }
}

static void json_ratios(FILE *f)
{
    fputs(",\n  \"ratios\": {", f);
    json_ratio_groups(f, 0);
    fputs("\n  },\n  \"targets\": {", f);
    json_ratio_groups(f, 1);
    fputs("\n  }", f);
}

/* "glint": {"kvm": {"skipped": ...}, "process": {"insn_counting": ..., metrics}} */
static void json_groups(FILE *f)
{
    fputs(",\n  \"glint\": {", f);
    for (size_t k = 0; k < g_ngroups; k++) {
        const struct group *g = &g_groups[k];
        fprintf(f, "%s\n  \"%s\": {", k ? "," : "", g->name);
        if (g->skipped) {
            fputs("\"skipped\": ", f);
            json_str(f, g->why);
            fputs("}", f);
            continue;
        }
        fputs("\"insn_counting\": ", f);
        json_str(f, g->counting[0] ? g->counting : "not probed");
        for (size_t i = 0; i < g_nresults; i++)
            if (strcmp(g_results[i].group, g->name) == 0) {
                fputs(",\n  ", f);
                json_result(f, &g_results[i]);
            }
        fputs("\n  }", f);
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
        if (g_results[i].group[0])
            continue;
        fputs(",\n", f);
        json_result(f, &g_results[i]);
    }
    json_groups(f);
    json_ratios(f);
    fputs("\n}\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "glint-bench: error writing %s\n", path);
        return -1;
    }
    return 0;
}

/* Text for a Markdown table cell: '|' escaped. */
static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

static void md_row(FILE *f, const struct result *r)
{
    if (r->skipped) {
        fprintf(f, "| %s | | | | | | | | skipped: ", r->name);
        md_text(f, r->note);
        fputs(" |\n", f);
        return;
    }
    char a[32], b[32], c[32], gi[32], ex[32], em[32];
    fmt_num(a, sizeof a, r->p50_us, 3);
    fmt_num(b, sizeof b, r->p90_us, 3);
    fmt_num(c, sizeof c, r->p99_us, 3);
    fmt_num(gi, sizeof gi, r->guest_insns, 0);
    fmt_num(ex, sizeof ex, r->exits, 1);
    fmt_num(em, sizeof em, r->insn_emulation, 1);
    fprintf(f, "| %s | %s | %s | %s | %zu | %s | %s | %s | ", r->name, a, b, c, r->n, gi, ex, em);
    md_text(f, r->note);
    fputs(" |\n", f);
}

/* The table and the ratios in Markdown, for docs/benchmarks.md: the floors
 * and peers, then one section per glint backend. */
int results_write_markdown(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "glint-bench: cannot write %s\n", path);
        return -1;
    }
    fputs("| metric | p50 µs | p90 µs | p99 µs | n | guest insns | exits | insn_emulation | notes |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---|\n", f);
    for (size_t i = 0; i < g_nresults; i++)
        if (!g_results[i].group[0])
            md_row(f, &g_results[i]);
    for (size_t k = 0; k < g_ngroups; k++) {
        const struct group *g = &g_groups[k];
        fprintf(f, "| **glint, %s backend** | | | | | | | | %s", g->name,
                g->skipped ? "skipped: " : "guest instructions: ");
        md_text(f, g->skipped ? g->why : g->counting[0] ? g->counting : "not probed");
        fputs(" |\n", f);
        if (g->skipped)
            continue;
        for (size_t i = 0; i < g_nresults; i++)
            if (strcmp(g_results[i].group, g->name) == 0)
                md_row(f, &g_results[i]);
    }
    fputs("\n| ratio of p50s, or value | value | target |\n|---|---:|---|\n", f);
    const char *last = "-";
    for (size_t t = 0; t < NTABLES; t++) {
        const struct ratio_table *tb = &g_tables[t];
        const char *grp = tb->backend ? tb->backend : "";
        if (strcmp(grp, last) != 0) {
            last = grp;
            const struct group *g = tb->backend ? group_of(grp) : NULL;
            if (!tb->backend)
                fputs("| **floors** | | |\n", f);
            else if (!g || g->skipped)
                fprintf(f, "| **%s backend** | | %s; its %zu targets not judged |\n", grp,
                        g ? "skipped" : "not run", count_targets(grp));
            else
                fprintf(f, "| **%s backend** | | |\n", grp);
        }
        if (!table_shown(tb))
            continue;
        for (size_t i = 0; i < tb->n; i++) {
            char label[160], val[32], tgt[320];
            ratio_label(&tb->defs[i], label, sizeof label);
            double x = ratio(grp, &tb->defs[i], NULL, 0);
            value_text(&tb->defs[i], x, val, sizeof val);
            target_text(grp, &tb->defs[i], x, tgt, sizeof tgt);
            fprintf(f, "| %s | %s | %s |\n", label, val, tgt + (tgt[0] ? 7 : 0));
        }
    }
    return fclose(f);
}
