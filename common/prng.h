/* prng.h: counter-based random numbers, reproducible per tensor.
 *
 * Every random number a metric uses (probe vectors, noise, sketch matrices) is a pure
 * function of (key, stream, index): key = swan_prng_key(run_seed, tensor_name). So a
 * tensor's result does not depend on which worker computed it, in which order, or how
 * its rows were blocked, and a slice of a tensor can generate exactly its own part. */
#ifndef SWAN_PRNG_H
#define SWAN_PRNG_H

#include <stddef.h>
#include <stdint.h>

/* Streams keep the different uses independent. */
enum swan_prng_stream {
    SWAN_STREAM_PROBE = 1,  /* M3 probe matrix X (n x p) */
    SWAN_STREAM_NOISE = 2,  /* M3 noise matrix U (m x n) */
    SWAN_STREAM_SKETCH = 3  /* M1 randomized test matrix */
};

/* 64-bit key from the run seed and the tensor name (FNV-1a of the name, mixed). */
uint64_t swan_prng_key(uint64_t run_seed, const char *tensor_name);

/* SplitMix64-style bijective mix of (key, stream, index): the raw 64 random bits. */
uint64_t swan_prng_bits(uint64_t key, uint32_t stream, uint64_t index);

/* Uniform floats in [0,1) with 24 random bits each: out[i] = U(key, stream, first+i). */
void swan_prng_uniform(uint64_t key, uint32_t stream, uint64_t first, float *out, size_t n);

/* Uniform floats in [-0.5, 0.5) with 24 random bits each, from the fast 32-bit-lane
 * generator (a different function from swan_prng_uniform, used for the M3 noise):
 *   k   = mix64(key + stream*C1 + (index >> 32)*C2)       (once per 2^32 indices)
 *   x   = hash32(hash32((uint32)index * 0x9E3779B9 + lo32(k)) ^ hi32(k))
 *   out = (x >> 8) * 2^-24 - 0.5
 * hash32 is a 32-bit bijective multiply-xorshift finalizer (two rounds). The loop
 * runs on 8 lanes with compiler vector extensions (SSE2 / NEON, no -march needed);
 * out[i] depends only on (key, stream, first+i), never on n or alignment. */
void swan_prng_uniform_centered(uint64_t key, uint32_t stream, uint64_t first, float *out,
                                size_t n);

/* Standard normal doubles (Box-Muller on the two 32-bit halves of one draw). */
void swan_prng_normal(uint64_t key, uint32_t stream, uint64_t first, double *out, size_t n);

#endif
