/* journal.h: the resume journal, OUT/journal.jsonl (format: docs/journal.md).
 *
 * Every raw result is appended (and flushed) the moment it arrives, so an
 * interrupted run loses nothing that was finished: running the same command again
 * reads the journal, skips the tensors it holds and analyzes only the rest. Doubles
 * are stored exactly, so a resumed run reduces exactly the same numbers and writes an
 * identical manifest. Allocation settings do not affect raw metrics, so a finished
 * journal also lets a user re-run the reduce with other settings in a second.
 *
 * Corruption is detected, never propagated. Every line ends with a CRC-32C of the
 * line's other bytes. The first line identifies the tensor table, the seed and the
 * metric version (a fingerprint) and binds the journal to each shard file's size,
 * modification time and header hash; a resume re-checks them and refuses, naming the
 * file, when one changed. Each record carries the checksum of the tensor bytes the
 * worker read (raw_metrics.data_hash, for `swan verify`) and must fit the tensor
 * table (a known analyzed tensor with the same 2-D view). A damaged record in the
 * middle refuses the resume with its line number, the journal left untouched, unless
 * the caller asks to repair (drop it and recompute the tensor); a torn last record
 * (no newline: the writer stopped mid-line) is cut off with a warning. */
#ifndef SWAN_JOURNAL_H
#define SWAN_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "common/raw_metrics.h"
#include "common/str_index.h"
#include "coordinator/plan/plan.h"

/* Bump when a change to the metric kernels changes raw values. */
#define SWAN_METRICS_VERSION 3 /* 3: records gain mlx_nrmse (spec section 7) */

/* Bump when the line format changes incompatibly (1: no checksums). */
#define SWAN_JOURNAL_FORMAT 2

typedef struct swan_journal {
    FILE *f;
    char path[4096];
    double last_sync;
    char *buf;   /* one record being built (grown as needed) */
    size_t cap;
} swan_journal;

typedef struct swan_journal_open_opts {
    bool fresh;        /* ignore what is there and start over                         */
    bool repair;       /* drop damaged records (or a damaged header) instead of refusing */
    bool check_stamps; /* refuse when a shard's size, mtime or header changed         */
    uint64_t seed;     /* written into the header for people (the fingerprint binds it) */
} swan_journal_open_opts;

/* What loading found, for the caller to report. */
typedef struct swan_journal_info {
    size_t loaded;             /* tensors whose results were taken                  */
    size_t torn_line;          /* > 0: this last line was torn and cut off          */
    size_t dropped;            /* damaged records dropped (repair)                  */
    size_t first_dropped_line;
    char first_dropped_reason[160];
    bool started_over;         /* repair: the header itself was damaged             */
    /* Shard stamps recorded in the header (one per checkpoint shard, same order),
     * when the header matched; owned by the caller (free()). */
    swan_shard_stamp *stamps;
} swan_journal_info;

/* Identifies the checkpoint's tensor table (names, dtypes, shapes, offsets, shard
 * names) together with the seed and the metric version. */
uint64_t swan_journal_fingerprint(const swan_checkpoint *ck, uint64_t seed);

/* Opens (creating if needed) path. Existing records for this fingerprint are loaded
 * into plan->recs (swan_plan_set_raw) and the file is rewritten compactly (new checksums,
 * torn or dropped lines gone). A journal with another fingerprint, a changed shard
 * (opts->check_stamps) or a damaged record (unless opts->repair) is an error that
 * leaves the file untouched; opts->fresh starts over. info may be NULL. */
int swan_journal_open(swan_journal *j, const char *path, uint64_t fingerprint,
                      const swan_checkpoint *ck, swan_plan *plan,
                      const swan_journal_open_opts *opts, swan_journal_info *info,
                      swan_error *err);

/* Reads path into plan->recs like swan_journal_open but never writes anything (swan
 * verify). Shard stamps are not compared; info->stamps returns them. */
int swan_journal_read(const char *path, uint64_t fingerprint, const swan_checkpoint *ck,
                      swan_plan *plan, swan_journal_info *info, swan_error *err);

/* swan_journal_read in two steps, so that the first, the bulk of the work (reading
 * every line, checking its checksum, parsing its fields), can run while the tensor
 * table it needs for the second is still being read (swan reduce, quantize --from).
 * swan_journal_parse needs nothing but the file and never fails on its own: what
 * goes wrong (no file, a damaged line, out of memory: NULL) is reported by
 * swan_journal_apply, which then checks the header against the table and puts every
 * record into plan, with exactly the refusals of swan_journal_read. */
typedef struct swan_journal_parsed swan_journal_parsed;
swan_journal_parsed *swan_journal_parse(const char *path);
/* names: the index of ck's tensor names (swan_journal_index_names, e.g. built on the
 * thread that read the table), or NULL to build it here. */
int swan_journal_apply(swan_journal_parsed *p, uint64_t fingerprint, const swan_checkpoint *ck,
                       const swan_str_index *names, swan_plan *plan, swan_journal_info *info,
                       swan_error *err);
/* The index of ck's tensor names by which records are matched (the first of a name
 * listed twice); free with swan_str_index_free. */
int swan_journal_index_names(swan_str_index *ix, const swan_checkpoint *ck);
void swan_journal_parsed_free(swan_journal_parsed *p);

/* Appends one result (buffered: call swan_journal_flush once per batch). */
int swan_journal_append(swan_journal *j, const char *name, const swan_raw_metrics *raw,
                        swan_error *err);

/* Hands what was appended to the OS (survives the process being killed) and
 * fsyncs at most every few seconds (bounds what a power cut can take). */
int swan_journal_flush(swan_journal *j, swan_error *err);

void swan_journal_close(swan_journal *j);

#endif
