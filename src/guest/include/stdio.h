/* stdio.h - glint guest libc.  Output goes to the host function print
 * (one host call per printf/puts/putchar call, more only for text longer
 * than 1 KiB); stdout and stderr both mean it.  Host calls exist only during
 * a guest call: in glint_main these return EOF and print nothing.  Invalid
 * UTF-8 is printed as '?'.  There are no files and no input.  %Lf and
 * friends print a long double rounded to double. */
#ifndef GLINT_LIBC_STDIO_H
#define GLINT_LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EOF (-1)
#define BUFSIZ 1024

typedef struct glint_file FILE;
extern FILE *const stdout;
extern FILE *const stderr;
#define stdout stdout
#define stderr stderr

#define GLINT_PRINTF(f, a) __attribute__((format(printf, f, a)))

int printf(const char *restrict fmt, ...) GLINT_PRINTF(1, 2);
int vprintf(const char *restrict fmt, va_list ap) GLINT_PRINTF(1, 0);
int fprintf(FILE *restrict f, const char *restrict fmt, ...) GLINT_PRINTF(2, 3);
int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap) GLINT_PRINTF(2, 0);
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...) GLINT_PRINTF(3, 4);
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap) GLINT_PRINTF(3, 0);
int sprintf(char *restrict buf, const char *restrict fmt, ...) GLINT_PRINTF(2, 3);
int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap) GLINT_PRINTF(2, 0);
/* Allocates the result with malloc; returns its length or -1. */
int asprintf(char **out, const char *restrict fmt, ...) GLINT_PRINTF(2, 3);
int vasprintf(char **out, const char *restrict fmt, va_list ap) GLINT_PRINTF(2, 0);

int puts(const char *s);
int fputs(const char *restrict s, FILE *restrict f);
int putchar(int c);
int fputc(int c, FILE *f);
int putc(int c, FILE *f);
size_t fwrite(const void *restrict p, size_t size, size_t n, FILE *restrict f);
int fflush(FILE *f);

#undef GLINT_PRINTF

#ifdef __cplusplus
}
#endif

#endif
