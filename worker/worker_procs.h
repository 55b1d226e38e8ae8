/* worker_procs.h: `swan worker -j N`: N worker processes on one host.
 *
 * A worker host runs one process per core by default. The first process forks the
 * others before any ZeroMQ context or compute thread exists (forking a process that
 * has threads would copy locks held by threads that do not exist in the child), and
 * then supervises them: each child runs swan_worker_run on its own connection, a
 * SIGINT/SIGTERM of the parent is passed on to every child, and the parent returns
 * only when all have exited. */
#ifndef SWAN_WORKER_PROCS_H
#define SWAN_WORKER_PROCS_H

#include <signal.h>

#include "common/error.h"
#include "worker/worker_loop.h"

/* Runs n workers (n <= 1: in this process). Returns the worst child status as an
 * exit status (0 when all ended on SHUTDOWN), with err set when it is not 0. */
int swan_worker_run_procs(const swan_worker_opts *o, int n, volatile sig_atomic_t *stop,
                          swan_error *err);

#endif
