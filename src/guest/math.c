/*
 * math.c - the <math.h> functions that need no approximation: they are
 * exact by construction (bit manipulation, SSE sqrt, x87 partial remainder).
 */
#include <math.h>
#include <string.h>

#include "internal.h"

static uint64_t bits_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static double of_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

double fabs(double x)
{
    return of_bits(bits_of(x) & ~(1ull << 63));
}

float fabsf(float x)
{
    return (float)fabs(x);
}

double copysign(double x, double y)
{
    return of_bits((bits_of(x) & ~(1ull << 63)) | (bits_of(y) & (1ull << 63)));
}

double sqrt(double x)
{
    double r;
    __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x));
    return r;
}

float sqrtf(float x)
{
    float r;
    __asm__("sqrtss %1, %0" : "=x"(r) : "x"(x));
    return r;
}

double trunc(double x)
{
    uint64_t b = bits_of(x);
    int e = (int)((b >> 52) & 0x7ff) - 1023;
    if (e >= 52)
        return x; /* integral already, or inf/nan */
    if (e < 0)
        return of_bits(b & (1ull << 63)); /* |x| < 1: signed zero */
    return of_bits(b & ~((1ull << (52 - e)) - 1));
}

double floor(double x)
{
    double t = trunc(x);
    return t > x ? t - 1.0 : t;
}

double ceil(double x)
{
    double t = trunc(x);
    return t < x ? t + 1.0 : t;
}

double round(double x)
{
    double t = trunc(x);
    double d = x - t; /* exact */
    if (d >= 0.5)
        return t + 1.0;
    if (d <= -0.5)
        return t - 1.0;
    return t;
}

float truncf(float x)
{
    return (float)trunc(x);
}

float floorf(float x)
{
    return (float)floor(x);
}

float ceilf(float x)
{
    return (float)ceil(x);
}

float roundf(float x)
{
    return (float)round(x);
}

double fmin(double a, double b)
{
    if (a != a)
        return b;
    if (b != b)
        return a;
    return a < b ? a : b;
}

double fmax(double a, double b)
{
    if (a != a)
        return b;
    if (b != b)
        return a;
    return a > b ? a : b;
}

double fmod(double x, double y)
{
    long double a = x, b = y, r;
    __asm__("1: fprem\n\t"
            "fnstsw %%ax\n\t"
            "testw $0x400, %%ax\n\t"
            "jnz 1b"
            : "=t"(r)
            : "0"(a), "u"(b)
            : "ax", "cc");
    return (double)r;
}
