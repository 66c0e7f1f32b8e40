#include <mpi.h>
/* Open MPI's handles and constants are macros over global objects: expose them as
   functions Swift can call. Only built with the package trait MPI (swift build --traits MPI). */
static inline MPI_Comm swiftpde_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm swiftpde_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype swiftpde_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype swiftpde_mpi_long(void) { return MPI_LONG; }
static inline MPI_Datatype swiftpde_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op swiftpde_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op swiftpde_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op swiftpde_mpi_min(void) { return MPI_MIN; }
static inline int swiftpde_mpi_proc_null(void) { return MPI_PROC_NULL; }
static inline int swiftpde_mpi_success(void) { return MPI_SUCCESS; }
static inline int swiftpde_mpi_undefined(void) { return MPI_UNDEFINED; }
static inline int swiftpde_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int swiftpde_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline MPI_Errhandler swiftpde_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request swiftpde_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *swiftpde_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline void *swiftpde_mpi_in_place(void) { return MPI_IN_PLACE; }
/* FFTW's MPI interface (libfftw3-mpi-dev): slab-distributed transforms. */
#include <fftw3-mpi.h>
/* fftw3-mpi flags (macros): the spectrum of an r2c left transposed, and the c2r reading it so. */
static inline unsigned swiftpde_fftw_mpi_transposed_in(void) { return FFTW_MPI_TRANSPOSED_IN; }
static inline unsigned swiftpde_fftw_mpi_transposed_out(void) { return FFTW_MPI_TRANSPOSED_OUT; }
