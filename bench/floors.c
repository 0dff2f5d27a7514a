/*
 * floors.c - the KVM floors, measured with the bench's own minimal VM
 * (minivm.c), in the same run as everything else:
 *
 *   kvm_exit_roundtrip[_ring0]  one KVM_RUN of a guest looping on `out`: one
 *                               guest->host->guest crossing, kvm_run mmap only
 *   kvm_vm_lifecycle[.part]     create VM, memory, vCPU, first run, destroy
 *   guest_insn_cost_ring3/0     ns per iteration of a dec/jnz loop
 *   kvm_vm_density              MemAvailable delta per live minimal VM
 *
 * and then the jailed-process floors (jailer.c), which need no /dev/kvm.
 *
 * guest_insns is only ever a count this run made (single-step or trap
 * flag); where counting fails it is left out and the note says "not
 * measured" and why, never a number by construction.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "jailer.h"
#include "kvmstats.h"
#include "minivm.h"

/* How guest instructions were (or could not be) counted, per ring. */
static struct {
    int works;
    char method[80];
    char why[420];
} g_count[4];

/* Runs `vm` single-stepping with KVM_GUESTDBG_SINGLESTEP until an OUT to
 * MINIVM_PORT: returns the number of debug exits, or -1 with a reason. */
static long kvm_step_to_out(struct minivm *vm, char *why, size_t len)
{
    struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};
    if (ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
        snprintf(why, len, "KVM_SET_GUEST_DEBUG(SINGLESTEP): %s", strerror(errno));
        return -1;
    }
    long steps = 0;
    for (long guard = 0; guard < 100000; guard++) {
        int r = minivm_run(vm);
        if (r == KVM_EXIT_DEBUG) {
            steps++;
            continue;
        }
        dbg.control = 0;
        ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg);
        if (r == KVM_EXIT_IO)
            return steps;
        snprintf(why, len, "KVM single-step ended in exit %d (%s)", r,
                 r < 0 ? strerror(errno) : "not the OUT");
        return -1;
    }
    snprintf(why, len, "KVM single-step never reached the OUT");
    return -1;
}

/* The same with RFLAGS.TF set: the guest's own #DB handler counts a trap
 * per instruction (minivm.c) and the host reads the count. */
static long trap_flag_to_out(struct minivm *vm, char *why, size_t len)
{
    uint64_t zero = 0, traps;
    memcpy(vm->mem + MINIVM_TRAPS_GPA, &zero, 8);
    if (minivm_set_trap_flag(vm, 1) < 0) {
        snprintf(why, len, "KVM_SET_REGS: %s", strerror(errno));
        return -1;
    }
    int r = minivm_run_to_out(vm, why, len);
    minivm_set_trap_flag(vm, 0);
    if (r < 0)
        return -1;
    memcpy(&traps, vm->mem + MINIVM_TRAPS_GPA, 8);
    return (long)traps;
}

typedef long (*counter_fn)(struct minivm *, char *, size_t);

/* Calibrates `count` on the count loop (3 + 2N instructions per exit): the
 * counts for N = 1 and N = 10 must differ by exactly 18.  Returns the
 * offset to add (0 or 1: whether the OUT that ends a trip is seen), or -1. */
static long calibrate(counter_fn count, int ring, char *why, size_t len)
{
    struct minivm cal;
    if (minivm_create(&cal, ring, minivm_code_countloop, minivm_code_countloop_len, NULL, why,
                      len) < 0)
        return -1;
    uint64_t n1 = 1, n2 = 10;
    memcpy(cal.mem + MINIVM_DATA_GPA, &n1, 8);
    long a = minivm_run_to_out(&cal, why, len) < 0 ? -1 : count(&cal, why, len);
    memcpy(cal.mem + MINIVM_DATA_GPA, &n2, 8);
    long b = a < 0 ? -1 : count(&cal, why, len);
    minivm_destroy(&cal);
    if (a < 0 || b < 0)
        return -1;
    long offset = (long)MINIVM_COUNTLOOP_INSNS(n1) - a;
    if (b + offset != (long)MINIVM_COUNTLOOP_INSNS(n2) || offset < 0 || offset > 1) {
        snprintf(why, len, "counts do not add up (%ld and %ld for %llu and %llu insns)", a, b,
                 (unsigned long long)MINIVM_COUNTLOOP_INSNS(n1),
                 (unsigned long long)MINIVM_COUNTLOOP_INSNS(n2));
        return -1;
    }
    return offset;
}

/* Counts the instructions of one trip around `vm`'s program, or -1 (then
 * g_count[ring].why says why).  KVM single-step first; on PVM, ring-3
 * single-step delivers the #DB into the guest (a triple fault without a
 * guest handler, and a kernel trace dump), so there only the trap-flag
 * method is tried. */
static long count_insns(struct minivm *vm, int ring)
{
    char why1[200] = "", why2[200] = "";
    int pvm3 = ring == 3 && strcmp(machine_kvm_module(), "kvm_pvm") == 0;
    if (pvm3)
        snprintf(why1, sizeof why1, "KVM single-step of ring-3 code on PVM delivers #DB into "
                                    "the guest instead of exiting");
    long off = pvm3 ? -1 : calibrate(kvm_step_to_out, ring, why1, sizeof why1);
    if (off >= 0) {
        long s = kvm_step_to_out(vm, why1, sizeof why1);
        if (s >= 0) {
            g_count[ring].works = 1;
            snprintf(g_count[ring].method, sizeof g_count[ring].method, "KVM single-step");
            return s + off;
        }
    }
    off = calibrate(trap_flag_to_out, ring, why2, sizeof why2);
    if (off >= 0) {
        long s = trap_flag_to_out(vm, why2, sizeof why2);
        if (s >= 0) {
            g_count[ring].works = 1;
            snprintf(g_count[ring].method, sizeof g_count[ring].method,
                     "trap flag + guest #DB handler");
            snprintf(g_count[ring].why, sizeof g_count[ring].why, "%s", why1);
            return s + off;
        }
    }
    snprintf(g_count[ring].why, sizeof g_count[ring].why, "%s; trap flag: %s", why1, why2);
    return -1;
}

/* Sets exits and insn_emulation of r (per sample) from stats-fd deltas. */
static void set_counts(struct result *r, const struct vstats *vs, int64_t exits0, int64_t emul0,
                       size_t n)
{
    int64_t e = vstats_get(vs, "exits"), m = vstats_get(vs, "insn_emulation");
    if (e >= 0 && exits0 >= 0)
        r->exits = (double)(e - exits0) / (double)n;
    if (m >= 0 && emul0 >= 0)
        r->insn_emulation = (double)(m - emul0) / (double)n;
    if (!vs->ok)
        result_note(r, "%s", vs->why);
}

static void bench_roundtrip(const char *name, int ring)
{
    char why[200];
    struct minivm vm;
    if (minivm_create(&vm, ring, minivm_code_outloop, minivm_code_outloop_len, NULL, why,
                      sizeof why) < 0 || minivm_run_to_out(&vm, why, sizeof why) < 0) {
        result_skip(name, "%s", why);
        return;
    }
    size_t warm = iters(1000, 100), n = iters(20000, 2000);
    for (size_t i = 0; i < warm; i++)
        minivm_run(&vm);
    struct vstats vs;
    vstats_open(&vs, vm.vcpu_fd);
    int64_t exits0 = vstats_get(&vs, "exits"), emul0 = vstats_get(&vs, "insn_emulation");
    struct samples s = {0};
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        int r = ioctl(vm.vcpu_fd, KVM_RUN, 0);
        uint64_t t1 = now_ns();
        if (r == 0 && vm.run->exit_reason == KVM_EXIT_IO)
            samples_add(&s, (double)(t1 - t0));
        else
            bad++;
    }
    struct result *res = result_add(name, &s);
    set_counts(res, &vs, exits0, emul0, n);
    vstats_close(&vs);
    if (bad)
        result_note(res, "%zu runs did not end in the OUT exit", bad);
    long insns = count_insns(&vm, ring);
    if (insns >= 0) {
        res->guest_insns = (double)insns;
        result_note(res, "guest insns counted by %s", g_count[ring].method);
    } else {
        result_note(res, "guest insns not measured (%u by construction: out, jmp): %s",
                    MINIVM_OUTLOOP_INSNS, g_count[ring].why);
    }
    minivm_destroy(&vm);
}

/* Exits and guest instructions of a lifecycle's first run, measured on
 * two extra VMs after the timed ones: exits from the vCPU's stats fd, instructions by
 * the ring-3 counting method.  Left out, with the reason, when they cannot
 * be measured. */
static void lifecycle_counts(struct result *r)
{
    char why[200] = "exits counter not found in the vCPU stats";
    struct minivm vm;
    if (minivm_create(&vm, 3, minivm_code_outloop, minivm_code_outloop_len, NULL, why,
                      sizeof why) == 0) {
        struct vstats vs;
        vstats_open(&vs, vm.vcpu_fd);
        int64_t e0 = vstats_get(&vs, "exits"), m0 = vstats_get(&vs, "insn_emulation");
        if (!vs.ok)
            snprintf(why, sizeof why, "%s", vs.why);
        else if (minivm_run_to_out(&vm, why, sizeof why) == 0)
            set_counts(r, &vs, e0, m0, 1);
        vstats_close(&vs);
        minivm_destroy(&vm);
    }
    if (r->exits < 0)
        result_note(r, "exits not measured: %s", why);
    if (minivm_create(&vm, 3, minivm_code_outloop, minivm_code_outloop_len, NULL, why,
                      sizeof why) < 0) {
        result_note(r, "guest insns not measured: %s", why);
        return;
    }
    long insns = count_insns(&vm, 3); /* from RIP at the entry to the first OUT */
    minivm_destroy(&vm);
    if (insns >= 0) {
        r->guest_insns = (double)insns;
        result_note(r, "guest insns of the first run counted by %s", g_count[3].method);
    } else {
        result_note(r, "guest insns not measured (1 by construction: the OUT): %s",
                    g_count[3].why);
    }
}

static void bench_lifecycle(void)
{
    static const char *const parts[] = {"create_vm", "guest_memory", "set_memory_region",
                                        "create_vcpu", "vcpu_setup", "first_run", "destroy"};
    enum { NPARTS = 7 };
    struct samples total = {0}, part[NPARTS] = {{0}};
    char why[200] = "";
    size_t warm = iters(20, 3), n = iters(400, 30), failed = 0;
    for (size_t i = 0; i < warm + n; i++) {
        struct minivm vm;
        struct minivm_phases ph;
        uint64_t t0 = now_ns();
        if (minivm_create(&vm, 3, minivm_code_outloop, minivm_code_outloop_len, &ph, why,
                          sizeof why) < 0) {
            failed++;
            continue;
        }
        uint64_t t1 = now_ns();
        int ok = minivm_run_to_out(&vm, why, sizeof why) == 0;
        uint64_t t2 = now_ns();
        minivm_destroy(&vm);
        uint64_t t3 = now_ns();
        if (!ok) {
            failed++;
            continue;
        }
        if (i < warm)
            continue;
        (void)t1;
        double v[NPARTS] = {(double)ph.create_vm, (double)ph.guest_memory,
                            (double)ph.set_memory_region, (double)ph.create_vcpu,
                            (double)ph.vcpu_setup, (double)(t2 - t1), (double)(t3 - t2)};
        for (int p = 0; p < NPARTS; p++)
            samples_add(&part[p], v[p]);
        samples_add(&total, (double)(t3 - t0));
    }
    if (total.n == 0) {
        result_skip("kvm_vm_lifecycle", "%s", why);
        for (int p = 0; p < NPARTS; p++)
            samples_free(&part[p]);
        return;
    }
    struct result *r = result_add("kvm_vm_lifecycle", &total);
    result_note(r, "64 KiB guest, ring 3; sum of the parts below");
    lifecycle_counts(r);
    if (failed)
        result_note(r, "%zu runs failed: %s", failed, why);
    for (int p = 0; p < NPARTS; p++) {
        char name[48];
        snprintf(name, sizeof name, "kvm_vm_lifecycle.%s", parts[p]);
        result_add(name, &part[p]);
    }
}

/* Guest instructions per iteration of the count loop, counted with the
 * method that worked for `ring` in this run: the counts of a 10-iteration
 * and a 1-iteration trip differ by 9 iterations.  -1 with a reason. */
static double insns_per_iteration(int ring, char *why, size_t len)
{
    if (!g_count[ring].works) {
        snprintf(why, len, "%s", g_count[ring].why[0] ? g_count[ring].why : "counting did not run");
        return -1;
    }
    counter_fn count = strcmp(g_count[ring].method, "KVM single-step") == 0 ? kvm_step_to_out
                                                                           : trap_flag_to_out;
    struct minivm vm;
    if (minivm_create(&vm, ring, minivm_code_countloop, minivm_code_countloop_len, NULL, why,
                      len) < 0)
        return -1;
    uint64_t n1 = 1, n10 = 10;
    memcpy(vm.mem + MINIVM_DATA_GPA, &n1, 8);
    long a = minivm_run_to_out(&vm, why, len) < 0 ? -1 : count(&vm, why, len);
    memcpy(vm.mem + MINIVM_DATA_GPA, &n10, 8);
    long b = a < 0 ? -1 : count(&vm, why, len);
    minivm_destroy(&vm);
    if (a < 0 || b < 0)
        return -1;
    if (b <= a) {
        snprintf(why, len, "counts %ld (10 iterations) and %ld (1) do not grow", b, a);
        return -1;
    }
    return (double)(b - a) / 9.0;
}

/* ns per iteration of the count loop: each sample runs `loops` iterations
 * in one KVM_RUN, minus the median of the same VM's 1-iteration runs. */
static void bench_insn_cost(const char *name, int ring, uint64_t loops, size_t full, size_t quick)
{
    char why[200];
    struct minivm vm;
    if (minivm_create(&vm, ring, minivm_code_countloop, minivm_code_countloop_len, NULL, why,
                      sizeof why) < 0) {
        result_skip(name, "%s", why);
        return;
    }
    uint64_t one = 1;
    memcpy(vm.mem + MINIVM_DATA_GPA, &one, 8);
    struct samples base = {0};
    for (size_t i = 0; i < 200; i++) {
        uint64_t t0 = now_ns();
        if (minivm_run_to_out(&vm, why, sizeof why) < 0) {
            result_skip(name, "%s", why);
            samples_free(&base);
            minivm_destroy(&vm);
            return;
        }
        if (i >= 20)
            samples_add(&base, (double)(now_ns() - t0));
    }
    double base_ns = samples_pct(&base, 0.5);
    samples_free(&base);

    memcpy(vm.mem + MINIVM_DATA_GPA, &loops, 8);
    struct samples s = {0};
    size_t n = iters(full, quick);
    for (size_t i = 0; i < n + 2; i++) {
        uint64_t t0 = now_ns();
        if (minivm_run_to_out(&vm, why, sizeof why) < 0)
            break;
        double t = (double)(now_ns() - t0);
        if (i >= 2)
            samples_add(&s, (t - base_ns) / (double)(loops - 1));
    }
    struct result *r = result_add(name, &s);
    result_extra(r, "ns_per_iteration", r->p50_us * 1000.0);
    result_extra(r, "loop_iterations_per_sample", (double)loops);
    result_note(r, "per loop iteration (dec, jnz), ring %d", ring);
    minivm_destroy(&vm);
    double per = insns_per_iteration(ring, why, sizeof why);
    if (per >= 0) {
        r->guest_insns = per;
        result_note(r, "guest insns per iteration counted by %s (trips of 10 and 1 iterations, "
                       "difference / 9)", g_count[ring].method);
    } else {
        result_note(r, "guest insns not measured (2 by construction): %s", why);
    }
}

/* N live minimal VMs, each run to its first exit: host memory per VM
 * (MemAvailable delta / N) and the creation rate. */
static void bench_vm_density(void)
{
    size_t n = iters(2000, 50), live = 0; /* as many as glint's density */
    struct minivm *vms = calloc(n, sizeof *vms);
    if (!vms) {
        result_skip("kvm_vm_density", "out of memory");
        return;
    }
    char why[200] = "";
    struct samples s = {0};
    uint64_t mem0 = mem_available_settled(), t0 = now_ns();
    for (; live < n; live++) {
        uint64_t t = now_ns();
        if (minivm_create(&vms[live], 3, minivm_code_outloop, minivm_code_outloop_len, NULL, why,
                          sizeof why) < 0)
            break;
        if (minivm_run_to_out(&vms[live], why, sizeof why) < 0) {
            minivm_destroy(&vms[live]);
            break;
        }
        samples_add(&s, (double)(now_ns() - t));
    }
    uint64_t t1 = now_ns(), mem1 = mem_available_settled();
    for (size_t i = 0; i < live; i++)
        minivm_destroy(&vms[i]);
    free(vms);
    if (live == 0) {
        samples_free(&s);
        result_skip("kvm_vm_density", "%s", why);
        return;
    }
    struct result *r = result_add("kvm_vm_density", &s);
    double kib = mem0 > mem1 ? (double)(mem0 - mem1) / 1024.0 / (double)live : 0;
    result_extra(r, "live", (double)live);
    result_extra(r, "host_kib_per_vm", kib);
    result_extra(r, "created_per_s", (double)live * 1e9 / (double)(t1 - t0));
    result_note(r, "%zu live 64 KiB VMs: %.0f KiB host memory each (MemAvailable delta), %.0f/s;"
                   " times are create+first run",
                live, kib, (double)live * 1e9 / (double)(t1 - t0));
    if (g_opts.quick)
        result_note(r, "quick run: N is small, so the memory figure is rough");
    if (live < n)
        result_note(r, "stopped at %zu: %s", live, why);
}

/* Can this host count instructions with a hardware performance counter? */
static void probe_pmu(char *buf, size_t len)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.disabled = 1;
    a.exclude_kernel = 1;
    int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    if (fd >= 0) {
        close(fd);
        snprintf(buf, len, "perf instruction counter available (not used: it cannot tell guest "
                           "from host instructions under every hypervisor)");
    } else {
        snprintf(buf, len, "no hardware performance counter (perf_event_open: %s)",
                 strerror(errno));
    }
}

static void describe_counting(void)
{
    char pmu[200], buf[1300];
    probe_pmu(pmu, sizeof pmu);
    char r3[520], r0[520];
    for (int ring = 0; ring <= 3; ring += 3) {
        char *out = ring ? r3 : r0;
        if (!g_count[ring].works)
            snprintf(out, 520, "cannot count: %s", g_count[ring].why);
        else if (g_count[ring].why[0])
            snprintf(out, 520, "%s (%s)", g_count[ring].method, g_count[ring].why);
        else
            snprintf(out, 520, "%s", g_count[ring].method);
    }
    snprintf(buf, sizeof buf, "ring 3: %s; ring 0: %s; %s", r3, r0, pmu);
    machine_set_counting(buf);
    printf("guest instruction counting: %s\n", buf);
}

static void bench_kvm_floors(void)
{
    char why[200];
    if (minivm_init(why, sizeof why) < 0) {
        static const char *const names[] = {"kvm_exit_roundtrip", "kvm_exit_roundtrip_ring0",
                                            "kvm_vm_lifecycle", "guest_insn_cost_ring3",
                                            "guest_insn_cost_ring0", "kvm_vm_density"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            result_skip(names[i], "%s", why);
        return;
    }
    bench_roundtrip("kvm_exit_roundtrip", 3);
    bench_roundtrip("kvm_exit_roundtrip_ring0", 0);
    bench_lifecycle();
    bench_insn_cost("guest_insn_cost_ring3", 3, g_opts.quick ? 1000000 : 4000000, 200, 20);
    bench_insn_cost("guest_insn_cost_ring0", 0, g_opts.quick ? 50 : 200, 100, 10);
    bench_vm_density();
    describe_counting();
}

void bench_floors(void)
{
    bench_kvm_floors();
    bench_proc_floors();
}

int floors_exit_vm_open(struct minivm *vm, char *why, size_t len)
{
    if (minivm_init(why, len) < 0 ||
        minivm_create(vm, 3, minivm_code_outloop, minivm_code_outloop_len, NULL, why, len) < 0)
        return -1;
    if (minivm_run_to_out(vm, why, len) < 0) {
        minivm_destroy(vm);
        return -1;
    }
    return 0;
}

double floors_exit_once(struct minivm *vm)
{
    uint64_t t0 = now_ns();
    int r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
    uint64_t t1 = now_ns();
    return r == 0 && vm->run->exit_reason == KVM_EXIT_IO ? (double)(t1 - t0) : -1;
}

/* How ring-`ring` guest instructions can be counted here: 1 with the
 * method in buf, 0 with the reason, -1 when the floors did not run. */
int floors_insn_counting(int ring, char *buf, size_t len)
{
    ring = ring == 3 ? 3 : 0;
    if (!g_count[ring].works && !g_count[ring].why[0]) {
        snprintf(buf, len, "not probed (the floors group did not run)");
        return -1;
    }
    snprintf(buf, len, "%s", g_count[ring].works ? g_count[ring].method : g_count[ring].why);
    return g_count[ring].works;
}
