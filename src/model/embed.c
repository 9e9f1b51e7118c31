/*
 * embed.c — sentence embeddings (include/hearth/embed.h): tokenize, run the
 * model (bert.c's encoder, or the llama-family forward through a
 * hearth_context), pool the final hidden states, L2-normalize.
 *
 *   BERT:  rows of several texts go through one encoder pass (up to n_batch
 *          tokens), then each text's rows are pooled.
 *   llama: each text is decoded as a fresh sequence in slices of SLICE tokens
 *          (so that the all-token logits the decode keeps stay small); the
 *          final normalized hidden states of the slice are pooled as they
 *          come.
 */
#include "hearth/embed.h"

#include "bert_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLAMA_MAX_CTX 4096   /* cap of a llama-family embedder's context */
#define SLICE 64             /* llama: tokens per decode call */

struct hearth_embedder {
    const hearth_model *m;
    hearth_pooling pooling;
    bool normalize;
    int32_t n_embd, n_ctx, n_batch;
    int64_t last_tokens;
    /* BERT */
    hearth_pool *pool;
    bert_state st;
    /* llama family */
    hearth_context *ctx;
};

hearth_embed_params hearth_embed_default_params(void) {
    hearth_embed_params p = {.pooling = HEARTH_POOLING_MODEL, .normalize = true, .n_threads = 0, .n_batch = 0, .n_ctx = 0};
    return p;
}

const char *hearth_pooling_name(hearth_pooling p) {
    switch (p) {
    case HEARTH_POOLING_MODEL: return "model";
    case HEARTH_POOLING_NONE: return "none";
    case HEARTH_POOLING_MEAN: return "mean";
    case HEARTH_POOLING_CLS: return "cls";
    case HEARTH_POOLING_LAST: return "last";
    }
    return "?";
}

bool hearth_model_is_encoder(const hearth_model *m) { return m && m->bert != NULL; }

hearth_pooling hearth_model_pooling(const hearth_model *m) {
    if (m->bert) return m->bert->pooling >= HEARTH_POOLING_MEAN ? (hearth_pooling)m->bert->pooling : HEARTH_POOLING_MEAN;
    /* a llama-family embedding model may say how it pools ({arch}.pooling_type, e.g. 3 = last) */
    char key[64];
    int64_t v = -1;
    snprintf(key, sizeof key, "%s.pooling_type", m->arch);
    if (hearth_gguf_get_int(m->gguf, key, &v) == HEARTH_OK && v >= HEARTH_POOLING_MEAN && v <= HEARTH_POOLING_LAST)
        return (hearth_pooling)v;
    return HEARTH_POOLING_MEAN;
}

/* ==== create / free ============================================================= */
void hearth_embedder_free(hearth_embedder *e) {
    if (!e) return;
    bert_state_free(&e->st);
    hearth_pool_free(e->pool);
    hearth_context_free(e->ctx);
    free(e);
}

hearth_status hearth_embedder_create(const hearth_model *m, const hearth_embed_params *p, hearth_embedder **out) {
    *out = NULL;
    hearth_embed_params dp = hearth_embed_default_params();
    if (!p) p = &dp;
    if (!m) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embedder: no model");
    if (m->vocab_only) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embedder: %s was loaded vocab-only", m->name);
    if (p->pooling < HEARTH_POOLING_MODEL || p->pooling > HEARTH_POOLING_LAST)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embedder: unknown pooling %d", (int)p->pooling);
    if (p->pooling == HEARTH_POOLING_NONE)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "embedder: pooling none gives one vector per token, not a sentence embedding "
                                "(choose mean, cls or last)");
    if (p->n_batch < 0 || p->n_ctx < 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embedder: negative n_batch %d or n_ctx %d", p->n_batch, p->n_ctx);
    hearth_embedder *e = calloc(1, sizeof *e);
    if (!e) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory for an embedder");
    e->m = m;
    e->pooling = p->pooling == HEARTH_POOLING_MODEL ? hearth_model_pooling(m) : p->pooling;
    e->normalize = p->normalize;
    e->n_embd = m->hp.n_embd;
    hearth_status s;
    if (m->bert) {
        e->n_ctx = m->hp.n_ctx_train;
        e->n_batch = p->n_batch > 0 ? p->n_batch : e->n_ctx;
        if (e->n_batch < e->n_ctx) e->n_batch = e->n_ctx;   /* one text of n_ctx tokens must fit a pass */
        e->pool = hearth_pool_create(p->n_threads);
        if (!e->pool) {
            free(e);
            return hearth_set_error(HEARTH_ERR_NOMEM, "embedder: cannot create a thread pool");
        }
        s = bert_state_init(&e->st, m, e->n_batch, e->pool);
    } else {
        e->n_ctx = p->n_ctx > 0 ? p->n_ctx : m->hp.n_ctx_train < LLAMA_MAX_CTX ? m->hp.n_ctx_train : LLAMA_MAX_CTX;
        hearth_context_params cp = hearth_context_default_params();
        cp.n_ctx = e->n_ctx;
        cp.n_batch = SLICE;
        cp.n_threads = p->n_threads;
        s = hearth_context_create(m, &cp, &e->ctx);
    }
    if (s != HEARTH_OK) {
        hearth_embedder_free(e);
        return s;
    }
    *out = e;
    return HEARTH_OK;
}

int32_t hearth_embedder_n_embd(const hearth_embedder *e) { return e->n_embd; }
int32_t hearth_embedder_n_ctx(const hearth_embedder *e) { return e->n_ctx; }
const hearth_model *hearth_embedder_model(const hearth_embedder *e) { return e->m; }
int64_t hearth_embedder_last_tokens(const hearth_embedder *e) { return e->last_tokens; }

void hearth_embed_normalize(float *v, int32_t n) {
    double ss = 0;
    for (int32_t i = 0; i < n; i++) ss += (double)v[i] * v[i];
    if (ss <= 0) return;
    float inv = (float)(1.0 / sqrt(ss));
    for (int32_t i = 0; i < n; i++) v[i] *= inv;
}

/* ==== pooling ====================================================================== */
/* out = pooling of the T rows of h (dim floats each), then normalized */
static void pool_rows(const hearth_embedder *e, const float *h, int32_t T, float *out) {
    const int32_t dim = e->n_embd;
    if (e->pooling == HEARTH_POOLING_CLS) {
        memcpy(out, h, (size_t)dim * 4);
    } else if (e->pooling == HEARTH_POOLING_LAST) {
        memcpy(out, h + (size_t)(T - 1) * dim, (size_t)dim * 4);
    } else {   /* mean */
        for (int32_t j = 0; j < dim; j++) {
            double acc = 0;
            for (int32_t t = 0; t < T; t++) acc += h[(size_t)t * dim + j];
            out[j] = (float)(acc / T);
        }
    }
    if (e->normalize) hearth_embed_normalize(out, dim);
}

/* ==== one text of tokens, llama family ============================================ */
static hearth_status embed_llama(hearth_embedder *e, const int32_t *tok, int32_t n, float *out) {
    hearth_context *c = e->ctx;
    const int32_t dim = e->n_embd;
    hearth_status s = hearth_context_truncate(c, 0);
    if (s) return s;
    double *acc = calloc((size_t)dim, sizeof *acc);
    if (!acc) return hearth_set_error(HEARTH_ERR_NOMEM, "embed: out of memory");
    for (int32_t done = 0; done < n && s == HEARTH_OK;) {
        int32_t k = n - done < SLICE ? n - done : SLICE;
        /* only the last token's state matters for "last", the first for "cls" */
        bool keep_all = e->pooling == HEARTH_POOLING_MEAN || (e->pooling == HEARTH_POOLING_CLS && done == 0);
        s = hearth_decode(c, tok + done, k, keep_all);
        if (s) break;
        if (e->pooling == HEARTH_POOLING_MEAN) {
            for (int32_t i = 0; i < k; i++) {
                const float *h = hearth_get_embeddings_ith(c, i);
                if (!h) { s = hearth_set_error(HEARTH_ERR_INTERNAL, "embed: no hidden state for token %d", done + i); break; }
                for (int32_t j = 0; j < dim; j++) acc[j] += h[j];
            }
        } else if (e->pooling == HEARTH_POOLING_CLS && done == 0) {
            const float *h = hearth_get_embeddings_ith(c, 0);
            for (int32_t j = 0; j < dim; j++) acc[j] = h[j];
        } else if (e->pooling == HEARTH_POOLING_LAST && done + k == n) {
            const float *h = hearth_get_embeddings_ith(c, k - 1);
            for (int32_t j = 0; j < dim; j++) acc[j] = h[j];
        }
        done += k;
    }
    if (s == HEARTH_OK) {
        double div = e->pooling == HEARTH_POOLING_MEAN ? (double)n : 1.0;
        for (int32_t j = 0; j < dim; j++) out[j] = (float)(acc[j] / div);
        if (e->normalize) hearth_embed_normalize(out, dim);
    }
    free(acc);
    hearth_context_truncate(c, 0);
    return s;
}

/* ==== many texts of tokens ========================================================== */
/* texts i in [0, n): tok[i] of len[i] tokens (already checked: 1 .. n_ctx);
 * vector i to out + i * dim */
static hearth_status embed_token_lists(hearth_embedder *e, int32_t *const *tok, const int32_t *len, int n, float *out) {
    const int32_t dim = e->n_embd;
    hearth_status s = HEARTH_OK;
    if (!e->m->bert) {
        for (int i = 0; i < n; i++)
            if ((s = embed_llama(e, tok[i], len[i], out + (size_t)i * dim))) return s;
        return HEARTH_OK;
    }
    /* BERT: rounds of consecutive texts filling at most n_batch rows */
    int32_t *rows = malloc((size_t)e->n_batch * sizeof *rows);
    if (!rows) return hearth_set_error(HEARTH_ERR_NOMEM, "embed: out of memory");
    for (int i0 = 0; i0 < n && s == HEARTH_OK;) {
        int i1 = i0;
        int32_t R = 0;
        while (i1 < n && R + len[i1] <= e->n_batch) {
            memcpy(rows + R, tok[i1], (size_t)len[i1] * sizeof *rows);
            R += len[i1++];
        }
        if ((s = bert_forward(e->m, &e->st, rows, len + i0, i1 - i0))) break;
        int32_t r = 0;
        for (int i = i0; i < i1; i++) {
            pool_rows(e, e->st.x + (size_t)r * dim, len[i], out + (size_t)i * dim);
            r += len[i];
        }
        i0 = i1;
    }
    free(rows);
    return s;
}

static hearth_status check_len(const hearth_embedder *e, int32_t n, int index) {
    char where[48] = "";
    if (index >= 0) snprintf(where, sizeof where, " (text %d)", index);
    if (n <= 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embed: the text%s has no tokens (empty, and the vocabulary adds none)",
                                where);
    if (n > e->n_ctx)
        return hearth_set_error(HEARTH_ERR_RANGE, "embed: the text%s has %d tokens, more than the %d the model takes",
                                where, n, e->n_ctx);
    return HEARTH_OK;
}

/* ==== public entry points ============================================================ */
hearth_status hearth_embed_tokens(hearth_embedder *e, const int32_t *tokens, int32_t n, float *out, int32_t n_out) {
    if (!e || !out || (n > 0 && !tokens)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embed: NULL argument");
    if (n_out < e->n_embd)
        return hearth_set_error(HEARTH_ERR_RANGE, "embed: output of %d floats, the model's vectors have %d", n_out,
                                e->n_embd);
    hearth_status s = check_len(e, n, -1);
    if (s) return s;
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= e->m->hp.n_vocab)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embed: token %d (at %d) is outside the vocabulary of %d",
                                    tokens[i], i, e->m->hp.n_vocab);
    float *tmp = malloc((size_t)e->n_embd * 4);   /* out unchanged on failure */
    if (!tmp) return hearth_set_error(HEARTH_ERR_NOMEM, "embed: out of memory");
    int32_t *const tl[1] = {(int32_t *)tokens};
    s = embed_token_lists(e, tl, &n, 1, tmp);
    if (s == HEARTH_OK) {
        memcpy(out, tmp, (size_t)e->n_embd * 4);
        e->last_tokens = n;
    }
    free(tmp);
    return s;
}

hearth_status hearth_embed_batch(hearth_embedder *e, const char *const *texts, const size_t *lens, int n, float *out,
                                 int64_t n_out) {
    if (!e || !texts || !out || n <= 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embed: %s", n <= 0 ? "no texts" : "NULL argument");
    if (n_out < (int64_t)n * e->n_embd)
        return hearth_set_error(HEARTH_ERR_RANGE, "embed: output of %lld floats, %d texts need %lld", (long long)n_out,
                                n, (long long)n * e->n_embd);
    int32_t **tok = calloc((size_t)n, sizeof *tok);
    int32_t *len = calloc((size_t)n, sizeof *len);
    float *tmp = malloc((size_t)n * e->n_embd * 4);
    hearth_status s = HEARTH_OK;
    if (!tok || !len || !tmp) s = hearth_set_error(HEARTH_ERR_NOMEM, "embed: out of memory for %d texts", n);
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    tp.add_special = true;
    tp.parse_special = false;
    int64_t total = 0;
    for (int i = 0; i < n && s == HEARTH_OK; i++) {
        if (!texts[i]) {
            s = hearth_set_error(HEARTH_ERR_INVALID_ARG, "embed: text %d is NULL", i);
            break;
        }
        size_t l = lens ? lens[i] : strlen(texts[i]);
        size_t nt = 0;
        if ((s = hearth_tokenize(e->m->vocab, texts[i], l, &tp, &tok[i], &nt))) break;
        len[i] = nt > (size_t)INT32_MAX ? INT32_MAX : (int32_t)nt;
        s = check_len(e, len[i], n > 1 ? i : -1);
        total += len[i];
    }
    if (s == HEARTH_OK) s = embed_token_lists(e, tok, len, n, tmp);
    if (s == HEARTH_OK) {
        memcpy(out, tmp, (size_t)n * e->n_embd * 4);
        e->last_tokens = total;
    }
    if (tok)
        for (int i = 0; i < n; i++) free(tok[i]);
    free(tok);
    free(len);
    free(tmp);
    return s;
}

hearth_status hearth_embed(hearth_embedder *e, const char *text, size_t len, float *out, int32_t n_out) {
    if (!text) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "embed: NULL text");
    return hearth_embed_batch(e, &text, &len, 1, out, n_out);
}
