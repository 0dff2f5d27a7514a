/*
 * glintd.h - the gateway's run-time state: what a configuration becomes
 * once its snapshots are loaded and its pools made (route.c), the metrics
 * (metrics.c), the HTTP side (server.c) and the process (main.c).
 *
 * A configuration lives in a `struct gd_state`, reference counted: every
 * request holds the state it started under, so a reload (SIGHUP) swaps in a
 * new one while requests on the old one finish, and the old one is freed
 * by whoever drops its last reference.
 */
#ifndef GLINTD_H
#define GLINTD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glint/glint.h>

#include "config.h"

#define GD_VERSION "0.1.0"

/* ---- metrics ------------------------------------------------------------ */

#define GD_NBUCKETS 16
extern const double gd_buckets[GD_NBUCKETS]; /* seconds; +Inf is the count */

struct gd_hist {
    atomic_ullong bucket[GD_NBUCKETS];
    atomic_ullong count;
    atomic_ullong sum_ns;
};
void gd_hist_add(struct gd_hist *h, uint64_t ns);

struct gd_route_metrics {
    atomic_ullong by_code[600];       /* requests by HTTP status */
    atomic_ullong failures[64];       /* guest failures by glint_status */
    struct gd_hist duration;          /* whole request, first byte in to response queued */
    struct gd_hist acquire;           /* getting a sandbox */
    struct gd_hist call;              /* the guest call */
    struct gd_hist release;           /* restore / give back */
    struct gd_hist cold_start;        /* acquires that found the route at zero sandboxes */
    atomic_ullong prints, prints_dropped;
};

/* ---- run time ----------------------------------------------------------- */

/* What an owner's limits count, shared by every configuration that names
 * the owner (a reload passes it on by name), so that requests still running
 * under the old configuration count against the new one's limits and a
 * reload neither refills the token bucket nor restarts the counters. */
struct gd_owner_live {
    atomic_int refs;
    atomic_uint in_use;               /* sandboxes in use now, all routes */
    pthread_mutex_t lock;             /* the token bucket */
    double tokens;
    uint64_t last_ns;
    atomic_ullong rejected_rate, rejected_concurrency, rejected_body;
};

struct gd_owner_rt {
    const struct gd_owner *cfg;
    struct gd_owner_live *live;
};

struct gd_route_rt {
    const struct gd_route *cfg;
    struct gd_owner_rt *owner;
    struct gd_state *state;
    glint_snapshot *snap;
    glint_backend backend;
    size_t fn_index;
    glint_function fn;                /* signature (name points into snap) */
    glint_host_function host[1];      /* print, granted or refusing */
    glint_pool *pool;                 /* pristine and fresh */
    /* warm: sandboxes kept across requests */
    pthread_mutex_t warm_lock;
    struct gd_warm {
        glint_sandbox *sb;
        uint64_t used_ns;
        int cpu; /* the CPU it was given back on */
    } *warm;
    size_t nwarm, warm_cap;
    atomic_uint warm_live;
    struct gd_route_metrics m;
};

struct gd_state {
    atomic_int refs;
    struct gd_state *next_free; /* gd_state_free_pending's list */
    struct gd_config cfg;
    struct gd_owner_rt *owners;
    struct gd_route_rt *routes;
    uint64_t generation;
};

/* Builds the run-time state of `cfg` (taken over: freed with the state):
 * snapshots loaded or made, pools created; each owner also named in `prev`
 * (the state it replaces, or NULL) keeps its live counters (struct
 * gd_owner_live).  NULL with a message in err. */
struct gd_state *gd_state_build(struct gd_config *cfg, uint64_t generation, struct gd_state *prev, char *err,
                                size_t err_size);
struct gd_state *gd_state_ref(struct gd_state *s);
/* The thread that frees states (glintd's main thread; gd_state_unref on any
 * other leaves the last reference's teardown, which stops pools and
 * destroys sandboxes, to gd_state_free_pending there).  Unset: freed at once. */
void gd_state_set_owner_thread(void);
/* Frees the states whose last reference went on another thread. */
void gd_state_free_pending(void);
void gd_state_unref(struct gd_state *s);
/* Destroys warm sandboxes idle longer than their route's idle_timeout_s. */
void gd_state_reap_idle(struct gd_state *s);

/* The route for `method` and `path`: NULL if none; *method_ok false when a
 * route has the path but not the method (405). */
struct gd_route_rt *gd_route_find(struct gd_state *s, const char *path, unsigned method_bit,
                                  bool *path_known);

/* A sandbox for one request, and its return.  acquire fills *cold when the
 * route had no sandbox ready (a cold start). */
glint_status gd_route_acquire(struct gd_route_rt *r, glint_sandbox **out, bool *cold,
                              glint_error *err);
void gd_route_release(struct gd_route_rt *r, glint_sandbox *sb);
/* Sandboxes live (in use + idle) and idle now. */
void gd_route_counts(struct gd_route_rt *r, size_t *live, size_t *idle);

/* ---- process-wide ------------------------------------------------------- */

/* The state requests start under now (a new reference). */
struct gd_state *gd_current(void);

extern atomic_uint gd_in_flight;
extern atomic_bool gd_draining;
extern atomic_ullong gd_unrouted[600]; /* requests that matched no route, by status */
extern atomic_ullong gd_reloads_ok, gd_reloads_failed;

/* Monotonic nanoseconds. */
uint64_t gd_now_ns(void);

/* One JSON log line on stderr: {"ts":..,"level":..,"msg":..,<extra>}
 * where `extra` is already JSON ("key":value,...) or NULL. */
void gd_log(const char *level, const char *msg, const char *extra);
/* Appends `s` (n bytes) as a JSON string body (without quotes) to buf at
 * *len, escaping; never past size - 1. */
void gd_json_escape(char *buf, size_t size, size_t *len, const char *s, size_t n);

/* Prometheus text of everything. Returns malloc'd text, *len set. */
char *gd_metrics_render(struct gd_state *s, size_t *len);

/* A guest's HTTP response (<glint/http.h>), checked (wire.c). */
struct gd_response {
    const uint8_t *p;
    uint32_t status, nheaders;
    uint32_t hdr[128];                /* offsets of the headers (GLINT_HTTP_MAX_HEADERS) */
    const uint8_t *body;
    uint32_t body_len;
};
/* NULL when p[0..n) is a well-formed response (*r filled), else what is wrong. */
const char *gd_response_parse(const uint8_t *p, size_t n, struct gd_response *r);
/* Header i as NUL-terminated strings (name: 256 bytes, value: 4096). */
void gd_response_header(const struct gd_response *r, uint32_t i, char *name, char *value);

/* HTTP server (server.c): glintd's own listening socket and acceptor
 * thread, which hands each connection to libmicrohttpd's workers. */
struct gd_server;
/* NULL, with a message in err, when it cannot listen or start. */
struct gd_server *gd_server_start(const struct gd_config *cfg, char *err, size_t err_size);
/* The port it listens on (the configured one, or the kernel's pick for 0). */
unsigned gd_server_port(const struct gd_server *s);
/* The connection limits (server.max_connections, max_connections_per_ip):
 * at start, and again on a reload (connections over a lowered limit stay). */
void gd_server_set_limits(const struct gd_config *cfg);
/* Stops accepting and closes the listening socket (connections go on). */
void gd_server_quiesce(struct gd_server *s);
/* Quiesces, closes every connection and frees s. */
void gd_server_stop(struct gd_server *s);
/* For /metrics: open connections per worker (up to max; returns how many
 * workers), and connections closed when accepted, over the limit per
 * client address. */
size_t gd_server_stats(unsigned *conns, size_t max, uint64_t *refused_per_ip);
/* Closes connections that have waited longer than timeout_s for a
 * request's headers (a slowloris trickle); returns how many. */
unsigned gd_server_reap_slow(uint32_t timeout_s);
/* server.spans: glint's spans of each request (pool acquire, create, call,
 * host calls, restore, the guest's own) as log lines in its trace. */
void gd_server_set_spans(int on);

#endif
