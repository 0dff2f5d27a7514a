/*
 * test_wasm.c - WebAssembly modules in glint sandboxes (docs/wasm.md): the
 * wasm image (host-side decoding and validation, the function table from
 * the exports), the runtime guest (numbers, strings and bytes both ways,
 * traps, limits), snapshots, pools and the CLI.  The modules are
 * tests/wasm/NAME.wat, built by the Makefile with wat2wasm into build/wasm/,
 * and examples/wasm/c/hello.c, built with clang --target=wasm32 when that
 * toolchain is installed.  scripts/test-backends.sh runs them per backend.
 */
#include <math.h>
#include <stdio.h>
#include <sys/wait.h>

#include "helpers.h"

#define WASM(name)     GLINT_BUILD_DIR "/wasm/" name ".wasm"
#define NUMBERS        WASM("numbers")
#define STRINGS        WASM("strings")
#define C_EXAMPLE      GLINT_BUILD_DIR "/examples/wasm/c/hello.wasm"
#define GLINT_CLI      GLINT_BUILD_DIR "/bin/glint"

static glint_status call1(glint_sandbox *sb, const char *fn, glint_value a, glint_value *out)
{
    return glint_sandbox_call(sb, fn, &a, 1, out);
}

static glint_status call2(glint_sandbox *sb, const char *fn, glint_value a, glint_value b, glint_value *out)
{
    glint_value args[2] = {a, b};
    return glint_sandbox_call(sb, fn, args, 2, out);
}

static int32_t add(glint_sandbox *sb, int32_t a, int32_t b)
{
    glint_value r;
    EXPECT_OK(sb, call2(sb, "add", glint_i32(a), glint_i32(b), &r));
    cr_assert_eq(r.type, GLINT_I32);
    return r.v.i32;
}

/* ---- images ------------------------------------------------------------------- */

Test(wasm_image, exports_become_the_function_table)
{
    glint_image *img;
    glint_error err;
    cr_assert_eq(glint_image_open_file(NUMBERS, &img, &err), GLINT_OK, "%s", err.message);
    cr_assert(glint_image_is_wasm(img));
    long i = glint_image_find(img, "add");
    cr_assert_geq(i, 0);
    char buf[200];
    glint_function_format(glint_image_function(img, (size_t)i), buf, sizeof buf);
    cr_assert_str_eq(buf, "add(int32, int32) -> int32");
    glint_function_format(glint_image_function(img, (size_t)glint_image_find(img, "many")), buf, sizeof buf);
    cr_assert_str_eq(buf, "many(int32, int64, float, double, int32, int64, float, double) -> double");
    cr_assert_eq(glint_image_find(img, "pair"), -1);
    cr_assert_eq(glint_image_find(img, "takes_ref"), -1);
    size_t n = glint_image_unavailable_count(img);
    cr_assert_eq(n, 3, "%zu unavailable exports", n);
    cr_assert(th_has(glint_image_unavailable(img, 0), "pair") &&
              th_has(glint_image_unavailable(img, 0), "multi-value"), "%s", glint_image_unavailable(img, 0));
    cr_assert(th_has(glint_image_unavailable(img, 1), "takes_ref") &&
              th_has(glint_image_unavailable(img, 1), "reference"), "%s", glint_image_unavailable(img, 1));
    cr_assert(th_has(glint_image_unavailable(img, 2), "add-one"), "%s", glint_image_unavailable(img, 2));
    cr_assert_null(glint_image_unavailable(img, 3));
    glint_image_close(img);

    cr_assert_eq(glint_image_open_file(STRINGS, &img, &err), GLINT_OK, "%s", err.message);
    glint_function_format(glint_image_function(img, (size_t)glint_image_find(img, "join")), buf, sizeof buf);
    cr_assert_str_eq(buf, "join(string, bytes, int32) -> string");
    cr_assert_eq(glint_image_find(img, "glint_alloc"), -1, "the allocator is not a function to call");
    glint_image_close(img);

    /* An ELF guest is not wasm and has nothing unavailable. */
    cr_assert_eq(glint_image_open_file(HELLO_GUEST, &img, &err), GLINT_OK, "%s", err.message);
    cr_assert(!glint_image_is_wasm(img));
    cr_assert_eq(glint_image_unavailable_count(img), 0);
    glint_image_close(img);
}

Test(wasm_image, malformed_and_invalid_modules_are_refused)
{
    glint_image *img = (glint_image *)1;
    glint_error err;
    static const uint8_t truncated[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60};
    cr_assert_eq(glint_image_open_memory(truncated, sizeof truncated, &img, &err), GLINT_E_BAD_IMAGE);
    cr_assert_null(img);
    cr_assert(th_has(err.message, "malformed WebAssembly module") && th_has(err.message, "type section"),
              "%s", err.message);
    static const uint8_t version2[] = {0, 'a', 's', 'm', 2, 0, 0, 0};
    cr_assert_eq(glint_image_open_memory(version2, sizeof version2, &img, &err), GLINT_E_BAD_IMAGE);
    cr_assert(th_has(err.message, "malformed"), "%s", err.message);
    /* () -> i32 whose body is i64.const 1: a type mismatch. */
    static const uint8_t invalid[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0,
                                      10, 6, 1, 4, 0, 0x42, 1, 0x0b};
    cr_assert_eq(glint_image_open_memory(invalid, sizeof invalid, &img, &err), GLINT_E_BAD_IMAGE);
    cr_assert(th_has(err.message, "invalid WebAssembly module") && th_has(err.message, "code section") &&
                  th_has(err.message, "type mismatch"), "%s", err.message);
    /* The same module, valid, works through open_memory. */
    uint8_t valid[sizeof invalid];
    memcpy(valid, invalid, sizeof valid);
    valid[sizeof valid - 3] = 0x41; /* i32.const 1 */
    cr_assert_eq(glint_image_open_memory(valid, sizeof valid, &img, &err), GLINT_OK, "%s", err.message);
    cr_assert_eq(glint_image_function_count(img), 0, "no exports, no functions");
    glint_image_close(img);
    /* A module with imports: refused with the import's name. */
    static const uint8_t imports[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, 11, 1, 3, 'e',
                                      'n', 'v', 3, 'f', 'o', 'o', 0, 0};
    cr_assert_eq(glint_image_open_memory(imports, sizeof imports, &img, &err), GLINT_E_BAD_IMAGE);
    cr_assert(th_has(err.message, "\"env\".\"foo\""), "%s", err.message);
}

/* ---- calls --------------------------------------------------------------------- */

Test(wasm_call, numbers_both_ways, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(NUMBERS, NULL);
    cr_assert_eq(add(sb, 40, 2), 42);
    cr_assert_eq(add(sb, INT32_MAX, 1), INT32_MIN, "wraps as i32.add does");
    glint_value r;
    EXPECT_OK(sb, call2(sb, "add64", glint_i64(INT64_C(1) << 40), glint_i64(-5), &r));
    cr_assert_eq(r.type, GLINT_I64);
    cr_assert_eq(r.v.i64, (INT64_C(1) << 40) - 5);
    EXPECT_OK(sb, call2(sb, "mulf", glint_f32(1.5f), glint_f32(-4.0f), &r));
    cr_assert_eq(r.type, GLINT_F32);
    cr_assert_float_eq(r.v.f32, -6.0f, 0);
    EXPECT_OK(sb, call2(sb, "divd", glint_f64(1.0), glint_f64(0.0), &r));
    cr_assert(isinf(r.v.f64) && r.v.f64 > 0);
    EXPECT_OK(sb, glint_sandbox_call(sb, "nothing", NULL, 0, &r));
    cr_assert_eq(r.type, GLINT_VOID);
    glint_value many[8] = {glint_i32(1), glint_i64(2), glint_f32(3), glint_f64(4),
                           glint_i32(-5), glint_i64(6), glint_f32(0.5f), glint_f64(0.25)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "many", many, 8, &r));
    cr_assert_float_eq(r.v.f64, 11.75, 0);
    /* State lives on between calls. */
    for (int i = 1; i <= 3; i++) {
        EXPECT_OK(sb, glint_sandbox_call(sb, "count", NULL, 0, &r));
        cr_assert_eq(r.v.i32, i);
    }
    /* glint checks the signature before anything runs. */
    cr_assert_eq(call1(sb, "add", glint_i32(1), &r), GLINT_E_SIGNATURE);
    cr_assert_eq(call2(sb, "add", glint_i64(1), glint_i32(2), &r), GLINT_E_SIGNATURE);
    cr_assert_eq(glint_sandbox_call(sb, "pair", NULL, 0, &r), GLINT_E_NO_FUNCTION);
    cr_assert_eq(add(sb, 1, 2), 3);
    glint_sandbox_destroy(sb);
}

Test(wasm_call, strings_and_bytes_both_ways, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config big = th_config_buffers(64 * 1024, 256 * 1024);
    glint_sandbox *sb = th_start(STRINGS, &big);
    glint_value r;
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("World"), &r));
    th_expect_str(&r, "Hello, World!", 13);
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr(""), &r));
    th_expect_str(&r, "Hello, !", 8);
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("Wörld ✓"), &r));
    th_expect_str(&r, "Hello, Wörld ✓!", strlen("Hello, Wörld ✓!"));

    static const uint8_t in[] = {1, 2, 0, 255, 7};
    EXPECT_OK(sb, call1(sb, "reverse", glint_bytes(in, sizeof in), &r));
    cr_assert_eq(r.type, GLINT_BYTES);
    cr_assert_eq(r.v.bytes.len, 5);
    static const uint8_t want[] = {7, 255, 0, 2, 1};
    cr_assert(!memcmp(r.v.bytes.ptr, want, 5));
    EXPECT_OK(sb, call1(sb, "reverse", glint_bytes(NULL, 0), &r));
    cr_assert_eq(r.v.bytes.len, 0);

    EXPECT_OK(sb, call1(sb, "length", glint_str("a\0b", 3), &r));
    cr_assert_eq(r.type, GLINT_U32);
    cr_assert_eq(r.v.u32, 3);
    EXPECT_OK(sb, call1(sb, "is_even", glint_u32(10), &r));
    cr_assert_eq(r.type, GLINT_BOOL);
    cr_assert(r.v.b);
    EXPECT_OK(sb, call1(sb, "is_even", glint_u32(7), &r));
    cr_assert(!r.v.b);

    /* A result bigger than the first memory page: glint_alloc grows memory. */
    glint_value args[3] = {glint_cstr("ab"), glint_bytes("xyz", 3), glint_i32(20000)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "join", args, 3, &r));
    cr_assert_eq(r.type, GLINT_STRING);
    cr_assert_eq(r.v.str.len, 100000);
    cr_assert(!memcmp(r.v.str.ptr, "abxyzabxyz", 10) && !memcmp(r.v.str.ptr + 99995, "abxyz", 5));
    glint_sandbox_destroy(sb);

    /* A result larger than the output buffer fails the call cleanly. */
    glint_config cfg = th_config_buffers(64 * 1024, 16 * 1024);
    sb = th_start(STRINGS, &cfg);
    args[2] = glint_i32(10000);
    cr_assert_eq(glint_sandbox_call(sb, "join", args, 3, &r), GLINT_E_GUEST_ERROR);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "does not fit"), "%s", glint_sandbox_error(sb)->message);
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("again"), &r));
    th_expect_str(&r, "Hello, again!", 13);
    glint_sandbox_destroy(sb);
}

Test(wasm_call, buffers_are_freed_and_bad_results_refused, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(STRINGS, NULL);
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "frees", NULL, 0, &r));
    cr_assert_eq(r.v.i32, 0);
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("x"), &r));
    EXPECT_OK(sb, glint_sandbox_call(sb, "frees", NULL, 0, &r));
    cr_assert_eq(r.v.i32, 2, "the argument and the result go to glint_free: %d", r.v.i32);

    cr_assert_eq(glint_sandbox_call(sb, "bad_utf8", NULL, 0, &r), GLINT_E_GUEST_ERROR);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "not valid UTF-8"), "%s",
              glint_sandbox_error(sb)->message);
    cr_assert_eq(glint_sandbox_call(sb, "bad_ptr", NULL, 0, &r), GLINT_E_GUEST_ERROR);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "outside the module's"), "%s",
              glint_sandbox_error(sb)->message);
    cr_assert(!glint_sandbox_poisoned(sb));
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("ok"), &r));
    th_expect_str(&r, "Hello, ok!", 10);
    glint_sandbox_destroy(sb);
}

/* ---- traps ------------------------------------------------------------------------ */

static void expect_trap(glint_sandbox *sb, const char *fn, const glint_value *args, size_t nargs,
                        const char *trap, const char *where)
{
    glint_value r;
    glint_status s = glint_sandbox_call(sb, fn, args, nargs, &r);
    const char *msg = glint_sandbox_error(sb)->message;
    cr_assert_eq(s, GLINT_E_GUEST_ERROR, "%s: %s: %s", fn, glint_status_name(s), msg);
    cr_assert(th_has(msg, "trap: ") && th_has(msg, trap), "%s: want trap '%s': %s", fn, trap, msg);
    cr_assert(th_has(msg, where), "%s: want '%s' in: %s", fn, where, msg);
    cr_assert(th_has(msg, "at offset 0x"), "%s: no offset in: %s", fn, msg);
    cr_assert(!glint_sandbox_poisoned(sb), "a trap does not poison the sandbox");
    cr_assert_eq(add(sb, 2, 3), 5, "the sandbox works after a trap in %s", fn);
}

Test(wasm_trap, every_kind_names_trap_function_and_offset, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(NUMBERS, NULL);
    glint_value a2[2] = {glint_i32(1), glint_i32(0)};
    expect_trap(sb, "div", a2, 2, "integer divide by zero", "function 10 \"div\"");
    a2[0] = glint_i32(INT32_MIN), a2[1] = glint_i32(-1);
    expect_trap(sb, "div", a2, 2, "integer overflow", "\"div\"");
    expect_trap(sb, "unreachable", NULL, 0, "unreachable", "\"unreachable\"");
    glint_value d = glint_f64(NAN);
    expect_trap(sb, "convert", &d, 1, "invalid conversion to integer", "\"convert\"");
    d = glint_f64(1e300);
    expect_trap(sb, "convert", &d, 1, "integer overflow", "\"convert\"");
    glint_value p = glint_i32(65535);
    expect_trap(sb, "load", &p, 1, "out of bounds memory access", "\"load\"");
    expect_trap(sb, "call_wrong_type", NULL, 0, "indirect call type mismatch", "\"call_wrong_type\"");
    expect_trap(sb, "call_null", NULL, 0, "uninitialized element", "\"call_null\"");
    expect_trap(sb, "call_oob", NULL, 0, "out of bounds table access", "\"call_oob\"");
    p = glint_i32(0);
    expect_trap(sb, "recurse", &p, 1, "call stack exhausted", "\"recurse\"");
    glint_sandbox_destroy(sb);
}

Test(wasm_trap, traps_with_auto_restore, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(NUMBERS, NULL);
    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    EXPECT_OK(sb, glint_sandbox_set_auto_restore(sb, snap));
    glint_value r, a2[2] = {glint_i32(1), glint_i32(0)};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(glint_sandbox_call(sb, "div", a2, 2, &r), GLINT_E_GUEST_ERROR);
        EXPECT_OK(sb, glint_sandbox_call(sb, "count", NULL, 0, &r));
        cr_assert_eq(r.v.i32, 1, "every call starts from the snapshot");
    }
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

/* ---- limits ------------------------------------------------------------------------ */

Test(wasm_limit, infinite_loop_times_out, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 200;
    glint_sandbox *sb = th_start(NUMBERS, &cfg);
    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    double t0 = th_now_ms();
    cr_assert_eq(glint_sandbox_call(sb, "spin", NULL, 0, NULL), GLINT_E_TIMEOUT, "%s",
                 glint_sandbox_error(sb)->message);
    cr_assert_lt(th_now_ms() - t0, 5000);
    cr_assert(glint_sandbox_poisoned(sb));
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    cr_assert_eq(add(sb, 1, 1), 2);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

struct interrupter {
    glint_sandbox *sb;
    unsigned delay_ms;
};

static void *interrupt_later(void *arg)
{
    struct interrupter *it = arg;
    th_sleep_ms(it->delay_ms);
    glint_sandbox_interrupt(it->sb);
    return NULL;
}

Test(wasm_limit, interrupt_stops_a_loop, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 0;
    glint_sandbox *sb = th_start(NUMBERS, &cfg);
    struct interrupter it = {sb, 100};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, interrupt_later, &it), 0);
    glint_status s = glint_sandbox_call(sb, "spin", NULL, 0, NULL);
    pthread_join(t, NULL);
    cr_assert_eq(s, GLINT_E_CANCELLED, "%s: %s", glint_status_name(s), glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
}

Test(wasm_limit, memory_grow_is_bounded_by_the_heap, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 1024 * 1024; /* at most 16 pages, less what the engine uses */
    glint_sandbox *sb = th_start(NUMBERS, &cfg);
    glint_value r;
    EXPECT_OK(sb, call1(sb, "grow", glint_i32(1000), &r));
    cr_assert_eq(r.v.i32, -1, "memory.grow past the heap returns -1");
    EXPECT_OK(sb, call1(sb, "grow", glint_i32(2), &r));
    cr_assert_eq(r.v.i32, 1, "a small grow works: old size %d", r.v.i32);
    int32_t grown = 0;
    for (;;) { /* grow until refused: cleanly, never an abort */
        EXPECT_OK(sb, call1(sb, "grow", glint_i32(1), &r));
        if (r.v.i32 == -1)
            break;
        grown++;
        cr_assert_lt(grown, 16);
    }
    EXPECT_OK(sb, glint_sandbox_call(sb, "pages", NULL, 0, &r));
    cr_assert_eq(r.v.i32, 3 + grown);
    cr_assert_eq(add(sb, 1, 1), 2);
    glint_sandbox_destroy(sb);

    /* A heap too small for the module's memory: init fails, saying so. */
    cfg.heap_size = 32 * 1024;
    sb = th_create(NUMBERS, &cfg);
    glint_status s = glint_sandbox_init(sb);
    cr_assert_eq(s, GLINT_E_ABORT, "%s", glint_status_name(s));
    cr_assert(th_has(glint_sandbox_error(sb)->message, "heap"), "%s", glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
}

/* ---- snapshots and pools ---------------------------------------------------------- */

Test(wasm_snapshot, restore_and_file_round_trip, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(NUMBERS, NULL);
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "count", NULL, 0, &r));
    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    EXPECT_OK(sb, glint_sandbox_call(sb, "count", NULL, 0, &r));
    cr_assert_eq(r.v.i32, 2);
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    EXPECT_OK(sb, glint_sandbox_call(sb, "count", NULL, 0, &r));
    cr_assert_eq(r.v.i32, 2, "restored to count 1");

    char path[] = "/tmp/glint-wasm-snap-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    glint_error err;
    cr_assert_eq(glint_snapshot_save(snap, path, &err), GLINT_OK, "%s", err.message);
    glint_snapshot *loaded;
    cr_assert_eq(glint_snapshot_load(path, &loaded, &err), GLINT_OK, "%s", err.message);
    unlink(path);
    cr_assert_eq(glint_snapshot_function_count(loaded), glint_sandbox_function_count(sb));
    glint_sandbox *sb2;
    cr_assert_eq(glint_sandbox_create_from_snapshot(loaded, &sb2, &err), GLINT_OK, "%s", err.message);
    EXPECT_OK(sb2, glint_sandbox_init(sb2));
    EXPECT_OK(sb2, glint_sandbox_call(sb2, "count", NULL, 0, &r));
    cr_assert_eq(r.v.i32, 2, "the instantiated module, with its state, is in the file");
    cr_assert_eq(add(sb2, 20, 22), 42);
    glint_sandbox_destroy(sb2);
    glint_snapshot_free(loaded);
    glint_snapshot_free(snap);
    glint_sandbox_destroy(sb);
}

Test(wasm_snapshot, pool_hands_out_pristine_instances, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(STRINGS, NULL);
    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    glint_sandbox_destroy(sb);
    glint_pool_config pc;
    glint_pool_config_default(&pc);
    pc.max_idle = 2;
    glint_pool *pool;
    glint_error err;
    cr_assert_eq(glint_pool_create(snap, &pc, &pool, &err), GLINT_OK, "%s", err.message);
    for (int i = 0; i < 4; i++) {
        glint_sandbox *s;
        cr_assert_eq(glint_pool_acquire(pool, &s, &err), GLINT_OK, "%s", err.message);
        glint_value r;
        EXPECT_OK(s, glint_sandbox_call(s, "frees", NULL, 0, &r));
        cr_assert_eq(r.v.i32, 0, "pristine: no frees yet (round %d)", i);
        EXPECT_OK(s, call1(s, "greet", glint_cstr("pool"), &r));
        th_expect_str(&r, "Hello, pool!", 12);
        if (i == 1) /* a trap-free failure: poison it; the pool restores it */
            cr_assert_eq(glint_sandbox_call(s, "bad_ptr", NULL, 0, &r), GLINT_E_GUEST_ERROR);
        glint_pool_release(pool, s);
    }
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
}

/* ---- the C example (clang --target=wasm32) ---------------------------------------- */

Test(wasm_c, example_built_with_clang, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (access(C_EXAMPLE, R_OK) != 0)
        cr_skip_test("%s not built: clang --target=wasm32 or wasm-ld missing", C_EXAMPLE);
    glint_sandbox *sb = th_start(C_EXAMPLE, NULL);
    glint_value r;
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("C"), &r));
    th_expect_str(&r, "Hello, C!", 9);
    EXPECT_OK(sb, call1(sb, "fib", glint_i32(90), &r));
    cr_assert_eq(r.v.i64, INT64_C(2880067194370816120));
    EXPECT_OK(sb, call1(sb, "checksum", glint_bytes("abc", 3), &r));
    cr_assert_eq(r.type, GLINT_U32);
    cr_assert_eq(r.v.u32, 0x1a47e90bu); /* FNV-1a("abc") */
    cr_assert_eq(add(sb, -1, -2), -3);
    glint_sandbox_destroy(sb);
}

#define WASI_EXAMPLE GLINT_BUILD_DIR "/examples/wasm/wasi/hello.wasm"

static char printed[4096];
static size_t nprinted;

static glint_status capture_print(glint_hostcall *hc, const glint_value *args, size_t nargs, glint_value *ret,
                                  void *user)
{
    (void)hc, (void)nargs, (void)ret, (void)user;
    size_t n = args[0].v.str.len;
    if (n > sizeof printed - 1 - nprinted)
        n = sizeof printed - 1 - nprinted;
    memcpy(printed + nprinted, args[0].v.str.ptr, n);
    nprinted += n;
    printed[nprinted] = 0;
    return GLINT_OK;
}

Test(wasm_c, wasi_libc_reactor, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    if (access(WASI_EXAMPLE, R_OK) != 0)
        cr_skip_test("%s not built: wasi-libc or libclang-rt-14-dev-wasm32 missing", WASI_EXAMPLE);
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 4u << 20;
    glint_sandbox *sb = th_create(WASI_EXAMPLE, &cfg);
    glint_function print = {.name = "print", .ret = GLINT_VOID, .nparams = 1, .params = {GLINT_STRING}};
    EXPECT_OK(sb, glint_sandbox_register(sb, &print, capture_print, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_value r;
    EXPECT_OK(sb, call1(sb, "shout", glint_cstr("hey"), &r));
    th_expect_str(&r, "HEY!", 4);
    nprinted = 0;
    EXPECT_OK(sb, call1(sb, "hello", glint_i32(2), &r));
    cr_assert_eq(r.v.i32, 2);
    cr_assert_str_eq(printed, "hello 0 from wasi-libc\nhello 1 from wasi-libc\n");
    glint_sandbox_destroy(sb);
}

/* ---- WASI clock and random: granted by the host, or ENOSYS -------------------------------- */

#define GRANTS GLINT_BUILD_DIR "/wasm/wasi_grants.wasm"

static glint_status grant_clock(glint_hostcall *hc, const glint_value *args, size_t nargs, glint_value *ret,
                                void *user)
{
    (void)hc, (void)nargs, (void)user;
    ret->v.u64 = 1700000000000000000ull + args[0].v.u32; /* ns, plus the clock id */
    return GLINT_OK;
}

static glint_status grant_random(glint_hostcall *hc, const glint_value *args, size_t nargs, glint_value *ret,
                                 void *user)
{
    (void)nargs, (void)user;
    uint32_t n = args[0].v.u32;
    uint8_t *b = glint_hostcall_buffer(hc, n);
    if (!b)
        return glint_hostcall_fail(hc, "too long");
    for (uint32_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i + 1);
    *ret = glint_bytes(b, n);
    return GLINT_OK;
}

Test(wasm_wasi, clock_and_random_granted_or_enosys, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_value r;
    /* Not granted: ENOSYS (52), the same on every run. */
    glint_sandbox *sb = th_start(GRANTS, NULL);
    EXPECT_OK(sb, call1(sb, "now", glint_i32(0), &r));
    cr_assert_eq(r.v.i64, -52);
    EXPECT_OK(sb, glint_sandbox_call(sb, "rand8", NULL, 0, &r));
    cr_assert_eq(r.v.i64, -52);
    glint_sandbox_destroy(sb);
    /* Granted: the host's answers. */
    sb = th_create(GRANTS, NULL);
    glint_function clk = {.name = "wasi_clock_time_get", .ret = GLINT_U64, .nparams = 1, .params = {GLINT_U32}};
    glint_function rnd = {.name = "wasi_random_get", .ret = GLINT_BYTES, .nparams = 1, .params = {GLINT_U32}};
    EXPECT_OK(sb, glint_sandbox_register(sb, &clk, grant_clock, NULL));
    EXPECT_OK(sb, glint_sandbox_register(sb, &rnd, grant_random, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    EXPECT_OK(sb, call1(sb, "now", glint_i32(1), &r));
    cr_assert_eq(r.v.i64, (int64_t)1700000000000000001ull);
    EXPECT_OK(sb, glint_sandbox_call(sb, "rand8", NULL, 0, &r));
    cr_assert_eq((uint64_t)r.v.i64, 0x0807060504030201ull);
    EXPECT_OK(sb, glint_sandbox_call(sb, "rand_out_of_bounds", NULL, 0, &r));
    cr_assert_eq(r.v.i32, 21, "EFAULT for a buffer past the memory's end: %d", r.v.i32);
    glint_sandbox_destroy(sb);
    /* Granted with another signature: refused by the host, so ENOSYS. */
    sb = th_create(GRANTS, NULL);
    glint_function wrong = {.name = "wasi_clock_time_get", .ret = GLINT_I32, .nparams = 0};
    EXPECT_OK(sb, glint_sandbox_register(sb, &wrong, grant_clock, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    EXPECT_OK(sb, call1(sb, "now", glint_i32(0), &r));
    cr_assert_eq(r.v.i64, -52);
    glint_sandbox_destroy(sb);
}

/* ---- host functions as imports (module "glint") ----------------------------------------- */

#define HOST_IMPORTS GLINT_BUILD_DIR "/wasm/host_imports.wasm"

static char noted[256];

static glint_status h_add(glint_hostcall *hc, const glint_value *a, size_t n, glint_value *r, void *u)
{
    (void)hc, (void)n, (void)u;
    r->v.i32 = a[0].v.i32 + a[1].v.i32 + 1000; /* + 1000: the host's answer, not the guest's */
    return GLINT_OK;
}

static glint_status h_mul(glint_hostcall *hc, const glint_value *a, size_t n, glint_value *r, void *u)
{
    (void)hc, (void)n, (void)u;
    r->v.i64 = a[0].v.i64 * a[1].v.i64;
    return GLINT_OK;
}

static glint_status h_half(glint_hostcall *hc, const glint_value *a, size_t n, glint_value *r, void *u)
{
    (void)hc, (void)n, (void)u;
    r->v.f64 = a[0].v.f64 / 2;
    return GLINT_OK;
}

static glint_status h_note(glint_hostcall *hc, const glint_value *a, size_t n, glint_value *r, void *u)
{
    (void)hc, (void)n, (void)r, (void)u;
    snprintf(noted, sizeof noted, "%.*s", (int)a[0].v.str.len, a[0].v.str.ptr);
    return GLINT_OK;
}

static glint_sandbox *imports_sandbox(int which_wrong, glint_status *init)
{
    glint_sandbox *sb = th_create(HOST_IMPORTS, NULL);
    glint_function add = {.name = "add_host", .ret = GLINT_I32, .nparams = 2, .params = {GLINT_I32, GLINT_I32}};
    glint_function mul = {.name = "mul64", .ret = GLINT_I64, .nparams = 2, .params = {GLINT_I64, GLINT_I64}};
    glint_function half = {.name = "half", .ret = GLINT_F64, .nparams = 1, .params = {GLINT_F64}};
    glint_function note = {.name = "note", .ret = GLINT_VOID, .nparams = 1, .params = {GLINT_STRING}};
    if (which_wrong == 1)
        add.params[1] = GLINT_I64; /* the import is (i32, i32) */
    if (which_wrong != 2) /* 2: not registered at all */
        EXPECT_OK(sb, glint_sandbox_register(sb, &add, h_add, NULL));
    EXPECT_OK(sb, glint_sandbox_register(sb, &mul, h_mul, NULL));
    EXPECT_OK(sb, glint_sandbox_register(sb, &half, h_half, NULL));
    EXPECT_OK(sb, glint_sandbox_register(sb, &note, h_note, NULL));
    *init = glint_sandbox_init(sb);
    return sb;
}

Test(wasm_imports, host_functions_bound_and_checked, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_status st;
    glint_sandbox *sb = imports_sandbox(0, &st);
    EXPECT_OK(sb, st);
    glint_value r, two[2] = {glint_i32(2), glint_i32(3)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "sum", two, 2, &r));
    cr_assert_eq(r.v.i32, 1005);
    glint_value big[2] = {glint_i64(INT64_C(3000000000)), glint_i64(7)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "prod", big, 2, &r));
    cr_assert_eq(r.v.i64, INT64_C(21000000000));
    EXPECT_OK(sb, call1(sb, "halve", glint_f64(5.0), &r));
    cr_assert_eq(r.v.f64, 2.5);
    EXPECT_OK(sb, glint_sandbox_call(sb, "hello", NULL, 0, NULL));
    cr_assert_str_eq(noted, "hello from wasm");
    /* A string outside the module's memory: the call fails, naming it; the
     * sandbox is restored or discarded as after any trap. */
    glint_status s = glint_sandbox_call(sb, "bad_string", NULL, 0, NULL);
    cr_assert_neq(s, GLINT_OK);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "outside the module's memory"), "%s",
              glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);

    /* Mistyped and missing: initialization refuses the module, naming the import. */
    sb = imports_sandbox(1, &st);
    cr_assert_neq(st, GLINT_OK);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "\"glint\".\"add_host\" as (i32, i32) -> i32") &&
                  th_has(glint_sandbox_error(sb)->message, "needs (i32, i64) -> i32"),
              "%s", glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
    sb = imports_sandbox(2, &st);
    cr_assert_neq(st, GLINT_OK);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "registered no function of that name") &&
                  th_has(glint_sandbox_error(sb)->message, "add_host"),
              "%s", glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
}

/* ---- the other languages' examples (examples/wasm, docs/wasm.md) ----------------------- */

#define CPP_EXAMPLE  GLINT_BUILD_DIR "/examples/wasm/cpp/hello.wasm"
#define RUST_EXAMPLE GLINT_BUILD_DIR "/examples/wasm/rust/hello.wasm"
#define AS_EXAMPLE   GLINT_BUILD_DIR "/examples/wasm/assemblyscript/hello.wasm"

/* A sandbox for an example module with a 4 MiB heap (C++'s and Rust's
 * standard libraries need more than the default), or a visible skip. */
static glint_sandbox *example(const char *path, const char *why_missing)
{
    char skip[512] = "";
    char skipfile[600];
    snprintf(skipfile, sizeof skipfile, "%s.skip", path);
    FILE *f = fopen(skipfile, "r");
    if (f) {
        if (!fgets(skip, sizeof skip, f))
            skip[0] = 0;
        fclose(f);
        skip[strcspn(skip, "\n")] = 0;
        cr_skip_test("%s not built: %s", path, skip);
    }
    if (access(path, R_OK) != 0)
        cr_skip_test("%s not built: %s", path, why_missing);
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 4u << 20;
    glint_sandbox *sb = th_create(path, &cfg);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

Test(wasm_lang, cpp_with_libcxx, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = example(CPP_EXAMPLE, "clang++, wasi-libc or libc++-14-dev-wasm32 missing");
    glint_value r;
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("C++"), &r));
    th_expect_str(&r, "Hello, C++!", 11);
    EXPECT_OK(sb, call1(sb, "sort_words", glint_cstr("pear fig apple banana"), &r));
    th_expect_str(&r, "apple banana fig pear", 21);
    glint_value two[2] = {glint_i32(3), glint_i32(4)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "count", two, 2, &r));
    cr_assert_eq(r.v.i32, 7);
    glint_sandbox_destroy(sb);
}

Test(wasm_lang, rust_with_std, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = example(RUST_EXAMPLE, "Debian's rustc or libstd-rust-dev-wasm32 missing");
    glint_value r;
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("Rust"), &r));
    th_expect_str(&r, "Hello, Rust!", 12);
    EXPECT_OK(sb, call1(sb, "rev_words", glint_cstr("one two three"), &r));
    th_expect_str(&r, "three two one", 13);
    EXPECT_OK(sb, call1(sb, "fib", glint_i32(50), &r));
    cr_assert_eq(r.type, GLINT_I64);
    cr_assert_eq(r.v.i64, INT64_C(12586269025));
    glint_sandbox_destroy(sb);
}

Test(wasm_lang, assemblyscript, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = example(AS_EXAMPLE, "see scripts/wasm-as-example.sh");
    glint_value r;
    EXPECT_OK(sb, call1(sb, "greet", glint_cstr("AssemblyScript"), &r));
    th_expect_str(&r, "Hello, AssemblyScript!", 22);
    EXPECT_OK(sb, call1(sb, "shout", glint_cstr("h\xc3\xa9"), &r)); /* "hé": UTF-8 both ways */
    th_expect_str(&r, "H\xc3\x89!", 4);
    cr_assert_eq(add(sb, 2, 3), 5);
    glint_sandbox_destroy(sb);
}

/* ---- CLI ------------------------------------------------------------------------------ */

/* Runs a shell command line; its stdout and stderr in out; the exit code. */
static int sh(char *out, size_t size, const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "popen %s", cmd);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(wasm_cli, info_call_and_snapshot, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char out[8192];
    cr_assert_eq(sh(out, sizeof out, GLINT_CLI " info " NUMBERS " 2>&1"), 0, "%s", out);
    cr_assert(th_has(out, "add(int32, int32) -> int32\n"), "%s", out);
    cr_assert(th_has(out, "# pair (i32) -> (i32, i32): not callable: multi-value"), "%s", out);
    cr_assert_eq(sh(out, sizeof out, GLINT_CLI " call " NUMBERS " add 1 2 2>&1"), 0, "%s", out);
    cr_assert_str_eq(out, "3\n");
    cr_assert_eq(sh(out, sizeof out, GLINT_CLI " call " STRINGS " greet wasm 2>&1"), 0, "%s", out);
    cr_assert_str_eq(out, "Hello, wasm!\n");
    cr_assert_eq(sh(out, sizeof out, GLINT_CLI " call " STRINGS " reverse 010203 2>&1"), 0, "%s", out);
    cr_assert_str_eq(out, "030201\n");
    cr_assert_eq(sh(out, sizeof out, GLINT_CLI " call " NUMBERS " div 1 0 2>&1"), 4, "%s", out);
    cr_assert(th_has(out, "trap: integer divide by zero in function 10 \"div\""), "%s", out);

    char path[] = "/tmp/glint-wasm-cli-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(sh(out, sizeof out, GLINT_CLI " snapshot " NUMBERS " -o %s 2>&1", path), 0, "%s", out);
    cr_assert_eq(sh(out, sizeof out, GLINT_CLI " call %s count 2>&1", path), 0, "%s", out);
    cr_assert_str_eq(out, "1\n");
    cr_assert_eq(sh(out, sizeof out, GLINT_CLI " info %s 2>&1", path), 0, "%s", out);
    cr_assert(th_has(out, "add64(int64, int64) -> int64"), "%s", out);
    unlink(path);

    /* A malformed module: exit 3 and the engine's message. */
    cr_assert_eq(sh(out, sizeof out, "printf '\\000asm\\001\\000\\000\\000\\001\\005' > %s && " GLINT_CLI
                    " info %s 2>&1", path, path), 3, "%s", out);
    cr_assert(th_has(out, "malformed WebAssembly module"), "%s", out);
    unlink(path);
}
