/*
 * layout.h - where each part of a sandbox's guest memory goes (internal).
 * The fixed part of the map is in glint/layout.h; this computes the rest
 * from the configuration and the image.
 */
#ifndef GLINT_LAYOUT_INTERNAL_H
#define GLINT_LAYOUT_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "glint/glint.h"
#include "glint/layout.h"

/* Page permissions for x86_build_page_tables. */
#define GLINT_MAP_USER  1u
#define GLINT_MAP_WRITE 2u
#define GLINT_MAP_EXEC  4u

struct glint_region {
    uint64_t gva;   /* page aligned */
    uint64_t size;  /* page multiple */
    uint32_t flags; /* GLINT_MAP_* */
};

struct glint_layout {
    uint64_t image_end;   /* page-aligned end of the guest image */
    uint64_t heap_base, heap_size;
    uint64_t guard_base;  /* GLINT_GUARD_SIZE bytes, not present */
    uint64_t stack_base, stack_size, stack_top;
    uint64_t input_base, input_size;
    uint64_t output_base, output_size;
    uint64_t pt_base, pt_count; /* page tables (PTs), one per 2 MiB */
    uint64_t mem_size;    /* total guest memory */
};

/*
 * A page the guest can read but not write, by its page table entry in
 * guest memory `mem`: an image page (code, read-only data) or the boot
 * information: what a sandbox made from a snapshot may map from the
 * snapshot itself on a backend with hv_ops.shares_snapshot_pages (the boot
 * information only where the snapshot holds that backend's exit gate:
 * snapshot.c checks).  The one rule both sides of that sharing use
 * (snapshot.c copies every other page; process.c maps these from the
 * snapshot).
 */
static inline int glint_page_shareable(const uint8_t *mem, const struct glint_layout *l, uint64_t page)
{
    uint64_t gva = page * GLINT_PAGE_SIZE, pte;
    uint64_t at = l->pt_base + (page >> 9) * GLINT_PAGE_SIZE + (page & 511) * 8;
    if ((gva < GLINT_IMAGE_BASE && gva != GLINT_BOOT_INFO_GVA) || gva >= l->image_end || gva >= l->pt_base ||
        at + 8 > l->mem_size)
        return 0;
    memcpy(&pte, mem + at, 8);
    return (pte & 7) == 5; /* present, user, not writable */
}

/* Fills *lay from a validated-or-not config; validates it. */
glint_status glint_layout_compute(const glint_config *cfg, uint64_t image_end,
                                  struct glint_layout *lay, glint_error *err);

#endif
