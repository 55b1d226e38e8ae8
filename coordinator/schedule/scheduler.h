/* scheduler.h: hands tasks to workers over ZeroMQ and collects their results.
 *
 * The coordinator binds one ROUTER socket; each worker (local child or remote host)
 * connects a DEALER. Work is pulled: a worker gets a task when it says HELLO and a
 * new one with each RESULT, so fast workers simply do more (no static split). Tasks
 * go out largest first. A worker that dies (its local process exits), goes silent
 * past the timeout, or sends a malformed message is dropped and its task re-queued;
 * a worker that speaks again after being dropped is used again at once (its late
 * result is taken while the task is still open). A task is declared failed after
 * failing (a tensor it could not read, a death, a hang) on max_attempts different
 * workers, or on every worker there is when nothing else is left to run; the others
 * still finish. When the queue is empty, idle workers run backup copies of tasks
 * that have been running for a while on another host; the first result wins. Local workers are
 * known by the identity they were started with (local_workers.h), never by what a
 * peer says. Results are handed to the caller (on_result) as they arrive, which
 * journals them at once: finished work is never lost, whatever happens later. */
#ifndef SWAN_SCHEDULER_H
#define SWAN_SCHEDULER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "common/raw_metrics.h"
#include "coordinator/schedule/local_workers.h"
#include "coordinator/plan/plan.h"
#include "proto/transport.h"

/* One host as the coordinator sees it (its name is what its workers said in HELLO;
 * the workers this coordinator started are grouped as one host named "local"). */
typedef struct swan_host_stats {
    char name[64];
    bool local;
    size_t workers, workers_busy; /* connected now                             */
    size_t tasks_done, tensors_done;
    uint64_t params_done;
    double params_per_s;          /* since its first worker joined              */
} swan_host_stats;

typedef struct swan_sched_stats {
    size_t tensors_done, tensors_total;
    uint64_t bytes_done, bytes_total;
    uint64_t params_done;
    double cost_done, cost_total;
    size_t workers, workers_busy;
    size_t workers_lost;
    size_t tasks_failed;          /* declared failed (see on_tensor_error)   */
    size_t backups;               /* backup copies handed out                 */
    double elapsed;               /* seconds since swan_sched_run started */
    const swan_host_stats *hosts; /* valid during on_progress only           */
    bool final;                   /* the last call, as the run ends          */
    size_t nhosts;
} swan_sched_stats;

typedef struct swan_sched_hooks {
    void *ctx;
    /* A tensor's raw metrics arrived. Returning -1 aborts the run (e.g. journal
     * write failed); err then says why. */
    int (*on_result)(void *ctx, uint32_t tensor, const swan_raw_metrics *raw, swan_error *err);
    /* All results of one task were handed over (e.g. flush the journal). */
    int (*on_task_done)(void *ctx, swan_error *err);
    /* A tensor's task was declared failed (see above); reasons lists what each
     * worker that tried it reported. Called once per tensor without results. */
    void (*on_tensor_error)(void *ctx, uint32_t tensor, const char *reasons);
    /* Called a few times per second. */
    void (*on_progress)(void *ctx, const swan_sched_stats *st);
    /* One line worth telling the user (a worker died, a bad message...). */
    void (*log)(void *ctx, const char *line);
} swan_sched_hooks;

/* A quantize run (swan quantize, docs/protocol.md "Quantizing"): the plan's tasks are
 * sent as quantize tasks, each item's output comes back as QCHUNKs that the scheduler
 * checks (task held, tensor of the task, each part's bytes in order and within its
 * size, the RESULT's hashes equal to the bytes received) before they are written. */
typedef struct swan_sched_quantize {
    void *ctx;
    /* Source tensor t's width (bits, group, the scales' dtype name) and the bytes of
     * its three outputs (packed weight, scales, biases). */
    void (*item)(void *ctx, uint32_t tensor, uint32_t *bits, uint32_t *group, const char **qdtype,
                 uint64_t part_bytes[3]);
    /* Bytes [offset, offset+n) of one part of tensor's output: written at their
     * planned place. -1 (err set) ends the run. */
    int (*write)(void *ctx, uint32_t tensor, int part, uint64_t offset, const void *data, size_t n,
                 swan_error *err);
    /* Every item of a task arrived, its parts complete with these hashes (qhash[k]
     * for tensors[k]): read back, compare, journal. 0 done; 1 the bytes in place do
     * not hash to qhash (why says which; the task is run again); -1 ends the run. */
    int (*task_done)(void *ctx, const uint32_t *tensors, uint32_t n, const uint64_t (*qhash)[3],
                     char *why, size_t whylen, swan_error *err);
} swan_sched_quantize;

typedef struct swan_sched_opts {
    swan_transport *transport;   /* server socket, bound by the caller (proto/transport.h) */
    uint64_t seed;
    double worker_timeout;       /* seconds of silence from a busy worker before it is lost */
    uint32_t max_attempts;       /* different workers a task must fail on before it is
                                    declared failed                                  */
    double backup_after;         /* seconds a task runs before an idle worker may run a
                                    backup copy (only once the queue is empty)       */
    size_t max_respawns;         /* local worker replacements allowed in total      */
    double prefetch_max_cost;    /* send the next task ahead when it costs <= this  */
    volatile sig_atomic_t *stop; /* set by a signal handler: abort cleanly          */
    const swan_sched_quantize *quantize; /* a quantize run, or NULL: analysis  */
} swan_sched_opts;

/* Runs every PENDING task of the plan to completion and shuts the workers
 * down. pool may be NULL (remote workers only). Returns 0 when every task is done
 * (some tensors may still have failed: see on_tensor_error), and then, if none did,
 * tells every worker to leave; -1 with err set if the run cannot complete (interrupted, all local
 * workers dead, a journal write failed), and then only the local workers are told
 * to leave: remote ones wait for the same command to be run again. */
int swan_sched_run(const swan_sched_opts *o, const swan_checkpoint *ck, swan_plan *plan,
                   swan_local_pool *pool, const swan_sched_hooks *hooks, swan_error *err);

#endif
