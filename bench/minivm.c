/*
 * minivm.c - the benchmark's minimal KVM VMM; see minivm.h.
 *
 * Guest memory map (64 KiB, identity mapped, page 0 not present):
 *   0x1000 PML4   0x2000 PDPT   0x3000 PD   0x4000 PT
 *   0x5000 GDT    0x6000 TSS + I/O bitmap (ports 0..255, MINIVM_PORT open)
 *   0x7000 IDT: only vector 1 (#DB), whose ring-0 handler at 0x7800 counts
 *          traps in the data page (MINIVM_TRAPS_GPA) and returns: with the
 *          trap flag set this counts the guest's instructions
 *   0x8000 code   0x9000 data   0xA000..0x10000 stack (RSP at the top; the
 *          #DB handler's ring-0 stack is the same page range, RSP0 = 0xF000)
 * Every present entry has U/S set at every level when the guest runs at
 * CPL 3 (PVM.md), so ring-3 code may touch all of it; any other fault is a
 * triple fault (shutdown).  Only the fixed programs below ever run here.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "minivm.h"

#define PML4 0x1000u
#define PDPT 0x2000u
#define PD   0x3000u
#define PT   0x4000u
#define GDT  0x5000u
#define TSS  0x6000u
#define IDT  0x7000u
#define DB_HANDLER 0x7800u
#define STACK_TOP 0x10000u
#define RSP0 0xF000u

#define SEL_KCODE 0x10u
#define SEL_KDATA 0x18u
#define SEL_UDATA 0x2bu
#define SEL_UCODE 0x33u
#define SEL_TSS   0x40u
#define TSS_IOMAP 0x68u
#define TSS_LIMIT (TSS_IOMAP + 32u) /* 104-byte TSS, 32-byte bitmap, 0xFF end byte */

/* out %al,$0x10 ; jmp .-2 */
const uint8_t minivm_code_outloop[] = {0xe6, MINIVM_PORT, 0xeb, 0xfc};
const size_t minivm_code_outloop_len = sizeof minivm_code_outloop;

/* 0: mov 0x9000,%rcx   8: dec %rcx   11: jnz 8   13: out %al,$0x10   15: jmp 0 */
const uint8_t minivm_code_countloop[] = {
    0x48, 0x8b, 0x0c, 0x25, 0x00, 0x90, 0x00, 0x00,
    0x48, 0xff, 0xc9,
    0x75, 0xfb,
    0xe6, MINIVM_PORT,
    0xeb, 0xef,
};
const size_t minivm_code_countloop_len = sizeof minivm_code_countloop;

/* #DB handler, ring 0: incq MINIVM_TRAPS_GPA ; iretq */
static const uint8_t db_handler[] = {0x48, 0xff, 0x04, 0x25, 0x00, 0x91, 0x00, 0x00, 0x48, 0xcf};

static int g_kvm = -1;
static int g_run_size;
static struct kvm_sregs g_sregs_template;
static int g_have_template;

int minivm_init(char *why, size_t len)
{
    if (g_kvm >= 0)
        return 0;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, len, "cannot open /dev/kvm: %s", strerror(errno));
        return -1;
    }
    if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        snprintf(why, len, "/dev/kvm: KVM_GET_API_VERSION is not %d", KVM_API_VERSION);
        close(fd);
        return -1;
    }
    g_run_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (g_run_size < (int)sizeof(struct kvm_run)) {
        snprintf(why, len, "/dev/kvm: bad vCPU mmap size");
        close(fd);
        return -1;
    }
    g_kvm = fd;
    return 0;
}

int minivm_kvm_fd(void) { return g_kvm; }

static void put64(uint8_t *mem, uint32_t gpa, uint64_t v) { memcpy(mem + gpa, &v, 8); }

static uint64_t seg_desc(unsigned dpl, int code)
{
    return 0xffffull | (uint64_t)(code ? 0xb : 0x3) << 40 | 1ull << 44 | (uint64_t)dpl << 45 |
           1ull << 47 | 0xfull << 48 | (code ? 1ull << 53 : 1ull << 54) | 1ull << 55;
}

static void build_memory(uint8_t *mem, int ring, const uint8_t *code, size_t len)
{
    const uint64_t u = ring == 3 ? 4u : 0u, pw = 3u; /* present | writable (| user) */
    put64(mem, PML4, PDPT | pw | u);
    put64(mem, PDPT, PD | pw | u);
    put64(mem, PD, PT | pw | u);
    for (uint32_t a = 0x1000; a < MINIVM_MEM; a += 0x1000)
        put64(mem, PT + (a >> 12) * 8, a | pw | u);

    put64(mem, GDT + SEL_KCODE, seg_desc(0, 1));
    put64(mem, GDT + SEL_KDATA, seg_desc(0, 0));
    put64(mem, GDT + (SEL_UDATA & ~3u), seg_desc(3, 0));
    put64(mem, GDT + (SEL_UCODE & ~3u), seg_desc(3, 1));
    put64(mem, GDT + SEL_TSS, (TSS_LIMIT & 0xffffull) | (uint64_t)TSS << 16 | 0xbull << 40 |
                                  1ull << 47);

    uint64_t gate_lo = (DB_HANDLER & 0xffffull) | (uint64_t)SEL_KCODE << 16 | 0x8eull << 40 |
                       (uint64_t)(DB_HANDLER >> 16) << 48;
    put64(mem, IDT + 16, gate_lo);
    memcpy(mem + DB_HANDLER, db_handler, sizeof db_handler);
    put64(mem, TSS + 4, RSP0);

    uint16_t iomap = TSS_IOMAP;
    memcpy(mem + TSS + 0x66, &iomap, 2);
    memset(mem + TSS + TSS_IOMAP, 0xff, 33);
    mem[TSS + TSS_IOMAP + MINIVM_PORT / 8] &= (uint8_t)~(1u << (MINIVM_PORT % 8));

    memcpy(mem + MINIVM_CODE_GPA, code, len);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, unsigned dpl, int code)
{
    memset(s, 0, sizeof *s);
    s->limit = 0xffffffffu;
    s->selector = sel;
    s->type = code ? 0xb : 0x3;
    s->present = 1;
    s->dpl = (uint8_t)dpl;
    s->db = code ? 0 : 1;
    s->s = 1;
    s->l = code ? 1 : 0;
    s->g = 1;
}

static int setup_vcpu(struct minivm *vm, int ring, char *why, size_t len)
{
    if (!g_have_template) {
        if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &g_sregs_template) < 0) {
            snprintf(why, len, "KVM_GET_SREGS: %s", strerror(errno));
            return -1;
        }
        g_have_template = 1;
    }
    struct kvm_sregs sr = g_sregs_template;
    unsigned dpl = ring == 3 ? 3 : 0;
    set_seg(&sr.cs, ring == 3 ? SEL_UCODE : SEL_KCODE, dpl, 1);
    set_seg(&sr.ss, ring == 3 ? SEL_UDATA : SEL_KDATA, dpl, 0);
    sr.ds = sr.es = sr.fs = sr.gs = sr.ss;
    memset(&sr.tr, 0, sizeof sr.tr);
    sr.tr.base = TSS;
    sr.tr.limit = TSS_LIMIT;
    sr.tr.selector = SEL_TSS;
    sr.tr.type = 0xb;
    sr.tr.present = 1;
    sr.gdt.base = GDT;
    sr.gdt.limit = SEL_TSS + 15;
    sr.idt.base = IDT;
    sr.idt.limit = 2 * 16 - 1;
    sr.cr0 = 0x80050033;
    sr.cr3 = PML4;
    sr.cr4 = 0x620;
    sr.efer = 0xd01;
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sr) < 0) {
        snprintf(why, len, "KVM_SET_SREGS: %s", strerror(errno));
        return -1;
    }
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = MINIVM_CODE_GPA;
    regs.rsp = STACK_TOP;
    regs.rflags = 2;
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0) {
        snprintf(why, len, "KVM_SET_REGS: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int minivm_create(struct minivm *vm, int ring, const uint8_t *code, size_t len,
                  struct minivm_phases *ph, char *why, size_t whylen)
{
    struct minivm_phases local;
    if (!ph)
        ph = &local;
    memset(vm, 0, sizeof *vm);
    vm->vm_fd = vm->vcpu_fd = -1;
    if (minivm_init(why, whylen) < 0)
        return -1;
    uint64_t t0 = now_ns();
    vm->vm_fd = ioctl(g_kvm, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        snprintf(why, whylen, "KVM_CREATE_VM: %s", strerror(errno));
        goto fail;
    }
    uint64_t t1 = now_ns();
    void *mem = mmap(NULL, MINIVM_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        snprintf(why, whylen, "mmap of guest memory: %s", strerror(errno));
        goto fail;
    }
    vm->mem = mem;
    build_memory(vm->mem, ring, code, len);
    uint64_t t2 = now_ns();
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = MINIVM_MEM,
        .userspace_addr = (uint64_t)(uintptr_t)vm->mem,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        snprintf(why, whylen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
        goto fail;
    }
    uint64_t t3 = now_ns();
    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0) {
        snprintf(why, whylen, "KVM_CREATE_VCPU: %s", strerror(errno));
        goto fail;
    }
    void *run = mmap(NULL, (size_t)g_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
    if (run == MAP_FAILED) {
        snprintf(why, whylen, "mmap of kvm_run: %s", strerror(errno));
        goto fail;
    }
    vm->run = run;
    uint64_t t4 = now_ns();
    if (setup_vcpu(vm, ring, why, whylen) < 0)
        goto fail;
    uint64_t t5 = now_ns();
    *ph = (struct minivm_phases){t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4};
    return 0;
fail:
    minivm_destroy(vm);
    return -1;
}

int minivm_run(struct minivm *vm)
{
    if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0)
        return -1;
    return (int)vm->run->exit_reason;
}

int minivm_run_to_out(struct minivm *vm, char *why, size_t len)
{
    for (;;) {
        int r = minivm_run(vm);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == KVM_EXIT_IO && vm->run->io.port == MINIVM_PORT)
            return 0;
        if (r < 0)
            snprintf(why, len, "KVM_RUN: %s", strerror(errno));
        else
            snprintf(why, len, "unexpected exit reason %d (wanted an OUT to port 0x%x)", r,
                     MINIVM_PORT);
        return -1;
    }
}

int minivm_set_trap_flag(struct minivm *vm, int on)
{
    struct kvm_regs regs;
    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
        return -1;
    regs.rflags = on ? regs.rflags | 0x100u : regs.rflags & ~(uint64_t)0x100u;
    return ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs);
}

void minivm_destroy(struct minivm *vm)
{
    if (vm->run)
        munmap(vm->run, (size_t)g_run_size);
    if (vm->vcpu_fd >= 0)
        close(vm->vcpu_fd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->mem)
        munmap(vm->mem, MINIVM_MEM);
    memset(vm, 0, sizeof *vm);
    vm->vm_fd = vm->vcpu_fd = -1;
}
