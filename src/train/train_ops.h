/*
 * train_ops.h — declarations of the training ops (bodies in ops_impl.h,
 * compiled by ops_fwd_bwd.c) in float (_f) and double (_d). Internal to
 * src/train and its tests.
 */
#ifndef HEARTH_TRAIN_OPS_H
#define HEARTH_TRAIN_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRAIN_OPS_DECL(REAL, S)                                                                                    \
    void embedding_forward##S(REAL *out, const int32_t *ids, const REAL *table, int T, int C);                     \
    void embedding_backward##S(REAL *dtable, const REAL *dout, const int32_t *ids, int T, int C);                  \
    void rmsnorm_forward##S(REAL *out, REAL *rstd, const REAL *x, const REAL *w, int T, int C, float eps);          \
    void rmsnorm_backward##S(REAL *dx, REAL *dw, const REAL *dout, const REAL *x, const REAL *w, const REAL *rstd,  \
                             int T, int C);                                                                        \
    void matmul_forward##S(REAL *out, const REAL *x, const REAL *W, const REAL *b, int T, int K, int N);           \
    void matmul_backward##S(REAL *dx, REAL *dW, REAL *db, const REAL *dout, const REAL *x, const REAL *W, int T,   \
                            int K, int N);                                                                         \
    void rope_forward##S(REAL *x, const float *cs, int T, int H, int hd, int n_rot, bool neox);                    \
    void rope_backward##S(REAL *dx, const float *cs, int T, int H, int hd, int n_rot, bool neox);                  \
    void attention_forward##S(REAL *out, REAL *att, const REAL *q, const REAL *k, const REAL *v,                   \
                              const int32_t *start, int T, int H, int KVH, int hd, int g0, int g1);                \
    void attention_backward##S(REAL *dq, REAL *dk, REAL *dv, const REAL *dout, const REAL *q, const REAL *k,       \
                               const REAL *v, const REAL *att, const int32_t *start, int T, int H, int KVH,        \
                               int hd, int g0, int g1, REAL *scratch);                                             \
    void swiglu_forward##S(REAL *out, const REAL *gate, const REAL *up, size_t n);                                 \
    void swiglu_backward##S(REAL *dgate, REAL *dup, const REAL *dout, const REAL *gate, const REAL *up, size_t n); \
    void crossentropy_forward##S(REAL *losses, REAL *probs, const REAL *logits, const int32_t *targets, int T,     \
                                 int V);                                                                           \
    void crossentropy_backward##S(REAL *dlogits, const REAL *dloss, const REAL *probs, const int32_t *targets,     \
                                  int T, int V);

TRAIN_OPS_DECL(float, _f)
TRAIN_OPS_DECL(double, _d)

#endif
