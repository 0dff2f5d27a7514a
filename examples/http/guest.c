/*
 * http guest: HTTP handlers for glintd (routes with `bind: http`).
 *
 *   Hello  GET/HEAD/POST -> 200 text/plain "Hello, NAME!" (NAME: query
 *          param `name`, percent-decoded, else "world"); other methods 405
 *   Echo   any method -> 200 application/json: the method, path, query,
 *          headers and body it received
 *   Count  -> 200 text/plain: a global counter's value, then increments it
 *          (warm sandboxes keep counting; pristine ones always say 0)
 *   Fail   -> abort(): a guest failure (glintd answers 500, the sandbox is
 *          discarded)
 *
 * Each is a guest function of signature bytes -> bytes declared with
 * GLINT_HTTP_HANDLER; see <glint/guest_http.h>.
 * Build: glint-cc -O2 -o http-guest.elf guest.c
 */
#include <glint/guest_http.h>
#include <stdint.h>
#include <stdlib.h>

/* GET or POST /hello?name=Ada  ->  "Hello, Ada!"  (HEAD is answered like
 * GET: the server sends the headers and drops the body.) */
GLINT_HTTP_HANDLER(Hello)
{
    if (!glint_http_str_eq(req->method, "GET") && !glint_http_str_eq(req->method, "HEAD") &&
        !glint_http_str_eq(req->method, "POST")) {
        glint_http_response *res = glint_http_response_new(405);
        glint_http_response_header(res, "Allow", "GET, HEAD, POST");
        glint_http_response_header(res, "Content-Type", "text/plain; charset=utf-8");
        glint_http_response_printf(res, "method not allowed\n");
        glint_http_response_send(res);
        return;
    }
    /* Query values arrive raw ("J%C3%BCrgen+M"): decode them before use. */
    char name[256] = "world";
    glint_http_str raw = glint_http_query_param(req, "name");
    if (raw.ptr && raw.len > 0 &&
        glint_http_url_decode(name, sizeof name, raw) == (size_t)-1) {
        glint_http_response *res = glint_http_response_new(400);
        glint_http_response_header(res, "Content-Type", "text/plain; charset=utf-8");
        glint_http_response_printf(res, "bad name: not URL-encoded, or longer than %zu bytes\n",
                                   sizeof name - 1);
        glint_http_response_send(res);
        return;
    }
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_header(res, "Content-Type", "text/plain; charset=utf-8");
    /* %s stops at a NUL byte ("%00" in the query): fine for a greeting. */
    glint_http_response_printf(res, "Hello, %s!\n", name);
    glint_http_response_send(res);
}

/* Appends s to res as a JSON string: quotes, backslashes and control
 * characters escaped, bytes that are not valid UTF-8 replaced by U+FFFD. */
static void json_string(glint_http_response *res, glint_http_str s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, n = s.len;
    glint_http_response_write(res, "\"", 1);
    while (i < n) {
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            glint_http_response_write(res, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            glint_http_response_printf(res, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            glint_http_response_write(res, p + i, 1);
            i++;
        } else {
            /* One UTF-8 sequence: its length, its minimum code point (no
             * overlong forms), no surrogates, nothing above U+10FFFF. */
            size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
            uint32_t cp = c & (len == 4 ? 0x07u : len == 3 ? 0x0fu : 0x1fu);
            bool ok = len && c <= 0xf4 && n - i >= len;
            for (size_t k = 1; ok && k < len; k++) {
                ok = (p[i + k] & 0xc0) == 0x80;
                cp = cp << 6 | (p[i + k] & 0x3fu);
            }
            static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
            ok = ok && cp >= min_cp[len] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
            if (ok) {
                glint_http_response_write(res, p + i, len);
                i += len;
            } else {
                glint_http_response_write(res, "\\ufffd", 6);
                i++;
            }
        }
    }
    glint_http_response_write(res, "\"", 1);
}

/* Any method: reflects the request as JSON. */
GLINT_HTTP_HANDLER(Echo)
{
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_header(res, "Content-Type", "application/json");
    glint_http_response_printf(res, "{\"method\":");
    json_string(res, req->method);
    glint_http_response_printf(res, ",\"path\":");
    json_string(res, req->path);
    glint_http_response_printf(res, ",\"query\":");
    json_string(res, req->query);
    /* An array of [name, value] pairs: a name may come more than once. */
    glint_http_response_printf(res, ",\"headers\":[");
    for (uint32_t i = 0; i < req->nheaders; i++) {
        glint_http_str name, value;
        glint_http_header_at(req, i, &name, &value);
        glint_http_response_printf(res, "%s[", i ? "," : "");
        json_string(res, name);
        glint_http_response_write(res, ",", 1);
        json_string(res, value);
        glint_http_response_write(res, "]", 1);
    }
    glint_http_response_printf(res, "],\"body\":");
    json_string(res, req->body);
    glint_http_response_printf(res, "}\n");
    /* Too large for the output buffer?  send then fails the call (500). */
    glint_http_response_send(res);
}

/*
 * A global lives as long as the sandbox's memory: in a warm sandbox (reused
 * across requests) it keeps counting, 0, 1, 2, ...; a pristine sandbox
 * (restored to its snapshot after every call) answers 0 every time.
 */
static uint64_t counter;

GLINT_HTTP_HANDLER(Count)
{
    (void)req;
    glint_http_response *res = glint_http_response_new(200);
    glint_http_response_header(res, "Content-Type", "text/plain; charset=utf-8");
    glint_http_response_printf(res, "%llu\n", (unsigned long long)counter++);
    glint_http_response_send(res);
}

/* A guest failure: the call fails with GLINT_E_ABORT and the sandbox is
 * poisoned; glintd answers 500 and does not reuse the sandbox. */
GLINT_HTTP_HANDLER(Fail)
{
    (void)req;
    abort();
}
