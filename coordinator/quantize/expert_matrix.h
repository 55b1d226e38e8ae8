/* expert_matrix.h: the source matrices of one output tensor of a quantized MLX model,
 * as the writer (mlx_writer.c) reads them.
 *
 * An output tensor of the layout (mlx_layout.h) has one source matrix per expert (one
 * for a plain tensor): usually a 2-D tensor of the checkpoint, read whole; for packed
 * 3-D experts (swan_qpacked) a slice of one expert of the 3-D tensor, transposed when
 * the checkpoint stores it [E, in, out], so that what comes out is the [out, in]
 * matrix mlx_lm's SwitchLinear holds. Quantized modules read it as float32 tiles
 * (swan_expert_matrix_open, for worker/quantize.c's kernel); kept ones copy its stored
 * bytes unchanged in output order (swan_expert_matrix_copy: no float round trip, so
 * every bit of the source survives). Memory: one tile (transposed: twice) or one
 * bounded row block, whatever the tensor size. */
#ifndef SWAN_EXPERT_MATRIX_H
#define SWAN_EXPERT_MATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/quantize/mlx_layout.h"
#include "worker/tensor_reader.h"

typedef struct swan_expert_matrix {
    swan_tensor_reader tr;
    swan_tile_reader src;   /* the stored rows (the whole expert when transposed)    */
    swan_tile_reader rd;    /* what the kernel reads: rows x cols of the output      */
    const swan_qpacked *packed;
    float *scratch;         /* transposed reads: the source tile before transposing  */
    size_t scratch_floats;
} swan_expert_matrix;

/* Opens source matrix e of output tensor t (0 <= e < t->nsrc); m->rd is then its
 * tile reader. m must stay in place until closed (rd's ctx points into it). */
int swan_expert_matrix_open(swan_expert_matrix *m, const swan_checkpoint *ck, const swan_qtensor *t,
                            uint32_t e, swan_error *err);
void swan_expert_matrix_close(swan_expert_matrix *m);

/* Writes the stored bytes of expert e of a kept packed tensor t (t->packed.on) in
 * output order to fd at offset at, through buf (cap bytes, at least one output row). */
int swan_expert_matrix_copy(const swan_checkpoint *ck, const swan_qtensor *t, uint32_t e, int fd,
                            uint64_t at, char *buf, size_t cap, swan_error *err);

#endif
