/* inspect.h: `swan inspect MODEL_DIR`: what is in a checkpoint, before any work. */
#ifndef SWAN_INSPECT_H
#define SWAN_INSPECT_H

#include <stdio.h>

#include "common/checkpoint.h"

/* Prints the report for an opened checkpoint to out: shards, tensor-name patterns
 * with layer/expert indices folded to {N}/{E} (count, shapes, dtypes, params),
 * dtype totals, params and bytes, and how many tensors SWAN would analyze / keep. */
void swan_inspect_print(const swan_checkpoint *ck, FILE *out);

#endif
