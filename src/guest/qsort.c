/*
 * qsort.c - qsort and qsort_r: introsort (quicksort with median-of-three
 * pivots, insertion sort for short ranges, heapsort when the recursion
 * gets too deep), so O(n log n) in the worst case and O(log n) stack.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct sorter {
    size_t size;
    int (*cmp)(const void *, const void *, void *);
    void *arg;
};

static void swap(char *a, char *b, size_t size)
{
    if (a == b)
        return;
    while (size >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(a, &y, 8);
        memcpy(b, &x, 8);
        a += 8, b += 8, size -= 8;
    }
    while (size--) {
        char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

static int cmp_at(const struct sorter *s, const char *a, const char *b)
{
    return s->cmp(a, b, s->arg);
}

static void insertion(const struct sorter *s, char *base, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp_at(s, base + (j - 1) * s->size, base + j * s->size) > 0; j--)
            swap(base + (j - 1) * s->size, base + j * s->size, s->size);
}

static void sift_down(const struct sorter *s, char *base, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp_at(s, base + child * s->size, base + (child + 1) * s->size) < 0)
            child++;
        if (cmp_at(s, base + root * s->size, base + child * s->size) >= 0)
            return;
        swap(base + root * s->size, base + child * s->size, s->size);
        root = child;
    }
}

static void heapsort(const struct sorter *s, char *base, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(s, base, i, n);
    for (size_t end = n; end-- > 1;) {
        swap(base, base + end * s->size, s->size);
        sift_down(s, base, 0, end);
    }
}

/* Moves the median of first, middle and last to the first position. */
static void median_first(const struct sorter *s, char *base, size_t n)
{
    char *a = base + s->size, *b = base + (n / 2) * s->size, *c = base + (n - 1) * s->size;
    if (cmp_at(s, a, b) > 0)
        swap(a, b, s->size);
    if (cmp_at(s, b, c) > 0)
        swap(b, c, s->size);
    if (cmp_at(s, a, b) > 0)
        swap(a, b, s->size);
    swap(base, b, s->size);
}

/* Partitions around base[0]; returns the pivot's final index. */
static size_t partition(const struct sorter *s, char *base, size_t n)
{
    size_t i = 1, j = n - 1;
    for (;;) {
        while (i <= j && cmp_at(s, base + i * s->size, base) < 0)
            i++;
        while (j >= i && cmp_at(s, base + j * s->size, base) > 0)
            j--;
        if (i >= j)
            break;
        swap(base + i * s->size, base + j * s->size, s->size);
        i++, j--;
    }
    swap(base, base + j * s->size, s->size);
    return j;
}

static void introsort(const struct sorter *s, char *base, size_t n, unsigned depth)
{
    while (n > 12) {
        if (depth-- == 0) {
            heapsort(s, base, n);
            return;
        }
        median_first(s, base, n);
        size_t p = partition(s, base, n);
        /* Recurse on the smaller side, loop on the larger. */
        if (p < n - p - 1) {
            introsort(s, base, p, depth);
            base += (p + 1) * s->size;
            n -= p + 1;
        } else {
            introsort(s, base + (p + 1) * s->size, n - p - 1, depth);
            n = p;
        }
    }
    insertion(s, base, n);
}

void qsort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *),
             void *arg)
{
    if (n < 2 || size == 0)
        return;
    struct sorter s = {size, cmp, arg};
    unsigned depth = 2 * (64u - (unsigned)__builtin_clzll(n));
    introsort(&s, base, n, depth);
}

static int call_plain(const void *a, const void *b, void *arg)
{
    int (*cmp)(const void *, const void *) = *(int (**)(const void *, const void *))arg;
    return cmp(a, b);
}

void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    qsort_r(base, n, size, call_plain, &cmp);
}
