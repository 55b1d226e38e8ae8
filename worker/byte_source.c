/* byte_source.c: the file byte source (see byte_source.h).
 *
 * A view is the page-aligned mmap window covering the bytes asked for, with
 * read-ahead advice (it is consumed front to back at once), unmapped on release: the
 * resident set never holds more than one tile's bytes whatever the tensor size.
 * Scattered runs (column panels, the scale grid) are read with pread. */
#include "worker/byte_source.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef unsigned long long ull;

static int file_view(void *ctx, int part, uint64_t off, uint64_t len, const unsigned char **at,
                     swan_error *err) {
    swan_file_source *fs = ctx;
    long page_size = sysconf(_SC_PAGESIZE);
    if (page_size <= 0) page_size = 4096;
    uint64_t abs_off = fs->base[part] + off;
    uint64_t start = abs_off - abs_off % (uint64_t)page_size;
    size_t map_len = (size_t)(abs_off + len - start);
    void *map = mmap(NULL, map_len, PROT_READ, MAP_SHARED, fs->fd[part], (off_t)start);
    if (map == MAP_FAILED)
        return swan_error_set(err, "tensor at byte %llu: mmap of %llu bytes failed: %s",
                              (ull)fs->base[SWAN_SRC_DATA], (ull)map_len, strerror(errno));
    /* Read-ahead the whole window now: it is consumed front to back at once. The
     * POSIX spelling (posix_madvise), because the build asks for plain POSIX + XSI,
     * under which glibc hides madvise's MADV_* names (this advice was compiled out on
     * Linux before); macOS has both. Advice only: a failure changes nothing. */
    (void)posix_madvise(map, map_len, POSIX_MADV_SEQUENTIAL);
    (void)posix_madvise(map, map_len, POSIX_MADV_WILLNEED);
    fs->map = map;
    fs->map_len = map_len;
    *at = (const unsigned char *)map + (abs_off - start);
    return 0;
}

static void file_release(void *ctx) {
    swan_file_source *fs = ctx;
    if (fs->map) munmap(fs->map, fs->map_len);
    fs->map = NULL;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off, swan_error *err) {
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return swan_error_set(err, "pread of %llu bytes at %llu failed: %s", (ull)len,
                                  (ull)off, n < 0 ? strerror(errno) : "unexpected end of file");
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int file_gather(void *ctx, int part, uint64_t off, uint64_t run_bytes, uint64_t stride,
                       uint64_t nrows, unsigned char *dst, swan_error *err) {
    swan_file_source *fs = ctx;
    for (uint64_t i = 0; i < nrows; i++)
        if (pread_full(fs->fd[part], dst + i * run_bytes, (size_t)run_bytes,
                       fs->base[part] + off + i * stride, err))
            return -1;
    return 0;
}

void swan_file_source_init(swan_file_source *fs, swan_byte_source *src, int data_fd,
                           uint64_t data_offset) {
    memset(fs, 0, sizeof *fs);
    fs->fd[SWAN_SRC_DATA] = data_fd;
    fs->base[SWAN_SRC_DATA] = data_offset;
    fs->fd[SWAN_SRC_SCALES] = -1;
    src->view = file_view;
    src->release = file_release;
    src->gather = file_gather;
    src->ctx = fs;
}

void swan_file_source_set_scales(swan_file_source *fs, int scale_fd, uint64_t scale_offset) {
    fs->fd[SWAN_SRC_SCALES] = scale_fd;
    fs->base[SWAN_SRC_SCALES] = scale_offset;
}
