/* dtype.c: stored element types; exact BF16/F16 -> float32 conversion.
 *
 * Conversions are table-free bit manipulation, so they vectorize and need no
 * initialization. Safetensors data is little-endian; so are all hosts we target
 * (x86-64, arm64), which the static check below makes explicit. */
#include "common/dtype.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "swan reads little-endian safetensors data in place and needs a little-endian host"
#endif

/* name, type, bytes per block, elements per block, valid in safetensors. The GGML
 * block layouts are those of ggml's type_traits (ggml.h: GGML_TYPE_*). */
static const struct {
    const char *name;
    swan_dtype dt;
    uint32_t size, block;
    bool safetensors;
} dtype_table[] = {
    {"F64", SWAN_DT_F64, 8, 1, true},          {"F32", SWAN_DT_F32, 4, 1, true},
    {"F16", SWAN_DT_F16, 2, 1, true},          {"BF16", SWAN_DT_BF16, 2, 1, true},
    {"F8_E4M3", SWAN_DT_F8_E4M3, 1, 1, true},  {"F8_E5M2", SWAN_DT_F8_E5M2, 1, 1, true},
    {"I64", SWAN_DT_I64, 8, 1, true},          {"I32", SWAN_DT_I32, 4, 1, true},
    {"I16", SWAN_DT_I16, 2, 1, true},          {"I8", SWAN_DT_I8, 1, 1, true},
    {"U64", SWAN_DT_U64, 8, 1, true},          {"U32", SWAN_DT_U32, 4, 1, true},
    {"U16", SWAN_DT_U16, 2, 1, true},          {"U8", SWAN_DT_U8, 1, 1, true},
    {"BOOL", SWAN_DT_BOOL, 1, 1, true},
    {"Q4_0", SWAN_DT_Q4_0, 18, 32, false},     {"Q4_1", SWAN_DT_Q4_1, 20, 32, false},
    {"Q5_0", SWAN_DT_Q5_0, 22, 32, false},     {"Q5_1", SWAN_DT_Q5_1, 24, 32, false},
    {"Q8_0", SWAN_DT_Q8_0, 34, 32, false},     {"Q8_1", SWAN_DT_Q8_1, 36, 32, false},
    {"Q2_K", SWAN_DT_Q2_K, 84, 256, false},    {"Q3_K", SWAN_DT_Q3_K, 110, 256, false},
    {"Q4_K", SWAN_DT_Q4_K, 144, 256, false},   {"Q5_K", SWAN_DT_Q5_K, 176, 256, false},
    {"Q6_K", SWAN_DT_Q6_K, 210, 256, false},   {"Q8_K", SWAN_DT_Q8_K, 292, 256, false},
    {"IQ2_XXS", SWAN_DT_IQ2_XXS, 66, 256, false}, {"IQ2_XS", SWAN_DT_IQ2_XS, 74, 256, false},
    {"IQ3_XXS", SWAN_DT_IQ3_XXS, 98, 256, false}, {"IQ1_S", SWAN_DT_IQ1_S, 50, 256, false},
    {"IQ4_NL", SWAN_DT_IQ4_NL, 18, 32, false}, {"IQ3_S", SWAN_DT_IQ3_S, 110, 256, false},
    {"IQ2_S", SWAN_DT_IQ2_S, 82, 256, false},  {"IQ4_XS", SWAN_DT_IQ4_XS, 136, 256, false},
    {"IQ1_M", SWAN_DT_IQ1_M, 56, 256, false},  {"TQ1_0", SWAN_DT_TQ1_0, 54, 256, false},
    {"TQ2_0", SWAN_DT_TQ2_0, 66, 256, false},  {"MXFP4", SWAN_DT_MXFP4, 17, 32, false},
};
#define DTYPE_COUNT (sizeof dtype_table / sizeof dtype_table[0])

swan_dtype swan_dtype_from_name(const char *name) {
    if (!name) return SWAN_DT_INVALID;
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (dtype_table[i].safetensors && strcmp(dtype_table[i].name, name) == 0)
            return dtype_table[i].dt;
    return SWAN_DT_INVALID;
}

swan_dtype swan_dtype_from_any_name(const char *name) {
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
        if (dtype_table[i].dt == dt) return dtype_table[i].block == 1 ? dtype_table[i].size : 0;
    return 0;
}

uint32_t swan_dtype_block_elems(swan_dtype dt) {
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (dtype_table[i].dt == dt) return dtype_table[i].block;
    return 0;
}

uint32_t swan_dtype_block_bytes(swan_dtype dt) {
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (dtype_table[i].dt == dt) return dtype_table[i].size;
    return 0;
}

bool swan_dtype_is_fp8(swan_dtype dt) {
    return dt == SWAN_DT_F8_E4M3 || dt == SWAN_DT_F8_E5M2;
}

bool swan_dtype_is_block_quantized(swan_dtype dt) {
    return dt >= SWAN_DT_Q4_0 && dt < SWAN_DT_COUNT;
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
