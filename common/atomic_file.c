/* atomic_file.c: temp + write + fsync + rename + folder fsync (see atomic_file.h). */
#include "common/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int swan_fsync(int fd) {
#ifdef F_FULLFSYNC
    /* Some file systems (network, FUSE) refuse F_FULLFSYNC; fsync is then the best
     * that can be had. */
    if (fcntl(fd, F_FULLFSYNC) == 0) return 0;
#endif
    return fsync(fd);
}

int swan_fsync_parent(const char *path) {
    char dir[SWAN_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return -1;
    int rc = swan_fsync(fd);
    /* Some systems cannot fsync a folder (EINVAL/EBADF/ENOTSUP): nothing more to do. */
    if (rc != 0 && (errno == EINVAL || errno == EBADF || errno == ENOTSUP)) rc = 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int swan_atomic_open(swan_atomic_file *af, const char *path, swan_error *err) {
    af->f = NULL;
    size_t n = strlen(path);
    if (n == 0) return swan_error_set(err, "empty output path");
    if (n >= sizeof af->path) return swan_error_set(err, "path too long: %.200s...", path);
    memcpy(af->path, path, n + 1);
    memcpy(af->tmp, path, n);
    memcpy(af->tmp + n, ".tmp", 5);
    af->f = fopen(af->tmp, "wb");
    if (!af->f) return swan_error_set(err, "cannot write %s: %s", af->tmp, strerror(errno));
    return 0;
}

void swan_atomic_abort(swan_atomic_file *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
        unlink(af->tmp);
    }
}

/* The durable part of a commit, short of closing: flush, sync, rename, sync folder. */
static int publish(swan_atomic_file *af, swan_error *err) {
    errno = 0;
    if (fflush(af->f) != 0 || ferror(af->f) || swan_fsync(fileno(af->f)) != 0)
        return swan_error_set(err, "cannot write %s: %s", af->path,
                              errno ? strerror(errno) : "write failed");
    if (rename(af->tmp, af->path) != 0)
        return swan_error_set(err, "cannot rename %s to %s: %s", af->tmp, af->path,
                              strerror(errno));
    if (swan_fsync_parent(af->path) != 0)
        return swan_error_set(err, "cannot sync the folder of %s: %s", af->path, strerror(errno));
    return 0;
}

int swan_atomic_commit_keep_open(swan_atomic_file *af, swan_error *err) {
    if (!af->f) return swan_error_set(err, "cannot write %s: not open", af->path);
    if (publish(af, err) == 0) return 0;
    swan_atomic_abort(af);
    return -1;
}

int swan_atomic_commit(swan_atomic_file *af, swan_error *err) {
    if (swan_atomic_commit_keep_open(af, err) != 0) return -1;
    int rc = fclose(af->f);
    af->f = NULL;
    /* The data was synced and renamed already; a failing close cannot have lost it. */
    (void)rc;
    return 0;
}
