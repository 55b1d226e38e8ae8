/* kernels_bench.c: per-phase timing of the metric kernels on one tensor.
 *
 * usage: swan_kernels_bench ROWS COLS [MAX_BLOCK_MB [fused]]      synthetic BF16 tensor in a temp file
 *        swan_kernels_bench FILE.safetensors TENSOR [MAX_BLOCK_MB [fused]]
 * ("fused": skip the per-phase run, so the peak RSS is that of swan_metrics_compute.)
 * Times, single-threaded: reading+converting the tiles, the element statistics
 * (kurtosis/RTN/range), noise generation, the U X product, the Gram syrk, the eigen
 * step, then the whole fused swan_metrics_compute; prints peak RSS (ru_maxrss).
 * Run with OPENBLAS_NUM_THREADS=1 to measure what one worker does (the phase
 * times are then this thread's CPU seconds). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/linalg.h"
#include "common/prng.h"
#include "common/formats/safetensors.h"
#include "worker/metrics.h"
#include "worker/spectral.h"
#include "worker/stats.h"
#include "worker/tensor_reader.h"

/* CPU time of this thread: phases on a shared, busy machine are measured by what
 * they cost, not by how long the scheduler let them wait. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
#ifdef __APPLE__
    return ru.ru_maxrss / 1024; /* bytes on macOS */
#else
    return ru.ru_maxrss;        /* KiB on Linux */
#endif
}

/* Writes a rows x cols BF16 tensor (Gaussian-ish values) to path, 8 MiB at a time. */
static int write_synthetic(const char *path, uint64_t rows, uint64_t cols) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint64_t n = rows * cols, chunk = 4u << 20;
    uint16_t *buf = malloc(chunk * sizeof *buf);
    float *u = malloc(chunk * sizeof *u);
    for (uint64_t i = 0; i < n; i += chunk) {
        size_t m = (size_t)(n - i < chunk ? n - i : chunk);
        swan_prng_uniform(99, 9, i, u, m);
        for (size_t k = 0; k < m; k++) {
            float v = (u[k] - 0.5f) * 0.1f * (k % 997 == 0 ? 20.0f : 1.0f);
            uint32_t b;
            memcpy(&b, &v, 4);
            buf[k] = (uint16_t)(b >> 16);
        }
        fwrite(buf, 2, m, f);
    }
    free(buf);
    free(u);
    return fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s ROWS COLS [MAX_BLOCK_MB] | FILE TENSOR [MAX_BLOCK_MB]\n", argv[0]);
        return 2;
    }
    swan_error err = {{0}};
    char path[512];
    uint64_t off = 0, nbytes = 0;
    swan_dtype dt = SWAN_DT_BF16;
    swan_view2d v;
    int synthetic = atoll(argv[1]) > 0;
    if (synthetic) {
        uint64_t shape[2] = {(uint64_t)atoll(argv[1]), (uint64_t)atoll(argv[2])};
        snprintf(path, sizeof path, "/tmp/swan_kbench_%d.bin", (int)getpid());
        if (write_synthetic(path, shape[0], shape[1]) != 0) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
        nbytes = shape[0] * shape[1] * 2;
        swan_view2d_make(2, shape, &v);
    } else {
        snprintf(path, sizeof path, "%s", argv[1]);
        swan_st_header h;
        uint64_t fsize;
        if (swan_st_read_file(path, &h, &fsize, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        size_t i = 0;
        while (i < h.count && strcmp(h.entries[i].name, argv[2]) != 0) i++;
        if (i == h.count) {
            fprintf(stderr, "%s: no tensor %s\n", path, argv[2]);
            return 1;
        }
        off = h.data_start + h.entries[i].begin;
        nbytes = h.entries[i].end - h.entries[i].begin;
        dt = h.entries[i].dtype;
        swan_view2d_make(h.entries[i].ndim, h.entries[i].shape, &v);
        swan_st_header_free(&h);
    }
    swan_metrics_opts o;
    swan_metrics_default_opts(&o);
    o.prng_key = 42;
    if (argc > 3) o.max_block_bytes = (size_t)(atof(argv[3]) * 1048576.0);

    swan_tensor_reader tr;
    if (swan_tensor_reader_open(&tr, path, off, nbytes, dt, &v, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    swan_tile_reader r;
    swan_tensor_reader_as_tiles(&tr, &r);
    size_t rows = v.rows, cols = v.cols;
    size_t b = o.max_block_bytes / 4 / cols;
    if (b < 1) b = 1;
    int panels = rows < cols || (argc > 4 && strcmp(argv[4], "fused") == 0);
    if (panels) b = rows; /* phase timings below use row blocks only */
    printf("%zux%zu %s, max block %.1f MB\n", rows, cols, swan_dtype_name(dt),
           o.max_block_bytes / 1048576.0);
    float *tile = malloc((panels ? 1 : b) * cols * sizeof *tile);
    double t_read = 0, t_stats = 0, t_gen = 0, t_ux = 0, t_gram = 0;
    swan_stats st;
    swan_stats_init(&st);
    swan_gram g;
    if (swan_gram_init(&g, panels ? 1 : cols, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t p = 32, nb = 65536 / cols ? 65536 / cols : 1;
    float *x = malloc(cols * p * sizeof *x), *noise = malloc(nb * cols * sizeof *noise),
          *prod = malloc(nb * p * sizeof *prod);
    for (size_t i = 0; i < cols * p; i++) x[i] = 0.01f * (float)((i * 7919) % 200) - 1.0f;
    for (size_t r0 = 0; r0 < rows && !panels; r0 += b) {
        size_t nr = rows - r0 < b ? rows - r0 : b;
        double t0 = now();
        if (r.read_tile(r.ctx, r0, nr, 0, cols, tile, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double t1 = now();
        swan_stats_add_tile(&st, tile, nr, cols);
        double t2 = now();
        swan_gram_add_rows(&g, tile, nr);
        double t3 = now();
        for (size_t i = 0; i < nr; i += nb) {
            size_t m = nr - i < nb ? nr - i : nb;
            double a = now();
            swan_prng_uniform_centered(1, SWAN_STREAM_NOISE, (r0 + i) * cols, noise, m * cols);
            double bt = now();
            swan_blas_int pp = (swan_blas_int)p, nn = (swan_blas_int)cols, mm = (swan_blas_int)m;
            float one = 1, zero = 0;
            sgemm_("N", "N", &pp, &mm, &nn, &one, x, &pp, noise, &nn, &zero, prod, &pp, 1, 1);
            t_gen += bt - a;
            t_ux += now() - bt;
        }
        t_read += t1 - t0;
        t_stats += t2 - t1;
        t_gram += t3 - t2;
    }
    double t_eig = 0;
    if (!panels) {
        swan_gram_finish(&g);
        double c;
        uint32_t rank;
        double t0 = now();
        if (swan_gram_concentration(&g, o.exact_max, o.top_rank, &c, &rank, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t_eig = now() - t0;
        printf("phases: read+convert %.3f  stats %.3f  noise-gen %.3f  UX-sgemm %.3f  gram-syrk %.3f  "
               "eigen %.3f  (sum %.3f s)\n", t_read, t_stats, t_gen, t_ux, t_gram, t_eig,
               t_read + t_stats + t_gen + t_ux + t_gram + t_eig);
        printf("  per element: read %.2f ns, stats %.2f ns, noise %.2f ns\n", 1e9 * t_read / (rows * cols),
               1e9 * t_stats / (rows * cols), 1e9 * t_gen / (rows * cols));
    }
    swan_gram_free(&g);
    free(tile);
    free(x);
    free(noise);
    free(prod);

    swan_raw_metrics m;
    double t0 = now(), w0 = wall();
    if (swan_metrics_compute(&r, &o, &m, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("fused swan_metrics_compute: %.3f s cpu, %.3f s wall  (c %.5f k %.5f d %.5f e %.5f, method %u rank %u)\n",
           now() - t0, wall() - w0, m.svd_concentration, m.kurtosis, m.output_delta, m.rtn_nrmse,
           m.spectral_method, m.spectral_rank);
    printf("peak RSS %.1f MB\n", peak_rss_kb() / 1024.0);
    swan_tensor_reader_close(&tr);
    if (synthetic) unlink(path);
    return 0;
}
