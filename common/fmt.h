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

/* Writes v as printf's "%.<digits>g" does, byte for byte, plus a NUL, at out (32
 * bytes suffice), for 1 <= digits <= 12; returns its length. 0 (nothing written)
 * where it cannot be sure of printf's last digit without printf's exact arithmetic:
 * a value within rounding error of a tie, zero, a subnormal, infinity or NaN, an
 * exponent beyond 10^+-22; the caller then uses snprintf. The report writes 800,000
 * numbers with 6 digits for a 100,000-tensor model, where snprintf was half its time. */
size_t swan_fmt_g(char *out, double v, int digits);

#endif
