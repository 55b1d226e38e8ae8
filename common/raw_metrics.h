/* raw_metrics.h: the result of the map step for one tensor.
 *
 * Produced by the worker (worker/metrics.c), carried in a RESULT message
 * (proto/messages.c), appended to the resume journal (coordinator/journal/journal.c) and
 * consumed by the reduce (coordinator/reduce/reduce.c). Everything the reduce needs must be
 * here, so that allocation policies can be re-run from stored raw metrics alone. */
#ifndef SWAN_RAW_METRICS_H
#define SWAN_RAW_METRICS_H

#include <stdint.h>

enum swan_spectral_method {
    SWAN_SPECTRAL_NONE = 0,       /* not computed (non-finite values)                */
    SWAN_SPECTRAL_GRAM_EXACT = 1, /* eigenvalues of W^T W or W W^T: exact            */
    SWAN_SPECTRAL_RANDOMIZED = 2  /* streamed randomized subspace iteration, top-256 */
};

/* MLX affine widths and group sizes measured per matrix (spec section 7). */
#define SWAN_MLX_NBITS 6
#define SWAN_MLX_NGROUPS 3
static const int swan_mlx_bits[SWAN_MLX_NBITS] = {2, 3, 4, 5, 6, 8};
static const int swan_mlx_groups[SWAN_MLX_NGROUPS] = {32, 64, 128};

typedef struct swan_raw_metrics {
    double svd_concentration; /* M1: top-10% energy share of the singular values      */
    double kurtosis;          /* M2: population excess kurtosis                       */
    double output_delta;      /* M3: ||E X||_F / (||W X||_F + 1e-8)                   */
    double rtn_nrmse;         /* M4: 4-bit RTN g128 normalized RMS error              */
    double w_min, w_max;      /* range of the (2-D view of the) tensor                */
    uint64_t rows, cols;      /* the 2-D view the metrics saw                         */
    uint64_t nonfinite;       /* NaN/Inf count; when > 0, M1-M4 are not computed      */
    uint32_t spectral_method; /* enum swan_spectral_method                            */
    uint32_t spectral_rank;   /* how many singular values entered M1                  */
    double seconds;           /* worker wall time spent on this tensor                */
    /* Spec section 7: NRMSE of the 2-D view under MLX affine quantization, for every
     * width swan_mlx_bits[i] and group size swan_mlx_groups[j]; negative when the group
     * size does not divide cols (MLX cannot store that combination). */
    double mlx_nrmse[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS];
    /* Checksum of the stored bytes the metrics read (every byte of the 2-D view: the
     * whole tensor except for packed 3-D experts, where the sampled experts), hashed
     * in the same pass (worker/tensor_reader.h gives the exact definition): lets
     * `swan verify` prove the data behind each result is unchanged. */
    uint64_t data_hash;
} swan_raw_metrics;

#endif
