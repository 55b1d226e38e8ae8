/* safetensors.h: parse and validate one safetensors header.
 *
 * Pure function of the header bytes and the file size, so it is unit-testable on
 * hostile inputs without files. Validation follows SWAN-METRICS.md section 1: known
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

/* Parses `len` bytes of header JSON for a file of file_size bytes. On error *out is
 * left empty and err names the tensor and the problem (not the file: callers prefix). */
int swan_st_parse(const char *json, size_t len, uint64_t file_size,
                  swan_st_header *out, swan_error *err);

/* Opens path, reads and parses its header (pread, no mapping of the data). */
int swan_st_read_file(const char *path, swan_st_header *out, uint64_t *file_size,
                      swan_error *err);

void swan_st_header_free(swan_st_header *h);

#endif
