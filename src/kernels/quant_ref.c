/*
 * quant_ref.c — the scalar reference of every quantized type: quantize
 * (bit-identical to ggml's reference quantizers, so files written with these
 * match the reference engine's byte for byte), dequantize, and the dot
 * product against the on-the-fly quantized activations. This file is the
 * spec the AVX2 / AVX-512 versions are tested against; see quant.h for the
 * block layouts.
 *
 * The quantizers reproduce ggml's float arithmetic operation by operation
 * (same order of multiplications, same rounding helpers): any change of
 * evaluation order changes the rounding of a few values and thereby the
 * bytes written. Build without -ffast-math / FMA contraction (C11 mode
 * already disables contraction).
 */
#include "quant.h"

#include <float.h>
#include <math.h>

/* ==== helpers =============================================================== */

/* round to nearest, ties to even, for |x| < 2^22: adding 1.5*2^23 moves the
 * integer part into the low mantissa bits */
static inline int nearest_int(float x) {
    float v = x + 12582912.f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int iclamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

#define GROUP_MAX_EPS 1e-15f

/* ==== Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 / Q8_1 ============================== */

void quantize_row_q4_0_ref(const float *x, void *dst, int64_t n) {
    block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        /* the value of largest magnitude maps to -8 */
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = hearth_fp32_to_fp16(d);
        for (int j = 0; j < 16; j++) {
            int q0 = imin(15, (int8_t)(x[j] * id + 8.5f));
            int q1 = imin(15, (int8_t)(x[j + 16] * id + 8.5f));
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void quantize_row_q4_1_ref(const float *x, void *dst, int64_t n) {
    block_q4_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < 32; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 15;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = hearth_fp32_to_fp16(d);
        y[i].m = hearth_fp32_to_fp16(min);
        for (int j = 0; j < 16; j++) {
            int q0 = imin(15, (int8_t)((x[j] - min) * id + 0.5f));
            int q1 = imin(15, (int8_t)((x[j + 16] - min) * id + 0.5f));
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void quantize_row_q5_0_ref(const float *x, void *dst, int64_t n) {
    block_q5_0 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = hearth_fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = imin(31, (int8_t)(x[j] * id + 16.5f));
            int q1 = imin(31, (int8_t)(x[j + 16] * id + 16.5f));
            y[i].qs[j] = (uint8_t)((q0 & 15) | ((q1 & 15) << 4));
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

void quantize_row_q5_1_ref(const float *x, void *dst, int64_t n) {
    block_q5_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < 32; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 31;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = hearth_fp32_to_fp16(d);
        y[i].m = hearth_fp32_to_fp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (uint8_t)((x[j] - min) * id + 0.5f);
            int q1 = (uint8_t)((x[j + 16] - min) * id + 0.5f);
            y[i].qs[j] = (uint8_t)((q0 & 15) | ((q1 & 15) << 4));
            qh |= (uint32_t)((q0 >> 4) & 1) << j;
            qh |= (uint32_t)((q1 >> 4) & 1) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

void quantize_row_q8_0_ref(const float *x, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = hearth_fp32_to_fp16(d);
        for (int j = 0; j < 32; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

void quantize_row_q8_1_ref(const float *x, void *dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = hearth_fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            y[i].qs[j] = (int8_t)roundf(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].s = hearth_fp32_to_fp16(sum * d);
    }
}

void dequantize_row_q4_0_ref(const void *src, float *y, int64_t n) {
    const block_q4_0 *x = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = F16(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = ((x[i].qs[j] & 15) - 8) * d;
            y[j + 16] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_row_q4_1_ref(const void *src, float *y, int64_t n) {
    const block_q4_1 *x = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = F16(x[i].d), m = F16(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (x[i].qs[j] & 15) * d + m;
            y[j + 16] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

void dequantize_row_q5_0_ref(const void *src, float *y, int64_t n) {
    const block_q5_0 *x = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = F16(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < 16; j++) {
            int q0 = (x[i].qs[j] & 15) | (((qh >> j) & 1) << 4);
            int q1 = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[j] = (q0 - 16) * d;
            y[j + 16] = (q1 - 16) * d;
        }
    }
}

void dequantize_row_q5_1_ref(const void *src, float *y, int64_t n) {
    const block_q5_1 *x = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = F16(x[i].d), m = F16(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < 16; j++) {
            int q0 = (x[i].qs[j] & 15) | (((qh >> j) & 1) << 4);
            int q1 = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[j] = q0 * d + m;
            y[j + 16] = q1 * d + m;
        }
    }
}

void dequantize_row_q8_0_ref(const void *src, float *y, int64_t n) {
    const block_q8_0 *x = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = F16(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = x[i].qs[j] * d;
    }
}

void dequantize_row_q8_1_ref(const void *src, float *y, int64_t n) {
    const block_q8_1 *x = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = F16(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = x[i].qs[j] * d;
    }
}

/* dot products: exact integer sums per block, one float multiply-add per block */
float vec_dot_q4_0_q8_0_ref(int64_t n, const void *wv, const void *av) {
    const block_q4_0 *w = wv;
    const block_q8_0 *a = av;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++)
            s += ((w[i].qs[j] & 15) - 8) * a[i].qs[j] + ((w[i].qs[j] >> 4) - 8) * a[i].qs[j + 16];
        sum += s * (F16(w[i].d) * F16(a[i].d));
    }
    return sum;
}

float vec_dot_q4_1_q8_1_ref(int64_t n, const void *wv, const void *av) {
    const block_q4_1 *w = wv;
    const block_q8_1 *a = av;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++) s += (w[i].qs[j] & 15) * a[i].qs[j] + (w[i].qs[j] >> 4) * a[i].qs[j + 16];
        /* sum (d q + m) a_d a_q = d a_d sum(q a_q) + m (a_d sum a_q) */
        sum += (F16(w[i].d) * F16(a[i].d)) * s + F16(w[i].m) * F16(a[i].s);
    }
    return sum;
}

float vec_dot_q5_0_q8_0_ref(int64_t n, const void *wv, const void *av) {
    const block_q5_0 *w = wv;
    const block_q8_0 *a = av;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh;
        memcpy(&qh, w[i].qh, 4);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = ((w[i].qs[j] & 15) | (((qh >> j) & 1) << 4)) - 16;
            int q1 = ((w[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            s += q0 * a[i].qs[j] + q1 * a[i].qs[j + 16];
        }
        sum += s * (F16(w[i].d) * F16(a[i].d));
    }
    return sum;
}

float vec_dot_q5_1_q8_1_ref(int64_t n, const void *wv, const void *av) {
    const block_q5_1 *w = wv;
    const block_q8_1 *a = av;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh;
        memcpy(&qh, w[i].qh, 4);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (w[i].qs[j] & 15) | (((qh >> j) & 1) << 4);
            int q1 = (w[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            s += q0 * a[i].qs[j] + q1 * a[i].qs[j + 16];
        }
        sum += (F16(w[i].d) * F16(a[i].d)) * s + F16(w[i].m) * F16(a[i].s);
    }
    return sum;
}

float vec_dot_q8_0_q8_0_ref(int64_t n, const void *wv, const void *av) {
    const block_q8_0 *w = wv;
    const block_q8_0 *a = av;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += w[i].qs[j] * a[i].qs[j];
        sum += s * (F16(w[i].d) * F16(a[i].d));
    }
    return sum;
}

/* ==== K-quant search helpers (ggml's, without importance weights) ========= */

/* Symmetric quants in [-nmax, nmax-1], weights x^2: tries 19 scales around
 * nmax/max and keeps the one of least weighted squared error. Returns the
 * scale; L gets q + nmax. (ggml make_qx_quants, rmse_type 1, no qw) */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = iclamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = iclamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) L[i] = (int8_t)(nmax + iclamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Q3_K: symmetric quants in [-nmax, nmax-1] refined by coordinate descent
 * (up to 5 passes) on the x^2-weighted error. L gets q + nmax.
 * (ggml make_q3_quants with do_rmse) */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = iclamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * L[i] * L[i];
                int new_l = iclamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return sumlx / suml2;
}

/* Asymmetric quants in [0, nmax] with x ~ scale*L - min (min >= 0 returned in
 * *the_min): starts from (max-min)/nmax, then tries nstep+1 scales and
 * solves the weighted least squares for scale and min at each, keeping the
 * best by weighted |err| (use_mad) or err^2. (ggml make_qkx2_quants) */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
                              bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_mad = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)iclamp(l, 0, nmax);
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_mad += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = iclamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float mad = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                mad += weights[i] * diff;
            }
            if (mad < best_mad) {
                memcpy(L, Laux, (size_t)n);
                best_mad = mad;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* 2-bit fields of 4 consecutive 32-element groups packed into 32 bytes
 * (Q2_K / Q3_K low bits) */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

/* Q4_K / Q5_K: 8 6-bit scales and mins into scales[12] */
static void pack_scale_min_k4(const uint8_t ls[8], const uint8_t lm[8], uint8_t *s) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            s[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

/* ==== Q2_K ================================================================== */

void quantize_row_q2_K_ref(const float *x, void *dst, int64_t n) {
    block_q2_K *y = dst;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[16], scales[16];
    const float q4scale = 15.f;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 16; j++) {
            for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15,
                                         true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            float iscale = q4scale / max_scale;
            for (int j = 0; j < 16; j++) y[i].scales[j] = (uint8_t)nearest_int(iscale * scales[j]);
            y[i].d = hearth_fp32_to_fp16(max_scale / q4scale);
        } else {
            for (int j = 0; j < 16; j++) y[i].scales[j] = 0;
            y[i].d = hearth_fp32_to_fp16(0.f);
        }
        if (max_min > 0) {
            float iscale = q4scale / max_min;
            for (int j = 0; j < 16; j++) y[i].scales[j] |= (uint8_t)(nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = hearth_fp32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = hearth_fp32_to_fp16(0.f);
        }
        /* requantize with the rounded scales */
        for (int j = 0; j < 16; j++) {
            const float d = F16(y[i].d) * (y[i].scales[j] & 0xF);
            if (!d) continue;
            const float dm = F16(y[i].dmin) * (y[i].scales[j] >> 4);
            for (int l = 0; l < 16; l++) L[16 * j + l] = (uint8_t)iclamp(nearest_int((x[16 * j + l] + dm) / d), 0, 3);
        }
        pack_2bit(L, y[i].qs);
    }
}

/* q[e] in 0..3 for the 256 elements of a Q2_K / Q3_K block */
static void unpack_2bit(const uint8_t *qs, uint8_t *q) {
    for (int e = 0; e < QK_K; e++) q[e] = (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
}

void dequantize_row_q2_K_ref(const void *src, float *y, int64_t n) {
    const block_q2_K *x = src;
    uint8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = F16(x[i].d), dmin = F16(x[i].dmin);
        unpack_2bit(x[i].qs, q);
        for (int e = 0; e < QK_K; e++) {
            int sc = x[i].scales[e / 16];
            y[e] = (d * (sc & 0xF)) * q[e] - dmin * (sc >> 4);
        }
    }
}

float vec_dot_q2_K_q8_K_ref(int64_t n, const void *wv, const void *av) {
    const block_q2_K *w = wv;
    const block_q8_K *a = av;
    uint8_t q[QK_K];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_2bit(w[i].qs, q);
        int isum = 0, summ = 0;
        for (int s = 0; s < 16; s++) {
            int si = 0;
            for (int l = 0; l < 16; l++) si += q[16 * s + l] * a[i].qs[16 * s + l];
            isum += (w[i].scales[s] & 0xF) * si;
            summ += (w[i].scales[s] >> 4) * a[i].bsums[s];
        }
        const float dall = a[i].d * F16(w[i].d), dmin = a[i].d * F16(w[i].dmin);
        sum += dall * isum - dmin * summ;
    }
    return sum;
}

/* ==== Q3_K ================================================================== */

void quantize_row_q3_K_ref(const float *x, void *dst, int64_t n) {
    block_q3_K *y = dst;
    int8_t L[QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) { amax = fabsf(scales[j]); max_scale = scales[j]; }
        }
        memset(y[i].scales, 0, 12);
        if (max_scale) {
            float iscale = -32.f / max_scale;
            for (int j = 0; j < 16; j++) {
                int8_t l = (int8_t)nearest_int(iscale * scales[j]);
                l = (int8_t)(iclamp(l, -32, 31) + 32);
                if (j < 8) y[i].scales[j] = l & 0xF;
                else y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                l >>= 4;
                y[i].scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
            }
            y[i].d = hearth_fp32_to_fp16(1 / iscale);
        } else {
            y[i].d = hearth_fp32_to_fp16(0.f);
        }
        int sc[16];
        quant_q3k_scales(y[i].scales, sc);
        for (int j = 0; j < 16; j++) {
            float d = F16(y[i].d) * sc[j];
            if (!d) continue;
            for (int l = 0; l < 16; l++) L[16 * j + l] = (int8_t)(iclamp(nearest_int(x[16 * j + l] / d), -4, 3) + 4);
        }
        /* high bit of element e: bit e/32 of hmask[e%32] */
        memset(y[i].hmask, 0, 32);
        uint8_t Lu[QK_K];
        for (int e = 0; e < QK_K; e++) {
            int l = L[e];
            if (l > 3) {
                y[i].hmask[e % 32] |= (uint8_t)(1 << (e / 32));
                l -= 4;
            }
            Lu[e] = (uint8_t)l;
        }
        pack_2bit(Lu, y[i].qs);
    }
}

/* q[e] in -4..3 */
static void unpack_q3_K(const block_q3_K *b, int8_t *q) {
    uint8_t lo[QK_K];
    unpack_2bit(b->qs, lo);
    for (int e = 0; e < QK_K; e++) q[e] = (int8_t)(lo[e] - ((b->hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4));
}

void dequantize_row_q3_K_ref(const void *src, float *y, int64_t n) {
    const block_q3_K *x = src;
    int8_t q[QK_K];
    int sc[16];
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = F16(x[i].d);
        unpack_q3_K(&x[i], q);
        quant_q3k_scales(x[i].scales, sc);
        for (int e = 0; e < QK_K; e++) y[e] = (d * sc[e / 16]) * q[e];
    }
}

float vec_dot_q3_K_q8_K_ref(int64_t n, const void *wv, const void *av) {
    const block_q3_K *w = wv;
    const block_q8_K *a = av;
    int8_t q[QK_K];
    int sc[16];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q3_K(&w[i], q);
        quant_q3k_scales(w[i].scales, sc);
        int isum = 0;
        for (int s = 0; s < 16; s++) {
            int si = 0;
            for (int l = 0; l < 16; l++) si += q[16 * s + l] * a[i].qs[16 * s + l];
            isum += sc[s] * si;
        }
        sum += (F16(w[i].d) * a[i].d) * isum;
    }
    return sum;
}

/* ==== Q4_K and Q5_K ========================================================= */

/* One super-block of Q4_K (nmax 15) or Q5_K (nmax 31): eight sub-blocks of
 * 32 with a 6-bit scale and min each (packed into scales[12]) under the
 * super-block's d and dmin; L[e] gets each element's level 0..nmax. The two
 * types differ only in nmax, make_qkx2_quants' search (rmin, steps) and how
 * the levels are packed. */
static void quantize_q45_K_block(const float *x, int nmax, float rmin, int nstep, uint8_t *L, uint8_t scales_out[12],
                                 uint16_t *d_out, uint16_t *dmin_out) {
    uint8_t Laux[32], ls[8], lm[8];
    float weights[32], mins[8], scales[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep,
                                     false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)imin(63, (uint8_t)nearest_int(inv_scale * scales[j]));
        lm[j] = (uint8_t)imin(63, (uint8_t)nearest_int(inv_min * mins[j]));
    }
    pack_scale_min_k4(ls, lm, scales_out);
    *d_out = hearth_fp32_to_fp16(max_scale / 63.f);
    *dmin_out = hearth_fp32_to_fp16(max_min / 63.f);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        quant_scale_min_k4(j, scales_out, &sc, &m);
        const float d = F16(*d_out) * sc;
        if (!d) continue;
        const float dm = F16(*dmin_out) * m;
        for (int l = 0; l < 32; l++) L[32 * j + l] = (uint8_t)iclamp(nearest_int((x[32 * j + l] + dm) / d), 0, nmax);
    }
}

/* levels 0..15 into nibbles, or 0..31 with the fifth bits into qh (qh != NULL):
 * the inverse of unpack_q45_K */
static void pack_q45_K(const uint8_t *L, uint8_t *qs, uint8_t *qh) {
    if (qh) memset(qh, 0, 32);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            int l1 = L[64 * c + l], l2 = L[64 * c + 32 + l];
            if (qh && l1 > 15) { l1 -= 16; qh[l] |= (uint8_t)(1 << (2 * c)); }
            if (qh && l2 > 15) { l2 -= 16; qh[l] |= (uint8_t)(2 << (2 * c)); }
            qs[32 * c + l] = (uint8_t)(l1 | (l2 << 4));
        }
}

void quantize_row_q4_K_ref(const float *x, void *dst, int64_t n) {
    block_q4_K *y = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        quantize_q45_K_block(x, 15, -1.f, 20, L, y[i].scales, &y[i].d, &y[i].dmin);
        pack_q45_K(L, y[i].qs, NULL);
    }
}

/* q[e] in 0..15 (Q4_K) or 0..31 (Q5_K, qh != NULL) */
static void unpack_q45_K(const uint8_t *qs, const uint8_t *qh, uint8_t *q) {
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            q[64 * c + l] = qs[32 * c + l] & 0xF;
            q[64 * c + 32 + l] = qs[32 * c + l] >> 4;
            if (qh) {
                q[64 * c + l] |= (uint8_t)(((qh[l] >> (2 * c)) & 1) << 4);
                q[64 * c + 32 + l] |= (uint8_t)(((qh[l] >> (2 * c + 1)) & 1) << 4);
            }
        }
}

static void dequantize_q45_K(const uint8_t *q, const uint8_t *scales, float d, float dmin, float *y) {
    for (int s = 0; s < 8; s++) {
        int sc, m;
        quant_scale_min_k4(s, scales, &sc, &m);
        const float d1 = d * sc, m1 = dmin * m;
        for (int l = 0; l < 32; l++) y[32 * s + l] = d1 * q[32 * s + l] - m1;
    }
}

static float dot_q45_K(const uint8_t *q, const uint8_t *scales, float d, float dmin, const block_q8_K *a) {
    int isum = 0, summ = 0;
    for (int s = 0; s < 8; s++) {
        int sc, m, si = 0;
        quant_scale_min_k4(s, scales, &sc, &m);
        for (int l = 0; l < 32; l++) si += q[32 * s + l] * a->qs[32 * s + l];
        isum += sc * si;
        summ += m * (a->bsums[2 * s] + a->bsums[2 * s + 1]);
    }
    return (a->d * d) * isum - (a->d * dmin) * summ;
}

void dequantize_row_q4_K_ref(const void *src, float *y, int64_t n) {
    const block_q4_K *x = src;
    uint8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        unpack_q45_K(x[i].qs, NULL, q);
        dequantize_q45_K(q, x[i].scales, F16(x[i].d), F16(x[i].dmin), y);
    }
}

float vec_dot_q4_K_q8_K_ref(int64_t n, const void *wv, const void *av) {
    const block_q4_K *w = wv;
    const block_q8_K *a = av;
    uint8_t q[QK_K];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q45_K(w[i].qs, NULL, q);
        sum += dot_q45_K(q, w[i].scales, F16(w[i].d), F16(w[i].dmin), &a[i]);
    }
    return sum;
}

/* ==== Q5_K ================================================================== */

void quantize_row_q5_K_ref(const float *x, void *dst, int64_t n) {
    block_q5_K *y = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        quantize_q45_K_block(x, 31, -0.5f, 15, L, y[i].scales, &y[i].d, &y[i].dmin);
        pack_q45_K(L, y[i].qs, y[i].qh);
    }
}

void dequantize_row_q5_K_ref(const void *src, float *y, int64_t n) {
    const block_q5_K *x = src;
    uint8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        unpack_q45_K(x[i].qs, x[i].qh, q);
        dequantize_q45_K(q, x[i].scales, F16(x[i].d), F16(x[i].dmin), y);
    }
}

float vec_dot_q5_K_q8_K_ref(int64_t n, const void *wv, const void *av) {
    const block_q5_K *w = wv;
    const block_q8_K *a = av;
    uint8_t q[QK_K];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q45_K(w[i].qs, w[i].qh, q);
        sum += dot_q45_K(q, w[i].scales, F16(w[i].d), F16(w[i].dmin), &a[i]);
    }
    return sum;
}

/* ==== Q6_K ================================================================== */

void quantize_row_q6_K_ref(const float *x, void *dst, int64_t n) {
    block_q6_K *y = dst;
    int8_t L[QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int s = 0; s < 16; s++) {
            scales[s] = make_qx_quants(16, 32, x + 16 * s, L + 16 * s);
            if (fabsf(scales[s]) > max_abs_scale) { max_abs_scale = fabsf(scales[s]); max_scale = scales[s]; }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float iscale = -128.f / max_scale;
        y[i].d = hearth_fp32_to_fp16(1 / iscale);
        for (int s = 0; s < 16; s++) y[i].scales[s] = (int8_t)imin(127, nearest_int(iscale * scales[s]));
        for (int s = 0; s < 16; s++) {
            float d = F16(y[i].d) * y[i].scales[s];
            if (!d) continue;
            for (int l = 0; l < 16; l++) L[16 * s + l] = (int8_t)(iclamp(nearest_int(x[16 * s + l] / d), -32, 31) + 32);
        }
        /* element 128h + 32k + l: low nibble in ql[64h + 32(k&1) + l] (high
         * nibble for k >= 2), top 2 bits at bit 2k of qh[32h + l] */
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const int8_t *Lh = L + 128 * h;
                y[i].ql[64 * h + l] = (uint8_t)((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
                y[i].ql[64 * h + l + 32] = (uint8_t)((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
                y[i].qh[32 * h + l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                                ((Lh[l + 96] >> 4) << 6));
            }
    }
}

/* q[e] in -32..31 */
static void unpack_q6_K(const block_q6_K *b, int8_t *q) {
    for (int e = 0; e < QK_K; e++) {
        int h = e / 128, k = (e / 32) % 4, l = e % 32;
        int lo = b->ql[64 * h + 32 * (k & 1) + l] >> (4 * (k >> 1)) & 0xF;
        int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;
        q[e] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

void dequantize_row_q6_K_ref(const void *src, float *y, int64_t n) {
    const block_q6_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = F16(x[i].d);
        unpack_q6_K(&x[i], q);
        for (int e = 0; e < QK_K; e++) y[e] = d * x[i].scales[e / 16] * q[e];
    }
}

float vec_dot_q6_K_q8_K_ref(int64_t n, const void *wv, const void *av) {
    const block_q6_K *w = wv;
    const block_q8_K *a = av;
    int8_t q[QK_K];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        unpack_q6_K(&w[i], q);
        int isum = 0;
        for (int s = 0; s < 16; s++) {
            int si = 0;
            for (int l = 0; l < 16; l++) si += q[16 * s + l] * a[i].qs[16 * s + l];
            isum += w[i].scales[s] * si;
        }
        sum += (F16(w[i].d) * a[i].d) * isum;
    }
    return sum;
}

/* ==== Q8_K (activations for the K-quants) =================================== */

void quantize_row_q8_K_ref(const float *x, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) y[i].qs[j] = (int8_t)imin(127, nearest_int(iscale * x[j]));
        for (int s = 0; s < 16; s++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * s + l];
            y[i].bsums[s] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

void dequantize_row_q8_K_ref(const void *src, float *y, int64_t n) {
    const block_q8_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K)
        for (int j = 0; j < QK_K; j++) y[j] = x[i].d * x[i].qs[j];
}
