/* json_scan.h: a strict pull tokenizer over JSON text held in memory.
 *
 * Used where a document can be huge and hostile (safetensors headers up to 100 MB,
 * the index's weight_map, the journal): callers pull one token at a time and keep
 * only what they need, so parsing costs no tree (cJSON spent ~10x the text on one).
 * The scanner enforces the whole grammar (RFC 8259): commas, colons, keys only in
 * objects, strict numbers, strict whitespace, string escapes (surrogate pairs
 * checked), no raw control bytes in strings, valid UTF-8, nesting at most
 * SWAN_JS_MAX_DEPTH (cJSON's limit). Number tokens longer than 63 characters are
 * refused, as cJSON refused them. Any violation ends the scan with SWAN_JS_ERROR and
 * the byte offset where it was found; the scanner never reads outside [text, text+len)
 * and allocates nothing. */
#ifndef SWAN_JSON_SCAN_H
#define SWAN_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWAN_JS_MAX_DEPTH 1000
#define SWAN_JS_MAX_NUMBER 63

typedef enum swan_js_tok {
    SWAN_JS_END = 0,    /* the top-level value is complete (trailing bytes not read) */
    SWAN_JS_OBJECT,     /* '{' */
    SWAN_JS_OBJECT_END, /* '}' */
    SWAN_JS_ARRAY,      /* '[' */
    SWAN_JS_ARRAY_END,  /* ']' */
    SWAN_JS_KEY,        /* a member name; the ':' is consumed */
    SWAN_JS_STRING,
    SWAN_JS_NUMBER,
    SWAN_JS_TRUE,
    SWAN_JS_FALSE,
    SWAN_JS_NULL,
    SWAN_JS_ERROR
} swan_js_tok;

typedef struct swan_js {
    const char *text;
    size_t len;
    size_t pos;        /* next byte to read                                    */
    int state;         /* what may come next (json_scan.c)                      */
    int depth;         /* open containers                                      */
    unsigned char is_object[SWAN_JS_MAX_DEPTH / 8 + 1]; /* one bit per level     */
    /* The last KEY/STRING (bytes between the quotes, still escaped) or NUMBER. */
    const char *tok;
    size_t tok_len;
    bool tok_escaped;  /* the string has a backslash: decode before comparing  */
    size_t err_pos;    /* SWAN_JS_ERROR: where                                 */
    const char *err_what;
} swan_js;

/* Skips a UTF-8 byte order mark at the start, as cJSON did. */
void swan_js_init(swan_js *s, const char *text, size_t len);
swan_js_tok swan_js_next(swan_js *s);

/* Skips the rest of a value whose first token was `first` (a scalar is already
 * complete; a container is read up to its end). 0, or -1 on a scan error. */
int swan_js_skip(swan_js *s, swan_js_tok first);

/* The current KEY/STRING decoded into dst, which holds at least tok_len + 1 bytes
 * (decoding never grows a string), NUL-terminated; returns its length. *has_nul is
 * set when it contains a \u0000 (which a C string cannot hold). */
size_t swan_js_decode(const swan_js *s, char *dst, bool *has_nul);

/* The current KEY/STRING equals lit (after decoding). */
bool swan_js_equals(const swan_js *s, const char *lit);

/* The current NUMBER as an exact integer in [0, 2^53): the value, read as a double,
 * must be a whole number (1e3 and 2.0 count, 2.5 and 2^53 do not). */
bool swan_js_uint53(const swan_js *s, uint64_t *out);

/* The current NUMBER as a double (strtod of the token). */
double swan_js_double(const swan_js *s);

#endif
