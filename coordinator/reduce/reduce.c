/* reduce.c: normalization, composite score and threshold allocation (see reduce.h). */
#include "coordinator/reduce/reduce.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const swan_builtin_protect[] = {
    "embed_tokens", "lm_head", "layernorm", "layer_norm", "norm.weight", "router.weight",
    "vision_model", "multi_modal_projector", "positional_embedding", "class_embedding",
    "patch_embedding"};
const size_t swan_builtin_protect_count = sizeof swan_builtin_protect / sizeof *swan_builtin_protect;

void swan_policy_default(swan_policy *p) {
    memset(p, 0, sizeof *p);
    p->w_svd = 0.20;
    p->w_kurt = 0.45;
    p->w_out = 0.15;
    p->w_err = 0.20;
    p->t_low = 0.10;
    p->t_mid = 0.65;
    p->t_high = 0.90;
    p->group_size[2] = 32;
    p->group_size[4] = 128;
    p->group_size[8] = 64;
    p->builtin_protect = true;
    p->norm = SWAN_NORM_FIXED;
    p->alloc = SWAN_ALLOC_THRESHOLDS;
}

int swan_policy_parse_name(swan_policy *p, const char *s, swan_error *err) {
    if (strcmp(s, "swan") != 0)
        return swan_error_set(err, "--policy: expected swan, got '%s'", s);
    p->alloc = SWAN_ALLOC_THRESHOLDS;
    return 0;
}

int swan_policy_parse_normalize(swan_policy *p, const char *s, swan_error *err) {
    if (strcmp(s, "fixed") == 0) p->norm = SWAN_NORM_FIXED;
    else if (strcmp(s, "adaptive") == 0) p->norm = SWAN_NORM_ADAPTIVE;
    else return swan_error_set(err, "--normalize: expected fixed or adaptive, got '%s'", s);
    return 0;
}

int swan_policy_parse_target_bpw(swan_policy *p, const char *s, swan_error *err) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 1 && v <= 32))
        return swan_error_set(err, "--target-bpw: expected bits per weight 1..32, got '%s'", s);
    p->alloc = SWAN_ALLOC_TARGET_BPW;
    p->target_bpw = v;
    return 0;
}

int swan_policy_parse_target_size(swan_policy *p, const char *s, swan_error *err) {
    static const struct { const char *unit; double mult; } units[] = {
        {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
        {"KIB", 1024.0}, {"MIB", 1048576.0}, {"GIB", 1073741824.0}, {"TIB", 1099511627776.0}};
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0) || !isfinite(v)) goto bad;
    char unit[8];
    size_t n = strlen(end);
    if (n == 0 || n >= sizeof unit) goto bad;
    for (size_t i = 0; i <= n; i++) unit[i] = (char)toupper((unsigned char)end[i]);
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(unit, units[i].unit) == 0) {
            p->alloc = SWAN_ALLOC_TARGET_SIZE;
            p->target_bytes = v * units[i].mult;
            return 0;
        }
bad:
    return swan_error_set(err, "--target-size: expected a size such as 192GB, 150GiB or 800MB, got '%s'", s);
}

const char *swan_policy_alloc_name(const swan_policy *p) {
    switch (p->alloc) {
    case SWAN_ALLOC_TARGET_BPW: return "target-bpw";
    case SWAN_ALLOC_TARGET_SIZE: return "target-size";
    default: return "swan";
    }
}

int swan_policy_validate(const swan_policy *p, swan_error *err) {
    const double w[4] = {p->w_svd, p->w_kurt, p->w_out, p->w_err};
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        if (!(w[i] >= 0 && w[i] <= 1))
            return swan_error_set(err, "weight %g is outside [0, 1]", w[i]);
        sum += w[i];
    }
    if (fabs(sum - 1.0) > 1e-6)
        return swan_error_set(err, "weights must sum to 1, these sum to %.6g", sum);
    if (!(p->t_low >= 0 && p->t_low < p->t_mid && p->t_mid < p->t_high && p->t_high <= 1))
        return swan_error_set(err,
                              "thresholds must satisfy 0 <= low < mid < high <= 1, got %g, %g, %g",
                              p->t_low, p->t_mid, p->t_high);
    for (int b = 2; b <= 8; b *= 2)
        if (p->group_size[b] <= 0)
            return swan_error_set(err, "group size for %d bits must be positive", b);
    return 0;
}

/* Parses exactly n comma-separated finite numbers. */
static int parse_numbers(const char *s, double *out, int n, const char *what, swan_error *err) {
    const char *p = s;
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtod(p, &end);
        if (end == p || !isfinite(out[i]))
            return swan_error_set(err, "%s '%s': expected %d comma-separated numbers", what, s, n);
        p = end;
        if (i < n - 1) {
            if (*p != ',')
                return swan_error_set(err, "%s '%s': expected %d comma-separated numbers", what,
                                      s, n);
            p++;
        }
    }
    if (*p != '\0')
        return swan_error_set(err, "%s '%s': expected %d comma-separated numbers", what, s, n);
    return 0;
}

int swan_policy_parse_weights(swan_policy *p, const char *s, swan_error *err) {
    double w[4];
    if (parse_numbers(s, w, 4, "--weights", err)) return -1;
    swan_policy t = *p;
    t.w_svd = w[0];
    t.w_kurt = w[1];
    t.w_out = w[2];
    t.w_err = w[3];
    if (swan_policy_validate(&t, err)) return swan_error_prefix(err, "--weights");
    *p = t;
    return 0;
}

int swan_policy_parse_thresholds(swan_policy *p, const char *s, swan_error *err) {
    double t3[3];
    if (parse_numbers(s, t3, 3, "--thresholds", err)) return -1;
    swan_policy t = *p;
    t.t_low = t3[0];
    t.t_mid = t3[1];
    t.t_high = t3[2];
    if (swan_policy_validate(&t, err)) return swan_error_prefix(err, "--thresholds");
    *p = t;
    return 0;
}

/* Only the sizes the target formats use: MLX affine quantization takes 32, 64 or 128
 * (spec section 7) and llama.cpp's block types are 32 wide; anything else would be a
 * manifest the converters cannot honour. A width given twice is refused rather than
 * letting the last one win silently. */
int swan_policy_parse_group_sizes(swan_policy *p, const char *s, swan_error *err) {
    static const char expected[] = "BITS:SIZE pairs, BITS 2, 4 or 8 and SIZE 32, 64 or 128";
    swan_policy t = *p;
    bool seen[9] = {false};
    const char *q = s;
    if (!*q) return swan_error_set(err, "--group-sizes: expected %s, got ''", expected);
    while (*q) {
        char *end;
        if (*q < '0' || *q > '9') goto bad;
        long bits = strtol(q, &end, 10);
        if (*end != ':' || (bits != 2 && bits != 4 && bits != 8)) goto bad;
        q = end + 1;
        if (*q < '0' || *q > '9') goto bad;
        long g = strtol(q, &end, 10);
        if ((g != 32 && g != 64 && g != 128) || (*end != ',' && *end != '\0')) goto bad;
        if (seen[bits])
            return swan_error_set(err, "--group-sizes: width %ld given twice in '%s'", bits, s);
        seen[bits] = true;
        t.group_size[bits] = (int)g;
        if (*end == ',' && end[1] == '\0') goto bad;
        q = *end == ',' ? end + 1 : end;
    }
    *p = t;
    return 0;
bad:
    return swan_error_set(err, "--group-sizes: expected %s, got '%s'", expected, s);
}

int swan_policy_add_protect(swan_policy *p, const char *pattern, swan_error *err) {
    if (!pattern || !*pattern) return swan_error_set(err, "--protect needs a non-empty pattern");
    if (strlen(pattern) > 255) return swan_error_set(err, "--protect pattern longer than 255 bytes");
    if (p->nprotect >= SWAN_MAX_PATTERNS)
        return swan_error_set(err, "at most %d protected patterns", SWAN_MAX_PATTERNS);
    p->protect[p->nprotect++] = pattern;
    return 0;
}

/* ASCII lower-casing into a bounded buffer (names are at most 4 KiB on the wire). */
static void lower_into(char *out, size_t size, const char *in) {
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

bool swan_policy_is_protected(const swan_policy *p, const char *name) {
    char lname[4096], lpat[256];
    lower_into(lname, sizeof lname, name);
    if (p->builtin_protect)
        for (size_t i = 0; i < swan_builtin_protect_count; i++)
            if (strstr(lname, swan_builtin_protect[i])) return true;
    for (size_t i = 0; i < p->nprotect; i++) {
        lower_into(lpat, sizeof lpat, p->protect[i]);
        if (strstr(lname, lpat)) return true;
    }
    return false;
}

static double clip01(double x) {
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

void swan_norm_fixed(swan_norm_ranges *r) {
    r->lo[SWAN_M_SVD] = 0.1, r->hi[SWAN_M_SVD] = 0.9;
    r->lo[SWAN_M_KURT] = 0.0, r->hi[SWAN_M_KURT] = 10.0;
    r->lo[SWAN_M_OUT] = -2.0, r->hi[SWAN_M_OUT] = 1.0;
    /* 0.005 + 0.045 (not 0.05) so that hi - lo is exactly 0.045 */
    r->lo[SWAN_M_ERR] = 0.005, r->hi[SWAN_M_ERR] = 0.005 + 0.045;
}

double swan_metric_value(const swan_raw_metrics *raw, int m) {
    switch (m) {
    case SWAN_M_SVD: return raw->svd_concentration;
    case SWAN_M_KURT: return raw->kurtosis;
    case SWAN_M_OUT: {
        double d = raw->output_delta;
        return log10(d > 0.01 ? d : 0.01);
    }
    default: return raw->rtn_nrmse;
    }
}

/* (x - lo) / (hi - lo) written so the fixed ranges reproduce section 4's formulas
 * bit for bit: (c - 0.1) / 0.8, k / 10, (log10 d + 2) / 3, (e - 0.005) / 0.045. */
static double scale01(double x, double lo, double hi) {
    double w = hi - lo;
    if (!(w > 0)) return x > lo ? 1.0 : 0.0;
    return clip01((x - lo) / w);
}

void swan_normalize_with(const swan_norm_ranges *rg, const swan_raw_metrics *r, swan_scores *s) {
    s->svd = scale01(r->svd_concentration, rg->lo[SWAN_M_SVD], rg->hi[SWAN_M_SVD]);
    s->kurtosis = scale01(r->kurtosis, rg->lo[SWAN_M_KURT], rg->hi[SWAN_M_KURT]);
    s->output_sensitivity = r->output_delta < 1e-6
                                ? 0.0
                                : scale01(swan_metric_value(r, SWAN_M_OUT), rg->lo[SWAN_M_OUT],
                                          rg->hi[SWAN_M_OUT]);
    s->error_proxy = scale01(r->rtn_nrmse, rg->lo[SWAN_M_ERR], rg->hi[SWAN_M_ERR]);
}

void swan_normalize(const swan_raw_metrics *r, swan_scores *s) {
    swan_norm_ranges rg;
    swan_norm_fixed(&rg);
    swan_normalize_with(&rg, r, s);
}

double swan_composite(const swan_policy *p, const swan_scores *s) {
    return p->w_svd * s->svd + p->w_kurt * s->kurtosis + p->w_out * s->output_sensitivity +
           p->w_err * s->error_proxy;
}

static void keep16(swan_decision *out, const char *reason, bool prot) {
    out->bits = 16;
    out->threshold_bits = 16;
    out->reason = reason;
    out->classification = prot ? "protected" : "default";
}

void swan_decide(const swan_policy *p, const char *name, swan_tensor_kind kind,
                 const swan_raw_metrics *raw, swan_decision *out) {
    swan_norm_ranges rg;
    swan_norm_fixed(&rg);
    swan_decide_with(p, &rg, name, kind, raw, out);
}

void swan_decide_with(const swan_policy *p, const swan_norm_ranges *rg, const char *name,
                      swan_tensor_kind kind, const swan_raw_metrics *raw, swan_decision *out) {
    memset(out, 0, sizeof *out);
    out->stack = SWAN_NO_STACK;
    bool prot = swan_policy_is_protected(p, name);
    switch (kind) {
    case SWAN_KIND_1D: keep16(out, "1d_tensor", prot); return;
    case SWAN_KIND_TINY: keep16(out, "tiny_tensor", prot); return;
    case SWAN_KIND_EMPTY: keep16(out, "empty_tensor", prot); return;
    case SWAN_KIND_NOT_FLOAT: keep16(out, "not_float", prot); return;
    case SWAN_KIND_SCALE: keep16(out, "scale_tensor", prot); return;
    case SWAN_KIND_QUANTIZED: keep16(out, "already_quantized", prot); return;
    case SWAN_KIND_COUNT: keep16(out, "not_analyzed", prot); return;
    case SWAN_KIND_MATRIX: break;
    }
    if (!raw) { /* its analysis failed; only `analyze --keep-failed` writes this */
        keep16(out, "analysis_failed", prot);
        return;
    }
    if (raw->nonfinite > 0) {
        keep16(out, "non_finite_values", prot);
        return;
    }
    swan_normalize_with(rg, raw, &out->scores);
    out->composite = swan_composite(p, &out->scores);
    if (prot && !p->quantize_protected) {
        keep16(out, "protected_pattern", true);
    } else if (out->composite >= p->t_high) {
        out->bits = 16;
        out->reason = "high_sensitivity";
    } else if (out->composite >= p->t_mid) {
        out->bits = 8;
        out->reason = "sensitive";
    } else if (out->composite <= p->t_low) {
        out->bits = 2;
        out->reason = "low_sensitivity";
    } else {
        out->bits = 4;
        out->reason = "default";
    }
    out->classification = prot ? "protected" : out->bits >= 8 ? "sensitive" : "default";
    if (out->bits < 16) out->group_size = p->group_size[out->bits];
    out->threshold_bits = out->bits;
}
