/*
 * snap.c - `glint snapshot GUEST.elf -o FILE`, and snapshot files given to
 * `glint call` and `glint info` in place of a guest ELF.
 *
 * A snapshot fixes the memory layout, the time limit and the set of host
 * functions when it is taken.  So with a snapshot file the size options and
 * --timeout are refused, and every host function it expects must be one
 * glint can give: print (always there) or GetWeekday (with --weekday).  Its
 * CPU state is backend-neutral: --backend chooses, as for a guest ELF.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* The first eight bytes of every snapshot file (docs/snapshots.md). */
#define SNAPSHOT_MAGIC "GLINTSNP"

bool cli_is_snapshot(const char *path)
{
    /* O_NONBLOCK: a FIFO must not hang us; only regular files are read. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return false;
    struct stat st;
    char magic[8];
    bool yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
               pread(fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic &&
               memcmp(magic, SNAPSHOT_MAGIC, sizeof magic) == 0;
    close(fd);
    return yes;
}

static bool same_signature(const glint_function *a, const glint_function *b)
{
    if (a->ret != b->ret || a->nparams != b->nparams)
        return false;
    for (uint32_t i = 0; i < a->nparams; i++)
        if (a->params[i] != b->params[i])
            return false;
    return true;
}

/* Can glint give the snapshot's host function `want`?  -1 or an exit code. */
static int check_host(const struct cli_opts *o, const char *path, const glint_function *want)
{
    static const glint_function print_fn = {
        .name = "print", .ret = GLINT_VOID, .nparams = 1, .params = {GLINT_STRING}};
    const glint_function *mine = !strcmp(want->name, print_fn.name)        ? &print_fn
                                 : !strcmp(want->name, cli_weekday_fn.name) ? &cli_weekday_fn
                                                                            : NULL;
    char sig[512], have[512];
    glint_function_format(want, sig, sizeof sig);
    if (!mine) {
        cli_error("%s: the snapshot expects the host function %s, which glint cannot provide "
                  "(it has print, and GetWeekday with --weekday)", path, sig);
        return CLI_EXIT_USAGE;
    }
    if (!same_signature(mine, want)) {
        glint_function_format(mine, have, sizeof have);
        cli_error("%s: the snapshot expects the host function %s, but glint's is %s", path, sig,
                  have);
        return CLI_EXIT_USAGE;
    }
    if (mine == &cli_weekday_fn && !o->weekday) {
        cli_error("%s: the snapshot expects the host function %s: give --weekday to provide it",
                  path, sig);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int cli_open_snapshot(const struct cli_opts *o, const char *path, bool for_call,
                      glint_snapshot **out)
{
    *out = NULL;
    if (o->size_opt) {
        cli_error("%s: --%s cannot be used with a snapshot file: its memory layout was fixed "
                  "when it was taken (glint snapshot --%s ...)", path, o->size_opt, o->size_opt);
        return CLI_EXIT_USAGE;
    }
    if (o->timeout_given) {
        cli_error("%s: --timeout cannot be used with a snapshot file: its time limit was fixed "
                  "when it was taken (glint snapshot --timeout ...)", path);
        return CLI_EXIT_USAGE;
    }
    glint_error err;
    glint_status s = glint_snapshot_load(path, out, &err);
    if (s != GLINT_OK) {
        cli_error("%s", err.message); /* the library's message names the file */
        return cli_exit_code(s);
    }
    size_t n = for_call ? glint_snapshot_host_count(*out) : 0;
    for (size_t i = 0; i < n; i++) {
        int rc = check_host(o, path, glint_snapshot_host_function(*out, i));
        if (rc >= 0) {
            glint_snapshot_free(*out);
            *out = NULL;
            return rc;
        }
    }
    return -1;
}

glint_status cli_register_snapshot_hosts(const struct cli_opts *o, glint_sandbox *sb,
                                         const glint_snapshot *snap)
{
    (void)o; /* check_host made sure --weekday is there if needed */
    size_t n = glint_snapshot_host_count(snap);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(glint_snapshot_host_function(snap, i)->name, cli_weekday_fn.name))
            return cli_register_weekday(sb);
    return GLINT_OK;
}

/* ---- glint snapshot ---- */

/* Creates the sandbox, initializes it and takes the snapshot, with
 * SIGINT/SIGTERM cancelling.  -1 with *out set, or an exit code. */
static int take_snapshot(const struct cli_opts *o, const char *path, const glint_image *img,
                         glint_snapshot **out)
{
    if (cli_guard_start() != 0) {
        cli_error("cannot start the signal thread: %s", strerror(errno));
        return CLI_EXIT_INTERNAL;
    }
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status s = glint_sandbox_create(img, &o->cfg, &sb, &err);
    if (s != GLINT_OK) {
        cli_guard_stop();
        return cli_create_failed(o, path, NULL, s, &err);
    }
    cli_guard_set(sb);
    if (o->weekday)
        s = cli_register_weekday(sb);
    if (s == GLINT_OK && !cli_guard_signal())
        s = glint_sandbox_init(sb);
    if (s == GLINT_OK && !cli_guard_signal())
        s = glint_sandbox_snapshot(sb, out);
    int sig = cli_guard_signal();
    cli_guard_stop();
    int rc = -1;
    if (sig) {
        cli_error("%s: cancelled by %s%s%s", path, sig == SIGINT ? "SIGINT" : "SIGTERM",
                  s != GLINT_OK ? ": " : "", s != GLINT_OK ? glint_sandbox_error(sb)->message : "");
        rc = CLI_EXIT_TIME;
    } else if (s != GLINT_OK) {
        cli_error("%s: %s", path, glint_sandbox_error(sb)->message);
        rc = cli_exit_code(s);
    }
    if (rc >= 0) {
        glint_snapshot_free(*out);
        *out = NULL;
    }
    glint_sandbox_destroy(sb); /* the snapshot does not need it */
    return rc;
}

int cli_cmd_snapshot(const struct cli_opts *o)
{
    if (o->npos != 1 || !o->out_path) {
        cli_error("snapshot takes one guest file and -o FILE%s (usage: glint snapshot GUEST.elf "
                  "-o FILE)", o->npos == 1 ? ", and -o is missing" : "");
        return CLI_EXIT_USAGE;
    }
    const char *path = o->pos[0];
    if (cli_is_snapshot(path)) {
        cli_error("%s is already a snapshot; glint snapshot takes a guest ELF", path);
        return CLI_EXIT_USAGE;
    }
    glint_image *img = NULL;
    glint_error err;
    glint_status s = glint_image_open_file(path, &img, &err);
    if (s != GLINT_OK) {
        cli_error("%s", err.message);
        return cli_exit_code(s);
    }
    glint_snapshot *snap = NULL;
    int rc = take_snapshot(o, path, img, &snap);
    glint_image_close(img);
    if (rc >= 0)
        return rc;
    s = glint_snapshot_save(snap, o->out_path, &err);
    glint_snapshot_free(snap);
    if (s != GLINT_OK) {
        cli_error("%s", err.message); /* names the output file */
        return s == GLINT_E_NOMEM || s == GLINT_E_IO ? CLI_EXIT_INTERNAL : cli_exit_code(s);
    }
    return CLI_EXIT_OK;
}
