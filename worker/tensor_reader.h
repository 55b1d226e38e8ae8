/* tensor_reader.h: a swan_tile_reader over a tensor's stored bytes.
 *
 * The bytes come from a byte source (byte_source.h): windows of a shard file that
 * are mapped only while a tile is converted (local workers, swan verify), or chunks
 * streamed from the coordinator (stream_source.h); either way a worker's resident
 * memory stays bounded whatever the tensor size. Converts the stored dtype to
 * float32 per tile. The 2-D view (common/view2d.h) decides which rows exist. The
 * format of the file does not matter here (safetensors and GGUF data are both plain
 * little-endian arrays at an offset); FP8 weights are dequantized per tile with their
 * scales (common/formats/fp8.h), which the reader loads once per tensor. */
#ifndef SWAN_TENSOR_READER_H
#define SWAN_TENSOR_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "common/view2d.h"
#include "worker/byte_source.h"
#include "worker/tile_reader.h"

typedef struct swan_tensor_reader {
    int fd;                /* the shard, for the file source (-1 otherwise)     */
    bool owns_fd;          /* close fd in swan_tensor_reader_close            */
    swan_byte_source src;  /* where the bytes come from                       */
    swan_file_source file; /* the file source's state (src.ctx points here)   */
    uint64_t data_offset;  /* byte offset of the tensor in its shard (messages) */
    uint64_t nelem;        /* elements in the tensor's bytes                  */
    swan_dtype dtype;
    swan_view2d view;
    /* FP8 only (swan_tensor_reader_load_scales): a scale_rows x scale_cols grid, each
     * covering block_rows x block_cols of the [nelem/row_len, row_len] storage. */
    float *scales;
    uint64_t scale_rows, scale_cols, block_rows, block_cols, row_len;
    /* Data checksum built during the first traversal (see swan_tensor_reader_data_hash):
     * tiles are hashed only while they extend the covered prefix, so later passes
     * that re-read tiles do not count twice. */
    uint64_t hash_sum;
    uint64_t hashed_rows;  /* full-width tiles: view rows [0, hashed_rows) hashed  */
    uint64_t hashed_cols;  /* column panels: columns [0, hashed_cols) of every row */
    uint64_t scales_hash;  /* FP8: XXH64 of the stored scale bytes, 0 otherwise     */
} swan_tensor_reader;

/* Reads through an fd the caller keeps open (a worker reuses one per shard across
 * the tensors of a batch); path is only for messages. Checks that the tensor and
 * its view lie inside the file. */
int swan_tensor_reader_open_fd(swan_tensor_reader *tr, int fd, uint64_t file_size,
                               const char *path, uint64_t data_offset, uint64_t nbytes,
                               swan_dtype dtype, const swan_view2d *view, swan_error *err);

/* Reads through another byte source (the stream source): the tensor's nbytes are
 * part SWAN_SRC_DATA of src, which must outlive tr; label and data_offset are only
 * for messages. */
int swan_tensor_reader_open_source(swan_tensor_reader *tr, const swan_byte_source *src,
                                   const char *label, uint64_t data_offset, uint64_t nbytes,
                                   swan_dtype dtype, const swan_view2d *view, swan_error *err);

/* Opens path and checks that the whole tensor lies inside the file. */
int swan_tensor_reader_open(swan_tensor_reader *tr, const char *path, uint64_t data_offset,
                            uint64_t nbytes, swan_dtype dtype, const swan_view2d *view,
                            swan_error *err);
void swan_tensor_reader_close(swan_tensor_reader *tr);

/* FP8 tensors: reads the scale grid (dtype F32, BF16 or F16) from scale_path at
 * scale_offset and checks it covers the tensor of the given shape in blocks of
 * block_rows x block_cols. Required before an FP8 tensor's first tile. */
int swan_tensor_reader_load_scales(swan_tensor_reader *tr, const char *scale_path,
                                   uint64_t scale_offset, swan_dtype scale_dtype,
                                   uint64_t scale_rows, uint64_t scale_cols, uint64_t block_rows,
                                   uint64_t block_cols, int ndim, const uint64_t *shape,
                                   swan_error *err);

/* The same with the scale bytes from part SWAN_SRC_SCALES of the reader's byte
 * source (a reader opened with swan_tensor_reader_open_source); label for messages. */
int swan_tensor_reader_load_scales_source(swan_tensor_reader *tr, const char *label,
                                          swan_dtype scale_dtype, uint64_t scale_rows,
                                          uint64_t scale_cols, uint64_t block_rows,
                                          uint64_t block_cols, int ndim, const uint64_t *shape,
                                          swan_error *err);

/* The tensor's data checksum (raw_metrics.data_hash): over the stored bytes of every
 * row of the 2-D view, cut into groups of SWAN_HASH_GROUP_COLS columns (the last one
 * of a row may be shorter), the sum mod 2^64 of XXH64(group bytes, seed = row *
 * groups_per_row + group); for FP8 plus XXH64(stored scale grid bytes, seed
 * 2^64-1). It does not depend on tiling or visiting order, so the worker computes it
 * from the very tiles the metric kernels read (row blocks or 128-column-multiple
 * panels: a group never straddles two tiles) and `swan verify` gets the same value
 * reading row blocks of any size. It covers exactly the bytes the metrics saw: the
 * whole tensor for 2-D and flattened ones, the sampled experts of packed 3-D ones (a
 * change elsewhere cannot change the metrics). */
#define SWAN_HASH_GROUP_COLS 128

/* The checksum of the tiles read so far, when they covered the whole view; if they
 * did not (a traversal cut short), reads the rest now. */
int swan_tensor_reader_data_hash(swan_tensor_reader *tr, uint64_t *hash, swan_error *err);

/* Reads the whole view in bounded windows and returns its data checksum without
 * converting anything (swan verify). */
int swan_tensor_reader_hash_all(swan_tensor_reader *tr, uint64_t *hash, swan_error *err);

/* Fills *r with a reader that reads through tr (tr must outlive r). */
void swan_tensor_reader_as_tiles(swan_tensor_reader *tr, swan_tile_reader *r);

#endif
