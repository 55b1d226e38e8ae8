/* mlx_layout.c: output tensors, names, shards and the quantization block of a
 * quantized MLX model (see mlx_layout.h).
 *
 * Every naming rule (what sanitize drops, which per-expert tensors stack under which
 * `switch_mlp` path, which modules mlx_lm quantizes at all, the floors of its own
 * quant_predicate) is coordinator/outputs/mlx_names.c's, the module that also names
 * the modules of OUT/mlx_quant.json and swan_predicate.py: the two outputs cannot
 * disagree. This file only groups sources into modules, applies the decisions and
 * places the bytes.
 *
 * Packed 3-D experts. Newer transformers checkpoints of qwen3_moe hold each MoE layer's
 * experts in two tensors, `mlp.experts.gate_up_proj` and `mlp.experts.down_proj`, in one
 * of two layouts:
 *   [E, hidden, 2*inter] + [E, inter, hidden]   ([E, in, out]: x @ W; Llama-4 style)
 *   [E, 2*inter, hidden] + [E, hidden, inter]   ([E, out, in]: nn.Linear style)
 * mlx_lm's SwitchGLU (mlx_lm/models/switch_layers.py: SwitchLinear.weight has shape
 * (num_experts, output_dims, input_dims); gate_proj and up_proj map input_dims ->
 * hidden_dims, down_proj back) wants switch_mlp.{gate,up,down}_proj.weight as
 * [E, out, in], which is what is written here, under the names qwen3_moe.py's
 * Qwen3MoeSparseMoeBlock gives them (self.switch_mlp = SwitchGLU(...)); its sanitize
 * then has nothing to rename (it only stacks `experts.<e>.<proj>.weight`). The gate/up
 * split is mlx_lm's: the first half of the 2*inter dimension is gate_proj, the second
 * up_proj (llama4.py sanitize: `mx.split(v, 2, axis=-1)` then `mx.swapaxes(.., 1, 2)` for
 * the [E, in, out] layout; qwen3_5_moe.py `_normalize_experts`: `gate_up[..., :middle, :]`
 * and `gate_up[..., middle:, :]` for [E, out, in]). Which layout a layer uses is read off
 * the pair of shapes (they fit only one of the two, as 2*inter != inter) and checked
 * against config.json's hidden_size; anything else (a tensor without its partner,
 * another packed name, another architecture, whose mlx_lm model reads no packed
 * experts under these paths) is refused rather than guessed. The bytes are sliced and
 * transposed while read (expert_matrix.c). */
#include "coordinator/quantize/mlx_layout.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mlx_affine.h"
#include "coordinator/outputs/mlx_names.h"

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* A module before it becomes output tensors: a path and its sources. */
typedef struct module {
    char *path;      /* module path (for quantized modules) or full output name */
    bool has_weight; /* path + ".weight" is the tensor name                     */
    int nq;          /* 0: not a module mlx_lm quantizes (norms, MoE gates...)  */
    char *qpath[SWAN_MLX_MAX_PATHS]; /* its entries in the quantization block:
                                        mlx_lm's module paths after sanitize  */
    uint32_t *src;
    long *expert;
    uint32_t nsrc, cap;
    int bits, group; /* 16: kept                                                */
    swan_qpacked packed; /* on: a projection of packed 3-D experts              */
} module;

static int by_path(const void *a, const void *b) {
    return strcmp(((const module *)a)->path, ((const module *)b)->path);
}

static int add_src(module *m, uint32_t t, long e) {
    if (m->nsrc == m->cap) {
        uint32_t nc = m->cap ? 2 * m->cap : 4;
        uint32_t *s = realloc(m->src, nc * sizeof *s);
        if (!s) return -1;
        m->src = s;
        long *x = realloc(m->expert, nc * sizeof *x);
        if (!x) return -1;
        m->expert = x;
        m->cap = nc;
    }
    m->src[m->nsrc] = t;
    m->expert[m->nsrc++] = e;
    return 0;
}

static bool quantizable_dtype(swan_dtype d) {
    return d == SWAN_DT_BF16 || d == SWAN_DT_F16 || d == SWAN_DT_F32;
}

static void modules_free(module *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(m[i].path);
        free(m[i].qpath[0]);
        free(m[i].qpath[1]);
        free(m[i].src);
        free(m[i].expert);
    }
    free(m);
}

/* Orders a stack's sources by expert index and checks 0..E-1 appear once, same shape. */
static int check_stack(const swan_checkpoint *ck, module *m, swan_error *err) {
    for (uint32_t i = 1; i < m->nsrc; i++) /* insertion sort: E is small */
        for (uint32_t j = i; j > 0 && m->expert[j - 1] > m->expert[j]; j--) {
            long e = m->expert[j];
            m->expert[j] = m->expert[j - 1];
            m->expert[j - 1] = e;
            uint32_t s = m->src[j];
            m->src[j] = m->src[j - 1];
            m->src[j - 1] = s;
        }
    const swan_tensor *t0 = &ck->tensors[m->src[0]];
    for (uint32_t i = 0; i < m->nsrc; i++) {
        const swan_tensor *t = &ck->tensors[m->src[i]];
        if (m->expert[i] != (long)i)
            return swan_error_set(err, "%s: the experts of the stack are not 0..%u (expert %ld %s)",
                                  m->path, m->nsrc - 1, m->expert[i],
                                  i && m->expert[i] == m->expert[i - 1] ? "appears twice" : "is unexpected");
        if (t->ndim != 2 || t->dtype != t0->dtype || t->shape[0] != t0->shape[0] ||
            t->shape[1] != t0->shape[1])
            return swan_error_set(err, "%s: expert tensors %s and %s differ in shape or dtype",
                                  m->path, t0->name, t->name);
    }
    return 0;
}

/* config.json's hidden_size, or 0 when it has none. */
static uint64_t config_hidden_size(const char *config_json) {
    cJSON *root = config_json ? cJSON_Parse(config_json) : NULL;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "hidden_size");
    uint64_t v = cJSON_IsNumber(h) && h->valuedouble > 0 ? (uint64_t)h->valuedouble : 0;
    cJSON_Delete(root);
    return v;
}

/* The packed tensor of the same layer named PREFIX + want (PREFIX: name up to and
 * including ".experts."), or -1. */
static long packed_partner(const swan_checkpoint *ck, const uint32_t *packed, size_t npacked,
                           const char *name, const char *want) {
    const char *e = strstr(name, ".experts.");
    size_t pre = (size_t)(e - name) + 9;
    for (size_t k = 0; k < npacked; k++) {
        const char *n = ck->tensors[packed[k]].name;
        if (strncmp(n, name, pre) == 0 && strcmp(n + pre, want) == 0) return (long)packed[k];
    }
    return -1;
}

/* One switch_mlp projection of packed experts: E sources, all tensor i. */
static int packed_module(module *m, const char *path, uint32_t i, uint64_t E, const swan_qpacked *p) {
    m->path = strdup(path);
    m->qpath[0] = strdup(path);
    m->has_weight = true;
    m->nq = 1;
    m->packed = *p;
    if (!m->path || !m->qpath[0]) return -1;
    for (uint64_t e = 0; e < E; e++)
        if (add_src(m, i, (long)e)) return -1;
    return 0;
}

/* The three modules of one layer's packed experts (gate_up_proj tensor gu, down_proj
 * tensor dn): the layout is the one of the two (see the top of this file) that the
 * pair of shapes fits. */
static int add_packed_layer(const swan_checkpoint *ck, const swan_mlx_model *mm, uint32_t gu,
                            uint32_t dn, uint64_t hidden, module *mods, size_t *nmods,
                            swan_error *err) {
    const swan_tensor *g = &ck->tensors[gu], *d = &ck->tensors[dn];
    if (g->ndim != 3 || d->ndim != 3 || g->shape[0] != d->shape[0] || g->dtype != d->dtype)
        return swan_error_set(err, "%s and %s: packed experts of one layer must both be [E, ., .] "
                                   "of one dtype and expert count", g->name, d->name);
    uint64_t E = g->shape[0], a = g->shape[1], b = g->shape[2], x = d->shape[1], y = d->shape[2];
    bool in_out = a == y && b == 2 * x, out_in = a == 2 * y && b == x;
    uint64_t H = in_out ? y : x, I = in_out ? x : y;
    if (!in_out && !out_in)
        return swan_error_set(err, "%s [%llu, %llu, %llu] and %s [%llu, %llu, %llu]: neither "
                                   "[E, hidden, 2*inter] + [E, inter, hidden] nor [E, 2*inter, hidden] + "
                                   "[E, hidden, inter]; mlx_lm reads no other packed layout",
                              g->name, (unsigned long long)E, (unsigned long long)a, (unsigned long long)b,
                              d->name, (unsigned long long)E, (unsigned long long)x, (unsigned long long)y);
    if (hidden && H != hidden)
        return swan_error_set(err, "%s: its hidden dimension %llu is not config.json's hidden_size %llu",
                              g->name, (unsigned long long)H, (unsigned long long)hidden);
    char gpaths[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX], dpaths[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX];
    if (swan_mlx_module_paths(mm, g->name, 3, gpaths) != 2 || swan_mlx_module_paths(mm, d->name, 3, dpaths) != 1)
        return swan_error_set(err, "%s: no switch_mlp path for these packed experts", g->name);
    /* gate_up: [E, H, 2I] read transposed, or [E, 2I, H] read as rows; the first half
     * is gate_proj, the second up_proj */
    swan_qpacked p = {.on = true, .transposed = in_out, .src_rows = a, .src_cols = b, .rows = I, .cols = H};
    if (packed_module(&mods[(*nmods)++], gpaths[0], gu, E, &p)) return -1;
    p.first = I;
    if (packed_module(&mods[(*nmods)++], gpaths[1], gu, E, &p)) return -1;
    /* down: [E, I, H] read transposed, or [E, H, I] as it is */
    p = (swan_qpacked){.on = true, .transposed = in_out, .src_rows = x, .src_cols = y, .rows = H, .cols = I};
    return packed_module(&mods[(*nmods)++], dpaths[0], dn, E, &p);
}

/* Every layer's packed experts: each gate_up_proj needs its down_proj and the reverse. */
static int add_packed(const swan_checkpoint *ck, const swan_mlx_model *mm, const uint32_t *packed,
                      size_t npacked, module *mods, size_t *nmods, swan_error *err) {
    uint64_t hidden = config_hidden_size(ck->config_json);
    for (size_t k = 0; k < npacked; k++) {
        const char *name = ck->tensors[packed[k]].name;
        bool gu = ends_with(name, ".experts.gate_up_proj"), dn = ends_with(name, ".experts.down_proj");
        if (!gu && !dn)
            return swan_error_set(err, "%s: a packed expert tensor other than experts.gate_up_proj and "
                                       "experts.down_proj; mlx_lm reads no such layout", name);
        long other = packed_partner(ck, packed, npacked, name, gu ? "down_proj" : "gate_up_proj");
        if (other < 0)
            return swan_error_set(err, "%s: packed experts without their %s in the same layer", name,
                                  gu ? "experts.down_proj" : "experts.gate_up_proj");
        if (gu && add_packed_layer(ck, mm, packed[k], (uint32_t)other, hidden, mods, nmods, err)) {
            if (!err->msg[0]) swan_error_set(err, "out of memory planning the MLX layout");
            return -1;
        }
    }
    return 0;
}

static void choose(const swan_checkpoint *ck, const swan_mlx_model *mm, const swan_qchoice *choice,
                   module *m) {
    int bits = 0, group = 0;
    for (uint32_t i = 0; i < m->nsrc; i++) {
        const swan_qchoice *q = &choice[m->src[i]];
        int b = q->bits >= 16 ? 16 : q->bits;
        if (b > bits || (b == bits && q->group < group)) bits = b, group = q->group;
    }
    const swan_tensor *t = &ck->tensors[m->src[0]];
    int fb, fg; /* mlx_lm's own floor (qwen3_moe routers: 8 bits, group 64) */
    if (bits < 16 && swan_mlx_floor(mm, t->name, &fb, &fg) && bits < fb) bits = fb, group = fg;
    /* the groups run along the output's input dimension */
    uint64_t cols = m->packed.on ? m->packed.cols : t->ndim == 2 ? t->shape[1] : 0;
    bool ok = bits < 16 && m->nq > 0 && m->has_weight && quantizable_dtype(t->dtype) && cols > 0 &&
              swan_mlx_bits_index(bits) >= 0 && swan_mlx_group_index(group) >= 0 &&
              cols % (uint64_t)group == 0;
    m->bits = ok ? bits : 16;
    m->group = ok ? group : 0;
}

static int push(swan_qlayout *l, size_t *cap, const swan_qtensor *t) {
    if (l->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        swan_qtensor *n = realloc(l->t, nc * sizeof *n);
        if (!n) return -1;
        l->t = n;
        *cap = nc;
    }
    l->t[l->n++] = *t;
    return 0;
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a), k = strlen(b);
    char *s = malloc(n + k + 1);
    if (s) {
        memcpy(s, a, n);
        memcpy(s + n, b, k + 1);
    }
    return s;
}

static uint32_t *dup_src(const module *m) {
    uint32_t *s = malloc(m->nsrc * sizeof *s);
    if (s) memcpy(s, m->src, m->nsrc * sizeof *s);
    return s;
}

/* The output tensors of one module, appended in name order (.biases, .scales, .weight). */
static int emit(const swan_checkpoint *ck, const module *m, swan_qlayout *l, size_t *cap) {
    const swan_tensor *t = &ck->tensors[m->src[0]];
    bool stacked = m->nsrc > 1 || strstr(m->path, "switch_mlp") != NULL;
    swan_qtensor q;
    memset(&q, 0, sizeof q);
    q.nsrc = m->nsrc;
    int lead = stacked ? 1 : 0;
    q.packed = m->packed;
    if (m->bits >= 16 && m->packed.on) { /* [E, rows, cols], sliced (and transposed) */
        q.name = join(m->path, ".weight");
        q.src = dup_src(m);
        q.kind = SWAN_QOUT_COPY;
        q.dtype = t->dtype;
        q.ndim = 3;
        q.shape[0] = m->nsrc;
        q.shape[1] = m->packed.rows;
        q.shape[2] = m->packed.cols;
        q.nbytes = (uint64_t)m->nsrc * m->packed.rows * m->packed.cols * swan_dtype_size(t->dtype);
        l->kept_params += (uint64_t)m->nsrc * m->packed.rows * m->packed.cols;
        return q.name && q.src ? push(l, cap, &q) : -1;
    }
    if (m->bits >= 16) {
        q.name = m->has_weight ? join(m->path, ".weight") : join(m->path, "");
        q.src = dup_src(m);
        q.kind = SWAN_QOUT_COPY;
        q.dtype = t->dtype;
        q.ndim = t->ndim + lead;
        if (lead) q.shape[0] = m->nsrc;
        for (int d = 0; d < t->ndim; d++) q.shape[d + lead] = t->shape[d];
        q.nbytes = t->nbytes * m->nsrc;
        l->kept_params += t->nelem * m->nsrc;
        return q.name && q.src ? push(l, cap, &q) : -1;
    }
    uint64_t rows = m->packed.on ? m->packed.rows : t->shape[0];
    uint64_t cols = m->packed.on ? m->packed.cols : t->shape[1], E = m->nsrc;
    uint64_t sb = swan_dtype_size(t->dtype);
    size_t base = l->n;
    static const char *const suffix[3] = {".biases", ".scales", ".weight"};
    static const swan_qkind kinds[3] = {SWAN_QOUT_BIASES, SWAN_QOUT_SCALES, SWAN_QOUT_WEIGHT};
    for (int k = 0; k < 3; k++) {
        memset(&q, 0, sizeof q);
        q.name = join(m->path, suffix[k]);
        q.kind = kinds[k];
        q.bits = m->bits;
        q.group = m->group;
        q.nsrc = m->nsrc;
        q.src = dup_src(m);
        q.packed = m->packed;
        q.ndim = 2 + lead;
        if (lead) q.shape[0] = E;
        q.shape[lead] = rows;
        if (q.kind == SWAN_QOUT_WEIGHT) {
            q.dtype = SWAN_DT_U32;
            q.shape[lead + 1] = cols * (uint64_t)m->bits / 32;
            q.nbytes = E * rows * q.shape[lead + 1] * 4;
            q.biases = (uint32_t)base;
            q.scales = (uint32_t)base + 1;
        } else {
            q.dtype = t->dtype;
            q.shape[lead + 1] = cols / (uint64_t)m->group;
            q.nbytes = E * rows * q.shape[lead + 1] * sb;
        }
        if (!q.name || !q.src || push(l, cap, &q)) return -1;
    }
    l->quantized_params += rows * cols * E;
    return 0;
}

static char *quant_block(const swan_qlayout *l, const module *mods, size_t nmods,
                         const swan_checkpoint *ck) {
    /* defaults: the (bits, group) holding the most parameters */
    uint64_t weight[9][3];
    memset(weight, 0, sizeof weight);
    for (size_t i = 0; i < nmods; i++)
        if (mods[i].bits < 16)
            weight[mods[i].bits][swan_mlx_group_index(mods[i].group)] +=
                (mods[i].packed.on ? mods[i].packed.rows * mods[i].packed.cols
                                   : ck->tensors[mods[i].src[0]].nelem) * mods[i].nsrc;
    int b0 = 4, g0 = 64;
    uint64_t best = 0;
    for (int b = 2; b <= 8; b++)
        for (int g = 0; g < 3; g++)
            if (weight[b][g] > best) best = weight[b][g], b0 = b, g0 = swan_mlx_groups[g];
    cJSON *q = cJSON_CreateObject();
    if (!q) return NULL;
    cJSON_AddNumberToObject(q, "group_size", g0);
    cJSON_AddNumberToObject(q, "bits", b0);
    cJSON_AddStringToObject(q, "mode", "affine");
    for (size_t i = 0; i < nmods; i++) {
        const module *m = &mods[i];
        for (int k = 0; k < m->nq; k++) { /* none for norms and other unquantized modules */
            if (m->bits >= 16) {
                cJSON_AddFalseToObject(q, m->qpath[k]);
            } else {
                cJSON *e = cJSON_AddObjectToObject(q, m->qpath[k]);
                if (e) {
                    cJSON_AddNumberToObject(e, "group_size", m->group);
                    cJSON_AddNumberToObject(e, "bits", m->bits);
                }
            }
        }
    }
    (void)l;
    char *s = cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    return s;
}

int swan_qlayout_build(const swan_checkpoint *ck, const swan_qchoice *choice, swan_qlayout *out,
                       swan_error *err) {
    memset(out, 0, sizeof *out);
    swan_mlx_model mm;
    swan_mlx_model_from_config(ck->config_json, &mm);
    if (mm.arch == SWAN_ARCH_UNKNOWN)
        return swan_error_set(err, mm.model_type[0]
                                       ? "model_type '%s' is not supported for writing an MLX model (known: %s)"
                                       : "config.json has no model_type%s: cannot name the MLX modules (known: %s)",
                              mm.model_type, swan_mlx_known_model_types());
    snprintf(out->arch, sizeof out->arch, "%s", mm.model_type);
    /* a packed gate_up_proj makes two modules (gate and up) */
    module *mods = calloc(ck->ntensors ? 2 * ck->ntensors : 1, sizeof *mods);
    size_t *stacks = calloc(ck->ntensors ? ck->ntensors : 1, sizeof *stacks);
    uint32_t *packed = calloc(ck->ntensors ? ck->ntensors : 1, sizeof *packed);
    size_t nmods = 0, cap = 0, nstacks = 0, npacked = 0;
    if (!mods || !stacks || !packed) {
        free(mods);
        free(stacks);
        free(packed);
        return swan_error_set(err, "out of memory planning %zu tensors", ck->ntensors);
    }
    int rc = 0;
    /* 1. one module per kept name; experts grouped under their stack's path */
    for (size_t i = 0; i < ck->ntensors && rc == 0; i++) {
        const char *name = ck->tensors[i].name;
        int ndim = ck->tensors[i].ndim;
        if (swan_mlx_dropped(&mm, name)) continue;
        char paths[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX];
        int np = swan_mlx_module_paths(&mm, name, ndim, paths);
        if (np > 0 && ndim == 3 && !ends_with(name, ".weight")) { /* packed experts: below */
            if (mm.arch != SWAN_ARCH_QWEN3_MOE) {
                rc = swan_error_set(err, "%s: packed 3-D experts are written for qwen3_moe only (mlx_lm's "
                                         "%s model stacks per-expert tensors and reads no packed ones)",
                                    name, mm.model_type);
                break;
            }
            packed[npacked++] = (uint32_t)i;
            continue;
        }
        long e = np == 1 ? swan_mlx_stacked_expert(&mm, name, ndim) : -1;
        const char *key = paths[0];
        module *m = NULL;
        if (e >= 0) {
            /* a model has a few stacks per layer: search only those, latest first
             * (the experts of one stack are usually listed together) */
            for (size_t k = nstacks; k-- > 0 && !m;)
                if (strcmp(mods[stacks[k]].path, key) == 0) m = &mods[stacks[k]];
            if (!m) {
                stacks[nstacks++] = nmods;
                m = &mods[nmods++];
                m->path = strdup(key);
                m->has_weight = true;
                m->nq = 1;
                m->qpath[0] = strdup(key);
            }
        } else {
            /* written under its checkpoint name: sanitize renames at load what it
             * renames (DeepSeek-V3's kv_b_proj becomes embed_q + unembed_out, each
             * with this module's bits, which the quantization block lists) */
            m = &mods[nmods++];
            bool w = ends_with(name, ".weight");
            m->path = w ? strndup(name, strlen(name) - strlen(".weight")) : strdup(name);
            m->has_weight = w;
            m->nq = w ? np : 0;
            for (int k = 0; k < m->nq; k++)
                if (!(m->qpath[k] = strdup(paths[k]))) m->nq = 0;
        }
        if (!m->path || add_src(m, (uint32_t)i, e))
            rc = swan_error_set(err, "out of memory planning the MLX layout");
    }
    if (rc == 0) rc = add_packed(ck, &mm, packed, npacked, mods, &nmods, err);
    if (rc) goto done;
    qsort(mods, nmods, sizeof *mods, by_path);
    for (size_t i = 0; i + 1 < nmods; i++)
        if (strcmp(mods[i].path, mods[i + 1].path) == 0 && mods[i].has_weight == mods[i + 1].has_weight) {
            rc = swan_error_set(err, "two source tensors map to the MLX name %s", mods[i].path);
            goto done;
        }
    /* 2. decisions, checks, output tensors */
    for (size_t i = 0; i < nmods && rc == 0; i++) {
        if (mods[i].expert[0] >= 0 && !mods[i].packed.on && check_stack(ck, &mods[i], err)) {
            rc = -1;
            break;
        }
        choose(ck, &mm, choice, &mods[i]);
        if (emit(ck, &mods[i], out, &cap)) rc = swan_error_set(err, "out of memory planning the MLX layout");
    }
    if (rc) goto done;
    out->quant_json = quant_block(out, mods, nmods, ck);
    if (!out->quant_json) {
        rc = swan_error_set(err, "out of memory writing the quantization block");
        goto done;
    }
    /* 3. shards, in output order */
    out->shard_bytes = calloc(out->n + 1, sizeof *out->shard_bytes);
    if (!out->shard_bytes) {
        rc = swan_error_set(err, "out of memory planning shards");
        goto done;
    }
    /* A quantized module's biases, scales and weight (consecutive) share a shard:
     * the writer fills all three from one read of the source. */
    uint32_t s = 0;
    for (size_t i = 0; i < out->n;) {
        size_t k = out->t[i].kind == SWAN_QOUT_BIASES ? 3 : 1;
        uint64_t need = 0;
        for (size_t j = i; j < i + k; j++) need += out->t[j].nbytes;
        if (out->shard_bytes[s] > 0 && out->shard_bytes[s] + need > SWAN_MLX_SHARD_LIMIT) s++;
        for (size_t j = i; j < i + k; j++) {
            swan_qtensor *t = &out->t[j];
            t->shard = s;
            t->offset = out->shard_bytes[s];
            out->shard_bytes[s] += t->nbytes;
            out->total_bytes += t->nbytes;
        }
        i += k;
    }
    out->nshards = out->n ? s + 1 : 0;
done:
    free(stacks);
    free(packed);
    modules_free(mods, nmods);
    if (rc) swan_qlayout_free(out);
    return rc;
}

void swan_qlayout_free(swan_qlayout *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->t[i].name);
        free(l->t[i].src);
    }
    free(l->t);
    free(l->shard_bytes);
    free(l->quant_json);
    l->t = NULL;
    l->n = 0;
    l->shard_bytes = NULL;
    l->quant_json = NULL;
}

void swan_qlayout_shard_name(const swan_qlayout *l, uint32_t k, char *out, size_t cap) {
    snprintf(out, cap, "model-%05u-of-%05u.safetensors", k + 1, l->nshards);
}
