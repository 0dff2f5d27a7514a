/*
 * test_types.c - every glint type both ways, with the types example guest
 * (examples/types/guest.c): edge values, 16 parameters, 1 MiB in and out,
 * UTF-8 checking, arguments that do not fit, and host functions of every
 * type.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#define ONE_MIB (1u << 20)

/* The Bytes1M pattern of examples/types/guest.c. */
static uint8_t types_pattern(uint32_t i, uint32_t seed)
{
    return (uint8_t)(i ^ (i >> 8) ^ (i >> 16) ^ (seed * 7u));
}

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static glint_value call1(glint_sandbox *sb, const char *fn, glint_value arg)
{
    glint_value r;
    memset(&r, 0, sizeof r);
    EXPECT_OK(sb, glint_sandbox_call(sb, fn, &arg, 1, &r));
    return r;
}

static glint_config big_buffers(void)
{
    return th_config_buffers(2u * ONE_MIB, 2u * ONE_MIB);
}

/* ---- scalars ------------------------------------------------------------ */

Test(types, echo_integers, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TYPES_GUEST, NULL);
    static const bool bools[] = {false, true};
    for (size_t i = 0; i < 2; i++) {
        glint_value r = call1(sb, "EchoBool", glint_bool(bools[i]));
        cr_assert_eq(r.type, GLINT_BOOL);
        cr_assert_eq(r.v.b, bools[i]);
    }
    static const int32_t i32s[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, 0x12345678, INT32_MAX};
    for (size_t i = 0; i < sizeof i32s / sizeof i32s[0]; i++) {
        glint_value r = call1(sb, "EchoI32", glint_i32(i32s[i]));
        cr_assert_eq(r.type, GLINT_I32);
        cr_assert_eq(r.v.i32, i32s[i], "EchoI32(%d) = %d", i32s[i], r.v.i32);
    }
    static const uint32_t u32s[] = {0, 1, 0x7fffffffu, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof u32s / sizeof u32s[0]; i++) {
        glint_value r = call1(sb, "EchoU32", glint_u32(u32s[i]));
        cr_assert_eq(r.type, GLINT_U32);
        cr_assert_eq(r.v.u32, u32s[i], "EchoU32(%u) = %u", u32s[i], r.v.u32);
    }
    static const int64_t i64s[] = {INT64_MIN, -(INT64_C(1) << 32), -1, 0, INT64_C(1) << 40,
                                   INT64_MAX};
    for (size_t i = 0; i < sizeof i64s / sizeof i64s[0]; i++) {
        glint_value r = call1(sb, "EchoI64", glint_i64(i64s[i]));
        cr_assert_eq(r.type, GLINT_I64);
        cr_assert_eq(r.v.i64, i64s[i], "EchoI64(%lld) = %lld", (long long)i64s[i],
                     (long long)r.v.i64);
    }
    static const uint64_t u64s[] = {0, 1, UINT64_C(1) << 63, UINT64_C(0xdeadbeefcafebabe),
                                    UINT64_MAX};
    for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++) {
        glint_value r = call1(sb, "EchoU64", glint_u64(u64s[i]));
        cr_assert_eq(r.type, GLINT_U64);
        cr_assert_eq(r.v.u64, u64s[i], "EchoU64(%llu) = %llu", (unsigned long long)u64s[i],
                     (unsigned long long)r.v.u64);
    }
    glint_sandbox_destroy(sb);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static float f32_from(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double f64_from(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Floats must come back bit for bit: -0.0 keeps its sign, NaN its payload. */
Test(types, echo_floats, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TYPES_GUEST, NULL);
    const float f32s[] = {0.0f,     -0.0f,    1.5f,      -3.25f,
                          FLT_MAX,  -FLT_MAX, FLT_MIN,   1e-45f,
                          INFINITY, -INFINITY, f32_from(0x7fc00123u), f32_from(0xffc00000u)};
    for (size_t i = 0; i < sizeof f32s / sizeof f32s[0]; i++) {
        glint_value r = call1(sb, "EchoF32", glint_f32(f32s[i]));
        cr_assert_eq(r.type, GLINT_F32);
        cr_assert_eq(f32_bits(r.v.f32), f32_bits(f32s[i]), "EchoF32(bits 0x%08x) = bits 0x%08x",
                     f32_bits(f32s[i]), f32_bits(r.v.f32));
    }
    const double f64s[] = {0.0,      -0.0,     0.1,       -1e300, DBL_MAX, -DBL_MAX, DBL_MIN,
                           4.9e-324, INFINITY, -INFINITY, NAN,    f64_from(0x7ff8000000000abcull)};
    for (size_t i = 0; i < sizeof f64s / sizeof f64s[0]; i++) {
        glint_value r = call1(sb, "EchoF64", glint_f64(f64s[i]));
        cr_assert_eq(r.type, GLINT_F64);
        cr_assert_eq(f64_bits(r.v.f64), f64_bits(f64s[i]),
                     "EchoF64(bits 0x%016llx) = bits 0x%016llx",
                     (unsigned long long)f64_bits(f64s[i]), (unsigned long long)f64_bits(r.v.f64));
    }
    glint_value r = call1(sb, "EchoF64", glint_f64(-0.0));
    cr_assert(signbit(r.v.f64) && r.v.f64 == 0.0);
    r = call1(sb, "EchoF64", glint_f64(NAN));
    cr_assert(isnan(r.v.f64));
    glint_sandbox_destroy(sb);
}

/* ---- strings and bytes ------------------------------------------------ */

static void expect_echo_string(glint_sandbox *sb, const char *s, size_t len)
{
    glint_value r = call1(sb, "EchoString", glint_str(s, len));
    th_expect_str(&r, s, len);
    r = call1(sb, "StrLen", glint_str(s, len));
    cr_assert_eq(r.v.u64, len, "StrLen = %llu, want %zu", (unsigned long long)r.v.u64, len);
}

Test(types, echo_strings, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TYPES_GUEST, NULL);
    expect_echo_string(sb, "", 0);
    expect_echo_string(sb, NULL, 0);
    expect_echo_string(sb, "a", 1);
    const char *utf8 = "héllo wörld ✓ 𝄞 日本語 \xf4\x8f\xbf\xbf";
    expect_echo_string(sb, utf8, strlen(utf8));
    expect_echo_string(sb, "a\0b\0", 4); /* NULs inside a string are allowed */

    size_t big = 32u << 10;
    char *s = malloc(big);
    for (size_t i = 0; i < big; i++)
        s[i] = (char)('a' + i % 26);
    expect_echo_string(sb, s, big);
    free(s);

    glint_value r = call1(sb, "EchoString", glint_cstr("keep"));
    const char *kept = r.v.str.ptr; /* valid until the next call */
    cr_assert(memcmp(kept, "keep", 4) == 0);
    glint_sandbox_destroy(sb);
}

Test(types, invalid_utf8_from_host_is_refused, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TYPES_GUEST, NULL);
    static const char *const bad[] = {
        "\xff",             /* never valid */
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xe2\x82",         /* truncated */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "ok\x80",           /* stray continuation byte */
        "\xf8\x88\x80\x80\x80", /* 5-byte form */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        glint_value arg = glint_cstr(bad[i]);
        glint_status s = glint_sandbox_call(sb, "EchoString", &arg, 1, NULL);
        cr_assert_eq(s, GLINT_E_INVALID, "invalid UTF-8 #%zu: %s: %s", i, glint_status_name(s),
                     glint_sandbox_error(sb)->message);
        cr_assert(th_has(glint_sandbox_error(sb)->message, "UTF-8"), "message: %s",
                  glint_sandbox_error(sb)->message);
    }
    /* Bytes are not checked. */
    glint_value arg = glint_bytes("\xff\xfe", 2);
    glint_value r = call1(sb, "EchoBytes", arg);
    cr_assert_eq(r.v.bytes.len, 2);
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_sandbox_destroy(sb);
}

Test(types, echo_bytes, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TYPES_GUEST, NULL);
    glint_value r = call1(sb, "EchoBytes", glint_bytes(NULL, 0));
    cr_assert_eq(r.type, GLINT_BYTES);
    cr_assert_eq(r.v.bytes.len, 0);

    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    r = call1(sb, "EchoBytes", glint_bytes(all, sizeof all));
    cr_assert_eq(r.v.bytes.len, sizeof all);
    cr_assert(memcmp(r.v.bytes.ptr, all, sizeof all) == 0);

    static const uint8_t nuls[] = {0, 0, 1, 0, 0};
    r = call1(sb, "EchoBytes", glint_bytes(nuls, sizeof nuls));
    cr_assert_eq(r.v.bytes.len, sizeof nuls);
    cr_assert(memcmp(r.v.bytes.ptr, nuls, sizeof nuls) == 0);
    r = call1(sb, "Checksum", glint_bytes(all, sizeof all));
    cr_assert_eq(r.v.u64, fnv1a(all, sizeof all));
    glint_sandbox_destroy(sb);
}

Test(types, arguments_too_large, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TYPES_GUEST, NULL); /* 64 KiB input buffer */
    size_t len = 100u << 10;
    uint8_t *p = calloc(1, len);
    glint_value arg = glint_bytes(p, len);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "EchoBytes", &arg, 1, NULL), GLINT_E_TOO_LARGE);
    cr_assert(glint_sandbox_error(sb)->message[0]);
    arg = glint_bytes(p, 64u << 10); /* exactly the buffer: no room for the frame */
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "EchoBytes", &arg, 1, NULL), GLINT_E_TOO_LARGE);
    cr_assert(!glint_sandbox_poisoned(sb));
    glint_value r = call1(sb, "Checksum", glint_bytes(p, 16u << 10));
    cr_assert_eq(r.v.u64, fnv1a(p, 16u << 10));
    free(p);
    glint_sandbox_destroy(sb);
}

Test(types, one_mib_out, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg = big_buffers();
    glint_sandbox *sb = th_start(TYPES_GUEST, &cfg);
    for (uint32_t seed = 1; seed <= 3; seed++) {
        glint_value r = call1(sb, "Bytes1M", glint_u32(seed));
        cr_assert_eq(r.type, GLINT_BYTES);
        cr_assert_eq(r.v.bytes.len, ONE_MIB);
        for (uint32_t i = 0; i < ONE_MIB; i++)
            if (r.v.bytes.ptr[i] != types_pattern(i, seed))
                cr_assert_fail("seed %u: byte %u is 0x%02x, want 0x%02x", seed, i,
                               r.v.bytes.ptr[i], types_pattern(i, seed));
    }
    glint_sandbox_destroy(sb);

    /* With the default 64 KiB output buffer the guest cannot return it. */
    sb = th_start(TYPES_GUEST, NULL);
    glint_value seed = glint_u32(1);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Bytes1M", &seed, 1, NULL), GLINT_E_GUEST_ERROR);
    cr_assert(th_has(glint_sandbox_error(sb)->message, "1 MiB"), "message: %s",
              glint_sandbox_error(sb)->message);
    glint_sandbox_destroy(sb);
}

Test(types, one_mib_in_and_back, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_config cfg = big_buffers();
    glint_sandbox *sb = th_start(TYPES_GUEST, &cfg);
    uint8_t *p = malloc(ONE_MIB);
    for (uint32_t i = 0; i < ONE_MIB; i++)
        p[i] = (uint8_t)(i * 131u + (i >> 12));
    glint_value r = call1(sb, "Checksum", glint_bytes(p, ONE_MIB));
    cr_assert_eq(r.v.u64, fnv1a(p, ONE_MIB));
    r = call1(sb, "EchoBytes", glint_bytes(p, ONE_MIB));
    cr_assert_eq(r.v.bytes.len, ONE_MIB);
    cr_assert(memcmp(r.v.bytes.ptr, p, ONE_MIB) == 0);
    free(p);
    glint_sandbox_destroy(sb);
}

/* ---- 16 parameters and void ------------------------------------------- */

static const glint_type sixteen[16] = {GLINT_BOOL, GLINT_I32, GLINT_U32, GLINT_I64, GLINT_U64,
                                       GLINT_F32,  GLINT_F64, GLINT_STRING, GLINT_BYTES,
                                       GLINT_BOOL, GLINT_I32, GLINT_U32, GLINT_I64, GLINT_U64,
                                       GLINT_F32,  GLINT_F64};

/* The weighted sum of examples/types/guest.c: parameter k counts k + 1 times. */
static double weighted_sum(const glint_value *v, size_t n)
{
    double sum = 0;
    for (unsigned k = 0; k < n; k++) {
        double x = 0;
        switch (v[k].type) {
        case GLINT_BOOL: x = v[k].v.b; break;
        case GLINT_I32: x = v[k].v.i32; break;
        case GLINT_U32: x = v[k].v.u32; break;
        case GLINT_I64: x = (double)v[k].v.i64; break;
        case GLINT_U64: x = (double)v[k].v.u64; break;
        case GLINT_F32: x = v[k].v.f32; break;
        case GLINT_F64: x = v[k].v.f64; break;
        case GLINT_STRING: x = (double)v[k].v.str.len; break;
        case GLINT_BYTES: x = (double)v[k].v.bytes.len; break;
        default: x = NAN; break;
        }
        sum += (k + 1) * x;
    }
    return sum;
}

static void sixteen_args(glint_value *a)
{
    a[0] = glint_bool(true);
    a[1] = glint_i32(-123456);
    a[2] = glint_u32(4000000000u);
    a[3] = glint_i64(-5000000000ll);
    a[4] = glint_u64(UINT64_C(1) << 40);
    a[5] = glint_f32(1.5f);
    a[6] = glint_f64(-2.25);
    a[7] = glint_cstr("héllo");
    a[8] = glint_bytes("\0\1\2\3\4", 5);
    a[9] = glint_bool(false);
    a[10] = glint_i32(INT32_MAX);
    a[11] = glint_u32(7);
    a[12] = glint_i64(-1);
    a[13] = glint_u64(123456789);
    a[14] = glint_f32(-0.5f);
    a[15] = glint_f64(1e6);
}

Test(types, sixteen_parameters, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TYPES_GUEST, NULL);
    glint_value a[16], r;
    sixteen_args(a);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(a[i].type, sixteen[i]);
    EXPECT_OK(sb, glint_sandbox_call(sb, "Sum16", a, 16, &r));
    cr_assert_eq(r.type, GLINT_F64);
    double want = weighted_sum(a, 16);
    cr_assert_eq(r.v.f64, want, "Sum16 = %.17g, want %.17g", r.v.f64, want);
    /* Swapping two arguments of the same type changes the sum: slots are kept. */
    glint_value t = a[1];
    a[1] = a[10];
    a[10] = t;
    EXPECT_OK(sb, glint_sandbox_call(sb, "Sum16", a, 16, &r));
    cr_assert_eq(r.v.f64, weighted_sum(a, 16));
    cr_assert_neq(r.v.f64, want);
    /* 15 or 17 arguments are a signature error. */
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Sum16", a, 15, NULL), GLINT_E_SIGNATURE);
    glint_value a17[17];
    memcpy(a17, a, sizeof a);
    a17[16] = glint_i32(1);
    EXPECT_STATUS(sb, glint_sandbox_call(sb, "Sum16", a17, 17, NULL), GLINT_E_SIGNATURE);
    glint_sandbox_destroy(sb);
}

Test(types, void_function, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    glint_sandbox *sb = th_start(TYPES_GUEST, NULL);
    glint_value r;
    for (int i = 0; i < 3; i++) {
        r.type = GLINT_I32;
        EXPECT_OK(sb, glint_sandbox_call(sb, "Void", NULL, 0, &r));
        cr_assert_eq(r.type, GLINT_VOID);
    }
    EXPECT_OK(sb, glint_sandbox_call(sb, "Void", NULL, 0, NULL));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Calls", NULL, 0, &r));
    cr_assert_eq(r.v.u32, 4);
    glint_sandbox_destroy(sb);
}

/* ---- host functions of every type --------------------------------------- */

enum host_mode { HOST_ECHO, HOST_BAD_UTF8, HOST_WRONG_TYPE, HOST_TOO_BIG };

struct host_state {
    int calls;
    enum host_mode mode;
};

static glint_status host_echo_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                 glint_value *ret, void *user)
{
    struct host_state *st = user;
    st->calls++;
    if (nargs != 1 || args[0].type != ret->type)
        return glint_hostcall_fail(hc, "echo: called with %zu arguments of the wrong type", nargs);
    if (st->mode == HOST_BAD_UTF8) {
        *ret = glint_str("\xc3\x28", 2);
        return GLINT_OK;
    }
    if (st->mode == HOST_WRONG_TYPE) {
        *ret = glint_i32(5);
        return GLINT_OK;
    }
    if (st->mode == HOST_TOO_BIG) {
        static uint8_t big[200u << 10];
        *ret = glint_bytes(big, sizeof big);
        return GLINT_OK;
    }
    if (args[0].type == GLINT_STRING || args[0].type == GLINT_BYTES) {
        /* Copy through the sandbox's scratch buffer, as a real host would. */
        size_t len = args[0].type == GLINT_STRING ? args[0].v.str.len : args[0].v.bytes.len;
        const void *src = args[0].type == GLINT_STRING ? (const void *)args[0].v.str.ptr
                                                       : (const void *)args[0].v.bytes.ptr;
        void *buf = glint_hostcall_buffer(hc, len ? len : 1);
        if (!buf)
            return glint_hostcall_fail(hc, "echo: no scratch space for %zu bytes", len);
        memcpy(buf, src, len);
        *ret = args[0].type == GLINT_STRING ? glint_str(buf, len) : glint_bytes(buf, len);
        return GLINT_OK;
    }
    *ret = args[0];
    return GLINT_OK;
}

static glint_status host_void_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                 glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret;
    ((struct host_state *)user)->calls++;
    return GLINT_OK;
}

static glint_status host_sum16_cb(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                  glint_value *ret, void *user)
{
    ((struct host_state *)user)->calls++;
    if (nargs != 16)
        return glint_hostcall_fail(hc, "HostSum16: %zu arguments", nargs);
    for (size_t i = 0; i < 16; i++)
        if (args[i].type != sixteen[i])
            return glint_hostcall_fail(hc, "HostSum16: argument %zu has type %s", i,
                                       glint_type_name(args[i].type));
    ret->v.f64 = weighted_sum(args, 16);
    return GLINT_OK;
}

static const struct {
    const char *host, *guest;
    glint_type type;
} echoes[] = {
    {"HostBool", "HostEchoBool", GLINT_BOOL},       {"HostI32", "HostEchoI32", GLINT_I32},
    {"HostU32", "HostEchoU32", GLINT_U32},          {"HostI64", "HostEchoI64", GLINT_I64},
    {"HostU64", "HostEchoU64", GLINT_U64},          {"HostF32", "HostEchoF32", GLINT_F32},
    {"HostF64", "HostEchoF64", GLINT_F64},          {"HostString", "HostEchoString", GLINT_STRING},
    {"HostBytes", "HostEchoBytes", GLINT_BYTES},
};
#define NECHOES (sizeof echoes / sizeof echoes[0])

static glint_sandbox *start_with_host_functions(const glint_config *cfg, struct host_state *st)
{
    glint_sandbox *sb = th_create(TYPES_GUEST, cfg);
    for (size_t i = 0; i < NECHOES; i++) {
        glint_function fn = {.name = echoes[i].host, .ret = echoes[i].type, .nparams = 1,
                             .params = {echoes[i].type}};
        EXPECT_OK(sb, glint_sandbox_register(sb, &fn, host_echo_cb, st));
    }
    glint_function v = {.name = "HostVoid", .ret = GLINT_VOID};
    EXPECT_OK(sb, glint_sandbox_register(sb, &v, host_void_cb, st));
    glint_function s16 = {.name = "HostSum16", .ret = GLINT_F64, .nparams = 16};
    memcpy(s16.params, sixteen, sizeof sixteen);
    EXPECT_OK(sb, glint_sandbox_register(sb, &s16, host_sum16_cb, st));
    EXPECT_OK(sb, glint_sandbox_init(sb));
    return sb;
}

static bool same_value(const glint_value *a, const glint_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case GLINT_BOOL: return a->v.b == b->v.b;
    case GLINT_I32: return a->v.i32 == b->v.i32;
    case GLINT_U32: return a->v.u32 == b->v.u32;
    case GLINT_I64: return a->v.i64 == b->v.i64;
    case GLINT_U64: return a->v.u64 == b->v.u64;
    case GLINT_F32: return f32_bits(a->v.f32) == f32_bits(b->v.f32);
    case GLINT_F64: return f64_bits(a->v.f64) == f64_bits(b->v.f64);
    case GLINT_STRING:
        return a->v.str.len == b->v.str.len &&
               (a->v.str.len == 0 || !memcmp(a->v.str.ptr, b->v.str.ptr, a->v.str.len));
    case GLINT_BYTES:
        return a->v.bytes.len == b->v.bytes.len &&
               (a->v.bytes.len == 0 || !memcmp(a->v.bytes.ptr, b->v.bytes.ptr, a->v.bytes.len));
    default: return false;
    }
}

Test(types, host_functions_of_every_type, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct host_state st = {0};
    glint_sandbox *sb = start_with_host_functions(NULL, &st);
    const glint_value values[] = {
        glint_bool(true),          glint_bool(false),        glint_i32(INT32_MIN),
        glint_i32(-1),             glint_u32(UINT32_MAX),    glint_i64(INT64_MIN),
        glint_i64(INT64_MAX),      glint_u64(UINT64_MAX),    glint_f32(-0.0f),
        glint_f32(INFINITY),       glint_f64(NAN),           glint_f64(-1e-300),
        glint_cstr(""),            glint_cstr("日本語 ✓"),   glint_str("a\0b", 3),
        glint_bytes(NULL, 0),      glint_bytes("\0\xff\0", 3),
    };
    int calls = 0;
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++)
        for (size_t i = 0; i < NECHOES; i++) {
            if (echoes[i].type != values[v].type)
                continue;
            glint_value r = call1(sb, echoes[i].guest, values[v]);
            calls++;
            cr_assert(same_value(&r, &values[v]), "%s: value %zu changed on the way",
                      echoes[i].guest, v);
        }
    cr_assert_eq(st.calls, calls, "host callbacks ran %d times for %d calls", st.calls, calls);

    glint_value r;
    EXPECT_OK(sb, glint_sandbox_call(sb, "HostVoid", NULL, 0, &r));
    cr_assert_eq(r.v.u32, 1);
    cr_assert_eq(st.calls, calls + 1);

    glint_value a[16];
    sixteen_args(a);
    EXPECT_OK(sb, glint_sandbox_call(sb, "HostSum16", a, 16, &r));
    cr_assert_eq(r.v.f64, weighted_sum(a, 16), "HostSum16 = %.17g, want %.17g", r.v.f64,
                 weighted_sum(a, 16));
    glint_sandbox_destroy(sb);
}

Test(types, host_functions_one_mib, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    struct host_state st = {0};
    /* The input buffer holds the call's 1 MiB argument and the 1 MiB reply. */
    glint_config cfg = th_config_buffers(3u * ONE_MIB, 2u * ONE_MIB);
    glint_sandbox *sb = start_with_host_functions(&cfg, &st);
    uint8_t *p = malloc(ONE_MIB);
    for (uint32_t i = 0; i < ONE_MIB; i++)
        p[i] = types_pattern(i, 9);
    glint_value r = call1(sb, "HostEchoBytes", glint_bytes(p, ONE_MIB));
    cr_assert_eq(r.v.bytes.len, ONE_MIB);
    cr_assert(memcmp(r.v.bytes.ptr, p, ONE_MIB) == 0);
    cr_assert_eq(st.calls, 1);
    free(p);
    glint_sandbox_destroy(sb);
}

/* A host function that answers badly fails the guest's host call (the guest
 * then fails its call with a message); the sandbox is not poisoned. */
static void expect_bad_host_answer(enum host_mode mode, const char *guest_fn, glint_value arg)
{
    struct host_state st = {.mode = mode};
    glint_sandbox *sb = start_with_host_functions(NULL, &st);
    glint_status s = glint_sandbox_call(sb, guest_fn, &arg, 1, NULL);
    const char *msg = glint_sandbox_error(sb)->message;
    cr_assert_eq(s, GLINT_E_GUEST_ERROR, "mode %d: %s: %s", mode, glint_status_name(s), msg);
    cr_assert(th_has(msg, "returned -"), "the guest did not see a failed host call: %s", msg);
    cr_assert_eq(st.calls, 1);
    cr_assert(!glint_sandbox_poisoned(sb), "a bad host answer poisoned the sandbox");
    glint_value r = call1(sb, "EchoI32", glint_i32(3));
    cr_assert_eq(r.v.i32, 3);
    glint_sandbox_destroy(sb);
}

Test(types, bad_host_answers, .timeout = VM_TEST_TIMEOUT)
{
    SKIP_IF_NO_KVM();
    expect_bad_host_answer(HOST_BAD_UTF8, "HostEchoString", glint_cstr("x"));
    expect_bad_host_answer(HOST_WRONG_TYPE, "HostEchoString", glint_cstr("x"));
    expect_bad_host_answer(HOST_TOO_BIG, "HostEchoBytes", glint_bytes("x", 1));
}
