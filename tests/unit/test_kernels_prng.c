/* test_kernels_prng.c: statistical quality of the fast noise generator.
 *
 * swan_prng_uniform_centered (common/prng.h) feeds the M3 noise: one value per weight,
 * so it is the vectorized 32-bit-lane generator rather than the 64-bit SplitMix one.
 * Checked here against properties any uniform [-0.5, 0.5) source must have: range and
 * 24-bit grid, mean 0 and variance 1/12, a flat histogram (chi-square), no correlation
 * between neighbouring indices, rows of a matrix, streams or keys, balanced bits;
 * and the counter-based contract: a value depends only on (key, stream, index), not
 * on how a range was split into calls (vector body, scalar tail, 2^32 boundary). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/prng.h"

#define N_SAMPLES (1u << 22)

static float *draw(uint64_t key, uint32_t stream, uint64_t first, size_t n) {
    float *u = malloc(n * sizeof *u);
    assert_non_null(u);
    swan_prng_uniform_centered(key, stream, first, u, n);
    return u;
}

/* Pearson correlation of a[i] and b[i]. */
static double correlation(const float *a, const float *b, size_t n) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (size_t i = 0; i < n; i++) {
        sa += a[i];
        sb += b[i];
        saa += (double)a[i] * a[i];
        sbb += (double)b[i] * b[i];
        sab += (double)a[i] * b[i];
    }
    double ma = sa / n, mb = sb / n;
    return (sab / n - ma * mb) / sqrt((saa / n - ma * ma) * (sbb / n - mb * mb));
}

static void test_range_and_moments(void **state) {
    (void)state;
    float *u = draw(0x1234, SWAN_STREAM_NOISE, 0, N_SAMPLES);
    double s1 = 0, s2 = 0, s4 = 0;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        float v = u[i];
        assert_true(v >= -0.5f && v < 0.5f);
        /* 24 random bits: v + 0.5 is a multiple of 2^-24 */
        double g = ((double)v + 0.5) * 16777216.0;
        assert_true(g == floor(g));
        s1 += v;
        s2 += (double)v * v;
        s4 += (double)v * v * v * v;
    }
    double n = N_SAMPLES, mean = s1 / n, var = s2 / n - mean * mean;
    /* sd of the mean is sqrt(1/12/n) ~ 1.4e-4; of the variance ~ 4.4e-5 */
    if (fabs(mean) > 8e-4) fail_msg("mean %.6g", mean);
    if (fabs(var - 1.0 / 12.0) > 3e-4) fail_msg("variance %.6g, want %.6g", var, 1.0 / 12.0);
    if (fabs(s4 / n - 1.0 / 80.0) > 2e-4) fail_msg("4th moment %.6g, want 0.0125", s4 / n);
    free(u);
}

static void test_histogram_chi_square(void **state) {
    (void)state;
    enum { BINS = 256 };
    float *u = draw(99, SWAN_STREAM_NOISE, 1000003, N_SAMPLES);
    double count[BINS] = {0};
    for (size_t i = 0; i < N_SAMPLES; i++) count[(int)(((double)u[i] + 0.5) * BINS)] += 1;
    double expect = (double)N_SAMPLES / BINS, chi2 = 0;
    for (int b = 0; b < BINS; b++) chi2 += (count[b] - expect) * (count[b] - expect) / expect;
    /* 255 degrees of freedom: mean 255, sd 22.6; 400 is beyond 6 sd */
    if (chi2 > 400.0) fail_msg("chi-square %.1f over %d bins", chi2, BINS);
    /* the low bits matter too (they are the last 8 of the 24): bins of v mod 2^-16 */
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < N_SAMPLES; i++) {
        uint32_t g = (uint32_t)(((double)u[i] + 0.5) * 16777216.0);
        count[g & (BINS - 1)] += 1;
    }
    chi2 = 0;
    for (int b = 0; b < BINS; b++) chi2 += (count[b] - expect) * (count[b] - expect) / expect;
    if (chi2 > 400.0) fail_msg("low-bit chi-square %.1f", chi2);
    free(u);
}

static void test_no_correlations(void **state) {
    (void)state;
    size_t n = N_SAMPLES / 2;
    float *u = draw(7, SWAN_STREAM_NOISE, 0, n + 4096);
    /* 4 sd of a correlation estimate over n pairs: 4 / sqrt(n) ~ 0.004 */
    double lim = 4.0 / sqrt((double)n);
    size_t lags[] = {1, 2, 3, 7, 8, 16, 1024, 4096}; /* 8: the vector width */
    for (size_t l = 0; l < sizeof lags / sizeof lags[0]; l++) {
        double r = correlation(u, u + lags[l], n);
        if (fabs(r) > lim) fail_msg("lag %zu correlation %.5f (limit %.5f)", lags[l], r, lim);
    }
    /* neighbours' products: a pairwise test blind to linear correlation */
    double s = 0;
    for (size_t i = 0; i + 2 < n; i++) s += (double)u[i] * u[i + 1] * u[i + 2];
    if (fabs(s / n) > 4.0 * sqrt(1.0 / 1728.0 / n)) fail_msg("triple product mean %.3g", s / n);
    /* other streams, keys and a far-away index range */
    float *v = draw(7, SWAN_STREAM_PROBE, 0, n), *w = draw(8, SWAN_STREAM_NOISE, 0, n),
          *z = draw(7, SWAN_STREAM_NOISE, (uint64_t)5 << 32, n);
    if (fabs(correlation(u, v, n)) > lim) fail_msg("streams correlate");
    if (fabs(correlation(u, w, n)) > lim) fail_msg("keys 7 and 8 correlate");
    if (fabs(correlation(u, z, n)) > lim) fail_msg("index ranges 2^32*5 apart correlate");
    free(u);
    free(v);
    free(w);
    free(z);
}

static void test_bit_balance(void **state) {
    (void)state;
    float *u = draw(2024, SWAN_STREAM_NOISE, 12345, N_SAMPLES);
    double ones[24] = {0};
    for (size_t i = 0; i < N_SAMPLES; i++) {
        uint32_t g = (uint32_t)(((double)u[i] + 0.5) * 16777216.0);
        for (int b = 0; b < 24; b++) ones[b] += (g >> b) & 1u;
    }
    double sd = sqrt(N_SAMPLES * 0.25);
    for (int b = 0; b < 24; b++)
        if (fabs(ones[b] - N_SAMPLES / 2.0) > 6 * sd) fail_msg("bit %d set %.0f times", b, ones[b]);
    free(u);
}

/* Counter-based: any split of an index range into calls gives the same values, also
 * across the 2^32 boundary where the per-range key words change. */
static void test_split_invariance(void **state) {
    (void)state;
    uint64_t first = ((uint64_t)1 << 32) - 77;
    size_t n = 301;
    float *all = draw(31, SWAN_STREAM_NOISE, first, n);
    float one;
    for (size_t i = 0; i < n; i++) {
        swan_prng_uniform_centered(31, SWAN_STREAM_NOISE, first + i, &one, 1);
        assert_true(one == all[i]);
    }
    size_t cuts[] = {0, 3, 8, 11, 77, 78, 200, 301};
    for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++) {
        float *part = draw(31, SWAN_STREAM_NOISE, first + cuts[c], cuts[c + 1] - cuts[c]);
        assert_memory_equal(part, all + cuts[c], (cuts[c + 1] - cuts[c]) * sizeof *part);
        free(part);
    }
    free(all);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_and_moments),
        cmocka_unit_test(test_histogram_chi_square),
        cmocka_unit_test(test_no_correlations),
        cmocka_unit_test(test_bit_balance),
        cmocka_unit_test(test_split_invariance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
