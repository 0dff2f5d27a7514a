/*
 * backend.c - backends in the CLI: `glint info --host`, and the one-line
 * report when the sandbox cannot be created because this host cannot use
 * the backend asked for (exit 6).
 *
 * `--backend auto|kvm|process` sets glint_config.backend (options.c); auto
 * lets libglint choose: GLINT_BACKEND if set, else kvm if it works here,
 * else process.  A snapshot file's CPU state is backend-neutral, so the same
 * choice applies to it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const glint_backend every_backend[] = {GLINT_BACKEND_KVM, GLINT_BACKEND_PROCESS};

/* GLINT_BACKEND, or NULL when it is unset or empty (libglint ignores it then). */
static const char *env_backend(void)
{
    const char *env = getenv("GLINT_BACKEND");
    return env && *env ? env : NULL;
}

int cli_cmd_info_host(const struct cli_opts *o)
{
    if (o->npos != 0) {
        cli_error("info --host takes no guest file, got '%.64s' (usage: glint info --host)",
                  o->pos[0]);
        return CLI_EXIT_USAGE;
    }
    size_t usable = 0;
    bool asked_usable = false;
    for (size_t i = 0; i < sizeof every_backend / sizeof every_backend[0]; i++) {
        glint_backend b = every_backend[i];
        glint_error err;
        if (glint_backend_probe(b, &err) == GLINT_OK) {
            printf("%-8s usable: %s\n", glint_backend_name(b), glint_backend_describe(b));
            usable++;
            if ((int)b == o->cfg.backend)
                asked_usable = true;
        } else {
            printf("%-8s not usable: %s\n", glint_backend_name(b), err.message);
        }
    }
    /* What auto picks: GLINT_BACKEND first, then kvm, then process. */
    const char *env = env_backend();
    char note[128];
    if (env)
        snprintf(note, sizeof note, "GLINT_BACKEND=%.40s", env);
    else
        snprintf(note, sizeof note, "GLINT_BACKEND is not set");
    glint_backend sel;
    glint_error err;
    if (glint_backend_select(GLINT_BACKEND_AUTO, &sel, &err) == GLINT_OK)
        printf("%-8s selects %s (%s)\n", "auto", glint_backend_name(sel), note);
    else
        printf("%-8s selects none: %s (%s)\n", "auto", err.message, note);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("writing to standard output failed");
        return CLI_EXIT_INTERNAL;
    }
    /* --backend kvm or process asks about that one; auto, about any. */
    bool ok = o->cfg.backend == GLINT_BACKEND_AUTO ? usable > 0 : asked_usable;
    return ok ? CLI_EXIT_OK : CLI_EXIT_NO_BACKEND;
}

int cli_create_failed(const struct cli_opts *o, const char *path, const glint_snapshot *snap,
                      glint_status s, const glint_error *err)
{
    (void)snap; /* a snapshot file's backend is chosen as a guest ELF's */
    if (s != GLINT_E_NO_KVM) {
        cli_error("%s: %s", path, err->message);
        return cli_exit_code(s);
    }
    const char *env = env_backend();
    if (o->cfg.backend != GLINT_BACKEND_AUTO) {
        const char *name = glint_backend_name((glint_backend)o->cfg.backend);
        cli_error("cannot use the %s backend here (--backend %s): %s", name, name, err->message);
    } else if (env) {
        cli_error("cannot use the backend GLINT_BACKEND names here (GLINT_BACKEND=%.40s): %s", env,
                  err->message);
    } else {
        cli_error("cannot run guests here: %s", err->message);
    }
    return cli_exit_code(s);
}
