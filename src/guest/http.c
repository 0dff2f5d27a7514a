/*
 * http.c - HTTP handlers in a guest: the request and response layouts of
 * <glint/http.h> behind <glint/guest_http.h>.
 *
 * Requests are parsed in place (the strings point into the call's
 * argument, which host calls leave intact).
 *
 * Responses are encoded as they are built, in the wire layout: the fixed
 * part (its magic left 0 until send), the headers, the body; a header added
 * after body bytes moves the body up.  The first response of a call is built
 * directly in the output buffer, right after the result frame, where
 * glint_return_bytes would copy it (so send copies nothing), and after every
 * change the result frame is set to "bytes, this long, here": host calls
 * (printf included) keep a result that is set (see hostcall.c, keep_result),
 * so they leave the response intact.  The same frame tells whether the
 * response is still there: the host resets it before each call, and
 * glint_return_* or another send overwrite it.  A response created while
 * that one is live goes to the heap and is copied at send.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glint/guest_http.h"
#include "internal.h"

#define DATA_OFF sizeof(struct glint_result_frame)
#define FIXED GLINT_HTTP_RESP_FIXED

struct glint_http_response {
    int status;
    bool in_output; /* the response in the output buffer (`primary`) */
    bool failed;    /* error holds why */
    uint32_t nheaders;
    uint8_t *buf;   /* the encoded response */
    size_t len;     /* bytes of buf in use */
    size_t hdr_end; /* end of the headers: the body starts here */
    size_t cap;     /* bytes buf may hold (heap: allocated cap + 1, for vsnprintf's NUL) */
    char error[200];
};

/* The response in the output buffer, and whether it is being built. */
static glint_http_response primary;
static bool primary_live;

/* Why the last glint_http_parse failed. */
static char parse_why[128];

/* ---- little endian ---------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ---- strings and requests ---------------------------------------------------- */

bool glint_http_str_eq(glint_http_str s, const char *cstr)
{
    size_t n = cstr ? strlen(cstr) : 0;
    return s.len == n && (n == 0 || (s.ptr && memcmp(s.ptr, cstr, n) == 0));
}

__attribute__((format(printf, 1, 2))) static int malformed(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(parse_why, sizeof parse_why, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse(const uint8_t *data, size_t len, glint_http_request *req)
{
    if (len < GLINT_HTTP_REQ_FIXED)
        return malformed("%zu bytes, fewer than the %u of the fixed part", len,
                         GLINT_HTTP_REQ_FIXED);
    uint32_t magic = rd32(data), version = rd32(data + 4);
    if (magic != GLINT_HTTP_REQ_MAGIC)
        return malformed("bad magic 0x%08x", magic);
    if (version != GLINT_HTTP_VERSION)
        return malformed("unsupported version %u", version);
    uint32_t method_len = rd32(data + 8), path_len = rd32(data + 12), query_len = rd32(data + 16);
    uint32_t nheaders = rd32(data + 20), body_len = rd32(data + 24);
    if (nheaders > GLINT_HTTP_MAX_HEADERS)
        return malformed("%u headers (at most %u)", nheaders, GLINT_HTTP_MAX_HEADERS);
    size_t pos = GLINT_HTTP_REQ_FIXED;
    /* Sums in 64 bits: three u32 cannot wrap them. */
    uint64_t strings = (uint64_t)method_len + path_len + query_len;
    if (strings > len - pos)
        return malformed("method, path and query (%llu bytes) run past the end (%zu left)",
                         (unsigned long long)strings, len - pos);
    req->method = (glint_http_str){(const char *)data + pos, method_len};
    pos += method_len;
    req->path = (glint_http_str){(const char *)data + pos, path_len};
    pos += path_len;
    req->query = (glint_http_str){(const char *)data + pos, query_len};
    pos += query_len;
    for (uint32_t i = 0; i < nheaders; i++) {
        if (len - pos < 8)
            return malformed("header %u: truncated lengths", i);
        uint64_t both = (uint64_t)rd32(data + pos) + rd32(data + pos + 4);
        if (both > len - pos - 8)
            return malformed("header %u: name and value (%llu bytes) run past the end", i,
                             (unsigned long long)both);
        req->hdr_[i] = data + pos;
        pos += 8 + (size_t)both;
    }
    req->nheaders = nheaders;
    if (body_len != len - pos)
        return body_len > len - pos
                   ? malformed("body of %u bytes runs past the end (%zu left)", body_len, len - pos)
                   : malformed("%zu bytes after the %u-byte body", len - pos - body_len, body_len);
    req->body = (glint_http_str){(const char *)data + pos, body_len};
    return 0;
}

int glint_http_parse(const uint8_t *data, size_t len, glint_http_request *req)
{
    if (!req)
        return malformed("no request to fill");
    memset(req, 0, sizeof *req);
    if (!data)
        return malformed("no data");
    if (parse(data, len, req) == 0)
        return 0;
    memset(req, 0, sizeof *req);
    return -1;
}

int glint_http_header_at(const glint_http_request *r, uint32_t i, glint_http_str *name,
                         glint_http_str *value)
{
    if (!r || i >= r->nheaders || i >= GLINT_HTTP_MAX_HEADERS || !r->hdr_[i])
        return -1;
    const uint8_t *h = r->hdr_[i];
    uint32_t nl = rd32(h), vl = rd32(h + 4);
    if (name)
        *name = (glint_http_str){(const char *)h + 8, nl};
    if (value)
        *value = (glint_http_str){(const char *)h + 8 + nl, vl};
    return 0;
}

glint_http_str glint_http_header(const glint_http_request *r, const char *name)
{
    glint_http_str n, v;
    for (uint32_t i = 0; name && glint_http_header_at(r, i, &n, &v) == 0; i++) {
        size_t k = 0;
        while (k < n.len && name[k] && lower((unsigned char)n.ptr[k]) == lower((unsigned char)name[k]))
            k++;
        if (k == n.len && name[k] == '\0')
            return v;
    }
    return (glint_http_str){NULL, 0};
}

glint_http_str glint_http_query_param(const glint_http_request *r, const char *key)
{
    size_t klen = key ? strlen(key) : 0;
    if (!r || !r->query.ptr || klen == 0 || strpbrk(key, "=&"))
        return (glint_http_str){NULL, 0}; /* no key holds '=' or '&' */
    const char *q = r->query.ptr, *end = q + r->query.len;
    for (;;) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        size_t n = (size_t)(stop - q);
        if (n >= klen && memcmp(q, key, klen) == 0) {
            if (n == klen)
                return (glint_http_str){q + klen, 0};
            if (q[klen] == '=')
                return (glint_http_str){q + klen + 1, n - klen - 1};
        }
        if (!amp)
            return (glint_http_str){NULL, 0};
        q = amp + 1;
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t glint_http_url_decode(char *dst, size_t cap, glint_http_str s)
{
    size_t o = 0;
    if (!dst)
        cap = 0;
    for (size_t i = 0; i < s.len; i++) {
        int c = (unsigned char)s.ptr[i];
        if (c == '%') {
            int hi = s.len - i >= 3 ? hexval((unsigned char)s.ptr[i + 1]) : -1;
            int lo = hi >= 0 ? hexval((unsigned char)s.ptr[i + 2]) : -1;
            if (lo < 0)
                goto fail;
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (cap == 0 || o >= cap - 1) /* room for c and the NUL */
            goto fail;
        dst[o++] = (char)c;
    }
    if (o >= cap)
        goto fail;
    dst[o] = '\0';
    return o;
fail:
    if (cap)
        dst[0] = '\0';
    return (size_t)-1;
}

/* ---- responses ----------------------------------------------------------------- */

/* Bytes an encoded response may have: what glint_return_bytes accepts. */
static size_t output_cap(void)
{
    uint64_t size = BOOT->output_size;
    return size > DATA_OFF + 1 ? (size_t)(size - DATA_OFF - 1) : 0;
}

/* Can n more bytes come from the heap (with room for its bookkeeping)?
 * Checked before allocating, so that a full heap fails the response
 * instead of aborting the guest. */
static bool heap_has(size_t n)
{
    size_t size = glint_heap_size(), used = glint_heap_used();
    return used <= size && n <= size - used && size - used - n >= 64;
}

__attribute__((format(printf, 2, 3))) static void fail(glint_http_response *r, const char *fmt, ...)
{
    if (r->failed)
        return; /* keep the first reason */
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
}

static struct glint_result_frame *result_frame(void)
{
    return (struct glint_result_frame *)glint__out();
}

/* Is the primary response still what the output buffer holds? */
static bool primary_intact(void)
{
    const struct glint_result_frame *f = result_frame();
    return primary_live && f->status == GLINT_RESULT_OK && f->value.type == GLINT_BYTES &&
           f->value.bits == DATA_OFF && f->value.len == primary.len && primary.len >= FIXED &&
           rd32(primary.buf) == 0;
}

/* Sets the result frame to the primary response as it is now. */
static void publish(const glint_http_response *r)
{
    if (!r->in_output)
        return;
    struct glint_result_frame *f = result_frame();
    f->value.type = GLINT_BYTES;
    f->value.reserved = 0;
    f->value.len = r->len;
    f->value.bits = DATA_OFF;
    f->reserved = 0;
    f->status = GLINT_RESULT_OK;
}

/* Can r take a change?  Fails r if its bytes in the output buffer were overwritten. */
static bool usable(glint_http_response *r)
{
    if (r->failed)
        return false;
    if (r->in_output && !primary_intact()) {
        fail(r, "the response was overwritten while being built (a result set with "
                "glint_return_*, or another response sent, before its send)");
        return false;
    }
    return true;
}

/* Makes room for n more bytes; false (r failed) when they cannot fit. */
static bool reserve(glint_http_response *r, size_t n)
{
    size_t limit = output_cap();
    if (n > limit || r->len > limit - n) {
        fail(r, "response too large: %zu bytes and %zu more do not fit the output buffer "
                "(%llu bytes: at most %zu for a response)",
             r->len, n, (unsigned long long)BOOT->output_size, limit);
        return false;
    }
    size_t need = r->len + n;
    if (need <= r->cap)
        return true;
    /* Only heap responses get here: the primary has cap == limit. */
    size_t want = r->cap > limit / 2 ? limit : r->cap * 2;
    if (want < need)
        want = need;
    if (want < 256)
        want = 256 < limit ? 256 : limit;
    if (!heap_has(want + 1))
        want = need;
    if (!heap_has(want + 1)) {
        fail(r, "out of memory: the guest heap (%zu of %zu bytes in use) cannot hold a "
                "%zu-byte response",
             glint_heap_used(), glint_heap_size(), need);
        return false;
    }
    uint8_t *p = realloc(r->buf, want + 1);
    if (!p) { /* glint_heap_null_on_failure(true) and a fragmented heap */
        fail(r, "out of memory: realloc of %zu bytes for the response failed", want + 1);
        return false;
    }
    r->buf = p;
    r->cap = want;
    return true;
}

glint_http_response *glint_http_response_new(int status)
{
    const struct glint_fn_desc *fn = glint__current_fn();
    bool output = fn && fn->ret == GLINT_BYTES && !primary_intact();
    glint_http_response *r;
    if (output) {
        r = &primary;
        memset(r, 0, sizeof *r);
        r->in_output = true;
        r->buf = glint__out() + DATA_OFF;
        r->cap = output_cap();
        primary_live = true;
    } else {
        if (!heap_has(sizeof *r))
            return NULL;
        r = malloc(sizeof *r);
        if (!r)
            return NULL;
        memset(r, 0, sizeof *r);
    }
    r->status = status;
    if (status < 100 || status > 599)
        fail(r, "invalid HTTP status %d (100..599)", status);
    if (reserve(r, FIXED)) {
        memset(r->buf, 0, FIXED); /* magic 0: not a response until send */
        r->len = r->hdr_end = FIXED;
    }
    publish(r);
    return r;
}

static bool tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ci_equal(const char *a, const char *b)
{
    for (; *a && lower((unsigned char)*a) == lower((unsigned char)*b); a++, b++)
        ;
    return *a == '\0' && *b == '\0';
}

int glint_http_response_header(glint_http_response *r, const char *name, const char *value)
{
    if (!r || !name || !value || !usable(r))
        return -1;
    size_t nl = 0, vl = 0;
    for (; name[nl]; nl++)
        if (!tchar((unsigned char)name[nl]))
            return -1;
    for (; value[vl]; vl++)
        if ((unsigned char)value[vl] < 0x20 || (unsigned char)value[vl] > 0x7e)
            return -1;
    if (nl == 0 || nl > GLINT_HTTP_MAX_NAME || vl > GLINT_HTTP_MAX_VALUE ||
        ci_equal(name, "content-length") || ci_equal(name, "transfer-encoding") ||
        ci_equal(name, "connection") || r->nheaders >= GLINT_HTTP_MAX_HEADERS)
        return -1;
    if (nl > UINT32_MAX || vl > UINT32_MAX || !reserve(r, 8 + nl + vl)) {
        fail(r, "response too large: header %.40s does not fit", name);
        return -1;
    }
    size_t add = 8 + nl + vl;
    uint8_t *at = r->buf + r->hdr_end;
    memmove(at + add, at, r->len - r->hdr_end); /* the body moves up */
    wr32(at, (uint32_t)nl);
    wr32(at + 4, (uint32_t)vl);
    memcpy(at + 8, name, nl);
    memcpy(at + 8 + nl, value, vl);
    r->hdr_end += add;
    r->len += add;
    r->nheaders++;
    publish(r);
    return 0;
}

int glint_http_response_write(glint_http_response *r, const void *p, size_t n)
{
    if (!r || !usable(r) || (n && !p))
        return -1;
    if (n == 0)
        return 0;
    if (!reserve(r, n))
        return -1;
    memmove(r->buf + r->len, p, n);
    r->len += n;
    publish(r);
    return 0;
}

int glint_http_response_printf(glint_http_response *r, const char *fmt, ...)
{
    if (!r || !fmt || !usable(r))
        return -1;
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    /* buf has cap + 1 bytes (the primary: the output buffer's last byte). */
    int n = vsnprintf((char *)r->buf + r->len, r->cap - r->len + 1, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n > r->cap - r->len && reserve(r, (size_t)n))
        n = vsnprintf((char *)r->buf + r->len, r->cap - r->len + 1, fmt, aq);
    va_end(aq);
    if (n < 0) {
        fail(r, "glint_http_response_printf: the text is too long for printf (over 2 GiB)");
        return -1;
    }
    if ((size_t)n > r->cap - r->len) {
        fail(r, "response too large: %zu bytes and %d more do not fit the output buffer "
                "(%llu bytes: at most %zu for a response)",
             r->len, n, (unsigned long long)BOOT->output_size, output_cap());
        return -1;
    }
    r->len += (size_t)n;
    publish(r);
    return n;
}

void glint_http_response_discard(glint_http_response *r)
{
    if (!r)
        return;
    if (r->in_output) {
        if (primary_intact())
            result_frame()->status = GLINT_RESULT_NONE; /* no half-built result */
        primary_live = false;
        return;
    }
    free(r->buf);
    free(r);
}

void glint_http_response_send(glint_http_response *r)
{
    if (!r) {
        glint_return_error("glint_http_response_send: no response (glint_http_response_new "
                           "returned NULL: the guest heap is exhausted)");
        return;
    }
    if (!usable(r)) {
        glint_return_error("HTTP response: %s", r->error); /* r->error is not in the output buffer */
        glint_http_response_discard(r);
        return;
    }
    wr32(r->buf, GLINT_HTTP_RESP_MAGIC);
    wr32(r->buf + 4, GLINT_HTTP_VERSION);
    wr32(r->buf + 8, (uint32_t)r->status);
    wr32(r->buf + 12, r->nheaders);
    wr32(r->buf + 16, (uint32_t)(r->len - r->hdr_end));
    if (r->in_output) {
        primary_live = false;
        glint_return_bytes(r->buf, r->len); /* already in place: copies nothing */
        return;
    }
    glint_return_bytes(r->buf, r->len); /* overwrites a primary being built: it sees that */
    free(r->buf);
    free(r);
}

/* ---- handlers -------------------------------------------------------------------- */

void glint_http_serve(const glint_args *args, void (*handler)(const glint_http_request *req))
{
    size_t len;
    const uint8_t *data = glint_arg_bytes(args, 0, &len);
    primary_live = false; /* a response of an earlier call is gone */
    glint_http_request req;
    if (glint_http_parse(data, len, &req) != 0) {
        glint_http_response *res = glint_http_response_new(400);
        glint_http_response_header(res, "Content-Type", "text/plain; charset=utf-8");
        glint_http_response_printf(res, "malformed request: %s\n", parse_why);
        glint_http_response_send(res);
        return;
    }
    handler(&req);
    if (primary_intact()) {
        primary_live = false;
        glint_return_error("%s: the HTTP handler returned without sending its response "
                           "(glint_http_response_send)",
                           glint__current_name());
        return;
    }
    primary_live = false;
    if (result_frame()->status == GLINT_RESULT_NONE)
        glint_return_error("%s: the HTTP handler returned without a response "
                           "(glint_http_response_send)",
                           glint__current_name());
}
