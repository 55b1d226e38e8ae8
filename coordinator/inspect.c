/* inspect.c: `swan inspect MODEL_DIR`, a summary of a checkpoint before any work.
 *
 * What someone preparing a quantization wants to know at a glance: how big the model
 * is, in which dtypes, how its tensors repeat across layers and experts, and how many
 * tensors SWAN will analyze versus keep at 16 bits. Works from the validated header
 * table alone (no tensor data is read). Names are folded into patterns through a hash
 * table, so a 100,000-tensor MoE checkpoint costs one pass and memory proportional to
 * the number of distinct patterns. */
#include "coordinator/inspect.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/formats/gguf.h"
#include "coordinator/model_info.h"
#include "coordinator/reduce/reduce.h"

#define MAX_TABLE_ROWS 500 /* beyond this the pattern table is cut, with a note */
#define NDTYPES SWAN_DT_COUNT

/* ---- grouping tensors by pattern -------------------------------------------------- */

typedef struct group {
    char *pattern;
    size_t count;
    int ndim;                       /* shape of the first member           */
    uint64_t shape[SWAN_MAX_DIMS];
    bool mixed_shapes;
    uint64_t dtypes;                /* bit per swan_dtype                  */
    uint64_t params, bytes;
} group;

typedef struct group_table {
    group *groups;                  /* in order of first appearance        */
    size_t ngroups;
    size_t *slots;                  /* open addressing: group index + 1    */
    size_t nslots;                  /* power of two, > 2 * tensors         */
} group_table;

static uint64_t hash_str(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static bool same_shape(const group *g, const swan_tensor *t) {
    if (g->ndim != t->ndim) return false;
    for (int d = 0; d < t->ndim; d++)
        if (g->shape[d] != t->shape[d]) return false;
    return true;
}

/* Adds tensor t under pattern; returns -1 when out of memory. The table never
 * fills: it has more than twice as many slots as there are tensors. */
static int table_add(group_table *tb, const char *pattern, const swan_tensor *t) {
    size_t mask = tb->nslots - 1, s = (size_t)hash_str(pattern) & mask;
    while (tb->slots[s] && strcmp(tb->groups[tb->slots[s] - 1].pattern, pattern) != 0)
        s = (s + 1) & mask;
    group *g;
    if (tb->slots[s]) {
        g = &tb->groups[tb->slots[s] - 1];
        if (!same_shape(g, t)) g->mixed_shapes = true;
    } else {
        g = &tb->groups[tb->ngroups];
        memset(g, 0, sizeof *g);
        g->pattern = strdup(pattern);
        if (!g->pattern) return -1;
        g->ndim = t->ndim;
        memcpy(g->shape, t->shape, sizeof g->shape);
        tb->slots[s] = ++tb->ngroups;
    }
    g->count++;
    if ((int)t->dtype >= 0 && (int)t->dtype < NDTYPES) g->dtypes |= 1ull << t->dtype;
    g->params += t->nelem;
    g->bytes += t->nbytes;
    return 0;
}

static void table_free(group_table *tb) {
    for (size_t i = 0; i < tb->ngroups; i++) free(tb->groups[i].pattern);
    free(tb->groups);
    free(tb->slots);
}

static int table_build(group_table *tb, const swan_checkpoint *ck) {
    memset(tb, 0, sizeof *tb);
    tb->nslots = 16;
    while (tb->nslots < 2 * ck->ntensors + 1) tb->nslots *= 2;
    tb->slots = calloc(tb->nslots, sizeof *tb->slots);
    tb->groups = malloc((ck->ntensors ? ck->ntensors : 1) * sizeof *tb->groups);
    size_t longest = 0;
    for (size_t i = 0; i < ck->ntensors; i++) {
        size_t l = strlen(ck->tensors[i].name);
        if (l > longest) longest = l;
    }
    size_t cap = 3 * longest + 1; /* "7" -> "{N}" at most triples a name */
    char *buf = malloc(cap);
    int rc = (tb->slots && tb->groups && buf) ? 0 : -1;
    for (size_t i = 0; i < ck->ntensors && rc == 0; i++) {
        swan_name_pattern(ck->tensors[i].name, buf, cap);
        rc = table_add(tb, buf, &ck->tensors[i]);
    }
    free(buf);
    return rc;
}

/* ---- formatting --------------------------------------------------------------------- */

/* 752.1M style: counts in K/M/B/T with one decimal. */
static const char *human_count(uint64_t n, char *buf, size_t size) {
    static const char units[] = "KMBT";
    if (n < 1000) {
        snprintf(buf, size, "%llu", (unsigned long long)n);
        return buf;
    }
    double v = (double)n;
    int u = -1;
    while (v >= 999.95 && u < 3) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, size, "%.1f%c", v, units[u]);
    return buf;
}

/* Decimal units, as model hubs report sizes. */
static const char *human_bytes(uint64_t n, char *buf, size_t size) {
    double v = (double)n;
    if (v >= 1e9) snprintf(buf, size, "%.2f GB", v / 1e9);
    else if (v >= 1e6) snprintf(buf, size, "%.1f MB", v / 1e6);
    else if (v >= 1e3) snprintf(buf, size, "%.1f KB", v / 1e3);
    else snprintf(buf, size, "%llu B", (unsigned long long)n);
    return buf;
}

static void shape_text(const group *g, char *buf, size_t size) {
    if (g->mixed_shapes) {
        snprintf(buf, size, "mixed shapes");
        return;
    }
    size_t pos = 0;
    for (int d = 0; d <= g->ndim && pos + 1 < size; d++) {
        int k = d == g->ndim ? snprintf(buf + pos, size - pos, "]")
                             : snprintf(buf + pos, size - pos, "%s%llu", d ? ", " : "[",
                                        (unsigned long long)g->shape[d]);
        if (k < 0) break;
        pos += (size_t)k < size - pos ? (size_t)k : size - pos - 1; /* cut when full */
    }
    if (g->ndim == 0) snprintf(buf, size, "[]");
}

static void dtype_text(uint64_t mask, char *buf, size_t size) {
    size_t pos = 0;
    buf[0] = '\0';
    for (int d = 0; d < NDTYPES && pos + 1 < size; d++) {
        if (!(mask & (1ull << d))) continue;
        int k = snprintf(buf + pos, size - pos, "%s%s", pos ? "/" : "", swan_dtype_name((swan_dtype)d));
        if (k < 0) break;
        pos += (size_t)k < size - pos ? (size_t)k : size - pos - 1; /* cut when full */
    }
}

/* The model type and architecture from config.json, when it has them. */
static void print_config(const swan_checkpoint *ck, FILE *out) {
    if (!ck->config_json) {
        fprintf(out, "Config     (no config.json)\n");
        return;
    }
    cJSON *c = cJSON_Parse(ck->config_json);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
    const cJSON *arch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "architectures"), 0);
    fprintf(out, "Config     model_type %s", cJSON_IsString(mt) ? mt->valuestring : "(unknown)");
    if (cJSON_IsString(arch)) fprintf(out, " (%s)", arch->valuestring);
    fputc('\n', out);
    cJSON_Delete(c);
}

/* The input format and what it says about itself: FP8 scaling, GGUF metadata. */
static void print_format(const swan_checkpoint *ck, FILE *out) {
    if (ck->format == SWAN_FORMAT_GGUF) {
        const swan_gguf_info *g = &ck->gguf;
        const char *ft = swan_gguf_file_type_name(g->file_type);
        fprintf(out, "Format     GGUF v%u, alignment %u\n", g->version, g->alignment);
        fprintf(out, "GGUF       general.architecture %s, block_count ", g->architecture[0] ? g->architecture : "(none)");
        if (g->block_count >= 0) fprintf(out, "%lld", (long long)g->block_count);
        else fprintf(out, "(none)");
        if (g->file_type >= 0) fprintf(out, ", general.file_type %lld (%s)\n", (long long)g->file_type, ft ? ft : "unknown");
        else fprintf(out, ", general.file_type (none)\n");
        fprintf(out, "Files      %zu (%s)\n", ck->nshards, g->nsplits > 1 ? "parts of a split GGUF" : "one GGUF file");
        return;
    }
    fprintf(out, "Format     safetensors");
    if (ck->fp8_block_scaled || ck->fp8_tensor_scaled || ck->fp8_channel_scaled) {
        fprintf(out, ", FP8 weights dequantized on the fly: %zu with %llux%llu block scales, %zu with a per-tensor scale",
                ck->fp8_block_scaled, (unsigned long long)ck->fp8_block_rows,
                (unsigned long long)ck->fp8_block_cols, ck->fp8_tensor_scaled);
        if (ck->fp8_channel_scaled) fprintf(out, ", %zu with per-row scales", ck->fp8_channel_scaled);
    }
    fputc('\n', out);
    print_config(ck, out);
    fprintf(out, "Shards     %zu (%s)\n", ck->nshards,
            ck->has_index ? "listed in model.safetensors.index.json" : "no index: every *.safetensors file");
}

static void print_table(const group_table *tb, FILE *out) {
    size_t rows = tb->ngroups < MAX_TABLE_ROWS ? tb->ngroups : MAX_TABLE_ROWS;
    int wp = 7, ws = 5, wc = 2, wd = 5;
    char shape[160], dt[64], cnt[24];
    for (size_t i = 0; i < rows; i++) {
        const group *g = &tb->groups[i];
        int l = (int)strlen(g->pattern);
        if (l > wp) wp = l < 72 ? l : 72;
        shape_text(g, shape, sizeof shape);
        if ((int)strlen(shape) > ws) ws = (int)strlen(shape);
        dtype_text(g->dtypes, dt, sizeof dt);
        if ((int)strlen(dt) > wd) wd = (int)strlen(dt);
        int k = snprintf(cnt, sizeof cnt, "x%zu", g->count);
        if (k > wc) wc = k;
    }
    fprintf(out, "\nTensor patterns ({N} layer index, {E} expert index, {#} other index):\n");
    fprintf(out, "  %-*s  %*s  %-*s  %-*s  %s\n", wp, "pattern", wc, "n", ws, "shape", wd, "dtype",
            "params");
    for (size_t i = 0; i < rows; i++) {
        const group *g = &tb->groups[i];
        char p[24];
        shape_text(g, shape, sizeof shape);
        dtype_text(g->dtypes, dt, sizeof dt);
        snprintf(cnt, sizeof cnt, "x%zu", g->count);
        fprintf(out, "  %-*s  %*s  %-*s  %-*s  %s params\n", wp, g->pattern, wc, cnt, ws, shape, wd,
                dt, human_count(g->params, p, sizeof p));
    }
    if (rows < tb->ngroups)
        fprintf(out, "  ... %zu more patterns not shown\n", tb->ngroups - rows);
}

void swan_inspect_print(const swan_checkpoint *ck, FILE *out) {
    char a[32], b[32];
    uint64_t params = 0, bytes = 0;
    size_t dt_count[NDTYPES] = {0};
    uint64_t dt_params[NDTYPES] = {0};
    size_t kind_count[SWAN_KIND_COUNT] = {0};
    uint64_t analyzed_params = 0;
    size_t protected_matrices = 0;
    swan_policy policy;
    swan_policy_default(&policy);

    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor *t = &ck->tensors[i];
        params += t->nelem;
        bytes += t->nbytes;
        if ((int)t->dtype >= 0 && (int)t->dtype < NDTYPES) {
            dt_count[t->dtype]++;
            dt_params[t->dtype] += t->nelem;
        }
        swan_tensor_kind k = swan_tensor_classify(t, NULL);
        kind_count[k]++;
        if (k == SWAN_KIND_MATRIX) {
            analyzed_params += t->nelem;
            if (swan_policy_is_protected(&policy, t->name)) protected_matrices++;
        }
    }

    fprintf(out, "Model      %s\n", ck->dir ? ck->dir : "(unknown)");
    print_format(ck, out);
    fprintf(out, "Tensors    %zu", ck->ntensors);
    if (ck->ignored_tensors)
        fprintf(out, " (+%zu in the shards but not in the index, ignored)", ck->ignored_tensors);
    fprintf(out, "\nParams     %s (%llu)\n", human_count(params, a, sizeof a), (unsigned long long)params);
    fprintf(out, "Size       %s (%llu bytes)\n", human_bytes(bytes, b, sizeof b), (unsigned long long)bytes);
    for (int d = 0; d < NDTYPES; d++) {
        if (!dt_count[d]) continue;
        fprintf(out, "  %-8s %zu tensors, %s params\n", swan_dtype_name((swan_dtype)d), dt_count[d],
                human_count(dt_params[d], a, sizeof a));
    }
    fprintf(out, "Layers     %d\n", swan_count_layers(ck));
    size_t experts = (size_t)swan_count_experts(ck);
    if (experts) fprintf(out, "Experts    %zu (distinct expert indices)\n", experts);

    group_table tb;
    if (table_build(&tb, ck) == 0) print_table(&tb, out);
    else fprintf(out, "\n(out of memory: pattern table not shown)\n");
    table_free(&tb);

    fprintf(out, "\nSWAN analyzes %zu of %zu tensors (%s params, %.1f%% of all)", kind_count[SWAN_KIND_MATRIX],
            ck->ntensors, human_count(analyzed_params, a, sizeof a),
            params ? 100.0 * (double)analyzed_params / (double)params : 0.0);
    fprintf(out, "; %zu of them match a default protected pattern and stay at 16 bits.\n",
            protected_matrices);
    fprintf(out, "Not analyzed, kept at 16 bits or as stored: %zu (1-D %zu, tiny %zu, empty %zu, "
                 "not float %zu",
            ck->ntensors - kind_count[SWAN_KIND_MATRIX], kind_count[SWAN_KIND_1D], kind_count[SWAN_KIND_TINY],
            kind_count[SWAN_KIND_EMPTY], kind_count[SWAN_KIND_NOT_FLOAT]);
    if (kind_count[SWAN_KIND_SCALE]) fprintf(out, ", FP8 scales %zu", kind_count[SWAN_KIND_SCALE]);
    if (kind_count[SWAN_KIND_QUANTIZED])
        fprintf(out, ", already quantized %zu", kind_count[SWAN_KIND_QUANTIZED]);
    fprintf(out, ").\n");
}
