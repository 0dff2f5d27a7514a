/*
 * image.h - a validated guest image (internal).
 *
 * glint_elf_parse() checks everything in the ELF before anything is copied
 * into guest memory; glint_image_load() then copies the segments, trusting
 * only what the parser validated.
 */
#ifndef GLINT_IMAGE_H
#define GLINT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "glint/glint.h"

#define GLINT_IMAGE_MAX_BYTES   (64u << 20) /* largest guest file accepted */
#define GLINT_IMAGE_MAX_SEGS    8u          /* PT_LOAD segments */
#define GLINT_IMAGE_MAX_FUNCS   1024u       /* guest functions */

/* One PT_LOAD segment, page aligned in guest memory (vaddr and memsz). */
struct glint_segment {
    uint64_t vaddr;   /* page aligned, >= GLINT_IMAGE_BASE */
    uint64_t memsz;   /* bytes in memory, > 0 */
    uint64_t filesz;  /* bytes from the file, <= memsz */
    uint64_t offset;  /* file offset of the first byte */
    uint32_t flags;   /* PF_R | PF_W | PF_X; never W and X together */
};

struct glint_image {
    uint8_t *data;            /* owned copy of the whole file */
    size_t size;
    uint64_t entry;           /* inside an executable segment */
    size_t nsegs;             /* 1..GLINT_IMAGE_MAX_SEGS, sorted by vaddr, no shared pages */
    struct glint_segment segs[GLINT_IMAGE_MAX_SEGS];
    uint64_t image_end;       /* page-aligned end of the highest segment (GVA) */
    uint32_t abi_version;
    size_t nfuncs;
    glint_function *funcs;    /* nfuncs entries; names point into `names` */
    uint64_t *fn_entries;     /* GVA of each function, inside an executable segment */
    char (*names)[GLINT_MAX_NAME + 1];
    /* A WebAssembly module (wasm/wasm_image.c): the embedded runtime guest
     * plus a segment holding the module; its exported functions that glint
     * cannot call, one line each ("name (i32) -> (i32, i32): not callable: ..."). */
    int is_wasm;
    size_t nskipped;
    char **skipped;
    struct glint_symtab *syms; /* function symbols for the profiler (symbols.h), or NULL */
};

/*
 * Validates img->data[0..img->size) as a glint guest and fills the other
 * fields (allocating funcs, fn_entries and names).  On failure returns
 * GLINT_E_BAD_IMAGE, GLINT_E_ABI or GLINT_E_NOMEM with *err filled, and
 * leaves nothing allocated besides img->data.
 */
glint_status glint_elf_parse(struct glint_image *img, glint_error *err);

/*
 * Copies the segments of a parsed image into guest memory `mem` (GPA 0 at
 * mem[0], `mem_size` bytes, already zero).  Precondition: mem_size >=
 * img->image_end.
 */
/*
 * WebAssembly (wasm/wasm_image.c): glint_wasm_is_module says whether the
 * bytes start with the wasm magic; glint_wasm_image_parse decodes and
 * validates the module in img->data[0..img->size) and turns img into the
 * runtime guest with the module (replacing img->data), with the same
 * failure contract as glint_elf_parse (GLINT_E_BAD_IMAGE with the engine's
 * message for a malformed or invalid module).
 */
int glint_wasm_is_module(const uint8_t *data, size_t len);
glint_status glint_wasm_image_parse(struct glint_image *img, glint_error *err);

void glint_image_load(const struct glint_image *img, uint8_t *mem, size_t mem_size);
/* The same into guest memory's memfd, written by the kernel (no page fault
 * on the host's mapping per page); 0, or -1 with errno (then load). */
int glint_image_write(const struct glint_image *img, int fd);

#endif /* GLINT_IMAGE_H */
