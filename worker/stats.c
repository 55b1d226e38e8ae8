/* stats.c: kurtosis moments, RTN 4-bit g128 error, min/max and non-finite count.
 *
 * The hot loop (stats_row_groups) visits each full group of 128 values of a row once
 * while it is in L1: group min/max, the RTN quantization error, sum w^2, and the
 * powers 1..4 of (w - c) for the moments, with c the mean of the current chunk of
 * rows (computed in a first pass over the chunk while it sits in L2). Arithmetic is
 * in float lanes of 4 (GCC/clang vector extensions: SSE or NEON), flushed to double
 * accumulators after every group, so rounding error stays near 32 float ulps of a
 * group's sum whatever the tensor size. Chunk sums of
 * powers around c are turned exactly into central moments and merged pairwise
 * (Chan et al. / Pebay 2008) in double. Build without -ffast-math: the
 * round-half-to-even trick below and the NaN checks rely on IEEE semantics. */
#include "worker/stats.h"

#include <math.h>
#include <string.h>

#include "common/vec4.h"

/* A double accumulator of 4 lanes, and adding one group's float lane sums to it. */
typedef struct dacc {
    double d[4];
} dacc;
static inline void flush(dacc *acc, vf v) {
#if defined(__SSE2__)
    __m128 f = (__m128)v;
    _mm_storeu_pd(acc->d, _mm_add_pd(_mm_loadu_pd(acc->d), _mm_cvtps_pd(f)));
    _mm_storeu_pd(acc->d + 2, _mm_add_pd(_mm_loadu_pd(acc->d + 2), _mm_cvtps_pd(_mm_movehl_ps(f, f))));
#else
    for (int i = 0; i < 4; i++) acc->d[i] += (double)v[i];
#endif
}
static inline double dsum(const dacc *a) { return (a->d[0] + a->d[1]) + (a->d[2] + a->d[3]); }

#define GROUP SWAN_RTN_GROUP
#define CHUNK_ELEMS 32768 /* rows per chunk: about 128 KiB of floats, stays in L2 */
/* 1.5 * 2^23: adding and subtracting it rounds a float in [0, 2^22) to an integer,
 * half to even, under the default rounding mode. */
#define ROUND_MAGIC 12582912.0f

void swan_stats_init(swan_stats *s) {
    memset(s, 0, sizeof *s);
    s->w_min = INFINITY;
    s->w_max = -INFINITY;
}

/* Accumulators of one chunk: sums of (w-c)^1..4, RTN sums, range. */
typedef struct chunk_acc {
    dacc s1, s2, s3, s4, e2, w2;
    float lo, hi;
} chunk_acc;

/* RTN of one group given its range; returns the float lanes of err^2 and w^2.
 * Multiplies by 1/s instead of dividing: it can move a value across a rounding
 * tie only when it sits within an ulp of it, where both choices err by s/2. */
static inline void rtn_lanes(const float *w, float lo, float hi, vf *e2, vf *w2) {
    float sc = (hi - lo) / 15.0f;
    if (!(sc > 1e-12f)) sc = 1e-12f;
    vf vs = splat(sc), vinv = splat(1.0f / sc), vlo = splat(lo), magic = splat(ROUND_MAGIC);
    vf zero = splat(0.0f), top = splat(15.0f), ae = zero, aw = zero;
    for (int k = 0; k < GROUP; k += VL) {
        vf x = loadv(w + k);
        vf t = (x - vlo) * vinv;
        vf q = vmax(vmin((t + magic) - magic, top), zero);
        vf d = q * vs + vlo - x;
        ae += d * d;
        aw += x * x;
    }
    *e2 = ae;
    *w2 = aw;
}

void swan_rtn_group(const float *w, double *err2, double *w2) {
    vf mn = loadv(w), mx = mn;
    for (int k = VL; k < GROUP; k += VL) {
        vf x = loadv(w + k);
        mn = vmin(mn, x);
        mx = vmax(mx, x);
    }
    vf e2, x2;
    rtn_lanes(w, hmin(mn), hmax(mx), &e2, &x2);
    dacc a = {{0, 0, 0, 0}}, b = {{0, 0, 0, 0}};
    flush(&a, e2);
    flush(&b, x2);
    *err2 += dsum(&a);
    *w2 += dsum(&b);
}

/* The full groups of one row: range and moment sums around c in one sweep, then
 * the RTN error once the group's range is known. */
static void stats_row_groups(const float *w, size_t ngroups, float c, chunk_acc *acc) {
    vf vc = splat(c);
    for (size_t g = 0; g < ngroups; g++, w += GROUP) {
        vf mn = loadv(w), mx = mn;
        vf s1 = splat(0.0f), s2 = s1, s3 = s1, s4 = s1;
        for (int k = 0; k < GROUP; k += VL) {
            vf x = loadv(w + k), y = x - vc, y2 = y * y;
            mn = vmin(mn, x);
            mx = vmax(mx, x);
            s1 += y;
            s2 += y2;
            s3 += y2 * y;
            s4 += y2 * y2;
        }
        float lo = hmin(mn), hi = hmax(mx);
        if (lo < acc->lo) acc->lo = lo;
        if (hi > acc->hi) acc->hi = hi;
        vf e2, x2;
        rtn_lanes(w, lo, hi, &e2, &x2);
        flush(&acc->e2, e2);
        flush(&acc->w2, x2);
        flush(&acc->s1, s1);
        flush(&acc->s2, s2);
        flush(&acc->s3, s3);
        flush(&acc->s4, s4);
    }
}

/* Pairwise update of (n, mean, M2, M3, M4) with another set (Pebay 2008, eq. 3.1). */
static void moments_merge(swan_stats *a, double nb, double mb, double m2b, double m3b,
                          double m4b) {
    double na = a->n, n = na + nb;
    if (nb == 0) return;
    if (na == 0) {
        a->n = nb, a->mean = mb, a->m2 = m2b, a->m3 = m3b, a->m4 = m4b;
        return;
    }
    double d = mb - a->mean, dn = d / n, dn2 = dn * dn;
    double t = d * d * na * nb / n; /* delta^2 na nb / n */
    double m2 = a->m2 + m2b + t;
    double m3 = a->m3 + m3b + t * dn * (na - nb) + 3.0 * dn * (na * m2b - nb * a->m2);
    double m4 = a->m4 + m4b + t * dn2 * (na * na - na * nb + nb * nb) +
                6.0 * dn2 * (na * na * m2b + nb * nb * a->m2) + 4.0 * dn * (na * m3b - nb * a->m3);
    a->mean += dn * nb;
    a->n = n;
    a->m2 = m2;
    a->m3 = m3;
    a->m4 = m4;
}

/* Sums of (x-c)^1..4 over n values -> central moments about their own mean, merged. */
static void merge_power_sums(swan_stats *s, double n, double c, double s1, double s2,
                             double s3, double s4) {
    if (n == 0) return;
    double mu = s1 / n, mu2 = mu * mu;
    double m2 = s2 - n * mu2;
    double m3 = s3 - 3.0 * mu * s2 + 2.0 * n * mu2 * mu;
    double m4 = s4 - 4.0 * mu * s3 + 6.0 * mu2 * s2 - 3.0 * n * mu2 * mu2;
    if (m2 < 0) m2 = 0;
    if (m4 < 0) m4 = 0;
    moments_merge(s, n, c + mu, m2, m3, m4);
}

/* Sum of a chunk in float lanes flushed per group; non-finite shows as a non-finite sum. */
static double chunk_sum(const float *x, size_t n) {
    dacc acc = {{0, 0, 0, 0}};
    size_t i = 0;
    while (i + GROUP <= n) {
        vf a = splat(0.0f);
        for (int k = 0; k < GROUP; k += VL) a += loadv(x + i + k);
        flush(&acc, a);
        i += GROUP;
    }
    double s = dsum(&acc);
    for (; i < n; i++) s += x[i];
    return s;
}

static uint64_t count_nonfinite(const float *x, size_t n, float *mn, float *mx) {
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            bad++;
            continue;
        }
        if (x[i] < *mn) *mn = x[i];
        if (x[i] > *mx) *mx = x[i];
    }
    return bad;
}

/* The trailing partial group of a row (the matrix's last columns): moments over the
 * real values, RTN over the group zero-padded to 128. */
static void stats_row_tail(const float *w, size_t len, double c, swan_stats *s,
                           double p[4]) {
    float buf[GROUP];
    memset(buf, 0, sizeof buf);
    memcpy(buf, w, len * sizeof(float));
    swan_rtn_group(buf, &s->rtn_err2, &s->rtn_w2);
    for (size_t i = 0; i < len; i++) {
        double y = (double)w[i] - c, y2 = y * y;
        p[0] += y, p[1] += y2, p[2] += y2 * y, p[3] += y2 * y2;
        if (w[i] < s->w_min) s->w_min = w[i];
        if (w[i] > s->w_max) s->w_max = w[i];
    }
}

void swan_stats_add_tile(swan_stats *s, const float *tile, size_t nrows, size_t ncols) {
    if (nrows == 0 || ncols == 0) return;
    size_t full = ncols / GROUP, tail = ncols % GROUP;
    size_t chunk_rows = CHUNK_ELEMS / ncols;
    if (chunk_rows < 1) chunk_rows = 1;
    for (size_t r0 = 0; r0 < nrows; r0 += chunk_rows) {
        size_t nr = nrows - r0 < chunk_rows ? nrows - r0 : chunk_rows;
        const float *x = tile + r0 * ncols;
        size_t n = nr * ncols;
        double sum = chunk_sum(x, n);
        if (s->nonfinite > 0 || !isfinite(sum)) {
            /* Metrics will be skipped; keep counting (a huge finite sum can also
             * overflow to inf, so count rather than assume). */
            s->nonfinite += count_nonfinite(x, n, &s->w_min, &s->w_max);
            if (s->nonfinite > 0) continue;
        }
        float c = (float)(sum / (double)n);
        chunk_acc acc;
        memset(&acc, 0, sizeof acc);
        acc.lo = INFINITY;
        acc.hi = -INFINITY;
        double p[4] = {0, 0, 0, 0};
        for (size_t r = 0; r < nr; r++) {
            const float *row = x + r * ncols;
            stats_row_groups(row, full, c, &acc);
            if (tail) stats_row_tail(row + full * GROUP, tail, c, s, p);
        }
        if (acc.lo < s->w_min) s->w_min = acc.lo;
        if (acc.hi > s->w_max) s->w_max = acc.hi;
        s->rtn_err2 += dsum(&acc.e2);
        s->rtn_w2 += dsum(&acc.w2);
        s->rtn_count += (double)nr * (double)((full + (tail ? 1 : 0)) * GROUP);
        merge_power_sums(s, (double)n, c, dsum(&acc.s1) + p[0], dsum(&acc.s2) + p[1],
                         dsum(&acc.s3) + p[2], dsum(&acc.s4) + p[3]);
    }
}

void swan_stats_merge(swan_stats *into, const swan_stats *from) {
    moments_merge(into, from->n, from->mean, from->m2, from->m3, from->m4);
    into->rtn_err2 += from->rtn_err2;
    into->rtn_w2 += from->rtn_w2;
    into->rtn_count += from->rtn_count;
    if (from->w_min < into->w_min) into->w_min = from->w_min;
    if (from->w_max > into->w_max) into->w_max = from->w_max;
    into->nonfinite += from->nonfinite;
}

double swan_stats_kurtosis(const swan_stats *s) {
    if (s->n <= 0) return 0.0;
    double m2 = s->m2 / s->n;
    if (m2 < 1e-12) return 0.0;
    return (s->m4 / s->n) / (m2 * m2) - 3.0;
}

double swan_stats_rtn_nrmse(const swan_stats *s) {
    if (s->rtn_count <= 0) return 0.0;
    double rms_w = sqrt(s->rtn_w2 / s->rtn_count);
    if (rms_w < 1e-12) return 0.0;
    return sqrt(s->rtn_err2 / s->rtn_count) / rms_w;
}
