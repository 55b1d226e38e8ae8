/* workers_report.c: writes OUT/workers.json (see workers_report.h). */
#include "coordinator/schedule/workers_report.h"

#include <stdio.h>

#include "common/atomic_file.h"
#include "common/json_writer.h"

static void write_host(swan_jw *w, const swan_host_stats *h) {
    swan_jw_object_begin(w);
    swan_jw_key_string(w, "host", h->name);
    swan_jw_key(w, "local");
    swan_jw_bool(w, h->local);
    swan_jw_key_uint(w, "workers", h->workers);
    swan_jw_key_uint(w, "workers_busy", h->workers_busy);
    swan_jw_key_uint(w, "tasks_done", h->tasks_done);
    swan_jw_key_uint(w, "tensors_done", h->tensors_done);
    swan_jw_key_uint(w, "params_done", h->params_done);
    swan_jw_key_double(w, "params_per_second", h->params_per_s);
    swan_jw_object_end(w);
}

int swan_workers_report_write(const char *path, const swan_sched_stats *st, swan_error *err) {
    swan_atomic_file af;
    if (swan_atomic_open(&af, path, err)) return -1;
    swan_jw w;
    swan_jw_init(&w, af.f, 1);
    swan_jw_object_begin(&w);
    swan_jw_key_double(&w, "elapsed_seconds", st->elapsed);
    swan_jw_key_uint(&w, "workers", st->workers);
    swan_jw_key_uint(&w, "workers_busy", st->workers_busy);
    swan_jw_key_uint(&w, "workers_lost", st->workers_lost);
    swan_jw_key_uint(&w, "tensors_done", st->tensors_done);
    swan_jw_key_uint(&w, "tensors_total", st->tensors_total);
    swan_jw_key_uint(&w, "tasks_failed", st->tasks_failed);
    swan_jw_key_uint(&w, "backup_copies", st->backups);
    swan_jw_key(&w, "hosts");
    swan_jw_array_begin(&w);
    for (size_t i = 0; i < st->nhosts; i++) write_host(&w, &st->hosts[i]);
    swan_jw_array_end(&w);
    swan_jw_object_end(&w);
    if (swan_jw_error(&w) || fputc('\n', af.f) == EOF) {
        swan_atomic_abort(&af);
        return swan_error_set(err, "cannot write %s", path);
    }
    return swan_atomic_commit(&af, err);
}
