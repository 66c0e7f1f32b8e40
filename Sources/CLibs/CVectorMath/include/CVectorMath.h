#ifndef SWIFTPDE_CVECTORMATH_H
#define SWIFTPDE_CVECTORMATH_H
/* Float element kernels for the Learning module, compiled three times (baseline SSE2,
 * AVX2+FMA, AVX-512) and dispatched at run time: Swift cannot set target features per function,
 * and these transcendental kernels are compute-bound. The algorithms are the ones of
 * Learning's Swift fallbacks (Cephes expf/logf/tanhf, Numerical Recipes erfc). */
#include <stddef.h>

/* y[i] = f(x[i]) */
void svm_exp(const float *x, float *y, ptrdiff_t n);
void svm_log(const float *x, float *y, ptrdiff_t n);
void svm_tanh(const float *x, float *y, ptrdiff_t n);
void svm_sigmoid(const float *x, float *y, ptrdiff_t n);
void svm_softplus(const float *x, float *y, ptrdiff_t n, float beta);
void svm_gelu(const float *x, float *y, ptrdiff_t n);
/* Cephes sinf/cosf polynomials for |x| < 8192 (within 2 ulp of the Double functions
 * rounded), libm beyond and for non-finite x. */
void svm_sin(const float *x, float *y, ptrdiff_t n);
void svm_cos(const float *x, float *y, ptrdiff_t n);
/* gx[i] = gy[i] * f'(x[i]) */
void svm_gelu_backward(const float *x, const float *gy, float *gx, ptrdiff_t n);
void svm_softplus_backward(const float *x, const float *gy, float *gx, ptrdiff_t n, float beta);
void svm_sin_backward(const float *x, const float *gy, float *gx, ptrdiff_t n);
void svm_cos_backward(const float *x, const float *gy, float *gx, ptrdiff_t n);
/* 1 when the AVX2+FMA (or AVX-512) versions run on this machine. */
int svm_uses_avx2(void);

/* 0 baseline, 1 AVX2+FMA, 2 AVX-512: the variant the kernels run. */
int svm_isa_level(void);

/* Direct 3x3 (dims 2: x [B, cin, height, width]) or 3x3x3 (dims 3: [B, cin, depth, height,
 * width]) convolutions, stride 1, padding 1, float32, w [cout, cin, 3, 3(, 3)] (Conv3.c).
 * Work items are chunks of `chunk_rows` output rows of one image and plane, numbered
 * ((b * depth + z) * chunks + chunk); svm_conv3_items gives their count. forward writes
 * y [B, cout, ...] for items [item_start, item_end); weight_gradient adds the items'
 * contributions to dw [cout, cin, 3, 3(, 3)] from x and gy [B, cout, ...]. Both return 0,
 * -1 when scratch memory cannot be allocated, -2 for dims other than 2 and 3. */
ptrdiff_t svm_conv3_items(int dims, ptrdiff_t batch, ptrdiff_t depth, ptrdiff_t height, ptrdiff_t chunk_rows);
int svm_conv3_forward(int dims, const float *x, const float *w, float *y, ptrdiff_t cin, ptrdiff_t cout,
                      ptrdiff_t depth, ptrdiff_t height, ptrdiff_t width, ptrdiff_t chunk_rows,
                      ptrdiff_t item_start, ptrdiff_t item_end);
int svm_conv3_weight_gradient(int dims, const float *x, const float *gy, float *dw, ptrdiff_t cin, ptrdiff_t cout,
                              ptrdiff_t depth, ptrdiff_t height, ptrdiff_t width, ptrdiff_t chunk_rows,
                              ptrdiff_t item_start, ptrdiff_t item_end);

/* dst (contiguous, `shape` [rank], 2 ≤ rank ≤ 16) = src read with `stride` (elements of
 * `element_size` 4 or 8 bytes); copies the items [start, end) of the outer index space
 * (every axis but the last two, row-major), each an n0 × n1 block of the two innermost
 * axes. Returns 0, -1 for another element size, -2 for a rank out of range. */
int svm_permute(int element_size, const void *src, void *dst, int rank, const ptrdiff_t *shape, const ptrdiff_t *stride,
                ptrdiff_t start, ptrdiff_t end);

/* glibc: serve large blocks from the heap and keep freed memory (no page faults for
 * the tensors allocated and freed on every training step). */
void svm_keep_freed_memory(void);
/* Re-selects OpenBLAS's kernels when it fell back below the CPU's level (Prescott on an
 * unrecognised AVX2/AVX-512 CPU) and OPENBLAS_CORETYPE is unset; 1 when it did. Runs
 * once by itself at load time (a constructor); calling it while another thread is in a
 * BLAS call is unsafe. */
int svm_select_openblas_core(void);
/* OpenBLAS's kernel family ("SkylakeX", "Haswell", "Prescott", ...). */
const char *svm_openblas_core(void);

#endif
