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
/* gx[i] = gy[i] * f'(x[i]) */
void svm_gelu_backward(const float *x, const float *gy, float *gx, ptrdiff_t n);
void svm_softplus_backward(const float *x, const float *gy, float *gx, ptrdiff_t n, float beta);
/* 1 when the AVX2+FMA (or AVX-512) versions run on this machine. */
int svm_uses_avx2(void);

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
