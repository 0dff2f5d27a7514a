/*
 * test_log.c - guest logging (glint_log, glint_sandbox_set_log): levels
 * known to the guest without an exit (messages above them are not even
 * formatted), callback contents, the per-call caps, the stderr default,
 * logging in glint_main, and snapshots (the internal log function is not
 * part of the host-function set).  Guest: tests/guests/log_guest.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "helpers.h"

#define LOG_GUEST TEST_GUEST("log_guest")

struct rec {
    unsigned level;
    char file[256];
    uint32_t line;
    char msg[128];
};

struct logbook {
    struct rec r[256];
    size_t n, total;
    uint64_t bytes;
    glint_sandbox *sb_seen;
};

static void on_log(glint_sandbox *sb, unsigned level, const char *file, uint32_t line,
                   const char *message, void *user)
{
    struct logbook *b = user;
    b->sb_seen = sb;
    b->total++;
    b->bytes += strlen(message);
    if (b->n < sizeof b->r / sizeof b->r[0]) {
        struct rec *r = &b->r[b->n++];
        r->level = level;
        snprintf(r->file, sizeof r->file, "%s", file);
        r->line = line;
        snprintf(r->msg, sizeof r->msg, "%s", message);
    }
}

static uint32_t call_u32(glint_sandbox *sb, const char *fn)
{
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, fn, NULL, 0, &r));
    return r.v.u32;
}

Test(log, levels_above_the_maximum_are_not_formatted, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct logbook b = {0};
    glint_sandbox *sb = th_create(LOG_GUEST, NULL);
    EXPECT_OK(sb, glint_sandbox_set_log(sb, GLINT_LOG_INFO, on_log, &b));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    cr_assert_eq(b.n, 1, "glint_main logs one warning");
    cr_expect_str_eq(b.r[0].msg, "from glint_main");
    b.n = 0;
    cr_expect_eq(call_u32(sb, "Level"), GLINT_LOG_INFO, "the guest sees the level");
    uint64_t exits = glint_sandbox_exit_count(sb);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Levels", NULL, 0, NULL));
    cr_assert_eq(b.n, 3, "error, warn and info arrive, got %zu", b.n);
    cr_expect_eq(b.r[0].level, GLINT_LOG_ERROR);
    cr_expect_eq(b.r[1].level, GLINT_LOG_WARN);
    cr_expect_eq(b.r[2].level, GLINT_LOG_INFO);
    cr_expect_str_eq(b.r[2].msg, "info side");
    cr_expect_eq(glint_sandbox_exit_count(sb) - exits, 4, "one exit per message sent, one for the end");
    cr_expect_eq(call_u32(sb, "Formatted"), 3, "debug and trace were not formatted");

    EXPECT_OK(sb, glint_sandbox_set_log(sb, GLINT_LOG_TRACE, on_log, &b));
    b.n = 0;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Levels", NULL, 0, NULL));
    cr_expect_eq(b.n, 5);
    cr_expect_eq(call_u32(sb, "Formatted"), 8);

    EXPECT_OK(sb, glint_sandbox_set_log(sb, GLINT_LOG_OFF, on_log, &b));
    b.n = 0;
    exits = glint_sandbox_exit_count(sb);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Levels", NULL, 0, NULL));
    cr_expect_eq(b.n, 0);
    cr_expect_eq(glint_sandbox_exit_count(sb) - exits, 1, "logging off costs no exit");
    cr_expect_eq(call_u32(sb, "Formatted"), 8);
    cr_expect_eq(glint_sandbox_set_log(sb, 6, on_log, &b), GLINT_E_INVALID);
    glint_sandbox_destroy(sb);
}

Test(log, callback_gets_level_file_line_and_message, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct logbook b = {0};
    glint_sandbox *sb = th_create(LOG_GUEST, NULL);
    EXPECT_OK(sb, glint_sandbox_set_log(sb, GLINT_LOG_ERROR, on_log, &b));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_value arg = glint_i32(7), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Located", &arg, 1, &r));
    cr_assert_eq(r.type, GLINT_STRING);
    unsigned line = 0;
    cr_assert_eq(sscanf(r.v.str.ptr, "kept %u", &line), 1, "the result survives: %s", r.v.str.ptr);
    cr_assert_eq(b.n, 1);
    cr_expect_eq(b.sb_seen, sb);
    cr_expect_eq(b.r[0].level, GLINT_LOG_ERROR);
    cr_expect(th_has(b.r[0].file, "log_guest.c"), "file: %s", b.r[0].file);
    cr_expect_eq(b.r[0].line, line);
    cr_expect_str_eq(b.r[0].msg, "value 7 and text?with a newline", "one line: %s", b.r[0].msg);
    cr_expect_eq(glint_sandbox_log_dropped(sb), 0);
    glint_sandbox_destroy(sb);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

Test(log, a_flood_is_capped_counted_and_reported, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct logbook b = {0};
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 30000;
    glint_sandbox *sb = th_create(LOG_GUEST, &cfg);
    EXPECT_OK(sb, glint_sandbox_set_log(sb, GLINT_LOG_WARN, on_log, &b));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    b.n = b.total = 0;
    /* By count: 1000 short messages. */
    glint_value args[2] = {glint_u32(1000), glint_u32(3)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "Flood", args, 2, NULL));
    cr_assert_eq(b.total, GLINT_LOG_MAX_MESSAGES + 1, "100 messages and the report, got %zu", b.total);
    cr_expect_str_eq(b.r[100].msg, "900 guest log messages dropped (at most 100 messages and 65536 "
                                   "bytes per call)");
    cr_expect_eq(b.r[100].level, GLINT_LOG_WARN);
    cr_expect_str_eq(b.r[100].file, "");
    cr_expect_eq(glint_sandbox_log_dropped(sb), 900);

    /* The caps are per call: the next one gets its 100 again. */
    b.n = b.total = b.bytes = 0;
    args[0] = glint_u32(50), args[1] = glint_u32(3000);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Flood", args, 2, NULL));
    size_t delivered = b.total - 1;
    cr_expect(delivered >= 20 && delivered <= 22, "64 KiB of ~3 KB messages: %zu", delivered);
    cr_expect_leq(b.bytes - strlen(b.r[b.n - 1].msg), GLINT_LOG_MAX_BYTES);
    cr_expect_eq(glint_sandbox_log_dropped(sb), 900 + (50 - delivered));

    /* Host memory stays flat under a long flood. */
    long before = rss_kib();
    args[0] = glint_u32(20000), args[1] = glint_u32(100);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Flood", args, 2, NULL));
    long after = rss_kib();
    cr_expect_lt(after - before, 4096, "RSS grew by %ld KiB", after - before);
    cr_expect_eq(glint_sandbox_log_dropped(sb), 900 + (50 - delivered) + 19900);
    glint_sandbox_destroy(sb);
}

Test(log, default_is_warn_and_above_on_stderr, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char path[] = "/tmp/glint-log-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    glint_sandbox *sb = th_start(LOG_GUEST, NULL);
    glint_status s = glint_sandbox_call(sb, "Levels", NULL, 0, NULL);
    uint32_t formatted = call_u32(sb, "Formatted");
    glint_sandbox_destroy(sb);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    cr_assert_eq(s, GLINT_OK);
    char text[4096] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    unlink(path);
    cr_assert_gt(n, 0);
    text[n] = 0;
    cr_expect(th_has(text, "glint: guest log [warn] "), "%s", text);
    cr_expect(th_has(text, "log_guest.c:") && th_has(text, ": from glint_main\n"), "%s", text);
    cr_expect(th_has(text, "glint: guest log [error] ") && th_has(text, ": error side\n"), "%s", text);
    cr_expect(th_has(text, ": warn side\n"), "%s", text);
    cr_expect(!th_has(text, "info side"), "%s", text);
    cr_expect_eq(formatted, 2);
}

Test(log, reserved_name_and_level_names)
{
    unsigned l = 99;
    cr_expect_eq(glint_log_level_parse("DEBUG", &l, NULL), GLINT_OK);
    cr_expect_eq(l, GLINT_LOG_DEBUG);
    cr_expect_eq(glint_log_level_parse("warning", &l, NULL), GLINT_OK);
    cr_expect_eq(l, GLINT_LOG_WARN);
    glint_error e;
    cr_expect_eq(glint_log_level_parse("loud", &l, &e), GLINT_E_INVALID);
    cr_expect(th_has(e.message, "loud"));
    cr_expect_str_eq(glint_log_level_name(GLINT_LOG_TRACE), "trace");
    cr_expect_str_eq(glint_log_level_name(9), "?");
}

static glint_status nop_host(glint_hostcall *hc, const glint_value *args, size_t nargs,
                             glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret, (void)user;
    return GLINT_OK;
}

Test(log, works_from_snapshots_without_changing_the_host_set, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_create(LOG_GUEST, NULL);
    glint_function reserved = {.name = GLINT_LOG_HOSTFN, .ret = GLINT_VOID};
    cr_expect_eq(glint_sandbox_register(sb, &reserved, nop_host, NULL), GLINT_E_INVALID);
    EXPECT_OK(sb, glint_sandbox_set_log(sb, GLINT_LOG_OFF, NULL, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    cr_expect_eq(glint_snapshot_host_count(snap), 1, "only print");
    glint_sandbox *sb2;
    glint_error err;
    cr_assert_eq(glint_sandbox_create_from_snapshot(snap, &sb2, &err), GLINT_OK, "%s", err.message);
    struct logbook b = {0};
    EXPECT_OK(sb2, glint_sandbox_set_log(sb2, GLINT_LOG_DEBUG, on_log, &b));
    EXPECT_OK(sb2, glint_sandbox_init(sb2));
    EXPECT_OK(sb2, glint_sandbox_call(sb2, "Levels", NULL, 0, NULL));
    cr_expect_eq(b.n, 4);
    /* Auto-restore between calls keeps logging. */
    EXPECT_OK(sb2, glint_sandbox_set_auto_restore(sb2, snap));
    b.n = 0;
    EXPECT_OK(sb2, glint_sandbox_call(sb2, "Levels", NULL, 0, NULL));
    cr_expect_eq(b.n, 4);
    glint_sandbox_destroy(sb2);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}
