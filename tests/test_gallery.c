/*
 * test_gallery.c - the hostile-guest gallery (issue 5): what a guest may
 * try against the host, one behaviour per guest function in
 * tests/guests/gallery_*.c, on top of tests/test_hostile.c.
 *
 * For every behaviour, on a fresh sandbox with a short time limit: the host
 * survives; the call ends with the expected status (and, where it has one,
 * the expected CPU vector, fault address and a word of the message) well
 * within the time limit; a failure has a one-line message and poisons the
 * sandbox (the next call gives GLINT_E_POISONED), a success leaves it
 * usable; and a fresh sandbox in the same process then works.
 *
 * Each case expects one outcome per backend.  Where the CPU or hypervisor
 * decides (vectors, faults), the two backends can differ: the process
 * backend runs the guest natively in a Linux process on the host CPU, while
 * on KVM the answer may be hardware's or PVM's, so those KVM cases keep a
 * pair of vectors or statuses (see docs/security.md, "Facts about PVM").
 * Where glint's own code decides (call.c, the guest library, the guest's
 * memory), both backends expect the same single outcome.
 */
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>

#include "glint/layout.h"
#include "helpers.h"

#define G_TIMEOUT_MS 300u
#define ST(s) (1u << (s))

/* Every way a call may end cleanly: a value or a reported guest failure.
 * Only for KVM outcomes that were never pinned down (see PopReturn). */
#define CLEAN                                                                             \
    (ST(GLINT_OK) | ST(GLINT_E_GUEST_ERROR) | ST(GLINT_E_ABORT) | ST(GLINT_E_EXCEPTION) |  \
     ST(GLINT_E_STACK_OVERFLOW) | ST(GLINT_E_GUEST_OOM) | ST(GLINT_E_TIMEOUT) |            \
     ST(GLINT_E_SHUTDOWN) | ST(GLINT_E_OUT_OF_BOUNDS) | ST(GLINT_E_UNEXPECTED_EXIT) |      \
     ST(GLINT_E_BAD_GUEST_DATA))

enum arg_kind { ARG_NONE, ARG_U32, ARG_U64 };

struct gcase {
    const char *guest, *fn;
    enum arg_kind arg;
    uint64_t value;
    unsigned want;       /* mask of statuses: one bit, except where a KVM host decides */
    int vector, vector2; /* for GLINT_E_EXCEPTION / STACK_OVERFLOW; -1: any */
    const char *word;    /* the message contains it (case-insensitive); NULL: not checked */
    bool has_addr;       /* check the fault address: */
    uint64_t addr;       /* e->address for #PF, STACK_OVERFLOW and OUT_OF_BOUNDS */
    /* KVM may answer a hypercall instruction by patching it to the vendor's
     * own (kvm_fix_hypercall): a write #PF at the instruction itself, whose
     * page the guest maps read-only, is then allowed too. */
    bool patch_pf;
    /* The host kernel may answer by resuming the guest at an address it
     * does not map (SYSENTER without IA-32 emulation returns to the vDSO's
     * landing pad, which the jailed child has not got): an instruction
     * fetch outside guest memory is then allowed too. */
    bool may_land_outside;
};

static const glint_function nop_sig = {.name = "Nop", .ret = GLINT_VOID};

static glint_status nop_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                           glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret, (void)user;
    return GLINT_OK;
}

static bool poisons(glint_status s)
{
    return s >= GLINT_E_ABORT && s <= GLINT_E_BAD_GUEST_DATA;
}

static bool on_kvm(void)
{
    return th_backend() == GLINT_BACKEND_KVM;
}

/* A flag of the host CPU as Linux shows it in /proc/cpuinfo (e.g. "umip"). */
static bool host_cpu_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    cr_assert_not_null(f, "cannot read /proc/cpuinfo");
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        for (char *t = strtok(strchr(line, ':') + 1, " \t\n"); t && !found;
             t = strtok(NULL, " \t\n"))
            found = strcmp(t, flag) == 0;
        break;
    }
    fclose(f);
    return found;
}

static void sldt_child(void)
{
    signal(SIGSEGV, SIG_DFL); /* a sanitizer's handler would turn #GP into exit(1) */
    uint16_t sel;
    __asm__ volatile("sldt %0" : "=r"(sel));
    _exit(0);
}

/* Does the host kernel refuse SLDT in user mode (UMIP in effect)?  Asked of
 * a plain child process, because a flag in /proc/cpuinfo is not enough: a
 * nested hypervisor may advertise UMIP without enforcing it. */
static bool host_umip_in_effect(void)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0)
        sldt_child();
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert((WIFEXITED(st) && WEXITSTATUS(st) == 0) || (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV),
              "SLDT probe: status 0x%x", st);
    bool on = WIFSIGNALED(st);
    cr_log_info("host: SLDT in user mode %s (cpuinfo %s umip)", on ? "is refused (UMIP)" : "runs",
                host_cpu_flag("umip") ? "lists" : "lacks");
    return on;
}

/* AMD (and Hygon) CPUs: SYSENTER in 64-bit mode is #UD there, #GP or a
 * 32-bit system call on Intel. */
static bool host_cpu_is_amd(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    cr_assert(__get_cpuid(0, &a, &b, &c, &d));
    char v[13];
    memcpy(v, &b, 4), memcpy(v + 4, &d, 4), memcpy(v + 8, &c, 4);
    v[12] = 0;
    return !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
}

/* Runs one behaviour and checks the whole contract; returns the result. */
static glint_value gallery_run(const struct gcase *c)
{
    char path[512];
    snprintf(path, sizeof path, "%s/guests/%s.elf", GLINT_BUILD_DIR, c->guest);
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = G_TIMEOUT_MS;
    glint_sandbox *sb = th_create(path, &cfg);
    EXPECT_OK(sb, glint_sandbox_register(sb, &nop_sig, nop_cb, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_value arg = c->arg == ARG_U32 ? glint_u32((uint32_t)c->value) : glint_u64(c->value);
    glint_value r = {.type = GLINT_VOID};
    double t0 = th_now_ms();
    glint_status s = glint_sandbox_call(sb, c->fn, &arg, c->arg == ARG_NONE ? 0 : 1, &r);
    double ms = th_now_ms() - t0;
    const glint_error *e = glint_sandbox_error(sb);
    cr_log_info("gallery %s.%s(0x%llx) -> %s in %.1f ms: %s (result 0x%llx)", c->guest, c->fn,
                (unsigned long long)c->value, glint_status_name(s), ms,
                s ? e->message : "ok", (unsigned long long)r.v.u64);
    bool landed = c->may_land_outside && s == GLINT_E_OUT_OF_BOUNDS &&
                  HAS_ANY(e->message, "instruction fetch from an unmapped page") &&
                  HAS_ANY(e->message, "no guest memory") && e->rip == e->address;
    cr_assert(s < 32 && ((c->want & ST(s)) || landed), "%s.%s: got %s: \"%s\"", c->guest, c->fn,
              glint_status_name(s), e->message);
    cr_assert(ms < G_TIMEOUT_MS + 2000.0, "%s.%s took %.1f ms (time limit %u ms)", c->guest,
              c->fn, ms, G_TIMEOUT_MS);
    bool patched = c->patch_pf && s == GLINT_E_EXCEPTION && e->vector == 14 &&
                   e->address == e->rip && HAS_ANY(e->message, "write to a read-only page");
    if ((s == GLINT_E_EXCEPTION || s == GLINT_E_STACK_OVERFLOW) && c->vector >= 0 && !patched)
        cr_assert((int)e->vector == c->vector || (int)e->vector == c->vector2,
                  "%s.%s: vector %u, want %d: %s", c->guest, c->fn, e->vector, c->vector,
                  e->message);
    if (s != GLINT_OK) {
        cr_assert_eq(e->status, s);
        cr_assert(e->message[0] && !strchr(e->message, '\n'), "%s.%s: bad message \"%s\"",
                  c->guest, c->fn, e->message);
        cr_assert(strncmp(e->message, c->fn, strlen(c->fn)) == 0 &&
                      e->message[strlen(c->fn)] == ':',
                  "%s.%s: the message does not name the function: %s", c->guest, c->fn,
                  e->message);
        if (c->word && !landed)
            cr_assert(th_has(e->message, c->word), "%s.%s: message lacks \"%s\": %s", c->guest,
                      c->fn, c->word, e->message);
        if (c->has_addr)
            cr_assert_eq(e->address, c->addr, "%s.%s: address 0x%llx, want 0x%llx: %s", c->guest,
                         c->fn, (unsigned long long)e->address, (unsigned long long)c->addr,
                         e->message);
    }
    if (poisons(s)) {
        cr_assert(glint_sandbox_poisoned(sb), "%s.%s: not poisoned after %s", c->guest, c->fn,
                  glint_status_name(s));
        EXPECT_STATUS(sb, glint_sandbox_call(sb, c->fn, &arg, c->arg == ARG_NONE ? 0 : 1, NULL),
                      GLINT_E_POISONED);
    } else {
        cr_assert(!glint_sandbox_poisoned(sb), "%s.%s: poisoned after %s", c->guest, c->fn,
                  glint_status_name(s));
    }
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
    return r;
}

static void gallery_table(const struct gcase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gallery_run(&cases[i]);
}

/* Cases with one exact outcome: an exception with its vector and a word of
 * the message (#GP and #UD name themselves), ... */
#define EXC(g, f, vec, w)                                                                 \
    {.guest = g, .fn = #f, .want = ST(GLINT_E_EXCEPTION), .vector = vec, .vector2 = vec,       \
     .word = w}
#define GP(g, f) EXC(g, f, 13, "#GP")
#define UD(g, f) EXC(g, f, 6, "#UD")
/* ... a page fault at `a`, in guest memory ... */
#define PF(g, f, a, w)                                                                    \
    {.guest = g, .fn = #f, .want = ST(GLINT_E_EXCEPTION), .vector = 14, .vector2 = 14,         \
     .word = w, .has_addr = true, .addr = a}
/* ... an access beyond guest memory at `a` ... */
#define OOB(g, f, a, w)                                                                   \
    {.guest = g, .fn = #f, .want = ST(GLINT_E_OUT_OF_BOUNDS), .vector = -1, .vector2 = -1,     \
     .word = w, .has_addr = true, .addr = a}
/* ... or any other status, with a word of the message (NULL: none). */
#define STATUS(g, f, st, w)                                                               \
    {.guest = g, .fn = #f, .want = ST(st), .vector = -1, .vector2 = -1, .word = w}
/* A mask of statuses and a pair of vectors (-1: any): for KVM hosts that differ. */
#define CASE(g, f, w, v1, v2) {.guest = g, .fn = #f, .want = w, .vector = v1, .vector2 = v2}
#define COUNT(a)              (sizeof(a) / sizeof((a)[0]))

/* ---- ports ------------------------------------------------------------------ */

Test(gallery, ports_closed_in_both_directions, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* Legacy devices, PCI config, the neighbours of the hypercall ports, the
     * ring-0-only exception port and the last port. */
    static const uint32_t ports[] = {0x00, 0x20, 0x40, 0x60, 0x64, 0x70, 0x80, 0x92, 0x3f8,
                                     0xcf8, 0xcfc, 0xdf, 0xe3, 0xe4, 0x510, 0xffff};
    for (size_t i = 0; i < COUNT(ports); i++) {
        struct gcase out = GP("gallery_ports", OutPort), in = GP("gallery_ports", InPort);
        out.arg = in.arg = ARG_U32;
        out.value = in.value = ports[i];
        gallery_run(&out);
        gallery_run(&in);
    }
}

Test(gallery, hypercall_ports_misused, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const bool kvm = on_kvm();
    const unsigned wrong_io = ST(GLINT_E_UNEXPECTED_EXIT) | ST(GLINT_E_BAD_GUEST_DATA);
    /* IN from an open port exits on both backends; call.c refuses it. */
    const struct gcase ins[] = {
        STATUS("gallery_ports", InDone, GLINT_E_UNEXPECTED_EXIT, "I/O read from port 0xe0"),
        STATUS("gallery_ports", InHostcall, GLINT_E_UNEXPECTED_EXIT, "I/O read from port 0xe1"),
        STATUS("gallery_ports", InsbDone, GLINT_E_UNEXPECTED_EXIT, "I/O read from port 0xe0"),
    };
    gallery_table(ins, COUNT(ins));
    const struct gcase cases[] = {
        GP("gallery_ports", InlAbort),     /* 4 ports wide: reaches 0xE3 */
        GP("gallery_ports", OutlHostcall),
        GP("gallery_ports", OutwAbort),
        /* Wider or string OUTs to an open port: the host takes them as that
         * hypercall with whatever the guest left in its buffers: here the
         * "no result yet" the host wrote, a void function's return. */
        STATUS("gallery_ports", OutwDone, GLINT_OK, NULL),
        STATUS("gallery_ports", OutsbDone, GLINT_OK, NULL),
        /* KVM exits with a count of 16 (taken as a host call); the process
         * backend refuses a repeated string OUT outright. */
        kvm ? (struct gcase)CASE("gallery_ports", RepOutsbHostcall, wrong_io, -1, -1)
            : (struct gcase)STATUS("gallery_ports", RepOutsbHostcall, GLINT_E_UNEXPECTED_EXIT,
                                   "repeated string I/O (rep outs) on hypercall port 0xe1"),
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        glint_value r = gallery_run(&cases[i]);
        if (cases[i].want == ST(GLINT_OK))
            cr_assert_eq(r.type, GLINT_VOID, "%s returned %s", cases[i].fn,
                         glint_type_name(r.type));
    }
}

/* ---- MSRs, control and debug registers ------------------------------------- */

Test(gallery, msrs_and_control_registers, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        GP("gallery_cpu", WrmsrLstar),  GP("gallery_cpu", WrmsrFsBase),
        GP("gallery_cpu", RdmsrApicBase), GP("gallery_cpu", Rdpmc),
        GP("gallery_cpu", Xsetbv),      GP("gallery_cpu", WriteCr4),
        GP("gallery_cpu", WriteCr0),    GP("gallery_cpu", ReadCr8),
        GP("gallery_cpu", WriteCr8),    GP("gallery_cpu", ReadCr2),
        GP("gallery_cpu", WriteDr7),
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- descriptor tables and segments --------------------------------------- */

Test(gallery, descriptor_tables_and_segments, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const bool kvm = on_kvm();
    const struct gcase cases[] = {
        GP("gallery_cpu", Ltr),          GP("gallery_cpu", Lldt),
        GP("gallery_cpu", LoadKernelDs), GP("gallery_cpu", LoadBadFs),
        GP("gallery_cpu", IretToRing0),
        /* #GP on hardware; PVM's emulator answers the 64-bit far jump with #UD. */
        kvm ? (struct gcase)CASE("gallery_cpu", FarJmpRing0, ST(GLINT_E_EXCEPTION), 13, 6)
            : (struct gcase)GP("gallery_cpu", FarJmpRing0),
    };
    gallery_table(cases, COUNT(cases));
    /* SGDT, SIDT, SLDT, STR and SMSW are not privileged without CR4.UMIP.
     * KVM: they may succeed and show the runtime's table addresses (which
     * ring 3 still cannot read or write), or fault with #GP under UMIP.
     * Process: the host decides.  Without UMIP they show the host kernel's
     * values (docs/security.md); with it Linux answers SGDT, SIDT and SMSW
     * with fixed dummy values (kernel addresses and the usual CR0) and
     * refuses SLDT and STR: #GP. */
    static const char *const stores[] = {"Sgdt", "Sidt", "Sldt", "Str", "Smsw"};
    const bool umip = host_umip_in_effect();
    for (size_t i = 0; i < COUNT(stores); i++) {
        struct gcase c = CASE("gallery_cpu", Sgdt, ST(GLINT_OK) | ST(GLINT_E_EXCEPTION), 13, 13);
        c.fn = stores[i];
        const bool ldt_or_tr = !strcmp(c.fn, "Sldt") || !strcmp(c.fn, "Str");
        if (!kvm) {
            c.want = umip && ldt_or_tr ? ST(GLINT_E_EXCEPTION) : ST(GLINT_OK);
            c.word = umip && ldt_or_tr ? "#GP" : NULL;
        }
        glint_value r = gallery_run(&c);
        if (kvm || c.want != ST(GLINT_OK))
            continue;
        cr_assert_eq(r.type, GLINT_U64);
        uint64_t v = r.v.u64;
        if (!ldt_or_tr && strcmp(c.fn, "Smsw") != 0)
            cr_assert_geq(v, 0xffff800000000000ull, "%s = 0x%llx, not a host kernel address", c.fn,
                          (unsigned long long)v);
        else if (!strcmp(c.fn, "Sldt"))
            cr_assert_eq(v, 0, "SLDT = 0x%llx: the host process has no LDT", (unsigned long long)v);
        else if (!strcmp(c.fn, "Str"))
            cr_assert_eq(v, 0x40, "STR = 0x%llx, want Linux's TSS selector 0x40",
                         (unsigned long long)v);
        else
            cr_assert_eq(v & 0x80000001u, 0x80000001u, "SMSW = 0x%llx: host CR0 without PE and PG",
                         (unsigned long long)v);
    }
}

/* ---- entering a kernel that is not there, interrupts with no handler ------- */

Test(gallery, kernel_entries_and_interrupts, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (on_kvm()) {
        const struct gcase cases[] = {
            CASE("gallery_cpu", Sysenter, ST(GLINT_E_EXCEPTION), 13, 6),
            CASE("gallery_cpu", Sysret, ST(GLINT_E_EXCEPTION), 13, 6),
            CASE("gallery_cpu", Swapgs, ST(GLINT_E_EXCEPTION), 13, 6),
            /* PVM: VMCALL is #GP and VMMCALL returns without an exit, or KVM
             * patches VMMCALL into VMCALL (a write #PF on the read-only code
             * page); on other KVM hosts either may return an error value. */
            {.guest = "gallery_cpu", .fn = "Vmcall", .want = ST(GLINT_OK) | ST(GLINT_E_EXCEPTION),
             .vector = 13, .vector2 = 6, .patch_pf = true},
            {.guest = "gallery_cpu", .fn = "Vmmcall", .want = ST(GLINT_OK) | ST(GLINT_E_EXCEPTION),
             .vector = 13, .vector2 = 6, .patch_pf = true},
            /* The IDT has vectors 0-31 only, all ring-0 gates: INT n beyond it is
             * #GP on hardware, #UD on PVM (which turns every INT n into #UD). */
            CASE("gallery_cpu", Int20, ST(GLINT_E_EXCEPTION), 13, 6),
            CASE("gallery_cpu", Int40, ST(GLINT_E_EXCEPTION), 13, 6),
            CASE("gallery_cpu", IntFF, ST(GLINT_E_EXCEPTION), 13, 6),
            CASE("gallery_cpu", Icebp, ST(GLINT_E_EXCEPTION), 1, 13),
            EXC("gallery_cpu", TrapFlag, 1, "#DB"),
            /* CR0.AM is set (cpu_x86_64.c): EFLAGS.AC makes a misaligned load #AC. */
            EXC("gallery_cpu", AlignCheck, 17, "#AC"),
        };
        gallery_table(cases, COUNT(cases));
        return;
    }
    /* Process: the host CPU and Linux answer.  SYSENTER in 64-bit mode is
     * #UD on AMD; on Intel it is #GP or, with IA-32 emulation, a refused
     * 32-bit system call (vector 13 either way).  INT n hits a ring-0 gate
     * of the host's IDT: #GP with error code (vector << 3) | 2 (IDT).
     * VMCALL and VMMCALL outside a hypervisor's guest mode are #UD; where
     * this host is itself a guest, its hypervisor answers them (PVM returns
     * to the caller, or patches VMMCALL into VMCALL: a write #PF on the
     * child's read-only code). */
    const bool nested = host_cpu_flag("hypervisor");
    const int sysenter = host_cpu_is_amd() ? 6 : 13;
    struct gcase sysenter_case = EXC("gallery_cpu", Sysenter, sysenter, "system call");
    sysenter_case.may_land_outside = !host_cpu_is_amd();
    const struct gcase cases[] = {
        sysenter_case,
        GP("gallery_cpu", Sysret),
        GP("gallery_cpu", Swapgs),
        nested ? (struct gcase){.guest = "gallery_cpu", .fn = "Vmcall",
                                .want = ST(GLINT_OK) | ST(GLINT_E_EXCEPTION), .vector = 6,
                                .vector2 = 13, .patch_pf = true}
               : (struct gcase)UD("gallery_cpu", Vmcall),
        nested ? (struct gcase){.guest = "gallery_cpu", .fn = "Vmmcall",
                                .want = ST(GLINT_OK) | ST(GLINT_E_EXCEPTION), .vector = 6,
                                .vector2 = 13, .patch_pf = true}
               : (struct gcase)UD("gallery_cpu", Vmmcall),
        EXC("gallery_cpu", Int20, 13, "error code 0x102"),
        EXC("gallery_cpu", Int40, 13, "error code 0x202"),
        EXC("gallery_cpu", IntFF, 13, "error code 0x7fa"),
        EXC("gallery_cpu", Icebp, 1, "#DB"),
        EXC("gallery_cpu", TrapFlag, 1, "#DB"),
        EXC("gallery_cpu", AlignCheck, 17, "#AC"),
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- halting without returning --------------------------------------------- */

Test(gallery, halting_without_returning, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const bool kvm = on_kvm();
    const struct gcase cases[] = {
        GP("gallery_cpu", HltLoop),
        kvm ? (struct gcase)CASE("gallery_cpu", MwaitLoop, ST(GLINT_E_EXCEPTION), 6, 13)
            : (struct gcase)UD("gallery_cpu", MwaitLoop), /* not enabled for ring 3 */
        STATUS("gallery_cpu", PauseLoop, GLINT_E_TIMEOUT, "time limit of 300 ms exceeded"),
        STATUS("gallery_flow", HostcallForever, GLINT_E_TIMEOUT, "time limit of 300 ms exceeded"),
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- its own page tables and the runtime's pages ---------------------------- */

Test(gallery, page_tables_and_runtime_pages, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const bool kvm = on_kvm();
    const struct gcase cases[] = {
        PF("gallery_memory", WritePml4, GLINT_PML4_GPA, "runtime memory"),
        PF("gallery_memory", WritePd, GLINT_PD_GPA + 8, "runtime memory"),
        /* output_base + output_size: the first page table, whose address
         * depends on the guest's layout. */
        EXC("gallery_memory", WritePageTables, 14, "write to an unmapped page"),
        PF("gallery_memory", WriteIoBitmap, GLINT_TSS_GPA + 0x70, "runtime memory"),
        PF("gallery_memory", WriteIdt, GLINT_IDT_GPA + 0x80 * 16, "runtime memory"),
        PF("gallery_memory", WriteGdt, GLINT_GDT_GPA + 8, "runtime memory"),
        PF("gallery_memory", WriteExcStack, GLINT_EXC_STACK_TOP - 8, "runtime memory"),
        /* The canary at %fs:0x28 is in the read-only boot info page. */
        PF("gallery_flow", WriteCanary, GLINT_BOOT_INFO_GVA + 0x28, "write to a read-only page"),
        kvm ? (struct gcase)CASE("gallery_flow", FsBaseOutside,
                                 ST(GLINT_E_OUT_OF_BOUNDS) | ST(GLINT_E_EXCEPTION), 14, 13)
            : (struct gcase)OOB("gallery_flow", FsBaseOutside, 0x7f0000000028ull,
                                "read of an unmapped page"),
    };
    gallery_table(cases, COUNT(cases));
}

Test(gallery, scribble_over_everything_writable, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* 0xCC over its own data, heap, stack, input and output: it returns, and
     * the host finds the result frame's status is 0xCCCCCCCC. */
    struct gcase c = STATUS("gallery_memory", ScribbleAll, GLINT_E_BAD_GUEST_DATA,
                            "malformed result: status 3435973836");
    gallery_run(&c);
}

/* ---- recursion and allocation ----------------------------------------------- */

Test(gallery, recursion_and_allocation, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        {.guest = "gallery_memory", .fn = "RecurseBig", .arg = ARG_U64, .value = 1000000,
         .want = ST(GLINT_E_STACK_OVERFLOW), .vector = 14, .vector2 = 14, .word = "stack overflow"},
        {.guest = "gallery_memory", .fn = "AllocaHuge", .want = ST(GLINT_E_STACK_OVERFLOW),
         .vector = 14, .vector2 = 14, .word = "stack overflow"},
        STATUS("gallery_memory", ReallocGrow, GLINT_E_GUEST_OOM, "realloc("),
        /* Checked in the guest library, before any allocation. */
        STATUS("gallery_memory", CallocOverflow, GLINT_E_GUEST_OOM, "the size overflows"),
    };
    gallery_table(cases, COUNT(cases));

    struct gcase small = STATUS("gallery_memory", ManySmallNull, GLINT_OK, NULL);
    glint_value r = gallery_run(&small);
    cr_assert_gt(r.v.u64, 1000, "only %llu allocations of 64 bytes", (unsigned long long)r.v.u64);

    /* Moving RSP below the guard page by hand lands in the guest's own heap:
     * the guard page catches runaway recursion, it is not a wall. */
    struct gcase jump = STATUS("gallery_memory", JumpGuard, GLINT_OK, NULL);
    r = gallery_run(&jump);
    cr_assert_neq(r.v.u64, 0);
}

/* ---- leaving the entry point the wrong way ------------------------------------ */

Test(gallery, returning_from_the_entry_point, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const bool kvm = on_kvm();
    const struct gcase cases[] = {
        PF("gallery_flow", JumpZero, 0, "instruction fetch from an unmapped page at 0x0"),
        GP("gallery_flow", RetNonCanonical),
        kvm ? (struct gcase)CASE("gallery_flow", RetOutside,
                                 ST(GLINT_E_EXCEPTION) | ST(GLINT_E_OUT_OF_BOUNDS), 14, 14)
            : (struct gcase)OOB("gallery_flow", RetOutside, 0x41414141,
                                "instruction fetch from an unmapped page"),
        /* Returns to whatever its caller's frame held: a fetch fault there
         * (the address depends on the dispatcher's frame). */
        kvm ? (struct gcase)CASE("gallery_flow", PopReturn, CLEAN, -1, -1)
            : (struct gcase)EXC("gallery_flow", PopReturn, 14, "instruction fetch"),
        /* RSP = stack top: `ret` pops the first word of the input buffer,
         * the call frame's entry, so RetStackTop runs again, forever. */
        STATUS("gallery_flow", RetStackTop, GLINT_E_TIMEOUT, "time limit of 300 ms exceeded"),
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- forged protocol frames ------------------------------------------------------ */

Test(gallery, forged_frames, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        /* A host-call frame read as an abort frame: name_len 5 is the kind,
         * nargs 1 the code.  Still an abort, the guest's own request. */
        STATUS("gallery_flow", FrameThenAbort, GLINT_E_ABORT, "unknown abort kind 5, code 1"),
        STATUS("gallery_flow", FrameThenDone, GLINT_E_BAD_GUEST_DATA, "malformed result: status 5"),
        STATUS("gallery_flow", AbortFrameThenHostcall, GLINT_E_BAD_GUEST_DATA,
               "malformed host call"),
        STATUS("gallery_flow", GarbageHostcall, GLINT_E_BAD_GUEST_DATA, "malformed host call"),
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- facts ring 3 can read (documented in docs/security.md) ------------------- */

Test(gallery, facts_visible_to_ring3, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const bool kvm = on_kvm();
    struct gcase c = STATUS("gallery_cpu", Rdtscp, GLINT_OK, NULL);
    glint_value r = gallery_run(&c);
    cr_log_info("RDTSCP in the guest: TSC_AUX = %llu", (unsigned long long)r.v.u64);
    cr_assert_eq(r.type, GLINT_U64);
    if (!kvm) {
        /* The host's TSC_AUX as Linux sets it: (node << 12) | CPU, of the
         * CPU the guest ran on (under PVM the physical host's CPU, so it
         * need not be a CPU of this machine). */
        cr_assert_lt(r.v.u64, 1ull << 22, "TSC_AUX 0x%llx is not (node << 12) | cpu",
                     (unsigned long long)r.v.u64);
    }
    c.fn = "Cpuid";
    r = gallery_run(&c);
    cr_log_info("CPUID.1 EBX in the guest = 0x%llx", (unsigned long long)r.v.u64);
    cr_assert_eq(r.type, GLINT_U64);
    if (!kvm) {
        /* The host CPU's own answer: all but the APIC ID (bits 31:24), which
         * depends on the CPU the guest ran on. */
        unsigned a = 0, b = 0, cx = 0, d = 0;
        cr_assert(__get_cpuid(1, &a, &b, &cx, &d));
        cr_assert_eq(r.v.u64 & 0x00ffffffu, b & 0x00ffffffu,
                     "guest CPUID.1 EBX 0x%llx, host 0x%x", (unsigned long long)r.v.u64, b);
    }
}
