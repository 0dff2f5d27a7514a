/*
 * test_snapfile.c - snapshot files (docs/snapshots.md): save and load round
 * trips, the checked-in golden file, and corrupt, truncated, oversize and
 * hostile files.
 *
 * The format constants below are written from docs/snapshots.md, not taken
 * from src/host/snapfile.c, and the CRC32C here is a plain bitwise one: the
 * tests check the document as much as the code.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "sandbox.h"  /* glint_debug_cpu_matches (test hook) */
#include "snapshot.h" /* internal: where a loaded snapshot's memory lives */

#define GOLDEN_REL   "tests/golden/basic.snap"
#define GOLDEN_PATH  GLINT_SOURCE_DIR "/" GOLDEN_REL
#define REGEN_HINT                                                                            \
    "if the file format, GLINT_ABI_VERSION, the vCPU state format or the layout rules "      \
    "changed on purpose, regenerate it: GLINT_REGEN_GOLDEN=1 " GLINT_BUILD_DIR               \
    "/tests/glint-tests --filter 'snapfile_golden/regenerate' (see tests/golden/README.md)"

/* docs/snapshots.md, "Header". */
enum {
    SF_MAGIC = 0x00, SF_VERSION = 0x08, SF_HDR_SIZE = 0x0C, SF_ABI = 0x10, SF_PAGE = 0x14,
    SF_META_CRC = 0x18, SF_MEM_CRC = 0x1C, SF_ARCH = 0x20, SF_CPU_FMT = 0x30, SF_HEAP = 0x50,
    SF_STACK = 0x58, SF_INPUT = 0x60, SF_OUTPUT = 0x68, SF_TIMEOUT = 0x70, SF_LAYOUT = 0x78,
    SF_SECTIONS = 0x100, SF_HDR_LEN = 512, SF_REC = 96,
};
enum { S_CPU, S_FUNCS, S_HOST, S_PAGEMAP, S_MEMORY, S_COUNT };
#define SEC_OFF(i)   (SF_SECTIONS + 24 * (i))
#define SEC_SIZE(i)  (SF_SECTIONS + 24 * (i) + 8)
#define SEC_COUNT(i) (SF_SECTIONS + 24 * (i) + 16)
static const char *const layout_names[14] = {
    "image_end",  "heap_base",  "heap_size",   "guard_base",  "stack_base",
    "stack_size", "stack_top",  "input_base",  "input_size",  "output_base",
    "output_size", "pt_base",   "pt_count",    "mem_size"};

/* The configuration of the golden file and of the corruption tests' base. */
static glint_config small_config(void)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 16 * 1024;
    cfg.stack_size = 16 * 1024;
    cfg.input_size = 4096;
    cfg.output_size = 4096;
    cfg.timeout_ms = 5000;
    return cfg;
}

/* ---------------------------------------------------------------------------
 * Bytes and files.
 */
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* CRC32C as the document defines it, one bit at a time. */
static uint32_t crc32c_ref(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

struct blob {
    uint8_t *p;
    size_t len;
};

static struct blob slurp(const char *path)
{
    struct blob b = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    struct stat st;
    cr_assert(fstat(fd, &st) == 0);
    b.len = (size_t)st.st_size;
    b.p = malloc(b.len + 1);
    cr_assert(b.p);
    size_t got = 0;
    while (got < b.len) {
        ssize_t n = read(fd, b.p + got, b.len - got);
        cr_assert(n > 0, "%s: read: %s", path, strerror(errno));
        got += (size_t)n;
    }
    close(fd);
    return b;
}

static void spit(const char *path, const void *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    cr_assert(write(fd, p, len) == (ssize_t)len, "%s: write: %s", path, strerror(errno));
    close(fd);
}

/* The metadata checksum over [0, memory offset), stored meta_crc read as 0. */
static uint32_t meta_crc_of(const uint8_t *f)
{
    size_t end = (size_t)rd64(f + SEC_OFF(S_MEMORY));
    uint8_t zero[4] = {0};
    uint32_t c = crc32c_ref(0, f, SF_META_CRC);
    c = crc32c_ref(c, zero, 4);
    return crc32c_ref(c, f + SF_META_CRC + 4, end - SF_META_CRC - 4);
}

static void fix_meta_crc(uint8_t *f)
{
    wr32(f + SF_META_CRC, meta_crc_of(f));
}

/* A private directory per test; files in it are removed by rm_dir. */
static char *make_dir(void)
{
    char *d = strdup("/tmp/glint-snapfile-XXXXXX");
    cr_assert(d && mkdtemp(d), "mkdtemp: %s", strerror(errno));
    return d;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void rm_dir(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e = readdir(d); e; e = readdir(d)) {
            if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
                continue;
            char *p = path_in(dir, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * Snapshots.
 */

/* A sandbox of `guest`, initialized, after `counter` calls of Counter
 * (basic guest only). */
static glint_sandbox *start_counted(const char *guest, const glint_config *cfg, int counter)
{
    glint_sandbox *sb = th_start(guest, cfg);
    for (int i = 0; i < counter; i++)
        EXPECT_OK(sb, glint_sandbox_call(sb, "Counter", NULL, 0, NULL));
    return sb;
}

static glint_snapshot *take(glint_sandbox *sb)
{
    glint_snapshot *snap = NULL;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    cr_assert_not_null(snap);
    return snap;
}

static void save(const glint_snapshot *snap, const char *path)
{
    glint_error err;
    glint_status s = glint_snapshot_save(snap, path, &err);
    cr_assert_eq(s, GLINT_OK, "save %s: %s: %s", path, glint_status_name(s), err.message);
}

static glint_snapshot *load(const char *path)
{
    glint_snapshot *snap = NULL;
    glint_error err;
    glint_status s = glint_snapshot_load(path, &snap, &err);
    cr_assert_eq(s, GLINT_OK, "load %s: %s: %s", path, glint_status_name(s), err.message);
    cr_assert_not_null(snap);
    return snap;
}

/* A sandbox from `snap`, initialized. */
static glint_sandbox *from_snap(const glint_snapshot *snap)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_from_snapshot(snap, &sb, &err);
    cr_assert_eq(s, GLINT_OK, "create from snapshot: %s: %s", glint_status_name(s), err.message);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

static uint64_t counter(glint_sandbox *sb)
{
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Counter", NULL, 0, &r));
    cr_assert_eq(r.type, GLINT_U64);
    return r.v.u64;
}

static int32_t add(glint_sandbox *sb, int32_t a, int32_t b)
{
    glint_value args[2] = {glint_i32(a), glint_i32(b)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    return r.v.i32;
}

/* Load must fail with `want` and a message naming the file and containing `needle`. */
static glint_error expect_load_fails(const char *path, glint_status want, const char *needle,
                                     const char *what)
{
    glint_snapshot *snap = (glint_snapshot *)1;
    glint_error err = {0};
    glint_status s = glint_snapshot_load(path, &snap, &err);
    cr_expect_eq(s, want, "%s: load gave %s, want %s: %s", what, glint_status_name(s),
                 glint_status_name(want), err.message);
    cr_expect_null(snap, "%s: *out not NULL on failure", what);
    cr_expect(strstr(err.message, path), "%s: message does not name the file: %s", what,
              err.message);
    cr_expect(!needle || th_has(err.message, needle), "%s: message lacks '%s': %s", what, needle,
              err.message);
    cr_expect(!strchr(err.message, '\n'), "%s: message is not one line", what);
    if (s == GLINT_OK)
        glint_snapshot_free(snap);
    return err;
}

static void expect_same_functions(const glint_function *a, const glint_function *b)
{
    cr_assert_str_eq(a->name, b->name);
    cr_assert_eq(a->ret, b->ret, "%s", a->name);
    cr_assert_eq(a->nparams, b->nparams, "%s", a->name);
    for (uint32_t k = 0; k < a->nparams; k++)
        cr_assert_eq(a->params[k], b->params[k], "%s parameter %u", a->name, k);
}

/* ---------------------------------------------------------------------------
 * The checksum: libglint's CRC32C (SSE 4.2 where the CPU has it) against
 * the bitwise one and the standard check value.
 */
uint32_t glint_crc32c(uint32_t crc, const void *data, size_t n); /* src/host/snapfile.h */

Test(snapfile, crc32c_matches_the_definition)
{
    cr_expect_eq(crc32c_ref(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
    cr_expect_eq(glint_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_expect_eq(glint_crc32c(0, "", 0), 0);
    uint8_t buf[1000];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(x >> 56);
    }
    for (size_t start = 0; start < 9; start++) /* every alignment */
        for (size_t len = 0; len + start <= sizeof buf; len += 37) {
            uint32_t want = crc32c_ref(0, buf + start, len);
            cr_assert_eq(glint_crc32c(0, buf + start, len), want, "start %zu len %zu", start, len);
            size_t half = len / 2; /* chaining */
            cr_assert_eq(glint_crc32c(glint_crc32c(0, buf + start, half), buf + start + half,
                                      len - half), want);
        }
}

/* ---------------------------------------------------------------------------
 * Round trips.
 */
Test(snapfile, roundtrip_basic, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = make_dir(), *path = path_in(dir, "basic.snap");
    glint_sandbox *orig = start_counted(TEST_GUEST("basic"), NULL, 3);
    glint_snapshot *snap = take(orig);
    save(snap, path);
    glint_snapshot *loaded = load(path);

    /* The same tables and configuration. */
    glint_config a, b;
    glint_snapshot_config(snap, &a);
    glint_snapshot_config(loaded, &b);
    cr_expect(!memcmp(&a, &b, sizeof a), "configurations differ");
    cr_assert_eq(glint_snapshot_function_count(loaded), glint_snapshot_function_count(snap));
    for (size_t i = 0; i < glint_snapshot_function_count(snap); i++)
        expect_same_functions(glint_snapshot_function(snap, i), glint_snapshot_function(loaded, i));
    cr_assert_eq(glint_snapshot_host_count(loaded), 1);
    cr_expect_str_eq(glint_snapshot_host_function(loaded, 0)->name, "print");

    /* Loading maps the file: its memory image at a page-aligned offset. */
    struct stat fs, ms;
    cr_assert(stat(path, &fs) == 0 && fstat(loaded->mem_fd, &ms) == 0);
    cr_expect(fs.st_ino == ms.st_ino && fs.st_dev == ms.st_dev, "mem_fd is not the file");
    cr_expect_eq(loaded->mem_off % 4096, 0);
    cr_expect_eq((uint64_t)fs.st_size, loaded->mem_off + loaded->lay.mem_size);
    cr_expect((uint64_t)fs.st_blocks * 512 < (uint64_t)fs.st_size / 2,
              "the file is not sparse: %lld bytes, %lld blocks", (long long)fs.st_size,
              (long long)fs.st_blocks);

    /* A sandbox from the file continues where the original was. */
    glint_sandbox *sb = from_snap(loaded);
    cr_expect_eq(counter(sb), 4);
    cr_expect_eq(counter(orig), 4);
    cr_expect_eq(add(sb, 20, 22), 42);
    char buf[64];
    cr_expect_str_eq(th_call_str(sb, "Echo", "snap", buf, sizeof buf), "snap");

    glint_sandbox_destroy(sb);
    glint_sandbox_destroy(orig);
    glint_snapshot_free(loaded);
    glint_snapshot_free(snap);
    free(path);
    rm_dir(dir);
}

/* Results of one call, copied out of the sandbox. */
struct result {
    glint_status status;
    glint_value v;
    uint8_t *data;
};

static struct result call_copy(glint_sandbox *sb, const char *fn, const glint_value *args, size_t n)
{
    struct result r = {0};
    r.status = glint_sandbox_call(sb, fn, args, n, &r.v);
    if (r.status == GLINT_OK && (r.v.type == GLINT_STRING || r.v.type == GLINT_BYTES)) {
        size_t len = r.v.v.bytes.len;
        r.data = malloc(len + 1);
        memcpy(r.data, r.v.v.bytes.ptr, len);
    }
    return r;
}

static void expect_same_result(struct result *a, struct result *b, const char *fn)
{
    cr_expect_eq(a->status, b->status, "%s: %s vs %s", fn, glint_status_name(a->status),
                 glint_status_name(b->status));
    cr_expect_eq(a->v.type, b->v.type, "%s", fn);
    if (a->data || b->data) {
        cr_assert(a->data && b->data && a->v.v.bytes.len == b->v.v.bytes.len, "%s: lengths", fn);
        cr_expect(!memcmp(a->data, b->data, a->v.v.bytes.len), "%s: data differ", fn);
    } else {
        cr_expect(!memcmp(&a->v.v, &b->v.v, sizeof a->v.v), "%s: values differ", fn);
    }
    free(a->data);
    free(b->data);
}

/* ---------------------------------------------------------------------------
 * A snapshot file's CPU state is backend-neutral (x86_64-user-v1): a file
 * saved on one backend runs on the other, exactly (the state a sandbox
 * starts from equals the file's).  A snapshot taken in memory holds its
 * backend's own state and runs only there.
 */
static const glint_backend every_backend[] = {GLINT_BACKEND_KVM, GLINT_BACKEND_PROCESS};

static void skip_unless_both_backends(void)
{
    glint_error err;
    for (size_t i = 0; i < 2; i++)
        if (glint_backend_probe(every_backend[i], &err) != GLINT_OK)
            cr_skip_test("needs both backends; %s is not usable here: %s",
                         glint_backend_name(every_backend[i]), err.message);
}

static glint_sandbox *from_snap_on(const glint_snapshot *snap, glint_backend b)
{
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_from_snapshot_on(snap, b, &sb, &err);
    cr_assert_eq(s, GLINT_OK, "create from snapshot on %s: %s: %s", glint_backend_name(b),
                 glint_status_name(s), err.message);
    cr_assert_eq(glint_sandbox_backend(sb), b);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

Test(snapfile, a_file_runs_on_either_backend, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    skip_unless_both_backends();
    char *dir = make_dir();
    for (size_t i = 0; i < 2; i++) {
        glint_backend from = every_backend[i], other = every_backend[1 - i];
        glint_config cfg = small_config();
        cfg.backend = from;
        glint_sandbox *orig = start_counted(TEST_GUEST("basic"), &cfg, 3);
        cr_assert_eq(glint_sandbox_backend(orig), from);
        glint_snapshot *snap = take(orig);
        cr_assert_eq(glint_snapshot_backend(snap), from);

        /* In memory: its own backend only. */
        glint_sandbox *no = NULL;
        glint_error err;
        glint_status s = glint_sandbox_create_from_snapshot_on(snap, other, &no, &err);
        cr_assert_eq(s, GLINT_E_INCOMPATIBLE, "taken on %s, created on %s: %s: %s",
                     glint_backend_name(from), glint_backend_name(other), glint_status_name(s),
                     err.message);
        cr_assert_null(no);
        cr_assert(strstr(err.message, "save it to a file"), "%s", err.message);

        char name[64];
        snprintf(name, sizeof name, "from-%s.snap", glint_backend_name(from));
        char *path = path_in(dir, name);
        save(snap, path);
        glint_snapshot *loaded = load(path);
        for (size_t k = 0; k < 2; k++) {
            glint_backend to = every_backend[k];
            glint_sandbox *sb = from_snap_on(loaded, to);
            char why[512];
            cr_assert(glint_debug_cpu_matches(sb, loaded, why, sizeof why),
                      "saved on %s, run on %s: %s", glint_backend_name(from),
                      glint_backend_name(to), why);
            cr_assert_eq(counter(sb), 4, "saved on %s, run on %s", glint_backend_name(from),
                         glint_backend_name(to));
            cr_assert_eq(add(sb, 20, 22), 42);
            EXPECT_OK(sb, glint_sandbox_restore(sb, loaded));
            cr_assert_eq(counter(sb), 4);
            /* A guest failure, then a full restore to the file's state. */
            EXPECT_STATUS(sb, glint_sandbox_call(sb, "NoSuch", NULL, 0, NULL), GLINT_E_NO_FUNCTION);
            EXPECT_OK(sb, glint_sandbox_restore(sb, loaded));
            cr_assert_eq(counter(sb), 4);
            glint_sandbox_destroy(sb);

            /* A pool on either backend. */
            glint_pool_config pc;
            glint_pool_config_default(&pc);
            pc.backend = to;
            glint_pool *pool = NULL;
            glint_status ps = glint_pool_create(loaded, &pc, &pool, &err);
            cr_assert_eq(ps, GLINT_OK, "pool on %s: %s", glint_backend_name(to), err.message);
            glint_sandbox *p = NULL;
            cr_assert_eq(glint_pool_acquire(pool, &p, &err), GLINT_OK, "%s", err.message);
            cr_assert_eq(glint_sandbox_backend(p), to);
            cr_assert_eq(counter(p), 4);
            glint_pool_release(pool, p);
            glint_pool_destroy(pool);
        }
        /* Saved again from the other backend: the same bytes. */
        glint_sandbox *there = from_snap_on(loaded, other);
        glint_snapshot *again = take(there);
        char *path2 = path_in(dir, "again.snap");
        save(again, path2);
        struct blob x = slurp(path), y = slurp(path2);
        cr_assert_eq(x.len, y.len);
        cr_assert(memcmp(x.p, y.p, x.len) == 0,
                  "saved on %s, loaded, taken again on %s: the files differ",
                  glint_backend_name(from), glint_backend_name(other));
        free(x.p), free(y.p), free(path2);
        glint_snapshot_free(again);
        glint_sandbox_destroy(there);
        glint_snapshot_free(loaded);
        glint_snapshot_free(snap);
        glint_sandbox_destroy(orig);
        free(path);
    }
    rm_dir(dir);
}

Test(snapfile, roundtrip_types_same_results, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = make_dir(), *path = path_in(dir, "types.snap");
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.output_size = 2u << 20;
    glint_sandbox *orig = th_start(TYPES_GUEST, &cfg);
    glint_snapshot *snap = take(orig);
    save(snap, path);
    glint_snapshot_free(snap);
    glint_snapshot *loaded = load(path);
    glint_sandbox *sb = from_snap(loaded);
    glint_snapshot_free(loaded); /* the sandbox keeps it alive */

    const uint8_t bytes[] = {0, 1, 2, 0xfe, 0xff};
    struct {
        const char *fn;
        glint_value args[16];
        size_t n;
    } calls[] = {
        {"EchoBool", {glint_bool(true)}, 1},
        {"EchoI32", {glint_i32(-5)}, 1},
        {"EchoU64", {glint_u64(UINT64_MAX)}, 1},
        {"EchoF32", {glint_f32(0.1f)}, 1},
        {"EchoF64", {glint_f64(-2.5e300)}, 1},
        {"EchoString", {glint_cstr("h\xc3\xa9llo")}, 1},
        {"EchoBytes", {glint_bytes(bytes, sizeof bytes)}, 1},
        {"Void", {{0}}, 0},
        {"Bytes1M", {glint_u32(3)}, 1},
        {"Sum16",
         {glint_bool(true), glint_i32(-1), glint_u32(2), glint_i64(-3), glint_u64(4),
          glint_f32(0.5f), glint_f64(0.25), glint_cstr("abc"), glint_bytes(bytes, 2),
          glint_bool(false), glint_i32(5), glint_u32(6), glint_i64(7), glint_u64(8),
          glint_f32(1.5f), glint_f64(2.5)},
         16},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        struct result a = call_copy(orig, calls[i].fn, calls[i].args, calls[i].n);
        struct result b = call_copy(sb, calls[i].fn, calls[i].args, calls[i].n);
        cr_expect_eq(a.status, GLINT_OK, "%s: %s", calls[i].fn, glint_sandbox_error(orig)->message);
        expect_same_result(&a, &b, calls[i].fn);
    }
    glint_sandbox_destroy(sb);
    glint_sandbox_destroy(orig);
    free(path);
    rm_dir(dir);
}

Test(snapfile, restore_to_loaded_snapshot, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = make_dir(), *path = path_in(dir, "basic.snap");
    glint_sandbox *orig = start_counted(TEST_GUEST("basic"), NULL, 3);
    glint_snapshot *snap = take(orig);
    save(snap, path);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(orig);
    glint_snapshot *loaded = load(path);

    /* A sandbox made from the ELF, restored to the file's snapshot. */
    glint_sandbox *a = start_counted(TEST_GUEST("basic"), NULL, 10);
    EXPECT_OK(a, glint_sandbox_restore(a, loaded));
    cr_expect_eq(counter(a), 4);
    cr_expect_eq(counter(a), 5);
    EXPECT_OK(a, glint_sandbox_restore(a, loaded));
    cr_expect_eq(counter(a), 4);

    /* A sandbox from the file, restored after calls, and auto-restored. */
    glint_sandbox *b = from_snap(loaded);
    cr_expect_eq(counter(b), 4);
    cr_expect_eq(counter(b), 5);
    EXPECT_OK(b, glint_sandbox_restore(b, loaded));
    cr_expect_eq(counter(b), 4);
    EXPECT_OK(b, glint_sandbox_set_auto_restore(b, loaded));
    cr_expect_eq(counter(b), 5);
    cr_expect_eq(counter(b), 4);
    cr_expect_eq(counter(b), 4);

    /* Another layout is refused and leaves the sandbox as it was. */
    glint_config big;
    glint_config_default(&big);
    big.heap_size = 1u << 20;
    glint_sandbox *c = start_counted(TEST_GUEST("basic"), &big, 2);
    EXPECT_STATUS(c, glint_sandbox_restore(c, loaded), GLINT_E_INCOMPATIBLE);
    cr_expect_eq(counter(c), 3);

    glint_sandbox_destroy(a);
    glint_sandbox_destroy(b);
    glint_sandbox_destroy(c);
    glint_snapshot_free(loaded);
    free(path);
    rm_dir(dir);
}

Test(snapfile, sandboxes_outlive_the_callers_reference, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = make_dir(), *path = path_in(dir, "basic.snap");
    glint_sandbox *orig = start_counted(TEST_GUEST("basic"), NULL, 1);
    glint_snapshot *snap = take(orig);
    save(snap, path);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(orig);

    int fds = th_count_fds();
    glint_snapshot *loaded = load(path);
    glint_sandbox *sb[3];
    for (int i = 0; i < 3; i++) {
        glint_error err;
        cr_assert_eq(glint_sandbox_create_from_snapshot(loaded, &sb[i], &err), GLINT_OK, "%s",
                     err.message);
    }
    glint_snapshot_free(loaded);
    unlink(path); /* the mapping keeps the data */
    for (int i = 0; i < 3; i++) {
        EXPECT_OK(sb[i], glint_sandbox_init(sb[i]));
        cr_expect_eq(counter(sb[i]), 2);
        cr_expect_eq(counter(sb[i]), 3);
        cr_expect_eq(add(sb[i], i, 40), 40 + i);
    }
    for (int i = 0; i < 3; i++)
        glint_sandbox_destroy(sb[i]);
    cr_expect_eq(th_count_fds(), fds, "file descriptors leaked");
    free(path);
    rm_dir(dir);
}

Test(snapfile, saving_a_loaded_snapshot_gives_the_same_bytes, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = make_dir(), *p1 = path_in(dir, "one.snap"), *p2 = path_in(dir, "two.snap");
    glint_sandbox *orig = start_counted(TEST_GUEST("basic"), NULL, 2);
    glint_snapshot *snap = take(orig);
    save(snap, p1);
    glint_snapshot *loaded = load(p1);
    save(loaded, p2);
    struct blob a = slurp(p1), b = slurp(p2);
    cr_assert_eq(a.len, b.len);
    cr_expect(!memcmp(a.p, b.p, a.len), "a loaded snapshot saves to different bytes");

    /* Saving over the file it was loaded from replaces it atomically: the
     * loaded snapshot keeps the old inode, the new file loads. */
    glint_sandbox *sb = from_snap(loaded);
    glint_sandbox *seven = start_counted(TEST_GUEST("basic"), NULL, 7);
    glint_snapshot *later = take(seven);
    save(later, p1);
    glint_sandbox *sb2 = from_snap(loaded);
    cr_expect_eq(counter(sb), 3);
    cr_expect_eq(counter(sb2), 3);
    glint_snapshot *reloaded = load(p1);
    glint_sandbox *sb3 = from_snap(reloaded);
    cr_expect_eq(counter(sb3), 8);

    glint_sandbox_destroy(sb);
    glint_sandbox_destroy(sb2);
    glint_sandbox_destroy(sb3);
    glint_sandbox_destroy(orig);
    glint_snapshot_free(snap);
    glint_snapshot_free(loaded);
    glint_sandbox_destroy(seven);
    glint_snapshot_free(later);
    glint_snapshot_free(reloaded);
    free(a.p), free(b.p), free(p1), free(p2);
    rm_dir(dir);
}

Test(snapfile, save_errors, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char *dir = make_dir();
    glint_sandbox *orig = th_start(TEST_GUEST("basic"), NULL);
    glint_snapshot *snap = take(orig);
    glint_error err;
    cr_expect_eq(glint_snapshot_save(NULL, "/tmp/x", &err), GLINT_E_INVALID);
    cr_expect_eq(glint_snapshot_save(snap, NULL, &err), GLINT_E_INVALID);
    cr_expect_eq(glint_snapshot_save(snap, "", &err), GLINT_E_INVALID);
    cr_expect_eq(glint_snapshot_load(NULL, NULL, &err), GLINT_E_INVALID);

    char *missing = path_in(dir, "no/such/dir/x.snap");
    cr_expect_eq(glint_snapshot_save(snap, missing, &err), GLINT_E_IO);
    cr_expect(strstr(err.message, missing), "%s", err.message);
    /* A directory in the way: the temporary file is removed again. */
    char *sub = path_in(dir, "sub");
    cr_assert(mkdir(sub, 0755) == 0);
    cr_expect_eq(glint_snapshot_save(snap, sub, &err), GLINT_E_IO);
    cr_expect(strstr(err.message, sub), "%s", err.message);
    DIR *d = opendir(dir);
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        cr_expect(!strstr(e->d_name, ".tmp-"), "temporary file left behind: %s", e->d_name);
    closedir(d);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(orig);
    free(missing), free(sub);
    rm_dir(dir);
}

/* ---------------------------------------------------------------------------
 * The golden file: a snapshot of tests/guests/basic.c, small configuration,
 * taken after three calls of Counter.  It embeds the guest's code and
 * memory, so it runs even if basic.c changes; it must be regenerated when
 * the format, the ABI version, the vCPU state format or the layout rules
 * change (REGEN_HINT).
 */
Test(snapfile_golden, regenerate, .timeout = VM_TEST_TIMEOUT)
{
    const char *want = getenv("GLINT_REGEN_GOLDEN");
    if (!want || strcmp(want, "1") != 0)
        cr_skip_test("set GLINT_REGEN_GOLDEN=1 to rewrite " GOLDEN_REL);
    SKIP_IF_NO_KVM();
    glint_config cfg = small_config();
    glint_sandbox *sb = start_counted(TEST_GUEST("basic"), &cfg, 3);
    glint_snapshot *snap = take(sb);
    save(snap, GOLDEN_PATH);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
    cr_log_warn("rewrote %s", GOLDEN_PATH);
}

static glint_snapshot *load_golden(void)
{
    glint_snapshot *snap = NULL;
    glint_error err;
    glint_status s = glint_snapshot_load(GOLDEN_PATH, &snap, &err);
    cr_assert_eq(s, GLINT_OK, "%s does not load: %s: %s\n%s", GOLDEN_REL, glint_status_name(s),
                 err.message, REGEN_HINT);
    return snap;
}

/* Every header field at the offset the document gives; both checksums
 * recomputed here.  Needs no VM. */
Test(snapfile_golden, header_fields)
{
    struct blob f = slurp(GOLDEN_PATH);
    cr_assert(f.len >= SF_HDR_LEN, "%s is %zu bytes", GOLDEN_REL, f.len);
    const uint8_t *h = f.p;
    cr_expect(!memcmp(h + SF_MAGIC, "GLINTSNP", 8));
    cr_expect_eq(rd32(h + SF_VERSION), 1);
    cr_expect_eq(rd32(h + SF_HDR_SIZE), 512);
    cr_expect_eq(rd32(h + SF_ABI), GLINT_ABI_VERSION, "ABI %u; %s", rd32(h + SF_ABI), REGEN_HINT);
    cr_expect_eq(rd32(h + SF_PAGE), 4096);
    cr_expect_str_eq((const char *)h + SF_ARCH, "x86_64");
    cr_expect_str_eq((const char *)h + SF_CPU_FMT, "x86_64-user-v1", "%s", REGEN_HINT); /* made on the process backend */
    glint_config cfg = small_config();
    cr_expect_eq(rd64(h + SF_HEAP), cfg.heap_size);
    cr_expect_eq(rd64(h + SF_STACK), cfg.stack_size);
    cr_expect_eq(rd64(h + SF_INPUT), cfg.input_size);
    cr_expect_eq(rd64(h + SF_OUTPUT), cfg.output_size);
    cr_expect_eq(rd32(h + SF_TIMEOUT), cfg.timeout_ms);

    /* Sections: in order, 8-byte aligned, memory page aligned, at the end. */
    uint64_t at = SF_HDR_LEN;
    for (int i = 0; i < S_MEMORY; i++) {
        cr_expect_eq(rd64(h + SEC_OFF(i)), at, "section %d", i);
        at = (at + rd64(h + SEC_SIZE(i)) + 7) & ~7ull;
    }
    uint64_t mem_off = rd64(h + SEC_OFF(S_MEMORY)), mem_size = rd64(h + SEC_SIZE(S_MEMORY));
    cr_expect_eq(mem_off, (at + 4095) & ~4095ull);
    cr_expect_eq(mem_size, rd64(h + SF_LAYOUT + 8 * 13), "memory size vs layout mem_size");
    cr_expect_eq(mem_off + mem_size, f.len);
    cr_expect_eq(rd64(h + SEC_COUNT(S_HOST)), 1);
    cr_expect_str_eq((const char *)h + rd64(h + SEC_OFF(S_HOST)), "print");
    cr_expect_eq(rd64(h + SEC_COUNT(S_FUNCS)), rd64(h + SEC_SIZE(S_FUNCS)) / SF_REC);

    /* Checksums. */
    cr_expect_eq(rd32(h + SF_META_CRC), meta_crc_of(h), "metadata checksum");
    const uint8_t *map = h + rd64(h + SEC_OFF(S_PAGEMAP));
    uint32_t crc = 0;
    size_t nonzero = 0;
    for (uint64_t pg = 0; pg < mem_size / 4096; pg++) {
        int bit = (int)(rd64(map + 8 * (pg / 64)) >> (pg % 64) & 1);
        const uint8_t *page = h + mem_off + pg * 4096;
        int zero = 1;
        for (size_t k = 0; k < 4096 && zero; k++)
            zero = page[k] == 0;
        cr_expect_eq(bit, !zero, "page %llu: bit %d, zero %d", (unsigned long long)pg, bit, zero);
        if (bit) {
            crc = crc32c_ref(crc, page, 4096);
            nonzero++;
        }
    }
    cr_expect(nonzero > 4, "only %zu non-zero pages", nonzero);
    cr_expect_eq(rd32(h + SF_MEM_CRC), crc, "memory checksum");
    free(f.p);

    /* And the library agrees (no VM needed to load). */
    glint_snapshot *snap = load_golden();
    glint_config got;
    glint_snapshot_config(snap, &got);
    cr_expect(!memcmp(&got, &cfg, sizeof got));
    cr_expect(glint_snapshot_function_count(snap) >= 8);
    glint_snapshot_free(snap);
}

Test(snapfile_golden, runs, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_snapshot *snap = load_golden();
    glint_sandbox *sb = from_snap(snap);
    glint_snapshot_free(snap);
    cr_expect_eq(counter(sb), 4, "the golden snapshot was taken after three Counter calls");
    cr_expect_eq(add(sb, 20, 22), 42);
    char buf[64];
    cr_expect_str_eq(th_call_str(sb, "Echo", "golden", buf, sizeof buf), "golden");
    glint_value n = glint_u32(20), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "HeapWorks", &n, 1, &r));
    glint_sandbox_destroy(sb);
}

Test(snapfile_golden, resave_reproduces_bytes)
{
    char *dir = make_dir(), *path = path_in(dir, "again.snap");
    glint_snapshot *snap = load_golden();
    save(snap, path);
    struct blob a = slurp(GOLDEN_PATH), b = slurp(path);
    cr_expect_eq(a.len, b.len);
    cr_expect(a.len == b.len && !memcmp(a.p, b.p, a.len),
              "saving the loaded golden file gives other bytes; %s", REGEN_HINT);
    glint_snapshot_free(snap);
    free(a.p), free(b.p), free(path);
    rm_dir(dir);
}

/* ---------------------------------------------------------------------------
 * Corrupt files.  Each test starts from a fresh valid file of the basic
 * guest in the small configuration and damages a copy.
 */
struct base {
    char *dir, *good, *bad; /* directory, the valid file, the file to damage */
    struct blob f;          /* the valid file's bytes */
};

static struct base make_base(void)
{
    struct base b;
    b.dir = make_dir();
    b.good = path_in(b.dir, "good.snap");
    b.bad = path_in(b.dir, "bad.snap");
    glint_config cfg = small_config();
    glint_sandbox *sb = start_counted(TEST_GUEST("basic"), &cfg, 3);
    glint_snapshot *snap = take(sb);
    save(snap, b.good);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
    b.f = slurp(b.good);
    return b;
}

static void free_base(struct base *b)
{
    free(b->f.p);
    free(b->good);
    free(b->bad);
    rm_dir(b->dir);
}

/* Writes `f` (a modified copy of the base) to b->bad, optionally with a
 * correct metadata checksum (stored into f), and expects load to fail. */
static void expect_bad(struct base *b, uint8_t *f, bool fix, const char *needle, const char *what)
{
    if (fix)
        fix_meta_crc(f);
    spit(b->bad, f, b->f.len);
    expect_load_fails(b->bad, GLINT_E_BAD_SNAPSHOT, needle, what);
}

static uint8_t *copy_of(const struct base *b)
{
    uint8_t *p = malloc(b->f.len);
    cr_assert(p);
    memcpy(p, b->f.p, b->f.len);
    return p;
}

Test(snapfile_corrupt, header_fields, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    struct {
        unsigned off, size;
        uint64_t value;
        bool fix;
        const char *needle;
    } cases[] = {
        {SF_MAGIC, 1, 'g', false, "not a glint snapshot file"},
        {SF_VERSION, 4, 2, false, "format version 2"},
        {SF_VERSION, 4, 0, true, "format version 0"},
        {SF_HDR_SIZE, 4, 1024, false, "header size 1024"},
        {SF_ABI, 4, GLINT_ABI_VERSION + 1, false, "ABI version"},
        {SF_PAGE, 4, 8192, false, "page size 8192"},
        {SF_META_CRC, 4, 0, false, "checksum mismatch in the header"},
        {SF_MEM_CRC, 4, 0x12345678, true, "checksum mismatch in the memory image"},
        {SF_MEM_CRC, 4, 0x12345678, false, "checksum mismatch in the header"},
        {SF_HEAP, 8, 32 * 1024, true, "does not give the stored layout"},
        {SF_HEAP, 8, 1, true, "heap size 1 is too small"},
        {SF_STACK, 8, UINT64_MAX, true, "too large"},
        {SF_INPUT, 8, 8192, true, "does not give the stored layout"},
        {SF_OUTPUT, 8, 0, true, "too small"},
        {SF_TIMEOUT, 4, 7, false, "checksum mismatch"},
        {0x74, 1, 1, true, "reserved header byte at offset 0x74"},
        {0xE8, 1, 1, true, "reserved header byte at offset 0xe8"},
        {0x178, 1, 1, true, "reserved header byte at offset 0x178"},
        {0x1FF, 1, 1, true, "reserved header byte at offset 0x1ff"},
        {SF_ARCH + 8, 1, 'x', true, "not a zero-padded string"}, /* after "x86_64" */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *f = copy_of(&b);
        for (unsigned k = 0; k < cases[i].size; k++)
            f[cases[i].off + k] = (uint8_t)(cases[i].value >> (8 * k));
        char what[64];
        snprintf(what, sizeof what, "field at 0x%x = %llu", cases[i].off,
                 (unsigned long long)cases[i].value);
        expect_bad(&b, f, cases[i].fix, cases[i].needle, what);
        free(f);
    }
    /* Text fields. */
    struct {
        unsigned off, len;
        const char *text;
        const char *needle;
    } texts[] = {
        {SF_ARCH, 16, "aarch64", "architecture 'aarch64'"},
        {SF_ARCH, 16, "AAAAAAAAAAAAAAAA", "not a zero-padded string"},
        {SF_CPU_FMT, 32, "kvm-x86_64-v2", "vCPU state format 'kvm-x86_64-v2'"},
        {SF_CPU_FMT, 32, "", "vCPU state format ''"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        uint8_t *f = copy_of(&b);
        memset(f + texts[i].off, 0, texts[i].len);
        memcpy(f + texts[i].off, texts[i].text, strlen(texts[i].text));
        expect_bad(&b, f, false, texts[i].needle, texts[i].text);
        free(f);
    }
    /* The timeout is free to change: a fixed checksum makes it load. */
    uint8_t *f = copy_of(&b);
    wr32(f + SF_TIMEOUT, 77);
    fix_meta_crc(f);
    spit(b.bad, f, b.f.len);
    glint_snapshot *snap = load(b.bad);
    glint_config cfg;
    glint_snapshot_config(snap, &cfg);
    cr_expect_eq(cfg.timeout_ms, 77);
    glint_snapshot_free(snap);
    free(f);
    /* Every bit of the header, flipped alone, is caught. */
    for (unsigned off = 0; off < SF_HDR_LEN; off++) {
        f = copy_of(&b);
        f[off] ^= (uint8_t)(1u << (off % 8));
        char what[64];
        snprintf(what, sizeof what, "header byte %u flipped", off);
        expect_bad(&b, f, false, NULL, what);
        free(f);
    }
    free_base(&b);
}

Test(snapfile_corrupt, layout_fields, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    for (unsigned i = 0; i < 14; i++) {
        uint64_t deltas[] = {4096, 1, (uint64_t)-4096, 1ull << 40};
        for (size_t k = 0; k < 4; k++) {
            uint8_t *f = copy_of(&b);
            uint8_t *p = f + SF_LAYOUT + 8 * i;
            wr64(p, rd64(p) + deltas[k]);
            char what[64];
            snprintf(what, sizeof what, "layout %s + %lld", layout_names[i], (long long)deltas[k]);
            expect_bad(&b, f, true, "layout", what);
            free(f);
        }
    }
    free_base(&b);
}

Test(snapfile_corrupt, sections_outside_or_oversize, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    static const char *const names[] = {"vCPU state", "function table", "host-function table",
                                        "page map", "memory image"};
    for (int i = 0; i < S_COUNT; i++) {
        uint64_t offs[] = {b.f.len, b.f.len - 8, UINT64_MAX - 7, UINT64_MAX, 0,
                           rd64(b.f.p + SEC_OFF(i)) + 8};
        for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
            uint8_t *f = copy_of(&b);
            wr64(f + SEC_OFF(i), offs[k]);
            char what[96];
            snprintf(what, sizeof what, "%s at offset %llu", names[i], (unsigned long long)offs[k]);
            expect_bad(&b, f, i != S_MEMORY, names[i], what);
            free(f);
        }
    }
    /* Counts and sizes beyond the limits, or that do not agree. */
    struct {
        unsigned field;
        uint64_t value;
        const char *needle;
    } cases[] = {
        {SEC_COUNT(S_FUNCS), 1000000, "function table has 1000000 entries, at most 1024"},
        {SEC_COUNT(S_FUNCS), UINT64_MAX, "at most 1024"},
        {SEC_COUNT(S_HOST), 1000000000, "host-function table has 1000000000 entries, at most 256"},
        {SEC_SIZE(S_FUNCS), UINT64_MAX, "function table"},
        {SEC_SIZE(S_HOST), 96 * 1000, "host-function table"},
        {SEC_SIZE(S_CPU), 1ull << 40, "vCPU state of 1099511627776 bytes"},
        {SEC_COUNT(S_CPU), 2, "vCPU state"},
        {SEC_SIZE(S_MEMORY), 2ull << 30, "memory image of 2147483648 bytes"},
        {SEC_SIZE(S_MEMORY), 4095, "multiple of 4096"},
        {SEC_SIZE(S_MEMORY), 0, "memory image of 0 bytes"},
        {SEC_COUNT(S_MEMORY), 1, "memory image"},
        {SEC_COUNT(S_PAGEMAP), 1u << 20, "page map"},
        {SEC_SIZE(S_PAGEMAP), 16, "page map"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *f = copy_of(&b);
        wr64(f + cases[i].field, cases[i].value);
        expect_bad(&b, f, true, cases[i].needle, cases[i].needle);
        free(f);
    }
    /* A consistent but larger memory image than the layout's. */
    uint8_t *f = copy_of(&b);
    uint64_t mem = rd64(f + SEC_SIZE(S_MEMORY)) + 64 * 4096;
    wr64(f + SEC_SIZE(S_MEMORY), mem);
    wr64(f + SEC_COUNT(S_MEMORY), mem / 4096);
    wr64(f + SEC_COUNT(S_PAGEMAP), mem / 4096);
    expect_bad(&b, f, true, NULL, "memory image larger than the layout");
    free(f);
    free_base(&b);
}

Test(snapfile_corrupt, truncated_at_many_lengths, .timeout = 120)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    spit(b.bad, b.f.p, b.f.len);
    uint64_t mem_off = rd64(b.f.p + SEC_OFF(S_MEMORY));
    /* Shrinking one file: every length near the start, then coarser. */
    size_t len = b.f.len;
    while (len > 0) {
        if (len > mem_off + 8192)
            len = len - 4093 > mem_off ? len - 4093 : mem_off;
        else if (len > 600)
            len -= len > mem_off ? 97 : 61;
        else
            len -= 1;
        cr_assert(truncate(b.bad, (off_t)len) == 0);
        char what[64], needle[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", len);
        snprintf(needle, sizeof needle, "file has %zu", len);
        const char *n = len == 0 ? "file is empty"
                        : len < 8 ? "not a glint snapshot"
                        : len < 512 ? "truncated: header needs 512 bytes" : needle;
        glint_error e = expect_load_fails(b.bad, GLINT_E_BAD_SNAPSHOT, n, what);
        cr_expect(len < 512 || th_has(e.message, "truncated: "), "%s: %s", what, e.message);
    }
    /* One byte short of the memory image says exactly what is missing. */
    spit(b.bad, b.f.p, b.f.len - 1);
    char want[160];
    snprintf(want, sizeof want,
             "truncated: memory image needs %llu bytes at offset %llu, file has %zu",
             (unsigned long long)rd64(b.f.p + SEC_SIZE(S_MEMORY)), (unsigned long long)mem_off,
             b.f.len - 1);
    expect_load_fails(b.bad, GLINT_E_BAD_SNAPSHOT, want, "one byte short");
    /* One byte too many. */
    uint8_t *f = malloc(b.f.len + 1);
    memcpy(f, b.f.p, b.f.len);
    f[b.f.len] = 0;
    spit(b.bad, f, b.f.len + 1);
    expect_load_fails(b.bad, GLINT_E_BAD_SNAPSHOT, "1 unexpected bytes after the memory image",
                      "one byte more");
    free(f);
    free_base(&b);
}

/* Lines of /proc/self/maps. */
static int count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert(f);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Flips one random bit at a time: in the metadata, in a non-zero page, or
 * anywhere in the memory image.  Every byte of a file is covered by a
 * checksum or must be zero, so every flip is an error. */
Test(snapfile_corrupt, random_bit_flips, .timeout = 120)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    spit(b.bad, b.f.p, b.f.len);
    uint64_t mem_off = rd64(b.f.p + SEC_OFF(S_MEMORY)), pages = rd64(b.f.p + SEC_COUNT(S_MEMORY));
    const uint8_t *map = b.f.p + rd64(b.f.p + SEC_OFF(S_PAGEMAP));
    uint64_t nonzero[4096];
    size_t nnz = 0;
    for (uint64_t pg = 0; pg < pages && nnz < 4096; pg++)
        if (rd64(map + 8 * (pg / 64)) >> (pg % 64) & 1)
            nonzero[nnz++] = pg;
    cr_assert(nnz > 0);
    int fd = open(b.bad, O_WRONLY | O_CLOEXEC);
    cr_assert(fd >= 0);
    uint64_t seed = 0x5eed5eed12345678ull;
    for (int i = 0; i < 600; i++) {
        uint64_t r = xorshift(&seed), pos;
        switch (i % 3) {
        case 0: pos = r % mem_off; break;
        case 1: pos = mem_off + nonzero[r % nnz] * 4096 + (r >> 32) % 4096; break;
        default: pos = mem_off + r % (b.f.len - mem_off); break;
        }
        uint8_t byte = b.f.p[pos] ^ (uint8_t)(1u << ((r >> 20) % 8));
        cr_assert(pwrite(fd, &byte, 1, (off_t)pos) == 1);
        char what[64];
        snprintf(what, sizeof what, "flip %d at offset %llu", i, (unsigned long long)pos);
        expect_load_fails(b.bad, GLINT_E_BAD_SNAPSHOT, NULL, what);
        cr_assert(pwrite(fd, &b.f.p[pos], 1, (off_t)pos) == 1);
    }
    close(fd);
    glint_snapshot_free(load(b.bad)); /* undone flips leave a valid file */
    free_base(&b);
}

Test(snapfile_corrupt, function_and_host_tables, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    uint64_t fns = rd64(b.f.p + SEC_OFF(S_FUNCS)), host = rd64(b.f.p + SEC_OFF(S_HOST));
    uint64_t image_end = rd64(b.f.p + SF_LAYOUT);
    cr_assert(rd64(b.f.p + SEC_COUNT(S_FUNCS)) >= 2);
    uint64_t withp = fns; /* a function with 1 to 15 parameters */
    while (rd32(b.f.p + withp + 76) == 0 || rd32(b.f.p + withp + 76) == 16)
        withp += SF_REC;
    cr_assert(withp < host);
    struct {
        uint64_t rec;
        unsigned off, size;
        uint64_t value;
        const char *needle;
    } cases[] = {
        {fns, 0, 1, '-', "byte 0x2d at position 0"},
        {fns, 0, 1, '7', "byte 0x37 at position 0"},
        {fns, 0, 1, 0, "empty name"},
        {fns, 63, 1, 'x', "non-zero byte after the name"},
        {fns, 64, 8, 0, "entry point 0x0 is outside the image"},
        {fns, 64, 8, image_end, "is outside the image"},
        {fns, 64, 8, UINT64_MAX, "is outside the image"},
        {fns, 72, 4, 10, "invalid return type 10"},
        {fns, 72, 4, UINT32_MAX, "invalid return type"},
        {fns, 76, 4, 17, "17 parameters, at most 16"},
        {fns, 76, 4, UINT32_MAX, "parameters, at most 16"},
        {withp, 80, 1, 0, "parameter 1 has an invalid type"}, /* void */
        {withp, 80, 1, 10, "parameter 1 has an invalid type"},
        {withp, 95, 1, 2, "unused but non-zero"},
        {host, 64, 8, 0x20000, "entry field is 0x20000, must be 0"},
        {host, 0, 1, '$', "byte 0x24"},
        {host, 76, 4, 0, "unused but non-zero"}, /* print(string) with 0 params */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *f = copy_of(&b);
        for (unsigned k = 0; k < cases[i].size; k++)
            f[cases[i].rec + cases[i].off + k] = (uint8_t)(cases[i].value >> (8 * k));
        expect_bad(&b, f, true, cases[i].needle, cases[i].needle);
        free(f);
    }
    /* A name filling all 64 bytes. */
    uint8_t *f = copy_of(&b);
    memset(f + fns, 'A', 64);
    expect_bad(&b, f, true, "not NUL-terminated within 64 bytes", "64-byte name");
    free(f);
    /* A name twice. */
    f = copy_of(&b);
    memcpy(f + fns + SF_REC, f + fns, 64);
    expect_bad(&b, f, true, "appears twice", "duplicate function name");
    free(f);
    free_base(&b);
}

Test(snapfile_corrupt, page_map_and_padding, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    const uint8_t *h = b.f.p;
    uint64_t map = rd64(h + SEC_OFF(S_PAGEMAP)), pages = rd64(h + SEC_COUNT(S_PAGEMAP));
    uint64_t mem_off = rd64(h + SEC_OFF(S_MEMORY));
    uint64_t zero_pg = UINT64_MAX, data_pg = UINT64_MAX;
    for (uint64_t pg = 0; pg < pages; pg++) {
        int bit = (int)(rd64(h + map + 8 * (pg / 64)) >> (pg % 64) & 1);
        if (bit && data_pg == UINT64_MAX)
            data_pg = pg;
        if (!bit && pg > 16 && zero_pg == UINT64_MAX)
            zero_pg = pg;
    }
    cr_assert(zero_pg != UINT64_MAX && data_pg != UINT64_MAX);
    char want[128];

    /* A non-zero page the map calls zero. */
    uint8_t *f = copy_of(&b);
    f[map + data_pg / 8] &= (uint8_t)~(1u << (data_pg % 8)); /* bit i: byte i/8, bit i%8 */
    expect_bad(&b, f, true, "the page map says it is", "page map bit cleared");
    free(f);
    /* A zero page the map calls non-zero. */
    f = copy_of(&b);
    f[map + zero_pg / 8] |= (uint8_t)(1u << (zero_pg % 8));
    snprintf(want, sizeof want, "memory page %llu (guest address 0x%llx) is marked non-zero",
             (unsigned long long)zero_pg, (unsigned long long)zero_pg * 4096);
    expect_bad(&b, f, true, want, "page map bit set");
    free(f);
    /* Data in a page the map calls zero (not covered by the memory checksum). */
    f = copy_of(&b);
    f[mem_off + zero_pg * 4096 + 100] = 1;
    snprintf(want, sizeof want, "memory page %llu (guest address 0x%llx) is not zero",
             (unsigned long long)zero_pg, (unsigned long long)zero_pg * 4096);
    expect_bad(&b, f, false, want, "data in a zero page");
    free(f);
    /* Bits beyond the last page. */
    if (pages % 64) {
        f = copy_of(&b);
        f[map + rd64(h + SEC_SIZE(S_PAGEMAP)) - 1] |= 0x80;
        expect_bad(&b, f, true, "beyond the last page", "bit beyond the last page");
        free(f);
    }
    /* Padding: after the page map, before the memory image. */
    uint64_t pad = map + rd64(h + SEC_SIZE(S_PAGEMAP));
    cr_assert(pad < mem_off);
    f = copy_of(&b);
    f[mem_off - 1] = 0xaa;
    expect_bad(&b, f, false, "checksum mismatch", "padding, checksum not fixed");
    expect_bad(&b, f, true, "padding byte", "padding before the memory image");
    free(f);
    free_base(&b);
}

Test(snapfile_corrupt, vcpu_state, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    uint64_t cpu = rd64(b.f.p + SEC_OFF(S_CPU));
    uint8_t *f = copy_of(&b);
    f[cpu] ^= 0xff; /* the format's magic */
    expect_bad(&b, f, false, "checksum", "vCPU state, checksum not fixed");
    expect_bad(&b, f, true, "vCPU state has format", "vCPU state magic");
    free(f);
    /* Only what a ring-3 glint guest can have (struct ucpu, src/host/ucpu.h:
     * magic, version, 16 registers, RIP at 8 + 16 * 8, RFLAGS, FS and GS
     * base, the FXSAVE image, XSTATE_BV). */
    enum { U_RIP = 8 + 16 * 8, U_RFLAGS = U_RIP + 8, U_FS = U_RFLAGS + 8, U_GS = U_FS + 8,
           U_FX = U_GS + 8, U_BV = U_FX + 512 };
    struct {
        unsigned off, size;
        uint64_t value;
        const char *needle;
    } cases[] = {
        {4, 4, 2, "vCPU state has format"},                          /* version */
        {U_RFLAGS, 8, 0x3202, "RFLAGS 0x3202"},                      /* IOPL 3 */
        {U_RFLAGS, 8, 0x20002, "RFLAGS 0x20002"},                    /* VM86 */
        {U_RFLAGS, 8, 0x0, "RFLAGS 0x0"},                            /* bit 1 clear */
        {U_RFLAGS, 8, 0x80002, "RFLAGS 0x80002"},                    /* VIF */
        {U_RIP, 8, 0xffffffff81000000ull, "kernel address"},
        {U_RIP, 8, 0x0000800000000000ull, "non-canonical"},
        {U_FS, 8, 0xffff888000000000ull, "kernel address"},
        {U_GS, 8, 0x8000000000000000ull, "kernel address"},
        {U_FX + 24, 4, 0xffffffffu, "MXCSR 0xffffffff"},
        {U_FX + 470, 1, 1, "reserved FXSAVE bytes (byte 470)"},
        {U_BV, 8, 0xe7, "XSAVE components 0xe7"},                    /* AVX-512 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f = copy_of(&b);
        for (unsigned k = 0; k < cases[i].size; k++)
            f[cpu + cases[i].off + k] = (uint8_t)(cases[i].value >> (8 * k));
        char what[64];
        snprintf(what, sizeof what, "vCPU state byte %u = 0x%llx", cases[i].off,
                 (unsigned long long)cases[i].value);
        expect_bad(&b, f, true, cases[i].needle, what);
        free(f);
    }
    /* The KVM backend's own format, which older glint wrote. */
    f = copy_of(&b);
    memset(f + SF_CPU_FMT, 0, 32);
    memcpy(f + SF_CPU_FMT, "kvm-x86_64-v1", 13);
    expect_bad(&b, f, true, "take the snapshot again", "the old KVM format");
    free(f);
    free_base(&b);
}

Test(snapfile_corrupt, not_snapshot_files, .timeout = 30)
{
    char *dir = make_dir(), *empty = path_in(dir, "empty"), *fifo = path_in(dir, "fifo");
    char *text = path_in(dir, "text");
    spit(empty, "", 0);
    spit(text, "hello, world\n", 13);
    cr_assert(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    expect_load_fails(empty, GLINT_E_BAD_SNAPSHOT, "file is empty", "empty file");
    expect_load_fails(text, GLINT_E_BAD_SNAPSHOT, "not a glint snapshot file", "text file");
    expect_load_fails(TEST_GUEST("basic"), GLINT_E_BAD_SNAPSHOT, "not a glint snapshot file",
                      "an ELF");
    expect_load_fails(dir, GLINT_E_IO, "is a directory", "directory");
    expect_load_fails("/dev/null", GLINT_E_IO, "not a regular file", "/dev/null");
    expect_load_fails(fifo, GLINT_E_IO, "not a regular file", "FIFO"); /* must not hang */
    char *missing = path_in(dir, "missing.snap");
    expect_load_fails(missing, GLINT_E_IO, "cannot open", "missing file");
    free(empty), free(fifo), free(text), free(missing);
    rm_dir(dir);
}

Test(snapfile_corrupt, no_descriptor_or_mapping_leaks, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct base b = make_base();
    uint8_t *f = copy_of(&b);
    f[rd64(f + SEC_OFF(S_MEMORY)) + 20 * 4096 + 5] ^= 1; /* fails after mapping */
    spit(b.bad, f, b.f.len);
    free(f);
    int fds = th_count_fds(), maps = count_mappings();
    for (int i = 0; i < 200; i++) {
        glint_snapshot *snap = NULL;
        glint_error err;
        cr_assert_neq(glint_snapshot_load(b.bad, &snap, &err), GLINT_OK);
        cr_assert_eq(glint_snapshot_load(b.good, &snap, &err), GLINT_OK, "%s", err.message);
        glint_snapshot_free(snap);
    }
    cr_expect_eq(th_count_fds(), fds, "file descriptors leaked");
    cr_expect_eq(count_mappings(), maps, "mappings leaked");
    free_base(&b);
}

/* A file whose page tables give the guest a page between its boot info page
 * and its image (where no glint guest has one, and where the process
 * backend keeps its stub: src/host/proc_abi.h) loads (the file itself is
 * consistent, and KVM could run it), but the process backend refuses to
 * make a sandbox of it instead of mapping guest memory over its stub. */
Test(snapfile_corrupt, guest_page_where_the_stub_lives, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_error perr;
    if (glint_backend_probe(GLINT_BACKEND_PROCESS, &perr) != GLINT_OK)
        cr_skip_test("the process backend is not usable here: %s", perr.message);
    struct base b = make_base();
    uint8_t *f = copy_of(&b);
    uint64_t mem_off = rd64(f + SEC_OFF(S_MEMORY)), map = rd64(f + SEC_OFF(S_PAGEMAP));
    uint64_t pages = rd64(f + SEC_COUNT(S_PAGEMAP));
    uint64_t pt_base = rd64(f + SF_LAYOUT + 8 * 11), page = 0x12000;
    cr_assert(rd64(f + map + 8 * (pt_base / 4096 / 64)) >> (pt_base / 4096 % 64) & 1,
              "the page-table page is stored");
    uint8_t *pte = f + mem_off + pt_base + (page / 4096) * 8;
    cr_assert_eq(rd64(pte), 0, "page 0x%llx is already mapped", (unsigned long long)page);
    wr64(pte, page | 7); /* present, writable, user */
    uint32_t crc = 0;
    for (uint64_t pg = 0; pg < pages; pg++)
        if (rd64(f + map + 8 * (pg / 64)) >> (pg % 64) & 1)
            crc = crc32c_ref(crc, f + mem_off + pg * 4096, 4096);
    wr32(f + SF_MEM_CRC, crc);
    fix_meta_crc(f);
    spit(b.bad, f, b.f.len);
    free(f);
    glint_snapshot *snap = load(b.bad);
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_from_snapshot_on(snap, GLINT_BACKEND_PROCESS, &sb, &err);
    cr_assert_eq(s, GLINT_E_INVALID, "%s: %s", glint_status_name(s), err.message);
    cr_assert(strstr(err.message, "guest page 0x12000 is where the stub lives"), "%s", err.message);
    cr_assert_null(sb);
    glint_snapshot_free(snap);
    free_base(&b);
}
