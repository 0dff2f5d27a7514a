/*
 * glint_count.c - counting the guest instructions of glint calls.
 *
 * There is no PMU here and, on PVM, KVM single-step of ring-3 code delivers
 * #DB into the guest instead of exiting (floors.c), so the bench counts the
 * way minivm's floors do: RFLAGS.TF set, and a guest #DB handler that
 * counts one trap per instruction.  libglint has no counting mode, so this
 * pass works on a throw-away sandbox from the outside, with only public
 * constants (glint/layout.h):
 *   - it finds the sandbox's guest memory (the new "memfd:glint-guest"
 *     mapping in /proc/self/maps) and vCPU fd (the new kvm-vcpu fd);
 *   - it rewrites the ring-0 handler of vector 1 that the IDT names into
 *     `incq COUNTER; iretq`, COUNTER being the bottom of the exception
 *     stack page (the stack grows down from its top);
 *   - it sets RFLAGS.TF with KVM_GET_REGS/KVM_SET_REGS before init.
 * An OUT that exits to the host raises no trap (KVM completes it before
 * exiting), so each of the sandbox's exits adds one instruction: calibrated
 * on minivm's count loop.  The sandbox is destroyed afterwards.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "bench.h"
#include "glint/layout.h"
#include "glint_common.h"
#include "glint_count.h"
#include "kvmstats.h"

#define COUNTER_GPA GLINT_EXC_STACK_GPA

void guest_maps_read(struct guest_maps *m)
{
    m->n = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[512];
    while (m->n < GUEST_MAPS_MAX && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off;
        if (!strstr(line, "memfd:glint-guest") ||
            sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) != 3 || off != 0)
            continue;
        m->lo[m->n] = (uintptr_t)lo;
        m->hi[m->n++] = (uintptr_t)hi;
    }
    fclose(f);
}

uintptr_t guest_maps_new(const struct guest_maps *before, const struct guest_maps *after,
                         size_t *len)
{
    uintptr_t found = 0;
    for (size_t i = 0; i < after->n; i++) {
        int seen = 0;
        for (size_t j = 0; j < before->n; j++)
            seen |= after->lo[i] == before->lo[j];
        if (!seen) {
            if (found)
                return 0;
            found = after->lo[i];
            *len = after->hi[i] - after->lo[i];
        }
    }
    return found;
}

/* Rewrites the #DB handler into the counter; -1 if the IDT looks wrong. */
static int patch_db_handler(uint8_t *mem, char *why, size_t len)
{
    const uint8_t *gate = mem + GLINT_IDT_GPA + 16;
    uint16_t lo, mid;
    uint32_t hi;
    memcpy(&lo, gate, 2);
    memcpy(&mid, gate + 6, 2);
    memcpy(&hi, gate + 8, 4);
    uint64_t handler = lo | (uint64_t)mid << 16 | (uint64_t)hi << 32;
    if (!(gate[5] & 0x80) || handler < GLINT_STUBS_GPA ||
        handler + 16 > GLINT_STUBS_GPA + GLINT_PAGE_SIZE) {
        snprintf(why, len, "the sandbox's #DB gate does not point into the stub page");
        return -1;
    }
    static const uint8_t code[] = {0x48, 0xff, 0x04, 0x25, COUNTER_GPA & 0xff,
                                   (COUNTER_GPA >> 8) & 0xff, (COUNTER_GPA >> 16) & 0xff, 0,
                                   0x48, 0xcf}; /* incq COUNTER_GPA ; iretq */
    memcpy(mem + handler, code, sizeof code);
    memset(mem + COUNTER_GPA, 0, 8);
    return 0;
}

static int set_tf(int vcpu, char *why, size_t len)
{
    struct kvm_regs regs;
    if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0 ||
        (regs.rflags |= 0x100u, ioctl(vcpu, KVM_SET_REGS, &regs)) < 0) {
        snprintf(why, len, "KVM_GET/SET_REGS on the sandbox's vCPU: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Traps plus exits since the last reading. */
struct reader {
    const uint8_t *mem;
    const glint_sandbox *sb;
    uint64_t traps, exits;
};

static long reading(struct reader *r)
{
    uint64_t traps, exits = glint_sandbox_exit_count(r->sb);
    memcpy(&traps, r->mem + COUNTER_GPA, 8);
    long d = (long)((traps - r->traps) + (exits - r->exits));
    r->traps = traps;
    r->exits = exits;
    return d;
}

/* Calls fn three times and returns the count of the last call, -1 on failure. */
static long count_call(glint_sandbox *sb, struct reader *r, const char *fn,
                       const glint_value *args, size_t nargs, char *why, size_t len)
{
    long c = -1;
    for (int i = 0; i < 3; i++) {
        glint_value res;
        reading(r);
        glint_status st = glint_sandbox_call(sb, fn, args, nargs, &res);
        if (st != GLINT_OK) {
            snprintf(why, len, "%s under the trap flag: %s: %.300s", fn, glint_status_name(st),
                     glint_sandbox_error(sb)->message);
            return -1;
        }
        c = reading(r);
    }
    return c;
}

/* Finds the new sandbox's memory and vCPU, patches and arms it. */
static int arm(const struct guest_maps *mb, const int *vb, size_t nvb, uint8_t **mem, char *why,
               size_t len)
{
    struct guest_maps ma;
    int va[64];
    guest_maps_read(&ma);
    size_t nva = list_vcpu_fds(va, 64), size = 0;
    uintptr_t m = guest_maps_new(mb, &ma, &size);
    int vcpu = new_vcpu_fd(vb, nvb, va, nva);
    if (!m || vcpu < 0) {
        snprintf(why, len, "cannot find the sandbox's %s", !m ? "guest memory mapping" : "vCPU fd");
        return -1;
    }
    *mem = (uint8_t *)m;
    if (patch_db_handler(*mem, why, len) < 0 || set_tf(vcpu, why, len) < 0)
        return -1;
    return 0;
}

int glint_count_insns(const glint_image *img, struct glint_counts *out, char *why, size_t len)
{
    struct guest_maps mb;
    int vb[64];
    guest_maps_read(&mb);
    size_t nvb = list_vcpu_fds(vb, 64);
    glint_config cfg;
    bench_config(&cfg); /* the KVM backend: the caller runs this pass only there */
    cfg.timeout_ms = 30000; /* every instruction traps: ~100x slower */
    glint_sandbox *sb = NULL;
    glint_error err;
    glint_status st = glint_sandbox_create(img, &cfg, &sb, &err);
    if (st != GLINT_OK) {
        snprintf(why, len, "glint_sandbox_create: %.300s", err.message);
        return -1;
    }
    uint8_t *mem = NULL;
    int rc = -1;
    if (bench_check_backend(sb, why, len) < 0 || arm(&mb, vb, nvb, &mem, why, len) < 0)
        goto out;
    if (glint_sandbox_register(sb, &g_host_ping_sig, bench_host_ping, NULL) != GLINT_OK ||
        glint_sandbox_init(sb) != GLINT_OK) {
        snprintf(why, len, "init under the trap flag: %.300s", glint_sandbox_error(sb)->message);
        goto out;
    }
    struct reader r = {mem, sb, 0, 0};
    out->init = reading(&r);
    static const char s64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    glint_value i32 = glint_i32(42), str = glint_str(s64, 64), touch = glint_i32(TOUCH_PAGES);
    glint_value add[2] = {glint_i32(3), glint_i32(4)};
    out->echo = count_call(sb, &r, "Echo", &i32, 1, why, len);
    out->call_host = out->echo < 0 ? -1 : count_call(sb, &r, "CallHost", NULL, 0, why, len);
    out->echo_string = out->call_host < 0 ? -1 : count_call(sb, &r, "EchoString", &str, 1, why, len);
    out->add = out->echo_string < 0 ? -1 : count_call(sb, &r, "Add", add, 2, why, len);
    out->touch = out->add < 0 ? -1 : count_call(sb, &r, "Touch", &touch, 1, why, len);
    rc = out->touch < 0 ? -1 : 0;
out:
    glint_sandbox_destroy(sb);
    return rc;
}
