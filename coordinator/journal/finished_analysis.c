/* finished_analysis.c: OUT/tensors.json + OUT/journal.jsonl -> tensor table and raw
 * metrics (see finished_analysis.h). */
#include "coordinator/journal/finished_analysis.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/exit_status.h"
#include "coordinator/journal/journal.h"
#include "coordinator/outputs/outputs.h"

/* The tensor table and the plan over it: read on a thread of its own while the
 * calling thread parses the journal (each takes about as long on a 100,000-tensor
 * model, and neither needs the other until the records are matched to tensors). */
typedef struct table_job {
    const char *path;
    swan_finished_analysis *a;
    swan_str_index names; /* the tensor names, for matching the journal's records */
    int status;
    swan_error err;
} table_job;

static void *read_table(void *arg) {
    table_job *j = arg;
    if (swan_tensor_table_read(j->path, &j->a->ck, &j->a->info, &j->err))
        j->status = SWAN_EXIT_REFUSED;
    else if (swan_plan_init(&j->a->plan, &j->a->ck, &j->err) ||
             (swan_journal_index_names(&j->names, &j->a->ck) &&
              swan_error_set(&j->err, "out of memory indexing %zu tensor names", j->a->ck.ntensors)))
        j->status = SWAN_EXIT_FAILED;
    return NULL;
}

int swan_finished_analysis_load(const char *out, swan_finished_analysis *a, swan_error *err) {
    char table_path[PATH_MAX + 32], path[PATH_MAX + 32];
    memset(a, 0, sizeof *a);
    a->lock_fd = -1;
    snprintf(table_path, sizeof table_path, "%s/tensors.json", out);
    if (access(table_path, F_OK) != 0) {
        swan_error_set(err, "%s has no tensors.json: run swan analyze into it first", out);
        return SWAN_EXIT_REFUSED;
    }
    table_job job = {.path = table_path, .a = a, .status = SWAN_EXIT_OK};
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, read_table, &job) == 0;
    if (!threaded) read_table(&job);
    /* Only reads: the lock is taken below, before anything is used or written. */
    snprintf(path, sizeof path, "%s/journal.jsonl", out);
    swan_journal_parsed *parsed = swan_journal_parse(path);
    if (threaded) pthread_join(th, NULL);
    /* The errors in the order of a serial load: table, plan, lock, journal. */
    int status = job.status;
    if (status != SWAN_EXIT_OK) {
        *err = job.err;
    } else if (swan_out_dir_lock(out, &a->lock_fd, err)) {
        status = SWAN_EXIT_REFUSED;
    } else {
        swan_journal_info ji;
        int jrc = swan_journal_apply(parsed, a->info.fingerprint, &a->ck, &job.names, &a->plan, &ji, err);
        free(ji.stamps);
        if (jrc == 0 && ji.loaded < a->plan.analyzed)
            jrc = swan_error_set(err, "%s holds %zu of the %zu analyzed tensors: finish the analysis with swan analyze first",
                                 path, ji.loaded, a->plan.analyzed);
        if (jrc) status = SWAN_EXIT_REFUSED;
    }
    swan_journal_parsed_free(parsed);
    swan_str_index_free(&job.names);
    /* A table that could not be read freed itself; anything later frees it all. */
    if (status != SWAN_EXIT_OK && job.status != SWAN_EXIT_REFUSED) swan_finished_analysis_free(a);
    return status;
}

void swan_finished_analysis_free(swan_finished_analysis *a) {
    if (a->lock_fd >= 0) close(a->lock_fd);
    swan_plan_free(&a->plan);
    swan_checkpoint_free(&a->ck);
    free(a->info.model_name);
    memset(a, 0, sizeof *a);
    a->lock_fd = -1;
}
