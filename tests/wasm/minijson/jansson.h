/*
 * jansson.h (tests/wasm/minijson) - the few functions of jansson that
 * tests/wasm/spec_runner.c uses, for its build as a glint guest (the spec
 * suite run inside a sandbox, scripts/wasm-spec.sh): a reader of
 * wast2json's output, not a general JSON library.  Files come through
 * spec_read_file, which the runner provides (a host function there).
 */
#ifndef GLINT_MINIJSON_H
#define GLINT_MINIJSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct json_t json_t;
typedef struct {
    char text[160];
} json_error_t;

#define JSON_ALLOW_NUL 0x1
#define JSON_COMPACT 0x20

json_t *json_load_file(const char *path, size_t flags, json_error_t *err);
void json_decref(json_t *j);
json_t *json_object_get(const json_t *j, const char *key);
json_t *json_array_get(const json_t *j, size_t i);
size_t json_array_size(const json_t *j);
const char *json_string_value(const json_t *j);
size_t json_string_length(const json_t *j);
long long json_integer_value(const json_t *j);
char *json_dumps(const json_t *j, size_t flags);

/* Provided by the program: the bytes of a file (malloc'd), NULL if none. */
uint8_t *spec_read_file(const char *path, size_t *len);

#endif
