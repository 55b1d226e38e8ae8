/* test_kernels_mlx_affine.c: MLX affine quantization (SWAN-METRICS.md sections 7, 8)
 * against a straightforward re-implementation written here from the spec and from
 * mlx/backend/cpu/quantized.cpp (`quantize<T, U>`), independent of common/mlx_affine.c:
 *   - the scale/bias rule and the quantized values of single groups (exactly equal),
 *     including a constant group, an all-zero group and groups where q0 == 0;
 *   - rounding of scale and bias to BF16 / F16 (here by comparing the two nearest
 *     representable neighbours in double, not by bit tricks);
 *   - per-group squared error, and the NRMSE table of whole matrices through the fused
 *     sweep (both the AVX2 and the portable path) and through swan_metrics_compute
 *     (row blocks and column panels, several tiles), for all widths and group sizes;
 *   - packing of all six widths as one little-endian bit stream (section 8). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/dtype.h"
#include "common/mlx_affine.h"
#include "common/prng.h"
#include "worker/metrics.h"

/* ---- the reference ---- */

static float f32_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t u32_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Nearest of two neighbours a <= x <= b, ties to the one whose code is even. */
static float pick(double x, float a, uint32_t ca, float b, uint32_t cb) {
    double da = fabs(x - (double)a), db = fabs((double)b - x);
    if (da < db) return a;
    if (db < da) return b;
    return (ca & 1u) == 0 ? a : b;
}

static float ref_bf16(float x) {
    uint32_t u = u32_of(x);
    uint32_t t = u & 0xffff0000u; /* toward zero */
    if (u == t) return x;
    float a = f32_of(t), b = f32_of(t + 0x10000u); /* b: next away from zero */
    if (x < 0) { /* order a <= x <= b for pick */
        float lo = b, hi = a;
        return pick(x, lo, (t + 0x10000u) >> 16, hi, t >> 16);
    }
    return pick(x, a, t >> 16, b, (t + 0x10000u) >> 16);
}

/* All finite halves in increasing magnitude: code c -> value; nearest by search. */
static double half_value(uint32_t c) {
    uint32_t e = (c >> 10) & 31u, m = c & 1023u;
    if (e == 0) return ldexp((double)m, -24);
    return ldexp(1.0 + m / 1024.0, (int)e - 15);
}
static float ref_f16(float x) {
    double ax = fabs((double)x);
    if (ax >= 65520.0) return x < 0 ? -INFINITY : INFINITY;
    uint32_t lo = 0, hi = 0x7bffu; /* largest code with value <= ax */
    while (lo < hi) {
        uint32_t mid = (lo + hi + 1) / 2;
        if (half_value(mid) <= ax) lo = mid; else hi = mid - 1;
    }
    double a = half_value(lo);
    if (a == ax) return x;
    double b = half_value(lo + 1);
    double r = (ax - a < b - ax) ? a : (b - ax < ax - a) ? b : ((lo & 1u) == 0 ? a : b);
    return (float)(x < 0 ? -r : r);
}

static float ref_round(swan_dtype dt, float x) {
    return dt == SWAN_DT_BF16 ? ref_bf16(x) : dt == SWAN_DT_F16 ? ref_f16(x) : x;
}

typedef struct ref_group {
    float scale, bias;
    unsigned q[128];
    double err2;
} ref_group;

/* MLX's CPU quantize<T,U> for one group, written out as plainly as possible. */
static void ref_quantize(const float *w, int g, int bits, swan_dtype dt, ref_group *r) {
    float n_bins = (float)((1 << bits) - 1), eps = 1e-7f;
    float w_min = INFINITY, w_max = -INFINITY;
    for (int j = 0; j < g; j++) {
        if (w_max < w[j]) w_max = w[j];
        if (w[j] < w_min) w_min = w[j];
    }
    int mask = fabsf(w_min) > fabsf(w_max);
    float scale = (w_max - w_min) / n_bins;
    if (scale < eps) scale = eps;
    if (!mask) scale = -scale;
    float edge = mask ? w_min : w_max;
    float q0 = nearbyintf(edge / scale);
    float bias = 0;
    if (q0 != 0) {
        scale = edge / q0;
        bias = edge;
    }
    r->scale = scale;
    r->bias = bias;
    float s = ref_round(dt, scale), b = ref_round(dt, bias);
    r->err2 = 0;
    for (int j = 0; j < g; j++) {
        float v = nearbyintf((w[j] - bias) / scale);
        if (v < 0) v = 0;
        if (v > n_bins) v = n_bins;
        r->q[j] = (unsigned)v;
        double d = (double)(v * s + b) - (double)w[j];
        r->err2 += d * d;
    }
}

/* NRMSE table of a rows x cols matrix, group by group through ref_quantize. */
static void ref_table(const float *w, size_t rows, size_t cols, swan_dtype dt,
                      double out[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS]) {
    double w2 = 0;
    for (size_t i = 0; i < rows * cols; i++) w2 += (double)w[i] * w[i];
    for (int bi = 0; bi < SWAN_MLX_NBITS; bi++)
        for (int gi = 0; gi < SWAN_MLX_NGROUPS; gi++) {
            int g = swan_mlx_groups[gi];
            if (cols % (size_t)g) {
                out[bi][gi] = -1;
                continue;
            }
            double e2 = 0;
            ref_group r;
            for (size_t i = 0; i < rows * cols; i += (size_t)g) {
                ref_quantize(w + i, g, swan_mlx_bits[bi], dt, &r);
                e2 += r.err2;
            }
            out[bi][gi] = sqrt(w2) < 1e-12 ? 0 : sqrt(e2) / sqrt(w2);
        }
}

/* ---- helpers ---- */

static float to_dtype(swan_dtype dt, float x) { return ref_round(dt, x); }

/* Random weights representable in dt: gaussian, with some rows scaled, shifted, made
 * constant or zero, so every branch of the rule is hit. */
static float *make_matrix(size_t rows, size_t cols, swan_dtype dt, uint64_t seed) {
    float *w = malloc(rows * cols * sizeof *w);
    double *tmp = malloc(rows * cols * sizeof *tmp);
    assert_non_null(w);
    assert_non_null(tmp);
    swan_prng_normal(seed, 3, 0, tmp, rows * cols);
    for (size_t r = 0; r < rows; r++) {
        double scale = 0.02, shift = 0;
        switch (r % 7) {
        case 1: scale = 3.0; break;
        case 2: shift = 0.5; break;             /* all positive: edge = hi */
        case 3: shift = -0.5; break;            /* all negative: edge = lo */
        case 4: scale = 1e-9; break;            /* range below eps: q0 == 0 */
        default: break;
        }
        for (size_t c = 0; c < cols; c++) {
            double v = tmp[r * cols + c] * scale + shift;
            if (r % 7 == 5) v = 0.25;           /* constant row */
            if (r % 7 == 6 && c < 64) v = 0.0;  /* all-zero groups */
            w[r * cols + c] = to_dtype(dt, (float)v);
        }
    }
    free(tmp);
    return w;
}

static void assert_rel(double got, double want, double tol, const char *what) {
    double scale = fabs(want) > 1e-30 ? fabs(want) : 1.0;
    if (fabs(got - want) > tol * scale) fail_msg("%s: got %.12g want %.12g", what, got, want);
}

static const swan_dtype DTYPES[] = {SWAN_DT_BF16, SWAN_DT_F16, SWAN_DT_F32};

/* ---- tests ---- */

static void test_round_to_dtype(void **state) {
    (void)state;
    uint64_t x = 12345;
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t u = (uint32_t)(x >> 32);
        /* magnitudes across the F16 range incl. subnormals, plus exact ties */
        float f = f32_of((u & 0x80000000u) | (0x33000000u + (u % 0x14800000u)));
        if (i % 5 == 0) f = f32_of((u32_of(f) & 0xffff8000u) | 0x8000u);
        if (!isfinite(f)) continue;
        float a = swan_mlx_round_to_dtype(SWAN_DT_BF16, f), b = ref_bf16(f);
        if (u32_of(a) != u32_of(b)) fail_msg("bf16(%a): %a vs %a", f, a, b);
        a = swan_mlx_round_to_dtype(SWAN_DT_F16, f);
        b = ref_f16(f);
        if (u32_of(a) != u32_of(b)) fail_msg("f16(%a): %a vs %a", f, a, b);
    }
    assert_true(swan_mlx_round_to_dtype(SWAN_DT_F16, 70000.0f) == INFINITY);
    assert_true(swan_mlx_round_to_dtype(SWAN_DT_F32, 0.1f) == 0.1f);
}

static void check_group(const float *w, int g, swan_dtype dt) {
    for (int bi = 0; bi < SWAN_MLX_NBITS; bi++) {
        int bits = swan_mlx_bits[bi];
        ref_group r;
        ref_quantize(w, g, bits, dt, &r);
        uint8_t q[128];
        float s, b;
        swan_mlx_quantize_group(w, g, bits, q, &s, &b);
        if (u32_of(s) != u32_of(r.scale) || u32_of(b) != u32_of(r.bias))
            fail_msg("bits %d g %d: scale/bias %a %a vs %a %a", bits, g, s, b, r.scale, r.bias);
        for (int k = 0; k < g; k++)
            if (q[k] != r.q[k]) fail_msg("bits %d g %d value %d: q %u vs %u", bits, g, k, q[k], r.q[k]);
        assert_rel(swan_mlx_group_err2(w, g, bits, dt), r.err2, 1e-12, "group err2");
    }
}

static void test_groups_exact(void **state) {
    (void)state;
    for (size_t d = 0; d < 3; d++) {
        float *w = make_matrix(14, 128, DTYPES[d], 100 + d);
        for (size_t r = 0; r < 14; r++)
            for (int gi = 0; gi < SWAN_MLX_NGROUPS; gi++)
                for (int k = 0; k < 128; k += swan_mlx_groups[gi])
                    check_group(w + r * 128 + k, swan_mlx_groups[gi], DTYPES[d]);
        free(w);
    }
}

/* Values whose (w - bias) / scale fall exactly halfway between integers (at 4 bits:
 * lo 0, hi 15 give scale -1, bias 15): rounding must be half to even, lane for lane,
 * as rintf does, in the 4-lane quantizer. */
static void test_round_half_even(void **state) {
    (void)state;
    float w[128];
    for (int g = 32; g <= 128; g *= 2) {
        for (int k = 0; k < g; k++) w[k] = (float)(k % 15) + 0.5f;
        w[0] = 0.0f;
        w[g - 1] = 15.0f;
        check_group(w, g, SWAN_DT_BF16);
        for (int k = 0; k < g; k++) w[k] = -w[k]; /* the other edge */
        check_group(w, g, SWAN_DT_F16);
    }
}

static void test_edge_cases(void **state) {
    (void)state;
    float w[32];
    float s, b;
    uint8_t q[32];
    /* all zero: scale -eps, bias 0, every q 0, no error */
    memset(w, 0, sizeof w);
    swan_mlx_quantize_group(w, 32, 4, q, &s, &b);
    assert_true(s == -1e-7f);
    assert_true(b == 0.0f);
    for (int k = 0; k < 32; k++) assert_int_equal(q[k], 0);
    assert_true(swan_mlx_group_err2(w, 32, 4, SWAN_DT_BF16) == 0.0);
    /* constant 0.25: edge = hi = 0.25 exact, q = 0 */
    for (int k = 0; k < 32; k++) w[k] = 0.25f;
    swan_mlx_quantize_group(w, 32, 3, q, &s, &b);
    assert_true(b == 0.25f);
    assert_true(swan_mlx_group_err2(w, 32, 3, SWAN_DT_BF16) == 0.0);
    check_group(w, 32, SWAN_DT_F16);
    /* q0 == 0: range and magnitudes below eps/2 -> bias 0, scale stays -+eps */
    for (int k = 0; k < 32; k++) w[k] = (float)(k - 16) * 1e-9f;
    swan_mlx_quantize_group(w, 32, 8, q, &s, &b);
    assert_true(b == 0.0f);
    assert_true(fabsf(s) == 1e-7f);
    check_group(w, 32, SWAN_DT_BF16);
    /* |lo| > |hi|: edge is lo, exact after dequantization with float scale/bias */
    for (int k = 0; k < 32; k++) w[k] = (float)k / 31.0f - 0.9f;
    swan_mlx_quantize_group(w, 32, 2, q, &s, &b);
    assert_true(b == w[0]);
    assert_int_equal(q[0], 0);
    check_group(w, 32, SWAN_DT_F32);
}

static void check_table(const double got[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS],
                        const double want[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS], const char *what) {
    char buf[96];
    for (int bi = 0; bi < SWAN_MLX_NBITS; bi++)
        for (int gi = 0; gi < SWAN_MLX_NGROUPS; gi++) {
            snprintf(buf, sizeof buf, "%s bits %d group %d", what, swan_mlx_bits[bi], swan_mlx_groups[gi]);
            if (want[bi][gi] < 0) {
                if (got[bi][gi] != -1.0) fail_msg("%s: want -1, got %g", buf, got[bi][gi]);
                continue;
            }
            /* float lanes and FMA vs double sums */
            assert_rel(got[bi][gi], want[bi][gi], 1e-5, buf);
        }
}

static void test_tables(void **state) {
    (void)state;
    const size_t shapes[][2] = {{21, 384}, {14, 96}, {9, 192}, {7, 1280}, {5, 100}, {70, 64}};
    for (size_t d = 0; d < 3; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            size_t rows = shapes[s][0], cols = shapes[s][1];
            float *w = make_matrix(rows, cols, DTYPES[d], 7 * s + d);
            double want[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS], got[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS];
            ref_table(w, rows, cols, DTYPES[d], want);
            for (int portable = 0; portable < 2; portable++) {
                swan_mlx_err e;
                swan_mlx_err_init(&e, cols, DTYPES[d]);
                e.portable = portable;
                /* two tiles of rows, as the metric pass feeds them */
                swan_mlx_err_add_tile(&e, w, rows / 2, cols);
                swan_mlx_err_add_tile(&e, w + rows / 2 * cols, rows - rows / 2, cols);
                swan_mlx_err_nrmse(&e, got);
                check_table(got, want, portable ? "portable" : "native");
            }
            /* the fused metric pass: tiny tiles force several row blocks / panels */
            swan_tile_reader rd;
            swan_tile_reader_from_array(&rd, w, rows, cols);
            swan_metrics_opts o;
            swan_metrics_default_opts(&o);
            o.dtype = DTYPES[d];
            o.max_block_bytes = 4096;
            swan_raw_metrics m;
            swan_error err = {{0}};
            if (swan_metrics_compute(&rd, &o, &m, &err) != 0) fail_msg("%s", err.msg);
            check_table(m.mlx_nrmse, want, "metrics pass");
            /* transposed shape: rows < cols -> column panels */
            float *wt = make_matrix(cols, rows, DTYPES[d], 99 + s);
            if (rows % 32 == 0 || 1) {
                ref_table(wt, cols, rows, DTYPES[d], want);
                swan_tile_reader_from_array(&rd, wt, cols, rows);
                if (swan_metrics_compute(&rd, &o, &m, &err) != 0) fail_msg("%s", err.msg);
                check_table(m.mlx_nrmse, want, "metrics pass (panels)");
            }
            free(wt);
            free(w);
        }
}

static void test_panels_wide(void **state) {
    (void)state;
    /* 8 x 1280: column panels of 128 columns at 4 KiB tiles */
    float *w = make_matrix(8, 1280, SWAN_DT_BF16, 5);
    double want[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS];
    ref_table(w, 8, 1280, SWAN_DT_BF16, want);
    swan_tile_reader rd;
    swan_tile_reader_from_array(&rd, w, 8, 1280);
    swan_metrics_opts o;
    swan_metrics_default_opts(&o);
    o.dtype = SWAN_DT_BF16;
    o.max_block_bytes = 4096;
    swan_raw_metrics m;
    swan_error err = {{0}};
    if (swan_metrics_compute(&rd, &o, &m, &err) != 0) fail_msg("%s", err.msg);
    check_table(m.mlx_nrmse, want, "wide panels");
    free(w);
}

static void test_nonfinite_not_applicable(void **state) {
    (void)state;
    float *w = make_matrix(4, 256, SWAN_DT_F32, 1);
    w[17] = NAN;
    swan_tile_reader rd;
    swan_tile_reader_from_array(&rd, w, 4, 256);
    swan_metrics_opts o;
    swan_metrics_default_opts(&o);
    swan_raw_metrics m;
    swan_error err = {{0}};
    assert_int_equal(swan_metrics_compute(&rd, &o, &m, &err), 0);
    for (int bi = 0; bi < SWAN_MLX_NBITS; bi++)
        for (int gi = 0; gi < SWAN_MLX_NGROUPS; gi++) assert_true(m.mlx_nrmse[bi][gi] == -1.0);
    free(w);
}

/* Section 8 packing is a little-endian bit stream: value k at bits [k b, (k+1) b). */
static void test_pack_bitstream(void **state) {
    (void)state;
    uint8_t q[256], got[256], want[256];
    uint64_t x = 77;
    for (int bi = 0; bi < SWAN_MLX_NBITS; bi++) {
        int bits = swan_mlx_bits[bi];
        for (int k = 0; k < 256; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            q[k] = (uint8_t)((x >> 33) & ((1u << bits) - 1));
        }
        memset(want, 0, sizeof want);
        for (int k = 0; k < 256; k++)
            for (int t = 0; t < bits; t++) {
                size_t pos = (size_t)k * (size_t)bits + (size_t)t;
                if (q[k] >> t & 1) want[pos / 8] |= (uint8_t)(1u << (pos % 8));
            }
        memset(got, 0xaa, sizeof got);
        swan_mlx_pack(q, 256, bits, got);
        assert_memory_equal(got, want, 256 * (size_t)bits / 8);
        assert_int_equal(got[256 * bits / 8 - (bits == 8 ? 1 : 0)] , bits == 8 ? want[255] : 0xaa);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_to_dtype),
        cmocka_unit_test(test_groups_exact),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_panels_wide),
        cmocka_unit_test(test_nonfinite_not_applicable),
        cmocka_unit_test(test_pack_bitstream),
        cmocka_unit_test(test_round_half_even),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
