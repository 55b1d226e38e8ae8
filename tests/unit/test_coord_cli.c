/* test_coord_cli.c: the shared command-line helpers (coordinator/cli): strict number
 * parsing without wrap-around, one-line refusals with the help hint, the one printer
 * of refusals and warnings, and swan_cli_parse (the option loop every subcommand
 * shares: positional arguments, help, the shared reduce flags). */
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
#include "coordinator/policy_cli.h"

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

/* ---- swan_cli_parse ---- */

typedef struct parse_case {
    int argc;
    char **argv;
    swan_policy policy;
    bool with_policy;
    bool quiet;
    bool policy_given;
    const char *args[2];
    int nargs;
    int status;
} parse_case;

static void run_parse(void *arg) {
    parse_case *pc = arg;
    static const struct option longopts[] = {SWAN_POLICY_LONGOPTS,
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    swan_policy_default(&pc->policy);
    pc->policy_given = false;
    const swan_cli_spec spec = {.cmd = "x", .shortopts = "qh", .longopts = longopts,
                                .help = "usage: swan x A [B]\n%s-- end\n", .min_args = 1,
                                .max_args = 2, .args_hint = "A and B only",
                                .args_missing = "expected an A",
                                .policy = pc->with_policy ? &pc->policy : NULL,
                                .policy_given = &pc->policy_given,
                                .flag = swan_cli_quiet_flag, .ctx = &pc->quiet};
    optind = 1;
    pc->status = swan_cli_parse(&spec, pc->argc, pc->argv, pc->args, &pc->nargs);
}

static const char *parse(parse_case *pc, int argc, char **argv) {
    pc->argc = argc;
    pc->argv = argv;
    return capture_stderr(run_parse, pc);
}

static void test_parse_positionals(void **state) {
    (void)state;
    parse_case pc = {.with_policy = true};
    char *a1[] = {"x", "one", "-q", "--", "-two", NULL};
    assert_string_equal(parse(&pc, 5, a1), "");
    assert_int_equal(pc.status, SWAN_CLI_GO);
    assert_true(pc.quiet);
    assert_int_equal(pc.nargs, 2);
    assert_string_equal(pc.args[0], "one");
    assert_string_equal(pc.args[1], "-two"); /* after "--": an argument, not a flag */

    char *a2[] = {"x", "a", "b", "c", NULL};
    assert_string_equal(parse(&pc, 4, a2),
                        "swan x: unexpected argument 'c' (A and B only)\ntry 'swan x --help'\n");
    assert_int_equal(pc.status, 2);
    char *a3[] = {"x", "a", "b", "--", "c", NULL};
    assert_string_equal(parse(&pc, 5, a3),
                        "swan x: unexpected argument 'c' (A and B only)\ntry 'swan x --help'\n");
    assert_int_equal(pc.status, 2);
    char *a4[] = {"x", "-q", NULL};
    assert_string_equal(parse(&pc, 2, a4), "swan x: expected an A\ntry 'swan x --help'\n");
    assert_int_equal(pc.status, 2);
    char *a5[] = {"x", "a", "--bogus", NULL};
    assert_string_equal(parse(&pc, 3, a5), "swan x: --bogus: unknown option\ntry 'swan x --help'\n");
    assert_int_equal(pc.status, 2);
}

/* The reduce flags go to the policy with the command's name in any refusal; without a
 * policy in the spec they are not the command's (the callback refuses them). */
static void test_parse_policy_flags(void **state) {
    (void)state;
    parse_case pc = {.with_policy = true};
    char *a1[] = {"x", "m", "--target-bpw", "4.5", "--protect", "q_proj", "--no-default-protect", NULL};
    assert_string_equal(parse(&pc, 7, a1), "");
    assert_int_equal(pc.status, SWAN_CLI_GO);
    assert_int_equal(pc.policy.alloc, SWAN_ALLOC_TARGET_BPW);
    assert_true(pc.policy.target_bpw == 4.5);
    assert_false(pc.policy.builtin_protect);
    assert_true(pc.policy_given);
    char *a1b[] = {"x", "m", "-q", NULL}; /* told when none is given too (swan quantize) */
    assert_string_equal(parse(&pc, 3, a1b), "");
    assert_false(pc.policy_given);
    char *a1c[] = {"x", "m", "--protect", "k_proj", NULL}; /* a flag that leaves alloc alone */
    assert_string_equal(parse(&pc, 4, a1c), "");
    assert_true(pc.policy_given);
    char *a2[] = {"x", "m", "--weights", "0.5,0.5", NULL};
    const char *err = parse(&pc, 4, a2);
    assert_int_equal(pc.status, 2);
    assert_true(strncmp(err, "swan x: --weights ", 18) == 0);
    assert_non_null(strstr(err, "\ntry 'swan x --help'\n"));
    int lines = 0;
    for (const char *p = err; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 2); /* the reason and the hint, nothing more */
    char *a3[] = {"x", "m", "--target-bpw", "4", "--target-size", "10GB", NULL};
    assert_non_null(strstr(parse(&pc, 6, a3), "only one of --target-bpw and --target-size"));
    assert_int_equal(pc.status, 2);
    pc.with_policy = false;
    char *a4[] = {"x", "m", "--target-bpw", "4", NULL};
    parse(&pc, 4, a4);
    assert_int_equal(pc.status, 2);
}

/* -h prints the help to stdout with the shared flags' help where "%s" stands. */
static void test_parse_help(void **state) {
    (void)state;
    fflush(stdout);
    int saved = dup(1);
    FILE *t = tmpfile();
    dup2(fileno(t), 1);
    parse_case pc = {.with_policy = true};
    char *a1[] = {"x", "--help", "extra", "args", "--bogus", NULL};
    const char *err = parse(&pc, 5, a1);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    assert_string_equal(err, "");
    assert_int_equal(pc.status, 0);
    char out[8192];
    rewind(t);
    size_t n = fread(out, 1, sizeof out - 1, t);
    out[n] = '\0';
    fclose(t);
    assert_true(strncmp(out, "usage: swan x A [B]\n", 20) == 0);
    assert_non_null(strstr(out, "--target-bpw B"));
    assert_non_null(strstr(out, "-- end\n"));
}

/* Refusals and warnings come from one printer: the same prefix, the hint only on a refusal. */
static void warn_and_refuse(void *arg) {
    *(int *)arg = swan_cli_refuse("y", "bad %d", 1);
    swan_cli_warn("y", "odd %s", "thing");
}

static void test_one_printer(void **state) {
    (void)state;
    int rc = 0;
    assert_string_equal(capture_stderr(warn_and_refuse, &rc),
                        "swan y: bad 1\ntry 'swan y --help'\nswan y: warning: odd thing\n");
    assert_int_equal(rc, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_u64_strict),
        cmocka_unit_test(test_parse_double_strict),
        cmocka_unit_test(test_flag_refusal_is_one_line_and_hint),
        cmocka_unit_test(test_seed_overflow_refused),
        cmocka_unit_test(test_next_unknown_and_missing),
        cmocka_unit_test(test_next_positionals_in_order),
        cmocka_unit_test(test_parse_positionals),
        cmocka_unit_test(test_parse_policy_flags),
        cmocka_unit_test(test_parse_help),
        cmocka_unit_test(test_one_printer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
