/*
 * bert.c — BERT-style encoders (arch "bert": BERT, BGE, MiniLM, E5...):
 * loading their tensors from GGUF and the forward pass that turns the tokens
 * of one or several texts into final hidden states (pooling and
 * normalization are embed.c's).
 *
 * The forward, as llama.cpp computes it for LLM_ARCH_BERT (post-LayerNorm,
 * bidirectional attention, GELU with the tanh approximation):
 *
 *   x = token_embd[tok] + token_types[0] + position_embd[t]      (T, dim)
 *   x = layernorm(x) * embd_norm + embd_norm_b
 *   per layer:
 *     q, k, v = x @ Wq^T + bq, x @ Wk^T + bk, x @ Wv^T + bv
 *     att = softmax(q k^T / sqrt(head_dim)) v      per head, every token
 *                                                  sees every token of its text
 *     x = layernorm(x + att @ Wo^T + bo) * attn_output_norm + b
 *     h = gelu(x @ Wup^T + b_up)
 *     x = layernorm(x + h @ Wdown^T + b_down) * layer_output_norm + b
 *
 * Several texts run as the rows of one pass (each weight matrix read once for
 * all of them); attention and positions are per text.
 */
#include "bert_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== loading ================================================================== */
hearth_status bert_load(hearth_model *m, problems *pr, problems *missing) {
    mhparams *hp = &m->hp;
    const hearth_gguf *g = m->gguf;
    int64_t dim = hp->n_embd, n_ff = hp->n_ff;

    /* hyper-parameters only BERT has (read_hparams did the common ones) */
    double eps = 1e-12;
    hearth_status s = hearth_gguf_get_float(g, "bert.attention.layer_norm_epsilon", &eps);
    if (s != HEARTH_OK && s != HEARTH_ERR_NOT_FOUND) model_problem(pr, "bert.attention.layer_norm_epsilon: %s", hearth_last_error());
    if (!(eps > 0 && eps < 1)) model_problem(pr, "bert.attention.layer_norm_epsilon %g is not in (0, 1)", eps);
    hp->eps = (float)eps;
    if (hp->n_head_kv != hp->n_head || (int64_t)hp->n_head * hp->head_dim != dim)
        model_problem(pr, "head_count %d, head_count_kv %d and head size %d do not fit embedding_length %lld "
                      "(a BERT encoder has n_head * head_size = dim and no GQA)",
                      hp->n_head, hp->n_head_kv, hp->head_dim, (long long)dim);
    int64_t pooling = -1;
    s = hearth_gguf_get_int(g, "bert.pooling_type", &pooling);
    if (s != HEARTH_OK && s != HEARTH_ERR_NOT_FOUND) model_problem(pr, "bert.pooling_type: %s", hearth_last_error());
    if (s == HEARTH_OK && (pooling < 0 || pooling > 4))
        model_problem(pr, "bert.pooling_type %lld is not supported (0 none, 1 mean, 2 cls, 3 last, 4 rank)",
                      (long long)pooling);
    if (pooling == 4) pooling = 2;   /* rank (a reranker's classification head, hearth/rag.h) reads the first token */
    if (pr->n) return HEARTH_ERR_FORMAT;

    struct mbert *b = calloc(1, sizeof *b);
    if (!b) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory loading a BERT model");
    m->bert = b;
    b->pooling = (int)pooling;
    b->layers = calloc((size_t)hp->n_layer, sizeof *b->layers);
    if (!b->layers) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for %d layers", hp->n_layer);

    /* embeddings */
    const hearth_gguf_tensor *te = hearth_gguf_find_tensor(g, "token_embd.weight");
    if (!te) model_problem(missing, "token_embd.weight");
    else if (te->ne[1] <= 0 || te->ne[1] > (1 << 24)) model_problem(pr, "token_embd.weight has %lld rows", (long long)te->ne[1]);
    else hp->n_vocab = (int32_t)te->ne[1];
    if (hp->n_vocab > 0) {
        model_get_matrix(m, &m->tok_embd, "token_embd.weight", dim, hp->n_vocab, true, pr, missing);
        if (m->tok_embd.data) m->weight_bytes -= m->tok_embd.row_bytes * (size_t)(hp->n_vocab - 1);   /* a row per token */
    }
    model_get_matrix(m, &b->pos_embd, "position_embd.weight", dim, hp->n_ctx_train, true, pr, missing);
    if (b->pos_embd.data) m->weight_bytes -= b->pos_embd.row_bytes * (size_t)(hp->n_ctx_train - 1);
    const hearth_gguf_tensor *tt = hearth_gguf_find_tensor(g, "token_types.weight");
    if (tt) model_get_matrix(m, &b->type_embd, "token_types.weight", dim, tt->ne[1] > 0 ? tt->ne[1] : 1, true, pr, missing);
    b->embd_norm = model_get_vector(m, "token_embd_norm.weight", dim, true, pr, missing);
    b->embd_norm_b = model_get_vector(m, "token_embd_norm.bias", dim, true, pr, missing);

    for (int l = 0; l < hp->n_layer; l++) {
        mbert_layer *L = &b->layers[l];
        char n[96];
#define NAME(x) (snprintf(n, sizeof n, "blk.%d." x, l), n)
        model_get_matrix(m, &L->wq, NAME("attn_q.weight"), dim, dim, true, pr, missing);
        model_get_matrix(m, &L->wk, NAME("attn_k.weight"), dim, dim, true, pr, missing);
        model_get_matrix(m, &L->wv, NAME("attn_v.weight"), dim, dim, true, pr, missing);
        L->bq = model_get_vector(m, NAME("attn_q.bias"), dim, true, pr, missing);
        L->bk = model_get_vector(m, NAME("attn_k.bias"), dim, true, pr, missing);
        L->bv = model_get_vector(m, NAME("attn_v.bias"), dim, true, pr, missing);
        model_get_matrix(m, &L->wo, NAME("attn_output.weight"), dim, dim, true, pr, missing);
        L->bo = model_get_vector(m, NAME("attn_output.bias"), dim, true, pr, missing);
        L->attn_norm = model_get_vector(m, NAME("attn_output_norm.weight"), dim, true, pr, missing);
        L->attn_norm_b = model_get_vector(m, NAME("attn_output_norm.bias"), dim, true, pr, missing);
        model_get_matrix(m, &L->w_up, NAME("ffn_up.weight"), dim, n_ff, true, pr, missing);
        L->b_up = model_get_vector(m, NAME("ffn_up.bias"), n_ff, true, pr, missing);
        model_get_matrix(m, &L->w_down, NAME("ffn_down.weight"), n_ff, dim, true, pr, missing);
        L->b_down = model_get_vector(m, NAME("ffn_down.bias"), dim, true, pr, missing);
        L->out_norm = model_get_vector(m, NAME("layer_output_norm.weight"), dim, true, pr, missing);
        L->out_norm_b = model_get_vector(m, NAME("layer_output_norm.bias"), dim, true, pr, missing);
#undef NAME
    }
    if (hearth_gguf_find_tensor(g, "blk.0.attn_qkv.weight"))
        model_problem(pr, "fused attn_qkv tensors are not supported (separate attn_q/attn_k/attn_v expected)");
    if (missing->n || pr->n) return HEARTH_ERR_FORMAT;
    return HEARTH_OK;
}

void bert_free(struct mbert *b) {
    if (!b) return;
    free(b->layers);
    free(b);
}

/* ==== state ==================================================================== */
void bert_state_free(bert_state *s) {
    if (!s) return;
    free(s->x); free(s->xb); free(s->q); free(s->k); free(s->v); free(s->ao); free(s->hb); free(s->att);
    free(s->row0); free(s->rlen); free(s->work);
    memset(s, 0, sizeof *s);
}

hearth_status bert_state_init(bert_state *s, const hearth_model *m, int32_t n_rows, hearth_pool *pool) {
    memset(s, 0, sizeof *s);
    const mhparams *hp = &m->hp;
    const struct mbert *b = m->bert;
    if (!b) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s is not a BERT model", m->name);
    if (n_rows <= 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "BERT state for %d rows", n_rows);
    s->pool = pool;
    s->n_rows = n_rows;
    size_t R = (size_t)n_rows, dim = (size_t)hp->n_embd;
    s->x = malloc(R * dim * 4);
    s->xb = malloc(R * dim * 4);
    s->q = malloc(R * dim * 4);
    s->k = malloc(R * dim * 4);
    s->v = malloc(R * dim * 4);
    s->ao = malloc(R * dim * 4);
    s->hb = malloc(R * (size_t)hp->n_ff * 4);
    s->att = malloc((size_t)hearth_pool_size(pool) * (size_t)hp->n_ctx_train * 4);
    s->row0 = malloc(R * sizeof *s->row0);
    s->rlen = malloc(R * sizeof *s->rlen);
    for (int l = 0; l < hp->n_layer; l++) {
        const mbert_layer *L = &b->layers[l];
        const mweight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_up, &L->w_down};
        for (int i = 0; i < 6; i++) {
            size_t w = hearth_matmul_work_size(ws[i]->type, (int64_t)R, ws[i]->ne0);
            if (w > s->work_size) s->work_size = w;
        }
    }
    s->work = s->work_size ? malloc(s->work_size) : NULL;
    if (!s->x || !s->xb || !s->q || !s->k || !s->v || !s->ao || !s->hb || !s->att || !s->row0 || !s->rlen ||
        (s->work_size && !s->work)) {
        bert_state_free(s);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for BERT activations (%d rows)", n_rows);
    }
    return HEARTH_OK;
}

/* ==== ops (scalar; small next to the matmuls) ================================== */
/* LayerNorm and GELU: model_layernorm, model_gelu (nn.c, shared with clip.c) */

/* ==== attention (threads split (row, head) pairs) ============================== */
typedef struct att_job {
    const hearth_model *m;
    bert_state *s;
    int32_t R;
} att_job;

static void attention_worker(void *arg, int ith, int nth) {
    att_job *j = arg;
    const mhparams *hp = &j->m->hp;
    bert_state *s = j->s;
    const int hd = hp->head_dim;
    const int64_t dim = hp->n_embd;
    const float scale = 1.0f / sqrtf((float)hd);
    const hearth_ops *ops = hearth_ops_get();
    int64_t i0, i1;
    hearth_split_rows((int64_t)j->R * hp->n_head, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        int32_t r = (int32_t)(i / hp->n_head);
        int h = (int)(i % hp->n_head);
        size_t off = (size_t)h * hd, first = (size_t)s->row0[r] * dim;
        /* no mask: row r sees all rlen[r] tokens of its text */
        hearth_attention_head(ops, s->ao + r * dim + off, s->q + r * dim + off, s->k + first + off,
                              s->v + first + off, HEARTH_TYPE_F32, s->rlen[r], dim, hd, scale,
                              s->att + (size_t)ith * hp->n_ctx_train);
    }
}

/* ==== forward ==================================================================== */
#define MATMUL(Y, X, W, R) hearth_matmul(s->pool, (Y), (X), (W).data, (W).type, (R), (W).ne0, (W).ne1, s->work)

static void add_bias_rows(const hearth_ops *ops, float *y, const float *b, int32_t R, int64_t n) {
    for (int32_t r = 0; r < R; r++) ops->add(y + (size_t)r * n, y + (size_t)r * n, b, n);
}

hearth_status bert_forward(const hearth_model *m, bert_state *s, const int32_t *tokens, const int32_t *len,
                           int n_seq) {
    const mhparams *hp = &m->hp;
    const struct mbert *b = m->bert;
    const hearth_ops *ops = hearth_ops_get();
    const int64_t dim = hp->n_embd, n_ff = hp->n_ff;
    hearth_status st;
    if (!b) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "%s is not a BERT model", m->name);

    /* rows of each text; check before touching anything */
    int64_t R = 0;
    for (int i = 0; i < n_seq; i++) {
        if (len[i] <= 0 || len[i] > hp->n_ctx_train)
            return hearth_set_error(HEARTH_ERR_RANGE, "BERT forward: text %d has %d tokens (1 .. %d)", i, len[i],
                                    hp->n_ctx_train);
        R += len[i];
    }
    if (R == 0 || R > s->n_rows)
        return hearth_set_error(HEARTH_ERR_RANGE, "BERT forward: %lld tokens for a state of %d rows", (long long)R,
                                s->n_rows);
    for (int64_t r = 0; r < R; r++)
        if (tokens[r] < 0 || tokens[r] >= hp->n_vocab)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "BERT forward: token %d is outside the vocabulary of %d",
                                    tokens[r], hp->n_vocab);

    /* embeddings: token + token type 0 ("sentence A") + position, then LayerNorm */
    const hearth_type_traits *et = hearth_type_traits_get(m->tok_embd.type);
    const hearth_type_traits *pt = hearth_type_traits_get(b->pos_embd.type);
    float *tmp = s->xb;
    if (b->type_embd.data) hearth_type_traits_get(b->type_embd.type)->to_float(b->type_embd.data, s->ao, dim);
    int32_t r = 0;
    for (int i = 0; i < n_seq; i++) {
        int32_t first = r;
        for (int32_t t = 0; t < len[i]; t++, r++) {
            float *x = s->x + (size_t)r * dim;
            et->to_float((const char *)m->tok_embd.data + (size_t)tokens[r] * m->tok_embd.row_bytes, x, dim);
            pt->to_float((const char *)b->pos_embd.data + (size_t)t * b->pos_embd.row_bytes, tmp, dim);
            if (b->type_embd.data) ops->add(x, x, s->ao, dim);
            ops->add(x, x, tmp, dim);
            model_layernorm(x, x, b->embd_norm, b->embd_norm_b, dim, hp->eps);
            s->row0[r] = first;
            s->rlen[r] = len[i];
        }
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const mbert_layer *L = &b->layers[l];

        /* q, k, v projections with biases, all rows at once */
        if ((st = MATMUL(s->q, s->x, L->wq, R)) || (st = MATMUL(s->k, s->x, L->wk, R)) ||
            (st = MATMUL(s->v, s->x, L->wv, R)))
            return st;
        add_bias_rows(ops, s->q, L->bq, (int32_t)R, dim);
        add_bias_rows(ops, s->k, L->bk, (int32_t)R, dim);
        add_bias_rows(ops, s->v, L->bv, (int32_t)R, dim);

        /* bidirectional multi-head attention within each text */
        att_job aj = {m, s, (int32_t)R};
        hearth_pool_run(R * hp->n_head >= 2 ? s->pool : NULL, attention_worker, &aj);

        /* output projection, residual, post-attention LayerNorm */
        if ((st = MATMUL(s->xb, s->ao, L->wo, R))) return st;
        add_bias_rows(ops, s->xb, L->bo, (int32_t)R, dim);
        ops->add(s->x, s->x, s->xb, R * dim);
        for (int64_t i = 0; i < R; i++)
            model_layernorm(s->x + i * dim, s->x + i * dim, L->attn_norm, L->attn_norm_b, dim, hp->eps);

        /* feed-forward: gelu(x @ Wup^T + b) @ Wdown^T + b, residual, LayerNorm */
        if ((st = MATMUL(s->hb, s->x, L->w_up, R))) return st;
        add_bias_rows(ops, s->hb, L->b_up, (int32_t)R, n_ff);
        model_gelu(s->hb, R * n_ff);
        if ((st = MATMUL(s->xb, s->hb, L->w_down, R))) return st;
        add_bias_rows(ops, s->xb, L->b_down, (int32_t)R, dim);
        ops->add(s->x, s->x, s->xb, R * dim);
        for (int64_t i = 0; i < R; i++)
            model_layernorm(s->x + i * dim, s->x + i * dim, L->out_norm, L->out_norm_b, dim, hp->eps);
    }
    return HEARTH_OK;
}
