/*
 * kvmstats.c - the per-vCPU binary stats fd and the vCPU fds of this process.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvmstats.h"

static const char *const wanted[] = {"exits", "insn_emulation", "io_exits", "pf_taken",
                                     "pf_fixed", "signal_exits"};

static int read_descs(struct vstats *vs, const struct kvm_stats_header *h)
{
    size_t stride = sizeof(struct kvm_stats_desc) + h->name_size;
    char *buf = malloc(stride);
    if (!buf)
        return -1;
    for (uint32_t i = 0; i < h->num_desc; i++) {
        if (pread(vs->fd, buf, stride, (off_t)(h->desc_offset + i * stride)) != (ssize_t)stride)
            break;
        const struct kvm_stats_desc *d = (const struct kvm_stats_desc *)buf;
        const char *name = buf + sizeof *d;
        for (size_t w = 0; w < sizeof wanted / sizeof wanted[0] && vs->n < VSTATS_MAX; w++)
            if (strncmp(name, wanted[w], h->name_size) == 0 && d->size == 1) {
                vs->c[vs->n].name = wanted[w];
                vs->c[vs->n++].off = h->data_offset + d->offset;
            }
    }
    free(buf);
    return 0;
}

void vstats_open(struct vstats *vs, int vcpu_fd)
{
    memset(vs, 0, sizeof *vs);
    vs->fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
    if (vs->fd < 0) {
        snprintf(vs->why, sizeof vs->why, "no vCPU stats fd (KVM_GET_STATS_FD: %s)",
                 strerror(errno));
        return;
    }
    struct kvm_stats_header h;
    if (pread(vs->fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.name_size == 0 ||
        h.name_size > 4096 || read_descs(vs, &h) < 0) {
        snprintf(vs->why, sizeof vs->why, "unreadable vCPU stats fd");
        close(vs->fd);
        vs->fd = -1;
        return;
    }
    vs->ok = 1;
}

int64_t vstats_get(const struct vstats *vs, const char *name)
{
    if (!vs->ok)
        return -1;
    for (size_t i = 0; i < vs->n; i++) {
        if (strcmp(vs->c[i].name, name) != 0)
            continue;
        uint64_t v;
        if (pread(vs->fd, &v, sizeof v, (off_t)vs->c[i].off) != (ssize_t)sizeof v)
            return -1;
        return (int64_t)v;
    }
    return -1;
}

void vstats_close(struct vstats *vs)
{
    if (vs->fd >= 0 && vs->ok)
        close(vs->fd);
    vs->fd = -1;
    vs->ok = 0;
}

size_t list_vcpu_fds(int *fds, size_t max)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        char path[300], target[128];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = 0;
        if (strncmp(target, "anon_inode:kvm-vcpu", 19) == 0)
            fds[n++] = atoi(e->d_name);
    }
    closedir(d);
    return n;
}

int new_vcpu_fd(const int *before, size_t nb, const int *after, size_t na)
{
    int found = -1;
    for (size_t i = 0; i < na; i++) {
        int seen = 0;
        for (size_t j = 0; j < nb; j++)
            seen |= before[j] == after[i];
        if (!seen) {
            if (found >= 0)
                return -1; /* ambiguous */
            found = after[i];
        }
    }
    return found;
}
