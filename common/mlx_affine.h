/* mlx_affine.h: MLX's affine quantization (SWAN-METRICS.md section 7), one module for
 * both of its uses.
 *
 *  - Measuring: workers feed every tile of the metric pass to a swan_mlx_err, which
 *    accumulates, for each width {2,3,4,5,6,8} and group size {32,64,128} dividing the
 *    columns, the squared error of quantize-then-dequantize (scale and bias rounded to
 *    the weight's dtype first, as they are stored). The result is raw_metrics.mlx_nrmse.
 *  - Producing: swan_mlx_quantize_group + swan_mlx_pack give the bytes MLX itself would
 *    store (packed uint32 words, scales, biases), bit for bit.
 *
 * The per-group rule is the one of mlx's CPU kernel (mlx/backend/cpu/quantized.cpp,
 * template `quantize<T, U>`, read at ml-explore/mlx commit 0e18bb05): in float32,
 *   n = 2^b - 1, scale = max((hi - lo) / n, 1e-7); the edge of larger magnitude is made
 *   exact: mask = |lo| > |hi|, scale = mask ? scale : -scale, edge = mask ? lo : hi,
 *   q0 = rint(edge / scale); if q0 != 0 { scale = edge / q0; bias = edge } else bias = 0;
 *   q = clamp(rint((w - bias) / scale), 0, n); scales[i] = T(scale), biases[i] = T(bias)
 * where T is the weight's own type (the same kernel writes F32 scales for F32 weights:
 * `scales` and `biases` are T*, and fast::Quantize::eval_cpu dispatches T on w.dtype()). */
#ifndef SWAN_MLX_AFFINE_H
#define SWAN_MLX_AFFINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/raw_metrics.h"

#define SWAN_MLX_EPS 1e-7f
#define SWAN_MLX_MAX_GROUP 128

/* Index of a width in swan_mlx_bits / a group size in swan_mlx_groups; -1 if none. */
int swan_mlx_bits_index(int bits);
int swan_mlx_group_index(int group_size);

/* MLX's scale and bias (float32, before rounding to the dtype) of a group with range
 * [lo, hi], for `bits` bits. */
void swan_mlx_affine_params(float lo, float hi, int bits, float *scale, float *bias);

/* x rounded to nearest-even in dt and back (BF16, F16; F32 and others: x itself). */
float swan_mlx_round_to_dtype(swan_dtype dt, float x);
uint16_t swan_f32_to_bf16_bits(float x); /* round to nearest even; NaN stays NaN */
uint16_t swan_f32_to_f16_bits(float x);  /* round to nearest even, subnormals, inf */

/* One group of g values as MLX quantizes it: q[k] in [0, 2^bits - 1] (exact division
 * and rint, as the CPU kernel), *scale and *bias in float32 (round them to the dtype
 * with swan_mlx_round_to_dtype to get the stored values). */
void swan_mlx_quantize_group(const float *w, int g, int bits, uint8_t *q, float *scale,
                             float *bias);

/* Packs n quantized values (n a multiple of 32) into n * bits / 8 bytes laid out as MLX
 * stores them (section 8): for 2/4/8 bits 32/b values per little-endian uint32, value k
 * at bits [k b, (k+1) b); for 3 and 5 bits each run of 8 values in 3 (5) bytes; for 6
 * bits each run of 4 values in 3 bytes, value k at bit k b of that little-endian run. */
void swan_mlx_pack(const uint8_t *q, size_t n, int bits, uint8_t *out);

/* The error accumulator of one matrix (cols columns per row). */
typedef struct swan_mlx_err {
    double err2[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS]; /* sum (w' - w)^2 */
    double w2;                                     /* sum w^2        */
    uint64_t cols;
    swan_dtype dtype;  /* where scales and biases are stored: BF16, F16 or F32 */
    unsigned gmask;    /* bit j: swan_mlx_groups[j] divides cols */
    int portable;      /* 1: use the portable 4-lane sweep even where AVX2 exists
                          (tests compare both paths on one machine) */
} swan_mlx_err;

void swan_mlx_err_init(swan_mlx_err *e, uint64_t cols, swan_dtype dtype);

/* Adds a tile of nrows x ncols row-major values that starts at a column that is a
 * multiple of 128 (or 0); ncols is a multiple of 128 unless the tile ends the rows.
 * Values must be finite (the metric pass skips the matrix otherwise). */
void swan_mlx_err_add_tile(swan_mlx_err *e, const float *tile, size_t nrows, size_t ncols);

/* NRMSE per (width, group): sqrt(err2) / sqrt(w2), 0 when sqrt(w2) < 1e-12, -1 when the
 * group size does not divide cols. */
void swan_mlx_err_nrmse(const swan_mlx_err *e, double out[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS]);

/* Sum of squared errors of one group (scale/bias rounded to dt, exact division): the
 * straightforward per-group path, for tests and for callers with a single group. */
double swan_mlx_group_err2(const float *w, int g, int bits, swan_dtype dt);

#endif
