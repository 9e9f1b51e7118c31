/*
 * perplexity.c — perplexity over a token stream, computed the way llama.cpp's
 * perplexity tool does (see model.h), so that numbers compare directly.
 */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

hearth_status hearth_perplexity(hearth_context *c, const int32_t *tokens, size_t n_tokens, int32_t n_chunk_ctx,
                                hearth_ppl_progress_fn progress, void *user, hearth_ppl_result *out) {
    memset(out, 0, sizeof *out);
    if (n_chunk_ctx < 4)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "perplexity: context %d is too small (at least 4)", n_chunk_ctx);
    if (n_chunk_ctx > hearth_context_n_ctx(c))
        return hearth_set_error(HEARTH_ERR_RANGE, "perplexity: chunks of %d tokens do not fit the context of %d",
                                n_chunk_ctx, hearth_context_n_ctx(c));
    size_t n_chunks = n_tokens / (size_t)n_chunk_ctx;
    if (n_chunks == 0)
        return hearth_set_error(HEARTH_ERR_RANGE, "perplexity: %zu tokens are fewer than one chunk of %d", n_tokens,
                                n_chunk_ctx);
    const hearth_model *m = hearth_context_model(c);
    const hearth_vocab *v = m->vocab;
    bool add_bos = hearth_vocab_add_bos(v) && hearth_vocab_bos(v) >= 0;
    int32_t n_vocab = m->hp.n_vocab, first = n_chunk_ctx / 2;
    const hearth_ops *ops = hearth_ops_get();
    int32_t *chunk = malloc((size_t)n_chunk_ctx * sizeof *chunk);
    float *prob = malloc((size_t)n_vocab * sizeof *prob);
    if (!chunk || !prob) {
        free(chunk);
        free(prob);
        return hearth_set_error(HEARTH_ERR_NOMEM, "perplexity: out of memory");
    }
    double nll = 0;
    int64_t count = 0;
    hearth_status s = HEARTH_OK;
    for (size_t i = 0; i < n_chunks; i++) {
        const int32_t *src = tokens + i * (size_t)n_chunk_ctx;
        memcpy(chunk, src, (size_t)n_chunk_ctx * sizeof *chunk);
        if (add_bos) chunk[0] = hearth_vocab_bos(v);
        if ((s = hearth_context_truncate(c, 0)) || (s = hearth_decode(c, chunk, n_chunk_ctx, true))) break;
        /* score positions first .. n-2, each predicting the next token */
        for (int32_t j = first; j < n_chunk_ctx - 1; j++) {
            /* -log softmax(logits)[next token] (vectorized softmax on a copy) */
            memcpy(prob, hearth_get_logits_ith(c, j), (size_t)n_vocab * sizeof *prob);
            ops->softmax(prob, n_vocab);
            nll -= log((double)prob[src[j + 1]]);
            count++;
        }
        if (progress && !progress((int)i + 1, (int)n_chunks, exp(nll / (double)count), user)) {
            s = hearth_set_error(HEARTH_ERR_CANCELLED, "perplexity: cancelled after chunk %zu", i + 1);
            break;
        }
    }
    free(chunk);
    free(prob);
    hearth_context_truncate(c, 0);
    if (s) return s;
    out->nll = nll / (double)count;
    out->ppl = exp(out->nll);
    out->n_chunks = (int)n_chunks;
    out->n_scored = count;
    return HEARTH_OK;
}
