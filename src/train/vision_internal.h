/*
 * vision_internal.h — pieces of the vision trainer shared between its files
 * (src/train/vision_*.c) and its tests. Not API.
 */
#ifndef HEARTH_VISION_INTERNAL_H
#define HEARTH_VISION_INTERNAL_H

#include "hearth/vision_train.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- matrix products (vision_gemm.c) ------------------------------------
 * C[M,N] (=|+=) A[M,K] @ B[K,N], row-major with leading dimensions.
 * vg_gemm picks the AVX2 version when the CPU has it (and reference mode is
 * off); vg_gemm_ref is the plain loop that tests compare with. */
void vg_gemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, bool acc);
void vg_gemm_ref(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                 bool acc);
void vg_gemm_avx2(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                  bool acc);
/* dst[C,R] = src[R,C]^T */
void vg_transpose(float *dst, const float *src, int R, int C);

/* ---- ops, forward and backward (vision_ops.c) -----------------------------
 * One image at a time, channels-first (C,H,W). Backward functions add
 * parameter gradients into dW/db (+=) and write dx (=). */
/* 3x3 convolution, padding 1, stride 1: W (O, C*9), b (O).
 * col: scratch of C*9*H*W floats (im2col of x, kept for the backward). */
void vop_conv3_forward(float *out, float *col, const float *x, const float *W, const float *b, int C, int H, int Wd,
                       int O);
void vop_im2col3(float *col, const float *x, int C, int H, int Wd);
/* dcol: scratch C*9*H*W; colT: scratch H*W*C*9; WT: W transposed (C*9, O). */
void vop_conv3_backward(float *dx, float *dW, float *db, const float *dout, const float *col, const float *WT,
                        float *dcol, float *colT, int C, int H, int Wd, int O);
/* 2x2 max pool, stride 2 (H, W even or the last row/column dropped): idx
 * keeps the argmax for the backward. */
void vop_maxpool_forward(float *out, int32_t *idx, const float *x, int C, int H, int Wd);
void vop_maxpool_backward(float *dx, const float *dout, const int32_t *idx, int C, int H, int Wd);
void vop_relu_forward(float *out, const float *x, size_t n);
void vop_relu_backward(float *dx, const float *dout, const float *out, size_t n);
/* Y (T, N) = X (T, K) @ W (K, N) + b (b may be NULL). The backward needs
 * scratch of T*K + K*N floats (transposes). */
void vop_fc_forward(float *out, const float *x, const float *W, const float *b, int T, int K, int N);
void vop_fc_backward(float *dx, float *dW, float *db, const float *dout, const float *x, const float *W, int T,
                     int K, int N, float *scratch);
/* layer norm over the last dimension C of T rows, with gain g and bias b;
 * mean/rstd (T) kept for the backward */
void vop_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *g, const float *b,
                           int T, int C);
void vop_layernorm_backward(float *dx, float *dg, float *db, const float *dout, const float *x, const float *g,
                            const float *mean, const float *rstd, int T, int C);
/* softmax cross-entropy of one row of V logits; returns the loss and
 * writes dlogits = (softmax - onehot) * scale */
float vop_xent(float *dlogits, float *probs, const float *logits, int target, int V, float scale);
/* global average pooling (C,H,W) -> (C) */
void vop_gap_forward(float *out, const float *x, int C, int HW);
void vop_gap_backward(float *dx, const float *dout, int C, int HW);
/* multi-head self-attention without masking over T tokens: q, k, v (T, D)
 * with D = H * hd; att (H, T, T) keeps the probabilities. */
void vop_attn_forward(float *out, float *att, const float *q, const float *k, const float *v, int T, int H, int hd);
void vop_attn_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                       const float *v, const float *att, int T, int H, int hd);
/* GELU (tanh form) */
void vop_gelu_forward(float *out, const float *x, size_t n);
void vop_gelu_backward(float *dx, const float *dout, const float *x, size_t n);

/* batch norm over a batch of B images (C, HW each): statistics per channel
 * (training) or the running ones (inference); see vision_net.c */

/* ---- random numbers ---------------------------------------------------- */
static inline uint64_t vrng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline double vrng_uniform(uint64_t *s) { return (double)(vrng_next(s) >> 11) / 9007199254740992.0; }
double vrng_normal(uint64_t *s);

/* ---- network internals (vision_net.c) ---------------------------------- */
/* forward over a batch of images (already normalised floats, CHW); when
 * train, keeps activations and uses batch statistics. logits (B, classes). */
hearth_status vnet_forward(hearth_vnet *net, hearth_pool *pool, const float *x, int B, bool train, float *logits);
/* backward from dlogits (B, classes); gradients accumulated into the
 * network's flat gradient array (zeroed by vnet_zero_grad). */
hearth_status vnet_backward(hearth_vnet *net, hearth_pool *pool, const float *dlogits, int B);
void vnet_zero_grad(hearth_vnet *net);
/* flat parameter / gradient arrays (n_params floats) and decay mask
 * (1 for weights that get weight decay, 0 for biases and norms) */
float *vnet_params(hearth_vnet *net);
float *vnet_grads(hearth_vnet *net);
const uint8_t *vnet_decay_mask(const hearth_vnet *net);
/* input normalisation of bytes to floats (x/255 - mean) / std, CHW */
void vnet_normalise(const hearth_vnet *net, float *dst, const uint8_t *src);
void vnet_set_norm(hearth_vnet *net, float mean, float std);
/* per-pixel features of a layer's output: the activation (C, H, W) of layer
 * `layer` for one image after a forward without train (see qc) */
const float *vnet_activation(const hearth_vnet *net, int layer, int b, int *C, int *H, int *W);
int vnet_n_layers(const hearth_vnet *net);
/* save with extra optimiser arrays (checkpoints) */
hearth_status vnet_save_ex(const hearth_vnet *net, const char *path, const float *m, const float *v, int64_t step,
                           int epoch);
/* copies weights, statistics and input normalisation (same architecture) */
void vnet_copy_state(hearth_vnet *dst, const hearth_vnet *src);
hearth_status vnet_load_ex(const char *path, hearth_vnet **out, float **m, float **v, int64_t *step, int *epoch);

#endif
