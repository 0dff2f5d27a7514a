/*
 * test_pool.c - the recycling pool: nothing of one use reaches the next
 * (registers, segment bases, control registers, MSRs, debug registers,
 * FPU/SSE/AVX, every memory page, the last error, auto-restore), poisoned
 * sandboxes come back pristine, fresh-VM mode, scale to zero, threads, a
 * 100,000-cycle soak with flat descriptors and memory, configuration errors.
 *
 * The leak guest (tests/guests/leak.c) dirties everything ring 3 can reach
 * and reads its state back as a struct leak_state; the test hooks
 * glint_debug_cpu_matches and glint_debug_memory_equal compare what the
 * host sees (every vCPU register group, every guest page) with the
 * snapshot.  pool_detectors proves these checks do see each kind of dirt.
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "guests/leak.h"
#include "helpers.h"
#include "sandbox.h" /* test hooks; struct glint_sandbox */

#define LEAK_GUEST TEST_GUEST("leak")
/* The guests' time limits: long enough for a Dirty call (~1 ms alone) on a
 * loaded machine; the spin case of the poisoned test costs SPIN_TIMEOUT_MS. */
#define SNAP_TIMEOUT_MS 5000
#define SPIN_TIMEOUT_MS 2000 /* process backend: a respawned child faults every page in again */

/* ---- the pool's host function ------------------------------------------- */

static atomic_long g_triple_calls;

static glint_status host_triple(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                glint_value *ret, void *user)
{
    (void)hc, (void)nargs;
    atomic_fetch_add((atomic_long *)user, 1);
    *ret = glint_i32(args[0].v.i32 * 3);
    return GLINT_OK;
}

static const glint_host_function g_host = {
    .sig = {.name = "HostTriple", .ret = GLINT_I32, .nparams = 1, .params = {GLINT_I32}},
    .callback = host_triple,
    .user = &g_triple_calls,
};

/* ---- helpers ------------------------------------------------------------- */

/* A snapshot of the leak guest right after initialization. */
static glint_snapshot *leak_snapshot_limit(uint32_t timeout_ms)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = timeout_ms;
    glint_sandbox *sb = th_create(LEAK_GUEST, &cfg);
    EXPECT_OK(sb, glint_sandbox_register(sb, &g_host.sig, g_host.callback, g_host.user));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_sandbox_destroy(sb);
    return snap;
}

static glint_snapshot *leak_snapshot(void)
{
    return leak_snapshot_limit(SNAP_TIMEOUT_MS);
}

static glint_pool *make_pool_min(const glint_snapshot *snap, size_t max_idle, size_t prefill,
                                 size_t min_idle, uint32_t idle_timeout_ms)
{
    glint_pool_config pc;
    glint_pool_config_default(&pc);
    pc.max_idle = max_idle;
    pc.prefill = prefill;
    pc.min_idle = min_idle;
    pc.idle_timeout_ms = idle_timeout_ms;
    pc.host = &g_host;
    pc.nhost = 1;
    glint_pool *pool = NULL;
    glint_error err;
    glint_status s = glint_pool_create(snap, &pc, &pool, &err);
    cr_assert_eq(s, GLINT_OK, "glint_pool_create: %s: %s", glint_status_name(s), err.message);
    return pool;
}

static glint_pool *make_pool(const glint_snapshot *snap, size_t max_idle, size_t prefill,
                             uint32_t idle_timeout_ms)
{
    return make_pool_min(snap, max_idle, prefill, 0, idle_timeout_ms);
}

static glint_sandbox *acquire(glint_pool *pool)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_pool_acquire(pool, &sb, &err);
    cr_assert_eq(s, GLINT_OK, "glint_pool_acquire: %s: %s", glint_status_name(s), err.message);
    cr_assert_not_null(sb);
    return sb;
}

static glint_pool_stats stats(glint_pool *pool)
{
    glint_pool_stats st;
    glint_pool_get_stats(pool, &st);
    return st;
}

/* Waits until the reaper has destroyed every VM that is neither idle nor
 * out, and (if idle_zero) the idle ones too; asserts it happens in time. */
static glint_pool_stats wait_reaped(glint_pool *pool, bool idle_zero, unsigned max_ms)
{
    double end = th_now_ms() + max_ms;
    glint_pool_stats st;
    for (;;) {
        st = stats(pool);
        bool done = st.created == st.destroyed + st.idle + st.out && (!idle_zero || st.idle == 0);
        if (done || th_now_ms() > end)
            break;
        th_sleep_ms(2);
    }
    cr_assert_eq(st.created, st.destroyed + st.idle + st.out,
                 "VMs not reaped within %u ms: created %llu, destroyed %llu, idle %zu, out %zu",
                 max_ms, (unsigned long long)st.created, (unsigned long long)st.destroyed, st.idle,
                 st.out);
    if (idle_zero)
        cr_assert_eq(st.idle, 0, "%zu idle sandboxes left after %u ms", st.idle, max_ms);
    return st;
}

static struct leak_state read_state(glint_sandbox *sb, const char *ctx)
{
    glint_value r;
    glint_status s = glint_sandbox_call(sb, "Read", NULL, 0, &r);
    cr_assert_eq(s, GLINT_OK, "%s: Read: %s: %s", ctx, glint_status_name(s),
                 glint_sandbox_error(sb)->message);
    struct leak_state st;
    cr_assert_eq(r.v.bytes.len, sizeof st, "%s: Read returned %zu bytes", ctx, r.v.bytes.len);
    memcpy(&st, r.v.bytes.ptr, sizeof st);
    cr_assert_eq(st.magic, LEAK_MAGIC, "%s: Read: bad magic", ctx);
    return st;
}

static glint_status dirty(glint_sandbox *sb, uint32_t mode)
{
    glint_value arg = glint_u32(mode);
    return glint_sandbox_call(sb, "Dirty", &arg, 1, NULL);
}

/* Names the field of struct leak_state at byte `off`. */
static void field_name(size_t off, char *buf, size_t size)
{
    static const char *const gpr[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    static const char *const sel[6] = {"cs", "ds", "es", "fs", "gs", "ss"};
    static const char *const region[LEAK_NREGIONS] = {"data/bss", "heap", "stack", "input buffer",
                                                      "output buffer"};
#define AT(f) offsetof(struct leak_state, f)
    if (off >= AT(gpr) && off < AT(rflags))
        snprintf(buf, size, "%s at entry", gpr[(off - AT(gpr)) / 8]);
    else if (off >= AT(sel) && off < AT(fs_magic))
        snprintf(buf, size, "%s selector", sel[(off - AT(sel)) / 8]);
    else if (off >= AT(fxsave) && off < AT(ymmh)) {
        size_t f = off - AT(fxsave);
        if (f < 2) snprintf(buf, size, "x87 control word");
        else if (f < 4) snprintf(buf, size, "x87 status word");
        else if (f < 8) snprintf(buf, size, "x87 tag word / opcode");
        else if (f < 24) snprintf(buf, size, "x87 instruction/data pointers");
        else if (f < 28) snprintf(buf, size, "MXCSR");
        else if (f < 32) snprintf(buf, size, "MXCSR mask");
        else if (f < 160) snprintf(buf, size, "x87 ST(%zu)", (f - 32) / 16);
        else if (f < 416) snprintf(buf, size, "XMM%zu", (f - 160) / 16);
        else snprintf(buf, size, "FXSAVE reserved byte %zu", f);
    } else if (off >= AT(ymmh) && off < AT(sum))
        snprintf(buf, size, "YMM%zu upper half", (off - AT(ymmh)) / 16);
    else if (off >= AT(sum) && off < AT(nonzero))
        snprintf(buf, size, "checksum of the %s", region[(off - AT(sum)) / 8]);
    else if (off >= AT(nonzero) && off < sizeof(struct leak_state))
        snprintf(buf, size, "non-zero words of the %s", region[(off - AT(nonzero)) / 8]);
    else if (off >= AT(rflags) && off < AT(sel)) snprintf(buf, size, "RFLAGS at entry");
    else if (off >= AT(fs_magic) && off < AT(fs_canary)) snprintf(buf, size, "%%fs:0 (FS base)");
    else if (off >= AT(fs_canary) && off < AT(xcr0)) snprintf(buf, size, "%%fs:0x28 (canary)");
    else if (off >= AT(xcr0) && off < AT(tsc_aux)) snprintf(buf, size, "XCR0");
    else if (off >= AT(tsc_aux) && off < AT(features)) snprintf(buf, size, "TSC_AUX");
    else snprintf(buf, size, "byte %zu", off);
#undef AT
}

/* The first differing field of a and b, or NULL if they are equal. */
static const char *state_diff(const struct leak_state *a, const struct leak_state *b, char *buf,
                              size_t size)
{
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    size_t n = 0, first = 0;
    for (size_t i = 0; i < sizeof *a; i++)
        if (x[i] != y[i] && !n++)
            first = i;
    if (!n)
        return NULL;
    char name[64];
    field_name(first, name, sizeof name);
    snprintf(buf, size, "%s differs (byte %zu: 0x%02x, baseline 0x%02x; %zu bytes differ)", name,
             first, x[first], y[first], n);
    return buf;
}

/*
 * RDTSCP's TSC_AUX is compared apart: on PVM hosts the guest's ring-3 code
 * runs with the host's TSC_AUX, the number of the host CPU it runs on, so
 * it varies from call to call.  It must never be what the guest tried to
 * write (LEAK_END_WRMSR_TSC_AUX writes 0x1234); glint_debug_cpu_matches
 * checks the vCPU's own TSC_AUX MSR.
 */
static void expect_same_state(const struct leak_state *now, const struct leak_state *base,
                              const char *ctx)
{
    char buf[200];
    struct leak_state masked = *now;
    cr_assert_neq(now->tsc_aux, 0x1234, "%s: the guest's TSC_AUX write survived", ctx);
    masked.tsc_aux = base->tsc_aux;
    const char *d = state_diff(&masked, base, buf, sizeof buf);
    cr_assert_null(d, "%s: state leaked into the next use: %s", ctx, d);
}

/* Everything the host can see equals the snapshot, and nothing of the
 * previous user's settings is left. */
static void expect_pristine(glint_sandbox *sb, const glint_snapshot *snap, const char *ctx)
{
    char why[512];
    cr_assert(!glint_sandbox_poisoned(sb), "%s: handed out poisoned", ctx);
    const glint_error *e = glint_sandbox_error(sb);
    cr_assert(e->status == GLINT_OK && e->message[0] == '\0',
              "%s: the last error survived: %s: %s", ctx, glint_status_name(e->status), e->message);
    cr_assert_null(sb->auto_restore, "%s: an auto-restore snapshot survived", ctx);
    cr_assert(glint_debug_cpu_matches(sb, snap, why, sizeof why), "%s: vCPU state: %s", ctx, why);
    cr_assert(glint_debug_memory_equal(sb, snap, why, sizeof why), "%s: guest memory: %s", ctx,
              why);
}

static void expect_baseline_sane(const struct leak_state *b)
{
    cr_assert_eq(b->fs_magic, GLINT_BOOT_MAGIC, "FS base does not point at the boot info page");
    cr_assert_eq(b->nonzero[LEAK_R_HEAP], 0, "a pristine heap has %llu non-zero words",
                 (unsigned long long)b->nonzero[LEAK_R_HEAP]);
    cr_assert_eq(b->nonzero[LEAK_R_STACK], 0, "the untouched stack has %llu non-zero words",
                 (unsigned long long)b->nonzero[LEAK_R_STACK]);
    cr_assert_eq(b->rflags & 0x40400, 0, "DF or AC set in a pristine guest");
}

static int count_fds(void)
{
    return th_count_fds();
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    cr_assert_not_null(f);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    cr_assert_gt(kib, 0, "no VmRSS in /proc/self/status");
    return kib;
}

/* ---- the detectors can fail ---------------------------------------------- */

struct detector_case {
    const char *what;
    uint32_t mode;
    size_t field, len; /* the part of leak_state that must change */
};

#define F(f) offsetof(struct leak_state, f), sizeof(((struct leak_state *)0)->f)

/* Each kind of dirt, on a sandbox nobody restores, is seen by Read and by
 * the test hooks; a restore then brings back the baseline. */
Test(pool, detectors_see_each_kind_of_dirt, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_sandbox *sb = NULL;
    glint_error err;
    cr_assert_eq(glint_sandbox_create_from_snapshot(snap, &sb, &err), GLINT_OK, "%s", err.message);
    EXPECT_OK(sb, glint_sandbox_register(sb, &g_host.sig, g_host.callback, g_host.user));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    struct leak_state base = read_state(sb, "baseline");
    expect_baseline_sane(&base);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));

    const struct detector_case cases[] = {
        {"heap and buffers", LEAK_MEM, F(sum[LEAK_R_HEAP])},
        {"input buffer", LEAK_MEM, F(sum[LEAK_R_INPUT])},
        {"output buffer", LEAK_MEM, F(sum[LEAK_R_OUTPUT])},
        {".data/.bss", LEAK_DATA, F(sum[LEAK_R_DATA])},
        {"stack", LEAK_STACK, F(sum[LEAK_R_STACK])},
        {"x87 control word", LEAK_VEC, offsetof(struct leak_state, fxsave), 2},
        {"x87 registers", LEAK_VEC, offsetof(struct leak_state, fxsave) + 32, 128},
        {"MXCSR", LEAK_VEC, offsetof(struct leak_state, fxsave) + 24, 4},
        {"XMM registers", LEAK_VEC, offsetof(struct leak_state, fxsave) + 160, 256},
        {"RFLAGS", LEAK_FLAGS, F(rflags)},
        {"callee-saved GPRs", LEAK_GPR | LEAK_KEEPRBX, offsetof(struct leak_state, gpr) + 12 * 8,
         32},
        {"RBP", LEAK_GPR | LEAK_KEEPRBX, offsetof(struct leak_state, gpr) + 6 * 8, 8},
        {"FS base (WRFSBASE)", LEAK_END(LEAK_END_WRFSBASE), F(fs_magic)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct detector_case *c = &cases[i];
        glint_status s = dirty(sb, c->mode);
        if (c->mode == LEAK_END(LEAK_END_WRFSBASE) && th_backend() == GLINT_BACKEND_PROCESS) {
            /* On the process backend the dirt may vanish by itself: on a
             * kernel that does not know the CPU honours WRFSBASE (PVM hosts
             * leave CR4.FSGSBASE on without advertising it), the kernel
             * puts back the FS base it knows at each context switch of the
             * sandbox process.  Whether it shows or not, no base survives a
             * restore (clean_call_leaves_nothing checks that). */
            cr_log_info("FS base (WRFSBASE) detector not checked on the process backend");
            EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
            continue;
        }
        if (c->mode == LEAK_END(LEAK_END_WRFSBASE) && s != GLINT_OK) {
            /* WRFSBASE faulted (CR4.FSGSBASE honoured): nothing to see. */
            EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
            continue;
        }
        cr_assert_eq(s, GLINT_OK, "Dirty(%s): %s", c->what, glint_sandbox_error(sb)->message);
        char why[512];
        cr_assert(!glint_debug_cpu_matches(sb, snap, why, sizeof why),
                  "%s: the vCPU hook sees no difference after a call", c->what);
        if (c->mode & (LEAK_MEM | LEAK_DATA | LEAK_STACK))
            cr_assert(!glint_debug_memory_equal(sb, snap, why, sizeof why),
                      "%s: the memory hook sees no difference", c->what);
        struct leak_state now = read_state(sb, c->what);
        cr_assert(memcmp((const uint8_t *)&now + c->field, (const uint8_t *)&base + c->field,
                         c->len) != 0,
                  "%s: Read does not see the dirt", c->what);
        EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
        now = read_state(sb, c->what);
        expect_same_state(&now, &base, c->what);
        EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    }
    if (base.features & LEAK_F_AVX) {
        EXPECT_OK(sb, dirty(sb, LEAK_VEC));
        struct leak_state now = read_state(sb, "YMM");
        cr_assert(memcmp(now.ymmh, base.ymmh, sizeof now.ymmh) != 0, "Read does not see YMM dirt");
    }
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

/* ---- nothing leaks ------------------------------------------------------- */

/* A clean call that dirtied everything ring 3 can reach: the next user of
 * the same VM finds the snapshot's state, byte for byte. */
Test(pool, clean_call_leaves_nothing, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, 1, 0, 0);

    glint_sandbox *sb = acquire(pool);
    expect_pristine(sb, snap, "first acquire");
    struct leak_state base = read_state(sb, "baseline");
    expect_baseline_sane(&base);
    glint_pool_release(pool, sb);

    const uint32_t modes[] = {LEAK_ALL, LEAK_ALL | LEAK_KEEPRBX, LEAK_MEM | LEAK_DATA | LEAK_STACK,
                              LEAK_VEC | LEAK_FLAGS | LEAK_SEG | LEAK_FSGS | LEAK_GPR,
                              LEAK_END(LEAK_END_WRFSBASE), LEAK_END(LEAK_END_WRGSBASE)};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "after Dirty(0x%x)", modes[i]);
        glint_sandbox *used = acquire(pool);
        cr_assert_eq(used, sb, "the pool did not recycle its only VM");
        glint_status s = dirty(used, modes[i]);
        bool fsgs =
            modes[i] == LEAK_END(LEAK_END_WRFSBASE) || modes[i] == LEAK_END(LEAK_END_WRGSBASE);
        cr_assert(s == GLINT_OK || (fsgs && s == GLINT_E_EXCEPTION), "%s: %s: %s", ctx,
                  glint_status_name(s), glint_sandbox_error(used)->message);
        glint_pool_release(pool, used);

        glint_sandbox *next = acquire(pool);
        cr_assert_eq(next, sb);
        expect_pristine(next, snap, ctx);
        struct leak_state now = read_state(next, ctx);
        expect_same_state(&now, &base, ctx);
        glint_pool_release(pool, next);
    }
    glint_pool_stats st = stats(pool);
    cr_assert_eq(st.created, 1);
    cr_assert_eq(st.reused, 2 * (sizeof modes / sizeof modes[0]));
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

struct end_case {
    enum leak_end end;
    const char *name;
    glint_status want;   /* GLINT_OK: any failure */
    int may_succeed;     /* ring 3 may do it on some hosts (PVM: FSGSBASE) */
};

static const struct end_case k_ends[] = {
    {LEAK_END_SPIN, "time limit", GLINT_E_TIMEOUT, 0},
    {LEAK_END_NULL, "null write", GLINT_E_EXCEPTION, 0},
    {LEAK_END_UD2, "ud2", GLINT_E_EXCEPTION, 0},
    {LEAK_END_ABORT, "abort", GLINT_E_ABORT, 0},
    {LEAK_END_WRMSR_KERNEL_GS_BASE, "wrmsr KERNEL_GS_BASE", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRMSR_STAR, "wrmsr STAR", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRMSR_LSTAR, "wrmsr LSTAR", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRMSR_SFMASK, "wrmsr SFMASK", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRMSR_TSC_AUX, "wrmsr TSC_AUX", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRMSR_PAT, "wrmsr PAT", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRMSR_EFER, "wrmsr EFER", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRMSR_FS_BASE, "wrmsr FS_BASE", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRMSR_GS_BASE, "wrmsr GS_BASE", GLINT_E_EXCEPTION, 0},
    {LEAK_END_SWAPGS, "swapgs", GLINT_E_EXCEPTION, 0},
    {LEAK_END_WRFSBASE, "wrfsbase", GLINT_E_EXCEPTION, 1},
    {LEAK_END_WRGSBASE, "wrgsbase", GLINT_E_EXCEPTION, 1},
    {LEAK_END_MOV_CR0, "mov cr0", GLINT_E_EXCEPTION, 0},
    {LEAK_END_MOV_CR3, "mov cr3", GLINT_E_EXCEPTION, 0},
    {LEAK_END_MOV_CR4, "mov cr4", GLINT_E_EXCEPTION, 0},
    {LEAK_END_MOV_DR0, "mov dr0", GLINT_E_EXCEPTION, 0},
    {LEAK_END_MOV_DR7, "mov dr7", GLINT_E_EXCEPTION, 0},
    {LEAK_END_LGDT, "lgdt", GLINT_E_EXCEPTION, 0},
    {LEAK_END_LIDT, "lidt", GLINT_E_EXCEPTION, 0},
    {LEAK_END_LTR, "ltr", GLINT_E_EXCEPTION, 0},
    {LEAK_END_XSETBV, "xsetbv", GLINT_E_EXCEPTION, 0},
    {LEAK_END_SYSCALL, "syscall", GLINT_OK, 0},
    {LEAK_END_INT80, "int 0x80", GLINT_OK, 0},
};

/* Failures of every kind, each after dirtying everything, some trying a
 * privileged change: the recycled VM comes back pristine. */
Test(pool, poisoned_sandboxes_come_back_pristine, .timeout = 2 * VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot_limit(SPIN_TIMEOUT_MS);
    glint_pool *pool = make_pool(snap, 1, 1, 0);
    glint_sandbox *sb = acquire(pool);
    struct leak_state base = read_state(sb, "baseline");
    glint_pool_release(pool, sb);

    for (size_t i = 0; i < sizeof k_ends / sizeof k_ends[0]; i++) {
        const struct end_case *c = &k_ends[i];
        glint_sandbox *used = acquire(pool);
        cr_assert_eq(used, sb, "%s: the pool did not recycle its only VM", c->name);
        glint_status s = dirty(used, LEAK_ALL | LEAK_END(c->end));
        if (!(c->may_succeed && s == GLINT_OK)) {
            cr_assert_neq(s, GLINT_OK, "%s at ring 3 did not fail", c->name);
            if (c->want != GLINT_OK)
                cr_assert_eq(s, c->want, "%s: %s, want %s: %s", c->name, glint_status_name(s),
                             glint_status_name(c->want), glint_sandbox_error(used)->message);
            cr_assert(glint_sandbox_poisoned(used), "%s: not poisoned", c->name);
        }
        glint_pool_release(pool, used);

        glint_sandbox *next = acquire(pool);
        cr_assert_eq(next, sb, "%s: a poisoned VM was not recycled", c->name);
        expect_pristine(next, snap, c->name);
        struct leak_state now = read_state(next, c->name);
        expect_same_state(&now, &base, c->name);
        glint_pool_release(pool, next);
    }
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

struct interrupter {
    glint_sandbox *sb;
    unsigned after_ms;
};

static void *interrupt_later(void *arg)
{
    struct interrupter *it = arg;
    th_sleep_ms(it->after_ms);
    glint_sandbox_interrupt(it->sb);
    return NULL;
}

/* A call stopped by glint_sandbox_interrupt (GLINT_E_CANCELLED). */
Test(pool, cancelled_sandbox_comes_back_pristine, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, 1, 0, 0);
    glint_sandbox *sb = acquire(pool);
    struct leak_state base = read_state(sb, "baseline");
    glint_pool_release(pool, sb);

    sb = acquire(pool);
    struct interrupter it = {sb, 10};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, interrupt_later, &it), 0);
    EXPECT_STATUS(sb, dirty(sb, LEAK_ALL | LEAK_END(LEAK_END_SPIN)), GLINT_E_CANCELLED);
    pthread_join(t, NULL);
    glint_pool_release(pool, sb);

    glint_sandbox *next = acquire(pool);
    cr_assert_eq(next, sb);
    expect_pristine(next, snap, "after a cancelled call");
    struct leak_state now = read_state(next, "after a cancelled call");
    expect_same_state(&now, &base, "after a cancelled call");
    glint_pool_release(pool, next);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

/* What a user set through the API does not survive either: an
 * auto-restore snapshot, a snapshot taken of the pooled sandbox (which
 * moves its restore base), the last error. */
Test(pool, user_settings_do_not_survive, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, 1, 0, 0);
    glint_sandbox *sb = acquire(pool);
    struct leak_state base[2]; /* a pristine sandbox's first and second Read */
    base[0] = read_state(sb, "baseline");
    base[1] = read_state(sb, "second baseline");
    glint_pool_release(pool, sb);

    sb = acquire(pool);
    EXPECT_OK(sb, dirty(sb, LEAK_MEM | LEAK_DATA | LEAK_VEC | LEAK_GPR | LEAK_KEEPRBX));
    glint_snapshot *mine = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &mine));
    EXPECT_OK(sb, glint_sandbox_set_auto_restore(sb, mine));
    (void)read_state(sb, "user's own state");
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "NoSuchFunction", NULL, 0, NULL), GLINT_E_NO_FUNCTION);
    glint_pool_release(pool, sb);
    glint_snapshot_free(mine);

    glint_sandbox *next = acquire(pool);
    cr_assert_eq(next, sb);
    expect_pristine(next, snap, "after a user's snapshot and auto-restore");
    uint64_t prev_aux = base[0].tsc_aux;
    for (int round = 0; round < 2; round++) { /* a stale auto-restore would show in round 2 */
        struct leak_state now = read_state(next, "after a user's auto-restore");
        struct leak_state want = base[round];
        if (round && prev_aux != base[0].tsc_aux) {
            /* The output buffer holds the first Read's result, TSC_AUX
             * included, which names the host CPU that Read ran on (see
             * expect_same_state): from another CPU than the baseline's, its
             * sums differ for that reason alone. */
            cr_log_info("second Read: the first ran on another host CPU (TSC_AUX %llu, baseline "
                        "%llu): output-buffer sums not compared",
                        (unsigned long long)prev_aux, (unsigned long long)base[0].tsc_aux);
            want.sum[LEAK_R_OUTPUT] = now.sum[LEAK_R_OUTPUT];
            want.nonzero[LEAK_R_OUTPUT] = now.nonzero[LEAK_R_OUTPUT];
        }
        prev_aux = now.tsc_aux;
        expect_same_state(&now, &want, round ? "second Read after a user's auto-restore"
                                             : "after a user's auto-restore");
    }
    glint_pool_release(pool, next);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

/* ---- modes, scale to zero, host functions ------------------------------- */

static void expect_add(glint_sandbox *sb, int32_t a, int32_t b)
{
    glint_value args[2] = {glint_i32(a), glint_i32(b)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_assert_eq(r.v.i32, a + b);
}

Test(pool, fresh_vm_mode_creates_every_time, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    int fds = count_fds();
    glint_pool *pool = make_pool(snap, 0, 0, 0);
    for (int i = 0; i < 5; i++) {
        glint_sandbox *sb = acquire(pool);
        glint_pool_stats st = stats(pool);
        cr_assert_eq(st.created, (uint64_t)i + 1, "acquire %d did not create a VM", i + 1);
        cr_assert_eq(st.reused, 0);
        cr_assert_eq(st.out, 1);
        expect_pristine(sb, snap, "fresh VM");
        expect_add(sb, i, 40);
        EXPECT_OK(sb, dirty(sb, LEAK_ALL | LEAK_KEEPRBX));
        glint_pool_release(pool, sb);
        cr_assert_eq(stats(pool).idle, 0, "fresh-VM mode kept an idle VM");
    }
    glint_pool_stats st = wait_reaped(pool, true, 5000);
    cr_assert_eq(st.destroyed, 5);
    cr_assert_eq(count_fds(), fds, "VMs left behind: %d descriptors, %d before the pool",
                 count_fds(), fds);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

static uint64_t pool_restores(glint_pool *pool)
{
    glint_pool_metrics m;
    glint_pool_get_metrics(pool, &m);
    cr_assert_eq(m.release_failures, 0);
    return m.sandboxes.restores;
}

/* A release restores only a sandbox the pool keeps: with max_idle 0, or
 * with max_idle ready already, the sandbox is destroyed as it is (a restore
 * would be thrown away), and what the pool keeps is still pristine. */
Test(pool, release_restores_only_what_it_keeps, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, 1, 0, 0);
    glint_sandbox *a = acquire(pool), *b = acquire(pool);
    EXPECT_OK(a, dirty(a, LEAK_ALL | LEAK_KEEPRBX));
    EXPECT_OK(b, dirty(b, LEAK_ALL | LEAK_KEEPRBX));
    glint_pool_release(pool, a); /* kept: restored */
    cr_assert_eq(stats(pool).idle, 1);
    cr_assert_eq(pool_restores(pool), 1, "the kept sandbox was not restored once");
    glint_pool_release(pool, b); /* the pool is full: destroyed unrestored */
    cr_assert_eq(pool_restores(pool), 1, "a sandbox the pool could not keep was restored");
    glint_pool_stats st = wait_reaped(pool, false, 5000);
    cr_assert_eq(st.destroyed, 1);
    cr_assert_eq(st.idle, 1);
    glint_sandbox *c = acquire(pool);
    cr_assert_eq(c, a, "the kept sandbox was not handed out again");
    expect_pristine(c, snap, "kept sandbox");
    glint_pool_release(pool, c);
    glint_pool_destroy(pool);

    pool = make_pool(snap, 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        glint_sandbox *sb = acquire(pool);
        expect_add(sb, i, 1);
        EXPECT_OK(sb, dirty(sb, LEAK_ALL | LEAK_KEEPRBX));
        glint_pool_release(pool, sb);
    }
    cr_assert_eq(pool_restores(pool), 0, "max_idle 0 restored a sandbox it then destroyed");
    glint_pool_metrics m;
    glint_pool_get_metrics(pool, &m);
    cr_assert_eq(m.releases, 3);
    cr_assert_eq(wait_reaped(pool, true, 5000).destroyed, 3);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

static int pin_to(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one);
}

/* An acquire prefers the newest sandbox given back on the caller's CPU
 * (the process backend binds a busy caller's sandbox process to its CPU:
 * taking another would move it), else the newest; the ring keeps its order
 * for the idle timeout. */
Test(pool, acquire_prefers_a_sandbox_given_back_on_this_cpu, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    cpu_set_t mine;
    cr_assert_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
    int c0 = -1, c1 = -1;
    for (int c = 0; c < CPU_SETSIZE && c1 < 0; c++)
        if (CPU_ISSET(c, &mine))
            *(c0 < 0 ? &c0 : &c1) = c;
    if (c1 < 0) {
        cr_skip_test("needs two CPUs; this process may use one");
        return;
    }
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, 4, 0, 0);
    glint_sandbox *a = acquire(pool), *b = acquire(pool), *c = acquire(pool);
    cr_assert_eq(pin_to(c0), 0);
    glint_pool_release(pool, a); /* on c0 */
    cr_assert_eq(pin_to(c1), 0);
    glint_pool_release(pool, b); /* on c1 */
    glint_pool_release(pool, c); /* on c1, the newest */
    cr_assert_eq(pin_to(c0), 0);
    glint_sandbox *x = acquire(pool);
    cr_assert_eq(x, a, "an acquire on CPU %d did not take the sandbox given back there", c0);
    cr_assert_eq(pin_to(c1), 0);
    glint_sandbox *y = acquire(pool);
    cr_assert_eq(y, c, "an acquire on CPU %d did not take the newest given back there", c1);
    cr_assert_eq(pin_to(c0), 0);
    glint_sandbox *z = acquire(pool); /* none left from c0: the newest */
    cr_assert_eq(z, b);
    expect_pristine(x, snap, "x");
    expect_pristine(z, snap, "z");
    sched_setaffinity(0, sizeof mine, &mine);
    glint_pool_release(pool, x);
    glint_pool_release(pool, y);
    glint_pool_release(pool, z);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

/* Threads of this process, to find the reaper. */
static size_t list_tasks(long *tids, size_t max)
{
    DIR *d = opendir("/proc/self/task");
    cr_assert_not_null(d);
    size_t n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (e->d_name[0] != '.' && n < max)
            tids[n++] = strtol(e->d_name, NULL, 10);
    closedir(d);
    return n;
}

static long context_switches(long tid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no %s", path);
    long total = 0, v;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
            sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
            total += v;
    fclose(f);
    return total;
}

/* An idle pool destroys its VMs after idle_timeout_ms, then its reaper
 * sleeps without wake-ups; the next acquire makes a new VM. */
Test(pool, idle_pool_scales_to_zero, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    int fds = count_fds();
    long before[256], after[256];
    size_t nb = list_tasks(before, 256);
    glint_pool *pool = make_pool(snap, 4, 4, 300);
    size_t na = list_tasks(after, 256);
    long reaper = -1;
    for (size_t i = 0; i < na; i++) {
        bool old = false;
        for (size_t k = 0; k < nb; k++)
            old |= after[i] == before[k];
        if (!old)
            reaper = after[i];
    }
    cr_assert_neq(reaper, -1, "cannot find the pool's thread");

    glint_pool_stats st = stats(pool);
    cr_assert_eq(st.idle, 4, "prefill: %zu idle", st.idle);
    cr_assert_eq(st.created, 4);
    glint_sandbox *a = acquire(pool), *b = acquire(pool);
    expect_add(a, 1, 2);
    expect_add(b, 3, 4);
    glint_pool_release(pool, a);
    glint_pool_release(pool, b);
    cr_assert_eq(stats(pool).idle, 4, "VMs destroyed before their idle time");

    double t0 = th_now_ms();
    st = wait_reaped(pool, true, 3000);
    cr_assert_geq(th_now_ms() - t0, 250, "idle VMs destroyed before idle_timeout_ms");
    cr_assert_eq(st.destroyed, 4);
    cr_assert_eq(count_fds(), fds, "VMs left after scaling to zero: %d descriptors, %d before",
                 count_fds(), fds);

    long cs = context_switches(reaper);
    th_sleep_ms(400);
    cr_assert_eq(context_switches(reaper), cs, "the reaper of an empty pool woke up");

    glint_sandbox *c = acquire(pool);
    cr_assert_eq(stats(pool).created, 5);
    expect_add(c, 5, 6);
    glint_pool_release(pool, c);
    glint_pool_destroy(pool);
    cr_assert_eq(count_fds(), fds);
    glint_snapshot_free(snap);
}

Test(pool, host_functions_are_registered, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, 2, 0, 0);
    long calls = atomic_load(&g_triple_calls);
    for (int i = 0; i < 3; i++) {
        glint_sandbox *sb = acquire(pool);
        glint_value arg = glint_i32(14), r;
        EXPECT_OK(sb, glint_sandbox_call(sb, "Triple", &arg, 1, &r));
        cr_assert_eq(r.v.i32, 42);
        glint_pool_release(pool, sb);
    }
    cr_assert_eq(atomic_load(&g_triple_calls) - calls, 3, "the pool's callback was not used");
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

/* Sandboxes still out when the pool is destroyed stay usable sandboxes. */
Test(pool, destroy_with_sandboxes_out, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, 2, 2, 0);
    glint_sandbox *sb = acquire(pool);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
    expect_add(sb, 20, 22);
    glint_sandbox_destroy(sb);
}

/* ---- bad input ----------------------------------------------------------- */

static glint_status try_pool(const glint_snapshot *snap, const glint_pool_config *pc,
                             glint_error *err)
{
    glint_pool *pool = (glint_pool *)1;
    glint_status s = glint_pool_create(snap, pc, &pool, err);
    if (s == GLINT_OK)
        glint_pool_destroy(pool);
    else
        cr_assert_null(pool, "a failed glint_pool_create left *out set");
    return s;
}

Test(pool, bad_configurations, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_error err;
    glint_pool_config pc;
    glint_pool_config_default(&pc);
    cr_assert_eq(pc.max_idle, 16);
    cr_assert_eq(pc.idle_timeout_ms, 30000);

    /* The snapshot expects HostTriple. */
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INCOMPATIBLE);
    cr_assert(th_has(err.message, "HostTriple"), "message: %s", err.message);

    pc.host = &g_host;
    pc.nhost = 1;
    pc.prefill = 17;
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INVALID);
    cr_assert(th_has(err.message, "prefill"), "message: %s", err.message);
    pc.prefill = 0;
    pc.min_idle = 17;
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INVALID);
    cr_assert(th_has(err.message, "min_idle 17 exceeds max_idle 16"), "message: %s", err.message);
    pc.min_idle = 0;
    pc.max_idle = (size_t)1 << 40;
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INVALID);
    cr_assert(th_has(err.message, "max_idle"), "message: %s", err.message);
    pc.max_idle = 2;
    pc.host = NULL;
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INVALID);

    glint_host_function bad[2] = {g_host, g_host};
    pc.host = bad;
    bad[0].sig.params[0] = GLINT_I64;
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INCOMPATIBLE);
    cr_assert(th_has(err.message, "HostTriple"), "message: %s", err.message);
    bad[0] = g_host;
    bad[1].sig.name = "Extra";
    pc.nhost = 2;
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INCOMPATIBLE);
    cr_assert(th_has(err.message, "Extra"), "message: %s", err.message);
    bad[1].sig.name = "no spaces allowed";
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INVALID);
    cr_assert(th_has(err.message, "valid name"), "message: %s", err.message);
    bad[1].sig.name = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij";
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INVALID);
    bad[1] = g_host;
    bad[1].callback = NULL;
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_E_INVALID);
    cr_assert(th_has(err.message, "callback"), "message: %s", err.message);

    pc.nhost = 1;
    cr_assert_eq(try_pool(NULL, &pc, &err), GLINT_E_INVALID);
    cr_assert_eq(glint_pool_create(snap, &pc, NULL, &err), GLINT_E_INVALID);
    cr_assert_eq(try_pool(snap, &pc, &err), GLINT_OK);

    glint_sandbox *sb = (glint_sandbox *)1;
    cr_assert_eq(glint_pool_acquire(NULL, &sb, &err), GLINT_E_INVALID);
    cr_assert_null(sb);
    glint_pool_release(NULL, NULL);
    glint_pool_destroy(NULL);
    glint_pool_stats st;
    glint_pool_get_stats(NULL, &st);
    cr_assert_eq(st.created, 0);
    glint_snapshot_free(snap);
}

/* ---- threads ------------------------------------------------------------- */

#define THREADS 8
#define THREAD_CYCLES 2000

struct worker {
    glint_pool *pool;
    int id;
    atomic_int *failures;
    char first[256]; /* the first failure (Criterion asserts only on the test thread) */
};

static void worker_fail(struct worker *w, const char *what, glint_sandbox *sb)
{
    atomic_fetch_add(w->failures, 1);
    if (!w->first[0])
        snprintf(w->first, sizeof w->first, "thread %d: %.100s: %.120s", w->id, what,
                 sb ? glint_sandbox_error(sb)->message : "");
}

static void worker_cycle(struct worker *w, int i)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    if (glint_pool_acquire(w->pool, &sb, &err) != GLINT_OK) {
        worker_fail(w, err.message, NULL);
        return;
    }
    if (glint_sandbox_poisoned(sb) || glint_sandbox_error(sb)->status != GLINT_OK)
        worker_fail(w, "handed out a poisoned or failed sandbox", sb);
    glint_value args[2] = {glint_i32(w->id * 100000), glint_i32(i)}, r;
    if (glint_sandbox_call(sb, "Add", args, 2, &r) != GLINT_OK || r.v.i32 != w->id * 100000 + i)
        worker_fail(w, "Add", sb);
    if (i % 50 == 0) {
        glint_value arg = glint_i32(i);
        if (glint_sandbox_call(sb, "Triple", &arg, 1, &r) != GLINT_OK || r.v.i32 != 3 * i)
            worker_fail(w, "Triple", sb);
    }
    if (i % 100 == 7 && dirty(sb, LEAK_ALL | LEAK_END(LEAK_END_UD2)) != GLINT_E_EXCEPTION)
        worker_fail(w, "Dirty + ud2 did not fault", sb);
    else if (i % 10 == 3 && dirty(sb, LEAK_ALL | LEAK_KEEPRBX) != GLINT_OK)
        worker_fail(w, "Dirty", sb);
    glint_pool_release(w->pool, sb);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < THREAD_CYCLES; i++)
        worker_cycle(w, i);
    return NULL;
}

Test(pool, many_threads_at_once, .timeout = 4 * VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, THREADS - 2, 0, 0);
    atomic_int failures = 0;
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.pool = pool, .id = i + 1, .failures = &failures};
        cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    const char *first = "";
    for (int i = 0; i < THREADS && !first[0]; i++)
        first = w[i].first;
    cr_assert_eq(atomic_load(&failures), 0, "%d failures; the first: %s", atomic_load(&failures),
                 first);
    glint_pool_stats st = wait_reaped(pool, false, 10000);
    cr_assert_eq(st.out, 0);
    cr_assert_eq(st.created + st.reused, (uint64_t)THREADS * THREAD_CYCLES,
                 "created %llu + reused %llu != %d acquires", (unsigned long long)st.created,
                 (unsigned long long)st.reused, THREADS * THREAD_CYCLES);
    cr_assert_leq(st.idle, THREADS - 2);
    /* Every idle VM is still pristine. */
    glint_sandbox *idle[THREADS];
    for (size_t i = 0; i < st.idle; i++) {
        idle[i] = acquire(pool);
        expect_pristine(idle[i], snap, "after the threads");
    }
    for (size_t i = 0; i < st.idle; i++)
        glint_pool_release(pool, idle[i]);
    fprintf(stderr, "pool threads: %d x %d cycles: created %llu, reused %llu, destroyed %llu\n",
            THREADS, THREAD_CYCLES, (unsigned long long)st.created, (unsigned long long)st.reused,
            (unsigned long long)st.destroyed);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

/* ---- soak and costs ------------------------------------------------------ */

#define SOAK_CYCLES 100000
#define SOAK_WARMUP 2000

/* One cycle of the soak: mostly acquire/Add/release; every 10th touches
 * heap pages, every 100th poisons the VM, every 1000th holds three VMs so
 * that one is created and one goes to the reaper. */
static void soak_cycle(glint_pool *pool, int i)
{
    glint_sandbox *sb = acquire(pool);
    glint_value args[2] = {glint_i32(i), glint_i32(1)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_assert_eq(r.v.i32, i + 1);
    if (i % 10 == 0) {
        glint_value n = glint_u32(4);
        EXPECT_OK(sb, glint_sandbox_call(sb, "Touch", &n, 1, &r));
    }
    if (i % 100 == 50)
        EXPECT_STATUS(sb, dirty(sb, LEAK_ALL | LEAK_END(LEAK_END_UD2)), GLINT_E_EXCEPTION);
    if (i % 1000 == 500) {
        glint_sandbox *b = acquire(pool), *c = acquire(pool);
        expect_add(b, i, 2);
        expect_add(c, i, 3);
        glint_pool_release(pool, b);
        glint_pool_release(pool, c);
    }
    glint_pool_release(pool, sb);
}

Test(pool, soak_keeps_descriptors_and_memory_flat, .timeout = 6 * VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool(snap, 2, 0, 0);
    for (int i = 0; i < SOAK_WARMUP; i++)
        soak_cycle(pool, i);
    wait_reaped(pool, false, 5000);
    int fds0 = count_fds();
    long rss0 = rss_kib();
    double t0 = th_now_ms();
    for (int i = SOAK_WARMUP; i < SOAK_CYCLES; i++)
        soak_cycle(pool, i);
    double ms = th_now_ms() - t0;
    glint_pool_stats st = wait_reaped(pool, false, 5000);
    int fds1 = count_fds();
    long rss1 = rss_kib();
    fprintf(stderr,
            "pool soak: %d cycles in %.1f s (%.1f us/cycle); fds %d -> %d; VmRSS %ld -> %ld KiB; "
            "created %llu, reused %llu, destroyed %llu\n",
            SOAK_CYCLES - SOAK_WARMUP, ms / 1000, ms * 1000 / (SOAK_CYCLES - SOAK_WARMUP), fds0,
            fds1, rss0, rss1, (unsigned long long)st.created, (unsigned long long)st.reused,
            (unsigned long long)st.destroyed);
    cr_assert_eq(fds1, fds0, "descriptors grew from %d to %d", fds0, fds1);
    /* Under AddressSanitizer freed memory sits in ASan's quarantine (up to
     * 256 MiB by default) before it is reused, so RSS grows without a leak;
     * there LeakSanitizer checks for leaks instead, and RSS only has to stay
     * within the quarantine. */
    long rss_slack = getenv("GLINT_UNDER_ASAN") ? 256 * 1024 + 2048 : 2048;
    cr_assert_leq(rss1 - rss0, rss_slack, "resident memory grew by %ld KiB", rss1 - rss0);
    cr_assert_gt(st.destroyed, 50, "the soak never sent a VM to the reaper");
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[(size_t)(p * (double)(n - 1))];
}

/* Not asserted: prints what a pooled call costs here. */
Test(pool, cost_report, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    enum { N = 3000, NF = 100 };
    static double t[N];

    glint_pool *pool = make_pool(snap, 4, 1, 0);
    for (int i = 0; i < N; i++) {
        double t0 = th_now_ms();
        glint_sandbox *sb = acquire(pool);
        glint_value args[2] = {glint_i32(i), glint_i32(1)};
        EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, NULL));
        glint_pool_release(pool, sb);
        t[i] = (th_now_ms() - t0) * 1000;
    }
    double p50 = percentile(t, N, 0.5), p90 = percentile(t, N, 0.9);

    for (int i = 0; i < N; i++) {
        glint_sandbox *sb = acquire(pool);
        glint_value n = glint_u32(4);
        EXPECT_OK(sb, glint_sandbox_call(sb, "Touch", &n, 1, NULL));
        double t0 = th_now_ms();
        glint_pool_release(pool, sb);
        t[i] = (th_now_ms() - t0) * 1000;
    }
    double rel50 = percentile(t, N, 0.5);
    glint_pool_destroy(pool);

    pool = make_pool(snap, 0, 0, 0);
    for (int i = 0; i < NF; i++) {
        double t0 = th_now_ms();
        glint_sandbox *sb = acquire(pool);
        glint_value args[2] = {glint_i32(i), glint_i32(1)};
        EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, NULL));
        glint_pool_release(pool, sb);
        t[i] = (th_now_ms() - t0) * 1000;
        th_sleep_ms(1); /* let the reaper keep up, as between requests */
    }
    double fresh50 = percentile(t, NF, 0.5);
    glint_pool_destroy(pool);

    for (int i = 0; i < NF; i++) {
        double t0 = th_now_ms();
        glint_sandbox *sb = NULL;
        glint_error err;
        cr_assert_eq(glint_sandbox_create_from_snapshot(snap, &sb, &err), GLINT_OK);
        EXPECT_OK(sb, glint_sandbox_register(sb, &g_host.sig, g_host.callback, g_host.user));
        EXPECT_OK(sb, glint_sandbox_init(sb));
        glint_value args[2] = {glint_i32(i), glint_i32(1)};
        EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, NULL));
        glint_sandbox_destroy(sb);
        t[i] = (th_now_ms() - t0) * 1000;
    }
    double inline50 = percentile(t, NF, 0.5);
    fprintf(stderr,
            "pool costs (us, p50): pooled acquire+Add+release %.1f (p90 %.1f); release after "
            "Touch(4 pages) %.1f; fresh-VM mode acquire+Add+release %.1f; "
            "create_from_snapshot+init+Add+destroy inline %.1f\n",
            p50, p90, rel50, fresh50, inline50);
    glint_snapshot_free(snap);
}

/* ---------------------------------------------------------------------------
 * Background refill (min_idle).
 */

/* Waits (up to max_ms) until `idle` sandboxes are ready; returns the stats. */
static glint_pool_stats wait_idle(glint_pool *pool, size_t idle, unsigned max_ms)
{
    double end = th_now_ms() + max_ms;
    glint_pool_stats st = stats(pool);
    while (st.idle != idle && th_now_ms() < end) {
        th_sleep_ms(2);
        st = stats(pool);
    }
    cr_assert_eq(st.idle, idle, "%zu ready after %u ms, expected %zu (created %llu, refilled %llu)",
                 st.idle, max_ms, idle, (unsigned long long)st.created,
                 (unsigned long long)st.refilled);
    return st;
}

Test(pool, min_idle_is_refilled_in_the_background, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    int fds = count_fds();
    glint_pool *pool = make_pool_min(snap, 8, 0, 3, 0);
    /* A new pool warms itself to min_idle, with no acquire and no prefill. */
    glint_pool_stats st = wait_idle(pool, 3, 10000);
    cr_assert_eq(st.created, 3);
    cr_assert_eq(st.refilled, 3);
    /* Three acquires are all served ready; the pool thread makes three more. */
    glint_sandbox *sb[3];
    for (int i = 0; i < 3; i++)
        sb[i] = acquire(pool);
    st = stats(pool);
    cr_assert_eq(st.reused, 3, "an acquire waited for a VM: reused %llu",
                 (unsigned long long)st.reused);
    st = wait_idle(pool, 3, 10000);
    cr_assert_eq(st.created, 6);
    cr_assert_eq(st.out, 3);
    for (int i = 0; i < 3; i++) {
        expect_add(sb[i], i, 1);
        glint_pool_release(pool, sb[i]);
    }
    st = stats(pool);
    cr_assert_eq(st.idle, 6, "released sandboxes are kept up to max_idle");
    cr_assert_eq(st.refill_failures, 0);
    glint_pool_destroy(pool);
    cr_assert_eq(count_fds(), fds);
    glint_snapshot_free(snap);
}

Test(pool, min_idle_still_scales_to_zero, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool_min(snap, 4, 0, 2, 1000);
    wait_idle(pool, 2, 10000);
    glint_sandbox *a = acquire(pool);
    double t_acquire = th_now_ms();
    expect_add(a, 2, 3);
    glint_pool_release(pool, a);
    /* In use (an acquire less than 1 s ago), the kept ones do not expire. */
    th_sleep_ms(300);
    size_t idle = stats(pool).idle;
    if (th_now_ms() - t_acquire < 900)
        cr_assert_geq(idle, 2, "kept sandboxes expired while the pool was in use");
    /* 1 s after the last acquire the pool goes to zero and stays there. */
    glint_pool_stats st = wait_reaped(pool, true, 5000);
    th_sleep_ms(1200);
    cr_assert_eq(stats(pool).idle, 0, "an unused pool refilled itself");
    cr_assert_eq(stats(pool).created, st.created);
    /* The next acquire brings refilling back. */
    glint_sandbox *b = acquire(pool);
    wait_idle(pool, 2, 10000);
    expect_add(b, 4, 5);
    glint_pool_release(pool, b);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

/* prefill and the background refill fill the same ring at once: it must
 * never hold more than max_idle (it overflowed, and destroy then freed a
 * sandbox twice). */
Test(pool, prefill_and_min_idle_share_the_ring, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    int fds = count_fds();
    for (int round = 0; round < 5; round++) {
        glint_pool *pool = make_pool_min(snap, 4, 4, 2, 0);
        th_sleep_ms(50);
        glint_pool_stats st = wait_reaped(pool, false, 5000);
        cr_assert_leq(st.idle, 4, "round %d: %zu ready in a ring of 4", round, st.idle);
        glint_sandbox *sb[4];
        for (int i = 0; i < 4; i++)
            sb[i] = acquire(pool);
        for (int i = 0; i < 4; i++)
            cr_assert_neq(sb[i], sb[(i + 1) % 4], "one sandbox handed out twice");
        for (int i = 0; i < 4; i++) {
            expect_add(sb[i], i, i);
            glint_pool_release(pool, sb[i]);
        }
        glint_pool_destroy(pool);
    }
    cr_assert_eq(count_fds(), fds);
    glint_snapshot_free(snap);
}

/* min_idle == max_idle: the refill leaves room for the ones out, so a pool
 * under a load of one keeps recycling instead of creating and destroying a
 * VM per acquire. */
Test(pool, min_idle_equal_to_max_idle_keeps_recycling, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = leak_snapshot();
    glint_pool *pool = make_pool_min(snap, 2, 0, 2, 0);
    wait_idle(pool, 2, 10000);
    for (int i = 0; i < 30; i++) {
        glint_sandbox *sb = acquire(pool);
        th_sleep_ms(5); /* give the refill time to act */
        expect_add(sb, i, 1);
        glint_pool_release(pool, sb);
    }
    glint_pool_stats st = wait_reaped(pool, false, 5000);
    cr_assert_leq(st.created, 3, "%llu VMs created, %llu destroyed for 30 sequential acquires",
                  (unsigned long long)st.created, (unsigned long long)st.destroyed);
    cr_assert_eq(st.reused, 30);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}
