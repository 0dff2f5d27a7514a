/*
 * format.c - the printf engine: parses conversion specifications and writes
 * through a glint_sink (snprintf buffers, the printf stack buffer, abort and
 * error messages in the output buffer).  Floating point is in fmtfloat.c.
 *
 * Supported: %d %i %u %o %x %X %c %s %p %n %% and %f %F %e %E %g %G %a %A,
 * flags - + space # 0 ('), width and precision (also *), length modifiers
 * hh h l ll q j z t L.  %lc and %ls encode wide characters as UTF-8.  An
 * unknown conversion is copied to the output as written.
 */
#include <string.h>

#include "internal.h"

void glint__sink_write(struct glint_sink *s, const char *p, size_t n)
{
    s->total += n;
    while (n) {
        if (s->pos == s->cap) {
            if (!s->flush)
                return;
            s->flush(s);
            if (s->pos == s->cap)
                return;
        }
        size_t k = s->cap - s->pos < n ? s->cap - s->pos : n;
        memcpy(s->buf + s->pos, p, k);
        s->pos += k;
        p += k;
        n -= k;
    }
}

void glint__sink_fill(struct glint_sink *s, char c, size_t n)
{
    char block[32];
    memset(block, c, sizeof block);
    while (n) {
        size_t k = n < sizeof block ? n : sizeof block;
        glint__sink_write(s, block, k);
        n -= k;
    }
}

size_t glint__utf8_cut(const char *s, size_t n)
{
    /* Look back at most 3 bytes for the lead byte of the last sequence. */
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xc0) == 0x80)
            continue; /* continuation byte */
        size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        return need > back ? n - back : n;
    }
    return n;
}

/* Space or zero padding around a body of `len` bytes. */
void glint__pad(struct glint_sink *s, const struct glint_spec *sp, size_t len, bool before)
{
    if (sp->width < 0 || (size_t)sp->width <= len)
        return;
    if (before != !(sp->flags & FL_LEFT))
        return;
    glint__sink_fill(s, ' ', (size_t)sp->width - len);
}

/* prefix, then `zeros` zeros, then body; padded to the width. */
static void emit(struct glint_sink *s, const struct glint_spec *sp, const char *prefix, size_t plen,
                 size_t zeros, const char *body, size_t blen, bool zero_pad)
{
    size_t len = plen + zeros + blen;
    if (zero_pad && !(sp->flags & FL_LEFT) && sp->width > 0 && (size_t)sp->width > len) {
        zeros += (size_t)sp->width - len;
        len = (size_t)sp->width;
    }
    glint__pad(s, sp, len, true);
    glint__sink_write(s, prefix, plen);
    glint__sink_fill(s, '0', zeros);
    glint__sink_write(s, body, blen);
    glint__pad(s, sp, len, false);
}

static void fmt_int(struct glint_sink *s, const struct glint_spec *sp, uint64_t v, bool neg)
{
    char digits[24], prefix[2];
    size_t plen = 0, n = 0;
    unsigned base = sp->conv == 'o' ? 8 : (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'p') ? 16 : 10;
    const char *alpha = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    for (uint64_t t = v; t; t /= base)
        digits[sizeof digits - ++n] = alpha[t % base];
    if (neg)
        prefix[plen++] = '-';
    else if ((sp->conv == 'd' || sp->conv == 'i') && (sp->flags & FL_PLUS))
        prefix[plen++] = '+';
    else if ((sp->conv == 'd' || sp->conv == 'i') && (sp->flags & FL_SPACE))
        prefix[plen++] = ' ';
    if ((sp->flags & FL_ALT) && v && base == 16) {
        prefix[plen++] = '0';
        prefix[plen++] = sp->conv == 'X' ? 'X' : 'x';
    }
    size_t prec = sp->prec < 0 ? 1 : (size_t)sp->prec;
    if (sp->conv == 'o' && (sp->flags & FL_ALT) && prec <= n)
        prec = n + 1; /* the leading 0 that # promises */
    size_t zeros = prec > n ? prec - n : 0;
    emit(s, sp, prefix, plen, zeros, digits + sizeof digits - n, n,
         (sp->flags & FL_ZERO) && sp->prec < 0);
}

/* UTF-8 encoding of a code point (invalid ones become U+FFFD). */
static size_t utf8_encode(uint32_t c, char *out)
{
    if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        c = 0xfffd;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* %ls: wide string, precision counting output bytes (whole characters only). */
static void fmt_wstr(struct glint_sink *s, const struct glint_spec *sp, const int32_t *w)
{
    if (!w) {
        emit(s, sp, "", 0, 0, "(null)", sp->prec >= 0 && sp->prec < 6 ? 0 : 6, false);
        return;
    }
    size_t len = 0;
    char tmp[4];
    for (const int32_t *p = w; *p; p++) {
        size_t k = utf8_encode((uint32_t)*p, tmp);
        if (sp->prec >= 0 && len + k > (size_t)sp->prec)
            break;
        len += k;
    }
    glint__pad(s, sp, len, true);
    for (size_t done = 0; done < len; w++) {
        size_t k = utf8_encode((uint32_t)*w, tmp);
        glint__sink_write(s, tmp, k);
        done += k;
    }
    glint__pad(s, sp, len, false);
}

enum len_mod { LM_NONE, LM_HH, LM_H, LM_L, LM_LL, LM_J, LM_Z, LM_T, LM_BIG_L };

static const char *parse_len(const char *p, enum len_mod *lm)
{
    switch (*p) {
    case 'h':
        if (p[1] == 'h')
            return *lm = LM_HH, p + 2;
        return *lm = LM_H, p + 1;
    case 'l':
        if (p[1] == 'l')
            return *lm = LM_LL, p + 2;
        return *lm = LM_L, p + 1;
    case 'q': return *lm = LM_LL, p + 1;
    case 'j': return *lm = LM_J, p + 1;
    case 'z': return *lm = LM_Z, p + 1;
    case 't': return *lm = LM_T, p + 1;
    case 'L': return *lm = LM_BIG_L, p + 1;
    default: return *lm = LM_NONE, p;
    }
}

#define ARG_SIGNED(lm, ap)                                                              \
    ((lm) == LM_HH ? (int64_t)(signed char)va_arg(ap, int)                              \
     : (lm) == LM_H ? (int64_t)(short)va_arg(ap, int)                                   \
     : (lm) == LM_NONE ? (int64_t)va_arg(ap, int)                                       \
     : (int64_t)va_arg(ap, long long))

#define ARG_UNSIGNED(lm, ap)                                                            \
    ((lm) == LM_HH ? (uint64_t)(unsigned char)va_arg(ap, unsigned)                      \
     : (lm) == LM_H ? (uint64_t)(unsigned short)va_arg(ap, unsigned)                    \
     : (lm) == LM_NONE ? (uint64_t)va_arg(ap, unsigned)                                 \
     : (uint64_t)va_arg(ap, unsigned long long))

static void store_count(void *p, enum len_mod lm, size_t n)
{
    switch (lm) {
    case LM_HH: *(signed char *)p = (signed char)n; break;
    case LM_H: *(short *)p = (short)n; break;
    case LM_NONE: *(int *)p = (int)n; break;
    default: *(long long *)p = (long long)n; break;
    }
}

/* Flags, width and precision; returns the position of the length modifier. */
static const char *parse_spec(const char *p, struct glint_spec *sp, va_list *ap)
{
    sp->flags = 0;
    for (;; p++) {
        unsigned f = *p == '-' ? FL_LEFT : *p == '+' ? FL_PLUS : *p == ' ' ? FL_SPACE
                   : *p == '#' ? FL_ALT : *p == '0' ? FL_ZERO : *p == '\'' ? 0x100u : 0;
        if (!f)
            break;
        sp->flags |= f;
    }
    sp->width = -1;
    if (*p == '*') {
        int w = va_arg(*ap, int);
        if (w < 0) {
            sp->flags |= FL_LEFT;
            w = w == -2147483647 - 1 ? 2147483647 : -w;
        }
        sp->width = w;
        p++;
    } else if (*p >= '1' && *p <= '9') {
        int w = 0;
        for (; *p >= '0' && *p <= '9'; p++)
            w = w > 100000000 ? w : w * 10 + (*p - '0');
        sp->width = w;
    }
    sp->prec = -1;
    if (*p == '.') {
        p++;
        if (*p == '*') {
            int pr = va_arg(*ap, int);
            sp->prec = pr < 0 ? -1 : pr;
            p++;
        } else {
            int pr = 0;
            for (; *p >= '0' && *p <= '9'; p++)
                pr = pr > 100000000 ? pr : pr * 10 + (*p - '0');
            sp->prec = pr;
        }
    }
    return p;
}

static void fmt_str(struct glint_sink *s, const struct glint_spec *sp, const char *str)
{
    if (!str)
        str = sp->prec >= 0 && sp->prec < 6 ? "" : "(null)";
    size_t len = sp->prec >= 0 ? strnlen(str, (size_t)sp->prec) : strlen(str);
    emit(s, sp, "", 0, 0, str, len, false);
}

/* One conversion (after the '%' and the spec); returns the next position. */
static const char *convert(struct glint_sink *s, const char *start, const char *p, va_list *ap)
{
    struct glint_spec sp;
    enum len_mod lm;
    p = parse_len(parse_spec(p, &sp, ap), &lm);
    sp.conv = *p;
    switch (*p) {
    case 'd':
    case 'i': {
        int64_t v = ARG_SIGNED(lm, *ap);
        fmt_int(s, &sp, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
        break;
    }
    case 'u':
    case 'o':
    case 'x':
    case 'X':
        fmt_int(s, &sp, ARG_UNSIGNED(lm, *ap), false);
        break;
    case 'p': {
        const void *v = va_arg(*ap, const void *);
        if (!v) {
            emit(s, &sp, "", 0, 0, "(nil)", 5, false);
            break;
        }
        sp.flags |= FL_ALT;
        fmt_int(s, &sp, (uint64_t)(uintptr_t)v, false);
        break;
    }
    case 'c': {
        char tmp[4];
        size_t k = 1;
        if (lm == LM_L)
            k = utf8_encode((uint32_t)va_arg(*ap, unsigned), tmp);
        else
            tmp[0] = (char)va_arg(*ap, int);
        emit(s, &sp, "", 0, 0, tmp, k, false);
        break;
    }
    case 's':
        if (lm == LM_L)
            fmt_wstr(s, &sp, va_arg(*ap, const int32_t *));
        else
            fmt_str(s, &sp, va_arg(*ap, const char *));
        break;
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A': {
        double x = lm == LM_BIG_L ? (double)va_arg(*ap, long double) : va_arg(*ap, double);
        glint__format_double(s, &sp, x);
        break;
    }
    case 'n':
        store_count(va_arg(*ap, void *), lm, s->total);
        break;
    case '%':
        glint__sink_write(s, "%", 1);
        break;
    default: /* unknown: copy it as written (a lone '%' at the end too) */
        glint__sink_write(s, start, (size_t)(p - start) + (*p != 0));
        return *p ? p + 1 : p;
    }
    return p + 1;
}

void glint__vformat(struct glint_sink *s, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    const char *p = fmt;
    for (;;) {
        const char *q = p;
        while (*q && *q != '%')
            q++;
        glint__sink_write(s, p, (size_t)(q - p));
        if (!*q)
            break;
        p = convert(s, q, q + 1, &aq);
    }
    va_end(aq);
}
