/* stream_server.c: CHUNKs from mapped shards (see stream_server.h). */
#define _DEFAULT_SOURCE /* glibc: MADV_DONTNEED (the build asks for plain XSI otherwise) */
#include "coordinator/schedule/stream_server.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dtype.h"
#include "common/regular_file.h"

/* A mapped shard. refs: one for the server while it lives, one per chunk ZeroMQ still
 * holds; ZeroMQ releases its references from its I/O thread, hence the mutex. */
struct swan_shard_map {
    pthread_mutex_t mu;
    unsigned long refs;
    void *addr;
    size_t len;
};

static void map_unref(swan_shard_map *m) {
    pthread_mutex_lock(&m->mu);
    bool last = --m->refs == 0;
    pthread_mutex_unlock(&m->mu);
    if (!last) return;
    if (m->addr) munmap(m->addr, m->len);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* One chunk in ZeroMQ's hands: its mapping and length. */
typedef struct chunk_ref {
    swan_shard_map *map;
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
    pthread_mutex_init(&m->mu, NULL);
    m->refs = 1;
    srv->maps[shard] = m;
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

int swan_stream_serve(swan_stream_server *srv, swan_transport *tr, const unsigned char *id,
                      size_t idlen, const swan_msg_chunk *req, char *why, size_t whysize,
                      swan_error *err) {
    uint32_t shard;
    uint64_t off, size;
    if (swan_stream_part_range(srv->ck, req->tensor_id, req->part, &shard, &off, &size, why, whysize))
        return 1;
    if (req->offset > size || req->nbytes > size - req->offset)
        return snprintf(why, whysize, "asked for bytes %" PRIu64 "+%" PRIu32 " of a %" PRIu64 "-byte part",
                        req->offset, req->nbytes, size),
               1;
    if (map_shard(srv, shard, err)) return -1;
    swan_shard_map *m = srv->maps[shard];
    if (off > m->len || size > m->len - off) /* the file shrank since it was validated */
        return swan_error_set(err, "%s: shorter than when it was validated", srv->ck->shards[shard].path);
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
    ref->len = req->nbytes;
    pthread_mutex_lock(&m->mu);
    m->refs++; /* released by chunk_done, whether the send works or not */
    pthread_mutex_unlock(&m->mu);
    int rc = swan_transport_server_send_zc(tr, id, idlen, buf, len,
                                           (unsigned char *)m->addr + off + req->offset, req->nbytes,
                                           chunk_done, ref);
    free(buf);
    if (rc) return swan_error_set(err, "cannot queue a chunk for the worker: %s", zmq_strerror(errno));
    srv->chunks_sent++;
    srv->bytes_sent += req->nbytes;
    return 0;
}
