/*
 * artifacts.c - things glint-bench builds for itself at start-up, into
 * GLINT_BUILD_DIR/bench/, from bench/guests/: the static peer program, the
 * QEMU guest and the glint bench guest.  Rebuilt when the source is newer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

/* The first line of `log` that mentions an error, or its first line. */
static void log_reason(const char *log, char *why, size_t len)
{
    FILE *f = fopen(log, "r");
    char line[256], first[256] = "";
    snprintf(why, len, "see %s", log);
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!first[0])
            snprintf(first, sizeof first, "%s", line);
        if (strstr(line, "error") || strstr(line, "No such file") || strstr(line, "not found")) {
            snprintf(why, len, "%s (log: %s)", line, log);
            fclose(f);
            return;
        }
    }
    fclose(f);
    if (first[0])
        snprintf(why, len, "%s (log: %s)", first, log);
}

/* `out` exists and is no older than `src` and (if not NULL) `dep`. */
static int up_to_date(const char *out, const char *src, const char *dep)
{
    struct stat so, ss, sd;
    if (stat(out, &so) != 0 || stat(src, &ss) != 0 || so.st_mtime < ss.st_mtime)
        return 0;
    return !dep || stat(dep, &sd) != 0 || so.st_mtime >= sd.st_mtime;
}

/* Builds artifact `name` from bench/guests/`src` with `how` (0: static
 * program, 1: QEMU PVH guest, 2: glint guest).  Returns its path (static
 * storage per artifact), or NULL with a reason. */
static const char *build(const char *name, const char *src, int how, char *path, size_t plen,
                         char *why, size_t wlen)
{
    char dir[4096], srcpath[4096], log[4200], tool[4200], lib[4200];
    snprintf(dir, sizeof dir, "%s/bench", g_opts.build_dir);
    snprintf(srcpath, sizeof srcpath, "%s/bench/guests/%s", g_opts.source_dir, src);
    snprintf(path, plen, "%s/%s", dir, name);
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    snprintf(lib, sizeof lib, "%s/lib/libglint-guest.a", g_opts.build_dir);
    if (up_to_date(path, srcpath, how == 2 ? lib : NULL))
        return path;
    if (make_dir(dir) < 0) {
        snprintf(why, wlen, "cannot create %s", dir);
        return NULL;
    }
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    char *argv[16];
    int r;
    if (how == 0) {
        char *a[] = {(char *)cc, "-static", "-O2", "-o", path, srcpath, NULL};
        memcpy(argv, a, sizeof a);
    } else if (how == 1) {
        char *a[] = {(char *)cc, "-nostdlib", "-static", "-no-pie", "-Wl,-e,pvh_start",
                     "-Wl,-Ttext=0x100000", "-Wl,--build-id=none", "-o", path, srcpath, NULL};
        memcpy(argv, a, sizeof a);
    } else {
        snprintf(tool, sizeof tool, "%s/bin/glint-cc", g_opts.build_dir);
        if (!file_exists(tool)) {
            snprintf(why, wlen, "%s is not built (make guest)", tool);
            return NULL;
        }
        char *a[] = {tool, "-O2", "-o", path, srcpath, NULL};
        memcpy(argv, a, sizeof a);
    }
    r = run_command(argv, log);
    if (r == -1) {
        snprintf(why, wlen, "cannot run %.200s: %s", argv[0], strerror(errno));
        return NULL;
    }
    if (r != 0) {
        log_reason(log, why, wlen);
        remove(path);
        return NULL;
    }
    return path;
}

const char *artifact_add_static(char *why, size_t len)
{
    static char path[4200];
    return build("add-static", "add.c", 0, path, sizeof path, why, len);
}

const char *artifact_qemu_guest(char *why, size_t len)
{
    static char path[4200];
    return build("qemu-pvh.elf", "qemu-pvh.S", 1, path, sizeof path, why, len);
}

const char *artifact_glint_guest(char *why, size_t len)
{
    static char path[4200];
    return build("bench-guest.elf", "bench-guest.c", 2, path, sizeof path, why, len);
}
