/*
 * fuzz_sandbox - libFuzzer target for a real sandbox under a hostile
 * guest: fuzz/guests/fuzz_guest.c writes fuzzer-chosen bytes over its
 * output buffer and makes fuzzer-chosen hypercalls (see its comment for the
 * record format), so the host decodes results, host-call frames and abort
 * frames that a running guest really wrote, then resumes or ends the call.
 *
 * One sandbox serves every input; it auto-restores to a snapshot taken
 * after initialization, so each input starts from the same state.
 * Input: byte 0 picks the guest function (its return type), the rest is
 * the bytes argument.  Any glint status is fine; crashes, hangs and
 * sanitizer reports are bugs, and so is a sandbox that is not usable after
 * the restore.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"FuzzVoid", "FuzzBool", "FuzzI32",    "FuzzU32",  "FuzzI64",
                                    "FuzzU64",  "FuzzF32",  "FuzzF64", "FuzzString", "FuzzBytes"};
#define NNAMES (sizeof names / sizeof names[0])
#define MAX_ARG 32768u /* fits the 64 KiB input buffer with room for replies */

static glint_sandbox *sb;
static unsigned long inputs;

static void setup(void)
{
    sb = fh_sandbox();
    glint_snapshot *snap;
    glint_status s;
    if ((s = glint_sandbox_snapshot(sb, &snap)) != GLINT_OK ||
        (s = glint_sandbox_set_auto_restore(sb, snap)) != GLINT_OK)
        fh_die("snapshot / auto-restore", s, glint_sandbox_error(sb));
    glint_snapshot_free(snap); /* the sandbox keeps its reference */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!sb)
        setup();
    size_t n = size - 1 > MAX_ARG ? MAX_ARG : size - 1;
    glint_value arg = {.type = GLINT_BYTES};
    arg.v.bytes.ptr = data + 1;
    arg.v.bytes.len = n;
    glint_value result;
    glint_status s = glint_sandbox_call(sb, names[data[0] % NNAMES], &arg, 1, &result);
    fh_report(sb, s, &result);
    if (s == GLINT_OK && result.type == GLINT_STRING && result.v.str.ptr[result.v.str.len] != 0)
        abort();
    /* Auto-restore leaves a usable sandbox whatever the guest did. */
    if (glint_sandbox_poisoned(sb)) {
        fprintf(stderr, "fuzz_sandbox: still poisoned after auto-restore: %s\n",
                glint_sandbox_error(sb)->message);
        abort();
    }
    if (++inputs % 16 == 0) {
        glint_value empty = {.type = GLINT_BYTES};
        if ((s = glint_sandbox_call(sb, "FuzzVoid", &empty, 1, NULL)) != GLINT_OK) {
            fprintf(stderr, "fuzz_sandbox: a clean call failed after restore: %s\n",
                    glint_sandbox_error(sb)->message);
            abort();
        }
    }
    return 0;
}
