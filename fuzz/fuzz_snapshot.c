/*
 * fuzz_snapshot - libFuzzer target for the snapshot file loader:
 * glint_snapshot_load on arbitrary bytes, written to a memfd and loaded
 * through its /proc/self/fd path.
 *
 * Both checksums would stop almost every mutation at the first check, so
 * for inputs of even length the target recomputes them (memory checksum,
 * then the header-and-tables checksum) wherever the header's section table
 * lets it, driving the mutations into the deeper checks; inputs of odd
 * length are loaded as they are.  Any status is fine; a loaded snapshot
 * must also work as the source of a sandbox when /dev/kvm is usable.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int kvm_ok = -1;

/* Recomputes mem_crc and meta_crc in buf where the section table allows. */
static void fix_checksums(uint8_t *buf, size_t size)
{
    if (size < HDR_SIZE)
        return;
    struct sf_hdr h;
    glint_sf_get_header(buf, &h);
    const struct sf_sec *mem = &h.sec[SEC_MEMORY], *pm = &h.sec[SEC_PAGEMAP];
    uint64_t meta_len = mem->off;
    if (meta_len < HDR_SIZE || meta_len > size)
        return;
    if (pm->off <= size && pm->size <= size - pm->off && mem->count <= pm->size * 8 &&
        mem->count <= (size - mem->off) / PAGE) {
        uint32_t crc = 0;
        for (uint64_t pg = 0; pg < mem->count; pg++) {
            const uint8_t *w = buf + pm->off + pg / 8;
            if (*w >> (pg % 8) & 1)
                crc = glint_crc32c(crc, buf + mem->off + pg * PAGE, PAGE);
        }
        sf_put32(buf + H_MEM_CRC, crc);
    }
    sf_put32(buf + H_META_CRC, glint_sf_meta_crc(buf, (size_t)meta_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-snapshot", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        glint_error e;
        kvm_ok = glint_probe(&e) == GLINT_OK;
    }
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (size % 2 == 0)
        fix_checksums(buf, size);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, size, 0) != (ssize_t)size)
        abort();
    free(buf);

    glint_snapshot *snap = NULL;
    glint_error err;
    if (glint_snapshot_load(path, &snap, &err) == GLINT_OK) {
        glint_sandbox *sb = NULL;
        if (kvm_ok && glint_sandbox_create_from_snapshot(snap, &sb, &err) == GLINT_OK) {
            glint_sandbox_init(sb);
            glint_sandbox_destroy(sb);
        }
        glint_snapshot_free(snap);
    } else if (err.message[0] == 0 || strchr(err.message, '\n')) {
        abort(); /* a failure always says what */
    }
    return 0;
}
