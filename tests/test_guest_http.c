/*
 * test_guest_http.c - the guest side of glintd's HTTP binding:
 * <glint/guest_http.h> (src/guest/http.c) through tests/guests/http_guest.c,
 * and the example examples/http/guest.c.
 *
 * Requests are encoded here byte by byte per <glint/http.h>, independently
 * of the guest library, and every response is decoded strictly (magic,
 * version, status range, header count and characters, exact end).  Hostile
 * requests (every truncation, u32 sums that wrap, huge header counts, bad
 * magic or version, trailing bytes, random mutations judged by a reference
 * parser written here) must all give GLINT_OK and the handler's 400.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glint/http.h"
#include "helpers.h"

#define HTTP_GUEST TEST_GUEST("http_guest")
#define HTTP_EXAMPLE GLINT_BUILD_DIR "/examples/http/http-guest.elf"

#define RESULT_OVERHEAD 33u /* result frame (32) + glint_return_bytes's NUL */

/* ---- requests ---------------------------------------------------------------- */

typedef struct {
    const char *p;
    size_t n;
} bstr;

#define S(lit) ((bstr){(lit), sizeof(lit) - 1})

struct hdr {
    bstr name, value;
};

typedef struct {
    bstr method, path, query;
    size_t nheaders;
    const struct hdr *h;
    bstr body;
} hreq;

typedef struct {
    uint8_t *p;
    size_t len, cap;
} buf_t;

static void buf_put(buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        cr_assert_not_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_u32(buf_t *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    buf_put(b, x, 4);
}

static void set_u32(buf_t *b, size_t off, uint32_t v)
{
    cr_assert(off + 4 <= b->len);
    b->p[off] = (uint8_t)v;
    b->p[off + 1] = (uint8_t)(v >> 8);
    b->p[off + 2] = (uint8_t)(v >> 16);
    b->p[off + 3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The request layout of <glint/http.h>. */
static buf_t encode(const hreq *r)
{
    buf_t b = {0};
    buf_u32(&b, GLINT_HTTP_REQ_MAGIC);
    buf_u32(&b, GLINT_HTTP_VERSION);
    buf_u32(&b, (uint32_t)r->method.n);
    buf_u32(&b, (uint32_t)r->path.n);
    buf_u32(&b, (uint32_t)r->query.n);
    buf_u32(&b, (uint32_t)r->nheaders);
    buf_u32(&b, (uint32_t)r->body.n);
    buf_put(&b, r->method.p, r->method.n);
    buf_put(&b, r->path.p, r->path.n);
    buf_put(&b, r->query.p, r->query.n);
    for (size_t i = 0; i < r->nheaders; i++) {
        buf_u32(&b, (uint32_t)r->h[i].name.n);
        buf_u32(&b, (uint32_t)r->h[i].value.n);
        buf_put(&b, r->h[i].name.p, r->h[i].name.n);
        buf_put(&b, r->h[i].value.p, r->h[i].value.n);
    }
    buf_put(&b, r->body.p, r->body.n);
    return b;
}

/* A reference parser, written apart from the guest's: true and *out (with
 * headers in hs[GLINT_HTTP_MAX_HEADERS]) for a well-formed request. */
static bool ref_parse(const uint8_t *p, size_t len, hreq *out, struct hdr *hs)
{
    if (len < 28 || get_u32(p) != GLINT_HTTP_REQ_MAGIC || get_u32(p + 4) != GLINT_HTTP_VERSION)
        return false;
    uint64_t ml = get_u32(p + 8), pl = get_u32(p + 12), ql = get_u32(p + 16);
    uint64_t nh = get_u32(p + 20), bl = get_u32(p + 24);
    if (nh > GLINT_HTTP_MAX_HEADERS)
        return false;
    uint64_t off = 28;
    if (off + ml + pl + ql > len)
        return false;
    out->method = (bstr){(const char *)p + off, ml};
    out->path = (bstr){(const char *)p + off + ml, pl};
    out->query = (bstr){(const char *)p + off + ml + pl, ql};
    off += ml + pl + ql;
    for (uint64_t i = 0; i < nh; i++) {
        if (off + 8 > len)
            return false;
        uint64_t nl = get_u32(p + off), vl = get_u32(p + off + 4);
        if (off + 8 + nl + vl > len)
            return false;
        hs[i].name = (bstr){(const char *)p + off + 8, nl};
        hs[i].value = (bstr){(const char *)p + off + 8 + nl, vl};
        off += 8 + nl + vl;
    }
    if (off + bl != len)
        return false;
    out->nheaders = nh;
    out->h = hs;
    out->body = (bstr){(const char *)p + off, bl};
    return true;
}

/* ---- responses --------------------------------------------------------------- */

typedef struct {
    uint32_t status, nheaders;
    struct {
        const char *name, *value;
        uint32_t nlen, vlen;
    } h[GLINT_HTTP_MAX_HEADERS];
    const char *body;
    uint32_t body_len;
} hresp;

static bool tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ascii_ci_eq(const char *a, size_t an, const char *b)
{
    return an == strlen(b) && strncasecmp(a, b, an) == 0;
}

/* Decodes a response strictly; NULL, or why it is malformed. */
static const char *decode(const uint8_t *p, size_t len, hresp *r)
{
    static char why[160];
    if (len < GLINT_HTTP_RESP_FIXED)
        return "shorter than the fixed part";
    if (get_u32(p) != GLINT_HTTP_RESP_MAGIC)
        return "bad magic";
    if (get_u32(p + 4) != GLINT_HTTP_VERSION)
        return "bad version";
    r->status = get_u32(p + 8);
    r->nheaders = get_u32(p + 12);
    uint64_t bl = get_u32(p + 16);
    if (r->status < 100 || r->status > 599)
        return "status out of range";
    if (r->nheaders > GLINT_HTTP_MAX_HEADERS)
        return "too many headers";
    uint64_t off = GLINT_HTTP_RESP_FIXED;
    for (uint32_t i = 0; i < r->nheaders; i++) {
        if (off + 8 > len)
            return "header lengths truncated";
        uint64_t nl = get_u32(p + off), vl = get_u32(p + off + 4);
        if (off + 8 + nl + vl > len)
            return "header past the end";
        const char *n = (const char *)p + off + 8, *v = n + nl;
        if (nl == 0)
            return "empty header name";
        for (uint64_t k = 0; k < nl; k++)
            if (!tchar((unsigned char)n[k])) {
                snprintf(why, sizeof why, "header %u: name byte 0x%02x", i, (unsigned char)n[k]);
                return why;
            }
        for (uint64_t k = 0; k < vl; k++)
            if ((unsigned char)v[k] < 0x20 || (unsigned char)v[k] > 0x7e) {
                snprintf(why, sizeof why, "header %u: value byte 0x%02x", i, (unsigned char)v[k]);
                return why;
            }
        if (ascii_ci_eq(n, nl, "content-length") || ascii_ci_eq(n, nl, "transfer-encoding"))
            return "framing header";
        r->h[i].name = n;
        r->h[i].nlen = (uint32_t)nl;
        r->h[i].value = v;
        r->h[i].vlen = (uint32_t)vl;
        off += 8 + nl + vl;
    }
    if (off + bl != len) {
        snprintf(why, sizeof why, "body of %llu bytes at %llu does not end at %zu",
                 (unsigned long long)bl, (unsigned long long)off, len);
        return why;
    }
    r->body = (const char *)p + off;
    r->body_len = (uint32_t)bl;
    return NULL;
}

/* Calls HTTP handler `fn` with the bytes; asserts GLINT_OK and a valid
 * response, which stays valid until the next call on sb. */
static const hresp *call_raw(glint_sandbox *sb, const char *fn, const void *req, size_t len)
{
    static hresp r;
    static const uint8_t empty[1];
    memset(&r, 0, sizeof r);
    glint_value a = glint_bytes(req ? req : empty, len), out;
    EXPECT_OK(sb, glint_sandbox_call(sb, fn, &a, 1, &out));
    cr_assert_eq(out.type, GLINT_BYTES, "%s returned %s", fn, glint_type_name(out.type));
    const char *why = decode(out.v.bytes.ptr, out.v.bytes.len, &r);
    cr_assert_null(why, "%s: malformed response (%zu bytes): %s", fn, out.v.bytes.len, why);
    return &r;
}

static const hresp *call_req(glint_sandbox *sb, const char *fn, const hreq *q)
{
    buf_t b = encode(q);
    const hresp *r = call_raw(sb, fn, b.p, b.len);
    free(b.p);
    return r;
}

/* GET-style request with only a method, a path and a query. */
static const hresp *call_q(glint_sandbox *sb, const char *fn, const char *query)
{
    hreq q = {.method = S("GET"), .path = S("/"), .query = {query, strlen(query)}};
    return call_req(sb, fn, &q);
}

/* Calls `fn` expecting failure status `want`; returns the sandbox's message. */
static const char *call_fails(glint_sandbox *sb, const char *fn, const char *query,
                              glint_status want)
{
    hreq q = {.method = S("GET"), .path = S("/"), .query = {query, strlen(query)}};
    buf_t b = encode(&q);
    glint_value a = glint_bytes(b.p, b.len), out;
    EXPECT_STATUS(sb, glint_sandbox_call(sb, fn, &a, 1, &out), want);
    free(b.p);
    return glint_sandbox_error(sb)->message;
}

/* Value of the first response header named `name` (case-insensitive), or NULL. */
static const char *resp_header(const hresp *r, const char *name, uint32_t *len)
{
    for (uint32_t i = 0; i < r->nheaders; i++)
        if (ascii_ci_eq(r->h[i].name, r->h[i].nlen, name)) {
            *len = r->h[i].vlen;
            return r->h[i].value;
        }
    return NULL;
}

static void expect_header(const hresp *r, const char *name, const char *want)
{
    uint32_t len = 0;
    const char *v = resp_header(r, name, &len);
    cr_assert_not_null(v, "no response header %s", name);
    cr_assert(len == strlen(want) && memcmp(v, want, len) == 0, "header %s is \"%.*s\", want \"%s\"",
              name, (int)len, v, want);
}

static void expect_body(const hresp *r, const void *want, size_t len)
{
    cr_assert_eq(r->body_len, len, "body of %u bytes, want %zu: \"%.*s\"", r->body_len, len,
                 (int)(r->body_len > 300 ? 300 : r->body_len), r->body);
    cr_assert(len == 0 || memcmp(r->body, want, len) == 0, "body \"%.*s\", want \"%.*s\"",
              (int)(r->body_len > 300 ? 300 : r->body_len), r->body, (int)(len > 300 ? 300 : len),
              (const char *)want);
}

#define EXPECT_BODY(r, lit) expect_body((r), (lit), sizeof(lit) - 1)

/* The handler's answer to malformed input: 400, text, "malformed request: WHY\n". */
static void expect_400(const hresp *r, const char *why_has, const char *what)
{
    cr_assert_eq(r->status, 400, "%s: status %u, want 400 (body \"%.*s\")", what, r->status,
                 (int)r->body_len, r->body);
    expect_header(r, "content-type", "text/plain; charset=utf-8");
    static const char pre[] = "malformed request: ";
    cr_assert(r->body_len > sizeof pre && memcmp(r->body, pre, sizeof pre - 1) == 0 &&
                  r->body[r->body_len - 1] == '\n',
              "%s: 400 body \"%.*s\"", what, (int)r->body_len, r->body);
    if (why_has)
        cr_assert(memmem(r->body, r->body_len, why_has, strlen(why_has)) != NULL,
                  "%s: 400 body \"%.*s\" does not say \"%s\"", what, (int)r->body_len, r->body,
                  why_has);
}

static glint_sandbox *start_big(const char *path, size_t in, size_t out, size_t heap)
{
    glint_config cfg = th_config_buffers(in, out);
    if (heap)
        cfg.heap_size = heap;
    return th_start(path, &cfg);
}

/* ---- Dump: the request as the guest saw it ---------------------------------------- */

struct reader {
    const char *p;
    size_t left;
};

static uint32_t rd_u32(struct reader *rd, const char *what)
{
    cr_assert(rd->left >= 4, "dump truncated at %s", what);
    uint32_t v = get_u32((const uint8_t *)rd->p);
    rd->p += 4, rd->left -= 4;
    return v;
}

static void rd_str(struct reader *rd, bstr want, const char *what)
{
    uint32_t n = rd_u32(rd, what);
    cr_assert_eq(n, want.n, "%s: guest saw %u bytes, sent %zu", what, n, want.n);
    cr_assert(rd->left >= n, "dump truncated in %s", what);
    cr_assert(n == 0 || memcmp(rd->p, want.p, n) == 0, "%s: guest saw other bytes", what);
    rd->p += n, rd->left -= n;
}

static bool bytes_ci_eq(bstr a, bstr b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++) {
        unsigned char x = (unsigned char)a.p[i], y = (unsigned char)b.p[i];
        if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
            return false;
    }
    return true;
}

/* Checks Dump's response against the request q. */
static void check_dump(const hresp *r, const hreq *q)
{
    cr_assert_eq(r->status, 200, "Dump: status %u (body \"%.*s\")", r->status,
                 (int)(r->body_len > 200 ? 200 : r->body_len), r->body);
    expect_header(r, "x-at-oob", "ok");
    struct reader rd = {r->body, r->body_len};
    rd_str(&rd, q->method, "method");
    rd_str(&rd, q->path, "path");
    rd_str(&rd, q->query, "query");
    cr_assert_eq(rd_u32(&rd, "nheaders"), q->nheaders);
    for (size_t i = 0; i < q->nheaders; i++) {
        char what[64];
        snprintf(what, sizeof what, "header %zu name", i);
        rd_str(&rd, q->h[i].name, what);
        snprintf(what, sizeof what, "header %zu value", i);
        rd_str(&rd, q->h[i].value, what);
        uint32_t want = 0xffffffffu;
        if (q->h[i].name.n < 200 && !memchr(q->h[i].name.p, 0, q->h[i].name.n))
            for (want = 0; !bytes_ci_eq(q->h[want].name, q->h[i].name); want++)
                ;
        uint32_t got = rd_u32(&rd, "lookup");
        cr_assert_eq(got, want, "glint_http_header(upper-cased name of header %zu) found header "
                     "%d, want %d", i, (int)got, (int)want);
    }
    rd_str(&rd, q->body, "body");
    cr_assert_eq(rd.left, 0, "%zu bytes after the dump", rd.left);
}

Test(guest_http, dump_roundtrip, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_big(HTTP_GUEST, 1u << 20, 1u << 20, 0);

    /* Everything empty. */
    hreq q = {.method = S(""), .path = S(""), .query = S(""), .body = S("")};
    check_dump(call_req(sb, "Dump", &q), &q);

    /* A typical request, names of several cases, duplicates. */
    static const struct hdr hs[] = {
        {S("host"), S("example.com")},   {S("user-agent"), S("curl/8")},
        {S("x-dup"), S("one")},          {S("X-Dup"), S("two")},
        {S("accept"), S("")},            {S(""), S("empty name")},
        {S("x-\0nul"), S("name with NUL")},
    };
    q = (hreq){S("POST"), S("/a/b c/ü"), S("x=1&y=%20"), 7, hs, S("{\"k\": [1, 2]}")};
    check_dump(call_req(sb, "Dump", &q), &q);

    /* Every byte value in every field. */
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    struct hdr bin[2] = {{{all, 256}, {all + 128, 128}}, {{all + 1, 10}, {all, 0}}};
    q = (hreq){{all, 256}, {all + 3, 200}, {all + 7, 100}, 2, bin, {all, 256}};
    check_dump(call_req(sb, "Dump", &q), &q);

    /* 128 headers, the most there may be, and a 400 KiB body. */
    static struct hdr many[GLINT_HTTP_MAX_HEADERS];
    static char names[GLINT_HTTP_MAX_HEADERS][16];
    for (unsigned i = 0; i < GLINT_HTTP_MAX_HEADERS; i++) {
        int n = snprintf(names[i], sizeof names[i], "H-%u", i % 100);
        many[i] = (struct hdr){{names[i], (size_t)n}, {names[i], (size_t)n}};
    }
    size_t big = 400u << 10;
    char *body = malloc(big);
    for (size_t i = 0; i < big; i++)
        body[i] = (char)(i * 7 + (i >> 9));
    q = (hreq){S("PUT"), S("/upload"), S(""), GLINT_HTTP_MAX_HEADERS, many, {body, big}};
    check_dump(call_req(sb, "Dump", &q), &q);
    free(body);
    glint_sandbox_destroy(sb);
}

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill_pool(char *pool, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++)
        pool[i] = (char)rng(&seed);
}

/* A random valid request in hs[] and pool[] (64 KiB of random bytes from
 * fill_pool), from a random offset. */
static hreq random_request(uint64_t *seed, char *pool, size_t pool_len, struct hdr *hs)
{
    static const char *const names[] = {"host", "accept", "x-a", "content-type", "cookie"};
    cr_assert(pool_len >= (64u << 10));
    size_t at = (size_t)(rng(seed) % (32u << 10));
#define TAKE(max) ({ size_t n_ = (size_t)(rng(seed) % ((max) + 1)); bstr s_ = {pool + at, n_}; at += n_; s_; })
    hreq q;
    q.method = TAKE(10);
    q.path = TAKE(100);
    q.query = TAKE(100);
    uint64_t kind = rng(seed) % 8;
    q.nheaders = kind == 0 ? GLINT_HTTP_MAX_HEADERS : (size_t)(rng(seed) % 12);
    for (size_t i = 0; i < q.nheaders; i++) {
        if (rng(seed) % 2) {
            /* A known name in random case: lookups see duplicates. */
            const char *n = names[rng(seed) % 5];
            size_t len = strlen(n);
            char *dst = pool + at;
            for (size_t k = 0; k < len; k++)
                dst[k] = rng(seed) % 2 ? (char)(n[k] >= 'a' && n[k] <= 'z' ? n[k] - 32 : n[k]) : n[k];
            hs[i].name = (bstr){dst, len};
            at += len;
        } else {
            hs[i].name = TAKE(20);
        }
        hs[i].value = TAKE(40);
    }
    q.h = hs;
    q.body = TAKE(300);
#undef TAKE
    cr_assert(at <= pool_len);
    return q;
}

Test(guest_http, dump_random, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_big(HTTP_GUEST, 256u << 10, 256u << 10, 0);
    static char pool[64 << 10];
    static struct hdr hs[GLINT_HTTP_MAX_HEADERS];
    uint64_t seed = 42;
    fill_pool(pool, sizeof pool, 1);
    for (int i = 0; i < 300; i++) {
        hreq q = random_request(&seed, pool, sizeof pool, hs);
        check_dump(call_req(sb, "Dump", &q), &q);
    }
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);
}

/* ---- hostile requests: always the 400 of GLINT_HTTP_HANDLER ------------------------- */

static const struct hdr sample_headers[] = {
    {S("host"), S("example.com")},
    {S("content-type"), S("text/plain")},
    {S("x-empty"), S("")},
};

static buf_t sample_request(void)
{
    hreq q = {S("POST"), S("/p/q"), S("a=1&b=2"), 3, sample_headers, S("hello body")};
    return encode(&q);
}

Test(guest_http, every_truncation_is_400, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    buf_t b = sample_request();
    /* The whole request is fine ... */
    hreq q = {S("POST"), S("/p/q"), S("a=1&b=2"), 3, sample_headers, S("hello body")};
    check_dump(call_raw(sb, "Dump", b.p, b.len), &q);
    /* ... and every prefix of it is malformed (in a copy of exactly that length). */
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.p, n);
        char what[64];
        snprintf(what, sizeof what, "prefix of %zu/%zu bytes", n, b.len);
        expect_400(call_raw(sb, "Dump", copy, n), NULL, what);
        free(copy);
    }
    cr_assert(!glint_sandbox_poisoned(sb));
    free(b.p);
    glint_sandbox_destroy(sb);
}

/* Fixed part with the given lengths, then `data`. */
static buf_t crafted(uint32_t ml, uint32_t pl, uint32_t ql, uint32_t nh, uint32_t bl,
                     const void *data, size_t len)
{
    buf_t b = {0};
    buf_u32(&b, GLINT_HTTP_REQ_MAGIC);
    buf_u32(&b, GLINT_HTTP_VERSION);
    buf_u32(&b, ml);
    buf_u32(&b, pl);
    buf_u32(&b, ql);
    buf_u32(&b, nh);
    buf_u32(&b, bl);
    buf_put(&b, data, len);
    return b;
}

static void expect_crafted_400(glint_sandbox *sb, buf_t b, const char *why_has, const char *what)
{
    expect_400(call_raw(sb, "Dump", b.p, b.len), why_has, what);
    free(b.p);
}

Test(guest_http, wrapping_lengths_are_400, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    /* Each would pass a parser that adds lengths in 32 bits: the sums wrap
     * to exactly the bytes that follow. */
    expect_crafted_400(sb, crafted(0xffffffffu, 1, 0, 0, 0, NULL, 0), "run past the end",
                       "method_len + path_len = 2^32");
    expect_crafted_400(sb, crafted(3, 0xfffffffeu, 2, 0, 0, "GET", 3), "run past the end",
                       "path_len wraps the sum to 3");
    expect_crafted_400(sb, crafted(0x80000000u, 0x80000000u, 3, 0, 0, "GET", 3), "run past",
                       "two 2^31 lengths");
    uint8_t h1[3 + 8] = {'G', 'E', 'T', 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0};
    expect_crafted_400(sb, crafted(3, 0, 0, 1, 0, h1, sizeof h1), "header 0",
                       "name_len + value_len = 2^32");
    uint8_t h2[3 + 8 + 4] = {'G', 'E', 'T', 4, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff, 'h', 'o', 's', 't'};
    expect_crafted_400(sb, crafted(3, 0, 0, 1, 0, h2, sizeof h2), "header 0",
                       "value_len wraps the header to its name");
    /* Second header wraps: 8 + nl + vl = 2^32 + 8 - with 8 bytes of lengths. */
    uint8_t h3[8 + 2 + 8] = {1, 0, 0, 0, 1, 0, 0, 0, 'a', 'b', 0xf8, 0xff, 0xff, 0xff, 0x08, 0, 0, 0};
    expect_crafted_400(sb, crafted(0, 0, 0, 2, 0, h3, sizeof h3), "header 1",
                       "second header wraps");
    expect_crafted_400(sb, crafted(0, 0, 0, 0, 0xffffffffu, "x", 1), "runs past the end",
                       "body_len 2^32-1");
    expect_crafted_400(sb, crafted(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
                                   0xffffffffu, "xxxxxxxx", 8),
                       NULL, "every length 2^32-1");
    /* 28 + 0xffffffe4 = 2^32: a 32-bit position wraps to 0. */
    expect_crafted_400(sb, crafted(0xffffffe4u, 0, 0, 0, 0, "abcd", 4), "run past",
                       "position wraps to 0");
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);
}

Test(guest_http, header_count_limits, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    static struct hdr hs[GLINT_HTTP_MAX_HEADERS + 1];
    for (unsigned i = 0; i <= GLINT_HTTP_MAX_HEADERS; i++)
        hs[i] = (struct hdr){S("x"), S("y")};
    hreq q = {S("GET"), S("/"), S(""), GLINT_HTTP_MAX_HEADERS, hs, S("")};
    check_dump(call_req(sb, "Dump", &q), &q);
    q.nheaders = GLINT_HTTP_MAX_HEADERS + 1; /* well-formed but one too many */
    buf_t b = encode(&q);
    expect_400(call_raw(sb, "Dump", b.p, b.len), "129 headers", "129 headers");
    free(b.p);
    static const uint32_t counts[] = {0xffffffffu, 0x80000000u, 0x10000u, 1000};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "nheaders %u", counts[i]);
        expect_crafted_400(sb, crafted(0, 0, 0, counts[i], 0, "\0\0\0\0\0\0\0\0", 8), "headers",
                           what);
    }
    /* Fewer headers than announced. */
    q.nheaders = 5;
    b = encode(&q);
    set_u32(&b, 20, 6);
    expect_400(call_raw(sb, "Dump", b.p, b.len), "header 5", "6 announced, 5 there");
    free(b.p);
    glint_sandbox_destroy(sb);
}

Test(guest_http, magic_and_version, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    buf_t b = sample_request();
    for (size_t i = 0; i < 4; i++)
        for (unsigned x = 1; x < 256; x <<= 1) {
            b.p[i] ^= (uint8_t)x;
            char what[64];
            snprintf(what, sizeof what, "magic byte %zu ^ 0x%02x", i, x);
            expect_400(call_raw(sb, "Dump", b.p, b.len), "bad magic", what);
            b.p[i] ^= (uint8_t)x;
        }
    set_u32(&b, 0, GLINT_HTTP_RESP_MAGIC);
    expect_400(call_raw(sb, "Dump", b.p, b.len), "bad magic", "response magic");
    set_u32(&b, 0, GLINT_HTTP_REQ_MAGIC);
    static const uint32_t versions[] = {0, 2, 0x100, 0x01000001u, 0xffffffffu};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        set_u32(&b, 4, versions[i]);
        expect_400(call_raw(sb, "Dump", b.p, b.len), "unsupported version", "version");
    }
    set_u32(&b, 4, GLINT_HTTP_VERSION);
    hreq q = {S("POST"), S("/p/q"), S("a=1&b=2"), 3, sample_headers, S("hello body")};
    check_dump(call_raw(sb, "Dump", b.p, b.len), &q);
    free(b.p);
    glint_sandbox_destroy(sb);
}

Test(guest_http, trailing_bytes_are_400, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    buf_t b = sample_request();
    size_t len = b.len;
    buf_put(&b, "\0", 1);
    expect_400(call_raw(sb, "Dump", b.p, b.len), "1 bytes after", "one byte more");
    for (int i = 0; i < 99; i++)
        buf_put(&b, "z", 1);
    expect_400(call_raw(sb, "Dump", b.p, b.len), "100 bytes after", "100 bytes more");
    /* body_len one short of the bytes, and one over. */
    b.len = len;
    set_u32(&b, 24, 9);
    expect_400(call_raw(sb, "Dump", b.p, b.len), "after", "body_len - 1");
    set_u32(&b, 24, 11);
    expect_400(call_raw(sb, "Dump", b.p, b.len), "runs past the end", "body_len + 1");
    /* A request that a second request follows. */
    set_u32(&b, 24, 10);
    buf_t two = {0};
    buf_put(&two, b.p, b.len);
    buf_put(&two, b.p, b.len);
    expect_400(call_raw(sb, "Dump", two.p, two.len), "after", "two requests back to back");
    free(two.p);
    free(b.p);
    glint_sandbox_destroy(sb);
}

/* Random mutations of valid requests: the guest must agree with ref_parse. */
Test(guest_http, mutations_match_reference, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_big(HTTP_GUEST, 256u << 10, 256u << 10, 0);
    static char pool[64 << 10];
    static struct hdr hs[GLINT_HTTP_MAX_HEADERS], ref_hs[GLINT_HTTP_MAX_HEADERS];
    uint64_t seed = 7;
    fill_pool(pool, sizeof pool, 2);
    int valid = 0, invalid = 0;
    for (int i = 0; i < 1500; i++) {
        hreq q = random_request(&seed, pool, sizeof pool, hs);
        q.nheaders %= 6;
        buf_t b = encode(&q);
        switch (rng(&seed) % 6) {
        case 0: /* flip a bit of the fixed part */
            b.p[rng(&seed) % 28] ^= (uint8_t)(1u << (rng(&seed) % 8));
            break;
        case 1: { /* a length field of the fixed part: +-1, or random */
            size_t f = 8 + 4 * (rng(&seed) % 5);
            uint32_t v = get_u32(b.p + f);
            uint64_t how = rng(&seed) % 4;
            set_u32(&b, f, how == 0 ? v + 1 : how == 1 ? v - 1 : how == 2 ? (uint32_t)rng(&seed)
                                                                           : (uint32_t)(rng(&seed) % 64));
            break;
        }
        case 2: /* truncate or extend */
            if (rng(&seed) % 2)
                b.len -= rng(&seed) % (b.len + 1);
            else
                for (uint64_t k = rng(&seed) % 9 + 1; k; k--)
                    buf_put(&b, "x", 1);
            break;
        case 3: /* any byte anywhere */
            b.p[rng(&seed) % b.len] = (uint8_t)rng(&seed);
            break;
        case 4: /* swap lengths to keep the total (sometimes valid) */
            if (q.nheaders) {
                size_t f = 8 + 4 * (rng(&seed) % 3), g = 8 + 4 * (rng(&seed) % 3);
                uint32_t x = get_u32(b.p + f);
                set_u32(&b, f, get_u32(b.p + g));
                set_u32(&b, g, x);
            }
            break;
        default:
            break; /* unchanged: valid */
        }
        hreq want;
        if (ref_parse(b.p, b.len, &want, ref_hs)) {
            check_dump(call_raw(sb, "Dump", b.p, b.len), &want);
            valid++;
        } else {
            expect_400(call_raw(sb, "Dump", b.p, b.len), NULL, "mutated request");
            invalid++;
        }
        free(b.p);
    }
    cr_assert(valid > 200 && invalid > 600, "valid %d, invalid %d: the mix is off", valid, invalid);
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);
}

Test(guest_http, parse_direct, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    buf_t b = sample_request();
    glint_value a = glint_bytes(b.p, b.len), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Parse", &a, 1, &r));
    th_expect_str(&r, "ok 4 4 7 3 10", 13);
    for (size_t n = 0; n < b.len; n += 5) {
        a = glint_bytes(b.p, n);
        EXPECT_OK(sb, glint_sandbox_call(sb, "Parse", &a, 1, &r));
        th_expect_str(&r, "malformed zeroed", 16);
    }
    /* Headers parsed, then a bad body length: still zeroed. */
    set_u32(&b, 24, 3);
    a = glint_bytes(b.p, b.len);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Parse", &a, 1, &r));
    th_expect_str(&r, "malformed zeroed", 16);
    EXPECT_OK(sb, glint_sandbox_call(sb, "SelfTest", NULL, 0, &r));
    cr_assert_eq(r.type, GLINT_STRING);
    cr_assert_eq(r.v.str.len, 0, "guest self-test: %s", r.v.str.ptr);
    free(b.p);
    glint_sandbox_destroy(sb);
}

/* ---- headers, query, url-decoding ------------------------------------------------- */

Test(guest_http, header_lookup, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    static const struct hdr hs[] = {
        {S("host"), S("example.com")}, {S("content-type"), S("text/html")},
        {S("x-dup"), S("1")},          {S("X-Dup"), S("2")},
        {S("x-empty"), S("")},
    };
    static const struct {
        const char *h;
        int status;
        const char *body;
    } cases[] = {
        {"host", 200, "example.com"},   {"HOST", 200, "example.com"},
        {"Content-Type", 200, "text/html"}, {"content", 404, "absent"},
        {"content-type-x", 404, "absent"}, {"hos", 404, "absent"},
        {"hostt", 404, "absent"},       {"x-dup", 200, "1"},
        {"X-DUP", 200, "1"},            {"x-empty", 200, ""},
        {"", 404, "absent"},            {"x%2Ddup", 200, "1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char query[128];
        snprintf(query, sizeof query, "h=%s", cases[i].h);
        hreq q = {S("GET"), S("/"), {query, strlen(query)}, 5, hs, S("")};
        const hresp *r = call_req(sb, "Lookup", &q);
        cr_assert_eq(r->status, (uint32_t)cases[i].status, "lookup %s: status %u", cases[i].h,
                     r->status);
        expect_body(r, cases[i].body, strlen(cases[i].body));
    }
    glint_sandbox_destroy(sb);
}

Test(guest_http, query_params, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    static const char query[] = "a=1&b=2&aa=3&k=x&k=y&flag&empty=&eq=a=b&enc=J%C3%BCrgen+X"
                                "&bad=%zz&nul=%00z&pct=%4&&last=L";
    static const struct {
        const char *key;
        const char *want; /* NULL: 404 */
        size_t want_len;
    } cases[] = {
#define C(k, w) {k, w, sizeof(w) - 1}
        C("a", "raw=1:1\ndec=1:1"),
        C("b", "raw=1:2\ndec=1:2"),
        C("aa", "raw=1:3\ndec=1:3"),
        C("k", "raw=1:x\ndec=1:x"),
        C("flag", "raw=0:\ndec=0:"),
        C("empty", "raw=0:\ndec=0:"),
        C("eq", "raw=3:a=b\ndec=3:a=b"),
        C("enc", "raw=13:J%C3%BCrgen+X\ndec=9:J\xc3\xbcrgen X"),
        C("bad", "raw=3:%zz\ndec=ERR"),
        C("nul", "raw=4:%00z\ndec=2:\0z"),
        C("pct", "raw=2:%4\ndec=ERR"),
        C("last", "raw=1:L\ndec=1:L"),
        {"missing", NULL, 0}, {"fla", NULL, 0}, {"flagx", NULL, 0}, {"a=1", NULL, 0},
        {"A", NULL, 0},       {"1", NULL, 0},   {"k&", NULL, 0},
#undef C
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hreq q = {S("GET"), S("/"), S(query), 0, NULL, {cases[i].key, strlen(cases[i].key)}};
        const hresp *r = call_req(sb, "Query", &q);
        if (!cases[i].want) {
            cr_assert_eq(r->status, 404, "key %s: status %u, want 404 (\"%.*s\")", cases[i].key,
                         r->status, (int)r->body_len, r->body);
            continue;
        }
        cr_assert_eq(r->status, 200, "key %s: status %u", cases[i].key, r->status);
        expect_body(r, cases[i].want, cases[i].want_len);
    }
    /* An empty query has no parameters. */
    hreq q = {S("GET"), S("/"), S(""), 0, NULL, S("a")};
    cr_assert_eq(call_req(sb, "Query", &q)->status, 404);
    glint_sandbox_destroy(sb);
}

/* UrlDecode(s, cap): the return value, then dst[0 .. cap + 16). */
static void expect_decode(glint_sandbox *sb, const char *s, size_t slen, uint32_t cap,
                          size_t want_ret, const char *want, size_t want_len)
{
    glint_value a[2] = {glint_bytes(s, slen), glint_u32(cap)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "UrlDecode", a, 2, &r));
    size_t dcap = cap == 0xffffffffu ? 0 : cap;
    cr_assert_eq(r.type, GLINT_BYTES);
    cr_assert_eq(r.v.bytes.len, 8 + dcap + 16);
    uint64_t ret;
    memcpy(&ret, r.v.bytes.ptr, 8);
    const uint8_t *dst = r.v.bytes.ptr + 8;
    cr_assert_eq(ret, (uint64_t)want_ret, "decode \"%.*s\" cap %u: returned %lld, want %lld",
                 (int)slen, s, cap, (long long)ret, (long long)want_ret);
    for (size_t i = dcap; i < dcap + 16; i++)
        cr_assert_eq(dst[i], 0xaa, "decode \"%.*s\" cap %u wrote byte %zu, past cap", (int)slen,
                     s, cap, i);
    if (want_ret == (size_t)-1) {
        if (dcap)
            cr_assert_eq(dst[0], 0, "a failed decode leaves dst \"\"");
        return;
    }
    cr_assert(memcmp(dst, want, want_len) == 0 && dst[want_len] == 0,
              "decode \"%.*s\": got \"%.*s\"", (int)slen, s, (int)want_len, (const char *)dst);
}

#define DEC(s, cap, ret, want) expect_decode(sb, s, sizeof(s) - 1, cap, ret, want, sizeof(want) - 1)
#define DEC_FAIL(s, cap) expect_decode(sb, s, sizeof(s) - 1, cap, (size_t)-1, "", 0)

Test(guest_http, url_decode, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    DEC("abc", 4, 3, "abc");
    DEC_FAIL("abc", 3); /* no room for the NUL */
    DEC_FAIL("abc", 1);
    DEC_FAIL("abc", 0);
    DEC_FAIL("abc", 0xffffffffu); /* dst NULL */
    DEC("", 1, 0, "");
    DEC_FAIL("", 0);
    DEC("%41%62+%2B%2b%7E%7e%00x", 20, 9, "Ab ++~~\0x");
    DEC("%41%62+%2B%2b%7E%7e%00x", 10, 9, "Ab ++~~\0x"); /* exactly fits */
    DEC_FAIL("%41%62+%2B%2b%7E%7e%00x", 9);
    DEC("%C3%a9t%c3%A9", 8, 5, "\xc3\xa9t\xc3\xa9");
    DEC("100%25", 5, 4, "100%");
    DEC_FAIL("%", 10);
    DEC_FAIL("%4", 10);
    DEC_FAIL("a%", 10);
    DEC_FAIL("a%4g", 10);
    DEC_FAIL("%g4", 10);
    DEC_FAIL("%%41", 10);
    DEC_FAIL("ok%2", 10);
    DEC("%ff%FF", 3, 2, "\xff\xff");
    /* Bytes the decoder copies as they are. */
    DEC("a\0b\xff", 5, 4, "a\0b\xff");
    glint_sandbox_destroy(sb);
}

/* ---- responses ----------------------------------------------------------------------- */

Test(guest_http, response_header_refusal, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    const hresp *r = call_q(sb, "Headers", "");
    cr_assert_eq(r->status, 201);
    EXPECT_BODY(r, "codes=0,0,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,0,0,-1,-1,0"
                   ";limits=0,-1,0,-1;conn=-1");
    static const char *const want[][2] = {
        {"Content-Type", "text/plain"},
        {"X-Empty", ""},
        {"X-Printable", " !\"#:;~ "},
        {"x-weird!#$%&'*+-.^_`|~09AZaz", "ok"},
        {"Content-Length-Not", "1"},
        {NULL, "v"},      /* a name of exactly GLINT_HTTP_MAX_NAME bytes */
        {"x-long", NULL}, /* a value of exactly GLINT_HTTP_MAX_VALUE bytes */
        {"X-Late", "after body"},
    };
    cr_assert_eq(r->nheaders, 8, "%u headers, want the 8 accepted", r->nheaders);
    for (uint32_t i = 0; i < 8; i++) {
        if (!want[i][0] || !want[i][1]) {
            const char *p = (const char *)(want[i][0] ? r->h[i].value : r->h[i].name);
            uint32_t n = want[i][0] ? r->h[i].vlen : r->h[i].nlen;
            char ch = want[i][0] ? 'v' : 'n';
            cr_assert_eq(n, want[i][0] ? GLINT_HTTP_MAX_VALUE : GLINT_HTTP_MAX_NAME, "header %u", i);
            for (uint32_t k = 0; k < n; k++)
                cr_assert_eq(p[k], ch, "header %u byte %u", i, k);
            continue;
        }
        cr_assert(r->h[i].nlen == strlen(want[i][0]) &&
                      memcmp(r->h[i].name, want[i][0], r->h[i].nlen) == 0,
                  "header %u is %.*s, want %s", i, (int)r->h[i].nlen, r->h[i].name, want[i][0]);
        cr_assert(r->h[i].vlen == strlen(want[i][1]) &&
                      memcmp(r->h[i].value, want[i][1], r->h[i].vlen) == 0,
                  "header %u value \"%.*s\", want \"%s\"", i, (int)r->h[i].vlen, r->h[i].value,
                  want[i][1]);
    }
    glint_sandbox_destroy(sb);
}

Test(guest_http, response_header_count, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    const hresp *r = call_q(sb, "ManyHeaders", "n=130");
    EXPECT_BODY(r, "ok=128 refused=2");
    cr_assert_eq(r->nheaders, GLINT_HTTP_MAX_HEADERS);
    for (uint32_t i = 0; i < r->nheaders; i++) {
        char n[16], v[16];
        snprintf(n, sizeof n, "x-h%u", i);
        snprintf(v, sizeof v, "%u", i);
        cr_assert(r->h[i].nlen == strlen(n) && memcmp(r->h[i].name, n, r->h[i].nlen) == 0 &&
                  r->h[i].vlen == strlen(v) && memcmp(r->h[i].value, v, r->h[i].vlen) == 0,
                  "header %u", i);
    }
    r = call_q(sb, "ManyHeaders", "n=0");
    EXPECT_BODY(r, "ok=0 refused=0");
    cr_assert_eq(r->nheaders, 0);
    glint_sandbox_destroy(sb);
}

/* Big's one header: Content-Type: application/octet-stream. */
#define BIG_HEADER (8u + 12u + 24u)

static void expect_big(glint_sandbox *sb, const char *mode, size_t n)
{
    char query[128];
    snprintf(query, sizeof query, "m=%s&n=%zu", mode, n);
    const hresp *r = call_q(sb, "Big", query);
    cr_assert_eq(r->status, 200, "%s: status %u", query, r->status);
    cr_assert_eq(r->nheaders, 1);
    expect_header(r, "content-type", "application/octet-stream");
    cr_assert_eq(r->body_len, n, "%s: body of %u bytes", query, r->body_len);
    bool spaces = strcmp(mode, "printf") == 0;
    for (size_t i = 0; i < n; i++)
        if (r->body[i] != (spaces ? ' ' : (char)('a' + i % 26)))
            cr_assert_fail("%s: body byte %zu is 0x%02x", query, i, (unsigned char)r->body[i]);
}

static void body_limit(size_t out_size, size_t heap)
{
    glint_sandbox *sb = start_big(HTTP_GUEST, 64u << 10, out_size, heap);
    size_t max = out_size - RESULT_OVERHEAD - GLINT_HTTP_RESP_FIXED - BIG_HEADER;
    static const char *const modes[] = {"write", "printf", "late", "heap"};
    for (size_t m = 0; m < 4; m++) {
        expect_big(sb, modes[m], 0);
        expect_big(sb, modes[m], 1000);
        expect_big(sb, modes[m], max);
        char query[128];
        snprintf(query, sizeof query, "m=%s&n=%zu", modes[m], max + 1);
        const char *msg = call_fails(sb, "Big", query, GLINT_E_GUEST_ERROR);
        cr_assert(th_has(msg, "response too large") && th_has(msg, "output buffer"),
                  "%s: message \"%s\"", query, msg);
        cr_assert(!glint_sandbox_poisoned(sb));
        expect_big(sb, modes[m], 77); /* and the sandbox goes on */
    }
    glint_sandbox_destroy(sb);
}

Test(guest_http, body_at_output_limit, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    body_limit(64u << 10, 0);
}

Test(guest_http, body_at_output_limit_1mib, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    body_limit(1u << 20, 8u << 20);
}

struct capture {
    char text[4096];
    size_t len;
    int calls;
};

static glint_status capture_print(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                  glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)ret;
    struct capture *c = user;
    size_t n = args[0].v.str.len;
    if (c->len + n < sizeof c->text) {
        memcpy(c->text + c->len, args[0].v.str.ptr, n);
        c->len += n;
        c->text[c->len] = 0;
    }
    c->calls++;
    return GLINT_OK;
}

/* Tag(string s) -> string "<tag:s>" */
static glint_status tag_fn(glint_hostcall *hc, const glint_value *args, size_t nargs,
                           glint_value *ret, void *user)
{
    (void)nargs, (void)user;
    char *buf = glint_hostcall_buffer(hc, args[0].v.str.len + 8);
    int n = sprintf(buf, "<tag:%.*s>", (int)args[0].v.str.len, args[0].v.str.ptr);
    *ret = glint_str(buf, (size_t)n);
    return GLINT_OK;
}

Test(guest_http, host_calls_while_building, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    static struct capture c;
    memset(&c, 0, sizeof c);
    glint_sandbox *sb = th_create(HTTP_GUEST, NULL);
    glint_function print = {.name = "print", .ret = GLINT_VOID, .nparams = 1, .params = {GLINT_STRING}};
    glint_function tag = {.name = "Tag", .ret = GLINT_STRING, .nparams = 1, .params = {GLINT_STRING}};
    EXPECT_OK(sb, glint_sandbox_register(sb, &print, capture_print, &c));
    EXPECT_OK(sb, glint_sandbox_register(sb, &tag, tag_fn, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));

    const hresp *r = call_q(sb, "Busy", "");
    cr_assert_eq(r->status, 200);
    EXPECT_BODY(r, "<<tag:one>>");
    expect_header(r, "content-type", "text/plain");
    expect_header(r, "x-after-print", "yes");
    cr_assert_str_eq(c.text, "debug 1\ndebug 2\n");

    /* A small response: printf works in the middle of it. */
    c.len = 0, c.text[0] = 0;
    r = call_q(sb, "Busy", "fill=100");
    expect_header(r, "x-printf-rc", "1");
    cr_assert_str_eq(c.text, "x");
    cr_assert_eq(r->body_len, 100);
    /* A response filling the output buffer: printf has no room (-1), and
     * the response is intact. */
    c.len = 0, c.text[0] = 0;
    size_t fill = (64u << 10) - RESULT_OVERHEAD - GLINT_HTTP_RESP_FIXED - (8 + 11 + 2);
    char query[32];
    snprintf(query, sizeof query, "fill=%zu", fill);
    r = call_q(sb, "Busy", query);
    expect_header(r, "x-printf-rc", "-1");
    cr_assert_str_eq(c.text, "");
    cr_assert_eq(r->body_len, fill);
    for (size_t i = 0; i < fill; i++)
        if (r->body[i] != 'f')
            cr_assert_fail("body byte %zu is 0x%02x", i, (unsigned char)r->body[i]);
    glint_sandbox_destroy(sb);
}

Test(guest_http, misuse_fails_the_call_clearly, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HTTP_GUEST, NULL);
    const char *m = call_fails(sb, "NoSend", "", GLINT_E_GUEST_ERROR);
    cr_assert(th_has(m, "NoSend") && th_has(m, "without sending"), "%s", m);
    /* The next call reuses the output buffer normally. */
    hreq q = {S("GET"), S("/after"), S(""), 0, NULL, S("")};
    check_dump(call_req(sb, "Dump", &q), &q);
    m = call_fails(sb, "NoResponse", "", GLINT_E_GUEST_ERROR);
    cr_assert(th_has(m, "NoResponse") && th_has(m, "without a response"), "%s", m);
    m = call_fails(sb, "DiscardOnly", "", GLINT_E_GUEST_ERROR);
    cr_assert(th_has(m, "DiscardOnly") && th_has(m, "without a response"), "%s", m);
    m = call_fails(sb, "ErrorMidway", "", GLINT_E_GUEST_ERROR);
    cr_assert(th_has(m, "custom failure 7"), "%s", m);
    m = call_fails(sb, "Overwritten", "", GLINT_E_GUEST_ERROR);
    cr_assert(th_has(m, "overwritten"), "%s", m);
    m = call_fails(sb, "NullResponse", "", GLINT_E_GUEST_ERROR);
    cr_assert(th_has(m, "no response"), "%s", m);
    static const char *const bad[] = {"status=99", "status=600", "status=-200", "status=0"};
    for (size_t i = 0; i < 4; i++) {
        m = call_fails(sb, "BadStatus", bad[i], GLINT_E_GUEST_ERROR);
        cr_assert(th_has(m, "invalid HTTP status"), "%s: %s", bad[i], m);
    }
    cr_assert_eq(call_q(sb, "BadStatus", "status=100")->status, 100);
    cr_assert_eq(call_q(sb, "BadStatus", "status=599")->status, 599);

    /* Two responses at once: the second, on the heap, is the result. */
    const hresp *r = call_q(sb, "SecondWins", "");
    cr_assert_eq(r->status, 202);
    EXPECT_BODY(r, "second body");
    expect_header(r, "x-which", "second");
    cr_assert_eq(r->nheaders, 1);
    m = call_fails(sb, "SecondWins", "then_first=1", GLINT_E_GUEST_ERROR);
    cr_assert(th_has(m, "overwritten"), "%s", m);
    r = call_q(sb, "Discard", "");
    cr_assert_eq(r->status, 200);
    EXPECT_BODY(r, "kept");
    cr_assert_eq(r->nheaders, 0);
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);

    /* A handler in a function that does not return bytes: the guest aborts. */
    sb = th_start(HTTP_GUEST, NULL);
    buf_t b = sample_request();
    glint_value a = glint_bytes(b.p, b.len);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "NotBytes", &a, 1, NULL), GLINT_E_ABORT);
    m = glint_sandbox_error(sb)->message;
    cr_assert(th_has(m, "NotBytes is declared to return string"), "%s", m);
    free(b.p);
    glint_sandbox_destroy(sb);
}

Test(guest_http, heap_response_out_of_memory, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_big(HTTP_GUEST, 64u << 10, 1u << 20, 64u << 10);
    const char *m = call_fails(sb, "HeapOom", "n=300000", GLINT_E_GUEST_ERROR);
    cr_assert(th_has(m, "out of memory") && th_has(m, "guest heap"), "%s", m);
    cr_assert(!glint_sandbox_poisoned(sb));
    const hresp *r = call_q(sb, "HeapOom", "n=1000");
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->body_len, 1000);
    glint_sandbox_destroy(sb);
}

/* ---- the example (examples/http/guest.c) ---------------------------------------------- */

static glint_sandbox *start_example(const glint_config *cfg)
{
    cr_assert(access(HTTP_EXAMPLE, R_OK) == 0,
              "%s is missing: build it (make %s; the Makefile rule mirrors hello-guest.elf)",
              HTTP_EXAMPLE, HTTP_EXAMPLE);
    return th_start(HTTP_EXAMPLE, cfg);
}

static const hresp *hello(glint_sandbox *sb, const char *method, const char *query)
{
    hreq q = {{method, strlen(method)}, S("/hello"), {query, strlen(query)}, 0, NULL, S("")};
    return call_req(sb, "Hello", &q);
}

Test(guest_http, example_hello, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_example(NULL);
    const hresp *r = hello(sb, "GET", "");
    cr_assert_eq(r->status, 200);
    expect_header(r, "content-type", "text/plain; charset=utf-8");
    EXPECT_BODY(r, "Hello, world!\n");
    EXPECT_BODY(hello(sb, "GET", "name=Ada"), "Hello, Ada!\n");
    EXPECT_BODY(hello(sb, "POST", "x=1&name=J%C3%BCrgen+M%2E&name=other"), "Hello, J\xc3\xbcrgen M.!\n");
    EXPECT_BODY(hello(sb, "GET", "name="), "Hello, world!\n");
    r = hello(sb, "HEAD", "name=Ada"); /* like GET: the server drops the body */
    cr_assert_eq(r->status, 200);
    EXPECT_BODY(r, "Hello, Ada!\n");
    r = hello(sb, "PUT", "name=Ada");
    cr_assert_eq(r->status, 405);
    expect_header(r, "allow", "GET, HEAD, POST");
    r = hello(sb, "GET", "name=%zz");
    cr_assert_eq(r->status, 400);
    char q[400] = "name=";
    memset(q + 5, 'n', 300);
    r = hello(sb, "GET", q);
    cr_assert_eq(r->status, 400);
    /* Not a request at all: the handler's 400. */
    static const char text[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    expect_400(call_raw(sb, "Hello", text, sizeof text - 1), "bad magic", "text request");
    glint_sandbox_destroy(sb);
}

Test(guest_http, example_echo, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_example(NULL);
    static const struct hdr hs[] = {{S("x-a"), S("v\"1\\")}, {S("host"), S("h")}};
    hreq q = {S("POST"), S("/echo/\"q\""), S("a=1&b=\\"), 2, hs,
              S("l1\nl2\t\x01\x7f|\xc3\xa9|\xf0\x9f\x98\x80|\xc0\x80|\xed\xa0\x80|\xff|\xe2\x82")};
    const hresp *r = call_req(sb, "Echo", &q);
    cr_assert_eq(r->status, 200);
    expect_header(r, "content-type", "application/json");
    EXPECT_BODY(r, "{\"method\":\"POST\",\"path\":\"/echo/\\\"q\\\"\",\"query\":\"a=1&b=\\\\\","
                   "\"headers\":[[\"x-a\",\"v\\\"1\\\\\"],[\"host\",\"h\"]],"
                   "\"body\":\"l1\\u000al2\\u0009\\u0001\\u007f|\xc3\xa9|\xf0\x9f\x98\x80|"
                   "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd|\\ufffd\\ufffd\"}\n");
    hreq empty = {S("GET"), S("/"), S(""), 0, NULL, S("")};
    EXPECT_BODY(call_req(sb, "Echo", &empty),
                "{\"method\":\"GET\",\"path\":\"/\",\"query\":\"\",\"headers\":[],\"body\":\"\"}\n");
    glint_sandbox_destroy(sb);
}

Test(guest_http, example_count_warm_and_pristine, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    /* Warm: the sandbox keeps its memory between calls. */
    glint_sandbox *sb = start_example(NULL);
    EXPECT_BODY(call_q(sb, "Count", ""), "0\n");
    EXPECT_BODY(call_q(sb, "Count", ""), "1\n");
    EXPECT_BODY(call_q(sb, "Count", ""), "2\n");
    glint_sandbox_destroy(sb);
    /* Pristine: restored to the snapshot after every call. */
    sb = start_example(NULL);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    EXPECT_OK(sb, glint_sandbox_set_auto_restore(sb, snap));
    for (int i = 0; i < 3; i++) {
        const hresp *r = call_q(sb, "Count", "");
        cr_assert_eq(r->status, 200);
        EXPECT_BODY(r, "0\n");
    }
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

Test(guest_http, example_fail_aborts, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_example(NULL);
    const char *m = call_fails(sb, "Fail", "", GLINT_E_ABORT);
    cr_assert(th_has(m, "abort"), "%s", m);
    cr_assert(glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);
}
