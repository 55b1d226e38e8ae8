/* demo_model.c: writes the synthetic checkpoint that `swan demo` analyzes.
 *
 * The weights follow the recipe of the project's make_model.py `realistic()`: a
 * Gaussian bulk N(0,1)/sqrt(n), a low-rank part with 1/i decaying factors (spectral
 * concentration), sparse multiplied outliers (kurtosis) and sometimes a few outlier
 * columns, each with per-tensor random strength, so that the metrics spread and the
 * allocation uses several bit widths. Every random number comes from the counter-based
 * PRNG keyed by (seed, tensor name), so the files are a pure function of the options.
 *
 * Memory stays flat: a safetensors header depends only on shapes, so each shard's
 * header is written first and then every tensor is generated and written a block of
 * rows at a time. Each file is written under a temporary name and renamed when
 * complete; the index goes first, so a directory left by a crash names a shard that
 * is missing and fails to open instead of passing for a smaller model. */
#include "coordinator/demo_model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/json_writer.h"
#include "common/prng.h"

#define HEAD_DIM 64
#define NSHARDS 2
#define NAME_MAX_LEN 96
#define BLOCK_ELEMS 65536 /* elements generated per step */

/* PRNG streams of the demo, apart from the metric streams of prng.h. */
enum {
    ST_BULK = 101,   /* Gaussian bulk (and norm weights)          */
    ST_PARAM = 102,  /* per-tensor strengths                      */
    ST_LR_A = 103,   /* low-rank left factor  (m x r)             */
    ST_LR_B = 104,   /* low-rank right factor (r x n)             */
    ST_SPARSE = 105, /* positions of sparse outliers              */
    ST_COLS = 106    /* outlier columns                           */
};

typedef struct demo_tensor {
    char name[NAME_MAX_LEN];
    uint64_t rows, cols; /* a 1-D norm vector has rows == 0 */
    uint64_t nbytes;
    uint64_t begin;      /* offset in its shard's data section */
    int shard;
} demo_tensor;

static const char *const shard_file[NSHARDS] = {
    "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};

void swan_demo_default_opts(swan_demo_opts *o) {
    o->hidden = 512;
    o->intermediate = 1536;
    o->layers = 6;
    o->vocab = 8192;
    o->seed = 1;
}

static int check_opts(const swan_demo_opts *o, swan_error *err) {
    /* q has hidden/64 heads and k/v half as many: hidden must split into both. */
    if (o->hidden == 0 || o->hidden % (2 * HEAD_DIM) != 0 || o->hidden > 65536)
        return swan_error_set(err, "demo: hidden size %u must be a positive multiple of %d, at most 65536",
                              o->hidden, 2 * HEAD_DIM);
    if (o->intermediate == 0 || o->intermediate > (1u << 18))
        return swan_error_set(err, "demo: intermediate size %u must be in 1..%u", o->intermediate, 1u << 18);
    if (o->layers == 0 || o->layers > 1024)
        return swan_error_set(err, "demo: layer count %u must be in 1..1024", o->layers);
    if (o->vocab == 0 || o->vocab > (1u << 22))
        return swan_error_set(err, "demo: vocabulary size %u must be in 1..%u", o->vocab, 1u << 22);
    return 0;
}

/* ---- tensor table ------------------------------------------------------------- */

static void add(demo_tensor *t, size_t *n, const char *name, uint64_t rows, uint64_t cols) {
    demo_tensor *d = &t[(*n)++];
    snprintf(d->name, sizeof d->name, "%s", name);
    d->rows = rows;
    d->cols = cols;
    d->nbytes = 2 * cols * (rows ? rows : 1);
}

/* Qwen3 order: embeddings, per layer norm/attention/norm/MLP, final norm, lm_head. */
static demo_tensor *build_table(const swan_demo_opts *o, size_t *count) {
    uint64_t h = o->hidden, in = o->intermediate, v = o->vocab;
    demo_tensor *t = calloc(3 + (size_t)o->layers * 11, sizeof *t);
    if (!t) return NULL;
    size_t n = 0;
    char name[NAME_MAX_LEN];
    add(t, &n, "model.embed_tokens.weight", v, h);
    for (uint32_t l = 0; l < o->layers; l++) {
#define LAYER(suffix, r, c)                                                   \
    do {                                                                      \
        snprintf(name, sizeof name, "model.layers.%u.%s", l, suffix);         \
        add(t, &n, name, r, c);                                               \
    } while (0)
        LAYER("input_layernorm.weight", 0, h);
        LAYER("self_attn.q_proj.weight", h, h);
        LAYER("self_attn.k_proj.weight", h / 2, h);
        LAYER("self_attn.v_proj.weight", h / 2, h);
        LAYER("self_attn.o_proj.weight", h, h);
        LAYER("self_attn.q_norm.weight", 0, HEAD_DIM);
        LAYER("self_attn.k_norm.weight", 0, HEAD_DIM);
        LAYER("post_attention_layernorm.weight", 0, h);
        LAYER("mlp.gate_proj.weight", in, h);
        LAYER("mlp.up_proj.weight", in, h);
        LAYER("mlp.down_proj.weight", h, in);
#undef LAYER
    }
    add(t, &n, "model.norm.weight", 0, h);
    add(t, &n, "lm_head.weight", v, h);
    *count = n;
    return t;
}

/* Splits the tensors, in order, into two shards of about half the bytes each: a
 * tensor goes to the first shard while its midpoint lies in the first half. Both
 * shards get at least one tensor. Fills shard and begin. */
static void assign_shards(demo_tensor *t, size_t n, uint64_t total) {
    uint64_t cum = 0, off[NSHARDS] = {0, 0};
    int s = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == n - 1 || (i > 0 && 2 * cum + t[i].nbytes > total)) s = 1;
        t[i].shard = s;
        t[i].begin = off[s];
        off[s] += t[i].nbytes;
        cum += t[i].nbytes;
    }
}

/* Each file is written through common/atomic_file: under a temporary name, synced
 * and renamed, so a crash never leaves a complete-looking shard. */
static int af_open(swan_atomic_file *af, const char *dir, const char *name, swan_error *err) {
    char path[SWAN_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return swan_error_set(err, "demo: path too long in %s", dir);
    if (swan_atomic_open(af, path, err) != 0) return swan_error_prefix(err, "demo");
    return 0;
}

static int af_commit(swan_atomic_file *af, swan_error *err) {
    if (swan_atomic_commit(af, err) != 0) return swan_error_prefix(err, "demo");
    return 0;
}

/* mkdir -p: creates each missing component of dir. */
static int make_dirs(const char *dir, swan_error *err) {
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path) return swan_error_set(err, "demo: bad directory name '%s'", dir);
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return swan_error_set(err, "demo: cannot create directory %s: %s", path, strerror(errno));
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return swan_error_set(err, "demo: %s is not a directory", dir);
    return 0;
}

/* ---- weights -------------------------------------------------------------------- */

/* float32 -> bfloat16 bits, round to nearest even (as st.py's f32_to_bf16). */
static uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint64_t r = ((uint64_t)u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    return (uint16_t)r;
}

static void put_bf16(unsigned char *dst, float f) {
    uint16_t b = f32_to_bf16(f);
    dst[0] = (unsigned char)(b & 0xFF); /* little-endian whatever the host */
    dst[1] = (unsigned char)(b >> 8);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The per-tensor random structure of one matrix (see the file comment). */
typedef struct matrix_recipe {
    uint64_t key, m, n;
    double scale;
    uint32_t rank;     /* 0: no low-rank part */
    float *lr_b;       /* rank x n, already scaled by decay * scale * lr / sqrt(rank) */
    uint64_t *sparse;  /* sorted flat positions of multiplied outliers */
    size_t nsparse;
    double sparse_mul;
    float *col_mul;    /* n factors, 1 except outlier columns; NULL if none */
} matrix_recipe;

static void recipe_free(matrix_recipe *r) {
    free(r->lr_b);
    free(r->sparse);
    free(r->col_mul);
}

static int recipe_make(matrix_recipe *r, uint64_t key, uint64_t m, uint64_t n) {
    memset(r, 0, sizeof *r);
    r->key = key;
    r->m = m;
    r->n = n;
    r->scale = 1.0 / sqrt((double)n);
    float u[7];
    swan_prng_uniform(key, ST_PARAM, 0, u, 7);
    uint32_t rank = 4 + (uint32_t)(u[0] * 29.0f);      /* 4..32 */
    double lr = 3.0 * u[1];                             /* low-rank strength */
    double frac = pow(10.0, -6.5 + 2.5 * u[2]);         /* sparse outlier fraction */
    r->sparse_mul = 4.0 + 16.0 * u[3];
    bool has_cols = u[4] < 0.15f;
    uint32_t ncols = 1 + (uint32_t)(u[5] * 5.0f);       /* 1..5 */
    double col_factor = 2.0 + 4.0 * u[6];

    if (lr > 0.2) {
        r->rank = rank;
        r->lr_b = malloc((size_t)rank * n * sizeof *r->lr_b);
        double *row = malloc(n * sizeof *row);
        if (!r->lr_b || !row) { free(row); return -1; }
        double amp = r->scale * lr / sqrt((double)rank);
        for (uint32_t k = 0; k < rank; k++) {
            swan_prng_normal(key, ST_LR_B, (uint64_t)k * n, row, n);
            for (uint64_t j = 0; j < n; j++) r->lr_b[k * n + j] = (float)(row[j] * amp / (k + 1));
        }
        free(row);
    }

    uint64_t total = m * n;
    double want = frac * (double)total;
    r->nsparse = want < 1.0 ? 1 : (size_t)want;
    r->sparse = malloc(r->nsparse * sizeof *r->sparse);
    if (!r->sparse) return -1;
    for (size_t t = 0; t < r->nsparse; t++) r->sparse[t] = swan_prng_bits(key, ST_SPARSE, t) % total;
    qsort(r->sparse, r->nsparse, sizeof *r->sparse, cmp_u64);

    if (has_cols) {
        r->col_mul = malloc(n * sizeof *r->col_mul);
        if (!r->col_mul) return -1;
        for (uint64_t j = 0; j < n; j++) r->col_mul[j] = 1.0f;
        /* A repeated column is multiplied once, as numpy's w[:, cols] *= f does. */
        for (uint32_t c = 0; c < ncols; c++)
            r->col_mul[swan_prng_bits(key, ST_COLS, c) % n] = (float)col_factor;
    }
    return 0;
}

/* Writes rows [i0, i1) of the matrix as BF16 into out (2 bytes per element).
 * bulk is scratch of (i1-i0)*n doubles; *next_sparse walks the sorted outliers. */
static void recipe_rows(const matrix_recipe *r, uint64_t i0, uint64_t i1, double *bulk,
                        size_t *next_sparse, unsigned char *out) {
    uint64_t n = r->n, cnt = (i1 - i0) * n;
    swan_prng_normal(r->key, ST_BULK, i0 * n, bulk, cnt);
    for (uint64_t e = 0; e < cnt; e++) bulk[e] *= r->scale;
    if (r->rank) {
        double a[32];
        for (uint64_t i = i0; i < i1; i++) {
            double *row = bulk + (i - i0) * n;
            swan_prng_normal(r->key, ST_LR_A, i * r->rank, a, r->rank);
            for (uint32_t k = 0; k < r->rank; k++) {
                const float *b = r->lr_b + (size_t)k * n;
                for (uint64_t j = 0; j < n; j++) row[j] += a[k] * b[j];
            }
        }
    }
    /* Sparse outliers in this block; duplicates count once, like numpy fancy indexing. */
    uint64_t lo = i0 * n, hi = i1 * n;
    size_t s = *next_sparse;
    while (s < r->nsparse && r->sparse[s] < hi) {
        if (r->sparse[s] >= lo && (s == 0 || r->sparse[s] != r->sparse[s - 1]))
            bulk[r->sparse[s] - lo] *= r->sparse_mul;
        s++;
    }
    *next_sparse = s;
    for (uint64_t e = 0; e < cnt; e++) {
        float v = (float)bulk[e];
        if (r->col_mul) v *= r->col_mul[e % n];
        put_bf16(out + 2 * e, v);
    }
}

/* Generates one tensor and appends its bytes to f. */
static int write_tensor(FILE *f, const demo_tensor *t, uint64_t seed, swan_error *err) {
    uint64_t key = swan_prng_key(seed, t->name);
    if (t->rows == 0) { /* norm weight: 1 + 0.1 N(0,1) */
        enum { CHUNK = 1024 };
        double v[CHUNK];
        unsigned char b[2 * CHUNK];
        for (uint64_t j0 = 0; j0 < t->cols; j0 += CHUNK) {
            size_t cnt = t->cols - j0 < CHUNK ? (size_t)(t->cols - j0) : CHUNK;
            swan_prng_normal(key, ST_BULK, j0, v, cnt);
            for (size_t j = 0; j < cnt; j++) put_bf16(b + 2 * j, (float)(1.0 + 0.1 * v[j]));
            if (fwrite(b, 2, cnt, f) != cnt) return swan_error_set(err, "demo: write failed at %s", t->name);
        }
        return 0;
    }
    matrix_recipe r;
    memset(&r, 0, sizeof r);
    uint64_t block_rows = t->cols >= BLOCK_ELEMS ? 1 : BLOCK_ELEMS / t->cols;
    size_t cap = (size_t)(block_rows * t->cols);
    double *bulk = malloc(cap * sizeof *bulk);
    unsigned char *out = malloc(cap * 2);
    int rc = 0;
    if (!bulk || !out || recipe_make(&r, key, t->rows, t->cols) != 0) {
        rc = swan_error_set(err, "demo: out of memory generating %s", t->name);
    } else {
        size_t next_sparse = 0;
        for (uint64_t i0 = 0; i0 < t->rows && rc == 0; i0 += block_rows) {
            uint64_t i1 = i0 + block_rows < t->rows ? i0 + block_rows : t->rows;
            size_t cnt = (size_t)((i1 - i0) * t->cols);
            recipe_rows(&r, i0, i1, bulk, &next_sparse, out);
            if (fwrite(out, 2, cnt, f) != cnt) rc = swan_error_set(err, "demo: write failed at %s", t->name);
        }
    }
    recipe_free(&r);
    free(bulk);
    free(out);
    return rc;
}

/* ---- the files -------------------------------------------------------------------- */

/* Serializes a shard's header JSON, padded with spaces to a multiple of 8. */
static char *shard_header(const demo_tensor *t, size_t n, int shard, size_t *len) {
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    if (!m) return NULL;
    swan_jw w;
    swan_jw_init(&w, m, 0);
    swan_jw_object_begin(&w);
    for (size_t i = 0; i < n; i++) {
        if (t[i].shard != shard) continue;
        swan_jw_key(&w, t[i].name);
        swan_jw_object_begin(&w);
        swan_jw_key(&w, "dtype");
        swan_jw_string(&w, "BF16");
        swan_jw_key(&w, "shape");
        swan_jw_array_begin(&w);
        if (t[i].rows) swan_jw_uint(&w, t[i].rows);
        swan_jw_uint(&w, t[i].cols);
        swan_jw_array_end(&w);
        swan_jw_key(&w, "data_offsets");
        swan_jw_array_begin(&w);
        swan_jw_uint(&w, t[i].begin);
        swan_jw_uint(&w, t[i].begin + t[i].nbytes);
        swan_jw_array_end(&w);
        swan_jw_object_end(&w);
    }
    swan_jw_key(&w, "__metadata__");
    swan_jw_object_begin(&w);
    swan_jw_key(&w, "format");
    swan_jw_string(&w, "pt");
    swan_jw_object_end(&w);
    swan_jw_object_end(&w);
    while (!swan_jw_error(&w) && ftell(m) % 8 != 0) fputc(' ', m);
    bool bad = swan_jw_error(&w);
    if (fclose(m) != 0 || bad) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}

static int write_shard(const char *dir, const demo_tensor *t, size_t n, int shard, uint64_t seed,
                       swan_error *err) {
    size_t hlen;
    char *hdr = shard_header(t, n, shard, &hlen);
    if (!hdr) return swan_error_set(err, "demo: cannot build the header of %s", shard_file[shard]);
    swan_atomic_file af;
    if (af_open(&af, dir, shard_file[shard], err) != 0) {
        free(hdr);
        return -1;
    }
    unsigned char prefix[8];
    for (int b = 0; b < 8; b++) prefix[b] = (unsigned char)((uint64_t)hlen >> (8 * b));
    int rc = 0;
    if (fwrite(prefix, 1, 8, af.f) != 8 || fwrite(hdr, 1, hlen, af.f) != hlen)
        rc = swan_error_set(err, "demo: cannot write %s: %s", af.path, strerror(errno));
    free(hdr);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (t[i].shard == shard) rc = write_tensor(af.f, &t[i], seed, err);
    if (rc != 0) {
        swan_atomic_abort(&af);
        return -1;
    }
    return af_commit(&af, err);
}

static int write_index(const char *dir, const demo_tensor *t, size_t n, uint64_t total,
                       swan_error *err) {
    swan_atomic_file af;
    if (af_open(&af, dir, "model.safetensors.index.json", err) != 0) return -1;
    swan_jw w;
    swan_jw_init(&w, af.f, 2);
    swan_jw_object_begin(&w);
    swan_jw_key(&w, "metadata");
    swan_jw_object_begin(&w);
    swan_jw_key(&w, "total_size");
    swan_jw_uint(&w, total);
    swan_jw_object_end(&w);
    swan_jw_key(&w, "weight_map");
    swan_jw_object_begin(&w);
    for (size_t i = 0; i < n; i++) {
        swan_jw_key(&w, t[i].name);
        swan_jw_string(&w, shard_file[t[i].shard]);
    }
    swan_jw_object_end(&w);
    swan_jw_object_end(&w);
    fputc('\n', af.f);
    if (swan_jw_error(&w)) {
        swan_atomic_abort(&af);
        return swan_error_set(err, "demo: cannot write %s", af.path);
    }
    return af_commit(&af, err);
}

static int write_config(const char *dir, const swan_demo_opts *o, swan_error *err) {
    swan_atomic_file af;
    if (af_open(&af, dir, "config.json", err) != 0) return -1;
    swan_jw w;
    swan_jw_init(&w, af.f, 2);
    swan_jw_object_begin(&w);
    swan_jw_key(&w, "architectures");
    swan_jw_array_begin(&w);
    swan_jw_string(&w, "Qwen3ForCausalLM");
    swan_jw_array_end(&w);
    swan_jw_key(&w, "model_type");
    swan_jw_string(&w, "qwen3");
    swan_jw_key(&w, "hidden_size");
    swan_jw_uint(&w, o->hidden);
    swan_jw_key(&w, "intermediate_size");
    swan_jw_uint(&w, o->intermediate);
    swan_jw_key(&w, "num_hidden_layers");
    swan_jw_uint(&w, o->layers);
    swan_jw_key(&w, "num_attention_heads");
    swan_jw_uint(&w, o->hidden / HEAD_DIM);
    swan_jw_key(&w, "num_key_value_heads");
    swan_jw_uint(&w, o->hidden / (2 * HEAD_DIM));
    swan_jw_key(&w, "head_dim");
    swan_jw_uint(&w, HEAD_DIM);
    swan_jw_key(&w, "vocab_size");
    swan_jw_uint(&w, o->vocab);
    swan_jw_key(&w, "rms_norm_eps");
    swan_jw_double(&w, 1e-6);
    swan_jw_key(&w, "tie_word_embeddings");
    swan_jw_bool(&w, false);
    swan_jw_key(&w, "torch_dtype");
    swan_jw_string(&w, "bfloat16");
    swan_jw_key(&w, "swan_demo_seed");
    swan_jw_uint(&w, o->seed);
    swan_jw_object_end(&w);
    fputc('\n', af.f);
    if (swan_jw_error(&w)) {
        swan_atomic_abort(&af);
        return swan_error_set(err, "demo: cannot write %s", af.path);
    }
    return af_commit(&af, err);
}

int swan_demo_model_write(const char *dir, const swan_demo_opts *o, swan_error *err) {
    if (check_opts(o, err) != 0) return -1;
    if (make_dirs(dir, err) != 0) return -1;
    size_t n;
    demo_tensor *t = build_table(o, &n);
    if (!t) return swan_error_set(err, "demo: out of memory");
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += t[i].nbytes;
    assign_shards(t, n, total);
    int rc = write_index(dir, t, n, total, err);
    for (int s = 0; s < NSHARDS && rc == 0; s++) rc = write_shard(dir, t, n, s, o->seed, err);
    if (rc == 0) rc = write_config(dir, o, err);
    free(t);
    return rc;
}
