/* test_common_view2d.c: every row of the SWAN-METRICS.md section 2 table.
 *
 * Expected expert indices are the reference's floor(numpy.linspace(0, E-1, 4)),
 * computed here in floating point exactly as numpy does (start + i*step, last one
 * forced to the end point), independent of view2d.c's integer formula. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "common/view2d.h"

static swan_tensor_kind kind_of(int ndim, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    uint64_t s[4] = {a, b, c, d};
    swan_view2d v;
    return swan_view2d_make(ndim, s, &v);
}

static void test_kinds(void **state) {
    (void)state;
    /* empty wins over everything else */
    assert_int_equal(kind_of(1, 0, 0, 0, 0), SWAN_KIND_EMPTY);
    assert_int_equal(kind_of(2, 0, 4096, 0, 0), SWAN_KIND_EMPTY);
    assert_int_equal(kind_of(3, 8, 0, 64, 0), SWAN_KIND_EMPTY);
    /* effectively 1-D */
    assert_int_equal(kind_of(0, 0, 0, 0, 0), SWAN_KIND_1D); /* scalar */
    assert_int_equal(kind_of(1, 4096, 0, 0, 0), SWAN_KIND_1D);
    assert_int_equal(kind_of(2, 1, 4096, 0, 0), SWAN_KIND_1D);
    assert_int_equal(kind_of(2, 4096, 1, 0, 0), SWAN_KIND_1D);
    assert_int_equal(kind_of(2, 1, 1, 0, 0), SWAN_KIND_1D);
    /* tiny: under 1024 elements, 2-D or more */
    assert_int_equal(kind_of(2, 31, 33, 0, 0), SWAN_KIND_TINY); /* 1023 */
    assert_int_equal(kind_of(2, 2, 2, 0, 0), SWAN_KIND_TINY);
    assert_int_equal(kind_of(3, 2, 2, 2, 0), SWAN_KIND_TINY);
    assert_int_equal(kind_of(4, 2, 2, 2, 2), SWAN_KIND_TINY);
    assert_int_equal(kind_of(2, 32, 32, 0, 0), SWAN_KIND_MATRIX); /* exactly 1024 */
    /* a 3-D with a dimension of 1 is still 3-D (the table is applied literally) */
    assert_int_equal(kind_of(3, 1, 64, 64, 0), SWAN_KIND_MATRIX);
    assert_int_equal(kind_of(3, 1, 1, 4096, 0), SWAN_KIND_MATRIX);
}

static void test_matrix_2d(void **state) {
    (void)state;
    uint64_t s[2] = {256, 4096};
    swan_view2d v;
    assert_int_equal(swan_view2d_make(2, s, &v), SWAN_KIND_MATRIX);
    assert_int_equal(v.rows, 256);
    assert_int_equal(v.cols, 4096);
    assert_int_equal(v.nseg, 1);
    assert_int_equal(v.seg[0].first_elem, 0);
    assert_int_equal(v.seg[0].rows, 256);
    /* NULL view is allowed when only the kind is wanted */
    assert_int_equal(swan_view2d_make(2, s, NULL), SWAN_KIND_MATRIX);
}

/* floor(numpy.linspace(0, E-1, 4))[i] the way numpy computes it. */
static uint64_t np_linspace_floor(uint64_t e, int i) {
    double stop = (double)(e - 1), step = stop / 3.0;
    double x = i == 3 ? stop : (double)i * step;
    return (uint64_t)floor(x);
}

static void check_experts(uint64_t e, uint64_t r, uint64_t c) {
    uint64_t s[3] = {e, r, c};
    swan_view2d v;
    assert_int_equal(swan_view2d_make(3, s, &v), SWAN_KIND_MATRIX);
    assert_int_equal(v.rows, 4 * r);
    assert_int_equal(v.cols, c);
    assert_int_equal(v.nseg, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(v.seg[i].first_elem, np_linspace_floor(e, i) * r * c);
        assert_int_equal(v.seg[i].rows, r);
    }
}

static void test_experts(void **state) {
    (void)state;
    /* E = 8 -> experts 0, 2, 4, 7 (stated in the spec's reference behaviour) */
    uint64_t s[3] = {8, 16, 64};
    swan_view2d v;
    assert_int_equal(swan_view2d_make(3, s, &v), SWAN_KIND_MATRIX);
    const uint64_t want[4] = {0, 2, 4, 7};
    for (int i = 0; i < 4; i++) assert_int_equal(v.seg[i].first_elem, want[i] * 16 * 64);
    assert_int_equal(v.rows, 64);
    assert_int_equal(v.cols, 64);

    /* E = 5 -> 0, 1, 2, 4 */
    uint64_t s5[3] = {5, 2, 512};
    assert_int_equal(swan_view2d_make(3, s5, &v), SWAN_KIND_MATRIX);
    assert_int_equal(v.seg[1].first_elem, 1 * 2 * 512);
    assert_int_equal(v.seg[2].first_elem, 2 * 2 * 512);
    assert_int_equal(v.seg[3].first_elem, 4 * 2 * 512);

    /* Agreement with numpy's float linspace over many expert counts. */
    for (uint64_t e = 5; e <= 2048; e++) check_experts(e, 3, 512);
    check_experts(128, 1408, 2048);
    check_experts(384, 2048, 7168);
}

static void test_experts_reshape(void **state) {
    (void)state;
    /* E <= 4: all experts stacked as one E*r x c matrix */
    uint64_t s[3] = {4, 32, 64};
    swan_view2d v;
    assert_int_equal(swan_view2d_make(3, s, &v), SWAN_KIND_MATRIX);
    assert_int_equal(v.rows, 128);
    assert_int_equal(v.cols, 64);
    assert_int_equal(v.nseg, 1);
    assert_int_equal(v.seg[0].first_elem, 0);
    assert_int_equal(v.seg[0].rows, 128);

    uint64_t one[3] = {1, 64, 64};
    assert_int_equal(swan_view2d_make(3, one, &v), SWAN_KIND_MATRIX);
    assert_int_equal(v.rows, 64);
    assert_int_equal(v.cols, 64);
    assert_int_equal(v.nseg, 1);
}

static void test_4d(void **state) {
    (void)state;
    uint64_t s[4] = {64, 3, 4, 5};
    swan_view2d v;
    assert_int_equal(swan_view2d_make(4, s, &v), SWAN_KIND_MATRIX);
    assert_int_equal(v.rows, 64);
    assert_int_equal(v.cols, 60);
    assert_int_equal(v.nseg, 1);
    assert_int_equal(v.seg[0].rows, 64);

    uint64_t s5[5] = {2, 2, 2, 2, 128};
    assert_int_equal(swan_view2d_make(5, s5, &v), SWAN_KIND_MATRIX);
    assert_int_equal(v.rows, 2);
    assert_int_equal(v.cols, 1024);
}

static void test_names(void **state) {
    (void)state;
    assert_string_equal(swan_kind_name(SWAN_KIND_MATRIX), "matrix");
    assert_string_equal(swan_kind_name(SWAN_KIND_1D), "1d");
    assert_string_equal(swan_kind_name(SWAN_KIND_TINY), "tiny");
    assert_string_equal(swan_kind_name(SWAN_KIND_EMPTY), "empty");
    assert_string_equal(swan_kind_name(SWAN_KIND_NOT_FLOAT), "not_float");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),   cmocka_unit_test(test_matrix_2d),
        cmocka_unit_test(test_experts), cmocka_unit_test(test_experts_reshape),
        cmocka_unit_test(test_4d),      cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
