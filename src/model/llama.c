/*
 * llama.c — contexts (KV cache and activation buffers, sized once) and the
 * llama-family forward pass (Llama 2/3, Mistral, TinyLlama, Qwen2...).
 *
 * One decode runs T tokens (a prefill slice, or T = 1 for generation) through
 * every layer at once, so each weight matrix is read once per slice. A batch
 * (hearth_decode_batch) runs the tokens of several sequences, each with its
 * own context and KV cache, as the rows of one such slice (see "a batch"):
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
#include "adapter_internal.h"

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
    /* as the lead of a batch of several sequences */
    int32_t *row_seq;  /* (n_batch) which sequence of the batch each row belongs to */
    float *ob_logits;  /* (ob_cap, n_vocab) gathered output rows */
    float *ob_embd;    /* (ob_cap, dim) */
    size_t ob_cap;
    lora_set *lora;    /* LoRA adapters of this sequence (adapter_apply.c), NULL: none */
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
    free(c->row_seq); free(c->ob_logits); free(c->ob_embd);
    lora_set_free(c->lora);
    free(c);
}

hearth_status hearth_context_create(const hearth_model *m, const hearth_context_params *p, hearth_context **out) {
    *out = NULL;
    if (m->vocab_only) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "context: model was loaded vocab-only");
    if (m->bert)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "context: %s is an encoder (bert) model: it embeds text (hearth embed) but cannot generate",
                                m->name);
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
    model_pack((hearth_model *)m);   /* inference's packed weights, once per model (unpacked if out of memory) */
    c->work_size = model_matmul_work_size(m, (int64_t)T);
    c->work = c->work_size ? malloc(c->work_size) : NULL;
    c->out_cap = 1;
    c->logits = malloc((size_t)hp->n_vocab * 4);
    c->embd = malloc(dim * 4);
    c->row_seq = malloc(T * sizeof *c->row_seq);
    if (!c->row_seq || !c->pool || !c->k_cache || !c->v_cache || !c->x || !c->xb || !c->q || !c->k || !c->v || !c->ao || !c->hb ||
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

/* ==== a batch: rows of several sequences in one pass ==========================
 * The forward works on R rows (tokens) that are the concatenation of the
 * tokens of n_seq sequences: rows of sequence i are
 *     rows [seq[i].row0, seq[i].row0 + seq[i].T)
 * of every activation buffer (x, xb, q, k, v, ao, hb, hb2), in token order.
 * Weight matmuls run once over all R rows (each weight is read once per step
 * for every sequence: what makes continuous batching pay); RoPE positions,
 * KV-cache writes and attention are per sequence (each sequence is its own
 * hearth_context with its own KV cache). Per-sequence work after a projection
 * (e.g. a LoRA adapter chosen per sequence) applies to those row ranges.
 * The lead context (cs[0]) lends its thread pool and activation buffers. */
typedef struct bseq {
    hearth_context *c;
    const int32_t *tok;  /* T tokens, or NULL when embd gives the rows */
    const float *embd;   /* T rows of n_embd floats given as the input (an image's), or NULL */
    int32_t T;           /* rows of this sequence in the step (may be 0) */
    int32_t row0;        /* first row in the activation buffers */
    int32_t pos0;        /* position of its first token (c->n_past) */
    int32_t out0;        /* first output row to write in c->logits / c->embd */
    int32_t n_out;       /* output rows: T (all logits), 1 (last token) or 0 */
} bseq;

typedef struct batch {
    hearth_context *lead;
    bseq *seq;
    int n_seq;
    int32_t R;           /* total rows */
} batch;

/* ==== attention over the cache (threads split (row, head) pairs) ============= */
typedef struct att_job {
    const batch *b;
    int layer;
} att_job;

static void attention_worker(void *arg, int ith, int nth) {
    att_job *j = arg;
    hearth_context *lead = j->b->lead;
    const mhparams *hp = &lead->m->hp;
    int hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    size_t kv_dim = (size_t)hp->n_head_kv * hd, q_dim = (size_t)hp->n_head * hd;
    float scale = 1.0f / sqrtf((float)hd);
    const hearth_ops *ops = hearth_ops_get();
    int64_t i0, i1;
    hearth_split_rows((int64_t)j->b->R * hp->n_head, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        int32_t r = (int32_t)(i / hp->n_head);
        const bseq *sq = &j->b->seq[lead->row_seq[r]];
        const hearth_context *c = sq->c;
        int32_t t = r - sq->row0;
        int h = (int)(i % hp->n_head), g = h / group;
        const char *K = (const char *)c->k_cache + (size_t)j->layer * c->n_ctx * kv_dim * c->kv_esz;
        const char *V = (const char *)c->v_cache + (size_t)j->layer * c->n_ctx * kv_dim * c->kv_esz;
        size_t off = (size_t)g * hd * c->kv_esz;
        /* causal: token t of the sequence sees its positions 0 .. pos0 + t */
        hearth_attention_head(ops, lead->ao + r * q_dim + (size_t)h * hd, lead->q + r * q_dim + (size_t)h * hd,
                              K + off, V + off, c->kv_type, (int64_t)sq->pos0 + t + 1, (int64_t)kv_dim, hd, scale,
                              lead->att + (size_t)ith * lead->n_ctx);
    }
}

/* ==== forward ===================================================================== */
/* Y (R, W.ne1) = X (R, W.ne0) @ W^T over all rows of the batch */
#define MATMUL(Y, X, W, R) model_matmul(c->pool, (Y), (X), &(W), (R), c->work)

lora_set **llama_context_lora_slot(hearth_context *c) { return &c->lora; }

/* after projection proj of layer l: each sequence's LoRA adapters on its own
 * rows, Y (rows, ny) += ... of X (rows, nx) */
static hearth_status lora_rows(const batch *b, int l, int proj, float *Y, int64_t ny, const float *X, int64_t nx) {
    hearth_status s = HEARTH_OK;
    for (int i = 0; i < b->n_seq && !s; i++) {
        const bseq *sq = &b->seq[i];
        if (sq->c->lora)
            s = lora_apply(sq->c->lora, b->lead->pool, l, proj, Y + (size_t)sq->row0 * ny, X + (size_t)sq->row0 * nx,
                           sq->T);
    }
    return s;
}
#define LORA(proj, Y, ny, X, nx) lora_rows(b, l, (proj), (Y), (ny), (X), (nx))

/* runs the b->R rows (R <= lead->n_batch); every sequence's KV cache gets its
 * rows at positions pos0 ..; output rows (n_out per sequence, the last ones
 * of its rows) go to its logits/embd at out0 ... n_past advances by T. */
static hearth_status forward(batch *b) {
    hearth_context *c = b->lead;   /* c: the lead (pool, activations, scratch) */
    const hearth_model *m = c->m;
    const mhparams *hp = &m->hp;
    const hearth_ops *ops = hearth_ops_get();
    const int64_t dim = hp->n_embd, hd = hp->head_dim;
    const int64_t q_dim = (int64_t)hp->n_head * hd, kv_dim = (int64_t)hp->n_head_kv * hd, n_ff = hp->n_ff;
    const int32_t R = b->R;
    hearth_status s = HEARTH_OK;

    /* token embeddings x[r] = token_embd[token of row r]; RoPE angles per row
     * (each row at its own sequence's position; shared by all layers) */
    const hearth_type_traits *et = hearth_type_traits_get(m->tok_embd.type);
    for (int i = 0; i < b->n_seq; i++) {
        const bseq *sq = &b->seq[i];
        for (int32_t t = 0; t < sq->T; t++) {
            int32_t r = sq->row0 + t;
            c->row_seq[r] = i;
            if (sq->embd)
                memcpy(c->x + r * dim, sq->embd + (size_t)t * dim, (size_t)dim * sizeof *c->x);
            else
                et->to_float((const char *)m->tok_embd.data + (size_t)sq->tok[t] * m->tok_embd.row_bytes,
                             c->x + r * dim, dim);
            hearth_rope_cache(&hp->rope, sq->pos0 + t, c->cs + (size_t)r * hp->rope.n_rot);
        }
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const mlayer *L = &m->layers[l];

        /* attention rmsnorm */
        for (int32_t r = 0; r < R; r++) ops->rmsnorm(c->xb + r * dim, c->x + r * dim, L->attn_norm, dim, hp->eps);

        /* q, k, v projections (+ biases), all rows at once */
        if ((s = MATMUL(c->q, c->xb, L->wq, R)) || (s = MATMUL(c->k, c->xb, L->wk, R)) ||
            (s = MATMUL(c->v, c->xb, L->wv, R)))
            return s;
        if ((s = LORA(LORA_Q, c->q, q_dim, c->xb, dim)) || (s = LORA(LORA_K, c->k, kv_dim, c->xb, dim)) ||
            (s = LORA(LORA_V, c->v, kv_dim, c->xb, dim)))
            return s;
        for (int32_t r = 0; r < R; r++) {
            if (L->bq) ops->add(c->q + r * q_dim, c->q + r * q_dim, L->bq, q_dim);
            if (L->bk) ops->add(c->k + r * kv_dim, c->k + r * kv_dim, L->bk, kv_dim);
            if (L->bv) ops->add(c->v + r * kv_dim, c->v + r * kv_dim, L->bv, kv_dim);
        }

        /* RoPE on q and k (angles of each row's position) */
        for (int32_t r = 0; r < R; r++) {
            const float *cs = c->cs + (size_t)r * hp->rope.n_rot;
            hearth_rope_apply(&hp->rope, c->q + r * q_dim, hp->n_head, (int)hd, cs);
            hearth_rope_apply(&hp->rope, c->k + r * kv_dim, hp->n_head_kv, (int)hd, cs);
        }

        /* k, v of sequence i into its own cache at positions pos0 .. pos0 + T - 1 */
        for (int i = 0; i < b->n_seq; i++) {
            const bseq *sq = &b->seq[i];
            hearth_context *sc = sq->c;
            if (sq->T == 0) continue;
            size_t row = (size_t)kv_dim * sc->kv_esz;
            char *kc = (char *)sc->k_cache + ((size_t)l * sc->n_ctx + sq->pos0) * row;
            char *vc = (char *)sc->v_cache + ((size_t)l * sc->n_ctx + sq->pos0) * row;
            const float *ks = c->k + (size_t)sq->row0 * kv_dim, *vs = c->v + (size_t)sq->row0 * kv_dim;
            if (sc->kv_type == HEARTH_TYPE_F16) {
                const hearth_type_traits *h = hearth_type_traits_get(HEARTH_TYPE_F16);
                h->from_float(ks, kc, (int64_t)sq->T * kv_dim);
                h->from_float(vs, vc, (int64_t)sq->T * kv_dim);
            } else {
                memcpy(kc, ks, (size_t)sq->T * row);
                memcpy(vc, vs, (size_t)sq->T * row);
            }
        }

        /* multi-head attention, causal within each sequence, GQA (query head h reads KV head h / group) */
        att_job aj = {b, l};
        hearth_pool_run((int64_t)R * hp->n_head >= 2 ? c->pool : NULL, attention_worker, &aj);

        /* output projection and residual: x += ao @ Wo^T */
        if ((s = MATMUL(c->xb, c->ao, L->wo, R)) || (s = LORA(LORA_O, c->xb, dim, c->ao, q_dim))) return s;
        ops->add(c->x, c->x, c->xb, (int64_t)R * dim);

        /* ffn rmsnorm */
        for (int32_t r = 0; r < R; r++) ops->rmsnorm(c->xb + r * dim, c->x + r * dim, L->ffn_norm, dim, hp->eps);

        /* SwiGLU: hb = silu(xb @ Wgate^T) * (xb @ Wup^T) */
        if ((s = MATMUL(c->hb, c->xb, L->w_gate, R)) || (s = MATMUL(c->hb2, c->xb, L->w_up, R)) ||
            (s = LORA(LORA_GATE, c->hb, n_ff, c->xb, dim)) || (s = LORA(LORA_UP, c->hb2, n_ff, c->xb, dim)))
            return s;
        ops->silu_mul(c->hb, c->hb, c->hb2, (int64_t)R * n_ff);

        /* down projection and residual: x += hb @ Wdown^T */
        if ((s = MATMUL(c->xb, c->hb, L->w_down, R)) || (s = LORA(LORA_DOWN, c->xb, dim, c->hb, n_ff))) return s;
        ops->add(c->x, c->x, c->xb, (int64_t)R * dim);
    }

    /* final rmsnorm and logits of the output rows. One sequence: straight
     * into its buffers; several: gathered into the lead's scratch (ob_*) for
     * one matmul, then copied to each sequence. */
    int32_t n_out = 0;
    for (int i = 0; i < b->n_seq; i++) n_out += b->seq[i].n_out;
    if (n_out > 0) {
        bool direct = b->n_seq == 1;
        float *embd = direct ? b->seq[0].c->embd + (size_t)b->seq[0].out0 * dim : c->ob_embd;
        float *logits = direct ? b->seq[0].c->logits + (size_t)b->seq[0].out0 * hp->n_vocab : c->ob_logits;
        int32_t o = 0;
        for (int i = 0; i < b->n_seq; i++) {
            const bseq *sq = &b->seq[i];
            for (int32_t t = sq->T - sq->n_out; t < sq->T; t++, o++)
                ops->rmsnorm(embd + (size_t)o * dim, c->x + (size_t)(sq->row0 + t) * dim, m->output_norm, dim, hp->eps);
        }
        if ((s = model_matmul(c->pool, logits, embd, &m->output, n_out, c->work))) return s;
        /* LoRA on the output matrix, per sequence on its output rows */
        o = 0;
        for (int i = 0; i < b->n_seq && !s; i++) {
            const bseq *sq = &b->seq[i];
            if (sq->c->lora)
                s = lora_apply(sq->c->lora, c->pool, -1, LORA_OUTPUT, logits + (size_t)o * hp->n_vocab,
                               embd + (size_t)o * dim, sq->n_out);
            o += sq->n_out;
        }
        if (s) return s;
        if (!direct) {
            o = 0;
            for (int i = 0; i < b->n_seq; i++) {
                const bseq *sq = &b->seq[i];
                if (!sq->n_out) continue;
                memcpy(sq->c->embd + (size_t)sq->out0 * dim, embd + (size_t)o * dim, (size_t)sq->n_out * dim * 4);
                memcpy(sq->c->logits + (size_t)sq->out0 * hp->n_vocab, logits + (size_t)o * hp->n_vocab,
                       (size_t)sq->n_out * hp->n_vocab * 4);
                o += sq->n_out;
            }
        }
    }
    for (int i = 0; i < b->n_seq; i++) b->seq[i].c->n_past += b->seq[i].T;
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

/* the lead's gather buffers for up to rows output rows of several sequences */
static hearth_status reserve_gather(hearth_context *c, size_t rows) {
    if (rows <= c->ob_cap) return HEARTH_OK;
    const mhparams *hp = &c->m->hp;
    float *lg = realloc(c->ob_logits, rows * hp->n_vocab * 4);
    if (!lg) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for %zu rows of batch logits", rows);
    c->ob_logits = lg;
    float *e = realloc(c->ob_embd, rows * hp->n_embd * 4);
    if (!e) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for %zu batch embeddings", rows);
    c->ob_embd = e;
    c->ob_cap = rows;
    return HEARTH_OK;
}

#define MAX_BATCH_SEQ 256

static hearth_status decode_rows(hearth_context *const *cs, const int32_t *const *tokens, const float *const *embd,
                                 const int32_t *n, int n_seq, bool all_logits) {
    if (!cs || (!tokens && !embd) || !n || n_seq <= 0 || n_seq > MAX_BATCH_SEQ || !cs[0])
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: %d sequences (1 .. %d, with a lead context)", n_seq,
                                MAX_BATCH_SEQ);
    hearth_context *lead = cs[0];
    const mhparams *hp = &lead->m->hp;
    int64_t total = 0;
    for (int i = 0; i < n_seq; i++) {
        hearth_context *c = cs[i];
        if (!c || c->m != lead->m)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: sequence %d has %s", i,
                                    c ? "another model than the lead context" : "no context");
        const float *e = embd ? embd[i] : NULL;
        const int32_t *tk = tokens ? tokens[i] : NULL;
        if (n[i] < 0 || (n[i] > 0 && !tk && !e))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: sequence %d has %d tokens", i, n[i]);
        if (c->n_ctx > lead->n_ctx)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "decode: sequence %d has a context of %d, more than the lead's %d", i, c->n_ctx,
                                    lead->n_ctx);
        for (int j = 0; j < i; j++)
            if (cs[j] == c && n[i] > 0 && n[j] > 0)
                return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: sequences %d and %d share a context", j, i);
        if ((int64_t)c->n_past + n[i] > c->n_ctx)
            return hearth_set_error(HEARTH_ERR_RANGE, "decode: %d tokens after %d do not fit the context of %d%s", n[i],
                                    c->n_past, c->n_ctx, n_seq > 1 ? " (one sequence of the batch)" : "");
        for (int32_t t = 0; !e && t < n[i]; t++)
            if (tk[t] < 0 || tk[t] >= hp->n_vocab)
                return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                        "decode: token %d (at %d) is outside the vocabulary of %d", tk[t], t,
                                        hp->n_vocab);
        total += n[i];
    }
    if (total == 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: no tokens");

    hearth_status s = HEARTH_OK;
    for (int i = 0; i < n_seq; i++)
        if (n[i] > 0 && (s = reserve_out(cs[i], all_logits ? (size_t)n[i] : 1))) return s;
    if (n_seq > 1 && (s = reserve_gather(lead, (size_t)lead->n_batch))) return s;

    /* rounds of at most lead->n_batch rows; each takes what is left of every
     * sequence, in order, until the round is full */
    bseq seq[MAX_BATCH_SEQ];
    int32_t done[MAX_BATCH_SEQ], past0[MAX_BATCH_SEQ];
    for (int i = 0; i < n_seq; i++) done[i] = 0, past0[i] = cs[i]->n_past;
    for (int64_t left = total; left > 0;) {
        batch b = {lead, seq, 0, 0};
        for (int i = 0; i < n_seq && b.R < lead->n_batch; i++) {
            int32_t T = n[i] - done[i];
            if (T <= 0) continue;
            if (T > lead->n_batch - b.R) T = lead->n_batch - b.R;
            bool finishes = done[i] + T == n[i];
            bseq *sq = &seq[b.n_seq++];
            sq->c = cs[i];
            sq->embd = embd && embd[i] ? embd[i] + (size_t)done[i] * hp->n_embd : NULL;
            sq->tok = sq->embd ? NULL : tokens[i] + done[i];
            sq->T = T;
            sq->row0 = b.R;
            sq->pos0 = cs[i]->n_past;
            sq->n_out = all_logits ? T : finishes ? 1 : 0;
            sq->out0 = all_logits ? done[i] : 0;
            b.R += T;
            done[i] += T;
        }
        if ((s = forward(&b))) {
            for (int i = 0; i < n_seq; i++) cs[i]->n_past = past0[i];
            return s;
        }
        left -= b.R;
    }
    for (int i = 0; i < n_seq; i++) {
        if (n[i] == 0) continue;
        cs[i]->n_out = all_logits ? n[i] : 1;
        cs[i]->n_last = n[i];
        cs[i]->all_out = all_logits;
    }
    return HEARTH_OK;
}

hearth_status hearth_decode_batch(hearth_context *const *cs, const int32_t *const *tokens, const int32_t *n,
                                  int n_seq, bool all_logits) {
    return decode_rows(cs, tokens, NULL, n, n_seq, all_logits);
}

hearth_status hearth_decode_batch_embd(hearth_context *const *cs, const int32_t *const *tokens,
                                       const float *const *embd, const int32_t *n, int n_seq, bool all_logits) {
    return decode_rows(cs, tokens, embd, n, n_seq, all_logits);
}

hearth_status hearth_decode_embd(hearth_context *c, const float *embd, int32_t n, bool all_logits) {
    if (n <= 0 || !embd) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: no embeddings");
    return decode_rows(&c, NULL, &embd, &n, 1, all_logits);
}

hearth_status hearth_decode(hearth_context *c, const int32_t *tokens, int32_t n, bool all_logits) {
    if (n <= 0 || !tokens) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "decode: no tokens");
    return hearth_decode_batch(&c, &tokens, &n, 1, all_logits);
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
