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

#include "common/error.h"
#include "common/raw_metrics.h"
#include "common/view2d.h"

#define SWAN_MAX_PATTERNS 64

typedef struct swan_policy {
    double w_svd, w_kurt, w_out, w_err;   /* composite weights, sum to 1     */
    double t_low, t_mid, t_high;          /* 2-bit <= low < 4 < mid <= 8 < high <= 16 */
    int group_size[17];                   /* by bit width: 2, 4, 8 (16: none) */
    const char *protect[SWAN_MAX_PATTERNS];
    size_t nprotect;
} swan_policy;

typedef struct swan_scores {
    double svd, kurtosis, output_sensitivity, error_proxy;
} swan_scores;

typedef struct swan_decision {
    int bits;            /* 2, 4, 8 or 16                                    */
    const char *reason;  /* static string, e.g. "protected_pattern"          */
    const char *classification; /* "protected" | "sensitive" | "default"     */
    double composite;
    swan_scores scores;
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

/* Case-insensitive substring match against the policy's patterns. */
bool swan_policy_is_protected(const swan_policy *p, const char *name);

/* Fixed-range normalization of section 4. */
void swan_normalize(const swan_raw_metrics *raw, swan_scores *out);

/* Decision for one tensor. raw may be NULL when kind != SWAN_KIND_MATRIX. */
void swan_decide(const swan_policy *p, const char *name, swan_tensor_kind kind,
                 const swan_raw_metrics *raw, swan_decision *out);

#endif
