/*
 * serve - a line-oriented request loop over a pool of pristine sandboxes.
 *
 * Usage: serve GUEST.elf [FUNCTION]        (FUNCTION: default Upper)
 *
 * Reads requests from stdin, one per line, and calls FUNCTION(string) ->
 * string of the guest with each, in a sandbox from a glint_pool: every
 * request starts from the same initialized state, whatever earlier ones
 * did.  Writes one line per request to stdout: the result, or
 * "error: STATUS: message" when that call failed (the loop carries on).
 * Calls are limited to 100 ms.  Exits 0 at the end of input, 1 if the
 * guest cannot be set up.
 */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <glint/glint.h>

static int setup_failed(const char *what, const glint_error *err)
{
    fprintf(stderr, "serve: %s: %s (%s)\n", what, err->message, glint_status_name(err->status));
    return 1;
}

/* The pool's snapshot: the guest initialized once (its glint_main run). */
static glint_pool *make_pool(const char *path, glint_error *err)
{
    glint_config cfg;
    glint_config_default(&cfg);
    cfg.timeout_ms = 100;
    glint_sandbox *sb;
    if (glint_sandbox_create_file(path, &cfg, &sb, err) != GLINT_OK)
        return NULL;
    glint_snapshot *snap = NULL;
    glint_pool *pool = NULL;
    if (glint_sandbox_init(sb) != GLINT_OK || glint_sandbox_snapshot(sb, &snap) != GLINT_OK)
        *err = *glint_sandbox_error(sb);
    glint_sandbox_destroy(sb);
    if (snap) {
        glint_pool_config pc;
        glint_pool_config_default(&pc); /* sandboxes kept for reuse: 16 */
        pc.prefill = 1;
        glint_pool_create(snap, &pc, &pool, err);
        glint_snapshot_free(snap); /* the pool keeps its own reference */
    }
    return pool;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s GUEST.elf [FUNCTION]\n", argv[0]);
        return 2;
    }
    const char *fn = argc == 3 ? argv[2] : "Upper";
    glint_error err;
    glint_pool *pool = make_pool(argv[1], &err);
    if (!pool)
        return setup_failed(argv[1], &err);

    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        glint_sandbox *sb;
        if (glint_pool_acquire(pool, &sb, &err) != GLINT_OK) {
            printf("error: %s: %s\n", glint_status_name(err.status), err.message);
        } else {
            glint_value arg = glint_str(line, (size_t)n), result;
            glint_status s = glint_sandbox_call(sb, fn, &arg, 1, &result);
            if (s == GLINT_OK && result.type == GLINT_STRING) {
                fwrite(result.v.str.ptr, 1, result.v.str.len, stdout);
                putchar('\n');
            } else if (s == GLINT_OK)
                printf("error: %s returns %s, not string\n", fn, glint_type_name(result.type));
            else /* the message is one line; the sandbox goes back poisoned or not */
                printf("error: %s: %s\n", glint_status_name(s), glint_sandbox_error(sb)->message);
            glint_pool_release(pool, sb); /* after the last use of result */
        }
        fflush(stdout);
    }
    free(line);
    glint_pool_destroy(pool);
    return 0;
}
