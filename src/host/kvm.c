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
#include <asm/prctl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "hotpages.h"
#include "hv.h"
#include "layout.h"

struct hv {
    uint8_t *mem;
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
    size_t mem_size;
    int kick_out; /* a profiler kick's signal may be on its way (under the run lock) */
    /* Hot pages (hotpages.h): a write fault into KVM costs tens of µs on a
     * nested host.  scratch: the log as KVM gives it. */
    struct glint_hot hot;
    uint64_t *scratch;
    unsigned debug; /* HV_DEBUG_* set with KVM_SET_GUEST_DEBUG (debugger) */
};

/* The MSRs saved in a snapshot: every one a guest could reach. */
static const uint32_t k_msrs[] = {
    0x174, 0x175, 0x176,                    /* SYSENTER_CS/ESP/EIP */
    0x277,                                  /* PAT */
    0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR, LSTAR, CSTAR, SFMASK */
    0xc0000102,                             /* KERNEL_GS_BASE */
    0xc0000103,                             /* TSC_AUX */
};
#define NMSRS (sizeof k_msrs / sizeof k_msrs[0])
/* IA32_APIC_BASE of vCPU 0 after KVM_CREATE_VCPU: xAPIC at 0xfee00000,
 * enabled, bootstrap processor. */
#define KVM_APIC_BASE_BSP 0xfee00900ull

#define CPU_MAGIC 0x4b565843u /* "CXVK" */
#define CPU_VERSION 1u
struct cpu_state {
    uint32_t magic, version;
    uint32_t nmsrs, reserved;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_vcpu_events events;
    struct kvm_debugregs dregs;
    struct kvm_xcrs xcrs;
    struct kvm_xsave xsave;
    struct kvm_msr_entry msrs[NMSRS];
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
    /* A probe VM: /dev/kvm can open on hosts that cannot run one. */
    int vm = xioctl(fd, KVM_CREATE_VM, 0);
    if (vm < 0) {
        glint_fail(err, GLINT_E_NO_KVM, "/dev/kvm opens but cannot create a VM: %s", strerror(errno));
        free(cpuid);
        close(fd);
        return;
    }
    close(vm);
    g_kvm.fd = fd;
    g_kvm.run_size = (size_t)run_size;
    g_kvm.cpuid = cpuid;
    g_kvm.err.status = GLINT_OK;
}

static glint_status kvm_probe(glint_error *err)
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

/* glint's control state (st) into sregs; what KVM owns (APIC base) stays. */
static void boot_sregs(struct kvm_sregs *sregs, const struct x86_state *st)
{
    to_kvm_segment(&sregs->cs, &st->cs);
    to_kvm_segment(&sregs->ds, &st->ds);
    to_kvm_segment(&sregs->es, &st->es);
    to_kvm_segment(&sregs->fs, &st->fs);
    to_kvm_segment(&sregs->gs, &st->gs);
    to_kvm_segment(&sregs->ss, &st->ss);
    to_kvm_segment(&sregs->tr, &st->tr);
    to_kvm_segment(&sregs->ldt, &st->ldt);
    sregs->tr.unusable = 0;
    sregs->gdt.base = st->gdt.base;
    sregs->gdt.limit = st->gdt.limit;
    sregs->idt.base = st->idt.base;
    sregs->idt.limit = st->idt.limit;
    sregs->cr0 = st->cr0;
    sregs->cr3 = st->cr3;
    sregs->cr4 = st->cr4 | (g_kvm.avx ? X86_CR4_OSXSAVE : 0);
    sregs->efer = st->efer;
}

static glint_status set_state(struct hv *hv, const struct x86_state *st, glint_error *err)
{
    if (xioctl(hv->vcpu_fd, KVM_SET_CPUID2, g_kvm.cpuid) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_CPUID2: %s", strerror(errno));

    struct kvm_sregs sregs;
    if (xioctl(hv->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_GET_SREGS: %s", strerror(errno));
    boot_sregs(&sregs, st);
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

static void kvm_destroy(struct hv *hv);

static glint_status kvm_create(struct hv **out, const struct hv_setup *setup, glint_error *err)
{
    void *mem = setup->mem;
    size_t mem_size = setup->mem_size;
    const struct x86_state *st = setup->st;
    *out = NULL;
    glint_status s = kvm_probe(err);
    if (s != GLINT_OK)
        return s;
    struct hv *hv = calloc(1, sizeof *hv);
    if (!hv)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory creating a VM");
    hv->vm_fd = hv->vcpu_fd = -1;
    hv->mem = mem;
    hv->scratch = calloc((mem_size / 4096 + 63) / 64 + 1, sizeof *hv->scratch);
    if (glint_hot_init(&hv->hot, mem_size / 4096) < 0 || !hv->scratch) {
        glint_hot_free(&hv->hot);
        free(hv->scratch);
        free(hv);
        return glint_fail(err, GLINT_E_NOMEM, "out of memory creating a VM");
    }

    hv->vm_fd = xioctl(g_kvm.fd, KVM_CREATE_VM, 0);
    if (hv->vm_fd < 0) {
        s = glint_fail(err, errno == ENOMEM ? GLINT_E_NOMEM : GLINT_E_HYPERVISOR,
                       "KVM_CREATE_VM: %s", strerror(errno));
        goto fail;
    }
    struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
                                 .args = {KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE}};
    if (xioctl(hv->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
        s = glint_fail(err, GLINT_E_HYPERVISOR, "enabling manual dirty-log protection: %s",
                       strerror(errno));
        goto fail;
    }
    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES, .guest_phys_addr = 0,
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
    hv->mem_size = mem_size;
    if (st && (s = set_state(hv, st, err)) != GLINT_OK)
        goto fail;
    else if (!st && xioctl(hv->vcpu_fd, KVM_SET_CPUID2, g_kvm.cpuid) < 0) {
        s = glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_CPUID2: %s", strerror(errno));
        goto fail;
    }
    *out = hv;
    return GLINT_OK;
fail:
    kvm_destroy(hv);
    return s;
}

static void kvm_destroy(struct hv *hv)
{
    if (!hv)
        return;
    if (hv->run)
        munmap(hv->run, hv->run_size);
    if (hv->vcpu_fd >= 0)
        close(hv->vcpu_fd);
    if (hv->vm_fd >= 0)
        close(hv->vm_fd);
    glint_hot_free(&hv->hot);
    free(hv->scratch);
    free(hv);
}

static void kvm_set_immediate_exit(struct hv *hv, int on)
{
    if (!on)
        hv->kick_out = 0; /* the kick was answered, or the run ended */
    __atomic_store_n(&hv->run->immediate_exit, (uint8_t)(on != 0), __ATOMIC_SEQ_CST);
}

/* The run gets one signal (watchdog.c): immediate_exit stays set until the
 * run ends, so a signal that lands outside KVM_RUN is not lost.  With a
 * profiler kick's signal still on its way, immediate_exit alone suffices,
 * and a second signal is what PVM must not get (watchdog.c). */
static void kvm_interrupt(struct hv *hv, pthread_t thread)
{
    kvm_set_immediate_exit(hv, 1);
    if (!hv->kick_out)
        pthread_kill(thread, glint_interrupt_signal());
}

/* A profiler sample: the same exit as an interrupt, one at a time; the
 * vCPU thread clears immediate_exit once it has read the registers. */
static void kvm_kick(struct hv *hv, pthread_t thread)
{
    kvm_set_immediate_exit(hv, 1);
    hv->kick_out = 1;
    pthread_kill(thread, glint_interrupt_signal());
}

static int kvm_sample_regs(struct hv *hv, uint64_t *rip, uint64_t *rsp, uint64_t *rbp)
{
    struct kvm_regs regs;
    if (xioctl(hv->vcpu_fd, KVM_GET_REGS, &regs) < 0)
        return 0;
    *rip = regs.rip, *rsp = regs.rsp, *rbp = regs.rbp;
    return 1;
}

/*
 * PVM runs the guest on the calling thread's own DS/ES/FS/GS selectors and
 * does not switch them (KVM_SET_SREGS does not reach them either): a guest
 * that loads one leaves it to the thread, to its next run after a restore
 * and to any other sandbox run on that thread.  Null them before each run,
 * as on a fresh thread.  Reading them is free; only after a guest loaded
 * FS or GS does this cost system calls (arch_prctl keeps the thread's base).
 */
static void null_thread_selectors(void)
{
    uint16_t ds, es, fs, gs;
    __asm__ volatile("mov %%ds, %0\n\tmov %%es, %1\n\tmov %%fs, %2\n\tmov %%gs, %3"
                     : "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
    if (ds | es)
        __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es" : : "r"(0u));
    unsigned long base;
    if (fs && syscall(SYS_arch_prctl, ARCH_GET_FS, &base) == 0)
        (void)syscall(SYS_arch_prctl, ARCH_SET_FS, base); /* selector 0, same base */
    if (gs && syscall(SYS_arch_prctl, ARCH_GET_GS, &base) == 0)
        (void)syscall(SYS_arch_prctl, ARCH_SET_GS, base);
}

static glint_status kvm_fault_state(struct hv *hv, uint64_t *rip, uint64_t *rsp, uint64_t *cr2,
                                    glint_error *err);

/* The ring-0 stub reported an exception with an OUT to GLINT_PORT_EXCEPTION:
 * the frame is on the exception stack, CR2 still holds a fault address. */
static glint_status exception_exit(struct hv *hv, struct hv_exit *ex, glint_error *err)
{
    uint64_t rip, rsp, cr2;
    glint_status s = kvm_fault_state(hv, &rip, &rsp, &cr2, err);
    if (s != GLINT_OK)
        return s;
    struct glint_exception_frame ef;
    if (rip < GLINT_STUBS_GPA || rip >= GLINT_STUBS_GPA + GLINT_PAGE_SIZE || rsp < GLINT_EXC_STACK_GPA ||
        rsp > GLINT_EXC_STACK_TOP - sizeof ef) {
        ex->kind = HV_EXIT_OTHER;
        snprintf(ex->what, sizeof ex->what, "exception report with a corrupt state (rip 0x%llx, rsp 0x%llx)",
                 (unsigned long long)rip, (unsigned long long)rsp);
        return GLINT_OK;
    }
    memcpy(&ef, hv->mem + rsp, sizeof ef);
    ex->kind = HV_EXIT_EXCEPTION;
    ex->vector = (uint32_t)ef.vector;
    ex->rip = ef.rip;
    ex->rsp = ef.rsp;
    ex->error_code = ef.error_code;
    ex->addr = ef.vector == 14 ? cr2 : 0;
    return GLINT_OK;
}

static _Atomic unsigned long g_debug_exits;

/* KVM_EXIT_DEBUG: an int3 or a single step the debugger asked for
 * (kvm_guest_debug), made to look like the trap the guest's CPU takes. */
static glint_status debug_exit(struct hv *hv, struct hv_exit *ex, glint_error *err)
{
    uint32_t exc = hv->run->debug.arch.exception;
    uint64_t pc = hv->run->debug.arch.pc;
    if (!hv->debug || (exc != 1 && exc != 3)) {
        ex->kind = HV_EXIT_OTHER;
        ex->detail = exc;
        snprintf(ex->what, sizeof ex->what, "unexpected KVM debug exit (exception %u at 0x%llx)", exc,
                 (unsigned long long)pc);
        return GLINT_OK;
    }
    atomic_fetch_add(&g_debug_exits, 1);
    struct kvm_regs regs;
    if (xioctl(hv->vcpu_fd, KVM_GET_REGS, &regs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_GET_REGS: %s", strerror(errno));
    if (exc == 3) {
        /* KVM stops at the int3; the CPU's #BP is a trap: RIP after it. */
        regs.rip = pc + 1;
        if (xioctl(hv->vcpu_fd, KVM_SET_REGS, &regs) < 0)
            return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_REGS: %s", strerror(errno));
    }
    ex->kind = HV_EXIT_EXCEPTION;
    ex->vector = exc;
    ex->rip = regs.rip;
    ex->rsp = regs.rsp;
    return GLINT_OK;
}

static glint_status kvm_run_vcpu(struct hv *hv, struct hv_exit *ex, glint_error *err)
{
    memset(ex, 0, sizeof *ex);
    struct kvm_run *run = hv->run;
    null_thread_selectors();
    int rc, again = 0;
    while ((rc = ioctl(hv->vcpu_fd, KVM_RUN, 0)) < 0 && errno == EAGAIN && ++again < 1000)
        ; /* transient; a KVM that kept answering EAGAIN would be a host fault */
    if (rc < 0) {
        if (errno == EINTR) {
            ex->kind = HV_EXIT_INTR;
            return GLINT_OK;
        }
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_RUN: %s%s", strerror(errno),
                          errno == EAGAIN ? " (1000 times in a row)" : "");
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
        if (ex->is_out && ex->port == GLINT_PORT_EXCEPTION)
            return exception_exit(hv, ex, err);
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
    case KVM_EXIT_DEBUG:
        return debug_exit(hv, ex, err);
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

static glint_status kvm_fault_state(struct hv *hv, uint64_t *rip, uint64_t *rsp, uint64_t *cr2,
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

/* ------------------------------------------------------------------------- */
/* vCPU state for snapshots and restore. */

static uint64_t kvm_guest_rip(struct hv *hv)
{
    uint64_t rip = 0, rsp, cr2;
    if (kvm_fault_state(hv, &rip, &rsp, &cr2, NULL) != GLINT_OK)
        rip = 0;
    return rip;
}

static uint64_t kvm_state_rip(const void *state)
{
    return ((const struct cpu_state *)state)->regs.rip;
}

static void kvm_state_set_rip(void *state, uint64_t rip)
{
    ((struct cpu_state *)state)->regs.rip = rip;
}

static int kvm_state_check(const void *state, char *why, size_t why_size)
{
    const struct cpu_state *c = state;
    if (c->magic != CPU_MAGIC || c->version != CPU_VERSION) {
        snprintf(why, why_size, "vCPU state has format %08x/%u, expected %08x/%u", c->magic,
                 c->version, CPU_MAGIC, CPU_VERSION);
        return 0;
    }
    if (c->nmsrs > NMSRS) {
        snprintf(why, why_size, "vCPU state lists %u MSRs, at most %zu", c->nmsrs, NMSRS);
        return 0;
    }
    for (uint32_t i = 0; i < c->nmsrs; i++) {
        int known = 0;
        for (size_t k = 0; k < NMSRS; k++)
            known |= c->msrs[i].index == k_msrs[k];
        if (!known) {
            snprintf(why, why_size, "vCPU state has MSR 0x%x, which glint never saves", c->msrs[i].index);
            return 0;
        }
    }
    if (c->xcrs.nr_xcrs > 1 || (c->xcrs.nr_xcrs == 1 && c->xcrs.xcrs[0].xcr != 0)) {
        snprintf(why, why_size, "vCPU state has %u extended control registers", c->xcrs.nr_xcrs);
        return 0;
    }
    if (c->xcrs.nr_xcrs == 1 && !g_kvm.avx) {
        snprintf(why, why_size, "the snapshot needs AVX (XCR0 0x%llx), which this host lacks",
                 (unsigned long long)c->xcrs.xcrs[0].value);
        return 0;
    }
    if (c->xcrs.nr_xcrs == 0 && g_kvm.avx) {
        snprintf(why, why_size, "the snapshot was taken on a host without AVX");
        return 0;
    }
    return 1;
}

/* Snapshot files: the neutral state (ucpu.h) and back. */
static void kvm_cpu_export(const void *state, struct ucpu *u)
{
    const struct cpu_state *c = state;
    const struct kvm_regs *r = &c->regs;
    memset(u, 0, sizeof *u);
    u->magic = UCPU_MAGIC;
    u->version = UCPU_VERSION;
    u->r8 = r->r8, u->r9 = r->r9, u->r10 = r->r10, u->r11 = r->r11;
    u->r12 = r->r12, u->r13 = r->r13, u->r14 = r->r14, u->r15 = r->r15;
    u->rdi = r->rdi, u->rsi = r->rsi, u->rbp = r->rbp, u->rbx = r->rbx;
    u->rdx = r->rdx, u->rax = r->rax, u->rcx = r->rcx, u->rsp = r->rsp;
    u->rip = r->rip, u->rflags = r->rflags;
    u->fs_base = c->sregs.fs.base;
    u->gs_base = c->sregs.gs.base;
    const uint8_t *x = (const uint8_t *)c->xsave.region;
    memcpy(u->fx, x, 464); /* 464..511 are the OS's, not the guest's */
    uint64_t bv;
    memcpy(&bv, x + 512, 8);
    u->xstate_bv = bv & (c->xcrs.nr_xcrs ? 7 : 3);
    if (u->xstate_bv & 4)
        memcpy(u->ymmh, x + 576, 256);
}

static glint_status kvm_cpu_import(const struct ucpu *u, const struct glint_layout *lay,
                                   void *state, glint_error *err)
{
    glint_status s = kvm_probe(err);
    if (s != GLINT_OK)
        return s;
    if ((u->xstate_bv & 4) && !g_kvm.avx)
        return glint_fail(err, GLINT_E_INCOMPATIBLE,
                          "the snapshot holds AVX register state, which KVM does not offer on this host");
    struct cpu_state *c = state;
    memset(c, 0, sizeof *c);
    c->magic = CPU_MAGIC;
    c->version = CPU_VERSION;
    struct kvm_regs *r = &c->regs;
    r->r8 = u->r8, r->r9 = u->r9, r->r10 = u->r10, r->r11 = u->r11;
    r->r12 = u->r12, r->r13 = u->r13, r->r14 = u->r14, r->r15 = u->r15;
    r->rdi = u->rdi, r->rsi = u->rsi, r->rbp = u->rbp, r->rbx = u->rbx;
    r->rdx = u->rdx, r->rax = u->rax, r->rcx = u->rcx, r->rsp = u->rsp;
    r->rip = u->rip, r->rflags = u->rflags;
    /* glint's own control state, as x86_setup gives every guest. */
    struct x86_state st;
    x86_boot_state(lay, u->rip, &st);
    boot_sregs(&c->sregs, &st);
    c->sregs.fs.base = u->fs_base;
    c->sregs.gs.base = u->gs_base;
    c->sregs.apic_base = KVM_APIC_BASE_BSP; /* what KVM gives vCPU 0 */
    /* Nothing pending; debug registers at their reset values; MSRs as a
     * fresh vCPU has them (ring 3 cannot change any). */
    c->events.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
    c->dregs.dr6 = 0xffff0ff0;
    c->dregs.dr7 = 0x400;
    c->nmsrs = 0;
    if (g_kvm.avx) {
        c->xcrs.nr_xcrs = 1;
        c->xcrs.xcrs[0].xcr = 0;
        c->xcrs.xcrs[0].value = 7;
    }
    uint8_t *x = (uint8_t *)c->xsave.region;
    memcpy(x, u->fx, 512);
    uint64_t bv = u->xstate_bv & (g_kvm.avx ? 7 : 3);
    memcpy(x + 512, &bv, 8);
    if (bv & 4)
        memcpy(x + 576, u->ymmh, 256);
    return GLINT_OK;
}

static glint_status kvm_save_cpu(struct hv *hv, void *state, glint_error *err)
{
    struct cpu_state *c = state;
    memset(c, 0, sizeof *c);
    c->magic = CPU_MAGIC;
    c->version = CPU_VERSION;
    if (xioctl(hv->vcpu_fd, KVM_GET_REGS, &c->regs) < 0 ||
        xioctl(hv->vcpu_fd, KVM_GET_SREGS, &c->sregs) < 0 ||
        xioctl(hv->vcpu_fd, KVM_GET_VCPU_EVENTS, &c->events) < 0 ||
        xioctl(hv->vcpu_fd, KVM_GET_DEBUGREGS, &c->dregs) < 0 ||
        xioctl(hv->vcpu_fd, KVM_GET_XSAVE, &c->xsave) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "reading vCPU state: %s", strerror(errno));
    if (g_kvm.avx && xioctl(hv->vcpu_fd, KVM_GET_XCRS, &c->xcrs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_GET_XCRS: %s", strerror(errno));
    /* A restore through sync regs is applied by the next KVM_RUN; until
     * then KVM_GET_* return the state it replaces.  The pending one is the
     * vCPU's state. */
    const struct kvm_run *run = hv->run;
    if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS)
        c->regs = run->s.regs.regs;
    if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS)
        c->sregs = run->s.regs.sregs;
    if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS)
        c->events = run->s.regs.events;
    if (!g_kvm.avx)
        c->xcrs.nr_xcrs = 0;
    else if (c->xcrs.nr_xcrs > 1)
        c->xcrs.nr_xcrs = 1; /* XCR0 only */
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[NMSRS];
    } m;
    memset(&m, 0, sizeof m);
    m.hdr.nmsrs = NMSRS;
    for (size_t i = 0; i < NMSRS; i++)
        m.e[i].index = k_msrs[i];
    int n = xioctl(hv->vcpu_fd, KVM_GET_MSRS, &m);
    if (n < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_GET_MSRS: %s", strerror(errno));
    /* KVM stops at the first MSR it does not support: keep those it read. */
    c->nmsrs = (uint32_t)n;
    memcpy(c->msrs, m.e, (size_t)n * sizeof m.e[0]);
    /* Nothing may be pending in a snapshot. */
    c->events.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
    return GLINT_OK;
}

static glint_status restore_full(struct hv *hv, const struct cpu_state *c, glint_error *err)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[NMSRS];
    } m;
    memset(&m, 0, sizeof m);
    m.hdr.nmsrs = c->nmsrs;
    memcpy(m.e, c->msrs, c->nmsrs * sizeof m.e[0]);
    struct kvm_vcpu_events ev = c->events;
    if (xioctl(hv->vcpu_fd, KVM_SET_SREGS, (void *)&c->sregs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_SREGS: %s", strerror(errno));
    if (c->xcrs.nr_xcrs && xioctl(hv->vcpu_fd, KVM_SET_XCRS, (void *)&c->xcrs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_XCRS: %s", strerror(errno));
    if (xioctl(hv->vcpu_fd, KVM_SET_XSAVE, (void *)&c->xsave) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_XSAVE: %s", strerror(errno));
    if (xioctl(hv->vcpu_fd, KVM_SET_MSRS, &m) != (int)c->nmsrs)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_MSRS: could not restore all %u MSRs",
                          c->nmsrs);
    if (xioctl(hv->vcpu_fd, KVM_SET_DEBUGREGS, (void *)&c->dregs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_DEBUGREGS: %s", strerror(errno));
    if (xioctl(hv->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_VCPU_EVENTS: %s", strerror(errno));
    if (xioctl(hv->vcpu_fd, KVM_SET_REGS, (void *)&c->regs) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_REGS: %s", strerror(errno));
    hv->run->kvm_dirty_regs = 0;
    return GLINT_OK;
}

static glint_status kvm_restore_cpu(struct hv *hv, const void *state, int full, glint_error *err)
{
    const struct cpu_state *c = state;
    if (full)
        return restore_full(hv, c, err);
    if (xioctl(hv->vcpu_fd, KVM_SET_XSAVE, (void *)&c->xsave) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_XSAVE: %s", strerror(errno));
    /* Applied by KVM at the start of the next KVM_RUN. */
    hv->run->s.regs.regs = c->regs;
    hv->run->s.regs.sregs = c->sregs;
    hv->run->s.regs.events = c->events;
    hv->run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
    return GLINT_OK;
}

static glint_status kvm_dirty_pages(struct hv *hv, uint64_t *bitmap, glint_error *err)
{
    uint64_t pages = hv->mem_size / 4096;
    uint64_t words = (pages + 63) / 64, *clear_bits = hv->scratch;
    struct kvm_dirty_log log = {.slot = 0};
    log.dirty_bitmap = clear_bits;
    if (xioctl(hv->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
    /* The log's pages and the hot ones are reported; only the others are
     * protected again. */
    memset(bitmap, 0, words * sizeof *bitmap);
    if (!glint_hot_fold(&hv->hot, clear_bits, bitmap, words))
        return GLINT_OK;
    struct kvm_clear_dirty_log clear = {.slot = 0, .first_page = 0,
                                        .num_pages = (uint32_t)((pages + 63) & ~63ull)};
    clear.dirty_bitmap = clear_bits;
    if (clear.num_pages > pages)
        clear.num_pages = (uint32_t)pages; /* the last chunk may end with the slot */
    if (xioctl(hv->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0)
        return glint_fail(err, GLINT_E_HYPERVISOR, "KVM_CLEAR_DIRTY_LOG: %s", strerror(errno));
    return GLINT_OK;
}

static int differs(const void *a, const void *b, size_t n, const char *what, char *why, size_t why_size)
{
    if (memcmp(a, b, n) == 0)
        return 0;
    const uint8_t *x = a, *y = b;
    size_t i = 0;
    while (x[i] == y[i])
        i++;
    snprintf(why, why_size, "%s differs at byte %zu (0x%02x, expected 0x%02x)", what, i, x[i], y[i]);
    return 1;
}

static int kvm_debug_cpu_matches(struct hv *hv, const void *state, char *why, size_t why_size)
{
    const struct cpu_state *want = state;
    struct cpu_state *now = malloc(sizeof *now);
    if (!now || kvm_save_cpu(hv, now, NULL) != GLINT_OK) {
        snprintf(why, why_size, "cannot read the vCPU state");
        free(now);
        return 0;
    }
    struct kvm_run *run = hv->run;
    if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS)
        now->regs = run->s.regs.regs;
    if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS)
        now->sregs = run->s.regs.sregs;
    int bad = differs(&now->regs, &want->regs, sizeof now->regs, "general registers", why, why_size) ||
              differs(&now->sregs, &want->sregs, sizeof now->sregs, "segment/control registers", why,
                      why_size) ||
              differs(&now->dregs, &want->dregs, sizeof now->dregs, "debug registers", why, why_size) ||
              differs(&now->xcrs, &want->xcrs, sizeof now->xcrs, "XCR0", why, why_size) ||
              /* An imported state (nmsrs 0) leaves the vCPU's MSRs as they are. */
              (want->nmsrs &&
               (differs(&now->nmsrs, &want->nmsrs, sizeof now->nmsrs, "MSR count", why, why_size) ||
                differs(now->msrs, want->msrs, sizeof now->msrs, "MSRs", why, why_size))) ||
              /* x87 and SSE state and XMM0-15; then the upper halves of YMM0-15 */
              differs(now->xsave.region, want->xsave.region, 416, "FPU/SSE state", why, why_size) ||
              differs((const uint8_t *)now->xsave.region + 576, (const uint8_t *)want->xsave.region + 576,
                      256, "AVX state", why, why_size);
    free(now);
    return !bad;
}

/*
 * The debugger's single steps and breakpoints through KVM_SET_GUEST_DEBUG:
 * KVM intercepts int3 and the single-step #DB, so the guest's exception
 * path never runs.  gdbstub.c sets TF itself for a step all the same: KVM
 * keeps its own TF only while RIP stays where the step was armed, and a
 * debugger moves RIP (back to a breakpoint's address, or anywhere).  Not every
 * KVM stops ring-3 code this way (PVM, for one, delivers the guest's #DB
 * and #BP to the guest's IDT), so a probe VM tries it once per process:
 * ring-3 code "nop; int3; nop; out" must stop after the nop (step), at
 * the int3 (breakpoint), after the second nop once RIP is written past
 * the int3 with TF set (the debugger's own step, below), then reach the
 * OUT with stepping off.  Where it
 * does not, the debugger uses the trap flag and int3 through the guest's
 * own IDT, as on the process backend.
 */
static struct {
    pthread_once_t once;
    int ok;
    char why[200];
} g_gdbg = {.once = PTHREAD_ONCE_INIT};

static int set_guest_debug(int vcpu_fd, unsigned flags)
{
    struct kvm_guest_debug d;
    memset(&d, 0, sizeof d);
    if (flags)
        d.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP |
                    (flags & HV_DEBUG_STEP ? KVM_GUESTDBG_SINGLESTEP : 0);
    return xioctl(vcpu_fd, KVM_SET_GUEST_DEBUG, &d);
}

/* One KVM_RUN of the probe VM: 1 if it ended as expected, else 0 with why. */
static int probe_step(struct hv *hv, uint32_t reason, uint32_t exc, uint64_t at, const char *what)
{
    int rc = xioctl(hv->vcpu_fd, KVM_RUN, 0);
    struct kvm_run *run = hv->run;
    if (rc < 0) {
        snprintf(g_gdbg.why, sizeof g_gdbg.why, "KVM guest debug: %s: KVM_RUN: %s", what,
                 strerror(errno));
        return 0;
    }
    if (run->exit_reason == reason && reason == KVM_EXIT_IO) {
        if (run->io.port == GLINT_PORT_DONE)
            return 1;
        snprintf(g_gdbg.why, sizeof g_gdbg.why, "KVM guest debug: %s: OUT to port 0x%x", what,
                 run->io.port);
        return 0;
    }
    if (run->exit_reason == reason && run->debug.arch.exception == exc && run->debug.arch.pc == at)
        return 1;
    uint64_t pc = run->debug.arch.pc;
    int in_stub = pc >= GLINT_STUBS_GPA && pc < GLINT_STUBS_GPA + GLINT_PAGE_SIZE;
    if (run->exit_reason == KVM_EXIT_DEBUG && in_stub)
        snprintf(g_gdbg.why, sizeof g_gdbg.why,
                 "KVM guest debug: %s went to the guest's own IDT (stopped in its ring-0 stub at 0x%llx)",
                 what, (unsigned long long)pc);
    else if (run->exit_reason == KVM_EXIT_DEBUG)
        snprintf(g_gdbg.why, sizeof g_gdbg.why,
                 "KVM guest debug: %s: expected a debug exit at 0x%llx, got exception %u at 0x%llx", what,
                 (unsigned long long)at, run->debug.arch.exception, (unsigned long long)pc);
    else
        snprintf(g_gdbg.why, sizeof g_gdbg.why,
                 "KVM guest debug: %s: expected a debug exit at 0x%llx, got KVM exit %u", what,
                 (unsigned long long)at, run->exit_reason);
    return 0;
}

static void guest_debug_probe_once(void)
{
    glint_error e;
    if (kvm_probe(&e) != GLINT_OK) {
        snprintf(g_gdbg.why, sizeof g_gdbg.why, "%.180s", e.message);
        return;
    }
    glint_config cfg;
    glint_config_default(&cfg);
    const uint64_t b = GLINT_IMAGE_BASE;
    struct glint_layout lay;
    if (glint_layout_compute(&cfg, b + GLINT_PAGE_SIZE, &lay, &e) != GLINT_OK) {
        snprintf(g_gdbg.why, sizeof g_gdbg.why, "probe layout: %.160s", e.message);
        return;
    }
    uint8_t *mem = mmap(NULL, lay.mem_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        snprintf(g_gdbg.why, sizeof g_gdbg.why, "probe memory: %s", strerror(errno));
        return;
    }
    /* nop; int3; nop; out GLINT_PORT_DONE, al; hlt (ring 3: #GP, which the
     * exception stub reports with an OUT: the probe can never spin). */
    static const uint8_t code[] = {0x90, 0xcc, 0x90, 0xe6, GLINT_PORT_DONE, 0xf4};
    memcpy(mem + b, code, sizeof code);
    struct glint_region r = {b, GLINT_PAGE_SIZE, GLINT_MAP_USER | GLINT_MAP_EXEC};
    struct x86_state st;
    x86_setup(mem, &lay, &r, 1, b, 1, &st);
    struct hv_setup setup = {mem, (size_t)lay.mem_size, -1, &lay, &st, NULL, -1, 0};
    struct hv *hv = NULL;
    struct kvm_regs regs;
    if (kvm_create(&hv, &setup, &e) != GLINT_OK)
        snprintf(g_gdbg.why, sizeof g_gdbg.why, "probe VM: %.160s", e.message);
    else if (set_guest_debug(hv->vcpu_fd, HV_DEBUG_BP | HV_DEBUG_STEP) < 0)
        snprintf(g_gdbg.why, sizeof g_gdbg.why, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
    else if (probe_step(hv, KVM_EXIT_DEBUG, 1, b + 1, "single step of ring-3 code") &&
             probe_step(hv, KVM_EXIT_DEBUG, 3, b + 1, "int3 in ring-3 code")) {
        /* As gdbstub.c steps on from a breakpoint: RIP written (past the
         * int3) with TF set, the step armed before: it stops after the nop. */
        int ok = xioctl(hv->vcpu_fd, KVM_GET_REGS, &regs) == 0;
        regs.rip = b + 2;
        regs.rflags |= 0x100;
        if (!ok || xioctl(hv->vcpu_fd, KVM_SET_REGS, &regs) < 0)
            snprintf(g_gdbg.why, sizeof g_gdbg.why, "probe VM registers: %s", strerror(errno));
        else if (probe_step(hv, KVM_EXIT_DEBUG, 1, b + 3, "single step after a register write")) {
            /* Stepping off, TF cleared: on to the OUT. */
            ok = set_guest_debug(hv->vcpu_fd, HV_DEBUG_BP) == 0 &&
                 xioctl(hv->vcpu_fd, KVM_GET_REGS, &regs) == 0;
            regs.rflags &= ~0x100ull;
            if (!ok || xioctl(hv->vcpu_fd, KVM_SET_REGS, &regs) < 0)
                snprintf(g_gdbg.why, sizeof g_gdbg.why, "probe VM registers: %s", strerror(errno));
            else if (probe_step(hv, KVM_EXIT_IO, 0, 0, "continuing after the steps"))
                g_gdbg.ok = 1;
        }
    }
    kvm_destroy(hv);
    munmap(mem, lay.mem_size);
}

static int kvm_guest_debug(struct hv *hv, unsigned flags, glint_error *err)
{
    pthread_once(&g_gdbg.once, guest_debug_probe_once);
    if (!g_gdbg.ok)
        return 0;
    if (flags == hv->debug)
        return 1;
    if (set_guest_debug(hv->vcpu_fd, flags) < 0) {
        glint_fail(err, GLINT_E_HYPERVISOR, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
        return -1;
    }
    hv->debug = flags;
    return 1;
}

int glint_debug_kvm_guest_debug(char *why, size_t why_size)
{
    pthread_once(&g_gdbg.once, guest_debug_probe_once);
    if (why_size)
        snprintf(why, why_size, "%s", g_gdbg.ok ? "" : g_gdbg.why);
    return g_gdbg.ok;
}

unsigned long glint_debug_kvm_debug_exits(void)
{
    return atomic_load(&g_debug_exits);
}

static char g_describe[320];

static void describe_once(void)
{
    pthread_once(&g_gdbg.once, guest_debug_probe_once);
    snprintf(g_describe, sizeof g_describe, "KVM micro-VM%s; debugger: %s%s%s",
             g_kvm.avx ? " (AVX enabled)" : "",
             g_gdbg.ok ? "KVM guest debug" : "trap flag and int3 through the guest's IDT (",
             g_gdbg.ok ? "" : g_gdbg.why, g_gdbg.ok ? "" : ")");
}

static const char *kvm_describe(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    glint_error e;
    if (kvm_probe(&e) != GLINT_OK)
        return g_kvm.err.message;
    pthread_once(&once, describe_once);
    return g_describe;
}

static int kvm_debug_pid(struct hv *hv)
{
    (void)hv;
    return 0;
}

const struct hv_ops hv_kvm_ops = {
    .name = "kvm",
    .id = GLINT_BACKEND_KVM,
    .shared_memory = 0,
    .uses_cpu_tables = 1,
    .cpu_state_format = "kvm-x86_64-v1",
    .cpu_state_size = sizeof(struct cpu_state),
    .probe = kvm_probe,
    .create = kvm_create,
    .destroy = kvm_destroy,
    .run = kvm_run_vcpu,
    .interrupt = kvm_interrupt,
    .set_immediate_exit = kvm_set_immediate_exit,
    .guest_rip = kvm_guest_rip,
    .kick = kvm_kick,
    .sample_regs = kvm_sample_regs,
    .save_cpu = kvm_save_cpu,
    .restore_cpu = kvm_restore_cpu,
    .cpu_state_rip = kvm_state_rip,
    .cpu_state_set_rip = kvm_state_set_rip,
    .cpu_state_check = kvm_state_check,
    .cpu_export = kvm_cpu_export,
    .cpu_import = kvm_cpu_import,
    .dirty_pages = kvm_dirty_pages,
    .debug_cpu_matches = kvm_debug_cpu_matches,
    .describe = kvm_describe,
    .debug_pid = kvm_debug_pid,
    .guest_debug = kvm_guest_debug,
};
