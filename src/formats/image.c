/*
 * image.c — hearth_image decoding (include/hearth/image.h): PNG through
 * libpng, JPEG through libjpeg-turbo, WebP through libwebp, GIF (first frame)
 * through giflib, BMP (uncompressed) by hand.
 *
 * Each decoder reads the header first, checks the limits, then allocates
 * exactly w × h × (1 or 3) bytes and asks its library to write rows there
 * (RGB or gray as stored); the conversion to the channels asked for is done
 * at the end, in place or into a new buffer. The libraries report errors by
 * longjmp (libpng, libjpeg) or return codes (libwebp, giflib); every path
 * frees what it allocated.
 */
#include "hearth/image.h"
#include "hearth/core.h"

#include <stdio.h>   /* before jpeglib.h, which needs FILE */
#include <gif_lib.h>
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>

#define JPEG_MAX_SCANS 500   /* progressive JPEGs with more are CPU bombs (libjpeg-turbo's own advice) */

/* ==== formats and limits ======================================================== */
hearth_image_limits hearth_image_default_limits(void) {
    hearth_image_limits l = {.max_dim = 16384, .max_pixels = 50000000, .max_bytes = (size_t)256 << 20};
    return l;
}

hearth_image_format hearth_image_sniff(const void *bytes, size_t n) {
    const uint8_t *p = bytes;
    if (!p) return HEARTH_IMAGE_UNKNOWN;
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return HEARTH_IMAGE_PNG;
    if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return HEARTH_IMAGE_JPEG;
    if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4)) return HEARTH_IMAGE_WEBP;
    if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6))) return HEARTH_IMAGE_GIF;
    if (n >= 2 && p[0] == 'B' && p[1] == 'M') return HEARTH_IMAGE_BMP;
    return HEARTH_IMAGE_UNKNOWN;
}

const char *hearth_image_format_name(hearth_image_format f) {
    switch (f) {
    case HEARTH_IMAGE_PNG: return "PNG";
    case HEARTH_IMAGE_JPEG: return "JPEG";
    case HEARTH_IMAGE_WEBP: return "WebP";
    case HEARTH_IMAGE_GIF: return "GIF";
    case HEARTH_IMAGE_BMP: return "BMP";
    default: return "unknown";
    }
}

const char *hearth_image_format_mime(hearth_image_format f) {
    switch (f) {
    case HEARTH_IMAGE_PNG: return "image/png";
    case HEARTH_IMAGE_JPEG: return "image/jpeg";
    case HEARTH_IMAGE_WEBP: return "image/webp";
    case HEARTH_IMAGE_GIF: return "image/gif";
    case HEARTH_IMAGE_BMP: return "image/bmp";
    default: return NULL;
    }
}

void hearth_image_free(hearth_image *img) {
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* the decoders' shared state: input, limits, and the image being made */
typedef struct dec {
    const uint8_t *p;
    size_t n;
    const hearth_image_limits *lim;
    bool header_only;
    hearth_image img;   /* c = 1 or 3 as stored */
    char err[200];      /* the library's message, for longjmp paths */
} dec;

/* checks w × h against the limits and allocates the pixels (c channels) */
static hearth_status dec_alloc(dec *d, const char *fmt, int64_t w, int64_t h, int c) {
    if (w <= 0 || h <= 0)
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s image: invalid size %lld x %lld", fmt, (long long)w, (long long)h);
    if (w > d->lim->max_dim || h > d->lim->max_dim)
        return hearth_set_error(HEARTH_ERR_RANGE, "%s image: %lld x %lld is larger than the limit of %d pixels a side",
                                fmt, (long long)w, (long long)h, d->lim->max_dim);
    if (w * h > d->lim->max_pixels)
        return hearth_set_error(HEARTH_ERR_RANGE, "%s image: %lld x %lld = %lld pixels is over the limit of %lld", fmt,
                                (long long)w, (long long)h, (long long)(w * h), (long long)d->lim->max_pixels);
    d->img.w = (int)w;
    d->img.h = (int)h;
    d->img.c = c;
    if (d->header_only) return HEARTH_OK;
    d->img.data = malloc((size_t)w * (size_t)h * (size_t)c);
    if (!d->img.data)
        return hearth_set_error(HEARTH_ERR_NOMEM, "%s image: out of memory for %lld x %lld pixels", fmt, (long long)w,
                                (long long)h);
    return HEARTH_OK;
}

/* ==== PNG (libpng) ================================================================ */
static void png_err(png_structp png, png_const_charp msg) {
    dec *d = png_get_error_ptr(png);
    snprintf(d->err, sizeof d->err, "%s", msg);
    png_longjmp(png, 1);
}
static void png_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

typedef struct png_src {
    const uint8_t *p;
    size_t n, off;
} png_src;

static void png_read_mem(png_structp png, png_bytep out, png_size_t len) {
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->off) png_error(png, "truncated file (the data ends early)");
    memcpy(out, s->p + s->off, len);
    s->off += len;
}

static hearth_status decode_png(dec *d) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, png_err, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return hearth_set_error(HEARTH_ERR_NOMEM, "PNG image: out of memory");
    }
    png_src src = {d->p, d->n, 0};
    png_bytep *volatile rows = NULL;   /* volatile: read after a longjmp */
    volatile hearth_status s = HEARTH_OK;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        if (s) return s;
        return hearth_set_error(HEARTH_ERR_FORMAT, "PNG image: %s", d->err);
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu);   /* our own limits below, with a clearer message */
    png_set_chunk_malloc_max(png, 8u << 20);   /* text/ICC chunks: no inflation bombs */
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int ct = png_get_color_type(png, info);
    int gray = !(ct & PNG_COLOR_MASK_COLOR) && !png_get_valid(png, info, PNG_INFO_PLTE);
    if ((s = dec_alloc(d, "PNG", w, h, gray ? 1 : 3)) || d->header_only) {
        png_destroy_read_struct(&png, &info, NULL);
        return s;
    }
    /* to 8-bit RGB or gray: palette and low bit depths expanded, 16-bit
     * reduced to its high byte, alpha stripped (not composited) */
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * d->img.c) {
        s = hearth_set_error(HEARTH_ERR_FORMAT, "PNG image: unexpected row size %zu for %u pixels",
                             (size_t)png_get_rowbytes(png, info), (unsigned)w);
        png_longjmp(png, 1);
    }
    rows = malloc(sizeof *rows * h);
    if (!rows) {
        s = hearth_set_error(HEARTH_ERR_NOMEM, "PNG image: out of memory");
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = d->img.data + (size_t)y * w * d->img.c;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return HEARTH_OK;
}

/* ==== JPEG (libjpeg-turbo) ========================================================= */
typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    dec *d;
} jerr;

static void jpeg_exit(j_common_ptr ci) {
    jerr *e = (jerr *)ci->err;
    ci->err->format_message(ci, e->d->err);
    longjmp(e->jb, 1);
}

/* warnings are ignored, except the one for a file that ends early */
static void jpeg_emit(j_common_ptr ci, int level) {
    if (level == -1 && ci->err->msg_code == JWRN_JPEG_EOF) {
        jerr *e = (jerr *)ci->err;
        snprintf(e->d->err, sizeof e->d->err, "truncated file (the data ends early)");
        longjmp(e->jb, 1);
    }
}

static void jpeg_progress(j_common_ptr ci) {
    j_decompress_ptr di = (j_decompress_ptr)ci;
    if (ci->is_decompressor && di->input_scan_number > JPEG_MAX_SCANS) {
        jerr *e = (jerr *)ci->err;
        snprintf(e->d->err, sizeof e->d->err, "more than %d progressive scans", JPEG_MAX_SCANS);
        longjmp(e->jb, 1);
    }
}

static hearth_status decode_jpeg(dec *d) {
    struct jpeg_decompress_struct ci;
    jerr e;
    struct jpeg_progress_mgr prog = {.progress_monitor = jpeg_progress};
    uint8_t *volatile cmyk = NULL;   /* volatile: read after a longjmp */
    volatile hearth_status s = HEARTH_OK;
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jpeg_exit;
    e.pub.emit_message = jpeg_emit;
    e.d = d;
    if (setjmp(e.jb)) {
        free(cmyk);
        jpeg_destroy_decompress(&ci);
        if (s) return s;
        return hearth_set_error(HEARTH_ERR_FORMAT, "JPEG image: %s", d->err);
    }
    jpeg_create_decompress(&ci);
    ci.progress = &prog;
    jpeg_mem_src(&ci, d->p, (unsigned long)d->n);
    jpeg_read_header(&ci, TRUE);
    bool gray = ci.jpeg_color_space == JCS_GRAYSCALE;
    bool is_cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    if ((s = dec_alloc(d, "JPEG", ci.image_width, ci.image_height, gray ? 1 : 3)) || d->header_only) {
        jpeg_destroy_decompress(&ci);
        return s;
    }
    ci.out_color_space = gray ? JCS_GRAYSCALE : is_cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&ci);
    int oc = ci.output_components;
    if ((int)ci.output_width != d->img.w || (int)ci.output_height != d->img.h || oc != (is_cmyk ? 4 : d->img.c)) {
        s = hearth_set_error(HEARTH_ERR_FORMAT, "JPEG image: decoder output %ux%u x%d does not match the header",
                             ci.output_width, ci.output_height, oc);
        longjmp(e.jb, 1);
    }
    if (is_cmyk && !(cmyk = malloc((size_t)d->img.w * 4))) {
        s = hearth_set_error(HEARTH_ERR_NOMEM, "JPEG image: out of memory");
        longjmp(e.jb, 1);
    }
    while (ci.output_scanline < ci.output_height) {
        uint8_t *row = d->img.data + (size_t)ci.output_scanline * d->img.w * d->img.c;
        JSAMPROW rp = is_cmyk ? cmyk : row;
        if (jpeg_read_scanlines(&ci, &rp, 1) != 1) {
            snprintf(d->err, sizeof d->err, "truncated file (the data ends early)");
            longjmp(e.jb, 1);
        }
        /* Adobe CMYK JPEGs store inverted inks: R = C·K/255 ... */
        if (is_cmyk)
            for (int x = 0; x < d->img.w; x++) {
                unsigned k = cmyk[4 * x + 3];
                for (int ch = 0; ch < 3; ch++) row[3 * x + ch] = (uint8_t)((cmyk[4 * x + ch] * k + 127) / 255);
            }
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(cmyk);
    return HEARTH_OK;
}

/* ==== WebP (libwebp) ================================================================ */
static hearth_status decode_webp(dec *d) {
    WebPBitstreamFeatures f;
    VP8StatusCode vs = WebPGetFeatures(d->p, d->n, &f);
    if (vs != VP8_STATUS_OK)
        return hearth_set_error(vs == VP8_STATUS_NOT_ENOUGH_DATA ? HEARTH_ERR_FORMAT : HEARTH_ERR_FORMAT,
                                "WebP image: %s", vs == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated header" : "invalid header");
    if (f.has_animation)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "WebP image: animated WebP is not supported (send one frame)");
    hearth_status s = dec_alloc(d, "WebP", f.width, f.height, 3);
    if (s || d->header_only) return s;
    size_t stride = (size_t)d->img.w * 3, size = stride * d->img.h;
    if (!WebPDecodeRGBInto(d->p, d->n, d->img.data, size, (int)stride))
        return hearth_set_error(HEARTH_ERR_FORMAT, "WebP image: corrupt or truncated data");
    return HEARTH_OK;
}

/* ==== GIF (giflib), first frame ====================================================== */
typedef struct gif_src {
    const uint8_t *p;
    size_t n, off;
} gif_src;

static int gif_read_mem(GifFileType *g, GifByteType *out, int len) {
    gif_src *s = g->UserData;
    if (len < 0) return 0;
    size_t k = (size_t)len < s->n - s->off ? (size_t)len : s->n - s->off;
    memcpy(out, s->p + s->off, k);
    s->off += k;
    return (int)k;
}

static hearth_status decode_gif(dec *d) {
    gif_src src = {d->p, d->n, 0};
    int err = 0;
    GifFileType *g = DGifOpen(&src, gif_read_mem, &err);
    if (!g) return hearth_set_error(HEARTH_ERR_FORMAT, "GIF image: %s", GifErrorString(err));
    hearth_status s = dec_alloc(d, "GIF", g->SWidth, g->SHeight, 3);
    uint8_t *line = NULL;
    int transparent = -1;
    if (s || d->header_only) goto done;
    /* the canvas starts as the background colour (black without a palette) */
    memset(d->img.data, 0, (size_t)d->img.w * d->img.h * 3);
    if (g->SColorMap && g->SBackGroundColor < g->SColorMap->ColorCount) {
        GifColorType bg = g->SColorMap->Colors[g->SBackGroundColor];
        for (size_t i = 0; i < (size_t)d->img.w * d->img.h; i++)
            d->img.data[3 * i] = bg.Red, d->img.data[3 * i + 1] = bg.Green, d->img.data[3 * i + 2] = bg.Blue;
    }
    for (;;) {
        GifRecordType rt;
        if (DGifGetRecordType(g, &rt) == GIF_ERROR) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "GIF image: %s", GifErrorString(g->Error));
            goto done;
        }
        if (rt == TERMINATE_RECORD_TYPE) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "GIF image: no frame");
            goto done;
        }
        if (rt == EXTENSION_RECORD_TYPE) {
            int code;
            GifByteType *ext;
            if (DGifGetExtension(g, &code, &ext) == GIF_ERROR) goto gif_fail;
            if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1)) transparent = ext[4];
            while (ext)
                if (DGifGetExtensionNext(g, &ext) == GIF_ERROR) goto gif_fail;
            continue;
        }
        if (rt != IMAGE_DESC_RECORD_TYPE) continue;
        if (DGifGetImageDesc(g) == GIF_ERROR) goto gif_fail;
        GifImageDesc *id = &g->Image;
        ColorMapObject *cm = id->ColorMap ? id->ColorMap : g->SColorMap;
        if (!cm) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "GIF image: the first frame has no colour table");
            goto done;
        }
        if (id->Width <= 0 || id->Height <= 0 || id->Width > d->lim->max_dim || id->Height > d->lim->max_dim) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "GIF image: frame size %d x %d is invalid", id->Width, id->Height);
            goto done;
        }
        if (!(line = malloc((size_t)id->Width))) {
            s = hearth_set_error(HEARTH_ERR_NOMEM, "GIF image: out of memory");
            goto done;
        }
        /* interlaced frames store rows in four passes */
        static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
        int passes = id->Interlace ? 4 : 1;
        for (int pass = 0; pass < passes; pass++) {
            for (int y = id->Interlace ? start[pass] : 0; y < id->Height; y += id->Interlace ? step[pass] : 1) {
                if (DGifGetLine(g, line, id->Width) == GIF_ERROR) goto gif_fail;
                int cy = id->Top + y;
                if (cy < 0 || cy >= d->img.h) continue;
                for (int x = 0; x < id->Width; x++) {
                    int cx = id->Left + x;
                    if (cx < 0 || cx >= d->img.w || line[x] == transparent || line[x] >= cm->ColorCount) continue;
                    uint8_t *px = d->img.data + ((size_t)cy * d->img.w + cx) * 3;
                    px[0] = cm->Colors[line[x]].Red, px[1] = cm->Colors[line[x]].Green, px[2] = cm->Colors[line[x]].Blue;
                }
            }
        }
        goto done;   /* the first frame only */
    }
gif_fail:
    s = hearth_set_error(HEARTH_ERR_FORMAT, "GIF image: %s", GifErrorString(g->Error));
done:
    free(line);
    DGifCloseFile(g, &err);
    return s;
}

/* ==== BMP (uncompressed 8/24/32-bit, by hand) ======================================== */
static uint32_t rd32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static hearth_status decode_bmp(dec *d) {
    const uint8_t *p = d->p;
    if (d->n < 26) return hearth_set_error(HEARTH_ERR_FORMAT, "BMP image: truncated header");
    uint32_t data_off = rd32(p + 10), hsize = rd32(p + 14);
    if (hsize < 40 || 14 + (size_t)hsize > d->n)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "BMP image: header of %u bytes (only BITMAPINFOHEADER and later)",
                                hsize);
    int32_t w = (int32_t)rd32(p + 18), h = (int32_t)rd32(p + 22);
    uint16_t bpp = rd16(p + 28);
    uint32_t comp = rd32(p + 30), ncol = rd32(p + 46);
    if (comp != 0 && !(comp == 3 && bpp == 32))
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "BMP image: compression %u is not supported (uncompressed only)",
                                comp);
    if (comp == 3 && !(hsize >= 52 && rd32(p + 54) == 0xff0000u && rd32(p + 58) == 0xff00u && rd32(p + 62) == 0xffu))
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "BMP image: bit fields other than 8-bit BGR");
    if (bpp != 8 && bpp != 24 && bpp != 32)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "BMP image: %u bits per pixel (8, 24 or 32 only)", bpp);
    bool bottom_up = h > 0;
    int64_t ah = h > 0 ? h : -(int64_t)h;
    hearth_status s = dec_alloc(d, "BMP", w, ah, 3);
    if (s || d->header_only) return s;
    const uint8_t *pal = p + 14 + hsize;
    if (bpp == 8) {
        if (ncol == 0) ncol = 256;
        if (ncol > 256 || (size_t)(pal - p) + 4 * (size_t)ncol > d->n)
            return hearth_set_error(HEARTH_ERR_FORMAT, "BMP image: palette of %u colours does not fit the file", ncol);
    }
    size_t stride = (((size_t)w * bpp + 31) / 32) * 4;
    if (data_off > d->n || stride * (size_t)ah > d->n - data_off)
        return hearth_set_error(HEARTH_ERR_FORMAT, "BMP image: truncated pixel data (%zu bytes needed at %u, file %zu)",
                                stride * (size_t)ah, data_off, d->n);
    for (int64_t y = 0; y < ah; y++) {
        const uint8_t *src = p + data_off + stride * (size_t)(bottom_up ? ah - 1 - y : y);
        uint8_t *dst = d->img.data + (size_t)y * w * 3;
        for (int32_t x = 0; x < w; x++) {
            const uint8_t *bgr;
            if (bpp == 8) {
                if (src[x] >= ncol) return hearth_set_error(HEARTH_ERR_FORMAT, "BMP image: colour index %u outside the palette", src[x]);
                bgr = pal + 4 * src[x];
            } else {
                bgr = src + (size_t)x * (bpp / 8);
            }
            dst[3 * x] = bgr[2], dst[3 * x + 1] = bgr[1], dst[3 * x + 2] = bgr[0];
        }
    }
    return HEARTH_OK;
}

/* ==== entry points ==================================================================== */
/* the pixels as stored (c = 1 or 3) converted to `channels` */
static hearth_status convert(hearth_image *img, int channels) {
    if (channels == 0 || channels == img->c) return HEARTH_OK;
    size_t np = (size_t)img->w * img->h;
    uint8_t *out = malloc(np * channels);
    if (!out) return hearth_set_error(HEARTH_ERR_NOMEM, "image: out of memory converting to %d channels", channels);
    if (channels == 3)
        for (size_t i = 0; i < np; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = img->data[i];
    else
        for (size_t i = 0; i < np; i++) {
            const uint8_t *q = img->data + 3 * i;
            out[i] = (uint8_t)((77u * q[0] + 150u * q[1] + 29u * q[2]) >> 8);
        }
    free(img->data);
    img->data = out;
    img->c = channels;
    return HEARTH_OK;
}

static hearth_status run_decoder(dec *d) {
    hearth_image_format f = hearth_image_sniff(d->p, d->n);
    switch (f) {
    case HEARTH_IMAGE_PNG: return decode_png(d);
    case HEARTH_IMAGE_JPEG: return decode_jpeg(d);
    case HEARTH_IMAGE_WEBP: return decode_webp(d);
    case HEARTH_IMAGE_GIF: return decode_gif(d);
    case HEARTH_IMAGE_BMP: return decode_bmp(d);
    default:
        if (d->n == 0) return hearth_set_error(HEARTH_ERR_FORMAT, "image: empty input");
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "image: unknown format (first bytes %02x %02x %02x %02x; PNG, JPEG, WebP, GIF and BMP are read)",
                                d->p[0], d->n > 1 ? d->p[1] : 0, d->n > 2 ? d->p[2] : 0, d->n > 3 ? d->p[3] : 0);
    }
}

hearth_status hearth_image_decode_ex(const void *bytes, size_t n, int channels, const hearth_image_limits *limits,
                                     hearth_image *out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "image: no output");
    memset(out, 0, sizeof *out);
    if (!bytes && n) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "image: no input");
    if (channels != 0 && channels != 1 && channels != 3)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "image: %d channels asked (0, 1 or 3)", channels);
    hearth_image_limits dl = hearth_image_default_limits();
    if (!limits) limits = &dl;
    if (n > limits->max_bytes)
        return hearth_set_error(HEARTH_ERR_RANGE, "image: %zu bytes is over the limit of %zu", n, limits->max_bytes);
    dec d = {.p = bytes, .n = n, .lim = limits};
    hearth_status s = run_decoder(&d);
    if (!s) s = convert(&d.img, channels);
    if (s) {
        free(d.img.data);
        return s;
    }
    *out = d.img;
    return HEARTH_OK;
}

hearth_status hearth_image_decode(const void *bytes, size_t n, int channels, hearth_image *out) {
    return hearth_image_decode_ex(bytes, n, channels, NULL, out);
}

hearth_status hearth_image_probe(const void *bytes, size_t n, int *w, int *h, hearth_image_format *format) {
    hearth_image_limits lim = hearth_image_default_limits();
    dec d = {.p = bytes, .n = bytes ? n : 0, .lim = &lim, .header_only = true};
    if (format) *format = hearth_image_sniff(bytes, n);
    hearth_status s = run_decoder(&d);
    if (s) return s;
    if (w) *w = d.img.w;
    if (h) *h = d.img.h;
    return HEARTH_OK;
}

hearth_status hearth_image_load(const char *path, int channels, hearth_image *out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "image: no output");
    memset(out, 0, sizeof *out);
    char *bytes = NULL;
    size_t n = 0;
    hearth_status s = hearth_read_file(path, &bytes, &n);
    if (s) return s;
    s = hearth_image_decode(bytes, n, channels, out);
    free(bytes);
    if (s) {
        /* prefix the file name to the decoder's message */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", hearth_last_error());
        return hearth_set_error(s, "%s: %s", path, msg);
    }
    return HEARTH_OK;
}
