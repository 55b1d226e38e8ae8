/* journal.h: the resume journal, OUT/journal.jsonl.
 *
 * Every raw result is appended (and flushed) the moment it arrives, so an
 * interrupted run loses nothing that was finished: running the same command again
 * reads the journal, skips the tensors it holds and analyzes only the rest. Doubles
 * are written with 17 significant digits, so a resumed run reduces exactly the same
 * numbers and writes an identical manifest. The first line identifies the checkpoint
 * and the settings that affect raw metrics (seed, metric version); a journal for
 * something else is refused rather than mixed in. Allocation settings do not affect
 * raw metrics, so a finished journal also lets a user re-run the reduce with other
 * weights or thresholds in a second. A torn last line (crash mid-write) is ignored. */
#ifndef SWAN_JOURNAL_H
#define SWAN_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "common/raw_metrics.h"
#include "coordinator/plan/plan.h"

/* Bump when a change to the metric kernels changes raw values. */
#define SWAN_METRICS_VERSION 3 /* 3: records gain mlx_nrmse (spec section 7) */

typedef struct swan_journal {
    FILE *f;
    char path[4096];
    double last_sync;
} swan_journal;

/* Identifies the checkpoint (tensor names, dtypes, shapes, offsets; shard names and
 * sizes; samples of each shard's data) together with the seed and metric version. */
uint64_t swan_journal_fingerprint(const swan_checkpoint *ck, uint64_t seed);

/* Opens (creating if needed) path. Existing records for this fingerprint are loaded
 * into plan->recs (have_raw); *loaded says how many. A journal with another
 * fingerprint is an error unless fresh, which starts it over. */
int swan_journal_open(swan_journal *j, const char *path, uint64_t fingerprint,
                      const swan_checkpoint *ck, swan_plan *plan, bool fresh, size_t *loaded,
                      swan_error *err);

/* Appends one result (buffered: call swan_journal_flush once per batch). */
int swan_journal_append(swan_journal *j, const char *name, const swan_raw_metrics *raw,
                        swan_error *err);

/* Hands what was appended to the OS (survives the process being killed) and
 * fsyncs at most every few seconds (bounds what a power cut can take). */
int swan_journal_flush(swan_journal *j, swan_error *err);

void swan_journal_close(swan_journal *j);

#endif
