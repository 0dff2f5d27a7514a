/*
 * parse.c - text to numbers, sizes, booleans and bytes.
 *
 * Each parser takes the whole string: no leading or trailing blanks, no
 * junk after the value, and every overflow is refused rather than wrapped.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Sign and magnitude of an integer: [+-] (digits | 0x hexdigits). */
static const char *parse_magnitude(const char *s, bool *neg, uint64_t *mag)
{
    *neg = false;
    if (*s == '+' || *s == '-')
        *neg = *s++ == '-';
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (*s == '\0')
        return "is not an integer";
    uint64_t v = 0;
    bool too_big = false;
    for (; *s; s++) {
        int d = digit_value(*s);
        if (d < 0 || (unsigned)d >= base)
            return "is not an integer";
        if (v > (UINT64_MAX - (unsigned)d) / base)
            too_big = true;
        else
            v = v * base + (unsigned)d;
    }
    if (too_big)
        return "is out of range";
    *mag = v;
    return NULL;
}

const char *cli_parse_signed(const char *s, int64_t min, int64_t max, int64_t *out)
{
    bool neg;
    uint64_t mag;
    const char *why = parse_magnitude(s, &neg, &mag);
    if (why)
        return why;
    /* Requires min <= 0 <= max; |min| is computed without overflow. */
    if (!neg) {
        if (mag > (uint64_t)max)
            return "is out of range";
        *out = (int64_t)mag;
    } else {
        if (mag > (uint64_t)(-(min + 1)) + 1)
            return "is out of range";
        *out = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
    }
    return NULL;
}

const char *cli_parse_unsigned(const char *s, uint64_t max, uint64_t *out)
{
    bool neg;
    uint64_t mag;
    const char *why = parse_magnitude(s, &neg, &mag);
    if (why)
        return why;
    if (neg)
        return "is negative (the type is unsigned)";
    if (mag > max)
        return "is out of range";
    *out = mag;
    return NULL;
}

const char *cli_parse_size(const char *s, size_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return "is not a size (bytes, or a number with K, M or G)";
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return "is too large";
        v = v * 10 + d;
    }
    unsigned shift = 0;
    switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    default: break;
    }
    if (*p != '\0')
        return "is not a size (bytes, or a number with K, M or G)";
    if (v > (UINT64_MAX >> shift) || (v << shift) > SIZE_MAX)
        return "is too large";
    *out = (size_t)(v << shift);
    return NULL;
}

const char *cli_parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return NULL;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return NULL;
    }
    return "is not a bool (true, false, 1 or 0)";
}

/* strtod/strtof accept leading blanks; we do not. */
static bool starts_like_number(const char *s)
{
    return *s != '\0' && strchr(" \t\n\v\f\r", *s) == NULL;
}

/* Overflow to +-inf is refused; underflow to 0 or a subnormal is accepted. */
const char *cli_parse_f64(const char *s, double *out)
{
    if (!starts_like_number(s))
        return "is not a number";
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return "is not a number";
    if (errno == ERANGE && isinf(v))
        return "is out of range for double";
    *out = v;
    return NULL;
}

const char *cli_parse_f32(const char *s, float *out)
{
    if (!starts_like_number(s))
        return "is not a number";
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (end == s || *end != '\0')
        return "is not a number";
    if (errno == ERANGE && isinf(v))
        return "is out of range for float";
    *out = v;
    return NULL;
}

const char *cli_parse_hex(const char *s, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (digit_value(s[i]) < 0)
            return "is not hex (use pairs of hex digits, or @FILE)";
    if (n % 2)
        return "has an odd number of hex digits";
    if (n == 0)
        return NULL;
    uint8_t *b = malloc(n / 2);
    if (!b)
        return "is too large (out of memory)";
    for (size_t i = 0; i < n / 2; i++)
        b[i] = (uint8_t)(digit_value(s[2 * i]) << 4 | digit_value(s[2 * i + 1]));
    *out = b;
    *len = n / 2;
    return NULL;
}

/* Length of the UTF-8 sequence at p (at most `left` bytes), or 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

long cli_utf8_check(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            return (long)i;
        i += n;
    }
    return -1;
}
