/*
 * fuzz_wasm_exec - libFuzzer target for the WebAssembly engine's execution
 * (src/wasm): every module wasm_module_new accepts is instantiated (its
 * imported functions answer 0, other imports refuse the link) and each
 * exported function is called, with arguments taken from the input's last
 * bytes, under a 20 ms interrupt (wasm_interrupt from a POSIX timer on a
 * real-time signal: libFuzzer's own -timeout uses SIGALRM).  A call must
 * return results of its type, or fail with a trap, exhaustion, interrupt
 * or host error and a message; after a failure the instance stays usable.
 * Crashes, hangs and sanitizer reports are the bugs.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/wasm/wasm.h"
#include "../tests/wasm/noop_imports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wasm_instance *volatile running;
static timer_t timer;
static int timer_ok;

static void on_timer(int sig)
{
    (void)sig;
    wasm_instance *in = running;
    if (in)
        wasm_interrupt(in);
}

static void arm(long ns)
{
    if (!timer_ok)
        return;
    struct itimerspec t = {{0, 0}, {0, ns}};
    timer_settime(timer, 0, &t, NULL);
}

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_timer;
    sigaction(SIGRTMIN + 3, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN + 3;
    timer_ok = timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    wasm_limits lim;
    wasm_limits_default(&lim);
    lim.max_memory_pages = 64;
    lim.max_table_elems = 4096;
    lim.max_call_depth = 2000;
    wasm_error err;
    memset(&err, 0, sizeof err);
    wasm_module *m = wasm_module_new(data, size, &lim, &err);
    if (!m)
        return 0;
    running = NULL;
    wasm_instance *in = wasm_instance_new(m, &lim, noop_resolve, NULL, &err);
    if (!in) {
        if (err.kind != WASM_ERR_LINK && err.kind != WASM_ERR_TRAP && err.kind != WASM_ERR_LIMIT &&
            err.kind != WASM_ERR_NOMEM && err.kind != WASM_ERR_EXHAUSTION && err.kind != WASM_ERR_HOST)
            abort();
        wasm_module_free(m);
        return 0;
    }
    /* Arguments: from the last 64 bytes of the input (the module's own
     * bytes: the fuzzer mutates both at once). */
    const uint8_t *seed = size > 64 ? data + size - 64 : data;
    size_t nseed = size > 64 ? 64 : size;
    for (size_t e = 0; e < wasm_module_export_count(m) && e < 64; e++) {
        if (wasm_module_export_kind(m, e) != WASM_EXTERN_FUNC)
            continue;
        uint32_t fi = wasm_module_export_index(m, e);
        const wasm_functype *t = wasm_module_func_type(m, fi);
        wasm_val args[32], res[32];
        if (!t || t->nparams > 32 || t->nresults > 32)
            continue;
        for (uint32_t a = 0; a < t->nparams; a++) {
            uint64_t v = 0;
            for (size_t k = 0; k < 8 && nseed; k++)
                v = v << 8 | seed[(a * 8 + k) % nseed];
            args[a].type = t->params[a];
            args[a].v.i64 = v % 7 == 0 ? v : v % 257; /* mostly small, sometimes wild */
            if (t->params[a] == WASM_FUNCREF || t->params[a] == WASM_EXTERNREF)
                args[a].v.ref = 0; /* the host passes only null references (the API's contract) */
        }
        memset(res, 0, sizeof res);
        memset(&err, 0, sizeof err);
        running = in;
        arm(20 * 1000 * 1000);
        int rc = wasm_call(in, fi, args, t->nparams, res, t->nresults, &err);
        arm(0);
        running = NULL;
        if (rc == 0) {
            for (uint32_t r = 0; r < t->nresults; r++)
                if (res[r].type != t->results[r])
                    abort(); /* a result of another type than declared */
        } else {
            if (err.kind != WASM_ERR_TRAP && err.kind != WASM_ERR_EXHAUSTION &&
                err.kind != WASM_ERR_INTERRUPTED && err.kind != WASM_ERR_HOST && err.kind != WASM_ERR_NOMEM &&
                err.kind != WASM_ERR_LIMIT)
                abort();
            if (!memchr(err.msg, 0, sizeof err.msg) || !err.msg[0])
                abort();
        }
    }
    wasm_instance_free(in);
    wasm_module_free(m);
    return 0;
}
