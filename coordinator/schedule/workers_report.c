/* workers_report.c: writes OUT/workers.json (see workers_report.h). */
#include "coordinator/schedule/workers_report.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
    char tmp[PATH_MAX + 8];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return swan_error_set(err, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return swan_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    swan_jw w;
    swan_jw_init(&w, f, 1);
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
    bool bad = swan_jw_error(&w);
    bad |= fputc('\n', f) == EOF;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    int e = errno;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        if (!bad) e = errno;
        unlink(tmp);
        return swan_error_set(err, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}
