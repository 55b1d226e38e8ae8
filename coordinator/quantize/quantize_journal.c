/* quantize_journal.c: the resume journal of swan quantize (see quantize_journal.h). */
#include "coordinator/quantize/quantize_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/crc32c.h"
#include "common/hash.h"

#define CRC_SUFFIX_LEN 18 /* ,"crc":"xxxxxxxx"} */

static void put_u64(swan_xxh64_state *h, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    swan_xxh64_update(h, b, 8);
}

static void put_str(swan_xxh64_state *h, const char *s) { swan_xxh64_update(h, s, strlen(s) + 1); }

uint64_t swan_qlayout_fingerprint(const swan_checkpoint *ck, const swan_qlayout *l) {
    swan_xxh64_state h;
    swan_xxh64_init(&h, 0);
    put_str(&h, "swan-quantize-1");
    put_str(&h, l->arch);
    put_str(&h, l->quant_json);
    for (size_t i = 0; i < l->n; i++) {
        const swan_qtensor *t = &l->t[i];
        put_str(&h, t->name);
        put_u64(&h, ((uint64_t)t->kind << 32) | (uint64_t)t->dtype);
        for (int d = 0; d < t->ndim; d++) put_u64(&h, t->shape[d]);
        put_u64(&h, ((uint64_t)t->bits << 32) | (uint64_t)t->group);
        put_u64(&h, t->shard);
        put_u64(&h, t->offset);
        if (t->packed.on) { /* which slice of the packed source, read how */
            const swan_qpacked *p = &t->packed;
            put_u64(&h, 1 + (uint64_t)p->transposed);
            put_u64(&h, p->src_rows);
            put_u64(&h, p->src_cols);
            put_u64(&h, p->first);
            put_u64(&h, p->rows);
            put_u64(&h, p->cols);
        }
        for (uint32_t s = 0; s < t->nsrc; s++) {
            const swan_tensor *src = &ck->tensors[t->src[s]];
            put_str(&h, src->name);
            put_u64(&h, src->offset);
        }
    }
    for (size_t s = 0; s < ck->nshards; s++) {
        const swan_shard_stamp *st = &ck->shards[s].stamp;
        put_u64(&h, st->size);
        put_u64(&h, (uint64_t)st->mtime_ns);
        put_u64(&h, st->header_hash);
    }
    return swan_xxh64_digest(&h);
}

/* Writes body + the CRC suffix + newline. */
static int put_line(FILE *f, const char *body) {
    uint32_t crc = swan_crc32c(body, strlen(body), 0);
    return fprintf(f, "%s,\"crc\":\"%08" PRIx32 "\"}\n", body, crc) < 0 ? -1 : 0;
}

/* body of a line whose CRC is right (the suffix cut off), or NULL. */
static char *checked_body(char *line) {
    size_t n = strlen(line);
    if (n == 0 || line[n - 1] != '\n') return NULL; /* torn */
    line[--n] = '\0';
    if (n < CRC_SUFFIX_LEN || strncmp(line + n - CRC_SUFFIX_LEN, ",\"crc\":\"", 8) != 0) return NULL;
    char *end;
    unsigned long want = strtoul(line + n - CRC_SUFFIX_LEN + 8, &end, 16);
    if (end != line + n - 2 || strcmp(end, "\"}") != 0) return NULL;
    line[n - CRC_SUFFIX_LEN] = '\0';
    return swan_crc32c(line, n - CRC_SUFFIX_LEN, 0) == (uint32_t)want ? line : NULL;
}

static void load(swan_qjournal *j, const char *path, uint64_t fingerprint) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[256];
    bool ours = false;
    while (fgets(line, sizeof line, f)) {
        char *b = checked_body(line);
        if (!b) continue;
        unsigned long long fp, t, sum;
        unsigned k;
        if (sscanf(b, "{\"swan_quantize_journal\":1,\"fingerprint\":\"%16llx\"", &fp) == 1) {
            ours = fp == fingerprint;
        } else if (ours && sscanf(b, "{\"tensor\":%llu,\"xxh64\":\"%16llx\"", &t, &sum) == 2 && t < j->n) {
            if (!j->has[t]) j->records++;
            j->has[t] = true;
            j->sum[t] = sum;
        } else if (ours && sscanf(b, "{\"shard\":%u", &k) == 1 && k < j->nshards) {
            j->shard_done[k] = true;
        }
    }
    fclose(f);
}

int swan_qjournal_open(swan_qjournal *j, const char *dir, uint64_t fingerprint,
                       const swan_qlayout *l, swan_error *err) {
    memset(j, 0, sizeof *j);
    j->n = l->n;
    j->nshards = l->nshards;
    j->has = calloc(l->n ? l->n : 1, sizeof *j->has);
    j->sum = calloc(l->n ? l->n : 1, sizeof *j->sum);
    j->shard_done = calloc(l->nshards ? l->nshards : 1, sizeof *j->shard_done);
    if (!j->has || !j->sum || !j->shard_done) {
        swan_qjournal_close(j, dir, false);
        return swan_error_set(err, "out of memory for the quantize journal");
    }
    char path[SWAN_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, SWAN_QJOURNAL_NAME) >= (int)sizeof path) {
        swan_qjournal_close(j, dir, false);
        return swan_error_set(err, "path too long: %s", dir);
    }
    load(j, path, fingerprint);
    /* compact rewrite: header + the records kept, atomically */
    swan_atomic_file af;
    if (swan_atomic_open(&af, path, err)) {
        swan_qjournal_close(j, dir, false);
        return -1;
    }
    char body[160];
    snprintf(body, sizeof body, "{\"swan_quantize_journal\":1,\"fingerprint\":\"%016" PRIx64 "\"", fingerprint);
    int rc = put_line(af.f, body);
    for (size_t t = 0; rc == 0 && t < l->n; t++)
        if (j->has[t]) {
            snprintf(body, sizeof body, "{\"tensor\":%zu,\"xxh64\":\"%016" PRIx64 "\"", t, j->sum[t]);
            rc = put_line(af.f, body);
        }
    for (uint32_t k = 0; rc == 0 && k < l->nshards; k++)
        if (j->shard_done[k]) {
            snprintf(body, sizeof body, "{\"shard\":%u", k);
            rc = put_line(af.f, body);
        }
    if (rc) {
        swan_atomic_abort(&af);
        swan_qjournal_close(j, dir, false);
        return swan_error_set(err, "cannot write %s", path);
    }
    if (swan_atomic_commit(&af, err)) {
        swan_qjournal_close(j, dir, false);
        return -1;
    }
    j->f = fopen(path, "a");
    if (!j->f) {
        int e = errno;
        swan_qjournal_close(j, dir, false);
        return swan_error_set(err, "cannot append to %s: %s", path, strerror(e));
    }
    pthread_mutex_init(&j->lock, NULL);
    j->last_sync = swan_now_s(); /* swan_atomic_commit synced what it wrote */
    return 0;
}

/* Appends body's line, hands it to the OS, and syncs the file when sync is set or the
 * batch is due. */
static int append(swan_qjournal *j, const char *body, bool sync, swan_error *err) {
    pthread_mutex_lock(&j->lock);
    int rc = put_line(j->f, body) || fflush(j->f) ? -1 : 0;
    const char *what = "append to";
    if (rc == 0) {
        j->unsynced++;
        double now = swan_now_s();
        if (sync || j->unsynced >= SWAN_QJOURNAL_SYNC_LINES || now - j->last_sync >= SWAN_QJOURNAL_SYNC_S) {
            rc = swan_fsync(fileno(j->f));
            what = "sync";
            j->unsynced = 0;
            j->last_sync = now;
        }
    }
    int e = errno;
    pthread_mutex_unlock(&j->lock);
    return rc ? swan_error_set(err, "cannot %s the quantize journal: %s", what, strerror(e)) : 0;
}

int swan_qjournal_unit(swan_qjournal *j, size_t t, uint64_t sum, swan_error *err) {
    char body[96];
    snprintf(body, sizeof body, "{\"tensor\":%zu,\"xxh64\":\"%016" PRIx64 "\"", t, sum);
    return append(j, body, false, err);
}

int swan_qjournal_shard(swan_qjournal *j, uint32_t k, swan_error *err) {
    char body[48];
    snprintf(body, sizeof body, "{\"shard\":%u", k);
    return append(j, body, true, err);
}

void swan_qjournal_close(swan_qjournal *j, const char *dir, bool remove) {
    if (j->f) {
        if (!remove && j->unsynced && fflush(j->f) == 0) swan_fsync(fileno(j->f));
        fclose(j->f);
        pthread_mutex_destroy(&j->lock);
    }
    if (remove) {
        char path[SWAN_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, SWAN_QJOURNAL_NAME);
        unlink(path);
    }
    free(j->has);
    free(j->sum);
    free(j->shard_done);
    memset(j, 0, sizeof *j);
}
