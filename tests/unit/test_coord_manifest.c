/* test_coord_manifest.c: swan_reduce_run + swan_manifest_write on a hand-built
 * two-shard checkpoint, read back with cJSON and checked against the schema of
 * SWAN-METRICS.md section 5.
 *
 * The raw metrics are chosen so each tensor's decision is known by hand (default
 * policy): S = 0 -> 2 bits, S = 0.475 -> 4, S = 0.815 -> 8, S = 1 -> 16, plus
 * protected, non-finite and non-analyzed tensors. The summary numbers below are
 * sums of those by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/json_writer.h"
#include "coordinator/outputs/manifest.h"
#include "coordinator/outputs/outputs.h"

#define SHARD0 "model-00001-of-00002.safetensors"
#define SHARD1 "model-00002-of-00002.safetensors"

#define assert_near(a, b, eps) assert_near_at((a), (b), (eps), #a, __LINE__)
static void assert_near_at(double a, double b, double eps, const char *expr, int line) {
    if (!(fabs(a - b) <= eps)) fail_msg("line %d: %s = %.17g, expected %.17g", line, expr, a, b);
}

typedef struct want {
    const char *name;
    uint32_t shard;
    swan_dtype dtype;
    int ndim;
    uint64_t shape[3];
    int has_raw;          /* 1: finite raw metrics, 2: nonfinite */
    double c, k, d, e;    /* raw metrics */
    int bits;
    const char *reason;
    const char *classification;
    double composite;
    double s_svd, s_kurt, s_out, s_err;
} want;

/* Default policy. Scores by hand from section 4. */
static const want W[] = {
    {"model.embed_tokens.weight", 0, SWAN_DT_F32, 2, {256, 64, 0}, 1, 0.5, 5, 0.1, 0.0275, 16,
     "protected_pattern", "protected", 0.475, 0.5, 0.5, 1.0 / 3, 0.5},
    {"model.layers.0.input_layernorm.weight", 0, SWAN_DT_F32, 1, {64, 0, 0}, 0, 0, 0, 0, 0, 16,
     "1d_tensor", "protected", 0, 0, 0, 0, 0},
    {"model.layers.0.self_attn.q_proj.weight", 0, SWAN_DT_BF16, 2, {64, 64, 0}, 1, 0.1, 0, 0.005,
     0.005, 2, "low_sensitivity", "default", 0, 0, 0, 0, 0},
    {"model.layers.0.mlp.down_proj.weight", 0, SWAN_DT_BF16, 2, {64, 128, 0}, 1, 0.5, 5, 0.1, 0.0275,
     4, "default", "default", 0.475, 0.5, 0.5, 1.0 / 3, 0.5},
    {"model.layers.0.mlp.up_proj.weight", 1, SWAN_DT_F16, 2, {128, 64, 0}, 1, 0.9, 7, 1, 0.05, 8,
     "sensitive", "sensitive", 0.815, 1, 0.7, 2.0 / 3, 1},
    {"model.layers.0.mlp.gate_proj.weight", 1, SWAN_DT_F32, 2, {128, 64, 0}, 1, 0.9, 10, 10, 0.1, 16,
     "high_sensitivity", "sensitive", 1.0, 1, 1, 1, 1},
    {"model.layers.0.self_attn.k_proj.weight", 1, SWAN_DT_BF16, 2, {64, 64, 0}, 2, 0, 0, 0, 0, 16,
     "non_finite_values", "default", 0, 0, 0, 0, 0},
    {"model.position_ids", 1, SWAN_DT_I64, 2, {1, 32, 0}, 0, 0, 0, 0, 0, 16, "not_float", "default",
     0, 0, 0, 0, 0},
    {"model.tiny.weight", 1, SWAN_DT_F32, 2, {8, 8, 0}, 0, 0, 0, 0, 0, 16, "tiny_tensor", "default",
     0, 0, 0, 0, 0},
    {"model.experts.w", 1, SWAN_DT_BF16, 3, {8, 16, 64}, 1, 0.5, 5, 0.1, 0.0275, 4, "default",
     "default", 0.475, 0.5, 0.5, 1.0 / 3, 0.5},
    {"lm_head.weight", 1, SWAN_DT_BF16, 2, {256, 64, 0}, 1, 0.1, 0, 0, 0, 16, "protected_pattern",
     "protected", 0, 0, 0, 0, 0},
};
#define NW (sizeof W / sizeof *W)

/* Params by hand: 16384 + 64 + 4096 + 8192 | 8192 + 8192 + 4096 + 32 + 64 + 8192 + 16384 */
#define TOTAL_PARAMS 73888ull
#define P2 4096ull                            /* q_proj */
#define P4 (8192ull + 8192ull)                /* down_proj, experts */
#define P8 8192ull                            /* up_proj */
#define P16 (TOTAL_PARAMS - P2 - P4 - P8)     /* everything else */

typedef struct env {
    char dir[256];
    swan_checkpoint ck;
    swan_plan plan;
    swan_policy pol;
    swan_reduction red;
} env;

static int setup(void **state) {
    env *e = calloc(1, sizeof *e);
    if (!e) return -1;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(e->dir, sizeof e->dir, "%s/swan-manifest-XXXXXX", base);
    if (!mkdtemp(e->dir)) return -1;
    swan_checkpoint *ck = &e->ck;
    ck->nshards = 2;
    ck->shards = calloc(2, sizeof *ck->shards);
    ck->shards[0].file = strdup(SHARD0);
    ck->shards[1].file = strdup(SHARD1);
    ck->config_json = strdup("{\"model_type\": \"llama\", \"num_hidden_layers\": 1, "
                             "\"rope\": {\"theta\": 10000.0}, \"names\": [\"a\", \"b\"]}");
    ck->ntensors = NW;
    ck->tensors = calloc(NW, sizeof *ck->tensors);
    uint64_t off[2] = {0, 0};
    for (size_t i = 0; i < NW; i++) {
        swan_tensor *t = &ck->tensors[i];
        t->name = strdup(W[i].name);
        t->shard = W[i].shard;
        t->dtype = W[i].dtype;
        t->ndim = W[i].ndim;
        t->nelem = 1;
        for (int k = 0; k < t->ndim; k++) {
            t->shape[k] = W[i].shape[k];
            t->nelem *= t->shape[k];
        }
        t->nbytes = t->nelem * swan_dtype_size(t->dtype);
        t->offset = off[t->shard];
        off[t->shard] += t->nbytes;
    }
    swan_error err = {{0}};
    if (swan_plan_init(&e->plan, ck, &err)) return -1;
    for (size_t i = 0; i < NW; i++) {
        swan_tensor_rec *r = &e->plan.recs[i];
        if (!W[i].has_raw) continue;
        if (r->kind != SWAN_KIND_MATRIX) return -1;
        swan_raw_metrics raw;
        memset(&raw, 0, sizeof raw);
        raw.rows = r->rows;
        raw.cols = r->cols;
        if (W[i].has_raw == 2) {
            raw.nonfinite = 5;
            if (swan_plan_set_raw(&e->plan, i, &raw, &err)) return -1;
            continue;
        }
        raw.svd_concentration = W[i].c;
        raw.kurtosis = W[i].k;
        raw.output_delta = W[i].d;
        raw.rtn_nrmse = W[i].e;
        raw.w_min = -0.25;
        raw.w_max = 0.5;
        raw.spectral_method = SWAN_SPECTRAL_GRAM_EXACT;
        raw.spectral_rank = 64;
        raw.seconds = 0.002;
        for (int b = 0; b < SWAN_MLX_NBITS; b++)
            for (int g = 0; g < SWAN_MLX_NGROUPS; g++)
                raw.mlx_nrmse[b][g] =
                    r->cols % (uint64_t)swan_mlx_groups[g] ? -1.0 : 0.5 / (b + 1) + 0.01 * g;
        if (swan_plan_set_raw(&e->plan, i, &raw, &err)) return -1;
    }
    swan_policy_default(&e->pol);
    if (swan_reduce_run(ck, &e->plan, &e->pol, &e->red, &err)) return -1;
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    char p[400];
    snprintf(p, sizeof p, "%s/manifest.json", e->dir);
    unlink(p);
    rmdir(e->dir);
    for (size_t i = 0; i < NW; i++) free(e->ck.tensors[i].name);
    free(e->ck.tensors);
    free(e->ck.shards[0].file);
    free(e->ck.shards[1].file);
    free(e->ck.shards);
    free(e->ck.config_json);
    swan_plan_free(&e->plan);
    swan_reduction_free(&e->red);
    free(e);
    return 0;
}

static void test_reduce_all(void **state) {
    env *e = *state;
    for (size_t i = 0; i < NW; i++) {
        const swan_decision *d = &e->red.d[i];
        if (d->bits != W[i].bits || strcmp(d->reason, W[i].reason) != 0)
            fail_msg("%s: %d bits (%s), expected %d (%s)", W[i].name, d->bits, d->reason, W[i].bits,
                     W[i].reason);
        assert_string_equal(d->classification, W[i].classification);
        assert_near(d->composite, W[i].composite, 1e-12);
    }
    assert_int_equal(e->red.total_params, TOTAL_PARAMS);
    assert_int_equal(e->red.params_by_bits[2], P2);
    assert_int_equal(e->red.params_by_bits[4], P4);
    assert_int_equal(e->red.params_by_bits[8], P8);
    assert_int_equal(e->red.params_by_bits[16], P16);
    assert_int_equal(e->red.tensors_by_bits[2], 1);
    assert_int_equal(e->red.tensors_by_bits[4], 2);
    assert_int_equal(e->red.tensors_by_bits[8], 1);
    assert_int_equal(e->red.tensors_by_bits[16], 7);
    assert_int_equal(e->red.tensor_count, NW);
    assert_int_equal(e->red.analyzed, 8);
    double bitsum = 2.0 * P2 + 4.0 * P4 + 8.0 * P8 + 16.0 * P16;
    assert_near(e->red.average_bits, bitsum / TOTAL_PARAMS, 1e-12);
    /* MLX storage by hand: b + 32/g bits per weight when quantized (groups: 2-bit 32;
     * 4-bit 128, or 64 where 128 does not divide the 64 columns; 8-bit 64), 16 for
     * matrices kept, the stored width otherwise:
     * embed 16*16384 + norm 32*64 + q 3*4096 + down 4.25*8192 + up 8.5*8192 +
     * gate 16*8192 + k 16*4096 + position_ids 64*32 + tiny 32*64 + experts 4.5*8192 +
     * lm_head 16*16384 = 880640 bits */
    assert_near(e->red.mlx_bytes, 880640.0 / 8, 0);
    assert_near(e->red.estimated_size_gb, 880640.0 / 8 / 1e9, 1e-18);
    assert_near(e->red.effective_bpw, 880640.0 / TOTAL_PARAMS, 1e-12);
    static const struct { const char *name; int group; } groups[] = {
        {"model.layers.0.self_attn.q_proj.weight", 32}, {"model.layers.0.mlp.down_proj.weight", 128},
        {"model.layers.0.mlp.up_proj.weight", 64}, {"model.experts.w", 64},
        {"model.layers.0.mlp.gate_proj.weight", 0}, {"lm_head.weight", 0}};
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
        for (size_t i = 0; i < NW; i++)
            if (strcmp(W[i].name, groups[g].name) == 0)
                assert_int_equal(e->red.d[i].group_size, groups[g].group);
}

static cJSON *read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    cJSON *root = cJSON_Parse(s);
    if (!root) fail_msg("%s is not valid JSON near: %.60s", path, cJSON_GetErrorPtr());
    free(s);
    return root;
}

static const cJSON *get(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) fail_msg("missing key \"%s\"", key);
    return v;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = get(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("\"%s\" is not a number", key);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = get(o, key);
    if (!cJSON_IsString(v)) fail_msg("\"%s\" is not a string", key);
    return v->valuestring;
}

static void write_manifest(env *e, char *path, size_t size) {
    snprintf(path, size, "%s/manifest.json", e->dir);
    swan_run_info info = {.model_name = "tiny-llama", .swan_version = "9.9.9", .analysis_seconds = 12.5,
                          .seed = 7, .fingerprint = 0xabcdef0123456789ull, .workers = 2,
                          .total_layers = 1};
    swan_output_ctx c = {&e->ck, &e->plan, &e->pol, &e->red, &info};
    swan_error err = {{0}};
    if (swan_manifest_write(path, &c, &err))
        fail_msg("manifest: %s", err.msg);
}

static void test_manifest_schema(void **state) {
    env *e = *state;
    char path[400];
    write_manifest(e, path, sizeof path);
    char tmp[420];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);

    cJSON *root = read_json(path);
    assert_string_equal(str(root, "model"), "tiny-llama");
    const cJSON *config = get(root, "config");
    assert_true(cJSON_IsObject(config));
    assert_string_equal(str(config, "model_type"), "llama");
    assert_near(num(get(config, "rope"), "theta"), 10000.0, 0);
    assert_int_equal(cJSON_GetArraySize(get(config, "names")), 2);
    assert_int_equal((int)num(root, "total_layers"), 1);
    assert_int_equal((int)num(root, "total_tensors"), (int)NW);

    const cJSON *shards = get(root, "shards");
    assert_true(cJSON_IsObject(shards));
    assert_int_equal(cJSON_GetArraySize(shards), 2);
    const char *files[2] = {SHARD0, SHARD1};
    size_t seen = 0;
    for (int s = 0; s < 2; s++) {
        const cJSON *sh = get(shards, files[s]);
        assert_string_equal(str(sh, "file"), files[s]);
        const cJSON *tensors = get(sh, "tensors");
        assert_true(cJSON_IsObject(tensors));
        for (const cJSON *t = tensors->child; t; t = t->next) {
            size_t i = 0;
            while (i < NW && strcmp(W[i].name, t->string) != 0) i++;
            if (i == NW) fail_msg("unexpected tensor %s", t->string);
            if ((int)W[i].shard != s) fail_msg("%s listed under shard %d", t->string, s);
            seen++;
            const cJSON *shape = get(t, "shape");
            assert_true(cJSON_IsArray(shape));
            assert_int_equal(cJSON_GetArraySize(shape), W[i].ndim);
            uint64_t n = 1;
            for (int k = 0; k < W[i].ndim; k++) {
                const cJSON *dim = cJSON_GetArrayItem(shape, k);
                assert_true(cJSON_IsNumber(dim));
                assert_int_equal((uint64_t)dim->valuedouble, W[i].shape[k]);
                n *= W[i].shape[k];
            }
            assert_string_equal(str(t, "dtype"), swan_dtype_name(W[i].dtype));
            assert_int_equal((uint64_t)num(t, "num_params"), n);
            assert_string_equal(str(t, "classification"), W[i].classification);
            /* The manifest prints 10 significant digits (exact values live in the journal). */
            const cJSON *sc = get(t, "scores");
            assert_near(num(sc, "svd"), W[i].s_svd, 1e-9);
            assert_near(num(sc, "kurtosis"), W[i].s_kurt, 1e-9);
            assert_near(num(sc, "output_sensitivity"), W[i].s_out, 1e-9);
            assert_near(num(sc, "error_proxy"), W[i].s_err, 1e-9);
            assert_near(num(t, "composite_score"), W[i].composite, 1e-9);
            const cJSON *dec = get(t, "decision");
            assert_int_equal((int)num(dec, "bits"), W[i].bits);
            assert_string_equal(str(dec, "reason"), W[i].reason);
            /* the raw metrics of analyzed tensors */
            const cJSON *raw = cJSON_GetObjectItemCaseSensitive(t, "raw");
            if (W[i].has_raw == 1) {
                if (!raw) fail_msg("%s: no raw metrics", W[i].name);
                assert_near(num(raw, "svd_concentration"), W[i].c, 0);
                assert_near(num(raw, "kurtosis"), W[i].k, 0);
                assert_near(num(raw, "output_delta"), W[i].d, 0);
                assert_near(num(raw, "rtn_nrmse_4b_g128"), W[i].e, 0);
                /* raw.mlx_nrmse: {"<bits>": {"<group>": e}} for the group sizes that
                 * divide the columns only */
                const cJSON *mx = get(raw, "mlx_nrmse");
                const swan_tensor_rec *rec = &e->plan.recs[i];
                bool any = rec->cols % 32 == 0;
                assert_int_equal(cJSON_GetArraySize(mx), any ? SWAN_MLX_NBITS : 0);
                for (int b = 0; any && b < SWAN_MLX_NBITS; b++) {
                    char key[8];
                    snprintf(key, sizeof key, "%d", swan_mlx_bits[b]);
                    const cJSON *row = get(mx, key);
                    int n = 0;
                    for (int g = 0; g < SWAN_MLX_NGROUPS; g++) {
                        snprintf(key, sizeof key, "%d", swan_mlx_groups[g]);
                        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
                        if (rec->cols % (uint64_t)swan_mlx_groups[g]) {
                            assert_null(v);
                            continue;
                        }
                        n++;
                        assert_near(num(row, key), 0.5 / (b + 1) + 0.01 * g, 1e-9);
                    }
                    assert_int_equal(cJSON_GetArraySize(row), n);
                }
            } else {
                assert_null(raw);
            }
            if (W[i].has_raw == 2) assert_int_equal((int)num(t, "non_finite_count"), 5);
        }
    }
    assert_int_equal(seen, NW);

    /* the 3-D experts tensor keeps its real shape and parameter count */
    const cJSON *ex = get(get(get(shards, SHARD1), "tensors"), "model.experts.w");
    assert_int_equal((int)num(ex, "num_params"), 8 * 16 * 64);

    const cJSON *sum = get(root, "summary");
    assert_int_equal((uint64_t)num(sum, "total_params"), TOTAL_PARAMS);
    const cJSON *dist = get(sum, "bits_distribution");
    assert_int_equal(cJSON_GetArraySize(dist), 4);
    const char *keys[4] = {"2", "4", "8", "16"};
    const uint64_t params[4] = {P2, P4, P8, P16};
    double pct_sum = 0, bitsum = 0;
    for (int b = 0; b < 4; b++) {
        const cJSON *x = get(dist, keys[b]);
        assert_int_equal((uint64_t)num(x, "params"), params[b]);
        double pct = num(x, "percentage");
        assert_near(pct, 100.0 * (double)params[b] / (double)TOTAL_PARAMS, 1e-7);
        pct_sum += pct;
        bitsum += (double)(2 << b) * (double)params[b];
    }
    assert_near(pct_sum, 100.0, 1e-6);
    /* 2*4096 + 4*16384 + 8*8192 + 16*45216 = 862720 bits over 73888 params */
    assert_near(bitsum, 862720.0, 0);
    assert_near(num(sum, "average_bits"), 862720.0 / 73888.0, 1e-8);
    assert_near(num(sum, "estimated_size_gb"), 880640.0 / 8.0 / 1e9, 1e-14);
    assert_near(num(sum, "mlx_bytes"), 880640.0 / 8.0, 0);
    /* all timing in one block, none of it elsewhere */
    assert_null(cJSON_GetObjectItemCaseSensitive(sum, "analysis_time_seconds"));
    assert_near(num(get(root, "timing"), "analysis_time_seconds"), 12.5, 0);
    const cJSON *settings = get(root, "swan");
    assert_string_equal(str(settings, "version"), "9.9.9");
    assert_string_equal(str(settings, "checkpoint_fingerprint"), "abcdef0123456789");
    assert_string_equal(str(settings, "policy"), "swan");
    assert_string_equal(str(settings, "normalize"), "fixed");
    assert_int_equal((int)num(sum, "tensor_count"), (int)NW);
    cJSON_Delete(root);
}

static void test_manifest_overwrites(void **state) {
    env *e = *state;
    char path[400];
    snprintf(path, sizeof path, "%s/manifest.json", e->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("stale", f);
    fclose(f);
    write_manifest(e, path, sizeof path);
    cJSON *root = read_json(path);
    assert_string_equal(str(root, "model"), "tiny-llama");
    cJSON_Delete(root);
}

static void test_manifest_without_config(void **state) {
    env *e = *state;
    char *cfg = e->ck.config_json;
    e->ck.config_json = NULL;
    char path[400];
    write_manifest(e, path, sizeof path);
    e->ck.config_json = cfg;
    cJSON *root = read_json(path);
    const cJSON *config = get(root, "config");
    assert_true(cJSON_IsObject(config));
    assert_int_equal(cJSON_GetArraySize(config), 0);
    cJSON_Delete(root);
}

static void test_manifest_bad_dir(void **state) {
    env *e = *state;
    char path[400], tmp[420];
    snprintf(path, sizeof path, "%s/missing/manifest.json", e->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    swan_run_info info = {.model_name = "m", .total_layers = 1};
    swan_output_ctx c = {&e->ck, &e->plan, &e->pol, &e->red, &info};
    swan_error err = {{0}};
    assert_int_equal(swan_manifest_write(path, &c, &err), -1);
    assert_true(strlen(err.msg) > 0);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(tmp, F_OK), -1);
}

/* The reachable range of a budget (swan_reduce_reach), by hand from the table above.
 * Fixed, whatever the budget: embed_tokens and lm_head (protected, 16 x 16384 each),
 * k_proj (non-finite: 16 x 4096), the layernorm and the tiny tensor (F32: 32 x 64
 * each), position_ids (I64: 64 x 32). Units at their cheapest: 2 bits plus 32/g with
 * the largest group dividing their columns (64 -> 2.5, 128 -> 2.25), at their dearest
 * 16 bits. */
#define FIXED_BITS (2 * 16.0 * 16384 + 16.0 * 4096 + 2 * 32.0 * 64 + 64.0 * 32)
#define UNIT_PARAMS (4096.0 + 4 * 8192)
#define UNITS_LO (2.5 * 4096 + 2.25 * 8192 + 2.5 * 3 * 8192)
static void test_reach(void **state) {
    env *e = *state;
    swan_error err = {{0}};
    swan_reach r;
    assert_int_equal(swan_reduce_reach(&e->ck, &e->plan, &e->pol, false, &r, &err), 0);
    assert_near(r.lo_bits, FIXED_BITS + UNITS_LO, 1e-6);
    assert_near(r.hi_bits, FIXED_BITS + 16 * UNIT_PARAMS, 1e-6);
    assert_near(r.params, (double)TOTAL_PARAMS, 0);
    /* the same range swan_reduce_run reports (one function computes both) */
    assert_near(e->red.min_bpw, r.lo_bits / r.params, 1e-12);
    assert_near(e->red.max_bpw, r.hi_bits / r.params, 1e-12);
    /* nothing pending: assuming pending matrices changes nothing */
    swan_reach same;
    assert_int_equal(swan_reduce_reach(&e->ck, &e->plan, &e->pol, true, &same, &err), 0);
    assert_near(same.lo_bits, r.lo_bits, 0);
    assert_near(same.hi_bits, r.hi_bits, 0);

    /* Before the analysis (no raw metrics): every matrix counts as analyzable, so
     * k_proj is a unit too (2.5 bits at its cheapest) and the minimum is lower; the
     * maximum is the same. Without assume_pending, they stay 16-bit. */
    swan_raw_metrics *had[NW];
    for (size_t i = 0; i < NW; i++) had[i] = e->plan.recs[i].raw, e->plan.recs[i].raw = NULL;
    swan_reach pre, none;
    assert_int_equal(swan_reduce_reach(&e->ck, &e->plan, &e->pol, true, &pre, &err), 0);
    assert_int_equal(swan_reduce_reach(&e->ck, &e->plan, &e->pol, false, &none, &err), 0);
    for (size_t i = 0; i < NW; i++) e->plan.recs[i].raw = had[i];
    assert_near(pre.lo_bits, r.lo_bits - (16 - 2.5) * 4096, 1e-6);
    assert_near(pre.hi_bits, r.hi_bits, 1e-6);
    assert_near(none.lo_bits, none.hi_bits, 0);

    /* Protection is part of the range: without the built-in list, embed_tokens and
     * lm_head (64 columns) can go down to 2.5 bits as well. */
    swan_policy np = e->pol;
    np.builtin_protect = false;
    swan_reach nr;
    assert_int_equal(swan_reduce_reach(&e->ck, &e->plan, &np, false, &nr, &err), 0);
    assert_near(nr.lo_bits, r.lo_bits - 2 * (16 - 2.5) * 16384, 1e-6);
}

/* The refusal: inside the range passes, either side is refused with the range. */
static void test_check_target(void **state) {
    env *e = *state;
    swan_error err = {{0}};
    swan_reach r = {1000.0, 8000.0, 500.0}; /* 2 to 16 bits per weight */
    swan_policy p = e->pol;
    assert_int_equal(swan_reduce_check_target(&p, &r, &err), 0); /* no budget: nothing to check */
    assert_int_equal(swan_policy_parse_target_bpw(&p, "2", &err), 0);
    assert_int_equal(swan_reduce_check_target(&p, &r, &err), 0);
    assert_int_equal(swan_policy_parse_target_bpw(&p, "16", &err), 0);
    assert_int_equal(swan_reduce_check_target(&p, &r, &err), 0);
    assert_int_equal(swan_policy_parse_target_bpw(&p, "1.99", &err), 0);
    assert_int_equal(swan_reduce_check_target(&p, &r, &err), SWAN_REDUCE_UNREACHABLE);
    assert_string_equal(err.msg, "--target-bpw 1.99 is outside what this model can reach: 2.0000 to "
                                 "16.0000 bits per weight");
    swan_policy_default(&p);
    assert_int_equal(swan_policy_parse_target_size(&p, "1001B", &err), 0);
    assert_int_equal(swan_reduce_check_target(&p, &r, &err), SWAN_REDUCE_UNREACHABLE);
    assert_non_null(strstr(err.msg, "--target-size 1001 bytes is outside what this model can reach: "
                                    "125 to 1000 bytes"));
    assert_int_equal(swan_policy_parse_target_size(&p, "1000B", &err), 0);
    assert_int_equal(swan_reduce_check_target(&p, &r, &err), 0);
}

/* The per-width table the manifest, the report and the printed summary share
 * (outputs.c): which widths each lists, and the exact JSON both write (the bytes
 * manifest.c and report.c wrote each with its own loop before). */
static char *widths_json(const swan_reduction *s, bool published) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    swan_jw w;
    swan_jw_init(&w, f, 0);
    swan_output_write_widths(&w, s, published);
    fclose(f);
    return buf;
}

static void test_width_table(void **state) {
    (void)state;
    swan_reduction s;
    memset(&s, 0, sizeof s);
    s.total_params = 400;
    s.params_by_bits[3] = 100, s.tensors_by_bits[3] = 1;
    s.params_by_bits[16] = 300, s.tensors_by_bits[16] = 2;
    int widths[7];
    assert_int_equal(swan_output_widths(&s, true, widths), 5);
    const int published[5] = {2, 3, 4, 8, 16};
    for (int i = 0; i < 5; i++) assert_int_equal(widths[i], published[i]);
    assert_int_equal(swan_output_widths(&s, false, widths), 2);
    assert_int_equal(widths[0], 3);
    assert_int_equal(widths[1], 16);
    char *a = widths_json(&s, true), *b = widths_json(&s, false);
    assert_string_equal(a, "{\"2\":{\"params\":0,\"tensors\":0,\"percentage\":0},"
                           "\"3\":{\"params\":100,\"tensors\":1,\"percentage\":25},"
                           "\"4\":{\"params\":0,\"tensors\":0,\"percentage\":0},"
                           "\"8\":{\"params\":0,\"tensors\":0,\"percentage\":0},"
                           "\"16\":{\"params\":300,\"tensors\":2,\"percentage\":75}}");
    assert_string_equal(b, "{\"3\":{\"tensors\":1,\"percentage\":25},"
                           "\"16\":{\"tensors\":2,\"percentage\":75}}");
    free(a);
    free(b);
    s.total_params = 0; /* an empty model: shares are 0, not NaN */
    assert_true(swan_output_width_share(&s, 16) == 0.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_width_table),
        cmocka_unit_test_setup_teardown(test_reduce_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_without_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_bad_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
