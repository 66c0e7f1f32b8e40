#include <fftw3.h>
static inline unsigned swiftpde_fftw_measure(void) { return FFTW_MEASURE; }
static inline unsigned swiftpde_fftw_estimate(void) { return FFTW_ESTIMATE; }
static inline unsigned swiftpde_fftw_destroy_input(void) { return FFTW_DESTROY_INPUT; }
static inline unsigned swiftpde_fftw_unaligned(void) { return FFTW_UNALIGNED; }
static inline unsigned swiftpde_fftw_preserve_input(void) { return FFTW_PRESERVE_INPUT; }
static inline int swiftpde_fftw_forward(void) { return FFTW_FORWARD; }
static inline int swiftpde_fftw_backward(void) { return FFTW_BACKWARD; }
/* Real-to-real kinds (fftw_r2r_kind is an enum; exposed as plain ints for Swift). */
static inline int swiftpde_fftw_redft00(void) { return FFTW_REDFT00; }
static inline int swiftpde_fftw_redft10(void) { return FFTW_REDFT10; }
static inline int swiftpde_fftw_redft01(void) { return FFTW_REDFT01; }
static inline int swiftpde_fftw_rodft00(void) { return FFTW_RODFT00; }
static inline int swiftpde_fftw_rodft10(void) { return FFTW_RODFT10; }
static inline int swiftpde_fftw_rodft01(void) { return FFTW_RODFT01; }
static inline int swiftpde_fftw_dht(void) { return FFTW_DHT; }
