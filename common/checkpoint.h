/* checkpoint.h: a Hugging Face checkpoint directory as a validated tensor table.
 *
 * Reads model.safetensors.index.json and exactly the shards it names (a stray
 * consolidated.safetensors is not counted twice), or every *.safetensors file when
 * there is no index. Every header is validated before any work starts; any problem
 * fails the whole open with one line naming the file (and tensor). Only headers are
 * read: the coordinator never maps tensor data. */
#ifndef SWAN_CHECKPOINT_H
#define SWAN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "common/view2d.h"

typedef struct swan_shard {
    char *file;          /* name relative to the model dir, as in the index  */
    char *path;          /* full path used to open it                        */
    uint64_t size;       /* file size in bytes                               */
    uint64_t data_start; /* 8 + header length                                */
} swan_shard;

typedef struct swan_tensor {
    char *name;
    uint32_t shard;      /* index into swan_checkpoint.shards                */
    swan_dtype dtype;
    int ndim;
    uint64_t shape[SWAN_MAX_DIMS];
    uint64_t nelem;
    uint64_t offset;     /* absolute byte offset of the data in the shard    */
    uint64_t nbytes;
} swan_tensor;

typedef struct swan_checkpoint {
    char *dir;
    char *config_json;   /* config.json text, or NULL when absent/invalid    */
    int has_index;
    swan_shard *shards;
    size_t nshards;
    swan_tensor *tensors; /* sorted by shard, then by offset                 */
    size_t ntensors;
    size_t ignored_tensors; /* in a named shard but not in the index's weight_map */
} swan_checkpoint;

int swan_checkpoint_open(const char *dir, swan_checkpoint *out, swan_error *err);
void swan_checkpoint_free(swan_checkpoint *ck);

/* Sum of nbytes over all tensors. */
uint64_t swan_checkpoint_bytes(const swan_checkpoint *ck);

#endif
