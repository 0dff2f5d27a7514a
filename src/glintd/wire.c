/*
 * wire.c - the guest's HTTP response (<glint/http.h>), checked completely
 * before glintd uses any of it: it is hostile input.  Kept apart from
 * server.c so that the fuzzer (fuzz/fuzz_glintd.c) runs exactly this code.
 */
#include <string.h>

#include <glint/http.h>

#include "glintd.h"

_Static_assert(GLINT_HTTP_MAX_HEADERS == sizeof(((struct gd_response *)0)->hdr) / sizeof(uint32_t),
               "struct gd_response: one offset per header");

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int text_ok(const uint8_t *p, uint32_t n, int name)
{
    if (name && n == 0)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] >= 0x7f)
            return 0;
        if (name && (p[i] == ':' || p[i] == ' '))
            return 0;
    }
    return 1;
}

const char *gd_response_parse(const uint8_t *p, size_t n, struct gd_response *r)
{
    memset(r, 0, sizeof *r);
    if (!p || n < GLINT_HTTP_RESP_FIXED)
        return "shorter than its fixed part";
    if (get32(p) != GLINT_HTTP_RESP_MAGIC || get32(p + 4) != GLINT_HTTP_VERSION)
        return "wrong magic or version";
    uint32_t status = get32(p + 8), nh = get32(p + 12), body_len = get32(p + 16);
    if (status < 100 || status > 599)
        return "status outside 100..599";
    if (nh > GLINT_HTTP_MAX_HEADERS)
        return "too many headers";
    size_t at = GLINT_HTTP_RESP_FIXED;
    for (uint32_t i = 0; i < nh; i++) {
        if (n - at < 8)
            return "truncated in a header";
        uint32_t kn = get32(p + at), vn = get32(p + at + 4);
        if ((uint64_t)kn + vn > n - at - 8)
            return "truncated in a header";
        if (kn > GLINT_HTTP_MAX_NAME || vn > GLINT_HTTP_MAX_VALUE)
            return "a header name over 255 bytes or a value over 4095";
        if (!text_ok(p + at + 8, kn, 1) || !text_ok(p + at + 8 + kn, vn, 0))
            return "a header name or value that is not printable ASCII";
        r->hdr[i] = (uint32_t)at;
        at += 8 + (size_t)kn + vn;
    }
    if (n - at != body_len)
        return "body length does not match";
    r->p = p;
    r->status = status;
    r->nheaders = nh;
    r->body = p + at;
    r->body_len = body_len;
    return NULL;
}

void gd_response_header(const struct gd_response *r, uint32_t i, char *name, char *value)
{
    const uint8_t *h = r->p + r->hdr[i];
    uint32_t kn = get32(h), vn = get32(h + 4);
    memcpy(name, h + 8, kn);
    name[kn] = 0;
    memcpy(value, h + 8 + kn, vn);
    value[vn] = 0;
}
