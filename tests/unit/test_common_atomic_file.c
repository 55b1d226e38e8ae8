/* test_common_atomic_file.c: files appear complete or not at all (common/atomic_file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/atomic_file.h"

static char dir[64];

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/swan_atomic_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", dir, name);
}

static char *slurp(const char *path) {
    static char buf[256];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int exists(const char *path) {
    return access(path, F_OK) == 0;
}

static void test_commit_publishes_whole_file(void **state) {
    (void)state;
    char path[128], tmp[136];
    path_of(path, sizeof path, "out.json");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    swan_atomic_file af;
    swan_error err = {{0}};
    assert_int_equal(swan_atomic_open(&af, path, &err), 0);
    fputs("hello", af.f);
    fflush(af.f);
    assert_false(exists(path)); /* nothing under the final name before the commit */
    assert_true(exists(tmp));
    assert_int_equal(swan_atomic_commit(&af, &err), 0);
    assert_null(af.f);
    assert_string_equal(slurp(path), "hello");
    assert_false(exists(tmp));
}

static void test_abort_keeps_previous(void **state) {
    (void)state;
    char path[128], tmp[136];
    path_of(path, sizeof path, "keep.json");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    swan_atomic_file af;
    swan_error err = {{0}};
    assert_int_equal(swan_atomic_open(&af, path, &err), 0);
    fputs("old", af.f);
    assert_int_equal(swan_atomic_commit(&af, &err), 0);
    assert_int_equal(swan_atomic_open(&af, path, &err), 0);
    fputs("new but unfinished", af.f);
    swan_atomic_abort(&af);
    swan_atomic_abort(&af); /* twice is harmless */
    assert_string_equal(slurp(path), "old");
    assert_false(exists(tmp));
}

static void test_keep_open_appends_to_final(void **state) {
    (void)state;
    char path[128];
    path_of(path, sizeof path, "journal.jsonl");
    swan_atomic_file af;
    swan_error err = {{0}};
    assert_int_equal(swan_atomic_open(&af, path, &err), 0);
    fputs("header\n", af.f);
    assert_int_equal(swan_atomic_commit_keep_open(&af, &err), 0);
    assert_non_null(af.f);
    assert_string_equal(slurp(path), "header\n");
    fputs("record\n", af.f);
    fflush(af.f);
    assert_int_equal(swan_fsync(fileno(af.f)), 0);
    fclose(af.f);
    assert_string_equal(slurp(path), "header\nrecord\n");
}

static void test_missing_folder_is_an_error(void **state) {
    (void)state;
    char path[128];
    path_of(path, sizeof path, "no/such/folder/out.json");
    swan_atomic_file af;
    swan_error err = {{0}};
    assert_int_equal(swan_atomic_open(&af, path, &err), -1);
    assert_non_null(strstr(err.msg, "no/such/folder/out.json"));
    assert_null(af.f);
    assert_int_equal(swan_atomic_open(&af, "", &err), -1);
}

/* A write that fails at commit time (here: over the file-size limit, as a full disk
 * would) leaves the previous file intact and no temporary behind. */
static void test_failed_write_keeps_previous(void **state) {
    (void)state;
    char path[128], tmp[136];
    path_of(path, sizeof path, "big.bin");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    swan_atomic_file af;
    swan_error err = {{0}};
    assert_int_equal(swan_atomic_open(&af, path, &err), 0);
    fputs("previous", af.f);
    assert_int_equal(swan_atomic_commit(&af, &err), 0);

    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(swan_atomic_open(&af, path, &err), 0);
    static char block[65536];
    memset(block, 'x', sizeof block);
    fwrite(block, 1, sizeof block, af.f); /* buffered: the failure shows at commit */
    int rc = swan_atomic_commit(&af, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, path));
    assert_string_equal(slurp(path), "previous");
    assert_false(exists(tmp));
}

static void test_fsync_parent(void **state) {
    (void)state;
    char path[128];
    path_of(path, sizeof path, "x");
    assert_int_equal(swan_fsync_parent(path), 0);
    assert_int_equal(swan_fsync_parent("relative-name"), 0); /* the current folder */
    assert_int_equal(swan_fsync_parent("/x"), 0);
    assert_int_equal(swan_fsync_parent("/no/such/folder/x"), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_publishes_whole_file),
        cmocka_unit_test(test_abort_keeps_previous),
        cmocka_unit_test(test_keep_open_appends_to_final),
        cmocka_unit_test(test_missing_folder_is_an_error),
        cmocka_unit_test(test_failed_write_keeps_previous),
        cmocka_unit_test(test_fsync_parent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
