/*
 * bert_internal.h — the BERT encoder (arch "bert": BERT, BGE, MiniLM, E5...)
 * as loaded by bert.c, and its forward pass, used by embed.c.
 *
 * Tensor names and shapes are llama.cpp's (ggml order, ne = {in, out}).
 */
#ifndef HEARTH_BERT_INTERNAL_H
#define HEARTH_BERT_INTERNAL_H

#include "model_internal.h"

typedef struct mbert_layer {
    mweight wq, wk, wv;            /* (dim, dim) */
    const float *bq, *bk, *bv;     /* (dim) */
    mweight wo;                    /* (dim, dim) */
    const float *bo;               /* (dim) */
    const float *attn_norm, *attn_norm_b;   /* (dim) post-attention LayerNorm */
    mweight w_up;                  /* (n_ff, dim) */
    const float *b_up;             /* (n_ff) */
    mweight w_down;                /* (dim, n_ff) */
    const float *b_down;           /* (dim) */
    const float *out_norm, *out_norm_b;     /* (dim) post-FFN LayerNorm */
} mbert_layer;

struct mbert {
    mweight pos_embd;              /* (n_ctx_train, dim) learned positions */
    mweight type_embd;             /* (n_types, dim) or absent (data NULL); row 0 is added */
    const float *embd_norm, *embd_norm_b;   /* (dim) */
    mbert_layer *layers;           /* n_layer */
    int pooling;                   /* bert.pooling_type: 0 none, 1 mean, 2 cls, 3 last; -1 absent */
};

/* Activations for up to n_rows tokens (of one or several texts), sized once. */
typedef struct bert_state {
    hearth_pool *pool;    /* borrowed */
    int32_t n_rows;
    float *x;             /* (R, dim) hidden states; the output of bert_forward */
    float *xb;            /* (R, dim) */
    float *q, *k, *v;     /* (R, dim) */
    float *ao;            /* (R, dim) attention output */
    float *hb;            /* (R, n_ff) */
    float *att;           /* (n_threads, n_ctx_train) scores */
    int32_t *row0, *rlen; /* (R) first row and length of each row's text */
    void *work;
    size_t work_size;
} bert_state;

hearth_status bert_state_init(bert_state *s, const hearth_model *m, int32_t n_rows, hearth_pool *pool);
void bert_state_free(bert_state *s);

/* Runs n_seq texts, text i being len[i] tokens, concatenated in tokens
 * (sum len <= s->n_rows, each len[i] in 1 .. n_ctx_train). Each text attends
 * to itself only (bidirectionally), positions start at 0 per text. The final
 * hidden states are in s->x, one row per token in the same order. */
hearth_status bert_forward(const hearth_model *m, bert_state *s, const int32_t *tokens, const int32_t *len,
                           int n_seq);

#endif
