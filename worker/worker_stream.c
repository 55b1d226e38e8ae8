/* worker_stream.c: the stream byte source (see worker_stream.h).
 *
 * A read (a view or a gather) is a list of runs; the runs are cut into requests of at
 * most `chunk` bytes that are sent while the window has room, and each CHUNK that
 * comes back is checked against the oldest pending request and copied to where that
 * request's bytes belong. Only the caller's destination (a tile's bytes) and the
 * window ever hold data, so memory stays bounded whatever the tensor size. */
#include "worker/worker_stream.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

typedef unsigned long long ull;

void swan_stream_source_init(swan_stream_source *ss, const swan_stream_link *link, uint64_t window,
                             const atomic_bool *cancel) {
    memset(ss, 0, sizeof *ss);
    ss->link = *link;
    if (window < SWAN_STREAM_MIN_WINDOW) window = SWAN_STREAM_MIN_WINDOW;
    ss->window = window;
    ss->chunk = (uint32_t)(window / 4 < SWAN_STREAM_CHUNK_MAX ? window / 4 : SWAN_STREAM_CHUNK_MAX);
    ss->stall_s = 30.0;
    ss->cancel = cancel;
    ss->gen = link->generation(link->ctx);
}

void swan_stream_source_free(swan_stream_source *ss) {
    free(ss->buf);
    free(ss->ahead.buf);
    ss->buf = ss->ahead.buf = NULL;
    ss->cap = ss->ahead.cap = 0;
}

/* Forgets the read-ahead: its pending requests become void. */
static void ahead_drop(swan_stream_source *ss) {
    for (size_t k = 0; k < ss->count; k++) {
        swan_stream_req *r = &ss->pending[(ss->head + k) % SWAN_STREAM_MAX_PENDING];
        if (r->ahead) r->dst = NULL, r->ahead = false;
    }
    ss->ahead.active = false;
}

/* A new connection voids everything asked on the old one: it will never answer. */
static bool connection_changed(swan_stream_source *ss) {
    uint32_t g = ss->link.generation(ss->link.ctx);
    if (g == ss->gen) return false;
    ss->gen = g;
    ss->count = ss->head = 0;
    ss->inflight = 0;
    ss->ahead.active = false;
    return true;
}

void swan_stream_source_begin(swan_stream_source *ss, uint64_t task_id, uint32_t tensor_id,
                              uint64_t data_bytes, uint64_t scale_bytes) {
    (void)connection_changed(ss);
    ahead_drop(ss);
    ss->task_id = task_id;
    ss->tensor_id = tensor_id;
    ss->part_size[SWAN_SRC_DATA] = data_bytes;
    ss->part_size[SWAN_SRC_SCALES] = scale_bytes;
}

/* A read that gives up leaves its pending requests void: their chunks are dropped
 * when they come. */
static void void_pending(swan_stream_source *ss) {
    for (size_t k = 0; k < ss->count; k++) {
        ss->pending[(ss->head + k) % SWAN_STREAM_MAX_PENDING].dst = NULL;
        ss->pending[(ss->head + k) % SWAN_STREAM_MAX_PENDING].ahead = false;
    }
    ss->ahead.active = false;
}

static bool same_chunk(const swan_msg_chunk *a, const swan_msg_chunk *b) {
    return a->task_id == b->task_id && a->tensor_id == b->tensor_id && a->part == b->part &&
           a->offset == b->offset && a->nbytes == b->nbytes;
}

/* Takes one arriving chunk. It must answer one pending request exactly (same task,
 * tensor, part, offset and size): a chunk that answers none is refused and changes
 * nothing; one whose bytes frame is not the announced size is refused and uses up its
 * request. The coordinator answers in order, so that is nearly always the oldest.
 * *delivered: bytes that went to the current read. */
static int take_chunk(swan_stream_source *ss, const swan_msg_chunk *h, const void *data, size_t len,
                      uint64_t *delivered, swan_error *err) {
    swan_stream_req *r = NULL;
    for (size_t k = 0; k < ss->count && !r; k++) {
        swan_stream_req *p = &ss->pending[(ss->head + k) % SWAN_STREAM_MAX_PENDING];
        if (!p->answered && same_chunk(h, &p->c)) r = p;
    }
    if (!r)
        return swan_error_set(err, "the coordinator sent a chunk that answers no request (task %" PRIu64
                                   ", tensor %" PRIu32 ", part %" PRIu32 ", bytes %" PRIu64 "+%" PRIu32 ")",
                              h->task_id, h->tensor_id, h->part, h->offset, h->nbytes);
    r->answered = true;
    ss->inflight -= h->nbytes;
    while (ss->count && ss->pending[ss->head].answered) {
        ss->head = (ss->head + 1) % SWAN_STREAM_MAX_PENDING;
        ss->count--;
    }
    if (len != h->nbytes)
        return swan_error_set(err, "the coordinator sent a chunk announcing %" PRIu32 " bytes that "
                                   "carries %zu", h->nbytes, len);
    if (r->dst) {
        memcpy(r->dst, data, len);
        if (r->ahead) ss->ahead.got += len;
        else *delivered += len;
    }
    ss->bytes_in += len;
    ss->chunks_in++;
    return 0;
}

/* Waits for one chunk (polling the cancel flag and the connection). */
static int wait_chunk(swan_stream_source *ss, uint64_t *delivered, double *last, swan_error *err) {
    swan_msg_chunk h;
    const void *data;
    size_t len;
    int r = ss->link.recv_chunk(ss->link.ctx, 100, &h, &data, &len, err);
    if (r < 0) return -1;
    if (connection_changed(ss))
        return swan_error_set(err, "the connection to the coordinator was reset while streaming");
    if (r == 1) {
        *last = swan_now_s();
        return take_chunk(ss, &h, data, len, delivered, err);
    }
    if (ss->cancel && atomic_load(ss->cancel)) return swan_error_set(err, "cancelled");
    if (swan_now_s() - *last > ss->stall_s)
        return swan_error_set(err, "streaming stalled: no chunk from the coordinator for %.0f s",
                              ss->stall_s);
    return 0;
}

/* Sends one FETCH for n bytes at off of part, landing at dst. */
static int ask(swan_stream_source *ss, int part, uint64_t off, uint64_t n, unsigned char *dst,
               bool ahead, swan_error *err) {
    swan_stream_req *r = &ss->pending[(ss->head + ss->count) % SWAN_STREAM_MAX_PENDING];
    r->c = (swan_msg_chunk){.task_id = ss->task_id, .tensor_id = ss->tensor_id,
                            .part = (uint32_t)part, .offset = off, .nbytes = (uint32_t)n};
    r->dst = dst;
    r->answered = false;
    r->ahead = ahead;
    if (ss->link.send_fetch(ss->link.ctx, &r->c, err)) return -1;
    ss->count++;
    ss->inflight += n;
    ss->fetches_out++;
    if (ss->inflight > ss->max_inflight) ss->max_inflight = ss->inflight;
    return 0;
}

/* Asks for more of the read-ahead range while the window has room. */
static int ahead_top_up(swan_stream_source *ss, swan_error *err) {
    while (ss->ahead.active && ss->ahead.issued < ss->ahead.len && ss->count < SWAN_STREAM_MAX_PENDING) {
        uint64_t left = ss->ahead.len - ss->ahead.issued;
        uint64_t n = left < ss->chunk ? left : ss->chunk;
        if (ss->count > 0 && ss->inflight + n > ss->window) break;
        if (ask(ss, ss->ahead.part, ss->ahead.off + ss->ahead.issued, n, ss->ahead.buf + ss->ahead.issued,
                true, err))
            return -1;
        ss->ahead.issued += n;
    }
    return 0;
}

static int stream_gather(void *ctx, int part, uint64_t off, uint64_t run_bytes, uint64_t stride,
                         uint64_t nrows, unsigned char *dst, swan_error *err) {
    swan_stream_source *ss = ctx;
    if (part != SWAN_SRC_DATA && part != SWAN_SRC_SCALES)
        return swan_error_set(err, "stream: no part %d", part);
    uint64_t size = ss->part_size[part];
    if (nrows == 0 || run_bytes == 0) return 0;
    /* The last run must end inside the part (overflow-safe). */
    if (stride && nrows - 1 > (UINT64_MAX - run_bytes) / stride) return swan_error_set(err, "stream: read too large");
    uint64_t last_end = (nrows - 1) * stride + run_bytes;
    if (off > size || last_end > size - off)
        return swan_error_set(err, "stream: bytes [%llu, %llu) of part %d lie outside its %llu bytes",
                              (ull)off, (ull)(off + last_end), part, (ull)size);
    if (connection_changed(ss))
        return swan_error_set(err, "the connection to the coordinator was reset while streaming");
    uint64_t want = nrows * run_bytes, got = 0, row = 0, pos = 0;
    double last = swan_now_s();
    while (got < want) {
        /* Ask while the window has room (always at least one request in flight). */
        while (row < nrows && ss->count < SWAN_STREAM_MAX_PENDING) {
            uint64_t n = run_bytes - pos < ss->chunk ? run_bytes - pos : ss->chunk;
            if (ss->count > 0 && ss->inflight + n > ss->window) break;
            if (ask(ss, part, off + row * stride + pos, n, dst + row * run_bytes + pos, false, err)) {
                void_pending(ss);
                return -1;
            }
            pos += n;
            if (pos == run_bytes) pos = 0, row++;
        }
        if ((row == nrows && ahead_top_up(ss, err)) || wait_chunk(ss, &got, &last, err)) {
            void_pending(ss);
            return -1;
        }
    }
    return 0;
}

/* Waits until the read-ahead range has fully arrived. */
static int ahead_finish(swan_stream_source *ss, swan_error *err) {
    double last = swan_now_s();
    uint64_t unused = 0;
    while (ss->ahead.got < ss->ahead.len) {
        if (ahead_top_up(ss, err) || wait_chunk(ss, &unused, &last, err)) {
            void_pending(ss);
            return -1;
        }
    }
    return 0;
}

static int grow(unsigned char **buf, size_t *cap, uint64_t len, swan_error *err) {
    if (len <= *cap) return 0;
    if (len > SIZE_MAX) return swan_error_set(err, "stream: view too large");
    unsigned char *nb = realloc(*buf, (size_t)len);
    if (!nb) return swan_error_set(err, "stream: out of memory for %llu bytes", (ull)len);
    *buf = nb;
    *cap = (size_t)len;
    return 0;
}

static int stream_view(void *ctx, int part, uint64_t off, uint64_t len, const unsigned char **at,
                       swan_error *err) {
    swan_stream_source *ss = ctx;
    if (connection_changed(ss))
        return swan_error_set(err, "the connection to the coordinator was reset while streaming");
    if (ss->ahead.active && ss->ahead.part == part && ss->ahead.off == off && ss->ahead.len == len) {
        /* The read-ahead guessed right: its buffer becomes the view. */
        if (ahead_finish(ss, err)) return -1;
        unsigned char *b = ss->buf;
        size_t c = ss->cap;
        ss->buf = ss->ahead.buf, ss->cap = ss->ahead.cap;
        ss->ahead.buf = b, ss->ahead.cap = c;
        ss->ahead.active = false;
        ss->ahead_hits++;
    } else {
        ahead_drop(ss);
        if (grow(&ss->buf, &ss->cap, len, err) || stream_gather(ss, part, off, len, len, 1, ss->buf, err))
            return -1;
    }
    *at = ss->buf;
    /* Read the next range of the same size ahead, if the part has it. */
    uint64_t next = off + len, size = ss->part_size[part];
    if (next < size && len > 0) {
        uint64_t n = size - next < len ? size - next : len;
        if (grow(&ss->ahead.buf, &ss->ahead.cap, n, err) == 0) {
            ss->ahead.active = true;
            ss->ahead.part = part;
            ss->ahead.off = next;
            ss->ahead.len = n;
            ss->ahead.issued = ss->ahead.got = 0;
            if (ahead_top_up(ss, err)) {
                void_pending(ss);
                return -1;
            }
        }
    }
    return 0;
}

static void stream_release(void *ctx) {
    (void)ctx; /* the buffer is reused by the next view */
}

void swan_stream_source_as_bytes(swan_stream_source *ss, swan_byte_source *src) {
    src->view = stream_view;
    src->release = stream_release;
    src->gather = stream_gather;
    src->ctx = ss;
}
