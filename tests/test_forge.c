/*
 * test_forge.c - a guest that forges the process backend's "call finished"
 * report and keeps running must not see what the host writes for the next
 * user of the sandbox, nor change the memory a restore brings back.
 */
#include <stdio.h>

#include "helpers.h"

#define FORGE TEST_GUEST("forge")

/* auto: the restore is the call's auto-restore, so the host posted the
 * call with PROC_PARK_AT_DONE and expects the stub to park by itself after
 * the copied report (an exit through the gate that ends a call). */
static void forged_report_case(int autorestore)
{
    SKIP_IF_NO_KVM();
    if (th_backend() != GLINT_BACKEND_PROCESS)
        cr_skip_test("the control page exists only on the process backend");
    glint_sandbox *sb = th_start(FORGE, NULL);
    glint_value r;
    glint_snapshot *snap;
    EXPECT_OK(sb, glint_sandbox_snapshot(sb, &snap));
    EXPECT_OK(sb, glint_sandbox_call(sb, "Bump", NULL, 0, &r));
    cr_assert_eq(r.v.u64, 1001);
    /* The host sees a copy of Bump's report: a finished call.  The guest
     * code keeps running behind it. */
    if (autorestore) {
        EXPECT_OK(sb, glint_sandbox_set_auto_restore(sb, snap));
        EXPECT_OK(sb, glint_sandbox_call(sb, "ForgeAndRun", NULL, 0, NULL));
    } else {
        EXPECT_OK(sb, glint_sandbox_call(sb, "ForgeAndRun", NULL, 0, NULL));
        /* The tenant boundary: a restore must stop it before touching memory. */
        EXPECT_OK(sb, glint_sandbox_restore(sb, snap));
    }
    /* The next user's argument: a secret the old code must never see. */
    char secret[64];
    memset(secret, 0, sizeof secret);
    snprintf(secret, sizeof secret, "%s", "0123456789abcdefSECRET-of-the-next-user");
    glint_value arg = glint_str(secret, strlen(secret));
    for (int i = 0; i < 50; i++) {
        EXPECT_OK(sb, glint_sandbox_call(sb, "Len", &arg, 1, &r));
        cr_assert_eq(r.v.u64, strlen(secret));
        EXPECT_OK(sb, glint_sandbox_call(sb, "Get", NULL, 0, &r));
        cr_assert_eq(r.v.u64, 1000, "counter %llu after the restore: the forging code still runs",
                     (unsigned long long)r.v.u64);
        EXPECT_OK(sb, glint_sandbox_call(sb, "Stolen", NULL, 0, &r));
        cr_assert_eq(r.v.u64, 0, "the forging code read the input buffer after the restore");
        usleep(1000);
    }
    glint_sandbox_destroy(sb);
    glint_snapshot_free(snap);
}

Test(forge, forged_report_then_restore, .timeout = VM_TEST_TIMEOUT)
{
    forged_report_case(0);
}

Test(forge, forged_report_then_auto_restore, .timeout = VM_TEST_TIMEOUT)
{
    forged_report_case(1);
}
