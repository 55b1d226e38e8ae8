/* test_coord_qjournal.c: the resume journal of swan quantize (quantize_journal.h).
 *
 * Its batching of fsyncs: unit lines are synced at the latest after
 * SWAN_QJOURNAL_SYNC_LINES lines (or SWAN_QJOURNAL_SYNC_S seconds), always with a
 * shard's record and when the journal is closed without being removed; and what a
 * closed journal holds is what the next open loads (records, shards, a torn or
 * damaged line dropped, another layout's journal discarded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/quantize/quantize_journal.h"

typedef struct env {
    char dir[256];
    char path[320];
    swan_qlayout l; /* the journal only reads n and nshards */
} env;

static int setup(void **state) {
    env *e = calloc(1, sizeof *e);
    if (!e) return -1;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(e->dir, sizeof e->dir, "%s/swan-qj-XXXXXX", base);
    if (!mkdtemp(e->dir)) return -1;
    snprintf(e->path, sizeof e->path, "%s/%s", e->dir, SWAN_QJOURNAL_NAME);
    e->l.n = 1000;
    e->l.nshards = 3;
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    unlink(e->path);
    rmdir(e->dir);
    free(e);
    return 0;
}

static size_t count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF) n += c == '\n';
    if (f) fclose(f);
    return n;
}

static void test_batched_sync(void **state) {
    env *e = *state;
    swan_qjournal j;
    swan_error err = {{0}};
    assert_int_equal(swan_qjournal_open(&j, e->dir, 42, &e->l, &err), 0);
    assert_int_equal(j.unsynced, 0);
    for (size_t t = 0; t < 10; t++) assert_int_equal(swan_qjournal_unit(&j, t, 1000 + t, &err), 0);
    /* handed to the OS at once (a reader sees them), synced later */
    assert_int_equal(count_lines(e->path), 1 + 10);
    if (j.unsynced != 10) /* only if a second went by on a very loaded machine */
        assert_int_equal(j.unsynced, 0);
    assert_int_equal(swan_qjournal_shard(&j, 0, &err), 0);
    assert_int_equal(j.unsynced, 0); /* the shard's record and every unit before it */
    /* at the latest every SWAN_QJOURNAL_SYNC_LINES lines */
    size_t most = 0;
    for (size_t t = 10; t < 10 + 3 * SWAN_QJOURNAL_SYNC_LINES; t++) {
        assert_int_equal(swan_qjournal_unit(&j, t, 1000 + t, &err), 0);
        if (j.unsynced > most) most = j.unsynced;
    }
    assert_true(most < SWAN_QJOURNAL_SYNC_LINES);
    swan_qjournal_close(&j, e->dir, false);
    assert_int_equal(count_lines(e->path), 1 + 10 + 1 + 3 * SWAN_QJOURNAL_SYNC_LINES);

    /* reopened: every unit and the shard are there */
    assert_int_equal(swan_qjournal_open(&j, e->dir, 42, &e->l, &err), 0);
    assert_int_equal(j.records, 10 + 3 * SWAN_QJOURNAL_SYNC_LINES);
    assert_true(j.shard_done[0]);
    assert_false(j.shard_done[1]);
    assert_true(j.has[5] && j.sum[5] == 1005);
    assert_false(j.has[10 + 3 * SWAN_QJOURNAL_SYNC_LINES]);
    swan_qjournal_close(&j, e->dir, true);
    assert_int_equal(access(e->path, F_OK), -1); /* removed: the folder is complete */
}

static void test_reload_drops_bad_lines(void **state) {
    env *e = *state;
    swan_qjournal j;
    swan_error err = {{0}};
    assert_int_equal(swan_qjournal_open(&j, e->dir, 7, &e->l, &err), 0);
    for (size_t t = 0; t < 4; t++) assert_int_equal(swan_qjournal_unit(&j, t, 50 + t, &err), 0);
    swan_qjournal_close(&j, e->dir, false);
    FILE *f = fopen(e->path, "a"); /* a damaged line and a torn one, as a crash leaves */
    assert_non_null(f);
    fputs("{\"tensor\":9,\"xxh64\":\"0000000000000009\",\"crc\":\"00000000\"}\n", f);
    fputs("{\"tensor\":8,\"xxh64\":\"00000000", f);
    fclose(f);
    assert_int_equal(swan_qjournal_open(&j, e->dir, 7, &e->l, &err), 0);
    assert_int_equal(j.records, 4);
    assert_false(j.has[8] || j.has[9]);
    swan_qjournal_close(&j, e->dir, false);
    assert_int_equal(count_lines(e->path), 1 + 4); /* rewritten compactly */
    /* another layout's journal: nothing loaded */
    assert_int_equal(swan_qjournal_open(&j, e->dir, 8, &e->l, &err), 0);
    assert_int_equal(j.records, 0);
    swan_qjournal_close(&j, e->dir, true);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batched_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_drops_bad_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
