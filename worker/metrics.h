/* metrics.h: the four SWAN raw metrics of one 2-D float32 matrix.
 *
 * One streaming pass over row blocks (or column panels when the rows are the
 * small side) fuses everything single-pass: moments for kurtosis, min/max, the RTN
 * error, the probe products W X and U X for the noise metric, the non-finite count
 * and the Gram matrix for the spectrum. Memory is bounded by opts.max_block_bytes plus
 * the Gram matrix (small side <= opts.gram_max) or the randomized sketch; never the
 * whole tensor. See docs/metrics.md for the methods and their exactness. */
#ifndef SWAN_METRICS_H
#define SWAN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "common/raw_metrics.h"
#include "worker/tile_reader.h"

typedef struct swan_metrics_opts {
    uint64_t prng_key;        /* swan_prng_key(run_seed, tensor name)                 */
    uint32_t probes;          /* p for M3 = min(probes, cols); default 32             */
    uint32_t exact_max;       /* all singular values when min(m,n) <= this; 512       */
    uint32_t top_rank;        /* else only the top this many; 256                     */
    uint32_t gram_max;        /* exact Gram eigenvalues when small side <= this; 4096 */
    uint32_t power_iters;     /* randomized method: subspace iterations; 3            */
    uint32_t oversample;      /* randomized method: extra sketch columns; 32          */
    size_t max_block_bytes;   /* float32 bytes of one row block / panel; 16 MiB       */
    swan_dtype dtype;         /* stored dtype: MLX scales/biases are rounded to it (BF16,
                                 F16; others keep float32); default F32                */
} swan_metrics_opts;

void swan_metrics_default_opts(swan_metrics_opts *o);

/* Computes all four metrics. Returns 0 and fills *out (out->nonfinite > 0 means the
 * metrics were skipped and are 0), or -1 with err set (read failure, LAPACK failure,
 * out of memory). */
int swan_metrics_compute(const swan_tile_reader *reader, const swan_metrics_opts *opts,
                         swan_raw_metrics *out, swan_error *err);

#endif
