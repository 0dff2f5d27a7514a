/*
 * guestlib: exposes the guest C library (libglint-guest.a) to
 * tests/test_guestlib.c, which checks it through the host API, mostly
 * against the host's own glibc.
 *
 * Formatting (each fmt holds exactly one conversion; outputs joined by '\n'):
 *   FormatInts(string fmts, bytes int64s) -> string   every fmt x every value;
 *       the value goes as long long if the spec has l, j, z, t or q, else int
 *   FormatDoubles(string fmts, bytes doubles) -> string
 *   FormatStr(string fmt, string s) -> string         (s "(NULL)" passes NULL)
 *   FormatPtr(string fmt, uint64 p) -> string
 *   FormatStar(string fmt, int32 w, int32 p, double x) -> string   "%*.*f" style
 *   Snprintf(string fmt, uint32 size, int64 v) -> string  "ret=R buf=B" of
 *       snprintf(buf, size, fmt, (int)v) into a buffer guarded by '#' bytes
 *   FormatRandom(string fmt, uint64 seed, uint32 n) -> string   n doubles
 *       from rand_double() (the test has the same generator)
 * Parsing:
 *   StrToD(string) -> double, StrToDEnd(string) -> int64 (end - start)
 *   StrToDLines(string lines) -> bytes    strtod of each '\n'-separated line
 *   StrToL(string s, int32 base, uint32 which) -> string "v=V end=E errno=N"
 *       which: 0 strtol, 1 strtoul, 2 strtoll, 3 strtoull, 4 atoi
 * Sorting: QSort(bytes int32s) -> bytes, QSortWide(uint32 n, uint64 seed) -> bool,
 *   BSearch(bytes sorted int32s, int32 key) -> int64
 * Heap: MallocStress(uint32 rounds, uint64 seed) -> uint64 errors,
 *   HeapUsed() -> uint64, HeapSize() -> uint64, BiggestBlock() -> uint64,
 *   CallocReuse(uint32 n) -> bool, Aligned(uint32 align, uint32 n) -> uint64,
 *   ReallocKeeps(uint32 rounds, uint64 seed) -> uint64 errors,
 *   Malloc(uint64 n) -> uint64 (aborts on exhaustion), MallocNull(uint64 n) -> bool,
 *   DoubleFree() -> void, BadFree() -> void
 * Results and host calls: WrongReturn() -> int32, WrongArgType(int32) -> int32,
 *   WrongArgIndex(int32) -> int32, BigString(uint64 n) -> string,
 *   ResultThenPrint(string) -> string, ScalarThenPrint(int32) -> int32,
 *   ErrorFmt(string, int32) -> int32, ErrorThenPrint() -> int32
 * Output: Printf(string fmt, double x) -> int32, PrintRepeat(string piece,
 *   uint32 n) -> int32, Puts(string) -> int32, Putchar(int32) -> int32
 * Misc: StringSelfTest() -> string ("" or what failed), CtypeTable() -> bytes,
 *   MathSelfTest() -> string, AssertOne(int32) -> int32, StackSmash(uint32) -> uint32,
 *   Exit(int32) -> void, HostCallInMainResult() -> string
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <glint/guest.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- shared with tests/test_guestlib.c ---- */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Finite doubles of every magnitude, half of them with short decimal forms. */
static double rand_double(uint64_t *s)
{
    uint64_t r = splitmix(s);
    if (r & 1) {
        uint64_t bits = splitmix(s);
        if (((bits >> 52) & 0x7ff) == 0x7ff)
            bits ^= 1ull << 62;
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    double mant = (double)(int64_t)(splitmix(s) % 2000001) - 1000000.0;
    int e = (int)(splitmix(s) % 41) - 20;
    double p = 1.0;
    for (int i = 0; i < (e < 0 ? -e : e); i++)
        p *= 10.0;
    return e < 0 ? mant / p : mant * p;
}
/* ---- end of shared code ---- */

/* The conversion of a one-conversion format takes a long long argument? */
static bool wants_long(const char *fmt)
{
    const char *p = strchr(fmt, '%');
    for (; p && *p; p++)
        if (*p == 'l' || *p == 'j' || *p == 'z' || *p == 't' || *p == 'q')
            return true;
    return false;
}

/* Appends snprintf output for one line to a growing heap string. */
struct text {
    char *p;
    size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 2 > t->cap) {
        t->cap = (t->len + n + 2) * 2;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_return(struct text *t)
{
    glint_return_stringn(t->p ? t->p : "", t->len);
    free(t->p);
}

#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"

/* Calls f(fmt, userdata) for each '\n'-separated format. */
static void each_line(const char *lines, void (*f)(const char *, void *), void *u)
{
    char fmt[128];
    while (*lines) {
        size_t n = strcspn(lines, "\n");
        if (n >= sizeof fmt)
            GLINT_PANIC("format line of %zu bytes", n);
        memcpy(fmt, lines, n);
        fmt[n] = '\0';
        f(fmt, u);
        lines += n + (lines[n] == '\n');
    }
}

struct batch {
    struct text out;
    const uint8_t *vals;
    size_t nvals;
};

static void ints_line(const char *fmt, void *u)
{
    struct batch *b = u;
    bool wide = wants_long(fmt);
    for (size_t i = 0; i < b->nvals; i++) {
        int64_t v;
        memcpy(&v, b->vals + 8 * i, 8);
        char buf[512];
        int n = wide ? snprintf(buf, sizeof buf, fmt, (long long)v)
                     : snprintf(buf, sizeof buf, fmt, (int)v);
        text_add(&b->out, buf, (size_t)n);
        text_add(&b->out, "\n", 1);
    }
}

static void FormatInts(const glint_args *a)
{
    struct batch b = {0};
    b.vals = glint_arg_bytes(a, 1, &b.nvals);
    b.nvals /= 8;
    each_line(glint_arg_string(a, 0, NULL), ints_line, &b);
    text_return(&b.out);
}
GLINT_FUNCTION(FormatInts, GLINT_STRING, GLINT_STRING, GLINT_BYTES);

static void doubles_line(const char *fmt, void *u)
{
    struct batch *b = u;
    for (size_t i = 0; i < b->nvals; i++) {
        double v;
        memcpy(&v, b->vals + 8 * i, 8);
        char buf[1200];
        int n = snprintf(buf, sizeof buf, fmt, v);
        if (n >= (int)sizeof buf)
            GLINT_PANIC("output of %s is %d bytes", fmt, n);
        text_add(&b->out, buf, (size_t)n);
        text_add(&b->out, "\n", 1);
    }
}

static void FormatDoubles(const glint_args *a)
{
    struct batch b = {0};
    b.vals = glint_arg_bytes(a, 1, &b.nvals);
    b.nvals /= 8;
    each_line(glint_arg_string(a, 0, NULL), doubles_line, &b);
    text_return(&b.out);
}
GLINT_FUNCTION(FormatDoubles, GLINT_STRING, GLINT_STRING, GLINT_BYTES);

static void FormatStr(const glint_args *a)
{
    const char *s = glint_arg_string(a, 1, NULL);
    char buf[512];
    snprintf(buf, sizeof buf, glint_arg_string(a, 0, NULL), strcmp(s, "(NULL)") ? s : NULL);
    glint_return_string(buf);
}
GLINT_FUNCTION(FormatStr, GLINT_STRING, GLINT_STRING, GLINT_STRING);

static void FormatPtr(const glint_args *a)
{
    char buf[512];
    snprintf(buf, sizeof buf, glint_arg_string(a, 0, NULL), (void *)(uintptr_t)glint_arg_u64(a, 1));
    glint_return_string(buf);
}
GLINT_FUNCTION(FormatPtr, GLINT_STRING, GLINT_STRING, GLINT_U64);

static void FormatStar(const glint_args *a)
{
    char buf[512];
    snprintf(buf, sizeof buf, glint_arg_string(a, 0, NULL), (int)glint_arg_i32(a, 1),
             (int)glint_arg_i32(a, 2), glint_arg_f64(a, 3));
    glint_return_string(buf);
}
GLINT_FUNCTION(FormatStar, GLINT_STRING, GLINT_STRING, GLINT_I32, GLINT_I32, GLINT_F64);

static void Snprintf(const glint_args *a)
{
    char buf[80];
    uint32_t size = glint_arg_u32(a, 1);
    if (size > 64)
        GLINT_PANIC("size %u", size);
    memset(buf, '#', sizeof buf);
    int r = snprintf(buf + 8, size, glint_arg_string(a, 0, NULL), (int)glint_arg_i64(a, 2));
    for (int i = 0; i < 8; i++)
        if (buf[i] != '#' || buf[8 + size + i] != '#')
            GLINT_PANIC("snprintf wrote outside its buffer");
    char out[200];
    snprintf(out, sizeof out, "ret=%d buf=%.*s", r, (int)(size ? strnlen(buf + 8, size) : 0), buf + 8);
    if (size && buf[8 + strnlen(buf + 8, size)] != '\0')
        GLINT_PANIC("no NUL within size %u", size);
    glint_return_string(out);
}
GLINT_FUNCTION(Snprintf, GLINT_STRING, GLINT_STRING, GLINT_U32, GLINT_I64);

static void FormatRandom(const glint_args *a)
{
    const char *fmt = glint_arg_string(a, 0, NULL);
    uint64_t seed = glint_arg_u64(a, 1);
    uint32_t n = glint_arg_u32(a, 2);
    struct text t = {0};
    for (uint32_t i = 0; i < n; i++) {
        char buf[1200];
        int k = snprintf(buf, sizeof buf, fmt, rand_double(&seed));
        text_add(&t, buf, (size_t)k);
        text_add(&t, "\n", 1);
    }
    text_return(&t);
}
GLINT_FUNCTION(FormatRandom, GLINT_STRING, GLINT_STRING, GLINT_U64, GLINT_U32);

/* ---- parsing ---- */

static void StrToD(const glint_args *a)
{
    glint_return_f64(strtod(glint_arg_string(a, 0, NULL), NULL));
}
GLINT_FUNCTION(StrToD, GLINT_F64, GLINT_STRING);

static void StrToDEnd(const glint_args *a)
{
    const char *s = glint_arg_string(a, 0, NULL);
    char *end;
    strtod(s, &end);
    glint_return_i64(end - s);
}
GLINT_FUNCTION(StrToDEnd, GLINT_I64, GLINT_STRING);

static void StrToDLines(const glint_args *a)
{
    size_t len;
    const char *s = glint_arg_string(a, 0, &len);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    double *out = malloc((n + 1) * sizeof *out);
    size_t k = 0;
    while (*s) {
        char *end;
        out[k++] = strtod(s, &end);
        s = strchr(end, '\n');
        if (!s)
            break;
        s++;
    }
    glint_return_bytes(out, k * sizeof *out);
    free(out);
}
GLINT_FUNCTION(StrToDLines, GLINT_BYTES, GLINT_STRING);

static void StrToL(const glint_args *a)
{
    const char *s = glint_arg_string(a, 0, NULL);
    int base = glint_arg_i32(a, 1);
    char *end = NULL;
    char out[160];
    errno = 0;
    switch (glint_arg_u32(a, 2)) {
    case 0: snprintf(out, sizeof out, "v=%ld", strtol(s, &end, base)); break;
    case 1: snprintf(out, sizeof out, "v=%lu", strtoul(s, &end, base)); break;
    case 2: snprintf(out, sizeof out, "v=%lld", strtoll(s, &end, base)); break;
    case 3: snprintf(out, sizeof out, "v=%llu", strtoull(s, &end, base)); break;
    default: snprintf(out, sizeof out, "v=%d", atoi(s)); end = (char *)s; break;
    }
    int e = errno;
    size_t n = strlen(out);
    snprintf(out + n, sizeof out - n, " end=%td errno=%d", end - s, e);
    glint_return_string(out);
}
GLINT_FUNCTION(StrToL, GLINT_STRING, GLINT_STRING, GLINT_I32, GLINT_U32);

/* ---- sorting ---- */

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

static void QSort(const glint_args *a)
{
    size_t len;
    const uint8_t *in = glint_arg_bytes(a, 0, &len);
    int32_t *v = malloc(len + 4);
    memcpy(v, in, len);
    qsort(v, len / 4, 4, cmp_i32);
    glint_return_bytes(v, len / 4 * 4);
    free(v);
}
GLINT_FUNCTION(QSort, GLINT_BYTES, GLINT_BYTES);

struct wide {
    uint64_t key;
    uint32_t id;
    char pad[13]; /* an odd element size: 25 bytes */
} __attribute__((packed));

static int cmp_wide(const void *x, const void *y)
{
    const struct wide *a = x, *b = y;
    return (a->key > b->key) - (a->key < b->key);
}

static void QSortWide(const glint_args *a)
{
    uint32_t n = glint_arg_u32(a, 0);
    uint64_t seed = glint_arg_u64(a, 1);
    struct wide *v = calloc(n, sizeof *v);
    uint64_t idsum = 0, keysum = 0;
    for (uint32_t i = 0; i < n; i++) {
        v[i].key = splitmix(&seed) % (n / 4 + 1); /* many duplicates */
        v[i].id = i;
        idsum += i;
        keysum += v[i].key;
    }
    qsort(v, n, sizeof *v, cmp_wide);
    bool ok = true;
    for (uint32_t i = 0; i < n; i++) {
        if (i && v[i - 1].key > v[i].key)
            ok = false;
        idsum -= v[i].id;
        keysum -= v[i].key;
    }
    free(v);
    glint_return_bool(ok && idsum == 0 && keysum == 0);
}
GLINT_FUNCTION(QSortWide, GLINT_BOOL, GLINT_U32, GLINT_U64);

static void BSearch(const glint_args *a)
{
    size_t len;
    const uint8_t *in = glint_arg_bytes(a, 0, &len);
    int32_t key = glint_arg_i32(a, 1);
    int32_t *v = malloc(len + 4);
    memcpy(v, in, len);
    int32_t *hit = bsearch(&key, v, len / 4, 4, cmp_i32);
    glint_return_i64(hit ? hit - v : -1);
    free(v);
}
GLINT_FUNCTION(BSearch, GLINT_I64, GLINT_BYTES, GLINT_I32);

/* ---- heap ---- */

static uint8_t pattern(uintptr_t p, size_t i)
{
    return (uint8_t)((p >> 4) * 31 + i * 7);
}

static size_t check_block(const uint8_t *p, size_t n, uintptr_t tag)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += p[i] != pattern(tag, i);
    return bad;
}

static void fill_block(uint8_t *p, size_t n, uintptr_t tag)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(tag, i);
}

#define SLOTS 256

/* Random malloc/calloc/realloc/aligned_alloc/free of blocks of 1 B .. 8 KiB,
 * each filled with a pattern and checked before it is freed. */
static void MallocStress(const glint_args *a)
{
    uint32_t rounds = glint_arg_u32(a, 0);
    uint64_t seed = glint_arg_u64(a, 1);
    static uint8_t *ptr[SLOTS];
    static size_t size[SLOTS];
    uint64_t errors = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        uint64_t x = splitmix(&seed);
        unsigned k = (unsigned)(x % SLOTS);
        size_t n = 1 + (size_t)((x >> 16) % ((x >> 40) % 4 == 0 ? 8192 : 256));
        if (ptr[k]) {
            errors += check_block(ptr[k], size[k], k);
            if ((x >> 8) % 3 == 0) {
                uint8_t *q = realloc(ptr[k], n);
                errors += check_block(q, n < size[k] ? n : size[k], k);
                ptr[k] = q;
            } else {
                free(ptr[k]);
                ptr[k] = (x >> 9) % 2 ? calloc(1, n) : aligned_alloc(64, n);
                if ((x >> 9) % 2)
                    for (size_t i = 0; i < n; i++)
                        errors += ptr[k][i] != 0;
                else
                    errors += ((uintptr_t)ptr[k] % 64) != 0;
            }
        } else {
            ptr[k] = malloc(n);
        }
        errors += ((uintptr_t)ptr[k] % 16) != 0;
        size[k] = n;
        fill_block(ptr[k], n, k);
    }
    for (unsigned k = 0; k < SLOTS; k++) {
        if (ptr[k])
            errors += check_block(ptr[k], size[k], k);
        free(ptr[k]);
        ptr[k] = NULL;
    }
    glint_return_u64(errors);
}
GLINT_FUNCTION(MallocStress, GLINT_U64, GLINT_U32, GLINT_U64);

static void HeapUsed(const glint_args *a)
{
    (void)a;
    glint_return_u64(glint_heap_used());
}
GLINT_FUNCTION(HeapUsed, GLINT_U64);

static void HeapSize(const glint_args *a)
{
    (void)a;
    glint_return_u64(glint_heap_size());
}
GLINT_FUNCTION(HeapSize, GLINT_U64);

/* The largest block malloc gives now (binary search with NULL mode). */
static void BiggestBlock(const glint_args *a)
{
    (void)a;
    glint_heap_null_on_failure(true);
    size_t lo = 0, hi = glint_heap_size();
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        void *p = malloc(mid);
        if (p) {
            free(p);
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    glint_heap_null_on_failure(false);
    glint_return_u64(lo);
}
GLINT_FUNCTION(BiggestBlock, GLINT_U64);

static void CallocReuse(const glint_args *a)
{
    uint32_t n = glint_arg_u32(a, 0);
    uint8_t *p = malloc(n);
    memset(p, 0xab, n);
    free(p);
    uint8_t *q = calloc(n, 1);
    bool ok = true;
    for (uint32_t i = 0; i < n; i++)
        ok &= q[i] == 0;
    free(q);
    glint_return_bool(ok);
}
GLINT_FUNCTION(CallocReuse, GLINT_BOOL, GLINT_U32);

static void Aligned(const glint_args *a)
{
    uint32_t align = glint_arg_u32(a, 0), n = glint_arg_u32(a, 1);
    uint8_t *p = aligned_alloc(align, n);
    if (!p) {
        glint_return_u64(1);
        return;
    }
    memset(p, 0x5a, n);
    uint64_t at = (uint64_t)(uintptr_t)p;
    free(p);
    glint_return_u64(at);
}
GLINT_FUNCTION(Aligned, GLINT_U64, GLINT_U32, GLINT_U32);

static void ReallocKeeps(const glint_args *a)
{
    uint32_t rounds = glint_arg_u32(a, 0);
    uint64_t seed = glint_arg_u64(a, 1);
    size_t n = 1;
    uint8_t *p = malloc(n);
    fill_block(p, n, 7);
    uint8_t *other = NULL;
    uint64_t errors = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        uint64_t x = splitmix(&seed);
        size_t m = 1 + (size_t)(x % 20000);
        if (x & (1ull << 40)) { /* sometimes block the neighbour */
            free(other);
            other = malloc(16 + (x >> 50) % 64);
        }
        p = realloc(p, m);
        errors += check_block(p, m < n ? m : n, 7);
        fill_block(p, m, 7);
        n = m;
    }
    free(p);
    free(other);
    glint_return_u64(errors + glint_heap_used());
}
GLINT_FUNCTION(ReallocKeeps, GLINT_U64, GLINT_U32, GLINT_U64);

static void Malloc(const glint_args *a)
{
    void *p = malloc((size_t)glint_arg_u64(a, 0));
    glint_return_u64((uint64_t)(uintptr_t)p);
}
GLINT_FUNCTION(Malloc, GLINT_U64, GLINT_U64);

static void MallocNull(const glint_args *a)
{
    glint_heap_null_on_failure(true);
    void *p = malloc((size_t)glint_arg_u64(a, 0));
    volatile size_t huge = (size_t)1 << 40;
    void *q = calloc(huge, huge); /* the product overflows */
    glint_heap_null_on_failure(false);
    glint_return_bool(p == NULL && q == NULL && errno == ENOMEM);
    free(p);
}
GLINT_FUNCTION(MallocNull, GLINT_BOOL, GLINT_U64);

static void DoubleFree(const glint_args *a)
{
    (void)a;
    void *p = malloc(100);
    void *q = malloc(100); /* keeps p away from the top */
    free(p);
    free(p);
    free(q);
}
GLINT_FUNCTION(DoubleFree, GLINT_VOID);

static void BadFree(const glint_args *a)
{
    (void)a;
    static int not_heap;
    free(&not_heap);
}
GLINT_FUNCTION(BadFree, GLINT_VOID);

/* ---- results and host calls ---- */

static void WrongReturn(const glint_args *a)
{
    (void)a;
    glint_return_string("not an int");
}
GLINT_FUNCTION(WrongReturn, GLINT_I32);

static void WrongArgType(const glint_args *a)
{
    glint_return_i32((int32_t)strlen(glint_arg_string(a, 0, NULL)));
}
GLINT_FUNCTION(WrongArgType, GLINT_I32, GLINT_I32);

static void WrongArgIndex(const glint_args *a)
{
    glint_return_i32(glint_arg_i32(a, 3));
}
GLINT_FUNCTION(WrongArgIndex, GLINT_I32, GLINT_I32);

static void BigString(const glint_args *a)
{
    size_t n = (size_t)glint_arg_u64(a, 0);
    char *p = malloc(n + 1);
    memset(p, 'x', n);
    p[n] = '\0';
    glint_return_stringn(p, n);
    free(p);
}
GLINT_FUNCTION(BigString, GLINT_STRING, GLINT_U64);

static void ResultThenPrint(const glint_args *a)
{
    size_t len;
    const char *s = glint_arg_string(a, 0, &len);
    glint_return_stringn(s, len);
    printf("after the result: %s\n", s);
}
GLINT_FUNCTION(ResultThenPrint, GLINT_STRING, GLINT_STRING);

static void ScalarThenPrint(const glint_args *a)
{
    glint_return_i32(glint_arg_i32(a, 0) * 2);
    printf("doubled\n");
}
GLINT_FUNCTION(ScalarThenPrint, GLINT_I32, GLINT_I32);

static void ErrorFmt(const glint_args *a)
{
    glint_return_error("bad input '%s' (%d)", glint_arg_string(a, 0, NULL), (int)glint_arg_i32(a, 1));
}
GLINT_FUNCTION(ErrorFmt, GLINT_I32, GLINT_STRING, GLINT_I32);

static void ErrorThenPrint(const glint_args *a)
{
    (void)a;
    glint_return_error("failed before printing");
    puts("printing after the error");
}
GLINT_FUNCTION(ErrorThenPrint, GLINT_I32);

/* ---- output ---- */

static void Printf(const glint_args *a)
{
    glint_return_i32(printf(glint_arg_string(a, 0, NULL), glint_arg_f64(a, 1)));
}
GLINT_FUNCTION(Printf, GLINT_I32, GLINT_STRING, GLINT_F64);

static void PrintRepeat(const glint_args *a)
{
    const char *piece = glint_arg_string(a, 0, NULL);
    uint32_t n = glint_arg_u32(a, 1);
    char *s = malloc(strlen(piece) * n + 1);
    s[0] = '\0';
    for (uint32_t i = 0; i < n; i++)
        strcat(s, piece);
    int r = printf("%s", s);
    free(s);
    glint_return_i32(r);
}
GLINT_FUNCTION(PrintRepeat, GLINT_I32, GLINT_STRING, GLINT_U32);

static void Puts(const glint_args *a)
{
    glint_return_i32(puts(glint_arg_string(a, 0, NULL)));
}
GLINT_FUNCTION(Puts, GLINT_I32, GLINT_STRING);

static void Putchar(const glint_args *a)
{
    glint_return_i32(putchar(glint_arg_i32(a, 0)));
}
GLINT_FUNCTION(Putchar, GLINT_I32, GLINT_I32);

/* ---- misc ---- */

#define EXPECT(cond)                                                              \
    do {                                                                          \
        if (!(cond)) {                                                            \
            glint_return_string("line " GLINT_STR(__LINE__) ": " #cond);          \
            return;                                                               \
        }                                                                         \
    } while (0)
#define GLINT_STR2(x) #x
#define GLINT_STR(x) GLINT_STR2(x)

static void StringSelfTest(const glint_args *a)
{
    (void)a;
    char buf[64];
    EXPECT(strlen("") == 0 && strlen("hello") == 5 && strnlen("hello", 3) == 3);
    EXPECT(strcmp("abc", "abd") < 0 && strcmp("b", "a") > 0 && strcmp("x", "x") == 0);
    EXPECT(strcmp("a\xff", "a\x01") > 0); /* unsigned comparison */
    EXPECT(strncmp("abcdef", "abcxyz", 3) == 0 && strncmp("abc", "abd", 3) < 0);
    EXPECT(strcasecmp("HeLLo", "hello") == 0 && strncasecmp("ABx", "aby", 2) == 0);
    EXPECT(memcmp("ab\0c", "ab\0d", 4) < 0);
    EXPECT(strcpy(buf, "copy") == buf && strcmp(buf, "copy") == 0);
    EXPECT(strcat(buf, "cat") == buf && strcmp(buf, "copycat") == 0);
    EXPECT(strncat(buf, "12345", 2) && strcmp(buf, "copycat12") == 0);
    memset(buf, 'z', sizeof buf);
    EXPECT(strncpy(buf, "ab", 5) == buf && memcmp(buf, "ab\0\0\0z", 6) == 0);
    EXPECT(strchr("hello", 'l') - "hello" == 2 || 1);
    const char *h = "hello world";
    EXPECT(strchr(h, 'o') == h + 4 && strrchr(h, 'o') == h + 7 && strchr(h, 'q') == NULL);
    EXPECT(strchr(h, '\0') == h + 11);
    EXPECT(strstr(h, "wor") == h + 6 && strstr(h, "") == h && strstr(h, "worlds") == NULL);
    EXPECT(strspn("aabbc", "ab") == 4 && strcspn("hello", "lo") == 2);
    EXPECT(strpbrk(h, "wr") == h + 6);
    EXPECT(memchr(h, 'w', 11) == h + 6 && memchr(h, 'w', 5) == NULL);
    char s2[] = "a,b,,c";
    char *save, *t1 = strtok_r(s2, ",", &save), *t2 = strtok_r(NULL, ",", &save);
    char *t3 = strtok_r(NULL, ",", &save), *t4 = strtok_r(NULL, ",", &save);
    EXPECT(!strcmp(t1, "a") && !strcmp(t2, "b") && !strcmp(t3, "c") && t4 == NULL);
    char *d = strdup("dup");
    EXPECT(d && !strcmp(d, "dup"));
    free(d);
    d = strndup("truncate", 4);
    EXPECT(d && !strcmp(d, "trun"));
    free(d);
    char mv[16] = "0123456789";
    memmove(mv + 2, mv, 8);
    EXPECT(memcmp(mv, "0101234567", 10) == 0);
    memmove(mv, mv + 3, 7);
    EXPECT(memcmp(mv, "1234567567", 10) == 0);
    char big[300];
    for (int i = 0; i < 300; i++)
        big[i] = (char)i;
    memmove(big + 1, big, 299); /* long overlapping copy, backwards */
    bool okm = big[0] == 0;
    for (int i = 1; i < 300; i++)
        okm &= big[i] == (char)(i - 1);
    EXPECT(okm);
    EXPECT(abs(-5) == 5 && labs(-7L) == 7 && llabs(-9LL) == 9);
    div_t q = div(17, 5);
    EXPECT(q.quot == 3 && q.rem == 2);
    EXPECT(atoi("  -123xyz") == -123 && atol("42") == 42);
    char *end;
    EXPECT(strtof("1.5", &end) == 1.5f && *end == '\0');
    glint_return_string("");
}
GLINT_FUNCTION(StringSelfTest, GLINT_STRING);

static void CtypeTable(const glint_args *a)
{
    (void)a;
    uint8_t t[256 * 2];
#define BIT(x, k) ((x) ? 1u << (k) : 0u)
    for (int c = 0; c < 256; c++) {
        t[2 * c] = (uint8_t)(BIT(isalnum(c), 0) | BIT(isalpha(c), 1) | BIT(isdigit(c), 2) |
                             BIT(isxdigit(c), 3) | BIT(isspace(c), 4) | BIT(isupper(c), 5) |
                             BIT(islower(c), 6) | BIT(ispunct(c), 7));
        t[2 * c + 1] = (uint8_t)(BIT(isprint(c), 0) | BIT(isgraph(c), 1) | BIT(iscntrl(c), 2) |
                                 BIT(isblank(c), 3) | BIT(toupper(c) != c, 4) | BIT(tolower(c) != c, 5));
    }
    glint_return_bytes(t, sizeof t);
}
GLINT_FUNCTION(CtypeTable, GLINT_BYTES);

static void MathSelfTest(const glint_args *a)
{
    (void)a;
    EXPECT(floor(2.5) == 2.0 && floor(-2.5) == -3.0 && ceil(2.1) == 3.0 && ceil(-2.1) == -2.0);
    EXPECT(trunc(-2.7) == -2.0 && round(2.5) == 3.0 && round(-2.5) == -3.0 && round(0.49999) == 0.0);
    EXPECT(signbit(trunc(-0.5)) && floor(1e300) == 1e300 && floor(-0.0) == 0.0);
    EXPECT(sqrt(2.0) == 1.4142135623730951 && sqrt(144.0) == 12.0 && isnan(sqrt(-1.0)));
    EXPECT(fabs(-3.5) == 3.5 && copysign(2.0, -1.0) == -2.0);
    EXPECT(fmod(10.5, 3.0) == 1.5 && fmod(-7.0, 2.0) == -1.0 && fmod(1e300, 7.0) == fmod(1e300, 7.0));
    EXPECT(fmin(1.0, NAN) == 1.0 && fmax(-1.0, 2.0) == 2.0);
    EXPECT(isinf(HUGE_VAL) && isfinite(1.0) && !isfinite(INFINITY) && isnan(NAN));
    glint_return_string("");
}
GLINT_FUNCTION(MathSelfTest, GLINT_STRING);

static void AssertOne(const glint_args *a)
{
    int32_t x = glint_arg_i32(a, 0);
    assert(x == 1);
    glint_return_i32(x);
}
GLINT_FUNCTION(AssertOne, GLINT_I32, GLINT_I32);

__attribute__((noinline)) static uint32_t smash(uint32_t n)
{
    char buf[16];
    char *p;
    __asm__("" : "=r"(p) : "0"(buf));
    for (uint32_t i = 0; i < n; i++)
        p[i] = 'A';
    __asm__ volatile("" : : "r"(buf) : "memory");
    return n;
}

static void StackSmash(const glint_args *a)
{
    glint_return_u32(smash(glint_arg_u32(a, 0)));
}
GLINT_FUNCTION(StackSmash, GLINT_U32, GLINT_U32);

static void Exit(const glint_args *a)
{
    exit(glint_arg_i32(a, 0));
}
GLINT_FUNCTION(Exit, GLINT_VOID, GLINT_I32);

static int main_rc = 99;
static char main_msg[300];
static int constructed;

__attribute__((constructor)) static void construct(void)
{
    constructed++;
}

void glint_main(void)
{
    main_rc = printf("printing from glint_main\n");
    strncpy(main_msg, glint_host_error(), sizeof main_msg - 1);
}

static void HostCallInMainResult(const glint_args *a)
{
    (void)a;
    char out[400];
    snprintf(out, sizeof out, "rc=%d constructed=%d msg=%s", main_rc, constructed, main_msg);
    glint_return_string(out);
}
GLINT_FUNCTION(HostCallInMainResult, GLINT_STRING);
