/*
 * main.c - glint-bench: glint against the KVM floor and its peers, in one run.
 *
 *   glint-bench [--quick] [--json FILE] [--only GROUP]
 *
 * Groups run in order: floors (the bench's own minimal VM and jailed
 * process), peers (child processes), glint (the public API, once per
 * backend this host can use: kvm, process).  Prints a table and the
 * targets (met / NOT MET / not judged, never a failure); writes JSON if
 * asked.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "glint_common.h"

struct bench_opts g_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: glint-bench [--quick] [--json FILE] [--markdown FILE] [--only GROUP]\n"
            "  --quick          few iterations (a smoke run, well under a minute)\n"
            "  --json FILE      write the results as JSON to FILE\n"
            "  --markdown FILE  write the table as Markdown to FILE (for docs/benchmarks.md)\n"
            "  --only GROUP     run one group only: floors, peers or glint\n"
            "Timings are reported, never asserted; metrics that cannot run here are\n"
            "listed as skipped with the reason.\n");
}

static int parse_args(int argc, char **argv)
{
    g_opts.build_dir = getenv("GLINT_BUILD_DIR") ? getenv("GLINT_BUILD_DIR") : GLINT_BUILD_DIR;
    g_opts.source_dir = GLINT_SOURCE_DIR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0) {
            g_opts.quick = 1;
        } else if (strcmp(a, "--json") == 0 && i + 1 < argc) {
            g_opts.json = argv[++i];
        } else if (strcmp(a, "--markdown") == 0 && i + 1 < argc) {
            g_opts.markdown = argv[++i];
        } else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
            g_opts.only = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "glint-bench: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return -1;
        }
    }
    if (g_opts.only && strcmp(g_opts.only, "floors") != 0 && strcmp(g_opts.only, "peers") != 0 &&
        strcmp(g_opts.only, "glint") != 0) {
        fprintf(stderr, "glint-bench: --only takes floors, peers or glint, not '%s'\n",
                g_opts.only);
        return -1;
    }
    return 0;
}

static int wanted(const char *group)
{
    return !g_opts.only || strcmp(g_opts.only, group) == 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--density-worker") == 0)
        return density_worker_main(argv[2], argv[3]); /* internal: see density.c */
    if (parse_args(argc, argv) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    setvbuf(stdout, NULL, _IOLBF, 0);
    machine_describe();
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/bench", g_opts.build_dir);
    if (make_dir(dir) < 0)
        fprintf(stderr, "glint-bench: cannot create %s; builds and logs there will fail\n", dir);
    machine_print();
    uint64_t t0 = now_ns();
    if (wanted("floors")) {
        printf("floors: the bench's own minimal KVM VM and jailed process ...\n");
        bench_floors();
    }
    if (wanted("peers")) {
        printf("peers: process, fork, bubblewrap, Node.js, QEMU ...\n");
        bench_peers();
    }
    if (wanted("glint")) {
        printf("glint: the public API, on each backend ...\n");
        bench_glint();
    }
    results_print_table();
    results_print_ratios();
    printf("\nran in %.1f s\n", (double)(now_ns() - t0) / 1e9);
    int rc = 0;
    if (g_opts.json)
        rc |= results_write_json(g_opts.json) == 0 ? (printf("wrote %s\n", g_opts.json), 0) : 1;
    if (g_opts.markdown)
        rc |= results_write_markdown(g_opts.markdown) == 0
                  ? (printf("wrote %s\n", g_opts.markdown), 0) : 1;
    return rc;
}
