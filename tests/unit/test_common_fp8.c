/* test_common_fp8.c: FP8 decode and the BF16-upcast rounding (common/formats/fp8.c).
 *
 * Every one of the 256 patterns of E4M3 and E5M2 is checked against an independent
 * definition written from the format's description in double arithmetic (sign,
 * exponent, mantissa, bias; E4M3 "fn": no infinities, S.1111.111 is NaN; E5M2: IEEE
 * infinities and NaNs). The float32 -> BF16 rounding is checked against a definition
 * by distances to the two neighbouring BF16 values, on edge cases and random floats. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/formats/fp8.h"

/* The value of an 8-bit float with `ebits` exponent bits, bias 2^(ebits-1)-1. */
static double reference(uint8_t b, int ebits, int e4m3fn) {
    int mbits = 7 - ebits, bias = (1 << (ebits - 1)) - 1;
    int sign = b >> 7, e = (b >> mbits) & ((1 << ebits) - 1), m = b & ((1 << mbits) - 1);
    double s = sign ? -1.0 : 1.0;
    if (e4m3fn) {
        if (e == 15 && m == 7) return NAN;
    } else if (e == (1 << ebits) - 1) {
        return m ? NAN : s * INFINITY;
    }
    if (e == 0) return s * ((double)m / (1 << mbits)) * pow(2.0, 1 - bias);
    return s * (1.0 + (double)m / (1 << mbits)) * pow(2.0, e - bias);
}

static void check_all(float (*decode)(uint8_t), int ebits, int fn, double max) {
    double seen_max = 0;
    int nans = 0, infs = 0;
    for (int i = 0; i < 256; i++) {
        double want = reference((uint8_t)i, ebits, fn);
        float got = decode((uint8_t)i);
        if (isnan(want)) {
            if (!isnan(got)) fail_msg("pattern 0x%02x: %g, expected NaN", i, (double)got);
            nans++;
            continue;
        }
        if ((double)got != want || !signbit(got) != !signbit(want))
            fail_msg("pattern 0x%02x: %.9g, expected %.9g", i, (double)got, want);
        if (isinf(want)) infs++;
        else if (fabs(want) > seen_max) seen_max = fabs(want);
    }
    assert_true(seen_max == max);
    if (fn) {
        assert_int_equal(nans, 2);
        assert_int_equal(infs, 0);
    } else {
        assert_int_equal(nans, 6);
        assert_int_equal(infs, 2);
    }
}

static void test_e4m3_all_patterns(void **state) {
    (void)state;
    check_all(swan_fp8_e4m3_to_f32, 4, 1, 448.0);
    assert_true(swan_fp8_e4m3_to_f32(0x01) == 0x1p-9f); /* smallest subnormal */
    assert_true(swan_fp8_e4m3_to_f32(0x08) == 0x1p-6f); /* smallest normal */
    assert_true(swan_fp8_e4m3_to_f32(0x38) == 1.0f);
    assert_true(swan_fp8_e4m3_to_f32(0xc0) == -2.0f);
}

static void test_e5m2_all_patterns(void **state) {
    (void)state;
    check_all(swan_fp8_e5m2_to_f32, 5, 0, 57344.0);
    assert_true(swan_fp8_e5m2_to_f32(0x01) == 0x1p-16f);
    assert_true(swan_fp8_e5m2_to_f32(0x3c) == 1.0f);
    assert_true(isinf(swan_fp8_e5m2_to_f32(0xfc)) && swan_fp8_e5m2_to_f32(0xfc) < 0);
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Round to nearest BF16, ties to even, by comparing distances in double. */
static uint16_t bf16_reference(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if (isnan(f)) return 0x7fc0;
    if (isinf(f)) return (uint16_t)(u >> 16);
    uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u; /* same sign, next magnitude */
    /* Above the largest BF16 the next step is 2^128, which rounds to infinity. */
    double hv = isinf(from_bits(hi)) ? copysign(ldexp(1.0, 128), f) : (double)from_bits(hi);
    double dl = fabs((double)f - (double)from_bits(lo)), dh = fabs((double)f - hv);
    if (dl < dh) return (uint16_t)(lo >> 16);
    if (dh < dl) return (uint16_t)(hi >> 16);
    return (uint16_t)(((lo >> 16) & 1) ? hi >> 16 : lo >> 16);
}

static void test_bf16_rounding(void **state) {
    (void)state;
    static const uint32_t edge[] = {
        0x3f800000u, 0x3f808000u, /* 1 + half an ulp: tie, stays (even) */
        0x3f818000u,              /* tie, rounds up to even */
        0x3f808001u, 0x3f807fffu, 0x00000001u, 0x80000001u, 0x00008000u, 0x00018000u,
        0x7f7fffffu,              /* FLT_MAX rounds to infinity */
        0x7f7f7fffu, 0x7f7f8000u, 0xff7fffffu, 0x7f800000u, 0xff800000u, 0x00000000u,
        0x80000000u};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        float f = from_bits(edge[i]);
        uint16_t got = swan_f32_to_bf16_rne(f), want = bf16_reference(f);
        if (got != want) fail_msg("0x%08x -> 0x%04x, expected 0x%04x", edge[i], got, want);
    }
    assert_int_equal(swan_f32_to_bf16_rne(from_bits(0x3f808000u)), 0x3f80);
    assert_int_equal(swan_f32_to_bf16_rne(from_bits(0x3f818000u)), 0x3f82);
    assert_int_equal(swan_f32_to_bf16_rne(from_bits(0x7f7fffffu)), 0x7f80);
    assert_true(isnan(from_bits((uint32_t)swan_f32_to_bf16_rne(from_bits(0x7f800001u)) << 16)));
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 2000000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t u = (uint32_t)x;
        float f = from_bits(u);
        if (isnan(f)) continue;
        uint16_t got = swan_f32_to_bf16_rne(f), want = bf16_reference(f);
        if (got != want) fail_msg("0x%08x -> 0x%04x, expected 0x%04x", u, got, want);
    }
}

/* dequant = bf16(fp8 * scale) for every pattern and a few scales. */
static void test_dequant(void **state) {
    (void)state;
    uint8_t all[256];
    float out[256];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    static const float scales[] = {1.0f, 0.000123456f, 3.14159265f, 1e30f, -0.5f};
    for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
        for (int fmt = 0; fmt < 2; fmt++) {
            swan_dtype dt = fmt ? SWAN_DT_F8_E5M2 : SWAN_DT_F8_E4M3;
            swan_fp8_dequant(dt, all, 256, scales[k], out);
            for (int i = 0; i < 256; i++) {
                double v = reference((uint8_t)i, fmt ? 5 : 4, !fmt);
                float p = (float)(v * (double)scales[k]); /* exact product, one rounding */
                float want = from_bits((uint32_t)bf16_reference(p) << 16);
                if (isnan(want) ? !isnan(out[i]) : memcmp(&want, &out[i], 4) != 0)
                    fail_msg("%s 0x%02x * %g: %.9g, expected %.9g", swan_dtype_name(dt), i,
                             (double)scales[k], (double)out[i], (double)want);
            }
        }
    }
    swan_fp8_dequant(SWAN_DT_BF16, all, 4, 1.0f, out); /* not FP8: zero-filled */
    assert_true(out[0] == 0 && out[3] == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e4m3_all_patterns),
        cmocka_unit_test(test_e5m2_all_patterns),
        cmocka_unit_test(test_bf16_rounding),
        cmocka_unit_test(test_dequant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
