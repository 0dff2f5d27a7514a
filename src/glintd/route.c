/*
 * route.c - what a configuration becomes at run time (glintd.h): for every
 * route its own snapshot (loaded from a snapshot file, or taken of a
 * sandbox made from the guest ELF with the owner's limits), its own pool
 * (pristine: restored after every request; fresh: a new sandbox per
 * request) or its own set of warm sandboxes.  Nothing is shared between
 * routes, so functions of different owners never share a sandbox, a pool
 * or a snapshot.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glintd.h"

uint64_t gd_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the host function print -------------------------------------------- */

/* Per call on this thread: how many prints were logged (a flood is cut). */
static _Thread_local unsigned t_prints;
#define PRINTS_PER_CALL 64
#define PRINT_MAX 1024

static const glint_function print_sig = {.name = "print", .ret = GLINT_VOID, .nparams = 1,
                                         .params = {GLINT_STRING}};

static glint_status print_granted(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                  glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)ret;
    struct gd_route_rt *r = user;
    if (t_prints++ >= PRINTS_PER_CALL) {
        atomic_fetch_add_explicit(&r->m.prints_dropped, 1, memory_order_relaxed);
        return GLINT_OK;
    }
    atomic_fetch_add_explicit(&r->m.prints, 1, memory_order_relaxed);
    char extra[PRINT_MAX * 6 + 512];
    size_t n = 0;
    n += (size_t)snprintf(extra, sizeof extra, "\"owner\":\"%s\",\"route\":\"", r->owner->cfg->name);
    gd_json_escape(extra, sizeof extra, &n, r->cfg->path, strlen(r->cfg->path));
    n += (size_t)snprintf(extra + n, sizeof extra - n, "\",\"text\":\"");
    size_t len = args[0].v.str.len;
    const char *s = args[0].v.str.ptr;
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    gd_json_escape(extra, sizeof extra, &n, s, len > PRINT_MAX ? PRINT_MAX : len);
    snprintf(extra + n, sizeof extra - n, "\"%s", len > PRINT_MAX ? ",\"truncated\":true" : "");
    gd_log("info", "guest print", extra);
    return GLINT_OK;
}

static glint_status print_refused(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                  glint_value *ret, void *user)
{
    (void)args, (void)nargs, (void)ret, (void)user;
    return glint_hostcall_fail(hc, "print is not granted to this route (grant: [print])");
}

/* ---- guest logs (glint_log in the guest) ----------------------------------- */

static void guest_log(glint_sandbox *sb, unsigned level, const char *file, uint32_t line,
                      const char *message, void *user)
{
    (void)sb;
    struct gd_route_rt *r = user;
    char extra[2048];
    size_t n = (size_t)snprintf(extra, sizeof extra, "\"owner\":\"%s\",\"route\":\"", r->owner->cfg->name);
    gd_json_escape(extra, sizeof extra - 600, &n, r->cfg->path, strlen(r->cfg->path));
    n += (size_t)snprintf(extra + n, sizeof extra - n, "\",\"guest_level\":\"%s\",\"file\":\"",
                          glint_log_level_name(level));
    gd_json_escape(extra, sizeof extra - 400, &n, file, strlen(file) > 200 ? 200 : strlen(file));
    n += (size_t)snprintf(extra + n, sizeof extra - n, "\",\"line\":%u,\"text\":\"", line);
    gd_json_escape(extra, sizeof extra - 4, &n, message, strlen(message));
    snprintf(extra + n, sizeof extra - n, "\"");
    gd_log(level <= GLINT_LOG_ERROR ? "error" : level == GLINT_LOG_WARN ? "warn" : "info", "guest log", extra);
}

/* ---- building a state ------------------------------------------------------ */

static bool is_snapshot_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    char magic[8] = {0};
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    return n == 8 && memcmp(magic, "GLINTSNP", 8) == 0;
}

/* "FILE:LINE: routes[N].KEY: msg", at the key's line (the route's for no key). */
static int route_fail(char *err, size_t size, const struct gd_config *cfg, const struct gd_route *r,
                      const char *key, const char *msg)
{
    int line = !key ? r->line : !strcmp(key, "guest") ? r->guest_line : r->function_line;
    snprintf(err, size, "%s:%d: routes[%zu]%s%s: %s", cfg->file, line ? line : r->line,
             (size_t)(r - cfg->routes), key ? "." : "", key ? key : "", msg);
    return -1;
}

/* The route's snapshot: loaded, or taken of a sandbox made from the ELF
 * with the owner's limits and the route's host functions. */
static int make_snapshot(struct gd_route_rt *rt, const struct gd_config *cfg, char *err, size_t size)
{
    const struct gd_route *r = rt->cfg;
    const struct gd_owner *o = rt->owner->cfg;
    glint_error e;
    if (is_snapshot_file(r->guest)) {
        if (glint_snapshot_load(r->guest, &rt->snap, &e) != GLINT_OK)
            return route_fail(err, size, cfg, r, "guest", e.message);
        glint_config sc;
        glint_snapshot_config(rt->snap, &sc);
        if (sc.heap_size > o->guest.heap_size || sc.stack_size > o->guest.stack_size ||
            sc.input_size > o->guest.input_size || sc.output_size > o->guest.output_size) {
            char m[400];
            snprintf(m, sizeof m, "snapshot %s needs more memory than owner %s allows (heap %zu, "
                     "stack %zu, input %zu, output %zu)", r->guest, o->name, sc.heap_size,
                     sc.stack_size, sc.input_size, sc.output_size);
            return route_fail(err, size, cfg, r, "guest", m);
        }
        for (size_t i = 0; i < glint_snapshot_host_count(rt->snap); i++) {
            const glint_function *h = glint_snapshot_host_function(rt->snap, i);
            if (strcmp(h->name, "print") != 0 || h->ret != GLINT_VOID || h->nparams != 1 ||
                h->params[0] != GLINT_STRING) {
                char m[300];
                snprintf(m, sizeof m, "the snapshot expects host function %s, which glintd does not have",
                         h->name);
                return route_fail(err, size, cfg, r, "guest", m);
            }
        }
        return 0;
    }
    glint_sandbox *sb = NULL;
    if (glint_sandbox_create_file(r->guest, &o->guest, &sb, &e) != GLINT_OK)
        return route_fail(err, size, cfg, r, "guest", e.message);
    glint_status s = glint_sandbox_register(sb, &print_sig, rt->host[0].callback, rt);
    if (s == GLINT_OK)
        s = glint_sandbox_init(sb);
    if (s == GLINT_OK)
        s = glint_sandbox_snapshot(sb, &rt->snap);
    if (s != GLINT_OK) {
        char m[900];
        snprintf(m, sizeof m, "%s: %s", r->guest, glint_sandbox_error(sb)->message);
        glint_sandbox_destroy(sb);
        return route_fail(err, size, cfg, r, "guest", m);
    }
    glint_sandbox_destroy(sb);
    return 0;
}

static int find_function(struct gd_route_rt *rt, const struct gd_config *cfg, char *err, size_t size)
{
    const struct gd_route *r = rt->cfg;
    size_t n = glint_snapshot_function_count(rt->snap);
    for (size_t i = 0; i < n; i++) {
        const glint_function *f = glint_snapshot_function(rt->snap, i);
        if (strcmp(f->name, r->function) != 0)
            continue;
        rt->fn_index = i;
        rt->fn = *f;
        if (r->bind == GD_BIND_HTTP &&
            (f->ret != GLINT_BYTES || f->nparams != 1 || f->params[0] != GLINT_BYTES)) {
            char sig[300], m[400];
            glint_function_format(f, sig, sizeof sig);
            snprintf(m, sizeof m, "bind: http needs a function of signature (bytes) -> bytes; %s is not", sig);
            return route_fail(err, size, cfg, r, "function", m);
        }
        return 0;
    }
    char m[300];
    snprintf(m, sizeof m, "%s has no function %s", r->guest, r->function);
    return route_fail(err, size, cfg, r, "function", m);
}

static void route_teardown(struct gd_route_rt *rt)
{
    if (rt->pool)
        glint_pool_destroy(rt->pool);
    for (size_t i = 0; i < rt->nwarm; i++)
        glint_sandbox_destroy(rt->warm[i].sb);
    free(rt->warm);
    pthread_mutex_destroy(&rt->warm_lock);
    glint_snapshot_free(rt->snap);
}

static void state_free(struct gd_state *s)
{
    for (size_t i = 0; s->routes && i < s->cfg.nroutes; i++)
        route_teardown(&s->routes[i]);
    for (size_t i = 0; s->owners && i < s->cfg.nowners; i++) {
        struct gd_owner_live *l = s->owners[i].live;
        if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
            pthread_mutex_destroy(&l->lock);
            free(l);
        }
    }
    free(s->routes);
    free(s->owners);
    gd_config_free(&s->cfg);
    free(s);
}

struct gd_state *gd_state_build(struct gd_config *cfg, uint64_t generation, struct gd_state *prev, char *err,
                                size_t size)
{
    struct gd_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, size, "out of memory");
        gd_config_free(cfg);
        return NULL;
    }
    s->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    atomic_store(&s->refs, 1);
    s->generation = generation;
    s->owners = calloc(s->cfg.nowners, sizeof *s->owners);
    s->routes = calloc(s->cfg.nroutes, sizeof *s->routes);
    if (!s->owners || !s->routes) {
        snprintf(err, size, "out of memory");
        state_free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->cfg.nowners; i++) {
        struct gd_owner_rt *o = &s->owners[i];
        o->cfg = &s->cfg.owners[i];
        for (size_t k = 0; prev && !o->live && k < prev->cfg.nowners; k++)
            if (!strcmp(prev->cfg.owners[k].name, o->cfg->name)) {
                o->live = prev->owners[k].live;
                atomic_fetch_add(&o->live->refs, 1);
            }
        if (!o->live) {
            if (!(o->live = calloc(1, sizeof *o->live))) {
                snprintf(err, size, "out of memory");
                state_free(s);
                return NULL;
            }
            atomic_store(&o->live->refs, 1);
            pthread_mutex_init(&o->live->lock, NULL);
            o->live->tokens = o->cfg->burst;
            o->live->last_ns = gd_now_ns();
        }
    }
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        struct gd_route_rt *rt = &s->routes[i];
        rt->cfg = &s->cfg.routes[i];
        rt->owner = &s->owners[rt->cfg->owner];
        rt->state = s;
        pthread_mutex_init(&rt->warm_lock, NULL);
        rt->host[0].sig = print_sig;
        rt->host[0].callback = rt->cfg->grants & GD_GRANT_PRINT ? print_granted : print_refused;
        rt->host[0].user = rt;
        if (make_snapshot(rt, &s->cfg, err, size) != 0 || find_function(rt, &s->cfg, err, size) != 0) {
            state_free(s);
            return NULL;
        }
        glint_error e;
        glint_backend be;
        if (glint_backend_select((glint_backend)s->cfg.backend, &be, &e) != GLINT_OK) {
            route_fail(err, size, &s->cfg, rt->cfg, NULL, e.message);
            state_free(s);
            return NULL;
        }
        rt->backend = be;
        if (rt->cfg->mode == GD_WARM)
            continue;
        glint_pool_config pc;
        glint_pool_config_default(&pc);
        pc.backend = (int)be;
        pc.host = rt->host;
        pc.nhost = 1;
        pc.idle_timeout_ms = rt->cfg->idle_timeout_s * 1000u;
        if (rt->cfg->mode == GD_FRESH) {
            pc.max_idle = 0;
            pc.prefill = 0;
        } else {
            pc.max_idle = rt->owner->cfg->max_idle;
            pc.prefill = rt->cfg->prefill;
            pc.min_idle = rt->cfg->prefill;
        }
        if (glint_pool_create(rt->snap, &pc, &rt->pool, &e) != GLINT_OK) {
            route_fail(err, size, &s->cfg, rt->cfg, NULL, e.message);
            state_free(s);
            return NULL;
        }
    }
    return s;
}

struct gd_state *gd_state_ref(struct gd_state *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

static pthread_t free_thread;
static atomic_bool free_thread_set;
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gd_state *pending;

void gd_state_set_owner_thread(void)
{
    free_thread = pthread_self();
    atomic_store(&free_thread_set, true);
}

/* The last reference to an old configuration is often a request's, dropped
 * on an HTTP worker thread (server.c: completed): tearing the state down
 * there (each pool's thread stopped, every idle and warm sandbox destroyed)
 * stalled that worker's other connections.  The main thread does it at its
 * next tick (every 250 ms) instead. */
void gd_state_unref(struct gd_state *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    if (!atomic_load(&free_thread_set) || pthread_equal(pthread_self(), free_thread)) {
        state_free(s);
        return;
    }
    pthread_mutex_lock(&pending_lock);
    s->next_free = pending;
    pending = s;
    pthread_mutex_unlock(&pending_lock);
}

void gd_state_free_pending(void)
{
    pthread_mutex_lock(&pending_lock);
    struct gd_state *list = pending;
    pending = NULL;
    pthread_mutex_unlock(&pending_lock);
    while (list) {
        struct gd_state *next = list->next_free;
        state_free(list);
        list = next;
    }
}

/* ---- requests ------------------------------------------------------------ */

struct gd_route_rt *gd_route_find(struct gd_state *s, const char *path, unsigned method_bit,
                                  bool *path_known)
{
    struct gd_route_rt *best = NULL;
    size_t best_len = 0;
    *path_known = false;
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        const struct gd_route *r = &s->cfg.routes[i];
        size_t n = strlen(r->path);
        bool match = r->prefix ? strncmp(path, r->path, n) == 0 &&
                                     (r->path[n - 1] == '/' || path[n] == 0 || path[n] == '/')
                               : strcmp(path, r->path) == 0;
        if (!match)
            continue;
        *path_known = true;
        if (!(r->methods & method_bit))
            continue;
        /* The exact route, else the longest prefix. */
        size_t weight = r->prefix ? n : (size_t)-1;
        if (!best || weight > best_len) {
            best = &s->routes[i];
            best_len = weight;
        }
    }
    return best;
}

static glint_status warm_acquire(struct gd_route_rt *r, glint_sandbox **out, bool *cold, glint_error *err)
{
    int cpu = sched_getcpu();
    pthread_mutex_lock(&r->warm_lock);
    if (r->nwarm) {
        /* The newest given back on this CPU among the last few, else the
         * newest (as glint_pool_acquire does): on the process backend a
         * busy caller's sandbox process is bound to the caller's CPU, and
         * taking one bound to another CPU moves it. */
        size_t pick = r->nwarm - 1;
        for (size_t k = 0; cpu >= 0 && k < r->nwarm && k < 8; k++)
            if (r->warm[r->nwarm - 1 - k].cpu == cpu) {
                pick = r->nwarm - 1 - k;
                break;
            }
        *out = r->warm[pick].sb;
        memmove(&r->warm[pick], &r->warm[pick + 1], (r->nwarm - 1 - pick) * sizeof r->warm[0]);
        r->nwarm--;
        pthread_mutex_unlock(&r->warm_lock);
        return GLINT_OK;
    }
    pthread_mutex_unlock(&r->warm_lock);
    *cold = true;
    glint_sandbox *sb = NULL;
    glint_status s = glint_sandbox_create_from_snapshot_on(r->snap, r->backend, &sb, err);
    if (s != GLINT_OK)
        return s;
    s = glint_sandbox_register(sb, &print_sig, r->host[0].callback, r);
    if (s == GLINT_OK)
        s = glint_sandbox_init(sb);
    if (s != GLINT_OK) {
        if (err)
            *err = *glint_sandbox_error(sb);
        glint_sandbox_destroy(sb);
        return s;
    }
    atomic_fetch_add(&r->warm_live, 1);
    *out = sb;
    return GLINT_OK;
}

static void warm_release(struct gd_route_rt *r, glint_sandbox *sb)
{
    /* A failed guest is restored; if that fails too, it goes. */
    if (glint_sandbox_poisoned(sb) && glint_sandbox_restore(sb, r->snap) != GLINT_OK) {
        glint_sandbox_destroy(sb);
        atomic_fetch_sub(&r->warm_live, 1);
        return;
    }
    pthread_mutex_lock(&r->warm_lock);
    if (r->nwarm < r->owner->cfg->max_idle || r->owner->cfg->max_idle == 0) {
        if (r->nwarm == r->warm_cap) {
            size_t cap = r->warm_cap ? r->warm_cap * 2 : 4;
            struct gd_warm *w = realloc(r->warm, cap * sizeof *w);
            if (w) {
                r->warm = w;
                r->warm_cap = cap;
            }
        }
        if (r->nwarm < r->warm_cap) {
            r->warm[r->nwarm].sb = sb;
            r->warm[r->nwarm].used_ns = gd_now_ns();
            r->warm[r->nwarm].cpu = sched_getcpu();
            r->nwarm++;
            pthread_mutex_unlock(&r->warm_lock);
            return;
        }
    }
    pthread_mutex_unlock(&r->warm_lock);
    glint_sandbox_destroy(sb);
    atomic_fetch_sub(&r->warm_live, 1);
}

glint_status gd_route_acquire(struct gd_route_rt *r, glint_sandbox **out, bool *cold, glint_error *err)
{
    *cold = false;
    t_prints = 0;
    glint_status s;
    if (r->cfg->mode == GD_WARM) {
        s = warm_acquire(r, out, cold, err);
    } else {
        glint_pool_stats st;
        glint_pool_get_stats(r->pool, &st);
        *cold = st.idle == 0;
        s = glint_pool_acquire(r->pool, out, err);
    }
    /* The guest's glint_log messages go to glintd's log, tagged. */
    if (s == GLINT_OK)
        (void)glint_sandbox_set_log(*out, r->cfg->log_level, guest_log, r);
    return s;
}

void gd_route_release(struct gd_route_rt *r, glint_sandbox *sb)
{
    if (r->cfg->mode == GD_WARM)
        warm_release(r, sb);
    else
        glint_pool_release(r->pool, sb);
}

void gd_route_counts(struct gd_route_rt *r, size_t *live, size_t *idle)
{
    if (r->cfg->mode == GD_WARM) {
        pthread_mutex_lock(&r->warm_lock);
        *idle = r->nwarm;
        pthread_mutex_unlock(&r->warm_lock);
        *live = atomic_load(&r->warm_live);
        return;
    }
    glint_pool_stats st;
    glint_pool_get_stats(r->pool, &st);
    *idle = st.idle;
    *live = st.idle + st.out;
}

/* Tests only: GLINTD_TEST_REAP_PAUSE_US holds each round of the idle reaper
 * that long before it looks at a warm route, so that requests land in
 * between (tests/test_glintd.c: warm_state_survives_the_idle_reaper). */
static unsigned reap_pause_us(void)
{
    static int us = -1;
    if (us < 0) {
        const char *v = getenv("GLINTD_TEST_REAP_PAUSE_US");
        us = v ? atoi(v) : 0;
        if (us < 0 || us > 1000000)
            us = 0;
    }
    return (unsigned)us;
}

void gd_state_reap_idle(struct gd_state *s)
{
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        struct gd_route_rt *r = &s->routes[i];
        if (r->cfg->mode != GD_WARM || !r->cfg->idle_timeout_s)
            continue;
        uint64_t limit = (uint64_t)r->cfg->idle_timeout_s * 1000000000ull;
        unsigned pause = reap_pause_us();
        if (pause)
            usleep(pause);
        for (;;) {
            glint_sandbox *victim = NULL;
            pthread_mutex_lock(&r->warm_lock);
            /* The time is read under the lock: a sandbox given back after
             * an earlier reading was "used" after it, and now - used_ns
             * wrapped around, so a warm sandbox just used was reaped (its
             * state lost: the next request made a new one). */
            uint64_t now = gd_now_ns();
            for (size_t k = 0; k < r->nwarm; k++)
                if (now > r->warm[k].used_ns && now - r->warm[k].used_ns > limit) {
                    victim = r->warm[k].sb;
                    r->warm[k] = r->warm[--r->nwarm];
                    break;
                }
            pthread_mutex_unlock(&r->warm_lock);
            if (!victim)
                break;
            glint_sandbox_destroy(victim);
            atomic_fetch_sub(&r->warm_live, 1);
        }
    }
}
