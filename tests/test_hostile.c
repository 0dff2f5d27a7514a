/*
 * test_hostile.c - guests that misbehave, one tiny guest per behaviour
 * (tests/guests/).  For each: the host process survives, the call fails
 * with the right status class and a message that names the problem, the
 * fault fields are right, the sandbox is poisoned (the next call gives
 * GLINT_E_POISONED), and a fresh sandbox in the same process then works.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "helpers.h"
#include "sandbox.h" /* glint_debug_wipe_idt (test hook) */

#define ST(s) (1u << (s))

/*
 * Calls `fn` of test guest `guest` on a fresh sandbox and checks the whole
 * failure contract.  `want` is a mask of acceptable statuses (ST(...)).
 * Returns a copy of the error.
 */
static glint_error hostile_call_cfg(const char *guest, const char *fn, const glint_value *args,
                                    size_t nargs, unsigned want, const glint_config *cfg)
{
    char path[512];
    snprintf(path, sizeof path, "%s/guests/%s.elf", GLINT_BUILD_DIR, guest);
    glint_sandbox *sb = th_start(path, cfg);
    glint_value r;
    glint_status s = glint_sandbox_call(sb, fn, args, nargs, &r);
    const glint_error *e = glint_sandbox_error(sb);
    cr_assert(s < 32 && (want & ST(s)), "%s.%s: got %s: \"%s\"", guest, fn, glint_status_name(s),
              e->message);
    cr_assert_eq(e->status, s, "%s.%s: error status %s, call returned %s", guest, fn,
                 glint_status_name(e->status), glint_status_name(s));
    cr_assert(e->message[0] != '\0', "%s.%s: empty error message", guest, fn);
    cr_assert(strchr(e->message, '\n') == NULL, "%s.%s: message is not one line", guest, fn);
    cr_assert(glint_sandbox_poisoned(sb), "%s.%s: sandbox not poisoned after %s", guest, fn,
              glint_status_name(s));
    glint_error copy = *e;
    cr_log_info("%s.%s -> %s: %s", guest, fn, glint_status_name(s), copy.message);

    s = glint_sandbox_call(sb, fn, args, nargs, &r);
    cr_assert_eq(s, GLINT_E_POISONED, "%s.%s: second call gave %s, want GLINT_E_POISONED", guest,
                 fn, glint_status_name(s));
    cr_assert(glint_sandbox_error(sb)->message[0] != '\0', "POISONED without a message");
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
    return copy;
}

static glint_error hostile_call(const char *guest, const char *fn, unsigned want)
{
    return hostile_call_cfg(guest, fn, NULL, 0, want, NULL);
}

/* Address of the faulting instruction (or target) of `fn`, from the guest's
 * Where(string) -> uint64. */
static uint64_t hostile_where(const char *guest, const char *fn)
{
    char path[512];
    snprintf(path, sizeof path, "%s/guests/%s.elf", GLINT_BUILD_DIR, guest);
    glint_sandbox *sb = th_start(path, NULL);
    glint_value arg = glint_cstr(fn), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Where", &arg, 1, &r));
    glint_sandbox_destroy(sb);
    cr_assert_eq(r.type, GLINT_U64);
    cr_assert_neq(r.v.u64, 0, "%s: no site for %s", guest, fn);
    return r.v.u64;
}

/* Occurrences of c in s. */
static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* Words that name an exception vector in a message. */
static bool names_vector(const char *msg, uint32_t vector)
{
    char num[32];
    snprintf(num, sizeof num, "vector %u", vector);
    switch (vector) {
    case 0: return HAS_ANY(msg, "divide", "#DE", num);
    case 6: return HAS_ANY(msg, "invalid opcode", "#UD", num);
    case 13: return HAS_ANY(msg, "general protection", "#GP", num);
    case 14: return HAS_ANY(msg, "page fault", "#PF", num);
    default: return HAS_ANY(msg, num);
    }
}

static void expect_vector(const glint_error *e, uint32_t vector)
{
    cr_assert_eq(e->status, GLINT_E_EXCEPTION);
    cr_assert_eq(e->vector, vector, "vector %u, want %u: %s", e->vector, vector, e->message);
    cr_assert(names_vector(e->message, vector), "message does not name vector %u: %s", vector,
              e->message);
}

/* An exception `vector` at the instruction `site`. */
static void expect_fault_at(const char *guest, const char *fn, uint32_t vector)
{
    uint64_t site = hostile_where(guest, fn);
    glint_error e = hostile_call(guest, fn, ST(GLINT_E_EXCEPTION));
    expect_vector(&e, vector);
    cr_assert_eq(e.rip, site, "%s: rip 0x%llx, want 0x%llx: %s", fn, (unsigned long long)e.rip,
                 (unsigned long long)site, e.message);
}

/* A page fault at `address` with error-code bits `bits` set. */
static glint_error expect_page_fault(const char *guest, const char *fn, uint64_t address,
                                     uint64_t bits)
{
    glint_error e = hostile_call(guest, fn, ST(GLINT_E_EXCEPTION));
    expect_vector(&e, 14);
    cr_assert_eq(e.address, address, "%s: address 0x%llx, want 0x%llx: %s", fn,
                 (unsigned long long)e.address, (unsigned long long)address, e.message);
    cr_assert_eq(e.error_code & bits, bits, "%s: error code 0x%llx lacks 0x%llx", fn,
                 (unsigned long long)e.error_code, (unsigned long long)bits);
    return e;
}

#define PF_PRESENT 1u
#define PF_WRITE   2u
#define PF_USER    4u
#define PF_FETCH   16u

/* ---- time limits and interrupts ---------------------------------------- */

Test(hostile, spin_hits_time_limit, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 100;
    double t0 = th_now_ms();
    glint_error e = hostile_call_cfg("spin", "Spin", NULL, 0, ST(GLINT_E_TIMEOUT), &cfg);
    double ms = th_now_ms() - t0;
    cr_assert(ms >= 95, "time limit of 100 ms hit after %.1f ms", ms);
    cr_assert(ms < 5000, "time limit of 100 ms took %.1f ms", ms);
    cr_assert(HAS_ANY(e.message, "time"), "message: %s", e.message);
}

Test(hostile, init_spin_hits_time_limit, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 100;
    glint_sandbox *sb = th_create(TEST_GUEST("init_spin"), &cfg);
    EXPECT_STATUS(sb, glint_sandbox_init(sb), GLINT_E_TIMEOUT);
    cr_assert(th_has(glint_sandbox_error(sb)->message,
                     "guest initialization: time limit of 100 ms exceeded"),
              "message: %s", glint_sandbox_error(sb)->message);
    cr_assert(glint_sandbox_poisoned(sb));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL), GLINT_E_POISONED);
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
}

Test(hostile, init_fault_poisons, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_create(TEST_GUEST("init_fault"), NULL);
    EXPECT_STATUS(sb, glint_sandbox_init(sb), GLINT_E_EXCEPTION);
    expect_vector(glint_sandbox_error(sb), 6);
    cr_assert(glint_sandbox_poisoned(sb));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL), GLINT_E_POISONED);
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
}

struct kicker {
    glint_sandbox *sb;
    unsigned delay_us;
    atomic_int done;
};

static void *kick(void *p)
{
    struct kicker *k = p;
    struct timespec ts = {(time_t)(k->delay_us / 1000000u), (long)(k->delay_us % 1000000u) * 1000L};
    nanosleep(&ts, NULL);
    glint_sandbox_interrupt(k->sb);
    atomic_store(&k->done, 1);
    return NULL;
}

Test(hostile, interrupt_stops_spinning_guest, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 0; /* no time limit: only the interrupt can stop it */
    glint_sandbox *sb = th_start(TEST_GUEST("spin"), &cfg);
    struct kicker k = {.sb = sb, .delay_us = 50000};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, kick, &k), 0);
    double t0 = th_now_ms();
    glint_status s = glint_sandbox_call(sb, "Spin", NULL, 0, NULL);
    double ms = th_now_ms() - t0;
    pthread_join(t, NULL);
    cr_assert_eq(s, GLINT_E_CANCELLED, "got %s: %s", glint_status_name(s),
                 glint_sandbox_error(sb)->message);
    cr_assert(ms >= 45 && ms < 2000, "interrupt after 50 ms stopped the call after %.1f ms", ms);
    cr_assert(HAS_ANY(glint_sandbox_error(sb)->message, "interrupt", "cancel"), "message: %s",
              glint_sandbox_error(sb)->message);
    cr_assert(glint_sandbox_poisoned(sb));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL), GLINT_E_POISONED);
    glint_sandbox_destroy(sb);

    /* A new sandbox is not affected, even after an interrupt while idle. */
    sb = th_create(TEST_GUEST("spin"), &cfg);
    glint_sandbox_interrupt(sb); /* before init */
    EXPECT_OK(sb, glint_sandbox_init(sb));
    for (int i = 0; i < 20; i++) {
        glint_sandbox_interrupt(sb); /* idle */
        EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    }
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
}

/*
 * An interrupt racing short calls: it may cancel the call it lands in, but
 * once glint_sandbox_interrupt has returned, no later call may be hit.
 */
Test(hostile, interrupt_race_leaves_no_stale_interrupt, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 0;
    int cancelled = 0, rounds = 60;
    for (int round = 0; round < rounds; round++) {
        glint_sandbox *sb = th_start(TEST_GUEST("spin"), &cfg);
        struct kicker k = {.sb = sb, .delay_us = (unsigned)(round * 37 % 400)};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, kick, &k), 0);
        glint_status s = GLINT_OK;
        while (!atomic_load(&k.done) && s == GLINT_OK)
            s = glint_sandbox_call(sb, "Nop", NULL, 0, NULL);
        pthread_join(t, NULL);
        cr_assert(s == GLINT_OK || s == GLINT_E_CANCELLED, "round %d: %s: %s", round,
                  glint_status_name(s), glint_sandbox_error(sb)->message);
        if (s == GLINT_E_CANCELLED) {
            cancelled++;
            cr_assert(glint_sandbox_poisoned(sb));
        } else {
            for (int i = 0; i < 5; i++) {
                s = glint_sandbox_call(sb, "Nop", NULL, 0, NULL);
                cr_assert_eq(s, GLINT_OK, "round %d: call %d after the interrupt returned: %s: %s",
                             round, i, glint_status_name(s), glint_sandbox_error(sb)->message);
            }
        }
        glint_sandbox_destroy(sb);
    }
    cr_log_info("interrupt race: %d of %d rounds cancelled a call", cancelled, rounds);
}

static glint_status interrupt_self(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                   glint_value *ret, void *user)
{
    (void)args, (void)nargs, (void)ret;
    atomic_fetch_add((atomic_int *)user, 1);
    glint_sandbox_interrupt(glint_hostcall_sandbox(hc));
    return GLINT_OK;
}

/* An interrupt while the guest waits in a host function cancels that call. */
Test(hostile, interrupt_during_host_call, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    atomic_int calls = 0;
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), NULL);
    glint_function block = {.name = "Block", .ret = GLINT_VOID};
    EXPECT_OK(sb, glint_sandbox_register(sb, &block, interrupt_self, &calls));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "CallBlock", NULL, 0, NULL), GLINT_E_CANCELLED);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "CallBlock: call interrupted"),
              "message: %s", glint_sandbox_error(sb)->message);
    cr_assert_eq(atomic_load(&calls), 1);
    cr_assert(glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
}

/* ---- memory --------------------------------------------------------------- */

Test(hostile, write_zero_page, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    uint64_t site = hostile_where("zero_page", "WriteZero");
    glint_error e = expect_page_fault("zero_page", "WriteZero", 0x10, PF_WRITE | PF_USER);
    cr_assert_eq(e.error_code & PF_PRESENT, 0, "the zero page is present");
    cr_assert_eq(e.rip, site);
}

Test(hostile, read_zero_page, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    uint64_t site = hostile_where("zero_page", "ReadZero");
    glint_error e = expect_page_fault("zero_page", "ReadZero", 0, PF_USER);
    cr_assert_eq(e.error_code & (PF_PRESENT | PF_WRITE), 0);
    cr_assert_eq(e.rip, site);
}

Test(hostile, write_own_code, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    uint64_t code = hostile_where("write_code", "WriteCode");
    glint_error e = expect_page_fault("write_code", "WriteCode", code,
                                      PF_PRESENT | PF_WRITE | PF_USER);
    cr_assert(e.rip >= code && e.rip < code + 64, "rip 0x%llx outside WriteCode at 0x%llx",
              (unsigned long long)e.rip, (unsigned long long)code);
}

Test(hostile, supervisor_pages, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* KVM: supervisor pages (present); process: the runtime's pages are not
     * mapped in the sandbox process at all. */
    uint64_t present = th_backend() == GLINT_BACKEND_KVM ? PF_PRESENT : 0;
    expect_page_fault("supervisor", "ReadIdt", 0x5000, present | PF_USER);
    /* The page tables are not mapped at all, on either backend
     * (cpu_x86_64.c maps only the GDT, IDT, TSS, stubs, exception stack and
     * boot info of the runtime's pages). */
    glint_error e = expect_page_fault("supervisor", "ReadPageTable", 0x1000, PF_USER);
    cr_assert_eq(e.error_code & (PF_PRESENT | PF_WRITE), 0, "error code 0x%llx: %s",
                 (unsigned long long)e.error_code, e.message);
    cr_assert(th_has(e.message, "read of an unmapped page at 0x1000 in runtime memory"),
              "message: %s", e.message);
    expect_page_fault("supervisor", "ExecStub", 0x7000, present | PF_USER | PF_FETCH);
    expect_page_fault("supervisor", "WriteBootInfo", GLINT_BOOT_INFO_GVA + 8, PF_PRESENT | PF_WRITE | PF_USER);
}

static void expect_out_of_bounds(const char *fn, uint64_t address)
{
    glint_error e = hostile_call("out_of_bounds", fn, ST(GLINT_E_OUT_OF_BOUNDS));
    cr_assert_eq(e.address, address, "%s: address 0x%llx, want 0x%llx: %s", fn,
                 (unsigned long long)e.address, (unsigned long long)address, e.message);
    cr_assert(HAS_ANY(e.message, "outside", "out of bounds", "beyond"), "message: %s", e.message);
}

Test(hostile, write_beyond_memory, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    expect_out_of_bounds("WriteHigh", 0x3ff00000ull);
    expect_out_of_bounds("WriteFar", 0x7f0000000000ull);
}

Test(hostile, upper_half_and_non_canonical, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* Upper half: outside guest memory.  KVM: reported as such or as
     * #PF/#GP.  Process: a page fault above guest memory, out of bounds. */
    if (th_backend() == GLINT_BACKEND_KVM) {
        glint_error e = hostile_call("out_of_bounds", "WriteUpper",
                                     ST(GLINT_E_OUT_OF_BOUNDS) | ST(GLINT_E_EXCEPTION));
        if (e.status == GLINT_E_EXCEPTION)
            cr_assert(e.vector == 13 || e.vector == 14, "vector %u: %s", e.vector, e.message);
    } else {
        expect_out_of_bounds("WriteUpper", 0xffff800000001000ull);
    }
    /* Non-canonical: #GP. */
    glint_error e = hostile_call("out_of_bounds", "ReadNonCanonical", ST(GLINT_E_EXCEPTION));
    expect_vector(&e, 13);
}

static void expect_exec_fault(const char *fn, bool known_address)
{
    glint_error e = hostile_call("exec_data", fn, ST(GLINT_E_EXCEPTION));
    expect_vector(&e, 14);
    cr_assert(e.error_code & PF_FETCH, "%s: error code 0x%llx is not a fetch", fn,
              (unsigned long long)e.error_code);
    cr_assert(th_has(e.message, "instruction fetch from a non-executable page"), "%s: %s", fn,
              e.message);
    cr_assert_eq(e.rip, e.address, "%s: rip 0x%llx != address 0x%llx", fn,
                 (unsigned long long)e.rip, (unsigned long long)e.address);
    if (known_address) {
        uint64_t at = hostile_where("exec_data", fn);
        cr_assert_eq(e.address, at, "%s: fault at 0x%llx, want 0x%llx", fn,
                     (unsigned long long)e.address, (unsigned long long)at);
    }
}

Test(hostile, execute_data, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    expect_exec_fault("ExecData", true);
    expect_exec_fault("ExecStack", false);
    expect_exec_fault("ExecHeap", true);
    expect_exec_fault("ExecInput", true);
}

Test(hostile, stack_overflow, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TEST_GUEST("stack_overflow"), NULL);
    glint_value arg = glint_u64(10), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Recurse", &arg, 1, &r)); /* shallow is fine */
    glint_sandbox_destroy(sb);

    arg = glint_u64(1000000000ull);
    glint_error e = hostile_call_cfg("stack_overflow", "Recurse", &arg, 1,
                                     ST(GLINT_E_STACK_OVERFLOW), NULL);
    cr_assert_eq(e.vector, 14, "vector %u: %s", e.vector, e.message);
    cr_assert(HAS_ANY(e.message, "stack"), "message: %s", e.message);
    cr_assert_neq(e.address, 0);
}

Test(hostile, heap_exhausted, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_error e = hostile_call("heap_oom", "Exhaust", ST(GLINT_E_GUEST_OOM));
    cr_assert(HAS_ANY(e.message, "heap", "memory"), "message: %s", e.message);
    e = hostile_call("heap_oom", "Huge", ST(GLINT_E_GUEST_OOM));
    cr_assert(HAS_ANY(e.message, "heap", "memory"), "message: %s", e.message);

    /* In NULL-on-failure mode malloc returns NULL and the call succeeds. */
    glint_sandbox *sb = th_start(TEST_GUEST("heap_oom"), NULL);
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "NullMode", NULL, 0, &r));
    cr_assert_eq(r.type, GLINT_BOOL);
    cr_assert(r.v.b, "malloc(1 GiB) did not return NULL");
    glint_sandbox_destroy(sb);
}

/* ---- CPU ---------------------------------------------------------------- */

Test(hostile, privileged_instructions, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *const fns[] = {"Hlt",   "Cli",   "Sti",    "Lgdt",   "Lidt",  "MovCr3",
                                      "ReadCr0", "Wrmsr", "Rdmsr", "Invlpg", "Wbinvd"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        expect_fault_at("privileged", fns[i], 13);
}

Test(hostile, invalid_instructions, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    expect_fault_at("invalid_op", "Ud2", 6);
    expect_fault_at("invalid_op", "Ud0", 6);
}

Test(hostile, divide_errors, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_value zero = glint_i32(0), minus1 = glint_i32(-1);
    uint64_t site = hostile_where("div_zero", "DivZero");
    glint_error e = hostile_call_cfg("div_zero", "DivZero", &zero, 1, ST(GLINT_E_EXCEPTION), NULL);
    expect_vector(&e, 0);
    cr_assert_eq(e.rip, site);
    site = hostile_where("div_zero", "DivOverflow");
    e = hostile_call_cfg("div_zero", "DivOverflow", &minus1, 1, ST(GLINT_E_EXCEPTION), NULL);
    expect_vector(&e, 0);
    cr_assert_eq(e.rip, site);
}

Test(hostile, ports_that_are_not_hypercalls, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *const fns[] = {"Out80", "Out3f8", "In60", "OutExc", "OutlDone"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        glint_error e = hostile_call("bad_ports", fns[i], ST(GLINT_E_EXCEPTION));
        expect_vector(&e, 13);
    }
}

Test(hostile, kernel_entry_instructions, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *const fns[] = {"Syscall", "Int80", "Int3"};
    if (th_backend() == GLINT_BACKEND_KVM) {
        /* The vCPU's answer: hardware's or PVM's (see the gallery). */
        for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
            hostile_call("traps", fns[i], ST(GLINT_E_EXCEPTION));
        return;
    }
    /* Process: SYSCALL reaches the seccomp filter, which refuses it
     * (SIGSYS); RIP is after the instruction, where SYSCALL leaves it. */
    uint64_t site = hostile_where("traps", "Syscall");
    glint_error e = hostile_call("traps", "Syscall", ST(GLINT_E_EXCEPTION));
    cr_assert_eq(e.vector, 13, "vector %u: %s", e.vector, e.message);
    cr_assert(th_has(e.message, "the guest tried a system call (x86-64 system call 0)"),
              "message: %s", e.message);
    cr_assert_eq(e.rip, site + 2, "rip 0x%llx, want 0x%llx: %s", (unsigned long long)e.rip,
                 (unsigned long long)site + 2, e.message);
    /* INT $0x80: without IA-32 emulation, #GP at the instruction with error
     * code (0x80 << 3) | 2; with it, a refused 32-bit system call (SIGSYS,
     * RIP after it).  Both are named. */
    site = hostile_where("traps", "Int80");
    e = hostile_call("traps", "Int80", ST(GLINT_E_EXCEPTION));
    cr_assert_eq(e.vector, 13, "vector %u: %s", e.vector, e.message);
    if (th_has(e.message, "tried a system call")) {
        cr_assert(th_has(e.message, "32-bit (i386) system call"), "message: %s", e.message);
        cr_assert_eq(e.rip, site + 2, "rip 0x%llx: %s", (unsigned long long)e.rip, e.message);
    } else {
        cr_assert(th_has(e.message, "int $0x80 (a 32-bit system call), refused"), "message: %s",
                  e.message);
        cr_assert_eq(e.error_code, 0x402, "error code 0x%llx: %s",
                     (unsigned long long)e.error_code, e.message);
        cr_assert_eq(e.rip, site, "rip 0x%llx: %s", (unsigned long long)e.rip, e.message);
    }
    /* INT3: #BP, a trap: RIP after the one-byte instruction. */
    site = hostile_where("traps", "Int3");
    e = hostile_call("traps", "Int3", ST(GLINT_E_EXCEPTION));
    cr_assert_eq(e.vector, 3, "vector %u: %s", e.vector, e.message);
    cr_assert(th_has(e.message, "breakpoint (#BP)"), "message: %s", e.message);
    cr_assert_eq(e.rip, site + 1, "rip 0x%llx, want 0x%llx: %s", (unsigned long long)e.rip,
                 (unsigned long long)site + 1, e.message);
}

Test(hostile, broken_stack_cannot_triple_fault, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_error e = hostile_call("triple_fault", "BadStackUd2", ST(GLINT_E_EXCEPTION));
    expect_vector(&e, 6);
    e = hostile_call("triple_fault", "BadStackPush", ST(GLINT_E_EXCEPTION));
    expect_vector(&e, 14);
    cr_assert_eq(e.address, 0x1000, "address 0x%llx", (unsigned long long)e.address);
    /* RSP = 0, then push: a write at 0xffff...fff8, above guest memory. */
    if (th_backend() == GLINT_BACKEND_KVM) {
        hostile_call("triple_fault", "ZeroStack",
                     ST(GLINT_E_EXCEPTION) | ST(GLINT_E_OUT_OF_BOUNDS));
    } else {
        e = hostile_call("triple_fault", "ZeroStack", ST(GLINT_E_OUT_OF_BOUNDS));
        cr_assert_eq(e.address, 0xfffffffffffffff8ull, "address 0x%llx: %s",
                     (unsigned long long)e.address, e.message);
        cr_assert(th_has(e.message, "access outside guest memory"), "message: %s", e.message);
    }
}

/* With its IDT wiped (a test hook: ring 3 cannot do it), the next fault
 * triple-faults the vCPU: reported as GLINT_E_SHUTDOWN. */
Test(hostile, real_triple_fault_is_shutdown, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    SKIP_UNLESS_KVM("a process has no IDT to wipe and cannot triple-fault");
    glint_sandbox *sb = th_start(TEST_GUEST("invalid_op"), NULL);
    glint_debug_wipe_idt(sb);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Ud2", NULL, 0, NULL), GLINT_E_SHUTDOWN);
    cr_assert(HAS_ANY(glint_sandbox_error(sb)->message, "shut", "triple"), "message: %s",
              glint_sandbox_error(sb)->message);
    cr_assert(glint_sandbox_poisoned(sb));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Ud2", NULL, 0, NULL), GLINT_E_POISONED);
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
}

/* ---- malformed data from the guest ------------------------------------ */

Test(hostile, garbage_results, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *const fns[] = {"StrOffsetOOB", "StrLenHuge",   "StrLenBuffer",
                                      "BytesOffHuge", "BadTag",       "WrongType",
                                      "StringForInt", "BadStatus",    "ErrorNotString",
                                      "ErrorMsgOOB",  "BoolTwo",      "VoidTag",
                                      "BadUtf8"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        hostile_call("bad_result", fns[i], ST(GLINT_E_BAD_GUEST_DATA));
    /* The host finds the "no result" it wrote before the call (call.c). */
    glint_error e = hostile_call("bad_result", "NoResult", ST(GLINT_E_BAD_GUEST_DATA));
    cr_assert(th_has(e.message, "NoResult: guest function returned without a value "
                                "(declared -> int32)"),
              "message: %s", e.message);
}

Test(hostile, garbage_host_call_frames, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *const fns[] = {"NameLenZero", "NameLenLong", "NameOffOOB",
                                      "NameOffHuge", "TooManyArgs", "ArgBadTag",
                                      "ArgStrOOB",   "ArgLenHuge",  "RetBadTag"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        hostile_call("bad_hostcall", fns[i], ST(GLINT_E_BAD_GUEST_DATA));
}

Test(hostile, garbage_abort_frames, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* The guest asked to abort: an abort, with its code, whatever the frame's
     * message looks like; the host says what was wrong with it. */
    static const struct {
        const char *fn;
        int32_t code;
        const char *said;
    } frames[] = {
        {"MsgOffOOB", 1, "(code 1): (malformed abort frame: 16-byte message at offset 0x10040)"},
        {"MsgLenHuge", 2, "(code 2): huge [truncated]"},
        {"MsgOffHuge", 3, "(code 3): (malformed abort frame: 16-byte message at offset "
                          "0xfffffffffffffffb)"},
        {"BadKind", 4, "guest aborted (unknown abort kind 99, code 4): odd kind"},
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        glint_error f = hostile_call("bad_abort", frames[i].fn, ST(GLINT_E_ABORT));
        cr_assert_eq(f.abort_code, frames[i].code, "%s: code %d: %s", frames[i].fn, f.abort_code,
                     f.message);
        cr_assert(th_has(f.message, frames[i].said), "%s: message: %s", frames[i].fn, f.message);
    }

    /* A valid frame with a 10000-byte message: copied truncated, not a crash. */
    glint_error e = hostile_call("bad_abort", "LongRaw", ST(GLINT_E_ABORT));
    cr_assert_eq(e.abort_code, 77);
    cr_assert(th_has(e.message, "yyyyyyyy"), "message: %s", e.message);
    cr_assert_leq(count_char(e.message, 'y'), GLINT_ABORT_MSG_MAX, "more than %u bytes copied",
                  GLINT_ABORT_MSG_MAX);
}

/* ---- aborts ------------------------------------------------------------- */

Test(hostile, aborts, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_error e = hostile_call("aborts", "LongAbort", ST(GLINT_E_ABORT));
    cr_assert_eq(e.abort_code, 42);
    cr_assert(th_has(e.message, "begin xxxxxxxx"), "message: %s", e.message);
    cr_assert(!th_has(e.message, "xxx end"), "a 3000-byte message was not truncated");
    cr_assert_leq(count_char(e.message, 'x'), GLINT_ABORT_MSG_MAX, "more than %u bytes copied",
                  GLINT_ABORT_MSG_MAX);

    glint_value two = glint_i32(2);
    e = hostile_call_cfg("aborts", "AssertFail", &two, 1, ST(GLINT_E_ABORT), NULL);
    cr_assert(th_has(e.message, "aborts.c"), "assert message lacks the file: %s", e.message);
    cr_assert(th_has(e.message, "x == 1"), "assert message lacks the expression: %s", e.message);

    e = hostile_call("aborts", "Panic", ST(GLINT_E_ABORT));
    cr_assert(th_has(e.message, "panic number 7"), "message: %s", e.message);
    cr_assert(th_has(e.message, "aborts.c"), "panic message lacks the file: %s", e.message);

    e = hostile_call("aborts", "Abort", ST(GLINT_E_ABORT));
    cr_assert(th_has(e.message, "Abort: guest aborted (code 0): abort() called"), "message: %s",
              e.message);
}

Test(hostile, stack_smash, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TEST_GUEST("stack_smash"), NULL);
    glint_value arg = glint_u32(8), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Smash", &arg, 1, &r));
    cr_assert_eq(r.v.u32, 8);
    glint_sandbox_destroy(sb);

    arg = glint_u32(64);
    glint_error e = hostile_call_cfg("stack_smash", "Smash", &arg, 1, ST(GLINT_E_ABORT), NULL);
    cr_assert(HAS_ANY(e.message, "stack"), "message: %s", e.message);
}

/* ---- host calls that must be refused ---------------------------------- */

Test(hostile, unregistered_host_function, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TEST_GUEST("host_unregistered"), NULL);
    char buf[512];
    th_call_str(sb, "CallMissing", NULL, buf, sizeof buf);
    cr_assert(strncmp(buf, "rc=-1 msg=", 10) == 0, "guest saw: %s", buf);
    cr_assert(th_has(buf, "NoSuchHostFn"), "refusal does not name the function: %s", buf);
    cr_assert(!glint_sandbox_poisoned(sb), "a refused host call poisoned the sandbox");
    th_call_str(sb, "CallMissing", NULL, buf, sizeof buf); /* still usable */
    glint_sandbox_destroy(sb);
}

static glint_status count_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                             glint_value *ret, void *user)
{
    (void)hc;
    atomic_fetch_add((atomic_int *)user, 1);
    if (nargs != 1 || args[0].type != GLINT_I32)
        return glint_hostcall_fail(hc, "Count called with a wrong signature");
    ret->v.i32 = args[0].v.i32 + 1;
    return GLINT_OK;
}

Test(hostile, host_function_with_wrong_signature, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    atomic_int calls = 0;
    glint_sandbox *sb = th_create(TEST_GUEST("host_mismatch"), NULL);
    glint_function count = {.name = "Count", .ret = GLINT_I32, .nparams = 1, .params = {GLINT_I32}};
    EXPECT_OK(sb, glint_sandbox_register(sb, &count, count_cb, &calls));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    static const char *const fns[] = {"WrongType", "WrongCount0", "WrongCount2", "WrongRet",
                                      "WrongRetVoid"};
    char buf[512];
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        th_call_str(sb, fns[i], NULL, buf, sizeof buf);
        cr_assert(strncmp(buf, "rc=-1 msg=", 10) == 0, "%s: guest saw: %s", fns[i], buf);
        cr_assert(strlen(buf) > 10, "%s: refusal without a message", fns[i]);
        cr_assert(th_has(buf, "Count"), "%s: refusal does not name Count: %s", fns[i], buf);
        cr_assert_eq(atomic_load(&calls), 0, "%s reached the callback", fns[i]);
    }
    cr_assert(!glint_sandbox_poisoned(sb));
    th_call_str(sb, "Right", NULL, buf, sizeof buf);
    cr_assert_str_eq(buf, "rc=0 value=42");
    cr_assert_eq(atomic_load(&calls), 1);
    glint_sandbox_destroy(sb);
}

static glint_status fail_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                            glint_value *ret, void *user)
{
    (void)nargs, (void)ret;
    atomic_fetch_add((atomic_int *)user, 1);
    return glint_hostcall_fail(hc, "refusing %.*s", (int)args[0].v.str.len, args[0].v.str.ptr);
}

Test(hostile, host_function_fails, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    atomic_int calls = 0;
    glint_sandbox *sb = th_create(TEST_GUEST("host_fail"), NULL);
    glint_function fail = {.name = "Fail", .ret = GLINT_I32, .nparams = 1,
                           .params = {GLINT_STRING}};
    EXPECT_OK(sb, glint_sandbox_register(sb, &fail, fail_cb, &calls));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    char buf[512];
    th_call_str(sb, "CallFail", "xyz", buf, sizeof buf);
    cr_assert(strncmp(buf, "rc=-2 msg=", 10) == 0, "guest saw: %s", buf);
    cr_assert(th_has(buf, "refusing xyz"), "guest did not get the message: %s", buf);
    cr_assert_eq(atomic_load(&calls), 1);
    cr_assert(!glint_sandbox_poisoned(sb));
    th_call_str(sb, "CallFail", "again", buf, sizeof buf);
    cr_assert(th_has(buf, "refusing again"), "guest saw: %s", buf);
    glint_sandbox_destroy(sb);
}

static glint_status print_count_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                   glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret;
    atomic_fetch_add((atomic_int *)user, 1);
    return GLINT_OK;
}

static const glint_function print_sig = {.name = "print", .ret = GLINT_VOID, .nparams = 1,
                                         .params = {GLINT_STRING}};

Test(hostile, host_call_from_glint_main_is_refused, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    atomic_int prints = 0;
    glint_sandbox *sb = th_create(TEST_GUEST("hostcall_in_main"), NULL);
    EXPECT_OK(sb, glint_sandbox_register(sb, &print_sig, print_count_cb, &prints));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    char buf[512];
    th_call_str(sb, "MainResult", NULL, buf, sizeof buf);
    cr_assert(strncmp(buf, "rc=-1 msg=", 10) == 0, "glint_main's host call gave: %s", buf);
    cr_assert(strlen(buf) > 10, "refusal without a message");
    cr_assert_eq(atomic_load(&prints), 0, "print ran during initialization");
    glint_sandbox_destroy(sb);
}

Test(hostile, raw_host_call_from_glint_main_never_runs, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    atomic_int prints = 0;
    glint_sandbox *sb = th_create(TEST_GUEST("raw_hostcall_in_main"), NULL);
    EXPECT_OK(sb, glint_sandbox_register(sb, &print_sig, print_count_cb, &prints));
    /* Refused like any host call outside a guest call (hostcall.c): the
     * guest is told, ignores it, and initialization finishes. */
    EXPECT_OK(sb, glint_sandbox_init(sb));
    cr_assert_eq(atomic_load(&prints), 0, "print ran during initialization");
    cr_assert(!glint_sandbox_poisoned(sb));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    cr_assert_eq(atomic_load(&prints), 0);
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
}

/* A well-formed frame whose string is not UTF-8 is refused like a signature
 * mismatch: the guest is told, the callback never runs, nothing is poisoned. */
Test(hostile, host_call_with_invalid_utf8_is_refused, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    atomic_int prints = 0;
    glint_sandbox *sb = th_create(TEST_GUEST("bad_hostcall"), NULL);
    EXPECT_OK(sb, glint_sandbox_register(sb, &print_sig, print_count_cb, &prints));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    char buf[512], want[32];
    th_call_str(sb, "ArgBadUtf8", NULL, buf, sizeof buf);
    snprintf(want, sizeof want, "replied %u: ", GLINT_HOSTCALL_REFUSED);
    cr_assert(strncmp(buf, want, strlen(want)) == 0, "guest saw: %s", buf);
    cr_assert(th_has(buf, "UTF-8"), "refusal does not say why: %s", buf);
    cr_assert_eq(atomic_load(&prints), 0, "print ran with invalid UTF-8");
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);
}
