/* spectral.h: the singular values behind M1, from a streamed matrix.
 *
 * Two methods, both fed tile by tile by metrics.c and never holding the matrix:
 *  - swan_gram: accumulates the s x s Gram matrix of the small side s (W^T W from
 *    row blocks, W W^T from column panels) and takes its eigenvalues (LAPACK
 *    ssyevd/dsyevd, values only): the exact squared singular values. Also when
 *    only the top top_rank enter c (n > exact_max): an iterative Rayleigh-Ritz for
 *    the top 256 on G was measured and is not cheaper at useful accuracy. Weight
 *    Grams have flat spectra around the 256th value, so subspace iteration with
 *    k = 288 columns was off by up to 0.023 (1 iteration) / 0.012 (2) in c on
 *    qwen3-0.6b-shaped 1024 x 1024 Grams, and reaching 0.002 costs more products
 *    with G than the ~50 ms tridiagonalization.
 *  - swan_rsvd: streamed randomized subspace iteration on the small side's Gram
 *    (W^T W from row blocks B, W W^T from column panels P) for when s is too large
 *    for a Gram matrix (s > gram_max): each pass computes Z = sum B^T (B V) (or
 *    sum P (P^T V)), then V = orth(Z); a last pass forms H = sum T^T T with T = B V
 *    (or P^T V), whose eigenvalues are the squared Ritz singular values.
 *    Memory: two s x k float buffers (V and Z), k = top_rank + oversample, plus
 *    one tile-side x k product. */
#ifndef SWAN_SPECTRAL_H
#define SWAN_SPECTRAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* M1 from squared singular values sorted in descending order: the share of the
 * top max(1, count/10) in the sum (spec: spectral concentration); 0 for count 0 or
 * a sum below 1e-12. Exposed for unit tests with known answers. */
double swan_spectral_concentration(const double *sv_squared_desc, size_t count);

typedef struct swan_gram {
    size_t n;     /* side of the Gram matrix                                      */
    float *g32;   /* n x n, lower triangle (column-major)                          */
    double *g64;  /* n x n double running sum (n <= SWAN_GRAM_DOUBLE_MAX), or NULL;
                   * then g32 holds only the current tile's Gram until finish     */
} swan_gram;

/* Gram matrices up to this side are summed in double across tiles (64 MiB max). */
#define SWAN_GRAM_DOUBLE_MAX 2048

int swan_gram_init(swan_gram *g, size_t n, swan_error *err);
void swan_gram_free(swan_gram *g);
/* G += B^T B for a row-major nrows x n row block B. */
void swan_gram_add_rows(swan_gram *g, const float *block, size_t nrows);
/* G += P P^T for a row-major n x ncols column panel P. */
void swan_gram_add_panel(swan_gram *g, const float *panel, size_t ncols);
/* Call once after the last tile: makes g32 hold the final lower triangle. */
void swan_gram_finish(swan_gram *g);
/* sum over the p columns x of X of x^T G x, X row-major n x p (= ||W X||_F^2 when G =
 * W^T W). Needs swan_gram_finish first; returns -1 on allocation failure. */
int swan_gram_quadratic(const swan_gram *g, const float *x, size_t p, double *out,
                        swan_error *err);
/* Eigenvalues of G (destroys G): all of them when n <= exact_max (in double), else the
 * top top_rank; writes the concentration and how many values entered it. */
int swan_gram_concentration(swan_gram *g, uint32_t exact_max, uint32_t top_rank,
                            double *conc, uint32_t *rank, swan_error *err);

typedef struct swan_rsvd {
    size_t n, k;       /* G is n x n (n = the small side); k sketch columns       */
    float *v, *z;      /* n x k column-major: current basis, next accumulation     */
    float *t;          /* tile_len x k: B V or P^T V for (part of) the current tile */
    size_t tile_len;
    float *h;          /* k x k, lower: the final pass's projected Gram            */
    int final_pass;    /* 0: passes accumulate Z; 1: the pass accumulates H        */
} swan_rsvd;

/* V = orth(Omega) with Omega(j, c) = normal(key, SWAN_STREAM_SKETCH, j*k + c). */
int swan_rsvd_init(swan_rsvd *r, size_t n, size_t k, uint64_t key, size_t tile_len,
                   swan_error *err);
void swan_rsvd_free(swan_rsvd *r);
/* One row block B (row-major nrows x n) of the current pass. */
void swan_rsvd_add_rows(swan_rsvd *r, const float *block, size_t nrows);
/* One column panel P (row-major n x ncols) of the current pass. */
void swan_rsvd_add_panel(swan_rsvd *r, const float *panel, size_t ncols);
/* Ends a Z pass: V = orth(Z), Z = 0; `final` makes the next pass accumulate H. */
int swan_rsvd_next_pass(swan_rsvd *r, int final, swan_error *err);
/* After the H pass: the top top_rank eigenvalues of H -> concentration. */
int swan_rsvd_concentration(swan_rsvd *r, uint32_t top_rank, double *conc, uint32_t *rank,
                            swan_error *err);

#endif
