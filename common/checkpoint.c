/* checkpoint.c: open a checkpoint directory into one validated tensor table.
 *
 * The coordinator's first step: before any work is planned, every shard header is
 * read and validated (safetensors.c), so a bad file fails the run at once with one
 * line naming the file and tensor, instead of a worker failing halfway through.
 *
 * With model.safetensors.index.json only the shards its weight_map names are read
 * (so a stray consolidated.safetensors next to the shards is not counted twice), and
 * every tensor it names must be in the header of the shard it names. Without an index
 * every *.safetensors file is a shard and a name may appear in only one of them.
 * Shard names from the index are untrusted text: they must be relative paths without
 * "..", so an index cannot make us read files outside the model directory. Only
 * headers are read; lookups go through sorted arrays and bsearch so that checkpoints
 * with 100k tensors open in well under a second. Memory: the tensor table, the names
 * kept once in name blocks (the index's copy, or each header's text cut down to its
 * names), and one header text at a time (bench/huge_header_bench.sh measures it). */
#include "common/checkpoint.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/formats/checkpoint_build.h"
#include "common/formats/fp8.h"
#include "common/formats/gguf.h"
#include "common/formats/safetensors.h"
#include "common/json_scan.h"
#include "common/regular_file.h"

#define INDEX_NAME "model.safetensors.index.json"
#define CONFIG_NAME "config.json"
#define CONFIG_MAX (64u * 1024u * 1024u)
#define ST_SUFFIX ".safetensors"

/* One weight_map line: which shard a tensor is promised to be in. The strings point
 * into the index text until detach_names copies the names out of it. */
typedef struct wm_pair {
    const char *tensor;
    const char *file;
    uint32_t shard;
    int found;
} wm_pair;

static char *join_path(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* Whole small file as a NUL-terminated string. Fails on non-regular files and
 * on files larger than max, so a hostile index cannot exhaust memory. */
static int read_text_file(const char *path, size_t max, char **out, size_t *out_len,
                          swan_error *err) {
    *out = NULL;
    struct stat st; /* never blocks on a FIFO; regular files only (links followed) */
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    int rc = 0;
    char *buf = NULL;
    if ((uint64_t)st.st_size > max) {
        rc = swan_error_set(err, "%s: %" PRIu64 " bytes, larger than the %zu-byte limit", path,
                            (uint64_t)st.st_size, max);
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        rc = swan_error_set(err, "%s: out of memory", path);
    } else {
        size_t len = (size_t)st.st_size, got = 0;
        while (got < len) {
            ssize_t r = read(fd, buf + got, len - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                rc = swan_error_set(err, "%s: read failed: %s", path,
                                    r < 0 ? strerror(errno) : "file shrank while reading");
                break;
            }
            got += (size_t)r;
        }
        buf[got] = '\0';
        *out_len = got;
    }
    close(fd);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* quantization_config.weight_block_size, when config.json has it: [rows, cols] of
 * the blocks sharing one `_scale_inv` scale. Present but malformed is refused (a
 * wrong block size would silently scale the wrong elements). */
static int fp8_block_size(swan_checkpoint *ck, const cJSON *config, const char *cpath,
                          swan_error *err) {
    ck->fp8_block_rows = ck->fp8_block_cols = SWAN_FP8_DEFAULT_BLOCK;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(config, "quantization_config");
    const cJSON *b = cJSON_IsObject(q) ? cJSON_GetObjectItemCaseSensitive(q, "weight_block_size")
                                       : NULL;
    if (!b || cJSON_IsNull(b)) return 0;
    const cJSON *r = cJSON_GetArrayItem(b, 0), *c = cJSON_GetArrayItem(b, 1);
    if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) != 2 || !cJSON_IsNumber(r) ||
        !cJSON_IsNumber(c) || r->valuedouble < 1 || c->valuedouble < 1 ||
        r->valuedouble > (1 << 24) || c->valuedouble > (1 << 24) ||
        r->valuedouble != (double)(uint64_t)r->valuedouble ||
        c->valuedouble != (double)(uint64_t)c->valuedouble)
        return swan_error_set(err, "%s: key 'quantization_config.weight_block_size' must be "
                                   "[rows, cols] with integers from 1 to 2^24",
                              cpath);
    ck->fp8_block_rows = (uint64_t)r->valuedouble;
    ck->fp8_block_cols = (uint64_t)c->valuedouble;
    return 0;
}

/* config.json is optional metadata for the manifest: absent or broken is not an
 * error, it just is not copied. Only its FP8 block size, when given, must be sane. */
static int load_config(swan_checkpoint *ck, swan_error *err) {
    char *path = join_path(ck->dir, CONFIG_NAME);
    char *text = NULL;
    size_t len = 0;
    int rc = 0;
    ck->fp8_block_rows = ck->fp8_block_cols = SWAN_FP8_DEFAULT_BLOCK;
    if (path && access(path, F_OK) == 0 &&
        read_text_file(path, CONFIG_MAX, &text, &len, NULL) == 0) {
        cJSON *j = cJSON_ParseWithLength(text, len);
        if (j) {
            ck->config_json = text;
            rc = fp8_block_size(ck, j, path, err);
        } else {
            free(text);
        }
        cJSON_Delete(j);
    }
    free(path);
    return rc;
}

/* --- FP8 weights and their scales ------------------------------------------------ */

static int cmp_tensor_ptr_name(const void *a, const void *b);

static char *fmt_shape(char *buf, size_t size, int ndim, const uint64_t *shape) {
    size_t pos = 0;
    buf[pos++] = '[';
    for (int d = 0; d < ndim && pos + 24 < size; d++)
        pos += (size_t)snprintf(buf + pos, size - pos, d ? ", %" PRIu64 : "%" PRIu64, shape[d]);
    snprintf(buf + pos, size - pos, "]");
    return buf;
}

/* bsearch's comparator for a bare name against by_name's tensor pointers (so the key
 * needs no swan_tensor built around a const name). */
static int cmp_name_tensor_ptr(const void *key, const void *elem) {
    return strcmp(key, (*(const swan_tensor *const *)elem)->name);
}

static swan_tensor *find_tensor(swan_tensor **by_name, size_t n, const char *name) {
    swan_tensor **hit = bsearch(name, by_name, n, sizeof *by_name, cmp_name_tensor_ptr);
    return hit ? *hit : NULL;
}

/* Attaches one FP8 weight to its scale: `<name>_scale_inv` (block scales, a 2-D
 * weight, shape ceil(rows/bm) x ceil(cols/bn)) or `<name>_scale` (one per tensor, or
 * one per row of a 2-D weight).
 * A missing or misshapen scale is refused: without it the values are meaningless. */
static int pair_one(swan_checkpoint *ck, swan_tensor **by_name, swan_tensor *w, swan_error *err) {
    const char *file = ck->shards[w->shard].path;
    size_t nl = strlen(w->name);
    char *want = malloc(nl + sizeof "_scale_inv");
    if (!want) return swan_error_set(err, "%s: out of memory", file);
    memcpy(want, w->name, nl);
    strcpy(want + nl, "_scale_inv");
    swan_tensor *s = find_tensor(by_name, ck->ntensors, want);
    bool block = s != NULL;
    if (!s) {
        want[nl + 6] = '\0'; /* "_scale" */
        s = find_tensor(by_name, ck->ntensors, want);
    }
    free(want);
    char a[96], b[96], c[96];
    if (!s)
        return swan_error_set(err, "%s: tensor '%.200s' is %s but has no scale tensor "
                                   "'%.200s_scale_inv' (or '%.200s_scale')",
                              file, w->name, swan_dtype_name(w->dtype), w->name, w->name);
    const char *sfile = ck->shards[s->shard].path;
    if (s->dtype != SWAN_DT_F32 && s->dtype != SWAN_DT_BF16 && s->dtype != SWAN_DT_F16)
        return swan_error_set(err, "%s: scale tensor '%.200s' is %s; F32, BF16 or F16 expected",
                              sfile, s->name, swan_dtype_name(s->dtype));
    if (s->is_scale)
        return swan_error_set(err, "%s: scale tensor '%.200s' serves two weights", sfile, s->name);
    uint64_t W = w->ndim ? w->shape[w->ndim - 1] : 1;
    uint64_t R = W ? w->nelem / W : 0;
    if (block) {
        uint64_t bm = ck->fp8_block_rows, bn = ck->fp8_block_cols;
        uint64_t want_shape[2] = {(R + bm - 1) / bm, (W + bn - 1) / bn};
        if (w->ndim != 2)
            return swan_error_set(err, "%s: tensor '%.200s' %s has block scales but is not 2-D",
                                  file, w->name, fmt_shape(a, sizeof a, w->ndim, w->shape));
        if (s->ndim != 2 || s->shape[0] != want_shape[0] || s->shape[1] != want_shape[1])
            return swan_error_set(err, "%s: scale tensor '%.200s' has shape %s; weight %s in blocks "
                                       "of %" PRIu64 "x%" PRIu64 " needs %s",
                                  sfile, s->name, fmt_shape(a, sizeof a, s->ndim, s->shape),
                                  fmt_shape(b, sizeof b, w->ndim, w->shape), bm, bn,
                                  fmt_shape(c, sizeof c, 2, want_shape));
        w->block_rows = bm;
        w->block_cols = bn;
        ck->fp8_block_scaled++;
    } else if (s->nelem == 1) { /* one scale for the whole tensor */
        w->block_rows = R ? R : 1;
        w->block_cols = W ? W : 1;
        ck->fp8_tensor_scaled++;
    } else if (w->ndim == 2 && s->nelem == R &&
               ((s->ndim == 2 && s->shape[1] == 1) || s->ndim == 1)) {
        /* One scale per output channel (row), [rows, 1] or [rows]: compressed-tensors'
         * "channel" strategy. */
        w->block_rows = 1;
        w->block_cols = W;
        ck->fp8_channel_scaled++;
    } else {
        return swan_error_set(err, "%s: scale tensor '%.200s' has shape %s; weight %s needs one "
                                   "value (per tensor) or [%" PRIu64 ", 1] (per row)",
                              sfile, s->name, fmt_shape(a, sizeof a, s->ndim, s->shape),
                              fmt_shape(b, sizeof b, w->ndim, w->shape), R);
    }
    s->is_scale = 1;
    w->has_scale = 1;
    w->scale_index = (uint32_t)(s - ck->tensors);
    return 0;
}

/* Runs on the final (sorted) table, since it records indices into it. */
static int pair_fp8_scales(swan_checkpoint *ck, swan_error *err) {
    size_t nfp8 = 0;
    for (size_t i = 0; i < ck->ntensors; i++) nfp8 += swan_dtype_is_fp8(ck->tensors[i].dtype);
    if (nfp8 == 0) return 0;
    swan_tensor **by_name = malloc(ck->ntensors * sizeof *by_name);
    if (!by_name) return swan_error_set(err, "%s: out of memory", ck->dir);
    for (size_t i = 0; i < ck->ntensors; i++) by_name[i] = &ck->tensors[i];
    qsort(by_name, ck->ntensors, sizeof *by_name, cmp_tensor_ptr_name);
    int rc = 0;
    for (size_t i = 0; i < ck->ntensors && rc == 0; i++)
        if (swan_dtype_is_fp8(ck->tensors[i].dtype) && ck->tensors[i].nelem > 0)
            rc = pair_one(ck, by_name, &ck->tensors[i], err);
    free(by_name);
    return rc;
}

/* --- growing the tables ------------------------------------------------------ */

int swan_checkpoint_add_shard(swan_checkpoint *ck, const char *file, const char *path,
                              swan_error *err) {
    swan_shard *s = realloc(ck->shards, (ck->nshards + 1) * sizeof *s);
    if (!s) return swan_error_set(err, "%s: out of memory", ck->dir);
    ck->shards = s;
    s = &ck->shards[ck->nshards];
    memset(s, 0, sizeof *s);
    s->file = strdup(file);
    s->path = path ? strdup(path) : join_path(ck->dir, file);
    ck->nshards++;
    if (!s->file || !s->path) return swan_error_set(err, "%s: out of memory", ck->dir);
    return 0;
}

static int add_shard(swan_checkpoint *ck, const char *file, swan_error *err) {
    return swan_checkpoint_add_shard(ck, file, NULL, err);
}

swan_tensor *swan_checkpoint_new_tensor(swan_checkpoint *ck, size_t *cap, swan_error *err) {
    if (ck->ntensors == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        swan_tensor *t = realloc(ck->tensors, ncap * sizeof *t);
        if (!t) {
            swan_error_set(err, "%s: out of memory", ck->dir);
            return NULL;
        }
        ck->tensors = t;
        *cap = ncap;
    }
    swan_tensor *t = &ck->tensors[ck->ntensors++];
    memset(t, 0, sizeof *t);
    return t;
}

/* --- tensor names -------------------------------------------------------------- */

int swan_checkpoint_adopt_names(swan_checkpoint *ck, char *block, swan_error *err) {
    char **g = realloc(ck->name_blocks, (ck->nname_blocks + 1) * sizeof *g);
    if (!g) {
        free(block);
        return swan_error_set(err, "%s: out of memory", ck->dir);
    }
    ck->name_blocks = g;
    ck->name_blocks[ck->nname_blocks++] = block;
    ck->name_next = NULL; /* the adopted block is full */
    ck->name_room = 0;
    return 0;
}

/* Names copied one by one (GGUF, the tensor table) go into blocks of this size. */
#define NAME_BLOCK (256u * 1024u)

char *swan_checkpoint_keep_name(swan_checkpoint *ck, const char *name, size_t len,
                                swan_error *err) {
    if (len + 1 > ck->name_room) {
        size_t size = len + 1 > NAME_BLOCK ? len + 1 : NAME_BLOCK;
        char *b = malloc(size);
        if (!b) {
            swan_error_set(err, "%s: out of memory", ck->dir ? ck->dir : "checkpoint");
            return NULL;
        }
        if (swan_checkpoint_adopt_names(ck, b, err)) return NULL;
        ck->name_next = b;
        ck->name_room = size;
    }
    char *p = ck->name_next;
    memcpy(p, name, len);
    p[len] = '\0';
    ck->name_next += len + 1;
    ck->name_room -= len + 1;
    return p;
}

/* --- reading shards -------------------------------------------------------------- */

/* Adds a validated header entry as a tensor of shard `shard`, named `name` (which
 * lives in ck's name blocks or in the shard's header text). Its offset is relative
 * to the data section until read_shard adds where that starts. */
static int add_tensor(swan_checkpoint *ck, size_t *cap, uint32_t shard, const swan_st_entry *e,
                      char *name, swan_error *err) {
    swan_tensor *t = swan_checkpoint_new_tensor(ck, cap, err);
    if (!t) return -1;
    t->name = name;
    t->shard = shard;
    t->dtype = e->dtype;
    t->ndim = e->ndim;
    memcpy(t->shape, e->shape, sizeof t->shape);
    t->nelem = e->nelem;
    t->offset = e->begin;
    t->nbytes = e->end - e->begin;
    return 0;
}

/* Where a shard's entries go while its header is parsed (a swan_st_sink context). */
typedef struct shard_sink {
    swan_checkpoint *ck;
    size_t *cap;
    uint32_t shard;
    wm_pair *pairs;        /* with an index: the weight_map, sorted by name; else NULL */
    size_t npairs;
} shard_sink;

static int cmp_pair_tensor(const void *a, const void *b);

/* With an index, an entry is kept only when the index promises it to this shard; its
 * name is then the index's copy. Without one, every entry is kept, its name still in
 * the header text (keep_header_names makes it last). */
static int sink_entry(void *ctx, const swan_st_entry *e, swan_error *err) {
    shard_sink *k = ctx;
    char *name = e->name;
    if (k->pairs) {
        wm_pair key = {.tensor = e->name};
        wm_pair *p = bsearch(&key, k->pairs, k->npairs, sizeof *k->pairs, cmp_pair_tensor);
        /* Present here but promised elsewhere, or not in the index at all: the index
         * is the source of truth, the extra copy is not analyzed. */
        if (!p || p->shard != k->shard) {
            k->ck->ignored_tensors++;
            return 0;
        }
        p->found = 1;
        name = (char *)p->tensor;
    }
    return add_tensor(k->ck, k->cap, k->shard, e, name, err);
}

/* Reads shard `i`'s header into ck (s->size, data_start, and its tensors through
 * pairs as sink_entry says). *text is the header text, in which the names of a shard
 * without an index are. Errors already name the file. */
static int read_shard(swan_checkpoint *ck, uint32_t i, size_t *cap, wm_pair *pairs,
                      size_t npairs, char **text, swan_error *err) {
    swan_shard *s = &ck->shards[i];
    /* Size and mtime before the header is parsed; stamp_shards compares them with the
     * stamp taken after, so a file changed in between cannot pass for the table read. */
    struct stat before;
    if (stat(s->path, &before) != 0)
        return swan_error_set(err, "%s: cannot stat: %s", s->path, strerror(errno));
    swan_stamp_from_stat(&before, &s->stamp);
    shard_sink k = {ck, cap, i, pairs, npairs};
    size_t first = ck->ntensors;
    if (swan_st_scan_file(s->path, sink_entry, &k, text, &s->size, &s->data_start, err) != 0) {
        ck->ntensors = first; /* their names may point into the freed text */
        return -1;
    }
    /* The entries' offsets count from the data section, known now. */
    for (size_t t = first; t < ck->ntensors; t++) ck->tensors[t].offset += s->data_start;
    return 0;
}

/* --- sorting helpers ---------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_pair_tensor(const void *a, const void *b) {
    return strcmp(((const wm_pair *)a)->tensor, ((const wm_pair *)b)->tensor);
}

static int cmp_tensor_ptr_name(const void *a, const void *b) {
    return strcmp((*(const swan_tensor *const *)a)->name, (*(const swan_tensor *const *)b)->name);
}

static int cmp_tensor_place(const void *a, const void *b) {
    const swan_tensor *x = a, *y = b;
    if (x->shard != y->shard) return x->shard < y->shard ? -1 : 1;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    /* Zero-size tensors may share an offset; the name keeps the order stable. */
    return strcmp(x->name, y->name);
}

/* --- with an index ------------------------------------------------------------ */

/* A shard name from the index must stay inside the model directory: relative, and no
 * ".." component. Symlinks placed inside the directory are followed on purpose: the
 * Hugging Face cache stores every snapshot file as a symlink into ../../blobs/. */
static int shard_name_ok(const char *f) {
    if (f[0] == '\0' || f[0] == '/') return 0;
    for (const char *p = f; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += n;
        if (*p == '/') p++;
    }
    return 1;
}

/* The distinct shard files named so far, sorted, in a small growing array: the
 * index names a handful of files ~100,000 times, so each value is found by bsearch
 * (after a check against the last one, the usual case) instead of being collected
 * and sorted once per tensor. */
typedef struct file_set {
    const char **v;
    size_t n, cap;
    const char *last;
} file_set;

static const char *file_set_add(file_set *fs, const char *f) {
    if (fs->last && strcmp(fs->last, f) == 0) return fs->last;
    size_t lo = 0, hi = fs->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(fs->v[mid], f);
        if (c == 0) return fs->last = fs->v[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (fs->n == fs->cap) {
        size_t ncap = fs->cap ? 2 * fs->cap : 16;
        const char **g = realloc(fs->v, ncap * sizeof *g);
        if (!g) return NULL;
        fs->v = g;
        fs->cap = ncap;
    }
    memmove(fs->v + lo + 1, fs->v + lo, (fs->n - lo) * sizeof *fs->v);
    fs->v[lo] = f;
    fs->n++;
    return fs->last = f;
}

/* Decodes the current string of s in place in text (decoding never grows a string,
 * and the scanner is already past it); NULL when it holds a \u0000. */
static const char *decode_in_place(const swan_js *s, char *text) {
    bool nul;
    char *dst = text + (s->tok - s->text);
    swan_js_decode(s, dst, &nul);
    return nul ? NULL : dst;
}

/* The members of the weight_map object (its '{' already read) -> pairs. Names and
 * file names are decoded in place in text, which the pairs then point into. */
static int read_weight_map(const char *ipath, swan_js *s, char *text, wm_pair **out,
                           size_t *out_n, file_set *fs, swan_error *err) {
    wm_pair *pairs = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        swan_js_tok t = swan_js_next(s);
        if (t == SWAN_JS_OBJECT_END) break;
        if (t != SWAN_JS_KEY) goto syntax;
        const char *tensor = decode_in_place(s, text);
        t = swan_js_next(s);
        if (t == SWAN_JS_ERROR) goto syntax;
        const char *file = t == SWAN_JS_STRING ? decode_in_place(s, text) : NULL;
        if (!tensor || !file) {
            swan_js_skip(s, t);
            free(pairs);
            if (!tensor)
                return swan_error_set(err, "%s: a weight_map name holds a \\u0000 (NUL) character", ipath);
            return swan_error_set(err, "%s: weight_map entry '%.200s' is not a file name string",
                                  ipath, tensor);
        }
        if (n == cap) {
            size_t ncap = cap ? cap + cap / 2 : 1024;
            wm_pair *g = realloc(pairs, ncap * sizeof *g);
            if (!g) {
                free(pairs);
                return swan_error_set(err, "%s: out of memory", ipath);
            }
            pairs = g;
            cap = ncap;
        }
        if (!(file = file_set_add(fs, file))) {
            free(pairs);
            return swan_error_set(err, "%s: out of memory", ipath);
        }
        pairs[n++] = (wm_pair){.tensor = tensor, .file = file};
    }
    *out = pairs;
    *out_n = n;
    return 0;
syntax:
    free(pairs);
    return swan_error_set(err, "%s: not valid JSON (%s near byte %zu)", ipath,
                          s->err_what ? s->err_what : "error", s->err_pos);
}

/* The index text -> weight_map pairs sorted by tensor name (duplicates refused) and
 * the distinct shard files, sorted. The text is read by the pull scanner
 * (common/json_scan.h) and the strings are decoded in place, so a 1,000,000-tensor
 * index costs its text and one pair per tensor, not a cJSON tree. The whole document
 * is checked to be JSON; only the first "weight_map" is used. */
static int load_weight_map(const char *ipath, char *text, size_t len, wm_pair **out,
                           size_t *out_n, file_set *fs, swan_error *err) {
    swan_js s;
    swan_js_init(&s, text, len);
    wm_pair *pairs = NULL;
    size_t n = 0;
    bool have_map = false, seen_map = false;
    int rc = 0;
    swan_js_tok t = swan_js_next(&s);
    if (t == SWAN_JS_OBJECT) {
        while (rc == 0 && (t = swan_js_next(&s)) == SWAN_JS_KEY) {
            bool first_map = !seen_map && swan_js_equals(&s, "weight_map");
            seen_map |= first_map;
            t = swan_js_next(&s);
            if (first_map && t == SWAN_JS_OBJECT) {
                have_map = true;
                rc = read_weight_map(ipath, &s, text, &pairs, &n, fs, err);
            } else if (swan_js_skip(&s, t)) {
                break; /* a first weight_map that is not an object is refused below */
            }
        }
        if (rc == 0 && t != SWAN_JS_OBJECT_END) t = SWAN_JS_ERROR;
        else if (rc == 0) t = swan_js_next(&s);
    } else if (swan_js_skip(&s, t) == 0) {
        t = swan_js_next(&s);
    } else {
        t = SWAN_JS_ERROR;
    }
    if (rc == 0) {
        /* Like cJSON: trailing whitespace only. */
        size_t p = s.pos;
        while (p < len && (text[p] == ' ' || text[p] == '\n' || text[p] == '\r' || text[p] == '\t')) p++;
        if (t != SWAN_JS_END || p != len)
            rc = swan_error_set(err, "%s: not valid JSON (%s near byte %zu)", ipath,
                                t == SWAN_JS_END ? "data after the document"
                                : s.err_what     ? s.err_what
                                                 : "error",
                                t == SWAN_JS_END ? p : s.err_pos);
        else if (!have_map)
            rc = swan_error_set(err, "%s: no \"weight_map\" object", ipath);
        else if (n == 0)
            rc = swan_error_set(err, "%s: weight_map names no tensors", ipath);
    }
    if (rc == 0) {
        qsort(pairs, n, sizeof *pairs, cmp_pair_tensor);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (strcmp(pairs[i - 1].tensor, pairs[i].tensor) == 0)
                rc = swan_error_set(err, "%s: tensor '%.200s' appears twice in weight_map", ipath,
                                    pairs[i].tensor);
    }
    if (rc != 0) {
        free(pairs);
        return -1;
    }
    *out = pairs;
    *out_n = n;
    return 0;
}

/* The distinct shard files (sorted, validated) registered as ck->shards; then each
 * pair learns its shard index. */
static int collect_shards(swan_checkpoint *ck, const char *ipath, wm_pair *pairs, size_t n,
                          const file_set *fs, swan_error *err) {
    const char **files = fs->v;
    size_t u = fs->n;
    int rc = 0;
    for (size_t i = 0; i < u && rc == 0; i++) {
        if (!shard_name_ok(files[i])) {
            rc = swan_error_set(err,
                                "%s: shard '%.200s' is not a relative path inside the model "
                                "directory",
                                ipath, files[i]);
            break;
        }
        rc = add_shard(ck, files[i], err);
        struct stat st;
        if (rc == 0 && stat(ck->shards[i].path, &st) != 0)
            rc = swan_error_set(err, "%s: %s (shard named in " INDEX_NAME ")",
                                ck->shards[i].path,
                                errno == ENOENT ? "does not exist" : strerror(errno));
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char **hit = bsearch(&pairs[i].file, files, u, sizeof *files, cmp_str);
        pairs[i].shard = (uint32_t)(hit - files);
    }
    return rc;
}

/* Copies the pairs' tensor names into one block and repoints them, so the index
 * text (larger than the names alone) can be freed before the shard
 * headers are read: the coordinator's peak memory is the sum of what is alive. */
static int detach_names(wm_pair *pairs, size_t n, char **arena, const char *ipath,
                        swan_error *err) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(pairs[i].tensor) + 1;
    char *a = malloc(total ? total : 1);
    if (!a) return swan_error_set(err, "%s: out of memory", ipath);
    char *p = a;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(pairs[i].tensor) + 1;
        memcpy(p, pairs[i].tensor, len);
        pairs[i].tensor = p;
        pairs[i].file = NULL; /* pointed into the index; the shard index replaces it */
        p += len;
    }
    *arena = a;
    return 0;
}

static int open_indexed(swan_checkpoint *ck, const char *ipath, swan_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (read_text_file(ipath, SWAN_ST_MAX_HEADER, &text, &len, err) != 0) return -1;

    wm_pair *pairs = NULL;
    char *names = NULL;
    size_t n = 0, cap = 0;
    file_set fs = {0};
    int rc = load_weight_map(ipath, text, len, &pairs, &n, &fs, err);
    if (rc == 0) rc = collect_shards(ck, ipath, pairs, n, &fs, err);
    if (rc == 0) rc = detach_names(pairs, n, &names, ipath, err);
    free(fs.v);
    free(text);
    /* The index's copy of the names becomes the checkpoint's: every tensor kept is
     * named in it, so the shards' own copies go with their header text. */
    if (rc == 0) rc = swan_checkpoint_adopt_names(ck, names, err);
    else free(names);
    /* The index says how many tensors there are: size the table once. */
    if (rc == 0 && (ck->tensors = malloc(n * sizeof *ck->tensors)) != NULL) cap = n;

    for (uint32_t s = 0; s < ck->nshards && rc == 0; s++) {
        char *header = NULL;
        rc = read_shard(ck, s, &cap, pairs, n, &header, err);
        free(header);
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!pairs[i].found)
            rc = swan_error_set(err, "%s: tensor '%.200s' named in " INDEX_NAME " is not in this file",
                                ck->shards[pairs[i].shard].path, pairs[i].tensor);
    free(pairs);
    return rc;
}

/* --- without an index --------------------------------------------------------- */

static int has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && strcmp(name + n - k, suffix) == 0;
}

/* Every regular file named *suffix (symlinks followed), sorted by name; none is not
 * an error here (*out_n is 0). */
int swan_checkpoint_list_files(const char *dir, const char *suffix, char ***out, size_t *out_n,
                               swan_error *err) {
    DIR *d = opendir(dir);
    if (!d) return swan_error_set(err, "%s: cannot read directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!has_suffix(de->d_name, suffix)) continue;
        char *path = join_path(dir, de->d_name);
        struct stat st;
        int regular = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (!regular) continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **g = realloc(names, ncap * sizeof *g);
            if (!g) {
                rc = swan_error_set(err, "%s: out of memory", dir);
                break;
            }
            names = g;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) rc = swan_error_set(err, "%s: out of memory", dir);
        else n++;
    }
    closedir(d);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        return -1;
    }
    if (n) qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    *out_n = n;
    return 0;
}

/* Without an index nothing says which copy is meant, so a name in two files is an
 * error rather than a guess. */
static int check_unique_names(swan_checkpoint *ck, swan_error *err) {
    if (ck->ntensors < 2) return 0;
    swan_tensor **p = malloc(ck->ntensors * sizeof *p);
    if (!p) return swan_error_set(err, "%s: out of memory", ck->dir);
    for (size_t i = 0; i < ck->ntensors; i++) p[i] = &ck->tensors[i];
    qsort(p, ck->ntensors, sizeof *p, cmp_tensor_ptr_name);
    int rc = 0;
    for (size_t i = 1; i < ck->ntensors && rc == 0; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0) {
            const swan_tensor *a = p[i - 1], *b = p[i];
            if (a->shard > b->shard) {
                const swan_tensor *t = a;
                a = b;
                b = t;
            }
            rc = swan_error_set(err, "%s: tensor '%.200s' is also in %s", ck->shards[b->shard].path,
                                b->name, ck->shards[a->shard].file);
        }
    free(p);
    return rc;
}

/* The names of tensors [first, ntensors) point into a shard's header text, where
 * they were decoded in header order: they are moved to its front, the rest of the
 * text is given back, and what remains becomes a name block of ck. So a shard's
 * names cost their bytes, and the text is never alive next to a copy of them. */
static int keep_header_names(swan_checkpoint *ck, size_t first, char *text, swan_error *err) {
    char *dst = text;
    /* Each name lies after the previous one's end, so moving the names down in order
     * never overwrites one not yet moved. */
    for (size_t i = first; i < ck->ntensors; i++) {
        size_t len = strlen(ck->tensors[i].name) + 1;
        memmove(dst, ck->tensors[i].name, len);
        dst += len;
    }
    size_t used = (size_t)(dst - text);
    char *shrunk = realloc(text, used ? used : 1);
    if (shrunk) text = shrunk; /* else the larger block holds them just as well */
    char *p = text;
    for (size_t i = first; i < ck->ntensors; i++) {
        ck->tensors[i].name = p;
        p += strlen(p) + 1;
    }
    return swan_checkpoint_adopt_names(ck, text, err);
}

/* names: the *.safetensors files of the directory (at least one). */
static int open_plain(swan_checkpoint *ck, char **names, size_t n, swan_error *err) {
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = add_shard(ck, names[i], err);
    for (uint32_t s = 0; s < ck->nshards && rc == 0; s++) {
        char *header = NULL;
        size_t first = ck->ntensors;
        rc = read_shard(ck, s, &cap, NULL, 0, &header, err);
        if (rc == 0) rc = keep_header_names(ck, first, header, err);
    }
    if (rc == 0) rc = check_unique_names(ck, err);
    return rc;
}

/* --- public ------------------------------------------------------------------- */

/* A directory: safetensors when it has an index or *.safetensors files, else a GGUF
 * model (one file, or one split into parts). */
static int open_dir(swan_checkpoint *ck, swan_error *err) {
    struct stat st;
    char *ipath = join_path(ck->dir, INDEX_NAME);
    if (!ipath) return swan_error_set(err, "%s: out of memory", ck->dir);
    int rc;
    if (stat(ipath, &st) == 0) {
        ck->has_index = 1;
        rc = open_indexed(ck, ipath, err);
    } else if (errno != ENOENT) {
        rc = swan_error_set(err, "%s: cannot open: %s", ipath, strerror(errno));
    } else {
        char **names = NULL;
        size_t n = 0;
        rc = swan_checkpoint_list_files(ck->dir, ST_SUFFIX, &names, &n, err);
        if (rc == 0 && n > 0) rc = open_plain(ck, names, n, err);
        else if (rc == 0) rc = swan_gguf_open_dir(ck, err);
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
    }
    free(ipath);
    return rc;
}

/* Stamps every shard (size, mtime, hash of the bytes before data_start): what a
 * resume and the end of a run compare against. Where read_shard noted the size and
 * mtime before parsing, they must still hold. */
static int stamp_shards(swan_checkpoint *ck, swan_error *err) {
    for (size_t i = 0; i < ck->nshards; i++) {
        swan_shard *s = &ck->shards[i];
        swan_shard_stamp now;
        if (swan_shard_stamp_read(s->path, s->data_start, &now, err) != 0) return -1;
        bool noted = s->stamp.mtime_ns != 0 || s->stamp.size != 0;
        if (now.size != s->size ||
            (noted && (now.size != s->stamp.size || now.mtime_ns != s->stamp.mtime_ns)))
            return swan_error_set(err, "%s: the file changed while its header was being read",
                                  s->path);
        s->stamp = now;
    }
    return 0;
}

int swan_checkpoint_open(const char *path, swan_checkpoint *out, swan_error *err) {
    memset(out, 0, sizeof *out);
    swan_checkpoint ck = {0};
    /* Trailing slashes would show up doubled in every path we print. */
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    ck.dir = strndup(path, len);
    if (!ck.dir) return swan_error_set(err, "%s: out of memory", path);

    struct stat st;
    int rc = 0;
    if (stat(ck.dir, &st) != 0) {
        rc = swan_error_set(err, "%s: cannot open: %s", ck.dir, strerror(errno));
    } else if (S_ISREG(st.st_mode) && has_suffix(ck.dir, SWAN_GGUF_SUFFIX)) {
        rc = swan_gguf_open_file(&ck, err);
    } else if (!S_ISDIR(st.st_mode)) {
        rc = swan_error_set(err, "%s: not a directory or a .gguf file", ck.dir);
    } else {
        rc = open_dir(&ck, err);
    }
    /* GGUF carries its configuration in its own metadata. */
    if (rc == 0 && ck.format == SWAN_FORMAT_SAFETENSORS) rc = load_config(&ck, err);
    if (rc == 0) qsort(ck.tensors, ck.ntensors, sizeof *ck.tensors, cmp_tensor_place);
    if (rc == 0) rc = pair_fp8_scales(&ck, err);
    if (rc == 0) rc = stamp_shards(&ck, err);
    if (rc != 0) {
        swan_checkpoint_free(&ck);
        return -1;
    }
    *out = ck;
    return 0;
}

void swan_checkpoint_free(swan_checkpoint *ck) {
    if (!ck) return;
    for (size_t i = 0; i < ck->nshards; i++) {
        free(ck->shards[i].file);
        free(ck->shards[i].path);
    }
    for (size_t i = 0; i < ck->nname_blocks; i++) free(ck->name_blocks[i]);
    free(ck->name_blocks);
    free(ck->shards);
    free(ck->tensors);
    free(ck->config_json);
    free(ck->dir);
    memset(ck, 0, sizeof *ck);
}

uint64_t swan_checkpoint_bytes(const swan_checkpoint *ck) {
    uint64_t sum = 0;
    for (size_t i = 0; i < ck->ntensors; i++) sum += ck->tensors[i].nbytes;
    return sum;
}

const char *swan_format_name(swan_format f) {
    switch (f) {
    case SWAN_FORMAT_SAFETENSORS: return "safetensors";
    case SWAN_FORMAT_GGUF: return "gguf";
    }
    return "?";
}

swan_tensor_kind swan_tensor_classify(const swan_tensor *t, swan_view2d *view) {
    if (view) memset(view, 0, sizeof *view);
    if (t->is_scale) return SWAN_KIND_SCALE;
    if (swan_dtype_is_analyzed(t->dtype) || (swan_dtype_is_fp8(t->dtype) && t->has_scale))
        return swan_view2d_make(t->ndim, t->shape, view);
    if (t->nelem == 0) return SWAN_KIND_EMPTY;
    if (swan_dtype_is_block_quantized(t->dtype)) return SWAN_KIND_QUANTIZED;
    return SWAN_KIND_NOT_FLOAT;
}

void swan_tensor_scale_grid(const swan_tensor *t, uint64_t *rows, uint64_t *cols) {
    uint64_t w = t->ndim ? t->shape[t->ndim - 1] : 1, r = w ? t->nelem / w : 0;
    *rows = r / t->block_rows + (r % t->block_rows != 0);
    *cols = w / t->block_cols + (w % t->block_cols != 0);
}
