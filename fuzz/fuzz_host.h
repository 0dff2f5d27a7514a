/*
 * fuzz_host.h - the sandbox shared by fuzz_frames.c and fuzz_sandbox.c:
 * one real sandbox from fuzz/guests/fuzz_guest.c, created on first use and
 * reused for every input, with host functions of varied signatures
 * (including ones that fail or return bad values) so that fuzzed host-call
 * frames reach every branch of the dispatcher.  Header-only: each target
 * is one translation unit plus the library sources.
 */
#ifndef GLINT_FUZZ_HOST_H
#define GLINT_FUZZ_HOST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glint/glint.h"

#ifndef GLINT_FUZZ_GUEST
#define GLINT_FUZZ_GUEST "fuzz_guest.elf"
/* With GLINT_FUZZ_VERBOSE set, prints each input's outcome (to check seeds). */
static void fh_report(glint_sandbox *sb, glint_status s, const glint_value *result)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("GLINT_FUZZ_VERBOSE") != NULL;
    if (!verbose)
        return;
    if (s == GLINT_OK)
        fprintf(stderr, "fuzz: OK, result type %s\n", glint_type_name(result->type));
    else
        fprintf(stderr, "fuzz: %s: %s\n", glint_status_name(s), glint_sandbox_error(sb)->message);
}

#endif

/* Echo(string) -> string and Blob(bytes, ...) -> bytes: their first argument back. */
static glint_status fh_echo(glint_hostcall *hc, const glint_value *args, size_t nargs,
                            glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)user;
    ret->v = args[0].v;
    return GLINT_OK;
}

static glint_status fh_add(glint_hostcall *hc, const glint_value *args, size_t nargs,
                           glint_value *ret, void *user)
{
    (void)hc, (void)nargs, (void)user;
    ret->v.i32 = (int32_t)((uint32_t)args[0].v.i32 + (uint32_t)args[1].v.i32);
    return GLINT_OK;
}

static glint_status fh_fail(glint_hostcall *hc, const glint_value *args, size_t nargs,
                            glint_value *ret, void *user)
{
    (void)args, (void)nargs, (void)ret, (void)user;
    return glint_hostcall_fail(hc, "Fail always fails");
}

/* Bad(u64 how) -> string: misbehaves in the way `how` picks. */
static glint_status fh_bad(glint_hostcall *hc, const glint_value *args, size_t nargs,
                           glint_value *ret, void *user)
{
    (void)nargs, (void)user;
    uint64_t how = args[0].v.u64 % 5;
    size_t big = 1u << 20;
    uint8_t *buf;
    switch (how) {
    case 0: ret->v.str.ptr = "\xff\xfe", ret->v.str.len = 2; break;     /* not UTF-8 */
    case 1: ret->type = GLINT_I32, ret->v.i32 = 1; break;               /* wrong type */
    case 2: return GLINT_E_INVALID;                                     /* fails silently */
    case 3:                                                             /* too big to reply */
        buf = glint_hostcall_buffer(hc, 65536 - 64);
        if (!buf)
            return glint_hostcall_fail(hc, "no %zu-byte buffer", big);
        memset(buf, 'a', 65536 - 64);
        ret->v.str.ptr = (const char *)buf, ret->v.str.len = 65536 - 64;
        break;
    default: ret->v.str.ptr = NULL, ret->v.str.len = 0; break;          /* empty */
    }
    return GLINT_OK;
}

static glint_status fh_nothing(glint_hostcall *hc, const glint_value *args, size_t nargs,
                               glint_value *ret, void *user)
{
    (void)hc, (void)args, (void)nargs, (void)ret, (void)user;
    return GLINT_OK;
}

static const glint_function fh_funcs[] = {
    {"Echo", GLINT_STRING, 1, {GLINT_STRING}},
    {"Add", GLINT_I32, 2, {GLINT_I32, GLINT_I32}},
    {"Blob", GLINT_BYTES, 8, {GLINT_BYTES, GLINT_BOOL, GLINT_U32, GLINT_I64, GLINT_U64, GLINT_F32,
                              GLINT_F64, GLINT_STRING}},
    {"Fail", GLINT_VOID, 0, {GLINT_VOID}},
    {"Bad", GLINT_STRING, 1, {GLINT_U64}},
    {"Nothing", GLINT_VOID, 0, {GLINT_VOID}},
};
static const glint_host_fn fh_callbacks[] = {fh_echo, fh_add, fh_echo, fh_fail, fh_bad, fh_nothing};

static void fh_die(const char *what, glint_status s, const glint_error *err)
{
    fprintf(stderr, "fuzz: %s failed: %s: %s\n", what, glint_status_name(s),
            err ? err->message : "");
    exit(1);
}

/* Creates and initializes the shared sandbox (output buffer 64 KiB). */
static glint_sandbox *fh_sandbox(void)
{
    const char *path = getenv("GLINT_FUZZ_GUEST");
    if (!path)
        path = GLINT_FUZZ_GUEST;
    glint_error err;
    glint_status s;
    if ((s = glint_probe(&err)) != GLINT_OK)
        fh_die("glint_probe (this target needs a usable backend)", s, &err);
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.input_size = cfg.output_size = 65536;
    glint_sandbox *sb;
    if ((s = glint_sandbox_create_file(path, &cfg, &sb, &err)) != GLINT_OK)
        fh_die(path, s, &err);
    for (size_t i = 0; i < sizeof fh_funcs / sizeof fh_funcs[0]; i++)
        if ((s = glint_sandbox_register(sb, &fh_funcs[i], fh_callbacks[i], NULL)) != GLINT_OK)
            fh_die("glint_sandbox_register", s, glint_sandbox_error(sb));
    if ((s = glint_sandbox_init(sb)) != GLINT_OK)
        fh_die("glint_sandbox_init", s, glint_sandbox_error(sb));
    return sb;
}

/* With GLINT_FUZZ_VERBOSE set, prints each input's outcome (to check seeds). */
static void fh_report(glint_sandbox *sb, glint_status s, const glint_value *result)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("GLINT_FUZZ_VERBOSE") != NULL;
    if (!verbose)
        return;
    if (s == GLINT_OK)
        fprintf(stderr, "fuzz: OK, result type %s\n", glint_type_name(result->type));
    else
        fprintf(stderr, "fuzz: %s: %s\n", glint_status_name(s), glint_sandbox_error(sb)->message);
}

#endif
