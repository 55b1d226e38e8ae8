/* test_kernels_quantize.c: worker/quantize.c places every byte of a quantized matrix
 * where MLX stores it whatever the block it works in: whole-row blocks and, for rows
 * longer than the block, panels of whole groups of one row give the same file as the
 * groups quantized and packed one by one in row order, never reading a tile larger
 * than the block (common/mlx_affine.c, itself
 * checked against an independent reference in test_kernels_mlx_affine.c), for all six
 * widths, three group sizes and the three scale dtypes; a non-finite value is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/mlx_affine.h"
#include "worker/quantize.h"

#define ROWS 5
#define COLS 384

static int temp_file(void) {
    char path[] = "/tmp/swan-quantize-test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static void read_all(int fd, unsigned char *buf, size_t n) {
    assert_int_equal(pread(fd, buf, n, 0), (ssize_t)n);
}

/* Stores x in dt little-endian (as the kernel stores scales and biases). */
static size_t put(swan_dtype dt, float x, unsigned char *out) {
    if (dt == SWAN_DT_F32) {
        memcpy(out, &x, 4);
        return 4;
    }
    uint16_t h = dt == SWAN_DT_F16 ? swan_f32_to_f16_bits(x) : swan_f32_to_bf16_bits(x);
    out[0] = (unsigned char)h;
    out[1] = (unsigned char)(h >> 8);
    return 2;
}

/* A reader that refuses tiles bigger than the block the kernel was given. */
typedef struct bounded {
    swan_tile_reader inner;
    uint64_t max_floats;
} bounded;
static int bounded_read(void *ctx, uint64_t r0, uint64_t nr, uint64_t c0, uint64_t nc, float *dst,
                        swan_error *err) {
    bounded *b = ctx;
    if (nr * nc > b->max_floats) return swan_error_set(err, "tile of %llu floats over the bound", (unsigned long long)(nr * nc));
    return b->inner.read_tile(b->inner.ctx, r0, nr, c0, nc, dst, err);
}

static void test_blocks_and_panels(void **state) {
    (void)state;
    static float w[ROWS * COLS];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < ROWS * COLS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        w[i] = (float)((int64_t)(x >> 11) % 100000) / 25000.0f; /* [-4, 4] */
    }
    bounded bd;
    swan_tile_reader_from_array(&bd.inner, w, ROWS, COLS);
    swan_tile_reader rd = {ROWS, COLS, bounded_read, &bd, NULL};
    const swan_dtype dts[3] = {SWAN_DT_BF16, SWAN_DT_F16, SWAN_DT_F32};
    /* whole matrix, 2 rows, 1 row, panels of 2 groups, panels of one 32-group */
    const size_t blocks[5] = {1 << 20, 2 * COLS * 4, COLS * 4, 256 * 4, 40 * 4};
    for (int bi = 0; bi < SWAN_MLX_NBITS; bi++)
        for (int gi = 0; gi < SWAN_MLX_NGROUPS; gi++)
            for (int d = 0; d < 3; d++) {
                int bits = swan_mlx_bits[bi], g = swan_mlx_groups[gi];
                size_t wb = (size_t)swan_quant_weight_bytes(ROWS, COLS, bits);
                size_t sb = (size_t)swan_quant_scale_bytes(ROWS, COLS, g, dts[d]);
                size_t total = wb + 2 * sb + 16;
                unsigned char *want = calloc(1, total), *got = malloc(total);
                assert_non_null(want);
                assert_non_null(got);
                unsigned char *wp = want + 16, *sp = want + 16 + wb, *bp = want + 16 + wb + sb;
                for (size_t i = 0; i < ROWS * COLS; i += (size_t)g) {
                    uint8_t q[SWAN_MLX_MAX_GROUP];
                    float s, b;
                    swan_mlx_quantize_group(w + i, g, bits, q, &s, &b);
                    swan_mlx_pack(q, (size_t)g, bits, wp);
                    wp += (size_t)g * (size_t)bits / 8;
                    sp += put(dts[d], s, sp);
                    bp += put(dts[d], b, bp);
                }
                for (int k = 0; k < 5; k++) {
                    int fd = temp_file();
                    assert_int_equal(ftruncate(fd, (off_t)total), 0);
                    swan_qfile qf = {fd, {16, 16 + wb, 16 + wb + sb}};
                    swan_qsink dst;
                    swan_qsink_file(&dst, &qf);
                    swan_error err = {{0}};
                    /* the block, or one group when the block is smaller than a group */
                    bd.max_floats = blocks[k] / 4 > (size_t)g ? blocks[k] / 4 : (size_t)g;
                    if (swan_quantize_matrix(&rd, bits, g, dts[d], &dst, blocks[k], &err))
                        fail_msg("bits %d g %d: %s", bits, g, err.msg);
                    read_all(fd, got, total);
                    close(fd);
                    if (memcmp(got, want, total) != 0)
                        fail_msg("bits %d group %d dtype %d block %zu bytes: file differs", bits, g, d,
                                 blocks[k]);
                }
                free(want);
                free(got);
            }
}

static void test_nonfinite_refused(void **state) {
    (void)state;
    static float w[2 * 64];
    for (int i = 0; i < 128; i++) w[i] = (float)i / 64.0f;
    w[100] = 1.0f / 0.0f;
    swan_tile_reader rd;
    swan_tile_reader_from_array(&rd, w, 2, 64);
    int fd = temp_file();
    swan_qfile qf = {fd, {0, 4096, 8192}};
    swan_qsink dst;
    swan_qsink_file(&dst, &qf);
    swan_error err = {{0}};
    assert_int_not_equal(swan_quantize_matrix(&rd, 4, 32, SWAN_DT_BF16, &dst, 32 * 4, &err), 0);
    assert_non_null(strstr(err.msg, "row 1"));
    close(fd);
}

/* The sink gets each part's bytes in order, without gaps or overlaps, and exactly
 * the part's size: what a worker's QCHUNKs promise (docs/protocol.md "Quantizing"). */
typedef struct order_sink {
    uint64_t next[3];
    size_t calls;
} order_sink;

static int order_put(void *ctx, int part, uint64_t offset, const void *data, size_t n, swan_error *err) {
    (void)data, (void)err;
    order_sink *o = ctx;
    assert_true(part >= 0 && part < 3);
    if (offset != o->next[part]) fail_msg("part %d: bytes at %llu, %llu expected", part,
                                          (unsigned long long)offset, (unsigned long long)o->next[part]);
    assert_true(n > 0);
    o->next[part] += n;
    o->calls++;
    return 0;
}

static void test_sink_order(void **state) {
    (void)state;
    static float w[ROWS * COLS];
    for (size_t i = 0; i < ROWS * COLS; i++) w[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    swan_tile_reader rd;
    swan_tile_reader_from_array(&rd, w, ROWS, COLS);
    const size_t blocks[4] = {1 << 20, COLS * 4, 64 * 4, 32 * 4}; /* rows, one row, panels */
    for (int k = 0; k < 4; k++)
        for (int g = 32; g <= 128; g *= 2) {
            order_sink o = {{0, 0, 0}, 0};
            swan_qsink sink = {order_put, &o};
            swan_error err = {{0}};
            assert_int_equal(swan_quantize_matrix(&rd, 3, g, SWAN_DT_F16, &sink, blocks[k], &err), 0);
            assert_true(o.next[0] == swan_quant_weight_bytes(ROWS, COLS, 3));
            assert_true(o.next[1] == swan_quant_scale_bytes(ROWS, COLS, g, SWAN_DT_F16));
            assert_true(o.next[2] == o.next[1]);
            assert_true(o.calls >= 3);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_order),
        cmocka_unit_test(test_blocks_and_panels),
        cmocka_unit_test(test_nonfinite_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
