/* mlx_names.h: checkpoint tensor names -> the module paths mlx_lm creates, and the
 * llama.cpp (GGUF) tensor names.
 *
 * mlx_lm builds each architecture's modules from its own model file and renames
 * checkpoint weights in that model's `sanitize`: per-expert weights of a layer are
 * stacked into one `switch_mlp.<proj>` (Mixtral's w1/w2/w3 become gate/down/up_proj),
 * a tied lm_head is dropped, DeepSeek-V3's kv_b_proj becomes embed_q + unembed_out and
 * its extra layer 61 is dropped. This module reproduces that for llama, mistral,
 * qwen2, qwen3, qwen3_moe, mixtral and deepseek_v3 (read from ml-explore/mlx-lm's
 * mlx_lm/models/<arch>.py); any other architecture falls back to the tensor name without
 * `.weight`, and says so. It also knows the floors mlx_lm's own quant_predicate sets
 * (qwen3_moe keeps mlp.gate at 8 bits, group 64), which a swan predicate replaces and
 * so must respect. Pure string functions, and the only place these rules live: used by
 * the outputs (mlx_quant.json, swan_predicate.py), by the reduce (floors) and by
 * `swan quantize`'s layout (coordinator/quantize/mlx_layout.c: what is dropped, which
 * tensors stack, the module paths of the `quantization` block). */
#ifndef SWAN_MLX_NAMES_H
#define SWAN_MLX_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define SWAN_MLX_PATH_MAX 512
#define SWAN_MLX_MAX_PATHS 2

typedef enum swan_mlx_arch {
    SWAN_ARCH_UNKNOWN = 0,
    SWAN_ARCH_LLAMA,       /* also mistral (mlx_lm maps it to llama) */
    SWAN_ARCH_QWEN2,
    SWAN_ARCH_QWEN3,
    SWAN_ARCH_QWEN3_MOE,
    SWAN_ARCH_MIXTRAL,
    SWAN_ARCH_DEEPSEEK_V3
} swan_mlx_arch;

typedef struct swan_mlx_model {
    swan_mlx_arch arch;
    char model_type[64];   /* as config.json says ("" when absent)            */
    bool tied_embeddings;  /* tie_word_embeddings: lm_head is dropped         */
} swan_mlx_model;

/* From config.json text (NULL or invalid: unknown architecture). */
void swan_mlx_model_from_config(const char *config_json, swan_mlx_model *m);

/* "llama", ... or "unknown". */
const char *swan_mlx_arch_name(swan_mlx_arch arch);

/* The model_type values whose mlx_lm model files these rules follow, for messages:
 * "llama, mistral, qwen2, qwen3, qwen3_moe, mixtral, deepseek_v3". */
const char *swan_mlx_known_model_types(void);

/* True when mlx_lm's sanitize drops this checkpoint tensor: a tied lm_head,
 * `rotary_emb.inv_freq` buffers, DeepSeek-V3's multi-token-prediction layer 61. */
bool swan_mlx_dropped(const swan_mlx_model *m, const char *name);

/* The expert index of a per-expert 2-D weight (`...experts.<E>.<proj>.weight`) that
 * sanitize stacks into the layer's `switch_mlp.<proj>` (the path
 * swan_mlx_module_paths returns), or -1 for any other tensor. */
long swan_mlx_stacked_expert(const swan_mlx_model *m, const char *name, int ndim);

/* The mlx_lm module paths one checkpoint tensor becomes (0 to SWAN_MLX_MAX_PATHS): 0
 * when it is not a module weight mlx_lm quantizes (1-D, dropped by sanitize, or a
 * module without quantization). Stacked experts of one layer all return the same
 * path. Paths longer than SWAN_MLX_PATH_MAX - 1 are refused (0). */
int swan_mlx_module_paths(const swan_mlx_model *m, const char *name, int ndim,
                          char paths[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX]);

/* The smallest (bits, group) mlx_lm's own predicate gives this tensor's module, if it
 * sets one; false otherwise. */
bool swan_mlx_floor(const swan_mlx_model *m, const char *name, int *bits, int *group);

/* The GGUF names llama.cpp's converter gives one checkpoint tensor (0 to 2, e.g. a
 * packed gate_up_proj becomes ffn_gate_exps + ffn_up_exps); names that already are
 * GGUF names (a GGUF input) are returned as they are. 0 when it has no mapping. */
int swan_gguf_names(const swan_mlx_model *m, const char *name, int ndim,
                    char out[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX]);

#endif
