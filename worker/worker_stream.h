/* worker_stream.h: the byte source of a worker without the model (--stream).
 *
 * The tensor reader (tensor_reader.c) asks its byte source for views and gathers of
 * a task item's bytes; this source gets them from the coordinator: it cuts each
 * request into FETCH messages of at most `chunk` bytes, keeps at most `window` bytes
 * asked for and not yet received (credit-based flow control, docs/protocol.md
 * "Streaming"), and copies each CHUNK into place as it arrives. It never sees a
 * socket: the link below carries the messages (worker_loop.c implements it over an
 * inproc pair to the thread that owns the socket; the unit test over an array).
 * A CHUNK must answer a pending request exactly (same task, tensor, part, offset,
 * size, and a bytes frame of that size); anything else fails the read. Requests of a
 * read that failed stay counted until their chunks arrive and are then dropped, so
 * they can neither be mistaken for a later read's data nor overrun the window. Views
 * read ahead (see `ahead` below). */
#ifndef SWAN_WORKER_STREAM_H
#define SWAN_WORKER_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "proto/messages.h"
#include "worker/byte_source.h"

typedef struct swan_stream_link {
    /* Sends one FETCH. */
    int (*send_fetch)(void *ctx, const swan_msg_chunk *req, swan_error *err);
    /* Waits up to timeout_ms for the next CHUNK of the current connection. Returns 1
     * with *hdr and its bytes (*data, *len: valid until the next call), 0 when none
     * came, -1 with err set when what came is not a well-formed CHUNK. */
    int (*recv_chunk)(void *ctx, long timeout_ms, swan_msg_chunk *hdr, const void **data,
                      size_t *len, swan_error *err);
    /* Connection number: changes when the worker reconnects, which voids every
     * request sent before (that coordinator connection is gone). */
    uint32_t (*generation)(void *ctx);
    void *ctx;
} swan_stream_link;

#define SWAN_STREAM_MAX_PENDING SWAN_STREAM_MAX_FETCHES /* FETCHes outstanding at most (the protocol's bound) */
#define SWAN_STREAM_DEFAULT_WINDOW (8u << 20) /* bytes in flight per worker           */
#define SWAN_STREAM_MIN_WINDOW 4096

typedef struct swan_stream_req {
    swan_msg_chunk c;       /* what was asked                                       */
    unsigned char *dst;     /* where its bytes go; NULL: void (its read gave up)     */
    bool answered;          /* its chunk came (it leaves the ring once all before it did) */
    bool ahead;             /* for the read-ahead buffer, not the current read        */
} swan_stream_req;

typedef struct swan_stream_source {
    swan_stream_link link;
    uint64_t window;        /* bytes asked and not yet received, at most            */
    uint32_t chunk;         /* bytes per FETCH: min(window / 4, SWAN_STREAM_CHUNK_MAX) */
    double stall_s;         /* a read fails after this long without any chunk (30 s) */
    const atomic_bool *cancel; /* checked while waiting (may be NULL)               */
    uint64_t task_id;       /* the item being read (swan_stream_source_begin)       */
    uint32_t tensor_id;
    uint64_t part_size[2];  /* bytes of the data and scales parts                   */
    uint32_t gen;           /* connection the pending requests were sent on         */
    swan_stream_req pending[SWAN_STREAM_MAX_PENDING]; /* ring, oldest at head         */
    size_t head, count;
    uint64_t inflight;      /* bytes of the pending requests                        */
    unsigned char *buf;     /* a view's bytes, assembled (reused across views)      */
    size_t cap;
    /* Read-ahead: after a view of [off, off+len) the next len bytes of the part are
     * asked for too (row blocks are read in order), into a second buffer, so that the
     * transfer overlaps the kernels' work on the current tile. A view of anything else
     * voids it. Memory: two tiles plus the window. */
    struct {
        bool active;
        int part;
        uint64_t off, len;  /* the range being read ahead                         */
        uint64_t issued;    /* bytes of it asked for so far                       */
        uint64_t got;       /* bytes of it received                               */
        unsigned char *buf;
        size_t cap;
    } ahead;
    /* Counters (tests, bench): bytes and chunks taken, the most bytes in flight. */
    uint64_t bytes_in, chunks_in, fetches_out, max_inflight;
    uint64_t ahead_hits;    /* views served from the read-ahead                     */
} swan_stream_source;

/* window: bytes in flight at most (>= SWAN_STREAM_MIN_WINDOW). */
void swan_stream_source_init(swan_stream_source *ss, const swan_stream_link *link, uint64_t window,
                             const atomic_bool *cancel);
void swan_stream_source_free(swan_stream_source *ss);

/* The next reads are of this task item: data_bytes of tensor data, scale_bytes of
 * scales (0 without). */
void swan_stream_source_begin(swan_stream_source *ss, uint64_t task_id, uint32_t tensor_id,
                              uint64_t data_bytes, uint64_t scale_bytes);

/* Fills *src with a byte source reading through ss (ss must stay in place). */
void swan_stream_source_as_bytes(swan_stream_source *ss, swan_byte_source *src);

#endif
