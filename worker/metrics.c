/* metrics.c: the four SWAN raw metrics of one matrix in one streaming pass.
 *
 * swan_metrics_compute walks the 2-D view in tiles of at most opts.max_block_bytes
 * of float32 and feeds every tile to all kernels while it is hot:
 *   - stats.c: kurtosis moments (M2), RTN error (M4), min/max, non-finite count;
 *   - common/mlx_affine.c: the error under MLX affine quantization for every width and
 *     group size (spec section 7, raw.mlx_nrmse);
 *   - M3 (here): U X and W X for the probe matrix X, U the counter-based noise;
 *   - spectral.c: the Gram matrix of the small side (M1), or the first pass of the
 *     randomized subspace iteration when that side exceeds opts.gram_max (the
 *     remaining power_iters passes re-read the tiles).
 * Traversal: row blocks [b x cols] when cols <= rows (spectrum from W^T W); column
 * panels [rows x cb] when rows < cols (spectrum from W W^T), with cb a multiple of
 * 128 so RTN groups never straddle two tiles. Results do not depend on the tiling:
 * the random numbers are functions of element indices, not of visiting order.
 * Memory: one tile (max_block_bytes; a panel holds at least 128 columns, so at
 * least rows*512 bytes) plus the small side s: the Gram matrix (s^2 floats, plus
 * s^2 doubles when s <= 2048) or, when s > gram_max, 2 s k floats for the
 * randomized basis (k = top_rank + oversample), plus cols*p floats of probes.
 *
 * Random numbers (common/prng.h, key = opts.prng_key):
 *   X(j, c) = normal(PROBE, j*p + c) for column j of W, probe c (0 <= c < p), then
 *             each probe column divided by (its norm + 1e-8);
 *   U(i, j) = uniform_centered(NOISE, i*cols + j) in [-0.5, 0.5) (the fast 32-bit-lane
 *             generator of prng.h), so the noise is E = h U with
 *             h = (max - min) / 16, known only at the end: d = h ||U X|| / (||W X|| + 1e-8).
 * ||W X||_F^2 comes for free from the Gram matrix (tr X^T G X) when G = W^T W;
 * otherwise W X is formed tile by tile. */
#include "worker/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/linalg.h"
#include "common/mlx_affine.h"
#include "common/prng.h"
#include "worker/spectral.h"
#include "worker/stats.h"

#define NOISE_BLOCK_FLOATS 65536 /* one noise sub-block: 256 KiB, stays in L2 */
#define RSVD_TILE_LEN 2048       /* tile rows (or panel columns) per product in the
                                    randomized passes: bounds the k-wide product buffer */

void swan_metrics_default_opts(swan_metrics_opts *o) {
    memset(o, 0, sizeof *o);
    o->probes = 32;
    o->exact_max = 512;
    o->top_rank = 256;
    o->gram_max = 4096;
    o->power_iters = 3;
    o->oversample = 32;
    o->max_block_bytes = (size_t)16 << 20;
    o->dtype = SWAN_DT_F32;
}

typedef struct run {
    const swan_tile_reader *rd;
    const swan_metrics_opts *o;
    size_t rows, cols, p;
    int panels;          /* 1: column panels (rows < cols); 0: row blocks          */
    int randomized;      /* 1: swan_rsvd; 0: swan_gram (both on the small side)    */
    size_t tile_rows;    /* row blocks: rows per tile                              */
    size_t panel_cols;   /* column panels: columns per panel (multiple of 128)     */
    float *tile, *x, *noise, *prod;
    float *ux, *wx;      /* column panels: rows x p accumulators (column-major p x rows) */
    double ux2, wx2;     /* ||U X||^2 and ||W X||^2 when reduced tile by tile      */
    swan_stats st;
    swan_mlx_err mlx;
    swan_gram gram;
    swan_rsvd rs;
} run;

static double sum_squares(const float *a, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)a[i];
    return s;
}

/* X as a row-major cols x p float array (= column-major p x cols). */
static int make_probes(run *R, swan_error *err) {
    size_t n = R->cols, p = R->p;
    double *norm = calloc(p, sizeof *norm), *row = malloc(p * sizeof *row);
    R->x = malloc(n * p * sizeof *R->x);
    if (!norm || !row || !R->x) {
        free(norm);
        free(row);
        return swan_error_set(err, "out of memory for %zux%zu probes", n, p);
    }
    /* One generation pass (a normal costs ~40 ns): keep the values in float, sum the
     * norms in double, then scale; within 2 float ulps of normalizing in double. */
    uint64_t key = R->o->prng_key;
    for (size_t j = 0; j < n; j++) {
        swan_prng_normal(key, SWAN_STREAM_PROBE, (uint64_t)j * p, row, p);
        for (size_t c = 0; c < p; c++) {
            norm[c] += row[c] * row[c];
            R->x[j * p + c] = (float)row[c];
        }
    }
    for (size_t c = 0; c < p; c++) norm[c] = 1.0 / (sqrt(norm[c]) + 1e-8);
    for (size_t j = 0; j < n; j++)
        for (size_t c = 0; c < p; c++) R->x[j * p + c] = (float)(R->x[j * p + c] * norm[c]);
    free(norm);
    free(row);
    return 0;
}

/* Decides the traversal and the spectral method, allocates every buffer. */
static int run_setup(run *R, swan_error *err) {
    const swan_metrics_opts *o = R->o;
    size_t rows = R->rows, cols = R->cols, budget = o->max_block_bytes / sizeof(float);
    R->p = o->probes < 1 ? 1 : (o->probes < cols ? o->probes : cols);
    R->panels = rows < cols;
    R->randomized = (R->panels ? rows : cols) > o->gram_max;
    size_t tile_floats;
    if (R->panels) {
        size_t cb = budget / rows / SWAN_RTN_GROUP * SWAN_RTN_GROUP;
        if (cb < SWAN_RTN_GROUP) cb = SWAN_RTN_GROUP;
        if (cb > cols) cb = cols;
        R->panel_cols = cb;
        tile_floats = rows * cb;
    } else {
        size_t b = budget / cols;
        if (b < 1) b = 1;
        if (b > rows) b = rows;
        R->tile_rows = b;
        tile_floats = b * cols;
    }
    R->tile = malloc(tile_floats * sizeof *R->tile);
    R->noise = malloc(NOISE_BLOCK_FLOATS > cols ? NOISE_BLOCK_FLOATS * sizeof(float)
                                                 : cols * sizeof(float));
    size_t prod_rows = R->panels ? 0 : R->tile_rows;
    size_t nb_rows = NOISE_BLOCK_FLOATS / cols;
    if (nb_rows > prod_rows) prod_rows = nb_rows;
    if (prod_rows < 1) prod_rows = 1;
    R->prod = malloc(prod_rows * R->p * sizeof *R->prod);
    if (R->panels) {
        R->ux = calloc(rows * R->p, sizeof *R->ux);
        R->wx = calloc(rows * R->p, sizeof *R->wx);
    }
    if (!R->tile || !R->noise || !R->prod || (R->panels && (!R->ux || !R->wx)))
        return swan_error_set(err, "out of memory for %zu-float tiles", tile_floats);
    if (make_probes(R, err) != 0) return -1;
    if (R->randomized) {
        size_t k = (size_t)o->top_rank + o->oversample;
        size_t len = R->panels ? R->panel_cols : R->tile_rows;
        if (len > RSVD_TILE_LEN) len = RSVD_TILE_LEN;
        if (swan_rsvd_init(&R->rs, R->panels ? rows : cols, k, o->prng_key, len, err) != 0)
            return -1;
        if (o->power_iters == 0) R->rs.final_pass = 1;
        return 0;
    }
    return swan_gram_init(&R->gram, R->panels ? rows : cols, err);
}

static void run_free(run *R) {
    free(R->tile);
    free(R->x);
    free(R->noise);
    free(R->prod);
    free(R->ux);
    free(R->wx);
    swan_gram_free(&R->gram);
    swan_rsvd_free(&R->rs);
}

/* U X for rows [r0, r0+nrows) of a row block; adds ||U X||^2 to R->ux2. */
static void noise_rows(run *R, size_t r0, size_t nrows) {
    swan_blas_int p = (swan_blas_int)R->p, n = (swan_blas_int)R->cols;
    float one = 1.0f, zero = 0.0f;
    size_t per = NOISE_BLOCK_FLOATS / R->cols;
    if (per < 1) per = 1;
    for (size_t i = 0; i < nrows; i += per) {
        size_t nr = nrows - i < per ? nrows - i : per, cnt = nr * R->cols;
        swan_prng_uniform_centered(R->o->prng_key, SWAN_STREAM_NOISE,
                                   (uint64_t)(r0 + i) * R->cols, R->noise, cnt);
        swan_blas_int b = (swan_blas_int)nr;
        /* prod (column-major p x b) = X^T U^T */
        sgemm_("N", "N", &p, &b, &n, &one, R->x, &p, R->noise, &n, &zero, R->prod, &p, 1, 1);
        R->ux2 += sum_squares(R->prod, nr * R->p);
    }
}

/* U X accumulated for the panel of columns [c0, c0+cb) of all rows. */
static void noise_panel(run *R, size_t c0, size_t cb) {
    swan_blas_int p = (swan_blas_int)R->p, k = (swan_blas_int)cb;
    float one = 1.0f;
    size_t per = NOISE_BLOCK_FLOATS / cb;
    if (per < 1) per = 1;
    for (size_t i = 0; i < R->rows; i += per) {
        size_t nr = R->rows - i < per ? R->rows - i : per;
        for (size_t r = 0; r < nr; r++) {
            float *dst = R->noise + r * cb;
            swan_prng_uniform_centered(R->o->prng_key, SWAN_STREAM_NOISE,
                                       (uint64_t)(i + r) * R->cols + c0, dst, cb);
        }
        swan_blas_int b = (swan_blas_int)nr;
        sgemm_("N", "N", &p, &b, &k, &one, R->x + c0 * R->p, &p, R->noise, &k, &one,
               R->ux + i * R->p, &p, 1, 1);
    }
}

/* Everything for one row block of nrows rows starting at r0. */
static void row_block(run *R, size_t r0, size_t nrows) {
    swan_stats_add_tile(&R->st, R->tile, nrows, R->cols);
    if (R->st.nonfinite > 0) return; /* metrics will be skipped: only count */
    swan_mlx_err_add_tile(&R->mlx, R->tile, nrows, R->cols);
    noise_rows(R, r0, nrows);
    if (R->randomized) {
        swan_blas_int p = (swan_blas_int)R->p, n = (swan_blas_int)R->cols,
                      b = (swan_blas_int)nrows;
        float one = 1.0f, zero = 0.0f;
        sgemm_("N", "N", &p, &b, &n, &one, R->x, &p, R->tile, &n, &zero, R->prod, &p, 1, 1);
        R->wx2 += sum_squares(R->prod, nrows * R->p);
        swan_rsvd_add_rows(&R->rs, R->tile, nrows);
    } else {
        swan_gram_add_rows(&R->gram, R->tile, nrows);
    }
}

/* Everything for the panel of columns [c0, c0+cb). */
static void column_panel(run *R, size_t c0, size_t cb) {
    swan_stats_add_tile(&R->st, R->tile, R->rows, cb);
    if (R->st.nonfinite > 0) return;
    swan_mlx_err_add_tile(&R->mlx, R->tile, R->rows, cb);
    noise_panel(R, c0, cb);
    swan_blas_int p = (swan_blas_int)R->p, k = (swan_blas_int)cb, m = (swan_blas_int)R->rows;
    float one = 1.0f;
    sgemm_("N", "N", &p, &m, &k, &one, R->x + c0 * R->p, &p, R->tile, &k, &one, R->wx, &p, 1, 1);
    if (R->randomized)
        swan_rsvd_add_panel(&R->rs, R->tile, cb);
    else
        swan_gram_add_panel(&R->gram, R->tile, cb);
}

/* One traversal of the matrix; `first` feeds every kernel, later (randomized)
 * passes only the subspace iteration. */
static int pass(run *R, int first, swan_error *err) {
    const swan_tile_reader *rd = R->rd;
    if (R->panels) {
        for (size_t c0 = 0; c0 < R->cols; c0 += R->panel_cols) {
            size_t cb = R->cols - c0 < R->panel_cols ? R->cols - c0 : R->panel_cols;
            if (rd->read_tile(rd->ctx, 0, R->rows, c0, cb, R->tile, err) != 0) return -1;
            if (first)
                column_panel(R, c0, cb);
            else
                swan_rsvd_add_panel(&R->rs, R->tile, cb);
        }
        return 0;
    }
    for (size_t r0 = 0; r0 < R->rows; r0 += R->tile_rows) {
        size_t nr = R->rows - r0 < R->tile_rows ? R->rows - r0 : R->tile_rows;
        if (rd->read_tile(rd->ctx, r0, nr, 0, R->cols, R->tile, err) != 0) return -1;
        if (first)
            row_block(R, r0, nr);
        else
            swan_rsvd_add_rows(&R->rs, R->tile, nr);
    }
    return 0;
}

/* The randomized method's remaining passes: power iterations, then the H pass. */
static int rsvd_passes(run *R, swan_error *err) {
    uint32_t iters = R->o->power_iters;
    for (uint32_t it = 1; it <= iters; it++) {
        if (swan_rsvd_next_pass(&R->rs, it == iters, err) != 0) return -1;
        if (pass(R, 0, err) != 0) return -1;
    }
    return 0;
}

static int finish(run *R, swan_raw_metrics *out, swan_error *err) {
    const swan_metrics_opts *o = R->o;
    double conc = 0.0;
    uint32_t rank = 0;
    if (R->randomized) {
        if (rsvd_passes(R, err) != 0) return -1;
        if (swan_rsvd_concentration(&R->rs, o->top_rank, &conc, &rank, err) != 0) return -1;
        out->spectral_method = SWAN_SPECTRAL_RANDOMIZED;
    } else {
        swan_gram_finish(&R->gram);
        if (!R->panels && swan_gram_quadratic(&R->gram, R->x, R->p, &R->wx2, err) != 0)
            return -1;
        if (swan_gram_concentration(&R->gram, o->exact_max, o->top_rank, &conc, &rank, err) != 0)
            return -1;
        out->spectral_method = SWAN_SPECTRAL_GRAM_EXACT;
    }
    if (R->panels) {
        R->ux2 = sum_squares(R->ux, R->rows * R->p);
        R->wx2 = sum_squares(R->wx, R->rows * R->p);
    }
    double h = ((double)R->st.w_max - (double)R->st.w_min) / 16.0;
    double wx = R->wx2 > 0 ? sqrt(R->wx2) : 0.0;
    out->svd_concentration = conc;
    out->spectral_rank = rank;
    out->kurtosis = swan_stats_kurtosis(&R->st);
    out->rtn_nrmse = swan_stats_rtn_nrmse(&R->st);
    out->output_delta = h * sqrt(R->ux2) / (wx + 1e-8);
    swan_mlx_err_nrmse(&R->mlx, out->mlx_nrmse);
    return 0;
}

int swan_metrics_compute(const swan_tile_reader *reader, const swan_metrics_opts *opts,
                         swan_raw_metrics *out, swan_error *err) {
    double t0 = swan_now_s();
    memset(out, 0, sizeof *out);
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++) out->mlx_nrmse[i][j] = -1.0;
    out->rows = reader->rows;
    out->cols = reader->cols;
    if (reader->rows == 0 || reader->cols == 0)
        return swan_error_set(err, "metrics: empty %llux%llu matrix",
                              (unsigned long long)reader->rows, (unsigned long long)reader->cols);
    run R;
    memset(&R, 0, sizeof R);
    R.rd = reader;
    R.o = opts;
    R.rows = (size_t)reader->rows;
    R.cols = (size_t)reader->cols;
    swan_stats_init(&R.st);
    swan_mlx_err_init(&R.mlx, reader->cols, opts->dtype);
    int rc = run_setup(&R, err);
    if (rc == 0) rc = pass(&R, 1, err);
    if (rc == 0) {
        out->w_min = R.st.w_min;
        out->w_max = R.st.w_max;
        out->nonfinite = R.st.nonfinite;
        /* Non-finite values: the coordinator keeps the tensor at 16 bits. */
        if (R.st.nonfinite == 0) rc = finish(&R, out, err);
    }
    run_free(&R);
    out->seconds = swan_now_s() - t0;
    return rc;
}
