/*
 * kvmstats.h - what KVM itself can tell about a vCPU: its binary stats fd
 * (exits, insn_emulation, ...) and single-step instruction counting.
 */
#ifndef BENCH_KVMSTATS_H
#define BENCH_KVMSTATS_H

#include <stddef.h>
#include <stdint.h>

#define VSTATS_MAX 8

/* The per-vCPU stats fd (KVM_GET_STATS_FD), with the offsets of the
 * counters glint-bench reads.  ok == 0 when the host has none. */
struct vstats {
    int fd;
    int ok;
    char why[160];
    size_t n;
    struct { const char *name; uint64_t off; } c[VSTATS_MAX];
};

/* Opens the stats of `vcpu_fd`; always fills vs (ok says if it worked). */
void vstats_open(struct vstats *vs, int vcpu_fd);
/* Counter `name` ("exits", "insn_emulation", "io_exits", "pf_taken"), or -1. */
int64_t vstats_get(const struct vstats *vs, const char *name);
void vstats_close(struct vstats *vs);

/* The vCPU fds this process has open (from /proc/self/fd); returns how many. */
size_t list_vcpu_fds(int *fds, size_t max);
/* The one vCPU fd in `after` that is not in `before`, or -1. */
int new_vcpu_fd(const int *before, size_t nb, const int *after, size_t na);

#endif
