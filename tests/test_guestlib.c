/*
 * test_guestlib.c - the guest C library (libglint-guest.a), through the
 * guest tests/guests/guestlib.c and the public host API.
 *
 * Formatting and parsing are compared with the host's glibc, which rounds
 * exactly: the guest must print and parse doubles bit for bit the same.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"

#define GUESTLIB TEST_GUEST("guestlib")

/* ---- shared with tests/guests/guestlib.c ---- */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rand_double(uint64_t *s)
{
    uint64_t r = splitmix(s);
    if (r & 1) {
        uint64_t bits = splitmix(s);
        if (((bits >> 52) & 0x7ff) == 0x7ff)
            bits ^= 1ull << 62;
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    double mant = (double)(int64_t)(splitmix(s) % 2000001) - 1000000.0;
    int e = (int)(splitmix(s) % 41) - 20;
    double p = 1.0;
    for (int i = 0; i < (e < 0 ? -e : e); i++)
        p *= 10.0;
    return e < 0 ? mant / p : mant * p;
}
/* ---- end of shared code ---- */

/* A growing string. */
struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_addf(struct buf *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof tmp);
    buf_add(b, tmp, (size_t)n);
}

/* A sandbox of the guestlib guest with room for big batches. */
static glint_sandbox *start_big(void)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 32u << 20;
    cfg.input_size = 1u << 20;
    cfg.output_size = 4u << 20;
    cfg.timeout_ms = 20000;
    return th_start(GUESTLIB, &cfg);
}

/* Line `k` (0-based) of s, into out. */
static const char *line_of(const char *s, size_t k, char *out, size_t size)
{
    for (; k && s; k--) {
        s = strchr(s, '\n');
        s = s ? s + 1 : NULL;
    }
    if (!s)
        return "(missing)";
    size_t n = strcspn(s, "\n");
    snprintf(out, size, "%.*s", (int)(n < size - 1 ? n : size - 1), s);
    return out;
}

/* Asserts got == want, naming the first differing line and what made it. */
static void expect_lines(const glint_value *got, const struct buf *want, const char *what,
                         const char *fmts, size_t nvals)
{
    cr_assert_eq(got->type, GLINT_STRING);
    if (got->v.str.len == want->len && memcmp(got->v.str.ptr, want->p, want->len) == 0)
        return;
    size_t line = 0, i = 0;
    for (; i < got->v.str.len && i < want->len && got->v.str.ptr[i] == want->p[i]; i++)
        line += want->p[i] == '\n';
    char g[400], w[400], f[200];
    char *gs = strndup(got->v.str.ptr, got->v.str.len);
    cr_assert_fail("%s: line %zu (format \"%s\", value #%zu)\n  guest: \"%s\"\n  glibc: \"%s\"", what,
                   line, fmts ? line_of(fmts, line / nvals, f, sizeof f) : "-", line % nvals,
                   line_of(gs, line, g, sizeof g), line_of(want->p, line, w, sizeof w));
    free(gs);
}

/* ------------------------------------------------------------------------- */

static const int64_t int_values[] = {0, 1, -1, 7, 42, -42, 127, 128, 255, 256, 32767, -32768, 65535,
                                     INT_MAX, INT_MIN, UINT_MAX, LLONG_MAX, LLONG_MIN,
                                     0x123456789abcLL, -1000000000000LL};
#define NINTS (sizeof int_values / sizeof int_values[0])

static bool wants_long(const char *fmt)
{
    return strpbrk(fmt, "ljztq") != NULL;
}

Test(guestlib_format, integers_match_glibc, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *flags[] = {"", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0", "-#", "+ "};
    static const char *widths[] = {"", "1", "6", "20"};
    static const char *precs[] = {"", ".0", ".1", ".5", ".25"};
    static const char *convs[] = {"d", "i", "u", "x", "X", "o", "hhd", "hd", "ld", "lld", "zu",
                                  "jd", "td", "lx", "llo", "hhx", "hu"};
    glint_sandbox *sb = start_big();
    for (size_t c = 0; c < sizeof convs / sizeof convs[0]; c++) {
        struct buf fmts = {0}, want = {0};
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
            for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
                for (size_t p = 0; p < sizeof precs / sizeof precs[0]; p++) {
                    char fmt[64];
                    snprintf(fmt, sizeof fmt, "<%%%s%s%s%s>", flags[f], widths[w], precs[p], convs[c]);
                    buf_addf(&fmts, "%s\n", fmt);
                    for (size_t v = 0; v < NINTS; v++) {
                        if (wants_long(fmt))
                            buf_addf(&want, fmt, (long long)int_values[v]);
                        else
                            buf_addf(&want, fmt, (int)int_values[v]);
                        buf_add(&want, "\n", 1);
                    }
                }
        glint_value args[2] = {glint_cstr(fmts.p), glint_bytes(int_values, sizeof int_values)};
        glint_value r;
        EXPECT_OK(sb, glint_sandbox_call(sb, "FormatInts", args, 2, &r));
        expect_lines(&r, &want, convs[c], fmts.p, NINTS);
        free(fmts.p);
        free(want.p);
    }
    glint_sandbox_destroy(sb);
}

static double double_values[] = {0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, -2.5, 9.5, 0.05, 0.125,
                                 0.375, 1e-5, 123.456, 999.9995, 99999.5, 0.00001234, 3.14159265358979,
                                 2.718281828459045, 1.0 / 3, 2.0 / 3, 1e15, 1e16, 1e17, 1e21, 1e22,
                                 1e23, 123456789012345678.0, 1e100, 1e300, 1e-300, DBL_MAX, DBL_MIN,
                                 4.9406564584124654e-324, 2.2250738585072009e-308, 0.0 /* inf */,
                                 0.0 /* -inf */, 0.0 /* nan */, 0.0 /* -nan */, 5e-5, 0.0009999};
#define NDOUBLES (sizeof double_values / sizeof double_values[0])

static void fill_specials(void)
{
    double_values[NDOUBLES - 6] = __builtin_inf();
    double_values[NDOUBLES - 5] = -__builtin_inf();
    double_values[NDOUBLES - 4] = __builtin_nan("");
    double_values[NDOUBLES - 3] = -__builtin_nan("");
}

Test(guestlib_format, doubles_match_glibc, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    fill_specials();
    static const char *flags[] = {"", "-", "+", " ", "#", "0", "+0", "-#", " #0"};
    static const char *widths[] = {"", "1", "12", "40"};
    static const char *precs[] = {"", ".0", ".1", ".2", ".6", ".10", ".17", ".30"};
    static const char *convs[] = {"f", "F", "e", "E", "g", "G", "a", "A"};
    glint_sandbox *sb = start_big();
    for (size_t c = 0; c < sizeof convs / sizeof convs[0]; c++) {
        struct buf fmts = {0}, want = {0};
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
            for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
                for (size_t p = 0; p < sizeof precs / sizeof precs[0]; p++) {
                    char fmt[64];
                    snprintf(fmt, sizeof fmt, "<%%%s%s%s%s>", flags[f], widths[w], precs[p], convs[c]);
                    buf_addf(&fmts, "%s\n", fmt);
                    for (size_t v = 0; v < NDOUBLES; v++) {
                        buf_addf(&want, fmt, double_values[v]);
                        buf_add(&want, "\n", 1);
                    }
                }
        glint_value args[2] = {glint_cstr(fmts.p), glint_bytes(double_values, sizeof double_values)};
        glint_value r;
        EXPECT_OK(sb, glint_sandbox_call(sb, "FormatDoubles", args, 2, &r));
        expect_lines(&r, &want, convs[c], fmts.p, NDOUBLES);
        free(fmts.p);
        free(want.p);
    }
    glint_sandbox_destroy(sb);
}

Test(guestlib_format, random_doubles_match_glibc, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *fmts[] = {"%.17g", "%.16e", "%.20e", "%g", "%.3f", "%.0f", "%.15g",
                                 "%e",    "%a",    "%.3a",  "%.1g", "%#.8g", "%.40f"};
    const uint32_t n = 3000;
    glint_sandbox *sb = start_big();
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        uint64_t seed = 1000 + i, s = seed;
        struct buf want = {0};
        for (uint32_t k = 0; k < n; k++) {
            buf_addf(&want, fmts[i], rand_double(&s));
            buf_add(&want, "\n", 1);
        }
        glint_value args[3] = {glint_cstr(fmts[i]), glint_u64(seed), glint_u32(n)};
        glint_value r;
        EXPECT_OK(sb, glint_sandbox_call(sb, "FormatRandom", args, 3, &r));
        expect_lines(&r, &want, fmts[i], NULL, 1);
        free(want.p);
    }
    glint_sandbox_destroy(sb);
}

static void expect_format_str(glint_sandbox *sb, const char *fmt, const char *s)
{
    char want[512], got[512];
    snprintf(want, sizeof want, fmt, strcmp(s, "(NULL)") ? s : NULL);
    glint_value args[2] = {glint_cstr(fmt), glint_cstr(s)};
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "FormatStr", args, 2, &r));
    snprintf(got, sizeof got, "%.*s", (int)r.v.str.len, r.v.str.ptr);
    cr_expect_str_eq(got, want, "format \"%s\" of \"%s\"", fmt, s);
}

Test(guestlib_format, strings_chars_pointers, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    static const char *sfmts[] = {"%s", "[%10s]", "[%-10s]", "[%.3s]", "[%10.2s]", "[%.0s]",
                                  "%s%%", "100%% %s", "[%5s]", "[%-1s]"};
    static const char *strs[] = {"", "hello", "éa wörld", /* cuts at 2 and 3 bytes stay UTF-8 */ "a longer string than ten", "(NULL)"};
    for (size_t f = 0; f < sizeof sfmts / sizeof sfmts[0]; f++)
        for (size_t s = 0; s < sizeof strs / sizeof strs[0]; s++)
            expect_format_str(sb, sfmts[f], strs[s]);

    static const int64_t chars[] = {'A', 'z', '0', ' ', '~'};
    static const char *cfmts = "[%c]\n[%3c]\n[%-3c]\n";
    struct buf want = {0};
    const char *p = cfmts;
    for (int i = 0; i < 3; i++) {
        char fmt[16];
        size_t n = strcspn(p, "\n");
        snprintf(fmt, sizeof fmt, "%.*s", (int)n, p);
        p += n + 1;
        for (size_t v = 0; v < 5; v++)
            buf_addf(&want, fmt, (int)chars[v]), buf_add(&want, "\n", 1);
    }
    glint_value args[2] = {glint_cstr(cfmts), glint_bytes(chars, sizeof chars)};
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "FormatInts", args, 2, &r));
    expect_lines(&r, &want, "%c", cfmts, 5);
    free(want.p);

    static const char *pfmts[] = {"%p", "[%20p]", "[%-20p]", "%p!"};
    static const uint64_t ptrs[] = {0, 0x1234, 0x7fffdeadbeef, UINT64_MAX};
    for (size_t f = 0; f < 4; f++)
        for (size_t v = 0; v < 4; v++) {
            char w[64], g[64];
            snprintf(w, sizeof w, pfmts[f], (void *)(uintptr_t)ptrs[v]);
            glint_value pa[2] = {glint_cstr(pfmts[f]), glint_u64(ptrs[v])};
            EXPECT_OK(sb, glint_sandbox_call(sb, "FormatPtr", pa, 2, &r));
            snprintf(g, sizeof g, "%.*s", (int)r.v.str.len, r.v.str.ptr);
            cr_expect_str_eq(g, w, "format \"%s\" of %#" PRIx64, pfmts[f], ptrs[v]);
        }
    glint_sandbox_destroy(sb);
}

Test(guestlib_format, star_width_and_precision, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    static const char *fmts[] = {"[%*.*f]", "[%*.*e]", "[%*.*g]", "[%-*.*f]", "[%0*.*f]"};
    static const int ws[] = {-12, -1, 0, 5, 15};
    static const int ps[] = {-3, 0, 2, 9};
    for (size_t f = 0; f < 5; f++)
        for (size_t w = 0; w < 5; w++)
            for (size_t p = 0; p < 4; p++) {
                char want[128], got[128];
                snprintf(want, sizeof want, fmts[f], ws[w], ps[p], -3.14159);
                glint_value a[4] = {glint_cstr(fmts[f]), glint_i32(ws[w]), glint_i32(ps[p]),
                                    glint_f64(-3.14159)};
                glint_value r;
                EXPECT_OK(sb, glint_sandbox_call(sb, "FormatStar", a, 4, &r));
                snprintf(got, sizeof got, "%.*s", (int)r.v.str.len, r.v.str.ptr);
                cr_expect_str_eq(got, want, "format \"%s\" width %d precision %d", fmts[f], ws[w], ps[p]);
            }
    glint_sandbox_destroy(sb);
}

Test(guestlib_format, snprintf_truncates_and_counts, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    static const unsigned sizes[] = {0, 1, 2, 5, 9, 10, 11, 64};
    static const char *fmts[] = {"value %d end", "%d", "%08x|", "%%%5d%%"};
    for (size_t f = 0; f < 4; f++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            char tmp[80], want[200], got[200];
            int n = snprintf(tmp, sizes[s], fmts[f], -12345);
            snprintf(want, sizeof want, "ret=%d buf=%.*s", n, sizes[s] ? (int)strlen(tmp) : 0, tmp);
            glint_value a[3] = {glint_cstr(fmts[f]), glint_u32(sizes[s]), glint_i64(-12345)};
            glint_value r;
            EXPECT_OK(sb, glint_sandbox_call(sb, "Snprintf", a, 3, &r));
            snprintf(got, sizeof got, "%.*s", (int)r.v.str.len, r.v.str.ptr);
            cr_expect_str_eq(got, want, "snprintf(buf, %u, \"%s\", -12345)", sizes[s], fmts[f]);
        }
    glint_sandbox_destroy(sb);
}

/* ------------------------------------------------------------------------- */

static void expect_strtod(glint_sandbox *sb, const char *s)
{
    char *end;
    double want = strtod(s, &end);
    glint_value arg = glint_cstr(s), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "StrToD", &arg, 1, &r));
    uint64_t wb, gb;
    memcpy(&wb, &want, 8);
    memcpy(&gb, &r.v.f64, 8);
    if (want != want) /* NaN: compare the sign only */
        cr_expect(r.v.f64 != r.v.f64 && (wb >> 63) == (gb >> 63), "strtod(\"%s\") = %a, want %a", s,
                  r.v.f64, want);
    else
        cr_expect_eq(gb, wb, "strtod(\"%s\") = %a (%.17g), want %a (%.17g)", s, r.v.f64, r.v.f64, want,
                     want);
    EXPECT_OK(sb, glint_sandbox_call(sb, "StrToDEnd", &arg, 1, &r));
    cr_expect_eq(r.v.i64, end - s, "strtod(\"%s\") stops after %" PRId64 " bytes, want %td", s,
                 r.v.i64, end - s);
}

Test(guestlib_strtod, special_inputs_match_glibc, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *inputs[] = {
        "0", "-0", "+0.0", "1", "-1", "  42", "\t\n 3.5xyz", "1e10", "1E-10", "1e", "1e+", "1e-x",
        ".5", "5.", ".", "-.", "", "abc", "0x", "0x1p3", "0X1.8P+1", "0x.8p1", "0xg", "0x1.fffffffffffff8p0",
        "0x1.00000000000008p0", "0x1.000000000000081p0", "0x1p-1074", "0x1p-1075", "0x1.1p-1075",
        "0x1p1024", "0xffffffffffffffffffffp0", "inf", "-INF", "infinity", "Infinit", "nan", "-NaN",
        "nan(123)", "nan(", "1e400", "-1e400", "1e-400", "2.4703282292062327e-324",
        "2.4703282292062328e-324", "4.9406564584124654e-324", "2.2250738585072011e-308",
        "2.2250738585072014e-308", "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "179769313486231580793728971405303415079934132710037826936173778980444"
        "968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681"
        "908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292"
        "71918652582536e-00", "0.1", "0.3", "123456789012345678901234567890", "9007199254740993",
        "9007199254740992.5", "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126", "000000000000000000001.5",
        "0.000000000000000000000000000000000000000000001e45", "1e-5", "100000000000000000000000",
        "1e23", "8.98846567431158e307", "3.0e-324", "7.4e-324", "1e-320", "6.5e-323",
        "1" "00000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000e-100"};
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        expect_strtod(sb, inputs[i]);
    glint_sandbox_destroy(sb);
}

/* strtod of every line, guest against glibc, bit for bit. */
static void expect_strtod_lines(glint_sandbox *sb, const struct buf *text, const char *what)
{
    glint_value arg = glint_str(text->p, text->len), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "StrToDLines", &arg, 1, &r));
    const char *s = text->p;
    size_t k = 0;
    while (*s) {
        char *end;
        double want = strtod(s, &end);
        cr_assert(r.v.bytes.len >= 8 * (k + 1), "%s: only %zu results", what, r.v.bytes.len / 8);
        double got;
        memcpy(&got, r.v.bytes.ptr + 8 * k, 8);
        size_t n = strcspn(s, "\n");
        cr_assert(memcmp(&got, &want, 8) == 0 || (got != got && want != want),
                  "%s: strtod(\"%.*s\") = %a, want %a", what, (int)(n > 200 ? 200 : n), s, got, want);
        s += n + (s[n] == '\n');
        k++;
    }
    cr_assert_eq(r.v.bytes.len, 8 * k);
}

Test(guestlib_strtod, round_trips_of_random_doubles, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_big();
    static const char *fmts[] = {"%.17g", "%.16e", "%.25e", "%.6g", "%.40g", "%a"};
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        struct buf text = {0};
        uint64_t seed = 77 + f;
        for (int i = 0; i < 3000; i++) {
            buf_addf(&text, fmts[f], rand_double(&seed));
            buf_add(&text, "\n", 1);
        }
        expect_strtod_lines(sb, &text, fmts[f]);
        free(text.p);
    }
    glint_sandbox_destroy(sb);
}

/* Exact midpoints between neighbouring doubles (ties), and a hair above and
 * below them: the hardest cases for correct rounding. */
Test(guestlib_strtod, halfway_cases, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_big();
    struct buf text = {0};
    uint64_t seed = 4242;
    char *digits = malloc(1200);
    for (int i = 0; i < 600; i++) {
        double d = rand_double(&seed);
        if (d < 0)
            d = -d;
        if (d == 0 || d >= DBL_MAX)
            continue;
        uint64_t ub;
        memcpy(&ub, &d, 8);
        ub++; /* the next double up (no libm in the test binary) */
        double up;
        memcpy(&up, &ub, 8);
        long double mid = ((long double)d + (long double)up) / 2; /* exact for normal d */
        if (d < DBL_MIN)
            continue; /* long double cannot hold subnormal midpoints exactly */
        int n = snprintf(digits, 1200, "%.780Le", mid);
        cr_assert(n > 0 && n < 1200);
        buf_addf(&text, "%s\n", digits);
        /* The same digits cut short (below the midpoint) and with a 1 after them (above). */
        char *e = strchr(digits, 'e');
        char *last = e - 1;
        while (*last == '0')
            last--;
        size_t keep = (size_t)(last - digits + 1);
        buf_addf(&text, "%.*s%s\n", (int)keep - 1, digits, e);
        buf_addf(&text, "%.*s1%s\n", (int)keep, digits, e);
    }
    free(digits);
    expect_strtod_lines(sb, &text, "halfway");
    free(text.p);
    glint_sandbox_destroy(sb);
}

Test(guestlib_strtol, edge_cases_match_glibc, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static const char *inputs[] = {"0", "42", "-42", "  +17", "0x1f", "0X1F", "0x", "0xg", "077", "08",
                                   "z", "Zz", "9223372036854775807", "9223372036854775808",
                                   "-9223372036854775808", "-9223372036854775809",
                                   "18446744073709551615", "18446744073709551616", "-1", "-0x10",
                                   "  \t 12abc", "", "+", "-", "1010", "777777777777777777777777"};
    static const int bases[] = {0, 2, 8, 10, 16, 36};
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
            for (unsigned which = 0; which < 5; which++) {
                const char *s = inputs[i];
                char *end = (char *)s, want[160], got[160];
                errno = 0;
                switch (which) {
                case 0: snprintf(want, sizeof want, "v=%ld", strtol(s, &end, bases[b])); break;
                case 1: snprintf(want, sizeof want, "v=%lu", strtoul(s, &end, bases[b])); break;
                case 2: snprintf(want, sizeof want, "v=%lld", strtoll(s, &end, bases[b])); break;
                case 3: snprintf(want, sizeof want, "v=%llu", strtoull(s, &end, bases[b])); break;
                default:
                    if (bases[b] != 10 || strlen(s) > 12)
                        continue; /* atoi: base 10 and no overflow (undefined) */
                    snprintf(want, sizeof want, "v=%d", atoi(s));
                    break;
                }
                int e = errno;
                size_t n = strlen(want);
                snprintf(want + n, sizeof want - n, " end=%td errno=%d", end - s, e);
                glint_value a[3] = {glint_cstr(s), glint_i32(bases[b]), glint_u32(which)}, r;
                EXPECT_OK(sb, glint_sandbox_call(sb, "StrToL", a, 3, &r));
                snprintf(got, sizeof got, "%.*s", (int)r.v.str.len, r.v.str.ptr);
                cr_expect_str_eq(got, want, "function %u, \"%s\", base %d", which, s, bases[b]);
            }
    glint_sandbox_destroy(sb);
}

/* ------------------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

Test(guestlib_sort, qsort_and_bsearch, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_big();
    static const size_t sizes[] = {0, 1, 2, 3, 13, 100, 1000, 50000};
    uint64_t seed = 9;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int kind = 0; kind < 5; kind++) {
            size_t n = sizes[si];
            int32_t *v = malloc(n * 4 + 4);
            for (size_t i = 0; i < n; i++)
                v[i] = kind == 0 ? (int32_t)splitmix(&seed) : kind == 1 ? (int32_t)i
                     : kind == 2 ? (int32_t)(n - i) : kind == 3 ? 5 : (int32_t)(splitmix(&seed) % 10);
            glint_value arg = glint_bytes(v, n * 4), r;
            EXPECT_OK(sb, glint_sandbox_call(sb, "QSort", &arg, 1, &r));
            qsort(v, n, 4, cmp_int);
            cr_assert_eq(r.v.bytes.len, n * 4);
            cr_assert(n == 0 || memcmp(r.v.bytes.ptr, v, n * 4) == 0, "qsort of %zu ints (kind %d)", n,
                      kind);
            if (n && kind == 0) {
                int32_t key = v[n / 2];
                glint_value ba[2] = {glint_bytes(v, n * 4), glint_i32(key)};
                EXPECT_OK(sb, glint_sandbox_call(sb, "BSearch", ba, 2, &r));
                cr_assert(r.v.i64 >= 0 && v[r.v.i64] == key, "bsearch found %" PRId64, r.v.i64);
                ba[1] = glint_i32(key == INT32_MAX ? key - 1 : key + 1);
                if (!bsearch(&ba[1].v.i32, v, n, 4, cmp_int)) {
                    EXPECT_OK(sb, glint_sandbox_call(sb, "BSearch", ba, 2, &r));
                    cr_assert_eq(r.v.i64, -1);
                }
            }
            free(v);
        }
    for (uint32_t n = 0; n < 3000; n = n * 3 + 1) {
        glint_value a[2] = {glint_u32(n), glint_u64(n)}, r;
        EXPECT_OK(sb, glint_sandbox_call(sb, "QSortWide", a, 2, &r));
        cr_assert(r.v.b, "qsort of %u 25-byte elements", n);
    }
    glint_sandbox_destroy(sb);
}

/* ------------------------------------------------------------------------- */

static uint64_t call_u64(glint_sandbox *sb, const char *fn, const glint_value *args, size_t n)
{
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, fn, args, n, &r));
    return r.v.u64;
}

Test(guestlib_heap, stress_then_everything_coalesces, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 4u << 20;
    cfg.timeout_ms = 20000;
    glint_sandbox *sb = th_start(GUESTLIB, &cfg);
    uint64_t size = call_u64(sb, "HeapSize", NULL, 0);
    cr_assert_eq(size, 4u << 20);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        glint_value a[2] = {glint_u32(30000), glint_u64(seed)};
        cr_assert_eq(call_u64(sb, "MallocStress", a, 2), 0, "corrupted blocks (seed %" PRIu64 ")", seed);
        cr_assert_eq(call_u64(sb, "HeapUsed", NULL, 0), 0, "heap not empty after freeing everything");
        cr_assert_eq(call_u64(sb, "BiggestBlock", NULL, 0), size - 16,
                     "free blocks did not coalesce back into one");
    }
    glint_value a[2] = {glint_u32(3000), glint_u64(5)};
    cr_assert_eq(call_u64(sb, "ReallocKeeps", a, 2), 0, "realloc lost data or leaked");
    glint_sandbox_destroy(sb);
}

Test(guestlib_heap, calloc_zeroes_reused_memory_and_aligned_alloc_aligns, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    static const uint32_t sizes[] = {1, 15, 16, 100, 4096, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        glint_value a = glint_u32(sizes[i]), r;
        EXPECT_OK(sb, glint_sandbox_call(sb, "CallocReuse", &a, 1, &r));
        cr_assert(r.v.b, "calloc(%u, 1) after a dirty free is not zero", sizes[i]);
    }
    for (uint32_t align = 1; align <= 65536; align *= 2) {
        glint_value a[2] = {glint_u32(align), glint_u32(1000)};
        uint64_t at = call_u64(sb, "Aligned", a, 2);
        cr_assert(at > 1 && at % align == 0, "aligned_alloc(%u, 1000) = %#" PRIx64, align, at);
    }
    glint_value a[2] = {glint_u32(3), glint_u32(8)}; /* not a power of two: NULL */
    cr_assert_eq(call_u64(sb, "Aligned", a, 2), 1);
    cr_assert_eq(call_u64(sb, "HeapUsed", NULL, 0), 0);
    glint_sandbox_destroy(sb);
}

Test(guestlib_heap, exhaustion_aborts_with_sizes, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(GUESTLIB, NULL); /* 512 KiB heap */
    glint_value a = glint_u64(1000);
    uint64_t p = call_u64(sb, "Malloc", &a, 1);
    cr_assert(p != 0);
    a = glint_u64(1048576);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Malloc", &a, 1, NULL), GLINT_E_GUEST_OOM);
    const char *msg = glint_sandbox_error(sb)->message;
    cr_assert(th_has(msg, "malloc(1048576)") && th_has(msg, "guest heap exhausted") &&
                  th_has(msg, "524288") && th_has(msg, "1024 in use"),
              "message: %s", msg);
    glint_sandbox_destroy(sb);

    sb = th_start(GUESTLIB, NULL);
    a = glint_u64((uint64_t)1 << 30);
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "MallocNull", &a, 1, &r));
    cr_assert(r.v.b, "malloc in NULL mode did not return NULL with errno ENOMEM");
    glint_sandbox_destroy(sb);
}

Test(guestlib_heap, bad_frees_abort, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "DoubleFree", NULL, 0, NULL), GLINT_E_ABORT);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "double free"), "message: %s",
              glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
    sb = th_start(GUESTLIB, NULL);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "BadFree", NULL, 0, NULL), GLINT_E_ABORT);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "not a pointer from malloc"), "message: %s",
              glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
}

/* ------------------------------------------------------------------------- */

/* Calls fn(arg) on a fresh sandbox, expecting status `want` and a message
 * holding every needle. */
static void expect_failure(const char *fn, const glint_value *arg, glint_status want, const char *n1,
                           const char *n2)
{
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, fn, arg, arg ? 1 : 0, NULL), want);
    const char *msg = glint_sandbox_error(sb)->message;
    cr_assert(th_has(msg, n1) && (!n2 || th_has(msg, n2)), "%s: message \"%s\" lacks \"%s\" / \"%s\"", fn,
              msg, n1, n2 ? n2 : "");
    glint_sandbox_destroy(sb);
}

Test(guestlib_results, misuse_aborts_with_a_message, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_value i = glint_i32(5);
    expect_failure("WrongReturn", NULL, GLINT_E_ABORT, "glint_return_string", "int32");
    expect_failure("WrongArgType", &i, GLINT_E_ABORT, "glint_arg_string", "int32");
    expect_failure("WrongArgIndex", &i, GLINT_E_ABORT, "no argument 3", NULL);
    glint_value big = glint_u64(70000);
    expect_failure("BigString", &big, GLINT_E_ABORT, "70000 bytes", "65536");
    glint_value two = glint_i32(2);
    expect_failure("AssertOne", &two, GLINT_E_ABORT, "guestlib.c:", "assertion failed: x == 1");
    glint_value sixty_four = glint_u32(64);
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    glint_status st = glint_sandbox_call(sb, "StackSmash", &sixty_four, 1, NULL);
    cr_assert(st == GLINT_E_ABORT || st == GLINT_E_STACK_OVERFLOW, "StackSmash(64): %s",
              glint_status_name(st));
    cr_assert(th_has(glint_sandbox_error(sb)->message, "stack smashing detected"), "message: %s",
              glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
    glint_value three = glint_i32(3);
    sb = th_start(GUESTLIB, NULL);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Exit", &three, 1, NULL), GLINT_E_ABORT);
    cr_assert_eq(glint_sandbox_error(sb)->abort_code, 3);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "exit(3)"));
    glint_sandbox_destroy(sb);
}

Test(guestlib_results, results_errors_and_guards, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(GUESTLIB, NULL);
    glint_value r, a;
    a = glint_u32(8);
    EXPECT_OK(sb, glint_sandbox_call(sb, "StackSmash", &a, 1, &r));
    cr_assert_eq(r.v.u32, 8);
    a = glint_u64(65536 - 33);
    EXPECT_OK(sb, glint_sandbox_call(sb, "BigString", &a, 1, &r));
    cr_assert_eq(r.v.str.len, 65536 - 33, "the largest string result that fits");
    glint_value e[2] = {glint_cstr("xyz"), glint_i32(7)};
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "ErrorFmt", e, 2, &r), GLINT_E_GUEST_ERROR);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "bad input 'xyz' (7)"), "message: %s",
              glint_sandbox_error(sb)->message);
    EXPECT_OK(sb, glint_sandbox_call(sb, "StringSelfTest", NULL, 0, &r));
    th_expect_str(&r, "", 0);
    EXPECT_OK(sb, glint_sandbox_call(sb, "MathSelfTest", NULL, 0, &r));
    th_expect_str(&r, "", 0);
    EXPECT_OK(sb, glint_sandbox_call(sb, "CtypeTable", NULL, 0, &r));
    cr_assert_eq(r.v.bytes.len, 512);
    for (int c = 0; c < 256; c++) {
#define BIT(x, k) ((x) ? 1u << (k) : 0u)
        unsigned w0 = BIT(isalnum(c), 0) | BIT(isalpha(c), 1) | BIT(isdigit(c), 2) | BIT(isxdigit(c), 3) |
                      BIT(isspace(c), 4) | BIT(isupper(c), 5) | BIT(islower(c), 6) | BIT(ispunct(c), 7);
        unsigned w1 = BIT(isprint(c), 0) | BIT(isgraph(c), 1) | BIT(iscntrl(c), 2) | BIT(isblank(c), 3) |
                      BIT(toupper(c) != c, 4) | BIT(tolower(c) != c, 5);
        cr_assert(r.v.bytes.ptr[2 * c] == w0 && r.v.bytes.ptr[2 * c + 1] == w1,
                  "ctype of %d: guest %#x %#x, glibc %#x %#x", c, r.v.bytes.ptr[2 * c],
                  r.v.bytes.ptr[2 * c + 1], w0, w1);
    }
    EXPECT_OK(sb, glint_sandbox_call(sb, "HostCallInMainResult", NULL, 0, &r));
    char text[400];
    snprintf(text, sizeof text, "%.*s", (int)r.v.str.len, r.v.str.ptr);
    cr_assert(th_has(text, "rc=-1 constructed=1 msg=") && th_has(text, "only during a guest call"),
              "glint_main: %s", text);
    glint_sandbox_destroy(sb);
}

/* ------------------------------------------------------------------------- */

struct capture {
    char text[1 << 16];
    size_t len;
    int calls;
    int bad_utf8;
};

static glint_status capture_print(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                  glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)ret;
    struct capture *c = user;
    size_t n = args[0].v.str.len;
    if (c->len + n < sizeof c->text) {
        memcpy(c->text + c->len, args[0].v.str.ptr, n);
        c->len += n;
        c->text[c->len] = 0;
    }
    /* A piece must not start with a UTF-8 continuation byte. */
    if (n && ((unsigned char)args[0].v.str.ptr[0] & 0xc0) == 0x80)
        c->bad_utf8++;
    c->calls++;
    return GLINT_OK;
}

static glint_sandbox *start_capturing(struct capture *c)
{
    memset(c, 0, sizeof *c);
    glint_sandbox *sb = th_create(GUESTLIB, NULL);
    glint_function print = {.name = "print", .ret = GLINT_VOID, .nparams = 1, .params = {GLINT_STRING}};
    EXPECT_OK(sb, glint_sandbox_register(sb, &print, capture_print, c));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

Test(guestlib_print, one_print_per_printf, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static struct capture c;
    glint_sandbox *sb = start_capturing(&c);
    cr_assert_eq(c.calls, 0, "glint_main's printf must not reach the host");
    glint_value a[2] = {glint_cstr("x=%.3f|%5s|%d\n"), glint_f64(2.0 / 3)}, r;
    /* "%5s" and "%d" take no argument here: use a format with one conversion. */
    a[0] = glint_cstr("x=%.3f, y=%g\n");
    uint64_t exits = glint_sandbox_exit_count(sb);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Printf", a, 2, &r));
    cr_assert_eq(glint_sandbox_exit_count(sb) - exits, 2, "a printf is one host call and the call one exit");
    char want[64];
    int n = snprintf(want, sizeof want, "x=%.3f, y=%g\n", 2.0 / 3, 0.0);
    (void)n;
    cr_assert_eq(c.calls, 1);
    cr_assert(strncmp(c.text, "x=0.667, y=", 11) == 0, "printed \"%s\"", c.text);
    cr_assert_eq(r.v.i32, (int32_t)c.len);

    c.len = 0, c.calls = 0;
    glint_value p = glint_cstr("line");
    EXPECT_OK(sb, glint_sandbox_call(sb, "Puts", &p, 1, &r));
    cr_assert_str_eq(c.text, "line\n");
    cr_assert(r.v.i32 >= 0);
    c.len = 0, c.calls = 0;
    p = glint_i32('Q');
    EXPECT_OK(sb, glint_sandbox_call(sb, "Putchar", &p, 1, &r));
    cr_assert_str_eq(c.text, "Q");
    cr_assert_eq(r.v.i32, 'Q');

    exits = glint_sandbox_exit_count(sb);
    EXPECT_OK(sb, glint_sandbox_call(sb, "HeapUsed", NULL, 0, &r));
    cr_assert_eq(glint_sandbox_exit_count(sb) - exits, 1, "a call without host calls is one exit");
    glint_sandbox_destroy(sb);
}

Test(guestlib_print, long_output_splits_on_character_boundaries, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static struct capture c;
    glint_sandbox *sb = start_capturing(&c);
    glint_value a[2] = {glint_cstr("é€"), glint_u32(1500)}, r; /* 5 bytes x 1500 */
    EXPECT_OK(sb, glint_sandbox_call(sb, "PrintRepeat", a, 2, &r));
    cr_assert_eq(r.v.i32, 7500);
    cr_assert_eq(c.len, 7500);
    cr_assert(c.calls > 1 && c.calls < 12, "%d print calls for 7500 bytes", c.calls);
    cr_assert_eq(c.bad_utf8, 0, "a print piece started inside a UTF-8 character");
    for (size_t i = 0; i < 7500; i += 5)
        cr_assert(memcmp(c.text + i, "é€", 5) == 0, "byte %zu", i);
    glint_sandbox_destroy(sb);
}

Test(guestlib_print, results_survive_host_calls, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static struct capture c;
    glint_sandbox *sb = start_capturing(&c);
    glint_value a = glint_cstr("kept result"), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "ResultThenPrint", &a, 1, &r));
    th_expect_str(&r, "kept result", 11);
    cr_assert_str_eq(c.text, "after the result: kept result\n");
    a = glint_i32(21);
    EXPECT_OK(sb, glint_sandbox_call(sb, "ScalarThenPrint", &a, 1, &r));
    cr_assert_eq(r.v.i32, 42);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "ErrorThenPrint", NULL, 0, &r), GLINT_E_GUEST_ERROR);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "failed before printing"), "message: %s",
              glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
}
