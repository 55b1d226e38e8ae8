/* test_common_dtype.c: dtype table and the exact BF16/F16 -> float32 conversions,
 * checked on all 65536 bit patterns against independent definitions:
 *   BF16: the upper half of an IEEE single, so value == the float with bits << 16;
 *   F16:  (-1)^s * 2^(e-15) * (1 + m/1024) for normals, 2^-14 * m/1024 for subnormals,
 *         computed here in double with ldexp (not by bit surgery, as dtype.c does). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/dtype.h"

static float float_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void test_bf16_all_patterns(void **state) {
    (void)state;
    for (uint32_t b = 0; b < 65536; b++) {
        float want = float_from_bits(b << 16);
        float got = swan_bf16_to_f32((uint16_t)b);
        uint32_t gb, wb;
        memcpy(&gb, &got, 4);
        memcpy(&wb, &want, 4);
        if (isnan(want)) {
            if (!isnan(got)) fail_msg("BF16 0x%04x: NaN became %g", b, got);
        } else if (gb != wb) {
            fail_msg("BF16 0x%04x: got %a, want %a", b, got, want);
        }
    }
}

static double f16_reference(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double sign = s ? -1.0 : 1.0;
    if (e == 31) return m ? NAN : sign * INFINITY;
    if (e == 0) return sign * ldexp((double)m / 1024.0, -14);
    return sign * ldexp(1.0 + (double)m / 1024.0, e - 15);
}

static void test_f16_all_patterns(void **state) {
    (void)state;
    for (uint32_t b = 0; b < 65536; b++) {
        double want = f16_reference((uint16_t)b);
        float got = swan_f16_to_f32((uint16_t)b);
        if (isnan(want)) {
            if (!isnan(got)) fail_msg("F16 0x%04x: NaN became %g", b, got);
            continue;
        }
        /* every half is exactly representable in float: demand equality, and the
         * sign of zero */
        if ((double)got != want || !signbit(got) != !signbit(want))
            fail_msg("F16 0x%04x: got %a, want %a", b, (double)got, want);
    }
}

/* The bulk converter must agree with the scalar ones, at any alignment. */
static void test_bulk_conversion(void **state) {
    (void)state;
    static unsigned char buf[2 * 65536 + 1];
    static float out[65536];
    for (uint32_t b = 0; b < 65536; b++) {
        buf[1 + 2 * b] = (unsigned char)(b & 0xff); /* little-endian, odd offset */
        buf[2 + 2 * b] = (unsigned char)(b >> 8);
    }
    swan_convert_to_f32(SWAN_DT_BF16, buf + 1, out, 65536);
    for (uint32_t b = 0; b < 65536; b++) {
        float want = swan_bf16_to_f32((uint16_t)b);
        if (memcmp(&out[b], &want, 4) != 0 && !(isnan(out[b]) && isnan(want)))
            fail_msg("bulk BF16 0x%04x", b);
    }
    swan_convert_to_f32(SWAN_DT_F16, buf + 1, out, 65536);
    for (uint32_t b = 0; b < 65536; b++) {
        float want = swan_f16_to_f32((uint16_t)b);
        if (memcmp(&out[b], &want, 4) != 0 && !(isnan(out[b]) && isnan(want)))
            fail_msg("bulk F16 0x%04x", b);
    }
    double d[3] = {1.0 / 3.0, -1e300, 5e-324};
    float f[3];
    swan_convert_to_f32(SWAN_DT_F64, d, f, 3);
    assert_true(f[0] == (float)(1.0 / 3.0));
    assert_true(isinf(f[1]) && f[1] < 0);
    assert_true(f[2] == 0.0f);
    float src[2] = {1.5f, -2.25f};
    swan_convert_to_f32(SWAN_DT_F32, src, f, 2);
    assert_true(f[0] == 1.5f && f[1] == -2.25f);
}

static void test_dtype_table(void **state) {
    (void)state;
    static const struct { const char *name; size_t size; int analyzed; } want[] = {
        {"F64", 8, 1}, {"F32", 4, 1}, {"F16", 2, 1}, {"BF16", 2, 1}, {"F8_E4M3", 1, 0},
        {"F8_E5M2", 1, 0}, {"I64", 8, 0}, {"I32", 4, 0}, {"I16", 2, 0}, {"I8", 1, 0},
        {"U64", 8, 0}, {"U32", 4, 0}, {"U16", 2, 0}, {"U8", 1, 0}, {"BOOL", 1, 0}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        swan_dtype dt = swan_dtype_from_name(want[i].name);
        assert_int_not_equal(dt, SWAN_DT_INVALID);
        assert_string_equal(swan_dtype_name(dt), want[i].name);
        assert_int_equal(swan_dtype_size(dt), want[i].size);
        assert_int_equal(swan_dtype_is_analyzed(dt), want[i].analyzed);
    }
    const char *bad[] = {"F7", "bf16", "", "F32 ", "FLOAT"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(swan_dtype_from_name(bad[i]), SWAN_DT_INVALID);
    assert_int_equal(swan_dtype_from_name(NULL), SWAN_DT_INVALID);
    assert_int_equal(swan_dtype_size(SWAN_DT_INVALID), 0);

    /* GGML block types (GGUF input): not safetensors names, sized per block. */
    static const struct { const char *name; uint32_t block, bytes; } ggml[] = {
        {"Q4_0", 32, 18}, {"Q8_0", 32, 34}, {"Q4_K", 256, 144}, {"Q6_K", 256, 210},
        {"IQ4_XS", 256, 136}, {"MXFP4", 32, 17}};
    for (size_t i = 0; i < sizeof ggml / sizeof *ggml; i++) {
        assert_int_equal(swan_dtype_from_name(ggml[i].name), SWAN_DT_INVALID);
        swan_dtype dt = swan_dtype_from_any_name(ggml[i].name);
        assert_true(swan_dtype_is_block_quantized(dt));
        assert_false(swan_dtype_is_analyzed(dt));
        assert_int_equal(swan_dtype_block_elems(dt), ggml[i].block);
        assert_int_equal(swan_dtype_block_bytes(dt), ggml[i].bytes);
        assert_int_equal(swan_dtype_size(dt), 0);
        assert_string_equal(swan_dtype_name(dt), ggml[i].name);
    }
    assert_int_equal(swan_dtype_block_elems(SWAN_DT_BF16), 1);
    assert_int_equal(swan_dtype_block_bytes(SWAN_DT_BF16), 2);
    assert_true(swan_dtype_is_fp8(SWAN_DT_F8_E4M3) && swan_dtype_is_fp8(SWAN_DT_F8_E5M2));
    assert_false(swan_dtype_is_fp8(SWAN_DT_BF16) || swan_dtype_is_block_quantized(SWAN_DT_F8_E4M3));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_all_patterns),
        cmocka_unit_test(test_f16_all_patterns),
        cmocka_unit_test(test_bulk_conversion),
        cmocka_unit_test(test_dtype_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
