/* tensor_table.c: write and read OUT/tensors.json (see tensor_table.h). */
#include "coordinator/journal/tensor_table.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static char *slurp(const char *path, swan_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        swan_error_set(err, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (n + 1 < cap) break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb) free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        swan_error_set(err, "cannot read %s", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static bool as_u64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0) return false;
    *out = (uint64_t)v->valuedouble;
    return (double)*out == v->valuedouble;
}

static int parse_tensor(const cJSON *e, swan_checkpoint *ck, size_t i) {
    swan_tensor *t = &ck->tensors[i];
    const cJSON *name = cJSON_GetArrayItem(e, 0), *shard = cJSON_GetArrayItem(e, 1),
                *dtype = cJSON_GetArrayItem(e, 2), *shape = cJSON_GetArrayItem(e, 3),
                *off = cJSON_GetArrayItem(e, 4);
    uint64_t sh;
    if (!cJSON_IsString(name) || !as_u64(shard, &sh) || sh >= ck->nshards || !cJSON_IsString(dtype) ||
        !cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > SWAN_MAX_DIMS || !as_u64(off, &t->offset))
        return -1;
    t->name = strdup(name->valuestring);
    if (!t->name) return -1;
    t->shard = (uint32_t)sh;
    t->dtype = swan_dtype_from_name(dtype->valuestring);
    if (t->dtype == SWAN_DT_INVALID) return -1;
    t->ndim = cJSON_GetArraySize(shape);
    t->nelem = 1;
    for (int k = 0; k < t->ndim; k++) {
        if (!as_u64(cJSON_GetArrayItem(shape, k), &t->shape[k])) return -1;
        t->nelem *= t->shape[k];
    }
    t->nbytes = t->nelem * swan_dtype_size(t->dtype);
    return 0;
}

int swan_tensor_table_read(const char *path, swan_checkpoint *ck, swan_tensor_table_info *info,
                           swan_error *err) {
    memset(ck, 0, sizeof *ck);
    memset(info, 0, sizeof *info);
    char *text = slurp(path, err);
    if (!text) return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(root, "fingerprint");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *shards = cJSON_GetObjectItemCaseSensitive(root, "shards");
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors");
    char *end = NULL;
    if (!root || !cJSON_IsString(fp) || !as_u64(seed, &info->seed) || !cJSON_IsString(model) ||
        !cJSON_IsArray(shards) || !cJSON_IsArray(tensors) ||
        (info->fingerprint = strtoull(fp->valuestring, &end, 16), !end || *end)) {
        cJSON_Delete(root);
        return swan_error_set(err, "%s is not a swan tensor table", path);
    }
    int bad = 0;
    info->model_name = strdup(model->valuestring);
    ck->dir = strdup(model->valuestring);
    if (cJSON_IsString(config)) ck->config_json = strdup(config->valuestring);
    ck->nshards = (size_t)cJSON_GetArraySize(shards);
    ck->ntensors = (size_t)cJSON_GetArraySize(tensors);
    ck->shards = calloc(ck->nshards ? ck->nshards : 1, sizeof *ck->shards);
    ck->tensors = calloc(ck->ntensors ? ck->ntensors : 1, sizeof *ck->tensors);
    if (!info->model_name || !ck->dir || !ck->shards || !ck->tensors) bad = 1;
    size_t s = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, shards) {
        if (bad) break;
        const cJSON *file = cJSON_GetArrayItem(e, 0);
        if (!cJSON_IsString(file) || !as_u64(cJSON_GetArrayItem(e, 1), &ck->shards[s].size) ||
            !as_u64(cJSON_GetArrayItem(e, 2), &ck->shards[s].data_start)) {
            bad = 1;
            break;
        }
        ck->shards[s].file = strdup(file->valuestring);
        ck->shards[s].path = strdup(file->valuestring);
        if (!ck->shards[s].file || !ck->shards[s].path) bad = 1;
        s++;
    }
    size_t i = 0;
    cJSON_ArrayForEach(e, tensors) {
        if (bad) break;
        if (parse_tensor(e, ck, i)) bad = 1;
        i++;
    }
    cJSON_Delete(root);
    if (bad) {
        swan_checkpoint_free(ck);
        free(info->model_name);
        info->model_name = NULL;
        return swan_error_set(err, "%s: malformed tensor table", path);
    }
    return 0;
}
