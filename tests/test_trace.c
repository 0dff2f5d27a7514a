/*
 * test_trace.c - tracing (docs/observability.md, "Tracing"): spans and their
 * nesting (guest spans inside the call span, host calls inside guest
 * spans), attributes, per-sandbox / per-pool / process-wide tracers, the
 * guest's bounds, and the Chrome trace-event file (parsed with jansson).
 * Suite `trace`.
 */
#include <jansson.h>
#include <stdio.h>

#include "helpers.h"

#define TRACE_GUEST TEST_GUEST("trace_guest")
#define GOLDEN_SNAP GLINT_SOURCE_DIR "/tests/golden/basic.snap"

/* ---- a tracer that keeps copies of the spans ---------------------------- */

struct kept {
    glint_span_kind kind;
    char name[64], function[64], backend[16];
    glint_status status;
    uint64_t start, end, id, parent, sandbox_id, tid;
};

struct log {
    pthread_mutex_t lock;
    size_t n;
    struct kept s[4096];
};

static void keep(const glint_span *sp, void *user)
{
    struct log *l = user;
    pthread_mutex_lock(&l->lock);
    if (l->n < sizeof l->s / sizeof l->s[0]) {
        struct kept *k = &l->s[l->n++];
        memset(k, 0, sizeof *k);
        k->kind = sp->kind;
        snprintf(k->name, sizeof k->name, "%s", sp->name ? sp->name : "");
        snprintf(k->function, sizeof k->function, "%s", sp->function ? sp->function : "");
        snprintf(k->backend, sizeof k->backend, "%s", sp->backend ? sp->backend : "");
        k->status = sp->status;
        k->start = sp->start_ns, k->end = sp->end_ns, k->id = sp->id, k->parent = sp->parent;
        k->sandbox_id = sp->sandbox_id, k->tid = sp->thread_id;
    }
    pthread_mutex_unlock(&l->lock);
}

static struct log *log_new(void)
{
    struct log *l = calloc(1, sizeof *l);
    cr_assert_not_null(l);
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

static const struct kept *find(const struct log *l, glint_span_kind kind, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->s[i].kind == kind && (!name || strcmp(l->s[i].name, name) == 0))
            return &l->s[i];
    return NULL;
}

static size_t count(const struct log *l, glint_span_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->s[i].kind == kind;
    return n;
}

static void expect_child(const struct kept *child, const struct kept *parent)
{
    cr_assert_not_null(child);
    cr_assert_not_null(parent);
    cr_expect_eq(child->parent, parent->id, "%s's parent is %llu, want %s (%llu)", child->name,
                 (unsigned long long)child->parent, parent->name, (unsigned long long)parent->id);
    cr_expect(child->start >= parent->start && child->end <= parent->end,
              "%s [%llu, %llu] not inside %s [%llu, %llu]", child->name,
              (unsigned long long)child->start, (unsigned long long)child->end, parent->name,
              (unsigned long long)parent->start, (unsigned long long)parent->end);
    cr_expect_eq(child->tid, parent->tid);
}

static glint_status host_ping(glint_hostcall *hc, const glint_value *args, size_t nargs,
                              glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)user;
    *ret = glint_i32(args[0].v.i32 + 1);
    return GLINT_OK;
}

static const glint_host_function g_ping = {
    .sig = {.name = "Ping", .ret = GLINT_I32, .nparams = 1, .params = {GLINT_I32}},
    .callback = host_ping,
};

static glint_sandbox *start_guest(void)
{
    glint_sandbox *sb = th_create(TRACE_GUEST, NULL);
    EXPECT_OK(sb, glint_sandbox_register(sb, &g_ping.sig, g_ping.callback, NULL));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

/* ---- spans --------------------------------------------------------------- */

Test(trace, guest_spans_nest_in_the_call, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_guest();
    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Enabled", NULL, 0, &r));
    cr_expect_eq(r.v.b, false, "no tracer: the guest sees spans off");
    struct log *l = log_new();
    glint_sandbox_set_tracer(sb, keep, l);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Enabled", NULL, 0, &r));
    cr_expect_eq(r.v.b, true, "traced: the guest sees spans on");
    l->n = 0;
    glint_value x = glint_i32(41);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Work", &x, 1, &r));
    cr_expect_eq(r.v.i32, 42);
    cr_assert_eq(l->n, 4, "host_call, inner, outer, call: got %zu spans", l->n);
    /* Delivered as they end: children first. */
    cr_expect_eq(l->s[0].kind, GLINT_SPAN_HOST_CALL);
    cr_expect_str_eq(l->s[1].name, "inner");
    cr_expect_str_eq(l->s[2].name, "outer");
    cr_expect_eq(l->s[3].kind, GLINT_SPAN_CALL);
    const struct kept *call = &l->s[3], *outer = &l->s[2], *inner = &l->s[1], *hc = &l->s[0];
    expect_child(outer, call);
    expect_child(inner, outer);
    expect_child(hc, inner);
    cr_expect_eq(call->parent, 0);
    cr_expect_str_eq(call->name, "call");
    cr_expect_str_eq(call->function, "Work");
    cr_expect_str_eq(hc->function, "Ping");
    cr_expect_str_eq(hc->name, "host_call");
    cr_expect_str_eq(outer->function, "Work");
    cr_expect_eq(outer->kind, GLINT_SPAN_GUEST);
    const char *be = glint_backend_name(glint_sandbox_backend(sb));
    for (size_t i = 0; i < l->n; i++) {
        cr_expect_str_eq(l->s[i].backend, be);
        cr_expect_eq(l->s[i].status, GLINT_OK);
        cr_expect_neq(l->s[i].id, 0);
        cr_expect_neq(l->s[i].sandbox_id, 0);
        cr_expect_leq(l->s[i].start, l->s[i].end);
    }
    glint_sandbox_stats st;
    glint_sandbox_get_stats(sb, &st);
    cr_expect_eq(st.guest_spans, 2);

    /* A failing call: its status on the call span and the open guest span. */
    l->n = 0;
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Crash", NULL, 0, NULL), GLINT_E_ABORT);
    cr_assert_eq(l->n, 2);
    cr_expect_str_eq(l->s[0].name, "doomed");
    cr_expect_eq(l->s[0].status, GLINT_E_ABORT);
    cr_expect_eq(l->s[1].kind, GLINT_SPAN_CALL);
    cr_expect_eq(l->s[1].status, GLINT_E_ABORT);
    expect_child(&l->s[0], &l->s[1]);

    /* Turned off: nothing more. */
    glint_sandbox_set_tracer(sb, NULL, NULL);
    l->n = 0;
    glint_sandbox_destroy(sb);
    cr_expect_eq(l->n, 0);
    free(l);
}

Test(trace, guest_span_bounds, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_guest();
    struct log *l = log_new();
    glint_sandbox_set_tracer(sb, keep, l);
    /* 40 nested and never closed: 32 kept (closed with the call), 8 dropped. */
    glint_value a[2] = {glint_u32(40), glint_u32(0)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Spans", a, 2, &r));
    cr_expect_eq(count(l, GLINT_SPAN_GUEST), 32);
    const struct kept *call = find(l, GLINT_SPAN_CALL, NULL);
    cr_assert_not_null(call);
    cr_expect_str_eq(l->s[0].name, "open\"\\quoted");
    glint_sandbox_stats st;
    glint_sandbox_get_stats(sb, &st);
    cr_expect_eq(st.guest_spans, 32);
    cr_expect_eq(st.guest_spans_dropped, 8);
    /* 1100 pairs: 1024 kept per call. */
    l->n = 0;
    a[0] = glint_u32(0), a[1] = glint_u32(1100);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Spans", a, 2, &r));
    cr_expect_eq(count(l, GLINT_SPAN_GUEST), 1024);
    glint_sandbox_get_stats(sb, &st);
    cr_expect_eq(st.guest_spans, 32 + 1024);
    cr_expect_eq(st.guest_spans_dropped, 8 + 76);
    /* Every guest span's parent is the call. */
    call = find(l, GLINT_SPAN_CALL, NULL);
    cr_assert_not_null(call);
    for (size_t i = 0; i < l->n; i++)
        if (l->s[i].kind == GLINT_SPAN_GUEST)
            cr_assert_eq(l->s[i].parent, call->id);
    glint_sandbox_destroy(sb);
    free(l);
}

Test(trace, restore_and_snapshot_spans, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = start_guest();
    struct log *l = log_new();
    glint_sandbox_set_tracer(sb, keep, l);
    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    cr_expect_not_null(find(l, GLINT_SPAN_SNAPSHOT, "snapshot"));
    EXPECT_OK(sb, glint_sandbox_set_auto_restore(sb, snap));
    l->n = 0;
    glint_value x = glint_u32(2), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Dirty", &x, 1, &r));
    const struct kept *call = find(l, GLINT_SPAN_CALL, NULL), *rs = find(l, GLINT_SPAN_RESTORE, NULL);
    expect_child(rs, call);
    cr_expect_str_eq(call->function, "Dirty");
    l->n = 0;
    EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    rs = find(l, GLINT_SPAN_RESTORE, "restore");
    cr_assert_not_null(rs);
    cr_expect_eq(rs->parent, 0);
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
    free(l);
}

Test(trace, pool_spans, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *base = start_guest();
    glint_snapshot *snap;
    EXPECT_OK(base, glint_sandbox_snapshot(base, &snap));
    glint_sandbox_destroy(base);
    glint_pool_config pc;
    glint_pool_config_default(&pc);
    pc.host = &g_ping;
    pc.nhost = 1;
    glint_pool *pool;
    glint_error err;
    cr_assert_eq(glint_pool_create(snap, &pc, &pool, &err), GLINT_OK, "%s", err.message);
    struct log *l = log_new();
    glint_pool_set_tracer(pool, keep, l);
    glint_sandbox *sb;
    cr_assert_eq(glint_pool_acquire(pool, &sb, &err), GLINT_OK, "%s", err.message);
    const struct kept *acq = find(l, GLINT_SPAN_POOL_ACQUIRE, NULL);
    cr_assert_not_null(acq);
    cr_expect_str_eq(acq->function, "miss");
    expect_child(find(l, GLINT_SPAN_CREATE, "create"), acq);
    expect_child(find(l, GLINT_SPAN_INIT, "init"), acq);
    glint_value x = glint_i32(1), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Work", &x, 1, &r)); /* the pool's tracer */
    cr_expect_eq(count(l, GLINT_SPAN_GUEST), 2);
    glint_pool_release(pool, sb);
    const struct kept *rel = find(l, GLINT_SPAN_POOL_RELEASE, NULL);
    expect_child(find(l, GLINT_SPAN_RESTORE, NULL), rel);
    l->n = 0;
    cr_assert_eq(glint_pool_acquire(pool, &sb, &err), GLINT_OK, "%s", err.message);
    acq = find(l, GLINT_SPAN_POOL_ACQUIRE, NULL);
    cr_assert_not_null(acq);
    cr_expect_str_eq(acq->function, "hit");
    glint_pool_release(pool, sb);
    glint_pool_set_tracer(pool, NULL, NULL);
    l->n = 0;
    cr_assert_eq(glint_pool_acquire(pool, &sb, &err), GLINT_OK, "%s", err.message);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Work", &x, 1, &r));
    glint_pool_release(pool, sb);
    cr_expect_eq(l->n, 0, "tracer off: %zu spans", l->n);
    glint_pool_destroy(pool);
    glint_snapshot_free(snap);
    free(l);
}

Test(trace, reserved_name_and_old_snapshots, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_create(TRACE_GUEST, NULL);
    glint_function fn = {.name = "__glint_span", .ret = GLINT_VOID, .nparams = 2,
                         .params = {GLINT_U32, GLINT_STRING}};
    EXPECT_STATUS(sb, glint_sandbox_register(sb, &fn, host_ping, NULL), GLINT_E_INVALID);
    glint_sandbox_destroy(sb);
    /* A snapshot file from before spans: its host set still matches, traced. */
    struct log *l = log_new();
    glint_set_tracer(keep, l);
    glint_snapshot *snap;
    glint_error err;
    cr_assert_eq(glint_snapshot_load(GOLDEN_SNAP, &snap, &err), GLINT_OK, "%s", err.message);
    cr_assert_eq(glint_sandbox_create_from_snapshot(snap, &sb, &err), GLINT_OK, "%s", err.message);
    EXPECT_OK(sb, glint_sandbox_init(sb));
    glint_value args[2] = {glint_i32(2), glint_i32(3)}, r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Add", args, 2, &r));
    cr_expect_eq(r.v.i32, 5);
    const struct kept *call = find(l, GLINT_SPAN_CALL, NULL);
    cr_assert_not_null(call);
    cr_expect_str_eq(call->function, "Add");
    cr_expect_not_null(find(l, GLINT_SPAN_CREATE, NULL));
    glint_set_tracer(NULL, NULL);
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
    free(l);
}

/* ---- the Chrome trace-event file ---------------------------------------- */

static json_t *load_trace(const char *path)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    cr_assert_not_null(root, "%s is not valid JSON: line %d: %s", path, je.line, je.text);
    json_t *ev = json_object_get(root, "traceEvents");
    cr_assert(json_is_array(ev), "no traceEvents array");
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) {
        cr_assert_str_eq(json_string_value(json_object_get(e, "ph")), "X");
        cr_assert(json_is_string(json_object_get(e, "name")));
        cr_assert(json_is_number(json_object_get(e, "ts")));
        cr_assert(json_is_number(json_object_get(e, "dur")));
        cr_assert(json_is_integer(json_object_get(e, "pid")));
        cr_assert(json_is_integer(json_object_get(e, "tid")));
        cr_assert(json_is_object(json_object_get(e, "args")));
    }
    return root;
}

static json_t *event_named(json_t *root, const char *name)
{
    json_t *ev = json_object_get(root, "traceEvents"), *e;
    size_t i;
    json_array_foreach(ev, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
            return e;
    }
    return NULL;
}

static json_int_t arg_int(json_t *e, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(e, "args"), key));
}

static void expect_json_child(json_t *child, json_t *parent)
{
    cr_assert_not_null(child);
    cr_assert_not_null(parent);
    cr_expect_eq(arg_int(child, "parent"), arg_int(parent, "id"));
    double cs = json_number_value(json_object_get(child, "ts"));
    double ce = cs + json_number_value(json_object_get(child, "dur"));
    double ps = json_number_value(json_object_get(parent, "ts"));
    double pe = ps + json_number_value(json_object_get(parent, "dur"));
    cr_expect(cs >= ps && ce <= pe + 0.0015, "[%f, %f] not inside [%f, %f]", cs, ce, ps, pe);
    cr_expect_eq(json_integer_value(json_object_get(child, "tid")),
                 json_integer_value(json_object_get(parent, "tid")));
}

Test(trace, chrome_file, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char path[] = "/tmp/glint-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    glint_trace_file *tf;
    glint_error err;
    cr_assert_eq(glint_trace_file_open(path, 0, &tf, &err), GLINT_OK, "%s", err.message);
    glint_set_tracer(glint_trace_file_write, tf);
    glint_sandbox *sb = start_guest();
    glint_value x = glint_i32(1), r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Work", &x, 1, &r));
    glint_value a[2] = {glint_u32(1), glint_u32(0)};
    EXPECT_OK(sb, glint_sandbox_call(sb, "Spans", a, 2, &r)); /* a name with a quote and a backslash */
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Crash", NULL, 0, NULL), GLINT_E_ABORT);
    glint_sandbox_destroy(sb);
    glint_set_tracer(NULL, NULL);
    cr_assert_eq(glint_trace_file_close(tf, &err), GLINT_OK, "%s", err.message);

    json_t *root = load_trace(path);
    json_t *work = NULL, *ev = json_object_get(root, "traceEvents"), *e;
    size_t i;
    json_array_foreach(ev, i, e) {
        const char *fn = json_string_value(json_object_get(json_object_get(e, "args"), "function"));
        if (strcmp(json_string_value(json_object_get(e, "name")), "call") == 0 && fn &&
            strcmp(fn, "Work") == 0)
            work = e;
    }
    cr_assert_not_null(work);
    json_t *outer = event_named(root, "outer"), *inner = event_named(root, "inner");
    json_t *hc = event_named(root, "host_call");
    expect_json_child(outer, work);
    expect_json_child(inner, outer);
    expect_json_child(hc, inner);
    cr_expect_str_eq(json_string_value(json_object_get(outer, "cat")), "guest");
    cr_expect_not_null(event_named(root, "open\"\\quoted"));
    cr_expect_not_null(event_named(root, "create"));
    cr_expect_not_null(event_named(root, "init"));
    json_t *doomed = event_named(root, "doomed");
    cr_assert_not_null(doomed);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(doomed, "args"), "status")),
                     "GLINT_E_ABORT");
    json_t *other = json_object_get(root, "otherData");
    cr_expect_eq(json_integer_value(json_object_get(other, "dropped")), 0);
    cr_expect_eq((size_t)json_integer_value(json_object_get(other, "spans")), json_array_size(ev));
    json_decref(root);
    unlink(path);
}

Test(trace, chrome_file_cap)
{
    char path[] = "/tmp/glint-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    glint_trace_file *tf;
    glint_error err;
    cr_assert_eq(glint_trace_file_open(path, 2000, &tf, &err), GLINT_OK, "%s", err.message);
    glint_span sp = {.kind = GLINT_SPAN_GUEST, .name = "x", .start_ns = 1000, .end_ns = 3500,
                     .id = 1, .thread_id = 1};
    for (int i = 0; i < 1000; i++)
        glint_trace_file_write(&sp, tf);
    uint64_t dropped = glint_trace_file_dropped(tf);
    cr_expect_gt(dropped, 900);
    cr_assert_eq(glint_trace_file_close(tf, &err), GLINT_OK, "%s", err.message);
    json_t *root = load_trace(path);
    json_t *ev = json_object_get(root, "traceEvents");
    cr_expect_eq(json_array_size(ev) + dropped, 1000);
    json_t *e = json_array_get(ev, 0);
    cr_expect_eq(json_number_value(json_object_get(e, "ts")), 1.0);
    cr_expect_eq(json_number_value(json_object_get(e, "dur")), 2.5);
    json_decref(root);
    unlink(path);
    cr_expect_eq(glint_trace_file_open("/nonexistent-dir/t.json", 0, &tf, &err), GLINT_E_IO);
}

/* glint call --trace: under its seccomp filter, the file is written by a
 * thread started before it. */
Test(trace, cli_trace_file, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    char path[] = "/tmp/glint-cli-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/bin/glint call --trace %s %s Spans 2 1 >/dev/null", GLINT_BUILD_DIR,
             path, TRACE_GUEST);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    json_t *root = load_trace(path);
    json_t *call = event_named(root, "call");
    cr_assert_not_null(call);
    cr_expect_not_null(event_named(root, "create"));
    cr_expect_not_null(event_named(root, "init"));
    json_t *pair = event_named(root, "pair"), *ev = json_object_get(root, "traceEvents"), *e;
    cr_assert_not_null(pair);
    size_t i, opens = 0;
    json_array_foreach(ev, i, e) {
        opens += strcmp(json_string_value(json_object_get(e, "name")), "open\"\\quoted") == 0;
    }
    cr_expect_eq(opens, 2);
    json_decref(root);
    snprintf(cmd, sizeof cmd, "%s/bin/glint call --trace /nonexistent-dir/t.json %s Enabled 2>/dev/null",
             GLINT_BUILD_DIR, TRACE_GUEST);
    int rc = system(cmd);
    cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "an unwritable trace file is a usage error (%d)", rc);
    unlink(path);
}
