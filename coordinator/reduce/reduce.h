/* reduce.h: the cheap "reduce" half of SWAN: raw metrics -> scores -> bits.
 *
 * Pure functions of the raw metrics and a policy (SWAN-METRICS.md section 4), so an
 * allocation can be re-run from stored raw metrics (the journal) without touching the
 * weights. The policy holds everything a user may set from the command line and is
 * validated once, up front, so that a bad flag is a clear error rather than an odd
 * manifest. */
#ifndef SWAN_REDUCE_H
#define SWAN_REDUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/raw_metrics.h"
#include "common/view2d.h"

#define SWAN_MAX_PATTERNS 64

/* How raw metrics become [0, 1] scores (section 4, or the model's own quantiles). */
typedef enum swan_norm_mode { SWAN_NORM_FIXED = 0, SWAN_NORM_ADAPTIVE } swan_norm_mode;

/* What decides the widths: the published thresholds, or a size budget solved
 * globally (coordinator/reduce/budget.h). */
typedef enum swan_alloc_mode {
    SWAN_ALLOC_THRESHOLDS = 0, /* --policy swan                         */
    SWAN_ALLOC_TARGET_BPW,     /* --target-bpw B                        */
    SWAN_ALLOC_TARGET_SIZE     /* --target-size S (bytes, MLX storage)  */
} swan_alloc_mode;

typedef struct swan_policy {
    double w_svd, w_kurt, w_out, w_err;   /* composite weights, sum to 1     */
    double t_low, t_mid, t_high;          /* 2-bit <= low < 4 < mid <= 8 < high <= 16 */
    int group_size[17];                   /* by bit width: 2, 4, 8 (16: none) */
    const char *protect[SWAN_MAX_PATTERNS]; /* user patterns (--protect)       */
    size_t nprotect;
    bool builtin_protect;                 /* the spec's list too (default on) */
    bool quantize_protected;              /* protected tensors decided like any other */
    swan_norm_mode norm;
    swan_alloc_mode alloc;
    double target_bpw;                    /* SWAN_ALLOC_TARGET_BPW            */
    double target_bytes;                  /* SWAN_ALLOC_TARGET_SIZE           */
} swan_policy;

/* The built-in protected patterns (SWAN-METRICS.md section 2). */
extern const char *const swan_builtin_protect[];
extern const size_t swan_builtin_protect_count;

typedef struct swan_scores {
    double svd, kurtosis, output_sensitivity, error_proxy;
} swan_scores;

#define SWAN_NO_STACK UINT32_MAX

typedef struct swan_decision {
    int bits;            /* 2, 3, 4, 5, 6, 8 or 16                           */
    int group_size;      /* MLX group size when bits < 16, else 0            */
    const char *reason;  /* static string, e.g. "protected_pattern"          */
    const char *classification; /* "protected" | "sensitive" | "default"     */
    double composite;
    swan_scores scores;
    uint32_t stack;      /* expert stack id (decisions.h), or SWAN_NO_STACK  */
    double nrmse;        /* expected NRMSE at (bits, group_size); 0 at 16    */
    int threshold_bits;  /* what the threshold rule alone gives (before expert
                            stacks and storable group sizes are applied)     */
} swan_decision;

/* The published v2 defaults: weights .20/.45/.15/.20, thresholds .10/.65/.90,
 * group sizes 2:32 4:128 8:64, the spec's protected name patterns. */
void swan_policy_default(swan_policy *p);

/* Checks weights in [0,1] summing to 1 (within 1e-6), 0 <= low < mid < high <= 1,
 * positive group sizes. */
int swan_policy_validate(const swan_policy *p, swan_error *err);

/* Flag parsers; each validates its own syntax and leaves p unchanged on error.
 *   "0.2,0.45,0.15,0.2"   weights in the order svd,kurtosis,output,error
 *   "0.10,0.65,0.90"      thresholds
 *   "2:32,4:128,8:64"     group sizes (any subset)                         */
int swan_policy_parse_weights(swan_policy *p, const char *s, swan_error *err);
int swan_policy_parse_thresholds(swan_policy *p, const char *s, swan_error *err);
int swan_policy_parse_group_sizes(swan_policy *p, const char *s, swan_error *err);
/* Adds a protected pattern (the string must outlive the policy). */
int swan_policy_add_protect(swan_policy *p, const char *pattern, swan_error *err);

/* "swan" (thresholds); the only name --policy takes today. */
int swan_policy_parse_name(swan_policy *p, const char *s, swan_error *err);
/* "fixed" | "adaptive" */
int swan_policy_parse_normalize(swan_policy *p, const char *s, swan_error *err);
/* Bits per weight, 1..16 (a reachable range is checked against the model later). */
int swan_policy_parse_target_bpw(swan_policy *p, const char *s, swan_error *err);
/* A size with a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB. */
int swan_policy_parse_target_size(swan_policy *p, const char *s, swan_error *err);
/* Short name of the allocation in use: "swan", "target-bpw", "target-size". */
const char *swan_policy_alloc_name(const swan_policy *p);

/* Case-insensitive substring match against the policy's patterns. */
bool swan_policy_is_protected(const swan_policy *p, const char *name);

/* Per-metric ranges: score = clip((x - lo) / (hi - lo), 0, 1), with the output metric
 * taken as log10(max(d, 0.01)) (and score 0 when d < 1e-6) as section 4 does. */
enum { SWAN_M_SVD = 0, SWAN_M_KURT, SWAN_M_OUT, SWAN_M_ERR, SWAN_NMETRICS };
typedef struct swan_norm_ranges {
    double lo[SWAN_NMETRICS], hi[SWAN_NMETRICS];
} swan_norm_ranges;

/* Section 4's fixed ranges: svd 0.1..0.9, kurtosis 0..10, log10 output -2..1, error 0.005..0.05. */
void swan_norm_fixed(swan_norm_ranges *r);

/* The value of metric m that the ranges apply to (log10 for the output metric). */
double swan_metric_value(const swan_raw_metrics *raw, int m);

/* Scores of raw under the given ranges. */
void swan_normalize_with(const swan_norm_ranges *r, const swan_raw_metrics *raw, swan_scores *out);

/* Fixed-range normalization of section 4. */
void swan_normalize(const swan_raw_metrics *raw, swan_scores *out);

/* Weighted sum of the scores. */
double swan_composite(const swan_policy *p, const swan_scores *s);

/* Threshold decision for one tensor under fixed ranges. raw may be NULL when kind !=
 * SWAN_KIND_MATRIX. */
void swan_decide(const swan_policy *p, const char *name, swan_tensor_kind kind,
                 const swan_raw_metrics *raw, swan_decision *out);

/* The same under the given ranges (the whole-model reduce, decisions.h, uses this). */
void swan_decide_with(const swan_policy *p, const swan_norm_ranges *r, const char *name,
                      swan_tensor_kind kind, const swan_raw_metrics *raw, swan_decision *out);

#endif
