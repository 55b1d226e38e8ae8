/* format_files.c: the files MLX and llama.cpp take as they are.
 *
 *   OUT/mlx_quant.json           the "quantization" block mlx_lm writes into config.json:
 *                                defaults plus, per mlx_lm module path, {"group_size",
 *                                "bits"} or false (kept unquantized)
 *   OUT/swan_predicate.py        standard-library module whose predicate(path, module)
 *                                answers from mlx_quant.json: mlx_lm's quant_predicate
 *   OUT/llama_tensor_types.txt   `llama-quantize --tensor-type-file` input: one
 *                                `^<gguf name>$=<type>` per tensor, whitespace separated
 *                                (the format tools/quantize/quantize.cpp reads: no comments)
 *
 * All three only serialize the decisions table; names come from mlx_names.h. An expert
 * stack is one entry (its members share one width by construction). */
#include <stdlib.h>
#include <string.h>

#include "common/json_writer.h"
#include "coordinator/outputs/mlx_names.h"
#include "coordinator/outputs/outputs.h"

/* One bit per stack id: a stack's path is written once. */
typedef struct seen_stacks {
    unsigned char *bits;
} seen_stacks;

static int seen_init(seen_stacks *s, size_t n, swan_error *err) {
    s->bits = calloc(n / 8 + 1, 1);
    return s->bits ? 0 : swan_error_set(err, "out of memory");
}

/* true when stack id was seen already (never for SWAN_NO_STACK): its path is written,
 * and the other members need no name mapping (100,000 of them on a large MoE) */
static bool seen_before(const seen_stacks *s, uint32_t id) {
    return id != SWAN_NO_STACK && (s->bits[id / 8] >> (id % 8) & 1u);
}

/* true the first time stack id is seen (always true for SWAN_NO_STACK) */
static bool seen_first(seen_stacks *s, uint32_t id) {
    if (id == SWAN_NO_STACK) return true;
    unsigned char m = (unsigned char)(1u << (id % 8));
    if (s->bits[id / 8] & m) return false;
    s->bits[id / 8] |= m;
    return true;
}

/* The most common quantized (bits, group) by parameters: mlx_lm's defaults. */
static void default_width(const swan_output_ctx *c, int *bits, int *group) {
    static const int B[] = {2, 3, 4, 5, 6, 8}, G[] = {32, 64, 128};
    double params[6][3] = {{0}}; /* by (bits, group) index, one pass over the table */
    for (size_t i = 0; i < c->ck->ntensors; i++) {
        const swan_decision *d = &c->red->d[i];
        int bi = d->bits == 8 ? 5 : d->bits - 2, gi = d->group_size == 32 ? 0 : d->group_size == 64 ? 1 : d->group_size == 128 ? 2 : -1;
        if (bi >= 0 && bi < 6 && B[bi] == d->bits && gi >= 0) params[bi][gi] += (double)c->ck->tensors[i].nelem;
    }
    double best = 0;
    *bits = 4;
    *group = 64;
    for (size_t bi = 0; bi < 6; bi++)
        for (size_t gi = 0; gi < 3; gi++) {
            double p = params[bi][gi];
            if (p > best) {
                best = p;
                *bits = B[bi];
                *group = G[gi];
            }
        }
}

int swan_mlx_quant_write(FILE *f, const swan_output_ctx *c, swan_error *err) {
    swan_mlx_model m;
    swan_mlx_model_from_config(c->ck->config_json, &m);
    seen_stacks seen;
    if (seen_init(&seen, c->red->nstacks, err)) return -1;
    int b0, g0;
    default_width(c, &b0, &g0);
    swan_jw w;
    swan_jw_init(&w, f, 4);
    swan_jw_object_begin(&w);
    swan_jw_key_uint(&w, "group_size", (uint64_t)g0);
    swan_jw_key_uint(&w, "bits", (uint64_t)b0);
    swan_jw_key_string(&w, "mode", "affine");
    for (size_t i = 0; i < c->ck->ntensors; i++) {
        const swan_tensor *t = &c->ck->tensors[i];
        const swan_decision *d = &c->red->d[i];
        if (seen_before(&seen, d->stack)) continue;
        char paths[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX];
        int np = swan_mlx_module_paths(&m, t->name, t->ndim, paths);
        if (np == 0 || !seen_first(&seen, d->stack)) continue;
        for (int k = 0; k < np; k++) {
            swan_jw_key(&w, paths[k]);
            if (d->bits < 16) {
                swan_jw_object_begin(&w);
                swan_jw_key_uint(&w, "group_size", (uint64_t)d->group_size);
                swan_jw_key_uint(&w, "bits", (uint64_t)d->bits);
                swan_jw_object_end(&w);
            } else {
                swan_jw_bool(&w, false);
            }
        }
    }
    swan_jw_object_end(&w);
    free(seen.bits);
    if (swan_jw_error(&w)) return swan_error_set(err, "write failed");
    fputc('\n', f);
    return 0;
}

static const char k_predicate[] =
    "\"\"\"swan_predicate.py: per-module MLX quantization chosen by swan (generated; standard library only).\n"
    "\n"
    "Use it as mlx_lm's quant_predicate, with mlx_quant.json beside this file:\n"
    "\n"
    "    import sys; sys.path.insert(0, \"OUT\")\n"
    "    from swan_predicate import predicate\n"
    "    from mlx_lm import convert\n"
    "    convert(\"MODEL\", mlx_path=\"MODEL-swan\", quantize=True, q_group_size=32,\n"
    "            quant_predicate=predicate)\n"
    "\n"
    "predicate(path, module) returns {\"group_size\": g, \"bits\": b} for a module swan\n"
    "quantizes and False for one it keeps (and for any path swan did not see). mlx_lm\n"
    "skips a module whose input size is not a multiple of q_group_size before asking,\n"
    "so pass q_group_size=32 (the smallest group swan uses) to let every choice through.\n"
    "\"\"\"\n"
    "import json\n"
    "import os\n"
    "\n"
    "_HERE = os.path.dirname(os.path.abspath(__file__))\n"
    "with open(os.path.join(_HERE, \"mlx_quant.json\"), encoding=\"utf-8\") as _f:\n"
    "    QUANTIZATION = json.load(_f)\n"
    "\n"
    "DEFAULTS = {k: QUANTIZATION[k] for k in (\"group_size\", \"bits\", \"mode\") if k in QUANTIZATION}\n"
    "\n"
    "\n"
    "def predicate(path, module=None):\n"
    "    \"\"\"mlx_lm quant_predicate: {'group_size', 'bits'} or False for module path `path`.\"\"\"\n"
    "    if path in DEFAULTS:\n"
    "        return False\n"
    "    choice = QUANTIZATION.get(path, False)\n"
    "    if not isinstance(choice, dict):\n"
    "        return False\n"
    "    return {\"group_size\": int(choice[\"group_size\"]), \"bits\": int(choice[\"bits\"])}\n";

int swan_predicate_write(FILE *f, const swan_output_ctx *c, swan_error *err) {
    (void)c;
    if (fputs(k_predicate, f) == EOF) return swan_error_set(err, "write failed");
    return 0;
}

static const char *ggml_type(int bits, swan_dtype src) {
    switch (bits) {
    case 2: return "q2_K";
    case 3: return "q3_K";
    case 4: return "q4_K";
    case 5: return "q5_K";
    case 6: return "q6_K";
    case 8: return "q8_0";
    default: return src == SWAN_DT_BF16 ? "bf16" : "f16";
    }
}

/* ^name$ with regex metacharacters escaped: llama.cpp matches each entry as a
 * regular expression (std::regex_search), so `output.weight` unescaped and
 * unanchored would also hit `blk.0.attn_output.weight`. */
static void put_pattern(FILE *f, const char *name) {
    fputc('^', f);
    for (const char *p = name; *p; p++) {
        if (strchr(".^$|()[]{}*+?\\", *p)) fputc('\\', f);
        fputc(*p, f);
    }
    fputc('$', f);
}

int swan_llama_types_write(FILE *f, const swan_output_ctx *c, swan_error *err) {
    swan_mlx_model m;
    swan_mlx_model_from_config(c->ck->config_json, &m);
    seen_stacks seen;
    if (seen_init(&seen, c->red->nstacks, err)) return -1;
    for (size_t i = 0; i < c->ck->ntensors; i++) {
        const swan_tensor *t = &c->ck->tensors[i];
        const swan_decision *d = &c->red->d[i];
        if (c->plan->recs[i].kind != SWAN_KIND_MATRIX && c->plan->recs[i].kind != SWAN_KIND_TINY)
            continue;
        if (seen_before(&seen, d->stack)) continue;
        char names[SWAN_MLX_MAX_PATHS][SWAN_MLX_PATH_MAX];
        int nn = swan_gguf_names(&m, t->name, t->ndim, names);
        if (nn == 0 || !seen_first(&seen, d->stack)) continue;
        for (int k = 0; k < nn; k++) {
            if (strpbrk(names[k], " \t\r\n=")) continue; /* not expressible in this format */
            put_pattern(f, names[k]);
            fprintf(f, "=%s\n", ggml_type(d->bits, t->dtype));
        }
    }
    free(seen.bits);
    if (ferror(f)) return swan_error_set(err, "write failed");
    return 0;
}
