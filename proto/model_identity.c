/* model_identity.c: shard identities for the HELLO check (see model_identity.h).
 *
 * The header is the first 8 + N bytes of a safetensors file (N = the little-endian
 * length at its start) when that is a plausible size, else the first 64 KiB: any
 * format gets a fixed, checkable prefix. Sample offsets come from splitmix64 seeded
 * by the nonce and the shard's name, spread over the whole file, so a worker cannot
 * predict them and every region of a large shard is equally likely to be checked. */
#include "proto/model_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_MAX (100u * 1024 * 1024) /* safetensors headers are far below this */
#define PREFIX_FALLBACK (64u * 1024)

uint64_t swan_hash_bytes(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int read_at(int fd, void *buf, size_t len, uint64_t off) {
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

/* Hashes [0, len) of fd in 1 MiB reads. */
static int hash_prefix(int fd, uint64_t len, uint64_t *out) {
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    if (!buf) return -1;
    uint64_t h = SWAN_HASH_INIT;
    for (uint64_t off = 0; off < len;) {
        size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
        if (read_at(fd, buf, n, off)) {
            free(buf);
            return -1;
        }
        h = swan_hash_bytes(h, buf, n);
        off += n;
    }
    free(buf);
    *out = h;
    return 0;
}

int swan_shard_identity_compute(const char *path, const char *name, uint64_t nonce,
                                swan_shard_identity *out, swan_error *err) {
    memset(out, 0, sizeof *out);
    out->name = name;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT) return 0; /* absent: present = false */
        return swan_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return swan_error_set(err, "%s: not a regular file", path);
    }
    out->present = true;
    out->size = (uint64_t)st.st_size;
    uint64_t prefix = out->size < PREFIX_FALLBACK ? out->size : PREFIX_FALLBACK;
    unsigned char len8[8];
    if (out->size >= 8 && read_at(fd, len8, 8, 0) == 0) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
        if (n <= HEADER_MAX && 8 + n <= out->size) prefix = 8 + n;
    }
    int rc = hash_prefix(fd, prefix, &out->header_hash);
    uint64_t seed = nonce ^ swan_hash_bytes(SWAN_HASH_INIT, name, strlen(name));
    uint64_t h = SWAN_HASH_INIT;
    unsigned char sample[SWAN_IDENTITY_SAMPLE_BYTES];
    for (int i = 0; rc == 0 && i < SWAN_IDENTITY_SAMPLES && out->size > 0; i++) {
        uint64_t len = out->size < sizeof sample ? out->size : sizeof sample;
        uint64_t off = splitmix64(&seed) % (out->size - len + 1);
        rc = read_at(fd, sample, (size_t)len, off);
        h = swan_hash_bytes(h, &off, sizeof off);
        h = swan_hash_bytes(h, sample, (size_t)len);
    }
    out->sample_hash = h;
    close(fd);
    if (rc) return swan_error_set(err, "%s: read failed while checking the file", path);
    return 0;
}

int swan_shard_identity_diff(const swan_shard_identity *mine, const swan_shard_identity *theirs,
                             char *why, size_t size) {
    if (!theirs->present) return snprintf(why, size, "missing"), 1;
    if (mine->size != theirs->size)
        return snprintf(why, size, "size %llu bytes, expected %llu", (unsigned long long)theirs->size,
                        (unsigned long long)mine->size),
               1;
    if (mine->header_hash != theirs->header_hash) return snprintf(why, size, "header differs"), 1;
    if (mine->sample_hash != theirs->sample_hash)
        return snprintf(why, size, "tensor data differs (same header: another fine-tune or revision?)"),
               1;
    return 0;
}
