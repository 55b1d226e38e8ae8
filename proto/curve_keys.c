/* curve_keys.c: CurveZMQ key files (see curve_keys.h). */
#include "proto/curve_keys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "common/regular_file.h"

#define KEY_FILE_MAX 4096 /* a key file is ~150 bytes; anything bigger is not one */

int swan_curve_available(void) { return zmq_has("curve"); }

static int is_z85_char(int c) {
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    return c && strchr(z85, c) != NULL;
}

static int valid_key_text(const char *s) {
    for (int i = 0; i < SWAN_Z85_KEY_LEN; i++)
        if (!is_z85_char((unsigned char)s[i])) return 0;
    uint8_t raw[32];
    return s[SWAN_Z85_KEY_LEN] == '\0' && zmq_z85_decode(raw, s) != NULL;
}

/* Reads a small text file into buf (NUL-terminated). */
static int read_small(const char *path, int fd, char *buf, size_t size, swan_error *err) {
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return swan_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        if (r == 0) break;
        n += (size_t)r;
        if (n == size - 1)
            return swan_error_set(err, "%s: not a swan key file (larger than %d bytes)", path,
                                  KEY_FILE_MAX);
    }
    buf[n] = '\0';
    return 0;
}

/* Calls fn for each key line of text (skipping blanks and '#' comments); a line that
 * is not a key is an error naming the file and line, never echoing its content
 * (it may be a secret pasted in the wrong place). */
static int each_key_line(const char *path, char *text, int (*fn)(void *, const char *),
                         void *ctx, size_t *count, swan_error *err) {
    int lineno = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        while (*line == ' ' || *line == '\t') line++, len--;
        if (len && line[0] != '#') {
            if (len != SWAN_Z85_KEY_LEN || !valid_key_text(line))
                return swan_error_set(err, "%s: line %d is not a CURVE key (expected %d Z85 "
                                           "characters, as written by swan keygen)",
                                      path, lineno, SWAN_Z85_KEY_LEN);
            if (fn(ctx, line)) return swan_error_set(err, "out of memory");
            (*count)++;
        }
        line = next;
    }
    return 0;
}

static int take_one(void *ctx, const char *key) {
    char *out = ctx;
    if (out[0]) return 0; /* the caller counts and refuses several */
    memcpy(out, key, SWAN_Z85_KEY_LEN + 1);
    return 0;
}

/* The text of a key file (KEY_FILE_MAX bytes at most, NUL-terminated) into buf: a
 * regular file only (common/regular_file.h: a FIFO never blocks us); with secret, one
 * that others may read is refused naming the chmod that fixes it. */
static int read_key_file(const char *path, bool secret, char buf[KEY_FILE_MAX], swan_error *err) {
    struct stat st;
    int fd = swan_open_regular(path, &st, err);
    if (fd < 0) return -1;
    int rc = 0;
    if (secret && (st.st_mode & 077))
        rc = swan_error_set(err, "%s: secret key is readable by others (mode %03o); "
                                 "run: chmod 600 %s",
                            path, (unsigned)(st.st_mode & 0777), path);
    if (rc == 0) rc = read_small(path, fd, buf, KEY_FILE_MAX, err);
    close(fd);
    return rc;
}

int swan_key_load_secret(const char *path, swan_curve_keypair *out, swan_error *err) {
    memset(out, 0, sizeof *out);
    char buf[KEY_FILE_MAX];
    int rc = read_key_file(path, true, buf, err);
    size_t n = 0;
    if (rc == 0) rc = each_key_line(path, buf, take_one, out->secret_z85, &n, err);
    if (rc == 0 && n != 1)
        rc = swan_error_set(err, "%s: expected one secret key, found %zu (write one with swan keygen)",
                            path, n);
    if (rc == 0 && zmq_curve_public(out->public_z85, out->secret_z85) != 0)
        rc = swan_error_set(err, "%s: cannot derive the public key: %s", path, zmq_strerror(errno));
    memset(buf, 0, sizeof buf);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

int swan_key_load_public(const char *path, char out[SWAN_Z85_KEY_LEN + 1], swan_error *err) {
    memset(out, 0, SWAN_Z85_KEY_LEN + 1);
    char buf[KEY_FILE_MAX];
    int rc = read_key_file(path, false, buf, err);
    size_t n = 0;
    if (rc == 0) rc = each_key_line(path, buf, take_one, out, &n, err);
    if (rc == 0 && n != 1)
        rc = swan_error_set(err, "%s: expected one public key, found %zu", path, n);
    return rc;
}

static int list_add(void *ctx, const char *key) {
    swan_key_list *l = ctx;
    if (swan_key_list_contains(l, key)) return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        void *nk = realloc(l->keys, cap * sizeof *l->keys);
        if (!nk) return -1;
        l->keys = nk;
        l->cap = cap;
    }
    memcpy(l->keys[l->n++], key, SWAN_Z85_KEY_LEN + 1);
    return 0;
}

static int list_load_file(swan_key_list *l, const char *path, size_t *count, swan_error *err) {
    /* A secret key is 40 Z85 characters too: refuse one handed over by mistake
     * which would admit nobody useful and puts a secret where public files go. */
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".key") == 0)
        return swan_error_set(err, "%s: this is a secret key file; --allow takes public keys (.pub)",
                              path);
    char buf[KEY_FILE_MAX];
    int rc = read_key_file(path, false, buf, err);
    if (rc == 0 && strstr(buf, "# swan CURVE secret key"))
        rc = swan_error_set(err, "%s: this is a secret key file; --allow takes public keys (.pub)", path);
    if (rc == 0) rc = each_key_line(path, buf, list_add, l, count, err);
    memset(buf, 0, sizeof buf);
    return rc;
}

int swan_key_list_load(swan_key_list *l, const char *path, swan_error *err) {
    struct stat st;
    if (stat(path, &st) != 0) return swan_error_set(err, "%s: %s", path, strerror(errno));
    size_t count = 0;
    if (!S_ISDIR(st.st_mode)) {
        if (list_load_file(l, path, &count, err)) return -1;
    } else {
        DIR *d = opendir(path);
        if (!d) return swan_error_set(err, "%s: cannot list: %s", path, strerror(errno));
        struct dirent *e;
        int rc = 0;
        while (rc == 0 && (e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 4, ".pub") != 0) continue;
            char file[PATH_MAX];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            rc = list_load_file(l, file, &count, err);
        }
        closedir(d);
        if (rc) return -1;
    }
    if (count == 0)
        return swan_error_set(err, "%s: no public keys found (expected %s)", path,
                              S_ISDIR(st.st_mode) ? "*.pub files written by swan keygen"
                                                  : "lines of 40 Z85 characters");
    return 0;
}

int swan_key_list_contains(const swan_key_list *l, const char *z85) {
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->keys[i], z85, SWAN_Z85_KEY_LEN) == 0) return 1;
    return 0;
}

void swan_key_list_free(swan_key_list *l) {
    free(l->keys);
    memset(l, 0, sizeof *l);
}

/* Writes text to a fresh temporary beside path, fsyncs it, then links it into place:
 * link() fails if path exists, so an existing key is never replaced, and a reader
 * never sees a half-written key. */
static int write_new_file(const char *path, const char *text, mode_t mode, swan_error *err) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp)
        return swan_error_set(err, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return swan_error_set(err, "cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    int rc = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
    int e = errno;
    if (close(fd) != 0 && rc == 0) rc = -1, e = errno;
    if (rc == 0 && link(tmp, path) != 0) {
        rc = -1;
        e = errno;
    }
    unlink(tmp);
    if (rc) {
        if (e == EEXIST) {
            swan_error_set(err, "%s already exists; not overwriting it", path);
            return -2;
        }
        return swan_error_set(err, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

int swan_keygen_write(const char *base, swan_curve_keypair *out, swan_error *err) {
    if (!swan_curve_available())
        return swan_error_set(err, "this libzmq was built without CURVE support (libsodium)");
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    if (snprintf(key_path, sizeof key_path, "%s.key", base) >= (int)sizeof key_path ||
        snprintf(pub_path, sizeof pub_path, "%s.pub", base) >= (int)sizeof pub_path)
        return swan_error_set(err, "%s: name too long", base);
    struct stat st;
    if (lstat(key_path, &st) == 0 || lstat(pub_path, &st) == 0) {
        swan_error_set(err, "%s already exists; not overwriting it",
                       lstat(key_path, &st) == 0 ? key_path : pub_path);
        return -2;
    }
    swan_curve_keypair kp;
    if (zmq_curve_keypair(kp.public_z85, kp.secret_z85) != 0)
        return swan_error_set(err, "cannot generate a key pair: %s", zmq_strerror(errno));
    char text[256];
    snprintf(text, sizeof text,
             "# swan CURVE secret key: keep it private (mode 0600), never copy it off this host\n"
             "%s\n",
             kp.secret_z85);
    int rc = write_new_file(key_path, text, 0600, err);
    memset(text, 0, sizeof text);
    memset(kp.secret_z85, 0, sizeof kp.secret_z85);
    if (rc) return rc;
    snprintf(text, sizeof text,
             "# swan CURVE public key: give it to the coordinator (--allow) or to workers "
             "(--curve-server)\n%s\n",
             kp.public_z85);
    if ((rc = write_new_file(pub_path, text, 0644, err)) != 0) {
        unlink(key_path);
        return rc;
    }
    if (out) *out = kp;
    return 0;
}
