/*
 * glintd - an HTTP functions gateway over glint (docs/glintd.md).
 *
 *   glintd CONFIG           serve until SIGTERM (or SIGINT)
 *   glintd --check CONFIG   load everything a start would, then exit
 *
 * The main thread owns the signals: every other thread (the acceptor,
 * libmicrohttpd's, glint's pool threads) starts with them blocked.  SIGHUP reloads the
 * configuration: the new one is built completely (snapshots, pools) before
 * it replaces the old, and a bad one is refused with a log line while the
 * old keeps serving.  SIGTERM stops accepting connections, lets requests in
 * flight finish within shutdown_grace_s, and exits 0.
 */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glintd.h"

enum { EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_USAGE = 2, EXIT_CONFIG = 3, EXIT_NO_BACKEND = 6 };

atomic_uint gd_in_flight;
atomic_bool gd_draining;
atomic_ullong gd_unrouted[600];
atomic_ullong gd_reloads_ok, gd_reloads_failed;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gd_state *g_state;

struct gd_state *gd_current(void)
{
    pthread_mutex_lock(&g_lock);
    struct gd_state *s = gd_state_ref(g_state);
    pthread_mutex_unlock(&g_lock);
    return s;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: glintd [--check] CONFIG\n"
            "       glintd --help | --version\n"
            "\n"
            "An HTTP/1.1 gateway that maps routes to glint guest functions: every\n"
            "request runs in its own sandbox (pristine: restored after every request;\n"
            "fresh: a new one; warm: kept, for caches).  CONFIG is a YAML file: listen\n"
            "address, server limits, owners with their limits, and routes (see\n"
            "docs/glintd.md).\n"
            "\n"
            "Options:\n"
            "  --check     load the configuration, every guest and snapshot, and make\n"
            "              every pool, exactly as a start would; print \"ok: CONFIG: N\n"
            "              route(s), M owner(s)\" and exit\n"
            "  -h, --help  show this help\n"
            "  -V, --version\n"
            "\n"
            "Endpoints besides the routes: /livez, /readyz, /metrics (Prometheus).\n"
            "Logs: one JSON line per event on standard error (requests included).\n"
            "Signals: SIGTERM or SIGINT stops accepting, finishes requests in flight\n"
            "(up to server.shutdown_grace_s), exits 0; SIGHUP reloads CONFIG (a bad\n"
            "new configuration is refused and the old one keeps serving).\n"
            "\n"
            "Environment: GLINT_BACKEND chooses the backend when the configuration\n"
            "says auto (kvm or process).\n"
            "\n"
            "Exit codes:\n"
            "  0  stopped by SIGTERM/SIGINT after draining; --check passed\n"
            "  1  internal error (cannot listen, out of memory)\n"
            "  2  usage error\n"
            "  3  invalid configuration, or a guest or snapshot it names that cannot be\n"
            "     used (the message names the file, line and key)\n"
            "  6  no backend this host can use for what the configuration asks\n");
}

static int load(const char *path, uint64_t generation, struct gd_state *prev, struct gd_state **out, char *err,
                size_t size, int *code)
{
    struct gd_config cfg;
    if (gd_config_load(path, &cfg, err, size) != 0) {
        gd_config_free(&cfg);
        *code = EXIT_CONFIG;
        return -1;
    }
    glint_error e;
    glint_backend be;
    if (glint_backend_select((glint_backend)cfg.backend, &be, &e) != GLINT_OK) {
        snprintf(err, size, "%s: backend: %s", path, e.message);
        gd_config_free(&cfg);
        *code = e.status == GLINT_E_NO_KVM ? EXIT_NO_BACKEND : EXIT_CONFIG;
        return -1;
    }
    *out = gd_state_build(&cfg, generation, prev, err, size);
    if (!*out) {
        *code = EXIT_CONFIG;
        return -1;
    }
    return 0;
}

static void log_error(const char *what, const char *msg)
{
    char extra[2048];
    size_t n = (size_t)snprintf(extra, sizeof extra, "\"error\":\"");
    gd_json_escape(extra, sizeof extra - 4, &n, msg, strlen(msg));
    snprintf(extra + n, sizeof extra - n, "\"");
    gd_log("error", what, extra);
}

int main(int argc, char **argv)
{
    int check = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check")) {
            check = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("glintd %s\n", GD_VERSION);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--")) {
            if (i + 1 < argc && !path)
                path = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "glintd: unknown option '%.60s' (see glintd --help)\n", argv[i]);
            return EXIT_USAGE;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "glintd: one configuration file only, got '%.60s' too (see glintd --help)\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "glintd: no configuration file (usage: glintd [--check] CONFIG)\n");
        return EXIT_USAGE;
    }

    /* Signals go to this thread only, whatever thread starts later. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    gd_state_set_owner_thread(); /* old configurations are torn down here, not on HTTP workers */
    signal(SIGPIPE, SIG_IGN);

    char err[2048];
    int code = 0;
    struct gd_state *st = NULL;
    if (load(path, 1, NULL, &st, err, sizeof err, &code) != 0) {
        fprintf(stderr, "glintd: %s\n", err);
        return code;
    }
    if (check) {
        printf("ok: %s: %zu route(s), %zu owner(s)\n", path, st->cfg.nroutes, st->cfg.nowners);
        gd_state_unref(st);
        return EXIT_OK;
    }
    g_state = st;
    gd_server_set_spans(st->cfg.spans);
    struct gd_server *srv = gd_server_start(&st->cfg, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "glintd: %s\n", err);
        gd_state_unref(st);
        return EXIT_INTERNAL;
    }
    unsigned port = gd_server_port(srv);
    uint32_t grace_s = st->cfg.shutdown_grace_s;
    {
        char extra[600];
        snprintf(extra, sizeof extra, "\"address\":\"%s\",\"port\":%u,\"routes\":%zu,\"version\":\"%s\"",
                 st->cfg.host, port, st->cfg.nroutes, GD_VERSION);
        gd_log("info", "listening", extra);
    }

    /* What the server was started with: a reload cannot change it.  (Not
     * through st, which a reload frees once its last request ends.) */
    char started_host[sizeof st->cfg.host];
    memcpy(started_host, st->cfg.host, sizeof started_host);
    uint16_t started_port = st->cfg.port;
    uint32_t started_threads = st->cfg.threads;
    uint32_t started_header_bytes = st->cfg.max_header_bytes;
    st = NULL;

    uint64_t generation = 1;
    for (;;) {
        struct timespec tick = {0, 250000000};
        siginfo_t si;
        int sig = sigtimedwait(&set, &si, &tick);
        if (sig < 0) {
            gd_state_free_pending();
            struct gd_state *cur = gd_current();
            gd_state_reap_idle(cur);
            unsigned slow = gd_server_reap_slow(cur->cfg.client_timeout_s);
            gd_state_unref(cur);
            if (slow) {
                char extra[64];
                snprintf(extra, sizeof extra, "\"connections\":%u", slow);
                gd_log("info", "closed slow clients (no whole request within client_timeout_s)", extra);
            }
            continue;
        }
        if (sig == SIGHUP) {
            struct gd_state *next = NULL, *cur = gd_current();
            int rc = load(path, generation + 1, cur, &next, err, sizeof err, &code);
            gd_state_unref(cur);
            if (rc != 0) {
                atomic_fetch_add(&gd_reloads_failed, 1);
                log_error("reload refused: the old configuration keeps serving", err);
                continue;
            }
            generation++;
            pthread_mutex_lock(&g_lock);
            struct gd_state *old = g_state;
            g_state = next;
            pthread_mutex_unlock(&g_lock);
            bool moved = strcmp(next->cfg.host, started_host) || next->cfg.port != started_port ||
                         next->cfg.threads != started_threads ||
                         next->cfg.max_header_bytes != started_header_bytes;
            grace_s = next->cfg.shutdown_grace_s;
            gd_server_set_spans(next->cfg.spans);
            gd_server_set_limits(&next->cfg);
            gd_state_unref(old); /* freed when its last request ends */
            atomic_fetch_add(&gd_reloads_ok, 1);
            if (moved)
                gd_log("warn", "reloaded; listen, server.threads and server.max_header_bytes take effect at "
                               "the next start", NULL);
            else
                gd_log("info", "reloaded", NULL);
            continue;
        }
        break; /* SIGTERM, SIGINT */
    }
    atomic_store(&gd_draining, true);
    gd_log("info", "draining", NULL);
    gd_server_quiesce(srv);
    uint64_t end = gd_now_ns() + (uint64_t)grace_s * 1000000000ull;
    while (atomic_load(&gd_in_flight) > 0 && gd_now_ns() < end) {
        struct timespec ms = {0, 5000000};
        nanosleep(&ms, NULL);
    }
    unsigned left = atomic_load(&gd_in_flight);
    gd_server_stop(srv);
    pthread_mutex_lock(&g_lock);
    struct gd_state *last = g_state;
    g_state = NULL;
    pthread_mutex_unlock(&g_lock);
    gd_state_unref(last);
    gd_state_free_pending(); /* the workers are gone: nothing adds to it now */
    char extra[100];
    snprintf(extra, sizeof extra, "\"unfinished\":%u", left);
    gd_log(left ? "warn" : "info", "stopped", extra);
    return EXIT_OK;
}
