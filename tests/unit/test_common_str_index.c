/* test_common_str_index.c: the string-number hash table: every string of a large set
 * found under its own number, absent ones not found, a repeated string keeping the
 * number it was first added with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/str_index.h"

enum { N = 50000, DISTINCT = 40000 }; /* 40,000 distinct names: (j / 3000, j % 1000, j % 3) */

static const char *name_of(const void *ctx, uint32_t k) { return ((char *const *)ctx)[k]; }

static void test_many_names(void **state) {
    (void)state;
    char **names = malloc(N * sizeof *names);
    assert_non_null(names);
    for (uint32_t i = 0; i < N; i++) { /* long shared prefixes, as tensor names have; */
        uint32_t j = i % DISTINCT;        /* the last N - DISTINCT repeat the first ones */
        char buf[96];
        snprintf(buf, sizeof buf, "model.layers.%u.mlp.experts.%u.%s_proj.weight", j / 3000, j % 1000,
                 j % 3 == 0 ? "gate" : j % 3 == 1 ? "up" : "down");
        names[i] = strdup(buf);
    }
    swan_str_index ix;
    assert_int_equal(swan_str_index_init(&ix, N), 0);
    for (uint32_t i = 0; i < N; i++) /* a repeat gets the number of its first occurrence */
        assert_int_equal(swan_str_index_find(&ix, names[i], name_of, names, i), i % DISTINCT);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(swan_str_index_find(&ix, names[i], name_of, names, SWAN_STR_NONE), i % DISTINCT);
    assert_int_equal(swan_str_index_find(&ix, "model.layers.0.mlp.experts.0.gate_proj.weigh", name_of, names,
                                         SWAN_STR_NONE),
                     SWAN_STR_NONE);
    assert_int_equal(swan_str_index_find(&ix, "", name_of, names, SWAN_STR_NONE), SWAN_STR_NONE);
    swan_str_index_free(&ix);
    swan_str_index_free(&ix); /* safe twice */
    for (uint32_t i = 0; i < N; i++) free(names[i]);
    free(names);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_many_names)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
