/* json_scan.c: the strict pull tokenizer (see json_scan.h for what it checks and why).
 *
 * One state variable says what may come next; one bit per open container says
 * whether it is an object. Strings are validated in place (escapes, UTF-8) and left
 * escaped: callers decode only the few they keep. */
#include "common/json_scan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

enum {
    ST_VALUE,        /* a value must come (start, after ':', after ',' in an array) */
    ST_ARRAY_FIRST,  /* after '[': a value or ']'                                 */
    ST_OBJECT_FIRST, /* after '{': a key or '}'                                   */
    ST_KEY,          /* after ',' in an object: a key                             */
    ST_AFTER,        /* after a value: ',' or the container's end (or the end)    */
    ST_DONE,
    ST_FAILED
};

void swan_js_init(swan_js *s, const char *text, size_t len) {
    memset(s, 0, sizeof *s);
    s->text = text;
    s->len = len;
    s->state = ST_VALUE;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) s->pos = 3;
}

static swan_js_tok fail(swan_js *s, const char *what) {
    s->state = ST_FAILED;
    s->err_pos = s->pos;
    s->err_what = what;
    return SWAN_JS_ERROR;
}

static void skip_ws(swan_js *s) {
    const char *t = s->text;
    size_t p = s->pos, n = s->len;
    while (p < n && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) p++;
    s->pos = p;
}

static bool top_is_object(const swan_js *s) {
    int d = s->depth - 1;
    return (s->is_object[d >> 3] >> (d & 7)) & 1;
}

static swan_js_tok push(swan_js *s, bool object) {
    if (s->depth >= SWAN_JS_MAX_DEPTH) return fail(s, "nested too deeply");
    int d = s->depth++;
    if (object) s->is_object[d >> 3] |= (unsigned char)(1u << (d & 7));
    else s->is_object[d >> 3] &= (unsigned char)~(1u << (d & 7));
    s->pos++;
    s->state = object ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
    return object ? SWAN_JS_OBJECT : SWAN_JS_ARRAY;
}

static swan_js_tok pop(swan_js *s) {
    bool object = top_is_object(s);
    s->depth--;
    s->pos++;
    s->state = s->depth ? ST_AFTER : ST_DONE;
    return object ? SWAN_JS_OBJECT_END : SWAN_JS_ARRAY_END;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* At the opening quote: validates the string, sets tok/tok_len/tok_escaped. */
static int scan_string(swan_js *s) {
    const unsigned char *t = (const unsigned char *)s->text;
    size_t p = s->pos + 1, n = s->len;
    s->tok = s->text + p;
    s->tok_escaped = false;
    for (;;) {
        /* the common case: printable ASCII */
        while (p < n && t[p] >= 0x20 && t[p] < 0x80 && t[p] != '"' && t[p] != '\\') p++;
        if (p >= n) {
            s->pos = p;
            fail(s, "unterminated string");
            return -1;
        }
        unsigned c = t[p];
        if (c == '"') break;
        if (c == '\\') {
            s->tok_escaped = true;
            if (p + 1 >= n) {
                s->pos = p;
                fail(s, "unterminated string");
                return -1;
            }
            char e = (char)t[p + 1];
            if (strchr("\"\\/bfnrt", e) && e) {
                p += 2;
                continue;
            }
            unsigned u, lo;
            if (e != 'u' || p + 6 > n || hex4((const char *)t + p + 2, &u) != 0) {
                s->pos = p;
                fail(s, "invalid escape");
                return -1;
            }
            if (u >= 0xDC00 && u <= 0xDFFF) {
                s->pos = p;
                fail(s, "unpaired surrogate escape");
                return -1;
            }
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (p + 12 > n || t[p + 6] != '\\' || t[p + 7] != 'u' ||
                    hex4((const char *)t + p + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    s->pos = p;
                    fail(s, "unpaired surrogate escape");
                    return -1;
                }
                p += 12;
            } else {
                p += 6;
            }
            continue;
        }
        if (c < 0x20) {
            s->pos = p;
            fail(s, "control character in a string");
            return -1;
        }
        size_t k = swan_utf8_seq_len(t + p, n - p);
        if (k == 0) {
            s->pos = p;
            fail(s, "invalid UTF-8");
            return -1;
        }
        p += k;
    }
    s->tok_len = (size_t)(s->text + p - s->tok);
    s->pos = p + 1;
    return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int scan_number(swan_js *s) {
    const char *t = s->text;
    size_t p = s->pos, n = s->len, start = p;
    if (p < n && t[p] == '-') p++;
    if (p < n && t[p] == '0') p++;
    else if (p < n && t[p] >= '1' && t[p] <= '9')
        while (p < n && is_digit(t[p])) p++;
    else goto bad;
    if (p < n && t[p] == '.') {
        p++;
        if (!(p < n && is_digit(t[p]))) goto bad;
        while (p < n && is_digit(t[p])) p++;
    }
    if (p < n && (t[p] == 'e' || t[p] == 'E')) {
        p++;
        if (p < n && (t[p] == '+' || t[p] == '-')) p++;
        if (!(p < n && is_digit(t[p]))) goto bad;
        while (p < n && is_digit(t[p])) p++;
    }
    if (p - start > SWAN_JS_MAX_NUMBER) {
        fail(s, "number longer than 63 characters");
        return -1;
    }
    s->tok = t + start;
    s->tok_len = p - start;
    s->tok_escaped = false;
    s->pos = p;
    return 0;
bad:
    s->pos = p;
    fail(s, "invalid number");
    return -1;
}

static swan_js_tok literal(swan_js *s, const char *word, swan_js_tok tok) {
    size_t k = strlen(word);
    if (s->len - s->pos < k || memcmp(s->text + s->pos, word, k) != 0)
        return fail(s, "invalid literal");
    s->pos += k;
    s->state = s->depth ? ST_AFTER : ST_DONE;
    return tok;
}

static swan_js_tok value(swan_js *s) {
    if (s->pos >= s->len) return fail(s, "unexpected end");
    char c = s->text[s->pos];
    switch (c) {
    case '{': return push(s, true);
    case '[': return push(s, false);
    case '"':
        if (scan_string(s)) return SWAN_JS_ERROR;
        s->state = s->depth ? ST_AFTER : ST_DONE;
        return SWAN_JS_STRING;
    case 't': return literal(s, "true", SWAN_JS_TRUE);
    case 'f': return literal(s, "false", SWAN_JS_FALSE);
    case 'n': return literal(s, "null", SWAN_JS_NULL);
    default:
        if (c == '-' || is_digit(c)) {
            if (scan_number(s)) return SWAN_JS_ERROR;
            s->state = s->depth ? ST_AFTER : ST_DONE;
            return SWAN_JS_NUMBER;
        }
        return fail(s, "unexpected character");
    }
}

static swan_js_tok key(swan_js *s) {
    if (s->pos >= s->len) return fail(s, "unexpected end");
    if (s->text[s->pos] != '"') return fail(s, "expected a member name");
    if (scan_string(s)) return SWAN_JS_ERROR;
    skip_ws(s);
    if (s->pos >= s->len || s->text[s->pos] != ':') return fail(s, "expected ':'");
    s->pos++;
    s->state = ST_VALUE;
    return SWAN_JS_KEY;
}

swan_js_tok swan_js_next(swan_js *s) {
    for (;;) {
        if (s->state == ST_FAILED) return SWAN_JS_ERROR;
        if (s->state == ST_DONE) return SWAN_JS_END;
        skip_ws(s);
        switch (s->state) {
        case ST_VALUE: return value(s);
        case ST_KEY: return key(s);
        case ST_OBJECT_FIRST:
            if (s->pos < s->len && s->text[s->pos] == '}') return pop(s);
            return key(s);
        case ST_ARRAY_FIRST:
            if (s->pos < s->len && s->text[s->pos] == ']') return pop(s);
            return value(s);
        default: /* ST_AFTER: depth > 0 */
            if (s->pos >= s->len) return fail(s, "unexpected end");
            char c = s->text[s->pos];
            bool object = top_is_object(s);
            if (c == ',') {
                s->pos++;
                s->state = object ? ST_KEY : ST_VALUE;
                continue;
            }
            if (c == (object ? '}' : ']')) return pop(s);
            return fail(s, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

int swan_js_skip(swan_js *s, swan_js_tok first) {
    if (first == SWAN_JS_ERROR) return -1;
    if (first != SWAN_JS_OBJECT && first != SWAN_JS_ARRAY) return 0;
    int target = s->depth - 1;
    for (;;) {
        swan_js_tok t = swan_js_next(s);
        if (t == SWAN_JS_ERROR) return -1;
        if ((t == SWAN_JS_OBJECT_END || t == SWAN_JS_ARRAY_END) && s->depth == target) return 0;
    }
}

static size_t put_utf8(char *d, unsigned cp) {
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t swan_js_decode(const swan_js *s, char *dst, bool *has_nul) {
    const char *p = s->tok, *end = s->tok + s->tok_len;
    *has_nul = false;
    if (!s->tok_escaped) {
        memmove(dst, p, s->tok_len); /* dst may be the token itself (decoding in place) */
        dst[s->tok_len] = '\0';
        return s->tok_len;
    }
    char *d = dst;
    while (p < end) {
        if (*p != '\\') {
            *d++ = *p++;
            continue;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            unsigned u = 0, lo = 0;
            hex4(p, &u); /* validated by scan_string */
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                hex4(p + 2, &lo);
                p += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (u == 0) *has_nul = true;
            d += put_utf8(d, u);
            break;
        }
        default: *d++ = e; break; /* " \ / */
        }
    }
    *d = '\0';
    return (size_t)(d - dst);
}

bool swan_js_equals(const swan_js *s, const char *lit) {
    size_t k = strlen(lit);
    if (!s->tok_escaped) return s->tok_len == k && memcmp(s->tok, lit, k) == 0;
    /* An escape is 2..12 bytes for 1..4 decoded ones: a longer token cannot match. */
    char buf[256];
    if (s->tok_len >= sizeof buf || s->tok_len > 6 * k) return false;
    bool nul;
    size_t n = swan_js_decode(s, buf, &nul);
    return !nul && n == k && memcmp(buf, lit, k) == 0;
}

double swan_js_double(const swan_js *s) {
    char buf[SWAN_JS_MAX_NUMBER + 1];
    memcpy(buf, s->tok, s->tok_len);
    buf[s->tok_len] = '\0';
    return strtod(buf, NULL);
}

bool swan_js_uint53(const swan_js *s, uint64_t *out) {
    /* Plain digits (the usual form) need no strtod: up to 15 digits are < 2^53. */
    size_t n = s->tok_len;
    if (n <= 15) {
        uint64_t v = 0;
        size_t i = 0;
        for (; i < n && is_digit(s->tok[i]); i++) v = v * 10 + (uint64_t)(s->tok[i] - '0');
        if (i == n) {
            *out = v;
            return true;
        }
    }
    double d = swan_js_double(s);
    if (!isfinite(d) || d < 0 || d >= 9007199254740992.0 || floor(d) != d) return false;
    *out = (uint64_t)d;
    return true;
}
