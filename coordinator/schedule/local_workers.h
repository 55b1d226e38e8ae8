/* local_workers.h: the worker processes `swan analyze` starts on this machine.
 *
 * Each is this same executable re-run as `swan worker --connect ENDPOINT`, so a local
 * worker runs exactly the code a worker on another host runs. The pool owns the child
 * processes: it reaps those that exit, can replace them, and on shutdown asks, then
 * tells, then forces them to stop, so no worker outlives the coordinator.
 *
 * Each spawn gets an identity ("L" + a random secret of this run + "." + a spawn
 * number) in its environment, which the worker uses as its ZeroMQ routing id. That is
 * how the scheduler knows its own children: a peer cannot guess the secret, and
 * nothing a peer says (e.g. a pid in its HELLO) can make the coordinator signal a
 * process. */
#ifndef SWAN_LOCAL_WORKERS_H
#define SWAN_LOCAL_WORKERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct swan_local_pool {
    char exe[4096];        /* path of this executable                       */
    char endpoint[256];    /* what the workers connect to                   */
    int threads;           /* BLAS threads per worker                       */
    pid_t *pids;           /* 0 = slot free (exited and reaped)             */
    uint64_t *spawn_no;    /* per slot: the spawn number in its identity    */
    char secret[33];       /* hex, random per run                          */
    size_t n;
    size_t spawned_total;
} swan_local_pool;

/* Finds this executable (argv0 is a fallback for systems without a direct query). */
int swan_self_exe(const char *argv0, char *out, size_t size, swan_error *err);

int swan_local_pool_start(swan_local_pool *pool, const char *exe, const char *endpoint,
                          size_t n, int threads, swan_error *err);

/* Reaps exited workers without blocking. For each one calls on_exit(ctx, pid,
 * status_text) and frees its slot. Returns how many exited. */
size_t swan_local_pool_reap(swan_local_pool *pool,
                            void (*on_exit)(void *ctx, pid_t pid, const char *how), void *ctx);

/* Starts a replacement in a free slot. */
int swan_local_pool_respawn(swan_local_pool *pool, swan_error *err);

size_t swan_local_pool_alive(const swan_local_pool *pool);

/* The pid of the live local worker whose identity (routing id) is id, or 0 when id
 * is not one of ours. */
pid_t swan_local_pool_find(const swan_local_pool *pool, const void *id, size_t idlen);

/* Waits up to grace_ms for the workers to exit (they were sent SHUTDOWN), then
 * SIGTERM, a short wait, SIGKILL; reaps everything. */
void swan_local_pool_stop(swan_local_pool *pool, int grace_ms);
void swan_local_pool_free(swan_local_pool *pool);

#endif
