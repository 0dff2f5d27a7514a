/*
 * test_glintd.c - end-to-end tests of the HTTP gateway build/bin/glintd
 * (docs/glintd.md): the real binary, started with fork/exec on a
 * configuration written to a temporary folder, spoken to over raw sockets.
 *
 * Suites: glintd_cli (arguments, exit codes, --check), glintd_config (each
 * kind of bad configuration), glintd_http (modes, bindings, every error
 * status, keep-alive), glintd_hostile (guests that spin, crash, flood
 * print; clients that send garbage, huge headers, trickle, open a thousand
 * connections; one owner flooding), glintd_lifecycle (SIGTERM drain, SIGHUP
 * reload under load and with a bad file, scale to zero), glintd_load (wrk).
 *
 * The harness:
 *   - gdt_start() writes the YAML, starts glintd (stderr to a file in the
 *     test's temporary folder), and waits for its "listening" log line to
 *     learn the port (the configurations listen on port 0).
 *   - Every glintd started is killed and reaped by the suites' .fini, which
 *     Criterion runs after a failed assertion too; the child also has
 *     PR_SET_PDEATHSIG, so a worker Criterion kills takes its glintd along.
 *   - The HTTP client (hc_*, http_*) never asserts (worker threads use it);
 *     it reads responses with a deadline, framed by Content-Length or
 *     chunked encoding, and keeps what follows for the next response
 *     (keep-alive, pipelining).
 *   - Waiting is polling with a deadline (a metric reaching a value, a log
 *     line appearing).  The only bare sleeps are the few milliseconds that
 *     let a request that was just sent get into its guest call (bg_start,
 *     slow_guest_blocks_no_other_connection), which no endpoint shows.
 *
 * glintd's `backend: auto` follows GLINT_BACKEND, so `make test` runs these
 * on each backend.  Tests that start a guest skip without a usable backend.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define GLINTD_BIN GLINT_BUILD_DIR "/bin/glintd"
#define G_BASIC    GLINT_BUILD_DIR "/guests/basic.elf"
#define G_SPIN     GLINT_BUILD_DIR "/guests/spin.elf"
#define G_DIV      GLINT_BUILD_DIR "/guests/div_zero.elf"
#define G_ABORTS   GLINT_BUILD_DIR "/guests/aborts.elf"
#define G_FLOOD    GLINT_BUILD_DIR "/guests/gd_flood.elf"
#define G_BURN     GLINT_BUILD_DIR "/guests/gd_burn.elf"
#define G_HTTP     GLINT_BUILD_DIR "/examples/http/http-guest.elf"

/* The start of every configuration: any free port on loopback. */
#define Y_LISTEN "listen: \"127.0.0.1:0\"\nbackend: auto\n"
/* One owner, demo, and its one route: GET /add, basic.elf's Add, typed. */
#define Y_DEMO_ADD                                                                                 \
    "owners:\n  demo: {timeout_ms: 3000}\n"                                                        \
    "routes:\n"                                                                                    \
    "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n"

/* ===========================================================================
 * Files and processes.
 */

/* The whole file (NUL-terminated, malloc'd), "" if unreadable. */
static char *gdt_slurp(const char *path, size_t *len_out)
{
    size_t len = 0, cap = 4096;
    char *p = malloc(cap);
    if (!p)
        abort();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        for (;;) {
            if (cap - len < 65536) {
                cap = cap * 2 + 65536;
                char *np = realloc(p, cap);
                if (!np)
                    abort();
                p = np;
            }
            ssize_t n = read(fd, p + len, cap - len - 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            len += (size_t)n;
        }
        close(fd);
    }
    p[len] = 0;
    if (len_out)
        *len_out = len;
    return p;
}

/* Writes `text` to `path` atomically (a temporary file renamed over it),
 * as an operator's editor would; false on failure. */
static bool gdt_write_file(const char *path, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t k = write(fd, text + off, n - off);
        if (k <= 0) {
            close(fd);
            return false;
        }
        off += (size_t)k;
    }
    close(fd);
    return rename(tmp, path) == 0;
}

/* Occurrences of `needle` in `hay`. */
static int gdt_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t k = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)); p += k)
        n++;
    return n;
}

/* One glintd (or another program) this test started. */
struct gdt {
    pid_t pid;          /* 0 once reaped */
    int port;
    int wstatus;        /* once reaped */
    char dir[64];
    char cfg[128], err[128], out[128];
};

#define GDT_MAX 16
static struct gdt g_gdt[GDT_MAX];
static int g_ngdt;

/* A new slot with its own temporary folder and file names. */
static struct gdt *gdt_new(void)
{
    cr_assert(g_ngdt < GDT_MAX, "too many glintd processes in one test");
    struct gdt *g = &g_gdt[g_ngdt++];
    memset(g, 0, sizeof *g);
    snprintf(g->dir, sizeof g->dir, "/tmp/glintd-test-XXXXXX");
    cr_assert(mkdtemp(g->dir), "mkdtemp: %s", strerror(errno));
    char dir[sizeof g->dir];
    memcpy(dir, g->dir, sizeof dir);
    snprintf(g->cfg, sizeof g->cfg, "%s/glintd.yaml", dir);
    snprintf(g->err, sizeof g->err, "%s/stderr.log", dir);
    snprintf(g->out, sizeof g->out, "%s/stdout.log", dir);
    return g;
}

/* The suites' .fini: no process and no file outlives a test. */
static void gdt_cleanup(void)
{
    for (int i = 0; i < g_ngdt; i++) {
        struct gdt *g = &g_gdt[i];
        if (g->pid > 0) {
            kill(g->pid, SIGKILL);
            waitpid(g->pid, NULL, 0);
            g->pid = 0;
        }
        char tmp[300];
        snprintf(tmp, sizeof tmp, "%s.tmp", g->cfg);
        unlink(tmp);
        unlink(g->cfg);
        unlink(g->err);
        unlink(g->out);
        rmdir(g->dir);
    }
    g_ngdt = 0;
}

/* Starts `prog` with argv, stdout and stderr to g's files, stdin from
 * /dev/null; it dies with this worker (PR_SET_PDEATHSIG). */
static void gdt_spawn(struct gdt *g, const char *prog, char *const argv[])
{
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open(g->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = open(g->err, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    cr_assert(in >= 0 && out >= 0 && err >= 0, "open: %s", strerror(errno));
    pid_t parent = getpid();
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execv(prog, argv);
        _exit(127);
    }
    close(in);
    close(out);
    close(err);
    g->pid = pid;
}

/* Waits up to timeout_ms for g's process to end: its exit code (128 +
 * signal if killed), or -1 if it still runs. */
static int gdt_wait(struct gdt *g, int timeout_ms)
{
    if (g->pid <= 0)
        return WIFEXITED(g->wstatus) ? WEXITSTATUS(g->wstatus) : 128 + WTERMSIG(g->wstatus);
    double end = th_now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(g->pid, &st, WNOHANG);
        if (r == g->pid) {
            g->pid = 0;
            g->wstatus = st;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (th_now_ms() >= end)
            return -1;
        th_sleep_ms(5);
    }
}

static bool gdt_alive(struct gdt *g)
{
    return gdt_wait(g, 0) == -1;
}

/* The last `max` bytes of g's stderr, for failure messages (static buffer). */
static const char *gdt_tail(struct gdt *g)
{
    static char tail[3001];
    size_t len;
    char *all = gdt_slurp(g->err, &len);
    size_t from = len > sizeof tail - 1 ? len - (sizeof tail - 1) : 0;
    memcpy(tail, all + from, len - from + 1);
    free(all);
    return tail;
}

/* Runs a program to its end (at most timeout_ms, then it is killed and the
 * test fails): its exit code, stdout and stderr. */
struct gdt_run {
    int code;
    char *out, *err;
};

static struct gdt_run gdt_exec(const char *prog, char *const argv[], int timeout_ms)
{
    struct gdt *g = gdt_new();
    gdt_spawn(g, prog, argv);
    int code = gdt_wait(g, timeout_ms);
    if (code < 0) {
        kill(g->pid, SIGKILL);
        gdt_wait(g, 5000);
        cr_assert_fail("%s did not end within %d ms; stderr: %s", prog, timeout_ms, gdt_tail(g));
    }
    struct gdt_run r = {code, gdt_slurp(g->out, NULL), gdt_slurp(g->err, NULL)};
    return r;
}

/* glintd with these arguments, to its end. */
#define GLINTD_RUN(...) gdt_exec(GLINTD_BIN, (char *[]){"glintd", __VA_ARGS__, NULL}, 60000)

static void gdt_run_free(struct gdt_run *r)
{
    free(r->out);
    free(r->err);
}

static void need_glintd(void)
{
    cr_assert(access(GLINTD_BIN, X_OK) == 0, "%s is missing (make daemon builds it)", GLINTD_BIN);
}

static void need_http_guest(void)
{
    if (access(G_HTTP, R_OK) != 0)
        cr_skip_test("%s is absent (examples/http is not built yet): HTTP-binding test skipped", G_HTTP);
}

/* Count of `needle` in g's stderr. */
static int gdt_log_count(struct gdt *g, const char *needle)
{
    char *log = gdt_slurp(g->err, NULL);
    int n = gdt_count(log, needle);
    free(log);
    return n;
}

/* Waits until g's stderr holds `needle` at least `count` times. */
static bool gdt_wait_log(struct gdt *g, const char *needle, int count, int timeout_ms)
{
    double end = th_now_ms() + timeout_ms;
    for (;;) {
        if (gdt_log_count(g, needle) >= count)
            return true;
        if (th_now_ms() >= end)
            return false;
        th_sleep_ms(10);
    }
}

/* Writes `yaml` as g's configuration and starts glintd on it; returns once
 * it logs "listening" (its port then in g->port). */
static struct gdt *gdt_start(const char *yaml)
{
    need_glintd();
    struct gdt *g = gdt_new();
    cr_assert(gdt_write_file(g->cfg, yaml), "cannot write %s", g->cfg);
    gdt_spawn(g, GLINTD_BIN, (char *[]){"glintd", g->cfg, NULL});
    double end = th_now_ms() + 30000;
    for (;;) {
        char *log = gdt_slurp(g->err, NULL);
        const char *l = strstr(log, "\"msg\":\"listening\"");
        const char *p = l ? strstr(l, "\"port\":") : NULL;
        if (p) {
            g->port = atoi(p + 7);
            free(log);
            cr_assert(g->port > 0 && g->port < 65536, "bad port in the listening line");
            return g;
        }
        free(log);
        int code = gdt_wait(g, 0);
        cr_assert(code < 0, "glintd exited with %d before listening; stderr:\n%s", code, gdt_tail(g));
        cr_assert(th_now_ms() < end, "glintd did not log \"listening\" within 30 s; stderr:\n%s", gdt_tail(g));
        th_sleep_ms(5);
    }
}

/* Sends `sig` and waits for the exit: its code; fails the test if glintd is
 * still running after timeout_ms. */
static int gdt_stop(struct gdt *g, int sig, int timeout_ms)
{
    if (g->pid > 0)
        kill(g->pid, sig);
    int code = gdt_wait(g, timeout_ms);
    cr_assert(code >= 0, "glintd still runs %d ms after signal %d; stderr:\n%s", timeout_ms, sig,
              gdt_tail(g));
    return code;
}

/* ===========================================================================
 * A small HTTP/1.1 client on raw sockets.  No asserts: worker threads use it.
 */
enum { H_OK = 0, H_TIMEOUT = -1, H_CLOSED = -2, H_CONNECT = -3, H_BAD = -4 };

static const char *h_err(int rc)
{
    return rc == H_OK ? "ok" : rc == H_TIMEOUT ? "timed out" : rc == H_CLOSED ? "connection closed"
         : rc == H_CONNECT ? "cannot connect" : rc == H_BAD ? "malformed response" : "?";
}

struct hconn {
    int fd;
    char *buf;          /* bytes received and not yet consumed */
    size_t len, cap;
};

struct hresp {
    int status;         /* 0: none */
    char *head;         /* status line and headers, NUL-terminated */
    char *body;         /* NUL-terminated */
    size_t body_len;
    bool conn_close;    /* "Connection: close" */
};

static void hresp_free(struct hresp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Milliseconds left until `deadline` (th_now_ms() scale), at least 0. */
static int ms_left(double deadline)
{
    double left = deadline - th_now_ms();
    return left <= 0 ? 0 : left > 1e9 ? 1000000000 : (int)left + 1;
}

/* poll() one fd until deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, ms_left(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return th_now_ms() >= deadline ? 0 : 1;
        return 1;
    }
}

/* Starts a non-blocking connect to 127.0.0.1:port. */
static int hc_connect_start(struct hconn *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return H_CONNECT;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return H_CONNECT;
    }
    return H_OK;
}

static int hc_connect_finish(struct hconn *c, double deadline)
{
    if (c->fd < 0)
        return H_CONNECT;
    int r = wait_fd(c->fd, POLLOUT, deadline);
    int err = 0;
    socklen_t l = sizeof err;
    if (r <= 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err) {
        close(c->fd);
        c->fd = -1;
        return r == 0 ? H_TIMEOUT : H_CONNECT;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return H_OK;
}

static int hc_open(struct hconn *c, int port, double deadline)
{
    int rc = hc_connect_start(c, port);
    return rc ? rc : hc_connect_finish(c, deadline);
}

static void hc_close(struct hconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

static int hc_send(struct hconn *c, const void *data, size_t n, double deadline)
{
    const char *p = data;
    while (n) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(c->fd, POLLOUT, deadline) <= 0)
                return H_TIMEOUT;
            continue;
        }
        return H_CLOSED;
    }
    return H_OK;
}

/* Reads more bytes: >0 read, 0 closed (EOF or reset), H_TIMEOUT. */
static int hc_fill(struct hconn *c, double deadline)
{
    if (c->cap - c->len < 16384) {
        size_t cap = c->cap * 2 + 65536;
        char *p = realloc(c->buf, cap);
        if (!p)
            abort();
        c->buf = p;
        c->cap = cap;
    }
    for (;;) {
        ssize_t k = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (k > 0) {
            c->len += (size_t)k;
            c->buf[c->len] = 0;
            return (int)k;
        }
        if (k == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return 0; /* ECONNRESET and friends: closed */
        int r = wait_fd(c->fd, POLLIN, deadline);
        if (r == 0)
            return H_TIMEOUT;
        if (r < 0)
            return 0;
    }
}

/* Case-insensitive: the value of header `name` in a header block, copied
 * into out; false if absent. */
static bool head_value(const char *head, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2] && !(l[2] == '\r' && l[3] == '\n');
         l = strstr(l + 2, "\r\n")) {
        const char *k = l + 2;
        if (strncasecmp(k, name, n) == 0 && k[n] == ':') {
            const char *v = k + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t vn = e ? (size_t)(e - v) : strlen(v);
            if (vn >= size)
                vn = size - 1;
            memcpy(out, v, vn);
            out[vn] = 0;
            return true;
        }
    }
    return false;
}

/* A chunked body at p[0..n): 1 complete (*used bytes, body appended to
 * *out), 0 more needed, -1 malformed. */
static int parse_chunked(const char *p, size_t n, size_t *used, char **out, size_t *out_len)
{
    size_t pos = 0, blen = 0;
    char *body = malloc(n + 1);
    if (!body)
        abort();
    for (;;) {
        const char *nl = memmem(p + pos, n - pos, "\r\n", 2);
        if (!nl)
            break;
        char *end;
        unsigned long long size = strtoull(p + pos, &end, 16);
        if (end == p + pos || size > n) {
            if (end == p + pos) {
                free(body);
                return -1;
            }
            break; /* bigger than all we have: more needed */
        }
        size_t data = (size_t)(nl - p) + 2;
        if (size == 0) {
            /* Trailers (none expected) end with an empty line. */
            const char *fin = data + 2 <= n && !memcmp(p + data, "\r\n", 2) ? p + data
                            : memmem(p + data, n - data, "\r\n\r\n", 4);
            if (!fin)
                break;
            *used = (size_t)(fin - p) + (fin == p + data ? 2 : 4);
            body[blen] = 0;
            *out = body;
            *out_len = blen;
            return 1;
        }
        if (data + size + 2 > n)
            break;
        memcpy(body + blen, p + data, size);
        blen += size;
        pos = data + size + 2;
    }
    free(body);
    return 0;
}

/* Reads one response (1xx skipped).  `head_only`: the request was HEAD.
 * Bytes after it stay in c for the next one. */
static int hc_read(struct hconn *c, struct hresp *r, bool head_only, double deadline)
{
    memset(r, 0, sizeof *r);
    for (;;) {
        const char *e = c->buf ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        while (!e) {
            int k = hc_fill(c, deadline);
            if (k == H_TIMEOUT)
                return H_TIMEOUT;
            if (k == 0)
                return H_CLOSED;
            e = memmem(c->buf, c->len, "\r\n\r\n", 4);
        }
        size_t hlen = (size_t)(e - c->buf) + 4;
        int status = 0;
        if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 999)
            return H_BAD;
        r->head = malloc(hlen + 1);
        if (!r->head)
            abort();
        memcpy(r->head, c->buf, hlen);
        r->head[hlen] = 0;
        r->status = status;
        if (status < 200) { /* 100 Continue and such */
            memmove(c->buf, c->buf + hlen, c->len - hlen);
            c->len -= hlen;
            free(r->head);
            r->head = NULL;
            continue;
        }
        char v[256];
        r->conn_close = head_value(r->head, "connection", v, sizeof v) && strcasestr(v, "close");
        bool chunked = head_value(r->head, "transfer-encoding", v, sizeof v) && strcasestr(v, "chunked");
        bool has_len = head_value(r->head, "content-length", v, sizeof v);
        size_t clen = has_len ? (size_t)strtoull(v, NULL, 10) : 0;
        size_t used = 0;
        if (head_only || status == 204 || status == 304) {
            r->body = strdup("");
            used = hlen;
        } else if (chunked) {
            for (;;) {
                size_t u = 0;
                int pr = parse_chunked(c->buf + hlen, c->len - hlen, &u, &r->body, &r->body_len);
                if (pr < 0)
                    return H_BAD;
                if (pr > 0) {
                    used = hlen + u;
                    break;
                }
                int k = hc_fill(c, deadline);
                if (k == H_TIMEOUT)
                    return H_TIMEOUT;
                if (k == 0)
                    return H_CLOSED;
            }
        } else if (has_len) {
            while (c->len - hlen < clen) {
                int k = hc_fill(c, deadline);
                if (k == H_TIMEOUT)
                    return H_TIMEOUT;
                if (k == 0)
                    return H_CLOSED;
            }
            r->body = malloc(clen + 1);
            if (!r->body)
                abort();
            memcpy(r->body, c->buf + hlen, clen);
            r->body[clen] = 0;
            r->body_len = clen;
            used = hlen + clen;
        } else { /* to the end of the connection */
            for (;;) {
                int k = hc_fill(c, deadline);
                if (k == H_TIMEOUT)
                    return H_TIMEOUT;
                if (k == 0)
                    break;
            }
            r->body_len = c->len - hlen;
            r->body = malloc(r->body_len + 1);
            if (!r->body)
                abort();
            memcpy(r->body, c->buf + hlen, r->body_len);
            r->body[r->body_len] = 0;
            used = c->len;
        }
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        return H_OK;
    }
}

/* "METHOD PATH HTTP/1.1" with Host, `headers` ("Name: value\r\n"...), and a
 * body with its Content-Length when body is not NULL.  malloc'd. */
static char *req_build(const char *method, const char *path, const char *headers, const char *body,
                       size_t body_len, size_t *len)
{
    size_t cap = strlen(method) + strlen(path) + (headers ? strlen(headers) : 0) + body_len + 200;
    char *p = malloc(cap);
    if (!p)
        abort();
    int n = snprintf(p, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, path, headers ? headers : "");
    if (body)
        n += snprintf(p + n, cap - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(p + n, cap - (size_t)n, "\r\n");
    if (body) {
        memcpy(p + n, body, body_len);
        n += (int)body_len;
    }
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

/* One request on a new connection, closed afterwards. */
static int http_raw(int port, const char *raw, size_t n, struct hresp *r, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    double dl = th_now_ms() + timeout_ms;
    struct hconn c;
    int rc = hc_open(&c, port, dl);
    if (rc == H_OK)
        rc = hc_send(&c, raw, n, dl);
    if (rc == H_OK)
        rc = hc_read(&c, r, strncmp(raw, "HEAD ", 5) == 0, dl);
    hc_close(&c);
    return rc;
}

static int http_do(int port, const char *method, const char *path, const char *headers, const char *body,
                   struct hresp *r, int timeout_ms)
{
    size_t n;
    char *raw = req_build(method, path, headers, body, body ? strlen(body) : 0, &n);
    int rc = http_raw(port, raw, n, r, timeout_ms);
    free(raw);
    return rc;
}

/* A metric's value in Prometheus text: the line "SERIES VALUE"; -1 if absent. */
static double metric_in(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && (p = strstr(p, series)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* ===========================================================================
 * The same, asserting, for the test's own thread.
 */

/* A request on a new connection; fails the test if no response comes. */
static struct hresp gd_req(struct gdt *g, const char *method, const char *path, const char *headers,
                           const char *body)
{
    struct hresp r;
    int rc = http_do(g->port, method, path, headers, body, &r, 15000);
    cr_assert_eq(rc, H_OK, "%s %s: %s; glintd stderr:\n%s", method, path, h_err(rc), gdt_tail(g));
    return r;
}

#define GD_GET(g, path) gd_req((g), "GET", (path), NULL, NULL)

/* Asserts the status, and that the body holds `has` (if not NULL). */
static void expect_resp(const struct hresp *r, int status, const char *has, const char *what)
{
    cr_assert_eq(r->status, status, "%s: status %d, want %d; body: %.600s", what, r->status, status,
                 r->body ? r->body : "");
    if (has)
        cr_assert(r->body && strstr(r->body, has), "%s: body lacks '%s': %.600s", what, has,
                  r->body ? r->body : "");
}

/* A request, and expect_resp on its answer. */
static void gd_expect(struct gdt *g, const char *method, const char *path, const char *headers,
                      const char *body, int status, const char *has)
{
    struct hresp r = gd_req(g, method, path, headers, body);
    char what[300];
    snprintf(what, sizeof what, "%s %s", method, path);
    expect_resp(&r, status, has, what);
    hresp_free(&r);
}

/* An error response of glintd: the status, a JSON body
 * {"error":"...","status":"NAME"} and its content type. */
static void expect_error(const struct hresp *r, int status, const char *name, const char *what)
{
    expect_resp(r, status, NULL, what);
    char ct[200] = "";
    head_value(r->head, "content-type", ct, sizeof ct);
    cr_assert(strstr(ct, "application/json"), "%s: error content type '%s'", what, ct);
    cr_assert(!strncmp(r->body, "{\"error\":\"", 10), "%s: error body %.400s", what, r->body);
    char want[200];
    snprintf(want, sizeof want, "\"status\":\"%s\"", name);
    cr_assert(strstr(r->body, want), "%s: error body lacks %s: %.400s", what, want, r->body);
}

static void gd_expect_error(struct gdt *g, const char *method, const char *path, const char *headers,
                            const char *body, int status, const char *name)
{
    struct hresp r = gd_req(g, method, path, headers, body);
    char what[300];
    snprintf(what, sizeof what, "%s %s", method, path);
    expect_error(&r, status, name, what);
    hresp_free(&r);
}

/* /metrics, whole (malloc'd). */
static char *gd_metrics(struct gdt *g)
{
    struct hresp r = GD_GET(g, "/metrics");
    expect_resp(&r, 200, NULL, "GET /metrics");
    char *text = r.body;
    r.body = NULL;
    hresp_free(&r);
    return text;
}

static double gd_metric(struct gdt *g, const char *series)
{
    char *text = gd_metrics(g);
    double v = metric_in(text, series);
    free(text);
    return v;
}

/* Polls /metrics until `series` equals want: true, or false at the
 * deadline (*last: the last value seen). */
static bool gd_wait_metric(struct gdt *g, const char *series, double want, int timeout_ms, double *last)
{
    double end = th_now_ms() + timeout_ms;
    for (;;) {
        double v = gd_metric(g, series);
        if (last)
            *last = v;
        if (v == want)
            return true;
        if (th_now_ms() >= end)
            return false;
        th_sleep_ms(20);
    }
}

/* A metric equals `want`, polled for up to 3 s: glintd counts a request
 * in its completion callback, which may run a moment after the client has
 * read the response. */
#define EXPECT_METRIC(g, series, want)                                                            \
    do {                                                                                          \
        double got_ = 0;                                                                          \
        cr_assert(gd_wait_metric((g), (series), (double)(want), 3000, &got_), "%s = %g, want %g", \
                  (series), got_, (double)(want));                                                \
    } while (0)

/* ===========================================================================
 * Requests in the background (threads; results read after bg_join).
 */
struct bg {
    pthread_t t;
    int port;
    char *raw;
    size_t len;
    int timeout_ms;
    int rc;
    struct hresp r;
    double start_ms, end_ms;
    atomic_bool sent;     /* the request is on the wire */
    atomic_bool done;
};

static void *bg_main(void *arg)
{
    struct bg *b = arg;
    b->start_ms = th_now_ms();
    double dl = b->start_ms + b->timeout_ms;
    struct hconn c;
    int rc = hc_open(&c, b->port, dl);
    if (rc == H_OK)
        rc = hc_send(&c, b->raw, b->len, dl);
    atomic_store(&b->sent, true);
    if (rc == H_OK)
        rc = hc_read(&c, &b->r, false, dl);
    hc_close(&c);
    b->rc = rc;
    b->end_ms = th_now_ms();
    atomic_store(&b->done, true);
    return NULL;
}

/* Starts a request in the background and returns once it is sent, and
 * 20 ms more.  (With server.threads N, glintd's workers accept connections in batches and
 * run each guest call on the thread that accepted its connection: a
 * connection of ours arriving in the same batch as this one would wait
 * for its guest call.  The 20 ms let that thread get into the call, where
 * it accepts nothing; see slow_guest_blocks_no_other_connection.) */
static void bg_start(struct bg *b, int port, const char *method, const char *path, int timeout_ms)
{
    memset(b, 0, sizeof *b);
    b->port = port;
    b->timeout_ms = timeout_ms;
    b->raw = req_build(method, path, NULL, NULL, 0, &b->len);
    cr_assert_eq(pthread_create(&b->t, NULL, bg_main, b), 0, "pthread_create");
    double end = th_now_ms() + 10000;
    while (!atomic_load(&b->sent) && th_now_ms() < end)
        th_sleep_ms(1);
    cr_assert(atomic_load(&b->sent), "a background request was not sent within 10 s");
    th_sleep_ms(20);
}

static void bg_join(struct bg *b)
{
    pthread_join(b->t, NULL);
    free(b->raw);
    b->raw = NULL;
}

/* A client that repeats one GET until told to stop, counting answers. */
struct loader {
    pthread_t t;
    int port;
    const char *path;
    bool keepalive;       /* one connection for all (reopened if closed: a failure) */
    int want_status;      /* 0: any status counts as ok */
    atomic_bool stop;
    atomic_long ok, failed;
    char first_failure[300];
};

static void *loader_main(void *arg)
{
    struct loader *l = arg;
    size_t n;
    char *raw = req_build("GET", l->path, NULL, NULL, 0, &n);
    struct hconn c = {.fd = -1};
    while (!atomic_load(&l->stop)) {
        double t0 = th_now_ms();
        struct hresp r;
        int rc;
        if (l->keepalive) {
            double dl = t0 + 10000;
            rc = c.fd >= 0 ? H_OK : hc_open(&c, l->port, dl);
            if (rc == H_OK)
                rc = hc_send(&c, raw, n, dl);
            if (rc == H_OK)
                rc = hc_read(&c, &r, false, dl);
            if (rc != H_OK || r.conn_close)
                hc_close(&c);
        } else {
            rc = http_raw(l->port, raw, n, &r, 10000);
        }
        bool good = rc == H_OK && (!l->want_status || r.status == l->want_status);
        if (good) {
            atomic_fetch_add(&l->ok, 1);
        } else if (atomic_fetch_add(&l->failed, 1) == 0) {
            snprintf(l->first_failure, sizeof l->first_failure, "%s: status %d: %.200s", h_err(rc),
                     rc == H_OK ? r.status : 0, rc == H_OK && r.body ? r.body : "");
        }
        if (rc == H_OK)
            hresp_free(&r);
    }
    hc_close(&c);
    free(raw);
    return NULL;
}

static void loader_start(struct loader *l, int port, const char *path, bool keepalive, int want_status)
{
    memset(l, 0, sizeof *l);
    l->port = port;
    l->path = path;
    l->keepalive = keepalive;
    l->want_status = want_status;
    cr_assert_eq(pthread_create(&l->t, NULL, loader_main, l), 0, "pthread_create");
}

static void loader_stop(struct loader *l)
{
    atomic_store(&l->stop, true);
    pthread_join(l->t, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n ? v[n / 2] : 0;
}

/* Iterations of gd_burn's Burn that take about target_ms on `route`
 * (?n=N): the guest has no clock, so measure. */
static uint64_t calibrate_burn(struct gdt *g, const char *route, double target_ms)
{
    const uint64_t n0 = 20000000;
    double best = 1e9;
    for (int i = 0; i < 2; i++) {
        char path[200];
        snprintf(path, sizeof path, "%s?n=%llu", route, (unsigned long long)n0);
        double t0 = th_now_ms();
        gd_expect(g, "GET", path, NULL, NULL, 200, "{\"result\":20000000}");
        double t = th_now_ms() - t0;
        if (t < best)
            best = t;
    }
    if (best < 1)
        best = 1;
    return (uint64_t)((double)n0 / best * target_ms);
}

/* Raises this worker's descriptor limit to `want` if the hard limit
 * allows; returns the soft limit now. */
static rlim_t raise_nofile(rlim_t want)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

TestSuite(glintd_cli, .fini = gdt_cleanup);
TestSuite(glintd_config, .fini = gdt_cleanup);
TestSuite(glintd_http, .fini = gdt_cleanup);
TestSuite(glintd_hostile, .fini = gdt_cleanup);
TestSuite(glintd_lifecycle, .fini = gdt_cleanup);
TestSuite(glintd_load, .fini = gdt_cleanup);

/* ===========================================================================
 * glintd_cli: arguments, exit codes, --check.
 */

Test(glintd_cli, help_and_version, .timeout = 30)
{
    need_glintd();
    const char *helps[] = {"--help", "-h"};
    for (int i = 0; i < 2; i++) {
        struct gdt_run r = GLINTD_RUN((char *)helps[i]);
        cr_expect_eq(r.code, 0, "%s: exit %d; stderr %s", helps[i], r.code, r.err);
        cr_expect(!strncmp(r.out, "Usage: glintd [--check] CONFIG\n", 31), "%s: stdout %s", helps[i], r.out);
        cr_expect(strstr(r.out, "Exit codes:") && strstr(r.out, "SIGHUP"), "%s: help incomplete: %s",
                  helps[i], r.out);
        cr_expect_str_eq(r.err, "", "%s: stderr not empty", helps[i]);
        gdt_run_free(&r);
    }
    const char *versions[] = {"--version", "-V"};
    for (int i = 0; i < 2; i++) {
        struct gdt_run r = GLINTD_RUN((char *)versions[i]);
        cr_expect_eq(r.code, 0, "%s: exit %d", versions[i], r.code);
        unsigned a, b, c;
        char nl = 0;
        cr_expect(sscanf(r.out, "glintd %u.%u.%u%c", &a, &b, &c, &nl) == 4 && nl == '\n' &&
                      strchr(r.out, '\n')[1] == 0,
                  "%s: stdout '%s', want 'glintd X.Y.Z'", versions[i], r.out);
        cr_expect_str_eq(r.err, "");
        gdt_run_free(&r);
    }
}

Test(glintd_cli, usage_errors_exit_2, .timeout = 30)
{
    need_glintd();
    struct {
        char *argv[4];
        const char *says;
    } cases[] = {
        {{"glintd", NULL}, "no configuration file"},
        {{"glintd", "--check", NULL}, "no configuration file"},
        {{"glintd", "--bogus", NULL}, "unknown option '--bogus'"},
        {{"glintd", "-x", "a.yaml", NULL}, "unknown option '-x'"},
        {{"glintd", "a.yaml", "b.yaml", NULL}, "one configuration file only"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gdt_run r = gdt_exec(GLINTD_BIN, cases[i].argv, 30000);
        cr_expect_eq(r.code, 2, "case %zu: exit %d, want 2; stderr %s", i, r.code, r.err);
        cr_expect(!strncmp(r.err, "glintd: ", 8) && strstr(r.err, cases[i].says),
                  "case %zu: stderr '%s' lacks '%s'", i, r.err, cases[i].says);
        cr_expect(gdt_count(r.err, "\n") == 1, "case %zu: stderr is not one line: %s", i, r.err);
        cr_expect_str_eq(r.out, "", "case %zu: stdout not empty", i);
        gdt_run_free(&r);
    }
}

Test(glintd_cli, missing_file_exit_3, .timeout = 30)
{
    need_glintd();
    struct gdt_run r = GLINTD_RUN("/nonexistent/glintd.yaml");
    cr_expect_eq(r.code, 3, "exit %d; stderr %s", r.code, r.err);
    cr_expect(strstr(r.err, "glintd: /nonexistent/glintd.yaml: cannot open"), "stderr: %s", r.err);
    gdt_run_free(&r);
}

static const char cfg_two_routes[] = Y_LISTEN
    "owners:\n"
    "  demo: {timeout_ms: 1000}\n"
    "routes:\n"
    "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n"
    "  - {path: /echo, owner: demo, guest: " G_BASIC ", function: Echo, bind: typed, mode: warm}\n";

Test(glintd_cli, check_ok_and_bad, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    need_glintd();
    struct gdt *g = gdt_new();
    cr_assert(gdt_write_file(g->cfg, cfg_two_routes));
    struct gdt_run r = GLINTD_RUN("--check", g->cfg);
    cr_expect_eq(r.code, 0, "--check: exit %d; stderr %s", r.code, r.err);
    char want[300];
    snprintf(want, sizeof want, "ok: %s: 2 route(s), 1 owner(s)\n", g->cfg);
    cr_expect_str_eq(r.out, want);
    cr_expect(!strstr(r.err, "listening"), "--check started serving: %s", r.err);
    gdt_run_free(&r);

    /* The same file made bad: refused, exit 3, nothing on stdout. */
    cr_assert(gdt_write_file(g->cfg, Y_LISTEN "owners:\n  demo: {timeout_ms: fast}\nroutes: []\n"));
    r = GLINTD_RUN("--check", g->cfg);
    cr_expect_eq(r.code, 3, "--check bad: exit %d; stderr %s", r.code, r.err);
    snprintf(want, sizeof want, "glintd: %s:4: owners.demo.timeout_ms: 'fast' is not a whole number", g->cfg);
    cr_expect(strstr(r.err, want), "stderr '%s' lacks '%s'", r.err, want);
    cr_expect_str_eq(r.out, "");
    gdt_run_free(&r);
}

Test(glintd_cli, cannot_listen_exit_1, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    need_glintd();
    /* Hold a port, then ask glintd for it. */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 1) == 0, "bind: %s", strerror(errno));
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "listen: \"127.0.0.1:%u\"\nowners:\n  demo: {}\nroutes:\n"
             "  - {path: /add, owner: demo, guest: %s, function: Add, bind: typed}\n",
             ntohs(a.sin_port), G_BASIC);
    struct gdt *g = gdt_new();
    cr_assert(gdt_write_file(g->cfg, yaml));
    struct gdt_run r = GLINTD_RUN(g->cfg);
    close(s);
    cr_expect_eq(r.code, 1, "exit %d, want 1; stderr %s", r.code, r.err);
    cr_expect(strstr(r.err, "cannot listen on 127.0.0.1:"), "stderr: %s", r.err);
    gdt_run_free(&r);
}

/* ===========================================================================
 * glintd_config: each kind of bad configuration is refused at start with
 * exit 3 and "glintd: FILE:LINE: KEY: what" naming the offending line and
 * key.  The routes are in block style so that every key has its own line.
 */

#define CFG_HEAD Y_LISTEN "owners:\n  demo: {timeout_ms: 1000}\nroutes:\n" /* lines 1-5 */

/* Starts glintd (no --check: a real start) on `yaml`; expects exit 3 and a
 * one-line message starting "glintd: FILE:LINE: KEY" (just "FILE:LINE:" when
 * key is "") and holding `says`. */
static void expect_config_error(const char *yaml, int line, const char *key, const char *says)
{
    need_glintd();
    struct gdt *g = gdt_new();
    cr_assert(gdt_write_file(g->cfg, yaml));
    struct gdt_run r = GLINTD_RUN(g->cfg);
    cr_expect_eq(r.code, 3, "exit %d, want 3; stderr: %s", r.code, r.err);
    char want[400];
    snprintf(want, sizeof want, "glintd: %s:%d:%s%s", g->cfg, line, *key ? " " : "", key);
    cr_expect(!strncmp(r.err, want, strlen(want)), "stderr '%s' does not start with '%s'", r.err, want);
    cr_expect(strstr(r.err, says), "stderr '%s' lacks '%s'", r.err, says);
    cr_expect(gdt_count(r.err, "\n") == 1, "stderr is not one line: %s", r.err);
    cr_expect(!strstr(r.err, "listening"), "a bad configuration started serving");
    gdt_run_free(&r);
}

Test(glintd_config, yaml_syntax_error, .timeout = 30)
{
    /* line 7: a mapping value where none may be */
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "     guest: [x\n",
                        8, "", "not valid YAML");
}

Test(glintd_config, unknown_key, .timeout = 30)
{
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    guest: " G_BASIC "\n"
                        "    function: Add\n"
                        "    bind: typed\n"
                        "    colour: red\n",
                        11, "routes[0].colour:", "unknown key");
    expect_config_error(Y_LISTEN "server:\n  thread: 4\nowners:\n  demo: {}\nroutes: []\n", 4,
                        "server.thread:", "unknown key");
}

Test(glintd_config, wrong_type, .timeout = 30)
{
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    guest: " G_BASIC "\n"
                        "    function: Add\n"
                        "    prefill: lots\n",
                        10, "routes[0].prefill:", "'lots' is not a whole number");
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    methods: GET\n",
                        8, "routes[0].methods:", "expected a list");
    expect_config_error(Y_LISTEN "owners:\n  demo:\n    heap: big\nroutes: []\n", 5, "owners.demo.heap:",
                        "not a size");
}

Test(glintd_config, unknown_owner, .timeout = 30)
{
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    guest: " G_BASIC "\n"
                        "    owner: nobody\n"
                        "    function: Add\n",
                        8, "routes[0].owner:", "'nobody' is not defined");
}

Test(glintd_config, missing_guest_file, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    bind: typed\n"
                        "    guest: " GLINT_BUILD_DIR "/guests/no_such_guest.elf\n"
                        "    function: Add\n",
                        9, "routes[0].guest:", "no_such_guest.elf");
}

Test(glintd_config, function_not_found, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    guest: " G_BASIC "\n"
                        "    bind: typed\n"
                        "    function: NoSuchFunction\n",
                        10, "routes[0].function:", "NoSuchFunction");
}

Test(glintd_config, http_binding_wrong_signature, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    guest: " G_BASIC "\n"
                        "    bind: http\n"
                        "    function: Add\n",
                        10, "routes[0].function:", "(bytes) -> bytes");
}

Test(glintd_config, duplicate_route, .timeout = 30)
{
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    guest: " G_BASIC "\n"
                        "    function: Add\n"
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    guest: " G_BASIC "\n"
                        "    function: Nop\n",
                        10, "routes[1]", "overlaps routes[0]");
    /* A duplicate key is refused too. */
    expect_config_error(CFG_HEAD
                        "  - path: /a\n"
                        "    owner: demo\n"
                        "    path: /b\n",
                        8, "routes[0]:", "given twice");
}

/* ===========================================================================
 * glintd_http: modes, bindings, every error status, keep-alive.
 */

static const char cfg_main[] = Y_LISTEN
    "server: {threads: 4, max_connections: 1024, max_connections_per_ip: 256, max_header_bytes: 16384,"
    " client_timeout_s: 10, shutdown_grace_s: 10, access_log: true}\n"
    "owners:\n"
    "  demo: {heap: 1M, stack: 256K, input: 64K, output: 64K, timeout_ms: 3000, max_concurrency: 16,"
    " max_idle: 8, max_body: 16K}\n"
    "  small: {input: 4K, output: 4K, timeout_ms: 3000, max_body: 64K}\n"
    "  limited: {timeout_ms: 3000, rate: 1, burst: 1}\n"
    "routes:\n"
    "  - {path: /add, methods: [GET, HEAD, POST], owner: demo, guest: " G_BASIC ", function: Add, bind: typed,"
    " prefill: 1}\n"
    "  - {path: /nop, owner: demo, guest: " G_BASIC ", function: Nop, bind: typed}\n"
    "  - {path: /echo, methods: [POST], owner: demo, guest: " G_BASIC ", function: Echo, bind: typed,"
    " result: raw}\n"
    "  - {path: /echo/json, methods: [POST], owner: demo, guest: " G_BASIC ", function: Echo, bind: typed}\n"
    "  - {path: /echo/small, methods: [POST], owner: small, guest: " G_BASIC ", function: Echo, bind: typed,"
    " result: raw}\n"
    "  - {path: /counter/pristine, owner: demo, guest: " G_BASIC ", function: Counter, mode: pristine,"
    " bind: typed}\n"
    "  - {path: /counter/warm, owner: demo, guest: " G_BASIC ", function: Counter, mode: warm, bind: typed}\n"
    "  - {path: /counter/fresh, owner: demo, guest: " G_BASIC ", function: Counter, mode: fresh, bind: typed}\n"
    "  - {path: /div/pristine, owner: demo, guest: " G_DIV ", function: DivZero, mode: pristine, bind: typed}\n"
    "  - {path: /div/warm, owner: demo, guest: " G_DIV ", function: DivZero, mode: warm, bind: typed}\n"
    "  - {path: /div/fresh, owner: demo, guest: " G_DIV ", function: DivZero, mode: fresh, bind: typed}\n"
    "  - {path: /assert, owner: demo, guest: " G_ABORTS ", function: AssertFail, bind: typed}\n"
    "  - {path: /abort, owner: demo, guest: " G_ABORTS ", function: Abort, bind: typed}\n"
    "  - {path: /limited, owner: limited, guest: " G_BASIC ", function: Nop, bind: typed}\n";

Test(glintd_http, own_endpoints, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    gd_expect(g, "GET", "/livez", NULL, NULL, 200, "ok");
    gd_expect(g, "GET", "/readyz", NULL, NULL, 200, "ready");
    struct hresp r = GD_GET(g, "/metrics");
    expect_resp(&r, 200, "# TYPE glintd_requests_total counter", "GET /metrics");
    char ct[200] = "";
    head_value(r.head, "content-type", ct, sizeof ct);
    cr_expect(strstr(ct, "text/plain"), "metrics content type %s", ct);
    cr_expect(metric_in(r.body, "glintd_requests_in_flight") >= 1, "in flight: %.300s", r.body);
    /* prefill 1: a sandbox ready before the first request.  (The pool's
     * background refill for min_idle can race glint_pool_create's prefill
     * and make a second one.) */
    double idle = metric_in(r.body, "glintd_sandboxes{route=\"/add\",owner=\"demo\",state=\"idle\"}");
    cr_expect(idle >= 1 && idle <= 2, "prefill 1 should leave one idle sandbox on /add, not %g", idle);
    hresp_free(&r);
    gd_expect_error(g, "POST", "/livez", NULL, "x", 405, "GLINTD_METHOD");
    gd_expect_error(g, "DELETE", "/metrics", NULL, NULL, 405, "GLINTD_METHOD");
    cr_expect(gdt_alive(g));
}

Test(glintd_http, mode_pristine_resets_state, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    for (int i = 0; i < 4; i++)
        gd_expect(g, "GET", "/counter/pristine", NULL, NULL, 200, "{\"result\":1}\n");
    EXPECT_METRIC(g, "glintd_requests_total{route=\"/counter/pristine\",owner=\"demo\",code=\"200\"}", 4);
    /* The sandbox went back to the pool: one live, idle. */
    EXPECT_METRIC(g, "glintd_sandboxes{route=\"/counter/pristine\",owner=\"demo\",state=\"live\"}", 1);
    EXPECT_METRIC(g, "glintd_sandboxes{route=\"/counter/pristine\",owner=\"demo\",state=\"idle\"}", 1);
    /* The library's pool metrics (glint_pool_get_metrics), counted on release. */
    EXPECT_METRIC(g, "glintd_pool_calls_total{route=\"/counter/pristine\",owner=\"demo\",status=\"ok\"}", 4);
    EXPECT_METRIC(g, "glintd_pool_releases_total{route=\"/counter/pristine\",owner=\"demo\",result=\"ok\"}", 4);
    EXPECT_METRIC(g, "glintd_pool_release_seconds_count{route=\"/counter/pristine\",owner=\"demo\"}", 4);
}

Test(glintd_http, mode_warm_keeps_state, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    for (int i = 1; i <= 4; i++) {
        char want[64];
        snprintf(want, sizeof want, "{\"result\":%d}\n", i);
        gd_expect(g, "GET", "/counter/warm", NULL, NULL, 200, want);
    }
    EXPECT_METRIC(g, "glintd_sandboxes{route=\"/counter/warm\",owner=\"demo\",state=\"live\"}", 1);
    /* A failed guest in a warm sandbox is restored: state is back to the snapshot's. */
    gd_expect_error(g, "GET", "/div/warm?d=0", NULL, NULL, 500, "GLINT_E_EXCEPTION");
    gd_expect(g, "GET", "/div/warm?d=4", NULL, NULL, 200, "{\"result\":25}");
}

Test(glintd_http, mode_fresh, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    for (int i = 0; i < 3; i++)
        gd_expect(g, "GET", "/counter/fresh", NULL, NULL, 200, "{\"result\":1}\n");
    /* Nothing kept between requests, and every acquire was a cold start. */
    EXPECT_METRIC(g, "glintd_sandboxes{route=\"/counter/fresh\",owner=\"demo\",state=\"live\"}", 0);
    EXPECT_METRIC(g, "glintd_cold_start_seconds_count{route=\"/counter/fresh\",owner=\"demo\"}", 3);
}

/* Busy keep-alive connections are never closed as slow clients.  The
 * reaper read the clock before taking its lock, so a connection whose
 * request had just ended looked like it had waited ~584 years and was shut
 * down mid-stream (wrk saw one read error every few seconds at 8
 * connections on fresh routes).  Four keep-alive clients for 3 s, with the
 * reaper running every 250 ms: no failure, no connection reaped. */
Test(glintd_http, keepalive_clients_are_not_reaped, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    struct loader l[4];
    for (int i = 0; i < 4; i++)
        loader_start(&l[i], g->port, i % 2 ? "/counter/fresh" : "/add?a=1&b=2", true, 200);
    usleep(3000 * 1000);
    long ok = 0;
    for (int i = 0; i < 4; i++) {
        loader_stop(&l[i]);
        cr_assert_eq(atomic_load(&l[i].failed), 0, "client %d: %ld failures, the first: %s", i,
                     (long)atomic_load(&l[i].failed), l[i].first_failure);
        ok += atomic_load(&l[i].ok);
    }
    cr_assert_gt(ok, 100, "only %ld requests in 3 s", ok);
    cr_assert_eq(gdt_log_count(g, "closed slow clients"), 0, "glintd reaped busy clients: %s", gdt_tail(g));
}

Test(glintd_http, typed_binding, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    /* The query string's values in order. */
    struct hresp r = GD_GET(g, "/add?a=40&b=2");
    expect_resp(&r, 200, NULL, "GET /add?a=40&b=2");
    cr_expect_str_eq(r.body, "{\"result\":42}\n");
    char ct[200] = "";
    head_value(r.head, "content-type", ct, sizeof ct);
    cr_expect_str_eq(ct, "application/json");
    hresp_free(&r);
    gd_expect(g, "GET", "/add?a=0x10&b=-1", NULL, NULL, 200, "{\"result\":15}");
    /* A JSON array body. */
    gd_expect(g, "POST", "/add", "Content-Type: application/json\r\n", "[40, 2]", 200, "{\"result\":42}");
    /* One string parameter takes a non-JSON body whole (raw result). */
    r = gd_req(g, "POST", "/echo", "Content-Type: text/plain\r\n", "h\xc3\xa9llo, world");
    expect_resp(&r, 200, NULL, "POST /echo");
    cr_expect_str_eq(r.body, "h\xc3\xa9llo, world");
    head_value(r.head, "content-type", ct, sizeof ct);
    cr_expect(strstr(ct, "text/plain"), "raw string result content type %s", ct);
    hresp_free(&r);
    gd_expect(g, "POST", "/echo/json", "Content-Type: application/json\r\n", "[\"a\\\"b\"]", 200,
              "{\"result\":\"a\\\"b\"}");
    /* void is null. */
    gd_expect(g, "GET", "/nop", NULL, NULL, 200, "{\"result\":null}");
    /* HEAD: the headers only. */
    r = gd_req(g, "HEAD", "/add?a=1&b=1", NULL, NULL);
    expect_resp(&r, 200, NULL, "HEAD /add");
    cr_expect_eq(r.body_len, 0);
    hresp_free(&r);
}

Test(glintd_http, error_400_bad_arguments, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    const char *json = "Content-Type: application/json\r\n";
    gd_expect_error(g, "GET", "/add?a=x&b=2", NULL, NULL, 400, "GLINTD_BAD_ARGUMENTS");
    gd_expect_error(g, "GET", "/add?a=1", NULL, NULL, 400, "GLINTD_BAD_ARGUMENTS");
    gd_expect_error(g, "GET", "/add?a=1&b=2&c=3", NULL, NULL, 400, "GLINTD_BAD_ARGUMENTS");
    gd_expect_error(g, "GET", "/add?a=99999999999&b=1", NULL, NULL, 400, "GLINTD_BAD_ARGUMENTS");
    gd_expect_error(g, "GET", "/add?a=%zz&b=1", NULL, NULL, 400, "GLINTD_BAD_ARGUMENTS");
    gd_expect_error(g, "POST", "/add", json, "[1]", 400, "GLINTD_BAD_ARGUMENTS");
    gd_expect_error(g, "POST", "/add", json, "[1, \"two\"]", 400, "GLINTD_BAD_ARGUMENTS");
    gd_expect_error(g, "POST", "/add", json, "{\"a\": 1", 400, "GLINTD_BAD_ARGUMENTS");
    gd_expect_error(g, "POST", "/echo", "Content-Type: text/plain\r\n", "bad \xff utf-8", 400,
                    "GLINTD_BAD_ARGUMENTS");
    /* None of that reached a guest. */
    double calls = gd_metric(g, "glintd_guest_call_seconds_count{route=\"/add\",owner=\"demo\"}");
    cr_expect_eq(calls, 0, "guest calls on /add: %g", calls);
    EXPECT_METRIC(g, "glintd_requests_total{route=\"/add\",owner=\"demo\",code=\"400\"}", 8);
}

Test(glintd_http, error_404_405, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    gd_expect_error(g, "GET", "/nope", NULL, NULL, 404, "GLINTD_NO_ROUTE");
    gd_expect_error(g, "GET", "/add/more", NULL, NULL, 404, "GLINTD_NO_ROUTE"); /* exact match */
    gd_expect_error(g, "DELETE", "/add", NULL, NULL, 405, "GLINTD_METHOD");
    gd_expect_error(g, "GET", "/echo", NULL, NULL, 405, "GLINTD_METHOD");
    gd_expect_error(g, "BREW", "/add", NULL, NULL, 405, "GLINTD_METHOD");
    EXPECT_METRIC(g, "glintd_requests_total{route=\"\",owner=\"\",code=\"404\"}", 2);
    EXPECT_METRIC(g, "glintd_requests_total{route=\"\",owner=\"\",code=\"405\"}", 3);
}

/* A chunked request body of `nchunks` chunks of `size` bytes of 'c'. */
static char *chunked_request(const char *path, int nchunks, size_t size, size_t *len)
{
    size_t cap = 512 + (size_t)nchunks * (size + 32);
    char *p = malloc(cap);
    if (!p)
        abort();
    size_t n = (size_t)snprintf(p, cap,
                                "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n",
                                path);
    for (int i = 0; i < nchunks; i++) {
        n += (size_t)snprintf(p + n, cap - n, "%zx\r\n", size);
        memset(p + n, 'c', size);
        n += size;
        memcpy(p + n, "\r\n", 2);
        n += 2;
    }
    n += (size_t)snprintf(p + n, cap - n, "0\r\n\r\n");
    *len = n;
    return p;
}

Test(glintd_http, error_413_content_length, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    /* demo's max_body is 16K. */
    char *big = malloc(20001);
    memset(big, 'b', 20000);
    big[20000] = 0;
    struct hresp r = gd_req(g, "POST", "/echo", "Content-Type: text/plain\r\n", big);
    expect_error(&r, 413, "GLINTD_BODY_TOO_LARGE", "POST /echo 20000 bytes");
    cr_expect(r.conn_close, "413 without Connection: close: %s", r.head);
    hresp_free(&r);
    /* Exactly at the limit is fine. */
    big[16384] = 0;
    r = gd_req(g, "POST", "/echo", "Content-Type: text/plain\r\n", big);
    expect_resp(&r, 200, NULL, "POST /echo 16384 bytes");
    cr_expect_eq(r.body_len, 16384);
    hresp_free(&r);
    free(big);
    /* Arguments larger than the guest's input buffer (small: 4K): glint's 413. */
    char mid[6001];
    memset(mid, 'm', 6000);
    mid[6000] = 0;
    gd_expect_error(g, "POST", "/echo/small", "Content-Type: text/plain\r\n", mid, 413, "GLINT_E_TOO_LARGE");
    EXPECT_METRIC(g, "glintd_owner_rejections_total{owner=\"demo\",reason=\"body_size\"}", 1);
    gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
}

Test(glintd_http, error_413_chunked, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    /* Under the limit, chunked: read whole. */
    size_t n;
    char *raw = chunked_request("/echo", 3, 1000, &n);
    struct hresp r;
    int rc = http_raw(g->port, raw, n, &r, 10000);
    free(raw);
    cr_assert_eq(rc, H_OK, "chunked 3000 bytes: %s", h_err(rc));
    expect_resp(&r, 200, NULL, "chunked 3000 bytes");
    cr_expect_eq(r.body_len, 3000);
    hresp_free(&r);
    /* Over it (4 x 8K against 16K): a 413, whatever the framing. */
    raw = chunked_request("/echo", 4, 8192, &n);
    rc = http_raw(g->port, raw, n, &r, 10000);
    free(raw);
    cr_expect_eq(rc, H_OK, "chunked 32K over max_body 16K: no response (%s); glintd stderr:\n%s", h_err(rc),
                 gdt_tail(g));
    if (rc == H_OK) {
        expect_error(&r, 413, "GLINTD_BODY_TOO_LARGE", "chunked 32K");
        hresp_free(&r);
    }
    cr_expect(gdt_alive(g));
    gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
    EXPECT_METRIC(g, "glintd_owner_rejections_total{owner=\"demo\",reason=\"body_size\"}", 1);
}

Test(glintd_http, error_429_rate, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    /* limited: rate 1, burst 1. */
    double t0 = th_now_ms();
    gd_expect(g, "GET", "/limited", NULL, NULL, 200, "{\"result\":null}");
    gd_expect_error(g, "GET", "/limited", NULL, NULL, 429, "GLINTD_RATE_LIMITED");
    double t1 = th_now_ms();
    cr_assert(t1 - t0 < 900, "the two requests took %.0f ms: too slow to test a rate of 1/s", t1 - t0);
    /* Other owners are not limited by it. */
    gd_expect(g, "GET", "/nop", NULL, NULL, 200, NULL);
    EXPECT_METRIC(g, "glintd_owner_rejections_total{owner=\"limited\",reason=\"rate\"}", 1);
    EXPECT_METRIC(g, "glintd_requests_total{route=\"/limited\",owner=\"limited\",code=\"429\"}", 1);
    /* The bucket refills: within about a second a request passes again. */
    int status = 0;
    double end = th_now_ms() + 5000;
    while (th_now_ms() < end) {
        struct hresp r = GD_GET(g, "/limited");
        status = r.status;
        hresp_free(&r);
        if (status == 200)
            break;
        th_sleep_ms(50);
    }
    cr_expect_eq(status, 200, "still limited 5 s later");
    cr_expect(th_now_ms() - t0 >= 800, "refilled after only %.0f ms at 1 request/s", th_now_ms() - t0);
}

Test(glintd_http, guest_exception_500_then_route_works, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    const char *modes[] = {"pristine", "warm", "fresh"};
    for (int i = 0; i < 3; i++) {
        char path[100], series[200];
        snprintf(path, sizeof path, "/div/%s?d=0", modes[i]);
        struct hresp r = GD_GET(g, path);
        expect_error(&r, 500, "GLINT_E_EXCEPTION", path);
        cr_expect(strstr(r.body, "divide error"), "%s: message %s", path, r.body);
        hresp_free(&r);
        snprintf(path, sizeof path, "/div/%s?d=5", modes[i]);
        gd_expect(g, "GET", path, NULL, NULL, 200, "{\"result\":20}");
        snprintf(series, sizeof series,
                 "glintd_guest_failures_total{route=\"/div/%s\",owner=\"demo\",kind=\"exception\"}", modes[i]);
        EXPECT_METRIC(g, series, 1);
    }
}

Test(glintd_http, guest_abort_500_then_route_works, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    gd_expect_error(g, "GET", "/assert?x=2", NULL, NULL, 500, "GLINT_E_ABORT");
    gd_expect(g, "GET", "/assert?x=1", NULL, NULL, 200, "{\"result\":1}");
    gd_expect_error(g, "GET", "/abort", NULL, NULL, 500, "GLINT_E_ABORT");
    gd_expect_error(g, "GET", "/abort", NULL, NULL, 500, "GLINT_E_ABORT");
    EXPECT_METRIC(g, "glintd_guest_failures_total{route=\"/abort\",owner=\"demo\",kind=\"abort\"}", 2);
    EXPECT_METRIC(g, "glintd_guest_failures_total{route=\"/assert\",owner=\"demo\",kind=\"abort\"}", 1);
    gd_expect(g, "GET", "/add?a=2&b=2", NULL, NULL, 200, "{\"result\":4}");
}

Test(glintd_http, keepalive_reuses_the_connection, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_main);
    struct hconn c;
    double dl = th_now_ms() + 20000;
    cr_assert_eq(hc_open(&c, g->port, dl), H_OK);
    /* Requests one after the other on one socket, of several kinds. */
    const char *paths[] = {"/add?a=1&b=1", "/nope", "/add?a=2&b=2", "/counter/warm", "/counter/warm",
                           "/add?a=3&b=3"};
    const char *want[] = {"{\"result\":2}", "GLINTD_NO_ROUTE", "{\"result\":4}", "{\"result\":1}",
                          "{\"result\":2}", "{\"result\":6}"};
    for (int i = 0; i < 6; i++) {
        size_t n;
        char *raw = req_build(i == 2 ? "HEAD" : "GET", paths[i], NULL, NULL, 0, &n);
        cr_assert_eq(hc_send(&c, raw, n, dl), H_OK, "send %d", i);
        free(raw);
        struct hresp r;
        int rc = hc_read(&c, &r, i == 2, dl);
        cr_assert_eq(rc, H_OK, "request %d (%s) on the kept connection: %s", i, paths[i], h_err(rc));
        cr_expect(!r.conn_close, "request %d: Connection: close: %s", i, r.head);
        if (i != 2)
            cr_expect(strstr(r.body, want[i]), "request %d: body %s lacks %s", i, r.body, want[i]);
        hresp_free(&r);
    }
    /* Pipelined: three requests in one write, three answers in order. */
    char pipe3[600];
    int n = snprintf(pipe3, sizeof pipe3,
                     "GET /add?a=10&b=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /add?a=20&b=2 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /add?a=30&b=3 HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(hc_send(&c, pipe3, (size_t)n, dl), H_OK);
    const char *pw[] = {"{\"result\":11}", "{\"result\":22}", "{\"result\":33}"};
    for (int i = 0; i < 3; i++) {
        struct hresp r;
        int rc = hc_read(&c, &r, false, dl);
        cr_assert_eq(rc, H_OK, "pipelined %d: %s", i, h_err(rc));
        cr_expect(strstr(r.body, pw[i]), "pipelined %d: %s, want %s", i, r.body, pw[i]);
        hresp_free(&r);
    }
    hc_close(&c);
}

/* Sends GET path on c and reads the answer: H_OK with the body checked,
 * or why not (a connection glintd closed at once reads H_CLOSED). */
static int kept_get(struct hconn *c, const char *path, const char *want, double dl)
{
    size_t n;
    char *raw = req_build("GET", path, NULL, NULL, 0, &n);
    int rc = hc_send(c, raw, n, dl);
    free(raw);
    struct hresp r;
    if (rc == H_OK && (rc = hc_read(c, &r, false, dl)) == H_OK) {
        cr_expect(strstr(r.body, want), "GET %s: %s, want %s", path, r.body, want);
        hresp_free(&r);
    }
    return rc;
}

/* Connections opened together (a proxy's pool) spread over the workers:
 * glintd's acceptor gives each to the worker with the fewest requests in
 * progress, then the fewest connections (workers that accept for
 * themselves take up to ten at a time each). */
Test(glintd_http, connections_spread_over_workers, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(Y_LISTEN
                              "server: {threads: 4, access_log: false}\n"
                              Y_DEMO_ADD);
    enum { N = 8 };
    struct hconn c[N];
    double dl = th_now_ms() + 20000;
    for (int i = 0; i < N; i++)
        cr_assert_eq(hc_open(&c[i], g->port, dl), H_OK, "connection %d", i);
    for (int i = 0; i < N; i++)
        cr_assert_eq(kept_get(&c[i], "/add?a=1&b=2", "{\"result\":3}", dl), H_OK, "connection %d", i);
    /* /metrics comes on a ninth connection: 3, 2, 2, 2 in some order. */
    char *text = gd_metrics(g);
    double sum = 0;
    for (int w = 0; w < 4; w++) {
        char series[64];
        snprintf(series, sizeof series, "glintd_connections{worker=\"%d\"}", w);
        double v = metric_in(text, series);
        cr_expect(v == 2 || v == 3, "%s = %g, want 2 or 3 (9 connections over 4 workers):\n%s", series, v,
                  text);
        sum += v;
    }
    cr_expect(sum == N + 1, "connections counted: %g, want %d", sum, N + 1);
    free(text);
    for (int i = 0; i < N; i++)
        hc_close(&c[i]);
    /* Closed connections are counted out: soon only /metrics' own is left. */
    double end = th_now_ms() + 5000, left = -1;
    for (;;) {
        text = gd_metrics(g);
        left = 0;
        for (int w = 0; w < 4; w++) {
            char series[64];
            snprintf(series, sizeof series, "glintd_connections{worker=\"%d\"}", w);
            left += metric_in(text, series);
        }
        free(text);
        if (left == 1 || th_now_ms() > end)
            break;
        th_sleep_ms(20);
    }
    cr_expect_eq(left, 1, "connections counted after the clients closed: %g, want 1 (/metrics' own)", left);
}

/* The connection limits hold across the workers.  A connection over the
 * limit per client address is closed as soon as it is accepted, and
 * counted; one over max_connections waits (in the listen backlog) until
 * another closes, then is served. */
Test(glintd_hostile, connection_limits_across_workers, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    enum { N = 6 };
    struct hconn c[N];
    double dl = th_now_ms() + 30000;
    /* Per address: 3. */
    struct gdt *g = gdt_start(Y_LISTEN
                              "server: {threads: 4, max_connections: 100, max_connections_per_ip: 3,"
                              " access_log: false}\n"
                              Y_DEMO_ADD);
    int served = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(hc_open(&c[i], g->port, dl), H_OK, "connection %d", i);
        /* One at a time: each is accepted (or refused) before the next. */
        int rc = kept_get(&c[i], "/add?a=2&b=3", "{\"result\":5}", dl);
        cr_expect_eq(rc, i < 3 ? H_OK : H_CLOSED, "connection %d (limit 3 per address): %s", i, h_err(rc));
        served += rc == H_OK;
    }
    cr_expect_eq(served, 3, "3 per address: %d of %d served", served, N);
    for (int i = 0; i < N; i++)
        hc_close(&c[i]);
    /* Once those are gone, /metrics has room and says why (a try made
     * before glintd has seen them close is refused too, and counted). */
    double last = -1, end = th_now_ms() + 5000;
    int mine = 0;
    for (;;) {
        struct hresp r;
        int rc = http_do(g->port, "GET", "/metrics", NULL, NULL, &r, 5000);
        if (rc == H_OK && r.status == 200) {
            last = metric_in(r.body, "glintd_connections_refused_total{limit=\"max_connections_per_ip\"}");
            hresp_free(&r);
            break;
        }
        if (rc == H_OK)
            hresp_free(&r);
        mine += rc == H_CLOSED;
        cr_assert(th_now_ms() < end, "/metrics never had room after the clients closed");
        th_sleep_ms(20);
    }
    cr_expect_eq(last, 3 + mine, "connections refused over the limit per address: %g, want %d", last, 3 + mine);
    cr_expect_eq(gdt_stop(g, SIGTERM, 15000), 0, "glintd's exit code after SIGTERM");

    /* In all: 3.  The fourth waits until one of the three closes. */
    g = gdt_start(Y_LISTEN
                  "server: {threads: 4, max_connections: 3, max_connections_per_ip: 100, access_log: false}\n"
                  Y_DEMO_ADD);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(hc_open(&c[i], g->port, dl), H_OK, "connection %d", i);
        cr_assert_eq(kept_get(&c[i], "/add?a=1&b=2", "{\"result\":3}", dl), H_OK, "connection %d", i);
    }
    cr_assert_eq(hc_open(&c[3], g->port, dl), H_OK, "the fourth connects (the kernel's backlog)");
    size_t n;
    char *raw = req_build("GET", "/add?a=4&b=4", NULL, NULL, 0, &n);
    cr_assert_eq(hc_send(&c[3], raw, n, dl), H_OK);
    free(raw);
    struct hresp r;
    int rc = hc_read(&c[3], &r, false, th_now_ms() + 500);
    cr_expect_eq(rc, H_TIMEOUT, "the fourth over max_connections 3 was answered (%s) while three were open",
                 h_err(rc));
    if (rc == H_OK)
        hresp_free(&r);
    double t0 = th_now_ms();
    hc_close(&c[0]);
    rc = hc_read(&c[3], &r, false, th_now_ms() + 5000);
    cr_assert_eq(rc, H_OK, "the fourth after one of the three closed: %s", h_err(rc));
    cr_expect(strstr(r.body, "{\"result\":8}"), "the fourth: %s", r.body);
    hresp_free(&r);
    cr_expect(th_now_ms() - t0 < 1000, "the fourth waited %.0f ms after a connection closed", th_now_ms() - t0);
    for (int i = 1; i < 4; i++)
        hc_close(&c[i]);
    cr_assert(gdt_alive(g), "glintd died; stderr:\n%s", gdt_tail(g));
}

/* ---- the HTTP binding (examples/http/http-guest.elf) ---- */

static const char cfg_http[] = Y_LISTEN
    "server: {threads: 4}\n"
    "owners:\n"
    "  web: {timeout_ms: 3000, max_body: 64K}\n"
    "routes:\n"
    "  - {path: /hello, methods: [GET, POST, PUT], owner: web, guest: " G_HTTP ", function: Hello, bind: http}\n"
    "  - {path: /echo, match: prefix, methods: [GET, POST, PUT, DELETE], owner: web, guest: " G_HTTP
    ", function: Echo, bind: http}\n"
    "  - {path: /count/pristine, owner: web, guest: " G_HTTP ", function: Count, mode: pristine, bind: http}\n"
    "  - {path: /count/warm, owner: web, guest: " G_HTTP ", function: Count, mode: warm, bind: http}\n"
    "  - {path: /count/fresh, owner: web, guest: " G_HTTP ", function: Count, mode: fresh, bind: http}\n"
    "  - {path: /fail, owner: web, guest: " G_HTTP ", function: Fail, bind: http}\n";

Test(glintd_http, http_binding_hello_echo, .timeout = 60)
{
    need_http_guest();
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_http);
    struct hresp r = GD_GET(g, "/hello?name=Ada");
    expect_resp(&r, 200, NULL, "GET /hello?name=Ada");
    cr_expect_str_eq(r.body, "Hello, Ada!\n");
    char v[200] = "";
    head_value(r.head, "content-type", v, sizeof v);
    cr_expect(strstr(v, "text/plain"), "content type %s", v);
    hresp_free(&r);
    gd_expect(g, "GET", "/hello?name=J%C3%BCrgen+M", NULL, NULL, 200, "Hello, J\xc3\xbcrgen M!");
    gd_expect(g, "GET", "/hello", NULL, NULL, 200, "Hello, world!");
    /* The guest's own status and headers. */
    r = gd_req(g, "PUT", "/hello", NULL, "x");
    expect_resp(&r, 405, "method not allowed", "PUT /hello");
    cr_expect(head_value(r.head, "allow", v, sizeof v) && strstr(v, "GET") && strstr(v, "POST"),
              "no Allow header from the guest: %s", r.head);
    hresp_free(&r);
    /* The request as the guest saw it (prefix route). */
    r = gd_req(g, "POST", "/echo/some/where?q=1&z=%20", "X-Test: yes\r\nContent-Type: text/plain\r\n", "abc");
    expect_resp(&r, 200, NULL, "POST /echo/some/where");
    cr_expect(strstr(r.body, "\"method\":\"POST\""), "%s", r.body);
    cr_expect(strstr(r.body, "\"path\":\"/echo/some/where\""), "%s", r.body);
    cr_expect(strstr(r.body, "\"query\":\"q=1&z=%20\""), "%s", r.body);
    cr_expect(strstr(r.body, "[\"x-test\",\"yes\"]"), "%s", r.body);
    cr_expect(strstr(r.body, "\"body\":\"abc\""), "%s", r.body);
    hresp_free(&r);
    /* glintd's own errors around it. */
    gd_expect_error(g, "PATCH", "/echo/x", NULL, NULL, 405, "GLINTD_METHOD");
    gd_expect_error(g, "GET", "/echoes", NULL, NULL, 404, "GLINTD_NO_ROUTE");
}

/* Request i (from 0) to cfg_http's warm counter sees the count i. */
static void expect_warm_count(struct gdt *g, int i)
{
    char want[32];
    snprintf(want, sizeof want, "%d\n", i);
    struct hresp r = GD_GET(g, "/count/warm");
    expect_resp(&r, 200, NULL, "GET /count/warm");
    cr_assert_str_eq(r.body, want, "request %d to the warm route saw the count %s", i, r.body);
    hresp_free(&r);
}

Test(glintd_http, http_binding_modes_and_failure, .timeout = 60)
{
    need_http_guest();
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_http);
    for (int i = 0; i < 3; i++) {
        expect_warm_count(g, i);
        struct hresp r = GD_GET(g, "/count/pristine");
        expect_resp(&r, 200, NULL, "GET /count/pristine");
        cr_expect_str_eq(r.body, "0\n", "pristine count");
        hresp_free(&r);
        r = GD_GET(g, "/count/fresh");
        expect_resp(&r, 200, NULL, "GET /count/fresh");
        cr_expect_str_eq(r.body, "0\n", "fresh count");
        hresp_free(&r);
    }
    /* A guest failure is a 500 for that request only. */
    gd_expect_error(g, "GET", "/fail", NULL, NULL, 500, "GLINT_E_ABORT");
    gd_expect_error(g, "GET", "/fail", NULL, NULL, 500, "GLINT_E_ABORT");
    gd_expect(g, "GET", "/hello?name=after", NULL, NULL, 200, "Hello, after!");
    gd_expect(g, "GET", "/count/warm", NULL, NULL, 200, "3\n");
    EXPECT_METRIC(g, "glintd_guest_failures_total{route=\"/fail\",owner=\"web\",kind=\"abort\"}", 2);
}

/* A warm route's sandbox is given back before its response is sent
 * (server.c: run_route, from MHD's access handler): a client that sends its
 * next request as soon as an answer arrives (here on a new connection each
 * time, so any of the 4 worker threads may take it) always finds the one
 * sandbox, with its state, and never makes a second. */
Test(glintd_http, warm_state_seen_by_the_next_request, .timeout = 60)
{
    need_http_guest();
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_http);
    for (int i = 0; i < 300; i++) {
        expect_warm_count(g, i);
    }
    EXPECT_METRIC(g, "glintd_sandboxes{route=\"/count/warm\",owner=\"web\",state=\"live\"}", 1);
}

/* glintd's idle reaper (every 250 ms) must not take a warm sandbox that was
 * just given back: it read the time before it looked at a route, and a
 * sandbox given back in between seemed idle for 2^64 ns, so a warm
 * route's state was lost now and then.  GLINTD_TEST_REAP_PAUSE_US holds
 * each round 200 ms before it looks, so requests always land in between. */
Test(glintd_http, warm_state_survives_the_idle_reaper, .timeout = 60)
{
    need_http_guest();
    SKIP_IF_NO_KVM();
    setenv("GLINTD_TEST_REAP_PAUSE_US", "200000", 1);
    struct gdt *g = gdt_start(cfg_http);
    unsetenv("GLINTD_TEST_REAP_PAUSE_US");
    int i = 0;
    for (double end = th_now_ms() + 1500; th_now_ms() < end; i++) {
        expect_warm_count(g, i);
        th_sleep_ms(2);
    }
    cr_log_info("warm route: %d requests over 1.5 s (6 reaper rounds), one sandbox throughout", i);
    EXPECT_METRIC(g, "glintd_sandboxes{route=\"/count/warm\",owner=\"web\",state=\"live\"}", 1);
}

/* ===========================================================================
 * glintd_hostile: guests that spin, crash and flood; clients that send
 * garbage, huge headers, trickle, or open a thousand connections; an owner
 * flooding its route.
 */

static const char cfg_slow[] = Y_LISTEN
    "server: {threads: 6, access_log: true}\n"
    "owners:\n"
    "  demo: {timeout_ms: 3000}\n"
    "  slow: {timeout_ms: 1000}\n"
    "  single: {timeout_ms: 1000, max_concurrency: 1}\n"
    "routes:\n"
    "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n"
    "  - {path: /spin, owner: slow, guest: " G_SPIN ", function: Spin, bind: typed}\n"
    "  - {path: /spin/nop, owner: slow, guest: " G_SPIN ", function: Nop, bind: typed}\n"
    "  - {path: /single/spin, owner: single, guest: " G_SPIN ", function: Spin, bind: typed}\n"
    "  - {path: /single/nop, owner: single, guest: " G_SPIN ", function: Nop, bind: typed}\n";

Test(glintd_hostile, spin_504_while_others_answer, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_slow);
    /* Alone: a 504 after the 1000 ms limit, not much later. */
    double t0 = th_now_ms();
    struct hresp r = GD_GET(g, "/spin");
    double took = th_now_ms() - t0;
    expect_error(&r, 504, "GLINT_E_TIMEOUT", "GET /spin");
    cr_expect(strstr(r.body, "time limit of 1000 ms"), "504 message: %s", r.body);
    hresp_free(&r);
    cr_expect(took >= 950 && took < 1000 + 1500, "504 after %.0f ms for a 1000 ms limit", took);

    /* While one spins, other routes answer at once, on new connections. */
    struct bg b;
    bg_start(&b, g->port, "GET", "/spin", 15000);
    double last = 0;
    cr_assert(gd_wait_metric(g, "glintd_owner_sandboxes_in_use{owner=\"slow\"}", 1, 5000, &last),
              "the spin never showed in use (%g); background request done %d rc %d status %d after %.0f ms",
              last, atomic_load(&b.done), b.rc, b.r.status, b.end_ms - b.start_ms);
    for (int i = 0; i < 5; i++) {
        double s = th_now_ms();
        gd_expect(g, "GET", "/add?a=20&b=22", NULL, NULL, 200, "{\"result\":42}");
        double ms = th_now_ms() - s;
        cr_expect(ms < 300, "/add took %.0f ms while a guest spun", ms);
    }
    cr_expect(!atomic_load(&b.done), "the spin ended before the fast requests did: cannot tell");
    bg_join(&b);
    cr_assert_eq(b.rc, H_OK, "spin in the background: %s", h_err(b.rc));
    expect_error(&b.r, 504, "GLINT_E_TIMEOUT", "background /spin");
    hresp_free(&b.r);
    /* The owner's other route, and the same guest, still work. */
    gd_expect(g, "GET", "/spin/nop", NULL, NULL, 200, "{\"result\":null}");
    EXPECT_METRIC(g, "glintd_time_limit_hits_total{route=\"/spin\",owner=\"slow\"}", 2);
    EXPECT_METRIC(g, "glintd_guest_failures_total{route=\"/spin\",owner=\"slow\",kind=\"timeout\"}", 2);
    EXPECT_METRIC(g, "glintd_requests_total{route=\"/spin\",owner=\"slow\",code=\"504\"}", 2);
}

/* Sends `raw` on c and reads the answer: its latency in ms (status in *status). */
static double timed_req(struct hconn *c, const char *raw, int *status, double dl)
{
    double t0 = th_now_ms();
    struct hresp r;
    cr_assert_eq(hc_send(c, raw, strlen(raw), dl), H_OK);
    int rc = hc_read(c, &r, false, dl);
    cr_assert_eq(rc, H_OK, "kept connection: %s", h_err(rc));
    *status = r.status;
    hresp_free(&r);
    return th_now_ms() - t0;
}

Test(glintd_hostile, slow_guest_blocks_no_other_connection, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    /* The default server (a thread per connection), eight kept connections opened together (as a
     * browser or a proxy would) and each used once. */
    struct gdt *g = gdt_start(Y_LISTEN
                              "server: {}\n"
                              "owners:\n  demo: {timeout_ms: 3000}\n  slow: {timeout_ms: 1000}\n"
                              "routes:\n"
                              "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n"
                              "  - {path: /spin, owner: slow, guest: " G_SPIN ", function: Spin, bind: typed}\n");
    enum { NC = 8 };
    struct hconn c[NC];
    double dl = th_now_ms() + 40000;
    for (int i = 0; i < NC; i++)
        cr_assert_eq(hc_connect_start(&c[i], g->port), H_OK);
    for (int i = 0; i < NC; i++)
        cr_assert_eq(hc_connect_finish(&c[i], dl), H_OK);
    static const char add[] = "GET /add?a=1&b=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char spin[] = "GET /spin HTTP/1.1\r\nHost: x\r\n\r\n";
    int status;
    for (int i = 0; i < NC; i++) {
        timed_req(&c[i], add, &status, dl);
        cr_assert_eq(status, 200);
    }
    /* A guest spins for its 1000 ms on connection 0, and then on 1; the
     * others ask for a sum meanwhile.  (If every other connection is on
     * the other thread than 0, then 2..7 share 1's.) */
    int blocked = 0;
    double worst = 0;
    for (int s = 0; s < 2 && !blocked; s++) {
        cr_assert_eq(hc_send(&c[s], spin, sizeof spin - 1, dl), H_OK);
        th_sleep_ms(50); /* into the guest */
        for (int i = s + 1; i < NC; i++) {
            double ms = timed_req(&c[i], add, &status, dl);
            cr_expect_eq(status, 200);
            worst = ms > worst ? ms : worst;
            blocked += ms >= 600;
        }
        struct hresp r;
        cr_assert_eq(hc_read(&c[s], &r, false, dl), H_OK);
        expect_error(&r, 504, "GLINT_E_TIMEOUT", "the spin");
        hresp_free(&r);
    }
    for (int i = 0; i < NC; i++)
        hc_close(&c[i]);
    cr_expect(blocked == 0,
              "%d requests on kept connections waited behind a guest spinning on another connection"
              " (worst %.0f ms): a guest call holds its worker thread and every connection that thread accepted",
              blocked, worst);
}

Test(glintd_hostile, concurrency_429_while_one_runs, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_slow);
    /* single: max_concurrency 1; a spin holds it for its 1000 ms limit. */
    struct bg b;
    bg_start(&b, g->port, "GET", "/single/spin", 15000);
    double last = 0;
    cr_assert(gd_wait_metric(g, "glintd_owner_sandboxes_in_use{owner=\"single\"}", 1, 5000, &last),
              "the spin never showed in use (%g)", last);
    gd_expect_error(g, "GET", "/single/nop", NULL, NULL, 429, "GLINTD_CONCURRENCY_LIMITED");
    gd_expect_error(g, "GET", "/single/spin", NULL, NULL, 429, "GLINTD_CONCURRENCY_LIMITED");
    cr_expect(!atomic_load(&b.done), "the spin ended before the 429s: cannot tell");
    /* Other owners are not limited by it. */
    gd_expect(g, "GET", "/add?a=1&b=1", NULL, NULL, 200, "{\"result\":2}");
    bg_join(&b);
    cr_assert_eq(b.rc, H_OK, "%s", h_err(b.rc));
    expect_error(&b.r, 504, "GLINT_E_TIMEOUT", "background /single/spin");
    hresp_free(&b.r);
    /* Released: the owner runs again. */
    gd_expect(g, "GET", "/single/nop", NULL, NULL, 200, "{\"result\":null}");
    EXPECT_METRIC(g, "glintd_owner_rejections_total{owner=\"single\",reason=\"concurrency\"}", 2);
    EXPECT_METRIC(g, "glintd_owner_sandboxes_in_use{owner=\"single\"}", 0);
}

static const char cfg_flood[] = Y_LISTEN
    "server: {threads: 2, access_log: true}\n"
    "owners:\n"
    "  demo: {timeout_ms: 20000}\n"
    "routes:\n"
    "  - {path: /flood, owner: demo, guest: " G_FLOOD ", function: Flood, bind: typed, grant: [print]}\n"
    "  - {path: /flood/nogrant, owner: demo, guest: " G_FLOOD ", function: Flood, bind: typed}\n"
    "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n";

Test(glintd_hostile, print_flood_is_cut, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_flood);
    size_t before;
    free(gdt_slurp(g->err, &before));
    for (int round = 1; round <= 2; round++) {
        double t0 = th_now_ms();
        gd_expect(g, "GET", "/flood?n=10000", NULL, NULL, 200, "{\"result\":10000}");
        cr_expect(th_now_ms() - t0 < 15000, "10,000 prints took %.0f ms", th_now_ms() - t0);
        /* 64 lines per call logged, the rest counted as dropped. */
        EXPECT_METRIC(g, "glintd_guest_prints_total{route=\"/flood\",owner=\"demo\",result=\"logged\"}", 64 * round);
        EXPECT_METRIC(g, "glintd_guest_prints_total{route=\"/flood\",owner=\"demo\",result=\"dropped\"}",
                      (10000 - 64) * round);
    }
    size_t after;
    char *log = gdt_slurp(g->err, &after);
    cr_expect_eq(gdt_count(log, "\"msg\":\"guest print\""), 128, "guest print lines in the log");
    cr_expect(strstr(log, "\"owner\":\"demo\",\"route\":\"/flood\",\"text\":\"flood line 1 of 10000\""),
              "no first flood line in the log");
    cr_expect(!strstr(log, "flood line 65 of"), "line 65 was logged");
    cr_expect(after - before < 64 * 1024, "stderr grew by %zu bytes for 20,000 prints", after - before);
    free(log);
    /* Not granted: print fails in the guest, nothing is logged. */
    gd_expect(g, "GET", "/flood/nogrant?n=100", NULL, NULL, 200, "{\"result\":0}");
    cr_expect_eq(gdt_log_count(g, "\"msg\":\"guest print\""), 128);
    gd_expect(g, "GET", "/add?a=1&b=1", NULL, NULL, 200, "{\"result\":2}");
}

/* W3C trace context: a valid traceparent is continued (same trace id, the
 * caller's span as parent, a new span id for the request); none or a
 * malformed one starts a new trace.  The response and the access log carry
 * the ids. */
static void traceparent_of(const struct hresp *r, char *out, size_t size)
{
    const char *h = strstr(r->head, "\ntraceparent: ");
    cr_assert_not_null(h, "no traceparent in the response:\n%s", r->head);
    h += strlen("\ntraceparent: ");
    size_t n = strcspn(h, "\r\n");
    cr_assert_eq(n, 55, "traceparent '%.*s'", (int)n, h);
    snprintf(out, size, "%.*s", (int)n, h);
}

Test(glintd_http, traceparent_continued_or_started, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(Y_LISTEN "owners:\n  demo: {}\nroutes:\n"
                              "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n");
    const char *in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    struct hresp r = gd_req(g, "GET", "/add?a=1&b=2",
                            "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n", NULL);
    expect_resp(&r, 200, "{\"result\":3}", "traced");
    char tp[64];
    traceparent_of(&r, tp, sizeof tp);
    cr_assert(!strncmp(tp, in, 36), "trace id not continued: %s", tp);
    cr_assert(strncmp(tp + 36, in + 36, 16) != 0, "the request's span id is the caller's: %s", tp);
    cr_assert(!strcmp(tp + 52, "-01"), "flags: %s", tp);
    hresp_free(&r);
    cr_assert(gdt_wait_log(g, "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"", 1, 3000),
              "no trace id in the access log:\n%s", gdt_tail(g));
    cr_expect_eq(gdt_log_count(g, "\"parent_span_id\":\"00f067aa0ba902b7\""), 1);
    /* None, and malformed ones: a new trace each time. */
    const char *bad[] = {NULL, "traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01\r\n",
                         "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01\r\n",
                         "traceparent: zz\r\n"};
    char first[64] = "";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = gd_req(g, "GET", "/add?a=1&b=2", bad[i], NULL);
        expect_resp(&r, 200, "{\"result\":3}", "untraced");
        traceparent_of(&r, tp, sizeof tp);
        cr_assert(strncmp(tp, in, 36) != 0 && strncmp(tp, "00-", 3) == 0, "case %zu: %s", i, tp);
        cr_assert(strncmp(tp, first, 36) != 0, "case %zu reused a trace id: %s", i, tp);
        snprintf(first, sizeof first, "%s", tp);
        hresp_free(&r);
    }
    /* Errors carry it too. */
    r = gd_req(g, "GET", "/nope", NULL, NULL);
    expect_resp(&r, 404, NULL, "404");
    traceparent_of(&r, tp, sizeof tp);
    hresp_free(&r);
    cr_expect_eq(gdt_stop(g, SIGTERM, 10000), 0);
}

/* A WebAssembly module as a route's guest: typed calls with numbers and a
 * string, pristine (from the pool) and fresh, on each backend. */
Test(glintd_http, wasm_guest_routes, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(Y_LISTEN "owners:\n  demo: {}\nroutes:\n"
                              "  - {path: /wasm/add, owner: demo, guest: " GLINT_BUILD_DIR "/wasm/numbers.wasm,"
                              " function: add, bind: typed}\n"
                              "  - {path: /wasm/greet, owner: demo, guest: " GLINT_BUILD_DIR "/wasm/strings.wasm,"
                              " function: greet, bind: typed}\n"
                              "  - {path: /wasm/fresh, owner: demo, guest: " GLINT_BUILD_DIR "/wasm/numbers.wasm,"
                              " function: add, bind: typed, mode: fresh}\n");
    for (int i = 0; i < 3; i++) {
        gd_expect(g, "GET", "/wasm/add?a=40&b=2", NULL, NULL, 200, "{\"result\":42}");
        gd_expect(g, "GET", "/wasm/greet?name=wasm", NULL, NULL, 200, "{\"result\":\"Hello, wasm!\"}");
        gd_expect(g, "GET", "/wasm/fresh?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
    }
    cr_expect_eq(gdt_stop(g, SIGTERM, 10000), 0);
}

/* server.spans: glint's own spans of a request (pool acquire, call,
 * release with its restore) are log lines in the request's trace, the
 * top-level ones children of the request's span, the restore a child of
 * the release; nothing without the option. */
Test(glintd_http, library_spans_in_the_request_trace, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(Y_LISTEN "server: {spans: true}\nowners:\n  demo: {}\nroutes:\n"
                              "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed,"
                              " prefill: 1}\n");
    struct hresp r = gd_req(g, "GET", "/add?a=1&b=2",
                            "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n", NULL);
    expect_resp(&r, 200, "{\"result\":3}", "traced");
    char tp[64], parent[64];
    traceparent_of(&r, tp, sizeof tp);
    hresp_free(&r);
    snprintf(parent, sizeof parent, "\"parent_span_id\":\"%.16s\"", tp + 36);
    cr_assert(gdt_wait_log(g, "\"span\":\"pool_release\"", 1, 3000), "no release span:\n%s", gdt_tail(g));
    const char *top[] = {"\"span\":\"pool_acquire\"", "\"span\":\"call\",\"function\":\"Add\"",
                         "\"span\":\"pool_release\""};
    char *log = gdt_slurp(g->err, NULL);
    cr_assert_not_null(log);
    for (size_t i = 0; i < 3; i++) {
        const char *at = strstr(log, top[i]);
        cr_assert_not_null(at, "no %s line:\n%s", top[i], gdt_tail(g));
        const char *eol = strchr(at, '\n');
        cr_assert(eol && memmem(at, (size_t)(eol - at), parent, strlen(parent)),
                  "%s is not a child of the request's span %.16s: %.*s", top[i], tp + 36,
                  eol ? (int)(eol - at) : 0, at);
        static const char trace[] = "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"";
        static const char ok[] = "\"status\":\"GLINT_OK\"";
        cr_assert(memmem(at, (size_t)(eol - at), trace, strlen(trace)), "%s not in the trace: %.*s", top[i],
                  (int)(eol - at), at);
        cr_assert(memmem(at, (size_t)(eol - at), ok, strlen(ok)), "%.*s", (int)(eol - at), at);
    }
    /* The restore is the release's child. */
    const char *rel = strstr(log, "\"span\":\"pool_release\"");
    const char *sid = strstr(rel, "\"span_id\":\"");
    cr_assert_not_null(sid);
    char want[64];
    snprintf(want, sizeof want, "\"parent_span_id\":\"%.16s\"", sid + strlen("\"span_id\":\""));
    const char *res = strstr(log, "\"span\":\"restore\"");
    cr_assert_not_null(res, "no restore span:\n%s", gdt_tail(g));
    const char *res_eol = strchr(res, '\n');
    cr_assert(res_eol && memmem(res, (size_t)(res_eol - res), want, strlen(want)), "restore: %.*s",
              res_eol ? (int)(res_eol - res) : 0, res);
    free(log);
    cr_expect_eq(gdt_stop(g, SIGTERM, 10000), 0);

    /* Off by default. */
    g = gdt_start(Y_LISTEN "owners:\n  demo: {}\nroutes:\n"
                  "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n");
    gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
    cr_assert(gdt_wait_log(g, "\"msg\":\"request\"", 1, 3000));
    cr_expect_eq(gdt_log_count(g, "\"msg\":\"span\""), 0);
    cr_expect_eq(gdt_stop(g, SIGTERM, 10000), 0);
}

/* The guest's glint_log messages reach glintd's log, tagged with owner and
 * route, filtered by the route's log_level (default warn). */
Test(glintd_hostile, guest_logs_tagged_and_filtered, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(Y_LISTEN
                              "owners:\n  demo: {}\n  other: {}\n"
                              "routes:\n"
                              "  - {path: /levels, owner: demo, guest: " GLINT_BUILD_DIR "/guests/log_guest.elf,"
                              " function: Levels, bind: typed}\n"
                              "  - {path: /debug, owner: other, guest: " GLINT_BUILD_DIR "/guests/log_guest.elf,"
                              " function: Levels, bind: typed, log_level: debug}\n");
    gd_expect(g, "GET", "/levels", NULL, NULL, 200, "{\"result\":null}");
    cr_assert(gdt_wait_log(g, "\"route\":\"/levels\",\"guest_level\":\"warn\"", 1, 3000),
              "no warn line for /levels; stderr:\n%s", gdt_tail(g));
    cr_expect_eq(gdt_log_count(g, "\"route\":\"/levels\",\"guest_level\":\"error\""), 1);
    cr_expect_eq(gdt_log_count(g, "\"route\":\"/levels\",\"guest_level\":\"info\""), 0);
    cr_expect(gdt_log_count(g, "\"owner\":\"demo\",\"route\":\"/levels\"") == 2, "demo's lines");
    gd_expect(g, "GET", "/debug", NULL, NULL, 200, "{\"result\":null}");
    cr_assert(gdt_wait_log(g, "\"route\":\"/debug\",\"guest_level\":\"debug\"", 1, 3000),
              "no debug line for /debug; stderr:\n%s", gdt_tail(g));
    cr_expect_eq(gdt_log_count(g, "\"route\":\"/debug\",\"guest_level\":\"trace\""), 0);
    cr_expect_eq(gdt_log_count(g, "\"owner\":\"other\",\"route\":\"/debug\""), 4);
    cr_expect_eq(gdt_stop(g, SIGTERM, 10000), 0);
}

static const char cfg_strict[] = Y_LISTEN
    "server: {threads: 2, max_header_bytes: 2048, client_timeout_s: 1}\n"
    "owners:\n"
    "  demo: {timeout_ms: 3000, max_body: 4K}\n"
    "routes:\n"
    "  - {path: /add, methods: [GET, POST], owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n"
    "  - {path: /echo, methods: [POST], owner: demo, guest: " G_BASIC ", function: Echo, bind: typed,"
    " result: raw}\n";

/* Sends raw bytes on a new connection and reads what comes back within
 * timeout_ms: 1 a response (*status), 0 the connection closed without
 * one, -1 nothing at all (still open at the deadline). */
static int probe(int port, const void *data, size_t n, int timeout_ms, int *status)
{
    double dl = th_now_ms() + timeout_ms;
    struct hconn c;
    *status = 0;
    if (hc_open(&c, port, dl) != H_OK)
        return 0;
    int rc = hc_send(&c, data, n, dl);
    struct hresp r;
    if (rc == H_OK)
        rc = hc_read(&c, &r, false, dl);
    hc_close(&c);
    if (rc == H_OK) {
        *status = r.status;
        hresp_free(&r);
        return 1;
    }
    if (rc == H_TIMEOUT)
        return -1;
    return 0; /* closed, reset, or a reply that is not HTTP */
}

Test(glintd_hostile, malformed_requests, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_strict);
    static char binary[1024];
    for (size_t i = 0; i < sizeof binary; i++)
        binary[i] = (char)(i * 7 + 3);
    struct {
        const char *name, *data;
        size_t len;
    } cases[] = {
#define C(name, s) {name, s, sizeof s - 1}
        C("garbage line", "GARBAGE\r\n\r\n"),
        C("no version", "GET /add\r\n\r\n"),
        C("HTTP/9.9", "GET /add HTTP/9.9\r\nHost: x\r\n\r\n"),
        C("bad Content-Length", "POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
        C("negative Content-Length", "POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
        C("huge Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        C("header without colon", "GET /add HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"),
        C("bad chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n"),
        C("NUL in the target", "GET /a\0dd HTTP/1.1\r\nHost: x\r\n\r\n"),
        C("control bytes", "GET /add\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n"),
        C("space before colon", "GET /add HTTP/1.1\r\nHost : x\r\n\r\n"),
        C("CL and chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        C("absolute URI", "GET http://evil/add?a=1&b=2 HTTP/1.1\r\nHost: x\r\n\r\n"),
        C("dot segments", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
        C("bad percent in query", "GET /add?a=%&b=%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
        C("JSON bomb", "POST /add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
                       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
#undef C
        {"binary", binary, sizeof binary},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status;
        int got = probe(g->port, cases[i].data, cases[i].len, 4000, &status);
        /* An answer of 4xx/5xx (not a guest failure), or a closed connection;
         * a complete garbage request must never be left hanging. */
        cr_expect(got >= 0, "%s: no answer and not closed within 4 s", cases[i].name);
        if (got == 1)
            cr_expect(status >= 400 && status < 600 && status != 500,
                      "%s: answered %d", cases[i].name, status);
        cr_assert(gdt_alive(g), "glintd died on '%s'; stderr:\n%s", cases[i].name, gdt_tail(g));
        gd_expect(g, "GET", "/livez", NULL, NULL, 200, "ok");
    }
    gd_expect(g, "GET", "/add?a=5&b=6", NULL, NULL, 200, "{\"result\":11}");
    /* Every request counted in flight was counted out (the completion of
     * the last may come a moment after its response). */
    double last = 0;
    cr_expect(gd_wait_metric(g, "glintd_requests_in_flight", 1, 3000, &last),
              "%g requests in flight, want 1 (this /metrics request)", last);
}

Test(glintd_hostile, oversize_headers_431, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_strict);
    /* max_header_bytes 2048: one header of 8000 bytes. */
    char big[9000];
    int n = snprintf(big, sizeof big, "GET /add?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'a', 8000);
    n += 8000;
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\n\r\n");
    int status;
    cr_expect_eq(probe(g->port, big, (size_t)n, 5000, &status), 1, "no answer to 8000-byte header");
    cr_expect_eq(status, 431, "8000-byte header answered %d", status);
    /* Many small headers adding up to more. */
    n = snprintf(big, sizeof big, "GET /add?a=1&b=2 HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 300; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "X-H%d: vvvvvvvvvvvvvvvvvv\r\n", i);
    n += snprintf(big + n, sizeof big - (size_t)n, "\r\n");
    cr_expect_eq(probe(g->port, big, (size_t)n, 5000, &status), 1, "no answer to 300 headers");
    cr_expect_eq(status, 431, "300 headers answered %d", status);
    /* Under the limit: served. */
    char ok[1001];
    memset(ok, 'o', 1000);
    ok[1000] = 0;
    char hdr[1100];
    snprintf(hdr, sizeof hdr, "X-Fine: %s\r\n", ok);
    gd_expect(g, "GET", "/add?a=1&b=2", hdr, NULL, 200, "{\"result\":3}");
    cr_expect(gdt_alive(g));
}

/* Opens a connection and sends the start of a request, no end of headers. */
static void open_partial(struct gdt *g, struct hconn *c)
{
    double dl = th_now_ms() + 5000;
    cr_assert_eq(hc_open(c, g->port, dl), H_OK);
    static const char start[] = "GET /add?a=1&b=2 HTTP/1.1\r\nHost: x\r\n";
    cr_assert_eq(hc_send(c, start, sizeof start - 1, dl), H_OK);
}

/* Whether the server closed c (EOF or reset); waits up to ms. */
static bool closed_within(struct hconn *c, int ms)
{
    double dl = th_now_ms() + ms;
    for (;;) {
        int k = hc_fill(c, dl);
        if (k == 0)
            return true;
        if (k == H_TIMEOUT)
            return false;
    }
}

Test(glintd_hostile, slowloris_idle_closed, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_strict);
    /* client_timeout_s 1: half a request, then silence. */
    struct hconn c;
    open_partial(g, &c);
    double t0 = th_now_ms();
    bool closed = closed_within(&c, 5000);
    double took = th_now_ms() - t0;
    hc_close(&c);
    cr_expect(closed, "a silent half request still open after 5 s with client_timeout_s 1");
    cr_expect(took >= 500 && took < 3000, "closed after %.0f ms with client_timeout_s 1", took);
    gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
}

/* Sends one byte on c every 200 ms (never idle for a second) for up to 5 s
 * or until glintd closes c, checking once that others are served meanwhile;
 * expects the close within 3.5 s with client_timeout_s 1.  `what` names
 * the trickle in the message. */
static void expect_trickle_closed(struct gdt *g, struct hconn *c, const char *what)
{
    double t0 = th_now_ms();
    bool closed = false, served = false;
    while (th_now_ms() - t0 < 5000 && !closed) {
        if (send(c->fd, "x", 1, MSG_NOSIGNAL) != 1) {
            closed = true;
            break;
        }
        closed = closed_within(c, 200);
        if (!served && th_now_ms() - t0 > 500) {
            /* Others are served meanwhile. */
            gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
            served = true;
        }
    }
    double took = th_now_ms() - t0;
    hc_close(c);
    cr_expect(closed && took < 3500, "%s (a byte every 200 ms) was %s after %.0f ms with client_timeout_s 1",
              what, closed ? "closed" : "still open", took);
    cr_expect(gdt_alive(g));
}

/* The same with the body: the headers of a POST whose Content-Length
 * promises 100 bytes, then one byte every 200 ms.  Such a request is never
 * idle and was never closed (the reaper left connections alone once their
 * headers were in), holding its worker's share of connections and, across
 * a reload, the whole old configuration. */
Test(glintd_hostile, slowloris_trickle_body_closed, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_strict);
    struct hconn c;
    double dl = th_now_ms() + 5000;
    cr_assert_eq(hc_open(&c, g->port, dl), H_OK);
    static const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 100\r\n\r\n";
    cr_assert_eq(hc_send(&c, head, sizeof head - 1, dl), H_OK);
    expect_trickle_closed(g, &c, "a trickling body");
    /* A whole body sent at once is not affected. */
    gd_expect(g, "POST", "/echo", "Content-Type: text/plain\r\n", "fine", 200, "fine");
}

Test(glintd_hostile, slowloris_trickle_closed, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_strict);
    /* client_timeout_s 1: half a request, then one header byte every
     * 200 ms, which is never idle for a second. */
    struct hconn c;
    open_partial(g, &c);
    expect_trickle_closed(g, &c, "a trickling request");
    gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
}

/* Opens `n` connections at once and sends each a request: how many got a
 * 200 (all within timeout_ms; the connections closed after). */
static int storm(int port, int n, const char *path, int timeout_ms, int *closed_out)
{
    struct hconn *c = calloc((size_t)n, sizeof *c);
    if (!c)
        abort();
    double dl = th_now_ms() + timeout_ms;
    for (int i = 0; i < n; i++)
        if (hc_connect_start(&c[i], port) != H_OK)
            c[i].fd = -1;
    for (int i = 0; i < n; i++)
        hc_connect_finish(&c[i], dl);
    size_t len;
    char *raw = req_build("GET", path, NULL, NULL, 0, &len);
    for (int i = 0; i < n; i++)
        if (c[i].fd >= 0 && hc_send(&c[i], raw, len, dl) != H_OK)
            hc_close(&c[i]);
    free(raw);
    int ok = 0, closed = 0;
    for (int i = 0; i < n; i++) {
        struct hresp r;
        int rc = c[i].fd >= 0 ? hc_read(&c[i], &r, false, dl) : H_CLOSED;
        if (rc == H_OK) {
            ok += r.status == 200;
            hresp_free(&r);
        } else if (rc == H_CLOSED) {
            closed++;
        }
        hc_close(&c[i]);
    }
    free(c);
    if (closed_out)
        *closed_out = closed;
    return ok;
}

Test(glintd_hostile, thousand_connections_at_once, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    rlim_t fds = raise_nofile(4096);
    cr_assert(fds >= 1200, "RLIMIT_NOFILE is %llu: cannot open 1000 connections", (unsigned long long)fds);
    struct gdt *g = gdt_start(Y_LISTEN
                              "server: {threads: 2, max_connections: 2000, max_connections_per_ip: 2000,"
                              " access_log: false}\n"
                              Y_DEMO_ADD);
    double t0 = th_now_ms();
    int ok = storm(g->port, 1000, "/add?a=1&b=2", 30000, NULL);
    cr_expect_eq(ok, 1000, "%d of 1000 connections opened at once got their 200 (%.0f ms)", ok,
                 th_now_ms() - t0);
    cr_assert(gdt_alive(g), "glintd died; stderr:\n%s", gdt_tail(g));
    gd_expect(g, "GET", "/add?a=2&b=2", NULL, NULL, 200, "{\"result\":4}");
    EXPECT_METRIC(g, "glintd_requests_total{route=\"/add\",owner=\"demo\",code=\"200\"}", 1001);
}

Test(glintd_hostile, thousand_connections_over_limits, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    rlim_t fds = raise_nofile(4096);
    cr_assert(fds >= 1200, "RLIMIT_NOFILE is %llu: cannot open 1000 connections", (unsigned long long)fds);
    /* 1000 at once from one address against 100 per address. */
    struct gdt *g = gdt_start(Y_LISTEN
                              "server: {threads: 2, max_connections: 300, max_connections_per_ip: 100,"
                              " access_log: false}\n"
                              Y_DEMO_ADD);
    int closed = 0;
    int ok = storm(g->port, 1000, "/add?a=1&b=2", 30000, &closed);
    cr_expect(ok >= 1 && ok + closed == 1000, "%d served, %d closed of 1000", ok, closed);
    cr_assert(gdt_alive(g), "glintd died; stderr:\n%s", gdt_tail(g));
    gd_expect(g, "GET", "/add?a=2&b=2", NULL, NULL, 200, "{\"result\":4}");
    gd_expect(g, "GET", "/livez", NULL, NULL, 200, "ok");
}

Test(glintd_hostile, owner_flood_keeps_others_fast, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(Y_LISTEN
                              "server: {threads: 4, access_log: false}\n"
                              "owners:\n"
                              "  noisy: {timeout_ms: 3000, max_concurrency: 2}\n"
                              "  quiet: {timeout_ms: 3000}\n"
                              "routes:\n"
                              "  - {path: /noisy, owner: noisy, guest: " G_BASIC ", function: Add, bind: typed}\n"
                              "  - {path: /quiet, owner: quiet, guest: " G_BASIC ", function: Add, bind: typed,"
                              " prefill: 1}\n");
    enum { N = 60 };
    double base[N], flood[N];
    /* quiet's latency on a kept connection: alone (pass 0), then while six
     * clients flood noisy's route (pass 1). */
    for (int pass = 0; pass < 2; pass++) {
        struct loader noisy[6];
        if (pass == 1)
            for (int i = 0; i < 6; i++)
                loader_start(&noisy[i], g->port, "/noisy?a=1&b=1", i % 2 == 0, 0);
        if (pass == 1) {
            /* Make sure the flood is on before measuring. */
            double end = th_now_ms() + 5000;
            long sum = 0;
            while (th_now_ms() < end) {
                sum = 0;
                for (int i = 0; i < 6; i++)
                    sum += atomic_load(&noisy[i].ok);
                if (sum >= 200)
                    break;
                th_sleep_ms(5);
            }
            cr_assert(sum >= 200, "the flood did not get going (%ld requests)", sum);
        }
        double *lat = pass ? flood : base;
        struct hconn c;
        double dl = th_now_ms() + 30000;
        cr_assert_eq(hc_open(&c, g->port, dl), H_OK);
        for (int i = 0; i < N; i++) {
            static const char req[] = "GET /quiet?a=1&b=2 HTTP/1.1\r\nHost: x\r\n\r\n";
            double t0 = th_now_ms();
            struct hresp r;
            int rc = hc_send(&c, req, sizeof req - 1, dl);
            if (rc == H_OK)
                rc = hc_read(&c, &r, false, dl);
            lat[i] = th_now_ms() - t0;
            cr_assert_eq(rc, H_OK, "quiet request %d (pass %d): %s", i, pass, h_err(rc));
            cr_assert_eq(r.status, 200, "quiet request %d (pass %d): %d %s", i, pass, r.status, r.body);
            hresp_free(&r);
        }
        hc_close(&c);
        if (pass == 1) {
            long ok = 0, failed = 0;
            for (int i = 0; i < 6; i++) {
                loader_stop(&noisy[i]);
                ok += atomic_load(&noisy[i].ok);
                failed += atomic_load(&noisy[i].failed);
            }
            cr_expect(failed == 0, "noisy transport failures: %ld (%s)", failed, noisy[0].first_failure);
            cr_log_info("glintd flood: noisy answered %ld requests while quiet was measured", ok);
        }
    }
    double p50_base = median(base, N), p50_flood = median(flood, N);
    cr_log_info("glintd flood: quiet p50 %.3f ms alone, %.3f ms under the flood", p50_base, p50_flood);
    double bound = 20 * p50_base > 50.0 ? 20 * p50_base : 50.0;
    cr_expect(p50_flood < bound, "quiet p50 %.3f ms under the flood vs %.3f ms alone (bound %.1f ms)",
              p50_flood, p50_base, bound);
    cr_expect(gd_metric(g, "glintd_requests_total{route=\"/quiet\",owner=\"quiet\",code=\"200\"}") >= 2 * N);
}

/* ===========================================================================
 * glintd_lifecycle: SIGTERM drain, SIGHUP reload, scale to zero.
 */

static const char cfg_burn[] = Y_LISTEN
    "server: {threads: 8, shutdown_grace_s: 60}\n"
    "owners:\n"
    "  demo: {timeout_ms: 20000}\n"
    "routes:\n"
    "  - {path: /burn, owner: demo, guest: " G_BURN ", function: Burn, bind: typed}\n"
    "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, bind: typed}\n";

Test(glintd_lifecycle, sigterm_drains_requests_in_flight, .timeout = 150)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_burn);
    uint64_t n = calibrate_burn(g, "/burn", 1500);
    /* A kept connection, used once. */
    struct hconn k;
    double dl = th_now_ms() + 30000;
    cr_assert_eq(hc_open(&k, g->port, dl), H_OK);
    static const char add[] = "GET /add?a=1&b=2 HTTP/1.1\r\nHost: x\r\n\r\n";
    struct hresp r;
    cr_assert_eq(hc_send(&k, add, sizeof add - 1, dl), H_OK);
    cr_assert_eq(hc_read(&k, &r, false, dl), H_OK);
    expect_resp(&r, 200, "{\"result\":3}", "kept connection, before");
    hresp_free(&r);
    /* Three slow requests in flight. */
    char path[100], want[100];
    snprintf(path, sizeof path, "/burn?n=%llu", (unsigned long long)n);
    snprintf(want, sizeof want, "{\"result\":%llu}\n", (unsigned long long)n);
    struct bg b[3];
    for (int i = 0; i < 3; i++) {
        /* One at a time, each in its guest before the next connects (see
         * bg_start), so that each has a worker thread of its own. */
        bg_start(&b[i], g->port, "GET", path, 30000);
        double last = 0;
        cr_assert(gd_wait_metric(g, "glintd_owner_sandboxes_in_use{owner=\"demo\"}", i + 1, 5000, &last),
                  "slow request %d never in flight (%g in use); stderr:\n%s", i, last, gdt_tail(g));
    }
    double t_term = th_now_ms();
    kill(g->pid, SIGTERM);
    cr_assert(gdt_wait_log(g, "\"msg\":\"draining\"", 1, 5000), "no draining line; stderr:\n%s", gdt_tail(g));
    /* Draining: a request on the kept connection gets a 503 and the close. */
    cr_assert_eq(hc_send(&k, add, sizeof add - 1, dl), H_OK);
    int rc = hc_read(&k, &r, false, dl);
    cr_assert_eq(rc, H_OK, "kept connection while draining: %s", h_err(rc));
    expect_error(&r, 503, "GLINTD_SHUTTING_DOWN", "kept connection while draining");
    cr_expect(r.conn_close, "503 while draining without Connection: close");
    hresp_free(&r);
    hc_close(&k);
    /* New connections are refused once the listening socket is closed. */
    bool refused = false;
    double end = th_now_ms() + 3000;
    while (!refused && th_now_ms() < end) {
        struct hconn c;
        refused = hc_open(&c, g->port, th_now_ms() + 1000) != H_OK;
        hc_close(&c);
        if (!refused)
            th_sleep_ms(20);
    }
    cr_expect(refused, "new connections still accepted while draining");
    /* Every request in flight got its whole answer, after the SIGTERM. */
    for (int i = 0; i < 3; i++) {
        bg_join(&b[i]);
        cr_expect_eq(b[i].rc, H_OK, "slow request %d: %s", i, h_err(b[i].rc));
        if (b[i].rc == H_OK) {
            expect_resp(&b[i].r, 200, NULL, "slow request");
            cr_expect_str_eq(b[i].r.body, want, "slow request %d", i);
            hresp_free(&b[i].r);
        }
        cr_expect(b[i].end_ms > t_term, "slow request %d ended before the SIGTERM: cannot tell", i);
    }
    int code = gdt_stop(g, 0, 60000);
    cr_expect_eq(code, 0, "glintd exit %d after SIGTERM; stderr:\n%s", code, gdt_tail(g));
    char *log = gdt_slurp(g->err, NULL);
    cr_expect(strstr(log, "\"msg\":\"stopped\",\"unfinished\":0"), "no clean stop line:\n%s", gdt_tail(g));
    free(log);
}

Test(glintd_lifecycle, sigterm_idle_exits_0, .timeout = 60)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_burn);
    gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
    double t0 = th_now_ms();
    int code = gdt_stop(g, SIGTERM, 10000);
    cr_expect_eq(code, 0, "exit %d", code);
    cr_expect(th_now_ms() - t0 < 3000, "an idle glintd took %.0f ms to stop", th_now_ms() - t0);
    /* SIGINT does the same. */
    g = gdt_start(cfg_burn);
    code = gdt_stop(g, SIGINT, 10000);
    cr_expect_eq(code, 0, "exit %d after SIGINT", code);
}

/* A configuration with /add, and /extra when `extra`. */
static void write_reload_cfg(struct gdt *g, bool extra)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             Y_LISTEN "server: {threads: 4, access_log: false}\n"
                      "owners:\n  demo: {timeout_ms: 3000}\n"
                      "routes:\n"
                      "  - {path: /add, owner: demo, guest: %s, function: Add, bind: typed, prefill: 1}\n"
                      "%s",
             G_BASIC,
             extra ? "  - {path: /extra, owner: demo, guest: " G_BASIC ", function: Echo, bind: typed,"
                     " result: raw, mode: warm}\n"
                   : "");
    cr_assert(gdt_write_file(g->cfg, yaml));
}

Test(glintd_lifecycle, sighup_under_load_fails_nothing, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             Y_LISTEN "server: {threads: 4, access_log: false}\n"
                      "owners:\n  demo: {timeout_ms: 3000}\n"
                      "routes:\n"
                      "  - {path: /add, owner: demo, guest: %s, function: Add, bind: typed, prefill: 1}\n",
             G_BASIC);
    struct gdt *g = gdt_start(yaml);
    struct loader l[3];
    loader_start(&l[0], g->port, "/add?a=2&b=3", true, 200);
    loader_start(&l[1], g->port, "/add?a=2&b=3", true, 200);
    loader_start(&l[2], g->port, "/add?a=2&b=3", false, 200);
    for (int i = 1; i <= 4; i++) {
        long before = atomic_load(&l[0].ok) + atomic_load(&l[2].ok);
        write_reload_cfg(g, i % 2 == 1);
        kill(g->pid, SIGHUP);
        cr_assert(gdt_wait_log(g, "\"msg\":\"reloaded", i, 20000), "reload %d not logged; stderr:\n%s", i,
                  gdt_tail(g));
        /* Requests went on across the reload. */
        double end = th_now_ms() + 5000;
        while (atomic_load(&l[0].ok) + atomic_load(&l[2].ok) < before + 20 && th_now_ms() < end)
            th_sleep_ms(5);
        if (i % 2 == 1)
            gd_expect(g, "POST", "/extra", "Content-Type: text/plain\r\n", "new route", 200, "new route");
        else
            gd_expect_error(g, "POST", "/extra", "Content-Type: text/plain\r\n", "gone", 404, "GLINTD_NO_ROUTE");
    }
    long ok = 0, failed = 0;
    for (int i = 0; i < 3; i++) {
        loader_stop(&l[i]);
        ok += atomic_load(&l[i].ok);
        failed += atomic_load(&l[i].failed);
        cr_expect_eq(atomic_load(&l[i].failed), 0, "client %d (%s): %ld failed, first: %s", i,
                     l[i].keepalive ? "keep-alive" : "new connections", atomic_load(&l[i].failed),
                     l[i].first_failure);
    }
    cr_log_info("glintd SIGHUP under load: %ld requests, %ld failed, 4 reloads", ok, failed);
    cr_expect(ok >= 100, "only %ld requests during 4 reloads", ok);
    EXPECT_METRIC(g, "glintd_config_reloads_total{result=\"ok\"}", 4);
    EXPECT_METRIC(g, "glintd_config_reloads_total{result=\"failed\"}", 0);
    cr_expect(gdt_alive(g));
}

/* An owner's limits hold across a reload: a request still running under
 * the old configuration counts against the new one's max_concurrency (each
 * configuration kept its own counters, so a reload let as many more in),
 * and the rejection counters go on from where they were. */
Test(glintd_lifecycle, sighup_keeps_owner_limits, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    static const char yaml[] = Y_LISTEN "server: {threads: 4, access_log: false}\n"
                                        "owners:\n  single: {timeout_ms: 2000, max_concurrency: 1}\n"
                                        "routes:\n"
                                        "  - {path: /spin, owner: single, guest: " G_SPIN ", function: Spin, bind: typed}\n";
    struct gdt *g = gdt_start(yaml);
    struct bg b;
    bg_start(&b, g->port, "GET", "/spin", 20000);
    EXPECT_METRIC(g, "glintd_owner_sandboxes_in_use{owner=\"single\"}", 1);
    gd_expect_error(g, "GET", "/spin", NULL, NULL, 429, "GLINTD_CONCURRENCY_LIMITED");
    cr_assert(gdt_write_file(g->cfg, yaml));
    kill(g->pid, SIGHUP);
    cr_assert(gdt_wait_log(g, "\"msg\":\"reloaded", 1, 20000), "reload not logged; stderr:\n%s", gdt_tail(g));
    cr_assert(!atomic_load(&b.done), "the spinning request ended before the reload was done");
    gd_expect_error(g, "GET", "/spin", NULL, NULL, 429, "GLINTD_CONCURRENCY_LIMITED");
    EXPECT_METRIC(g, "glintd_owner_sandboxes_in_use{owner=\"single\"}", 1);
    bg_join(&b);
    cr_assert_eq(b.rc, H_OK, "the request in flight: %s", h_err(b.rc));
    expect_resp(&b.r, 504, NULL, "the request in flight across the reload");
    hresp_free(&b.r);
    EXPECT_METRIC(g, "glintd_owner_sandboxes_in_use{owner=\"single\"}", 0);
    EXPECT_METRIC(g, "glintd_owner_rejections_total{owner=\"single\",reason=\"concurrency\"}", 2);
}

/* A reload changes the connection limits for the connections accepted
 * after it, up as well as down; those already open stay. */
Test(glintd_lifecycle, sighup_changes_connection_limits, .timeout = 90)
{
    SKIP_IF_NO_KVM();
#define LIM_YAML(total, per_ip)                                                                      \
    Y_LISTEN "server: {threads: 2, max_connections: " total ", max_connections_per_ip: " per_ip      \
             ", access_log: false}\n"                                                                \
             Y_DEMO_ADD
    struct gdt *g = gdt_start(LIM_YAML("2", "100"));
    enum { N = 5 };
    struct hconn c[N + 1];
    double dl = th_now_ms() + 30000;
    /* 2 in all: a third waits. */
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(hc_open(&c[i], g->port, dl), H_OK, "connection %d", i);
        cr_assert_eq(kept_get(&c[i], "/add?a=1&b=1", "{\"result\":2}", dl), H_OK, "connection %d", i);
    }
    cr_assert_eq(hc_open(&c[2], g->port, dl), H_OK);
    size_t n;
    char *raw = req_build("GET", "/add?a=1&b=2", NULL, NULL, 0, &n);
    cr_assert_eq(hc_send(&c[2], raw, n, dl), H_OK);
    free(raw);
    struct hresp r;
    int rc = hc_read(&c[2], &r, false, th_now_ms() + 300);
    cr_expect_eq(rc, H_TIMEOUT, "a third over max_connections 2 was answered: %s", h_err(rc));
    if (rc == H_OK)
        hresp_free(&r);
    /* Raised above what the server started with: the third is served, and 5 fit. */
    cr_assert(gdt_write_file(g->cfg, LIM_YAML("5", "100")));
    kill(g->pid, SIGHUP);
    cr_assert(gdt_wait_log(g, "\"msg\":\"reloaded\"", 1, 20000), "reload not logged; stderr:\n%s", gdt_tail(g));
    rc = hc_read(&c[2], &r, false, th_now_ms() + 5000);
    cr_assert_eq(rc, H_OK, "the third after max_connections was raised to 5: %s", h_err(rc));
    cr_expect(strstr(r.body, "{\"result\":3}"), "the third: %s", r.body);
    hresp_free(&r);
    for (int i = 3; i < N; i++) {
        cr_assert_eq(hc_open(&c[i], g->port, dl), H_OK, "connection %d", i);
        cr_expect_eq(kept_get(&c[i], "/add?a=1&b=1", "{\"result\":2}", dl), H_OK,
                     "connection %d of a raised limit of 5", i);
    }
    /* Lowered below what is open (per address): the five go on, a sixth is refused. */
    cr_assert(gdt_write_file(g->cfg, LIM_YAML("100", "2")));
    kill(g->pid, SIGHUP);
    cr_assert(gdt_wait_log(g, "\"msg\":\"reloaded\"", 2, 20000), "reload not logged; stderr:\n%s", gdt_tail(g));
    for (int i = 0; i < N; i++)
        cr_expect_eq(kept_get(&c[i], "/add?a=2&b=2", "{\"result\":4}", dl), H_OK, "connection %d after", i);
    cr_assert_eq(hc_open(&c[N], g->port, dl), H_OK);
    rc = kept_get(&c[N], "/add?a=3&b=3", "{\"result\":6}", dl);
    cr_expect_eq(rc, H_CLOSED, "a sixth connection over the new limit of 2 per address: %s", h_err(rc));
    for (int i = 0; i <= N; i++)
        hc_close(&c[i]);
    /* All closed: two fit again. */
    double end = th_now_ms() + 5000;
    for (;;) {
        struct hconn a, b;
        cr_assert_eq(hc_open(&a, g->port, dl), H_OK);
        cr_assert_eq(hc_open(&b, g->port, dl), H_OK);
        int ra = kept_get(&a, "/add?a=4&b=4", "{\"result\":8}", dl);
        int rb = kept_get(&b, "/add?a=5&b=5", "{\"result\":10}", dl);
        hc_close(&a);
        hc_close(&b);
        if (ra == H_OK && rb == H_OK)
            break;
        cr_assert(th_now_ms() < end, "two connections under the limit of 2 after the others closed: %s, %s",
                  h_err(ra), h_err(rb));
        th_sleep_ms(20);
    }
#undef LIM_YAML
}

Test(glintd_lifecycle, sighup_bad_config_keeps_old, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(cfg_burn);
    gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
    /* Garbage. */
    cr_assert(gdt_write_file(g->cfg, "routes: [ {path: /x\n  - ::: }\n\t\x01garbage"));
    kill(g->pid, SIGHUP);
    cr_assert(gdt_wait_log(g, "reload refused", 1, 10000), "no 'reload refused'; stderr:\n%s", gdt_tail(g));
    char *log = gdt_slurp(g->err, NULL);
    char want[300];
    snprintf(want, sizeof want, "\"error\":\"%s:", g->cfg);
    cr_expect(strstr(log, want), "the refusal does not name the file: %s", gdt_tail(g));
    free(log);
    gd_expect(g, "GET", "/add?a=1&b=2", NULL, NULL, 200, "{\"result\":3}");
    /* Valid YAML, bad content (a guest that is not there). */
    cr_assert(gdt_write_file(g->cfg, Y_LISTEN "owners:\n  demo: {}\nroutes:\n"
                                     "  - {path: /add, owner: demo, guest: /nonexistent.elf, function: Add,"
                                     " bind: typed}\n"));
    kill(g->pid, SIGHUP);
    cr_assert(gdt_wait_log(g, "reload refused", 2, 10000), "second bad reload not refused; stderr:\n%s",
              gdt_tail(g));
    gd_expect(g, "GET", "/add?a=2&b=2", NULL, NULL, 200, "{\"result\":4}");
    EXPECT_METRIC(g, "glintd_config_reloads_total{result=\"failed\"}", 2);
    EXPECT_METRIC(g, "glintd_config_reloads_total{result=\"ok\"}", 0);
    /* A good one again is taken. */
    write_reload_cfg(g, true);
    kill(g->pid, SIGHUP);
    cr_assert(gdt_wait_log(g, "\"msg\":\"reloaded", 1, 20000), "good reload not logged; stderr:\n%s",
              gdt_tail(g));
    gd_expect(g, "POST", "/extra", "Content-Type: text/plain\r\n", "back", 200, "back");
    cr_expect_eq(gdt_stop(g, SIGTERM, 10000), 0);
}

Test(glintd_lifecycle, scale_to_zero_and_cold_start, .timeout = 90)
{
    SKIP_IF_NO_KVM();
    struct gdt *g = gdt_start(Y_LISTEN
                              "server: {}\n"
                              "owners:\n  demo: {timeout_ms: 3000}\n"
                              "routes:\n"
                              "  - {path: /z, owner: demo, guest: " G_BASIC ", function: Counter,"
                              " mode: pristine, bind: typed, idle_timeout_s: 1, prefill: 0}\n"
                              "  - {path: /zw, owner: demo, guest: " G_BASIC ", function: Counter,"
                              " mode: warm, bind: typed, idle_timeout_s: 1}\n");
    static const char live_z[] = "glintd_sandboxes{route=\"/z\",owner=\"demo\",state=\"live\"}";
    static const char live_zw[] = "glintd_sandboxes{route=\"/zw\",owner=\"demo\",state=\"live\"}";
    static const char cold_z[] = "glintd_cold_start_seconds_count{route=\"/z\",owner=\"demo\"}";
    static const char cold_zw[] = "glintd_cold_start_seconds_count{route=\"/zw\",owner=\"demo\"}";
    EXPECT_METRIC(g, live_z, 0); /* prefill 0: nothing until a request */
    gd_expect(g, "GET", "/z", NULL, NULL, 200, "{\"result\":1}");
    gd_expect(g, "GET", "/zw", NULL, NULL, 200, "{\"result\":1}");
    gd_expect(g, "GET", "/zw", NULL, NULL, 200, "{\"result\":2}");
    double t0 = th_now_ms();
    EXPECT_METRIC(g, live_z, 1);
    EXPECT_METRIC(g, live_zw, 1);
    EXPECT_METRIC(g, cold_z, 1);
    EXPECT_METRIC(g, cold_zw, 1);
    /* Idle past idle_timeout_s: no sandbox left (not before about 1 s). */
    double last = -1;
    cr_assert(gd_wait_metric(g, live_z, 0, 8000, &last), "/z still has %g live sandboxes 8 s later", last);
    double t_z = th_now_ms() - t0;
    cr_assert(gd_wait_metric(g, live_zw, 0, 8000, &last), "/zw still has %g live sandboxes 8 s later", last);
    double t_zw = th_now_ms() - t0;
    cr_expect(t_z >= 700 && t_zw >= 700, "scaled to zero after %.0f / %.0f ms for idle_timeout_s 1", t_z, t_zw);
    /* The next requests make a sandbox again: cold starts. */
    gd_expect(g, "GET", "/z", NULL, NULL, 200, "{\"result\":1}");
    gd_expect(g, "GET", "/zw", NULL, NULL, 200, "{\"result\":1}"); /* a new warm sandbox */
    EXPECT_METRIC(g, cold_z, 2);
    EXPECT_METRIC(g, cold_zw, 2);
    EXPECT_METRIC(g, live_z, 1);
}

/* ===========================================================================
 * glintd_load: wrk against a pristine route.
 */

/* `name` found on PATH (static buffer), or NULL. */
static const char *find_on_path(const char *name)
{
    static char found[512];
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(found, sizeof found, "%s/%s", d, name);
        if (access(found, X_OK) == 0)
            return found;
    }
    return NULL;
}

Test(glintd_load, wrk_pristine_route, .timeout = 90)
{
    const char *wrk = find_on_path("wrk");
    if (!wrk)
        cr_skip_test("wrk is not installed (Debian package wrk): load test skipped");
    SKIP_IF_NO_KVM();
    char wrk_path[512];
    snprintf(wrk_path, sizeof wrk_path, "%s", wrk);
    struct gdt *g = gdt_start(Y_LISTEN
                              "server: {threads: 2, access_log: false}\n"
                              "owners:\n  demo: {timeout_ms: 3000, max_idle: 8}\n"
                              "routes:\n"
                              "  - {path: /add, owner: demo, guest: " G_BASIC ", function: Add, mode: pristine,"
                              " bind: typed, prefill: 4}\n");
    char url[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/add?a=40&b=2", g->port);
    struct gdt_run r = gdt_exec(wrk_path, (char *[]){"wrk", "-t2", "-c4", "-d2s", "--timeout", "2s", url, NULL},
                                30000);
    cr_log_info("wrk against glintd:\n%s", r.out);
    cr_assert_eq(r.code, 0, "wrk exit %d: %s %s", r.code, r.out, r.err);
    unsigned long long requests = 0;
    const char *p = strstr(r.out, " requests in ");
    while (p && p > r.out && p[-1] >= '0' && p[-1] <= '9')
        p--;
    cr_assert(p && sscanf(p, "%llu requests in", &requests) == 1, "no request count in wrk's output:\n%s", r.out);
    p = strstr(r.out, "Requests/sec:");
    double rate = p ? strtod(p + 13, NULL) : 0;
    cr_expect(requests > 0 && rate > 0, "wrk: %llu requests, %.1f/s", requests, rate);
    cr_expect(!strstr(r.out, "Non-2xx or 3xx responses"), "wrk saw errors:\n%s", r.out);
    cr_expect(!strstr(r.out, "Socket errors"), "wrk saw socket errors:\n%s", r.out);
    gdt_run_free(&r);
    /* glintd's count agrees, and it answered nothing else. */
    char *m = gd_metrics(g);
    double ok = metric_in(m, "glintd_requests_total{route=\"/add\",owner=\"demo\",code=\"200\"}");
    cr_expect(ok >= (double)requests, "glintd counted %g 200s, wrk %llu", ok, requests);
    int other = 0;
    for (const char *q = m; (q = strstr(q, "glintd_requests_total{route=\"/add\"")); q++)
        other += !strstr(q, "code=\"200\"") || strstr(q, "code=\"200\"") > strchr(q, '\n');
    cr_expect_eq(other, 0, "non-200 statuses on /add:\n%s", m);
    free(m);
    cr_expect_eq(gdt_stop(g, SIGTERM, 10000), 0);
}
