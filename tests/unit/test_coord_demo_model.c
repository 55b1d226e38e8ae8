/* test_coord_demo_model.c: the demo checkpoint is a valid, deterministic, two-shard
 * Qwen3-shaped safetensors model with LLM-like weight statistics. Written small
 * (hidden 128, 2 layers, vocab 512) into a temporary directory and read back through
 * swan_checkpoint_open and by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "common/checkpoint.h"
#include "common/prng.h"
#include "coordinator/demo_model.h"

#define H 128
#define I 256
#define L 2
#define V 512

static const char *const SHARD1 = "model-00001-of-00002.safetensors";
static const char *const SHARD2 = "model-00002-of-00002.safetensors";

static void small_opts(swan_demo_opts *o, uint64_t seed) {
    swan_demo_default_opts(o);
    o->hidden = H;
    o->intermediate = I;
    o->layers = L;
    o->vocab = V;
    o->seed = seed;
}

static char *make_tmpdir(void) {
    char tmpl[] = "/tmp/swan_demo_test_XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(path);
        else unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static char *write_demo(uint64_t seed) {
    char *dir = make_tmpdir();
    swan_demo_opts o;
    small_opts(&o, seed);
    swan_error err = {{0}};
    if (swan_demo_model_write(dir, &o, &err) != 0) fail_msg("demo write failed: %s", err.msg);
    return dir;
}

static unsigned char *slurp(const char *dir, const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The expected table, in file order. */
typedef struct expect { char name[96]; int ndim; uint64_t d0, d1; } expect;

static size_t expected_tensors(expect *e) {
    size_t n = 0;
#define ADD(nm, nd, a, b) do { snprintf(e[n].name, sizeof e[n].name, "%s", nm); e[n].ndim = nd; e[n].d0 = a; e[n].d1 = b; n++; } while (0)
    ADD("model.embed_tokens.weight", 2, V, H);
    char nm[96];
    static const struct { const char *s; int nd; uint64_t a, b; } per[] = {
        {"input_layernorm.weight", 1, H, 0},        {"self_attn.q_proj.weight", 2, H, H},
        {"self_attn.k_proj.weight", 2, H / 2, H},   {"self_attn.v_proj.weight", 2, H / 2, H},
        {"self_attn.o_proj.weight", 2, H, H},       {"self_attn.q_norm.weight", 1, 64, 0},
        {"self_attn.k_norm.weight", 1, 64, 0},      {"post_attention_layernorm.weight", 1, H, 0},
        {"mlp.gate_proj.weight", 2, I, H},          {"mlp.up_proj.weight", 2, I, H},
        {"mlp.down_proj.weight", 2, H, I},
    };
    for (int l = 0; l < L; l++)
        for (size_t k = 0; k < sizeof per / sizeof per[0]; k++) {
            snprintf(nm, sizeof nm, "model.layers.%d.%s", l, per[k].s);
            ADD(nm, per[k].nd, per[k].a, per[k].b);
        }
    ADD("model.norm.weight", 1, H, 0);
    ADD("lm_head.weight", 2, V, H);
#undef ADD
    return n;
}

/* Reads a tensor's BF16 values as floats through the checkpoint's offsets. */
static float *read_values(const swan_checkpoint *ck, const swan_tensor *t) {
    FILE *f = fopen(ck->shards[t->shard].path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)t->offset, SEEK_SET), 0);
    unsigned char *raw = malloc(t->nbytes);
    float *v = malloc(t->nelem * sizeof *v);
    assert_non_null(raw);
    assert_non_null(v);
    assert_int_equal(fread(raw, 1, t->nbytes, f), t->nbytes);
    fclose(f);
    for (uint64_t i = 0; i < t->nelem; i++) {
        uint32_t u = (uint32_t)(raw[2 * i] | (raw[2 * i + 1] << 8)) << 16;
        memcpy(&v[i], &u, sizeof u);
    }
    free(raw);
    return v;
}

/* float32 -> bf16 bits, round to nearest even, written independently of the code
 * under test (the arithmetic of st.py's f32_to_bf16). */
static uint16_t ref_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t lsb = (u >> 16) & 1u;
    uint32_t rounding = 0x7FFFu + lsb;
    return (uint16_t)(((uint64_t)u + rounding) >> 16);
}

static void test_structure_and_values(void **state) {
    (void)state;
    char *dir = write_demo(7);
    swan_checkpoint ck;
    swan_error err = {{0}};
    if (swan_checkpoint_open(dir, &ck, &err) != 0) fail_msg("open failed: %s", err.msg);

    expect ex[64];
    size_t n = expected_tensors(ex);
    assert_int_equal(ck.ntensors, n);
    assert_int_equal(ck.nshards, 2);
    assert_true(ck.has_index);
    assert_int_equal(ck.ignored_tensors, 0);
    /* the checkpoint sorts by shard then offset, which is the order written */
    uint64_t shard_bytes[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const swan_tensor *t = &ck.tensors[i];
        assert_string_equal(t->name, ex[i].name);
        assert_int_equal(t->dtype, SWAN_DT_BF16);
        assert_int_equal(t->ndim, ex[i].ndim);
        assert_int_equal(t->shape[0], ex[i].d0);
        if (ex[i].ndim == 2) assert_int_equal(t->shape[1], ex[i].d1);
        shard_bytes[t->shard] += t->nbytes;
    }
    assert_string_equal(ck.shards[ck.tensors[0].shard].file, SHARD1);
    assert_string_equal(ck.shards[ck.tensors[n - 1].shard].file, SHARD2);
    uint64_t total = shard_bytes[0] + shard_bytes[1];
    assert_true(shard_bytes[0] > total / 4 && shard_bytes[1] > total / 4); /* about half each */

    /* config.json describes the shapes */
    assert_non_null(ck.config_json);
    cJSON *cfg = cJSON_Parse(ck.config_json);
    assert_non_null(cfg);
    assert_string_equal(cJSON_GetObjectItem(cfg, "model_type")->valuestring, "qwen3");
    assert_int_equal(cJSON_GetObjectItem(cfg, "hidden_size")->valueint, H);
    assert_int_equal(cJSON_GetObjectItem(cfg, "intermediate_size")->valueint, I);
    assert_int_equal(cJSON_GetObjectItem(cfg, "num_hidden_layers")->valueint, L);
    assert_int_equal(cJSON_GetObjectItem(cfg, "vocab_size")->valueint, V);
    assert_int_equal(cJSON_GetObjectItem(cfg, "num_attention_heads")->valueint *
                         cJSON_GetObjectItem(cfg, "head_dim")->valueint, H);
    cJSON_Delete(cfg);

    /* values: finite; matrices with std near 1/sqrt(cols), kurtosis spread across
     * tensors; norms 1 + 0.1 N(0,1) rounded to BF16 (checked bit for bit against the
     * demo's documented recipe: PRNG stream 101 keyed by seed and name) */
    double kmin = 1e9, kmax = -1e9;
    for (size_t i = 0; i < n; i++) {
        const swan_tensor *t = &ck.tensors[i];
        float *v = read_values(&ck, t);
        double s1 = 0, s2 = 0;
        for (uint64_t j = 0; j < t->nelem; j++) {
            assert_true(isfinite(v[j]));
            s1 += v[j];
        }
        double mean = s1 / (double)t->nelem, m4 = 0;
        for (uint64_t j = 0; j < t->nelem; j++) {
            double c = v[j] - mean;
            s2 += c * c;
            m4 += c * c * c * c;
        }
        double var = s2 / (double)t->nelem, sd = sqrt(var);
        if (t->ndim == 1) {
            assert_true(fabs(mean - 1.0) < 0.05);
            assert_true(sd > 0.07 && sd < 0.13);
            uint64_t key = swan_prng_key(7, t->name);
            double z[256];
            assert_true(t->nelem <= 256);
            swan_prng_normal(key, 101, 0, z, t->nelem);
            for (uint64_t j = 0; j < t->nelem; j++) {
                float want_f;
                uint32_t u = (uint32_t)ref_bf16((float)(1.0 + 0.1 * z[j])) << 16;
                memcpy(&want_f, &u, sizeof u);
                assert_true(v[j] == want_f);
            }
        } else {
            double unit = 1.0 / sqrt((double)t->shape[1]);
            if (sd < 0.8 * unit || sd > 8.0 * unit)
                fail_msg("%s: std %g, expected about %g", t->name, sd, unit);
            assert_true(fabs(mean) < 0.5 * unit);
            double k = m4 / (double)t->nelem / (var * var) - 3.0;
            if (k < kmin) kmin = k;
            if (k > kmax) kmax = k;
        }
        free(v);
    }
    assert_true(kmin < 1.0);  /* Gaussian-like tensors ...                 */
    assert_true(kmax > 3.0);  /* ... and heavy-tailed ones from outliers   */
    swan_checkpoint_free(&ck);

    /* the index: total_size and a weight_map naming the right shard for each tensor */
    size_t len;
    char *idx = (char *)slurp(dir, "model.safetensors.index.json", &len);
    cJSON *root = cJSON_Parse(idx);
    assert_non_null(root);
    cJSON *meta = cJSON_GetObjectItem(root, "metadata");
    assert_true(cJSON_GetObjectItem(meta, "total_size")->valuedouble == (double)total);
    cJSON *wm = cJSON_GetObjectItem(root, "weight_map");
    assert_int_equal(cJSON_GetArraySize(wm), (int)n);
    assert_string_equal(cJSON_GetObjectItem(wm, "model.embed_tokens.weight")->valuestring, SHARD1);
    assert_string_equal(cJSON_GetObjectItem(wm, "lm_head.weight")->valuestring, SHARD2);
    cJSON_Delete(root);
    free(idx);

    /* each shard: 8-byte LE length, header padded with spaces to a multiple of 8,
     * format metadata; and no temporary files are left behind */
    const char *files[2] = {SHARD1, SHARD2};
    for (int s = 0; s < 2; s++) {
        unsigned char *b = slurp(dir, files[s], &len);
        uint64_t hl = 0;
        for (int k = 7; k >= 0; k--) hl = (hl << 8) | b[k];
        assert_true(hl % 8 == 0);
        assert_true(8 + hl <= len);
        cJSON *h = cJSON_ParseWithLength((const char *)b + 8, hl);
        assert_non_null(h);
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "__metadata__"), "format")->valuestring,
                            "pt");
        cJSON_Delete(h);
        free(b);
    }
    DIR *d = opendir(dir);
    assert_non_null(d);
    int nfiles = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') nfiles++;
        else assert_true(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."));
    closedir(d);
    assert_int_equal(nfiles, 4);
    remove_tree(dir);
    free(dir);
}

static void test_deterministic(void **state) {
    (void)state;
    char *a = write_demo(3), *b = write_demo(3), *c = write_demo(4);
    const char *files[4] = {SHARD1, SHARD2, "model.safetensors.index.json", "config.json"};
    for (int i = 0; i < 4; i++) {
        size_t la, lb, lc;
        unsigned char *fa = slurp(a, files[i], &la), *fb = slurp(b, files[i], &lb), *fc = slurp(c, files[i], &lc);
        assert_int_equal(la, lb);
        assert_memory_equal(fa, fb, la);
        assert_int_equal(la, lc); /* same shapes ... */
        if (i < 2) assert_memory_not_equal(fa, fc, la); /* ... other weights */
        free(fa);
        free(fb);
        free(fc);
    }
    remove_tree(a);
    remove_tree(b);
    remove_tree(c);
    free(a);
    free(b);
    free(c);
}

static void test_bad_options_and_paths(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    swan_demo_opts o;
    swan_error err = {{0}};
    small_opts(&o, 1);
    o.hidden = 100; /* not a multiple of 128 */
    assert_int_equal(swan_demo_model_write(dir, &o, &err), -1);
    assert_non_null(strstr(err.msg, "hidden"));
    small_opts(&o, 1);
    o.layers = 0;
    assert_int_equal(swan_demo_model_write(dir, &o, &err), -1);
    assert_non_null(strstr(err.msg, "layer"));

    /* a file where a directory should be */
    char path[4096];
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/file/sub", dir);
    small_opts(&o, 1);
    assert_int_equal(swan_demo_model_write(path, &o, &err), -1);
    assert_non_null(strstr(err.msg, "file"));

    /* nested directories are created */
    snprintf(path, sizeof path, "%s/x/y/demo", dir);
    if (swan_demo_model_write(path, &o, &err) != 0) fail_msg("%s", err.msg);
    size_t len;
    free(slurp(path, "config.json", &len));
    remove_tree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_and_values),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bad_options_and_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
