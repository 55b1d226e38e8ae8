/* messages.c: the msgpack codec of the coordinator <-> worker messages.
 *
 * Every message is one msgpack map with string keys; docs/protocol.md lists the keys
 * of each message. Encoding validates the message against the same limits the decoder
 * enforces (so a peer never has to refuse what we send) and then packs it with
 * msgpack_packer into a msgpack_sbuffer whose malloc'd data is handed to the caller.
 *
 * Decoding treats the bytes as hostile, in three layers:
 *   1. scan_msgpack() walks the raw encoding without allocating, refusing truncation,
 *      trailing bytes, the reserved byte 0xc1, deep nesting, too many values and
 *      container counts larger than the bytes left. The last one matters: msgpack-c allocates an array's or map's
 *      element slots as soon as it reads the count, so a 5-byte "array of 4 billion"
 *      would otherwise ask for ~100 GB before noticing the data is missing.
 *   2. msgpack_unpack_next() builds the object tree in a zone (strings point into the
 *      caller's buffer; nothing of the zone survives this file).
 *   3. decode_*() check every field: presence, msgpack type, range, string length,
 *      embedded NUL bytes, finiteness, and copy strings and arrays into the swan_msg's
 *      arena (NUL-terminated strings). Any failure frees the partial message.
 * Unknown keys are ignored (forward compatibility); a known key present twice is
 * refused; keys that are not strings are refused.
 *
 * Only APIs common to msgpack-c 4.x (Debian, pkg-config "msgpack") and 6.x
 * (Homebrew, "msgpack-c") are used. */
#include "proto/messages.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/fmt.h"

/* ------------------------------------------------------------------ names */

static const char *const type_names[] = {
    [SWAN_MSG_HELLO] = "hello",         [SWAN_MSG_TASK] = "task",
    [SWAN_MSG_RESULT] = "result",       [SWAN_MSG_HEARTBEAT] = "heartbeat",
    [SWAN_MSG_SHUTDOWN] = "shutdown",   [SWAN_MSG_FATAL] = "fatal",
    [SWAN_MSG_CHALLENGE] = "challenge", [SWAN_MSG_IDENTITY] = "identity",
    [SWAN_MSG_REFUSED] = "refused",     [SWAN_MSG_FETCH] = "fetch",
    [SWAN_MSG_CHUNK] = "chunk",         [SWAN_MSG_QCHUNK] = "qchunk",
    [SWAN_MSG_QACK] = "qack",
};
#define TYPE_COUNT ((int)(sizeof type_names / sizeof type_names[0]))

const char *swan_msg_type_name(swan_msg_type t) {
    if ((int)t <= 0 || (int)t >= TYPE_COUNT) return "unknown";
    return type_names[t];
}

/* ------------------------------------------------------------------ arena */

/* A message's memory is a chain of blocks, newest first. Allocations are carved from
 * the newest block, so a decoded TASK of thousands of items costs a handful of
 * mallocs, and swan_msg_free releases everything without knowing the message's
 * type or which fields the decoder (or a caller) filled. */
struct swan_msg_block {
    swan_msg_block *prev;
    size_t used, cap;       /* bytes of data[] */
    max_align_t data[];     /* aligned for any type */
};

#define BLOCK_MIN 1024              /* first block: a HELLO or a small TASK fits */
#define BLOCK_GROW_MAX (1u << 20)   /* blocks double up to this, then stay      */

static void *arena_take(swan_msg *msg, size_t size, size_t align) {
    swan_msg_block *b = msg->owned;
    if (b) {
        size_t at = (b->used + align - 1) & ~(align - 1);
        if (at <= b->cap && b->cap - at >= size) {
            b->used = at + size;
            return (char *)b->data + at;
        }
    }
    size_t cap = b ? (b->cap < BLOCK_GROW_MAX ? 2 * b->cap : b->cap) : BLOCK_MIN;
    if (cap < size) cap = size;
    if (cap > SIZE_MAX - sizeof *b) return NULL;
    swan_msg_block *nb = calloc(1, sizeof *nb + cap);
    if (!nb) return NULL;
    nb->cap = cap;
    nb->used = size;
    nb->prev = b;
    msg->owned = nb;
    return nb->data;
}

void *swan_msg_alloc(swan_msg *msg, size_t size) {
    return arena_take(msg, size ? size : 1, alignof(max_align_t));
}

const char *swan_msg_strndup(swan_msg *msg, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *copy = arena_take(msg, n + 1, 1);
    if (!copy) return NULL;
    if (n) memcpy(copy, s, n);
    copy[n] = '\0'; /* blocks are calloc'd, but a reused tail is not re-zeroed */
    return copy;
}

const char *swan_msg_strdup(swan_msg *msg, const char *s) {
    return swan_msg_strndup(msg, s, strlen(s));
}

/* ----------------------------------------------------- shared value limits */

/* Both directions apply these, so the encoder refuses exactly what the decoder would. */
static int check_str(const char *s, size_t n, bool nonempty, const char *ctx,
                     const char *key, swan_error *err) {
    if (n > SWAN_MSG_MAX_STRING)
        return swan_error_set(err, "%s: field '%s' is %zu bytes long, above the limit %d",
                              ctx, key, n, SWAN_MSG_MAX_STRING);
    if (nonempty && n == 0)
        return swan_error_set(err, "%s: field '%s' is empty", ctx, key);
    if (memchr(s, '\0', n))
        return swan_error_set(err, "%s: field '%s' contains a NUL byte", ctx, key);
    return 0;
}

static int check_finite(double v, const char *ctx, const char *key, swan_error *err) {
    if (!isfinite(v))
        return swan_error_set(err, "%s: field '%s' is not finite (%g)", ctx, key, v);
    return 0;
}

/* The raw-metrics fields that are doubles, in wire order, with their struct offsets. */
typedef struct raw_double_field {
    const char *key;
    size_t offset;
} raw_double_field;

static const raw_double_field raw_doubles[] = {
    {"svd_concentration", offsetof(swan_raw_metrics, svd_concentration)},
    {"kurtosis", offsetof(swan_raw_metrics, kurtosis)},
    {"output_delta", offsetof(swan_raw_metrics, output_delta)},
    {"rtn_nrmse", offsetof(swan_raw_metrics, rtn_nrmse)},
    {"w_min", offsetof(swan_raw_metrics, w_min)},
    {"w_max", offsetof(swan_raw_metrics, w_max)},
    {"seconds", offsetof(swan_raw_metrics, seconds)},
};
#define RAW_DOUBLES (sizeof raw_doubles / sizeof raw_doubles[0])
#define RAW_KEYS (RAW_DOUBLES + 7) /* + rows, cols, nonfinite, spectral_method/rank, data_hash, mlx_nrmse */
#define MLX_CELLS (SWAN_MLX_NBITS * SWAN_MLX_NGROUPS) /* "mlx_nrmse": row-major bits x groups */

static double *raw_double_at(swan_raw_metrics *r, size_t i) {
    return (double *)(void *)((char *)r + raw_doubles[i].offset);
}

static double raw_double_get(const swan_raw_metrics *r, size_t i) {
    double v;
    memcpy(&v, (const char *)r + raw_doubles[i].offset, sizeof v);
    return v;
}

static int check_raw(const swan_raw_metrics *r, const char *ctx, swan_error *err) {
    for (size_t i = 0; i < RAW_DOUBLES; i++)
        if (check_finite(raw_double_get(r, i), ctx, raw_doubles[i].key, err))
            return -1;
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
            if (check_finite(r->mlx_nrmse[i][j], ctx, "mlx_nrmse", err)) return -1;
    if (r->spectral_method > SWAN_SPECTRAL_RANDOMIZED)
        return swan_error_set(err, "%s: field 'spectral_method' is %" PRIu32 ", not a known method",
                              ctx, r->spectral_method);
    return 0;
}

/* ----------------------------------------------------------------- encode */

static int enc_check_cstr(const char *s, bool nonempty, const char *ctx, const char *key,
                          swan_error *err) {
    if (!s) return swan_error_set(err, "%s: field '%s' is NULL", ctx, key);
    return check_str(s, strlen(s), nonempty, ctx, key, err);
}

/* prefix + decimal idx into ctx (at most 48 bytes with the prefixes used here). */
static void item_context(char ctx[48], const char *prefix, uint32_t idx) {
    size_t n = strlen(prefix);
    memcpy(ctx, prefix, n);
    swan_fmt_u64(ctx + n, idx);
}

/* FETCH / CHUNK limits: a known part, 1 to SWAN_STREAM_CHUNK_MAX bytes, an end that
 * does not wrap around. Whether the range lies inside the part is for the receiver,
 * which knows the task. */
static int check_chunk(const swan_msg_chunk *c, const char *ctx, swan_error *err) {
    if (c->part > SWAN_PART_SCALES)
        return swan_error_set(err, "%s: field 'part' is %" PRIu32 ", expected 0 or 1", ctx, c->part);
    if (c->nbytes == 0 || c->nbytes > SWAN_STREAM_CHUNK_MAX)
        return swan_error_set(err, "%s: field 'nbytes' is %" PRIu32 ", expected 1 to %u", ctx,
                              c->nbytes, SWAN_STREAM_CHUNK_MAX);
    if (c->offset > UINT64_MAX - c->nbytes)
        return swan_error_set(err, "%s: field 'offset' %" PRIu64 " + nbytes wraps around", ctx,
                              c->offset);
    return 0;
}

/* QCHUNK limits: a known part, 1 to SWAN_QCHUNK_MAX bytes, an end that does not wrap.
 * Whether the range belongs to the item's output is for the coordinator. */
static int check_qchunk(const swan_msg_qchunk *c, swan_error *err) {
    if (c->part >= SWAN_QPARTS)
        return swan_error_set(err, "qchunk: field 'part' is %" PRIu32 ", expected 0, 1 or 2", c->part);
    if (c->nbytes == 0 || c->nbytes > SWAN_QCHUNK_MAX)
        return swan_error_set(err, "qchunk: field 'data' holds %" PRIu32 " bytes, expected 1 to %u",
                              c->nbytes, SWAN_QCHUNK_MAX);
    if (c->offset > UINT64_MAX - c->nbytes)
        return swan_error_set(err, "qchunk: field 'offset' %" PRIu64 " + the data length wraps around",
                              c->offset);
    return 0;
}

/* A quantize item's width: an MLX width, group size and scale dtype (section 7). */
static int check_qwidth(const swan_task_item *it, const char *ctx, swan_error *err) {
    if (it->bits < 2 || it->bits > 8 || it->bits == 7)
        return swan_error_set(err, "%s: field 'bits' is %" PRIu32 ", expected 2, 3, 4, 5, 6 or 8", ctx,
                              it->bits);
    if (it->group != 32 && it->group != 64 && it->group != 128)
        return swan_error_set(err, "%s: field 'group' is %" PRIu32 ", expected 32, 64 or 128", ctx,
                              it->group);
    if (strcmp(it->qdtype, "BF16") != 0 && strcmp(it->qdtype, "F16") != 0 && strcmp(it->qdtype, "F32") != 0)
        return swan_error_set(err, "%s: field 'qdtype' is \"%.16s\", expected BF16, F16 or F32", ctx,
                              it->qdtype);
    return 0;
}

static int enc_validate(const swan_msg *msg, swan_error *err) {
    char ctx[64];
    switch (msg->type) {
    case SWAN_MSG_HELLO:
        return enc_check_cstr(msg->u.hello.host, false, "hello", "host", err);
    case SWAN_MSG_TASK: {
        const swan_msg_task *t = &msg->u.task;
        if (t->nitems > SWAN_MSG_MAX_ITEMS)
            return swan_error_set(err, "task: %" PRIu32 " items, above the limit %d", t->nitems,
                                  SWAN_MSG_MAX_ITEMS);
        if (t->nitems && !t->items) return swan_error_set(err, "task: items is NULL");
        if (t->kind > SWAN_TASK_QUANTIZE)
            return swan_error_set(err, "task: field 'kind' is %" PRIu32 ", expected 0 or 1", t->kind);
        for (uint32_t i = 0; i < t->nitems; i++) {
            const swan_task_item *it = &t->items[i];
            item_context(ctx, "task: item ", i);
            if (enc_check_cstr(it->name, false, ctx, "name", err) ||
                enc_check_cstr(it->path, true, ctx, "path", err) ||
                enc_check_cstr(it->dtype, true, ctx, "dtype", err) ||
                (it->scale_path && (enc_check_cstr(it->scale_path, true, ctx, "scale_path", err) ||
                                    enc_check_cstr(it->scale_dtype, true, ctx, "scale_dtype", err))))
                return -1;
            if (it->ndim > SWAN_MAX_DIMS)
                return swan_error_set(err, "%s: field 'ndim' is %" PRIu32 ", above the limit %d",
                                      ctx, it->ndim, SWAN_MAX_DIMS);
            if (t->kind == SWAN_TASK_QUANTIZE &&
                (enc_check_cstr(it->qdtype, true, ctx, "qdtype", err) || check_qwidth(it, ctx, err)))
                return -1;
        }
        return 0;
    }
    case SWAN_MSG_RESULT: {
        const swan_msg_result *r = &msg->u.result;
        if (r->nitems > SWAN_MSG_MAX_ITEMS)
            return swan_error_set(err, "result: %" PRIu32 " items, above the limit %d", r->nitems,
                                  SWAN_MSG_MAX_ITEMS);
        if (r->nitems && !r->items) return swan_error_set(err, "result: items is NULL");
        for (uint32_t i = 0; i < r->nitems; i++) {
            const swan_result_item *it = &r->items[i];
            item_context(ctx, "result: item ", i);
            if (it->ok ? (!it->quantized && check_raw(&it->raw, ctx, err))
                       : enc_check_cstr(it->error, false, ctx, "error", err))
                return -1;
        }
        return 0;
    }
    case SWAN_MSG_FATAL:
        return enc_check_cstr(msg->u.fatal.reason, false, "fatal", "reason", err);
    case SWAN_MSG_REFUSED:
        return enc_check_cstr(msg->u.refused.reason, false, "refused", "reason", err);
    case SWAN_MSG_CHALLENGE: {
        const swan_msg_challenge *c = &msg->u.challenge;
        if (c->nshards > SWAN_MSG_MAX_ITEMS || (c->nshards && !c->shards))
            return swan_error_set(err, "challenge: bad shard list");
        if (enc_check_cstr(c->root, false, "challenge", "root", err)) return -1;
        for (uint32_t i = 0; i < c->nshards; i++)
            if (enc_check_cstr(c->shards[i], true, "challenge", "shards", err)) return -1;
        return 0;
    }
    case SWAN_MSG_IDENTITY: {
        const swan_msg_identity *d = &msg->u.identity;
        if (d->nshards > SWAN_MSG_MAX_ITEMS || (d->nshards && !d->shards))
            return swan_error_set(err, "identity: bad shard list");
        for (uint32_t i = 0; i < d->nshards; i++)
            if (enc_check_cstr(d->shards[i].name, true, "identity", "name", err)) return -1;
        return 0;
    }
    case SWAN_MSG_FETCH:
    case SWAN_MSG_CHUNK:
        return check_chunk(&msg->u.chunk, swan_msg_type_name(msg->type), err);
    case SWAN_MSG_QCHUNK:
        if (!msg->u.qchunk.data) return swan_error_set(err, "qchunk: field 'data' is NULL");
        return check_qchunk(&msg->u.qchunk, err);
    case SWAN_MSG_HEARTBEAT:
    case SWAN_MSG_SHUTDOWN:
    case SWAN_MSG_QACK:
        return 0;
    }
    return swan_error_set(err, "cannot encode a message of unknown type %d", (int)msg->type);
}

/* The pk_* helpers return nonzero only when the sbuffer cannot grow (out of memory). */
static int pk_cstr(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pk_key_uint(msgpack_packer *pk, const char *key, uint64_t v) {
    return pk_cstr(pk, key) || msgpack_pack_uint64(pk, v);
}

static int pk_key_str(msgpack_packer *pk, const char *key, const char *s) {
    return pk_cstr(pk, key) || pk_cstr(pk, s);
}

static int pk_header(msgpack_packer *pk, size_t nkeys, swan_msg_type type) {
    return msgpack_pack_map(pk, nkeys) || pk_key_str(pk, "type", swan_msg_type_name(type)) ||
           pk_key_uint(pk, "v", SWAN_PROTO_VERSION);
}

static int pk_task_item(msgpack_packer *pk, const swan_task_item *it, uint32_t kind) {
    if (msgpack_pack_map(pk, (it->scale_path ? 15 : 8) + (kind == SWAN_TASK_QUANTIZE ? 3 : 0)) || pk_key_uint(pk, "tensor_id", it->tensor_id) ||
        pk_key_str(pk, "name", it->name) || pk_key_str(pk, "path", it->path) ||
        pk_key_str(pk, "dtype", it->dtype) || pk_key_uint(pk, "ndim", it->ndim) ||
        pk_cstr(pk, "shape") || msgpack_pack_array(pk, it->ndim))
        return -1;
    for (uint32_t d = 0; d < it->ndim; d++)
        if (msgpack_pack_uint64(pk, it->shape[d])) return -1;
    if (pk_key_uint(pk, "offset", it->offset) || pk_key_uint(pk, "nbytes", it->nbytes)) return -1;
    if (kind == SWAN_TASK_QUANTIZE &&
        (pk_key_uint(pk, "bits", it->bits) || pk_key_uint(pk, "group", it->group) ||
         pk_key_str(pk, "qdtype", it->qdtype)))
        return -1;
    if (!it->scale_path) return 0;
    return pk_key_str(pk, "scale_path", it->scale_path) ||
           pk_key_str(pk, "scale_dtype", it->scale_dtype) ||
           pk_key_uint(pk, "scale_offset", it->scale_offset) ||
           pk_key_uint(pk, "scale_rows", it->scale_rows) ||
           pk_key_uint(pk, "scale_cols", it->scale_cols) ||
           pk_key_uint(pk, "block_rows", it->block_rows) ||
           pk_key_uint(pk, "block_cols", it->block_cols);
}

static int pk_mlx_nrmse(msgpack_packer *pk, const swan_raw_metrics *r) {
    if (pk_cstr(pk, "mlx_nrmse") || msgpack_pack_array(pk, MLX_CELLS)) return -1;
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
            if (msgpack_pack_double(pk, r->mlx_nrmse[i][j])) return -1;
    return 0;
}

static int pk_raw(msgpack_packer *pk, const swan_raw_metrics *r) {
    if (msgpack_pack_map(pk, RAW_KEYS)) return -1;
    for (size_t i = 0; i < RAW_DOUBLES; i++)
        if (pk_cstr(pk, raw_doubles[i].key) ||
            msgpack_pack_double(pk, raw_double_get(r, i)))
            return -1;
    return pk_key_uint(pk, "rows", r->rows) || pk_key_uint(pk, "cols", r->cols) ||
           pk_key_uint(pk, "nonfinite", r->nonfinite) ||
           pk_key_uint(pk, "spectral_method", r->spectral_method) ||
           pk_key_uint(pk, "spectral_rank", r->spectral_rank) ||
           pk_key_uint(pk, "data_hash", r->data_hash) || pk_mlx_nrmse(pk, r);
}

/* A failed item carries "error" instead of "raw": its metrics do not exist. */
static int pk_result_item(msgpack_packer *pk, const swan_result_item *it) {
    if (msgpack_pack_map(pk, 3) || pk_key_uint(pk, "tensor_id", it->tensor_id) ||
        pk_cstr(pk, "ok") || (it->ok ? msgpack_pack_true(pk) : msgpack_pack_false(pk)))
        return -1;
    if (!it->ok) return pk_key_str(pk, "error", it->error);
    if (it->quantized) {
        if (pk_cstr(pk, "qhash") || msgpack_pack_array(pk, SWAN_QPARTS)) return -1;
        for (int p = 0; p < SWAN_QPARTS; p++)
            if (msgpack_pack_uint64(pk, it->qhash[p])) return -1;
        return 0;
    }
    return pk_cstr(pk, "raw") || pk_raw(pk, &it->raw);
}

static int pk_msg(msgpack_packer *pk, const swan_msg *msg) {
    switch (msg->type) {
    case SWAN_MSG_HELLO: {
        const swan_msg_hello *h = &msg->u.hello;
        return pk_header(pk, 5, msg->type) || pk_key_uint(pk, "pid", h->pid) ||
               pk_key_uint(pk, "threads", h->threads) || pk_key_str(pk, "host", h->host);
    }
    case SWAN_MSG_TASK: {
        const swan_msg_task *t = &msg->u.task;
        if (pk_header(pk, 6, msg->type) || pk_key_uint(pk, "task_id", t->task_id) ||
            pk_key_uint(pk, "seed", t->seed) || pk_key_uint(pk, "kind", t->kind) ||
            pk_cstr(pk, "items") || msgpack_pack_array(pk, t->nitems))
            return -1;
        for (uint32_t i = 0; i < t->nitems; i++)
            if (pk_task_item(pk, &t->items[i], t->kind)) return -1;
        return 0;
    }
    case SWAN_MSG_RESULT: {
        const swan_msg_result *r = &msg->u.result;
        if (pk_header(pk, 4, msg->type) || pk_key_uint(pk, "task_id", r->task_id) ||
            pk_cstr(pk, "items") || msgpack_pack_array(pk, r->nitems))
            return -1;
        for (uint32_t i = 0; i < r->nitems; i++)
            if (pk_result_item(pk, &r->items[i])) return -1;
        return 0;
    }
    case SWAN_MSG_HEARTBEAT:
        return pk_header(pk, 3, msg->type) ||
               pk_key_uint(pk, "task_id", msg->u.heartbeat.task_id);
    case SWAN_MSG_SHUTDOWN:
        return pk_header(pk, 2, msg->type);
    case SWAN_MSG_FATAL:
        return pk_header(pk, 3, msg->type) || pk_key_str(pk, "reason", msg->u.fatal.reason);
    case SWAN_MSG_REFUSED:
        return pk_header(pk, 3, msg->type) || pk_key_str(pk, "reason", msg->u.refused.reason);
    case SWAN_MSG_CHALLENGE: {
        const swan_msg_challenge *c = &msg->u.challenge;
        if (pk_header(pk, 5, msg->type) || pk_key_uint(pk, "nonce", c->nonce) ||
            pk_key_str(pk, "root", c->root) || pk_cstr(pk, "shards") ||
            msgpack_pack_array(pk, c->nshards))
            return -1;
        for (uint32_t i = 0; i < c->nshards; i++)
            if (pk_cstr(pk, c->shards[i])) return -1;
        return 0;
    }
    case SWAN_MSG_IDENTITY: {
        const swan_msg_identity *d = &msg->u.identity;
        if (pk_header(pk, 4, msg->type) || pk_cstr(pk, "stream") ||
            (d->stream ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) || pk_cstr(pk, "shards") ||
            msgpack_pack_array(pk, d->nshards))
            return -1;
        for (uint32_t i = 0; i < d->nshards; i++) {
            const swan_shard_identity *x = &d->shards[i];
            if (msgpack_pack_map(pk, 5) || pk_key_str(pk, "name", x->name) || pk_cstr(pk, "present") ||
                (x->present ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) ||
                pk_key_uint(pk, "size", x->size) || pk_key_uint(pk, "header_hash", x->header_hash) ||
                pk_key_uint(pk, "sample_hash", x->sample_hash))
                return -1;
        }
        return 0;
    }
    case SWAN_MSG_FETCH:
    case SWAN_MSG_CHUNK: {
        const swan_msg_chunk *c = &msg->u.chunk;
        return pk_header(pk, 7, msg->type) || pk_key_uint(pk, "task_id", c->task_id) ||
               pk_key_uint(pk, "tensor_id", c->tensor_id) || pk_key_uint(pk, "part", c->part) ||
               pk_key_uint(pk, "offset", c->offset) || pk_key_uint(pk, "nbytes", c->nbytes);
    }
    case SWAN_MSG_QCHUNK: {
        const swan_msg_qchunk *c = &msg->u.qchunk;
        return pk_header(pk, 7, msg->type) || pk_key_uint(pk, "task_id", c->task_id) ||
               pk_key_uint(pk, "tensor_id", c->tensor_id) || pk_key_uint(pk, "part", c->part) ||
               pk_key_uint(pk, "offset", c->offset) || pk_cstr(pk, "data") ||
               msgpack_pack_bin(pk, c->nbytes) || msgpack_pack_bin_body(pk, c->data, c->nbytes);
    }
    case SWAN_MSG_QACK:
        return pk_header(pk, 3, msg->type) || pk_key_uint(pk, "task_id", msg->u.qack.task_id);
    }
    return -1; /* unreachable: enc_validate refused the type */
}

int swan_msg_encode(const swan_msg *msg, char **buf, size_t *len, swan_error *err) {
    *buf = NULL;
    *len = 0;
    if (enc_validate(msg, err)) return -1;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (msg->type == SWAN_MSG_QCHUNK) {
        /* Sized up front: growing from 8 KiB by doubling would copy a 1 MiB chunk's
         * bytes about twice more (the sbuffer's fields are public in msgpack-c 4 and 6;
         * msgpack_sbuffer_destroy / _release free the block as their own). */
        size_t want = (size_t)msg->u.qchunk.nbytes + 128;
        sb.data = malloc(want);
        if (sb.data) sb.alloc = want;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (pk_msg(&pk, msg) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return swan_error_set(err, "%s: out of memory while encoding",
                              swan_msg_type_name(msg->type));
    }
    *len = sb.size;
    *buf = msgpack_sbuffer_release(&sb); /* malloc'd by the sbuffer: caller free()s it */
    return 0;
}

/* ------------------------------------------------------- scan (layer 1) */

/* Reads an n-byte big-endian unsigned integer at p[*pos], or fails if it is cut off. */
static int scan_be(const unsigned char *p, size_t len, size_t *pos, int n, uint64_t *out) {
    if (len - *pos < (size_t)n) return -1;
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[(*pos)++];
    *out = v;
    return 0;
}

/* Nesting limit of the scan. Our messages nest 4 deep (message, items, item, raw);
 * msgpack-c itself stops at 32 but reports that as "out of memory". */
#define SCAN_MAX_DEPTH 16

/* Limit on the values (keys count too) in one message. A full RESULT item is 53
 * values (the 18-value mlx_nrmse table included) and a TASK item at most 25, so 64 per
 * item leaves room for new keys. The point: msgpack-c spends ~24 bytes per value on its
 * object tree, so without a limit a frame of nothing but one-byte values would cost 24x
 * its size; with it, at most ~100 MB whatever frame size the transport allows. */
#define SCAN_MAX_VALUES ((uint64_t)SWAN_MSG_MAX_ITEMS * 64 + 4096)

/* Walks one complete msgpack value spanning exactly len bytes, allocating nothing.
 * left[d] counts the values still to read in the container open at depth d; their
 * sum `pending` can never exceed the bytes left, since each value takes at least one
 * byte, so a larger count means a container lies about its size. */
static int scan_msgpack(const unsigned char *p, size_t len, swan_error *err) {
    uint64_t left[SCAN_MAX_DEPTH + 1];
    int depth = 0;
    size_t pos = 0;
    uint64_t pending = 1, total = 1;
    left[0] = 1;
    while (pending > 0) {
        while (left[depth] == 0) depth--;
        if (pos >= len) return swan_error_set(err, "message: truncated after %zu bytes", len);
        pending--;
        left[depth]--;
        size_t at = pos;
        unsigned b = p[pos++];
        int lenbytes = 0;    /* size of the length/count field that follows b */
        uint64_t skip = 0;   /* payload bytes after that field                 */
        uint64_t mult = 0;   /* values per counted element: 1 array, 2 map     */
        uint64_t count = 0;  /* values inside this container                   */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, booleans: the byte is the whole value */
        } else if (b <= 0x8f) {
            count = 2u * (b & 0x0f);
        } else if (b <= 0x9f) {
            count = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break;           /* bin8, str8     */
            case 0xc5: case 0xda: lenbytes = 2; break;           /* bin16, str16   */
            case 0xc6: case 0xdb: lenbytes = 4; break;           /* bin32, str32   */
            case 0xc7: lenbytes = 1; skip = 1; break;            /* ext8 + type    */
            case 0xc8: lenbytes = 2; skip = 1; break;            /* ext16          */
            case 0xc9: lenbytes = 4; skip = 1; break;            /* ext32          */
            case 0xca: skip = 4; break;                          /* float32        */
            case 0xcb: skip = 8; break;                          /* float64        */
            case 0xcc: case 0xd0: skip = 1; break;               /* (u)int8        */
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;                          /* fixext 1..16   */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: lenbytes = 2; mult = 1; break;            /* array16/32     */
            case 0xdd: lenbytes = 4; mult = 1; break;
            case 0xde: lenbytes = 2; mult = 2; break;            /* map16/32       */
            case 0xdf: lenbytes = 4; mult = 2; break;
            default:
                return swan_error_set(err, "message: invalid msgpack byte 0x%02x at offset %zu",
                                      b, at);
            }
        }
        if (lenbytes) {
            uint64_t n;
            if (scan_be(p, len, &pos, lenbytes, &n))
                return swan_error_set(err, "message: truncated after %zu bytes", len);
            if (mult) count = mult * n;
            else skip += n;
        }
        if (skip > len - pos) return swan_error_set(err, "message: truncated after %zu bytes", len);
        pos += (size_t)skip;
        if (count == 0) continue;
        pending += count;
        if (pending > len - pos)
            return swan_error_set(err,
                                  "message: %" PRIu64 " values announced at offset %zu but only "
                                  "%zu bytes remain",
                                  pending, at, len - pos);
        total += count;
        if (total > SCAN_MAX_VALUES)
            return swan_error_set(err, "message: more than %" PRIu64 " values", SCAN_MAX_VALUES);
        if (depth == SCAN_MAX_DEPTH)
            return swan_error_set(err, "message: nested deeper than %d levels at offset %zu",
                                  SCAN_MAX_DEPTH, at);
        left[++depth] = count;
    }
    if (pos != len)
        return swan_error_set(err, "message: %zu trailing bytes after the message", len - pos);
    return 0;
}

/* ------------------------------------------------------ fields (layer 3) */

/* The msgpack type of o, with its article, for error messages. */
static const char *obj_kind(const msgpack_object *o) {
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "a negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "a binary";
    case MSGPACK_OBJECT_EXT: return "an extension";
    }
    return "an unknown object";
}

static int wrong_type(const msgpack_object *o, const char *ctx, const char *key,
                      const char *expected, swan_error *err) {
    return swan_error_set(err, "%s: field '%s' is %s, expected %s", ctx, key, obj_kind(o),
                          expected);
}

/* Checks that o is a map whose keys are all strings (values are checked per key). */
static int as_map(const msgpack_object *o, const char *ctx, const char *key,
                  const msgpack_object_map **out, swan_error *err) {
    if (o->type != MSGPACK_OBJECT_MAP) {
        if (!key) return swan_error_set(err, "%s: is %s, expected a map", ctx, obj_kind(o));
        return wrong_type(o, ctx, key, "a map", err);
    }
    const msgpack_object_map *m = &o->via.map;
    for (uint32_t i = 0; i < m->size; i++)
        if (m->ptr[i].key.type != MSGPACK_OBJECT_STR)
            return swan_error_set(err, "%s: map key %" PRIu32 " is %s, expected a string", ctx, i,
                                  obj_kind(&m->ptr[i].key));
    *out = m;
    return 0;
}

/* Looks key up in m: 1 found (*val set), 0 absent, -1 present twice (err set). */
static int map_find(const msgpack_object_map *m, const char *key, const msgpack_object **val,
                    const char *ctx, swan_error *err) {
    size_t klen = strlen(key);
    int found = 0;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object_str *k = &m->ptr[i].key.via.str;
        if (k->size != klen || memcmp(k->ptr, key, klen) != 0) continue;
        if (found) return swan_error_set(err, "%s: field '%s' appears twice", ctx, key);
        found = 1;
        *val = &m->ptr[i].val;
    }
    return found;
}

static int need(const msgpack_object_map *m, const char *key, const msgpack_object **val,
                const char *ctx, swan_error *err) {
    int r = map_find(m, key, val, ctx, err);
    if (r == 0) return swan_error_set(err, "%s: missing field '%s'", ctx, key);
    return r < 0 ? -1 : 0;
}

static int to_uint(const msgpack_object *o, uint64_t max, uint64_t *out, const char *ctx,
                   const char *key, swan_error *err) {
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return swan_error_set(err, "%s: field '%s' is negative (%" PRId64 "), expected an "
                              "unsigned integer", ctx, key, o->via.i64);
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return wrong_type(o, ctx, key, "an unsigned integer", err);
    if (o->via.u64 > max)
        return swan_error_set(err, "%s: field '%s' is %" PRIu64 ", above the limit %" PRIu64, ctx,
                              key, o->via.u64, max);
    *out = o->via.u64;
    return 0;
}

static int get_u64(const msgpack_object_map *m, const char *key, uint64_t *out, const char *ctx,
                   swan_error *err) {
    const msgpack_object *o;
    return need(m, key, &o, ctx, err) || to_uint(o, UINT64_MAX, out, ctx, key, err) ? -1 : 0;
}

static int get_u32(const msgpack_object_map *m, const char *key, uint32_t max, uint32_t *out,
                   const char *ctx, swan_error *err) {
    const msgpack_object *o;
    uint64_t v = 0;
    if (need(m, key, &o, ctx, err) || to_uint(o, max, &v, ctx, key, err)) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Doubles accept msgpack floats of either width and integers; never non-finite. */
static int get_double(const msgpack_object_map *m, const char *key, double *out, const char *ctx,
                      swan_error *err) {
    const msgpack_object *o;
    if (need(m, key, &o, ctx, err)) return -1;
    double v;
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: v = o->via.f64; break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    default: return wrong_type(o, ctx, key, "a number", err);
    }
    if (check_finite(v, ctx, key, err)) return -1;
    *out = v;
    return 0;
}

static int get_bool(const msgpack_object_map *m, const char *key, bool *out, const char *ctx,
                    swan_error *err) {
    const msgpack_object *o;
    if (need(m, key, &o, ctx, err)) return -1;
    if (o->type != MSGPACK_OBJECT_BOOLEAN) return wrong_type(o, ctx, key, "a boolean", err);
    *out = o->via.boolean;
    return 0;
}

/* Checks a string object and copies it into owner's arena (*out, NUL-terminated). */
static int copy_str(swan_msg *owner, const msgpack_object *o, bool nonempty, const char **out,
                    const char *ctx, const char *key, const char *expected, swan_error *err) {
    if (o->type != MSGPACK_OBJECT_STR) return wrong_type(o, ctx, key, expected, err);
    const msgpack_object_str *s = &o->via.str;
    if (check_str(s->ptr, s->size, nonempty, ctx, key, err)) return -1;
    *out = swan_msg_strndup(owner, s->ptr, s->size);
    if (!*out) return swan_error_set(err, "%s: out of memory copying field '%s'", ctx, key);
    return 0;
}

/* A string field, copied into owner's arena (*out). */
static int get_str(swan_msg *owner, const msgpack_object_map *m, const char *key, bool nonempty,
                   const char **out, const char *ctx, swan_error *err) {
    const msgpack_object *o;
    if (need(m, key, &o, ctx, err)) return -1;
    return copy_str(owner, o, nonempty, out, ctx, key, "a string", err);
}

/* Finds the "items" array and checks its length against SWAN_MSG_MAX_ITEMS. */
static int get_items(const msgpack_object_map *m, const char *ctx,
                     const msgpack_object_array **out, swan_error *err) {
    const msgpack_object *o;
    if (need(m, "items", &o, ctx, err)) return -1;
    if (o->type != MSGPACK_OBJECT_ARRAY) return wrong_type(o, ctx, "items", "an array", err);
    if (o->via.array.size > SWAN_MSG_MAX_ITEMS)
        return swan_error_set(err, "%s: %" PRIu32 " items, above the limit %d", ctx,
                              o->via.array.size, SWAN_MSG_MAX_ITEMS);
    *out = &o->via.array;
    return 0;
}

/* A field that must not be there (e.g. "error" in a successful result item). */
static int forbid(const msgpack_object_map *m, const char *key, const char *why, const char *ctx,
                  swan_error *err) {
    const msgpack_object *o;
    int r = map_find(m, key, &o, ctx, err);
    if (r < 0) return -1;
    if (r > 0) return swan_error_set(err, "%s: field '%s' is not allowed %s", ctx, key, why);
    return 0;
}

/* -------------------------------------------------------- messages */

static int decode_hello(swan_msg *owner, const msgpack_object_map *m, swan_msg_hello *h,
                        swan_error *err) {
    return get_u32(m, "pid", UINT32_MAX, &h->pid, "hello", err) ||
                   get_u32(m, "threads", UINT32_MAX, &h->threads, "hello", err) ||
                   get_str(owner, m, "host", false, &h->host, "hello", err)
               ? -1 : 0;
}

static int decode_task_item(swan_msg *owner, const msgpack_object *o, uint32_t idx, uint32_t kind,
                            swan_task_item *it, swan_error *err) {
    char ctx[48];
    item_context(ctx, "task: item ", idx);
    const msgpack_object_map *m;
    const msgpack_object *shape;
    if (as_map(o, ctx, NULL, &m, err) ||
        get_u32(m, "tensor_id", UINT32_MAX, &it->tensor_id, ctx, err) ||
        get_str(owner, m, "name", false, &it->name, ctx, err) ||
        get_str(owner, m, "path", true, &it->path, ctx, err) ||
        get_str(owner, m, "dtype", true, &it->dtype, ctx, err) ||
        get_u32(m, "ndim", SWAN_MAX_DIMS, &it->ndim, ctx, err) ||
        get_u64(m, "offset", &it->offset, ctx, err) ||
        get_u64(m, "nbytes", &it->nbytes, ctx, err) || need(m, "shape", &shape, ctx, err))
        return -1;
    if (shape->type != MSGPACK_OBJECT_ARRAY) return wrong_type(shape, ctx, "shape", "an array", err);
    if (shape->via.array.size != it->ndim)
        return swan_error_set(err, "%s: field 'shape' has %" PRIu32 " dimensions but 'ndim' is %"
                              PRIu32, ctx, shape->via.array.size, it->ndim);
    for (uint32_t d = 0; d < it->ndim; d++) {
        char key[24];
        snprintf(key, sizeof key, "shape[%" PRIu32 "]", d);
        if (to_uint(&shape->via.array.ptr[d], UINT64_MAX, &it->shape[d], ctx, key, err)) return -1;
    }
    if (kind == SWAN_TASK_QUANTIZE &&
        (get_u32(m, "bits", UINT32_MAX, &it->bits, ctx, err) ||
         get_u32(m, "group", UINT32_MAX, &it->group, ctx, err) ||
         get_str(owner, m, "qdtype", true, &it->qdtype, ctx, err) || check_qwidth(it, ctx, err)))
        return -1;
    /* FP8 scales: all seven fields or none. */
    const msgpack_object *sp;
    int has_scale = map_find(m, "scale_path", &sp, ctx, err);
    if (has_scale < 0) return -1;
    if (has_scale == 0) {
        static const char *const scale_keys[] = {"scale_dtype", "scale_offset", "scale_rows",
                                                 "scale_cols", "block_rows", "block_cols"};
        for (size_t k = 0; k < sizeof scale_keys / sizeof *scale_keys; k++)
            if (forbid(m, scale_keys[k], "without 'scale_path'", ctx, err)) return -1;
        return 0;
    }
    return get_str(owner, m, "scale_path", true, &it->scale_path, ctx, err) ||
                   get_str(owner, m, "scale_dtype", true, &it->scale_dtype, ctx, err) ||
                   get_u64(m, "scale_offset", &it->scale_offset, ctx, err) ||
                   get_u64(m, "scale_rows", &it->scale_rows, ctx, err) ||
                   get_u64(m, "scale_cols", &it->scale_cols, ctx, err) ||
                   get_u64(m, "block_rows", &it->block_rows, ctx, err) ||
                   get_u64(m, "block_cols", &it->block_cols, ctx, err)
               ? -1 : 0;
}

static int decode_task(swan_msg *owner, const msgpack_object_map *m, swan_msg_task *t,
                       swan_error *err) {
    const msgpack_object_array *items;
    if (get_u64(m, "task_id", &t->task_id, "task", err) ||
        get_u64(m, "seed", &t->seed, "task", err) ||
        get_u32(m, "kind", SWAN_TASK_QUANTIZE, &t->kind, "task", err) || get_items(m, "task", &items, err))
        return -1;
    t->items = swan_msg_alloc(owner, (size_t)items->size * sizeof *t->items);
    if (!t->items) return swan_error_set(err, "task: out of memory for %" PRIu32 " items",
                                         items->size);
    t->nitems = items->size;
    for (uint32_t i = 0; i < items->size; i++)
        if (decode_task_item(owner, &items->ptr[i], i, t->kind, &t->items[i], err)) return -1;
    return 0;
}

static int decode_raw(const msgpack_object_map *parent, swan_raw_metrics *r, const char *ctx,
                      swan_error *err) {
    const msgpack_object *o;
    const msgpack_object_map *m;
    if (need(parent, "raw", &o, ctx, err) || as_map(o, ctx, "raw", &m, err)) return -1;
    for (size_t i = 0; i < RAW_DOUBLES; i++)
        if (get_double(m, raw_doubles[i].key, raw_double_at(r, i), ctx, err)) return -1;
    if (get_u64(m, "rows", &r->rows, ctx, err) || get_u64(m, "cols", &r->cols, ctx, err) ||
        get_u64(m, "nonfinite", &r->nonfinite, ctx, err) ||
        get_u32(m, "spectral_method", SWAN_SPECTRAL_RANDOMIZED, &r->spectral_method, ctx, err) ||
        get_u32(m, "spectral_rank", UINT32_MAX, &r->spectral_rank, ctx, err) ||
        get_u64(m, "data_hash", &r->data_hash, ctx, err) || need(m, "mlx_nrmse", &o, ctx, err))
        return -1;
    if (o->type != MSGPACK_OBJECT_ARRAY) return wrong_type(o, ctx, "mlx_nrmse", "an array", err);
    if (o->via.array.size != MLX_CELLS)
        return swan_error_set(err, "%s: field 'mlx_nrmse' has %" PRIu32 " values, expected %d", ctx,
                              o->via.array.size, MLX_CELLS);
    for (int c = 0; c < MLX_CELLS; c++) {
        const msgpack_object *v = &o->via.array.ptr[c];
        double d;
        if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
            d = v->via.f64;
        else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            d = (double)v->via.u64;
        else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            d = (double)v->via.i64;
        else
            return wrong_type(v, ctx, "mlx_nrmse", "an array of numbers", err);
        if (check_finite(d, ctx, "mlx_nrmse", err)) return -1;
        r->mlx_nrmse[c / SWAN_MLX_NGROUPS][c % SWAN_MLX_NGROUPS] = d;
    }
    return 0;
}

static int decode_result_item(swan_msg *owner, const msgpack_object *o, uint32_t idx,
                              swan_result_item *it, swan_error *err) {
    char ctx[48];
    item_context(ctx, "result: item ", idx); /* per item: snprintf was a visible cost */
    const msgpack_object_map *m;
    bool ok = false;
    if (as_map(o, ctx, NULL, &m, err) ||
        get_u32(m, "tensor_id", UINT32_MAX, &it->tensor_id, ctx, err) ||
        get_bool(m, "ok", &ok, ctx, err))
        return -1;
    it->ok = ok;
    if (ok) {
        const msgpack_object *q;
        int has_q = map_find(m, "qhash", &q, ctx, err);
        if (has_q < 0 || forbid(m, "error", "when 'ok' is true", ctx, err)) return -1;
        if (has_q == 0) return decode_raw(m, &it->raw, ctx, err);
        /* a quantized item: its output's hashes, and no metrics */
        if (forbid(m, "raw", "with 'qhash'", ctx, err)) return -1;
        if (q->type != MSGPACK_OBJECT_ARRAY) return wrong_type(q, ctx, "qhash", "an array", err);
        if (q->via.array.size != SWAN_QPARTS)
            return swan_error_set(err, "%s: field 'qhash' has %" PRIu32 " values, expected %d", ctx,
                                  q->via.array.size, SWAN_QPARTS);
        for (int p = 0; p < SWAN_QPARTS; p++)
            if (to_uint(&q->via.array.ptr[p], UINT64_MAX, &it->qhash[p], ctx, "qhash", err)) return -1;
        it->quantized = true;
        return 0;
    }
    return forbid(m, "raw", "when 'ok' is false", ctx, err) ||
                   forbid(m, "qhash", "when 'ok' is false", ctx, err) ||
                   get_str(owner, m, "error", false, &it->error, ctx, err)
               ? -1 : 0;
}

static int decode_result(swan_msg *owner, const msgpack_object_map *m, swan_msg_result *r,
                         swan_error *err) {
    const msgpack_object_array *items;
    if (get_u64(m, "task_id", &r->task_id, "result", err) || get_items(m, "result", &items, err))
        return -1;
    r->items = swan_msg_alloc(owner, (size_t)items->size * sizeof *r->items);
    if (!r->items) return swan_error_set(err, "result: out of memory for %" PRIu32 " items",
                                         items->size);
    r->nitems = items->size;
    for (uint32_t i = 0; i < items->size; i++)
        if (decode_result_item(owner, &items->ptr[i], i, &r->items[i], err)) return -1;
    return 0;
}

/* Copies at most 32 bytes of an untrusted string for an error message, printable only. */
static void printable(const msgpack_object_str *s, char out[40]) {
    size_t n = s->size < 32 ? s->size : 32, j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s->ptr[i];
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s->size > 32) out[j++] = '.', out[j++] = '.', out[j++] = '.';
    out[j] = '\0';
}

/* Reads "type" and "v"; the version is checked first, because a peer speaking another
 * version may well use message types this build does not know. */
static int decode_header(const msgpack_object_map *m, swan_msg_type *type, swan_error *err) {
    const msgpack_object *t, *v;
    uint64_t ver;
    if (need(m, "type", &t, "message", err)) return -1;
    if (t->type != MSGPACK_OBJECT_STR) return wrong_type(t, "message", "type", "a string", err);
    if (need(m, "v", &v, "message", err) || to_uint(v, UINT64_MAX, &ver, "message", "v", err))
        return -1;
    if (ver != SWAN_PROTO_VERSION)
        return swan_error_set(err, "message: protocol version %" PRIu64 " received, this build "
                              "speaks version %d", ver, SWAN_PROTO_VERSION);
    const msgpack_object_str *s = &t->via.str;
    for (int i = 1; i < TYPE_COUNT; i++) {
        size_t n = strlen(type_names[i]);
        if (s->size == n && memcmp(s->ptr, type_names[i], n) == 0) {
            *type = (swan_msg_type)i;
            return 0;
        }
    }
    char shown[40];
    printable(s, shown);
    return swan_error_set(err, "message: unknown message type \"%s\"", shown);
}

/* A "shards" array, at most SWAN_MSG_MAX_ITEMS long. */
static int get_shards(const msgpack_object_map *m, const char *ctx, const msgpack_object_array **out,
                      swan_error *err) {
    const msgpack_object *o;
    if (need(m, "shards", &o, ctx, err)) return -1;
    if (o->type != MSGPACK_OBJECT_ARRAY) return wrong_type(o, ctx, "shards", "an array", err);
    if (o->via.array.size > SWAN_MSG_MAX_ITEMS)
        return swan_error_set(err, "%s: %" PRIu32 " shards, above the limit %d", ctx, o->via.array.size,
                              SWAN_MSG_MAX_ITEMS);
    *out = &o->via.array;
    return 0;
}

static int decode_challenge(swan_msg *owner, const msgpack_object_map *m, swan_msg_challenge *c,
                            swan_error *err) {
    const msgpack_object_array *a;
    if (get_u64(m, "nonce", &c->nonce, "challenge", err) ||
        get_str(owner, m, "root", false, &c->root, "challenge", err) ||
        get_shards(m, "challenge", &a, err))
        return -1;
    const char **shards = swan_msg_alloc(owner, (size_t)a->size * sizeof *shards);
    if (!shards) return swan_error_set(err, "challenge: out of memory");
    for (uint32_t i = 0; i < a->size; i++)
        if (copy_str(owner, &a->ptr[i], true, &shards[i], "challenge", "shards", "strings", err))
            return -1;
    c->shards = shards;
    c->nshards = a->size;
    return 0;
}

static int decode_identity(swan_msg *owner, const msgpack_object_map *m, swan_msg_identity *d,
                           swan_error *err) {
    const msgpack_object_array *a;
    if (get_bool(m, "stream", &d->stream, "identity", err) || get_shards(m, "identity", &a, err))
        return -1;
    d->shards = swan_msg_alloc(owner, (size_t)a->size * sizeof *d->shards);
    if (!d->shards) return swan_error_set(err, "identity: out of memory");
    for (uint32_t i = 0; i < a->size; i++) {
        char ctx[48];
        item_context(ctx, "identity: shard ", i);
        const msgpack_object_map *sm;
        swan_shard_identity *x = &d->shards[i];
        if (as_map(&a->ptr[i], ctx, NULL, &sm, err) ||
            get_str(owner, sm, "name", true, &x->name, ctx, err) ||
            get_bool(sm, "present", &x->present, ctx, err) || get_u64(sm, "size", &x->size, ctx, err) ||
            get_u64(sm, "header_hash", &x->header_hash, ctx, err) ||
            get_u64(sm, "sample_hash", &x->sample_hash, ctx, err))
            return -1;
    }
    d->nshards = a->size;
    return 0;
}

static int decode_chunk(const msgpack_object_map *m, swan_msg_chunk *c, const char *ctx,
                        swan_error *err) {
    return get_u64(m, "task_id", &c->task_id, ctx, err) ||
                   get_u32(m, "tensor_id", UINT32_MAX, &c->tensor_id, ctx, err) ||
                   get_u32(m, "part", UINT32_MAX, &c->part, ctx, err) ||
                   get_u64(m, "offset", &c->offset, ctx, err) ||
                   get_u32(m, "nbytes", UINT32_MAX, &c->nbytes, ctx, err) || check_chunk(c, ctx, err)
               ? -1 : 0;
}

/* QCHUNK: the bytes are a msgpack bin, copied into the message's arena. */
static int decode_qchunk(swan_msg *owner, const msgpack_object_map *m, swan_msg_qchunk *c,
                         swan_error *err) {
    const msgpack_object *d;
    if (get_u64(m, "task_id", &c->task_id, "qchunk", err) ||
        get_u32(m, "tensor_id", UINT32_MAX, &c->tensor_id, "qchunk", err) ||
        get_u32(m, "part", UINT32_MAX, &c->part, "qchunk", err) ||
        get_u64(m, "offset", &c->offset, "qchunk", err) || need(m, "data", &d, "qchunk", err))
        return -1;
    if (d->type != MSGPACK_OBJECT_BIN) return wrong_type(d, "qchunk", "data", "a binary", err);
    if (d->via.bin.size > SWAN_QCHUNK_MAX)
        return swan_error_set(err, "qchunk: field 'data' holds %" PRIu32 " bytes, expected 1 to %u",
                              d->via.bin.size, SWAN_QCHUNK_MAX);
    c->nbytes = d->via.bin.size;
    if (check_qchunk(c, err)) return -1;
    unsigned char *copy = arena_take(owner, c->nbytes, 1);
    if (!copy) return swan_error_set(err, "qchunk: out of memory for %" PRIu32 " bytes", c->nbytes);
    memcpy(copy, d->via.bin.ptr, c->nbytes);
    c->data = copy;
    return 0;
}

static int decode_object(const msgpack_object *o, swan_msg *out, swan_error *err) {
    const msgpack_object_map *m;
    swan_msg_type type = SWAN_MSG_SHUTDOWN;
    if (as_map(o, "message", NULL, &m, err) || decode_header(m, &type, err)) return -1;
    out->type = type;
    switch (type) {
    case SWAN_MSG_HELLO: return decode_hello(out, m, &out->u.hello, err);
    case SWAN_MSG_TASK: return decode_task(out, m, &out->u.task, err);
    case SWAN_MSG_RESULT: return decode_result(out, m, &out->u.result, err);
    case SWAN_MSG_HEARTBEAT:
        return get_u64(m, "task_id", &out->u.heartbeat.task_id, "heartbeat", err);
    case SWAN_MSG_SHUTDOWN: return 0;
    case SWAN_MSG_FATAL:
        return get_str(out, m, "reason", false, &out->u.fatal.reason, "fatal", err);
    case SWAN_MSG_REFUSED:
        return get_str(out, m, "reason", false, &out->u.refused.reason, "refused", err);
    case SWAN_MSG_CHALLENGE: return decode_challenge(out, m, &out->u.challenge, err);
    case SWAN_MSG_IDENTITY: return decode_identity(out, m, &out->u.identity, err);
    case SWAN_MSG_FETCH:
    case SWAN_MSG_CHUNK: return decode_chunk(m, &out->u.chunk, swan_msg_type_name(type), err);
    case SWAN_MSG_QCHUNK: return decode_qchunk(out, m, &out->u.qchunk, err);
    case SWAN_MSG_QACK: return get_u64(m, "task_id", &out->u.qack.task_id, "qack", err);
    }
    return swan_error_set(err, "message: unknown message type");
}

int swan_msg_decode(const void *buf, size_t len, swan_msg *out, swan_error *err) {
    memset(out, 0, sizeof *out);
    if (!buf || len == 0) return swan_error_set(err, "message: empty");
    if (scan_msgpack(buf, len, err)) return -1;

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&up, buf, len, &off);
    int rc;
    if (r == MSGPACK_UNPACK_CONTINUE)
        rc = swan_error_set(err, "message: truncated after %zu bytes", len);
    else if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        rc = swan_error_set(err, "message: out of memory unpacking %zu bytes", len);
    else if (r != MSGPACK_UNPACK_SUCCESS && r != MSGPACK_UNPACK_EXTRA_BYTES)
        rc = swan_error_set(err, "message: malformed msgpack (%zu bytes)", len);
    else if (off != len)
        rc = swan_error_set(err, "message: %zu trailing bytes after the message", len - off);
    else
        rc = decode_object(&up.data, out, err);
    msgpack_unpacked_destroy(&up);
    if (rc) swan_msg_free(out);
    return rc;
}

/* ------------------------------------------------------------------- free */

void swan_msg_free(swan_msg *msg) {
    if (!msg) return;
    for (swan_msg_block *b = msg->owned; b;) {
        swan_msg_block *prev = b->prev;
        free(b);
        b = prev;
    }
    memset(msg, 0, sizeof *msg);
}
