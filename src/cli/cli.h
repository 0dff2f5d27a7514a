/*
 * cli.h - internals of the `glint` command-line tool.
 *
 *   main.c     command dispatch, --help, --version
 *   options.c  the command line: options anywhere, `--` ends them
 *   parse.c    text -> numbers, sizes, hex, UTF-8 checks (pure functions)
 *   value.c    text -> glint_value by parameter type; result -> stdout
 *   run.c      `glint call` and `glint info`, from an ELF or a snapshot file
 *   snap.c     `glint snapshot`; snapshot files for call and info
 *   backend.c  `glint info --host`; reporting a backend this host cannot use
 *   guard.c    SIGINT/SIGTERM -> glint_sandbox_interrupt from a thread
 *   weekday.c  the optional host function GetWeekday() -> string
 *   report.c   one-line errors on stderr, status -> exit code
 *   seccomp.c  the system-call filter of `glint call` (off with --no-seccomp)
 *   trace.c    glint call --trace: spans to a Chrome trace-event file
 */
#ifndef GLINT_CLI_H
#define GLINT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glint/glint.h>

/* Exit codes: documented in --help and docs/cli.md; keep all three in step. */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_INTERNAL = 1, /* out of memory, unexpected hypervisor failure, write error */
    CLI_EXIT_USAGE = 2,    /* bad option, unknown function, argument that does not fit */
    CLI_EXIT_IMAGE = 3,    /* guest file unreadable, not a valid glint guest or snapshot */
    CLI_EXIT_GUEST = 4,    /* the guest failed */
    CLI_EXIT_TIME = 5,     /* time limit hit or call cancelled */
    CLI_EXIT_NO_BACKEND = 6, /* no backend this host can use for what was asked
                                (e.g. --backend kvm without /dev/kvm) */
};

/* Everything the command line says.  Strings point into argv. */
struct cli_opts {
    glint_config cfg;      /* defaults, then --timeout/--heap/--stack/--input/--output,
                              --backend (cfg.backend) */
    const char *size_opt;  /* the first of --heap/--stack/--input/--output given, or NULL */
    bool timeout_given;    /* --timeout */
    const char *out_path;  /* -o FILE (glint snapshot) */
    bool raw;              /* --raw */
    bool weekday;          /* --weekday */
    bool no_seccomp;       /* --no-seccomp */
    bool host;             /* --host (glint info --host) */
    bool help;             /* -h, --help, or the `help` command */
    bool version;          /* -V, --version, or the `version` command */
    unsigned log_level;    /* --log-level (default GLINT_LOG_WARN) */
    const char *profile_path; /* --profile FILE: folded stacks there, the SVG in FILE.svg */
    const char *core_dir;  /* --core-dump DIR: core files of guest failures there */
    int gdb_port;          /* --gdb PORT: wait for gdb on 127.0.0.1:PORT (-1: none) */
    const char *trace_path; /* --trace FILE: Chrome trace-event JSON of the run */
    const char *command;   /* first positional word; NULL if none */
    char **pos;            /* positional words after the command (owned array) */
    size_t npos;
};

/* ---- options.c ---- */
/*
 * Parses argv into *o (which it initializes).  Returns -1 to go on, or an
 * exit code after printing the one-line error.  On both paths free *o with
 * cli_opts_free.
 */
int cli_opts_parse(int argc, char **argv, struct cli_opts *o);
void cli_opts_free(struct cli_opts *o);

/* ---- parse.c: each returns NULL on success or a short reason ---- */
/* Integers: optional sign, then decimal digits, or 0x/0X and hex digits. */
const char *cli_parse_signed(const char *s, int64_t min, int64_t max, int64_t *out);
const char *cli_parse_unsigned(const char *s, uint64_t max, uint64_t *out);
/* Sizes: decimal bytes, optionally followed by K, M or G (powers of 1024). */
const char *cli_parse_size(const char *s, size_t *out);
const char *cli_parse_bool(const char *s, bool *out);
const char *cli_parse_f32(const char *s, float *out);
const char *cli_parse_f64(const char *s, double *out);
/* Hex digits with an optional 0x/0X prefix; *out is malloc'd (NULL if len 0). */
const char *cli_parse_hex(const char *s, uint8_t **out, size_t *len);
/* Offset of the first byte that breaks UTF-8, or -1 if all of s is valid. */
long cli_utf8_check(const char *s, size_t len);

/* ---- value.c ---- */
/*
 * Converts argument text to a value of type t.  Bytes from hex or @FILE
 * are malloc'd into *owned (free it; NULL if nothing was allocated); a file
 * larger than max_file bytes is refused.  Returns NULL on success or writes
 * a reason into why and returns it.
 */
const char *cli_value_from_text(glint_type t, const char *text, size_t max_file, glint_value *out,
                                void **owned, char *why, size_t whysize);
/* Writes v to stdout as the docs say.  Returns 0, or -1 on a write error. */
int cli_value_print(const glint_value *v, bool raw);

/* ---- run.c ---- */
int cli_cmd_call(const struct cli_opts *o);
int cli_cmd_info(const struct cli_opts *o);
/* Checks the configuration; names the option at fault.  -1 if fine. */
int cli_check_config(const struct cli_opts *o);

/* ---- snap.c ---- */
/* True if `path` is a regular file that starts with the snapshot magic. */
bool cli_is_snapshot(const char *path);
/*
 * Loads the snapshot at `path` for call or info: refuses options that a
 * snapshot fixes (sizes, time limit) and, for call (`for_call`), host
 * functions glint cannot provide.  Returns -1 with *out set, or an exit
 * code after the one-line error.
 */
int cli_open_snapshot(const struct cli_opts *o, const char *path, bool for_call,
                      glint_snapshot **out);
/* Registers the host functions `snap` expects that are not there by default. */
glint_status cli_register_snapshot_hosts(const struct cli_opts *o, glint_sandbox *sb,
                                         const glint_snapshot *snap);
int cli_cmd_snapshot(const struct cli_opts *o);

/* ---- backend.c ---- */
/* `glint info --host`: the backends, whether this host can use each, and
 * what auto selects. */
int cli_cmd_info_host(const struct cli_opts *o);
/*
 * Reports that creating the sandbox for `path` failed with status `s`
 * (*err), naming the backend when this host cannot use it (exit 6).  `snap`
 * (the snapshot file's, or NULL) changes nothing: a file runs on either
 * backend.  Returns the exit code.
 */
int cli_create_failed(const struct cli_opts *o, const char *path, const glint_snapshot *snap,
                      glint_status s, const glint_error *err);

/* ---- guard.c ---- */
/*
 * From cli_guard_start until cli_guard_stop, SIGINT and SIGTERM are blocked
 * in the calling thread (and so in threads it creates later) and taken by a
 * helper thread, which interrupts the sandbox set with cli_guard_set.  Start
 * it before anything creates threads.  Returns 0 or -1 (errno set).
 */
int cli_guard_start(void);
/* The sandbox to interrupt, or NULL; call with NULL before destroying it. */
void cli_guard_set(glint_sandbox *sb);
/* The signal that cancelled the run, or 0. */
int cli_guard_signal(void);
/* Stops interrupting; later signals are ignored until the process exits. */
void cli_guard_stop(void);

/* ---- weekday.c ---- */
glint_status cli_register_weekday(glint_sandbox *sb);
/* The signature GetWeekday is registered with. */
extern const glint_function cli_weekday_fn;

/* ---- seccomp.c ---- */
/*
 * Unless --no-seccomp: prepares what host functions need (time zone) and
 * installs glint's seccomp filter in kill-process mode on the calling
 * thread, which then runs the guest.  Returns -1, or an exit code after
 * the one-line error.
 */
int cli_seccomp_start(const struct cli_opts *o);

/* ---- profile.c: glint call --profile ---- */
/* Starts the profiler and, before the seccomp filter, the thread that
 * writes its files at the end; -1 if fine (or not asked), else an exit code. */
int cli_profile_start(const struct cli_opts *o, glint_sandbox *sb);
/* Stops it and writes FILE and FILE.svg; -1 if fine (or not asked). */
int cli_profile_finish(const struct cli_opts *o, glint_sandbox *sb);

/* ---- trace.c: glint call --trace ---- */
/* Opens the file and starts the thread that writes it (before the seccomp
 * filter); the spans go to a buffer meanwhile.  -1 if fine (or not asked),
 * else an exit code. */
int cli_trace_start(const struct cli_opts *o);
/* Writes the spans and closes the file; -1 if fine (or not asked). */
int cli_trace_finish(const struct cli_opts *o);

/* ---- report.c ---- */
/* Prints "glint: <message>\n" on stderr, control characters escaped. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The exit code for a library status. */
int cli_exit_code(glint_status s);

#endif /* GLINT_CLI_H */
