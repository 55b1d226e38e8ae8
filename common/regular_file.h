/* regular_file.h: open a file only if it is a regular file, without ever blocking.
 *
 * A plain open() of a FIFO named in a checkpoint index (or put where a shard, the
 * journal or config.json should be) blocks forever waiting for a writer; a device
 * node could do worse. Every input file swan reads goes through swan_open_regular:
 * open with O_NONBLOCK (returns at once whatever the file is), fstat, refuse anything
 * but a regular file, then clear O_NONBLOCK so reads behave normally. Symbolic links
 * are followed on purpose: the Hugging Face cache is made of them. */
#ifndef SWAN_REGULAR_FILE_H
#define SWAN_REGULAR_FILE_H

#include <stddef.h>
#include <sys/stat.h>

#include "common/error.h"

/* Opens path read-only; on success returns the fd and fills *st (may be NULL). On
 * failure returns -1 and err says "PATH: not a regular file (a FIFO)" or the errno. */
int swan_open_regular(const char *path, struct stat *st, swan_error *err);

/* The whole of a regular file (opened as above), NUL-terminated, in one malloc the
 * caller frees; its length in *len (may be NULL). NULL and err set on any failure.
 * For the small text files swan reads back (tensors.json, a manifest). */
char *swan_read_regular_file(const char *path, size_t *len, swan_error *err);

#endif
