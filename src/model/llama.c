/*
 * llama.c — contexts (KV cache and activation buffers, sized once) and the
 * llama-family forward pass (Llama 2/3, Mistral, TinyLlama, Qwen2...).
 *
 * One decode runs T tokens (a prefill slice, or T = 1 for generation) through
 * every layer at once, so each weight matrix is read once per slice:
 *
 *   x = token_embd[tokens]                                  (T, dim)
 *   per layer:
 *     xb = rmsnorm(x) * attn_norm
 *     q, k, v = xb @ Wq^T (+bq), xb @ Wk^T (+bk), xb @ Wv^T (+bv)
 *     rope(q), rope(k); k, v -> KV cache at positions n_past ..
 *     att = softmax(q k^T / sqrt(head_dim), causal) v       per head, GQA
 *     x += att @ Wo^T
 *     xb = rmsnorm(x) * ffn_norm
 *     x += (silu(xb @ Wgate^T) * (xb @ Wup^T)) @ Wdown^T
 *   logits = (rmsnorm(x) * output_norm) @ Wout^T
 */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct hearth_context {
    const hearth_model *m;
    hearth_pool *pool;
    int32_t n_ctx, n_batch, n_past;
    uint32_t kv_type;        /* F16 or F32 */
    size_t kv_esz;           /* bytes per cache element */
    void *k_cache, *v_cache; /* (n_layer, n_ctx, kv_dim) */
    /* activations for up to n_batch tokens */
    float *x;      /* (T, dim) residual stream */
    float *xb;     /* (T, dim) normed input / projection output */
    float *q;      /* (T, q_dim) */
    float *k, *v;  /* (T, kv_dim) */
    float *ao;     /* (T, q_dim) attention output */
    float *hb, *hb2;   /* (T, n_ff) */
    float *cs;     /* (T, n_rot) RoPE cos/sin */
    float *att;    /* (n_threads, n_ctx) attention scores */
    void *work;    /* matmul scratch */
    size_t work_size;
    /* outputs of the last decode */
    float *logits;     /* (n_out, n_vocab) */
    float *embd;       /* (n_out, dim) */
    size_t out_cap;    /* rows the two buffers hold */
    int32_t n_out;     /* rows kept by the last decode */
    int32_t n_last;    /* tokens in the last decode */
    bool all_out;
};

hearth_context_params hearth_context_default_params(void) {
    hearth_context_params p = {.n_ctx = 0, .n_batch = 0, .n_threads = 0, .kv_f32 = false};
    return p;
}

/* ==== create / free ============================================================ */
void hearth_context_free(hearth_context *c) {
    if (!c) return;
    hearth_pool_free(c->pool);
    free(c->k_cache);
    free(c->v_cache);
    free(c->x); free(c->xb); free(c->q); free(c->k); free(c->v); free(c->ao);
    free(c->hb); free(c->hb2); free(c->cs); free(c->att); free(c->work);
    free(c->logits); free(c->embd);
    free(c);
}

static size_t max_work(const hearth_model *m, int64_t T) {
    const mhparams *hp = &m->hp;
    size_t w = 0, s;
    for (int l = 0; l < hp->n_layer; l++) {
        const mlayer *L = &m->layers[l];
        const mweight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++)
            if ((s = hearth_matmul_work_size(ws[i]->type, T, ws[i]->ne0)) > w) w = s;
    }
    if ((s = hearth_matmul_work_size(m->output.type, T, hp->n_embd)) > w) w = s;
    return w;
}

hearth_status hearth_context_create(const hearth_model *m, const hearth_context_params *p, hearth_context **out) {
    *out = NULL;
    if (m->vocab_only) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "context: model was loaded vocab-only");
    hearth_context_params dp = hearth_context_default_params();
    if (!p) p = &dp;
    const mhparams *hp = &m->hp;
    if (p->n_ctx < 0 || p->n_batch < 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "context: negative n_ctx %d or n_batch %d", p->n_ctx, p->n_batch);
    hearth_context *c = calloc(1, sizeof *c);
    if (!c) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for a context");
    c->m = m;
    c->n_ctx = p->n_ctx > 0 ? p->n_ctx : hp->n_ctx_train;
    c->n_batch = p->n_batch > 0 ? p->n_batch : 512;
    if (c->n_batch > c->n_ctx) c->n_batch = c->n_ctx;
    c->kv_type = p->kv_f32 ? HEARTH_TYPE_F32 : HEARTH_TYPE_F16;
    c->kv_esz = p->kv_f32 ? 4 : 2;
    c->pool = hearth_pool_create(p->n_threads);
    int nth = hearth_pool_size(c->pool);
    size_t T = (size_t)c->n_batch, dim = (size_t)hp->n_embd, q_dim = (size_t)hp->n_head * hp->head_dim;
    size_t kv_dim = (size_t)hp->n_head_kv * hp->head_dim, kv_bytes = (size_t)hp->n_layer * c->n_ctx * kv_dim * c->kv_esz;
    c->k_cache = malloc(kv_bytes);
    c->v_cache = malloc(kv_bytes);
    c->x = malloc(T * dim * 4);
    c->xb = malloc(T * (dim > q_dim ? dim : q_dim) * 4);
    c->q = malloc(T * q_dim * 4);
    c->k = malloc(T * kv_dim * 4);
    c->v = malloc(T * kv_dim * 4);
    c->ao = malloc(T * q_dim * 4);
    c->hb = malloc(T * hp->n_ff * 4);
    c->hb2 = malloc(T * hp->n_ff * 4);
    c->cs = malloc(T * hp->rope.n_rot * 4);
    c->att = malloc((size_t)nth * c->n_ctx * 4);
    c->work_size = max_work(m, (int64_t)T);
    c->work = c->work_size ? malloc(c->work_size) : NULL;
    c->out_cap = 1;
    c->logits = malloc((size_t)hp->n_vocab * 4);
    c->embd = malloc(dim * 4);
    if (!c->pool || !c->k_cache || !c->v_cache || !c->x || !c->xb || !c->q || !c->k || !c->v || !c->ao || !c->hb ||
        !c->hb2 || !c->cs || !c->att || (c->work_size && !c->work) || !c->logits || !c->embd) {
        hearth_context_free(c);
        return hearth_set_error(HEARTH_ERR_NOMEM, "context: out of memory (n_ctx %d, KV cache %.1f MiB)", p->n_ctx,
                                2.0 * kv_bytes / 1048576.0);
    }
    *out = c;
    return HEARTH_OK;
}

int32_t hearth_context_n_ctx(const hearth_context *c) { return c->n_ctx; }
int32_t hearth_context_n_past(const hearth_context *c) { return c->n_past; }

hearth_status hearth_context_truncate(hearth_context *c, int32_t n_past) {
    if (n_past < 0 || n_past > c->n_past)
        return hearth_set_error(HEARTH_ERR_RANGE, "truncate to %d: the cache holds %d tokens", n_past, c->n_past);
    c->n_past = n_past;
    return HEARTH_OK;
}

/* ==== attention over the cache (threads split (token, head) pairs) ============= */
typedef struct att_job {
    hearth_context *c;
    int layer;
    int32_t T, pos0;
} att_job;

static void attention_worker(void *arg, int ith, int nth) {
    att_job *j = arg;
    hearth_context *c = j->c;
    const mhparams *hp = &c->m->hp;
    int hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    size_t kv_dim = (size_t)hp->n_head_kv * hd, q_dim = (size_t)hp->n_head * hd;
    const char *K = (const char *)c->k_cache + (size_t)j->layer * c->n_ctx * kv_dim * c->kv_esz;
    const char *V = (const char *)c->v_cache + (size_t)j->layer * c->n_ctx * kv_dim * c->kv_esz;
    float scale = 1.0f / sqrtf((float)hd);
    const hearth_ops *ops = hearth_ops_get();
    int64_t i0, i1;
    hearth_split_rows((int64_t)j->T * hp->n_head, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        int32_t t = (int32_t)(i / hp->n_head);
        int h = (int)(i % hp->n_head), g = h / group;
        size_t off = (size_t)g * hd * c->kv_esz;
        /* causal: token t sees positions 0 .. pos0 + t */
        hearth_attention_head(ops, c->ao + t * q_dim + (size_t)h * hd, c->q + t * q_dim + (size_t)h * hd, K + off,
                              V + off, c->kv_type, (int64_t)j->pos0 + t + 1, (int64_t)kv_dim, hd, scale,
                              c->att + (size_t)ith * c->n_ctx);
    }
}

/* ==== forward ===================================================================== */
#define MATMUL(Y, X, W, T) hearth_matmul(c->pool, (Y), (X), (W).data, (W).type, (T), (W).ne0, (W).ne1, c->work)

/* runs T <= n_batch tokens at positions n_past ..; keeps outputs of all
 * tokens (rows out0 ..) or only of the last */
static hearth_status forward(hearth_context *c, const int32_t *tokens, int32_t T, bool all, int32_t out0) {
    const hearth_model *m = c->m;
    const mhparams *hp = &m->hp;
    const hearth_ops *ops = hearth_ops_get();
    const int64_t dim = hp->n_embd, hd = hp->head_dim;
    const int64_t q_dim = (int64_t)hp->n_head * hd, kv_dim = (int64_t)hp->n_head_kv * hd, n_ff = hp->n_ff;
    const int32_t pos0 = c->n_past;
    hearth_status s = HEARTH_OK;

    /* token embeddings: x[t] = token_embd[tokens[t]] */
    const hearth_type_traits *et = hearth_type_traits_get(m->tok_embd.type);
    for (int32_t t = 0; t < T; t++)
        et->to_float((const char *)m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes, c->x + t * dim, dim);

    /* RoPE angles for every position of the slice (shared by all layers) */
    for (int32_t t = 0; t < T; t++) hearth_rope_cache(&hp->rope, pos0 + t, c->cs + (size_t)t * hp->rope.n_rot);

    for (int l = 0; l < hp->n_layer; l++) {
        const mlayer *L = &m->layers[l];

        /* attention rmsnorm */
        for (int32_t t = 0; t < T; t++) ops->rmsnorm(c->xb + t * dim, c->x + t * dim, L->attn_norm, dim, hp->eps);

        /* q, k, v projections (+ biases) */
        if ((s = MATMUL(c->q, c->xb, L->wq, T)) || (s = MATMUL(c->k, c->xb, L->wk, T)) ||
            (s = MATMUL(c->v, c->xb, L->wv, T)))
            return s;
        for (int32_t t = 0; t < T; t++) {
            if (L->bq) ops->add(c->q + t * q_dim, c->q + t * q_dim, L->bq, q_dim);
            if (L->bk) ops->add(c->k + t * kv_dim, c->k + t * kv_dim, L->bk, kv_dim);
            if (L->bv) ops->add(c->v + t * kv_dim, c->v + t * kv_dim, L->bv, kv_dim);
        }

        /* RoPE on q and k */
        for (int32_t t = 0; t < T; t++) {
            const float *cs = c->cs + (size_t)t * hp->rope.n_rot;
            hearth_rope_apply(&hp->rope, c->q + t * q_dim, hp->n_head, (int)hd, cs);
            hearth_rope_apply(&hp->rope, c->k + t * kv_dim, hp->n_head_kv, (int)hd, cs);
        }

        /* k, v into the cache at positions pos0 .. pos0 + T - 1 */
        size_t row = (size_t)kv_dim * c->kv_esz;
        char *kc = (char *)c->k_cache + ((size_t)l * c->n_ctx + pos0) * row;
        char *vc = (char *)c->v_cache + ((size_t)l * c->n_ctx + pos0) * row;
        if (c->kv_type == HEARTH_TYPE_F16) {
            const hearth_type_traits *h = hearth_type_traits_get(HEARTH_TYPE_F16);
            h->from_float(c->k, kc, (int64_t)T * kv_dim);
            h->from_float(c->v, vc, (int64_t)T * kv_dim);
        } else {
            memcpy(kc, c->k, (size_t)T * row);
            memcpy(vc, c->v, (size_t)T * row);
        }

        /* multi-head attention, causal, GQA (query head h reads KV head h / group) */
        att_job aj = {c, l, T, pos0};
        hearth_pool_run((int64_t)T * hp->n_head >= 2 ? c->pool : NULL, attention_worker, &aj);

        /* output projection and residual: x += ao @ Wo^T */
        if ((s = MATMUL(c->xb, c->ao, L->wo, T))) return s;
        ops->add(c->x, c->x, c->xb, (int64_t)T * dim);

        /* ffn rmsnorm */
        for (int32_t t = 0; t < T; t++) ops->rmsnorm(c->xb + t * dim, c->x + t * dim, L->ffn_norm, dim, hp->eps);

        /* SwiGLU: hb = silu(xb @ Wgate^T) * (xb @ Wup^T) */
        if ((s = MATMUL(c->hb, c->xb, L->w_gate, T)) || (s = MATMUL(c->hb2, c->xb, L->w_up, T))) return s;
        ops->silu_mul(c->hb, c->hb, c->hb2, (int64_t)T * n_ff);

        /* down projection and residual: x += hb @ Wdown^T */
        if ((s = MATMUL(c->xb, c->hb, L->w_down, T))) return s;
        ops->add(c->x, c->x, c->xb, (int64_t)T * dim);
    }

    /* final rmsnorm and logits, for every token or only the last */
    int32_t first = all ? 0 : T - 1, n = T - first;
    float *embd = c->embd + (size_t)out0 * dim;
    for (int32_t t = 0; t < n; t++) ops->rmsnorm(embd + t * dim, c->x + (first + t) * dim, m->output_norm, dim, hp->eps);
    if ((s = hearth_matmul(c->pool, c->logits + (size_t)out0 * hp->n_vocab, embd, m->output.data, m->output.type, n,
                           dim, hp->n_vocab, c->work)))
        return s;
    c->n_past += T;
    return HEARTH_OK;
}

/* grows the output buffers to rows rows (only when all_logits asks for more) */
static hearth_status reserve_out(hearth_context *c, size_t rows) {
    if (rows <= c->out_cap) return HEARTH_OK;
    const mhparams *hp = &c->m->hp;
    float *lg = realloc(c->logits, rows * hp->n_vocab * 4);
    if (!lg) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for %zu rows of logits", rows);
    c->logits = lg;
    float *e = realloc(c->embd, rows * hp->n_embd * 4);
    if (!e) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for %zu embeddings", rows);
    c->embd = e;
    c->out_cap = rows;
    return HEARTH_OK;
}

hearth_status hearth_decode(hearth_context *c, const int32_t *tokens, int32_t n, bool all_logits) {
    const mhparams *hp = &c->m->hp;
    if (n <= 0 || !tokens) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: no tokens");
    if ((int64_t)c->n_past + n > c->n_ctx)
        return hearth_set_error(HEARTH_ERR_RANGE, "decode: %d tokens after %d do not fit the context of %d", n,
                                c->n_past, c->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: token %d (at %d) is outside the vocabulary of %d",
                                    tokens[i], i, hp->n_vocab);
    hearth_status s = reserve_out(c, all_logits ? (size_t)n : 1);
    if (s) return s;
    int32_t n_past0 = c->n_past;
    for (int32_t i = 0; i < n; i += c->n_batch) {
        int32_t T = n - i < c->n_batch ? n - i : c->n_batch;
        bool last = i + T == n;
        if (!all_logits && !last) {
            /* only the cache matters: outputs of the slice's last token go to row 0, overwritten later */
            s = forward(c, tokens + i, T, false, 0);
        } else {
            s = forward(c, tokens + i, T, all_logits, all_logits ? i : 0);
        }
        if (s) {
            c->n_past = n_past0;
            return s;
        }
    }
    c->n_out = all_logits ? n : 1;
    c->n_last = n;
    c->all_out = all_logits;
    return HEARTH_OK;
}

const float *hearth_get_logits(const hearth_context *c) {
    if (c->n_out <= 0) return NULL;
    return c->logits + (size_t)(c->n_out - 1) * c->m->hp.n_vocab;
}

const float *hearth_get_logits_ith(const hearth_context *c, int32_t i) {
    if (c->n_out <= 0 || i < 0 || i >= c->n_last) return NULL;
    if (!c->all_out) return i == c->n_last - 1 ? c->logits : NULL;
    return c->logits + (size_t)i * c->m->hp.n_vocab;
}

const float *hearth_get_embeddings_ith(const hearth_context *c, int32_t i) {
    if (c->n_out <= 0 || i < 0 || i >= c->n_last) return NULL;
    if (!c->all_out) return i == c->n_last - 1 ? c->embd : NULL;
    return c->embd + (size_t)i * c->m->hp.n_embd;
}

const hearth_model *hearth_context_model(const hearth_context *c) { return c->m; }
int hearth_context_n_threads(const hearth_context *c) { return hearth_pool_size(c->pool); }
