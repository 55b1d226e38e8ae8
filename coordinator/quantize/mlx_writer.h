/* mlx_writer.h: writes the quantized MLX model folder a swan_qlayout describes.
 *
 * Order, so that nothing looks complete before it is: each shard is written under
 * NAME.tmp (mlx_lm loads `model*.safetensors`, which a .tmp name does not match),
 * synced and renamed; then config.json (with `quantization` and the same dict as
 * `quantization_config`) and the tokenizer/generation files; the index
 * model.safetensors.index.json is renamed into place last: the folder is complete
 * exactly when the index exists. Bytes are placed at offsets fixed by the layout, so
 * the result does not depend on the order of the work: `jobs` threads take tensors
 * from a shared counter and -j 1 and -j N give the same bytes. Memory per thread: one
 * row block of one tensor (max_block_bytes of float32) plus a 4 MiB copy buffer. */
#ifndef SWAN_MLX_WRITER_H
#define SWAN_MLX_WRITER_H

#include <stddef.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/quantize/mlx_layout.h"

int swan_mlx_write(const swan_checkpoint *ck, const swan_qlayout *l, const char *out_dir,
                   size_t max_block_bytes, int jobs, swan_error *err);

#endif
