/* test_coord_journal.c: the resume journal in a temporary directory.
 *
 * Round trip of awkward doubles bit for bit, awkward names, torn last lines,
 * foreign journals, records that do not fit the checkpoint, compaction on reopen,
 * and what the fingerprint is sensitive to. Checkpoints are tables filled in by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <float.h>
#include <math.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "coordinator/journal/journal.h"

typedef struct fake {
    swan_checkpoint ck;
    size_t cap;
} fake;

static void fake_init(fake *f, size_t cap) {
    memset(f, 0, sizeof *f);
    f->cap = cap;
    f->ck.tensors = calloc(cap, sizeof *f->ck.tensors);
    assert_non_null(f->ck.tensors);
}

static size_t fake_add(fake *f, const char *name, swan_dtype dt, int ndim, uint64_t d0, uint64_t d1) {
    assert_true(f->ck.ntensors < f->cap);
    size_t idx = f->ck.ntensors++;
    swan_tensor *t = &f->ck.tensors[idx];
    t->name = strdup(name);
    t->dtype = dt;
    t->ndim = ndim;
    uint64_t d[2] = {d0, d1};
    t->nelem = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = d[i];
        t->nelem *= d[i];
    }
    t->nbytes = t->nelem * swan_dtype_size(dt);
    t->offset = idx ? f->ck.tensors[idx - 1].offset + f->ck.tensors[idx - 1].nbytes : 0;
    return idx;
}

static void fake_free(fake *f) {
    for (size_t i = 0; i < f->ck.ntensors; i++) free(f->ck.tensors[i].name);
    free(f->ck.tensors);
}

static const char *NAME_Q = "model.layers.0.\"quoted\"\\back\\slash.weight";
static const char *NAME_U = "model.layers.1.\xce\xbb.\xe6\x9d\x83\xe9\x87\x8d.\xf0\x9f\xa6\xa2"; /* λ.权重.🦢 */
static const char *NAME_P = "model.layers.2.mlp.up_proj.weight";
static const char *NAME_C = "model.layers.2.mlp.\ttab\x01ctl.weight";

typedef struct env {
    char dir[256];
    char path[300];
    fake f;
    size_t q, u, p, c, bias, d;
} env;

static int setup(void **state) {
    env *e = calloc(1, sizeof *e);
    if (!e) return -1;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(e->dir, sizeof e->dir, "%s/swan-journal-XXXXXX", base);
    if (!mkdtemp(e->dir)) return -1;
    snprintf(e->path, sizeof e->path, "%s/journal.jsonl", e->dir);
    fake_init(&e->f, 16);
    e->q = fake_add(&e->f, NAME_Q, SWAN_DT_BF16, 2, 64, 32);
    e->u = fake_add(&e->f, NAME_U, SWAN_DT_F16, 2, 32, 64);
    e->p = fake_add(&e->f, NAME_P, SWAN_DT_F32, 2, 128, 64);
    e->c = fake_add(&e->f, NAME_C, SWAN_DT_F32, 2, 48, 48);
    e->bias = fake_add(&e->f, "model.layers.2.mlp.bias", SWAN_DT_F32, 1, 128, 0);
    e->d = fake_add(&e->f, "model.layers.3.mlp.down_proj.weight", SWAN_DT_BF16, 2, 64, 128);
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    char tmp[320];
    unlink(e->path);
    snprintf(tmp, sizeof tmp, "%s.tmp", e->path);
    unlink(tmp);
    rmdir(e->dir);
    fake_free(&e->f);
    free(e);
    return 0;
}

static swan_raw_metrics raw_for(uint64_t rows, uint64_t cols, double seed) {
    swan_raw_metrics r;
    memset(&r, 0, sizeof r);
    r.svd_concentration = seed / 3.0;
    r.kurtosis = seed * 1.1;
    r.output_delta = 0.1 + seed;
    r.rtn_nrmse = 0.09 + seed * 1e-3;
    r.w_min = -seed;
    r.w_max = seed;
    r.rows = rows;
    r.cols = cols;
    r.spectral_method = SWAN_SPECTRAL_GRAM_EXACT;
    r.spectral_rank = (uint32_t)(rows < cols ? rows : cols);
    r.seconds = 0.001 * seed;
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
            r.mlx_nrmse[i][j] = cols % (uint64_t)swan_mlx_groups[j] ? -1.0 : (0.3 + seed) / (3 * i + j + 1);
    return r;
}

static void expect_same_bits(double a, double b, const char *what) {
    if (memcmp(&a, &b, sizeof a) != 0) fail_msg("%s: %.17g read back as %.17g", what, a, b);
}

static void expect_raw_equal(const swan_raw_metrics *a, const swan_raw_metrics *b) {
    expect_same_bits(a->svd_concentration, b->svd_concentration, "svd_concentration");
    expect_same_bits(a->kurtosis, b->kurtosis, "kurtosis");
    expect_same_bits(a->output_delta, b->output_delta, "output_delta");
    expect_same_bits(a->rtn_nrmse, b->rtn_nrmse, "rtn_nrmse");
    expect_same_bits(a->w_min, b->w_min, "w_min");
    expect_same_bits(a->w_max, b->w_max, "w_max");
    expect_same_bits(a->seconds, b->seconds, "seconds");
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->cols, b->cols);
    assert_int_equal(a->nonfinite, b->nonfinite);
    assert_int_equal(a->spectral_method, b->spectral_method);
    assert_int_equal(a->spectral_rank, b->spectral_rank);
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
            expect_same_bits(a->mlx_nrmse[i][j], b->mlx_nrmse[i][j], "mlx_nrmse");
    assert_true(a->data_hash == b->data_hash);
}

/* swan_journal_open with the options analyze uses; *loaded from its info. */
static int jopen_opts(swan_journal *j, const char *path, uint64_t fp, const swan_checkpoint *ck,
                      swan_plan *plan, bool fresh, bool repair, size_t *loaded, swan_error *err) {
    swan_journal_open_opts o = {.fresh = fresh, .repair = repair, .check_stamps = true};
    swan_journal_info info;
    int rc = swan_journal_open(j, path, fp, ck, plan, &o, &info, err);
    *loaded = info.loaded;
    free(info.stamps);
    return rc;
}
#define jopen(j, path, fp, ck, plan, fresh, loaded, err) \
    jopen_opts(j, path, fp, ck, plan, fresh, false, loaded, err)

static void plan_new(env *e, swan_plan *plan) {
    swan_error err = {{0}};
    assert_int_equal(swan_plan_init(plan, &e->f.ck, &err), 0);
}

static size_t open_count(env *e, swan_plan *plan, uint64_t fp, bool fresh) {
    swan_journal j;
    swan_error err = {{0}};
    size_t loaded = 99;
    plan_new(e, plan);
    if (jopen(&j, e->path, fp, &e->f.ck, plan, fresh, &loaded, &err) != 0)
        fail_msg("journal open: %s", err.msg);
    swan_journal_close(&j);
    return loaded;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void append_text(const char *path, const char *text) {
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static size_t count_lines(const char *text) {
    size_t n = 0;
    for (const char *p = text; *p; p++) n += *p == '\n';
    return n;
}

/* Number of record lines whose "tensor" is name; fails on a line that is not JSON. */
static size_t count_records(const char *path, const char *name) {
    char *text = slurp(path);
    assert_non_null(text);
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        if (!o) fail_msg("journal line is not JSON: %s", line);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tensor");
        if (cJSON_IsString(t) && strcmp(t->valuestring, name) == 0) n++;
        cJSON_Delete(o);
    }
    free(text);
    return n;
}

static void test_roundtrip_awkward_values(void **state) {
    env *e = *state;
    uint64_t fp = swan_journal_fingerprint(&e->f.ck, 0);
    swan_plan plan;
    swan_journal j;
    swan_error err = {{0}};
    size_t loaded = 99;
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), 0);
    assert_int_equal(loaded, 0);
    swan_plan_free(&plan);

    swan_raw_metrics rq = raw_for(64, 32, 1);
    rq.svd_concentration = 1.0 / 3.0;
    rq.kurtosis = -0.0;
    rq.output_delta = 1e-300;
    rq.rtn_nrmse = DBL_MAX;
    rq.w_min = -DBL_MAX;
    rq.w_max = 4.9406564584124654e-324; /* smallest subnormal */
    rq.seconds = 0.1;
    swan_raw_metrics ru = raw_for(32, 64, 2);
    ru.svd_concentration = nextafter(1.0, 0.0);
    ru.kurtosis = 2.2250738585072014e-308; /* DBL_MIN */
    ru.output_delta = 123456789.123456789;
    ru.rtn_nrmse = 0.1 + 0.2; /* 0.30000000000000004 */
    ru.w_min = -1e-7f;        /* a float widened */
    ru.w_max = 65504.0;
    ru.spectral_method = SWAN_SPECTRAL_RANDOMIZED;
    ru.spectral_rank = 256;
    swan_raw_metrics rc = raw_for(48, 48, 3);
    rc.kurtosis = -1.2;
    swan_raw_metrics rd = raw_for(64, 128, 4);
    rd.nonfinite = 17; /* metrics not computed: the worker zeroes them */
    rd.svd_concentration = rd.kurtosis = rd.output_delta = rd.rtn_nrmse = 0;
    rd.w_min = rd.w_max = 0;
    rd.spectral_method = SWAN_SPECTRAL_NONE;
    rd.spectral_rank = 0;

    assert_int_equal(swan_journal_append(&j, NAME_Q, &rq, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_U, &ru, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_C, &rc, &err), 0);
    assert_int_equal(swan_journal_append(&j, e->f.ck.tensors[e->d].name, &rd, &err), 0);
    swan_journal_close(&j);

    /* every line is valid JSON; the header plus four records */
    char *text = slurp(e->path);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 5);
    free(text);
    assert_int_equal(count_records(e->path, NAME_Q), 1);
    assert_int_equal(count_records(e->path, NAME_U), 1);

    assert_int_equal(open_count(e, &plan, fp, false), 4);
    assert_non_null(plan.recs[e->q].raw);
    assert_non_null(plan.recs[e->u].raw);
    assert_non_null(plan.recs[e->c].raw);
    assert_non_null(plan.recs[e->d].raw);
    assert_null(plan.recs[e->p].raw);
    assert_null(plan.recs[e->bias].raw);
    expect_raw_equal(plan.recs[e->q].raw, &rq);
    assert_true(signbit(plan.recs[e->q].raw->kurtosis)); /* -0.0 stays negative zero */
    expect_raw_equal(plan.recs[e->u].raw, &ru);
    expect_raw_equal(plan.recs[e->c].raw, &rc);
    expect_raw_equal(plan.recs[e->d].raw, &rd);
    swan_plan_free(&plan);

    /* reopening rewrote the file: still one record each, and again bit-exact */
    assert_int_equal(count_records(e->path, NAME_Q), 1);
    assert_int_equal(open_count(e, &plan, fp, false), 4);
    expect_raw_equal(plan.recs[e->q].raw, &rq);
    expect_raw_equal(plan.recs[e->u].raw, &ru);
    swan_plan_free(&plan);
}

static void write_two(env *e, uint64_t fp) {
    swan_plan plan;
    swan_journal j;
    swan_error err = {{0}};
    size_t loaded;
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, true, &loaded, &err), 0);
    swan_raw_metrics a = raw_for(64, 32, 1), b = raw_for(32, 64, 2);
    assert_int_equal(swan_journal_append(&j, NAME_Q, &a, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_U, &b, &err), 0);
    swan_journal_close(&j);
    swan_plan_free(&plan);
}

static void test_torn_last_line(void **state) {
    env *e = *state;
    uint64_t fp = swan_journal_fingerprint(&e->f.ck, 0);
    write_two(e, fp);
    /* a crash mid-write: half a record, no newline */
    append_text(e->path, "{\"tensor\":\"model.layers.2.mlp.up_proj.weight\",\"kurtosis\":1.5,\"rtn");
    swan_plan plan;
    assert_int_equal(open_count(e, &plan, fp, false), 2);
    assert_null(plan.recs[e->p].raw);
    swan_plan_free(&plan);
    /* the rewrite dropped it: every line parses */
    assert_int_equal(count_records(e->path, NAME_P), 0);

    /* a complete record that lost its newline is torn too (the write may not have
     * finished: the newline is the commit mark) */
    char *good = slurp(e->path);
    assert_non_null(good);
    char *last = strrchr(good, '{'); /* the last record, with its checksum */
    char rec[1024];
    snprintf(rec, sizeof rec, "%s", last);
    rec[strlen(rec) - 1] = '\0'; /* no newline */
    append_text(e->path, rec);
    assert_int_equal(open_count(e, &plan, fp, false), 2);
    swan_plan_free(&plan);
    free(good);

    /* a record without a checksum, or with a wrong one, in the middle: refused with its
     * line number, the file untouched; --repair drops it */
    swan_raw_metrics rp = raw_for(128, 64, 5);
    char line[1024];
    snprintf(line, sizeof line,
             "{\"tensor\":\"%s\",\"kurtosis\":%.17g,\"rtn_nrmse\":%.17g,\"svd_concentration\":%.17g,"
             "\"output_delta\":%.17g,\"w_min\":%.17g,\"w_max\":%.17g,\"rows\":128,\"cols\":64,"
             "\"nonfinite\":0,\"spectral_method\":1,\"spectral_rank\":64,\"seconds\":%.17g}\n",
             NAME_P, rp.kurtosis, rp.rtn_nrmse, rp.svd_concentration, rp.output_delta, rp.w_min,
             rp.w_max, rp.seconds);
    append_text(e->path, line);
    char *before = slurp(e->path);
    size_t lines = count_lines(before);
    swan_journal j;
    swan_error err = {{0}};
    size_t loaded = 99;
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), -1);
    char want[64];
    snprintf(want, sizeof want, "line %zu: damaged record", lines);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "--repair"));
    assert_int_equal(loaded, 0);
    swan_plan_free(&plan);
    char *after = slurp(e->path);
    assert_string_equal(before, after);
    free(after);
    free(before);
    plan_new(e, &plan);
    assert_int_equal(jopen_opts(&j, e->path, fp, &e->f.ck, &plan, false, true, &loaded, &err), 0);
    swan_journal_close(&j);
    assert_int_equal(loaded, 2);
    assert_null(plan.recs[e->p].raw);
    swan_plan_free(&plan);
    assert_int_equal(open_count(e, &plan, fp, false), 2); /* the rewrite dropped it */
    swan_plan_free(&plan);

    /* one flipped bit in a good record's value: refused */
    char *text = slurp(e->path);
    char *k = strstr(text, "\"kurtosis\":\"0x1.");
    assert_non_null(k);
    k[14] ^= 0x01;
    FILE *f = fopen(e->path, "wb");
    fputs(text, f);
    fclose(f);
    free(text);
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), -1);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    swan_plan_free(&plan);
}

static void test_foreign_journal(void **state) {
    env *e = *state;
    uint64_t fp = swan_journal_fingerprint(&e->f.ck, 0);
    uint64_t other = swan_journal_fingerprint(&e->f.ck, 1);
    assert_true(fp != other);
    write_two(e, fp);
    char *before = slurp(e->path);
    assert_non_null(before);

    swan_plan plan;
    swan_journal j;
    swan_error err = {{0}};
    size_t loaded = 99;
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, other, &e->f.ck, &plan, false, &loaded, &err), -1);
    assert_non_null(strstr(err.msg, e->path));
    assert_int_equal(loaded, 0);
    assert_null(plan.recs[e->q].raw);
    swan_plan_free(&plan);
    char *after = slurp(e->path);
    assert_string_equal(before, after); /* refused journals are left alone */
    free(after);
    free(before);

    /* fresh: starts over under the new fingerprint */
    assert_int_equal(open_count(e, &plan, other, true), 0);
    assert_null(plan.recs[e->q].raw);
    swan_plan_free(&plan);
    assert_int_equal(count_records(e->path, NAME_Q), 0);
    assert_int_equal(open_count(e, &plan, other, false), 0);
    swan_plan_free(&plan);
    /* and the old fingerprint is now the foreign one */
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), -1);
    swan_plan_free(&plan);

    /* a file that is not a journal at all is refused too */
    FILE *f = fopen(e->path, "w");
    assert_non_null(f);
    fputs("{\"something\":\"else\"}\n", f);
    fclose(f);
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), -1);
    swan_plan_free(&plan);
}

static void test_records_that_do_not_fit(void **state) {
    env *e = *state;
    uint64_t fp = swan_journal_fingerprint(&e->f.ck, 0);
    swan_plan plan;
    swan_journal j;
    swan_error err = {{0}};
    size_t loaded;
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, true, &loaded, &err), 0);
    swan_raw_metrics ok = raw_for(128, 64, 1);
    swan_raw_metrics wrong_rows = raw_for(127, 64, 2);
    swan_raw_metrics swapped = raw_for(64, 32, 3); /* NAME_U is 32 x 64 */
    swan_raw_metrics for_bias = raw_for(128, 1, 4);
    assert_int_equal(swan_journal_append(&j, "model.layers.9.unknown.weight", &ok, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_Q, &wrong_rows, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_U, &swapped, &err), 0);
    assert_int_equal(swan_journal_append(&j, "model.layers.2.mlp.bias", &for_bias, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_P, &ok, &err), 0);
    swan_journal_close(&j);
    swan_plan_free(&plan);

    /* each record is checked against the tensor table: the first misfit is refused
     * with its line number (line 2: the unknown tensor) */
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), -1);
    assert_non_null(strstr(err.msg, "line 2: record for a tensor this checkpoint does not analyze"));
    swan_plan_free(&plan);
    /* --repair drops the four misfits and keeps the good one */
    plan_new(e, &plan);
    assert_int_equal(jopen_opts(&j, e->path, fp, &e->f.ck, &plan, false, true, &loaded, &err), 0);
    swan_journal_close(&j);
    assert_int_equal(loaded, 1);
    assert_non_null(plan.recs[e->p].raw);
    assert_null(plan.recs[e->q].raw);
    assert_null(plan.recs[e->u].raw);
    assert_null(plan.recs[e->bias].raw);
    swan_plan_free(&plan);
    assert_int_equal(count_records(e->path, "model.layers.9.unknown.weight"), 0);
    assert_int_equal(count_records(e->path, NAME_Q), 0);
}

static void test_duplicates_compacted(void **state) {
    env *e = *state;
    uint64_t fp = swan_journal_fingerprint(&e->f.ck, 0);
    swan_plan plan;
    swan_journal j;
    swan_error err = {{0}};
    size_t loaded;
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, true, &loaded, &err), 0);
    swan_raw_metrics first = raw_for(128, 64, 1), second = raw_for(128, 64, 7);
    assert_int_equal(swan_journal_append(&j, NAME_P, &first, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_P, &second, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_P, &second, &err), 0);
    swan_journal_close(&j);
    swan_plan_free(&plan);
    assert_int_equal(count_records(e->path, NAME_P), 3);

    assert_int_equal(open_count(e, &plan, fp, false), 1);
    expect_raw_equal(plan.recs[e->p].raw, &second); /* the last record wins */
    swan_plan_free(&plan);
    assert_int_equal(count_records(e->path, NAME_P), 1);
    char *text = slurp(e->path);
    assert_int_equal(count_lines(text), 2); /* header + one record */
    free(text);

    /* appending after a resume goes to the (renamed) journal file */
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), 0);
    assert_int_equal(loaded, 1);
    swan_raw_metrics rq = raw_for(64, 32, 9);
    assert_int_equal(swan_journal_append(&j, NAME_Q, &rq, &err), 0);
    swan_journal_close(&j);
    swan_plan_free(&plan);
    assert_int_equal(open_count(e, &plan, fp, false), 2);
    expect_raw_equal(plan.recs[e->q].raw, &rq);
    swan_plan_free(&plan);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", e->path);
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary left behind */
}

/* swan_journal_read (swan reduce, verify) reads in two steps, all lines first and the
 * tensor table after (swan_journal_parse + swan_journal_apply): the same records
 * taken, the last of a tensor's records winning, and the same refusal as the
 * streaming loader of swan_journal_open, at the first bad line in file order whether
 * it is damaged (found while parsing) or a misfit (found against the table). */
static void test_read_in_two_steps(void **state) {
    env *e = *state;
    uint64_t fp = swan_journal_fingerprint(&e->f.ck, 0);
    swan_plan plan;
    swan_journal j;
    swan_journal_info info;
    swan_error err = {{0}};
    size_t loaded;
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, true, &loaded, &err), 0);
    swan_raw_metrics first = raw_for(128, 64, 1), second = raw_for(128, 64, 7), rq = raw_for(64, 32, 2);
    assert_int_equal(swan_journal_append(&j, NAME_P, &first, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_Q, &rq, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_P, &second, &err), 0);
    swan_journal_close(&j);
    swan_plan_free(&plan);

    plan_new(e, &plan);
    assert_int_equal(swan_journal_read(e->path, fp, &e->f.ck, &plan, &info, &err), 0);
    assert_int_equal(info.loaded, 2);
    assert_int_equal(info.torn_line, 0);
    free(info.stamps);
    expect_raw_equal(plan.recs[e->p].raw, &second);
    expect_raw_equal(plan.recs[e->q].raw, &rq);
    assert_null(plan.recs[e->u].raw);
    swan_plan_free(&plan);
    /* another fingerprint: refused like a resume would be */
    plan_new(e, &plan);
    assert_int_equal(swan_journal_read(e->path, fp ^ 1, &e->f.ck, &plan, &info, &err), -1);
    assert_non_null(strstr(err.msg, "belongs to another checkpoint or seed"));
    free(info.stamps);
    swan_plan_free(&plan);

    /* a torn last line is reported, not taken */
    char *good = slurp(e->path);
    append_text(e->path, "{\"tensor\":\"model.layers.0.x");
    plan_new(e, &plan);
    assert_int_equal(swan_journal_read(e->path, fp, &e->f.ck, &plan, &info, &err), 0);
    assert_int_equal(info.loaded, 2);
    assert_int_equal(info.torn_line, 5);
    free(info.stamps);
    swan_plan_free(&plan);

    /* compacted by the open: header, Q, P; then line 4 a misfit (an unknown tensor) and
     * line 5 damaged (a flipped bit): line 4 is named */
    FILE *f = fopen(e->path, "wb");
    fputs(good, f);
    fclose(f);
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), 0);
    swan_raw_metrics ok = raw_for(128, 64, 3);
    assert_int_equal(swan_journal_append(&j, "model.layers.9.unknown.weight", &ok, &err), 0);
    assert_int_equal(swan_journal_append(&j, NAME_P, &ok, &err), 0);
    swan_journal_close(&j);
    swan_plan_free(&plan);
    char *text = slurp(e->path);
    char *last = strrchr(text, '{');
    char *k = strstr(last, "\"kurtosis\":\"0x1.");
    assert_non_null(k);
    k[14] ^= 0x01;
    f = fopen(e->path, "wb");
    fputs(text, f);
    fclose(f);
    plan_new(e, &plan);
    assert_int_equal(swan_journal_read(e->path, fp, &e->f.ck, &plan, &info, &err), -1);
    assert_non_null(strstr(err.msg, "line 4: record for a tensor this checkpoint does not analyze"));
    free(info.stamps);
    swan_plan_free(&plan);
    /* without the misfit, the damaged line is named, as the streaming loader names it */
    char *unknown = strstr(text, "{\"tensor\":\"model.layers.9.unknown.weight\"");
    assert_non_null(unknown);
    char *end = strchr(unknown, '\n');
    memmove(unknown, end + 1, strlen(end + 1) + 1);
    f = fopen(e->path, "wb");
    fputs(text, f);
    fclose(f);
    plan_new(e, &plan);
    assert_int_equal(swan_journal_read(e->path, fp, &e->f.ck, &plan, &info, &err), -1);
    assert_non_null(strstr(err.msg, "line 4: damaged record (checksum mismatch)"));
    free(info.stamps);
    swan_plan_free(&plan);
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, e->path, fp, &e->f.ck, &plan, false, &loaded, &err), -1);
    assert_non_null(strstr(err.msg, "line 4: damaged record (checksum mismatch)"));
    swan_plan_free(&plan);
    free(text);
    free(good);

    /* no file at all */
    unlink(e->path);
    plan_new(e, &plan);
    assert_int_equal(swan_journal_read(e->path, fp, &e->f.ck, &plan, &info, &err), -1);
    assert_non_null(strstr(err.msg, "no such file"));
    free(info.stamps);
    swan_plan_free(&plan);
}

static void test_open_fails_cleanly(void **state) {
    env *e = *state;
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/journal.jsonl", e->dir);
    swan_plan plan;
    swan_journal j;
    swan_error err = {{0}};
    size_t loaded;
    plan_new(e, &plan);
    assert_int_equal(jopen(&j, bad, 1, &e->f.ck, &plan, false, &loaded, &err), -1);
    assert_true(strlen(err.msg) > 0);
    assert_null(j.f);
    swan_journal_close(&j); /* safe after a failed open */
    swan_plan_free(&plan);
}

static void test_fingerprint(void **state) {
    env *e = *state;
    const swan_checkpoint *ck = &e->f.ck;
    uint64_t base = swan_journal_fingerprint(ck, 0);
    assert_int_equal(swan_journal_fingerprint(ck, 0), base); /* deterministic */
    assert_true(swan_journal_fingerprint(ck, 1) != base);
    assert_true(swan_journal_fingerprint(ck, 0x100000000ull) != base);

    /* an identical table built separately (other pointers) gives the same value */
    fake g;
    fake_init(&g, 16);
    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor *t = &ck->tensors[i];
        fake_add(&g, t->name, t->dtype, t->ndim, t->shape[0], t->ndim > 1 ? t->shape[1] : 0);
    }
    assert_int_equal(swan_journal_fingerprint(&g.ck, 0), base);

    /* a transposed shape: same dtype, ndim and byte size */
    swan_tensor *t = &g.ck.tensors[e->q];
    uint64_t r = t->shape[0];
    t->shape[0] = t->shape[1];
    t->shape[1] = r;
    assert_true(swan_journal_fingerprint(&g.ck, 0) != base);
    t->shape[1] = t->shape[0];
    t->shape[0] = r;
    assert_int_equal(swan_journal_fingerprint(&g.ck, 0), base);

    /* one character of one name */
    char *name = g.ck.tensors[e->p].name;
    size_t len = strlen(name);
    name[len - 1] = name[len - 1] == 't' ? 'T' : 't';
    assert_true(swan_journal_fingerprint(&g.ck, 0) != base);
    name[len - 1] = 't'; /* "weight" */
    assert_int_equal(swan_journal_fingerprint(&g.ck, 0), base);

    /* a dtype of the same size (F16 -> BF16) */
    g.ck.tensors[e->u].dtype = SWAN_DT_BF16;
    assert_true(swan_journal_fingerprint(&g.ck, 0) != base);
    g.ck.tensors[e->u].dtype = SWAN_DT_F16;

    /* one tensor fewer */
    g.ck.ntensors--;
    assert_true(swan_journal_fingerprint(&g.ck, 0) != base);
    g.ck.ntensors++;
    assert_int_equal(swan_journal_fingerprint(&g.ck, 0), base);
    fake_free(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_awkward_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_last_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_that_do_not_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_compacted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_in_two_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
