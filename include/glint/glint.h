/*
 * glint.h - libglint, the host side of glint.
 *
 * glint runs functions of a guest (a static x86-64 ELF built with glint-cc)
 * in a sandbox (a KVM micro-VM, or a seccomp-jailed process where KVM is not
 * usable: see glint_backend) with one CPU context and one linear slice of memory, and
 * lets the host call them by name with typed arguments.  The guest can call
 * back only the host functions registered on its sandbox.
 *
 * Conventions, for every function below:
 *  - Functions return a glint_status; GLINT_OK is 0.  On failure a one-line
 *    message is available: from the sandbox (glint_sandbox_error) or from
 *    the glint_error the caller passed in.  The library never prints, never
 *    exits and never raises a signal at the process.
 *  - Pointers named as inputs must not be NULL unless said otherwise.
 *  - Strings given to glint are copied; glint keeps no pointer to them after
 *    the call returns, unless said otherwise.
 *  - Threads: a glint_image is immutable once opened and may be shared by
 *    any number of threads.  A glint_sandbox may be used from any thread,
 *    but by one thread at a time (calls on one sandbox are not concurrent;
 *    a second concurrent call fails with GLINT_E_BUSY).  The only exception
 *    is glint_sandbox_interrupt, which any thread may call at any time while
 *    the sandbox exists.  Distinct sandboxes are independent and may run on
 *    distinct threads at once.
 *  - Signals: time limits and interrupts kick a running vCPU with the signal
 *    glint_interrupt_signal() (SIGRTMIN+5 by default).  libglint installs a
 *    no-op handler for it on first use; threads that run guest calls must not
 *    block it, and the application must not replace its handler.  A run gets
 *    at most one such signal however often it is interrupted.  Host
 *    functions run with the handler installed without SA_RESTART, so a slow
 *    system call inside one may fail with EINTR if the call is interrupted.
 *  - fork(): a child process must not use the sandboxes, snapshots or pools
 *    of its parent (KVM refuses them there); it may create new ones.
 */
#ifndef GLINT_H
#define GLINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glint/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GLINT_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------------------
 * Status codes.  One meaning each.
 */
typedef enum glint_status {
    GLINT_OK = 0,
    /* Host-side misuse or environment. */
    GLINT_E_INVALID,       /* bad argument or configuration value */
    GLINT_E_NOMEM,         /* the host is out of memory */
    GLINT_E_IO,            /* the guest file could not be read */
    GLINT_E_STATE,         /* wrong order: e.g. register after init, call before init */
    GLINT_E_BUSY,          /* another thread is calling this sandbox */
    GLINT_E_NO_KVM,        /* no backend this host can use for what was asked (e.g. the kvm
                              backend without /dev/kvm); the name is historical */
    GLINT_E_HYPERVISOR,    /* a backend operation failed unexpectedly (KVM ioctl, the jailed
                              process died or was killed from outside, ...) */
    /* The guest image. */
    GLINT_E_BAD_IMAGE,     /* not a valid glint guest ELF */
    GLINT_E_ABI,           /* ABI note missing or of another version */
    /* The call. */
    GLINT_E_NO_FUNCTION,   /* no guest function of that name */
    GLINT_E_SIGNATURE,     /* wrong number or types of arguments */
    GLINT_E_TOO_LARGE,     /* arguments do not fit the input buffer */
    GLINT_E_GUEST_ERROR,   /* the guest function returned an error (sandbox stays usable) */
    /* Guest failures: the sandbox is poisoned afterwards. */
    GLINT_E_ABORT,         /* the guest aborted (abort, panic, assert, glint_abort) */
    GLINT_E_EXCEPTION,     /* CPU exception in the guest */
    GLINT_E_STACK_OVERFLOW,/* the guest ran into its stack guard page */
    GLINT_E_GUEST_OOM,     /* the guest heap is exhausted */
    GLINT_E_TIMEOUT,       /* the call's time limit was hit */
    GLINT_E_CANCELLED,     /* glint_sandbox_interrupt stopped the call */
    GLINT_E_SHUTDOWN,      /* triple fault: the vCPU shut down */
    GLINT_E_OUT_OF_BOUNDS, /* the guest touched a guest-physical address outside its memory */
    GLINT_E_UNEXPECTED_EXIT, /* a VM exit the runtime does not expect */
    GLINT_E_BAD_GUEST_DATA,/* the guest handed the host malformed data */
    GLINT_E_POISONED,      /* an earlier failure poisoned this sandbox */
    /* Snapshots. */
    GLINT_E_INCOMPATIBLE,  /* snapshot does not fit this sandbox (layout, host functions) */
    GLINT_E_BAD_SNAPSHOT,  /* snapshot file is corrupt, truncated or of another format */
} glint_status;

/* A short constant name for a status, e.g. "GLINT_E_TIMEOUT". Never NULL. */
const char *glint_status_name(glint_status status);

/*
 * Details of the last failure.  `message` is one line, without newline,
 * saying what happened and where.  The fault fields are meaningful only for
 * the statuses named beside them.
 */
typedef struct glint_error {
    glint_status status;
    char message[768];
    int32_t abort_code;    /* GLINT_E_ABORT: code given by the guest */
    uint32_t vector;       /* GLINT_E_EXCEPTION, GLINT_E_STACK_OVERFLOW: CPU vector */
    uint64_t rip;          /* ... guest instruction pointer */
    uint64_t address;      /* ... faulting address (CR2 for #PF), or the GPA for OUT_OF_BOUNDS */
    uint64_t error_code;   /* ... CPU error code */
} glint_error;

/* ---------------------------------------------------------------------------
 * Values.
 *
 * A glint_value is a tagged union.  STRING values are UTF-8 with an explicit
 * length (NUL bytes allowed); BYTES are raw.  Their pointers are borrowed:
 * see each function for how long they stay valid.
 */
typedef struct glint_value {
    glint_type type;
    union {
        bool b;
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        float f32;
        double f64;
        struct {
            const char *ptr;
            size_t len;
        } str;
        struct {
            const uint8_t *ptr;
            size_t len;
        } bytes;
    } v;
} glint_value;

static inline glint_value glint_bool(bool x) { glint_value r = {GLINT_BOOL, {.b = x}}; return r; }
static inline glint_value glint_i32(int32_t x) { glint_value r = {GLINT_I32, {.i32 = x}}; return r; }
static inline glint_value glint_u32(uint32_t x) { glint_value r = {GLINT_U32, {.u32 = x}}; return r; }
static inline glint_value glint_i64(int64_t x) { glint_value r = {GLINT_I64, {.i64 = x}}; return r; }
static inline glint_value glint_u64(uint64_t x) { glint_value r = {GLINT_U64, {.u64 = x}}; return r; }
static inline glint_value glint_f32(float x) { glint_value r = {GLINT_F32, {.f32 = x}}; return r; }
static inline glint_value glint_f64(double x) { glint_value r = {GLINT_F64, {.f64 = x}}; return r; }
/* A string value of `len` bytes; glint_cstr takes a NUL-terminated string. */
glint_value glint_str(const char *s, size_t len);
glint_value glint_cstr(const char *s);
glint_value glint_bytes(const void *p, size_t len);

/* "int32", "string", ... for a type tag; "?" for an invalid one. */
const char *glint_type_name(glint_type type);

/* ---------------------------------------------------------------------------
 * Function signatures, as read from the guest's function table or given
 * when registering a host function.
 */
typedef struct glint_function {
    const char *name;
    glint_type ret;
    uint32_t nparams;
    glint_type params[GLINT_MAX_PARAMS];
} glint_function;

/*
 * Writes "Name(int32, string) -> string" into buf (always NUL-terminated
 * when size > 0).  Returns the length the full text needs, like snprintf.
 */
size_t glint_function_format(const glint_function *fn, char *buf, size_t size);

/* ---------------------------------------------------------------------------
 * Configuration.
 */
typedef struct glint_config {
    size_t heap_size;    /* guest heap; default 512 KiB, 4 KiB .. 512 MiB */
    size_t stack_size;   /* guest stack; default 64 KiB, 16 KiB .. 64 MiB */
    size_t input_size;   /* host->guest buffer; default 64 KiB, 4 KiB .. 256 MiB */
    size_t output_size;  /* guest->host buffer; default 64 KiB, 4 KiB .. 256 MiB */
    uint32_t timeout_ms; /* per-call (and init) time limit; default 1000; 0 = none */
    int backend;         /* glint_backend; default GLINT_BACKEND_AUTO (see below) */
} glint_config;

/*
 * Backends: where a sandbox's guest runs.  Both run the same guest ELF with
 * the same API, features and errors; they differ in the isolation boundary.
 *   GLINT_BACKEND_KVM      a micro-VM on /dev/kvm (hardware isolation)
 *   GLINT_BACKEND_PROCESS  a seccomp-jailed child process holding nothing
 *                          but the guest's memory and a small stub
 *   GLINT_BACKEND_AUTO     the environment variable GLINT_BACKEND if set
 *                          ("auto", "kvm" or "process"), else KVM when
 *                          /dev/kvm opens and a probe VM works, else process
 * A host that demands hardware isolation sets GLINT_BACKEND_KVM and gets
 * GLINT_E_NO_KVM where there is none.
 */
typedef enum glint_backend {
    GLINT_BACKEND_AUTO = 0,
    GLINT_BACKEND_KVM = 1,
    GLINT_BACKEND_PROCESS = 2,
} glint_backend;

/* "auto", "kvm", "process"; "unknown" otherwise. */
const char *glint_backend_name(glint_backend b);

/* Parses "auto", "kvm" or "process" into *out; GLINT_E_INVALID otherwise. */
glint_status glint_backend_parse(const char *name, glint_backend *out, glint_error *err);

/*
 * Resolves `want` (AUTO: GLINT_BACKEND, then KVM, then process) to a
 * backend this host can use, in *out.  GLINT_E_NO_KVM with *err saying why
 * when the one asked for (or every one, for AUTO) is unusable; GLINT_E_INVALID
 * for a bad value or a bad GLINT_BACKEND.
 */
glint_status glint_backend_select(glint_backend want, glint_backend *out, glint_error *err);

/* Can this host use backend `b` (not AUTO)?  GLINT_OK, or GLINT_E_NO_KVM
 * with *err saying why not.  Cached after the first probe. */
glint_status glint_backend_probe(glint_backend b, glint_error *err);

/* One line on how backend `b` (not AUTO) works on this host, when it is
 * usable: mechanism, dirty tracking, the debugger's stepping method (KVM:
 * "KVM guest debug", or the trap flag with the reason the hypervisor's
 * facility is not used).  Otherwise why it is not.  Never NULL; the first
 * call may probe (on KVM it runs a small VM once per process: not from a
 * thread under glint_seccomp_restrict_thread, which may not create VMs). */
const char *glint_backend_describe(glint_backend b);

/* Fills *cfg with the defaults.  Sizes are rounded up to 4 KiB on use. */
void glint_config_default(glint_config *cfg);

/*
 * Checks every value of *cfg (range, rounding overflow, total guest memory
 * against GLINT_MEMORY_MAX together with an image of `image_span` bytes;
 * pass 0 to leave the image out).  On failure fills *err if not NULL.
 */
glint_status glint_config_validate(const glint_config *cfg, size_t image_span, glint_error *err);

/* ---------------------------------------------------------------------------
 * Images: a validated guest ELF and its function table, loaded once and
 * shared by any number of sandboxes and threads.  Opening an image runs no
 * guest code and needs no /dev/kvm.
 */
typedef struct glint_image glint_image;

/*
 * Reads and validates the guest ELF at `path`.  On success *out owns a new
 * image (free it with glint_image_close).  On failure *out is NULL and *err
 * (if not NULL) says why: GLINT_E_IO, GLINT_E_BAD_IMAGE, GLINT_E_ABI,
 * GLINT_E_NOMEM or GLINT_E_INVALID.
 */
glint_status glint_image_open_file(const char *path, glint_image **out, glint_error *err);

/* The same from `len` bytes at `data`, which glint copies. */
glint_status glint_image_open_memory(const void *data, size_t len, glint_image **out,
                                     glint_error *err);

/* Frees an image.  NULL is allowed.  Sandboxes created from it keep working. */
void glint_image_close(glint_image *img);

/* The guest's functions, in table order.  Pointers live as long as the image. */
size_t glint_image_function_count(const glint_image *img);
const glint_function *glint_image_function(const glint_image *img, size_t index);
/* Index of the function named `name`, or -1. */
long glint_image_find(const glint_image *img, const char *name);

/*
 * WebAssembly: glint_image_open_file and glint_image_open_memory also take a
 * WebAssembly module (a `.wasm`, told apart by its first bytes "\0asm").
 * The module is decoded and validated at open (GLINT_E_BAD_IMAGE with the
 * engine's message naming the section, offset and rule otherwise); the
 * image's functions are the module's exported functions, and a sandbox made
 * from it runs them in glint's WebAssembly runtime guest, embedded in
 * libglint (see docs/wasm.md).  glint_image_is_wasm says which kind an
 * image is.  Exported functions whose types glint cannot call (multi-value
 * results, reference types, names that are not glint names) are left out of
 * the function table; glint_image_unavailable lists them, one line each
 * ("name (i32) -> (i32, i32): not callable: ..."), valid as long as the
 * image.  An ELF guest has none.
 */
int glint_image_is_wasm(const glint_image *img);
size_t glint_image_unavailable_count(const glint_image *img);
const char *glint_image_unavailable(const glint_image *img, size_t index);

/* ---------------------------------------------------------------------------
 * Sandboxes.
 *
 * Life cycle:  create -> [register host functions] -> init -> call* -> destroy
 */
typedef struct glint_sandbox glint_sandbox;

/*
 * Creates a sandbox for `img`: guest memory, page tables, the VM and its
 * vCPU.  No guest code runs yet.  `cfg` may be NULL for the defaults; it is
 * copied.  `img` may be closed afterwards.  On failure *out is NULL and *err
 * (if not NULL) says why.  On the process backend the sandbox's process
 * finishes its set-up while the caller goes on; the first call (or
 * restore, or snapshot) waits for it, and a process that fails its set-up
 * or is killed meanwhile fails that call with GLINT_E_HYPERVISOR (naming
 * the step or the signal) and poisons the sandbox.
 */
glint_status glint_sandbox_create(const glint_image *img, const glint_config *cfg,
                                  glint_sandbox **out, glint_error *err);

/* Convenience: glint_image_open_file + glint_sandbox_create. */
glint_status glint_sandbox_create_file(const char *path, const glint_config *cfg,
                                       glint_sandbox **out, glint_error *err);

/* Destroys a sandbox and its VM.  NULL is allowed.  Must not race a call. */
void glint_sandbox_destroy(glint_sandbox *sb);

/*
 * A host function.  Called on the thread that runs the guest call, while the
 * guest waits.  `args` are copies (strings and bytes point into a buffer of
 * the sandbox, valid until the callback returns); their types match the
 * registered signature.  To return a value, set *ret (its type is preset to
 * the registered return type).  String or bytes returned must stay valid
 * until the callback returns: static data, data the host owns, or the
 * buffer from glint_hostcall_buffer().  To fail, return
 * glint_hostcall_fail(...): the guest sees the error message.
 */
typedef struct glint_hostcall glint_hostcall;
typedef glint_status (*glint_host_fn)(glint_hostcall *hc, const glint_value *args, size_t nargs,
                                      glint_value *ret, void *user);

/* Scratch memory of `size` bytes for a host function's result, owned by the
 * sandbox and valid until the callback returns; NULL if larger than the
 * sandbox's input buffer (or if the host is out of memory: the sandbox
 * allocates it at its first use, then keeps it). */
void *glint_hostcall_buffer(glint_hostcall *hc, size_t size);
/* Records a printf-style one-line error for the guest; returns GLINT_E_GUEST_ERROR. */
glint_status glint_hostcall_fail(glint_hostcall *hc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The sandbox the host function was called from. */
glint_sandbox *glint_hostcall_sandbox(glint_hostcall *hc);

/*
 * Registers a host function under `fn->name` with signature `fn->ret`,
 * `fn->params[0..nparams)`.  Only before glint_sandbox_init.  Registering an
 * existing name replaces it (this is how the host replaces the default
 * "print", signature print(string) -> void, which writes to stdout).
 * Fails with GLINT_E_INVALID for a bad name or signature, GLINT_E_STATE
 * after init.  `user` is passed to the callback; glint does not own it.
 */
glint_status glint_sandbox_register(glint_sandbox *sb, const glint_function *fn,
                                    glint_host_fn callback, void *user);

/*
 * Runs guest initialization (the guest's glint_main, if it has one) to
 * completion, under the configured time limit.  Exactly once per sandbox.
 */
glint_status glint_sandbox_init(glint_sandbox *sb);

/*
 * Calls the guest function `name` with `nargs` arguments.  The argument
 * count and every type must match the function's signature exactly.  On
 * GLINT_OK, *result (may be NULL to discard) holds the value; string and
 * bytes results point into the sandbox and stay valid until the next call
 * or init on it, or its destruction.  Failures of the guest poison the
 * sandbox (see glint_status).  The hot path allocates nothing and makes no
 * system call but KVM_RUN (the copies of string results and of host-call
 * arguments go to buffers the sandbox allocates at their first use).
 */
glint_status glint_sandbox_call(glint_sandbox *sb, const char *name, const glint_value *args,
                                size_t nargs, glint_value *result);

/* The same by function index (see glint_image_find), skipping the name lookup. */
glint_status glint_sandbox_call_index(glint_sandbox *sb, size_t index, const glint_value *args,
                                      size_t nargs, glint_value *result);

/*
 * Stops the call running on `sb`, if any, promptly: that call fails with
 * GLINT_E_CANCELLED and poisons the sandbox.  Safe from any thread (not
 * from a signal handler) at any time while `sb` exists; a no-op when no call
 * is running or the running call is already stopping.  An interrupt never
 * affects a later call.
 */
void glint_sandbox_interrupt(glint_sandbox *sb);

/* The last failure on this sandbox (status GLINT_OK if none). Never NULL. */
const glint_error *glint_sandbox_error(const glint_sandbox *sb);
/* True once a guest failure poisoned the sandbox. */
bool glint_sandbox_poisoned(const glint_sandbox *sb);
/* The image's function table, as for glint_image_function.  A pointer from
 * glint_sandbox_function stays valid until the sandbox is destroyed or
 * restored to a snapshot with a different function table. */
size_t glint_sandbox_function_count(const glint_sandbox *sb);
const glint_function *glint_sandbox_function(const glint_sandbox *sb, size_t index);

/* Number of VM exits the sandbox has taken since creation (for benchmarks). */
uint64_t glint_sandbox_exit_count(const glint_sandbox *sb);

/* ---------------------------------------------------------------------------
 * Guest logging: glint_log(level, fmt, ...) in the guest (glint/guest.h).
 *
 * Each sandbox has a maximum level (GLINT_LOG_OFF, _ERROR, _WARN, _INFO,
 * _DEBUG, _TRACE in glint/abi.h); the guest learns it without an exit and
 * does not even format messages above it.  Messages reach `callback` on the
 * thread that runs the guest call, with their level, the guest source file
 * and line ("" and 0 when unknown), and the text (one line: control
 * characters become '?'; valid only during the callback).  Default: level
 * GLINT_LOG_WARN, printed to stderr as "glint: guest log [warn] file:line:
 * message".  Each guest call (and initialization) delivers at most
 * GLINT_LOG_MAX_MESSAGES messages and GLINT_LOG_MAX_BYTES bytes of text;
 * what it drops beyond that is counted, reported by one last callback at
 * the end of the call (level warn, file "", "N guest log messages dropped
 * ..."), and added to glint_sandbox_log_dropped.  Logging allocates
 * nothing and stores nothing on the host.  Set between calls (not during
 * one); callback NULL restores the stderr default.  GLINT_E_INVALID for an
 * unknown level.
 */
#define GLINT_LOG_MAX_MESSAGES 100u
#define GLINT_LOG_MAX_BYTES (64u * 1024u)
typedef void (*glint_log_fn)(glint_sandbox *sb, unsigned level, const char *file, uint32_t line,
                             const char *message, void *user);
glint_status glint_sandbox_set_log(glint_sandbox *sb, unsigned max_level, glint_log_fn callback,
                                   void *user);
/* Messages dropped by the caps since the sandbox was created. */
uint64_t glint_sandbox_log_dropped(const glint_sandbox *sb);
/* "off", "error", "warn", "info", "debug", "trace"; "?" otherwise. */
const char *glint_log_level_name(unsigned level);
/* The reverse (case-insensitive; "warning" too); GLINT_E_INVALID otherwise. */
glint_status glint_log_level_parse(const char *name, unsigned *out, glint_error *err);

/* ---------------------------------------------------------------------------
 * Profiler: samples the guest's instruction pointer and frame-pointer stack
 * at `hz` samples per second of wall time while the sandbox runs guest
 * code (1 .. 10000; 0 means 1000), across calls, until stopped.  Each
 * sample interrupts the guest for a moment and resumes it transparently;
 * time limits and glint_sandbox_interrupt work as usual.  The stack walk
 * reads only guest memory, follows at most GLINT_PROFILE_MAX_DEPTH frames
 * and only upwards, so a guest that lies in its frame pointers gets short
 * or odd stacks, never a hang.  Symbols come from the guest ELF's symbol
 * table (when the image has one; otherwise addresses in hex).  Start and
 * stop between calls, from the thread that uses the sandbox.  Off, it
 * costs nothing.  GLINT_E_STATE if already started (start) or not started
 * (stop).
 */
#define GLINT_PROFILE_MAX_DEPTH 128u
glint_status glint_sandbox_profile_start(glint_sandbox *sb, uint32_t hz);
/*
 * Stops sampling and writes, where the path is not NULL, the folded stacks
 * (one "outer;...;inner COUNT" line per distinct stack, outermost first;
 * the input of flamegraph.pl) and an SVG flame graph drawn by glint.
 * *samples (may be NULL) gets the number of samples.  The profile is freed
 * either way; GLINT_E_IO if a file cannot be written.
 */
glint_status glint_sandbox_profile_stop(glint_sandbox *sb, const char *folded_path,
                                        const char *svg_path, uint64_t *samples);

/* ---------------------------------------------------------------------------
 * Crash dumps: ELF core files of the guest (docs/observability.md).
 *
 * With a directory set, every guest failure (exception, abort, heap
 * exhaustion, stack overflow, access outside guest memory, time limit,
 * cancellation, malformed result) writes DIR/core.FUNCTION.PID.SEQ at the
 * moment of the failure, before any restore: the guest's registers
 * (NT_PRSTATUS, NT_FPREGSET), its user pages with their permissions, and a
 * "GLINT" note saying what failed, so that `gdb GUEST.elf CORE` shows the
 * faulting function and the backtrace.  A file never exceeds `max_bytes`
 * (0: 256 MiB; at least 16 KiB): the stack from RSP goes first, and what
 * does not fit is left out and said so in the note.  Files are written by
 * a thread of glint's own that this call starts, so a call thread under
 * glint_seccomp_restrict_thread still gets its dumps.  A dump that cannot
 * be written leaves the call's status alone and adds "[no core dump: ...]"
 * to its message.  dir NULL turns dumps off.  GLINT_E_IO if dir is not a
 * directory.  Set between calls.
 */
glint_status glint_sandbox_set_core_dump(glint_sandbox *sb, const char *dir, uint64_t max_bytes);
/* Writes a core file of the guest as it is now to `path` (replaced), with
 * the sandbox's cap (default 256 MiB).  Not during a call (GLINT_E_BUSY). */
glint_status glint_sandbox_write_core(glint_sandbox *sb, const char *path);
/* The path of the last core file written for this sandbox, or NULL. */
const char *glint_sandbox_core_path(const glint_sandbox *sb);

/* ---------------------------------------------------------------------------
 * Debugger: a GDB remote-protocol stub on 127.0.0.1 (docs/observability.md).
 *
 * Listens on `port` (0: any free port; *bound_port, if not NULL, gets it).
 * The next guest call (or glint_sandbox_init) waits for gdb to connect
 * (`target remote :PORT`), stops before the guest runs and serves gdb:
 * registers, memory (guest pages only), software breakpoints, single step,
 * continue; guest exceptions are reported as signals.  When the call ends
 * gdb sees the guest exit (or be killed by the failure's signal); detach
 * lets the call go on without the debugger.  Set a time limit of 0 while
 * debugging: the limit counts the time the guest is stopped too.
 */
glint_status glint_sandbox_debug_listen(glint_sandbox *sb, uint16_t port, uint16_t *bound_port);

/* ---------------------------------------------------------------------------
 * Snapshots.
 *
 * A snapshot holds a sandbox's guest memory, its complete vCPU state, the
 * guest's function table, the configuration and the names and signatures of
 * the host functions registered on it.  It is immutable and reference
 * counted: sandboxes made from it or restored to it keep it alive, so the
 * caller may free its own reference at any time.  Any thread may use a
 * snapshot; on KVM many sandboxes share its memory copy-on-write; on the
 * process backend they share its code, read-only data and page tables, and
 * each gets its own copy of its other pages (docs/architecture.md).
 */
typedef struct glint_snapshot glint_snapshot;

/*
 * Takes a snapshot of an initialized sandbox between calls (not poisoned).
 * The sandbox is unchanged.  On success *out is a new reference.
 */
glint_status glint_sandbox_snapshot(glint_sandbox *sb, glint_snapshot **out);

/*
 * Restores the sandbox to `snap`: memory and every piece of vCPU state.  The
 * cost is proportional to the pages the guest dirtied since the sandbox was
 * last in the state of `snap`.  Clears a poisoned state.  The snapshot may
 * come from another sandbox if its memory layout and host-function set
 * (names and signatures) are the same as this sandbox's; otherwise returns
 * GLINT_E_INCOMPATIBLE and leaves the sandbox unchanged.
 */
glint_status glint_sandbox_restore(glint_sandbox *sb, const glint_snapshot *snap);

/*
 * With `snap` not NULL, every later call on the sandbox restores it to
 * `snap` when the call ends, whatever the outcome, so that every call
 * starts from the same state; the result stays valid (it lives in host
 * memory).  NULL turns it off.  The sandbox must be compatible with `snap`.
 */
glint_status glint_sandbox_set_auto_restore(glint_sandbox *sb, const glint_snapshot *snap);

/*
 * Creates a sandbox in the state of `snap`, sharing its memory
 * copy-on-write (KVM; a copy of its data pages on the process backend),
 * without running guest initialization.  As after
 * glint_sandbox_create, register the host functions, then call
 * glint_sandbox_init, which runs no guest code and checks that the
 * registered host functions are those of the snapshot.
 */
glint_status glint_sandbox_create_from_snapshot(const glint_snapshot *snap, glint_sandbox **out,
                                                glint_error *err);

/*
 * The same, on a chosen backend.  GLINT_BACKEND_AUTO is, for a snapshot
 * taken of a sandbox, that sandbox's backend; for one loaded from a file,
 * the one GLINT_BACKEND_AUTO selects for a new guest (GLINT_BACKEND, else
 * kvm if usable, else process).  A snapshot
 * file holds CPU state in a backend-neutral form, so a loaded snapshot runs
 * on any backend this host can use; a snapshot taken of a sandbox runs only
 * on that sandbox's backend (GLINT_E_INCOMPATIBLE otherwise).  A backend
 * this host cannot use gives GLINT_E_NO_KVM.
 */
glint_status glint_sandbox_create_from_snapshot_on(const glint_snapshot *snap, glint_backend backend,
                                                   glint_sandbox **out, glint_error *err);

/* The backend sandboxes made from `snap` run on by default: a taken
 * snapshot's own; for a loaded one, what GLINT_BACKEND_AUTO selected when
 * it was loaded. */
glint_backend glint_snapshot_backend(const glint_snapshot *snap);

/* Drops a reference.  NULL is allowed. */
void glint_snapshot_free(glint_snapshot *snap);
/* Adds a reference; returns snap. */
glint_snapshot *glint_snapshot_ref(glint_snapshot *snap);

/* The guest's function table and the configuration, as in the snapshot. */
size_t glint_snapshot_function_count(const glint_snapshot *snap);
const glint_function *glint_snapshot_function(const glint_snapshot *snap, size_t index);
void glint_snapshot_config(const glint_snapshot *snap, glint_config *cfg);
/* Host functions the snapshot expects (registered when it was taken). */
size_t glint_snapshot_host_count(const glint_snapshot *snap);
const glint_function *glint_snapshot_host_function(const glint_snapshot *snap, size_t index);

/*
 * Snapshot files (format in docs/snapshots.md): save writes the snapshot to
 * `path` (replaced atomically); load maps it, verifies its checksum and
 * refuses another architecture, ABI version or incompatible CPU features,
 * or any corruption, with GLINT_E_BAD_SNAPSHOT (GLINT_E_IO if it cannot be
 * read) and a message saying what and where.  A loaded snapshot maps the
 * file's memory pages: while it or any sandbox made from it exists, the file
 * must not be truncated or rewritten in place (replacing it by rename, as
 * glint_snapshot_save does, is safe; `cp` over it is not: the checksum was
 * verified at load, and a truncated mapping ends the process with SIGBUS).
 */
glint_status glint_snapshot_save(const glint_snapshot *snap, const char *path, glint_error *err);
glint_status glint_snapshot_load(const char *path, glint_snapshot **out, glint_error *err);

/* ---------------------------------------------------------------------------
 * Pools: pristine sandboxes on demand.
 *
 * A pool hands out sandboxes in the state of one snapshot.  A sandbox given
 * back is restored to that state completely (memory and every piece of
 * vCPU state) before anyone gets it again; VM shells (VM, vCPU, memory
 * slot) are kept for reuse, up to max_idle of them, and idle ones are
 * destroyed after idle_timeout_ms (scale to zero).  With min_idle, the
 * pool's own thread creates sandboxes in the background whenever fewer than
 * min_idle are ready, so acquires find one ready; after idle_timeout_ms
 * without an acquire the pool still scales to zero, and refilling resumes
 * with the next acquire.  Every teardown, and creation beyond what is
 * ready, happen on the pool's own thread where possible, off the caller's
 * path (an acquire that finds none ready creates one itself).  All pool
 * functions are thread-safe.
 */
typedef struct glint_pool glint_pool;

/* A host function to register on every sandbox of a pool. */
typedef struct glint_host_function {
    glint_function sig;
    glint_host_fn callback;
    void *user;
} glint_host_function;

typedef struct glint_pool_config {
    size_t max_idle;          /* ready sandboxes kept; 0 = a fresh VM for every acquire */
    size_t prefill;           /* sandboxes made ready at creation (<= max_idle) */
    uint32_t idle_timeout_ms; /* destroy sandboxes idle this long; 0 = keep them */
    const glint_host_function *host; /* registered on each sandbox (copied) */
    size_t nhost;
    size_t min_idle;          /* kept ready in the background while in use (<= max_idle) */
    int backend;              /* glint_backend: AUTO (default) takes the snapshot's; another
                                 must be one the snapshot runs on (any, for a snapshot loaded
                                 from a file; else GLINT_E_INCOMPATIBLE) */
} glint_pool_config;

/* Defaults: max_idle 16, prefill 0, min_idle 0, idle_timeout_ms 30000, no
 * host functions. */
void glint_pool_config_default(glint_pool_config *cfg);

/* Creates a pool for `snap` (which it keeps a reference to). */
glint_status glint_pool_create(const glint_snapshot *snap, const glint_pool_config *cfg,
                               glint_pool **out, glint_error *err);

/*
 * Hands out a sandbox in the pristine state of the pool's snapshot,
 * initialized and with the pool's host functions (the most recently given
 * back, preferring one given back on the calling thread's CPU; docs/pool.md).
 * Give it back with
 * glint_pool_release (never glint_sandbox_destroy).  The caller may call,
 * restore or interrupt it like any sandbox meanwhile.
 */
glint_status glint_pool_acquire(glint_pool *pool, glint_sandbox **out, glint_error *err);

/* Gives a sandbox back (poisoned or not).  It is restored to the pool's
 * snapshot when the pool keeps it; one the pool cannot keep (max_idle 0,
 * max_idle ready already, or the pool being destroyed) is destroyed
 * without a restore. */
void glint_pool_release(glint_pool *pool, glint_sandbox *sb);

/* Destroys the pool and its idle sandboxes.  Sandboxes still out must have
 * been released first. */
void glint_pool_destroy(glint_pool *pool);

typedef struct glint_pool_stats {
    size_t idle;          /* ready sandboxes now */
    size_t out;           /* sandboxes handed out now */
    uint64_t created;     /* VMs created since the pool began */
    uint64_t reused;      /* acquires served by a recycled sandbox */
    uint64_t destroyed;   /* VMs destroyed */
    uint64_t refilled;    /* of `created`, made in the background for min_idle */
    uint64_t refill_failures; /* background creations that failed (retried after 100 ms) */
} glint_pool_stats;
void glint_pool_get_stats(glint_pool *pool, glint_pool_stats *st);

/* ---------------------------------------------------------------------------
 * Metrics (docs/observability.md, "Metrics").  Always on: the library keeps
 * counters and duration histograms per sandbox, per pool and per process,
 * updated without allocation or locks on the call path; reading them copies
 * a struct (no allocation).  Each field is read atomically, the struct as a
 * whole is not one instant: read from any thread at any time.
 */
#define GLINT_HIST_BUCKETS 32u
/* Durations with fixed log-scale buckets: buckets[0] counts durations under
 * 1 us, buckets[i] (0 < i < GLINT_HIST_BUCKETS - 1) those from 2^(i-1) us up
 * to (not including) 2^i us, and the last bucket everything from 2^30 us. */
typedef struct glint_histogram {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t buckets[GLINT_HIST_BUCKETS];
} glint_histogram;

/* Upper bound (exclusive) of bucket i in nanoseconds; UINT64_MAX for the last. */
uint64_t glint_histogram_bucket_bound_ns(unsigned i);

#define GLINT_STATUS_SLOTS 32u /* room in by_status[] for every glint_status */

typedef struct glint_sandbox_stats {
    uint64_t calls;           /* glint_sandbox_call/_call_index that got the sandbox (not BUSY) */
    uint64_t by_status[GLINT_STATUS_SLOTS]; /* of `calls`, by the status they returned */
    uint64_t guest_failures;  /* of `calls`, those that poisoned the sandbox (guest failures) */
    uint64_t timeouts;        /* of `guest_failures`, GLINT_E_TIMEOUT */
    uint64_t cancellations;   /* of `guest_failures`, GLINT_E_CANCELLED */
    uint64_t host_calls;      /* host functions run for the guest */
    uint64_t host_call_failures; /* of `host_calls`, those that returned an error */
    uint64_t host_calls_refused; /* host calls refused before any callback ran */
    uint64_t guest_spans;     /* spans the guest opened (glint_span_begin) while traced */
    uint64_t guest_spans_dropped; /* guest spans over the per-call caps */
    uint64_t restores;        /* restores (explicit, auto-restore, pool release) */
    uint64_t restore_failures;
    uint64_t inits;           /* glint_sandbox_init runs */
    uint64_t snapshots;       /* snapshots taken of this sandbox */
    uint64_t exits;           /* VM exits (glint_sandbox_exit_count) */
    glint_histogram call_duration;      /* calls that ran guest code, without auto-restore */
    glint_histogram restore_duration;
    glint_histogram host_call_duration; /* the host function's callback */
} glint_sandbox_stats;

/* Copies the sandbox's counters since it was created (a pool's sandbox:
 * since it was acquired) into *st.  NULL sb gives zeros. */
void glint_sandbox_get_stats(const glint_sandbox *sb, glint_sandbox_stats *st);

/*
 * A pool's metrics, beside glint_pool_stats (kept as it was: this is a
 * separate structure so that glint_pool_stats's layout does not change).
 * `sandboxes` sums the stats of every lease given back with
 * glint_pool_release (a lease still out counts once it is released).
 */
typedef struct glint_pool_metrics {
    uint64_t acquires;        /* successful glint_pool_acquire */
    uint64_t hits;            /* of `acquires`, served by a ready sandbox */
    uint64_t misses;          /* of `acquires`, that had to create one */
    uint64_t acquire_failures;
    uint64_t releases;
    uint64_t release_failures; /* releases whose restore failed (the sandbox was destroyed) */
                               /* (one destroyed unrestored, not kept, is not a failure) */
    glint_histogram acquire_duration;
    glint_histogram release_duration; /* the release: its restore, if kept */
    glint_sandbox_stats sandboxes;
} glint_pool_metrics;
void glint_pool_get_metrics(glint_pool *pool, glint_pool_metrics *m);

typedef struct glint_process_stats {
    uint64_t sandboxes_created;   /* created successfully (any way, pools included) */
    uint64_t sandboxes_destroyed;
    uint64_t sandboxes_live;
    uint64_t snapshots_taken;
    uint64_t pools_created;
    uint64_t pools_destroyed;
} glint_process_stats;
void glint_get_process_stats(glint_process_stats *st);

/* ---------------------------------------------------------------------------
 * Tracing (docs/observability.md, "Tracing").  Spans with a duration and
 * attributes, delivered to a callback when they end (children before their
 * parent).  Off by default; with no tracer set anywhere a traced operation
 * costs one predictable branch.
 */
typedef enum glint_span_kind {
    GLINT_SPAN_CREATE = 0,    /* a sandbox created (from an image or a snapshot) */
    GLINT_SPAN_INIT,          /* glint_sandbox_init */
    GLINT_SPAN_CALL,          /* a guest call, with its auto-restore */
    GLINT_SPAN_HOST_CALL,     /* a host function run for the guest */
    GLINT_SPAN_RESTORE,       /* a restore (explicit, auto, pool release) */
    GLINT_SPAN_SNAPSHOT,      /* glint_sandbox_snapshot */
    GLINT_SPAN_POOL_ACQUIRE,
    GLINT_SPAN_POOL_RELEASE,
    GLINT_SPAN_GUEST,         /* opened by the guest (glint_span_begin) inside a call */
} glint_span_kind;

typedef struct glint_span {
    glint_span_kind kind;
    const char *name;         /* "call", "host_call", ...; a guest span: the guest's name
                                 (sanitized, at most 63 bytes) */
    const char *function;     /* guest function (call, guest span), host function (host
                                 call), or NULL */
    const char *backend;      /* "kvm", "process", or NULL */
    glint_status status;      /* how it ended (GLINT_OK for a guest span) */
    uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC */
    uint64_t id;              /* unique in the process, never 0 */
    uint64_t parent;          /* the enclosing span on this thread, 0 if none */
    uint64_t sandbox_id;      /* unique in the process per sandbox, 0 if none */
    uint64_t thread_id;       /* the kernel's thread id */
    const glint_sandbox *sandbox; /* may be NULL; valid only during the callback */
} glint_span;

/* Called on the thread that ended the span; `span` and its strings are valid
 * only during the callback.  It must not call into the sandbox. */
typedef void (*glint_tracer_fn)(const glint_span *span, void *user);

/* Process-wide tracer for spans that no sandbox or pool tracer takes; NULL
 * turns it off.  When it returns, no callback runs with the previous
 * (fn, user) any more. */
void glint_set_tracer(glint_tracer_fn fn, void *user);
/* Per sandbox (overrides the process-wide one for its spans); not while a
 * call runs on it.  NULL turns it off. */
void glint_sandbox_set_tracer(glint_sandbox *sb, glint_tracer_fn fn, void *user);
/* Per pool: its acquire/release spans and the spans of its sandboxes
 * (set on each as it is created or acquired).  Thread-safe. */
void glint_pool_set_tracer(glint_pool *pool, glint_tracer_fn fn, void *user);
/* "create", "init", "call", "host_call", ...; "?" otherwise. */
const char *glint_span_kind_name(glint_span_kind kind);

/*
 * The built-in writer: Chrome trace-event JSON ("X" complete events), which
 * Perfetto (ui.perfetto.dev) and chrome://tracing open.  Thread-safe; use
 * glint_trace_file_write as the tracer with the file as `user`:
 *     glint_trace_file_open("t.json", 0, &tf, &err);
 *     glint_set_tracer(glint_trace_file_write, tf);
 *     ...
 *     glint_set_tracer(NULL, NULL);
 *     glint_trace_file_close(tf, &err);
 * The file stops growing at `max_bytes` (0: 256 MiB); later spans are
 * counted as dropped (glint_trace_file_dropped, and in the file's
 * "otherData").  Close writes the end of the JSON; GLINT_E_IO if anything
 * could not be written.
 */
typedef struct glint_trace_file glint_trace_file;
glint_status glint_trace_file_open(const char *path, uint64_t max_bytes, glint_trace_file **out,
                                   glint_error *err);
void glint_trace_file_write(const glint_span *span, void *user);
uint64_t glint_trace_file_dropped(const glint_trace_file *tf);
glint_status glint_trace_file_close(glint_trace_file *tf, glint_error *err);

/* ---------------------------------------------------------------------------
 * Seccomp: an optional system-call filter for threads that run guest calls
 * (see docs/security.md).  Raw BPF, no libseccomp; x86-64 only.
 */
#define GLINT_SECCOMP_KILL  0u /* a forbidden call kills the whole process (SIGSYS) */
#define GLINT_SECCOMP_ERRNO 1u /* a forbidden call fails with EPERM instead */

/*
 * Installs a seccomp filter on the calling thread only (threads it creates
 * later inherit it; other threads are unaffected).  It cannot be removed,
 * and it sets the thread's no_new_privs bit.  Call it after setup: after
 * the sandboxes this thread will use are created (and restored to the
 * snapshots it needs), since creating a VM, opening files and taking
 * snapshots are all forbidden afterwards.  Host functions run on this
 * thread, so they run under the filter too.
 *
 * Allowed afterwards, everything else is forbidden:
 *   ioctl       only KVM_RUN, KVM_{GET,SET}_{REGS,SREGS,FPU,XSAVE,XCRS,MSRS,
 *               VCPU_EVENTS,DEBUGREGS}, KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG
 *               (KVM backend: calls and restores), KVM_SET_GUEST_DEBUG (KVM:
 *               a debugger's session), PAGEMAP_SCAN (process
 *               backend: restores), and TCGETS (stdio asks it of a tty)
 *   write, writev  only to fd 1 and 2 (the default print writes to stdout)
 *   futex, clock_gettime, clock_nanosleep, nanosleep, gettimeofday,
 *   sched_yield, getpid, gettid, rt_sigreturn, rt_sigprocmask, restart_syscall,
 *   sigaltstack
 *   read, poll  (process backend: the park pipe before a restore)
 *   getrusage   only RUSAGE_THREAD (process backend: is the thread preempted)
 *   getcpu, sched_setaffinity  (process backend: a sandbox process bound to
 *               its caller's CPU when the caller shares it, or off it in a
 *               trial; pools: the CPU a sandbox was given back on)
 *   tgkill      only to this process and only with glint_interrupt_signal()
 *   pidfd_send_signal  only signal SIGUSR1, SIGKILL or 0, no siginfo, no
 *               flags (process backend: interrupt, kill or probe the child)
 *   waitid      only P_PIDFD, options within WEXITED|WNOHANG|WNOWAIT, no
 *               rusage (process backend: notice or reap a dead child)
 *   arch_prctl  only ARCH_{GET,SET}_{FS,GS} (selectors are reset before runs)
 *   mmap, mprotect, mremap  only without PROT_EXEC (mremap: any), munmap,
 *               madvise, brk (malloc), fstat, newfstatat (stdio), close
 *               (destroying a sandbox), exit, exit_group
 * A system call of another architecture ABI is forbidden: i386 (int $0x80)
 * kills the process in either mode; x32 numbers match no rule above.
 * `flags` is GLINT_SECCOMP_KILL or GLINT_SECCOMP_ERRNO.  Returns GLINT_OK,
 * GLINT_E_INVALID for unknown flags or a non-x86-64 build, or
 * GLINT_E_HYPERVISOR if the kernel refused the filter (*err says why).
 */
glint_status glint_seccomp_restrict_thread(unsigned flags, glint_error *err);

/*
 * Can this host run sandboxes with the default backend (GLINT_BACKEND_AUTO,
 * so GLINT_BACKEND is honoured)?  GLINT_OK, or GLINT_E_NO_KVM (or
 * GLINT_E_INVALID for a bad GLINT_BACKEND) with a message saying why.
 */
glint_status glint_probe(glint_error *err);

/* The backend a sandbox runs on: GLINT_BACKEND_KVM or GLINT_BACKEND_PROCESS. */
glint_backend glint_sandbox_backend(const glint_sandbox *sb);

/* The signal used to kick vCPUs (see the thread notes at the top). */
int glint_interrupt_signal(void);

#ifdef __cplusplus
}
#endif

#endif /* GLINT_H */
