/* cmd_verify.c: `swan verify OUT MODEL`: prove a finished analysis still describes MODEL.
 *
 * A resume checks each shard's size, modification time and header (cheap, done on
 * every run); this command goes all the way: it re-reads the bytes of every tensor the
 * journal holds a result for and compares their checksum with the one the worker
 * computed while analyzing it (raw_metrics.data_hash, journaled with the result). So
 * a copy that was edited in place, two tensors whose bytes were swapped, or a model
 * that was replaced by another with an identical header are all caught, tensor by
 * tensor. It runs in this process, one tensor at a time through the same bounded
 * tensor reader the workers use (memory stays small whatever the tensor size), and
 * never writes into OUT.
 *
 * Exit status: 0 every checksum matched, 1 some tensor differs (each named on stderr),
 * 2 refused (bad flags, OUT not an analysis, MODEL unreadable, a damaged journal). */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/cli.h"
#include "coordinator/exit_status.h"
#include "coordinator/journal/journal.h"
#include "coordinator/journal/tensor_table.h"
#include "coordinator/plan/plan.h"
#include "worker/tensor_reader.h"

#define MAX_NAMED_MISMATCHES 20 /* name this many tensors, then only count */

static const char help_text[] =
    "usage: swan verify OUT MODEL [-q]\n"
    "\n"
    "Re-reads every tensor of MODEL that OUT's journal holds a result for and compares\n"
    "the checksum of its bytes with the one recorded when it was analyzed. Use it before\n"
    "trusting OUT for a copy of the model on another disk or host, or after the files\n"
    "were touched. Nothing in OUT is written.\n"
    "\n"
    "  -q, --quiet   print nothing when everything matches\n"
    "  -h, --help    this help\n"
    "\n"
    "Exit status: 0 every tensor matches, 1 some tensor's data differs (each named on\n"
    "stderr), 2 refused (OUT is not a swan analysis, MODEL cannot be read, the journal\n"
    "is damaged).\n";

typedef struct verify_counts {
    size_t checked, mismatched, unreadable, not_in_journal;
} verify_counts;

/* The data checksum of tensor t of ck, read now from its shard. */
static int hash_tensor(const swan_checkpoint *ck, const swan_tensor *t, uint64_t *hash,
                       swan_error *err) {
    swan_view2d view;
    swan_tensor_classify(t, &view);
    swan_tensor_reader tr;
    if (swan_tensor_reader_open(&tr, ck->shards[t->shard].path, t->offset, t->nbytes, t->dtype,
                                &view, err))
        return -1;
    int rc = 0;
    if (t->has_scale) {
        const swan_tensor *sc = &ck->tensors[t->scale_index];
        uint64_t srows, scols;
        swan_tensor_scale_grid(t, &srows, &scols);
        rc = swan_tensor_reader_load_scales(&tr, ck->shards[sc->shard].path, sc->offset, sc->dtype,
                                            srows, scols, t->block_rows, t->block_cols, t->ndim,
                                            t->shape, err);
    }
    if (rc == 0) rc = swan_tensor_reader_hash_all(&tr, hash, err);
    swan_tensor_reader_close(&tr);
    return rc;
}

/* Shards whose size, time or header changed since the analysis: a note, not a
 * verdict (a copy to another disk has other times; the data checksums decide). */
static void note_changed_shards(const swan_checkpoint *ck, const swan_shard_stamp *stamps,
                                bool quiet) {
    if (!stamps || quiet) return;
    for (size_t i = 0; i < ck->nshards; i++) {
        const char *what = NULL;
        if (!swan_shard_stamp_equal(&stamps[i], &ck->shards[i].stamp, &what))
            fprintf(stderr, "swan verify: note: %s: %s differs from the analyzed file's\n",
                    ck->shards[i].file, what);
    }
}

static void check_tensors(const swan_checkpoint *ck, const swan_plan *plan, verify_counts *c) {
    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor_rec *r = &plan->recs[i];
        if (r->kind != SWAN_KIND_MATRIX) continue;
        if (!r->raw) {
            c->not_in_journal++;
            continue;
        }
        uint64_t now = 0;
        swan_error err = {{0}};
        c->checked++;
        if (hash_tensor(ck, &ck->tensors[i], &now, &err)) {
            c->unreadable++;
            fprintf(stderr, "swan verify: %s: cannot be read: %s\n", ck->tensors[i].name, err.msg);
        } else if (now != r->raw->data_hash) {
            if (++c->mismatched <= MAX_NAMED_MISMATCHES)
                fprintf(stderr,
                        "swan verify: %s: data differs from what was analyzed (checksum %016" PRIx64
                        ", journal %016" PRIx64 ")\n",
                        ck->tensors[i].name, now, r->raw->data_hash);
        }
    }
}

static int run_verify(const char *out, const char *model, bool quiet, swan_error *err) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/tensors.json", out);
    if (access(path, F_OK) != 0) {
        swan_error_set(err, "%s has no tensors.json: it is not the output of swan analyze", out);
        return SWAN_EXIT_REFUSED;
    }
    swan_checkpoint table, ck;
    swan_tensor_table_info ti;
    if (swan_tensor_table_read(path, &table, &ti, err)) return SWAN_EXIT_REFUSED;
    swan_checkpoint_free(&table); /* only its seed and fingerprint are needed */
    if (swan_checkpoint_open(model, &ck, err)) {
        free(ti.model_name);
        return SWAN_EXIT_REFUSED;
    }
    int status = SWAN_EXIT_REFUSED;
    swan_plan plan;
    memset(&plan, 0, sizeof plan);
    swan_journal_info ji;
    memset(&ji, 0, sizeof ji);
    if (swan_journal_fingerprint(&ck, ti.seed) != ti.fingerprint) {
        /* Names, dtypes, shapes or offsets differ: another model, not a damaged copy. */
        swan_error_set(err, "%s is not the checkpoint %s was analyzed from (its tensor table differs)",
                       model, out);
        status = SWAN_EXIT_FAILED;
        goto done;
    }
    if (swan_plan_init(&plan, &ck, err)) goto done;
    snprintf(path, sizeof path, "%s/journal.jsonl", out);
    if (swan_journal_read(path, ti.fingerprint, &ck, &plan, &ji, err)) goto done;
    note_changed_shards(&ck, ji.stamps, quiet);
    verify_counts c = {0};
    check_tensors(&ck, &plan, &c);
    if (c.mismatched > MAX_NAMED_MISMATCHES)
        fprintf(stderr, "swan verify: ... and %zu more\n", c.mismatched - MAX_NAMED_MISMATCHES);
    if (c.mismatched || c.unreadable) {
        swan_error_set(err, "%zu of %zu tensors differ from what was analyzed%s", c.mismatched + c.unreadable,
                       c.checked, c.unreadable ? " or cannot be read" : "");
        status = SWAN_EXIT_FAILED;
        goto done;
    }
    if (!quiet) {
        fprintf(stderr, "swan verify: all %zu analyzed tensors match their checksums", c.checked);
        if (c.not_in_journal)
            fprintf(stderr, " (%zu more have no result yet: the analysis is not finished)",
                    c.not_in_journal);
        fputc('\n', stderr);
    }
    status = SWAN_EXIT_OK;
done:
    free(ji.stamps);
    swan_plan_free(&plan);
    swan_checkpoint_free(&ck);
    free(ti.model_name);
    return status;
}

int swan_cmd_verify(int argc, char **argv) {
    static const struct option longopts[] = {{"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    bool quiet = false;
    const swan_cli_spec spec = {.cmd = "verify", .shortopts = "qh", .longopts = longopts,
                                .help = help_text, .min_args = 2, .max_args = 2,
                                .args_hint = "OUT and MODEL only",
                                .args_missing = "expected OUT (a swan analyze folder) and MODEL",
                                .arg_names = {"OUT", "MODEL"},
                                .flag = swan_cli_quiet_flag, .ctx = &quiet};
    const char *pos[2];
    int npos, st = swan_cli_parse(&spec, argc, argv, pos, &npos);
    if (st != SWAN_CLI_GO) return st;
    swan_error err = {{0}};
    int status = run_verify(pos[0], pos[1], quiet, &err);
    if (status != SWAN_EXIT_OK) fprintf(stderr, "swan verify: %s\n", err.msg);
    return status;
}
