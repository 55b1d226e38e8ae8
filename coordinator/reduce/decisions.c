/* decisions.c: the whole-model reduce into one decisions table (see decisions.h). */
#include "coordinator/reduce/decisions.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/str_index.h"
#include "coordinator/outputs/mlx_names.h"
#include "coordinator/reduce/budget.h"
#include "coordinator/reduce/stacks.h"

static const int k_bits[SWAN_MLX_NBITS] = {2, 3, 4, 5, 6, 8};
static const int k_groups[SWAN_MLX_NGROUPS] = {32, 64, 128};
#define NOPTS (SWAN_MLX_NBITS * SWAN_MLX_NGROUPS + 1) /* every (bits, group) and 16-bit */

double swan_sensitivity_weight(double composite) {
    /* 1 for the least sensitive tensor, 4 for the most: see docs/allocation.md. */
    return 1.0 + 3.0 * composite;
}

static int bits_index(int bits) {
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        if (k_bits[i] == bits) return i;
    return -1;
}

static int group_index(int g) {
    for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
        if (k_groups[j] == g) return j;
    return -1;
}

static bool table_measured(const swan_raw_metrics *raw) {
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
            if (raw->mlx_nrmse[i][j] > 0) return true;
    return false;
}

double swan_width_error(const swan_raw_metrics *raw, int bits, int group, bool *measured) {
    if (measured) *measured = false;
    if (group <= 0 || raw->cols % (uint64_t)group != 0) return -1;
    int bi = bits_index(bits), gi = group_index(group);
    if (bi >= 0 && gi >= 0 && table_measured(raw)) {
        if (measured) *measured = true;
        return raw->mlx_nrmse[bi][gi];
    }
    if (bits < 2 || bits > 8) return -1;
    /* No measured table (a journal from before it existed): scale M4, measured at 4
     * bits and group 128, by the step size (2^b - 1 levels) and by how the expected
     * range of a Gaussian group grows with its size (~sqrt(2 ln g)). */
    double gf = group == 128 ? 1.0 : sqrt(log((double)group) / log(128.0));
    return raw->rtn_nrmse * (15.0 / (double)((1 << bits) - 1)) * gf;
}

/* ---- normalization ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return sorted[n - 1];
    double f = pos - (double)i;
    return sorted[i] + f * (sorted[i + 1] - sorted[i]);
}

static bool usable(const swan_tensor_rec *r) {
    return r->kind == SWAN_KIND_MATRIX && r->raw && r->raw->nonfinite == 0;
}

/* A matrix not analyzed yet, counted (before the analysis) as one that will be. */
static bool pending(const swan_tensor_rec *r, bool assume_pending) {
    return assume_pending && r->kind == SWAN_KIND_MATRIX && !r->raw;
}

/* The raw metrics the allocation model reads for tensor rec: its own, or for a pending
 * matrix a stand-in that knows only the 2-D view's shape (which is all that decides
 * which (bits, group size) it can store; its damage is 0, irrelevant to the range). */
static const swan_raw_metrics *model_raw(const swan_tensor_rec *r, swan_raw_metrics *shape_only) {
    if (r->raw) return r->raw;
    memset(shape_only, 0, sizeof *shape_only);
    shape_only->rows = r->rows;
    shape_only->cols = r->cols;
    return shape_only;
}

/* Adaptive ranges: the 5th and 95th percentiles of each metric over the model's
 * analyzed matrices (robust to a few outliers, and by construction no metric sits at
 * one end for most tensors). A metric with no spread keeps its fixed range. */
static int adaptive_ranges(const swan_plan *plan, swan_norm_ranges *rg, swan_error *err) {
    swan_norm_fixed(rg);
    double *v = malloc((plan->nrecs ? plan->nrecs : 1) * sizeof *v);
    if (!v) return swan_error_set(err, "out of memory normalizing");
    for (int m = 0; m < SWAN_NMETRICS; m++) {
        size_t n = 0;
        for (size_t i = 0; i < plan->nrecs; i++) {
            const swan_tensor_rec *r = &plan->recs[i];
            if (!usable(r)) continue;
            if (m == SWAN_M_OUT && r->raw->output_delta < 1e-6) continue;
            v[n++] = swan_metric_value(r->raw, m);
        }
        if (n < 2) continue;
        qsort(v, n, sizeof *v, cmp_double);
        double lo = quantile(v, n, 0.05), hi = quantile(v, n, 0.95);
        if (hi > lo) {
            rg->lo[m] = lo;
            rg->hi[m] = hi;
        }
    }
    free(v);
    return 0;
}

static void clip_shares(const swan_plan *plan, const swan_reduction *out, swan_reduction *o) {
    size_t n = 0, c0[SWAN_NMETRICS] = {0}, c1[SWAN_NMETRICS] = {0};
    for (size_t i = 0; i < plan->nrecs; i++) {
        if (!usable(&plan->recs[i])) continue;
        const swan_scores *s = &out->d[i].scores;
        double v[SWAN_NMETRICS] = {s->svd, s->kurtosis, s->output_sensitivity, s->error_proxy};
        for (int m = 0; m < SWAN_NMETRICS; m++) {
            c0[m] += v[m] <= 0.0;
            c1[m] += v[m] >= 1.0;
        }
        n++;
    }
    for (int m = 0; m < SWAN_NMETRICS; m++) {
        o->clip0[m] = n ? (double)c0[m] / (double)n : 0;
        o->clip1[m] = n ? (double)c1[m] / (double)n : 0;
    }
}

/* ---- stacks ---------------------------------------------------------------------- */

/* The distinct stack keys of a model, each once: one text buffer, and an index of
 * them (common/str_index.h). */
typedef struct key_set {
    char *text;
    size_t len, cap;
    size_t *at;     /* offset of distinct key k in text */
    size_t n;
    swan_str_index ix;
} key_set;

static const char *key_text(const void *ks, uint32_t k) {
    const key_set *s = ks;
    return s->text + s->at[k];
}

/* The number of key (added when new), or SWAN_STR_NONE when out of memory. */
static uint32_t key_set_add(key_set *ks, const char *key) {
    uint32_t k = swan_str_index_find(&ks->ix, key, key_text, ks, (uint32_t)ks->n);
    if (k != ks->n) return k;
    size_t n = strlen(key) + 1;
    if (ks->len + n > ks->cap) {
        size_t cap = ks->cap ? 2 * ks->cap : 4096;
        while (cap < ks->len + n) cap *= 2;
        char *g = realloc(ks->text, cap);
        if (!g) return SWAN_STR_NONE;
        ks->text = g;
        ks->cap = cap;
    }
    memcpy(ks->text + ks->len, key, n);
    ks->at[ks->n++] = ks->len;
    ks->len += n;
    return k;
}

typedef struct key_ref {
    const char *key;
    uint32_t num; /* its number in the key_set */
} key_ref;

static int by_key(const void *a, const void *b) {
    return strcmp(((const key_ref *)a)->key, ((const key_ref *)b)->key);
}

/* Gives each analyzed matrix with an expert index its stack id: the rank of its stack
 * key (`...experts.*.up_proj.weight`) among the model's distinct keys in strcmp order
 * (stacks of one member are still stacks: the formats store them the same way). Only
 * the distinct keys are sorted: a few dozen on a 100,000-expert model. */
static int assign_stacks(const swan_checkpoint *ck, const swan_plan *plan, swan_reduction *out,
                         swan_error *err) {
    size_t n = ck->ntensors;
    key_set ks = {0};
    int ix_rc = swan_str_index_init(&ks.ix, n);
    ks.at = malloc((n ? n : 1) * sizeof *ks.at);
    uint32_t *key_of = malloc((n ? n : 1) * sizeof *key_of); /* per tensor; SWAN_STR_NONE: none */
    key_ref *order = NULL;
    uint32_t *rank = NULL;
    char *key = NULL;
    size_t key_cap = 0;
    int rc = 0;
    if (ix_rc || !ks.at || !key_of) goto oom;
    for (size_t i = 0; i < n; i++) {
        key_of[i] = SWAN_STR_NONE;
        if (plan->recs[i].kind != SWAN_KIND_MATRIX) continue;
        const char *name = ck->tensors[i].name;
        size_t len = strlen(name) + 2;
        if (len > key_cap) {
            char *g = realloc(key, len);
            if (!g) goto oom;
            key = g;
            key_cap = len;
        }
        if (swan_stack_key(name, key, len, NULL) && (key_of[i] = key_set_add(&ks, key)) == SWAN_STR_NONE)
            goto oom;
    }
    order = malloc((ks.n ? ks.n : 1) * sizeof *order);
    rank = malloc((ks.n ? ks.n : 1) * sizeof *rank);
    if (!order || !rank) goto oom;
    for (size_t k = 0; k < ks.n; k++) order[k] = (key_ref){ks.text + ks.at[k], (uint32_t)k};
    qsort(order, ks.n, sizeof *order, by_key); /* distinct keys: no ties */
    for (size_t r = 0; r < ks.n; r++) rank[order[r].num] = (uint32_t)r;
    for (size_t i = 0; i < n; i++)
        if (key_of[i] != SWAN_STR_NONE) out->d[i].stack = rank[key_of[i]];
    out->nstacks = ks.n;
    goto done;
oom:
    rc = swan_error_set(err, "out of memory finding expert stacks");
done:
    swan_str_index_free(&ks.ix);
    free(ks.text), free(ks.at), free(key_of), free(order), free(rank), free(key);
    return rc;
}

/* ---- the allocation model: units and their options ------------------------------ */

typedef struct alloc_model {
    size_t nunits;
    size_t *first;              /* nunits + 1 option offsets                         */
    swan_budget_option *opts;
    uint8_t *obits;             /* per option: bits (16 = keep)                      */
    uint8_t *ogroup;            /* per option: group / 32 * ... stored as the value  */
    uint32_t *unit_of;          /* per tensor: unit, or UINT32_MAX (fixed)          */
    uint32_t *mfirst, *members; /* unit u's tensors: members[mfirst[u] .. mfirst[u+1]) */
    uint8_t *floor_bits, *floor_group; /* per unit: the format's floor (0: none)      */
    double fixed;               /* bits of everything outside the units              */
    double total_params;
} alloc_model;

static void model_free(alloc_model *m) {
    free(m->first), free(m->opts), free(m->obits), free(m->ogroup);
    free(m->unit_of), free(m->mfirst), free(m->members);
    free(m->floor_bits), free(m->floor_group);
    memset(m, 0, sizeof *m);
}

static double stored_bits(const swan_checkpoint *ck, const swan_plan *plan, size_t i) {
    const swan_tensor *t = &ck->tensors[i];
    if (plan->recs[i].kind == SWAN_KIND_MATRIX) return 16.0 * (double)t->nelem;
    return 8.0 * (double)t->nbytes;
}

/* Is tensor i a candidate for quantization under p? (prot from its decision) */
static bool quantizable(const swan_plan *plan, const swan_decision *d, size_t i,
                        const swan_policy *p, bool assume_pending) {
    if (!usable(&plan->recs[i]) && !pending(&plan->recs[i], assume_pending)) return false;
    if (strcmp(d[i].classification, "protected") == 0 && !p->quantize_protected) return false;
    return true;
}

/* The units, their options and the fixed bits. With assume_pending, matrices not
 * analyzed yet are units too (swan_reduce_reach before the analysis). */
static int model_build(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                       const swan_decision *d, size_t nstacks, bool assume_pending,
                       alloc_model *m, swan_error *err) {
    swan_mlx_model arch;
    swan_mlx_model_from_config(ck->config_json, &arch);
    memset(m, 0, sizeof *m);
    size_t n = ck->ntensors;
    m->unit_of = malloc((n ? n : 1) * sizeof *m->unit_of);
    uint32_t *stack_unit = malloc((nstacks ? nstacks : 1) * sizeof *stack_unit);
    if (!m->unit_of || !stack_unit) goto oom;
    for (size_t s = 0; s < nstacks; s++) stack_unit[s] = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        m->total_params += (double)ck->tensors[i].nelem;
        m->unit_of[i] = UINT32_MAX;
        if (!quantizable(plan, d, i, p, assume_pending)) {
            m->fixed += stored_bits(ck, plan, i);
            continue;
        }
        uint32_t s = d[i].stack;
        if (s != SWAN_NO_STACK) {
            if (stack_unit[s] == UINT32_MAX) stack_unit[s] = (uint32_t)m->nunits++;
            m->unit_of[i] = stack_unit[s];
        } else {
            m->unit_of[i] = (uint32_t)m->nunits++;
        }
    }
    free(stack_unit);
    stack_unit = NULL;
    size_t nu = m->nunits;
    m->mfirst = calloc(nu + 1, sizeof *m->mfirst);
    m->members = malloc((n ? n : 1) * sizeof *m->members);
    m->first = malloc((nu + 1) * sizeof *m->first);
    m->opts = malloc((nu ? nu : 1) * NOPTS * sizeof *m->opts);
    m->obits = malloc((nu ? nu : 1) * NOPTS);
    m->ogroup = malloc((nu ? nu : 1) * NOPTS);
    m->floor_bits = calloc(nu ? nu : 1, 1);
    m->floor_group = calloc(nu ? nu : 1, 1);
    if (!m->mfirst || !m->members || !m->first || !m->opts || !m->obits || !m->ogroup ||
        !m->floor_bits || !m->floor_group)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (m->unit_of[i] != UINT32_MAX) m->mfirst[m->unit_of[i] + 1]++;
    for (size_t u = 0; u < nu; u++) m->mfirst[u + 1] += m->mfirst[u];
    {
        uint32_t *fill = calloc(nu ? nu : 1, sizeof *fill);
        if (!fill) goto oom;
        for (size_t i = 0; i < n; i++) {
            uint32_t u = m->unit_of[i];
            if (u != UINT32_MAX) m->members[m->mfirst[u] + fill[u]++] = (uint32_t)i;
        }
        free(fill);
    }
    size_t at = 0;
    for (size_t u = 0; u < nu; u++) {
        m->first[u] = at;
        double params = 0;
        for (uint32_t k = m->mfirst[u]; k < m->mfirst[u + 1]; k++) {
            params += (double)ck->tensors[m->members[k]].nelem;
            int fb, fg; /* mlx_lm's own floor for this module (e.g. qwen3_moe mlp.gate) */
            if (swan_mlx_floor(&arch, ck->tensors[m->members[k]].name, &fb, &fg) &&
                fb > m->floor_bits[u]) {
                m->floor_bits[u] = (uint8_t)fb;
                m->floor_group[u] = (uint8_t)fg;
            }
        }
        for (int bi = 0; bi < SWAN_MLX_NBITS; bi++)
            for (int gi = 0; gi < SWAN_MLX_NGROUPS; gi++) {
                if (k_bits[bi] < m->floor_bits[u]) continue;
                double damage = 0;
                bool ok = true;
                for (uint32_t k = m->mfirst[u]; k < m->mfirst[u + 1] && ok; k++) {
                    uint32_t t = m->members[k];
                    swan_raw_metrics shape_only;
                    double e = swan_width_error(model_raw(&plan->recs[t], &shape_only), k_bits[bi],
                                                k_groups[gi], NULL);
                    if (e < 0) ok = false;
                    else damage += swan_sensitivity_weight(d[t].composite) *
                                   (double)ck->tensors[t].nelem * e * e;
                }
                if (!ok) continue;
                m->opts[at] = (swan_budget_option){params * (k_bits[bi] + 32.0 / k_groups[gi]), damage};
                m->obits[at] = (uint8_t)k_bits[bi];
                m->ogroup[at] = (uint8_t)k_groups[gi];
                at++;
            }
        m->opts[at] = (swan_budget_option){16.0 * params, 0.0};
        m->obits[at] = 16;
        m->ogroup[at] = 0;
        at++;
    }
    m->first[nu] = at;
    return 0;
oom:
    free(stack_unit);
    model_free(m);
    return swan_error_set(err, "out of memory building the allocation model");
}

static swan_budget_problem model_problem(const alloc_model *m) {
    return (swan_budget_problem){m->opts, m->first, m->nunits, m->fixed};
}

/* The one place the reachable range is computed: every unit at its cheapest and at
 * its dearest option (swan_budget_range), plus what is fixed. */
static swan_reach model_reach(const alloc_model *m) {
    swan_budget_problem pb = model_problem(m);
    swan_reach r = {0, 0, m->total_params};
    swan_budget_range(&pb, &r.lo_bits, &r.hi_bits);
    return r;
}

int swan_reduce_check_target(const swan_policy *p, const swan_reach *r, swan_error *err) {
    if (p->alloc == SWAN_ALLOC_THRESHOLDS) return 0;
    double budget = swan_reduce_budget_bits(p, r);
    if (budget >= r->lo_bits && budget <= r->hi_bits) return 0;
    if (p->alloc == SWAN_ALLOC_TARGET_BPW)
        swan_error_set(err, "--target-bpw %g is outside what this model can reach: %.4f to %.4f bits per weight",
                       p->target_bpw, r->params > 0 ? r->lo_bits / r->params : 0,
                       r->params > 0 ? r->hi_bits / r->params : 0);
    else
        swan_error_set(err, "--target-size %.0f bytes is outside what this model can reach: %.0f to %.0f bytes (%.3f to %.3f GB)",
                       p->target_bytes, r->lo_bits / 8, r->hi_bits / 8, r->lo_bits / 8e9,
                       r->hi_bits / 8e9);
    return SWAN_REDUCE_UNREACHABLE;
}

double swan_reduce_budget_bits(const swan_policy *p, const swan_reach *r) {
    return p->alloc == SWAN_ALLOC_TARGET_BPW ? p->target_bpw * r->params : p->target_bytes * 8.0;
}

/* A uniform choice: every unit at (bits, group) when it can store it, else the
 * largest group that divides at those bits, else 16-bit; a unit with a format floor
 * above those bits takes its floor. */
static void uniform_choice(const alloc_model *m, int bits0, int group0, uint32_t *choice) {
    for (size_t u = 0; u < m->nunits; u++) {
        int bits = bits0, group = group0;
        if (bits < m->floor_bits[u]) { /* a unit with a floor takes the floor instead */
            bits = m->floor_bits[u];
            group = m->floor_group[u];
        }
        size_t a = m->first[u], b = m->first[u + 1];
        uint32_t pick = (uint32_t)(b - a - 1); /* 16-bit is last */
        int best_g = 0;
        for (size_t o = a; o < b; o++) {
            if (m->obits[o] != bits || m->ogroup[o] > group) continue;
            if (m->ogroup[o] > best_g) {
                best_g = m->ogroup[o];
                pick = (uint32_t)(o - a);
            }
        }
        choice[u] = pick;
    }
}

/* Solves the budget, then also tries every uniform width that fits (filled up by
 * the greedy fix-up) and keeps whichever has the least damage: the result is never
 * worse than a uniform allocation of the same or smaller size. */
static int model_solve(const alloc_model *m, double budget, uint32_t *choice, swan_error *err) {
    swan_budget_problem pb = model_problem(m);
    if (swan_budget_solve(&pb, budget, choice, err)) return -1;
    double best_cost, best_damage;
    swan_budget_eval(&pb, choice, &best_cost, &best_damage);
    uint32_t *alt = malloc((m->nunits ? m->nunits : 1) * sizeof *alt);
    if (!alt) return swan_error_set(err, "out of memory in the budget solver");
    for (int bi = 0; bi < SWAN_MLX_NBITS; bi++)
        for (int gi = 0; gi < SWAN_MLX_NGROUPS; gi++) {
            uniform_choice(m, k_bits[bi], k_groups[gi], alt);
            double c, dmg;
            swan_budget_eval(&pb, alt, &c, &dmg);
            if (c > budget) continue;
            if (swan_budget_fixup(&pb, budget, alt, err)) {
                free(alt);
                return -1;
            }
            swan_budget_eval(&pb, alt, &c, &dmg);
            if (dmg < best_damage) {
                best_damage = dmg;
                memcpy(choice, alt, m->nunits * sizeof *alt);
            }
        }
    free(alt);
    return 0;
}

/* ---- threshold policy: stacks take the widest, groups must divide ---------------- */

/* Largest group size <= want among MLX's that divides every column count of tensor
 * set S (given as one tensor or a unit); 0 when none. */
static int fitting_group(const swan_plan *plan, const uint32_t *idx, size_t n, int want) {
    int cands[4] = {want, 128, 64, 32};
    for (int c = 0; c < 4; c++) {
        int g = cands[c];
        if (g <= 0 || g > want) continue;
        bool ok = true;
        for (size_t k = 0; k < n && ok; k++) ok = plan->recs[idx[k]].cols % (uint64_t)g == 0;
        if (ok) return g;
    }
    return 0;
}

static void set_width(swan_decision *d, int bits, int group, const char *reason) {
    d->bits = bits;
    d->group_size = bits < 16 ? group : 0;
    if (reason) d->reason = reason;
    if (strcmp(d->classification, "protected") != 0)
        d->classification = bits >= 8 ? "sensitive" : "default";
}

static int apply_thresholds(const swan_plan *plan, const swan_policy *p, const alloc_model *m,
                            swan_decision *d) {
    /* Units (stacks and single matrices) that may be quantized. */
    for (size_t u = 0; u < m->nunits; u++) {
        const uint32_t *mem = m->members + m->mfirst[u];
        size_t nm = m->mfirst[u + 1] - m->mfirst[u];
        int widest = 0;
        for (size_t k = 0; k < nm; k++)
            if (d[mem[k]].bits > widest) widest = d[mem[k]].bits;
        const char *why = NULL;
        int want_g = widest < 16 ? p->group_size[widest] : 0;
        if (widest < m->floor_bits[u]) { /* the format's own floor wins */
            widest = m->floor_bits[u];
            want_g = m->floor_group[u];
            why = "mlx_floor";
        }
        int g = widest < 16 ? fitting_group(plan, mem, nm, want_g) : 0;
        for (size_t k = 0; k < nm; k++) {
            swan_decision *x = &d[mem[k]];
            if (widest < 16 && g == 0) set_width(x, 16, 0, "not_divisible");
            else set_width(x, widest, g, why ? why : x->bits != widest ? "stack_widest" : NULL);
        }
    }
    return 0;
}

static void apply_choice(const alloc_model *m, const uint32_t *choice, swan_decision *d) {
    for (size_t u = 0; u < m->nunits; u++) {
        size_t o = m->first[u] + choice[u];
        for (uint32_t k = m->mfirst[u]; k < m->mfirst[u + 1]; k++)
            set_width(&d[m->members[k]], m->obits[o], m->ogroup[o], "budget");
    }
}

/* Units whose only option is 16-bit could not store any width. */
static void mark_not_divisible(const alloc_model *m, swan_decision *d) {
    for (size_t u = 0; u < m->nunits; u++)
        if (m->first[u + 1] - m->first[u] == 1)
            for (uint32_t k = m->mfirst[u]; k < m->mfirst[u + 1]; k++)
                set_width(&d[m->members[k]], 16, 0, "not_divisible");
}

/* ---- summary --------------------------------------------------------------------- */

static void summarize(const swan_checkpoint *ck, const swan_plan *plan, swan_reduction *o) {
    double bit_params = 0, mlx_bits = 0, damage = 0;
    for (size_t i = 0; i < ck->ntensors; i++) {
        swan_decision *d = &o->d[i];
        uint64_t n = ck->tensors[i].nelem;
        o->total_params += n;
        o->params_by_bits[d->bits] += n;
        o->tensors_by_bits[d->bits]++;
        bit_params += (double)n * d->bits;
        o->analyzed += plan->recs[i].kind == SWAN_KIND_MATRIX;
        if (d->bits < 16) {
            mlx_bits += (double)n * (d->bits + 32.0 / d->group_size);
            bool measured;
            const swan_raw_metrics none = {0}, *raw = plan->recs[i].raw ? plan->recs[i].raw : &none;
            d->nrmse = swan_width_error(raw, d->bits, d->group_size, &measured);
            if (d->nrmse < 0) d->nrmse = 0;
            if (!measured) o->errors_estimated++;
            damage += swan_sensitivity_weight(d->composite) * (double)n * d->nrmse * d->nrmse;
        } else {
            mlx_bits += stored_bits(ck, plan, i);
        }
    }
    o->tensor_count = ck->ntensors;
    o->average_bits = o->total_params ? bit_params / (double)o->total_params : 0;
    o->effective_bpw = o->total_params ? mlx_bits / (double)o->total_params : 0;
    o->mlx_bytes = mlx_bits / 8.0;
    o->estimated_size_gb = o->mlx_bytes / 1e9;
    o->expected_damage = damage;
}

void swan_reduction_free(swan_reduction *r) {
    free(r->d);
    memset(r, 0, sizeof *r);
}

int swan_reduce_run(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                    swan_reduction *out, swan_error *err) {
    memset(out, 0, sizeof *out);
    out->n = ck->ntensors;
    out->d = calloc(out->n ? out->n : 1, sizeof *out->d);
    if (!out->d) return swan_error_set(err, "out of memory for %zu decisions", out->n);
    if (p->norm == SWAN_NORM_ADAPTIVE) {
        if (adaptive_ranges(plan, &out->ranges, err)) goto fail;
    } else {
        swan_norm_fixed(&out->ranges);
    }
    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor_rec *r = &plan->recs[i];
        swan_decide_with(p, &out->ranges, ck->tensors[i].name, r->kind, r->raw,
                         &out->d[i]);
    }
    clip_shares(plan, out, out);
    if (assign_stacks(ck, plan, out, err)) goto fail;
    alloc_model m;
    if (model_build(ck, plan, p, out->d, out->nstacks, false, &m, err)) goto fail;
    swan_reach reach = model_reach(&m);
    out->min_bpw = reach.params > 0 ? reach.lo_bits / reach.params : 0;
    out->max_bpw = reach.params > 0 ? reach.hi_bits / reach.params : 0;
    int rc = 0;
    if (p->alloc == SWAN_ALLOC_THRESHOLDS) {
        apply_thresholds(plan, p, &m, out->d);
    } else {
        double budget = swan_reduce_budget_bits(p, &reach);
        out->target_bits = budget;
        if ((rc = swan_reduce_check_target(p, &reach, err)) == 0) {
            uint32_t *choice = malloc((m.nunits ? m.nunits : 1) * sizeof *choice);
            if (!choice) rc = swan_error_set(err, "out of memory in the budget solver");
            else if ((rc = model_solve(&m, budget, choice, err)) == 0) apply_choice(&m, choice, out->d);
            free(choice);
        }
    }
    if (rc == 0 && p->alloc != SWAN_ALLOC_THRESHOLDS) mark_not_divisible(&m, out->d);
    model_free(&m);
    if (rc) {
        swan_reduction_free(out);
        return rc;
    }
    summarize(ck, plan, out);
    return 0;
fail:
    swan_reduction_free(out);
    return -1;
}

int swan_reduce_reach(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                      bool assume_pending, swan_reach *out, swan_error *err) {
    /* The same steps as swan_reduce_run up to the allocation model: protection and
     * classification per tensor, expert stacks, units and their options. Scores do
     * not matter for the range, so the fixed ranges do for normalization. */
    swan_reduction red;
    memset(&red, 0, sizeof red);
    red.n = ck->ntensors;
    red.d = calloc(red.n ? red.n : 1, sizeof *red.d);
    if (!red.d) return swan_error_set(err, "out of memory for %zu decisions", red.n);
    swan_norm_fixed(&red.ranges);
    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor_rec *r = &plan->recs[i];
        swan_raw_metrics shape_only;
        const swan_raw_metrics *raw = r->raw || pending(r, assume_pending) ? model_raw(r, &shape_only) : NULL;
        swan_decide_with(p, &red.ranges, ck->tensors[i].name, r->kind, raw, &red.d[i]);
    }
    alloc_model m;
    int rc = assign_stacks(ck, plan, &red, err);
    if (rc == 0) rc = model_build(ck, plan, p, red.d, red.nstacks, assume_pending, &m, err);
    if (rc == 0) {
        *out = model_reach(&m);
        model_free(&m);
    }
    swan_reduction_free(&red);
    return rc ? -1 : 0;
}

int swan_reduce_check_reachable(const swan_checkpoint *ck, const swan_plan *plan,
                                const swan_policy *p, bool assume_pending, swan_error *err) {
    if (p->alloc == SWAN_ALLOC_THRESHOLDS) return 0;
    swan_reach reach;
    if (swan_reduce_reach(ck, plan, p, assume_pending, &reach, err)) return -1;
    return swan_reduce_check_target(p, &reach, err);
}

int swan_reduce_curve(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                      const swan_reduction *red, const double *targets, size_t n,
                      swan_curve_point *budget_pts, swan_curve_point *uniform_pts, swan_error *err) {
    /* The units depend on classification, stacks and composites only, which every
     * policy computes the same way: reuse them. */
    alloc_model m;
    int rc = model_build(ck, plan, p, red->d, red->nstacks, false, &m, err);
    if (rc) return -1;
    swan_budget_problem pb = model_problem(&m);
    swan_reach reach = model_reach(&m);
    double lo = reach.lo_bits, hi = reach.hi_bits;
    uint32_t *choice = malloc((m.nunits ? m.nunits : 1) * sizeof *choice);
    if (!choice) {
        model_free(&m);
        return swan_error_set(err, "out of memory in the budget solver");
    }
    /* one Lagrangian sweep for every budget (cheap on 100,000 tensors) */
    double *budgets = malloc((n ? n : 1) * 3 * sizeof *budgets);
    if (!budgets) rc = swan_error_set(err, "out of memory");
    else {
        double *costs = budgets + n, *damages = budgets + 2 * n;
        for (size_t k = 0; k < n; k++) budgets[k] = targets[k] * m.total_params;
        rc = swan_budget_curve(&pb, budgets, n, costs, damages, err);
        for (size_t k = 0; k < n && rc == 0; k++) {
            bool in = budgets[k] >= lo && budgets[k] <= hi && m.total_params > 0 && !isnan(costs[k]);
            budget_pts[k] = (swan_curve_point){in ? costs[k] / m.total_params : NAN, in ? damages[k] : NAN, 0, 0};
        }
        free(budgets);
    }
    for (int bi = 0; bi < SWAN_MLX_NBITS && rc == 0; bi++)
        for (int gi = 0; gi < SWAN_MLX_NGROUPS; gi++) {
            uniform_choice(&m, k_bits[bi], k_groups[gi], choice);
            double c, dmg;
            swan_budget_eval(&pb, choice, &c, &dmg);
            uniform_pts[bi * SWAN_MLX_NGROUPS + gi] =
                (swan_curve_point){m.total_params > 0 ? c / m.total_params : 0, dmg, k_bits[bi], k_groups[gi]};
        }
    free(choice);
    model_free(&m);
    return rc;
}
