/* stream_server.c: CHUNKs from mapped shards (see stream_server.h). */
#define _DEFAULT_SOURCE /* glibc: MADV_DONTNEED (the build asks for plain XSI otherwise) */
#include "coordinator/schedule/stream_server.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dtype.h"
#include "common/regular_file.h"
#include "coordinator/schedule/map_guard.h"

/* A mapped shard. refs: one for the server while it lives, one per chunk ZeroMQ still
 * holds; ZeroMQ releases its references from its I/O thread, hence the mutex. */
struct swan_shard_map {
    pthread_mutex_t mu;
    unsigned long refs;
    void *addr;
    size_t len;
    swan_map_guard *guard; /* SIGBUS on a truncated page -> zeros + a mark */
};

/* A worker's chunks in ZeroMQ's hands. refs: one for the worker, one per chunk. */
struct swan_stream_credit {
    atomic_ulong queued;
    atomic_ulong refs;
};

swan_stream_credit *swan_stream_credit_new(void) {
    swan_stream_credit *c = malloc(sizeof *c);
    if (!c) return NULL;
    atomic_init(&c->queued, 0);
    atomic_init(&c->refs, 1);
    return c;
}

void swan_stream_credit_release(swan_stream_credit *c) {
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) free(c);
}

static void map_unref(swan_shard_map *m) {
    pthread_mutex_lock(&m->mu);
    bool last = --m->refs == 0;
    pthread_mutex_unlock(&m->mu);
    if (!last) return;
    swan_map_guard_remove(m->guard);
    if (m->addr) munmap(m->addr, m->len);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* One chunk in ZeroMQ's hands: its mapping, its worker's credit and its length. */
typedef struct chunk_ref {
    swan_shard_map *map;
    swan_stream_credit *credit;
    size_t len;
} chunk_ref;

/* ZeroMQ is done with a chunk (zmq_msg_init_data's free function, on its I/O
 * thread). The chunk's pages leave our resident set (they stay in the page cache,
 * and a neighbouring chunk that still needs one faults it back in from there), so
 * the coordinator's memory does not grow with the bytes it has streamed. */
static void chunk_done(void *data, void *hint) {
    chunk_ref *c = hint;
#ifdef MADV_DONTNEED
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0) {
        uintptr_t a = (uintptr_t)data, start = a - a % (uintptr_t)page;
        (void)madvise((void *)start, (size_t)(a + c->len - start), MADV_DONTNEED);
    }
#endif
    map_unref(c->map);
    atomic_fetch_sub(&c->credit->queued, 1);
    swan_stream_credit_release(c->credit);
    free(c);
}

int swan_stream_server_init(swan_stream_server *srv, const swan_checkpoint *ck, swan_error *err) {
    memset(srv, 0, sizeof *srv);
    srv->ck = ck;
    srv->maps = calloc(ck->nshards + 1, sizeof *srv->maps);
    if (!srv->maps) return swan_error_set(err, "out of memory");
    return 0;
}

void swan_stream_server_free(swan_stream_server *srv) {
    for (size_t i = 0; srv->maps && i < srv->ck->nshards; i++)
        if (srv->maps[i]) map_unref(srv->maps[i]);
    free(srv->maps);
    srv->maps = NULL;
}

static int map_shard(swan_stream_server *srv, uint32_t shard, swan_error *err) {
    if (srv->maps[shard]) return 0;
    const char *path = srv->ck->shards[shard].path;
    struct stat st;
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    swan_shard_map *m = calloc(1, sizeof *m);
    if (!m) {
        close(fd);
        return swan_error_set(err, "out of memory");
    }
    m->len = (size_t)st.st_size;
    m->addr = m->len ? mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, 0) : NULL;
    int e = errno;
    close(fd); /* the mapping keeps the file */
    if (m->addr == MAP_FAILED) {
        free(m);
        return swan_error_set(err, "%s: cannot map it to stream it: %s", path, strerror(e));
    }
    m->guard = m->len ? swan_map_guard_add(m->addr, m->len, err) : NULL;
    if (m->len && !m->guard) {
        munmap(m->addr, m->len);
        free(m);
        return -1;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->refs = 1;
    srv->maps[shard] = m;
    return 0;
}

/* Whether shard `shard` is still the file the run opened: same size and time as its
 * stamp, and no page of its mapping found past its end. */
static int check_unchanged(const swan_stream_server *srv, uint32_t shard, swan_error *err) {
    const swan_shard *sh = &srv->ck->shards[shard];
    if (srv->maps[shard] && swan_map_guard_damaged(srv->maps[shard]->guard))
        return swan_error_set(err, "%s shrank while it was being streamed to workers", sh->path);
    struct stat st;
    if (stat(sh->path, &st) != 0)
        return swan_error_set(err, "%s changed while it was being streamed to workers: %s", sh->path,
                              strerror(errno));
    swan_shard_stamp now;
    swan_stamp_from_stat(&st, &now);
    if (now.size != sh->stamp.size || now.mtime_ns != sh->stamp.mtime_ns)
        return swan_error_set(err, "%s changed while it was being streamed to workers (its %s differs)",
                              sh->path, now.size != sh->stamp.size ? "size" : "modification time");
    return 0;
}

int swan_stream_server_damaged(const swan_stream_server *srv, swan_error *err) {
    for (size_t i = 0; srv->maps && i < srv->ck->nshards; i++)
        if (srv->maps[i] && swan_map_guard_damaged(srv->maps[i]->guard))
            return swan_error_set(err, "%s shrank while it was being streamed to workers",
                                  srv->ck->shards[i].path),
                   1;
    return 0;
}

int swan_stream_part_range(const swan_checkpoint *ck, uint32_t tensor, uint32_t part,
                           uint32_t *shard, uint64_t *offset, uint64_t *size, char *why,
                           size_t whysize) {
    const swan_tensor *t = &ck->tensors[tensor];
    if (part == SWAN_PART_DATA) {
        *shard = t->shard;
        *offset = t->offset;
        *size = t->nbytes;
        return 0;
    }
    if (part != SWAN_PART_SCALES || !t->has_scale)
        return snprintf(why, whysize, "asked for part %" PRIu32 " of a tensor without it", part), 1;
    const swan_tensor *sc = &ck->tensors[t->scale_index];
    uint64_t rows, cols;
    swan_tensor_scale_grid(t, &rows, &cols);
    *shard = sc->shard;
    *offset = sc->offset;
    *size = rows * cols * swan_dtype_size(sc->dtype); /* what the worker's reader loads */
    if (*size > sc->nbytes) *size = sc->nbytes;
    return 0;
}

int swan_stream_serve(swan_stream_server *srv, swan_transport *tr, swan_stream_credit *credit,
                      const unsigned char *id, size_t idlen, const swan_msg_chunk *req, char *why,
                      size_t whysize, swan_error *err) {
    uint32_t shard;
    uint64_t off, size;
    if (swan_stream_part_range(srv->ck, req->tensor_id, req->part, &shard, &off, &size, why, whysize))
        return 1;
    if (req->offset > size || req->nbytes > size - req->offset)
        return snprintf(why, whysize, "asked for bytes %" PRIu64 "+%" PRIu32 " of a %" PRIu64 "-byte part",
                        req->offset, req->nbytes, size),
               1;
    if (atomic_load(&credit->queued) >= 2 * SWAN_STREAM_MAX_FETCHES)
        return snprintf(why, whysize, "asked for more than %d chunks it has not taken in",
                        2 * SWAN_STREAM_MAX_FETCHES),
               SWAN_SERVE_REFUSED;
    if (check_unchanged(srv, shard, err)) return SWAN_SERVE_MODEL_CHANGED;
    if (map_shard(srv, shard, err)) return SWAN_SERVE_FAILED;
    swan_shard_map *m = srv->maps[shard];
    if (off > m->len || size > m->len - off) /* the file shrank since it was validated */
        return swan_error_set(err, "%s: shorter than when it was validated", srv->ck->shards[shard].path),
               SWAN_SERVE_MODEL_CHANGED;
    swan_msg hdr = {.type = SWAN_MSG_CHUNK};
    hdr.u.chunk = *req;
    char *buf;
    size_t len;
    if (swan_msg_encode(&hdr, &buf, &len, err)) return -1;
    chunk_ref *ref = malloc(sizeof *ref);
    if (!ref) {
        free(buf);
        return swan_error_set(err, "out of memory");
    }
    ref->map = m;
    ref->credit = credit;
    ref->len = req->nbytes;
    pthread_mutex_lock(&m->mu);
    m->refs++; /* released by chunk_done, whether the send works or not */
    pthread_mutex_unlock(&m->mu);
    atomic_fetch_add(&credit->refs, 1); /* likewise */
    atomic_fetch_add(&credit->queued, 1);
    int rc = swan_transport_server_send_zc(tr, id, idlen, buf, len,
                                           (unsigned char *)m->addr + off + req->offset, req->nbytes,
                                           chunk_done, ref);
    free(buf);
    if (rc)
        return swan_error_set(err, "cannot queue a chunk for the worker: %s", zmq_strerror(errno)),
               SWAN_SERVE_FAILED;
    srv->chunks_sent++;
    srv->bytes_sent += req->nbytes;
    return 0;
}
