/*
 * peers.c - the same trivial function (add two int32s and return) run by
 * glint's peers, each in this same run, each as child processes:
 *
 *   peer_posix_spawn        posix_spawn + wait of a static C program
 *   peer_fork_zygote        fork of this (initialized) process; the child
 *                           computes and exits, the parent waits
 *   peer_bwrap              bubblewrap --unshare-all running the static program
 *   peer_node_vm_context    Node.js vm.createContext + runInContext
 *   peer_node_wasm_instance Node.js new WebAssembly.Instance + call
 *   peer_qemu_microvm       QEMU -M microvm booting a guest that writes one
 *                           byte to isa-debug-exit (accel kvm, else tcg)
 *
 * A peer that cannot run here is recorded as skipped with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define ADD_A "3"
#define ADD_B "4"
#define ADD_SUM 7
#define QEMU_EXIT 67 /* (0x21 << 1) | 1, see guests/qemu-pvh.S */

/* posix_spawn + waitpid of argv; the exit status, or -1.  quiet: child's
 * stdout and stderr go to /dev/null. */
static int spawn_wait(char *const argv[], int quiet)
{
    posix_spawn_file_actions_t fa, *pfa = NULL;
    if (quiet) {
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        pfa = &fa;
    }
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], pfa, NULL, argv, environ);
    if (pfa)
        posix_spawn_file_actions_destroy(pfa);
    if (e != 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Times `n` runs of argv (after `warm`), each expected to exit `want`. */
static void time_spawns(const char *name, char *const argv[], int want, int quiet, size_t warm,
                        size_t n, const char *note)
{
    char log[4200];
    snprintf(log, sizeof log, "%s/bench/%s.log", g_opts.build_dir, name);
    int r = run_command(argv, log);
    if (r != want) {
        result_skip(name, "a test run of %s exited %d, not %d (log: %s)", argv[0], r, want, log);
        return;
    }
    struct samples s = {0};
    size_t bad = 0;
    for (size_t i = 0; i < warm + n; i++) {
        uint64_t t0 = now_ns();
        r = spawn_wait(argv, quiet);
        uint64_t t1 = now_ns();
        if (r != want)
            bad++;
        else if (i >= warm)
            samples_add(&s, (double)(t1 - t0));
    }
    struct result *res = result_add(name, &s);
    if (note)
        result_note(res, "%s", note);
    if (bad)
        result_note(res, "%zu runs exited wrongly", bad);
}

static void peer_fork(void)
{
    struct samples s = {0};
    size_t warm = iters(50, 5), n = iters(1000, 50), bad = 0;
    volatile int32_t a = 3, b = 4;
    for (size_t i = 0; i < warm + n; i++) {
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0)
            _exit((int)((uint32_t)a + (uint32_t)b) & 0xff);
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
            WEXITSTATUS(st) != ADD_SUM) {
            bad++;
            continue;
        }
        if (i >= warm)
            samples_add(&s, (double)(now_ns() - t0));
    }
    struct result *r = result_add("peer_fork_zygote", &s);
    result_note(r, "fork + _exit(a+b) + waitpid from the bench process");
    if (bad)
        result_note(r, "%zu forks failed", bad);
}

static void peer_bwrap(const char *add)
{
    const char *bwrap = which("bwrap");
    if (!bwrap) {
        result_skip("peer_bwrap", "bwrap not installed (scripts/bench-deps.sh installs bubblewrap)");
        return;
    }
    char bw[4096], dir[4096];
    snprintf(bw, sizeof bw, "%s", bwrap);
    snprintf(dir, sizeof dir, "%s/bench", g_opts.build_dir);
    char *argv[] = {bw, "--unshare-all", "--ro-bind", dir, "/peer", "/peer/add-static", ADD_A,
                    ADD_B, NULL};
    (void)add;
    time_spawns("peer_bwrap", argv, ADD_SUM, 0, iters(10, 2), iters(300, 20),
                "bwrap --unshare-all --ro-bind <dir> /peer /peer/add-static");
}

/* Runs node-peer.js and records the percentiles it prints (one JSON object
 * per line, in the fixed form node-peer.js writes). */
static void peer_node(void)
{
    static const char *const names[][2] = {{"vm_context", "peer_node_vm_context"},
                                           {"wasm_instance", "peer_node_wasm_instance"}};
    const char *node = which("node");
    if (!node)
        node = which("nodejs");
    if (!node) {
        for (int i = 0; i < 2; i++)
            result_skip(names[i][1], "node not installed (scripts/bench-deps.sh installs nodejs)");
        return;
    }
    char nodepath[4096], script[4096], out[4200], it[32], warm[32];
    snprintf(nodepath, sizeof nodepath, "%s", node);
    snprintf(script, sizeof script, "%s/bench/guests/node-peer.js", g_opts.source_dir);
    snprintf(out, sizeof out, "%s/bench/node-peer.out", g_opts.build_dir);
    snprintf(it, sizeof it, "%zu", iters(3000, 200));
    snprintf(warm, sizeof warm, "%zu", iters(300, 20));
    char *argv[] = {nodepath, script, it, warm, NULL};
    int r = run_command(argv, out);
    FILE *f = fopen(out, "r");
    int found[2] = {0, 0};
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        char key[32];
        double p50, p90, p99;
        size_t n;
        if (sscanf(line, "{\"name\":\"%31[^\"]\",\"p50_us\":%lf,\"p90_us\":%lf,\"p99_us\":%lf,"
                         "\"n\":%zu}", key, &p50, &p90, &p99, &n) != 5)
            continue;
        for (int i = 0; i < 2; i++) {
            if (strcmp(key, names[i][0]) != 0 || found[i])
                continue;
            struct samples none = {0};
            samples_add(&none, 0); /* replaced below with node's own percentiles */
            struct result *res = result_add(names[i][1], &none);
            res->p50_us = p50;
            res->p90_us = p90;
            res->p99_us = p99;
            res->n = n;
            result_note(res, "measured inside node with process.hrtime");
            found[i] = 1;
        }
    }
    if (f)
        fclose(f);
    for (int i = 0; i < 2; i++)
        if (!found[i])
            result_skip(names[i][1], "node-peer.js exited %d without this figure (output: %s)", r,
                        out);
}

/* QEMU's command line for `guest` with accelerator `accel`. */
static void qemu_argv(char **argv, char *qemu, const char *accel, const char *guest)
{
    char *a[] = {qemu, "-M", "microvm", "-nodefaults", "-no-user-config", "-display", "none",
                 "-accel", (char *)accel, "-kernel", (char *)guest, "-device",
                 "isa-debug-exit,iobase=0xf4,iosize=4", NULL};
    memcpy(argv, a, sizeof a);
}

/* peer_qemu_microvm with -accel kvm when it boots the guest, else tcg (the
 * note says which); peer_qemu_microvm_tcg as well when kvm worked. */
static void peer_qemu(void)
{
    const char *qemu = which("qemu-system-x86_64");
    if (!qemu) {
        result_skip("peer_qemu_microvm", "qemu-system-x86_64 not installed "
                                         "(scripts/bench-deps.sh installs qemu-system-x86)");
        return;
    }
    char why[300], q[4096], log[4200];
    snprintf(q, sizeof q, "%s", qemu);
    const char *guest = artifact_qemu_guest(why, sizeof why);
    if (!guest) {
        result_skip("peer_qemu_microvm", "cannot build the QEMU guest: %s", why);
        return;
    }
    char *argv[16];
    qemu_argv(argv, q, "kvm", guest);
    snprintf(log, sizeof log, "%s/bench/peer_qemu_kvm.log", g_opts.build_dir);
    int r = run_command(argv, log);
    size_t warm = iters(2, 1), n = iters(30, 3);
    const char *what = "whole qemu process: start, boot the PVH guest, OUT to isa-debug-exit";
    char note[400];
    if (r == QEMU_EXIT) {
        snprintf(note, sizeof note, "accel=kvm; %s", what);
        time_spawns("peer_qemu_microvm", argv, QEMU_EXIT, 1, warm, n, note);
        qemu_argv(argv, q, "tcg", guest);
        snprintf(note, sizeof note, "accel=tcg (for reference); %s", what);
        time_spawns("peer_qemu_microvm_tcg", argv, QEMU_EXIT, 1, warm, n, note);
    } else {
        qemu_argv(argv, q, "tcg", guest);
        snprintf(note, sizeof note, "accel=tcg because -accel kvm exited %d (log: %.200s); %s", r,
                 log, what);
        time_spawns("peer_qemu_microvm", argv, QEMU_EXIT, 1, warm, n, note);
    }
}

void bench_peers(void)
{
    char why[300];
    const char *add = artifact_add_static(why, sizeof why);
    if (add) {
        char path[4200];
        snprintf(path, sizeof path, "%s", add);
        char *argv[] = {path, ADD_A, ADD_B, NULL};
        time_spawns("peer_posix_spawn", argv, ADD_SUM, 0, iters(50, 5), iters(1000, 50),
                    "static binary (cc -static -O2)");
    } else {
        result_skip("peer_posix_spawn", "cannot build the static program: %s", why);
    }
    peer_fork();
    if (add)
        peer_bwrap(add);
    else
        result_skip("peer_bwrap", "cannot build the static program: %s", why);
    peer_node();
    peer_qemu();
}
