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
