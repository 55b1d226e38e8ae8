/* map_guard.h: survive a shard that shrinks under the coordinator's mapping.
 *
 * The stream server (stream_server.c) hands ZeroMQ pointers into read-only mappings
 * of the shards, and ZeroMQ's I/O thread reads them later. If a shard is truncated in
 * between (a re-download, a user rewriting the model), touching a page past the new
 * end raises SIGBUS, which would kill the coordinator. A guarded range catches that:
 * the faulting page is replaced by a page of zeros, the range is marked damaged, and
 * the read goes on. The stream server checks the mark before each chunk and the
 * scheduler before it accepts any result, so the zeros never reach the journal: the
 * run fails naming the file, with the finished work kept.
 *
 * The SIGBUS handler is process-wide by nature (a signal has one handler), hence the
 * one fixed table here; faults outside every guarded range keep the default action.
 * docs/distributed.md, "A shard that changes while it is streamed". */
#ifndef SWAN_MAP_GUARD_H
#define SWAN_MAP_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef struct swan_map_guard swan_map_guard; /* one guarded range */

/* Guards [addr, addr + len) (a whole mapping, page-aligned). Installs the SIGBUS
 * handler the first time. Fails (NULL, err set) only when sigaction fails or more
 * than 4096 ranges are guarded at once; the stream server then does not stream that
 * shard rather than risk a crash. */
swan_map_guard *swan_map_guard_add(void *addr, size_t len, swan_error *err);

/* Whether a page of the range faulted (the file shrank under it). */
bool swan_map_guard_damaged(const swan_map_guard *g);

/* Stops guarding (before the range is unmapped). NULL is accepted. */
void swan_map_guard_remove(swan_map_guard *g);

#endif
