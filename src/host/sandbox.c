/*
 * sandbox.c - configuration, memory layout and the sandbox life cycle.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "cpu_x86_64.h"
#include "debug.h"
#include "error.h"
#include "image.h"
#include "sandbox.h"
#include "snapshot.h"
#include "symbols.h"

#define KiB (1024ull)
#define MiB (1024ull * 1024ull)

struct limit {
    const char *name;
    uint64_t min, max;
};
static const struct limit L_HEAP = {"heap size", 4 * KiB, 512 * MiB};
static const struct limit L_STACK = {"stack size", 16 * KiB, 64 * MiB};
static const struct limit L_INPUT = {"input buffer size", 4 * KiB, 256 * MiB};
static const struct limit L_OUTPUT = {"output buffer size", 4 * KiB, 256 * MiB};

API void glint_config_default(glint_config *cfg)
{
    if (!cfg)
        return;
    cfg->heap_size = 512 * KiB;
    cfg->stack_size = 64 * KiB;
    cfg->input_size = 64 * KiB;
    cfg->output_size = 64 * KiB;
    cfg->timeout_ms = 1000;
    cfg->backend = GLINT_BACKEND_AUTO;
}

static glint_status check_size(const struct limit *l, size_t value, uint64_t *rounded,
                               glint_error *err)
{
    if (value < l->min)
        return glint_fail(err, GLINT_E_INVALID, "%s %zu is too small (minimum %llu bytes)", l->name,
                          value, (unsigned long long)l->min);
    if (value > l->max)
        return glint_fail(err, GLINT_E_INVALID, "%s %zu is too large (maximum %llu bytes)", l->name,
                          value, (unsigned long long)l->max);
    *rounded = ((uint64_t)value + GLINT_PAGE_SIZE - 1) & ~(GLINT_PAGE_SIZE - 1);
    return GLINT_OK;
}

glint_status glint_layout_compute(const glint_config *cfg, uint64_t image_end,
                                  struct glint_layout *lay, glint_error *err)
{
    glint_status s;
    memset(lay, 0, sizeof *lay);
    if ((s = check_size(&L_HEAP, cfg->heap_size, &lay->heap_size, err)) ||
        (s = check_size(&L_STACK, cfg->stack_size, &lay->stack_size, err)) ||
        (s = check_size(&L_INPUT, cfg->input_size, &lay->input_size, err)) ||
        (s = check_size(&L_OUTPUT, cfg->output_size, &lay->output_size, err)))
        return s;
    if (image_end < GLINT_IMAGE_BASE)
        image_end = GLINT_IMAGE_BASE;
    if (image_end > GLINT_MEMORY_MAX || (image_end & (GLINT_PAGE_SIZE - 1)))
        return glint_fail(err, GLINT_E_INVALID, "image end 0x%llx is not a valid guest address",
                          (unsigned long long)image_end);
    /* Each term is bounded (<= 1 GiB), so the sums cannot overflow 64 bits. */
    lay->image_end = image_end;
    lay->heap_base = image_end;
    lay->guard_base = lay->heap_base + lay->heap_size;
    lay->stack_base = lay->guard_base + GLINT_GUARD_SIZE;
    lay->stack_top = lay->stack_base + lay->stack_size;
    lay->input_base = lay->stack_top;
    lay->output_base = lay->input_base + lay->input_size;
    lay->pt_base = lay->output_base + lay->output_size;
    uint64_t pts = 1;
    while ((lay->pt_base + pts * GLINT_PAGE_SIZE + (2 * MiB - 1)) / (2 * MiB) > pts)
        pts++;
    lay->pt_count = pts;
    lay->mem_size = lay->pt_base + pts * GLINT_PAGE_SIZE;
    if (lay->mem_size > GLINT_MEMORY_MAX)
        return glint_fail(err, GLINT_E_INVALID,
                          "guest memory of %llu bytes (image %llu, heap %llu, stack %llu, "
                          "buffers %llu + %llu) exceeds the maximum of %llu",
                          (unsigned long long)lay->mem_size, (unsigned long long)image_end,
                          (unsigned long long)lay->heap_size, (unsigned long long)lay->stack_size,
                          (unsigned long long)lay->input_size,
                          (unsigned long long)lay->output_size,
                          (unsigned long long)GLINT_MEMORY_MAX);
    return GLINT_OK;
}

API glint_status glint_config_validate(const glint_config *cfg, size_t image_span, glint_error *err)
{
    if (!cfg)
        return glint_fail(err, GLINT_E_INVALID, "configuration is NULL");
    if (cfg->backend < GLINT_BACKEND_AUTO || cfg->backend > GLINT_BACKEND_PROCESS)
        return glint_fail(err, GLINT_E_INVALID, "backend %d is not auto, kvm or process", cfg->backend);
    struct glint_layout lay;
    uint64_t end = GLINT_IMAGE_BASE + ((uint64_t)image_span + GLINT_PAGE_SIZE - 1) / GLINT_PAGE_SIZE *
                                          GLINT_PAGE_SIZE;
    if (image_span > GLINT_MEMORY_MAX)
        return glint_fail(err, GLINT_E_INVALID, "image of %zu bytes exceeds guest memory", image_span);
    return glint_layout_compute(cfg, end, &lay, err);
}

/* ------------------------------------------------------------------------- */

static glint_status default_print(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                  glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)ret, (void)user;
    fwrite(args[0].v.str.ptr, 1, args[0].v.str.len, stdout);
    fflush(stdout);
    return GLINT_OK;
}

glint_status glint_sandbox_set_functions(glint_sandbox *sb, const glint_function *funcs,
                                         const uint64_t *entries, size_t n, glint_error *err)
{
    glint_function *f = n ? calloc(n, sizeof *f) : NULL;
    uint64_t *e = n ? calloc(n, sizeof *e) : NULL;
    char(*names)[GLINT_MAX_NAME + 1] = n ? calloc(n, sizeof *names) : NULL;
    if (n && (!f || !e || !names)) {
        free(f), free(e), free(names);
        return glint_fail(err, GLINT_E_NOMEM, "out of memory copying the function table");
    }
    for (size_t i = 0; i < n; i++) {
        f[i] = funcs[i];
        snprintf(names[i], sizeof names[i], "%s", funcs[i].name);
        f[i].name = names[i];
        e[i] = entries[i];
    }
    if (!sb->funcs_borrowed)
        free(sb->funcs), free(sb->fn_entries), free(sb->fn_names);
    sb->funcs = f, sb->fn_entries = e, sb->fn_names = names, sb->nfuncs = n;
    sb->funcs_borrowed = 0;
    return GLINT_OK;
}

/* Image segments, heap, stack and buffers, with their page permissions. */
static size_t guest_regions(const struct glint_image *img, const struct glint_layout *lay,
                            struct glint_region *r)
{
    size_t n = 0;
    for (size_t i = 0; i < img->nsegs; i++) {
        const struct glint_segment *s = &img->segs[i];
        uint32_t f = GLINT_MAP_USER;
        if (s->flags & 2u) /* PF_W */
            f |= GLINT_MAP_WRITE;
        if (s->flags & 1u) /* PF_X */
            f |= GLINT_MAP_EXEC;
        uint64_t size = (s->memsz + GLINT_PAGE_SIZE - 1) & ~(GLINT_PAGE_SIZE - 1);
        r[n++] = (struct glint_region){s->vaddr, size, f};
    }
    const uint32_t rw = GLINT_MAP_USER | GLINT_MAP_WRITE;
    r[n++] = (struct glint_region){lay->heap_base, lay->heap_size, rw};
    r[n++] = (struct glint_region){lay->stack_base, lay->stack_size, rw};
    r[n++] = (struct glint_region){lay->input_base, lay->input_size, rw};
    r[n++] = (struct glint_region){lay->output_base, lay->output_size, rw};
    return n;
}

static void write_boot_info(glint_sandbox *sb)
{
    struct glint_boot_info bi;
    memset(&bi, 0, sizeof bi);
    bi.magic = GLINT_BOOT_MAGIC;
    bi.abi_version = GLINT_ABI_VERSION;
    bi.heap_base = sb->lay.heap_base;
    bi.heap_size = sb->lay.heap_size;
    if (getrandom(&bi.stack_canary, sizeof bi.stack_canary, GRND_NONBLOCK) !=
        (ssize_t)sizeof bi.stack_canary)
        bi.stack_canary = glint_now_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)sb;
    bi.stack_canary &= ~0xffull; /* a NUL low byte stops string-based leaks */
    bi.input_base = sb->lay.input_base;
    bi.input_size = sb->lay.input_size;
    bi.output_base = sb->lay.output_base;
    bi.output_size = sb->lay.output_size;
    bi.stack_top = sb->lay.stack_top;
    bi.stack_size = sb->lay.stack_size;
    bi.exit_gate = sb->no_exit_gate ? 0 : sb->be->exit_gate;
    memcpy(sb->mem + GLINT_BOOT_INFO_GVA, &bi, sizeof bi);
}

void glint_sandbox_sync_exit_gate(glint_sandbox *sb)
{
    uint64_t want = sb->no_exit_gate ? 0 : sb->be->exit_gate, *at;
    if (!sb->mem || sb->lay.mem_size < GLINT_BOOT_INFO_GVA + sizeof(struct glint_boot_info))
        return;
    at = (uint64_t *)(sb->mem + GLINT_BOOT_INFO_GVA + offsetof(struct glint_boot_info, exit_gate));
    if (*at == want) /* a mapping of a snapshot stays shared where it can */
        return;
    /* A page shared with the snapshot is read-only here: the sandbox's own
     * copy first (on failure unshare poisons the sandbox). */
    if (sb->shared_ro && glint_sandbox_unshare(sb, 1, &sb->err) != GLINT_OK)
        return;
    *at = want;
}

static glint_status create_memory(glint_sandbox *sb, glint_error *err)
{
    size_t size = (size_t)sb->lay.mem_size;
    sb->memfd = memfd_create("glint-guest", MFD_CLOEXEC);
    if (sb->memfd < 0)
        return glint_fail(err, errno == EMFILE || errno == ENFILE ? GLINT_E_NOMEM : GLINT_E_HYPERVISOR,
                          "memfd_create: %s", strerror(errno));
    if (ftruncate(sb->memfd, (off_t)size) < 0)
        return glint_fail(err, GLINT_E_NOMEM, "sizing guest memory to %zu bytes: %s", size,
                          strerror(errno));
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, sb->memfd, 0);
    if (m == MAP_FAILED)
        return glint_fail(err, GLINT_E_NOMEM, "mapping %zu bytes of guest memory: %s", size,
                          strerror(errno));
    sb->mem = m;
    return GLINT_OK;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/*
 * Maps in advance the guest pages the host itself writes into a new
 * sandbox's memory (glint's tables and stubs where the backend runs on
 * them, the boot information, the
 * page tables, the first page of each call buffer), one system call per
 * run of pages instead of one page fault per page on first touch.  Pages
 * the host writes anyway: no memory more.  Best effort (older kernels
 * refuse the advice; the pages then fault in as before).
 */
static void populate_host_pages(glint_sandbox *sb)
{
    const struct glint_layout *l = &sb->lay;
    const uint64_t runs[][2] = {
        {GLINT_PML4_GPA, GLINT_EXC_STACK_GPA - GLINT_PML4_GPA},
        {GLINT_BOOT_INFO_GVA, GLINT_PAGE_SIZE},
        {l->pt_base, l->pt_count * GLINT_PAGE_SIZE},
        {l->input_base, GLINT_PAGE_SIZE},
        {l->output_base, GLINT_PAGE_SIZE},
    };
    for (size_t i = sb->be->uses_cpu_tables ? 0 : 1; i < sizeof runs / sizeof runs[0]; i++)
        if (runs[i][1] && runs[i][0] + runs[i][1] <= l->mem_size)
            (void)madvise(sb->mem + runs[i][0], (size_t)runs[i][1], MADV_POPULATE_WRITE);
}

static glint_status alloc_buffers(glint_sandbox *sb, glint_error *err)
{
    uint64_t words = (sb->lay.mem_size / GLINT_PAGE_SIZE + 63) / 64;
    sb->dirty = calloc(words, sizeof *sb->dirty);
    /* The copies of results and host-call arguments and the host
     * functions' scratch buffer (glint_sandbox_buffer) are allocated when
     * first needed: many sandboxes never return a string or call the
     * host, and each untouched buffer would still cost the host a page or
     * two of its heap. */
    sb->hc.scratch_size = sb->lay.input_size;
    sb->hc.sb = sb;
    if (!sb->dirty)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory for the sandbox's buffers");
    return GLINT_OK;
}

uint8_t *glint_sandbox_buffer(glint_sandbox *sb, enum glint_sandbox_buf which)
{
    uint8_t **p = which == GLINT_BUF_RESULT ? &sb->result_buf
                  : which == GLINT_BUF_HOSTCALL_ARGS ? &sb->hc_args_buf
                                                     : (uint8_t **)&sb->hc.scratch;
    size_t n = which == GLINT_BUF_RESULT ? sb->lay.output_size + 1
               : which == GLINT_BUF_HOSTCALL_ARGS ? sb->lay.output_size + 16
                                                  : sb->lay.input_size;
    if (!*p)
        *p = malloc(n);
    return *p;
}

static glint_status sandbox_setup(glint_sandbox *sb, const struct glint_image *img, glint_error *err)
{
    glint_status s;
    if ((s = glint_layout_compute(&sb->cfg, img->image_end, &sb->lay, err)) ||
        (s = glint_sandbox_set_functions(sb, img->funcs, img->fn_entries, img->nfuncs, err)) || (s = alloc_buffers(sb, err)) ||
        (s = hv_select(sb->cfg.backend, &sb->be, err)) || (s = create_memory(sb, err)))
        return s;
    glint_sandbox_prepare(sb, -1);
    populate_host_pages(sb);

    if (sb->memfd < 0 || glint_image_write(img, sb->memfd) < 0)
        glint_image_load(img, sb->mem, (size_t)sb->lay.mem_size);
    sb->syms = glint_symtab_ref(img->syms);
    write_boot_info(sb);
    struct glint_region regions[GLINT_IMAGE_MAX_SEGS + 4];
    size_t n = guest_regions(img, &sb->lay, regions);
    struct x86_state st;
    /* glint's x86 tables only where the backend runs on them (a snapshot
     * of this sandbox writes them: copy_memory). */
    sb->tables_elided = !sb->be->uses_cpu_tables;
    x86_setup(sb->mem, &sb->lay, regions, n, img->entry, !sb->tables_elided, &st);

    struct hv_setup setup = {sb->mem, (size_t)sb->lay.mem_size, sb->memfd, &sb->lay, &st,
                             glint_sandbox_take_prep(sb), -1, 0};
    if ((s = sb->be->create(&sb->hv, &setup, err)))
        return s;
    return glint_sandbox_finish_setup(sb, err);
}

void glint_sandbox_prepare(glint_sandbox *sb, int share_fd)
{
    if (sb->be->prepare && sb->memfd >= 0 && !sb->prep)
        sb->prep = sb->be->prepare(sb->memfd, share_fd);
}

struct hv_prep *glint_sandbox_take_prep(glint_sandbox *sb)
{
    struct hv_prep *p = sb->prep;
    sb->prep = NULL;
    return p;
}

/* Buffers, the default print function and the watchdog: after memory and VM. */
glint_status glint_sandbox_finish_setup(glint_sandbox *sb, glint_error *err)
{
    glint_status s;
    if (!sb->dirty && (s = alloc_buffers(sb, err)))
        return s;
    static const glint_type print_params[] = {GLINT_STRING};
    glint_function print = {.name = "print", .ret = GLINT_VOID, .nparams = 1};
    memcpy(print.params, print_params, sizeof print_params);
    if ((s = glint_sandbox_register(sb, &print, default_print, NULL)) != GLINT_OK)
        return glint_fail(err, s, "%s", sb->err.message);
    return glint_watchdog_add(sb, err);
}

glint_sandbox *glint_sandbox_new(const glint_config *cfg, glint_error *err)
{
    glint_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb) {
        glint_fail(err, GLINT_E_NOMEM, "out of memory creating a sandbox");
        return NULL;
    }
    sb->memfd = -1;
    pthread_mutex_init(&sb->run_lock, NULL);
    atomic_store(&sb->cancel_seq, UINT64_MAX);
    glint_log_defaults(sb);
    glint_obs_sandbox_new(sb);
    if (cfg)
        sb->cfg = *cfg;
    else
        glint_config_default(&sb->cfg);
    return sb;
}

API glint_status glint_sandbox_create(const glint_image *img, const glint_config *cfg,
                                      glint_sandbox **out, glint_error *err)
{
    if (!out)
        return glint_fail(err, GLINT_E_INVALID, "glint_sandbox_create: out is NULL");
    *out = NULL;
    if (!img)
        return glint_fail(err, GLINT_E_INVALID, "glint_sandbox_create: image is NULL");
    uint64_t t0 = glint_now_ns();
    glint_sandbox *sb = glint_sandbox_new(cfg, err);
    if (!sb)
        return GLINT_E_NOMEM;
    glint_status s = sandbox_setup(sb, img, err);
    if (s != GLINT_OK) {
        glint_sandbox_destroy(sb);
        return s;
    }
    glint_obs_created(sb, t0);
    *out = sb;
    return GLINT_OK;
}

API glint_status glint_sandbox_create_file(const char *path, const glint_config *cfg,
                                           glint_sandbox **out, glint_error *err)
{
    glint_image *img;
    if (out)
        *out = NULL;
    glint_status s = glint_image_open_file(path, &img, err);
    if (s != GLINT_OK)
        return s;
    s = glint_sandbox_create(img, cfg, out, err);
    glint_image_close(img);
    return s;
}

API void glint_sandbox_destroy(glint_sandbox *sb)
{
    if (!sb)
        return;
    glint_watchdog_remove(sb); /* harmless if it was never added */
    glint_obs_destroyed(sb);
    glint_profile_free(sb);
    glint_symtab_free(sb->syms);
    glint_gdb_free(sb); /* before the VM: it may turn the VM's guest debug off */
    if (sb->hv)
        sb->be->destroy(sb->hv);
    if (sb->prep)
        sb->be->prepare_drop(sb->prep);
    if (sb->mem)
        munmap(sb->mem, (size_t)sb->lay.mem_size);
    if (sb->memfd >= 0)
        close(sb->memfd);
    if (!sb->funcs_borrowed) {
        free(sb->funcs);
        free(sb->fn_entries);
        free(sb->fn_names);
    }
    free(sb->host);
    free(sb->result_buf);
    free(sb->hc_args_buf);
    free(sb->hc.scratch);
    free(sb->poison);
    free(sb->dirty);
    free(sb->core_dir);
    free(sb->core_last);
    glint_snapshot_free(sb->synced);
    glint_snapshot_free(sb->auto_restore);
    glint_snapshot_free(sb->base);
    pthread_mutex_destroy(&sb->run_lock);
    free(sb);
}

/* ------------------------------------------------------------------------- */

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > GLINT_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

API glint_status glint_sandbox_register(glint_sandbox *sb, const glint_function *fn,
                                        glint_host_fn callback, void *user)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (!fn || !fn->name || !callback)
        return glint_fail(&sb->err, GLINT_E_INVALID, "register: function, name and callback are required");
    if (sb->state != SB_CREATED)
        return glint_fail(&sb->err, GLINT_E_STATE,
                          "register %s: host functions must be registered before glint_sandbox_init",
                          fn->name);
    if (strcmp(fn->name, GLINT_SPAN_HOSTFN) == 0)
        return glint_fail(&sb->err, GLINT_E_INVALID, "register: '%s' is reserved for guest spans",
                          fn->name);
    if (strcmp(fn->name, GLINT_LOG_HOSTFN) == 0)
        return glint_fail(&sb->err, GLINT_E_INVALID, "register: '%s' is reserved for guest logging",
                          fn->name);
    if (!valid_name(fn->name))
        return glint_fail(&sb->err, GLINT_E_INVALID,
                          "register: '%.80s' is not a valid name (1-63 characters, [A-Za-z_][A-Za-z0-9_]*)",
                          fn->name);
    if ((unsigned)fn->ret >= GLINT_TYPE_COUNT)
        return glint_fail(&sb->err, GLINT_E_INVALID, "register %s: invalid return type %d", fn->name,
                          (int)fn->ret);
    if (fn->nparams > GLINT_MAX_PARAMS)
        return glint_fail(&sb->err, GLINT_E_INVALID, "register %s: %u parameters (at most %u)",
                          fn->name, fn->nparams, GLINT_MAX_PARAMS);
    for (uint32_t i = 0; i < fn->nparams; i++)
        if ((unsigned)fn->params[i] >= GLINT_TYPE_COUNT || fn->params[i] == GLINT_VOID)
            return glint_fail(&sb->err, GLINT_E_INVALID, "register %s: parameter %u has invalid type %d",
                              fn->name, i + 1, (int)fn->params[i]);

    struct glint_host_entry *e = NULL;
    for (size_t i = 0; i < sb->nhost; i++)
        if (strcmp(sb->host[i].name, fn->name) == 0)
            e = &sb->host[i];
    if (!e) {
        if (sb->nhost >= GLINT_MAX_HOST_FUNCS)
            return glint_fail(&sb->err, GLINT_E_INVALID, "register %s: more than %u host functions",
                              fn->name, GLINT_MAX_HOST_FUNCS);
        struct glint_host_entry *h = realloc(sb->host, (sb->nhost + 1) * sizeof *h);
        if (!h)
            return glint_fail(&sb->err, GLINT_E_NOMEM, "register %s: out of memory", fn->name);
        sb->host = h;
        /* realloc moved the entries: re-point their names. */
        for (size_t i = 0; i < sb->nhost; i++)
            sb->host[i].sig.name = sb->host[i].name;
        e = &sb->host[sb->nhost++];
    }
    memset(e, 0, sizeof *e);
    e->sig = *fn;
    snprintf(e->name, sizeof e->name, "%s", fn->name);
    e->sig.name = e->name;
    for (uint32_t i = fn->nparams; i < GLINT_MAX_PARAMS; i++)
        e->sig.params[i] = GLINT_VOID;
    e->callback = callback;
    e->user = user;
    return GLINT_OK;
}

void glint_poison_with(glint_sandbox *sb, const glint_error *why)
{
    sb->state = SB_POISONED;
    sb->need_full = 1;
    if (!sb->poison)
        sb->poison = malloc(sizeof *sb->poison);
    if (sb->poison && sb->poison != why)
        *sb->poison = *why;
}

const char *glint_poison_status(const glint_sandbox *sb)
{
    return sb->poison ? glint_status_name(sb->poison->status) : "unknown";
}

const char *glint_poison_message(const glint_sandbox *sb)
{
    return sb->poison ? sb->poison->message : "(not recorded: out of memory)";
}

glint_status glint_poison(glint_sandbox *sb)
{
    glint_poison_with(sb, &sb->err);
    return sb->err.status;
}

/* The registered host functions, for the guest's initialization to read
 * (glint/abi.h, struct glint_hostfn_table); as many as the buffer holds. */
static void write_hostfn_table(glint_sandbox *sb)
{
    struct glint_hostfn_table *t = (struct glint_hostfn_table *)(sb->mem + sb->lay.input_base);
    size_t room = ((size_t)sb->lay.input_size - sizeof *t) / sizeof t->fn[0];
    size_t n = sb->nhost < room ? sb->nhost : room;
    for (size_t i = 0; i < n; i++) {
        struct glint_hostfn_entry *e = &t->fn[i];
        const glint_function *f = &sb->host[i].sig;
        memset(e, 0, sizeof *e);
        e->ret = (uint8_t)f->ret;
        e->nparams = (uint8_t)f->nparams;
        for (uint32_t k = 0; k < f->nparams && k < GLINT_MAX_PARAMS; k++)
            e->params[k] = (uint8_t)f->params[k];
        snprintf(e->name, sizeof e->name, "%s", sb->host[i].name);
    }
    t->count = (uint32_t)n;
    t->reserved = 0;
    t->magic = GLINT_HOSTFN_MAGIC;
    uint64_t used = sizeof *t + n * sizeof t->fn[0];
    if (used > sb->host_in_hw)
        sb->host_in_hw = used;
}

API glint_status glint_sandbox_init(glint_sandbox *sb)
{
    if (!sb)
        return GLINT_E_INVALID;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&sb->busy, &expected, 1))
        return GLINT_E_BUSY;
    glint_status s;
    uint64_t t0 = glint_now_ns();
    if (sb->state == SB_POISONED)
        s = glint_fail(&sb->err, GLINT_E_POISONED, "sandbox is poisoned by an earlier failure (%s: %.600s)",
                       glint_poison_status(sb), glint_poison_message(sb));
    else if (sb->state != SB_CREATED)
        s = glint_fail(&sb->err, GLINT_E_STATE, "glint_sandbox_init: sandbox is already initialized");
    else if (sb->base) {
        /* From a snapshot: no guest code runs; the host set must match. */
        char why[300];
        if (glint_host_set_matches(sb, sb->base, why, sizeof why))
            sb->state = SB_READY, s = GLINT_OK;
        else
            s = glint_fail(&sb->err, GLINT_E_INCOMPATIBLE, "glint_sandbox_init: %s", why);
    } else {
        write_hostfn_table(sb);
        s = glint_run_guest(sb, NULL, NULL);
        if (s == GLINT_OK)
            sb->state = SB_READY;
    }
    glint_obs_init_done(sb, s, t0);
    atomic_store(&sb->busy, 0);
    return s;
}

API const glint_error *glint_sandbox_error(const glint_sandbox *sb)
{
    static const glint_error none = {.status = GLINT_E_INVALID, .message = "sandbox is NULL"};
    return sb ? &sb->err : &none;
}

API bool glint_sandbox_poisoned(const glint_sandbox *sb)
{
    return sb && sb->state == SB_POISONED;
}

API size_t glint_sandbox_function_count(const glint_sandbox *sb)
{
    return sb ? sb->nfuncs : 0;
}

API const glint_function *glint_sandbox_function(const glint_sandbox *sb, size_t index)
{
    return sb && index < sb->nfuncs ? &sb->funcs[index] : NULL;
}

API uint64_t glint_sandbox_exit_count(const glint_sandbox *sb)
{
    return sb ? sb->exits : 0;
}

void glint_debug_wipe_idt(glint_sandbox *sb)
{
    if (sb && sb->mem) {
        memset(sb->mem + GLINT_IDT_GPA, 0, GLINT_PAGE_SIZE);
        /* A write the dirty log cannot see: the next restore compares every page. */
        glint_snapshot_free(sb->synced);
        sb->synced = NULL;
    }
}
