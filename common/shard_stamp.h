/* shard_stamp.h: what binds a result to the shard file it was computed from.
 *
 * A stamp is a shard's size, modification time (nanoseconds where the platform has
 * them) and the XXH64 of its header bytes [0, data_start). The coordinator stamps
 * every shard when it opens the checkpoint (checkpoint.c), writes the stamps into the
 * journal header, re-checks them on resume (a shard rewritten since is named and the
 * resume refused) and again at the end of the run before writing any output (a shard
 * rewritten during the run fails it). Tensor bytes themselves are bound by the
 * per-tensor data checksum the workers return (raw_metrics.data_hash). */
#ifndef SWAN_SHARD_STAMP_H
#define SWAN_SHARD_STAMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/error.h"

typedef struct swan_shard_stamp {
    uint64_t size;
    int64_t mtime_ns;     /* seconds * 1e9 + nanoseconds since the epoch */
    uint64_t header_hash; /* XXH64 (seed 0) of bytes [0, header_bytes)    */
} swan_shard_stamp;

/* Size and mtime of an fstat result. */
void swan_stamp_from_stat(const struct stat *st, swan_shard_stamp *out);

/* Stamps path now: opens it (regular files only, never blocking), fstats it and
 * hashes its first header_bytes bytes. */
int swan_shard_stamp_read(const char *path, uint64_t header_bytes, swan_shard_stamp *out,
                          swan_error *err);

/* Equal stamps; otherwise *what names the first difference ("size", "modification
 * time", "header"). */
bool swan_shard_stamp_equal(const swan_shard_stamp *a, const swan_shard_stamp *b,
                            const char **what);

#endif
