/*
 * rerank.c — cross-encoder re-ranking (see hearth/rag.h): a BERT encoder's
 * first-token state through its classification head, as llama.cpp's rerank
 * pooling computes it.
 */
#include "rag_internal.h"

#include "kernels/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct hearth_rag_reranker {
    const hearth_model *m;
    hearth_embedder *e;     /* pooling cls, not normalized: the first token's final state */
    int32_t n_embd, n_out;
    float *cls, *cls_b;     /* (n_embd, n_embd), (n_embd); NULL when absent */
    float *out, *out_b;     /* (n_out, n_embd), (n_out); NULL when absent */
    bool add_sep;
    float *h, *t;           /* n_embd each */
};

/* tensor name as floats (malloc'd), with its shape checked */
static hearth_status load(const hearth_model *m, const char *name, int64_t ne0, int64_t ne1, bool need, float **out,
                          int64_t *got_ne1) {
    *out = NULL;
    const hearth_gguf_tensor *t = hearth_gguf_find_tensor(hearth_model_gguf(m), name);
    if (!t) return need ? hearth_set_error(HEARTH_ERR_FORMAT, "reranker: tensor %s is missing", name) : HEARTH_OK;
    if (t->ne[0] != ne0 || (ne1 > 0 && t->ne[1] != ne1) || t->ne[2] != 1 || t->ne[3] != 1)
        return hearth_set_error(HEARTH_ERR_FORMAT, "reranker: tensor %s is %lld x %lld, expected %lld x %lld", name,
                                (long long)t->ne[0], (long long)t->ne[1], (long long)ne0, (long long)(ne1 > 0 ? ne1 : t->ne[1]));
    const hearth_type_traits *tr = hearth_type_traits_get(t->type);
    if (!tr || !tr->to_float)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "reranker: tensor %s has a type hearth cannot read", name);
    int64_t n = hearth_gguf_tensor_nelements(t);
    float *f = malloc((size_t)n * sizeof *f);
    if (!f) return hearth_set_error(HEARTH_ERR_NOMEM, "reranker: out of memory");
    tr->to_float(t->data, f, n);
    *out = f;
    if (got_ne1) *got_ne1 = t->ne[1];
    return HEARTH_OK;
}

hearth_status hearth_rag_reranker_create(const hearth_model *m, int n_threads, hearth_rag_reranker **out) {
    *out = NULL;
    if (!hearth_model_is_encoder(m))
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "reranker: %s is not an encoder (BERT) model",
                                hearth_model_name(m));
    const hearth_gguf *g = hearth_model_gguf(m);
    if (!hearth_gguf_find_tensor(g, "cls.weight") && !hearth_gguf_find_tensor(g, "cls.output.weight"))
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "reranker: %s has no classification head (tensors cls.weight / cls.output.weight): "
                                "it is an embedding model, not a cross-encoder",
                                hearth_model_name(m));
    hearth_rag_reranker *r = calloc(1, sizeof *r);
    if (!r) return hearth_set_error(HEARTH_ERR_NOMEM, "reranker: out of memory");
    r->m = m;
    r->n_embd = hearth_model_n_embd(m);
    int64_t n_out = 1;
    hearth_status st = load(m, "cls.weight", r->n_embd, r->n_embd, false, &r->cls, NULL);
    if (!st && r->cls) st = load(m, "cls.bias", r->n_embd, 1, false, &r->cls_b, NULL);
    if (!st) st = load(m, "cls.output.weight", r->n_embd, 0, false, &r->out, &n_out);
    if (!st && r->out) st = load(m, "cls.output.bias", n_out, 1, false, &r->out_b, NULL);
    r->n_out = (int32_t)n_out;
    bool sep = true;   /* WordPiece vocabularies add [SEP] (llama.cpp's default for BERT) */
    hearth_gguf_get_bool(g, "tokenizer.ggml.add_sep_token", &sep);
    r->add_sep = sep;
    hearth_embed_params ep = hearth_embed_default_params();
    ep.pooling = HEARTH_POOLING_CLS;
    ep.normalize = false;
    ep.n_threads = n_threads;
    if (!st) st = hearth_embedder_create(m, &ep, &r->e);
    if (!st && (!(r->h = malloc((size_t)r->n_embd * sizeof *r->h)) || !(r->t = malloc((size_t)r->n_embd * sizeof *r->t))))
        st = hearth_set_error(HEARTH_ERR_NOMEM, "reranker: out of memory");
    if (st) {
        hearth_rag_reranker_free(r);
        return st;
    }
    *out = r;
    return HEARTH_OK;
}

void hearth_rag_reranker_free(hearth_rag_reranker *r) {
    if (!r) return;
    hearth_embedder_free(r->e);
    free(r->cls), free(r->cls_b), free(r->out), free(r->out_b), free(r->h), free(r->t);
    free(r);
}

hearth_status hearth_rag_rerank_score(hearth_rag_reranker *r, const char *query, const char *doc, float *score) {
    const hearth_vocab *v = hearth_model_vocab(r->m);
    hearth_tokenize_params tp = {.add_special = false, .parse_special = false};
    int32_t *q = NULL, *d = NULL;
    size_t nq = 0, nd = 0;
    hearth_status st = hearth_tokenize(v, query, strlen(query), &tp, &q, &nq);
    if (!st) st = hearth_tokenize(v, doc, strlen(doc), &tp, &d, &nd);
    if (st) {
        free(q), free(d);
        return st;
    }
    int32_t bos = hearth_vocab_bos(v), eos = hearth_vocab_eos(v), sep = hearth_vocab_sep(v);
    if (bos < 0) bos = hearth_vocab_cls(v);
    if (eos < 0) eos = sep;
    bool add_bos = hearth_vocab_add_bos(v) && bos >= 0, add_eos = hearth_vocab_add_eos(v) && eos >= 0;
    bool add_sep = r->add_sep && sep >= 0;
    int32_t n_ctx = hearth_embedder_n_ctx(r->e);
    int32_t fixed = (int32_t)add_bos + 2 * (int32_t)add_eos + (int32_t)add_sep;
    if ((int64_t)nq + fixed >= n_ctx) {
        free(q), free(d);
        return hearth_set_error(HEARTH_ERR_RANGE, "reranker: the query is %zu tokens; the model's context is %d", nq,
                                n_ctx);
    }
    if ((int64_t)nq + (int64_t)nd + fixed > n_ctx) nd = (size_t)(n_ctx - fixed - (int32_t)nq);   /* cut the document */
    int32_t *ids = malloc(((size_t)nq + nd + (size_t)fixed) * sizeof *ids);
    if (!ids) {
        free(q), free(d);
        return hearth_set_error(HEARTH_ERR_NOMEM, "reranker: out of memory");
    }
    int32_t n = 0;
    if (add_bos) ids[n++] = bos;
    memcpy(ids + n, q, nq * sizeof *ids), n += (int32_t)nq;
    if (add_eos) ids[n++] = eos;
    if (add_sep) ids[n++] = sep;
    memcpy(ids + n, d, nd * sizeof *ids), n += (int32_t)nd;
    if (add_eos) ids[n++] = eos;
    free(q), free(d);
    st = hearth_embed_tokens(r->e, ids, n, r->h, r->n_embd);
    free(ids);
    if (st) return st;
    /* classification head: t = tanh(cls h + b); score = (cls.output t + b)[0] */
    const float *x = r->h;
    if (r->cls) {
        for (int32_t i = 0; i < r->n_embd; i++) {
            const float *w = r->cls + (size_t)i * r->n_embd;
            double s = r->cls_b ? r->cls_b[i] : 0;
            for (int32_t k = 0; k < r->n_embd; k++) s += (double)w[k] * x[k];
            r->t[i] = tanhf((float)s);
        }
        x = r->t;
    }
    double s = x[0];
    if (r->out) {
        s = r->out_b ? r->out_b[0] : 0;
        for (int32_t k = 0; k < r->n_embd; k++) s += (double)r->out[k] * x[k];
    }
    *score = (float)s;
    return HEARTH_OK;
}
