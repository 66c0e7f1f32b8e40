#include <hdf5.h>
#include <string.h>
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
static inline hid_t swiftpde_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline H5T_class_t swiftpde_h5t_integer_class(void) { return H5T_INTEGER; }
static inline hid_t swiftpde_h5t_native_int(void) { return H5T_NATIVE_INT; }
/* 1 when the dataset's data are stored contiguously or compactly inside the file (so the
   values cannot take more bytes than the file has), 0 for chunked/virtual, -1 on error. */
static inline int swiftpde_h5d_stored_inline(hid_t dset) {
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0) return -1;
    H5D_layout_t layout = H5Pget_layout(dcpl);
    H5Pclose(dcpl);
    if (layout < 0) return -1;
    return (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) ? 1 : 0;
}

/* Dataset listing: visits every link and keeps the paths that name datasets,
   newline-separated, into buf (capacity cap). Returns the bytes needed (excluding the
   terminating NUL), or -1 on an HDF5 error. */
typedef struct { char *buf; size_t cap; size_t len; } swiftpde_h5_list_ctx;
static herr_t swiftpde_h5_list_cb(hid_t group, const char *name, const H5L_info_t *info, void *op) {
    (void)info;
    swiftpde_h5_list_ctx *ctx = (swiftpde_h5_list_ctx *)op;
    H5O_info_t oinfo;
    if (H5Oget_info_by_name(group, name, &oinfo, H5P_DEFAULT) < 0) return 0;
    if (oinfo.type != H5O_TYPE_DATASET) return 0;
    size_t n = strlen(name);
    if (ctx->len + n + 1 < ctx->cap) {
        memcpy(ctx->buf + ctx->len, name, n);
        ctx->buf[ctx->len + n] = '\n';
        ctx->buf[ctx->len + n + 1] = 0;
    }
    ctx->len += n + 1;
    return 0;
}
static inline long swiftpde_h5_list_datasets(hid_t file, char *buf, size_t cap) {
    swiftpde_h5_list_ctx ctx = { buf, cap, 0 };
    if (cap > 0) buf[0] = 0;
    if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, swiftpde_h5_list_cb, &ctx) < 0) return -1;
    return (long)ctx.len;
}
