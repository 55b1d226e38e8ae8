/* dtype.h: stored element types and their exact conversion to float32.
 *
 * The checkpoint layer uses the names and sizes to validate headers; the worker's
 * tensor reader converts each row block to float32 with swan_convert_to_f32 just
 * before the metric kernels see it (a whole tensor is never held in float32).
 * Besides the safetensors dtypes the table holds GGML's block-quantized types (GGUF
 * input): they are recorded and kept as stored, never converted. FP8 decoding
 * (with its block scales) lives in common/formats/fp8.c. */
#ifndef SWAN_DTYPE_H
#define SWAN_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum swan_dtype {
    SWAN_DT_INVALID = 0,
    SWAN_DT_F64, SWAN_DT_F32, SWAN_DT_F16, SWAN_DT_BF16,
    SWAN_DT_F8_E4M3, SWAN_DT_F8_E5M2,
    SWAN_DT_I64, SWAN_DT_I32, SWAN_DT_I16, SWAN_DT_I8,
    SWAN_DT_U64, SWAN_DT_U32, SWAN_DT_U16, SWAN_DT_U8,
    SWAN_DT_BOOL,
    /* GGML block-quantized types (GGUF only; never a safetensors dtype). */
    SWAN_DT_Q4_0, SWAN_DT_Q4_1, SWAN_DT_Q5_0, SWAN_DT_Q5_1, SWAN_DT_Q8_0, SWAN_DT_Q8_1,
    SWAN_DT_Q2_K, SWAN_DT_Q3_K, SWAN_DT_Q4_K, SWAN_DT_Q5_K, SWAN_DT_Q6_K, SWAN_DT_Q8_K,
    SWAN_DT_IQ2_XXS, SWAN_DT_IQ2_XS, SWAN_DT_IQ3_XXS, SWAN_DT_IQ1_S, SWAN_DT_IQ4_NL,
    SWAN_DT_IQ3_S, SWAN_DT_IQ2_S, SWAN_DT_IQ4_XS, SWAN_DT_IQ1_M, SWAN_DT_TQ1_0,
    SWAN_DT_TQ2_0, SWAN_DT_MXFP4,
    SWAN_DT_COUNT
} swan_dtype;

/* "BF16" -> SWAN_DT_BF16; SWAN_DT_INVALID for a name safetensors does not define
 * (GGML's "Q4_K" is not a safetensors dtype: swan_dtype_from_any_name finds it). */
swan_dtype swan_dtype_from_name(const char *name);
swan_dtype swan_dtype_from_any_name(const char *name); /* safetensors or GGML name */
const char *swan_dtype_name(swan_dtype dt);       /* "BF16", "Q4_K"; "?" for invalid */
size_t swan_dtype_size(swan_dtype dt);            /* bytes per element; 0 for invalid
                                                     and for block-quantized types */
/* Elements per block and bytes per block: 1 and swan_dtype_size for element types,
 * e.g. 256 and 144 for Q4_K; 0 for invalid. */
uint32_t swan_dtype_block_elems(swan_dtype dt);
uint32_t swan_dtype_block_bytes(swan_dtype dt);
bool swan_dtype_is_analyzed(swan_dtype dt);       /* F64, F32, F16, BF16 */
bool swan_dtype_is_fp8(swan_dtype dt);            /* F8_E4M3, F8_E5M2 */
bool swan_dtype_is_block_quantized(swan_dtype dt); /* GGML Q4_0 ... MXFP4 */

float swan_bf16_to_f32(uint16_t bits);            /* exact */
float swan_f16_to_f32(uint16_t bits);             /* exact, incl. subnormals, inf, NaN */

/* Converts n little-endian elements of an analyzed dtype at src (any alignment)
 * to float32. F64 is rounded to nearest float. */
void swan_convert_to_f32(swan_dtype dt, const void *src, float *dst, size_t n);

#endif
