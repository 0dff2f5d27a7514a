/*
 * kvm.c - the Linux KVM backend.  The only file that talks to /dev/kvm.
 *
 * /dev/kvm is opened once per process; its supported CPUID and whether the
 * host has AVX are cached.  Each VM has one memory slot (the caller's
 * memfd mapping) and one vCPU whose kvm_run page is mapped once, so that
 * a guest call costs exactly one system call: KVM_RUN.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "hv.h"

struct hv {
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
};

static struct {
    pthread_once_t once;
    int fd;
    size_t run_size;
    struct kvm_cpuid2 *cpuid;
    int avx; /* XSAVE + AVX available: enable OSXSAVE and XCR0 = x87|SSE|AVX */
    glint_error err;
} g_kvm = {.once = PTHREAD_ONCE_INIT, .fd = -1};

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

static void kvm_open_once(void)
{
    glint_error *err = &g_kvm.err;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        glint_fail(err, GLINT_E_NO_KVM, "cannot open /dev/kvm: %s%s", strerror(e),
                   e == EACCES ? " (add this user to the kvm group)"
                   : e == ENOENT ? " (KVM is not available on this host)" : "");
        return;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        glint_fail(err, GLINT_E_NO_KVM, "/dev/kvm has API version %d, glint needs %d", version,
                   KVM_API_VERSION);
        close(fd);
        return;
    }
    int run_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run)) {
        glint_fail(err, GLINT_E_NO_KVM, "/dev/kvm: bad vCPU mmap size %d", run_size);
        close(fd);
        return;
    }
    unsigned nent = 256;
    struct kvm_cpuid2 *cpuid = NULL;
    for (;;) {
        cpuid = calloc(1, sizeof *cpuid + nent * sizeof(struct kvm_cpuid_entry2));
        if (!cpuid) {
            glint_fail(err, GLINT_E_NOMEM, "out of memory reading KVM CPUID");
            close(fd);
            return;
        }
        cpuid->nent = nent;
        if (xioctl(fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
            break;
        free(cpuid);
        if (errno != E2BIG || nent >= 4096) {
            glint_fail(err, GLINT_E_NO_KVM, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
            close(fd);
            return;
        }
        nent *= 2;
    }
    for (unsigned i = 0; i < cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        if (e->function == 1 && (e->ecx & (1u << 26)) && (e->ecx & (1u << 28)))
            g_kvm.avx = 1; /* XSAVE and AVX */
    }
    g_kvm.fd = fd;
    g_kvm.run_size = (size_t)run_size;
    g_kvm.cpuid = cpuid;
    g_kvm.err.status = GLINT_OK;
}

glint_status hv_probe(glint_error *err)
{
    pthread_once(&g_kvm.once, kvm_open_once);
    if (g_kvm.fd < 0) {
        if (err)
            *err = g_kvm.err;
        return g_kvm.err.status;
    }
    return GLINT_OK;
}

static void to_kvm_segment(struct kvm_segment *k, const struct x86_segment *s)
{
    memset(k, 0, sizeof *k);
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->selector;
    k->type = s->type;
    k->present = s->present;
    k->dpl = s->dpl;
    k->db = s->db;
    k->s = s->s;
    k->l = s->l;
    k->g = s->g;
    k->unusable = !s->present;
}

static glint_status set_state(struct hv *hv, const struct x86_state *st, glint_error *err)
{
    if (xioctl(hv->vcpu_fd, KVM_SET_CPUID2, g_kvm.cpuid) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_CPUID2: %s", strerror(errno));

    struct kvm_sregs sregs;
    if (xioctl(hv->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_GET_SREGS: %s", strerror(errno));
    to_kvm_segment(&sregs.cs, &st->cs);
    to_kvm_segment(&sregs.ds, &st->ds);
    to_kvm_segment(&sregs.es, &st->es);
    to_kvm_segment(&sregs.fs, &st->fs);
    to_kvm_segment(&sregs.gs, &st->gs);
    to_kvm_segment(&sregs.ss, &st->ss);
    to_kvm_segment(&sregs.tr, &st->tr);
    to_kvm_segment(&sregs.ldt, &st->ldt);
    sregs.tr.unusable = 0;
    sregs.gdt.base = st->gdt.base;
    sregs.gdt.limit = st->gdt.limit;
    sregs.idt.base = st->idt.base;
    sregs.idt.limit = st->idt.limit;
    sregs.cr0 = st->cr0;
    sregs.cr3 = st->cr3;
    sregs.cr4 = st->cr4 | (g_kvm.avx ? X86_CR4_OSXSAVE : 0);
    sregs.efer = st->efer;
    if (xioctl(hv->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_SREGS: %s", strerror(errno));

    if (g_kvm.avx) {
        struct kvm_xcrs xcrs;
        memset(&xcrs, 0, sizeof xcrs);
        xcrs.nr_xcrs = 1;
        xcrs.xcrs[0].xcr = 0;
        xcrs.xcrs[0].value = 7; /* x87 | SSE | AVX */
        if (xioctl(hv->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0)
            return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_XCRS: %s", strerror(errno));
    }

    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = st->rip;
    regs.rsp = st->rsp;
    regs.rflags = st->rflags;
    if (xioctl(hv->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_REGS: %s", strerror(errno));
    return GLINT_OK;
}

glint_status hv_create(struct hv **out, void *mem, size_t mem_size, const struct x86_state *st,
                       glint_error *err)
{
    *out = NULL;
    glint_status s = hv_probe(err);
    if (s != GLINT_OK)
        return s;
    struct hv *hv = calloc(1, sizeof *hv);
    if (!hv)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory creating a VM");
    hv->vm_fd = hv->vcpu_fd = -1;

    hv->vm_fd = xioctl(g_kvm.fd, KVM_CREATE_VM, 0);
    if (hv->vm_fd < 0) {
        s = glint_fail(err, errno == ENOMEM ? GLINT_E_NOMEM : GLINT_E_HYPERVISOR,
                       "KVM_CREATE_VM: %s", strerror(errno));
        goto fail;
    }
    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = 0,
        .memory_size = mem_size, .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    if (xioctl(hv->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        s = glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_USER_MEMORY_REGION (%zu bytes): %s",
                       mem_size, strerror(errno));
        goto fail;
    }
    hv->vcpu_fd = xioctl(hv->vm_fd, KVM_CREATE_VCPU, 0);
    if (hv->vcpu_fd < 0) {
        s = glint_fail(err, GLINT_E_HYPERVISOR, "KVM_CREATE_VCPU: %s", strerror(errno));
        goto fail;
    }
    (void)fcntl(hv->vcpu_fd, F_SETFD, FD_CLOEXEC);
    (void)fcntl(hv->vm_fd, F_SETFD, FD_CLOEXEC);
    hv->run_size = g_kvm.run_size;
    void *run = mmap(NULL, hv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, hv->vcpu_fd, 0);
    if (run == MAP_FAILED) {
        s = glint_fail(err, GLINT_E_HYPERVISOR, "mmap of kvm_run: %s", strerror(errno));
        goto fail;
    }
    hv->run = run;
    s = set_state(hv, st, err);
    if (s != GLINT_OK)
        goto fail;
    *out = hv;
    return GLINT_OK;
fail:
    hv_destroy(hv);
    return s;
}

void hv_destroy(struct hv *hv)
{
    if (!hv)
        return;
    if (hv->run)
        munmap(hv->run, hv->run_size);
    if (hv->vcpu_fd >= 0)
        close(hv->vcpu_fd);
    if (hv->vm_fd >= 0)
        close(hv->vm_fd);
    free(hv);
}

void hv_set_immediate_exit(struct hv *hv, int on)
{
    __atomic_store_n(&hv->run->immediate_exit, (uint8_t)(on != 0), __ATOMIC_SEQ_CST);
}

glint_status hv_run(struct hv *hv, struct hv_exit *ex, glint_error *err)
{
    struct kvm_run *run = hv->run;
    if (ioctl(hv->vcpu_fd, KVM_RUN, 0) < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            ex->kind = HV_EXIT_INTR;
            return GLINT_OK;
        }
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_RUN: %s", strerror(errno));
    }
    ex->raw_reason = run->exit_reason;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        ex->kind = HV_EXIT_IO;
        ex->port = run->io.port;
        ex->size = run->io.size;
        ex->is_out = run->io.direction == KVM_EXIT_IO_OUT;
        ex->value = 0;
        if (ex->is_out && run->io.size <= 4 && run->io.count == 1 &&
            run->io.data_offset <= hv->run_size - 4)
            memcpy(&ex->value, (const uint8_t *)run + run->io.data_offset, run->io.size);
        return GLINT_OK;
    case KVM_EXIT_MMIO:
        ex->kind = HV_EXIT_MMIO;
        ex->addr = run->mmio.phys_addr;
        ex->is_out = run->mmio.is_write;
        return GLINT_OK;
    case KVM_EXIT_SHUTDOWN:
        ex->kind = HV_EXIT_SHUTDOWN;
        return GLINT_OK;
    case KVM_EXIT_HLT:
        ex->kind = HV_EXIT_HLT;
        return GLINT_OK;
    case KVM_EXIT_INTR:
        ex->kind = HV_EXIT_INTR;
        return GLINT_OK;
    case KVM_EXIT_FAIL_ENTRY:
        ex->kind = HV_EXIT_OTHER;
        ex->detail = run->fail_entry.hardware_entry_failure_reason;
        return GLINT_OK;
    case KVM_EXIT_INTERNAL_ERROR:
        ex->kind = HV_EXIT_OTHER;
        ex->detail = run->internal.suberror;
        return GLINT_OK;
    default:
        ex->kind = HV_EXIT_OTHER;
        ex->detail = 0;
        return GLINT_OK;
    }
}

glint_status hv_fault_state(struct hv *hv, uint64_t *rip, uint64_t *rsp, uint64_t *cr2,
                            glint_error *err)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (xioctl(hv->vcpu_fd, KVM_GET_REGS, &regs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_GET_REGS: %s", strerror(errno));
    if (xioctl(hv->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_GET_SREGS: %s", strerror(errno));
    *rip = regs.rip;
    *rsp = regs.rsp;
    *cr2 = sregs.cr2;
    return GLINT_OK;
}
