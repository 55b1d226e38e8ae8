/* analyze.h: `swan analyze`: one whole job, from checkpoint to manifest.
 *
 * Ties the coordinator's parts together in order: open and validate the checkpoint
 * (checkpoint.c), classify and plan (plan.c), resume from the journal (journal.c),
 * start local workers (local_workers.c) and run the tasks (scheduler.c), then reduce
 * and write outputs (reduce.c, manifest.c). Owns every resource of the run and
 * releases all of them on every path, including interruption. */
#ifndef SWAN_ANALYZE_H
#define SWAN_ANALYZE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "coordinator/exit_status.h"
#include "coordinator/reduce/reduce.h"

typedef struct swan_analyze_opts {
    const char *model_dir;
    const char *out_dir;
    const char *argv0;         /* to find the executable that local workers run  */
    int jobs;                  /* local workers; 0 = only remote ones (--listen) */
    int threads;               /* BLAS threads per local worker                  */
    uint64_t seed;
    bool quiet, fresh;
    bool repair;        /* drop damaged journal records and recompute them */
    bool verbose;              /* log the time of each phase, hosts in progress  */
    bool keep_failed;          /* write the manifest even if tensors failed:
                                  them at 16 bits, reason analysis_failed        */
    const char *listen;        /* also accept workers here (tcp://...); NULL = none */
    const char *curve_secret;  /* --curve-secret: coordinator's key file (CURVE)  */
    const char *allow;         /* --allow: dir of *.pub or file of worker keys    */
    bool insecure;             /* --insecure: plain TCP off loopback accepted     */
    double worker_timeout;     /* seconds                                        */
    swan_policy policy;
} swan_analyze_opts;

void swan_analyze_default_opts(swan_analyze_opts *o);

/* Runs the job; returns a SWAN_EXIT_* status, with err set when it is not OK. */
int swan_analyze(const swan_analyze_opts *o, volatile sig_atomic_t *stop, swan_error *err);

#endif
