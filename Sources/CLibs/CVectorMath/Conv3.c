/* Direct 3x3 / 3x3x3 convolutions (stride 1, one zero on each side: "same" size), float32,
 * NC[D]HW layout, for the small channel counts of the DCDM network, where im2col + SGEMM
 * spends its time in the column copies and in GEMMs with 16 rows.
 *
 * The work is cut into items: one item is a chunk of up to `chunk_rows` consecutive output
 * rows (last axis = a row) of one image and one depth plane. Per item the input rows it
 * needs are copied into a panel P[ci][kd][chunk_rows + 2][L] with a zero before each row and
 * zeros after it (rows outside the image are zero), so every tap is an unaligned vector
 * load and no tap tests a border. Outputs are vectorized along the row (8 floats), four
 * output channels x two vectors at a time (8 accumulators: with 12, AVX2's 16 registers
 * spill); the weight gradient keeps four output
 * channels x three taps of a row in 12 accumulators over the whole chunk and sums them
 * across lanes once per chunk.
 *
 * Compiled as baseline (SSE2), AVX2+FMA and AVX-512 variants and dispatched at run time like
 * the element kernels of CVectorMath.c. Summation order is fixed by the geometry (not by the
 * thread count), so results are reproducible. */
#include <stdlib.h>
#include <string.h>
#include "CVectorMath.h"

int svm_isa_level(void);

typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
typedef float v2 __attribute__((vector_size(8)));

/* Macros, not functions: a v8 argument or result outside an AVX function changes the ABI. */
#define ld8(p) ({ v8 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define st8(p, v) do { v8 w_ = (v); memcpy((p), &w_, sizeof w_); } while (0)
#define hsum8(v) ({                                                                                   \
    v8 h_ = (v);                                                                                         \
    v4 q_ = __builtin_shufflevector(h_, h_, 0, 1, 2, 3) + __builtin_shufflevector(h_, h_, 4, 5, 6, 7);     \
    v2 d_ = __builtin_shufflevector(q_, q_, 0, 1) + __builtin_shufflevector(q_, q_, 2, 3);                \
    d_[0] + d_[1];                                                                                       \
})

typedef struct {
    ptrdiff_t cin, cout, depth, height, width, kd; /* kd: 1 (2-D) or 3 (3-D) kernel planes */
    ptrdiff_t chunk_rows, chunks, nve, len;        /* nve: vectors per row rounded up to even */
} geom_t;

static geom_t make_geom(int dims, ptrdiff_t cin, ptrdiff_t cout, ptrdiff_t depth, ptrdiff_t height, ptrdiff_t width,
                        ptrdiff_t chunk_rows) {
    geom_t g;
    g.cin = cin; g.cout = cout; g.depth = dims == 3 ? depth : 1; g.height = height; g.width = width;
    g.kd = dims == 3 ? 3 : 1;
    g.chunk_rows = chunk_rows < 1 ? 1 : (chunk_rows > height ? height : chunk_rows);
    g.chunks = (height + g.chunk_rows - 1) / g.chunk_rows;
    ptrdiff_t nv = (width + 7) / 8;
    g.nve = (nv + 1) & ~(ptrdiff_t)1;
    g.len = g.nve * 8 + 8;
    return g;
}

ptrdiff_t svm_conv3_items(int dims, ptrdiff_t batch, ptrdiff_t depth, ptrdiff_t height, ptrdiff_t chunk_rows) {
    ptrdiff_t r = chunk_rows < 1 ? 1 : (chunk_rows > height ? height : chunk_rows);
    return batch * (dims == 3 ? depth : 1) * ((height + r - 1) / r);
}

/* The panel of item (b, z, chunk): input rows i0 - 1 ... i0 + nr of planes z - 1 ... z + 1. */
static inline __attribute__((always_inline)) void fill_panel(const geom_t *g, const float *x, ptrdiff_t b, ptrdiff_t z,
                                                             ptrdiff_t i0, ptrdiff_t nr, float *p) {
    const ptrdiff_t plane = g->height * g->width, image = g->cin * g->depth * plane;
    for (ptrdiff_t ci = 0; ci < g->cin; ci++)
        for (ptrdiff_t kd = 0; kd < g->kd; kd++) {
            ptrdiff_t zz = g->kd == 3 ? z + kd - 1 : z;
            for (ptrdiff_t pr = 0; pr < g->chunk_rows + 2; pr++) {
                float *row = p + ((ci * g->kd + kd) * (g->chunk_rows + 2) + pr) * g->len;
                ptrdiff_t i = i0 + pr - 1;
                if (pr < nr + 2 && zz >= 0 && zz < g->depth && i >= 0 && i < g->height) {
                    row[0] = 0;
                    memcpy(row + 1, x + b * image + (ci * g->depth + zz) * plane + i * g->width, (size_t)g->width * sizeof(float));
                    memset(row + 1 + g->width, 0, (size_t)(g->len - 1 - g->width) * sizeof(float));
                } else {
                    memset(row, 0, (size_t)g->len * sizeof(float));
                }
            }
        }
}

static inline __attribute__((always_inline)) void item_coordinates(const geom_t *g, ptrdiff_t item, ptrdiff_t *b, ptrdiff_t *z,
                                                                   ptrdiff_t *i0, ptrdiff_t *nr) {
    ptrdiff_t c = item % g->chunks, rest = item / g->chunks;
    *z = rest % g->depth;
    *b = rest / g->depth;
    *i0 = c * g->chunk_rows;
    *nr = g->height - *i0 < g->chunk_rows ? g->height - *i0 : g->chunk_rows;
}

/* Output channels co0 ..< co0 + COB of output row r of the chunk, vectors jv0 ..< jv0 + JB. */
#define FORWARD_BLOCK(COB, JB)                                                                               \
    {                                                                                                        \
        v8 acc[COB][JB];                                                                                     \
        for (int c = 0; c < COB; c++)                                                                        \
            for (int h = 0; h < JB; h++) acc[c][h] = (v8){0};                                                \
        for (ptrdiff_t ci = 0; ci < g->cin; ci++)                                                           \
            for (ptrdiff_t kd = 0; kd < g->kd; kd++)                                                        \
                for (int di = 0; di < 3; di++) {                                                             \
                    const float *row = p + ((ci * g->kd + kd) * (g->chunk_rows + 2) + r + di) * g->len + jv0 * 8; \
                    const float *wt = w + (co0 * g->cin + ci) * taps + (kd * 3 + di) * 3;                   \
                    for (int dj = 0; dj < 3; dj++) {                                                         \
                        v8 xv[JB];                                                                           \
                        for (int h = 0; h < JB; h++) xv[h] = ld8(row + 8 * h + dj);                          \
                        for (int c = 0; c < COB; c++) {                                                      \
                            float s = wt[c * g->cin * taps + dj];                                            \
                            for (int h = 0; h < JB; h++) acc[c][h] += s * xv[h];                             \
                        }                                                                                    \
                    }                                                                                        \
                }                                                                                            \
        for (int c = 0; c < COB; c++) {                                                                      \
            float *out = y + b * ystride + ((co0 + c) * g->depth + z) * plane + (i0 + r) * g->width;        \
            for (int h = 0; h < JB; h++) {                                                                   \
                ptrdiff_t j = (jv0 + h) * 8;                                                                 \
                if (j + 8 <= g->width) st8(out + j, acc[c][h]);                                              \
                else for (ptrdiff_t t = j; t < g->width; t++) out[t] = acc[c][h][t - j];                     \
            }                                                                                                \
        }                                                                                                    \
    }

/* All output channels (blocks of four, then single ones) of vectors jv0 ..< jv0 + JB. */
#define FORWARD_COLUMNS(JB)                                                                                  \
    {                                                                                                        \
        ptrdiff_t co0 = 0;                                                                                   \
        for (; co0 + 6 <= g->cout; co0 += 6) FORWARD_BLOCK(6, JB)                                            \
        for (; co0 + 4 <= g->cout; co0 += 4) FORWARD_BLOCK(4, JB)                                            \
        for (; co0 < g->cout; co0++) FORWARD_BLOCK(1, JB)                                                    \
    }

#define FORWARD_BODY                                                                                         \
    geom_t gg = make_geom(dims, cin, cout, depth, height, width, chunk_rows);                                \
    const geom_t *g = &gg;                                                                                   \
    const ptrdiff_t taps = g->kd * 9, plane = g->height * g->width, ystride = g->cout * g->depth * plane;   \
    const ptrdiff_t nv = (g->width + 7) / 8;                                                                 \
    float *p = malloc((size_t)(g->cin * g->kd * (g->chunk_rows + 2) * g->len) * sizeof(float));             \
    if (!p) return -1;                                                                                       \
    for (ptrdiff_t item = item_start; item < item_end; item++) {                                             \
        ptrdiff_t b, z, i0, nr;                                                                              \
        item_coordinates(g, item, &b, &z, &i0, &nr);                                                         \
        fill_panel(g, x, b, z, i0, nr, p);                                                                   \
        for (ptrdiff_t r = 0; r < nr; r++) {                                                                 \
            ptrdiff_t jv0 = 0;                                                                               \
            for (; jv0 + 2 <= nv; jv0 += 2) FORWARD_COLUMNS(2)                                               \
            if (jv0 < nv) FORWARD_COLUMNS(1)                                                                 \
        }                                                                                                    \
    }                                                                                                        \
    free(p);                                                                                                 \
    return 0;

/* Both kernels: x, a second input (w or gy), an output (y or dw), then the geometry. */
#define CONV3_PARAMS(in2, out)                                                                               \
    (int dims, const float *restrict x, const float *restrict in2, float *restrict out, ptrdiff_t cin, ptrdiff_t cout, \
     ptrdiff_t depth, ptrdiff_t height, ptrdiff_t width, ptrdiff_t chunk_rows, ptrdiff_t item_start, ptrdiff_t item_end)
#define CONV3_ARGS(in2, out) (dims, x, in2, out, cin, cout, depth, height, width, chunk_rows, item_start, item_end)
#define FORWARD_PARAMS CONV3_PARAMS(w, y)
#define FORWARD_ARGS CONV3_ARGS(w, y)

/* Output channels co0 ..< co0 + COB, input channel ci, kernel row (kd, di): the three taps
 * dj summed over the chunk's rows and the row's vectors. */
#define WGRAD_BLOCK(COB)                                                                                     \
    {                                                                                                        \
        v8 acc[COB][3];                                                                                      \
        for (int c = 0; c < COB; c++) acc[c][0] = acc[c][1] = acc[c][2] = (v8){0};                           \
        for (ptrdiff_t r = 0; r < nr; r++) {                                                                 \
            const float *row = p + ((ci * g->kd + kd) * (g->chunk_rows + 2) + r + di) * g->len;             \
            const float *gr = gbase + co0 * gcs + r * grs;                                                   \
            for (ptrdiff_t jv = 0; jv < nv; jv++) {                                                          \
                v8 x0 = ld8(row + jv * 8), x1 = ld8(row + jv * 8 + 1), x2 = ld8(row + jv * 8 + 2);           \
                for (int c = 0; c < COB; c++) {                                                              \
                    v8 gv = ld8(gr + c * gcs + jv * 8);                                                      \
                    acc[c][0] += gv * x0;                                                                    \
                    acc[c][1] += gv * x1;                                                                    \
                    acc[c][2] += gv * x2;                                                                    \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
        for (int c = 0; c < COB; c++)                                                                        \
            for (int dj = 0; dj < 3; dj++)                                                                   \
                dw[((co0 + c) * g->cin + ci) * taps + (kd * 3 + di) * 3 + dj] += hsum8(acc[c][dj]);          \
    }

#define WGRAD_BODY                                                                                           \
    geom_t gg = make_geom(dims, cin, cout, depth, height, width, chunk_rows);                                \
    const geom_t *g = &gg;                                                                                   \
    const ptrdiff_t taps = g->kd * 9, plane = g->height * g->width, gstride = g->cout * g->depth * plane;   \
    const ptrdiff_t nv = (g->width + 7) / 8, glen = nv * 8;                                                   \
    /* Rows of gy are read in place when whole vectors cover them, else from a zero-padded copy. */         \
    const int in_place = g->width % 8 == 0;                                                                  \
    float *p = malloc((size_t)(g->cin * g->kd * (g->chunk_rows + 2) * g->len) * sizeof(float));             \
    float *q = in_place ? NULL : malloc((size_t)(g->cout * g->chunk_rows * glen) * sizeof(float));           \
    if (!p || (!in_place && !q)) { free(p); free(q); return -1; }                                            \
    for (ptrdiff_t item = item_start; item < item_end; item++) {                                             \
        ptrdiff_t b, z, i0, nr;                                                                              \
        item_coordinates(g, item, &b, &z, &i0, &nr);                                                         \
        fill_panel(g, x, b, z, i0, nr, p);                                                                   \
        const float *gbase = in_place ? gy + b * gstride + z * plane + i0 * g->width : q;                    \
        const ptrdiff_t gcs = in_place ? g->depth * plane : g->chunk_rows * glen;                            \
        const ptrdiff_t grs = in_place ? g->width : glen;                                                    \
        if (!in_place)                                                                                       \
        for (ptrdiff_t co = 0; co < g->cout; co++)                                                           \
            for (ptrdiff_t r = 0; r < g->chunk_rows; r++) {                                                  \
                float *dst = q + (co * g->chunk_rows + r) * glen;                                            \
                if (r < nr) {                                                                                \
                    memcpy(dst, gy + b * gstride + (co * g->depth + z) * plane + (i0 + r) * g->width,        \
                           (size_t)g->width * sizeof(float));                                                \
                    memset(dst + g->width, 0, (size_t)(glen - g->width) * sizeof(float));                    \
                } else {                                                                                     \
                    memset(dst, 0, (size_t)glen * sizeof(float));                                            \
                }                                                                                            \
            }                                                                                                \
        for (ptrdiff_t ci = 0; ci < g->cin; ci++)                                                            \
            for (ptrdiff_t kd = 0; kd < g->kd; kd++)                                                         \
                for (int di = 0; di < 3; di++) {                                                             \
                    ptrdiff_t co0 = 0;                                                                       \
                    for (; co0 + 4 <= g->cout; co0 += 4) WGRAD_BLOCK(4)                                      \
                    for (; co0 < g->cout; co0++) WGRAD_BLOCK(1)                                              \
                }                                                                                            \
    }                                                                                                        \
    free(p);                                                                                                 \
    free(q);                                                                                                 \
    return 0;

#define WGRAD_PARAMS CONV3_PARAMS(gy, dw)
#define WGRAD_ARGS CONV3_ARGS(gy, dw)

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))

static int conv3_forward_base FORWARD_PARAMS { FORWARD_BODY }
AVX2 static int conv3_forward_avx2 FORWARD_PARAMS { FORWARD_BODY }
AVX512 static int conv3_forward_avx512 FORWARD_PARAMS { FORWARD_BODY }
static int conv3_wgrad_base WGRAD_PARAMS { WGRAD_BODY }
AVX2 static int conv3_wgrad_avx2 WGRAD_PARAMS { WGRAD_BODY }
AVX512 static int conv3_wgrad_avx512 WGRAD_PARAMS { WGRAD_BODY }

int svm_conv3_forward FORWARD_PARAMS {
    if (dims != 2 && dims != 3) return -2;
    switch (svm_isa_level()) {
    case 2: return conv3_forward_avx512 FORWARD_ARGS;
    case 1: return conv3_forward_avx2 FORWARD_ARGS;
    default: return conv3_forward_base FORWARD_ARGS;
    }
}

int svm_conv3_weight_gradient WGRAD_PARAMS {
    if (dims != 2 && dims != 3) return -2;
    switch (svm_isa_level()) {
    case 2: return conv3_wgrad_avx512 WGRAD_ARGS;
    case 1: return conv3_wgrad_avx2 WGRAD_ARGS;
    default: return conv3_wgrad_base WGRAD_ARGS;
    }
}
