/*
 * bignum.c - non-negative big integers in base 10^9, just enough for exact
 * binary <-> decimal conversion of doubles (printf's %f/%e/%g, strtod).
 *
 * The largest value needed is about 10^810 (strtod comparing 800 digits);
 * BIG_LIMBS leaves room.  Running out of limbs is a library bug and
 * aborts the guest with a message.
 */
#include "internal.h"

#define BASE 1000000000u

static void overflow(void)
{
    glint__abort(GLINT_ABORT_USER, 0, "guest library: internal error: big number overflow");
}

void glint__big_set(struct glint_big *b, uint64_t v)
{
    b->n = 0;
    while (v) {
        b->limb[b->n++] = (uint32_t)(v % BASE);
        v /= BASE;
    }
}

void glint__big_mul_small(struct glint_big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->limb[i] * m + carry;
        b->limb[i] = (uint32_t)(t % BASE);
        carry = t / BASE;
    }
    while (carry) {
        if (b->n == BIG_LIMBS)
            overflow();
        b->limb[b->n++] = (uint32_t)(carry % BASE);
        carry /= BASE;
    }
}

void glint__big_mul_pow2(struct glint_big *b, unsigned k)
{
    for (; k >= 31; k -= 31)
        glint__big_mul_small(b, 1u << 31);
    if (k)
        glint__big_mul_small(b, 1u << k);
}

void glint__big_mul_pow5(struct glint_big *b, unsigned k)
{
    static const uint32_t pow5[14] = {1, 5, 25, 125, 625, 3125, 15625, 78125, 390625, 1953125,
                                      9765625, 48828125, 244140625, 1220703125};
    for (; k >= 13; k -= 13)
        glint__big_mul_small(b, pow5[13]);
    if (k)
        glint__big_mul_small(b, pow5[k]);
}

int glint__big_cmp(const struct glint_big *a, const struct glint_big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    return 0;
}

int glint__big_digits(const struct glint_big *b, char *out)
{
    int len = 0;
    for (int i = b->n - 1; i >= 0; i--) {
        char tmp[9];
        uint32_t v = b->limb[i];
        for (int k = 8; k >= 0; k--, v /= 10)
            tmp[k] = (char)('0' + v % 10);
        int k = 0;
        if (i == b->n - 1)
            while (k < 8 && tmp[k] == '0')
                k++;
        for (; k < 9; k++)
            out[len++] = tmp[k];
    }
    return len;
}

void glint__big_from_digits(struct glint_big *b, const char *d, int n)
{
    b->n = 0;
    for (int end = n; end > 0; end -= 9) {
        int start = end > 9 ? end - 9 : 0;
        uint32_t v = 0;
        for (int k = start; k < end; k++)
            v = v * 10 + (uint32_t)(d[k] - '0');
        if (b->n == BIG_LIMBS)
            overflow();
        b->limb[b->n++] = v;
    }
    while (b->n && b->limb[b->n - 1] == 0)
        b->n--;
}
