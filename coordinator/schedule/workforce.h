/* workforce.h: the workers of one coordinator run, ready for the scheduler.
 *
 * `swan analyze` and `swan quantize` both hand tasks to workers the same way: a
 * private ipc:// endpoint in a 0700 folder for the workers this process starts (no
 * keys, no network), optionally a --listen endpoint for workers on other hosts
 * (CURVE with --curve-secret/--allow, plain TCP only on loopback or with --insecure),
 * and the local pool started on the ipc endpoint. This owns all of it: checks
 * refuse bad flags before anything is written, and swan_workforce_free releases
 * every resource whatever happened. */
#ifndef SWAN_WORKFORCE_H
#define SWAN_WORKFORCE_H

#include <limits.h>
#include <stdbool.h>

#include "common/error.h"
#include "coordinator/schedule/local_workers.h"
#include "proto/curve_keys.h"
#include "proto/transport.h"

typedef struct swan_workforce_opts {
    const char *argv0;         /* to find the executable local workers run        */
    int jobs;                  /* local workers (0: remote ones only)             */
    int threads;               /* BLAS threads per local worker                   */
    const char *listen;        /* tcp://... for other hosts, or NULL              */
    const char *curve_secret;  /* coordinator's key file (CURVE), with allow      */
    const char *allow;         /* dir of *.pub or file of admitted worker keys    */
    bool insecure;             /* plain TCP off loopback accepted                 */
    void (*log)(void *ctx, const char *line); /* transport lines (ZAP refusals)   */
    void *log_ctx;
} swan_workforce_opts;

typedef struct swan_workforce {
    swan_transport transport;    /* the workers' socket                            */
    swan_curve_keypair curve;    /* --curve-secret, loaded                          */
    swan_key_list allowed;       /* --allow                                         */
    swan_local_pool pool;
    char ipc_dir[PATH_MAX];
    char ipc_ep[PATH_MAX + 16];  /* private endpoint of the local workers          */
} swan_workforce;

/* Checks the flags and binds (a bad endpoint, a port in use, a bad key file is
 * refused here, before anything is written). wf must be zeroed. */
int swan_workforce_open(swan_workforce *wf, const swan_workforce_opts *o, swan_error *err);

/* Starts the local workers (none when o->jobs is 0). */
int swan_workforce_start(swan_workforce *wf, const swan_workforce_opts *o, swan_error *err);

/* The local pool for swan_sched_run (NULL when there is none). */
swan_local_pool *swan_workforce_pool(swan_workforce *wf);

void swan_workforce_free(swan_workforce *wf);

#endif
