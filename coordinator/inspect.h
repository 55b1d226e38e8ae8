/* inspect.h: `swan inspect MODEL_DIR`: what is in a checkpoint, before any work. */
#ifndef SWAN_INSPECT_H
#define SWAN_INSPECT_H

#include <stdio.h>

#include "common/checkpoint.h"

/* Prints the report for an opened checkpoint to out: shards, tensor-name patterns
 * with layer/expert indices folded to {N}/{E} (count, shapes, dtypes, params),
 * dtype totals, params and bytes, and how many tensors SWAN would analyze / keep. */
void swan_inspect_print(const swan_checkpoint *ck, FILE *out);

/* Folds the numeric components of a tensor name into a pattern: the number after
 * "layers." (or "h.", "blocks.", "layer.") becomes {N}, after "experts." becomes {E},
 * any other all-digit component becomes {#}; digits inside a word (fc1, w2) stay.
 * Writes at most size bytes (NUL-terminated). */
void swan_name_pattern(const char *name, char *out, size_t size);

/* Number of distinct layer indices ({N} above) among the checkpoint's tensors. */
int swan_count_layers(const swan_checkpoint *ck);

#endif
