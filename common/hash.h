/* hash.h: XXH64, the fast non-cryptographic 64-bit hash of the xxHash family.
 *
 * Workers hash the raw bytes of every tensor they analyze in the same tile pass that
 * feeds the metric kernels (worker/tensor_reader.c), so the journal can bind each
 * result to the data it came from and `swan verify` can prove the data unchanged.
 * The coordinator hashes shard headers with it too. Written from the public xxHash
 * specification (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md);
 * bit-identical to the reference XXH64 for any input split (tested against its
 * published vectors in tests/unit/test_common_hash.c). Portable C11: little-endian
 * loads are assembled byte by byte, so it gives the same value on any host. */
#ifndef SWAN_HASH_H
#define SWAN_HASH_H

#include <stddef.h>
#include <stdint.h>

/* One-shot XXH64 of len bytes. */
uint64_t swan_xxh64(const void *data, size_t len, uint64_t seed);

/* Streaming XXH64: update any number of times with any split, the digest equals the
 * one-shot hash of the concatenation. */
typedef struct swan_xxh64_state {
    uint64_t total_len;
    uint64_t v[4];
    unsigned char mem[32];
    uint32_t memsize;
    uint64_t seed;
} swan_xxh64_state;

void swan_xxh64_init(swan_xxh64_state *s, uint64_t seed);
void swan_xxh64_update(swan_xxh64_state *s, const void *data, size_t len);
uint64_t swan_xxh64_digest(const swan_xxh64_state *s);

#endif
