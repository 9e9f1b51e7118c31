/*
 * test_image.c — hearth_image: decoding PNG/JPEG/WebP/GIF/BMP as a user sees
 * it (sizes, channels, pixel values after a round trip through each
 * library's encoder), and hostile input: truncated files, corrupt chunks,
 * huge dimensions (decompression bombs), unknown formats, and thousands of
 * random mutations of every format (none may crash; run under ASan to see
 * reads outside the input).
 */
#include "harness.h"
#include "hearth/image.h"

#include <stdio.h>
#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <webp/encode.h>

#define DATA HEARTH_TEST_DATA "/vision/"

/* ---- encoders (the libraries' own) for round trips ----------------------- */
static uint8_t *enc_png(const hearth_image *im, int fmt, size_t *n) {
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)im->w;
    pi.height = (png_uint_32)im->h;
    pi.format = (png_uint_32)fmt;
    int ch = PNG_IMAGE_SAMPLE_CHANNELS(fmt);
    /* make the source in the asked layout from RGB (alpha: a gradient) */
    uint8_t *src = malloc((size_t)im->w * im->h * ch);
    for (size_t i = 0; i < (size_t)im->w * im->h; i++) {
        for (int c = 0; c < ch && c < 3; c++) src[i * ch + c] = im->data[i * im->c + (im->c == 3 ? c : 0)];
        if (ch == 4) src[i * 4 + 3] = (uint8_t)(i * 7);
        if (ch == 2) src[i * 2 + 1] = (uint8_t)(i * 7);
    }
    png_alloc_size_t size = 0;
    png_image_write_to_memory(&pi, NULL, &size, 0, src, 0, NULL);
    uint8_t *out = malloc(size);
    if (!png_image_write_to_memory(&pi, out, &size, 0, src, 0, NULL)) size = 0;
    free(src);
    *n = size;
    return out;
}

static uint8_t *enc_jpeg(const hearth_image *im, int quality, bool progressive, size_t *n) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&ci, &buf, &size);
    ci.image_width = (JDIMENSION)im->w;
    ci.image_height = (JDIMENSION)im->h;
    ci.input_components = im->c;
    ci.in_color_space = im->c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    if (progressive) jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = im->data + (size_t)ci.next_scanline * im->w * im->c;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    *n = size;
    return buf;
}

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static int gif_write(GifFileType *g, const GifByteType *b, int len) {
    membuf *m = g->UserData;
    if (m->n + (size_t)len > m->cap) {
        m->cap = (m->n + len) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, b, (size_t)len);
    m->n += (size_t)len;
    return len;
}

/* a gray image as a GIF with a 256-level gray palette (lossless) */
static uint8_t *enc_gif(const hearth_image *gray, bool interlace, size_t *n) {
    membuf m = {0};
    int err;
    GifFileType *g = EGifOpen(&m, gif_write, &err);
    GifColorType pal[256];
    for (int i = 0; i < 256; i++) pal[i].Red = pal[i].Green = pal[i].Blue = (GifByteType)i;
    ColorMapObject *cm = GifMakeMapObject(256, pal);
    EGifPutScreenDesc(g, gray->w, gray->h, 8, 0, cm);
    EGifPutImageDesc(g, 0, 0, gray->w, gray->h, interlace, NULL);
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    for (int pass = 0; pass < (interlace ? 4 : 1); pass++)
        for (int y = interlace ? start[pass] : 0; y < gray->h; y += interlace ? step[pass] : 1)
            EGifPutLine(g, gray->data + (size_t)y * gray->w, gray->w);
    EGifCloseFile(g, &err);
    GifFreeMapObject(cm);
    *n = m.n;
    return m.p;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24); }

/* 24-bit bottom-up BMP */
static uint8_t *enc_bmp(const hearth_image *im, size_t *n) {
    size_t stride = ((size_t)im->w * 3 + 3) & ~(size_t)3, size = 54 + stride * im->h;
    uint8_t *p = calloc(1, size);
    p[0] = 'B', p[1] = 'M';
    put32(p + 2, (uint32_t)size);
    put32(p + 10, 54);
    put32(p + 14, 40);
    put32(p + 18, (uint32_t)im->w);
    put32(p + 22, (uint32_t)im->h);
    p[26] = 1, p[28] = 24;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            const uint8_t *s = im->data + ((size_t)(im->h - 1 - y) * im->w + x) * 3;
            uint8_t *d = p + 54 + (size_t)y * stride + (size_t)x * 3;
            d[0] = s[2], d[1] = s[1], d[2] = s[0];
        }
    *n = size;
    return p;
}

static double max_abs_diff(const hearth_image *a, const hearth_image *b) {
    if (a->w != b->w || a->h != b->h || a->c != b->c) return 1e9;
    double m = 0;
    for (size_t i = 0; i < (size_t)a->w * a->h * a->c; i++) {
        double d = abs((int)a->data[i] - (int)b->data[i]);
        if (d > m) m = d;
    }
    return m;
}

static double mean_abs_diff(const hearth_image *a, const hearth_image *b) {
    double s = 0;
    size_t n = (size_t)a->w * a->h * a->c;
    for (size_t i = 0; i < n; i++) s += abs((int)a->data[i] - (int)b->data[i]);
    return s / (double)n;
}

static hearth_image chelsea, camera;   /* RGB 451x300, gray 160x160 */

TEST(png_files) {
    CHECK_EQ_INT(hearth_image_load(DATA "chelsea.png", 0, &chelsea), HEARTH_OK);
    CHECK_EQ_INT(chelsea.w, 451);
    CHECK_EQ_INT(chelsea.h, 300);
    CHECK_EQ_INT(chelsea.c, 3);
    CHECK_EQ_INT(hearth_image_load(DATA "camera-160.png", 0, &camera), HEARTH_OK);
    CHECK_EQ_INT(camera.w, 160);
    CHECK_EQ_INT(camera.c, 1);
    /* gray asked as RGB: the value in all three channels */
    hearth_image rgb;
    CHECK_EQ_INT(hearth_image_load(DATA "camera-160.png", 3, &rgb), HEARTH_OK);
    CHECK_EQ_INT(rgb.c, 3);
    int same = 1;
    for (int i = 0; i < 160 * 160; i++)
        same &= rgb.data[3 * i] == camera.data[i] && rgb.data[3 * i + 1] == camera.data[i] && rgb.data[3 * i + 2] == camera.data[i];
    CHECK(same);
    hearth_image_free(&rgb);
    /* RGB asked as gray: luminance */
    hearth_image g;
    CHECK_EQ_INT(hearth_image_load(DATA "chelsea.png", 1, &g), HEARTH_OK);
    CHECK_EQ_INT(g.c, 1);
    const uint8_t *p = chelsea.data + (100 * 451 + 200) * 3;
    CHECK_NEAR(g.data[100 * 451 + 200], (77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8, 0);
    hearth_image_free(&g);
    hearth_image_free(NULL);
    /* missing file: the path in the message */
    hearth_image none;
    CHECK_EQ_INT(hearth_image_load(DATA "no-such.png", 3, &none), HEARTH_ERR_IO);
    CHECK(none.data == NULL);
}

TEST(png_variants) {
    size_t n;
    /* RGBA: alpha dropped, colours kept exactly (not composited) */
    uint8_t *b = enc_png(&chelsea, PNG_FORMAT_RGBA, &n);
    hearth_image im;
    CHECK_EQ_INT(hearth_image_decode(b, n, 0, &im), HEARTH_OK);
    CHECK_EQ_INT(im.c, 3);
    CHECK(max_abs_diff(&im, &chelsea) == 0);
    hearth_image_free(&im);
    free(b);
    /* gray + alpha */
    b = enc_png(&camera, PNG_FORMAT_GA, &n);
    CHECK_EQ_INT(hearth_image_decode(b, n, 0, &im), HEARTH_OK);
    CHECK_EQ_INT(im.c, 1);
    CHECK(max_abs_diff(&im, &camera) == 0);
    hearth_image_free(&im);
    free(b);
    /* probe: header only */
    int w = 0, h = 0;
    hearth_image_format f;
    b = enc_png(&chelsea, PNG_FORMAT_RGB, &n);
    CHECK_EQ_INT(hearth_image_probe(b, n, &w, &h, &f), HEARTH_OK);
    CHECK_EQ_INT(w, 451);
    CHECK_EQ_INT(h, 300);
    CHECK_EQ_INT(f, HEARTH_IMAGE_PNG);
    CHECK_STR(hearth_image_format_mime(f), "image/png");
    free(b);
}

TEST(jpeg_webp_gif_bmp) {
    size_t n;
    hearth_image im;
    /* JPEG at quality 95: a few levels away on average */
    uint8_t *b = enc_jpeg(&chelsea, 95, false, &n);
    CHECK_EQ_INT(hearth_image_sniff(b, n), HEARTH_IMAGE_JPEG);
    CHECK_EQ_INT(hearth_image_decode(b, n, 0, &im), HEARTH_OK);
    CHECK_EQ_INT(im.w, 451);
    CHECK_EQ_INT(im.c, 3);
    CHECK_MSG(mean_abs_diff(&im, &chelsea) < 3, "mean diff %g", mean_abs_diff(&im, &chelsea));
    hearth_image_free(&im);
    free(b);
    b = enc_jpeg(&camera, 90, true, &n);   /* progressive gray */
    CHECK_EQ_INT(hearth_image_decode(b, n, 0, &im), HEARTH_OK);
    CHECK_EQ_INT(im.c, 1);
    CHECK_MSG(mean_abs_diff(&im, &camera) < 4, "mean diff %g", mean_abs_diff(&im, &camera));
    hearth_image_free(&im);
    /* truncated JPEG: an error, not a gray-filled picture */
    CHECK_EQ_INT(hearth_image_decode(b, n / 2, 0, &im), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "JPEG") != NULL);
    free(b);

    /* WebP lossless: exact */
    uint8_t *wb = NULL;
    size_t wn = WebPEncodeLosslessRGB(chelsea.data, chelsea.w, chelsea.h, chelsea.w * 3, &wb);
    CHECK(wn > 0);
    CHECK_EQ_INT(hearth_image_decode(wb, wn, 0, &im), HEARTH_OK);
    CHECK(max_abs_diff(&im, &chelsea) == 0);
    hearth_image_free(&im);
    CHECK_EQ_INT(hearth_image_decode(wb, wn / 3, 0, &im), HEARTH_ERR_FORMAT);
    WebPFree(wb);

    /* GIF (256 grays, plain and interlaced): exact, as RGB */
    for (int il = 0; il < 2; il++) {
        b = enc_gif(&camera, il, &n);
        CHECK_EQ_INT(hearth_image_decode(b, n, 1, &im), HEARTH_OK);
        CHECK(max_abs_diff(&im, &camera) == 0);
        hearth_image_free(&im);
        CHECK(hearth_image_decode(b, n / 2, 0, &im) != HEARTH_OK);
        free(b);
    }

    /* BMP 24-bit: exact */
    b = enc_bmp(&chelsea, &n);
    CHECK_EQ_INT(hearth_image_decode(b, n, 3, &im), HEARTH_OK);
    CHECK(max_abs_diff(&im, &chelsea) == 0);
    hearth_image_free(&im);
    CHECK_EQ_INT(hearth_image_decode(b, n - 100, 3, &im), HEARTH_ERR_FORMAT);
    free(b);
}

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put32be(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v; }

TEST(hostile) {
    hearth_image im;
    size_t n;
    uint8_t *b = enc_png(&chelsea, PNG_FORMAT_RGB, &n);
    /* a bomb: the IHDR rewritten to 40000 x 40000 (valid CRC) — refused from
     * the header, before any pixel memory */
    uint8_t *bomb = malloc(n);
    memcpy(bomb, b, n);
    put32be(bomb + 16, 40000);
    put32be(bomb + 20, 40000);
    put32be(bomb + 29, crc32_of(bomb + 12, 17));
    CHECK_EQ_INT(hearth_image_decode(bomb, n, 3, &im), HEARTH_ERR_RANGE);
    CHECK_MSG(strstr(hearth_last_error(), "limit") != NULL, "%s", hearth_last_error());
    /* 10000 x 6000 is within the sides but over a smaller pixel limit */
    put32be(bomb + 16, 10000);
    put32be(bomb + 20, 6000);
    put32be(bomb + 29, crc32_of(bomb + 12, 17));
    hearth_image_limits lim = hearth_image_default_limits();
    lim.max_pixels = 1000000;
    CHECK_EQ_INT(hearth_image_decode_ex(bomb, n, 3, &lim, &im), HEARTH_ERR_RANGE);
    free(bomb);
    /* truncated, and a corrupt IDAT byte (CRC mismatch) */
    CHECK_EQ_INT(hearth_image_decode(b, n / 2, 3, &im), HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "PNG") != NULL, "%s", hearth_last_error());
    b[n / 2] ^= 0x55;
    CHECK_EQ_INT(hearth_image_decode(b, n, 3, &im), HEARTH_ERR_FORMAT);
    CHECK(im.data == NULL);
    free(b);
    /* JPEG whose SOF says 60000 x 60000 */
    b = enc_jpeg(&camera, 80, false, &n);
    for (size_t i = 0; i + 8 < n; i++)
        if (b[i] == 0xff && b[i + 1] == 0xc0) {
            b[i + 5] = 0xea, b[i + 6] = 0x60, b[i + 7] = 0xea, b[i + 8] = 0x60;
            break;
        }
    CHECK_EQ_INT(hearth_image_decode(b, n, 3, &im), HEARTH_ERR_RANGE);
    free(b);
    /* GIF whose screen is 65535 x 65535 */
    b = enc_gif(&camera, false, &n);
    b[6] = b[7] = b[8] = b[9] = 0xff;
    CHECK_EQ_INT(hearth_image_decode(b, n, 3, &im), HEARTH_ERR_RANGE);
    free(b);
    /* BMP: width * height overflowing, and a compressed one */
    b = enc_bmp(&chelsea, &n);
    put32(b + 18, 0x7fffffff);
    CHECK(hearth_image_decode(b, n, 3, &im) != HEARTH_OK);
    put32(b + 18, 451);
    put32(b + 30, 1);
    CHECK_EQ_INT(hearth_image_decode(b, n, 3, &im), HEARTH_ERR_UNSUPPORTED);
    free(b);
    /* not an image, empty, bad channel count */
    CHECK_EQ_INT(hearth_image_decode("hello world", 11, 3, &im), HEARTH_ERR_UNSUPPORTED);
    CHECK(strstr(hearth_last_error(), "unknown format") != NULL);
    CHECK_EQ_INT(hearth_image_decode("", 0, 3, &im), HEARTH_ERR_FORMAT);
    CHECK_EQ_INT(hearth_image_decode("x", 1, 2, &im), HEARTH_ERR_INVALID_ARG);
}

/* random mutations of every format: each decode either succeeds with a
 * consistent image or fails with a message; never a crash */
TEST(mutations) {
    size_t n[5];
    uint8_t *src[5];
    src[0] = enc_png(&camera, PNG_FORMAT_GRAY, &n[0]);
    src[1] = enc_jpeg(&camera, 70, true, &n[1]);
    src[2] = NULL;
    n[2] = WebPEncodeRGB(chelsea.data, chelsea.w, chelsea.h, chelsea.w * 3, 50, &src[2]);
    src[3] = enc_gif(&camera, true, &n[3]);
    src[4] = enc_bmp(&chelsea, &n[4]);
    uint64_t rng = 42;
    int ok = 0, failed = 0, bad = 0;
    hearth_image_limits lim = hearth_image_default_limits();
    lim.max_pixels = 4000000;
    for (int f = 0; f < 5; f++) {
        uint8_t *m = malloc(n[f]);
        for (int it = 0; it < 300; it++) {
            memcpy(m, src[f], n[f]);
            int k = 1 + (int)(rng % 8);
            for (int j = 0; j < k; j++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                size_t at = (rng >> 33) % (it % 3 == 0 ? (n[f] < 64 ? n[f] : 64) : n[f]);   /* often the header */
                m[at] = (uint8_t)(rng >> 13);
            }
            size_t len = it % 5 == 4 ? (size_t)((rng >> 20) % n[f]) : n[f];
            hearth_image im;
            hearth_status s = hearth_image_decode_ex(m, len, it % 3 == 1 ? 1 : 3, &lim, &im);
            if (s == HEARTH_OK) {
                ok++;
                bad += !(im.w > 0 && im.h > 0 && im.data && (int64_t)im.w * im.h <= lim.max_pixels);
                hearth_image_free(&im);
            } else {
                failed++;
                bad += hearth_last_error()[0] == 0 || im.data != NULL;
            }
        }
        free(m);
    }
    printf("mutations: %d decoded, %d refused\n", ok, failed);
    CHECK_EQ_INT(bad, 0);
    CHECK(failed > 0);
    for (int f = 0; f < 5; f++) f == 2 ? WebPFree(src[f]) : free(src[f]);
}

int main(void) {
    RUN(png_files);
    RUN(png_variants);
    RUN(jpeg_webp_gif_bmp);
    RUN(hostile);
    RUN(mutations);
    hearth_image_free(&chelsea);
    hearth_image_free(&camera);
    return harness_done();
}
