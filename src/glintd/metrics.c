/*
 * metrics.c - glintd's metrics in the Prometheus text format (base units,
 * _total counters, labels bounded by the configuration: route, owner, HTTP
 * status, failure kind), and its JSON log lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glintd.h"

const double gd_buckets[GD_NBUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};

void gd_hist_add(struct gd_hist *h, uint64_t ns)
{
    double s = (double)ns / 1e9;
    for (int i = 0; i < GD_NBUCKETS; i++)
        if (s <= gd_buckets[i]) {
            atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void gd_json_escape(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t l = *len;
    for (size_t i = 0; i < n && l + 7 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf[l++] = '\\';
            buf[l++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            buf[l++] = '\\';
            buf[l++] = 'u';
            buf[l++] = '0';
            buf[l++] = '0';
            buf[l++] = hex[ch >> 4];
            buf[l++] = hex[ch & 15];
        } else {
            buf[l++] = (char)ch; /* UTF-8 passes through */
        }
    }
    buf[l < size ? l : size - 1] = 0;
    *len = l;
}

void gd_log(const char *level, const char *msg, const char *extra)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[8192];
    size_t n = (size_t)snprintf(line, sizeof line,
                                "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"level\":\"%s\",\"msg\":\"",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                                tm.tm_sec, ts.tv_nsec / 1000, level);
    gd_json_escape(line, sizeof line, &n, msg, strlen(msg));
    n += (size_t)snprintf(line + n, n < sizeof line ? sizeof line - n : 0, "\"%s%s}\n",
                          extra ? "," : "", extra ? extra : "");
    if (n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    fwrite(line, 1, n, stderr);
}

/* ---- Prometheus text -------------------------------------------------------- */

struct out {
    char *p;
    size_t len, cap;
    int oom;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    for (;;) {
        if (o->oom)
            return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)(n > 0 ? n : 0) + 1024;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->oom = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

/* A label value: \, " and newline escaped. */
static const char *lv(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; *s && n + 3 < size; s++) {
        if (*s == '\\' || *s == '"')
            buf[n++] = '\\', buf[n++] = *s;
        else if (*s == '\n')
            buf[n++] = '\\', buf[n++] = 'n';
        else
            buf[n++] = *s;
    }
    buf[n] = 0;
    return buf;
}

static void hist(struct out *o, const char *name, const char *labels, const struct gd_hist *h)
{
    unsigned long long cum = 0;
    for (int i = 0; i < GD_NBUCKETS; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        put(o, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, gd_buckets[i], cum);
    }
    unsigned long long count = atomic_load_explicit(&h->count, memory_order_relaxed);
    put(o, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, count);
    put(o, "%s_sum{%s} %.9f\n", name, labels,
        (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
    put(o, "%s_count{%s} %llu\n", name, labels, count);
}

static void lower(char *dst, const char *src, size_t size)
{
    size_t i = 0;
    if (!strncmp(src, "GLINT_E_", 8))
        src += 8;
    for (; src[i] && i + 1 < size; i++)
        dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
    dst[i] = 0;
}

/* ---- the library's pool metrics (glint_pool_get_metrics), per pooled route ---- */

static void lib_hist(struct out *o, const char *name, const char *labels, const glint_histogram *h)
{
    unsigned long long cum = 0;
    for (unsigned i = 0; i + 1 < GLINT_HIST_BUCKETS; i++) {
        cum += h->buckets[i];
        put(o, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
            (double)glint_histogram_bucket_bound_ns(i) / 1e9, cum);
    }
    put(o, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)h->count);
    put(o, "%s_sum{%s} %.9f\n", name, labels, (double)h->sum_ns / 1e9);
    put(o, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
}

/* Labels: route and owner (bounded by the configuration), and a result or
 * a status (bounded by glint's statuses). */
static void pool_series(struct out *o, struct gd_state *s)
{
    size_t n = s->cfg.nroutes;
    glint_pool_metrics *m = n ? calloc(n, sizeof *m) : NULL;
    glint_pool_stats *ps = n ? calloc(n, sizeof *ps) : NULL;
    char (*lb)[700] = n ? calloc(n, sizeof *lb) : NULL;
    if (n && (!m || !ps || !lb)) {
        free(m), free(ps), free(lb);
        o->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct gd_route_rt *r = &s->routes[i];
        char rb[300], ob[300];
        if (r->pool) {
            glint_pool_get_metrics(r->pool, &m[i]);
            glint_pool_get_stats(r->pool, &ps[i]);
        }
        snprintf(lb[i], sizeof lb[i], "route=\"%s\",owner=\"%s\"", lv(r->cfg->path, rb, sizeof rb),
                 lv(r->owner->cfg->name, ob, sizeof ob));
    }
#define EACH_POOL for (size_t i = 0; i < n; i++) if (s->routes[i].pool)
    put(o, "# HELP glintd_pool_acquires_total Sandboxes acquired from a route's pool, by result (hit: one was ready; miss: one was made; failed).\n");
    put(o, "# TYPE glintd_pool_acquires_total counter\n");
    EACH_POOL {
        put(o, "glintd_pool_acquires_total{%s,result=\"hit\"} %llu\n", lb[i], (unsigned long long)m[i].hits);
        put(o, "glintd_pool_acquires_total{%s,result=\"miss\"} %llu\n", lb[i], (unsigned long long)m[i].misses);
        put(o, "glintd_pool_acquires_total{%s,result=\"failed\"} %llu\n", lb[i],
            (unsigned long long)m[i].acquire_failures);
    }
    put(o, "# HELP glintd_pool_releases_total Sandboxes given back to a route's pool, by result (failed: the restore failed and it was destroyed).\n");
    put(o, "# TYPE glintd_pool_releases_total counter\n");
    EACH_POOL {
        put(o, "glintd_pool_releases_total{%s,result=\"ok\"} %llu\n", lb[i],
            (unsigned long long)(m[i].releases - m[i].release_failures));
        put(o, "glintd_pool_releases_total{%s,result=\"failed\"} %llu\n", lb[i],
            (unsigned long long)m[i].release_failures);
    }
    put(o, "# HELP glintd_pool_sandboxes_total Sandboxes (VMs or processes) a route's pool created and destroyed.\n");
    put(o, "# TYPE glintd_pool_sandboxes_total counter\n");
    EACH_POOL {
        put(o, "glintd_pool_sandboxes_total{%s,event=\"created\"} %llu\n", lb[i], (unsigned long long)ps[i].created);
        put(o, "glintd_pool_sandboxes_total{%s,event=\"destroyed\"} %llu\n", lb[i],
            (unsigned long long)ps[i].destroyed);
    }
    put(o, "# HELP glintd_pool_calls_total Guest calls on a route's pooled sandboxes (counted when each is given back), by status.\n");
    put(o, "# TYPE glintd_pool_calls_total counter\n");
    EACH_POOL {
        for (unsigned st = 0; st < GLINT_STATUS_SLOTS; st++) {
            if (!m[i].sandboxes.by_status[st])
                continue;
            char kind[64];
            lower(kind, glint_status_name((glint_status)st), sizeof kind);
            put(o, "glintd_pool_calls_total{%s,status=\"%s\"} %llu\n", lb[i], st ? kind : "ok",
                (unsigned long long)m[i].sandboxes.by_status[st]);
        }
    }
    put(o, "# HELP glintd_pool_host_calls_total Host functions the guests of a route's pool called, by result.\n");
    put(o, "# TYPE glintd_pool_host_calls_total counter\n");
    EACH_POOL {
        const glint_sandbox_stats *st = &m[i].sandboxes;
        put(o, "glintd_pool_host_calls_total{%s,result=\"ok\"} %llu\n", lb[i],
            (unsigned long long)(st->host_calls - st->host_call_failures));
        put(o, "glintd_pool_host_calls_total{%s,result=\"failed\"} %llu\n", lb[i],
            (unsigned long long)st->host_call_failures);
        put(o, "glintd_pool_host_calls_total{%s,result=\"refused\"} %llu\n", lb[i],
            (unsigned long long)st->host_calls_refused);
    }
    static const struct {
        const char *name, *help;
        int which;
    } hs[] = {
        {"glintd_pool_acquire_seconds", "glint_pool_acquire's time, by route (the library's log-scale buckets).", 0},
        {"glintd_pool_release_seconds", "glint_pool_release's time (the restore), by route.", 1},
        {"glintd_pool_call_seconds", "Guest calls on a route's pooled sandboxes, by route.", 2},
    };
    for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) {
        put(o, "# HELP %s %s\n# TYPE %s histogram\n", hs[k].name, hs[k].help, hs[k].name);
        EACH_POOL lib_hist(o, hs[k].name, lb[i],
                           hs[k].which == 0   ? &m[i].acquire_duration
                           : hs[k].which == 1 ? &m[i].release_duration
                                              : &m[i].sandboxes.call_duration);
    }
#undef EACH_POOL
    free(m), free(ps), free(lb);
}

char *gd_metrics_render(struct gd_state *s, size_t *len)
{
    struct out o = {malloc(16384), 0, 16384, 0};
    if (!o.p)
        return NULL;
    char rb[300], ob[300], labels[700];

    put(&o, "# HELP glintd_requests_total HTTP requests answered, by route, owner and status code.\n");
    put(&o, "# TYPE glintd_requests_total counter\n");
    for (int code = 100; code < 600; code++) {
        unsigned long long v = atomic_load_explicit(&gd_unrouted[code], memory_order_relaxed);
        if (v)
            put(&o, "glintd_requests_total{route=\"\",owner=\"\",code=\"%d\"} %llu\n", code, v);
    }
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        struct gd_route_rt *r = &s->routes[i];
        lv(r->cfg->path, rb, sizeof rb), lv(r->owner->cfg->name, ob, sizeof ob);
        for (int code = 100; code < 600; code++) {
            unsigned long long v = atomic_load_explicit(&r->m.by_code[code], memory_order_relaxed);
            if (v)
                put(&o, "glintd_requests_total{route=\"%s\",owner=\"%s\",code=\"%d\"} %llu\n", rb, ob, code, v);
        }
    }
    static const struct {
        const char *name, *help;
        size_t off;
    } hs[] = {
        {"glintd_request_duration_seconds", "Time from a request's arrival to its response, by route.",
         offsetof(struct gd_route_metrics, duration)},
        {"glintd_sandbox_acquire_seconds", "Time to get a sandbox for a request, by route.",
         offsetof(struct gd_route_metrics, acquire)},
        {"glintd_guest_call_seconds", "Time of the guest call, by route.",
         offsetof(struct gd_route_metrics, call)},
        {"glintd_sandbox_release_seconds", "Time to give a sandbox back (restore it, or destroy it), by route.",
         offsetof(struct gd_route_metrics, release)},
        {"glintd_cold_start_seconds", "Acquires that found no sandbox ready (the first request after scale to zero): time to make one, by route.",
         offsetof(struct gd_route_metrics, cold_start)},
    };
    for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) {
        put(&o, "# HELP %s %s\n# TYPE %s histogram\n", hs[k].name, hs[k].help, hs[k].name);
        for (size_t i = 0; i < s->cfg.nroutes; i++) {
            struct gd_route_rt *r = &s->routes[i];
            snprintf(labels, sizeof labels, "route=\"%s\",owner=\"%s\"", lv(r->cfg->path, rb, sizeof rb),
                     lv(r->owner->cfg->name, ob, sizeof ob));
            hist(&o, hs[k].name, labels, (const struct gd_hist *)((const char *)&r->m + hs[k].off));
        }
    }
    put(&o, "# HELP glintd_sandboxes Sandboxes of a route now: live (in use or idle) and idle.\n");
    put(&o, "# TYPE glintd_sandboxes gauge\n");
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        struct gd_route_rt *r = &s->routes[i];
        size_t live, idle;
        gd_route_counts(r, &live, &idle);
        lv(r->cfg->path, rb, sizeof rb), lv(r->owner->cfg->name, ob, sizeof ob);
        put(&o, "glintd_sandboxes{route=\"%s\",owner=\"%s\",state=\"live\"} %zu\n", rb, ob, live);
        put(&o, "glintd_sandboxes{route=\"%s\",owner=\"%s\",state=\"idle\"} %zu\n", rb, ob, idle);
    }
    put(&o, "# HELP glintd_guest_failures_total Guest calls that failed, by route and kind.\n");
    put(&o, "# TYPE glintd_guest_failures_total counter\n");
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        struct gd_route_rt *r = &s->routes[i];
        lv(r->cfg->path, rb, sizeof rb), lv(r->owner->cfg->name, ob, sizeof ob);
        for (int st = 1; st < 64; st++) {
            unsigned long long v = atomic_load_explicit(&r->m.failures[st], memory_order_relaxed);
            if (!v)
                continue;
            char kind[64];
            lower(kind, glint_status_name((glint_status)st), sizeof kind);
            put(&o, "glintd_guest_failures_total{route=\"%s\",owner=\"%s\",kind=\"%s\"} %llu\n", rb, ob,
                kind, v);
        }
    }
    put(&o, "# HELP glintd_time_limit_hits_total Guest calls stopped by their time limit, by route.\n");
    put(&o, "# TYPE glintd_time_limit_hits_total counter\n");
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        struct gd_route_rt *r = &s->routes[i];
        put(&o, "glintd_time_limit_hits_total{route=\"%s\",owner=\"%s\"} %llu\n",
            lv(r->cfg->path, rb, sizeof rb), lv(r->owner->cfg->name, ob, sizeof ob),
            (unsigned long long)atomic_load(&r->m.failures[GLINT_E_TIMEOUT]));
    }
    put(&o, "# HELP glintd_guest_prints_total Lines the guests printed (print host function), and those dropped past 64 per call.\n");
    put(&o, "# TYPE glintd_guest_prints_total counter\n");
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        struct gd_route_rt *r = &s->routes[i];
        lv(r->cfg->path, rb, sizeof rb), lv(r->owner->cfg->name, ob, sizeof ob);
        put(&o, "glintd_guest_prints_total{route=\"%s\",owner=\"%s\",result=\"logged\"} %llu\n", rb, ob,
            (unsigned long long)atomic_load(&r->m.prints));
        put(&o, "glintd_guest_prints_total{route=\"%s\",owner=\"%s\",result=\"dropped\"} %llu\n", rb, ob,
            (unsigned long long)atomic_load(&r->m.prints_dropped));
    }
    pool_series(&o, s);
    put(&o, "# HELP glintd_owner_rejections_total Requests refused for an owner's limits, by reason.\n");
    put(&o, "# TYPE glintd_owner_rejections_total counter\n");
    for (size_t i = 0; i < s->cfg.nowners; i++) {
        struct gd_owner_rt *w = &s->owners[i];
        lv(w->cfg->name, ob, sizeof ob);
        put(&o, "glintd_owner_rejections_total{owner=\"%s\",reason=\"rate\"} %llu\n", ob,
            (unsigned long long)atomic_load(&w->live->rejected_rate));
        put(&o, "glintd_owner_rejections_total{owner=\"%s\",reason=\"concurrency\"} %llu\n", ob,
            (unsigned long long)atomic_load(&w->live->rejected_concurrency));
        put(&o, "glintd_owner_rejections_total{owner=\"%s\",reason=\"body_size\"} %llu\n", ob,
            (unsigned long long)atomic_load(&w->live->rejected_body));
    }
    put(&o, "# HELP glintd_owner_sandboxes_in_use Sandboxes an owner's requests use now.\n");
    put(&o, "# TYPE glintd_owner_sandboxes_in_use gauge\n");
    for (size_t i = 0; i < s->cfg.nowners; i++)
        put(&o, "glintd_owner_sandboxes_in_use{owner=\"%s\"} %u\n", lv(s->owners[i].cfg->name, ob, sizeof ob),
            atomic_load(&s->owners[i].live->in_use));
    put(&o, "# HELP glintd_requests_in_flight Requests being handled now.\n");
    put(&o, "# TYPE glintd_requests_in_flight gauge\n");
    put(&o, "glintd_requests_in_flight %u\n", atomic_load(&gd_in_flight));
    {
        unsigned conns[256];
        uint64_t rp;
        size_t nw = gd_server_stats(conns, sizeof conns / sizeof conns[0], &rp);
        put(&o, "# HELP glintd_connections Open client connections, by worker (server.threads).\n");
        put(&o, "# TYPE glintd_connections gauge\n");
        for (size_t i = 0; i < nw; i++)
            put(&o, "glintd_connections{worker=\"%zu\"} %u\n", i, conns[i]);
        put(&o, "# HELP glintd_connections_refused_total Connections closed when accepted, over a limit.\n");
        put(&o, "# TYPE glintd_connections_refused_total counter\n");
        put(&o, "glintd_connections_refused_total{limit=\"max_connections_per_ip\"} %llu\n",
            (unsigned long long)rp);
    }
    put(&o, "# HELP glintd_config_reloads_total Configuration reloads (SIGHUP), by result.\n");
    put(&o, "# TYPE glintd_config_reloads_total counter\n");
    put(&o, "glintd_config_reloads_total{result=\"ok\"} %llu\n", (unsigned long long)atomic_load(&gd_reloads_ok));
    put(&o, "glintd_config_reloads_total{result=\"failed\"} %llu\n",
        (unsigned long long)atomic_load(&gd_reloads_failed));
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    *len = o.len;
    return o.p;
}
