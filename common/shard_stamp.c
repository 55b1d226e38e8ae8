/* shard_stamp.c: see shard_stamp.h. */
#include "common/shard_stamp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/regular_file.h"

void swan_stamp_from_stat(const struct stat *st, swan_shard_stamp *out) {
    out->size = (uint64_t)st->st_size;
#if defined(__APPLE__)
    out->mtime_ns = (int64_t)st->st_mtimespec.tv_sec * 1000000000 + st->st_mtimespec.tv_nsec;
#else
    out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
#endif
}

int swan_shard_stamp_read(const char *path, uint64_t header_bytes, swan_shard_stamp *out,
                          swan_error *err) {
    struct stat st;
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    swan_stamp_from_stat(&st, out);
    int rc = 0;
    if (header_bytes > out->size) {
        rc = swan_error_set(err, "%s: now %llu bytes, shorter than its %llu-byte header", path,
                            (unsigned long long)out->size, (unsigned long long)header_bytes);
    } else {
        /* Streamed in 1 MiB pieces: a 100 MB header costs no 100 MB buffer. */
        size_t cap = 1u << 20;
        unsigned char *buf = malloc(cap);
        swan_xxh64_state hs;
        swan_xxh64_init(&hs, 0);
        uint64_t off = 0;
        if (!buf) rc = swan_error_set(err, "%s: out of memory", path);
        while (rc == 0 && off < header_bytes) {
            size_t want = header_bytes - off < cap ? (size_t)(header_bytes - off) : cap;
            ssize_t got = pread(fd, buf, want, (off_t)off);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                rc = swan_error_set(err, "%s: cannot read the header: %s", path,
                                    got < 0 ? strerror(errno) : "file shrank");
                break;
            }
            swan_xxh64_update(&hs, buf, (size_t)got);
            off += (uint64_t)got;
        }
        free(buf);
        out->header_hash = swan_xxh64_digest(&hs);
    }
    close(fd);
    return rc;
}

bool swan_shard_stamp_equal(const swan_shard_stamp *a, const swan_shard_stamp *b,
                            const char **what) {
    const char *w = NULL;
    if (a->size != b->size) w = "size";
    else if (a->mtime_ns != b->mtime_ns) w = "modification time";
    else if (a->header_hash != b->header_hash) w = "header";
    if (what) *what = w;
    return w == NULL;
}
