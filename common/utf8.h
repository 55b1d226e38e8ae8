/* utf8.h: the one UTF-8 validity rule (RFC 3629) shared by the JSON reader and writer.
 *
 * common/json_scan.c refuses invalid UTF-8 in the strings it reads; common/json_writer.c
 * replaces it with U+FFFD in the strings it writes. Both ask this function. */
#ifndef SWAN_UTF8_H
#define SWAN_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence starting at p (a lead byte >= 0x80, at most
 * `avail` bytes readable), or 0 if none: overlong forms, surrogates and code points
 * above U+10FFFF are invalid. */
size_t swan_utf8_seq_len(const unsigned char *p, size_t avail);

#endif
