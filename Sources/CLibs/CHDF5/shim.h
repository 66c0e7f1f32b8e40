#include <hdf5.h>
/* HDF5's type and property constants are macros over global ids that need H5open():
   expose them as functions Swift can call. */
static inline hid_t swiftpde_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t swiftpde_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t swiftpde_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t swiftpde_h5s_all(void) { return H5S_ALL; }
static inline unsigned swiftpde_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned swiftpde_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned swiftpde_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline H5T_class_t swiftpde_h5t_float_class(void) { return H5T_FLOAT; }
/* Silence HDF5's automatic error stack printing: errors are reported as typed Swift errors. */
static inline void swiftpde_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
