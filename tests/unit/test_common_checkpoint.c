/* test_common_checkpoint.c: opening checkpoint directories, good and bad.
 *
 * Small checkpoints are written into a mkdtemp directory (single file, sharded with an
 * index, index next to a stray consolidated file, hostile indexes, empty and missing
 * files). When SWAN_SHARED is set, the shared fixtures are opened too: bad/ cases must
 * fail or pass as bad/EXPECT.json says, and the tensor counts of the good fixtures are
 * checked against counts taken independently from their header/index JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/checkpoint.h"

typedef struct tspec {
    const char *name;
    const char *dtype;
    int ndim;
    uint64_t shape[4];
} tspec;

/* Element sizes written out here, independent of dtype.c. */
static uint64_t esize(const char *dt) {
    if (!strcmp(dt, "F64") || !strcmp(dt, "I64")) return 8;
    if (!strcmp(dt, "F32") || !strcmp(dt, "I32")) return 4;
    if (!strcmp(dt, "F16") || !strcmp(dt, "BF16")) return 2;
    return 1;
}

static char g_dir[64];

static int setup(void **state) {
    (void)state;
    strcpy(g_dir, "/tmp/swan_ck_test_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    /* Only files we created, one level deep plus sub-directories one level deep. */
    DIR *d = opendir(g_dir);
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", g_dir, de->d_name);
        if (unlink(p) != 0) {
            DIR *s = opendir(p);
            struct dirent *se;
            while (s && (se = readdir(s)) != NULL) {
                char q[1024];
                snprintf(q, sizeof q, "%s/%s", p, se->d_name);
                unlink(q);
            }
            if (s) closedir(s);
            rmdir(p);
        }
    }
    closedir(d);
    rmdir(g_dir);
    return 0;
}

static void put_file(const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Writes a safetensors file with tensors stored back to back, zero data. Returns the
 * header length. */
static uint64_t write_st(const char *name, const tspec *t, size_t n) {
    size_t cap = 256 + n * 160, used = 0;
    char *json = malloc(cap);
    assert_non_null(json);
    uint64_t off = 0;
    json[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        uint64_t ne = 1;
        used += (size_t)snprintf(json + used, cap - used, "%s\"%s\": {\"dtype\": \"%s\", \"shape\": [",
                                 i ? ", " : "", t[i].name, t[i].dtype);
        for (int k = 0; k < t[i].ndim; k++) {
            used += (size_t)snprintf(json + used, cap - used, "%s%llu", k ? ", " : "",
                                     (unsigned long long)t[i].shape[k]);
            ne *= t[i].shape[k];
        }
        uint64_t nb = ne * esize(t[i].dtype);
        used += (size_t)snprintf(json + used, cap - used, "], \"data_offsets\": [%llu, %llu]}",
                                 (unsigned long long)off, (unsigned long long)(off + nb));
        off += nb;
    }
    json[used++] = '}';
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8; i++) fputc((int)(((uint64_t)used >> (8 * i)) & 0xff), f);
    fwrite(json, 1, used, f);
    fclose(f);
    assert_int_equal(truncate(p, (off_t)(8 + used + off)), 0);
    free(json);
    return used;
}

static const swan_tensor *find(const swan_checkpoint *ck, const char *name) {
    for (size_t i = 0; i < ck->ntensors; i++)
        if (!strcmp(ck->tensors[i].name, name)) return &ck->tensors[i];
    return NULL;
}

static void open_ok(const char *dir, swan_checkpoint *ck) {
    swan_error err = {{0}};
    if (swan_checkpoint_open(dir, ck, &err) != 0) fail_msg("open %s failed: %s", dir, err.msg);
}

/* Fails, one line, starting with `prefix`, containing `needle`. */
static void open_fails(const char *dir, const char *prefix, const char *needle) {
    swan_checkpoint ck;
    swan_error err = {{0}};
    if (swan_checkpoint_open(dir, &ck, &err) == 0) fail_msg("open %s succeeded", dir);
    assert_int_equal(ck.ntensors, 0);
    assert_null(ck.tensors);
    assert_true(strlen(err.msg) > 0);
    assert_null(strchr(err.msg, '\n'));
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", err.msg, prefix);
    if (!strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void check_sorted(const swan_checkpoint *ck) {
    for (size_t i = 1; i < ck->ntensors; i++) {
        const swan_tensor *a = &ck->tensors[i - 1], *b = &ck->tensors[i];
        assert_true(a->shard < b->shard || (a->shard == b->shard && a->offset <= b->offset));
    }
}

/* ---------------------------------------------------------------------------- */

static void test_single_file(void **state) {
    (void)state;
    const tspec t[] = {
        {"model.embed_tokens.weight", "BF16", 2, {64, 32}},
        {"model.norm.weight", "F32", 1, {32}},
        {"lm_head.weight", "F16", 2, {64, 32}},
        {"empty", "F32", 2, {0, 32}},
    };
    uint64_t hl = write_st("model.safetensors", t, 4);
    put_file("config.json", "{\"hidden_size\": 32}");

    swan_checkpoint ck;
    open_ok(g_dir, &ck);
    assert_int_equal(ck.has_index, 0);
    assert_int_equal(ck.nshards, 1);
    assert_string_equal(ck.shards[0].file, "model.safetensors");
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", g_dir);
    assert_string_equal(ck.shards[0].path, path);
    assert_int_equal(ck.shards[0].data_start, 8 + hl);
    uint64_t data = 64 * 32 * 2 + 32 * 4 + 64 * 32 * 2;
    assert_int_equal(ck.shards[0].size, 8 + hl + data);
    assert_int_equal(ck.ntensors, 4);
    assert_int_equal(ck.ignored_tensors, 0);
    assert_string_equal(ck.config_json, "{\"hidden_size\": 32}");
    check_sorted(&ck);
    assert_string_equal(ck.tensors[0].name, "model.embed_tokens.weight");

    const swan_tensor *n = find(&ck, "model.norm.weight");
    assert_non_null(n);
    assert_int_equal(n->offset, 8 + hl + 64 * 32 * 2);
    assert_int_equal(n->nbytes, 128);
    assert_int_equal(n->nelem, 32);
    assert_int_equal(n->dtype, SWAN_DT_F32);
    const swan_tensor *l = find(&ck, "lm_head.weight");
    assert_int_equal(l->ndim, 2);
    assert_int_equal(l->shape[0], 64);
    assert_int_equal(l->shape[1], 32);
    assert_int_equal(l->dtype, SWAN_DT_F16);
    assert_int_equal(find(&ck, "empty")->nbytes, 0);
    assert_int_equal(swan_checkpoint_bytes(&ck), data);
    swan_checkpoint_free(&ck);
    assert_null(ck.tensors);

    /* Trailing slash: same result, paths printed without "//". */
    char slash[128];
    snprintf(slash, sizeof slash, "%s/", g_dir);
    open_ok(slash, &ck);
    assert_string_equal(ck.shards[0].path, path);
    swan_checkpoint_free(&ck);

    /* Broken config.json is dropped, not an error. */
    put_file("config.json", "{\"hidden_size\": ");
    open_ok(g_dir, &ck);
    assert_null(ck.config_json);
    assert_int_equal(ck.ntensors, 4);
    swan_checkpoint_free(&ck);
}

static void test_multi_file_no_index(void **state) {
    (void)state;
    const tspec b[] = {{"b.x", "F32", 2, {4, 4}}, {"b.y", "F32", 2, {4, 4}}};
    const tspec a[] = {{"a.x", "F16", 2, {8, 8}}};
    write_st("b.safetensors", b, 2);
    write_st("a.safetensors", a, 1);
    put_file("notes.txt", "not a shard");
    swan_checkpoint ck;
    open_ok(g_dir, &ck);
    assert_int_equal(ck.nshards, 2);
    assert_string_equal(ck.shards[0].file, "a.safetensors");
    assert_string_equal(ck.shards[1].file, "b.safetensors");
    assert_int_equal(ck.ntensors, 3);
    assert_null(ck.config_json);
    check_sorted(&ck);
    assert_string_equal(ck.tensors[0].name, "a.x");
    assert_int_equal(ck.tensors[0].shard, 0);
    assert_int_equal(find(&ck, "b.y")->shard, 1);
    assert_int_equal(find(&ck, "b.y")->offset, ck.shards[1].data_start + 64);
    swan_checkpoint_free(&ck);

    /* The same name in two files without an index cannot be resolved. */
    const tspec c[] = {{"b.y", "F32", 2, {4, 4}}};
    write_st("c.safetensors", c, 1);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/c.safetensors", g_dir);
    open_fails(g_dir, prefix, "tensor 'b.y' is also in b.safetensors");
}

/* Names are decoded in place in each header's text and kept in the checkpoint's name
 * blocks (the header text cut down to its names, or the index's copy): escaped names,
 * an empty name, and names of very different lengths must all come out whole, each
 * tensor with its own name and offset, in every shard. */
static void test_names_kept(void **state) {
    (void)state;
    char longname[301];
    memset(longname, 'n', 300);
    longname[300] = '\0';
    const tspec a[] = {{"e\\u00e9\\u4e2d.w", "F16", 2, {2, 2}}, {"", "F32", 1, {3}},
                       {"q\\\"\\\\\\n.w", "F16", 2, {4, 2}}, {longname, "F32", 1, {1}},
                       {"\\u0041\\u0042", "F16", 1, {5}}};
    const tspec b[] = {{"m.\\ud83d\\ude00.w", "BF16", 2, {2, 8}}, {"plain.w", "F32", 1, {2}}};
    write_st("a.safetensors", a, 5);
    write_st("b.safetensors", b, 2);
    const char *want_a[] = {"e\xc3\xa9\xe4\xb8\xad.w", "", "q\"\\\n.w", longname, "AB"};
    const uint64_t size_a[] = {8, 12, 16, 4, 10};
    swan_checkpoint ck;
    open_ok(g_dir, &ck);
    assert_int_equal(ck.ntensors, 7);
    uint64_t off = 0;
    for (size_t i = 0; i < 5; i++) { /* shard a, in header (= offset) order */
        assert_string_equal(ck.tensors[i].name, want_a[i]);
        assert_int_equal(ck.tensors[i].shard, 0);
        assert_int_equal(ck.tensors[i].offset, ck.shards[0].data_start + off);
        assert_int_equal(ck.tensors[i].nbytes, size_a[i]);
        off += size_a[i];
    }
    assert_string_equal(ck.tensors[5].name, "m.\xf0\x9f\x98\x80.w");
    assert_string_equal(ck.tensors[6].name, "plain.w");
    assert_int_equal(ck.tensors[6].offset, ck.shards[1].data_start + 32);
    swan_checkpoint_free(&ck);

    /* With an index naming them in its own spelling (escaped differently), the
     * tensors carry the decoded names, and a shard's extra tensor is ignored. */
    put_file("model.safetensors.index.json",
             "{\"weight_map\": {\"\\u0065\\u00e9\\u4e2d.w\": \"a.safetensors\", \"AB\": "
             "\"a.safetensors\", \"plain\\u002ew\": \"b.safetensors\"}}");
    open_ok(g_dir, &ck);
    assert_int_equal(ck.ntensors, 3);
    assert_int_equal(ck.ignored_tensors, 4);
    assert_string_equal(ck.tensors[0].name, want_a[0]);
    assert_int_equal(ck.tensors[0].offset, ck.shards[0].data_start);
    assert_string_equal(ck.tensors[1].name, "AB");
    assert_int_equal(ck.tensors[1].offset, ck.shards[0].data_start + 8 + 12 + 16 + 4);
    assert_string_equal(ck.tensors[2].name, "plain.w");
    assert_int_equal(ck.tensors[2].shard, 1);
    swan_checkpoint_free(&ck);
}

static void test_sharded_index(void **state) {
    (void)state;
    const tspec s1[] = {{"l0.w", "F32", 2, {16, 16}}, {"l0.extra", "F32", 2, {2, 2}}};
    const tspec s2[] = {{"l1.w", "BF16", 2, {16, 16}}, {"l1.n", "F32", 1, {16}}};
    const tspec all[] = {{"l0.w", "F32", 2, {16, 16}}, {"l1.w", "BF16", 2, {16, 16}},
                         {"l1.n", "F32", 1, {16}}};
    write_st("model-00001-of-00002.safetensors", s1, 2);
    write_st("model-00002-of-00002.safetensors", s2, 2);
    write_st("consolidated.safetensors", all, 3);
    put_file("model.safetensors.index.json",
             "{\"metadata\": {\"total_size\": 2112}, \"weight_map\": {"
             "\"l1.n\": \"model-00002-of-00002.safetensors\","
             "\"l0.w\": \"model-00001-of-00002.safetensors\","
             "\"l1.w\": \"model-00002-of-00002.safetensors\"}}");
    swan_checkpoint ck;
    open_ok(g_dir, &ck);
    assert_int_equal(ck.has_index, 1);
    assert_int_equal(ck.nshards, 2);
    assert_string_equal(ck.shards[0].file, "model-00001-of-00002.safetensors");
    assert_string_equal(ck.shards[1].file, "model-00002-of-00002.safetensors");
    assert_int_equal(ck.ntensors, 3);
    assert_int_equal(ck.ignored_tensors, 1);
    assert_null(find(&ck, "l0.extra"));
    assert_int_equal(find(&ck, "l0.w")->shard, 0);
    assert_int_equal(find(&ck, "l1.w")->shard, 1);
    assert_int_equal(find(&ck, "l1.n")->offset, ck.shards[1].data_start + 16 * 16 * 2);
    check_sorted(&ck);
    assert_int_equal(swan_checkpoint_bytes(&ck), 16 * 16 * 4 + 16 * 16 * 2 + 16 * 4);
    swan_checkpoint_free(&ck);

    /* A shard in a sub-directory is fine as long as it stays inside. */
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sub", g_dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_st("sub/s.safetensors", s2, 2);
    put_file("model.safetensors.index.json",
             "{\"weight_map\": {\"l1.w\": \"sub/s.safetensors\", \"l1.n\": \"sub/s.safetensors\"}}");
    open_ok(g_dir, &ck);
    assert_int_equal(ck.ntensors, 2);
    swan_checkpoint_free(&ck);
}

static void test_index_errors(void **state) {
    (void)state;
    const tspec t[] = {{"w", "F32", 2, {8, 8}}};
    write_st("model.safetensors", t, 1);
    char ipath[512], spath[512];
    snprintf(ipath, sizeof ipath, "%s/model.safetensors.index.json", g_dir);
    snprintf(spath, sizeof spath, "%s/model.safetensors", g_dir);

    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\": \"/etc/hostname\"}}");
    open_fails(g_dir, ipath, "'/etc/hostname' is not a relative path inside the model directory");
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\": \"../model.safetensors\"}}");
    open_fails(g_dir, ipath, "not a relative path");
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\": \"a/../../x.safetensors\"}}");
    open_fails(g_dir, ipath, "not a relative path");
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\": \"\"}}");
    open_fails(g_dir, ipath, "not a relative path");

    put_file("model.safetensors.index.json",
             "{\"weight_map\": {\"w\": \"model.safetensors\", \"v\": \"model-2.safetensors\"}}");
    char missing[512];
    snprintf(missing, sizeof missing, "%s/model-2.safetensors", g_dir);
    open_fails(g_dir, missing, "does not exist");

    put_file("model.safetensors.index.json",
             "{\"weight_map\": {\"w\": \"model.safetensors\", \"q\": \"model.safetensors\"}}");
    open_fails(g_dir, spath, "tensor 'q' named in model.safetensors.index.json is not in this file");

    put_file("model.safetensors.index.json",
             "{\"weight_map\": {\"w\": \"model.safetensors\", \"w\": \"model.safetensors\"}}");
    open_fails(g_dir, ipath, "tensor 'w' appears twice in weight_map");
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\": 3}}");
    open_fails(g_dir, ipath, "'w' is not a file name string");
    put_file("model.safetensors.index.json", "{\"weight_map\": {}}");
    open_fails(g_dir, ipath, "names no tensors");
    put_file("model.safetensors.index.json", "{\"metadata\": {}}");
    open_fails(g_dir, ipath, "no \"weight_map\" object");
    put_file("model.safetensors.index.json", "{\"weight_map\": ");
    open_fails(g_dir, ipath, "not valid JSON");
    /* The index is read by the strict scanner: the first weight_map decides, the whole
     * document must be JSON (valid UTF-8, nothing after it), names hold no NUL. */
    put_file("model.safetensors.index.json",
             "{\"weight_map\": 5, \"weight_map\": {\"w\": \"model.safetensors\"}}");
    open_fails(g_dir, ipath, "no \"weight_map\" object");
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\": \"model.safetensors\"}} x");
    open_fails(g_dir, ipath, "not valid JSON");
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\": \"model.safetensors\"},}");
    open_fails(g_dir, ipath, "not valid JSON");
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\xff\": \"model.safetensors\"}}");
    open_fails(g_dir, ipath, "invalid UTF-8");
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\\u0000\": \"model.safetensors\"}}");
    open_fails(g_dir, ipath, "NUL");

    /* A bad shard header is reported with the shard's path. */
    const tspec bad[] = {{"w", "F7", 2, {8, 8}}};
    write_st("model.safetensors", bad, 1);
    put_file("model.safetensors.index.json", "{\"weight_map\": {\"w\": \"model.safetensors\"}}");
    char msg[600];
    snprintf(msg, sizeof msg, "%s: tensor 'w': dtype 'F7' is not a safetensors dtype", spath);
    open_fails(g_dir, msg, "F7");
}

static void test_dir_errors(void **state) {
    (void)state;
    put_file("README.txt", "nothing here");
    open_fails(g_dir, g_dir, "no *.safetensors or *.gguf files in");

    /* A directory named like a shard is not a shard. */
    char sub[512];
    snprintf(sub, sizeof sub, "%s/x.safetensors", g_dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    open_fails(g_dir, g_dir, "no *.safetensors or *.gguf files in");

    char readme[512];
    snprintf(readme, sizeof readme, "%s/README.txt", g_dir);
    open_fails(readme, readme, "not a directory");
    char nodir[512];
    snprintf(nodir, sizeof nodir, "%s/nope", g_dir);
    open_fails(nodir, nodir, "cannot open");

    put_file("model.safetensors", "");
    char empty[512];
    snprintf(empty, sizeof empty, "%s/model.safetensors", g_dir);
    open_fails(g_dir, empty, "file is empty");

    /* An unknown dtype, exact format. */
    const tspec t[] = {{"w", "F7", 2, {64, 64}}};
    write_st("model.safetensors", t, 1);
    char msg[600];
    snprintf(msg, sizeof msg, "%s/model.safetensors: tensor 'w': dtype 'F7' is not a safetensors dtype",
             g_dir);
    open_fails(g_dir, msg, "F7");
}

/* 100k tensors over 4 shards with an index: must open fast (sorted lookups). */
static void test_scale(void **state) {
    (void)state;
    const size_t n = 100000, per = n / 4;
    tspec *t = calloc(per, sizeof *t);
    char (*names)[24] = calloc(n, sizeof *names);
    size_t icap = n * 64 + 64, iused = 0;
    char *index = malloc(icap);
    assert_true(t && names && index);
    iused += (size_t)snprintf(index, icap, "{\"weight_map\": {");
    for (size_t s = 0; s < 4; s++) {
        char file[64];
        snprintf(file, sizeof file, "shard-%zu.safetensors", s);
        for (size_t i = 0; i < per; i++) {
            size_t k = s * per + i;
            snprintf(names[k], sizeof names[k], "layer.%zu.w", k);
            t[i] = (tspec){names[k], "F16", 2, {(uint64_t)(1 + k % 3), 4}};
            iused += (size_t)snprintf(index + iused, icap - iused, "%s\"%s\": \"%s\"",
                                      k ? ", " : "", names[k], file);
        }
        write_st(file, t, per);
    }
    snprintf(index + iused, icap - iused, "}}");
    put_file("model.safetensors.index.json", index);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    swan_checkpoint ck;
    open_ok(g_dir, &ck);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("opened %zu tensors in 4 shards in %.3f s\n", ck.ntensors, sec);
    assert_int_equal(ck.ntensors, n);
    assert_int_equal(ck.nshards, 4);
    check_sorted(&ck);
    uint64_t expect = 0;
    for (size_t k = 0; k < n; k++) expect += (1 + k % 3) * 4 * 2;
    assert_int_equal(swan_checkpoint_bytes(&ck), expect);
    assert_true(sec < 10.0);
    swan_checkpoint_free(&ck);
    free(t);
    free(names);
    free(index);
}

/* --- shared fixtures ---------------------------------------------------------- */

static const char *shared_dir(void) {
    const char *s = getenv("SWAN_SHARED");
    struct stat st;
    if (!s || !*s || stat(s, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return s;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (len) *len = (size_t)n;
    return buf;
}

/* Independent count: weight_map entries of the index, or "data_offsets" keys in the
 * headers of all *.safetensors files. */
static size_t count_tensors(const char *dir) {
    char p[1024];
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    char *idx = slurp(p, NULL);
    if (idx) {
        cJSON *j = cJSON_Parse(idx);
        free(idx);
        assert_non_null(j);
        size_t n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(j, "weight_map"));
        cJSON_Delete(j);
        return n;
    }
    size_t total = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 12 || strcmp(de->d_name + l - 12, ".safetensors") != 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        FILE *f = fopen(p, "rb");
        assert_non_null(f);
        unsigned char pre[8];
        assert_int_equal(fread(pre, 1, 8, f), 8);
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = (hl << 8) | pre[i];
        char *h = malloc(hl + 1);
        assert_int_equal(fread(h, 1, hl, f), hl);
        h[hl] = '\0';
        fclose(f);
        for (const char *q = h; (q = strstr(q, "\"data_offsets\"")) != NULL; q++) total++;
        free(h);
    }
    closedir(d);
    return total;
}

static void test_shared_bad(void **state) {
    (void)state;
    const char *shared = shared_dir();
    if (!shared) {
        printf("skipped: SWAN_SHARED not set or not a directory, shared bad fixtures not checked\n");
        skip();
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/fixtures/bad/EXPECT.json", shared);
    char *text = slurp(p, NULL);
    assert_non_null(text);
    cJSON *expect = cJSON_Parse(text);
    free(text);
    assert_non_null(expect);
    int checked = 0;
    for (const cJSON *it = expect->child; it; it = it->next) {
        snprintf(p, sizeof p, "%s/fixtures/bad/%s", shared, it->string);
        swan_checkpoint ck;
        swan_error err = {{0}};
        int rc = swan_checkpoint_open(p, &ck, &err);
        if (cJSON_IsString(it) && !strcmp(it->valuestring, "error")) {
            if (rc == 0) fail_msg("%s: opened but EXPECT.json says error", it->string);
            assert_true(strlen(err.msg) > 0);
            assert_null(strchr(err.msg, '\n'));
            /* Every message starts with the directory or a file inside it. */
            if (strncmp(err.msg, p, strlen(p)) != 0) fail_msg("%s: message '%s'", it->string, err.msg);
            printf("  %-22s %s\n", it->string, err.msg);
        } else {
            if (rc != 0) fail_msg("%s: %s", it->string, err.msg);
            assert_int_equal(ck.ntensors, count_tensors(p));
            /* The tensor EXPECT.json names must be there. */
            const cJSON *who = it->child;
            assert_true(cJSON_IsString(who));
            assert_non_null(find(&ck, who->valuestring));
            swan_checkpoint_free(&ck);
        }
        checked++;
    }
    assert_true(checked >= 15);
    cJSON_Delete(expect);
}

static void test_shared_good(void **state) {
    (void)state;
    const char *shared = shared_dir();
    if (!shared) {
        printf("skipped: SWAN_SHARED not set or not a directory, shared good fixtures not checked\n");
        skip();
    }
    const char *dirs[] = {"fixtures/fx-dense-bf16", "fixtures/fx-fused3d-f32",
                          "fixtures/fx-moe-f16-sharded", "real/stories260K"};
    for (size_t i = 0; i < 4; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", shared, dirs[i]);
        swan_checkpoint ck;
        open_ok(p, &ck);
        size_t want = count_tensors(p);
        printf("  %-28s %zu tensors, %zu shards, %llu bytes\n", dirs[i], ck.ntensors, ck.nshards,
               (unsigned long long)swan_checkpoint_bytes(&ck));
        assert_true(want > 0);
        assert_int_equal(ck.ntensors, want);
        assert_non_null(ck.config_json);
        check_sorted(&ck);
        /* Tensors tile each shard's data section exactly in these well-formed files. */
        uint64_t bytes = 0, files = 0;
        for (size_t s = 0; s < ck.nshards; s++) files += ck.shards[s].size - ck.shards[s].data_start;
        bytes = swan_checkpoint_bytes(&ck);
        assert_true(bytes <= files);
        if (i == 2) {
            assert_int_equal(ck.has_index, 1);
            assert_int_equal(ck.nshards, 5);
        }
        swan_checkpoint_free(&ck);
    }
}

/* FP8 weights find their scales: block (`_scale_inv`, block size from config.json)
 * or per tensor (`_scale`); scales become kind "scale", the weights analyzable. */
static void test_fp8_pairing(void **state) {
    (void)state;
    const tspec t[] = {{"w.weight", "F8_E4M3", 2, {300, 520}},
                       {"w.weight_scale_inv", "F32", 2, {5, 9}},
                       {"v.weight", "F8_E5M2", 2, {64, 64}},
                       {"v.weight_scale", "F32", 0, {0}},
                       {"n.weight", "BF16", 1, {520}},
                       {"c.weight", "F8_E4M3", 2, {96, 64}},
                       {"c.weight_scale", "BF16", 2, {96, 1}}};
    write_st("model.safetensors", t, 7);
    put_file("config.json", "{\"quantization_config\": {\"weight_block_size\": [64, 64]}}");
    swan_checkpoint ck;
    open_ok(g_dir, &ck);
    assert_int_equal(ck.format, SWAN_FORMAT_SAFETENSORS);
    assert_true(ck.fp8_block_rows == 64 && ck.fp8_block_cols == 64);
    assert_int_equal(ck.fp8_block_scaled, 1);
    assert_int_equal(ck.fp8_tensor_scaled, 1);
    assert_int_equal(ck.fp8_channel_scaled, 1);
    const swan_tensor *cw = find(&ck, "c.weight");
    assert_true(cw->has_scale && cw->block_rows == 1 && cw->block_cols == 64);
    const swan_tensor *w = find(&ck, "w.weight"), *v = find(&ck, "v.weight");
    assert_true(w->has_scale && v->has_scale);
    assert_string_equal(ck.tensors[w->scale_index].name, "w.weight_scale_inv");
    assert_string_equal(ck.tensors[v->scale_index].name, "v.weight_scale");
    assert_true(w->block_rows == 64 && w->block_cols == 64);
    assert_true(v->block_rows == 64 && v->block_cols == 64); /* one block: the whole tensor */
    assert_int_equal(swan_tensor_classify(w, NULL), SWAN_KIND_MATRIX);
    assert_int_equal(swan_tensor_classify(find(&ck, "w.weight_scale_inv"), NULL), SWAN_KIND_SCALE);
    assert_int_equal(swan_tensor_classify(find(&ck, "v.weight_scale"), NULL), SWAN_KIND_SCALE);
    assert_int_equal(swan_tensor_classify(find(&ck, "n.weight"), NULL), SWAN_KIND_1D);
    swan_checkpoint_free(&ck);
}

static void test_fp8_refusals(void **state) {
    (void)state;
    char st[512];
    snprintf(st, sizeof st, "%s/model.safetensors", g_dir);
    const tspec missing[] = {{"w.weight", "F8_E4M3", 2, {256, 256}}};
    write_st("model.safetensors", missing, 1);
    open_fails(g_dir, st, "tensor 'w.weight' is F8_E4M3 but has no scale tensor 'w.weight_scale_inv'");
    const tspec shape[] = {{"w.weight", "F8_E4M3", 2, {300, 520}}, {"w.weight_scale_inv", "F32", 2, {3, 4}}};
    write_st("model.safetensors", shape, 2);
    open_fails(g_dir, st, "scale tensor 'w.weight_scale_inv' has shape [3, 4]; weight [300, 520] in blocks of 128x128 needs [3, 5]");
    const tspec dtype[] = {{"w.weight", "F8_E4M3", 2, {256, 256}}, {"w.weight_scale_inv", "I32", 2, {2, 2}}};
    write_st("model.safetensors", dtype, 2);
    open_fails(g_dir, st, "scale tensor 'w.weight_scale_inv' is I32");
    const tspec three_d[] = {{"w.weight", "F8_E4M3", 3, {2, 128, 128}}, {"w.weight_scale_inv", "F32", 2, {2, 1}}};
    write_st("model.safetensors", three_d, 2);
    open_fails(g_dir, st, "has block scales but is not 2-D");
    const tspec cols[] = {{"w.weight", "F8_E4M3", 2, {256, 128}}, {"w.weight_scale", "F32", 2, {1, 128}}};
    write_st("model.safetensors", cols, 2);
    open_fails(g_dir, st, "scale tensor 'w.weight_scale' has shape [1, 128]; weight [256, 128] needs one value (per tensor) or [256, 1] (per row)");
    const tspec ok[] = {{"w.weight", "F8_E4M3", 2, {256, 256}}, {"w.weight_scale_inv", "F32", 2, {2, 2}}};
    write_st("model.safetensors", ok, 2);
    put_file("config.json", "{\"quantization_config\": {\"weight_block_size\": [128]}}");
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/config.json", g_dir);
    open_fails(g_dir, cfg, "key 'quantization_config.weight_block_size' must be [rows, cols]");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_file_no_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sharded_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fp8_pairing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fp8_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
        cmocka_unit_test(test_shared_bad),
        cmocka_unit_test(test_shared_good),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
