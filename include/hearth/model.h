/*
 * model.h — loading llama-family models from GGUF and running them.
 *
 * A hearth_model holds the weights (mmapped from the file, never copied),
 * the hyper-parameters read from GGUF metadata, and the tokenizer. It is
 * immutable after loading and may be shared by many contexts.
 *
 * A hearth_context holds one sequence's state: KV cache and activation
 * buffers sized up front from n_ctx, and a thread pool. One thread at a
 * time per context.
 */
#ifndef HEARTH_MODEL_H
#define HEARTH_MODEL_H

#include "hearth/core.h"
#include "hearth/gguf.h"
#include "hearth/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

typedef struct hearth_model hearth_model;
typedef struct hearth_context hearth_context;

typedef struct hearth_model_params {
    bool vocab_only;   /* load the tokenizer and metadata, no weights */
} hearth_model_params;

hearth_model_params hearth_model_default_params(void);

/* Unknown architectures, missing tensors and wrong shapes fail with a message
 * listing what is wrong. */
hearth_status hearth_model_load(const char *path, const hearth_model_params *p, hearth_model **out);
void hearth_model_free(hearth_model *m);   /* NULL is a no-op */

const hearth_vocab *hearth_model_vocab(const hearth_model *m);   /* borrowed */
const hearth_gguf *hearth_model_gguf(const hearth_model *m);     /* borrowed */
const char *hearth_model_arch(const hearth_model *m);            /* "llama", "qwen2" */
const char *hearth_model_name(const hearth_model *m);            /* general.name or the file name */
int32_t hearth_model_n_vocab(const hearth_model *m);
int32_t hearth_model_n_ctx_train(const hearth_model *m);
int32_t hearth_model_n_embd(const hearth_model *m);
int32_t hearth_model_n_layer(const hearth_model *m);
int64_t hearth_model_n_params(const hearth_model *m);
/* bytes of weights read per generated token (all tensors used by the forward) */
size_t hearth_model_weight_bytes(const hearth_model *m);
/* tokenizer.chat_template, or NULL if the file has none (borrowed, NUL-terminated) */
const char *hearth_model_chat_template(const hearth_model *m);

/* ---- contexts ----------------------------------------------------------- */
typedef struct hearth_context_params {
    int32_t n_ctx;       /* 0: the model's training context */
    int32_t n_batch;     /* max tokens per hearth_decode call; 0: 512 (capped at n_ctx) */
    int n_threads;       /* 0: all online CPUs */
    bool kv_f32;         /* KV cache in F32 (default: F16, as llama.cpp keeps it) */
} hearth_context_params;

hearth_context_params hearth_context_default_params(void);

hearth_status hearth_context_create(const hearth_model *m, const hearth_context_params *p, hearth_context **out);
void hearth_context_free(hearth_context *c);   /* NULL is a no-op */

int32_t hearth_context_n_ctx(const hearth_context *c);
int32_t hearth_context_n_past(const hearth_context *c);   /* tokens in the KV cache */
const hearth_model *hearth_context_model(const hearth_context *c);   /* borrowed */
int hearth_context_n_threads(const hearth_context *c);
/* Forgets positions >= n_past (n_past = 0: a fresh sequence). */
hearth_status hearth_context_truncate(hearth_context *c, int32_t n_past);

/* Runs tokens[0..n) at positions n_past .. n_past+n-1 and appends them to
 * the KV cache (n may exceed n_batch: it is processed in slices). Fails with
 * HEARTH_ERR_RANGE (and changes nothing) if the context would overflow, and
 * HEARTH_ERR_INVALID_ARG for a token id outside the vocabulary.
 * all_logits: keep logits for every token; else only for the last. */
hearth_status hearth_decode(hearth_context *c, const int32_t *tokens, int32_t n, bool all_logits);

/* Batched decode: one forward pass over the tokens of n_seq sequences, each
 * its own context (its own KV cache and positions): sequence i runs
 * tokens[i][0..n[i]) at positions cs[i]'s n_past .. as hearth_decode would,
 * but every weight matrix is read once for all of them. n[i] may be 0 (the
 * sequence takes no part; its outputs are untouched). The lead cs[0] lends
 * its thread pool and activation buffers: at most its n_batch tokens go
 * through one pass (more are processed in rounds), and no context may be
 * longer than the lead's. All contexts must be of the same model, distinct,
 * and used by no other thread during the call. On failure no n_past changes.
 * Afterwards each context's hearth_get_logits* / embeddings are as after a
 * hearth_decode of its own tokens. hearth_decode is a batch of one. */
hearth_status hearth_decode_batch(hearth_context *const *cs, const int32_t *const *tokens, const int32_t *n,
                                  int n_seq, bool all_logits);

/* Input rows given as embeddings instead of token ids (an image's, from
 * hearth_clip_encode): n rows of n_embd floats run at positions n_past ..
 * exactly as token embeddings would. */
hearth_status hearth_decode_embd(hearth_context *c, const float *embd, int32_t n, bool all_logits);
/* hearth_decode_batch where sequence i's rows are embd[i] (n[i] rows of
 * n_embd floats) when embd and embd[i] are not NULL, tokens[i] otherwise
 * (tokens may be NULL when every sequence has embeddings): images and text of
 * different sequences in one pass. */
hearth_status hearth_decode_batch_embd(hearth_context *const *cs, const int32_t *const *tokens,
                                       const float *const *embd, const int32_t *n, int n_seq, bool all_logits);

/* Logits of the last decode: n_vocab floats for its last token, or, after
 * all_logits, row i (0 <= i < n) of the n tokens. Borrowed; valid until the
 * next decode. */
const float *hearth_get_logits(const hearth_context *c);
const float *hearth_get_logits_ith(const hearth_context *c, int32_t i);

/* Final normalized hidden state (n_embd floats) of token i of the last
 * decode with all_logits (embeddings). Borrowed. */
const float *hearth_get_embeddings_ith(const hearth_context *c, int32_t i);

/* ---- perplexity ------------------------------------------------------------
 * llama.cpp's method: tokens (already tokenized with BOS where the vocab adds
 * it) are cut into floor(n / n_chunk_ctx) chunks; in each, the first token is
 * replaced by BOS (where the vocab adds BOS), the chunk runs as a fresh
 * sequence, and the predictions of positions n_chunk_ctx/2 .. n_chunk_ctx-2
 * are scored. PPL = exp(mean negative log-likelihood). The context must hold
 * n_chunk_ctx tokens; its cache is cleared. progress (may be NULL) is called
 * after each chunk with the running PPL; returning false cancels. */
typedef bool (*hearth_ppl_progress_fn)(int chunk, int n_chunks, double ppl_so_far, void *user);
typedef struct hearth_ppl_result {
    double ppl;
    double nll;        /* mean negative log-likelihood */
    int n_chunks;
    int64_t n_scored;  /* predictions scored */
} hearth_ppl_result;
hearth_status hearth_perplexity(hearth_context *c, const int32_t *tokens, size_t n_tokens, int32_t n_chunk_ctx,
                                hearth_ppl_progress_fn progress, void *user, hearth_ppl_result *out);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
