/* fp8.c: exact FP8 decode and the BF16-upcast dequantization (see fp8.h).
 *
 * Decoding is table-free bit manipulation like the F16 decode in dtype.c: a normal
 * FP8 value re-biases its exponent into a float32, a subnormal one is its mantissa
 * times a power of two (exact in float32). The unit test checks all 256 patterns of
 * each format against an independent definition. */
#include "common/formats/fp8.h"

#include <float.h>
#include <string.h>

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "the FP8 dequantization needs float * float evaluated in float32 (FLT_EVAL_METHOD 0)"
#endif

static inline float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float swan_fp8_e4m3_to_f32(uint8_t b) {
    uint32_t s = (uint32_t)(b >> 7) << 31, e = (b >> 3) & 0xfu, m = b & 0x7u;
    if (e == 0xf && m == 0x7) return bits_to_float(s | 0x7fc00000u);
    if (e == 0) {
        float mag = (float)m * 0x1p-9f; /* m/8 * 2^(1-7) */
        return s ? -mag : mag;
    }
    return bits_to_float(s | ((e + 120u) << 23) | (m << 20));
}

float swan_fp8_e5m2_to_f32(uint8_t b) {
    uint32_t s = (uint32_t)(b >> 7) << 31, e = (b >> 2) & 0x1fu, m = b & 0x3u;
    if (e == 0x1f) return bits_to_float(s | (m ? 0x7fc00000u : 0x7f800000u));
    if (e == 0) {
        float mag = (float)m * 0x1p-16f; /* m/4 * 2^(1-15) */
        return s ? -mag : mag;
    }
    return bits_to_float(s | ((e + 112u) << 23) | (m << 21));
}

uint16_t swan_f32_to_bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu))
        return (uint16_t)((u >> 16) | 0x0040u); /* NaN: keep it a NaN after truncation */
    /* Adding 0x7fff plus the lowest kept bit rounds half to even; a carry runs into
     * the exponent, up to infinity, exactly as IEEE rounding does. */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

void swan_fp8_dequant(swan_dtype dt, const uint8_t *src, size_t n, float scale, float *dst) {
    if (dt == SWAN_DT_F8_E4M3) {
        for (size_t i = 0; i < n; i++)
            dst[i] = bits_to_float((uint32_t)swan_f32_to_bf16_rne(swan_fp8_e4m3_to_f32(src[i]) * scale) << 16);
    } else if (dt == SWAN_DT_F8_E5M2) {
        for (size_t i = 0; i < n; i++)
            dst[i] = bits_to_float((uint32_t)swan_f32_to_bf16_rne(swan_fp8_e5m2_to_f32(src[i]) * scale) << 16);
    } else {
        memset(dst, 0, n * sizeof *dst);
    }
}
