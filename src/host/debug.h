/*
 * debug.h - crash dumps (coredump.c) and the GDB remote stub (gdbstub.c),
 * internal.  Both see the guest through the backend-neutral interface
 * only: registers as a struct ucpu (read with save_cpu + cpu_export, or
 * from the CPU's exception frame when the vCPU stopped in a ring-0 stub),
 * memory through the page tables glint wrote (never a guest pointer).
 */
#ifndef GLINT_DEBUG_H
#define GLINT_DEBUG_H

#include <stdint.h>

#include "sandbox.h"
#include "ucpu.h"

/* The guest's ring-3 registers now.  1 with *u filled (and *cs, *ss the
 * selectors, 0x33/0x2b unless an exception frame says otherwise), 0 if
 * the backend cannot say (a dead process): *u is then zero but for rip
 * = fallback_rip. */
int glint_guest_regs(glint_sandbox *sb, struct ucpu *u, uint16_t *cs, uint16_t *ss,
                     uint64_t fallback_rip);

/* Makes *u the state the guest resumes in (debugger: after a stop). */
glint_status glint_guest_set_regs(glint_sandbox *sb, const struct ucpu *u, glint_error *err);

/* Page-table flags of guest page `gva` as the guest sees it (PTE bits P,
 * W, U and NX, from the tables glint wrote), 0 if not a user page. */
#define GUEST_PAGE_W  2u
#define GUEST_PAGE_X  4u
#define GUEST_PAGE_OK 8u
unsigned glint_guest_page(const glint_sandbox *sb, uint64_t gva);

/* Copies guest memory [gva, gva+len) that lies in user pages; returns the
 * number of bytes copied (stops at the first page that is not). */
size_t glint_guest_read(const glint_sandbox *sb, uint64_t gva, void *buf, size_t len);

/* coredump.c: called by the run loop after a guest failure (sb->err set),
 * before anything restores the sandbox.  Writes a core file if configured. */
void glint_core_on_failure(glint_sandbox *sb, const char *ctx);

/* gdbstub.c: the run loop's hooks, only when sb->gdb is set. */
/* Before the first run of a call (or init): waits for gdb if it is not
 * attached yet, reports a stop and serves it until it resumes. */
void glint_gdb_call_begin(glint_sandbox *sb);
/* An exception exit: 1 if the debugger took it (breakpoint, single step;
 * the guest resumes), 0 if it is a failure (gdb has been shown it). */
int glint_gdb_exception(glint_sandbox *sb, const struct hv_exit *ex);
/* The call ended with status s: tells gdb (exit or signal), removes the
 * breakpoints from guest memory. */
void glint_gdb_call_end(glint_sandbox *sb, glint_status s);
/* Destroys the session (sandbox destroy). */
void glint_gdb_free(glint_sandbox *sb);

#endif
