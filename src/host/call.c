/*
 * call.c - calling guest functions: argument checks, marshalling into the
 * input buffer, the run loop, and turning every way a run can end into a
 * result or a structured error.
 *
 * Hot path (glint_sandbox_call of a warm sandbox): no allocation and one
 * exit (KVM: one KVM_RUN; process: one fault, answered through the control page); the frame and data are written straight into guest
 * memory, and the result is copied out of it into a preallocated buffer.
 */
#include <stdio.h>
#include <string.h>

#include "cpu_x86_64.h"
#include "debug.h"
#include "error.h"
#include "sandbox.h"
#include "wire.h"

/* Room kept free after the arguments for a host-call reply header and message. */
#define REPLY_RESERVE (sizeof(struct glint_hostcall_reply) + 16u + 320u)

glint_status glint_hostcall_dispatch(glint_sandbox *sb, const char *ctx);

static const char *ctx_name(const glint_function *fn)
{
    return fn ? fn->name : "guest initialization";
}

static glint_status check_args(glint_sandbox *sb, const glint_function *fn, const glint_value *args,
                               size_t nargs)
{
    char sig[256];
    if (nargs != fn->nparams || (nargs && !args)) {
        glint_function_format(fn, sig, sizeof sig);
        return glint_fail(&sb->err, GLINT_E_SIGNATURE, "%s: expects %u argument%s, got %zu", sig,
                          fn->nparams, fn->nparams == 1 ? "" : "s", nargs);
    }
    for (size_t i = 0; i < nargs; i++) {
        if (args[i].type != fn->params[i]) {
            glint_function_format(fn, sig, sizeof sig);
            return glint_fail(&sb->err, GLINT_E_SIGNATURE, "%s: argument %zu is %s, expected %s",
                              sig, i + 1, glint_type_name(args[i].type),
                              glint_type_name(fn->params[i]));
        }
        if (args[i].type == GLINT_STRING &&
            ((!args[i].v.str.ptr && args[i].v.str.len) ||
             (args[i].v.str.len && !glint_utf8_valid((const uint8_t *)args[i].v.str.ptr,
                                                     args[i].v.str.len))))
            return glint_fail(&sb->err, GLINT_E_INVALID, "%s: argument %zu is not valid UTF-8",
                              fn->name, i + 1);
        if (args[i].type == GLINT_BYTES && !args[i].v.bytes.ptr && args[i].v.bytes.len)
            return glint_fail(&sb->err, GLINT_E_INVALID, "%s: argument %zu: NULL bytes pointer",
                              fn->name, i + 1);
    }
    return GLINT_OK;
}

static glint_status marshal(glint_sandbox *sb, size_t index, const glint_value *args, size_t nargs)
{
    uint8_t *in = sb->mem + sb->lay.input_base;
    uint64_t cap = sb->lay.input_size - REPLY_RESERVE;
    struct glint_call_frame *f = (struct glint_call_frame *)in; /* host-side view of host memory */
    uint64_t off = sizeof *f;
    f->entry = sb->fn_entries[index];
    f->fn_index = (uint32_t)index;
    f->nargs = (uint32_t)nargs;
    f->reserved = sb->log_level; /* glint_log's level: the guest reads it without an exit */
    f->reserved |= sb->obs.frame_flags; /* GLINT_CALL_SPANS while traced (stats.c) */
    for (size_t i = 0; i < nargs; i++) {
        struct glint_abi_value *w = &f->args[i];
        w->type = (uint32_t)args[i].type;
        w->reserved = 0;
        if (args[i].type == GLINT_STRING || args[i].type == GLINT_BYTES) {
            const void *p = args[i].type == GLINT_STRING ? (const void *)args[i].v.str.ptr
                                                         : (const void *)args[i].v.bytes.ptr;
            size_t len = args[i].type == GLINT_STRING ? args[i].v.str.len : args[i].v.bytes.len;
            if (len >= cap || !glint_range_ok(off, (uint64_t)len + 1, cap)) {
                if (off > sb->host_in_hw) /* earlier arguments are in guest memory */
                    sb->host_in_hw = off;
                return glint_fail(&sb->err, GLINT_E_TOO_LARGE,
                                  "%s: arguments need more than the %llu-byte input buffer "
                                  "(argument %zu has %zu bytes)",
                                  sb->funcs[index].name, (unsigned long long)sb->lay.input_size,
                                  i + 1, len);
            }
            if (len)
                memcpy(in + off, p, len);
            in[off + len] = 0;
            w->len = len;
            w->bits = sb->lay.input_base + off;
            off = GLINT_ALIGN16(off + len + 1);
        } else {
            w->len = 0;
            w->bits = glint_wire_scalar(&args[i]);
        }
    }
    f->data_end = off;
    sb->data_end = off;
    if (off > sb->host_in_hw)
        sb->host_in_hw = off;
    /* The guest sets the result; until then it says "none". */
    struct glint_result_frame *r = (struct glint_result_frame *)(sb->mem + sb->lay.output_base);
    r->status = GLINT_RESULT_NONE;
    return GLINT_OK;
}

static glint_status finish(glint_sandbox *sb, const glint_function *fn, glint_value *result)
{
    if (!fn)
        return GLINT_OK;
    const uint8_t *out = sb->mem + sb->lay.output_base;
    struct glint_result_frame r;
    memcpy(&r, out, sizeof r);
    if ((r.status == GLINT_RESULT_ERROR ||
         (r.status == GLINT_RESULT_OK && (fn->ret == GLINT_STRING || fn->ret == GLINT_BYTES))) &&
        !glint_sandbox_buffer(sb, GLINT_BUF_RESULT))
        return glint_fail(&sb->err, GLINT_E_NOMEM, "%s: out of memory for the result's copy", fn->name);
    glint_value v = {.type = GLINT_VOID};
    char why[200];
    size_t used = 0;
    switch (r.status) {
    case GLINT_RESULT_NONE:
        if (fn->ret != GLINT_VOID)
            return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA,
                              "%s: guest function returned without a value (declared -> %s)",
                              fn->name, glint_type_name(fn->ret));
        break;
    case GLINT_RESULT_ERROR:
        if (!glint_wire_decode(&r.value, GLINT_STRING, out, sb->lay.output_size, sb->result_buf,
                               sb->lay.output_size + 1, &used, &v, why, sizeof why))
            return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA, "%s: malformed error result: message %s",
                              fn->name, why);
        glint_fail(&sb->err, GLINT_E_GUEST_ERROR, "%s: guest error: %.700s", fn->name,
                   v.v.str.ptr);
        glint_sanitize(sb->err.message);
        return GLINT_E_GUEST_ERROR; /* the guest is consistent: not poisoned */
    case GLINT_RESULT_OK:
        if (!glint_wire_decode(&r.value, fn->ret, out, sb->lay.output_size, sb->result_buf,
                               sb->lay.output_size + 1, &used, &v, why, sizeof why))
            return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA, "%s: malformed result: the value %s",
                              fn->name, why);
        break;
    default:
        return glint_fail(&sb->err, GLINT_E_BAD_GUEST_DATA, "%s: malformed result: status %u",
                          fn->name, r.status);
    }
    if (result)
        *result = v;
    return GLINT_OK;
}

static glint_status handle_abort(glint_sandbox *sb, const char *ctx)
{
    const uint8_t *out = sb->mem + sb->lay.output_base;
    struct glint_abort_frame a;
    memcpy(&a, out, sizeof a);
    char msg[GLINT_ABORT_MSG_MAX + 1];
    int truncated = 0;
    uint64_t len = a.msg_len;
    if (len > GLINT_ABORT_MSG_MAX)
        len = GLINT_ABORT_MSG_MAX, truncated = 1;
    if (glint_range_ok(a.msg_off, len, sb->lay.output_size)) {
        memcpy(msg, out + a.msg_off, (size_t)len);
        msg[len] = 0;
        glint_sanitize(msg);
    } else {
        snprintf(msg, sizeof msg, "(malformed abort frame: %llu-byte message at offset 0x%llx)",
                 (unsigned long long)a.msg_len, (unsigned long long)a.msg_off);
        truncated = 0;
    }
    const char *more = truncated ? " [truncated]" : "";
    switch (a.kind) {
    case GLINT_ABORT_OOM:
        glint_fail(&sb->err, GLINT_E_GUEST_OOM, "%s: guest heap exhausted: %s%s", ctx, msg, more);
        break;
    case GLINT_ABORT_STACK:
        glint_fail(&sb->err, GLINT_E_ABORT, "%s: stack smashing detected: %s%s", ctx, msg, more);
        break;
    case GLINT_ABORT_USER:
        glint_fail(&sb->err, GLINT_E_ABORT, "%s: guest aborted (code %d): %s%s", ctx, a.code, msg,
                   more);
        break;
    default:
        glint_fail(&sb->err, GLINT_E_ABORT, "%s: guest aborted (unknown abort kind %u, code %d): %s%s",
                   ctx, a.kind, a.code, msg, more);
        break;
    }
    sb->err.abort_code = a.code;
    return glint_poison(sb);
}

static const char *region_of(const glint_sandbox *sb, uint64_t a)
{
    const struct glint_layout *l = &sb->lay;
    if (a < GLINT_PAGE_SIZE) return "the null page";
    if (a < GLINT_IMAGE_BASE) return "runtime memory";
    if (a < l->image_end) return "the guest image";
    if (a < l->guard_base) return "the heap";
    if (a < l->stack_base) return "the stack guard page";
    if (a < l->stack_top) return "the stack";
    if (a < l->output_base) return "the input buffer";
    if (a < l->pt_base) return "the output buffer";
    if (a < l->mem_size) return "runtime memory";
    if (a >> 47 && (a >> 47) != 0x1ffff) return "a non-canonical address";
    return "no guest memory";
}

static glint_status handle_exception(glint_sandbox *sb, const struct hv_exit *ex, const char *ctx)
{
    unsigned vec = ex->vector;
    const struct glint_layout *l = &sb->lay;
    char extra[160] = "";
    if (ex->what[0])
        snprintf(extra, sizeof extra, ": %.140s", ex->what);
    if (vec == 14) {
        uint64_t e = ex->error_code, cr2 = ex->addr;
        const char *what = (e & 16) ? ((e & 1) ? "instruction fetch from a non-executable page"
                                               : "instruction fetch from an unmapped page")
                           : (e & 2) ? ((e & 1) ? "write to a read-only page" : "write to an unmapped page")
                                     : ((e & 1) ? "read of a protected page" : "read of an unmapped page");
        if (cr2 >> 47) /* the kernel half: Linux reports user accesses there as protection faults */
            what = (e & 16) ? "instruction fetch from a kernel-half address"
                   : (e & 2) ? "write to a kernel-half address" : "read of a kernel-half address";
        /* A fault in the guard page with RSP at or near it is the stack
         * growing into it; anything else there is an overrun from the heap. */
        if (cr2 >= l->guard_base && cr2 < l->stack_base && ex->rsp < l->stack_base + GLINT_PAGE_SIZE)
            glint_fail(&sb->err, GLINT_E_STACK_OVERFLOW,
                       "%s: stack overflow: %s at 0x%llx in the guard page below the %llu KiB stack "
                       "(rip 0x%llx)", ctx, what, (unsigned long long)cr2,
                       (unsigned long long)(l->stack_size / 1024), (unsigned long long)ex->rip);
        else if (cr2 >= l->mem_size)
            glint_fail(&sb->err, GLINT_E_OUT_OF_BOUNDS,
                       "%s: access outside guest memory: %s at 0x%llx, %s (guest memory ends at "
                       "0x%llx; rip 0x%llx)", ctx, what, (unsigned long long)cr2, region_of(sb, cr2),
                       (unsigned long long)l->mem_size, (unsigned long long)ex->rip);
        else
            glint_fail(&sb->err, GLINT_E_EXCEPTION, "%s: page fault: %s at 0x%llx in %s (rip 0x%llx)",
                       ctx, what, (unsigned long long)cr2, region_of(sb, cr2),
                       (unsigned long long)ex->rip);
        sb->err.address = cr2;
    } else {
        const char *hint = vec == 13 && !ex->what[0]
                               ? " (privileged instruction, I/O to a port that is not a "
                                 "hypercall, or a non-canonical address)"
                               : "";
        glint_fail(&sb->err, GLINT_E_EXCEPTION, "%s: %s at rip 0x%llx in %s, error code 0x%llx%s%s", ctx,
                   x86_vector_name(vec), (unsigned long long)ex->rip, region_of(sb, ex->rip),
                   (unsigned long long)ex->error_code, extra, hint);
    }
    sb->err.vector = vec;
    sb->err.rip = ex->rip;
    sb->err.error_code = ex->error_code;
    return glint_poison(sb);
}

static glint_status cancelled(glint_sandbox *sb, glint_status why, const char *ctx)
{
    uint64_t rip = sb->be->guest_rip(sb->hv);
    if (why == GLINT_E_TIMEOUT)
        glint_fail(&sb->err, GLINT_E_TIMEOUT, "%s: time limit of %u ms exceeded (guest at rip 0x%llx)",
                   ctx, sb->cfg.timeout_ms, (unsigned long long)rip);
    else
        glint_fail(&sb->err, GLINT_E_CANCELLED, "%s: call interrupted (guest at rip 0x%llx)", ctx,
                   (unsigned long long)rip);
    sb->err.rip = rip;
    return glint_poison(sb);
}

static glint_status on_exit(glint_sandbox *sb, const struct hv_exit *ex, const glint_function *fn,
                            glint_value *result, int *done)
{
    const char *ctx = ctx_name(fn);
    *done = 1;
    switch (ex->kind) {
    case HV_EXIT_INTR:
        *done = 0;
        return GLINT_OK;
    case HV_EXIT_IO:
        if (ex->is_out && ex->port == GLINT_PORT_DONE) {
            glint_status s = finish(sb, fn, result);
            return s == GLINT_OK || s == GLINT_E_GUEST_ERROR ? s : glint_poison(sb);
        }
        if (ex->is_out && ex->port == GLINT_PORT_HOSTCALL) {
            glint_status s = glint_hostcall_dispatch(sb, ctx);
            *done = s != GLINT_OK;
            return s == GLINT_OK ? s : glint_poison(sb);
        }
        if (ex->is_out && ex->port == GLINT_PORT_ABORT)
            return handle_abort(sb, ctx);
        glint_fail(&sb->err, GLINT_E_UNEXPECTED_EXIT, "%s: unexpected I/O %s port 0x%x (%u bytes)", ctx,
                   ex->is_out ? "write to" : "read from", ex->port, ex->size);
        return glint_poison(sb);
    case HV_EXIT_EXCEPTION:
        return handle_exception(sb, ex, ctx);
    case HV_EXIT_SYSCALL:
        glint_fail(&sb->err, GLINT_E_EXCEPTION,
                   "%s: the guest tried a system call (%s) at rip 0x%llx in %s: guests cannot make "
                   "system calls", ctx, ex->what, (unsigned long long)ex->rip, region_of(sb, ex->rip));
        sb->err.rip = ex->rip;
        sb->err.vector = 13;
        return glint_poison(sb);
    case HV_EXIT_DIED:
        glint_fail(&sb->err, GLINT_E_HYPERVISOR, "%s: %s", ctx, ex->what);
        return glint_poison(sb);
    case HV_EXIT_MMIO:
        glint_fail(&sb->err, GLINT_E_OUT_OF_BOUNDS,
                   "%s: access outside guest memory: %s guest-physical address 0x%llx (memory ends at "
                   "0x%llx)", ctx, ex->is_out ? "write to" : "read of", (unsigned long long)ex->addr,
                   (unsigned long long)sb->lay.mem_size);
        sb->err.address = ex->addr;
        return glint_poison(sb);
    case HV_EXIT_SHUTDOWN:
        glint_fail(&sb->err, GLINT_E_SHUTDOWN, "%s: the vCPU shut down (triple fault)", ctx);
        return glint_poison(sb);
    case HV_EXIT_HLT:
        glint_fail(&sb->err, GLINT_E_UNEXPECTED_EXIT, "%s: unexpected HLT exit", ctx);
        return glint_poison(sb);
    case HV_EXIT_OTHER:
    default:
        if (ex->what[0])
            glint_fail(&sb->err, GLINT_E_UNEXPECTED_EXIT, "%s: %s", ctx, ex->what);
        else
            glint_fail(&sb->err, GLINT_E_UNEXPECTED_EXIT,
                       "%s: unexpected exit (%s reason %u, detail 0x%llx)", ctx, sb->be->name,
                       ex->raw_reason, (unsigned long long)ex->detail);
        return glint_poison(sb);
    }
}

glint_status glint_run_guest(glint_sandbox *sb, const glint_function *fn, glint_value *result)
{
    glint_status s = GLINT_OK;
    sb->in_call = fn != NULL;
    if (!fn) {
        sb->data_end = 0;
        /* glint_main may log too: the level in a frame of its own. */
        struct glint_call_frame *f = (struct glint_call_frame *)(sb->mem + sb->lay.input_base);
        f->reserved = sb->log_level;
        if (sizeof *f > sb->host_in_hw)
            sb->host_in_hw = sizeof *f;
    }
    sb->log_msgs = 0;
    sb->log_bytes = 0;
    glint_run_begin(sb);
    if (sb->gdb)
        glint_gdb_call_begin(sb);
    for (;;) {
        glint_status why = glint_run_cancelled(sb);
        if (why != GLINT_OK) {
            s = cancelled(sb, why, ctx_name(fn));
            break;
        }
        struct hv_exit ex;
        s = sb->be->run(sb->hv, &ex, &sb->err);
        if (s != GLINT_OK) {
            s = glint_poison(sb);
            break;
        }
        if (ex.kind != HV_EXIT_INTR)
            sb->exits++;
        else if (sb->prof) /* a profiler sample, or an interrupt */
            glint_profile_on_intr(sb);
        if (sb->gdb && ex.kind == HV_EXIT_EXCEPTION && glint_gdb_exception(sb, &ex))
            continue; /* a breakpoint or single step the debugger took */
        int done;
        s = on_exit(sb, &ex, fn, result, &done);
        if (done)
            break;
    }
    glint_run_end(sb);
    /* Crash dump and debugger: before anything restores the sandbox. */
    if (s != GLINT_OK && s != GLINT_E_GUEST_ERROR && sb->state == SB_POISONED)
        glint_core_on_failure(sb, ctx_name(fn));
    if (sb->gdb)
        glint_gdb_call_end(sb, s);
    sb->in_call = 0;
    if (sb->log_dropped_call)
        glint_log_call_end(sb);
    return s;
}

static glint_status call_checked(glint_sandbox *sb, size_t index, const glint_value *args,
                                 size_t nargs, glint_value *result)
{
    if (sb->state == SB_POISONED)
        return glint_fail(&sb->err, GLINT_E_POISONED,
                          "sandbox is poisoned by an earlier failure (%s: %.600s)",
                          glint_poison_status(sb), glint_poison_message(sb));
    if (sb->state != SB_READY)
        return glint_fail(&sb->err, GLINT_E_STATE, "call before glint_sandbox_init");
    if (index >= sb->nfuncs)
        return glint_fail(&sb->err, GLINT_E_NO_FUNCTION, "no guest function with index %zu (the guest has %zu)",
                          index, sb->nfuncs);
    const glint_function *fn = &sb->funcs[index];
    glint_status s;
    if ((s = check_args(sb, fn, args, nargs)) || (s = marshal(sb, index, args, nargs)))
        return s;
    if (sb->be->restore_hint)
        sb->be->restore_hint(sb->hv, sb->auto_restore || sb->pooled);
    return glint_run_guest(sb, fn, result);
}

static int enter(glint_sandbox *sb)
{
    int expected = 0;
    return atomic_compare_exchange_strong(&sb->busy, &expected, 1);
}

API glint_status glint_sandbox_call_index(glint_sandbox *sb, size_t index, const glint_value *args,
                                          size_t nargs, glint_value *result)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (!enter(sb))
        return GLINT_E_BUSY;
    uint64_t seq0 = atomic_load_explicit(&sb->seq, memory_order_relaxed);
    uint64_t t0 = glint_obs_call_begin(sb, index < sb->nfuncs ? sb->funcs[index].name : NULL);
    glint_status s = call_checked(sb, index, args, nargs, result);
    glint_obs_call_done(sb, s, t0, seq0);
    if (sb->auto_restore && sb->state != SB_CREATED)
        s = glint_auto_restore(sb) == GLINT_OK ? s : sb->err.status;
    glint_obs_call_end(sb, s);
    atomic_store(&sb->busy, 0);
    return s;
}

API glint_status glint_sandbox_call(glint_sandbox *sb, const char *name, const glint_value *args,
                                    size_t nargs, glint_value *result)
{
    if (!sb)
        return GLINT_E_INVALID;
    if (!enter(sb))
        return GLINT_E_BUSY;
    glint_status s;
    size_t i = 0;
    uint64_t seq0 = atomic_load_explicit(&sb->seq, memory_order_relaxed);
    uint64_t t0 = glint_obs_call_begin(sb, name);
    if (!name) {
        s = glint_fail(&sb->err, GLINT_E_INVALID, "glint_sandbox_call: name is NULL");
    } else {
        while (i < sb->nfuncs && strcmp(sb->funcs[i].name, name) != 0)
            i++;
        if (i == sb->nfuncs && sb->state != SB_POISONED)
            s = glint_fail(&sb->err, GLINT_E_NO_FUNCTION,
                           "no guest function named '%.100s' (the guest exports %zu function%s)", name,
                           sb->nfuncs, sb->nfuncs == 1 ? "" : "s");
        else
            s = call_checked(sb, i, args, nargs, result);
    }
    glint_obs_call_done(sb, s, t0, seq0);
    if (sb->auto_restore && sb->state != SB_CREATED)
        s = glint_auto_restore(sb) == GLINT_OK ? s : sb->err.status;
    glint_obs_call_end(sb, s);
    atomic_store(&sb->busy, 0);
    return s;
}

/*
 * Test hook (fuzzing, sandbox.h): handles a guest OUT to `port` exactly as
 * the run loop would, decoding whatever the output buffer holds now, as if
 * the guest were running `fn` (NULL: initialization).  No guest code runs.
 */
glint_status glint_debug_guest_out(glint_sandbox *sb, const glint_function *fn, uint16_t port,
                                   glint_value *result)
{
    struct hv_exit ex = {.kind = HV_EXIT_IO, .port = port, .size = 1, .is_out = 1};
    int done;
    sb->in_call = fn != NULL;
    glint_status s = on_exit(sb, &ex, fn, result, &done);
    sb->in_call = 0;
    return s;
}
