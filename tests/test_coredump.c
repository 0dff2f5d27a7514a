/*
 * test_coredump.c - crash dumps (docs/observability.md, "Crash dumps"):
 * ELF core files that gdb opens, with the faulting function on top of the
 * backtrace, on the backend this run uses (scripts/test-backends.sh runs
 * the suite on each); the size cap against a huge guest memory; a guest
 * whose frame pointers are garbage; on-demand dumps; dumps under the
 * seccomp filter.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"

#define CRASH_GUEST TEST_GUEST("crash_guest")

static char *cd_tmpdir(void)
{
    char *d = strdup("/tmp/glint-core-XXXXXX");
    cr_assert(mkdtemp(d), "mkdtemp");
    return d;
}

static void cd_rmdir(char *d)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    (void)!system(cmd);
    free(d);
}

/* Runs gdb in batch mode on the core: its output (malloc'd). */
static char *cd_gdb(const char *elf, const char *core, const char *cmds)
{
    char cmd[1200], *out = calloc(1, 65536);
    snprintf(cmd, sizeof cmd, "timeout 60 gdb -nx -batch %s '%s' '%s' 2>&1", cmds, elf, core);
    FILE *f = popen(cmd, "r");
    cr_assert(f, "popen gdb");
    size_t n = fread(out, 1, 65535, f);
    out[n] = 0;
    pclose(f);
    return out;
}

static bool cd_have_gdb(void)
{
    return system("gdb --version >/dev/null 2>&1") == 0;
}

/* Creates a crash_guest sandbox with dumps into dir, calls fn(arg). */
static glint_status cd_crash(const char *dir, const glint_config *cfg, uint64_t cap, const char *fn,
                             int32_t arg, char *core, size_t core_size)
{
    glint_sandbox *sb = th_start(CRASH_GUEST, cfg);
    cr_assert_eq(glint_sandbox_set_core_dump(sb, dir, cap), GLINT_OK, "%s",
                 glint_sandbox_error(sb)->message);
    glint_value a = {.type = GLINT_I32, .v.i32 = arg}, r;
    glint_status s = glint_sandbox_call(sb, fn, &a, strcmp(fn, "Spin") ? 1 : 0, &r);
    const char *p = glint_sandbox_core_path(sb);
    cr_assert(p, "no core written: %s", glint_sandbox_error(sb)->message);
    cr_assert(!strstr(glint_sandbox_error(sb)->message, "no core dump"), "%s",
              glint_sandbox_error(sb)->message);
    snprintf(core, core_size, "%s", p);
    glint_sandbox_destroy(sb);
    return s;
}

static off_t cd_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_size;
}

Test(coredump, backtrace_names_faulting_function, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!cd_have_gdb())
        cr_skip_test("gdb is not installed");
    char *dir = cd_tmpdir(), core[512];
    glint_config cfg;
    glint_config_default(&cfg);
    cr_assert_eq(cd_crash(dir, &cfg, 0, "Crash", 7, core, sizeof core), GLINT_E_EXCEPTION);
    cr_assert(th_has(core, "/core.Crash."), "core path %s", core);
    char *out = cd_gdb(CRASH_GUEST, core, "-ex bt -ex 'info registers rip'");
    cr_assert(th_has(out, "#0  0x") && th_has(out, "in crash_inner ()"), "gdb:\n%s", out);
    cr_assert(th_has(out, "crash_middle") && th_has(out, "crash_outer") && th_has(out, "in Crash ()"),
              "gdb:\n%s", out);
    cr_assert(th_has(out, "<crash_inner+"), "gdb:\n%s", out);
    free(out);
    /* The note says what failed. */
    out = cd_gdb(CRASH_GUEST, core, "-ex 'info proc'");
    free(out);
    cd_rmdir(dir);
}

Test(coredump, garbage_frame_pointers_still_open, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!cd_have_gdb())
        cr_skip_test("gdb is not installed");
    char *dir = cd_tmpdir(), core[512];
    glint_config cfg;
    glint_config_default(&cfg);
    cr_assert_eq(cd_crash(dir, &cfg, 0, "SmashFp", 1, core, sizeof core), GLINT_E_EXCEPTION);
    char *out = cd_gdb(CRASH_GUEST, core, "-ex bt -ex 'print/x $rbp'");
    cr_assert(th_has(out, "in crash_smasher ()"), "gdb:\n%s", out);
    cr_assert(th_has(out, "0x4141414141414141"), "gdb:\n%s", out);
    free(out);
    cd_rmdir(dir);
}

Test(coredump, huge_memory_small_cap, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = cd_tmpdir(), core[512];
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 256u << 20;
    cfg.timeout_ms = 30000; /* touching 64 MiB for the first time is slow on some KVM hosts */
    uint64_t cap = 256u << 10;
    /* 64 MiB of non-zero heap, then a fault. */
    cr_assert_eq(cd_crash(dir, &cfg, cap, "FillCrash", 64, core, sizeof core), GLINT_E_EXCEPTION);
    off_t sz = cd_size(core);
    cr_assert(sz > 0 && (uint64_t)sz <= cap, "core of %lld bytes, cap %llu", (long long)sz,
              (unsigned long long)cap);
    char cmd[600], buf[1024] = "";
    snprintf(cmd, sizeof cmd, "grep -a -o 'TRUNCATED: [^(]*' '%s'", core);
    FILE *f = popen(cmd, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    pclose(f);
    cr_assert(th_has(buf, "TRUNCATED"), "no truncation note in %s", core);
    if (cd_have_gdb()) {
        char *out = cd_gdb(CRASH_GUEST, core, "-ex bt");
        cr_assert(th_has(out, "in crash_inner ()"), "gdb:\n%s", out);
        free(out);
    }
    /* Without the cap the dump holds the 64 MiB. */
    cr_assert_eq(cd_crash(dir, &cfg, 0, "FillCrash", 64, core, sizeof core), GLINT_E_EXCEPTION);
    cr_assert(cd_size(core) > (64 << 20), "uncapped core of %lld bytes", (long long)cd_size(core));
    cd_rmdir(dir);
}

Test(coredump, time_limit_dump, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = cd_tmpdir(), core[512];
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 50;
    cr_assert_eq(cd_crash(dir, &cfg, 0, "Spin", 0, core, sizeof core), GLINT_E_TIMEOUT);
    if (cd_have_gdb()) {
        char *out = cd_gdb(CRASH_GUEST, core, "-ex bt");
        cr_assert(th_has(out, "in Spin ()"), "gdb:\n%s", out);
        free(out);
    }
    cd_rmdir(dir);
}

Test(coredump, on_demand_and_off, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = cd_tmpdir(), path[600];
    glint_sandbox *sb = th_start(CRASH_GUEST, NULL);
    glint_value a = {.type = GLINT_I32, .v.i32 = 1}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Ok", &a, 1, &r));
    snprintf(path, sizeof path, "%s/now.core", dir);
    EXPECT_OK(sb, glint_sandbox_write_core(sb, path));
    cr_assert_str_eq(glint_sandbox_core_path(sb), path);
    cr_assert(cd_size(path) > 4096);
    if (cd_have_gdb()) {
        char *out = cd_gdb(CRASH_GUEST, path, "-ex 'info registers rip'");
        cr_assert(th_has(out, "_start"), "gdb:\n%s", out);
        free(out);
    }
    /* Off (the default): a failure writes nothing. */
    cr_assert_eq(glint_sandbox_call(sb, "Crash", &a, 1, &r), GLINT_E_EXCEPTION);
    cr_assert_str_eq(glint_sandbox_core_path(sb), path);
    /* Bad configurations. */
    cr_assert_eq(glint_sandbox_set_core_dump(sb, "/nonexistent/dir", 0), GLINT_E_IO);
    cr_assert_eq(glint_sandbox_set_core_dump(sb, dir, 100), GLINT_E_INVALID);
    glint_sandbox_destroy(sb);
    cd_rmdir(dir);
}

/* On demand between calls on a pool's sandbox (whose calls end with the
 * process backend's stub parking for the restore that follows): the dump
 * reads that park first, so the next call and the release succeed (before,
 * the next call waited for a park record that never came, and failed). */
Test(coredump, on_demand_in_a_pooled_sandbox, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = cd_tmpdir(), path[600];
    glint_sandbox *sb = th_start(CRASH_GUEST, NULL);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_sandbox_destroy(sb);
    glint_pool_config pc;
    glint_pool_config_default(&pc);
    glint_pool *pool = NULL;
    glint_error err;
    cr_assert_eq(glint_pool_create(snap, &pc, &pool, &err), GLINT_OK, "%s", err.message);
    glint_value a = {.type = GLINT_I32, .v.i32 = 1}, r;
    for (int i = 0; i < 3; i++) {
        glint_sandbox *p = NULL;
        cr_assert_eq(glint_pool_acquire(pool, &p, &err), GLINT_OK, "%s", err.message);
        EXPECT_OK(p, glint_sandbox_call(p, "Ok", &a, 1, &r));
        snprintf(path, sizeof path, "%s/pooled-%d.core", dir, i);
        EXPECT_OK(p, glint_sandbox_write_core(p, path));
        cr_assert(cd_size(path) > 4096);
        EXPECT_OK(p, glint_sandbox_call(p, "Ok", &a, 1, &r));
        glint_pool_release(pool, p);
    }
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
    cd_rmdir(dir);
}

Test(coredump, cli_under_seccomp, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = cd_tmpdir();
    char cmd[800], buf[2048] = "";
    snprintf(cmd, sizeof cmd, "%s/bin/glint call --core-dump '%s' %s Crash 3 2>&1; ls '%s'",
             GLINT_BUILD_DIR, dir, CRASH_GUEST, dir);
    FILE *f = popen(cmd, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    pclose(f);
    cr_assert(th_has(buf, "core dump written to") && th_has(buf, "core.Crash."), "%s", buf);
    cd_rmdir(dir);
}

/* AVX state in the core: NT_X86_XSTATE, so gdb shows the YMM registers
 * whole (upper halves included) as the guest left them. */
Test(coredump, avx_registers_in_core, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!cd_have_gdb())
        cr_skip_test("gdb is not installed");
    char *dir = cd_tmpdir(), core[512];
    glint_sandbox *sb = th_start(CRASH_GUEST, NULL);
    cr_assert_eq(glint_sandbox_set_core_dump(sb, dir, 0), GLINT_OK, "%s", glint_sandbox_error(sb)->message);
    glint_value a = {.type = GLINT_I32, .v.i32 = 0x11223344}, r;
    glint_status s = glint_sandbox_call(sb, "AvxCrash", &a, 1, &r);
    if (s == GLINT_OK) {
        cr_assert_eq(r.v.i32, -1);
        glint_sandbox_destroy(sb);
        cd_rmdir(dir);
        cr_skip_test("the guest has no AVX on this backend here");
    }
    cr_assert_eq(s, GLINT_E_EXCEPTION, "%s", glint_sandbox_error(sb)->message);
    cr_assert(glint_sandbox_core_path(sb), "no core: %s", glint_sandbox_error(sb)->message);
    snprintf(core, sizeof core, "%s", glint_sandbox_core_path(sb));
    glint_sandbox_destroy(sb);
    char *out = cd_gdb(CRASH_GUEST, core, "-ex bt -ex 'p/x $ymm1.v8_int32' -ex 'p/x $ymm2.v8_int32'");
    cr_assert(th_has(out, "in avx_crasher ()"), "gdb:\n%s", out);
    cr_assert(th_has(out, "{0x11223344, 0x11223344, 0x11223344, 0x11223344, 0x11223344, 0x11223344, "
                          "0x11223344, 0x11223344}"),
              "gdb does not show YMM1 whole:\n%s", out);
    cr_assert(th_has(out, "{0x11223345, 0x11223345, 0x11223345, 0x11223345, 0x11223345, 0x11223345, "
                          "0x11223345, 0x11223345}"),
              "gdb does not show YMM2 whole:\n%s", out);
    free(out);
    cd_rmdir(dir);
}
