/* worker_loop.c: the worker process's two threads (see worker_loop.h). */
#include "worker/worker_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/dtype.h"
#include "common/hash.h"
#include "common/prng.h"
#include "common/view2d.h"
#include "proto/messages.h"
#include "proto/transport.h"
#include "worker/metrics.h"
#include "worker/quantize.h"
#include "common/regular_file.h"
#include "worker/tensor_reader.h"
#include "worker/worker_stream.h"

#ifdef SWAN_HAVE_OPENBLAS_SET_THREADS
void openblas_set_num_threads(int n);
#endif

void swan_worker_default_opts(swan_worker_opts *o) {
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->heartbeat = 1.0;
    /* Set by `swan analyze` for the workers it starts itself (see local_workers.h). */
    o->identity = getenv(SWAN_WORKER_IDENTITY_ENV);
}

/* Tasks a worker accepts ahead of the one it computes: the coordinator sends the
 * next small task before the current one is done, so the worker never waits a
 * round trip between batches. */
#define QUEUE_CAP 4

/* A FIFO of messages (tasks in, results out). */
typedef struct msg_fifo {
    swan_msg items[QUEUE_CAP];
    size_t head, count;
} msg_fifo;

static bool fifo_push(msg_fifo *q, const swan_msg *m) {
    if (q->count == QUEUE_CAP) return false;
    q->items[(q->head + q->count++) % QUEUE_CAP] = *m;
    return true;
}

static bool fifo_pop(msg_fifo *q, swan_msg *m) {
    if (!q->count) return false;
    *m = q->items[q->head];
    q->head = (q->head + 1) % QUEUE_CAP;
    q->count--;
    return true;
}

/* QCHUNKs encoded by the compute thread, waiting for the main thread to send them
 * (docs/protocol.md "Quantizing"). `inflight` counts those queued and those sent and
 * not yet acknowledged by a QACK: at most SWAN_QCHUNK_WINDOW, so the compute thread
 * waits for credit rather than pile bytes up in either process. */
typedef struct qchunk_out {
    char *buf;
    size_t len;
    uint32_t gen;           /* connection it was made for                   */
} qchunk_out;

/* Where the two threads hand work over (all fields under mu). */
typedef struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    msg_fifo tasks;         /* received, not yet started                    */
    msg_fifo results;       /* finished, not yet sent                       */
    uint64_t computing;     /* task id in the compute thread, 0 if none     */
    bool quit;
    atomic_bool cancel;     /* read without mu by the compute thread between tiles */
    int wake_fd;            /* compute thread writes a byte when done       */
    const swan_worker_opts *o; /* before_tensor hook                          */
    bool stream;            /* this connection's tasks are streamed (under mu) */
    void *stream_sock;      /* compute thread's end of the inproc pair       */
    atomic_uint gen;        /* connection number (bumped on each connection) */
    qchunk_out qout[SWAN_QCHUNK_WINDOW]; /* QCHUNKs not yet sent, in order     */
    size_t qhead, qcount;
    unsigned qinflight;     /* queued + sent and not acknowledged            */
} handoff;

/* The shard file the compute thread read last, kept open: consecutive tensors of a
 * batch are nearly always in the same shard, and open+fstat+close per tensor was a
 * visible cost on checkpoints of 100,000 small tensors. */
typedef struct shard_cache {
    char *path;
    int fd;
    uint64_t size;
} shard_cache;

static void shard_cache_drop(shard_cache *c) {
    if (c->path) close(c->fd);
    free(c->path);
    c->path = NULL;
    c->fd = -1;
}

static int shard_cache_get(shard_cache *c, const char *path, swan_error *err) {
    if (c->path && strcmp(c->path, path) == 0) return 0;
    shard_cache_drop(c);
    struct stat st; /* a path from the network: never block on a FIFO or a device */
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    char *copy = strdup(path);
    if (!copy) {
        close(fd);
        return swan_error_set(err, "%s: out of memory", path);
    }
    c->path = copy;
    c->fd = fd;
    c->size = (uint64_t)st.st_size;
    return 0;
}

/* The tile reader the kernels see: the shard's, plus a look at the cancel flag
 * before every tile. Tiles are the kernels' safe points: between two of them no BLAS
 * call is running, so a worker asked to stop can end its compute thread there and
 * join it, instead of exiting while BLAS runs (which crashed one worker in six). */
typedef struct cancellable {
    swan_tile_reader inner;
    const atomic_bool *cancel;
} cancellable;

static int cancellable_read_tile(void *ctx, uint64_t row0, uint64_t nrows, uint64_t col0,
                                 uint64_t ncols, float *dst, swan_error *err) {
    cancellable *c = ctx;
    if (atomic_load(c->cancel)) return swan_error_set(err, "cancelled");
    return c->inner.read_tile(c->inner.ctx, row0, nrows, col0, ncols, dst, err);
}

/* reader: tr's tiles through cr, which looks at the cancel flag first. */
static void cancellable_tiles(swan_tensor_reader *tr, const atomic_bool *cancel, cancellable *cr,
                              swan_tile_reader *reader) {
    cr->cancel = cancel;
    swan_tensor_reader_as_tiles(tr, &cr->inner);
    *reader = cr->inner;
    reader->read_tile = cancellable_read_tile;
    reader->ctx = cr;
}

/* Opens the reader over the item's bytes streamed from the coordinator. */
static int open_streamed(swan_tensor_reader *tr, swan_stream_source *ss, uint64_t task_id,
                         const swan_task_item *it, swan_dtype dt, const swan_view2d *view,
                         swan_error *err) {
    bool fp8 = swan_dtype_is_fp8(dt);
    swan_dtype sdt = fp8 ? swan_dtype_from_name(it->scale_dtype) : SWAN_DT_F32;
    uint64_t scale_bytes = 0;
    if (fp8 && it->scale_rows <= (1u << 24) && it->scale_cols <= (1u << 24))
        scale_bytes = it->scale_rows * it->scale_cols * swan_dtype_size(sdt);
    swan_stream_source_begin(ss, task_id, it->tensor_id, it->nbytes, scale_bytes);
    swan_byte_source src;
    swan_stream_source_as_bytes(ss, &src);
    if (swan_tensor_reader_open_source(tr, &src, it->path, it->offset, it->nbytes, dt, view, err))
        return -1;
    if (fp8 && swan_tensor_reader_load_scales_source(tr, it->path, sdt, it->scale_rows, it->scale_cols,
                                                     it->block_rows, it->block_cols, (int)it->ndim,
                                                     it->shape, err)) {
        swan_tensor_reader_close(tr);
        return -1;
    }
    return 0;
}

/* Opens the reader of an item over view, from the shard files or (ss not NULL) from
 * streamed bytes: the one way both task kinds read a tensor. */
static int open_item(swan_tensor_reader *tr, const swan_task_item *it, uint64_t task_id, swan_dtype dt,
                     const swan_view2d *view, shard_cache *cache, swan_stream_source *ss,
                     swan_error *err) {
    bool fp8 = swan_dtype_is_fp8(dt);
    if (!swan_dtype_is_analyzed(dt) && !(fp8 && it->scale_path))
        return swan_error_set(err, fp8 ? "dtype %s without scales is not analyzed" : "dtype %s is not analyzed",
                              it->dtype);
    if (ss) return open_streamed(tr, ss, task_id, it, dt, view, err);
    if (shard_cache_get(cache, it->path, err) ||
        swan_tensor_reader_open_fd(tr, cache->fd, cache->size, it->path, it->offset, it->nbytes, dt, view,
                                   err))
        return -1;
    if (fp8 && swan_tensor_reader_load_scales(tr, it->scale_path, it->scale_offset,
                                              swan_dtype_from_name(it->scale_dtype), it->scale_rows,
                                              it->scale_cols, it->block_rows, it->block_cols,
                                              (int)it->ndim, it->shape, err)) {
        swan_tensor_reader_close(tr);
        return -1;
    }
    return 0;
}

/* Analyzes one item, from the shard files or (ss not NULL) from streamed bytes; on
 * failure the item carries the reason (in result's arena) instead of metrics. */
static void analyze_item(const swan_task_item *it, uint64_t task_id, uint64_t seed, shard_cache *cache,
                         swan_stream_source *ss, const atomic_bool *cancel, swan_msg *result,
                         swan_result_item *out) {
    swan_error err;
    memset(out, 0, sizeof *out);
    out->tensor_id = it->tensor_id;
    swan_dtype dt = swan_dtype_from_name(it->dtype);
    swan_view2d view;
    if (swan_view2d_make((int)it->ndim, it->shape, &view) != SWAN_KIND_MATRIX) {
        swan_error_set(&err, "shape is not an analyzable matrix");
        goto fail;
    }
    swan_tensor_reader tr;
    if (open_item(&tr, it, task_id, dt, &view, cache, ss, &err)) goto fail;
    cancellable cr;
    swan_tile_reader reader;
    cancellable_tiles(&tr, cancel, &cr, &reader);
    swan_metrics_opts mo;
    swan_metrics_default_opts(&mo);
    mo.prng_key = swan_prng_key(seed, it->name);
    /* FP8 weights are read as exactly their BF16 upcast, which is what MLX quantizes
     * (an FP8 checkpoint is converted to BF16 first): scales and biases in BF16. */
    mo.dtype = swan_dtype_is_fp8(dt) ? SWAN_DT_BF16 : dt;
    int rc = swan_metrics_compute(&reader, &mo, &out->raw, &err);
    /* The checksum of the bytes the metrics just read (hashed in the same pass). */
    if (rc == 0) rc = swan_tensor_reader_data_hash(&tr, &out->raw.data_hash, &err);
    swan_tensor_reader_close(&tr);
    if (rc) goto fail;
    if (out->raw.nonfinite > 0) {
        /* The range of a tensor with NaN/Inf is meaningless and may itself be
         * infinite, which the wire format rightly refuses. */
        out->raw.w_min = out->raw.w_max = 0;
    }
    out->ok = 1;
    return;
fail:
    out->ok = 0;
    out->error = swan_msg_strdup(result, err.msg);
}

/* ---- quantize tasks --------------------------------------------------------- */

/* Float32 bytes of one block the quantizer holds: QCHUNKs of at most 1 MiB carry a
 * block's packed bytes (1M values at 8 bits) without a split in the common case. */
#define QUANT_BLOCK_BYTES ((size_t)4 << 20)

/* The sink of one item: each part's bytes go out as QCHUNKs of at most
 * SWAN_QCHUNK_MAX, hashed on the way (the item's qhash). */
typedef struct qchunk_sink {
    handoff *h;
    uint64_t task_id;
    uint32_t tensor_id;
    uint32_t gen;           /* the connection the task came on */
    swan_xxh64_state st[SWAN_QPARTS];
} qchunk_sink;

/* Queues one encoded QCHUNK for the main thread, waiting for credit first. */
static int queue_qchunk(qchunk_sink *k, char *buf, size_t len, swan_error *err) {
    handoff *h = k->h;
    pthread_mutex_lock(&h->mu);
    while (!h->quit && !atomic_load(&h->cancel) && atomic_load(&h->gen) == k->gen &&
           h->qinflight >= SWAN_QCHUNK_WINDOW)
        pthread_cond_wait(&h->cv, &h->mu);
    int rc = 0;
    if (h->quit || atomic_load(&h->cancel))
        rc = swan_error_set(err, "cancelled");
    else if (atomic_load(&h->gen) != k->gen)
        rc = swan_error_set(err, "the connection to the coordinator changed");
    if (rc == 0) {
        h->qout[(h->qhead + h->qcount++) % SWAN_QCHUNK_WINDOW] = (qchunk_out){buf, len, k->gen};
        h->qinflight++;
    }
    pthread_mutex_unlock(&h->mu);
    if (rc) {
        free(buf);
        return rc;
    }
    char b = 1; /* the main thread sends it */
    while (write(h->wake_fd, &b, 1) < 0 && errno == EINTR) {
    }
    return 0;
}

static int qchunk_put(void *ctx, int part, uint64_t offset, const void *data, size_t n,
                      swan_error *err) {
    qchunk_sink *k = ctx;
    const unsigned char *p = data;
    swan_xxh64_update(&k->st[part], p, n);
    while (n > 0) {
        size_t take = n < SWAN_QCHUNK_MAX ? n : SWAN_QCHUNK_MAX;
        swan_msg m = {.type = SWAN_MSG_QCHUNK};
        m.u.qchunk = (swan_msg_qchunk){.task_id = k->task_id, .tensor_id = k->tensor_id,
                                       .part = (uint32_t)part, .offset = offset,
                                       .nbytes = (uint32_t)take, .data = p};
        char *buf;
        size_t len;
        if (swan_msg_encode(&m, &buf, &len, err) || queue_qchunk(k, buf, len, err)) return -1;
        p += take, n -= take, offset += take;
    }
    return 0;
}

/* Quantizes one item with the width the coordinator chose, its bytes sent as
 * QCHUNKs, the item carrying their hashes; on failure the reason instead. The matrix
 * is the tensor over its last dimension (an expert stack's rows one after another),
 * which is how MLX groups and stores it. */
static void quantize_item(const swan_task_item *it, uint64_t task_id, uint32_t gen, handoff *h,
                          shard_cache *cache, swan_stream_source *ss, swan_msg *result,
                          swan_result_item *out) {
    swan_error err;
    memset(out, 0, sizeof *out);
    out->tensor_id = it->tensor_id;
    swan_dtype dt = swan_dtype_from_name(it->dtype);
    swan_view2d view;
    memset(&view, 0, sizeof view);
    uint64_t nelem = 1;
    for (uint32_t d = 0; d < it->ndim; d++) nelem *= it->shape[d];
    if (it->ndim < 2 || it->shape[it->ndim - 1] == 0 || nelem == 0) {
        swan_error_set(&err, "a quantized tensor must be a matrix (or a stack of them)");
        goto fail;
    }
    view.cols = it->shape[it->ndim - 1];
    view.rows = nelem / view.cols;
    view.nseg = 1;
    view.seg[0].rows = view.rows;
    swan_tensor_reader tr;
    if (open_item(&tr, it, task_id, dt, &view, cache, ss, &err)) goto fail;
    cancellable cr;
    swan_tile_reader reader;
    cancellable_tiles(&tr, &h->cancel, &cr, &reader);
    qchunk_sink k = {.h = h, .task_id = task_id, .tensor_id = it->tensor_id, .gen = gen};
    for (int p = 0; p < SWAN_QPARTS; p++) swan_xxh64_init(&k.st[p], 0);
    swan_qsink sink = {.put = qchunk_put, .ctx = &k};
    int rc = swan_quantize_matrix(&reader, (int)it->bits, (int)it->group, swan_dtype_from_name(it->qdtype),
                                  &sink, QUANT_BLOCK_BYTES, &err);
    swan_tensor_reader_close(&tr);
    if (rc) goto fail;
    out->ok = 1;
    out->quantized = true;
    for (int p = 0; p < SWAN_QPARTS; p++) out->qhash[p] = swan_xxh64_digest(&k.st[p]);
    return;
fail:
    out->ok = 0;
    out->error = swan_msg_strdup(result, err.msg);
}

static void run_task(const swan_msg_task *task, const swan_worker_opts *o, shard_cache *cache,
                     swan_stream_source *ss, handoff *h, uint32_t gen, swan_msg *result) {
    const atomic_bool *cancel = &h->cancel;
    memset(result, 0, sizeof *result);
    result->type = SWAN_MSG_RESULT;
    result->u.result.task_id = task->task_id;
    result->u.result.items = swan_msg_alloc(result, (size_t)task->nitems * sizeof(swan_result_item));
    if (!result->u.result.items) return; /* nitems 0: the coordinator will see a mismatch */
    result->u.result.nitems = task->nitems;
    for (uint32_t i = 0; i < task->nitems; i++) {
        swan_error err = {{0}};
        if (o->before_tensor && o->before_tensor(o->hook_ctx, task->items[i].name, cancel, &err)) {
            swan_result_item *out = &result->u.result.items[i];
            out->tensor_id = task->items[i].tensor_id;
            out->error = swan_msg_strdup(result, err.msg);
            continue;
        }
        if (task->kind == SWAN_TASK_QUANTIZE)
            quantize_item(&task->items[i], task->task_id, gen, h, cache, ss, result,
                          &result->u.result.items[i]);
        else
            analyze_item(&task->items[i], task->task_id, task->seed, cache, ss, cancel, result,
                         &result->u.result.items[i]);
    }
}

/* The compute thread's side of the stream link (worker_stream.h): FETCHes go to the
 * main thread over the inproc pair; CHUNKs come back as [connection][header][bytes],
 * the bytes frame moved from the socket without a copy and kept until the next call. */
typedef struct stream_link {
    handoff *h;
    zmq_msg_t bytes;
    bool have_bytes;
} stream_link;

static int link_send_fetch(void *ctx, const swan_msg_chunk *req, swan_error *err) {
    stream_link *lk = ctx;
    swan_msg m = {.type = SWAN_MSG_FETCH};
    m.u.chunk = *req;
    char *buf;
    size_t len;
    if (swan_msg_encode(&m, &buf, &len, err)) return -1;
    int rc = zmq_send(lk->h->stream_sock, buf, len, 0);
    free(buf);
    return rc < 0 ? swan_error_set(err, "cannot pass a fetch on: %s", zmq_strerror(errno)) : 0;
}

static int link_recv_chunk(void *ctx, long timeout_ms, swan_msg_chunk *hdr, const void **data,
                           size_t *len, swan_error *err) {
    stream_link *lk = ctx;
    if (lk->have_bytes) zmq_msg_close(&lk->bytes);
    lk->have_bytes = false;
    zmq_pollitem_t it = {.socket = lk->h->stream_sock, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0) return 0;
    zmq_msg_t f[3];
    size_t n = 0;
    for (int more = 1; more;) { /* the main thread always sends three frames */
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, lk->h->stream_sock, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n < 3) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n++], &part);
        }
        zmq_msg_close(&part);
    }
    int rc = 0;
    uint32_t gen = 0;
    if (n == 3 && zmq_msg_size(&f[0]) == sizeof gen) memcpy(&gen, zmq_msg_data(&f[0]), sizeof gen);
    if (n != 3 || gen != atomic_load(&lk->h->gen)) {
        rc = 0; /* a chunk of a connection that is gone: void */
    } else {
        swan_msg m;
        if (swan_msg_decode(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &m, err)) {
            rc = swan_error_prefix(err, "the coordinator sent a malformed chunk");
        } else if (m.type != SWAN_MSG_CHUNK) {
            swan_msg_free(&m);
            rc = swan_error_set(err, "internal: a non-chunk on the stream link");
        } else {
            *hdr = m.u.chunk;
            zmq_msg_init(&lk->bytes);
            zmq_msg_move(&lk->bytes, &f[2]);
            lk->have_bytes = true;
            *data = zmq_msg_data(&lk->bytes);
            *len = zmq_msg_size(&lk->bytes);
            rc = 1;
        }
    }
    for (size_t i = 0; i < n; i++) zmq_msg_close(&f[i]);
    return rc;
}

static uint32_t link_generation(void *ctx) {
    return atomic_load(&((stream_link *)ctx)->h->gen);
}

static void *compute_thread(void *arg) {
    handoff *h = arg;
    shard_cache cache = {NULL, -1, 0};
    stream_link lk = {.h = h};
    swan_stream_link link = {.send_fetch = link_send_fetch, .recv_chunk = link_recv_chunk,
                             .generation = link_generation, .ctx = &lk};
    swan_stream_source ss;
    swan_stream_source_init(&ss, &link, h->o->stream_window ? h->o->stream_window
                                                            : SWAN_STREAM_DEFAULT_WINDOW,
                            &h->cancel);
    pthread_mutex_lock(&h->mu);
    for (;;) {
        swan_msg task;
        while (!h->quit && !fifo_pop(&h->tasks, &task)) pthread_cond_wait(&h->cv, &h->mu);
        if (h->quit) break;
        h->computing = task.u.task.task_id;
        bool streamed = h->stream;
        uint32_t gen = atomic_load(&h->gen); /* tasks of an old connection were dropped */
        pthread_mutex_unlock(&h->mu);
        swan_msg result;
        run_task(&task.u.task, h->o, &cache, streamed ? &ss : NULL, h, gen, &result);
        swan_msg_free(&task);
        pthread_mutex_lock(&h->mu);
        /* A RESULT goes behind its task's QCHUNKs: it is queued only once they have
         * been handed to the socket, so every chunk queued later is of a later task
         * (on_compute_done sends results before chunks). */
        while (h->qcount && !h->quit) pthread_cond_wait(&h->cv, &h->mu);
        h->computing = 0;
        fifo_push(&h->results, &result); /* cannot be full: one result per queued task */
        char b = 1;
        while (write(h->wake_fd, &b, 1) < 0 && errno == EINTR) {
        }
    }
    pthread_mutex_unlock(&h->mu);
    shard_cache_drop(&cache);
    swan_stream_source_free(&ss);
    if (lk.have_bytes) zmq_msg_close(&lk.bytes);
    zmq_close(h->stream_sock); /* this thread's socket: closed here */
    return NULL;
}

static int send_msg(swan_transport *tr, const swan_msg *m, swan_error *err) {
    char *buf;
    size_t len;
    if (swan_msg_encode(m, &buf, &len, err)) return -1;
    int rc = swan_transport_client_send(tr, buf, len, err);
    free(buf);
    return rc;
}

static int send_hello(swan_transport *tr, int threads, swan_error *err) {
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    swan_msg m = {.type = SWAN_MSG_HELLO};
    m.u.hello.pid = (uint32_t)getpid();
    m.u.hello.threads = (uint32_t)threads;
    m.u.hello.host = host;
    return send_msg(tr, &m, err);
}

typedef struct loop {
    const swan_worker_opts *o;
    swan_transport tr;      /* the DEALER to the coordinator (proto/transport.c) */
    char root[4096];        /* model folder task paths are relative to ("" until
                               the coordinator's CHALLENGE, or --model-dir)      */
    handoff h;
    int pipefd[2];
    pthread_t thread;
    bool thread_started;
    size_t outstanding;     /* tasks received and not yet answered */
    size_t stale;           /* results still due for a previous connection   */
    bool streaming;         /* this connection: no model copy, bytes FETCHed  */
    bool said_hello;        /* connected at least once (idle heartbeats from then) */
    void *stream_main;      /* main thread's end of the inproc pair          */
} loop;

/* A shard name from the coordinator, made a path under our model folder (*name then
 * points into owner's arena). Names are relative and may not climb out of the folder
 * ("..") whatever a coordinator sends. */
static int resolve(const loop *L, swan_msg *owner, const char **name, swan_error *err) {
    const char *n = *name;
    if (!L->root[0]) return swan_error_set(err, "the coordinator sent a task before checking the model");
    if (n[0] == '/' || strcmp(n, "..") == 0 || strncmp(n, "../", 3) == 0 || strstr(n, "/../") ||
        (strlen(n) >= 3 && strcmp(n + strlen(n) - 3, "/..") == 0))
        return swan_error_set(err, "the coordinator sent a shard name outside the model folder");
    size_t len = strlen(L->root) + 1 + strlen(n) + 1;
    char *full = swan_msg_alloc(owner, len);
    if (!full) return swan_error_set(err, "out of memory");
    snprintf(full, len, "%s/%s", L->root, n);
    *name = full;
    return 0;
}

/* CHALLENGE: proves our model copy is the coordinator's, shard by shard. The files
 * are looked up under --model-dir, or else at the coordinator's own path (a shared
 * file system, or the same layout on every host). */
static int on_challenge(loop *L, const swan_msg_challenge *c, swan_error *err) {
    snprintf(L->root, sizeof L->root, "%s", L->o->model_dir ? L->o->model_dir : c->root);
    if (!L->root[0] && !L->o->stream)
        return swan_error_set(err, "the coordinator sent no model folder; give --model-dir or --stream");
    /* The identities borrow their names from c; the array and the resolved paths live
     * in m's arena. */
    swan_msg m = {.type = SWAN_MSG_IDENTITY};
    m.u.identity.stream = L->o->stream;
    if (!m.u.identity.stream) {
        m.u.identity.nshards = c->nshards;
        m.u.identity.shards = swan_msg_alloc(&m, (size_t)c->nshards * sizeof *m.u.identity.shards);
        if (!m.u.identity.shards && c->nshards) return swan_error_set(err, "out of memory");
    }
    int rc = 0;
    uint32_t present = 0;
    for (uint32_t i = 0; i < m.u.identity.nshards && rc == 0; i++) {
        const char *path = c->shards[i];
        rc = resolve(L, &m, &path, err);
        if (rc == 0)
            rc = swan_shard_identity_compute(path, c->shards[i], c->nonce, &m.u.identity.shards[i], err);
        if (rc == 0) present += m.u.identity.shards[i].present;
    }
    /* A folder with none of the model's files: this host has no copy, so it streams
     * (one with only some of them is a broken copy, refused by the coordinator). */
    if (rc == 0 && !m.u.identity.stream && c->nshards > 0 && present == 0) {
        swan_msg_free(&m);
        m.type = SWAN_MSG_IDENTITY;
        m.u.identity.stream = true;
    }
    L->streaming = m.u.identity.stream;
    pthread_mutex_lock(&L->h.mu);
    L->h.stream = L->streaming;
    pthread_mutex_unlock(&L->h.mu);
    if (rc == 0) rc = send_msg(&L->tr, &m, err);
    swan_msg_free(&m);
    return rc;
}

/* A CHUNK (header already received as msg) goes on to the compute thread with its
 * bytes frame, tagged with the connection it came on; nothing is copied. */
static int forward_chunk(loop *L, zmq_msg_t *msg, bool more, swan_error *err) {
    zmq_msg_t body;
    zmq_msg_init(&body);
    bool ok = more && zmq_msg_recv(&body, L->tr.sock, ZMQ_DONTWAIT) >= 0 && !zmq_msg_more(&body);
    while (zmq_msg_more(&body)) { /* drain the frames of a malformed message */
        zmq_msg_close(&body);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, L->tr.sock, ZMQ_DONTWAIT) < 0) break;
    }
    if (!ok) {
        zmq_msg_close(&body);
        return swan_error_set(err, "the coordinator sent a malformed message: a chunk without exactly one bytes frame");
    }
    if (!L->streaming) {
        zmq_msg_close(&body);
        return swan_error_set(err, "the coordinator sent an unexpected 'chunk' message");
    }
    uint32_t gen = atomic_load(&L->h.gen);
    int rc = zmq_send(L->stream_main, &gen, sizeof gen, ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_msg_send(msg, L->stream_main, ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_msg_send(&body, L->stream_main, 0);
    zmq_msg_close(&body);
    return rc < 0 ? swan_error_set(err, "cannot pass a chunk on: %s", zmq_strerror(errno)) : 0;
}

/* FETCHes from the compute thread go to the coordinator as they are. */
static int forward_fetches(loop *L, swan_error *err) {
    for (;;) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, L->stream_main, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f);
            return 0;
        }
        int rc = swan_transport_client_send(&L->tr, zmq_msg_data(&f), zmq_msg_size(&f), err);
        zmq_msg_close(&f);
        if (rc) return rc;
    }
}

/* Handles one message from the coordinator. Returns 1 on SHUTDOWN, -2 when the
 * coordinator refused this worker (err says why), -1 with err set when the
 * coordinator says something this worker cannot follow (a malformed or unexpected
 * message: a version mismatch or a bug, better told than ignored). */
static int on_coordinator_message(loop *L, swan_error *err) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, L->tr.sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return 0;
    }
    swan_msg m;
    bool more = zmq_msg_more(&msg);
    int rc = swan_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m, err);
    if (rc == 0 && m.type == SWAN_MSG_CHUNK) {
        rc = forward_chunk(L, &msg, more, err);
        zmq_msg_close(&msg);
        return rc;
    }
    zmq_msg_close(&msg);
    if (rc == 0 && more) {
        swan_msg_free(&m);
        while (more) { /* drop the extra frames */
            zmq_msg_init(&msg);
            more = zmq_msg_recv(&msg, L->tr.sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
        return swan_error_set(err, "the coordinator sent a malformed message: a '%s' with extra frames",
                              swan_msg_type_name(m.type));
    }
    if (rc) {
        char why[SWAN_ERROR_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return swan_error_set(err, "the coordinator sent a malformed message: %.400s", why);
    }
    if (m.type == SWAN_MSG_SHUTDOWN) {
        swan_msg_free(&m);
        return 1;
    }
    if (m.type == SWAN_MSG_REFUSED) {
        swan_error_set(err, "%s", m.u.refused.reason);
        swan_msg_free(&m);
        return -2;
    }
    if (m.type == SWAN_MSG_CHALLENGE) {
        rc = on_challenge(L, &m.u.challenge, err);
        swan_msg_free(&m);
        return rc;
    }
    if (m.type == SWAN_MSG_QACK) { /* one QCHUNK written: a credit back */
        swan_msg_free(&m);
        pthread_mutex_lock(&L->h.mu);
        if (L->h.qinflight > L->h.qcount) L->h.qinflight--;
        pthread_cond_broadcast(&L->h.cv);
        pthread_mutex_unlock(&L->h.mu);
        return 0;
    }
    if (m.type != SWAN_MSG_TASK || L->outstanding >= QUEUE_CAP) {
        swan_error_set(err, "the coordinator sent an unexpected '%s' message%s",
                       swan_msg_type_name(m.type),
                       m.type == SWAN_MSG_TASK ? " (more tasks ahead than a worker queues)" : "");
        swan_msg_free(&m);
        return -1;
    }
    for (uint32_t i = 0; i < m.u.task.nitems && !L->streaming; i++) {
        swan_task_item *it = &m.u.task.items[i];
        if (resolve(L, &m, &it->path, err) ||
            (it->scale_path && resolve(L, &m, &it->scale_path, err))) {
            swan_msg_free(&m);
            return -1;
        }
    }
    pthread_mutex_lock(&L->h.mu);
    fifo_push(&L->h.tasks, &m); /* ownership moves to the compute thread */
    L->outstanding++;
    pthread_cond_signal(&L->h.cv);
    pthread_mutex_unlock(&L->h.mu);
    return 0;
}

/* One finished task's RESULT (consumed), unless it belongs to a connection gone. */
static int send_result(loop *L, swan_msg *result, swan_error *err) {
    L->outstanding--;
    if (L->stale) { /* computed for a coordinator connection that is gone */
        L->stale--;
        swan_msg_free(result);
        return 0;
    }
    int rc = send_msg(&L->tr, result, err);
    swan_msg_free(result);
    return rc;
}

/* Sends the QCHUNKs the compute thread queued (those of an old connection are
 * dropped: their credit was reset with it). */
static int send_qchunks(loop *L, qchunk_out *q, size_t n, swan_error *err) {
    int rc = 0;
    uint32_t gen = atomic_load(&L->h.gen);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && q[i].gen == gen) rc = swan_transport_client_send(&L->tr, q[i].buf, q[i].len, err);
        free(q[i].buf);
    }
    return rc;
}

/* What the compute thread finished: results, then QCHUNKs. Both queues are emptied
 * in one critical section and sent in that order: the compute thread queues a RESULT
 * only when its task's chunks have left the queue, so the chunks still queued are
 * of later tasks, and a RESULT never overtakes its own chunks nor follows the next
 * task's. */
static int on_compute_done(loop *L, swan_error *err) {
    char b[64];
    while (read(L->pipefd[0], b, sizeof b) > 0) {
    }
    for (;;) {
        swan_msg results[QUEUE_CAP];
        qchunk_out q[SWAN_QCHUNK_WINDOW];
        size_t nr = 0, nq = 0;
        pthread_mutex_lock(&L->h.mu);
        while (nr < QUEUE_CAP && fifo_pop(&L->h.results, &results[nr])) nr++;
        while (L->h.qcount) {
            q[nq++] = L->h.qout[L->h.qhead];
            L->h.qhead = (L->h.qhead + 1) % SWAN_QCHUNK_WINDOW;
            L->h.qcount--;
        }
        if (nq) pthread_cond_broadcast(&L->h.cv); /* a RESULT may be waiting for them */
        pthread_mutex_unlock(&L->h.mu);
        int rc = 0;
        for (size_t i = 0; i < nr; i++) {
            if (rc == 0) rc = send_result(L, &results[i], err);
            else swan_msg_free(&results[i]);
        }
        int qrc = send_qchunks(L, q, nq, err); /* frees them whatever happens */
        if (rc == 0) rc = qrc;
        if (rc) return rc;
        if (nr == 0 && nq == 0) return 0;
    }
}


static int loop_open(loop *L, swan_error *err) {
    if (pipe(L->pipefd) != 0) return swan_error_set(err, "pipe: %s", strerror(errno));
    fcntl(L->pipefd[0], F_SETFL, fcntl(L->pipefd[0], F_GETFL) | O_NONBLOCK);
    L->h.wake_fd = L->pipefd[1];
    L->h.o = L->o;
    atomic_init(&L->h.cancel, false);
    atomic_init(&L->h.gen, 0);
    pthread_mutex_init(&L->h.mu, NULL);
    pthread_cond_init(&L->h.cv, NULL);
    /* Every (re)connection is a new conversation that starts with HELLO: a worker on
     * another host outlives a coordinator that is stopped and started again (the
     * resume of an interrupted job) and joins the new one by itself. */
    swan_transport_client_opts co = {.endpoint = L->o->endpoint,
                                     .curve = L->o->curve,
                                     .server_public_z85 = L->o->server_key,
                                     .routing_id = L->o->identity,
                                     .watch_connections = true};
    if (swan_transport_client_open(&L->tr, &co, err)) return -1;
    /* The stream link: an inproc pair in the transport's context (worker_stream.h). */
    char name[64];
    snprintf(name, sizeof name, "inproc://swan-stream-%p", (void *)L);
    L->stream_main = zmq_socket(L->tr.ctx, ZMQ_PAIR);
    L->h.stream_sock = zmq_socket(L->tr.ctx, ZMQ_PAIR);
    if (!L->stream_main || !L->h.stream_sock || zmq_bind(L->stream_main, name) != 0 ||
        zmq_connect(L->h.stream_sock, name) != 0)
        return swan_error_set(err, "cannot set up the stream link: %s", zmq_strerror(errno));
    int zero = 0;
    zmq_setsockopt(L->stream_main, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(L->h.stream_sock, ZMQ_LINGER, &zero, sizeof zero);
    if (pthread_create(&L->thread, NULL, compute_thread, &L->h) != 0)
        return swan_error_set(err, "cannot start the compute thread");
    L->thread_started = true; /* the thread owns h.stream_sock from here on */
    return 0;
}

/* A (re)connection: forget the work of the previous connection (its coordinator
 * re-queued it) and say HELLO. */
static int on_connected(loop *L, swan_error *err) {
    pthread_mutex_lock(&L->h.mu);
    atomic_fetch_add(&L->h.gen, 1); /* voids every stream request and QCHUNK of the old connection */
    while (L->h.qcount) { /* QCHUNKs of the old connection: never sent, credit reset */
        free(L->h.qout[L->h.qhead].buf);
        L->h.qhead = (L->h.qhead + 1) % SWAN_QCHUNK_WINDOW;
        L->h.qcount--;
    }
    L->h.qinflight = 0;
    pthread_cond_broadcast(&L->h.cv); /* a compute thread waiting for credit gives up */
    swan_msg m;
    while (fifo_pop(&L->h.tasks, &m)) { /* queued, not started: drop */
        swan_msg_free(&m);
        L->outstanding--;
    }
    L->stale = L->outstanding; /* the one computing (and any results not yet sent) */
    pthread_mutex_unlock(&L->h.mu);
    L->said_hello = true;
    return send_hello(&L->tr, L->o->threads, err);
}

static void loop_close(loop *L) {
    if (L->thread_started) {
        pthread_mutex_lock(&L->h.mu);
        L->h.quit = true;
        atomic_store(&L->h.cancel, true);
        pthread_cond_broadcast(&L->h.cv);
        pthread_mutex_unlock(&L->h.mu);
        /* Always joined: the thread uses L->h (on our caller's stack) and may be inside
         * BLAS, and returning from main while it runs would tear the BLAS library down
         * under it (atexit handlers). The cancel flag ends it at its next tile. */
        pthread_join(L->thread, NULL);
        swan_msg m;
        while (fifo_pop(&L->h.tasks, &m)) swan_msg_free(&m);
        while (fifo_pop(&L->h.results, &m)) swan_msg_free(&m);
        for (; L->h.qcount; L->h.qcount--, L->h.qhead = (L->h.qhead + 1) % SWAN_QCHUNK_WINDOW)
            free(L->h.qout[L->h.qhead].buf);
    } else if (L->h.stream_sock) {
        zmq_close(L->h.stream_sock); /* the thread never started: still ours */
    }
    if (L->stream_main) zmq_close(L->stream_main);
    swan_transport_close(&L->tr);
    if (L->pipefd[0] > 0) close(L->pipefd[0]);
    if (L->pipefd[1] > 0) close(L->pipefd[1]);
}

int swan_worker_run(const swan_worker_opts *o, volatile sig_atomic_t *stop, swan_error *err) {
#ifdef SWAN_HAVE_OPENBLAS_SET_THREADS
    openblas_set_num_threads(o->threads > 0 ? o->threads : 1);
#endif
    loop L;
    memset(&L, 0, sizeof L);
    L.o = o;
    int rc = loop_open(&L, err);
    /* Without connection events (monitor unavailable), say HELLO once up front. */
    if (rc == 0 && !L.tr.monitor) {
        rc = send_hello(&L.tr, o->threads, err);
        L.said_hello = true;
    }
    double last_beat = swan_now_s();
    while (rc == 0) {
        if (stop && *stop) {
            /* Leave at once: what is still queued for the coordinator (a heartbeat,
             * a result it will re-queue anyway) is not worth lingering for. */
            swan_transport_set_linger(&L.tr, 0);
            rc = swan_error_set(err, "stopped by a signal");
            break;
        }
        if (o->parent > 0 && getppid() != o->parent) {
            rc = swan_error_set(err, "the coordinator process went away; exiting");
            break;
        }
        zmq_pollitem_t extra[2] = {{.socket = NULL, .fd = L.pipefd[0], .events = ZMQ_POLLIN},
                                   {.socket = L.stream_main, .events = ZMQ_POLLIN}};
        zmq_pollitem_t *done = &extra[0];
        bool connected = false;
        int readable = swan_transport_poll(&L.tr, extra, 2, 250, &connected, err);
        if (readable < 0) {
            rc = -1;
            break;
        }
        if (L.tr.auth_failures) {
            /* The coordinator's ZAP handler refused our key: retrying cannot help
             * until someone adds it to --allow, so say so and stop. */
            rc = swan_error_set(err, "the coordinator refused this worker's key (add this host's .pub "
                                     "to the coordinator's --allow)");
            break;
        }
        if (connected) rc = on_connected(&L, err);
        if (rc == 0 && (done->revents & ZMQ_POLLIN)) rc = on_compute_done(&L, err);
        if (rc == 0 && (extra[1].revents & ZMQ_POLLIN)) rc = forward_fetches(&L, err);
        if (rc == 0 && readable) {
            int r = on_coordinator_message(&L, err);
            if (r == 1) break; /* SHUTDOWN */
            if (r == -2) {
                rc = -2; /* refused: its model copy differs; working on cannot help */
                break;
            }
        }
        double t = swan_now_s();
        /* Busy: every second. Idle: every SWAN_IDLE_HEARTBEAT_S, so that the coordinator
         * notices an idle host that vanished (it drops idle workers silent for 3 of those). */
        if (rc == 0 && L.said_hello &&
            t - last_beat >= (L.outstanding ? o->heartbeat : SWAN_IDLE_HEARTBEAT_S)) {
            pthread_mutex_lock(&L.h.mu);
            uint64_t computing = L.h.computing;
            pthread_mutex_unlock(&L.h.mu);
            swan_msg hb = {.type = SWAN_MSG_HEARTBEAT};
            hb.u.heartbeat.task_id = computing;
            rc = send_msg(&L.tr, &hb, err);
            last_beat = t;
        }
    }
    loop_close(&L);
    return rc;
}
