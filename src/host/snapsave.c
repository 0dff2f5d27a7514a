/*
 * snapsave.c - glint_snapshot_save: a snapshot file (docs/snapshots.md)
 * written to a temporary file beside the target, then renamed over it.
 * Only the non-zero pages of the memory image are written; the rest stay
 * holes.  The metadata goes last, once the page map and the memory
 * checksum are known.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "hv.h"
#include "image.h"
#include "sandbox.h"
#include "snapfile.h"
#include "snapshot.h"

static glint_status write_all(int fd, const void *buf, size_t len, uint64_t off,
                              const char *path, glint_error *err)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return glint_fail(err, GLINT_E_IO, "%s: writing %zu bytes at offset %llu: %s", path,
                              len, (unsigned long long)off,
                              n < 0 ? strerror(errno) : "no progress");
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return GLINT_OK;
}

struct saver {
    int fd;
    const char *path;      /* the final path, for messages */
    const uint8_t *mem;    /* the snapshot's memory */
    uint64_t mem_off;      /* where the memory image starts in the new file */
    uint64_t *bitmap;      /* out: non-zero pages */
    uint32_t crc;          /* out: CRC32C of the non-zero pages */
    glint_error *err;
    glint_status status;
};

static int flush_run(struct saver *w, uint64_t first, uint64_t n)
{
    if (n)
        w->status = write_all(w->fd, w->mem + first * PAGE, (size_t)(n * PAGE),
                              w->mem_off + first * PAGE, w->path, w->err);
    return w->status != GLINT_OK;
}

/* Pages [first, end) may hold data: records and writes the non-zero ones. */
static int save_pages(void *ctx, uint64_t first, uint64_t end)
{
    struct saver *w = ctx;
    uint64_t run = first, n = 0;
    for (uint64_t pg = first; pg < end; pg++) {
        if (pg == GLINT_BOOT_INFO_GVA / PAGE) {
            /* The exit gate is the loading backend's: 0 in a file, whichever
             * backend took the snapshot (snapshot.c keeps its own in memory). */
            uint8_t page[PAGE];
            memcpy(page, w->mem + pg * PAGE, PAGE);
            memset(page + offsetof(struct glint_boot_info, exit_gate), 0, 8);
            if (flush_run(w, run, n))
                return 1;
            n = 0;
            if (sf_page_is_zero(page))
                continue;
            w->bitmap[pg / 64] |= 1ull << (pg % 64);
            w->crc = glint_crc32c(w->crc, page, PAGE);
            w->status = write_all(w->fd, page, PAGE, w->mem_off + pg * PAGE, w->path, w->err);
            if (w->status != GLINT_OK)
                return 1;
            continue;
        }
        if (sf_page_is_zero(w->mem + pg * PAGE)) {
            if (flush_run(w, run, n))
                return 1;
            n = 0;
            continue;
        }
        w->bitmap[pg / 64] |= 1ull << (pg % 64);
        w->crc = glint_crc32c(w->crc, w->mem + pg * PAGE, PAGE);
        if (n == 0)
            run = pg;
        if (++n == 256) { /* 1 MiB per write */
            if (flush_run(w, run, n))
                return 1;
            n = 0;
        }
    }
    return flush_run(w, run, n);
}

/* The metadata of `snap`: header, vCPU state, tables and page map. */
static void fill_meta(uint8_t *meta, const struct glint_snapshot *snap, struct sf_hdr *d,
                      const uint64_t *bitmap)
{
    glint_sf_put_header(meta, d);
    /* The neutral form: a file runs on every backend. */
    struct ucpu u;
    snap->be->cpu_export(snap->cpu, &u);
    memcpy(meta + d->sec[SEC_CPU].off, &u, sizeof u);
    uint8_t *fns = meta + d->sec[SEC_FUNCS].off, *host = meta + d->sec[SEC_HOST].off;
    for (size_t i = 0; i < snap->nfuncs; i++)
        glint_sf_put_fn(fns + i * REC_SIZE, &snap->funcs[i], snap->fn_entries[i]);
    for (size_t i = 0; i < snap->nhost; i++)
        glint_sf_put_fn(host + i * REC_SIZE, &snap->host[i].sig, 0);
    for (uint64_t i = 0; i < d->sec[SEC_PAGEMAP].size / 8; i++)
        sf_put64(meta + d->sec[SEC_PAGEMAP].off + 8 * i, bitmap[i]);
    sf_put32(meta + H_META_CRC, glint_sf_meta_crc(meta, (size_t)d->sec[SEC_MEMORY].off));
}

/* Writes the whole file into `fd` (new and empty). */
static glint_status write_file(const struct glint_snapshot *snap, int fd, const char *path,
                               glint_error *err)
{
    struct sf_hdr d;
    memset(&d, 0, sizeof d);
    d.cfg = snap->cfg;
    d.lay = snap->lay;
    snprintf(d.cpu_fmt, sizeof d.cpu_fmt, "%s", UCPU_FORMAT);
    glint_sf_size_sections(d.sec, sizeof(struct ucpu), snap->nfuncs, snap->nhost, snap->lay.mem_size);
    uint64_t mem_off = d.sec[SEC_MEMORY].off, mem_size = snap->lay.mem_size;
    uint8_t *meta = calloc(1, (size_t)mem_off);
    uint64_t *bitmap = calloc((size_t)(d.sec[SEC_PAGEMAP].size / 8 + 1), 8);
    glint_status s = GLINT_OK;
    if (!meta || !bitmap)
        s = glint_fail(err, GLINT_E_NOMEM, "%s: out of memory saving a snapshot", path);
    else if (ftruncate(fd, (off_t)(mem_off + mem_size)) < 0)
        s = glint_fail(err, GLINT_E_IO, "%s: sizing the file to %llu bytes: %s", path,
                       (unsigned long long)(mem_off + mem_size), strerror(errno));
    if (s == GLINT_OK) {
        struct saver w = {fd, path, snap->mem, mem_off, bitmap, 0, err, GLINT_OK};
        glint_sf_for_data_pages(snap->mem_fd, snap->mem_off, mem_size, save_pages, &w);
        s = w.status;
        d.mem_crc = w.crc;
    }
    if (s == GLINT_OK) {
        fill_meta(meta, snap, &d, bitmap);
        s = write_all(fd, meta, (size_t)mem_off, 0, path, err);
    }
    if (s == GLINT_OK && fsync(fd) < 0)
        s = glint_fail(err, GLINT_E_IO, "%s: fsync: %s", path, strerror(errno));
    free(meta);
    free(bitmap);
    return s;
}

/* Creates "PATH.tmp-PID-N" beside `path`: same directory, so rename is atomic. */
static int create_temp(const char *path, char *tmp, size_t size)
{
    static atomic_uint counter;
    for (int tries = 0; tries < 64; tries++) {
        int n = snprintf(tmp, size, "%s.tmp-%ld-%u", path, (long)getpid(),
                         atomic_fetch_add(&counter, 1));
        if (n < 0 || (size_t)n >= size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* What load would refuse is not written. */
static int savable(const struct glint_snapshot *snap, char *why, size_t why_size)
{
    if (!snap->mem || !snap->cpu) {
        snprintf(why, why_size, "the snapshot has no memory");
        return 0;
    }
    if (snap->nfuncs > GLINT_IMAGE_MAX_FUNCS || snap->nhost > GLINT_MAX_HOST_FUNCS) {
        snprintf(why, why_size, "%zu guest and %zu host functions (at most %u and %u)",
                 snap->nfuncs, snap->nhost, GLINT_IMAGE_MAX_FUNCS, GLINT_MAX_HOST_FUNCS);
        return 0;
    }
    struct ucpu u;
    snap->be->cpu_export(snap->cpu, &u);
    if (!ucpu_check(&u, why, why_size))
        return 0;
    return glint_layout_check(&snap->lay, why, why_size);
}

API glint_status glint_snapshot_save(const glint_snapshot *snap, const char *path, glint_error *err)
{
    if (!snap || !path || !*path)
        return glint_fail(err, GLINT_E_INVALID, "glint_snapshot_save: %s",
                          !snap ? "snapshot is NULL" : "path is NULL or empty");
    char why[400];
    if (!savable(snap, why, sizeof why))
        return glint_fail(err, GLINT_E_INVALID, "%s: cannot save: %s", path, why);
    char tmp[PATH_MAX];
    int fd = create_temp(path, tmp, sizeof tmp);
    if (fd < 0)
        return glint_fail(err, GLINT_E_IO, "%s: cannot create a temporary file beside it: %s", path,
                          strerror(errno));
    glint_status s = write_file(snap, fd, path, err);
    if (close(fd) < 0 && s == GLINT_OK)
        s = glint_fail(err, GLINT_E_IO, "%s: closing: %s", path, strerror(errno));
    if (s == GLINT_OK && rename(tmp, path) < 0)
        s = glint_fail(err, GLINT_E_IO, "%s: cannot replace it with %s: %s", path, tmp,
                       strerror(errno));
    if (s != GLINT_OK)
        unlink(tmp);
    return s;
}

