/*
 * coredump.c - ELF core files of a guest (docs/observability.md, "Crash
 * dumps"), and the neutral views of the guest that the debugger shares:
 * its ring-3 registers and its user pages.
 *
 * A core file holds: PT_NOTE with NT_PRSTATUS (x86-64 user_regs_struct),
 * NT_PRPSINFO (the function's name), NT_FPREGSET (the FXSAVE image),
 * NT_X86_XSTATE when the guest's AVX state is in use (an XSAVE image with
 * XCR0 in its software bytes, so that gdb shows YMM0-15) and a
 * "GLINT" note (what failed, and what the size cap left out); then one
 * PT_LOAD per run of user pages with the same page-table permissions.
 * Runs of 16 or more zero pages are segments without file data.  The file
 * never exceeds the configured cap: the stack from RSP up goes first, then
 * the rest in address order, and what does not fit is left out and said so
 * in the note.  Guest memory is read through the page tables glint wrote
 * (the guest cannot reach them) and never through a guest pointer: a
 * guest decides only what its own dump contains.
 *
 * Files are written by a service thread started with the configuration,
 * so that a call thread under glint_seccomp_restrict_thread (which may not
 * open files) still gets its dump.  gdbstub.c does its socket I/O there too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debug.h"
#include "error.h"
#include "glint/abi.h"
#include "thread.h"

#define CORE_DEFAULT_MAX (256ull << 20)
#define CORE_MIN (16ull << 10)
#define ZERO_RUN_PAGES 16u
#define MAX_SEGS 4096u

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_NX (1ull << 63)

/* ------------------------------------------------------------------------- */
/* The guest, neutrally. */

int glint_guest_regs(glint_sandbox *sb, struct ucpu *u, uint16_t *cs, uint16_t *ss,
                     uint64_t fallback_rip)
{
    memset(u, 0, sizeof *u);
    *cs = X86_SEL_USER_CS;
    *ss = X86_SEL_USER_DS;
    void *st = sb->hv ? malloc(sb->be->cpu_state_size) : NULL;
    glint_error e;
    int ok = st && sb->be->save_cpu(sb->hv, st, &e) == GLINT_OK;
    if (ok)
        sb->be->cpu_export(st, u);
    free(st);
    if (!ok) {
        memset(u, 0, sizeof *u);
        u->rip = fallback_rip;
        u->rflags = RFLAGS_FIXED;
        ucpu_default_fp(u);
        return 0;
    }
    /* Stopped in a ring-0 exception stub (KVM): the guest's RIP, RSP,
     * RFLAGS and selectors are in the frame the CPU pushed, on the
     * supervisor-only exception stack.  The stubs change no other register. */
    struct glint_exception_frame f;
    if (u->rip >= GLINT_STUBS_GPA && u->rip < GLINT_STUBS_GPA + GLINT_PAGE_SIZE &&
        u->rsp >= GLINT_EXC_STACK_GPA && u->rsp <= GLINT_EXC_STACK_TOP - sizeof f &&
        GLINT_EXC_STACK_TOP <= sb->lay.mem_size) {
        memcpy(&f, sb->mem + u->rsp, sizeof f);
        u->rip = f.rip;
        u->rsp = f.rsp;
        u->rflags = f.rflags;
        *cs = (uint16_t)f.cs;
        *ss = (uint16_t)f.ss;
    }
    return 1;
}

glint_status glint_guest_set_regs(glint_sandbox *sb, const struct ucpu *u, glint_error *err)
{
    void *st = malloc(sb->be->cpu_state_size);
    if (!st)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory setting guest registers");
    glint_status s = sb->be->cpu_import(u, &sb->lay, st, err);
    if (s == GLINT_OK)
        s = sb->be->restore_cpu(sb->hv, st, 0, err);
    free(st);
    sb->need_full = 1; /* the vCPU may have run ring-0 code */
    return s;
}

static uint64_t pte_of(const glint_sandbox *sb, uint64_t gva)
{
    const struct glint_layout *l = &sb->lay;
    uint64_t i = gva >> 21;
    if (gva >= l->mem_size || i >= l->pt_count || l->pt_base > l->mem_size ||
        l->pt_count > (l->mem_size - l->pt_base) / GLINT_PAGE_SIZE)
        return 0;
    uint64_t pte;
    memcpy(&pte, sb->mem + l->pt_base + i * GLINT_PAGE_SIZE + ((gva >> 12) & 511) * 8, 8);
    if ((pte & (PTE_P | PTE_U)) != (PTE_P | PTE_U) ||
        (pte & 0x000ffffffffff000ull) != (gva & ~(GLINT_PAGE_SIZE - 1)))
        return 0;
    return pte;
}

unsigned glint_guest_page(const glint_sandbox *sb, uint64_t gva)
{
    uint64_t pte = pte_of(sb, gva);
    if (!pte)
        return 0;
    return GUEST_PAGE_OK | ((pte & PTE_W) ? GUEST_PAGE_W : 0) | ((pte & PTE_NX) ? 0 : GUEST_PAGE_X);
}

size_t glint_guest_read(const glint_sandbox *sb, uint64_t gva, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        uint64_t a = gva + done;
        if (a < gva || !glint_guest_page(sb, a))
            break;
        size_t n = (size_t)(GLINT_PAGE_SIZE - (a & (GLINT_PAGE_SIZE - 1)));
        if (n > len - done)
            n = len - done;
        memcpy((uint8_t *)buf + done, sb->mem + a, n);
        done += n;
    }
    return done;
}

/* ------------------------------------------------------------------------- */
/* The service thread: file and socket I/O off the call thread. */

static struct {
    pthread_once_t once;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int started, busy, pending, done;
    void (*fn)(void *);
    void *arg;
} svc = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER,
         .cond = PTHREAD_COND_INITIALIZER};

static void *svc_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&svc.lock);
    for (;;) {
        while (!svc.pending)
            pthread_cond_wait(&svc.cond, &svc.lock);
        svc.pending = 0;
        void (*fn)(void *) = svc.fn;
        void *arg = svc.arg;
        pthread_mutex_unlock(&svc.lock);
        fn(arg);
        pthread_mutex_lock(&svc.lock);
        svc.done = 1;
        pthread_cond_broadcast(&svc.cond);
    }
    return NULL;
}

static void svc_start_once(void)
{
    pthread_t t;
    svc.started = glint_thread_start(&t, 0, 1, svc_main, NULL) == 0;
}

void glint_service_start(void);
void glint_service_start(void)
{
    pthread_once(&svc.once, svc_start_once);
}

/* Runs fn(arg) on the service thread (on this one if it never started). */
void glint_service_run(void (*fn)(void *), void *arg);
void glint_service_run(void (*fn)(void *), void *arg)
{
    if (!svc.started) {
        fn(arg);
        return;
    }
    pthread_mutex_lock(&svc.lock);
    while (svc.busy)
        pthread_cond_wait(&svc.cond, &svc.lock);
    svc.busy = 1;
    svc.fn = fn;
    svc.arg = arg;
    svc.done = 0;
    svc.pending = 1;
    pthread_cond_broadcast(&svc.cond);
    while (!svc.done)
        pthread_cond_wait(&svc.cond, &svc.lock);
    svc.busy = 0;
    pthread_cond_broadcast(&svc.cond);
    pthread_mutex_unlock(&svc.lock);
}

/* ------------------------------------------------------------------------- */
/* Core files. */

struct seg {
    uint64_t va, memsz, filesz;
    uint32_t flags; /* PF_* */
    int first;      /* holds RSP: written first */
    int keep;
};

#define PF_X_ 1u
#define PF_W_ 2u
#define PF_R_ 4u

int glint_failure_signal(const glint_error *e);
int glint_failure_signal(const glint_error *e)
{
    switch (e->status) {
    case GLINT_E_ABORT: case GLINT_E_GUEST_OOM: return 6;   /* SIGABRT */
    case GLINT_E_TIMEOUT: return 24;                        /* SIGXCPU */
    case GLINT_E_CANCELLED: return 2;                       /* SIGINT */
    case GLINT_E_OUT_OF_BOUNDS: case GLINT_E_STACK_OVERFLOW: case GLINT_E_SHUTDOWN: return 11;
    case GLINT_E_EXCEPTION:
        switch (e->vector) {
        case 0: case 16: case 19: return 8;                 /* SIGFPE */
        case 1: case 3: return 5;                           /* SIGTRAP */
        case 6: return 4;                                   /* SIGILL */
        default: return 11;                                 /* SIGSEGV */
        }
    case GLINT_OK: return 0;
    default: return 11;
    }
}

struct core_job {
    glint_sandbox *sb;
    const char *path;
    char *made_path; /* out: the path written (dir mode) */
    const char *dir, *fn;
    uint64_t max;
    struct ucpu u;
    uint16_t cs, ss;
    int sig;
    char what[400];
    glint_status status;
    glint_error err;
};

static uint8_t *put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t dsz)
{
    uint32_t nsz = (uint32_t)strlen(name) + 1;
    memcpy(p, &nsz, 4);
    memcpy(p + 4, &dsz, 4);
    memcpy(p + 8, &type, 4);
    p += 12;
    memset(p, 0, (nsz + 3) & ~3u);
    memcpy(p, name, nsz);
    p += (nsz + 3) & ~3u;
    memset(p, 0, (dsz + 3) & ~3u);
    memcpy(p, desc, dsz);
    return p + ((dsz + 3) & ~3u);
}

static int is_zero(const uint8_t *p)
{
    static const uint8_t zero[GLINT_PAGE_SIZE];
    return memcmp(p, zero, GLINT_PAGE_SIZE) == 0;
}

/* The user pages as segments; zero runs of at least zrun pages get no
 * file data.  Returns the count (may exceed cap: then nothing is stored
 * past cap). */
static size_t plan_segments(const glint_sandbox *sb, uint64_t rsp_page, uint64_t zrun,
                            struct seg *out, size_t cap)
{
    size_t n = 0;
    uint64_t end = sb->lay.mem_size & ~(GLINT_PAGE_SIZE - 1);
    uint64_t a = 0;
    while (a < end) {
        unsigned f = glint_guest_page(sb, a);
        if (!f) {
            a += GLINT_PAGE_SIZE;
            continue;
        }
        /* A block: same permissions, contiguous, not crossing rsp_page. */
        uint64_t b = a + GLINT_PAGE_SIZE;
        while (b < end && glint_guest_page(sb, b) == f && b != rsp_page)
            b += GLINT_PAGE_SIZE;
        uint32_t pf = PF_R_ | ((f & GUEST_PAGE_W) ? PF_W_ : 0) | ((f & GUEST_PAGE_X) ? PF_X_ : 0);
        int first = rsp_page && a >= rsp_page && a < sb->lay.stack_top;
        /* Split the block into data and long zero runs. */
        uint64_t p = a;
        while (p < b) {
            uint64_t q = p;
            while (q < b && is_zero(sb->mem + q))
                q += GLINT_PAGE_SIZE;
            int zero = (q - p) / GLINT_PAGE_SIZE >= zrun;
            if (!zero) { /* data: up to the next long zero run */
                q = p;
                while (q < b) {
                    uint64_t z = q;
                    while (z < b && is_zero(sb->mem + z))
                        z += GLINT_PAGE_SIZE;
                    if (z > q && (z - q) / GLINT_PAGE_SIZE >= zrun)
                        break;
                    q = z > q ? z : q + GLINT_PAGE_SIZE;
                }
            }
            if (n < cap)
                out[n] = (struct seg){.va = p, .memsz = q - p, .filesz = zero ? 0 : q - p,
                                      .flags = pf, .first = first};
            n++;
            p = q;
        }
        a = b;
    }
    return n;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, len -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}

#define NOTE_GLINT_SIZE 512u
#define XSTATE_NOTE_SIZE 832u
#define NOTES_SIZE (3u * 20u + 336u + 136u + 512u + 20u + NOTE_GLINT_SIZE + 20u + XSTATE_NOTE_SIZE)

static void core_write(void *arg)
{
    struct core_job *j = arg;
    glint_sandbox *sb = j->sb;
    j->status = GLINT_OK;
    uint64_t rsp_page = 0;
    if (j->u.rsp >= sb->lay.stack_base && j->u.rsp < sb->lay.stack_top)
        rsp_page = j->u.rsp & ~(GLINT_PAGE_SIZE - 1);
    struct seg *segs = malloc(MAX_SEGS * sizeof *segs);
    if (!segs) {
        j->status = glint_fail(&j->err, GLINT_E_NOMEM, "core dump: out of memory");
        return;
    }
    uint64_t zrun = ZERO_RUN_PAGES;
    size_t n;
    while ((n = plan_segments(sb, rsp_page, zrun, segs, MAX_SEGS)) > MAX_SEGS)
        zrun *= 4;
    /* The budget: the stack from RSP first, then address order. */
    uint64_t used = 64 + 56 + NOTES_SIZE + GLINT_PAGE_SIZE; /* ehdr, note phdr, notes, alignment */
    uint64_t total = 0, left_out = 0;
    size_t kept = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            struct seg *s = &segs[i];
            if (s->first != (pass == 0))
                continue;
            total += s->filesz;
            if (used + 56 + s->filesz <= j->max) {
                s->keep = 1;
            } else if (s->filesz && used + 56 + GLINT_PAGE_SIZE <= j->max) {
                uint64_t fit = (j->max - used - 56) & ~(GLINT_PAGE_SIZE - 1);
                left_out += s->filesz - fit;
                s->filesz = s->memsz = fit;
                s->keep = 1;
            } else {
                left_out += s->filesz;
                continue;
            }
            used += 56 + s->filesz;
            kept++;
        }
    }
    /* Headers and notes. */
    size_t hsize = 64 + 56 * (1 + kept);
    uint8_t *hdr = calloc(1, hsize + NOTES_SIZE);
    if (!hdr) {
        free(segs);
        j->status = glint_fail(&j->err, GLINT_E_NOMEM, "core dump: out of memory");
        return;
    }
    uint8_t *notes = hdr + hsize;
    uint8_t prs[336] = {0};
    int32_t sig = j->sig;
    memcpy(prs, &sig, 4);
    int16_t cursig = (int16_t)sig;
    memcpy(prs + 12, &cursig, 2);
    int32_t pid = 1;
    memcpy(prs + 32, &pid, 4);
    const struct ucpu *u = &j->u;
    uint64_t regs[27] = {
        u->r15, u->r14, u->r13, u->r12, u->rbp, u->rbx, u->r11, u->r10, u->r9, u->r8,
        u->rax, u->rcx, u->rdx, u->rsi, u->rdi, ~0ull /* orig_rax */, u->rip, j->cs, u->rflags,
        u->rsp, j->ss, u->fs_base, u->gs_base, 0, 0, 0, 0,
    };
    memcpy(prs + 112, regs, sizeof regs);
    int32_t fpvalid = 1;
    memcpy(prs + 328, &fpvalid, 4);
    uint8_t psinfo[136] = {0};
    psinfo[1] = 'R';
    memcpy(psinfo + 24, &pid, 4);
    snprintf((char *)psinfo + 40, 16, "%s", j->fn);
    snprintf((char *)psinfo + 56, 80, "glint guest: %s", j->fn);
    char text[NOTE_GLINT_SIZE] = {0};
    int tl = snprintf(text, sizeof text, "%s", j->what);
    if (left_out && tl >= 0 && (size_t)tl < sizeof text)
        snprintf(text + tl, sizeof text - (size_t)tl,
                 "; TRUNCATED: %llu of %llu bytes of guest memory left out (cap %llu bytes)",
                 (unsigned long long)left_out, (unsigned long long)total, (unsigned long long)j->max);
    uint8_t *p = put_note(notes, "CORE", 1 /* NT_PRSTATUS */, prs, sizeof prs);
    p = put_note(p, "CORE", 3 /* NT_PRPSINFO */, psinfo, sizeof psinfo);
    p = put_note(p, "CORE", 2 /* NT_FPREGSET */, u->fx, 512);
    if (u->xstate_bv & 4) {
        /* XSAVE layout (standard format): the FXSAVE image with XCR0 at
         * byte 464 (where Linux puts it and gdb reads it), the header's
         * XSTATE_BV at 512, the upper halves of YMM0-15 at 576. */
        uint8_t xs[XSTATE_NOTE_SIZE] = {0};
        memcpy(xs, u->fx, 512);
        uint64_t xcr0 = 7, bv = u->xstate_bv & 7;
        memcpy(xs + 464, &xcr0, 8);
        memcpy(xs + 512, &bv, 8);
        memcpy(xs + 576, u->ymmh, 256);
        p = put_note(p, "LINUX", 0x202 /* NT_X86_XSTATE */, xs, sizeof xs);
    }
    p = put_note(p, "GLINT", 1, text, NOTE_GLINT_SIZE);
    uint64_t notes_size = (uint64_t)(p - notes);

    uint8_t *e = hdr;
    memcpy(e, "\177ELF", 4);
    e[4] = 2, e[5] = 1, e[6] = 1; /* 64-bit, little endian, version 1 */
    uint16_t h16;
    uint32_t h32;
    uint64_t h64;
    h16 = 4; memcpy(e + 16, &h16, 2);         /* ET_CORE */
    h16 = 62; memcpy(e + 18, &h16, 2);        /* EM_X86_64 */
    h32 = 1; memcpy(e + 20, &h32, 4);
    h64 = 64; memcpy(e + 32, &h64, 8);        /* e_phoff */
    h16 = 64; memcpy(e + 52, &h16, 2);        /* e_ehsize */
    h16 = 56; memcpy(e + 54, &h16, 2);        /* e_phentsize */
    h16 = (uint16_t)(1 + kept); memcpy(e + 56, &h16, 2);
    h16 = 64; memcpy(e + 58, &h16, 2);        /* e_shentsize */

    uint8_t *ph = hdr + 64;
    uint32_t type = 4; /* PT_NOTE */
    memcpy(ph, &type, 4);
    h64 = hsize; memcpy(ph + 8, &h64, 8);
    memcpy(ph + 32, &notes_size, 8);
    h64 = 4; memcpy(ph + 48, &h64, 8);
    uint64_t off = (hsize + notes_size + GLINT_PAGE_SIZE - 1) & ~(GLINT_PAGE_SIZE - 1);
    size_t k = 1;
    for (size_t i = 0; i < n; i++) {
        if (!segs[i].keep)
            continue;
        uint8_t *q = ph + 56 * k++;
        type = 1; /* PT_LOAD */
        memcpy(q, &type, 4);
        memcpy(q + 4, &segs[i].flags, 4);
        memcpy(q + 8, &off, 8);
        memcpy(q + 16, &segs[i].va, 8);
        memcpy(q + 24, &segs[i].va, 8);
        memcpy(q + 32, &segs[i].filesz, 8);
        memcpy(q + 40, &segs[i].memsz, 8);
        h64 = GLINT_PAGE_SIZE; memcpy(q + 48, &h64, 8);
        off += segs[i].filesz;
    }

    int fd = -1;
    if (j->path) {
        fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    } else {
        char path[PATH_MAX];
        for (int tries = 0; tries < 100 && fd < 0; tries++) {
            snprintf(path, sizeof path, "%s/core.%s.%d.%llu", j->dir, j->fn, (int)getpid(),
                     (unsigned long long)++sb->core_seq);
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd < 0 && errno != EEXIST)
                break;
        }
        if (fd >= 0)
            j->made_path = strdup(path);
    }
    if (fd < 0) {
        j->status = glint_fail(&j->err, GLINT_E_IO, "core dump: cannot create a file %s %s: %s",
                               j->path ? "at" : "in", j->path ? j->path : j->dir, strerror(errno));
        free(hdr), free(segs);
        return;
    }
    int bad = write_all(fd, hdr, hsize + notes_size, 0);
    off = (hsize + notes_size + GLINT_PAGE_SIZE - 1) & ~(GLINT_PAGE_SIZE - 1);
    for (size_t i = 0; i < n && !bad; i++) {
        if (!segs[i].keep)
            continue;
        if (segs[i].filesz)
            bad = write_all(fd, sb->mem + segs[i].va, segs[i].filesz, off);
        off += segs[i].filesz;
    }
    if (!bad && ftruncate(fd, (off_t)off) != 0)
        bad = 1;
    if (close(fd) != 0)
        bad = 1;
    if (bad)
        j->status = glint_fail(&j->err, GLINT_E_IO, "core dump: writing %s: %s",
                               j->path ? j->path : (j->made_path ? j->made_path : j->dir),
                               strerror(errno));
    free(hdr);
    free(segs);
}

static void safe_name(char *out, size_t size, const char *in)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) {
        char c = in[i];
        out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '_' || c == '-'
                     ? c
                     : '_';
    }
    out[i] = 0;
}

static glint_status core_now(glint_sandbox *sb, const char *path, const char *ctx, glint_error *err)
{
    struct core_job *j = calloc(1, sizeof *j);
    if (!j)
        return glint_fail(err, GLINT_E_NOMEM, "core dump: out of memory");
    char fn[48];
    safe_name(fn, sizeof fn, ctx && *ctx ? ctx : "guest");
    j->sb = sb;
    j->path = path;
    j->dir = sb->core_dir;
    j->fn = fn;
    j->max = sb->core_max ? sb->core_max : CORE_DEFAULT_MAX;
    glint_guest_regs(sb, &j->u, &j->cs, &j->ss, sb->err.rip);
    j->sig = sb->err.status != GLINT_OK ? glint_failure_signal(&sb->err) : 0;
    if (sb->err.status != GLINT_OK)
        snprintf(j->what, sizeof j->what, "glint %s core of %s: %s: %.300s", sb->be->name, fn,
                 glint_status_name(sb->err.status), sb->err.message);
    else
        snprintf(j->what, sizeof j->what, "glint %s core of %s, on demand", sb->be->name, fn);
    glint_service_run(core_write, j);
    glint_status s = j->status;
    if (s != GLINT_OK && err)
        *err = j->err;
    if (j->made_path) {
        free(sb->core_last);
        sb->core_last = j->made_path;
    } else if (path && s == GLINT_OK) {
        free(sb->core_last);
        sb->core_last = strdup(path);
    }
    free(j);
    return s;
}

void glint_core_on_failure(glint_sandbox *sb, const char *ctx)
{
    if (!sb->core_dir)
        return;
    switch (sb->err.status) {
    case GLINT_E_EXCEPTION: case GLINT_E_ABORT: case GLINT_E_GUEST_OOM: case GLINT_E_STACK_OVERFLOW:
    case GLINT_E_OUT_OF_BOUNDS: case GLINT_E_SHUTDOWN: case GLINT_E_TIMEOUT: case GLINT_E_CANCELLED:
    case GLINT_E_BAD_GUEST_DATA: case GLINT_E_UNEXPECTED_EXIT:
        break;
    default:
        return;
    }
    glint_error saved = sb->err, e;
    if (core_now(sb, NULL, ctx, &e) != GLINT_OK) {
        /* The call's failure stays what it was; the message says the dump failed. */
        sb->err = saved;
        size_t l = strlen(sb->err.message);
        snprintf(sb->err.message + l, sizeof sb->err.message - l, " [no core dump: %.200s]",
                 e.message);
        if (sb->state == SB_POISONED)
            glint_poison_with(sb, &sb->err); /* its record says so too */
    } else {
        sb->err = saved;
    }
}

API glint_status glint_sandbox_set_core_dump(glint_sandbox *sb, const char *dir, uint64_t max_bytes)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (!dir) {
        free(sb->core_dir);
        sb->core_dir = NULL;
        return GLINT_OK;
    }
    if (max_bytes && max_bytes < CORE_MIN)
        return glint_fail(&sb->err, GLINT_E_INVALID,
                          "glint_sandbox_set_core_dump: a cap of %llu bytes is below the minimum "
                          "of %llu", (unsigned long long)max_bytes, (unsigned long long)CORE_MIN);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return glint_fail(&sb->err, GLINT_E_IO, "glint_sandbox_set_core_dump: '%.300s' is not a directory",
                          dir);
    char *d = strdup(dir);
    if (!d)
        return glint_fail(&sb->err, GLINT_E_NOMEM, "out of memory");
    free(sb->core_dir);
    sb->core_dir = d;
    sb->core_max = max_bytes ? max_bytes : CORE_DEFAULT_MAX;
    glint_service_start();
    return GLINT_OK;
}

API glint_status glint_sandbox_write_core(glint_sandbox *sb, const char *path)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (!path)
        return glint_fail(&sb->err, GLINT_E_INVALID, "glint_sandbox_write_core: path is NULL");
    int expected = 0;
    if (!atomic_compare_exchange_strong(&sb->busy, &expected, 1))
        return GLINT_E_BUSY;
    glint_error e;
    glint_status s = core_now(sb, path, "on-demand", &e);
    if (s != GLINT_OK)
        sb->err = e;
    atomic_store(&sb->busy, 0);
    return s;
}

API const char *glint_sandbox_core_path(const glint_sandbox *sb)
{
    return sb ? sb->core_last : NULL;
}
