/* test_worker_stream.c: the stream byte source (worker/worker_stream.c).
 *
 * A fake coordinator answers FETCHes from two byte arrays (tensor data, FP8 scales)
 * and can be told to misbehave. Checked: a view and a strided gather reassemble the
 * exact bytes; the bytes asked and not received never exceed the window while a
 * tensor many times the window goes through; metrics, data checksum and FP8 scales
 * read through the stream equal a read of the same bytes from a file; a chunk at a
 * wrong offset, one longer or shorter than announced, one for an unknown task, one
 * nobody asked for, a read outside the part, a stall and a reconnection each fail
 * the read with a reason, and the next read still gets the right bytes; row blocks
 * are read ahead (the next block's transfer overlaps the current one's work). */
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
#include "common/prng.h"
#include "common/view2d.h"
#include "worker/metrics.h"
#include "worker/tensor_reader.h"
#include "worker/worker_stream.h"

enum { OK = 0, BAD_OFFSET, OVERRUN, SHORT, UNKNOWN_TASK, UNSOLICITED, SILENT };

typedef struct fake {
    const unsigned char *part[2];
    uint64_t size[2];
    swan_msg_chunk q[4096];     /* FETCHes received, not yet answered */
    size_t qh, qn;
    uint64_t asked, answered;   /* bytes, as the coordinator sees them */
    uint64_t max_outstanding;
    int misbehave;              /* applied to the next answer, then OK */
    uint32_t gen;
    unsigned char scratch[SWAN_STREAM_CHUNK_MAX + 16];
} fake;

static int fake_send(void *ctx, const swan_msg_chunk *req, swan_error *err) {
    fake *f = ctx;
    (void)err;
    assert_true(req->nbytes >= 1 && req->nbytes <= SWAN_STREAM_CHUNK_MAX);
    assert_true(f->qn < 4096);
    f->q[(f->qh + f->qn++) % 4096] = *req;
    f->asked += req->nbytes;
    if (f->asked - f->answered > f->max_outstanding) f->max_outstanding = f->asked - f->answered;
    return 0;
}

/* Answers the oldest FETCH. A misbehaviour applies once: BAD_OFFSET, UNKNOWN_TASK and
 * UNSOLICITED slip in an extra chunk that answers nothing (the real answers follow);
 * OVERRUN and SHORT answer the oldest FETCH with a bytes frame of the wrong size. */
static int fake_recv(void *ctx, long timeout_ms, swan_msg_chunk *hdr, const void **data, size_t *len,
                     swan_error *err) {
    fake *f = ctx;
    (void)timeout_ms;
    (void)err;
    int how = f->misbehave;
    if (how == SILENT || f->qn == 0) return 0;
    f->misbehave = OK;
    swan_msg_chunk c = f->q[f->qh];
    *data = f->scratch;
    if (how == BAD_OFFSET || how == UNKNOWN_TASK || how == UNSOLICITED) {
        *hdr = c;
        if (how == BAD_OFFSET) hdr->offset += 1;
        if (how == UNKNOWN_TASK) hdr->task_id += 1000;
        if (how == UNSOLICITED) *hdr = (swan_msg_chunk){.task_id = 999, .tensor_id = 1, .nbytes = 4};
        *len = hdr->nbytes;
        return 1;
    }
    f->qh = (f->qh + 1) % 4096;
    f->qn--;
    f->answered += c.nbytes;
    memcpy(f->scratch, f->part[c.part] + c.offset, c.nbytes);
    *hdr = c;
    *len = c.nbytes;
    if (how == OVERRUN) *len = c.nbytes + 8;
    if (how == SHORT) *len = c.nbytes - 1;
    return 1;
}

static uint32_t fake_gen(void *ctx) { return ((fake *)ctx)->gen; }

static void setup_source(fake *f, swan_stream_source *ss, swan_byte_source *src, uint64_t window) {
    swan_stream_link link = {.send_fetch = fake_send, .recv_chunk = fake_recv,
                             .generation = fake_gen, .ctx = f};
    swan_stream_source_init(ss, &link, window, NULL);
    swan_stream_source_as_bytes(ss, src);
    swan_stream_source_begin(ss, 7, 3, f->size[0], f->size[1]);
}

static unsigned char *random_bytes(size_t n, uint64_t seed) {
    unsigned char *b = malloc(n);
    assert_non_null(b);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (unsigned char)x;
    }
    return b;
}

/* A view of 1 MB and a strided gather come back exact; never more than the window
 * (64 KiB, so chunks of 16 KiB) is asked and not answered. */
static void test_reassembly_and_credit(void **state) {
    (void)state;
    const size_t N = 1 << 20;
    unsigned char *data = random_bytes(N, 1);
    fake f = {.part = {data, NULL}, .size = {N, 0}};
    swan_stream_source ss;
    swan_byte_source src;
    setup_source(&f, &ss, &src, 65536);
    assert_int_equal(ss.chunk, 16384);
    swan_error err;
    const unsigned char *at;
    assert_int_equal(src.view(src.ctx, SWAN_SRC_DATA, 100, N - 200, &at, &err), 0);
    assert_memory_equal(at, data + 100, N - 200);
    src.release(src.ctx);
    assert_true(f.max_outstanding <= 65536);
    assert_true(f.max_outstanding >= 65536 - 16384); /* the window was used, not one chunk at a time */
    assert_true(ss.fetches_out >= (N - 200) / 16384);
    /* 300 runs of 1000 bytes every 3000 bytes (a column panel). */
    unsigned char *out = malloc(300 * 1000);
    assert_int_equal(src.gather(src.ctx, SWAN_SRC_DATA, 17, 1000, 3000, 300, out, &err), 0);
    for (int i = 0; i < 300; i++) assert_memory_equal(out + i * 1000, data + 17 + i * 3000, 1000);
    assert_true(f.max_outstanding <= 65536);
    assert_int_equal(ss.count, 0);
    assert_int_equal(ss.inflight, 0);
    free(out);
    swan_stream_source_free(&ss);
    free(data);
}

/* Each kind of bad chunk fails the read with its reason; the requests still pending
 * are void, their chunks dropped, and the next read is exact. */
static void test_malformed_chunks(void **state) {
    (void)state;
    const size_t N = 200000;
    unsigned char *data = random_bytes(N, 2);
    unsigned char *out = malloc(N);
    fake f = {.part = {data, NULL}, .size = {N, 0}};
    swan_stream_source ss;
    swan_byte_source src;
    setup_source(&f, &ss, &src, 8192);
    struct {
        int how;
        const char *needle;
    } cases[] = {
        {BAD_OFFSET, "bytes 1+2048)"},
        {OVERRUN, "carries 2056"},
        {SHORT, "carries 2047"},
        {UNKNOWN_TASK, "task 1007"},
        {UNSOLICITED, "task 999"},
    };
    swan_error err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f.misbehave = cases[i].how;
        err.msg[0] = 0;
        assert_int_equal(src.gather(src.ctx, SWAN_SRC_DATA, 0, N, N, 1, out, &err), -1);
        if (!strstr(err.msg, cases[i].needle)) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
        memset(out, 0, N);
        assert_int_equal(src.gather(src.ctx, SWAN_SRC_DATA, 0, N, N, 1, out, &err), 0);
        assert_memory_equal(out, data, N);
        assert_true(f.max_outstanding <= 8192);
    }
    assert_int_equal(ss.count, 0);
    /* Outside the part: refused before anything is asked. */
    uint64_t before = ss.fetches_out;
    assert_int_equal(src.gather(src.ctx, SWAN_SRC_DATA, N - 10, 11, 11, 1, out, &err), -1);
    assert_non_null(strstr(err.msg, "outside its 200000 bytes"));
    assert_int_equal(src.gather(src.ctx, SWAN_SRC_SCALES, 0, 1, 1, 1, out, &err), -1);
    assert_int_equal(src.gather(src.ctx, SWAN_SRC_DATA, 0, 100, UINT64_MAX / 2, 3, out, &err), -1);
    assert_int_equal(ss.fetches_out, before);
    /* A silent coordinator: the read stalls out. */
    ss.stall_s = 0.3;
    f.misbehave = SILENT;
    assert_int_equal(src.gather(src.ctx, SWAN_SRC_DATA, 0, 100, 100, 1, out, &err), -1);
    assert_non_null(strstr(err.msg, "stalled"));
    /* A reconnection voids what was asked on the old connection. */
    f.misbehave = OK;
    f.qn = 0;
    f.gen++;
    f.answered = f.asked;
    assert_int_equal(src.gather(src.ctx, SWAN_SRC_DATA, 5, 5000, 5000, 1, out, &err), -1);
    assert_non_null(strstr(err.msg, "reset"));
    assert_int_equal(ss.count, 0);
    swan_stream_source_begin(&ss, 8, 3, N, 0); /* the new connection's task */
    assert_int_equal(src.gather(src.ctx, SWAN_SRC_DATA, 5, 5000, 5000, 1, out, &err), 0);
    assert_memory_equal(out, data + 5, 5000);
    assert_int_equal(ss.count, 0);
    free(out);
    swan_stream_source_free(&ss);
    free(data);
}

/* Metrics, checksum and FP8 scales through the stream equal the file's, bit for bit,
 * for a BF16 matrix read in row blocks and one read in column panels, each many
 * times the window. */
static void check_same_as_file(swan_dtype dt, uint64_t rows, uint64_t cols, bool fp8) {
    size_t esize = swan_dtype_size(dt);
    uint64_t nbytes = rows * cols * esize;
    unsigned char *data = random_bytes((size_t)nbytes, rows * 31 + cols);
    if (dt == SWAN_DT_BF16) /* finite values: clear the top exponent bit of each bf16 */
        for (uint64_t i = 1; i < nbytes; i += 2) data[i] &= 0xBF;
    if (fp8)
        for (uint64_t i = 0; i < nbytes; i++) data[i] &= 0x7E; /* e4m3: no NaN (0x7f) */
    uint64_t brow = 128, bcol = 128, sr = (rows + brow - 1) / brow, sc = (cols + bcol - 1) / bcol;
    float *scales = malloc(sr * sc * sizeof(float));
    for (uint64_t i = 0; i < sr * sc; i++) scales[i] = 0.5f + (float)i / 64;
    const uint64_t prefix = 4099;
    char path[] = "/tmp/swan-stream-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unsigned char pad[4099] = {0};
    assert_int_equal(write(fd, pad, prefix), (ssize_t)prefix);
    assert_int_equal(write(fd, data, nbytes), (ssize_t)nbytes);
    assert_int_equal(write(fd, scales, sr * sc * 4), (ssize_t)(sr * sc * 4));
    uint64_t shape[2] = {rows, cols};
    swan_view2d view;
    assert_int_equal(swan_view2d_make(2, shape, &view), SWAN_KIND_MATRIX);
    swan_metrics_opts mo;
    swan_metrics_default_opts(&mo);
    mo.prng_key = 42;
    mo.dtype = fp8 ? SWAN_DT_BF16 : dt;
    mo.max_block_bytes = 256 << 10; /* small tiles: many views / panels */
    swan_error err;
    swan_raw_metrics a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);

    swan_tensor_reader tf;
    swan_tile_reader rf;
    assert_int_equal(swan_tensor_reader_open(&tf, path, prefix, nbytes, dt, &view, &err), 0);
    if (fp8)
        assert_int_equal(swan_tensor_reader_load_scales(&tf, path, prefix + nbytes, SWAN_DT_F32, sr, sc,
                                                        brow, bcol, 2, shape, &err), 0);
    swan_tensor_reader_as_tiles(&tf, &rf);
    assert_int_equal(swan_metrics_compute(&rf, &mo, &a, &err), 0);
    assert_int_equal(swan_tensor_reader_data_hash(&tf, &a.data_hash, &err), 0);
    swan_tensor_reader_close(&tf);

    fake f = {.part = {data, (const unsigned char *)scales}, .size = {nbytes, fp8 ? sr * sc * 4 : 0}};
    swan_stream_source ss;
    swan_byte_source src;
    setup_source(&f, &ss, &src, 16384);
    swan_tensor_reader ts;
    swan_tile_reader rs;
    assert_int_equal(swan_tensor_reader_open_source(&ts, &src, "streamed", prefix, nbytes, dt, &view, &err), 0);
    if (fp8)
        assert_int_equal(swan_tensor_reader_load_scales_source(&ts, "streamed", SWAN_DT_F32, sr, sc, brow,
                                                               bcol, 2, shape, &err), 0);
    swan_tensor_reader_as_tiles(&ts, &rs);
    if (swan_metrics_compute(&rs, &mo, &b, &err)) fail_msg("%s", err.msg);
    assert_int_equal(swan_tensor_reader_data_hash(&ts, &b.data_hash, &err), 0);
    swan_tensor_reader_close(&ts);
    a.seconds = b.seconds = 0;
    assert_memory_equal(&a, &b, sizeof a);
    assert_true(f.max_outstanding <= 16384);
    assert_true(ss.bytes_in >= nbytes); /* the whole tensor came through the window */
    if (rows >= cols) assert_true(ss.ahead_hits > 0); /* row blocks: read ahead, in order */
    swan_stream_source_free(&ss);
    unlink(path);
    close(fd);
    free(scales);
    free(data);
}

static void test_same_as_file(void **state) {
    (void)state;
    check_same_as_file(SWAN_DT_BF16, 384, 256, false);   /* row blocks */
    check_same_as_file(SWAN_DT_BF16, 128, 1536, false);  /* column panels (rows < cols) */
    check_same_as_file(SWAN_DT_F8_E4M3, 256, 384, true); /* FP8 with a scale grid */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reassembly_and_credit),
        cmocka_unit_test(test_malformed_chunks),
        cmocka_unit_test(test_same_as_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
