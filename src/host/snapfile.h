/*
 * snapfile.h - the snapshot file format (internal), shared by snapfile.c
 * (encoding, checksums, pages), snapsave.c (glint_snapshot_save) and
 * snapload.c (glint_snapshot_load).
 *
 * docs/snapshots.md is the specification; the constants here are its
 * tables.  In short: a 512-byte little-endian header, then the vCPU state,
 * the guest's function table, the host-function set and a bitmap of the
 * non-zero pages, then (page aligned) the whole guest memory as one region,
 * written sparsely.  A CRC32C covers every byte before the memory image,
 * another the non-zero pages; the pages the bitmap calls zero must read as
 * zero.  So every byte of a valid file is checked.
 */
#ifndef GLINT_SNAPFILE_H
#define GLINT_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "glint/glint.h"
#include "layout.h"

#define PAGE GLINT_PAGE_SIZE

#define SNAP_MAGIC   "GLINTSNP"
#define SNAP_VERSION 1u
#define SNAP_ARCH    "x86_64"
#define HDR_SIZE     512u
#define REC_SIZE     96u /* one function record */
#define ARCH_LEN     16u
#define CPU_FMT_LEN  32u

/* Header field offsets. */
enum {
    H_MAGIC = 0x00, H_VERSION = 0x08, H_HDR_SIZE = 0x0C, H_ABI = 0x10, H_PAGE = 0x14,
    H_META_CRC = 0x18, H_MEM_CRC = 0x1C, H_ARCH = 0x20, H_CPU_FMT = 0x30,
    H_CONFIG = 0x50, H_LAYOUT = 0x78, H_SECTIONS = 0x100,
};

/* Sections, in file order; the header's table gives offset, size, count. */
enum { SEC_CPU, SEC_FUNCS, SEC_HOST, SEC_PAGEMAP, SEC_MEMORY, NSEC };
extern const char *const glint_sf_sec_name[NSEC];

struct sf_sec {
    uint64_t off, size, count;
};

/* A header, decoded (text fields NUL-terminated by the decoder). */
struct sf_hdr {
    uint32_t version, hdr_size, abi, page, meta_crc, mem_crc;
    char arch[ARCH_LEN + 1], cpu_fmt[CPU_FMT_LEN + 1];
    glint_config cfg;
    struct glint_layout lay;
    struct sf_sec sec[NSEC];
};

static inline uint32_t sf_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t sf_get64(const uint8_t *p)
{
    return (uint64_t)sf_get32(p) | (uint64_t)sf_get32(p + 4) << 32;
}

static inline void sf_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void sf_put64(uint8_t *p, uint64_t v)
{
    sf_put32(p, (uint32_t)v);
    sf_put32(p + 4, (uint32_t)(v >> 32));
}

static inline int sf_page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    uint64_t acc = 0;
    for (size_t i = 0; i < PAGE / 8; i++)
        acc |= w[i];
    return acc == 0;
}

static inline int sf_bit_get(const uint64_t *bm, uint64_t i)
{
    return (int)(bm[i / 64] >> (i % 64) & 1);
}

/* CRC32C (Castagnoli), chained like zlib's crc32:
 * glint_crc32c(glint_crc32c(0, a), b) == glint_crc32c(0, a || b). */
uint32_t glint_crc32c(uint32_t crc, const void *data, size_t n);
/* CRC of the metadata [0, len), the stored meta_crc read as zero. */
uint32_t glint_sf_meta_crc(const uint8_t *meta, size_t len);

/*
 * Calls fn(ctx, first, end) for each run of pages [first, end) of the
 * `len` bytes of `fd` at `base` that may hold data, in ascending order.
 * Holes (SEEK_DATA/SEEK_HOLE) are skipped: they read as zero.  Where the
 * file system cannot tell, or fd < 0, everything counts as data.  Stops
 * at, and returns, fn's first non-zero result.
 */
int glint_sf_for_data_pages(int fd, uint64_t base, uint64_t len,
                            int (*fn)(void *ctx, uint64_t first, uint64_t end), void *ctx);

/* Function records.  get_fn validates and decodes; 0 with a reason on
 * failure.  `name` receives the name (GLINT_MAX_NAME + 1 bytes). */
void glint_sf_put_fn(uint8_t *p, const glint_function *f, uint64_t entry);
int glint_sf_get_fn(const uint8_t *p, glint_function *f, char *name, uint64_t *entry, char *why,
                    size_t why_size);

void glint_sf_put_header(uint8_t *h, const struct sf_hdr *d);
void glint_sf_get_header(const uint8_t *h, struct sf_hdr *d);

/* Sizes, counts and offsets of every section of a snapshot with these
 * counts: the only placement format version 1 allows.  Preconditions:
 * nfuncs, nhost within the limits, mem_size <= GLINT_MEMORY_MAX. */
void glint_sf_size_sections(struct sf_sec *s, uint64_t cpu_size, uint64_t nfuncs, uint64_t nhost,
                            uint64_t mem_size);

#endif /* GLINT_SNAPFILE_H */
