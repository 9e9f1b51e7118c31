/*
 * generate.c — the generation loop: prompt -> prefill -> sample / decode ->
 * streamed text, with end-of-generation tokens, stop strings, max_tokens,
 * context size and cancellation as the ways out. See generate.h.
 */
#include "hearth/generate.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

const char *hearth_stop_reason_str(hearth_stop_reason r) {
    switch (r) {
    case HEARTH_STOP_LENGTH: return "length";
    case HEARTH_STOP_EOS: return "eos";
    case HEARTH_STOP_STRING: return "stop";
    case HEARTH_STOP_CANCELLED: return "cancelled";
    case HEARTH_STOP_CONSTRAINT: return "constraint";
    default: return "";
    }
}

hearth_generate_params hearth_generate_default_params(void) {
    hearth_generate_params p;
    memset(&p, 0, sizeof p);
    p.sampling = hearth_sampler_default_params();
    p.max_tokens = 128;
    p.add_special = true;
    p.parse_special = false;
    return p;
}

void hearth_generation_clear(hearth_generation *g) {
    if (!g) return;
    free(g->prompt_ids);
    free(g->ids);
    free(g->logprobs);
    free(g->text);
    memset(g, 0, sizeof *g);
}

/* ========================================================================
 * output accumulation
 * ======================================================================== */

typedef struct gen_state {
    hearth_generation *g;
    const hearth_generate_params *p;
    size_t cap_ids, cap_text;
    bool oom;
    bool cancelled;   /* the callback said stop */
} gen_state;

static void append_text(gen_state *st, const char *s, size_t n) {
    if (n == 0 || st->oom) return;
    hearth_generation *g = st->g;
    if (!HEARTH_GROW(g->text, st->cap_text, g->text_len + n + 1)) {
        st->oom = true;
        return;
    }
    memcpy(g->text + g->text_len, s, n);
    g->text_len += n;
    g->text[g->text_len] = 0;
    if (st->p->on_text && !st->p->on_text(s, n, st->p->user)) st->cancelled = true;
}

static void append_id(gen_state *st, int32_t id, float logprob) {
    if (st->oom) return;
    hearth_generation *g = st->g;
    size_t cap_lp = st->cap_ids;
    if (!HEARTH_GROW(g->logprobs, cap_lp, g->n_ids + 1) || !HEARTH_GROW(g->ids, st->cap_ids, g->n_ids + 1)) {
        st->oom = true;
        return;
    }
    g->ids[g->n_ids] = id;
    g->logprobs[g->n_ids] = logprob;
    g->n_ids++;
}

/* ========================================================================
 * the loop
 * ======================================================================== */

static hearth_status run(hearth_context *ctx, const hearth_model *model, const hearth_generate_params *p,
                         hearth_generation *g) {
    const hearth_vocab *v = hearth_model_vocab(model);
    int32_t n_vocab = hearth_model_n_vocab(model);
    int32_t n_ctx = hearth_context_n_ctx(ctx);
    int32_t n_prompt = (int32_t)g->n_prompt;

    const int32_t n_rows = p->embd ? p->n_embd_rows : 0;   /* image positions */
    if (p->embd && (n_rows <= 0 || p->embd_at < 0 || p->embd_at > n_prompt))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "generate: %d embedding rows at prompt position %d of %d",
                                (int)n_rows, (int)p->embd_at, (int)n_prompt);
    if (n_prompt + n_rows <= 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "generate: the prompt is empty");
    if (n_prompt + n_rows > n_ctx)
        return hearth_set_error(HEARTH_ERR_RANGE, "prompt is %d tokens%s, context is %d", (int)(n_prompt + n_rows),
                                n_rows ? " (image positions included)" : "", (int)n_ctx);
    for (int32_t i = 0; i < n_prompt; i++)
        if (g->prompt_ids[i] < 0 || g->prompt_ids[i] >= n_vocab)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "generate: prompt token %d has id %d, outside the "
                                    "vocabulary of %d", (int)i, (int)g->prompt_ids[i], (int)n_vocab);

    hearth_sequence_params sp = hearth_sequence_default_params();
    sp.sampling = p->sampling;
    sp.max_tokens = p->max_tokens;
    sp.ignore_eos = p->ignore_eos;
    sp.stop = p->stop;
    sp.n_stop = p->stop ? p->n_stop : 0;
    sp.constraint = p->constraint;
    hearth_sequence *seq = NULL;
    hearth_status st = hearth_sequence_create(v, n_vocab, &sp, &seq);
    if (st != HEARTH_OK) return st;

    /* ---- prefill (reusing what the caller says is already cached) ---- */
    int32_t reuse = p->embd ? 0 : p->n_reuse;
    if (reuse < 0) reuse = 0;
    if (reuse > hearth_context_n_past(ctx)) reuse = hearth_context_n_past(ctx);
    if (reuse > n_prompt - 1) reuse = n_prompt - 1;   /* the last prompt token's logits are needed */
    st = hearth_context_truncate(ctx, reuse);
    if (st != HEARTH_OK) goto done;
    double t0 = hearth_time_s();
    if (n_rows) {   /* text before, the embeddings, text after */
        int32_t at = p->embd_at;
        if ((at > 0 && (st = hearth_decode(ctx, g->prompt_ids, at, false))) ||
            (st = hearth_decode_embd(ctx, p->embd, n_rows, false)) ||
            (n_prompt > at && (st = hearth_decode(ctx, g->prompt_ids + at, n_prompt - at, false))))
            goto done;
    } else {
        st = hearth_decode(ctx, g->prompt_ids + reuse, n_prompt - reuse, false);
        if (st != HEARTH_OK) goto done;
    }
    g->n_prefilled = n_prompt - reuse + n_rows;
    g->t_prefill_s = hearth_time_s() - t0;
    hearth_sequence_accept_prompt(seq, g->prompt_ids, (size_t)n_prompt);

    /* ---- sample / decode: the sequence step decides when it ends ---- */
    gen_state gs = {g, p, 0, 0, false, false};
    double t1 = hearth_time_s();
    hearth_stop_reason reason = HEARTH_STOP_NONE;
    if (p->max_tokens == 0) reason = HEARTH_STOP_LENGTH;
    while (reason == HEARTH_STOP_NONE) {
        if (p->cancel && *p->cancel) {
            reason = HEARTH_STOP_CANCELLED;
            break;
        }
        hearth_sequence_token t;
        hearth_sequence_step(seq, hearth_get_logits(ctx), &t);
        if (t.id < 0) {
            st = hearth_set_error(HEARTH_ERR_INTERNAL, "generate: no token could be sampled (every logit is -inf "
                                  "or NaN%s) after %zu tokens", p->constraint ? ", or the constraint refused all" : "",
                                  g->n_ids);
            goto done;
        }
        append_id(&gs, t.id, t.logprob);
        append_text(&gs, t.text, t.len);
        reason = t.stop;
        if (reason == HEARTH_STOP_EOS || reason == HEARTH_STOP_STRING) break;
        if (gs.cancelled) reason = HEARTH_STOP_CANCELLED;
        if (gs.oom || reason != HEARTH_STOP_NONE) break;
        if (hearth_context_n_past(ctx) >= n_ctx) {   /* no room to decode this token */
            reason = HEARTH_STOP_LENGTH;
            break;
        }
        st = hearth_decode(ctx, &t.id, 1, false);
        if (st != HEARTH_OK) goto done;
    }

    /* ---- whatever is held back was not a stop string ---- */
    if (reason != HEARTH_STOP_STRING && reason != HEARTH_STOP_CANCELLED) {
        const char *tail;
        size_t n_tail = hearth_sequence_finish(seq, &tail, &reason);
        append_text(&gs, tail, n_tail);
    }
    g->t_generate_s = hearth_time_s() - t1;
    if (gs.oom) {
        st = hearth_set_error(HEARTH_ERR_NOMEM, "generate: out of memory after %zu tokens", g->n_ids);
        goto done;
    }
    if (!g->text) {
        g->text = calloc(1, 1);
        if (!g->text) {
            st = hearth_set_error(HEARTH_ERR_NOMEM, "generate: out of memory");
            goto done;
        }
    }
    g->stop_reason = reason;
    st = HEARTH_OK;

done:
    hearth_sequence_free(seq);
    return st;
}

hearth_status hearth_generate_ids(hearth_context *ctx, const hearth_model *model, const int32_t *ids, size_t n,
                                  const hearth_generate_params *pp, hearth_generation *out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "generate: out is NULL");
    memset(out, 0, sizeof *out);
    if (!ctx || !model || (n && !ids))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "generate: NULL context, model or prompt");
    hearth_generate_params p = pp ? *pp : hearth_generate_default_params();
    if (n) {
        out->prompt_ids = malloc(n * sizeof *ids);
        if (!out->prompt_ids) return hearth_set_error(HEARTH_ERR_NOMEM, "generate: out of memory");
        memcpy(out->prompt_ids, ids, n * sizeof *ids);
    }
    out->n_prompt = n;
    hearth_status st = run(ctx, model, &p, out);
    if (st != HEARTH_OK) hearth_generation_clear(out);
    return st;
}

hearth_status hearth_generate(hearth_context *ctx, const hearth_model *model, const char *prompt, size_t len,
                              const hearth_generate_params *pp, hearth_generation *out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "generate: out is NULL");
    memset(out, 0, sizeof *out);
    if (!ctx || !model || (len && !prompt))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "generate: NULL context, model or prompt");
    hearth_generate_params p = pp ? *pp : hearth_generate_default_params();
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    tp.add_special = p.add_special;
    tp.parse_special = p.parse_special;
    int32_t *ids = NULL;
    size_t n = 0;
    hearth_status st = hearth_tokenize(hearth_model_vocab(model), prompt ? prompt : "", len, &tp, &ids, &n);
    if (st != HEARTH_OK) return st;
    out->prompt_ids = ids;
    out->n_prompt = n;
    st = run(ctx, model, &p, out);
    if (st != HEARTH_OK) hearth_generation_clear(out);
    return st;
}
