/* tensor_reader.c: tiles of a tensor's stored bytes, as float32.
 *
 * The metric kernels (metrics.c) ask for one tile at a time. A tile of whole rows
 * (a row block) is a contiguous byte range per view segment: we ask the byte source
 * for a view of exactly that range (a mapped window of the shard, or the assembled
 * chunks of a stream), convert to float32 and release it at once, so the resident
 * set never holds more than one tile's bytes whatever the tensor size. A column
 * panel (some columns of many rows) is scattered: the source gathers the runs of
 * each row into a bounce buffer the size of the panel, bounded like the tile itself.
 * Packed 3-D experts (view2d.h) make a view of up to 4 segments; a view row is
 * located by walking them. */
#include "worker/tensor_reader.h"

#include "common/formats/fp8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/regular_file.h"

typedef unsigned long long ull;

/* What every reader checks whatever its source: a dtype it can read, a view whose
 * segments lie inside the tensor's nbytes. */
static int reader_setup(swan_tensor_reader *tr, const char *label, uint64_t data_offset,
                        uint64_t nbytes, swan_dtype dtype, const swan_view2d *view,
                        swan_error *err) {
    memset(tr, 0, sizeof *tr);
    tr->fd = -1;
    tr->owns_fd = false;
    size_t esize = swan_dtype_size(dtype);
    if (!swan_dtype_is_analyzed(dtype) && !swan_dtype_is_fp8(dtype))
        return swan_error_set(err, "%s: dtype %s cannot be read as float", label,
                              swan_dtype_name(dtype));
    if (view->nseg < 1 || view->nseg > SWAN_VIEW_MAX_SEGMENTS || view->cols == 0)
        return swan_error_set(err, "%s: tensor at byte %llu has an empty 2-D view", label,
                              (ull)data_offset);
    uint64_t nelem = nbytes / esize, seg_rows = 0;
    for (uint32_t s = 0; s < view->nseg; s++) {
        uint64_t first = view->seg[s].first_elem, rows = view->seg[s].rows;
        if (rows > nelem / view->cols || first > nelem - rows * view->cols)
            return swan_error_set(err, "%s: tensor at byte %llu: view segment %u lies outside its %llu bytes",
                                  label, (ull)data_offset, (unsigned)s, (ull)nbytes);
        seg_rows += rows;
    }
    if (seg_rows != view->rows)
        return swan_error_set(err, "%s: tensor at byte %llu: view segments hold %llu rows, view says %llu",
                              label, (ull)data_offset, (ull)seg_rows, (ull)view->rows);
    tr->nelem = nelem;
    tr->data_offset = data_offset;
    tr->dtype = dtype;
    tr->view = *view;
    return 0;
}

int swan_tensor_reader_open_fd(swan_tensor_reader *tr, int fd, uint64_t file_size,
                               const char *path, uint64_t data_offset, uint64_t nbytes,
                               swan_dtype dtype, const swan_view2d *view, swan_error *err) {
    if (reader_setup(tr, path, data_offset, nbytes, dtype, view, err)) return -1;
    if (data_offset > file_size || nbytes > file_size - data_offset)
        return swan_error_set(err, "%s: tensor bytes [%llu, %llu) extend past the file end %llu",
                              path, (ull)data_offset, (ull)data_offset + (ull)nbytes,
                              (ull)file_size);
    tr->fd = fd;
    swan_file_source_init(&tr->file, &tr->src, fd, data_offset);
    return 0;
}

int swan_tensor_reader_open_source(swan_tensor_reader *tr, const swan_byte_source *src,
                                   const char *label, uint64_t data_offset, uint64_t nbytes,
                                   swan_dtype dtype, const swan_view2d *view, swan_error *err) {
    if (reader_setup(tr, label, data_offset, nbytes, dtype, view, err)) return -1;
    tr->src = *src;
    return 0;
}

int swan_tensor_reader_open(swan_tensor_reader *tr, const char *path, uint64_t data_offset,
                            uint64_t nbytes, swan_dtype dtype, const swan_view2d *view,
                            swan_error *err) {
    tr->fd = -1;
    struct stat st;
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    if (swan_tensor_reader_open_fd(tr, fd, (uint64_t)st.st_size, path, data_offset, nbytes, dtype,
                                   view, err)) {
        close(fd);
        return -1;
    }
    tr->owns_fd = true;
    return 0;
}

void swan_tensor_reader_close(swan_tensor_reader *tr) {
    if (tr->fd >= 0 && tr->owns_fd) close(tr->fd);
    tr->fd = -1;
    free(tr->scales);
    tr->scales = NULL;
}

/* Largest scale grid accepted: 16M scales (64 MiB of float32) is a 2-Tera-element
 * tensor in 128x128 blocks, far beyond any real weight. */
#define MAX_SCALES (1ull << 24)

/* Checks that a scale_rows x scale_cols grid in blocks of block_rows x block_cols
 * covers the tensor of the given shape; *n is the number of scales. */
static int scales_check(const swan_tensor_reader *tr, const char *label, swan_dtype scale_dtype,
                        uint64_t scale_rows, uint64_t scale_cols, uint64_t block_rows,
                        uint64_t block_cols, int ndim, const uint64_t *shape, uint64_t *n,
                        swan_error *err) {
    /* The shape must account for exactly the tensor's bytes: every element index read
     * is then below nelem, so its block (r / block_rows, c / block_cols) is inside the
     * checked grid. */
    uint64_t nelem = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] && nelem > UINT64_MAX / shape[d]) { nelem = 0; break; }
        nelem *= shape[d];
    }
    if (nelem != tr->nelem)
        return swan_error_set(err, "%s: the shape holds %llu elements, the tensor's bytes %llu",
                              label, (ull)nelem, (ull)tr->nelem);
    uint64_t W = ndim > 0 ? shape[ndim - 1] : 1, R = W ? nelem / W : 0;
    if (!swan_dtype_is_fp8(tr->dtype))
        return swan_error_set(err, "%s: scales given for a %s tensor", label,
                              swan_dtype_name(tr->dtype));
    if (scale_dtype != SWAN_DT_F32 && scale_dtype != SWAN_DT_BF16 && scale_dtype != SWAN_DT_F16)
        return swan_error_set(err, "%s: scale dtype %s is not F32, BF16 or F16", label,
                              swan_dtype_name(scale_dtype));
    if (block_rows == 0 || block_cols == 0 || W == 0 || R == 0 ||
        scale_rows != R / block_rows + (R % block_rows != 0) ||
        scale_cols != W / block_cols + (W % block_cols != 0) || scale_rows > MAX_SCALES ||
        scale_cols > MAX_SCALES || scale_rows * scale_cols > MAX_SCALES)
        return swan_error_set(err, "%s: a %llux%llu scale grid in blocks of %llux%llu does not "
                                   "cover a %llux%llu tensor",
                              label, (ull)scale_rows, (ull)scale_cols, (ull)block_rows,
                              (ull)block_cols, (ull)R, (ull)W);
    *n = scale_rows * scale_cols;
    return 0;
}

/* Reads the n scales from part SWAN_SRC_SCALES of the byte source, converts them and
 * keeps them (with their checksum) in tr. */
static int scales_take(swan_tensor_reader *tr, const char *label, swan_dtype scale_dtype, uint64_t n,
                       uint64_t scale_rows, uint64_t scale_cols, uint64_t block_rows,
                       uint64_t block_cols, uint64_t row_len, swan_error *err) {
    uint64_t nbytes = n * swan_dtype_size(scale_dtype);
    unsigned char *raw = malloc((size_t)nbytes);
    tr->scales = malloc((size_t)n * sizeof(float));
    int rc = 0;
    if (!raw || !tr->scales)
        rc = swan_error_set(err, "%s: out of memory for %llu scales", label, (ull)n);
    else if (tr->src.gather(tr->src.ctx, SWAN_SRC_SCALES, 0, nbytes, nbytes, 1, raw, err))
        rc = swan_error_prefix(err, "%s: reading the scales failed", label);
    if (rc == 0) {
        swan_convert_to_f32(scale_dtype, raw, tr->scales, (size_t)n);
        tr->scales_hash = swan_xxh64(raw, (size_t)nbytes, UINT64_MAX);
        tr->scale_rows = scale_rows;
        tr->scale_cols = scale_cols;
        tr->block_rows = block_rows;
        tr->block_cols = block_cols;
        tr->row_len = row_len;
    } else {
        free(tr->scales);
        tr->scales = NULL;
    }
    free(raw);
    return rc;
}

int swan_tensor_reader_load_scales(swan_tensor_reader *tr, const char *scale_path,
                                   uint64_t scale_offset, swan_dtype scale_dtype,
                                   uint64_t scale_rows, uint64_t scale_cols, uint64_t block_rows,
                                   uint64_t block_cols, int ndim, const uint64_t *shape,
                                   swan_error *err) {
    uint64_t n;
    if (scales_check(tr, scale_path, scale_dtype, scale_rows, scale_cols, block_rows, block_cols,
                     ndim, shape, &n, err))
        return -1;
    uint64_t nbytes = n * swan_dtype_size(scale_dtype);
    struct stat st;
    int fd = swan_open_regular(scale_path, &st, err);
    if (fd < 0) return -1;
    int rc;
    if (scale_offset > (uint64_t)st.st_size || nbytes > (uint64_t)st.st_size - scale_offset) {
        rc = swan_error_set(err, "%s: scales [%llu, %llu) extend past the file end %llu", scale_path,
                            (ull)scale_offset, (ull)(scale_offset + nbytes), (ull)st.st_size);
    } else {
        swan_file_source_set_scales(&tr->file, fd, scale_offset);
        rc = scales_take(tr, scale_path, scale_dtype, n, scale_rows, scale_cols, block_rows,
                         block_cols, shape[ndim - 1], err);
        swan_file_source_set_scales(&tr->file, -1, 0);
    }
    close(fd);
    return rc;
}

int swan_tensor_reader_load_scales_source(swan_tensor_reader *tr, const char *label,
                                          swan_dtype scale_dtype, uint64_t scale_rows,
                                          uint64_t scale_cols, uint64_t block_rows,
                                          uint64_t block_cols, int ndim, const uint64_t *shape,
                                          swan_error *err) {
    uint64_t n;
    if (scales_check(tr, label, scale_dtype, scale_rows, scale_cols, block_rows, block_cols, ndim,
                     shape, &n, err))
        return -1;
    return scales_take(tr, label, scale_dtype, n, scale_rows, scale_cols, block_rows, block_cols,
                       shape[ndim - 1], err);
}

/* n stored elements starting at element elem0 of the tensor, to float32. FP8 goes
 * in runs that share one scale (at most one block row segment long). */
static void convert_run(const swan_tensor_reader *tr, const unsigned char *src, uint64_t elem0,
                        size_t n, float *dst) {
    if (!swan_dtype_is_fp8(tr->dtype)) {
        swan_convert_to_f32(tr->dtype, src, dst, n);
        return;
    }
    uint64_t e = elem0;
    while (n > 0) {
        uint64_t r = e / tr->row_len, c = e % tr->row_len;
        uint64_t bc = c / tr->block_cols;
        uint64_t run = (bc + 1) * tr->block_cols;
        if (run > tr->row_len) run = tr->row_len;
        run -= c;
        if (run > n) run = n;
        float scale = tr->scales[(r / tr->block_rows) * tr->scale_cols + bc];
        swan_fp8_dequant(tr->dtype, src, (size_t)run, scale, dst);
        src += run;
        dst += run;
        e += run;
        n -= (size_t)run;
    }
}

/* Adds the groups of columns [col0, col0+ncols) of `nrows` view rows starting at view
 * row `row` to the checksum; bytes holds them row-major with stride ncols elements.
 * col0 is a multiple of the group width (checked by the caller). */
static void hash_rows(swan_tensor_reader *tr, const unsigned char *bytes, uint64_t row,
                      uint64_t nrows, uint64_t col0, uint64_t ncols) {
    const uint64_t G = SWAN_HASH_GROUP_COLS, cols = tr->view.cols;
    size_t esize = swan_dtype_size(tr->dtype);
    uint64_t per_row = (cols + G - 1) / G, sum = 0;
    for (uint64_t i = 0; i < nrows; i++) {
        const unsigned char *p = bytes + i * ncols * esize;
        uint64_t seed = (row + i) * per_row + col0 / G;
        for (uint64_t c = 0; c < ncols; c += G, seed++) {
            uint64_t n = ncols - c < G ? ncols - c : G;
            sum += swan_xxh64(p + c * esize, (size_t)(n * esize), seed);
        }
    }
    tr->hash_sum += sum;
}

/* Bytes [off, off+len) of the tensor (nrows whole view rows from view row `row`):
 * a view from the source, converted to float32 at dst, added to the checksum if
 * `hash`, released. */
static int view_convert(swan_tensor_reader *tr, uint64_t off, uint64_t len, uint64_t row,
                        uint64_t nrows, bool hash, float *dst, swan_error *err) {
    const unsigned char *at;
    if (tr->src.view(tr->src.ctx, SWAN_SRC_DATA, off, len, &at, err)) return -1;
    size_t esize = swan_dtype_size(tr->dtype);
    convert_run(tr, at, off / esize, (size_t)(len / esize), dst);
    if (hash) hash_rows(tr, at, row, nrows, 0, tr->view.cols);
    tr->src.release(tr->src.ctx);
    return 0;
}

/* Columns [col0, col0+ncols) of `nrows` consecutive stored rows starting at element
 * `elem0` (view row `row`): gathered from the source into a bounce buffer, then one
 * conversion, and the checksum if `hash`. */
static int panel_convert(swan_tensor_reader *tr, uint64_t elem0, uint64_t row, uint64_t nrows,
                         uint64_t col0, uint64_t ncols, bool hash, float *dst, swan_error *err) {
    size_t esize = swan_dtype_size(tr->dtype);
    size_t row_bytes = (size_t)(ncols * esize);
    /* Bounded: a panel is at most opts.max_block_bytes of float32, so at most twice
     * that for F64 storage; convert in chunks of rows to stay near 1 MiB here. */
    size_t chunk = (1u << 20) / (row_bytes ? row_bytes : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > nrows) chunk = (size_t)nrows;
    unsigned char *buf = malloc(chunk * row_bytes);
    if (!buf) return swan_error_set(err, "tensor at byte %llu: out of memory for a panel",
                                    (ull)tr->data_offset);
    for (uint64_t i = 0; i < nrows; i += chunk) {
        uint64_t n = nrows - i < chunk ? nrows - i : chunk;
        uint64_t off = ((elem0 + i * tr->view.cols) + col0) * esize;
        if (tr->src.gather(tr->src.ctx, SWAN_SRC_DATA, off, row_bytes, tr->view.cols * esize, n,
                           buf, err) != 0) {
            free(buf);
            return swan_error_prefix(err, "tensor at byte %llu", (ull)tr->data_offset);
        }
        for (uint64_t j = 0; j < n; j++)
            convert_run(tr, buf + j * row_bytes, elem0 + (i + j) * tr->view.cols + col0,
                        (size_t)ncols, dst + (i + j) * ncols);
        if (hash) hash_rows(tr, buf, row + i, n, col0, ncols);
    }
    free(buf);
    return 0;
}

static int tensor_read_tile(void *ctx, uint64_t row0, uint64_t nrows, uint64_t col0,
                            uint64_t ncols, float *dst, swan_error *err) {
    swan_tensor_reader *tr = ctx;
    const swan_view2d *v = &tr->view;
    if (row0 + nrows > v->rows || col0 + ncols > v->cols || ncols == 0)
        return swan_error_set(err, "tensor at byte %llu: tile [%llu+%llu, %llu+%llu] outside %llux%llu",
                              (ull)tr->data_offset, (ull)row0, (ull)nrows, (ull)col0, (ull)ncols,
                              (ull)v->rows, (ull)v->cols);
    size_t esize = swan_dtype_size(tr->dtype);
    if (swan_dtype_is_fp8(tr->dtype) && !tr->scales)
        return swan_error_set(err, "tensor at byte %llu: %s data without its scales",
                              (ull)tr->data_offset, swan_dtype_name(tr->dtype));
    bool full = col0 == 0 && ncols == v->cols;
    /* Hash the tile only if it extends the covered prefix (first traversal). */
    bool hash = full ? tr->hashed_cols == 0 && row0 == tr->hashed_rows
                     : tr->hashed_rows == 0 && row0 == 0 && nrows == v->rows &&
                           col0 == tr->hashed_cols && col0 % SWAN_HASH_GROUP_COLS == 0 &&
                           ((col0 + ncols) % SWAN_HASH_GROUP_COLS == 0 || col0 + ncols == v->cols);
    uint64_t want_rows = nrows;
    uint64_t seg_row0 = 0; /* first view row of segment s */
    for (uint32_t s = 0; s < v->nseg && nrows > 0; s++) {
        uint64_t seg_end = seg_row0 + v->seg[s].rows;
        if (row0 < seg_end) {
            uint64_t take = seg_end - row0 < nrows ? seg_end - row0 : nrows;
            uint64_t elem0 = v->seg[s].first_elem + (row0 - seg_row0) * v->cols;
            int rc;
            if (full)
                rc = view_convert(tr, elem0 * esize, take * v->cols * esize, row0, take, hash,
                                  dst, err);
            else
                rc = panel_convert(tr, elem0, row0, take, col0, ncols, hash, dst, err);
            if (rc != 0) return -1;
            dst += take * ncols;
            row0 += take;
            nrows -= take;
        }
        seg_row0 = seg_end;
    }
    if (hash) {
        if (full) tr->hashed_rows += want_rows;
        else tr->hashed_cols += ncols;
    }
    return 0;
}

int swan_tensor_reader_hash_all(swan_tensor_reader *tr, uint64_t *hash, swan_error *err) {
    const swan_view2d *v = &tr->view;
    size_t esize = swan_dtype_size(tr->dtype);
    uint64_t row_bytes = v->cols * esize;
    /* Windows of about 8 MiB (at least one row): bounded memory, few syscalls. */
    uint64_t per_window = ((uint64_t)8 << 20) / row_bytes;
    if (per_window < 1) per_window = 1;
    tr->hash_sum = 0;
    uint64_t row = 0;
    for (uint32_t s = 0; s < v->nseg; s++)
        for (uint64_t r = 0; r < v->seg[s].rows; r += per_window) {
            uint64_t n = v->seg[s].rows - r < per_window ? v->seg[s].rows - r : per_window;
            const unsigned char *at;
            uint64_t off = (v->seg[s].first_elem + r * v->cols) * esize;
            if (tr->src.view(tr->src.ctx, SWAN_SRC_DATA, off, n * row_bytes, &at, err)) return -1;
            hash_rows(tr, at, row, n, 0, v->cols);
            tr->src.release(tr->src.ctx);
            row += n;
        }
    tr->hashed_rows = v->rows;
    tr->hashed_cols = 0;
    *hash = tr->hash_sum + tr->scales_hash;
    return 0;
}

int swan_tensor_reader_data_hash(swan_tensor_reader *tr, uint64_t *hash, swan_error *err) {
    if (tr->hashed_rows == tr->view.rows || tr->hashed_cols == tr->view.cols) {
        *hash = tr->hash_sum + tr->scales_hash;
        return 0;
    }
    return swan_tensor_reader_hash_all(tr, hash, err);
}

void swan_tensor_reader_as_tiles(swan_tensor_reader *tr, swan_tile_reader *r) {
    r->rows = tr->view.rows;
    r->cols = tr->view.cols;
    r->read_tile = tensor_read_tile;
    r->ctx = tr;
    r->array = NULL;
}
