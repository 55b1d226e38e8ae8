/* manifest.c: stream the decisions table as OUT/manifest.json (see manifest.h). */
#include "coordinator/outputs/manifest.h"

#include <string.h>

#include "common/json_writer.h"
#include "coordinator/journal/journal.h"

static void write_scores(swan_jw *w, const swan_scores *s) {
    swan_jw_key(w, "scores");
    swan_jw_object_begin(w);
    swan_jw_key_double(w, "svd", s->svd);
    swan_jw_key_double(w, "kurtosis", s->kurtosis);
    swan_jw_key_double(w, "output_sensitivity", s->output_sensitivity);
    swan_jw_key_double(w, "error_proxy", s->error_proxy);
    swan_jw_object_end(w);
}

static const char *method_name(uint32_t m) {
    switch (m) {
    case SWAN_SPECTRAL_GRAM_EXACT: return "exact_gram_eigenvalues";
    case SWAN_SPECTRAL_RANDOMIZED: return "randomized_top_k";
    default: return "none";
    }
}

/* raw.mlx_nrmse = {"<bits>": {"<group size>": e, ...}, ...}: only the group sizes
 * that divide the columns (the others are negative in raw); {} when none does. */
static void write_mlx_nrmse(swan_jw *w, const swan_raw_metrics *raw) {
    static const char *const bit_keys[SWAN_MLX_NBITS] = {"2", "3", "4", "5", "6", "8"};
    static const char *const group_keys[SWAN_MLX_NGROUPS] = {"32", "64", "128"};
    bool any = false;
    for (int g = 0; g < SWAN_MLX_NGROUPS; g++) any = any || raw->mlx_nrmse[0][g] >= 0;
    swan_jw_key(w, "mlx_nrmse");
    swan_jw_object_begin(w);
    for (int i = 0; any && i < SWAN_MLX_NBITS; i++) {
        swan_jw_key(w, bit_keys[i]);
        swan_jw_object_begin(w);
        for (int g = 0; g < SWAN_MLX_NGROUPS; g++)
            if (raw->mlx_nrmse[i][g] >= 0) swan_jw_key_double(w, group_keys[g], raw->mlx_nrmse[i][g]);
        swan_jw_object_end(w);
    }
    swan_jw_object_end(w);
}

/* Per-tensor worker seconds are timing: they go to the "timing" block, not here. */
static void write_raw(swan_jw *w, const swan_raw_metrics *raw) {
    swan_jw_key(w, "raw");
    swan_jw_object_begin(w);
    swan_jw_key_double(w, "svd_concentration", raw->svd_concentration);
    swan_jw_key_double(w, "kurtosis", raw->kurtosis);
    swan_jw_key_double(w, "output_delta", raw->output_delta);
    swan_jw_key_double(w, "rtn_nrmse_4b_g128", raw->rtn_nrmse);
    swan_jw_key_double(w, "w_min", raw->w_min);
    swan_jw_key_double(w, "w_max", raw->w_max);
    swan_jw_key(w, "matrix");
    swan_jw_array_begin(w);
    swan_jw_uint(w, raw->rows);
    swan_jw_uint(w, raw->cols);
    swan_jw_array_end(w);
    swan_jw_key_string(w, "spectral_method", method_name(raw->spectral_method));
    swan_jw_key_uint(w, "spectral_rank", raw->spectral_rank);
    write_mlx_nrmse(w, raw);
    swan_jw_object_end(w);
}

static void write_tensor(swan_jw *w, const swan_tensor *t, const swan_tensor_rec *r,
                         const swan_decision *d, bool thresholds) {
    swan_jw_key(w, t->name);
    swan_jw_object_begin(w);
    swan_jw_key(w, "shape");
    swan_jw_array_begin(w);
    for (int k = 0; k < t->ndim; k++) swan_jw_uint(w, t->shape[k]);
    swan_jw_array_end(w);
    swan_jw_key_string(w, "dtype", swan_dtype_name(t->dtype));
    swan_jw_key_uint(w, "num_params", t->nelem);
    swan_jw_key_string(w, "kind", swan_kind_name(r->kind));
    swan_jw_key_string(w, "classification", d->classification);
    write_scores(w, &d->scores);
    swan_jw_key_double(w, "composite_score", d->composite);
    swan_jw_key(w, "decision");
    swan_jw_object_begin(w);
    swan_jw_key(w, "bits");
    swan_jw_int(w, d->bits);
    swan_jw_key_string(w, "reason", d->reason);
    if (d->bits < 16) {
        swan_jw_key(w, "group_size");
        swan_jw_int(w, d->group_size);
        swan_jw_key_double(w, "expected_nrmse", d->nrmse);
    }
    /* Where an expert stack or a storable group size changed the threshold rule's
     * width, what the rule alone said (the published method's own answer). */
    if (thresholds && d->threshold_bits != d->bits) {
        swan_jw_key(w, "threshold_bits");
        swan_jw_int(w, d->threshold_bits);
    }
    swan_jw_object_end(w);
    if (d->stack != SWAN_NO_STACK) {
        swan_jw_key(w, "stack");
        swan_jw_uint(w, d->stack);
    }
    if (r->raw) {
        if (r->raw->nonfinite) swan_jw_key_uint(w, "non_finite_count", r->raw->nonfinite);
        else write_raw(w, r->raw);
    }
    swan_jw_object_end(w);
}

static void write_summary(swan_jw *w, const swan_reduction *s) {
    swan_jw_key(w, "summary");
    swan_jw_object_begin(w);
    swan_jw_key_uint(w, "total_params", s->total_params);
    swan_jw_key(w, "bits_distribution");
    swan_output_write_widths(w, s, true);
    swan_jw_key_double(w, "estimated_size_gb", s->estimated_size_gb);
    swan_jw_key_double(w, "mlx_bytes", s->mlx_bytes);
    swan_jw_key_double(w, "average_bits", s->average_bits);
    swan_jw_key_double(w, "effective_bpw", s->effective_bpw);
    swan_jw_key_double(w, "expected_damage", s->expected_damage);
    swan_jw_key(w, "reachable_bpw");
    swan_jw_array_begin(w);
    swan_jw_double(w, s->min_bpw);
    swan_jw_double(w, s->max_bpw);
    swan_jw_array_end(w);
    swan_jw_key_uint(w, "tensor_count", s->tensor_count);
    swan_jw_key_uint(w, "analyzed_tensors", s->analyzed);
    swan_jw_key_uint(w, "expert_stacks", s->nstacks);
    swan_jw_key_uint(w, "errors_estimated", s->errors_estimated);
    swan_jw_object_end(w);
}

static const char *metric_names[SWAN_NMETRICS] = {"svd", "kurtosis", "output_sensitivity",
                                                  "error_proxy"};

static void write_settings(swan_jw *w, const swan_output_ctx *c) {
    const swan_policy *p = c->policy;
    const swan_reduction *red = c->red;
    swan_jw_key(w, "swan");
    swan_jw_object_begin(w);
    swan_jw_key_string(w, "version", c->info->swan_version ? c->info->swan_version : "?");
    swan_jw_key(w, "metrics_version");
    swan_jw_int(w, SWAN_METRICS_VERSION);
    swan_jw_key_uint(w, "seed", c->info->seed);
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)c->info->fingerprint);
    swan_jw_key_string(w, "checkpoint_fingerprint", fp);
    swan_jw_key_string(w, "policy", swan_policy_alloc_name(p));
    if (p->alloc == SWAN_ALLOC_TARGET_BPW) swan_jw_key_double(w, "target_bpw", p->target_bpw);
    if (p->alloc == SWAN_ALLOC_TARGET_SIZE) swan_jw_key_double(w, "target_bytes", p->target_bytes);
    swan_jw_key_string(w, "normalize", p->norm == SWAN_NORM_ADAPTIVE ? "adaptive" : "fixed");
    swan_jw_key(w, "weights");
    swan_jw_object_begin(w);
    swan_jw_key_double(w, "svd", p->w_svd);
    swan_jw_key_double(w, "kurtosis", p->w_kurt);
    swan_jw_key_double(w, "output_sensitivity", p->w_out);
    swan_jw_key_double(w, "error_proxy", p->w_err);
    swan_jw_object_end(w);
    swan_jw_key(w, "thresholds");
    swan_jw_array_begin(w);
    swan_jw_double(w, p->t_low);
    swan_jw_double(w, p->t_mid);
    swan_jw_double(w, p->t_high);
    swan_jw_array_end(w);
    swan_jw_key(w, "group_sizes");
    swan_jw_object_begin(w);
    swan_jw_key_uint(w, "2", (uint64_t)p->group_size[2]);
    swan_jw_key_uint(w, "4", (uint64_t)p->group_size[4]);
    swan_jw_key_uint(w, "8", (uint64_t)p->group_size[8]);
    swan_jw_object_end(w);
    swan_jw_key(w, "default_protect");
    swan_jw_bool(w, p->builtin_protect);
    swan_jw_key(w, "quantize_protected");
    swan_jw_bool(w, p->quantize_protected);
    swan_jw_key(w, "protected_patterns");
    swan_jw_array_begin(w);
    if (p->builtin_protect)
        for (size_t i = 0; i < swan_builtin_protect_count; i++) swan_jw_string(w, swan_builtin_protect[i]);
    for (size_t i = 0; i < p->nprotect; i++) swan_jw_string(w, p->protect[i]);
    swan_jw_array_end(w);
    swan_jw_key(w, "sensitivity_weight");
    swan_jw_string(w, "1 + 3 * composite");
    /* The normalization actually applied, and how many tensors each end clips. */
    swan_jw_key(w, "normalization");
    swan_jw_object_begin(w);
    for (int m = 0; m < SWAN_NMETRICS; m++) {
        swan_jw_key(w, metric_names[m]);
        swan_jw_object_begin(w);
        swan_jw_key_double(w, m == SWAN_M_OUT ? "log10_lo" : "lo", red->ranges.lo[m]);
        swan_jw_key_double(w, m == SWAN_M_OUT ? "log10_hi" : "hi", red->ranges.hi[m]);
        swan_jw_key_double(w, "share_clipped_at_0", red->clip0[m]);
        swan_jw_key_double(w, "share_clipped_at_1", red->clip1[m]);
        swan_jw_object_end(w);
    }
    swan_jw_object_end(w);
    swan_jw_object_end(w);
}

/* All timing of the run in one place; the ten slowest tensors as the workers saw them. */
static void write_timing(swan_jw *w, const swan_output_ctx *c) {
    swan_jw_key(w, "timing");
    swan_jw_object_begin(w);
    if (c->info->analysis_seconds >= 0)
        swan_jw_key_double(w, "analysis_time_seconds", c->info->analysis_seconds);
    swan_jw_key_double(w, "reduce_seconds", c->info->reduce_seconds);
    double total = 0;
    enum { TOP = 10 };
    size_t top[TOP];
    size_t ntop = 0;
    const swan_plan *plan = c->plan;
    for (size_t i = 0; i < plan->nrecs; i++) {
        if (!plan->recs[i].raw) continue;
        double s = plan->recs[i].raw->seconds;
        total += s;
        if (ntop == TOP && plan->recs[top[TOP - 1]].raw->seconds >= s) continue;
        size_t k = ntop < TOP ? ntop++ : TOP - 1;
        while (k > 0 && plan->recs[top[k - 1]].raw->seconds < s) {
            top[k] = top[k - 1];
            k--;
        }
        top[k] = i;
    }
    swan_jw_key_double(w, "worker_seconds_total", total);
    swan_jw_key(w, "slowest_tensors");
    swan_jw_array_begin(w);
    for (size_t k = 0; k < ntop; k++) {
        swan_jw_array_begin(w);
        swan_jw_string(w, c->ck->tensors[top[k]].name);
        swan_jw_double(w, plan->recs[top[k]].raw->seconds);
        swan_jw_array_end(w);
    }
    swan_jw_array_end(w);
    swan_jw_object_end(w);
}

/* ~1.3 KB per tensor: the disk gets every ~8 MB while the rest is being formatted. */
#define WRITEBACK_TENSORS 6000

int swan_manifest_write_to(FILE *f, const swan_output_ctx *c, swan_error *err) {
    const swan_checkpoint *ck = c->ck;
    swan_jw w;
    swan_jw_init(&w, f, 1);
    /* Ten significant digits: far below every tolerance, and printing doubles is most
     * of the time spent on a 100,000-tensor manifest. Exact values are in the journal. */
    w.double_digits = 10;
    swan_jw_object_begin(&w);
    swan_jw_key_string(&w, "model", c->info->model_name);
    swan_jw_key(&w, "config");
    if (ck->config_json) {
        swan_jw_raw(&w, ck->config_json);
    } else {
        swan_jw_object_begin(&w);
        swan_jw_object_end(&w);
    }
    swan_jw_key(&w, "total_layers");
    swan_jw_int(&w, c->info->total_layers);
    swan_jw_key_uint(&w, "total_tensors", ck->ntensors);
    swan_jw_key(&w, "shards");
    swan_jw_object_begin(&w);
    /* Tensors are sorted by shard, so each shard is one contiguous run. */
    size_t i = 0;
    for (size_t s = 0; s < ck->nshards; s++) {
        swan_jw_key(&w, ck->shards[s].file);
        swan_jw_object_begin(&w);
        swan_jw_key_string(&w, "file", ck->shards[s].file);
        swan_jw_key(&w, "tensors");
        swan_jw_object_begin(&w);
        for (; i < ck->ntensors && ck->tensors[i].shard == s; i++) {
            write_tensor(&w, &ck->tensors[i], &c->plan->recs[i], &c->red->d[i],
                         c->policy->alloc == SWAN_ALLOC_THRESHOLDS);
            if (i % WRITEBACK_TENSORS == WRITEBACK_TENSORS - 1) swan_output_writeback(f);
        }
        swan_jw_object_end(&w);
        swan_jw_object_end(&w);
    }
    swan_jw_object_end(&w);
    write_summary(&w, c->red);
    write_settings(&w, c);
    write_timing(&w, c);
    swan_jw_object_end(&w);
    if (swan_jw_error(&w)) return swan_error_set(err, "write failed");
    fputc('\n', f);
    return 0;
}

static int manifest_fn(FILE *f, const void *ctx, swan_error *err) {
    return swan_manifest_write_to(f, ctx, err);
}

int swan_manifest_write(const char *path, const swan_output_ctx *c, swan_error *err) {
    return swan_write_file_atomic(path, manifest_fn, c, err);
}
