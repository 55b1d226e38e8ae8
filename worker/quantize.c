/* quantize.c: MLX-packed quantization of one matrix, row block by row block (see
 * quantize.h). The per-group arithmetic is common/mlx_affine.c's, the one the error
 * measurement of the metric pass uses, so what swan measures is what it writes. */
#include "worker/quantize.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mlx_affine.h"

uint64_t swan_quant_weight_bytes(uint64_t rows, uint64_t cols, int bits) {
    return rows * (cols * (uint64_t)bits / 32) * 4;
}

uint64_t swan_quant_scale_bytes(uint64_t rows, uint64_t cols, int group, swan_dtype dt) {
    return rows * (cols / (uint64_t)group) * (dt == SWAN_DT_F32 ? 4 : 2);
}

static int file_put(void *ctx, int part, uint64_t offset, const void *data, size_t n,
                    swan_error *err) {
    const swan_qfile *f = ctx;
    const char *p = data;
    uint64_t at = f->off[part] + offset;
    while (n > 0) {
        ssize_t w = pwrite(f->fd, p, n, (off_t)at);
        if (w < 0) {
            if (errno == EINTR) continue;
            return swan_error_set(err, "write failed: %s", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    return 0;
}

void swan_qsink_file(swan_qsink *sink, swan_qfile *f) {
    sink->put = file_put;
    sink->ctx = f;
}

/* Stores x as dt, little-endian, at out; returns the byte count. */
static size_t store_dtype(swan_dtype dt, float x, unsigned char *out) {
    if (dt == SWAN_DT_F32) {
        uint32_t u;
        memcpy(&u, &x, 4);
        for (int k = 0; k < 4; k++) out[k] = (unsigned char)(u >> (8 * k));
        return 4;
    }
    uint16_t h = dt == SWAN_DT_F16 ? swan_f32_to_f16_bits(x) : swan_f32_to_bf16_bits(x);
    out[0] = (unsigned char)h;
    out[1] = (unsigned char)(h >> 8);
    return 2;
}

int swan_quantize_matrix(const swan_tile_reader *rd, int bits, int group, swan_dtype dt,
                         const swan_qsink *sink, size_t max_block_bytes, swan_error *err) {
    uint64_t rows = rd->rows, cols = rd->cols;
    if (swan_mlx_bits_index(bits) < 0 || swan_mlx_group_index(group) < 0)
        return swan_error_set(err, "quantize: %d bits with group size %d is not an MLX width", bits,
                              group);
    if (cols == 0 || cols % (uint64_t)group)
        return swan_error_set(err, "quantize: %llu columns are not a multiple of the group size %d",
                              (unsigned long long)cols, group);
    if (dt != SWAN_DT_BF16 && dt != SWAN_DT_F16 && dt != SWAN_DT_F32)
        return swan_error_set(err, "quantize: scales cannot be stored as %s", swan_dtype_name(dt));
    /* A block of whole rows when one row fits in max_block_bytes; otherwise one row at
     * a time in panels of whole groups (a multiple of 32 values, so a panel starts on a
     * packing run and its bytes start on a byte), so memory is bounded whatever the
     * row length. */
    uint64_t max_floats = max_block_bytes / sizeof(float);
    uint64_t panel = cols, block = 1;
    if (cols <= max_floats) {
        block = max_floats / cols;
        if (block > rows) block = rows;
    } else {
        panel = max_floats / (uint64_t)group * (uint64_t)group;
        if (panel < (uint64_t)group) panel = (uint64_t)group;
    }
    size_t wrow = (size_t)swan_quant_weight_bytes(1, cols, bits);
    size_t srow = (size_t)swan_quant_scale_bytes(1, cols, group, dt);
    size_t wpan = (size_t)swan_quant_weight_bytes(1, panel, bits);
    size_t span = (size_t)swan_quant_scale_bytes(1, panel, group, dt);
    float *tile = malloc((size_t)(block * panel) * sizeof *tile);
    unsigned char *wbuf = malloc((size_t)block * wpan), *sbuf = malloc((size_t)block * span),
                  *bbuf = malloc((size_t)block * span);
    int rc = 0;
    if (!tile || !wbuf || !sbuf || !bbuf) {
        rc = swan_error_set(err, "quantize: out of memory for a %llu x %llu block",
                            (unsigned long long)block, (unsigned long long)panel);
        goto done;
    }
    for (uint64_t r0 = 0; r0 < rows && rc == 0; r0 += block) {
        size_t nr = (size_t)(rows - r0 < block ? rows - r0 : block);
        for (uint64_t c0 = 0; c0 < cols && rc == 0; c0 += panel) {
            size_t nc = (size_t)(cols - c0 < panel ? cols - c0 : panel);
            if (rd->read_tile(rd->ctx, r0, nr, c0, nc, tile, err) != 0) {
                rc = -1;
                break;
            }
            unsigned char *wp = wbuf, *sp = sbuf, *bp = bbuf;
            for (size_t i = 0; i < nr * nc; i += (size_t)group) {
                uint8_t q[SWAN_MLX_MAX_GROUP];
                float s, b;
                for (int k = 0; k < group; k++)
                    if (!isfinite(tile[i + (size_t)k])) {
                        rc = swan_error_set(err, "quantize: row %llu holds a non-finite value",
                                            (unsigned long long)(r0 + i / nc));
                        goto done;
                    }
                swan_mlx_quantize_group(tile + i, group, bits, q, &s, &b);
                swan_mlx_pack(q, (size_t)group, bits, wp);
                wp += (size_t)group * (size_t)bits / 8;
                sp += store_dtype(dt, s, sp);
                bp += store_dtype(dt, b, bp);
            }
            /* whole rows (nc == cols) or one row's panel: contiguous in each tensor */
            size_t wn = (size_t)(wp - wbuf), sn = (size_t)(sp - sbuf);
            uint64_t wat = r0 * wrow + c0 * (uint64_t)bits / 8;
            uint64_t sat = r0 * srow + swan_quant_scale_bytes(1, c0, group, dt);
            if (sink->put(sink->ctx, SWAN_QSINK_WEIGHT, wat, wbuf, wn, err) ||
                sink->put(sink->ctx, SWAN_QSINK_SCALES, sat, sbuf, sn, err) ||
                sink->put(sink->ctx, SWAN_QSINK_BIASES, sat, bbuf, sn, err)) {
                rc = -1;
                break;
            }
        }
    }
done:
    free(tile);
    free(wbuf);
    free(sbuf);
    free(bbuf);
    return rc;
}
