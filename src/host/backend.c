/*
 * backend.c - choosing a backend at run time (hv.h): the operations tables,
 * GLINT_BACKEND, and the public glint_backend_* functions.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hv.h"
#include "sandbox.h"

const struct hv_ops *hv_ops_of(glint_backend b)
{
    switch (b) {
    case GLINT_BACKEND_KVM: return &hv_kvm_ops;
    case GLINT_BACKEND_PROCESS: return &hv_process_ops;
    default: return NULL;
    }
}

const struct hv_ops *hv_ops_for_format(const char *fmt)
{
    if (strcmp(fmt, hv_kvm_ops.cpu_state_format) == 0)
        return &hv_kvm_ops;
    if (strcmp(fmt, hv_process_ops.cpu_state_format) == 0)
        return &hv_process_ops;
    return NULL;
}

API const char *glint_backend_name(glint_backend b)
{
    switch (b) {
    case GLINT_BACKEND_AUTO: return "auto";
    case GLINT_BACKEND_KVM: return "kvm";
    case GLINT_BACKEND_PROCESS: return "process";
    default: return "unknown";
    }
}

API glint_status glint_backend_parse(const char *name, glint_backend *out, glint_error *err)
{
    static const glint_backend all[] = {GLINT_BACKEND_AUTO, GLINT_BACKEND_KVM, GLINT_BACKEND_PROCESS};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, glint_backend_name(all[i])) == 0) {
            if (out)
                *out = all[i];
            return GLINT_OK;
        }
    return glint_fail(err, GLINT_E_INVALID, "unknown backend '%.40s' (expected auto, kvm or process)",
                      name ? name : "(null)");
}

API glint_status glint_backend_probe(glint_backend b, glint_error *err)
{
    const struct hv_ops *ops = hv_ops_of(b);
    if (!ops)
        return glint_fail(err, GLINT_E_INVALID, "glint_backend_probe: backend %d is not kvm or process",
                          (int)b);
    return ops->probe(err);
}

API const char *glint_backend_describe(glint_backend b)
{
    const struct hv_ops *ops = hv_ops_of(b);
    return ops ? ops->describe() : "not a backend (expected kvm or process)";
}

glint_status hv_select(int want, const struct hv_ops **out, glint_error *err)
{
    *out = NULL;
    if (want == GLINT_BACKEND_AUTO) {
        const char *env = getenv("GLINT_BACKEND");
        if (env && *env) {
            glint_backend b;
            glint_error e;
            if (glint_backend_parse(env, &b, &e) != GLINT_OK)
                return glint_fail(err, GLINT_E_INVALID, "GLINT_BACKEND: %s", e.message);
            want = (int)b;
        }
    }
    if (want == GLINT_BACKEND_AUTO) {
        glint_error ek, ep;
        if (hv_kvm_ops.probe(&ek) == GLINT_OK) {
            *out = &hv_kvm_ops;
            return GLINT_OK;
        }
        if (hv_process_ops.probe(&ep) == GLINT_OK) {
            *out = &hv_process_ops;
            return GLINT_OK;
        }
        return glint_fail(err, GLINT_E_NO_KVM, "no backend works on this host: kvm: %.300s; process: %.300s",
                          ek.message, ep.message);
    }
    const struct hv_ops *ops = hv_ops_of((glint_backend)want);
    if (!ops)
        return glint_fail(err, GLINT_E_INVALID, "backend %d is not auto, kvm or process", want);
    glint_status s = ops->probe(err);
    if (s != GLINT_OK)
        return s;
    *out = ops;
    return GLINT_OK;
}

API glint_status glint_backend_select(glint_backend want, glint_backend *out, glint_error *err)
{
    const struct hv_ops *ops;
    glint_status s = hv_select((int)want, &ops, err);
    if (s == GLINT_OK && out)
        *out = ops->id;
    return s;
}

API glint_status glint_probe(glint_error *err)
{
    const struct hv_ops *ops;
    glint_status s = hv_select(GLINT_BACKEND_AUTO, &ops, err);
    if (s == GLINT_OK)
        glint_error_clear(err);
    return s;
}

int glint_debug_guest_pid(glint_sandbox *sb)
{
    return sb && sb->hv ? sb->be->debug_pid(sb->hv) : -1;
}

API glint_backend glint_sandbox_backend(const glint_sandbox *sb)
{
    return sb && sb->be ? sb->be->id : GLINT_BACKEND_AUTO;
}
