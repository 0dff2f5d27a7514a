/*
 * test_jail.c - the process backend's jail, checked from outside the child
 * through /proc/PID (the pid comes from the test hook
 * glint_debug_guest_pid): its seccomp mode, privileges, capabilities, file
 * descriptors and memory map; that the guest cannot reach host memory or
 * the kernel by any system-call entry; that a guest scribbling over the
 * stub's control page, or a child killed from outside, fails only its own
 * call and a restore brings the sandbox back; and that no child process or
 * file descriptor outlives its sandbox or the host process.
 *
 * Every test is for the process backend only (a visible skip on KVM).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guests/jail.h"
#include "helpers.h"
#include "proc_abi.h" /* struct proc_ctl: what the host reads from a scribbled control page */
#include "sandbox.h"  /* glint_debug_guest_pid (test hook); struct glint_sandbox */

#define JAIL_GUEST TEST_GUEST("jail")
#define SYSCALLS_GUEST TEST_GUEST("jail_syscalls")

#define STUB_BASE PROC_STUB_BASE
#define CTL_ADDR PROC_CTL_ADDR
#define CTL_SIZE PROC_CTL_SIZE
_Static_assert(JAIL_CTL_ADDR == PROC_CTL_ADDR && JAIL_CTL_WORDS * 8 == PROC_CTL_SIZE &&
                   JAIL_RO_ADDR == PROC_RO_ADDR &&
                   JAIL_CTL_HOST_WAITING == offsetof(struct proc_ctl, host_waiting),
               "tests/guests/jail.h is out of date");
#define VSYSCALL_ADDR 0xffffffffff600000ull

#define SKIP_UNLESS_PROCESS()                                                         \
    do {                                                                              \
        SKIP_IF_NO_KVM();                                                             \
        if (th_backend() != GLINT_BACKEND_PROCESS)                                    \
            cr_skip_test("process backend only");                                     \
    } while (0)

/* ---- /proc helpers ------------------------------------------------------- */

/* The open flags of fd in process pid (/proc/PID/fdinfo/FD), or -1. */
static int proc_fd_flags(int pid, int fd)
{
    char path[96], buf[512];
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", pid, fd);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int flags = -1;
    while (fgets(buf, sizeof buf, f))
        if (sscanf(buf, "flags: %o", (unsigned *)&flags) == 1)
            break;
    fclose(f);
    return flags;
}

/* Reads /proc/<pid>/<what> into buf (NUL-terminated); bytes read or -1. */
static ssize_t proc_read(int pid, const char *what, char *buf, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == size - 1)
            break;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* The value of "Name:" in /proc/<pid>/status (leading blanks skipped), in
 * out; false if the process or the field is not there. */
static bool status_field(int pid, const char *name, char *out, size_t size)
{
    char buf[8192];
    if (proc_read(pid, "status", buf, sizeof buf) <= 0)
        return false;
    size_t len = strlen(name);
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            const char *v = line + len + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            snprintf(out, size, "%s", v);
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

static bool proc_exists(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", pid);
    struct stat st;
    return stat(path, &st) == 0;
}

/* Field 22 of /proc/<pid>/stat (start time in clock ticks); 0 if gone. */
static unsigned long long proc_starttime(int pid)
{
    char buf[1024];
    if (proc_read(pid, "stat", buf, sizeof buf) <= 0)
        return 0;
    char *p = strrchr(buf, ')'); /* after the command name, which may hold blanks */
    if (!p)
        return 0;
    p += 2; /* field 3 */
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

/* The state letter of /proc/<pid>/stat; 0 if gone. */
static char proc_state(int pid)
{
    char buf[1024];
    if (proc_read(pid, "stat", buf, sizeof buf) <= 0)
        return 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* Asserts everything test 1 asserts about the child's status. */
static void expect_jailed(int pid)
{
    static const struct {
        const char *name, *want;
    } fields[] = {
        {"Seccomp", "2"},
        {"NoNewPrivs", "1"},
        {"CapInh", "0000000000000000"},
        {"CapPrm", "0000000000000000"},
        {"CapEff", "0000000000000000"},
        {"CapBnd", "0000000000000000"},
        {"CapAmb", "0000000000000000"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char v[128];
        cr_assert(status_field(pid, fields[i].name, v, sizeof v), "/proc/%d/status has no %s", pid,
                  fields[i].name);
        cr_assert_str_eq(v, fields[i].want, "/proc/%d/status: %s: %s, want %s", pid, fields[i].name, v,
                         fields[i].want);
    }
}

/* The guest pid of a live sandbox; asserts it is a process other than us. */
static int guest_pid(glint_sandbox *sb)
{
    int pid = glint_debug_guest_pid(sb);
    cr_assert_gt(pid, 0, "guest pid %d", pid);
    cr_assert_neq(pid, getpid());
    cr_assert(proc_exists(pid), "/proc/%d does not exist", pid);
    return pid;
}

/* Calls fn(its path under /proc/self/fd, its link's target, arg) for each
 * open descriptor of this process, until fn returns true. */
static void each_fd(bool (*fn)(const char *path, const char *link, void *arg), void *arg)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], link[512];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (fn(path, link, arg))
            break;
    }
    closedir(d);
}

struct link_want {
    const char *want;
    bool found;
};

static bool link_found(const char *path, const char *link, void *arg)
{
    (void)path;
    struct link_want *w = arg;
    return w->found = strcmp(link, w->want) == 0;
}

/* Does this process hold /proc/<pid>/pagemap open (dirty tracking is on for
 * that child, so it holds a userfaultfd)? */
static bool host_has_pagemap_of(int pid)
{
    char want[64];
    snprintf(want, sizeof want, "/proc/%d/pagemap", pid);
    struct link_want w = {want, false};
    each_fd(link_found, &w);
    return w.found;
}

/* Children of this process, all threads (/proc/self/task/ * /children). */
static int count_children(void)
{
    glob_t gl;
    int n = 0;
    glint_debug_process_settle(); /* destroyed sandboxes' processes reaped, spares at their target */
    if (glob("/proc/self/task/*/children", 0, NULL, &gl) != 0)
        return -1;
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        FILE *f = fopen(gl.gl_pathv[i], "r");
        if (!f)
            continue; /* a thread that just ended */
        int pid;
        while (fscanf(f, "%d", &pid) == 1)
            n++;
        fclose(f);
    }
    globfree(&gl);
    return n;
}

static glint_config jail_config(uint32_t timeout_ms)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = timeout_ms;
    cfg.backend = GLINT_BACKEND_PROCESS;
    return cfg;
}

static void expect_add_works(glint_sandbox *sb)
{
    glint_value args[2] = {glint_i32(20), glint_i32(22)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_assert_eq(r.type, GLINT_I32);
    cr_assert_eq(r.v.i32, 42, "Add(20, 22) = %d", r.v.i32);
}

/* ---- 1: status ----------------------------------------------------------- */

Test(jail, status_seccomp_nnp_no_caps, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(JAIL_GUEST, &cfg);
    int pid = guest_pid(sb);
    expect_jailed(pid);
    char v[128];
    cr_assert(status_field(pid, "Seccomp_filters", v, sizeof v));
    cr_assert_str_eq(v, "1", "Seccomp_filters: %s", v);
    /* Still so after calls. */
    expect_add_works(sb);
    cr_assert_eq(glint_debug_guest_pid(sb), pid);
    expect_jailed(pid);
    glint_sandbox_destroy(sb);
    glint_debug_process_settle(); /* the keeper reaps destroyed sandboxes' processes */
    cr_assert(!proc_exists(pid), "/proc/%d still there after destroy", pid);
}

/* ---- 2: file descriptors ------------------------------------------------- */

Test(jail, fds_only_park_pipe_and_userfaultfd, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(JAIL_GUEST, &cfg);
    expect_add_works(sb);
    int pid = guest_pid(sb);
    /* The host opens the child's pagemap when it first reads the dirty
     * pages (a snapshot or restore), where the child tracks them (a
     * userfaultfd): not for a sandbox that is only called. */
    cr_assert(!host_has_pagemap_of(pid), "the host opened the pagemap before reading dirty pages");
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    expect_add_works(sb);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    glint_snapshot_free(snap);
    cr_assert_eq(guest_pid(sb), pid, "a restore after a good call replaced the process");
    bool tracking = host_has_pagemap_of(pid);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "cannot open %s: %s", path, strerror(errno));
    int n = 0, park = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        char fdpath[600], link[512];
        snprintf(fdpath, sizeof fdpath, "%s/%s", path, e->d_name);
        ssize_t len = readlink(fdpath, link, sizeof link - 1);
        cr_assert_gt(len, 0, "readlink %s: %s", fdpath, strerror(errno));
        link[len] = '\0';
        cr_log_info("child fd %s -> %s", e->d_name, link);
        if (atoi(e->d_name) == PROC_FD_PARK) {
            cr_assert(!strncmp(link, "pipe:[", 6), "the park fd is %s, not a pipe", link);
            int flags = proc_fd_flags(pid, PROC_FD_PARK);
            cr_assert_eq(flags & O_ACCMODE, O_WRONLY, "the park pipe is open for reading too (0%o)", flags);
            park++;
        } else {
            cr_assert_str_eq(link, "anon_inode:[userfaultfd]", "the jailed child holds fd %s -> %s",
                             e->d_name, link);
        }
        n++;
    }
    closedir(d);
    cr_assert_eq(park, 1, "the child holds no park pipe");
    /* Its descriptor table never grew past the 64 a process starts with:
     * a grown one costs every sandbox process ~1.1 KiB (stub.c). */
    char v[64];
    cr_assert(status_field(pid, "FDSize", v, sizeof v));
    cr_assert_leq(atoi(v), 64, "FDSize %s: the descriptor table grew", v);
    cr_assert_eq(n, tracking ? 2 : 1, "the child holds %d fds (dirty tracking %s)", n,
                 tracking ? "on: want the park pipe and the userfaultfd" : "off: want the park pipe");
    glint_sandbox_destroy(sb);
}

/* ---- 3: memory map ------------------------------------------------------- */

Test(jail, maps_only_guest_stub_ctl_vsyscall, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(JAIL_GUEST, &cfg);
    expect_add_works(sb);
    int pid = guest_pid(sb);
    uint64_t mem_size = sb->lay.mem_size;
    cr_assert_gt(mem_size, 0);
    static char buf[1 << 16];
    ssize_t len = proc_read(pid, "maps", buf, sizeof buf);
    cr_assert_gt(len, 0, "cannot read /proc/%d/maps", pid);
    cr_assert_lt((size_t)len, sizeof buf - 1, "maps too long");
    int guest = 0, stub = 0, stub_text = 0, ctl = 0, ro = 0, vsyscall = 0;
    unsigned long long ctl_off = 0;
    unsigned long ctl_inode = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long start, end, off;
        char perms[8], dev[16];
        unsigned long inode;
        int name_at = 0;
        cr_assert_eq(sscanf(line, "%llx-%llx %7s %llx %15s %lu %n", &start, &end, perms, &off, dev,
                            &inode, &name_at),
                     6, "unparsed maps line: %s", line);
        const char *name = name_at ? line + name_at : "";
        cr_log_info("child map: %s", line);
        cr_assert(!(strchr(perms, 'w') && strchr(perms, 'x')), "writable and executable: %s", line);
        cr_assert(!HAS_ANY(name, "[stack", "[vdso]", "[vvar", "[heap]", "libc", "ld-linux",
                           "glint-tests"),
                  "host mapping in the child: %s", line);
        if (start < PROC_STUB_END && end > STUB_BASE &&
            !(start >= STUB_BASE && end <= PROC_STUB_END)) {
            cr_assert_fail("mapping across the stub's bounds: %s", line);
        } else if (start >= STUB_BASE && end <= CTL_ADDR) {
            /* The stub's text from its memfd (below its control pages). */
            if (name[0]) {
                cr_assert_str_eq(name, "/memfd:glint-stub (deleted)", "stub-range mapping: %s", line);
                cr_assert(!strchr(perms, 'w'), "writable stub text: %s", line);
                stub_text += strchr(perms, 'x') != NULL;
                /* The set-up gate, which the filter lets make any call, is
                 * gone before the guest runs. */
                cr_assert(end <= PROC_GATE_SETUP || start >= PROC_GATE_SETUP + 4096,
                          "the set-up gate's page is still mapped: %s", line);
            } else {
                cr_assert_str_eq(perms, "rw-p", "anonymous stub-range mapping: %s", line);
            }
            stub++;
        } else if (start == CTL_ADDR) {
            cr_assert_eq(end, CTL_ADDR + CTL_SIZE, "control page: %s", line);
            cr_assert_str_eq(name, "/memfd:glint-ctl (deleted)", "control page: %s", line);
            cr_assert_str_eq(perms, "rw-s", "control page: %s", line);
            /* A slot of a memfd that holds other sandboxes' too: its own. */
            cr_assert_eq(off % (CTL_SIZE + PROC_RO_SIZE), 0, "control page's slot: %s", line);
            ctl_off = off;
            ctl_inode = inode;
            ctl++;
        } else if (start == PROC_RO_ADDR) {
            cr_assert_eq(end, PROC_RO_ADDR + PROC_RO_SIZE, "read-only control page: %s", line);
            cr_assert_eq(ctl, 1, "read-only control page before the control page: %s", line);
            cr_assert_eq(off, ctl_off + CTL_SIZE, "read-only control page, not its slot's: %s", line);
            cr_assert_eq(inode, ctl_inode, "read-only control page, not its slot's: %s", line);
            cr_assert_str_eq(name, "/memfd:glint-ctl (deleted)", "read-only control page: %s", line);
            cr_assert_str_eq(perms, "r--s", "read-only control page: %s", line);
            ro++;
        } else if (start >= STUB_BASE && end <= PROC_STUB_END) {
            /* The stub's .bss: what a sandbox writes, its stacks. */
            cr_assert(start >= PROC_RO_ADDR + PROC_RO_SIZE, "stub-range mapping: %s", line);
            cr_assert_str_eq(name, "", "stub data mapping: %s", line);
            cr_assert_str_eq(perms, "rw-p", "stub data mapping: %s", line);
            stub++;
        } else if (end <= mem_size) {
            cr_assert_str_eq(name, "/memfd:glint-guest (deleted)", "guest-range mapping: %s", line);
            cr_assert_eq(off, start, "guest memory at its guest address: %s", line);
            cr_assert_eq(perms[3], 's', "guest memory not shared with the host: %s", line);
            guest++;
        } else if (start == VSYSCALL_ADDR) {
            cr_assert_str_eq(name, "[vsyscall]", "%s", line);
            vsyscall++;
        } else {
            cr_assert_fail("unexpected mapping in the jailed child: %s", line);
        }
    }
    cr_assert_gt(guest, 0, "no guest memory mapped");
    cr_assert_gt(stub, 0, "no stub mapped");
    cr_assert_eq(stub_text, 1, "%d executable stub mappings (want one: the gates and the rest, "
                 "the set-up gate's page after them unmapped)", stub_text);
    cr_assert_eq(ctl, 1, "control page mapped %d times", ctl);
    cr_assert_eq(ro, 1, "read-only control page mapped %d times", ro);
    cr_assert_leq(vsyscall, 1);
    glint_sandbox_destroy(sb);
}

/* The (inode, offset) of every child's control page; asserts no two
 * children map the same one.  Children killed but not yet reaped count. */
static int check_ctl_slots_unique(void)
{
    glob_t gl;
    cr_assert_eq(glob("/proc/self/task/*/children", 0, NULL, &gl), 0);
    static unsigned long long seen[4096][2];
    int n = 0;
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        FILE *f = fopen(gl.gl_pathv[i], "r");
        int pid;
        while (f && fscanf(f, "%d", &pid) == 1) {
            static char buf[1 << 16];
            if (proc_read(pid, "maps", buf, sizeof buf) <= 0)
                continue; /* gone meanwhile */
            for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                unsigned long long start, end, off, inode;
                char perms[8], dev[16];
                if (!strstr(line, "glint-ctl") ||
                    sscanf(line, "%llx-%llx %7s %llx %15s %llu", &start, &end, perms, &off, dev, &inode) != 6 ||
                    strcmp(perms, "rw-s") != 0)
                    continue;
                for (int k = 0; k < n; k++)
                    cr_assert(!(seen[k][0] == inode && seen[k][1] == off),
                              "two processes map control page slot (inode %llu, offset 0x%llx)", inode, off);
                cr_assert_lt(n, 4096);
                seen[n][0] = inode;
                seen[n][1] = off;
                n++;
            }
        }
        if (f)
            fclose(f);
    }
    globfree(&gl);
    return n;
}

static int host_ctl_mappings(void)
{
    static char buf[1 << 20];
    cr_assert_gt(proc_read(getpid(), "maps", buf, sizeof buf), 0);
    int n = 0;
    for (char *p = buf; (p = strstr(p, "/memfd:glint-ctl")); p++)
        n++;
    return n;
}

/* Control pages are slots of memfds that many sandboxes' share (process.c:
 * ctl_take): no two processes ever map the same slot while sandboxes come
 * and go (a slot is given back only once its process is reaped), and
 * destroyed sandboxes' slots are used again. */
Test(jail, control_page_slots_never_shared, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    enum { N = 24 };
    glint_sandbox *sb[N];
    for (int i = 0; i < N; i++)
        sb[i] = th_start(JAIL_GUEST, &cfg);
    int mapped = 0;
    for (int round = 0; round < 6; round++) {
        for (int i = round % 2; i < N; i += 2) {
            glint_sandbox_destroy(sb[i]); /* killed; the keeper reaps it */
            sb[i] = th_start(JAIL_GUEST, &cfg);
            mapped = check_ctl_slots_unique();
        }
    }
    cr_assert_geq(mapped, N, "%d control pages mapped by %d sandboxes' processes", mapped, N);
    for (int i = 0; i < N; i++)
        glint_sandbox_destroy(sb[i]);
    glint_debug_process_settle();
    check_ctl_slots_unique();
    /* 24 + 72 sandboxes, few at once: one memfd of slots (plus none per sandbox). */
    cr_assert_eq(host_ctl_mappings(), 1, "control memfds mapped here: %d", host_ctl_mappings());
}

static bool add_ctl_memfd_kib(const char *path, const char *link, void *kib)
{
    struct stat st;
    long long *k = kib;
    if (strstr(link, "/memfd:glint-ctl") && stat(path, &st) == 0)
        *k = (*k < 0 ? 0 : *k) + (long long)st.st_blocks / 2;
    return false;
}

/* Memory the control memfds hold (their allocated pages), KiB; -1: none. */
static long long ctl_memfd_kib(void)
{
    long long kib = -1;
    each_fd(add_ctl_memfd_kib, &kib);
    return kib;
}

/* Freed control slots keep their pages for the next spare (no unmapping,
 * no TLB-flush interrupts), but only a bounded number of them: after a
 * peak of 100 sandboxes, the memfd holds the pages of the spares' slots
 * and at most CTL_KEEP_FREE (64) free ones, not 100. */
Test(jail, freed_control_slots_memory_bounded, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    enum { N = 100 };
    glint_sandbox **sb = calloc(N, sizeof *sb);
    cr_assert_not_null(sb);
    for (int i = 0; i < N; i++)
        sb[i] = th_start(JAIL_GUEST, &cfg);
    long long peak = ctl_memfd_kib();
    for (int i = 0; i < N; i++)
        glint_sandbox_destroy(sb[i]);
    free(sb);
    glint_debug_process_settle();
    long long after = ctl_memfd_kib();
    cr_log_info("control memfd: %lld KiB with %d sandboxes, %lld KiB after", peak, N, after);
    cr_assert_geq(peak, N * 8, "%lld KiB for %d sandboxes' 8 KiB slots", peak, N);
    cr_assert_leq(after, (64 + 16) * 8, "%lld KiB kept after %d sandboxes went", after, N);
    /* Slots used again start zeroed: sandboxes still work. */
    th_expect_fresh_sandbox_works();
}

/* ---- 4: host memory is out of reach ------------------------------------- */

static volatile uint64_t g_host_secret = 0x5ec7e75ec7e75ec7ull;

static void expect_host_address_refused(const char *fn, const glint_value *args, size_t nargs)
{
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(JAIL_GUEST, &cfg);
    glint_value r;
    glint_status s = glint_sandbox_call(sb, fn, args, nargs, &r);
    const glint_error *e = glint_sandbox_error(sb);
    cr_log_info("%s(host address 0x%llx) -> %s: %s", fn, (unsigned long long)args[0].v.u64,
                glint_status_name(s), e->message);
    /* Nothing is mapped there in the child: an access outside guest memory,
     * reported with the address the guest used. */
    cr_assert_eq(s, GLINT_E_OUT_OF_BOUNDS, "%s at a host address: %s: %s", fn,
                 glint_status_name(s), e->message);
    cr_assert_eq(e->address, args[0].v.u64, "fault address 0x%llx: %s",
                 (unsigned long long)e->address, e->message);
    cr_assert(HAS_ANY(e->message, "outside guest memory"), "%s", e->message);
    cr_assert(HAS_ANY(e->message, "unmapped page"), "%s", e->message);
    cr_assert(glint_sandbox_poisoned(sb));
    cr_assert_eq(g_host_secret, 0x5ec7e75ec7e75ec7ull, "host value changed: 0x%llx",
                 (unsigned long long)g_host_secret);
    glint_sandbox_destroy(sb);
}

Test(jail, host_address_unreachable, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    uint64_t addr = (uint64_t)(uintptr_t)&g_host_secret;
    glint_value rd = glint_u64(addr);
    expect_host_address_refused("ReadAt", &rd, 1);
    glint_value wr[2] = {glint_u64(addr), glint_u64(0xbad)};
    expect_host_address_refused("WriteAt", wr, 2);
    /* The host's heap and stack too. */
    uint64_t *heap = malloc(64);
    cr_assert_not_null(heap);
    *heap = 77;
    wr[0] = glint_u64((uint64_t)(uintptr_t)heap);
    expect_host_address_refused("WriteAt", wr, 2);
    cr_assert_eq(*heap, 77);
    free(heap);
    volatile uint64_t local = 99;
    wr[0] = glint_u64((uint64_t)(uintptr_t)&local);
    expect_host_address_refused("WriteAt", wr, 2);
    cr_assert_eq(local, 99);
    th_expect_fresh_sandbox_works();
}

/* ---- 5: every system-call entry is refused ------------------------------ */

struct entry {
    const char *fn;
    const char *want[3]; /* the message names what was tried: one of these */
    /* The kernel may answer by sending the guest somewhere else (sysenter
     * without IA-32 emulation returns to a landing pad the child does not
     * map): a fetch outside guest memory is then the refusal. */
    bool may_land_outside;
};

static void expect_syscall_refused(const struct entry *t)
{
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(SYSCALLS_GUEST, &cfg);
    int pid = guest_pid(sb);
    unsigned long long started = proc_starttime(pid);
    expect_jailed(pid);
    pid_t me = getpid();

    glint_value r = {0};
    glint_status s = glint_sandbox_call(sb, t->fn, NULL, 0, &r);
    const glint_error *e = glint_sandbox_error(sb);
    fprintf(stderr, "jail: %s -> %s (vector %u, rip 0x%llx): %s\n", t->fn, glint_status_name(s),
            e->vector, (unsigned long long)e->rip, e->message);
    cr_assert_neq(s, GLINT_OK, "%s: the system call returned 0x%llx", t->fn,
                  (unsigned long long)r.v.u64);
    if (t->may_land_outside && s == GLINT_E_OUT_OF_BOUNDS) {
        cr_assert(HAS_ANY(e->message, "instruction fetch from an unmapped page"),
                  "%s: %s", t->fn, e->message);
        cr_assert_eq(e->rip, e->address, "%s: %s", t->fn, e->message);
        cr_assert(e->rip >= sb->lay.mem_size,
                  "%s: landed at 0x%llx", t->fn, (unsigned long long)e->rip);
    } else {
        cr_assert_eq(s, GLINT_E_EXCEPTION, "%s: %s: %s", t->fn, glint_status_name(s),
                     e->message);
        cr_assert(HAS_ANY(e->message, t->want[0], t->want[1] ? t->want[1] : t->want[0],
                          t->want[2] ? t->want[2] : t->want[0]),
                  "%s: message does not name what was tried: %s", t->fn, e->message);
    }
    cr_assert(glint_sandbox_poisoned(sb), "%s: not poisoned", t->fn);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, t->fn, NULL, 0, &r), GLINT_E_POISONED);

    /* The child: the same jailed process, or gone; never anything else. */
    int after = glint_debug_guest_pid(sb);
    if (after == pid) {
        cr_assert_eq(proc_starttime(pid), started, "%s: pid %d is another process now", t->fn, pid);
        expect_jailed(pid);
    } else {
        cr_assert_eq(after, -1, "%s: guest pid %d -> %d", t->fn, pid, after);
        cr_assert(!proc_exists(pid), "%s: the child %d is gone for glint but not reaped", t->fn, pid);
    }
    /* The host: the same process, still working. */
    cr_assert_eq(getpid(), me);
    glint_sandbox_destroy(sb);
    glint_debug_process_settle(); /* the keeper reaps destroyed sandboxes' processes */
    cr_assert(!proc_exists(pid), "%s: child %d outlives its sandbox", t->fn, pid);
    th_expect_fresh_sandbox_works();
}

#define SYSCALL_TEST_OPT(name, fn, outside, ...)                                      \
    Test(jail, name, .timeout = VM_TEST_TIMEOUT)                                      \
    {                                                                                 \
        SKIP_UNLESS_PROCESS();                                                        \
        static const struct entry t = {fn, {__VA_ARGS__}, outside};                   \
        expect_syscall_refused(&t);                                                   \
    }
#define SYSCALL_TEST(name, fn, ...) SYSCALL_TEST_OPT(name, fn, false, __VA_ARGS__)

SYSCALL_TEST(syscall_refused, "Syscall", "x86-64 system call 39")
SYSCALL_TEST(int80_refused, "Int80", "32-bit (i386) system call 20", "int $0x80")
SYSCALL_TEST_OPT(sysenter_refused, "Sysenter", true, "32-bit (i386) system call 20", "sysenter")
SYSCALL_TEST(vsyscall_refused, "Vsyscall", "system call 96", "vsyscall")
SYSCALL_TEST(x32_refused, "X32", "x32 system call 39")
SYSCALL_TEST(compat32_int80_refused, "Compat32", "32-bit (i386) system call 20", "compatibility mode")
SYSCALL_TEST(gate_getpid_refused, "GateGetpid", "x86-64 system call 39")
SYSCALL_TEST(gate_futex_refused, "GateFutex", "x86-64 system call 202")
SYSCALL_TEST(gate_write_refused, "GateWrite", "x86-64 system call 1")
/* The park gate's write with the guest's own buffer: a forged park record. */
SYSCALL_TEST(park_gate_forged_record_refused, "ParkForged", "x86-64 system call 1")

/* exit_group through the syscall gate: allowed only with status 0 (the
 * stub's own exit when its sandbox is destroyed, PROC_CMD_EXIT), which a
 * guest can use only to end its own process: the call fails, the sandbox
 * is poisoned, the process is reaped and a restore starts another one.
 * Any other status is refused like any other call. */
Test(jail, gate_exit_group, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(SYSCALLS_GUEST, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_value r = {0}, code = glint_u64(1);
    glint_status s = glint_sandbox_call(sb, "GateExit", &code, 1, &r);
    const glint_error *e = glint_sandbox_error(sb);
    fprintf(stderr, "jail: GateExit(1) -> %s: %s\n", glint_status_name(s), e->message);
    cr_assert_eq(s, GLINT_E_EXCEPTION, "%s: %s", glint_status_name(s), e->message);
    cr_assert(HAS_ANY(e->message, "x86-64 system call 231"), "%s", e->message);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));

    int pid = guest_pid(sb);
    code = glint_u64(0);
    s = glint_sandbox_call(sb, "GateExit", &code, 1, &r);
    fprintf(stderr, "jail: GateExit(0) -> %s: %s\n", glint_status_name(s), e->message);
    cr_assert_neq(s, GLINT_OK, "exit_group(0) from the guest came back with 0x%llx", (unsigned long long)r.v.u64);
    cr_assert(HAS_ANY(e->message, "exited"), "%s", e->message);
    cr_assert(glint_sandbox_poisoned(sb));
    cr_assert(!proc_exists(pid), "the child %d that exited is not reaped", pid);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    cr_assert_neq(guest_pid(sb), pid);
    expect_jailed(guest_pid(sb));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Where", (glint_value[]){glint_str("lret", 4)}, 1, &r));
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
    th_expect_fresh_sandbox_works();
}

/* A destroyed sandbox's process is told to exit (PROC_CMD_EXIT) rather
 * than killed, and the keeper kills it if it lingers: either way no
 * process outlives its sandbox once the keeper has reaped it, whether it
 * was spinning for its next command, asleep, or parked after its call for
 * the restore that follows (auto-restore). */
Test(jail, destroy_tells_the_process_to_exit, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    static const char *const how[] = {"spinning", "asleep", "parked", "parked, asleep"};
    for (int k = 0; k < 4; k++) {
        glint_sandbox *sb = th_start(SYSCALLS_GUEST, &cfg);
        glint_snapshot *snap = NULL;
        if (k >= 2) {
            EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
            EXPECT_OK(sb, glint_sandbox_set_auto_restore(sb, snap));
        }
        glint_value r = {0};
        EXPECT_OK(sb, glint_sandbox_call(sb, "Where", (glint_value[]){glint_str("lret", 4)}, 1, &r));
        int pid = guest_pid(sb);
        if (k % 2)
            usleep(20000); /* past its spin: asleep in FUTEX_WAIT */
        glint_sandbox_destroy(sb);
        glint_snapshot_free(snap);
        glint_debug_process_settle();
        cr_assert(!proc_exists(pid), "child %d outlives its sandbox (%s)", pid, how[k]);
    }
    th_expect_fresh_sandbox_works();
}

/* ns the process has run on a CPU (/proc/PID/schedstat), or -1. */
static long long cpu_ns(int pid)
{
    char buf[128];
    long long ns = -1;
    if (proc_read(pid, "schedstat", buf, sizeof buf) > 0)
        sscanf(buf, "%lld", &ns);
    return ns;
}

/* Waits about `us` microseconds without sleeping (usleep's slack here is
 * as long as the gaps this measures). */
static void pause_us(unsigned us)
{
    double end = th_now_ms() + us / 1000.0;
    while (th_now_ms() < end)
        ;
}

/* After a call the sandbox's process spins a while for its next command
 * (parked for the restore that follows, with auto-restore): calls back to
 * back find it awake.  When calls come further apart than that spin, as
 * requests to a gateway do, it stops spinning after each call and sleeps
 * until the next (process.c: process_run).  Here: 200 calls 80 us apart,
 * each with its restore, in the least of three rounds (other tests may
 * load the CPUs); spinning through every gap cost ~80-100 us per call. */
Test(jail, spin_between_calls_adapts, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(SYSCALLS_GUEST, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    EXPECT_OK(sb, glint_sandbox_set_auto_restore(sb, snap));
    glint_value r = {0};
    enum { N = 200 };
    long long best = -1;
    for (int round = 0; round < 3; round++) {
        int pid = guest_pid(sb);
        long long used = 0;
        for (int i = 0; i < N + 10; i++) {
            if (i == 10)
                used = -cpu_ns(pid);
            EXPECT_OK(sb, glint_sandbox_call(sb, "Where", (glint_value[]){glint_str("lret", 4)}, 1, &r));
            pause_us(80);
        }
        usleep(20000); /* schedstat moves when the process stops running */
        used += cpu_ns(pid);
        cr_assert_eq(guest_pid(sb), pid, "the sandbox's process changed");
        best = best < 0 || used < best ? used : best;
    }
    cr_log_info("sandbox process CPU time per call, calls 80 us apart: %.1f us", best / 1000.0 / N);
    cr_assert_lt(best / N, 40000, "the sandbox process used %.1f us of CPU per call 80 us apart: it "
                 "spins through the gaps", best / 1000.0 / N);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

/* The CPUs a process may run on, from Cpus_allowed_list in its status
 * ("0-1,3"). */
static cpu_set_t allowed_cpus(int pid)
{
    char list[256];
    cpu_set_t set;
    CPU_ZERO(&set);
    cr_assert(status_field(pid, "Cpus_allowed_list", list, sizeof list), "no Cpus_allowed_list for %d", pid);
    for (char *p = list;; p++) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        for (long c = lo; c <= hi && c < CPU_SETSIZE; c++)
            CPU_SET((int)c, &set);
        if (*end != ',')
            break;
        p = end;
    }
    return set;
}

/* Threads that keep a host busy the way a loaded server does: on each CPU,
 * two that wake every ~50 us from a short sleep and work ~20 us, so that
 * whatever else runs there is preempted often. */
struct tickers {
    pthread_t t[CPU_SETSIZE][2];
    int cpu[CPU_SETSIZE];
    int n;
    _Atomic int stop;
};

static _Atomic(struct tickers *) g_tickers;

static void *ticker_main(void *arg)
{
    int cpu = (int)(intptr_t)arg;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    (void)pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    struct tickers *k = atomic_load(&g_tickers);
    while (!atomic_load(&k->stop)) {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
        double end = th_now_ms() + 0.02;
        while (th_now_ms() < end)
            ;
    }
    return NULL;
}

static void tickers_start(struct tickers *k, const cpu_set_t *cpus)
{
    k->n = 0;
    atomic_store(&k->stop, 0);
    atomic_store(&g_tickers, k);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, cpus)) {
            for (int i = 0; i < 2; i++)
                cr_assert_eq(pthread_create(&k->t[k->n][i], NULL, ticker_main, (void *)(intptr_t)c), 0);
            k->n++;
        }
}

static void tickers_stop(struct tickers *k)
{
    atomic_store(&k->stop, 1);
    for (int j = 0; j < k->n; j++)
        for (int i = 0; i < 2; i++)
            pthread_join(k->t[j][i], NULL);
}

/* A thread that is preempted while it spins for its sandbox process, and
 * still is in a trial with the process kept off its CPU, shares its CPU
 * with that process instead (process.c: share_cpu): the process is bound
 * to the caller's CPU at the next command, and nobody spins; a thread that
 * spins leaves its process free to run on any CPU. */
Test(jail, busy_caller_shares_its_cpu, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    cpu_set_t all;
    cr_assert_eq(sched_getaffinity(0, sizeof all, &all), 0);
    if (CPU_COUNT(&all) < 2)
        cr_skip_test("one CPU to run on: the sandbox process always shares it (nothing to bind)");
    /* The backend's helpers (keeper thread, zygote) exist before this
     * thread binds itself to one CPU: they keep the process's CPUs. */
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(TEST_GUEST("basic"), &cfg);
    expect_add_works(sb);
    int pid = guest_pid(sb);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &all))
        cpu++;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);

    glint_debug_process_share(-1); /* spinning: the process may run anywhere */
    expect_add_works(sb);
    cpu_set_t got = allowed_cpus(pid);
    cr_assert(CPU_EQUAL(&got, &all), "spinning, the sandbox process may run on %d CPUs, not all %d",
              CPU_COUNT(&got), CPU_COUNT(&all));
    glint_debug_process_share(1); /* sharing: bound to this thread's CPU */
    expect_add_works(sb);
    got = allowed_cpus(pid);
    cr_assert(CPU_EQUAL(&got, &one), "sharing, the sandbox process may run on %d CPUs, not CPU %d only",
              CPU_COUNT(&got), cpu);
    glint_debug_process_share(2); /* a trial: kept off this thread's CPU */
    expect_add_works(sb);
    got = allowed_cpus(pid);
    cpu_set_t others = all;
    CPU_CLR(cpu, &others);
    cr_assert(CPU_EQUAL(&got, &others), "in a trial, the sandbox process may run on %d CPUs, not the %d "
              "but CPU %d", CPU_COUNT(&got), CPU_COUNT(&others), cpu);
    glint_debug_process_share(-1);
    expect_add_works(sb);
    got = allowed_cpus(pid);
    cr_assert(CPU_EQUAL(&got, &all), "spinning again, the sandbox process is still bound");

    /* Left to decide: every CPU kept busy. */
    glint_debug_process_share(0);
    static struct tickers k;
    tickers_start(&k, &all);
    bool bound = false;
    int calls = 0;
    for (double end = th_now_ms() + 3000; !bound && th_now_ms() < end; calls++) {
        expect_add_works(sb);
        got = allowed_cpus(pid);
        bound = CPU_EQUAL(&got, &one);
    }
    tickers_stop(&k);
    cr_assert(bound, "a caller on a busy host did not share its CPU with its sandbox process in %d calls", calls);
    cr_log_info("busy caller: its sandbox process bound to CPU %d after %d calls", cpu, calls);
    glint_sandbox_destroy(sb);
}

/* The park word (proc_abi.h, struct proc_ro) is the one thing the guest
 * must not be able to write: a store to it faults like any read-only page. */
Test(jail, park_word_read_only, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(SYSCALLS_GUEST, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_value r = {0};
    glint_status s = glint_sandbox_call(sb, "WriteRO", NULL, 0, &r);
    const glint_error *e = glint_sandbox_error(sb);
    fprintf(stderr, "jail: WriteRO -> %s: %s\n", glint_status_name(s), e->message);
    cr_assert_eq(s, GLINT_E_EXCEPTION, "%s: %s", glint_status_name(s), e->message);
    cr_assert_eq(e->vector, 14, "vector %u: %s", e->vector, e->message);
    cr_assert_eq(e->address, PROC_RO_ADDR, "fault address 0x%llx", (unsigned long long)e->address);
    cr_assert(HAS_ANY(e->message, "write to a read-only page"), "%s", e->message);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    expect_jailed(guest_pid(sb));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Where", (glint_value[]){glint_str("lret", 4)}, 1, &r));
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

/* A guest that jumps into the whole park gate itself (as if the host had
 * asked it to park) records a word that carries no park token, so it only
 * re-runs the host's last command: it never makes the host believe that it
 * is parked.  In a sandbox's first call the last command was a resume,
 * which finds no signal frame with the guest's state (the guest entered
 * the stub by a jump): the stub stops with #UD in its own code.  After a
 * restore the last command was the restore's whole state, so the guest
 * starts the call again, and again, until its time limit.  Restores work
 * afterwards, again and again, with a fresh jailed child. */
Test(jail, guest_in_park_gate_contained, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(300);
    glint_sandbox *sb = th_start(SYSCALLS_GUEST, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    for (int round = 0; round < 3; round++) {
        glint_value r = {0};
        double t0 = th_now_ms();
        glint_status s = glint_sandbox_call(sb, "ParkGate", NULL, 0, &r);
        double ms = th_now_ms() - t0;
        const glint_error *e = glint_sandbox_error(sb);
        fprintf(stderr, "jail: ParkGate -> %s after %.0f ms: %s\n", glint_status_name(s), ms, e->message);
        if (round == 0) {
            cr_assert_eq(s, GLINT_E_EXCEPTION, "%s: %s", glint_status_name(s), e->message);
            cr_assert_eq(e->vector, 6, "vector %u: %s", e->vector, e->message);
            cr_assert(e->rip >= PROC_STUB_BASE && e->rip < PROC_STUB_END, "rip 0x%llx: %s",
                      (unsigned long long)e->rip, e->message);
        } else {
            cr_assert_eq(s, GLINT_E_TIMEOUT, "%s: %s", glint_status_name(s), e->message);
        }
        cr_assert(glint_sandbox_poisoned(sb));
        EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
        expect_jailed(guest_pid(sb));
        EXPECT_OK(sb, glint_sandbox_call(sb, "Where", (glint_value[]){glint_str("lret", 4)}, 1, &r));
        cr_assert_neq(r.v.u64, 0);
        EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    }
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

/* The exit gate (glint/abi.h): offered on this backend only, and a jump
 * into it that does not stand for an OUT to a hypercall port fails only
 * its own call. */
static void expect_bad_gate_jump(const char *fn)
{
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(SYSCALLS_GUEST, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_value r = {0};
    glint_status s = glint_sandbox_call(sb, fn, NULL, 0, &r);
    const glint_error *e = glint_sandbox_error(sb);
    fprintf(stderr, "jail: %s -> %s: %s\n", fn, glint_status_name(s), e->message);
    cr_assert_eq(s, GLINT_E_UNEXPECTED_EXIT, "%s: %s: %s", fn, glint_status_name(s), e->message);
    cr_assert(HAS_ANY(e->message, "does not follow an OUT to a hypercall port"), "%s", e->message);
    cr_assert(glint_sandbox_poisoned(sb));
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    expect_jailed(guest_pid(sb));
    EXPECT_OK(sb, glint_sandbox_call(sb, "ExitGate", NULL, 0, &r));
    cr_assert_eq(r.v.u64, PROC_GATE_FAST, "exit gate 0x%llx after the restore", (unsigned long long)r.v.u64);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

Test(jail, exit_gate_offered_and_checked, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    expect_bad_gate_jump("GateNoOut");
    expect_bad_gate_jump("GatePort80");
    expect_bad_gate_jump("GateOutside");
}

/* ---- 6: a scribbled control page fails only its own call ---------------- */

/* The guest owns the control page as much as the stub does, so a scribble
 * over it must be contained: the call ends with what the guest itself did
 * (`natural`), with GLINT_E_UNEXPECTED_EXIT where the host read the
 * scribbled words as a report, or with GLINT_OK where it read the previous
 * call's report (a forged "finished"); never a hang, a host crash or any
 * other status.  Then the sandbox still works (if the call itself
 * succeeded) and a restore brings back a working, jailed child. */
static void expect_scribble_contained(const char *fn, uint64_t seed, glint_status natural,
                                      uint32_t timeout_ms)
{
    glint_config cfg = jail_config(timeout_ms);
    glint_sandbox *sb = th_start(JAIL_GUEST, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    expect_add_works(sb);
    int pid = guest_pid(sb);

    glint_value arg = glint_u64(seed);
    double t0 = th_now_ms();
    glint_status s = glint_sandbox_call(sb, fn, &arg, 1, NULL);
    double ms = th_now_ms() - t0;
    const glint_error *e = glint_sandbox_error(sb);
    fprintf(stderr, "jail: %s(%llu) -> %s after %.0f ms: %s\n", fn, (unsigned long long)seed,
            glint_status_name(s), ms, e->message);
    /* GLINT_OK where the guest faults: the scribble bumped to_host before
     * it reached the report, so the host read the previous call's report,
     * a finished call (a forged report; the guest runs on behind it, only
     * until the restore below). */
    cr_assert(s == natural || s == GLINT_E_UNEXPECTED_EXIT || s == GLINT_OK, "%s(%llu): %s, want %s, %s or %s: %s",
              fn, (unsigned long long)seed, glint_status_name(s), glint_status_name(natural),
              glint_status_name(GLINT_E_UNEXPECTED_EXIT), glint_status_name(GLINT_OK), e->message);
    cr_assert_lt(ms, timeout_ms + 2000.0, "%s(%llu) took %.0f ms", fn, (unsigned long long)seed, ms);
    if (s == GLINT_OK && natural != GLINT_OK) {
        cr_assert(!glint_sandbox_poisoned(sb));
    } else if (s == GLINT_OK) {
        cr_assert(!glint_sandbox_poisoned(sb));
        cr_assert_eq(glint_debug_guest_pid(sb), pid);
        expect_add_works(sb);
    } else {
        cr_assert(glint_sandbox_poisoned(sb), "%s(%llu) failed but did not poison", fn,
                  (unsigned long long)seed);
        int after = glint_debug_guest_pid(sb);
        cr_assert(after == pid || after == -1, "guest pid %d -> %d", pid, after);
    }

    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    cr_assert(!glint_sandbox_poisoned(sb));
    int fresh = guest_pid(sb);
    expect_jailed(fresh);
    expect_add_works(sb);
    expect_add_works(sb);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
    glint_debug_process_settle(); /* the keeper reaps destroyed sandboxes' processes */
    cr_assert(!proc_exists(pid), "old child %d still there", pid);
    cr_assert(!proc_exists(fresh), "child %d still there after destroy", fresh);
}

Test(jail, scribbled_ctl_then_return, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    for (uint64_t seed = 1; seed <= 8; seed++)
        expect_scribble_contained("Scribble", seed, GLINT_OK, 5000);
    th_expect_fresh_sandbox_works();
}

Test(jail, scribbled_ctl_then_fault, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    for (uint64_t seed = 1; seed <= 8; seed++)
        expect_scribble_contained("ScribbleFault", seed, GLINT_E_EXCEPTION, 5000);
    th_expect_fresh_sandbox_works();
}

/* The host asleep on the page's futex word while the guest scribbles. */
Test(jail, scribbled_ctl_while_host_sleeps, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    for (uint64_t seed = 1; seed <= 4; seed++) {
        expect_scribble_contained("ScribbleQuiet", seed, GLINT_OK, 5000);
        expect_scribble_contained("ScribbleQuietFault", seed, GLINT_E_EXCEPTION, 5000);
    }
    th_expect_fresh_sandbox_works();
}

/* A scribble and then an endless loop: the time limit still ends it. */
Test(jail, scribbled_ctl_then_spin, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    for (uint64_t seed = 1; seed <= 3; seed++)
        expect_scribble_contained("ScribbleSpin", seed, GLINT_E_TIMEOUT, 300);
    th_expect_fresh_sandbox_works();
}

/* ---- 7: a child killed from outside -------------------------------------- */

struct spin_call {
    glint_sandbox *sb;
    glint_status status;
    double ms;
};

static void *spin_main(void *p)
{
    struct spin_call *c = p;
    double t0 = th_now_ms();
    c->status = glint_sandbox_call(c->sb, "Spin", NULL, 0, NULL);
    c->ms = th_now_ms() - t0;
    return NULL;
}

static void expect_killed_then_restored(glint_sandbox *sb, glint_snapshot *snap, int pid,
                                        glint_status s)
{
    const glint_error *e = glint_sandbox_error(sb);
    fprintf(stderr, "jail: killed child -> %s: %s\n", glint_status_name(s), e->message);
    cr_assert_eq(s, GLINT_E_HYPERVISOR, "%s: %s", glint_status_name(s), e->message);
    cr_assert(HAS_ANY(e->message, "SIGKILL"), "message does not name the signal: %s", e->message);
    cr_assert(HAS_ANY(e->message, "signal 9"), "message does not name the signal: %s", e->message);
    cr_assert(glint_sandbox_poisoned(sb));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Add", (glint_value[]){glint_i32(1), glint_i32(2)}, 2, NULL),
                  GLINT_E_POISONED);
    cr_assert_eq(glint_debug_guest_pid(sb), -1, "the killed child still counts");
    cr_assert(!proc_exists(pid), "the killed child %d is not reaped (state %c)", pid, proc_state(pid));

    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    int fresh = guest_pid(sb);
    cr_assert_neq(fresh, pid);
    expect_jailed(fresh);
    expect_add_works(sb);
    glint_sandbox_destroy(sb);
    glint_debug_process_settle(); /* the keeper reaps destroyed sandboxes' processes */
    cr_assert(!proc_exists(fresh), "child %d still there after destroy (state %c)", fresh,
              proc_state(fresh));
}

Test(jail, child_killed_while_spinning, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(8000);
    glint_sandbox *sb = th_start(JAIL_GUEST, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    int pid = guest_pid(sb);
    unsigned long long started = proc_starttime(pid);

    struct spin_call c = {.sb = sb};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, spin_main, &c), 0);
    /* Wait until the child burns CPU in the guest (state R), then kill it. */
    for (int i = 0; i < 200 && proc_state(pid) != 'R'; i++)
        th_sleep_ms(5);
    th_sleep_ms(50);
    cr_assert_eq(proc_starttime(pid), started);
    double t0 = th_now_ms();
    cr_assert_eq(kill(pid, SIGKILL), 0, "kill(%d): %s", pid, strerror(errno));
    pthread_join(t, NULL);
    double ms = th_now_ms() - t0;
    cr_assert_lt(ms, 2000, "the call took %.0f ms to notice the kill", ms);
    expect_killed_then_restored(sb, snap, pid, c.status);
    glint_snapshot_free(snap);
}

Test(jail, child_killed_between_calls, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(8000);
    glint_sandbox *sb = th_start(JAIL_GUEST, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    expect_add_works(sb);
    int pid = guest_pid(sb);
    cr_assert_eq(kill(pid, SIGKILL), 0, "kill(%d): %s", pid, strerror(errno));
    glint_value args[2] = {glint_i32(1), glint_i32(2)};
    glint_status s = glint_sandbox_call(sb, "Add", args, 2, NULL);
    expect_killed_then_restored(sb, snap, pid, s);
    glint_snapshot_free(snap);
}

/* ---- a new process's set-up, which its first call waits for -------------- */

/* A snapshot of the spin guest (Spin, Nop), with a time limit of 10 s. */
/* A snapshot of `guest` initialized (jail_config(timeout_ms)); the sandbox
 * it was taken from is gone. */
static glint_snapshot *guest_snapshot(const char *guest, unsigned timeout_ms)
{
    glint_config cfg = jail_config(timeout_ms);
    glint_sandbox *sb = th_start(guest, &cfg);
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_sandbox_destroy(sb);
    return snap;
}

static glint_snapshot *spin_snapshot(void)
{
    return guest_snapshot(TEST_GUEST("spin"), 10000);
}

/* A sandbox from snap whose process starts its set-up only hold_ms into
 * the first call (glint_debug_process_hold_setup). */
static glint_sandbox *held_from_snapshot(const glint_snapshot *snap, unsigned hold_ms)
{
    glint_debug_process_hold_setup(hold_ms);
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_from_snapshot(snap, &sb, &err);
    glint_debug_process_hold_setup(0);
    cr_assert_eq(s, GLINT_OK, "create_from_snapshot: %s", err.message);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

struct later {
    glint_sandbox *sb;
    int pid;          /* kill it (SIGKILL), or 0: interrupt the sandbox */
    unsigned ms;
};

static void *later_main(void *arg)
{
    struct later *l = arg;
    th_sleep_ms(l->ms);
    if (l->pid)
        kill(l->pid, SIGKILL);
    else
        glint_sandbox_interrupt(l->sb);
    return NULL;
}

/* Calls fn (no arguments) on l->sb while another thread does what l says;
 * its status, and how long it took in *ms. */
static glint_status call_while(struct later *l, const char *fn, double *ms)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, later_main, l), 0);
    double t0 = th_now_ms();
    glint_status s = glint_sandbox_call(l->sb, fn, NULL, 0, NULL);
    *ms = th_now_ms() - t0;
    pthread_join(t, NULL);
    return s;
}

/* A create returns before its process is ready and the first call waits
 * for that.  An interrupt during that wait reaches the process before it
 * has its control page, where the stub drops it (a spare is not a
 * sandbox yet): the host sends it again once the process is ready.
 * Without that the guest spins on until the host kills the process as the
 * last resort, 200 ms after the interrupt: hence the check that the
 * process is still there. */
Test(jail, interrupt_during_set_up_is_not_lost, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_snapshot *snap = spin_snapshot();
    glint_sandbox *sb = held_from_snapshot(snap, 200);
    struct later l = {.sb = sb, .ms = 50};
    double ms;
    glint_status s = call_while(&l, "Spin", &ms);
    cr_assert_eq(s, GLINT_E_CANCELLED, "Spin interrupted during its process's set-up: %s: %s (after %.0f ms)",
                 glint_status_name(s), glint_sandbox_error(sb)->message, ms);
    cr_assert_lt(ms, 5000, "the interrupt took %.0f ms to stop the guest", ms);
    /* Stopped by the interrupt itself, not killed as the last resort (200
     * ms after an interrupt that the process did not answer). */
    cr_assert_gt(glint_debug_guest_pid(sb), 0, "the process was killed: it never saw the interrupt (%s)",
                 glint_sandbox_error(sb)->message);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

/* A profiler's sample that reaches a new process during its set-up is
 * dropped like an interrupt, and sent again once the process is ready: the
 * profiler keeps one sample outstanding at a time, so one lost sample
 * would leave the whole call unsampled (it did, 0 samples, before). */
Test(jail, profile_sample_during_set_up_is_not_lost, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_snapshot *snap = guest_snapshot(TEST_GUEST("gd_burn"), 20000);
    /* The first sample (0.5 ms into the call) lands in the 50 ms hold. */
    glint_sandbox *sb = held_from_snapshot(snap, 50);
    EXPECT_OK(sb, glint_sandbox_profile_start(sb, 2000));
    /* 200M rounds: 50 ms or more on this machine's fastest days (40M took
     * 10 ms, too short to tell). */
    glint_value arg = glint_u64(200000000), res;
    double t0 = th_now_ms();
    EXPECT_OK(sb, glint_sandbox_call(sb, "Burn", &arg, 1, &res));
    double ms = th_now_ms() - t0;
    uint64_t samples = 0;
    EXPECT_OK(sb, glint_sandbox_profile_stop(sb, NULL, NULL, &samples));
    fprintf(stderr, "jail: Burn for %.0f ms (50 ms of set-up held) at 2000 Hz: %llu samples\n", ms,
            (unsigned long long)samples);
    cr_assert_gt(ms, 60, "Burn ran only %.0f ms: too short to tell", ms);
    cr_assert_gt(samples, 5, "%llu samples in a %.0f ms call: the sample sent during the set-up was lost",
                 (unsigned long long)samples, ms);
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

/* A process killed from outside before its set-up is done fails the first
 * call like one killed later: the signal named, the sandbox poisoned, a
 * restore brings it back. */
Test(jail, child_killed_during_set_up, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_snapshot *snap = spin_snapshot();
    glint_sandbox *sb = held_from_snapshot(snap, 200);
    int pid = glint_debug_guest_pid(sb);
    cr_assert_gt(pid, 0, "no process for the new sandbox");
    struct later l = {.sb = sb, .pid = pid, .ms = 50};
    double ms;
    glint_status s = call_while(&l, "Nop", &ms);
    const glint_error *e = glint_sandbox_error(sb);
    fprintf(stderr, "jail: killed during set-up -> %s: %s\n", glint_status_name(s), e->message);
    cr_assert_eq(s, GLINT_E_HYPERVISOR, "%s: %s", glint_status_name(s), e->message);
    cr_assert(HAS_ANY(e->message, "SIGKILL") && HAS_ANY(e->message, "during set-up"),
              "message does not say what happened: %s", e->message);
    cr_assert(glint_sandbox_poisoned(sb));
    cr_assert(!proc_exists(pid), "the killed child %d is not reaped (state %c)", pid, proc_state(pid));
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

/* What reads the process before any call (restore: its dirty pages;
 * snapshot) waits for its set-up too. */
Test(jail, restore_and_snapshot_before_the_first_call, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_snapshot *snap = spin_snapshot();
    glint_sandbox *sb = held_from_snapshot(snap, 30);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    glint_sandbox_destroy(sb);
    sb = held_from_snapshot(snap, 30);
    glint_snapshot *again = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &again));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    EXPECT_OK(sb, glint_sandbox_restore(sb, again));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    glint_snapshot_free(again);
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

/* ---- 8: the host exiting leaves no process behind ------------------------ */

Test(jail, host_exit_kills_children, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t host = fork();
    cr_assert_geq(host, 0, "fork: %s", strerror(errno));
    if (host == 0) {
        /* A host process: 3 live sandboxes, then exit without destroying them. */
        close(fds[0]);
        int pids[3] = {-1, -1, -1};
        for (int i = 0; i < 3; i++) {
            glint_config cfg = jail_config(5000);
            glint_sandbox *sb = NULL;
            if (glint_sandbox_create_file(JAIL_GUEST, &cfg, &sb, NULL) != GLINT_OK ||
                glint_sandbox_init(sb) != GLINT_OK)
                _exit(2);
            pids[i] = glint_debug_guest_pid(sb);
        }
        if (write(fds[1], pids, sizeof pids) != (ssize_t)sizeof pids)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    int pids[3] = {0, 0, 0};
    ssize_t n = read(fds[0], pids, sizeof pids);
    close(fds[0]);
    int st = 0;
    cr_assert_eq(waitpid(host, &st, 0), host); /* the host process only, not its children */
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the host process ended with status 0x%x", st);
    cr_assert_eq(n, (ssize_t)sizeof pids, "read %zd bytes of pids", n);
    for (int i = 0; i < 3; i++)
        cr_assert_gt(pids[i], 0, "pid %d: %d", i, pids[i]);
    double t0 = th_now_ms();
    int left = 3;
    while (left && th_now_ms() - t0 < 2000) {
        left = 0;
        for (int i = 0; i < 3; i++)
            left += proc_exists(pids[i]);
        if (left)
            th_sleep_ms(10);
    }
    for (int i = 0; i < 3; i++)
        cr_assert(!proc_exists(pids[i]), "sandbox process %d outlived its host by 2 s (state %c)",
                  pids[i], proc_state(pids[i]));
    cr_log_info("all 3 sandbox processes gone %.0f ms after the host", th_now_ms() - t0);
}

/* ---- 9: destroy leaves nothing behind ------------------------------------ */

Test(jail, destroy_leaves_no_process_or_fd, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    /* Warm up: the spawner thread and the stub memfd exist for good. */
    th_expect_fresh_sandbox_works();
    int fds0 = th_count_fds(), kids0 = count_children();
    cr_assert_geq(kids0, 0);
    enum { N = 50 };
    glint_sandbox *sbs[N];
    int pids[N];
    glint_config cfg = jail_config(5000);
    for (int i = 0; i < N; i++) {
        sbs[i] = th_start(JAIL_GUEST, &cfg);
        pids[i] = guest_pid(sbs[i]);
        for (int j = 0; j < i; j++)
            cr_assert_neq(pids[i], pids[j]);
    }
    cr_assert_eq(count_children(), kids0 + N, "%d children with %d sandboxes alive (%d before)",
                 count_children(), N, kids0);
    for (int i = 0; i < N; i++) {
        if (i % 2)
            expect_add_works(sbs[i]);
        glint_sandbox_destroy(sbs[i]);
        glint_debug_process_settle(); /* the keeper reaps destroyed sandboxes' processes */
        cr_assert(!proc_exists(pids[i]), "child %d still there after destroy (state %c)", pids[i],
                  proc_state(pids[i]));
    }
    int fds1 = th_count_fds(), kids1 = count_children();
    cr_assert_eq(kids1, kids0, "%d children after destroying %d sandboxes, %d before", kids1, N, kids0);
    cr_assert_eq(fds1, fds0, "%d fds after destroying %d sandboxes, %d before", fds1, N, fds0);
}

/* ---- 10: the zygote and spare processes ---------------------------------- */

/* PPid from /proc/<pid>/status; -1 if gone. */
static int proc_ppid(int pid)
{
    char v[64];
    return status_field(pid, "PPid", v, sizeof v) ? atoi(v) : -1;
}

Test(jail, sandboxes_are_host_children_forked_from_the_zygote, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    glint_config cfg = jail_config(5000);
    glint_sandbox *sb = th_start(JAIL_GUEST, &cfg);
    int pid = guest_pid(sb), z = glint_debug_process_zygote_pid();
    cr_assert_gt(z, 0, "no zygote while a sandbox lives");
    cr_assert_neq(z, pid);
    /* CLONE_PARENT: the sandbox's parent is the host, like the zygote's. */
    cr_assert_eq(proc_ppid(pid), getpid(), "sandbox process %d has parent %d", pid, proc_ppid(pid));
    cr_assert_eq(proc_ppid(z), getpid(), "zygote %d has parent %d", z, proc_ppid(z));
    /* The zygote is jailed too: the same filter, no capabilities. */
    expect_jailed(z);
    char v[64];
    cr_assert(status_field(z, "Seccomp_filters", v, sizeof v));
    cr_assert_str_eq(v, "1");
    cr_assert(status_field(pid, "Seccomp_filters", v, sizeof v));
    cr_assert_str_eq(v, "1", "a sandbox process has its zygote's one filter, no second: %s", v);
    /* Spares: forked ahead, the host's children, jailed before any sandbox. */
    int old = glint_debug_process_spares(3);
    glint_sandbox *sb2 = th_start(JAIL_GUEST, &cfg); /* a take, so the keeper refills */
    glint_debug_process_settle();
    int kids = count_children();
    cr_assert_eq(kids, 1 /* zygote */ + 2 /* sandboxes */ + 3 /* spares */, "%d children", kids);
    glint_sandbox_destroy(sb2);
    glint_debug_process_spares(0);
    cr_assert_eq(count_children(), 1 + 1, "spares dropped: %d children", count_children());
    glint_debug_process_spares(old);
    expect_add_works(sb);
    glint_sandbox_destroy(sb);
}

Test(jail, zygote_killed_from_outside_is_replaced, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    int old = glint_debug_process_spares(0); /* every create asks the zygote */
    glint_config cfg = jail_config(5000);
    glint_sandbox *a = th_start(JAIL_GUEST, &cfg);
    int z = glint_debug_process_zygote_pid();
    cr_assert_gt(z, 0);
    cr_assert_eq(kill(z, SIGKILL), 0);
    double t0 = th_now_ms();
    while (proc_state(z) != 'Z' && proc_exists(z) && th_now_ms() - t0 < 2000)
        th_sleep_ms(1);
    /* The next create finds the zygote gone, starts another, and goes on;
     * the live sandbox does not notice. */
    glint_sandbox *b = th_start(JAIL_GUEST, &cfg);
    int z2 = glint_debug_process_zygote_pid();
    cr_assert_gt(z2, 0);
    cr_assert_neq(z2, z, "the killed zygote %d is still in use", z);
    expect_jailed(guest_pid(b));
    expect_add_works(b);
    expect_add_works(a);
    glint_sandbox_destroy(a);
    glint_sandbox_destroy(b);
    glint_debug_process_settle();
    cr_assert(!proc_exists(z), "the killed zygote %d was not reaped (state %c)", z, proc_state(z));
    glint_debug_process_spares(old);
}

Test(jail, spare_killed_from_outside_is_skipped, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_UNLESS_PROCESS();
    int old = glint_debug_process_spares(2);
    glint_config cfg = jail_config(5000);
    glint_sandbox *a = th_start(JAIL_GUEST, &cfg); /* spares follow this take */
    glint_debug_process_settle();
    /* Kill every child that is neither the zygote nor a's process: the spares. */
    int z = glint_debug_process_zygote_pid(), mine = guest_pid(a), killed = 0;
    glob_t gl;
    cr_assert_eq(glob("/proc/self/task/*/children", 0, NULL, &gl), 0);
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        FILE *f = fopen(gl.gl_pathv[i], "r");
        int pid;
        while (f && fscanf(f, "%d", &pid) == 1)
            if (pid != z && pid != mine && kill(pid, SIGKILL) == 0)
                killed++;
        if (f)
            fclose(f);
    }
    globfree(&gl);
    cr_assert_eq(killed, 2, "killed %d spares", killed);
    th_sleep_ms(20);
    /* Creates go on: a dead spare is reaped and another taken or forked. */
    for (int i = 0; i < 3; i++) {
        glint_sandbox *b = th_start(JAIL_GUEST, &cfg);
        expect_jailed(guest_pid(b));
        expect_add_works(b);
        glint_sandbox_destroy(b);
    }
    glint_sandbox_destroy(a);
    glint_debug_process_spares(old);
}
