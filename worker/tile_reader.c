/* tile_reader.c: the in-memory implementation of swan_tile_reader.
 *
 * Used by unit tests and benchmarks to feed the metric kernels from a row-major
 * float array without files; it copies the requested tile exactly as a file-backed
 * reader would, so the kernels cannot tell the difference. */
#include "worker/tile_reader.h"

#include <string.h>

static int array_read_tile(void *ctx, uint64_t row0, uint64_t nrows, uint64_t col0,
                           uint64_t ncols, float *dst, swan_error *err) {
    const swan_tile_reader *r = ctx;
    if (row0 + nrows > r->rows || col0 + ncols > r->cols)
        return swan_error_set(err, "array reader: tile [%llu+%llu, %llu+%llu] outside %llux%llu",
                              (unsigned long long)row0, (unsigned long long)nrows,
                              (unsigned long long)col0, (unsigned long long)ncols,
                              (unsigned long long)r->rows, (unsigned long long)r->cols);
    for (uint64_t i = 0; i < nrows; i++)
        memcpy(dst + i * ncols, r->array + (row0 + i) * r->cols + col0,
               (size_t)ncols * sizeof(float));
    return 0;
}

void swan_tile_reader_from_array(swan_tile_reader *r, const float *data, uint64_t rows,
                                 uint64_t cols) {
    r->rows = rows;
    r->cols = cols;
    r->read_tile = array_read_tile;
    r->ctx = r;
    r->array = data;
}
