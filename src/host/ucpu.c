/*
 * ucpu.c - the backend-neutral CPU state (ucpu.h): boot values and the
 * checks every state read from a file or handed to a backend must pass.
 */
#include "ucpu.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static uint32_t g_mxcsr_mask;

static void read_mxcsr_mask(void)
{
    uint8_t area[512] __attribute__((aligned(16)));
    memset(area, 0, sizeof area);
    __asm__ volatile("fxsave %0" : "=m"(area));
    uint32_t mask;
    memcpy(&mask, area + 28, 4);
    g_mxcsr_mask = mask ? mask : 0xffbf; /* 0 means the architectural default */
}

void ucpu_default_fp(struct ucpu *u)
{
    memset(u->fx, 0, sizeof u->fx);
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    memcpy(u->fx + 0, &fcw, 2);
    memcpy(u->fx + 24, &mxcsr, 4);
    u->xstate_bv = 3;
    memset(u->ymmh, 0, sizeof u->ymmh);
}

void ucpu_boot(struct ucpu *u, uint64_t rip, uint64_t rsp, uint64_t fs)
{
    memset(u, 0, sizeof *u);
    u->magic = UCPU_MAGIC;
    u->version = UCPU_VERSION;
    u->rip = rip;
    u->rsp = rsp;
    u->rflags = RFLAGS_FIXED;
    u->fs_base = fs;
    ucpu_default_fp(u);
}

int ucpu_check(const struct ucpu *u, char *why, size_t why_size)
{
    pthread_once(&g_once, read_mxcsr_mask);
    if (u->magic != UCPU_MAGIC || u->version != UCPU_VERSION) {
        snprintf(why, why_size, "vCPU state has format %08x/%u, expected %08x/%u", u->magic,
                 u->version, UCPU_MAGIC, UCPU_VERSION);
        return 0;
    }
    if ((u->rflags & ~RFLAGS_USER) != RFLAGS_FIXED) {
        snprintf(why, why_size, "vCPU state has RFLAGS 0x%llx: only the flags ring-3 code can set "
                 "(IOPL 0, no VM, VIF or NT) are allowed", (unsigned long long)u->rflags);
        return 0;
    }
    uint64_t canon = 0x00007fffffffffffull;
    if (u->rip > canon || u->fs_base > canon || u->gs_base > canon) {
        snprintf(why, why_size, "vCPU state has a non-canonical or kernel address (rip 0x%llx, "
                 "fs 0x%llx, gs 0x%llx)", (unsigned long long)u->rip,
                 (unsigned long long)u->fs_base, (unsigned long long)u->gs_base);
        return 0;
    }
    uint32_t mxcsr;
    memcpy(&mxcsr, u->fx + 24, 4);
    if (mxcsr & ~g_mxcsr_mask) {
        snprintf(why, why_size, "vCPU state has MXCSR 0x%x with bits this CPU reserves (mask 0x%x)",
                 mxcsr, g_mxcsr_mask);
        return 0;
    }
    for (int i = 464; i < 512; i++)
        if (u->fx[i]) {
            snprintf(why, why_size, "vCPU state has data in the reserved FXSAVE bytes (byte %d)", i);
            return 0;
        }
    if (u->xstate_bv & ~7ull) {
        snprintf(why, why_size, "vCPU state has XSAVE components 0x%llx (only x87, SSE, AVX)",
                 (unsigned long long)u->xstate_bv);
        return 0;
    }
    return 1;
}
