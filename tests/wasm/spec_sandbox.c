/*
 * spec_sandbox.c - runs the WebAssembly spec test suite inside a glint
 * sandbox: the guest is tests/wasm/spec_runner.c built with
 * SPEC_IN_SANDBOX (the runner, the engine and a JSON reader, all guest
 * code); this host grants it one host function, read_file(path) -> bytes,
 * for files under ROOT only (the converted suite) and the known-failures
 * list, and calls its Run with the runner's own arguments.
 *
 *   spec_sandbox GUEST.elf ROOT KNOWN [-v] FILE.json...
 *
 * The backend is GLINT_BACKEND's (auto by default).  Prints what the
 * runner prints; exits with its status (1: a failure), or 2 when the
 * sandbox itself fails.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glint/glint.h>

static char root[PATH_MAX], known[PATH_MAX];

static glint_status read_file(glint_hostcall *hc, const glint_value *args, size_t nargs, glint_value *ret,
                              void *user)
{
    (void)nargs, (void)user;
    char path[PATH_MAX + 1], real[PATH_MAX];
    size_t n = args[0].v.str.len;
    if (n >= sizeof path)
        return glint_hostcall_fail(hc, "read_file: path too long");
    memcpy(path, args[0].v.str.ptr, n);
    path[n] = 0;
    if (!realpath(path, real))
        return glint_hostcall_fail(hc, "read_file: %s: %s", path, strerror(errno));
    size_t rl = strlen(root);
    if (strcmp(real, known) != 0 && (strncmp(real, root, rl) != 0 || real[rl] != '/'))
        return glint_hostcall_fail(hc, "read_file: %s is outside %s", real, root);
    FILE *f = fopen(real, "rb");
    if (!f)
        return glint_hostcall_fail(hc, "read_file: %s: %s", real, strerror(errno));
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = size >= 0 ? glint_hostcall_buffer(hc, (size_t)size) : NULL;
    if (!buf) {
        fclose(f);
        return glint_hostcall_fail(hc, "read_file: %s: %ld bytes do not fit the input buffer", real, size);
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size)
        return glint_hostcall_fail(hc, "read_file: %s: short read", real);
    *ret = glint_bytes(buf, (size_t)size);
    return GLINT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: spec_sandbox GUEST.elf ROOT KNOWN [-v] FILE.json...\n");
        return 2;
    }
    if (!realpath(argv[2], root) || !realpath(argv[3], known)) {
        fprintf(stderr, "spec_sandbox: %s or %s: %s\n", argv[2], argv[3], strerror(errno));
        return 2;
    }
    /* The runner's command line: -k KNOWN, then the rest. */
    size_t cap = 64 + strlen(known);
    for (int i = 4; i < argc; i++)
        cap += strlen(argv[i]) + 1;
    char *line = malloc(cap);
    snprintf(line, cap, "-k %s", known);
    for (int i = 4; i < argc; i++) {
        strcat(line, " ");
        strcat(line, argv[i]);
    }
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.heap_size = 512u << 20;   /* the modules' memories and tables live in the guest heap */
    cfg.stack_size = 32u << 20;   /* call depth 10,000 (assert_exhaustion) */
    cfg.input_size = 16u << 20;   /* read_file's replies: the largest JSON is under 1 MiB */
    cfg.output_size = 1u << 20;
    cfg.timeout_ms = 0;           /* the whole suite is one call */
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create_file(argv[1], &cfg, &sb, &err);
    if (s != GLINT_OK) {
        fprintf(stderr, "spec_sandbox: %s: %s\n", argv[1], err.message);
        return 2;
    }
    glint_function fn = {.name = "read_file", .ret = GLINT_BYTES, .nparams = 1, .params = {GLINT_STRING}};
    glint_value r;
    if ((s = glint_sandbox_register(sb, &fn, read_file, NULL)) != GLINT_OK ||
        (s = glint_sandbox_init(sb)) != GLINT_OK ||
        (s = glint_sandbox_call(sb, "Run", (glint_value[]){glint_str(line, strlen(line))}, 1, &r)) != GLINT_OK) {
        fprintf(stderr, "spec_sandbox: %s\n", glint_sandbox_error(sb)->message);
        glint_sandbox_destroy(sb);
        free(line);
        return 2;
    }
    printf("spec_sandbox: ran inside a sandbox on the %s backend\n",
           glint_backend_name(glint_sandbox_backend(sb)));
    glint_sandbox_destroy(sb);
    free(line);
    return r.v.i32 ? 1 : 0;
}
