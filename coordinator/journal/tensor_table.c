/* tensor_table.c: write and read OUT/tensors.json (see tensor_table.h). */
#include "coordinator/journal/tensor_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/regular_file.h"
#include "common/json_scan.h"
#include "common/json_writer.h"
#include "coordinator/outputs/outputs.h"

typedef struct table_ctx {
    const swan_checkpoint *ck;
    const char *model_name;
    uint64_t seed, fingerprint;
} table_ctx;

static int write_table(FILE *f, const void *ctx, swan_error *err) {
    const table_ctx *t = ctx;
    const swan_checkpoint *ck = t->ck;
    swan_jw w;
    swan_jw_init(&w, f, 0);
    swan_jw_object_begin(&w);
    swan_jw_key_uint(&w, "swan_tensors", 1);
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)t->fingerprint);
    swan_jw_key_string(&w, "fingerprint", fp);
    swan_jw_key_uint(&w, "seed", t->seed);
    swan_jw_key_string(&w, "model", t->model_name);
    /* config.json as text, so that the manifest re-emits it byte for byte */
    swan_jw_key(&w, "config");
    if (ck->config_json) swan_jw_string(&w, ck->config_json);
    else swan_jw_null(&w);
    swan_jw_key(&w, "shards");
    swan_jw_array_begin(&w);
    for (size_t s = 0; s < ck->nshards; s++) {
        swan_jw_array_begin(&w);
        swan_jw_string(&w, ck->shards[s].file);
        swan_jw_uint(&w, ck->shards[s].size);
        swan_jw_uint(&w, ck->shards[s].data_start);
        swan_jw_array_end(&w);
    }
    swan_jw_array_end(&w);
    swan_jw_key(&w, "tensors"); /* [name, shard, dtype, [shape], offset] in checkpoint order */
    swan_jw_array_begin(&w);
    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor *x = &ck->tensors[i];
        swan_jw_array_begin(&w);
        swan_jw_string(&w, x->name);
        swan_jw_uint(&w, x->shard);
        swan_jw_string(&w, swan_dtype_name(x->dtype));
        swan_jw_array_begin(&w);
        for (int k = 0; k < x->ndim; k++) swan_jw_uint(&w, x->shape[k]);
        swan_jw_array_end(&w);
        swan_jw_uint(&w, x->offset);
        swan_jw_array_end(&w);
    }
    swan_jw_array_end(&w);
    swan_jw_object_end(&w);
    if (swan_jw_error(&w)) return swan_error_set(err, "write failed");
    fputc('\n', f);
    return 0;
}

int swan_tensor_table_write(const char *path, const swan_checkpoint *ck, const char *model_name,
                            uint64_t seed, uint64_t fingerprint, swan_error *err) {
    table_ctx t = {ck, model_name, seed, fingerprint};
    return swan_write_file_atomic(path, write_table, &t, err);
}

/* The reader: OUT/tensors.json through the pull scanner (common/json_scan.h), so a
 * 100,000-tensor table costs its text and the table itself, no tree. Any deviation
 * from what write_table writes is "malformed". */

static char *next_string_dup(swan_js *s) {
    if (swan_js_next(s) != SWAN_JS_STRING) return NULL;
    char *d = malloc(s->tok_len + 1);
    bool nul;
    if (d) swan_js_decode(s, d, &nul);
    if (d && nul) {
        free(d);
        return NULL;
    }
    return d;
}

static bool next_u64(swan_js *s, uint64_t *out) {
    return swan_js_next(s) == SWAN_JS_NUMBER && swan_js_uint53(s, out);
}

static bool next_is(swan_js *s, swan_js_tok t) { return swan_js_next(s) == t; }

/* [file, size, data_start] */
static int read_shard(swan_js *s, swan_shard *sh) {
    if (!(sh->file = next_string_dup(s)) || !(sh->path = strdup(sh->file)) ||
        !next_u64(s, &sh->size) || !next_u64(s, &sh->data_start) || !next_is(s, SWAN_JS_ARRAY_END))
        return -1;
    return 0;
}

/* The next string as a tensor name of ck, kept in its name blocks (no allocation of
 * its own). */
static char *next_name(swan_js *s, swan_checkpoint *ck) {
    if (swan_js_next(s) != SWAN_JS_STRING) return NULL;
    char *d = swan_checkpoint_keep_name(ck, s->tok, s->tok_len, NULL);
    bool nul = false;
    if (d) swan_js_decode(s, d, &nul); /* never longer than the escaped text */
    return nul ? NULL : d;
}

/* [name, shard, dtype, [shape], offset] */
static int read_tensor(swan_js *s, swan_checkpoint *ck, swan_tensor *t) {
    uint64_t sh;
    if (!(t->name = next_name(s, ck)) || !next_u64(s, &sh) || sh > UINT32_MAX ||
        !next_is(s, SWAN_JS_STRING))
        return -1;
    t->shard = (uint32_t)sh;
    char dt[32];
    bool nul;
    if (s->tok_len >= sizeof dt) return -1;
    swan_js_decode(s, dt, &nul);
    if ((t->dtype = swan_dtype_from_name(dt)) == SWAN_DT_INVALID) return -1;
    if (!next_is(s, SWAN_JS_ARRAY)) return -1;
    t->nelem = 1;
    for (;;) {
        swan_js_tok k = swan_js_next(s);
        if (k == SWAN_JS_ARRAY_END) break;
        if (k != SWAN_JS_NUMBER || t->ndim == SWAN_MAX_DIMS || !swan_js_uint53(s, &t->shape[t->ndim]))
            return -1;
        t->nelem *= t->shape[t->ndim++];
    }
    if (!next_u64(s, &t->offset) || !next_is(s, SWAN_JS_ARRAY_END)) return -1;
    t->nbytes = t->nelem * swan_dtype_size(t->dtype);
    return 0;
}

/* Arrays of arrays, each element read into a growing table. */
static int read_shards(swan_js *s, swan_checkpoint *ck) {
    if (!next_is(s, SWAN_JS_ARRAY)) return -1;
    size_t cap = 0;
    for (;;) {
        swan_js_tok t = swan_js_next(s);
        if (t == SWAN_JS_ARRAY_END) return 0;
        if (t != SWAN_JS_ARRAY) return -1;
        if (ck->nshards == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            swan_shard *g = realloc(ck->shards, ncap * sizeof *g);
            if (!g) return -1;
            ck->shards = g;
            cap = ncap;
        }
        swan_shard *sh = &ck->shards[ck->nshards++];
        memset(sh, 0, sizeof *sh);
        if (read_shard(s, sh)) return -1;
    }
}

static int read_tensors(swan_js *s, swan_checkpoint *ck) {
    if (!next_is(s, SWAN_JS_ARRAY)) return -1;
    size_t cap = 0;
    for (;;) {
        swan_js_tok t = swan_js_next(s);
        if (t == SWAN_JS_ARRAY_END) break;
        if (t != SWAN_JS_ARRAY) return -1;
        if (ck->ntensors == cap) {
            size_t ncap = cap ? cap + cap / 2 : 1024;
            swan_tensor *g = realloc(ck->tensors, ncap * sizeof *g);
            if (!g) return -1;
            ck->tensors = g;
            cap = ncap;
        }
        swan_tensor *x = &ck->tensors[ck->ntensors++];
        memset(x, 0, sizeof *x);
        if (read_tensor(s, ck, x)) return -1;
    }
    if (cap > ck->ntensors && ck->ntensors) {
        swan_tensor *g = realloc(ck->tensors, ck->ntensors * sizeof *g);
        if (g) ck->tensors = g;
    }
    return 0;
}

static int read_table(swan_js *s, swan_checkpoint *ck, swan_tensor_table_info *info) {
    bool have_fp = false, have_seed = false, have_shards = false, have_tensors = false;
    if (!next_is(s, SWAN_JS_OBJECT)) return -2;
    for (;;) {
        swan_js_tok t = swan_js_next(s);
        if (t == SWAN_JS_OBJECT_END) break;
        if (t != SWAN_JS_KEY) return -1;
        int rc = 0;
        if (swan_js_equals(s, "fingerprint")) {
            char *fp = next_string_dup(s), *end = NULL;
            if (fp) info->fingerprint = strtoull(fp, &end, 16);
            rc = fp && end && !*end && *fp ? 0 : -1;
            have_fp = true;
            free(fp);
        } else if (swan_js_equals(s, "seed")) {
            rc = next_u64(s, &info->seed) ? 0 : -1;
            have_seed = true;
        } else if (swan_js_equals(s, "model")) {
            if (info->model_name) return -1;
            info->model_name = next_string_dup(s);
            ck->dir = info->model_name ? strdup(info->model_name) : NULL;
            rc = ck->dir ? 0 : -1;
        } else if (swan_js_equals(s, "config")) {
            swan_js_tok v = swan_js_next(s);
            if (v == SWAN_JS_STRING && !ck->config_json) {
                bool nul;
                if (!(ck->config_json = malloc(s->tok_len + 1))) return -1;
                swan_js_decode(s, ck->config_json, &nul);
            } else if (v != SWAN_JS_NULL) {
                rc = -1;
            }
        } else if (swan_js_equals(s, "shards") && !have_shards) {
            rc = read_shards(s, ck);
            have_shards = true;
        } else if (swan_js_equals(s, "tensors") && !have_tensors) {
            rc = read_tensors(s, ck);
            have_tensors = true;
        } else {
            rc = swan_js_skip(s, swan_js_next(s));
        }
        if (rc) return -1;
    }
    if (swan_js_next(s) != SWAN_JS_END) return -1;
    if (!have_fp || !have_seed || !info->model_name || !have_shards || !have_tensors) return -2;
    for (size_t i = 0; i < ck->ntensors; i++)
        if (ck->tensors[i].shard >= ck->nshards) return -1;
    return 0;
}

int swan_tensor_table_read(const char *path, swan_checkpoint *ck, swan_tensor_table_info *info,
                           swan_error *err) {
    memset(ck, 0, sizeof *ck);
    memset(info, 0, sizeof *info);
    size_t len = 0;
    char *text = swan_read_regular_file(path, &len, err);
    if (!text) return -1;
    swan_js s;
    swan_js_init(&s, text, len);
    int rc = read_table(&s, ck, info);
    free(text);
    if (rc) {
        swan_checkpoint_free(ck);
        free(info->model_name);
        info->model_name = NULL;
        if (rc == -2) return swan_error_set(err, "%s is not a swan tensor table", path);
        return swan_error_set(err, "%s: malformed tensor table", path);
    }
    return 0;
}
