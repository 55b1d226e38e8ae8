/* test_coord_mlx_names.c: checkpoint names -> mlx_lm module paths and GGUF names.
 *
 * The expected paths are those mlx_lm's model files create (mlx_lm/models/qwen3.py,
 * qwen3_moe.py, mixtral.py, deepseek_v3.py and their sanitize), and the GGUF names
 * those of llama.cpp's converter, for dense, per-expert and packed-expert layouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/outputs/mlx_names.h"

static swan_mlx_model model(const char *config) {
    swan_mlx_model m;
    swan_mlx_model_from_config(config, &m);
    return m;
}

static void expect_paths(const swan_mlx_model *m, const char *name, int ndim, int n, const char *p0,
                         const char *p1) {
    char paths[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX];
    int got = swan_mlx_module_paths(m, name, ndim, paths);
    if (got != n) fail_msg("%s: %d paths, expected %d", name, got, n);
    if (n > 0) assert_string_equal(paths[0], p0);
    if (n > 1) assert_string_equal(paths[1], p1);
}

static void expect_gguf(const swan_mlx_model *m, const char *name, int ndim, int n, const char *p0,
                        const char *p1) {
    char out[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX];
    int got = swan_gguf_names(m, name, ndim, out);
    if (got != n) fail_msg("%s: %d GGUF names, expected %d", name, got, n);
    if (n > 0) assert_string_equal(out[0], p0);
    if (n > 1) assert_string_equal(out[1], p1);
}

static void test_dense(void **state) {
    (void)state;
    swan_mlx_model m = model("{\"model_type\": \"qwen3\", \"tie_word_embeddings\": true}");
    assert_int_equal(m.arch, SWAN_ARCH_QWEN3);
    expect_paths(&m, "model.layers.3.self_attn.q_proj.weight", 2, 1, "model.layers.3.self_attn.q_proj", NULL);
    expect_paths(&m, "model.embed_tokens.weight", 2, 1, "model.embed_tokens", NULL);
    expect_paths(&m, "model.layers.0.input_layernorm.weight", 1, 0, NULL, NULL);
    expect_paths(&m, "lm_head.weight", 2, 0, NULL, NULL); /* tied: sanitize drops it */
    m = model("{\"model_type\": \"mistral\"}");
    assert_int_equal(m.arch, SWAN_ARCH_LLAMA);
    expect_paths(&m, "lm_head.weight", 2, 1, "lm_head", NULL);
    /* llama.cpp names */
    expect_gguf(&m, "model.embed_tokens.weight", 2, 1, "token_embd.weight", NULL);
    expect_gguf(&m, "lm_head.weight", 2, 1, "output.weight", NULL);
    expect_gguf(&m, "model.layers.12.self_attn.o_proj.weight", 2, 1, "blk.12.attn_output.weight", NULL);
    expect_gguf(&m, "model.layers.0.mlp.down_proj.weight", 2, 1, "blk.0.ffn_down.weight", NULL);
    expect_gguf(&m, "model.layers.0.self_attn.q_proj.weight", 2, 1, "blk.0.attn_q.weight", NULL);
    expect_gguf(&m, "model.norm.weight", 1, 0, NULL, NULL);
    /* a GGUF input already has GGUF names */
    expect_gguf(&m, "blk.4.ffn_up.weight", 2, 1, "blk.4.ffn_up.weight", NULL);
}

static void test_per_expert(void **state) {
    (void)state;
    swan_mlx_model m = model("{\"model_type\": \"qwen3_moe\"}");
    expect_paths(&m, "model.layers.1.mlp.experts.0.gate_proj.weight", 2, 1,
                 "model.layers.1.mlp.switch_mlp.gate_proj", NULL);
    expect_paths(&m, "model.layers.1.mlp.experts.127.down_proj.weight", 2, 1,
                 "model.layers.1.mlp.switch_mlp.down_proj", NULL);
    expect_paths(&m, "model.layers.1.mlp.gate.weight", 2, 1, "model.layers.1.mlp.gate", NULL);
    int b, g;
    assert_true(swan_mlx_floor(&m, "model.layers.1.mlp.gate.weight", &b, &g));
    assert_int_equal(b, 8);
    assert_int_equal(g, 64);
    assert_false(swan_mlx_floor(&m, "model.layers.1.mlp.experts.0.gate_proj.weight", &b, &g));
    expect_gguf(&m, "model.layers.1.mlp.experts.5.gate_proj.weight", 2, 1, "blk.1.ffn_gate_exps.weight", NULL);
    expect_gguf(&m, "model.layers.1.mlp.experts.5.up_proj.weight", 2, 1, "blk.1.ffn_up_exps.weight", NULL);
    expect_gguf(&m, "model.layers.1.mlp.gate.weight", 2, 1, "blk.1.ffn_gate_inp.weight", NULL);

    m = model("{\"model_type\": \"mixtral\"}");
    expect_paths(&m, "model.layers.2.block_sparse_moe.experts.3.w1.weight", 2, 1,
                 "model.layers.2.block_sparse_moe.switch_mlp.gate_proj", NULL);
    expect_paths(&m, "model.layers.2.block_sparse_moe.experts.3.w2.weight", 2, 1,
                 "model.layers.2.block_sparse_moe.switch_mlp.down_proj", NULL);
    expect_paths(&m, "model.layers.2.block_sparse_moe.experts.3.w3.weight", 2, 1,
                 "model.layers.2.block_sparse_moe.switch_mlp.up_proj", NULL);
    expect_paths(&m, "model.layers.2.block_sparse_moe.gate.weight", 2, 1,
                 "model.layers.2.block_sparse_moe.gate", NULL);
    expect_gguf(&m, "model.layers.2.block_sparse_moe.experts.3.w2.weight", 2, 1, "blk.2.ffn_down_exps.weight", NULL);
    expect_gguf(&m, "model.layers.2.block_sparse_moe.gate.weight", 2, 1, "blk.2.ffn_gate_inp.weight", NULL);

    m = model("{\"model_type\": \"deepseek_v3\"}");
    expect_paths(&m, "model.layers.5.mlp.experts.9.up_proj.weight", 2, 1, "model.layers.5.mlp.switch_mlp.up_proj", NULL);
    expect_paths(&m, "model.layers.5.mlp.shared_experts.up_proj.weight", 2, 1,
                 "model.layers.5.mlp.shared_experts.up_proj", NULL);
    expect_paths(&m, "model.layers.5.self_attn.kv_b_proj.weight", 2, 2, "model.layers.5.self_attn.embed_q",
                 "model.layers.5.self_attn.unembed_out");
    expect_paths(&m, "model.layers.5.mlp.gate.weight", 2, 0, NULL, NULL);   /* MoEGate */
    expect_paths(&m, "model.layers.61.self_attn.q_a_proj.weight", 2, 0, NULL, NULL); /* MTP */
    expect_gguf(&m, "model.layers.5.self_attn.kv_b_proj.weight", 2, 2, "blk.5.attn_k_b.weight", "blk.5.attn_v_b.weight");
    expect_gguf(&m, "model.layers.5.mlp.shared_experts.down_proj.weight", 2, 1, "blk.5.ffn_down_shexp.weight", NULL);
}

static void test_packed_experts(void **state) {
    (void)state;
    swan_mlx_model m = model("{\"model_type\": \"qwen3_moe\"}");
    expect_paths(&m, "model.layers.0.mlp.experts.gate_up_proj", 3, 2, "model.layers.0.mlp.switch_mlp.gate_proj",
                 "model.layers.0.mlp.switch_mlp.up_proj");
    expect_paths(&m, "model.layers.0.mlp.experts.down_proj", 3, 1, "model.layers.0.mlp.switch_mlp.down_proj", NULL);
    expect_gguf(&m, "model.layers.0.mlp.experts.gate_up_proj", 3, 2, "blk.0.ffn_gate_exps.weight",
                "blk.0.ffn_up_exps.weight");
    expect_gguf(&m, "model.layers.0.mlp.experts.down_proj", 3, 1, "blk.0.ffn_down_exps.weight", NULL);
}

/* The rules swan quantize's layout takes from here: what sanitize drops, what stacks. */
static void test_dropped_and_stacked(void **state) {
    (void)state;
    swan_mlx_model m = model("{\"model_type\": \"qwen3\", \"tie_word_embeddings\": true}");
    assert_true(swan_mlx_dropped(&m, "lm_head.weight"));
    assert_true(swan_mlx_dropped(&m, "model.layers.0.self_attn.rotary_emb.inv_freq"));
    assert_false(swan_mlx_dropped(&m, "model.embed_tokens.weight"));
    assert_int_equal(swan_mlx_stacked_expert(&m, "model.layers.0.mlp.experts.3.up_proj.weight", 2), -1);
    m = model("{\"model_type\": \"llama\"}");
    assert_false(swan_mlx_dropped(&m, "lm_head.weight"));
    m = model("{\"model_type\": \"deepseek_v3\"}");
    assert_true(swan_mlx_dropped(&m, "model.layers.61.mlp.gate.weight"));
    assert_false(swan_mlx_dropped(&m, "model.layers.6.mlp.gate.weight"));
    assert_int_equal(swan_mlx_stacked_expert(&m, "model.layers.4.mlp.experts.17.up_proj.weight", 2), 17);
    assert_int_equal(swan_mlx_stacked_expert(&m, "model.layers.4.mlp.shared_experts.up_proj.weight", 2), -1);
    assert_int_equal(swan_mlx_stacked_expert(&m, "model.layers.4.mlp.experts.17.up_proj.bias", 1), -1);
    m = model("{\"model_type\": \"mixtral\"}");
    assert_int_equal(swan_mlx_stacked_expert(&m, "model.layers.1.block_sparse_moe.experts.7.w2.weight", 2), 7);
    m = model("{\"model_type\": \"qwen3_moe\"}");
    assert_int_equal(swan_mlx_stacked_expert(&m, "model.layers.0.mlp.experts.down_proj", 3), -1); /* packed */
    m = model("{\"model_type\": \"brand_new\"}");
    assert_false(swan_mlx_dropped(&m, "lm_head.weight"));
    assert_non_null(strstr(swan_mlx_known_model_types(), "qwen3_moe"));
}

static void test_unknown_architecture(void **state) {
    (void)state;
    swan_mlx_model m = model("{\"model_type\": \"brand_new\"}");
    assert_int_equal(m.arch, SWAN_ARCH_UNKNOWN);
    assert_string_equal(m.model_type, "brand_new");
    assert_string_equal(swan_mlx_arch_name(m.arch), "unknown");
    expect_paths(&m, "model.layers.0.mlp.experts.3.w1.weight", 2, 1, "model.layers.0.mlp.experts.3.w1", NULL);
    m = model(NULL);
    assert_int_equal(m.arch, SWAN_ARCH_UNKNOWN);
    m = model("not json");
    assert_int_equal(m.arch, SWAN_ARCH_UNKNOWN);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_per_expert),
        cmocka_unit_test(test_packed_experts),
        cmocka_unit_test(test_dropped_and_stacked),
        cmocka_unit_test(test_unknown_architecture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
