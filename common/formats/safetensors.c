/* safetensors.c: parse and validate one safetensors header (SWAN-METRICS.md section 1).
 *
 * The checkpoint layer calls swan_st_read_file for every shard before any work is
 * planned, so everything the worker later trusts (dtype, shape, byte range inside the
 * file, no overlap) is checked here once. The file is hostile until proven otherwise:
 * lengths are checked before allocating, JSON numbers (doubles in cJSON) must be exact
 * integers, products are overflow-checked, and duplicate keys (which cJSON keeps) are
 * refused. Only the header bytes are read; tensor data is never touched. */
#include "common/formats/safetensors.h"
#include "common/regular_file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tensor names are printed with a bound so that a huge name cannot push the actual
 * problem out of the fixed-size error line. */
#define NAME_FMT "'%.200s'"

/* JSON numbers above 2^53 are not exact in a double, so they cannot be trusted. */
#define MAX_EXACT_INT 9007199254740992.0

int swan_st_header_length(const unsigned char prefix[8], uint64_t file_size,
                          uint64_t *header_len, swan_error *err) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | prefix[i];
    if (n > SWAN_ST_MAX_HEADER)
        return swan_error_set(err, "header length %" PRIu64 " exceeds the %u-byte limit", n,
                              (unsigned)SWAN_ST_MAX_HEADER);
    if (file_size < 8 || n > file_size - 8)
        return swan_error_set(err,
                              "header length %" PRIu64 " does not fit in a file of %" PRIu64
                              " bytes (truncated?)",
                              n, file_size);
    *header_len = n;
    return 0;
}

/* A JSON number that is an exact integer in [0, 2^53). */
static int json_uint(const cJSON *item, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return -1;
    double d = item->valuedouble;
    if (!isfinite(d) || d < 0 || d >= MAX_EXACT_INT || floor(d) != d) return -1;
    *out = (uint64_t)d;
    return 0;
}

/* "[a, b, c]" for error messages. */
static void format_shape(char *buf, size_t cap, int ndim, const uint64_t *shape) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRIu64, i ? ", " : "", shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

static int parse_shape(const char *name, const cJSON *arr, swan_st_entry *e, swan_error *err) {
    if (!cJSON_IsArray(arr))
        return swan_error_set(err, "tensor " NAME_FMT ": \"shape\" is missing or not an array",
                              name);
    int ndim = 0;
    for (const cJSON *d = arr->child; d; d = d->next) {
        if (ndim == SWAN_MAX_DIMS)
            return swan_error_set(err, "tensor " NAME_FMT ": shape has more than %d dimensions",
                                  name, SWAN_MAX_DIMS);
        if (json_uint(d, &e->shape[ndim]) != 0)
            return swan_error_set(err,
                                  "tensor " NAME_FMT
                                  ": shape entries must be integers in [0, 2^53)",
                                  name);
        ndim++;
    }
    e->ndim = ndim;
    return 0;
}

/* Fills nelem and checks that nelem * element size fits in uint64. */
static int shape_bytes(const char *name, swan_st_entry *e, uint64_t *nbytes, swan_error *err) {
    /* A zero dimension makes the product 0 whatever the others are, so it is looked
     * for before multiplying: [0, 2^40, 2^40] is a valid empty tensor. */
    uint64_t n = 1;
    int overflow = 0;
    for (int i = 0; i < e->ndim; i++)
        if (e->shape[i] == 0) n = 0;
    for (int i = 0; i < e->ndim && n != 0; i++) {
        if (n > UINT64_MAX / e->shape[i]) overflow = 1;
        else n *= e->shape[i];
    }
    uint64_t size = swan_dtype_size(e->dtype);
    if (!overflow && n > UINT64_MAX / size) overflow = 1;
    if (overflow) {
        char shape[256];
        format_shape(shape, sizeof shape, e->ndim, e->shape);
        return swan_error_set(err, "tensor " NAME_FMT ": shape %s overflows", name, shape);
    }
    e->nelem = n;
    *nbytes = n * size;
    return 0;
}

static int parse_offsets(const char *name, const cJSON *arr, swan_st_entry *e,
                         swan_error *err) {
    if (!cJSON_IsArray(arr) || !arr->child || !arr->child->next || arr->child->next->next ||
        json_uint(arr->child, &e->begin) != 0 || json_uint(arr->child->next, &e->end) != 0)
        return swan_error_set(err,
                              "tensor " NAME_FMT
                              ": \"data_offsets\" must be [begin, end] with integers in [0, 2^53)",
                              name);
    if (e->begin > e->end)
        return swan_error_set(err,
                              "tensor " NAME_FMT ": data_offsets [%" PRIu64 ", %" PRIu64
                              "] end before begin",
                              name, e->begin, e->end);
    return 0;
}

/* One tensor entry: dtype, shape, offsets, size agreement, inside the data section. */
static int parse_entry(const cJSON *item, uint64_t data_size, swan_st_entry *e,
                       swan_error *err) {
    const char *name = item->string;
    if (!cJSON_IsObject(item))
        return swan_error_set(err, "tensor " NAME_FMT ": entry is not a JSON object", name);

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!cJSON_IsString(dt))
        return swan_error_set(err, "tensor " NAME_FMT ": \"dtype\" is missing or not a string",
                              name);
    e->dtype = swan_dtype_from_name(dt->valuestring);
    if (e->dtype == SWAN_DT_INVALID)
        return swan_error_set(err, "tensor " NAME_FMT ": dtype '%.40s' is not a safetensors dtype",
                              name, dt->valuestring);

    uint64_t nbytes = 0;
    if (parse_shape(name, cJSON_GetObjectItemCaseSensitive(item, "shape"), e, err) != 0 ||
        shape_bytes(name, e, &nbytes, err) != 0 ||
        parse_offsets(name, cJSON_GetObjectItemCaseSensitive(item, "data_offsets"), e, err) != 0)
        return -1;

    if (e->end - e->begin != nbytes) {
        char shape[256];
        format_shape(shape, sizeof shape, e->ndim, e->shape);
        return swan_error_set(err,
                              "tensor " NAME_FMT ": data_offsets [%" PRIu64 ", %" PRIu64
                              "] hold %" PRIu64 " bytes but shape %s x %s needs %" PRIu64,
                              name, e->begin, e->end, e->end - e->begin, shape,
                              swan_dtype_name(e->dtype), nbytes);
    }
    if (e->end > data_size)
        return swan_error_set(err,
                              "tensor " NAME_FMT ": data_offsets [%" PRIu64 ", %" PRIu64
                              "] go past the end of the data section (%" PRIu64
                              " bytes; file truncated?)",
                              name, e->begin, e->end, data_size);
    return 0;
}

static int cmp_by_name(const void *a, const void *b) {
    const swan_st_entry *x = *(const swan_st_entry *const *)a;
    const swan_st_entry *y = *(const swan_st_entry *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_by_begin(const void *a, const void *b) {
    const swan_st_entry *x = *(const swan_st_entry *const *)a;
    const swan_st_entry *y = *(const swan_st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Duplicate names and overlapping byte ranges, both via sorting: O(n log n) so a
 * 100k-tensor header stays fast. */
static int check_table(swan_st_header *h, swan_error *err) {
    if (h->count < 2) return 0;
    swan_st_entry **p = malloc(h->count * sizeof *p);
    if (!p) return swan_error_set(err, "out of memory sorting %zu tensors", h->count);
    for (size_t i = 0; i < h->count; i++) p[i] = &h->entries[i];

    int rc = 0;
    qsort(p, h->count, sizeof *p, cmp_by_name);
    for (size_t i = 1; i < h->count && rc == 0; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            rc = swan_error_set(err, "tensor " NAME_FMT " appears twice in the header",
                                p[i]->name);

    if (rc == 0) {
        /* Zero-size tensors occupy no bytes and so cannot overlap anything. */
        size_t n = 0;
        for (size_t i = 0; i < h->count; i++)
            if (h->entries[i].end > h->entries[i].begin) p[n++] = &h->entries[i];
        qsort(p, n, sizeof *p, cmp_by_begin);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (p[i]->begin < p[i - 1]->end)
                rc = swan_error_set(err,
                                    "tensors " NAME_FMT " [%" PRIu64 ", %" PRIu64 ") and " NAME_FMT
                                    " [%" PRIu64 ", %" PRIu64 ") overlap",
                                    p[i - 1]->name, p[i - 1]->begin, p[i - 1]->end, p[i]->name,
                                    p[i]->begin, p[i]->end);
    }
    free(p);
    return rc;
}

/* Writers pad the header to an alignment with spaces (some with NULs); anything
 * else after the JSON object is garbage. */
static int only_padding(const char *p, const char *end) {
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0') return 0;
    return 1;
}

int swan_st_parse(const char *json, size_t len, uint64_t file_size, swan_st_header *out,
                  swan_error *err) {
    memset(out, 0, sizeof *out);
    if (file_size < 8 || (uint64_t)len > file_size - 8)
        return swan_error_set(err, "header length %zu does not fit in a file of %" PRIu64 " bytes",
                              len, file_size);
    uint64_t data_start = 8 + (uint64_t)len;
    uint64_t data_size = file_size - data_start;

    const char *end = NULL;
    cJSON *root = len ? cJSON_ParseWithLengthOpts(json, len, &end, 0) : NULL;
    if (!root) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        return swan_error_set(err, "header is not valid JSON (error near byte %zu of %zu)", at,
                              len);
    }
    if (!only_padding(end, json + len)) {
        cJSON_Delete(root);
        return swan_error_set(err, "header has data after the JSON object (byte %zu of %zu)",
                              (size_t)(end - json), len);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return swan_error_set(err, "header is not a JSON object");
    }

    size_t n = 0;
    for (const cJSON *it = root->child; it; it = it->next) n++;
    swan_st_header h = {.header_len = len, .data_start = data_start};
    h.entries = calloc(n ? n : 1, sizeof *h.entries);
    if (!h.entries) {
        cJSON_Delete(root);
        return swan_error_set(err, "out of memory for %zu header entries", n);
    }

    int rc = 0;
    for (const cJSON *it = root->child; it && rc == 0; it = it->next) {
        /* __metadata__ is free-form (string to string by convention); it says nothing
         * about the data, so it is skipped whatever its shape. */
        if (strcmp(it->string, "__metadata__") == 0) continue;
        swan_st_entry *e = &h.entries[h.count];
        rc = parse_entry(it, data_size, e, err);
        if (rc == 0) {
            e->name = strdup(it->string);
            if (!e->name) rc = swan_error_set(err, "out of memory");
            else h.count++;
        }
    }
    cJSON_Delete(root);
    if (rc == 0) rc = check_table(&h, err);
    if (rc != 0) {
        swan_st_header_free(&h);
        return -1;
    }
    *out = h;
    return 0;
}

/* pread until `len` bytes are in or the file ends early. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off) {
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t got = pread(fd, p, len, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        p += got;
        len -= (size_t)got;
        off += (uint64_t)got;
    }
    return 0;
}

static int read_header(int fd, uint64_t size, swan_st_header *out, swan_error *err) {
    if (size == 0) return swan_error_set(err, "file is empty");
    if (size < 8)
        return swan_error_set(err, "file is %" PRIu64 " bytes, too short for a safetensors header",
                              size);
    unsigned char prefix[8];
    if (pread_full(fd, prefix, 8, 0) != 0)
        return swan_error_set(err, "cannot read the header length: %s",
                              errno ? strerror(errno) : "short read");
    uint64_t len;
    if (swan_st_header_length(prefix, size, &len, err) != 0) return -1;

    char *json = malloc((size_t)len + 1);
    if (!json) return swan_error_set(err, "out of memory for a %" PRIu64 "-byte header", len);
    if (pread_full(fd, json, (size_t)len, 8) != 0) {
        free(json);
        return swan_error_set(err, "cannot read the %" PRIu64 "-byte header: %s", len,
                              errno ? strerror(errno) : "short read");
    }
    json[len] = '\0';
    int rc = swan_st_parse(json, (size_t)len, size, out, err);
    free(json);
    return rc;
}

int swan_st_read_file(const char *path, swan_st_header *out, uint64_t *file_size,
                      swan_error *err) {
    memset(out, 0, sizeof *out);
    /* Never blocks on a FIFO; refuses anything but a regular file (links followed). */
    struct stat st;
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    errno = 0;
    int rc = read_header(fd, (uint64_t)st.st_size, out, err);
    if (rc == 0 && file_size) *file_size = (uint64_t)st.st_size;
    close(fd);
    if (rc != 0) swan_error_prefix(err, "%s", path);
    return rc;
}

void swan_st_header_free(swan_st_header *h) {
    if (!h) return;
    for (size_t i = 0; i < h->count; i++) free(h->entries[i].name);
    free(h->entries);
    memset(h, 0, sizeof *h);
}
