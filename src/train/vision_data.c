/*
 * vision_data.c — image data sets for the vision trainer: IDX files
 * (MNIST / Fashion-MNIST, plain or gzip) and folders of class folders.
 *
 * IDX layout (big-endian): u8 0, u8 0, u8 type (0x08 = unsigned byte),
 * u8 number of dimensions; one u32 per dimension; the data, row-major.
 * Images are 3-dimensional (n, rows, cols), labels 1-dimensional (n).
 */
#include "train/vision_internal.h"

#include "core/buf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#if __has_include("hearth/image.h")
#include "hearth/image.h"
#define HAVE_IMAGE 1
#else
#define HAVE_IMAGE 0
#endif

/* the last error's message with a prefix (the message is copied first: it lives in the buffer that
 * hearth_set_error writes) */
static hearth_status error_with(hearth_status st, const char *prefix) {
    char m[768];
    snprintf(m, sizeof m, "%s", hearth_last_error());
    return hearth_set_error(st, "%s: %s", prefix, m);
}

/* ---- IDX ------------------------------------------------------------------ */

/* reads exactly n bytes or fails naming the file and what was being read */
static hearth_status gz_exact(gzFile f, const char *path, void *dst, size_t n, const char *what) {
    size_t got = 0;
    while (got < n) {
        unsigned chunk = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
        int r = gzread(f, (char *)dst + got, chunk);
        if (r < 0) {
            int err = 0;
            const char *msg = gzerror(f, &err);
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s: corrupt compressed data while reading %s (%s)", path,
                                    what, msg ? msg : "zlib error");
        }
        if (r == 0)
            return hearth_set_error(HEARTH_ERR_FORMAT, "%s: truncated: %s ends after %zu of %zu bytes", path, what,
                                    got, n);
        got += (size_t)r;
    }
    return HEARTH_OK;
}

/* opens an IDX file of unsigned bytes with `want_dims` dimensions; dims[] filled */
static hearth_status idx_open(const char *path, int want_dims, uint32_t dims[3], gzFile *out) {
    gzFile f = gzopen(path, "rb");
    if (!f) return hearth_set_error(HEARTH_ERR_IO, "%s: cannot open", path);
    uint8_t hdr[4];
    hearth_status st = gz_exact(f, path, hdr, 4, "the header");
    if (!st && (hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] != want_dims))
        st = hearth_set_error(HEARTH_ERR_FORMAT,
                              "%s: bad IDX magic %02x %02x %02x %02x (expected 00 00 08 %02x: unsigned bytes, %d "
                              "dimension%s)",
                              path, hdr[0], hdr[1], hdr[2], hdr[3], want_dims, want_dims,
                              want_dims == 1 ? "" : "s");
    for (int i = 0; !st && i < want_dims; i++) {
        uint8_t b[4];
        st = gz_exact(f, path, b, 4, "the dimensions");
        dims[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    }
    if (st) {
        gzclose(f);
        return st;
    }
    *out = f;
    return HEARTH_OK;
}

hearth_status hearth_vdata_load_idx(const char *images_path, const char *labels_path, hearth_vdata *out) {
    memset(out, 0, sizeof *out);
    uint32_t di[3] = {0}, dl[3] = {0};
    gzFile fi = NULL, fl = NULL;
    hearth_status st = idx_open(images_path, 3, di, &fi);
    if (!st) st = idx_open(labels_path, 1, dl, &fl);
    if (!st && (di[1] == 0 || di[2] == 0 || di[1] > 4096 || di[2] > 4096))
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: image size %ux%u out of range", images_path, di[2], di[1]);
    if (!st && di[0] != dl[0])
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s has %u images but %s has %u labels", images_path, di[0],
                              labels_path, dl[0]);
    if (!st && (uint64_t)di[0] * di[1] * di[2] > ((uint64_t)1 << 34))
        st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %u images of %ux%u is too large", images_path, di[0], di[2],
                              di[1]);
    size_t npix = st ? 0 : (size_t)di[0] * di[1] * di[2];
    if (!st) {
        out->pixels = malloc(npix ? npix : 1);
        uint8_t *lab = malloc(di[0] ? di[0] : 1);
        out->labels = malloc((di[0] ? di[0] : 1) * sizeof(int32_t));
        if (!out->pixels || !lab || !out->labels) st = HEARTH_ERR_NOMEM;
        if (!st) st = gz_exact(fi, images_path, out->pixels, npix, "the pixels");
        if (!st) st = gz_exact(fl, labels_path, lab, di[0], "the labels");
        int maxl = -1;
        for (uint32_t i = 0; !st && i < di[0]; i++) {
            out->labels[i] = lab[i];
            if (lab[i] > maxl) maxl = lab[i];
        }
        free(lab);
        if (!st && maxl > 200)
            st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: label %d is out of range", labels_path, maxl);
        if (!st) {
            out->n = di[0];
            out->h = (int)di[1];
            out->w = (int)di[2];
            out->c = 1;
            out->n_classes = maxl < 1 ? 2 : maxl + 1;
            out->class_names = calloc((size_t)out->n_classes, sizeof(char *));
            if (!out->class_names) st = HEARTH_ERR_NOMEM;
            for (int k = 0; !st && k < out->n_classes; k++) {
                char b[16];
                snprintf(b, sizeof b, "%d", k);
                if (!(out->class_names[k] = strdup(b))) st = HEARTH_ERR_NOMEM;
            }
        }
    }
    if (fi) gzclose(fi);
    if (fl) gzclose(fl);
    if (st) hearth_vdata_free(out);
    return st;
}

void hearth_vdata_free(hearth_vdata *d) {
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    if (d->class_names)
        for (int i = 0; i < d->n_classes; i++) free(d->class_names[i]);
    free(d->class_names);
    memset(d, 0, sizeof *d);
}

void hearth_vdata_truncate(hearth_vdata *d, int64_t n) {
    if (n >= 0 && n < d->n) d->n = n;
}

/* ---- folders of class folders ----------------------------------------------- */
#if HAVE_IMAGE

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted names of the entries of dir that are directories (want_dir) or files */
static hearth_status list_dir(const char *dir, bool want_dir, char ***names, int *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return hearth_set_error(HEARTH_ERR_IO, "%s: cannot open folder", dir);
    size_t cap = 0;
    struct dirent *e;
    hearth_status st = HEARTH_OK;
    while (!st && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0) continue;
        if (want_dir != S_ISDIR(sb.st_mode)) continue;
        if (!want_dir && !S_ISREG(sb.st_mode)) continue;
        if (!HEARTH_GROW(*names, cap, (size_t)*n + 1) || !((*names)[*n] = strdup(e->d_name))) st = HEARTH_ERR_NOMEM;
        else (*n)++;
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof(char *), cmp_str);
    return st;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

#endif

hearth_status hearth_vdata_load_dir(const char *dir, int w, int h, int channels, hearth_vdata *out) {
    memset(out, 0, sizeof *out);
#if !HAVE_IMAGE
    (void)w, (void)h, (void)channels;
    return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: image folders need hearth's image decoders", dir);
#else
    char **classes = NULL;
    int nc = 0;
    hearth_status st = list_dir(dir, true, &classes, &nc);
    if (st) return st;
    if (nc < 2) {
        free_names(classes, nc);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: needs at least two class folders (found %d)", dir, nc);
    }
    size_t cap_px = 0, cap_l = 0;
    int want_c = channels == 1 || channels == 3 ? channels : 3;
    for (int k = 0; !st && k < nc; k++) {
        char cdir[4096];
        snprintf(cdir, sizeof cdir, "%s/%s", dir, classes[k]);
        char **files = NULL;
        int nf = 0;
        st = list_dir(cdir, false, &files, &nf);
        if (!st && nf == 0) st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: class folder has no images", cdir);
        for (int i = 0; !st && i < nf; i++) {
            char path[4096 + 256];
            snprintf(path, sizeof path, "%s/%s", cdir, files[i]);
            hearth_image img = {0};
            st = hearth_image_load(path, want_c, &img);
            if (st) {
                st = error_with(st, path);
                break;
            }
            if (out->n == 0 && (w == 0 || h == 0)) w = img.w, h = img.h;
            if (img.w != w || img.h != h) {
                st = hearth_set_error(HEARTH_ERR_FORMAT, "%s: image is %dx%d, expected %dx%d", path, img.w, img.h,
                                      w, h);
                hearth_image_free(&img);
                break;
            }
            size_t sz = (size_t)w * h * want_c;
            if (!HEARTH_GROW(out->pixels, cap_px, (size_t)(out->n + 1) * sz) ||
                !HEARTH_GROW(out->labels, cap_l, (size_t)out->n + 1))
                st = HEARTH_ERR_NOMEM;
            else {
                memcpy(out->pixels + (size_t)out->n * sz, img.data, sz);
                out->labels[out->n++] = k;
            }
            hearth_image_free(&img);
        }
        free_names(files, nf);
    }
    out->w = w, out->h = h, out->c = want_c;
    out->n_classes = nc;
    out->class_names = classes;
    if (st) hearth_vdata_free(out);
    /* channels == 0: grey when every image was grey is not known after conversion; keep 3 (documented as 1
     * when all are grey: check by comparing channels) */
    if (!st && channels == 0) {
        bool grey = true;
        size_t np = (size_t)out->n * w * h;
        for (size_t i = 0; grey && i < np; i++)
            grey = out->pixels[3 * i] == out->pixels[3 * i + 1] && out->pixels[3 * i] == out->pixels[3 * i + 2];
        if (grey) {
            for (size_t i = 0; i < np; i++) out->pixels[i] = out->pixels[3 * i];
            out->c = 1;
        }
    }
    return st;
#endif
}
