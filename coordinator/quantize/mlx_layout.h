/* mlx_layout.h: what a quantized MLX model folder holds, decided before any byte is
 * written (SWAN-METRICS.md section 8).
 *
 * From the checkpoint, the architecture (config.json model_type) and one (bits, group
 * size) decision per source tensor, this builds the list of output tensors under the
 * names mlx_lm's `sanitize` produces: per-expert tensors of a layer stacked into one
 * `switch_mlp.<proj>` tensor with the expert index first, tied `lm_head.weight` and
 * rotary `inv_freq` buffers dropped; every quantized module P becomes P.weight (U32,
 * packed), P.scales and P.biases (the source dtype). Each output tensor gets its shard
 * (at most 5 GiB of data each) and offset, so the writer can place bytes anywhere in
 * any order and the folder is the same whatever order the work finished in. Also
 * builds config.json's `quantization` block. The names themselves (drops, stacks, module
 * paths, floors) come from coordinator/outputs/mlx_names.h, the one owner of mlx_lm's
 * naming rules; an architecture it does not know is refused with its list. */
#ifndef SWAN_MLX_LAYOUT_H
#define SWAN_MLX_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/checkpoint.h"
#include "common/error.h"

#define SWAN_MLX_SHARD_LIMIT ((uint64_t)5 << 30) /* mlx_lm's max_file_size_gb = 5 */

typedef enum swan_qkind {
    SWAN_QOUT_COPY = 0, /* source bytes unchanged (stacked: concatenated)       */
    SWAN_QOUT_WEIGHT,   /* packed uint32 words of a quantized module            */
    SWAN_QOUT_SCALES,
    SWAN_QOUT_BIASES
} swan_qkind;

/* One expert's matrix of a packed 3-D expert tensor (qwen3_moe's
 * `mlp.experts.gate_up_proj` / `mlp.experts.down_proj`, see mlx_layout.c): the
 * source holds E matrices of src_rows x src_cols; expert e of the output is the
 * rows x cols matrix made of rows [first, first + rows) of expert e's source matrix,
 * or, when transposed (a source stored [E, in, out]), of its columns
 * [first, first + rows) read as rows. */
typedef struct swan_qpacked {
    bool on;
    bool transposed;
    uint64_t src_rows, src_cols;
    uint64_t first;
    uint64_t rows, cols;
} swan_qpacked;

typedef struct swan_qtensor {
    char *name;               /* output tensor name                               */
    swan_qkind kind;
    swan_dtype dtype;         /* output dtype (U32 for packed words)              */
    int ndim;
    uint64_t shape[SWAN_MAX_DIMS];
    uint64_t nbytes;
    uint32_t *src;            /* source tensor indexes (experts in order; all the
                                 same packed tensor when packed.on)               */
    uint32_t nsrc;
    swan_qpacked packed;      /* on: each expert is a slice of one 3-D source     */
    int bits, group;          /* quantized modules                                */
    uint32_t scales, biases;  /* SWAN_QOUT_WEIGHT: indexes of its sibling tensors */
    uint32_t shard;           /* 0-based                                          */
    uint64_t offset;          /* in the shard's data section                      */
} swan_qtensor;

typedef struct swan_qlayout {
    swan_qtensor *t;
    size_t n;
    uint32_t nshards;
    uint64_t *shard_bytes;    /* data bytes per shard                             */
    char *quant_json;         /* the "quantization" object, compact JSON          */
    char arch[64];
    uint64_t total_bytes;
    uint64_t quantized_params, kept_params;
} swan_qlayout;

/* Per source tensor: bits 2..8 (an MLX width) with a group size, or 16 to keep it. */
typedef struct swan_qchoice {
    int bits, group;
} swan_qchoice;

/* Builds the layout. choice has ck->ntensors entries. A stack of experts takes the
 * widest choice of its members (16 if any member is kept) and, among those, the
 * smallest group size; a module whose columns the group size does not divide is kept.
 * Architecture floors of mlx_lm are applied (qwen3_moe: mlp.gate at >= 8 bits, group
 * 64). Packed 3-D experts (qwen3_moe's `mlp.experts.gate_up_proj` + `down_proj`, in
 * either layout transformers writes) become switch_mlp.{gate,up,down}_proj [E, out,
 * in], each with the decision of its source. Refuses an unknown architecture, an
 * incomplete or inconsistent expert stack, packed experts of another architecture or
 * of a shape neither layout explains. */
int swan_qlayout_build(const swan_checkpoint *ck, const swan_qchoice *choice,
                       swan_qlayout *out, swan_error *err);
void swan_qlayout_free(swan_qlayout *l);

/* "model-0000K-of-0000N.safetensors" for 0-based shard k. */
void swan_qlayout_shard_name(const swan_qlayout *l, uint32_t k, char *out, size_t cap);

#endif
