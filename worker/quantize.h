/* quantize.h: one matrix quantized the way MLX stores it (SWAN-METRICS.md section 8),
 * streamed from the tile reader to a sink, part by part.
 *
 * A worker of `swan quantize` runs this for each item of a quantize task: it reads
 * the rows of one source matrix (rows x cols, cols the last dimension, groups along
 * it) in blocks of whole rows, quantizes every group with common/mlx_affine.c (MLX's
 * rule, exact division), packs the values and hands the packed words, the scales and
 * the biases of each block to the sink, each part's bytes in order (the worker's sink
 * sends them as QCHUNKs, docs/protocol.md "Quantizing"; the file sink writes them at
 * fixed offsets, for tests). Memory: one block of max_block_bytes of float32 (whole
 * rows, or panels of whole groups of one row when a row is longer) and its packed
 * bytes, whatever the tensor size. */
#ifndef SWAN_QUANTIZE_H
#define SWAN_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "worker/tile_reader.h"

/* The three outputs, in the order of a QCHUNK's `part`. */
enum { SWAN_QSINK_WEIGHT = 0, SWAN_QSINK_SCALES = 1, SWAN_QSINK_BIASES = 2 };

/* Where the bytes go: put() gets bytes [offset, offset+n) of one part, each part's
 * bytes in increasing order without gaps; nonzero stops the quantization. */
typedef struct swan_qsink {
    int (*put)(void *ctx, int part, uint64_t offset, const void *data, size_t n, swan_error *err);
    void *ctx;
} swan_qsink;

/* A sink writing each part at its own offset of a file (pwrite). */
typedef struct swan_qfile {
    int fd;
    uint64_t off[3];             /* where byte 0 of each part goes */
} swan_qfile;
void swan_qsink_file(swan_qsink *sink, swan_qfile *f);

/* Bytes of the packed weight / of scales (= of biases) of a rows x cols matrix. */
uint64_t swan_quant_weight_bytes(uint64_t rows, uint64_t cols, int bits);
uint64_t swan_quant_scale_bytes(uint64_t rows, uint64_t cols, int group, swan_dtype dt);

/* Quantizes the reader's matrix with `bits` bits in groups of `group` (cols must be a
 * multiple of it), scales and biases stored in dt (BF16, F16 or F32), into sink.
 * Checks the values are finite. */
int swan_quantize_matrix(const swan_tile_reader *rd, int bits, int group, swan_dtype dt,
                         const swan_qsink *sink, size_t max_block_bytes, swan_error *err);

#endif
