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
 * with 100k tensors open in well under a second. */
#include "common/checkpoint.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/formats/safetensors.h"

#define INDEX_NAME "model.safetensors.index.json"
#define CONFIG_NAME "config.json"
#define CONFIG_MAX (64u * 1024u * 1024u)
#define ST_SUFFIX ".safetensors"

/* One weight_map line: which shard a tensor is promised to be in. The strings point
 * into the parsed index until detach_names copies the names out of it. */
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
    int fd = open(path, O_RDONLY);
    if (fd < 0) return swan_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        rc = swan_error_set(err, "%s: cannot stat: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = swan_error_set(err, "%s: not a regular file", path);
    } else if ((uint64_t)st.st_size > max) {
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

/* config.json is optional metadata for the manifest: absent or broken is not an
 * error, it just is not copied. */
static void load_config(swan_checkpoint *ck) {
    char *path = join_path(ck->dir, CONFIG_NAME);
    char *text = NULL;
    size_t len = 0;
    if (path && access(path, F_OK) == 0 &&
        read_text_file(path, CONFIG_MAX, &text, &len, NULL) == 0) {
        cJSON *j = cJSON_ParseWithLength(text, len);
        if (j) ck->config_json = text;
        else free(text);
        cJSON_Delete(j);
    }
    free(path);
}

/* --- growing the tables ------------------------------------------------------ */

static int add_shard(swan_checkpoint *ck, const char *file, swan_error *err) {
    swan_shard *s = realloc(ck->shards, (ck->nshards + 1) * sizeof *s);
    if (!s) return swan_error_set(err, "%s: out of memory", ck->dir);
    ck->shards = s;
    s = &ck->shards[ck->nshards];
    memset(s, 0, sizeof *s);
    s->file = strdup(file);
    s->path = join_path(ck->dir, file);
    ck->nshards++;
    if (!s->file || !s->path) return swan_error_set(err, "%s: out of memory", ck->dir);
    return 0;
}

/* Moves the entry (and its name) into the checkpoint's tensor table. */
static int add_tensor(swan_checkpoint *ck, size_t *cap, uint32_t shard, swan_st_entry *e,
                      uint64_t data_start, swan_error *err) {
    if (ck->ntensors == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        swan_tensor *t = realloc(ck->tensors, ncap * sizeof *t);
        if (!t) return swan_error_set(err, "%s: out of memory", ck->dir);
        ck->tensors = t;
        *cap = ncap;
    }
    swan_tensor *t = &ck->tensors[ck->ntensors++];
    t->name = e->name;
    e->name = NULL;
    t->shard = shard;
    t->dtype = e->dtype;
    t->ndim = e->ndim;
    memcpy(t->shape, e->shape, sizeof t->shape);
    t->nelem = e->nelem;
    t->offset = data_start + e->begin;
    t->nbytes = e->end - e->begin;
    return 0;
}

/* Reads shard `i`'s header into s->size/data_start. Errors already name the file. */
static int read_shard(swan_checkpoint *ck, uint32_t i, swan_st_header *h, swan_error *err) {
    swan_shard *s = &ck->shards[i];
    if (swan_st_read_file(s->path, h, &s->size, err) != 0) return -1;
    s->data_start = h->data_start;
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

/* weight_map -> pairs sorted by tensor name, duplicates refused. */
static int load_weight_map(const char *ipath, const cJSON *root, wm_pair **out, size_t *out_n,
                           swan_error *err) {
    const cJSON *wm = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "weight_map")
                                           : NULL;
    if (!cJSON_IsObject(wm))
        return swan_error_set(err, "%s: no \"weight_map\" object", ipath);
    size_t n = 0;
    for (const cJSON *it = wm->child; it; it = it->next) n++;
    if (n == 0) return swan_error_set(err, "%s: weight_map names no tensors", ipath);
    wm_pair *pairs = calloc(n, sizeof *pairs);
    if (!pairs) return swan_error_set(err, "%s: out of memory", ipath);
    size_t i = 0;
    for (const cJSON *it = wm->child; it; it = it->next, i++) {
        if (!cJSON_IsString(it)) {
            free(pairs);
            return swan_error_set(err, "%s: weight_map entry '%.200s' is not a file name string",
                                  ipath, it->string);
        }
        pairs[i].tensor = it->string;
        pairs[i].file = it->valuestring;
    }
    qsort(pairs, n, sizeof *pairs, cmp_pair_tensor);
    for (i = 1; i < n; i++)
        if (strcmp(pairs[i - 1].tensor, pairs[i].tensor) == 0) {
            const char *t = pairs[i].tensor;
            free(pairs);
            return swan_error_set(err, "%s: tensor '%.200s' appears twice in weight_map", ipath, t);
        }
    *out = pairs;
    *out_n = n;
    return 0;
}

/* The distinct shard files named by the pairs, sorted, validated, and registered as
 * ck->shards; then each pair learns its shard index. */
static int collect_shards(swan_checkpoint *ck, const char *ipath, wm_pair *pairs, size_t n,
                          swan_error *err) {
    const char **files = malloc(n * sizeof *files);
    if (!files) return swan_error_set(err, "%s: out of memory", ipath);
    for (size_t i = 0; i < n; i++) files[i] = pairs[i].file;
    qsort(files, n, sizeof *files, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(files[u - 1], files[i]) != 0) files[u++] = files[i];

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
    free(files);
    return rc;
}

/* Copies the pairs' tensor names into one block and repoints them, so the parsed
 * index (several times larger for 100,000 tensors) can be freed before the shard
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
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return swan_error_set(err, "%s: not valid JSON", ipath);

    wm_pair *pairs = NULL;
    char *names = NULL;
    size_t n = 0, cap = 0;
    int rc = load_weight_map(ipath, root, &pairs, &n, err);
    if (rc == 0) rc = collect_shards(ck, ipath, pairs, n, err);
    if (rc == 0) rc = detach_names(pairs, n, &names, ipath, err);
    cJSON_Delete(root);
    /* The index says how many tensors there are: size the table once. */
    if (rc == 0 && (ck->tensors = malloc(n * sizeof *ck->tensors)) != NULL) cap = n;

    for (uint32_t s = 0; s < ck->nshards && rc == 0; s++) {
        swan_st_header h;
        if ((rc = read_shard(ck, s, &h, err)) != 0) break;
        for (size_t i = 0; i < h.count && rc == 0; i++) {
            wm_pair key = {.tensor = h.entries[i].name};
            wm_pair *p = bsearch(&key, pairs, n, sizeof *pairs, cmp_pair_tensor);
            /* Present here but promised elsewhere, or not in the index at all: the
             * index is the source of truth, the extra copy is not analyzed. */
            if (!p || p->shard != s) {
                ck->ignored_tensors++;
                continue;
            }
            p->found = 1;
            rc = add_tensor(ck, &cap, s, &h.entries[i], h.data_start, err);
        }
        swan_st_header_free(&h);
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!pairs[i].found)
            rc = swan_error_set(err, "%s: tensor '%.200s' named in " INDEX_NAME " is not in this file",
                                ck->shards[pairs[i].shard].path, pairs[i].tensor);
    free(pairs);
    free(names);
    return rc;
}

/* --- without an index --------------------------------------------------------- */

static int is_st_name(const char *name) {
    size_t n = strlen(name), k = strlen(ST_SUFFIX);
    return n > k && strcmp(name + n - k, ST_SUFFIX) == 0;
}

/* Every regular *.safetensors file (symlinks followed), sorted by name. */
static int list_st_files(const char *dir, char ***out, size_t *out_n, swan_error *err) {
    DIR *d = opendir(dir);
    if (!d) return swan_error_set(err, "%s: cannot read directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!is_st_name(de->d_name)) continue;
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
    if (rc == 0 && n == 0)
        rc = swan_error_set(err, "%s: no *.safetensors files in this directory", dir);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        return -1;
    }
    qsort(names, n, sizeof *names, cmp_str);
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

static int open_plain(swan_checkpoint *ck, swan_error *err) {
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (list_st_files(ck->dir, &names, &n, err) != 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = add_shard(ck, names[i], err);
    for (uint32_t s = 0; s < ck->nshards && rc == 0; s++) {
        swan_st_header h;
        if ((rc = read_shard(ck, s, &h, err)) != 0) break;
        for (size_t i = 0; i < h.count && rc == 0; i++)
            rc = add_tensor(ck, &cap, s, &h.entries[i], h.data_start, err);
        swan_st_header_free(&h);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc == 0) rc = check_unique_names(ck, err);
    return rc;
}

/* --- public ------------------------------------------------------------------- */

int swan_checkpoint_open(const char *dir, swan_checkpoint *out, swan_error *err) {
    memset(out, 0, sizeof *out);
    swan_checkpoint ck = {0};
    /* Trailing slashes would show up doubled in every path we print. */
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    ck.dir = strndup(dir, len);
    if (!ck.dir) return swan_error_set(err, "%s: out of memory", dir);

    struct stat st;
    int rc = 0;
    char *ipath = join_path(ck.dir, INDEX_NAME);
    if (!ipath) {
        rc = swan_error_set(err, "%s: out of memory", ck.dir);
    } else if (stat(ck.dir, &st) != 0) {
        rc = swan_error_set(err, "%s: cannot open: %s", ck.dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = swan_error_set(err, "%s: not a directory", ck.dir);
    } else if (stat(ipath, &st) == 0) {
        ck.has_index = 1;
        rc = open_indexed(&ck, ipath, err);
    } else if (errno != ENOENT) {
        rc = swan_error_set(err, "%s: cannot open: %s", ipath, strerror(errno));
    } else {
        rc = open_plain(&ck, err);
    }
    free(ipath);
    if (rc != 0) {
        swan_checkpoint_free(&ck);
        return -1;
    }
    load_config(&ck);
    qsort(ck.tensors, ck.ntensors, sizeof *ck.tensors, cmp_tensor_place);
    *out = ck;
    return 0;
}

void swan_checkpoint_free(swan_checkpoint *ck) {
    if (!ck) return;
    for (size_t i = 0; i < ck->nshards; i++) {
        free(ck->shards[i].file);
        free(ck->shards[i].path);
    }
    for (size_t i = 0; i < ck->ntensors; i++) free(ck->tensors[i].name);
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
