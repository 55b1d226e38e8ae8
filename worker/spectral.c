/* spectral.c: Gram eigenvalues and streamed randomized subspace iteration (M1).
 *
 * See spectral.h for the two methods. Layout convention: a row-major r x c float
 * array is, for Fortran BLAS, a column-major c x r matrix with leading dimension c;
 * every call below is written in those terms. Only the lower triangle of symmetric
 * matrices is kept up to date ('L'). */
#include "worker/spectral.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/linalg.h"
#include "common/prng.h"
#include "worker/metrics.h"

double swan_spectral_concentration(const double *sv_squared_desc, size_t count) {
    if (count == 0) return 0.0;
    size_t t = count / 10;
    if (t < 1) t = 1;
    double top = 0.0, all = 0.0;
    for (size_t i = 0; i < count; i++) {
        all += sv_squared_desc[i];
        if (i < t) top += sv_squared_desc[i];
    }
    if (all < 1e-12) return 0.0;
    return top / all;
}

/* The largest `keep` of n ascending eigenvalues, descending, negatives (rounding
 * noise of a semi-definite matrix) clamped to 0. */
static double conc_from_ascending(const double *w, size_t n, size_t keep) {
    if (keep > n) keep = n;
    double *d = malloc((keep ? keep : 1) * sizeof *d);
    if (!d) return -1.0;
    for (size_t i = 0; i < keep; i++) d[i] = w[n - 1 - i] > 0 ? w[n - 1 - i] : 0.0;
    double c = swan_spectral_concentration(d, keep);
    free(d);
    return c;
}

/* Copies the lower triangle of the column-major n x n `a` onto its upper triangle,
 * in 8 x 8 blocks (fastest measured: ~1 ms for n = 1024). */
static void mirror_lower(float *a, size_t n) {
    const size_t bs = 8;
    for (size_t j0 = 0; j0 < n; j0 += bs)
        for (size_t i0 = j0; i0 < n; i0 += bs) {
            size_t j1 = j0 + bs < n ? j0 + bs : n, i1 = i0 + bs < n ? i0 + bs : n;
            for (size_t j = j0; j < j1; j++)
                for (size_t i = i0 > j ? i0 : j + 1; i < i1; i++) a[i * n + j] = a[j * n + i];
        }
}

/* Eigenvalues only of the symmetric n x n `a` (lower), ascending, into w. Solved
 * from the upper triangle: OpenBLAS 0.3.21's ssyevd with 'U' took 2-3 ms less at
 * n = 1024 (~5%; its tridiagonalization is faster that way) and mirroring costs
 * ~1 ms, whereas computing the Gram as 'U' would make the larger ssyrk ~6% slower. */
static int eig_float(float *a, size_t n, float *w, swan_error *err) {
    swan_blas_int nn = (swan_blas_int)n, lwork = -1, liwork = -1, info = 0, iq = 0;
    float wq = 0;
    mirror_lower(a, n);
    ssyevd_("N", "U", &nn, a, &nn, w, &wq, &lwork, &iq, &liwork, &info, 1, 1);
    if (info != 0) return swan_error_set(err, "ssyevd workspace query failed (info %d)", info);
    lwork = (swan_blas_int)wq + 1;
    liwork = iq > 1 ? iq : 1;
    float *work = malloc((size_t)lwork * sizeof *work);
    swan_blas_int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(work);
        free(iwork);
        return swan_error_set(err, "out of memory for ssyevd workspace (n=%zu)", n);
    }
    ssyevd_("N", "U", &nn, a, &nn, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work);
    free(iwork);
    if (info != 0) return swan_error_set(err, "ssyevd failed on a %zux%zu Gram matrix (info %d)", n, n, info);
    return 0;
}

static int eig_double(double *a, size_t n, double *w, swan_error *err) {
    swan_blas_int nn = (swan_blas_int)n, lwork = -1, liwork = -1, info = 0, iq = 0;
    double wq = 0;
    dsyevd_("N", "L", &nn, a, &nn, w, &wq, &lwork, &iq, &liwork, &info, 1, 1);
    if (info != 0) return swan_error_set(err, "dsyevd workspace query failed (info %d)", info);
    lwork = (swan_blas_int)wq + 1;
    liwork = iq > 1 ? iq : 1;
    double *work = malloc((size_t)lwork * sizeof *work);
    swan_blas_int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(work);
        free(iwork);
        return swan_error_set(err, "out of memory for dsyevd workspace (n=%zu)", n);
    }
    dsyevd_("N", "L", &nn, a, &nn, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work);
    free(iwork);
    if (info != 0) return swan_error_set(err, "dsyevd failed on a %zux%zu matrix (info %d)", n, n, info);
    return 0;
}

/* ---- exact: the Gram matrix ------------------------------------------------- */

int swan_gram_init(swan_gram *g, size_t n, swan_error *err) {
    memset(g, 0, sizeof *g);
    g->n = n;
    g->g32 = calloc(n * n, sizeof *g->g32);
    if (n <= SWAN_GRAM_DOUBLE_MAX) g->g64 = calloc(n * n, sizeof *g->g64);
    if (!g->g32 || (n <= SWAN_GRAM_DOUBLE_MAX && !g->g64)) {
        swan_gram_free(g);
        return swan_error_set(err, "out of memory for a %zux%zu Gram matrix", n, n);
    }
    return 0;
}

void swan_gram_free(swan_gram *g) {
    free(g->g32);
    free(g->g64);
    memset(g, 0, sizeof *g);
}

/* Float BLAS for the tile, double for the running sum: the rounding error of a
 * tile's Gram does not grow with the number of tiles. */
static void gram_absorb(swan_gram *g) {
    if (!g->g64) return;
    size_t n = g->n;
    for (size_t j = 0; j < n; j++) {
        double *dst = g->g64 + j * n;
        const float *src = g->g32 + j * n;
        for (size_t i = j; i < n; i++) dst[i] += src[i];
    }
}

void swan_gram_add_rows(swan_gram *g, const float *block, size_t nrows) {
    swan_blas_int n = (swan_blas_int)g->n, k = (swan_blas_int)nrows;
    float one = 1.0f, beta = g->g64 ? 0.0f : 1.0f;
    /* block is column-major n x nrows: G (+)= A A^T */
    ssyrk_("L", "N", &n, &k, &one, block, &n, &beta, g->g32, &n, 1, 1);
    gram_absorb(g);
}

void swan_gram_add_panel(swan_gram *g, const float *panel, size_t ncols) {
    swan_blas_int n = (swan_blas_int)g->n, k = (swan_blas_int)ncols;
    float one = 1.0f, beta = g->g64 ? 0.0f : 1.0f;
    /* panel is column-major ncols x n: G (+)= A^T A */
    ssyrk_("L", "T", &n, &k, &one, panel, &k, &beta, g->g32, &n, 1, 1);
    gram_absorb(g);
}

void swan_gram_finish(swan_gram *g) {
    if (!g->g64) return;
    size_t n = g->n;
    for (size_t j = 0; j < n; j++)
        for (size_t i = j; i < n; i++) g->g32[j * n + i] = (float)g->g64[j * n + i];
}

int swan_gram_quadratic(const swan_gram *g, const float *x, size_t p, double *out,
                        swan_error *err) {
    swan_blas_int n = (swan_blas_int)g->n, pp = (swan_blas_int)p;
    float one = 1.0f, zero = 0.0f;
    float *y = malloc(g->n * p * sizeof *y);
    if (!y) return swan_error_set(err, "out of memory for the probe product (%zux%zu)", g->n, p);
    /* x is column-major p x n (X^T); Y = X^T G, then sum X^T .* Y = tr(X^T G X). */
    ssymm_("R", "L", &pp, &n, &one, g->g32, &n, x, &pp, &zero, y, &pp, 1, 1);
    double s = 0.0;
    for (size_t i = 0; i < g->n * p; i++) s += (double)x[i] * (double)y[i];
    free(y);
    *out = s;
    return 0;
}

int swan_gram_concentration(swan_gram *g, uint32_t exact_max, uint32_t top_rank,
                            double *conc, uint32_t *rank, swan_error *err) {
    size_t n = g->n, keep = n <= exact_max ? n : (top_rank < n ? top_rank : n);
    double *w = malloc(n * sizeof *w);
    if (!w) return swan_error_set(err, "out of memory for %zu eigenvalues", n);
    int rc;
    if (n <= exact_max) {
        /* Small: all values enter c and the tolerance is 1e-4, so use double. */
        double *a = g->g64;
        if (!a) {
            a = malloc(n * n * sizeof *a);
            if (!a) {
                free(w);
                return swan_error_set(err, "out of memory for a %zux%zu matrix", n, n);
            }
            for (size_t i = 0; i < n * n; i++) a[i] = g->g32[i];
        }
        rc = eig_double(a, n, w, err);
        if (a != g->g64) free(a);
    } else {
        float *wf = malloc(n * sizeof *wf);
        rc = wf ? eig_float(g->g32, n, wf, err)
                : swan_error_set(err, "out of memory for %zu eigenvalues", n);
        if (rc == 0)
            for (size_t i = 0; i < n; i++) w[i] = wf[i];
        free(wf);
    }
    if (rc == 0) {
        *conc = conc_from_ascending(w, n, keep);
        *rank = (uint32_t)keep;
        if (*conc < 0) rc = swan_error_set(err, "out of memory for %zu eigenvalues", keep);
    }
    free(w);
    return rc;
}

/* ---- randomized: streamed subspace iteration -------------------------------- */

/* Orthonormal basis of the columns of the column-major n x k matrix a, in place. */
static int orthonormalize(float *a, size_t n, size_t k, swan_error *err) {
    swan_blas_int nn = (swan_blas_int)n, kk = (swan_blas_int)k, lwork = -1, info = 0;
    float q1 = 0, q2 = 0;
    float *tau = malloc(k * sizeof *tau);
    if (!tau) return swan_error_set(err, "out of memory for a QR of %zux%zu", n, k);
    sgeqrf_(&nn, &kk, a, &nn, tau, &q1, &lwork, &info);
    if (info == 0) sorgqr_(&nn, &kk, &kk, a, &nn, tau, &q2, &lwork, &info);
    if (info != 0) {
        free(tau);
        return swan_error_set(err, "QR workspace query failed (info %d)", info);
    }
    lwork = (swan_blas_int)(q1 > q2 ? q1 : q2) + 1;
    float *work = malloc((size_t)lwork * sizeof *work);
    if (!work) {
        free(tau);
        return swan_error_set(err, "out of memory for a QR of %zux%zu", n, k);
    }
    sgeqrf_(&nn, &kk, a, &nn, tau, work, &lwork, &info);
    if (info == 0) sorgqr_(&nn, &kk, &kk, a, &nn, tau, work, &lwork, &info);
    free(work);
    free(tau);
    if (info != 0) return swan_error_set(err, "QR of the %zux%zu sketch failed (info %d)", n, k, info);
    return 0;
}

int swan_rsvd_init(swan_rsvd *r, size_t n, size_t k, uint64_t key, size_t tile_len,
                   swan_error *err) {
    memset(r, 0, sizeof *r);
    if (k > n) k = n;
    if (tile_len < 1) tile_len = 1;
    r->n = n;
    r->k = k;
    r->tile_len = tile_len;
    r->v = malloc(n * k * sizeof *r->v);
    r->z = calloc(n * k, sizeof *r->z);
    r->t = malloc(tile_len * k * sizeof *r->t);
    r->h = calloc(k * k, sizeof *r->h);
    double *row = malloc(k * sizeof *row);
    if (!r->v || !r->z || !r->t || !r->h || !row) {
        free(row);
        swan_rsvd_free(r);
        return swan_error_set(err, "out of memory for a %zux%zu randomized sketch", n, k);
    }
    for (size_t j = 0; j < n; j++) {
        swan_prng_normal(key, SWAN_STREAM_SKETCH, (uint64_t)j * k, row, k);
        for (size_t c = 0; c < k; c++) r->v[c * n + j] = (float)row[c];
    }
    free(row);
    if (orthonormalize(r->v, n, k, err) != 0) {
        swan_rsvd_free(r);
        return -1;
    }
    return 0;
}

void swan_rsvd_free(swan_rsvd *r) {
    free(r->v);
    free(r->z);
    free(r->t);
    free(r->h);
    memset(r, 0, sizeof *r);
}

void swan_rsvd_add_rows(swan_rsvd *r, const float *block, size_t nrows) {
    swan_blas_int n = (swan_blas_int)r->n, k = (swan_blas_int)r->k;
    float one = 1.0f, zero = 0.0f;
    for (size_t r0 = 0; r0 < nrows; r0 += r->tile_len) {
        size_t nr = nrows - r0 < r->tile_len ? nrows - r0 : r->tile_len;
        swan_blas_int b = (swan_blas_int)nr;
        const float *bc = block + r0 * r->n; /* column-major n x b */
        /* T (b x k) = B V = bc^T V */
        sgemm_("T", "N", &b, &k, &n, &one, bc, &n, r->v, &n, &zero, r->t, &b, 1, 1);
        if (r->final_pass) /* H += T^T T */
            ssyrk_("L", "T", &k, &b, &one, r->t, &b, &one, r->h, &k, 1, 1);
        else /* Z (n x k) += B^T T = bc T */
            sgemm_("N", "N", &n, &k, &b, &one, bc, &n, r->t, &b, &one, r->z, &n, 1, 1);
    }
}

void swan_rsvd_add_panel(swan_rsvd *r, const float *panel, size_t ncols) {
    swan_blas_int n = (swan_blas_int)r->n, k = (swan_blas_int)r->k, ld = (swan_blas_int)ncols;
    float one = 1.0f, zero = 0.0f;
    for (size_t c0 = 0; c0 < ncols; c0 += r->tile_len) {
        size_t nc = ncols - c0 < r->tile_len ? ncols - c0 : r->tile_len;
        swan_blas_int b = (swan_blas_int)nc;
        const float *pc = panel + c0; /* column-major b x n, leading dimension ncols */
        /* T (b x k) = P^T V = pc V */
        sgemm_("N", "N", &b, &k, &n, &one, pc, &ld, r->v, &n, &zero, r->t, &b, 1, 1);
        if (r->final_pass) /* H += T^T T */
            ssyrk_("L", "T", &k, &b, &one, r->t, &b, &one, r->h, &k, 1, 1);
        else /* Z (n x k) += P T = pc^T T */
            sgemm_("T", "N", &n, &k, &b, &one, pc, &ld, r->t, &b, &one, r->z, &n, 1, 1);
    }
}

int swan_rsvd_next_pass(swan_rsvd *r, int final, swan_error *err) {
    float *tmp = r->v;
    r->v = r->z;
    r->z = tmp;
    if (orthonormalize(r->v, r->n, r->k, err) != 0) return -1;
    memset(r->z, 0, r->n * r->k * sizeof *r->z);
    r->final_pass = final;
    return 0;
}

int swan_rsvd_concentration(swan_rsvd *r, uint32_t top_rank, double *conc, uint32_t *rank,
                            swan_error *err) {
    size_t k = r->k, keep = top_rank < k ? top_rank : k;
    double *a = malloc(k * k * sizeof *a), *w = malloc(k * sizeof *w);
    if (!a || !w) {
        free(a);
        free(w);
        return swan_error_set(err, "out of memory for a %zux%zu projected Gram", k, k);
    }
    for (size_t i = 0; i < k * k; i++) a[i] = r->h[i];
    int rc = eig_double(a, k, w, err);
    if (rc == 0) {
        *conc = conc_from_ascending(w, k, keep);
        *rank = (uint32_t)keep;
        if (*conc < 0) rc = swan_error_set(err, "out of memory for %zu eigenvalues", keep);
    }
    free(a);
    free(w);
    return rc;
}
