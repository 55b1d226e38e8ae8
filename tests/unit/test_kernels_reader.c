/* test_kernels_reader.c: tensor_reader tiles equal the direct conversion.
 *
 * Writes tensors of every analyzed dtype into a temp file behind an odd-sized prefix
 * (so tiles start at unaligned offsets inside pages), including a packed 3-D expert
 * tensor whose 2-D view has 4 segments, reads row blocks and column panels through
 * the tile interface, and compares with swan_convert_to_f32 of the expected rows.
 * Also: bounds checks at open, metrics through the file equal metrics through
 * the in-memory reader, and the data checksum hashed during the metric pass equals
 * the definition computed directly from the file, whatever the tiling. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/dtype.h"
#include "common/formats/fp8.h"
#include "common/hash.h"
#include "common/prng.h"
#include "common/view2d.h"
#include "worker/metrics.h"
#include "worker/tensor_reader.h"

#define PREFIX 4099 /* bytes before the tensor: not a multiple of the page size */

/* Encodes float values as dtype dt (little-endian), exactly representable ones. */
static void encode(swan_dtype dt, const float *v, size_t n, unsigned char *out) {
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &v[i], 4);
        if (dt == SWAN_DT_F32) {
            memcpy(out + 4 * i, &v[i], 4);
        } else if (dt == SWAN_DT_F64) {
            double d = v[i];
            memcpy(out + 8 * i, &d, 8);
        } else if (dt == SWAN_DT_BF16) {
            uint16_t h = (uint16_t)(b >> 16); /* values below have <= 8 mantissa bits */
            memcpy(out + 2 * i, &h, 2);
        } else { /* F16 of a value that fits: sign, exponent rebias, 10 mantissa bits */
            uint32_t sign = (b >> 16) & 0x8000u, exp = (b >> 23) & 0xffu, man = b & 0x7fffffu;
            uint16_t h = (uint16_t)(v[i] == 0.0f ? sign : sign | ((exp - 112u) << 10) | (man >> 13));
            memcpy(out + 2 * i, &h, 2);
        }
    }
}

/* Values exact in every dtype: k/64 for small integers k, never 0 exponent edge. */
static float value_at(size_t i) { return (float)((long)((i * 2654435761u) % 511) - 255) / 64.0f; }

typedef struct fixture {
    char path[256];
    swan_dtype dt;
    uint64_t shape[3];
    int ndim;
    size_t nelem;
    float *values; /* the whole tensor, as stored, in float */
} fixture;

static void write_fixture(fixture *f, swan_dtype dt, int ndim, const uint64_t *shape) {
    f->dt = dt;
    f->ndim = ndim;
    f->nelem = 1;
    for (int i = 0; i < ndim; i++) f->shape[i] = shape[i], f->nelem *= shape[i];
    snprintf(f->path, sizeof f->path, "/tmp/swan_test_reader_%d_%d.bin", (int)getpid(), (int)dt);
    f->values = malloc(f->nelem * sizeof(float));
    for (size_t i = 0; i < f->nelem; i++) f->values[i] = value_at(i);
    size_t es = swan_dtype_size(dt);
    unsigned char *bytes = malloc(f->nelem * es);
    encode(dt, f->values, f->nelem, bytes);
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    unsigned char junk[PREFIX];
    memset(junk, 0xAB, sizeof junk);
    assert_int_equal(fwrite(junk, 1, PREFIX, fp), PREFIX);
    assert_int_equal(fwrite(bytes, es, f->nelem, fp), f->nelem);
    fputs("trailing", fp);
    fclose(fp);
    free(bytes);
}

static void drop_fixture(fixture *f) {
    unlink(f->path);
    free(f->values);
}

/* The float row `r` of the view, straight from the stored values. */
static const float *view_row(const fixture *f, const swan_view2d *v, uint64_t r) {
    for (uint32_t s = 0; s < v->nseg; s++) {
        if (r < v->seg[s].rows) return f->values + v->seg[s].first_elem + r * v->cols;
        r -= v->seg[s].rows;
    }
    return NULL;
}

static void check_tiles(const fixture *f) {
    swan_view2d v;
    assert_int_equal(swan_view2d_make(f->ndim, f->shape, &v), SWAN_KIND_MATRIX);
    swan_tensor_reader tr;
    swan_error err = {{0}};
    size_t es = swan_dtype_size(f->dt);
    if (swan_tensor_reader_open(&tr, f->path, PREFIX, f->nelem * es, f->dt, &v, &err) != 0)
        fail_msg("%s", err.msg);
    swan_tile_reader r;
    swan_tensor_reader_as_tiles(&tr, &r);
    assert_int_equal(r.rows, v.rows);
    assert_int_equal(r.cols, v.cols);
    float *tile = malloc(v.rows * v.cols * sizeof *tile);
    /* row blocks of several sizes, crossing segment boundaries */
    uint64_t steps[3] = {1, 7, v.rows};
    for (int s = 0; s < 3; s++)
        for (uint64_t r0 = 0; r0 < v.rows; r0 += steps[s]) {
            uint64_t nr = v.rows - r0 < steps[s] ? v.rows - r0 : steps[s];
            if (r.read_tile(r.ctx, r0, nr, 0, v.cols, tile, &err) != 0) fail_msg("%s", err.msg);
            for (uint64_t i = 0; i < nr; i++)
                assert_memory_equal(tile + i * v.cols, view_row(f, &v, r0 + i), v.cols * sizeof(float));
        }
    /* column panels */
    for (uint64_t c0 = 0; c0 < v.cols; c0 += 128) {
        uint64_t nc = v.cols - c0 < 128 ? v.cols - c0 : 128;
        if (r.read_tile(r.ctx, 0, v.rows, c0, nc, tile, &err) != 0) fail_msg("%s", err.msg);
        for (uint64_t i = 0; i < v.rows; i++)
            assert_memory_equal(tile + i * nc, view_row(f, &v, i) + c0, nc * sizeof(float));
    }
    /* out of range is an error, not a crash */
    assert_int_equal(r.read_tile(r.ctx, v.rows - 1, 2, 0, v.cols, tile, &err), -1);
    free(tile);
    swan_tensor_reader_close(&tr);
}

static void test_dtypes_2d(void **state) {
    (void)state;
    swan_dtype dts[4] = {SWAN_DT_BF16, SWAN_DT_F16, SWAN_DT_F32, SWAN_DT_F64};
    uint64_t shape[2] = {45, 300};
    for (int i = 0; i < 4; i++) {
        fixture f;
        write_fixture(&f, dts[i], 2, shape);
        check_tiles(&f);
        drop_fixture(&f);
    }
}

static void test_experts_3d(void **state) {
    (void)state;
    swan_dtype dts[4] = {SWAN_DT_BF16, SWAN_DT_F16, SWAN_DT_F32, SWAN_DT_F64};
    uint64_t shape[3] = {6, 9, 260}; /* E = 6 > 4: experts 0, 1, 3, 5 -> 4 segments */
    for (int i = 0; i < 4; i++) {
        fixture f;
        write_fixture(&f, dts[i], 3, shape);
        swan_view2d v;
        assert_int_equal(swan_view2d_make(3, shape, &v), SWAN_KIND_MATRIX);
        assert_int_equal(v.nseg, 4);
        assert_int_equal(v.seg[2].first_elem, 3 * 9 * 260);
        check_tiles(&f);
        drop_fixture(&f);
    }
}

static void test_open_checks(void **state) {
    (void)state;
    fixture f;
    uint64_t shape[2] = {10, 200};
    write_fixture(&f, SWAN_DT_BF16, 2, shape);
    swan_view2d v;
    swan_view2d_make(2, shape, &v);
    swan_tensor_reader tr;
    swan_error err = {{0}};
    /* past the end of the file */
    assert_int_equal(swan_tensor_reader_open(&tr, f.path, PREFIX + 100, 4000 + 100, SWAN_DT_BF16,
                                             &v, &err), -1);
    assert_non_null(strstr(err.msg, f.path));
    /* view larger than the tensor bytes */
    assert_int_equal(swan_tensor_reader_open(&tr, f.path, PREFIX, 3000, SWAN_DT_BF16, &v, &err), -1);
    /* not a float dtype */
    assert_int_equal(swan_tensor_reader_open(&tr, f.path, PREFIX, 4000, SWAN_DT_I32, &v, &err), -1);
    /* missing file */
    assert_int_equal(swan_tensor_reader_open(&tr, "/nonexistent/x.safetensors", 0, 4000,
                                             SWAN_DT_BF16, &v, &err), -1);
    drop_fixture(&f);
}

static void test_metrics_through_file(void **state) {
    (void)state;
    fixture f;
    uint64_t shape[2] = {700, 330};
    write_fixture(&f, SWAN_DT_BF16, 2, shape);
    swan_view2d v;
    swan_view2d_make(2, shape, &v);
    swan_tensor_reader tr;
    swan_error err = {{0}};
    if (swan_tensor_reader_open(&tr, f.path, PREFIX, f.nelem * 2, SWAN_DT_BF16, &v, &err) != 0)
        fail_msg("%s", err.msg);
    swan_tile_reader rf, ra;
    swan_tensor_reader_as_tiles(&tr, &rf);
    swan_tile_reader_from_array(&ra, f.values, 700, 330);
    swan_metrics_opts o;
    swan_metrics_default_opts(&o);
    o.prng_key = 9;
    o.max_block_bytes = 100 * 330 * 4;
    swan_raw_metrics mf, ma;
    assert_int_equal(swan_metrics_compute(&rf, &o, &mf, &err), 0);
    assert_int_equal(swan_metrics_compute(&ra, &o, &ma, &err), 0);
    assert_true(mf.kurtosis == ma.kurtosis && mf.rtn_nrmse == ma.rtn_nrmse &&
                mf.svd_concentration == ma.svd_concentration &&
                mf.output_delta == ma.output_delta);
    swan_tensor_reader_close(&tr);
    drop_fixture(&f);
}

/* FP8 with 128x128 block scales, partial edge blocks in both directions: every tile
 * (row blocks, column panels starting inside a block) equals bf16(fp8 * scale) of the
 * right block; a grid that does not cover the tensor and a read without scales fail. */
static void check_fp8(swan_dtype dt, uint64_t rows, uint64_t cols, uint64_t bm, uint64_t bn) {
    uint64_t sr = (rows + bm - 1) / bm, sc = (cols + bn - 1) / bn, n = rows * cols;
    unsigned char *q = malloc(n);
    float *scales = malloc(sr * sc * sizeof *scales), *want = malloc(n * sizeof *want);
    for (uint64_t i = 0; i < n; i++) {
        q[i] = (uint8_t)((i * 2654435761u) >> 7);
        if (dt == SWAN_DT_F8_E4M3 && (q[i] & 0x7f) == 0x7f) q[i] ^= 1; /* no NaN */
        if (dt == SWAN_DT_F8_E5M2 && (q[i] & 0x7c) == 0x7c) q[i] ^= 0x40; /* no inf/NaN */
    }
    for (uint64_t i = 0; i < sr * sc; i++) scales[i] = 0.001f * (float)(i + 1) + 1.0f / 3.0f;
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++) {
            float v = dt == SWAN_DT_F8_E4M3 ? swan_fp8_e4m3_to_f32(q[r * cols + c])
                                            : swan_fp8_e5m2_to_f32(q[r * cols + c]);
            uint32_t h = (uint32_t)swan_f32_to_bf16_rne(v * scales[(r / bm) * sc + c / bn]) << 16;
            memcpy(&want[r * cols + c], &h, 4);
        }
    char path[256];
    snprintf(path, sizeof path, "/tmp/swan_test_reader_fp8_%d.bin", (int)getpid());
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    unsigned char junk[PREFIX];
    memset(junk, 0xAB, sizeof junk);
    assert_int_equal(fwrite(junk, 1, PREFIX, fp), PREFIX);
    assert_int_equal(fwrite(q, 1, n, fp), n);
    assert_int_equal(fwrite(scales, sizeof *scales, sr * sc, fp), sr * sc);
    fclose(fp);

    uint64_t shape[2] = {rows, cols};
    swan_view2d v;
    assert_int_equal(swan_view2d_make(2, shape, &v), SWAN_KIND_MATRIX);
    swan_tensor_reader tr;
    swan_error err = {{0}};
    if (swan_tensor_reader_open(&tr, path, PREFIX, n, dt, &v, &err)) fail_msg("%s", err.msg);
    swan_tile_reader r;
    swan_tensor_reader_as_tiles(&tr, &r);
    float *tile = malloc(n * sizeof *tile);
    assert_int_equal(r.read_tile(r.ctx, 0, 1, 0, cols, tile, &err), -1); /* no scales yet */
    assert_non_null(strstr(err.msg, "without its scales"));
    assert_int_equal(swan_tensor_reader_load_scales(&tr, path, PREFIX + n, SWAN_DT_F32, sr, sc + 1, bm,
                                                    bn, 2, shape, &err), -1);
    assert_non_null(strstr(err.msg, "does not cover"));
    assert_int_equal(swan_tensor_reader_load_scales(&tr, path, PREFIX + n + 4, SWAN_DT_F32, sr, sc, bm,
                                                    bn, 2, shape, &err), -1);
    assert_non_null(strstr(err.msg, "extend past the file end"));
    /* Hostile task fields: a block size that would wrap the grid arithmetic, a shape
     * that does not match the tensor's bytes. */
    assert_int_equal(swan_tensor_reader_load_scales(&tr, path, PREFIX + n, SWAN_DT_F32, 1, 1, UINT64_MAX,
                                                    UINT64_MAX, 2, shape, &err), 0);
    swan_tensor_reader_close(&tr); /* (a 1x1 grid covering all is legitimate; reopen) */
    if (swan_tensor_reader_open(&tr, path, PREFIX, n, dt, &v, &err)) fail_msg("%s", err.msg);
    assert_int_equal(swan_tensor_reader_load_scales(&tr, path, PREFIX + n, SWAN_DT_F32, 0, 0, UINT64_MAX,
                                                    UINT64_MAX, 2, shape, &err), -1);
    uint64_t wrong[2] = {rows + 1, cols};
    assert_int_equal(swan_tensor_reader_load_scales(&tr, path, PREFIX + n, SWAN_DT_F32, sr, sc, bm, bn, 2,
                                                    wrong, &err), -1);
    assert_non_null(strstr(err.msg, "the shape holds"));
    if (swan_tensor_reader_load_scales(&tr, path, PREFIX + n, SWAN_DT_F32, sr, sc, bm, bn, 2, shape, &err))
        fail_msg("%s", err.msg);
    uint64_t steps[3] = {1, 77, rows};
    for (int s = 0; s < 3; s++)
        for (uint64_t r0 = 0; r0 < rows; r0 += steps[s]) {
            uint64_t nr = rows - r0 < steps[s] ? rows - r0 : steps[s];
            if (r.read_tile(r.ctx, r0, nr, 0, cols, tile, &err)) fail_msg("%s", err.msg);
            assert_memory_equal(tile, want + r0 * cols, nr * cols * sizeof(float));
        }
    for (uint64_t c0 = 0; c0 < cols; c0 += 100) { /* panels starting inside blocks */
        uint64_t nc = cols - c0 < 100 ? cols - c0 : 100;
        if (r.read_tile(r.ctx, 3, rows - 3, c0, nc, tile, &err)) fail_msg("%s", err.msg);
        for (uint64_t i = 0; i < rows - 3; i++)
            assert_memory_equal(tile + i * nc, want + (i + 3) * cols + c0, nc * sizeof(float));
    }
    swan_tensor_reader_close(&tr);
    unlink(path);
    free(tile);
    free(q);
    free(scales);
    free(want);
}

static void test_fp8_block_scales(void **state) {
    (void)state;
    check_fp8(SWAN_DT_F8_E4M3, 300, 520, 128, 128);
    check_fp8(SWAN_DT_F8_E5M2, 256, 384, 128, 128);
    check_fp8(SWAN_DT_F8_E4M3, 200, 136, 200, 136); /* one per-tensor scale */
    check_fp8(SWAN_DT_F8_E4M3, 64, 96, 1, 32);      /* odd block shapes */
}

/* The data checksum by its definition (tensor_reader.h), from the file bytes. */
static uint64_t reference_hash(const fixture *f, const swan_view2d *v) {
    size_t es = swan_dtype_size(f->dt);
    FILE *fp = fopen(f->path, "rb");
    assert_non_null(fp);
    unsigned char *all = malloc(PREFIX + f->nelem * es);
    assert_int_equal(fread(all, 1, PREFIX + f->nelem * es, fp), PREFIX + f->nelem * es);
    fclose(fp);
    uint64_t per_row = (v->cols + 127) / 128, sum = 0, row = 0;
    for (uint32_t s = 0; s < v->nseg; s++)
        for (uint64_t r = 0; r < v->seg[s].rows; r++, row++)
            for (uint64_t g = 0; g < per_row; g++) {
                uint64_t c0 = g * 128, n = v->cols - c0 < 128 ? v->cols - c0 : 128;
                const unsigned char *p = all + PREFIX + (v->seg[s].first_elem + r * v->cols + c0) * es;
                sum += swan_xxh64(p, (size_t)(n * es), row * per_row + g);
            }
    free(all);
    return sum;
}

/* Metrics through the file with the given tile budget and spectral limit; returns
 * the checksum the reader built during that pass. */
static uint64_t hash_during_metrics(const fixture *f, const swan_view2d *v, size_t block,
                                    uint32_t gram_max) {
    swan_tensor_reader tr;
    swan_error err = {{0}};
    if (swan_tensor_reader_open(&tr, f->path, PREFIX, f->nelem * swan_dtype_size(f->dt), f->dt, v,
                                &err) != 0)
        fail_msg("%s", err.msg);
    swan_tile_reader r;
    swan_tensor_reader_as_tiles(&tr, &r);
    swan_metrics_opts o;
    swan_metrics_default_opts(&o);
    o.max_block_bytes = block;
    o.gram_max = gram_max;
    o.top_rank = 8;
    o.oversample = 4;
    swan_raw_metrics m;
    if (swan_metrics_compute(&r, &o, &m, &err) != 0) fail_msg("%s", err.msg);
    /* Covered by the pass itself: no second read was needed. */
    assert_true(tr.hashed_rows == v->rows || tr.hashed_cols == v->cols);
    uint64_t h = 0;
    assert_int_equal(swan_tensor_reader_data_hash(&tr, &h, &err), 0);
    uint64_t again = 1;
    assert_int_equal(swan_tensor_reader_hash_all(&tr, &again, &err), 0);
    assert_true(again == h);
    swan_tensor_reader_close(&tr);
    return h;
}

static void test_data_hash(void **state) {
    (void)state;
    static const struct {
        swan_dtype dt;
        int ndim;
        uint64_t shape[3];
    } cases[] = {
        {SWAN_DT_BF16, 2, {700, 330, 0}}, /* row blocks */
        {SWAN_DT_F32, 2, {130, 700, 0}},  /* column panels, last group of a row short */
        {SWAN_DT_F16, 3, {16, 40, 200}},  /* packed experts: 4 segments */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        fixture f;
        write_fixture(&f, cases[k].dt, cases[k].ndim, cases[k].shape);
        swan_view2d v;
        assert_int_equal(swan_view2d_make(f.ndim, f.shape, &v), SWAN_KIND_MATRIX);
        uint64_t want = reference_hash(&f, &v);
        /* Several tilings, exact Gram and the multi-pass randomized method. */
        size_t blocks[] = {1, 64 * 1024, 300 * 1024, 64u << 20};
        for (size_t b = 0; b < 4; b++) {
            assert_true(hash_during_metrics(&f, &v, blocks[b], 4096) == want);
            assert_true(hash_during_metrics(&f, &v, blocks[b], 16) == want);
        }
        /* One flipped bit anywhere in the view changes it. */
        FILE *fp = fopen(f.path, "r+b");
        assert_non_null(fp);
        size_t es = swan_dtype_size(f.dt);
        uint64_t at = PREFIX + (v.seg[v.nseg - 1].first_elem + v.cols * v.seg[v.nseg - 1].rows - 1) * es;
        fseek(fp, (long)at, SEEK_SET);
        int c = fgetc(fp);
        fseek(fp, (long)at, SEEK_SET);
        fputc(c ^ 0x10, fp);
        fclose(fp);
        assert_true(reference_hash(&f, &v) != want);
        assert_true(hash_during_metrics(&f, &v, 64 * 1024, 4096) == reference_hash(&f, &v));
        drop_fixture(&f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp8_block_scales),
        cmocka_unit_test(test_dtypes_2d),
        cmocka_unit_test(test_experts_3d),
        cmocka_unit_test(test_open_checks),
        cmocka_unit_test(test_metrics_through_file),
        cmocka_unit_test(test_data_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
