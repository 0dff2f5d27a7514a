/*
 * jailer.h - the bench's own minimal jailer (independent of libglint): the
 * floors of the jailed-process mechanism the process backend is built on.
 *
 * A jailed child is bench/guests/jail-stub.c, a tiny static program with
 * no libc, started by posix_spawn with a one-page memfd (the control page,
 * struct jail_ctl) as fd 3.  It keeps only its own image, maps the control
 * page, installs a SIGSEGV/SIGILL handler on an alternate stack, sets
 * no_new_privs and a seccomp filter (futex and rt_sigreturn only, and only
 * from its two system-call instructions; anything else kills it), then
 * loops on `out %al,$0x10` (or, with `gate`, on a call of a function of
 * its own that does what the handler does, without a fault: the exit the
 * process backend's exit gate makes).  Each `out` raises #GP in ring 3: the handler
 * writes a message to the control page, bumps `to_host` (FUTEX_WAKE when
 * the host sleeps), waits for `to_child` to move (a bounded spin, then
 * FUTEX_WAIT), steps RIP over the `out` when told to, and returns.
 *
 * This header is shared by the bench (jailer.c) and the stub, which is
 * freestanding: keep it free of libc.
 */
#ifndef BENCH_JAILER_H
#define BENCH_JAILER_H

#include <stddef.h>
#include <stdint.h>

#define JAIL_CTL_FD 3          /* the control memfd, in the stub */
#define JAIL_MAGIC 0x6c69616au /* "jail" */

/* Host -> stub commands (after a report). */
#define JAIL_CMD_STEP 1u /* RIP += 2 (over the `out`) and return into the loop */

/* Stub -> host: why the stub stopped before its first exit. */
#define JAIL_FAIL_NONE 0u

struct jail_ctl {
    uint32_t magic;         /* host-set: JAIL_MAGIC */
    uint32_t spin;          /* host-set: pause loops the stub spins before FUTEX_WAIT */
    uint32_t to_host;       /* stub: bumped after each report */
    uint32_t to_child;      /* host: bumped after each command */
    uint32_t host_waiting;  /* host: in (or about to enter) FUTEX_WAIT on to_host */
    uint32_t child_waiting; /* stub: in (or about to enter) FUTEX_WAIT on to_child */
    uint32_t cmd;           /* host: JAIL_CMD_* */
    uint32_t gate;          /* host-set: exits are calls into the stub's code, not `out` faults */
    uint32_t failed_step;   /* stub: set-up step that failed (then it exits 100 + step) */
    int64_t failed_rc;      /* stub: that step's return value */
    /* The report: what the handler saw. */
    uint32_t signo, code;
    uint64_t rip, trapno, err, addr;
    uint64_t reports;       /* stub: reports so far */
};

#ifndef JAIL_STUB
/* The jailed-process floors (jailer.c), run by the floors group:
 * floor_proc_fault_handler, floor_proc_exit_roundtrip,
 * floor_proc_gate_roundtrip, floor_proc_ptrace_roundtrip,
 * floor_proc_create, floor_proc_memory. */
void bench_proc_floors(void);

/* floor_proc_fault_handler one fault at a time, for figures that alternate
 * with it (call_empty on the process backend): open installs the SIGSEGV
 * handler on an alternate stack (0, or -1 with why), once times one `out`
 * round trip in ns (-1 if the fault did not reach the handler), close puts
 * the previous handler and stack back.  Keep other code that may fault
 * out of the open..close window. */
int jailer_fault_open(char *why, size_t len);
double jailer_fault_once(void);
void jailer_fault_close(void);
#endif

#endif
