/* test_coord_map_guard.c: a shard truncated under the stream server's mapping must
 * not kill the coordinator. A file of four pages is mapped and guarded, cut to one
 * page, and its last pages are read (as ZeroMQ's I/O thread would read a queued
 * chunk): the read gives zeros instead of SIGBUS and the range is marked damaged;
 * an untouched guarded range is not; after the guard is removed, a fault outside any
 * guarded range still takes the default action (checked in a child process).
 * The SIGBUS handler is process-wide, so the order of the two tests matters. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/schedule/map_guard.h"

static char *temp_file(size_t len, int *fd_out) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = malloc(strlen(base) + 32);
    sprintf(path, "%s/swan-guard-XXXXXX", base);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unsigned char *buf = malloc(len);
    memset(buf, 0xAB, len);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    free(buf);
    *fd_out = fd;
    return path;
}

static void truncated_pages_read_as_zeros(void **state) {
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)page * 4;
    int fd, fd2;
    char *path = temp_file(len, &fd), *path2 = temp_file(len, &fd2);
    unsigned char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    unsigned char *m2 = mmap(NULL, len, PROT_READ, MAP_SHARED, fd2, 0);
    assert_true(m != MAP_FAILED && m2 != MAP_FAILED);
    swan_error err;
    swan_map_guard *g = swan_map_guard_add(m, len, &err), *g2 = swan_map_guard_add(m2, len, &err);
    assert_non_null(g);
    assert_non_null(g2);
    assert_false(swan_map_guard_damaged(g));

    assert_int_equal(ftruncate(fd, page), 0); /* the shard shrinks to one page */
    volatile unsigned char *v = m;
    assert_int_equal(v[0], 0xAB);             /* what is left is still the file */
    unsigned sum = 0;
    for (size_t i = (size_t)page; i < len; i += 97) sum += v[i]; /* past the end */
    assert_int_equal(sum, 0);
    assert_true(swan_map_guard_damaged(g));
    assert_false(swan_map_guard_damaged(g2)); /* only the range that faulted */
    assert_int_equal(((volatile unsigned char *)m2)[len - 1], 0xAB);

    swan_map_guard_remove(g);
    swan_map_guard_remove(g2);
    munmap(m, len);
    munmap(m2, len);
    close(fd);
    close(fd2);
    unlink(path);
    unlink(path2);
    free(path);
    free(path2);
}

/* An unguarded truncated mapping still dies of SIGBUS: the handler repairs only
 * ranges it was given, so a real bug elsewhere is not hidden. */
static void unguarded_fault_keeps_default_action(void **state) {
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    int fd;
    char *path = temp_file((size_t)page * 2, &fd);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* In the child alone, with the default action in place first (cmocka has its
         * own handler): the guard is installed here for the first time, on an
         * unrelated range, and must hand this fault back to the default action. */
        signal(SIGBUS, SIG_DFL);
        static unsigned char other[1 << 16];
        swan_error err;
        if (!swan_map_guard_add(other, sizeof other, &err)) _exit(4);
        unsigned char *m = mmap(NULL, (size_t)page * 2, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED || ftruncate(fd, 0) != 0) _exit(3);
        volatile unsigned char *v = m;
        _exit(v[page] == 0 ? 0 : 1); /* must not get here */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGBUS);
    close(fd);
    unlink(path);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        /* First: its child must be the first to install the handler. */
        cmocka_unit_test(unguarded_fault_keeps_default_action),
        cmocka_unit_test(truncated_pages_read_as_zeros),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
