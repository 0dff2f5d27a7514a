/*
 * glint_runner.c - the glint side of the WebAssembly benchmark, and its
 * report (scripts/bench-wasm.sh builds and runs it; docs/benchmarks.md,
 * "WebAssembly").  Linked against libglint.a; public API only.
 *
 *   glint_runner --native NATIVE.elf --wasm KERNELS.wasm
 *                --kernel NAME:N:REPS:TYPE ...  [--native-clang ELF]
 *                [--backend kvm|process ...]
 *                [--empty N] [--pool N] [--open FILE ...] [--open-ms MS]
 *                [--ext FILE] [--meta KEY=VALUE ...] [--quick]
 *                --json FILE [--markdown FILE]
 *
 * For each backend (default: kvm, then process; one that
 * glint_backend_probe refuses is reported as skipped, with its message):
 *
 *  kernels     a sandbox of NATIVE.elf (the kernels as a C guest) and one of
 *              KERNELS.wasm (the same kernels, glint's Wasm runtime), made
 *              once with the same configuration (16 MiB heap); per kernel
 *              one warm-up call each, then REPS rounds of one call of each
 *              (native, wasm and, with --native-clang, the C guest built
 *              by clang; which goes first rotates); p50 and min (best) of
 *              glint_sandbox_call's time; ratios of the mins.
 *              Every result is checked against the native one.
 *  call_empty  echo(int32) -> int32 on both sandboxes, in alternating
 *              blocks of 500 calls (a b b a ...), N calls each: p50 and
 *              the wasm/C ratio (target <= 1.2).
 *  pooled      a snapshot of each freshly initialized sandbox, a
 *              glint_pool of it (max_idle 4, prefill 2): acquire + echo(7)
 *              + release, alternating blocks of 100, N each: p50 and the
 *              wasm/C ratio (target <= 1.5); beside it, on sandboxes of the
 *              same snapshots, glint_sandbox_restore after a call and the
 *              call right after a restore (where a pooled call's time goes).
 *
 * Once, on the host: glint_image_open_memory (decode + validate + translate
 * every function, build the image) and glint_image_open_file of each --open
 * module, repeated for --open-ms each: p50 and MB/s.
 *
 * --ext FILE adds the other runtimes' figures, tab-separated lines
 *   RUNTIME NAME N P50_S MIN_S CHECKSUM      (RUNTIME: v8, v8_liftoff, wasm_interp)
 *   skip RUNTIME REASON...
 * whose checksums are checked against the native guest's as well.
 *
 * Prints the table (Markdown) and writes everything as JSON.  Exit status
 * 0; 1 when a checksum differs or a measurement failed; 2 for bad usage.
 */
#define _GNU_SOURCE
#include <glint/glint.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_KERNELS 16
#define MAX_OPEN 8
#define MAX_META 16
#define NRT 3 /* external runtimes */

static const char *const rt_names[NRT] = {"v8", "v8_liftoff", "wasm_interp"};
static const char *const rt_titles[NRT] = {"V8 (default)", "V8 --liftoff-only", "wasm-interp"};

struct fig {
    int have;
    double p50, min; /* seconds */
    char sum[40];
};

struct kernel {
    char name[32];
    int n, reps, f64;
    struct fig native[3], wasm[3], native_clang[3]; /* by backend */
    struct fig ext[NRT];
    int mismatch;
};

static struct kernel g_k[MAX_KERNELS];
static int g_nk;
static char g_rt_skip[NRT][300];
static int g_rt_seen[NRT];

static const char *g_native_clang; /* --native-clang: the C guest built by clang, for reference */
static const char *g_open[MAX_OPEN];
static int g_nopen;
static const char *g_meta[MAX_META];
static int g_nmeta;

struct backend_res {
    char skip[600];
    struct {
        int have;
        double wasm_p50_us, c_p50_us, wasm_min_us, c_min_us;
        size_t n;
    } empty, pool, restore, after_restore;
    char fail[600];
};
static struct backend_res g_be[3];

struct open_res {
    const char *path;
    size_t bytes;
    double file_p50_us, mem_p50_us;
    size_t reps;
    char fail[600];
};
static struct open_res g_or[MAX_OPEN];

static int g_failed;
static int g_quick; /* --quick: small sizes, few repetitions: targets not judged */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank p50 (sorts v). */
static double p50(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_d);
    return v[(n + 1) / 2 - 1];
}

static _Noreturn void die_usage(const char *msg)
{
    fprintf(stderr, "glint_runner: %s\n", msg);
    exit(2);
}

static void value_sum(const glint_value *v, char *out, size_t len)
{
    if (v->type == GLINT_F64) {
        uint64_t bits;
        memcpy(&bits, &v->v.f64, 8);
        snprintf(out, len, "0x%016llx", (unsigned long long)bits);
    } else if (v->type == GLINT_I32) {
        snprintf(out, len, "%d", v->v.i32);
    } else {
        snprintf(out, len, "?type%d", (int)v->type);
    }
}

static glint_status make_sandbox(const char *path, glint_backend be, glint_sandbox **out, char *why,
                                 size_t len)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 16u << 20;
    cfg.timeout_ms = 120000;
    cfg.backend = be;
    glint_error err;
    glint_status st = glint_sandbox_create_file(path, &cfg, out, &err);
    if (st != GLINT_OK) {
        snprintf(why, len, "%s: create: %s: %.400s", path, glint_status_name(st), err.message);
        return st;
    }
    st = glint_sandbox_init(*out);
    if (st != GLINT_OK) {
        snprintf(why, len, "%s: init: %s: %.400s", path, glint_status_name(st),
                 glint_sandbox_error(*out)->message);
        glint_sandbox_destroy(*out);
        *out = NULL;
        return st;
    }
    if (glint_sandbox_backend(*out) != be) {
        snprintf(why, len, "%s: runs on %s, not %s", path,
                 glint_backend_name(glint_sandbox_backend(*out)), glint_backend_name(be));
        glint_sandbox_destroy(*out);
        *out = NULL;
        return GLINT_E_INVALID;
    }
    return GLINT_OK;
}

/* One timed call; -1 on failure (why filled). */
static double timed_call(glint_sandbox *sb, const char *name, int n, glint_value *res, char *why,
                         size_t len)
{
    glint_value arg = glint_i32(n);
    double t0 = now_s();
    glint_status st = glint_sandbox_call(sb, name, &arg, 1, res);
    double t = now_s() - t0;
    if (st != GLINT_OK) {
        snprintf(why, len, "%s(%d): %s: %.400s", name, n, glint_status_name(st),
                 glint_sandbox_error(sb)->message);
        return -1;
    }
    return t;
}

static void set_fig(struct fig *g, double *t, int n, const glint_value *res)
{
    g->have = 1;
    g->min = t[0];
    for (int r = 1; r < n; r++)
        g->min = fmin(g->min, t[r]);
    g->p50 = p50(t, (size_t)n);
    value_sum(res, g->sum, sizeof g->sum);
}

/* Per kernel: one warm-up call on each sandbox, then reps rounds of one
 * call on each in turn (native, wasm, clang-built native if any), so that
 * all see the same machine. */
static int run_kernels(glint_backend be, glint_sandbox *nat, glint_sandbox *wa, glint_sandbox *natc,
                       char *why, size_t len)
{
    glint_sandbox *sbs[3] = {nat, wa, natc};
    int nsb = natc ? 3 : 2;
    for (int i = 0; i < g_nk; i++) {
        struct kernel *k = &g_k[i];
        glint_value res[3];
        double *t[3] = {NULL, NULL, NULL};
        int rc = 0;
        for (int j = 0; j < nsb; j++)
            if (!(t[j] = calloc((size_t)k->reps, sizeof *t[j])))
                rc = -1, snprintf(why, len, "out of memory");
        for (int j = 0; j < nsb && rc == 0; j++)
            if (timed_call(sbs[j], k->name, k->n, &res[j], why, len) < 0)
                rc = -1;
        for (int r = 0; r < k->reps && rc == 0; r++)
            for (int jj = 0; jj < nsb && rc == 0; jj++) {
                int j = (jj + r) % nsb; /* each goes first in turn */
                if ((t[j][r] = timed_call(sbs[j], k->name, k->n, &res[j], why, len)) < 0)
                    rc = -1;
            }
        if (rc == 0) {
            set_fig(&k->native[be], t[0], k->reps, &res[0]);
            set_fig(&k->wasm[be], t[1], k->reps, &res[1]);
            if (natc)
                set_fig(&k->native_clang[be], t[2], k->reps, &res[2]);
            const struct fig *fn = &k->native[be], *fw = &k->wasm[be];
                    fprintf(stderr, "  %-9s %-8s native %9.3f ms  wasm %9.3f ms  %6.2fx (best of %d)  %s\n", k->name,
                    glint_backend_name(be), fn->min * 1e3, fw->min * 1e3, fw->min / fn->min, k->reps,
                    strcmp(fn->sum, fw->sum) ? "CHECKSUM MISMATCH" : "checksum ok");
        }
        for (int j = 0; j < 3; j++)
            free(t[j]);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* m timed echo(7) calls on sb, or through pool (acquire + call + release)
 * when pool is not NULL; the times go to t unless it is NULL. */
static int echo_block(glint_sandbox *sb, glint_pool *pool, size_t m, double *t, char *why, size_t len)
{
    glint_value arg = glint_i32(7), res;
    for (size_t i = 0; i < m; i++) {
        glint_error err;
        double t0 = now_s();
        if (pool) {
            glint_status st = glint_pool_acquire(pool, &sb, &err);
            if (st != GLINT_OK)
                return snprintf(why, len, "glint_pool_acquire: %s: %.400s", glint_status_name(st),
                                err.message), -1;
        }
        glint_status st = glint_sandbox_call(sb, "echo", &arg, 1, &res);
        if (st != GLINT_OK || res.type != GLINT_I32 || res.v.i32 != 7) {
            snprintf(why, len, "echo(7): %s: %.400s", glint_status_name(st),
                     glint_sandbox_error(sb)->message);
            if (pool)
                glint_pool_release(pool, sb);
            return -1;
        }
        if (pool)
            glint_pool_release(pool, sb);
        if (t)
            t[i] = now_s() - t0;
    }
    return 0;
}

/* n timed calls on each of a and b (or their pools), in alternating blocks
 * of `block` (in the order a b b a a b ..., so that neither is always
 * first), after one block of each that is thrown away. */
static int alternate(glint_sandbox *a, glint_sandbox *b, glint_pool *pa, glint_pool *pb, size_t n,
                     size_t block, double *ta, double *tb, char *why, size_t len)
{
    if (echo_block(a, pa, block, NULL, why, len) < 0 || echo_block(b, pb, block, NULL, why, len) < 0)
        return -1;
    for (size_t done = 0, round = 0; done < n; round++) {
        size_t m = n - done < block ? n - done : block;
        int ba = round & 1; /* b first in odd rounds */
        if ((ba && echo_block(b, pb, m, tb + done, why, len) < 0) ||
            echo_block(a, pa, m, ta + done, why, len) < 0 ||
            (!ba && echo_block(b, pb, m, tb + done, why, len) < 0))
            return -1;
        done += m;
    }
    return 0;
}

static double min_of(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = fmin(m, v[i]);
    return m;
}

static int run_empty(struct backend_res *r, glint_sandbox *nat, glint_sandbox *wa, size_t n, char *why,
                     size_t len)
{
    double *tw = calloc(n, sizeof *tw), *tc = calloc(n, sizeof *tc);
    if (!tw || !tc)
        return free(tw), free(tc), snprintf(why, len, "out of memory"), -1;
    if (alternate(wa, nat, NULL, NULL, n, 500, tw, tc, why, len) < 0)
        return free(tw), free(tc), -1;
    r->empty.have = 1, r->empty.n = n;
    r->empty.wasm_min_us = min_of(tw, n) * 1e6, r->empty.c_min_us = min_of(tc, n) * 1e6;
    r->empty.wasm_p50_us = p50(tw, n) * 1e6, r->empty.c_p50_us = p50(tc, n) * 1e6;
    free(tw), free(tc);
    return 0;
}

/* A freshly initialized sandbox of path and a snapshot of it. */
static glint_status make_snapshot(const char *path, glint_backend be, glint_sandbox **sb,
                                  glint_snapshot **snap, char *why, size_t len)
{
    glint_status st = make_sandbox(path, be, sb, why, len);
    if (st != GLINT_OK)
        return st;
    st = glint_sandbox_snapshot(*sb, snap);
    if (st != GLINT_OK) {
        snprintf(why, len, "%s: snapshot: %s: %.400s", path, glint_status_name(st),
                 glint_sandbox_error(*sb)->message);
        glint_sandbox_destroy(*sb);
        *sb = NULL;
    }
    return st;
}

static glint_status make_pool(const glint_snapshot *snap, glint_backend be, glint_pool **out, char *why,
                              size_t len)
{
    glint_pool_config pc;
    glint_pool_config_default(&pc);
    pc.max_idle = 4, pc.prefill = 2, pc.idle_timeout_ms = 0, pc.backend = be;
    glint_error err;
    glint_status st = glint_pool_create(snap, &pc, out, &err);
    if (st != GLINT_OK)
        snprintf(why, len, "glint_pool_create: %s: %.400s", glint_status_name(st), err.message);
    return st;
}

/* m times: echo(7), then glint_sandbox_restore to snap; the call's times
 * (each call but the block's first runs right after a restore) go to tc,
 * the restore's to tr, unless NULL. */
static int restore_block(glint_sandbox *sb, const glint_snapshot *snap, size_t m, double *tc, double *tr,
                         char *why, size_t len)
{
    glint_value arg = glint_i32(7), res;
    for (size_t i = 0; i < m; i++) {
        double t0 = now_s();
        glint_status st = glint_sandbox_call(sb, "echo", &arg, 1, &res);
        double t1 = now_s();
        if (st != GLINT_OK)
            return snprintf(why, len, "echo(7): %s: %.400s", glint_status_name(st),
                            glint_sandbox_error(sb)->message), -1;
        st = glint_sandbox_restore(sb, snap);
        double t2 = now_s();
        if (st != GLINT_OK)
            return snprintf(why, len, "glint_sandbox_restore: %s: %.400s", glint_status_name(st),
                            glint_sandbox_error(sb)->message), -1;
        if (tc)
            tc[i] = t1 - t0;
        if (tr)
            tr[i] = t2 - t1;
    }
    return 0;
}

static int run_pool(struct backend_res *r, const char *native, const char *wasm, glint_backend be,
                    size_t n, char *why, size_t len)
{
    glint_sandbox *sw = NULL, *sc = NULL;
    glint_snapshot *snw = NULL, *snc = NULL;
    glint_pool *pw = NULL, *pc = NULL;
    double *tw = calloc(n, sizeof *tw), *tc = calloc(n, sizeof *tc), *rcw = NULL, *rcc = NULL;
    int rc = -1;
    if (!tw || !tc) {
        snprintf(why, len, "out of memory");
        goto out;
    }
    if (make_snapshot(wasm, be, &sw, &snw, why, len) != GLINT_OK ||
        make_snapshot(native, be, &sc, &snc, why, len) != GLINT_OK)
        goto out;
    /* The restore after a call, and the next call, which starts from the
     * restored state: what a pooled call costs beyond acquire and release's
     * own bookkeeping.  Blocks of 100 alternately; the block's first call
     * (not after a restore) is left out. */
    if (!(rcw = calloc(n + 1, sizeof *rcw)) || !(rcc = calloc(n + 1, sizeof *rcc))) {
        snprintf(why, len, "out of memory");
        goto out;
    }
    if (restore_block(sw, snw, 100, NULL, NULL, why, len) < 0 ||
        restore_block(sc, snc, 100, NULL, NULL, why, len) < 0)
        goto out;
    size_t ncall = 0;
    for (size_t done = 0, round = 0; done < n; round++) {
        size_t m = n - done < 100 ? n - done : 100;
        int cfirst = round & 1;
        if ((cfirst && restore_block(sc, snc, m, rcc + ncall, tc + done, why, len) < 0) ||
            restore_block(sw, snw, m, rcw + ncall, tw + done, why, len) < 0 ||
            (!cfirst && restore_block(sc, snc, m, rcc + ncall, tc + done, why, len) < 0))
            goto out;
        /* drop the block's first call: it did not follow a restore */
        memmove(rcw + ncall, rcw + ncall + 1, (m - 1) * sizeof *rcw);
        memmove(rcc + ncall, rcc + ncall + 1, (m - 1) * sizeof *rcc);
        ncall += m - 1;
        done += m;
    }
    r->restore.have = 1, r->restore.n = n;
    r->restore.wasm_min_us = min_of(tw, n) * 1e6, r->restore.c_min_us = min_of(tc, n) * 1e6;
    r->restore.wasm_p50_us = p50(tw, n) * 1e6, r->restore.c_p50_us = p50(tc, n) * 1e6;
    if (ncall > 0) {
        r->after_restore.have = 1, r->after_restore.n = ncall;
        r->after_restore.wasm_min_us = min_of(rcw, ncall) * 1e6;
        r->after_restore.c_min_us = min_of(rcc, ncall) * 1e6;
        r->after_restore.wasm_p50_us = p50(rcw, ncall) * 1e6;
        r->after_restore.c_p50_us = p50(rcc, ncall) * 1e6;
    }
    glint_sandbox_destroy(sw), glint_sandbox_destroy(sc);
    sw = sc = NULL;
    if (make_pool(snw, be, &pw, why, len) != GLINT_OK || make_pool(snc, be, &pc, why, len) != GLINT_OK)
        goto out;
    if (alternate(NULL, NULL, pw, pc, n, 100, tw, tc, why, len) < 0)
        goto out;
    r->pool.have = 1, r->pool.n = n;
    r->pool.wasm_min_us = min_of(tw, n) * 1e6, r->pool.c_min_us = min_of(tc, n) * 1e6;
    r->pool.wasm_p50_us = p50(tw, n) * 1e6, r->pool.c_p50_us = p50(tc, n) * 1e6;
    rc = 0;
out:
    free(tw), free(tc), free(rcw), free(rcc);
    glint_pool_destroy(pw), glint_pool_destroy(pc);
    glint_sandbox_destroy(sw), glint_sandbox_destroy(sc);
    glint_snapshot_free(snw), glint_snapshot_free(snc);
    return rc;
}

static void run_backend(glint_backend be, const char *native, const char *wasm, size_t n_empty,
                        size_t n_pool)
{
    struct backend_res *r = &g_be[be];
    glint_error err;
    if (glint_backend_probe(be, &err) != GLINT_OK) {
        snprintf(r->skip, sizeof r->skip, "glint_backend_probe: %.500s", err.message);
        fprintf(stderr, "glint_runner: backend %s skipped: %s\n", glint_backend_name(be), r->skip);
        return;
    }
    fprintf(stderr, "glint_runner: backend %s\n", glint_backend_name(be));
    glint_sandbox *nat = NULL, *wa = NULL, *natc = NULL;
    char why[600] = "";
    if (make_sandbox(native, be, &nat, why, sizeof why) != GLINT_OK ||
        make_sandbox(wasm, be, &wa, why, sizeof why) != GLINT_OK ||
        (g_native_clang && make_sandbox(g_native_clang, be, &natc, why, sizeof why) != GLINT_OK) ||
        run_kernels(be, nat, wa, natc, why, sizeof why) < 0 ||
        run_empty(r, nat, wa, n_empty, why, sizeof why) < 0) {
        snprintf(r->fail, sizeof r->fail, "%s", why);
    }
    glint_sandbox_destroy(nat);
    glint_sandbox_destroy(wa);
    glint_sandbox_destroy(natc);
    if (!r->fail[0] && run_pool(r, native, wasm, be, n_pool, why, sizeof why) < 0)
        snprintf(r->fail, sizeof r->fail, "%s", why);
    if (r->fail[0]) {
        fprintf(stderr, "glint_runner: backend %s: FAILED: %s\n", glint_backend_name(be), r->fail);
        g_failed = 1;
    } else {
        fprintf(stderr, "  p50 wasm / C: call_empty %.2f / %.2f us, pooled %.2f / %.2f us, restore %.2f / %.2f us, "
                        "call after restore %.2f / %.2f us\n",
                r->empty.wasm_p50_us, r->empty.c_p50_us, r->pool.wasm_p50_us, r->pool.c_p50_us,
                r->restore.wasm_p50_us, r->restore.c_p50_us, r->after_restore.wasm_p50_us,
                r->after_restore.c_p50_us);
    }
}

static void run_open(struct open_res *o, double budget_s)
{
    FILE *f = fopen(o->path, "rb");
    if (!f) {
        snprintf(o->fail, sizeof o->fail, "cannot open %s", o->path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(sz > 0 ? (size_t)sz : 1);
    if (!buf || sz <= 0 || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        snprintf(o->fail, sizeof o->fail, "cannot read %s", o->path);
        fclose(f);
        free(buf);
        return;
    }
    fclose(f);
    o->bytes = (size_t)sz;
    size_t cap = 1 << 16;
    double *tm = malloc(cap * sizeof *tm), *tf = malloc(cap * sizeof *tf);
    if (!tm || !tf) {
        snprintf(o->fail, sizeof o->fail, "out of memory");
        free(tm), free(tf), free(buf);
        return;
    }
    size_t n = 0;
    double end = now_s() + budget_s;
    while (n < cap && (n < 5 || now_s() < end)) {
        glint_image *img = NULL;
        glint_error err;
        double t0 = now_s();
        glint_status st = glint_image_open_memory(buf, (size_t)sz, &img, &err);
        double t1 = now_s();
        if (st != GLINT_OK) {
            snprintf(o->fail, sizeof o->fail, "glint_image_open_memory: %s: %.400s",
                     glint_status_name(st), err.message);
            break;
        }
        glint_image_close(img);
        double t2 = now_s();
        st = glint_image_open_file(o->path, &img, &err);
        double t3 = now_s();
        if (st != GLINT_OK) {
            snprintf(o->fail, sizeof o->fail, "glint_image_open_file: %s: %.400s",
                     glint_status_name(st), err.message);
            break;
        }
        glint_image_close(img);
        tm[n] = t1 - t0, tf[n] = t3 - t2, n++;
    }
    if (!o->fail[0]) {
        o->reps = n;
        o->mem_p50_us = p50(tm, n) * 1e6;
        o->file_p50_us = p50(tf, n) * 1e6;
    }
    free(tm), free(tf), free(buf);
}

static struct kernel *find_kernel(const char *name)
{
    for (int i = 0; i < g_nk; i++)
        if (!strcmp(g_k[i].name, name))
            return &g_k[i];
    return NULL;
}

static void read_ext(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "glint_runner: cannot read %s\n", path);
        g_failed = 1;
        return;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *save, *tok[6];
        int nt = 0;
        if (!strncmp(line, "skip\t", 5)) {
            char *rt = line + 5, *reason = strchr(rt, '\t');
            if (!reason)
                continue;
            *reason++ = 0;
            for (int i = 0; i < NRT; i++)
                if (!strcmp(rt, rt_names[i]))
                    snprintf(g_rt_skip[i], sizeof g_rt_skip[i], "%s", reason);
            continue;
        }
        for (char *t = strtok_r(line, "\t", &save); t && nt < 6; t = strtok_r(NULL, "\t", &save))
            tok[nt++] = t;
        if (nt != 6)
            continue;
        int rt = -1;
        for (int i = 0; i < NRT; i++)
            if (!strcmp(tok[0], rt_names[i]))
                rt = i;
        struct kernel *k = find_kernel(tok[1]);
        if (rt < 0 || !k)
            continue;
        if (atoi(tok[2]) != k->n) {
            fprintf(stderr, "glint_runner: %s %s ran with n = %s, not %d\n", tok[0], tok[1], tok[2], k->n);
            g_failed = 1;
            continue;
        }
        struct fig *fg = &k->ext[rt];
        fg->have = 1;
        fg->p50 = atof(tok[3]);
        fg->min = atof(tok[4]);
        snprintf(fg->sum, sizeof fg->sum, "%s", tok[5]);
        g_rt_seen[rt] = 1;
    }
    fclose(f);
}

/* The native reference for the external runtimes: the faster backend's. */
static const struct fig *native_ref(const struct kernel *k)
{
    const struct fig *best = NULL;
    for (int b = 1; b <= 2; b++)
        if (k->native[b].have && (!best || k->native[b].min < best->min))
            best = &k->native[b];
    return best;
}

static const char *ref_sum(const struct kernel *k)
{
    for (int b = 1; b <= 2; b++)
        if (k->native[b].have)
            return k->native[b].sum;
    return NULL;
}

static void check_sums(void)
{
    for (int i = 0; i < g_nk; i++) {
        struct kernel *k = &g_k[i];
        const char *ref = ref_sum(k);
        if (!ref)
            continue;
        for (int b = 1; b <= 2; b++) {
            if (k->native[b].have && strcmp(k->native[b].sum, ref))
                k->mismatch = 1;
            if (k->wasm[b].have && strcmp(k->wasm[b].sum, ref))
                k->mismatch = 1;
            if (k->native_clang[b].have && strcmp(k->native_clang[b].sum, ref))
                k->mismatch = 1;
        }
        for (int r = 0; r < NRT; r++)
            if (k->ext[r].have && strcmp(k->ext[r].sum, ref))
                k->mismatch = 1;
        if (k->mismatch) {
            fprintf(stderr, "glint_runner: %s(%d): CHECKSUM MISMATCH: native %s", k->name, k->n, ref);
            for (int b = 1; b <= 2; b++)
                if (k->wasm[b].have)
                    fprintf(stderr, ", glint-wasm %s %s", glint_backend_name((glint_backend)b), k->wasm[b].sum);
            for (int r = 0; r < NRT; r++)
                if (k->ext[r].have)
                    fprintf(stderr, ", %s %s", rt_names[r], k->ext[r].sum);
            fprintf(stderr, "\n");
            g_failed = 1;
        }
    }
}

/* Geometric mean of ratio(k) over the kernels where it is defined; NAN if
 * any kernel lacks it (a partial geomean would not be comparable). */
typedef double (*ratio_fn)(const struct kernel *k, int arg);

static double geomean(ratio_fn f, int arg)
{
    double s = 0;
    for (int i = 0; i < g_nk; i++) {
        double r = f(&g_k[i], arg);
        if (!(r > 0))
            return NAN;
        s += log(r);
    }
    return g_nk ? exp(s / g_nk) : NAN;
}

static double r_wasm(const struct kernel *k, int be)
{
    return k->wasm[be].have && k->native[be].have ? k->wasm[be].min / k->native[be].min : NAN;
}

static double r_ext(const struct kernel *k, int rt)
{
    const struct fig *ref = native_ref(k);
    return k->ext[rt].have && ref ? k->ext[rt].min / ref->min : NAN;
}

/* wasm-interp's time over glint-wasm's on backend be: how much faster glint is. */
static double r_interp_over(const struct kernel *k, int be)
{
    return k->ext[2].have && k->wasm[be].have ? k->ext[2].min / k->wasm[be].min : NAN;
}

static double r_wasm_p50(const struct kernel *k, int be)
{
    return k->wasm[be].have && k->native[be].have ? k->wasm[be].p50 / k->native[be].p50 : NAN;
}

static double r_clang(const struct kernel *k, int be)
{
    return k->native_clang[be].have ? k->native_clang[be].min / k->native[be].min : NAN;
}

static double r_wasm_clang(const struct kernel *k, int be)
{
    return k->native_clang[be].have ? k->wasm[be].min / k->native_clang[be].min : NAN;
}

static double r_v8_over(const struct kernel *k, int be)
{
    return k->ext[0].have && k->wasm[be].have ? k->wasm[be].min / k->ext[0].min : NAN;
}

/* ---- output ----------------------------------------------------------------- */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void jnum(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static void jfig(FILE *f, const struct fig *g, const struct fig *ref)
{
    fprintf(f, "{\"p50_ms\": ");
    jnum(f, g->p50 * 1e3);
    fprintf(f, ", \"min_ms\": ");
    jnum(f, g->min * 1e3);
    fprintf(f, ", \"checksum\": ");
    jstr(f, g->sum);
    if (ref) {
        fprintf(f, ", \"ratio\": ");
        jnum(f, ref->min > 0 ? g->min / ref->min : NAN);
        fprintf(f, ", \"ratio_p50\": ");
        jnum(f, ref->p50 > 0 ? g->p50 / ref->p50 : NAN);
    }
    fprintf(f, "}");
}

static void jtarget(FILE *f, int *first, const char *name, double v, const char *op, double lim,
                    const char *why_not)
{
    fprintf(f, "%s\n      ", *first ? "" : ",");
    *first = 0;
    jstr(f, name);
    fprintf(f, ": {\"value\": ");
    jnum(f, v);
    fprintf(f, ", \"target\": \"%s %g\", \"met\": ", op, lim);
    if (!isfinite(v) || g_quick) {
        fprintf(f, "null, \"not_judged\": ");
        jstr(f, isfinite(v) ? "--quick run: small sizes and few repetitions" : why_not);
    } else {
        int met = !strcmp(op, "<=") ? v <= lim : v >= lim;
        fprintf(f, "%s", met ? "true" : "false");
    }
    fprintf(f, "}");
}

static const char *be_name(int b)
{
    return glint_backend_name((glint_backend)b);
}

static void write_json(const char *path, int quick)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "glint_runner: cannot write %s\n", path);
        g_failed = 1;
        return;
    }
    fprintf(f, "{\n  \"quick\": %s,\n  \"machine\": {", quick ? "true" : "false");
    for (int i = 0; i < g_nmeta; i++) {
        const char *eq = strchr(g_meta[i], '=');
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - g_meta[i]), g_meta[i]);
        fprintf(f, "%s\n    ", i ? "," : "");
        jstr(f, key);
        fprintf(f, ": ");
        jstr(f, eq + 1);
    }
    fprintf(f, "\n  },\n  \"units\": \"kernel times in ms (p50 and min of the timed calls); ratio = min / "
               "the native guest's min (best of N: the estimator least moved by other work on a shared "
               "host), ratio_p50 = p50 / p50; call figures in us, p50\",\n");
    fprintf(f, "  \"native_reference_for_other_runtimes\": \"the faster backend's native min, per kernel\",\n");
    fprintf(f, "  \"kernels\": [");
    for (int i = 0; i < g_nk; i++) {
        struct kernel *k = &g_k[i];
        fprintf(f, "%s\n    {\"name\": \"%s\", \"n\": %d, \"reps\": %d, \"result\": \"%s\", "
                   "\"checksums_match\": %s",
                i ? "," : "", k->name, k->n, k->reps, k->f64 ? "f64" : "i32",
                k->mismatch ? "false" : "true");
        for (int b = 1; b <= 2; b++) {
            if (!k->native[b].have)
                continue;
            fprintf(f, ",\n     \"%s\": {\"native\": ", be_name(b));
            jfig(f, &k->native[b], NULL);
            fprintf(f, ", \"glint_wasm\": ");
            jfig(f, &k->wasm[b], &k->native[b]);
            if (k->native_clang[b].have) {
                fprintf(f, ", \"native_clang\": ");
                jfig(f, &k->native_clang[b], &k->native[b]);
            }
            fprintf(f, "}");
        }
        for (int r = 0; r < NRT; r++) {
            if (!k->ext[r].have)
                continue;
            fprintf(f, ",\n     \"%s\": ", rt_names[r]);
            jfig(f, &k->ext[r], native_ref(k));
        }
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"runtimes_skipped\": {");
    for (int r = 0, first = 1; r < NRT; r++)
        if (!g_rt_seen[r]) {
            fprintf(f, "%s\"%s\": ", first ? "" : ", ", rt_names[r]);
            jstr(f, g_rt_skip[r][0] ? g_rt_skip[r] : "no figures");
            first = 0;
        }
    fprintf(f, "},\n  \"geomean\": {");
    for (int b = 1; b <= 2; b++) {
        fprintf(f, "\n    \"glint_wasm_%s\": ", be_name(b));
        jnum(f, geomean(r_wasm, b));
        fprintf(f, ",\n    \"glint_wasm_%s_by_p50\": ", be_name(b));
        jnum(f, geomean(r_wasm_p50, b));
        fprintf(f, ",\n    \"native_clang_over_native_%s\": ", be_name(b));
        jnum(f, geomean(r_clang, b));
        fprintf(f, ",\n    \"glint_wasm_over_native_clang_%s\": ", be_name(b));
        jnum(f, geomean(r_wasm_clang, b));
        fprintf(f, ",\n    \"wasm_interp_over_glint_wasm_%s\": ", be_name(b));
        jnum(f, geomean(r_interp_over, b));
        fprintf(f, ",\n    \"glint_wasm_%s_over_v8\": ", be_name(b));
        jnum(f, geomean(r_v8_over, b));
        fprintf(f, ",");
    }
    for (int r = 0; r < NRT; r++) {
        fprintf(f, "\n    \"%s\": ", rt_names[r]);
        jnum(f, geomean(r_ext, r));
        fprintf(f, "%s", r + 1 < NRT ? "," : "");
    }
    fprintf(f, "\n  },\n  \"glint\": {");
    for (int b = 1; b <= 2; b++) {
        struct backend_res *r = &g_be[b];
        fprintf(f, "%s\n    \"%s\": ", b > 1 ? "," : "", be_name(b));
        if (r->skip[0]) {
            fprintf(f, "{\"skipped\": ");
            jstr(f, r->skip);
            fprintf(f, "}");
            continue;
        }
        fprintf(f, "{");
        if (r->fail[0]) {
            fprintf(f, "\"failed\": ");
            jstr(f, r->fail);
            fprintf(f, ", ");
        }
        fprintf(f, "\"call_empty\": ");
        if (r->empty.have)
            fprintf(f, "{\"n\": %zu, \"wasm_p50_us\": %.3f, \"c_p50_us\": %.3f, \"wasm_min_us\": %.3f, "
                       "\"c_min_us\": %.3f, \"ratio\": %.3f, \"what\": \"echo(int32) -> int32 by name, "
                       "warm sandbox, alternating blocks of 500\"}",
                    r->empty.n, r->empty.wasm_p50_us, r->empty.c_p50_us, r->empty.wasm_min_us,
                    r->empty.c_min_us, r->empty.wasm_p50_us / r->empty.c_p50_us);
        else
            fprintf(f, "null");
        fprintf(f, ", \"pooled_call\": ");
        if (r->pool.have)
            fprintf(f, "{\"n\": %zu, \"wasm_p50_us\": %.3f, \"c_p50_us\": %.3f, \"wasm_min_us\": %.3f, "
                       "\"c_min_us\": %.3f, \"ratio\": %.3f, \"what\": \"glint_pool_acquire + echo(7) + "
                       "glint_pool_release, pool of a snapshot taken right after init, max_idle 4, "
                       "prefill 2, alternating blocks of 100\"}",
                    r->pool.n, r->pool.wasm_p50_us, r->pool.c_p50_us, r->pool.wasm_min_us,
                    r->pool.c_min_us, r->pool.wasm_p50_us / r->pool.c_p50_us);
        else
            fprintf(f, "null");
        fprintf(f, ", \"restore_after_call\": ");
        if (r->restore.have)
            fprintf(f, "{\"n\": %zu, \"wasm_p50_us\": %.3f, \"c_p50_us\": %.3f, \"wasm_min_us\": %.3f, "
                       "\"c_min_us\": %.3f, \"ratio\": %.3f, \"what\": \"glint_sandbox_restore to the "
                       "snapshot after an untimed echo(7): the part of a pooled call that release adds\"}",
                    r->restore.n, r->restore.wasm_p50_us, r->restore.c_p50_us, r->restore.wasm_min_us,
                    r->restore.c_min_us, r->restore.wasm_p50_us / r->restore.c_p50_us);
        else
            fprintf(f, "null");
        fprintf(f, ", \"call_after_restore\": ");
        if (r->after_restore.have)
            fprintf(f, "{\"n\": %zu, \"wasm_p50_us\": %.3f, \"c_p50_us\": %.3f, \"wasm_min_us\": %.3f, "
                       "\"c_min_us\": %.3f, \"ratio\": %.3f, \"what\": \"echo(7) right after "
                       "glint_sandbox_restore: the call of a pooled sandbox, from the pristine state\"}",
                    r->after_restore.n, r->after_restore.wasm_p50_us, r->after_restore.c_p50_us,
                    r->after_restore.wasm_min_us, r->after_restore.c_min_us,
                    r->after_restore.wasm_p50_us / r->after_restore.c_p50_us);
        else
            fprintf(f, "null");
        fprintf(f, "}");
    }
    fprintf(f, "\n  },\n  \"module_open\": [");
    for (int i = 0; i < g_nopen; i++) {
        struct open_res *o = &g_or[i];
        fprintf(f, "%s\n    {\"file\": ", i ? "," : "");
        jstr(f, o->path);
        if (o->fail[0]) {
            fprintf(f, ", \"failed\": ");
            jstr(f, o->fail);
        } else {
            fprintf(f, ", \"bytes\": %zu, \"reps\": %zu, \"open_memory_p50_us\": %.2f, "
                       "\"open_file_p50_us\": %.2f, \"mb_per_s\": %.2f, \"mb_per_s_open_file\": %.2f",
                    o->bytes, o->reps, o->mem_p50_us, o->file_p50_us, o->bytes / o->mem_p50_us,
                    o->bytes / o->file_p50_us);
        }
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"targets\": {");
    for (int b = 1; b <= 2; b++) {
        struct backend_res *r = &g_be[b];
        fprintf(f, "%s\n    \"%s\": {", b > 1 ? "," : "", be_name(b));
        int first = 1;
        const char *why = r->skip[0] ? "backend skipped" : r->fail[0] ? "measurement failed" : "not measured";
        jtarget(f, &first, "kernels geomean glint-wasm / native", geomean(r_wasm, b), "<=", 12, why);
        jtarget(f, &first, "kernels geomean wasm-interp / glint-wasm", geomean(r_interp_over, b), ">=", 10,
                g_rt_seen[2] ? why : "wasm-interp not measured");
        jtarget(f, &first, "call_empty wasm / C guest (p50)",
                r->empty.have ? r->empty.wasm_p50_us / r->empty.c_p50_us : NAN, "<=", 1.2, why);
        jtarget(f, &first, "pooled sandbox + call wasm / C guest (p50)",
                r->pool.have ? r->pool.wasm_p50_us / r->pool.c_p50_us : NAN, "<=", 1.5, why);
        fprintf(f, "\n    }");
    }
    fprintf(f, "\n  },\n  \"ok\": %s\n}\n", g_failed ? "false" : "true");
    fclose(f);
}

static void md_ratio(FILE *f, double r)
{
    if (isfinite(r))
        fprintf(f, " %.1fx |", r);
    else
        fprintf(f, " - |");
}

static const char *verdict(double v, int le, double lim)
{
    if (!isfinite(v))
        return "not judged";
    return (le ? v <= lim : v >= lim) ? "MET" : "NOT MET";
}

static void write_markdown(FILE *f)
{
    int have_be[3] = {0, !g_be[1].skip[0], !g_be[2].skip[0]};
    fprintf(f, "| kernel | n |");
    for (int b = 1; b <= 2; b++)
        if (have_be[b])
            fprintf(f, " native %s (ms) | glint-wasm %s (ms) | ratio |", be_name(b), be_name(b));
    for (int r = 0; r < NRT; r++)
        fprintf(f, " %s |", rt_titles[r]);
    fprintf(f, " checksum |\n|---|---:|");
    for (int b = 1; b <= 2; b++)
        if (have_be[b])
            fprintf(f, "---:|---:|---:|");
    for (int r = 0; r < NRT; r++)
        fprintf(f, "---:|");
    fprintf(f, "---|\n");
    for (int i = 0; i < g_nk; i++) {
        struct kernel *k = &g_k[i];
        fprintf(f, "| %s | %d |", k->name, k->n);
        for (int b = 1; b <= 2; b++) {
            if (!have_be[b])
                continue;
            if (k->native[b].have)
                fprintf(f, " %.2f | %.2f |", k->native[b].min * 1e3, k->wasm[b].min * 1e3);
            else
                fprintf(f, " - | - |");
            md_ratio(f, r_wasm(k, b));
        }
        for (int r = 0; r < NRT; r++)
            md_ratio(f, r_ext(k, r));
        fprintf(f, " %s |\n", k->mismatch ? "**MISMATCH**" : "match");
    }
    fprintf(f, "| **geomean** | |");
    for (int b = 1; b <= 2; b++) {
        if (!have_be[b])
            continue;
        fprintf(f, " | |");
        double g = geomean(r_wasm, b);
        if (isfinite(g))
            fprintf(f, " **%.1fx** |", g);
        else
            fprintf(f, " - |");
    }
    for (int r = 0; r < NRT; r++) {
        double g = geomean(r_ext, r);
        if (isfinite(g))
            fprintf(f, " **%.1fx** |", g);
        else
            fprintf(f, " - |");
    }
    fprintf(f, " |\n\n");
    fprintf(f, "Times are the best of the timed calls (runs, for wasm-interp); ratios are to the native "
               "guest on the same backend (V8 and wasm-interp: the faster backend's native). Geomean of "
               "the p50 / p50 ratios:");
    for (int b = 1; b <= 2; b++)
        if (have_be[b])
            fprintf(f, " %s %.1fx;", be_name(b), geomean(r_wasm_p50, b));
    fprintf(f, " glint-wasm / V8 (default):");
    for (int b = 1; b <= 2; b++)
        if (have_be[b])
            fprintf(f, " %s %.1fx;", be_name(b), geomean(r_v8_over, b));
    fprintf(f, " wasm-interp / glint-wasm:");
    for (int b = 1; b <= 2; b++)
        if (have_be[b])
            fprintf(f, " %s %.1fx;", be_name(b), geomean(r_interp_over, b));
    fprintf(f, "\n\n");
    if (g_native_clang) {
        fprintf(f, "| kernel |");
        for (int b = 1; b <= 2; b++)
            if (have_be[b])
                fprintf(f, " native clang %s (ms) | clang / gcc | glint-wasm / native clang |", be_name(b));
        fprintf(f, "\n|---|");
        for (int b = 1; b <= 2; b++)
            if (have_be[b])
                fprintf(f, "---:|---:|---:|");
        fprintf(f, "\n");
        for (int i = 0; i < g_nk; i++) {
            struct kernel *k = &g_k[i];
            fprintf(f, "| %s |", k->name);
            for (int b = 1; b <= 2; b++) {
                if (!have_be[b])
                    continue;
                if (k->native_clang[b].have)
                    fprintf(f, " %.2f |", k->native_clang[b].min * 1e3);
                else
                    fprintf(f, " - |");
                md_ratio(f, r_clang(k, b));
                md_ratio(f, r_wasm_clang(k, b));
            }
            fprintf(f, "\n");
        }
        fprintf(f, "| **geomean** |");
        for (int b = 1; b <= 2; b++) {
            if (!have_be[b])
                continue;
            fprintf(f, " |");
            md_ratio(f, geomean(r_clang, b));
            md_ratio(f, geomean(r_wasm_clang, b));
        }
        fprintf(f, "\n\n");
    }
    for (int r = 0; r < NRT; r++)
        if (!g_rt_seen[r])
            fprintf(f, "%s: skipped: %s\n\n", rt_titles[r], g_rt_skip[r][0] ? g_rt_skip[r] : "no figures");

    fprintf(f, "| backend | call_empty p50 wasm / C (us) | pooled acquire+call+release p50 wasm / C (us) "
               "| restore after a call p50 wasm / C (us) | call right after a restore p50 wasm / C (us) |\n"
               "|---|---|---|---|---|\n");
    for (int b = 1; b <= 2; b++) {
        struct backend_res *r = &g_be[b];
        if (r->skip[0]) {
            fprintf(f, "| %s | skipped: %s | |\n", be_name(b), r->skip);
            continue;
        }
        fprintf(f, "| %s |", be_name(b));
        if (r->empty.have)
            fprintf(f, " %.2f / %.2f = %.2fx |", r->empty.wasm_p50_us, r->empty.c_p50_us,
                    r->empty.wasm_p50_us / r->empty.c_p50_us);
        else
            fprintf(f, " - |");
        if (r->pool.have)
            fprintf(f, " %.2f / %.2f = %.2fx |", r->pool.wasm_p50_us, r->pool.c_p50_us,
                    r->pool.wasm_p50_us / r->pool.c_p50_us);
        else
            fprintf(f, " - |");
        if (r->restore.have)
            fprintf(f, " %.2f / %.2f = %.2fx |", r->restore.wasm_p50_us, r->restore.c_p50_us,
                    r->restore.wasm_p50_us / r->restore.c_p50_us);
        else
            fprintf(f, " - |");
        if (r->after_restore.have)
            fprintf(f, " %.2f / %.2f = %.2fx |\n", r->after_restore.wasm_p50_us, r->after_restore.c_p50_us,
                    r->after_restore.wasm_p50_us / r->after_restore.c_p50_us);
        else
            fprintf(f, " - |\n");
    }
    fprintf(f, "\n| module | bytes | open_memory p50 (us) | MB/s | open_file p50 (us) | MB/s |\n"
               "|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < g_nopen; i++) {
        struct open_res *o = &g_or[i];
        const char *base = strrchr(o->path, '/');
        if (o->fail[0])
            fprintf(f, "| %s | failed: %s | | | | |\n", o->path, o->fail);
        else
            fprintf(f, "| %s | %zu | %.1f | %.1f | %.1f | %.1f |\n", base ? base + 1 : o->path, o->bytes,
                    o->mem_p50_us, o->bytes / o->mem_p50_us, o->file_p50_us, o->bytes / o->file_p50_us);
    }
    fprintf(f, "\n| target | ");
    for (int b = 1; b <= 2; b++)
        fprintf(f, "%s | ", be_name(b));
    fprintf(f, "\n|---|---|---|\n");
    const char *rows[4] = {"kernels geomean <= 12x native", "wasm-interp / glint-wasm >= 10x (geomean)",
                           "call_empty wasm <= 1.2x C guest", "pooled sandbox + call wasm <= 1.5x C guest"};
    for (int t = 0; t < 4; t++) {
        fprintf(f, "| %s |", rows[t]);
        for (int b = 1; b <= 2; b++) {
            struct backend_res *r = &g_be[b];
            double v;
            int le = 1;
            double lim;
            switch (t) {
            case 0: v = geomean(r_wasm, b), lim = 12; break;
            case 1: v = geomean(r_interp_over, b), lim = 10, le = 0; break;
            case 2: v = r->empty.have ? r->empty.wasm_p50_us / r->empty.c_p50_us : NAN, lim = 1.2; break;
            default: v = r->pool.have ? r->pool.wasm_p50_us / r->pool.c_p50_us : NAN, lim = 1.5; break;
            }
            if (isfinite(v) && g_quick)
                fprintf(f, " %.2fx: not judged (--quick) |", v);
            else if (isfinite(v))
                fprintf(f, " %.2fx: **%s** |", v, verdict(v, le, lim));
            else
                fprintf(f, " not judged |");
        }
        fprintf(f, "\n");
    }
}

int main(int argc, char **argv)
{
    const char *native = NULL, *wasm = NULL, *json = NULL, *md = NULL, *ext = NULL;
    size_t n_empty = 20000, n_pool = 5000;
    double open_ms = 1000;
    int quick = 0, backends[3] = {0}, nb = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() (v ? (void)0 : die_usage("missing value"), i++)
        if (!strcmp(a, "--native")) NEEDV(), native = v;
        else if (!strcmp(a, "--wasm")) NEEDV(), wasm = v;
        else if (!strcmp(a, "--native-clang")) NEEDV(), g_native_clang = v;
        else if (!strcmp(a, "--json")) NEEDV(), json = v;
        else if (!strcmp(a, "--markdown")) NEEDV(), md = v;
        else if (!strcmp(a, "--ext")) NEEDV(), ext = v;
        else if (!strcmp(a, "--empty")) NEEDV(), n_empty = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--pool")) NEEDV(), n_pool = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--open-ms")) NEEDV(), open_ms = atof(v);
        else if (!strcmp(a, "--quick")) quick = g_quick = 1;
        else if (!strcmp(a, "--open")) {
            NEEDV();
            if (g_nopen == MAX_OPEN) die_usage("too many --open");
            g_open[g_nopen++] = v;
        } else if (!strcmp(a, "--meta")) {
            NEEDV();
            if (g_nmeta == MAX_META || !strchr(v, '=')) die_usage("bad --meta");
            g_meta[g_nmeta++] = v;
        } else if (!strcmp(a, "--backend")) {
            NEEDV();
            glint_backend be;
            glint_error err;
            if (glint_backend_parse(v, &be, &err) != GLINT_OK || be == GLINT_BACKEND_AUTO)
                die_usage("--backend takes kvm or process");
            backends[nb++ % 3] = be;
        } else if (!strcmp(a, "--kernel")) {
            NEEDV();
            if (g_nk == MAX_KERNELS) die_usage("too many kernels");
            struct kernel *k = &g_k[g_nk++];
            char type[8] = "";
            if (sscanf(v, "%31[^:]:%d:%d:%7s", k->name, &k->n, &k->reps, type) != 4 || k->reps < 1 ||
                (strcmp(type, "i32") && strcmp(type, "f64")))
                die_usage("--kernel takes NAME:N:REPS:i32|f64");
            k->f64 = !strcmp(type, "f64");
        } else
            die_usage("unknown option (see the comment at the top of bench/wasm/glint_runner.c)");
    }
    if (!native || !wasm || !json || g_nk == 0)
        die_usage("needs --native, --wasm, --json and at least one --kernel");
    if (n_empty < 1 || n_pool < 1)
        die_usage("--empty and --pool take a count >= 1");
    if (nb == 0)
        backends[nb++] = GLINT_BACKEND_KVM, backends[nb++] = GLINT_BACKEND_PROCESS;
    for (int b = 1; b <= 2; b++) {
        int want = 0;
        for (int i = 0; i < nb && i < 3; i++)
            want |= backends[i] == b;
        if (!want)
            snprintf(g_be[b].skip, sizeof g_be[b].skip, "not asked for (--backend)");
    }
    for (int i = 0; i < nb && i < 3; i++)
        run_backend((glint_backend)backends[i], native, wasm, n_empty, n_pool);
    for (int i = 0; i < g_nopen; i++) {
        g_or[i].path = g_open[i];
        run_open(&g_or[i], open_ms / 1e3);
        if (g_or[i].fail[0]) {
            fprintf(stderr, "glint_runner: %s: %s\n", g_or[i].path, g_or[i].fail);
            g_failed = 1;
        }
    }
    if (ext)
        read_ext(ext);
    check_sums();
    write_json(json, quick);
    write_markdown(stdout);
    if (md) {
        FILE *f = fopen(md, "w");
        if (f) {
            write_markdown(f);
            fclose(f);
        } else {
            g_failed = 1;
        }
    }
    return g_failed;
}
