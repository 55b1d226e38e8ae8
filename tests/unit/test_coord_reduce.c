/* test_coord_reduce.c: normalization, composite, allocation and the policy flags.
 *
 * Expected values come from SWAN-METRICS.md section 4 worked by hand (e.g. d = 0.1
 * gives (log10(0.1) + 2) / 3 = 1/3), not from running the code. Threshold cases use
 * a kurtosis-only weighting so that S equals k/10 exactly and lands on a threshold. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/reduce/reduce.h"

#define EPS 1e-12

/* cmocka only compares floats; these need double precision. */
#define assert_near(a, b, eps) assert_near_at((a), (b), (eps), #a, __FILE__, __LINE__)
static void assert_near_at(double a, double b, double eps, const char *expr, const char *file,
                           int line) {
    if (!(fabs(a - b) <= eps) && !(a == b))
        fail_msg("%s:%d: %s = %.17g, expected %.17g (tolerance %g)", file, line, expr, a, b, eps);
}

static swan_raw_metrics raw4(double c, double k, double d, double e) {
    swan_raw_metrics r;
    memset(&r, 0, sizeof r);
    r.svd_concentration = c;
    r.kurtosis = k;
    r.output_delta = d;
    r.rtn_nrmse = e;
    r.rows = 64;
    r.cols = 64;
    return r;
}

static swan_scores norm4(double c, double k, double d, double e) {
    swan_raw_metrics r = raw4(c, k, d, e);
    swan_scores s;
    memset(&s, 0xff, sizeof s); /* garbage: every field must be written */
    swan_normalize(&r, &s);
    return s;
}

static void test_normalize_svd(void **state) {
    (void)state;
    assert_near(norm4(0.1, 0, 0, 0).svd, 0.0, EPS);
    assert_near(norm4(0.9, 0, 0, 0).svd, 1.0, EPS);
    assert_near(norm4(0.5, 0, 0, 0).svd, 0.5, EPS);
    assert_near(norm4(0.3, 0, 0, 0).svd, 0.25, EPS);
    assert_near(norm4(0.0, 0, 0, 0).svd, 0.0, 0.0);   /* clipped below */
    assert_near(norm4(0.05, 0, 0, 0).svd, 0.0, 0.0);
    assert_near(norm4(1.0, 0, 0, 0).svd, 1.0, 0.0);   /* clipped above */
}

static void test_normalize_kurtosis(void **state) {
    (void)state;
    assert_near(norm4(0, 10, 0, 0).kurtosis, 1.0, EPS);
    assert_near(norm4(0, 5, 0, 0).kurtosis, 0.5, EPS);
    assert_near(norm4(0, 0.3, 0, 0).kurtosis, 0.03, EPS);
    assert_near(norm4(0, 0, 0, 0).kurtosis, 0.0, 0.0);
    assert_near(norm4(0, -1.2, 0, 0).kurtosis, 0.0, 0.0); /* uniform: negative k */
    assert_near(norm4(0, -3, 0, 0).kurtosis, 0.0, 0.0);
    assert_near(norm4(0, 250, 0, 0).kurtosis, 1.0, 0.0);
}

static void test_normalize_output(void **state) {
    (void)state;
    assert_near(norm4(0, 0, 0, 0).output_sensitivity, 0.0, 0.0);
    assert_near(norm4(0, 0, 9.99e-7, 0).output_sensitivity, 0.0, 0.0);
    assert_near(norm4(0, 0, -1, 0).output_sensitivity, 0.0, 0.0);
    /* at and above 1e-6 but below 0.01: max(d, 0.01) = 0.01 -> (-2 + 2)/3 = 0 */
    assert_near(norm4(0, 0, 1e-6, 0).output_sensitivity, 0.0, EPS);
    assert_near(norm4(0, 0, 0.005, 0).output_sensitivity, 0.0, EPS);
    assert_near(norm4(0, 0, 0.01, 0).output_sensitivity, 0.0, EPS);
    assert_near(norm4(0, 0, 0.1, 0).output_sensitivity, 1.0 / 3.0, EPS);
    assert_near(norm4(0, 0, 1, 0).output_sensitivity, 2.0 / 3.0, EPS);
    assert_near(norm4(0, 0, 10, 0).output_sensitivity, 1.0, EPS);
    assert_near(norm4(0, 0, 1000, 0).output_sensitivity, 1.0, 0.0);
    /* sqrt(10) -> log10 = 0.5 -> 2.5/3 */
    assert_near(norm4(0, 0, 3.1622776601683795, 0).output_sensitivity, 2.5 / 3.0, 1e-9);
}

static void test_normalize_error(void **state) {
    (void)state;
    assert_near(norm4(0, 0, 0, 0.005).error_proxy, 0.0, EPS);
    assert_near(norm4(0, 0, 0, 0.05).error_proxy, 1.0, EPS);
    assert_near(norm4(0, 0, 0, 0.0275).error_proxy, 0.5, EPS);
    assert_near(norm4(0, 0, 0, 0.014).error_proxy, 0.2, EPS);
    assert_near(norm4(0, 0, 0, 0.0).error_proxy, 0.0, 0.0);
    assert_near(norm4(0, 0, 0, 0.10).error_proxy, 1.0, 0.0); /* the saturating case */
}

static void test_default_policy(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    swan_error err = {{0}};
    assert_int_equal(swan_policy_validate(&p, &err), 0);
    assert_near(p.w_svd, 0.20, 0.0);
    assert_near(p.w_kurt, 0.45, 0.0);
    assert_near(p.w_out, 0.15, 0.0);
    assert_near(p.w_err, 0.20, 0.0);
    assert_near(p.t_low, 0.10, 0.0);
    assert_near(p.t_mid, 0.65, 0.0);
    assert_near(p.t_high, 0.90, 0.0);
    assert_int_equal(p.group_size[2], 32);
    assert_int_equal(p.group_size[4], 128);
    assert_int_equal(p.group_size[8], 64);
    assert_true(p.builtin_protect); /* the spec's list of 11 */
    assert_int_equal(swan_builtin_protect_count, 11);
    assert_int_equal(p.nprotect, 0);
    assert_int_equal(p.alloc, SWAN_ALLOC_THRESHOLDS);
    assert_int_equal(p.norm, SWAN_NORM_FIXED);
}

static swan_decision decide(const swan_policy *p, const char *name, swan_raw_metrics r) {
    swan_decision d;
    memset(&d, 0xff, sizeof d);
    swan_decide(p, name, SWAN_KIND_MATRIX, &r, &d);
    return d;
}

static void test_composite_default_weights(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    /* scores 0.5, 0.5, 1/3, 0.5 -> 0.1 + 0.225 + 0.05 + 0.1 = 0.475 -> 4 bits */
    swan_decision d = decide(&p, "model.layers.0.mlp.down_proj.weight", raw4(0.5, 5, 0.1, 0.0275));
    assert_near(d.scores.svd, 0.5, EPS);
    assert_near(d.scores.kurtosis, 0.5, EPS);
    assert_near(d.scores.output_sensitivity, 1.0 / 3.0, EPS);
    assert_near(d.scores.error_proxy, 0.5, EPS);
    assert_near(d.composite, 0.475, EPS);
    assert_int_equal(d.bits, 4);
    assert_string_equal(d.reason, "default");
    assert_string_equal(d.classification, "default");

    /* scores 1, 0.7, 2/3, 1 -> 0.2 + 0.315 + 0.1 + 0.2 = 0.815 -> 8 bits */
    d = decide(&p, "x.up_proj.weight", raw4(0.9, 7, 1, 0.05));
    assert_near(d.composite, 0.815, EPS);
    assert_int_equal(d.bits, 8);
    assert_string_equal(d.reason, "sensitive");
    assert_string_equal(d.classification, "sensitive");

    /* everything saturated: S = 1 -> 16 */
    d = decide(&p, "x.gate_proj.weight", raw4(0.95, 20, 100, 0.2));
    assert_near(d.composite, 1.0, EPS);
    assert_int_equal(d.bits, 16);
    assert_string_equal(d.reason, "high_sensitivity");
    assert_string_equal(d.classification, "sensitive");

    /* everything at the floor: S = 0 -> 2 */
    d = decide(&p, "x.q_proj.weight", raw4(0.1, -1, 0.001, 0.004));
    assert_near(d.composite, 0.0, EPS);
    assert_int_equal(d.bits, 2);
    assert_string_equal(d.reason, "low_sensitivity");
    assert_string_equal(d.classification, "default");

    /* the typical saturating error proxy alone: 0.2 * 1 = 0.2 -> 4 bits */
    d = decide(&p, "x.o_proj.weight", raw4(0.1, 0, 0, 0.1));
    assert_near(d.composite, 0.2, EPS);
    assert_int_equal(d.bits, 4);
}

static void test_composite_custom_weights(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    swan_error err = {{0}};
    assert_int_equal(swan_policy_parse_weights(&p, "0.25,0.25,0.25,0.25", &err), 0);
    /* scores 1, 0, 2/3, 0.5 -> 0.25 * 13/6 */
    swan_decision d = decide(&p, "w", raw4(0.9, 0, 1, 0.0275));
    assert_near(d.composite, 0.25 * (1.0 + 0.0 + 2.0 / 3.0 + 0.5), EPS);
    assert_int_equal(d.bits, 4);

    assert_int_equal(swan_policy_parse_weights(&p, "0,0,0,1", &err), 0);
    d = decide(&p, "w", raw4(0.9, 10, 10, 0.0275)); /* only s_err = 0.5 counts */
    assert_near(d.composite, 0.5, EPS);
    assert_int_equal(d.bits, 4);
    d = decide(&p, "w", raw4(0.9, 10, 10, 0.005));
    assert_near(d.composite, 0.0, EPS);
    assert_int_equal(d.bits, 2);
}

/* With weights 0,1,0,0 the composite is exactly k/10. */
static int bits_for_k(double k) {
    swan_policy p;
    swan_policy_default(&p);
    p.w_svd = 0;
    p.w_kurt = 1;
    p.w_out = 0;
    p.w_err = 0;
    swan_error err = {{0}};
    assert_int_equal(swan_policy_validate(&p, &err), 0);
    return decide(&p, "w", raw4(0.9, k, 10, 0.05)).bits;
}

static void test_allocation_thresholds(void **state) {
    (void)state;
    assert_int_equal(bits_for_k(9.0), 16);   /* S == 0.90 */
    assert_int_equal(bits_for_k(8.999), 8);
    assert_int_equal(bits_for_k(9.001), 16);
    assert_int_equal(bits_for_k(6.5), 8);    /* S == 0.65 */
    assert_int_equal(bits_for_k(6.499), 4);
    assert_int_equal(bits_for_k(6.501), 8);
    assert_int_equal(bits_for_k(1.0), 2);    /* S == 0.10 */
    assert_int_equal(bits_for_k(1.001), 4);
    assert_int_equal(bits_for_k(0.999), 2);
    assert_int_equal(bits_for_k(4.0), 4);
    assert_int_equal(bits_for_k(0.0), 2);
    assert_int_equal(bits_for_k(10.0), 16);
}

static void test_custom_thresholds_applied(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    swan_error err = {{0}};
    assert_int_equal(swan_policy_parse_thresholds(&p, "0.2,0.4,0.6", &err), 0);
    /* S = 0.475 (see above): 8 bits with mid 0.4, 4 with the defaults */
    assert_int_equal(decide(&p, "w", raw4(0.5, 5, 0.1, 0.0275)).bits, 8);
    /* S = 0.2 with low 0.2 -> 2 bits */
    assert_int_equal(decide(&p, "w", raw4(0.1, 0, 0, 0.1)).bits, 2);
    assert_int_equal(decide(&p, "w", raw4(0.9, 7, 1, 0.05)).bits, 16); /* 0.815 >= 0.6 */
}

static void test_protected_patterns(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    assert_true(swan_policy_is_protected(&p, "Model.Embed_Tokens.weight"));
    assert_true(swan_policy_is_protected(&p, "model.embed_tokens.weight"));
    assert_true(swan_policy_is_protected(&p, "LM_HEAD.weight"));
    assert_true(swan_policy_is_protected(&p, "model.layers.3.input_layernorm.weight"));
    assert_true(swan_policy_is_protected(&p, "transformer.h.0.Layer_Norm.bias"));
    assert_true(swan_policy_is_protected(&p, "model.norm.weight"));
    assert_true(swan_policy_is_protected(&p, "model.layers.1.mlp.router.weight"));
    assert_true(swan_policy_is_protected(&p, "vision_model.encoder.layers.0.fc1.weight"));
    assert_true(swan_policy_is_protected(&p, "multi_modal_projector.linear_1.weight"));
    assert_true(swan_policy_is_protected(&p, "x.positional_embedding"));
    assert_true(swan_policy_is_protected(&p, "x.class_embedding"));
    assert_true(swan_policy_is_protected(&p, "x.PATCH_EMBEDDING.weight"));
    assert_false(swan_policy_is_protected(&p, "model.layers.0.mlp.down_proj.weight"));
    assert_false(swan_policy_is_protected(&p, "model.layers.0.self_attn.q_proj.weight"));
    assert_false(swan_policy_is_protected(&p, "embed"));          /* pattern longer than name */
    assert_false(swan_policy_is_protected(&p, "lm_hea"));
    assert_false(swan_policy_is_protected(&p, ""));

    /* a protected matrix is analyzed as usual: its scores are reported */
    swan_decision d = decide(&p, "Model.Embed_Tokens.weight", raw4(0.5, 5, 0.1, 0.0275));
    assert_int_equal(d.bits, 16);
    assert_string_equal(d.reason, "protected_pattern");
    assert_string_equal(d.classification, "protected");
    assert_near(d.scores.kurtosis, 0.5, EPS);
    assert_near(d.composite, 0.475, EPS);
    /* protected wins even at S = 0 */
    d = decide(&p, "lm_head.weight", raw4(0.1, 0, 0, 0));
    assert_int_equal(d.bits, 16);
    assert_string_equal(d.reason, "protected_pattern");

    /* user patterns are case-insensitive too */
    swan_error err = {{0}};
    assert_int_equal(swan_policy_add_protect(&p, "Q_PROJ", &err), 0);
    assert_true(swan_policy_is_protected(&p, "model.layers.0.self_attn.q_proj.weight"));
    assert_false(swan_policy_is_protected(&p, "model.layers.0.self_attn.k_proj.weight"));
}

static void test_non_matrix_kinds(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    static const struct {
        swan_tensor_kind kind;
        const char *reason;
    } cases[] = {{SWAN_KIND_1D, "1d_tensor"},
                 {SWAN_KIND_TINY, "tiny_tensor"},
                 {SWAN_KIND_EMPTY, "empty_tensor"},
                 {SWAN_KIND_NOT_FLOAT, "not_float"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        swan_decision d;
        memset(&d, 0xff, sizeof d);
        swan_decide(&p, "model.layers.0.mlp.bias", cases[i].kind, NULL, &d);
        assert_int_equal(d.bits, 16);
        assert_string_equal(d.reason, cases[i].reason);
        assert_string_equal(d.classification, "default");
        assert_near(d.composite, 0.0, 0.0);
        assert_near(d.scores.svd, 0.0, 0.0);
        assert_near(d.scores.kurtosis, 0.0, 0.0);
        assert_near(d.scores.output_sensitivity, 0.0, 0.0);
        assert_near(d.scores.error_proxy, 0.0, 0.0);

        /* raw metrics handed in for a non-matrix are not used */
        swan_raw_metrics r = raw4(0.9, 10, 10, 0.05);
        swan_decide(&p, "w", cases[i].kind, &r, &d);
        assert_int_equal(d.bits, 16);
        assert_string_equal(d.reason, cases[i].reason);
        assert_near(d.composite, 0.0, 0.0);

        /* a protected name keeps the kind's reason, classification says protected */
        swan_decide(&p, "model.norm.weight", cases[i].kind, NULL, &d);
        assert_int_equal(d.bits, 16);
        assert_string_equal(d.reason, cases[i].reason);
        assert_string_equal(d.classification, "protected");
    }
}

static void test_non_finite(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    swan_raw_metrics r = raw4(0.1, 0, 0, 0); /* would be 2 bits if finite */
    r.nonfinite = 1;
    swan_decision d;
    swan_decide(&p, "model.layers.0.mlp.up_proj.weight", SWAN_KIND_MATRIX, &r, &d);
    assert_int_equal(d.bits, 16);
    assert_string_equal(d.reason, "non_finite_values");
    assert_string_equal(d.classification, "default");
    r.nonfinite = 123456789;
    swan_decide(&p, "lm_head.weight", SWAN_KIND_MATRIX, &r, &d);
    assert_int_equal(d.bits, 16);
    assert_string_equal(d.reason, "non_finite_values");
    assert_string_equal(d.classification, "protected");
}

/* ---- validation and flag parsers ------------------------------------------------------ */

static void expect_weights_refused(const char *s) {
    swan_policy p, before;
    swan_policy_default(&p);
    before = p;
    swan_error err = {{0}};
    if (swan_policy_parse_weights(&p, s, &err) != -1) fail_msg("weights '%s' accepted", s);
    assert_true(strlen(err.msg) > 0);
    assert_non_null(strstr(err.msg, "weights"));
    assert_memory_equal(&p, &before, sizeof p); /* unchanged on error */
}

static void test_parse_weights(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    swan_error err = {{0}};
    assert_int_equal(swan_policy_parse_weights(&p, "0.1,0.2,0.3,0.4", &err), 0);
    assert_near(p.w_svd, 0.1, 0.0);
    assert_near(p.w_kurt, 0.2, 0.0);
    assert_near(p.w_out, 0.3, 0.0);
    assert_near(p.w_err, 0.4, 0.0);
    assert_int_equal(swan_policy_parse_weights(&p, "1,0,0,0", &err), 0);
    /* within the 1e-6 tolerance */
    assert_int_equal(swan_policy_parse_weights(&p, "0.2,0.45,0.15,0.2000004", &err), 0);

    expect_weights_refused("0.3,0.3,0.3,0.3");        /* sums to 1.2 */
    expect_weights_refused("0.2,0.45,0.15,0.21");     /* sums to 1.01 */
    expect_weights_refused("0.1,0.1,0.1,0.1");        /* sums to 0.4 */
    expect_weights_refused("-0.1,0.6,0.3,0.2");       /* sums to 1, one negative */
    expect_weights_refused("1.5,-0.5,0,0");
    expect_weights_refused("0.5,0.5");                /* wrong count */
    expect_weights_refused("0.5,0.5,0");
    expect_weights_refused("0.2,0.2,0.2,0.2,0.2");
    expect_weights_refused("");
    expect_weights_refused("abc");
    expect_weights_refused("0.2,0.45,0.15,0.2x");
    expect_weights_refused("0.2,,0.45,0.15");
    expect_weights_refused("0.2;0.45;0.15;0.2");
    expect_weights_refused("nan,0.45,0.15,0.2");
    expect_weights_refused("inf,0,0,0");
    expect_weights_refused("0.2,0.45,0.15,0.2,");
}

static void expect_thresholds_refused(const char *s) {
    swan_policy p, before;
    swan_policy_default(&p);
    before = p;
    swan_error err = {{0}};
    if (swan_policy_parse_thresholds(&p, s, &err) != -1) fail_msg("thresholds '%s' accepted", s);
    assert_non_null(strstr(err.msg, "thresholds"));
    assert_memory_equal(&p, &before, sizeof p);
}

static void test_parse_thresholds(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    swan_error err = {{0}};
    assert_int_equal(swan_policy_parse_thresholds(&p, "0.2,0.5,0.8", &err), 0);
    assert_near(p.t_low, 0.2, 0.0);
    assert_near(p.t_mid, 0.5, 0.0);
    assert_near(p.t_high, 0.8, 0.0);
    assert_int_equal(swan_policy_parse_thresholds(&p, "0,0.5,1", &err), 0); /* ends inclusive */

    expect_thresholds_refused("0.65,0.10,0.90");  /* out of order */
    expect_thresholds_refused("0.10,0.90,0.65");
    expect_thresholds_refused("0.10,0.10,0.90");  /* equal */
    expect_thresholds_refused("0.10,0.65,0.65");
    expect_thresholds_refused("0.5,0.5,0.5");
    expect_thresholds_refused("-0.1,0.65,0.90");  /* outside [0, 1] */
    expect_thresholds_refused("0.10,0.65,1.5");
    expect_thresholds_refused("0.10,0.65");       /* wrong count */
    expect_thresholds_refused("0.1,0.2,0.3,0.4");
    expect_thresholds_refused("low,mid,high");
    expect_thresholds_refused("0.1,0.65,0.9 junk");
}

static void test_validate_direct(void **state) {
    (void)state;
    swan_policy p;
    swan_error err = {{0}};
    swan_policy_default(&p);
    p.group_size[4] = 0;
    assert_int_equal(swan_policy_validate(&p, &err), -1);
    swan_policy_default(&p);
    p.group_size[2] = -32;
    assert_int_equal(swan_policy_validate(&p, &err), -1);
    swan_policy_default(&p);
    p.w_kurt = NAN;
    assert_int_equal(swan_policy_validate(&p, &err), -1);
    swan_policy_default(&p);
    p.t_mid = NAN;
    assert_int_equal(swan_policy_validate(&p, &err), -1);
}

static void expect_groups_refused(const char *s) {
    swan_policy p, before;
    swan_policy_default(&p);
    before = p;
    swan_error err = {{0}};
    if (swan_policy_parse_group_sizes(&p, s, &err) != -1) fail_msg("group sizes '%s' accepted", s);
    assert_non_null(strstr(err.msg, "group-sizes"));
    assert_memory_equal(&p, &before, sizeof p);
}

static void test_parse_group_sizes(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    swan_error err = {{0}};
    assert_int_equal(swan_policy_parse_group_sizes(&p, "2:64,4:64,8:32", &err), 0);
    assert_int_equal(p.group_size[2], 64);
    assert_int_equal(p.group_size[4], 64);
    assert_int_equal(p.group_size[8], 32);
    assert_int_equal(swan_policy_parse_group_sizes(&p, "2:32,4:128,8:64", &err), 0);
    assert_int_equal(p.group_size[2], 32);
    assert_int_equal(p.group_size[4], 128);
    assert_int_equal(p.group_size[8], 64);
    assert_int_equal(swan_policy_parse_group_sizes(&p, "4:32", &err), 0); /* a subset */
    assert_int_equal(p.group_size[2], 32);
    assert_int_equal(p.group_size[4], 32);
    assert_int_equal(p.group_size[8], 64);
    assert_int_equal(swan_policy_validate(&p, &err), 0);

    expect_groups_refused("3:64");            /* bits not 2, 4 or 8 */
    expect_groups_refused("16:64");
    expect_groups_refused("2:64,3:64");       /* the valid first pair must not stick */
    expect_groups_refused("4:16");            /* sizes the formats do not use */
    expect_groups_refused("4:256");
    expect_groups_refused("4:48");
    expect_groups_refused("4:64,4:128");      /* a width given twice */
    expect_groups_refused("2:32,8:64,2:32");
    expect_groups_refused("4:+64");
    expect_groups_refused("+4:64");
    expect_groups_refused("4:0");             /* zero size */
    expect_groups_refused("4:-128");
    expect_groups_refused("4:100000");
    expect_groups_refused("4:128x");          /* trailing junk */
    expect_groups_refused("4:128,8");
    expect_groups_refused("4:128;8:64");
    expect_groups_refused("4:128,,8:64");
    expect_groups_refused("4");
    expect_groups_refused(":128");
    expect_groups_refused("four:128");
}

static void test_protect_limit(void **state) {
    (void)state;
    swan_policy p;
    swan_policy_default(&p);
    swan_error err = {{0}};
    size_t start = p.nprotect;
    for (size_t i = start; i < SWAN_MAX_PATTERNS; i++)
        assert_int_equal(swan_policy_add_protect(&p, "extra_pattern", &err), 0);
    assert_int_equal(p.nprotect, SWAN_MAX_PATTERNS);
    assert_int_equal(swan_policy_add_protect(&p, "one_too_many", &err), -1);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(p.nprotect, SWAN_MAX_PATTERNS);
    assert_false(swan_policy_is_protected(&p, "x.one_too_many.weight"));

    swan_policy_default(&p);
    assert_int_equal(swan_policy_add_protect(&p, "", &err), -1);
    assert_int_equal(swan_policy_add_protect(&p, NULL, &err), -1);
    assert_int_equal(p.nprotect, start);
    /* an empty pattern would protect everything */
    assert_false(swan_policy_is_protected(&p, "model.layers.0.mlp.up_proj.weight"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_svd),
        cmocka_unit_test(test_normalize_kurtosis),
        cmocka_unit_test(test_normalize_output),
        cmocka_unit_test(test_normalize_error),
        cmocka_unit_test(test_default_policy),
        cmocka_unit_test(test_composite_default_weights),
        cmocka_unit_test(test_composite_custom_weights),
        cmocka_unit_test(test_allocation_thresholds),
        cmocka_unit_test(test_custom_thresholds_applied),
        cmocka_unit_test(test_protected_patterns),
        cmocka_unit_test(test_non_matrix_kinds),
        cmocka_unit_test(test_non_finite),
        cmocka_unit_test(test_parse_weights),
        cmocka_unit_test(test_parse_thresholds),
        cmocka_unit_test(test_validate_direct),
        cmocka_unit_test(test_parse_group_sizes),
        cmocka_unit_test(test_protect_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
