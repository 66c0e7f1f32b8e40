#include <png.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
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
/* Decodes a PNG held in memory to 8-bit gray with libpng's simplified API, which catches
   libpng's errors internally (no longjmp reaches the caller). Color is converted to gray;
   transparent pixels are composited onto white. Images of more than max_pixels pixels are
   refused before the pixel buffer is allocated. The caller frees *out with free().
   Returns 0 on success, 2 when libpng rejects the data (its reason in message),
   3 when the image is larger than max_pixels, 4 when memory runs out. */
static inline int swiftpde_png_decode_gray8(const void *data, size_t size, size_t max_pixels,
                                            unsigned char **out, unsigned *width, unsigned *height,
                                            char *message, size_t message_cap) {
    *out = NULL; *width = 0; *height = 0;
    if (message_cap > 0) message[0] = 0;
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        if (message_cap > 0) { strncpy(message, image.message, message_cap - 1); message[message_cap - 1] = 0; }
        png_image_free(&image);
        return 2;
    }
    *width = image.width; *height = image.height;
    if (image.width == 0 || image.height == 0 ||
        (size_t)image.width > max_pixels / (size_t)image.height) {
        png_image_free(&image);
        return 3;
    }
    image.format = PNG_FORMAT_GRAY;
    size_t bytes = (size_t)image.width * (size_t)image.height;
    unsigned char *buf = (unsigned char *)malloc(bytes);
    if (!buf) { png_image_free(&image); return 4; }
    memset(buf, 255, bytes);
    png_color white = { 255, 255, 255 };
    if (!png_image_finish_read(&image, &white, buf, 0, NULL)) {
        if (message_cap > 0) { strncpy(message, image.message, message_cap - 1); message[message_cap - 1] = 0; }
        png_image_free(&image);
        free(buf);
        return 2;
    }
    *out = buf;
    return 0;
}
