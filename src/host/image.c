/*
 * image.c - opening guest images (public API over glint_elf_parse) and
 * looking up their functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "image.h"
#include "symbols.h"

#define API __attribute__((visibility("default")))

API void glint_image_close(glint_image *img)
{
    if (!img)
        return;
    free(img->funcs);
    free(img->fn_entries);
    free(img->names);
    for (size_t i = 0; i < img->nskipped; i++)
        free(img->skipped[i]);
    free(img->skipped);
    glint_symtab_free(img->syms);
    free(img->data);
    free(img);
}

/* Takes ownership of `data` (malloc'd, `len` bytes) and parses it. */
static glint_status image_from_buffer(uint8_t *data, size_t len, glint_image **out,
                                      glint_error *err)
{
    glint_image *img = calloc(1, sizeof *img);
    if (!img) {
        free(data);
        return glint_fail(err, GLINT_E_NOMEM, "out of memory for a guest image");
    }
    img->data = data;
    img->size = len;
    glint_status s = glint_wasm_is_module(data, len) ? glint_wasm_image_parse(img, err)
                                                     : glint_elf_parse(img, err);
    if (s) {
        glint_image_close(img);
        return s;
    }
    if (!img->is_wasm)
        img->syms = glint_symtab_read(img->data, img->size); /* best effort */
    *out = img;
    return GLINT_OK;
}

API glint_status glint_image_open_memory(const void *data, size_t len, glint_image **out,
                                         glint_error *err)
{
    if (!out)
        return glint_fail(err, GLINT_E_INVALID, "glint_image_open_memory: out is NULL");
    *out = NULL;
    if (!data && len)
        return glint_fail(err, GLINT_E_INVALID, "glint_image_open_memory: data is NULL");
    if (len == 0)
        return glint_fail(err, GLINT_E_BAD_IMAGE, "image is empty (0 bytes)");
    if (len > GLINT_IMAGE_MAX_BYTES)
        return glint_fail(err, GLINT_E_BAD_IMAGE, "image is too large (%zu bytes, at most %u)",
                          len, GLINT_IMAGE_MAX_BYTES);
    uint8_t *copy = malloc(len);
    if (!copy)
        return glint_fail(err, GLINT_E_NOMEM, "out of memory copying a %zu-byte image", len);
    memcpy(copy, data, len);
    return image_from_buffer(copy, len, out, err);
}

/* Reads exactly `len` bytes of `fd` into `buf`, retrying short reads and EINTR. */
static glint_status read_all(int fd, uint8_t *buf, size_t len, const char *path,
                             glint_error *err)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return glint_fail(err, GLINT_E_IO, "%s: read failed: %s", path, strerror(errno));
        if (n == 0)
            return glint_fail(err, GLINT_E_IO, "%s: file shrank while reading (%zu of %zu bytes)",
                              path, got, len);
        got += (size_t)n;
    }
    return GLINT_OK;
}

/* Checks the file behind `fd` and reads all of it into a new buffer. */
static glint_status read_file(int fd, const char *path, uint8_t **data, size_t *len,
                              glint_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return glint_fail(err, GLINT_E_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return glint_fail(err, GLINT_E_IO, "%s: is a directory, not a guest ELF file", path);
    if (!S_ISREG(st.st_mode))
        return glint_fail(err, GLINT_E_IO, "%s: not a regular file", path);
    if (st.st_size == 0)
        return glint_fail(err, GLINT_E_BAD_IMAGE, "%s: file is empty (0 bytes)", path);
    if ((uint64_t)st.st_size > GLINT_IMAGE_MAX_BYTES)
        return glint_fail(err, GLINT_E_BAD_IMAGE, "%s: file is too large (%lld bytes, at most %u)",
                          path, (long long)st.st_size, GLINT_IMAGE_MAX_BYTES);
    *len = (size_t)st.st_size;
    *data = malloc(*len);
    if (!*data)
        return glint_fail(err, GLINT_E_NOMEM, "%s: out of memory for %zu bytes", path, *len);
    glint_status s = read_all(fd, *data, *len, path, err);
    if (s) {
        free(*data);
        *data = NULL;
    }
    return s;
}

API glint_status glint_image_open_file(const char *path, glint_image **out, glint_error *err)
{
    if (!out)
        return glint_fail(err, GLINT_E_INVALID, "glint_image_open_file: out is NULL");
    *out = NULL;
    if (!path)
        return glint_fail(err, GLINT_E_INVALID, "glint_image_open_file: path is NULL");
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused after fstat. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return glint_fail(err, GLINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *data = NULL;
    size_t len = 0;
    glint_status s = read_file(fd, path, &data, &len, err);
    close(fd);
    if (s)
        return s;
    glint_error e;
    s = image_from_buffer(data, len, out, &e);
    if (s)
        return glint_fail(err, s, "%s: %s", path, e.message);
    return GLINT_OK;
}

API size_t glint_image_function_count(const glint_image *img)
{
    return img ? img->nfuncs : 0;
}

API const glint_function *glint_image_function(const glint_image *img, size_t index)
{
    if (!img || index >= img->nfuncs)
        return NULL;
    return &img->funcs[index];
}

API size_t glint_image_unavailable_count(const glint_image *img)
{
    return img ? img->nskipped : 0;
}

API const char *glint_image_unavailable(const glint_image *img, size_t index)
{
    return img && index < img->nskipped ? img->skipped[index] : NULL;
}

API int glint_image_is_wasm(const glint_image *img)
{
    return img && img->is_wasm;
}

API long glint_image_find(const glint_image *img, const char *name)
{
    if (!img || !name)
        return -1;
    for (size_t i = 0; i < img->nfuncs; i++) {
        if (strcmp(img->funcs[i].name, name) == 0)
            return (long)i;
    }
    return -1;
}
