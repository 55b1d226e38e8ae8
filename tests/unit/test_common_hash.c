/* test_common_hash.c: XXH64 (common/hash.c) and CRC-32C (common/crc32c.c) against
 * published vectors and values of the reference libxxhash 0.8.1; streaming equals
 * one-shot for every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/crc32c.h"
#include "common/hash.h"

/* byte i = (i*131 + 7) mod 256 */
static unsigned char *gen(size_t n) {
    unsigned char *b = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)((i * 131 + 7) & 0xff);
    return b;
}

static void test_xxh64_strings(void **state) {
    (void)state;
    assert_true(swan_xxh64("", 0, 0) == 0xef46db3751d8e999ull);
    assert_true(swan_xxh64("a", 1, 0) == 0xd24ec4f1a98c6e5bull);
    assert_true(swan_xxh64("abc", 3, 0) == 0x44bc2cf5ad770999ull);
    assert_true(swan_xxh64("123456789", 9, 0) == 0x8cb841db40e6ae83ull);
    assert_true(swan_xxh64("abc", 3, 1) == 0xbea9ca8199328908ull);
}

/* Computed with the reference library (libxxhash 0.8.1, XXH64) over gen(n). */
static const struct {
    size_t n;
    uint64_t h0, hs;
} ref[] = {
    {1, 0xa96c7f0ce858bbb7ull, 0x76349a430e97f416ull},
    {4, 0xfa212ae44b3bb23dull, 0xbeaa34e32eee8b3dull},
    {7, 0x2744460dd675d2c0ull, 0xa6f6b8935b53adeeull},
    {8, 0x994b676b71ce94ddull, 0xa2f8d42e3c57a4ffull},
    {31, 0x6711d55e306b5d8full, 0x1bb0ceeb5eb55765ull},
    {32, 0x07f7b8e3bc5d6e25ull, 0xceaa085e9fe58428ull},
    {33, 0x09f85eeb4e1cbe9full, 0x6613e855b6d5189aull},
    {63, 0xb7c9968c066cb6a5ull, 0xbc70b2d1f0e56425ull},
    {64, 0x50d4159a0411632eull, 0xeb828ec9fd6b56c5ull},
    {100, 0x9ddada11d3dc2d8full, 0x7ee9617e36670e3aull},
    {1000, 0x0bf0bdbcc82eb373ull, 0x76daacb31f662b67ull},
    {4096, 0xcf05adf75aca30cfull, 0x3e63c5de97f22274ull},
    {65537, 0x66b3d0bd2aa2acfaull, 0x7c162aec3434a93full},
};
#define SEED 0x9e3779b185ebca8dull

static void test_xxh64_reference(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof ref / sizeof *ref; k++) {
        unsigned char *b = gen(ref[k].n);
        assert_true(swan_xxh64(b, ref[k].n, 0) == ref[k].h0);
        assert_true(swan_xxh64(b, ref[k].n, SEED) == ref[k].hs);
        free(b);
    }
}

static void test_xxh64_streaming(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof ref / sizeof *ref; k++) {
        size_t n = ref[k].n;
        unsigned char *b = gen(n);
        /* every split step from 1 to 70 bytes, and a 2-piece split at every point */
        for (size_t step = 1; step <= 70; step++) {
            swan_xxh64_state s;
            swan_xxh64_init(&s, SEED);
            for (size_t i = 0; i < n; i += step) swan_xxh64_update(&s, b + i, n - i < step ? n - i : step);
            assert_true(swan_xxh64_digest(&s) == ref[k].hs);
        }
        if (n <= 1000)
            for (size_t cut = 0; cut <= n; cut++) {
                swan_xxh64_state s;
                swan_xxh64_init(&s, 0);
                swan_xxh64_update(&s, b, cut);
                swan_xxh64_update(&s, b + cut, n - cut);
                assert_true(swan_xxh64_digest(&s) == ref[k].h0);
            }
        free(b);
    }
}

static void test_crc32c(void **state) {
    (void)state;
    unsigned char buf[32];
    assert_true(swan_crc32c("123456789", 9, 0) == 0xe3069283u);
    assert_true(swan_crc32c("", 0, 0) == 0);
    /* RFC 3720 appendix B.4 */
    memset(buf, 0, 32);
    assert_true(swan_crc32c(buf, 32, 0) == 0x8a9136aau);
    memset(buf, 0xff, 32);
    assert_true(swan_crc32c(buf, 32, 0) == 0x62a8ab43u);
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)i;
    assert_true(swan_crc32c(buf, 32, 0) == 0x46dd794eu);
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)(31 - i);
    assert_true(swan_crc32c(buf, 32, 0) == 0x113fdb5cu);
    /* continuing a running CRC equals the CRC of the whole, for every split */
    unsigned char *b = gen(300);
    uint32_t whole = swan_crc32c(b, 300, 0);
    for (size_t cut = 0; cut <= 300; cut++)
        assert_true(swan_crc32c(b + cut, 300 - cut, swan_crc32c(b, cut, 0)) == whole);
    /* every single-bit flip changes it */
    for (size_t bit = 0; bit < 300 * 8; bit++) {
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_true(swan_crc32c(b, 300, 0) != whole);
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xxh64_strings), cmocka_unit_test(test_xxh64_reference),
        cmocka_unit_test(test_xxh64_streaming), cmocka_unit_test(test_crc32c)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
