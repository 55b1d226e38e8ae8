/* test_proto_messages.c: the msgpack codec of proto/messages.h.
 *
 * Round trips of every message type with every field compared (extreme values,
 * maximum dims and items, longest strings); every prefix of an encoded TASK and
 * RESULT refused; hand-made hostile messages refused with a message naming the field
 * (built by unpacking a valid message into a msgpack_object tree, editing the tree and
 * packing it again); a seeded fuzz loop of byte edits that must never crash and,
 * when a mutant decodes, must re-encode and decode again identically.
 * The key names asserted here are the ones documented in docs/protocol.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/messages.h"

/* ---------------------------------------------------------------- helpers */

/* Messages built here keep their strings in their own arena (the ownership rule of
 * proto/messages.h), so one swan_msg_free releases a built message as a decoded one. */
static const char *xstrdup(swan_msg *m, const char *s) {
    const char *p = swan_msg_strdup(m, s);
    assert_non_null(p);
    return p;
}

static const char *repeat(swan_msg *m, char c, size_t n) {
    char *p = swan_msg_alloc(m, n + 1);
    assert_non_null(p);
    memset(p, c, n);
    p[n] = '\0';
    return p;
}

static char *encode_ok(const swan_msg *m, size_t *len) {
    swan_error err = {{0}};
    char *buf = NULL;
    int rc = swan_msg_encode(m, &buf, len, &err);
    if (rc != 0) fail_msg("encode failed: %s", err.msg);
    assert_non_null(buf);
    assert_true(*len > 0);
    return buf;
}

/* Decodes from an exact-size heap copy, so that valgrind sees any over-read. */
static int decode_copy(const char *buf, size_t len, swan_msg *out, swan_error *err) {
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, buf, len);
    int rc = swan_msg_decode(copy, len, out, err);
    free(copy);
    return rc;
}

static void roundtrip(const swan_msg *in, swan_msg *out) {
    size_t len;
    char *buf = encode_ok(in, &len);
    swan_error err = {{0}};
    int rc = decode_copy(buf, len, out, &err);
    free(buf);
    if (rc != 0) fail_msg("decode failed: %s", err.msg);
    assert_int_equal(out->type, in->type);
}

static void assert_same_double(double a, double b) {
    /* Bit equality: the wire carries float64, so even -0.0 must survive. */
    if (memcmp(&a, &b, sizeof a) != 0) fail_msg("double %.17g != %.17g", a, b);
}

static void assert_fails_with(const char *buf, size_t len, const char *needle) {
    swan_msg out;
    swan_error err = {{0}};
    int rc = decode_copy(buf, len, &out, &err);
    if (rc == 0) {
        swan_msg_free(&out);
        fail_msg("decode accepted a message that must fail with \"%s\"", needle);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(out.type, 0); /* nothing left to free */
    if (!strstr(err.msg, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
    assert_null(strchr(err.msg, '\n'));
}

/* ------------------------------------------------------- sample messages */

static void make_hello(swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_HELLO;
    m->u.hello.pid = UINT32_MAX;
    m->u.hello.threads = 7;
    m->u.hello.host = xstrdup(m, "node-17.example.org");
}

/* Item 0: max dims and extreme integers; item 1: scalar with the longest name;
 * item 2: an ordinary 2-D tensor. */
static void make_task(swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_TASK;
    swan_msg_task *t = &m->u.task;
    t->task_id = UINT64_MAX;
    t->seed = 0x0123456789abcdefULL;
    t->nitems = 3;
    t->items = swan_msg_alloc(m, 3 * sizeof *t->items);
    assert_non_null(t->items);

    swan_task_item *a = &t->items[0];
    a->tensor_id = UINT32_MAX;
    a->name = xstrdup(m, "model.layers.0.mlp.experts.7.w1.weight");
    a->path = xstrdup(m, "/models/shard-00001-of-00004.safetensors");
    a->dtype = xstrdup(m, "BF16");
    a->ndim = SWAN_MAX_DIMS;
    for (uint32_t d = 0; d < SWAN_MAX_DIMS; d++) a->shape[d] = UINT64_MAX - d;
    a->offset = UINT64_MAX;
    a->nbytes = UINT64_MAX - 1;

    swan_task_item *b = &t->items[1];
    b->tensor_id = 0;
    b->name = repeat(m, 'n', SWAN_MSG_MAX_STRING);
    b->path = repeat(m, 'p', SWAN_MSG_MAX_STRING);
    b->dtype = xstrdup(m, "F32");
    b->ndim = 0;
    b->offset = 0;
    b->nbytes = 4;

    swan_task_item *c = &t->items[2];
    c->tensor_id = 12345;
    c->name = xstrdup(m, ""); /* safetensors allows an empty tensor name */
    c->path = xstrdup(m, "s.safetensors");
    c->dtype = xstrdup(m, "F8_E4M3"); /* an FP8 weight with its block scales */
    c->ndim = 2;
    c->shape[0] = 4096;
    c->shape[1] = 11008;
    c->offset = 8 + 1024;
    c->nbytes = 4096ULL * 11008;
    c->scale_path = xstrdup(m, "t.safetensors");
    c->scale_dtype = xstrdup(m, "F32");
    c->scale_offset = UINT64_MAX - 7;
    c->scale_rows = 32;
    c->scale_cols = 86;
    c->block_rows = 128;
    c->block_cols = UINT64_MAX;
}

/* Item 0: extreme values; item 1: failed; item 2: ordinary values. */
static void make_result(swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_RESULT;
    swan_msg_result *r = &m->u.result;
    r->task_id = 42;
    r->nitems = 3;
    r->items = swan_msg_alloc(m, 3 * sizeof *r->items);
    assert_non_null(r->items);

    swan_result_item *a = &r->items[0];
    a->tensor_id = UINT32_MAX;
    a->ok = 1;
    a->raw.svd_concentration = DBL_MAX;
    a->raw.kurtosis = -DBL_MAX;
    a->raw.output_delta = DBL_MIN;
    a->raw.rtn_nrmse = 4.9406564584124654e-324; /* smallest subnormal */
    a->raw.w_min = -0.0;
    a->raw.w_max = 0.1;
    a->raw.rows = UINT64_MAX;
    a->raw.cols = UINT64_MAX - 1;
    a->raw.nonfinite = UINT64_MAX - 2;
    a->raw.spectral_method = SWAN_SPECTRAL_RANDOMIZED;
    a->raw.spectral_rank = UINT32_MAX;
    a->raw.data_hash = UINT64_MAX; /* the full 64-bit range survives the wire */
    a->raw.seconds = 1e-9;
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
            a->raw.mlx_nrmse[i][j] = j == 2 ? -1.0 : 0.5 / (1 << i) + j * 1e-17;

    swan_result_item *b = &r->items[1];
    b->tensor_id = 7;
    b->ok = 0;
    b->error = xstrdup(m, "shard.safetensors: tensor 'x': offset beyond end of file");

    swan_result_item *c = &r->items[2];
    c->tensor_id = 8;
    c->ok = 1;
    c->raw.svd_concentration = 0.25;
    c->raw.kurtosis = 3.5;
    c->raw.output_delta = 0.0625;
    c->raw.rtn_nrmse = 0.1;
    c->raw.w_min = -1.5;
    c->raw.w_max = 2.25;
    c->raw.rows = 64;
    c->raw.cols = 128;
    c->raw.nonfinite = 0;
    c->raw.spectral_method = SWAN_SPECTRAL_GRAM_EXACT;
    c->raw.spectral_rank = 64;
    c->raw.data_hash = 0x0123456789abcdefull;
    c->raw.seconds = 0.5;
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++) c->raw.mlx_nrmse[i][j] = 0.3 - 0.01 * (3 * i + j);
}

static void make_heartbeat(swan_msg *m, uint64_t task_id) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_HEARTBEAT;
    m->u.heartbeat.task_id = task_id;
}

static void make_fatal(swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_FATAL;
    m->u.fatal.reason = xstrdup(m, "cannot open /models/a.safetensors: Permission denied");
}

static void make_shutdown(swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_SHUTDOWN;
}

static void assert_raw_equal(const swan_raw_metrics *a, const swan_raw_metrics *b) {
    assert_same_double(a->svd_concentration, b->svd_concentration);
    assert_same_double(a->kurtosis, b->kurtosis);
    assert_same_double(a->output_delta, b->output_delta);
    assert_same_double(a->rtn_nrmse, b->rtn_nrmse);
    assert_same_double(a->w_min, b->w_min);
    assert_same_double(a->w_max, b->w_max);
    assert_same_double(a->seconds, b->seconds);
    assert_true(a->rows == b->rows);
    assert_true(a->cols == b->cols);
    assert_true(a->nonfinite == b->nonfinite);
    assert_int_equal(a->spectral_method, b->spectral_method);
    assert_int_equal(a->spectral_rank, b->spectral_rank);
    assert_true(a->data_hash == b->data_hash);
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++) assert_same_double(a->mlx_nrmse[i][j], b->mlx_nrmse[i][j]);
}

static void assert_task_equal(const swan_msg_task *a, const swan_msg_task *b) {
    assert_true(a->task_id == b->task_id);
    assert_true(a->seed == b->seed);
    assert_int_equal(a->nitems, b->nitems);
    for (uint32_t i = 0; i < a->nitems; i++) {
        const swan_task_item *x = &a->items[i], *y = &b->items[i];
        assert_int_equal(x->tensor_id, y->tensor_id);
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->path, y->path);
        assert_string_equal(x->dtype, y->dtype);
        assert_int_equal(x->ndim, y->ndim);
        for (uint32_t d = 0; d < x->ndim; d++) assert_true(x->shape[d] == y->shape[d]);
        assert_true(x->offset == y->offset);
        assert_true(x->nbytes == y->nbytes);
        assert_int_equal(x->scale_path == NULL, y->scale_path == NULL);
        if (x->scale_path) {
            assert_string_equal(x->scale_path, y->scale_path);
            assert_string_equal(x->scale_dtype, y->scale_dtype);
            assert_true(x->scale_offset == y->scale_offset);
            assert_true(x->scale_rows == y->scale_rows && x->scale_cols == y->scale_cols);
            assert_true(x->block_rows == y->block_rows && x->block_cols == y->block_cols);
        }
    }
}

static void assert_result_equal(const swan_msg_result *a, const swan_msg_result *b) {
    assert_true(a->task_id == b->task_id);
    assert_int_equal(a->nitems, b->nitems);
    for (uint32_t i = 0; i < a->nitems; i++) {
        const swan_result_item *x = &a->items[i], *y = &b->items[i];
        assert_int_equal(x->tensor_id, y->tensor_id);
        assert_int_equal(x->ok, y->ok);
        if (x->ok) {
            assert_null(y->error);
            assert_raw_equal(&x->raw, &y->raw);
        } else {
            assert_string_equal(x->error, y->error);
        }
    }
}

/* ------------------------------------------------------------ round trips */

static void test_type_names(void **state) {
    (void)state;
    assert_string_equal(swan_msg_type_name(SWAN_MSG_HELLO), "hello");
    assert_string_equal(swan_msg_type_name(SWAN_MSG_TASK), "task");
    assert_string_equal(swan_msg_type_name(SWAN_MSG_RESULT), "result");
    assert_string_equal(swan_msg_type_name(SWAN_MSG_HEARTBEAT), "heartbeat");
    assert_string_equal(swan_msg_type_name(SWAN_MSG_SHUTDOWN), "shutdown");
    assert_string_equal(swan_msg_type_name(SWAN_MSG_FATAL), "fatal");
    assert_string_equal(swan_msg_type_name((swan_msg_type)0), "unknown");
    assert_string_equal(swan_msg_type_name((swan_msg_type)99), "unknown");
}

static void test_roundtrip_hello(void **state) {
    (void)state;
    swan_msg in, out;
    make_hello(&in);
    roundtrip(&in, &out);
    assert_int_equal(out.u.hello.pid, UINT32_MAX);
    assert_int_equal(out.u.hello.threads, 7);
    assert_string_equal(out.u.hello.host, "node-17.example.org");
    swan_msg_free(&out);
    assert_int_equal(out.type, 0);

    /* Longest host name, and an empty one. */
    in.u.hello.host = repeat(&in, 'h', SWAN_MSG_MAX_STRING);
    roundtrip(&in, &out);
    assert_string_equal(out.u.hello.host, in.u.hello.host);
    swan_msg_free(&out);
    in.u.hello.host = xstrdup(&in, "");
    in.u.hello.pid = 0;
    roundtrip(&in, &out);
    assert_string_equal(out.u.hello.host, "");
    assert_int_equal(out.u.hello.pid, 0);
    swan_msg_free(&out);
    swan_msg_free(&in);
}

static void test_roundtrip_task(void **state) {
    (void)state;
    swan_msg in, out;
    make_task(&in);
    roundtrip(&in, &out);
    assert_task_equal(&in.u.task, &out.u.task);
    assert_int_equal(out.u.task.items[0].ndim, SWAN_MAX_DIMS);
    assert_true(out.u.task.items[0].offset == UINT64_MAX);
    assert_int_equal(strlen(out.u.task.items[1].name), SWAN_MSG_MAX_STRING);
    swan_msg_free(&out);
    swan_msg_free(&in);
}

static void test_roundtrip_task_empty(void **state) {
    (void)state;
    swan_msg in, out;
    memset(&in, 0, sizeof in);
    in.type = SWAN_MSG_TASK;
    in.u.task.task_id = 1;
    in.u.task.seed = UINT64_MAX;
    roundtrip(&in, &out);
    assert_int_equal(out.u.task.nitems, 0);
    assert_true(out.u.task.seed == UINT64_MAX);
    assert_true(out.u.task.task_id == 1);
    swan_msg_free(&out);
}

static void test_roundtrip_result(void **state) {
    (void)state;
    swan_msg in, out;
    make_result(&in);
    roundtrip(&in, &out);
    assert_result_equal(&in.u.result, &out.u.result);
    assert_true(signbit(out.u.result.items[0].raw.w_min));
    assert_true(out.u.result.items[0].raw.svd_concentration == DBL_MAX);
    assert_int_equal(out.u.result.items[1].ok, 0);
    swan_msg_free(&out);
    swan_msg_free(&in);
}

static void test_roundtrip_result_empty(void **state) {
    (void)state;
    swan_msg in, out;
    memset(&in, 0, sizeof in);
    in.type = SWAN_MSG_RESULT;
    in.u.result.task_id = UINT64_MAX;
    roundtrip(&in, &out);
    assert_int_equal(out.u.result.nitems, 0);
    assert_true(out.u.result.task_id == UINT64_MAX);
    swan_msg_free(&out);
}

static void test_roundtrip_small_messages(void **state) {
    (void)state;
    swan_msg in, out;
    make_heartbeat(&in, 0);
    roundtrip(&in, &out);
    assert_true(out.u.heartbeat.task_id == 0);
    make_heartbeat(&in, UINT64_MAX);
    roundtrip(&in, &out);
    assert_true(out.u.heartbeat.task_id == UINT64_MAX);

    make_shutdown(&in);
    roundtrip(&in, &out);
    assert_int_equal(out.type, SWAN_MSG_SHUTDOWN);
    swan_msg_free(&out);

    make_fatal(&in);
    roundtrip(&in, &out);
    assert_string_equal(out.u.fatal.reason, in.u.fatal.reason);
    swan_msg_free(&out);
    swan_msg_free(&in);
}

/* Exactly SWAN_MSG_MAX_ITEMS items pass both ways; one more is refused by both. */
static void test_max_items(void **state) {
    (void)state;
    swan_msg in, out;
    memset(&in, 0, sizeof in);
    in.type = SWAN_MSG_TASK;
    in.u.task.task_id = 9;
    in.u.task.nitems = SWAN_MSG_MAX_ITEMS;
    in.u.task.items = swan_msg_alloc(&in, SWAN_MSG_MAX_ITEMS * sizeof *in.u.task.items);
    assert_non_null(in.u.task.items);
    for (uint32_t i = 0; i < SWAN_MSG_MAX_ITEMS; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%u", i);
        swan_task_item *it = &in.u.task.items[i];
        it->tensor_id = i;
        it->name = xstrdup(&in, name);
        it->path = "a.safetensors"; /* borrowed: a literal outlives the message */
        it->dtype = "F32";
        it->ndim = 1;
        it->shape[0] = i;
        it->offset = (uint64_t)i * 4;
        it->nbytes = (uint64_t)i * 4;
    }
    roundtrip(&in, &out);
    assert_task_equal(&in.u.task, &out.u.task);
    swan_msg_free(&out);
    swan_msg_free(&in);

    /* A RESULT of SWAN_MSG_MAX_ITEMS successful items: the most values a message has. */
    memset(&in, 0, sizeof in);
    in.type = SWAN_MSG_RESULT;
    in.u.result.nitems = SWAN_MSG_MAX_ITEMS;
    in.u.result.items = swan_msg_alloc(&in, SWAN_MSG_MAX_ITEMS * sizeof *in.u.result.items);
    assert_non_null(in.u.result.items);
    for (uint32_t i = 0; i < SWAN_MSG_MAX_ITEMS; i++) {
        in.u.result.items[i].tensor_id = i;
        in.u.result.items[i].ok = 1;
        in.u.result.items[i].raw.kurtosis = i * 0.5;
        in.u.result.items[i].raw.rows = i;
    }
    roundtrip(&in, &out);
    assert_result_equal(&in.u.result, &out.u.result);
    swan_msg_free(&out);
    swan_msg_free(&in);

    /* The encoder checks the count before touching items. */
    memset(&in, 0, sizeof in);
    in.type = SWAN_MSG_RESULT;
    in.u.result.nitems = SWAN_MSG_MAX_ITEMS + 1;
    char *buf = NULL;
    size_t len = 0;
    swan_error err = {{0}};
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    assert_null(buf);
    assert_non_null(strstr(err.msg, "result: 65537 items"));
    in.type = SWAN_MSG_TASK;
    in.u.task.nitems = SWAN_MSG_MAX_ITEMS + 1;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    assert_null(buf);
    assert_non_null(strstr(err.msg, "task: 65537 items"));

    /* The decoder refuses the count before decoding any item (here: nils). */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str(&pk, 4), msgpack_pack_str_body(&pk, "type", 4);
    msgpack_pack_str(&pk, 4), msgpack_pack_str_body(&pk, "task", 4);
    msgpack_pack_str(&pk, 1), msgpack_pack_str_body(&pk, "v", 1);
    msgpack_pack_uint64(&pk, SWAN_PROTO_VERSION);
    msgpack_pack_str(&pk, 7), msgpack_pack_str_body(&pk, "task_id", 7);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str(&pk, 4), msgpack_pack_str_body(&pk, "seed", 4);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str(&pk, 4), msgpack_pack_str_body(&pk, "kind", 4);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_str(&pk, 5), msgpack_pack_str_body(&pk, "items", 5);
    msgpack_pack_array(&pk, SWAN_MSG_MAX_ITEMS + 1);
    for (int i = 0; i < SWAN_MSG_MAX_ITEMS + 1; i++) msgpack_pack_nil(&pk);
    assert_fails_with(sb.data, sb.size, "65537 items, above the limit 65536");
    msgpack_sbuffer_destroy(&sb);
}

/* ------------------------------------------------------------ ownership */

/* Every string field is `const char *` (issue 9: no casts away of const to send). */
#define IS_CONST_STR(x) _Generic((x), const char *: 1, default: 0)
static const swan_msg probe_msg;
_Static_assert(IS_CONST_STR(probe_msg.u.hello.host), "hello.host");
_Static_assert(IS_CONST_STR(probe_msg.u.task.items->name), "task item name");
_Static_assert(IS_CONST_STR(probe_msg.u.task.items->path), "task item path");
_Static_assert(IS_CONST_STR(probe_msg.u.task.items->dtype), "task item dtype");
_Static_assert(IS_CONST_STR(probe_msg.u.task.items->scale_path), "task item scale_path");
_Static_assert(IS_CONST_STR(probe_msg.u.task.items->scale_dtype), "task item scale_dtype");
_Static_assert(IS_CONST_STR(probe_msg.u.result.items->error), "result item error");
_Static_assert(IS_CONST_STR(probe_msg.u.fatal.reason), "fatal.reason");
_Static_assert(IS_CONST_STR(probe_msg.u.refused.reason), "refused.reason");
_Static_assert(IS_CONST_STR(probe_msg.u.challenge.root), "challenge.root");
_Static_assert(IS_CONST_STR(probe_msg.u.challenge.shards[0]), "challenge.shards");
_Static_assert(IS_CONST_STR(probe_msg.u.identity.shards->name), "identity shard name");

/* An outgoing message may borrow every string (literals, a stack buffer, the names
 * swan_dtype_name returns): it encodes, and swan_msg_free leaves them alone (freeing
 * a literal would abort) and zeroes the message. */
static void test_borrowed_strings(void **state) {
    (void)state;
    char host[] = "stack-host";
    swan_msg in = {.type = SWAN_MSG_HELLO}, out;
    in.u.hello.host = host;
    roundtrip(&in, &out);
    assert_string_equal(out.u.hello.host, "stack-host");
    assert_ptr_not_equal(out.u.hello.host, host);
    swan_msg_free(&in);
    assert_int_equal(in.type, 0);
    assert_string_equal(host, "stack-host");
    swan_msg_free(&out);

    swan_task_item item = {.name = "w", .path = "a.safetensors", .dtype = "BF16", .ndim = 1};
    item.shape[0] = 8;
    item.nbytes = 16;
    in = (swan_msg){.type = SWAN_MSG_TASK};
    in.u.task.task_id = 3;
    in.u.task.nitems = 1;
    in.u.task.items = &item; /* even the array is borrowed */
    roundtrip(&in, &out);
    assert_task_equal(&in.u.task, &out.u.task);
    swan_msg_free(&in);
    assert_string_equal(item.dtype, "BF16");
    swan_msg_free(&out);
}

/* A decoded message owns everything it points to, through one arena: the strings are
 * NUL-terminated copies that outlive the received buffer, and one swan_msg_free
 * releases them all (the leak check of the sanitizer/valgrind runs sees the rest). */
static void test_decoded_strings_owned(void **state) {
    (void)state;
    swan_msg in, out;
    make_task(&in);
    size_t len;
    char *buf = encode_ok(&in, &len);
    swan_error err = {{0}};
    assert_int_equal(swan_msg_decode(buf, len, &out, &err), 0);
    memset(buf, 0xAA, len); /* the received frame is gone: nothing may point into it */
    assert_non_null(out.owned);
    assert_task_equal(&in.u.task, &out.u.task);
    free(buf);
    swan_msg moved = out; /* moving the struct moves the arena */
    memset(&out, 0, sizeof out);
    assert_task_equal(&in.u.task, &moved.u.task);
    swan_msg_free(&moved);
    assert_null(moved.owned);
    assert_int_equal(moved.type, 0);
    swan_msg_free(&in);
}

/* The arena: aligned blocks of any size, NUL-terminated copies, many small pieces. */
static void test_arena(void **state) {
    (void)state;
    swan_msg m = {.type = SWAN_MSG_RESULT};
    const char *odd = swan_msg_strndup(&m, "abcdef", 3);
    assert_string_equal(odd, "abc");
    for (size_t size = 1; size < 5000; size = size * 3 + 1) {
        unsigned char *p = swan_msg_alloc(&m, size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        for (size_t i = 0; i < size; i++) assert_int_equal(p[i], 0); /* zeroed */
        memset(p, 0x5c, size);
        assert_non_null(swan_msg_strdup(&m, "x")); /* leaves the next block unaligned */
    }
    unsigned char *big = swan_msg_alloc(&m, 3u << 20); /* larger than any block */
    assert_non_null(big);
    big[(3u << 20) - 1] = 1;
    const char *keep[2000];
    for (int i = 0; i < 2000; i++) {
        char s[16];
        snprintf(s, sizeof s, "s%d", i);
        keep[i] = swan_msg_strdup(&m, s);
        assert_non_null(keep[i]);
    }
    for (int i = 0; i < 2000; i++) {
        char s[16];
        snprintf(s, sizeof s, "s%d", i);
        assert_string_equal(keep[i], s);
    }
    assert_string_equal(odd, "abc");
    swan_msg_free(&m);
    assert_null(m.owned);
    swan_msg_free(&m); /* twice is harmless: the message is zeroed */
}

/* -------------------------------------------------------------- encoder */

static void expect_encode_error(const swan_msg *m, const char *needle) {
    char *buf = (char *)&buf; /* must be reset to NULL on failure */
    size_t len = 99;
    swan_error err = {{0}};
    assert_int_equal(swan_msg_encode(m, &buf, &len, &err), -1);
    assert_null(buf);
    assert_int_equal(len, 0);
    if (!strstr(err.msg, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
}

/* The encoder refuses what a peer's decoder would refuse, naming the field. */
static void test_encode_refuses_invalid(void **state) {
    (void)state;
    swan_msg m;
    make_result(&m);
    m.u.result.items[2].raw.kurtosis = NAN;
    expect_encode_error(&m, "result: item 2: field 'kurtosis' is not finite");
    m.u.result.items[2].raw.kurtosis = 1;
    m.u.result.items[0].raw.w_max = -INFINITY;
    expect_encode_error(&m, "field 'w_max' is not finite");
    m.u.result.items[0].raw.w_max = 1;
    m.u.result.items[0].raw.spectral_method = 3;
    expect_encode_error(&m, "spectral_method");
    m.u.result.items[0].raw.spectral_method = 0;
    /* A failed item's raw is never looked at: NaN there is fine. */
    m.u.result.items[1].raw.kurtosis = NAN;
    size_t len;
    free(encode_ok(&m, &len));
    m.u.result.items[1].error = NULL;
    expect_encode_error(&m, "field 'error' is NULL");
    swan_msg_free(&m);

    make_task(&m);
    m.u.task.items[2].ndim = SWAN_MAX_DIMS + 1;
    expect_encode_error(&m, "task: item 2: field 'ndim' is 9");
    m.u.task.items[2].ndim = 2;
    m.u.task.items[1].dtype = "";
    expect_encode_error(&m, "task: item 1: field 'dtype' is empty");
    m.u.task.items[1].name = repeat(&m, 'x', SWAN_MSG_MAX_STRING + 1);
    expect_encode_error(&m, "field 'name' is 4097 bytes long");
    swan_msg_free(&m);

    memset(&m, 0, sizeof m);
    m.type = (swan_msg_type)0;
    expect_encode_error(&m, "unknown type");
    m.type = SWAN_MSG_HELLO; /* host NULL */
    expect_encode_error(&m, "hello: field 'host' is NULL");
}

/* -------------------------------------------------------------- truncation */

static void check_all_prefixes(const swan_msg *m) {
    size_t len;
    char *buf = encode_ok(m, &len);
    for (size_t n = 0; n < len; n++) {
        swan_msg out;
        swan_error err = {{0}};
        int rc = decode_copy(buf, n, &out, &err);
        if (rc == 0) {
            swan_msg_free(&out);
            fail_msg("prefix of %zu of %zu bytes decoded", n, len);
        }
        assert_int_equal(out.type, 0);
        assert_true(err.msg[0] != '\0');
    }
    /* The whole buffer still decodes, so the loop above tested real prefixes. */
    swan_msg out;
    swan_error err = {{0}};
    assert_int_equal(decode_copy(buf, len, &out, &err), 0);
    swan_msg_free(&out);
    free(buf);
}

static void test_truncated_task(void **state) {
    (void)state;
    swan_msg m;
    make_task(&m);
    check_all_prefixes(&m);
    swan_msg_free(&m);
}

static void test_truncated_result(void **state) {
    (void)state;
    swan_msg m;
    make_result(&m);
    check_all_prefixes(&m);
    swan_msg_free(&m);
}

static void test_truncated_small(void **state) {
    (void)state;
    swan_msg m;
    make_hello(&m);
    check_all_prefixes(&m);
    swan_msg_free(&m);
    make_fatal(&m);
    check_all_prefixes(&m);
    swan_msg_free(&m);
    make_heartbeat(&m, 77);
    check_all_prefixes(&m);
    make_shutdown(&m);
    check_all_prefixes(&m);
}

/* ------------------------------------------- edited object trees (hostile) */

/* A valid message unpacked into an editable msgpack_object tree. Strings in the tree
 * point into buf; maps/arrays the test adds are malloc'd and listed in owned. */
typedef struct wire {
    char *buf;
    size_t len;
    msgpack_unpacked up;
    void *owned[16];
    int nowned;
} wire;

static void wire_open(wire *w, const swan_msg *m) {
    memset(w, 0, sizeof *w);
    w->buf = encode_ok(m, &w->len);
    msgpack_unpacked_init(&w->up);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&w->up, w->buf, w->len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, w->len);
}

static void *wire_alloc(wire *w, size_t n) {
    assert_true(w->nowned < 16);
    void *p = calloc(1, n);
    assert_non_null(p);
    w->owned[w->nowned++] = p;
    return p;
}

static void wire_close(wire *w) {
    msgpack_unpacked_destroy(&w->up);
    for (int i = 0; i < w->nowned; i++) free(w->owned[i]);
    free(w->buf);
}

/* Finds a value by a dotted path ("items.0.raw.kurtosis"; "" is the root). */
static msgpack_object *wire_at(wire *w, const char *path) {
    msgpack_object *o = &w->up.data;
    char part[64];
    while (*path) {
        size_t n = strcspn(path, ".");
        assert_true(n < sizeof part);
        memcpy(part, path, n);
        part[n] = '\0';
        path += n + (path[n] == '.');
        if (o->type == MSGPACK_OBJECT_ARRAY) {
            unsigned long i = strtoul(part, NULL, 10);
            assert_true(i < o->via.array.size);
            o = &o->via.array.ptr[i];
            continue;
        }
        assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
        msgpack_object *next = NULL;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            msgpack_object_str *k = &o->via.map.ptr[i].key.via.str;
            if (k->size == n && memcmp(k->ptr, part, n) == 0) next = &o->via.map.ptr[i].val;
        }
        if (!next) fail_msg("test bug: no key '%s'", part);
        o = next;
    }
    return o;
}

/* Splits "a.b.c" into the parent path "a.b" (in buf) and returns "c". */
static const char *split_parent(const char *path, char *buf, size_t size) {
    const char *dot = strrchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : 0;
    assert_true(n < size);
    memcpy(buf, path, n);
    buf[n] = '\0';
    return dot ? dot + 1 : path;
}

static void wire_omit(wire *w, const char *path) {
    char parent[128];
    const char *key = split_parent(path, parent, sizeof parent);
    msgpack_object *m = wire_at(w, parent);
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    msgpack_object_map *map = &m->via.map;
    for (uint32_t i = 0; i < map->size; i++) {
        msgpack_object_str *k = &map->ptr[i].key.via.str;
        if (k->size == strlen(key) && memcmp(k->ptr, key, k->size) == 0) {
            map->ptr[i] = map->ptr[map->size - 1];
            map->size--;
            return;
        }
    }
    fail_msg("test bug: no key '%s' to omit", key);
}

static void wire_add_kv(wire *w, const char *mappath, msgpack_object key, msgpack_object val) {
    msgpack_object *m = wire_at(w, mappath);
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    uint32_t n = m->via.map.size;
    msgpack_object_kv *kv = wire_alloc(w, (n + 1) * sizeof *kv);
    if (n) memcpy(kv, m->via.map.ptr, n * sizeof *kv);
    kv[n].key = key;
    kv[n].val = val;
    m->via.map.ptr = kv;
    m->via.map.size = n + 1;
}

static msgpack_object o_str(const char *s, size_t n) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)n;
    return o;
}

static msgpack_object o_cstr(const char *s) { return o_str(s, strlen(s)); }

static msgpack_object o_bin(const char *s) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_BIN;
    o.via.bin.ptr = s;
    o.via.bin.size = (uint32_t)strlen(s);
    return o;
}

static msgpack_object o_uint(uint64_t v) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.u64 = v;
    return o;
}

static msgpack_object o_neg(int64_t v) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    o.via.i64 = v;
    return o;
}

static msgpack_object o_f64(double v) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = v;
    return o;
}

static msgpack_object o_f32(double v) {
    msgpack_object o = o_f64(v);
    o.type = MSGPACK_OBJECT_FLOAT32;
    return o;
}

static msgpack_object o_bool(int v) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_BOOLEAN;
    o.via.boolean = v != 0;
    return o;
}

static msgpack_object o_nil(void) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_NIL;
    return o;
}

static msgpack_object o_map0(void) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_MAP;
    return o;
}

static msgpack_object o_array_uint(wire *w, uint32_t n, uint64_t v) {
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_ARRAY;
    o.via.array.size = n;
    o.via.array.ptr = wire_alloc(w, (n ? n : 1) * sizeof(msgpack_object));
    for (uint32_t i = 0; i < n; i++) o.via.array.ptr[i] = o_uint(v);
    return o;
}

static void wire_set(wire *w, const char *path, msgpack_object v) { *wire_at(w, path) = v; }

/* Packs the edited tree; the caller frees the returned buffer. */
static char *wire_pack(wire *w, size_t *len) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, w->up.data), 0);
    *len = sb.size;
    return msgpack_sbuffer_release(&sb);
}

static void wire_expect_fail(wire *w, const char *needle) {
    size_t len;
    char *buf = wire_pack(w, &len);
    assert_fails_with(buf, len, needle);
    free(buf);
}

static void wire_expect_ok(wire *w, swan_msg *out) {
    size_t len;
    char *buf = wire_pack(w, &len);
    swan_error err = {{0}};
    int rc = decode_copy(buf, len, out, &err);
    free(buf);
    if (rc != 0) fail_msg("edited message refused: %s", err.msg);
}

enum kind { K_UINT, K_STR, K_BOOL, K_ARRAY, K_MAP, K_NUM };

typedef struct field {
    const char *path;   /* dotted path in the sample message            */
    enum kind kind;
    const char *name;   /* how the error names it                       */
    int omittable;      /* 0 for array elements                         */
} field;

/* Every required field, independently of messages.c's own tables. */
static const field hello_fields[] = {
    {"type", K_STR, "type", 1}, {"v", K_UINT, "v", 1},       {"pid", K_UINT, "pid", 1},
    {"threads", K_UINT, "threads", 1}, {"host", K_STR, "host", 1},
};
static const field task_fields[] = {
    {"type", K_STR, "type", 1},
    {"v", K_UINT, "v", 1},
    {"task_id", K_UINT, "task_id", 1},
    {"seed", K_UINT, "seed", 1},
    {"kind", K_UINT, "kind", 1},
    {"items", K_ARRAY, "items", 1},
    {"items.2.tensor_id", K_UINT, "tensor_id", 1},
    {"items.2.name", K_STR, "name", 1},
    {"items.2.path", K_STR, "path", 1},
    {"items.2.dtype", K_STR, "dtype", 1},
    {"items.2.ndim", K_UINT, "ndim", 1},
    {"items.2.shape", K_ARRAY, "shape", 1},
    {"items.2.shape.1", K_UINT, "shape[1]", 0},
    {"items.2.offset", K_UINT, "offset", 1},
    {"items.2.nbytes", K_UINT, "nbytes", 1},
};
static const field result_fields[] = {
    {"type", K_STR, "type", 1},
    {"v", K_UINT, "v", 1},
    {"task_id", K_UINT, "task_id", 1},
    {"items", K_ARRAY, "items", 1},
    {"items.2.tensor_id", K_UINT, "tensor_id", 1},
    {"items.2.ok", K_BOOL, "ok", 1},
    {"items.2.raw", K_MAP, "raw", 1},
    {"items.2.raw.svd_concentration", K_NUM, "svd_concentration", 1},
    {"items.2.raw.kurtosis", K_NUM, "kurtosis", 1},
    {"items.2.raw.output_delta", K_NUM, "output_delta", 1},
    {"items.2.raw.rtn_nrmse", K_NUM, "rtn_nrmse", 1},
    {"items.2.raw.w_min", K_NUM, "w_min", 1},
    {"items.2.raw.w_max", K_NUM, "w_max", 1},
    {"items.2.raw.seconds", K_NUM, "seconds", 1},
    {"items.2.raw.rows", K_UINT, "rows", 1},
    {"items.2.raw.cols", K_UINT, "cols", 1},
    {"items.2.raw.nonfinite", K_UINT, "nonfinite", 1},
    {"items.2.raw.spectral_method", K_UINT, "spectral_method", 1},
    {"items.2.raw.spectral_rank", K_UINT, "spectral_rank", 1},
    {"items.2.raw.data_hash", K_UINT, "data_hash", 1},
    {"items.2.raw.mlx_nrmse", K_ARRAY, "mlx_nrmse", 1},
    {"items.2.raw.mlx_nrmse.4", K_NUM, "mlx_nrmse", 0},
    {"items.1.error", K_STR, "error", 1},
    {"items.1.ok", K_BOOL, "ok", 1},
};
static const field heartbeat_fields[] = {
    {"type", K_STR, "type", 1}, {"v", K_UINT, "v", 1}, {"task_id", K_UINT, "task_id", 1},
};
static const field fatal_fields[] = {
    {"type", K_STR, "type", 1}, {"v", K_UINT, "v", 1}, {"reason", K_STR, "reason", 1},
};

static const field chunk_fields[] = {
    {"type", K_STR, "type", 1},         {"v", K_UINT, "v", 1},
    {"task_id", K_UINT, "task_id", 1},  {"tensor_id", K_UINT, "tensor_id", 1},
    {"part", K_UINT, "part", 1},        {"offset", K_UINT, "offset", 1},
    {"nbytes", K_UINT, "nbytes", 1},
};

/* For each field: omitting it, and every wrong msgpack type for it, is refused with
 * an error that names the field. */
static void check_fields(void (*make)(swan_msg *), const field *fields, size_t n) {
    swan_msg m;
    make(&m);
    for (size_t i = 0; i < n; i++) {
        const field *f = &fields[i];
        char needle[96];
        wire w;
        if (f->omittable) {
            wire_open(&w, &m);
            wire_omit(&w, f->path);
            snprintf(needle, sizeof needle, "missing field '%s'", f->name);
            wire_expect_fail(&w, needle);
            wire_close(&w);
        }
        msgpack_object wrong[6];
        int nw = 0;
        wrong[nw++] = o_nil();
        wrong[nw++] = o_map0();
        if (f->kind != K_STR) wrong[nw++] = o_cstr("7");
        if (f->kind != K_UINT && f->kind != K_NUM) wrong[nw++] = o_uint(1);
        if (f->kind != K_BOOL) wrong[nw++] = o_bool(1);
        if (f->kind == K_STR) wrong[nw++] = o_bin("abc");
        if (f->kind == K_UINT) wrong[nw++] = o_f64(1.0);
        for (int j = 0; j < nw; j++) {
            if (f->kind == K_MAP && wrong[j].type == MSGPACK_OBJECT_MAP) continue;
            wire_open(&w, &m);
            wire_set(&w, f->path, wrong[j]);
            snprintf(needle, sizeof needle, "field '%s' is ", f->name);
            wire_expect_fail(&w, needle);
            wire_close(&w);
        }
        if (f->kind == K_UINT) {
            wire_open(&w, &m);
            wire_set(&w, f->path, o_neg(-1));
            snprintf(needle, sizeof needle, "field '%s' is negative (-1)", f->name);
            wire_expect_fail(&w, needle);
            wire_close(&w);
        }
    }
    swan_msg_free(&m);
}

static void make_heartbeat5(swan_msg *m) { make_heartbeat(m, 5); }

static void make_fetch(swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_FETCH;
    m->u.chunk = (swan_msg_chunk){.task_id = 9, .tensor_id = 3, .part = SWAN_PART_SCALES,
                                  .offset = 1ull << 40, .nbytes = SWAN_STREAM_CHUNK_MAX};
}

static void make_chunk(swan_msg *m) {
    make_fetch(m);
    m->type = SWAN_MSG_CHUNK;
    m->u.chunk.part = SWAN_PART_DATA;
}

/* FETCH and CHUNK (streaming, protocol 5): round trips, every prefix, each field
 * required and typed, and the range rules on both sides of the codec. */
static void test_stream_messages(void **state) {
    (void)state;
    swan_msg in, out;
    make_fetch(&in);
    roundtrip(&in, &out);
    assert_memory_equal(&out.u.chunk, &in.u.chunk, sizeof in.u.chunk);
    make_chunk(&in);
    roundtrip(&in, &out);
    assert_memory_equal(&out.u.chunk, &in.u.chunk, sizeof in.u.chunk);
    check_all_prefixes(&in);
    check_fields(make_fetch, chunk_fields, sizeof chunk_fields / sizeof chunk_fields[0]);
    check_fields(make_chunk, chunk_fields, sizeof chunk_fields / sizeof chunk_fields[0]);

    struct {
        const char *key;
        msgpack_object v;
        const char *needle;
    } bad[] = {
        {"nbytes", o_uint(0), "field 'nbytes' is 0, expected 1 to"},
        {"nbytes", o_uint(SWAN_STREAM_CHUNK_MAX + 1), "field 'nbytes' is 1048577"},
        {"nbytes", o_uint(1ull << 32), "field 'nbytes' is 4294967296, above"},
        {"part", o_uint(2), "field 'part' is 2, expected 0 or 1"},
        {"offset", o_uint(UINT64_MAX - 10), "wraps around"},
        {"tensor_id", o_uint(1ull << 32), "field 'tensor_id'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wire w;
        wire_open(&w, &in);
        wire_set(&w, bad[i].key, bad[i].v);
        wire_expect_fail(&w, bad[i].needle);
        wire_close(&w);
    }
    /* The encoder refuses the same. */
    swan_error err;
    char *buf;
    size_t len;
    in.u.chunk.nbytes = 0;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    in.u.chunk.nbytes = 1;
    in.u.chunk.part = 7;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    assert_non_null(strstr(err.msg, "part"));

    /* IDENTITY's stream flag is required and survives the trip. */
    memset(&in, 0, sizeof in);
    in.type = SWAN_MSG_IDENTITY;
    in.u.identity.stream = true;
    roundtrip(&in, &out);
    assert_true(out.u.identity.stream);
    assert_int_equal(out.u.identity.nshards, 0);
    swan_msg_free(&out);
    wire w;
    wire_open(&w, &in);
    wire_omit(&w, "stream");
    wire_expect_fail(&w, "missing field 'stream'");
    wire_close(&w);
}

/* ---- protocol 6: quantize tasks, QCHUNK, QACK ---------------------------- */

static const unsigned char qbytes[] = {1, 2, 3, 0, 255, 7, 9};

static void make_qtask(swan_msg *m) {
    make_task(m);
    m->u.task.kind = SWAN_TASK_QUANTIZE;
    static const uint32_t bits[3] = {2, 5, 8}, groups[3] = {32, 64, 128};
    static const char *const dts[3] = {"BF16", "F16", "F32"};
    for (int i = 0; i < 3; i++) {
        m->u.task.items[i].bits = bits[i];
        m->u.task.items[i].group = groups[i];
        m->u.task.items[i].qdtype = dts[i];
    }
}

static void make_qresult(swan_msg *m) {
    make_result(m);
    for (uint32_t i = 0; i < m->u.result.nitems; i++) {
        swan_result_item *it = &m->u.result.items[i];
        if (!it->ok) continue;
        memset(&it->raw, 0, sizeof it->raw);
        it->quantized = true;
        it->qhash[0] = UINT64_MAX, it->qhash[1] = 0, it->qhash[2] = 0x0123456789abcdefull + i;
    }
}

static void make_qchunk(swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_QCHUNK;
    m->u.qchunk = (swan_msg_qchunk){.task_id = 77, .tensor_id = 5, .part = SWAN_QPART_BIASES,
                                    .offset = 1ull << 33, .nbytes = sizeof qbytes, .data = qbytes};
}

static void make_qack(swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_QACK;
    m->u.qack.task_id = 77;
}

static const field qchunk_fields[] = {
    {"type", K_STR, "type", 1},        {"v", K_UINT, "v", 1},
    {"task_id", K_UINT, "task_id", 1}, {"tensor_id", K_UINT, "tensor_id", 1},
    {"part", K_UINT, "part", 1},       {"offset", K_UINT, "offset", 1},
};
static const field qtask_item_fields[] = {
    {"items.1.bits", K_UINT, "bits", 1},
    {"items.1.group", K_UINT, "group", 1},
    {"items.1.qdtype", K_STR, "qdtype", 1},
};

static msgpack_object o_bin_n(const char *p, uint32_t n) {
    msgpack_object o = {.type = MSGPACK_OBJECT_BIN};
    o.via.bin.ptr = p;
    o.via.bin.size = n;
    return o;
}

/* Round trips of every new message, every prefix, each field required and typed, and
 * the malformed chunks and items a hostile worker or coordinator could send. */
static void test_quantize_messages(void **state) {
    (void)state;
    swan_msg in, out;
    make_qtask(&in);
    roundtrip(&in, &out);
    assert_int_equal(out.u.task.kind, SWAN_TASK_QUANTIZE);
    assert_task_equal(&in.u.task, &out.u.task);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out.u.task.items[i].bits, in.u.task.items[i].bits);
        assert_int_equal(out.u.task.items[i].group, in.u.task.items[i].group);
        assert_string_equal(out.u.task.items[i].qdtype, in.u.task.items[i].qdtype);
    }
    swan_msg_free(&out);
    check_all_prefixes(&in);
    check_fields(make_qtask, qtask_item_fields, sizeof qtask_item_fields / sizeof qtask_item_fields[0]);
    struct {
        const char *key;
        msgpack_object v;
        const char *needle;
    } bad_task[] = {
        {"kind", o_uint(2), "field 'kind' is 2, above the limit 1"},
        {"items.1.bits", o_uint(7), "field 'bits' is 7, expected 2, 3, 4, 5, 6 or 8"},
        {"items.1.bits", o_uint(16), "field 'bits' is 16"},
        {"items.1.group", o_uint(16), "field 'group' is 16, expected 32, 64 or 128"},
        {"items.1.qdtype", o_cstr("U8"), "field 'qdtype' is \"U8\", expected BF16, F16 or F32"},
        {"items.1.qdtype", o_cstr(""), "field 'qdtype' is empty"},
    };
    for (size_t i = 0; i < sizeof bad_task / sizeof bad_task[0]; i++) {
        wire w;
        wire_open(&w, &in);
        wire_set(&w, bad_task[i].key, bad_task[i].v);
        wire_expect_fail(&w, bad_task[i].needle);
        wire_close(&w);
    }
    swan_error err;
    char *buf;
    size_t len;
    in.u.task.items[0].bits = 7;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    assert_non_null(strstr(err.msg, "'bits'"));
    in.u.task.items[0].bits = 4;
    in.u.task.items[0].qdtype = NULL;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    assert_non_null(strstr(err.msg, "'qdtype'"));
    swan_msg_free(&in);
    /* An analyze task needs none of the quantize fields. */
    make_task(&in);
    roundtrip(&in, &out);
    assert_int_equal(out.u.task.kind, SWAN_TASK_ANALYZE);
    assert_null(out.u.task.items[0].qdtype);
    swan_msg_free(&out);
    swan_msg_free(&in);

    make_qresult(&in);
    roundtrip(&in, &out);
    for (uint32_t i = 0; i < in.u.result.nitems; i++) {
        assert_int_equal(out.u.result.items[i].ok, in.u.result.items[i].ok);
        assert_int_equal(out.u.result.items[i].quantized, in.u.result.items[i].quantized);
        if (in.u.result.items[i].quantized)
            assert_memory_equal(out.u.result.items[i].qhash, in.u.result.items[i].qhash,
                                sizeof in.u.result.items[i].qhash);
    }
    swan_msg_free(&out);
    check_all_prefixes(&in);
    {
        wire w;
        wire_open(&w, &in);
        wire_set(&w, "items.0.qhash.1", o_cstr("x"));
        wire_expect_fail(&w, "field 'qhash' is a string");
        wire_close(&w);
        wire_open(&w, &in);
        wire_set(&w, "items.0.qhash", o_uint(3));
        wire_expect_fail(&w, "field 'qhash' is an integer, expected an array");
        wire_close(&w);
        wire_open(&w, &in);
        wire_at(&w, "items.0.qhash")->via.array.size = 2;
        wire_expect_fail(&w, "field 'qhash' has 2 values, expected 3");
        wire_close(&w);
        wire_open(&w, &in);
        wire_add_kv(&w, "items.0", o_cstr("raw"), o_map0());
        wire_expect_fail(&w, "field 'raw' is not allowed with 'qhash'");
        wire_close(&w);
        wire_open(&w, &in);
        wire_add_kv(&w, "items.1", o_cstr("qhash"), o_uint(1));
        wire_expect_fail(&w, "field 'qhash' is not allowed when 'ok' is false");
        wire_close(&w);
    }
    swan_msg_free(&in);

    make_qchunk(&in);
    roundtrip(&in, &out);
    assert_int_equal(out.u.qchunk.task_id, 77);
    assert_int_equal(out.u.qchunk.tensor_id, 5);
    assert_int_equal(out.u.qchunk.part, SWAN_QPART_BIASES);
    assert_true(out.u.qchunk.offset == 1ull << 33);
    assert_int_equal(out.u.qchunk.nbytes, sizeof qbytes);
    assert_memory_equal(out.u.qchunk.data, qbytes, sizeof qbytes);
    assert_true(out.u.qchunk.data != qbytes); /* a copy the message owns */
    swan_msg_free(&out);
    check_all_prefixes(&in);
    check_fields(make_qchunk, qchunk_fields, sizeof qchunk_fields / sizeof qchunk_fields[0]);
    static char big[SWAN_QCHUNK_MAX + 1];
    struct {
        const char *key;
        msgpack_object v;
        const char *needle;
    } bad[] = {
        {"part", o_uint(3), "field 'part' is 3, expected 0, 1 or 2"},
        {"data", o_bin_n(big, 0), "field 'data' holds 0 bytes, expected 1 to"},
        {"data", o_bin_n(big, SWAN_QCHUNK_MAX + 1), "field 'data' holds 1048577 bytes"},
        {"data", o_cstr("abc"), "field 'data' is a string, expected a binary"},
        {"data", o_uint(1), "field 'data' is an integer"},
        {"offset", o_uint(UINT64_MAX - 3), "wraps around"},
        {"tensor_id", o_uint(1ull << 32), "field 'tensor_id'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wire w;
        wire_open(&w, &in);
        wire_set(&w, bad[i].key, bad[i].v);
        wire_expect_fail(&w, bad[i].needle);
        wire_close(&w);
    }
    {
        wire w;
        wire_open(&w, &in);
        wire_omit(&w, "data");
        wire_expect_fail(&w, "missing field 'data'");
        wire_close(&w);
    }
    /* The full size is accepted; the encoder refuses what the decoder would. */
    in.u.qchunk.data = (const unsigned char *)big;
    in.u.qchunk.nbytes = SWAN_QCHUNK_MAX;
    roundtrip(&in, &out);
    assert_int_equal(out.u.qchunk.nbytes, SWAN_QCHUNK_MAX);
    swan_msg_free(&out);
    in.u.qchunk.nbytes = SWAN_QCHUNK_MAX + 1;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    in.u.qchunk.nbytes = 0;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    in.u.qchunk.nbytes = 1;
    in.u.qchunk.part = 3;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    in.u.qchunk.part = 0;
    in.u.qchunk.data = NULL;
    assert_int_equal(swan_msg_encode(&in, &buf, &len, &err), -1);
    assert_non_null(strstr(err.msg, "'data' is NULL"));

    make_qack(&in);
    roundtrip(&in, &out);
    assert_int_equal(out.u.qack.task_id, 77);
    swan_msg_free(&out);
    check_all_prefixes(&in);
    assert_string_equal(swan_msg_type_name(SWAN_MSG_QCHUNK), "qchunk");
    assert_string_equal(swan_msg_type_name(SWAN_MSG_QACK), "qack");
}

static void test_required_fields(void **state) {
    (void)state;
    check_fields(make_hello, hello_fields, sizeof hello_fields / sizeof hello_fields[0]);
    check_fields(make_task, task_fields, sizeof task_fields / sizeof task_fields[0]);
    check_fields(make_result, result_fields, sizeof result_fields / sizeof result_fields[0]);
    check_fields(make_heartbeat5, heartbeat_fields,
                 sizeof heartbeat_fields / sizeof heartbeat_fields[0]);
    check_fields(make_fatal, fatal_fields, sizeof fatal_fields / sizeof fatal_fields[0]);
}

static void test_header_rules(void **state) {
    (void)state;
    swan_msg m, out;
    wire w;
    make_heartbeat(&m, 5);

    wire_open(&w, &m);
    wire_set(&w, "type", o_cstr("bogus"));
    wire_expect_fail(&w, "unknown message type \"bogus\"");
    wire_close(&w);

    wire_open(&w, &m); /* control bytes are not echoed into the one-line error */
    wire_set(&w, "type", o_cstr("a\nb\x01"));
    wire_expect_fail(&w, "unknown message type \"a?b?\"");
    wire_close(&w);

    /* A version from the future (whatever ours is now). */
    char future[64];
    snprintf(future, sizeof future, "protocol version %d received", SWAN_PROTO_VERSION + 1);
    wire_open(&w, &m);
    wire_set(&w, "v", o_uint(SWAN_PROTO_VERSION + 1));
    wire_expect_fail(&w, future);
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "v", o_uint(0));
    wire_expect_fail(&w, "protocol version 0 received");
    wire_close(&w);

    wire_open(&w, &m); /* version 1 lacked the data checksum: refused */
    wire_set(&w, "v", o_uint(1));
    wire_expect_fail(&w, "protocol version 1 received");
    wire_close(&w);

    /* The version is checked before the type: a newer peer may send types we lack. */
    wire_open(&w, &m);
    wire_set(&w, "v", o_uint(SWAN_PROTO_VERSION + 1));
    wire_set(&w, "type", o_cstr("stream"));
    wire_expect_fail(&w, future);
    wire_close(&w);

    wire_open(&w, &m);
    wire_add_kv(&w, "", o_cstr("task_id"), o_uint(6));
    wire_expect_fail(&w, "field 'task_id' appears twice");
    wire_close(&w);

    wire_open(&w, &m);
    wire_add_kv(&w, "", o_uint(3), o_uint(6));
    wire_expect_fail(&w, "map key 3 is an integer, expected a string");
    wire_close(&w);

    /* Unknown keys are ignored, whatever their value. */
    wire_open(&w, &m);
    wire_add_kv(&w, "", o_cstr("future"), o_map0());
    wire_add_kv(&w, "", o_cstr("also_new"), o_f64(NAN));
    wire_expect_ok(&w, &out);
    assert_int_equal(out.type, SWAN_MSG_HEARTBEAT);
    assert_true(out.u.heartbeat.task_id == 5);
    wire_close(&w);

    /* Key order does not matter. */
    wire_open(&w, &m);
    msgpack_object_map *top = &wire_at(&w, "")->via.map;
    for (uint32_t i = 0; i < top->size / 2; i++) {
        msgpack_object_kv t = top->ptr[i];
        top->ptr[i] = top->ptr[top->size - 1 - i];
        top->ptr[top->size - 1 - i] = t;
    }
    wire_expect_ok(&w, &out);
    assert_true(out.u.heartbeat.task_id == 5);
    wire_close(&w);
}

static void test_hand_packed(void **state) {
    (void)state;
    static const char array_top[] = "\x92\x01\x02";
    assert_fails_with(array_top, 3, "message: is an array, expected a map");
    static const char int_top[] = "\x05";
    assert_fails_with(int_top, 1, "message: is an integer, expected a map");
    static const char str_top[] = "\xa4task";
    assert_fails_with(str_top, 5, "expected a map");
    assert_fails_with("", 0, "message: empty");
    /* A 5-byte "array of 4 billion": refused before msgpack-c allocates for it. */
    static const char huge_array[] = "\xdd\xff\xff\xff\xff";
    assert_fails_with(huge_array, 5, "4294967295 values announced");
    static const char huge_map[] = "\x81\xa1k\xdf\xff\xff\xff\xff";
    assert_fails_with(huge_map, 8, "values announced");
    static const char huge_str[] = "\xdb\xff\xff\xff\xff" "abc";
    assert_fails_with(huge_str, 8, "truncated");
    static const char reserved[] = "\x81\xa1k\xc1";
    assert_fails_with(reserved, 4, "invalid msgpack byte 0xc1 at offset 3");

    /* Millions of one-byte values: refused before msgpack-c builds a tree for them. */
    size_t nvals = 5u << 20; /* above the limit of 64 per item */
    char *flat = malloc(nvals + 32);
    assert_non_null(flat);
    size_t n = 0;
    flat[n++] = (char)0x81;               /* map of 1 */
    flat[n++] = (char)0xa1, flat[n++] = 'x';
    flat[n++] = (char)0xdd;               /* array32 of nvals nils */
    flat[n++] = (char)(nvals >> 24), flat[n++] = (char)(nvals >> 16);
    flat[n++] = (char)(nvals >> 8), flat[n++] = (char)nvals;
    memset(flat + n, 0xc0, nvals);
    assert_fails_with(flat, n + nvals, "message: more than");
    free(flat);

    char deep[64];
    memset(deep, 0x91, sizeof deep); /* 63 nested one-element arrays ... */
    deep[63] = 0x00;                 /* ... around a 0 */
    assert_fails_with(deep, sizeof deep, "nested deeper than");

    /* Trailing garbage after a valid message. */
    swan_msg m;
    make_heartbeat(&m, 1);
    size_t len;
    char *buf = encode_ok(&m, &len);
    char *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    longer[len] = (char)0xc0;
    assert_fails_with(longer, len + 1, "1 trailing bytes");
    free(longer);
    free(buf);
}

/* An unknown key may hold any msgpack value: the pre-scan must size every format the
 * way msgpack-c's own packer writes it, or valid messages would be refused. */
static void test_unknown_key_every_format(void **state) {
    (void)state;
    static char big[70000];
    memset(big, 'z', sizeof big);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "x", 1); /* the unknown key comes first */
    msgpack_pack_array(&pk, 40);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_false(&pk);
    msgpack_pack_int(&pk, 5);
    msgpack_pack_int(&pk, -5);
    msgpack_pack_uint64(&pk, 200);                     /* uint8  */
    msgpack_pack_uint64(&pk, 60000);                   /* uint16 */
    msgpack_pack_uint64(&pk, 4000000000u);             /* uint32 */
    msgpack_pack_uint64(&pk, 1ULL << 63);              /* uint64 */
    msgpack_pack_int64(&pk, -100);                     /* int8   */
    msgpack_pack_int64(&pk, -30000);                   /* int16  */
    msgpack_pack_int64(&pk, -2000000000);              /* int32  */
    msgpack_pack_int64(&pk, INT64_MIN);                /* int64  */
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_double(&pk, 2.5);
    msgpack_pack_str_with_body(&pk, big, 2);           /* fixstr */
    msgpack_pack_str_with_body(&pk, big, 40);          /* str8   */
    msgpack_pack_str_with_body(&pk, big, 300);         /* str16  */
    msgpack_pack_str_with_body(&pk, big, sizeof big);  /* str32  */
    msgpack_pack_bin_with_body(&pk, big, 10);          /* bin8   */
    msgpack_pack_bin_with_body(&pk, big, 300);         /* bin16  */
    msgpack_pack_bin_with_body(&pk, big, sizeof big);  /* bin32  */
    static const size_t ext_sizes[] = {1, 2, 4, 8, 16, 3, 300, sizeof big};
    for (int i = 0; i < 8; i++)                        /* fixext1..16, ext8/16/32 */
        msgpack_pack_ext_with_body(&pk, big, ext_sizes[i], 7);
    msgpack_pack_array(&pk, 20);                       /* array16 */
    for (int i = 0; i < 20; i++) msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 20);                         /* map16 */
    for (int i = 0; i < 20; i++) msgpack_pack_int(&pk, i), msgpack_pack_nil(&pk);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_array(&pk, 1);                        /* nesting */
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_nil(&pk);
    for (int i = 0; i < 5; i++) msgpack_pack_nil(&pk); /* 35 values so far: pad to 40 */
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_str_with_body(&pk, "heartbeat", 9);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint64(&pk, SWAN_PROTO_VERSION);
    msgpack_pack_str_with_body(&pk, "task_id", 7);
    msgpack_pack_uint64(&pk, 31337);

    swan_msg out;
    swan_error err = {{0}};
    if (decode_copy(sb.data, sb.size, &out, &err) != 0) fail_msg("refused: %s", err.msg);
    assert_int_equal(out.type, SWAN_MSG_HEARTBEAT);
    assert_true(out.u.heartbeat.task_id == 31337);
    /* The same bytes less the last one are cut inside task_id's value. */
    assert_fails_with(sb.data, sb.size - 1, "truncated");
    msgpack_sbuffer_destroy(&sb);
}

static void test_task_item_rules(void **state) {
    (void)state;
    swan_msg m, out;
    wire w;
    make_task(&m);

    wire_open(&w, &m); /* shape length != ndim */
    wire_set(&w, "items.2.ndim", o_uint(3));
    wire_expect_fail(&w, "task: item 2: field 'shape' has 2 dimensions but 'ndim' is 3");
    wire_close(&w);

    wire_open(&w, &m); /* ndim above SWAN_MAX_DIMS, even with a matching shape */
    wire_set(&w, "items.2.ndim", o_uint(SWAN_MAX_DIMS + 1));
    wire_set(&w, "items.2.shape", o_array_uint(&w, SWAN_MAX_DIMS + 1, 2));
    wire_expect_fail(&w, "task: item 2: field 'ndim' is 9, above the limit 8");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.0.tensor_id", o_uint((uint64_t)UINT32_MAX + 1));
    wire_expect_fail(&w, "task: item 0: field 'tensor_id' is 4294967296, above the limit");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.2.name", o_str("ab\0cd", 5));
    wire_expect_fail(&w, "task: item 2: field 'name' contains a NUL byte");
    wire_close(&w);

    const char *big = repeat(&m, 'q', SWAN_MSG_MAX_STRING + 1);
    wire_open(&w, &m);
    wire_set(&w, "items.2.path", o_cstr(big));
    wire_expect_fail(&w, "field 'path' is 4097 bytes long, above the limit 4096");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.2.path", o_cstr(""));
    wire_expect_fail(&w, "task: item 2: field 'path' is empty");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.1", o_cstr("not an item"));
    wire_expect_fail(&w, "task: item 1: is a string, expected a map");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "task_id", o_neg(INT64_MIN));
    wire_expect_fail(&w, "field 'task_id' is negative");
    wire_close(&w);

    /* Unknown keys inside an item are ignored; the rest still decodes. */
    wire_open(&w, &m);
    wire_add_kv(&w, "items.0", o_cstr("compression"), o_cstr("zstd"));
    wire_expect_ok(&w, &out);
    assert_task_equal(&m.u.task, &out.u.task);
    swan_msg_free(&out);
    wire_close(&w);

    /* FP8 scales travel as all seven fields or none. */
    wire_open(&w, &m);
    wire_omit(&w, "items.2.block_cols");
    wire_expect_fail(&w, "task: item 2: missing field 'block_cols'");
    wire_close(&w);

    wire_open(&w, &m);
    wire_omit(&w, "items.2.scale_path");
    wire_expect_fail(&w, "task: item 2: field 'scale_dtype' is not allowed without 'scale_path'");
    wire_close(&w);

    wire_open(&w, &m);
    wire_add_kv(&w, "items.0", o_cstr("scale_rows"), o_uint(1));
    wire_expect_fail(&w, "task: item 0: field 'scale_rows' is not allowed without 'scale_path'");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.2.scale_path", o_cstr(""));
    wire_expect_fail(&w, "task: item 2: field 'scale_path' is empty");
    wire_close(&w);

    /* A failure in the last item frees the items decoded before it (valgrind). */
    wire_open(&w, &m);
    wire_set(&w, "items.2.dtype", o_uint(3));
    wire_expect_fail(&w, "task: item 2: field 'dtype' is an integer, expected a string");
    wire_close(&w);
    swan_msg_free(&m);
}

static void test_result_item_rules(void **state) {
    (void)state;
    swan_msg m, out;
    wire w;
    make_result(&m);

    wire_open(&w, &m);
    wire_set(&w, "items.2.raw.kurtosis", o_cstr("3.0"));
    wire_expect_fail(&w, "result: item 2: field 'kurtosis' is a string, expected a number");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.2.raw.kurtosis", o_f64(NAN));
    wire_expect_fail(&w, "result: item 2: field 'kurtosis' is not finite");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.0.raw.w_max", o_f64(INFINITY));
    wire_expect_fail(&w, "result: item 0: field 'w_max' is not finite");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.0.raw.seconds", o_f32(-INFINITY));
    wire_expect_fail(&w, "field 'seconds' is not finite");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.2.raw.mlx_nrmse.17", o_f64(NAN));
    wire_expect_fail(&w, "result: item 2: field 'mlx_nrmse' is not finite");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.2.raw.mlx_nrmse", o_uint(1));
    wire_expect_fail(&w, "field 'mlx_nrmse' is ");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.2.raw.spectral_method", o_uint(3));
    wire_expect_fail(&w, "field 'spectral_method' is 3, above the limit 2");
    wire_close(&w);

    wire_open(&w, &m);
    wire_set(&w, "items.2.raw.spectral_rank", o_uint((uint64_t)UINT32_MAX + 1));
    wire_expect_fail(&w, "field 'spectral_rank' is 4294967296");
    wire_close(&w);

    wire_open(&w, &m); /* ok with an error string is contradictory */
    wire_add_kv(&w, "items.2", o_cstr("error"), o_cstr("x"));
    wire_expect_fail(&w, "result: item 2: field 'error' is not allowed when 'ok' is true");
    wire_close(&w);

    wire_open(&w, &m); /* so is a failed item with metrics */
    wire_add_kv(&w, "items.1", o_cstr("raw"), o_map0());
    wire_expect_fail(&w, "result: item 1: field 'raw' is not allowed when 'ok' is false");
    wire_close(&w);

    wire_open(&w, &m);
    wire_add_kv(&w, "items.2.raw", o_cstr("kurtosis"), o_f64(1.0));
    wire_expect_fail(&w, "field 'kurtosis' appears twice");
    wire_close(&w);

    /* Doubles accept integers of both signs and float32; unknown raw keys are ignored. */
    wire_open(&w, &m);
    wire_set(&w, "items.2.raw.kurtosis", o_uint(3));
    wire_set(&w, "items.2.raw.w_min", o_neg(-2));
    wire_set(&w, "items.2.raw.w_max", o_f32(0.5));
    wire_add_kv(&w, "items.2.raw", o_cstr("hessian_trace"), o_f64(1.5));
    size_t len;
    char *buf = wire_pack(&w, &len);
    static const char f32_half[] = "\xca\x3f\x00\x00\x00"; /* float32 0.5 really is on the wire */
    int found = 0;
    for (size_t i = 0; i + 5 <= len; i++) found |= memcmp(buf + i, f32_half, 5) == 0;
    assert_true(found);
    free(buf);
    wire_expect_ok(&w, &out);
    const swan_raw_metrics *r = &out.u.result.items[2].raw;
    assert_true(r->kurtosis == 3.0);
    assert_true(r->w_min == -2.0);
    assert_true(r->w_max == 0.5);
    assert_true(r->svd_concentration == 0.25);
    swan_msg_free(&out);
    wire_close(&w);
    swan_msg_free(&m);
}

/* ---------------------------------------------------------------- fuzz */

static uint64_t rng_next(uint64_t *s) {
    /* xorshift64*: deterministic across platforms */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* A mutant that decodes must be a valid message: it re-encodes, and that encoding
 * decodes again to something that encodes to the same bytes. */
static void check_accepted(const swan_msg *m) {
    size_t len1, len2;
    char *b1 = encode_ok(m, &len1);
    swan_msg again;
    swan_error err = {{0}};
    if (decode_copy(b1, len1, &again, &err) != 0) fail_msg("re-decode failed: %s", err.msg);
    char *b2 = encode_ok(&again, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(b1, b2, len1);
    swan_msg_free(&again);
    free(b1);
    free(b2);
}

static void test_fuzz(void **state) {
    (void)state;
    swan_msg base[6];
    char *enc[6];
    size_t enc_len[6];
    make_task(&base[0]);
    /* Shorter strings than make_task's 4 KiB ones, so that edits hit structure often. */
    base[0].u.task.items[1].name = "w";
    base[0].u.task.items[1].path = "p";
    make_result(&base[1]);
    make_hello(&base[2]);
    make_heartbeat(&base[3], 3);
    make_fatal(&base[4]);
    make_shutdown(&base[5]);
    for (int i = 0; i < 6; i++) enc[i] = encode_ok(&base[i], &enc_len[i]);

    uint64_t seed = 0x5eed5eed12345678ULL;
    int accepted = 0, rejected = 0;
    char *work = malloc(4096);
    assert_non_null(work);
    for (int iter = 0; iter < 20000; iter++) {
        int which = (int)(rng_next(&seed) % 6);
        size_t len = enc_len[which];
        assert_true(len + 8 <= 4096);
        memcpy(work, enc[which], len);
        int edits = 1 + (int)(rng_next(&seed) % 3);
        for (int e = 0; e < edits && len > 0; e++) {
            uint64_t r = rng_next(&seed);
            size_t pos = (size_t)((r >> 8) % len);
            switch (r % 5) {
            case 0: work[pos] = (char)(r >> 40); break;                  /* random byte */
            case 1: work[pos] ^= (char)(1u << ((r >> 40) % 8)); break;   /* bit flip    */
            case 2: len = pos; break;                                    /* truncate    */
            case 3:                                                      /* insert      */
                memmove(work + pos + 1, work + pos, len - pos);
                work[pos] = (char)(r >> 40);
                len++;
                break;
            case 4:                                                      /* delete      */
                memmove(work + pos, work + pos + 1, len - pos - 1);
                len--;
                break;
            }
        }
        swan_msg out;
        swan_error err = {{0}};
        if (decode_copy(work, len, &out, &err) == 0) {
            accepted++;
            check_accepted(&out);
            swan_msg_free(&out);
        } else {
            rejected++;
            assert_int_equal(out.type, 0);
            assert_true(err.msg[0] != '\0');
            assert_null(strchr(err.msg, '\n'));
        }
    }
    print_message("fuzz: %d mutants accepted, %d rejected\n", accepted, rejected);
    /* Both outcomes must occur, or the loop exercised only one path. */
    assert_true(accepted > 100);
    assert_true(rejected > 1000);
    free(work);
    for (int i = 0; i < 6; i++) {
        free(enc[i]);
        swan_msg_free(&base[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_roundtrip_hello),
        cmocka_unit_test(test_roundtrip_task),
        cmocka_unit_test(test_roundtrip_task_empty),
        cmocka_unit_test(test_roundtrip_result),
        cmocka_unit_test(test_roundtrip_result_empty),
        cmocka_unit_test(test_roundtrip_small_messages),
        cmocka_unit_test(test_max_items),
        cmocka_unit_test(test_borrowed_strings),
        cmocka_unit_test(test_decoded_strings_owned),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_encode_refuses_invalid),
        cmocka_unit_test(test_truncated_task),
        cmocka_unit_test(test_truncated_result),
        cmocka_unit_test(test_truncated_small),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_hand_packed),
        cmocka_unit_test(test_unknown_key_every_format),
        cmocka_unit_test(test_task_item_rules),
        cmocka_unit_test(test_result_item_rules),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_stream_messages),
        cmocka_unit_test(test_quantize_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
