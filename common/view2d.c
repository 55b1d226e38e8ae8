/* view2d.c: the table of SWAN-METRICS.md section 2, in one place.
 *
 * Decides from a shape alone whether a float tensor is analyzed and, if so, which
 * rows x cols float32 matrix the metric kernels see. The planner uses it to cost and
 * label tensors, the worker to know which contiguous row runs of storage to read, so
 * both sides agree by construction. Checks run in the table's order: empty, 1-D,
 * tiny, then the shape-specific reshape. */
#include "common/view2d.h"

#include <string.h>

/* Product of the dimensions, saturating at UINT64_MAX. Headers are validated before
 * this is called, but saturation keeps a bad caller from wrapping into "tiny". */
static uint64_t shape_product(int ndim, const uint64_t *shape) {
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) return 0;
        if (n > UINT64_MAX / shape[i]) n = UINT64_MAX;
        else n *= shape[i];
    }
    return n;
}

static void one_segment(swan_view2d *v, uint64_t rows, uint64_t cols) {
    v->rows = rows;
    v->cols = cols;
    v->nseg = 1;
    v->seg[0].first_elem = 0;
    v->seg[0].rows = rows;
}

/* Packed experts [E, r, c]. With E > 4 the reference samples experts at
 * floor(linspace(0, E-1, 4)); floor(i*(E-1)/3) in integers gives the same indices
 * (when 3 divides i*(E-1) the float step is exact, otherwise the float result is
 * safely away from an integer). */
static void experts_view(swan_view2d *v, const uint64_t *shape) {
    uint64_t e = shape[0], r = shape[1], c = shape[2];
    if (e <= 4) {
        one_segment(v, e * r, c);
        return;
    }
    v->rows = 4 * r;
    v->cols = c;
    v->nseg = 4;
    for (uint32_t i = 0; i < 4; i++) {
        uint64_t expert = (uint64_t)i * (e - 1) / 3;
        v->seg[i].first_elem = expert * r * c;
        v->seg[i].rows = r;
    }
}

swan_tensor_kind swan_view2d_make(int ndim, const uint64_t *shape, swan_view2d *view) {
    swan_view2d local;
    swan_view2d *v = view ? view : &local;
    memset(v, 0, sizeof *v);

    uint64_t nelem = shape_product(ndim, shape);
    if (nelem == 0) return SWAN_KIND_EMPTY;
    if (ndim <= 1 || (ndim == 2 && (shape[0] == 1 || shape[1] == 1))) return SWAN_KIND_1D;
    if (nelem < SWAN_TINY_ELEMENTS) return SWAN_KIND_TINY;

    if (ndim == 2) {
        one_segment(v, shape[0], shape[1]);
    } else if (ndim == 3) {
        experts_view(v, shape);
    } else {
        one_segment(v, shape[0], nelem / shape[0]);
    }
    return SWAN_KIND_MATRIX;
}

const char *swan_kind_name(swan_tensor_kind kind) {
    switch (kind) {
    case SWAN_KIND_MATRIX: return "matrix";
    case SWAN_KIND_1D: return "1d";
    case SWAN_KIND_TINY: return "tiny";
    case SWAN_KIND_EMPTY: return "empty";
    case SWAN_KIND_NOT_FLOAT: return "not_float";
    case SWAN_KIND_SCALE: return "scale";
    case SWAN_KIND_QUANTIZED: return "quantized";
    case SWAN_KIND_COUNT: break;
    }
    return "?";
}
