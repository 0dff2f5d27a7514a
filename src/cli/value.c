/* value.c - arguments from text, results to stdout. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Writes "'TEXT' REASON" into why, TEXT cut to 64 bytes. */
static const char *quote_why(const char *text, const char *reason, char *why, size_t whysize)
{
    snprintf(why, whysize, "'%.64s%s' %s", text, strlen(text) > 64 ? "..." : "", reason);
    return why;
}

/* Reads all of fd into a malloc'd buffer; more than max bytes is refused. */
static const char *read_all(int fd, size_t max, uint8_t **out, size_t *len, int *err)
{
    size_t cap = 0, n = 0, limit = max < SIZE_MAX ? max + 1 : max;
    uint8_t *buf = NULL;
    *err = 0;
    for (;;) {
        if (n == cap) {
            size_t want = cap ? cap * 2 : 65536;
            if (want > limit)
                want = limit;
            uint8_t *nb = want > cap ? realloc(buf, want) : NULL;
            if (!nb) {
                free(buf);
                return want > cap ? "out of memory" : "is larger than the input buffer (see --input)";
            }
            buf = nb;
            cap = want;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = errno;
            free(buf);
            return "read failed";
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return NULL;
}

/* @FILE (or @- for stdin): the file's bytes. */
static const char *bytes_from_file(const char *path, size_t max, glint_value *out, void **owned,
                                   char *why, size_t whysize)
{
    bool is_stdin = !strcmp(path, "-");
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whysize, "cannot open '%s': %s", path, strerror(errno));
        return why;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int err;
    const char *r = read_all(fd, max, &buf, &len, &err);
    if (!is_stdin)
        close(fd);
    if (r) {
        snprintf(why, whysize, "'%s': %s%s%s", is_stdin ? "standard input" : path, r,
                 err ? ": " : "", err ? strerror(err) : "");
        return why;
    }
    *owned = buf;
    *out = glint_bytes(buf, len);
    return NULL;
}

static const char *from_text_scalar(glint_type t, const char *text, glint_value *out)
{
    int64_t i;
    uint64_t u;
    const char *r = NULL;
    out->type = t;
    switch (t) {
    case GLINT_BOOL: r = cli_parse_bool(text, &out->v.b); break;
    case GLINT_I32:
        if (!(r = cli_parse_signed(text, INT32_MIN, INT32_MAX, &i)))
            out->v.i32 = (int32_t)i;
        break;
    case GLINT_U32:
        if (!(r = cli_parse_unsigned(text, UINT32_MAX, &u)))
            out->v.u32 = (uint32_t)u;
        break;
    case GLINT_I64: r = cli_parse_signed(text, INT64_MIN, INT64_MAX, &out->v.i64); break;
    case GLINT_U64: r = cli_parse_unsigned(text, UINT64_MAX, &out->v.u64); break;
    case GLINT_F32: r = cli_parse_f32(text, &out->v.f32); break;
    case GLINT_F64: r = cli_parse_f64(text, &out->v.f64); break;
    default: r = "has a type the command line cannot convert"; break;
    }
    return r;
}

const char *cli_value_from_text(glint_type t, const char *text, size_t max_file, glint_value *out,
                                void **owned, char *why, size_t whysize)
{
    *owned = NULL;
    memset(out, 0, sizeof *out);
    if (t == GLINT_STRING) {
        size_t len = strlen(text);
        long bad = cli_utf8_check(text, len);
        if (bad >= 0) {
            snprintf(why, whysize, "is not valid UTF-8 (byte %ld)", bad + 1);
            return why;
        }
        *out = glint_str(text, len);
        return NULL;
    }
    if (t == GLINT_BYTES) {
        if (text[0] == '@')
            return bytes_from_file(text + 1, max_file, out, owned, why, whysize);
        uint8_t *b;
        size_t len;
        const char *r = cli_parse_hex(text, &b, &len);
        if (r)
            return quote_why(text, r, why, whysize);
        *owned = b;
        *out = glint_bytes(b ? (const void *)b : "", len); /* never a NULL pointer */
        return NULL;
    }
    const char *r = from_text_scalar(t, text, out);
    return r ? quote_why(text, r, why, whysize) : NULL;
}

/* ---- output ---- */

/* Shortest %.Ng text that reads back as the same float (at most 9 digits). */
static void print_f32(float x)
{
    char buf[64];
    if (isnan(x) || isinf(x)) {
        printf("%g\n", (double)x);
        return;
    }
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x)
            break;
    }
    printf("%s\n", buf);
}

/* The same for double (at most 17 digits). */
static void print_f64(double x)
{
    char buf[64];
    if (isnan(x) || isinf(x)) {
        printf("%g\n", x);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    printf("%s\n", buf);
}

static void print_hex(const uint8_t *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char chunk[4096];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        chunk[n++] = digits[p[i] >> 4];
        chunk[n++] = digits[p[i] & 15];
        if (n == sizeof chunk) {
            fwrite(chunk, 1, n, stdout);
            n = 0;
        }
    }
    fwrite(chunk, 1, n, stdout);
    putchar('\n');
}

int cli_value_print(const glint_value *v, bool raw)
{
    switch (v->type) {
    case GLINT_VOID: break;
    case GLINT_BOOL: puts(v->v.b ? "true" : "false"); break;
    case GLINT_I32: printf("%" PRId32 "\n", v->v.i32); break;
    case GLINT_U32: printf("%" PRIu32 "\n", v->v.u32); break;
    case GLINT_I64: printf("%" PRId64 "\n", v->v.i64); break;
    case GLINT_U64: printf("%" PRIu64 "\n", v->v.u64); break;
    case GLINT_F32: print_f32(v->v.f32); break;
    case GLINT_F64: print_f64(v->v.f64); break;
    case GLINT_STRING:
        fwrite(v->v.str.ptr, 1, v->v.str.len, stdout);
        if (!raw)
            putchar('\n');
        break;
    case GLINT_BYTES:
        if (raw)
            fwrite(v->v.bytes.ptr, 1, v->v.bytes.len, stdout);
        else
            print_hex(v->v.bytes.ptr, v->v.bytes.len);
        break;
    default: return -1;
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}
