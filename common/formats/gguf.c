/* gguf.c: strict reading of a GGUF header (see gguf.h).
 *
 * A cursor walks the header either in memory or through a 1 MiB pread buffer; every
 * length read from the file is checked against the bytes the file still has before
 * anything is allocated or skipped, so a hostile count or length fails with a clear
 * message instead of a huge allocation or a long loop. Values are read only for the
 * few keys swan uses (alignment, architecture, block count, file type, split); all
 * others are type-checked and skipped. */
#include "common/formats/gguf.h"
#include "common/regular_file.h"

#include "common/formats/checkpoint_build.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_FMT "'%.200s'"

enum gguf_value_type {
    GV_UINT8 = 0, GV_INT8, GV_UINT16, GV_INT16, GV_UINT32, GV_INT32, GV_FLOAT32, GV_BOOL,
    GV_STRING, GV_ARRAY, GV_UINT64, GV_INT64, GV_FLOAT64, GV_COUNT
};

static const char *const value_type_names[GV_COUNT] = {
    "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL",
    "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};

/* Size of a fixed-size value; 0 for STRING and ARRAY. */
static size_t value_size(uint32_t t) {
    switch (t) {
    case GV_UINT8: case GV_INT8: case GV_BOOL: return 1;
    case GV_UINT16: case GV_INT16: return 2;
    case GV_UINT32: case GV_INT32: case GV_FLOAT32: return 4;
    case GV_UINT64: case GV_INT64: case GV_FLOAT64: return 8;
    default: return 0;
    }
}

/* GGML type numbers (ggml.h enum ggml_type); removed ones map to INVALID. */
swan_dtype swan_gguf_dtype(uint32_t t) {
    static const swan_dtype map[] = {
        [0] = SWAN_DT_F32,      [1] = SWAN_DT_F16,     [2] = SWAN_DT_Q4_0,
        [3] = SWAN_DT_Q4_1,     [6] = SWAN_DT_Q5_0,    [7] = SWAN_DT_Q5_1,
        [8] = SWAN_DT_Q8_0,     [9] = SWAN_DT_Q8_1,    [10] = SWAN_DT_Q2_K,
        [11] = SWAN_DT_Q3_K,    [12] = SWAN_DT_Q4_K,   [13] = SWAN_DT_Q5_K,
        [14] = SWAN_DT_Q6_K,    [15] = SWAN_DT_Q8_K,   [16] = SWAN_DT_IQ2_XXS,
        [17] = SWAN_DT_IQ2_XS,  [18] = SWAN_DT_IQ3_XXS, [19] = SWAN_DT_IQ1_S,
        [20] = SWAN_DT_IQ4_NL,  [21] = SWAN_DT_IQ3_S,  [22] = SWAN_DT_IQ2_S,
        [23] = SWAN_DT_IQ4_XS,  [24] = SWAN_DT_I8,     [25] = SWAN_DT_I16,
        [26] = SWAN_DT_I32,     [27] = SWAN_DT_I64,    [28] = SWAN_DT_F64,
        [29] = SWAN_DT_IQ1_M,   [30] = SWAN_DT_BF16,   [34] = SWAN_DT_TQ1_0,
        [35] = SWAN_DT_TQ2_0,   [39] = SWAN_DT_MXFP4,
    };
    return t < sizeof map / sizeof map[0] ? map[t] : SWAN_DT_INVALID;
}

/* llama.h enum llama_ftype. */
const char *swan_gguf_file_type_name(int64_t ft) {
    static const char *const names[] = {
        [0] = "ALL_F32",         [1] = "MOSTLY_F16",      [2] = "MOSTLY_Q4_0",
        [3] = "MOSTLY_Q4_1",     [7] = "MOSTLY_Q8_0",     [8] = "MOSTLY_Q5_0",
        [9] = "MOSTLY_Q5_1",     [10] = "MOSTLY_Q2_K",    [11] = "MOSTLY_Q3_K_S",
        [12] = "MOSTLY_Q3_K_M",  [13] = "MOSTLY_Q3_K_L",  [14] = "MOSTLY_Q4_K_S",
        [15] = "MOSTLY_Q4_K_M",  [16] = "MOSTLY_Q5_K_S",  [17] = "MOSTLY_Q5_K_M",
        [18] = "MOSTLY_Q6_K",    [19] = "MOSTLY_IQ2_XXS", [20] = "MOSTLY_IQ2_XS",
        [21] = "MOSTLY_Q2_K_S",  [22] = "MOSTLY_IQ3_XS",  [23] = "MOSTLY_IQ3_XXS",
        [24] = "MOSTLY_IQ1_S",   [25] = "MOSTLY_IQ4_NL",  [26] = "MOSTLY_IQ3_S",
        [27] = "MOSTLY_IQ3_M",   [28] = "MOSTLY_IQ2_S",   [29] = "MOSTLY_IQ2_M",
        [30] = "MOSTLY_IQ4_XS",  [31] = "MOSTLY_IQ1_M",   [32] = "MOSTLY_BF16",
        [36] = "MOSTLY_TQ1_0",   [37] = "MOSTLY_TQ2_0",   [38] = "MOSTLY_MXFP4_MOE",
    };
    if (ft < 0 || (uint64_t)ft >= sizeof names / sizeof names[0]) return NULL;
    return names[ft];
}

/* ---- the cursor ------------------------------------------------------------------- */

#define BUF_SIZE (1u << 20)

typedef struct cursor {
    const unsigned char *mem; /* in-memory source (len bytes), or NULL          */
    size_t mem_len;
    int fd;                   /* file source                                    */
    unsigned char *buf;       /* file source: bytes [buf_off, buf_off+buf_len)  */
    uint64_t buf_off;
    size_t buf_len;
    uint64_t size;            /* file size: the hard bound of every read       */
    uint64_t pos;
} cursor;

static uint64_t remaining(const cursor *c) {
    return c->pos < c->size ? c->size - c->pos : 0;
}

/* Reads n bytes at the cursor into dst (NULL: skip them). `what` names the field
 * for the message when the file ends first. */
static int cur_read(cursor *c, void *dst, uint64_t n, const char *what, swan_error *err) {
    if (n > remaining(c))
        return swan_error_set(err, "%s needs %" PRIu64 " bytes at offset %" PRIu64
                                   " but the file has %" PRIu64 " (truncated?)",
                              what, n, c->pos, remaining(c));
    if (c->mem) {
        if (c->pos + n > c->mem_len)
            return swan_error_set(err, "%s at offset %" PRIu64 " is beyond the %zu header bytes read",
                                  what, c->pos, c->mem_len);
        if (dst) memcpy(dst, c->mem + c->pos, (size_t)n);
        c->pos += n;
        return 0;
    }
    unsigned char *out = dst;
    while (n > 0) {
        if (c->pos >= c->buf_off && c->pos < c->buf_off + c->buf_len) {
            size_t at = (size_t)(c->pos - c->buf_off);
            size_t k = c->buf_len - at < n ? c->buf_len - at : (size_t)n;
            if (out) {
                memcpy(out, c->buf + at, k);
                out += k;
            }
            c->pos += k;
            n -= k;
            continue;
        }
        if (!out && n > BUF_SIZE) { /* long skip: no need to read the bytes */
            c->pos += n;
            return 0;
        }
        uint64_t want = c->size - c->pos < BUF_SIZE ? c->size - c->pos : BUF_SIZE;
        size_t got = 0;
        while (got < want) {
            ssize_t r = pread(c->fd, c->buf + got, (size_t)(want - got), (off_t)(c->pos + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0)
                return swan_error_set(err, "cannot read %s at offset %" PRIu64 ": %s", what, c->pos,
                                      r < 0 ? strerror(errno) : "file shrank while reading");
            got += (size_t)r;
        }
        c->buf_off = c->pos;
        c->buf_len = got;
    }
    return 0;
}

static int cur_u32(cursor *c, uint32_t *v, const char *what, swan_error *err) {
    unsigned char b[4];
    if (cur_read(c, b, 4, what, err)) return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static int cur_u64(cursor *c, uint64_t *v, const char *what, swan_error *err) {
    unsigned char b[8];
    if (cur_read(c, b, 8, what, err)) return -1;
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = x << 8 | b[i];
    *v = x;
    return 0;
}

/* A string (u64 length + bytes). With out, copies it NUL-terminated (malloc'd);
 * without, skips it. Lengths are bounded by max and by what is left in the file. */
static int cur_string(cursor *c, uint64_t max, char **out, const char *what, swan_error *err) {
    uint64_t len;
    if (cur_u64(c, &len, what, err)) return -1;
    if (len > remaining(c))
        return swan_error_set(err, "%s: string length %" PRIu64 " goes past the end of the file"
                                   " (%" PRIu64 " bytes left)",
                              what, len, remaining(c));
    if (len > max)
        return swan_error_set(err, "%s: string length %" PRIu64 " is above the limit %" PRIu64, what,
                              len, max);
    if (!out) return cur_read(c, NULL, len, what, err);
    char *s = malloc((size_t)len + 1);
    if (!s) return swan_error_set(err, "%s: out of memory for %" PRIu64 " bytes", what, len);
    if (cur_read(c, s, len, what, err)) {
        free(s);
        return -1;
    }
    s[len] = '\0';
    if (strlen(s) != len) {
        free(s);
        return swan_error_set(err, "%s: string holds a NUL byte", what);
    }
    *out = s;
    return 0;
}

/* ---- metadata ---------------------------------------------------------------------- */

/* Keys swan reads; *.block_count is matched to the architecture at the end. */
typedef struct meta {
    bool have_alignment;
    uint32_t alignment;
    char architecture[64];
    int64_t file_type;
    int64_t split_no, split_count, split_tensors;
    struct {
        char prefix[64];
        int64_t value;
    } block_counts[8];
    size_t nblock_counts;
} meta;

/* An integer value of any integer type, as int64 (UINT64 above INT64_MAX refused). */
static int read_int_value(cursor *c, uint32_t type, const char *key, int64_t *out,
                          swan_error *err) {
    size_t n = value_size(type);
    if (n == 0 || type == GV_FLOAT32 || type == GV_FLOAT64 || type == GV_BOOL)
        return swan_error_set(err, "key " NAME_FMT ": expected an integer, got %s", key,
                              type < GV_COUNT ? value_type_names[type] : "?");
    unsigned char b[8] = {0};
    char ctx[240];
    snprintf(ctx, sizeof ctx, "key " NAME_FMT, key);
    if (cur_read(c, b, n, ctx, err)) return -1;
    uint64_t u = 0;
    for (int i = (int)n - 1; i >= 0; i--) u = u << 8 | b[i];
    bool is_signed = type == GV_INT8 || type == GV_INT16 || type == GV_INT32 || type == GV_INT64;
    if (is_signed && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~0ull << (8 * n); /* sign-extend */
    if (!is_signed && u > INT64_MAX)
        return swan_error_set(err, "key " NAME_FMT ": value %" PRIu64 " is out of range", key, u);
    *out = (int64_t)u;
    return 0;
}

/* Skips one value of `type` (arrays: elements of one non-array type). */
static int skip_value(cursor *c, uint32_t type, const char *key, swan_error *err) {
    if (type >= GV_COUNT)
        return swan_error_set(err, "key " NAME_FMT ": unknown value type %" PRIu32, key, type);
    char ctx[240];
    snprintf(ctx, sizeof ctx, "key " NAME_FMT, key);
    if (type == GV_STRING) return cur_string(c, SWAN_GGUF_MAX_STRING, NULL, ctx, err);
    if (type != GV_ARRAY) return cur_read(c, NULL, value_size(type), ctx, err);
    uint32_t et;
    uint64_t n;
    if (cur_u32(c, &et, key, err) || cur_u64(c, &n, key, err)) return -1;
    if (et >= GV_COUNT)
        return swan_error_set(err, "key " NAME_FMT ": array of unknown value type %" PRIu32, key, et);
    if (et == GV_ARRAY)
        return swan_error_set(err, "key " NAME_FMT ": arrays of arrays are not supported", key);
    /* Every element takes at least its size (a string at least its 8-byte length). */
    uint64_t min = et == GV_STRING ? 8 : value_size(et);
    if (n > remaining(c) / min)
        return swan_error_set(err, "key " NAME_FMT ": array length %" PRIu64
                                   " goes past the end of the file",
                              key, n);
    if (et != GV_STRING) return cur_read(c, NULL, n * min, ctx, err);
    for (uint64_t i = 0; i < n; i++)
        if (cur_string(c, SWAN_GGUF_MAX_STRING, NULL, ctx, err)) return -1;
    return 0;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int read_kv(cursor *c, meta *m, char **key_out, swan_error *err) {
    char *key = NULL;
    uint32_t type;
    if (cur_string(c, SWAN_GGUF_MAX_KEY, &key, "metadata key", err)) return -1;
    *key_out = key;
    if (key[0] == '\0') return swan_error_set(err, "a metadata key is empty");
    char ctx[240];
    snprintf(ctx, sizeof ctx, "key " NAME_FMT, key);
    if (cur_u32(c, &type, ctx, err)) return -1;
    if (type >= GV_COUNT)
        return swan_error_set(err, "key " NAME_FMT ": unknown value type %" PRIu32, key, type);

    if (strcmp(key, "general.alignment") == 0) {
        if (type != GV_UINT32)
            return swan_error_set(err, "key " NAME_FMT ": expected UINT32, got %s", key,
                                  value_type_names[type]);
        if (cur_u32(c, &m->alignment, ctx, err)) return -1;
        if (m->alignment == 0 || (m->alignment & (m->alignment - 1)) || m->alignment > (1u << 30))
            return swan_error_set(err, "key " NAME_FMT ": %" PRIu32 " is not a power of two up to 2^30",
                                  key, m->alignment);
        m->have_alignment = true;
        return 0;
    }
    if (strcmp(key, "general.architecture") == 0) {
        if (type != GV_STRING)
            return swan_error_set(err, "key " NAME_FMT ": expected STRING, got %s", key,
                                  value_type_names[type]);
        char *v = NULL;
        if (cur_string(c, SWAN_GGUF_MAX_STRING, &v, ctx, err)) return -1;
        snprintf(m->architecture, sizeof m->architecture, "%s", v);
        free(v);
        return 0;
    }
    if (strcmp(key, "general.file_type") == 0) return read_int_value(c, type, key, &m->file_type, err);
    if (strcmp(key, "split.no") == 0) return read_int_value(c, type, key, &m->split_no, err);
    if (strcmp(key, "split.count") == 0) return read_int_value(c, type, key, &m->split_count, err);
    if (strcmp(key, "split.tensors.count") == 0)
        return read_int_value(c, type, key, &m->split_tensors, err);
    if (ends_with(key, ".block_count") && value_size(type) && type != GV_FLOAT32 &&
        type != GV_FLOAT64 && type != GV_BOOL && m->nblock_counts < 8) {
        size_t plen = strlen(key) - strlen(".block_count");
        int64_t v;
        if (read_int_value(c, type, key, &v, err)) return -1;
        if (plen < sizeof m->block_counts[0].prefix) {
            memcpy(m->block_counts[m->nblock_counts].prefix, key, plen);
            m->block_counts[m->nblock_counts].prefix[plen] = '\0';
            m->block_counts[m->nblock_counts++].value = v;
        }
        return 0;
    }
    return skip_value(c, type, key, err);
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int read_metadata(cursor *c, uint64_t nkv, meta *m, swan_error *err) {
    char **keys = calloc(nkv ? nkv : 1, sizeof *keys);
    if (!keys) return swan_error_set(err, "out of memory for %" PRIu64 " metadata keys", nkv);
    int rc = 0;
    uint64_t n = 0;
    for (; n < nkv && rc == 0; n++) rc = read_kv(c, m, &keys[n], err);
    if (rc == 0) {
        qsort(keys, (size_t)n, sizeof *keys, cmp_cstr);
        for (uint64_t i = 1; i < n && rc == 0; i++)
            if (strcmp(keys[i - 1], keys[i]) == 0)
                rc = swan_error_set(err, "key " NAME_FMT " appears twice", keys[i]);
    }
    for (uint64_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    return rc;
}

/* ---- tensor infos --------------------------------------------------------------------- */

static int read_tensor_info(cursor *c, uint64_t idx, swan_gguf_entry *e, swan_error *err) {
    char what[48];
    snprintf(what, sizeof what, "tensor %" PRIu64 " name", idx);
    if (cur_string(c, SWAN_GGUF_MAX_NAME, &e->name, what, err)) return -1;
    const char *name = e->name;
    if (name[0] == '\0') return swan_error_set(err, "tensor %" PRIu64 " has an empty name", idx);
    uint32_t nd, type;
    if (cur_u32(c, &nd, name, err)) return -1;
    if (nd < 1 || nd > SWAN_GGUF_MAX_DIMS)
        return swan_error_set(err, "tensor " NAME_FMT ": %" PRIu32 " dimensions (1 to %d allowed)",
                              name, nd, SWAN_GGUF_MAX_DIMS);
    uint64_t dims[SWAN_GGUF_MAX_DIMS];
    for (uint32_t d = 0; d < nd; d++)
        if (cur_u64(c, &dims[d], name, err)) return -1;
    if (cur_u32(c, &type, name, err) || cur_u64(c, &e->begin, name, err)) return -1;
    e->ggml_type = type;
    e->dtype = swan_gguf_dtype(type);
    if (e->dtype == SWAN_DT_INVALID)
        return swan_error_set(err, "tensor " NAME_FMT ": unknown GGML type %" PRIu32, name, type);

    /* Row-major shape: GGUF's innermost-first dims reversed. */
    e->ndim = (int)nd;
    uint64_t nelem = 1;
    for (uint32_t d = 0; d < nd; d++) {
        e->shape[d] = dims[nd - 1 - d];
        if (dims[d] > INT64_MAX)
            return swan_error_set(err, "tensor " NAME_FMT ": dimension %" PRIu64 " out of range",
                                  name, dims[d]);
        if (dims[d] && nelem > (uint64_t)INT64_MAX / dims[d])
            return swan_error_set(err, "tensor " NAME_FMT ": element count overflows", name);
        nelem *= dims[d];
    }
    e->nelem = nelem;
    uint32_t block = swan_dtype_block_elems(e->dtype), bbytes = swan_dtype_block_bytes(e->dtype);
    if (dims[0] % block)
        return swan_error_set(err, "tensor " NAME_FMT ": innermost dimension %" PRIu64
                                   " is not a multiple of the %s block of %" PRIu32,
                              name, dims[0], swan_dtype_name(e->dtype), block);
    uint64_t blocks = nelem / block;
    if (blocks > UINT64_MAX / bbytes)
        return swan_error_set(err, "tensor " NAME_FMT ": byte size overflows", name);
    e->end = e->begin + blocks * bbytes;
    if (e->end < e->begin)
        return swan_error_set(err, "tensor " NAME_FMT ": offset %" PRIu64 " overflows", name,
                              e->begin);
    return 0;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(const swan_gguf_entry *const *)a)->name,
                  (*(const swan_gguf_entry *const *)b)->name);
}

static int cmp_entry_begin(const void *a, const void *b) {
    const swan_gguf_entry *x = *(const swan_gguf_entry *const *)a;
    const swan_gguf_entry *y = *(const swan_gguf_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Placement (aligned, inside the data section), unique names, no overlap. */
static int check_tensors(swan_gguf_header *h, uint64_t file_size, swan_error *err) {
    uint64_t data_size = file_size - h->data_start;
    for (size_t i = 0; i < h->count; i++) {
        const swan_gguf_entry *e = &h->entries[i];
        if (e->begin % h->info.alignment)
            return swan_error_set(err, "tensor " NAME_FMT ": offset %" PRIu64
                                       " is not a multiple of the alignment %" PRIu32,
                                  e->name, e->begin, h->info.alignment);
        if (e->end > data_size)
            return swan_error_set(err, "tensor " NAME_FMT ": bytes [%" PRIu64 ", %" PRIu64
                                       ") go past the end of the data section (%" PRIu64
                                       " bytes; file truncated?)",
                                  e->name, e->begin, e->end, data_size);
    }
    if (h->count < 2) return 0;
    swan_gguf_entry **p = malloc(h->count * sizeof *p);
    if (!p) return swan_error_set(err, "out of memory sorting %zu tensors", h->count);
    for (size_t i = 0; i < h->count; i++) p[i] = &h->entries[i];
    int rc = 0;
    qsort(p, h->count, sizeof *p, cmp_entry_name);
    for (size_t i = 1; i < h->count && rc == 0; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            rc = swan_error_set(err, "tensor " NAME_FMT " appears twice", p[i]->name);
    if (rc == 0) {
        size_t n = 0;
        for (size_t i = 0; i < h->count; i++)
            if (h->entries[i].end > h->entries[i].begin) p[n++] = &h->entries[i];
        qsort(p, n, sizeof *p, cmp_entry_begin);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (p[i]->begin < p[i - 1]->end)
                rc = swan_error_set(err, "tensors " NAME_FMT " [%" PRIu64 ", %" PRIu64 ") and " NAME_FMT
                                         " [%" PRIu64 ", %" PRIu64 ") overlap",
                                    p[i - 1]->name, p[i - 1]->begin, p[i - 1]->end, p[i]->name,
                                    p[i]->begin, p[i]->end);
    }
    free(p);
    return rc;
}

/* ---- the whole header ---------------------------------------------------------------- */

static int parse(cursor *c, swan_gguf_header *out, swan_error *err) {
    memset(out, 0, sizeof *out);
    if (c->size == 0) return swan_error_set(err, "file is empty");
    unsigned char magic[4];
    uint32_t version;
    uint64_t ntensors, nkv;
    if (cur_read(c, magic, 4, "the magic", err)) return -1;
    if (memcmp(magic, "GGUF", 4) != 0)
        return swan_error_set(err, "bad magic %02x %02x %02x %02x (not a GGUF file)", magic[0],
                              magic[1], magic[2], magic[3]);
    if (cur_u32(c, &version, "the version", err)) return -1;
    if (version == 0x02000000u || version == 0x03000000u)
        return swan_error_set(err, "big-endian GGUF (version %" PRIu32 ") is not supported",
                              version >> 24);
    if (version != 2 && version != 3)
        return swan_error_set(err, "GGUF version %" PRIu32 " is not supported (2 and 3 are)",
                              version);
    if (cur_u64(c, &ntensors, "the tensor count", err) || cur_u64(c, &nkv, "the metadata count", err))
        return -1;
    /* The smallest tensor info is 8+1+4+8+4+8 = 33 bytes, the smallest pair 8+1+4+1. */
    if (ntensors > SWAN_GGUF_MAX_TENSORS || ntensors > remaining(c) / 33)
        return swan_error_set(err, "tensor count %" PRIu64 " is out of range (limit %u, and %" PRIu64
                                   " bytes left in the file)",
                              ntensors, SWAN_GGUF_MAX_TENSORS, remaining(c));
    if (nkv > SWAN_GGUF_MAX_KV || nkv > remaining(c) / 14)
        return swan_error_set(err, "metadata count %" PRIu64 " is out of range (limit %u, and %" PRIu64
                                   " bytes left in the file)",
                              nkv, SWAN_GGUF_MAX_KV, remaining(c));

    meta m = {.file_type = -1, .split_no = -1, .split_count = -1, .split_tensors = -1};
    if (read_metadata(c, nkv, &m, err)) return -1;

    swan_gguf_header h = {.split_no = m.split_no, .split_count = m.split_count,
                          .split_tensors = m.split_tensors};
    h.info.version = version;
    h.info.alignment = m.have_alignment ? m.alignment : SWAN_GGUF_DEFAULT_ALIGNMENT;
    h.info.nsplits = 1;
    h.info.file_type = m.file_type;
    h.info.block_count = -1;
    snprintf(h.info.architecture, sizeof h.info.architecture, "%s", m.architecture);
    for (size_t i = 0; i < m.nblock_counts; i++)
        if (m.architecture[0] && strcmp(m.block_counts[i].prefix, m.architecture) == 0)
            h.info.block_count = m.block_counts[i].value;

    h.entries = calloc(ntensors ? (size_t)ntensors : 1, sizeof *h.entries);
    if (!h.entries) return swan_error_set(err, "out of memory for %" PRIu64 " tensors", ntensors);
    int rc = 0;
    for (uint64_t i = 0; i < ntensors && rc == 0; i++) {
        rc = read_tensor_info(c, i, &h.entries[i], err);
        h.count = (size_t)i + 1; /* free what was read, even on error */
    }
    if (rc == 0) {
        uint64_t a = h.info.alignment;
        h.data_start = (c->pos + a - 1) / a * a;
        if (h.data_start > c->size) {
            if (h.count > 0)
                rc = swan_error_set(err, "the data section would start at %" PRIu64
                                         ", past the end of the %" PRIu64 "-byte file (truncated?)",
                                    h.data_start, c->size);
            else
                h.data_start = c->size;
        }
    }
    if (rc == 0) rc = check_tensors(&h, c->size, err);
    if (rc != 0) {
        swan_gguf_header_free(&h);
        return -1;
    }
    *out = h;
    return 0;
}

int swan_gguf_parse(const unsigned char *buf, size_t len, uint64_t file_size,
                    swan_gguf_header *out, swan_error *err) {
    cursor c = {.mem = buf, .mem_len = len, .fd = -1, .size = file_size};
    return parse(&c, out, err);
}

int swan_gguf_read_file(const char *path, swan_gguf_header *out, uint64_t *file_size,
                        swan_error *err) {
    memset(out, 0, sizeof *out);
    struct stat st; /* never blocks on a FIFO; regular files only (links followed) */
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    int rc;
    cursor c = {.fd = fd};
    if (!(c.buf = malloc(BUF_SIZE))) {
        rc = swan_error_set(err, "out of memory");
    } else {
        c.size = (uint64_t)st.st_size;
        rc = parse(&c, out, err);
        if (rc == 0 && file_size) *file_size = c.size;
    }
    free(c.buf);
    close(fd);
    if (rc != 0) swan_error_prefix(err, "%s", path);
    return rc;
}

void swan_gguf_header_free(swan_gguf_header *h) {
    if (!h) return;
    for (size_t i = 0; i < h->count; i++) free(h->entries[i].name);
    free(h->entries);
    memset(h, 0, sizeof *h);
}

/* ---- into a checkpoint --------------------------------------------------------------- */

/* "NAME-00001-of-00003.gguf" -> part 1 of 3 and the length of "NAME"; 0 if the name
 * does not follow llama.cpp's split naming. */
static int split_name(const char *f, unsigned *part, unsigned *count, size_t *prefix_len) {
    size_t n = strlen(f);
    const size_t tail = strlen("-00001-of-00003.gguf");
    if (n <= tail) return 0;
    const char *p = f + n - tail;
    if (p[0] != '-' || memcmp(p + 6, "-of-", 4) != 0 || strcmp(p + 15, ".gguf") != 0) return 0;
    unsigned a = 0, b = 0;
    for (int i = 1; i <= 5; i++) {
        if (p[i] < '0' || p[i] > '9' || p[i + 9] < '0' || p[i + 9] > '9') return 0;
        a = a * 10 + (unsigned)(p[i] - '0');
        b = b * 10 + (unsigned)(p[i + 9] - '0');
    }
    if (a < 1 || b < 1 || a > b) return 0;
    *part = a;
    *count = b;
    *prefix_len = (size_t)(p - f);
    return 1;
}

/* Reads one file's header and adds it as shard `file` with its tensors. */
static int add_file(swan_checkpoint *ck, const char *file, const char *path, size_t *cap,
                    swan_gguf_header *h, swan_error *err) {
    uint64_t size = 0;
    if (swan_gguf_read_file(path, h, &size, err)) return -1;
    if (swan_checkpoint_add_shard(ck, file, path, err)) return -1;
    uint32_t shard = (uint32_t)(ck->nshards - 1);
    ck->shards[shard].size = size;
    ck->shards[shard].data_start = h->data_start;
    for (size_t i = 0; i < h->count; i++) {
        swan_gguf_entry *e = &h->entries[i];
        char *name = swan_checkpoint_keep_name(ck, e->name, strlen(e->name), err);
        swan_tensor *t = name ? swan_checkpoint_new_tensor(ck, cap, err) : NULL;
        if (!t) return -1;
        t->name = name;
        t->shard = shard;
        t->dtype = e->dtype;
        t->ndim = e->ndim;
        memcpy(t->shape, e->shape, sizeof t->shape);
        t->nelem = e->nelem;
        t->offset = h->data_start + e->begin;
        t->nbytes = e->end - e->begin;
    }
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const swan_tensor *const *)a)->name, (*(const swan_tensor *const *)b)->name);
}

/* A name in two parts of a split model is an error, as in two safetensors shards. */
static int check_unique(const swan_checkpoint *ck, swan_error *err) {
    if (ck->ntensors < 2) return 0;
    const swan_tensor **p = malloc(ck->ntensors * sizeof *p);
    if (!p) return swan_error_set(err, "%s: out of memory", ck->dir);
    for (size_t i = 0; i < ck->ntensors; i++) p[i] = &ck->tensors[i];
    qsort(p, ck->ntensors, sizeof *p, cmp_tensor_name);
    int rc = 0;
    for (size_t i = 1; i < ck->ntensors && rc == 0; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            rc = swan_error_set(err, "%s: tensor " NAME_FMT " is also in %s",
                                ck->shards[p[i]->shard].path, p[i]->name,
                                ck->shards[p[i - 1]->shard].file);
    free(p);
    return rc;
}

/* Part `part` of `count` must say so in its split.* keys (when it has them). */
static int check_split_keys(const char *path, const swan_gguf_header *h, unsigned part,
                            unsigned count, swan_error *err) {
    if (h->split_count >= 0 && (uint64_t)h->split_count != count)
        return swan_error_set(err, "%s: key 'split.count' is %" PRId64 " but the model has %u parts",
                              path, h->split_count, count);
    if (count > 1 && h->split_count < 0)
        return swan_error_set(err, "%s: key 'split.count' is missing from a part of a split model",
                              path);
    if (h->split_no >= 0 && (uint64_t)h->split_no != part - 1)
        return swan_error_set(err, "%s: key 'split.no' is %" PRId64 ", expected %u", path,
                              h->split_no, part - 1);
    return 0;
}

static void set_info(swan_checkpoint *ck, const swan_gguf_header *first, unsigned nsplits) {
    ck->format = SWAN_FORMAT_GGUF;
    ck->gguf = first->info;
    ck->gguf.nsplits = nsplits;
}

int swan_gguf_open_file(swan_checkpoint *ck, swan_error *err) {
    const char *slash = strrchr(ck->dir, '/');
    const char *file = slash ? slash + 1 : ck->dir;
    size_t cap = 0;
    swan_gguf_header h;
    int rc = add_file(ck, file, ck->dir, &cap, &h, err);
    if (rc == 0 && h.split_count > 1)
        rc = swan_error_set(err, "%s: part %" PRId64 " of a model split into %" PRId64
                                 " files: give the folder holding all of them",
                            ck->dir, h.split_no + 1, h.split_count);
    if (rc == 0) set_info(ck, &h, 1);
    swan_gguf_header_free(&h);
    return rc;
}

int swan_gguf_open_dir(swan_checkpoint *ck, swan_error *err) {
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (swan_checkpoint_list_files(ck->dir, SWAN_GGUF_SUFFIX, &names, &n, err)) return -1;
    int rc = 0;
    unsigned count = 1;
    if (n == 0) {
        rc = swan_error_set(err, "%s: no *.safetensors or *.gguf files in this directory", ck->dir);
    } else if (n > 1) {
        /* Sorted names of one split model are its parts in order. */
        size_t plen0 = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            unsigned part, cnt;
            size_t plen;
            if (!split_name(names[i], &part, &cnt, &plen) || (i && (cnt != count || plen != plen0 ||
                                                                    memcmp(names[i], names[0], plen))))
                rc = swan_error_set(err, "%s: holds several GGUF files (%.100s, %.100s) that are not "
                                         "the parts of one split model: give one .gguf file",
                                    ck->dir, names[0], names[i ? i : 1]);
            else if (part != i + 1)
                rc = swan_error_set(err, "%s: split GGUF part %zu of %u is missing", ck->dir, i + 1,
                                    cnt);
            count = cnt;
            plen0 = plen;
        }
        if (rc == 0 && n != count)
            rc = swan_error_set(err, "%s: split GGUF has %zu of its %u parts", ck->dir, n, count);
    } else {
        unsigned part;
        size_t plen;
        if (split_name(names[0], &part, &count, &plen) && count > 1)
            rc = swan_error_set(err, "%s: split GGUF has 1 of its %u parts", ck->dir, count);
        count = 1;
    }
    swan_gguf_header first = {0};
    for (size_t i = 0; i < n && rc == 0; i++) {
        swan_gguf_header h;
        size_t dl = strlen(ck->dir), fl = strlen(names[i]);
        char *path = malloc(dl + fl + 2);
        if (!path) {
            rc = swan_error_set(err, "%s: out of memory", ck->dir);
            break;
        }
        memcpy(path, ck->dir, dl);
        path[dl] = '/';
        memcpy(path + dl + 1, names[i], fl + 1);
        rc = add_file(ck, names[i], path, &cap, &h, err);
        if (rc == 0) rc = check_split_keys(path, &h, (unsigned)i + 1, count, err);
        free(path);
        if (i == 0) first = h; /* keeps its info; entries were moved out */
        else swan_gguf_header_free(&h);
    }
    if (rc == 0) rc = check_unique(ck, err);
    if (rc == 0 && count > 1 && first.split_tensors >= 0 && (uint64_t)first.split_tensors != ck->ntensors)
        rc = swan_error_set(err, "%s/%s: key 'split.tensors.count' is %" PRId64
                                 " but the %u parts hold %zu tensors",
                            ck->dir, names[0], first.split_tensors, count, ck->ntensors);
    if (rc == 0) set_info(ck, &first, count);
    swan_gguf_header_free(&first);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}
