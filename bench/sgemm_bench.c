/* sgemm_bench.c: this machine's single-process sgemm speed, for capacity planning.
 *
 * Times C (4096 x 4096) = A (4096 x 1024) B (1024 x 4096) through common/linalg.h with
 * whatever BLAS thread count the environment sets (OPENBLAS_NUM_THREADS=1 gives what
 * one worker gets) and prints GFLOP/s: the best of a few runs after a warm-up. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/linalg.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void) {
    const swan_blas_int m = 4096, n = 4096, k = 1024;
    float *a = malloc((size_t)m * k * sizeof *a), *b = malloc((size_t)k * n * sizeof *b),
          *c = malloc((size_t)m * n * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "sgemm_bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 2654435761u) % 1000) * 1e-3f;
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (float)((i * 40503u) % 1000) * 1e-3f;
    float one = 1.0f, zero = 0.0f;
    double best = 1e30;
    for (int rep = 0; rep < 4; rep++) { /* the first run warms caches and threads up */
        double t0 = now();
        sgemm_("N", "N", &m, &n, &k, &one, a, &m, b, &k, &zero, c, &m, 1, 1);
        double t = now() - t0;
        if (rep > 0 && t < best) best = t;
    }
    double gflops = 2.0 * m * n * k / best * 1e-9;
    printf("sgemm %dx%dx%d: %.3f s, %.1f GFLOP/s\n", (int)m, (int)n, (int)k, best, gflops);
    free(a);
    free(b);
    free(c);
    return 0;
}
