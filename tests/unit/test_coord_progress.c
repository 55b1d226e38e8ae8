/* test_coord_progress.c: the status text and the plain (non-terminal) line rate.
 *
 * A tmpfile is not a terminal, so swan_progress_init picks the plain mode, which must
 * print at most one line per plain_every seconds of (simulated) elapsed time, plus
 * exactly one final line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/progress.h"

static swan_sched_stats stats(size_t done, size_t total, double elapsed, double frac) {
    swan_sched_stats st;
    memset(&st, 0, sizeof st);
    st.tensors_done = done;
    st.tensors_total = total;
    st.bytes_done = 1500000000ull;
    st.bytes_total = 6000000000ull;
    st.params_done = 120000000ull;
    st.cost_total = 4.0;
    st.cost_done = 4.0 * frac;
    st.workers = 4;
    st.workers_busy = 2;
    st.elapsed = elapsed;
    return st;
}

static void expect_contains(const char *text, const char *needle) {
    if (!strstr(text, needle)) fail_msg("\"%s\" lacks \"%s\"", text, needle);
}

static void test_format(void **state) {
    (void)state;
    char out[256];
    /* a quarter of the work in 60 s: 180 s to go */
    swan_sched_stats st = stats(3, 10, 60, 0.25);
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "3/10 tensors");
    expect_contains(out, "1.50/6.00 GB");
    expect_contains(out, "2.0M params/s"); /* 120e6 params / 60 s */
    expect_contains(out, "2/4 busy");
    assert_null(strchr(out, '\n'));
    expect_contains(out, "ETA 3m00s");
}

static void test_eta(void **state) {
    (void)state;
    char out[256];
    swan_sched_stats st = stats(5, 10, 10, 0.5); /* 10 s to go */
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "ETA 10s");
    st = stats(5, 10, 150, 0.5); /* 150 s */
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "ETA 2m30s");
    st = stats(5, 10, 120, 0.5); /* 120 s */
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "ETA 2m00s");
    st = stats(5, 10, 3600, 1.0 / 3.0); /* 7200 s */
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "ETA 2.0h");
    st = stats(1, 10, 30, 0.01); /* too early to say */
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "ETA --");
    st = stats(1, 10, 0.5, 0.5); /* too early to say */
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "ETA --");
    st = stats(10, 10, 100, 1.0); /* done */
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "10/10 tensors");
    expect_contains(out, "ETA 0s");
    st = stats(5, 10, 300, 0.5); /* 300 s: a whole odd number of minutes */
    swan_progress_format(&st, out, sizeof out);
    expect_contains(out, "ETA 5m00s");
}

static void test_format_truncates(void **state) {
    (void)state;
    char out[24];
    memset(out, 'Z', sizeof out);
    swan_sched_stats st = stats(3, 10, 60, 0.25);
    swan_progress_format(&st, out, 16);
    assert_int_equal(strlen(out), 15);
    assert_int_equal(out[16], 'Z');
}

static char *read_all(FILE *f) {
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    return s;
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Updates every 10 ms of simulated time for 23 s; each line's tensors_done encodes
 * the elapsed time (centiseconds) so the gaps between lines can be checked. */
static void test_plain_rate(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    swan_progress p;
    swan_progress_init(&p, f, false);
    assert_false(p.tty);
    double every = p.plain_every;
    assert_true(every > 0);
    for (int cs = 0; cs <= 2300; cs++) {
        swan_sched_stats st = stats((size_t)cs, 100000, cs / 100.0, 0.1);
        swan_progress_update(&p, &st);
    }
    swan_progress_finish(&p);
    char *text = read_all(f);
    fclose(f);
    size_t lines = count_lines(text);
    assert_true(lines <= (size_t)(23.0 / every) + 1);
    assert_true(lines >= (size_t)(23.0 / every) - 1);
    assert_null(strchr(text, '\r')); /* no terminal control in a log */
    assert_null(strchr(text, '\033'));
    long prev = -1;
    for (const char *s = text; (s = strchr(s, '[')); s++) {
        long cs = strtol(s + 1, NULL, 10);
        if (prev >= 0 && (cs - prev) / 100.0 < every - 1e-9)
            fail_msg("lines at %.2f s and %.2f s: closer than %g s\n%s", prev / 100.0, cs / 100.0,
                     every, text);
        prev = cs;
    }
    free(text);
}

static void test_plain_final_line_once(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    swan_progress p;
    swan_progress_init(&p, f, false);
    swan_sched_stats st = stats(3, 10, 0.1, 0.3);
    swan_progress_update(&p, &st); /* too soon: nothing */
    assert_int_equal(ftell(f), 0);
    st = stats(10, 10, 0.2, 1.0);  /* finished: printed even though soon */
    swan_progress_update(&p, &st);
    st = stats(10, 10, 0.3, 1.0);  /* and only once */
    swan_progress_update(&p, &st);
    st = stats(10, 10, 60, 1.0);
    swan_progress_update(&p, &st);
    swan_progress_log(&p, "worker 2 lost; its task goes back to the queue");
    swan_progress_finish(&p);
    char *text = read_all(f);
    fclose(f);
    assert_int_equal(count_lines(text), 2);
    expect_contains(text, "10/10 tensors");
    expect_contains(text, "swan: worker 2 lost; its task goes back to the queue\n");
    free(text);
}

static void test_quiet(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    swan_progress p;
    swan_progress_init(&p, f, true);
    for (int s = 0; s < 30; s++) {
        swan_sched_stats st = stats((size_t)s, 30, s, s / 30.0);
        swan_progress_update(&p, &st);
    }
    swan_sched_stats st = stats(30, 30, 31, 1.0);
    swan_progress_update(&p, &st);
    swan_progress_finish(&p);
    assert_int_equal(ftell(f), 0);
    fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_eta),
        cmocka_unit_test(test_format_truncates),
        cmocka_unit_test(test_plain_rate),
        cmocka_unit_test(test_plain_final_line_once),
        cmocka_unit_test(test_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
