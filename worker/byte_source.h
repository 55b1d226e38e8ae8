/* byte_source.h: where the tensor reader gets a tensor's stored bytes from.
 *
 * tensor_reader.c turns stored bytes into float32 tiles, a data checksum and FP8
 * scales; it does not care whether those bytes sit in a local shard file or come
 * over the network. A byte source serves two parts of one task item: the tensor's
 * bytes (SWAN_PART_DATA) and, for FP8 weights, the scale grid's (SWAN_PART_SCALES),
 * each addressed from the start of the part. Two implementations:
 *   - the file source below: windows of a memory-mapped shard, pread for scattered
 *     rows (what local workers and `swan verify` use);
 *   - the stream source (worker_stream.h): bytes asked from the coordinator in
 *     chunks under a credit window (workers without the model, `--stream`).
 * One view is open at a time; the reader releases it before asking for the next. */
#ifndef SWAN_BYTE_SOURCE_H
#define SWAN_BYTE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum { SWAN_SRC_DATA = 0, SWAN_SRC_SCALES = 1 }; /* = swan_stream_part on the wire */

typedef struct swan_byte_source {
    /* Makes bytes [off, off+len) of part readable at *at until release(). */
    int (*view)(void *ctx, int part, uint64_t off, uint64_t len, const unsigned char **at,
                swan_error *err);
    void (*release)(void *ctx);
    /* Copies nrows runs of run_bytes, run i starting at off + i*stride of part, to dst
     * one after the other (a column panel: the same columns of consecutive rows). */
    int (*gather)(void *ctx, int part, uint64_t off, uint64_t run_bytes, uint64_t stride,
                  uint64_t nrows, unsigned char *dst, swan_error *err);
    void *ctx;
} swan_byte_source;

/* The file source: part p is the bytes from base[p] of file fd[p] (fds owned by the
 * caller; -1 for a part not set). */
typedef struct swan_file_source {
    int fd[2];
    uint64_t base[2];
    void *map;              /* the open view's mapping, or NULL */
    size_t map_len;
} swan_file_source;

/* Sets up fs over the tensor's data at data_offset of data_fd and fills *src with it
 * (src->ctx points at fs: keep fs in place). */
void swan_file_source_init(swan_file_source *fs, swan_byte_source *src, int data_fd,
                           uint64_t data_offset);

/* Where the scales part is (FP8): scale_offset of scale_fd. */
void swan_file_source_set_scales(swan_file_source *fs, int scale_fd, uint64_t scale_offset);

#endif
