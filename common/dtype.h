/* dtype.h: safetensors element types and their exact conversion to float32.
 *
 * The checkpoint layer uses the names and sizes to validate headers; the worker's
 * tensor reader converts each row block to float32 with swan_convert_to_f32 just
 * before the metric kernels see it (a whole tensor is never held in float32). */
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
    SWAN_DT_BOOL
} swan_dtype;

/* "BF16" -> SWAN_DT_BF16; SWAN_DT_INVALID for a name safetensors does not define. */
swan_dtype swan_dtype_from_name(const char *name);
const char *swan_dtype_name(swan_dtype dt);       /* "BF16"; "?" for invalid */
size_t swan_dtype_size(swan_dtype dt);            /* bytes per element; 0 for invalid */
bool swan_dtype_is_analyzed(swan_dtype dt);       /* F64, F32, F16, BF16 */

float swan_bf16_to_f32(uint16_t bits);            /* exact */
float swan_f16_to_f32(uint16_t bits);             /* exact, incl. subnormals, inf, NaN */

/* Converts n little-endian elements of an analyzed dtype at src (any alignment)
 * to float32. F64 is rounded to nearest float. */
void swan_convert_to_f32(swan_dtype dt, const void *src, float *dst, size_t n);

#endif
