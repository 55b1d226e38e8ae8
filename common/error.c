/* error.c: one-line error messages carried up the call stack (see error.h). */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int swan_error_set(swan_error *err, const char *fmt, ...) {
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* Keep it one line: a hostile file name must not break the log format. */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return -1;
}

int swan_error_prefix(swan_error *err, const char *fmt, ...) {
    if (!err) return -1;
    char prefix[SWAN_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[SWAN_ERROR_MAX];
    memcpy(old, err->msg, sizeof old);
    /* prefix + ": " + old, truncated to the buffer (the file name matters most). */
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3, m = strlen(old);
    if (m > room) m = room;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
    return -1;
}

void swan_error_clear(swan_error *err) {
    if (err) err->msg[0] = '\0';
}
