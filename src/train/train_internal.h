/*
 * train_internal.h — the trainer's model view, activations and helpers,
 * shared by the files of src/train (not API).
 *
 * Weight matrices keep the inference convention: W is (n_out, n_in), rows of
 * n_in elements (GGUF ne = {n_in, n_out}), y = x W^T. A frozen matrix is read
 * in its stored type (data/type); a trainable one has an owned F32 copy w and
 * its gradient g.
 */
#ifndef HEARTH_TRAIN_INTERNAL_H
#define HEARTH_TRAIN_INTERNAL_H

#include "kernels/kernels.h"
#include "hearth/train.h"
#include "train_ops.h"

/* ==== weights ================================================================= */
typedef struct tmat {
    char name[96];
    const void *data;     /* frozen view (borrowed) or NULL */
    const void *packed;   /* the inference engine's packed copy of data (borrowed, hearth_pack) or NULL */
    void *packed_t;       /* int8 backward: W^T as Q8_0, packed (in the trainer's arena), or NULL */
    uint32_t type;
    int64_t in, out;
    size_t row_bytes;
    float *w, *g;         /* trainable copy and gradient, or NULL */
    bool shared;          /* w/g borrowed from another tmat (tied output) */
    int lora;             /* index into the adapter's weights, -1: none */
    int slot;             /* 0..6: q k v o gate up down within its layer (LoRA activations with --recompute) */
} tmat;

typedef struct tvec {
    char name[96];
    float *w;             /* values (borrowed when frozen, owned when trainable), NULL: absent */
    float *g;             /* gradient or NULL */
    int64_t n;
    bool owned;
} tvec;

typedef struct tlayer {
    tvec attn_norm, ffn_norm, bq, bk, bv;
    tmat wq, wk, wv, wo, gate, up, down;
} tlayer;

typedef struct thparams {
    char arch[32];
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    float eps;
    hearth_rope rope;
} thparams;

/* layer matrix i: 0..6 = q k v o gate up down (model_train.c) */
tmat *layer_mats(tlayer *L, int i);

/* model_access.c: hyper-parameters and frozen weight views of a loaded model */
hearth_status tmodel_from_model(const hearth_model *m, thparams *hp, tmat *tok_embd, tvec *output_norm, tmat *output,
                                tlayer *layers, bool *tied);
/* the inference engine's packed copies of the model's matrices (made once
 * per model), given to the frozen views of output and layers */
void tmodel_pack(const hearth_model *m, tmat *output, tlayer *layers, int n_layer);
/* drops a frozen matrix's mapped pages from the resident set */
void tmodel_release(const tmat *m);

/* ==== per-layer saved activations ================================================ */
typedef struct lora_act {
    bool dropped;    /* the last forward used xd */
    float *xd;       /* (T, in) dropped-out input */
    uint8_t *keep;   /* (T, in) dropout mask or NULL */
    float *u;        /* (T, r) xd A^T */
} lora_act;

typedef struct layer_act {
    float *x_in;          /* (T, C) residual in */
    float *xn1, *rstd1;   /* (T, C), (T) */
    float *q, *k, *v;     /* after bias and RoPE */
    float *att;           /* (H, T, T) */
    float *ao;            /* (T, q_dim) */
    float *x_mid;         /* (T, C) residual after attention */
    float *xn2, *rstd2;
    float *gate, *up, *hh;   /* (T, F) */
} layer_act;

/* ==== the optimizer's parameter list ================================================ */
typedef struct tparam {
    char name[112];
    float *w, *g;
    size_t n;
    bool decay;
    float lr_mult;  /* 1, or the LoRA+ ratio for LoRA B */
    float *m, *v;   /* AdamW moments (owned by the trainer) */
} tparam;

struct hearth_trainer {
    hearth_train_params p;
    const hearth_model *model;   /* NULL for --init */
    const hearth_gguf *meta;     /* metadata source for saving a model */
    thparams hp;
    bool full, tied, init;
    tmat tok_embd, output;
    tvec output_norm;
    tlayer *layers;
    hearth_adapter *lora;
    float lora_scale;
    float **lg_a, **lg_b;   /* per adapter weight: gradients of A and B */
    /* optimizer */
    tparam *params;
    int n_params;
    size_t params_cap;   /* HEARTH_GROW capacity of params */
    int64_t step;
    uint64_t rng;
    /* run-time */
    hearth_pool *pool;
    int nth;
    int32_t T_max;
    void *work;
    size_t work_size;
    layer_act *act;      /* per layer; with recompute only x_in is allocated */
    layer_act ra;        /* recompute: one layer's internals, rebuilt from act[l].x_in in the backward */
    lora_act *lact;      /* per adapter weight (recompute: per slot 0..6, shared by the layers) */
    uint64_t drop_seed;  /* this pass's dropout stream (drawn from rng once per forward) */
    int32_t *pos;        /* (T) RoPE position of each token (restarts at 0 per packed record) */
    int32_t *start;      /* (T) first position of each token's record, or NULL while not packed */
    int32_t *start_buf;  /* (T) storage for start */
    float *x_out, *xnf, *rstdf, *logits, *losses, *dloss, *cs;
    int32_t *sel, *sel_tgt;   /* (T) positions whose logits are computed (the scored ones) and their targets */
    int32_t n_sel;
    /* gradient scratch */
    float *dx, *dxn, *dq, *dk, *dv, *dao, *dgate, *dup, *dhh, *tmp, *du, *dxd;
    float *acc;          /* (nth, T, max in) per-thread accumulators */
    float *tile;         /* (nth, 8, max in) dequantized weight rows */
    float *att_scratch;  /* (nth, T * T + T) */
    size_t mem;
    int n_int8;          /* matrices with an int8 backward (int8.c) */
    void *t_arena;       /* their packed transposes (hearth_huge_alloc) */
    size_t t_bytes;
};

/* ==== int8 compute (int8.c) ======================================================= */
/* packed forward copies and Q8_0 transposes for the frozen matrices, when the
 * params ask for int8 (or auto and the base is quantized) */
hearth_status tint8_setup(hearth_trainer *t);
void tint8_free(hearth_trainer *t);
/* scratch the packed matmuls need for T rows */
size_t tint8_work_size(const hearth_trainer *t, int64_t T);
/* dx (T, m->in) += dy (T, m->out) @ W through m->packed_t; tmp holds T * m->in floats */
hearth_status tint8_matmul_dx(hearth_trainer *t, const tmat *m, float *dx, const float *dy, int64_t T, float *tmp);

/* ==== kernels (kernels_train.c) =================================================== */
/* dx (T, K) += dy (T, N) @ W (N, K), W rows of any type (dequantized per tile) */
void tk_matmul_dx(hearth_trainer *t, float *dx, const float *dy, const void *W, uint32_t wtype, size_t row_bytes,
                  int64_t T, int64_t K, int64_t N);
/* y[0..n) += x[0..n), threaded */
void tk_add(hearth_trainer *t, float *y, const float *x, size_t n);
/* dW (N, K) += alpha * dy^T (N, T) @ x (T, K) */
void tk_matmul_dw(hearth_trainer *t, float *dW, float alpha, const float *dy, const float *x, int64_t T, int64_t K,
                  int64_t N);

/* the inner loops (axpy_impl.h): y += sum_i a[i] x[i * stride ..], 8 rows; y += a x */
void axpy8_ref(float *restrict y, const float *restrict x, int64_t stride, const float a[8], int64_t K);
void axpy1_ref(float *restrict y, const float *restrict x, float a, int64_t K);
void axpy8_avx2(float *restrict y, const float *restrict x, int64_t stride, const float a[8], int64_t K);
void axpy1_avx2(float *restrict y, const float *restrict x, float a, int64_t K);
/* attention backward (the maths of attention_backward_f, head-dimension loops vectorized), per ISA;
 * start (T) or NULL: first position of each position's record (packed sequences) */
void attn_bwd_ref(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v,
                  const float *att, const int32_t *start, int T, int H, int KVH, int hd, int g0, int g1,
                  float *scratch);
void attn_bwd_avx2(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v,
                   const float *att, const int32_t *start, int T, int H, int KVH, int hd, int g0, int g1,
                   float *scratch);
/* the chosen build of attn_bwd */
void tk_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                           const float *v, const float *att, const int32_t *start, int T, int H, int KVH, int hd,
                           int g0, int g1, float *scratch);

/* ==== helpers ======================================================================= */
uint64_t train_rng_next(uint64_t *s);           /* splitmix64 */
double train_rng_uniform(uint64_t *s);          /* [0, 1) */
double train_rng_normal(uint64_t *s);
/* lora.c: does tensor `name` of layer `layer` match the targets ("q,v",
 * "all", globs) and layers ("0-3,7", NULL: all)? Bad specs: HEARTH_ERR_INVALID_ARG. */
hearth_status lora_target_match(const char *targets, const char *layers, const char *name, int layer, bool *out);
/* optim.c */
hearth_status train_params_build(hearth_trainer *t);
float train_lr_at(const hearth_train_params *p, int64_t step);

#endif
