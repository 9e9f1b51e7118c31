/*
 * model_internal.h — the llama-family model as loaded: hyper-parameters and
 * weight views into the GGUF mapping (shapes in ggml order: ne[0] is the
 * row length, so a matrix (out, in) has ne = {in, out}).
 */
#ifndef HEARTH_MODEL_INTERNAL_H
#define HEARTH_MODEL_INTERNAL_H

#include "kernels/kernels.h"
#include "hearth/model.h"

#include <pthread.h>

/* a weight matrix: rows of ne[0] elements of `type`, ne[1] rows */
typedef struct mweight {
    const void *data;   /* borrowed from the mapping */
    uint32_t type;
    int64_t ne0, ne1;
    size_t row_bytes;
    void *packed;       /* repacked copy for inference (hearth_pack) in the model's pack arena, or NULL */
} mweight;

typedef struct mlayer {
    const float *attn_norm;   /* (dim) */
    mweight wq;               /* (n_head * head_dim, dim) */
    mweight wk, wv;           /* (n_head_kv * head_dim, dim) */
    const float *bq;          /* (n_head * head_dim) or NULL (qwen2 has Q/K/V biases) */
    const float *bk, *bv;     /* (n_head_kv * head_dim) or NULL */
    mweight wo;               /* (dim, n_head * head_dim) */
    const float *ffn_norm;    /* (dim) */
    mweight w_gate, w_up;     /* (n_ff, dim) */
    mweight w_down;           /* (dim, n_ff) */
} mlayer;

typedef struct mhparams {
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    float eps;
    hearth_rope rope;
} mhparams;

struct hearth_model {
    hearth_gguf *gguf;
    hearth_vocab *vocab;
    char arch[32];
    char *name;            /* owned */
    char *chat_template;   /* owned, NULL if none */
    mhparams hp;
    mweight tok_embd;      /* (n_vocab, dim) */
    const float *output_norm;   /* (dim) */
    mweight output;        /* (n_vocab, dim); token_embd when tied */
    mlayer *layers;        /* n_layer */
    float *rope_freqs;     /* owned copy of rope_freqs.weight or NULL */
    void **owned;          /* small tensors converted to F32 */
    int n_owned;
    int64_t n_params;
    size_t weight_bytes;
    bool vocab_only;
    struct mbert *bert;    /* encoder weights (arch "bert", bert.c); NULL for the llama family */
    pthread_mutex_t pack_mu;   /* model_pack: once per model */
    bool packed;
    void *pack_arena;          /* the packed copies (hearth_huge_alloc), or NULL */
    size_t pack_bytes;
};

/* repacks the matrices that hearth_pack_supported() accepts (once; the first
 * inference context calls it); false: out of memory (the model stays usable
 * unpacked) */
bool model_pack(hearth_model *m);
/* drops the mapped pages of [data, data + n) from the resident set (they fault back in from the file) */
void model_release_pages(const void *data, size_t n);
/* Y = X @ W^T through the packed copy when there is one */
hearth_status model_matmul(hearth_pool *pool, float *Y, const float *X, const mweight *w, int64_t T, void *work);
/* scratch model_matmul needs for T rows of any of the model's matrices */
size_t model_matmul_work_size(const hearth_model *m, int64_t T);

/* ---- loader helpers shared by the architectures (model.c) ----------------
 * Problems are collected, not returned one by one, so that a bad file is
 * reported in one message. */
typedef struct problems {
    char buf[4096];
    size_t len;
    int n;
} problems;

void model_problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* a matrix (ne1 rows of ne0) viewed in the mapping; missing/bad shape noted */
void model_get_matrix(hearth_model *m, mweight *w, const char *name, int64_t ne0, int64_t ne1, bool required,
                      problems *pr, problems *missing);
/* a vector as F32 (converted into an owned buffer when stored otherwise) */
const float *model_get_vector(hearth_model *m, const char *name, int64_t n, bool required, problems *pr,
                              problems *missing);

/* ---- ops shared by the encoders (nn.c) ------------------------------------- */
/* y = (x - mean) / sqrt(var + eps) * w + b  (y may equal x) */
void model_layernorm(float *y, const float *x, const float *w, const float *b, int64_t n, float eps);
void model_gelu(float *x, int64_t n);         /* tanh form (ggml_gelu), in place */
void model_gelu_quick(float *x, int64_t n);   /* x * sigmoid(1.702 x) (ggml_gelu_quick), in place */

/* ---- BERT encoder (bert.c) ------------------------------------------------ */
hearth_status bert_load(hearth_model *m, problems *pr, problems *missing);
void bert_free(struct mbert *b);   /* NULL is a no-op */

#endif
