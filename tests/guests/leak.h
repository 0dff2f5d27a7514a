/*
 * leak.h - what the leak guest (tests/guests/leak.c) reports, shared with
 * tests/test_pool.c.  Fixed layout: the guest's assembly stores into it by
 * offset (checked with static asserts in leak.c).
 */
#ifndef GLINT_TEST_LEAK_H
#define GLINT_TEST_LEAK_H

#include <stdint.h>

#define LEAK_MAGIC 0x4b41454c5441454cull

/* Writable regions that Read() checksums. */
enum leak_region {
    LEAK_R_DATA,   /* .data and .bss pages (without Read's own buffer) */
    LEAK_R_HEAP,   /* the whole heap, raw */
    LEAK_R_STACK,  /* the stack below its top 8 KiB (no frame of Read reaches it) */
    LEAK_R_INPUT,  /* the whole input buffer (call frame included) */
    LEAK_R_OUTPUT, /* the whole output buffer, before Read writes its result */
    LEAK_NREGIONS
};

#define LEAK_F_AVX    1u /* the YMM upper halves were read */
#define LEAK_F_RDTSCP 2u /* tsc_aux was read with RDTSCP */

/* Returned (as bytes) by Read(): the guest's state as a function finds it. */
struct leak_state {
    uint64_t magic;             /* 0 */
    uint64_t gpr[16];           /* 8: at entry: rax rbx rcx rdx rsi rdi rbp rsp r8..r15 */
    uint64_t rflags;            /* 136: at entry */
    uint64_t sel[6];            /* 144: cs ds es fs gs ss */
    uint64_t fs_magic;          /* 192: %fs:0, the boot info magic while FS base is intact */
    uint64_t fs_canary;         /* 200: %fs:0x28, the stack protector canary */
    uint64_t xcr0;              /* 208: XGETBV(0), 0 without OSXSAVE */
    uint64_t tsc_aux;           /* 216: RDTSCP's ECX (TSC_AUX), ~0 without RDTSCP */
    uint64_t features;          /* 224: LEAK_F_* */
    uint64_t reserved[3];       /* 232 */
    uint8_t fxsave[512];        /* 256: FXSAVE64 image: x87, MXCSR, XMM0-15 */
    uint8_t ymmh[16][16];       /* 768: upper halves of YMM0-15 */
    uint64_t sum[LEAK_NREGIONS];     /* 1024: FNV-1a of each region's 8-byte words */
    uint64_t nonzero[LEAK_NREGIONS]; /* 1064: non-zero words in each region */
};

/*
 * Dirty(uint32 mode): bits say what to dirty; bits 16..23 say how to end.
 * The order is: memory (C), stack, vector state, segments, flags, GPRs,
 * then the ending, so a privileged instruction runs with everything dirty.
 */
#define LEAK_MEM     0x001u /* every heap byte (malloc, then raw), input and output buffers */
#define LEAK_DATA    0x002u /* every byte of .data/.bss (last C step: the library's state too) */
#define LEAK_STACK   0x004u /* every stack byte below the return address */
#define LEAK_VEC     0x008u /* x87 stack and control word, MXCSR, XMM/YMM 0-15 */
#define LEAK_SEG     0x010u /* DS, ES := null selector */
#define LEAK_FSGS    0x020u /* FS, GS := null selector (FS base is the boot info page) */
#define LEAK_FLAGS   0x040u /* RFLAGS: DF, AC (and IF, IOPL, which ring 3 cannot change) */
#define LEAK_GPR     0x080u /* every GPR but RSP, callee-saved ones included, RBX too */
#define LEAK_KEEPRBX 0x100u /* ... but RBX back to the call frame (the dispatch loop's) */
#define LEAK_ALL     0x0ffu

#define LEAK_END(n)  ((uint32_t)(n) << 16)
enum leak_end {
    LEAK_END_RETURN,  /* return normally: a clean call */
    LEAK_END_SPIN,    /* loop forever: time limit */
    LEAK_END_NULL,    /* write to address 0: #PF */
    LEAK_END_UD2,     /* #UD */
    LEAK_END_ABORT,   /* a raw abort frame and OUT to the abort port */
    /* Privileged or unusual instructions at ring 3; each must fault. */
    LEAK_END_WRMSR_KERNEL_GS_BASE,
    LEAK_END_WRMSR_STAR,
    LEAK_END_WRMSR_LSTAR,
    LEAK_END_WRMSR_SFMASK,
    LEAK_END_WRMSR_TSC_AUX,
    LEAK_END_WRMSR_PAT,
    LEAK_END_WRMSR_EFER,
    LEAK_END_WRMSR_FS_BASE,
    LEAK_END_WRMSR_GS_BASE,
    LEAK_END_SWAPGS,
    LEAK_END_WRFSBASE,
    LEAK_END_WRGSBASE,
    LEAK_END_MOV_CR0,
    LEAK_END_MOV_CR3,
    LEAK_END_MOV_CR4,
    LEAK_END_MOV_DR0,
    LEAK_END_MOV_DR7,
    LEAK_END_LGDT,
    LEAK_END_LIDT,
    LEAK_END_LTR,
    LEAK_END_XSETBV,
    LEAK_END_SYSCALL,
    LEAK_END_INT80,
    LEAK_END_COUNT
};

#endif
