/* tensor_table.h: OUT/tensors.json, what `swan reduce` knows about the checkpoint.
 *
 * The journal holds raw metrics by tensor name; re-running the reduce and every
 * output without the model also needs the rest of the tensor table (shard file names
 * and sizes, dtypes, shapes), config.json (architecture, for the MLX and llama.cpp
 * names), the model name, the seed and the checkpoint fingerprint the journal is
 * bound to. `swan analyze` writes this file atomically when it opens the journal;
 * `swan reduce` rebuilds a swan_checkpoint from it (no data offsets: nothing is read
 * from shards) and loads the journal records that match its fingerprint. */
#ifndef SWAN_TENSOR_TABLE_H
#define SWAN_TENSOR_TABLE_H

#include <stdint.h>

#include "common/checkpoint.h"
#include "common/error.h"

typedef struct swan_tensor_table_info {
    char *model_name;
    uint64_t seed;
    uint64_t fingerprint;
} swan_tensor_table_info;

int swan_tensor_table_write(const char *path, const swan_checkpoint *ck, const char *model_name,
                            uint64_t seed, uint64_t fingerprint, swan_error *err);

/* Fills ck (free with swan_checkpoint_free) and info (free info->model_name). */
int swan_tensor_table_read(const char *path, swan_checkpoint *ck, swan_tensor_table_info *info,
                           swan_error *err);

#endif
