/* mlx_writer.c: the quantized MLX model folder, written in place (see mlx_writer.h). */
#include "coordinator/quantize/mlx_writer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/hash.h"
#include "coordinator/plan/plan.h"
#include "coordinator/quantize/expert_matrix.h"
#include "coordinator/quantize/quantize_journal.h"
#include "coordinator/schedule/scheduler.h"
#include "coordinator/schedule/workforce.h"
#include "worker/quantize.h"

#define COPY_CHUNK ((size_t)4 << 20)

/* Files mlx_lm needs besides the weights, copied unchanged when present. */
static const char *const side_files[] = {
    "tokenizer.json",        "tokenizer_config.json", "special_tokens_map.json",
    "tokenizer.model",       "vocab.json",            "merges.txt",
    "added_tokens.json",     "generation_config.json", "chat_template.jinja",
    "chat_template.json",
};

static int join_path(char *out, size_t cap, const char *dir, const char *name, swan_error *err) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return swan_error_set(err, "path too long: %s/%s", dir, name);
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t n, uint64_t off) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}

static int pread_all(int fd, void *buf, size_t n, uint64_t off) {
    char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return 0;
}

/* The safetensors header of shard k: JSON padded with spaces to a multiple of 8. */
static char *shard_header(const swan_qlayout *l, uint32_t k, size_t *len) {
    cJSON *h = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(h, "__metadata__");
    if (!h || !meta) {
        cJSON_Delete(h);
        return NULL;
    }
    cJSON_AddStringToObject(meta, "format", "mlx");
    for (size_t i = 0; i < l->n; i++) {
        const swan_qtensor *t = &l->t[i];
        if (t->shard != k) continue;
        cJSON *o = cJSON_AddObjectToObject(h, t->name), *shape, *off;
        if (!o) break;
        cJSON_AddStringToObject(o, "dtype", swan_dtype_name(t->dtype));
        shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; shape && d < t->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        off = cJSON_AddArrayToObject(o, "data_offsets");
        if (off) {
            cJSON_AddItemToArray(off, cJSON_CreateNumber((double)t->offset));
            cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(t->offset + t->nbytes)));
        }
    }
    char *js = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!js) return NULL;
    size_t n = strlen(js), padded = (n + 7) / 8 * 8;
    char *out = realloc(js, padded + 1);
    if (!out) {
        free(js);
        return NULL;
    }
    memset(out + n, ' ', padded - n);
    out[padded] = '\0';
    *len = padded;
    return out;
}

static int copy_tensor(const swan_checkpoint *ck, const swan_qtensor *t, int fd, uint64_t base,
                       char *buf, swan_error *err) {
    uint64_t at = base + t->offset;
    for (uint32_t e = 0; t->packed.on && e < t->nsrc; e++) /* sliced (and transposed) experts */
        if (swan_expert_matrix_copy(ck, t, e, fd, at + e * (t->nbytes / t->nsrc), buf, COPY_CHUNK, err))
            return -1;
    for (uint32_t e = 0; !t->packed.on && e < t->nsrc; e++) {
        const swan_tensor *s = &ck->tensors[t->src[e]];
        const swan_shard *sh = &ck->shards[s->shard];
        int in = open(sh->path, O_RDONLY);
        if (in < 0) return swan_error_set(err, "%s: %s", sh->path, strerror(errno));
        for (uint64_t done = 0; done < s->nbytes;) {
            size_t n = s->nbytes - done < COPY_CHUNK ? (size_t)(s->nbytes - done) : COPY_CHUNK;
            if (pread_all(in, buf, n, s->offset + done) || pwrite_all(fd, buf, n, at)) {
                int e2 = errno;
                close(in);
                return swan_error_set(err, "copying %s: %s", s->name, e2 ? strerror(e2) : "short read");
            }
            done += n, at += n;
        }
        close(in);
    }
    return 0;
}

/* Packed 3-D experts (swan_qpacked: each expert a slice of one source tensor, maybe
 * transposed) are quantized here, with the workers' kernel (worker/quantize.c) into a
 * file sink: a quantize task names whole source tensors, which these are not. */
static int quantize_packed(const swan_checkpoint *ck, const swan_qlayout *l, const swan_qtensor *w,
                           int fd, uint64_t base, swan_error *err) {
    const swan_qtensor *sc = &l->t[w->scales], *bi = &l->t[w->biases];
    for (uint32_t e = 0; e < w->nsrc; e++) {
        const swan_tensor *s = &ck->tensors[w->src[e]];
        swan_expert_matrix m; /* packed experts' slice (transposed) */
        if (swan_expert_matrix_open(&m, ck, w, e, err)) return -1;
        uint64_t wb = w->nbytes / w->nsrc, sb = sc->nbytes / w->nsrc;
        swan_qfile qf = {fd, {base + w->offset + e * wb, base + sc->offset + e * sb, base + bi->offset + e * sb}};
        swan_qsink sink;
        swan_qsink_file(&sink, &qf);
        int rc = swan_quantize_matrix(&m.rd, w->bits, w->group, sc->dtype, &sink, (size_t)4 << 20, err);
        swan_expert_matrix_close(&m);
        if (rc) return swan_error_set(err, "%s: %s", s->name, err->msg);
    }
    return 0;
}

/* XXH64 of a unit's bytes as they are in the shard: a kept tensor's range, or a
 * module's weight, scales and biases ranges one after the other. With items and
 * qhash (a quantized unit just written by workers), also checks that each source
 * item's part hashes to what its worker's RESULT said: 1 and why when one differs. */
static int unit_sum(const swan_qlayout *l, const swan_qtensor *t, int fd, uint64_t base, char *buf,
                    const uint64_t (*qhash)[3], uint64_t *sum, char *why, size_t whylen,
                    swan_error *err) {
    const swan_qtensor *parts[3] = {t, NULL, NULL};
    if (t->kind == SWAN_QOUT_WEIGHT) parts[1] = &l->t[t->scales], parts[2] = &l->t[t->biases];
    swan_xxh64_state st;
    swan_xxh64_init(&st, 0);
    int differs = 0;
    for (int p = 0; p < 3 && parts[p]; p++) {
        uint32_t items = qhash ? t->nsrc : 1;
        uint64_t per = parts[p]->nbytes / items;
        for (uint32_t e = 0; e < items; e++) {
            swan_xxh64_state item;
            swan_xxh64_init(&item, 0);
            for (uint64_t done = 0; done < per;) {
                uint64_t left = per - done;
                size_t n = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
                if (pread_all(fd, buf, n, base + parts[p]->offset + e * per + done))
                    return swan_error_set(err, "cannot read back %s: %s", parts[p]->name,
                                          errno ? strerror(errno) : "short read");
                swan_xxh64_update(&st, buf, n);
                if (qhash) swan_xxh64_update(&item, buf, n);
                done += n;
            }
            if (qhash && !differs && swan_xxh64_digest(&item) != qhash[e][p]) {
                snprintf(why, whylen, "the bytes of %s (item %u) differ from its worker's hash",
                         parts[p]->name, e);
                differs = 1;
            }
        }
    }
    *sum = swan_xxh64_digest(&st);
    return differs;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* One run of the writer: the shards being filled and where each source tensor's
 * quantized bytes go. Quantized modules are tasks for the workers
 * (coordinator/schedule/scheduler.c, docs/protocol.md "Quantizing"): one task per
 * module, its items the source tensors (a stack's experts, in order); kept tensors
 * are copied here. Every byte goes to an offset fixed by the layout, so which worker
 * does what changes nothing in the files: -j 1, -j N and remote workers write the
 * same bytes. */
typedef struct qrun {
    const swan_checkpoint *ck;
    const swan_qlayout *l;
    const swan_mlx_write_opts *o;
    swan_qjournal *journal;
    swan_mlx_write_stats *stats;
    int *fd;                 /* per shard: its .tmp, or -1 when already complete  */
    uint64_t *base;          /* per shard: where its data section starts          */
    uint32_t *unit_of;       /* per source tensor: its module's layout index      */
    uint32_t *expert_of;     /* per source tensor: its place in that module       */
    char *buf;               /* COPY_CHUNK bytes for the scheduler's read-backs    */
    bool *local;             /* per layout tensor: written here (kept, packed)    */
    int local_rc;            /* what writing them gave (0, STOPPED or -1)         */
    swan_error local_err;
    size_t failed;           /* tensors declared failed by the scheduler          */
    char failed_msg[SWAN_ERROR_MAX];
} qrun;

static void hook_item(void *ctx, uint32_t tensor, uint32_t *bits, uint32_t *group, const char **qdtype,
                      uint64_t part_bytes[3]) {
    const qrun *r = ctx;
    const swan_qtensor *w = &r->l->t[r->unit_of[tensor]];
    const swan_qtensor *sc = &r->l->t[w->scales];
    *bits = (uint32_t)w->bits;
    *group = (uint32_t)w->group;
    *qdtype = swan_dtype_name(sc->dtype);
    part_bytes[0] = w->nbytes / w->nsrc;
    part_bytes[1] = part_bytes[2] = sc->nbytes / w->nsrc;
}

static int hook_write(void *ctx, uint32_t tensor, int part, uint64_t offset, const void *data, size_t n,
                      swan_error *err) {
    const qrun *r = ctx;
    const swan_qtensor *w = &r->l->t[r->unit_of[tensor]];
    const swan_qtensor *t = part == 0 ? w : &r->l->t[part == 1 ? w->scales : w->biases];
    uint64_t per = t->nbytes / w->nsrc;
    if (offset > per || n > per - offset) /* the scheduler checked it: a bug if not */
        return swan_error_set(err, "internal: bytes past %s", t->name);
    if (pwrite_all(r->fd[w->shard], data, n, r->base[w->shard] + t->offset + r->expert_of[tensor] * per + offset))
        return swan_error_set(err, "cannot write %s: %s", t->name, strerror(errno));
    return 0;
}

static int hook_task_done(void *ctx, const uint32_t *tensors, uint32_t n, const uint64_t (*qhash)[3],
                          char *why, size_t whylen, swan_error *err) {
    qrun *r = ctx;
    size_t u = r->unit_of[tensors[0]];
    const swan_qtensor *w = &r->l->t[u];
    if (n != w->nsrc) return swan_error_set(err, "internal: a task of %u items for %s", n, w->name);
    uint64_t sum;
    int rc = unit_sum(r->l, w, r->fd[w->shard], r->base[w->shard], r->buf, qhash, &sum, why, whylen, err);
    if (rc) return rc;
    if (r->o->delay_ms > 0) sleep_ms(r->o->delay_ms);
    return swan_qjournal_unit(r->journal, u, sum, err);
}

static void hook_tensor_error(void *ctx, uint32_t tensor, const char *reasons) {
    qrun *r = ctx;
    if (r->failed++ == 0)
        snprintf(r->failed_msg, sizeof r->failed_msg, "'%.200s' could not be quantized: %.250s",
                 r->ck->tensors[tensor].name, reasons);
}

static void hook_log(void *ctx, const char *line) {
    qrun *r = ctx;
    if (r->o->log) r->o->log(r->o->log_ctx, line);
}

static int by_cost_desc(const void *a, const void *b) {
    double x = ((const swan_task *)a)->cost, y = ((const swan_task *)b)->cost;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The tasks: every quantized module of an open shard not found complete in the
 * journal, largest first. */
static int build_plan(qrun *r, const bool *for_workers, swan_plan *plan, swan_error *err) {
    const swan_qlayout *l = r->l;
    memset(plan, 0, sizeof *plan);
    size_t ntasks = 0, nitems = 0;
    for (size_t i = 0; i < l->n; i++)
        if (for_workers[i]) ntasks++, nitems += l->t[i].nsrc;
    plan->nrecs = r->ck->ntensors;
    plan->recs = calloc(plan->nrecs ? plan->nrecs : 1, sizeof *plan->recs);
    plan->tasks = calloc(ntasks ? ntasks : 1, sizeof *plan->tasks);
    plan->task_items = malloc((nitems ? nitems : 1) * sizeof *plan->task_items);
    if (!plan->recs || !plan->tasks || !plan->task_items) return swan_error_set(err, "out of memory");
    uint32_t at = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!for_workers[i]) continue;
        swan_task *t = &plan->tasks[plan->ntasks++];
        t->first = at;
        t->count = l->t[i].nsrc;
        for (uint32_t e = 0; e < l->t[i].nsrc; e++) {
            const swan_tensor *src = &r->ck->tensors[l->t[i].src[e]];
            plan->task_items[at++] = l->t[i].src[e];
            t->cost += (double)src->nelem;
            t->bytes += src->nbytes;
        }
        plan->total_cost += t->cost;
    }
    qsort(plan->tasks, plan->ntasks, sizeof *plan->tasks, by_cost_desc);
    return 0;
}

/* The units written by this process (kept tensors copied, packed 3-D experts),
 * each journaled; run on a thread of its own while the workers quantize. */
static void *write_local_units(void *arg) {
    qrun *r = arg;
    const swan_qlayout *l = r->l;
    char *buf = malloc(COPY_CHUNK);
    int rc = buf ? 0 : swan_error_set(&r->local_err, "out of memory");
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        if (!r->local[i]) continue;
        const swan_qtensor *t = &l->t[i];
        int fd = r->fd[t->shard];
        uint64_t sum;
        if (r->o->stop && *r->o->stop) {
            rc = SWAN_MLX_WRITE_STOPPED;
            break;
        }
        if (r->o->delay_ms > 0) sleep_ms(r->o->delay_ms);
        if ((t->kind == SWAN_QOUT_COPY ? copy_tensor(r->ck, t, fd, r->base[t->shard], buf, &r->local_err)
                                       : quantize_packed(r->ck, l, t, fd, r->base[t->shard], &r->local_err)) ||
            unit_sum(l, t, fd, r->base[t->shard], buf, NULL, &sum, NULL, 0, &r->local_err) < 0 ||
            swan_qjournal_unit(r->journal, i, sum, &r->local_err))
            rc = -1;
    }
    free(buf);
    r->local_rc = rc;
    return NULL;
}

/* Runs the quantize tasks on local (and --listen) workers, the local units on a
 * thread beside them. 0, SWAN_MLX_WRITE_STOPPED or -1. */
static int run_tasks(qrun *r, swan_plan *plan, swan_error *err) {
    const swan_mlx_write_opts *o = r->o;
    swan_workforce wf;
    memset(&wf, 0, sizeof wf);
    swan_workforce_opts wo = {.argv0 = o->argv0, .jobs = o->jobs, .threads = 1, .listen = o->listen,
                              .curve_secret = o->curve_secret, .allow = o->allow,
                              .insecure = o->insecure, .log = hook_log, .log_ctx = r};
    int rc = swan_workforce_open(&wf, &wo, err) || swan_workforce_start(&wf, &wo, err) ? -1 : 0;
    if (rc == 0) {
        if (o->listen) {
            char line[SWAN_ERROR_MAX];
            snprintf(line, sizeof line, "listening for workers on %.400s%s", o->listen,
                     o->curve_secret ? " (CURVE, allowed keys only)" : " (no encryption)");
            hook_log(r, line);
        }
        swan_sched_quantize q = {.ctx = r, .item = hook_item, .write = hook_write,
                                 .task_done = hook_task_done};
        swan_sched_opts so = {.transport = &wf.transport,
                              .worker_timeout = o->worker_timeout > 0 ? o->worker_timeout : 120.0,
                              .max_attempts = 3,
                              .backup_after = 1.0,
                              .max_respawns = 2 * (size_t)(o->jobs > 0 ? o->jobs : 1) + 2,
                              .prefetch_max_cost = 1e6, /* ~1M weights: round trips matter below */
                              .stop = o->stop,
                              .quantize = &q};
        swan_sched_hooks hooks = {.ctx = r, .on_tensor_error = hook_tensor_error, .log = hook_log};
        pthread_t th;
        bool threaded = pthread_create(&th, NULL, write_local_units, r) == 0;
        if (!threaded) write_local_units(r);
        rc = swan_sched_run(&so, r->ck, plan, swan_workforce_pool(&wf), &hooks, err);
        swan_local_pool_stop(&wf.pool, 1000);
        if (threaded) pthread_join(th, NULL);
        if (rc && o->stop && *o->stop) rc = SWAN_MLX_WRITE_STOPPED;
        if (rc == 0 && r->failed) rc = swan_error_set(err, "%s", r->failed_msg);
        if (rc == 0 && r->local_rc) {
            rc = r->local_rc;
            if (rc < 0) *err = r->local_err;
        }
    }
    swan_workforce_free(&wf);
    return rc;
}

/* Opens shard k's .tmp (kept across runs: the journal's units are in it) with its
 * header, or finds it complete (journaled as renamed, there at its size): fd -1. */
static int open_shard(qrun *r, uint32_t k, const char *dir, swan_error *err) {
    const swan_qlayout *l = r->l;
    char name[64], path[SWAN_PATH_MAX], tmp[SWAN_PATH_MAX + 8];
    swan_qlayout_shard_name(l, k, name, sizeof name);
    if (join_path(path, sizeof path, dir, name, err)) return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t hlen = 0;
    char *hdr = shard_header(l, k, &hlen);
    if (!hdr) return swan_error_set(err, "out of memory for the header of %s", name);
    struct stat st;
    r->base[k] = 8 + hlen;
    if (r->journal->shard_done[k] && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size == 8 + hlen + l->shard_bytes[k] && access(tmp, F_OK) != 0) {
        free(hdr);
        return 0;
    }
    int fd = open(tmp, O_RDWR | O_CREAT, 0644);
    if (fd < 0) {
        free(hdr);
        return swan_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int rc = 0;
    if (pwrite_all(fd, len8, 8, 0) || pwrite_all(fd, hdr, hlen, 8) ||
        ftruncate(fd, (off_t)(r->base[k] + l->shard_bytes[k])) != 0)
        rc = swan_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    free(hdr);
    if (rc) {
        close(fd);
        return -1;
    }
    r->fd[k] = fd;
    return 0;
}

/* Syncs, closes and renames shard k's .tmp into place, then journals it. */
static int close_shard(qrun *r, uint32_t k, const char *dir, swan_error *err) {
    char name[64], path[SWAN_PATH_MAX], tmp[SWAN_PATH_MAX + 8];
    swan_qlayout_shard_name(r->l, k, name, sizeof name);
    if (join_path(path, sizeof path, dir, name, err)) return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = r->fd[k], rc = 0;
    r->fd[k] = -1;
    if (swan_fsync(fd) != 0) rc = swan_error_set(err, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0) rc = swan_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0) rc = swan_error_set(err, "cannot rename %s: %s", tmp, strerror(errno));
    if (rc == 0) rc = swan_qjournal_shard(r->journal, k, err);
    return rc;
}

/* Every unit of the open shards: a journaled one whose bytes still hash to its
 * record is kept; a quantized module is marked for the workers, a kept tensor (or
 * packed 3-D experts) for this process. */
static int sort_units(qrun *r, bool *for_workers, swan_error *err) {
    const swan_qlayout *l = r->l;
    for (size_t i = 0; i < l->n; i++) {
        const swan_qtensor *t = &l->t[i];
        if (t->kind != SWAN_QOUT_COPY && t->kind != SWAN_QOUT_WEIGHT) continue;
        r->stats->units++;
        int fd = r->fd[t->shard];
        if (fd < 0) {
            r->stats->resumed++;
            continue;
        }
        uint64_t sum;
        if (r->journal->has[i]) {
            if (unit_sum(l, t, fd, r->base[t->shard], r->buf, NULL, &sum, NULL, 0, err) < 0) return -1;
            if (sum == r->journal->sum[i]) {
                r->stats->resumed++;
                continue;
            }
        }
        if (t->kind == SWAN_QOUT_WEIGHT && !t->packed.on) for_workers[i] = true;
        else r->local[i] = true;
    }
    return 0;
}

/* All shards: open (or found complete), kept tensors copied, quantized modules done
 * by the workers, then each shard synced and renamed. 0, SWAN_MLX_WRITE_STOPPED or
 * -1; on failure or stop the .tmp files stay: their journaled units are kept. */
static int write_shards(const swan_checkpoint *ck, const swan_qlayout *l, const char *dir,
                        const swan_mlx_write_opts *o, swan_qjournal *journal, char *buf,
                        swan_mlx_write_stats *stats, swan_error *err) {
    qrun r = {.ck = ck, .l = l, .o = o, .journal = journal, .stats = stats, .buf = buf};
    r.fd = malloc((l->nshards ? l->nshards : 1) * sizeof *r.fd);
    r.base = calloc(l->nshards ? l->nshards : 1, sizeof *r.base);
    r.unit_of = calloc(ck->ntensors ? ck->ntensors : 1, sizeof *r.unit_of);
    r.expert_of = calloc(ck->ntensors ? ck->ntensors : 1, sizeof *r.expert_of);
    bool *for_workers = calloc(l->n ? l->n : 1, sizeof *for_workers);
    r.local = calloc(l->n ? l->n : 1, sizeof *r.local);
    swan_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = r.fd && r.base && r.unit_of && r.expert_of && for_workers && r.local ? 0 : swan_error_set(err, "out of memory");
    for (uint32_t k = 0; r.fd && k < l->nshards; k++) r.fd[k] = -1;
    for (size_t i = 0; rc == 0 && i < l->n; i++)
        if (l->t[i].kind == SWAN_QOUT_WEIGHT && !l->t[i].packed.on)
            for (uint32_t e = 0; e < l->t[i].nsrc; e++) {
                r.unit_of[l->t[i].src[e]] = (uint32_t)i;
                r.expert_of[l->t[i].src[e]] = e;
            }
    for (uint32_t k = 0; rc == 0 && k < l->nshards; k++) rc = open_shard(&r, k, dir, err);
    if (rc == 0) rc = sort_units(&r, for_workers, err);
    if (rc == 0) rc = build_plan(&r, for_workers, &plan, err);
    if (rc == 0 && plan.ntasks > 0) {
        rc = run_tasks(&r, &plan, err);
    } else if (rc == 0) { /* nothing for workers: no need to start any */
        write_local_units(&r);
        if ((rc = r.local_rc) < 0) *err = r.local_err;
    }
    for (uint32_t k = 0; rc == 0 && k < l->nshards; k++)
        if (r.fd[k] >= 0) rc = close_shard(&r, k, dir, err);
    for (uint32_t k = 0; r.fd && k < l->nshards; k++)
        if (r.fd[k] >= 0) close(r.fd[k]);
    swan_plan_free(&plan);
    free(for_workers);
    free(r.local);
    free(r.fd);
    free(r.base);
    free(r.unit_of);
    free(r.expert_of);
    return rc;
}

static int write_text(const char *dir, const char *name, const char *text, swan_error *err) {
    char path[SWAN_PATH_MAX];
    if (join_path(path, sizeof path, dir, name, err)) return -1;
    swan_atomic_file af;
    if (swan_atomic_open(&af, path, err)) return -1;
    fputs(text, af.f);
    return swan_atomic_commit(&af, err);
}

static int write_config(const swan_checkpoint *ck, const swan_qlayout *l, const char *dir,
                        swan_error *err) {
    cJSON *cfg = cJSON_Parse(ck->config_json ? ck->config_json : "");
    cJSON *q = cJSON_Parse(l->quant_json), *q2 = cJSON_Parse(l->quant_json);
    if (!cfg || !q || !q2 || !cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        cJSON_Delete(q);
        cJSON_Delete(q2);
        return swan_error_set(err, "config.json could not be rewritten");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "quantization");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "quantization_config");
    cJSON_AddItemToObject(cfg, "quantization", q);
    cJSON_AddItemToObject(cfg, "quantization_config", q2);
    char *text = cJSON_Print(cfg);
    cJSON_Delete(cfg);
    if (!text) return swan_error_set(err, "out of memory writing config.json");
    int rc = write_text(dir, "config.json", text, err);
    free(text);
    return rc;
}

static int copy_side_file(const char *src_dir, const char *dir, const char *name, char *buf,
                          swan_error *err) {
    char src[SWAN_PATH_MAX], dst[SWAN_PATH_MAX];
    if (join_path(src, sizeof src, src_dir, name, err) || join_path(dst, sizeof dst, dir, name, err))
        return -1;
    int in = open(src, O_RDONLY);
    if (in < 0) return errno == ENOENT ? 0 : swan_error_set(err, "%s: %s", src, strerror(errno));
    swan_atomic_file af;
    if (swan_atomic_open(&af, dst, err)) {
        close(in);
        return -1;
    }
    ssize_t n;
    while ((n = read(in, buf, COPY_CHUNK)) > 0)
        if (fwrite(buf, 1, (size_t)n, af.f) != (size_t)n) break;
    close(in);
    if (n != 0) {
        swan_atomic_abort(&af);
        return swan_error_set(err, "copying %s failed", src);
    }
    return swan_atomic_commit(&af, err);
}

static int write_index(const swan_qlayout *l, const char *dir, swan_error *err) {
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(root, "metadata");
    cJSON *map = cJSON_AddObjectToObject(root, "weight_map");
    if (!root || !meta || !map) {
        cJSON_Delete(root);
        return swan_error_set(err, "out of memory writing the index");
    }
    cJSON_AddNumberToObject(meta, "total_size", (double)l->total_bytes);
    for (size_t i = 0; i < l->n; i++) {
        char name[64];
        swan_qlayout_shard_name(l, l->t[i].shard, name, sizeof name);
        cJSON_AddStringToObject(map, l->t[i].name, name);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return swan_error_set(err, "out of memory writing the index");
    int rc = write_text(dir, "model.safetensors.index.json", text, err);
    free(text);
    return rc;
}

int swan_mlx_write(const swan_checkpoint *ck, const swan_qlayout *l, const char *out_dir,
                   const swan_mlx_write_opts *o, swan_mlx_write_stats *stats, swan_error *err) {
    memset(stats, 0, sizeof *stats);
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        return swan_error_set(err, "cannot create %s: %s", out_dir, strerror(errno));
    swan_qjournal journal;
    if (swan_qjournal_open(&journal, out_dir, swan_qlayout_fingerprint(ck, l), l, err)) return -1;
    char *buf = malloc(COPY_CHUNK);
    int rc = buf ? 0 : swan_error_set(err, "out of memory");
    if (rc == 0) rc = write_shards(ck, l, out_dir, o, &journal, buf, stats, err);
    if (rc == 0) rc = write_config(ck, l, out_dir, err);
    for (size_t i = 0; rc == 0 && i < sizeof side_files / sizeof side_files[0]; i++)
        rc = copy_side_file(ck->dir, out_dir, side_files[i], buf, err);
    if (rc == 0) rc = write_index(l, out_dir, err);
    /* complete: the index is in place, the journal has nothing left to say */
    swan_qjournal_close(&journal, out_dir, rc == 0);
    free(buf);
    return rc;
}
