/*
 * asm.h - ABI constants for the guest library's assembly (internal).
 *
 * glint/abi.h and glint/layout.h declare C types, so start.S cannot include
 * them; the few values it needs are repeated here.  check.c includes this
 * file next to the real headers and fails the build if any value drifts.
 */
#ifndef GLINT_GUEST_ASM_H
#define GLINT_GUEST_ASM_H

#define ASM_BOOT_INFO_GVA      0x10000    /* GLINT_BOOT_INFO_GVA (layout.h) */
#define ASM_BI_INPUT_BASE      0x30       /* offsetof(struct glint_boot_info, input_base) */
#define ASM_BI_EXIT_GATE       0x20       /* offsetof(struct glint_boot_info, exit_gate) */
#define ASM_PORT_DONE          0xE0       /* GLINT_PORT_DONE */
#define ASM_PORT_ABORT         0xE2       /* GLINT_PORT_ABORT */
#define ASM_ABI_VERSION        2          /* GLINT_ABI_VERSION */
#define ASM_FN_DESC_SIZE       96         /* sizeof(struct glint_fn_desc) */
#define ASM_NOTE_ABI           0x474c4e31 /* GLINT_NOTE_ABI */
#define ASM_CALL_ENTRY         0          /* offsetof(struct glint_call_frame, entry) */

#endif
