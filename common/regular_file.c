/* regular_file.c: see regular_file.h. */
#include "common/regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *kind_name(mode_t m) {
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

int swan_open_regular(const char *path, struct stat *st_out, swan_error *err) {
    int fd;
    do fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return swan_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return swan_error_set(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return swan_error_set(err, "%s: not a regular file (%s)", path, kind_name(st.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return swan_error_set(err, "%s: cannot clear O_NONBLOCK: %s", path, strerror(e));
    }
    if (st_out) *st_out = st;
    return fd;
}

char *swan_read_regular_file(const char *path, size_t *len, swan_error *err) {
    struct stat st;
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return NULL;
    /* Sized from fstat, but read to EOF: a file that grew meanwhile is read whole. */
    size_t cap = (size_t)st.st_size + 1 + 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            swan_error_set(err, "%s: cannot read: %s", path, strerror(e));
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    close(fd);
    if (!buf) {
        swan_error_set(err, "%s: out of memory", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}
