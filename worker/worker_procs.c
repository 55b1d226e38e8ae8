/* worker_procs.c: N worker processes on one host (see worker_procs.h). */
#include "worker/worker_procs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The exit status a child reports for a worker_run outcome: 0 SHUTDOWN, 2 refused by
 * the coordinator (its model copy differs: retrying cannot help), 1 otherwise. */
static int child_status(int rc, const swan_error *err, volatile sig_atomic_t *stop) {
    (void)err;
    if (rc == 0) return 0;
    if (stop && *stop) return 128 + SIGTERM;
    return rc == -2 ? 2 : 1;
}

int swan_worker_run_procs(const swan_worker_opts *o, int n, volatile sig_atomic_t *stop,
                          swan_error *err) {
    err->msg[0] = '\0';
    if (n <= 1) {
        int rc = swan_worker_run(o, stop, err);
        return child_status(rc, err, stop);
    }
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids) return swan_error_set(err, "out of memory"), 1;
    /* Each child watches this process (like a local worker watches swan analyze):
     * if the supervisor is killed outright, its workers leave too. */
    swan_worker_opts child = *o;
    child.parent = getpid();
    int started = 0;
    for (; started < n; started++) {
        pid_t p = fork();
        if (p < 0) {
            swan_error_set(err, "cannot start worker process %d of %d: %s", started + 1, n,
                           strerror(errno));
            break;
        }
        if (p == 0) {
            swan_error cerr;
            int rc = swan_worker_run(&child, stop, &cerr);
            /* The child reports its own failure; the parent only sums up. */
            if (rc && !(stop && *stop)) {
                char line[SWAN_ERROR_MAX + 32];
                size_t len = (size_t)snprintf(line, sizeof line, "swan worker: %s\n", cerr.msg);
                if (len >= sizeof line) len = sizeof line - 1;
                ssize_t w = write(2, line, len);
                (void)w;
            }
            _exit(child_status(rc, &cerr, stop));
        }
        pids[started] = p;
    }
    int worst = started < n ? 1 : 0, alive = started;
    bool forwarded = false;
    while (alive > 0) {
        if (stop && *stop && !forwarded) {
            for (int i = 0; i < started; i++)
                if (pids[i] > 0) kill(pids[i], SIGTERM);
            forwarded = true;
        }
        /* Not a blocking waitpid: a SIGTERM sent to this process alone (`kill PID`,
         * a service manager) that lands between the check of *stop above and the
         * call would be lost, and the children, never signalled themselves, would
         * wait for a coordinator forever. A nap of 50 ms bounds the reaction time. */
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p == 0) {
            struct timespec nap = {0, 50 * 1000000L};
            nanosleep(&nap, NULL);
            continue;
        }
        if (p < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < started; i++)
            if (pids[i] == p) {
                pids[i] = 0;
                alive--;
                int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                if (code > worst && !(forwarded && code == 128 + SIGTERM)) worst = code;
            }
    }
    free(pids);
    if (worst && !err->msg[0])
        swan_error_set(err, "a worker process ended with status %d (see its message above)", worst);
    return worst;
}
