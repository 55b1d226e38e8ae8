/* analyze.c: the `swan analyze` job from start to finish (see analyze.h). */
#include "coordinator/analyze.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/checkpoint.h"
#include "common/clock.h"
#include "coordinator/model_info.h"
#include "coordinator/journal/journal.h"
#include "coordinator/journal/tensor_table.h"
#include "coordinator/outputs/outputs.h"
#include "coordinator/version.h"
#include "coordinator/plan/plan.h"
#include "coordinator/policy_cli.h"
#include "coordinator/progress.h"
#include "coordinator/reduce/decisions.h"
#include "coordinator/schedule/local_workers.h"
#include "coordinator/schedule/scheduler.h"
#include "coordinator/schedule/workers_report.h"
#include "coordinator/schedule/workforce.h"
#include "proto/messages.h"
#include "proto/transport.h"

void swan_analyze_default_opts(swan_analyze_opts *o) {
    memset(o, 0, sizeof *o);
    o->out_dir = "swan-out";
    o->threads = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = cores > 0 ? (int)cores : 1;
    o->worker_timeout = 120.0;
    swan_policy_default(&o->policy);
}

/* Everything one run owns, released by run_free whatever happened. */
typedef struct run {
    const swan_analyze_opts *o;
    swan_checkpoint ck;
    swan_plan plan;
    swan_journal journal;
    swan_workforce wf;           /* local pool and the workers' socket, bound before
                                    any output (workforce.h)                        */
    swan_progress progress;
    int lock_fd;                 /* OUT/.swan.lock, held for the whole run        */
    char journal_path[PATH_MAX + 32];
    size_t loaded;               /* results taken from the journal                */
    uint64_t params_loaded;      /* their parameters                              */
    uint64_t fingerprint;        /* of the checkpoint and seed (journal.h)        */
    size_t tensor_errors;
    uint32_t *failed;            /* tensors whose analysis failed, in order       */
    char **failed_why;           /* and what the workers that tried it said       */
    char workers_json[PATH_MAX + 32];
    double last_report;          /* when OUT/workers.json was last written       */
    bool report_failed;          /* said once that it cannot be written          */
} run;

static void run_free(run *r) {
    swan_workforce_free(&r->wf);
    if (r->lock_fd >= 0) close(r->lock_fd); /* releases the lock */
    swan_journal_close(&r->journal);
    for (size_t i = 0; i < r->tensor_errors; i++) free(r->failed_why[i]);
    free(r->failed);
    free(r->failed_why);
    swan_plan_free(&r->plan);
    swan_checkpoint_free(&r->ck);
}

static int make_dirs(const char *path, swan_error *err) {
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf) return swan_error_set(err, "%s: path too long", path);
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return swan_error_set(err, "cannot create %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return swan_error_set(err, "cannot create %s: %s", buf, strerror(errno));
    return 0;
}

/* Two runs appending to one journal would lose results (each rewrites it on start):
 * an advisory lock on OUT/.swan.lock makes the second one refuse. */
static int lock_out_dir(run *r, swan_error *err) {
    return swan_out_dir_lock(r->o->out_dir, &r->lock_fd, err);
}

/* ---- scheduler hooks ---------------------------------------------------------- */

static int hook_result(void *ctx, uint32_t tensor, const swan_raw_metrics *raw, swan_error *err) {
    run *r = ctx;
    if (swan_plan_set_raw(&r->plan, tensor, raw, err)) return -1;
    return swan_journal_append(&r->journal, r->ck.tensors[tensor].name, raw, err);
}

static int hook_task_done(void *ctx, swan_error *err) {
    return swan_journal_flush(&((run *)ctx)->journal, err);
}

/* Remembered and listed at the end, one line per tensor (see report_failed). */
static void hook_tensor_error(void *ctx, uint32_t tensor, const char *reasons) {
    run *r = ctx;
    uint32_t *f = realloc(r->failed, (r->tensor_errors + 1) * sizeof *f);
    if (f) r->failed = f;
    char **w = realloc(r->failed_why, (r->tensor_errors + 1) * sizeof *w);
    if (w) r->failed_why = w;
    if (!f || !w) return; /* out of memory: the count below still says it failed */
    r->failed[r->tensor_errors] = tensor;
    r->failed_why[r->tensor_errors] = strdup(reasons);
    r->tensor_errors++;
}

static void write_workers_report(run *r, const swan_sched_stats *st) {
    swan_error err;
    if (swan_workers_report_write(r->workers_json, st, &err) && !r->report_failed) {
        r->report_failed = true;
        swan_progress_log(&r->progress, err.msg);
    }
}

static void hook_progress(void *ctx, const swan_sched_stats *st) {
    run *r = ctx;
    swan_progress_update(&r->progress, st);
    double t = swan_now_s();
    if (st->final || t - r->last_report >= 2.0) {
        write_workers_report(r, st);
        r->last_report = t;
    }
}

/* One line per tensor that could not be analyzed, with what each worker said. */
static void report_failed(run *r) {
    for (size_t i = 0; i < r->tensor_errors; i++) {
        char line[SWAN_ERROR_MAX + 1400];
        snprintf(line, sizeof line, "tensor '%.300s' failed: %s", r->ck.tensors[r->failed[i]].name,
                 r->failed_why[i] ? r->failed_why[i] : "(reason lost: out of memory)");
        swan_progress_log(&r->progress, line);
    }
}

static void hook_log(void *ctx, const char *line) {
    swan_progress_log(&((run *)ctx)->progress, line);
}

/* With --verbose, says how long the phase that just ended took. */
static void phase(run *r, const char *what, double *t) {
    double n = swan_now_s();
    if (r->o->verbose) {
        char line[160];
        snprintf(line, sizeof line, "%s: %.2f s", what, n - *t);
        swan_progress_log(&r->progress, line);
    }
    *t = n;
}

/* Names and paths travel in task messages, which cap string sizes. */
static int check_names(const swan_checkpoint *ck, swan_error *err) {
    for (size_t i = 0; i < ck->ntensors; i++)
        if (strlen(ck->tensors[i].name) >= SWAN_MSG_MAX_STRING)
            return swan_error_set(err, "%s: tensor name of %zu bytes is longer than the %d allowed",
                                  ck->shards[ck->tensors[i].shard].path,
                                  strlen(ck->tensors[i].name), SWAN_MSG_MAX_STRING - 1);
    for (size_t s = 0; s < ck->nshards; s++)
        if (strlen(ck->shards[s].path) >= SWAN_MSG_MAX_STRING)
            return swan_error_set(err, "%.200s...: shard path is too long", ck->shards[s].path);
    return 0;
}

/* A --protect pattern that names no tensor is most likely a typo or a name from
 * another architecture: say so (the run goes on; the pattern is harmless). The
 * built-in patterns are not checked: most of them only exist in some models. */
static void warn_unmatched_protect(run *r) {
    char line[SWAN_ERROR_MAX];
    size_t next = 0;
    while (swan_policy_cli_unmatched(&r->o->policy, &r->ck, &next, line, sizeof line))
        swan_progress_log(&r->progress, line);
}

/* Tells the user about tensors kept at 16 bits because their values are not all finite. */
static void report_nonfinite(run *r) {
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < r->plan.nrecs; i++) {
        const swan_tensor_rec *rec = &r->plan.recs[i];
        if (!rec->raw || rec->raw->nonfinite == 0) continue;
        if (shown++ < 10) {
            char line[SWAN_ERROR_MAX];
            snprintf(line, sizeof line, "warning: tensor '%.300s' has %llu NaN/Inf values; kept at 16 bits",
                     r->ck.tensors[i].name, (unsigned long long)rec->raw->nonfinite);
            swan_progress_log(&r->progress, line);
        }
        total++;
    }
    if (total > 10) {
        char line[96];
        snprintf(line, sizeof line, "warning: %zu tensors in all have NaN/Inf values", total);
        swan_progress_log(&r->progress, line);
    }
}

/* ---- the steps -------------------------------------------------------------------- */

static int open_workforce(run *r, swan_error *err) {
    const swan_analyze_opts *o = r->o;
    swan_workforce_opts wo = {.argv0 = o->argv0, .jobs = o->jobs, .threads = o->threads,
                              .listen = o->listen, .curve_secret = o->curve_secret,
                              .allow = o->allow, .insecure = o->insecure,
                              .log = hook_log, .log_ctx = r};
    if (swan_workforce_open(&r->wf, &wo, err)) return SWAN_EXIT_REFUSED;
    /* The local workers start first, while this process is still small: on Linux a
     * child's peak-RSS figure includes its parent's at spawn time, and they can
     * connect and warm up while the checkpoint is being validated. */
    return swan_workforce_start(&r->wf, &wo, err) ? SWAN_EXIT_FAILED : SWAN_EXIT_OK;
}

static int run_workers(run *r, volatile sig_atomic_t *stop, swan_error *err) {
    const swan_analyze_opts *o = r->o;
    swan_sched_opts so = {.transport = &r->wf.transport,
                          .seed = o->seed,
                          .worker_timeout = o->worker_timeout,
                          .max_attempts = 3,
                          .backup_after = 1.0,
                          .max_respawns = 2 * (size_t)(o->jobs > 0 ? o->jobs : 1) + 2,
                          /* ~0.3 s of work: round trips matter only below that */
                          .prefetch_max_cost = 1e9,
                          .stop = stop};
    swan_sched_hooks hooks = {.ctx = r,
                              .on_result = hook_result,
                              .on_task_done = hook_task_done,
                              .on_tensor_error = hook_tensor_error,
                              .on_progress = hook_progress,
                              .log = hook_log};
    if (o->listen) {
        char line[PATH_MAX + 64];
        snprintf(line, sizeof line, "listening for workers on %s%s", o->listen,
                 o->curve_secret ? " (CURVE, allowed keys only)" : " (no encryption)");
        swan_progress_log(&r->progress, line);
    }
    snprintf(r->workers_json, sizeof r->workers_json, "%s/workers.json", o->out_dir);
    int rc = swan_sched_run(&so, &r->ck, &r->plan, swan_workforce_pool(&r->wf), &hooks, err);
    swan_progress_finish(&r->progress);
    swan_local_pool_stop(&r->wf.pool, 1000);
    if (rc == 0) return SWAN_EXIT_OK;
    return stop && *stop ? SWAN_EXIT_INTERRUPTED : SWAN_EXIT_FAILED;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* User + system CPU seconds of this process, or of its reaped children (workers). */
static double cpu_seconds(int who) {
    struct rusage ru;
    if (getrusage(who, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

/* Peak resident memory of this process, or of the largest reaped child (workers). */
static double peak_rss_mb(int who) {
    struct rusage ru;
    if (getrusage(who, &ru) != 0) return 0;
#ifdef __APPLE__
    return (double)ru.ru_maxrss / 1048576.0; /* bytes on macOS */
#else
    return (double)ru.ru_maxrss / 1024.0; /* kilobytes on Linux and the BSDs */
#endif
}

/* The reduce and every output (coordinator/outputs/outputs.h); returns an exit status. */
static int write_outputs(run *r, double seconds, swan_error *err) {
    const swan_analyze_opts *o = r->o;
    swan_run_info info = {.model_name = base_name(r->ck.dir),
                          .swan_version = SWAN_VERSION,
                          .seed = o->seed,
                          .fingerprint = r->fingerprint,
                          .total_layers = swan_count_layers(&r->ck),
                          .analysis_seconds = seconds,
                          .workers = (size_t)o->jobs};
    size_t have = 0;
    uint64_t params_have = 0;
    for (size_t i = 0; i < r->plan.nrecs; i++)
        if (r->plan.recs[i].raw) {
            have++;
            params_have += r->ck.tensors[i].nelem;
        }
    info.analyzed_now = have - r->loaded;
    info.params_now = params_have - r->params_loaded;
    int status = swan_outputs_run(o->out_dir, &r->ck, &r->plan, &o->policy, &info, o->quiet, err);
    if (status == 0 && !o->quiet) { /* the summary is a message, not data: standard error */
        if (info.analyzed_now > 0)
            fprintf(stderr, "  peak memory: coordinator %.0f MB, largest worker %.0f MB\n",
                    peak_rss_mb(RUSAGE_SELF), peak_rss_mb(RUSAGE_CHILDREN));
        else /* no worker ran a task (they are not even reaped yet) */
            fprintf(stderr, "  peak memory: coordinator %.0f MB\n", peak_rss_mb(RUSAGE_SELF));
    }
    return status;
}

/* Output files that must be files: a folder (or anything but a regular file) in their
 * place would only be found when writing them, after the whole analysis. */
static int check_output_paths(const char *out_dir, swan_error *err) {
    static const char *const files[] = {"manifest.json", "journal.jsonl"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", out_dir, files[i]);
        struct stat st;
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return swan_error_set(err, "%s is %s, not a file: move it away or choose another -o "
                                       "folder",
                                  path, S_ISDIR(st.st_mode) ? "a folder" : "not a regular file");
    }
    if (access(out_dir, W_OK | X_OK) != 0)
        return swan_error_set(err, "cannot write in %s: %s", out_dir, strerror(errno));
    return 0;
}

/* Tells the user what loading the journal had to cut or drop. */
static void report_journal(run *r, const swan_journal_info *ji) {
    char line[SWAN_ERROR_MAX + 256];
    if (ji->torn_line) {
        snprintf(line, sizeof line, "warning: %.300s: line %zu was torn (the previous run stopped "
                                    "mid-write); cut off, its tensor will be analyzed again",
                 r->journal_path, ji->torn_line);
        swan_progress_log(&r->progress, line);
    }
    if (ji->started_over) {
        snprintf(line, sizeof line, "warning: %.300s: the header is damaged; --repair starts the "
                                    "journal over",
                 r->journal_path);
        swan_progress_log(&r->progress, line);
    }
    if (ji->dropped) {
        snprintf(line, sizeof line, "warning: %.300s: --repair dropped %zu damaged record%s (first: "
                                    "line %zu, %s); those tensors will be analyzed again",
                 r->journal_path, ji->dropped, ji->dropped == 1 ? "" : "s",
                 ji->first_dropped_line, ji->first_dropped_reason);
        swan_progress_log(&r->progress, line);
    }
}

/* Every shard must still be what the run started from: a file rewritten during the
 * run would give a manifest mixing old and new data. */
static int check_shards_unchanged(const swan_checkpoint *ck, const char *journal_path,
                                  swan_error *err) {
    for (size_t i = 0; i < ck->nshards; i++) {
        const swan_shard *s = &ck->shards[i];
        swan_shard_stamp now;
        const char *what;
        if (swan_shard_stamp_read(s->path, s->data_start, &now, err) != 0)
            return swan_error_prefix(err, "a shard changed during the run, no manifest written "
                                          "(the journal %s is kept)",
                                     journal_path);
        if (!swan_shard_stamp_equal(&s->stamp, &now, &what))
            return swan_error_set(err, "%s changed during the run (its %s differs): results "
                                       "may mix old and new data, so no manifest was written; the "
                                       "journal %s is kept: run again with --fresh to analyze the "
                                       "new file",
                                  s->path, what, journal_path);
    }
    return 0;
}

/* Validation, output folder, journal and plan: everything before the first task.
 * Returns SWAN_EXIT_OK or the status to exit with. */
static int prepare(run *r, const char *dir, double *tp, swan_error *err) {
    const swan_analyze_opts *o = r->o;
    int wst = open_workforce(r, err);
    if (wst != SWAN_EXIT_OK) return wst;
    /* Refusals happen here, before anything is created in the output folder. */
    if (swan_checkpoint_open(dir, &r->ck, err) || check_names(&r->ck, err))
        return SWAN_EXIT_REFUSED;
    warn_unmatched_protect(r);
    phase(r, "validated the checkpoint", tp);
    if (swan_plan_init(&r->plan, &r->ck, err)) return SWAN_EXIT_FAILED;
    /* A size budget the model cannot reach is refused now, before anything is written
     * or any task sent: the range depends only on what the plan knows. */
    int reach = swan_reduce_check_reachable(&r->ck, &r->plan, &o->policy, true, err);
    if (reach) return reach == SWAN_REDUCE_UNREACHABLE ? SWAN_EXIT_REFUSED : SWAN_EXIT_FAILED;
    /* An output folder we cannot create or write, or a folder where an output file
     * must go, is bad input: refused before any analysis. */
    if (make_dirs(o->out_dir, err) || check_output_paths(o->out_dir, err) || lock_out_dir(r, err))
        return SWAN_EXIT_REFUSED;
    snprintf(r->journal_path, sizeof r->journal_path, "%s/journal.jsonl", o->out_dir);
    swan_journal_open_opts jo = {.fresh = o->fresh, .repair = o->repair, .check_stamps = true,
                                 .seed = o->seed};
    swan_journal_info ji;
    r->fingerprint = swan_journal_fingerprint(&r->ck, o->seed);
    int jrc = swan_journal_open(&r->journal, r->journal_path, r->fingerprint, &r->ck, &r->plan, &jo,
                                &ji, err);
    free(ji.stamps);
    if (jrc) return SWAN_EXIT_REFUSED;
    r->loaded = ji.loaded;
    report_journal(r, &ji);
    for (size_t i = 0; i < r->plan.nrecs; i++)
        if (r->plan.recs[i].raw) r->params_loaded += r->ck.tensors[i].nelem;
    /* What `swan reduce` needs besides the journal: the tensor table. */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/tensors.json", o->out_dir);
    if (swan_tensor_table_write(path, &r->ck, base_name(r->ck.dir), o->seed, r->fingerprint, err))
        return SWAN_EXIT_FAILED;
    phase(r, "opened the journal", tp);
    /* This run will write new outputs: those of an earlier run must not pass for them. */
    swan_outputs_remove(o->out_dir);
    swan_plan_opts po;
    swan_plan_default_opts(&po);
    if (swan_plan_build_tasks(&r->plan, &r->ck, &po, err)) return SWAN_EXIT_FAILED;
    phase(r, "planned", tp);
    if (r->loaded) {
        char line[128];
        snprintf(line, sizeof line, "resuming: %zu of %zu analyzed tensors already in the journal",
                 r->loaded, r->plan.analyzed);
        swan_progress_log(&r->progress, line);
    }
    return SWAN_EXIT_OK;
}

static void log_cpu_times(run *r) {
    char line[128];
    snprintf(line, sizeof line, "coordinator CPU time: %.2f s", cpu_seconds(RUSAGE_SELF));
    swan_progress_log(&r->progress, line);
    snprintf(line, sizeof line, "local workers CPU time: %.2f s", cpu_seconds(RUSAGE_CHILDREN));
    swan_progress_log(&r->progress, line);
}

int swan_analyze(const swan_analyze_opts *o, volatile sig_atomic_t *stop, swan_error *err) {
    double t0 = swan_now_s(), tp = t0;
    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.lock_fd = -1;
    swan_progress_init(&r.progress, stderr, o->quiet);
    r.progress.verbose = o->verbose;
    if (swan_policy_validate(&o->policy, err)) return SWAN_EXIT_REFUSED;
    char dir[PATH_MAX];
    if (!realpath(o->model_dir, dir)) {
        swan_error_set(err, "%s: %s", o->model_dir, strerror(errno));
        return SWAN_EXIT_REFUSED;
    }
    int status = prepare(&r, dir, &tp, err);
    if (status == SWAN_EXIT_OK && r.plan.ntasks > 0) {
        status = run_workers(&r, stop, err);
        if (status == SWAN_EXIT_INTERRUPTED) {
            size_t saved = 0;
            for (size_t i = 0; i < r.plan.nrecs; i++) saved += r.plan.recs[i].raw != NULL;
            swan_error_set(err, "interrupted; %zu of %zu analyzed tensors are saved in %s: run the "
                                "same command to resume",
                           saved, r.plan.analyzed, r.journal_path);
        }
        if (status == SWAN_EXIT_OK) phase(&r, "analyzed", &tp);
    }
    size_t failed = r.tensor_errors;
    if (status == SWAN_EXIT_OK && failed) report_failed(&r);
    if (status == SWAN_EXIT_OK && failed && !o->keep_failed) {
        swan_error_set(err, "%zu tensor%s could not be analyzed (listed above); the other results "
                            "are saved in %s: run the same command to retry %s, or add --keep-failed "
                            "to write the manifest with %s at 16 bits",
                       failed, failed == 1 ? "" : "s", r.journal_path, failed == 1 ? "it" : "them",
                       failed == 1 ? "it" : "them");
        status = SWAN_EXIT_FAILED;
    }
    if (status == SWAN_EXIT_OK && check_shards_unchanged(&r.ck, r.journal_path, err))
        status = SWAN_EXIT_FAILED;
    if (status == SWAN_EXIT_OK) {
        report_nonfinite(&r);
        status = write_outputs(&r, swan_now_s() - t0, err);
        phase(&r, "reduced and wrote the manifest", &tp);
        if (o->verbose) log_cpu_times(&r);
    }
    if (status == SWAN_EXIT_OK && failed) {
        /* --keep-failed: the manifest is written (those tensors at 16 bits, reason
         * analysis_failed), but the run still did not analyze everything. */
        swan_error_set(err, "%zu tensor%s could not be analyzed (listed above); the manifest keeps "
                            "%s at 16 bits, reason analysis_failed",
                       failed, failed == 1 ? "" : "s", failed == 1 ? "it" : "them");
        status = SWAN_EXIT_FAILED;
    }
    run_free(&r);
    return status;
}
