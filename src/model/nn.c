/*
 * nn.c — the small per-row ops the encoders share (BERT, CLIP): LayerNorm
 * and the two GELU forms. Scalar: next to the matmuls they cost little.
 */
#include "model_internal.h"

#include <math.h>

/* y = (x - mean) / sqrt(var + eps) * w + b  (y may equal x) */
void model_layernorm(float *y, const float *x, const float *w, const float *b, int64_t n, float eps) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    float mean = (float)(sum / (double)n);
    double var = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - mean;
        var += d * d;
    }
    float inv = (float)(1.0 / sqrt(var / (double)n + (double)eps));
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * w[i] + b[i];
}

/* GELU, tanh approximation (ggml_gelu): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
 * computed as x / (1 + exp(-2u)) (the same function: 0.5 (1 + tanh u) =
 * sigmoid(2u)), one expf instead of tanhf's expm1f + division */
void model_gelu(float *x, int64_t n) {
    const float c2 = 2.0f * 0.7978845608028654f;   /* 2 sqrt(2/pi) */
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], u = c2 * (v + 0.044715f * v * v * v);
        x[i] = u < -80.0f ? 0.0f : v / (1.0f + expf(-u));
    }
}

/* quick GELU (ggml_gelu_quick, OpenAI CLIP): x * sigmoid(1.702 x) */
void model_gelu_quick(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], u = 1.702f * v;
        x[i] = u < -80.0f ? 0.0f : v / (1.0f + expf(-u));
    }
}
