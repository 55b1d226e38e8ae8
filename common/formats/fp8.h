/* fp8.h: FP8 (F8_E4M3, F8_E5M2) weights and their scales, decoded exactly.
 *
 * FP8 checkpoints (DeepSeek-V3/R1, Kimi-K2, the FP8 Qwen3 releases) store each weight
 * as one byte plus float32 scales: one per block of bm x bn elements
 * (`<name>_scale_inv`, block size from config.json quantization_config.
 * weight_block_size, default 128x128), one per tensor or one per row (`<name>_scale`,
 * shape [] / [1] or [rows, 1]). SWAN
 * analyzes what a BF16 upcast of the checkpoint would hold, element by element:
 * bf16(fp8_value * scale) with the product in float32 and round-to-nearest-even into
 * BF16, then the exact BF16 -> float32. The worker's tensor reader applies it per
 * tile (worker/tensor_reader.c), so nothing is ever upcast on disk. */
#ifndef SWAN_FP8_H
#define SWAN_FP8_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"

#define SWAN_FP8_DEFAULT_BLOCK 128

/* Exact value of one FP8 byte. E4M3 is the "fn" variant safetensors means by
 * F8_E4M3 (bias 7, no infinities, S.1111.111 is NaN, max 448); E5M2 is IEEE-like
 * (bias 15, infinities and NaNs in the top exponent, max 57344). */
float swan_fp8_e4m3_to_f32(uint8_t b);
float swan_fp8_e5m2_to_f32(uint8_t b);

/* float32 -> BF16 bits, round to nearest even; NaN stays a (quiet) NaN. */
uint16_t swan_f32_to_bf16_rne(float f);

/* dst[i] = bf16(fp8(src[i]) * scale) as float32, for n bytes of dtype dt (an FP8
 * dtype; anything else zero-fills). */
void swan_fp8_dequant(swan_dtype dt, const uint8_t *src, size_t n, float scale, float *dst);

#endif
