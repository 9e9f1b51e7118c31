/*
 * qc_features.c — the fixed patch features of the quality-inspection
 * detector (see include/hearth/qc.h): grey image -> normalised,
 * canonically oriented -> per-pixel feature maps -> one vector per 4 x 4
 * cell (the mean of the maps over the cell).
 */
#include "apps/qc_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- separable Gaussian blur with mirrored borders ------------------------- */

/* reflection about the edge pixel (d c b | a b c d), which keeps the texture's fine energy at the edge */
static int mirror(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
}

/* dst = src blurred with sigma; tmp: W*H floats */
static void blur(float *dst, const float *src, float *tmp, int W, int H, float sigma) {
    int r = (int)ceilf(3.0f * sigma);
    float k[64];
    if (r > 31) r = 31;
    float s = 0;
    for (int i = -r; i <= r; i++) s += (k[i + r] = expf(-(float)(i * i) / (2 * sigma * sigma)));
    for (int i = 0; i <= 2 * r; i++) k[i] /= s;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float a = 0;
            for (int i = -r; i <= r; i++) a += k[i + r] * src[(size_t)y * W + mirror(x + i, W)];
            tmp[(size_t)y * W + x] = a;
        }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float a = 0;
            for (int i = -r; i <= r; i++) a += k[i + r] * tmp[(size_t)mirror(y + i, H) * W + x];
            dst[(size_t)y * W + x] = a;
        }
}

/* ---- canonical orientation ------------------------------------------------------ */

/* x (W, H) grey floats -> out (W', H') with the dominant gradient direction
 * along x (transposed when not) and a non-negative mean gx*gy (mirrored
 * left-right when not). */
static void canonical(float *out, int *ow, int *oh, const float *x, int W, int H, qc_frame *fr) {
    double jxx = 0, jyy = 0, jxy = 0;
    for (int y = 1; y < H - 1; y++)
        for (int i = 1; i < W - 1; i++) {
            double gx = x[(size_t)y * W + i + 1] - x[(size_t)y * W + i - 1];
            double gy = x[(size_t)(y + 1) * W + i] - x[(size_t)(y - 1) * W + i];
            jxx += gx * gx, jyy += gy * gy, jxy += gx * gy;
        }
    fr->transposed = jyy > jxx;
    fr->flipped = (fr->transposed ? jxy : jxy) < 0;   /* transposing keeps gx*gy's sign */
    fr->w = W, fr->h = H;
    int CW = fr->transposed ? H : W, CH = fr->transposed ? W : H;
    for (int y = 0; y < CH; y++)
        for (int i = 0; i < CW; i++) {
            int sx = fr->flipped ? CW - 1 - i : i, sy = y;   /* in the transposed frame */
            int ox = fr->transposed ? sy : sx, oy = fr->transposed ? sx : sy;
            out[(size_t)y * CW + i] = x[(size_t)oy * W + ox];
        }
    *ow = CW, *oh = CH;
}

void qc_frame_to_image(const qc_frame *fr, int cx, int cy, int cw, int ch, int box[4]) {
    int CW = fr->transposed ? fr->h : fr->w;
    /* undo the flip in the canonical frame, then the transpose */
    int x0 = fr->flipped ? CW - (cx + cw) : cx;
    if (fr->transposed) {
        box[0] = cy, box[1] = x0, box[2] = ch, box[3] = cw;
    } else {
        box[0] = x0, box[1] = cy, box[2] = cw, box[3] = ch;
    }
}

/* ---- features ----------------------------------------------------------------------- */

hearth_status qc_features(const hearth_image *img, float **feat, int *gw, int *gh, qc_frame *fr) {
    *feat = NULL;
    if (!img || !img->data || img->w < 16 || img->h < 16 || (img->c != 1 && img->c != 3))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "qc: images must be at least 16x16 (got %dx%d)",
                                img ? img->w : 0, img ? img->h : 0);
    if ((int64_t)img->w * img->h > 4096 * 4096)
        return hearth_set_error(HEARTH_ERR_RANGE, "qc: image of %dx%d is too large", img->w, img->h);
    int W = img->w, H = img->h;
    size_t N = (size_t)W * H;
    float *buf = malloc(N * sizeof(float) * (QC_MAPS_PIXEL + 8));
    if (!buf) return HEARTH_ERR_NOMEM;
    float *g = buf, *x = g + N, *tmp = x + N, *t2 = tmp + N, *gx = t2 + N, *gy = gx + N, *g1 = gy + N,
          *g2 = g1 + N, *maps = g2 + N;
    /* grey, zero mean, unit variance (camera gain and offset do not matter) */
    double s = 0, s2 = 0;
    for (size_t i = 0; i < N; i++) {
        float v = img->c == 1 ? img->data[i]
                              : (77.0f * img->data[3 * i] + 150.0f * img->data[3 * i + 1] + 29.0f * img->data[3 * i + 2]) / 256.0f;
        g[i] = v;
        s += v, s2 += (double)v * v;
    }
    double m = s / (double)N, sd = sqrt(fmax(s2 / (double)N - m * m, 1e-6));
    for (size_t i = 0; i < N; i++) g[i] = (float)((g[i] - m) / sd);
    canonical(x, &W, &H, g, img->w, img->h, fr);

    float *F[QC_MAPS_PIXEL];
    for (int k = 0; k < QC_MAPS_PIXEL; k++) F[k] = maps + (size_t)k * N;
    blur(g1, x, tmp, W, H, 1.0f);
    blur(g2, x, tmp, W, H, 2.0f);
    memcpy(F[0], g1, N * sizeof(float));
    memcpy(F[1], g2, N * sizeof(float));
    blur(F[2], x, tmp, W, H, 4.0f);
    for (size_t i = 0; i < N; i++) {
        F[3][i] = g1[i] - g2[i];
        F[4][i] = g2[i] - F[2][i];
    }
    /* band-pass energy, fine-texture energy, local variance */
    for (size_t i = 0; i < N; i++) t2[i] = F[3][i] * F[3][i];
    blur(F[5], t2, tmp, W, H, 2.0f);
    for (size_t i = 0; i < N; i++) t2[i] = (x[i] - g1[i]) * (x[i] - g1[i]);
    blur(F[6], t2, tmp, W, H, 2.0f);
    for (size_t i = 0; i < N; i++) t2[i] = x[i] * x[i];
    blur(F[10], t2, tmp, W, H, 2.0f);
    for (size_t i = 0; i < N; i++) {
        F[5][i] = sqrtf(fmaxf(F[5][i], 0));
        F[6][i] = sqrtf(fmaxf(F[6][i], 0));
        F[10][i] = sqrtf(fmaxf(F[10][i] - g2[i] * g2[i], 0));
    }
    /* gradient structure tensor of the lightly smoothed image, at two scales */
    for (int y = 0; y < H; y++)
        for (int i = 0; i < W; i++) {
            gx[(size_t)y * W + i] = 0.5f * (g1[(size_t)y * W + mirror(i + 1, W)] - g1[(size_t)y * W + mirror(i - 1, W)]);
            gy[(size_t)y * W + i] = 0.5f * (g1[(size_t)mirror(y + 1, H) * W + i] - g1[(size_t)mirror(y - 1, H) * W + i]);
        }
    for (size_t i = 0; i < N; i++) t2[i] = gx[i] * gx[i];
    blur(F[7], t2, tmp, W, H, 2.0f);
    blur(F[11], t2, tmp, W, H, 4.0f);
    for (size_t i = 0; i < N; i++) t2[i] = gy[i] * gy[i];
    blur(F[8], t2, tmp, W, H, 2.0f);
    blur(F[12], t2, tmp, W, H, 4.0f);
    for (size_t i = 0; i < N; i++) t2[i] = gx[i] * gy[i];
    blur(F[9], t2, tmp, W, H, 2.0f);
    for (int k = 7; k <= 12; k++) {
        if (k == 9 || k == 10) continue;
        for (size_t i = 0; i < N; i++) F[k][i] = sqrtf(fmaxf(F[k][i], 0));
    }
    /* the finest texture energy (what a local blur takes away first) */
    float *e05 = gx;   /* gx / gy are no longer needed */
    blur(tmp + 0, x, t2, W, H, 0.5f);   /* tmp = blur(x, 0.5) (t2 as scratch) */
    for (size_t i = 0; i < N; i++) gy[i] = (x[i] - tmp[i]) * (x[i] - tmp[i]);
    blur(e05, gy, t2, W, H, 1.5f);
    for (size_t i = 0; i < N; i++) e05[i] = logf(sqrtf(fmaxf(e05[i], 0)) + 0.02f);
    /* energies on a log scale: a blur that halves the texture's energy moves them as far where the
     * texture is faint as where it is strong */
    static const int energy[] = {5, 6, 7, 8, 10, 11, 12};
    for (size_t e = 0; e < sizeof energy / sizeof energy[0]; e++)
        for (size_t i = 0; i < N; i++) F[energy[e]][i] = logf(F[energy[e]][i] + 0.02f);
    for (size_t i = 0; i < N; i++) F[9][i] = F[9][i] >= 0 ? sqrtf(F[9][i]) : -sqrtf(-F[9][i]);

    /* one vector per cell: the mean of each map over the cell */
    int C = QC_CELL, nw = W / C, nh = H / C;
    float *out = malloc((size_t)nw * nh * QC_MAPS * sizeof(float));
    if (!out) {
        free(buf);
        return HEARTH_ERR_NOMEM;
    }
    for (int cy = 0; cy < nh; cy++)
        for (int cx = 0; cx < nw; cx++) {
            float *o = out + ((size_t)cy * nw + cx) * QC_MAPS;
            for (int k = 0; k < QC_MAPS_PIXEL; k++) {
                float a = 0;
                for (int y = cy * C; y < cy * C + C; y++)
                    for (int i = cx * C; i < cx * C + C; i++) a += F[k][(size_t)y * W + i];
                o[k] = a / (float)(C * C);
            }
            /* the extremes of the fine band-pass over the cell: thin dark or bright lines */
            float lo = INFINITY, hi = -INFINITY;
            for (int y = cy * C; y < cy * C + C; y++)
                for (int i = cx * C; i < cx * C + C; i++) {
                    float v = F[3][(size_t)y * W + i];
                    lo = v < lo ? v : lo, hi = v > hi ? v : hi;
                }
            o[QC_MAPS_PIXEL] = lo;
            o[QC_MAPS_PIXEL + 1] = hi;
            float fmin = INFINITY;
            for (int y = cy * C; y < cy * C + C; y++)
                for (int i = cx * C; i < cx * C + C; i++) fmin = e05[(size_t)y * W + i] < fmin ? e05[(size_t)y * W + i] : fmin;
            o[QC_MAPS_PIXEL + 2] = fmin;
            /* how far the cell is from the image's edge (0, 1, 2+ cells), so that cells at the edge,
             * where the filters see less, are compared with edge cells of good images only */
            int ring = cx;
            ring = cy < ring ? cy : ring;
            ring = nw - 1 - cx < ring ? nw - 1 - cx : ring;
            ring = nh - 1 - cy < ring ? nh - 1 - cy : ring;
            o[QC_RING] = (float)(ring < 2 ? ring : 2);
        }
    free(buf);
    *feat = out;
    *gw = nw, *gh = nh;
    return HEARTH_OK;
}
