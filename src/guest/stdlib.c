/*
 * stdlib.c - integer parsing (strtol family), small arithmetic helpers,
 * bsearch, rand, and errno.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "internal.h"

int errno;

static int digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/*
 * Parses [space][sign][0x]digits.  Returns the magnitude (saturated at
 * UINT64_MAX with *overflow set), the sign in *neg, and the end in *end
 * (s itself when there are no digits).
 */
static uint64_t parse_unsigned(const char *s, char **end, int base, bool *neg, bool *overflow)
{
    const char *p = s;
    *neg = false;
    *overflow = false;
    if (base < 0 || base == 1 || base > 36) {
        errno = EINVAL;
        if (end)
            *end = (char *)s;
        return 0;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+' || *p == '-')
        *neg = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
        digit_value((unsigned char)p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    const char *digits = p;
    uint64_t v = 0;
    for (int d; (d = digit_value((unsigned char)*p)) < base; p++) {
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            *overflow = true;
        else
            v = v * (uint64_t)base + (uint64_t)d;
    }
    if (end)
        *end = (char *)(p == digits ? s : p);
    return *overflow ? UINT64_MAX : v;
}

static int64_t to_signed(const char *s, char **end, int base, int64_t min, int64_t max)
{
    bool neg, ovf;
    uint64_t v = parse_unsigned(s, end, base, &neg, &ovf);
    if (!neg && (ovf || v > (uint64_t)max)) {
        errno = ERANGE;
        return max;
    }
    if (neg && (ovf || v > (uint64_t)max + 1)) {
        errno = ERANGE;
        return min;
    }
    return neg ? (int64_t)(0 - v) : (int64_t)v;
}

static uint64_t to_unsigned(const char *s, char **end, int base, uint64_t max)
{
    bool neg, ovf;
    uint64_t v = parse_unsigned(s, end, base, &neg, &ovf);
    if (ovf || v > max) {
        errno = ERANGE;
        return max;
    }
    return neg ? (0 - v) & max : v;
}

long strtol(const char *restrict s, char **restrict end, int base)
{
    return (long)to_signed(s, end, base, LONG_MIN, LONG_MAX);
}

long long strtoll(const char *restrict s, char **restrict end, int base)
{
    return (long long)to_signed(s, end, base, LLONG_MIN, LLONG_MAX);
}

intmax_t strtoimax(const char *restrict s, char **restrict end, int base)
{
    return (intmax_t)to_signed(s, end, base, INTMAX_MIN, INTMAX_MAX);
}

unsigned long strtoul(const char *restrict s, char **restrict end, int base)
{
    return (unsigned long)to_unsigned(s, end, base, ULONG_MAX);
}

unsigned long long strtoull(const char *restrict s, char **restrict end, int base)
{
    return (unsigned long long)to_unsigned(s, end, base, ULLONG_MAX);
}

uintmax_t strtoumax(const char *restrict s, char **restrict end, int base)
{
    return (uintmax_t)to_unsigned(s, end, base, UINTMAX_MAX);
}

int atoi(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

long atol(const char *s)
{
    return strtol(s, NULL, 10);
}

long long atoll(const char *s)
{
    return strtoll(s, NULL, 10);
}

double atof(const char *s)
{
    return strtod(s, NULL);
}

int abs(int v)
{
    return v < 0 ? -v : v;
}

long labs(long v)
{
    return v < 0 ? -v : v;
}

long long llabs(long long v)
{
    return v < 0 ? -v : v;
}

intmax_t imaxabs(intmax_t v)
{
    return v < 0 ? -v : v;
}

div_t div(int a, int b)
{
    return (div_t){a / b, a % b};
}

ldiv_t ldiv(long a, long b)
{
    return (ldiv_t){a / b, a % b};
}

lldiv_t lldiv(long long a, long long b)
{
    return (lldiv_t){a / b, a % b};
}

void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *))
{
    const char *lo = base;
    while (n) {
        const char *mid = lo + (n / 2) * size;
        int c = cmp(key, mid);
        if (c == 0)
            return (void *)mid;
        if (c > 0) {
            lo = mid + size;
            n -= n / 2 + 1;
        } else {
            n /= 2;
        }
    }
    return NULL;
}

static uint64_t rand_state = 1;

void srand(unsigned seed)
{
    rand_state = seed;
}

int rand(void)
{
    rand_state = rand_state * 6364136223846793005ull + 1442695040888963407ull;
    return (int)(rand_state >> 33);
}
