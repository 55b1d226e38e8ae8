/* checkpoint.h: a model checkpoint (any input format) as a validated tensor table.
 *
 * The input format is chosen when the checkpoint is opened and recorded in it:
 * - safetensors (common/formats/safetensors.c): a Hugging Face directory; reads
 *   model.safetensors.index.json and exactly the shards it names (a stray
 *   consolidated.safetensors is not counted twice), or every *.safetensors file when
 *   there is no index. FP8 weights are paired with their scale tensors here
 *   (common/formats/fp8.h).
 * - GGUF (common/formats/gguf.c): one .gguf file, or a folder holding one model split
 *   into -00001-of-0000N.gguf parts. Shapes are row-major like safetensors ones.
 * Every header is validated before any work starts; any problem fails the whole open
 * with one line naming the file (and tensor or key). Only headers are read: the
 * coordinator never maps tensor data. A later format is one new file in
 * common/formats/ and one branch in swan_checkpoint_open. */
#ifndef SWAN_CHECKPOINT_H
#define SWAN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "common/error.h"
#include "common/formats/gguf.h"
#include "common/shard_stamp.h"
#include "common/view2d.h"

typedef enum swan_format {
    SWAN_FORMAT_SAFETENSORS = 0,
    SWAN_FORMAT_GGUF
} swan_format;

const char *swan_format_name(swan_format f); /* "safetensors", "gguf" */

typedef struct swan_shard {
    char *file;          /* name relative to the model dir, as in the index  */
    char *path;          /* full path used to open it                        */
    uint64_t size;       /* file size in bytes                               */
    uint64_t data_start; /* where tensor offsets count from (safetensors: 8 +
                            header length; GGUF: the aligned data section)    */
    swan_shard_stamp stamp; /* size, mtime and hash of [0, data_start) when the
                               checkpoint was opened (common/shard_stamp.h)      */
} swan_shard;

typedef struct swan_tensor {
    char *name;
    uint32_t shard;      /* index into swan_checkpoint.shards                */
    swan_dtype dtype;
    int ndim;
    uint64_t shape[SWAN_MAX_DIMS];
    uint64_t nelem;
    uint64_t offset;     /* absolute byte offset of the data in the shard    */
    uint64_t nbytes;
    /* FP8 weights (dtype F8_*): analyzed through their scales. has_scale says
     * scale_index (into swan_checkpoint.tensors) is the scale tensor; each scale
     * covers block_rows x block_cols elements of the [nelem/W, W] storage matrix (W the
     * last dimension); a per-tensor scale has one block covering everything. */
    uint8_t has_scale;
    uint8_t is_scale;    /* this tensor holds some FP8 weight's scales        */
    uint32_t scale_index;
    uint64_t block_rows, block_cols;
} swan_tensor;

typedef struct swan_checkpoint {
    swan_format format;
    char *dir;           /* the model directory, or the .gguf file given      */
    char *config_json;   /* config.json text, or NULL when absent/invalid    */
    int has_index;
    swan_shard *shards;
    size_t nshards;
    swan_tensor *tensors; /* sorted by shard, then by offset                 */
    size_t ntensors;
    size_t ignored_tensors; /* in a named shard but not in the index's weight_map */
    /* FP8: the block size of `<name>_scale_inv` scales (config.json
     * quantization_config.weight_block_size, 128x128 when absent), how many FP8
     * weights have block scales, a per-tensor scale, one scale per row. */
    uint64_t fp8_block_rows, fp8_block_cols;
    size_t fp8_block_scaled, fp8_tensor_scaled, fp8_channel_scaled;
    swan_gguf_info gguf;  /* GGUF only: the metadata worth showing            */
    /* Where the tensor names live: every tensors[i].name points into one of these
     * blocks (the index's names, a shard header's text cut down to its names, or
     * copies made by swan_checkpoint_keep_name), so a million names cost their bytes
     * and not a million allocations. Freed with the checkpoint. */
    char **name_blocks;
    size_t nname_blocks;
    char *name_next;      /* free space at the end of the last block ...        */
    size_t name_room;     /* ... and how many bytes of it                       */
} swan_checkpoint;

/* path: a model directory (safetensors, or a split GGUF) or a .gguf file. */
int swan_checkpoint_open(const char *path, swan_checkpoint *out, swan_error *err);

/* What the plan does with tensor t (and, for SWAN_KIND_MATRIX, its 2-D view; view may
 * be NULL): the one place deciding analyzed / kept / scale, used by planning,
 * inspect and the manifest alike. */
swan_tensor_kind swan_tensor_classify(const swan_tensor *t, swan_view2d *view);
void swan_checkpoint_free(swan_checkpoint *ck);

/* A copy of name[0..len) (plus a NUL) kept in ck's name blocks, for a tensor name
 * of ck; NULL when out of memory (err set). */
char *swan_checkpoint_keep_name(swan_checkpoint *ck, const char *name, size_t len,
                                swan_error *err);

/* FP8 weight t (has_scale): the scale grid as the checkpoint validated it, exactly
 * ceil(R / block_rows) x ceil(W / block_cols) values, R x W the weight's storage matrix
 * (W its last dimension). Used by the scheduler (task items) and by swan verify. */
void swan_tensor_scale_grid(const swan_tensor *t, uint64_t *rows, uint64_t *cols);

/* Sum of nbytes over all tensors. */
uint64_t swan_checkpoint_bytes(const swan_checkpoint *ck);

#endif
