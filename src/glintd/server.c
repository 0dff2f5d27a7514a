/*
 * server.c - glintd's HTTP side, on libmicrohttpd: workers over epoll
 * (or a thread per connection); each request runs its guest call on the
 * thread that handles it.
 *
 * glintd listens and accepts itself, on one thread, and gives every
 * connection to the worker (a libmicrohttpd daemon with one thread) with
 * the fewest requests in progress, then the fewest connections.  Left to
 * accept on their own, workers that share a listening socket take up to
 * ten connections in a row each time one wakes: a client's pool of 8
 * keep-alive connections often all landed on one worker (one worker with
 * all the CPU time, the other idle, in about one run in four), which then
 * ran every guest call while the other CPU waited; and a worker busy in a
 * long guest call must not be handed a new connection while another is
 * free.  The connection limits (in all, per client address) are glintd's
 * to keep, across the workers.
 *
 * A request's life: the URI-log callback (first thing MHD knows of it)
 * takes a reference to the current state; the access handler routes it on
 * its first call, collects the body on the next ones, and answers on the
 * last (never on the first: libmicrohttpd 0.9.75 closes a keep-alive
 * connection whose response is queued there); the completion callback logs
 * it, counts it and drops the reference.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <glint/http.h>

#include "../host/utf8.h" /* the host library's check, header-only */
#include "glintd.h"

struct gd_worker;

struct req {
    struct gd_worker *w;        /* the worker whose thread serves it */
    struct gd_state *st;
    char *uri;                  /* as received: path and query */
    uint64_t t0;
    int started;
    unsigned method_bit;
    struct gd_route_rt *route;
    int status;                 /* the HTTP status answered */
    const char *own;            /* one of glintd's endpoints */
    int early;                  /* an error decided before the body was read */
    const char *early_msg, *early_code;
    char early_buf[200];        /* early_msg when it is made up */
    char *body;
    size_t len, cap;
    uint64_t acquire_ns, call_ns, release_ns;
    glint_status glint;         /* the guest call's status */
    int cold;
    /* W3C trace context: the caller's trace (or a new one), this request's span. */
    char trace_id[33], span_id[17], parent_id[17], flags[3];
};

/* A connection's state for the slow-client reaper (gd_server_reap_slow):
 * 0 waiting for a request's headers, BUSY_BODY reading its body (both
 * bounded by client_timeout_s, however slowly bytes trickle in), and
 * BUSY_ANSWER once the request is in (the guest may run: not bounded here). */
enum { BUSY_BODY = 2, BUSY_ANSWER = 1 };
static void conn_busy(struct MHD_Connection *c, int busy);

/* The request whose guest this thread runs, for span_log (server.spans). */
static _Thread_local struct req *t_req;

/* ---- trace context (W3C traceparent) ------------------------------------------ */

static uint64_t random64(void)
{
    static _Thread_local uint64_t state;
    if (!state && (getrandom(&state, sizeof state, GRND_NONBLOCK) != (ssize_t)sizeof state || !state))
        state = gd_now_ns() ^ (uint64_t)(uintptr_t)&state ^ 0x9e3779b97f4a7c15ull;
    uint64_t z = (state += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool lower_hex(const char *s, size_t n)
{
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
        nonzero |= s[i] != '0';
    }
    return nonzero;
}

/* "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>": continue that
 * trace; otherwise (absent or malformed) start a new one.  Either way this
 * request gets a span id of its own. */
static void trace_start(struct MHD_Connection *c, struct req *q)
{
    const char *tp = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent");
    if (tp && strlen(tp) >= 55 && !strncmp(tp, "00-", 3) && tp[35] == '-' && tp[52] == '-' &&
        (tp[55] == 0 || tp[55] == '-') && lower_hex(tp + 3, 32) && lower_hex(tp + 36, 16) &&
        (lower_hex(tp + 53, 2) || !strncmp(tp + 53, "00", 2))) {
        memcpy(q->trace_id, tp + 3, 32);
        memcpy(q->parent_id, tp + 36, 16);
        memcpy(q->flags, tp + 53, 2);
    } else {
        snprintf(q->trace_id, sizeof q->trace_id, "%016llx%016llx", (unsigned long long)random64(),
                 (unsigned long long)random64());
        q->parent_id[0] = 0;
        memcpy(q->flags, "01", 2);
    }
    q->trace_id[32] = 0;
    q->parent_id[16] = 0;
    q->flags[2] = 0;
    snprintf(q->span_id, sizeof q->span_id, "%016llx", (unsigned long long)(random64() | 1));
}

static void add_traceparent(struct MHD_Response *r, const struct req *q)
{
    if (!q || !q->trace_id[0])
        return;
    char tp[64];
    snprintf(tp, sizeof tp, "00-%s-%s-%s", q->trace_id, q->span_id, q->flags);
    MHD_add_response_header(r, "traceparent", tp);
}

/* ---- responses -------------------------------------------------------------- */

static enum MHD_Result send_buf(struct MHD_Connection *c, struct req *q, int status, const char *type,
                                const void *data, size_t len, int close)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (close || atomic_load(&gd_draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    add_traceparent(r, q);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    if (q)
        q->status = status;
    return ok;
}

/* {"error": msg, "status": code} */
static enum MHD_Result send_error(struct MHD_Connection *c, struct req *q, int status, const char *code,
                                  const char *msg, int close)
{
    char body[2048];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"error\":\"");
    gd_json_escape(body, sizeof body - 64, &n, msg, strlen(msg));
    n += (size_t)snprintf(body + n, sizeof body - n, "\",\"status\":\"%s\"}\n", code);
    return send_buf(c, q, status, "application/json", body, n < sizeof body ? n : sizeof body - 1, close);
}

/* The HTTP status for a failed guest call. */
static int http_status_of(glint_status s)
{
    switch (s) {
    case GLINT_E_TIMEOUT: return 504;
    case GLINT_E_SIGNATURE: case GLINT_E_INVALID: return 400;
    case GLINT_E_TOO_LARGE: return 413;
    case GLINT_E_NOMEM: case GLINT_E_BUSY: case GLINT_E_NO_KVM: case GLINT_E_CANCELLED: return 503;
    default: return 500;
    }
}

/* ---- HTTP binding -------------------------------------------------------------- */

struct enc {
    uint8_t *p;
    size_t len, cap;
    uint32_t nheaders;
    int oom;
};

static void enc_put(struct enc *e, const void *p, size_t n)
{
    if (e->oom)
        return;
    if (e->len + n > e->cap) {
        size_t cap = (e->cap + n) * 2;
        uint8_t *np = realloc(e->p, cap);
        if (!np) {
            e->oom = 1;
            return;
        }
        e->p = np;
        e->cap = cap;
    }
    memcpy(e->p + e->len, p, n);
    e->len += n;
}

static void enc_u32(struct enc *e, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    enc_put(e, b, 4);
}

static enum MHD_Result header_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct enc *e = cls;
    if (e->nheaders >= GLINT_HTTP_MAX_HEADERS)
        return MHD_NO;
    size_t kn = strlen(key), vn = value ? strlen(value) : 0;
    enc_u32(e, (uint32_t)kn);
    enc_u32(e, (uint32_t)vn);
    size_t at = e->len;
    enc_put(e, key, kn);
    for (size_t i = 0; !e->oom && i < kn; i++)
        if (e->p[at + i] >= 'A' && e->p[at + i] <= 'Z')
            e->p[at + i] = (uint8_t)(e->p[at + i] + 32);
    enc_put(e, value ? value : "", vn);
    e->nheaders++;
    return MHD_YES;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}


/* The request in the format of <glint/http.h>; NULL when out of memory. */
static uint8_t *encode_request(struct MHD_Connection *c, struct req *q, const char *method, const char *path,
                               size_t *len)
{
    const char *query = strchr(q->uri, '?');
    query = query ? query + 1 : "";
    struct enc e = {0};
    uint8_t fixed[GLINT_HTTP_REQ_FIXED] = {0};
    enc_put(&e, fixed, sizeof fixed);
    enc_put(&e, method, strlen(method));
    enc_put(&e, path, strlen(path));
    enc_put(&e, query, strlen(query));
    MHD_get_connection_values(c, MHD_HEADER_KIND, header_cb, &e);
    enc_put(&e, q->body ? q->body : "", q->len);
    if (e.oom || !e.p) {
        free(e.p);
        return NULL;
    }
    put32(e.p, GLINT_HTTP_REQ_MAGIC);
    put32(e.p + 4, GLINT_HTTP_VERSION);
    put32(e.p + 8, (uint32_t)strlen(method));
    put32(e.p + 12, (uint32_t)strlen(path));
    put32(e.p + 16, (uint32_t)strlen(query));
    put32(e.p + 20, e.nheaders);
    put32(e.p + 24, (uint32_t)q->len);
    *len = e.len;
    return e.p;
}

/* Answers with the guest's response, checked completely; a malformed one
 * is a 500 that says what is wrong. */
static enum MHD_Result send_guest_response(struct MHD_Connection *c, struct req *q, const uint8_t *p, size_t n)
{
    struct gd_response rs;
    const char *why = gd_response_parse(p, n, &rs);
    if (why) {
        char msg[200];
        snprintf(msg, sizeof msg, "the guest's HTTP response is malformed: %s", why);
        q->glint = GLINT_E_BAD_GUEST_DATA;
        return send_error(c, q, 500, "GLINTD_BAD_RESPONSE", msg, 0);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(rs.body_len, (void *)rs.body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    for (uint32_t i = 0; i < rs.nheaders; i++) {
        char name[GLINT_HTTP_MAX_NAME + 1], value[GLINT_HTTP_MAX_VALUE + 1]; /* checked by the parser */
        gd_response_header(&rs, i, name, value);
        /* glintd frames the message itself. */
        if (strcasecmp(name, "content-length") && strcasecmp(name, "transfer-encoding") &&
            strcasecmp(name, "connection"))
            MHD_add_response_header(r, name, value);
    }
    if (atomic_load(&gd_draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    add_traceparent(r, q);
    enum MHD_Result ok = MHD_queue_response(c, rs.status, r);
    MHD_destroy_response(r);
    q->status = (int)rs.status;
    return ok;
}

/* ---- typed binding -------------------------------------------------------------- */

static int hexval(int ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                                           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* Percent-decodes (and '+' to blank) s[0..n) into a new string; NULL if malformed. */
static char *url_decode(const char *s, size_t n, size_t *out_len)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int a = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int b = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (a < 0 || b < 0) {
                free(d);
                return NULL;
            }
            d[k++] = (char)(a * 16 + b);
            i += 2;
        } else {
            d[k++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    d[k] = 0;
    *out_len = k;
    return d;
}


/* Converts text to a value of type t; the value may point into `text`,
 * which must outlive it.  NULL, or a message saying what is wrong. */
static const char *from_text(glint_type t, const char *text, size_t n, glint_value *v)
{
    char *end;
    errno = 0;
    switch (t) {
    case GLINT_BOOL:
        if ((n == 4 && !memcmp(text, "true", 4)) || (n == 1 && text[0] == '1'))
            *v = (glint_value){.type = GLINT_BOOL, .v.b = true};
        else if ((n == 5 && !memcmp(text, "false", 5)) || (n == 1 && text[0] == '0'))
            *v = (glint_value){.type = GLINT_BOOL, .v.b = false};
        else
            return "expected true, false, 1 or 0";
        return NULL;
    case GLINT_I32: case GLINT_I64: {
        if (!n || memchr(text, 0, n))
            return "expected an integer";
        long long x = strtoll(text, &end, 0);
        if (*end || errno || (t == GLINT_I32 && (x < INT32_MIN || x > INT32_MAX)))
            return t == GLINT_I32 ? "expected an int32" : "expected an int64";
        *v = t == GLINT_I32 ? glint_i32((int32_t)x) : glint_i64(x);
        return NULL;
    }
    case GLINT_U32: case GLINT_U64: {
        if (!n || text[0] == '-' || memchr(text, 0, n))
            return "expected an unsigned integer";
        unsigned long long x = strtoull(text, &end, 0);
        if (*end || errno || (t == GLINT_U32 && x > UINT32_MAX))
            return t == GLINT_U32 ? "expected a uint32" : "expected a uint64";
        *v = t == GLINT_U32 ? glint_u32((uint32_t)x) : glint_u64(x);
        return NULL;
    }
    case GLINT_F32: case GLINT_F64: {
        if (!n || memchr(text, 0, n))
            return "expected a number";
        double x = strtod(text, &end);
        if (*end)
            return "expected a number";
        *v = t == GLINT_F32 ? glint_f32((float)x) : glint_f64(x);
        return NULL;
    }
    case GLINT_STRING:
        if (!glint_utf8_valid((const uint8_t *)text, n))
            return "not valid UTF-8";
        *v = glint_str(text, n);
        return NULL;
    case GLINT_BYTES:
        *v = glint_bytes(text, n);
        return NULL;
    default:
        return "unsupported type";
    }
}

/* Converts a JSON value to type t. */
static const char *from_json(glint_type t, json_t *j, glint_value *v, char *num, size_t num_size)
{
    if (t == GLINT_BOOL) {
        if (!json_is_boolean(j))
            return "expected true or false";
        *v = (glint_value){.type = GLINT_BOOL, .v.b = json_is_true(j)};
        return NULL;
    }
    if (t == GLINT_STRING || t == GLINT_BYTES) {
        if (!json_is_string(j))
            return "expected a string";
        return from_text(t, json_string_value(j), json_string_length(j), v);
    }
    if (json_is_integer(j)) {
        if (t == GLINT_F32 || t == GLINT_F64) {
            double x = (double)json_integer_value(j);
            *v = t == GLINT_F32 ? glint_f32((float)x) : glint_f64(x);
            return NULL;
        }
        snprintf(num, num_size, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return from_text(t, num, strlen(num), v);
    }
    if (json_is_real(j) && (t == GLINT_F32 || t == GLINT_F64)) {
        double x = json_real_value(j);
        *v = t == GLINT_F32 ? glint_f32((float)x) : glint_f64(x);
        return NULL;
    }
    if (json_is_string(j) && t != GLINT_BOOL) /* big u64, "nan", "inf", hex */
        return from_text(t, json_string_value(j), json_string_length(j), v);
    return "expected a number";
}

static json_t *to_json(const glint_value *v)
{
    char hex[3];
    switch (v->type) {
    case GLINT_VOID: return json_null();
    case GLINT_BOOL: return json_boolean(v->v.b);
    case GLINT_I32: return json_integer(v->v.i32);
    case GLINT_U32: return json_integer(v->v.u32);
    case GLINT_I64: return json_integer(v->v.i64);
    case GLINT_U64:
        if (v->v.u64 <= INT64_MAX)
            return json_integer((json_int_t)v->v.u64);
        {
            char b[32];
            snprintf(b, sizeof b, "%" PRIu64, v->v.u64);
            return json_string(b);
        }
    case GLINT_F32: case GLINT_F64: {
        double x = v->type == GLINT_F32 ? (double)v->v.f32 : v->v.f64;
        if (isnan(x))
            return json_string("nan");
        if (isinf(x))
            return json_string(x > 0 ? "inf" : "-inf");
        return json_real(x);
    }
    case GLINT_STRING: return json_stringn(v->v.str.ptr, v->v.str.len);
    case GLINT_BYTES: {
        char *h = malloc(v->v.bytes.len * 2 + 1);
        if (!h)
            return NULL;
        for (size_t i = 0; i < v->v.bytes.len; i++) {
            snprintf(hex, sizeof hex, "%02x", ((const uint8_t *)v->v.bytes.ptr)[i]);
            memcpy(h + 2 * i, hex, 2);
        }
        h[v->v.bytes.len * 2] = 0;
        json_t *s = json_string(h);
        free(h);
        return s;
    }
    default: return NULL;
    }
}

/* Arguments for a typed route: a JSON array body (by position), else one
 * string or bytes parameter taking a non-JSON body whole, else the query
 * string's values in order.  Fills args (pointing into q, *keep and *json);
 * NULL or a message for the 400. */
static const char *typed_args(struct MHD_Connection *c, struct req *q, const glint_function *fn, glint_value *args,
                              char **keep, json_t **json, char *msg, size_t msg_size)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    bool is_json = ct && !strncasecmp(ct, "application/json", 16);
    if (q->len && is_json) {
        json_error_t je;
        *json = json_loadb(q->body, q->len, JSON_REJECT_DUPLICATES, &je);
        if (!*json) {
            snprintf(msg, msg_size, "the body is not valid JSON: %s (at byte %d)", je.text, je.position);
            return msg;
        }
        if (!json_is_array(*json) || json_array_size(*json) != fn->nparams) {
            snprintf(msg, msg_size, "%s takes %u arguments: send a JSON array of %u values", fn->name,
                     fn->nparams, fn->nparams);
            return msg;
        }
        char num[64];
        for (uint32_t i = 0; i < fn->nparams; i++) {
            const char *why = from_json(fn->params[i], json_array_get(*json, i), &args[i], num, sizeof num);
            if (why) {
                snprintf(msg, msg_size, "argument %u (%s): %s", i + 1, glint_type_name(fn->params[i]), why);
                return msg;
            }
        }
        return NULL;
    }
    if (q->len && fn->nparams == 1 && (fn->params[0] == GLINT_STRING || fn->params[0] == GLINT_BYTES)) {
        const char *why = from_text(fn->params[0], q->body, q->len, &args[0]);
        if (why) {
            snprintf(msg, msg_size, "the body as argument 1 (%s): %s", glint_type_name(fn->params[0]), why);
            return msg;
        }
        return NULL;
    }
    /* The query string: a=1&b=2 gives 1, 2 (names are for the reader). */
    const char *query = strchr(q->uri, '?');
    query = query ? query + 1 : "";
    size_t qn = strlen(query);
    *keep = malloc(qn + fn->nparams + 1);
    if (!*keep) {
        snprintf(msg, msg_size, "out of memory");
        return msg;
    }
    char *w = *keep;
    uint32_t i = 0;
    for (const char *p = query; *p && i <= fn->nparams;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        const char *val = eq ? eq + 1 : p;
        size_t vn = eq ? n - (size_t)(eq + 1 - p) : n;
        if (n) {
            if (i == fn->nparams) {
                i++;
                break;
            }
            size_t dn;
            char *d = url_decode(val, vn, &dn);
            if (!d) {
                snprintf(msg, msg_size, "argument %u: malformed percent-encoding", i + 1);
                return msg;
            }
            memcpy(w, d, dn);
            w[dn] = 0;
            free(d);
            const char *why = from_text(fn->params[i], w, dn, &args[i]);
            if (why) {
                snprintf(msg, msg_size, "argument %u (%s): %s", i + 1, glint_type_name(fn->params[i]), why);
                return msg;
            }
            w += dn + 1;
            i++;
        }
        p += n + (amp ? 1 : 0);
    }
    if (i != fn->nparams) {
        snprintf(msg, msg_size, "%s takes %u arguments, the query string gives %s%u", fn->name, fn->nparams,
                 i > fn->nparams ? "more than " : "", i > fn->nparams ? fn->nparams : i);
        return msg;
    }
    return NULL;
}

static enum MHD_Result send_typed_result(struct MHD_Connection *c, struct req *q, const glint_value *r)
{
    if (q->route->cfg->result == GD_RESULT_RAW) {
        if (r->type == GLINT_STRING)
            return send_buf(c, q, 200, "text/plain; charset=utf-8", r->v.str.ptr, r->v.str.len, 0);
        if (r->type == GLINT_BYTES)
            return send_buf(c, q, 200, "application/octet-stream", r->v.bytes.ptr, r->v.bytes.len, 0);
    }
    json_t *o = json_object();
    json_t *v = to_json(r);
    if (!o || !v || json_object_set_new(o, "result", v) != 0) {
        json_decref(o);
        return send_error(c, q, 500, "GLINT_E_NOMEM", "out of memory encoding the result", 0);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!text)
        return send_error(c, q, 500, "GLINT_E_NOMEM", "out of memory encoding the result", 0);
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (withnl) {
        text = withnl;
        text[n++] = '\n';
        text[n] = 0;
    }
    enum MHD_Result ok = send_buf(c, q, 200, "application/json", text, n, 0);
    free(text);
    return ok;
}

/* ---- owners' limits ---------------------------------------------------------------- */

static bool take_token(struct gd_owner_rt *o)
{
    if (o->cfg->rate <= 0)
        return true;
    struct gd_owner_live *l = o->live;
    pthread_mutex_lock(&l->lock);
    uint64_t now = gd_now_ns();
    l->tokens += (double)(now - l->last_ns) / 1e9 * o->cfg->rate;
    if (l->tokens > o->cfg->burst)
        l->tokens = o->cfg->burst;
    l->last_ns = now;
    bool ok = l->tokens >= 1.0;
    if (ok)
        l->tokens -= 1.0;
    pthread_mutex_unlock(&l->lock);
    return ok;
}

/* ---- the guest call ---------------------------------------------------------------------- */

static enum MHD_Result run_route(struct MHD_Connection *c, struct req *q, const char *method, const char *path)
{
    struct gd_route_rt *rt = q->route;
    struct gd_owner_rt *o = rt->owner;
    char msg[1024];
    if (!take_token(o)) {
        atomic_fetch_add(&o->live->rejected_rate, 1);
        snprintf(msg, sizeof msg, "owner %s is over its rate limit (%g requests/s)", o->cfg->name, o->cfg->rate);
        return send_error(c, q, 429, "GLINTD_RATE_LIMITED", msg, 0);
    }
    if (atomic_fetch_add(&o->live->in_use, 1) >= o->cfg->max_concurrency) {
        atomic_fetch_sub(&o->live->in_use, 1);
        atomic_fetch_add(&o->live->rejected_concurrency, 1);
        snprintf(msg, sizeof msg, "owner %s has %u requests running, its limit", o->cfg->name,
                 o->cfg->max_concurrency);
        return send_error(c, q, 429, "GLINTD_CONCURRENCY_LIMITED", msg, 0);
    }
    glint_value args[GLINT_MAX_PARAMS];
    uint8_t *wire = NULL;
    char *keep = NULL;
    json_t *json = NULL;
    enum MHD_Result ret;
    if (rt->cfg->bind == GD_BIND_HTTP) {
        size_t n;
        wire = encode_request(c, q, method, path, &n);
        if (!wire) {
            ret = send_error(c, q, 503, "GLINT_E_NOMEM", "out of memory encoding the request", 0);
            goto out;
        }
        args[0] = glint_bytes(wire, n);
    } else {
        const char *why = typed_args(c, q, &rt->fn, args, &keep, &json, msg, sizeof msg);
        if (why) {
            ret = send_error(c, q, 400, "GLINTD_BAD_ARGUMENTS", why, 0);
            goto out;
        }
    }
    glint_sandbox *sb = NULL;
    glint_error e;
    bool cold = false;
    t_req = q; /* span_log: this thread's spans are this request's until release */
    uint64_t t0 = gd_now_ns();
    glint_status s = gd_route_acquire(rt, &sb, &cold, &e);
    uint64_t t1 = gd_now_ns();
    q->acquire_ns = t1 - t0;
    q->cold = cold;
    gd_hist_add(&rt->m.acquire, q->acquire_ns);
    if (cold)
        gd_hist_add(&rt->m.cold_start, q->acquire_ns);
    if (s != GLINT_OK) {
        q->glint = s;
        snprintf(msg, sizeof msg, "no sandbox for %s: %s", rt->cfg->path, e.message);
        char extra[1200];
        size_t n = (size_t)snprintf(extra, sizeof extra, "\"owner\":\"%s\",\"error\":\"", o->cfg->name);
        gd_json_escape(extra, sizeof extra - 4, &n, msg, strlen(msg));
        snprintf(extra + n, sizeof extra - n, "\"");
        gd_log("error", "cannot get a sandbox", extra);
        ret = send_error(c, q, 503, glint_status_name(s), msg, 0);
        goto out;
    }
    glint_value r;
    s = glint_sandbox_call_index(sb, rt->fn_index, args, rt->fn.nparams, &r);
    uint64_t t2 = gd_now_ns();
    q->call_ns = t2 - t1;
    q->glint = s;
    gd_hist_add(&rt->m.call, q->call_ns);
    if (s == GLINT_OK) {
        if (rt->cfg->bind == GD_BIND_HTTP)
            ret = send_guest_response(c, q, r.v.bytes.ptr, r.v.bytes.len);
        else
            ret = send_typed_result(c, q, &r);
    } else {
        if ((unsigned)s < 64)
            atomic_fetch_add_explicit(&rt->m.failures[s], 1, memory_order_relaxed);
        const glint_error *ge = glint_sandbox_error(sb);
        int hs = s == GLINT_E_SIGNATURE || s == GLINT_E_TOO_LARGE ? http_status_of(s)
               : s == GLINT_E_CANCELLED ? 503 : http_status_of(s);
        ret = send_error(c, q, hs, glint_status_name(s), ge->message, 0);
    }
    gd_route_release(rt, sb);
    q->release_ns = gd_now_ns() - t2;
    gd_hist_add(&rt->m.release, q->release_ns);
out:
    t_req = NULL;
    atomic_fetch_sub(&o->live->in_use, 1);
    json_decref(json);
    free(keep);
    free(wire);
    return ret;
}

/* ---- spans (server.spans) ----------------------------------------------------------------------
 * glint delivers each span on the thread that ended it, which for a
 * request's acquire, call, host calls and release is the thread running the
 * request: t_req names it, so each span joins the request's trace (its
 * top-level spans are children of the request's own span). */

static void span_log(const glint_span *sp, void *user)
{
    (void)user;
    const struct req *q = t_req;
    if (!q || !q->trace_id[0])
        return; /* not a request's (prefill, idle reaping) */
    char parent[17], extra[1500];
    if (sp->parent)
        snprintf(parent, sizeof parent, "%016llx", (unsigned long long)sp->parent);
    else
        memcpy(parent, q->span_id, sizeof parent);
    size_t n = (size_t)snprintf(extra, sizeof extra, "\"span\":\"");
    gd_json_escape(extra, sizeof extra - 700, &n, sp->name ? sp->name : "?", sp->name ? strlen(sp->name) : 1);
    n += (size_t)snprintf(extra + n, sizeof extra - n, "\",\"function\":\"");
    if (sp->function)
        gd_json_escape(extra, sizeof extra - 600, &n, sp->function, strlen(sp->function));
    snprintf(extra + n, sizeof extra - n,
             "\",\"backend\":\"%s\",\"status\":\"%s\",\"duration_us\":%.1f,\"route\":\"%s\",\"owner\":\"%s\","
             "\"trace_id\":\"%s\",\"span_id\":\"%016llx\",\"parent_span_id\":\"%s\"",
             sp->backend ? sp->backend : "", glint_status_name(sp->status),
             (double)(sp->end_ns - sp->start_ns) / 1e3, q->route ? q->route->cfg->path : "",
             q->route ? q->route->owner->cfg->name : "", q->trace_id, (unsigned long long)sp->id, parent);
    gd_log("info", "span", extra);
}

void gd_server_set_spans(int on)
{
    glint_set_tracer(on ? span_log : NULL, NULL);
}

/* ---- glintd's own endpoints ------------------------------------------------------------------ */

static enum MHD_Result own_endpoint(struct MHD_Connection *c, struct req *q)
{
    if (!strcmp(q->own, "/livez"))
        return send_buf(c, q, 200, "text/plain", "ok\n", 3, 0);
    if (!strcmp(q->own, "/readyz")) {
        if (atomic_load(&gd_draining))
            return send_buf(c, q, 503, "text/plain", "draining\n", 9, 1);
        return send_buf(c, q, 200, "text/plain", "ready\n", 6, 0);
    }
    size_t n = 0;
    char *text = gd_metrics_render(q->st, &n);
    if (!text)
        return send_error(c, q, 503, "GLINT_E_NOMEM", "out of memory rendering the metrics", 0);
    enum MHD_Result ok = send_buf(c, q, 200, "text/plain; version=0.0.4; charset=utf-8", text, n, 0);
    free(text);
    return ok;
}

/* ---- MHD callbacks ------------------------------------------------------------------------------ */

/* A libmicrohttpd daemon and its thread (or, with threads 0, its thread
 * per connection). */
struct gd_handoff {
    struct gd_handoff *next;
    int fd;
    struct sockaddr_storage addr;
};

struct gd_worker {
    struct MHD_Daemon *d;
    atomic_uint conns; /* open connections (acceptor .. conn_notify CLOSED) */
    atomic_uint busy;  /* requests in progress (uri_cb .. completed) */
    /* Connections handed over whose STARTED has not come yet, oldest
     * first (handoff_started). */
    pthread_mutex_t lock;
    struct gd_handoff *head, **tail;
};

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    struct req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->w = cls;
    atomic_fetch_add(&q->w->busy, 1);
    q->t0 = gd_now_ns();
    q->uri = strdup(uri ? uri : "/");
    q->st = gd_current();
    atomic_fetch_add(&gd_in_flight, 1);
    return q;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version;
    struct req *q = *con_cls;
    if (!q || !q->uri)
        return MHD_NO; /* out of memory: MHD closes the connection */
    if (!q->started) {
        q->started = 1;
        conn_busy(c, BUSY_BODY);
        trace_start(c, q);
        q->method_bit = gd_method_bit(method, strlen(method));
        if (!strcmp(url, "/livez") || !strcmp(url, "/readyz") || !strcmp(url, "/metrics")) {
            q->own = !strcmp(url, "/livez") ? "/livez" : !strcmp(url, "/readyz") ? "/readyz" : "/metrics";
            if (q->method_bit != GD_GET && q->method_bit != GD_HEAD)
                q->early = 405, q->early_code = "GLINTD_METHOD", q->early_msg = "only GET and HEAD here";
            return MHD_YES;
        }
        if (atomic_load(&gd_draining)) {
            q->early = 503, q->early_code = "GLINTD_SHUTTING_DOWN", q->early_msg = "glintd is shutting down";
            return MHD_YES;
        }
        bool known = false;
        q->route = gd_route_find(q->st, url, q->method_bit, &known);
        if (!q->route) {
            if (!known)
                q->early = 404, q->early_code = "GLINTD_NO_ROUTE", q->early_msg = "no route for this path";
            else
                q->early = 405, q->early_code = "GLINTD_METHOD", q->early_msg = "the route does not take this method";
            return MHD_YES;
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > q->route->owner->cfg->max_body) {
            atomic_fetch_add(&q->route->owner->live->rejected_body, 1);
            char m[200];
            snprintf(m, sizeof m, "the body of %s bytes is over owner %s's limit of %zu", cl,
                     q->route->owner->cfg->name, q->route->owner->cfg->max_body);
            return send_error(c, q, 413, "GLINTD_BODY_TOO_LARGE", m, 1);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (q->early || q->own)
            return MHD_YES; /* read and dropped */
        /* libmicrohttpd 0.9.75 refuses a response queued while the body is
         * still coming (MHD_queue_response fails, and MHD_NO closes the
         * connection without an answer): an error found here is answered
         * at the end of the body, the rest of which is read and dropped. */
        size_t limit = q->route->owner->cfg->max_body;
        if (q->len + n > limit) {
            atomic_fetch_add(&q->route->owner->live->rejected_body, 1);
            snprintf(q->early_buf, sizeof q->early_buf, "the body is over owner %s's limit of %zu bytes",
                     q->route->owner->cfg->name, limit);
            free(q->body);
            q->body = NULL;
            q->len = q->cap = 0;
            q->early = 413, q->early_code = "GLINTD_BODY_TOO_LARGE", q->early_msg = q->early_buf;
            return MHD_YES;
        }
        if (q->len + n > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n)
                cap *= 2;
            if (cap > limit)
                cap = limit;
            char *b = realloc(q->body, cap);
            if (!b) {
                free(q->body);
                q->body = NULL;
                q->len = q->cap = 0;
                q->early = 503, q->early_code = "GLINT_E_NOMEM", q->early_msg = "out of memory reading the body";
                return MHD_YES;
            }
            q->body = b;
            q->cap = cap;
        }
        memcpy(q->body + q->len, upload, n);
        q->len += n;
        return MHD_YES;
    }
    conn_busy(c, BUSY_ANSWER); /* the whole request is in */
    if (q->status)
        return MHD_YES; /* already answered (413) */
    if (q->early)
        return send_error(c, q, q->early, q->early_code, q->early_msg, q->early == 503 || q->early == 413);
    if (q->own)
        return own_endpoint(c, q);
    return run_route(c, q, method, url);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    conn_busy(c, 0); /* waiting for the next request from now */
    struct req *q = *con_cls;
    if (!q)
        return;
    *con_cls = NULL;
    atomic_fetch_sub(&q->w->busy, 1);
    uint64_t dur = gd_now_ns() - q->t0;
    int status = q->status ? q->status : toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 499;
    if (status < 100 || status > 599)
        status = 599;
    if (q->route) {
        atomic_fetch_add_explicit(&q->route->m.by_code[status], 1, memory_order_relaxed);
        gd_hist_add(&q->route->m.duration, dur);
    } else if (!q->own) {
        atomic_fetch_add_explicit(&gd_unrouted[status], 1, memory_order_relaxed);
    }
    if (!q->own && q->started && q->st->cfg.access_log) {
        char line[2048];
        size_t n = (size_t)snprintf(line, sizeof line, "{\"type\":\"access\",\"status\":%d,\"uri\":\"", status);
        gd_json_escape(line, sizeof line - 600, &n, q->uri, strlen(q->uri) > 512 ? 512 : strlen(q->uri));
        n += (size_t)snprintf(line + n, sizeof line - n, "\"");
        if (q->route) {
            n += (size_t)snprintf(line + n, sizeof line - n, ",\"route\":\"");
            gd_json_escape(line, sizeof line - 400, &n, q->route->cfg->path, strlen(q->route->cfg->path));
            n += (size_t)snprintf(line + n, sizeof line - n,
                                  "\",\"owner\":\"%s\",\"mode\":\"%s\",\"glint\":\"%s\",\"cold\":%s,"
                                  "\"acquire_us\":%.1f,\"call_us\":%.1f,\"release_us\":%.1f",
                                  q->route->owner->cfg->name, gd_mode_name(q->route->cfg->mode),
                                  q->acquire_ns || q->call_ns ? glint_status_name(q->glint) : "",
                                  q->cold ? "true" : "false", (double)q->acquire_ns / 1e3,
                                  (double)q->call_ns / 1e3, (double)q->release_ns / 1e3);
        }
        if (n < sizeof line)
            n += (size_t)snprintf(line + n, sizeof line - n, ",\"duration_us\":%.1f", (double)dur / 1e3);
        if (n < sizeof line && q->trace_id[0])
            snprintf(line + n, sizeof line - n, ",\"trace_id\":\"%s\",\"span_id\":\"%s\",\"parent_span_id\":\"%s\"",
                     q->trace_id, q->span_id, q->parent_id);
        gd_log("info", "request", line + 1 < line + sizeof line ? line + 1 : "");
    }
    free(q->body);
    free(q->uri);
    gd_state_unref(q->st);
    free(q);
    atomic_fetch_sub(&gd_in_flight, 1);
}

/* ---- slow clients ----------------------------------------------------------------------------------------
 * libmicrohttpd's connection timeout counts only silence, so a client that
 * trickles a header byte every few hundred milliseconds would hold its
 * connection for as long as it likes.  Every connection is tracked from
 * the moment it waits for a request (it opens, or its last request ends)
 * until the request's headers are in; gd_server_reap_slow closes those
 * that waited longer than client_timeout_s. */

struct gd_conn {
    int fd;
    int busy;               /* 0: waiting for a request's headers; BUSY_BODY, BUSY_ANSWER */
    int reaped;             /* shut down once; libmicrohttpd closes it */
    uint64_t since_ns;
    struct gd_conn *prev, *next;
};

static pthread_mutex_t g_conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gd_conn *g_conns;

static void limits_release(const struct sockaddr *sa);
static void handoff_started(struct gd_worker *w, struct MHD_Connection *c);

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    struct gd_worker *w = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* What the acceptor counted when it handed the connection over. */
        const union MHD_ConnectionInfo *ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        limits_release(ai ? ai->client_addr : NULL);
        atomic_fetch_sub(&w->conns, 1);
    }
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        handoff_started(w, c);
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct gd_conn *g = calloc(1, sizeof *g);
        if (!g || !ci) {
            free(g);
            *socket_context = NULL;
            return;
        }
        g->fd = ci->connect_fd;
        g->since_ns = gd_now_ns();
        pthread_mutex_lock(&g_conns_lock);
        g->next = g_conns;
        if (g_conns)
            g_conns->prev = g;
        g_conns = g;
        pthread_mutex_unlock(&g_conns_lock);
        *socket_context = g;
        return;
    }
    struct gd_conn *g = *socket_context;
    if (!g)
        return;
    pthread_mutex_lock(&g_conns_lock);
    if (g->prev)
        g->prev->next = g->next;
    else
        g_conns = g->next;
    if (g->next)
        g->next->prev = g->prev;
    pthread_mutex_unlock(&g_conns_lock);
    free(g);
    *socket_context = NULL;
}

static struct gd_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void conn_busy(struct MHD_Connection *c, int busy)
{
    struct gd_conn *g = conn_of(c);
    if (!g)
        return;
    pthread_mutex_lock(&g_conns_lock);
    g->busy = busy;
    g->since_ns = gd_now_ns();
    pthread_mutex_unlock(&g_conns_lock);
}

unsigned gd_server_reap_slow(uint32_t timeout_s)
{
    uint64_t limit = (uint64_t)timeout_s * 1000000000ull;
    unsigned n = 0;
    pthread_mutex_lock(&g_conns_lock);
    /* The clock is read under the lock: a time read before it could be
     * older than a since_ns set meanwhile, and the difference would wrap
     * (that closed busy keep-alive connections under load). */
    uint64_t now = gd_now_ns();
    for (struct gd_conn *g = g_conns; g; g = g->next)
        if (g->busy != BUSY_ANSWER && !g->reaped && now > g->since_ns && now - g->since_ns > limit) {
            /* libmicrohttpd sees the connection fail and closes it; the
             * descriptor stays its to close (the lock keeps it open here). */
            shutdown(g->fd, SHUT_RDWR);
            g->reaped = 1;
            n++;
        }
    pthread_mutex_unlock(&g_conns_lock);
    return n;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    gd_log("warn", msg, "\"source\":\"libmicrohttpd\"");
}

/* ---- accepting -------------------------------------------------------------------------------------------
 * The connection limits, kept here across the workers: a connection is
 * counted when the acceptor hands it over and released when its worker
 * closes it (conn_notify), or found never to have started
 * (handoff_started).  At max_connections the acceptor stops accepting
 * until one closes; a connection over max_connections_per_ip it closes at
 * once, as libmicrohttpd did. */

struct ip_count {
    struct ip_count *next;
    uint8_t len, addr[16];
    uint32_t n;
};

#define IP_BUCKETS 1024u
static struct {
    pthread_mutex_t lock;
    uint32_t max_total, max_per_ip, total;
    struct ip_count *bucket[IP_BUCKETS];
} g_lim = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The client address's bytes (4 or 16); 0 for an address of another kind
 * (not limited per address). */
static uint8_t ip_key(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa && sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 4;
    }
    if (sa && sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 16;
    }
    return 0;
}

/* A random start for the hash, so that a client cannot choose addresses
 * that all fall in one bucket (gd_server_start). */
static uint32_t g_ip_seed;

static struct ip_count **ip_slot(const uint8_t *addr, uint8_t len)
{
    uint32_t h = 2166136261u ^ g_ip_seed;
    for (uint8_t i = 0; i < len; i++)
        h = (h ^ addr[i]) * 16777619u;
    struct ip_count **pp = &g_lim.bucket[h % IP_BUCKETS];
    while (*pp && ((*pp)->len != len || memcmp((*pp)->addr, addr, len)))
        pp = &(*pp)->next;
    return pp;
}

static atomic_ullong g_refused_per_ip;

/* At max_connections (the acceptor waits). */
static int limits_full(void)
{
    pthread_mutex_lock(&g_lim.lock);
    int full = g_lim.total >= g_lim.max_total;
    pthread_mutex_unlock(&g_lim.lock);
    return full;
}

void gd_server_set_limits(const struct gd_config *cfg)
{
    pthread_mutex_lock(&g_lim.lock);
    g_lim.max_total = cfg->max_connections;
    g_lim.max_per_ip = cfg->max_connections_per_ip;
    pthread_mutex_unlock(&g_lim.lock);
}

/* Counts a new connection from sa: 1, or 0 when it would go over the
 * limit per address (or there is no memory to count it). */
static int limits_take(const struct sockaddr *sa)
{
    uint8_t addr[16], len = ip_key(sa, addr);
    int ok = 0;
    pthread_mutex_lock(&g_lim.lock);
    if (g_lim.total < g_lim.max_total) { /* (limits_full said so: only the acceptor adds) */
        struct ip_count **pp = len ? ip_slot(addr, len) : NULL;
        if (!pp) {
            ok = 1;
        } else if (!*pp) {
            if ((*pp = calloc(1, sizeof **pp))) {
                (*pp)->len = len;
                memcpy((*pp)->addr, addr, len);
                (*pp)->n = 1;
                ok = 1;
            }
        } else if ((*pp)->n < g_lim.max_per_ip) {
            (*pp)->n++;
            ok = 1;
        } else {
            atomic_fetch_add(&g_refused_per_ip, 1);
        }
        g_lim.total += ok;
    }
    pthread_mutex_unlock(&g_lim.lock);
    return ok;
}

static void limits_release(const struct sockaddr *sa)
{
    uint8_t addr[16], len = ip_key(sa, addr);
    pthread_mutex_lock(&g_lim.lock);
    if (g_lim.total)
        g_lim.total--;
    struct ip_count **pp = len ? ip_slot(addr, len) : NULL;
    if (pp && *pp && --(*pp)->n == 0) {
        struct ip_count *e = *pp;
        *pp = e->next;
        free(e);
    }
    pthread_mutex_unlock(&g_lim.lock);
}

struct gd_server {
    struct gd_worker *w;
    unsigned nw;
    int lfd;     /* the listening socket, -1 once quiesced */
    int stopfd;  /* an eventfd: the acceptor stops when it is written */
    pthread_t acceptor;
    int running; /* the acceptor thread was started (and not yet joined) */
    unsigned port;
};

/* The running server, for gd_server_stats (one per process). */
static struct gd_server *_Atomic g_srv;

size_t gd_server_stats(unsigned *conns, size_t max, uint64_t *refused_per_ip)
{
    *refused_per_ip = atomic_load(&g_refused_per_ip);
    struct gd_server *s = atomic_load(&g_srv);
    size_t n = 0;
    for (; s && n < s->nw && n < max; n++)
        conns[n] = atomic_load(&s->w[n].conns);
    return n;
}

/*
 * A worker sets up the connections handed to it in the order they came
 * (libmicrohttpd: "Process new connections in FIFO order"), and one it
 * cannot set up (out of memory) it closes without a STARTED or a CLOSED.
 * So when a connection's STARTED comes, every one handed to that worker
 * before it that has not started never will: those are counted out here.
 * A connection is known by its descriptor and its client's address and
 * port (a dropped one's descriptor may be reused by a later connection).
 */
static void handoff_push(struct gd_worker *w, struct gd_handoff *h)
{
    pthread_mutex_lock(&w->lock);
    h->next = NULL;
    *w->tail = h;
    w->tail = &h->next;
    pthread_mutex_unlock(&w->lock);
}

/* Takes h back out (the hand-over failed). */
static void handoff_unpush(struct gd_worker *w, struct gd_handoff *h)
{
    pthread_mutex_lock(&w->lock);
    struct gd_handoff **pp = &w->head;
    while (*pp && *pp != h)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = h->next;
        if (w->tail == &h->next)
            w->tail = pp;
    }
    pthread_mutex_unlock(&w->lock);
}

static int same_peer(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (!b || a->ss_family != b->sa_family)
        return 0;
    if (b->sa_family == AF_INET)
        return !memcmp(a, b, sizeof(struct sockaddr_in));
    if (b->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
    }
    return 1;
}

static void handoff_started(struct gd_worker *w, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    int fd = fi ? fi->connect_fd : -1;
    const struct sockaddr *sa = ai ? ai->client_addr : NULL;
    struct gd_handoff *dropped = NULL, *mine = NULL;
    pthread_mutex_lock(&w->lock);
    struct gd_handoff *h = w->head;
    while (h && !(h->fd == fd && same_peer(&h->addr, sa)))
        h = h->next;
    if (h) { /* everything before h was dropped */
        dropped = w->head;
        w->head = h->next;
        if (!w->head)
            w->tail = &w->head;
        mine = h;
    }
    pthread_mutex_unlock(&w->lock);
    while (dropped && dropped != mine) {
        struct gd_handoff *next = dropped->next;
        limits_release((struct sockaddr *)&dropped->addr);
        atomic_fetch_sub(&w->conns, 1);
        free(dropped);
        dropped = next;
    }
    free(mine);
}

/* The worker for a new connection: the fewest requests in progress, then
 * the fewest connections; ties go round. */
static struct gd_worker *pick_worker(struct gd_server *s, unsigned *turn)
{
    struct gd_worker *best = NULL;
    unsigned bb = 0, bc = 0;
    for (unsigned k = 0; k < s->nw; k++) {
        struct gd_worker *w = &s->w[(*turn + k) % s->nw];
        unsigned b = atomic_load(&w->busy), c = atomic_load(&w->conns);
        if (!best || b < bb || (b == bb && c < bc))
            best = w, bb = b, bc = c;
    }
    (*turn)++;
    return best;
}

/* Accepts until stopfd is written, each connection counted against the
 * limits and given to a worker.  Out of descriptors or memory, it waits a
 * little and tries again (the connection waits in the kernel's backlog
 * meanwhile). */
static void *acceptor_main(void *arg)
{
    struct gd_server *s = arg;
    uint64_t last_warn = 0;
    unsigned turn = 0;
    for (;;) {
        struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->stopfd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            gd_log("error", "accept: poll failed; no new connections", NULL);
            return NULL;
        }
        if (p[1].revents)
            return NULL;
        for (int n = 0; n < 64; n++) { /* then look at stopfd again */
            if (limits_full()) {
                /* At max_connections the next ones wait in the listen
                 * backlog (as libmicrohttpd's workers let them) until one
                 * closes. */
                struct pollfd q = {s->stopfd, POLLIN, 0};
                if (poll(&q, 1, 10) > 0)
                    return NULL;
                break;
            }
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            int fd = accept4(s->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    uint64_t now = gd_now_ns();
                    if (now - last_warn > 1000000000ull) {
                        char extra[100];
                        snprintf(extra, sizeof extra, "\"errno\":\"%s\"", strerror(errno));
                        gd_log("warn", "accept: out of descriptors or memory; retrying in 10 ms", extra);
                        last_warn = now;
                    }
                    struct pollfd q = {s->stopfd, POLLIN, 0};
                    if (poll(&q, 1, 10) > 0)
                        return NULL;
                }
                break; /* EAGAIN, or a connection that went away (ECONNABORTED, ...) */
            }
            if (!limits_take((struct sockaddr *)&ss)) {
                close(fd);
                continue;
            }
            struct gd_handoff *h = malloc(sizeof *h);
            if (!h) {
                limits_release((struct sockaddr *)&ss);
                close(fd);
                continue;
            }
            h->fd = fd;
            h->addr = ss;
            struct gd_worker *w = pick_worker(s, &turn);
            atomic_fetch_add(&w->conns, 1); /* now: the next pick sees it */
            handoff_push(w, h);
            /* On failure libmicrohttpd has closed fd (and logged why). */
            if (MHD_add_connection(w->d, fd, (const struct sockaddr *)&ss, len) != MHD_YES) {
                handoff_unpush(w, h);
                free(h);
                atomic_fetch_sub(&w->conns, 1);
                limits_release((struct sockaddr *)&ss);
            }
        }
    }
}

/* The listening socket (non-blocking, close-on-exec): fd, or -1 with err. */
static int listen_on(const struct gd_config *cfg, char *err, size_t err_size)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (inet_pton(AF_INET, cfg->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(cfg->port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, cfg->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(cfg->port);
        len = sizeof *v6;
    } else {
        snprintf(err, err_size, "%s: listen: '%s' is not a numeric IPv4 or IPv6 address", cfg->file, cfg->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
        snprintf(err, err_size, "cannot listen on %s:%u: %s", cfg->host, cfg->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

struct gd_server *gd_server_start(const struct gd_config *cfg, char *err, size_t err_size)
{
    struct gd_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory starting the server");
        return NULL;
    }
    s->stopfd = -1;
    if (getrandom(&g_ip_seed, sizeof g_ip_seed, GRND_NONBLOCK) != (ssize_t)sizeof g_ip_seed)
        g_ip_seed = (uint32_t)gd_now_ns();
    if ((s->lfd = listen_on(cfg, err, err_size)) < 0)
        goto fail;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(s->lfd, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(err, err_size, "cannot listen on %s:%u: getsockname: %s", cfg->host, cfg->port, strerror(errno));
        goto fail;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    if ((s->stopfd = eventfd(0, EFD_CLOEXEC)) < 0) {
        snprintf(err, err_size, "cannot start the server: eventfd: %s", strerror(errno));
        goto fail;
    }
    /* threads 0: a thread per connection, so a slow guest call delays only
     * its own connection; N: N workers over epoll, each serving many
     * connections (a slow call delays the others of its worker). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
    flags |= cfg->threads ? MHD_USE_EPOLL : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    gd_server_set_limits(cfg);
    s->nw = cfg->threads ? cfg->threads : 1;
    if (!(s->w = calloc(s->nw, sizeof *s->w))) {
        snprintf(err, err_size, "out of memory starting the server");
        goto fail;
    }
    for (unsigned i = 0; i < s->nw; i++) {
        pthread_mutex_init(&s->w[i].lock, NULL);
        s->w[i].tail = &s->w[i].head;
    }
    for (unsigned i = 0; i < s->nw; i++) {
        struct gd_worker *w = &s->w[i];
        w->d = MHD_start_daemon(
            flags, 0, NULL, NULL, handle, NULL,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, to catch the others' warnings */
            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
            MHD_OPTION_NOTIFY_CONNECTION, conn_notify, w,
            /* The limits are the acceptor's (a reload may raise them):
             * libmicrohttpd's only as high as the configuration allows. */
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)GD_MAX_CONNECTIONS_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->client_timeout_s,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header_bytes + 4096,
            MHD_OPTION_URI_LOG_CALLBACK, uri_cb, w,
            MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
            MHD_OPTION_END);
        if (!w->d) {
            snprintf(err, err_size, "cannot start the HTTP server on %s:%u: %s", cfg->host, s->port,
                     strerror(errno));
            goto fail;
        }
    }
    int rc = pthread_create(&s->acceptor, NULL, acceptor_main, s);
    if (rc != 0) {
        snprintf(err, err_size, "cannot start the acceptor thread: %s", strerror(rc));
        goto fail;
    }
    pthread_setname_np(s->acceptor, "glintd-accept");
    s->running = 1;
    atomic_store(&g_srv, s);
    return s;
fail:
    gd_server_stop(s);
    return NULL;
}

unsigned gd_server_port(const struct gd_server *s)
{
    return s->port;
}

void gd_server_quiesce(struct gd_server *s)
{
    if (s->running) {
        uint64_t one = 1;
        ssize_t w = write(s->stopfd, &one, sizeof one);
        (void)w; /* an eventfd write of 1 cannot fail here */
        pthread_join(s->acceptor, NULL);
        s->running = 0;
    }
    if (s->lfd >= 0) {
        close(s->lfd);
        s->lfd = -1;
    }
}

void gd_server_stop(struct gd_server *s)
{
    if (!s)
        return;
    gd_server_quiesce(s);
    for (unsigned i = 0; s->w && i < s->nw; i++)
        if (s->w[i].d)
            MHD_stop_daemon(s->w[i].d);
    atomic_store(&g_srv, NULL); /* no worker reads it now */
    for (unsigned i = 0; s->w && i < s->nw; i++) {
        /* Handed over, never set up (libmicrohttpd closed them at stop). */
        while (s->w[i].head) {
            struct gd_handoff *h = s->w[i].head;
            s->w[i].head = h->next;
            limits_release((struct sockaddr *)&h->addr);
            free(h);
        }
        pthread_mutex_destroy(&s->w[i].lock);
    }
    free(s->w);
    if (s->stopfd >= 0)
        close(s->stopfd);
    free(s);
}
