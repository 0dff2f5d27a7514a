/*
 * options.c - the command line.
 *
 * Options are long (--name VALUE or --name=VALUE) and may stand anywhere,
 * before or after the command.  `--` ends them: every later word is
 * positional.  Words starting with a single '-' are positional once the
 * command is known, so that `glint call g.elf Neg -5` passes -5 as an
 * argument; before the command, -h and -V are the short forms of --help
 * and --version and any other '-' word is an unknown option.  `-o FILE`
 * (the output of `glint snapshot`) is an option before the command and
 * after `snapshot`; after another command it is an ordinary word.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum opt_kind { OPT_FLAG, OPT_SIZE, OPT_TIMEOUT, OPT_BACKEND, OPT_LOG_LEVEL, OPT_PROFILE, OPT_TRACE, OPT_CORE_DUMP, OPT_GDB };

struct opt {
    const char *name;
    enum opt_kind kind;
    size_t offset; /* OPT_FLAG: in struct cli_opts; OPT_SIZE: in glint_config */
};

static const struct opt options[] = {
    {"timeout", OPT_TIMEOUT, 0},
    {"backend", OPT_BACKEND, 0},
    {"core-dump", OPT_CORE_DUMP, 0},
    {"gdb", OPT_GDB, 0},
    {"log-level", OPT_LOG_LEVEL, 0},
    {"profile", OPT_PROFILE, 0},
    {"trace", OPT_TRACE, 0},
    {"heap", OPT_SIZE, offsetof(glint_config, heap_size)},
    {"stack", OPT_SIZE, offsetof(glint_config, stack_size)},
    {"input", OPT_SIZE, offsetof(glint_config, input_size)},
    {"output", OPT_SIZE, offsetof(glint_config, output_size)},
    {"raw", OPT_FLAG, offsetof(struct cli_opts, raw)},
    {"weekday", OPT_FLAG, offsetof(struct cli_opts, weekday)},
    {"no-seccomp", OPT_FLAG, offsetof(struct cli_opts, no_seccomp)},
    {"host", OPT_FLAG, offsetof(struct cli_opts, host)},
    {"help", OPT_FLAG, offsetof(struct cli_opts, help)},
    {"version", OPT_FLAG, offsetof(struct cli_opts, version)},
};

static const struct opt *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len))
            return &options[i];
    return NULL;
}

/* Applies the option's value; returns -1 or an exit code after the error. */
static int apply_value(const struct opt *op, const char *value, struct cli_opts *o)
{
    const char *why;
    if (op->kind == OPT_CORE_DUMP) {
        if (!*value) {
            cli_error("--core-dump needs a directory");
            return CLI_EXIT_USAGE;
        }
        o->core_dir = value;
        return -1;
    }
    if (op->kind == OPT_GDB) {
        uint64_t port;
        why = cli_parse_unsigned(value, 65535, &port);
        if (why || port == 0) {
            cli_error("--gdb: '%.64s' is not a port (1-65535)", value);
            return CLI_EXIT_USAGE;
        }
        o->gdb_port = (int)port;
        if (!o->timeout_given)
            o->cfg.timeout_ms = 0; /* the guest stands still while gdb looks at it */
        return -1;
    }
    if (op->kind == OPT_LOG_LEVEL) {
        glint_error err;
        if (glint_log_level_parse(value, &o->log_level, &err) != GLINT_OK) {
            cli_error("--log-level: '%.64s' is not a level (off, error, warn, info, debug, trace)",
                      value);
            return CLI_EXIT_USAGE;
        }
        return -1;
    }
    if (op->kind == OPT_PROFILE) {
        if (!*value) {
            cli_error("--profile needs a file name");
            return CLI_EXIT_USAGE;
        }
        o->profile_path = value;
        return -1;
    }
    if (op->kind == OPT_TRACE) {
        if (!*value) {
            cli_error("--trace needs a file name");
            return CLI_EXIT_USAGE;
        }
        o->trace_path = value;
        return -1;
    }
    if (op->kind == OPT_BACKEND) {
        glint_backend b;
        glint_error err;
        if (glint_backend_parse(value, &b, &err) != GLINT_OK) {
            cli_error("--backend: '%.64s' is not a backend (auto, kvm or process)", value);
            return CLI_EXIT_USAGE;
        }
        o->cfg.backend = (int)b;
        return -1;
    }
    if (op->kind == OPT_TIMEOUT) {
        uint64_t ms;
        why = cli_parse_unsigned(value, UINT32_MAX, &ms);
        if (!why)
            o->cfg.timeout_ms = (uint32_t)ms;
    } else {
        size_t size;
        why = cli_parse_size(value, &size);
        if (!why)
            *(size_t *)((char *)&o->cfg + op->offset) = size;
    }
    if (!why) {
        if (op->kind == OPT_TIMEOUT)
            o->timeout_given = true;
        else if (!o->size_opt)
            o->size_opt = op->name;
        return -1;
    }
    if (op->kind == OPT_TIMEOUT)
        why = strcmp(why, "is out of range") ? "is not a number of milliseconds (0 = no limit)"
                                             : "is too large (at most 4294967295 ms)";
    cli_error("--%s: '%.64s' %s", op->name, value, why);
    return CLI_EXIT_USAGE;
}

/* argv[*i] starts with "--" and is not "--".  May consume argv[*i + 1]. */
static int long_option(int argc, char **argv, int *i, struct cli_opts *o)
{
    const char *word = argv[*i] + 2;
    const char *eq = strchr(word, '=');
    size_t len = eq ? (size_t)(eq - word) : strlen(word);
    const struct opt *op = find_option(word, len);
    if (!op) {
        cli_error("unknown option '--%.*s' (see glint --help)", (int)(len > 64 ? 64 : len), word);
        return CLI_EXIT_USAGE;
    }
    if (op->kind == OPT_FLAG) {
        if (eq) {
            cli_error("option --%s takes no value", op->name);
            return CLI_EXIT_USAGE;
        }
        *(bool *)((char *)o + op->offset) = true;
        return -1;
    }
    if (eq)
        return apply_value(op, eq + 1, o);
    if (*i + 1 >= argc) {
        cli_error("option --%s needs a value", op->name);
        return CLI_EXIT_USAGE;
    }
    return apply_value(op, argv[++*i], o);
}

/* `-o FILE`: before any command, or after `snapshot`. */
static int out_option(int argc, char **argv, int *i, struct cli_opts *o)
{
    if (*i + 1 >= argc) {
        cli_error("option -o needs a file name");
        return CLI_EXIT_USAGE;
    }
    if (o->out_path) {
        cli_error("option -o given twice ('%.64s' and '%.64s')", o->out_path, argv[*i + 1]);
        return CLI_EXIT_USAGE;
    }
    o->out_path = argv[++*i];
    return -1;
}

static int short_option(const char *word, struct cli_opts *o)
{
    if (!strcmp(word, "-h"))
        o->help = true;
    else if (!strcmp(word, "-V"))
        o->version = true;
    else {
        cli_error("unknown option '%.64s' (see glint --help)", word);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int cli_opts_parse(int argc, char **argv, struct cli_opts *o)
{
    memset(o, 0, sizeof *o);
    glint_config_default(&o->cfg);
    o->gdb_port = -1;
    o->log_level = GLINT_LOG_WARN;
    if (argc < 1)
        return -1;
    o->pos = calloc((size_t)argc, sizeof *o->pos);
    if (!o->pos) {
        cli_error("out of memory");
        return CLI_EXIT_INTERNAL;
    }
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = -1;
        if (!options_done && !strcmp(a, "--"))
            options_done = true;
        else if (!options_done && a[0] == '-' && a[1] == '-')
            rc = long_option(argc, argv, &i, o);
        else if (!options_done && !strcmp(a, "-o") &&
                 (!o->command || !strcmp(o->command, "snapshot")))
            rc = out_option(argc, argv, &i, o);
        else if (!options_done && !o->command && a[0] == '-' && a[1] != '\0')
            rc = short_option(a, o);
        else if (!o->command)
            o->command = a;
        else
            o->pos[o->npos++] = argv[i];
        if (rc >= 0)
            return rc;
    }
    return -1;
}

void cli_opts_free(struct cli_opts *o)
{
    free(o->pos);
    o->pos = NULL;
    o->npos = 0;
}
