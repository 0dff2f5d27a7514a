/*
 * test_gallery.c - the hostile-guest gallery (issue 5): what a guest may
 * try against the host, one behaviour per guest function in
 * tests/guests/gallery_*.c, on top of tests/test_hostile.c.
 *
 * For every behaviour, on a fresh sandbox with a short time limit: the host
 * survives; the call ends with a status of the expected class (and the
 * expected CPU vector for exceptions) well within the time limit; a failure
 * has a one-line message and poisons the sandbox (the next call gives
 * GLINT_E_POISONED), a success leaves it usable; and a fresh sandbox in the
 * same process then works.  What each behaviour does on this host is
 * logged (cr_log_info), e.g. the values SGDT and RDTSCP hand to ring 3.
 */
#include <stdio.h>

#include "helpers.h"

#define G_TIMEOUT_MS 300u
#define ST(s) (1u << (s))

/* Every way a call may end cleanly: a value or a reported guest failure. */
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
    unsigned want;      /* mask of statuses */
    int vector, vector2; /* for GLINT_E_EXCEPTION / STACK_OVERFLOW; -1: any */
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
    cr_assert(s < 32 && (c->want & ST(s)), "%s.%s: got %s: \"%s\"", c->guest, c->fn,
              glint_status_name(s), e->message);
    cr_assert(ms < G_TIMEOUT_MS + 2000.0, "%s.%s took %.1f ms (time limit %u ms)", c->guest,
              c->fn, ms, G_TIMEOUT_MS);
    if ((s == GLINT_E_EXCEPTION || s == GLINT_E_STACK_OVERFLOW) && c->vector >= 0)
        cr_assert((int)e->vector == c->vector || (int)e->vector == c->vector2,
                  "%s.%s: vector %u, want %d: %s", c->guest, c->fn, e->vector, c->vector,
                  e->message);
    if (s != GLINT_OK) {
        cr_assert_eq(e->status, s);
        cr_assert(e->message[0] && !strchr(e->message, '\n'), "%s.%s: bad message \"%s\"",
                  c->guest, c->fn, e->message);
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

#define EXC(guest, fn, vec) {guest, #fn, ARG_NONE, 0, ST(GLINT_E_EXCEPTION), vec, vec}
#define GP(guest, fn)       EXC(guest, fn, 13)
#define PF(guest, fn)       EXC(guest, fn, 14)
#define COUNT(a)            (sizeof(a) / sizeof((a)[0]))

/* ---- ports ------------------------------------------------------------------ */

Test(gallery, ports_closed_in_both_directions, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* Legacy devices, PCI config, the neighbours of the hypercall ports, the
     * ring-0-only exception port and the last port. */
    static const uint32_t ports[] = {0x00, 0x20, 0x40, 0x60, 0x64, 0x70, 0x80, 0x92, 0x3f8,
                                     0xcf8, 0xcfc, 0xdf, 0xe3, 0xe4, 0x510, 0xffff};
    for (size_t i = 0; i < COUNT(ports); i++) {
        struct gcase out = {"gallery_ports", "OutPort", ARG_U32, ports[i],
                            ST(GLINT_E_EXCEPTION), 13, 13};
        struct gcase in = {"gallery_ports", "InPort", ARG_U32, ports[i],
                           ST(GLINT_E_EXCEPTION), 13, 13};
        gallery_run(&out);
        gallery_run(&in);
    }
}

Test(gallery, hypercall_ports_misused, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const unsigned wrong_io = ST(GLINT_E_UNEXPECTED_EXIT) | ST(GLINT_E_BAD_GUEST_DATA);
    static const char *const ins[] = {"InDone", "InHostcall", "InsbDone"};
    for (size_t i = 0; i < COUNT(ins); i++) {
        struct gcase c = {"gallery_ports", ins[i], ARG_NONE, 0, wrong_io, -1, -1};
        gallery_run(&c);
    }
    const struct gcase cases[] = {
        GP("gallery_ports", InlAbort),     /* 4 ports wide: reaches 0xE3 */
        GP("gallery_ports", OutlHostcall),
        GP("gallery_ports", OutwAbort),
        /* Wider or string OUTs to an open port: the host takes them as that
         * hypercall with whatever the guest left in its buffers. */
        {"gallery_ports", "OutwDone", ARG_NONE, 0, ST(GLINT_OK) | wrong_io, -1, -1},
        {"gallery_ports", "OutsbDone", ARG_NONE, 0, ST(GLINT_OK) | wrong_io, -1, -1},
        {"gallery_ports", "RepOutsbHostcall", ARG_NONE, 0, wrong_io, -1, -1},
    };
    gallery_table(cases, COUNT(cases));
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
    const struct gcase cases[] = {
        GP("gallery_cpu", Ltr),          GP("gallery_cpu", Lldt),
        GP("gallery_cpu", LoadKernelDs), GP("gallery_cpu", LoadBadFs),
        GP("gallery_cpu", IretToRing0),
        /* #GP on hardware; PVM's emulator answers the 64-bit far jump with #UD. */
        {"gallery_cpu", "FarJmpRing0", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 13, 6},
    };
    gallery_table(cases, COUNT(cases));
    /* SGDT, SIDT, SLDT, STR and SMSW are not privileged without CR4.UMIP:
     * they may succeed and show the runtime's table addresses (which ring 3
     * still cannot read or write), or fault with #GP under UMIP. */
    static const char *const stores[] = {"Sgdt", "Sidt", "Sldt", "Str", "Smsw"};
    for (size_t i = 0; i < COUNT(stores); i++) {
        struct gcase c = {"gallery_cpu", stores[i], ARG_NONE, 0,
                          ST(GLINT_OK) | ST(GLINT_E_EXCEPTION), 13, 13};
        gallery_run(&c);
    }
}

/* ---- entering a kernel that is not there, interrupts with no handler ------- */

Test(gallery, kernel_entries_and_interrupts, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        {"gallery_cpu", "Sysenter", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 13, 6},
        {"gallery_cpu", "Sysret", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 13, 6},
        {"gallery_cpu", "Swapgs", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 13, 6},
        /* PVM: VMCALL is #GP and VMMCALL returns without an exit; on other
         * KVM hosts either may return an error value to the guest. */
        {"gallery_cpu", "Vmcall", ARG_NONE, 0, ST(GLINT_OK) | ST(GLINT_E_EXCEPTION), 13, 6},
        {"gallery_cpu", "Vmmcall", ARG_NONE, 0, ST(GLINT_OK) | ST(GLINT_E_EXCEPTION), 13, 6},
        /* The IDT has vectors 0-31 only, all ring-0 gates: INT n beyond it is
         * #GP on hardware, #UD on PVM (which turns every INT n into #UD). */
        {"gallery_cpu", "Int20", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 13, 6},
        {"gallery_cpu", "Int40", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 13, 6},
        {"gallery_cpu", "IntFF", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 13, 6},
        {"gallery_cpu", "Icebp", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 1, 13},
        EXC("gallery_cpu", TrapFlag, 1),
        {"gallery_cpu", "AlignCheck", ARG_NONE, 0, ST(GLINT_OK) | ST(GLINT_E_EXCEPTION), 17, 17},
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- halting without returning --------------------------------------------- */

Test(gallery, halting_without_returning, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        GP("gallery_cpu", HltLoop),
        {"gallery_cpu", "MwaitLoop", ARG_NONE, 0, ST(GLINT_E_EXCEPTION), 6, 13},
        {"gallery_cpu", "PauseLoop", ARG_NONE, 0, ST(GLINT_E_TIMEOUT), -1, -1},
        {"gallery_flow", "HostcallForever", ARG_NONE, 0, ST(GLINT_E_TIMEOUT), -1, -1},
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- its own page tables and the runtime's pages ---------------------------- */

Test(gallery, page_tables_and_runtime_pages, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        PF("gallery_memory", WritePml4),     PF("gallery_memory", WritePd),
        PF("gallery_memory", WritePageTables), PF("gallery_memory", WriteIoBitmap),
        PF("gallery_memory", WriteIdt),      PF("gallery_memory", WriteGdt),
        PF("gallery_memory", WriteExcStack), PF("gallery_flow", WriteCanary),
        {"gallery_flow", "FsBaseOutside", ARG_NONE, 0,
         ST(GLINT_E_OUT_OF_BOUNDS) | ST(GLINT_E_EXCEPTION), 14, 13},
    };
    gallery_table(cases, COUNT(cases));
}

Test(gallery, scribble_over_everything_writable, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct gcase c = {"gallery_memory", "ScribbleAll", ARG_NONE, 0, CLEAN, -1, -1};
    gallery_run(&c);
}

/* ---- recursion and allocation ----------------------------------------------- */

Test(gallery, recursion_and_allocation, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        {"gallery_memory", "RecurseBig", ARG_U64, 1000000, ST(GLINT_E_STACK_OVERFLOW), 14, 14},
        {"gallery_memory", "AllocaHuge", ARG_NONE, 0, ST(GLINT_E_STACK_OVERFLOW), 14, 14},
        {"gallery_memory", "ReallocGrow", ARG_NONE, 0, ST(GLINT_E_GUEST_OOM), -1, -1},
        {"gallery_memory", "CallocOverflow", ARG_NONE, 0,
         ST(GLINT_E_GUEST_OOM) | ST(GLINT_OK), -1, -1},
    };
    gallery_table(cases, COUNT(cases));

    struct gcase small = {"gallery_memory", "ManySmallNull", ARG_NONE, 0, ST(GLINT_OK), -1, -1};
    glint_value r = gallery_run(&small);
    cr_assert_gt(r.v.u64, 1000, "only %llu allocations of 64 bytes", (unsigned long long)r.v.u64);

    /* Moving RSP below the guard page by hand lands in the guest's own heap:
     * the guard page catches runaway recursion, it is not a wall. */
    struct gcase jump = {"gallery_memory", "JumpGuard", ARG_NONE, 0, ST(GLINT_OK), -1, -1};
    r = gallery_run(&jump);
    cr_assert_neq(r.v.u64, 0);
}

/* ---- leaving the entry point the wrong way ------------------------------------ */

Test(gallery, returning_from_the_entry_point, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        PF("gallery_flow", JumpZero),
        GP("gallery_flow", RetNonCanonical),
        {"gallery_flow", "RetOutside", ARG_NONE, 0,
         ST(GLINT_E_EXCEPTION) | ST(GLINT_E_OUT_OF_BOUNDS), 14, 14},
        {"gallery_flow", "PopReturn", ARG_NONE, 0, CLEAN, -1, -1},
        {"gallery_flow", "RetStackTop", ARG_NONE, 0, CLEAN, -1, -1},
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- forged protocol frames ------------------------------------------------------ */

Test(gallery, forged_frames, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    const struct gcase cases[] = {
        {"gallery_flow", "FrameThenAbort", ARG_NONE, 0,
         ST(GLINT_E_ABORT) | ST(GLINT_E_BAD_GUEST_DATA), -1, -1},
        {"gallery_flow", "FrameThenDone", ARG_NONE, 0, ST(GLINT_E_BAD_GUEST_DATA), -1, -1},
        {"gallery_flow", "AbortFrameThenHostcall", ARG_NONE, 0, ST(GLINT_E_BAD_GUEST_DATA), -1,
         -1},
        {"gallery_flow", "GarbageHostcall", ARG_NONE, 0, ST(GLINT_E_BAD_GUEST_DATA), -1, -1},
    };
    gallery_table(cases, COUNT(cases));
}

/* ---- facts ring 3 can read (logged; documented in docs/security.md) ----------- */

Test(gallery, facts_visible_to_ring3, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct gcase c = {"gallery_cpu", "Rdtscp", ARG_NONE, 0, ST(GLINT_OK), -1, -1};
    glint_value r = gallery_run(&c);
    cr_log_info("RDTSCP in the guest: TSC_AUX = %llu", (unsigned long long)r.v.u64);
    c.fn = "Cpuid";
    r = gallery_run(&c);
    cr_log_info("CPUID.1 EBX in the guest = 0x%llx", (unsigned long long)r.v.u64);
}
