/*
 * sandbox.h - the sandbox object (internal), shared by sandbox.c (life
 * cycle), call.c (calls both ways) and watchdog.c (time limits, interrupts).
 */
#ifndef GLINT_SANDBOX_H
#define GLINT_SANDBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "glint/glint.h"
#include "hv.h"
#include "layout.h"
#include "observe.h"

#define GLINT_MAX_HOST_FUNCS 256u

struct glint_host_entry {
    glint_function sig;              /* sig.name points at name */
    char name[GLINT_MAX_NAME + 1];
    glint_host_fn callback;
    void *user;
};

enum sandbox_state { SB_CREATED, SB_READY, SB_POISONED };

struct glint_hostcall {
    glint_sandbox *sb;
    uint8_t *scratch;       /* input_size bytes */
    size_t scratch_size;
    char message[GLINT_ABORT_MSG_MAX];
    int failed;
};

struct glint_sandbox {
    glint_config cfg;
    struct glint_layout lay;
    int memfd;
    uint8_t *mem;           /* host mapping of guest memory: RW, never exec */
    const struct hv_ops *be; /* the backend (hv.h) */
    struct hv *hv;
    struct hv_prep *prep;       /* hv_ops.prepare's, until create takes it */

    /* Guest function table, copied from the image. */
    size_t nfuncs;
    glint_function *funcs;
    uint64_t *fn_entries;
    char (*fn_names)[GLINT_MAX_NAME + 1];
    int funcs_borrowed;     /* the three above are base's (a snapshot's: immutable), not copies */

    /* Host functions. */
    size_t nhost;
    struct glint_host_entry *host;

    enum sandbox_state state;
    atomic_int busy;
    glint_error err;
    glint_error *poison;    /* the failure that poisoned it (allocated at the first: most
                             * sandboxes never are; NULL: none, or no memory to say) */
    uint64_t exits;
    int no_exit_gate;       /* OUT exits only (a debugger is attached) */
    int pooled;             /* a pool's: restored when released */

    /* Buffers allocated at their first use (glint_sandbox_buffer), then
     * kept: later calls allocate nothing. */
    uint8_t *result_buf;    /* output_size + 1: copies of string/bytes results and guest errors */
    uint8_t *hc_args_buf;   /* output_size + 16: copies of host-call arguments */
    struct glint_hostcall hc;
    uint64_t data_end;      /* host's own copy of the current frame's data_end */
    uint64_t host_in_hw;    /* input-buffer bytes the host wrote since the last sync */

    /* Snapshots (snapshot.c).  `synced`: memory equals this snapshot plus the
     * pages in the dirty log and host_in_hw (NULL: unknown).  `need_full`:
     * the vCPU ran ring-0 code or failed since; restore everything. */
    struct glint_snapshot *synced;
    struct glint_snapshot *auto_restore;
    struct glint_snapshot *base;    /* memory is a private mapping of it, or a copy */
    /* base's pages below GLINT_BOOT_INFO_GVA (glint's x86 tables, which
     * this backend never reads) were not copied into this sandbox's
     * memory: snapshots of it take them from base (snapshot.c). */
    int tables_elided;
    /* The guest's read-only pages are base's (hv_ops.shares_snapshot_pages):
     * not in memfd, and mem maps them read-only from base's memfd.
     * glint_sandbox_unshare ends it before the host writes there. */
    int shared_ro;
    uint64_t *dirty;                /* one bit per guest page */
    int need_full;
    int in_call;            /* a guest call (not init) is running */

    /* Interrupts and time limits (watchdog.c). */
    pthread_mutex_t run_lock;
    pthread_t thread;
    int running;                  /* under run_lock */
    _Atomic uint64_t seq;         /* run number */
    _Atomic uint64_t cancel_seq;  /* run that was interrupted */
    _Atomic int cancel_reason;    /* GLINT_E_CANCELLED or GLINT_E_TIMEOUT */
    _Atomic uint64_t deadline_ns; /* 0 = none */
    _Atomic uint64_t deadline_seq; /* the run deadline_ns belongs to */
    struct glint_sandbox *wd_next, *wd_prev;

    /* Crash dumps (coredump.c) and the debugger (gdbstub.c); off: NULL. */
    char *core_dir;               /* write a core file here on a guest failure */
    uint64_t core_max;            /* size cap of one core file, bytes */
    uint64_t core_seq;            /* core files written so far */
    char *core_last;              /* path of the last one written (malloc'd) */
    struct glint_gdb *gdb;        /* a debugger session (listening or attached) */

    /* Guest logging (log.c): the level goes into every call frame. */
    unsigned log_level;           /* GLINT_LOG_* */
    glint_log_fn log_cb;          /* never NULL once created */
    void *log_user;
    uint32_t log_msgs;            /* taken in this call */
    uint64_t log_bytes;           /* ... and their bytes */
    uint64_t log_dropped_call;    /* dropped in this call */
    uint64_t log_dropped;         /* dropped since creation */

    /* Profiler (profile.c): NULL when off.  kick_pending: a sample kick is
     * on its way to the vCPU (under run_lock). */
    struct glint_profiler *prof;
    int kick_pending;
    struct glint_symtab *syms;    /* the image's symbols (symbols.c), or NULL */

    /* Metrics and tracing (stats.c, trace.c, observe.h). */
    struct glint_obs obs;
};

/* A sandbox's buffer, allocated at its first use: NULL if out of memory. */
enum glint_sandbox_buf { GLINT_BUF_RESULT, GLINT_BUF_HOSTCALL_ARGS, GLINT_BUF_SCRATCH };
uint8_t *glint_sandbox_buffer(glint_sandbox *sb, enum glint_sandbox_buf which);


/* call.c */
glint_status glint_run_guest(glint_sandbox *sb, const glint_function *fn, glint_value *result);

/* watchdog.c */
uint64_t glint_now_ns(void);
glint_status glint_watchdog_add(glint_sandbox *sb, glint_error *err);
void glint_watchdog_remove(glint_sandbox *sb);
void glint_run_begin(glint_sandbox *sb);
void glint_run_end(glint_sandbox *sb);
/* Non-zero reason if this run was interrupted. */
glint_status glint_run_cancelled(glint_sandbox *sb);

/* sandbox.c: the parts of creation shared with snapshots. */
glint_sandbox *glint_sandbox_new(const glint_config *cfg, glint_error *err);
glint_status glint_sandbox_finish_setup(glint_sandbox *sb, glint_error *err);
/* boot_info.exit_gate as this sandbox's backend wants it, after anything
 * that wrote guest memory from elsewhere (a snapshot, a restore). */
void glint_sandbox_sync_exit_gate(glint_sandbox *sb);
glint_status glint_sandbox_set_functions(glint_sandbox *sb, const glint_function *funcs,
                                         const uint64_t *entries, size_t n, glint_error *err);

/* snapshot.c: restore to sb->auto_restore after a call (busy held). */
glint_status glint_auto_restore(glint_sandbox *sb);
/* Gives the sandbox its own copy of the pages it shares with its snapshot
 * (shared_ro), for the host to write there (a debugger's breakpoints, a
 * restore to another snapshot).  Idle sandboxes only.  replace: the
 * backend's side is replaced now, in the same state; 0: the caller does a
 * full restore_cpu next, which replaces it. */
glint_status glint_sandbox_unshare(glint_sandbox *sb, int replace, glint_error *err);
/* snapshot.c: the host set of sb equals that of snap. */
int glint_host_set_matches(const glint_sandbox *sb, const struct glint_snapshot *snap, char *why,
                           size_t why_size);

/* log.c */
void glint_log_defaults(glint_sandbox *sb);
glint_status glint_log_hostcall(glint_sandbox *sb, const struct glint_hostcall_frame *f);
void glint_log_call_end(glint_sandbox *sb); /* reports this call's drops */

/* profile.c: an interrupted run of a profiled sandbox (the vCPU thread). */
void glint_profile_on_intr(glint_sandbox *sb);
void glint_profile_free(glint_sandbox *sb);

/* Poisons the sandbox with the error already in sb->err. */
glint_status glint_poison(glint_sandbox *sb);
/* Marks sb poisoned by `why` (recorded for the calls it refuses). */
void glint_poison_with(glint_sandbox *sb, const glint_error *why);
/* The recorded failure's status name and message, for those refusals. */
const char *glint_poison_status(const glint_sandbox *sb);
const char *glint_poison_message(const glint_sandbox *sb);

#define API __attribute__((visibility("default")))

#endif

/*
 * Test hook, not part of the public API: wipes the sandbox's IDT so that the
 * guest's next exception cannot be delivered and the vCPU triple-faults.  A
 * ring-3 guest cannot do this itself; tests use it to prove that a shutdown
 * exit is reported as GLINT_E_SHUTDOWN.
 */
void glint_debug_wipe_idt(glint_sandbox *sb);

/* Test hook (call.c, for fuzz/fuzz_frames.c): handles a guest OUT to `port`
 * as the run loop would (result, host call, abort, ...), decoding the output
 * buffer as it is now, as if `fn` (NULL: initialization) were running. */
glint_status glint_debug_guest_out(glint_sandbox *sb, const glint_function *fn, uint16_t port,
                                   glint_value *result);

/* Lets the backend start its side of a sandbox whose guest memory (memfd)
 * now exists, while the host loads it (hv_ops.prepare); share_fd: the
 * snapshot memfd it may share pages of, or -1. */
void glint_sandbox_prepare(glint_sandbox *sb, int share_fd);
/* The prepared start for hv_setup.prep (create owns it from then on). */
struct hv_prep *glint_sandbox_take_prep(glint_sandbox *sb);

/* Test hook: the pid of the process that holds the guest (process
 * backend), 0 on KVM (the guest runs in the caller), -1 if it is gone. */
int glint_debug_guest_pid(glint_sandbox *sb);

/* Test hook: hv_debug_cpu_matches against a snapshot's vCPU state. */
int glint_debug_cpu_matches(glint_sandbox *sb, const glint_snapshot *snap, char *why, size_t why_size);

/* Test hook (pool.c): 1 if the sandbox's whole guest memory equals the
 * snapshot's, else 0 with the first difference and the count in `why`. */
int glint_debug_memory_equal(const glint_sandbox *sb, const glint_snapshot *snap, char *why,
                             size_t why_size);
