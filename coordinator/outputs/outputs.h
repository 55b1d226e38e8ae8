/* outputs.h: everything swan writes into OUT/, behind one small writer interface.
 *
 * The reduce (coordinator/reduce/decisions.h) runs once; each output is one entry
 * {file name, write function} that only serializes the decisions table, so the
 * manifest, the MLX and llama.cpp files and the report can never disagree. Each file
 * is written under a temporary name, fsynced and renamed: a file that exists is
 * complete. `swan analyze` and `swan reduce` both end in swan_outputs_run. */
#ifndef SWAN_OUTPUTS_H
#define SWAN_OUTPUTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/plan/plan.h"
#include "coordinator/reduce/decisions.h"
#include "coordinator/reduce/reduce.h"

/* What the outputs say about the run besides the decisions. Everything except the
 * timing fields is the same for two runs of the same command. */
typedef struct swan_run_info {
    const char *model_name;
    const char *swan_version;
    uint64_t seed;
    uint64_t fingerprint;      /* the checkpoint fingerprint of the journal        */
    int total_layers;
    /* timing (manifest "timing" block only) */
    double analysis_seconds;   /* wall time of swan analyze; < 0 for swan reduce    */
    double reduce_seconds;     /* the reduce itself                                 */
    size_t workers;            /* printed in the summary only                       */
    size_t analyzed_now;       /* tensors whose metrics this run computed (not the journal) */
    uint64_t params_now;       /* their parameters: the throughput of this run           */
} swan_run_info;

typedef struct swan_output_ctx {
    const swan_checkpoint *ck;
    const swan_plan *plan;
    const swan_policy *policy;
    const swan_reduction *red;
    const swan_run_info *info;
} swan_output_ctx;

typedef struct swan_output {
    const char *file;  /* name inside OUT/ */
    int (*write)(FILE *f, const swan_output_ctx *c, swan_error *err);
} swan_output;

extern const swan_output swan_outputs[];
extern const size_t swan_noutputs;

/* Writes path through a temporary file, fsync and rename; on any failure nothing is
 * left at path or at the temporary name. */
int swan_write_file_atomic(const char *path, int (*fn)(FILE *f, const void *ctx, swan_error *err),
                           const void *ctx, swan_error *err);

/* Asks the OS to start writing what f holds so far to disk, without waiting (Linux:
 * sync_file_range; elsewhere nothing). A long writer calls it every few MB, so that
 * the fsync of the commit waits for the last few MB, not for a whole 130 MB
 * manifest. A hint only: errors show up, as always, in ferror and at the commit. */
void swan_output_writeback(FILE *f);

struct swan_jw;

/* The widths a summary lists, in increasing order: with published (the manifest, the
 * printed summary) 2, 4, 8 and 16 always (the reference's consumers expect them) and
 * the others when some tensor has them; without, only the widths in use (the
 * report). Fills widths (room for 7), returns how many. */
size_t swan_output_widths(const swan_reduction *s, bool published, int widths[7]);

/* The share of the parameters at width b, in percent (0 for a model without any). */
double swan_output_width_share(const swan_reduction *s, int b);

/* The per-width table of a summary as one JSON object, {"2": {["params",] "tensors",
 * "percentage"}, ...}: the manifest's bits_distribution (published, with params) and
 * the report's summary.bits (neither). */
void swan_output_write_widths(struct swan_jw *w, const swan_reduction *s, bool published);

/* Writes every output of swan_outputs into dir. */
int swan_outputs_write(const char *dir, const swan_output_ctx *c, swan_error *err);

/* The reduce and all outputs: returns 0, 1 (failed) or 2 (refused, e.g. a budget the
 * model cannot reach), the exit statuses of the CLI. Prints the summary unless quiet. */
int swan_outputs_run(const char *dir, const swan_checkpoint *ck, const swan_plan *plan,
                     const swan_policy *p, swan_run_info *info, bool quiet, swan_error *err);

/* The writers (one file each). */
int swan_manifest_write_to(FILE *f, const swan_output_ctx *c, swan_error *err);
int swan_mlx_quant_write(FILE *f, const swan_output_ctx *c, swan_error *err);
int swan_predicate_write(FILE *f, const swan_output_ctx *c, swan_error *err);
int swan_llama_types_write(FILE *f, const swan_output_ctx *c, swan_error *err);
int swan_report_write(FILE *f, const swan_output_ctx *c, swan_error *err);

void swan_summary_print(FILE *out, const swan_output_ctx *c);

/* Takes the advisory lock OUT/.swan.lock (held until *fd is closed), so that two
 * commands never write one output folder at once; refuses naming the holder's pid. */
int swan_out_dir_lock(const char *dir, int *fd, swan_error *err);

/* Removes every output file of an earlier run (before a run that will write new
 * ones, so an old file can never pass for a new one). */
void swan_outputs_remove(const char *dir);

#endif
