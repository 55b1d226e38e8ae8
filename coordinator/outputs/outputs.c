/* outputs.c: the output table, atomic files, the summary (see outputs.h). */
#ifdef __linux__
#define _GNU_SOURCE /* sync_file_range */
#endif
#include "coordinator/outputs/outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "coordinator/outputs/manifest.h"
#include "coordinator/outputs/mlx_names.h"

const swan_output swan_outputs[] = {
    {"manifest.json", swan_manifest_write_to},
    {"mlx_quant.json", swan_mlx_quant_write},
    {"swan_predicate.py", swan_predicate_write},
    {"llama_tensor_types.txt", swan_llama_types_write},
    {"report.html", swan_report_write},
};
const size_t swan_noutputs = sizeof swan_outputs / sizeof *swan_outputs;

/* The stdio buffer of an output file: the writers hand over 8 KiB at a time
 * (common/json_writer.h), which stdio would pass on as one write(2) each: 16,000
 * system calls for a 130 MB manifest instead of 130. */
#define OUTPUT_BUFFER (1u << 20)

int swan_write_file_atomic(const char *path, int (*fn)(FILE *f, const void *ctx, swan_error *err),
                           const void *ctx, swan_error *err) {
    swan_atomic_file af;
    if (swan_atomic_open(&af, path, err) != 0) return -1;
    char *buf = malloc(OUTPUT_BUFFER); /* without it, stdio's own buffer */
    if (buf) setvbuf(af.f, buf, _IOFBF, OUTPUT_BUFFER);
    errno = 0;
    swan_error inner = {{0}};
    if (fn(af.f, ctx, &inner) != 0 || ferror(af.f)) {
        int saved = errno;
        swan_atomic_abort(&af);
        free(buf);
        if (inner.msg[0] && strcmp(inner.msg, "write failed") != 0)
            return swan_error_set(err, "cannot write %s: %s", path, inner.msg);
        return swan_error_set(err, "cannot write %s: %s", path, saved ? strerror(saved) : "write failed");
    }
    int rc = swan_atomic_commit(&af, err); /* closes the stream: the buffer is free */
    free(buf);
    return rc;
}

size_t swan_output_widths(const swan_reduction *s, bool published, int widths[7]) {
    static const int all[] = {2, 3, 4, 5, 6, 8, 16};
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        int b = all[i];
        bool always = published && (b == 2 || b == 4 || b == 8 || b == 16);
        if (always || s->tensors_by_bits[b] > 0) widths[n++] = b;
    }
    return n;
}

double swan_output_width_share(const swan_reduction *s, int b) {
    return s->total_params ? 100.0 * (double)s->params_by_bits[b] / (double)s->total_params : 0.0;
}

void swan_output_write_widths(swan_jw *w, const swan_reduction *s, bool published) {
    int widths[7];
    size_t n = swan_output_widths(s, published, widths);
    swan_jw_object_begin(w);
    for (size_t i = 0; i < n; i++) {
        int b = widths[i];
        char key[4];
        snprintf(key, sizeof key, "%d", b);
        swan_jw_key(w, key);
        swan_jw_object_begin(w);
        if (published) swan_jw_key_uint(w, "params", s->params_by_bits[b]);
        swan_jw_key_uint(w, "tensors", s->tensors_by_bits[b]);
        swan_jw_key_double(w, "percentage", swan_output_width_share(s, b));
        swan_jw_object_end(w);
    }
    swan_jw_object_end(w);
}

void swan_output_writeback(FILE *f) {
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    if (fflush(f) == 0) (void)sync_file_range(fileno(f), 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)f; /* elsewhere the fsync at commit writes everything */
#endif
}

typedef struct writer_ctx {
    const swan_output *out;
    const swan_output_ctx *c;
} writer_ctx;

static int call_writer(FILE *f, const void *ctx, swan_error *err) {
    const writer_ctx *w = ctx;
    return w->out->write(f, w->c, err);
}

/* "The previous file is gone": set by one thread, awaited by another. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
} gate;

/* One output written on its own: the path, the writer, and what happened. */
typedef struct output_job {
    char path[PATH_MAX];
    writer_ctx w;
    gate *before_rename; /* NULL, or wait for it before the new file takes the name */
    int rc;
    swan_error err;
} output_job;

/* The job's writer, then the wait for its gate (before the commit renames). */
static int write_then_wait(FILE *f, const void *ctx, swan_error *err) {
    const output_job *j = ctx;
    int rc = call_writer(f, &j->w, err);
    if (j->before_rename) {
        gate *g = j->before_rename;
        pthread_mutex_lock(&g->mu);
        while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
        pthread_mutex_unlock(&g->mu);
    }
    return rc;
}

static void *run_output_job(void *arg) {
    output_job *j = arg;
    j->rc = swan_write_file_atomic(j->path, write_then_wait, j, &j->err);
    return NULL;
}

/* The manifest (by far the largest: ~1.3 KB per tensor) is written on a thread of
 * its own while this one writes the rest, which on a 100,000-tensor model takes
 * about a third as long: the writers only read the decisions table. Meanwhile this
 * thread also deletes the previous manifest: freeing a 130 MB file costs the file
 * system ~0.06 s, which a rename onto it would add to the manifest's own time (the
 * longest path). A run that fails after that leaves no manifest.json, never an old
 * one beside new outputs (swan analyze removes every old output before it starts).
 * Each file is atomic on its own; the first failure in table order is reported.
 * Without a thread (pthread refused) everything is written here, in order. */
int swan_outputs_write(const char *dir, const swan_output_ctx *c, swan_error *err) {
    output_job jobs[16];
    if (swan_noutputs > sizeof jobs / sizeof *jobs) return swan_error_set(err, "too many outputs");
    for (size_t i = 0; i < swan_noutputs; i++) {
        if (snprintf(jobs[i].path, sizeof jobs[i].path, "%s/%s", dir, swan_outputs[i].file) >=
            (int)sizeof jobs[i].path)
            return swan_error_set(err, "%s: path too long", dir);
        jobs[i].w = (writer_ctx){&swan_outputs[i], c};
        jobs[i].before_rename = NULL;
        jobs[i].rc = 0;
        jobs[i].err.msg[0] = '\0';
    }
    gate g = {.open = false};
    bool have_gate = pthread_mutex_init(&g.mu, NULL) == 0;
    if (have_gate && pthread_cond_init(&g.cv, NULL) != 0) {
        pthread_mutex_destroy(&g.mu);
        have_gate = false;
    }
    jobs[0].before_rename = have_gate ? &g : NULL;
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, run_output_job, &jobs[0]) == 0;
    if (have_gate) {
        if (threaded) unlink(jobs[0].path); /* the previous manifest, if any */
        pthread_mutex_lock(&g.mu);
        g.open = true;
        pthread_cond_signal(&g.cv);
        pthread_mutex_unlock(&g.mu);
    }
    for (size_t i = threaded ? 1 : 0; i < swan_noutputs; i++) run_output_job(&jobs[i]);
    if (threaded) pthread_join(th, NULL);
    if (have_gate) {
        pthread_cond_destroy(&g.cv);
        pthread_mutex_destroy(&g.mu);
    }
    for (size_t i = 0; i < swan_noutputs; i++)
        if (jobs[i].rc) {
            *err = jobs[i].err;
            return -1;
        }
    return 0;
}

int swan_outputs_run(const char *dir, const swan_checkpoint *ck, const swan_plan *plan,
                     const swan_policy *p, swan_run_info *info, bool quiet, swan_error *err) {
    double t0 = swan_now_s();
    swan_reduction red;
    int rc = swan_reduce_run(ck, plan, p, &red, err);
    if (rc == SWAN_REDUCE_UNREACHABLE) return 2;
    if (rc) return 1;
    info->reduce_seconds = swan_now_s() - t0;
    swan_output_ctx c = {ck, plan, p, &red, info};
    rc = swan_outputs_write(dir, &c, err) ? 1 : 0;
    if (rc == 0 && !quiet) {
        /* the summary is a message, not data: standard error, like the progress */
        swan_summary_print(stderr, &c);
        fprintf(stderr, "  outputs in %s:", dir);
        for (size_t i = 0; i < swan_noutputs; i++) fprintf(stderr, " %s", swan_outputs[i].file);
        fprintf(stderr, "\n");
    }
    swan_reduction_free(&red);
    return rc;
}

static void human(double v, char *out, size_t size) {
    if (v >= 1e9) snprintf(out, size, "%.2fB", v / 1e9);
    else if (v >= 1e6) snprintf(out, size, "%.1fM", v / 1e6);
    else if (v >= 1e3) snprintf(out, size, "%.1fK", v / 1e3);
    else snprintf(out, size, "%.0f", v);
}

void swan_summary_print(FILE *out, const swan_output_ctx *c) {
    const swan_reduction *s = c->red;
    const swan_run_info *info = c->info;
    const swan_policy *p = c->policy;
    char total[32];
    human((double)s->total_params, total, sizeof total);
    fprintf(out, "%s: %zu tensors (%zu analyzed), %s params\n", info->model_name, s->tensor_count,
            s->analyzed, total);
    if (info->analysis_seconds < 0) {
        fprintf(out, "  reduced from the journal in %.2f s (swan reduce: no worker ran)\n",
                info->reduce_seconds);
    } else if (info->analyzed_now == 0) {
        /* A re-run over a finished journal: only the reduce ran, no worker did anything. */
        fprintf(out, "  all results from the journal: only the reduce ran (%.1f s)\n",
                info->analysis_seconds);
    } else {
        char now[32], rates[32];
        human((double)info->params_now, now, sizeof now);
        double rate = info->analysis_seconds > 0 ? (double)info->params_now / info->analysis_seconds : 0;
        human(rate, rates, sizeof rates);
        fprintf(out, "  analyzed %zu tensors (%s params) in %.1f s with %zu worker%s (%s params/s)",
                info->analyzed_now, now, info->analysis_seconds, info->workers,
                info->workers == 1 ? "" : "s", rates);
        if (info->analyzed_now < s->analyzed)
            fprintf(out, "; %zu from the journal", s->analyzed - info->analyzed_now);
        fputc('\n', out);
    }
    fprintf(out, "  policy %s", swan_policy_alloc_name(p));
    if (p->alloc == SWAN_ALLOC_TARGET_BPW) fprintf(out, " %g bits per weight", p->target_bpw);
    if (p->alloc == SWAN_ALLOC_TARGET_SIZE) fprintf(out, " %.0f bytes", p->target_bytes);
    fprintf(out, ", %s normalization; score clipped at 0 / at 1:", p->norm == SWAN_NORM_ADAPTIVE ? "adaptive" : "fixed");
    static const char *short_names[SWAN_NMETRICS] = {"svd", "kurt", "out", "err"};
    for (int m = 0; m < SWAN_NMETRICS; m++)
        fprintf(out, " %s %.0f%%/%.0f%%", short_names[m], 100 * s->clip0[m], 100 * s->clip1[m]);
    fprintf(out, "\n  bits  tensors      params   share\n");
    int widths[7];
    for (size_t i = swan_output_widths(s, true, widths); i-- > 0;) { /* widest first */
        int b = widths[i];
        char pp[32];
        human((double)s->params_by_bits[b], pp, sizeof pp);
        fprintf(out, "  %4d  %7zu  %10s  %5.1f%%\n", b, s->tensors_by_bits[b], pp,
                swan_output_width_share(s, b));
    }
    /* MB below 1 GB: a small model must not read "0.000 GB". */
    if (s->mlx_bytes >= 1e9)
        fprintf(out, "  average %.2f bits per parameter, estimated size %.2f GB (MLX: %.0f bytes, %.4f bits per weight with scales)\n",
                s->average_bits, s->mlx_bytes / 1e9, s->mlx_bytes, s->effective_bpw);
    else
        fprintf(out, "  average %.2f bits per parameter, estimated size %.1f MB (MLX: %.0f bytes, %.4f bits per weight with scales)\n",
                s->average_bits, s->mlx_bytes / 1e6, s->mlx_bytes, s->effective_bpw);
    swan_mlx_model mm;
    swan_mlx_model_from_config(c->ck->config_json, &mm);
    if (mm.arch == SWAN_ARCH_UNKNOWN)
        fprintf(out, "  architecture '%s' is not one swan maps: MLX module paths are the tensor names without .weight\n",
                mm.model_type[0] ? mm.model_type : "?");
    else
        fprintf(out, "  MLX module paths and GGUF names for architecture %s\n", swan_mlx_arch_name(mm.arch));
    fprintf(out, "  a size budget can reach %.4f to %.4f bits per weight; expected damage %.6g%s\n",
            s->min_bpw, s->max_bpw, s->expected_damage,
            s->errors_estimated ? " (per-width errors estimated from M4: no measured table)" : "");
}

int swan_out_dir_lock(const char *dir, int *fd, swan_error *err) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/.swan.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT, 0666);
    if (*fd < 0) return swan_error_set(err, "cannot create %s: %s", path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(*fd, F_SETLK, &fl) != 0) {
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        fcntl(*fd, F_GETLK, &who);
        close(*fd);
        *fd = -1;
        return swan_error_set(err, "%s is in use by another swan command (pid %ld)", dir,
                              (long)who.l_pid);
    }
    return 0;
}

void swan_outputs_remove(const char *dir) {
    for (size_t i = 0; i < swan_noutputs; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, swan_outputs[i].file) < (int)sizeof path)
            unlink(path);
    }
}
