/*
 * test_profile.c - the sampling profiler: nested functions with a hot one,
 * a guest that lies in its frame pointers, the SVG's structure, time
 * limits while sampling, misuse.  Guest: tests/guests/prof_guest.c.
 */
#include <stdio.h>

#include "helpers.h"

#define PROF_GUEST TEST_GUEST("prof_guest")

static char *slurp(const char *path)
{
    char *buf = th_read_text(path, 1 << 22);
    cr_assert_not_null(buf, "%s", path);
    return buf;
}

static glint_sandbox *start_long(void)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 20000;
    return th_start(PROF_GUEST, &cfg);
}

/* Sum of the counts of folded lines whose stack contains `needle`. */
static uint64_t count_of(const char *folded, const char *needle)
{
    uint64_t sum = 0;
    const char *p = folded;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        char *sp = strrchr(line, ' ');
        if (sp) {
            *sp = 0;
            if (strstr(line, needle))
                sum += strtoull(sp + 1, NULL, 10);
        }
        p += len + (e ? 1 : 0);
    }
    return sum;
}

Test(profile, hot_function_dominates, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_long();
    EXPECT_OK(sb, glint_sandbox_profile_start(sb, 2000));
    glint_value arg = glint_u64(100000);
    for (int i = 0; i < 2; i++) /* across calls */
        EXPECT_OK(sb, glint_sandbox_call(sb, "Burn", &arg, 1, NULL));
    char folded[] = "/tmp/glint-prof-XXXXXX";
    int fd = mkstemp(folded);
    close(fd);
    char svg[64];
    snprintf(svg, sizeof svg, "%s.svg", folded);
    uint64_t samples = 0;
    EXPECT_OK(sb, glint_sandbox_profile_stop(sb, folded, svg, &samples));
    char *text = slurp(folded);
    cr_assert_gt(samples, 50, "samples: %llu", (unsigned long long)samples);
    uint64_t hot = count_of(text, "Burn;outer;middle;hot_inner");
    uint64_t cold = count_of(text, "cold_inner");
    uint64_t all = count_of(text, "");
    cr_expect_eq(all, samples, "every sample is in the folded output");
    cr_expect_gt(hot, samples / 2, "hot_inner dominates: %llu of %llu\n%s", (unsigned long long)hot,
                 (unsigned long long)samples, text);
    cr_expect_gt(hot, cold * 4);
    /* Every line is "frames count". */
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        char *sp = strrchr(l, ' ');
        cr_expect(sp && sp[1] >= '1' && sp[1] <= '9', "line: %s", l);
    }
    cr_expect_eq(glint_sandbox_profile_stop(sb, NULL, NULL, NULL), GLINT_E_STATE);
    free(text);
    unlink(folded);
    unlink(svg);
    glint_sandbox_destroy(sb);
}

/* A sandbox made from a snapshot (and a pool's) names the frames too: the
 * snapshot keeps the image's symbols.  One from a snapshot file has none
 * (the file does not hold them): addresses in hex. */
/* Profiles Burn(n) at hz and returns the folded stacks (or, with svg, the
 * flame graph) as text; the sample count in *samples if not NULL. */
static char *profile_run(glint_sandbox *sb, unsigned hz, uint64_t n, bool svg, uint64_t *samples)
{
    EXPECT_OK(sb, glint_sandbox_profile_start(sb, hz));
    glint_value arg = glint_u64(n);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Burn", &arg, 1, NULL));
    char path[] = "/tmp/glint-prof-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    EXPECT_OK(sb, glint_sandbox_profile_stop(sb, svg ? NULL : path, svg ? path : NULL, samples));
    char *text = slurp(path);
    unlink(path);
    return text;
}

static char *profile_burn(glint_sandbox *sb, uint64_t *samples)
{
    return profile_run(sb, 2000, 100000, false, samples);
}

Test(profile, snapshot_sandboxes_have_symbols, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_long();
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_sandbox_destroy(sb); /* the snapshot outlives the sandbox and its image */
    glint_sandbox *from = NULL;
    glint_error err;
    cr_assert_eq(glint_sandbox_create_from_snapshot(snap, &from, &err), GLINT_OK, "%s", err.message);
    EXPECT_OK(from, glint_sandbox_init(from));
    uint64_t samples = 0;
    char *text = profile_burn(from, &samples);
    cr_assert_gt(samples, 20, "samples: %llu", (unsigned long long)samples);
    uint64_t hot = count_of(text, "Burn;outer;middle;hot_inner");
    cr_expect_gt(hot, samples / 2, "hot_inner by name from a snapshot sandbox: %llu of %llu\n%s",
                 (unsigned long long)hot, (unsigned long long)samples, text);
    free(text);
    glint_sandbox_destroy(from);

    glint_pool_config pc;
    glint_pool_config_default(&pc);
    glint_pool *pool = NULL;
    cr_assert_eq(glint_pool_create(snap, &pc, &pool, &err), GLINT_OK, "%s", err.message);
    glint_sandbox *p = NULL;
    cr_assert_eq(glint_pool_acquire(pool, &p, &err), GLINT_OK, "%s", err.message);
    text = profile_burn(p, &samples);
    hot = count_of(text, "Burn;outer;middle;hot_inner");
    cr_expect_gt(hot, samples / 2, "hot_inner by name in a pool's sandbox: %llu of %llu\n%s",
                 (unsigned long long)hot, (unsigned long long)samples, text);
    free(text);
    glint_pool_release(pool, p);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

Test(profile, lying_frame_pointers_neither_hang_nor_crash, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_long();
    EXPECT_OK(sb, glint_sandbox_profile_start(sb, 5000));
    glint_value arg = glint_u64(30000);
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "LyingFrames", &arg, 1, &r));
    cr_expect_eq(r.v.u64, 30000);
    char folded[] = "/tmp/glint-prof-XXXXXX";
    int fd = mkstemp(folded);
    close(fd);
    uint64_t samples = 0;
    EXPECT_OK(sb, glint_sandbox_profile_stop(sb, folded, NULL, &samples));
    char *text = slurp(folded);
    cr_expect_gt(samples, 10);
    cr_expect_gt(count_of(text, "LyingFrames"), samples / 2, "%s", text);
    free(text);
    unlink(folded);
    glint_sandbox_destroy(sb);
}

/* A minimal XML check: balanced tags, attributes quoted, no raw '<' or '&'
 * in text; and the flame graph's structure. */
static void check_xml(const char *s)
{
    const char *stack[64];
    size_t lens[64], depth = 0;
    int rects = 0, titles = 0;
    cr_assert(strncmp(s, "<?xml ", 6) == 0);
    s = strstr(s, "?>") + 2;
    while (*s) {
        if (*s == '&') {
            cr_assert(strncmp(s, "&amp;", 5) == 0 || strncmp(s, "&lt;", 4) == 0 ||
                      strncmp(s, "&gt;", 4) == 0 || strncmp(s, "&quot;", 6) == 0 ||
                      strncmp(s, "&apos;", 6) == 0, "bad entity: %.20s", s);
            s++;
            continue;
        }
        if (*s != '<') {
            s++;
            continue;
        }
        const char *end = strchr(s, '>');
        cr_assert_not_null(end);
        int closing = s[1] == '/', selfclosing = end[-1] == '/';
        const char *name = s + 1 + closing;
        size_t nlen = strcspn(name, " />");
        for (const char *q = name + nlen; q < end; q++) /* attributes: name="value" */
            if (*q == '=')
                cr_assert(q[1] == '"', "unquoted attribute near %.30s", q);
        if (closing) {
            cr_assert_gt(depth, 0);
            depth--;
            cr_assert(lens[depth] == nlen && strncmp(stack[depth], name, nlen) == 0,
                      "</%.*s> closes <%.*s>", (int)nlen, name, (int)lens[depth], stack[depth]);
        } else if (!selfclosing) {
            cr_assert_lt(depth, 64);
            stack[depth] = name, lens[depth++] = nlen;
        }
        if (!closing && nlen == 4 && strncmp(name, "rect", 4) == 0) {
            rects++;
            double w = -1;
            const char *wa = strstr(s, " width=\"");
            cr_assert(wa && wa < end);
            sscanf(wa + 8, "%lf", &w);
            cr_expect_geq(w, 0.0);
            cr_expect_leq(w, 1200.0);
        }
        if (!closing && nlen == 5 && strncmp(name, "title", 5) == 0)
            titles++;
        s = end + 1;
    }
    cr_expect_eq(depth, 0, "unclosed tags");
    cr_expect_gt(rects, 3);
    cr_expect_eq(titles + 1, rects, "a title per frame (the background has none)");
}

Test(profile, svg_is_well_formed, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_long();
    char *text = profile_run(sb, 1000, 60000, true, NULL);
    check_xml(text);
    cr_expect(th_has(text, "<title>hot_inner ("), "hot_inner has a frame");
    cr_expect(th_has(text, "<title>all ("));
    free(text);
    glint_sandbox_destroy(sb);
}

Test(profile, time_limits_and_interrupts_still_work, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 150;
    glint_sandbox *sb = th_start(PROF_GUEST, &cfg);
    EXPECT_OK(sb, glint_sandbox_profile_start(sb, 10000));
    glint_value arg = glint_u64(UINT64_MAX / 4);
    uint64_t t0 = (uint64_t)time(NULL);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Burn", &arg, 1, NULL), GLINT_E_TIMEOUT);
    cr_expect_leq((uint64_t)time(NULL) - t0, 3);
    uint64_t samples = 0;
    EXPECT_OK(sb, glint_sandbox_profile_stop(sb, NULL, NULL, &samples));
    cr_expect_gt(samples, 10);
    glint_sandbox_destroy(sb);
}

Test(profile, misuse_and_off_by_default, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(PROF_GUEST, NULL);
    cr_expect_eq(glint_sandbox_profile_stop(sb, NULL, NULL, NULL), GLINT_E_STATE);
    cr_expect_eq(glint_sandbox_profile_start(sb, 20000), GLINT_E_INVALID);
    EXPECT_OK(sb, glint_sandbox_profile_start(sb, 0));
    cr_expect_eq(glint_sandbox_profile_start(sb, 100), GLINT_E_STATE);
    cr_expect_eq(glint_sandbox_profile_stop(sb, NULL, "/nonexistent-dir/x.svg", NULL), GLINT_E_IO);
    /* Destroying a profiled sandbox stops the sampler. */
    EXPECT_OK(sb, glint_sandbox_profile_start(sb, 1000));
    glint_sandbox_destroy(sb);
}
