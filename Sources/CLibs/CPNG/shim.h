#include <png.h>
#include <stdio.h>
#include <setjmp.h>
/* libpng reports errors with longjmp; Swift cannot setjmp, so the whole write lives in C.
   Writes an 8-bit RGB image (rows top to bottom, 3*width bytes each).
   Returns 0 on success, 1 when the file cannot be opened, 2 on a libpng error. */
static inline int swiftpde_png_write_rgb8(const char *path, const unsigned char *rgb,
                                          unsigned width, unsigned height) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return 1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png) { fclose(fp); return 2; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_write_struct(&png, NULL); fclose(fp); return 2; }
    if (setjmp(png_jmpbuf(png))) { png_destroy_write_struct(&png, &info); fclose(fp); return 2; }
    png_init_io(png, fp);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (unsigned y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * 3u * width));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(fp) != 0) return 1;
    return 0;
}
/* Reads an 8-bit grayscale or RGB(A) PNG, converted to 8-bit gray. Caller frees *out with free().
   Returns 0 on success, 1 when the file cannot be opened, 2 when it is not a valid PNG. */
static inline int swiftpde_png_read_gray8(const char *path, unsigned char **out,
                                          unsigned *width, unsigned *height) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return 1;
    unsigned char sig[8];
    if (fread(sig, 1, 8, fp) != 8 || png_sig_cmp(sig, 0, 8)) { fclose(fp); return 2; }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png) { fclose(fp); return 2; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); fclose(fp); return 2; }
    unsigned char *volatile buf = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL); fclose(fp); free(buf); return 2;
    }
    png_init_io(png, fp);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_packing(png);
    png_byte ct = png_get_color_type(png, info);
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ct == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (ct == PNG_COLOR_TYPE_RGB || ct == PNG_COLOR_TYPE_RGB_ALPHA || ct == PNG_COLOR_TYPE_PALETTE)
        png_set_rgb_to_gray_fixed(png, 1, -1, -1);
    png_read_update_info(png, info);
    unsigned w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    buf = (unsigned char *)malloc(rowbytes * h);
    if (!buf) { png_destroy_read_struct(&png, &info, NULL); fclose(fp); return 2; }
    for (unsigned y = 0; y < h; y++) png_read_row(png, buf + (size_t)y * rowbytes, NULL);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    *out = buf; *width = w; *height = h;
    return 0;
}
