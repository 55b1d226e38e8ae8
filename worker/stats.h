/* stats.h: the element-wise metrics of one matrix, accumulated tile by tile.
 *
 * Kurtosis (M2), the 4-bit RTN error (M4), min/max (for the M3 noise scale) and the
 * non-finite count all look at each value once and in any order, so metrics.c feeds
 * them tile after tile. Moments are merged with the pairwise (Chan/Pebay) formulas in
 * double, so the result does not drift with the number or size of tiles. */
#ifndef SWAN_STATS_H
#define SWAN_STATS_H

#include <stddef.h>
#include <stdint.h>

#define SWAN_RTN_GROUP 128

typedef struct swan_stats {
    double n, mean, m2, m3, m4; /* count, mean, central sums of powers 2..4      */
    double rtn_err2, rtn_w2;    /* sum (w' - w)^2 and sum w^2 over padded values  */
    double rtn_count;           /* padded values seen                              */
    float w_min, w_max;
    uint64_t nonfinite;
} swan_stats;

void swan_stats_init(swan_stats *s);

/* Adds a tile of nrows x ncols row-major values. The tile must start at a column
 * that is a multiple of SWAN_RTN_GROUP, and ncols must be a multiple of it unless
 * the tile ends at the end of the matrix rows (then the last group of each row is
 * zero-padded, as SWAN-METRICS.md M4 says). If the tile holds a NaN or an infinity,
 * only the non-finite count and min/max are updated (the metrics will be skipped). */
void swan_stats_add_tile(swan_stats *s, const float *tile, size_t nrows, size_t ncols);

/* Adds another accumulator (e.g. from a different part of the matrix). */
void swan_stats_merge(swan_stats *into, const swan_stats *from);

double swan_stats_kurtosis(const swan_stats *s);   /* population excess kurtosis */
double swan_stats_rtn_nrmse(const swan_stats *s);  /* M4 */

/* One group of RTN (exposed for tests): lo/hi over w[0..SWAN_RTN_GROUP), then adds
 * sum of squared reconstruction errors and of squared values to *err2 and *w2. */
void swan_rtn_group(const float *w, double *err2, double *w2);

#endif
