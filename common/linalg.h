/* linalg.h: the one place swan declares the BLAS/LAPACK routines it calls.
 *
 * We call the Fortran-style symbols (sgemm_, ssyevd_, ...) because OpenBLAS,
 * reference BLAS/LAPACK and Apple Accelerate all export them, whereas CBLAS/LAPACKE
 * headers differ between vendors. All matrices are column-major as Fortran sees
 * them; a row-major C array of r x c is a column-major c x r matrix, which is how
 * the kernels in worker/ use them. Character arguments are followed, at the end of
 * the argument list, by their hidden Fortran lengths (size_t, always 1): gfortran-
 * built LAPACK reads them, Accelerate's CLAPACK ignores the extra arguments.
 *
 * swan_blas_int is the Fortran INTEGER: 32-bit for the LP64 libraries we link. */
#ifndef SWAN_LINALG_H
#define SWAN_LINALG_H

#include <stddef.h>

typedef int swan_blas_int;

/* C = alpha * op(A) op(B) + beta * C */
void sgemm_(const char *transa, const char *transb, const swan_blas_int *m,
            const swan_blas_int *n, const swan_blas_int *k, const float *alpha,
            const float *a, const swan_blas_int *lda, const float *b,
            const swan_blas_int *ldb, const float *beta, float *c,
            const swan_blas_int *ldc, size_t transa_len, size_t transb_len);

/* C = alpha * op(A) op(A)^T + beta * C, only the `uplo` triangle of C. */
void ssyrk_(const char *uplo, const char *trans, const swan_blas_int *n,
            const swan_blas_int *k, const float *alpha, const float *a,
            const swan_blas_int *lda, const float *beta, float *c,
            const swan_blas_int *ldc, size_t uplo_len, size_t trans_len);

/* C = alpha * A B + beta * C (side 'L') or alpha * B A + beta * C (side 'R'), A
 * symmetric with only its `uplo` triangle read. */
void ssymm_(const char *side, const char *uplo, const swan_blas_int *m,
            const swan_blas_int *n, const float *alpha, const float *a,
            const swan_blas_int *lda, const float *b, const swan_blas_int *ldb,
            const float *beta, float *c, const swan_blas_int *ldc, size_t side_len,
            size_t uplo_len);

/* Eigenvalues (jobz 'N') of a symmetric matrix, divide and conquer. */
void ssyevd_(const char *jobz, const char *uplo, const swan_blas_int *n, float *a,
             const swan_blas_int *lda, float *w, float *work, const swan_blas_int *lwork,
             swan_blas_int *iwork, const swan_blas_int *liwork, swan_blas_int *info,
             size_t jobz_len, size_t uplo_len);
void dsyevd_(const char *jobz, const char *uplo, const swan_blas_int *n, double *a,
             const swan_blas_int *lda, double *w, double *work, const swan_blas_int *lwork,
             swan_blas_int *iwork, const swan_blas_int *liwork, swan_blas_int *info,
             size_t jobz_len, size_t uplo_len);

/* QR factorization and the explicit Q (orthonormal basis of the columns). */
void sgeqrf_(const swan_blas_int *m, const swan_blas_int *n, float *a,
             const swan_blas_int *lda, float *tau, float *work, const swan_blas_int *lwork,
             swan_blas_int *info);
void sorgqr_(const swan_blas_int *m, const swan_blas_int *n, const swan_blas_int *k,
             float *a, const swan_blas_int *lda, const float *tau, float *work,
             const swan_blas_int *lwork, swan_blas_int *info);

/* OpenBLAS threads itself unless told otherwise; workers run one BLAS thread each
 * (the coordinator runs one worker per core). Only OpenBLAS has this call. */
#if defined(SWAN_HAVE_OPENBLAS_SET_THREADS)
void openblas_set_num_threads(int num_threads);
#endif

#endif
