/* safetensors.c: parse and validate one safetensors header (SWAN-METRICS.md section 1).
 *
 * The checkpoint layer calls swan_st_scan_file for every shard before any work is
 * planned, so everything the worker later trusts (dtype, shape, byte range inside the
 * file, no overlap) is checked here once. The file is hostile until proven otherwise:
 * lengths are checked before allocating, the JSON is read by the strict pull scanner
 * (common/json_scan.h: grammar, escapes, UTF-8, nesting, number length), each entry
 * handed to the caller as soon as it is checked and its name decoded in place in the
 * text (a 100 MB header costs the text plus 32 bytes per tensor for the table checks,
 * not a tree ten times its size), numbers must be exact integers below 2^53, products are
 * overflow-checked, and duplicate names are refused. Only the header bytes are read;
 * tensor data is never touched. */
#include "common/formats/safetensors.h"
#include "common/json_scan.h"
#include "common/regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tensor names are printed with a bound so that a huge name cannot push the actual
 * problem out of the fixed-size error line. */
#define NAME_FMT "'%.200s'"

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

/* "[a, b, c]" for error messages. */
static void format_shape(char *buf, size_t cap, int ndim, const uint64_t *shape) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRIu64, i ? ", " : "", shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
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

/* What one tensor entry's members said, gathered in whatever order they come and
 * judged at the entry's end in one fixed order, so the message does not depend on
 * the order of the members. Unknown members are skipped (the reference
 * implementation ignores them too); a known one given twice is refused. */
typedef struct entry_fields {
    int dtype_seen, shape_seen, offsets_seen; /* 0 absent, 1 right type, 2 other type */
    const char *twice;                        /* a member given twice                  */
    char dtype[64];                           /* decoded (cut), for the message        */
    bool dtype_nul;
    int shape_problem;                        /* 0, BAD_INT, TOO_MANY                  */
    int ndim;
    uint64_t shape[SWAN_MAX_DIMS];
    bool offsets_bad;
    int noffsets;
    uint64_t offsets[2];
} entry_fields;

enum { BAD_INT = 1, TOO_MANY = 2 };

/* The value of "dtype": a string, decoded into f->dtype (a longer one is cut, which
 * no dtype name is). */
static int read_dtype(swan_js *s, entry_fields *f) {
    swan_js_tok t = swan_js_next(s);
    if (t != SWAN_JS_STRING) {
        f->dtype_seen = 2;
        return swan_js_skip(s, t);
    }
    f->dtype_seen = 1;
    char buf[256];
    if (s->tok_len < sizeof buf) {
        swan_js_decode(s, buf, &f->dtype_nul);
    } else { /* the escaped text: only its first 40 bytes are ever shown */
        memcpy(buf, s->tok, 63);
        buf[63] = '\0';
    }
    size_t k = strnlen(buf, sizeof f->dtype - 1);
    memcpy(f->dtype, buf, k);
    f->dtype[k] = '\0';
    return 0;
}

/* The value of "shape": an array of at most SWAN_MAX_DIMS integers in [0, 2^53).
 * The first problem in element order decides the message, as the old parser's
 * loop did: a 9th element says "more than 8 dimensions", a bad one before it says
 * "must be integers". */
static int read_shape(swan_js *s, entry_fields *f) {
    swan_js_tok t = swan_js_next(s);
    if (t != SWAN_JS_ARRAY) {
        f->shape_seen = 2;
        return swan_js_skip(s, t);
    }
    f->shape_seen = 1;
    for (;;) {
        t = swan_js_next(s);
        if (t == SWAN_JS_ARRAY_END) return 0;
        if (f->shape_problem == 0) {
            uint64_t v;
            if (f->ndim == SWAN_MAX_DIMS) f->shape_problem = TOO_MANY;
            else if (t == SWAN_JS_NUMBER && swan_js_uint53(s, &v)) f->shape[f->ndim++] = v;
            else f->shape_problem = BAD_INT;
        }
        if (swan_js_skip(s, t)) return -1;
    }
}

/* The value of "data_offsets": exactly two integers in [0, 2^53). */
static int read_offsets(swan_js *s, entry_fields *f) {
    swan_js_tok t = swan_js_next(s);
    if (t != SWAN_JS_ARRAY) {
        f->offsets_seen = 2;
        return swan_js_skip(s, t);
    }
    f->offsets_seen = 1;
    for (;;) {
        t = swan_js_next(s);
        if (t == SWAN_JS_ARRAY_END) break;
        uint64_t v;
        if (f->noffsets < 2 && t == SWAN_JS_NUMBER && swan_js_uint53(s, &v))
            f->offsets[f->noffsets] = v;
        else f->offsets_bad = true;
        f->noffsets++;
        if (swan_js_skip(s, t)) return -1;
    }
    if (f->noffsets != 2) f->offsets_bad = true;
    return 0;
}

/* Reads one entry's object (the first token, already read, is `t`). A syntax error
 * returns -1 (the scanner holds it); otherwise the members are in *f and
 * f->dtype_seen etc. say what was there. *is_object is false for a non-object. */
static int read_entry(swan_js *s, swan_js_tok t, entry_fields *f, bool *is_object) {
    memset(f, 0, sizeof *f);
    *is_object = t == SWAN_JS_OBJECT;
    if (!*is_object) return swan_js_skip(s, t);
    for (;;) {
        t = swan_js_next(s);
        if (t == SWAN_JS_OBJECT_END) return 0;
        if (t != SWAN_JS_KEY) return -1;
        int rc;
        if (swan_js_equals(s, "dtype")) {
            if (f->dtype_seen && !f->twice) f->twice = "dtype";
            rc = read_dtype(s, f);
        } else if (swan_js_equals(s, "shape")) {
            if (f->shape_seen && !f->twice) f->twice = "shape";
            rc = read_shape(s, f);
        } else if (swan_js_equals(s, "data_offsets")) {
            if (f->offsets_seen && !f->twice) f->twice = "data_offsets";
            rc = read_offsets(s, f);
        } else {
            rc = swan_js_skip(s, swan_js_next(s));
        }
        if (rc) return -1;
    }
}

/* Judges the entry's members in the order of SWAN-METRICS.md section 1: dtype,
 * shape, offsets, size agreement, inside the data section. */
static int check_entry(const char *name, const entry_fields *f, uint64_t data_size,
                       swan_st_entry *e, swan_error *err) {
    if (f->twice)
        return swan_error_set(err, "tensor " NAME_FMT ": \"%s\" appears twice", name, f->twice);
    if (f->dtype_seen != 1)
        return swan_error_set(err, "tensor " NAME_FMT ": \"dtype\" is missing or not a string",
                              name);
    e->dtype = f->dtype_nul ? SWAN_DT_INVALID : swan_dtype_from_name(f->dtype);
    if (e->dtype == SWAN_DT_INVALID)
        return swan_error_set(err, "tensor " NAME_FMT ": dtype '%.40s' is not a safetensors dtype",
                              name, f->dtype);
    if (f->shape_seen != 1)
        return swan_error_set(err, "tensor " NAME_FMT ": \"shape\" is missing or not an array",
                              name);
    if (f->shape_problem == TOO_MANY)
        return swan_error_set(err, "tensor " NAME_FMT ": shape has more than %d dimensions",
                              name, SWAN_MAX_DIMS);
    if (f->shape_problem == BAD_INT)
        return swan_error_set(err,
                              "tensor " NAME_FMT ": shape entries must be integers in [0, 2^53)",
                              name);
    e->ndim = f->ndim;
    memcpy(e->shape, f->shape, sizeof e->shape);
    uint64_t nbytes = 0;
    if (shape_bytes(name, e, &nbytes, err) != 0) return -1;
    if (f->offsets_seen != 1 || f->offsets_bad)
        return swan_error_set(err,
                              "tensor " NAME_FMT
                              ": \"data_offsets\" must be [begin, end] with integers in [0, 2^53)",
                              name);
    e->begin = f->offsets[0];
    e->end = f->offsets[1];
    if (e->begin > e->end)
        return swan_error_set(err,
                              "tensor " NAME_FMT ": data_offsets [%" PRIu64 ", %" PRIu64
                              "] end before begin",
                              name, e->begin, e->end);
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
/* What the table checks keep of each entry: its name (decoded in place in the header
 * text, so later entries have higher addresses) and byte range; 24 bytes, whatever
 * the rest of the entry went to. */
typedef struct span {
    const char *name;
    uint64_t begin, end;
} span;

static int cmp_span_name(const void *a, const void *b) {
    return strcmp((*(const span *const *)a)->name, (*(const span *const *)b)->name);
}

/* By range; equal ranges keep their header order (the names' order in the text), so
 * the message names them in a fixed order. */
static int cmp_span_begin(const void *a, const void *b) {
    const span *x = *(const span *const *)a, *y = *(const span *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

/* Duplicate names and overlapping byte ranges, both via sorting: O(n log n) so a
 * 1,000,000-tensor header stays fast. Pointers are sorted, not the spans, because
 * qsort's scratch copy is then 8 bytes per entry, not 24. */
static int check_table(span *v, size_t count, swan_error *err) {
    if (count < 2) return 0;
    span **p = malloc(count * sizeof *p);
    if (!p) return swan_error_set(err, "out of memory sorting %zu tensors", count);
    for (size_t i = 0; i < count; i++) p[i] = &v[i];
    int rc = 0;
    qsort(p, count, sizeof *p, cmp_span_name);
    for (size_t i = 1; i < count && rc == 0; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            rc = swan_error_set(err, "tensor " NAME_FMT " appears twice in the header", p[i]->name);
    if (rc == 0) {
        /* Zero-size tensors occupy no bytes and so cannot overlap anything. */
        size_t n = 0;
        for (size_t i = 0; i < count; i++)
            if (v[i].end > v[i].begin) p[n++] = &v[i];
        qsort(p, n, sizeof *p, cmp_span_begin);
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

/* The parse in progress: where validated entries go, the spans for the table checks,
 * and the first problem with the data (kept while the rest is still scanned, because
 * a syntax error anywhere wins: a header that is not JSON is reported as such
 * whatever its first entry says). */
typedef struct st_parse {
    char *text;          /* the header, names decoded in place            */
    uint64_t data_size;
    swan_st_sink sink;
    void *ctx;
    span *spans;
    size_t count, cap;
    bool have_problem;
    swan_error problem;
} st_parse;

static int note_problem(st_parse *P, const swan_error *e) {
    if (!P->have_problem) {
        P->problem = *e;
        P->have_problem = true;
    }
    return 0;
}

static int oom(st_parse *P, size_t what) {
    swan_error e;
    swan_error_set(&e, "out of memory for %zu header entries", what);
    return note_problem(P, &e);
}

/* One top-level member: its name (the key, current in s) and its value. The name is
 * decoded in place in the text (decoding never grows a string and the scanner is
 * past it), so it costs no copy. */
static int read_member(swan_js *s, st_parse *P) {
    bool nul;
    char *name = P->text + (s->tok - s->text);
    swan_js_decode(s, name, &nul);
    /* __metadata__ is free-form (string to string by convention); it says nothing
     * about the data, so it is skipped whatever its shape. */
    if (!nul && strcmp(name, "__metadata__") == 0) return swan_js_skip(s, swan_js_next(s));
    if (P->have_problem) return swan_js_skip(s, swan_js_next(s));

    entry_fields f;
    bool is_object;
    if (read_entry(s, swan_js_next(s), &f, &is_object)) return -1;
    swan_error e;
    if (nul) {
        swan_error_set(&e, "tensor " NAME_FMT ": the name holds a \\u0000 (NUL) character", name);
        return note_problem(P, &e);
    }
    if (!is_object) {
        swan_error_set(&e, "tensor " NAME_FMT ": entry is not a JSON object", name);
        return note_problem(P, &e);
    }
    swan_st_entry en;
    memset(&en, 0, sizeof en);
    if (check_entry(name, &f, P->data_size, &en, &e) != 0) return note_problem(P, &e);
    if (P->count == P->cap) {
        size_t ncap = P->cap ? P->cap + P->cap / 2 : 256;
        span *g = realloc(P->spans, ncap * sizeof *g);
        if (!g) return oom(P, ncap);
        P->spans = g;
        P->cap = ncap;
    }
    P->spans[P->count] = (span){name, en.begin, en.end};
    P->count++;
    en.name = name;
    if (P->sink(P->ctx, &en, &e) != 0) return note_problem(P, &e);
    return 0;
}

/* Reads the whole document with the pull scanner (common/json_scan.h): entries go to
 * the sink as their members come, so the memory is the header text plus what the
 * sink keeps, never a tree. */
static int parse_document(size_t len, st_parse *P, swan_error *err) {
    swan_js s;
    swan_js_init(&s, P->text, len);
    swan_js_tok t = swan_js_next(&s);
    bool object = t == SWAN_JS_OBJECT;
    int rc = 0;
    if (!object) {
        rc = swan_js_skip(&s, t);
    } else {
        for (;;) {
            t = swan_js_next(&s);
            if (t == SWAN_JS_OBJECT_END) break;
            if (t != SWAN_JS_KEY || read_member(&s, P) != 0) {
                rc = -1;
                break;
            }
        }
    }
    if (rc == 0 && swan_js_next(&s) != SWAN_JS_END) rc = -1;
    if (rc != 0)
        return swan_error_set(err, "header is not valid JSON (%s near byte %zu of %zu)",
                              s.err_what ? s.err_what : "error", s.err_pos, len);
    if (!only_padding(P->text + s.pos, P->text + len))
        return swan_error_set(err, "header has data after the JSON object (byte %zu of %zu)",
                              s.pos, len);
    if (!object) return swan_error_set(err, "header is not a JSON object");
    if (P->have_problem) {
        *err = P->problem;
        return -1;
    }
    return 0;
}

int swan_st_scan(char *json, size_t len, uint64_t file_size, swan_st_sink sink, void *ctx,
                 swan_error *err) {
    if (file_size < 8 || (uint64_t)len > file_size - 8)
        return swan_error_set(err, "header length %zu does not fit in a file of %" PRIu64 " bytes",
                              len, file_size);
    st_parse P = {.text = json, .data_size = file_size - 8 - (uint64_t)len, .sink = sink,
                  .ctx = ctx};
    int rc = parse_document(len, &P, err);
    if (rc == 0) rc = check_table(P.spans, P.count, err);
    free(P.spans);
    return rc;
}

/* The sink of swan_st_parse and swan_st_read_file: every entry into h, with its own
 * copy of the name. */
static int collect_entry(void *ctx, const swan_st_entry *e, swan_error *err) {
    swan_st_header *h = ctx;
    /* The capacity is 16, then doubles: full when count is 16, 32, 64... */
    if (h->count >= 16 && (h->count & (h->count - 1)) == 0) {
        swan_st_entry *g = realloc(h->entries, 2 * h->count * sizeof *g);
        if (!g) return swan_error_set(err, "out of memory for %zu header entries", h->count);
        h->entries = g;
    } else if (!h->entries && !(h->entries = malloc(16 * sizeof *h->entries))) {
        return swan_error_set(err, "out of memory for header entries");
    }
    swan_st_entry *en = &h->entries[h->count];
    *en = *e;
    if (!(en->name = strdup(e->name)))
        return swan_error_set(err, "out of memory for %zu header entries", h->count);
    h->count++;
    return 0;
}

/* Parses the header text (changed in place: names are decoded into it) into h. */
static int parse_into(char *json, size_t len, uint64_t file_size, swan_st_header *h,
                      swan_error *err) {
    memset(h, 0, sizeof *h);
    h->header_len = len;
    h->data_start = 8 + (uint64_t)len;
    if (swan_st_scan(json, len, file_size, collect_entry, h, err) != 0) {
        swan_st_header_free(h);
        return -1;
    }
    return 0;
}

int swan_st_parse(const char *json, size_t len, uint64_t file_size, swan_st_header *out,
                  swan_error *err) {
    memset(out, 0, sizeof *out);
    char *copy = malloc(len + 1);
    if (!copy) return swan_error_set(err, "out of memory for a %zu-byte header", len);
    memcpy(copy, json, len);
    copy[len] = '\0';
    int rc = parse_into(copy, len, file_size, out, err);
    free(copy);
    return rc;
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

/* The header text of the open file fd (size bytes), NUL-terminated, in *json. */
static int read_header(int fd, uint64_t size, char **json, uint64_t *json_len, swan_error *err) {
    *json = NULL;
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

    char *text = malloc((size_t)len + 1);
    if (!text) return swan_error_set(err, "out of memory for a %" PRIu64 "-byte header", len);
    if (pread_full(fd, text, (size_t)len, 8) != 0) {
        free(text);
        return swan_error_set(err, "cannot read the %" PRIu64 "-byte header: %s", len,
                              errno ? strerror(errno) : "short read");
    }
    text[len] = '\0';
    *json = text;
    *json_len = len;
    return 0;
}

int swan_st_scan_file(const char *path, swan_st_sink sink, void *ctx, char **text,
                      uint64_t *file_size, uint64_t *data_start, swan_error *err) {
    *text = NULL;
    /* Never blocks on a FIFO; refuses anything but a regular file (links followed). */
    struct stat st;
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    errno = 0;
    char *json = NULL;
    uint64_t len = 0;
    int rc = read_header(fd, (uint64_t)st.st_size, &json, &len, err);
    close(fd);
    if (rc == 0) rc = swan_st_scan(json, (size_t)len, (uint64_t)st.st_size, sink, ctx, err);
    if (rc != 0) {
        free(json);
        return swan_error_prefix(err, "%s", path);
    }
    *text = json;
    if (file_size) *file_size = (uint64_t)st.st_size;
    if (data_start) *data_start = 8 + len;
    return 0;
}

int swan_st_read_file(const char *path, swan_st_header *out, uint64_t *file_size,
                      swan_error *err) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    uint64_t size = 0, data_start = 0;
    if (swan_st_scan_file(path, collect_entry, out, &text, &size, &data_start, err) != 0) {
        swan_st_header_free(out);
        return -1;
    }
    free(text);
    out->header_len = data_start - 8;
    out->data_start = data_start;
    if (file_size) *file_size = size;
    return 0;
}

void swan_st_header_free(swan_st_header *h) {
    if (!h) return;
    for (size_t i = 0; i < h->count; i++) free(h->entries[i].name);
    free(h->entries);
    memset(h, 0, sizeof *h);
}
