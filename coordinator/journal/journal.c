/* journal.c: append-only, checksummed JSON-lines journal of raw results (see journal.h
 * and docs/journal.md for the format). */
#include "coordinator/journal/journal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/crc32c.h"
#include "common/json_scan.h"
#include "common/fmt.h"
#include "common/regular_file.h"
#include "common/str_index.h"

/* Every line ends with this suffix: ,"crc":"xxxxxxxx"} where the 8 hex digits are
 * the CRC-32C of all the bytes before it. Fixed length, so a reader finds it without
 * parsing, and fields added later go before it and are covered too. */
#define CRC_KEY ",\"crc\":\""
#define CRC_KEY_LEN 8
#define CRC_SUFFIX_LEN (CRC_KEY_LEN + 8 + 2)

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t swan_journal_fingerprint(const swan_checkpoint *ck, uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ull;
    uint64_t v = SWAN_METRICS_VERSION;
    h = fnv(h, &v, sizeof v);
    h = fnv(h, &seed, sizeof seed);
    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor *t = &ck->tensors[i];
        h = fnv(h, t->name, strlen(t->name) + 1);
        uint64_t meta[4] = {(uint64_t)t->dtype, (uint64_t)t->ndim, t->nbytes, t->offset};
        h = fnv(h, meta, sizeof meta);
        h = fnv(h, t->shape, sizeof(uint64_t) * (size_t)t->ndim);
    }
    for (size_t s = 0; s < ck->nshards; s++)
        h = fnv(h, ck->shards[s].file, strlen(ck->shards[s].file) + 1);
    return h;
}

/* ---- building lines ------------------------------------------------------------- */

static int buf_reserve(swan_journal *j, size_t need, swan_error *err) {
    if (need <= j->cap) return 0;
    size_t cap = j->cap ? j->cap : 1024;
    while (cap < need) cap *= 2;
    char *b = realloc(j->buf, cap);
    if (!b) return swan_error_set(err, "%s: out of memory", j->path);
    j->buf = b;
    j->cap = cap;
    return 0;
}

typedef struct line {
    char *b;
    size_t n;
} line;

static void put(line *l, const char *s, size_t len) {
    memcpy(l->b + l->n, s, len);
    l->n += len;
}
#define PUT(l, s) put((l), (s), sizeof(s) - 1)

static void put_u64(line *l, uint64_t v) { l->n += swan_fmt_u64(l->b + l->n, v); }

static void put_hex(line *l, uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) l->b[l->n++] = "0123456789abcdef"[(v >> (4 * i)) & 0xf];
}

/* A JSON string of arbitrary bytes: '"', '\' and control bytes escaped, everything
 * else (UTF-8 or not) kept as is, so every name reads back byte for byte. At most
 * 6 bytes out per byte in, plus the quotes. */
static void put_string(line *l, const char *s) {
    l->b[l->n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            l->b[l->n++] = '\\';
            l->b[l->n++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            PUT(l, "\\u00");
            put_hex(l, *p, 2);
        } else {
            l->b[l->n++] = (char)*p;
        }
    }
    l->b[l->n++] = '"';
}

/* C99 "%a" form of a finite double, written by hand (glibc's printf path for it is
 * slow): [-]0x1.<hex digits>p<exp> for normals, [-]0x0.<hex digits>p-1022 for
 * subnormals, 0x0p+0 for zero; strtod reads every form back exactly. Metric values
 * are stored this way in strings: exact like %.17g, and several times faster both
 * ways, which matters because the coordinator journals every result while sharing
 * the cores with the workers. */
static void put_hexfloat(line *l, double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    l->b[l->n++] = '"';
    if (u >> 63) l->b[l->n++] = '-';
    int exp = (int)((u >> 52) & 0x7ff);
    uint64_t man = u & 0xfffffffffffffull;
    PUT(l, "0x");
    if (exp == 0 && man == 0) {
        PUT(l, "0p+0\"");
        return;
    }
    l->b[l->n++] = exp ? '1' : '0';
    int e2 = exp ? exp - 1023 : -1022;
    if (man) {
        l->b[l->n++] = '.';
        int digits = 13;
        while ((man & 0xf) == 0) {
            man >>= 4;
            digits--;
        }
        put_hex(l, man, digits);
    }
    l->b[l->n++] = 'p';
    l->b[l->n++] = e2 < 0 ? '-' : '+';
    put_u64(l, (uint64_t)(e2 < 0 ? -e2 : e2));
    l->b[l->n++] = '"';
}

/* Closes a line: the CRC of everything so far, then "}\n". */
static void put_crc(line *l) {
    uint32_t crc = swan_crc32c(l->b, l->n, 0);
    PUT(l, CRC_KEY);
    put_hex(l, crc, 8);
    PUT(l, "\"}\n");
}

/* Metric fields of a record, in a fixed order (new fields: add here and in
 * parse_record; the checksum covers them whatever they are). */
static void put_metrics(line *l, const swan_raw_metrics *raw) {
    PUT(l, ",\"kurtosis\":");
    put_hexfloat(l, raw->kurtosis);
    PUT(l, ",\"rtn_nrmse\":");
    put_hexfloat(l, raw->rtn_nrmse);
    PUT(l, ",\"svd_concentration\":");
    put_hexfloat(l, raw->svd_concentration);
    PUT(l, ",\"output_delta\":");
    put_hexfloat(l, raw->output_delta);
    PUT(l, ",\"w_min\":");
    put_hexfloat(l, raw->w_min);
    PUT(l, ",\"w_max\":");
    put_hexfloat(l, raw->w_max);
    PUT(l, ",\"rows\":");
    put_u64(l, raw->rows);
    PUT(l, ",\"cols\":");
    put_u64(l, raw->cols);
    PUT(l, ",\"nonfinite\":");
    put_u64(l, raw->nonfinite);
    PUT(l, ",\"spectral_method\":");
    put_u64(l, raw->spectral_method);
    PUT(l, ",\"spectral_rank\":");
    put_u64(l, raw->spectral_rank);
    PUT(l, ",\"seconds\":");
    put_hexfloat(l, raw->seconds);
    PUT(l, ",\"mlx_nrmse\":[");
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int g = 0; g < SWAN_MLX_NGROUPS; g++) {
            if (i || g) l->b[l->n++] = ',';
            put_hexfloat(l, raw->mlx_nrmse[i][g]);
        }
    l->b[l->n++] = ']';
    PUT(l, ",\"data_hash\":\"");
    put_hex(l, raw->data_hash, 16);
    l->b[l->n++] = '"';
}
#define METRICS_MAX 2048 /* bytes put_metrics can write, with room for later fields */

int swan_journal_append(swan_journal *j, const char *name, const swan_raw_metrics *raw,
                        swan_error *err) {
    if (buf_reserve(j, 16 + 6 * strlen(name) + METRICS_MAX + CRC_SUFFIX_LEN, err)) return -1;
    line l = {j->buf, 0};
    PUT(&l, "{\"tensor\":");
    put_string(&l, name);
    put_metrics(&l, raw);
    put_crc(&l);
    if (fwrite(l.b, 1, l.n, j->f) != l.n || ferror(j->f))
        return swan_error_set(err, "cannot append to %s: %s", j->path, strerror(errno));
    return 0;
}

static int write_header(swan_journal *j, uint64_t fingerprint, uint64_t seed,
                        const swan_checkpoint *ck, swan_error *err) {
    size_t need = 256;
    for (size_t s = 0; s < ck->nshards; s++) need += 128 + 6 * strlen(ck->shards[s].file);
    if (buf_reserve(j, need, err)) return -1;
    line l = {j->buf, 0};
    PUT(&l, "{\"swan_journal\":");
    put_u64(&l, SWAN_JOURNAL_FORMAT);
    PUT(&l, ",\"fingerprint\":\"");
    put_hex(&l, fingerprint, 16);
    PUT(&l, "\",\"metrics_version\":");
    put_u64(&l, SWAN_METRICS_VERSION);
    PUT(&l, ",\"seed\":\"");
    put_u64(&l, seed);
    PUT(&l, "\",\"tensors\":");
    put_u64(&l, ck->ntensors);
    PUT(&l, ",\"shards\":[");
    for (size_t s = 0; s < ck->nshards; s++) {
        const swan_shard_stamp *st = &ck->shards[s].stamp;
        if (s) l.b[l.n++] = ',';
        PUT(&l, "{\"file\":");
        put_string(&l, ck->shards[s].file);
        PUT(&l, ",\"size\":\"");
        put_u64(&l, st->size);
        PUT(&l, "\",\"mtime_ns\":\"");
        if (st->mtime_ns < 0) l.b[l.n++] = '-';
        put_u64(&l, st->mtime_ns < 0 ? (uint64_t)0 - (uint64_t)st->mtime_ns : (uint64_t)st->mtime_ns);
        PUT(&l, "\",\"header_hash\":\"");
        put_hex(&l, st->header_hash, 16);
        PUT(&l, "\"}");
    }
    l.b[l.n++] = ']';
    put_crc(&l);
    if (fwrite(l.b, 1, l.n, j->f) != l.n || fflush(j->f) != 0)
        return swan_error_set(err, "%s: %s", j->path, strerror(errno));
    return 0;
}

/* ---- reading lines ---------------------------------------------------------------- */

/* Verifies and strips the CRC suffix in place; false if it is missing or wrong. */
static bool check_crc(char *s, size_t n) {
    if (n < CRC_SUFFIX_LEN + 2) return false;
    char *suffix = s + n - CRC_SUFFIX_LEN;
    if (memcmp(suffix, CRC_KEY, CRC_KEY_LEN) != 0 || suffix[CRC_SUFFIX_LEN - 2] != '"' ||
        suffix[CRC_SUFFIX_LEN - 1] != '}')
        return false;
    uint32_t want = 0;
    for (int i = 0; i < 8; i++) {
        char c = suffix[CRC_KEY_LEN + i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        want = want << 4 | (uint32_t)d;
    }
    if (swan_crc32c(s, (size_t)(suffix - s), 0) != want) return false;
    suffix[0] = '}'; /* what remains is the object without its crc field */
    suffix[1] = '\0';
    return true;
}

/* A string of decimal digits (64-bit values do not fit a JSON double), optionally
 * negative when neg is allowed. */
static bool get_dec(const cJSON *o, const char *key, uint64_t *out, bool *neg) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v)) return false;
    const char *p = v->valuestring;
    *neg = false;
    if (*p == '-' && neg) {
        *neg = true;
        p++;
    }
    if (*p < '0' || *p > '9') return false;
    uint64_t x = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) return false;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *out = x;
    return *p == '\0';
}

static bool get_hex64(const cJSON *o, const char *key, uint64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) != 16) return false;
    uint64_t x = 0;
    for (const char *p = v->valuestring; *p; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (d < 0) return false;
        x = x << 4 | (uint64_t)d;
    }
    *out = x;
    return true;
}

/* A record's fields, read by the pull scanner (common/json_scan.h) in whatever order
 * they come: 100,000 records parse in a fraction of what a cJSON tree per line cost.
 * Unknown fields are skipped and a field given twice keeps its first value, as the
 * cJSON lookup did; the line's checksum has already been verified. */
enum {
    F_TENSOR, F_KURTOSIS, F_RTN, F_SVD, F_OUTPUT, F_WMIN, F_WMAX, F_ROWS, F_COLS,
    F_NONFINITE, F_SMETHOD, F_SRANK, F_SECONDS, F_MLX, F_HASH, F_COUNT
};
#define FIELD(s) {s, sizeof s - 1}
static const struct {
    const char *name;
    size_t len;
} record_fields[F_COUNT] = {
    FIELD("tensor"), FIELD("kurtosis"), FIELD("rtn_nrmse"), FIELD("svd_concentration"),
    FIELD("output_delta"), FIELD("w_min"), FIELD("w_max"), FIELD("rows"), FIELD("cols"),
    FIELD("nonfinite"), FIELD("spectral_method"), FIELD("spectral_rank"), FIELD("seconds"),
    FIELD("mlx_nrmse"), FIELD("data_hash")};
#undef FIELD

/* Field names come in the writer's order: try the one after the last match first. */
static int record_field(const swan_js *s, int hint) {
    if (!s->tok_escaped)
        for (int i = 0; i < F_COUNT; i++) {
            int f = (hint + i) % F_COUNT;
            if (s->tok_len == record_fields[f].len &&
                memcmp(s->tok, record_fields[f].name, record_fields[f].len) == 0)
                return f;
        }
    for (int f = 0; f < F_COUNT; f++)
        if (swan_js_equals(s, record_fields[f].name)) return f;
    return -1;
}

/* Lower-case hex digit values, -1 for anything else (the writer never uses upper case). */
static const signed char hex_value[256] = {
    ['0'] = 0 + 1, ['1'] = 1 + 1, ['2'] = 2 + 1, ['3'] = 3 + 1, ['4'] = 4 + 1,
    ['5'] = 5 + 1, ['6'] = 6 + 1, ['7'] = 7 + 1, ['8'] = 8 + 1, ['9'] = 9 + 1,
    ['a'] = 10 + 1, ['b'] = 11 + 1, ['c'] = 12 + 1, ['d'] = 13 + 1, ['e'] = 14 + 1, ['f'] = 15 + 1};

static int hex_digit(char c) { return hex_value[(unsigned char)c] - 1; }

/* What put_hexfloat writes, [-]0x(0|1)[.h{1,13}]p(+|-)d+, read exactly without strtod
 * (the mantissa fits 53 bits, so ldexp is exact); anything else goes through strtod
 * as before, which must consume the whole string. */
static bool parse_hexfloat(const char *p, size_t n, double *out) {
    const char *q = p, *end = p + n;
    bool neg = q < end && *q == '-';
    q += neg;
    if (end - q >= 4 && q[0] == '0' && q[1] == 'x' && (q[2] == '0' || q[2] == '1')) {
        uint64_t m = (uint64_t)(q[2] - '0');
        int k = 0;
        q += 3;
        if (q < end && *q == '.') {
            for (q++; q < end && k < 14 && hex_digit(*q) >= 0; q++, k++)
                m = m << 4 | (uint64_t)hex_digit(*q);
        }
        if (k <= 13 && end - q >= 3 && *q == 'p' && (q[1] == '+' || q[1] == '-')) {
            bool eneg = q[1] == '-';
            int e = 0, nd = 0;
            for (q += 2; q < end && *q >= '0' && *q <= '9' && nd < 5; q++, nd++) e = e * 10 + (*q - '0');
            if (q == end && nd > 0) {
                int e2 = eneg ? -e : e;
                /* The bits directly for the forms put_hexfloat writes (1.f x 2^e2 normal,
                 * 0.f x 2^-1022 subnormal); ldexp for any other exact form. */
                uint64_t frac = m & ((1ull << (4 * k)) - 1), u;
                if (k <= 13 && (m >> (4 * k)) == 1 && e2 >= -1022 && e2 <= 1023) {
                    u = (uint64_t)(e2 + 1023) << 52 | frac << (52 - 4 * k);
                } else if (k <= 13 && (m >> (4 * k)) == 0 && (e2 == -1022 || m == 0)) {
                    u = frac << (52 - 4 * k);
                } else {
                    double v = ldexp((double)m, e2 - 4 * k);
                    *out = neg ? -v : v;
                    return true;
                }
                u |= (uint64_t)neg << 63;
                memcpy(out, &u, sizeof *out);
                return true;
            }
        }
    }
    char buf[64];
    if (n >= sizeof buf || memchr(p, '\0', n)) return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *e;
    *out = strtod(buf, &e);
    return e != buf && *e == '\0';
}

/* The current string token as a hex float (the writer never escapes these). */
static bool tok_hexfloat(const swan_js *s, swan_js_tok t, double *out) {
    return t == SWAN_JS_STRING && !s->tok_escaped && parse_hexfloat(s->tok, s->tok_len, out);
}

static bool tok_uint(const swan_js *s, swan_js_tok t, uint64_t max, uint64_t *out) {
    return t == SWAN_JS_NUMBER && swan_js_uint53(s, out) && *out <= max;
}

static bool tok_hex64(const swan_js *s, swan_js_tok t, uint64_t *out) {
    if (t != SWAN_JS_STRING || s->tok_len != 16) return false;
    uint64_t x = 0;
    for (int i = 0; i < 16; i++) {
        int d = hex_digit(s->tok[i]);
        if (d < 0) return false;
        x = x << 4 | (uint64_t)d;
    }
    *out = x;
    return true;
}

/* "mlx_nrmse": an array of SWAN_MLX_NBITS x SWAN_MLX_NGROUPS hex floats, row-major. */
static bool tok_mlx_table(swan_js *s, swan_js_tok t, swan_raw_metrics *raw) {
    if (t != SWAN_JS_ARRAY) return false;
    for (int c = 0;; c++) {
        t = swan_js_next(s);
        if (t == SWAN_JS_ARRAY_END) return c == SWAN_MLX_NBITS * SWAN_MLX_NGROUPS;
        if (c == SWAN_MLX_NBITS * SWAN_MLX_NGROUPS ||
            !tok_hexfloat(s, t, &raw->mlx_nrmse[c / SWAN_MLX_NGROUPS][c % SWAN_MLX_NGROUPS]))
            return false;
    }
}

/* One field's value (its key just read). */
static bool read_field(swan_js *s, int f, char *line, const char **name, swan_raw_metrics *raw) {
    swan_js_tok t = swan_js_next(s);
    uint64_t u;
    bool ok;
    switch (f) {
    case F_TENSOR: {
        if (t != SWAN_JS_STRING) return false;
        bool nul; /* decoded in place: the scanner is past it, decoding never grows */
        char *dst = line + (s->tok - s->text);
        swan_js_decode(s, dst, &nul);
        *name = dst;
        return !nul;
    }
    case F_KURTOSIS: return tok_hexfloat(s, t, &raw->kurtosis);
    case F_RTN: return tok_hexfloat(s, t, &raw->rtn_nrmse);
    case F_SVD: return tok_hexfloat(s, t, &raw->svd_concentration);
    case F_OUTPUT: return tok_hexfloat(s, t, &raw->output_delta);
    case F_WMIN: return tok_hexfloat(s, t, &raw->w_min);
    case F_WMAX: return tok_hexfloat(s, t, &raw->w_max);
    case F_SECONDS: return tok_hexfloat(s, t, &raw->seconds);
    case F_ROWS: return tok_uint(s, t, UINT64_MAX, &raw->rows);
    case F_COLS: return tok_uint(s, t, UINT64_MAX, &raw->cols);
    case F_NONFINITE: return tok_uint(s, t, UINT64_MAX, &raw->nonfinite);
    case F_SMETHOD:
        ok = tok_uint(s, t, SWAN_SPECTRAL_RANDOMIZED, &u);
        raw->spectral_method = (uint32_t)u;
        return ok;
    case F_SRANK:
        ok = tok_uint(s, t, UINT32_MAX, &u);
        raw->spectral_rank = (uint32_t)u;
        return ok;
    case F_MLX: return tok_mlx_table(s, t, raw);
    default: return tok_hex64(s, t, &raw->data_hash);
    }
}

/* Parses one verified record (the object text line[0..len), its crc field already
 * cut); false (with why) if it is not an object or a field is missing or malformed. */
static bool parse_record(char *line, size_t len, const char **name, swan_raw_metrics *raw,
                         const char **why) {
    swan_js s;
    swan_js_init(&s, line, len);
    memset(raw, 0, sizeof *raw);
    *why = "damaged record (not a JSON object)";
    if (swan_js_next(&s) != SWAN_JS_OBJECT) return false;
    unsigned seen = 0;
    int hint = 0;
    bool fields_ok = true;
    for (;;) {
        swan_js_tok t = swan_js_next(&s);
        if (t == SWAN_JS_OBJECT_END) break;
        if (t != SWAN_JS_KEY) return false;
        int f = record_field(&s, hint);
        if (f < 0 || (seen >> f & 1u)) {
            if (swan_js_skip(&s, swan_js_next(&s))) return false;
            continue;
        }
        seen |= 1u << f;
        hint = f + 1;
        if (!read_field(&s, f, line, name, raw)) {
            fields_ok = false;
            break;
        }
    }
    if (fields_ok && swan_js_next(&s) != SWAN_JS_END) return false;
    *why = "a field is missing or malformed";
    return fields_ok && seen == (1u << F_COUNT) - 1;
}

/* Tensor names -> table index (common/str_index.h), for matching records to tensors. */
static const char *tensor_name(const void *ck, uint32_t i) {
    return ((const swan_checkpoint *)ck)->tensors[i].name;
}

int swan_journal_index_names(swan_str_index *ix, const swan_checkpoint *ck) {
    if (swan_str_index_init(ix, ck->ntensors)) return -1;
    for (size_t i = 0; i < ck->ntensors; i++)
        swan_str_index_find(ix, ck->tensors[i].name, tensor_name, ck, (uint32_t)i);
    return 0;
}

/* Everything one load needs. */
typedef struct loader {
    const char *path;
    uint64_t fingerprint;
    const swan_checkpoint *ck;
    swan_plan *plan;
    const swan_journal_open_opts *o;
    swan_journal_info *info;
    FILE *f;
    char *buf;
    size_t cap;
    size_t lineno;
    bool at_eof;
    swan_str_index ix;
} loader;

/* The next line without its newline, NULL at the end. A last line without a
 * newline (the writer stopped mid-record) is reported once as torn and not returned. */
static char *next_line(loader *L, size_t *len) {
    ssize_t n = getline(&L->buf, &L->cap, L->f);
    if (n <= 0) return NULL;
    L->lineno++;
    if (L->buf[n - 1] != '\n') {
        L->info->torn_line = L->lineno;
        return NULL;
    }
    L->buf[n - 1] = '\0';
    *len = (size_t)n - 1;
    return L->buf;
}

static const char *DAMAGED_HINT =
    "the journal is kept as it is: run with --repair to drop damaged records and recompute "
    "those tensors, or --fresh to start over";

/* A damaged record: refused, or dropped and counted under repair. */
static int damaged(loader *L, const char *why, swan_error *err) {
    if (!L->o->repair)
        return swan_error_set(err, "%s: line %zu: %s; %s", L->path, L->lineno, why, DAMAGED_HINT);
    if (L->info->dropped++ == 0) {
        L->info->first_dropped_line = L->lineno;
        snprintf(L->info->first_dropped_reason, sizeof L->info->first_dropped_reason, "%s", why);
    }
    return 0;
}

/* Header checks of line 1 (s, len; NULL when the file had none): checksum, format,
 * fingerprint, shards. *have_header false: nothing to load (an empty or torn header,
 * or under repair a damaged one: start over). */
static int check_header(loader *L, char *s, size_t len, bool *have_header, swan_error *err) {
    *have_header = false;
    if (!s) { /* empty, or a header torn before its newline: nothing was recorded */
        L->info->torn_line = 0;
        return 0;
    }
    if (!check_crc(s, len)) {
        if (L->o->repair) {
            L->info->started_over = true;
            return 0;
        }
        cJSON *o = cJSON_Parse(s); /* a journal of the first format has no checksums */
        bool old = o && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "swan_journal"));
        cJSON_Delete(o);
        if (old)
            return swan_error_set(err, "%s was written by an older swan (journal format 1, no "
                                       "checksums); use --fresh to start over",
                                  L->path);
        return swan_error_set(err, "%s: line 1: the journal header is damaged (checksum "
                                   "mismatch); the journal is kept as it is: --repair or --fresh "
                                   "starts it over",
                              L->path);
    }
    cJSON *h = cJSON_Parse(s);
    const cJSON *fmt = h ? cJSON_GetObjectItemCaseSensitive(h, "swan_journal") : NULL;
    const cJSON *fp = h ? cJSON_GetObjectItemCaseSensitive(h, "fingerprint") : NULL;
    const cJSON *shards = h ? cJSON_GetObjectItemCaseSensitive(h, "shards") : NULL;
    char want[17];
    line l = {want, 0};
    put_hex(&l, L->fingerprint, 16);
    want[16] = '\0';
    int rc = 0;
    if (!cJSON_IsNumber(fmt) || fmt->valuedouble != SWAN_JOURNAL_FORMAT) {
        rc = swan_error_set(err, "%s is not a journal of this swan (format %g); use --fresh to "
                                 "start over or another -o folder",
                            L->path, cJSON_IsNumber(fmt) ? fmt->valuedouble : 0.0);
    } else if (!cJSON_IsString(fp) || strcmp(fp->valuestring, want) != 0 ||
               cJSON_GetArraySize(shards) != (int)L->ck->nshards) {
        rc = swan_error_set(err, "%s belongs to another checkpoint or seed; use --fresh to start "
                                 "over or another -o folder",
                            L->path);
    }
    if (rc == 0 && !(L->info->stamps = calloc(L->ck->nshards + 1, sizeof *L->info->stamps)))
        rc = swan_error_set(err, "%s: out of memory", L->path);
    size_t i = 0;
    for (const cJSON *sh = shards ? shards->child : NULL; sh && rc == 0; sh = sh->next, i++) {
        const swan_shard *ks = &L->ck->shards[i];
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(sh, "file");
        swan_shard_stamp *st = &L->info->stamps[i];
        uint64_t mt;
        bool neg, n2;
        if (!cJSON_IsString(file) || strcmp(file->valuestring, ks->file) != 0 ||
            !get_dec(sh, "size", &st->size, &n2) || n2 || !get_dec(sh, "mtime_ns", &mt, &neg) ||
            !get_hex64(sh, "header_hash", &st->header_hash)) {
            rc = swan_error_set(err, "%s belongs to another checkpoint; use --fresh to start over "
                                     "or another -o folder",
                                L->path);
            break;
        }
        st->mtime_ns = neg ? -(int64_t)mt : (int64_t)mt;
        const char *what;
        if (L->o->check_stamps && !swan_shard_stamp_equal(st, &ks->stamp, &what))
            rc = swan_error_set(err, "%s changed since %s was written (its %s differs): the "
                                     "results in it cannot be trusted for the new file; use "
                                     "--fresh to start over",
                                ks->path, L->path, what);
    }
    cJSON_Delete(h);
    if (rc == 0) *have_header = true;
    return rc;
}

/* Checksum and fields of one record line (s, len); false with why when damaged.
 * *name points into s. */
static bool read_record(char *s, size_t len, const char **name, swan_raw_metrics *raw,
                        const char **why) {
    if (!check_crc(s, len)) {
        *why = "damaged record (checksum mismatch)";
        return false;
    }
    /* check_crc left the object without its crc field: len - CRC_SUFFIX_LEN + 1 bytes */
    return parse_record(s, len - CRC_SUFFIX_LEN + 1, name, raw, why);
}

/* A parsed record (line L->lineno) into its place in the tensor table: a copy of raw,
 * or when *adopt is set, raw itself (then *adopt is cleared: the plan owns it). */
static int apply_record(loader *L, const char *name, swan_raw_metrics *raw, swan_raw_metrics **adopt,
                        swan_error *err) {
    uint32_t idx = swan_str_index_find(&L->ix, name, tensor_name, L->ck, SWAN_STR_NONE);
    swan_tensor_rec *rec = idx != SWAN_STR_NONE ? &L->plan->recs[idx] : NULL;
    int rc = 0;
    if (!rec || rec->kind != SWAN_KIND_MATRIX)
        rc = damaged(L, "record for a tensor this checkpoint does not analyze", err);
    else if (raw->nonfinite == 0 && (raw->rows != rec->rows || raw->cols != rec->cols))
        rc = damaged(L, "record whose shape does not match its tensor", err);
    else {
        if (!rec->raw) L->info->loaded++;
        if (adopt && *adopt) { /* a later record wins */
            swan_plan_adopt_raw(L->plan, (size_t)idx, *adopt);
            *adopt = NULL;
        } else {
            rc = swan_plan_set_raw(L->plan, (size_t)idx, raw, err);
        }
    }
    return rc;
}

/* One record line: checksum, fields, and its place in the tensor table. */
static int load_record(loader *L, char *s, size_t len, swan_error *err) {
    const char *name = NULL, *why;
    swan_raw_metrics raw;
    if (!read_record(s, len, &name, &raw, &why)) return damaged(L, why, err);
    return apply_record(L, name, &raw, NULL, err);
}

static int load(loader *L, swan_error *err) {
    bool have_header;
    size_t len = 0;
    char *s = next_line(L, &len);
    if (check_header(L, s, len, &have_header, err) != 0) return -1;
    if (!have_header) return 0; /* nothing recorded, or a damaged header under repair */
    if (swan_journal_index_names(&L->ix, L->ck)) return swan_error_set(err, "%s: out of memory", L->path);
    while ((s = next_line(L, &len)))
        if (load_record(L, s, len, err) != 0) return -1;
    return 0;
}

/* Opens path for a loader; *exists false (and 0) when there is no such file. */
static int open_file(loader *L, bool *exists, swan_error *err) {
    *exists = false;
    struct stat st;
    if (stat(L->path, &st) != 0) {
        if (errno == ENOENT) return 0;
        return swan_error_set(err, "%s: cannot stat: %s", L->path, strerror(errno));
    }
    int fd = swan_open_regular(L->path, NULL, err); /* never blocks on a FIFO */
    if (fd < 0) return -1;
    L->f = fdopen(fd, "r");
    if (!L->f) {
        close(fd);
        return swan_error_set(err, "%s: %s", L->path, strerror(errno));
    }
    *exists = true;
    return 0;
}

/* Loads path (if it exists) into plan; *exists says whether there was a file. */
static int load_file(const char *path, uint64_t fingerprint, const swan_checkpoint *ck,
                     swan_plan *plan, const swan_journal_open_opts *o, swan_journal_info *info,
                     bool *exists, swan_error *err) {
    loader L = {.path = path, .fingerprint = fingerprint, .ck = ck, .plan = plan, .o = o,
                .info = info};
    if (open_file(&L, exists, err) != 0 || !*exists) return *exists ? -1 : 0;
    int rc = load(&L, err);
    fclose(L.f);
    free(L.buf);
    swan_str_index_free(&L.ix);
    return rc;
}

/* ---- reading in two steps: the lines, then the tensor table ---------------------- */

/* One record as parsed: its raw metrics (malloc'd: the plan adopts them), its name
 * (in names) and its line. */
typedef struct parsed_record {
    swan_raw_metrics *raw;
    size_t name_at;
    size_t lineno;
} parsed_record;

struct swan_journal_parsed {
    char *path;
    int rc;                  /* the reading itself failed (err says why)           */
    swan_error err;
    bool exists;
    char *header;            /* line 1 without its newline; NULL: none (empty, torn) */
    size_t header_len;
    parsed_record *recs;
    size_t nrecs, cap;
    char *names;             /* the records' names, each ending in NUL             */
    size_t names_len, names_cap;
    size_t damaged_line;     /* > 0: the first damaged line; nothing after it read */
    const char *damaged_why;
    size_t torn_line;
};

static int parsed_add(swan_journal_parsed *p, const char *name, const swan_raw_metrics *raw,
                      size_t lineno) {
    size_t n = strlen(name) + 1;
    if (p->nrecs == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 4096;
        parsed_record *g = realloc(p->recs, cap * sizeof *g);
        if (!g) return -1;
        p->recs = g;
        p->cap = cap;
    }
    if (p->names_len + n > p->names_cap) {
        size_t cap = p->names_cap ? 2 * p->names_cap : 1 << 18;
        while (cap < p->names_len + n) cap *= 2;
        char *g = realloc(p->names, cap);
        if (!g) return -1;
        p->names = g;
        p->names_cap = cap;
    }
    swan_raw_metrics *r = malloc(sizeof *r);
    if (!r) return -1;
    *r = *raw;
    memcpy(p->names + p->names_len, name, n);
    p->recs[p->nrecs++] = (parsed_record){r, p->names_len, lineno};
    p->names_len += n;
    return 0;
}

/* Every line of the open file: the header kept as text, each record checked and
 * parsed, up to the first damaged one. */
static int parse_lines(loader *L, swan_journal_parsed *p) {
    size_t len;
    char *s = next_line(L, &len);
    if (!s) return 0;
    if (!(p->header = malloc(len + 1))) return -1;
    memcpy(p->header, s, len + 1);
    p->header_len = len;
    while ((s = next_line(L, &len))) {
        const char *name = NULL, *why;
        swan_raw_metrics raw;
        if (!read_record(s, len, &name, &raw, &why)) {
            p->damaged_line = L->lineno;
            p->damaged_why = why;
            return 0;
        }
        if (parsed_add(p, name, &raw, L->lineno)) return -1;
    }
    return 0;
}

swan_journal_parsed *swan_journal_parse(const char *path) {
    swan_journal_parsed *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (!(p->path = strdup(path))) {
        free(p);
        return NULL;
    }
    swan_journal_info info = {0};
    loader L = {.path = p->path, .info = &info};
    p->rc = open_file(&L, &p->exists, &p->err);
    if (p->rc == 0 && p->exists) {
        if (parse_lines(&L, p)) p->rc = swan_error_set(&p->err, "%s: out of memory", path);
        p->torn_line = info.torn_line;
        fclose(L.f);
        free(L.buf);
    }
    return p;
}

void swan_journal_parsed_free(swan_journal_parsed *p) {
    if (!p) return;
    free(p->path);
    free(p->header);
    for (size_t i = 0; i < p->nrecs; i++) free(p->recs[i].raw); /* those not adopted */
    free(p->recs);
    free(p->names);
    free(p);
}

int swan_journal_apply(swan_journal_parsed *p, uint64_t fingerprint, const swan_checkpoint *ck,
                       const swan_str_index *names, swan_plan *plan, swan_journal_info *info,
                       swan_error *err) {
    memset(info, 0, sizeof *info);
    if (!p) return swan_error_set(err, "out of memory reading a journal");
    if (p->rc) {
        *err = p->err;
        return -1;
    }
    if (!p->exists) return swan_error_set(err, "%s: no such file", p->path);
    swan_journal_open_opts o = {.check_stamps = false};
    loader L = {.path = p->path, .fingerprint = fingerprint, .ck = ck, .plan = plan, .o = &o,
                .info = info, .lineno = 1};
    bool have_header;
    int rc = check_header(&L, p->header, p->header_len, &have_header, err);
    if (rc == 0 && have_header) {
        if (names) L.ix = *names; /* borrowed */
        else if (swan_journal_index_names(&L.ix, ck)) rc = swan_error_set(err, "%s: out of memory", p->path);
        for (size_t i = 0; i < p->nrecs && rc == 0; i++) {
            L.lineno = p->recs[i].lineno;
            rc = apply_record(&L, p->names + p->recs[i].name_at, p->recs[i].raw, &p->recs[i].raw, err);
        }
        if (rc == 0 && p->damaged_line) {
            L.lineno = p->damaged_line;
            rc = damaged(&L, p->damaged_why, err);
        }
        if (rc == 0) info->torn_line = p->torn_line;
        if (!names) swan_str_index_free(&L.ix);
    }
    if (rc) return -1;
    if (!info->stamps) return swan_error_set(err, "%s holds no results (empty or torn header)", p->path);
    return 0;
}

int swan_journal_read(const char *path, uint64_t fingerprint, const swan_checkpoint *ck,
                      swan_plan *plan, swan_journal_info *info, swan_error *err) {
    swan_journal_parsed *p = swan_journal_parse(path);
    int rc = swan_journal_apply(p, fingerprint, ck, NULL, plan, info, err);
    swan_journal_parsed_free(p);
    return rc;
}

int swan_journal_open(swan_journal *j, const char *path, uint64_t fingerprint,
                      const swan_checkpoint *ck, swan_plan *plan,
                      const swan_journal_open_opts *opts, swan_journal_info *info_out,
                      swan_error *err) {
    memset(j, 0, sizeof *j);
    swan_journal_info local;
    swan_journal_info *info = info_out ? info_out : &local;
    memset(info, 0, sizeof *info);
    if (strlen(path) >= sizeof j->path) return swan_error_set(err, "journal path too long");
    strcpy(j->path, path);
    bool exists = false;
    if (!opts->fresh && load_file(path, fingerprint, ck, plan, opts, info, &exists, err) != 0) {
        swan_plan_forget_raw(plan);
        info->loaded = 0;
        goto fail_early;
    }
    if (info->started_over) /* nothing loaded: the header could not be trusted */
        swan_plan_forget_raw(plan);
    /* Rewrite the journal compactly: fresh checksums, torn or dropped lines gone. */
    swan_atomic_file af;
    if (swan_atomic_open(&af, path, err) != 0) goto fail_early;
    j->f = af.f;
    if (write_header(j, fingerprint, opts->seed, ck, err)) goto fail;
    if (exists)
        for (size_t i = 0; i < ck->ntensors; i++)
            if (plan->recs[i].raw &&
                swan_journal_append(j, ck->tensors[i].name, plan->recs[i].raw, err))
                goto fail;
    /* Published complete and synced; appends then go to the renamed file. */
    j->f = NULL;
    if (swan_atomic_commit_keep_open(&af, err) != 0) goto fail_early;
    j->f = af.f;
    j->last_sync = swan_now_s();
    if (!info_out) free(local.stamps);
    return 0;
fail:
    swan_atomic_abort(&af);
    j->f = NULL;
fail_early:
    free(j->buf);
    j->buf = NULL;
    if (!info_out) free(local.stamps);
    return -1;
}

int swan_journal_flush(swan_journal *j, swan_error *err) {
    if (fflush(j->f) != 0)
        return swan_error_set(err, "cannot append to %s: %s", j->path, strerror(errno));
    double t = swan_now_s();
    if (t - j->last_sync > 2.0) { /* the OS has the data; fsync bounds a power cut */
        swan_fsync(fileno(j->f));
        j->last_sync = t;
    }
    return 0;
}

void swan_journal_close(swan_journal *j) {
    if (j->f) {
        fflush(j->f);
        swan_fsync(fileno(j->f));
        fclose(j->f);
    }
    j->f = NULL;
    free(j->buf);
    j->buf = NULL;
    j->cap = 0;
}
