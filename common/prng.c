/* prng.c: counter-based random numbers (see prng.h for why counter-based).
 *
 * bits(key, stream, i) = splitmix64_finalizer(key + stream*C1 + i*C2). The finalizer
 * is a bijection with full avalanche, so distinct counters give independent-looking
 * outputs; this is the same construction as SplitMix64, indexed instead of stepped. */
#include "common/prng.h"

#include <math.h>

#define GOLDEN 0x9E3779B97F4A7C15ull
#define STREAM_MUL 0xD1B54A32D192ED03ull

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

uint64_t swan_prng_key(uint64_t run_seed, const char *tensor_name) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)tensor_name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return mix64(h ^ mix64(run_seed + GOLDEN));
}

uint64_t swan_prng_bits(uint64_t key, uint32_t stream, uint64_t index) {
    return mix64(key + (uint64_t)stream * STREAM_MUL + index * GOLDEN);
}

void swan_prng_uniform(uint64_t key, uint32_t stream, uint64_t first, float *out, size_t n) {
    uint64_t base = key + (uint64_t)stream * STREAM_MUL + first * GOLDEN;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = mix64(base + (uint64_t)i * GOLDEN);
        out[i] = (float)(b >> 40) * 0x1p-24f; /* 24 bits: exact in float, < 1 */
    }
}

void swan_prng_normal(uint64_t key, uint32_t stream, uint64_t first, double *out, size_t n) {
    const double two_pi = 6.283185307179586476925286766559;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = swan_prng_bits(key, stream, first + i);
        double u1 = ((double)(b >> 32) + 1.0) * 0x1p-32; /* (0, 1]: log is finite */
        double u2 = (double)(b & 0xffffffffu) * 0x1p-32;
        out[i] = sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
    }
}

/* ---- the fast 32-bit-lane generator (noise) ----------------------------------
 *
 * The 64-bit finalizer above costs ~3 ns per value in scalar code, which made the M3
 * noise (one value per weight) a visible part of a run. hash32 below is Chris
 * Wellons' "lowbias32" multiply-xorshift (the best-measured 2-multiply 32-bit
 * finalizer); two rounds with a key word between them give independent-looking
 * outputs for consecutive counters. 32-bit lanes map onto plain SSE2/NEON vectors,
 * so the loop runs 8 values at a time without target flags; the scalar tail
 * computes the same function. */

static inline uint32_t hash32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x21f0aaadu;
    x ^= x >> 15;
    x *= 0x735a2d97u;
    x ^= x >> 15;
    return x;
}

#define WEYL32 0x9E3779B9u

static inline float centered_one(uint32_t lo, uint32_t k1, uint32_t k2) {
    uint32_t x = hash32(hash32(lo * WEYL32 + k1) ^ k2);
    return (float)(int32_t)(x >> 8) * 0x1p-24f - 0.5f;
}

/* One lowbias32 round on every lane of a vector (GCC/Clang vector extensions). */
#define HASH32_LANES(x)          \
    do {                         \
        (x) ^= (x) >> 16;        \
        (x) *= 0x21f0aaadu;      \
        (x) ^= (x) >> 15;        \
        (x) *= 0x735a2d97u;      \
        (x) ^= (x) >> 15;        \
    } while (0)

/* The lane loop for vector types U (uint32), I (int32), F (float) of W lanes: values
 * for counters lo .. lo + W*blocks - 1 (the caller never lets them wrap 2^32). */
#define CENTERED_LOOP(U, I, F, W)                                            \
    do {                                                                     \
        U ctr;                                                               \
        for (uint32_t l = 0; l < (W); l++) ctr[l] = lo + l;                  \
        for (size_t b = 0; b < blocks; b++, ctr += (uint32_t)(W)) {          \
            U x = ctr * WEYL32 + k1;                                         \
            HASH32_LANES(x);                                                 \
            x ^= k2;                                                         \
            HASH32_LANES(x);                                                 \
            I top = (I)(x >> 8);                                             \
            F f = __builtin_convertvector(top, F) * 0x1p-24f - 0.5f;         \
            __builtin_memcpy(out + (W) * b, &f, sizeof f);                   \
        }                                                                    \
    } while (0)

#if defined(__GNUC__) || defined(__clang__)
#define HAVE_CENTERED_VEC 1
#define CENTERED_LANES 8
typedef uint32_t u32x4 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef float f32x4 __attribute__((vector_size(16)));

/* Baseline vectors (SSE2 on x86-64, NEON on arm64): two 4-lane blocks per 8 values. */
static void centered_vec_base(uint32_t lo, uint32_t k1, uint32_t k2, float *out,
                              size_t blocks) {
    blocks *= 2;
    CENTERED_LOOP(u32x4, i32x4, f32x4, 4);
}

#if defined(__x86_64__) || defined(__i386__)
/* x86 without target flags has no 32-bit vector multiply (SSE2 emulates it with
 * pmuludq and shuffles, ~2 ns a value); AVX2's vpmulld on 8 lanes is several times
 * faster. Chosen at run time; integer arithmetic, so both give the same bits. */
typedef uint32_t u32x8 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));
typedef float f32x8 __attribute__((vector_size(32)));

__attribute__((target("avx2"))) static void centered_vec_avx2(uint32_t lo, uint32_t k1,
                                                              uint32_t k2, float *out,
                                                              size_t blocks) {
    CENTERED_LOOP(u32x8, i32x8, f32x8, 8);
}

static void centered_vec(uint32_t lo, uint32_t k1, uint32_t k2, float *out, size_t blocks) {
    if (__builtin_cpu_supports("avx2"))
        centered_vec_avx2(lo, k1, k2, out, blocks);
    else
        centered_vec_base(lo, k1, k2, out, blocks);
}
#else
static void centered_vec(uint32_t lo, uint32_t k1, uint32_t k2, float *out, size_t blocks) {
    centered_vec_base(lo, k1, k2, out, blocks);
}
#endif
#endif

void swan_prng_uniform_centered(uint64_t key, uint32_t stream, uint64_t first, float *out,
                                size_t n) {
    while (n > 0) {
        /* one chunk per 2^32-aligned index range: the key words change there */
        uint64_t hi = first >> 32;
        uint32_t lo = (uint32_t)first;
        uint64_t room = ((uint64_t)1 << 32) - lo;
        size_t cnt = (uint64_t)n < room ? n : (size_t)room;
        uint64_t k = mix64(key + (uint64_t)stream * STREAM_MUL + hi * GOLDEN);
        uint32_t k1 = (uint32_t)k, k2 = (uint32_t)(k >> 32);
        size_t done = 0;
#ifdef HAVE_CENTERED_VEC
        done = cnt / CENTERED_LANES * CENTERED_LANES;
        centered_vec(lo, k1, k2, out, cnt / CENTERED_LANES);
#endif
        for (size_t i = done; i < cnt; i++) out[i] = centered_one(lo + (uint32_t)i, k1, k2);
        out += cnt;
        first += cnt;
        n -= cnt;
    }
}
