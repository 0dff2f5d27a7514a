/*
 * config.h - glintd's configuration: one YAML file (docs/glintd.md), read
 * with libyaml and checked completely before anything starts.  Every error
 * names the file, the line and the key, and says what is wrong.
 */
#ifndef GLINTD_CONFIG_H
#define GLINTD_CONFIG_H

/* The most server.max_connections (and _per_ip) may be. */
#define GD_MAX_CONNECTIONS_LIMIT 1000000u

#include <stddef.h>
#include <stdint.h>

#include <glint/glint.h>

enum gd_mode { GD_PRISTINE, GD_WARM, GD_FRESH };
enum gd_bind { GD_BIND_HTTP, GD_BIND_TYPED };
enum gd_result { GD_RESULT_JSON, GD_RESULT_RAW };

/* HTTP methods a route accepts (a bit each). */
enum {
    GD_GET = 1u << 0, GD_HEAD = 1u << 1, GD_POST = 1u << 2, GD_PUT = 1u << 3,
    GD_DELETE = 1u << 4, GD_PATCH = 1u << 5, GD_OPTIONS = 1u << 6,
};

/* Host functions a route may grant. */
enum { GD_GRANT_PRINT = 1u << 0 };

struct gd_owner {
    char *name;
    glint_config guest;       /* heap, stack, input, output, timeout_ms, backend */
    uint32_t max_concurrency; /* sandboxes in use at once, over all its routes */
    uint32_t max_idle;        /* idle pooled sandboxes kept per route */
    double rate, burst;       /* requests per second, token bucket; rate 0 = no limit */
    size_t max_body;          /* request body limit, bytes */
};

struct gd_route {
    char *path;
    int prefix;               /* match: prefix (else exact) */
    unsigned methods;         /* GD_GET | ... */
    size_t owner;             /* index into gd_config.owners */
    char *guest;              /* ELF or snapshot file */
    char *function;
    enum gd_mode mode;
    enum gd_bind bind;
    enum gd_result result;    /* typed routes: JSON or the raw string/bytes */
    uint32_t idle_timeout_s;  /* scale to zero; 0 = keep */
    uint32_t prefill;
    unsigned grants;          /* GD_GRANT_* */
    unsigned log_level;       /* guest glint_log messages kept: GLINT_LOG_* (default warn) */
    int line;                 /* where it is in the file */
    int guest_line, function_line; /* where its guest and function keys are */
};

struct gd_config {
    char *file;
    char host[256];           /* listen address (numeric IPv4 or IPv6) */
    uint16_t port;
    int backend;              /* glint_backend */
    uint32_t threads;         /* 0: a thread per connection; N: N workers over epoll */
    uint32_t max_connections, max_connections_per_ip;
    uint32_t max_header_bytes;
    uint32_t client_timeout_s;
    uint32_t shutdown_grace_s;
    int access_log;           /* a JSON line per request on stderr */
    int spans;                /* a JSON line per library span of a request (glint's tracing) */
    struct gd_owner *owners;
    size_t nowners;
    struct gd_route *routes;
    size_t nroutes;
};

/* Reads and checks `path`.  0 on success; -1 with a one-line message in
 * err ("FILE:LINE: KEY: what is wrong") otherwise. */
int gd_config_load(const char *path, struct gd_config *out, char *err, size_t err_size);
void gd_config_free(struct gd_config *c);

/* "GET", ... for one GD_* bit; the bit for a method name (0 if unknown). */
unsigned gd_method_bit(const char *name, size_t len);
const char *gd_mode_name(enum gd_mode m);

#endif
