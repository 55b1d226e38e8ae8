/* fmt.h: number formatting for hot paths where printf's cost shows.
 *
 * The journal, the manifest writer and the message codec format an integer per
 * field, per tensor; on a 100,000-tensor checkpoint snprintf was a visible share of
 * the coordinator's time, which it takes from the workers' cores. */
#ifndef SWAN_FMT_H
#define SWAN_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Writes v in decimal at out (at most 20 digits) plus a NUL; returns the digits' count. */
size_t swan_fmt_u64(char *out, uint64_t v);

#endif
