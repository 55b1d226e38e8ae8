/* quantize.h: one matrix quantized the way MLX stores it (SWAN-METRICS.md section 8),
 * streamed from the tile reader to its place in an output file.
 *
 * `swan quantize` writes each output safetensors shard by placing every tensor's bytes
 * at offsets fixed by the shard header. This kernel reads the rows of one source matrix
 * (rows x cols, cols the last dimension, groups along it) in blocks of whole rows,
 * quantizes every group with common/mlx_affine.c (MLX's rule, exact division), packs the
 * values and writes the packed words, the scales and the biases with pwrite at
 * w_off, s_off and b_off (three separate tensors of the shard; an expert of a stacked
 * tensor starts at its own row). Memory: one block of max_block_bytes of float32 (whole
 * rows, or panels of whole groups of one row when a row is longer), whatever the
 * tensor size. */
#ifndef SWAN_QUANTIZE_H
#define SWAN_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "worker/tile_reader.h"

typedef struct swan_qdest {
    int fd;
    uint64_t w_off, s_off, b_off; /* where row 0 of this matrix goes in each tensor */
} swan_qdest;

/* Bytes of the packed weight / of scales (= of biases) of a rows x cols matrix. */
uint64_t swan_quant_weight_bytes(uint64_t rows, uint64_t cols, int bits);
uint64_t swan_quant_scale_bytes(uint64_t rows, uint64_t cols, int group, swan_dtype dt);

/* Quantizes the reader's matrix with `bits` bits in groups of `group` (cols must be a
 * multiple of it), scales and biases stored in dt (BF16, F16 or F32). Checks the values
 * are finite. Adds a checksum (FNV-1a 64) of the bytes written, in the order written,
 * to *hash when hash is not NULL. */
int swan_quantize_matrix(const swan_tile_reader *rd, int bits, int group, swan_dtype dt,
                         const swan_qdest *dst, size_t max_block_bytes, uint64_t *hash,
                         swan_error *err);

#endif
