/*
 * snapload.c - glint_snapshot_load: every check of docs/snapshots.md, on a
 * copy of the metadata, before anything is used; then the file itself is
 * mapped.  Sandboxes map its memory image privately (copy-on-write):
 * nothing is read into anonymous memory.  The only reads of the image are
 * the checks (the checksum of the non-zero pages, and that the pages the
 * page map calls zero are, skipping holes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "hv.h"
#include "image.h"
#include "sandbox.h"
#include "snapfile.h"
#include "snapshot.h"

/* Byte ranges of the header that must be zero. */
static const struct { unsigned off, len; } hdr_reserved[] = {
    {0x74, 4}, {0xE8, 24}, {H_SECTIONS + NSEC * 24, HDR_SIZE - (H_SECTIONS + NSEC * 24)},
};

struct loader {
    const char *path;
    glint_error *err;
    int fd;
    uint64_t size;          /* of the file */
    struct sf_hdr h;
    uint8_t *meta;          /* copy of [0, memory offset) */
    uint8_t *map;           /* the whole file, read-only, shared */
    uint64_t *bitmap;       /* decoded page map */
    glint_function *funcs, *host;
    uint64_t *entries;
    char (*names)[GLINT_MAX_NAME + 1];
};

/* GLINT_E_BAD_SNAPSHOT with "PATH: <message>". */
__attribute__((format(printf, 2, 3))) static glint_status bad(struct loader *L, const char *fmt,
                                                              ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return glint_fail(L->err, GLINT_E_BAD_SNAPSHOT, "%s: %s", L->path, msg);
}

#define U(x) ((unsigned long long)(x))
#define SEC_NAME(i) glint_sf_sec_name[i]

static glint_status open_file(struct loader *L)
{
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused after fstat. */
    L->fd = open(L->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (L->fd < 0)
        return glint_fail(L->err, GLINT_E_IO, "%s: cannot open: %s", L->path, strerror(errno));
    struct stat st;
    if (fstat(L->fd, &st) < 0)
        return glint_fail(L->err, GLINT_E_IO, "%s: %s", L->path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return glint_fail(L->err, GLINT_E_IO, "%s: is a directory, not a snapshot file", L->path);
    if (!S_ISREG(st.st_mode))
        return glint_fail(L->err, GLINT_E_IO, "%s: not a regular file", L->path);
    if (st.st_size == 0)
        return bad(L, "file is empty (0 bytes)");
    L->size = (uint64_t)st.st_size;
    return GLINT_OK;
}

static glint_status read_at(struct loader *L, uint8_t *buf, size_t len, uint64_t off)
{
    while (len) {
        ssize_t n = pread(L->fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return glint_fail(L->err, GLINT_E_IO, "%s: read failed at offset %llu: %s", L->path,
                              U(off), strerror(errno));
        if (n == 0)
            return bad(L, "file shrank while reading (at offset %llu)", U(off));
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return GLINT_OK;
}

/* A NUL-terminated, zero-padded text field; 0 if it is not one. */
static int text_ok(const uint8_t *p, size_t len)
{
    const uint8_t *nul = memchr(p, 0, len);
    if (!nul)
        return 0;
    for (; nul < p + len; nul++)
        if (*nul)
            return 0;
    return 1;
}

/* Magic, version, and the machine the file is for. */
static glint_status check_identity(struct loader *L, const uint8_t *h)
{
    if (L->size < 8 || memcmp(h, SNAP_MAGIC, 8) != 0)
        return bad(L, "not a glint snapshot file (no \"" SNAP_MAGIC "\" magic at offset 0)");
    if (L->size < HDR_SIZE)
        return bad(L, "truncated: header needs %u bytes at offset 0, file has %llu", HDR_SIZE,
                   U(L->size));
    glint_sf_get_header(h, &L->h);
    const struct sf_hdr *d = &L->h;
    if (d->version != SNAP_VERSION)
        return bad(L, "format version %u; this glint reads version %u only", d->version,
                   SNAP_VERSION);
    if (d->hdr_size != HDR_SIZE)
        return bad(L, "header size %u; format version %u has %u", d->hdr_size, SNAP_VERSION,
                   HDR_SIZE);
    if (!text_ok(h + H_ARCH, ARCH_LEN))
        return bad(L, "the architecture field at offset 0x%x is not a zero-padded string", H_ARCH);
    if (strcmp(d->arch, SNAP_ARCH) != 0)
        return bad(L, "snapshot is for architecture '%s'; this glint runs %s guests", d->arch,
                   SNAP_ARCH);
    if (d->abi != GLINT_ABI_VERSION)
        return bad(L, "snapshot is of guest ABI version %u; this glint has ABI version %u",
                   d->abi, GLINT_ABI_VERSION);
    if (!text_ok(h + H_CPU_FMT, CPU_FMT_LEN))
        return bad(L, "the vCPU state format field at offset 0x%x is not a zero-padded string",
                   H_CPU_FMT);
    if (strcmp(d->cpu_fmt, "kvm-x86_64-v1") == 0)
        return bad(L, "vCPU state format '%s' (the KVM backend's own, written by an older glint); "
                   "this glint reads the backend-neutral '%s' only: take the snapshot again",
                   d->cpu_fmt, UCPU_FORMAT);
    if (strcmp(d->cpu_fmt, UCPU_FORMAT) != 0)
        return bad(L, "vCPU state format '%s'; this glint reads '%s' only", d->cpu_fmt, UCPU_FORMAT);
    if (d->page != PAGE)
        return bad(L, "page size %u; glint uses %llu", d->page, U(PAGE));
    return GLINT_OK;
}

/* Sizes and counts within the limits, every section inside the file and
 * where version 1 puts it, nothing after the memory image. */
static glint_status check_sections(struct loader *L)
{
    const struct sf_sec *s = L->h.sec;
    if (s[SEC_CPU].size != sizeof(struct ucpu))
        return bad(L, "vCPU state of %llu bytes; format %s has %zu", U(s[SEC_CPU].size),
                   UCPU_FORMAT, sizeof(struct ucpu));
    if (s[SEC_FUNCS].count > GLINT_IMAGE_MAX_FUNCS)
        return bad(L, "function table has %llu entries, at most %u", U(s[SEC_FUNCS].count),
                   GLINT_IMAGE_MAX_FUNCS);
    if (s[SEC_HOST].count > GLINT_MAX_HOST_FUNCS)
        return bad(L, "host-function table has %llu entries, at most %u", U(s[SEC_HOST].count),
                   GLINT_MAX_HOST_FUNCS);
    uint64_t mem = s[SEC_MEMORY].size;
    if (mem == 0 || mem > GLINT_MEMORY_MAX || mem % PAGE)
        return bad(L, "memory image of %llu bytes; it must be a multiple of %llu bytes, "
                      "at most %llu", U(mem), U(PAGE), U(GLINT_MEMORY_MAX));
    struct sf_sec want[NSEC];
    glint_sf_size_sections(want, sizeof(struct ucpu), s[SEC_FUNCS].count, s[SEC_HOST].count, mem);
    for (int i = 0; i < NSEC; i++)
        if (s[i].size != want[i].size || s[i].count != want[i].count)
            return bad(L, "%s: %llu bytes for %llu entries; expected %llu bytes for %llu",
                       SEC_NAME(i), U(s[i].size), U(s[i].count), U(want[i].size),
                       U(want[i].count));
    for (int i = 0; i < NSEC; i++)
        if (!glint_range_ok(s[i].off, s[i].size, L->size))
            return bad(L, "truncated: %s needs %llu bytes at offset %llu, file has %llu",
                       SEC_NAME(i), U(s[i].size), U(s[i].off), U(L->size));
    for (int i = 0; i < NSEC; i++)
        if (s[i].off != want[i].off)
            return bad(L, "%s at offset %llu; format version %u puts it at %llu",
                       SEC_NAME(i), U(s[i].off), SNAP_VERSION, U(want[i].off));
    uint64_t end = s[SEC_MEMORY].off + mem;
    if (L->size != end)
        return bad(L, "%llu unexpected bytes after the memory image (file has %llu, expected %llu)",
                   U(L->size - end), U(L->size), U(end));
    return GLINT_OK;
}

/* Copies [0, memory offset) out of the file and verifies its checksum. */
static glint_status read_meta(struct loader *L, const uint8_t *hdr)
{
    size_t len = (size_t)L->h.sec[SEC_MEMORY].off;
    if (!(L->meta = malloc(len)))
        return glint_fail(L->err, GLINT_E_NOMEM, "%s: out of memory", L->path);
    memcpy(L->meta, hdr, HDR_SIZE);
    glint_status s = read_at(L, L->meta + HDR_SIZE, len - HDR_SIZE, HDR_SIZE);
    if (s != GLINT_OK)
        return s;
    uint32_t have = glint_sf_meta_crc(L->meta, len);
    if (have != L->h.meta_crc)
        return bad(L, "checksum mismatch in the header and tables, bytes [0, %zu) (stored 0x%08x, "
                      "computed 0x%08x)", len, L->h.meta_crc, have);
    return GLINT_OK;
}

/* Reserved header bytes and the padding between sections are zero. */
static glint_status check_zero_fill(struct loader *L)
{
    for (size_t i = 0; i < sizeof hdr_reserved / sizeof hdr_reserved[0]; i++)
        for (unsigned k = 0; k < hdr_reserved[i].len; k++)
            if (L->meta[hdr_reserved[i].off + k])
                return bad(L, "reserved header byte at offset 0x%x is not zero",
                           hdr_reserved[i].off + k);
    const struct sf_sec *s = L->h.sec;
    for (int i = 0; i < SEC_MEMORY; i++)
        for (uint64_t p = s[i].off + s[i].size; p < s[i + 1].off; p++)
            if (L->meta[p])
                return bad(L, "padding byte at offset %llu, after the %s, is not zero", U(p),
                           SEC_NAME(i));
    return GLINT_OK;
}

/* The layout is glint's own for the stored configuration, and fits the image. */
static glint_status check_layout(struct loader *L)
{
    char why[400];
    const struct sf_hdr *d = &L->h;
    if (!glint_layout_check(&d->lay, why, sizeof why))
        return bad(L, "%s", why);
    struct glint_layout from_cfg;
    glint_error e;
    if (glint_layout_compute(&d->cfg, d->lay.image_end, &from_cfg, &e) != GLINT_OK)
        return bad(L, "configuration: %s", e.message);
    if (memcmp(&from_cfg, &d->lay, sizeof from_cfg) != 0)
        return bad(L, "the configuration (heap %zu, stack %zu, input %zu, output %zu bytes) does "
                      "not give the stored layout", d->cfg.heap_size, d->cfg.stack_size,
                   d->cfg.input_size, d->cfg.output_size);
    if (d->sec[SEC_MEMORY].size != d->lay.mem_size)
        return bad(L, "memory image is %llu bytes but the layout has %llu",
                   U(d->sec[SEC_MEMORY].size), U(d->lay.mem_size));
    return GLINT_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Decodes the records of section `sec` into out[] (names into
 * L->names[first...]) and checks them: guest entries inside the image,
 * host entries zero, names unique. */
static glint_status get_table(struct loader *L, int sec, size_t first, glint_function *out)
{
    const struct sf_sec *s = &L->h.sec[sec];
    size_t n = (size_t)s->count;
    const char **sorted = n ? malloc(n * sizeof *sorted) : NULL;
    if (n && !sorted)
        return glint_fail(L->err, GLINT_E_NOMEM, "%s: out of memory", L->path);
    glint_status st = GLINT_OK;
    char why[300];
    for (size_t i = 0; i < n && st == GLINT_OK; i++) {
        uint64_t entry;
        char *name = L->names[first + i];
        const uint8_t *rec = L->meta + s->off + i * REC_SIZE;
        uint64_t end = L->h.lay.image_end;
        if (!glint_sf_get_fn(rec, &out[i], name, &entry, why, sizeof why))
            st = bad(L, "%s entry %zu: %s", SEC_NAME(sec), i, why);
        else if (sec == SEC_HOST && entry != 0)
            st = bad(L, "%s entry %zu (%s): entry field is 0x%llx, must be 0", SEC_NAME(sec), i,
                     name, U(entry));
        else if (sec == SEC_FUNCS && (entry < GLINT_IMAGE_BASE || entry >= end))
            st = bad(L, "%s entry %zu (%s): entry point 0x%llx is outside the image "
                        "[0x%llx, 0x%llx)", SEC_NAME(sec), i, name, U(entry),
                     U(GLINT_IMAGE_BASE), U(end));
        else if (sec == SEC_FUNCS)
            L->entries[i] = entry;
        sorted[i] = name;
    }
    if (st == GLINT_OK && n > 1) {
        qsort(sorted, n, sizeof *sorted, cmp_name);
        for (size_t i = 1; i < n && st == GLINT_OK; i++)
            if (strcmp(sorted[i - 1], sorted[i]) == 0)
                st = bad(L, "%s: the name %s appears twice", SEC_NAME(sec), sorted[i]);
    }
    free(sorted);
    return st;
}

static glint_status check_tables(struct loader *L)
{
    size_t nf = (size_t)L->h.sec[SEC_FUNCS].count, nh = (size_t)L->h.sec[SEC_HOST].count;
    L->funcs = calloc(nf + 1, sizeof *L->funcs);
    L->host = calloc(nh + 1, sizeof *L->host);
    L->entries = calloc(nf + 1, sizeof *L->entries);
    L->names = calloc(nf + nh + 1, sizeof *L->names);
    if (!L->funcs || !L->host || !L->entries || !L->names)
        return glint_fail(L->err, GLINT_E_NOMEM, "%s: out of memory", L->path);
    glint_status s = get_table(L, SEC_FUNCS, 0, L->funcs);
    return s ? s : get_table(L, SEC_HOST, nf, L->host);
}

/* The page map: one bit per page, none beyond the last page. */
static glint_status get_pagemap(struct loader *L)
{
    const struct sf_sec *s = &L->h.sec[SEC_PAGEMAP];
    size_t words = (size_t)(s->size / 8);
    if (!(L->bitmap = calloc(words + 1, 8)))
        return glint_fail(L->err, GLINT_E_NOMEM, "%s: out of memory", L->path);
    for (size_t i = 0; i < words; i++)
        L->bitmap[i] = sf_get64(L->meta + s->off + 8 * i);
    uint64_t pages = s->count;
    if (pages % 64 && (L->bitmap[words - 1] >> (pages % 64)))
        return bad(L, "page map has bits set beyond the last page (%llu)", U(pages - 1));
    return GLINT_OK;
}

/* Pages [first, end) may hold data: those the page map calls zero must be. */
static int zero_pages_ok(void *ctx, uint64_t first, uint64_t end)
{
    struct loader *L = ctx;
    const uint8_t *mem = L->map + L->h.sec[SEC_MEMORY].off;
    for (uint64_t pg = first; pg < end; pg++)
        if (!sf_bit_get(L->bitmap, pg) && !sf_page_is_zero(mem + pg * PAGE)) {
            bad(L, "memory page %llu (guest address 0x%llx) is not zero, but the page map says "
                   "it is", U(pg), U(pg * PAGE));
            return 1;
        }
    return 0;
}

/* Maps the file and checks the memory image against the page map and its checksum. */
static glint_status check_memory(struct loader *L)
{
    void *m = mmap(NULL, (size_t)L->size, PROT_READ, MAP_SHARED, L->fd, 0);
    if (m == MAP_FAILED)
        return glint_fail(L->err, errno == ENOMEM ? GLINT_E_NOMEM : GLINT_E_IO,
                          "%s: cannot map %llu bytes: %s", L->path, U(L->size), strerror(errno));
    L->map = m;
    const struct sf_sec *s = &L->h.sec[SEC_MEMORY];
    const uint8_t *mem = L->map + s->off;
    uint32_t crc = 0;
    for (uint64_t pg = 0; pg < s->count; pg++) {
        if (!sf_bit_get(L->bitmap, pg))
            continue;
        if (sf_page_is_zero(mem + pg * PAGE))
            return bad(L, "memory page %llu (guest address 0x%llx) is marked non-zero in the page "
                          "map but is zero", U(pg), U(pg * PAGE));
        crc = glint_crc32c(crc, mem + pg * PAGE, PAGE);
    }
    if (glint_sf_for_data_pages(L->fd, s->off, s->size, zero_pages_ok, L))
        return GLINT_E_BAD_SNAPSHOT;
    if (crc != L->h.mem_crc)
        return bad(L, "checksum mismatch in the memory image (stored 0x%08x, computed 0x%08x)",
                   L->h.mem_crc, crc);
    return GLINT_OK;
}

/*
 * The neutral state, kept, and imported for the snapshot's default backend:
 * the one GLINT_BACKEND_AUTO selects, or the process backend where that
 * cannot take it (AVX state on a KVM without AVX) or none is usable
 * (sandboxes from it then fail to create, as any sandbox would here).
 * Another backend gets its state when a sandbox first needs it.
 */
static glint_status import_cpu(struct loader *L, struct glint_snapshot *snap, const struct ucpu *u)
{
    const struct hv_ops *be = NULL;
    glint_error e;
    if (hv_select(GLINT_BACKEND_AUTO, &be, NULL) != GLINT_OK ||
        be->cpu_import(u, &L->h.lay, snap->cpu, &e) != GLINT_OK) {
        be = &hv_process_ops;
        if (be->cpu_import(u, &L->h.lay, snap->cpu, &e) != GLINT_OK)
            return bad(L, "%s", e.message);
    }
    snap->be = be;
    snap->cpu_on[be->id] = snap->cpu;
    snap->neutral = *u;
    snap->from_file = 1;
    return GLINT_OK;
}

/* Runs every check; on success L holds what the snapshot needs. */
static glint_status load_checked(struct loader *L, struct glint_snapshot *snap)
{
    uint8_t hdr[HDR_SIZE] = {0};
    glint_status s;
    if ((s = open_file(L)) ||
        (s = read_at(L, hdr, L->size < HDR_SIZE ? (size_t)L->size : HDR_SIZE, 0)) ||
        (s = check_identity(L, hdr)) || (s = check_sections(L)) || (s = read_meta(L, hdr)) ||
        (s = check_zero_fill(L)) || (s = check_layout(L)) || (s = check_tables(L)) ||
        (s = get_pagemap(L)))
        return s;
    struct ucpu u;
    memcpy(&u, L->meta + L->h.sec[SEC_CPU].off, sizeof u);
    char why[400];
    if (!ucpu_check(&u, why, sizeof why))
        return bad(L, "%s", why);
    glint_status s2 = import_cpu(L, snap, &u);
    if (s2 != GLINT_OK)
        return s2;
    return check_memory(L);
}

API glint_status glint_snapshot_load(const char *path, glint_snapshot **out, glint_error *err)
{
    if (!out)
        return glint_fail(err, GLINT_E_INVALID, "glint_snapshot_load: out is NULL");
    *out = NULL;
    if (!path)
        return glint_fail(err, GLINT_E_INVALID, "glint_snapshot_load: path is NULL");
    struct loader L = {.path = path, .err = err, .fd = -1};
    struct glint_snapshot *snap = glint_snapshot_alloc();
    glint_status s = snap ? load_checked(&L, snap)
                          : glint_fail(err, GLINT_E_NOMEM, "%s: out of memory", path);
    size_t nf = (size_t)L.h.sec[SEC_FUNCS].count;
    if (s == GLINT_OK)
        s = glint_snapshot_set_tables(snap, L.funcs, L.entries, nf, L.host,
                                      (size_t)L.h.sec[SEC_HOST].count, err);
    if (s == GLINT_OK) {
        /* The whole file stays mapped, so mem != map_base: snapshot.c takes
         * that to mean file-backed memory, whose page residency (mincore)
         * says nothing about its content. */
        snap->cfg = L.h.cfg;
        snap->lay = L.h.lay;
        snap->mem_fd = L.fd;
        snap->mem_off = L.h.sec[SEC_MEMORY].off;
        snap->map_base = L.map;
        snap->map_len = (size_t)L.size;
        snap->mem = L.map + snap->mem_off;
        *out = snap;
    } else {
        glint_snapshot_free(snap);
        if (L.map)
            munmap(L.map, (size_t)L.size);
        if (L.fd >= 0)
            close(L.fd);
    }
    free(L.meta);
    free(L.bitmap);
    free(L.funcs);
    free(L.host);
    free(L.entries);
    free(L.names);
    return s;
}
