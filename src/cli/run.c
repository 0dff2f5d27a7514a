/*
 * run.c - `glint call` and `glint info`.  The guest file is an ELF or a
 * snapshot file (told apart by its first bytes, see snap.c): a `source`.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- configuration ---- */

static const struct {
    const char *option;
    size_t offset;
} size_options[] = {
    {"--heap", offsetof(glint_config, heap_size)},
    {"--stack", offsetof(glint_config, stack_size)},
    {"--input", offsetof(glint_config, input_size)},
    {"--output", offsetof(glint_config, output_size)},
};

static size_t *config_field(glint_config *cfg, size_t offset)
{
    return (size_t *)((char *)cfg + offset);
}

int cli_check_config(const struct cli_opts *o)
{
    glint_config want = o->cfg, def;
    glint_error err;
    glint_config_default(&def);
    /* One option at a time first, so that the error names the option. */
    for (size_t i = 0; i < sizeof size_options / sizeof size_options[0]; i++) {
        size_t value = *config_field(&want, size_options[i].offset);
        glint_config one = def;
        *config_field(&one, size_options[i].offset) = value;
        if (glint_config_validate(&one, 0, &err) != GLINT_OK) {
            cli_error("%s %zu: %s", size_options[i].option, value, err.message);
            return CLI_EXIT_USAGE;
        }
    }
    if (glint_config_validate(&want, 0, &err) != GLINT_OK) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* ---- info ---- */

/* Prints "Name(int32) -> string" and a newline. */
static void print_function(const glint_function *fn)
{
    char buf[512];
    size_t need = glint_function_format(fn, buf, sizeof buf);
    if (need < sizeof buf) {
        puts(buf);
        return;
    }
    char *big = malloc(need + 1);
    if (big) {
        glint_function_format(fn, big, need + 1);
        puts(big);
    } else {
        puts(buf);
    }
    free(big);
}

/* A guest ELF or a snapshot file: exactly one of img and snap is set. */
struct source {
    glint_image *img;
    glint_snapshot *snap;
};

static int open_source(const struct cli_opts *o, const char *path, bool for_call,
                       struct source *src)
{
    if (cli_is_snapshot(path))
        return cli_open_snapshot(o, path, for_call, &src->snap);
    glint_error err;
    glint_status s = glint_image_open_file(path, &src->img, &err);
    if (s == GLINT_OK)
        return -1;
    cli_error("%s", err.message); /* the library's message names the file */
    return cli_exit_code(s);
}

static void close_source(struct source *src)
{
    glint_image_close(src->img);
    glint_snapshot_free(src->snap);
}

static size_t source_count(const struct source *src)
{
    return src->img ? glint_image_function_count(src->img)
                    : glint_snapshot_function_count(src->snap);
}

static const glint_function *source_function(const struct source *src, size_t i)
{
    return src->img ? glint_image_function(src->img, i) : glint_snapshot_function(src->snap, i);
}

static long source_find(const struct source *src, const char *name)
{
    size_t n = source_count(src);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(source_function(src, i)->name, name))
            return (long)i;
    return -1;
}

static int flush_stdout(void)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return CLI_EXIT_OK;
    cli_error("writing to standard output: %s", strerror(errno));
    return CLI_EXIT_INTERNAL;
}

int cli_cmd_info(const struct cli_opts *o)
{
    if (o->host)
        return cli_cmd_info_host(o);
    if (o->npos != 1) {
        cli_error("info takes one guest file, got %zu words (usage: glint info GUEST.elf)", o->npos);
        return CLI_EXIT_USAGE;
    }
    struct source src = {0};
    int rc = open_source(o, o->pos[0], false, &src);
    if (rc >= 0)
        return rc;
    size_t n = source_count(&src);
    for (size_t i = 0; i < n; i++)
        print_function(source_function(&src, i));
    /* A WebAssembly module's exports that glint cannot call, and why. */
    size_t nu = src.img ? glint_image_unavailable_count(src.img) : 0;
    for (size_t i = 0; i < nu; i++)
        printf("# %s\n", glint_image_unavailable(src.img, i));
    close_source(&src);
    return flush_stdout();
}

/* ---- call ---- */

struct call {
    const struct cli_opts *o;
    const char *path;
    struct source src;
    const glint_function *fn;
    size_t index;
    glint_value args[GLINT_MAX_PARAMS];
    void *owned[GLINT_MAX_PARAMS];
    size_t nargs;
};

/* Looks up the function and converts the arguments by its signature. */
static int prepare(struct call *c)
{
    const char *name = c->o->pos[1];
    long idx = source_find(&c->src, name);
    if (idx < 0) {
        cli_error("%s: no function named '%.64s' (glint info %s lists them)", c->path, name,
                  c->path);
        return CLI_EXIT_USAGE;
    }
    c->index = (size_t)idx;
    c->fn = source_function(&c->src, c->index);
    size_t given = c->o->npos - 2;
    glint_config cfg = c->o->cfg;
    if (c->src.snap)
        glint_snapshot_config(c->src.snap, &cfg); /* its input buffer bounds @FILE */
    if (given != c->fn->nparams) {
        char sig[512];
        glint_function_format(c->fn, sig, sizeof sig);
        cli_error("%s: %s takes %u argument%s, got %zu", c->path, sig, c->fn->nparams,
                  c->fn->nparams == 1 ? "" : "s", given);
        return CLI_EXIT_USAGE;
    }
    for (; c->nargs < given; c->nargs++) {
        size_t k = c->nargs;
        glint_type t = (glint_type)c->fn->params[k];
        char why[768];
        if (cli_value_from_text(t, c->o->pos[2 + k], cfg.input_size, &c->args[k],
                                &c->owned[k], why, sizeof why)) {
            cli_error("%s: %s: argument %zu (%s): %s", c->path, c->fn->name, k + 1,
                      glint_type_name(t), why);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

static int report_cancel(const struct call *c, int sig, glint_status s, const glint_error *err)
{
    const char *signame = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
    if (s != GLINT_OK)
        cli_error("%s: cancelled by %s: %s", c->path, signame, err->message);
    else
        cli_error("%s: %s: cancelled by %s", c->path, c->fn->name, signame);
    return CLI_EXIT_TIME;
}

/* Registers, initializes and calls; *result is valid until sb is destroyed. */
static glint_status run_sandbox(const struct call *c, glint_sandbox *sb, glint_value *result)
{
    glint_status s = GLINT_OK;
    if (c->src.snap)
        s = cli_register_snapshot_hosts(c->o, sb, c->src.snap);
    else if (c->o->weekday)
        s = cli_register_weekday(sb);
    if (s == GLINT_OK && !cli_guard_signal())
        s = glint_sandbox_init(sb);
    if (s == GLINT_OK && !cli_guard_signal())
        s = glint_sandbox_call_index(sb, c->index, c->args, c->nargs, result);
    return s;
}

/* --core-dump and --gdb; -1 if fine (or not asked), else an exit code. */
static int cli_debug_start(const struct cli_opts *o, glint_sandbox *sb)
{
    if (o->core_dir && glint_sandbox_set_core_dump(sb, o->core_dir, 0) != GLINT_OK) {
        cli_error("--core-dump: %s", glint_sandbox_error(sb)->message);
        return CLI_EXIT_USAGE;
    }
    if (o->gdb_port >= 0) {
        if (glint_sandbox_debug_listen(sb, (uint16_t)o->gdb_port, NULL) != GLINT_OK) {
            cli_error("--gdb: %s", glint_sandbox_error(sb)->message);
            return CLI_EXIT_INTERNAL;
        }
        cli_error("waiting for gdb on 127.0.0.1:%d (gdb GUEST.elf -ex 'target remote :%d')",
                  o->gdb_port, o->gdb_port);
    }
    return -1;
}

static int call_in_sandbox(const struct call *c)
{
    if (cli_guard_start() != 0) {
        cli_error("cannot start the signal thread: %s", strerror(errno));
        return CLI_EXIT_INTERNAL;
    }
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = c->src.img ? glint_sandbox_create(c->src.img, &c->o->cfg, &sb, &err)
                                : glint_sandbox_create_from_snapshot_on(
                                      c->src.snap, (glint_backend)c->o->cfg.backend, &sb, &err);
    if (s != GLINT_OK) {
        cli_guard_stop();
        return cli_create_failed(c->o, c->path, c->src.snap, s, &err);
    }
    cli_guard_set(sb);
    int drc = cli_debug_start(c->o, sb); /* before the filter: it starts a thread */
    if (drc >= 0) {
        cli_guard_set(NULL);
        cli_guard_stop();
        glint_sandbox_destroy(sb);
        return drc;
    }
    glint_sandbox_set_log(sb, c->o->log_level, NULL, NULL); /* stderr, at --log-level */
    int rc = cli_profile_start(c->o, sb); /* before the filter: it starts threads */
    if (rc < 0)
        rc = cli_seccomp_start(c->o);
    if (rc >= 0) {
        cli_profile_finish(c->o, sb);
        cli_guard_set(NULL);
        cli_guard_stop();
        glint_sandbox_destroy(sb);
        return rc;
    }
    glint_value result = {.type = GLINT_VOID};
    s = run_sandbox(c, sb, &result);
    int prc = cli_profile_finish(c->o, sb);
    int sig = cli_guard_signal();
    cli_guard_stop();
    if (sig)
        rc = report_cancel(c, sig, s, glint_sandbox_error(sb));
    else if (s != GLINT_OK) {
        cli_error("%s: %s", c->path, glint_sandbox_error(sb)->message);
        if (c->o->core_dir && glint_sandbox_core_path(sb))
            cli_error("core dump written to %s (gdb %s %s)", glint_sandbox_core_path(sb),
                      c->path, glint_sandbox_core_path(sb));
        rc = cli_exit_code(s);
    } else if (cli_value_print(&result, c->o->raw) != 0) {
        cli_error("writing the result to standard output: %s", strerror(errno));
        rc = CLI_EXIT_INTERNAL;
    } else
        rc = prc >= 0 ? prc : CLI_EXIT_OK;
    glint_sandbox_destroy(sb);
    return rc;
}

int cli_cmd_call(const struct cli_opts *o)
{
    if (o->npos < 2) {
        cli_error("call needs a guest file and a function name "
                  "(usage: glint call GUEST.elf FUNCTION [ARG...])");
        return CLI_EXIT_USAGE;
    }
    struct call c = {.o = o, .path = o->pos[0]};
    int rc = open_source(o, c.path, true, &c.src);
    if (rc >= 0)
        return rc;
    rc = prepare(&c);
    if (rc < 0)
        rc = cli_trace_start(o); /* before the filter: it starts a thread */
    if (rc < 0) {
        rc = call_in_sandbox(&c);
        int trc = cli_trace_finish(o);
        if (rc == CLI_EXIT_OK && trc >= 0)
            rc = trc;
    }
    for (size_t k = 0; k < GLINT_MAX_PARAMS; k++)
        free(c.owned[k]);
    close_source(&c.src);
    return rc;
}
