/* manifest.c: reduce every tensor, then stream the manifest (see manifest.h). */
#include "coordinator/outputs/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/json_writer.h"
#include "coordinator/journal/journal.h"

void swan_reduce_all(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                     swan_decision *decisions, swan_summary *sum) {
    memset(sum, 0, sizeof *sum);
    double bit_params = 0;
    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor_rec *r = &plan->recs[i];
        swan_decision d;
        swan_decide(p, ck->tensors[i].name, r->kind, r->have_raw ? &r->raw : NULL, &d);
        if (decisions) decisions[i] = d;
        int b = d.bits;
        uint64_t n = ck->tensors[i].nelem;
        sum->total_params += n;
        sum->params_by_bits[b] += n;
        sum->tensors_by_bits[b]++;
        bit_params += (double)n * b;
        sum->analyzed += r->kind == SWAN_KIND_MATRIX;
    }
    sum->tensor_count = ck->ntensors;
    sum->average_bits = sum->total_params ? bit_params / (double)sum->total_params : 0;
    sum->estimated_size_gb = bit_params / 8.0 / 1e9;
}

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
    swan_jw_key_double(w, "seconds", raw->seconds);
    write_mlx_nrmse(w, raw);
    swan_jw_object_end(w);
}

static void write_tensor(swan_jw *w, const swan_tensor *t, const swan_tensor_rec *r,
                         const swan_policy *p, const swan_decision *d) {
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
        swan_jw_int(w, p->group_size[d->bits]);
    }
    swan_jw_object_end(w);
    if (r->have_raw) {
        if (r->raw.nonfinite) {
            swan_jw_key_uint(w, "non_finite_count", r->raw.nonfinite);
        } else {
            write_raw(w, &r->raw);
        }
    }
    swan_jw_object_end(w);
}

static void write_summary(swan_jw *w, const swan_summary *sum, const swan_run_info *info) {
    swan_jw_key(w, "summary");
    swan_jw_object_begin(w);
    swan_jw_key_uint(w, "total_params", sum->total_params);
    swan_jw_key(w, "bits_distribution");
    swan_jw_object_begin(w);
    static const char *names[] = {"2", "4", "8", "16"};
    for (int i = 0, b = 2; b <= 16; b *= 2, i++) {
        swan_jw_key(w, names[i]);
        swan_jw_object_begin(w);
        swan_jw_key_uint(w, "params", sum->params_by_bits[b]);
        swan_jw_key_uint(w, "tensors", sum->tensors_by_bits[b]);
        swan_jw_key_double(w, "percentage", sum->total_params
                              ? 100.0 * (double)sum->params_by_bits[b] / (double)sum->total_params
                              : 0.0);
        swan_jw_object_end(w);
    }
    swan_jw_object_end(w);
    swan_jw_key_double(w, "estimated_size_gb", sum->estimated_size_gb);
    swan_jw_key_double(w, "average_bits", sum->average_bits);
    swan_jw_key_double(w, "analysis_time_seconds", info->analysis_seconds);
    swan_jw_key_uint(w, "tensor_count", sum->tensor_count);
    swan_jw_key_uint(w, "analyzed_tensors", sum->analyzed);
    swan_jw_object_end(w);
}

static void write_policy(swan_jw *w, const swan_policy *p, uint64_t seed) {
    swan_jw_key(w, "swan");
    swan_jw_object_begin(w);
    swan_jw_key(w, "metrics_version");
    swan_jw_int(w, SWAN_METRICS_VERSION);
    swan_jw_key_uint(w, "seed", seed);
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
    swan_jw_key(w, "protected_patterns");
    swan_jw_array_begin(w);
    for (size_t i = 0; i < p->nprotect; i++) swan_jw_string(w, p->protect[i]);
    swan_jw_array_end(w);
    swan_jw_object_end(w);
}

int swan_manifest_write(const char *path, const swan_checkpoint *ck, const swan_plan *plan,
                        const swan_policy *p, const swan_decision *decisions,
                        const swan_summary *sum, const swan_run_info *info, swan_error *err) {
    swan_atomic_file af;
    if (swan_atomic_open(&af, path, err) != 0) return -1;
    FILE *f = af.f;
    errno = 0;
    swan_jw w;
    swan_jw_init(&w, f, 1);
    /* Ten significant digits: far below every tolerance, and printing doubles is most
     * of the time spent on a 100,000-tensor manifest. Exact values are in the journal. */
    w.double_digits = 10;
    swan_jw_object_begin(&w);
    swan_jw_key_string(&w, "model", info->model_name);
    swan_jw_key(&w, "config");
    if (ck->config_json)
        swan_jw_raw(&w, ck->config_json);
    else {
        swan_jw_object_begin(&w);
        swan_jw_object_end(&w);
    }
    swan_jw_key(&w, "total_layers");
    swan_jw_int(&w, info->total_layers);
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
            swan_decision d;
            if (!decisions) /* decided again rather than stored: ~64 B a tensor saved */
                swan_decide(p, ck->tensors[i].name, plan->recs[i].kind,
                            plan->recs[i].have_raw ? &plan->recs[i].raw : NULL, &d);
            write_tensor(&w, &ck->tensors[i], &plan->recs[i], p, decisions ? &decisions[i] : &d);
        }
        swan_jw_object_end(&w);
        swan_jw_object_end(&w);
    }
    swan_jw_object_end(&w);
    write_summary(&w, sum, info);
    write_policy(&w, p, info->seed);
    swan_jw_object_end(&w);
    fputc('\n', f);
    if (swan_jw_error(&w)) {
        int saved = errno;
        swan_atomic_abort(&af);
        return swan_error_set(err, "cannot write %s: %s", path,
                              saved ? strerror(saved) : "write failed");
    }
    return swan_atomic_commit(&af, err);
}

static void human(double v, char *out, size_t size) {
    if (v >= 1e9) snprintf(out, size, "%.2fB", v / 1e9);
    else if (v >= 1e6) snprintf(out, size, "%.1fM", v / 1e6);
    else if (v >= 1e3) snprintf(out, size, "%.1fK", v / 1e3);
    else snprintf(out, size, "%.0f", v);
}

void swan_summary_print(FILE *out, const swan_summary *sum, const swan_run_info *info) {
    char total[32];
    human((double)sum->total_params, total, sizeof total);
    fprintf(out, "%s: %zu tensors (%zu analyzed), %s params\n", info->model_name, sum->tensor_count,
            sum->analyzed, total);
    if (info->analyzed_now == 0) {
        /* A re-run over a finished journal: only the reduce ran, no worker did anything. */
        fprintf(out, "  all results from the journal: only the reduce ran (%.1f s)\n",
                info->analysis_seconds);
    } else {
        char now[32], rates[32];
        human((double)info->params_now, now, sizeof now);
        double rate = info->analysis_seconds > 0 ? (double)info->params_now / info->analysis_seconds : 0;
        human(rate, rates, sizeof rates);
        fprintf(out, "  analyzed %zu tensors (%s params) in %.1f s with %zu worker%s (%s params/s)",
                info->analyzed_now, now, info->analysis_seconds, info->workers,
                info->workers == 1 ? "" : "s", rates);
        if (info->analyzed_now < sum->analyzed)
            fprintf(out, "; %zu from the journal", sum->analyzed - info->analyzed_now);
        fputc('\n', out);
    }
    fprintf(out, "  bits  tensors      params   share\n");
    for (int b = 16; b >= 2; b /= 2) {
        char pp[32];
        human((double)sum->params_by_bits[b], pp, sizeof pp);
        fprintf(out, "  %4d  %7zu  %10s  %5.1f%%\n", b, sum->tensors_by_bits[b], pp,
                sum->total_params ? 100.0 * (double)sum->params_by_bits[b] / (double)sum->total_params
                                  : 0.0);
    }
    /* MB below 1 GB: a small model must not read "0.000 GB". */
    if (sum->estimated_size_gb >= 1.0)
        fprintf(out, "  average %.2f bits per parameter, estimated size %.2f GB\n", sum->average_bits,
                sum->estimated_size_gb);
    else
        fprintf(out, "  average %.2f bits per parameter, estimated size %.1f MB\n", sum->average_bits,
                sum->estimated_size_gb * 1000.0);
}
