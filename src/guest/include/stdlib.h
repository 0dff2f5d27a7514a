/* stdlib.h - glint guest libc.  The heap is the sandbox's (see glint/guest.h
 * for what happens when it runs out). */
#ifndef GLINT_LIBC_STDLIB_H
#define GLINT_LIBC_STDLIB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#define RAND_MAX 0x7fffffff
#define MB_CUR_MAX 4

typedef struct { int quot, rem; } div_t;
typedef struct { long quot, rem; } ldiv_t;
typedef struct { long long quot, rem; } lldiv_t;

void *malloc(size_t n) __attribute__((malloc, alloc_size(1)));
void *calloc(size_t n, size_t size) __attribute__((malloc, alloc_size(1, 2)));
void *realloc(void *p, size_t n) __attribute__((alloc_size(2)));
void free(void *p);
void *aligned_alloc(size_t align, size_t n) __attribute__((malloc, alloc_align(1), alloc_size(2)));
int posix_memalign(void **out, size_t align, size_t n);
void *memalign(size_t align, size_t n) __attribute__((malloc, alloc_align(1), alloc_size(2)));

long strtol(const char *restrict s, char **restrict end, int base);
unsigned long strtoul(const char *restrict s, char **restrict end, int base);
long long strtoll(const char *restrict s, char **restrict end, int base);
unsigned long long strtoull(const char *restrict s, char **restrict end, int base);
double strtod(const char *restrict s, char **restrict end);
float strtof(const char *restrict s, char **restrict end);
long double strtold(const char *restrict s, char **restrict end);
double atof(const char *s);
int atoi(const char *s);
long atol(const char *s);
long long atoll(const char *s);

int abs(int v);
long labs(long v);
long long llabs(long long v);
div_t div(int a, int b);
ldiv_t ldiv(long a, long b);
lldiv_t lldiv(long long a, long long b);

void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void qsort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *),
             void *arg);
void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *));

int rand(void);
void srand(unsigned seed);

/* Stop the guest: the host sees GLINT_E_ABORT with a message. */
__attribute__((noreturn)) void abort(void);
/* There is no process to exit: these abort the guest with code `status`. */
__attribute__((noreturn)) void exit(int status);
__attribute__((noreturn)) void _Exit(int status);

#ifdef __cplusplus
}
#endif

#endif
