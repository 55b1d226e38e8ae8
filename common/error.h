/* error.h: how every swan function reports failure.
 *
 * Functions that can fail take a `swan_error *err` and return -1 (or NULL) after
 * filling it with ONE human-readable line that names the file, the tensor and the
 * problem. Callers either add context and pass it up, or print it and exit with a
 * status. Nothing below main() prints an error or calls exit(). */
#ifndef SWAN_ERROR_H
#define SWAN_ERROR_H

#include <stddef.h>

#define SWAN_ERROR_MAX 512

typedef struct swan_error {
    char msg[SWAN_ERROR_MAX];
} swan_error;

/* Formats the message into err (if err is not NULL) and returns -1, so that
 * `return swan_error_set(err, "...")` reads naturally. */
int swan_error_set(swan_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to an existing message (e.g. the file name). Returns -1. */
int swan_error_prefix(swan_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void swan_error_clear(swan_error *err);

#endif
