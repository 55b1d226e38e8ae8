/* hostile_peer.c: a misbehaving "worker" for the integration tests.
 *
 * Connects to a coordinator's --listen endpoint and sends what a broken or hostile
 * host might: bytes that are not msgpack, a wrong protocol version, extra frames, an
 * oversized frame, messages only a coordinator may send, results for tasks it does
 * not hold or with the wrong tensors, FETCHes for bytes it may not have (from a
 * worker that did not say it streams; for a task it does not hold; outside the
 * tensor), and a worker that takes a task and goes silent. The coordinator must log each, never crash, and still produce the same
 * manifest as an undisturbed run (checked by test_hostile_peer.sh).
 *
 * usage: swan_hostile_peer ENDPOINT
 *        swan_hostile_peer ENDPOINT --pid-hello PID   a HELLO claiming pid PID (a local
 *            worker's), then a task taken and silence for 6 s: the coordinator must
 *            drop this peer without signalling process PID
 *        swan_hostile_peer ENDPOINT --garbage N       N frames of garbage from N
 *            connections: the coordinator's log about them must stay short
 *        swan_hostile_peer ENDPOINT --quantize        against `swan quantize --listen`: one
 *            connection per bad QCHUNK (another task, a tensor not in the task, a gap,
 *            a duplicate, too many bytes) and one that sends every byte (all zeros)
 *            and a RESULT whose hashes are not those bytes' (docs/protocol.md
 *            "Quantizing"); each must be dropped and no wrong byte kept
 *        swan_hostile_peer ENDPOINT --probe            says HELLO, sends a forged RESULT,
 *            waits 3 s for any reply: exit 0 and "hostile_peer: nothing received" when
 *            the coordinator let nothing through (a peer without an allowed key)
 * Any of them with --curve SERVER.pub CLIENT.key first speaks CURVE with those keys
 * (so that its garbage gets past authentication when the key is allowed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "proto/curve_keys.h"
#include "proto/messages.h"

static swan_curve_keypair g_keys;      /* test tool: its whole state is its arguments */
static char g_server[SWAN_Z85_KEY_LEN + 1];
static int g_curve, g_timeout_ms = 15000;
static int g_rcvhwm; /* > 0: a receive queue that small (a peer that takes in nothing) */

static void *connect_dealer(void *ctx, const char *ep) {
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 500, timeout = g_timeout_ms;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (g_rcvhwm > 0) {
        int buf = 4096;
        zmq_setsockopt(s, ZMQ_RCVHWM, &g_rcvhwm, sizeof g_rcvhwm);
        zmq_setsockopt(s, ZMQ_RCVBUF, &buf, sizeof buf);
    }
    if (g_curve) {
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, g_server, SWAN_Z85_KEY_LEN);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, g_keys.public_z85, SWAN_Z85_KEY_LEN);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, g_keys.secret_z85, SWAN_Z85_KEY_LEN);
    }
    if (zmq_connect(s, ep) != 0) {
        fprintf(stderr, "hostile_peer: cannot connect to %s\n", ep);
        exit(1);
    }
    return s;
}

static void send_msg(void *s, const swan_msg *m) {
    char *buf;
    size_t len;
    swan_error err;
    if (swan_msg_encode(m, &buf, &len, &err)) {
        fprintf(stderr, "hostile_peer: encode: %s\n", err.msg);
        exit(1);
    }
    zmq_send(s, buf, len, 0);
    free(buf);
}

static void send_hello_pid(void *s, uint32_t pid) {
    swan_msg m = {.type = SWAN_MSG_HELLO};
    m.u.hello.pid = pid;
    m.u.hello.threads = 1;
    m.u.hello.host = "hostile";
    send_msg(s, &m);
}

static void send_hello(void *s) {
    swan_msg m = {.type = SWAN_MSG_HELLO};
    m.u.hello.pid = 999999;
    m.u.hello.threads = 1;
    m.u.hello.host = "hostile";
    send_msg(s, &m);
}

/* Waits for a TASK; returns 0 and fills *task, or -1 (timeout / SHUTDOWN). */
/* Answers a CHALLENGE honestly (the files are the coordinator's own), so that the
 * misbehaviour that follows reaches the scheduler's task handling. */
static int g_stream; /* answer CHALLENGEs with "no copy, I stream" */

static void answer_challenge(void *s, const swan_msg_challenge *c) {
    swan_msg m = {.type = SWAN_MSG_IDENTITY};
    if (g_stream) {
        m.u.identity.stream = true;
        send_msg(s, &m);
        return;
    }
    m.u.identity.nshards = c->nshards;
    m.u.identity.shards = swan_msg_alloc(&m, (size_t)c->nshards * sizeof *m.u.identity.shards);
    for (uint32_t i = 0; i < c->nshards; i++) {
        char path[8192];
        swan_error err;
        snprintf(path, sizeof path, "%s/%s", c->root, c->shards[i]);
        swan_shard_identity_compute(path, c->shards[i], c->nonce, &m.u.identity.shards[i], &err);
    }
    send_msg(s, &m);
    swan_msg_free(&m);
}

static int recv_task(void *s, swan_msg *task) {
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s, 0) < 0) {
            zmq_msg_close(&msg);
            return -1;
        }
        swan_error err;
        int rc = swan_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), task, &err);
        zmq_msg_close(&msg);
        if (rc) continue;
        if (task->type == SWAN_MSG_TASK) return 0;
        if (task->type == SWAN_MSG_CHALLENGE) answer_challenge(s, &task->u.challenge);
        int shutdown = task->type == SWAN_MSG_SHUTDOWN;
        swan_msg_free(task);
        if (shutdown) return -1;
    }
}

/* A RESULT for `task` whose first item claims another tensor (or another task id). */
static void send_bad_result(void *s, const swan_msg *task, int wrong_task_id) {
    swan_msg r = {.type = SWAN_MSG_RESULT};
    r.u.result.task_id = task->u.task.task_id + (wrong_task_id ? 1000 : 0);
    r.u.result.nitems = task->u.task.nitems;
    r.u.result.items = calloc(task->u.task.nitems, sizeof(swan_result_item));
    for (uint32_t i = 0; i < task->u.task.nitems; i++) {
        swan_result_item *it = &r.u.result.items[i];
        it->tensor_id = task->u.task.items[i].tensor_id + (wrong_task_id ? 0 : 1);
        it->ok = 1;
        it->raw.rows = it->raw.cols = 1;
    }
    send_msg(s, &r);
    free(r.u.result.items);
}

/* ---- --quantize ------------------------------------------------------------ */

/* Bytes of part p of a quantize item (weight, scales, biases). */
static uint64_t qpart_bytes(const swan_task_item *it, int p) {
    uint64_t n = 1;
    for (uint32_t d = 0; d < it->ndim; d++) n *= it->shape[d];
    if (p == 0) return n * it->bits / 8;
    return n / it->group * (strcmp(it->qdtype, "F32") == 0 ? 4 : 2);
}

static void send_qchunk(void *s, uint64_t task, uint32_t tensor, uint32_t part, uint64_t off, uint32_t n) {
    static unsigned char zeros[SWAN_QCHUNK_MAX];
    swan_msg m = {.type = SWAN_MSG_QCHUNK};
    m.u.qchunk = (swan_msg_qchunk){.task_id = task, .tensor_id = tensor, .part = part, .offset = off,
                                   .nbytes = n, .data = zeros};
    send_msg(s, &m);
}

/* One hostile worker: takes a quantize task and misbehaves as `how` says. */
static int bad_quantizer(void *ctx, const char *ep, int how) {
    void *s = connect_dealer(ctx, ep);
    send_hello(s);
    swan_msg task;
    if (recv_task(s, &task) != 0 || task.u.task.kind != SWAN_TASK_QUANTIZE) {
        zmq_close(s);
        printf("hostile_peer: case %d got no quantize task\n", how);
        return 1;
    }
    const swan_msg_task *t = &task.u.task;
    const swan_task_item *it = &t->items[0];
    uint64_t w = qpart_bytes(it, 0);
    uint32_t first = w < 1024 ? (uint32_t)w : 1024;
    switch (how) {
    case 0: send_qchunk(s, t->task_id + 1000, it->tensor_id, 0, 0, 16); break;     /* another task */
    case 1: send_qchunk(s, t->task_id, it->tensor_id + 100000, 0, 0, 16); break;  /* not in the task */
    case 2: send_qchunk(s, t->task_id, it->tensor_id, 0, 64, 16); break;           /* a gap */
    case 3:                                                                       /* a duplicate */
        send_qchunk(s, t->task_id, it->tensor_id, 0, 0, first);
        send_qchunk(s, t->task_id, it->tensor_id, 0, 0, first);
        break;
    case 4: /* too many bytes: a whole part and one more */
        for (uint64_t off = 0; off <= w; off += SWAN_QCHUNK_MAX) {
            uint64_t n = w + 1 - off < SWAN_QCHUNK_MAX ? w + 1 - off : SWAN_QCHUNK_MAX;
            send_qchunk(s, t->task_id, it->tensor_id, 0, off, (uint32_t)n);
        }
        break;
    default: { /* every byte (zeros), then hashes that are not those bytes' */
        swan_msg r = {.type = SWAN_MSG_RESULT};
        r.u.result.task_id = t->task_id;
        r.u.result.nitems = t->nitems;
        r.u.result.items = calloc(t->nitems, sizeof(swan_result_item));
        for (uint32_t i = 0; i < t->nitems; i++) {
            for (uint32_t p = 0; p < 3; p++) {
                uint64_t n = qpart_bytes(&t->items[i], (int)p);
                for (uint64_t off = 0; off < n; off += SWAN_QCHUNK_MAX)
                    send_qchunk(s, t->task_id, t->items[i].tensor_id, p, off,
                                (uint32_t)(n - off < SWAN_QCHUNK_MAX ? n - off : SWAN_QCHUNK_MAX));
            }
            r.u.result.items[i] = (swan_result_item){.tensor_id = t->items[i].tensor_id, .ok = 1,
                                                     .quantized = true, .qhash = {1, 2, 3}};
        }
        send_msg(s, &r);
        free(r.u.result.items);
    }
    }
    struct timespec pause = {0, 300000000}; /* let it arrive before the connection goes */
    nanosleep(&pause, NULL);
    swan_msg_free(&task);
    zmq_close(s);
    return 0;
}

static int quantize_cases(void *ctx, const char *ep) {
    g_stream = 1; /* admitted without a model check: nothing here to compare */
    int bad = 0;
    for (int how = 0; how <= 5; how++) bad += bad_quantizer(ctx, ep, how);
    zmq_ctx_term(ctx);
    printf("hostile_peer: done (%d cases without a task)\n", bad);
    return bad ? 1 : 0;
}

static int pid_hello(void *ctx, const char *ep, long pid) {
    void *s = connect_dealer(ctx, ep);
    send_hello_pid(s, (uint32_t)pid);
    swan_msg task;
    int got = recv_task(s, &task) == 0;
    if (got) swan_msg_free(&task);
    sleep(6);
    zmq_close(s);
    zmq_ctx_term(ctx);
    printf("hostile_peer: %s\n", got ? "took a task and stayed silent" : "got no task");
    return got ? 0 : 1;
}

static int garbage(void *ctx, const char *ep, long n) {
    /* Linger without a limit: each frame is delivered even when the coordinator binds
     * its port only after we start, or a loaded machine connects slowly (the test
     * bounds the whole run in time). */
    int linger = -1;
    for (long i = 0; i < n; i++) {
        void *s = connect_dealer(ctx, ep);
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        zmq_send(s, "garbage!", 8, 0);
        zmq_close(s);
    }
    zmq_ctx_term(ctx);
    printf("hostile_peer: sent %ld frames of garbage\n", n);
    return 0;
}

/* --probe: can a peer get anything through? */
static int probe(void *ctx, const char *ep) {
    g_timeout_ms = 3000;
    void *s = connect_dealer(ctx, ep);
    send_hello(s);
    swan_msg task = {.type = SWAN_MSG_TASK};
    swan_task_item item = {.tensor_id = 0, .name = "x", .path = "x", .dtype = "F32", .ndim = 2};
    task.u.task.task_id = 1;
    task.u.task.nitems = 1;
    task.u.task.items = &item;
    send_bad_result(s, &task, 0);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int got = zmq_msg_recv(&msg, s, 0) >= 0;
    zmq_msg_close(&msg);
    zmq_close(s);
    zmq_ctx_term(ctx);
    printf(got ? "hostile_peer: RECEIVED a message\n" : "hostile_peer: nothing received\n");
    return got ? 1 : 0;
}

int main(int argc, char **argv) {
    /* --curve SERVER.pub CLIENT.key may come first, after ENDPOINT. */
    if (argc >= 5 && strcmp(argv[2], "--curve") == 0) {
        swan_error err;
        if (swan_key_load_public(argv[3], g_server, &err) || swan_key_load_secret(argv[4], &g_keys, &err)) {
            fprintf(stderr, "hostile_peer: %s\n", err.msg);
            return 2;
        }
        g_curve = 1;
        for (int i = 2; i + 3 <= argc; i++) argv[i] = argv[i + 3];
        argc -= 3;
    }
    int do_probe = argc == 3 && strcmp(argv[2], "--probe") == 0;
    int do_quantize = argc == 3 && strcmp(argv[2], "--quantize") == 0;
    if (argc != 2 && !do_probe && !do_quantize && !(argc == 4 && (strcmp(argv[2], "--pid-hello") == 0 ||
                                                  strcmp(argv[2], "--garbage") == 0))) {
        fprintf(stderr, "usage: swan_hostile_peer ENDPOINT [--curve SERVER.pub CLIENT.key] "
                        "[--pid-hello PID | --garbage N | --probe | --quantize]\n");
        return 2;
    }
    const char *ep = argv[1];
    void *ctx = zmq_ctx_new();
    if (argc == 4 && strcmp(argv[2], "--pid-hello") == 0) return pid_hello(ctx, ep, atol(argv[3]));
    if (argc == 4) return garbage(ctx, ep, atol(argv[3]));
    if (do_probe) return probe(ctx, ep);
    if (do_quantize) return quantize_cases(ctx, ep);

    /* 1. Garbage, wrong version, a coordinator-only type, extra frames. */
    void *s = connect_dealer(ctx, ep);
    zmq_send(s, "this is not msgpack", 19, 0);
    const unsigned char wrong_version[] = {0x82, 0xa4, 't', 'y', 'p', 'e', 0xa5, 'h', 'e', 'l', 'l', 'o',
                                           0xa1, 'v', 0x63};
    zmq_send(s, wrong_version, sizeof wrong_version, 0);
    swan_msg shutdown = {.type = SWAN_MSG_SHUTDOWN};
    send_msg(s, &shutdown);
    zmq_send(s, "a", 1, ZMQ_SNDMORE);
    zmq_send(s, "b", 1, 0);
    /* A truncated HELLO. */
    {
        swan_msg m = {.type = SWAN_MSG_HELLO};
        m.u.hello.pid = 1;
        m.u.hello.host = "x";
        char *buf;
        size_t len;
        swan_error err;
        swan_msg_encode(&m, &buf, &len, &err);
        zmq_send(s, buf, len / 2, 0);
        free(buf);
    }
    zmq_close(s);

    /* 2. An oversized frame (the coordinator caps frames at 64 MiB). */
    s = connect_dealer(ctx, ep);
    size_t big = 65u * 1024 * 1024;
    char *blob = calloc(1, big);
    zmq_send(s, blob, big, 0);
    free(blob);
    zmq_close(s);

    /* 3. A worker that answers with another task's id, then one that returns the
     *    wrong tensors: both must be dropped and their tasks re-queued. */
    for (int variant = 1; variant >= 0; variant--) {
        s = connect_dealer(ctx, ep);
        send_hello(s);
        swan_msg task;
        if (recv_task(s, &task) == 0) {
            send_bad_result(s, &task, variant);
            swan_msg_free(&task);
        }
        zmq_close(s);
    }

    /* 3b. Bad FETCHes: from a worker with its own copy (variant 0), and from streaming
     *     ones for a task they do not hold (1) or bytes past the tensor's end (2). */
    for (int variant = 0; variant < 3; variant++) {
        g_stream = variant > 0;
        s = connect_dealer(ctx, ep);
        send_hello(s);
        swan_msg task;
        if (recv_task(s, &task) == 0) {
            swan_msg f = {.type = SWAN_MSG_FETCH};
            f.u.chunk.task_id = task.u.task.task_id + (variant == 1 ? 1000 : 0);
            f.u.chunk.tensor_id = task.u.task.items[0].tensor_id;
            f.u.chunk.part = SWAN_PART_DATA;
            f.u.chunk.offset = variant == 2 ? task.u.task.items[0].nbytes : 0;
            f.u.chunk.nbytes = 16;
            send_msg(s, &f);
            swan_msg_free(&task);
        }
        sleep(1);
        zmq_close(s);
    }

    /* 3c. A streaming worker that asks for 1,000 chunks of its task's first tensor and
     *     takes none in (a tiny receive queue): the coordinator must refuse it once
     *     more chunks wait in its queue than the protocol lets a worker ask for,
     *     instead of pinning up to ZeroMQ's queue limit of its memory. */
    g_rcvhwm = 1;
    g_stream = 1;
    s = connect_dealer(ctx, ep);
    send_hello(s);
    swan_msg flood;
    if (recv_task(s, &flood) == 0) {
        const swan_task_item *it = &flood.u.task.items[0];
        swan_msg f = {.type = SWAN_MSG_FETCH};
        f.u.chunk.task_id = flood.u.task.task_id;
        f.u.chunk.tensor_id = it->tensor_id;
        f.u.chunk.part = SWAN_PART_DATA;
        f.u.chunk.nbytes = (uint32_t)(it->nbytes < SWAN_STREAM_CHUNK_MAX ? it->nbytes : SWAN_STREAM_CHUNK_MAX);
        for (int k = 0; k < 1000; k++) send_msg(s, &f);
        swan_msg_free(&flood);
    }
    sleep(1);
    zmq_close(s);
    g_rcvhwm = 0;
    g_stream = 0;

    /* 4. A worker that takes a task and goes silent: dropped after the timeout. */
    s = connect_dealer(ctx, ep);
    send_hello(s);
    swan_msg task;
    if (recv_task(s, &task) == 0) swan_msg_free(&task);
    sleep(1);
    zmq_close(s);

    zmq_ctx_term(ctx);
    printf("hostile_peer: done\n");
    return 0;
}
