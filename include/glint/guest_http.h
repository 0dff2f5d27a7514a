/*
 * glint/guest_http.h - HTTP handlers in a guest (part of libglint-guest.a).
 *
 * glintd calls a route bound with `bind: http` as a guest function of
 * signature `bytes -> bytes`: the argument is the request and the result
 * the response, in the layout of <glint/http.h>.  These helpers read the
 * request and build the response so that a guest never touches that layout:
 *
 *     #include <glint/guest_http.h>
 *
 *     GLINT_HTTP_HANDLER(Hello)
 *     {
 *         glint_http_response *res = glint_http_response_new(200);
 *         glint_http_response_header(res, "Content-Type", "text/plain");
 *         glint_http_response_printf(res, "you asked for %.*s\n",
 *                                    GLINT_HTTP_STR_ARG(req->path));
 *         glint_http_response_send(res);
 *     }
 *
 * Strings (glint_http_str) point into the call's argument: they are NOT
 * NUL-terminated, may contain any byte (NUL included) and stay valid until
 * the guest function returns (host calls, printf included, leave them
 * intact).  Print them with "%.*s" and GLINT_HTTP_STR_ARG(s).
 */
#ifndef GLINT_GUEST_HTTP_H
#define GLINT_GUEST_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glint/guest.h"
#include "glint/http.h"

/* A byte string: `len` bytes at `ptr`, not NUL-terminated.  ptr is NULL
 * only for "absent" (glint_http_header, glint_http_query_param); an empty
 * string that is present has a non-NULL ptr and len 0. */
typedef struct {
    const char *ptr;
    size_t len;
} glint_http_str;

/* printf("%.*s", GLINT_HTTP_STR_ARG(s)) prints s. */
#define GLINT_HTTP_STR_ARG(s) (int)((s).len > 0x7fffffffu ? 0x7fffffffu : (s).len), (s).ptr

/* True if s holds exactly the bytes of the NUL-terminated `cstr`
 * (case-sensitive: glint_http_str_eq(req->method, "POST")). */
bool glint_http_str_eq(glint_http_str s, const char *cstr);

/* ---------------------------------------------------------------------------
 * Requests.
 */
typedef struct glint_http_request {
    glint_http_str method; /* as sent: "GET", "POST", ... */
    glint_http_str path;   /* percent-decoded by glintd, without the query */
    glint_http_str query;  /* raw (not decoded), without the '?'; may be empty */
    glint_http_str body;   /* may be empty */
    uint32_t nheaders;     /* 0..GLINT_HTTP_MAX_HEADERS */
    /* private: where each header's record starts (use glint_http_header_at) */
    const uint8_t *hdr_[GLINT_HTTP_MAX_HEADERS];
} glint_http_request;

/*
 * Parses `len` bytes at `data` (the request layout of <glint/http.h>) into
 * *req.  Checks the structure completely: magic, version, nheaders <=
 * GLINT_HTTP_MAX_HEADERS, every length within the bytes (in 64-bit
 * arithmetic: no sum wraps), and that the body ends exactly at the end.
 * Contents are not checked (any bytes may appear in the strings).  Returns
 * 0, or -1 for malformed input, with *req zeroed.  Never reads outside
 * data[0..len), whatever the bytes.  The request points into `data`.
 */
int glint_http_parse(const uint8_t *data, size_t len, glint_http_request *req);

/* Value of the first header named `name`, compared case-insensitively
 * (glintd sends names in lower case); {NULL, 0} when there is none. */
glint_http_str glint_http_header(const glint_http_request *r, const char *name);

/* Header i (0 <= i < r->nheaders) in request order: sets *name and *value
 * (either pointer may be NULL) and returns 0; -1 if i is out of range.
 *
 *     for (uint32_t i = 0; i < req->nheaders; i++) {
 *         glint_http_str n, v;
 *         glint_http_header_at(req, i, &n, &v);
 *         ...
 *     }
 */
int glint_http_header_at(const glint_http_request *r, uint32_t i, glint_http_str *name,
                         glint_http_str *value);

/*
 * Raw value of the first parameter `key` of the query: the bytes after
 * "key=" up to the next '&' or the end, not decoded.  A bare "key" (no '=')
 * counts, with an empty value.  Keys are compared raw and case-sensitively
 * (a key written percent-encoded in the URL does not match).  {NULL, 0}
 * when the key does not occur, or is empty or holds '=' or '&'.
 */
glint_http_str glint_http_query_param(const glint_http_request *r, const char *key);

/*
 * Decodes `s` as a URL query / form component: "%XX" (two hex digits, any
 * case) becomes that byte and '+' a space; other bytes are copied.  Writes
 * the result and a terminating NUL into dst[0..cap) and returns the decoded
 * length (without the NUL; the result may hold NUL bytes of its own, from
 * "%00").  Returns (size_t)-1, with dst[0] = '\0' if cap > 0, when the
 * result and its NUL do not fit in cap bytes or s is malformed ('%' not
 * followed by two hex digits).  The result is never longer than s, so
 * cap = s.len + 1 always fits.
 */
size_t glint_http_url_decode(char *dst, size_t cap, glint_http_str s);

/* ---------------------------------------------------------------------------
 * Responses.
 *
 * A response is built in place in the guest's output buffer (no copy, no
 * heap), so its size is limited by the sandbox's output buffer (glint_config
 * output_size; 64 KiB by default): the whole encoded response, 20 bytes plus
 * 8 per header plus the names, values and body, must fit in output_size - 33
 * bytes.  A second response created while the first is still being built
 * (or one created in a function that does not return bytes) lives on the
 * guest heap instead and is copied at send.
 *
 * Errors do not need checking at each step: a function that fails returns
 * -1 and, for failures other than a refused header, marks the response
 * failed; glint_http_response_send of a failed response ends the call with
 * glint_return_error and the first failure's message (the host sees
 * GLINT_E_GUEST_ERROR; glintd answers 500).  Failures: an invalid status,
 * a response too large for the output buffer, the guest heap exhausted
 * (for heap responses; checked before each allocation, so it fails the
 * call rather than aborting the guest unless the heap is fragmented).
 *
 * Rules:
 *  - Send (or discard) each response during the call that created it.
 *  - Host calls (printf included) may be made while building; they keep
 *    the response intact, but one whose arguments and the response together
 *    do not fit the output buffer fails (printf returns -1).
 *  - Do not call glint_return_* between new and send: a result set that way
 *    overwrites the response (its send then fails the call, saying so).
 *  - Exactly one response should be sent per call; sending a second one
 *    replaces the first as the result.
 *
 * All functions accept NULL for `res` (from a failed new): they return -1,
 * and send fails the call, saying that the heap was exhausted.
 */
typedef struct glint_http_response glint_http_response;

/* A new response with HTTP status `status` (100..599; another value makes
 * the response failed), no headers and an empty body.  NULL only for a
 * response that must live on the heap (see above) when the heap is full. */
glint_http_response *glint_http_response_new(int status);

/*
 * Adds a header; the same name may be added more than once.  Returns 0, or
 * -1 (and adds nothing; the response stays usable) when:
 *  - name is empty or holds a byte other than an HTTP token character
 *    (letters, digits and !#$%&'*+-.^_`|~): no spaces, ':', CR, LF, controls
 *    or non-ASCII;
 *  - value holds a byte outside printable ASCII 0x20..0x7e (CR, LF, tab,
 *    NUL, DEL, non-ASCII);
 *  - name is Content-Length or Transfer-Encoding (any case): glintd sets
 *    the framing itself;
 *  - the response already has GLINT_HTTP_MAX_HEADERS headers;
 * and -1 with the response failed when it does not fit.  Headers may be
 * added before or after body bytes.
 */
int glint_http_response_header(glint_http_response *res, const char *name, const char *value);

/* Appends n bytes to the body.  0, or -1 (response failed) when too large. */
int glint_http_response_write(glint_http_response *res, const void *p, size_t n);

/* Appends printf-style formatted text to the body.  Returns the number of
 * bytes appended, or -1 (response failed) when too large. */
int glint_http_response_printf(glint_http_response *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Encodes the response and returns it as the result of the current guest
 * function (glint_return_bytes; the function must return bytes), then frees
 * it: `res` must not be used afterwards.  A failed response (or NULL) ends
 * the call with glint_return_error instead, with a message saying why.
 */
void glint_http_response_send(glint_http_response *res);

/* Frees a response without sending it (NULL is allowed). */
void glint_http_response_discard(glint_http_response *res);

/* ---------------------------------------------------------------------------
 * Handlers.
 *
 * GLINT_HTTP_HANDLER(Name) declares the guest function `Name`, of signature
 * bytes -> bytes, exported under that name (the name a glintd route binds),
 * and starts the definition of its body, which follows in braces and sees
 * the parsed request as `const glint_http_request *req`:
 *
 *     GLINT_HTTP_HANDLER(Hello)          // no semicolon
 *     {
 *         glint_http_response *res = glint_http_response_new(200);
 *         glint_http_response_printf(res, "Hello!\n");
 *         glint_http_response_send(res);
 *     }
 *
 * Write it at file scope, once per name.  The generated function parses
 * its argument with glint_http_parse; on malformed input it returns a 400
 * response (content-type text/plain, body "malformed request: WHY\n")
 * without running the body.  Otherwise it runs the body, which should send
 * exactly one response (or fail with glint_return_error, or abort).  A body
 * that returns without sending fails the call with a message saying so.
 * The body is a static function named Name_impl.
 */
#define GLINT_HTTP_HANDLER(fn)                                                           \
    static void fn##_impl(const glint_http_request *req);                                \
    GLINT_FUNCTION(fn, GLINT_BYTES, GLINT_BYTES);                                        \
    static void fn(const glint_args *glint_http_args_)                                   \
    {                                                                                    \
        glint_http_serve(glint_http_args_, fn##_impl);                                   \
    }                                                                                    \
    static void fn##_impl(const glint_http_request *req)

/* What GLINT_HTTP_HANDLER's function does: parses argument 0 (bytes),
 * answers 400 if malformed, else calls handler(&request), then checks that
 * a response was sent.  Usable directly from a GLINT_FUNCTION of
 * signature bytes -> bytes. */
void glint_http_serve(const glint_args *args, void (*handler)(const glint_http_request *req));

#endif /* GLINT_GUEST_HTTP_H */
