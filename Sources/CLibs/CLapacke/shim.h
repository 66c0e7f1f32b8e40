#define HAVE_LAPACK_CONFIG_H 1
#define LAPACK_COMPLEX_STRUCTURE 1
#include <lapacke.h>
