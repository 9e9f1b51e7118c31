/*
 * vision_ops.c — forward and backward of the vision trainer's ops, one
 * image (or one token sequence) at a time. The backward of each op reads
 * what its forward saved; parameter gradients are added (+=), input
 * gradients written (=). Finite-difference checks: tests/industry/test_vision_grad.c.
 */
#include "train/vision_internal.h"

#include <math.h>
#include <string.h>

double vrng_normal(uint64_t *s) {
    double u1 = vrng_uniform(s), u2 = vrng_uniform(s);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- 3x3 convolution, padding 1 ------------------------------------------ */

/* col (C*9, H*W): col[c*9 + ky*3 + kx][y*W + x] = x[c][y+ky-1][x+kx-1] (0 outside) */
void vop_im2col3(float *col, const float *x, int C, int H, int Wd) {
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                float *dst = col + ((size_t)(c * 9 + ky * 3 + kx)) * H * Wd;
                for (int y = 0; y < H; y++) {
                    int sy = y + ky - 1;
                    float *d = dst + (size_t)y * Wd;
                    if (sy < 0 || sy >= H) {
                        memset(d, 0, (size_t)Wd * sizeof(float));
                        continue;
                    }
                    const float *s = x + ((size_t)c * H + sy) * Wd;
                    int dx = kx - 1;
                    for (int xx = 0; xx < Wd; xx++) {
                        int sx = xx + dx;
                        d[xx] = (sx >= 0 && sx < Wd) ? s[sx] : 0.0f;
                    }
                }
            }
}

/* dx += col2im(dcol) (the adjoint of im2col3) */
static void col2im3(float *dx, const float *dcol, int C, int H, int Wd) {
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                const float *src = dcol + ((size_t)(c * 9 + ky * 3 + kx)) * H * Wd;
                for (int y = 0; y < H; y++) {
                    int sy = y + ky - 1;
                    if (sy < 0 || sy >= H) continue;
                    float *d = dx + ((size_t)c * H + sy) * Wd;
                    const float *s = src + (size_t)y * Wd;
                    int x0 = kx == 0 ? 1 : 0, x1 = kx == 2 ? Wd - 1 : Wd;
                    for (int xx = x0; xx < x1; xx++) d[xx + kx - 1] += s[xx];
                }
            }
}

/* out (O, H*W) = W (O, C*9) @ col (C*9, H*W) + b */
void vop_conv3_forward(float *out, float *col, const float *x, const float *W, const float *b, int C, int H, int Wd,
                       int O) {
    int P = H * Wd, K = C * 9;
    vop_im2col3(col, x, C, H, Wd);
    for (int o = 0; o < O; o++)
        for (int p = 0; p < P; p++) out[(size_t)o * P + p] = b[o];
    vg_gemm(O, P, K, W, K, col, P, out, P, true);
}

void vop_conv3_backward(float *dx, float *dW, float *db, const float *dout, const float *col, const float *WT,
                        float *dcol, float *colT, int C, int H, int Wd, int O) {
    int P = H * Wd, K = C * 9;
    /* db += sum over positions */
    for (int o = 0; o < O; o++) {
        float s = 0.0f;
        for (int p = 0; p < P; p++) s += dout[(size_t)o * P + p];
        db[o] += s;
    }
    /* dW (O, K) += dout (O, P) @ col^T (P, K) */
    vg_transpose(colT, col, K, P);
    vg_gemm(O, K, P, dout, P, colT, K, dW, K, true);
    if (!dx) return;
    /* dcol (K, P) = W^T (K, O) @ dout (O, P); dx = col2im(dcol) */
    vg_gemm(K, P, O, WT, O, dout, P, dcol, P, false);
    memset(dx, 0, (size_t)C * P * sizeof(float));
    col2im3(dx, dcol, C, H, Wd);
}

/* ---- 2x2 max pooling --------------------------------------------------- */
void vop_maxpool_forward(float *out, int32_t *idx, const float *x, int C, int H, int Wd) {
    int Ho = H / 2, Wo = Wd / 2;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < Ho; y++)
            for (int xx = 0; xx < Wo; xx++) {
                int32_t best = (int32_t)(((size_t)c * H + 2 * y) * Wd + 2 * xx);
                float bv = x[best];
                int32_t cand[3] = {best + 1, best + Wd, best + Wd + 1};
                for (int i = 0; i < 3; i++)
                    if (x[cand[i]] > bv) bv = x[cand[i]], best = cand[i];
                size_t o = ((size_t)c * Ho + y) * Wo + xx;
                out[o] = bv;
                idx[o] = best;
            }
}

void vop_maxpool_backward(float *dx, const float *dout, const int32_t *idx, int C, int H, int Wd) {
    memset(dx, 0, (size_t)C * H * Wd * sizeof(float));
    size_t n = (size_t)C * (H / 2) * (Wd / 2);
    for (size_t i = 0; i < n; i++) dx[idx[i]] += dout[i];
}

/* ---- ReLU, GELU -------------------------------------------------------- */
void vop_relu_forward(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void vop_relu_backward(float *dx, const float *dout, const float *out, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

#define GELU_K 0.7978845608028654f   /* sqrt(2/pi) */
void vop_gelu_forward(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + tanhf(GELU_K * (v + 0.044715f * v * v * v)));
    }
}

void vop_gelu_backward(float *dx, const float *dout, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i], u = GELU_K * (v + 0.044715f * v * v * v), t = tanhf(u);
        float du = GELU_K * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dout[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
    }
}

/* ---- fully connected ---------------------------------------------------- */
void vop_fc_forward(float *out, const float *x, const float *W, const float *b, int T, int K, int N) {
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) out[(size_t)t * N + n] = b ? b[n] : 0.0f;
    vg_gemm(T, N, K, x, K, W, N, out, N, true);
}

void vop_fc_backward(float *dx, float *dW, float *db, const float *dout, const float *x, const float *W, int T,
                     int K, int N, float *scratch) {
    if (db)
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++) db[n] += dout[(size_t)t * N + n];
    /* dW (K, N) += x^T (K, T) @ dout (T, N) */
    float *xT = scratch;
    vg_transpose(xT, x, T, K);
    vg_gemm(K, N, T, xT, T, dout, N, dW, N, true);
    if (!dx) return;
    /* dx (T, K) = dout (T, N) @ W^T (N, K) */
    float *WT = scratch + (size_t)T * K;
    vg_transpose(WT, W, K, N);
    vg_gemm(T, K, N, dout, N, WT, K, dx, K, false);
}

/* ---- layer norm -------------------------------------------------------- */
void vop_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *g, const float *b,
                           int T, int C) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * C;
        float m = 0.0f, v = 0.0f;
        for (int c = 0; c < C; c++) m += xr[c];
        m /= (float)C;
        for (int c = 0; c < C; c++) v += (xr[c] - m) * (xr[c] - m);
        v /= (float)C;
        float r = 1.0f / sqrtf(v + 1e-5f);
        for (int c = 0; c < C; c++) out[(size_t)t * C + c] = (xr[c] - m) * r * g[c] + b[c];
        mean[t] = m;
        rstd[t] = r;
    }
}

void vop_layernorm_backward(float *dx, float *dg, float *db, const float *dout, const float *x, const float *g,
                            const float *mean, const float *rstd, int T, int C) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * C, *dr = dout + (size_t)t * C;
        float m = mean[t], r = rstd[t], s1 = 0.0f, s2 = 0.0f;
        for (int c = 0; c < C; c++) {
            float xh = (xr[c] - m) * r, dxh = dr[c] * g[c];
            dg[c] += dr[c] * xh;
            db[c] += dr[c];
            s1 += dxh;
            s2 += dxh * xh;
        }
        s1 /= (float)C;
        s2 /= (float)C;
        for (int c = 0; c < C; c++) {
            float xh = (xr[c] - m) * r;
            dx[(size_t)t * C + c] = (dr[c] * g[c] - s1 - xh * s2) * r;
        }
    }
}

/* ---- cross-entropy ------------------------------------------------------- */
float vop_xent(float *dlogits, float *probs, const float *logits, int target, int V, float scale) {
    float mx = logits[0];
    for (int i = 1; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
    double s = 0.0;
    for (int i = 0; i < V; i++) {
        probs[i] = expf(logits[i] - mx);
        s += probs[i];
    }
    for (int i = 0; i < V; i++) probs[i] = (float)(probs[i] / s);
    if (dlogits)
        for (int i = 0; i < V; i++) dlogits[i] = (probs[i] - (i == target ? 1.0f : 0.0f)) * scale;
    float p = probs[target] > 1e-30f ? probs[target] : 1e-30f;
    return -logf(p);
}

/* ---- global average pooling ------------------------------------------------- */
void vop_gap_forward(float *out, const float *x, int C, int HW) {
    for (int c = 0; c < C; c++) {
        float s = 0.0f;
        for (int i = 0; i < HW; i++) s += x[(size_t)c * HW + i];
        out[c] = s / (float)HW;
    }
}

void vop_gap_backward(float *dx, const float *dout, int C, int HW) {
    for (int c = 0; c < C; c++)
        for (int i = 0; i < HW; i++) dx[(size_t)c * HW + i] = dout[c] / (float)HW;
}

/* ---- self-attention (no mask) ------------------------------------------------ */
void vop_attn_forward(float *out, float *att, const float *q, const float *k, const float *v, int T, int H, int hd) {
    int D = H * hd;
    float scale = 1.0f / sqrtf((float)hd);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) {
            float *a = att + ((size_t)h * T + i) * T;
            const float *qi = q + (size_t)i * D + h * hd;
            float mx = -INFINITY;
            for (int j = 0; j < T; j++) {
                const float *kj = k + (size_t)j * D + h * hd;
                float s = 0.0f;
                for (int d = 0; d < hd; d++) s += qi[d] * kj[d];
                a[j] = s * scale;
                mx = a[j] > mx ? a[j] : mx;
            }
            float sum = 0.0f;
            for (int j = 0; j < T; j++) sum += (a[j] = expf(a[j] - mx));
            float *o = out + (size_t)i * D + h * hd;
            for (int d = 0; d < hd; d++) o[d] = 0.0f;
            for (int j = 0; j < T; j++) {
                a[j] /= sum;
                const float *vj = v + (size_t)j * D + h * hd;
                for (int d = 0; d < hd; d++) o[d] += a[j] * vj[d];
            }
        }
}

void vop_attn_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                       const float *v, const float *att, int T, int H, int hd) {
    int D = H * hd;
    float scale = 1.0f / sqrtf((float)hd);
    memset(dq, 0, (size_t)T * D * sizeof(float));
    memset(dk, 0, (size_t)T * D * sizeof(float));
    memset(dv, 0, (size_t)T * D * sizeof(float));
    float datt[1024];   /* T <= 1024 (checked by the network) */
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) {
            const float *a = att + ((size_t)h * T + i) * T;
            const float *doi = dout + (size_t)i * D + h * hd;
            float dot = 0.0f;
            for (int j = 0; j < T; j++) {
                const float *vj = v + (size_t)j * D + h * hd;
                float *dvj = dv + (size_t)j * D + h * hd;
                float s = 0.0f;
                for (int d = 0; d < hd; d++) {
                    s += doi[d] * vj[d];
                    dvj[d] += a[j] * doi[d];
                }
                datt[j] = s;
                dot += s * a[j];
            }
            const float *qi = q + (size_t)i * D + h * hd;
            float *dqi = dq + (size_t)i * D + h * hd;
            for (int j = 0; j < T; j++) {
                float ds = a[j] * (datt[j] - dot) * scale;
                const float *kj = k + (size_t)j * D + h * hd;
                float *dkj = dk + (size_t)j * D + h * hd;
                for (int d = 0; d < hd; d++) {
                    dqi[d] += ds * kj[d];
                    dkj[d] += ds * qi[d];
                }
            }
        }
}
