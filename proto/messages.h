/* messages.h: every message between coordinator and workers, and its msgpack codec.
 *
 * Wire format (docs/protocol.md): one ZeroMQ frame per message holding one msgpack
 * map with string keys; "type" and "v" (protocol version) are always present.
 * Decoding is strict: a truncated buffer, a wrong type, a missing field, an
 * out-of-range value or an unknown message type is refused with a one-line reason,
 * because messages arrive from the network and may be hostile.
 *
 * Ownership, one rule for every string (and array) a message points to:
 *   - A message is a view: its string fields are `const char *` and nothing reached
 *     through them is freed field by field, by anyone.
 *   - What the message itself owns lives in its arena (`owned`), released all at once
 *     by swan_msg_free. The decoder puts every string and array it makes there, so a
 *     decoded message needs exactly one swan_msg_free.
 *   - Whoever builds an outgoing message may point its fields at memory of its own
 *     (a checkpoint's names, swan_dtype_name(), a stack buffer) that outlives the
 *     swan_msg_encode call, or copy into the message's arena with swan_msg_alloc /
 *     swan_msg_strdup when the message must carry its strings along (a worker's
 *     RESULT crosses threads). swan_msg_free on a message that borrowed everything
 *     frees nothing but its (empty) arena, so it is always safe to call.
 * Hence no `(char *)` cast ever takes the const off a string to put it in or out of
 * a message (docs/protocol.md, "Who owns a message's strings"). */
#ifndef SWAN_MESSAGES_H
#define SWAN_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/raw_metrics.h"
#include "common/view2d.h"
#include "proto/model_identity.h"

#define SWAN_PROTO_VERSION 6 /* 2: data_hash, FP8 scale fields; 3: RESULT raw gains mlx_nrmse;
                                 4: CHALLENGE/IDENTITY/REFUSED, relative shard names;
                                 5: IDENTITY stream flag, FETCH/CHUNK (tensor bytes streamed);
                                 6: TASK kind (quantize), RESULT qhash, QCHUNK/QACK */
#define SWAN_MSG_MAX_ITEMS 65536      /* items per TASK/RESULT                */
#define SWAN_MSG_MAX_STRING 4096      /* bytes in any string field            */
#define SWAN_STREAM_CHUNK_MAX (1u << 20) /* bytes one FETCH may ask for (one CHUNK) */
#define SWAN_STREAM_MAX_FETCHES 64    /* FETCHes a worker may have unanswered     */
#define SWAN_QCHUNK_MAX (1u << 20)    /* bytes of quantized output in one QCHUNK  */
#define SWAN_QCHUNK_WINDOW 4          /* QCHUNKs a worker may have unacknowledged */
#define SWAN_IDLE_HEARTBEAT_S 5.0     /* an idle worker's HEARTBEAT interval; the
                                         coordinator drops an idle remote worker
                                         silent for 3 of them                     */

typedef enum swan_msg_type {
    SWAN_MSG_HELLO = 1,     /* worker -> coordinator: I am here, give me work        */
    SWAN_MSG_TASK,          /* coordinator -> worker: analyze these tensors           */
    SWAN_MSG_RESULT,        /* worker -> coordinator: raw metrics of a whole task      */
    SWAN_MSG_HEARTBEAT,     /* worker -> coordinator: still alive (busy on task_id)    */
    SWAN_MSG_SHUTDOWN,      /* coordinator -> worker: exit now                         */
    SWAN_MSG_FATAL,         /* worker -> coordinator: I cannot work (reason), leaving  */
    SWAN_MSG_CHALLENGE,     /* coordinator -> worker: prove your model copy (nonce)    */
    SWAN_MSG_IDENTITY,      /* worker -> coordinator: my shards' identities            */
    SWAN_MSG_REFUSED,       /* coordinator -> worker: your copy differs (reason); leave */
    SWAN_MSG_FETCH,         /* streaming worker -> coordinator: send me these bytes    */
    SWAN_MSG_CHUNK,         /* coordinator -> streaming worker: the bytes (2nd frame)  */
    SWAN_MSG_QCHUNK,        /* worker -> coordinator: quantized output bytes           */
    SWAN_MSG_QACK           /* coordinator -> worker: one QCHUNK written (a credit)    */
} swan_msg_type;

typedef struct swan_msg_hello {
    uint32_t pid;
    uint32_t threads;       /* BLAS threads this worker uses        */
    const char *host;       /* hostname, informational              */
} swan_msg_hello;

/* What a TASK asks for (protocol 6). */
typedef enum swan_task_kind {
    SWAN_TASK_ANALYZE = 0,  /* raw metrics of each item (RESULT raw)                  */
    SWAN_TASK_QUANTIZE = 1  /* MLX affine quantization of each item: QCHUNKs of the
                               packed weight, scales and biases, then RESULT qhash   */
} swan_task_kind;

typedef struct swan_task_item {
    uint32_t tensor_id;     /* coordinator's index, echoed back     */
    const char *name;       /* tensor name (seeds the PRNG)         */
    const char *path;       /* shard path readable by the worker    */
    const char *dtype;      /* safetensors dtype name, e.g. "BF16"  */
    uint32_t ndim;
    uint64_t shape[SWAN_MAX_DIMS];
    uint64_t offset;        /* absolute byte offset in the shard    */
    uint64_t nbytes;
    /* FP8 weights only (scale_path NULL otherwise): where the scales are. Element
     * (r, c) of the [nelem/W, W] storage matrix (W = last dimension) is multiplied by
     * scale[r / block_rows][c / block_cols] of the scale_rows x scale_cols grid. */
    const char *scale_path; /* shard holding the scale tensor      */
    const char *scale_dtype; /* "F32" (or "BF16"/"F16")             */
    uint64_t scale_offset;  /* absolute byte offset of the scales   */
    uint64_t scale_rows, scale_cols;
    uint64_t block_rows, block_cols;
    /* Quantize tasks only: the width the coordinator chose and the dtype of the
     * scales and biases (BF16, F16 or F32). */
    uint32_t bits, group;
    const char *qdtype;
} swan_task_item;

typedef struct swan_msg_task {
    uint64_t task_id;
    uint64_t seed;          /* run seed                             */
    uint32_t kind;          /* swan_task_kind                       */
    uint32_t nitems;
    swan_task_item *items;
} swan_msg_task;

/* The three outputs of a quantized matrix, in QCHUNK part order. */
typedef enum swan_qpart { SWAN_QPART_WEIGHT = 0, SWAN_QPART_SCALES, SWAN_QPART_BIASES } swan_qpart;
#define SWAN_QPARTS 3

typedef struct swan_result_item {
    uint32_t tensor_id;
    int32_t ok;             /* 1: raw (or qhash) is valid; 0: error holds why */
    const char *error;      /* NULL when ok                         */
    bool quantized;         /* ok item of a quantize task: qhash, no raw */
    swan_raw_metrics raw;
    uint64_t qhash[SWAN_QPARTS]; /* XXH64 (seed 0) of each part's bytes */
} swan_result_item;

typedef struct swan_msg_result {
    uint64_t task_id;
    uint32_t nitems;
    swan_result_item *items;
} swan_msg_result;

typedef struct swan_msg_heartbeat {
    uint64_t task_id;       /* 0 when idle                          */
} swan_msg_heartbeat;

typedef struct swan_msg_fatal {
    const char *reason;
} swan_msg_fatal;

typedef struct swan_msg_challenge {
    uint64_t nonce;         /* picks the data samples (model_identity.h)  */
    const char *root;       /* the coordinator's model folder, used by a
                               worker without --model-dir                 */
    uint32_t nshards;
    const char *const *shards; /* shard names relative to the model folder */
} swan_msg_challenge;

typedef struct swan_msg_identity {
    bool stream;            /* the worker has no copy: it will FETCH bytes
                               (shards may then be empty)                 */
    uint32_t nshards;       /* one per challenged shard, in that order    */
    swan_shard_identity *shards;
} swan_msg_identity;

typedef struct swan_msg_refused {
    const char *reason;
} swan_msg_refused;

/* The memory a message owns: a chain of blocks (messages.c). */
typedef struct swan_msg_block swan_msg_block;

/* Which bytes of a task item a streaming worker asks for (FETCH) or gets (CHUNK). */
typedef enum swan_stream_part {
    SWAN_PART_DATA = 0,     /* the tensor's bytes: [offset, offset+nbytes) of the item */
    SWAN_PART_SCALES = 1    /* FP8: the scale grid's bytes                           */
} swan_stream_part;

/* FETCH and CHUNK carry the same fields. A FETCH grants the coordinator credit for
 * exactly those bytes; the CHUNK answering it is this header followed by a second
 * ZeroMQ frame of exactly nbytes bytes (docs/protocol.md, "Streaming"). offset is
 * relative to the start of the part. */
typedef struct swan_msg_chunk {
    uint64_t task_id;
    uint32_t tensor_id;
    uint32_t part;          /* swan_stream_part                      */
    uint64_t offset;
    uint32_t nbytes;        /* 1 .. SWAN_STREAM_CHUNK_MAX            */
} swan_msg_chunk;

/* QCHUNK: bytes [offset, offset+nbytes) of one part of one item's quantized output,
 * carried in the message itself (a msgpack bin). A worker sends each part's bytes in
 * order, and at most SWAN_QCHUNK_WINDOW QCHUNKs before the QACKs come back. */
typedef struct swan_msg_qchunk {
    uint64_t task_id;
    uint32_t tensor_id;
    uint32_t part;          /* swan_qpart                            */
    uint64_t offset;        /* within the part                       */
    uint32_t nbytes;        /* 1 .. SWAN_QCHUNK_MAX                  */
    const unsigned char *data; /* nbytes bytes (arena, or borrowed when encoding) */
} swan_msg_qchunk;

typedef struct swan_msg_qack {
    uint64_t task_id;       /* the task of the QCHUNK acknowledged   */
} swan_msg_qack;

typedef struct swan_msg {
    swan_msg_type type;
    swan_msg_block *owned;  /* arena: NULL until something is allocated in it */
    union {
        swan_msg_hello hello;
        swan_msg_task task;
        swan_msg_result result;
        swan_msg_heartbeat heartbeat;
        swan_msg_fatal fatal;
        swan_msg_challenge challenge;
        swan_msg_identity identity;
        swan_msg_refused refused;
        swan_msg_chunk chunk;   /* FETCH and CHUNK */
        swan_msg_qchunk qchunk;
        swan_msg_qack qack;
    } u;
} swan_msg;

/* Encodes msg into a malloc'd buffer (*buf, *len); the caller frees *buf. */
int swan_msg_encode(const swan_msg *msg, char **buf, size_t *len, swan_error *err);

/* Decodes and validates buf; on success the caller owns *out (swan_msg_free), and every
 * string and array in it lives in out's arena. On failure *out needs no freeing and
 * err says what was wrong. */
int swan_msg_decode(const void *buf, size_t len, swan_msg *out, swan_error *err);

/* size zeroed bytes, aligned for any type, owned by msg (released by swan_msg_free).
 * NULL when out of memory. Moving a swan_msg by value moves its arena with it. */
void *swan_msg_alloc(swan_msg *msg, size_t size);

/* A copy of s (of its first n bytes, NUL-terminated) owned by msg; NULL when out of
 * memory. */
const char *swan_msg_strdup(swan_msg *msg, const char *s);
const char *swan_msg_strndup(swan_msg *msg, const char *s, size_t n);

/* Releases msg's arena (everything the decoder or swan_msg_alloc made for it) and
 * zeroes msg. Borrowed strings are left alone. */
void swan_msg_free(swan_msg *msg);

const char *swan_msg_type_name(swan_msg_type t); /* "hello", "task", ... */

#endif
