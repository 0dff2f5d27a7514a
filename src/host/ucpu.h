/*
 * ucpu.h - the backend-neutral CPU state of a glint guest: what ring-3 code
 * can see and change (general registers, RIP, RFLAGS, FS/GS base, the
 * x87/SSE/AVX state).  The process backend keeps its guest's state in this
 * form; every snapshot file holds it (format UCPU_FORMAT), so a file taken
 * on one backend runs on the other.  Everything else a CPU has (control
 * registers, descriptor tables, MSRs) is glint's own set-up, the same for
 * every guest, and is rebuilt by the backend that imports the state.
 */
#ifndef GLINT_UCPU_H
#define GLINT_UCPU_H

#include <stddef.h>
#include <stdint.h>

#define UCPU_FORMAT "x86_64-user-v1"
#define UCPU_MAGIC 0x55504355u /* "UCPU" */
#define UCPU_VERSION 1u

struct ucpu {
    uint32_t magic, version;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, rflags;
    uint64_t fs_base, gs_base;
    uint8_t fx[512];    /* FXSAVE image; bytes 464..511 zero */
    uint64_t xstate_bv; /* bits 0-2: x87, SSE, AVX */
    uint8_t ymmh[256];  /* upper halves of YMM0-15 */
};

#define RFLAGS_FIXED 0x2ull
/* What a user process can have in RFLAGS: CF PF AF ZF SF TF IF DF OF NT RF
 * AC ID (IF is always set there; IOPL, VM and VIF never are). */
#define RFLAGS_USER 0x254fd5ull

/* The state a guest starts in: `rip`, `rsp`, FS base `fs`, RFLAGS 0x2, the
 * x87/SSE reset state. */
void ucpu_boot(struct ucpu *u, uint64_t rip, uint64_t rsp, uint64_t fs);

/* Sets only the FPU part (x87 control word 0x37f, MXCSR 0x1f80, no AVX). */
void ucpu_default_fp(struct ucpu *u);

/* Is this a state a ring-3 glint guest can have on this host?  0 with a
 * reason (one line) if not: format, RFLAGS (IOPL 0, no VM/VIF/NT), canonical
 * user addresses for RIP and the bases, MXCSR against this CPU's mask, the
 * reserved FXSAVE bytes, XSAVE components x87/SSE/AVX only. */
int ucpu_check(const struct ucpu *u, char *why, size_t why_size);

#endif
