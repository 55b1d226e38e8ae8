/* expert_matrix.c: one source matrix of an output tensor, sliced and transposed as
 * mlx_lm wants it (see expert_matrix.h). */
#include "coordinator/quantize/expert_matrix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tile (row0.., col0..) of the output = the transposed tile (col0.., first+row0..) of
 * the expert's stored matrix. */
static int transposed_tile(void *ctx, uint64_t row0, uint64_t nrows, uint64_t col0, uint64_t ncols,
                           float *dst, swan_error *err) {
    swan_expert_matrix *m = ctx;
    size_t need = (size_t)(nrows * ncols);
    if (need > m->scratch_floats) {
        float *s = realloc(m->scratch, need * sizeof *s);
        if (!s) return swan_error_set(err, "out of memory for a %llu x %llu tile",
                                      (unsigned long long)nrows, (unsigned long long)ncols);
        m->scratch = s;
        m->scratch_floats = need;
    }
    /* stored: ncols rows (the output's columns) of nrows values (the output's rows) */
    if (m->src.read_tile(m->src.ctx, col0, ncols, m->packed->first + row0, nrows, m->scratch, err))
        return -1;
    for (uint64_t c = 0; c < ncols; c++)
        for (uint64_t r = 0; r < nrows; r++) dst[r * ncols + c] = m->scratch[c * nrows + r];
    return 0;
}

int swan_expert_matrix_open(swan_expert_matrix *m, const swan_checkpoint *ck, const swan_qtensor *t,
                            uint32_t e, swan_error *err) {
    memset(m, 0, sizeof *m);
    const swan_tensor *s = &ck->tensors[t->src[e]];
    const swan_shard *sh = &ck->shards[s->shard];
    const swan_qpacked *p = &t->packed;
    swan_view2d view;
    memset(&view, 0, sizeof view);
    view.nseg = 1;
    if (!p->on) { /* a 2-D tensor, whole */
        view.rows = s->shape[0];
        view.cols = s->shape[1];
    } else if (!p->transposed) { /* rows [first, first + rows) of expert e */
        view.rows = p->rows;
        view.cols = p->src_cols;
        view.seg[0].first_elem = ((uint64_t)e * p->src_rows + p->first) * p->src_cols;
    } else { /* the whole of expert e, read by column ranges */
        view.rows = p->src_rows;
        view.cols = p->src_cols;
        view.seg[0].first_elem = (uint64_t)e * p->src_rows * p->src_cols;
    }
    view.seg[0].rows = view.rows;
    if (swan_tensor_reader_open(&m->tr, sh->path, s->offset, s->nbytes, s->dtype, &view, err))
        return -1;
    swan_tensor_reader_as_tiles(&m->tr, &m->src);
    m->rd = m->src;
    if (p->on && p->transposed) {
        m->packed = p;
        m->rd.rows = p->rows;
        m->rd.cols = p->cols;
        m->rd.read_tile = transposed_tile;
        m->rd.ctx = m;
    }
    return 0;
}

void swan_expert_matrix_close(swan_expert_matrix *m) {
    swan_tensor_reader_close(&m->tr);
    free(m->scratch);
    m->scratch = NULL;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off) {
    for (char *p = buf; n > 0;) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return 0;
}

static int write_at(int fd, const void *buf, size_t n, uint64_t off) {
    for (const char *p = buf; n > 0;) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}

/* Output rows [r0, r0 + nr) of a transposed expert into buf: one read of nr stored
 * values per output column. line has room for nr values. */
static int gather_rows(int in, uint64_t expert_at, const swan_qpacked *p, size_t es, uint64_t r0,
                       uint64_t nr, char *line, char *buf) {
    for (uint64_t c = 0; c < p->cols; c++) {
        if (read_at(in, line, (size_t)(nr * es), expert_at + (c * p->src_cols + p->first + r0) * es))
            return -1;
        for (uint64_t j = 0; j < nr; j++) memcpy(buf + (j * p->cols + c) * es, line + j * es, es);
    }
    return 0;
}

int swan_expert_matrix_copy(const swan_checkpoint *ck, const swan_qtensor *t, uint32_t e, int fd,
                            uint64_t at, char *buf, size_t cap, swan_error *err) {
    const swan_tensor *s = &ck->tensors[t->src[e]];
    const swan_shard *sh = &ck->shards[s->shard];
    const swan_qpacked *p = &t->packed;
    size_t es = swan_dtype_size(s->dtype);
    uint64_t row_bytes = p->cols * es, expert_at = s->offset + (uint64_t)e * p->src_rows * p->src_cols * es;
    if (row_bytes == 0 || row_bytes > cap) return swan_error_set(err, "%s: rows too long to copy", s->name);
    int in = open(sh->path, O_RDONLY);
    if (in < 0) return swan_error_set(err, "%s: %s", sh->path, strerror(errno));
    uint64_t per = cap / row_bytes; /* output rows per block */
    char *line = p->transposed ? malloc((size_t)(per < p->rows ? per : p->rows) * es) : NULL;
    int rc = p->transposed && !line ? swan_error_set(err, "out of memory copying %s", s->name) : 0;
    for (uint64_t r0 = 0; rc == 0 && r0 < p->rows; r0 += per) {
        uint64_t nr = p->rows - r0 < per ? p->rows - r0 : per;
        int bad = p->transposed
                      ? gather_rows(in, expert_at, p, es, r0, nr, line, buf)
                      : read_at(in, buf, (size_t)(nr * row_bytes), expert_at + (p->first + r0) * row_bytes);
        if (bad || write_at(fd, buf, (size_t)(nr * row_bytes), at + r0 * row_bytes))
            rc = swan_error_set(err, "copying %s: %s", s->name, errno ? strerror(errno) : "short read");
    }
    free(line);
    close(in);
    return rc;
}
