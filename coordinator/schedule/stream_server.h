/* stream_server.h: the coordinator's side of streaming (workers without the model).
 *
 * A streaming worker (IDENTITY with stream: true) asks for the bytes of the items of
 * the tasks it holds with FETCH; the scheduler checks that the task and tensor are
 * that worker's, and this module checks the range against the tensor (or its FP8
 * scale grid) and sends the CHUNK: the header, then the bytes straight from a
 * read-only mapping of the shard (zmq_msg_init_data, no copy). Each shard is mapped
 * once, at its first FETCH; every queued chunk holds a reference on the mapping, so
 * it is unmapped only when the server is freed AND the last chunk sent from it has
 * left ZeroMQ (sent or dropped with its connection), whichever comes last.
 *
 * Credit is counted on this side too: each streaming worker has a swan_stream_credit,
 * the number of its chunks ZeroMQ still holds. An honest worker never has more than
 * SWAN_STREAM_MAX_FETCHES unanswered, so a FETCH beyond twice that (slack for chunks
 * ZeroMQ releases a little after the worker read them) is a hostile or broken worker
 * and is refused: what one worker can pin of the coordinator's memory is bounded.
 *
 * A shard that changes while it is streamed fails the run (SWAN_SERVE_MODEL_CHANGED):
 * its size and time are checked before each chunk, and a truncation that slips in
 * between the check and ZeroMQ's read is caught by map_guard.h instead of a SIGBUS.
 * docs/protocol.md, "Streaming". */
#ifndef SWAN_STREAM_SERVER_H
#define SWAN_STREAM_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "proto/messages.h"
#include "proto/transport.h"

typedef struct swan_shard_map swan_shard_map; /* one mapped shard (refcounted) */
typedef struct swan_stream_credit swan_stream_credit; /* one worker's queued chunks */

/* What swan_stream_serve did. */
enum {
    SWAN_SERVE_OK = 0,            /* the CHUNK was queued                                  */
    SWAN_SERVE_REFUSED = 1,       /* the worker's request is wrong (why says how)          */
    SWAN_SERVE_FAILED = -1,       /* this chunk cannot be sent (err): drop that worker      */
    SWAN_SERVE_MODEL_CHANGED = -2 /* the shard changed since it was opened (err): the run must stop */
};

typedef struct swan_stream_server {
    const swan_checkpoint *ck;
    swan_shard_map **maps;      /* per shard, NULL until its first FETCH */
    uint64_t chunks_sent, bytes_sent;
} swan_stream_server;

int swan_stream_server_init(swan_stream_server *srv, const swan_checkpoint *ck, swan_error *err);

/* Drops the server's references; mappings with chunks still queued in ZeroMQ live
 * until those are gone. */
void swan_stream_server_free(swan_stream_server *srv);

/* The byte range of part `part` of tensor `tensor` (an item of a task the requesting
 * worker holds, checked by the caller): 0 and the shard and absolute offset and size,
 * or 1 with why set when the tensor has no such part. */
int swan_stream_part_range(const swan_checkpoint *ck, uint32_t tensor, uint32_t part,
                           uint32_t *shard, uint64_t *offset, uint64_t *size, char *why,
                           size_t whysize);

/* A worker's credit counter (starts at zero chunks queued); NULL when out of memory. */
swan_stream_credit *swan_stream_credit_new(void);

/* The worker's side lets go (it left or was dropped); chunks still queued keep the
 * counter alive until ZeroMQ releases them. NULL is accepted. */
void swan_stream_credit_release(swan_stream_credit *c);

/* Answers a FETCH for tensor `req->tensor_id` from the worker whose counter is
 * `credit`: SWAN_SERVE_OK when the CHUNK was queued; SWAN_SERVE_REFUSED with why set
 * when the request is refused (a part the tensor lacks, bytes outside it, more chunks
 * unanswered than the protocol allows); SWAN_SERVE_FAILED with err set when the chunk
 * cannot be sent (our shard cannot be mapped, the worker's queue is full or it is
 * gone); SWAN_SERVE_MODEL_CHANGED with err naming the shard when it changed. */
int swan_stream_serve(swan_stream_server *srv, swan_transport *tr, swan_stream_credit *credit,
                      const unsigned char *id, size_t idlen, const swan_msg_chunk *req, char *why,
                      size_t whysize, swan_error *err);

/* 1 with err naming the shard when a streamed shard shrank under its mapping (a
 * chunk may have carried zeros instead of its bytes): no result computed from a
 * streamed chunk may be accepted after this. 0 otherwise. */
int swan_stream_server_damaged(const swan_stream_server *srv, swan_error *err);

#endif
