#include <suitesparse/cholmod.h>
static inline int swiftpde_cholmod_ok(void) { return CHOLMOD_OK; }
static inline int swiftpde_cholmod_not_posdef(void) { return CHOLMOD_NOT_POSDEF; }
static inline int swiftpde_cholmod_real(void) { return CHOLMOD_REAL; }
static inline int swiftpde_cholmod_double(void) { return CHOLMOD_DOUBLE; }
static inline int swiftpde_cholmod_int(void) { return CHOLMOD_INT; }
static inline int swiftpde_cholmod_a(void) { return CHOLMOD_A; }
static inline int swiftpde_cholmod_amd(void) { return CHOLMOD_AMD; }
static inline int swiftpde_cholmod_natural(void) { return CHOLMOD_NATURAL; }
static inline int swiftpde_cholmod_simplicial(void) { return CHOLMOD_SIMPLICIAL; }
static inline int swiftpde_cholmod_auto(void) { return CHOLMOD_AUTO; }
static inline int swiftpde_cholmod_supernodal(void) { return CHOLMOD_SUPERNODAL; }
