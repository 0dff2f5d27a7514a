/*
 * jail.h - shared by the jail guest (tests/guests/jail.c) and its test
 * (tests/test_jail.c): the stub's control page and the words the guest
 * scribbles over it, so that the test knows what the host will read.
 */
#ifndef GLINT_TEST_JAIL_H
#define GLINT_TEST_JAIL_H

#include <stdint.h>

#define JAIL_CTL_ADDR 0x14000ull     /* src/host/proc_abi.h: PROC_CTL_ADDR */
#define JAIL_CTL_WORDS (0x1000ull / 8)   /* PROC_CTL_SIZE */
#define JAIL_CTL_HOST_WAITING 4          /* offsetof(struct proc_ctl, host_waiting) */
#define JAIL_RO_ADDR (JAIL_CTL_ADDR + JAIL_CTL_WORDS * 8) /* PROC_RO_ADDR: the park word */

/* Word i (of JAIL_CTL_WORDS) a scribble with `seed` writes. */
static inline uint64_t jail_scribble_word(uint64_t seed, uint64_t i)
{
    uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ (i + 1) * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 29;
    return x;
}

#endif
