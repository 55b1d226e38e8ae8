/* gguf.h: parse and validate one GGUF file's header (llama.cpp's model format).
 *
 * GGUF v2/v3 (little-endian): "GGUF", version, tensor count, metadata count, the
 * metadata key/value pairs, the tensor infos, padding to general.alignment, then the
 * data section. Parsing is as strict as for safetensors, because a file is untrusted
 * input: counts, string and array lengths are bounded by what the file can hold,
 * value types must be known, tensor offsets must be aligned, inside the file and not
 * overlapping, and each size must match dims x type. GGUF lists dimensions innermost
 * first; entries here hold the row-major shape (reversed), like safetensors ones.
 * Parses from memory (unit tests of hostile headers) or from a file through a small
 * pread buffer (headers with a 150k-token vocabulary are several MB). */
#ifndef SWAN_GGUF_H
#define SWAN_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "common/view2d.h"

#define SWAN_GGUF_MAX_TENSORS (1u << 22)  /* tensor infos per file            */
#define SWAN_GGUF_MAX_KV (1u << 20)       /* metadata pairs per file          */
#define SWAN_GGUF_MAX_KEY 65535u          /* bytes in a key                   */
#define SWAN_GGUF_MAX_NAME 4095u          /* bytes in a tensor name           */
#define SWAN_GGUF_MAX_STRING (64u << 20)  /* bytes in a metadata string value */
#define SWAN_GGUF_MAX_DIMS 4              /* GGML_MAX_DIMS                    */
#define SWAN_GGUF_DEFAULT_ALIGNMENT 32u

/* What the rest of swan (inspect, outputs) wants to know about a GGUF model. */
typedef struct swan_gguf_info {
    uint32_t version;
    uint32_t alignment;      /* general.alignment, 32 when absent             */
    uint32_t nsplits;        /* files the model is split into (1 when whole)  */
    char architecture[64];   /* general.architecture, "" when absent          */
    int64_t block_count;     /* <architecture>.block_count, -1 when absent     */
    int64_t file_type;       /* general.file_type (llama_ftype), -1 if absent  */
} swan_gguf_info;

typedef struct swan_gguf_entry {
    char *name;
    swan_dtype dtype;
    uint32_t ggml_type;      /* the type number as stored                     */
    int ndim;
    uint64_t shape[SWAN_MAX_DIMS]; /* row-major: the GGUF dims reversed       */
    uint64_t nelem;
    uint64_t begin, end;     /* relative to data_start                        */
} swan_gguf_entry;

typedef struct swan_gguf_header {
    swan_gguf_info info;
    uint64_t data_start;     /* absolute offset of the data section            */
    int64_t split_no, split_count; /* split.no / split.count, -1 when absent   */
    int64_t split_tensors;   /* split.tensors.count: tensors in all parts, -1 */
    swan_gguf_entry *entries;
    size_t count;
} swan_gguf_header;

/* Parses a GGUF header held in memory: buf is the first len bytes of a file of
 * file_size bytes (len may stop anywhere after the tensor infos). On error *out is
 * left empty and err names the key or tensor and the problem (callers add the file). */
int swan_gguf_parse(const unsigned char *buf, size_t len, uint64_t file_size,
                    swan_gguf_header *out, swan_error *err);

/* Opens path and parses its header (pread, no mapping of the data). Errors start
 * with the path. */
int swan_gguf_read_file(const char *path, swan_gguf_header *out, uint64_t *file_size,
                        swan_error *err);

void swan_gguf_header_free(swan_gguf_header *h);

/* The swan dtype of a GGML type number; SWAN_DT_INVALID for unknown or removed ones. */
swan_dtype swan_gguf_dtype(uint32_t ggml_type);

/* "MOSTLY_Q4_K_M" for a general.file_type value; NULL when unknown. */
const char *swan_gguf_file_type_name(int64_t file_type);

#endif
