/* test_common_json_writer.c: the streaming JSON writer produces JSON that parses
 * back to the values written, whatever the strings contain, and flags misuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "common/json_writer.h"

/* An in-memory FILE whose text is available after close. */
typedef struct memout {
    FILE *f;
    char *buf;
    size_t len;
} memout;

static void mo_open(memout *m) {
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    assert_non_null(m->f);
}

static char *mo_close(memout *m) {
    assert_int_equal(fclose(m->f), 0);
    return m->buf;
}

/* Checks that s is valid UTF-8 (RFC 3629) without a parser's leniency. */
static int valid_utf8(const unsigned char *s) {
    while (*s) {
        unsigned c = *s;
        int n = c < 0x80 ? 0 : (c >= 0xC2 && c <= 0xDF) ? 1 : (c >= 0xE0 && c <= 0xEF) ? 2
              : (c >= 0xF0 && c <= 0xF4) ? 3 : -1;
        if (n < 0) return 0;
        uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
        s++;
        for (int i = 0; i < n; i++, s++) {
            if ((*s & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (*s & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    }
    return 1;
}

static void test_nested_compact(void **state) {
    (void)state;
    memout m;
    mo_open(&m);
    swan_jw w;
    swan_jw_init(&w, m.f, 0);
    swan_jw_object_begin(&w);
    swan_jw_key(&w, "name");
    swan_jw_string(&w, "model.layers.0.q_proj");
    swan_jw_key(&w, "shape");
    swan_jw_array_begin(&w);
    swan_jw_uint(&w, 2048);
    swan_jw_uint(&w, 1024);
    swan_jw_array_end(&w);
    swan_jw_key(&w, "neg");
    swan_jw_int(&w, -42);
    swan_jw_key(&w, "big");
    swan_jw_uint(&w, UINT64_MAX);
    swan_jw_key(&w, "small");
    swan_jw_int(&w, INT64_MIN);
    swan_jw_key(&w, "x");
    swan_jw_double(&w, 0.1);
    swan_jw_key(&w, "t");
    swan_jw_bool(&w, true);
    swan_jw_key(&w, "f");
    swan_jw_bool(&w, false);
    swan_jw_key(&w, "n");
    swan_jw_null(&w);
    swan_jw_key(&w, "empty_o");
    swan_jw_object_begin(&w);
    swan_jw_object_end(&w);
    swan_jw_key(&w, "empty_a");
    swan_jw_array_begin(&w);
    swan_jw_array_end(&w);
    swan_jw_key(&w, "raw");
    swan_jw_raw(&w, "{\"model_type\":\"qwen3\",\"h\":[1,2]}");
    swan_jw_key(&w, "deep");
    swan_jw_array_begin(&w);
    swan_jw_object_begin(&w);
    swan_jw_key(&w, "a");
    swan_jw_array_begin(&w);
    swan_jw_array_begin(&w);
    swan_jw_int(&w, 7);
    swan_jw_array_end(&w);
    swan_jw_array_end(&w);
    swan_jw_object_end(&w);
    swan_jw_string(&w, "second");
    swan_jw_array_end(&w);
    swan_jw_object_end(&w);
    assert_false(swan_jw_error(&w));
    char *text = mo_close(&m);

    assert_null(strchr(text, '\n')); /* compact: one line */
    assert_non_null(strstr(text, "\"x\":0.1,")); /* shortest form that round-trips */
    assert_non_null(strstr(text, "18446744073709551615"));
    assert_non_null(strstr(text, "-9223372036854775808"));
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "name")->valuestring, "model.layers.0.q_proj");
    cJSON *shape = cJSON_GetObjectItem(root, "shape");
    assert_int_equal(cJSON_GetArraySize(shape), 2);
    assert_int_equal(cJSON_GetArrayItem(shape, 0)->valueint, 2048);
    assert_int_equal(cJSON_GetArrayItem(shape, 1)->valueint, 1024);
    assert_int_equal(cJSON_GetObjectItem(root, "neg")->valueint, -42);
    assert_true(cJSON_GetObjectItem(root, "x")->valuedouble == 0.1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(root, "t")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "f")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(root, "n")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "empty_o")), 0);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(root, "empty_o")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(root, "empty_a")));
    cJSON *raw = cJSON_GetObjectItem(root, "raw");
    assert_string_equal(cJSON_GetObjectItem(raw, "model_type")->valuestring, "qwen3");
    cJSON *deep = cJSON_GetObjectItem(root, "deep");
    assert_int_equal(cJSON_GetArraySize(deep), 2);
    cJSON *a = cJSON_GetObjectItem(cJSON_GetArrayItem(deep, 0), "a");
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(a, 0), 0)->valueint, 7);
    assert_string_equal(cJSON_GetArrayItem(deep, 1)->valuestring, "second");
    cJSON_Delete(root);
    free(text);
}

/* Same layout as Python's json.dumps(obj, indent=2). */
static void test_pretty_matches_python(void **state) {
    (void)state;
    memout m;
    mo_open(&m);
    swan_jw w;
    swan_jw_init(&w, m.f, 2);
    swan_jw_object_begin(&w);
    swan_jw_key(&w, "a");
    swan_jw_int(&w, 1);
    swan_jw_key(&w, "b");
    swan_jw_array_begin(&w);
    swan_jw_int(&w, 1);
    swan_jw_object_begin(&w);
    swan_jw_key(&w, "c");
    swan_jw_null(&w);
    swan_jw_object_end(&w);
    swan_jw_array_end(&w);
    swan_jw_key(&w, "e");
    swan_jw_object_begin(&w);
    swan_jw_object_end(&w);
    swan_jw_key(&w, "f");
    swan_jw_array_begin(&w);
    swan_jw_array_end(&w);
    swan_jw_object_end(&w);
    assert_false(swan_jw_error(&w));
    char *text = mo_close(&m);
    /* python3 -c 'import json;print(json.dumps({"a":1,"b":[1,{"c":None}],"e":{},"f":[]},indent=2))' */
    assert_string_equal(text,
                        "{\n"
                        "  \"a\": 1,\n"
                        "  \"b\": [\n"
                        "    1,\n"
                        "    {\n"
                        "      \"c\": null\n"
                        "    }\n"
                        "  ],\n"
                        "  \"e\": {},\n"
                        "  \"f\": []\n"
                        "}");
    free(text);
}

static void test_hostile_strings(void **state) {
    (void)state;
    /* Valid inputs must round-trip exactly. */
    static const char *valid[] = {
        "quote\"in\"side", "back\\slash\\", "new\nline\r\ttab", "\x01\x02\x1f\x7f ctl",
        "\b\f", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "</script>", "",
    };
    /* Invalid UTF-8 and what it must become (each bad byte -> U+FFFD). */
    static const struct { const char *in, *out; } bad[] = {
        {"a\xFF" "b", "a\xEF\xBF\xBD" "b"},
        {"\xC3", "\xEF\xBF\xBD"},                                 /* truncated */
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong '/' */
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {"\xF4\x90\x80\x80x", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx"},
        {"\x80\xC3\xA9", "\xEF\xBF\xBD\xC3\xA9"},                 /* stray continuation */
    };
    size_t nv = sizeof valid / sizeof valid[0], nb = sizeof bad / sizeof bad[0];
    memout m;
    mo_open(&m);
    swan_jw w;
    swan_jw_init(&w, m.f, 1);
    swan_jw_object_begin(&w);
    for (size_t i = 0; i < nv; i++) {
        swan_jw_key(&w, valid[i]); /* hostile keys too */
        swan_jw_string(&w, valid[i]);
    }
    swan_jw_key(&w, "bad");
    swan_jw_array_begin(&w);
    for (size_t i = 0; i < nb; i++) swan_jw_string(&w, bad[i].in);
    swan_jw_array_end(&w);
    swan_jw_object_end(&w);
    assert_false(swan_jw_error(&w));
    char *text = mo_close(&m);

    assert_true(valid_utf8((const unsigned char *)text));
    for (const char *c = text; *c; c++) /* no raw control chars but the layout's \n */
        assert_true((unsigned char)*c >= 0x20 || *c == '\n');
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(root), (int)nv + 1);
    for (size_t i = 0; i < nv; i++) {
        cJSON *it = cJSON_GetArrayItem(root, (int)i);
        assert_string_equal(it->string, valid[i]);
        assert_string_equal(it->valuestring, valid[i]);
    }
    cJSON *arr = cJSON_GetObjectItem(root, "bad");
    assert_int_equal(cJSON_GetArraySize(arr), (int)nb);
    for (size_t i = 0; i < nb; i++)
        assert_string_equal(cJSON_GetArrayItem(arr, (int)i)->valuestring, bad[i].out);
    cJSON_Delete(root);
    free(text);
}

static double rand_double(uint64_t *s) {
    for (;;) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        double d;
        memcpy(&d, s, sizeof d);
        if (isfinite(d)) return d;
    }
}

static void test_doubles_round_trip(void **state) {
    (void)state;
    enum { N = 2000 };
    static double vals[N];
    static const double special[] = {0.0, -0.0, 1.0, 2.0, -1.5, 0.1, 1e20, 1e-300,
                                     4.9406564584124654e-324, 1.7976931348623157e308,
                                     123456789012345678.0, 3.0e-7};
    size_t ns = sizeof special / sizeof special[0];
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < N; i++)
        vals[i] = i < ns ? special[i] : (i % 2 ? rand_double(&s) : (double)(i * 0.37 - 300.0));
    memout m;
    mo_open(&m);
    swan_jw w;
    swan_jw_init(&w, m.f, 0);
    swan_jw_array_begin(&w);
    for (size_t i = 0; i < N; i++) swan_jw_double(&w, vals[i]);
    swan_jw_double(&w, NAN);
    swan_jw_double(&w, INFINITY);
    swan_jw_double(&w, -INFINITY);
    swan_jw_array_end(&w);
    assert_false(swan_jw_error(&w));
    char *text = mo_close(&m);

    cJSON *root = cJSON_Parse(text); /* every token is a valid JSON number or null */
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(root), N + 3);
    for (int i = 0; i < 3; i++) assert_true(cJSON_IsNull(cJSON_GetArrayItem(root, N + i)));
    cJSON_Delete(root);
    const char *p = text + 1;
    for (size_t i = 0; i < N; i++) {
        char *end;
        double back = strtod(p, &end);
        assert_true(end > p);
        assert_memory_equal(&back, &vals[i], sizeof back); /* bit-exact, incl. -0 */
        assert_true(*end == ',');
        p = end + 1;
    }
    assert_string_equal(p, "null,null,null]");
    free(text);
}

/* Runs a misuse scenario and returns whether the writer reported an error. */
typedef void (*scenario)(swan_jw *w);
static bool fails(scenario fn) {
    memout m;
    mo_open(&m);
    swan_jw w;
    swan_jw_init(&w, m.f, 2);
    fn(&w);
    bool e = swan_jw_error(&w);
    free(mo_close(&m));
    return e;
}
static void s_ok(swan_jw *w) { swan_jw_object_begin(w); swan_jw_key(w, "k"); swan_jw_int(w, 1); swan_jw_object_end(w); }
static void s_end_without_begin(swan_jw *w) { swan_jw_object_end(w); }
static void s_array_end_without_begin(swan_jw *w) { swan_jw_array_end(w); }
static void s_value_without_key(swan_jw *w) { swan_jw_object_begin(w); swan_jw_int(w, 1); swan_jw_object_end(w); }
static void s_key_in_array(swan_jw *w) { swan_jw_array_begin(w); swan_jw_key(w, "k"); swan_jw_int(w, 1); swan_jw_array_end(w); }
static void s_key_after_key(swan_jw *w) { swan_jw_object_begin(w); swan_jw_key(w, "a"); swan_jw_key(w, "b"); swan_jw_int(w, 1); swan_jw_object_end(w); }
static void s_dangling_key(swan_jw *w) { swan_jw_object_begin(w); swan_jw_key(w, "a"); swan_jw_object_end(w); }
static void s_mismatched_end(swan_jw *w) { swan_jw_object_begin(w); swan_jw_array_end(w); }
static void s_unclosed(swan_jw *w) { swan_jw_array_begin(w); swan_jw_int(w, 1); }
static void s_two_documents(swan_jw *w) { swan_jw_int(w, 1); swan_jw_int(w, 2); }
static void s_max_depth_ok(swan_jw *w) {
    for (int i = 0; i < SWAN_JW_MAX_DEPTH - 1; i++) swan_jw_array_begin(w);
    for (int i = 0; i < SWAN_JW_MAX_DEPTH - 1; i++) swan_jw_array_end(w);
}
static void s_depth_overflow(swan_jw *w) {
    for (int i = 0; i < SWAN_JW_MAX_DEPTH + 5; i++) swan_jw_array_begin(w);
    for (int i = 0; i < SWAN_JW_MAX_DEPTH + 5; i++) swan_jw_array_end(w);
}

static void test_nesting_errors(void **state) {
    (void)state;
    assert_false(fails(s_ok));
    assert_false(fails(s_max_depth_ok));
    assert_true(fails(s_end_without_begin));
    assert_true(fails(s_array_end_without_begin));
    assert_true(fails(s_value_without_key));
    assert_true(fails(s_key_in_array));
    assert_true(fails(s_key_after_key));
    assert_true(fails(s_dangling_key));
    assert_true(fails(s_mismatched_end));
    assert_true(fails(s_unclosed));
    assert_true(fails(s_two_documents));
    assert_true(fails(s_depth_overflow));
}

static void test_write_failure_is_reported(void **state) {
    (void)state;
    char path[] = "/tmp/swan_jw_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *ro = fopen(path, "r"); /* writing to a read-only stream fails */
    assert_non_null(ro);
    swan_jw w;
    swan_jw_init(&w, ro, 0);
    swan_jw_array_begin(&w);
    swan_jw_string(&w, "x");
    swan_jw_array_end(&w);
    fflush(ro);
    assert_true(swan_jw_error(&w));
    fclose(ro);
    unlink(path);
    close(fd);
}

/* The manifest's compact form (double_digits = 10) has its own formatter: it must
 * agree with printf's "%.10g" to within one unit in the 10th digit, and be JSON. */
static void test_ten_digit_doubles(void **state) {
    (void)state;
    uint64_t x = 88172645463325252ull; /* xorshift: a fixed, spread-out sample */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double mant = (double)(x >> 11) * 0x1p-53;
        double v = (mant + 0.05) * pow(10.0, (double)((int)(x % 17) - 7));
        if (x & 1) v = -v;
        memout m;
        mo_open(&m);
        swan_jw w;
        swan_jw_init(&w, m.f, 0);
        w.double_digits = 10;
        swan_jw_double(&w, v);
        assert_false(swan_jw_error(&w));
        char *text = mo_close(&m);
        char ref[64];
        snprintf(ref, sizeof ref, "%.10g", v);
        double got = strtod(text, NULL), want = strtod(ref, NULL);
        if (fabs(got - want) > 1.01e-9 * fabs(want))
            fail_msg("%.17g printed as %s, printf says %s", v, text, ref);
        cJSON *parsed = cJSON_Parse(text);
        assert_non_null(parsed);
        cJSON_Delete(parsed);
        free(text);
    }
}

/* html_safe: "</" in strings becomes "<\/" (JSON inside an HTML <script>), nothing
 * else changes; the default leaves '/' alone. %.6g output equals printf's. */
static void test_html_safe(void **state) {
    (void)state;
    memout m;
    for (int safe = 0; safe <= 1; safe++) {
        mo_open(&m);
        swan_jw w;
        swan_jw_init(&w, m.f, 0);
        w.html_safe = safe;
        w.double_digits = 6;
        swan_jw_object_begin(&w);
        swan_jw_key_string(&w, "a</script>", "</b/c<</");
        swan_jw_key_double(&w, "x", 0.123456789);
        swan_jw_object_end(&w);
        assert_false(swan_jw_error(&w));
        char *out = mo_close(&m);
        if (safe)
            assert_string_equal(out, "{\"a<\\/script>\":\"<\\/b/c<<\\/\",\"x\":0.123457}");
        else
            assert_string_equal(out, "{\"a</script>\":\"</b/c<</\",\"x\":0.123457}");
        free(out);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_compact),
        cmocka_unit_test(test_html_safe),
        cmocka_unit_test(test_pretty_matches_python),
        cmocka_unit_test(test_hostile_strings),
        cmocka_unit_test(test_doubles_round_trip),
        cmocka_unit_test(test_nesting_errors),
        cmocka_unit_test(test_write_failure_is_reported),
        cmocka_unit_test(test_ten_digit_doubles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
