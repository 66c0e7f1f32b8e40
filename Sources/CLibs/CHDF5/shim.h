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
/* Appendable datasets, attributes and file access (HDF5DatasetFile). */
static inline hid_t swiftpde_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t swiftpde_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t swiftpde_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t swiftpde_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hsize_t swiftpde_h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline unsigned swiftpde_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline H5Z_filter_t swiftpde_h5z_filter_deflate(void) { return H5Z_FILTER_DEFLATE; }
static inline H5Z_filter_t swiftpde_h5z_filter_shuffle(void) { return H5Z_FILTER_SHUFFLE; }
static inline H5T_class_t swiftpde_h5t_string_class(void) { return H5T_STRING; }
/* A variable-length UTF-8 string type (what h5py writes for a Python str and reads back
   as str); the caller closes it. -1 on error. */
static inline hid_t swiftpde_h5t_vlen_utf8(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) { H5Tclose(t); return -1; }
    return t;
}
/* The id of filter idx of a dataset creation property list and its first parameter (the
   level of deflate) in *first; a negative value on error. */
static inline int swiftpde_h5p_filter(hid_t dcpl, unsigned idx, unsigned *first) {
    unsigned flags = 0, config = 0, cd[4] = {0, 0, 0, 0};
    size_t n = 4;
    char name[64];
    H5Z_filter_t f = H5Pget_filter2(dcpl, idx, &flags, &n, cd, sizeof name, name, &config);
    *first = n > 0 ? cd[0] : 0;
    return (int)f;
}
/* Chunk extents of a chunked dataset's creation property list into dims (capacity rank);
   the chunk rank, 0 when the layout is not chunked, -1 on error. */
static inline int swiftpde_h5p_chunk(hid_t dcpl, int rank, hsize_t *dims) {
    H5D_layout_t layout = H5Pget_layout(dcpl);
    if (layout < 0) return -1;
    if (layout != H5D_CHUNKED) return 0;
    return H5Pget_chunk(dcpl, rank, dims);
}

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
