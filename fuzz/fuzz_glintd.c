/*
 * fuzz_glintd - libFuzzer target for glintd's two parsers of untrusted
 * input: the YAML configuration (gd_config_load, through libyaml) and a
 * guest's HTTP response (gd_response_parse).  The first byte picks one.
 * The configuration must either load, with every route naming a defined
 * owner and a path starting with '/', or fail with a one-line message that
 * starts with the file name; a response must either be refused with a
 * reason or describe headers and a body that lie inside the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/glintd/config.h"
#include "../src/glintd/glintd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_config(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("glintd-config", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    struct gd_config c;
    char err[2048];
    err[0] = 0;
    if (gd_config_load(path, &c, err, sizeof err) == 0) {
        if (c.nroutes == 0 || c.nowners == 0)
            abort();
        for (size_t i = 0; i < c.nroutes; i++)
            if (c.routes[i].owner >= c.nowners || c.routes[i].path[0] != '/' || !c.routes[i].guest ||
                !c.routes[i].function)
                abort();
    } else {
        if (strncmp(err, path, strlen(path)) != 0 || strchr(err, '\n'))
            abort();
    }
    gd_config_free(&c);
}

static void fuzz_response(const uint8_t *data, size_t size)
{
    struct gd_response r;
    const char *why = gd_response_parse(data, size, &r);
    if (why)
        return;
    if (r.status < 100 || r.status > 599 || r.body < data || r.body + r.body_len != data + size)
        abort();
    char name[256], value[4096];
    for (uint32_t i = 0; i < r.nheaders; i++) {
        if (r.hdr[i] + 8 > size)
            abort();
        gd_response_header(&r, i, name, value);
        if (!name[0] || strchr(name, ':') || strchr(value, '\r') || strchr(value, '\n'))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_config(data + 1, size - 1);
    else
        fuzz_response(data + 1, size - 1);
    return 0;
}
