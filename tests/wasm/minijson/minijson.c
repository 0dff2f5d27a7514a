/*
 * minijson.c - see jansson.h here.  A recursive-descent reader of JSON
 * (objects, arrays, strings with every escape, numbers, true, false, null)
 * into a tree; objects keep their members in order and are searched
 * linearly, which suits wast2json's small objects.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "jansson.h"

enum kind { J_NULL, J_BOOL, J_INT, J_REAL, J_STR, J_ARR, J_OBJ };

struct json_t {
    enum kind kind;
    long long i;
    char *s;           /* string, or the text of a number */
    size_t len;
    json_t **items;    /* array items, or object values */
    char **keys;       /* object keys */
    size_t n, cap;
};

struct rd {
    const char *p, *end;
    int depth;
    const char *why;
};

static json_t *node(enum kind k)
{
    json_t *j = calloc(1, sizeof *j);
    if (j)
        j->kind = k;
    return j;
}

static void ws(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4(struct rd *r, unsigned *out)
{
    if (r->end - r->p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    r->p += 4;
    *out = v;
    return 0;
}

static void put_utf8(char *b, size_t *n, unsigned c)
{
    if (c < 0x80) {
        b[(*n)++] = (char)c;
    } else if (c < 0x800) {
        b[(*n)++] = (char)(0xc0 | c >> 6);
        b[(*n)++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        b[(*n)++] = (char)(0xe0 | c >> 12);
        b[(*n)++] = (char)(0x80 | (c >> 6 & 0x3f));
        b[(*n)++] = (char)(0x80 | (c & 0x3f));
    } else {
        b[(*n)++] = (char)(0xf0 | c >> 18);
        b[(*n)++] = (char)(0x80 | (c >> 12 & 0x3f));
        b[(*n)++] = (char)(0x80 | (c >> 6 & 0x3f));
        b[(*n)++] = (char)(0x80 | (c & 0x3f));
    }
}

/* At the opening quote. */
static char *string(struct rd *r, size_t *len)
{
    r->p++;
    const char *q = r->p;
    while (q < r->end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= r->end) {
        r->why = "unterminated string";
        return NULL;
    }
    char *b = malloc((size_t)(q - r->p) + 1);
    size_t n = 0;
    while (r->p < q) {
        char c = *r->p++;
        if (c != '\\') {
            b[n++] = c;
            continue;
        }
        c = *r->p++;
        switch (c) {
        case 'n': b[n++] = '\n'; break;
        case 't': b[n++] = '\t'; break;
        case 'r': b[n++] = '\r'; break;
        case 'b': b[n++] = '\b'; break;
        case 'f': b[n++] = '\f'; break;
        case 'u': {
            unsigned u, lo;
            if (hex4(r, &u) < 0) {
                free(b);
                r->why = "bad \\u escape";
                return NULL;
            }
            if (u >= 0xd800 && u < 0xdc00 && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
                r->p += 2;
                if (hex4(r, &lo) < 0) {
                    free(b);
                    r->why = "bad \\u escape";
                    return NULL;
                }
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            put_utf8(b, &n, u); /* never longer than its escape */
            break;
        }
        default: b[n++] = c; break; /* \" \\ \/ */
        }
    }
    r->p = q + 1;
    b[n] = 0;
    *len = n;
    return b;
}

static json_t *value(struct rd *r);

static int push(json_t *j, char *key, json_t *v)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 8;
        json_t **items = realloc(j->items, cap * sizeof *items);
        if (!items)
            return -1;
        j->items = items;
        if (j->kind == J_OBJ) {
            char **keys = realloc(j->keys, cap * sizeof *keys);
            if (!keys)
                return -1;
            j->keys = keys;
        }
        j->cap = cap;
    }
    if (j->kind == J_OBJ)
        j->keys[j->n] = key;
    j->items[j->n++] = v;
    return 0;
}

static json_t *value(struct rd *r)
{
    ws(r);
    if (r->p >= r->end) {
        r->why = "unexpected end";
        return NULL;
    }
    if (++r->depth > 64) {
        r->why = "nested too deeply";
        return NULL;
    }
    json_t *j = NULL;
    char c = *r->p;
    if (c == '{' || c == '[') {
        j = node(c == '{' ? J_OBJ : J_ARR);
        r->p++;
        ws(r);
        if (r->p < r->end && *r->p == (c == '{' ? '}' : ']')) {
            r->p++;
        } else {
            for (;;) {
                char *key = NULL;
                size_t kl;
                if (c == '{') {
                    ws(r);
                    if (r->p >= r->end || *r->p != '"' || !(key = string(r, &kl))) {
                        r->why = r->why ? r->why : "expected a key";
                        json_decref(j);
                        return NULL;
                    }
                    ws(r);
                    if (r->p >= r->end || *r->p++ != ':') {
                        free(key);
                        r->why = "expected ':'";
                        json_decref(j);
                        return NULL;
                    }
                }
                json_t *v = value(r);
                if (!v || push(j, key, v) < 0) {
                    free(key);
                    json_decref(v);
                    json_decref(j);
                    return NULL;
                }
                ws(r);
                if (r->p < r->end && *r->p == ',') {
                    r->p++;
                    continue;
                }
                if (r->p < r->end && *r->p == (c == '{' ? '}' : ']')) {
                    r->p++;
                    break;
                }
                r->why = "expected ',' or a closing bracket";
                json_decref(j);
                return NULL;
            }
        }
    } else if (c == '"') {
        j = node(J_STR);
        if (!(j->s = string(r, &j->len))) {
            free(j);
            return NULL;
        }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        const char *q = r->p;
        while (q < r->end && strchr("+-0123456789.eE", *q))
            q++;
        j = node(J_INT);
        j->len = (size_t)(q - r->p);
        j->s = malloc(j->len + 1);
        memcpy(j->s, r->p, j->len);
        j->s[j->len] = 0;
        if (strpbrk(j->s, ".eE"))
            j->kind = J_REAL;
        else
            j->i = strtoll(j->s, NULL, 10);
        r->p = q;
    } else if (r->end - r->p >= 4 && !memcmp(r->p, "true", 4)) {
        j = node(J_BOOL), j->i = 1, r->p += 4;
    } else if (r->end - r->p >= 5 && !memcmp(r->p, "false", 5)) {
        j = node(J_BOOL), r->p += 5;
    } else if (r->end - r->p >= 4 && !memcmp(r->p, "null", 4)) {
        j = node(J_NULL), r->p += 4;
    } else {
        r->why = "unexpected character";
    }
    r->depth--;
    return j;
}

json_t *json_load_file(const char *path, size_t flags, json_error_t *err)
{
    (void)flags;
    size_t len = 0;
    uint8_t *b = spec_read_file(path, &len);
    if (!b) {
        snprintf(err->text, sizeof err->text, "cannot read %s", path);
        return NULL;
    }
    struct rd r = {(const char *)b, (const char *)b + len, 0, NULL};
    json_t *j = value(&r);
    if (j) {
        ws(&r);
        if (r.p != r.end) {
            json_decref(j);
            j = NULL;
            r.why = "text after the value";
        }
    }
    if (!j)
        snprintf(err->text, sizeof err->text, "%s at byte %zu", r.why ? r.why : "error",
                 (size_t)(r.p - (const char *)b));
    free(b);
    return j;
}

void json_decref(json_t *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        json_decref(j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->s);
    free(j);
}

json_t *json_object_get(const json_t *j, const char *key)
{
    if (!j || j->kind != J_OBJ)
        return NULL;
    for (size_t i = 0; i < j->n; i++)
        if (!strcmp(j->keys[i], key))
            return j->items[i];
    return NULL;
}

json_t *json_array_get(const json_t *j, size_t i)
{
    return j && j->kind == J_ARR && i < j->n ? j->items[i] : NULL;
}

size_t json_array_size(const json_t *j)
{
    return j && j->kind == J_ARR ? j->n : 0;
}

const char *json_string_value(const json_t *j)
{
    return j && j->kind == J_STR ? j->s : NULL;
}

size_t json_string_length(const json_t *j)
{
    return j && j->kind == J_STR ? j->len : 0;
}

long long json_integer_value(const json_t *j)
{
    return j && j->kind == J_INT ? j->i : 0;
}

char *json_dumps(const json_t *j, size_t flags)
{
    (void)flags;
    if (j && j->kind == J_OBJ) {
        const json_t *t = json_object_get(j, "type"), *v = json_object_get(j, "value");
        char buf[200];
        snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"value\":\"%s\"}", t && t->s ? t->s : "?",
                 v && v->s ? v->s : "?");
        return strdup(buf);
    }
    return strdup(j && j->s ? j->s : "?");
}
