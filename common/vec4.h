/* vec4.h: 4-lane float vectors for the single-pass kernels (worker/stats.c, the
 * portable path of common/mlx_affine.c), so both share one definition.
 *
 * One register on SSE2 (x86-64 baseline) and NEON (GCC lowers wider generic vectors
 * on SSE2 to scalar code). min/max use the native instruction where there is one: the
 * portable compare-and-select is 4 of them. Header-only: everything is static inline
 * so the loops that use it vectorize in place. */
#ifndef SWAN_VEC4_H
#define SWAN_VEC4_H

#include <stdint.h>
#include <string.h>

typedef float vf __attribute__((vector_size(16)));
typedef int32_t vi __attribute__((vector_size(16)));
#define VL 4

static inline vf loadv(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline vf splat(float x) { return (vf){x, x, x, x}; }
#if defined(__SSE2__)
#include <emmintrin.h>
static inline vf vmin(vf a, vf b) { return (vf)_mm_min_ps((__m128)a, (__m128)b); }
static inline vf vmax(vf a, vf b) { return (vf)_mm_max_ps((__m128)a, (__m128)b); }
#elif defined(__ARM_NEON)
#include <arm_neon.h>
static inline vf vmin(vf a, vf b) { return (vf)vminq_f32((float32x4_t)a, (float32x4_t)b); }
static inline vf vmax(vf a, vf b) { return (vf)vmaxq_f32((float32x4_t)a, (float32x4_t)b); }
#else
static inline vf vmin(vf a, vf b) {
    vi m = a < b;
    return (vf)((m & (vi)a) | (~m & (vi)b));
}
static inline vf vmax(vf a, vf b) {
    vi m = a > b;
    return (vf)((m & (vi)a) | (~m & (vi)b));
}
#endif
static inline float hmin(vf v) {
    float a = v[0] < v[1] ? v[0] : v[1], b = v[2] < v[3] ? v[2] : v[3];
    return a < b ? a : b;
}
static inline float hmax(vf v) {
    float a = v[0] > v[1] ? v[0] : v[1], b = v[2] > v[3] ? v[2] : v[3];
    return a > b ? a : b;
}
static inline float hsum(vf v) { return (v[0] + v[1]) + (v[2] + v[3]); }

#endif
