/* test_kernels_metrics.c: the four raw metrics on matrices with known answers.
 *
 * Known answers are derived by hand (constant, rank-1, +-1 matrices, one RTN group
 * worked out in the comments) or by slow, independent double-precision code written
 * here from SWAN-METRICS.md (RTN with padding, the M3 noise ratio). When SWAN_SHARED
 * is set, the kernels also run on fixtures/fx-dense-bf16 against expected.json, which
 * an independent numpy implementation produced. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "common/prng.h"
#include "common/formats/safetensors.h"
#include "worker/metrics.h"
#include "worker/spectral.h"
#include "worker/stats.h"
#include "worker/tensor_reader.h"

static swan_raw_metrics run_on(const float *w, size_t rows, size_t cols,
                               const swan_metrics_opts *o) {
    swan_tile_reader r;
    swan_tile_reader_from_array(&r, w, rows, cols);
    swan_raw_metrics m;
    swan_error err = {{0}};
    int rc = swan_metrics_compute(&r, o, &m, &err);
    if (rc != 0) fail_msg("metrics failed: %s", err.msg);
    return m;
}

static swan_metrics_opts opts_with_key(uint64_t key) {
    swan_metrics_opts o;
    swan_metrics_default_opts(&o);
    o.prng_key = key;
    return o;
}

static float *gaussian(size_t n, uint64_t seed) {
    float *w = malloc(n * sizeof *w);
    double *tmp = malloc(n * sizeof *tmp);
    assert_non_null(w);
    assert_non_null(tmp);
    swan_prng_normal(seed, 7, 0, tmp, n);
    for (size_t i = 0; i < n; i++) w[i] = (float)tmp[i];
    free(tmp);
    return w;
}

static void assert_rel(double got, double want, double tol) {
    double scale = fabs(want) > 1e-30 ? fabs(want) : 1.0;
    if (fabs(got - want) > tol * scale)
        fail_msg("got %.12g want %.12g (rel tol %g)", got, want, tol);
}

/* ---- slow independent references ----------------------------------------- */

/* RTN 4-bit g128 exactly as SWAN-METRICS.md M4 (double, zero padding). */
static double slow_rtn(const float *w, size_t rows, size_t cols) {
    size_t padded = (cols + 127) / 128 * 128;
    double e2 = 0, w2 = 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t g = 0; g < padded; g += 128) {
            double v[128], lo = INFINITY, hi = -INFINITY;
            for (size_t k = 0; k < 128; k++) {
                v[k] = g + k < cols ? w[i * cols + g + k] : 0.0;
                lo = fmin(lo, v[k]);
                hi = fmax(hi, v[k]);
            }
            double s = fmax((hi - lo) / 15.0, 1e-12);
            for (size_t k = 0; k < 128; k++) {
                double q = nearbyint((v[k] - lo) / s); /* default mode: half to even */
                q = fmin(fmax(q, 0.0), 15.0);
                double d = q * s + lo - v[k];
                e2 += d * d;
                w2 += v[k] * v[k];
            }
        }
    double n = (double)rows * (double)padded;
    return sqrt(w2 / n) < 1e-12 ? 0.0 : sqrt(e2 / n) / sqrt(w2 / n);
}

/* M3 with the probe/noise indexing documented in metrics.c, in double. */
static double slow_delta(const float *w, size_t rows, size_t cols, uint64_t key) {
    size_t p = cols < 32 ? cols : 32;
    double *x = malloc(cols * p * sizeof *x), norm[32] = {0};
    float *u = malloc(cols * sizeof *u);
    double lo = INFINITY, hi = -INFINITY;
    swan_prng_normal(key, SWAN_STREAM_PROBE, 0, x, cols * p);
    for (size_t j = 0; j < cols; j++)
        for (size_t c = 0; c < p; c++) norm[c] += x[j * p + c] * x[j * p + c];
    for (size_t j = 0; j < cols; j++)
        for (size_t c = 0; c < p; c++) x[j * p + c] /= sqrt(norm[c]) + 1e-8;
    for (size_t i = 0; i < rows * cols; i++) lo = fmin(lo, w[i]), hi = fmax(hi, w[i]);
    double h = (hi - lo) / 16.0, ex = 0, wx = 0;
    for (size_t i = 0; i < rows; i++) {
        swan_prng_uniform_centered(key, SWAN_STREAM_NOISE, i * cols, u, cols);
        for (size_t c = 0; c < p; c++) {
            double a = 0, b = 0;
            for (size_t j = 0; j < cols; j++) {
                a += h * (double)u[j] * x[j * p + c];
                b += (double)w[i * cols + j] * x[j * p + c];
            }
            ex += a * a;
            wx += b * b;
        }
    }
    free(x);
    free(u);
    return sqrt(ex) / (sqrt(wx) + 1e-8);
}

/* ---- known answers ------------------------------------------------------- */

static void test_constant_matrix(void **state) {
    (void)state;
    size_t rows = 300, cols = 256;
    float *w = malloc(rows * cols * sizeof *w);
    for (size_t i = 0; i < rows * cols; i++) w[i] = 0.7f;
    swan_metrics_opts o = opts_with_key(1);
    swan_raw_metrics m = run_on(w, rows, cols, &o);
    assert_true(m.kurtosis == 0.0);                 /* m2 < 1e-12 */
    assert_rel(m.svd_concentration, 1.0, 1e-6);     /* rank 1 */
    assert_true(m.rtn_nrmse < 1e-6);                /* constant groups are exact */
    assert_true(m.output_delta == 0.0);             /* h = 0 */
    assert_int_equal(m.nonfinite, 0);
    assert_true(m.w_min == 0.7f && m.w_max == 0.7f);
    assert_int_equal(m.spectral_method, SWAN_SPECTRAL_GRAM_EXACT);
    assert_int_equal(m.spectral_rank, 256);          /* min side 256 <= 512: all */
    free(w);
}

static void check_rank1(size_t rows, size_t cols, double tol) {
    float *w = malloc(rows * cols * sizeof *w);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            w[i * cols + j] = (float)(sin(0.3 * (double)i + 1.0) * cos(0.17 * (double)j));
    swan_metrics_opts o = opts_with_key(2);
    swan_raw_metrics m = run_on(w, rows, cols, &o);
    assert_rel(m.svd_concentration, 1.0, tol);
    free(w);
}

static void test_rank1(void **state) {
    (void)state;
    check_rank1(700, 40, 1e-6);  /* row blocks, Gram W^T W, all values in double */
    check_rank1(40, 700, 1e-6);  /* column panels, Gram W W^T */
    /* small side > 512: top 256 eigenvalues in float; the 255 zero eigenvalues come
     * out as float rounding noise of about 1e-8 lambda_1 each (spec tolerance 0.02) */
    check_rank1(900, 700, 1e-5);
}

static void test_plus_minus_one_kurtosis(void **state) {
    (void)state;
    size_t rows = 64, cols = 384;
    float *w = malloc(rows * cols * sizeof *w);
    for (size_t i = 0; i < rows * cols; i++) w[i] = (i % 2) ? 1.0f : -1.0f;
    swan_metrics_opts o = opts_with_key(3);
    swan_raw_metrics m = run_on(w, rows, cols, &o);
    /* mean 0, m2 = 1, m4 = 1: k = 1/1 - 3 */
    assert_rel(m.kurtosis, -2.0, 1e-12);
    assert_true(m.w_min == -1.0f && m.w_max == 1.0f);
    /* each group holds only -1 and 1: s = 2/15, q in {0, 15}: exact */
    assert_true(m.rtn_nrmse < 1e-6);
    free(w);
}

/* One group worked by hand: w[0] = 0 and w[1] = 15 make lo = 0, hi = 15, s = 1.
 * The other 126 values are k + 0.25 (q = k, error 0.25) or k + 0.75 (q = k + 1,
 * error 0.25) for k in 0..13, so the squared error sum is 126 * 0.0625. */
static void test_rtn_hand_group(void **state) {
    (void)state;
    float w[128];
    double want_w2 = 0;
    w[0] = 0.0f;
    w[1] = 15.0f;
    for (int i = 2; i < 128; i++) w[i] = (float)(i % 14) + ((i % 3) ? 0.25f : 0.75f);
    for (int i = 0; i < 128; i++) want_w2 += (double)w[i] * w[i];
    double e2 = 0, w2 = 0;
    swan_rtn_group(w, &e2, &w2);
    assert_rel(e2, 126 * 0.0625, 1e-12);
    assert_rel(w2, want_w2, 1e-7);

    /* Shift and scale: lo = -3, hi = -3 + 15*0.5, s = 0.5; values lo + (k + 0.25)*s
     * have error 0.25*s = 0.125 each. All values are exact in float. */
    w[0] = -3.0f;
    w[1] = -3.0f + 7.5f;
    for (int i = 2; i < 128; i++) w[i] = -3.0f + 0.5f * ((float)(i % 15) + 0.25f);
    e2 = w2 = 0;
    swan_rtn_group(w, &e2, &w2);
    assert_rel(e2, 126 * 0.125 * 0.125, 1e-6);
}

static void test_rtn_padding_vs_slow(void **state) {
    (void)state;
    size_t rows = 37, cols = 130;
    float *w = gaussian(rows * cols, 11);
    for (size_t i = 0; i < rows * cols; i += 17) w[i] *= 6.0f; /* some outliers */
    swan_metrics_opts o = opts_with_key(4);
    swan_raw_metrics m = run_on(w, rows, cols, &o);
    assert_rel(m.rtn_nrmse, slow_rtn(w, rows, cols), 1e-5);
    /* and a column count with several full groups plus a tail */
    free(w);
    rows = 20, cols = 1000;
    w = gaussian(rows * cols, 12);
    m = run_on(w, rows, cols, &o);
    assert_rel(m.rtn_nrmse, slow_rtn(w, rows, cols), 1e-5);
    free(w);
}

static void test_nonfinite(void **state) {
    (void)state;
    size_t rows = 200, cols = 300;
    float *w = gaussian(rows * cols, 13);
    w[5] = NAN;
    w[1000] = INFINITY;
    w[rows * cols - 1] = -INFINITY;
    w[30000] = NAN;
    w[45001] = NAN;
    swan_metrics_opts o = opts_with_key(5);
    o.max_block_bytes = 64 * 1024; /* several tiles, some after the first NaN */
    swan_raw_metrics m = run_on(w, rows, cols, &o);
    assert_int_equal(m.nonfinite, 5);
    assert_true(m.kurtosis == 0 && m.rtn_nrmse == 0 && m.svd_concentration == 0 &&
                m.output_delta == 0);
    assert_int_equal(m.spectral_method, SWAN_SPECTRAL_NONE);
    free(w);
}

/* A matrix with a decaying spectrum: sum_k sigma_k a_k b_k^T plus noise. */
static float *decaying(size_t rows, size_t cols, uint64_t seed) {
    float *w = gaussian(rows * cols, seed);
    for (size_t i = 0; i < rows * cols; i++) w[i] *= 0.05f;
    size_t r = 40;
    float *a = gaussian(rows * r, seed + 1), *b = gaussian(cols * r, seed + 2);
    for (size_t k = 0; k < r; k++) {
        float sk = 3.0f / (1.0f + (float)k) / sqrtf((float)cols);
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                w[i * cols + j] += sk * a[i * r + k] * b[j * r + k];
    }
    free(a);
    free(b);
    return w;
}

static void test_randomized_vs_exact(void **state) {
    (void)state;
    size_t rows = 1500, cols = 1300;
    float *w = decaying(rows, cols, 21);
    swan_metrics_opts o = opts_with_key(6);
    swan_raw_metrics exact = run_on(w, rows, cols, &o);
    o.gram_max = 600;
    o.max_block_bytes = 1 << 20; /* several row blocks per pass */
    swan_raw_metrics rnd = run_on(w, rows, cols, &o);
    assert_int_equal(exact.spectral_method, SWAN_SPECTRAL_GRAM_EXACT);
    assert_int_equal(rnd.spectral_method, SWAN_SPECTRAL_RANDOMIZED);
    assert_int_equal(exact.spectral_rank, 256);
    assert_int_equal(rnd.spectral_rank, 256);
    if (fabs(rnd.svd_concentration - exact.svd_concentration) > 0.02)
        fail_msg("randomized c %.6f vs exact %.6f", rnd.svd_concentration,
                 exact.svd_concentration);
    /* the other metrics do not depend on the spectral method */
    assert_rel(rnd.kurtosis + 3.0, exact.kurtosis + 3.0, 1e-6);
    assert_rel(rnd.rtn_nrmse, exact.rtn_nrmse, 1e-6);
    assert_rel(rnd.output_delta, exact.output_delta, 1e-5);

    /* the transpose goes through column panels (Gram / sketch on W W^T) */
    float *t = malloc(rows * cols * sizeof *t);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
    swan_raw_metrics prnd = run_on(t, cols, rows, &o);
    assert_int_equal(prnd.spectral_method, SWAN_SPECTRAL_RANDOMIZED);
    if (fabs(prnd.svd_concentration - exact.svd_concentration) > 0.02)
        fail_msg("randomized (panels) c %.6f vs exact %.6f", prnd.svd_concentration,
                 exact.svd_concentration);
    o.power_iters = 0; /* a single H pass: still a valid (rougher) estimate */
    swan_raw_metrics rough = run_on(w, rows, cols, &o);
    printf("  c exact %.6f, randomized rows %.6f, panels %.6f, no power iteration %.6f\n",
           exact.svd_concentration, rnd.svd_concentration, prnd.svd_concentration,
           rough.svd_concentration);
    assert_true(rough.svd_concentration > 0.0 && rough.svd_concentration <= 1.0);
    free(t);
    free(w);
}

static void assert_same(const swan_raw_metrics *a, const swan_raw_metrics *b, double tol) {
    /* kurtosis of Gaussian data is near 0: compare m4/m2^2 = k + 3 */
    assert_rel(a->kurtosis + 3.0, b->kurtosis + 3.0, tol);
    assert_rel(a->rtn_nrmse, b->rtn_nrmse, tol);
    assert_rel(a->svd_concentration, b->svd_concentration, tol);
    assert_rel(a->output_delta, b->output_delta, tol);
    assert_true(a->w_min == b->w_min && a->w_max == b->w_max);
}

static void test_tiling_invariance(void **state) {
    (void)state;
    uint64_t key = 77;
    /* Row blocks (rows >= cols): whole matrix in one tile vs many small tiles. */
    size_t rows = 1000, cols = 200;
    float *w = gaussian(rows * cols, 31);
    swan_metrics_opts o = opts_with_key(key);
    swan_raw_metrics big = run_on(w, rows, cols, &o);
    o.max_block_bytes = 7 * cols * sizeof(float); /* 7-row blocks */
    swan_raw_metrics small = run_on(w, rows, cols, &o);
    assert_same(&big, &small, 1e-6);
    assert_rel(big.output_delta, slow_delta(w, rows, cols, key), 1e-5);
    assert_rel(big.rtn_nrmse, slow_rtn(w, rows, cols), 1e-5);

    /* Column panels (rows < cols): one panel vs 128-column panels. */
    float *t = malloc(rows * cols * sizeof *t);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
    o = opts_with_key(key);
    swan_raw_metrics pbig = run_on(t, cols, rows, &o);
    o.max_block_bytes = 128 * cols * sizeof(float);
    swan_raw_metrics psmall = run_on(t, cols, rows, &o);
    assert_same(&pbig, &psmall, 1e-6);
    assert_rel(pbig.output_delta, slow_delta(t, cols, rows, key), 1e-5);
    assert_rel(pbig.rtn_nrmse, slow_rtn(t, cols, rows), 1e-5);
    /* W and W^T have the same values and singular values: the row-block and
     * column-panel paths must agree on kurtosis and concentration. */
    assert_rel(pbig.kurtosis + 3.0, big.kurtosis + 3.0, 1e-6);
    assert_rel(pbig.svd_concentration, big.svd_concentration, 1e-6);
    free(w);
    free(t);
}

static void test_determinism(void **state) {
    (void)state;
    size_t rows = 300, cols = 260;
    float *w = gaussian(rows * cols, 41);
    swan_metrics_opts o = opts_with_key(1234);
    swan_raw_metrics a = run_on(w, rows, cols, &o);
    swan_raw_metrics b = run_on(w, rows, cols, &o);
    assert_true(a.kurtosis == b.kurtosis && a.rtn_nrmse == b.rtn_nrmse &&
                a.svd_concentration == b.svd_concentration && a.output_delta == b.output_delta);
    o.prng_key = 1235;
    swan_raw_metrics c = run_on(w, rows, cols, &o);
    assert_true(c.output_delta != a.output_delta);
    assert_true(c.kurtosis == a.kurtosis && c.svd_concentration == a.svd_concentration);
    /* unit-variance Gaussian W and unit probes: E||U X||^2 = rows p / 12 and
     * E||W X||^2 = rows p, so d is near h / sqrt(12) */
    double h = ((double)a.w_max - a.w_min) / 16.0;
    double expect = h / sqrt(12.0);
    assert_rel(a.output_delta, expect, 0.1);
    free(w);
}

static void test_concentration_kernel(void **state) {
    (void)state;
    double sv[20];
    for (int i = 0; i < 20; i++) sv[i] = 20 - i; /* t = 2: (20+19)/210 */
    assert_rel(swan_spectral_concentration(sv, 20), 39.0 / 210.0, 1e-15);
    assert_rel(swan_spectral_concentration(sv, 5), 1.0 * 20 / (20 + 19 + 18 + 17 + 16), 1e-15);
    double zero[3] = {0, 0, 0};
    assert_true(swan_spectral_concentration(zero, 3) == 0.0);
}

/* ---- golden fixtures ----------------------------------------------------- */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_golden_fixture(void **state) {
    (void)state;
    const char *shared = getenv("SWAN_SHARED");
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/fixtures/fx-dense-bf16", shared);
    snprintf(path, sizeof path, "%s/expected.json", dir);
    FILE *probe = shared ? fopen(path, "r") : NULL;
    if (!probe) {
        /* The known-answer tests above ran; only the comparison with the shared
         * fixture's golden values needs ../shared. */
        printf("skipped: golden fixture comparison: SWAN_SHARED (%s) has no fixtures/fx-dense-bf16\n",
               shared ? shared : "unset");
        skip();
    }
    fclose(probe);
    char *json = slurp(path);
    assert_non_null(json);
    cJSON *exp = cJSON_Parse(json);
    assert_non_null(exp);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    swan_st_header h;
    uint64_t fsize;
    swan_error err = {{0}};
    if (swan_st_read_file(path, &h, &fsize, &err) != 0) fail_msg("%s", err.msg);
    int checked = 0;
    for (size_t i = 0; i < h.count; i++) {
        swan_st_entry *e = &h.entries[i];
        cJSON *rec = cJSON_GetObjectItem(exp, e->name);
        cJSON *raw = rec ? cJSON_GetObjectItem(rec, "raw") : NULL;
        if (!raw) continue;
        swan_view2d v;
        assert_int_equal(swan_view2d_make(e->ndim, e->shape, &v), SWAN_KIND_MATRIX);
        swan_tensor_reader tr;
        if (swan_tensor_reader_open(&tr, path, h.data_start + e->begin, e->end - e->begin,
                                    e->dtype, &v, &err) != 0)
            fail_msg("%s", err.msg);
        swan_tile_reader r;
        swan_tensor_reader_as_tiles(&tr, &r);
        swan_metrics_opts o = opts_with_key(swan_prng_key(0, e->name));
        swan_raw_metrics m;
        if (swan_metrics_compute(&r, &o, &m, &err) != 0) fail_msg("%s", err.msg);
        swan_tensor_reader_close(&tr);
        double k = cJSON_GetObjectItem(raw, "kurtosis")->valuedouble;
        double nr = cJSON_GetObjectItem(raw, "rtn_nrmse_4b_g128")->valuedouble;
        double c = cJSON_GetObjectItem(raw, "svd_concentration")->valuedouble;
        double dm = cJSON_GetObjectItem(raw, "output_delta_mean")->valuedouble;
        double ds = cJSON_GetObjectItem(raw, "output_delta_std")->valuedouble;
        double ctol = (v.rows < v.cols ? v.rows : v.cols) <= 512 ? 1e-4 : 0.02;
        printf("  %-42s k %.6f/%.6f e %.6f/%.6f c %.6f/%.6f d %.5f/%.5f+-%.5f\n", e->name,
               m.kurtosis, k, m.rtn_nrmse, nr, m.svd_concentration, c, m.output_delta, dm, ds);
        assert_rel(m.kurtosis, k, 1e-4);
        assert_rel(m.rtn_nrmse, nr, 1e-4);
        assert_true(fabs(m.svd_concentration - c) <= ctol);
        assert_true(fabs(m.output_delta - dm) <= 4 * ds + 1e-3);
        checked++;
    }
    assert_true(checked >= 8);
    swan_st_header_free(&h);
    cJSON_Delete(exp);
    free(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concentration_kernel),
        cmocka_unit_test(test_constant_matrix),
        cmocka_unit_test(test_rank1),
        cmocka_unit_test(test_plus_minus_one_kurtosis),
        cmocka_unit_test(test_rtn_hand_group),
        cmocka_unit_test(test_rtn_padding_vs_slow),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_randomized_vs_exact),
        cmocka_unit_test(test_tiling_invariance),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_golden_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
