/*
 * http_guest: exposes <glint/guest_http.h> (src/guest/http.c) to
 * tests/test_guest_http.c, which encodes requests and decodes responses
 * byte by byte per <glint/http.h>.  u32 below are little endian.
 *
 * HTTP handlers (bytes -> bytes, GLINT_HTTP_HANDLER):
 *   Dump      200, body: for method, path, query: u32 len + bytes; u32
 *             nheaders; per header: u32 len + name, u32 len + value, u32
 *             index of the header glint_http_header(UPPER-CASED name) found
 *             (0xffffffff: name holds a NUL or has 200+ bytes, not looked
 *             up; 0xfffffffe: not found); u32 len + body.  Header
 *             "x-at-oob: ok" if glint_http_header_at(nheaders) is -1.
 *   Lookup    header named by query param h (decoded): 200 value, or 404
 *   Query     query param named by the body: 200 "raw=LEN:RAW\ndec=LEN:DEC"
 *             (dec=ERR when glint_http_url_decode fails), or 404
 *   Headers   tries the header list below; body "codes=C,C,...", then a
 *             header added after the body
 *   ManyHeaders  n=N headers x-h<i>: <i>; body "ok=A refused=R"
 *   Big       n=N body bytes, m= write ('a'+i%26, 1000-byte writes), printf
 *             (N spaces, one printf), late (body, then the header), heap
 *             (a second response, on the heap); one header
 *             Content-Type: application/octet-stream
 *   Busy      host calls while building: write "<", printf "debug 1\n",
 *             Tag("one"), printf "debug 2\n", write ">"; with fill=N, N
 *             bytes of 'f' first and header x-printf-rc: RC of one printf
 *   NoSend, NoResponse, DiscardOnly, ErrorMidway, Overwritten, SecondWins, Discard,
 *   BadStatus (status=N), NullResponse, HeapOom (n=N)   misuse, see each
 * Others:
 *   NotBytes(bytes) -> string       glint_http_serve in a string function
 *   Parse(bytes) -> string          "ok M P Q H B" (lengths) or
 *                                   "malformed zeroed" / "malformed DIRTY"
 *   UrlDecode(bytes s, uint32 cap) -> bytes   u64 return value, then the
 *       cap + 16 bytes of the destination (prefilled 0xaa); cap 0xffffffff:
 *       dst NULL, cap 0
 *   SelfTest() -> string            "" or what failed
 */
#include <glint/guest_http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put32(glint_http_response *res, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    glint_http_response_write(res, b, 4);
}

static void put_str(glint_http_response *res, glint_http_str s)
{
    put32(res, (uint32_t)s.len);
    glint_http_response_write(res, s.ptr, s.len);
}

/* Query parameter `key` as a number (dflt when absent). */
static long qnum(const glint_http_request *req, const char *key, long dflt)
{
    glint_http_str raw = glint_http_query_param(req, key);
    char buf[32];
    if (!raw.ptr || glint_http_url_decode(buf, sizeof buf, raw) == (size_t)-1)
        return dflt;
    return strtol(buf, NULL, 10);
}

static void send_text(int status, const char *text)
{
    glint_http_response *res = glint_http_response_new(status);
    glint_http_response_header(res, "Content-Type", "text/plain");
    glint_http_response_printf(res, "%s", text);
    glint_http_response_send(res);
}

GLINT_HTTP_HANDLER(Dump)
{
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_header(res, "Content-Type", "application/octet-stream");
    glint_http_response_header(res, "x-at-oob",
                               glint_http_header_at(req, req->nheaders, NULL, NULL) == -1 ? "ok"
                                                                                          : "bad");
    put_str(res, req->method);
    put_str(res, req->path);
    put_str(res, req->query);
    put32(res, req->nheaders);
    for (uint32_t i = 0; i < req->nheaders; i++) {
        glint_http_str n, v;
        if (glint_http_header_at(req, i, &n, &v) != 0) {
            glint_return_error("header_at(%u) failed", i);
            glint_http_response_discard(res);
            return;
        }
        put_str(res, n);
        put_str(res, v);
        uint32_t found = 0xffffffffu;
        char upper[200];
        if (n.len < sizeof upper && !memchr(n.ptr, 0, n.len)) {
            for (size_t k = 0; k < n.len; k++)
                upper[k] = (char)(n.ptr[k] >= 'a' && n.ptr[k] <= 'z' ? n.ptr[k] - 32 : n.ptr[k]);
            upper[n.len] = '\0';
            glint_http_str got = glint_http_header(req, upper);
            found = 0xfffffffeu;
            for (uint32_t j = 0; got.ptr && j < req->nheaders; j++) {
                glint_http_str vj;
                glint_http_header_at(req, j, NULL, &vj);
                if (vj.ptr == got.ptr && vj.len == got.len)
                    found = j;
            }
        }
        put32(res, found);
    }
    put_str(res, req->body);
    glint_http_response_send(res);
}

GLINT_HTTP_HANDLER(Lookup)
{
    char name[256];
    glint_http_str raw = glint_http_query_param(req, "h");
    if (!raw.ptr || glint_http_url_decode(name, sizeof name, raw) == (size_t)-1) {
        send_text(400, "need h=NAME");
        return;
    }
    glint_http_str v = glint_http_header(req, name);
    if (!v.ptr) {
        send_text(404, "absent");
        return;
    }
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_write(res, v.ptr, v.len);
    glint_http_response_send(res);
}

GLINT_HTTP_HANDLER(Query)
{
    char key[256];
    if (req->body.len >= sizeof key) {
        send_text(400, "key too long");
        return;
    }
    memcpy(key, req->body.ptr, req->body.len);
    key[req->body.len] = '\0';
    glint_http_str raw = glint_http_query_param(req, key);
    if (!raw.ptr) {
        send_text(404, "absent");
        return;
    }
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_printf(res, "raw=%zu:", raw.len);
    glint_http_response_write(res, raw.ptr, raw.len);
    char *dec = malloc(raw.len + 1);
    size_t n = glint_http_url_decode(dec, raw.len + 1, raw);
    if (n == (size_t)-1) {
        glint_http_response_printf(res, "\ndec=ERR");
    } else {
        glint_http_response_printf(res, "\ndec=%zu:", n);
        glint_http_response_write(res, dec, n);
    }
    free(dec);
    glint_http_response_send(res);
}

static const struct {
    const char *name, *value;
} tries[] = {
    {"Content-Type", "text/plain"},           /* 0 */
    {"X-Empty", ""},                          /* 0 */
    {"", "v"},                                /* -1: empty name */
    {"Bad Name", "v"},                        /* -1: space */
    {"Bad:Name", "v"},                        /* -1: colon */
    {"X-CR", "a\rb"},                         /* -1 */
    {"X-LF", "a\nb"},                         /* -1 */
    {"X-Split", "a\r\nSet-Cookie: x=1"},      /* -1: response splitting */
    {"X-Tab", "a\tb"},                        /* -1 */
    {"X-Del", "a\x7f"},                       /* -1 */
    {"X-High", "caf\xc3\xa9"},                /* -1: not ASCII */
    {"X-Ctl", "\x01"},                        /* -1 */
    {"N\xc3\xa9", "v"},                       /* -1 */
    {"N\r\n", "v"},                           /* -1 */
    {"X\x7f", "v"},                           /* -1 */
    {"Content-Length", "5"},                  /* -1: glintd frames the body */
    {"content-LENGTH", "5"},                  /* -1 */
    {"Transfer-Encoding", "chunked"},         /* -1 */
    {"X-Printable", " !\"#:;~ "},             /* 0 */
    {"x-weird!#$%&'*+-.^_`|~09AZaz", "ok"},   /* 0 */
    {NULL, "v"},                              /* -1 */
    {"X-Null", NULL},                         /* -1 */
    {"Content-Length-Not", "1"},              /* 0: another name */
};

GLINT_HTTP_HANDLER(Headers)
{
    (void)req;
    glint_http_response *res = glint_http_response_new(201);
    char codes[256] = "codes=";
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        int rc = glint_http_response_header(res, tries[i].name, tries[i].value);
        size_t at = strlen(codes);
        snprintf(codes + at, sizeof codes - at, "%s%d", i ? "," : "", rc);
    }
    /* The size limits of <glint/http.h>: at the limit 0, one over -1. */
    static char name[GLINT_HTTP_MAX_NAME + 2], value[GLINT_HTTP_MAX_VALUE + 2];
    memset(name, 'n', sizeof name - 1);
    memset(value, 'v', sizeof value - 1);
    int lim[4];
    name[GLINT_HTTP_MAX_NAME] = 0;
    lim[0] = glint_http_response_header(res, name, "v");
    name[GLINT_HTTP_MAX_NAME] = 'n';
    lim[1] = glint_http_response_header(res, name, "v");
    value[GLINT_HTTP_MAX_VALUE] = 0;
    lim[2] = glint_http_response_header(res, "x-long", value);
    value[GLINT_HTTP_MAX_VALUE] = 'v';
    lim[3] = glint_http_response_header(res, "x-long", value);
    size_t at = strlen(codes);
    snprintf(codes + at, sizeof codes - at, ";limits=%d,%d,%d,%d;conn=%d", lim[0], lim[1], lim[2], lim[3],
             glint_http_response_header(res, "Connection", "close"));
    glint_http_response_printf(res, "%s", codes);
    if (glint_http_response_header(res, "X-Late", "after body") != 0)
        glint_http_response_printf(res, " LATE-FAILED");
    glint_http_response_send(res);
}

GLINT_HTTP_HANDLER(ManyHeaders)
{
    long n = qnum(req, "n", 0);
    glint_http_response *res = glint_http_response_new(200);
    int ok = 0, refused = 0;
    for (long i = 0; i < n; i++) {
        char name[32], value[32];
        snprintf(name, sizeof name, "x-h%ld", i);
        snprintf(value, sizeof value, "%ld", i);
        if (glint_http_response_header(res, name, value) == 0)
            ok++;
        else
            refused++;
    }
    glint_http_response_printf(res, "ok=%d refused=%d", ok, refused);
    glint_http_response_send(res);
}

static void pattern_body(glint_http_response *res, size_t n)
{
    static char pat[1026];
    for (size_t i = 0; i < sizeof pat; i++)
        pat[i] = (char)('a' + i % 26);
    for (size_t off = 0; off < n;) {
        size_t k = n - off < 1000 ? n - off : 1000;
        glint_http_response_write(res, pat + off % 26, k);
        off += k;
    }
}

GLINT_HTTP_HANDLER(Big)
{
    size_t n = (size_t)qnum(req, "n", 0);
    glint_http_str m = glint_http_query_param(req, "m");
    glint_http_response *res = glint_http_response_new(200);
    if (glint_http_str_eq(m, "late")) {
        pattern_body(res, n);
        glint_http_response_header(res, "Content-Type", "application/octet-stream");
    } else if (glint_http_str_eq(m, "printf")) {
        glint_http_response_header(res, "Content-Type", "application/octet-stream");
        glint_http_response_printf(res, "%*s", (int)n, "");
    } else if (glint_http_str_eq(m, "heap")) {
        glint_http_response *second = glint_http_response_new(200); /* on the heap */
        glint_http_response_discard(res);
        res = second;
        glint_http_response_header(res, "Content-Type", "application/octet-stream");
        pattern_body(res, n);
    } else {
        glint_http_response_header(res, "Content-Type", "application/octet-stream");
        pattern_body(res, n);
    }
    glint_http_response_send(res);
}

GLINT_HTTP_HANDLER(Busy)
{
    long fill = qnum(req, "fill", -1);
    glint_http_response *res = glint_http_response_new(200);
    if (fill >= 0) {
        for (long i = 0; i < fill; i++)
            glint_http_response_write(res, "f", 1);
        int rc = printf("x");
        char v[16];
        snprintf(v, sizeof v, "%d", rc);
        glint_http_response_header(res, "x-printf-rc", v);
        glint_http_response_send(res);
        return;
    }
    glint_http_response_header(res, "Content-Type", "text/plain");
    glint_http_response_write(res, "<", 1);
    printf("debug %d\n", 1);
    glint_val arg = GLINT_VAL_STR("one"), tag;
    if (glint_host_call("Tag", GLINT_STRING, &tag, 1, &arg) != 0) {
        glint_return_error("Tag: %s", glint_host_error());
        return;
    }
    glint_http_response_write(res, tag.v.str.ptr, tag.v.str.len);
    printf("debug %d\n", 2);
    glint_http_response_header(res, "x-after-print", "yes");
    glint_http_response_write(res, ">", 1);
    glint_http_response_send(res);
}

/* Returns without sending its response: the call fails. */
GLINT_HTTP_HANDLER(NoSend)
{
    (void)req;
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_printf(res, "forgotten");
}

/* Returns without any response. */
GLINT_HTTP_HANDLER(NoResponse)
{
    (void)req;
}

/* Builds a response, discards it, sends nothing: the call fails. */
GLINT_HTTP_HANDLER(DiscardOnly)
{
    (void)req;
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_printf(res, "thrown away");
    glint_http_response_discard(res);
}

/* Fails on purpose while a response is being built. */
GLINT_HTTP_HANDLER(ErrorMidway)
{
    (void)req;
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_printf(res, "partial");
    glint_return_error("custom failure %d", 7);
}

/* A result set behind the response's back: the response notices. */
GLINT_HTTP_HANDLER(Overwritten)
{
    (void)req;
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_printf(res, "partial");
    glint_return_bytes("xyz", 3);
    if (glint_http_response_write(res, "more", 4) != -1) {
        glint_return_error("write after overwrite did not fail");
        return;
    }
    glint_http_response_send(res);
}

/* Two responses at once: the second (heap) is sent; the first then fails. */
GLINT_HTTP_HANDLER(SecondWins)
{
    long then_first = qnum(req, "then_first", 0);
    glint_http_response *first = glint_http_response_new(200);
    glint_http_response *second = glint_http_response_new(202);
    glint_http_response_header(first, "x-which", "first");
    glint_http_response_header(second, "x-which", "second");
    glint_http_response_printf(first, "first body");
    glint_http_response_printf(second, "second body");
    glint_http_response_send(second);
    if (then_first)
        glint_http_response_send(first); /* fails the call: overwritten */
    else
        glint_http_response_discard(first);
}

/* A discarded response frees the output buffer for the next one. */
GLINT_HTTP_HANDLER(Discard)
{
    (void)req;
    glint_http_response *a = glint_http_response_new(500);
    glint_http_response_printf(a, "discarded");
    glint_http_response_discard(a);
    glint_http_response *b = glint_http_response_new(200);
    glint_http_response_printf(b, "kept");
    glint_http_response_send(b);
}

GLINT_HTTP_HANDLER(BadStatus)
{
    glint_http_response *res = glint_http_response_new((int)qnum(req, "status", 0));
    glint_http_response_printf(res, "status");
    glint_http_response_send(res);
}

GLINT_HTTP_HANDLER(NullResponse)
{
    (void)req;
    glint_http_response_send(NULL);
}

/* A heap response larger than the heap: the call fails, the guest lives. */
GLINT_HTTP_HANDLER(HeapOom)
{
    size_t n = (size_t)qnum(req, "n", 0);
    glint_http_response *first = glint_http_response_new(200); /* holds the output buffer */
    glint_http_response *second = glint_http_response_new(200);
    pattern_body(second, n);
    glint_http_response_discard(first);
    glint_http_response_send(second);
}

static void not_bytes_impl(const glint_http_request *req)
{
    (void)req;
    send_text(200, "never a string");
}

static void NotBytes(const glint_args *a)
{
    glint_http_serve(a, not_bytes_impl);
}
GLINT_FUNCTION(NotBytes, GLINT_STRING, GLINT_BYTES);

static void Parse(const glint_args *a)
{
    size_t len;
    const uint8_t *data = glint_arg_bytes(a, 0, &len);
    glint_http_request req;
    memset(&req, 0x5a, sizeof req);
    char out[128];
    if (glint_http_parse(data, len, &req) != 0) {
        static const glint_http_request zero;
        glint_return_string(memcmp(&req, &zero, sizeof req) == 0 ? "malformed zeroed"
                                                                 : "malformed DIRTY");
        return;
    }
    snprintf(out, sizeof out, "ok %zu %zu %zu %u %zu", req.method.len, req.path.len,
             req.query.len, req.nheaders, req.body.len);
    glint_return_string(out);
}
GLINT_FUNCTION(Parse, GLINT_STRING, GLINT_BYTES);

static void UrlDecode(const glint_args *a)
{
    size_t len;
    const uint8_t *s = glint_arg_bytes(a, 0, &len);
    uint32_t cap = glint_arg_u32(a, 1);
    bool null_dst = cap == 0xffffffffu;
    if (null_dst)
        cap = 0;
    size_t total = 8 + (size_t)cap + 16;
    uint8_t *out = malloc(total);
    memset(out + 8, 0xaa, (size_t)cap + 16);
    size_t r = glint_http_url_decode(null_dst ? NULL : (char *)out + 8, cap,
                                     (glint_http_str){(const char *)s, len});
    uint64_t r64 = r;
    memcpy(out, &r64, 8);
    glint_return_bytes(out, total);
    free(out);
}
GLINT_FUNCTION(UrlDecode, GLINT_BYTES, GLINT_BYTES, GLINT_U32);

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            snprintf(why, sizeof why, "line %d: %s", __LINE__, #cond);                   \
            glint_return_string(why);                                                    \
            return;                                                                      \
        }                                                                                \
    } while (0)

static void SelfTest(const glint_args *a)
{
    (void)a;
    static char why[200];
    glint_http_request req;
    CHECK(glint_http_parse(NULL, 0, &req) == -1);
    CHECK(glint_http_parse(NULL, 100, &req) == -1);
    CHECK(glint_http_parse((const uint8_t *)"x", 1, NULL) == -1);
    CHECK(req.nheaders == 0 && req.method.ptr == NULL);
    /* A minimal request, built here: GET / with query "a=1&b&c=%41". */
    static const char q[] = "a=1&b&c=%41&=e&&d=";
    uint8_t buf[64 + sizeof q];
    uint32_t hdr[7] = {GLINT_HTTP_REQ_MAGIC, GLINT_HTTP_VERSION, 3, 1, sizeof q - 1, 0, 0};
    memcpy(buf, hdr, sizeof hdr);
    memcpy(buf + 28, "GET/", 4);
    memcpy(buf + 32, q, sizeof q - 1);
    CHECK(glint_http_parse(buf, 32 + sizeof q - 1, &req) == 0);
    CHECK(glint_http_str_eq(req.method, "GET") && !glint_http_str_eq(req.method, "GE") &&
          !glint_http_str_eq(req.method, "GETS") && !glint_http_str_eq(req.method, "get"));
    CHECK(glint_http_str_eq(req.path, "/"));
    CHECK(req.body.ptr != NULL && req.body.len == 0 && glint_http_str_eq(req.body, ""));
    CHECK(glint_http_str_eq((glint_http_str){NULL, 0}, ""));
    CHECK(!glint_http_str_eq((glint_http_str){NULL, 0}, "x"));
    CHECK(glint_http_str_eq(glint_http_query_param(&req, "a"), "1"));
    glint_http_str b = glint_http_query_param(&req, "b");
    CHECK(b.ptr != NULL && b.len == 0);
    CHECK(glint_http_str_eq(glint_http_query_param(&req, "c"), "%41"));
    glint_http_str d = glint_http_query_param(&req, "d");
    CHECK(d.ptr != NULL && d.len == 0);
    CHECK(glint_http_query_param(&req, "").ptr == NULL);
    CHECK(glint_http_query_param(&req, NULL).ptr == NULL);
    CHECK(glint_http_query_param(&req, "e").ptr == NULL);
    CHECK(glint_http_query_param(&req, "a=1").ptr == NULL);
    CHECK(glint_http_query_param(NULL, "a").ptr == NULL);
    CHECK(glint_http_header(&req, "host").ptr == NULL);
    CHECK(glint_http_header(&req, NULL).ptr == NULL);
    CHECK(glint_http_header(NULL, "host").ptr == NULL);
    CHECK(glint_http_header_at(&req, 0, NULL, NULL) == -1);
    CHECK(glint_http_header_at(NULL, 0, NULL, NULL) == -1);
    char text[32];
    snprintf(text, sizeof text, "[%.*s]", GLINT_HTTP_STR_ARG(req.method));
    CHECK(strcmp(text, "[GET]") == 0);
    /* NULL responses: every function refuses; discard accepts. */
    CHECK(glint_http_response_header(NULL, "a", "b") == -1);
    CHECK(glint_http_response_write(NULL, "a", 1) == -1);
    CHECK(glint_http_response_printf(NULL, "a") == -1);
    glint_http_response_discard(NULL);
    /* A string-returning function: responses go to the heap and can be discarded. */
    size_t used = glint_heap_used();
    glint_http_response *r = glint_http_response_new(200);
    CHECK(r != NULL);
    CHECK(glint_http_response_write(r, NULL, 1) == -1);
    CHECK(glint_http_response_write(r, NULL, 0) == 0);
    CHECK(glint_http_response_printf(r, "%d", 12345) == 5);
    CHECK(glint_http_response_header(r, "a", "b") == 0);
    glint_http_response_discard(r);
    CHECK(glint_heap_used() == used);
    glint_return_string("");
}
GLINT_FUNCTION(SelfTest, GLINT_STRING);
