/* dtype.c: safetensors element types; exact BF16/F16 -> float32 conversion.
 *
 * Conversions are table-free bit manipulation, so they vectorize and need no
 * initialization. Safetensors data is little-endian; so are all hosts we target
 * (x86-64, arm64), which the static check below makes explicit. */
#include "common/dtype.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "swan reads little-endian safetensors data in place and needs a little-endian host"
#endif

static const struct {
    const char *name;
    swan_dtype dt;
    size_t size;
} dtype_table[] = {
    {"F64", SWAN_DT_F64, 8},          {"F32", SWAN_DT_F32, 4},
    {"F16", SWAN_DT_F16, 2},          {"BF16", SWAN_DT_BF16, 2},
    {"F8_E4M3", SWAN_DT_F8_E4M3, 1},  {"F8_E5M2", SWAN_DT_F8_E5M2, 1},
    {"I64", SWAN_DT_I64, 8},          {"I32", SWAN_DT_I32, 4},
    {"I16", SWAN_DT_I16, 2},          {"I8", SWAN_DT_I8, 1},
    {"U64", SWAN_DT_U64, 8},          {"U32", SWAN_DT_U32, 4},
    {"U16", SWAN_DT_U16, 2},          {"U8", SWAN_DT_U8, 1},
    {"BOOL", SWAN_DT_BOOL, 1},
};
#define DTYPE_COUNT (sizeof dtype_table / sizeof dtype_table[0])

swan_dtype swan_dtype_from_name(const char *name) {
    if (!name) return SWAN_DT_INVALID;
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (strcmp(dtype_table[i].name, name) == 0) return dtype_table[i].dt;
    return SWAN_DT_INVALID;
}

const char *swan_dtype_name(swan_dtype dt) {
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (dtype_table[i].dt == dt) return dtype_table[i].name;
    return "?";
}

size_t swan_dtype_size(swan_dtype dt) {
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (dtype_table[i].dt == dt) return dtype_table[i].size;
    return 0;
}

bool swan_dtype_is_analyzed(swan_dtype dt) {
    return dt == SWAN_DT_F64 || dt == SWAN_DT_F32 || dt == SWAN_DT_F16 || dt == SWAN_DT_BF16;
}

static inline float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float swan_bf16_to_f32(uint16_t bits) {
    return bits_to_float((uint32_t)bits << 16);
}

/* IEEE half -> single. Normal numbers re-bias the exponent (15 -> 127); subnormal
 * halves are exact float normals, computed as mantissa * 2^-24 (exact in float);
 * inf/NaN keep their payload. */
float swan_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        float mag = (float)man * 0x1p-24f;
        return sign ? -mag : mag;
    }
    return bits_to_float(sign | ((exp + 112u) << 23) | (man << 13));
}

void swan_convert_to_f32(swan_dtype dt, const void *src, float *dst, size_t n) {
    const unsigned char *p = src;
    switch (dt) {
    case SWAN_DT_F32:
        memcpy(dst, p, n * sizeof(float));
        break;
    case SWAN_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t b;
            memcpy(&b, p + 2 * i, 2);
            dst[i] = bits_to_float((uint32_t)b << 16);
        }
        break;
    case SWAN_DT_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t b;
            memcpy(&b, p + 2 * i, 2);
            dst[i] = swan_f16_to_f32(b);
        }
        break;
    case SWAN_DT_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        break;
    default:
        /* Callers only convert analyzed dtypes (swan_dtype_is_analyzed); zero-fill
         * rather than read garbage if that contract is ever broken. */
        memset(dst, 0, n * sizeof(float));
        break;
    }
}
