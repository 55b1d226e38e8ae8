/* test_common_fmt.c: swan_fmt_u64 against printf's %llu and swan_fmt_g against printf's
 * %.Ng, byte for byte, on edge values, ties and millions of random doubles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <float.h>
#include <math.h>

#include <cmocka.h>

#include "common/fmt.h"

static void check(uint64_t v) {
    char got[24], want[24];
    size_t n = swan_fmt_u64(got, v);
    snprintf(want, sizeof want, "%llu", (unsigned long long)v);
    assert_string_equal(got, want);
    assert_int_equal(n, strlen(want));
}

static void test_u64(void **state) {
    (void)state;
    const uint64_t edge[] = {0, 1, 9, 10, 99, 100, 4294967295ull, 4294967296ull,
                             9999999999999999999ull, 10000000000000000000ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) check(edge[i]);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check(x >> (x % 64)); /* all magnitudes */
    }
}

static uint64_t xorshift(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Counts the values swan_fmt_g declined (the caller's snprintf then writes them). */
static size_t declined;

static void check_g(double v, int digits) {
    char got[40], want[40];
    snprintf(want, sizeof want, "%.*g", digits, v);
    size_t n = swan_fmt_g(got, v, digits);
    if (n == 0) {
        declined++;
        return;
    }
    if (strcmp(got, want) != 0) fail_msg("%.17g with %d digits: got %s, printf %s", v, digits, got, want);
    assert_int_equal(n, strlen(want));
}

static void test_g_edges(void **state) {
    (void)state;
    static const double edge[] = {
        1, -1, 0.5, 1.5, 2.5, 0.1, 0.2, 0.3, 1e-4, 1e-5, 9.9999949e-5, 9.9999951e-5, 0.0001,
        0.00010000005, 123456, 999999, 999999.4, 999999.5, 999999.6, 1e6, 1234567, 1e15,
        1e21, 1e22, 1e23, 1e-20, 1e-22, 1e-23, 3.14159265358979, 2.718281828459045,
        0.30000000000000004, 1.0000005, 1.0000015, 1.0000025, 0.1234565, 0.1234575,
        12345.65, 5e-324, DBL_MIN, DBL_MAX, 0.0, -0.0, 1.25e-7, 7.0e-5, 123.456,
        0.046605540840, 0.3728204616, 0.008226082828, 100, 1e5, 1e-4 * (1 + DBL_EPSILON)};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        for (int d = 1; d <= 12; d++) {
            check_g(edge[i], d);
            check_g(-edge[i], d);
        }
    char out[40];
    assert_int_equal(swan_fmt_g(out, NAN, 6), 0);
    assert_int_equal(swan_fmt_g(out, INFINITY, 6), 0);
    assert_int_equal(swan_fmt_g(out, 0.0, 6), 0);
    assert_int_equal(swan_fmt_g(out, 1.0, 13), 0);
    /* exact ties (0.5 ulp of the last digit, representable) are left to printf */
    assert_int_equal(swan_fmt_g(out, 2.5, 1), 0);
    assert_int_equal(swan_fmt_g(out, 1234565.0, 6), 0);
}

/* Random bit patterns (every magnitude), values of every decade the report shows,
 * and values made to sit next to a tie of the 6th digit. */
static void test_g_random(void **state) {
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 1000000; i++) {
        uint64_t bits = xorshift(&x);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v)) check_g(v, 6);
        int decade = (int)(xorshift(&x) % 40) - 25;
        /* k + 1/2 in the 6th digit, and nudged by one ulp either way */
        double tie = ((double)(xorshift(&x) % 900000 + 100000) + 0.5) * pow(10, decade - 5);
        check_g(nextafter(tie, xorshift(&x) & 1 ? 0 : INFINITY), 6);
        check_g(tie, 6);
    }
    /* the report's values: every decade, 6 digits or any other count; declining
     * (near a tie) must stay the rare case, or the fast path would not be one */
    declined = 0;
    for (int i = 0; i < 1000000; i++) {
        double u = (double)(xorshift(&x) >> 11) / 9007199254740992.0; /* [0, 1) */
        int decade = (int)(xorshift(&x) % 25) - 12; /* 1e-13 .. 1e12 */
        check_g(u * pow(10, decade), 6);
        check_g(-u * pow(10, decade), 1 + (int)(xorshift(&x) % 12));
    }
    printf("swan_fmt_g left %zu of 2,000,000 values to printf\n", declined);
    assert_true(declined < 20000);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_u64), cmocka_unit_test(test_g_edges),
                                       cmocka_unit_test(test_g_random)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
