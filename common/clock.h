/* clock.h: the one monotonic clock every part of swan times things with.
 *
 * Timeouts (heartbeats, worker silence, journal fsync pacing), progress rates and
 * per-tensor kernel times all need a clock that never jumps back when the wall
 * clock is set; CLOCK_MONOTONIC is POSIX and exists on Linux and macOS. */
#ifndef SWAN_CLOCK_H
#define SWAN_CLOCK_H

/* Seconds since an arbitrary fixed point (boot on most systems); only differences
 * between two calls mean anything. */
double swan_now_s(void);

#endif
