/*
 * kernels.c - the compute kernels of the WebAssembly benchmark
 * (scripts/bench-wasm.sh, docs/benchmarks.md "WebAssembly").
 *
 * Plain C, no libc, no headers: one source built three ways,
 *   native   bench/wasm/native_guest.c includes this file (glint-cc -O2);
 *   wasm     clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry
 *            -Wl,--export-dynamic: each KERNEL is an export of that name;
 *   driver   the same with -DWI_KERNEL=name -DWI_N=size [-DWI_F64]:
 *            exports only run() -> the kernel's checksum (an f64 result as
 *            its i64 bits), for wabt's wasm-interp, which can only call
 *            exports without arguments.
 *
 * Every kernel takes one i32 (its size or iteration count), generates its
 * own input deterministically, and returns a checksum of its output, so
 * that the runtimes' results can be compared with the native guest's:
 *
 *   fib(n)      -> i32   recursive Fibonacci, fib(n) mod 2^32
 *   matmul(n)   -> f64   n x n f64 matrix product (n <= 256), weighted sum of C
 *                        (exact: every product and sum is a small dyadic number)
 *   crc32(n)    -> i32   table-driven CRC-32 over a 16 KiB buffer, n passes chained
 *   heapsort(n) -> i32   heapsort of n pseudo-random u32 (n <= 262144), checked sorted
 *   sha256(n)   -> i32   SHA-256 of n KiB (a 64 KiB buffer repeated), first digest word
 *   nbody(n)    -> f64   the 5-body simulation, n steps of 0.01, final energy
 *   lz77(n)     -> i32   LZ77 compression of n bytes of text-like data (n <= 1 MiB),
 *                        decompressed and checked, FNV-1a of the compressed stream
 *   echo(x)     -> i32   returns x: the empty call
 *
 * A kernel that finds its own result wrong (not sorted, round trip differs)
 * returns 0.  Floating point is IEEE-754 double throughout, without
 * contraction or reassociation, so the f64 results are bit-identical
 * everywhere.
 */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

#if defined(__wasm__) && !defined(WI_KERNEL)
#define KERNEL(name) __attribute__((export_name(#name), noinline))
#else
#define KERNEL(name) __attribute__((noinline))
#endif

u32 kern_fib(i32 n);
double kern_matmul(i32 n);
u32 kern_crc32(i32 n);
u32 kern_heapsort(i32 n);
u32 kern_sha256(i32 n);
double kern_nbody(i32 n);
u32 kern_lz77(i32 n);
i32 kern_echo(i32 x);

/* xorshift32: the inputs' generator (same sequence everywhere). */
static u32 rnd_next(u32 *s)
{
    u32 x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static i32 clamp(i32 n, i32 lo, i32 hi)
{
    return n < lo ? lo : n > hi ? hi : n;
}

/* ---- fib ------------------------------------------------------------------ */

KERNEL(fib) u32 kern_fib(i32 n)
{
    if (n < 2)
        return (u32)(n < 0 ? 0 : n);
    return kern_fib(n - 1) + kern_fib(n - 2);
}

/* ---- matmul --------------------------------------------------------------- */

#define MM_MAX 256
static double mm_a[MM_MAX * MM_MAX], mm_b[MM_MAX * MM_MAX], mm_c[MM_MAX * MM_MAX];

KERNEL(matmul) double kern_matmul(i32 n)
{
    n = clamp(n, 1, MM_MAX);
    for (i32 i = 0; i < n; i++)
        for (i32 j = 0; j < n; j++) {
            mm_a[i * n + j] = (double)((i * 7 + j * 3) % 17) * 0.25 - 1.0;
            mm_b[i * n + j] = (double)((i * 5 + j * 11) % 13) * 0.5 - 2.0;
        }
    for (i32 i = 0; i < n; i++)
        for (i32 j = 0; j < n; j++) {
            double s = 0.0;
            for (i32 k = 0; k < n; k++)
                s += mm_a[i * n + k] * mm_b[k * n + j];
            mm_c[i * n + j] = s;
        }
    double sum = 0.0;
    for (i32 i = 0; i < n * n; i++)
        sum += mm_c[i] * (double)(1 + (i & 7));
    return sum;
}

/* ---- crc32 ---------------------------------------------------------------- */

#define CRC_LEN 16384
static u8 crc_buf[CRC_LEN];
static u32 crc_tab[256];

KERNEL(crc32) u32 kern_crc32(i32 n)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_tab[i] = c;
    }
    u32 s = 0x12345678u;
    for (u32 i = 0; i < CRC_LEN; i++)
        crc_buf[i] = (u8)(rnd_next(&s) >> 24);
    u32 crc = 0;
    for (i32 r = 0; r < n; r++) {
        u32 c = ~crc;
        for (u32 i = 0; i < CRC_LEN; i++)
            c = crc_tab[(c ^ crc_buf[i]) & 0xff] ^ (c >> 8);
        crc = ~c;
    }
    return crc;
}

/* ---- heapsort ------------------------------------------------------------- */

#define SORT_MAX 262144
static u32 sort_a[SORT_MAX];

static void sift_down(u32 *a, u32 start, u32 end)
{
    u32 root = start;
    for (;;) {
        u32 child = 2 * root + 1;
        if (child >= end)
            return;
        if (child + 1 < end && a[child] < a[child + 1])
            child++;
        if (a[root] >= a[child])
            return;
        u32 t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

KERNEL(heapsort) u32 kern_heapsort(i32 n)
{
    u32 len = (u32)clamp(n, 1, SORT_MAX);
    u32 s = 0x9e3779b9u;
    for (u32 i = 0; i < len; i++)
        sort_a[i] = rnd_next(&s);
    for (u32 i = len / 2; i-- > 0;)
        sift_down(sort_a, i, len);
    for (u32 end = len; end-- > 1;) {
        u32 t = sort_a[0];
        sort_a[0] = sort_a[end];
        sort_a[end] = t;
        sift_down(sort_a, 0, end);
    }
    u32 h = 2166136261u;
    for (u32 i = 0; i < len; i++) {
        if (i && sort_a[i - 1] > sort_a[i])
            return 0;
        h = (h ^ sort_a[i]) * 16777619u;
    }
    return h;
}

/* ---- sha256 --------------------------------------------------------------- */

#define SHA_BUF 65536
static u8 sha_buf[SHA_BUF];
static const u32 sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static u32 ror(u32 x, int r)
{
    return x >> r | x << (32 - r);
}

static void sha_block(u32 h[8], const u8 *p)
{
    u32 w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        u32 s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        u32 s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        u32 t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        u32 t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

KERNEL(sha256) u32 kern_sha256(i32 n)
{
    u32 kib = (u32)clamp(n, 0, 1 << 20);
    u32 s = 0xdeadbeefu;
    for (u32 i = 0; i < SHA_BUF; i++)
        sha_buf[i] = (u8)(rnd_next(&s) >> 24);
    u32 h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    u32 blocks = kib * 16;
    for (u32 b = 0; b < blocks; b++)
        sha_block(h, sha_buf + (b * 64u) % SHA_BUF);
    /* The message is a whole number of blocks: one padding block. */
    u8 pad[64];
    for (int i = 0; i < 64; i++)
        pad[i] = 0;
    pad[0] = 0x80;
    u64 bits = (u64)blocks * 512u;
    for (int i = 0; i < 8; i++)
        pad[63 - i] = (u8)(bits >> (8 * i));
    sha_block(h, pad);
    return h[0];
}

/* ---- nbody ---------------------------------------------------------------- */

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

struct body {
    double x, y, z, vx, vy, vz, mass;
};
static struct body nb[5];

static void nbody_init(void)
{
    static const double init[5][7] = {
        {0, 0, 0, 0, 0, 0, SOLAR_MASS},
        {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
         -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS},
        {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
         2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS},
        {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
         -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS},
        {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
         -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS},
    };
    for (int i = 0; i < 5; i++) {
        nb[i].x = init[i][0], nb[i].y = init[i][1], nb[i].z = init[i][2];
        nb[i].vx = init[i][3], nb[i].vy = init[i][4], nb[i].vz = init[i][5];
        nb[i].mass = init[i][6];
    }
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < 5; i++) {
        px += nb[i].vx * nb[i].mass;
        py += nb[i].vy * nb[i].mass;
        pz += nb[i].vz * nb[i].mass;
    }
    nb[0].vx = -px / SOLAR_MASS;
    nb[0].vy = -py / SOLAR_MASS;
    nb[0].vz = -pz / SOLAR_MASS;
}

KERNEL(nbody) double kern_nbody(i32 n)
{
    nbody_init();
    for (i32 step = 0; step < n; step++) {
        for (int i = 0; i < 5; i++) {
            struct body *bi = &nb[i];
            for (int j = i + 1; j < 5; j++) {
                struct body *bj = &nb[j];
                double dx = bi->x - bj->x, dy = bi->y - bj->y, dz = bi->z - bj->z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = 0.01 / (d2 * __builtin_sqrt(d2));
                bi->vx -= dx * bj->mass * mag;
                bi->vy -= dy * bj->mass * mag;
                bi->vz -= dz * bj->mass * mag;
                bj->vx += dx * bi->mass * mag;
                bj->vy += dy * bi->mass * mag;
                bj->vz += dz * bi->mass * mag;
            }
        }
        for (int i = 0; i < 5; i++) {
            nb[i].x += 0.01 * nb[i].vx;
            nb[i].y += 0.01 * nb[i].vy;
            nb[i].z += 0.01 * nb[i].vz;
        }
    }
    double e = 0.0;
    for (int i = 0; i < 5; i++) {
        e += 0.5 * nb[i].mass * (nb[i].vx * nb[i].vx + nb[i].vy * nb[i].vy + nb[i].vz * nb[i].vz);
        for (int j = i + 1; j < 5; j++) {
            double dx = nb[i].x - nb[j].x, dy = nb[i].y - nb[j].y, dz = nb[i].z - nb[j].z;
            e -= nb[i].mass * nb[j].mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

/* ---- lz77 ----------------------------------------------------------------- */

/* Stream: a token byte; 0..127: that many + 1 literals follow; 128..255: a
 * match of length (token - 128) + 4 at the distance in the next two bytes
 * (little-endian, 1..65535). */
#define LZ_MAX 1048576
#define LZ_HASH_BITS 13
static u8 lz_in[LZ_MAX], lz_out[LZ_MAX + LZ_MAX / 64 + 16], lz_back[LZ_MAX];
static u32 lz_head[1u << LZ_HASH_BITS];

static u32 lz_hash(const u8 *p)
{
    u32 v = (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
    return (v * 2654435761u) >> (32 - LZ_HASH_BITS);
}

static void lz_gen(u32 len)
{
    static const char words[] =
        "the quick brown fox jumps over lazy dog glint sandbox wasm guest host call "
        "function memory snapshot pool restore module export import table value ";
    u32 nwords = 0, starts[32];
    for (u32 i = 0; words[i]; i++)
        if (i == 0 || words[i - 1] == ' ')
            starts[nwords++] = i;
    u32 s = 0x2545f491u, o = 0;
    while (o < len) {
        u32 r = rnd_next(&s);
        if ((r & 15) == 0) {
            lz_in[o++] = (u8)(r >> 8); /* noise */
            continue;
        }
        for (u32 i = starts[(r >> 4) % nwords]; o < len; i++) {
            lz_in[o++] = (u8)words[i];
            if (words[i] == ' ')
                break;
        }
    }
}

static u32 lz_compress(u32 len)
{
    for (u32 i = 0; i < (1u << LZ_HASH_BITS); i++)
        lz_head[i] = 0xffffffffu;
    u32 ip = 0, op = 0, lit = 0; /* lit: start of the pending literals */
    while (ip + 4 <= len) {
        u32 h = lz_hash(lz_in + ip), cand = lz_head[h];
        lz_head[h] = ip;
        u32 mlen = 0;
        if (cand != 0xffffffffu && ip - cand <= 65535) {
            u32 max = len - ip < 131 ? len - ip : 131;
            while (mlen < max && lz_in[cand + mlen] == lz_in[ip + mlen])
                mlen++;
        }
        if (mlen < 4) {
            ip++;
            continue;
        }
        while (lit < ip) { /* flush literals, at most 128 per token */
            u32 run = ip - lit < 128 ? ip - lit : 128;
            lz_out[op++] = (u8)(run - 1);
            for (u32 i = 0; i < run; i++)
                lz_out[op++] = lz_in[lit + i];
            lit += run;
        }
        u32 dist = ip - cand;
        lz_out[op++] = (u8)(128 + mlen - 4);
        lz_out[op++] = (u8)dist;
        lz_out[op++] = (u8)(dist >> 8);
        for (u32 i = 1; i < mlen && ip + i + 4 <= len; i++) /* index the match's positions */
            lz_head[lz_hash(lz_in + ip + i)] = ip + i;
        ip += mlen;
        lit = ip;
    }
    while (lit < len) {
        u32 run = len - lit < 128 ? len - lit : 128;
        lz_out[op++] = (u8)(run - 1);
        for (u32 i = 0; i < run; i++)
            lz_out[op++] = lz_in[lit + i];
        lit += run;
    }
    return op;
}

static u32 lz_decompress(u32 clen)
{
    u32 ip = 0, op = 0;
    while (ip < clen) {
        u32 t = lz_out[ip++];
        if (t < 128) {
            for (u32 i = 0; i <= t; i++)
                lz_back[op++] = lz_out[ip++];
        } else {
            u32 mlen = t - 128 + 4, dist = (u32)lz_out[ip] | (u32)lz_out[ip + 1] << 8;
            ip += 2;
            if (dist == 0 || dist > op || op + mlen > LZ_MAX)
                return 0xffffffffu;
            for (u32 i = 0; i < mlen; i++, op++)
                lz_back[op] = lz_back[op - dist];
        }
    }
    return op;
}

KERNEL(lz77) u32 kern_lz77(i32 n)
{
    u32 len = (u32)clamp(n, 16, LZ_MAX);
    lz_gen(len);
    u32 clen = lz_compress(len);
    if (lz_decompress(clen) != len)
        return 0;
    for (u32 i = 0; i < len; i++)
        if (lz_back[i] != lz_in[i])
            return 0;
    u32 h = 2166136261u;
    for (u32 i = 0; i < clen; i++)
        h = (h ^ lz_out[i]) * 16777619u;
    return h ^ clen;
}

/* ---- the empty call ------------------------------------------------------- */

KERNEL(echo) i32 kern_echo(i32 x)
{
    return x;
}

/* ---- wasm-interp drivers -------------------------------------------------- */

#ifdef WI_KERNEL
#define WI_CAT2(a, b) a##b
#define WI_CAT(a, b) WI_CAT2(a, b)
/* The size comes from memory, so that the kernel is the same code as in
 * the main module, not one specialized for a constant. */
static volatile i32 wi_n = WI_N;
#ifdef WI_F64
u64 run(void);
/* wasm-interp prints f64 results rounded: return the bits instead. */
__attribute__((export_name("run"))) u64 run(void)
{
    union {
        double d;
        u64 u;
    } v = {WI_CAT(kern_, WI_KERNEL)(wi_n)};
    return v.u;
}
#else
u32 run(void);
__attribute__((export_name("run"))) u32 run(void)
{
    return (u32)WI_CAT(kern_, WI_KERNEL)(wi_n);
}
#endif
#endif

/* Without a libc, wasm32 needs these if clang turns a loop into a call. */
#if defined(__wasm__)
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
__attribute__((visibility("hidden"))) void *memset(void *d, int c, unsigned long n)
{
    u8 *p = d;
    u32 w = (u8)c * 0x01010101u;
    for (; n && ((unsigned long)p & 3); n--)
        *p++ = (u8)c;
    for (; n >= 4; n -= 4, p += 4)
        *(u32 *)p = w;
    while (n--)
        *p++ = (u8)c;
    return d;
}
__attribute__((visibility("hidden"))) void *memcpy(void *d, const void *s, unsigned long n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}
#endif
