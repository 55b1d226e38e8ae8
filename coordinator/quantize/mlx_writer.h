/* mlx_writer.h: writes the quantized MLX model folder a swan_qlayout describes.
 *
 * Order, so that nothing looks complete before it is: each shard is written under
 * NAME.tmp (mlx_lm loads `model*.safetensors`, which a .tmp name does not match),
 * synced and renamed; then config.json (with `quantization` and the same dict as
 * `quantization_config`) and the tokenizer/generation files; the index
 * model.safetensors.index.json is renamed into place last: the folder is complete
 * exactly when the index exists.
 *
 * Workers quantize (map-reduce, docs/protocol.md "Quantizing"): every quantized
 * module is a task for the `swan worker` processes this starts (`jobs` of them, on a
 * private ipc endpoint) and for workers of other hosts on `listen`; they read the
 * source tensors with their tile reader (their files, or bytes streamed from here),
 * quantize them (worker/quantize.c) and send the packed weight, scales and biases in
 * QCHUNKs that the scheduler checks and this writes at offsets fixed by the layout.
 * So the bytes do not depend on the order of the work or on who did it: -j 1, -j N
 * and remote workers give the same folder. Kept tensors are copied here. Memory of
 * this process: a 4 MiB buffer, the layout, and at most SWAN_QCHUNK_WINDOW chunks per
 * worker; of each worker: one row block of 4 MiB of float32 and its chunks.
 *
 * Resumable (quantize_journal.h): every finished unit is journaled with the XXH64 of
 * its bytes as read back from the shard (after checking each item's bytes against
 * its worker's hashes); an interrupted or failed run keeps its .tmp shards and
 * journal, and the same command run again re-checks the journaled units' bytes,
 * writes only the others and ends with the same bytes as an uninterrupted run. */
#ifndef SWAN_MLX_WRITER_H
#define SWAN_MLX_WRITER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/quantize/mlx_layout.h"

typedef struct swan_mlx_write_opts {
    const char *argv0;           /* to find the executable local workers run      */
    int jobs;                    /* local workers (0: only remote ones, --listen) */
    const char *listen;          /* also accept workers here (tcp://...), or NULL */
    const char *curve_secret;    /* coordinator's key file (CURVE), with allow    */
    const char *allow;           /* admitted worker keys                          */
    bool insecure;               /* plain TCP off loopback accepted               */
    double worker_timeout;       /* seconds of silence (0: 120)                   */
    volatile sig_atomic_t *stop; /* set by a signal: stop the run (or NULL)       */
    int delay_ms;                /* tests: sleep before each unit journaled       */
    /* Lines about workers (joins, leaves, refusals) and the listening endpoint: the
     * command prints them; NULL drops them. */
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
} swan_mlx_write_opts;

typedef struct swan_mlx_write_stats {
    size_t units;                /* quantized modules and kept tensors            */
    size_t resumed;              /* of those, found finished by the journal       */
} swan_mlx_write_stats;

#define SWAN_MLX_WRITE_STOPPED 1 /* swan_mlx_write's status when *stop was set  */

/* 0 done (index in place), SWAN_MLX_WRITE_STOPPED, or -1 with err set. */
int swan_mlx_write(const swan_checkpoint *ck, const swan_qlayout *l, const char *out_dir,
                   const swan_mlx_write_opts *o, swan_mlx_write_stats *stats, swan_error *err);

#endif
