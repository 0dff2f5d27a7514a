/*
 * profile.c - the sampling profiler (glint_sandbox_profile_start/stop).
 *
 * A thread of the profiler's own wakes `hz` times a second and, while the
 * sandbox runs guest code and no sample is outstanding, kicks the vCPU
 * (hv.h: kick): on KVM the interrupt signal with immediate_exit, on the
 * process backend the interrupt signal to the child, without asking either
 * to stop.  The run returns HV_EXIT_INTR; the run loop (call.c) calls
 * glint_profile_on_intr, which clears the kick, reads RIP/RSP/RBP, walks
 * the frame-pointer chain in guest memory and counts the stack; the loop
 * then sees no cancellation and resumes the guest.  Only one kick is ever
 * outstanding, so an interrupt or time limit that arrives meanwhile rides
 * on it (kvm.c: no second signal) and the call stops as usual.
 *
 * The walk trusts nothing: every frame must lie inside the guest's heap,
 * stack and buffers, 8-byte aligned, strictly above the one before, and at
 * most GLINT_PROFILE_MAX_DEPTH deep; a lie ends the stack, never the
 * profiler.  Distinct stacks are kept (at most MAX_STACKS, MAX_FRAMES
 * addresses in all; beyond that samples count as "[lost]") and symbolized
 * only at stop, from the image's symbol table (symbols.c).
 *
 * Off (sb->prof NULL) costs nothing: call.c tests it only on interrupt
 * exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "sandbox.h"
#include "symbols.h"
#include "thread.h"

#define MAX_STACKS (1u << 16)
#define MAX_FRAMES (1u << 21) /* addresses kept, all stacks together (16 MiB) */
#define HASH_BITS 17

struct stack {
    uint64_t hash;
    uint64_t count;
    uint32_t off, depth; /* in frames[] */
};

struct glint_profiler {
    glint_sandbox *sb;
    uint32_t hz;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    /* Written by the vCPU thread only. */
    uint64_t samples, lost;
    struct stack *stacks;
    uint32_t nstacks, cap_stacks;
    uint32_t *table; /* 1 << HASH_BITS slots: index + 1 into stacks, 0 empty */
    uint64_t *frames;
    uint32_t nframes, cap_frames;
};

/* ------------------------------------------------------------------------- */
/* Sampling. */

static void *sampler_main(void *arg)
{
    struct glint_profiler *p = arg;
    glint_sandbox *sb = p->sb;
    uint64_t period = 1000000000ull / p->hz;
    uint64_t next = glint_now_ns() + period;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
        int rc = pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        if (p->stop)
            break;
        if (rc != ETIMEDOUT)
            continue;
        uint64_t now = glint_now_ns();
        next += period;
        if (next <= now) /* fell behind (a long host function, a busy host): no burst */
            next = now + period;
        pthread_mutex_lock(&sb->run_lock);
        if (sb->running && !sb->kick_pending && atomic_load(&sb->cancel_seq) != atomic_load(&sb->seq)) {
            sb->kick_pending = 1;
            sb->be->kick(sb->hv, sb->thread);
        }
        pthread_mutex_unlock(&sb->run_lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static uint64_t hash_stack(const uint64_t *pc, uint32_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    for (uint32_t i = 0; i < n; i++) {
        h ^= pc[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

static void count_stack(struct glint_profiler *p, const uint64_t *pc, uint32_t n)
{
    uint64_t h = hash_stack(pc, n);
    uint32_t mask = (1u << HASH_BITS) - 1, i = (uint32_t)h & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t k = p->table[i];
        if (!k)
            break;
        struct stack *s = &p->stacks[k - 1];
        if (s->hash == h && s->depth == n && memcmp(p->frames + s->off, pc, n * sizeof *pc) == 0) {
            s->count++;
            return;
        }
    }
    /* New: slot i is free (the table is at most half full). */
    if (p->nstacks >= MAX_STACKS || p->nframes + n > MAX_FRAMES) {
        p->lost++;
        return;
    }
    if (p->nstacks == p->cap_stacks) {
        uint32_t nc = p->cap_stacks ? p->cap_stacks * 2 : 256;
        struct stack *v = realloc(p->stacks, nc * sizeof *v);
        if (!v) {
            p->lost++;
            return;
        }
        p->stacks = v, p->cap_stacks = nc;
    }
    if (p->nframes + n > p->cap_frames) {
        uint32_t nc = p->cap_frames ? p->cap_frames : 4096;
        while (nc < p->nframes + n)
            nc *= 2;
        uint64_t *v = realloc(p->frames, (size_t)nc * sizeof *v);
        if (!v) {
            p->lost++;
            return;
        }
        p->frames = v, p->cap_frames = nc;
    }
    memcpy(p->frames + p->nframes, pc, n * sizeof *pc);
    p->stacks[p->nstacks] = (struct stack){h, 1, p->nframes, n};
    p->nframes += n;
    p->table[i] = ++p->nstacks;
}

/* The frame-pointer walk: pc[0] = RIP, then return addresses, innermost
 * first.  Only guest memory is read, only upwards, at most max frames. */
static uint32_t walk(const glint_sandbox *sb, uint64_t rip, uint64_t rsp, uint64_t rbp, uint64_t *pc,
                     uint32_t max)
{
    const struct glint_layout *l = &sb->lay;
    uint64_t lo = l->heap_base, hi = l->pt_base; /* heap, stack and buffers */
    uint32_t n = 0;
    pc[n++] = rip;
    uint64_t fp = rbp;
    /* A function without a frame of its own (gcc before 14 omits it in
     * leaves whatever -mno-omit-leaf-frame-pointer says), or one at its
     * first or last instruction: RBP is still the caller's, and the return
     * address into the caller is at RSP.  Take it only if the instruction
     * before it is a direct call to the function holding RIP. */
    uint64_t off;
    if (sb->syms && rsp >= lo && rsp <= hi - 8 && (rsp & 7) == 0 &&
        glint_symtab_lookup(sb->syms, rip, &off)) {
        uint64_t ret;
        memcpy(&ret, sb->mem + rsp, 8);
        if (ret >= GLINT_IMAGE_BASE + 5 && ret < l->image_end && sb->mem[ret - 5] == 0xe8) {
            int32_t rel;
            memcpy(&rel, sb->mem + ret - 4, 4);
            if (ret + (uint64_t)(int64_t)rel == rip - off)
                pc[n++] = ret;
        }
    }
    if (rsp >= lo && rsp < hi && fp < rsp)
        return n; /* RBP below the stack pointer holds no frame of this stack */
    while (n < max && fp >= lo && (fp & 7) == 0 && fp <= hi - 16) {
        uint64_t next, ret;
        memcpy(&next, sb->mem + fp, 8);
        memcpy(&ret, sb->mem + fp + 8, 8);
        if (ret == 0)
            break;
        pc[n++] = ret;
        if (next <= fp) /* frames only go up: no loops */
            break;
        fp = next;
    }
    return n;
}

void glint_profile_on_intr(glint_sandbox *sb)
{
    struct glint_profiler *p = sb->prof;
    pthread_mutex_lock(&sb->run_lock);
    int kicked = sb->kick_pending;
    if (kicked) {
        sb->kick_pending = 0;
        if (atomic_load(&sb->cancel_seq) != atomic_load(&sb->seq))
            sb->be->set_immediate_exit(sb->hv, 0); /* else the call is stopping: leave it set */
    }
    pthread_mutex_unlock(&sb->run_lock);
    if (!kicked)
        return; /* an interrupt, not a sample */
    uint64_t rip, rsp, rbp;
    if (!sb->be->sample_regs(sb->hv, &rip, &rsp, &rbp)) {
        p->lost++;
        return;
    }
    uint64_t pc[GLINT_PROFILE_MAX_DEPTH];
    uint32_t n = walk(sb, rip, rsp, rbp, pc, GLINT_PROFILE_MAX_DEPTH);
    p->samples++;
    count_stack(p, pc, n);
}

/* ------------------------------------------------------------------------- */
/* Start and stop. */

void glint_profile_free(glint_sandbox *sb)
{
    struct glint_profiler *p = sb->prof;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_lock(&sb->run_lock);
    sb->prof = NULL;
    sb->kick_pending = 0;
    pthread_mutex_unlock(&sb->run_lock);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->stacks);
    free(p->table);
    free(p->frames);
    free(p);
}

API glint_status glint_sandbox_profile_start(glint_sandbox *sb, uint32_t hz)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (hz == 0)
        hz = 1000;
    if (hz > 10000)
        return glint_fail(&sb->err, GLINT_E_INVALID, "profile: %u samples per second is more than "
                          "10000", hz);
    if (sb->prof)
        return glint_fail(&sb->err, GLINT_E_STATE, "profile: the profiler is already running");
    if (!sb->be->kick || !sb->be->sample_regs)
        return glint_fail(&sb->err, GLINT_E_INVALID, "profile: the %s backend cannot sample",
                          sb->be->name);
    struct glint_profiler *p = calloc(1, sizeof *p);
    if (!p || !(p->table = calloc((size_t)1 << HASH_BITS, sizeof *p->table))) {
        free(p);
        return glint_fail(&sb->err, GLINT_E_NOMEM, "profile: out of memory");
    }
    p->sb = sb;
    p->hz = hz;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    sb->prof = p; /* before the thread: it only kicks runs, which see it */
    /* The sampler never takes the kick signal. */
    int rc = glint_thread_start(&p->thread, 0, 0, sampler_main, p);
    if (rc != 0) {
        sb->prof = NULL;
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p->table);
        free(p);
        return glint_fail(&sb->err, GLINT_E_NOMEM, "profile: cannot start the sampler thread: %s",
                          strerror(rc));
    }
    return GLINT_OK;
}

/* ------------------------------------------------------------------------- */
/* Output: folded stacks and an SVG flame graph. */

struct folded {
    char *text; /* "outer;...;inner" */
    uint64_t count;
};

/* A frame's name, safe in folded lines and in SVG: no ';', spaces, control
 * or non-ASCII bytes, no XML specials beyond what svg_text escapes. */
static void frame_name(const struct glint_symtab *syms, uint64_t addr, int ret, char *buf, size_t size)
{
    uint64_t off;
    const char *nm = glint_symtab_lookup(syms, ret ? addr - 1 : addr, &off);
    if (!nm) {
        snprintf(buf, size, "0x%llx", (unsigned long long)addr);
        return;
    }
    snprintf(buf, size, "%s", nm);
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f || *c == ';')
            *c = '?';
}

static int by_text(const void *a, const void *b)
{
    return strcmp(((const struct folded *)a)->text, ((const struct folded *)b)->text);
}

/* Builds the folded lines, merged by name and sorted; *n gets their count. */
static struct folded *fold(const struct glint_profiler *p, const struct glint_symtab *syms, size_t *n)
{
    size_t cnt = p->nstacks + (p->lost ? 1 : 0);
    struct folded *f = calloc(cnt ? cnt : 1, sizeof *f);
    if (!f)
        return NULL;
    size_t k = 0;
    for (uint32_t i = 0; i < p->nstacks; i++) {
        const struct stack *s = &p->stacks[i];
        size_t cap = (size_t)s->depth * 64 + 1, len = 0;
        char *t = malloc(cap);
        if (!t)
            goto fail;
        for (uint32_t j = s->depth; j-- > 0;) { /* outermost first */
            char nm[64];
            frame_name(syms, p->frames[s->off + j], j > 0, nm, sizeof nm);
            len += (size_t)snprintf(t + len, cap - len, "%s%s", len ? ";" : "", nm);
        }
        f[k].text = t;
        f[k++].count = s->count;
    }
    if (p->lost) {
        if (!(f[k].text = strdup("[lost]")))
            goto fail;
        f[k++].count = p->lost;
    }
    qsort(f, k, sizeof *f, by_text);
    size_t w = 0;
    for (size_t i = 0; i < k; i++) {
        if (w && strcmp(f[w - 1].text, f[i].text) == 0) {
            f[w - 1].count += f[i].count;
            free(f[i].text);
        } else {
            f[w++] = f[i];
        }
    }
    *n = w;
    return f;
fail:
    for (size_t i = 0; i < k; i++)
        free(f[i].text);
    free(f);
    return NULL;
}

/* The flame graph's tree: children of a node share a prefix of frames. */
struct node {
    char *name;
    uint64_t count;
    struct node *child, *next;
};

static struct node *child_of(struct node *parent, const char *name, size_t len)
{
    struct node **pp = &parent->child, *last = NULL;
    for (struct node *c = parent->child; c; c = c->next) {
        if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
            return c;
        last = c;
    }
    struct node *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strndup(name, len))) {
        free(c);
        return NULL;
    }
    if (last)
        last->next = c;
    else
        *pp = c;
    return c;
}

static void free_tree(struct node *n)
{
    while (n) {
        struct node *next = n->next;
        free_tree(n->child);
        free(n->name);
        free(n);
        n = next;
    }
}

static int tree_depth(const struct node *n)
{
    int d = 0;
    for (; n; n = n->next) {
        int c = 1 + tree_depth(n->child);
        if (c > d)
            d = c;
    }
    return d;
}

static void svg_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f); break;
        }
    }
}

#define SVG_W 1200.0
#define SVG_ROW 16
#define SVG_TOP 36

static void svg_nodes(FILE *f, const struct node *n, double x, int depth, int height, uint64_t total)
{
    for (; n; n = n->next) {
        double w = (SVG_W - 20.0) * (double)n->count / (double)total;
        if (w >= 0.1) {
            int y = height - 10 - (depth + 1) * SVG_ROW;
            uint32_t h = 2166136261u;
            for (const char *c = n->name; *c; c++)
                h = (h ^ (uint8_t)*c) * 16777619u;
            fprintf(f, "<g><title>");
            svg_text(f, n->name);
            fprintf(f, " (%llu sample%s, %.2f%%)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
                       "height=\"%d\" fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
                    (unsigned long long)n->count, n->count == 1 ? "" : "s",
                    100.0 * (double)n->count / (double)total, x, y, w, SVG_ROW - 1, 205 + h % 50,
                    80 + (h >> 8) % 120, 30 + (h >> 16) % 40);
            size_t fit = (size_t)(w / 7.0);
            if (fit >= 3) {
                fprintf(f, "<text x=\"%.2f\" y=\"%d\">", x + 3, y + SVG_ROW - 4);
                char label[256];
                snprintf(label, sizeof label, "%s", n->name);
                if (strlen(label) > fit)
                    strcpy(label + (fit > 2 ? fit - 2 : 0), "..");
                svg_text(f, label);
                fprintf(f, "</text>");
            }
            fprintf(f, "</g>\n");
            svg_nodes(f, n->child, x, depth + 1, height, total);
        }
        x += w;
    }
}

static int write_svg(FILE *f, const struct folded *v, size_t n, uint64_t samples, uint32_t hz)
{
    struct node root = {.name = (char *)"all"};
    for (size_t i = 0; i < n; i++) {
        struct node *at = &root;
        root.count += v[i].count;
        for (const char *s = v[i].text; at;) {
            const char *e = strchr(s, ';');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            at = child_of(at, s, len);
            if (!at) {
                free_tree(root.child);
                return -1;
            }
            at->count += v[i].count;
            if (!e)
                break;
            s = e + 1;
        }
    }
    int depth = tree_depth(root.child) + 1;
    int height = SVG_TOP + depth * SVG_ROW + 20;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"12\">\n"
               "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fdf6e3\"/>\n"
               "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">glint flame graph: "
               "%llu samples at %u Hz</text>\n",
            (int)SVG_W, height, (int)SVG_W, height, (int)SVG_W, height, (int)SVG_W / 2,
            (unsigned long long)samples, hz);
    if (root.count) {
        struct node all = {.name = (char *)"all", .count = root.count, .child = root.child};
        svg_nodes(f, &all, 10.0, 0, height, root.count);
    }
    fprintf(f, "</svg>\n");
    free_tree(root.child);
    return 0;
}

static glint_status write_file(glint_sandbox *sb, const char *path, const struct folded *v, size_t n,
                               int svg, uint64_t samples, uint32_t hz)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return glint_fail(&sb->err, GLINT_E_IO, "profile: cannot write %s: %s", path, strerror(errno));
    int bad = 0;
    if (svg) {
        bad = write_svg(f, v, n, samples, hz) != 0;
    } else {
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%s %llu\n", v[i].text, (unsigned long long)v[i].count);
    }
    bad |= ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad)
        return glint_fail(&sb->err, GLINT_E_IO, "profile: writing %s failed", path);
    return GLINT_OK;
}

API glint_status glint_sandbox_profile_stop(glint_sandbox *sb, const char *folded_path,
                                            const char *svg_path, uint64_t *samples)
{
    if (!sb)
        return GLINT_E_INVALID;
    struct glint_profiler *p = sb->prof;
    if (!p)
        return glint_fail(&sb->err, GLINT_E_STATE, "profile: the profiler is not running");
    /* Stop the sampler first; then nothing changes the profile. */
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    p->thread = pthread_self();
    if (samples)
        *samples = p->samples;
    glint_status s = GLINT_OK;
    size_t n = 0;
    struct folded *v = NULL;
    if (folded_path || svg_path) {
        v = fold(p, sb->syms, &n);
        if (!v)
            s = glint_fail(&sb->err, GLINT_E_NOMEM, "profile: out of memory");
    }
    if (s == GLINT_OK && folded_path)
        s = write_file(sb, folded_path, v, n, 0, p->samples, p->hz);
    if (s == GLINT_OK && svg_path)
        s = write_file(sb, svg_path, v, n, 1, p->samples, p->hz);
    for (size_t i = 0; v && i < n; i++)
        free(v[i].text);
    free(v);
    /* Free it (the thread is already joined). */
    pthread_mutex_lock(&sb->run_lock);
    sb->prof = NULL;
    sb->kick_pending = 0;
    pthread_mutex_unlock(&sb->run_lock);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->stacks);
    free(p->table);
    free(p->frames);
    free(p);
    return s;
}
