/*
 * snapfile.c - the snapshot file format: header and record encoding,
 * section placement, CRC32C, the layout check, and walking the data
 * pages of a sparse file.  Saving is in snapsave.c, loading in snapload.c;
 * docs/snapshots.md is the specification.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "hv.h"
#include "snapfile.h"
#include "snapshot.h"

const char *const glint_sf_sec_name[NSEC] = {"vCPU state", "function table",
                                             "host-function table", "page map", "memory image"};

/* The layout's fields, in file order. */
#define LAY(f) {#f, offsetof(struct glint_layout, f)}
static const struct { const char *name; size_t off; } lay_fields[] = {
    LAY(image_end),  LAY(heap_base), LAY(heap_size),   LAY(guard_base), LAY(stack_base),
    LAY(stack_size), LAY(stack_top), LAY(input_base),  LAY(input_size), LAY(output_base),
    LAY(output_size), LAY(pt_base),  LAY(pt_count),    LAY(mem_size),
};
#define NLAY (sizeof lay_fields / sizeof lay_fields[0])

static uint64_t *lay_field(struct glint_layout *lay, size_t i)
{
    return (uint64_t *)((char *)lay + lay_fields[i].off);
}

static uint64_t lay_get(const struct glint_layout *lay, size_t i)
{
    return *(const uint64_t *)((const char *)lay + lay_fields[i].off);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* ------------------------------------------------------------------------- */
/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78, zlib-style chaining:
 * glint_crc32c(glint_crc32c(0, a), b) == glint_crc32c(0, a || b)). */

static uint32_t crc_table[256];
static int crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
#if defined(__x86_64__)
    unsigned a, b, c, d;
    crc_hw = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_update_hw(uint32_t c, const uint8_t *p,
                                                               size_t n)
{
    for (; n && ((uintptr_t)p & 7); n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    uint64_t c64 = c;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
    }
    c = (uint32_t)c64;
    for (; n; n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t glint_crc32c(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (crc_hw)
        return ~crc_update_hw(c, p, n);
#endif
    for (; n; n--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

/* CRC of the metadata [0, len), reading the stored meta_crc as zero. */
uint32_t glint_sf_meta_crc(const uint8_t *meta, size_t len)
{
    static const uint8_t zero[4];
    uint32_t c = glint_crc32c(0, meta, H_META_CRC);
    c = glint_crc32c(c, zero, 4);
    return glint_crc32c(c, meta + H_META_CRC + 4, len - H_META_CRC - 4);
}

/* ------------------------------------------------------------------------- */
/* Pages. */

int glint_sf_for_data_pages(int fd, uint64_t base, uint64_t len,
                            int (*fn)(void *ctx, uint64_t first, uint64_t end), void *ctx)
{
    uint64_t end = base + len, pos = base;
    while (pos < end) {
        off_t d = fd >= 0 ? lseek(fd, (off_t)pos, SEEK_DATA) : -1;
        off_t h = (off_t)end;
        if (d < 0 && errno == ENXIO && fd >= 0)
            return 0; /* only holes from pos on */
        if (d < 0)
            d = (off_t)pos;
        else if ((uint64_t)d >= end)
            return 0;
        else if ((h = lseek(fd, d, SEEK_HOLE)) < 0 || (uint64_t)h > end)
            h = (off_t)end;
        uint64_t first = ((uint64_t)d - base) / PAGE;
        uint64_t last = ((uint64_t)h - base + PAGE - 1) / PAGE;
        if (last <= first) /* the file changed under us: make progress anyway */
            last = first + 1;
        int r = fn(ctx, first, last);
        if (r)
            return r;
        pos = base + last * PAGE;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Function records: name[64], entry u64, ret u32, nparams u32, params[16]. */

void glint_sf_put_fn(uint8_t *p, const glint_function *f, uint64_t entry)
{
    memset(p, 0, REC_SIZE);
    size_t n = strnlen(f->name, GLINT_MAX_NAME);
    memcpy(p, f->name, n);
    sf_put64(p + 64, entry);
    sf_put32(p + 72, (uint32_t)f->ret);
    sf_put32(p + 76, f->nparams);
    for (uint32_t k = 0; k < f->nparams && k < GLINT_MAX_PARAMS; k++)
        p[80 + k] = (uint8_t)f->params[k];
}

/* Decodes and validates a record; 0 with a reason on failure. */
int glint_sf_get_fn(const uint8_t *p, glint_function *f, char *name, uint64_t *entry, char *why,
                    size_t why_size)
{
    const uint8_t *nul = memchr(p, 0, GLINT_MAX_NAME + 1);
    if (!nul || nul == p) {
        snprintf(why, why_size, nul ? "empty name" : "name is not NUL-terminated within 64 bytes");
        return 0;
    }
    for (const uint8_t *c = p; c < nul; c++) {
        int ok = *c == '_' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                 (c > p && *c >= '0' && *c <= '9');
        if (!ok) {
            snprintf(why, why_size, "byte 0x%02x at position %zu of the name is not allowed", *c,
                     (size_t)(c - p));
            return 0;
        }
    }
    for (const uint8_t *c = nul; c < p + GLINT_MAX_NAME + 1; c++)
        if (*c) {
            snprintf(why, why_size, "non-zero byte after the name");
            return 0;
        }
    memcpy(name, p, (size_t)(nul - p) + 1);
    *entry = sf_get64(p + 64);
    uint32_t ret = sf_get32(p + 72), np = sf_get32(p + 76);
    if (ret >= GLINT_TYPE_COUNT) {
        snprintf(why, why_size, "%s: invalid return type %u", name, ret);
        return 0;
    }
    if (np > GLINT_MAX_PARAMS) {
        snprintf(why, why_size, "%s: %u parameters, at most %u", name, np, GLINT_MAX_PARAMS);
        return 0;
    }
    memset(f, 0, sizeof *f);
    f->name = name;
    f->ret = (glint_type)ret;
    f->nparams = np;
    for (uint32_t k = 0; k < GLINT_MAX_PARAMS; k++) {
        uint8_t t = p[80 + k];
        if (k < np ? (t == GLINT_VOID || t >= GLINT_TYPE_COUNT) : t != 0) {
            snprintf(why, why_size, "%s: parameter %u has %s type byte %u", name, k + 1,
                     k < np ? "an invalid" : "an unused but non-zero", t);
            return 0;
        }
        if (k < np)
            f->params[k] = (glint_type)t;
    }
    return 1;
}

/* ------------------------------------------------------------------------- */
/* The layout. */

int glint_layout_check(const struct glint_layout *lay, char *why, size_t why_size)
{
    if (lay->image_end < GLINT_IMAGE_BASE) {
        snprintf(why, why_size, "layout: image end 0x%llx is below the image base 0x%llx",
                 (unsigned long long)lay->image_end, (unsigned long long)GLINT_IMAGE_BASE);
        return 0;
    }
    /* The layout must be exactly what glint_layout_compute makes of its own sizes. */
    glint_config cfg = {.heap_size = (size_t)lay->heap_size,
                        .stack_size = (size_t)lay->stack_size,
                        .input_size = (size_t)lay->input_size,
                        .output_size = (size_t)lay->output_size};
    struct glint_layout want;
    glint_error e;
    if (glint_layout_compute(&cfg, lay->image_end, &want, &e) != GLINT_OK) {
        snprintf(why, why_size, "layout: %s", e.message);
        return 0;
    }
    for (size_t i = 0; i < NLAY; i++) {
        uint64_t have = lay_get(lay, i), need = lay_get(&want, i);
        if (have != need) {
            snprintf(why, why_size, "layout: %s is 0x%llx, expected 0x%llx", lay_fields[i].name,
                     (unsigned long long)have, (unsigned long long)need);
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------- */
/* Header encoding. */

void glint_sf_put_header(uint8_t *h, const struct sf_hdr *d)
{
    memcpy(h + H_MAGIC, SNAP_MAGIC, 8);
    sf_put32(h + H_VERSION, SNAP_VERSION);
    sf_put32(h + H_HDR_SIZE, HDR_SIZE);
    sf_put32(h + H_ABI, GLINT_ABI_VERSION);
    sf_put32(h + H_PAGE, (uint32_t)PAGE);
    sf_put32(h + H_MEM_CRC, d->mem_crc);
    memcpy(h + H_ARCH, SNAP_ARCH, strlen(SNAP_ARCH));
    memcpy(h + H_CPU_FMT, d->cpu_fmt, strnlen(d->cpu_fmt, CPU_FMT_LEN - 1));
    sf_put64(h + H_CONFIG, d->cfg.heap_size);
    sf_put64(h + H_CONFIG + 8, d->cfg.stack_size);
    sf_put64(h + H_CONFIG + 16, d->cfg.input_size);
    sf_put64(h + H_CONFIG + 24, d->cfg.output_size);
    sf_put32(h + H_CONFIG + 32, d->cfg.timeout_ms);
    for (size_t i = 0; i < NLAY; i++)
        sf_put64(h + H_LAYOUT + 8 * i, lay_get(&d->lay, i));
    for (int i = 0; i < NSEC; i++) {
        sf_put64(h + H_SECTIONS + 24 * i, d->sec[i].off);
        sf_put64(h + H_SECTIONS + 24 * i + 8, d->sec[i].size);
        sf_put64(h + H_SECTIONS + 24 * i + 16, d->sec[i].count);
    }
}

void glint_sf_get_header(const uint8_t *h, struct sf_hdr *d)
{
    memset(d, 0, sizeof *d);
    d->version = sf_get32(h + H_VERSION);
    d->hdr_size = sf_get32(h + H_HDR_SIZE);
    d->abi = sf_get32(h + H_ABI);
    d->page = sf_get32(h + H_PAGE);
    d->meta_crc = sf_get32(h + H_META_CRC);
    d->mem_crc = sf_get32(h + H_MEM_CRC);
    memcpy(d->arch, h + H_ARCH, ARCH_LEN);
    memcpy(d->cpu_fmt, h + H_CPU_FMT, CPU_FMT_LEN);
    d->cfg.heap_size = (size_t)sf_get64(h + H_CONFIG);
    d->cfg.stack_size = (size_t)sf_get64(h + H_CONFIG + 8);
    d->cfg.input_size = (size_t)sf_get64(h + H_CONFIG + 16);
    d->cfg.output_size = (size_t)sf_get64(h + H_CONFIG + 24);
    d->cfg.timeout_ms = sf_get32(h + H_CONFIG + 32);
    for (size_t i = 0; i < NLAY; i++)
        *lay_field(&d->lay, i) = sf_get64(h + H_LAYOUT + 8 * i);
    for (int i = 0; i < NSEC; i++) {
        d->sec[i].off = sf_get64(h + H_SECTIONS + 24 * i);
        d->sec[i].size = sf_get64(h + H_SECTIONS + 24 * i + 8);
        d->sec[i].count = sf_get64(h + H_SECTIONS + 24 * i + 16);
    }
}

void glint_sf_size_sections(struct sf_sec *s, uint64_t cpu_size, uint64_t nfuncs, uint64_t nhost,
                            uint64_t mem_size)
{
    uint64_t pages = mem_size / PAGE;
    s[SEC_CPU] = (struct sf_sec){0, cpu_size, 1};
    s[SEC_FUNCS] = (struct sf_sec){0, nfuncs * REC_SIZE, nfuncs};
    s[SEC_HOST] = (struct sf_sec){0, nhost * REC_SIZE, nhost};
    s[SEC_PAGEMAP] = (struct sf_sec){0, (pages + 63) / 64 * 8, pages};
    s[SEC_MEMORY] = (struct sf_sec){0, mem_size, pages};
    uint64_t at = HDR_SIZE;
    for (int i = 0; i < SEC_MEMORY; i++) {
        s[i].off = at;
        at = align_up(at + s[i].size, 8);
    }
    s[SEC_MEMORY].off = align_up(at, PAGE);
}

