/* json_writer.h: a small streaming JSON writer over a FILE*.
 *
 * The manifest of a 100,000-tensor checkpoint would cost hundreds of MB as a cJSON
 * tree; writing it as a stream keeps the coordinator's memory flat. The writer
 * tracks nesting and commas, escapes strings (invalid UTF-8 becomes U+FFFD), and
 * prints doubles so they read back identically (the shortest of %.15g..%.17g that
 * round-trips); non-finite doubles become null (JSON has no NaN). Errors are
 * sticky: check swan_jw_error() once at the end. */
#ifndef SWAN_JSON_WRITER_H
#define SWAN_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SWAN_JW_MAX_DEPTH 32

typedef struct swan_jw {
    FILE *f;
    int depth;
    bool first[SWAN_JW_MAX_DEPTH]; /* no element written yet at this level       */
    bool in_object[SWAN_JW_MAX_DEPTH]; /* level is an object (keys required)     */
    bool after_key;                /* a key was written, its value comes next     */
    int indent;                    /* spaces per level; 0 = compact               */
    bool failed;
    char buf[8192];                /* pending output, written to f when full and
                                      when the document is complete               */
    size_t blen;
    int double_digits;             /* 0: shortest exact form (default); N: %.Ng,
                                      e.g. 17 = exact and fast, 10 = compact      */
    bool html_safe;                /* "</" in strings written "<\/" (the same JSON
                                      string), for JSON inside an HTML <script>    */
} swan_jw;

void swan_jw_init(swan_jw *w, FILE *f, int indent);
void swan_jw_object_begin(swan_jw *w);
void swan_jw_object_end(swan_jw *w);
void swan_jw_array_begin(swan_jw *w);
void swan_jw_array_end(swan_jw *w);
void swan_jw_key(swan_jw *w, const char *key);
void swan_jw_string(swan_jw *w, const char *s);
void swan_jw_double(swan_jw *w, double v);
void swan_jw_int(swan_jw *w, int64_t v);
void swan_jw_uint(swan_jw *w, uint64_t v);
void swan_jw_bool(swan_jw *w, bool v);
void swan_jw_null(swan_jw *w);
/* key + value in one call, for the many flat fields of a manifest or journal. */
void swan_jw_key_double(swan_jw *w, const char *key, double v);
void swan_jw_key_uint(swan_jw *w, const char *key, uint64_t v);
void swan_jw_key_string(swan_jw *w, const char *key, const char *s);
/* Writes already-serialized JSON text as a value (e.g. config.json re-emitted). */
void swan_jw_raw(swan_jw *w, const char *json);
/* True if any write failed or nesting broke (incl. a container still open, so call
 * it after the last end). One writer writes one document. */
bool swan_jw_error(const swan_jw *w);

#endif
