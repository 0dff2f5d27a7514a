/*
 * strtod.c - strtod, strtof, strtold: correctly rounded decimal and
 * hexadecimal input, "inf", "infinity", "nan", "nan(...)".
 *
 * Decimal: short inputs take the exact fast path (an integer below 2^53
 * times or over an exact power of ten).  Otherwise an estimate computed in
 * x87 extended precision is corrected by exact big-integer comparisons of
 * the input against the midpoints between neighbouring doubles, which
 * gives the correctly rounded result (ties to even).  At most MAX_DIGITS
 * significant digits are kept, plus one sticky digit for the rest: more
 * than the 767 any halfway point between two doubles needs.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_DIGITS 780
#define INF_BITS 0x7ff0000000000000ull

struct decimal {
    int nd;             /* significant digits in d (no leading or trailing zeros) */
    long e10;           /* value = d * 10^e10 (d read as an integer) */
    char d[MAX_DIGITS + 1];
};

static double from_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static bool match(const char *p, const char *word)
{
    for (; *word; p++, word++)
        if (tolower((unsigned char)*p) != *word)
            return false;
    return true;
}

/* ---- decimal ---- */

/* Compares d * 10^e10 with m2 * 2^e2. */
static int compare(const struct decimal *v, uint64_t m2, int e2)
{
    struct glint_big l, r;
    glint__big_from_digits(&l, v->d, v->nd);
    glint__big_set(&r, m2);
    long sl = v->e10, sr = e2; /* binary exponents of each side */
    if (v->e10 >= 0)
        glint__big_mul_pow5(&l, (unsigned)v->e10);
    else
        glint__big_mul_pow5(&r, (unsigned)-v->e10);
    long s = sl < sr ? sl : sr;
    glint__big_mul_pow2(&l, (unsigned)(sl - s));
    glint__big_mul_pow2(&r, (unsigned)(sr - s));
    return glint__big_cmp(&l, &r);
}

/* Mantissa and exponent of a finite positive double's bits: x = m * 2^e. */
static void split(uint64_t bits, uint64_t *m, int *e)
{
    int be = (int)(bits >> 52);
    *m = bits & ((1ull << 52) - 1);
    if (be)
        *m |= 1ull << 52;
    *e = (be ? be : 1) - 1075;
}

/* Does v lie above the midpoint between bits and the next double up? */
static int vs_upper_mid(const struct decimal *v, uint64_t bits)
{
    uint64_t m;
    int e;
    split(bits, &m, &e);
    return compare(v, 2 * m + 1, e - 1);
}

/* Within an ulp or so of v.  The caller resets the x87 unit first: the
 * call keeps gcc from moving x87 work across that reset. */
__attribute__((noinline)) static double estimate(const struct decimal *v)
{
    static const long double pow10[] = {1e1L, 1e2L, 1e4L, 1e8L, 1e16L, 1e32L,
                                        1e64L, 1e128L, 1e256L, 1e512L, 1e1024L};
    int k = v->nd < 19 ? v->nd : 19;
    uint64_t hi = 0;
    for (int i = 0; i < k; i++)
        hi = hi * 10 + (uint64_t)(v->d[i] - '0');
    long e = v->e10 + (v->nd - k);
    long double x = (long double)hi;
    unsigned long ae = (unsigned long)(e < 0 ? -e : e);
    for (unsigned i = 0; ae && i < sizeof pow10 / sizeof pow10[0]; i++, ae >>= 1)
        if (ae & 1)
            x = e < 0 ? x / pow10[i] : x * pow10[i];
    return (double)x;
}

static double decimal_value(const struct decimal *v)
{
    static const double exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (v->nd == 0)
        return 0.0;
    long lead = v->nd + v->e10; /* v < 10^lead */
    if (lead > 310) {
        errno = ERANGE;
        return from_bits(INF_BITS);
    }
    if (lead < -324) {
        errno = ERANGE;
        return 0.0;
    }
    if (v->nd <= 15 && v->e10 >= -22 && v->e10 <= 22) {
        int64_t n = 0;
        for (int i = 0; i < v->nd; i++)
            n = n * 10 + (v->d[i] - '0');
        double x = (double)n;
        return v->e10 >= 0 ? x * exact[v->e10] : x / exact[-v->e10];
    }
    __asm__ volatile("fninit" ::: "memory"); /* x87: extended precision, round to nearest */
    double x = estimate(v);
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    if (bits >= INF_BITS)
        bits = INF_BITS - 1;
    for (int iter = 0; iter < 64 && bits < INF_BITS; iter++) {
        int c = vs_upper_mid(v, bits);
        if (c > 0 || (c == 0 && (bits & 1))) {
            bits++;
            continue;
        }
        if (bits == 0)
            break;
        c = vs_upper_mid(v, bits - 1);
        if (c < 0 || (c == 0 && !((bits - 1) & 1))) {
            bits--;
            continue;
        }
        break;
    }
    if (bits >= INF_BITS || bits < (1ull << 52))
        errno = ERANGE; /* overflow, or underflow to a subnormal or zero */
    return from_bits(bits);
}

/* Parses decimal digits, point and exponent at p into v; returns the end. */
static const char *parse_decimal(const char *p, struct decimal *v)
{
    const char *start = p;
    bool any = false, point = false, sticky = false;
    v->nd = 0;
    v->e10 = 0;
    for (;; p++) {
        if (*p == '.' && !point) {
            point = true;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        any = true;
        if (v->nd == 0 && *p == '0') { /* leading zero */
            v->e10 -= point;
        } else if (v->nd < MAX_DIGITS) {
            v->d[v->nd++] = *p;
            v->e10 -= point;
        } else {
            sticky |= *p != '0';
            v->e10 += !point;
        }
    }
    if (!any)
        return start;
    if (sticky) { /* a digit 1 below all kept ones stands for the rest */
        v->d[v->nd++] = '1';
        v->e10--;
    }
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        bool neg = false;
        if (*q == '+' || *q == '-')
            neg = *q++ == '-';
        if (*q >= '0' && *q <= '9') {
            long x = 0;
            for (; *q >= '0' && *q <= '9'; q++)
                x = x > 100000 ? x : x * 10 + (*q - '0');
            v->e10 += neg ? -x : x;
            p = q;
        }
    }
    while (v->nd > 0 && v->d[v->nd - 1] == '0') {
        v->nd--;
        v->e10++;
    }
    return p;
}

/* ---- hexadecimal ---- */

/* Rounds mant (top bit set) * 2^(e - 63) to a double, ties to even. */
static double make_double(uint64_t mant, long e, bool sticky)
{
    if (e > 1023) {
        errno = ERANGE;
        return from_bits(INF_BITS);
    }
    long keep = e >= -1022 ? 53 : 53 - (-1022 - e);
    if (keep < 0) {
        errno = ERANGE;
        return 0.0;
    }
    uint64_t q = keep ? mant >> (64 - keep) : 0;
    uint64_t rest = keep ? mant << keep : mant; /* dropped bits, left aligned */
    bool up = rest > (1ull << 63) || (rest == (1ull << 63) && (sticky || (q & 1)));
    q += up;
    uint64_t bits;
    if (keep == 53) {
        if (q >> 53) {
            q >>= 1;
            e++;
            if (e > 1023) {
                errno = ERANGE;
                return from_bits(INF_BITS);
            }
        }
        bits = ((uint64_t)(e + 1023) << 52) | (q & ((1ull << 52) - 1));
    } else {
        bits = q; /* subnormal; a carry lands on the smallest normal */
        if (bits < (1ull << 52))
            errno = ERANGE;
    }
    return from_bits(bits);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* p is after "0x"; returns the end, or NULL if there is no hex digit. */
static const char *parse_hex(const char *p, double *out)
{
    uint64_t mant = 0;
    long e2 = 0;
    bool any = false, point = false, sticky = false;
    for (;; p++) {
        if (*p == '.' && !point) {
            point = true;
            continue;
        }
        int d = hex_value(*p);
        if (d < 0)
            break;
        any = true;
        if (mant >> 60) {
            sticky |= d != 0;
            e2 += point ? 0 : 4;
        } else {
            mant = mant * 16 + (uint64_t)d;
            e2 -= point ? 4 : 0;
        }
    }
    if (!any)
        return NULL;
    if (*p == 'p' || *p == 'P') {
        const char *q = p + 1;
        bool neg = false;
        if (*q == '+' || *q == '-')
            neg = *q++ == '-';
        if (*q >= '0' && *q <= '9') {
            long x = 0;
            for (; *q >= '0' && *q <= '9'; q++)
                x = x > 100000 ? x : x * 10 + (*q - '0');
            e2 += neg ? -x : x;
            p = q;
        }
    }
    if (!mant) {
        *out = 0.0;
        return p;
    }
    int lz = __builtin_clzll(mant);
    *out = make_double(mant << lz, e2 + 63 - lz, sticky);
    return p;
}

/* ---- strtod ---- */

double strtod(const char *restrict s, char **restrict end)
{
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    double x = 0.0;
    const char *q;
    if (match(p, "inf")) {
        x = from_bits(INF_BITS);
        q = p + (match(p, "infinity") ? 8 : 3);
    } else if (match(p, "nan")) {
        x = from_bits(0x7ff8000000000000ull);
        q = p + 3;
        if (*q == '(') {
            const char *r = q + 1;
            while (isalnum((unsigned char)*r) || *r == '_')
                r++;
            if (*r == ')')
                q = r + 1;
        }
    } else if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && (q = parse_hex(p + 2, &x))) {
        /* q set by parse_hex */
    } else {
        struct decimal v;
        q = parse_decimal(p, &v);
        if (q != p)
            x = decimal_value(&v);
    }
    if (q == p) { /* no number at all */
        if (end)
            *end = (char *)s;
        return 0.0;
    }
    if (end)
        *end = (char *)q;
    return neg ? -x : x;
}

float strtof(const char *restrict s, char **restrict end)
{
    return (float)strtod(s, end);
}

long double strtold(const char *restrict s, char **restrict end)
{
    return strtod(s, end);
}
