/* hash.c: XXH64 (see hash.h), following the xxHash specification step by step. */
#include "common/hash.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Little-endian loads whatever the host; compilers turn these into one load. */
static inline uint64_t le64(const unsigned char *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t round1(uint64_t acc, uint64_t lane) {
    acc += lane * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t v) {
    acc ^= round1(0, v);
    return acc * P1 + P4;
}

/* Consumes whole 32-byte stripes; returns the bytes used. */
static size_t stripes(uint64_t v[4], const unsigned char *p, size_t len) {
    size_t n = len & ~(size_t)31;
    for (size_t i = 0; i < n; i += 32) {
        v[0] = round1(v[0], le64(p + i));
        v[1] = round1(v[1], le64(p + i + 8));
        v[2] = round1(v[2], le64(p + i + 16));
        v[3] = round1(v[3], le64(p + i + 24));
    }
    return n;
}

/* Accumulator convergence, length, remaining < 32 bytes, avalanche. */
static uint64_t finish(uint64_t acc, uint64_t total_len, const unsigned char *p, size_t len) {
    acc += total_len;
    while (len >= 8) {
        acc ^= round1(0, le64(p));
        acc = rotl(acc, 27) * P1 + P4;
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        acc ^= (uint64_t)le32(p) * P1;
        acc = rotl(acc, 23) * P2 + P3;
        p += 4;
        len -= 4;
    }
    while (len > 0) {
        acc ^= (uint64_t)(*p) * P5;
        acc = rotl(acc, 11) * P1;
        p++;
        len--;
    }
    acc ^= acc >> 33;
    acc *= P2;
    acc ^= acc >> 29;
    acc *= P3;
    acc ^= acc >> 32;
    return acc;
}

static uint64_t converge(const uint64_t v[4]) {
    uint64_t acc = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (int i = 0; i < 4; i++) acc = merge(acc, v[i]);
    return acc;
}

uint64_t swan_xxh64(const void *data, size_t len, uint64_t seed) {
    const unsigned char *p = data;
    uint64_t acc;
    size_t used = 0;
    if (len >= 32) {
        uint64_t v[4] = {seed + P1 + P2, seed + P2, seed, seed - P1};
        used = stripes(v, p, len);
        acc = converge(v);
    } else {
        acc = seed + P5;
    }
    return finish(acc, (uint64_t)len, p + used, len - used);
}

void swan_xxh64_init(swan_xxh64_state *s, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->v[0] = seed + P1 + P2;
    s->v[1] = seed + P2;
    s->v[2] = seed;
    s->v[3] = seed - P1;
}

void swan_xxh64_update(swan_xxh64_state *s, const void *data, size_t len) {
    const unsigned char *p = data;
    s->total_len += len;
    if (s->memsize + len < 32) {
        if (len) memcpy(s->mem + s->memsize, p, len);
        s->memsize += (uint32_t)len;
        return;
    }
    if (s->memsize) { /* complete the buffered stripe first */
        size_t fill = 32 - s->memsize;
        memcpy(s->mem + s->memsize, p, fill);
        stripes(s->v, s->mem, 32);
        p += fill;
        len -= fill;
        s->memsize = 0;
    }
    size_t used = stripes(s->v, p, len);
    p += used;
    len -= used;
    if (len) memcpy(s->mem, p, len);
    s->memsize = (uint32_t)len;
}

uint64_t swan_xxh64_digest(const swan_xxh64_state *s) {
    uint64_t acc = s->total_len >= 32 ? converge(s->v) : s->seed + P5;
    return finish(acc, s->total_len, s->mem, s->memsize);
}
