/*
 * util.c - small helpers: running a command, finding a program, memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

int run_command(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const char *out = log ? log : "/dev/null";
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        errno = e;
        return -1;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -2;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
}

const char *which(const char *prog)
{
    static char buf[4096];
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof buf - 2 - strlen(prog)) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
            if (access(buf, X_OK) == 0)
                return buf;
        }
        path += n + (path[n] == ':');
    }
    return NULL;
}

int file_exists(const char *path) { return access(path, F_OK) == 0; }

int make_dir(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

uint64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[128];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024u;
}

/* MemAvailable once it has stopped moving: three 50 ms steps in a row of
 * less than 256 KiB each (the kernel frees a destroyed VM's memory in
 * bursts, for a while), at most ~5 s. */
uint64_t mem_available_settled(void)
{
    uint64_t prev = mem_available();
    int calm = 0;
    for (int i = 0; i < 100 && calm < 3; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t cur = mem_available();
        uint64_t diff = cur > prev ? cur - prev : prev - cur;
        prev = cur;
        calm = diff < 256u * 1024u ? calm + 1 : 0;
    }
    return prev;
}

/* Busy and total jiffies of all CPUs so far (/proc/stat), or -1. */
static int cpu_jiffies(uint64_t *busy, uint64_t *total)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return -1;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4]; /* all but idle and iowait */
    return 0;
}

double host_settle(double *waited_s)
{
    uint64_t t0 = now_ns(), b0, n0, b1, n1;
    double busy = -1;
    *waited_s = 0;
    if (cpu_jiffies(&b0, &n0) < 0)
        return -1;
    for (int i = 0; i < 100; i++) { /* 100 ms steps, at most 10 s */
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (cpu_jiffies(&b1, &n1) < 0)
            return -1;
        busy = n1 > n0 ? (double)(b1 - b0) / (double)(n1 - n0) : 0;
        b0 = b1, n0 = n1;
        if (busy < 0.1)
            break;
    }
    *waited_s = (double)(now_ns() - t0) / 1e9;
    return busy;
}

void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}
