/* worker_loop.h: the worker process: connect, ask for work, compute, report.
 *
 * `swan worker --connect ENDPOINT` runs this, whether started by a local
 * `swan analyze` or by hand on another host. Two threads: the main thread owns the
 * ZeroMQ socket (sends HELLO, receives TASK/SHUTDOWN, sends HEARTBEAT every second
 * while busy and the RESULT when done); the compute thread runs the metric kernels on
 * one task at a time. The socket is never touched by the compute thread (ZeroMQ
 * sockets are not thread-safe); they meet at a mutex-protected slot and a pipe.
 * A streaming worker (no copy of the model) reads tensor bytes through
 * worker_stream.c: the compute thread's FETCHes and the coordinator's CHUNKs pass
 * through an inproc pair to the main thread, which forwards them (a CHUNK's bytes
 * frame is moved, not copied), tagged with the connection they belong to. */
#ifndef SWAN_WORKER_LOOP_H
#define SWAN_WORKER_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <stdatomic.h>

#include "common/error.h"
#include "proto/curve_keys.h"

typedef struct swan_worker_opts {
    const char *endpoint;   /* e.g. ipc:///tmp/swan-x/w or tcp://coordinator:5555 */
    const swan_curve_keypair *curve;  /* this worker's keys (CURVE), or NULL        */
    const char *server_key; /* the coordinator's public key (Z85), with curve     */
    const char *model_dir;  /* this host's copy of the model (--model-dir), or NULL:
                               the coordinator's path                             */
    bool stream;            /* no copy of the model: FETCH the bytes (--stream); also
                               chosen when the model folder holds none of its files */
    uint64_t stream_window; /* bytes in flight while streaming (0: the default)   */
    int threads;            /* BLAS threads                                      */
    pid_t parent;           /* exit when this process is gone (0: don't watch)   */
    double heartbeat;       /* seconds between heartbeats while busy             */
    const char *identity;   /* ZeroMQ routing id (env SWAN_WORKER_IDENTITY, set by
                               swan analyze for its own workers); NULL = random    */
    /* Called by the compute thread before each tensor it analyzes (NULL: none).
     * Returning -1 with err set fails that tensor with err's message. A hook that
     * waits must watch *cancel and return soon once it is set. The program uses it
     * for the integration tests' fault injection (coordinator/cmd_worker.c); the
     * library itself has no test code. */
    int (*before_tensor)(void *ctx, const char *tensor_name, const atomic_bool *cancel,
                         swan_error *err);
    void *hook_ctx;
} swan_worker_opts;

/* The environment variable through which `swan analyze` gives each local worker
 * its identity: the environment, unlike the command line, is not visible to other
 * users of the machine. */
#define SWAN_WORKER_IDENTITY_ENV "SWAN_WORKER_IDENTITY"

void swan_worker_default_opts(swan_worker_opts *o);

/* Returns 0 after a SHUTDOWN, -2 with err set when the coordinator refused this
 * worker (its model copy differs), -1 with err set on failure or when the parent died. */
int swan_worker_run(const swan_worker_opts *o, volatile sig_atomic_t *stop, swan_error *err);

#endif
