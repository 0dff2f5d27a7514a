/*
 * fuzz_elf - libFuzzer target for the ELF loader: glint_elf_parse on
 * arbitrary bytes.  Whatever it accepts must satisfy the contract of
 * image.h, which this target re-checks, and must load (glint_image_load)
 * into a buffer of image_end bytes without touching anything outside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int in_exec(const struct glint_image *img, uint64_t a)
{
    for (size_t k = 0; k < img->nsegs; k++)
        if ((img->segs[k].flags & 1) && a >= img->segs[k].vaddr &&
            a - img->segs[k].vaddr < img->segs[k].memsz)
            return 1;
    return 0;
}

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_elf: glint_elf_parse accepted an image that breaks image.h: %s\n", what);
    abort();
}

/* The invariants image.h promises for an accepted image. */
static void check_parsed(const struct glint_image *img)
{
    if (img->nsegs == 0 || img->nsegs > GLINT_IMAGE_MAX_SEGS || img->nfuncs > GLINT_IMAGE_MAX_FUNCS)
        broken("segment or function count");
    for (size_t k = 0; k < img->nsegs; k++) {
        const struct glint_segment *s = &img->segs[k];
        /* An empty file part may have any offset: nothing is read from it. */
        int file_ok = !s->filesz || (s->offset <= img->size && s->filesz <= img->size - s->offset);
        if (s->vaddr < GLINT_IMAGE_BASE || s->vaddr % GLINT_PAGE_SIZE || !s->memsz ||
            s->filesz > s->memsz || !file_ok || s->vaddr + s->memsz > img->image_end ||
            ((s->flags & 2) && (s->flags & 1)))
            broken("segment bounds, alignment or W^X");
        if (k && s->vaddr < img->segs[k - 1].vaddr + img->segs[k - 1].memsz)
            broken("segments overlap or are not sorted");
    }
    if (!in_exec(img, img->entry))
        broken("entry point outside executable segments");
    for (size_t i = 0; i < img->nfuncs; i++) {
        if (strlen(img->names[i]) > GLINT_MAX_NAME || img->funcs[i].name != img->names[i] ||
            img->funcs[i].nparams > GLINT_MAX_PARAMS || !in_exec(img, img->fn_entries[i]))
            broken("function table entry");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct glint_image img;
    memset(&img, 0, sizeof img);
    /* An exact-size heap copy, so that ASan sees any read past the end. */
    img.data = malloc(size ? size : 1);
    if (!img.data)
        return 0;
    if (size)
        memcpy(img.data, data, size);
    img.size = size;
    glint_error err;
    if (glint_elf_parse(&img, &err) == GLINT_OK) {
        check_parsed(&img);
        if (img.image_end <= (64u << 20)) {
            uint8_t *mem = calloc(1, (size_t)img.image_end);
            if (mem)
                glint_image_load(&img, mem, (size_t)img.image_end);
            free(mem);
        }
        free(img.funcs);
        free(img.fn_entries);
        free(img.names);
    }
    free(img.data);
    return 0;
}
