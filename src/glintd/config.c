/*
 * config.c - glintd's YAML configuration (config.h), read with libyaml's
 * document API so that every node keeps its line.  Unknown keys, duplicate
 * keys, wrong types and out-of-range values are all errors: a typo never
 * silently falls back to a default.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

struct ctx {
    yaml_document_t doc;
    const char *file;
    char *err;
    size_t err_size;
    int failed;
};

/* One line: values from the file may hold newlines and other control bytes. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

__attribute__((format(printf, 4, 5))) static int fail(struct ctx *c, const yaml_node_t *n,
                                                      const char *key, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = 1;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (n)
        snprintf(c->err, c->err_size, "%s:%zu: %s: %s", c->file, n->start_mark.line + 1, key, what);
    else
        snprintf(c->err, c->err_size, "%s: %s: %s", c->file, key, what);
    one_line(c->err);
    return -1;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(struct ctx *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

/* ---- scalars ---------------------------------------------------------- */

static int get_string(struct ctx *c, const yaml_node_t *n, const char *key, char **out)
{
    const char *s = scalar(n);
    if (!s)
        return fail(c, n, key, "expected a string");
    if (!*s)
        return fail(c, n, key, "must not be empty");
    free(*out);
    *out = strdup(s);
    return *out ? 0 : fail(c, n, key, "out of memory");
}

static int get_u32(struct ctx *c, const yaml_node_t *n, const char *key, uint32_t min, uint32_t max,
                   uint32_t *out)
{
    const char *s = scalar(n);
    if (!s || !*s)
        return fail(c, n, key, "expected a whole number");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || s[0] == '-' || s[0] == '+' || errno)
        return fail(c, n, key, "'%.40s' is not a whole number", s);
    if (v < min || v > max)
        return fail(c, n, key, "%llu is out of range (%u to %u)", v, min, max);
    *out = (uint32_t)v;
    return 0;
}

static int get_double(struct ctx *c, const yaml_node_t *n, const char *key, double max, double *out)
{
    const char *s = scalar(n);
    if (!s || !*s)
        return fail(c, n, key, "expected a number");
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !(v >= 0) || v > max)
        return fail(c, n, key, "'%.40s' is not a number from 0 to %g", s, max);
    *out = v;
    return 0;
}

/* A size: bytes, or a number with K, M or G (x1024). */
static int get_size(struct ctx *c, const yaml_node_t *n, const char *key, size_t min, size_t max,
                    size_t *out)
{
    const char *s = scalar(n);
    if (!s || !*s || s[0] == '-' || s[0] == '+')
        return fail(c, n, key, "expected a size (bytes, or a number followed by K, M or G)");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024ull * 1024 * 1024, end++;
    if (*end || errno || end == s || v > ULLONG_MAX / mul)
        return fail(c, n, key, "'%.40s' is not a size (bytes, or a number followed by K, M or G)", s);
    v *= mul;
    if (v < min || v > max)
        return fail(c, n, key, "%llu bytes is out of range (%zu to %zu)", v, min, max);
    *out = (size_t)v;
    return 0;
}

static int get_choice(struct ctx *c, const yaml_node_t *n, const char *key, const char *const *names,
                      int *out)
{
    const char *s = scalar(n);
    if (s)
        for (int i = 0; names[i]; i++)
            if (strcmp(s, names[i]) == 0) {
                *out = i;
                return 0;
            }
    char list[200] = "";
    for (int i = 0; names[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? (names[i + 1] ? ", " : " or ") : "",
                 names[i]);
    return fail(c, n, key, "'%.40s' is not %s", s ? s : "(not a scalar)", list);
}

/* ---- mappings ----------------------------------------------------------- */

/* Walks a mapping: for each pair calls fn(c, key, value node, arg); refuses
 * a non-mapping, non-scalar keys and duplicate keys. */
typedef int (*pair_fn)(struct ctx *c, const char *path, const char *key, yaml_node_t *v, void *arg);

static int each_pair(struct ctx *c, yaml_node_t *m, const char *path, pair_fn fn, void *arg)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return fail(c, m, path, "expected a mapping (key: value lines)");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
        const char *ks = scalar(k);
        if (!ks)
            return fail(c, k, path, "a key must be a plain string");
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++)
            if (strcmp(scalar(node(c, q->key)) ? scalar(node(c, q->key)) : "", ks) == 0)
                return fail(c, k, path, "key '%.60s' given twice", ks);
        char full[300];
        snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", ks);
        if (fn(c, full, ks, v, arg) != 0)
            return -1;
    }
    return 0;
}

#define UNKNOWN(c, v, full, known) fail(c, v, full, "unknown key (expected one of: %s)", known)

static int server_pair(struct ctx *c, const char *full, const char *k, yaml_node_t *v, void *arg)
{
    struct gd_config *cf = arg;
    if (!strcmp(k, "threads"))
        return get_u32(c, v, full, 0, 256, &cf->threads);
    if (!strcmp(k, "max_connections"))
        return get_u32(c, v, full, 1, GD_MAX_CONNECTIONS_LIMIT, &cf->max_connections);
    if (!strcmp(k, "max_connections_per_ip"))
        return get_u32(c, v, full, 1, GD_MAX_CONNECTIONS_LIMIT, &cf->max_connections_per_ip);
    if (!strcmp(k, "max_header_bytes"))
        return get_u32(c, v, full, 1024, 1u << 20, &cf->max_header_bytes);
    if (!strcmp(k, "client_timeout_s"))
        return get_u32(c, v, full, 1, 3600, &cf->client_timeout_s);
    if (!strcmp(k, "shutdown_grace_s"))
        return get_u32(c, v, full, 0, 3600, &cf->shutdown_grace_s);
    if (!strcmp(k, "access_log")) {
        static const char *const m[] = {"false", "true", NULL};
        return get_choice(c, v, full, m, &cf->access_log);
    }
    if (!strcmp(k, "spans")) {
        static const char *const m[] = {"false", "true", NULL};
        return get_choice(c, v, full, m, &cf->spans);
    }
    return UNKNOWN(c, v, full, "threads, max_connections, max_connections_per_ip, max_header_bytes, "
                               "client_timeout_s, shutdown_grace_s, access_log, spans");
}

static int owner_pair(struct ctx *c, const char *full, const char *k, yaml_node_t *v, void *arg)
{
    struct gd_owner *o = arg;
    if (!strcmp(k, "heap"))
        return get_size(c, v, full, 4096, 512u << 20, &o->guest.heap_size);
    if (!strcmp(k, "stack"))
        return get_size(c, v, full, 16384, 64u << 20, &o->guest.stack_size);
    if (!strcmp(k, "input"))
        return get_size(c, v, full, 4096, 256u << 20, &o->guest.input_size);
    if (!strcmp(k, "output"))
        return get_size(c, v, full, 4096, 256u << 20, &o->guest.output_size);
    if (!strcmp(k, "timeout_ms"))
        return get_u32(c, v, full, 1, 3600000, &o->guest.timeout_ms);
    if (!strcmp(k, "max_concurrency"))
        return get_u32(c, v, full, 1, 100000, &o->max_concurrency);
    if (!strcmp(k, "max_idle"))
        return get_u32(c, v, full, 0, 100000, &o->max_idle);
    if (!strcmp(k, "rate"))
        return get_double(c, v, full, 1e9, &o->rate);
    if (!strcmp(k, "burst"))
        return get_double(c, v, full, 1e9, &o->burst);
    if (!strcmp(k, "max_body"))
        return get_size(c, v, full, 0, 1u << 30, &o->max_body);
    return UNKNOWN(c, v, full, "heap, stack, input, output, timeout_ms, max_concurrency, max_idle, "
                               "rate, burst, max_body");
}

static int owners_pair(struct ctx *c, const char *full, const char *k, yaml_node_t *v, void *arg)
{
    struct gd_config *cf = arg;
    struct gd_owner *os = realloc(cf->owners, (cf->nowners + 1) * sizeof *os);
    if (!os)
        return fail(c, v, full, "out of memory");
    cf->owners = os;
    struct gd_owner *o = &os[cf->nowners++];
    memset(o, 0, sizeof *o);
    o->name = strdup(k);
    if (!o->name)
        return fail(c, v, full, "out of memory");
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return fail(c, v, full, "an owner name may hold letters, digits, '_', '-' and '.' only");
    glint_config_default(&o->guest);
    o->max_concurrency = 16;
    o->max_idle = 8;
    o->rate = 0;
    o->burst = 0;
    o->max_body = 1u << 20;
    if (v && v->type == YAML_SCALAR_NODE && !*scalar(v))
        return 0; /* `name:` with nothing: all defaults */
    if (each_pair(c, v, full, owner_pair, o) != 0)
        return -1;
    if (o->burst == 0)
        o->burst = o->rate > 1 ? o->rate : 1;
    glint_error e;
    if (glint_config_validate(&o->guest, 0, &e) != GLINT_OK)
        return fail(c, v, full, "%s", e.message);
    return 0;
}

struct route_ctx {
    struct gd_config *cf;
    struct gd_route *r;
    char *owner;
    yaml_node_t *owner_node;  /* for the error naming an undefined owner */
};

static int route_pair(struct ctx *c, const char *full, const char *k, yaml_node_t *v, void *arg)
{
    struct route_ctx *rc = arg;
    struct gd_route *r = rc->r;
    int i;
    if (!strcmp(k, "path")) {
        if (get_string(c, v, full, &r->path) != 0)
            return -1;
        if (r->path[0] != '/')
            return fail(c, v, full, "'%.60s' must start with '/'", r->path);
        for (const char *p = r->path; *p; p++)
            if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f)
                return fail(c, v, full, "'%.60s' holds a blank, control character, '?' or '#'", r->path);
        return 0;
    }
    if (!strcmp(k, "match")) {
        static const char *const m[] = {"exact", "prefix", NULL};
        if (get_choice(c, v, full, m, &i) != 0)
            return -1;
        r->prefix = i;
        return 0;
    }
    if (!strcmp(k, "methods")) {
        if (!v || v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.start == v->data.sequence.items.top)
            return fail(c, v, full, "expected a list of methods, e.g. [GET, POST]");
        r->methods = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *n = node(c, *it);
            const char *s = scalar(n);
            unsigned bit = s ? gd_method_bit(s, strlen(s)) : 0;
            if (!bit)
                return fail(c, n, full, "'%.40s' is not GET, HEAD, POST, PUT, DELETE, PATCH or OPTIONS",
                            s ? s : "(not a scalar)");
            if (r->methods & bit)
                return fail(c, n, full, "%s listed twice", s);
            r->methods |= bit;
        }
        return 0;
    }
    if (!strcmp(k, "owner")) {
        rc->owner_node = v;
        return get_string(c, v, full, &rc->owner);
    }
    if (!strcmp(k, "guest")) {
        if (get_string(c, v, full, &r->guest) != 0)
            return -1;
        r->guest_line = (int)v->start_mark.line + 1;
        /* Relative to the configuration file's folder. */
        const char *slash = strrchr(c->file, '/');
        if (r->guest[0] != '/' && slash) {
            size_t dn = (size_t)(slash - c->file) + 1, gn = strlen(r->guest);
            char *p = malloc(dn + gn + 1);
            if (!p)
                return fail(c, v, full, "out of memory");
            memcpy(p, c->file, dn);
            memcpy(p + dn, r->guest, gn + 1);
            free(r->guest);
            r->guest = p;
        }
        return 0;
    }
    if (!strcmp(k, "function")) {
        if (get_string(c, v, full, &r->function) != 0)
            return -1;
        r->function_line = (int)v->start_mark.line + 1;
        return 0;
    }
    if (!strcmp(k, "mode")) {
        static const char *const m[] = {"pristine", "warm", "fresh", NULL};
        if (get_choice(c, v, full, m, &i) != 0)
            return -1;
        r->mode = (enum gd_mode)i;
        return 0;
    }
    if (!strcmp(k, "bind")) {
        static const char *const m[] = {"http", "typed", NULL};
        if (get_choice(c, v, full, m, &i) != 0)
            return -1;
        r->bind = (enum gd_bind)i;
        return 0;
    }
    if (!strcmp(k, "result")) {
        static const char *const m[] = {"json", "raw", NULL};
        if (get_choice(c, v, full, m, &i) != 0)
            return -1;
        r->result = (enum gd_result)i;
        return 0;
    }
    if (!strcmp(k, "idle_timeout_s"))
        return get_u32(c, v, full, 0, 86400 * 7, &r->idle_timeout_s);
    if (!strcmp(k, "log_level")) {
        static const char *const m[] = {"off", "error", "warn", "info", "debug", "trace", NULL};
        if (get_choice(c, v, full, m, &i) != 0)
            return -1;
        r->log_level = (unsigned)i; /* GLINT_LOG_OFF .. GLINT_LOG_TRACE, in this order */
        return 0;
    }
    if (!strcmp(k, "prefill"))
        return get_u32(c, v, full, 0, 10000, &r->prefill);
    if (!strcmp(k, "grant")) {
        if (!v || v->type != YAML_SEQUENCE_NODE)
            return fail(c, v, full, "expected a list of host functions, e.g. [print]");
        r->grants = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *n = node(c, *it);
            const char *s = scalar(n);
            if (!s || strcmp(s, "print") != 0)
                return fail(c, n, full, "'%.40s' is not a host function glintd grants (print)",
                            s ? s : "(not a scalar)");
            r->grants |= GD_GRANT_PRINT;
        }
        return 0;
    }
    return UNKNOWN(c, v, full, "path, match, methods, owner, guest, function, mode, bind, result, "
                               "idle_timeout_s, prefill, grant, log_level");
}

static int load_routes(struct ctx *c, yaml_node_t *v, struct gd_config *cf)
{
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return fail(c, v, "routes", "expected a list of routes (lines starting with '- ')");
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return fail(c, v, "routes", "no routes: glintd would serve nothing");
    cf->routes = calloc(n, sizeof *cf->routes);
    if (!cf->routes)
        return fail(c, v, "routes", "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *rn = node(c, v->data.sequence.items.start[i]);
        struct gd_route *r = &cf->routes[cf->nroutes++];
        r->methods = GD_GET | GD_HEAD | GD_POST;
        r->mode = GD_PRISTINE;
        r->bind = GD_BIND_HTTP;
        r->result = GD_RESULT_JSON;
        r->idle_timeout_s = 60;
        r->log_level = GLINT_LOG_WARN;
        r->line = rn ? (int)rn->start_mark.line + 1 : 0;
        char path[40];
        snprintf(path, sizeof path, "routes[%zu]", i);
        struct route_ctx rc = {cf, r, NULL, NULL};
        int bad = each_pair(c, rn, path, route_pair, &rc);
        if (!bad) {
            static const char *const need[] = {"path", "owner", "guest", "function"};
            const void *have[] = {r->path, rc.owner, r->guest, r->function};
            for (size_t k = 0; k < 4 && !bad; k++)
                if (!have[k])
                    bad = fail(c, rn, path, "no '%s'", need[k]);
        }
        if (!bad) {
            size_t o = 0;
            while (o < cf->nowners && strcmp(cf->owners[o].name, rc.owner) != 0)
                o++;
            if (o == cf->nowners) {
                char key[60];
                snprintf(key, sizeof key, "%s.owner", path);
                bad = fail(c, rc.owner_node, key, "'%.60s' is not defined under owners", rc.owner);
            }
            r->owner = o;
        }
        if (!bad && (!strcmp(r->path, "/metrics") || !strcmp(r->path, "/livez") ||
                     !strcmp(r->path, "/readyz")))
            bad = fail(c, rn, path, "%s is glintd's own endpoint", r->path);
        for (size_t j = 0; !bad && j + 1 < cf->nroutes; j++)
            if (!strcmp(cf->routes[j].path, r->path) && cf->routes[j].prefix == r->prefix &&
                (cf->routes[j].methods & r->methods))
                bad = fail(c, rn, path, "%s %s overlaps routes[%zu] (line %d) for the same method",
                           r->prefix ? "prefix" : "path", r->path, j, cf->routes[j].line);
        if (!bad && r->prefill > cf->owners[r->owner].max_idle)
            bad = fail(c, rn, path, "prefill %u is more than owner %s keeps idle (max_idle %u)",
                       r->prefill, cf->owners[r->owner].name, cf->owners[r->owner].max_idle);
        free(rc.owner);
        if (bad)
            return -1;
    }
    return 0;
}

static int parse_listen(struct ctx *c, yaml_node_t *v, struct gd_config *cf)
{
    const char *s = scalar(v);
    if (!s)
        return fail(c, v, "listen", "expected ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return fail(c, v, "listen", "'%.60s' is not ADDRESS:PORT", s);
    const char *h = s, *he = colon;
    if (*h == '[') {
        if (he[-1] != ']')
            return fail(c, v, "listen", "'%.60s': an IPv6 address goes in brackets", s);
        h++, he--;
    }
    if ((size_t)(he - h) >= sizeof cf->host)
        return fail(c, v, "listen", "address too long");
    memcpy(cf->host, h, (size_t)(he - h));
    cf->host[he - h] = 0;
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || p > 65535 || colon[1] == '-')
        return fail(c, v, "listen", "'%.20s' is not a port (0 to 65535)", colon + 1);
    cf->port = (uint16_t)p;
    return 0;
}

static int top_pair(struct ctx *c, const char *full, const char *k, yaml_node_t *v, void *arg)
{
    struct gd_config *cf = arg;
    if (!strcmp(k, "listen"))
        return parse_listen(c, v, cf);
    if (!strcmp(k, "backend")) {
        static const char *const m[] = {"auto", "kvm", "process", NULL};
        int i;
        if (get_choice(c, v, full, m, &i) != 0)
            return -1;
        cf->backend = i == 0 ? GLINT_BACKEND_AUTO : i == 1 ? GLINT_BACKEND_KVM : GLINT_BACKEND_PROCESS;
        return 0;
    }
    if (!strcmp(k, "server"))
        return each_pair(c, v, full, server_pair, cf);
    if (!strcmp(k, "owners")) {
        if (cf->nowners)
            return fail(c, v, full, "given twice");
        return each_pair(c, v, full, owners_pair, cf);
    }
    if (!strcmp(k, "routes"))
        return 0; /* after the owners, whatever the order in the file */
    return UNKNOWN(c, v, full, "listen, backend, server, owners, routes");
}

int gd_config_load(const char *path, struct gd_config *cf, char *err, size_t err_size)
{
    memset(cf, 0, sizeof *cf);
    snprintf(cf->host, sizeof cf->host, "127.0.0.1");
    cf->port = 8080;
    cf->backend = GLINT_BACKEND_AUTO;
    cf->threads = 0; /* a thread per connection */
    cf->max_connections = 1024;
    cf->max_connections_per_ip = 256;
    cf->max_header_bytes = 16384;
    cf->client_timeout_s = 10;
    cf->shutdown_grace_s = 10;
    cf->access_log = 1;
    struct ctx c = {.file = path, .err = err, .err_size = err_size};
    cf->file = strdup(path);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        fclose(f);
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    yaml_parser_set_input_file(&p, f);
    int rc = -1;
    if (!yaml_parser_load(&p, &c.doc)) {
        snprintf(err, err_size, "%s:%zu:%zu: not valid YAML: %s%s%s", path, p.problem_mark.line + 1,
                 p.problem_mark.column + 1, p.problem ? p.problem : "syntax error",
                 p.context ? " " : "", p.context ? p.context : "");
        one_line(err);
        yaml_parser_delete(&p);
        fclose(f);
        return -1;
    }
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if (!root) {
        fail(&c, NULL, "(file)", "empty: expected listen, owners and routes");
    } else if (each_pair(&c, root, "", top_pair, cf) == 0) {
        yaml_node_t *routes = NULL, *owners = NULL;
        for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top; q++) {
            const char *k = scalar(node(&c, q->key));
            if (!strcmp(k, "routes"))
                routes = node(&c, q->value);
            if (!strcmp(k, "owners"))
                owners = node(&c, q->value);
        }
        if (!owners || !cf->nowners)
            fail(&c, root, "owners", "no owners: every route belongs to one");
        else if (!routes)
            fail(&c, root, "routes", "no routes: glintd would serve nothing");
        else if (load_routes(&c, routes, cf) == 0)
            rc = 0;
        for (size_t i = 0; rc == 0 && i < cf->nowners; i++)
            cf->owners[i].guest.backend = cf->backend;
    }
    yaml_document_delete(&c.doc);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

void gd_config_free(struct gd_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nowners; i++)
        free(c->owners[i].name);
    for (size_t i = 0; i < c->nroutes; i++) {
        free(c->routes[i].path);
        free(c->routes[i].guest);
        free(c->routes[i].function);
    }
    free(c->owners);
    free(c->routes);
    free(c->file);
    memset(c, 0, sizeof *c);
}

static const char *const method_names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

unsigned gd_method_bit(const char *name, size_t len)
{
    for (unsigned i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (strlen(method_names[i]) == len && !memcmp(method_names[i], name, len))
            return 1u << i;
    return 0;
}

const char *gd_mode_name(enum gd_mode m)
{
    return m == GD_WARM ? "warm" : m == GD_FRESH ? "fresh" : "pristine";
}
