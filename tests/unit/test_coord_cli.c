/* test_coord_cli.c: the shared command-line helpers (coordinator/cli): strict number
 * parsing without wrap-around, and one-line refusals with the help hint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/cli.h"

/* Runs f with stderr going to a temporary file; returns what it printed. */
static char captured[1024];
static const char *capture_stderr(void (*f)(void *), void *arg) {
    fflush(stderr);
    int saved = dup(2);
    FILE *t = tmpfile();
    dup2(fileno(t), 2);
    f(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(t);
    size_t n = fread(captured, 1, sizeof captured - 1, t);
    captured[n] = '\0';
    fclose(t);
    return captured;
}

static void test_parse_u64_strict(void **state) {
    (void)state;
    uint64_t v = 7;
    assert_int_equal(swan_cli_parse_u64("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(swan_cli_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    const char *bad[] = {"",   "x",   "-1",  " 1", "+1", "1x", "1 ", "0x10",
                         "18446744073709551616", "99999999999999999999999", "1.5", "11"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 42;
        assert_int_equal(swan_cli_parse_u64(bad[i], 0, i + 1 == sizeof bad / sizeof *bad ? 10 : UINT64_MAX, &v), -1);
        assert_int_equal(v, 42); /* untouched on failure */
    }
    assert_int_equal(swan_cli_parse_u64("3", 4, 10, &v), -1); /* below min */
}

static void test_parse_double_strict(void **state) {
    (void)state;
    double d;
    assert_int_equal(swan_cli_parse_double("1.5", 1, 2, &d), 0);
    assert_true(d == 1.5);
    const char *bad[] = {"", "nan", "inf", "1e999", "2.5", "0.5", "1.5s", " 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(swan_cli_parse_double(bad[i], 1, 2, &d), -1);
}

static void bad_jobs(void *arg) {
    int v;
    *(int *)arg = swan_cli_flag_int("analyze", "--jobs", "x", 0, 4096, &v);
}

static void test_flag_refusal_is_one_line_and_hint(void **state) {
    (void)state;
    int rc = 0;
    const char *out = capture_stderr(bad_jobs, &rc);
    assert_int_equal(rc, -1);
    assert_string_equal(out,
                        "swan analyze: --jobs: expected a whole number 0..4096, got 'x'\n"
                        "try 'swan analyze --help'\n");
}

static void huge_seed(void *arg) {
    uint64_t v;
    *(int *)arg = swan_cli_flag_u64("analyze", "--seed", "99999999999999999999999", 0, UINT64_MAX, &v);
}

static void test_seed_overflow_refused(void **state) {
    (void)state;
    int rc = 0;
    const char *out = capture_stderr(huge_seed, &rc);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(out, "--seed: expected a whole number >= 0, got '99999999999999999999999'"));
}

typedef struct next_case {
    int argc;
    char **argv;
    int last;
} next_case;

static void run_next(void *arg) {
    next_case *nc = arg;
    static const struct option longopts[] = {{"out", required_argument, 0, 'o'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = swan_cli_next("demo", nc->argc, nc->argv, "o:q", longopts)) != -1) {
        nc->last = c;
        if (c == SWAN_CLI_BAD) break;
    }
}

static void test_next_unknown_and_missing(void **state) {
    (void)state;
    char *a1[] = {"demo", "dir", "--bogus", NULL};
    next_case nc = {3, a1, 0};
    const char *out = capture_stderr(run_next, &nc);
    assert_int_equal(nc.last, SWAN_CLI_BAD);
    assert_string_equal(out, "swan demo: --bogus: unknown option\ntry 'swan demo --help'\n");

    char *a2[] = {"demo", "-qx", NULL};
    next_case nc2 = {2, a2, 0};
    out = capture_stderr(run_next, &nc2);
    assert_int_equal(nc2.last, SWAN_CLI_BAD);
    assert_string_equal(out, "swan demo: -x: unknown option\ntry 'swan demo --help'\n");

    char *a3[] = {"demo", "--out", NULL};
    next_case nc3 = {2, a3, 0};
    out = capture_stderr(run_next, &nc3);
    assert_int_equal(nc3.last, SWAN_CLI_BAD);
    assert_string_equal(out, "swan demo: --out: expected a value after it, got nothing\n"
                             "try 'swan demo --help'\n");

    char *a4[] = {"demo", "--quiet=yes", NULL};
    next_case nc4 = {2, a4, 0};
    out = capture_stderr(run_next, &nc4);
    assert_int_equal(nc4.last, SWAN_CLI_BAD);
    assert_non_null(strstr(out, "swan demo: --quiet: "));
}

static void test_next_positionals_in_order(void **state) {
    (void)state;
    static const struct option longopts[] = {{"out", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    char *argv[] = {"x", "first", "-o", "O", "second", NULL};
    optind = 1;
    const char *seen[3] = {0};
    int n = 0, c;
    const char *o = NULL;
    while ((c = swan_cli_next("x", 5, argv, "o:", longopts)) != -1) {
        if (c == SWAN_CLI_POSITIONAL) seen[n++] = optarg;
        else if (c == 'o') o = optarg;
        else fail();
    }
    assert_int_equal(n, 2);
    assert_string_equal(seen[0], "first");
    assert_string_equal(seen[1], "second");
    assert_string_equal(o, "O");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_u64_strict),
        cmocka_unit_test(test_parse_double_strict),
        cmocka_unit_test(test_flag_refusal_is_one_line_and_hint),
        cmocka_unit_test(test_seed_overflow_refused),
        cmocka_unit_test(test_next_unknown_and_missing),
        cmocka_unit_test(test_next_positionals_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
