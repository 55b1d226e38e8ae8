/* finished_analysis.c: OUT/tensors.json + OUT/journal.jsonl -> tensor table and raw
 * metrics (see finished_analysis.h). */
#include "coordinator/journal/finished_analysis.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/exit_status.h"
#include "coordinator/journal/journal.h"
#include "coordinator/outputs/outputs.h"

int swan_finished_analysis_load(const char *out, swan_finished_analysis *a, swan_error *err) {
    char path[PATH_MAX + 32];
    memset(a, 0, sizeof *a);
    a->lock_fd = -1;
    snprintf(path, sizeof path, "%s/tensors.json", out);
    if (access(path, F_OK) != 0) {
        swan_error_set(err, "%s has no tensors.json: run swan analyze into it first", out);
        return SWAN_EXIT_REFUSED;
    }
    if (swan_tensor_table_read(path, &a->ck, &a->info, err)) return SWAN_EXIT_REFUSED;
    if (swan_plan_init(&a->plan, &a->ck, err)) {
        swan_finished_analysis_free(a);
        return SWAN_EXIT_FAILED;
    }
    if (swan_out_dir_lock(out, &a->lock_fd, err)) {
        swan_finished_analysis_free(a);
        return SWAN_EXIT_REFUSED;
    }
    snprintf(path, sizeof path, "%s/journal.jsonl", out);
    swan_journal_info ji;
    memset(&ji, 0, sizeof ji);
    int jrc = swan_journal_read(path, a->info.fingerprint, &a->ck, &a->plan, &ji, err);
    free(ji.stamps);
    if (jrc == 0 && ji.loaded < a->plan.analyzed)
        jrc = swan_error_set(err, "%s holds %zu of the %zu analyzed tensors: finish the analysis with swan analyze first",
                             path, ji.loaded, a->plan.analyzed);
    if (jrc) {
        swan_finished_analysis_free(a);
        return SWAN_EXIT_REFUSED;
    }
    return SWAN_EXIT_OK;
}

void swan_finished_analysis_free(swan_finished_analysis *a) {
    if (a->lock_fd >= 0) close(a->lock_fd);
    swan_plan_free(&a->plan);
    swan_checkpoint_free(&a->ck);
    free(a->info.model_name);
    memset(a, 0, sizeof *a);
    a->lock_fd = -1;
}
