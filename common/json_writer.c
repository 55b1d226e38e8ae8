/* json_writer.c: the streaming JSON writer (see json_writer.h for why it streams).
 *
 * State is one stack of open containers: whether each is an object, and whether it
 * has had an element yet (to place commas). Pretty output follows Python's
 * json.dump(indent=N): one element per line, `"key": value`, empty containers as
 * {} and []. Strings are made safe whatever their bytes: tensor names come from
 * untrusted files, so invalid UTF-8 becomes U+FFFD and the output is always JSON. */
#include "common/json_writer.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/fmt.h"
#include "common/utf8.h"

/* Output is gathered in w->buf: a manifest is ~10M small writes, and stdio's
 * per-call cost was a large part of writing one. */
static void flush_buf(swan_jw *w) {
    if (w->blen && fwrite(w->buf, 1, w->blen, w->f) != w->blen) w->failed = true;
    w->blen = 0;
}

static void put(swan_jw *w, const char *s, size_t n) {
    if (n > sizeof w->buf - w->blen) {
        flush_buf(w);
        if (n > sizeof w->buf) {
            if (fwrite(s, 1, n, w->f) != n) w->failed = true;
            return;
        }
    }
    memcpy(w->buf + w->blen, s, n);
    w->blen += n;
}

/* After each value: a complete document goes out to the FILE. */
static void value_done(swan_jw *w) {
    if (w->depth == 0) flush_buf(w);
}

static void puts_(swan_jw *w, const char *s) { put(w, s, strlen(s)); }

static void newline_indent(swan_jw *w) {
    static const char nl_spaces[] = "\n                                ";
    size_t n = (size_t)w->indent * (size_t)w->depth;
    if (n < sizeof nl_spaces - 1) { /* the usual case: one copy */
        put(w, nl_spaces, n + 1);
        return;
    }
    put(w, "\n", 1);
    while (n) {
        size_t k = n < sizeof nl_spaces - 2 ? n : sizeof nl_spaces - 2;
        put(w, nl_spaces + 1, k);
        n -= k;
    }
}

void swan_jw_init(swan_jw *w, FILE *f, int indent) {
    /* Everything but the output buffer, which needs no clearing (8 KiB per journal
     * record otherwise). */
    memset(w, 0, offsetof(swan_jw, buf));
    w->blen = 0;
    w->double_digits = 0;
    w->html_safe = false;
    w->f = f;
    w->indent = indent > 0 ? indent : 0;
    w->first[0] = true; /* level 0 holds exactly one value: the document */
}

/* Called before every value and key: checks that one may come here, writes the
 * separator. Returns false (and marks the writer failed) when nesting is broken. */
static bool begin_element(swan_jw *w, bool is_key) {
    if (w->failed) return false;
    if (w->after_key) {
        if (is_key) { w->failed = true; return false; } /* key after key */
        w->after_key = false;
        return true;                                     /* value of that key */
    }
    if (w->depth == 0) {
        /* One document per writer: a second top-level value is not JSON. */
        if (is_key || !w->first[0]) { w->failed = true; return false; }
        w->first[0] = false;
        return true;
    }
    if (w->in_object[w->depth] != is_key) { w->failed = true; return false; }
    if (!w->first[w->depth]) put(w, ",", 1);
    w->first[w->depth] = false;
    if (w->indent) newline_indent(w);
    return true;
}

static void open_container(swan_jw *w, bool object) {
    if (!begin_element(w, false)) return;
    if (w->depth + 1 >= SWAN_JW_MAX_DEPTH) { w->failed = true; return; }
    put(w, object ? "{" : "[", 1);
    w->depth++;
    w->first[w->depth] = true;
    w->in_object[w->depth] = object;
}

static void close_container(swan_jw *w, bool object) {
    if (w->failed) return;
    if (w->depth == 0 || w->in_object[w->depth] != object || w->after_key) {
        w->failed = true;
        return;
    }
    bool empty = w->first[w->depth];
    w->depth--;
    if (w->indent && !empty) newline_indent(w);
    put(w, object ? "}" : "]", 1);
    value_done(w);
}

void swan_jw_object_begin(swan_jw *w) { open_container(w, true); }
void swan_jw_object_end(swan_jw *w) { close_container(w, true); }
void swan_jw_array_begin(swan_jw *w) { open_container(w, false); }
void swan_jw_array_end(swan_jw *w) { close_container(w, false); }

/* Writes s as a JSON string literal. Runs of bytes that need no escaping are
 * written with one fwrite each. */
static void write_string(swan_jw *w, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    size_t run = 0; /* start of the pending verbatim run */
    /* Most strings (keys, names) need no escape: one copy with their quotes. */
    size_t k = 0;
    while (k < n && p[k] >= 0x20 && p[k] < 0x80 && p[k] != '"' && p[k] != '\\' &&
           (p[k] != '/' || !w->html_safe))
        k++;
    if (k == n && n + 2 <= sizeof w->buf - w->blen) {
        char *d = w->buf + w->blen;
        d[0] = '"';
        memcpy(d + 1, s, n);
        d[n + 1] = '"';
        w->blen += n + 2;
        return;
    }
    put(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && (c != '/' || !w->html_safe)) {
            i++; /* the common case */
            continue;
        }
        const char *esc = NULL;
        char buf[8];
        size_t adv = 1;
        if (c == '/') esc = i > 0 && p[i - 1] == '<' ? "\\/" : NULL; /* html_safe only */
        else if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) {
            snprintf(buf, sizeof buf, "\\u%04x", c);
            esc = buf;
        } else if (c >= 0x80) {
            adv = swan_utf8_seq_len(p + i, n - i);
            if (adv == 0) {
                esc = "\xEF\xBF\xBD"; /* U+FFFD for one invalid byte */
                adv = 1;
            }
        }
        if (esc) {
            put(w, s + run, i - run);
            puts_(w, esc);
            run = i + adv;
        }
        i += adv;
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void swan_jw_key(swan_jw *w, const char *key) {
    if (!key) { w->failed = true; return; }
    if (!begin_element(w, true)) return;
    write_string(w, key);
    put(w, w->indent ? ": " : ":", w->indent ? 2 : 1);
    w->after_key = true;
}

void swan_jw_string(swan_jw *w, const char *s) {
    if (!s) { swan_jw_null(w); return; }
    if (!begin_element(w, false)) return;
    write_string(w, s);
    value_done(w);
}

/* "%.10g" for the common case 1e-5 <= |v| < 1e9, without printf (whose cost was
 * most of a 100,000-tensor manifest): scale to a 10-digit integer, place the point,
 * drop trailing zeros. The last digit may differ from printf's by one in rare
 * halfway cases, which is below anything the manifest's readers can see. Returns
 * false for values outside that range (the caller uses snprintf). */
static bool format_g10(double v, char *out) {
    double a = fabs(v);
    if (!(a >= 1e-5 && a < 1e9)) return false;
    /* Powers of ten up to 10^22 are exact doubles, equal to what pow returns. */
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};
    int e = (int)floor(log10(a));
    if (9 - e < 0 || 10 - e > 16) return false;
    double scaled = a * p10[9 - e];
    uint64_t m = (uint64_t)llround(scaled);
    if (m >= 10000000000ull) { /* rounding carried into an 11th digit */
        m /= 10;
        e++;
    } else if (m < 1000000000ull) { /* log10 landed one below */
        m = (uint64_t)llround(a * p10[10 - e]);
        e--;
    }
    if (e >= 9 || m < 1000000000ull || m >= 10000000000ull) return false;
    char digits[11];
    for (int i = 9; i >= 0; i--) {
        digits[i] = (char)('0' + m % 10);
        m /= 10;
    }
    int nd = 10;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char *p = out;
    if (v < 0) *p++ = '-';
    if (e >= 0) { /* d..d.ddd */
        for (int i = 0; i <= e; i++) *p++ = i < nd ? digits[i] : '0';
        if (nd > e + 1) {
            *p++ = '.';
            for (int i = e + 1; i < nd; i++) *p++ = digits[i];
        }
    } else { /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -e - 1; i++) *p++ = '0';
        for (int i = 0; i < nd; i++) *p++ = digits[i];
    }
    *p = '\0';
    return true;
}

void swan_jw_double(swan_jw *w, double v) {
    if (!isfinite(v)) { swan_jw_null(w); return; }
    if (!begin_element(w, false)) return;
    /* The shortest of %.15g..%.17g that reads back to the same double: exact like
     * %.17g, but 0.1 stays "0.1" instead of "0.10000000000000001". */
    char buf[40];
    if (v == (double)(int64_t)v && fabs(v) < 1e15) {
        /* Integral values (scores of 0 and 1 are common) need no search. */
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        if (v == 0 && signbit(v)) snprintf(buf, sizeof buf, "-0");
    } else if (w->double_digits == 10 && format_g10(v, buf)) {
        /* fast path for the manifest's compact form */
    } else if (w->double_digits == 6) {
        /* the report's: printf's bytes without printf (common/fmt.h), which declines
         * the rare value next to a tie; a literal format then, as below */
        if (!swan_fmt_g(buf, v, 6)) snprintf(buf, sizeof buf, "%.6g", v);
    } else if (w->double_digits == 17) {
        /* A literal format: glibc's "%.*g" takes a slow positional-argument path. */
        snprintf(buf, sizeof buf, "%.17g", v);
    } else if (w->double_digits > 0) {
        snprintf(buf, sizeof buf, "%.*g", w->double_digits, v);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (prec == 17 || strtod(buf, NULL) == v) break;
        }
    }
    /* A locale with a decimal comma would break the number; JSON wants '.'. */
    for (char *c = buf; *c; c++)
        if (*c == ',') *c = '.';
    puts_(w, buf);
    value_done(w);
}

/* Decimal digits of v (common/fmt.h: integers are most of a manifest's values). */
static void put_u64(swan_jw *w, uint64_t v, bool negative) {
    char buf[24];
    buf[0] = '-';
    size_t n = swan_fmt_u64(buf + 1, v);
    put(w, negative ? buf : buf + 1, negative ? n + 1 : n);
    value_done(w);
}

void swan_jw_int(swan_jw *w, int64_t v) {
    if (!begin_element(w, false)) return;
    put_u64(w, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

void swan_jw_uint(swan_jw *w, uint64_t v) {
    if (!begin_element(w, false)) return;
    put_u64(w, v, false);
}

void swan_jw_bool(swan_jw *w, bool v) {
    if (!begin_element(w, false)) return;
    puts_(w, v ? "true" : "false");
    value_done(w);
}

void swan_jw_null(swan_jw *w) {
    if (!begin_element(w, false)) return;
    puts_(w, "null");
    value_done(w);
}

/* The text is trusted to be one JSON value (the caller serialized or validated it);
 * NULL writes null so that an absent config.json needs no special case. */
void swan_jw_raw(swan_jw *w, const char *json) {
    if (!json) { swan_jw_null(w); return; }
    if (!begin_element(w, false)) return;
    puts_(w, json);
    value_done(w);
}

void swan_jw_key_double(swan_jw *w, const char *key, double v) {
    swan_jw_key(w, key);
    swan_jw_double(w, v);
}

void swan_jw_key_uint(swan_jw *w, const char *key, uint64_t v) {
    swan_jw_key(w, key);
    swan_jw_uint(w, v);
}

void swan_jw_key_string(swan_jw *w, const char *key, const char *s) {
    swan_jw_key(w, key);
    swan_jw_string(w, s);
}

bool swan_jw_error(const swan_jw *w) {
    return w->failed || w->depth != 0 || w->after_key || ferror(w->f);
}
