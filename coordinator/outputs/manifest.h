/* manifest.h: OUT/manifest.json (SWAN-METRICS.md section 5) and the run summary.
 *
 * The manifest is streamed (common/json_writer.h) so its memory does not grow with
 * the tensor count, written under a temporary name, fsynced and renamed: a
 * manifest.json that exists is always complete. The summary (params and share per
 * bit width, average bits, estimated size) is computed once and used for both the
 * manifest and the text printed to the user. */
#ifndef SWAN_MANIFEST_H
#define SWAN_MANIFEST_H

#include <stdint.h>
#include <stdio.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/plan/plan.h"
#include "coordinator/reduce/reduce.h"

typedef struct swan_summary {
    uint64_t total_params;
    uint64_t params_by_bits[17];  /* index 2, 4, 8, 16 */
    size_t tensors_by_bits[17];
    size_t tensor_count, analyzed;
    double average_bits;
    double estimated_size_gb;     /* sum(params * bits / 8) / 1e9 */
} swan_summary;

typedef struct swan_run_info {
    const char *model_name;
    double analysis_seconds;
    uint64_t seed;
    size_t workers;
    int total_layers;
    size_t analyzed_now;     /* tensors whose metrics this run computed (not the journal) */
    uint64_t params_now;     /* their parameters: the throughput of this run           */
} swan_run_info;

/* Decides every tensor (swan_decide) and sums up; the decisions are also stored in
 * decisions[ck->ntensors] unless it is NULL. */
void swan_reduce_all(const swan_checkpoint *ck, const swan_plan *plan, const swan_policy *p,
                     swan_decision *decisions, swan_summary *sum);

/* decisions may be NULL: each tensor is then decided again as it is written. */
int swan_manifest_write(const char *path, const swan_checkpoint *ck, const swan_plan *plan,
                        const swan_policy *p, const swan_decision *decisions,
                        const swan_summary *sum, const swan_run_info *info, swan_error *err);

void swan_summary_print(FILE *out, const swan_summary *sum, const swan_run_info *info);

#endif
