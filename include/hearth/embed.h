/*
 * embed.h — sentence embeddings: text -> one vector of n_embd floats.
 *
 * Works with both kinds of model hearth loads:
 *   - BERT-style encoders (arch "bert": BGE, MiniLM, E5...): the encoder's
 *     final hidden states, pooled as the model's bert.pooling_type says
 *     (mean when the file says none or nothing);
 *   - llama-family models (llama, qwen2): the final normalized hidden states
 *     (after output_norm) of all tokens, BOS included, mean-pooled (or as
 *     the file's {arch}.pooling_type says: cls = first token, last = last
 *     token, for embedding models such as Qwen3-Embedding). Texts may have
 *     up to n_ctx tokens (params; default min(training context, 4096)).
 * The text is tokenized with the model's special tokens ([CLS] ... [SEP] for
 * BERT, BOS for llama), and the vector is L2-normalized unless asked not to
 * be, as llama.cpp's embedding example computes it.
 *
 *   hearth_embedder *e;
 *   hearth_embedder_create(model, NULL, &e);
 *   float v[hearth_embedder_n_embd(e)];
 *   hearth_embed(e, "some text", 9, v, n);
 *   hearth_embedder_free(e);
 *
 * An embedder holds the activation buffers (and, for a llama-family model, a
 * hearth_context); the model may be shared by many embedders. One thread at
 * a time per embedder.
 */
#ifndef HEARTH_EMBED_H
#define HEARTH_EMBED_H

#include "hearth/model.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* llama.cpp's numbering (bert.pooling_type) */
typedef enum hearth_pooling {
    HEARTH_POOLING_MODEL = -1,   /* the model's own: {arch}.pooling_type (bert.pooling_type...);
                                    mean when absent or none */
    HEARTH_POOLING_NONE = 0,     /* per-token: not a sentence embedding; refused by hearth_embed */
    HEARTH_POOLING_MEAN = 1,     /* mean over all tokens (specials included) */
    HEARTH_POOLING_CLS = 2,      /* the first token ([CLS] / BOS) */
    HEARTH_POOLING_LAST = 3,     /* the last token */
} hearth_pooling;

const char *hearth_pooling_name(hearth_pooling p);   /* "mean", "cls"...; "?" if unknown */

typedef struct hearth_embed_params {
    hearth_pooling pooling;   /* HEARTH_POOLING_MODEL (default) or an override */
    bool normalize;           /* L2-normalize the result (default true) */
    int n_threads;            /* 0: all online CPUs */
    int32_t n_batch;          /* BERT: most tokens in one pass over several texts; 0: the model's context */
    int32_t n_ctx;            /* llama family: most tokens per text (sizes the KV cache); 0: the training
                                 context, at most 4096. BERT: ignored (its position table decides) */
} hearth_embed_params;

hearth_embed_params hearth_embed_default_params(void);

/* The pooling an embedder of m uses with HEARTH_POOLING_MODEL. */
hearth_pooling hearth_model_pooling(const hearth_model *m);
/* true for encoder-only models (BERT), which hearth_context_create cannot run:
 * use an embedder. */
bool hearth_model_is_encoder(const hearth_model *m);

typedef struct hearth_embedder hearth_embedder;

/* Fails with HEARTH_ERR_INVALID_ARG for a vocab-only model or pooling NONE,
 * HEARTH_ERR_NOMEM when the buffers cannot be allocated. */
hearth_status hearth_embedder_create(const hearth_model *m, const hearth_embed_params *p, hearth_embedder **out);
void hearth_embedder_free(hearth_embedder *e);   /* NULL is a no-op */

int32_t hearth_embedder_n_embd(const hearth_embedder *e);    /* floats per vector */
/* most tokens one text may have ([CLS]/[SEP]/BOS included): the model's
 * training context (BERT: its position table) */
int32_t hearth_embedder_n_ctx(const hearth_embedder *e);
const hearth_model *hearth_embedder_model(const hearth_embedder *e);   /* borrowed */
/* tokens of the text(s) of the last successful hearth_embed* call (for usage counts) */
int64_t hearth_embedder_last_tokens(const hearth_embedder *e);

/* Embeds len bytes of text (not necessarily NUL-terminated) into out[0 ..
 * n_embd). n_out is the capacity of out in floats (at least n_embd).
 * Fails with HEARTH_ERR_RANGE (a message with the counts) when the text has
 * more tokens than hearth_embedder_n_ctx(), or n_out is too small; out is
 * then unchanged. An empty text is allowed (it is only the special tokens);
 * a text that tokenizes to nothing at all (an empty text for a vocab
 * without BOS) fails with HEARTH_ERR_INVALID_ARG. */
hearth_status hearth_embed(hearth_embedder *e, const char *text, size_t len, float *out, int32_t n_out);

/* Embeds n texts (lens[i] bytes each; lens may be NULL for NUL-terminated
 * texts): vector i goes to out[i * n_embd ..]. n_out is the capacity of out
 * in floats (at least n * n_embd). BERT runs several texts in one pass;
 * the results equal n hearth_embed calls. All or nothing: on failure the
 * message names the text. */
hearth_status hearth_embed_batch(hearth_embedder *e, const char *const *texts, const size_t *lens, int n, float *out,
                                 int64_t n_out);

/* Embeds a sequence of token ids as given (no special tokens added). */
hearth_status hearth_embed_tokens(hearth_embedder *e, const int32_t *tokens, int32_t n, float *out, int32_t n_out);

/* v /= ||v||_2 (left as is when the norm is 0) */
void hearth_embed_normalize(float *v, int32_t n);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
