/* finished_analysis.h: a finished `swan analyze` folder loaded for a new reduce.
 *
 * `swan reduce OUT` and `swan quantize --from OUT` with allocation flags both re-decide
 * from what an analysis stored, without workers or tensor data: OUT/tensors.json
 * rebuilds the tensor table, OUT/journal.jsonl (read-only, records of that table's
 * fingerprint) fills the raw metrics of the plan, and OUT stays locked against a
 * concurrent analysis while the result is used. The decisions then come from
 * swan_reduce_run (coordinator/reduce/decisions.h), the one reduce path. */
#ifndef SWAN_FINISHED_ANALYSIS_H
#define SWAN_FINISHED_ANALYSIS_H

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/journal/tensor_table.h"
#include "coordinator/plan/plan.h"

typedef struct swan_finished_analysis {
    swan_checkpoint ck;          /* from OUT/tensors.json: no data offsets        */
    swan_tensor_table_info info; /* model name, seed, fingerprint                 */
    swan_plan plan;              /* raw metrics of every analyzed tensor          */
    int lock_fd;                 /* OUT/.swan.lock, held until _free              */
} swan_finished_analysis;

/* Returns a SWAN_EXIT_* status: REFUSED (err set) when OUT has no tensor table, is
 * locked by a running analysis, or its journal is damaged or incomplete. */
int swan_finished_analysis_load(const char *out, swan_finished_analysis *a, swan_error *err);
void swan_finished_analysis_free(swan_finished_analysis *a);

#endif
