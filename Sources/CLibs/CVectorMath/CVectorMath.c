#include <strings.h>
#include <stdlib.h>
#include "CVectorMath.h"
#include <stdint.h>
#include <string.h>
#include <math.h>

/* Branch-free scalar helpers, inlined into each target variant and vectorized there. */
static inline __attribute__((always_inline)) float bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline __attribute__((always_inline)) uint32_t float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline __attribute__((always_inline)) float k_exp(float x) {
    float xc = x > 88.72283f ? 88.72283f : x;
    xc = xc < -87.33654f ? -87.33654f : xc;
    float t = xc * 1.442695041f + 12582912.0f;
    float n = t - 12582912.0f;
    int32_t ni = (int32_t)float_to_bits(t) - 0x4B400000;
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float er = p * r2 + r + 1.0f;
    int positive = ni > 0;
    int32_t e = positive ? ni - 1 : ni;
    float scale = bits_to_float((uint32_t)(e + 127) << 23);
    float res = er * scale * (positive ? 2.0f : 1.0f);
    float clipped = x > 88.72283f ? __builtin_inff() : (x < -87.33654f ? 0.0f : res);
    return x != x ? x : clipped;
}

static inline __attribute__((always_inline)) float k_log(float x) {
    uint32_t bits = float_to_bits(x);
    float e = (float)((int32_t)((bits >> 23) & 0xff) - 126);
    float m = bits_to_float((bits & 0x007fffffu) | 0x3f000000u);
    int small = m < 0.707106781f;
    e = small ? e - 1.0f : e;
    m = small ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float p = 7.0376836292e-2f;
    p = p * m - 1.1514610310e-1f;
    p = p * m + 1.1676998740e-1f;
    p = p * m - 1.2420140846e-1f;
    p = p * m + 1.4249322787e-1f;
    p = p * m - 1.6668057665e-1f;
    p = p * m + 2.0000714765e-1f;
    p = p * m - 2.4999993993e-1f;
    p = p * m + 3.3333331174e-1f;
    float y = m * z * p;
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    float r = m + y + 0.693359375f * e;
    r = x > 0.0f ? r : (x == 0.0f ? -__builtin_inff() : __builtin_nanf(""));
    return x == __builtin_inff() ? x : r;
}

static inline __attribute__((always_inline)) float k_tanh(float x) {
    float a = x < 0.0f ? -x : x;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = x + x * z * p;
    float e = k_exp(2.0f * a);
    float large = 1.0f - 2.0f / (e + 1.0f);
    float big = x < 0.0f ? -large : large;
    return a < 0.625f ? small : big;
}

static inline __attribute__((always_inline)) float k_erf(float x) {
    float a = x < 0.0f ? -x : x;
    float t = 1.0f / (1.0f + 0.5f * a);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    float r = 1.0f - t * k_exp(-a * a + p);
    float large = x < 0.0f ? -r : r;
    float z = x * x;
    float s = -1.0f / 1320.0f;
    s = s * z + 1.0f / 216.0f;
    s = s * z - 1.0f / 42.0f;
    s = s * z + 1.0f / 10.0f;
    s = s * z - 1.0f / 3.0f;
    float smallv = 1.1283791671f * (x + x * z * s);
    return a < 0.5f ? smallv : large;
}

static inline __attribute__((always_inline)) float k_sigmoid(float v) {
    float ev = k_exp(-(v < 0.0f ? -v : v));
    float p = 1.0f / (1.0f + ev);
    return v >= 0.0f ? p : ev * p;
}

/* sin (q0 = 0) or cos (q0 = 1) of x for |x| < 8192 (Cephes sinf/cosf): x = kπ/2 + r with
 * k from the octant 4|x|/π rounded up to even, r by a three-part Cody–Waite reduction, then
 * the minimax sine or cosine polynomial on [−π/4, π/4] chosen by k's parity and the sign
 * by k's second bit. Larger and non-finite |x| are reduced as x = 0 here: the callers
 * patch them through libm. */
static inline __attribute__((always_inline)) float k_sincos(float x, int32_t q0) {
    float a = x < 0.0f ? -x : x;
    float ac = a < 8192.0f ? a : 0.0f;
    int32_t j = ((int32_t)(ac * 1.27323954473516f) + 1) & ~1;
    float y = (float)j;
    float r = ((ac - y * 0.78515625f) - y * 2.4187564849853515625e-4f) - y * 3.77489497744594108e-8f;
    float z = r * r;
    float ps = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * r + r;
    float pc = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z - 0.5f * z + 1.0f;
    int32_t k = (j >> 1) + q0;
    float v = (k & 1) ? pc : ps;
    int32_t negative = ((k >> 1) & 1) ^ (q0 == 0 && x < 0.0f);
    return negative ? -v : v;
}

/* Each kernel is compiled three times from the same body: baseline (SSE2), AVX2+FMA and
 * AVX-512; the dispatcher picks the widest the CPU has (checked once). */
static int isa_level = -1;  /* 0 baseline, 1 AVX2+FMA, 2 AVX-512 */
static int svm_level(void) {
    if (isa_level < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
        isa_level = avx512 ? 2 : (avx2 ? 1 : 0);
    }
    return isa_level;
}
int svm_uses_avx2(void) { return svm_level() >= 1; }
int svm_isa_level(void) { return svm_level(); }

/* OpenBLAS (Debian's DYNAMIC_ARCH build, 0.3.21) picks its kernels from the CPU model
 * and falls back to Prescott (SSE3) on CPUs it does not know, such as the anonymous
 * "Intel Xeon Processor" of virtual machines, even when they have AVX-512: GEMMs then run
 * 1.5-3x slower. When OPENBLAS_CORETYPE is unset and the chosen core is below what the
 * CPU supports, re-select the Haswell (AVX2+FMA) or SkylakeX (AVX-512) kernels through
 * OpenBLAS's own initializer. Weak references: without these symbols nothing happens. */
extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

int svm_select_openblas_core(void) {
    if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return 0;
    if (getenv("OPENBLAS_CORETYPE")) return 0;
    const char *name = openblas_get_corename();
    if (!name) return 0;
    static const char *older[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "sandybridge", "unknown", 0};
    int below = 0;
    for (int i = 0; older[i]; i++) if (strcasecmp(name, older[i]) == 0) below = 1;
    int level = svm_level();
    if (!below || level < 1) return 0;
    setenv("OPENBLAS_CORETYPE", level >= 2 ? "SkylakeX" : "Haswell", 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    return 1;
}

/* At load time, before main and before any thread can be inside a BLAS call (OpenBLAS's
 * own constructor, in its shared library, has run already). */
__attribute__((constructor)) static void svm_init_openblas_core(void) { svm_select_openblas_core(); }

const char *svm_openblas_core(void) { return openblas_get_corename ? openblas_get_corename() : "unavailable"; }

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma"), min_vector_width(512)))

/* VARIANTS(name, params, args, loop): defines name_base / name_avx2 / name_avx512 with
 * `loop` as body, and the dispatching `name`. */
#define VARIANTS(name, params, args, loop)                                      \
    static void name##_base params { loop }                                     \
    AVX2 static void name##_avx2 params { loop }                                \
    AVX512 static void name##_avx512 params { loop }                            \
    void name params {                                                          \
        switch (svm_level()) {                                                  \
        case 2: name##_avx512 args; break;                                      \
        case 1: name##_avx2 args; break;                                        \
        default: name##_base args;                                              \
        }                                                                       \
    }

#define UNARY(name, expr)                                                       \
    VARIANTS(name, (const float *restrict x, float *restrict y, ptrdiff_t n), (x, y, n), \
             for (ptrdiff_t i = 0; i < n; i++) { float v = x[i]; y[i] = (expr); })

UNARY(svm_exp, k_exp(v))
UNARY(svm_log, k_log(v))
UNARY(svm_tanh, k_tanh(v))
UNARY(svm_sigmoid, k_sigmoid(v))
UNARY(svm_gelu, 0.5f * v * (1.0f + k_erf(v * 0.70710678118654752f)))

UNARY(svm_sin_core, k_sincos(v, 0))
UNARY(svm_cos_core, k_sincos(v, 1))

/* |x| ≥ 8192, infinities and NaN through libm (the polynomial's reduction is exact below). */
void svm_sin(const float *x, float *y, ptrdiff_t n) {
    svm_sin_core(x, y, n);
    for (ptrdiff_t i = 0; i < n; i++) if (!(x[i] < 8192.0f && x[i] > -8192.0f)) y[i] = sinf(x[i]);
}

void svm_cos(const float *x, float *y, ptrdiff_t n) {
    svm_cos_core(x, y, n);
    for (ptrdiff_t i = 0; i < n; i++) if (!(x[i] < 8192.0f && x[i] > -8192.0f)) y[i] = cosf(x[i]);
}

/* d/dx sin x = cos x, d/dx cos x = −sin x */
VARIANTS(svm_sincos_backward_core, (const float *restrict x, const float *restrict gy, float *restrict gx, ptrdiff_t n, int32_t cosine),
         (x, gy, gx, n, cosine),
         for (ptrdiff_t i = 0; i < n; i++) {
             float d = k_sincos(x[i], cosine ? 0 : 1);
             gx[i] = gy[i] * (cosine ? -d : d);
         })

void svm_sin_backward(const float *x, const float *gy, float *gx, ptrdiff_t n) {
    svm_sincos_backward_core(x, gy, gx, n, 0);
    for (ptrdiff_t i = 0; i < n; i++) if (!(x[i] < 8192.0f && x[i] > -8192.0f)) gx[i] = gy[i] * cosf(x[i]);
}

void svm_cos_backward(const float *x, const float *gy, float *gx, ptrdiff_t n) {
    svm_sincos_backward_core(x, gy, gx, n, 1);
    for (ptrdiff_t i = 0; i < n; i++) if (!(x[i] < 8192.0f && x[i] > -8192.0f)) gx[i] = -gy[i] * sinf(x[i]);
}

/* log(1 + e^{βx})/β = max(x, 0) + log(1 + e^{−β|x|})/β */
VARIANTS(svm_softplus, (const float *restrict x, float *restrict y, ptrdiff_t n, float b), (x, y, n, b),
         float ib = 1.0f / b;
         for (ptrdiff_t i = 0; i < n; i++) {
             float v = x[i];
             float a = v < 0.0f ? -v : v;
             y[i] = (v > 0.0f ? v : 0.0f) + ib * k_log(1.0f + k_exp(-b * a));
         })

/* d/dx xΦ(x) = Φ(x) + x φ(x) */
VARIANTS(svm_gelu_backward, (const float *restrict x, const float *restrict gy, float *restrict gx, ptrdiff_t n), (x, gy, gx, n),
         for (ptrdiff_t i = 0; i < n; i++) {
             float v = x[i];
             float cdf = 0.5f * (1.0f + k_erf(v * 0.70710678118654752f));
             gx[i] = gy[i] * (cdf + v * 0.3989422804014327f * k_exp(-0.5f * v * v));
         })

/* d/dx softplus_β(x) = σ(βx) */
VARIANTS(svm_softplus_backward, (const float *restrict x, const float *restrict gy, float *restrict gx, ptrdiff_t n, float b),
         (x, gy, gx, n, b),
         for (ptrdiff_t i = 0; i < n; i++) { gx[i] = gy[i] * k_sigmoid(b * x[i]); })

#if defined(__GLIBC__)
#include <malloc.h>
#endif
void svm_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
#endif
}

/* Strided gather into a contiguous block (a permutation of axes): with n0, n1 the two
 * innermost sizes and s0, s1 their source strides, item t of the outer index space (the
 * other axes, row-major) copies an n0 × n1 block to dst + t·n0·n1. */
#define PERMUTE_BODY(type)                                                                     \
    const type *restrict s = (const type *)src;                                                \
    type *restrict d = (type *)dst;                                                            \
    ptrdiff_t n0 = shape[rank - 2], n1 = shape[rank - 1], s0 = stride[rank - 2], s1 = stride[rank - 1]; \
    int outer = rank - 2;                                                                      \
    ptrdiff_t idx[16], off = 0, rem = start;                                                   \
    for (int a = outer - 1; a >= 0; a--) { idx[a] = rem % shape[a]; rem /= shape[a]; off += idx[a] * stride[a]; } \
    type *o = d + start * n0 * n1;                                                             \
    for (ptrdiff_t t = start; t < end; t++) {                                                  \
        const type *p = s + off;                                                               \
        if (s1 == 1) {                                                                         \
            for (ptrdiff_t i0 = 0; i0 < n0; i0++, o += n1) {                                   \
                const type *q = p + i0 * s0;                                                   \
                for (ptrdiff_t i1 = 0; i1 < n1; i1++) o[i1] = q[i1];                           \
            }                                                                                  \
        } else {                                                                               \
            for (ptrdiff_t i0 = 0; i0 < n0; i0++, o += n1) {                                   \
                const type *q = p + i0 * s0;                                                   \
                for (ptrdiff_t i1 = 0; i1 < n1; i1++) o[i1] = q[i1 * s1];                      \
            }                                                                                  \
        }                                                                                      \
        for (int a = outer - 1; a >= 0; a--) {                                                 \
            idx[a]++; off += stride[a];                                                        \
            if (idx[a] < shape[a]) break;                                                      \
            off -= stride[a] * shape[a]; idx[a] = 0;                                           \
        }                                                                                      \
    }

int svm_permute(int element_size, const void *src, void *dst, int rank, const ptrdiff_t *shape, const ptrdiff_t *stride,
                ptrdiff_t start, ptrdiff_t end) {
    if (rank < 2 || rank > 16) return -2;
    if (element_size == 4) { PERMUTE_BODY(uint32_t) return 0; }
    if (element_size == 8) { PERMUTE_BODY(uint64_t) return 0; }
    return -1;
}
