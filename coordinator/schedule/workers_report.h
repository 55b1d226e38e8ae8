/* workers_report.h: OUT/workers.json, what the coordinator knows about its workers.
 *
 * Rewritten every few seconds during a run (and once at its end) from the
 * scheduler's statistics: one entry per host with its connected workers, tasks and
 * tensors done and throughput, plus run-wide counts (workers lost, tasks failed,
 * backup copies). Someone watching a multi-host job reads it; nothing reads it back.
 * The file is replaced atomically, so a reader never sees half of it. */
#ifndef SWAN_WORKERS_REPORT_H
#define SWAN_WORKERS_REPORT_H

#include "common/error.h"
#include "coordinator/schedule/scheduler.h"

int swan_workers_report_write(const char *path, const swan_sched_stats *st, swan_error *err);

#endif
