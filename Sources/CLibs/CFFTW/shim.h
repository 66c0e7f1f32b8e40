#include <fftw3.h>
static inline unsigned swiftpde_fftw_measure(void) { return FFTW_MEASURE; }
static inline unsigned swiftpde_fftw_estimate(void) { return FFTW_ESTIMATE; }
static inline unsigned swiftpde_fftw_destroy_input(void) { return FFTW_DESTROY_INPUT; }
static inline unsigned swiftpde_fftw_unaligned(void) { return FFTW_UNALIGNED; }
