/* exit_status.h: the exit statuses of every swan subcommand (README, swan(1)).
 *
 * Library code returns them as run outcomes (swan_analyze); only the CLI turns them
 * into the process's exit status. */
#ifndef SWAN_EXIT_STATUS_H
#define SWAN_EXIT_STATUS_H

enum {
    SWAN_EXIT_OK = 0,
    SWAN_EXIT_FAILED = 1,      /* the run could not complete (workers, I/O)      */
    SWAN_EXIT_REFUSED = 2,     /* bad input or bad flags: nothing was written     */
    SWAN_EXIT_INTERRUPTED = 130
};

#endif
