/*
 * snapshot.h - the snapshot object (internal), shared by snapshot.c
 * (take, restore, create from) and snapfile.c (save, load).
 */
#ifndef GLINT_SNAPSHOT_H
#define GLINT_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "glint/glint.h"
#include "layout.h"

struct glint_snap_host {
    glint_function sig;            /* sig.name points at name */
    char name[GLINT_MAX_NAME + 1];
};

struct glint_snapshot {
    atomic_int refs;
    glint_config cfg;
    struct glint_layout lay;

    /* Guest memory: lay.mem_size bytes of `mem_fd` from `mem_off`, which
     * sandboxes map privately (copy-on-write); `mem` is a read-only view. */
    int mem_fd;
    uint64_t mem_off;
    const uint8_t *mem;
    void *map_base;               /* what to munmap */
    size_t map_len;

    const struct hv_ops *be;      /* the backend whose CPU state this is */
    void *cpu;                    /* be->cpu_state_size bytes */

    size_t nfuncs;
    glint_function *funcs;        /* names point into fn_names */
    uint64_t *fn_entries;
    char (*fn_names)[GLINT_MAX_NAME + 1];

    size_t nhost;
    struct glint_snap_host *host;
};

/* A new, empty snapshot with one reference (mem_fd -1). */
struct glint_snapshot *glint_snapshot_alloc(void);

/* Fills the function and host tables (allocating), from arrays. */
glint_status glint_snapshot_set_tables(struct glint_snapshot *s, const glint_function *funcs,
                                       const uint64_t *entries, size_t nfuncs,
                                       const glint_function *host, size_t nhost, glint_error *err);

/* Checks a layout read from a file: ordered, aligned, within limits. */
int glint_layout_check(const struct glint_layout *lay, char *why, size_t why_size);

#endif
