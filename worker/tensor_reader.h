/* tensor_reader.h: a swan_tile_reader over a tensor stored in a safetensors shard.
 *
 * Maps only the byte window a tile needs (and unmaps it after), so a worker's
 * resident memory stays bounded whatever the tensor size; converts the stored dtype
 * to float32 per tile. The 2-D view (common/view2d.h) decides which rows exist. */
#ifndef SWAN_TENSOR_READER_H
#define SWAN_TENSOR_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "common/view2d.h"
#include "worker/tile_reader.h"

typedef struct swan_tensor_reader {
    int fd;
    bool owns_fd;          /* close fd in swan_tensor_reader_close            */
    uint64_t file_size;
    uint64_t data_offset;  /* absolute byte offset of the tensor's first element */
    swan_dtype dtype;
    swan_view2d view;
} swan_tensor_reader;

/* Reads through an fd the caller keeps open (a worker reuses one per shard across
 * the tensors of a batch); path is only for messages. Checks that the tensor and
 * its view lie inside the file. */
int swan_tensor_reader_open_fd(swan_tensor_reader *tr, int fd, uint64_t file_size,
                               const char *path, uint64_t data_offset, uint64_t nbytes,
                               swan_dtype dtype, const swan_view2d *view, swan_error *err);

/* Opens path and checks that the whole tensor lies inside the file. */
int swan_tensor_reader_open(swan_tensor_reader *tr, const char *path, uint64_t data_offset,
                            uint64_t nbytes, swan_dtype dtype, const swan_view2d *view,
                            swan_error *err);
void swan_tensor_reader_close(swan_tensor_reader *tr);

/* Fills *r with a reader that reads through tr (tr must outlive r). */
void swan_tensor_reader_as_tiles(swan_tensor_reader *tr, swan_tile_reader *r);

#endif
