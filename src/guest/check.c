/*
 * check.c - build-time checks that the constants repeated in asm.h (for
 * start.S) match glint/abi.h and glint/layout.h.  No code.
 */
#include "asm.h"
#include "internal.h"

_Static_assert(ASM_BOOT_INFO_GVA == GLINT_BOOT_INFO_GVA, "asm.h: boot info address");
_Static_assert(ASM_BI_INPUT_BASE == __builtin_offsetof(struct glint_boot_info, input_base),
               "asm.h: boot info input_base offset");
_Static_assert(ASM_BI_EXIT_GATE == __builtin_offsetof(struct glint_boot_info, exit_gate),
               "asm.h: exit gate");
_Static_assert(ASM_PORT_DONE == GLINT_PORT_DONE, "asm.h: DONE port");
_Static_assert(ASM_PORT_ABORT == GLINT_PORT_ABORT, "asm.h: ABORT port");
_Static_assert(ASM_ABI_VERSION == GLINT_ABI_VERSION, "asm.h: ABI version");
_Static_assert(ASM_FN_DESC_SIZE == sizeof(struct glint_fn_desc), "asm.h: fn desc size");
_Static_assert(ASM_NOTE_ABI == GLINT_NOTE_ABI, "asm.h: note type");
_Static_assert(ASM_CALL_ENTRY == __builtin_offsetof(struct glint_call_frame, entry),
               "asm.h: call frame entry offset");
_Static_assert(sizeof(struct glint_abi_note) == 24, "start.S writes a 24-byte note descriptor");
