/* progress.h: what a user watching a long run sees on stderr.
 *
 * On a terminal: one line rewritten in place (tensors done/total, GB read, params/s,
 * ETA, workers busy). Otherwise (a log file, CI): a plain line every few seconds.
 * The verbose form adds each connected host: workers, tasks done, throughput.
 * Quiet mode prints nothing. Worker incidents are printed as their own lines. */
#ifndef SWAN_PROGRESS_H
#define SWAN_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "coordinator/schedule/scheduler.h"

typedef struct swan_progress {
    FILE *out;
    bool tty, quiet;
    bool verbose;           /* add the per-host part (set after init)   */
    double last_plain;      /* elapsed time of the last plain line      */
    double plain_every;     /* seconds between plain lines              */
    bool line_open;         /* a live line is on screen (needs \n)      */
} swan_progress;

void swan_progress_init(swan_progress *p, FILE *out, bool quiet);
void swan_progress_update(swan_progress *p, const swan_sched_stats *st);
/* Prints a message on its own line without garbling the live line. */
void swan_progress_log(swan_progress *p, const char *line);
/* Ends the live line. */
void swan_progress_finish(swan_progress *p);

/* Formats the status text (no newline) into out; exposed for tests. */
void swan_progress_format(const swan_sched_stats *st, char *out, size_t size);
/* The per-host part of the verbose form: "hosts: local 2w 14t 3.1M/s, ...". */
void swan_progress_format_hosts(const swan_sched_stats *st, char *out, size_t size);

#endif
