/* test_coord_inspect.c: name patterns, layer counting and the inspect report, on
 * checkpoint tables filled in by hand (no files needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "coordinator/inspect.h"
#include "coordinator/model_info.h"

static void expect_pattern(const char *name, const char *want) {
    char out[256];
    swan_name_pattern(name, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_patterns(void **state) {
    (void)state;
    expect_pattern("model.layers.12.self_attn.q_proj.weight", "model.layers.{N}.self_attn.q_proj.weight");
    expect_pattern("model.layers.3.mlp.experts.117.down_proj.weight",
                   "model.layers.{N}.mlp.experts.{E}.down_proj.weight");
    expect_pattern("transformer.h.0.attn.c_attn.weight", "transformer.h.{N}.attn.c_attn.weight");
    expect_pattern("vision.blocks.31.mlp.fc1.weight", "vision.blocks.{N}.mlp.fc1.weight");
    expect_pattern("encoder.layer.11.attention.self.query.weight",
                   "encoder.layer.{N}.attention.self.query.weight");
    expect_pattern("model.visual.merger.mlp.0.weight", "model.visual.merger.mlp.{#}.weight");
    expect_pattern("0.weight", "{#}.weight");
    expect_pattern("layers.7", "layers.{N}");
    expect_pattern("h2o.3.w1", "h2o.{#}.w1");             /* digits inside words stay */
    expect_pattern("model.layers.01x.weight", "model.layers.01x.weight");
    expect_pattern("a..b.", "a..b.");
    expect_pattern("model.norm.weight", "model.norm.weight");
    expect_pattern("mylayers.4.x", "mylayers.{#}.x");      /* whole component only */
    expect_pattern("", "");
}

static void test_pattern_truncates(void **state) {
    (void)state;
    char out[16];
    memset(out, 'Z', sizeof out);
    swan_name_pattern("model.layers.5.self_attn", out, sizeof out);
    assert_string_equal(out, "model.layers.{N"); /* 15 bytes + NUL */
    char one[1] = {'Z'};
    swan_name_pattern("model.layers.5", one, 1);
    assert_int_equal(one[0], '\0');
    char guard[8] = {'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z', 'Z'};
    swan_name_pattern("abcdefghij", guard, 4);
    assert_string_equal(guard, "abc");
    assert_int_equal(guard[4], 'Z'); /* nothing written past size */
}

/* ---- hand-built checkpoints ----------------------------------------------------------- */

typedef struct fake {
    swan_checkpoint ck;
    size_t cap;
} fake;

static void fake_init(fake *f, size_t cap) {
    memset(f, 0, sizeof *f);
    f->cap = cap;
    f->ck.tensors = calloc(cap, sizeof *f->ck.tensors);
    assert_non_null(f->ck.tensors);
}

static void fake_add(fake *f, const char *name, swan_dtype dt, int ndim, uint64_t d0, uint64_t d1,
                     uint64_t d2) {
    assert_true(f->ck.ntensors < f->cap);
    swan_tensor *t = &f->ck.tensors[f->ck.ntensors++];
    t->name = strdup(name);
    t->dtype = dt;
    t->ndim = ndim;
    uint64_t d[3] = {d0, d1, d2};
    t->nelem = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = d[i];
        t->nelem *= d[i];
    }
    t->nbytes = t->nelem * swan_dtype_size(dt);
}

static void fake_free(fake *f) {
    for (size_t i = 0; i < f->ck.ntensors; i++) free(f->ck.tensors[i].name);
    free(f->ck.tensors);
}

static void test_count_layers(void **state) {
    (void)state;
    fake f;
    fake_init(&f, 32);
    fake_add(&f, "model.embed_tokens.weight", SWAN_DT_BF16, 2, 100, 16, 0);
    assert_int_equal(swan_count_layers(&f.ck), 0);
    fake_add(&f, "model.layers.0.mlp.up_proj.weight", SWAN_DT_BF16, 2, 32, 16, 0);
    fake_add(&f, "model.layers.0.mlp.down_proj.weight", SWAN_DT_BF16, 2, 16, 32, 0);
    fake_add(&f, "model.layers.1.mlp.up_proj.weight", SWAN_DT_BF16, 2, 32, 16, 0);
    fake_add(&f, "model.layers.5.mlp.experts.9.up_proj.weight", SWAN_DT_BF16, 2, 32, 16, 0);
    fake_add(&f, "model.layers.2.blocks.7.x", SWAN_DT_BF16, 1, 4, 0, 0); /* first index counts */
    fake_add(&f, "model.mlp.0.weight", SWAN_DT_BF16, 1, 4, 0, 0);        /* {#}: not a layer */
    assert_int_equal(swan_count_layers(&f.ck), 4);                       /* 0 1 2 5 */
    fake_add(&f, "vision.blocks.40.x", SWAN_DT_BF16, 1, 4, 0, 0);
    fake_add(&f, "model.layers.5.y", SWAN_DT_BF16, 1, 4, 0, 0);
    assert_int_equal(swan_count_layers(&f.ck), 5);
    fake_free(&f);
}

/* --protect's rule: ASCII case-insensitive substring of the tensor name. */
static void test_count_names_containing(void **state) {
    (void)state;
    fake f;
    fake_init(&f, 8);
    fake_add(&f, "model.layers.0.self_attn.q_proj.weight", SWAN_DT_BF16, 2, 32, 16, 0);
    fake_add(&f, "model.layers.1.self_attn.Q_PROJ.weight", SWAN_DT_BF16, 2, 32, 16, 0);
    fake_add(&f, "lm_head.weight", SWAN_DT_BF16, 2, 32, 16, 0);
    assert_int_equal(swan_count_names_containing(&f.ck, "q_proj"), 2);
    assert_int_equal(swan_count_names_containing(&f.ck, "Q_Proj"), 2);
    assert_int_equal(swan_count_names_containing(&f.ck, "LM_HEAD.weight"), 1);
    assert_int_equal(swan_count_names_containing(&f.ck, "layers.0."), 1);
    assert_int_equal(swan_count_names_containing(&f.ck, "k_proj"), 0);
    assert_int_equal(swan_count_names_containing(&f.ck, "model.layers.*.q_proj"), 0); /* not a glob */
    fake_free(&f);
}

/* Runs swan_inspect_print into a temporary file and returns its text. */
static char *report(const swan_checkpoint *ck) {
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    swan_inspect_print(ck, tmp);
    long len = ftell(tmp);
    assert_true(len > 0);
    rewind(tmp);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, tmp), (size_t)len);
    text[len] = '\0';
    fclose(tmp);
    return text;
}

/* The line of text that contains needle (copied into line). */
static const char *line_with(const char *text, const char *needle, char *line, size_t size) {
    const char *p = strstr(text, needle);
    if (!p) fail_msg("report lacks \"%s\":\n%s", needle, text);
    const char *b = p, *e = p;
    while (b > text && b[-1] != '\n') b--;
    while (*e && *e != '\n') e++;
    size_t n = (size_t)(e - b) < size - 1 ? (size_t)(e - b) : size - 1;
    memcpy(line, b, n);
    line[n] = '\0';
    return line;
}

static void expect_in_line(const char *text, const char *key, const char *want) {
    char line[512];
    line_with(text, key, line, sizeof line);
    if (!strstr(line, want)) fail_msg("line \"%s\" lacks \"%s\"", line, want);
}

static void test_inspect_report(void **state) {
    (void)state;
    fake f;
    fake_init(&f, 64);
    swan_shard shards[2] = {{.file = "a.safetensors"}, {.file = "b.safetensors"}};
    f.ck.dir = "/models/tiny-moe";
    f.ck.config_json = "{\"model_type\": \"qwen3_moe\", \"architectures\": [\"Qwen3MoeForCausalLM\"]}";
    f.ck.has_index = 1;
    f.ck.shards = shards;
    f.ck.nshards = 2;
    fake_add(&f, "model.embed_tokens.weight", SWAN_DT_BF16, 2, 1000, 64, 0);
    char name[128];
    for (int l = 0; l < 4; l++) {
        snprintf(name, sizeof name, "model.layers.%d.input_layernorm.weight", l);
        fake_add(&f, name, SWAN_DT_BF16, 1, 64, 0, 0);
        snprintf(name, sizeof name, "model.layers.%d.self_attn.q_proj.weight", l);
        fake_add(&f, name, SWAN_DT_BF16, 2, 64, 64, 0);
        for (int e = 0; e < 3; e++) {
            snprintf(name, sizeof name, "model.layers.%d.mlp.experts.%d.up_proj.weight", l, e);
            fake_add(&f, name, SWAN_DT_BF16, 2, 32, 64, 0);
        }
        snprintf(name, sizeof name, "model.layers.%d.odd.weight", l); /* shapes differ per layer */
        fake_add(&f, name, SWAN_DT_F32, 2, l == 0 ? 16 : 32, 64, 0);
    }
    fake_add(&f, "model.tiny_table", SWAN_DT_F32, 2, 8, 8, 0);       /* 64 elements: tiny */
    fake_add(&f, "model.position_ids", SWAN_DT_I64, 1, 10, 0, 0);    /* not float */
    fake_add(&f, "model.empty", SWAN_DT_F32, 2, 0, 5, 0);            /* empty */
    fake_add(&f, "model.norm.weight", SWAN_DT_BF16, 1, 64, 0, 0);
    fake_add(&f, "lm_head.weight", SWAN_DT_BF16, 2, 1000, 64, 0);
    f.ck.ignored_tensors = 3;

    uint64_t params = 0, bytes = 0;
    for (size_t i = 0; i < f.ck.ntensors; i++) {
        params += f.ck.tensors[i].nelem;
        bytes += f.ck.tensors[i].nbytes;
    }
    char *text = report(&f.ck);
    char want[64];

    expect_in_line(text, "/models/tiny-moe", "/models/tiny-moe");
    expect_in_line(text, "qwen3_moe", "Qwen3MoeForCausalLM");
    expect_in_line(text, "Shards", "2");
    snprintf(want, sizeof want, "%zu", f.ck.ntensors);
    expect_in_line(text, "Tensors", want);
    expect_in_line(text, "Tensors", "+3 "); /* ignored ones are mentioned */
    snprintf(want, sizeof want, "(%llu)", (unsigned long long)params);
    expect_in_line(text, "Params", want);
    expect_in_line(text, "Params", "176.5K"); /* 176,522 */
    snprintf(want, sizeof want, "%llu bytes", (unsigned long long)bytes);
    expect_in_line(text, "Size", want);
    expect_in_line(text, "Layers", "4");
    expect_in_line(text, "Experts", "3");
    /* dtype totals: BF16 = embed, 4 norms, 4 q, 12 experts, final norm, lm_head */
    expect_in_line(text, "  BF16", "23 tensors");
    expect_in_line(text, "  F32", "6 tensors");
    expect_in_line(text, "  I64", "1 tensors");

    expect_in_line(text, "model.layers.{N}.self_attn.q_proj.weight ", "x4");
    expect_in_line(text, "model.layers.{N}.self_attn.q_proj.weight ", "[64, 64]");
    expect_in_line(text, "model.layers.{N}.self_attn.q_proj.weight ", "16.4K params");
    expect_in_line(text, "model.layers.{N}.mlp.experts.{E}.up_proj.weight", "x12");
    expect_in_line(text, "model.layers.{N}.mlp.experts.{E}.up_proj.weight", "[32, 64]");
    expect_in_line(text, "model.layers.{N}.mlp.experts.{E}.up_proj.weight", "24.6K params");
    expect_in_line(text, "model.layers.{N}.odd.weight", "mixed shapes");
    expect_in_line(text, "model.layers.{N}.odd.weight", "F32");
    expect_in_line(text, "model.embed_tokens.weight", "[1000, 64]");
    expect_in_line(text, "model.embed_tokens.weight", "64.0K params");
    expect_in_line(text, "model.layers.{N}.input_layernorm.weight", "[64]");
    /* patterns listed once each, in order of first appearance */
    const char *pe = strstr(text, "model.embed_tokens.weight"), *pl = strstr(text, "lm_head.weight");
    assert_non_null(pe);
    assert_non_null(pl);
    assert_true(pe < pl);
    assert_null(strstr(strstr(text, "model.layers.{N}.self_attn.q_proj.weight") + 1,
                       "model.layers.{N}.self_attn.q_proj.weight"));

    /* analyzed: embed, 4 q, 12 experts, 4 odd, lm_head = 22; protected: embed, lm_head */
    expect_in_line(text, "analyzes", "22 of 30");
    expect_in_line(text, "analyzes", "2 of them");
    expect_in_line(text, "Not analyzed", ": 8 (1-D 5, tiny 1, empty 1, not float 1)");
    free(text);
    fake_free(&f);
}

/* 100,000 tensors (a per-expert MoE) must be summarized quickly. */
static void test_inspect_scales(void **state) {
    (void)state;
    enum { L = 24, E = 1384 };
    fake f;
    fake_init(&f, (size_t)L * E * 3 + 2);
    char name[128];
    static const char *const proj[3] = {"gate_proj", "up_proj", "down_proj"};
    fake_add(&f, "model.embed_tokens.weight", SWAN_DT_BF16, 2, 1024, 64, 0);
    for (int l = 0; l < L; l++)
        for (int e = 0; e < E; e++)
            for (int p = 0; p < 3; p++) {
                snprintf(name, sizeof name, "model.layers.%d.mlp.experts.%d.%s.weight", l, e, proj[p]);
                fake_add(&f, name, SWAN_DT_BF16, 2, p == 2 ? 64 : 32, p == 2 ? 32 : 64, 0);
            }
    fake_add(&f, "lm_head.weight", SWAN_DT_BF16, 2, 1024, 64, 0);
    clock_t t0 = clock();
    char *text = report(&f.ck);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_true(secs < 2.0);
    expect_in_line(text, "Layers", "24");
    expect_in_line(text, "Experts", "1384");
    expect_in_line(text, "model.layers.{N}.mlp.experts.{E}.down_proj.weight", "x33216");
    expect_in_line(text, "analyzes", "99650 of 99650");
    free(text);
    fake_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_pattern_truncates),
        cmocka_unit_test(test_count_layers),
        cmocka_unit_test(test_count_names_containing),
        cmocka_unit_test(test_inspect_report),
        cmocka_unit_test(test_inspect_scales),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
