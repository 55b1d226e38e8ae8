/* test_common_clock.c: swan_now_s is monotonic and measures a known sleep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"

static void test_measures_sleep(void **state) {
    (void)state;
    double t0 = swan_now_s();
    struct timespec ts = {0, 50 * 1000 * 1000}; /* 50 ms */
    nanosleep(&ts, NULL);
    double dt = swan_now_s() - t0;
    assert_true(dt >= 0.049);
    assert_true(dt < 5.0); /* generous: the machine is shared */
}

static void test_never_goes_back(void **state) {
    (void)state;
    double prev = swan_now_s();
    for (int i = 0; i < 100000; i++) {
        double t = swan_now_s();
        assert_true(t >= prev);
        prev = t;
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_measures_sleep),
                                       cmocka_unit_test(test_never_goes_back)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
