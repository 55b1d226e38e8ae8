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
 * row block of one tensor (max_block_bytes of float32) plus a 4 MiB copy buffer.
 *
 * Resumable (quantize_journal.h): every finished unit is journaled with the XXH64 of
 * its bytes as read back from the shard; an interrupted or failed run keeps its .tmp
 * shards and journal, and the same command run again re-checks the journaled units'
 * bytes, writes only the others and ends with the same bytes as an uninterrupted run.
 * The stop flag is checked between units (a unit is at most one module's stack). */
#ifndef SWAN_MLX_WRITER_H
#define SWAN_MLX_WRITER_H

#include <signal.h>
#include <stddef.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/quantize/mlx_layout.h"

typedef struct swan_mlx_write_opts {
    size_t max_block_bytes;      /* float32 bytes of one row block               */
    int jobs;                    /* threads                                       */
    volatile sig_atomic_t *stop; /* set by a signal: stop between units (or NULL) */
    int delay_ms;                /* tests: sleep before each unit written         */
} swan_mlx_write_opts;

typedef struct swan_mlx_write_stats {
    size_t units;                /* quantized modules and kept tensors            */
    size_t resumed;              /* of those, found finished by the journal       */
} swan_mlx_write_stats;

#define SWAN_MLX_WRITE_STOPPED 1 /* swan_mlx_write's status when *stop was set  */

/* 0 done (index in place), SWAN_MLX_WRITE_STOPPED, or -1 with err set. */
int swan_mlx_write(const swan_checkpoint *ck, const swan_qlayout *l, const char *out_dir,
                   const swan_mlx_write_opts *o, swan_mlx_write_stats *stats, swan_error *err);

#endif
