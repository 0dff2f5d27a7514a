/*
 * machine.c - what machine the figures come from: CPU, cores, kernel, the
 * kvm module behind /dev/kvm (PVM emulates ring-0 guest code), memory, date.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static struct {
    char cpu[128];
    long cores;
    char kernel[160];
    char kvm[32];
    char date[40];
    double mem_gib;
    char counting[1300];
} g_m;

void machine_set_counting(const char *how)
{
    snprintf(g_m.counting, sizeof g_m.counting, "%s", how);
}

static void read_cpu_model(void)
{
    snprintf(g_m.cpu, sizeof g_m.cpu, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *c = strchr(line, ':');
        if (c) {
            c += 1 + (c[1] == ' ');
            snprintf(g_m.cpu, sizeof g_m.cpu, "%.*s", (int)strcspn(c, "\n"), c);
        }
        break;
    }
    fclose(f);
}

static double mem_total_gib(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[128];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (double)kb / (1024.0 * 1024.0);
}

void machine_describe(void)
{
    read_cpu_model();
    g_m.cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(g_m.kernel, sizeof g_m.kernel, "%s %s", u.sysname, u.release);
    static const char *const mods[] = {"kvm_pvm", "kvm_intel", "kvm_amd"};
    snprintf(g_m.kvm, sizeof g_m.kvm, "none");
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/sys/module/%s", mods[i]);
        if (access(path, F_OK) == 0) {
            snprintf(g_m.kvm, sizeof g_m.kvm, "%s", mods[i]);
            break;
        }
    }
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(g_m.date, sizeof g_m.date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    g_m.mem_gib = mem_total_gib();
}

const char *machine_kvm_module(void) { return g_m.kvm; }

static const char *guest_code_note(void)
{
    if (strcmp(g_m.kvm, "kvm_pvm") == 0)
        return "PVM: ring-3 guest code native, ring-0 guest code emulated";
    if (strcmp(g_m.kvm, "none") == 0)
        return "no KVM module";
    return "hardware virtualization: guest code native in every ring";
}

void machine_print(void)
{
    printf("glint-bench %s run, %s\n", g_opts.quick ? "quick" : "full", g_m.date);
    printf("machine: %s, %ld cores, %.1f GiB, %s, kvm module %s (%s)\n", g_m.cpu, g_m.cores,
           g_m.mem_gib, g_m.kernel, g_m.kvm, guest_code_note());
}

void machine_json(FILE *f)
{
    fprintf(f,
            "{\"cpu\": \"%s\", \"cores\": %ld, \"memory_gib\": %.1f, \"kernel\": \"%s\", "
            "\"kvm_module\": \"%s\", \"guest_code\": \"%s\", \"date\": \"%s\", \"mode\": \"%s\", "
            "\"insn_counting\": \"%s\"}",
            g_m.cpu, g_m.cores, g_m.mem_gib, g_m.kernel, g_m.kvm, guest_code_note(), g_m.date,
            g_opts.quick ? "quick" : "full", g_m.counting[0] ? g_m.counting : "not probed");
}
