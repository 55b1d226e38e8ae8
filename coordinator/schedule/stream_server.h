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

/* Answers a FETCH for tensor `req->tensor_id`: 0 when the CHUNK was queued; 1 with
 * why set when the request is refused (a part the tensor lacks, bytes outside it);
 * -1 with err set when the chunk cannot be sent (our shard cannot be mapped, the
 * worker's queue is full or it is gone). */
int swan_stream_serve(swan_stream_server *srv, swan_transport *tr, const unsigned char *id,
                      size_t idlen, const swan_msg_chunk *req, char *why, size_t whysize,
                      swan_error *err);

#endif
