/* test_coord_workers_report.c: what a user watching a multi-host run sees: the
 * OUT/workers.json writer (read back with cJSON) and the per-host part of the
 * verbose progress line, from hand-made scheduler statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "coordinator/progress.h"
#include "coordinator/schedule/workers_report.h"

static swan_host_stats hosts[2];

static swan_sched_stats sample(void) {
    memset(hosts, 0, sizeof hosts);
    snprintf(hosts[0].name, sizeof hosts[0].name, "local");
    hosts[0].local = true;
    hosts[0].workers = 2;
    hosts[0].workers_busy = 1;
    hosts[0].tasks_done = 14;
    hosts[0].tensors_done = 20;
    hosts[0].params_done = 3000000;
    hosts[0].params_per_s = 3.1e6;
    snprintf(hosts[1].name, sizeof hosts[1].name, "studio2 \"b\"");
    hosts[1].workers = 4;
    hosts[1].tasks_done = 30;
    hosts[1].tensors_done = 31;
    hosts[1].params_per_s = 12.25e6;
    swan_sched_stats st;
    memset(&st, 0, sizeof st);
    st.tensors_done = 51;
    st.tensors_total = 60;
    st.workers = 6;
    st.workers_busy = 1;
    st.workers_lost = 2;
    st.tasks_failed = 1;
    st.backups = 3;
    st.elapsed = 12.5;
    st.hosts = hosts;
    st.nhosts = 2;
    return st;
}

static void writes_hosts_as_json(void **state) {
    (void)state;
    char dir[] = "/tmp/swan-wr-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/workers.json", dir);
    swan_sched_stats st = sample();
    swan_error err;
    assert_int_equal(swan_workers_report_write(path, &st, &err), 0);
    st.tensors_done = 60; /* rewritten in place: the new content replaces the old */
    assert_int_equal(swan_workers_report_write(path, &st, &err), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "tensors_done")->valueint, 60);
    assert_int_equal(cJSON_GetObjectItem(j, "workers_lost")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(j, "tasks_failed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "backup_copies")->valueint, 3);
    cJSON *h = cJSON_GetObjectItem(j, "hosts");
    assert_int_equal(cJSON_GetArraySize(h), 2);
    cJSON *h1 = cJSON_GetArrayItem(h, 1);
    assert_string_equal(cJSON_GetObjectItem(h1, "host")->valuestring, "studio2 \"b\"");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(h1, "local")));
    assert_int_equal(cJSON_GetObjectItem(h1, "workers")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(h1, "tasks_done")->valueint, 30);
    assert_true(cJSON_GetObjectItem(h1, "params_per_second")->valuedouble == 12.25e6);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "local")));
    cJSON_Delete(j);
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* no temporary left behind */
    unlink(path);
    rmdir(dir);
}

static void refuses_an_unwritable_folder(void **state) {
    (void)state;
    swan_sched_stats st = sample();
    swan_error err;
    assert_int_equal(swan_workers_report_write("/nonexistent-swan-dir/workers.json", &st, &err), -1);
    assert_non_null(strstr(err.msg, "workers.json"));
}

static void formats_hosts_for_the_progress_line(void **state) {
    (void)state;
    swan_sched_stats st = sample();
    char line[256];
    swan_progress_format_hosts(&st, line, sizeof line);
    assert_string_equal(line, "hosts: local 2w 14t 3.1M/s, studio2 \"b\" 4w 30t 12.2M/s");
    st.nhosts = 0;
    swan_progress_format_hosts(&st, line, sizeof line);
    assert_string_equal(line, "hosts: none yet");
    st.nhosts = 2; /* a short buffer is cut, never overrun */
    char small[12];
    swan_progress_format_hosts(&st, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_hosts_as_json),
        cmocka_unit_test(refuses_an_unwritable_folder),
        cmocka_unit_test(formats_hosts_for_the_progress_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
