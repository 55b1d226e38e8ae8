/* model_identity.h: is a worker's copy of the checkpoint the coordinator's?
 *
 * Before a worker gets any task it proves, shard by shard, that its files are the
 * coordinator's: same name (relative to the model folder), same size, same hash of
 * the header, and the same hash of data samples at offsets derived from a nonce the
 * coordinator picks per run (two fine-tunes of one architecture have byte-identical
 * headers; only the data tells them apart, and a nonce the worker cannot know in
 * advance keeps a stale cached answer from passing). Both sides compute the identity
 * with this same code, the coordinator from its files, the worker from its copy.
 *
 * This catches copies that differ by accident (another fine-tune, a different
 * revision, a truncated download); it is not meant to stop a worker that lies, which
 * the CURVE allowlist keeps out in the first place. */
#ifndef SWAN_MODEL_IDENTITY_H
#define SWAN_MODEL_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define SWAN_IDENTITY_SAMPLES 16    /* data samples per shard                   */
#define SWAN_IDENTITY_SAMPLE_BYTES 64

typedef struct swan_shard_identity {
    const char *name;        /* relative to the model folder (borrowed: the
                                name given to compute, or a message's)      */
    bool present;            /* false: the worker has no such file            */
    uint64_t size;
    uint64_t header_hash;    /* of the shard's header bytes                   */
    uint64_t sample_hash;    /* of the samples chosen by the nonce            */
} swan_shard_identity;

/* Computes the identity of the file at path (out->name points at name, which must
 * outlive out: nothing here allocates or frees a name). A missing
 * file is not an error: present is false. Other read errors are. */
int swan_shard_identity_compute(const char *path, const char *name, uint64_t nonce,
                                swan_shard_identity *out, swan_error *err);

/* Compares a worker's identity with the coordinator's for the same shard. Returns 0
 * when equal; otherwise writes what differs (e.g. "size 1000 != 2000") to why. */
int swan_shard_identity_diff(const swan_shard_identity *mine, const swan_shard_identity *theirs,
                             char *why, size_t size);

/* A 64-bit FNV-1a hash continued from h (start with SWAN_HASH_INIT). */
#define SWAN_HASH_INIT 0xcbf29ce484222325ULL
uint64_t swan_hash_bytes(uint64_t h, const void *data, size_t len);

#endif
