/* model_info.h: what tensor names say about a model's structure.
 *
 * Shared by `swan inspect` (name patterns, layer count), `swan analyze` (the layer
 * count in the manifest, the check that each --protect pattern names something) and
 * the outputs. Works from the validated tensor table alone. */
#ifndef SWAN_MODEL_INFO_H
#define SWAN_MODEL_INFO_H

#include <stddef.h>

#include "common/checkpoint.h"

/* Folds the numeric components of a tensor name into a pattern: the number after
 * "layers." (or "h.", "blocks.", "layer.", GGUF's "blk.") becomes {N}, after
 * "experts." becomes {E}, any other all-digit component becomes {#}; digits inside a
 * word (fc1, w2) stay. Writes at most size bytes (NUL-terminated). */
void swan_name_pattern(const char *name, char *out, size_t size);

/* Number of distinct layer indices ({N} above) among the checkpoint's tensors. */
int swan_count_layers(const swan_checkpoint *ck);

/* Number of distinct expert indices ({E} above): 0 for a dense model. */
int swan_count_experts(const swan_checkpoint *ck);

/* How many tensor names contain pattern, ignoring ASCII case: the rule of --protect. */
size_t swan_count_names_containing(const swan_checkpoint *ck, const char *pattern);

#endif
