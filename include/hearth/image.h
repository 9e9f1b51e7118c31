/*
 * image.h — decoded images: PNG, JPEG, WebP, GIF (first frame) and BMP into
 * 8-bit pixels.
 *
 *   hearth_image img;
 *   if (hearth_image_load("part.png", 3, &img) == HEARTH_OK) {
 *       ... img.data[(y * img.w + x) * img.c + ch] ...
 *       hearth_image_free(&img);
 *   }
 *
 * Decoders (chosen for safety: every image a server receives is hostile
 * input): libpng, libjpeg-turbo, libwebp and giflib as Debian ships them —
 * maintained, fuzzed continuously by OSS-Fuzz, and patched by the
 * distribution's security updates without rebuilding hearth. BMP is
 * hearth's own small reader (uncompressed 8/24/32-bit only, every size
 * checked before use). The format is found from the first bytes, never from
 * the file name.
 *
 * Limits against decompression bombs and hostile headers are checked from the
 * header, before any pixel memory is allocated: width and height at most
 * max_dim, width × height at most max_pixels; progressive JPEGs of more than
 * 500 scans and truncated files are refused. Every failure is a status with
 * a message naming the format and what was wrong (HEARTH_ERR_FORMAT for a
 * corrupt or truncated file, HEARTH_ERR_RANGE for a size over a limit,
 * HEARTH_ERR_UNSUPPORTED for a format or variant hearth does not read).
 *
 * Conversions: palette and gray images are expanded, 16-bit samples keep
 * their high byte, alpha is dropped (not composited: the colour under a
 * transparent pixel is what a model sees, as llama.cpp's loader does); gray
 * to RGB copies the value to the three channels; RGB to gray is
 * (77 R + 150 G + 29 B) >> 8.
 */
#ifndef HEARTH_IMAGE_H
#define HEARTH_IMAGE_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* c = 1 (gray) or 3 (RGB); rows top to bottom, channels interleaved; data
 * (w * h * c bytes) is owned by the image and freed by hearth_image_free. */
typedef struct hearth_image {
    int w, h, c;
    uint8_t *data;
} hearth_image;

typedef enum hearth_image_format {
    HEARTH_IMAGE_UNKNOWN = 0,
    HEARTH_IMAGE_PNG = 1,
    HEARTH_IMAGE_JPEG = 2,
    HEARTH_IMAGE_WEBP = 3,
    HEARTH_IMAGE_GIF = 4,
    HEARTH_IMAGE_BMP = 5,
} hearth_image_format;

/* The format of an encoded image from its first bytes (UNKNOWN if none). */
hearth_image_format hearth_image_sniff(const void *bytes, size_t n);
const char *hearth_image_format_name(hearth_image_format f);   /* "PNG"...; "unknown" */
/* MIME type ("image/png"...); NULL for UNKNOWN */
const char *hearth_image_format_mime(hearth_image_format f);

typedef struct hearth_image_limits {
    int max_dim;          /* largest width or height (default 16384) */
    int64_t max_pixels;   /* largest width × height (default 50,000,000) */
    size_t max_bytes;     /* largest encoded input (default 256 MiB) */
} hearth_image_limits;

hearth_image_limits hearth_image_default_limits(void);

/* channels: 0 = as stored (1 for gray images, 3 otherwise), 1 or 3. */
hearth_status hearth_image_load(const char *path, int channels, hearth_image *out);
hearth_status hearth_image_decode(const void *bytes, size_t n, int channels, hearth_image *out);
/* The same with explicit limits (NULL: the defaults). */
hearth_status hearth_image_decode_ex(const void *bytes, size_t n, int channels, const hearth_image_limits *limits,
                                     hearth_image *out);
/* Dimensions from the header only (no pixels decoded); format may be NULL. */
hearth_status hearth_image_probe(const void *bytes, size_t n, int *w, int *h, hearth_image_format *format);

/* Frees data and zeroes *img; NULL or an empty image: no-op. */
void hearth_image_free(hearth_image *img);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
