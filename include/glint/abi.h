/*
 * glint/abi.h - the binary interface shared by the glint host and its guests.
 *
 * Everything that crosses the VM boundary is declared here, with fixed-width
 * types and explicit layout, and nothing else.  Both sides compile this file:
 * the host (hosted C17) and the guest library (freestanding C).
 *
 * Direction conventions, marked on every field:
 *   IN   written by the host, read by the guest
 *   OUT  written by the guest, read by the host (untrusted: the host copies
 *        it out of guest memory, then validates the copy, then uses it)
 *
 * Addresses from the host to the guest are guest virtual addresses (GVA).
 * Locations from the guest to the host are always *offsets* into the output
 * buffer, never addresses, so that the host can bounds-check them against a
 * single window.
 *
 * GLINT_ABI_VERSION changes whenever anything in this file changes meaning.
 * The guest records the version it was built for in an ELF note; the host
 * refuses a guest whose note is missing or differs.
 */
#ifndef GLINT_ABI_H
#define GLINT_ABI_H

#include <stdint.h>

#define GLINT_ABI_VERSION 2u /* 2: boot info at 0x10000, image from 0x20000 */

/* ---------------------------------------------------------------------------
 * Hypercall ports.  The guest runs in ring 3; the TSS I/O permission bitmap
 * opens exactly the GLINT_PORT_* ports marked "ring 3" below.  Any other port
 * raises #GP in the guest, which is reported as an exception.
 */
#define GLINT_PORT_DONE      0xE0u /* ring 3: call finished / init finished; waits for next call */
#define GLINT_PORT_HOSTCALL  0xE1u /* ring 3: a glint_hostcall_frame is in the output buffer */
#define GLINT_PORT_ABORT     0xE2u /* ring 3: a glint_abort_frame is in the output buffer */
#define GLINT_PORT_EXCEPTION 0xE3u /* ring 0 only (closed in the bitmap): exception stub report */
#define GLINT_PORT_FIRST     GLINT_PORT_DONE
#define GLINT_PORT_LAST      GLINT_PORT_ABORT /* last port open to ring 3 */

/* ---------------------------------------------------------------------------
 * Value types.  VOID is valid only as a return type.
 */
typedef enum glint_type {
    GLINT_VOID = 0,
    GLINT_BOOL = 1,
    GLINT_I32 = 2,
    GLINT_U32 = 3,
    GLINT_I64 = 4,
    GLINT_U64 = 5,
    GLINT_F32 = 6,
    GLINT_F64 = 7,
    GLINT_STRING = 8, /* UTF-8, length-delimited; the guest also sees a NUL after it */
    GLINT_BYTES = 9,
} glint_type;
#define GLINT_TYPE_COUNT 10u

#define GLINT_MAX_PARAMS 16u
#define GLINT_MAX_NAME   63u /* bytes in a function name, without the NUL */

/*
 * A value on the wire.  Scalars live in `bits` (bool as 0/1, signed
 * integers sign-extended, float in the low 32 bits as IEEE-754 binary32,
 * double as binary64).  STRING and BYTES put their length in `len` and:
 *   host -> guest: `bits` is the GVA of the data (a NUL follows it);
 *   guest -> host: `bits` is the offset of the data in the output buffer.
 */
struct glint_abi_value {
    uint32_t type; /* IN/OUT: glint_type */
    uint32_t reserved;
    uint64_t len;  /* IN/OUT: byte length of STRING/BYTES, 0 otherwise */
    uint64_t bits; /* IN/OUT: scalar bits, or data GVA (IN) / offset (OUT) */
};

/* ---------------------------------------------------------------------------
 * Function table.  Each guest function is described by one glint_fn_desc in
 * the ELF section ".glint.fns" (emitted by GLINT_FUNCTION in glint/guest.h).
 * The host reads the table from the image at load time; the ABI note below
 * tells it where the table is, so no section headers are needed.
 */
struct glint_fn_desc {
    uint64_t entry;                    /* GVA of void fn(const struct glint_call_frame *) */
    uint8_t ret;                       /* glint_type of the result */
    uint8_t nparams;                   /* 0..GLINT_MAX_PARAMS */
    uint8_t params[GLINT_MAX_PARAMS];  /* glint_type of each parameter */
    uint8_t reserved[6];
    char name[GLINT_MAX_NAME + 1];     /* NUL-terminated, [A-Za-z_][A-Za-z0-9_]* */
};
#define GLINT_FN_DESC_SIZE 96u

/*
 * The host functions registered on a sandbox, as the host writes them at the
 * start of the input buffer before the guest's initialization runs (and
 * only then): a guest whose glint_main must know them (the WebAssembly
 * runtime, which binds a module's imports there, where host calls are not
 * possible) reads this; other guests ignore it.  Untrusted by nobody: the
 * host wrote it and checks every host call anyway.
 */
#define GLINT_HOSTFN_MAGIC 0x3154464e54534f48ull /* "HOSTNFT1" */
struct glint_hostfn_entry {
    uint8_t ret;                       /* glint_type */
    uint8_t nparams;
    uint8_t params[GLINT_MAX_PARAMS];
    uint8_t reserved[6];
    char name[GLINT_MAX_NAME + 1];
};
struct glint_hostfn_table {
    uint64_t magic;                    /* GLINT_HOSTFN_MAGIC */
    uint32_t count;
    uint32_t reserved;
    struct glint_hostfn_entry fn[];    /* count of them */
};

/*
 * ELF note carried by every guest (section ".note.glint", in a PT_NOTE
 * segment): owner "glint", type GLINT_NOTE_ABI, descriptor below.
 */
#define GLINT_NOTE_NAME "glint"
#define GLINT_NOTE_ABI  0x474c4e31u /* "GLN1" */
struct glint_abi_note {
    uint32_t abi_version;  /* GLINT_ABI_VERSION the guest was built for */
    uint32_t fn_desc_size; /* sizeof(struct glint_fn_desc) */
    uint64_t fn_table;     /* GVA of the first glint_fn_desc */
    uint64_t fn_table_end; /* GVA one past the last */
};

/* ---------------------------------------------------------------------------
 * Boot information: one read-only page at GLINT_BOOT_INFO_GVA (see
 * glint/layout.h), which is also the guest's FS base so that the stack
 * protector canary sits at %fs:0x28 as gcc expects.  The host fills it
 * before the first run; the guest never writes it.
 */
struct glint_boot_info {
    uint64_t magic;         /* IN: GLINT_BOOT_MAGIC */
    uint32_t abi_version;   /* IN */
    uint32_t flags;         /* IN: none defined yet */
    uint64_t heap_base;     /* IN: GVA, page aligned, memory is zero */
    uint64_t heap_size;     /* IN */
    uint64_t exit_gate;     /* IN: 0, or the GVA of the host's exit gate (below) */
    uint64_t stack_canary;  /* IN: offset 0x28, random per sandbox */
    uint64_t input_base;    /* IN: GVA of the input buffer (a glint_call_frame at its start) */
    uint64_t input_size;    /* IN */
    uint64_t output_base;   /* IN: GVA of the output buffer */
    uint64_t output_size;   /* IN */
    uint64_t stack_top;     /* IN: initial RSP (16-byte aligned) */
    uint64_t stack_size;    /* IN */
};
#define GLINT_BOOT_MAGIC 0x31544f4f42474cULL /* "GLBOOT1" */

/*
 * The exit gate.  Where boot_info.exit_gate is not 0 (the process backend
 * sets it; KVM does not), a hypercall `out %al, $port` may instead be made
 * as a jump to that address, without a fault:
 *
 *       movq 0x10020, %rdx         boot_info.exit_gate (not through FS:
 *                                    guests may move FS)
 *       testq %rdx, %rdx
 *       jz 1f
 *       leaq 2f(%rip), %rcx         where to resume
 *       jmp *%rdx
 *   1:  outb %al, $port             the resume address must follow the OUT:
 *   2:                              the host reads the port there
 *
 * The exit is then the OUT's, as if it had run: the same port and value
 * (AL), the guest state resumes at 2: with every register kept (RCX and RDX
 * as set above) and nothing written below the guest's RSP.  The host may
 * set exit_gate to 0 at any exit (a debugger attaching); guests read it
 * before every hypercall.  A guest that jumps there any other way only
 * fails its own call.
 */

/* ---------------------------------------------------------------------------
 * A call from the host into the guest.  The host writes this at the start of
 * the input buffer, with string and bytes data after it, then resumes the
 * guest, which is waiting in its OUT to GLINT_PORT_DONE.  The guest calls
 * `entry` with a pointer to the frame.
 */
struct glint_call_frame {
    uint64_t entry;     /* IN: glint_fn_desc.entry of the function */
    uint32_t fn_index;  /* IN: index in the function table */
    uint32_t nargs;     /* IN */
    uint64_t data_end;  /* IN: offset in the input buffer where argument data ends */
    uint64_t reserved;  /* IN: bits 0-7: GLINT_LOG_* level (below); bit 8: GLINT_CALL_SPANS;
                           other bits 0 */
    struct glint_abi_value args[GLINT_MAX_PARAMS]; /* IN */
};

/*
 * Guest logging (glint_log in glint/guest.h).  The host writes the most
 * verbose level it wants into bits 0-7 of the call frame's `reserved` before
 * every call (and before initialization), so the guest knows it without an
 * exit; GLINT_LOG_OFF (what a host that predates logging writes) means none.
 * A message is a host call to GLINT_LOG_HOSTFN, which is never registered:
 * the host handles it itself, sends no reply, and takes it also during
 * initialization.  Arguments: (u32 level, string file, u32 line, string
 * message).  Guests built before logging ignore the field.
 */
#define GLINT_LOG_OFF   0u
#define GLINT_LOG_ERROR 1u
#define GLINT_LOG_WARN  2u
#define GLINT_LOG_INFO  3u
#define GLINT_LOG_DEBUG 4u
#define GLINT_LOG_TRACE 5u
#define GLINT_LOG_LEVEL_MASK 0xffu
#define GLINT_LOG_HOSTFN "__glint_log"

/*
 * Guest tracing spans (glint_span_begin/end in glint/guest.h).  The host sets
 * GLINT_CALL_SPANS in the call frame's `reserved` when a tracer wants spans
 * for this call; without it the guest makes no exit for a span.  A span is a
 * host call to GLINT_SPAN_HOSTFN, never registered (so it is not part of a
 * snapshot's host-function set): the host handles it itself.  Arguments:
 * (u32 op, string name), op GLINT_SPAN_OP_BEGIN (name given) or
 * GLINT_SPAN_OP_END (name ignored); result void.  Guests built before
 * spans ignore the bit.
 */
#define GLINT_CALL_SPANS     (1u << 8)
#define GLINT_SPAN_HOSTFN    "__glint_span"
#define GLINT_SPAN_OP_BEGIN  1u
#define GLINT_SPAN_OP_END    2u

/*
 * The result of a guest call, at the start of the output buffer.  Before each
 * call the host sets status to GLINT_RESULT_NONE; a guest function that
 * returns a value overwrites it with GLINT_RESULT_OK and the value, or with
 * GLINT_RESULT_ERROR and a message (type GLINT_STRING) to fail the call.
 */
#define GLINT_RESULT_NONE  0u
#define GLINT_RESULT_OK    1u
#define GLINT_RESULT_ERROR 2u
struct glint_result_frame {
    uint32_t status;             /* OUT: GLINT_RESULT_* */
    uint32_t reserved;
    struct glint_abi_value value; /* OUT: offsets relative to the output buffer */
};

/*
 * A call from the guest to a host function: at the start of the output
 * buffer, then OUT to GLINT_PORT_HOSTCALL.  Name and data are offsets into
 * the output buffer.  The host answers with a glint_hostcall_reply placed in
 * the input buffer at offset GLINT_ALIGN16(frame.data_end) of the current
 * call frame (so the call's own arguments stay intact).
 */
struct glint_hostcall_frame {
    uint32_t name_len;  /* OUT: 1..GLINT_MAX_NAME */
    uint32_t nargs;     /* OUT: 0..GLINT_MAX_PARAMS */
    uint32_t ret_type;  /* OUT: the glint_type the guest expects back */
    uint32_t reserved;
    uint64_t name_off;  /* OUT: offset of the name in the output buffer */
    struct glint_abi_value args[GLINT_MAX_PARAMS]; /* OUT */
};

#define GLINT_HOSTCALL_OK      0u /* value holds the result */
#define GLINT_HOSTCALL_REFUSED 1u /* not registered / signature mismatch; message says why */
#define GLINT_HOSTCALL_FAILED  2u /* the host function reported an error; message says what */
struct glint_hostcall_reply {
    uint32_t status;             /* IN: GLINT_HOSTCALL_* */
    uint32_t message_len;        /* IN: bytes of message (NUL follows), 0 if none */
    uint64_t message;            /* IN: GVA of the message */
    struct glint_abi_value value; /* IN: data GVAs point into the input buffer */
};

/*
 * Guest abort: at the start of the output buffer, then OUT to
 * GLINT_PORT_ABORT.  The host copies at most GLINT_ABORT_MSG_MAX bytes of
 * the message.  The sandbox is poisoned afterwards.
 */
#define GLINT_ABORT_MSG_MAX 512u
#define GLINT_ABORT_USER  0u /* glint_abort(), abort(), panic, assert */
#define GLINT_ABORT_OOM   1u /* guest heap exhausted */
#define GLINT_ABORT_STACK 2u /* stack protector found a smashed stack */
struct glint_abort_frame {
    uint32_t kind;     /* OUT: GLINT_ABORT_* */
    int32_t code;      /* OUT: guest-chosen code */
    uint64_t msg_len;  /* OUT */
    uint64_t msg_off;  /* OUT: offset of the message in the output buffer */
};

/*
 * Exception report: the ring-0 stubs push the vector and an error code (0
 * when the CPU pushes none) on the exception stack and write any value to
 * GLINT_PORT_EXCEPTION.  At RSP the host then finds this frame.
 */
struct glint_exception_frame {
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

#define GLINT_ALIGN16(x) (((x) + 15u) & ~(uint64_t)15u)

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct glint_abi_value) == 24, "abi value layout");
_Static_assert(sizeof(struct glint_fn_desc) == GLINT_FN_DESC_SIZE, "fn desc layout");
_Static_assert(sizeof(struct glint_abi_note) == 24, "abi note layout");
_Static_assert(__builtin_offsetof(struct glint_boot_info, stack_canary) == 0x28, "canary at %fs:0x28");
_Static_assert(__builtin_offsetof(struct glint_boot_info, exit_gate) == 0x20, "exit gate at GLINT_BOOT_INFO_GVA + 0x20");
_Static_assert(sizeof(struct glint_call_frame) == 32 + 16 * 24, "call frame layout");
_Static_assert(sizeof(struct glint_result_frame) == 32, "result frame layout");
_Static_assert(sizeof(struct glint_hostcall_frame) == 24 + 16 * 24, "hostcall frame layout");
_Static_assert(sizeof(struct glint_hostcall_reply) == 40, "hostcall reply layout");
_Static_assert(sizeof(struct glint_abort_frame) == 24, "abort frame layout");
_Static_assert(sizeof(struct glint_exception_frame) == 56, "exception frame layout");
#endif

#endif /* GLINT_ABI_H */
