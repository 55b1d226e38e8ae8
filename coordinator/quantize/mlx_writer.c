/* mlx_writer.c: the quantized MLX model folder, written in place (see mlx_writer.h). */
#include "coordinator/quantize/mlx_writer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/hash.h"
#include "coordinator/quantize/expert_matrix.h"
#include "coordinator/quantize/quantize_journal.h"
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

static int quantize_module(const swan_checkpoint *ck, const swan_qlayout *l, const swan_qtensor *w,
                           int fd, uint64_t base, size_t max_block_bytes, swan_error *err) {
    const swan_qtensor *sc = &l->t[w->scales], *bi = &l->t[w->biases];
    for (uint32_t e = 0; e < w->nsrc; e++) {
        const swan_tensor *s = &ck->tensors[w->src[e]];
        swan_expert_matrix m; /* the tensor, or packed experts' slice (transposed) */
        if (swan_expert_matrix_open(&m, ck, w, e, err)) return -1;
        uint64_t wb = w->nbytes / w->nsrc, sb = sc->nbytes / w->nsrc;
        swan_qdest d = {fd, base + w->offset + e * wb, base + sc->offset + e * sb,
                        base + bi->offset + e * sb};
        int rc = swan_quantize_matrix(&m.rd, w->bits, w->group, s->dtype, &d, max_block_bytes, NULL, err);
        swan_expert_matrix_close(&m);
        if (rc) return swan_error_set(err, "%s: %s", s->name, err->msg);
    }
    return 0;
}

/* The tensors of one shard, shared by the threads that fill it. Every tensor's bytes
 * go to offsets fixed by the layout, so which thread does what changes nothing in the
 * file: -j 1 and -j N write the same bytes. */
typedef struct shard_job {
    const swan_checkpoint *ck;
    const swan_qlayout *l;
    const swan_mlx_write_opts *o;
    swan_qjournal *journal;
    uint32_t k;
    int fd;
    uint64_t base;
    atomic_size_t next;
    atomic_size_t units, resumed;
    atomic_int failed;
    atomic_int stopped;
    swan_error err; /* the first failure */
    pthread_mutex_t lock;
} shard_job;

/* XXH64 of a unit's bytes as they are in the shard: a kept tensor's range, or a
 * module's weight, scales and biases ranges one after the other. */
static int unit_sum(const swan_qlayout *l, const swan_qtensor *t, int fd, uint64_t base, char *buf,
                    uint64_t *sum, swan_error *err) {
    const swan_qtensor *parts[3] = {t, NULL, NULL};
    if (t->kind == SWAN_QOUT_WEIGHT) parts[1] = &l->t[t->scales], parts[2] = &l->t[t->biases];
    swan_xxh64_state st;
    swan_xxh64_init(&st, 0);
    for (int p = 0; p < 3 && parts[p]; p++)
        for (uint64_t done = 0; done < parts[p]->nbytes;) {
            uint64_t left = parts[p]->nbytes - done;
            size_t n = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
            if (pread_all(fd, buf, n, base + parts[p]->offset + done))
                return swan_error_set(err, "cannot read back %s: %s", parts[p]->name,
                                      errno ? strerror(errno) : "short read");
            swan_xxh64_update(&st, buf, n);
            done += n;
        }
    *sum = swan_xxh64_digest(&st);
    return 0;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* One unit: skipped when the journal holds it and its bytes still hash to the record,
 * else written, read back, hashed and journaled. */
static int do_unit(shard_job *j, size_t i, char *buf, swan_error *err) {
    const swan_qtensor *t = &j->l->t[i];
    uint64_t sum;
    atomic_fetch_add(&j->units, 1);
    if (j->journal->has[i]) {
        if (unit_sum(j->l, t, j->fd, j->base, buf, &sum, err)) return -1;
        if (sum == j->journal->sum[i]) {
            atomic_fetch_add(&j->resumed, 1);
            return 0;
        }
    }
    if (j->o->delay_ms > 0) sleep_ms(j->o->delay_ms);
    int rc = t->kind == SWAN_QOUT_COPY
                 ? copy_tensor(j->ck, t, j->fd, j->base, buf, err)
                 : quantize_module(j->ck, j->l, t, j->fd, j->base, j->o->max_block_bytes, err);
    if (rc == 0) rc = unit_sum(j->l, t, j->fd, j->base, buf, &sum, err);
    if (rc == 0) rc = swan_qjournal_unit(j->journal, i, sum, err);
    return rc;
}

static void *shard_worker(void *arg) {
    shard_job *j = arg;
    char *buf = malloc(COPY_CHUNK);
    swan_error err = {{0}};
    int rc = buf ? 0 : swan_error_set(&err, "out of memory");
    while (rc == 0 && !atomic_load(&j->failed)) {
        if (j->o->stop && *j->o->stop) {
            atomic_store(&j->stopped, 1);
            break;
        }
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->l->n) break;
        const swan_qtensor *t = &j->l->t[i];
        if (t->shard != j->k || (t->kind != SWAN_QOUT_COPY && t->kind != SWAN_QOUT_WEIGHT)) continue;
        rc = do_unit(j, i, buf, &err);
    }
    if (rc) {
        pthread_mutex_lock(&j->lock);
        if (!atomic_exchange(&j->failed, 1)) j->err = err;
        pthread_mutex_unlock(&j->lock);
    }
    free(buf);
    return NULL;
}

/* 0, SWAN_MLX_WRITE_STOPPED or -1. */
static int fill_shard(const swan_checkpoint *ck, const swan_qlayout *l, uint32_t k, int fd,
                      uint64_t base, const swan_mlx_write_opts *o, swan_qjournal *journal,
                      swan_mlx_write_stats *stats, swan_error *err) {
    shard_job j;
    memset(&j, 0, sizeof j);
    j.ck = ck, j.l = l, j.o = o, j.journal = journal, j.k = k, j.fd = fd, j.base = base;
    atomic_init(&j.next, 0);
    atomic_init(&j.units, 0);
    atomic_init(&j.resumed, 0);
    atomic_init(&j.failed, 0);
    atomic_init(&j.stopped, 0);
    pthread_mutex_init(&j.lock, NULL);
    int jobs = o->jobs;
    if (jobs < 1) jobs = 1;
    if (jobs > 64) jobs = 64;
    pthread_t th[64];
    int started = 0;
    for (int i = 1; i < jobs; i++) /* the calling thread is the first worker */
        if (pthread_create(&th[started], NULL, shard_worker, &j) == 0) started++;
    shard_worker(&j);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.lock);
    stats->units += atomic_load(&j.units);
    stats->resumed += atomic_load(&j.resumed);
    if (atomic_load(&j.failed)) {
        *err = j.err;
        return -1;
    }
    return atomic_load(&j.stopped) ? SWAN_MLX_WRITE_STOPPED : 0;
}

static size_t shard_units(const swan_qlayout *l, uint32_t k) {
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->t[i].shard == k && (l->t[i].kind == SWAN_QOUT_COPY || l->t[i].kind == SWAN_QOUT_WEIGHT);
    return n;
}

/* A shard under NAME.tmp (kept across runs: the journal's units are in it), renamed
 * when full. A shard the journal records as renamed, still there at its size, is
 * done. 0, SWAN_MLX_WRITE_STOPPED or -1. */
static int write_shard(const swan_checkpoint *ck, const swan_qlayout *l, uint32_t k,
                       const char *dir, const swan_mlx_write_opts *o, swan_qjournal *journal,
                       swan_mlx_write_stats *stats, swan_error *err) {
    char name[64], path[SWAN_PATH_MAX], tmp[SWAN_PATH_MAX + 8];
    swan_qlayout_shard_name(l, k, name, sizeof name);
    if (join_path(path, sizeof path, dir, name, err)) return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t hlen = 0;
    char *hdr = shard_header(l, k, &hlen);
    if (!hdr) return swan_error_set(err, "out of memory for the header of %s", name);
    struct stat st;
    if (journal->shard_done[k] && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size == 8 + hlen + l->shard_bytes[k] && access(tmp, F_OK) != 0) {
        size_t n = shard_units(l, k);
        stats->units += n;
        stats->resumed += n;
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
    uint64_t base = 8 + hlen;
    int rc = 0;
    if (pwrite_all(fd, len8, 8, 0) || pwrite_all(fd, hdr, hlen, 8) ||
        ftruncate(fd, (off_t)(base + l->shard_bytes[k])) != 0)
        rc = swan_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    free(hdr);
    if (rc == 0) rc = fill_shard(ck, l, k, fd, base, o, journal, stats, err);
    if (rc == 0 && swan_fsync(fd) != 0) rc = swan_error_set(err, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0) rc = swan_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = swan_error_set(err, "cannot rename %s: %s", tmp, strerror(errno));
    if (rc == 0) rc = swan_qjournal_shard(journal, k, err);
    return rc; /* on failure or stop the .tmp stays: its journaled units are kept */
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
    for (uint32_t k = 0; k < l->nshards && rc == 0; k++)
        rc = write_shard(ck, l, k, out_dir, o, &journal, stats, err);
    if (rc == 0) rc = write_config(ck, l, out_dir, err);
    for (size_t i = 0; rc == 0 && i < sizeof side_files / sizeof side_files[0]; i++)
        rc = copy_side_file(ck->dir, out_dir, side_files[i], buf, err);
    if (rc == 0) rc = write_index(l, out_dir, err);
    /* complete: the index is in place, the journal has nothing left to say */
    swan_qjournal_close(&journal, out_dir, rc == 0);
    free(buf);
    return rc;
}
