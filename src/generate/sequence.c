/*
 * sequence.c — the sequence step (include/hearth/generate.h): what happens
 * to one sequence after each forward pass — sample (constraint masking),
 * end-of-generation, detokenize, constraint advance, stop strings,
 * max_tokens — shared by hearth_generate and the server's scheduler.
 */
#include "hearth/generate.h"
#include "hearth/tokenizer.h"
#include "core/buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REDRAWS 8   /* redraws without a refused token before masking the whole vocabulary */

struct hearth_sequence {
    const hearth_vocab *v;
    int32_t n_vocab;
    hearth_sequence_params p;   /* p.stop is not kept (the matcher copied the strings) */
    hearth_sampler *smp;
    hearth_detok *dt;
    hearth_stop_matcher *sm;
    float *scratch;             /* n_vocab masked logits, made on the first refusal */
    int32_t n_gen;
    hearth_buf tail;            /* what hearth_sequence_finish returns */
};

hearth_sequence_params hearth_sequence_default_params(void) {
    hearth_sequence_params p;
    memset(&p, 0, sizeof p);
    p.sampling = hearth_sampler_default_params();
    p.max_tokens = -1;
    return p;
}

hearth_status hearth_sequence_create(const hearth_vocab *v, int32_t n_vocab, const hearth_sequence_params *p,
                                     hearth_sequence **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sequence: out is NULL");
    *out = NULL;
    if (!v || n_vocab <= 0 || !p || (p->n_stop && !p->stop))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sequence: needs a vocabulary, n_vocab > 0 and params");
    hearth_sequence *s = calloc(1, sizeof *s);
    if (!s) return hearth_set_error(HEARTH_ERR_NOMEM, "sequence: out of memory");
    s->v = v;
    s->n_vocab = n_vocab;
    s->p = *p;
    s->p.stop = NULL;
    hearth_status st = hearth_sampler_create(&p->sampling, &s->smp);
    if (st != HEARTH_OK) {
        free(s);
        return st;
    }
    s->dt = hearth_detok_create(v, false);
    s->sm = hearth_stop_matcher_create(p->stop, p->stop ? p->n_stop : 0);
    if (!s->dt || !s->sm) {
        hearth_sequence_free(s);
        return hearth_set_error(HEARTH_ERR_NOMEM, "sequence: out of memory");
    }
    *out = s;
    return HEARTH_OK;
}

void hearth_sequence_free(hearth_sequence *s) {
    if (!s) return;
    hearth_sampler_free(s->smp);
    hearth_detok_free(s->dt);
    hearth_stop_matcher_free(s->sm);
    free(s->scratch);
    hearth_buf_free(&s->tail);
    free(s);
}

void hearth_sequence_accept_prompt(hearth_sequence *s, const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++) hearth_sampler_accept(s->smp, ids[i]);
}

hearth_sampler *hearth_sequence_sampler(hearth_sequence *s) { return s->smp; }

int32_t hearth_sequence_n_generated(const hearth_sequence *s) { return s->n_gen; }

/* ==== sampling under a constraint ==================================================== */
/* the token's own text (hearth_token_to_piece, up to its first NUL) */
static const char *token_text(const hearth_sequence *s, int32_t id, char buf[256]) {
    if (s->p.token_texts) return s->p.token_texts[id] ? s->p.token_texts[id] : "";
    int64_t n = hearth_token_to_piece(s->v, id, false, buf, 255);
    if (n < 0) n = 0;
    if (n > 255) n = 255;
    buf[n] = 0;
    return buf;
}

/* a token the constraint allows: end-of-generation only once the value may
 * end; otherwise a token with text that keeps the output acceptable */
static bool allowed(const hearth_sequence *s, int32_t id) {
    const hearth_constraint *c = s->p.constraint;
    if (hearth_vocab_is_eog(s->v, id)) return hearth_constraint_complete(c) != HEARTH_CONSTRAINT_OPEN;
    char buf[256];
    const char *t = token_text(s, id, buf);
    return *t && hearth_constraint_allows(c, t, strlen(t));
}

static int32_t sample(hearth_sequence *s, const float *logits) {
    int32_t nv = s->n_vocab;
    int32_t id = hearth_sampler_sample(s->smp, logits, nv);
    if (!s->p.constraint || id < 0 || allowed(s, id)) return id;
    if (!s->scratch && !(s->scratch = malloc((size_t)nv * sizeof(float)))) return -1;
    memcpy(s->scratch, logits, (size_t)nv * sizeof(float));
    /* a constraint with its own fast mask: mask at once (each redraw costs a
     * full softmax over the vocabulary) */
    uint32_t *bits = malloc(((size_t)nv + 31) / 32 * sizeof *bits);
    if (bits && hearth_constraint_mask(s->p.constraint, bits, nv)) {
        for (int32_t t = 0; t < nv; t++)
            if (!((bits[t >> 5] >> (t & 31)) & 1)) s->scratch[t] = -INFINITY;
        free(bits);
        return hearth_sampler_sample(s->smp, s->scratch, nv);
    }
    free(bits);
    /* a few redraws without the refused tokens, then mask every refused token */
    for (int tries = 0; tries < REDRAWS; tries++) {
        s->scratch[id] = -INFINITY;
        id = hearth_sampler_sample(s->smp, s->scratch, nv);
        if (id < 0 || allowed(s, id)) return id;
    }
    for (int32_t t = 0; t < nv; t++)
        if (s->scratch[t] != -INFINITY && !allowed(s, t)) s->scratch[t] = -INFINITY;
    return hearth_sampler_sample(s->smp, s->scratch, nv);
}

/* ==== the step ========================================================================= */
void hearth_sequence_step(hearth_sequence *s, const float *logits, hearth_sequence_token *out) {
    memset(out, 0, sizeof *out);
    out->text = "";
    int32_t id = logits ? sample(s, logits) : -1;
    out->id = id;
    if (id < 0) return;   /* nothing could be sampled: the caller says why */
    hearth_sampler_accept(s->smp, id);
    s->n_gen++;
    out->logprob = hearth_sampler_last_logprob(s->smp);
    out->eog = hearth_vocab_is_eog(s->v, id);
    if (out->eog && !s->p.ignore_eos) {
        out->stop = HEARTH_STOP_EOS;
        return;
    }
    const char *piece;
    size_t n_piece = hearth_detok_push(s->dt, id, &piece);
    bool broken = s->p.constraint && n_piece && !hearth_constraint_advance(s->p.constraint, piece, n_piece);
    bool hit = hearth_stop_matcher_push(s->sm, piece, n_piece, &out->text, &out->len);
    if (hit) out->stop = HEARTH_STOP_STRING;
    else if (broken || (s->p.constraint && hearth_constraint_complete(s->p.constraint) == HEARTH_CONSTRAINT_DONE))
        out->stop = HEARTH_STOP_CONSTRAINT;
    else if (s->p.max_tokens >= 0 && s->n_gen >= s->p.max_tokens) out->stop = HEARTH_STOP_LENGTH;
}

size_t hearth_sequence_finish(hearth_sequence *s, const char **text, hearth_stop_reason *stop) {
    hearth_buf_reset(&s->tail);
    const char *tail, *emit;
    size_t n_tail, n_emit;
    n_tail = hearth_detok_flush(s->dt, &tail);
    if (hearth_stop_matcher_push(s->sm, tail, n_tail, &emit, &n_emit) && stop) *stop = HEARTH_STOP_STRING;
    hearth_buf_put(&s->tail, emit, n_emit);
    hearth_stop_matcher_flush(s->sm, &emit, &n_emit);
    hearth_buf_put(&s->tail, emit, n_emit);
    *text = s->tail.data && !s->tail.oom ? s->tail.data : "";
    return s->tail.oom ? 0 : s->tail.len;
}
