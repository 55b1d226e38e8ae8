/* safetensors.h: parse and validate one safetensors header.
 *
 * Pure function of the header bytes and the file size, so it is unit-testable on
 * hostile inputs without files. The checkpoint reads through swan_st_scan_file,
 * which hands each entry to it as it is parsed (no table of its own); swan_st_parse
 * and swan_st_read_file build a table, for tests and tools. Validation follows SWAN-METRICS.md section 1: known
 * dtype, shape product without overflow, end-begin == product * element size, every
 * tensor inside the file, no two tensors overlapping. */
#ifndef SWAN_SAFETENSORS_H
#define SWAN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "common/view2d.h"

/* Larger headers are refused: real ones are a few MB even for 100k tensors, and the
 * safetensors reference implementation applies the same limit (MAX_HEADER_SIZE,
 * 100,000,000 bytes), so no file it accepts is refused here. */
#define SWAN_ST_MAX_HEADER 100000000u

typedef struct swan_st_entry {
    char *name;
    swan_dtype dtype;
    int ndim;
    uint64_t shape[SWAN_MAX_DIMS];
    uint64_t nelem;
    uint64_t begin, end; /* relative to the data section (byte 8 + header_len) */
} swan_st_entry;

typedef struct swan_st_header {
    uint64_t header_len;   /* N, the JSON length                  */
    uint64_t data_start;   /* 8 + N: absolute offset of offset 0  */
    swan_st_entry *entries;
    size_t count;
} swan_st_header;

/* Reads the 8-byte length prefix. Fails if it cannot possibly fit file_size or
 * exceeds SWAN_ST_MAX_HEADER. */
int swan_st_header_length(const unsigned char prefix[8], uint64_t file_size,
                          uint64_t *header_len, swan_error *err);

/* Receives every tensor entry of a header once it is validated, in header order.
 * e->name is decoded in place in the header text and stays valid as long as the text.
 * A nonzero return (err set) fails the parse with that error. The parse may still
 * fail after entries were handed out (a later entry, duplicates, overlaps): what the
 * sink kept must then be dropped. */
typedef int (*swan_st_sink)(void *ctx, const swan_st_entry *e, swan_error *err);

/* The parser itself: `len` bytes of header JSON (json[len] must be '\0') of a file of
 * file_size bytes, entries to sink. json is changed in place: each tensor name is
 * decoded over its key, so a caller keeping names keeps the text, no copies. Errors
 * name the tensor and the problem (not the file: callers prefix). */
int swan_st_scan(char *json, size_t len, uint64_t file_size, swan_st_sink sink, void *ctx,
                 swan_error *err);

/* Opens path (regular file, never blocking) and scans its header to sink. On success
 * *text is the header text holding the names the sink saw (the caller frees it), and
 * *file_size and *data_start (8 + header length) are set; on error *text is NULL and
 * err starts with the path. */
int swan_st_scan_file(const char *path, swan_st_sink sink, void *ctx, char **text,
                      uint64_t *file_size, uint64_t *data_start, swan_error *err);

/* Parses `len` bytes of header JSON for a file of file_size bytes into a table of
 * entries, each with its own name. On error *out is left empty and err names the
 * tensor and the problem (not the file: callers prefix). */
int swan_st_parse(const char *json, size_t len, uint64_t file_size,
                  swan_st_header *out, swan_error *err);

/* Opens path, reads and parses its header (pread, no mapping of the data) into a
 * table as swan_st_parse does. */
int swan_st_read_file(const char *path, swan_st_header *out, uint64_t *file_size,
                      swan_error *err);

void swan_st_header_free(swan_st_header *h);

#endif
