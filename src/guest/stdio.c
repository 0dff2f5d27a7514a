/*
 * stdio.c - printf and friends.
 *
 * printf, vprintf, puts, putchar (and fprintf & co. on stdout/stderr, which
 * both mean the host's print function) format into a stack buffer and call
 * print once per call; text longer than the buffer goes out in several
 * pieces, each ending on a UTF-8 character boundary.  They return the
 * number of bytes written, or -1 (EOF) if the host refused or failed print.
 * snprintf, vsnprintf, sprintf, vsprintf and asprintf format into memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PRINT_BUF 1024

struct glint_file {
    int unused;
};
static struct glint_file out_file, err_file;
FILE *const stdout = &out_file;
FILE *const stderr = &err_file;

static void print_flush(struct glint_sink *s)
{
    size_t n = s->pos == s->cap ? glint__utf8_cut(s->buf, s->pos) : s->pos;
    if (n == 0)
        n = s->pos; /* not UTF-8 anyway: send it as it is (sanitized) */
    glint__utf8_sanitize(s->buf, n);
    if (n && glint__print(s->buf, n) != 0)
        s->failed = 1;
    memmove(s->buf, s->buf + n, s->pos - n);
    s->pos -= n;
}

static int print_done(struct glint_sink *s)
{
    while (s->pos && !s->failed)
        print_flush(s);
    if (s->failed)
        return EOF;
    return s->total > 0x7fffffff ? 0x7fffffff : (int)s->total;
}

int vprintf(const char *fmt, va_list ap)
{
    char buf[PRINT_BUF];
    struct glint_sink s = {.buf = buf, .cap = sizeof buf, .flush = print_flush};
    glint__vformat(&s, fmt, ap);
    return print_done(&s);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    (void)f;
    return vprintf(fmt, ap);
}

int fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

static int write_text(const char *a, size_t alen, const char *b, size_t blen)
{
    char buf[PRINT_BUF];
    struct glint_sink s = {.buf = buf, .cap = sizeof buf, .flush = print_flush};
    glint__sink_write(&s, a, alen);
    glint__sink_write(&s, b, blen);
    return print_done(&s);
}

int puts(const char *str)
{
    return write_text(str, strlen(str), "\n", 1) < 0 ? EOF : 1;
}

int fputs(const char *str, FILE *f)
{
    (void)f;
    return write_text(str, strlen(str), "", 0) < 0 ? EOF : 1;
}

int putchar(int c)
{
    char ch = (char)c;
    return write_text(&ch, 1, "", 0) < 0 ? EOF : (unsigned char)c;
}

int fputc(int c, FILE *f)
{
    (void)f;
    return putchar(c);
}

int putc(int c, FILE *f)
{
    return fputc(c, f);
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    (void)f;
    if (!size || !n)
        return 0;
    if (n > (size_t)-1 / size)
        return 0;
    return write_text(p, size * n, "", 0) < 0 ? 0 : n;
}

int fflush(FILE *f)
{
    (void)f;
    return 0;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
    char dummy;
    struct glint_sink s = {.buf = size ? buf : &dummy, .cap = size ? size - 1 : 0};
    glint__vformat(&s, fmt, ap);
    if (size)
        buf[s.pos] = '\0';
    return s.total > 0x7fffffff ? -1 : (int)s.total;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap)
{
    return vsnprintf(buf, 0x7fffffff, fmt, ap);
}

int sprintf(char *restrict buf, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsprintf(buf, fmt, ap);
    va_end(ap);
    return n;
}

int vasprintf(char **out, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    *out = NULL;
    if (n < 0)
        return -1;
    char *p = malloc((size_t)n + 1);
    if (!p)
        return -1;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    *out = p;
    return n;
}

int asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(out, fmt, ap);
    va_end(ap);
    return n;
}
