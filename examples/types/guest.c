/*
 * types guest: every glint type, both ways.
 *
 *   Echo<T>(T) -> T            returns its argument unchanged
 *   StrLen(string) -> uint64   byte length as the guest sees it
 *   Checksum(bytes) -> uint64  FNV-1a of the bytes (to check large inputs)
 *   Sum16(16 mixed) -> double  weighted sum of all 16 parameters
 *   Bytes1M(uint32 seed) -> bytes   1 MiB, byte i = types_pattern(i, seed)
 *   Void() -> void, Calls() -> uint32   a void function and its call count
 *   HostEcho<T>(T) -> T        calls the host function Host<T>(T) -> T and
 *                              returns what the host answered
 *   HostVoid() -> uint32       calls HostVoid() -> void, returns 1
 *   HostSum16(16 mixed) -> double   passes its 16 arguments to the host
 *                              function HostSum16 and returns its answer
 *
 * A failed host call fails the guest call with the host's message.
 * Bytes1M needs an output buffer of at least 1 MiB plus the result header.
 */
#include <glint/guest.h>
#include <string.h>

#define ONE_MIB (1u << 20)

/* The Bytes1M pattern; tests/test_types.c computes the same. */
static uint8_t types_pattern(uint32_t i, uint32_t seed)
{
    return (uint8_t)(i ^ (i >> 8) ^ (i >> 16) ^ (seed * 7u));
}

/* Reads argument i of type t into a glint_val (borrowing string/bytes). */
static glint_val arg_val(const glint_args *a, unsigned i, glint_type t)
{
    glint_val v = {.type = t};
    switch (t) {
    case GLINT_BOOL: v.v.b = glint_arg_bool(a, i); break;
    case GLINT_I32: v.v.i32 = glint_arg_i32(a, i); break;
    case GLINT_U32: v.v.u32 = glint_arg_u32(a, i); break;
    case GLINT_I64: v.v.i64 = glint_arg_i64(a, i); break;
    case GLINT_U64: v.v.u64 = glint_arg_u64(a, i); break;
    case GLINT_F32: v.v.f32 = glint_arg_f32(a, i); break;
    case GLINT_F64: v.v.f64 = glint_arg_f64(a, i); break;
    case GLINT_STRING: v.v.str.ptr = glint_arg_string(a, i, &v.v.str.len); break;
    case GLINT_BYTES: v.v.bytes.ptr = glint_arg_bytes(a, i, &v.v.bytes.len); break;
    default: GLINT_PANIC("arg_val: bad type %d", (int)t);
    }
    return v;
}

static void return_val(const glint_val *v)
{
    switch (v->type) {
    case GLINT_BOOL: glint_return_bool(v->v.b); break;
    case GLINT_I32: glint_return_i32(v->v.i32); break;
    case GLINT_U32: glint_return_u32(v->v.u32); break;
    case GLINT_I64: glint_return_i64(v->v.i64); break;
    case GLINT_U64: glint_return_u64(v->v.u64); break;
    case GLINT_F32: glint_return_f32(v->v.f32); break;
    case GLINT_F64: glint_return_f64(v->v.f64); break;
    case GLINT_STRING: glint_return_stringn(v->v.str.ptr, v->v.str.len); break;
    case GLINT_BYTES: glint_return_bytes(v->v.bytes.ptr, v->v.bytes.len); break;
    default: GLINT_PANIC("return_val: bad type %d", (int)v->type);
    }
}

/* ---- echoes ---- */
static void echo(const glint_args *a, glint_type t)
{
    glint_val v = arg_val(a, 0, t);
    return_val(&v);
}

static void EchoBool(const glint_args *a) { echo(a, GLINT_BOOL); }
static void EchoI32(const glint_args *a) { echo(a, GLINT_I32); }
static void EchoU32(const glint_args *a) { echo(a, GLINT_U32); }
static void EchoI64(const glint_args *a) { echo(a, GLINT_I64); }
static void EchoU64(const glint_args *a) { echo(a, GLINT_U64); }
static void EchoF32(const glint_args *a) { echo(a, GLINT_F32); }
static void EchoF64(const glint_args *a) { echo(a, GLINT_F64); }
static void EchoString(const glint_args *a) { echo(a, GLINT_STRING); }
static void EchoBytes(const glint_args *a) { echo(a, GLINT_BYTES); }
GLINT_FUNCTION(EchoBool, GLINT_BOOL, GLINT_BOOL);
GLINT_FUNCTION(EchoI32, GLINT_I32, GLINT_I32);
GLINT_FUNCTION(EchoU32, GLINT_U32, GLINT_U32);
GLINT_FUNCTION(EchoI64, GLINT_I64, GLINT_I64);
GLINT_FUNCTION(EchoU64, GLINT_U64, GLINT_U64);
GLINT_FUNCTION(EchoF32, GLINT_F32, GLINT_F32);
GLINT_FUNCTION(EchoF64, GLINT_F64, GLINT_F64);
GLINT_FUNCTION(EchoString, GLINT_STRING, GLINT_STRING);
GLINT_FUNCTION(EchoBytes, GLINT_BYTES, GLINT_BYTES);

static void StrLen(const glint_args *a)
{
    size_t len = 0;
    const char *s = glint_arg_string(a, 0, &len);
    if (s[len] != '\0')
        glint_return_error("string of %zu bytes is not NUL-terminated", len);
    else
        glint_return_u64(len);
}
GLINT_FUNCTION(StrLen, GLINT_U64, GLINT_STRING);

static void Checksum(const glint_args *a)
{
    size_t len = 0;
    const uint8_t *p = glint_arg_bytes(a, 0, &len);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    glint_return_u64(h);
}
GLINT_FUNCTION(Checksum, GLINT_U64, GLINT_BYTES);

/* ---- 16 parameters ---- */
#define SIXTEEN GLINT_BOOL, GLINT_I32, GLINT_U32, GLINT_I64, GLINT_U64, GLINT_F32, GLINT_F64, \
                GLINT_STRING, GLINT_BYTES, GLINT_BOOL, GLINT_I32, GLINT_U32, GLINT_I64,      \
                GLINT_U64, GLINT_F32, GLINT_F64
static const glint_type sixteen[GLINT_MAX_PARAMS] = {SIXTEEN};

/* Parameter k (0-based) counts (k + 1) times its value; strings and bytes
 * count their length.  tests/test_types.c computes the same. */
static double weighted_sum(const glint_val *v)
{
    double sum = 0;
    for (unsigned k = 0; k < GLINT_MAX_PARAMS; k++) {
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
        default: GLINT_PANIC("weighted_sum: bad type %d", (int)v[k].type);
        }
        sum += (k + 1) * x;
    }
    return sum;
}

static void read_sixteen(const glint_args *a, glint_val *v)
{
    for (unsigned k = 0; k < GLINT_MAX_PARAMS; k++)
        v[k] = arg_val(a, k, sixteen[k]);
}

static void Sum16(const glint_args *a)
{
    glint_val v[GLINT_MAX_PARAMS];
    read_sixteen(a, v);
    glint_return_f64(weighted_sum(v));
}
GLINT_FUNCTION(Sum16, GLINT_F64, SIXTEEN);

/* ---- 1 MiB result, written in place ---- */
static void Bytes1M(const glint_args *a)
{
    uint32_t seed = glint_arg_u32(a, 0);
    uint8_t *out = glint_result_buffer(ONE_MIB);
    if (!out) {
        glint_return_error("Bytes1M: the output buffer cannot hold 1 MiB");
        return;
    }
    for (uint32_t i = 0; i < ONE_MIB; i++)
        out[i] = types_pattern(i, seed);
    glint_return_buffer(ONE_MIB);
}
GLINT_FUNCTION(Bytes1M, GLINT_BYTES, GLINT_U32);

/* ---- void ---- */
static uint32_t void_calls;

static void Void(const glint_args *a)
{
    (void)a;
    void_calls++;
}
GLINT_FUNCTION(Void, GLINT_VOID);

static void Calls(const glint_args *a)
{
    (void)a;
    glint_return_u32(void_calls);
}
GLINT_FUNCTION(Calls, GLINT_U32);

/* ---- host functions of every type ---- */
static void host_echo(const glint_args *a, const char *host, glint_type t)
{
    glint_val v = arg_val(a, 0, t);
    glint_val r;
    int rc = glint_host_call(host, t, &r, 1, &v);
    if (rc != 0) {
        glint_return_error("%s returned %d: %s", host, rc, glint_host_error());
        return;
    }
    if (r.type != t) {
        glint_return_error("%s answered type %d, not %d", host, (int)r.type, (int)t);
        return;
    }
    return_val(&r);
}

static void HostEchoBool(const glint_args *a) { host_echo(a, "HostBool", GLINT_BOOL); }
static void HostEchoI32(const glint_args *a) { host_echo(a, "HostI32", GLINT_I32); }
static void HostEchoU32(const glint_args *a) { host_echo(a, "HostU32", GLINT_U32); }
static void HostEchoI64(const glint_args *a) { host_echo(a, "HostI64", GLINT_I64); }
static void HostEchoU64(const glint_args *a) { host_echo(a, "HostU64", GLINT_U64); }
static void HostEchoF32(const glint_args *a) { host_echo(a, "HostF32", GLINT_F32); }
static void HostEchoF64(const glint_args *a) { host_echo(a, "HostF64", GLINT_F64); }
static void HostEchoString(const glint_args *a) { host_echo(a, "HostString", GLINT_STRING); }
static void HostEchoBytes(const glint_args *a) { host_echo(a, "HostBytes", GLINT_BYTES); }
GLINT_FUNCTION(HostEchoBool, GLINT_BOOL, GLINT_BOOL);
GLINT_FUNCTION(HostEchoI32, GLINT_I32, GLINT_I32);
GLINT_FUNCTION(HostEchoU32, GLINT_U32, GLINT_U32);
GLINT_FUNCTION(HostEchoI64, GLINT_I64, GLINT_I64);
GLINT_FUNCTION(HostEchoU64, GLINT_U64, GLINT_U64);
GLINT_FUNCTION(HostEchoF32, GLINT_F32, GLINT_F32);
GLINT_FUNCTION(HostEchoF64, GLINT_F64, GLINT_F64);
GLINT_FUNCTION(HostEchoString, GLINT_STRING, GLINT_STRING);
GLINT_FUNCTION(HostEchoBytes, GLINT_BYTES, GLINT_BYTES);

static void HostVoid(const glint_args *a)
{
    (void)a;
    int rc = glint_host_call("HostVoid", GLINT_VOID, NULL, 0, NULL);
    if (rc != 0)
        glint_return_error("HostVoid returned %d: %s", rc, glint_host_error());
    else
        glint_return_u32(1);
}
GLINT_FUNCTION(HostVoid, GLINT_U32);

static void HostSum16(const glint_args *a)
{
    glint_val v[GLINT_MAX_PARAMS];
    read_sixteen(a, v);
    glint_val r;
    int rc = glint_host_call("HostSum16", GLINT_F64, &r, GLINT_MAX_PARAMS, v);
    if (rc != 0)
        glint_return_error("HostSum16 returned %d: %s", rc, glint_host_error());
    else
        glint_return_f64(r.v.f64);
}
GLINT_FUNCTION(HostSum16, GLINT_F64, SIXTEEN);
