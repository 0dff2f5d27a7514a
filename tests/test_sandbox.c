/*
 * test_sandbox.c - the sandbox life cycle, function listing, argument
 * checking, configuration, host function registration, print, guest
 * errors, and threads.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#include <criterion/redirect.h> /* after criterion.h */

/* ---- hello, end to end -------------------------------------------------- */

static glint_status weekday_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                               glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs;
    *ret = glint_cstr((const char *)user);
    return GLINT_OK;
}

static const glint_function weekday_sig = {.name = "GetWeekday", .ret = GLINT_STRING};

Test(sandbox, hello_end_to_end, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_create(HELLO_GUEST, NULL);
    EXPECT_OK(sb, glint_sandbox_register(sb, &weekday_sig, weekday_cb, "Caturday"));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_value name = glint_cstr("World"), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "SayHello", &name, 1, &r));
    const char *want = "Hello, World! Today is Caturday.";
    th_expect_str(&r, want, strlen(want));

    name = glint_cstr("Zoë 🦊");
    EXPECT_OK(sb, glint_sandbox_call(sb, "SayHello", &name, 1, &r));
    want = "Hello, Zoë 🦊! Today is Caturday.";
    th_expect_str(&r, want, strlen(want));
    cr_assert_eq(glint_sandbox_error(sb)->status, GLINT_OK);
    cr_assert_gt(glint_sandbox_exit_count(sb), 0);
    glint_sandbox_destroy(sb);
}

/* Without GetWeekday the guest's host call is refused; it fails the call
 * cleanly with the refusal, and the sandbox stays usable. */
Test(sandbox, hello_without_host_function, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(HELLO_GUEST, NULL);
    glint_value name = glint_cstr("World");
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "SayHello", &name, 1, NULL), GLINT_E_GUEST_ERROR);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "GetWeekday"), "message: %s",
              glint_sandbox_error(sb)->message);
    cr_assert(!glint_sandbox_poisoned(sb));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "SayHello", &name, 1, NULL), GLINT_E_GUEST_ERROR);
    glint_sandbox_destroy(sb);
}

/* ---- listing ------------------------------------------------------------ */

Test(sandbox, list_functions_of_image)
{
    /* Opening an image needs no KVM. */
    glint_image *img = NULL;
    glint_error err;
    glint_status s = glint_image_open_file(HELLO_GUEST, &img, &err);
    cr_assert_eq(s, GLINT_OK, "%s: %s", glint_status_name(s), err.message);
    cr_assert_eq(glint_image_function_count(img), 1);
    const glint_function *fn = glint_image_function(img, 0);
    cr_assert_str_eq(fn->name, "SayHello");
    cr_assert_eq(fn->ret, GLINT_STRING);
    cr_assert_eq(fn->nparams, 1);
    cr_assert_eq(fn->params[0], GLINT_STRING);
    char buf[256];
    size_t n = glint_function_format(fn, buf, sizeof buf);
    cr_assert_str_eq(buf, "SayHello(string) -> string");
    cr_assert_eq(n, strlen(buf));
    cr_assert_eq(glint_image_find(img, "SayHello"), 0);
    cr_assert_eq(glint_image_find(img, "sayhello"), -1);
    cr_assert_eq(glint_image_find(img, "Nope"), -1);
    glint_image_close(img);

    s = glint_image_open_file(TYPES_GUEST, &img, &err);
    cr_assert_eq(s, GLINT_OK, "%s: %s", glint_status_name(s), err.message);
    long i = glint_image_find(img, "Sum16");
    cr_assert_geq(i, 0);
    fn = glint_image_function(img, (size_t)i);
    cr_assert_eq(fn->nparams, 16);
    cr_assert_eq(fn->ret, GLINT_F64);
    glint_function_format(fn, buf, sizeof buf);
    cr_assert_str_eq(buf, "Sum16(bool, int32, uint32, int64, uint64, float, double, string, "
                          "bytes, bool, int32, uint32, int64, uint64, float, double) -> double");
    i = glint_image_find(img, "Void");
    cr_assert_geq(i, 0);
    glint_function_format(glint_image_function(img, (size_t)i), buf, sizeof buf);
    cr_assert_str_eq(buf, "Void() -> void");
    /* Truncation behaves like snprintf. */
    char small[8];
    n = glint_function_format(glint_image_function(img, (size_t)i), small, sizeof small);
    cr_assert_eq(n, strlen("Void() -> void"));
    cr_assert_str_eq(small, "Void() ");
    glint_image_close(img);
    glint_image_close(NULL);
}

Test(sandbox, list_functions_of_sandbox, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_image *img = NULL;
    glint_error err;
    cr_assert_eq(glint_image_open_file(TEST_GUEST("basic"), &img, &err), GLINT_OK, "%s",
                 err.message);
    glint_sandbox *sb = NULL;
    cr_assert_eq(glint_sandbox_create(img, NULL, &sb, &err), GLINT_OK, "%s", err.message);
    size_t count = glint_image_function_count(img);
    cr_assert_eq(glint_sandbox_function_count(sb), count);
    cr_assert_geq(count, 8);
    for (size_t i = 0; i < count; i++)
        cr_assert_str_eq(glint_sandbox_function(sb, i)->name, glint_image_function(img, i)->name);
    /* The sandbox outlives its image. */
    glint_image_close(img);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    long add = -1;
    for (size_t i = 0; i < count; i++)
        if (!strcmp(glint_sandbox_function(sb, i)->name, "Add"))
            add = (long)i;
    cr_assert_geq(add, 0);
    glint_value args[2] = {glint_i32(-7), glint_i32(3)}, r;
    EXPECT_OK(sb, glint_sandbox_call_index(sb, (size_t)add, args, 2, &r));
    cr_assert_eq(r.v.i32, -4);
    glint_status s = glint_sandbox_call_index(sb, count + 5, args, 2, &r);
    cr_assert(s == GLINT_E_NO_FUNCTION || s == GLINT_E_INVALID, "bad index: %s",
              glint_status_name(s));
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);
}

/* ---- argument checking ------------------------------------------------- */

Test(sandbox, unknown_function, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TEST_GUEST("basic"), NULL);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "NoSuchFunction", NULL, 0, NULL), GLINT_E_NO_FUNCTION);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "NoSuchFunction"), "message: %s",
              glint_sandbox_error(sb)->message);
    cr_assert_eq(glint_sandbox_error(sb)->status, GLINT_E_NO_FUNCTION);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "", NULL, 0, NULL), GLINT_E_NO_FUNCTION);
    cr_assert(!glint_sandbox_poisoned(sb));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    glint_sandbox_destroy(sb);
}

Test(sandbox, wrong_argument_count_and_types, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TEST_GUEST("basic"), NULL);
    const glint_error *e = glint_sandbox_error(sb);
    glint_value args[3] = {glint_i32(1), glint_i32(2), glint_i32(3)};

    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Add", args, 1, NULL), GLINT_E_SIGNATURE);
    cr_assert(th_has(e->message, "Add"), "message: %s", e->message);
    cr_assert(HAS_ANY(e->message, "2 arguments", "two"), "message: %s", e->message);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Add", args, 3, NULL), GLINT_E_SIGNATURE);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Add", NULL, 0, NULL), GLINT_E_SIGNATURE);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Nop", args, 1, NULL), GLINT_E_SIGNATURE);
    cr_assert(th_has(e->message, "Nop"), "message: %s", e->message);

    glint_value mixed[2] = {glint_i32(1), glint_u32(2)};
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Add", mixed, 2, NULL), GLINT_E_SIGNATURE);
    cr_assert(th_has(e->message, "Add"), "message: %s", e->message);
    cr_assert(th_has(e->message, "uint32") && th_has(e->message, "int32"),
              "message does not name the mismatch: %s", e->message);

    glint_value s = glint_cstr("x");
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Add", (glint_value[]){s, s}, 2, NULL),
                  GLINT_E_SIGNATURE);
    cr_assert(th_has(e->message, "string"), "message: %s", e->message);
    glint_value b = glint_bytes("x", 1);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Echo", &b, 1, NULL), GLINT_E_SIGNATURE);
    cr_assert(th_has(e->message, "Echo") && th_has(e->message, "bytes"), "message: %s",
              e->message);
    glint_value bad = {.type = (glint_type)99};
    glint_status st = glint_sandbox_call(sb, "Echo", &bad, 1, NULL);
    cr_assert(st == GLINT_E_SIGNATURE || st == GLINT_E_INVALID, "type tag 99: %s",
              glint_status_name(st));

    cr_assert(!glint_sandbox_poisoned(sb), "argument errors poisoned the sandbox");
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_assert_eq(r.v.i32, 3);
    glint_sandbox_destroy(sb);
}

/* ---- life-cycle order -------------------------------------------------- */

static glint_status noop_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                            glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret, (void)user;
    return GLINT_OK;
}

Test(sandbox, call_order, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), NULL);
    cr_assert_eq(glint_sandbox_error(sb)->status, GLINT_OK);
    cr_assert(!glint_sandbox_poisoned(sb));
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL), GLINT_E_STATE);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    EXPECT_STATUS(sb, glint_sandbox_init(sb), GLINT_E_STATE);
    glint_function fn = {.name = "Late", .ret = GLINT_VOID};
    EXPECT_STATUS(sb, glint_sandbox_register(sb, &fn, noop_cb, NULL), GLINT_E_STATE);
    cr_assert(!glint_sandbox_poisoned(sb), "misuse poisoned the sandbox");
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    glint_sandbox_destroy(sb);
    glint_sandbox_destroy(NULL);
}

Test(sandbox, missing_guest_file)
{
    glint_sandbox *sb = (glint_sandbox *)1;
    glint_error err;
    glint_status s = glint_sandbox_create_file("/nonexistent/guest.elf", NULL, &sb, &err);
    cr_assert_eq(s, GLINT_E_IO, "%s: %s", glint_status_name(s), err.message);
    cr_assert_null(sb);
    cr_assert(th_has(err.message, "/nonexistent/guest.elf"), "message: %s", err.message);
}

/* ---- configuration ----------------------------------------------------- */

Test(sandbox, config_defaults)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cr_assert_eq(cfg.heap_size, 512u << 10);
    cr_assert_eq(cfg.stack_size, 64u << 10);
    cr_assert_eq(cfg.input_size, 64u << 10);
    cr_assert_eq(cfg.output_size, 64u << 10);
    cr_assert_eq(cfg.timeout_ms, 1000);
    cr_assert_eq(glint_config_validate(&cfg, 0, NULL), GLINT_OK);
    cr_assert_eq(glint_config_validate(&cfg, 1 << 20, NULL), GLINT_OK);
}

static void expect_bad_config(const glint_config *cfg, size_t image_span, const char *what)
{
    glint_error err;
    memset(&err, 0, sizeof err);
    glint_status s = glint_config_validate(cfg, image_span, &err);
    cr_assert_eq(s, GLINT_E_INVALID, "%s: %s", what, glint_status_name(s));
    cr_assert_eq(err.status, GLINT_E_INVALID);
    cr_assert(err.message[0], "%s: no message", what);
    cr_log_info("config %s: %s", what, err.message);
}

#define BAD_CONFIG(field, value, span)                  \
    do {                                                \
        glint_config c_;                                \
        glint_config_default(&c_);                      \
        c_.field = (value);                             \
        expect_bad_config(&c_, (span), #field " = " #value); \
    } while (0)

Test(sandbox, config_validation)
{
    BAD_CONFIG(heap_size, 0, 0);
    BAD_CONFIG(heap_size, (size_t)1 << 30, 0);
    BAD_CONFIG(heap_size, SIZE_MAX, 0);
    BAD_CONFIG(heap_size, SIZE_MAX - 100, 0); /* rounding up to 4 KiB overflows */
    BAD_CONFIG(stack_size, 0, 0);
    BAD_CONFIG(stack_size, 4096, 0);
    BAD_CONFIG(stack_size, (size_t)128 << 20, 0);
    BAD_CONFIG(stack_size, SIZE_MAX, 0);
    BAD_CONFIG(input_size, 0, 0);
    BAD_CONFIG(input_size, (size_t)512 << 20, 0);
    BAD_CONFIG(input_size, SIZE_MAX - 1, 0);
    BAD_CONFIG(output_size, 0, 0);
    BAD_CONFIG(output_size, (size_t)512 << 20, 0);
    BAD_CONFIG(output_size, SIZE_MAX, 0);
    BAD_CONFIG(heap_size, 512u << 10, SIZE_MAX); /* image span overflows the total */
    BAD_CONFIG(heap_size, 512u << 10, (size_t)1 << 30);

    /* Each value in range, the total above GLINT_MEMORY_MAX. */
    glint_config c;
    glint_config_default(&c);
    c.heap_size = (size_t)512 << 20;
    c.stack_size = (size_t)64 << 20;
    c.input_size = (size_t)256 << 20;
    c.output_size = (size_t)256 << 20;
    expect_bad_config(&c, 0, "total above 1 GiB");

    /* Edges that are valid. */
    glint_config_default(&c);
    c.heap_size = 4096;
    c.stack_size = 16 << 10;
    c.input_size = 4096;
    c.output_size = 4096;
    c.timeout_ms = 0;
    glint_error err;
    cr_assert_eq(glint_config_validate(&c, 0, &err), GLINT_OK, "%s", err.message);
    c.timeout_ms = UINT32_MAX;
    cr_assert_eq(glint_config_validate(&c, 0, &err), GLINT_OK, "%s", err.message);
}

Test(sandbox, create_with_bad_config_fails_cleanly)
{
    glint_config c;
    glint_config_default(&c);
    c.heap_size = 0;
    glint_sandbox *sb = (glint_sandbox *)1;
    glint_error err;
    glint_status s = glint_sandbox_create_file(TEST_GUEST("basic"), &c, &sb, &err);
    cr_assert_eq(s, GLINT_E_INVALID, "%s: %s", glint_status_name(s), err.message);
    cr_assert_null(sb);
    cr_assert(err.message[0]);
}

Test(sandbox, small_config_works, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config c;
    glint_config_default(&c);
    c.heap_size = 4096;
    c.stack_size = 16 << 10;
    c.input_size = 4096;
    c.output_size = 4096;
    glint_sandbox *sb = th_start(TEST_GUEST("basic"), &c);
    glint_value args[2] = {glint_i32(2), glint_i32(3)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_assert_eq(r.v.i32, 5);
    glint_sandbox_destroy(sb);
}

/* ---- host function registration --------------------------------------- */

static void expect_bad_register(glint_sandbox *sb, const glint_function *fn, glint_host_fn cb,
                                const char *what)
{
    glint_status s = glint_sandbox_register(sb, fn, cb, NULL);
    cr_assert_eq(s, GLINT_E_INVALID, "%s: %s", what, glint_status_name(s));
    cr_assert(glint_sandbox_error(sb)->message[0], "%s: no message", what);
}

Test(sandbox, register_validation, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), NULL);
    static const char *const bad_names[] = {
        "", "1abc", "a b", "x-y", "é", "a.b",
        "a234567890123456789012345678901234567890123456789012345678901234", /* 64 bytes */
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        glint_function fn = {.name = bad_names[i], .ret = GLINT_VOID};
        expect_bad_register(sb, &fn, noop_cb, bad_names[i]);
    }
    glint_function fn = {.name = NULL, .ret = GLINT_VOID};
    expect_bad_register(sb, &fn, noop_cb, "NULL name");
    fn = (glint_function){.name = "Ok", .ret = GLINT_VOID};
    expect_bad_register(sb, &fn, NULL, "NULL callback");
    expect_bad_register(sb, NULL, noop_cb, "NULL function");
    fn = (glint_function){.name = "Ok", .ret = GLINT_VOID, .nparams = 17};
    expect_bad_register(sb, &fn, noop_cb, "17 parameters");
    fn = (glint_function){.name = "Ok", .ret = GLINT_VOID, .nparams = 1, .params = {GLINT_VOID}};
    expect_bad_register(sb, &fn, noop_cb, "void parameter");
    fn = (glint_function){.name = "Ok", .ret = GLINT_VOID, .nparams = 1,
                          .params = {(glint_type)42}};
    expect_bad_register(sb, &fn, noop_cb, "parameter type 42");
    fn = (glint_function){.name = "Ok", .ret = (glint_type)10};
    expect_bad_register(sb, &fn, noop_cb, "return type 10");

    /* Valid edges. */
    fn = (glint_function){.name = "_a1", .ret = GLINT_BYTES, .nparams = 16};
    for (int i = 0; i < 16; i++)
        fn.params[i] = (glint_type)(1 + i % 9);
    EXPECT_OK(sb, glint_sandbox_register(sb, &fn, noop_cb, NULL));
    fn = (glint_function){.name = "a23456789012345678901234567890123456789012345678901234567890123",
                          .ret = GLINT_VOID};
    EXPECT_OK(sb, glint_sandbox_register(sb, &fn, noop_cb, NULL));
    EXPECT_OK(sb, glint_sandbox_register(sb, &fn, noop_cb, NULL)); /* replace */
    EXPECT_OK(sb, glint_sandbox_init(sb));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    glint_sandbox_destroy(sb);
}

/* ---- print ------------------------------------------------------------- */

struct capture {
    char text[4096];
    size_t len;
    int calls;
};

static glint_status capture_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                               glint_value *ret, void *user)
{
    (void)ret;
    struct capture *c = user;
    if (nargs != 1 || args[0].type != GLINT_STRING)
        return glint_hostcall_fail(hc, "print: wrong arguments"); /* the test then fails */
    size_t n = args[0].v.str.len;
    if (n > sizeof c->text - 1 - c->len)
        n = sizeof c->text - 1 - c->len;
    memcpy(c->text + c->len, args[0].v.str.ptr, n);
    c->len += n;
    c->text[c->len] = '\0';
    c->calls++;
    return GLINT_OK;
}

static const glint_function print_sig = {.name = "print", .ret = GLINT_VOID, .nparams = 1,
                                         .params = {GLINT_STRING}};

Test(sandbox, replace_print, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct capture cap = {0};
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), NULL);
    EXPECT_OK(sb, glint_sandbox_register(sb, &print_sig, capture_cb, &cap));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_value args[2] = {glint_cstr("abc"), glint_i32(42)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "Printf", args, 2, NULL));
    cr_assert_str_eq(cap.text, "print:abc:42\n");
    cr_assert_geq(cap.calls, 1);
    args[0] = glint_cstr("üñí");
    args[1] = glint_i32(-7);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Printf", args, 2, NULL));
    cr_assert_str_eq(cap.text, "print:abc:42\nprint:üñí:-7\n");
    glint_sandbox_destroy(sb);
}

Test(sandbox, default_print_writes_stdout, .init = cr_redirect_stdout, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TEST_GUEST("basic"), NULL);
    glint_value args[2] = {glint_cstr("to stdout"), glint_i32(5)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "Printf", args, 2, NULL));
    glint_sandbox_destroy(sb);
    fflush(stdout);
    cr_assert_stdout_eq_str("print:to stdout:5\n");
}

/* ---- guest errors ------------------------------------------------------ */

Test(sandbox, guest_error_keeps_sandbox_usable, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TEST_GUEST("guest_error"), NULL);
    glint_value x = glint_i32(7), r;
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Half", &x, 1, &r), GLINT_E_GUEST_ERROR);
    const glint_error *e = glint_sandbox_error(sb);
    cr_assert(th_has(e->message, "odd number 7"), "message: %s", e->message);
    cr_assert(th_has(e->message, "Half"), "message does not name the function: %s", e->message);
    cr_assert(!glint_sandbox_poisoned(sb));
    x = glint_i32(8);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Half", &x, 1, &r));
    cr_assert_eq(r.v.i32, 4);

    EXPECT_STATUS(sb, glint_sandbox_call(sb, "LongError", NULL, 0, &r), GLINT_E_GUEST_ERROR);
    cr_assert(th_has(e->message, "zzzzzzzz"), "message: %s", e->message);
    cr_assert(strlen(e->message) < sizeof e->message);
    cr_assert(!glint_sandbox_poisoned(sb));
    x = glint_i32(-2);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Half", &x, 1, &r));
    cr_assert_eq(r.v.i32, -1);
    glint_sandbox_destroy(sb);
}

/* ---- many calls, many sandboxes, threads ------------------------------ */

Test(sandbox, thousand_sequential_calls, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TEST_GUEST("basic"), NULL);
    glint_value r;
    for (uint64_t i = 1; i <= 1000; i++) {
        EXPECT_OK(sb, glint_sandbox_call(sb, "Counter", NULL, 0, &r));
        cr_assert_eq(r.v.u64, i, "call %llu returned %llu", (unsigned long long)i,
                     (unsigned long long)r.v.u64);
    }
    glint_value n = glint_u32(200);
    EXPECT_OK(sb, glint_sandbox_call(sb, "HeapWorks", &n, 1, &r));
    cr_assert_gt(r.v.u64, 0);
    glint_sandbox_destroy(sb);
}

Test(sandbox, create_destroy_leaks_no_fds, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox_destroy(th_start(TEST_GUEST("basic"), NULL)); /* warm up lazy state */
    int before = th_count_fds();
    for (int i = 0; i < 200; i++) {
        glint_sandbox *sb = th_start(TEST_GUEST("basic"), NULL);
        if (i % 2 == 0)
            EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
        glint_sandbox_destroy(sb);
    }
    /* A sandbox that never ran init, and one created but failing init. */
    glint_sandbox_destroy(th_create(TEST_GUEST("basic"), NULL));
    glint_sandbox *sb = th_create(TEST_GUEST("init_fault"), NULL);
    cr_assert_neq(glint_sandbox_init(sb), GLINT_OK);
    glint_sandbox_destroy(sb);
    int after = th_count_fds();
    cr_assert_eq(after, before, "%d fds before, %d after 200 sandboxes", before, after);
}

#define MT_THREADS   8
#define MT_SANDBOXES 4
#define MT_CALLS     200

struct mt_worker {
    glint_image *img;
    int id;
    atomic_int *failures;
    char first_failure[1024];
};

static void *mt_run(void *p)
{
    struct mt_worker *w = p;
    glint_sandbox *sb[MT_SANDBOXES] = {0};
    glint_error err;
    for (int i = 0; i < MT_SANDBOXES; i++) {
        glint_status s = glint_sandbox_create(w->img, NULL, &sb[i], &err);
        if (s == GLINT_OK && (s = glint_sandbox_init(sb[i])) != GLINT_OK)
            err = *glint_sandbox_error(sb[i]);
        if (s != GLINT_OK) {
            snprintf(w->first_failure, sizeof w->first_failure, "create/init: %s", err.message);
            atomic_fetch_add(w->failures, 1);
            goto out;
        }
    }
    for (int c = 0; c < MT_CALLS; c++)
        for (int i = 0; i < MT_SANDBOXES; i++) {
            glint_value args[2] = {glint_i32(w->id * 1000 + i), glint_i32(c)}, r;
            glint_status s = glint_sandbox_call(sb[i], "Add", args, 2, &r);
            if (s != GLINT_OK || r.v.i32 != w->id * 1000 + i + c) {
                if (!w->first_failure[0])
                    snprintf(w->first_failure, sizeof w->first_failure, "call %d: %s: %s", c,
                             glint_status_name(s), glint_sandbox_error(sb[i])->message);
                atomic_fetch_add(w->failures, 1);
            }
        }
out:
    for (int i = 0; i < MT_SANDBOXES; i++)
        glint_sandbox_destroy(sb[i]);
    return NULL;
}

Test(sandbox, many_sandboxes_on_many_threads, .timeout = 120)
{
    SKIP_IF_NO_KVM();
    glint_image *img = NULL;
    glint_error err;
    cr_assert_eq(glint_image_open_file(TEST_GUEST("basic"), &img, &err), GLINT_OK, "%s",
                 err.message);
    atomic_int failures = 0;
    struct mt_worker w[MT_THREADS];
    pthread_t t[MT_THREADS];
    for (int i = 0; i < MT_THREADS; i++) {
        w[i] = (struct mt_worker){.img = img, .id = i, .failures = &failures};
        cr_assert_eq(pthread_create(&t[i], NULL, mt_run, &w[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++)
        pthread_join(t[i], NULL);
    glint_image_close(img);
    for (int i = 0; i < MT_THREADS; i++)
        cr_assert_eq(w[i].first_failure[0], '\0', "thread %d: %s", i, w[i].first_failure);
    cr_assert_eq(atomic_load(&failures), 0);
}

struct step {
    glint_sandbox *sb;
    int what; /* 0 init, 1 call Counter */
    glint_status status;
    uint64_t value;
};

static void *step_run(void *p)
{
    struct step *s = p;
    glint_value r = {0};
    s->status = s->what == 0 ? glint_sandbox_init(s->sb)
                             : glint_sandbox_call(s->sb, "Counter", NULL, 0, &r);
    s->value = r.v.u64;
    return NULL;
}

Test(sandbox, one_sandbox_used_from_several_threads, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), NULL);
    for (int i = 0; i < 6; i++) {
        struct step s = {.sb = sb, .what = i == 0 ? 0 : 1};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, step_run, &s), 0);
        pthread_join(t, NULL);
        cr_assert_eq(s.status, GLINT_OK, "step %d on a new thread: %s: %s", i,
                     glint_status_name(s.status), glint_sandbox_error(sb)->message);
        if (i > 0)
            cr_assert_eq(s.value, (uint64_t)i);
    }
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Counter", NULL, 0, &r));
    cr_assert_eq(r.v.u64, 6);
    glint_sandbox_destroy(sb);
}

/* Block() -> void: signals that it runs, then waits until released. */
struct blocker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int entered, released;
};

static glint_status block_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                             glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret;
    struct blocker *b = user;
    pthread_mutex_lock(&b->lock);
    b->entered = 1;
    pthread_cond_broadcast(&b->cond);
    while (!b->released)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
    return GLINT_OK;
}

struct busy_call {
    glint_sandbox *sb;
    glint_status status;
    int32_t value;
};

static void *busy_call_run(void *p)
{
    struct busy_call *c = p;
    glint_value r = {0};
    c->status = glint_sandbox_call(c->sb, "CallBlock", NULL, 0, &r);
    c->value = r.v.i32;
    return NULL;
}

Test(sandbox, concurrent_call_is_busy, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct blocker b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), NULL);
    glint_function block = {.name = "Block", .ret = GLINT_VOID};
    EXPECT_OK(sb, glint_sandbox_register(sb, &block, block_cb, &b));
    EXPECT_OK(sb, glint_sandbox_init(sb));

    struct busy_call c = {.sb = sb};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, busy_call_run, &c), 0);
    pthread_mutex_lock(&b.lock);
    while (!b.entered)
        pthread_cond_wait(&b.cond, &b.lock);
    pthread_mutex_unlock(&b.lock);

    /* The other thread is inside a call: this one is refused, twice. */
    glint_value args[2] = {glint_i32(1), glint_i32(2)};
    glint_status s1 = glint_sandbox_call(sb, "Add", args, 2, NULL);
    glint_status s2 = glint_sandbox_call(sb, "Nop", NULL, 0, NULL);

    pthread_mutex_lock(&b.lock);
    b.released = 1;
    pthread_cond_broadcast(&b.cond);
    pthread_mutex_unlock(&b.lock);
    pthread_join(t, NULL);

    cr_assert_eq(s1, GLINT_E_BUSY, "concurrent call gave %s", glint_status_name(s1));
    cr_assert_eq(s2, GLINT_E_BUSY, "concurrent call gave %s", glint_status_name(s2));
    cr_assert_eq(c.status, GLINT_OK, "the blocked call gave %s: %s", glint_status_name(c.status),
                 glint_sandbox_error(sb)->message);
    cr_assert_eq(c.value, 7);
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_assert_eq(r.v.i32, 3);
    glint_sandbox_destroy(sb);
}

/* A host function that calls back into its own sandbox is refused. */
static glint_status reenter_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                               glint_value *ret, void *user)
{
    (void)args, (void)nargs;
    glint_value a[2] = {glint_i32(1), glint_i32(1)};
    glint_status s = glint_sandbox_call(glint_hostcall_sandbox(hc), "Add", a, 2, NULL);
    *(glint_status *)user = s;
    ret->v.i32 = (int32_t)s;
    return GLINT_OK;
}

Test(sandbox, reentrant_call_is_busy, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_status inner = GLINT_OK;
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), NULL);
    glint_function re = {.name = "Reenter", .ret = GLINT_I32};
    EXPECT_OK(sb, glint_sandbox_register(sb, &re, reenter_cb, &inner));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "CallReenter", NULL, 0, &r));
    cr_assert_eq(inner, GLINT_E_BUSY, "re-entrant call gave %s", glint_status_name(inner));
    cr_assert_eq(r.v.i32, (int32_t)GLINT_E_BUSY);
    glint_sandbox_destroy(sb);
}

/* The time limit bounds each call, not the sandbox's lifetime. */
Test(sandbox, time_limit_is_per_call, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 50;
    glint_sandbox *sb = th_start(TEST_GUEST("basic"), &cfg);
    double t0 = th_now_ms();
    int calls = 0;
    while (th_now_ms() - t0 < 200) {
        EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
        calls++;
        if (calls % 50 == 0)
            th_sleep_ms(10);
    }
    cr_assert_gt(calls, 10);
    glint_sandbox_destroy(sb);
}

/* A warm empty call is one VM exit (the guest's OUT when it is done); a
 * call that makes one host call is two. */
Test(sandbox, exits_per_call, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_create(TEST_GUEST("basic"), NULL);
    glint_function re = {.name = "Reenter", .ret = GLINT_I32};
    EXPECT_OK(sb, glint_sandbox_register(sb, &re, noop_cb, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    for (int i = 0; i < 3; i++) /* warm up */
        EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    uint64_t before = glint_sandbox_exit_count(sb);
    for (int i = 0; i < 100; i++)
        EXPECT_OK(sb, glint_sandbox_call(sb, "Nop", NULL, 0, NULL));
    uint64_t nop = glint_sandbox_exit_count(sb) - before;
    cr_assert_eq(nop, 100, "100 empty calls took %llu exits", (unsigned long long)nop);
    EXPECT_OK(sb, glint_sandbox_call(sb, "CallReenter", NULL, 0, NULL));
    before = glint_sandbox_exit_count(sb);
    EXPECT_OK(sb, glint_sandbox_call(sb, "CallReenter", NULL, 0, NULL));
    uint64_t host = glint_sandbox_exit_count(sb) - before;
    cr_assert_eq(host, 2, "a call with one host call took %llu exits", (unsigned long long)host);
    glint_sandbox_destroy(sb);
}

Test(sandbox, image_from_memory, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    FILE *f = fopen(TEST_GUEST("basic"), "rb");
    cr_assert_not_null(f);
    static uint8_t data[1 << 20];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    cr_assert(n > 0 && n < sizeof data);
    glint_image *img = NULL;
    glint_error err;
    cr_assert_eq(glint_image_open_memory(data, n, &img, &err), GLINT_OK, "%s", err.message);
    memset(data, 0xff, n); /* glint copied it */
    glint_sandbox *sb = NULL;
    cr_assert_eq(glint_sandbox_create(img, NULL, &sb, &err), GLINT_OK, "%s", err.message);
    glint_sandbox *sb2 = NULL;
    cr_assert_eq(glint_sandbox_create(img, NULL, &sb2, &err), GLINT_OK, "%s", err.message);
    glint_image_close(img);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    EXPECT_OK(sb2, glint_sandbox_init(sb2));
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Counter", NULL, 0, &r));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Counter", NULL, 0, &r));
    cr_assert_eq(r.v.u64, 2);
    EXPECT_OK(sb2, glint_sandbox_call(sb2, "Counter", NULL, 0, &r));
    cr_assert_eq(r.v.u64, 1, "sandboxes of one image share state");
    glint_sandbox_destroy(sb);
    glint_sandbox_destroy(sb2);
}

Test(sandbox, null_handles)
{
    glint_function fn = {.name = "F", .ret = GLINT_VOID};
    cr_assert_eq(glint_sandbox_call(NULL, "F", NULL, 0, NULL), GLINT_E_INVALID);
    cr_assert_eq(glint_sandbox_call_index(NULL, 0, NULL, 0, NULL), GLINT_E_INVALID);
    cr_assert_eq(glint_sandbox_register(NULL, &fn, noop_cb, NULL), GLINT_E_INVALID);
    cr_assert_eq(glint_sandbox_init(NULL), GLINT_E_INVALID);
    glint_sandbox_interrupt(NULL);
    glint_sandbox_destroy(NULL);
    glint_image_close(NULL);
    glint_error err;
    glint_sandbox *sb = (glint_sandbox *)1;
    cr_assert_eq(glint_sandbox_create(NULL, NULL, &sb, &err), GLINT_E_INVALID);
    cr_assert_null(sb);
}

/* ---- misc ---------------------------------------------------------------- */

Test(sandbox, status_names)
{
    for (int s = GLINT_OK; s <= GLINT_E_POISONED; s++)
        cr_assert_str_neq(glint_status_name((glint_status)s), "GLINT_E_UNKNOWN", "status %d", s);
    cr_assert_str_eq(glint_status_name(GLINT_E_TIMEOUT), "GLINT_E_TIMEOUT");
    cr_assert_not_null(glint_status_name((glint_status)999));
    cr_assert_str_eq(glint_type_name(GLINT_I32), "int32");
    cr_assert_str_eq(glint_type_name(GLINT_STRING), "string");
    cr_assert_str_eq(glint_type_name((glint_type)77), "?");
}

Test(sandbox, probe_reports_kvm)
{
    glint_error err;
    memset(&err, 0, sizeof err);
    glint_status s = glint_probe(&err);
    cr_assert(s == GLINT_OK || s == GLINT_E_NO_KVM, "probe gave %s", glint_status_name(s));
    if (s != GLINT_OK)
        cr_assert(err.message[0], "GLINT_E_NO_KVM without a message");
}

/* Criterion lists skipped tests only with --verbose: say once, at the end,
 * why the VM tests were skipped. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    glint_error err;
    if (stats->tests_skipped && glint_probe(&err) != GLINT_OK)
        fprintf(stderr, "glint: %zu VM tests skipped, this host cannot run micro-VMs: %s\n",
                stats->tests_skipped, err.message);
}

/* A child forked after the parent ran timed calls (so the parent has a
 * watchdog thread, which the child does not inherit) gets its own: its time
 * limits fire and its calls work. */
Test(sandbox, forked_child_has_working_time_limits, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 100;
    glint_sandbox *sb = th_start(TEST_GUEST("spin"), &cfg);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Spin", NULL, 0, NULL), GLINT_E_TIMEOUT);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* No Criterion asserts here: report through the exit code. */
        glint_error err;
        glint_sandbox *c = NULL;
        if (glint_sandbox_create_file(TEST_GUEST("spin"), &cfg, &c, &err) != GLINT_OK ||
            glint_sandbox_init(c) != GLINT_OK)
            _exit(2);
        if (glint_sandbox_call(c, "Spin", NULL, 0, NULL) != GLINT_E_TIMEOUT)
            _exit(3);
        glint_sandbox_destroy(c);
        if (glint_sandbox_create_file(TEST_GUEST("spin"), &cfg, &c, &err) != GLINT_OK ||
            glint_sandbox_init(c) != GLINT_OK || glint_sandbox_call(c, "Nop", NULL, 0, NULL))
            _exit(4);
        glint_sandbox_destroy(c);
        _exit(0);
    }
    int status = 0;
    for (int i = 0; i < 300 && waitpid(pid, &status, WNOHANG) == 0; i++)
        th_sleep_ms(50);
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_fail("the forked child did not finish within 15 s");
    }
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "forked child failed (status 0x%x: 2 create, 3 no timeout, 4 second sandbox)",
              status);
    /* The parent's watchdog is unaffected. */
    glint_sandbox_destroy(sb);
    sb = th_start(TEST_GUEST("spin"), &cfg);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Spin", NULL, 0, NULL), GLINT_E_TIMEOUT);
    glint_sandbox_destroy(sb);
}
