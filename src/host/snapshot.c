/*
 * snapshot.c - taking snapshots, restoring them, and sandboxes made from
 * them.
 *
 * A snapshot's memory lives in a sealed memfd (or, once loaded, in the
 * snapshot file itself); sandboxes made from it map it privately, so they
 * share every page they have not written.  Restoring the snapshot a
 * sandbox was last in copies back only the pages KVM's dirty log and the
 * host's own writes name: the cost follows what the guest changed, and the
 * pages stay mapped (no new shadow page faults on the next call).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu_x86_64.h"
#include "error.h"
#include "hv.h"
#include "sandbox.h"
#include "symbols.h"
#include "snapshot.h"

#define PAGE GLINT_PAGE_SIZE
/* Pages below the boot information: glint's x86 tables (hv_ops.uses_cpu_tables). */
#define TABLE_PAGES (GLINT_BOOT_INFO_GVA / GLINT_PAGE_SIZE)

struct glint_snapshot *glint_snapshot_alloc(void)
{
    struct glint_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    size_t k = hv_kvm_ops.cpu_state_size, p = hv_process_ops.cpu_state_size;
    s->cpu = calloc(1, k > p ? k : p);
    if (!s->cpu) {
        free(s);
        return NULL;
    }
    atomic_store(&s->refs, 1);
    s->mem_fd = -1;
    return s;
}

API glint_snapshot *glint_snapshot_ref(glint_snapshot *snap)
{
    if (snap)
        atomic_fetch_add(&snap->refs, 1);
    return snap;
}

API void glint_snapshot_free(glint_snapshot *snap)
{
    if (!snap || atomic_fetch_sub(&snap->refs, 1) != 1)
        return;
    if (snap->map_base)
        munmap(snap->map_base, snap->map_len);
    if (snap->mem_fd >= 0)
        close(snap->mem_fd);
    for (int i = 0; i < 3; i++)
        if (snap->cpu_on[i] != snap->cpu)
            free(snap->cpu_on[i]);
    free(snap->cpu);
    free(snap->funcs);
    free(snap->fn_entries);
    free(snap->fn_names);
    free(snap->host);
    glint_symtab_free(snap->syms);
    for (int i = 0; i < 4; i++)
        free(atomic_load(&snap->plans[i]));
    free(snap);
}

glint_status glint_snapshot_set_tables(struct glint_snapshot *s, const glint_function *funcs,
                                       const uint64_t *entries, size_t nfuncs,
                                       const glint_function *host, size_t nhost, glint_error *err)
{
    if (nfuncs) {
        s->funcs = calloc(nfuncs, sizeof *s->funcs);
        s->fn_entries = calloc(nfuncs, sizeof *s->fn_entries);
        s->fn_names = calloc(nfuncs, sizeof *s->fn_names);
        if (!s->funcs || !s->fn_entries || !s->fn_names)
            return glint_fail(err, GLINT_E_NOMEM, "out of memory for a snapshot's function table");
    }
    for (size_t i = 0; i < nfuncs; i++) {
        s->funcs[i] = funcs[i];
        snprintf(s->fn_names[i], sizeof s->fn_names[i], "%s", funcs[i].name);
        s->funcs[i].name = s->fn_names[i];
        s->fn_entries[i] = entries[i];
    }
    s->nfuncs = nfuncs;
    if (nhost && !(s->host = calloc(nhost, sizeof *s->host)))
        return glint_fail(err, GLINT_E_NOMEM, "out of memory for a snapshot's host functions");
    for (size_t i = 0; i < nhost; i++) {
        s->host[i].sig = host[i];
        snprintf(s->host[i].name, sizeof s->host[i].name, "%s", host[i].name);
        s->host[i].sig.name = s->host[i].name;
    }
    s->nhost = nhost;
    return GLINT_OK;
}

static int same_sig(const glint_function *a, const glint_function *b)
{
    if (a->ret != b->ret || a->nparams != b->nparams || strcmp(a->name, b->name) != 0)
        return 0;
    for (uint32_t i = 0; i < a->nparams; i++)
        if (a->params[i] != b->params[i])
            return 0;
    return 1;
}

int glint_host_set_matches(const glint_sandbox *sb, const struct glint_snapshot *snap, char *why,
                           size_t why_size)
{
    char sig[256];
    for (size_t i = 0; i < snap->nhost; i++) {
        size_t k = 0;
        while (k < sb->nhost && strcmp(sb->host[k].name, snap->host[i].name) != 0)
            k++;
        glint_function_format(&snap->host[i].sig, sig, sizeof sig);
        if (k == sb->nhost) {
            snprintf(why, why_size, "the snapshot expects host function %s, which is not registered",
                     sig);
            return 0;
        }
        if (!same_sig(&sb->host[k].sig, &snap->host[i].sig)) {
            char have[256];
            glint_function_format(&sb->host[k].sig, have, sizeof have);
            snprintf(why, why_size, "the snapshot expects host function %s, registered as %s", sig,
                     have);
            return 0;
        }
    }
    if (sb->nhost != snap->nhost) {
        for (size_t k = 0; k < sb->nhost; k++) {
            size_t i = 0;
            while (i < snap->nhost && strcmp(sb->host[k].name, snap->host[i].name) != 0)
                i++;
            if (i == snap->nhost) {
                snprintf(why, why_size, "host function %s is registered but not in the snapshot",
                         sb->host[k].name);
                return 0;
            }
        }
    }
    return 1;
}

static int layout_matches(const glint_sandbox *sb, const struct glint_snapshot *snap, char *why,
                          size_t why_size)
{
    if (!glint_snapshot_cpu_for(snap, sb->be)) {
        snprintf(why, why_size, "the snapshot was taken of a sandbox on the %s backend and holds its "
                 "CPU state; this sandbox runs on the %s backend (a snapshot file runs on either)",
                 snap->be->name, sb->be->name);
        return 0;
    }
    if (memcmp(&sb->lay, &snap->lay, sizeof sb->lay) == 0)
        return 1;
    snprintf(why, why_size,
             "memory layouts differ (snapshot: %llu bytes, heap %llu, stack %llu, buffers %llu + "
             "%llu; sandbox: %llu bytes, heap %llu, stack %llu, buffers %llu + %llu)",
             (unsigned long long)snap->lay.mem_size, (unsigned long long)snap->lay.heap_size,
             (unsigned long long)snap->lay.stack_size, (unsigned long long)snap->lay.input_size,
             (unsigned long long)snap->lay.output_size, (unsigned long long)sb->lay.mem_size,
             (unsigned long long)sb->lay.heap_size, (unsigned long long)sb->lay.stack_size,
             (unsigned long long)sb->lay.input_size, (unsigned long long)sb->lay.output_size);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Taking a snapshot. */

static int page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    for (size_t i = 0; i < PAGE / 8; i++)
        if (w[i])
            return 0;
    return 1;
}

/*
 * Marks in `map` (one byte per page) the pages of `fd` from `off` that may
 * hold data, from the file's allocated ranges (SEEK_DATA/SEEK_HOLE), which,
 * unlike page residency, stay right when memory is swapped out or evicted.
 * Marks every page when the file system cannot tell.
 */
static void data_pages(int fd, uint64_t off, size_t pages, unsigned char *map)
{
    memset(map, 0, pages);
    off_t end = (off_t)(off + pages * PAGE), pos = (off_t)off;
    while (pos < end) {
        off_t data = lseek(fd, pos, SEEK_DATA);
        if (data < 0) {
            if (errno != ENXIO)
                memset(map, 1, pages); /* unknown: assume data everywhere */
            return;
        }
        if (data >= end)
            return;
        off_t hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0 || hole > end)
            hole = end;
        for (off_t p = (data - (off_t)off) / (off_t)PAGE; p < (hole - (off_t)off + (off_t)PAGE - 1) / (off_t)PAGE; p++)
            map[p] = 1;
        pos = hole;
    }
}

/* A page that a sandbox made from a snapshot takes from the snapshot's
 * memfd instead of a copy (hv_ops.shares_snapshot_pages): the guest's
 * read-only image pages, which its process maps too, and the page tables,
 * which only the host reads (and never writes, but for a restore to
 * another snapshot, before which glint_sandbox_unshare makes them its own). */
static int host_shared_page(const uint8_t *mem, const struct glint_layout *l, size_t page)
{
    uint64_t a = (uint64_t)page * PAGE;
    return (a >= l->pt_base && a < l->pt_base + l->pt_count * PAGE) || glint_page_shareable(mem, l, page);
}

/* Pages of sb's memory that may hold data.  A private mapping of a
 * snapshot may hold data anywhere the snapshot does or the guest wrote. */
static void sandbox_data_pages(const glint_sandbox *sb, size_t pages, unsigned char *map)
{
    if (sb->memfd < 0) {
        memset(map, 1, pages);
        return;
    }
    data_pages(sb->memfd, 0, pages, map);
    if (sb->shared_ro) /* those are holes in memfd, and hold base's data */
        for (size_t i = 0; i < pages; i++)
            map[i] |= (unsigned char)host_shared_page(sb->mem, &sb->lay, i);
}

/* Copies the non-zero pages of sb's memory into a new sealed memfd. */
static glint_status copy_memory(glint_sandbox *sb, struct glint_snapshot *snap, glint_error *err)
{
    size_t size = (size_t)sb->lay.mem_size, pages = size / PAGE;
    unsigned char *resident = malloc(pages);
    if (!resident)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory taking a snapshot");
    sandbox_data_pages(sb, pages, resident);
    int fd = memfd_create("glint-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    uint8_t *dst = MAP_FAILED;
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0 ||
        (dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        free(resident);
        if (fd >= 0)
            close(fd);
        return glint_fail(err, GLINT_E_NOMEM, "snapshot memory of %zu bytes: %s", size, strerror(errno));
    }
    for (size_t i = sb->tables_elided ? TABLE_PAGES : 0; i < pages; i++) {
        const uint8_t *src = sb->mem + i * PAGE;
        if (resident[i] && !page_is_zero(src))
            memcpy(dst + i * PAGE, src, PAGE);
    }
    /* glint's x86 tables, never written into this sandbox (a backend that
     * does not run on them): its base snapshot's, as the CPU that ran it
     * left them (accessed bits and all), or, for a sandbox made from an
     * image, what x86_setup writes for this layout. */
    if (sb->tables_elided && pages > TABLE_PAGES) {
        if (sb->base)
            memcpy(dst, sb->base->mem, TABLE_PAGES * PAGE);
        else
            x86_write_cpu_tables(dst, &sb->lay);
    }
    free(resident);
    /* The exit gate is the backend's, set at every load; in memory a
     * snapshot holds its own backend's (whatever a debugger made it), so
     * that its sandboxes can share the page; its file holds 0 (snapsave.c). */
    if (size >= GLINT_BOOT_INFO_GVA + sizeof(struct glint_boot_info))
        ((struct glint_boot_info *)(dst + GLINT_BOOT_INFO_GVA))->exit_gate = sb->be->exit_gate;
    munmap(dst, size);
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        close(fd);
        return glint_fail(err, GLINT_E_HYPERVISOR, "sealing snapshot memory: %s", strerror(errno));
    }
    void *ro = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (ro == MAP_FAILED) {
        close(fd);
        return glint_fail(err, GLINT_E_NOMEM, "mapping snapshot memory: %s", strerror(errno));
    }
    snap->mem_fd = fd;
    snap->mem_off = 0;
    snap->sealed = 1;
    snap->mem = ro;
    snap->map_base = ro;
    snap->map_len = size;
    return GLINT_OK;
}

/* True if sb's function table is snap's: entries, names and signatures. */
static int same_functions(const glint_sandbox *sb, const struct glint_snapshot *snap)
{
    if (snap->nfuncs != sb->nfuncs ||
        memcmp(snap->fn_entries, sb->fn_entries, snap->nfuncs * sizeof *snap->fn_entries) != 0)
        return 0;
    for (size_t i = 0; i < snap->nfuncs; i++)
        if (!same_sig(&snap->funcs[i], &sb->funcs[i]))
            return 0;
    return 1;
}

/* The guest waits in `out %al, $GLINT_PORT_DONE`; resume after it. */
static glint_status fix_rip(glint_sandbox *sb, void *cpu)
{
    uint64_t rip = sb->be->cpu_state_rip(cpu);
    const uint8_t *m = sb->mem;
    uint64_t n = sb->lay.mem_size;
    if (rip < n && n - rip >= 2 && m[rip] == 0xe6 && m[rip + 1] == GLINT_PORT_DONE) {
        sb->be->cpu_state_set_rip(cpu, rip + 2);
        return GLINT_OK;
    }
    if (rip >= 2 && rip <= n && m[rip - 2] == 0xe6 && m[rip - 1] == GLINT_PORT_DONE)
        return GLINT_OK; /* already past it */
    return glint_fail(&sb->err, GLINT_E_STATE,
                      "snapshot: the guest is not waiting for a call (rip 0x%llx)",
                      (unsigned long long)rip);
}

static glint_status take(glint_sandbox *sb, glint_snapshot **out)
{
    if (sb->state == SB_POISONED)
        return glint_fail(&sb->err, GLINT_E_POISONED, "snapshot: the sandbox is poisoned (%s)",
                          glint_poison_message(sb));
    if (sb->state != SB_READY)
        return glint_fail(&sb->err, GLINT_E_STATE, "snapshot: the sandbox is not initialized");
    struct glint_snapshot *snap = glint_snapshot_alloc();
    if (!snap)
        return glint_fail(&sb->err, GLINT_E_NOMEM, "out of memory taking a snapshot");
    snap->cfg = sb->cfg;
    snap->lay = sb->lay;
    snap->be = sb->be;
    snap->syms = glint_symtab_ref(sb->syms);
    snap->cpu_on[sb->be->id] = snap->cpu;
    glint_function host[GLINT_MAX_HOST_FUNCS];
    for (size_t i = 0; i < sb->nhost; i++)
        host[i] = sb->host[i].sig;
    glint_status s;
    if ((sb->be->quiesce && (s = sb->be->quiesce(sb->hv, &sb->err))) ||
        (s = sb->be->save_cpu(sb->hv, snap->cpu, &sb->err)) || (s = fix_rip(sb, snap->cpu)) ||
        (s = glint_snapshot_set_tables(snap, sb->funcs, sb->fn_entries, sb->nfuncs, host, sb->nhost,
                                       &sb->err)) ||
        (s = copy_memory(sb, snap, &sb->err))) {
        glint_snapshot_free(snap); /* the dirty log is untouched: sb->synced still holds */
        return s;
    }
    /* Only now clear the log (the vCPU is stopped: memory did not change). */
    if ((s = sb->be->dirty_pages(sb->hv, sb->dirty, &sb->err))) {
        glint_snapshot_free(snap);
        glint_snapshot_free(sb->synced);
        sb->synced = NULL; /* the log is in an unknown state: compare every page next time */
        return s;
    }
    /* The sandbox is now exactly in the state of the new snapshot. */
    glint_snapshot_free(sb->synced);
    sb->synced = glint_snapshot_ref(snap);
    sb->host_in_hw = 0;
    sb->need_full = 0;
    *out = snap;
    return GLINT_OK;
}

API glint_status glint_sandbox_snapshot(glint_sandbox *sb, glint_snapshot **out)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (!out)
        return glint_fail(&sb->err, GLINT_E_INVALID, "glint_sandbox_snapshot: out is NULL");
    *out = NULL;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&sb->busy, &expected, 1))
        return GLINT_E_BUSY;
    uint64_t t0 = glint_now_ns();
    glint_status s = take(sb, out);
    glint_obs_snapshot_done(sb, s, t0);
    atomic_store(&sb->busy, 0);
    return s;
}

/* ------------------------------------------------------------------------- */
/* Restoring. */

static void copy_page(glint_sandbox *sb, const struct glint_snapshot *snap, uint64_t page)
{
    memcpy(sb->mem + page * PAGE, snap->mem + page * PAGE, PAGE);
}

/* Memory back to `snap`, knowing it equals sb->synced == snap plus the dirty pages. */
static glint_status restore_dirty(glint_sandbox *sb, const struct glint_snapshot *snap)
{
    glint_status s = sb->be->dirty_pages(sb->hv, sb->dirty, &sb->err);
    if (s != GLINT_OK)
        return s;
    uint64_t pages = sb->lay.mem_size / PAGE;
    for (uint64_t w = 0; w < (pages + 63) / 64; w++) {
        uint64_t bits = sb->dirty[w];
        sb->dirty[w] = 0;
        while (bits) {
            uint64_t page = w * 64 + (uint64_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            copy_page(sb, snap, page);
        }
    }
    /* What the host itself wrote: call frames, arguments, replies, the result status. */
    uint64_t first = sb->lay.input_base / PAGE;
    uint64_t end = (sb->lay.input_base + sb->host_in_hw + PAGE - 1) / PAGE;
    for (uint64_t p = first; p < end; p++)
        copy_page(sb, snap, p);
    copy_page(sb, snap, sb->lay.output_base / PAGE);
    return GLINT_OK;
}

/* Memory back to `snap` from an unknown state: every page that differs. */
static glint_status restore_all(glint_sandbox *sb, const struct glint_snapshot *snap)
{
    size_t size = (size_t)sb->lay.mem_size, pages = size / PAGE;
    unsigned char *r1 = malloc(pages), *r2 = malloc(pages);
    if (!r1 || !r2) {
        free(r1), free(r2);
        return glint_fail(&sb->err, GLINT_E_NOMEM, "out of memory restoring a snapshot");
    }
    sandbox_data_pages(sb, pages, r1);
    data_pages(snap->mem_fd, snap->mem_off, pages, r2);
    for (size_t i = sb->tables_elided ? TABLE_PAGES : 0; i < pages; i++) {
        if (!r1[i] && !r2[i])
            continue; /* zero in both */
        if (memcmp(sb->mem + i * PAGE, snap->mem + i * PAGE, PAGE) != 0)
            copy_page(sb, snap, i);
    }
    free(r1), free(r2);
    return sb->be->dirty_pages(sb->hv, sb->dirty, &sb->err); /* start a clean log */
}

/*
 * A failed run can leave KVM half-way through an instruction: an emulated
 * IN (or MMIO read) waits for its data, and the next KVM_RUN would finish
 * it on top of whatever state was restored, resuming the guest where it
 * failed.  Finish it now, before memory is restored, with an immediate
 * exit so that no guest instruction runs.
 */
static glint_status finish_pending_exit(glint_sandbox *sb)
{
    struct hv_exit ex = {.kind = HV_EXIT_OTHER};
    glint_status s = GLINT_OK;
    sb->be->set_immediate_exit(sb->hv, 1);
    for (int i = 0; i < 64 && s == GLINT_OK && ex.kind != HV_EXIT_INTR; i++)
        s = sb->be->run(sb->hv, &ex, &sb->err);
    sb->be->set_immediate_exit(sb->hv, 0);
    if (s == GLINT_OK && ex.kind != HV_EXIT_INTR)
        s = glint_fail(&sb->err, GLINT_E_HYPERVISOR,
                       "restore: the vCPU does not settle after its failed run (KVM exit %u)",
                       ex.raw_reason);
    return s;
}

static glint_status restore_locked_untimed(glint_sandbox *sb, struct glint_snapshot *snap);

/* A restore, counted and traced (stats.c). */
static glint_status restore_locked(glint_sandbox *sb, struct glint_snapshot *snap)
{
    uint64_t t0 = glint_now_ns();
    glint_status s = restore_locked_untimed(sb, snap);
    glint_obs_restore_done(sb, s, t0);
    return s;
}

static glint_status restore_locked_untimed(glint_sandbox *sb, struct glint_snapshot *snap)
{
    char why[600];
    if (!layout_matches(sb, snap, why, sizeof why) || !glint_host_set_matches(sb, snap, why, sizeof why))
        return glint_fail(&sb->err, GLINT_E_INCOMPATIBLE, "restore: %s", why);
    if (sb->state == SB_CREATED && !sb->base)
        return glint_fail(&sb->err, GLINT_E_STATE, "restore: initialize the sandbox first");
    int same = sb->synced == snap;
    glint_status s = sb->be->quiesce ? sb->be->quiesce(sb->hv, &sb->err) : GLINT_OK;
    if (s == GLINT_OK && !same && sb->shared_ro && snap != sb->base)
        s = glint_sandbox_unshare(sb, 0, &sb->err); /* another snapshot's pages: restore_all copies
                                                     * them in, restore_cpu (full) a new process */
    if (s == GLINT_OK && sb->need_full)
        s = finish_pending_exit(sb);
    if (s == GLINT_OK)
        s = same ? restore_dirty(sb, snap) : restore_all(sb, snap);
    if (s == GLINT_OK)
        s = sb->be->restore_cpu(sb->hv, glint_snapshot_cpu_for(snap, sb->be), sb->need_full || !same,
                                &sb->err);
    if (s == GLINT_OK && !same && !same_functions(sb, snap))
        s = glint_sandbox_set_functions(sb, snap->funcs, snap->fn_entries, snap->nfuncs, &sb->err);
    if (s != GLINT_OK) {
        /* The sandbox is half-restored: it must not run. */
        glint_snapshot_free(sb->synced);
        sb->synced = NULL;
        glint_poison_with(sb, &sb->err);
        return s;
    }
    if (!same) {
        glint_snapshot_free(sb->synced);
        sb->synced = glint_snapshot_ref(snap);
    }
    glint_sandbox_sync_exit_gate(sb);
    sb->host_in_hw = 0;
    sb->need_full = 0;
    sb->state = SB_READY;
    glint_error_clear(&sb->err);
    return GLINT_OK;
}

API glint_status glint_sandbox_restore(glint_sandbox *sb, const glint_snapshot *snap)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (!snap)
        return glint_fail(&sb->err, GLINT_E_INVALID, "glint_sandbox_restore: snapshot is NULL");
    int expected = 0;
    if (!atomic_compare_exchange_strong(&sb->busy, &expected, 1))
        return GLINT_E_BUSY;
    glint_status s = restore_locked(sb, (struct glint_snapshot *)snap);
    atomic_store(&sb->busy, 0);
    return s;
}

glint_status glint_auto_restore(glint_sandbox *sb)
{
    glint_error keep = sb->err;
    glint_status s = restore_locked(sb, sb->auto_restore);
    if (s == GLINT_OK)
        sb->err = keep; /* the caller still sees what the call did */
    return s;
}

API glint_status glint_sandbox_set_auto_restore(glint_sandbox *sb, const glint_snapshot *snap)
{
    if (!sb)
        return GLINT_E_INVALID;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&sb->busy, &expected, 1))
        return GLINT_E_BUSY;
    glint_status s = GLINT_OK;
    char why[600];
    if (snap && (!layout_matches(sb, snap, why, sizeof why) ||
                 !glint_host_set_matches(sb, snap, why, sizeof why)))
        s = glint_fail(&sb->err, GLINT_E_INCOMPATIBLE, "auto-restore: %s", why);
    else {
        glint_snapshot_free(sb->auto_restore);
        sb->auto_restore = glint_snapshot_ref((glint_snapshot *)snap);
    }
    atomic_store(&sb->busy, 0);
    return s;
}

/* ------------------------------------------------------------------------- */
/* Sandboxes from snapshots. */

/* Writes src[0, len) into fd at off, through EINTR and partial writes:
 * NULL, or what went wrong. */
static const char *write_at(int fd, const uint8_t *src, size_t len, size_t off)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = pwrite(fd, src + done, len - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? strerror(errno) : "short write";
        done += (size_t)w;
    }
    return NULL;
}

/* Runs of pages [start, start + n): the snapshot's non-zero pages a new
 * sandbox's memfd gets a copy of, then those it maps from the snapshot. */
struct glint_snap_plan {
    uint32_t ncopy, nshare;
    uint32_t run[][2]; /* ncopy copy runs, then nshare shared runs */
};

/* Works out the plan for one way (tables: copy glint's x86 tables; share:
 * map the pages nobody writes from the snapshot).  NULL: out of memory. */
static struct glint_snap_plan *make_plan(const struct glint_snapshot *snap, int tables, int share)
{
    size_t pages = (size_t)snap->lay.mem_size / PAGE;
    unsigned char *map = malloc(pages ? pages : 1);
    if (!map)
        return NULL;
    data_pages(snap->mem_fd, snap->mem_off, pages, map);
    size_t first = !tables && pages > TABLE_PAGES ? TABLE_PAGES : 0;
    for (size_t i = 0; i < pages; i++) {
        if (share && host_shared_page(snap->mem, &snap->lay, i))
            map[i] = 2; /* shared: mapped, not copied */
        else if (i < first || (map[i] == 1 && page_is_zero(snap->mem + i * PAGE)))
            map[i] = 0;
    }
    /* Two passes: count the runs of each kind, then write them down. */
    struct glint_snap_plan *plan = NULL;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t n[3] = {0, 0, 0};
        for (size_t i = 0; i < pages;) {
            size_t j = i + 1;
            while (j < pages && map[j] == map[i])
                j++;
            if (map[i] && plan) {
                uint32_t at = map[i] == 1 ? n[1] : plan->ncopy + n[2];
                plan->run[at][0] = (uint32_t)i;
                plan->run[at][1] = (uint32_t)(j - i);
            }
            n[map[i]]++;
            i = j;
        }
        if (!plan) {
            plan = malloc(sizeof *plan + (n[1] + n[2]) * sizeof plan->run[0]);
            if (!plan)
                break;
            plan->ncopy = n[1];
            plan->nshare = n[2];
        }
    }
    free(map);
    return plan;
}

/* The snapshot's plan for one way, made once (two threads making the
 * first two sandboxes may both work it out: one copy is kept). */
static const struct glint_snap_plan *snap_plan(struct glint_snapshot *snap, int tables, int share)
{
    _Atomic(struct glint_snap_plan *) *slot = &snap->plans[(tables ? 1 : 0) | (share ? 2 : 0)];
    struct glint_snap_plan *plan = atomic_load_explicit(slot, memory_order_acquire), *none = NULL;
    if (plan)
        return plan;
    if (!(plan = make_plan(snap, tables, share)))
        return NULL;
    if (!atomic_compare_exchange_strong_explicit(slot, &none, plan, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(plan);
        return none;
    }
    return plan;
}

/*
 * A backend that runs the guest in the host's own address space (KVM) maps
 * the snapshot privately: copy-on-write, a page copied only when written.
 * One whose guest lives in another process (process) needs memory both can
 * map: a new memfd with the snapshot's data pages copied in.
 */
static glint_status map_snapshot_memory(glint_sandbox *sb, const struct glint_snapshot *snap,
                                        glint_error *err)
{
    size_t size = (size_t)snap->lay.mem_size, pages = size / PAGE;
    if (!sb->be->shared_memory) {
        void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, snap->mem_fd, (off_t)snap->mem_off);
        if (m == MAP_FAILED)
            return glint_fail(err, GLINT_E_NOMEM, "mapping snapshot memory: %s", strerror(errno));
        sb->mem = m;
        return GLINT_OK;
    }
    sb->memfd = memfd_create("glint-guest", MFD_CLOEXEC);
    if (sb->memfd < 0 || ftruncate(sb->memfd, (off_t)size) < 0)
        return glint_fail(err, GLINT_E_NOMEM, "guest memory of %zu bytes: %s", size, strerror(errno));
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, sb->memfd, 0);
    if (m == MAP_FAILED)
        return glint_fail(err, GLINT_E_NOMEM, "mapping %zu bytes of guest memory: %s", size, strerror(errno));
    sb->mem = m;
    /* What nobody writes (host_shared_page): the snapshot's own pages (a
     * sealed memfd: nobody can change them), not a copy per sandbox; the
     * boot info only where it holds this backend's exit gate. */
    uint64_t gate = 0;
    if (size >= GLINT_BOOT_INFO_GVA + sizeof(struct glint_boot_info))
        memcpy(&gate, snap->mem + GLINT_BOOT_INFO_GVA + offsetof(struct glint_boot_info, exit_gate), 8);
    int share = sb->be->shares_snapshot_pages && snap->sealed && gate == sb->be->exit_gate;
    /* the backend's side starts while the pages are copied */
    glint_sandbox_prepare(sb, share ? snap->mem_fd : -1);
    /* glint's x86 tables only where the backend reads them (7 pages of
     * every sandbox otherwise: snapshots of it take them from its base). */
    int tables = sb->be->uses_cpu_tables || pages <= TABLE_PAGES;
    sb->tables_elided = !tables;
    const struct glint_snap_plan *plan = snap_plan((struct glint_snapshot *)snap, tables, share);
    if (!plan)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory copying a snapshot");
    /* Runs of non-zero pages, written into the memfd by the kernel: no
     * page fault on the host's mapping for each page copied. */
    for (uint32_t r = 0; r < plan->ncopy; r++) {
        size_t off = (size_t)plan->run[r][0] * PAGE, len = (size_t)plan->run[r][1] * PAGE;
        const char *why = write_at(sb->memfd, snap->mem + off, len, off);
        if (why)
            return glint_fail(err, GLINT_E_NOMEM, "copying a snapshot into guest memory: %s", why);
    }
    /* The host sees the shared pages where the guest does (read-only). */
    for (uint32_t r = plan->ncopy; r < plan->ncopy + plan->nshare; r++) {
        size_t off = (size_t)plan->run[r][0] * PAGE, len = (size_t)plan->run[r][1] * PAGE;
        if (mmap(sb->mem + off, len, PROT_READ, MAP_SHARED | MAP_FIXED, snap->mem_fd,
                 (off_t)(snap->mem_off + off)) == MAP_FAILED)
            return glint_fail(err, GLINT_E_NOMEM, "mapping a snapshot's code into a sandbox: %s",
                              strerror(errno));
        sb->shared_ro = 1;
    }
    return GLINT_OK;
}

glint_status glint_sandbox_unshare(glint_sandbox *sb, int replace, glint_error *err)
{
    if (!sb->shared_ro)
        return GLINT_OK;
    size_t pages = (size_t)sb->lay.mem_size / PAGE;
    const uint8_t *src = sb->base->mem;
    for (size_t i = 0; i < pages;) {
        if (!host_shared_page(sb->mem, &sb->lay, i)) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < pages && host_shared_page(sb->mem, &sb->lay, j))
            j++;
        size_t off = i * PAGE, len = (j - i) * PAGE;
        const char *why = write_at(sb->memfd, src + off, len, off);
        if (why)
            return glint_fail(err, GLINT_E_NOMEM, "copying a snapshot's code into a sandbox: %s", why);
        /* In place: the old mapping goes only when the new one is there. */
        if (mmap(sb->mem + off, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, sb->memfd, (off_t)off) ==
            MAP_FAILED)
            return glint_fail(err, GLINT_E_NOMEM, "mapping a sandbox's own code: %s", strerror(errno));
        i = j;
    }
    sb->shared_ro = 0;
    sb->be->unshare(sb->hv);
    if (!replace)
        return GLINT_OK; /* the caller's full restore replaces the guest's side */
    /* The guest's side still maps the snapshot's pages: a new one, in the
     * same state (what a full restore does). */
    void *state = calloc(1, sb->be->cpu_state_size);
    glint_status s = state ? sb->be->save_cpu(sb->hv, state, err)
                           : glint_fail(err, GLINT_E_NOMEM, "out of memory copying a sandbox's state");
    /* What the guest wrote since its last restore, before its tracking
     * goes with its process: the next restore still copies it back. */
    if (s == GLINT_OK)
        s = sb->be->dirty_pages(sb->hv, sb->dirty, err);
    if (s == GLINT_OK)
        s = sb->be->restore_cpu(sb->hv, state, 1, err);
    free(state);
    if (s != GLINT_OK) {
        /* Its process may still map the snapshot's pages (or be gone):
         * nothing runs before a full restore replaces it. */
        glint_poison_with(sb, err);
    }
    return s;
}

glint_status glint_snapshot_backend_for(const glint_snapshot *csnap, int want,
                                       const struct hv_ops **out, glint_error *err)
{
    const struct glint_snapshot *snap = (const struct glint_snapshot *)csnap;
    *out = NULL;
    if (want == GLINT_BACKEND_AUTO && !snap->from_file) {
        *out = snap->be;
        return GLINT_OK;
    }
    /* A file's state is neutral: the backend is chosen as for a new guest. */
    const struct hv_ops *be;
    glint_status s = hv_select(want, &be, err);
    if (s != GLINT_OK)
        return s;
    if (!glint_snapshot_cpu_for(snap, be) && snap->from_file) {
        /* First use on this backend: import the file's state, once (the
         * snapshot is shared between threads; a lost race frees its copy). */
        void *buf = calloc(1, be->cpu_state_size);
        if (!buf)
            return glint_fail(err, GLINT_E_NOMEM, "out of memory for a snapshot's CPU state");
        if ((s = be->cpu_import(&snap->neutral, &snap->lay, buf, err)) != GLINT_OK) {
            free(buf);
            return s;
        }
        void *none = NULL;
        struct glint_snapshot *w = (struct glint_snapshot *)snap;
        if (!__atomic_compare_exchange_n(&w->cpu_on[be->id], &none, buf, 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            free(buf);
    }
    if (!glint_snapshot_cpu_for(snap, be))
        return glint_fail(err, GLINT_E_INCOMPATIBLE,
                          "the snapshot was taken of a sandbox on the %s backend and holds its CPU "
                          "state: it cannot run on the %s backend (save it to a file and load it: "
                          "a snapshot file runs on either)", snap->be->name, be->name);
    *out = be;
    return GLINT_OK;
}

API glint_status glint_sandbox_create_from_snapshot(const glint_snapshot *snap, glint_sandbox **out,
                                                    glint_error *err)
{
    return glint_sandbox_create_from_snapshot_on(snap, GLINT_BACKEND_AUTO, out, err);
}

API glint_status glint_sandbox_create_from_snapshot_on(const glint_snapshot *csnap, glint_backend backend,
                                                       glint_sandbox **out, glint_error *err)
{
    if (!out)
        return glint_fail(err, GLINT_E_INVALID, "glint_sandbox_create_from_snapshot: out is NULL");
    *out = NULL;
    if (!csnap)
        return glint_fail(err, GLINT_E_INVALID, "glint_sandbox_create_from_snapshot: snapshot is NULL");
    struct glint_snapshot *snap = (struct glint_snapshot *)csnap;
    const struct hv_ops *be;
    uint64_t t0 = glint_now_ns();
    glint_status s = glint_snapshot_backend_for(snap, (int)backend, &be, err);
    if (s != GLINT_OK)
        return s;
    glint_sandbox *sb = glint_sandbox_new(&snap->cfg, err);
    if (!sb)
        return GLINT_E_NOMEM;
    sb->lay = snap->lay;
    sb->be = be;
    /* The function table is the snapshot's (immutable, and base keeps it
     * alive): no copy per sandbox. */
    sb->base = glint_snapshot_ref(snap);
    sb->funcs = snap->funcs, sb->fn_entries = snap->fn_entries, sb->fn_names = snap->fn_names;
    sb->nfuncs = snap->nfuncs;
    sb->funcs_borrowed = 1;
    if ((s = sb->be->probe(err)) || (s = map_snapshot_memory(sb, snap, err)))
        goto fail;
    glint_sandbox_sync_exit_gate(sb);
    sb->syms = glint_symtab_ref(snap->syms);
    struct hv_setup setup = {sb->mem, (size_t)sb->lay.mem_size, sb->memfd, &sb->lay, NULL,
                             glint_sandbox_take_prep(sb), sb->shared_ro ? snap->mem_fd : -1, snap->mem_off};
    if ((s = sb->be->create(&sb->hv, &setup, err)) ||
        (s = sb->be->restore_cpu(sb->hv, glint_snapshot_cpu_for(snap, be), 1, err)) ||
        (s = glint_sandbox_finish_setup(sb, err)))
        goto fail;
    sb->synced = glint_snapshot_ref(snap);
    glint_obs_created(sb, t0);
    *out = sb;
    return GLINT_OK;
fail:
    glint_sandbox_destroy(sb);
    return s;
}

/* ------------------------------------------------------------------------- */

API size_t glint_snapshot_function_count(const glint_snapshot *snap)
{
    return snap ? snap->nfuncs : 0;
}

API const glint_function *glint_snapshot_function(const glint_snapshot *snap, size_t index)
{
    return snap && index < snap->nfuncs ? &snap->funcs[index] : NULL;
}

API glint_backend glint_snapshot_backend(const glint_snapshot *snap)
{
    return snap ? snap->be->id : GLINT_BACKEND_AUTO;
}

API void glint_snapshot_config(const glint_snapshot *snap, glint_config *cfg)
{
    if (snap && cfg)
        *cfg = snap->cfg;
}

API size_t glint_snapshot_host_count(const glint_snapshot *snap)
{
    return snap ? snap->nhost : 0;
}

API const glint_function *glint_snapshot_host_function(const glint_snapshot *snap, size_t index)
{
    return snap && index < snap->nhost ? &snap->host[index].sig : NULL;
}

int glint_debug_cpu_matches(glint_sandbox *sb, const glint_snapshot *snap, char *why, size_t why_size)
{
    const void *cpu = glint_snapshot_cpu_for(snap, sb->be);
    if (!cpu) {
        snprintf(why, why_size, "the snapshot has no CPU state for the %s backend", sb->be->name);
        return 0;
    }
    return sb->be->debug_cpu_matches(sb->hv, cpu, why, why_size);
}
