/* test_common_fmt.c: swan_fmt_u64 against printf's %llu on edge and random values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_u64)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
