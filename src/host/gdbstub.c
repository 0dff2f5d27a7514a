/*
 * gdbstub.c - a GDB remote-protocol stub for one sandbox (docs/
 * observability.md, "Debugger").
 *
 * glint_sandbox_debug_listen opens a socket on 127.0.0.1.  The next guest
 * run (glint_sandbox_init or a call) accepts gdb, stops before the guest
 * runs and serves it; the session lasts until that call ends (through
 * initialization into the call, if listen came before init).  Both
 * backends the same way, through hv.h only: breakpoints are int3 bytes
 * written into the guest's code pages (host side; the guest's own
 * mappings stay read-only), single steps set the trap flag, and both come
 * back as #BP and #DB exception exits (KVM: through the ring-0 stubs;
 * process: SIGTRAP in the child).  Registers are the neutral struct ucpu.
 * Memory is reached through the page tables glint wrote: only the guest's
 * user pages, never anything else of the host.
 *
 * Where the backend has a guest-debug facility of its own (hv_ops.
 * guest_debug: KVM_SET_GUEST_DEBUG where KVM stops ring-3 code with it),
 * the int3 bytes stop in the host and single steps are the hypervisor's:
 * the guest's exception path does not run and its RFLAGS never show TF.
 * Elsewhere (the process backend; KVM on PVM hosts) the trap flag and the
 * guest's own #BP/#DB do it.  Either way the run loop sees the same #BP
 * and #DB exception exits.
 *
 * Socket I/O happens on coredump.c's service thread, so that a call
 * thread under glint_seccomp_restrict_thread can be debugged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "debug.h"
#include "error.h"
#include "snapshot.h"

void glint_service_start(void);
void glint_service_run(void (*fn)(void *), void *arg);
int glint_failure_signal(const glint_error *e);

#define MAX_BPS 64
#define PKT_MAX 4096

struct glint_gdb {
    int lfd, fd;
    int attached;   /* gdb connected and in charge */
    int over;       /* the session ended (detach, kill, exit, I/O error) */
    int noack;
    int stepping;
    int killed;
    int hv_dbg;     /* the backend's guest-debug facility does steps and int3 */
    struct {
        uint64_t addr;
        uint8_t orig;
    } bp[MAX_BPS];
    int nbp;
    struct ucpu u;
    uint16_t cs, ss;
    int regs_valid, regs_dirty;
    char in[PKT_MAX + 8];
    size_t in_len, in_pos;
    char pkt[PKT_MAX + 8];
    char out[PKT_MAX + 8];
};

/* ------------------------------------------------------------------------- */
/* Socket I/O on the service thread. */

enum { IO_ACCEPT, IO_RECV, IO_SEND };
struct io_job {
    int op, fd;
    void *buf;
    size_t len;
    ssize_t ret;
};

static void io_do(void *arg)
{
    struct io_job *j = arg;
    do {
        switch (j->op) {
        case IO_ACCEPT:
            j->ret = accept4(j->fd, NULL, NULL, SOCK_CLOEXEC);
            break;
        case IO_RECV:
            j->ret = recv(j->fd, j->buf, j->len, 0);
            break;
        default:
            j->ret = send(j->fd, j->buf, j->len, MSG_NOSIGNAL);
            break;
        }
    } while (j->ret < 0 && errno == EINTR);
}

static ssize_t io(int op, int fd, void *buf, size_t len)
{
    struct io_job j = {.op = op, .fd = fd, .buf = buf, .len = len, .ret = -1};
    glint_service_run(io_do, &j);
    return j.ret;
}

/* Tells the backend's guest-debug facility what the session needs now. */
static void hv_debug(glint_sandbox *sb, struct glint_gdb *g, unsigned flags)
{
    if (!g->hv_dbg)
        return;
    glint_error e;
    int r = sb->be->guest_debug(sb->hv, flags, &e);
    if (r < 0 && flags)
        fprintf(stderr, "glint: debugger: %s; using the trap flag\n", e.message);
    if (r != 1)
        flags = 0; /* the trap flag and the guest's #BP/#DB from now on */
    if (!flags)
        g->hv_dbg = 0;
}

static void session_over(glint_sandbox *sb, struct glint_gdb *g)
{
    hv_debug(sb, g, 0);
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
    g->attached = 0;
    g->over = 1;
}

static int get_char(struct glint_gdb *g)
{
    if (g->in_pos == g->in_len) {
        if (g->fd < 0)
            return -1;
        ssize_t n = io(IO_RECV, g->fd, g->in, PKT_MAX);
        if (n <= 0)
            return -1;
        g->in_len = (size_t)n;
        g->in_pos = 0;
    }
    return (unsigned char)g->in[g->in_pos++];
}

static int send_raw(struct glint_gdb *g, const char *p, size_t n)
{
    while (n) {
        ssize_t w = io(IO_SEND, g->fd, (void *)p, n);
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static const char hexd[] = "0123456789abcdef";

static int put_packet(struct glint_gdb *g, const char *data)
{
    if (g->fd < 0)
        return -1;
    size_t n = strlen(data);
    char *b = malloc(n + 5);
    if (!b)
        return -1;
    uint8_t sum = 0;
    b[0] = '$';
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + (uint8_t)data[i]);
    memcpy(b + 1, data, n);
    b[n + 1] = '#', b[n + 2] = hexd[sum >> 4], b[n + 3] = hexd[sum & 15];
    for (int tries = 0; tries < 10; tries++) {
        if (send_raw(g, b, n + 4) != 0)
            break;
        if (g->noack) {
            free(b);
            return 0;
        }
        int c;
        while ((c = get_char(g)) >= 0 && c != '+' && c != '-')
            ;
        if (c == '+') {
            free(b);
            return 0;
        }
        if (c < 0)
            break;
    }
    free(b);
    return -1;
}

/* The next packet's payload into g->pkt; -1 when gdb is gone. */
static int get_packet(struct glint_gdb *g)
{
    for (;;) {
        int c;
        while ((c = get_char(g)) >= 0 && c != '$')
            ;
        if (c < 0)
            return -1;
        size_t n = 0;
        uint8_t sum = 0;
        while ((c = get_char(g)) >= 0 && c != '#') {
            if (n < PKT_MAX)
                g->pkt[n++] = (char)c;
            sum = (uint8_t)(sum + (uint8_t)c);
        }
        int h = get_char(g), l = get_char(g);
        if (c < 0 || h < 0 || l < 0)
            return -1;
        g->pkt[n] = 0;
        char want[3] = {hexd[sum >> 4], hexd[sum & 15], 0};
        int ok = (char)h == want[0] && (char)l == want[1];
        if (!g->noack && send_raw(g, ok ? "+" : "-", 1) != 0)
            return -1;
        if (ok || g->noack)
            return 0;
    }
}

/* ------------------------------------------------------------------------- */
/* Registers: the amd64 layout of the target description below. */

static const char target_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target><architecture>i386:x86-64</architecture>"
    "<feature name=\"org.gnu.gdb.i386.core\">"
    "<flags id=\"i386_eflags\" size=\"4\"><field name=\"CF\" start=\"0\" end=\"0\"/>"
    "<field name=\"\" start=\"1\" end=\"1\"/><field name=\"PF\" start=\"2\" end=\"2\"/>"
    "<field name=\"AF\" start=\"4\" end=\"4\"/><field name=\"ZF\" start=\"6\" end=\"6\"/>"
    "<field name=\"SF\" start=\"7\" end=\"7\"/><field name=\"TF\" start=\"8\" end=\"8\"/>"
    "<field name=\"IF\" start=\"9\" end=\"9\"/><field name=\"DF\" start=\"10\" end=\"10\"/>"
    "<field name=\"OF\" start=\"11\" end=\"11\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
    "<field name=\"AC\" start=\"18\" end=\"18\"/><field name=\"ID\" start=\"21\" end=\"21\"/></flags>"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/><reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/><reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/><reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/><reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/><reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/><reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/><reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/><reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/><reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/><reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/><reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/><reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/><reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/><reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/><reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "</feature><feature name=\"org.gnu.gdb.i386.sse\">"
    "<vector id=\"v8bf16\" type=\"bfloat16\" count=\"8\"/>"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/><vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/><vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
    "<union id=\"vec128\"><field name=\"v8_bfloat16\" type=\"v8bf16\"/><field name=\"v4_float\" type=\"v4f\"/>"
    "<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
    "<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
    "<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/></union>"
    "<flags id=\"i386_mxcsr\" size=\"4\"><field name=\"IE\" start=\"0\" end=\"0\"/>"
    "<field name=\"DE\" start=\"1\" end=\"1\"/><field name=\"ZE\" start=\"2\" end=\"2\"/>"
    "<field name=\"OE\" start=\"3\" end=\"3\"/><field name=\"UE\" start=\"4\" end=\"4\"/>"
    "<field name=\"PE\" start=\"5\" end=\"5\"/><field name=\"DAZ\" start=\"6\" end=\"6\"/>"
    "<field name=\"IM\" start=\"7\" end=\"7\"/><field name=\"DM\" start=\"8\" end=\"8\"/>"
    "<field name=\"ZM\" start=\"9\" end=\"9\"/><field name=\"OM\" start=\"10\" end=\"10\"/>"
    "<field name=\"UM\" start=\"11\" end=\"11\"/><field name=\"PM\" start=\"12\" end=\"12\"/>"
    "<field name=\"FZ\" start=\"15\" end=\"15\"/></flags>"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/><reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>"
    "</feature><feature name=\"org.gnu.gdb.i386.segments\">"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/><reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
    "</feature><feature name=\"org.gnu.gdb.i386.avx\">"
    "<reg name=\"ymm0h\" bitsize=\"128\" type=\"uint128\" regnum=\"59\"/>"
    "<reg name=\"ymm1h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm2h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm3h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm4h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm5h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm6h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm7h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm8h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm9h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm10h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm11h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm12h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm13h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm14h\" bitsize=\"128\" type=\"uint128\"/>"
    "<reg name=\"ymm15h\" bitsize=\"128\" type=\"uint128\"/>"
    "</feature></target>";

#define NREGS 75 /* ... fs_base, gs_base (57, 58), ymm0h-ymm15h (59-74) */
static unsigned reg_size(int r)
{
    if (r >= 59) return 16;     /* ymm0h..ymm15h */
    if (r < 17) return 8;       /* rax..r15, rip */
    if (r < 24) return 4;       /* eflags, cs..gs */
    if (r < 32) return 10;      /* st0..st7 */
    if (r < 40) return 4;       /* fctrl..fop */
    if (r < 56) return 16;      /* xmm */
    if (r == 56) return 4;      /* mxcsr */
    return 8;                   /* fs_base, gs_base */
}

/* Register r's bytes (little endian) as gdb sees them. */
static void reg_get(const struct glint_gdb *g, int r, uint8_t *b)
{
    const struct ucpu *u = &g->u;
    const uint64_t gpr[17] = {u->rax, u->rbx, u->rcx, u->rdx, u->rsi, u->rdi, u->rbp, u->rsp, u->r8,
                              u->r9, u->r10, u->r11, u->r12, u->r13, u->r14, u->r15, u->rip};
    uint32_t v32 = 0;
    memset(b, 0, 16);
    if (r < 17) {
        memcpy(b, &gpr[r], 8);
        return;
    }
    switch (r) {
    case 17: v32 = (uint32_t)u->rflags; break;
    case 18: v32 = g->cs; break;
    case 19: v32 = g->ss; break;
    case 20: case 21: case 22: case 23: v32 = 0; break;
    case 32: v32 = (uint32_t)(u->fx[0] | u->fx[1] << 8); break;
    case 33: v32 = (uint32_t)(u->fx[2] | u->fx[3] << 8); break;
    case 34: /* full tag word from the abridged one: valid or empty */
        for (int i = 0; i < 8; i++)
            if (!(u->fx[4] & (1u << i)))
                v32 |= 3u << (2 * i);
        break;
    case 35: v32 = (uint32_t)(u->fx[12] | u->fx[13] << 8); break;
    case 36: memcpy(&v32, u->fx + 8, 4); break;
    case 37: v32 = (uint32_t)(u->fx[20] | u->fx[21] << 8); break;
    case 38: memcpy(&v32, u->fx + 16, 4); break;
    case 39: v32 = (uint32_t)((u->fx[6] | u->fx[7] << 8) & 0x7ff); break;
    case 56: memcpy(&v32, u->fx + 24, 4); break;
    case 57: memcpy(b, &u->fs_base, 8); return;
    case 59: case 60: case 61: case 62: case 63: case 64: case 65: case 66:
    case 67: case 68: case 69: case 70: case 71: case 72: case 73: case 74:
        memcpy(b, u->ymmh + 16 * (r - 59), 16);
        return;
    case 58: memcpy(b, &u->gs_base, 8); return;
    default:
        if (r >= 24 && r < 32)
            memcpy(b, u->fx + 32 + 16 * (r - 24), 10);
        else if (r >= 40 && r < 56)
            memcpy(b, u->fx + 160 + 16 * (r - 40), 16);
        return;
    }
    memcpy(b, &v32, 4);
}

/* Can the guest hold AVX state on this backend here?  (KVM without AVX,
 * say, refuses it: an upper half gdb writes is refused then.) */
static int avx_ok(glint_sandbox *sb, const struct ucpu *now)
{
    struct ucpu u = *now;
    u.xstate_bv |= 4;
    void *st = malloc(sb->be->cpu_state_size);
    glint_error e;
    int ok = st && sb->be->cpu_import(&u, &sb->lay, st, &e) == GLINT_OK;
    free(st);
    return ok;
}

/* Sets register r; what glint cannot change (selectors, bases, x87
 * pointers) stays.  -1: refused (an AVX upper half where the guest has
 * no AVX). */
static int reg_set(glint_sandbox *sb, struct glint_gdb *g, int r, const uint8_t *b)
{
    struct ucpu *u = &g->u;
    uint64_t *gpr[17] = {&u->rax, &u->rbx, &u->rcx, &u->rdx, &u->rsi, &u->rdi, &u->rbp, &u->rsp,
                         &u->r8, &u->r9, &u->r10, &u->r11, &u->r12, &u->r13, &u->r14, &u->r15, &u->rip};
    uint32_t v32;
    memcpy(&v32, b, 4);
    if (r < 17) {
        memcpy(gpr[r], b, 8);
    } else if (r == 17) {
        u->rflags = (v32 & RFLAGS_USER) | RFLAGS_FIXED;
    } else if (r == 32 || r == 33) {
        u->fx[(r - 32) * 2] = (uint8_t)v32, u->fx[(r - 32) * 2 + 1] = (uint8_t)(v32 >> 8);
    } else if (r >= 24 && r < 32) {
        memcpy(u->fx + 32 + 16 * (r - 24), b, 10);
        u->xstate_bv |= 1; /* x87 state in use: XRSTOR loads it */
    } else if (r >= 40 && r < 56) {
        memcpy(u->fx + 160 + 16 * (r - 40), b, 16);
        u->xstate_bv |= 2; /* SSE state in use */
    } else if (r == 56) {
        memcpy(u->fx + 24, &v32, 4);
    } else if (r >= 59 && r < NREGS) {
        /* An upper half in use makes the AVX state live (a host without
         * AVX then refuses the registers); zeros leave it as it was. */
        static const uint8_t zero[16];
        if (memcmp(u->ymmh + 16 * (r - 59), b, 16) == 0)
            return 0;
        if (!(u->xstate_bv & 4) && memcmp(b, zero, 16) != 0 && !avx_ok(sb, u))
            return -1;
        memcpy(u->ymmh + 16 * (r - 59), b, 16);
        if (memcmp(b, zero, 16) != 0)
            u->xstate_bv |= 4;
    }
    g->regs_dirty = 1;
    return 0;
}

static int hexv(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int h = hexv(s[2 * i]), l = h < 0 ? -1 : hexv(s[2 * i + 1]);
        if (l < 0)
            return -1;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

static char *tohex(char *o, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        *o++ = hexd[b[i] >> 4], *o++ = hexd[b[i] & 15];
    *o = 0;
    return o;
}

static uint64_t parse_hex(const char **s)
{
    uint64_t v = 0;
    int d;
    while ((d = hexv(**s)) >= 0)
        v = v << 4 | (uint64_t)d, (*s)++;
    return v;
}

/* ------------------------------------------------------------------------- */
/* Breakpoints. */

static int bp_find(const struct glint_gdb *g, uint64_t a)
{
    for (int i = 0; i < g->nbp; i++)
        if (g->bp[i].addr == a)
            return i;
    return -1;
}

static int bp_insert(glint_sandbox *sb, struct glint_gdb *g, uint64_t a)
{
    if (bp_find(g, a) >= 0)
        return 0;
    if (g->nbp == MAX_BPS || !(glint_guest_page(sb, a) & GUEST_PAGE_X))
        return -1;
    g->bp[g->nbp].addr = a;
    g->bp[g->nbp].orig = sb->mem[a];
    g->nbp++;
    sb->mem[a] = 0xcc; /* host side: the guest's mapping stays read-only */
    return 0;
}

static int bp_remove(glint_sandbox *sb, struct glint_gdb *g, uint64_t a)
{
    int i = bp_find(g, a);
    if (i < 0)
        return -1;
    sb->mem[a] = g->bp[i].orig;
    g->bp[i] = g->bp[--g->nbp];
    return 0;
}

static void bp_clear(glint_sandbox *sb, struct glint_gdb *g)
{
    while (g->nbp)
        bp_remove(sb, g, g->bp[0].addr);
}

/* ------------------------------------------------------------------------- */
/* Serving gdb while the guest is stopped. */

enum action { ACT_CONT, ACT_STEP, ACT_DETACH, ACT_KILL, ACT_GONE };

static void load_regs(glint_sandbox *sb, struct glint_gdb *g)
{
    if (g->regs_valid)
        return;
    glint_guest_regs(sb, &g->u, &g->cs, &g->ss, sb->err.rip);
    g->regs_valid = 1;
    g->regs_dirty = 0;
}

static void stop_reply(char *out, size_t size, int sig)
{
    snprintf(out, size, "T%02xthread:01;", sig & 0xff);
}

static enum action serve(glint_sandbox *sb, struct glint_gdb *g, int sig)
{
    char *o = g->out;
    for (;;) {
        if (get_packet(g) != 0)
            return ACT_GONE;
        const char *p = g->pkt;
        o[0] = 0;
        switch (p[0]) {
        case '?':
            stop_reply(o, PKT_MAX, sig);
            break;
        case 'g': {
            load_regs(sb, g);
            char *w = o;
            uint8_t b[16];
            for (int r = 0; r < NREGS; r++) {
                reg_get(g, r, b);
                w = tohex(w, b, reg_size(r));
            }
            break;
        }
        case 'G': {
            load_regs(sb, g);
            const char *s = p + 1;
            uint8_t b[16];
            for (int r = 0; r < NREGS && strlen(s) >= 2 * reg_size(r); r++) {
                if (unhex(s, b, reg_size(r)) != 0)
                    break;
                (void)reg_set(sb, g, r, b); /* a refused upper half stays as it was */
                s += 2 * reg_size(r);
            }
            strcpy(o, "OK");
            break;
        }
        case 'p': {
            load_regs(sb, g);
            const char *s = p + 1;
            uint64_t r = parse_hex(&s);
            uint8_t b[16];
            if (r >= NREGS) {
                strcpy(o, "E01");
                break;
            }
            reg_get(g, (int)r, b);
            tohex(o, b, reg_size((int)r));
            break;
        }
        case 'P': {
            load_regs(sb, g);
            const char *s = p + 1;
            uint64_t r = parse_hex(&s);
            uint8_t b[16];
            if (r >= NREGS || *s != '=' || strlen(s + 1) < 2 * reg_size((int)r) ||
                unhex(s + 1, b, reg_size((int)r)) != 0) {
                strcpy(o, "E01");
                break;
            }
            strcpy(o, reg_set(sb, g, (int)r, b) == 0 ? "OK" : "E01");
            break;
        }
        case 'm': {
            const char *s = p + 1;
            uint64_t a = parse_hex(&s);
            uint64_t n = *s == ',' ? (s++, parse_hex(&s)) : 0;
            if (n > (PKT_MAX - 8) / 2)
                n = (PKT_MAX - 8) / 2;
            uint8_t buf[PKT_MAX / 2];
            size_t got = glint_guest_read(sb, a, buf, (size_t)n);
            /* Show the guest's own bytes, not the breakpoints. */
            for (int i = 0; i < g->nbp; i++)
                if (g->bp[i].addr >= a && g->bp[i].addr - a < got)
                    buf[g->bp[i].addr - a] = g->bp[i].orig;
            if (!got && n)
                strcpy(o, "E14");
            else
                tohex(o, buf, got);
            break;
        }
        case 'M': {
            const char *s = p + 1;
            uint64_t a = parse_hex(&s);
            uint64_t n = *s == ',' ? (s++, parse_hex(&s)) : 0;
            uint8_t buf[PKT_MAX / 2];
            int ok = *s == ':' && n <= sizeof buf && strlen(s + 1) >= 2 * n &&
                     unhex(s + 1, buf, (size_t)n) == 0;
            for (uint64_t i = 0; ok && i < n; i++)
                ok = a + i >= a && glint_guest_page(sb, a + i) != 0 && bp_find(g, a + i) < 0;
            if (!ok) {
                strcpy(o, "E14");
                break;
            }
            memcpy(sb->mem + a, buf, (size_t)n);
            if (n && sb->synced) { /* a host write the dirty log does not see */
                glint_snapshot_free(sb->synced);
                sb->synced = NULL;
            }
            strcpy(o, "OK");
            break;
        }
        case 'Z':
        case 'z': {
            const char *s = p + 1;
            if (*s != '0') {
                break; /* only software breakpoints */
            }
            s += 2;
            uint64_t a = parse_hex(&s);
            int r = p[0] == 'Z' ? bp_insert(sb, g, a) : bp_remove(sb, g, a);
            strcpy(o, r == 0 || p[0] == 'z' ? "OK" : "E01");
            break;
        }
        case 'c':
        case 's':
            if (p[1]) { /* resume at an address */
                const char *s = p + 1;
                load_regs(sb, g);
                g->u.rip = parse_hex(&s);
                g->regs_dirty = 1;
            }
            return p[0] == 'c' ? ACT_CONT : ACT_STEP;
        case 'v':
            if (!strcmp(p, "vCont?")) {
                strcpy(o, "vCont;c;C;s;S");
            } else if (!strncmp(p, "vCont;", 6)) {
                /* One thread: the first action applies to it.  A signal
                 * (C/S) cannot be delivered to a guest: it resumes as c/s. */
                char act = p[6];
                if (act == 'c' || act == 'C')
                    return ACT_CONT;
                if (act == 's' || act == 'S')
                    return ACT_STEP;
                strcpy(o, "E01");
            } else if (!strncmp(p, "vKill", 5)) {
                put_packet(g, "OK");
                return ACT_KILL;
            }
            break; /* other v packets: unsupported, empty reply */
        case 'D':
            put_packet(g, "OK");
            return ACT_DETACH;
        case 'k':
            return ACT_KILL;
        case 'H':
        case 'T':
            strcpy(o, "OK");
            break;
        case 'q':
            if (!strncmp(p, "qSupported", 10))
                snprintf(o, PKT_MAX, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+", PKT_MAX);
            else if (!strcmp(p, "qAttached"))
                strcpy(o, "1");
            else if (!strcmp(p, "qC"))
                strcpy(o, "QC01");
            else if (!strcmp(p, "qfThreadInfo"))
                strcpy(o, "m01");
            else if (!strcmp(p, "qsThreadInfo"))
                strcpy(o, "l");
            else if (!strcmp(p, "qSymbol::"))
                strcpy(o, "OK");
            else if (!strncmp(p, "qXfer:features:read:target.xml:", 31)) {
                const char *s = p + 31;
                uint64_t off = parse_hex(&s);
                uint64_t len = *s == ',' ? (s++, parse_hex(&s)) : 0;
                uint64_t total = sizeof target_xml - 1;
                if (len > PKT_MAX - 16)
                    len = PKT_MAX - 16;
                if (off >= total) {
                    strcpy(o, "l");
                } else {
                    uint64_t n = total - off < len ? total - off : len;
                    o[0] = off + n >= total ? 'l' : 'm';
                    memcpy(o + 1, target_xml + off, (size_t)n);
                    o[n + 1] = 0;
                }
            } else if (!strncmp(p, "qXfer:features:read:", 20))
                strcpy(o, "E00");
            break;
        case 'Q':
            if (!strcmp(p, "QStartNoAckMode")) {
                put_packet(g, "OK");
                g->noack = 1;
                continue;
            }
            break;
        default:
            break; /* unsupported: empty reply */
        }
        if (put_packet(g, o) != 0)
            return ACT_GONE;
    }
}

/* Acts on what gdb said: resume (applying register changes and TF). */
static void resume(glint_sandbox *sb, struct glint_gdb *g, enum action a, int from_trap)
{
    if (a == ACT_GONE || a == ACT_DETACH || a == ACT_KILL) {
        bp_clear(sb, g);
        session_over(sb, g);
        if (a == ACT_KILL) {
            atomic_store(&sb->cancel_reason, (int)GLINT_E_CANCELLED);
            atomic_store(&sb->cancel_seq, atomic_load(&sb->seq));
        }
    }
    g->stepping = a == ACT_STEP;
    hv_debug(sb, g, g->over ? 0 : HV_DEBUG_BP | (g->stepping ? HV_DEBUG_STEP : 0));
    /* A step sets TF itself, also with the hypervisor's single step: KVM
     * keeps its own TF only while RIP is where it was when the step was
     * armed, and a debugger's register write (RIP back to the breakpoint)
     * moves it.  With guest debug the #DB still stops in the host. */
    int want_tf = g->stepping;
    if (from_trap || g->regs_dirty || want_tf) {
        load_regs(sb, g);
        if (want_tf)
            g->u.rflags |= 0x100;
        else
            g->u.rflags &= ~0x100ull;
        glint_error e;
        if (glint_guest_set_regs(sb, &g->u, &e) != GLINT_OK) {
            fprintf(stderr, "glint: debugger: cannot set the guest's registers: %s\n", e.message);
        }
    }
    g->regs_valid = 0;
    g->regs_dirty = 0;
}

/* Takes the int3 bytes out of guest memory, keeping the list (between
 * initialization and the call: nothing may snapshot them), or puts them back. */
static void bp_lift(glint_sandbox *sb, struct glint_gdb *g, int lift)
{
    for (int i = 0; i < g->nbp; i++)
        sb->mem[g->bp[i].addr] = lift ? g->bp[i].orig : 0xcc;
}

void glint_gdb_call_begin(glint_sandbox *sb)
{
    struct glint_gdb *g = sb->gdb;
    if (g->attached)
        bp_lift(sb, g, 0);
    if (g->over || g->attached)
        return;
    for (;;) {
        int fd = (int)io(IO_ACCEPT, g->lfd, NULL, 0);
        if (fd >= 0) {
            g->fd = fd;
            break;
        }
        if (errno != ECONNABORTED && errno != EAGAIN) {
            g->over = 1;
            return;
        }
    }
    close(g->lfd);
    g->lfd = -1;
    g->attached = 1;
    g->regs_valid = 0;
    glint_error e;
    g->hv_dbg = sb->be->guest_debug ? sb->be->guest_debug(sb->hv, HV_DEBUG_BP, &e) : 0;
    if (g->hv_dbg < 0) {
        fprintf(stderr, "glint: debugger: %s; using the trap flag\n", e.message);
        g->hv_dbg = 0;
    }
    enum action a = serve(sb, g, 5);
    resume(sb, g, a, 0);
}

int glint_gdb_exception(glint_sandbox *sb, const struct hv_exit *ex)
{
    struct glint_gdb *g = sb->gdb;
    if (!g->attached)
        return 0;
    int ours = (ex->vector == 3 && ex->rip && bp_find(g, ex->rip - 1) >= 0) || ex->vector == 1;
    g->regs_valid = 0;
    if (ours && ex->vector == 1 && !g->stepping) {
        resume(sb, g, ACT_CONT, 1); /* a trap flag left over: go on */
        return 1;
    }
    int sig = 5;
    if (!ours) {
        glint_error e = {.status = GLINT_E_EXCEPTION, .vector = ex->vector};
        sig = glint_failure_signal(&e);
    }
    load_regs(sb, g);
    g->u.rflags &= ~0x100ull;
    stop_reply(g->out, PKT_MAX, sig);
    enum action a = put_packet(g, g->out) == 0 ? serve(sb, g, sig) : ACT_GONE;
    if (!ours) {
        /* A failure: gdb has seen it; the call fails as without a debugger. */
        if (a != ACT_CONT && a != ACT_STEP) {
            bp_clear(sb, g);
            session_over(sb, g);
        }
        g->regs_valid = 0;
        return 0;
    }
    resume(sb, g, a, 1);
    return 1;
}

void glint_gdb_call_end(glint_sandbox *sb, glint_status s)
{
    struct glint_gdb *g = sb->gdb;
    if (!sb->in_call && s == GLINT_OK && g->attached) {
        bp_lift(sb, g, 1);
        return; /* initialization went well: the session goes on into the call */
    }
    bp_clear(sb, g);
    if (g->attached) {
        char msg[16];
        if (s == GLINT_OK || s == GLINT_E_GUEST_ERROR)
            snprintf(msg, sizeof msg, "W00");
        else
            snprintf(msg, sizeof msg, "X%02x", glint_failure_signal(&sb->err) & 0xff);
        put_packet(g, msg);
        session_over(sb, g);
    }
    if (g->lfd < 0)
        g->over = 1;
}

void glint_gdb_free(glint_sandbox *sb)
{
    struct glint_gdb *g = sb->gdb;
    if (!g)
        return;
    if (sb->hv)
        hv_debug(sb, g, 0);
    if (g->fd >= 0)
        close(g->fd);
    if (g->lfd >= 0)
        close(g->lfd);
    free(g);
    sb->gdb = NULL;
}

API glint_status glint_sandbox_debug_listen(glint_sandbox *sb, uint16_t port, uint16_t *bound_port)
{
    if (!sb)
        return GLINT_E_INVALID;
    glint_gdb_free(sb);
    /* Breakpoints are written into the guest's code: its own copy. */
    if (sb->shared_ro) {
        int idle = 0;
        if (!atomic_compare_exchange_strong(&sb->busy, &idle, 1))
            return GLINT_E_BUSY;
        glint_status us = glint_sandbox_unshare(sb, 1, &sb->err);
        atomic_store(&sb->busy, 0);
        if (us != GLINT_OK)
            return us;
    }
    struct glint_gdb *g = calloc(1, sizeof *g);
    if (!g)
        return glint_fail(&sb->err, GLINT_E_NOMEM, "out of memory");
    g->fd = -1;
    g->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    if (g->lfd < 0 || setsockopt(g->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(g->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(g->lfd, 1) != 0) {
        int e = errno;
        if (g->lfd >= 0)
            close(g->lfd);
        free(g);
        return glint_fail(&sb->err, GLINT_E_IO, "debugger: cannot listen on 127.0.0.1:%u: %s", port,
                          strerror(e));
    }
    socklen_t len = sizeof a;
    if (bound_port && getsockname(g->lfd, (struct sockaddr *)&a, &len) == 0)
        *bound_port = ntohs(a.sin_port);
    glint_service_start();
    /* The backend's guest-debug probe (KVM: a small VM, once per process)
     * runs here, on the thread that may still create VMs, not on a call
     * thread that glint_seccomp_restrict_thread may have confined. */
    glint_error e;
    if (sb->hv && sb->be->guest_debug)
        (void)sb->be->guest_debug(sb->hv, 0, &e);
    sb->gdb = g;
    /* Single steps and breakpoints need every exit to be a fault (the exit
     * gate would run the stub's code under the trap flag). */
    sb->no_exit_gate = 1;
    glint_sandbox_sync_exit_gate(sb);
    return GLINT_OK;
}
