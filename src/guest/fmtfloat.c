/*
 * fmtfloat.c - %f %F %e %E %g %G %a %A.
 *
 * Decimal conversions are exact: the double's value m * 2^e is expanded to
 * all of its decimal digits with big integers (at most 767 of them), then
 * rounded half-to-even at the requested precision, which is what glibc
 * prints in the default rounding mode.
 */
#include <string.h>

#include "internal.h"

#define DEC_MAX 800

/* value = 0.d[0] d[1] ... d[n-1] * 10^exp; n == 0 means zero; no trailing zeros. */
struct dec {
    int n;
    int exp;
    char d[DEC_MAX];
};

static void dec_trim(struct dec *v)
{
    while (v->n > 0 && v->d[v->n - 1] == '0')
        v->n--;
}

/* x finite and > 0. */
static void dec_from_double(struct dec *v, uint64_t bits)
{
    int be = (int)((bits >> 52) & 0x7ff);
    uint64_t m = bits & ((1ull << 52) - 1);
    if (be)
        m |= 1ull << 52;
    else
        be = 1;
    int e2 = be - 1075;
    while (!(m & 1)) {
        m >>= 1;
        e2++;
    }
    struct glint_big b;
    glint__big_set(&b, m);
    if (e2 >= 0) {
        glint__big_mul_pow2(&b, (unsigned)e2);
        v->n = glint__big_digits(&b, v->d);
        v->exp = v->n;
    } else {
        glint__big_mul_pow5(&b, (unsigned)-e2);
        v->n = glint__big_digits(&b, v->d);
        v->exp = v->n + e2;
    }
    dec_trim(v);
}

/* Keeps the first `keep` digits (keep may be <= 0), rounding half to even. */
static void dec_round(struct dec *v, int keep)
{
    if (keep >= v->n)
        return;
    if (keep < 0) {
        v->n = 0;
        return;
    }
    int up;
    char next = v->d[keep];
    if (next != '5') {
        up = next > '5';
    } else {
        up = 0;
        for (int i = keep + 1; i < v->n && !up; i++)
            up = v->d[i] != '0';
        if (!up) /* exact tie: to even (the digit before `keep` is 0 when keep == 0) */
            up = keep > 0 && ((v->d[keep - 1] - '0') & 1);
    }
    v->n = keep;
    if (up) {
        int i = keep - 1;
        while (i >= 0 && v->d[i] == '9')
            i--;
        if (i < 0) {
            v->d[0] = '1';
            v->n = 1;
            v->exp++;
            return;
        }
        v->d[i]++;
        v->n = i + 1;
    }
    dec_trim(v);
}

static char dec_digit(const struct dec *v, int i)
{
    return i >= 0 && i < v->n ? v->d[i] : '0';
}

/* Writes digits [from, from + count) of v (zeros outside the stored ones). */
static void put_digits(struct glint_sink *s, const struct dec *v, int from, int count)
{
    char buf[64];
    while (count > 0) {
        int k = count < (int)sizeof buf ? count : (int)sizeof buf;
        for (int i = 0; i < k; i++)
            buf[i] = dec_digit(v, from + i);
        glint__sink_write(s, buf, (size_t)k);
        from += k;
        count -= k;
    }
}

/* Width handling shared by all float forms: sign/prefix, then zeros, then the body. */
static void begin(struct glint_sink *s, const struct glint_spec *sp, const char *prefix, size_t plen,
                  size_t body)
{
    size_t len = plen + body;
    bool zero = (sp->flags & FL_ZERO) && !(sp->flags & FL_LEFT);
    if (!zero)
        glint__pad(s, sp, len, true);
    glint__sink_write(s, prefix, plen);
    if (zero && sp->width > 0 && (size_t)sp->width > len)
        glint__sink_fill(s, '0', (size_t)sp->width - len);
}

static void fixed(struct glint_sink *s, const struct glint_spec *sp, const char *sign, const struct dec *v,
                  int prec)
{
    int ilen = v->n == 0 || v->exp <= 0 ? 1 : v->exp;
    bool point = prec > 0 || (sp->flags & FL_ALT);
    size_t body = (size_t)ilen + point + (size_t)prec;
    size_t slen = strlen(sign);
    begin(s, sp, sign, slen, body);
    if (v->n == 0 || v->exp <= 0)
        glint__sink_write(s, "0", 1);
    else
        put_digits(s, v, 0, v->exp);
    if (point)
        glint__sink_write(s, ".", 1);
    put_digits(s, v, v->n == 0 ? v->n : v->exp, prec);
    glint__pad(s, sp, slen + body, false);
}

static void expo(struct glint_sink *s, const struct glint_spec *sp, const char *sign, const struct dec *v,
                 int prec, bool upper)
{
    int x = v->n == 0 ? 0 : v->exp - 1;
    char ebuf[8];
    size_t elen = 0;
    ebuf[elen++] = upper ? 'E' : 'e';
    ebuf[elen++] = x < 0 ? '-' : '+';
    unsigned ax = (unsigned)(x < 0 ? -x : x);
    char tmp[6];
    size_t t = 0;
    do {
        tmp[t++] = (char)('0' + ax % 10);
        ax /= 10;
    } while (ax);
    if (t < 2)
        tmp[t++] = '0';
    while (t)
        ebuf[elen++] = tmp[--t];
    bool point = prec > 0 || (sp->flags & FL_ALT);
    size_t body = 1 + point + (size_t)prec + elen;
    size_t slen = strlen(sign);
    begin(s, sp, sign, slen, body);
    put_digits(s, v, 0, 1);
    if (point)
        glint__sink_write(s, ".", 1);
    put_digits(s, v, 1, prec);
    glint__sink_write(s, ebuf, elen);
    glint__pad(s, sp, slen + body, false);
}

static void general(struct glint_sink *s, const struct glint_spec *sp, const char *sign, struct dec *v,
                    bool upper)
{
    int p = sp->prec < 0 ? 6 : sp->prec == 0 ? 1 : sp->prec;
    dec_round(v, p);
    int x = v->n == 0 ? 0 : v->exp - 1;
    bool alt = sp->flags & FL_ALT;
    if (p > x && x >= -4) {
        int prec = p - 1 - x;
        if (!alt) {
            int need = v->n - (v->n ? v->exp : 0);
            prec = need < prec ? (need > 0 ? need : 0) : prec;
        }
        fixed(s, sp, sign, v, prec);
    } else {
        int prec = p - 1;
        if (!alt && v->n - 1 < prec)
            prec = v->n > 1 ? v->n - 1 : 0;
        expo(s, sp, sign, v, prec, upper);
    }
}

static void hex(struct glint_sink *s, const struct glint_spec *sp, bool neg, uint64_t bits)
{
    bool upper = sp->conv == 'A';
    const char *alpha = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int be = (int)((bits >> 52) & 0x7ff);
    uint64_t frac = bits & ((1ull << 52) - 1);
    unsigned lead = be != 0;
    int e = be ? be - 1023 : (frac ? -1022 : 0);
    int ndig = 13;
    if (sp->prec < 0) {
        while (ndig > 0 && !(frac & 0xf)) {
            frac >>= 4;
            ndig--;
        }
    } else if (sp->prec < 13) {
        unsigned shift = 4u * (unsigned)(13 - sp->prec);
        uint64_t rem = frac & ((1ull << shift) - 1), half = 1ull << (shift - 1);
        frac >>= shift;
        ndig = sp->prec;
        uint64_t last = ndig ? frac : lead;
        if (rem > half || (rem == half && (last & 1)))
            frac++;
        if (frac >> (4 * ndig)) { /* carried into the leading digit */
            frac = 0;
            lead++;
        }
    }
    char prefix[4];
    size_t plen = 0;
    if (neg)
        prefix[plen++] = '-';
    else if (sp->flags & FL_PLUS)
        prefix[plen++] = '+';
    else if (sp->flags & FL_SPACE)
        prefix[plen++] = ' ';
    prefix[plen++] = '0';
    prefix[plen++] = upper ? 'X' : 'x';
    char body[40];
    size_t b = 0;
    body[b++] = alpha[lead];
    int extra = sp->prec > 13 ? sp->prec - 13 : 0;
    if (ndig > 0 || extra > 0 || (sp->flags & FL_ALT))
        body[b++] = '.';
    for (int i = ndig - 1; i >= 0; i--)
        body[b++] = alpha[(frac >> (4 * i)) & 0xf];
    char ebuf[8];
    size_t elen = 0;
    ebuf[elen++] = upper ? 'P' : 'p';
    ebuf[elen++] = e < 0 ? '-' : '+';
    unsigned ae = (unsigned)(e < 0 ? -e : e);
    char tmp[6];
    size_t t = 0;
    do {
        tmp[t++] = (char)('0' + ae % 10);
        ae /= 10;
    } while (ae);
    while (t)
        ebuf[elen++] = tmp[--t];
    size_t len = b + (size_t)extra + elen;
    begin(s, sp, prefix, plen, len);
    glint__sink_write(s, body, b);
    glint__sink_fill(s, '0', (size_t)extra);
    glint__sink_write(s, ebuf, elen);
    glint__pad(s, sp, plen + len, false);
}

void glint__format_double(struct glint_sink *s, const struct glint_spec *spec, double x)
{
    struct glint_spec sp = *spec;
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    bool neg = bits >> 63;
    bits &= ~(1ull << 63);
    bool upper = sp.conv == 'F' || sp.conv == 'E' || sp.conv == 'G' || sp.conv == 'A';
    const char *sign = neg ? "-" : (sp.flags & FL_PLUS) ? "+" : (sp.flags & FL_SPACE) ? " " : "";
    if (bits >= 0x7ff0000000000000ull) { /* inf, nan: never zero padded */
        const char *word = bits == 0x7ff0000000000000ull ? (upper ? "INF" : "inf")
                                                         : (upper ? "NAN" : "nan");
        sp.flags &= ~FL_ZERO;
        begin(s, &sp, sign, strlen(sign), 3);
        glint__sink_write(s, word, 3);
        glint__pad(s, &sp, strlen(sign) + 3, false);
        return;
    }
    if (sp.conv == 'a' || sp.conv == 'A') {
        hex(s, &sp, neg, bits);
        return;
    }
    struct dec v;
    v.n = 0;
    v.exp = 0;
    if (bits)
        dec_from_double(&v, bits);
    int prec = sp.prec < 0 ? 6 : sp.prec;
    switch (sp.conv) {
    case 'f':
    case 'F':
        if (v.n)
            dec_round(&v, v.exp + prec);
        fixed(s, &sp, sign, &v, prec);
        break;
    case 'e':
    case 'E':
        if (v.n)
            dec_round(&v, prec + 1);
        expo(s, &sp, sign, &v, prec, upper);
        break;
    default:
        general(s, &sp, sign, &v, upper);
        break;
    }
}
