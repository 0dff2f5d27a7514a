/*
 * test_gdb.c - the GDB remote stub (docs/observability.md, "Debugger"):
 * gdb in batch mode against a sandbox on the backend this run uses
 * (scripts/test-backends.sh runs the suite on each).  The guest is built
 * with -O0 -g (Makefile) so that gdb can step it and print its locals.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "helpers.h"

#define GDB_GUEST TEST_GUEST("gdb_guest")

/* Test hooks of the KVM backend (src/host/hv.h). */
int glint_debug_kvm_guest_debug(char *why, size_t why_size);
unsigned long glint_debug_kvm_debug_exits(void);

struct gdb_run {
    pid_t pid;
    char out[64];
};

/* Starts gdb in batch mode against 127.0.0.1:port with `cmds`. */
static void gdb_start(struct gdb_run *g, uint16_t port, const char *cmds)
{
    snprintf(g->out, sizeof g->out, "/tmp/glint-gdb-%d-%u.out", (int)getpid(), port);
    char cmd[2000];
    snprintf(cmd, sizeof cmd,
             "exec timeout 60 gdb -nx -batch -ex 'set remotetimeout 30' "
             "-ex 'target remote 127.0.0.1:%u' %s '%s' > '%s' 2>&1",
             port, cmds, GDB_GUEST, g->out);
    g->pid = fork();
    cr_assert(g->pid >= 0, "fork");
    if (g->pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
}

/* Waits for gdb; its output (malloc'd). */
static char *gdb_finish(struct gdb_run *g)
{
    int st;
    while (waitpid(g->pid, &st, 0) < 0)
        ;
    char *buf = th_read_text(g->out, 65536);
    unlink(g->out);
    return buf ? buf : calloc(1, 1);
}

static bool gdb_installed(void)
{
    return system("gdb --version >/dev/null 2>&1") == 0;
}

/* A sandbox of gdb_guest, no time limit. */
static glint_sandbox *gdb_guest_sandbox(void)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 0;
    return th_create(GDB_GUEST, &cfg);
}

/* sb listening; gdb started against it with cmds. */
static void gdb_listen(struct gdb_run *g, glint_sandbox *sb, const char *cmds)
{
    uint16_t port = 0;
    EXPECT_OK(sb, glint_sandbox_debug_listen(sb, 0, &port));
    cr_assert(port != 0);
    gdb_start(g, port, cmds);
}

/* A sandbox of gdb_guest, no time limit, listening; gdb started with cmds. */
static glint_sandbox *gdb_sandbox(struct gdb_run *g, const char *cmds)
{
    glint_sandbox *sb = gdb_guest_sandbox();
    gdb_listen(g, sb, cmds);
    return sb;
}

static int32_t gdb_sum(glint_sandbox *sb, int32_t n, glint_status want)
{
    glint_value a = {.type = GLINT_I32, .v.i32 = n}, r = {.type = GLINT_VOID};
    glint_status s = glint_sandbox_call(sb, "Sum", &a, 1, &r);
    cr_assert_eq(s, want, "Sum: %s: %s", glint_status_name(s), glint_sandbox_error(sb)->message);
    return r.v.i32;
}

Test(gdb, breakpoint_step_print_continue, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!gdb_installed())
        cr_skip_test("gdb is not installed");
    struct gdb_run g;
    glint_sandbox *sb = gdb_sandbox(&g, "-ex 'break gdb_add' -ex continue -ex bt -ex 'print acc' "
                                        "-ex 'print v' -ex next -ex 'print next' -ex stepi "
                                        "-ex 'info registers rip' -ex delete -ex continue");
    EXPECT_OK(sb, glint_sandbox_init(sb));
    cr_assert_eq(gdb_sum(sb, 4, GLINT_OK), 10);
    char *out = gdb_finish(&g);
    cr_assert(th_has(out, "Breakpoint 1, gdb_add (acc=0, v=1)"), "gdb:\n%s", out);
    cr_assert(th_has(out, "in Sum (") , "gdb:\n%s", out);
    cr_assert(th_has(out, "$1 = 0") && th_has(out, "$2 = 1") && th_has(out, "$3 = 1"), "gdb:\n%s", out);
    cr_assert(th_has(out, "<gdb_add+"), "gdb:\n%s", out);
    cr_assert(th_has(out, "exited normally"), "gdb:\n%s", out);
    free(out);
    /* The sandbox goes on as usual, without the debugger. */
    cr_assert_eq(gdb_sum(sb, 3, GLINT_OK), 6);
    glint_sandbox_destroy(sb);
}

/* A sandbox made from a snapshot: on the process backend it maps the
 * snapshot's code pages, which nobody may write; listening gives it its own
 * copy (a new guest process in the same state), so breakpoints work, and
 * the snapshot and its other sandboxes never see them. */
Test(gdb, breakpoint_in_a_sandbox_from_a_snapshot, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!gdb_installed())
        cr_skip_test("gdb is not installed");
    glint_sandbox *x = gdb_guest_sandbox();
    EXPECT_OK(x, glint_sandbox_init(x));
    cr_assert_eq(gdb_sum(x, 2, GLINT_OK), 3);
    glint_snapshot *snap = NULL;
    EXPECT_OK(x, glint_sandbox_snapshot(x, &snap));
    glint_error err;
    glint_sandbox *y = NULL, *z = NULL;
    cr_assert_eq(glint_sandbox_create_from_snapshot(snap, &y, &err), GLINT_OK, "%s", err.message);
    cr_assert_eq(glint_sandbox_create_from_snapshot(snap, &z, &err), GLINT_OK, "%s", err.message);
    EXPECT_OK(y, glint_sandbox_init(y));
    EXPECT_OK(z, glint_sandbox_init(z));
    struct gdb_run g;
    gdb_listen(&g, y, "-ex 'break gdb_add' -ex continue -ex 'print v' -ex delete -ex continue");
    cr_assert_eq(gdb_sum(y, 4, GLINT_OK), 10);
    char *out = gdb_finish(&g);
    cr_assert(th_has(out, "Breakpoint 1, gdb_add (acc=0, v=1)"), "gdb:\n%s", out);
    cr_assert(th_has(out, "exited normally"), "gdb:\n%s", out);
    free(out);
    /* No int3 left anywhere: y, its sibling, a new one from the snapshot. */
    cr_assert_eq(gdb_sum(y, 3, GLINT_OK), 6);
    cr_assert_eq(gdb_sum(z, 5, GLINT_OK), 15);
    glint_sandbox *w = NULL;
    cr_assert_eq(glint_sandbox_create_from_snapshot(snap, &w, &err), GLINT_OK, "%s", err.message);
    EXPECT_OK(w, glint_sandbox_init(w));
    cr_assert_eq(gdb_sum(w, 4, GLINT_OK), 10);
    glint_sandbox_destroy(w);
    glint_sandbox_destroy(z);
    glint_sandbox_destroy(y);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(x);
}

Test(gdb, write_memory_and_detach, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!gdb_installed())
        cr_skip_test("gdb is not installed");
    struct gdb_run g;
    glint_sandbox *sb = gdb_sandbox(&g, "-ex 'break gdb_add' -ex continue -ex 'set var acc = 1000' "
                                        "-ex detach");
    EXPECT_OK(sb, glint_sandbox_init(sb));
    /* 1000 + 1 + 2 + 3 + 4: gdb changed the guest's local, then let it go. */
    cr_assert_eq(gdb_sum(sb, 4, GLINT_OK), 1010);
    char *out = gdb_finish(&g);
    cr_assert(th_has(out, "Detaching") || th_has(out, "detached"), "gdb:\n%s", out);
    free(out);
    glint_sandbox_destroy(sb);
}

Test(gdb, fault_is_sigsegv, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!gdb_installed())
        cr_skip_test("gdb is not installed");
    struct gdb_run g;
    glint_sandbox *sb = gdb_sandbox(&g, "-ex continue -ex bt -ex continue");
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_value a = {.type = GLINT_I32, .v.i32 = 5}, r;
    cr_assert_eq(glint_sandbox_call(sb, "Fault", &a, 1, &r), GLINT_E_EXCEPTION);
    char *out = gdb_finish(&g);
    cr_assert(th_has(out, "SIGSEGV"), "gdb:\n%s", out);
    cr_assert(th_has(out, "in Fault (") || th_has(out, "Fault ("), "gdb:\n%s", out);
    free(out);
    glint_sandbox_destroy(sb);
}

Test(gdb, memory_outside_guest_refused, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!gdb_installed())
        cr_skip_test("gdb is not installed");
    struct gdb_run g;
    /* The page tables (not mapped for the guest) and a host-like address. */
    glint_sandbox *sb = gdb_sandbox(&g, "-ex 'x/2gx 0x1000' -ex 'x/2gx 0x7fff00000000' "
                                        "-ex 'set {long}0x1000 = 1' -ex continue");
    EXPECT_OK(sb, glint_sandbox_init(sb));
    cr_assert_eq(gdb_sum(sb, 2, GLINT_OK), 3);
    char *out = gdb_finish(&g);
    cr_assert(th_has(out, "Cannot access memory at address 0x1000"), "gdb:\n%s", out);
    cr_assert(th_has(out, "Cannot access memory at address 0x7fff00000000"), "gdb:\n%s", out);
    free(out);
    glint_sandbox_destroy(sb);
}

/* On KVM the debugger uses KVM_SET_GUEST_DEBUG where KVM stops ring-3 code
 * with it (a probe VM decides, once per process), else the trap flag and
 * int3 through the guest's IDT.  Either way the session must work, and the
 * debug exits must come from the method the probe chose. */
Test(gdb, kvm_guest_debug_where_it_works, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!gdb_installed())
        cr_skip_test("gdb is not installed");
    struct gdb_run g;
    glint_sandbox *sb = gdb_sandbox(&g, "-ex 'break gdb_add' -ex continue -ex stepi -ex stepi "
                                        "-ex 'info registers rip' -ex delete -ex continue");
    if (glint_sandbox_backend(sb) != GLINT_BACKEND_KVM) {
        EXPECT_OK(sb, glint_sandbox_init(sb));
        cr_assert_eq(gdb_sum(sb, 2, GLINT_OK), 3);
        free(gdb_finish(&g));
        glint_sandbox_destroy(sb);
        cr_skip_test("the process backend has no guest-debug facility: trap flag and int3 "
                     "(the other gdb tests)");
    }
    char why[256];
    int hv = glint_debug_kvm_guest_debug(why, sizeof why);
    unsigned long before = glint_debug_kvm_debug_exits();
    EXPECT_OK(sb, glint_sandbox_init(sb));
    cr_assert_eq(gdb_sum(sb, 4, GLINT_OK), 10);
    char *out = gdb_finish(&g);
    unsigned long exits = glint_debug_kvm_debug_exits() - before;
    cr_assert(th_has(out, "Breakpoint 1, gdb_add"), "gdb:\n%s", out);
    cr_assert(th_has(out, "exited normally"), "gdb:\n%s", out);
    cr_assert(th_has(out, "<gdb_add+"), "gdb:\n%s", out); /* two steps into gdb_add */
    if (hv) {
        /* The breakpoint and both steps stopped in the host. */
        cr_assert_geq(exits, 3, "KVM guest debug works here, yet %lu debug exits", exits);
    } else {
        cr_assert(why[0], "the probe said no without a reason");
        cr_assert_eq(exits, 0, "KVM guest debug is off here (%s), yet %lu debug exits", why, exits);
        fprintf(stderr, "gdb: KVM guest debug not used here: %s; trap flag and int3 tested\n", why);
    }
    free(out);
    cr_assert_eq(gdb_sum(sb, 3, GLINT_OK), 6);
    glint_sandbox_destroy(sb);
}

/* The upper halves of YMM0-15 (target description feature i386.avx):
 * gdb reads them and, where the guest has AVX, writes them. */
Test(gdb, avx_upper_halves, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!gdb_installed())
        cr_skip_test("gdb is not installed");
    struct gdb_run g;
    glint_sandbox *sb = gdb_sandbox(&g, "-ex 'break gdb_add' -ex continue "
                                        "-ex 'p/x $ymm3.v4_int64[0]' "
                                        "-ex 'set var $ymm3.v4_int64[3] = 0x5eed0000cafe' "
                                        "-ex stepi -ex 'p/x $ymm3.v4_int64[3]' -ex delete "
                                        "-ex continue");
    bool avx = glint_sandbox_backend(sb) == GLINT_BACKEND_KVM
                   ? strstr(glint_backend_describe(GLINT_BACKEND_KVM), "AVX enabled") != NULL
                   : __builtin_cpu_supports("avx");
    EXPECT_OK(sb, glint_sandbox_init(sb));
    cr_assert_eq(gdb_sum(sb, 4, GLINT_OK), 10);
    char *out = gdb_finish(&g);
    cr_assert(th_has(out, "Breakpoint 1, gdb_add"), "gdb:\n%s", out);
    cr_assert(th_has(out, "$1 = 0x"), "gdb shows no YMM3:\n%s", out);
    /* Read back after a step, from the guest's registers (not gdb's
     * cache): the write reached the guest, or was refused where it has
     * no AVX. */
    if (avx)
        cr_assert(th_has(out, "$2 = 0x5eed0000cafe"), "gdb:\n%s", out);
    else
        cr_assert(th_has(out, "E01") && th_has(out, "$2 = 0x0"), "gdb:\n%s", out);
    cr_assert(th_has(out, "exited normally"), "gdb:\n%s", out);
    free(out);
    glint_sandbox_destroy(sb);
}

/* A free TCP port on 127.0.0.1 (closed again: a small race, no more). */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0, "cannot find a free port");
    close(fd);
    return ntohs(a.sin_port);
}

/* `glint call --gdb PORT` with its default seccomp filter on the call
 * thread: the session (and, on KVM, the guest-debug probe) works there. */
Test(gdb, cli_call_under_seccomp, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (!gdb_installed())
        cr_skip_test("gdb is not installed");
    uint16_t port = free_port();
    char out[64], cmd[800];
    snprintf(out, sizeof out, "/tmp/glint-gdbcli-%d.out", (int)getpid());
    snprintf(cmd, sizeof cmd, "exec timeout 60 %s/bin/glint call --gdb %u %s Sum 4 > '%s' 2>&1",
             GLINT_BUILD_DIR, port, GDB_GUEST, out);
    pid_t glint = fork();
    cr_assert(glint >= 0, "fork");
    if (glint == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* Until glint listens. */
    for (int i = 0; i < 1000; i++) {
        char *text = th_read_text(out, 65536);
        bool ready = text && th_has(text, "waiting for gdb");
        free(text);
        if (ready)
            break;
        usleep(10000);
    }
    struct gdb_run g;
    gdb_start(&g, port, "-ex 'break gdb_add' -ex continue -ex stepi -ex 'print acc' -ex delete "
                        "-ex continue");
    char *gout = gdb_finish(&g);
    int st;
    while (waitpid(glint, &st, 0) < 0)
        ;
    char *text = th_read_text(out, 65536);
    unlink(out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "glint: status 0x%x:\n%s\ngdb:\n%s", st,
              text ? text : "", gout);
    cr_assert(text && th_has(text, "10\n"), "glint:\n%s", text ? text : "");
    cr_assert(th_has(gout, "Breakpoint 1, gdb_add") && th_has(gout, "exited normally"), "gdb:\n%s", gout);
    free(text);
    free(gout);
}
