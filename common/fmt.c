/* fmt.c: printf-free number formatting (see fmt.h). */
#include "common/fmt.h"

#include <math.h>
#include <stdbool.h>

size_t swan_fmt_u64(char *out, uint64_t v) {
    char d[20];
    size_t k = 0;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < k; i++) out[i] = d[k - 1 - i];
    out[k] = '\0';
    return k;
}

/* Powers of ten up to 10^22 are exact doubles. */
static const double k_p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* a * 10^(digits-1-e) rounded to an integer, in *m; false when the power is not exact
 * or the product lies too close to a tie for its one rounding error to be excluded.
 * One multiplication or division by an exact power is off by at most half an ulp
 * (2^-53 relative), so a fraction farther than scaled * 2^-50 from 1/2 rounds the
 * same way as the exact decimal value (which printf rounds, ties to even). */
static bool scaled_digits(double a, int digits, int e, uint64_t *m) {
    int k = digits - 1 - e;
    if (k < -22 || k > 22) return false;
    double scaled = k >= 0 ? a * k_p10[k] : a / k_p10[-k];
    double whole = floor(scaled), frac = scaled - whole;
    if (fabs(frac - 0.5) <= ldexp(scaled, -50) + 1e-300) return false;
    *m = (uint64_t)whole + (frac > 0.5);
    return true;
}

size_t swan_fmt_g(char *out, double v, int digits) {
    if (digits < 1 || digits > 12 || !isnormal(v)) return 0;
    double a = fabs(v);
    uint64_t lo = (uint64_t)k_p10[digits - 1], hi = (uint64_t)k_p10[digits], m;
    int e = (int)floor(log10(a));
    if (!scaled_digits(a, digits, e, &m)) return 0;
    if (m < lo) { /* log10 landed one above */
        e--;
        if (!scaled_digits(a, digits, e, &m)) return 0;
    }
    if (m >= hi) { /* rounding carried into one more digit (or log10 landed below) */
        e++;
        if (!scaled_digits(a, digits, e, &m)) return 0;
    }
    if (m < lo || m >= hi) return 0;
    char d[12];
    for (int i = digits - 1; i >= 0; i--) {
        d[i] = (char)('0' + m % 10);
        m /= 10;
    }
    int nd = digits; /* significant digits left once trailing zeros go (no '#' flag) */
    while (nd > 1 && d[nd - 1] == '0') nd--;
    char *p = out;
    if (v < 0) *p++ = '-';
    if (e < -4 || e >= digits) { /* d.ddde+XX */
        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            for (int i = 1; i < nd; i++) *p++ = d[i];
        }
        *p++ = 'e';
        *p++ = e < 0 ? '-' : '+';
        int x = e < 0 ? -e : e;
        if (x >= 100) *p++ = (char)('0' + x / 100);
        *p++ = (char)('0' + x / 10 % 10);
        *p++ = (char)('0' + x % 10);
    } else if (e >= 0) { /* ddd.ddd */
        for (int i = 0; i <= e; i++) *p++ = d[i];
        if (nd > e + 1) {
            *p++ = '.';
            for (int i = e + 1; i < nd; i++) *p++ = d[i];
        }
    } else { /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -e - 1; i++) *p++ = '0';
        for (int i = 0; i < nd; i++) *p++ = d[i];
    }
    *p = '\0';
    return (size_t)(p - out);
}
