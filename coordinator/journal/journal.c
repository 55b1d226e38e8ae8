/* journal.c: append-only JSON-lines journal of raw results (see journal.h). */
#include "coordinator/journal/journal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/fmt.h"
#include "common/json_writer.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Hashes up to 4 KiB of tensor data at the start, middle and end of a shard's data
 * section: a fine-tune of the same architecture has an identical tensor table, and
 * must not inherit the base model's journal. */
static uint64_t hash_data_samples(uint64_t h, const swan_shard *sh) {
    int fd = open(sh->path, O_RDONLY);
    if (fd < 0) return h;
    uint64_t data = sh->size > sh->data_start ? sh->size - sh->data_start : 0;
    uint64_t at[3] = {0, data / 2, data > 4096 ? data - 4096 : 0};
    unsigned char buf[4096];
    for (int k = 0; k < 3; k++) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)(sh->data_start + at[k]));
        if (n > 0) h = fnv(h, buf, (size_t)n);
    }
    close(fd);
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
    for (size_t s = 0; s < ck->nshards; s++) {
        h = fnv(h, ck->shards[s].file, strlen(ck->shards[s].file) + 1);
        h = fnv(h, &ck->shards[s].size, sizeof ck->shards[s].size);
        h = hash_data_samples(h, &ck->shards[s]);
    }
    return h;
}

/* Sorted (name, index) pairs for matching journal records to tensors in O(log n). */
typedef struct {
    const char *name;
    uint32_t idx;
} name_entry;

static int by_name(const void *a, const void *b) {
    return strcmp(((const name_entry *)a)->name, ((const name_entry *)b)->name);
}

static long find_tensor(const name_entry *ix, size_t n, const char *name) {
    name_entry key = {name, 0};
    const name_entry *e = bsearch(&key, ix, n, sizeof *ix, by_name);
    return e ? (long)e->idx : -1;
}

/* Metric values are stored as C99 hexadecimal floats in strings ("0x1.8p-3"): exact
 * like %.17g, but printed and parsed several times faster, which matters because the
 * coordinator journals every result while sharing the cores with the workers. */
static bool get_num(const cJSON *o, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (!cJSON_IsString(v)) return false;
    char *end;
    *out = strtod(v->valuestring, &end);
    return end != v->valuestring && *end == '\0';
}

/* C99 "%a" form of a finite double, written by hand (glibc's printf path for it is
 * slow): [-]0x1.<hex digits>p<exp> for normals, [-]0x0.<hex digits>p-1022 for
 * subnormals, 0x0p+0 for zero; strtod reads every form back exactly. */
static void format_hexfloat(double v, char *out) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    char *p = out;
    if (u >> 63) *p++ = '-';
    int exp = (int)((u >> 52) & 0x7ff);
    uint64_t man = u & 0xfffffffffffffull;
    *p++ = '0';
    *p++ = 'x';
    if (exp == 0 && man == 0) {
        memcpy(p, "0p+0", 5);
        return;
    }
    *p++ = exp ? '1' : '0';
    int e2 = exp ? exp - 1023 : -1022;
    if (man) {
        *p++ = '.';
        int digits = 13;
        while ((man & 0xf) == 0) {
            man >>= 4;
            digits--;
        }
        for (int i = digits - 1; i >= 0; i--) p[i] = "0123456789abcdef"[(man >> (4 * (digits - 1 - i))) & 0xf];
        p += digits;
    }
    *p++ = 'p';
    *p++ = e2 < 0 ? '-' : '+';
    swan_fmt_u64(p, (uint64_t)(e2 < 0 ? -e2 : e2));
}


/* "mlx_nrmse": an array of SWAN_MLX_NBITS x SWAN_MLX_NGROUPS numbers, row-major. */
static bool get_mlx_table(const cJSON *o, swan_raw_metrics *raw) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "mlx_nrmse");
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != SWAN_MLX_NBITS * SWAN_MLX_NGROUPS)
        return false;
    int c = 0;
    for (const cJSON *v = a->child; v; v = v->next, c++) {
        double d;
        char *end;
        if (cJSON_IsNumber(v))
            d = v->valuedouble;
        else if (cJSON_IsString(v)) {
            d = strtod(v->valuestring, &end);
            if (end == v->valuestring || *end != '\0') return false;
        } else
            return false;
        raw->mlx_nrmse[c / SWAN_MLX_NGROUPS][c % SWAN_MLX_NGROUPS] = d;
    }
    return true;
}

/* Parses one record line into raw; false if it is not a complete valid record. */
static bool parse_record(const char *line, const char **name_out, cJSON **root,
                         swan_raw_metrics *raw) {
    *root = cJSON_Parse(line);
    if (!*root) return false;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(*root, "tensor");
    double rows, cols, nf, sm, sr;
    memset(raw, 0, sizeof *raw);
    if (!cJSON_IsString(name) || !get_num(*root, "kurtosis", &raw->kurtosis) ||
        !get_num(*root, "rtn_nrmse", &raw->rtn_nrmse) ||
        !get_num(*root, "svd_concentration", &raw->svd_concentration) ||
        !get_num(*root, "output_delta", &raw->output_delta) ||
        !get_num(*root, "w_min", &raw->w_min) || !get_num(*root, "w_max", &raw->w_max) ||
        !get_num(*root, "rows", &rows) || !get_num(*root, "cols", &cols) ||
        !get_num(*root, "nonfinite", &nf) || !get_num(*root, "spectral_method", &sm) ||
        !get_num(*root, "spectral_rank", &sr) || !get_num(*root, "seconds", &raw->seconds) ||
        !get_mlx_table(*root, raw))
        return false;
    raw->rows = (uint64_t)rows;
    raw->cols = (uint64_t)cols;
    raw->nonfinite = (uint64_t)nf;
    raw->spectral_method = (uint32_t)sm;
    raw->spectral_rank = (uint32_t)sr;
    *name_out = name->valuestring;
    return true;
}

/* Reads one line of any length into *buf; NULL at the end or for a torn last
 * line (no newline: the writer crashed mid-record). */
static char *read_line(FILE *f, char **buf, size_t *cap) {
    ssize_t n = getline(buf, cap, f);
    if (n <= 0 || (*buf)[n - 1] != '\n') return NULL;
    (*buf)[n - 1] = '\0';
    return *buf;
}

static int load_existing(FILE *f, const char *path, uint64_t fingerprint, const swan_checkpoint *ck,
                         swan_plan *plan, bool *mismatch, size_t *loaded, swan_error *err) {
    char *buf = NULL;
    size_t cap = 0;
    *mismatch = false;
    char *line = read_line(f, &buf, &cap);
    if (!line) { /* empty or torn header: treat as a new journal */
        free(buf);
        return 0;
    }
    cJSON *hdr = cJSON_Parse(line);
    const cJSON *fp = hdr ? cJSON_GetObjectItemCaseSensitive(hdr, "fingerprint") : NULL;
    char want[32];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)fingerprint);
    if (!cJSON_IsString(fp) || strcmp(fp->valuestring, want) != 0) {
        *mismatch = true;
        cJSON_Delete(hdr);
        free(buf);
        return 0;
    }
    cJSON_Delete(hdr);
    name_entry *ix = malloc((ck->ntensors ? ck->ntensors : 1) * sizeof *ix);
    if (!ix) {
        free(buf);
        return swan_error_set(err, "%s: out of memory", path);
    }
    for (size_t i = 0; i < ck->ntensors; i++) ix[i] = (name_entry){ck->tensors[i].name, (uint32_t)i};
    qsort(ix, ck->ntensors, sizeof *ix, by_name);
    while ((line = read_line(f, &buf, &cap))) {
        const char *name;
        cJSON *root;
        swan_raw_metrics raw;
        if (parse_record(line, &name, &root, &raw)) {
            long t = find_tensor(ix, ck->ntensors, name);
            if (t >= 0 && plan->recs[t].kind == SWAN_KIND_MATRIX &&
                (raw.nonfinite > 0 ||
                 (raw.rows == plan->recs[t].rows && raw.cols == plan->recs[t].cols))) {
                if (!plan->recs[t].have_raw) (*loaded)++;
                plan->recs[t].raw = raw;
                plan->recs[t].have_raw = true;
            }
        }
        cJSON_Delete(root);
    }
    free(ix);
    free(buf);
    return 0;
}

static int write_header(swan_journal *j, uint64_t fingerprint, const swan_checkpoint *ck,
                        swan_error *err) {
    fprintf(j->f, "{\"swan_journal\":1,\"fingerprint\":\"%016llx\",\"metrics_version\":%d,"
                  "\"tensors\":%zu}\n",
            (unsigned long long)fingerprint, SWAN_METRICS_VERSION, ck->ntensors);
    if (fflush(j->f) != 0) return swan_error_set(err, "%s: %s", j->path, strerror(errno));
    return 0;
}

int swan_journal_open(swan_journal *j, const char *path, uint64_t fingerprint,
                      const swan_checkpoint *ck, swan_plan *plan, bool fresh, size_t *loaded,
                      swan_error *err) {
    memset(j, 0, sizeof *j);
    *loaded = 0;
    if (strlen(path) >= sizeof j->path) return swan_error_set(err, "journal path too long");
    strcpy(j->path, path);
    bool mismatch = false, exists = false;
    FILE *old = fresh ? NULL : fopen(path, "r");
    if (old) {
        exists = true;
        int rc = load_existing(old, path, fingerprint, ck, plan, &mismatch, loaded, err);
        fclose(old);
        if (rc) return -1;
        if (mismatch)
            return swan_error_set(err,
                                  "%s belongs to another checkpoint or seed; use --fresh to start "
                                  "over or another -o folder",
                                  path);
    }
    /* Rewrite the journal compactly when resuming: drops torn or duplicate lines. */
    swan_atomic_file af;
    if (swan_atomic_open(&af, path, err) != 0) return -1;
    j->f = af.f;
    if (write_header(j, fingerprint, ck, err)) goto fail;
    if (exists)
        for (size_t i = 0; i < ck->ntensors; i++)
            if (plan->recs[i].have_raw &&
                swan_journal_append(j, ck->tensors[i].name, &plan->recs[i].raw, err))
                goto fail;
    /* Published complete and synced; appends then go to the renamed file. */
    j->f = NULL;
    if (swan_atomic_commit_keep_open(&af, err) != 0) return -1;
    j->f = af.f;
    j->last_sync = swan_now_s();
    return 0;
fail:
    swan_atomic_abort(&af);
    j->f = NULL;
    return -1;
}

/* A record built by hand into one buffer: the coordinator journals every result while
 * sharing the cores with the workers, so this is on the hot path. Names that need
 * JSON escaping (rare) go through the general writer instead. */
typedef struct rec_buf {
    char b[1600]; /* 400-byte name + 12 fields + 18 table values, each <= 26 bytes */
    size_t n;
} rec_buf;

static void rb_lit(rec_buf *r, const char *s, size_t len) {
    memcpy(r->b + r->n, s, len);
    r->n += len;
}
#define RB_LIT(r, s) rb_lit((r), (s), sizeof(s) - 1)

static void rb_hex(rec_buf *r, double v) {
    r->b[r->n++] = '"';
    format_hexfloat(v, r->b + r->n);
    r->n += strlen(r->b + r->n);
    r->b[r->n++] = '"';
}

static void rb_u64(rec_buf *r, uint64_t v) {
    r->n += swan_fmt_u64(r->b + r->n, v);
}

static bool plain_name(const char *s, size_t len) {
    if (len > 400) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
    }
    return true;
}

static void write_record_fields(rec_buf *r, const swan_raw_metrics *raw) {
    RB_LIT(r, ",\"kurtosis\":");
    rb_hex(r, raw->kurtosis);
    RB_LIT(r, ",\"rtn_nrmse\":");
    rb_hex(r, raw->rtn_nrmse);
    RB_LIT(r, ",\"svd_concentration\":");
    rb_hex(r, raw->svd_concentration);
    RB_LIT(r, ",\"output_delta\":");
    rb_hex(r, raw->output_delta);
    RB_LIT(r, ",\"w_min\":");
    rb_hex(r, raw->w_min);
    RB_LIT(r, ",\"w_max\":");
    rb_hex(r, raw->w_max);
    RB_LIT(r, ",\"rows\":");
    rb_u64(r, raw->rows);
    RB_LIT(r, ",\"cols\":");
    rb_u64(r, raw->cols);
    RB_LIT(r, ",\"nonfinite\":");
    rb_u64(r, raw->nonfinite);
    RB_LIT(r, ",\"spectral_method\":");
    rb_u64(r, raw->spectral_method);
    RB_LIT(r, ",\"spectral_rank\":");
    rb_u64(r, raw->spectral_rank);
    RB_LIT(r, ",\"seconds\":");
    rb_hex(r, raw->seconds);
    RB_LIT(r, ",\"mlx_nrmse\":[");
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int g = 0; g < SWAN_MLX_NGROUPS; g++) {
            if (i || g) r->b[r->n++] = ',';
            rb_hex(r, raw->mlx_nrmse[i][g]);
        }
    RB_LIT(r, "]}\n");
}

int swan_journal_append(swan_journal *j, const char *name, const swan_raw_metrics *raw,
                        swan_error *err) {
    size_t len = strlen(name);
    rec_buf r;
    r.n = 0;
    if (plain_name(name, len)) {
        RB_LIT(&r, "{\"tensor\":\"");
        rb_lit(&r, name, len);
        r.b[r.n++] = '"';
    } else { /* escape through the general writer: {"tensor":"..." then our fields */
        swan_jw w;
        swan_jw_init(&w, j->f, 0);
        fputs("{\"tensor\":", j->f);
        swan_jw_string(&w, name);
        if (swan_jw_error(&w))
            return swan_error_set(err, "cannot append to %s: %s", j->path, strerror(errno));
    }
    write_record_fields(&r, raw);
    if (fwrite(r.b, 1, r.n, j->f) != r.n || ferror(j->f))
        return swan_error_set(err, "cannot append to %s: %s", j->path, strerror(errno));
    return 0;
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
}
