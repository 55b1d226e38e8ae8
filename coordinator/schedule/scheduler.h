/* scheduler.h: hands tasks to workers over ZeroMQ and collects their results.
 *
 * The coordinator binds one ROUTER socket; each worker (local child or remote host)
 * connects a DEALER. Work is pulled: a worker gets a task when it says HELLO and a
 * new one with each RESULT, so fast workers simply do more (no static split). Tasks
 * go out largest first. A worker that dies (its local process exits), goes silent
 * past the timeout, or sends a malformed message is dropped and its task re-queued;
 * a task that has killed max_attempts workers fails the run. Results are handed to
 * the caller (on_result) as they arrive, which journals them at once: finished work
 * is never lost, whatever happens later. */
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

typedef struct swan_sched_stats {
    size_t tensors_done, tensors_total;
    uint64_t bytes_done, bytes_total;
    uint64_t params_done;
    double cost_done, cost_total;
    size_t workers, workers_busy;
    size_t workers_lost;
    double elapsed;               /* seconds since swan_sched_run started */
} swan_sched_stats;

typedef struct swan_sched_hooks {
    void *ctx;
    /* A tensor's raw metrics arrived. Returning -1 aborts the run (e.g. journal
     * write failed); err then says why. */
    int (*on_result)(void *ctx, uint32_t tensor, const swan_raw_metrics *raw, swan_error *err);
    /* All results of one task were handed over (e.g. flush the journal). */
    int (*on_task_done)(void *ctx, swan_error *err);
    /* A worker reported that it could not analyze a tensor (read error...). */
    void (*on_tensor_error)(void *ctx, uint32_t tensor, const char *reason);
    /* Called a few times per second. */
    void (*on_progress)(void *ctx, const swan_sched_stats *st);
    /* One line worth telling the user (a worker died, a bad message...). */
    void (*log)(void *ctx, const char *line);
} swan_sched_hooks;

typedef struct swan_sched_opts {
    const char *endpoint;        /* bind address, ipc or tcp address to bind */
    uint64_t seed;
    double worker_timeout;       /* seconds of silence from a busy worker before it is lost */
    uint32_t max_attempts;       /* workers a task may kill or hang before the run stops */
    size_t max_respawns;         /* local worker replacements allowed in total      */
    double prefetch_max_cost;    /* send the next task ahead when it costs <= this  */
    volatile sig_atomic_t *stop; /* set by a signal handler: abort cleanly          */
} swan_sched_opts;

/* Binds, runs every PENDING task of the plan to completion and shuts the workers
 * down. pool may be NULL (remote workers only). Returns 0 when every task is done
 * (some tensors may still have failed: see on_tensor_error), -1 with err set if the
 * run cannot complete (interrupted, all workers dead, a task killed too many). */
int swan_sched_run(const swan_sched_opts *o, const swan_checkpoint *ck, swan_plan *plan,
                   swan_local_pool *pool, const swan_sched_hooks *hooks, swan_error *err);

#endif
