/*
 * snapshot.h - the snapshot object (internal), shared by snapshot.c
 * (take, restore, create from) and snapfile.c (save, load).
 */
#ifndef GLINT_SNAPSHOT_H
#define GLINT_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "glint/glint.h"
#include "hv.h"
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

    /* The backend sandboxes made from it run on unless told otherwise, and
     * its CPU state (be->cpu_state_size bytes).  A snapshot taken of a
     * sandbox holds only its backend's state; one loaded from a file (whose
     * state is neutral, ucpu.h) holds one for every backend this host can
     * use: cpu_on[id] (NULL: none yet; cpu_on[be->id] == cpu). */
    const struct hv_ops *be;
    void *cpu;
    void *cpu_on[3];
    /* Loaded from a file: the neutral state, imported for another backend
     * when a sandbox first needs it; AUTO selects as for a new guest. */
    int from_file;
    int sealed;            /* mem_fd is a sealed memfd (taken here), not a file */
    struct ucpu neutral;

    size_t nfuncs;
    glint_function *funcs;        /* names point into fn_names */
    uint64_t *fn_entries;
    char (*fn_names)[GLINT_MAX_NAME + 1];

    size_t nhost;
    struct glint_snap_host *host;

    /* The function symbols of the image it was taken from (symbols.h), for
     * the profiler of sandboxes made from it; NULL for one from a file. */
    struct glint_symtab *syms;

    /* How a sandbox that cannot map it copy-on-write gets its memory
     * (snapshot.c: map_snapshot_memory), worked out at the first such
     * sandbox and kept (its memory never changes): one plan for each way
     * (x86 tables copied or not, read-only pages shared or not). */
    _Atomic(struct glint_snap_plan *) plans[4];
};

/* The CPU state of `snap` for backend `be`; NULL if it has none. */
static inline const void *glint_snapshot_cpu_for(const struct glint_snapshot *snap,
                                                 const struct hv_ops *be)
{
    return be && (unsigned)be->id < 3 ? __atomic_load_n(&snap->cpu_on[be->id], __ATOMIC_ACQUIRE) : NULL;
}

/* The backend a sandbox made from `snap` with configured backend `want`
 * runs on: for AUTO, a taken snapshot's own, or for a loaded one what
 * AUTO selects now (GLINT_BACKEND, else kvm, else process); otherwise
 * `want`, if this host can use it (GLINT_E_NO_KVM) and the snapshot has
 * state for it (GLINT_E_INCOMPATIBLE). */
glint_status glint_snapshot_backend_for(const glint_snapshot *snap, int want,
                                       const struct hv_ops **out, glint_error *err);

/* A new, empty snapshot with one reference (mem_fd -1). */
struct glint_snapshot *glint_snapshot_alloc(void);

/* Fills the function and host tables (allocating), from arrays. */
glint_status glint_snapshot_set_tables(struct glint_snapshot *s, const glint_function *funcs,
                                       const uint64_t *entries, size_t nfuncs,
                                       const glint_function *host, size_t nhost, glint_error *err);

/* Checks a layout read from a file: ordered, aligned, within limits. */
int glint_layout_check(const struct glint_layout *lay, char *why, size_t why_size);

#endif
