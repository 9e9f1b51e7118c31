/*
 * sampler.c — the sampler object: settings, RNG, token history, and the
 * default chain (see include/hearth/sample.h for the order and semantics).
 */
#include "hearth/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct hearth_sampler {
    hearth_sampler_params p;
    uint64_t seed;                 /* seed in use */
    hearth_rng rng;

    int32_t *bias_ids;             /* owned copy of p.logit_bias */
    float *bias_vals;
    size_t n_bias;

    int32_t *hist;                 /* recent accepted tokens, oldest first */
    size_t n_hist, cap_hist;

    hearth_candidate *cands;       /* scratch, n_vocab entries */
    size_t cap_cands;

    /* last sample */
    float last_logprob;
    hearth_token_logprob *top;     /* n_probs entries */
    int32_t n_top;
};

hearth_sampler_params hearth_sampler_default_params(void) {
    hearth_sampler_params p;
    memset(&p, 0, sizeof p);
    p.seed = HEARTH_SEED_RANDOM;
    p.temp = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.typical_p = 1.0f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.n_probs = 0;
    return p;
}

/* ========================================================================
 * create / free / reset
 * ======================================================================== */

hearth_status hearth_sampler_create(const hearth_sampler_params *pp, hearth_sampler **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: out is NULL");
    *out = NULL;
    hearth_sampler_params p = pp ? *pp : hearth_sampler_default_params();
    if (isnan(p.temp)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: temperature is NaN");
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: top_p must be in (0, 1], got %g", p.top_p);
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: min_p must be in [0, 1], got %g", p.min_p);
    if (!(p.typical_p > 0.0f && p.typical_p <= 1.0f))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: typical_p must be in (0, 1], got %g", p.typical_p);
    if (!(p.repeat_penalty > 0.0f) || isinf(p.repeat_penalty))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: repeat_penalty must be > 0, got %g",
                                p.repeat_penalty);
    if (p.repeat_last_n < -1)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: repeat_last_n must be >= -1, got %d",
                                (int)p.repeat_last_n);
    if (!isfinite(p.frequency_penalty) || !isfinite(p.presence_penalty))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: frequency/presence penalties must be finite");
    if (p.n_probs < 0 || p.n_probs > 1000)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: n_probs must be in [0, 1000], got %d",
                                (int)p.n_probs);
    if (p.n_logit_bias && !p.logit_bias)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "sampler: n_logit_bias > 0 but logit_bias is NULL");

    hearth_sampler *s = calloc(1, sizeof *s);
    if (!s) return hearth_set_error(HEARTH_ERR_NOMEM, "sampler: out of memory");
    s->p = p;
    s->p.logit_bias = NULL;
    if (p.n_logit_bias) {
        s->bias_ids = malloc(p.n_logit_bias * sizeof *s->bias_ids);
        s->bias_vals = malloc(p.n_logit_bias * sizeof *s->bias_vals);
        if (!s->bias_ids || !s->bias_vals) {
            hearth_sampler_free(s);
            return hearth_set_error(HEARTH_ERR_NOMEM, "sampler: out of memory");
        }
        for (size_t i = 0; i < p.n_logit_bias; i++) {
            s->bias_ids[i] = p.logit_bias[i].id;
            s->bias_vals[i] = p.logit_bias[i].bias;
        }
        s->n_bias = p.n_logit_bias;
    }
    if (p.n_probs) {
        s->top = calloc((size_t)p.n_probs, sizeof *s->top);
        if (!s->top) {
            hearth_sampler_free(s);
            return hearth_set_error(HEARTH_ERR_NOMEM, "sampler: out of memory");
        }
    }
    s->seed = p.seed == HEARTH_SEED_RANDOM ? hearth_seed_from_time() : p.seed;
    hearth_rng_seed(&s->rng, s->seed);
    s->last_logprob = NAN;
    *out = s;
    return HEARTH_OK;
}

void hearth_sampler_free(hearth_sampler *s) {
    if (!s) return;
    free(s->bias_ids);
    free(s->bias_vals);
    free(s->hist);
    free(s->cands);
    free(s->top);
    free(s);
}

void hearth_sampler_reset(hearth_sampler *s) {
    if (!s) return;
    s->n_hist = 0;
    hearth_rng_seed(&s->rng, s->seed);
    s->last_logprob = NAN;
    s->n_top = 0;
}

uint64_t hearth_sampler_seed(const hearth_sampler *s) { return s ? s->seed : 0; }

/* ========================================================================
 * history
 * ======================================================================== */

void hearth_sampler_accept(hearth_sampler *s, int32_t id) {
    if (!s || s->p.repeat_last_n == 0) return;
    size_t window = s->p.repeat_last_n < 0 ? SIZE_MAX : (size_t)s->p.repeat_last_n;
    if (s->n_hist == window) {   /* full window: drop the oldest */
        memmove(s->hist, s->hist + 1, (s->n_hist - 1) * sizeof *s->hist);
        s->n_hist--;
    }
    if (s->n_hist == s->cap_hist) {
        size_t cap = s->cap_hist ? s->cap_hist * 2 : 64;
        if (window != SIZE_MAX && cap > window) cap = window;
        int32_t *h = realloc(s->hist, cap * sizeof *h);
        if (!h) return;   /* out of memory: the history just stops growing */
        s->hist = h;
        s->cap_hist = cap;
    }
    s->hist[s->n_hist++] = id;
}

/* ========================================================================
 * log-probabilities of the original logits
 * ======================================================================== */

static void record_logprobs(hearth_sampler *s, const float *logits, int32_t n_vocab, int32_t chosen) {
    float max = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] > max) max = logits[i];
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] > -INFINITY) sum += exp((double)logits[i] - max);
    /* every logit -inf (all banned): no distribution; the chosen token's log-probability is -inf */
    double lse = sum > 0 ? max + log(sum) : INFINITY;
    s->last_logprob = chosen >= 0 ? (float)(logits[chosen] - lse) : NAN;
    s->n_top = 0;
    if (s->p.n_probs <= 0 || !(max > -INFINITY)) return;
    /* top n by original logit: reuse the scratch candidates and top-k */
    for (int32_t i = 0; i < n_vocab; i++) {
        s->cands[i].id = i;
        s->cands[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
    }
    hearth_candidates c = {s->cands, (size_t)n_vocab, false};
    hearth_sample_top_k(&c, s->p.n_probs);
    for (size_t i = 0; i < c.size; i++) {
        s->top[i].id = c.data[i].id;
        s->top[i].logprob = (float)(c.data[i].logit - lse);
    }
    s->n_top = (int32_t)c.size;
}

float hearth_sampler_last_logprob(const hearth_sampler *s) { return s ? s->last_logprob : NAN; }

int32_t hearth_sampler_last_top(const hearth_sampler *s, hearth_token_logprob *out, int32_t n) {
    if (!s || !out || n <= 0) return 0;
    int32_t k = n < s->n_top ? n : s->n_top;
    memcpy(out, s->top, (size_t)k * sizeof *out);
    return k;
}

/* ========================================================================
 * the chain
 * ======================================================================== */

int32_t hearth_sampler_sample(hearth_sampler *s, const float *logits, int32_t n_vocab) {
    if (!s || !logits || n_vocab <= 0) return -1;
    if ((size_t)n_vocab > s->cap_cands) {
        hearth_candidate *c = realloc(s->cands, (size_t)n_vocab * sizeof *c);
        if (!c) {
            hearth_set_error(HEARTH_ERR_NOMEM, "sampler: out of memory for %d candidates", (int)n_vocab);
            return -1;
        }
        s->cands = c;
        s->cap_cands = (size_t)n_vocab;
    }
    for (int32_t i = 0; i < n_vocab; i++) {
        s->cands[i].id = i;
        s->cands[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
        s->cands[i].p = 0.0f;
    }
    hearth_candidates c = {s->cands, (size_t)n_vocab, false};

    /* logit bias, then penalties over the recent history */
    hearth_sample_logit_bias(&c, s->bias_ids, s->bias_vals, s->n_bias);
    hearth_sample_penalties(&c, s->hist, s->n_hist, s->p.repeat_penalty, s->p.frequency_penalty,
                            s->p.presence_penalty);

    int32_t chosen = -1;
    if (s->p.temp <= 0.0f) {
        /* greedy */
        int64_t i = hearth_sample_argmax(&c);
        if (i >= 0 && c.data[i].logit > -INFINITY) chosen = c.data[i].id;
    } else {
        hearth_sample_top_k(&c, s->p.top_k);
        hearth_sample_typical(&c, s->p.typical_p, 1);
        hearth_sample_top_p(&c, s->p.top_p, 1);
        hearth_sample_min_p(&c, s->p.min_p, 1);
        hearth_sample_temp(&c, s->p.temp);
        hearth_sample_softmax(&c);
        int64_t i = hearth_sample_draw(&c, &s->rng);
        if (i >= 0) chosen = c.data[i].id;
    }
    record_logprobs(s, logits, n_vocab, chosen);
    return chosen;
}
