/*
 * kernels_ref.c — the scalar reference of every float kernel (F32, F16, BF16
 * rows and the ops). Plain loops, double accumulators: this file is the spec
 * that the AVX2 / AVX-512 files are tested against.
 */
#include "kernels_internal.h"

#include <math.h>

/* ==== F32 ================================================================= */
static void f32_to_float(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }
static void f32_from_float(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }

/* sum w[i] * x[i] */
static float f32_vec_dot(int64_t n, const void *w, const void *x) {
    const float *a = w, *b = x;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return (float)s;
}

/* ==== F16 ================================================================= */
static void f16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = hearth_fp16_to_fp32(s[i]);
}
static void f16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = hearth_fp32_to_fp16(src[i]);
}
/* w F16, x F32 */
static float f16_vec_dot(int64_t n, const void *w, const void *x) {
    const uint16_t *a = w;
    const float *b = x;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)hearth_fp16_to_fp32(a[i]) * b[i];
    return (float)s;
}

/* ==== BF16 ================================================================ */
static void bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = hearth_bf16_to_fp32(s[i]);
}
static void bf16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = hearth_fp32_to_bf16(src[i]);
}
static float bf16_vec_dot(int64_t n, const void *w, const void *x) {
    const uint16_t *a = w;
    const float *b = x;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)hearth_bf16_to_fp32(a[i]) * b[i];
    return (float)s;
}

/* ==== ops ================================================================= */
/* y = x / sqrt(mean(x^2) + eps) * w */
static void ref_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / (double)n + eps));
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
}

/* x = exp(x - max) / sum exp(x - max) */
static void ref_softmax(float *x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

/* y = gate * sigmoid(gate) * up */
static void ref_silu_mul(float *y, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        y[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

/* y += a * x */
static void ref_axpy(int64_t n, float a, const void *x, uint32_t xtype, float *y) {
    if (xtype == HEARTH_TYPE_F16) {
        const uint16_t *h = x;
        for (int64_t i = 0; i < n; i++) y[i] += a * hearth_fp16_to_fp32(h[i]);
    } else {
        const float *f = x;
        for (int64_t i = 0; i < n; i++) y[i] += a * f[i];
    }
}

static float ref_dot(int64_t n, const void *x, uint32_t xtype, const float *y) {
    return xtype == HEARTH_TYPE_F16 ? f16_vec_dot(n, x, y) : f32_vec_dot(n, x, y);
}

static void ref_add(float *y, const float *x, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] + b[i];
}

/* ==== registration ======================================================== */
void kernels_fill_ref(hearth_type_traits t[HEARTH_TYPE_COUNT], hearth_ops *ops) {
    t[HEARTH_TYPE_F32] = (hearth_type_traits){f32_to_float, f32_from_float, f32_vec_dot, NULL, HEARTH_TYPE_F32, NULL};
    t[HEARTH_TYPE_F16] = (hearth_type_traits){f16_to_float, f16_from_float, f16_vec_dot, NULL, HEARTH_TYPE_F32, NULL};
    t[HEARTH_TYPE_BF16] = (hearth_type_traits){bf16_to_float, bf16_from_float, bf16_vec_dot, NULL, HEARTH_TYPE_F32, NULL};
    ops->rmsnorm = ref_rmsnorm;
    ops->softmax = ref_softmax;
    ops->silu_mul = ref_silu_mul;
    ops->axpy = ref_axpy;
    ops->dot = ref_dot;
    ops->add = ref_add;
}
