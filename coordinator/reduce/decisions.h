/* decisions.h: the whole-model reduce, computed once into a decisions table.
 *
 * From the checkpoint's tensor table, the raw metrics (plan records) and a policy:
 * normalization ranges (fixed, or the model's own robust quantiles), scores and
 * composite per tensor, expert stacks, and the (bits, group size) of every tensor
 * under the policy (thresholds, or a size budget solved by budget.h), plus the
 * summary every output prints. Pure: no I/O, no clock. Every output
 * (coordinator/outputs/) only serializes this table, so they can never disagree.
 *
 * Costs follow MLX's storage (SWAN-METRICS.md section 7): a quantized matrix costs
 * b + 32/g bits per weight (BF16/F16 scale and bias per group), a matrix kept
 * unquantized 16, any other tensor its stored width. */
#ifndef SWAN_DECISIONS_H
#define SWAN_DECISIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/plan/plan.h"
#include "coordinator/reduce/reduce.h"

/* swan_reduce_run's status when a budget is outside what the model can reach. */
#define SWAN_REDUCE_UNREACHABLE (-2)

typedef struct swan_reduction {
    swan_decision *d;             /* one per checkpoint tensor, same index            */
    size_t n;
    swan_norm_ranges ranges;      /* the ranges in use                                */
    double clip0[SWAN_NMETRICS];  /* share of analyzed tensors with score 0 / 1       */
    double clip1[SWAN_NMETRICS];
    size_t nstacks;
    /* summary */
    uint64_t total_params;
    uint64_t params_by_bits[17];  /* index = bits (2..8, 16)                          */
    size_t tensors_by_bits[17];
    size_t tensor_count, analyzed;
    double average_bits;          /* params-weighted width, without scales            */
    double effective_bpw;         /* MLX bits per weight, scales and biases included  */
    double mlx_bytes;             /* exact MLX storage of the whole model             */
    double estimated_size_gb;     /* mlx_bytes / 1e9                                  */
    double expected_damage;       /* sum s_t n_t e_t^2 over quantized matrices        */
    double min_bpw, max_bpw;      /* what a budget can reach with this policy's protection */
    size_t errors_estimated;      /* matrices whose per-width error was estimated from
                                     M4 because the journal has no measured table     */
    double target_bits;           /* budget policies: the budget in bits (else 0)     */
} swan_reduction;

/* What a size budget can reach: the whole model's size in bits with every unit (a
 * matrix, or a stack sharing one width) at its cheapest / its dearest option under
 * the policy's protection, plus every tensor that is not a unit at its stored width;
 * params turns bits into bits per weight. */
typedef struct swan_reach {
    double lo_bits, hi_bits;
    double params;
} swan_reach;

/* The reachable range of p on this checkpoint, from what the plan knows. Needs no raw
 * metrics: it depends only on shapes, dtypes, protection, stacks and the (bits, group
 * size) options, so `swan analyze` and `swan reduce` refuse an unreachable budget
 * before any task is sent (or any journal read). With assume_pending, a matrix not
 * analyzed yet counts as one that will be, with finite values: the widest range the
 * run can end with (a matrix whose analysis fails or finds NaN/Inf is kept at 16 bits,
 * which can only raise the minimum; swan_reduce_run checks the final range again).
 * Returns 0, or -1 (out of memory) with err set. */
int swan_reduce_reach(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                      bool assume_pending, swan_reach *out, swan_error *err);

/* 0 when p has no budget or its budget lies within r; else SWAN_REDUCE_UNREACHABLE with
 * err the one-line refusal giving the range (in bits per weight for --target-bpw, in
 * bytes and GB for --target-size). */
int swan_reduce_check_target(const swan_policy *p, const swan_reach *r, swan_error *err);

/* swan_reduce_reach then swan_reduce_check_target, skipped when p has no budget:
 * 0, SWAN_REDUCE_UNREACHABLE (err: the refusal with the range) or -1 (out of memory). */
int swan_reduce_check_reachable(const swan_checkpoint *ck, const swan_plan *plan,
                                const swan_policy *p, bool assume_pending, swan_error *err);

/* p's budget in bits of the whole model (p has a budget). */
double swan_reduce_budget_bits(const swan_policy *p, const swan_reach *r);

/* Runs the reduce. Returns 0; SWAN_REDUCE_UNREACHABLE with err naming the reachable
 * range when a budget is outside it; -1 on allocation failure. */
int swan_reduce_run(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                    swan_reduction *out, swan_error *err);
void swan_reduction_free(swan_reduction *r);

/* Sensitivity weight of a tensor in the budget objective (docs/allocation.md). */
double swan_sensitivity_weight(double composite);

/* Expected NRMSE of a matrix at (bits, group): the measured MLX table when the journal
 * has it, else an estimate from M4; negative when group does not divide cols or the
 * width is not one MLX stores. *measured says which. */
double swan_width_error(const swan_raw_metrics *raw, int bits, int group, bool *measured);

/* Size-versus-damage points for the report: for each of n budgets (bits per weight)
 * the effective bpw reached and the expected damage (NAN when out of range); and for
 * every uniform (bits, group) the bpw and damage of giving every matrix that width. */
typedef struct swan_curve_point {
    double bpw, damage;
    int bits, group;              /* uniform points only                            */
} swan_curve_point;
int swan_reduce_curve(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                      const swan_reduction *red, const double *targets, size_t n,
                      swan_curve_point *budget_pts, swan_curve_point *uniform_pts /* 18 */,
                      swan_error *err);

#endif
