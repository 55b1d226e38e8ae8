/* test_common_gguf.c: the GGUF header reader (common/formats/gguf.c) on headers built
 * in memory: what a good header yields (row-major shapes, offsets, metadata of
 * interest, block-quantized sizes) and that every bound is enforced, including on
 * every truncation of a good header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/formats/gguf.h"

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void u32(buf *b, uint32_t v) { put(b, &v, 4); } /* little-endian host (dtype.c) */
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void str(buf *b, const char *s) {
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void pad_to(buf *b, size_t align) {
    while (b->n % align) put(b, "", 1);
}

/* A header: kvs given by the caller's function, then tensors, padded, then data. */
typedef struct tinfo {
    const char *name;
    uint32_t ndims;
    uint64_t dims[4];
    uint32_t type;
    uint64_t offset, nbytes;
} tinfo;

static void good_kvs(buf *b) {
    str(b, "general.architecture");
    u32(b, 8);
    str(b, "qwen3");
    str(b, "qwen3.block_count");
    u32(b, 4);
    u32(b, 28);
    str(b, "general.file_type");
    u32(b, 4);
    u32(b, 15);
    str(b, "tokenizer.ggml.scores"); /* an array of FLOAT32, skipped */
    u32(b, 9);
    u32(b, 6);
    u64(b, 3);
    for (int i = 0; i < 3; i++) u32(b, 0);
    str(b, "tokenizer.ggml.tokens"); /* an array of strings, skipped */
    u32(b, 9);
    u32(b, 8);
    u64(b, 2);
    str(b, "a");
    str(b, "bc");
}

static buf build(uint32_t version, uint64_t nkv, void (*kvs)(buf *), const tinfo *t, size_t nt) {
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, version);
    u64(&b, nt);
    u64(&b, nkv);
    if (kvs) kvs(&b);
    for (size_t i = 0; i < nt; i++) {
        str(&b, t[i].name);
        u32(&b, t[i].ndims);
        for (uint32_t d = 0; d < t[i].ndims; d++) u64(&b, t[i].dims[d]);
        u32(&b, t[i].type);
        u64(&b, t[i].offset);
    }
    pad_to(&b, 32);
    uint64_t end = 0;
    for (size_t i = 0; i < nt; i++)
        if (t[i].offset + t[i].nbytes > end) end = t[i].offset + t[i].nbytes;
    for (uint64_t i = 0; i < end; i++) put(&b, "\x11", 1);
    return b;
}

static const tinfo good_tensors[] = {
    {"token_embd.weight", 2, {64, 100}, 30, 0, 64 * 100 * 2},     /* BF16 [100, 64]   */
    {"blk.0.attn_q.weight", 2, {64, 64}, 1, 12800, 64 * 64 * 2},   /* F16              */
    {"blk.0.ffn_down.weight", 2, {256, 8}, 12, 20992, 8 * 144},    /* Q4_K: 8 blocks   */
    {"output_norm.weight", 1, {64}, 0, 22144, 256},                /* F32              */
};

static void test_good_header(void **state) {
    (void)state;
    buf b = build(3, 5, good_kvs, good_tensors, 4);
    swan_gguf_header h;
    swan_error err = {{0}};
    if (swan_gguf_parse(b.p, b.n, b.n, &h, &err)) fail_msg("%s", err.msg);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.info.version, 3);
    assert_int_equal(h.info.alignment, 32);
    assert_string_equal(h.info.architecture, "qwen3");
    assert_true(h.info.block_count == 28);
    assert_true(h.info.file_type == 15);
    assert_string_equal(swan_gguf_file_type_name(15), "MOSTLY_Q4_K_M");
    assert_int_equal(h.data_start % 32, 0);
    assert_true(h.data_start + 22144 + 256 == b.n);
    /* Row-major: GGUF's innermost-first [64, 100] is [100, 64]. */
    assert_string_equal(h.entries[0].name, "token_embd.weight");
    assert_int_equal(h.entries[0].dtype, SWAN_DT_BF16);
    assert_int_equal(h.entries[0].ndim, 2);
    assert_true(h.entries[0].shape[0] == 100 && h.entries[0].shape[1] == 64);
    assert_int_equal(h.entries[2].dtype, SWAN_DT_Q4_K);
    assert_true(h.entries[2].shape[0] == 8 && h.entries[2].shape[1] == 256);
    assert_true(h.entries[2].end - h.entries[2].begin == 8 * 144);
    assert_int_equal(h.entries[3].ndim, 1);
    swan_gguf_header_free(&h);

    /* Every truncation of the file is refused with one line, never a crash. */
    for (size_t n = 0; n < b.n; n++) {
        swan_error e2 = {{0}};
        if (swan_gguf_parse(b.p, n, n, &h, &e2) == 0) fail_msg("truncated to %zu accepted", n);
        assert_null(strchr(e2.msg, '\n'));
        assert_true(strlen(e2.msg) > 0);
    }
    free(b.p);
}

static void expect_fail(const buf *b, const char *needle) {
    swan_gguf_header h;
    swan_error err = {{0}};
    if (swan_gguf_parse(b->p, b->n, b->n, &h, &err) == 0) {
        swan_gguf_header_free(&h);
        fail_msg("accepted; expected '%s'", needle);
    }
    if (!strstr(err.msg, needle)) fail_msg("'%s' lacks '%s'", err.msg, needle);
    assert_int_equal(h.count, 0);
    assert_null(h.entries);
}

static void kv_alignment_64(buf *b) {
    str(b, "general.alignment");
    u32(b, 4);
    u32(b, 64);
}
static void kv_alignment_float(buf *b) {
    str(b, "general.alignment");
    u32(b, 6);
    u32(b, 0);
}
static void kv_nested_array(buf *b) {
    str(b, "x.nested");
    u32(b, 9);
    u32(b, 9);
    u64(b, 1);
}
static void kv_nul_in_key(buf *b) {
    u64(b, 3);
    put(b, "a\0b", 3);
    u32(b, 0);
    put(b, "", 1);
}

static void test_bad_headers(void **state) {
    (void)state;
    buf b = build(1, 0, NULL, good_tensors, 1);
    expect_fail(&b, "GGUF version 1 is not supported");
    free(b.p);

    b = build(0x03000000u, 0, NULL, good_tensors, 1);
    expect_fail(&b, "big-endian GGUF (version 3) is not supported");
    free(b.p);

    b = build(3, 5, good_kvs, good_tensors, 4);
    memcpy(b.p, "GGML", 4);
    expect_fail(&b, "bad magic");
    free(b.p);

    /* general.alignment 64: offset 96 is 32-aligned but not 64-aligned. */
    tinfo t64[] = {{"a", 1, {16}, 0, 0, 64}, {"b", 1, {16}, 0, 96, 64}};
    b = build(3, 1, kv_alignment_64, t64, 2);
    expect_fail(&b, "tensor 'b': offset 96 is not a multiple of the alignment 64");
    free(b.p);
    b = build(3, 1, kv_alignment_float, t64, 1);
    expect_fail(&b, "key 'general.alignment': expected UINT32, got FLOAT32");
    free(b.p);
    b = build(3, 1, kv_nested_array, t64, 1);
    expect_fail(&b, "key 'x.nested': arrays of arrays are not supported");
    free(b.p);
    b = build(3, 1, kv_nul_in_key, t64, 1);
    expect_fail(&b, "metadata key: string holds a NUL byte");
    free(b.p);

    tinfo dup[] = {{"a", 1, {16}, 0, 0, 64}, {"a", 1, {16}, 0, 64, 64}};
    b = build(3, 0, NULL, dup, 2);
    expect_fail(&b, "tensor 'a' appears twice");
    free(b.p);
    tinfo empty_name[] = {{"", 1, {16}, 0, 0, 64}};
    b = build(3, 0, NULL, empty_name, 1);
    expect_fail(&b, "tensor 0 has an empty name");
    free(b.p);
    tinfo zero_dims[] = {{"a", 0, {0}, 0, 0, 0}};
    b = build(3, 0, NULL, zero_dims, 1);
    expect_fail(&b, "tensor 'a': 0 dimensions");
    free(b.p);
    tinfo overflow[] = {{"a", 4, {1ull << 20, 1ull << 20, 1ull << 20, 1ull << 20}, 0, 0, 0}};
    b = build(3, 0, NULL, overflow, 1);
    expect_fail(&b, "tensor 'a': element count overflows");
    free(b.p);
    tinfo removed[] = {{"a", 1, {32}, 31, 0, 18}}; /* Q4_0_4_4, removed from GGUF */
    b = build(3, 0, NULL, removed, 1);
    expect_fail(&b, "tensor 'a': unknown GGML type 31");
    free(b.p);
}

/* A tensor-less file with metadata only is valid (nothing to analyze). */
static void test_no_tensors(void **state) {
    (void)state;
    buf b = build(2, 5, good_kvs, NULL, 0);
    swan_gguf_header h;
    swan_error err = {{0}};
    if (swan_gguf_parse(b.p, b.n, b.n, &h, &err)) fail_msg("%s", err.msg);
    assert_int_equal(h.count, 0);
    assert_int_equal(h.info.version, 2);
    swan_gguf_header_free(&h);
    free(b.p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_header),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_no_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
