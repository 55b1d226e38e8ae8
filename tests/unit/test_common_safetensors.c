/* test_common_safetensors.c: header validation on hand-built (often hostile) headers.
 *
 * Every rule of SWAN-METRICS.md section 1 has a case that breaks it and must fail
 * with a one-line message naming the tensor, next to valid headers that must pass
 * with the exact fields we wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/formats/safetensors.h"

/* File size that leaves exactly `data` bytes after the header. */
static uint64_t fsize(const char *json, uint64_t data) { return 8 + strlen(json) + data; }

static void expect_error(const char *json, uint64_t file_size, const char *needle) {
    swan_st_header h;
    swan_error err = {{0}};
    int rc = swan_st_parse(json, strlen(json), file_size, &h, &err);
    if (rc == 0) fail_msg("accepted: %s", json);
    assert_int_equal(rc, -1);
    assert_int_equal(h.count, 0);
    assert_null(h.entries);
    assert_true(strlen(err.msg) > 0);
    assert_null(strchr(err.msg, '\n'));
    if (!strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void parse_ok(const char *json, uint64_t file_size, swan_st_header *h) {
    swan_error err = {{0}};
    int rc = swan_st_parse(json, strlen(json), file_size, h, &err);
    if (rc != 0) fail_msg("rejected (%s): %s", err.msg, json);
}

static const swan_st_entry *find(const swan_st_header *h, const char *name) {
    for (size_t i = 0; i < h->count; i++)
        if (strcmp(h->entries[i].name, name) == 0) return &h->entries[i];
    return NULL;
}

/* ---------------------------------------------------------------------------- */

static void test_header_length(void **state) {
    (void)state;
    swan_error err = {{0}};
    uint64_t n = 0;
    unsigned char p[8] = {0x10, 0x01, 0, 0, 0, 0, 0, 0}; /* 0x110 = 272, little-endian */
    assert_int_equal(swan_st_header_length(p, 8 + 272, &n, &err), 0);
    assert_int_equal(n, 272);
    assert_int_equal(swan_st_header_length(p, 8 + 271, &n, &err), -1);
    assert_non_null(strstr(err.msg, "272"));

    unsigned char huge[8] = {0, 0, 0, 0, 0, 1, 0, 0}; /* 2^40 */
    assert_int_equal(swan_st_header_length(huge, UINT64_MAX, &n, &err), -1);
    assert_non_null(strstr(err.msg, "exceeds"));

    unsigned char all[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(swan_st_header_length(all, UINT64_MAX, &n, &err), -1);

    /* Exactly at the limit is allowed when the file is big enough. */
    uint64_t lim = SWAN_ST_MAX_HEADER;
    unsigned char at[8];
    for (int i = 0; i < 8; i++) at[i] = (unsigned char)(lim >> (8 * i));
    assert_int_equal(swan_st_header_length(at, 8 + lim, &n, &err), 0);
    assert_int_equal(n, lim);
    at[0]++;
    assert_int_equal(swan_st_header_length(at, UINT64_MAX, &n, &err), -1);

    assert_int_equal(swan_st_header_length(p, 4, &n, &err), -1);

    /* The reference implementation's limit: 100 MB; a 150 MB header is refused. */
    assert_int_equal(SWAN_ST_MAX_HEADER, 100000000u);
    uint64_t big = 150000000u;
    for (int i = 0; i < 8; i++) at[i] = (unsigned char)(big >> (8 * i));
    assert_int_equal(swan_st_header_length(at, UINT64_MAX, &n, &err), -1);
    assert_non_null(strstr(err.msg, "exceeds the 100000000-byte limit"));
}

static void test_valid_multi(void **state) {
    (void)state;
    const char *json =
        "{\"__metadata__\": {\"format\": \"pt\"},"
        " \"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]},"
        " \"b\": {\"dtype\": \"BF16\", \"shape\": [4], \"data_offsets\": [24, 32]},"
        " \"z\": {\"dtype\": \"F16\", \"shape\": [0, 5], \"data_offsets\": [8, 8]},"
        " \"s\": {\"data_offsets\": [32, 40], \"shape\": [], \"dtype\": \"I64\"},"
        " \"e\": {\"dtype\": \"F64\", \"shape\": [1, 2, 1, 1], \"data_offsets\": [40, 56]}}";
    swan_st_header h;
    parse_ok(json, fsize(json, 56), &h);
    assert_int_equal(h.count, 5);
    assert_int_equal(h.header_len, strlen(json));
    assert_int_equal(h.data_start, 8 + strlen(json));
    assert_null(find(&h, "__metadata__"));

    const swan_st_entry *a = find(&h, "a");
    assert_non_null(a);
    assert_int_equal(a->dtype, SWAN_DT_F32);
    assert_int_equal(a->ndim, 2);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    assert_int_equal(a->nelem, 6);
    assert_int_equal(a->begin, 0);
    assert_int_equal(a->end, 24);

    const swan_st_entry *b = find(&h, "b");
    assert_int_equal(b->dtype, SWAN_DT_BF16);
    assert_int_equal(b->ndim, 1);
    assert_int_equal(b->nelem, 4);
    assert_int_equal(b->begin, 24);

    const swan_st_entry *z = find(&h, "z"); /* zero-size inside a's bytes: no overlap */
    assert_int_equal(z->nelem, 0);
    assert_int_equal(z->begin, z->end);

    const swan_st_entry *s = find(&h, "s"); /* scalar: ndim 0, one element */
    assert_int_equal(s->ndim, 0);
    assert_int_equal(s->nelem, 1);
    assert_int_equal(s->dtype, SWAN_DT_I64);

    const swan_st_entry *e = find(&h, "e");
    assert_int_equal(e->ndim, 4);
    assert_int_equal(e->nelem, 2);
    swan_st_header_free(&h);
    assert_int_equal(h.count, 0);

    /* More data after the last tensor (gaps, trailing bytes) is allowed. */
    parse_ok(json, fsize(json, 1000), &h);
    swan_st_header_free(&h);
}

static void test_padding_and_metadata(void **state) {
    (void)state;
    swan_st_header h;
    /* Writers pad the header with spaces to an alignment. */
    const char *padded = "{\"w\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [0, 3]}}      ";
    parse_ok(padded, fsize(padded, 3), &h);
    assert_int_equal(h.count, 1);
    assert_int_equal(h.entries[0].dtype, SWAN_DT_U8);
    swan_st_header_free(&h);

    /* A malformed __metadata__ is ignored, not fatal. */
    const char *meta = "{\"__metadata__\": 5, \"w\": {\"dtype\": \"BOOL\", \"shape\": [2], "
                       "\"data_offsets\": [0, 2]}}";
    parse_ok(meta, fsize(meta, 2), &h);
    assert_int_equal(h.count, 1);
    swan_st_header_free(&h);

    /* A header with only metadata holds no tensors. */
    const char *none = "{\"__metadata__\": {}}";
    parse_ok(none, fsize(none, 0), &h);
    assert_int_equal(h.count, 0);
    swan_st_header_free(&h);

    /* Huge dimensions are fine when another one is 0. */
    const char *zero = "{\"w\": {\"dtype\": \"F32\", \"shape\": [0, 4503599627370495, "
                       "4503599627370495], \"data_offsets\": [0, 0]}}";
    parse_ok(zero, fsize(zero, 0), &h);
    assert_int_equal(h.entries[0].nelem, 0);
    swan_st_header_free(&h);

    /* 1e3 is the exact integer 1000 in JSON. */
    const char *expo = "{\"w\": {\"dtype\": \"I8\", \"shape\": [1e3], \"data_offsets\": [0, 1000]}}";
    parse_ok(expo, fsize(expo, 1000), &h);
    assert_int_equal(h.entries[0].shape[0], 1000);
    swan_st_header_free(&h);
}

static void test_not_json(void **state) {
    (void)state;
    expect_error("{not json", 100, "not valid JSON");
    expect_error("", 100, "not valid JSON");
    expect_error("[1, 2]", 100, "not a JSON object");
    expect_error("\"w\"", 100, "not a JSON object");
    expect_error("{} {}", 100, "after the JSON object");
    expect_error("{\"w\": 5}", 100, "'w': entry is not a JSON object");
}

static void test_truncated(void **state) {
    (void)state;
    const char *j = "{\"w\": {\"dtype\": \"F32\", \"shape\": [4, 4], \"data_offsets\": [0, 64]}}";
    expect_error(j, fsize(j, 63), "'w'");
    expect_error(j, fsize(j, 63), "past the end");
    expect_error(j, fsize(j, 0), "past the end");
    /* File shorter than the header itself. */
    expect_error(j, strlen(j), "does not fit");
    expect_error(j, 7, "does not fit");
    swan_st_header h;
    parse_ok(j, fsize(j, 64), &h);
    swan_st_header_free(&h);
}

static void test_offsets_out_of_range(void **state) {
    (void)state;
    const char *j = "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                    " \"far\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [1000, 1008]}}";
    expect_error(j, fsize(j, 1007), "'far'");
    const char *rev = "{\"w\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [8, 0]}}";
    expect_error(rev, fsize(rev, 100), "'w': data_offsets [8, 0] end before begin");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0]}}", 1000,
                 "'w': \"data_offsets\" must be");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 1, 2]}}", 1000,
                 "'w': \"data_offsets\" must be");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2]}}", 1000, "'w': \"data_offsets\"");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [-2, 0]}}", 1000,
                 "'w': \"data_offsets\" must be");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0.5, 2.5]}}",
                 1000, "'w': \"data_offsets\" must be");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [\"0\", 2]}}", 1000,
                 "'w': \"data_offsets\" must be");
    /* 2^53 + 2: not exact in a double, refused rather than rounded. */
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": "
                 "[9007199254740994, 9007199254740996]}}",
                 UINT64_MAX, "'w': \"data_offsets\" must be");
}

static void test_overlap(void **state) {
    (void)state;
    const char *j = "{\"a\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24]},"
                    " \"b\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [16, 40]}}";
    expect_error(j, fsize(j, 40), "overlap");
    expect_error(j, fsize(j, 40), "'a' [0, 24)");
    expect_error(j, fsize(j, 40), "'b' [16, 40)");
    /* Same range twice. */
    const char *same = "{\"a\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24]},"
                       " \"b\": {\"dtype\": \"I32\", \"shape\": [6], \"data_offsets\": [0, 24]}}";
    expect_error(same, fsize(same, 24), "overlap");
    /* One inside another, listed in reverse order. */
    const char *in = "{\"big\": {\"dtype\": \"U8\", \"shape\": [100], \"data_offsets\": [0, 100]},"
                     " \"c\": {\"dtype\": \"U8\", \"shape\": [10], \"data_offsets\": [120, 130]},"
                     " \"small\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [50, 52]}}";
    expect_error(in, fsize(in, 130), "overlap");
    /* Touching ranges do not overlap. */
    const char *touch = "{\"b\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [4, 8]},"
                        " \"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}";
    swan_st_header h;
    parse_ok(touch, fsize(touch, 8), &h);
    assert_int_equal(h.count, 2);
    swan_st_header_free(&h);
}

static void test_size_mismatch(void **state) {
    (void)state;
    const char *j = "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}";
    expect_error(j, fsize(j, 100),
                 "tensor 'w': data_offsets [0, 20] hold 20 bytes but shape [2, 3] x F32 needs 24");
    const char *bf = "{\"w\": {\"dtype\": \"BF16\", \"shape\": [4], \"data_offsets\": [0, 16]}}";
    expect_error(bf, fsize(bf, 100), "needs 8");
}

static void test_unknown_dtype(void **state) {
    (void)state;
    const char *j = "{\"w\": {\"dtype\": \"F7\", \"shape\": [64, 64], \"data_offsets\": [0, 4096]}}";
    expect_error(j, fsize(j, 4096), "tensor 'w': dtype 'F7' is not a safetensors dtype");
    expect_error("{\"w\": {\"dtype\": \"f32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 100,
                 "dtype 'f32'");
    expect_error("{\"w\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}", 100,
                 "'w': \"dtype\" is missing");
    expect_error("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 100,
                 "'w': \"dtype\" is missing");
}

static void test_shape_overflow(void **state) {
    (void)state;
    const char *j = "{\"w\": {\"dtype\": \"F32\", \"shape\": [8589934592, 8589934592], "
                    "\"data_offsets\": [0, 64]}}";
    expect_error(j, fsize(j, 64), "tensor 'w': shape [8589934592, 8589934592] overflows");
    /* Product 2^62 fits, but times 8 bytes does not. */
    const char *bytes = "{\"w\": {\"dtype\": \"F64\", \"shape\": [2097152, 2097152, 1048576], "
                        "\"data_offsets\": [0, 64]}}";
    expect_error(bytes, fsize(bytes, 64), "overflows");
    /* Product wraps to exactly 2^64 = 0 mod 2^64. */
    const char *wrap = "{\"w\": {\"dtype\": \"U8\", \"shape\": [4194304, 4194304, 1048576], "
                       "\"data_offsets\": [0, 0]}}";
    expect_error(wrap, fsize(wrap, 0), "overflows");
}

static void test_bad_shape_values(void **state) {
    (void)state;
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [-1], \"data_offsets\": [0, 0]}}", 100,
                 "'w': shape entries must be integers");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2.5], \"data_offsets\": [0, 2]}}", 100,
                 "'w': shape entries must be integers");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [1e300], \"data_offsets\": [0, 2]}}", 100,
                 "'w': shape entries must be integers");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [9007199254740992], "
                 "\"data_offsets\": [0, 2]}}",
                 100, "'w': shape entries must be integers");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [\"2\"], \"data_offsets\": [0, 2]}}", 100,
                 "'w': shape entries must be integers");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [true], \"data_offsets\": [0, 1]}}", 100,
                 "'w': shape entries must be integers");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": 4, \"data_offsets\": [0, 4]}}", 100,
                 "'w': \"shape\" is missing or not an array");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"data_offsets\": [0, 4]}}", 100,
                 "'w': \"shape\" is missing");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], "
                 "\"data_offsets\": [0, 1]}}",
                 100, "'w': shape has more than 8 dimensions");
    /* Exactly 8 dimensions is allowed. */
    const char *eight = "{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,2], "
                        "\"data_offsets\": [0, 2]}}";
    swan_st_header h;
    parse_ok(eight, fsize(eight, 2), &h);
    assert_int_equal(h.entries[0].ndim, 8);
    swan_st_header_free(&h);
}

static void test_duplicate_name(void **state) {
    (void)state;
    const char *j = "{\"w\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]},"
                    " \"x\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [4, 8]},"
                    " \"w\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [8, 12]}}";
    expect_error(j, fsize(j, 12), "tensor 'w' appears twice in the header");
}

/* Many tensors: the duplicate and overlap checks must not be quadratic. */
static void test_many_tensors(void **state) {
    (void)state;
    const size_t n = 100000;
    size_t cap = n * 96 + 16, used = 0;
    char *json = malloc(cap);
    assert_non_null(json);
    json[used++] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(json + used, cap - used,
                                 "%s\"t.%zu\": {\"dtype\": \"F16\", \"shape\": [3], "
                                 "\"data_offsets\": [%zu, %zu]}",
                                 i ? ", " : "", i, 6 * (n - 1 - i), 6 * (n - i));
    json[used++] = '}';
    json[used] = '\0';
    swan_st_header h;
    swan_error err = {{0}};
    assert_int_equal(swan_st_parse(json, used, 8 + used + 6 * n, &h, &err), 0);
    assert_int_equal(h.count, n);
    swan_st_header_free(&h);
    /* Shift t.0 (the last 6 bytes) 4 bytes down, into t.1's range. */
    char *p = strstr(json, "[599994, 600000]");
    assert_non_null(p);
    memcpy(p, "[599990, 599996]", 16);
    assert_int_equal(swan_st_parse(json, used, 8 + used + 6 * n, &h, &err), -1);
    assert_non_null(strstr(err.msg, "overlap"));
    free(json);
}

static void test_read_file(void **state) {
    (void)state;
    char dir[] = "/tmp/swan_st_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/x.safetensors", dir);

    const char *json = "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]}}";
    uint64_t n = strlen(json);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8; i++) fputc((int)((n >> (8 * i)) & 0xff), f);
    fwrite(json, 1, n, f);
    for (int i = 0; i < 16; i++) fputc(0, f);
    fclose(f);

    swan_st_header h;
    swan_error err = {{0}};
    uint64_t size = 0;
    assert_int_equal(swan_st_read_file(path, &h, &size, &err), 0);
    assert_int_equal(size, 8 + n + 16);
    assert_int_equal(h.count, 1);
    assert_int_equal(h.data_start, 8 + n);
    swan_st_header_free(&h);

    /* Truncate one byte of data: the tensor no longer fits. Errors start with the path. */
    assert_int_equal(truncate(path, (off_t)(8 + n + 15)), 0);
    assert_int_equal(swan_st_read_file(path, &h, &size, &err), -1);
    assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
    assert_non_null(strstr(err.msg, "'w'"));

    /* Cut into the header. */
    assert_int_equal(truncate(path, 20), 0);
    assert_int_equal(swan_st_read_file(path, &h, &size, &err), -1);
    assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);

    assert_int_equal(truncate(path, 5), 0);
    assert_int_equal(swan_st_read_file(path, &h, &size, &err), -1);
    assert_non_null(strstr(err.msg, "too short"));

    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(swan_st_read_file(path, &h, &size, &err), -1);
    assert_non_null(strstr(err.msg, "file is empty"));
    assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
    unlink(path);

    assert_int_equal(swan_st_read_file(path, &h, &size, &err), -1);
    assert_non_null(strstr(err.msg, "cannot open"));
    assert_int_equal(swan_st_read_file(dir, &h, &size, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    rmdir(dir);
}


/* The strict scanner: what cJSON let through or mis-read is refused, each with one line. */
static void test_strict_json(void **state) {
    (void)state;
    const char *ok = "{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}";
    swan_st_header h;
    parse_ok(ok, fsize(ok, 2), &h);
    swan_st_header_free(&h);
    /* Invalid UTF-8 in a name (a lone continuation byte, an overlong form, a surrogate). */
    expect_error("{\"w\x80\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 100,
                 "invalid UTF-8");
    expect_error("{\"w\xC0\xAF\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}",
                 100, "invalid UTF-8");
    expect_error("{\"w\xED\xA0\x80\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}",
                 100, "invalid UTF-8");
    /* Bad escapes, lone surrogates, raw control bytes. */
    expect_error("{\"w\\x\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\\ud800\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 100,
                 "surrogate");
    expect_error("{\"w\\udc00x\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}",
                 100, "surrogate");
    expect_error("{\"w\\u12\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\tx\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 100,
                 "control character");
    /* A NUL in a name cannot be a C string; in a dtype it would cut "F32\u0000x". */
    expect_error("{\"w\\u0000x\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}",
                 100, "NUL");
    expect_error("{\"w\": {\"dtype\": \"U8\\u0000x\", \"shape\": [2], \"data_offsets\": [0, 2]}}",
                 100, "is not a safetensors dtype");
    /* Escapes that decode to a valid name, dtype and member names are read as such. */
    const char *esc = "{\"\\u0077\\u00e9\\ud83d\\ude00\": {\"\\u0064type\": \"U\\u0038\", "
                      "\"shape\": [2], \"data_offsets\": [0, 2]}}";
    parse_ok(esc, fsize(esc, 2), &h);
    assert_int_equal(h.count, 1);
    assert_string_equal(h.entries[0].name, "w\xC3\xA9\xF0\x9F\x98\x80");
    assert_int_equal(h.entries[0].dtype, SWAN_DT_U8);
    swan_st_header_free(&h);
    /* Numbers: strict grammar, at most 63 characters (as cJSON), exact integers only. */
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [02], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [+2], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2.], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [1e], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [NaN], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, "
                 "2000000000000000000000000000000000000000000000000000000000000000000]}}",
                 1000, "longer than 63");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 1e999]}}", 100,
                 "\"data_offsets\" must be");
    const char *frac = "{\"w\": {\"dtype\": \"U8\", \"shape\": [2.0], \"data_offsets\": [0, 0.2e1]}}";
    parse_ok(frac, fsize(frac, 2), &h);
    assert_int_equal(h.entries[0].shape[0], 2);
    assert_int_equal(h.entries[0].end, 2);
    swan_st_header_free(&h);
    /* Grammar: missing commas or colons, trailing commas, keys in arrays. */
    expect_error("{\"w\": {\"dtype\": \"U8\" \"shape\": [2], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2,], \"data_offsets\": [0, 2]}}", 100,
                 "not valid JSON");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]},}", 100,
                 "not valid JSON");
    expect_error("{\"w\" {\"dtype\": \"U8\"}}", 100, "not valid JSON");
    expect_error("{\"w\": {\"dtype\": \"U8\", \"shape\": [\"a\": 2], \"data_offsets\": [0, 2]}}",
                 100, "not valid JSON");
    expect_error("{\"w\": tru}", 100, "not valid JSON");
    expect_error("{\x01\"w\": 1}", 100, "not valid JSON");
    /* A syntax error after a bad entry is still reported as not JSON. */
    expect_error("{\"w\": 5, \"x\": [}", 100, "not valid JSON");
    /* Trailing garbage after the object (padding alone is fine). */
    expect_error("{} x", 100, "after the JSON object (byte 2 of 4)");
    expect_error("{}\x01", 100, "after the JSON object");
    /* A member given twice in one entry. */
    expect_error("{\"w\": {\"dtype\": \"U8\", \"dtype\": \"F32\", \"shape\": [2], "
                 "\"data_offsets\": [0, 2]}}",
                 100, "'w': \"dtype\" appears twice");
    /* Unknown members are skipped, whatever they hold. */
    const char *extra = "{\"w\": {\"dtype\": \"U8\", \"x\": {\"y\": [1, {\"z\": null}]}, "
                        "\"shape\": [2], \"data_offsets\": [0, 2], \"q\": false}}";
    parse_ok(extra, fsize(extra, 2), &h);
    assert_int_equal(h.count, 1);
    swan_st_header_free(&h);
}

/* Nesting: 1000 levels (cJSON's limit) inside __metadata__ pass; 1001 are refused, and
 * 1,000,000 open brackets neither recurse nor crash. */
static void test_deep_nesting(void **state) {
    (void)state;
    for (size_t depth = 999; depth <= 1000; depth++) {
        size_t n = 2 * depth + 64;
        char *j = malloc(n);
        assert_non_null(j);
        size_t u = (size_t)snprintf(j, n, "{\"__metadata__\": ");
        for (size_t i = 0; i < depth - 1; i++) j[u++] = '[';
        for (size_t i = 0; i < depth - 1; i++) j[u++] = ']';
        j[u++] = '}';
        j[u] = '\0';
        swan_st_header h;
        swan_error err = {{0}};
        int rc = swan_st_parse(j, u, 8 + u, &h, &err);
        if (rc != 0) fail_msg("%zu levels refused: %s", depth, err.msg); /* '{' + depth-1 '[' */
        swan_st_header_free(&h);
        free(j);
    }
    size_t n = 1000000;
    char *j = malloc(n + 1);
    assert_non_null(j);
    j[0] = '{';
    memcpy(j + 1, "\"a\":", 4);
    memset(j + 5, '[', n - 5);
    j[n] = '\0';
    expect_error(j, n + 8, "nested too deeply");
    free(j);
    char deep[2100];
    size_t u = 0;
    deep[u++] = '{';
    memcpy(deep + u, "\"a\":", 4);
    u += 4;
    for (int i = 0; i < 1000; i++) deep[u++] = '[';
    for (int i = 0; i < 1000; i++) deep[u++] = ']';
    deep[u++] = '}';
    deep[u] = '\0';
    expect_error(deep, u + 8, "nested too deeply"); /* 1001 levels */
}

/* A valid header cut at every byte (and with its last byte changed) must be refused,
 * never accepted or crashing: the cut copy is in its own allocation, so ASan sees any
 * read past its end. */
static void test_truncations(void **state) {
    (void)state;
    const char *full =
        "{\"__metadata__\": {\"format\": \"pt\", \"n\": [1, 2.5e3, -0, true, null]},"
        " \"model.layers.0.w\\u00e9\": {\"dtype\": \"BF16\", \"shape\": [2, 3],"
        " \"data_offsets\": [0, 12]},"
        " \"b\": {\"shape\": [4], \"dtype\": \"F32\", \"data_offsets\": [12, 28], \"x\": {}}}";
    size_t len = strlen(full);
    swan_st_header h;
    parse_ok(full, fsize(full, 28), &h);
    assert_int_equal(h.count, 2);
    swan_st_header_free(&h);
    for (size_t cut = 0; cut < len; cut++) {
        char *j = malloc(cut ? cut : 1);
        assert_non_null(j);
        memcpy(j, full, cut);
        swan_error err = {{0}};
        int rc = swan_st_parse(j, cut, 8 + cut + 28, &h, &err);
        if (rc == 0) fail_msg("accepted a header cut at byte %zu of %zu", cut, len);
        assert_null(h.entries);
        assert_null(strchr(err.msg, '\n'));
        assert_true(strlen(err.msg) > 0);
        free(j);
    }
    /* Every single byte replaced by each of a few hostile values: never a crash, and
     * whatever is accepted still satisfies the table's invariants. */
    static const char subst[] = {'\0', '"', '\\', '{', '[', ']', '}', ',', ':', '9', '\x80', '\xff'};
    for (size_t at = 0; at < len; at++)
        for (size_t k = 0; k < sizeof subst; k++) {
            char *j = malloc(len);
            assert_non_null(j);
            memcpy(j, full, len);
            j[at] = subst[k];
            swan_error err = {{0}};
            if (swan_st_parse(j, len, 8 + len + 28, &h, &err) == 0) {
                for (size_t i = 0; i < h.count; i++)
                    assert_true(h.entries[i].end <= 28 && h.entries[i].begin <= h.entries[i].end);
                swan_st_header_free(&h);
            } else {
                assert_null(strchr(err.msg, '\n'));
            }
            free(j);
        }
}

/* swan_st_scan, the checkpoint's way in: entries reach the sink in header order with
 * their names decoded in place in the text (pointing into it, no copies); a sink
 * failure fails the parse with its message; a problem found after entries were
 * handed out (a duplicate) still fails the parse. */
typedef struct seen {
    const char *text;
    size_t len;
    int n, fail_at;
    const char *names[4];
    uint64_t begin[4];
} seen;

static int seen_sink(void *ctx, const swan_st_entry *e, swan_error *err) {
    seen *v = ctx;
    if (v->n == v->fail_at) return swan_error_set(err, "sink says no at %d", v->n);
    assert_true(e->name >= v->text && e->name < v->text + v->len);
    if (v->n < 4) {
        v->names[v->n] = e->name;
        v->begin[v->n] = e->begin;
    }
    v->n++;
    return 0;
}

static void test_scan_sink(void **state) {
    (void)state;
    const char *src = "{\"b\\u00e9\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [4, 8]},"
                      "\"__metadata__\": {\"k\": \"v\"},"
                      "\"a\\\"z\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}";
    size_t len = strlen(src);
    char *text = strdup(src);
    assert_non_null(text);
    seen v = {.text = text, .len = len, .fail_at = -1};
    swan_error err = {{0}};
    assert_int_equal(swan_st_scan(text, len, 8 + len + 8, seen_sink, &v, &err), 0);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.names[0], "b\xc3\xa9");
    assert_string_equal(v.names[1], "a\"z");
    assert_true(v.names[0] < v.names[1]);
    assert_int_equal(v.begin[0], 4);
    assert_int_equal(v.begin[1], 0);

    memcpy(text, src, len + 1);
    v = (seen){.text = text, .len = len, .fail_at = 1};
    assert_int_equal(swan_st_scan(text, len, 8 + len + 8, seen_sink, &v, &err), -1);
    assert_string_equal(err.msg, "sink says no at 1");

    /* The sink took "x" before its twin came. */
    const char *dup = "{\"x\": {\"dtype\": \"F16\", \"shape\": [0], \"data_offsets\": [0, 0]},"
                      "\"x\": {\"dtype\": \"F16\", \"shape\": [0], \"data_offsets\": [0, 0]}}";
    free(text);
    len = strlen(dup);
    text = strdup(dup);
    v = (seen){.text = text, .len = len, .fail_at = -1};
    assert_int_equal(swan_st_scan(text, len, 8 + len, seen_sink, &v, &err), -1);
    assert_int_equal(v.n, 2);
    assert_non_null(strstr(err.msg, "'x' appears twice"));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_length),   cmocka_unit_test(test_valid_multi),
        cmocka_unit_test(test_scan_sink),
        cmocka_unit_test(test_padding_and_metadata), cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_truncated),       cmocka_unit_test(test_offsets_out_of_range),
        cmocka_unit_test(test_overlap),         cmocka_unit_test(test_size_mismatch),
        cmocka_unit_test(test_unknown_dtype),   cmocka_unit_test(test_shape_overflow),
        cmocka_unit_test(test_bad_shape_values), cmocka_unit_test(test_duplicate_name),
        cmocka_unit_test(test_many_tensors),    cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_strict_json),     cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_truncations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
