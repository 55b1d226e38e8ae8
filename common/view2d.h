/* view2d.h: which tensors are analyzed, and the 2-D matrix the metrics see.
 *
 * Implements the table of SWAN-METRICS.md section 2 in one place, used by the
 * coordinator (planning, cost estimates, manifest) and the worker (reading rows).
 * A 2-D view is `rows x cols` float32, made of up to 4 contiguous row segments of
 * the tensor's storage (several only for packed 3-D experts with E > 4). */
#ifndef SWAN_VIEW2D_H
#define SWAN_VIEW2D_H

#include <stdint.h>

#define SWAN_MAX_DIMS 8
#define SWAN_VIEW_MAX_SEGMENTS 4
#define SWAN_TINY_ELEMENTS 1024

typedef enum swan_tensor_kind {
    SWAN_KIND_MATRIX = 0,   /* analyzed                                   */
    SWAN_KIND_1D,           /* ndim <= 1, or 2-D with a dimension of 1    */
    SWAN_KIND_TINY,         /* fewer than 1024 elements                   */
    SWAN_KIND_EMPTY,        /* zero elements: recorded, not analyzed      */
    SWAN_KIND_NOT_FLOAT,    /* integer/bool, F8 without scale: kept as is */
    SWAN_KIND_SCALE,        /* an FP8 weight's scales: recorded, not analyzed */
    SWAN_KIND_QUANTIZED,    /* already quantized (GGUF Q4_K...): kept as is */
    SWAN_KIND_COUNT
} swan_tensor_kind;

typedef struct swan_view2d {
    uint64_t rows, cols;
    uint32_t nseg;
    struct {
        uint64_t first_elem; /* element offset of the segment in the tensor  */
        uint64_t rows;       /* rows of `cols` elements, contiguous           */
    } seg[SWAN_VIEW_MAX_SEGMENTS];
} swan_view2d;

/* Classifies a float tensor by shape (callers check dtype first: a non-analyzed
 * dtype is SWAN_KIND_NOT_FLOAT) and, for SWAN_KIND_MATRIX, fills *view. */
swan_tensor_kind swan_view2d_make(int ndim, const uint64_t *shape, swan_view2d *view);

const char *swan_kind_name(swan_tensor_kind kind); /* "matrix", "1d", "tiny", ... */

#endif
