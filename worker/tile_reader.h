/* tile_reader.h: where the metric kernels get their float32 numbers from.
 *
 * The kernels in metrics.c never see files or dtypes: they ask for a tile
 * (rows [row0,row0+nrows) x cols [col0,col0+ncols) of the 2-D view) as row-major
 * float32. tensor_reader.c implements it over windows of a memory-mapped shard
 * (converting BF16/F16/F64 per tile); tests implement it over an array; a later
 * remote reader will implement it over bytes streamed from the coordinator. */
#ifndef SWAN_TILE_READER_H
#define SWAN_TILE_READER_H

#include <stdint.h>

#include "common/error.h"

typedef struct swan_tile_reader {
    uint64_t rows, cols;
    /* dst has room for nrows*ncols floats, written row-major with stride ncols. */
    int (*read_tile)(void *ctx, uint64_t row0, uint64_t nrows, uint64_t col0,
                     uint64_t ncols, float *dst, swan_error *err);
    void *ctx;
    const float *array; /* swan_tile_reader_from_array only: its data (ctx points at the reader) */
} swan_tile_reader;

/* A reader over an in-memory row-major float array (tests, benchmarks). Its ctx
 * points at *r itself (the callback only gets ctx), so use r in place. */
void swan_tile_reader_from_array(swan_tile_reader *r, const float *data, uint64_t rows,
                                 uint64_t cols);

#endif
