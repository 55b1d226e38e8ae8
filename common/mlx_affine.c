/* mlx_affine.c: MLX's affine quantization rule, its packing, and the fused per-width
 * error measurement of the metric pass (see mlx_affine.h for the rule and its source).
 *
 * Cost: the error of 6 widths x 3 group sizes is 18 quantize-dequantize sweeps per
 * value, inside the single read of the metric pass, so the sweep is the hot loop.
 * Per chunk of a row (<= CHUNK values, in L1):
 *   1. min/max of every 32-group once; a 64- and a 128-group's range is the min/max of
 *      its 32-groups' ranges (no second look at the values);
 *   2. the per-group parameters of every (width, group) pair, computed 8 groups at a
 *      time in vector lanes (IEEE ops, so bit-identical to the scalar rule);
 *   3. per (width, group) one branch-free sweep: t = (w - bias) / scale, clamp to
 *      [0, n] then round half to even (clamping first is the same as MLX's
 *      clamp(rint(.)) because rint is monotone and fixes integers), w' = q s' + b',
 *      sum (w' - w)^2 in float lanes flushed to double once per chunk.
 * The quotient must be MLX's correctly rounded one, not a product with 1/scale: BF16
 * and F16 weights sit on coarse grids, so (w - bias) / scale often lands exactly on a
 * rounding tie, and with scale and bias rounded to the dtype the two candidates do not
 * err alike. A vector division per value and width is too slow here, so the AVX2 path
 * takes t = a * y with y = RN(1/scale) and corrects it once with two FMAs:
 * r = a - t * scale is exact and RN(t + r * y) = RN(a / scale) (Markstein's theorem,
 * Muller et al., Handbook of Floating-Point Arithmetic, 2nd ed., thm. 4.10).
 * On x86-64 the sweep runs in 8 AVX2+FMA lanes when the CPU has them (checked at run
 * time, no build flag needed); elsewhere in 4 portable lanes (SSE2 / NEON) that divide.
 * Build without -ffast-math: rounding relies on IEEE semantics. */
#include "common/mlx_affine.h"

#include <math.h>
#include <string.h>

#include "common/vec4.h"
#define ROUND_MAGIC 8388608.0f /* 2^23: (t + 2^23) - 2^23 rounds t in [0, 2^22) half to even */

#define CHUNK 512 /* values of one row per sweep: 2 KiB, stays in L1 */
#define MAXG32 (CHUNK / 32)

int swan_mlx_bits_index(int bits) {
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        if (swan_mlx_bits[i] == bits) return i;
    return -1;
}

int swan_mlx_group_index(int group_size) {
    for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
        if (swan_mlx_groups[j] == group_size) return j;
    return -1;
}

/* ---- the rule, scalar ---------------------------------------------------------- */

void swan_mlx_affine_params(float lo, float hi, int bits, float *scale, float *bias) {
    float n_bins = (float)((1 << bits) - 1);
    int mask = fabsf(lo) > fabsf(hi);
    float s = (hi - lo) / n_bins;
    s = s < SWAN_MLX_EPS ? SWAN_MLX_EPS : s; /* std::max(s, eps) */
    s = mask ? s : -s;
    float edge = mask ? lo : hi;
    float q0 = rintf(edge / s);
    float b = 0.0f;
    if (q0 != 0.0f) {
        s = edge / q0;
        b = edge;
    }
    *scale = s;
    *bias = b;
}

static float bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

uint16_t swan_f32_to_bf16_bits(float x) {
    uint32_t u = float_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Round to nearest even, after F. Giesen's float_to_half_fast3_rtne: subnormal halves
 * by letting the float adder round (adding 0.5 aligns the mantissa at 2^-24). */
uint16_t swan_f32_to_f16_bits(float x) {
    uint32_t u = float_bits(x);
    uint32_t sign = u & 0x80000000u, a = u ^ sign, o;
    if (a >= (127u + 16u) << 23) { /* >= 65536, inf or NaN */
        o = a > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (a < 113u << 23) { /* below 2^-14: half subnormal (or zero) */
        const uint32_t magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
        o = float_bits(bits_float(a) + bits_float(magic)) - magic;
    } else {
        uint32_t odd = (a >> 13) & 1u;
        a += ((uint32_t)(15 - 127) << 23) + 0xfffu + odd;
        o = a >> 13;
    }
    return (uint16_t)(o | (sign >> 16));
}

float swan_mlx_round_to_dtype(swan_dtype dt, float x) {
    switch (dt) {
    case SWAN_DT_BF16: return swan_bf16_to_f32(swan_f32_to_bf16_bits(x));
    case SWAN_DT_F16: return swan_f16_to_f32(swan_f32_to_f16_bits(x));
    default: return x;
    }
}

/* 4 lanes at a time (groups are multiples of 32, so always on that path): the same
 * IEEE operations as MLX's scalar loop. Clamping to [0, n] before rounding instead of
 * after gives the same integers (rounding is monotonic, 0 and n are integers), and
 * (t + 2^23) - 2^23 rounds t in [0, 2^22) half to even exactly as rintf does. The
 * signs of zero min/max may pick differently do not change the parameters. */
void swan_mlx_quantize_group(const float *w, int g, int bits, uint8_t *q, float *scale,
                             float *bias) {
    float lo = INFINITY, hi = -INFINITY;
    int k0 = 0;
    if (g >= 4) {
        vf mn = loadv(w), mx = mn;
        for (k0 = 4; k0 + 4 <= g; k0 += 4) {
            vf v = loadv(w + k0);
            mn = vmin(mn, v);
            mx = vmax(mx, v);
        }
        lo = hmin(mn);
        hi = hmax(mx);
    }
    for (int k = k0; k < g; k++) {
        hi = w[k] > hi ? w[k] : hi; /* std::max(w_max, w) */
        lo = w[k] < lo ? w[k] : lo;
    }
    float s, b, n_bins = (float)((1 << bits) - 1);
    swan_mlx_affine_params(lo, hi, bits, &s, &b);
    const vf vb = splat(b), vs = splat(s), top = splat(n_bins), zero = splat(0.0f),
             magic = splat(ROUND_MAGIC);
    int k = 0;
    for (; k + 4 <= g; k += 4) {
        vf t = vmax(vmin((loadv(w + k) - vb) / vs, top), zero);
        t = (t + magic) - magic;
        vi u = __builtin_convertvector(t, vi);
        q[k] = (uint8_t)u[0];
        q[k + 1] = (uint8_t)u[1];
        q[k + 2] = (uint8_t)u[2];
        q[k + 3] = (uint8_t)u[3];
    }
    for (; k < g; k++) {
        float t = rintf((w[k] - b) / s);
        t = t < 0.0f ? 0.0f : t;
        t = t > n_bins ? n_bins : t;
        q[k] = (uint8_t)t;
    }
    *scale = s;
    *bias = b;
}

void swan_mlx_pack(const uint8_t *q, size_t n, int bits, uint8_t *out) {
    /* Values per pack and bytes per pack (MLX's get_pack_factor / get_bytes_per_pack
     * with 32-bit words for the powers of two). */
    /* 2, 4 and 8 bits: values never straddle a byte, so byte j of the little-endian
     * words holds values 8/b * j .. in its low bits first (the common widths, made
     * byte loops the compiler vectorizes) */
    if (bits == 8) {
        memcpy(out, q, n);
        return;
    }
    if (bits == 4) {
        for (size_t j = 0; j < n / 2; j++) out[j] = (uint8_t)(q[2 * j] | q[2 * j + 1] << 4);
        return;
    }
    if (bits == 2) {
        for (size_t j = 0; j < n / 4; j++)
            out[j] = (uint8_t)(q[4 * j] | q[4 * j + 1] << 2 | q[4 * j + 2] << 4 | q[4 * j + 3] << 6);
        return;
    }
    size_t per = (bits == 3 || bits == 5) ? 8 : bits == 6 ? 4 : (size_t)(32 / bits);
    size_t bytes = (size_t)bits * per / 8;
    for (size_t i = 0; i < n; i += per) {
        uint64_t word = 0;
        for (size_t k = 0; k < per; k++) word |= (uint64_t)q[i + k] << (k * (size_t)bits);
        for (size_t k = 0; k < bytes; k++) *out++ = (uint8_t)(word >> (8 * k));
    }
}

double swan_mlx_group_err2(const float *w, int g, int bits, swan_dtype dt) {
    uint8_t q[SWAN_MLX_MAX_GROUP];
    float s, b;
    swan_mlx_quantize_group(w, g, bits, q, &s, &b);
    float sr = swan_mlx_round_to_dtype(dt, s), br = swan_mlx_round_to_dtype(dt, b);
    double e = 0.0;
    for (int k = 0; k < g; k++) {
        double d = (double)((float)q[k] * sr + br) - (double)w[k];
        e += d * d;
    }
    return e;
}

/* ---- the accumulator ----------------------------------------------------------- */

void swan_mlx_err_init(swan_mlx_err *e, uint64_t cols, swan_dtype dtype) {
    memset(e, 0, sizeof *e);
    e->cols = cols;
    e->dtype = dtype;
    for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
        if (cols > 0 && cols % (uint64_t)swan_mlx_groups[j] == 0) e->gmask |= 1u << j;
}

void swan_mlx_err_nrmse(const swan_mlx_err *e, double out[SWAN_MLX_NBITS][SWAN_MLX_NGROUPS]) {
    double den = sqrt(e->w2);
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++) {
            if (!(e->gmask & (1u << j)))
                out[i][j] = -1.0;
            else
                out[i][j] = den < 1e-12 ? 0.0 : sqrt(e->err2[i][j]) / den;
        }
}

/* Ranges of the 32-groups of a chunk, then of the 64- and 128-groups from them.
 * lo[j][k], hi[j][k]: group k of size swan_mlx_groups[j]. Unused tail entries of
 * each array (up to a multiple of 8) are zero, which gives harmless parameters. */
typedef struct ranges {
    float lo[SWAN_MLX_NGROUPS][MAXG32], hi[SWAN_MLX_NGROUPS][MAXG32];
    int ng[SWAN_MLX_NGROUPS];
} ranges;

static void derive_ranges(ranges *r, size_t len) {
    for (int j = 1; j < SWAN_MLX_NGROUPS; j++) {
        int per = swan_mlx_groups[j] / 32;
        r->ng[j] = (int)(len / (size_t)swan_mlx_groups[j]);
        for (int k = 0; k < r->ng[j]; k++) {
            float lo = r->lo[0][k * per], hi = r->hi[0][k * per];
            for (int i = 1; i < per; i++) {
                float a = r->lo[0][k * per + i], b = r->hi[0][k * per + i];
                lo = a < lo ? a : lo;
                hi = b > hi ? b : hi;
            }
            r->lo[j][k] = lo;
            r->hi[j][k] = hi;
        }
    }
}

/* Parameters of one (width, group size) for ng groups: t uses (bias, inv), the
 * dequantization the stored (rounded) scale sq and bias bq. */
typedef struct params {
    float scale[MAXG32], bias[MAXG32], inv[MAXG32], sq[MAXG32], bq[MAXG32];
} params;

static void params_scalar(const float *lo, const float *hi, int ng, int bits, swan_dtype dt,
                          params *p) {
    for (int k = 0; k < ng; k++) {
        float s, b;
        swan_mlx_affine_params(lo[k], hi[k], bits, &s, &b);
        p->scale[k] = s;
        p->bias[k] = b;
        p->inv[k] = 1.0f / s;
        p->sq[k] = swan_mlx_round_to_dtype(dt, s);
        p->bq[k] = swan_mlx_round_to_dtype(dt, b);
    }
}

/* ---- portable 4-lane sweep ----------------------------------------------------- */

static void chunk_generic(swan_mlx_err *e, const float *x, size_t len) {
    ranges r;
    memset(&r, 0, sizeof r);
    r.ng[0] = (int)(len / 32);
    vf w2 = splat(0.0f);
    for (int k = 0; k < r.ng[0]; k++) {
        const float *g = x + 32 * k;
        vf mn = loadv(g), mx = mn;
        for (int i = 0; i < 32; i += 4) {
            vf v = loadv(g + i);
            mn = vmin(mn, v);
            mx = vmax(mx, v);
            w2 += v * v;
        }
        float lo = mn[0], hi = mx[0];
        for (int i = 1; i < 4; i++) {
            lo = mn[i] < lo ? mn[i] : lo;
            hi = mx[i] > hi ? mx[i] : hi;
        }
        r.lo[0][k] = lo;
        r.hi[0][k] = hi;
    }
    e->w2 += hsum(w2);
    derive_ranges(&r, len);
    params p;
    for (int j = 0; j < SWAN_MLX_NGROUPS; j++) {
        if (!(e->gmask & (1u << j))) continue;
        int g = swan_mlx_groups[j];
        for (int i = 0; i < SWAN_MLX_NBITS; i++) {
            params_scalar(r.lo[j], r.hi[j], r.ng[j], swan_mlx_bits[i], e->dtype, &p);
            vf top = splat((float)((1 << swan_mlx_bits[i]) - 1)), zero = splat(0.0f);
            vf magic = splat(ROUND_MAGIC), a0 = zero, a1 = zero;
            for (int k = 0; k < r.ng[j]; k++) {
                const float *gx = x + (size_t)k * (size_t)g;
                vf b = splat(p.bias[k]), s = splat(p.scale[k]), sq = splat(p.sq[k]),
                   bq = splat(p.bq[k]);
                for (int v = 0; v < g; v += 8) {
                    vf x0 = loadv(gx + v), x1 = loadv(gx + v + 4);
                    vf t0 = vmax(vmin((x0 - b) / s, top), zero);
                    vf t1 = vmax(vmin((x1 - b) / s, top), zero);
                    t0 = (t0 + magic) - magic;
                    t1 = (t1 + magic) - magic;
                    vf d0 = t0 * sq + bq - x0, d1 = t1 * sq + bq - x1;
                    a0 += d0 * d0;
                    a1 += d1 * d1;
                }
            }
            e->err2[i][j] += (double)hsum(a0) + (double)hsum(a1);
        }
    }
}

/* ---- x86-64 AVX2 + FMA sweep (selected at run time) ---------------------------- */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SWAN_MLX_X86 1
#include <immintrin.h>

#define AVX_TARGET __attribute__((target("avx2,fma,f16c")))

AVX_TARGET static inline __m256 round_dtype8(__m256 x, swan_dtype dt) {
    if (dt == SWAN_DT_BF16) {
        __m256i u = _mm256_castps_si256(x);
        __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
        u = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), odd));
        return _mm256_castsi256_ps(_mm256_and_si256(u, _mm256_set1_epi32((int)0xffff0000u)));
    }
    if (dt == SWAN_DT_F16)
        return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    return x;
}

/* The scalar rule of swan_mlx_affine_params, 8 groups per vector (same IEEE ops, so
 * the same bits). */
AVX_TARGET static void params_avx2(const float *lo, const float *hi, int ng, int bits,
                                   swan_dtype dt, params *p) {
    const __m256 nb = _mm256_set1_ps((float)((1 << bits) - 1)), eps = _mm256_set1_ps(SWAN_MLX_EPS);
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), zero = _mm256_setzero_ps();
    for (int k = 0; k < ng; k += 8) {
        __m256 l = _mm256_loadu_ps(lo + k), h = _mm256_loadu_ps(hi + k);
        __m256 mask = _mm256_cmp_ps(_mm256_and_ps(l, absm), _mm256_and_ps(h, absm), _CMP_GT_OQ);
        __m256 s = _mm256_div_ps(_mm256_sub_ps(h, l), nb);
        s = _mm256_blendv_ps(s, eps, _mm256_cmp_ps(s, eps, _CMP_LT_OQ));
        s = _mm256_blendv_ps(_mm256_sub_ps(zero, s), s, mask);
        __m256 edge = _mm256_blendv_ps(h, l, mask);
        __m256 q0 = _mm256_round_ps(_mm256_div_ps(edge, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256 nz = _mm256_cmp_ps(q0, zero, _CMP_NEQ_OQ);
        s = _mm256_blendv_ps(s, _mm256_div_ps(edge, q0), nz);
        __m256 b = _mm256_and_ps(edge, nz);
        _mm256_storeu_ps(p->scale + k, s);
        _mm256_storeu_ps(p->bias + k, b);
        _mm256_storeu_ps(p->inv + k, _mm256_div_ps(_mm256_set1_ps(1.0f), s));
        _mm256_storeu_ps(p->sq + k, round_dtype8(s, dt));
        _mm256_storeu_ps(p->bq + k, round_dtype8(b, dt));
    }
}

AVX_TARGET static inline float hsum8(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}
AVX_TARGET static inline float hmin8(__m256 v) {
    __m128 a = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_min_ps(a, _mm_movehl_ps(a, a));
    a = _mm_min_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}
AVX_TARGET static inline float hmax8(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

AVX_TARGET static void chunk_avx2(swan_mlx_err *e, const float *x, size_t len) {
    ranges r;
    memset(&r, 0, sizeof r);
    r.ng[0] = (int)(len / 32);
    __m256 w2 = _mm256_setzero_ps();
    for (int k = 0; k < r.ng[0]; k++) {
        const float *g = x + 32 * k;
        __m256 v0 = _mm256_loadu_ps(g), v1 = _mm256_loadu_ps(g + 8), v2 = _mm256_loadu_ps(g + 16),
               v3 = _mm256_loadu_ps(g + 24);
        __m256 mn = _mm256_min_ps(_mm256_min_ps(v0, v1), _mm256_min_ps(v2, v3));
        __m256 mx = _mm256_max_ps(_mm256_max_ps(v0, v1), _mm256_max_ps(v2, v3));
        w2 = _mm256_fmadd_ps(v0, v0, w2);
        w2 = _mm256_fmadd_ps(v1, v1, w2);
        w2 = _mm256_fmadd_ps(v2, v2, w2);
        w2 = _mm256_fmadd_ps(v3, v3, w2);
        r.lo[0][k] = hmin8(mn);
        r.hi[0][k] = hmax8(mx);
    }
    e->w2 += hsum8(w2);
    derive_ranges(&r, len);
    params p;
    const __m256 zero = _mm256_setzero_ps();
    for (int j = 0; j < SWAN_MLX_NGROUPS; j++) {
        if (!(e->gmask & (1u << j))) continue;
        int g = swan_mlx_groups[j];
        for (int i = 0; i < SWAN_MLX_NBITS; i++) {
            params_avx2(r.lo[j], r.hi[j], r.ng[j], swan_mlx_bits[i], e->dtype, &p);
            const __m256 top = _mm256_set1_ps((float)((1 << swan_mlx_bits[i]) - 1));
            __m256 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            for (int k = 0; k < r.ng[j]; k++) {
                const float *gx = x + (size_t)k * (size_t)g;
                __m256 b = _mm256_set1_ps(p.bias[k]), inv = _mm256_set1_ps(p.inv[k]),
                       s = _mm256_set1_ps(p.scale[k]),
                       sq = _mm256_set1_ps(p.sq[k]), bq = _mm256_set1_ps(p.bq[k]);
#define SWEEP(acc, off)                                                                        \
    do {                                                                                       \
        __m256 xv = _mm256_loadu_ps(gx + v + (off));                                           \
        __m256 a = _mm256_sub_ps(xv, b), t = _mm256_mul_ps(a, inv);                           \
        t = _mm256_fmadd_ps(_mm256_fnmadd_ps(t, s, a), inv, t);                                \
        t = _mm256_max_ps(_mm256_min_ps(t, top), zero);                                       \
        t = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);                 \
        __m256 d = _mm256_sub_ps(_mm256_fmadd_ps(t, sq, bq), xv);                              \
        acc = _mm256_fmadd_ps(d, d, acc);                                                      \
    } while (0)
                for (int v = 0; v < g; v += 32) {
                    SWEEP(a0, 0);
                    SWEEP(a1, 8);
                    SWEEP(a2, 16);
                    SWEEP(a3, 24);
                }
#undef SWEEP
            }
            e->err2[i][j] += (double)hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        }
    }
}

static int have_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
}
#endif

void swan_mlx_err_add_tile(swan_mlx_err *e, const float *tile, size_t nrows, size_t ncols) {
    if (e->gmask == 0 || nrows == 0 || ncols == 0) return;
#ifdef SWAN_MLX_X86
    void (*chunk)(swan_mlx_err *, const float *, size_t) = !e->portable && have_avx2() ? chunk_avx2 : chunk_generic;
#else
    void (*chunk)(swan_mlx_err *, const float *, size_t) = chunk_generic;
#endif
    for (size_t r = 0; r < nrows; r++) {
        const float *row = tile + r * ncols;
        for (size_t c = 0; c < ncols; c += CHUNK) {
            size_t len = ncols - c < CHUNK ? ncols - c : CHUNK;
            chunk(e, row + c, len);
        }
    }
}
