/*
 * main.c - glint, the command-line tool: run a function of a glint guest in
 * a fresh sandbox (KVM micro-VM or jailed process), list the guest's
 * functions or the backends this host can use, or save a snapshot of an
 * initialized guest.  See docs/cli.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* "512K", "1M" or plain bytes, for the defaults shown by --help. */
static const char *size_text(size_t v, char *buf, size_t size)
{
    if (v && v % (1u << 20) == 0)
        snprintf(buf, size, "%zuM", v >> 20);
    else if (v && v % 1024 == 0)
        snprintf(buf, size, "%zuK", v >> 10);
    else
        snprintf(buf, size, "%zu", v);
    return buf;
}

static void print_help(void)
{
    glint_config d;
    glint_config_default(&d);
    char heap[32], stack[32], in[32], out[32];
    printf("usage: glint [OPTIONS] call GUEST FUNCTION [ARG...]\n"
           "       glint [OPTIONS] info GUEST\n"
           "       glint [OPTIONS] info --host\n"
           "       glint [OPTIONS] snapshot GUEST.elf -o FILE\n"
           "       glint --help | --version\n"
           "\n"
           "Runs a function of a glint guest (a static x86-64 ELF built with glint-cc)\n"
           "in a fresh sandbox (a KVM micro-VM or a jailed process, see --backend) and\n"
           "prints its result.  GUEST is a guest ELF, a WebAssembly module (.wasm,\n"
           "run by glint's built-in runtime, see docs/wasm.md) or a snapshot file made\n"
           "by glint snapshot (told apart by their first bytes).\n"
           "\n"
           "Commands:\n"
           "  call GUEST FUNCTION [ARG...]\n"
           "                 call FUNCTION with the ARGs converted by its signature and\n"
           "                 print the result on standard output\n"
           "  info GUEST     list the guest's functions with their signatures (no sandbox);\n"
           "                 for a .wasm, then its exports glint cannot call, as\n"
           "                 lines \"# name (wasm type): why\"\n"
           "  info --host    list the backends, whether this host can use each (how, or why\n"
           "                 not) and the one auto selects; exit 6 if none is usable\n"
           "                 (with --backend kvm or process: if that one is not)\n"
           "  snapshot GUEST.elf -o FILE\n"
           "                 create a sandbox with the options below, run the guest's\n"
           "                 initialization and save a snapshot of it to FILE; a call\n"
           "                 from FILE starts from there without initializing again\n"
           "\n"
           "Options (before or after the command; `--` ends them; --opt=VALUE works too):\n"
           "  --timeout MS   time limit of the guest's initialization and of the call,\n"
           "                 in milliseconds; 0 = none (default %u)\n"
           "  --heap SIZE    guest heap (default %s)\n"
           "  --stack SIZE   guest stack (default %s)\n"
           "  --input SIZE   buffer for the arguments (default %s)\n"
           "  --output SIZE  buffer for the result (default %s)\n"
           "  --backend B    where the guest runs: kvm (a KVM micro-VM, needs /dev/kvm),\n"
           "                 process (a seccomp-jailed child process) or auto (default:\n"
           "                 $GLINT_BACKEND if set, else kvm if usable here, else process)\n"
           "  --raw          write a string or bytes result as is, without a newline\n"
           "  --weekday      give the guest the host function GetWeekday() -> string\n"
           "                 (today's weekday name; examples/hello needs it)\n"
           "  --no-seccomp   run the call without the system-call filter (by default\n"
           "                 glint call runs the guest under seccomp: a host function\n"
           "                 making a forbidden system call kills glint with SIGSYS)\n"
           "  --core-dump DIR  on a guest failure, write an ELF core file of the guest\n"
           "                 into DIR (core.FUNCTION.PID.N; open it with gdb GUEST.elf CORE)\n"
           "  --gdb PORT     wait for gdb on 127.0.0.1:PORT before the guest runs, and let\n"
           "                 it debug the guest (target remote :PORT); no time limit\n"
           "                 unless --timeout is given\n"
           "  --trace FILE   write the run's spans (create, init, the call, its host calls\n"
           "                 and the guest's glint_span_begin/end) to FILE as Chrome\n"
           "                 trace-event JSON, for ui.perfetto.dev or chrome://tracing\n"
           "  --log-level L  the guest's glint_log messages printed on standard error:\n"
           "                 off, error, warn (default), info, debug or trace; messages\n"
           "                 above it are not even formatted in the guest\n"
           "  --profile FILE sample the guest's stack at 1000 Hz while it runs and write\n"
           "                 the folded stacks to FILE and a flame graph to FILE.svg\n"
           "  -o FILE        where glint snapshot writes the snapshot (replaced atomically)\n"
           "  -h, --help     show this help\n"
           "  -V, --version  show the version\n"
           "SIZE is a number of bytes, or a number followed by K, M or G (x1024).\n"
           "The guest can call only the host function print (to standard output),\n"
           "plus GetWeekday with --weekday.\n"
           "A snapshot file fixes the sizes, the time limit and the host functions when\n"
           "it is taken: with one, --timeout, --heap, --stack, --input and --output are\n"
           "refused, and a snapshot taken with --weekday needs --weekday again.  Its CPU\n"
           "state is backend-neutral: it runs on either backend (--backend chooses).\n",
           d.timeout_ms, size_text(d.heap_size, heap, sizeof heap),
           size_text(d.stack_size, stack, sizeof stack), size_text(d.input_size, in, sizeof in),
           size_text(d.output_size, out, sizeof out));
    printf("\n"
           "Arguments, by parameter type:\n"
           "  bool               true, false, 1 or 0\n"
           "  int32 ... uint64   decimal, or hex with 0x; a leading - only for signed types\n"
           "  float, double      a C floating-point number (1.5, -2e10, 0x1p-3, inf, nan)\n"
           "  string             the word as given (valid UTF-8)\n"
           "  bytes              hex digits in pairs (0x optional), or @FILE for the bytes\n"
           "                     of a file, @- for standard input\n"
           "Words that start with -- are options: put such an argument after `--`.\n"
           "\n"
           "Result on standard output, then a newline: nothing for void; true or false;\n"
           "decimal integers; floats in the fewest digits that read back exactly;\n"
           "strings as they are; bytes as lowercase hex.  With --raw, strings and bytes\n"
           "are written unmodified and without the newline.\n"
           "\n"
           "Exit codes:\n"
           "  0  success\n"
           "  1  internal error (out of memory, unexpected hypervisor failure, write error,\n"
           "     including a snapshot file that cannot be written)\n"
           "  2  usage error: bad option, unknown function, argument that does not parse\n"
           "     or does not fit the signature, an option a snapshot file fixes (such as\n"
           "     --timeout), a host function a snapshot file expects that glint cannot\n"
           "     provide, a bad GLINT_BACKEND\n"
           "  3  invalid guest image or snapshot file: unreadable, not ELF, wrong\n"
           "     architecture, ABI mismatch or missing note, malformed; a snapshot file\n"
           "     that is corrupt, truncated, or for another ABI, format or CPU\n"
           "  4  the guest failed: abort, exception, stack overflow, out of memory,\n"
           "     shutdown, bad data from the guest, access outside its memory, an\n"
           "     error returned by the guest function\n"
           "  5  time limit hit, or call cancelled (SIGINT, SIGTERM)\n"
           "  6  no backend this host can use for what was asked (e.g. --backend kvm\n"
           "     without /dev/kvm)\n"
           "Every failure prints one line on standard error: \"glint: <what and where>\".\n");
}

static int finish_stdout(void)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return CLI_EXIT_OK;
    cli_error("writing to standard output: %s", strerror(errno));
    return CLI_EXIT_INTERNAL;
}

static int dispatch(const struct cli_opts *o)
{
    const char *cmd = o->command;
    if (o->help || (cmd && !strcmp(cmd, "help"))) {
        print_help();
        return finish_stdout();
    }
    if (o->version || (cmd && !strcmp(cmd, "version"))) {
        puts("glint " GLINT_VERSION_STRING);
        return finish_stdout();
    }
    if (!cmd) {
        cli_error("no command given (usage: glint call GUEST FUNCTION [ARG...], "
                  "glint info GUEST, glint info --host or glint snapshot GUEST.elf -o FILE; "
                  "see glint --help)");
        return CLI_EXIT_USAGE;
    }
    bool is_call = !strcmp(cmd, "call"), is_info = !strcmp(cmd, "info");
    bool is_snap = !strcmp(cmd, "snapshot");
    if (!is_call && !is_info && !is_snap) {
        cli_error("unknown command '%.64s' (commands: call, info, snapshot; see glint --help)",
                  cmd);
        return CLI_EXIT_USAGE;
    }
    if (o->out_path && !is_snap) {
        cli_error("-o FILE is for glint snapshot only, not for %s", cmd);
        return CLI_EXIT_USAGE;
    }
    if (o->host && !is_info) {
        cli_error("--host is for glint info only, not for %s", cmd);
        return CLI_EXIT_USAGE;
    }
    int rc = cli_check_config(o);
    if (rc >= 0)
        return rc;
    return is_call ? cli_cmd_call(o) : is_info ? cli_cmd_info(o) : cli_cmd_snapshot(o);
}

/* Puts /dev/null on any of fds 0-2 that is closed, before anything else
 * opens a descriptor: otherwise the guest's memfd or a KVM descriptor could
 * become "standard output" and printf would write into it. */
static void open_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
            (void)open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY); /* lowest free: fd */
}

int main(int argc, char **argv)
{
    open_std_fds();
    struct cli_opts o;
    int rc = cli_opts_parse(argc, argv, &o);
    if (rc < 0)
        rc = dispatch(&o);
    cli_opts_free(&o);
    return rc;
}
