/* mlx_names.c: mlx_lm module paths and GGUF names of checkpoint tensors (see mlx_names.h). */
#include "coordinator/outputs/mlx_names.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *model_type;
    swan_mlx_arch arch;
} k_arches[] = {
    {"llama", SWAN_ARCH_LLAMA},         {"mistral", SWAN_ARCH_LLAMA},
    {"qwen2", SWAN_ARCH_QWEN2},         {"qwen3", SWAN_ARCH_QWEN3},
    {"qwen3_moe", SWAN_ARCH_QWEN3_MOE}, {"mixtral", SWAN_ARCH_MIXTRAL},
    {"deepseek_v3", SWAN_ARCH_DEEPSEEK_V3},
};

void swan_mlx_model_from_config(const char *config_json, swan_mlx_model *m) {
    memset(m, 0, sizeof *m);
    cJSON *root = config_json ? cJSON_Parse(config_json) : NULL;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(root, "tie_word_embeddings");
    if (cJSON_IsString(mt)) snprintf(m->model_type, sizeof m->model_type, "%s", mt->valuestring);
    m->tied_embeddings = cJSON_IsTrue(tie);
    for (size_t i = 0; i < sizeof k_arches / sizeof *k_arches; i++)
        if (strcmp(m->model_type, k_arches[i].model_type) == 0) m->arch = k_arches[i].arch;
    cJSON_Delete(root);
}

const char *swan_mlx_arch_name(swan_mlx_arch arch) {
    switch (arch) {
    case SWAN_ARCH_LLAMA: return "llama";
    case SWAN_ARCH_QWEN2: return "qwen2";
    case SWAN_ARCH_QWEN3: return "qwen3";
    case SWAN_ARCH_QWEN3_MOE: return "qwen3_moe";
    case SWAN_ARCH_MIXTRAL: return "mixtral";
    case SWAN_ARCH_DEEPSEEK_V3: return "deepseek_v3";
    default: return "unknown";
    }
}

const char *swan_mlx_known_model_types(void) {
    return "llama, mistral, qwen2, qwen3, qwen3_moe, mixtral, deepseek_v3";
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_moe(swan_mlx_arch a) {
    return a == SWAN_ARCH_QWEN3_MOE || a == SWAN_ARCH_MIXTRAL || a == SWAN_ARCH_DEEPSEEK_V3;
}

/* Writes a + b to out; false when it does not fit. */
static bool join(char *out, const char *a, size_t alen, const char *b) {
    if (alen + strlen(b) + 1 > SWAN_MLX_PATH_MAX) return false;
    memcpy(out, a, alen);
    strcpy(out + alen, b);
    return true;
}

/* Finds `.experts.<digits>.` in name: returns the position of ".experts." and sets
 * *rest to what follows the index's dot; NULL when there is none. */
static const char *find_expert(const char *name, const char **rest) {
    const char *p = name;
    while ((p = strstr(p, ".experts.")) != NULL) {
        const char *d = p + 9, *e = d;
        while (*e >= '0' && *e <= '9') e++;
        if (e > d && *e == '.') {
            *rest = e + 1;
            return p;
        }
        p += 9;
    }
    return NULL;
}

/* Mixtral's expert projections w1/w2/w3 are gate/down/up. */
static const char *mixtral_proj(const char *proj) {
    if (strcmp(proj, "w1") == 0) return "gate_proj";
    if (strcmp(proj, "w2") == 0) return "down_proj";
    if (strcmp(proj, "w3") == 0) return "up_proj";
    return proj;
}

bool swan_mlx_dropped(const swan_mlx_model *m, const char *name) {
    if (m->arch == SWAN_ARCH_UNKNOWN) return false;
    if (strstr(name, "rotary_emb.inv_freq")) return true;
    if (m->tied_embeddings && strcmp(name, "lm_head.weight") == 0) return true; /* sanitize pops it */
    /* deepseek_v3.py: `not k.startswith("model.layers.61")` (multi-token prediction) */
    return m->arch == SWAN_ARCH_DEEPSEEK_V3 && starts_with(name, "model.layers.61.");
}

long swan_mlx_stacked_expert(const swan_mlx_model *m, const char *name, int ndim) {
    const char *rest;
    if (ndim != 2 || !is_moe(m->arch) || !ends_with(name, ".weight")) return -1;
    const char *at = find_expert(name, &rest);
    return at ? strtol(at + 9, NULL, 10) : -1;
}

int swan_mlx_module_paths(const swan_mlx_model *m, const char *name, int ndim,
                          char paths[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX]) {
    if (ndim < 2) return 0;
    char base[SWAN_MLX_PATH_MAX];
    size_t n = strlen(name);
    if (n >= sizeof base) return 0;
    bool has_weight = ends_with(name, ".weight");
    memcpy(base, name, n + 1);
    if (has_weight) base[n - 7] = '\0';
    if (m->arch == SWAN_ARCH_UNKNOWN) { /* fallback: the tensor name without .weight */
        strcpy(paths[0], base);
        return 1;
    }
    if (swan_mlx_dropped(m, name)) return 0;
    if (m->arch == SWAN_ARCH_DEEPSEEK_V3) {
        if (ends_with(base, ".mlp.gate")) return 0; /* MoEGate: never quantized */
        if (ends_with(base, ".self_attn.kv_b_proj")) {
            size_t pre = strlen(base) - strlen("kv_b_proj");
            if (!join(paths[0], base, pre, "embed_q") || !join(paths[1], base, pre, "unembed_out"))
                return 0;
            return 2;
        }
    }
    if (is_moe(m->arch)) {
        const char *rest;
        const char *at = find_expert(base, &rest);
        if (at) { /* per-expert weight: the layer's stacked switch_mlp.<proj> */
            char tail[SWAN_MLX_PATH_MAX];
            snprintf(tail, sizeof tail, ".switch_mlp.%s",
                     m->arch == SWAN_ARCH_MIXTRAL ? mixtral_proj(rest) : rest);
            return join(paths[0], base, (size_t)(at - base), tail) ? 1 : 0;
        }
        /* packed 3-D experts (either layout, see quantize/mlx_layout.c): gate_up_proj
         * is split into gate and up */
        if (ndim == 3 && !has_weight) {
            const char *e = strstr(base, ".experts.");
            if (e && strchr(e + 9, '.') == NULL) {
                const char *proj = e + 9;
                size_t pre = (size_t)(e - base);
                if (strcmp(proj, "gate_up_proj") == 0) {
                    if (!join(paths[0], base, pre, ".switch_mlp.gate_proj") ||
                        !join(paths[1], base, pre, ".switch_mlp.up_proj"))
                        return 0;
                    return 2;
                }
                char tail[SWAN_MLX_PATH_MAX];
                snprintf(tail, sizeof tail, ".switch_mlp.%s", proj);
                return join(paths[0], base, pre, tail) ? 1 : 0;
            }
        }
    }
    if (!has_weight) return 0; /* not a module weight */
    strcpy(paths[0], base);
    return 1;
}

bool swan_mlx_floor(const swan_mlx_model *m, const char *name, int *bits, int *group) {
    /* qwen3_moe.py's quant_predicate: mlp.gate -> {"group_size": 64, "bits": 8} */
    if (m->arch == SWAN_ARCH_QWEN3_MOE && ends_with(name, ".mlp.gate.weight")) {
        *bits = 8;
        *group = 64;
        return true;
    }
    return false;
}

/* ---- GGUF names (llama.cpp's convert_hf_to_gguf tensor map) ------------------------- */

static const struct {
    const char *hf, *gguf;
} k_layer_map[] = {
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_a_proj.weight", "attn_q_a.weight"},
    {"self_attn.q_b_proj.weight", "attn_q_b.weight"},
    {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate.weight", "ffn_gate_inp.weight"},
    {"block_sparse_moe.gate.weight", "ffn_gate_inp.weight"},
    {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"},
    {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"},
    {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"},
    {"mlp.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight"},
    {"mlp.shared_expert.up_proj.weight", "ffn_up_shexp.weight"},
    {"mlp.shared_expert.down_proj.weight", "ffn_down_shexp.weight"},
    {"mlp.experts.down_proj", "ffn_down_exps.weight"},
    {"mlp.experts.gate_proj", "ffn_gate_exps.weight"},
    {"mlp.experts.up_proj", "ffn_up_exps.weight"},
};

static const char *expert_gguf(const char *proj) {
    if (strcmp(proj, "gate_proj.weight") == 0 || strcmp(proj, "w1.weight") == 0) return "ffn_gate_exps.weight";
    if (strcmp(proj, "down_proj.weight") == 0 || strcmp(proj, "w2.weight") == 0) return "ffn_down_exps.weight";
    if (strcmp(proj, "up_proj.weight") == 0 || strcmp(proj, "w3.weight") == 0) return "ffn_up_exps.weight";
    return NULL;
}

int swan_gguf_names(const swan_mlx_model *m, const char *name, int ndim,
                    char out[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX]) {
    if (ndim < 2 || strlen(name) >= SWAN_MLX_PATH_MAX) return 0;
    if (starts_with(name, "blk.") || starts_with(name, "token_embd.") || starts_with(name, "output.")) {
        strcpy(out[0], name); /* already a GGUF name */
        return 1;
    }
    if (strcmp(name, "model.embed_tokens.weight") == 0) {
        strcpy(out[0], "token_embd.weight");
        return 1;
    }
    if (strcmp(name, "lm_head.weight") == 0) {
        if (m->tied_embeddings) return 0;
        strcpy(out[0], "output.weight");
        return 1;
    }
    if (!starts_with(name, "model.layers.")) return 0;
    const char *p = name + 13;
    char *end;
    long layer = strtol(p, &end, 10);
    if (end == p || *end != '.' || layer < 0) return 0;
    const char *rest = end + 1;
    char blk[32];
    snprintf(blk, sizeof blk, "blk.%ld.", layer);
    const char *er;
    const char *at = find_expert(name, &er);
    if (at) {
        const char *g = expert_gguf(er);
        if (!g) return 0;
        snprintf(out[0], SWAN_MLX_PATH_MAX, "%s%s", blk, g);
        return 1;
    }
    if (m->arch == SWAN_ARCH_DEEPSEEK_V3 || strcmp(rest, "self_attn.kv_b_proj.weight") == 0) {
        if (strcmp(rest, "self_attn.kv_b_proj.weight") == 0) { /* split by the converter */
            snprintf(out[0], SWAN_MLX_PATH_MAX, "%sattn_k_b.weight", blk);
            snprintf(out[1], SWAN_MLX_PATH_MAX, "%sattn_v_b.weight", blk);
            return 2;
        }
    }
    if (strcmp(rest, "mlp.experts.gate_up_proj") == 0) {
        snprintf(out[0], SWAN_MLX_PATH_MAX, "%sffn_gate_exps.weight", blk);
        snprintf(out[1], SWAN_MLX_PATH_MAX, "%sffn_up_exps.weight", blk);
        return 2;
    }
    for (size_t i = 0; i < sizeof k_layer_map / sizeof *k_layer_map; i++)
        if (strcmp(rest, k_layer_map[i].hf) == 0) {
            snprintf(out[0], SWAN_MLX_PATH_MAX, "%s%s", blk, k_layer_map[i].gguf);
            return 1;
        }
    return 0;
}
