/*
 * sample.h — choosing the next token from a row of logits.
 *
 * Two levels:
 *  - stage functions (hearth_sample_*) that transform a candidates array
 *    (id, logit, p) in place; each does exactly what its comment says and
 *    can be combined freely;
 *  - a sampler (hearth_sampler) that owns the settings, the random number
 *    generator and the token history, and runs the default chain:
 *
 *        logit bias -> penalties (repeat, frequency, presence) -> top-k
 *        -> typical-p -> top-p -> min-p -> temperature -> draw
 *
 *    This is llama.cpp's default order. With temp <= 0 the chain after the
 *    penalties is replaced by greedy argmax (ties go to the lowest id).
 *
 * Randomness: xoshiro256** seeded by splitmix64 from a 64-bit seed; the same
 * seed, settings, logits and history give the same tokens on every machine.
 * HEARTH_SEED_RANDOM (also -1 cast to uint64_t) takes a seed from the clock.
 *
 * A sampler is used by one thread at a time.
 */
#ifndef HEARTH_SAMPLE_H
#define HEARTH_SAMPLE_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ---- candidates and stages ---------------------------------------------- */
typedef struct hearth_candidate {
    int32_t id;
    float logit;
    float p;      /* probability; valid after hearth_sample_softmax() */
} hearth_candidate;

typedef struct hearth_candidates {
    hearth_candidate *data;   /* borrowed; stages only shrink `size` and reorder */
    size_t size;
    bool sorted;              /* data is in descending logit order (ties: lower id first) */
} hearth_candidates;

/* Sorts by descending logit (ties: lower id first) and sets p = softmax. */
void hearth_sample_softmax(hearth_candidates *c);
/* Adds bias[i] to the logit of token ids[i] (a bias of -INFINITY bans it).
 * Ids not in the array are ignored. Expects the array in id order
 * (data[i].id == i) as built from a logits row; otherwise searches. */
void hearth_sample_logit_bias(hearth_candidates *c, const int32_t *ids, const float *bias, size_t n);
/* Penalties over the tokens in last[0..n_last) (the recent history):
 * for every token that occurs there `count` times,
 *   repeat:   logit > 0 ? logit / repeat : logit * repeat   (llama.cpp / CTRL)
 *   then:     logit -= count * freq + (count > 0) * presence (OpenAI)
 * repeat = 1, freq = 0, presence = 0 change nothing. */
void hearth_sample_penalties(hearth_candidates *c, const int32_t *last, size_t n_last,
                             float repeat, float freq, float presence);
/* Keeps the k largest logits (k <= 0 or k >= size: keeps all); sorts. */
void hearth_sample_top_k(hearth_candidates *c, int32_t k);
/* Keeps the smallest prefix (by descending probability) whose probability
 * mass is >= p, and at least min_keep candidates. p >= 1: no-op. */
void hearth_sample_top_p(hearth_candidates *c, float p, size_t min_keep);
/* Keeps candidates whose probability is >= p * (largest probability), and at
 * least min_keep. p <= 0: no-op. */
void hearth_sample_min_p(hearth_candidates *c, float p, size_t min_keep);
/* Locally typical sampling (Meister et al. 2022): ranks candidates by
 * |(-log p) - entropy| and keeps the smallest such set with mass >= p (at
 * least min_keep); the survivors are left sorted by logit. p >= 1: no-op. */
void hearth_sample_typical(hearth_candidates *c, float p, size_t min_keep);
/* Divides every logit by t (t > 0). */
void hearth_sample_temp(hearth_candidates *c, float t);
/* Index into c->data of the largest logit (ties: lowest id); -1 if empty. */
int64_t hearth_sample_argmax(const hearth_candidates *c);

/* ---- random numbers ----------------------------------------------------- */
#define HEARTH_SEED_RANDOM UINT64_MAX

typedef struct hearth_rng {
    uint64_t s[4];
} hearth_rng;

void hearth_rng_seed(hearth_rng *r, uint64_t seed);
uint64_t hearth_rng_next(hearth_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double hearth_rng_uniform(hearth_rng *r);
/* A seed from the clock (for HEARTH_SEED_RANDOM). */
uint64_t hearth_seed_from_time(void);

/* Draws an index into c->data from the probabilities p (call
 * hearth_sample_softmax first). Returns -1 if empty. */
int64_t hearth_sample_draw(const hearth_candidates *c, hearth_rng *r);

/* ---- the sampler -------------------------------------------------------- */
typedef struct hearth_logit_bias {
    int32_t id;
    float bias;     /* added to the logit; -INFINITY bans the token */
} hearth_logit_bias;

typedef struct hearth_sampler_params {
    uint64_t seed;            /* HEARTH_SEED_RANDOM (default): from the clock */
    float temp;               /* 0.8; <= 0: greedy */
    int32_t top_k;            /* 40; <= 0: off */
    float top_p;              /* 0.95; 1: off */
    float min_p;              /* 0.05; 0: off */
    float typical_p;          /* 1.0 (off) */
    float repeat_penalty;     /* 1.0 (off) */
    int32_t repeat_last_n;    /* 64: history window for all penalties; 0: off; -1: whole history */
    float frequency_penalty;  /* 0 */
    float presence_penalty;   /* 0 */
    const hearth_logit_bias *logit_bias;   /* copied by create; may be NULL */
    size_t n_logit_bias;
    int32_t n_probs;          /* how many top alternatives to keep per sample (logprobs); 0 */
} hearth_sampler_params;

hearth_sampler_params hearth_sampler_default_params(void);

typedef struct hearth_sampler hearth_sampler;

/* Fails with HEARTH_ERR_INVALID_ARG on a setting out of range (message names it). */
hearth_status hearth_sampler_create(const hearth_sampler_params *p, hearth_sampler **out);
void hearth_sampler_free(hearth_sampler *s);   /* NULL is a no-op */
/* Forgets the history and reseeds with the seed used at create. */
void hearth_sampler_reset(hearth_sampler *s);
/* The seed actually in use (the clock's when HEARTH_SEED_RANDOM was asked). */
uint64_t hearth_sampler_seed(const hearth_sampler *s);

/* Chooses a token from logits[0..n_vocab) (not modified). Does not add it
 * to the history: call hearth_sampler_accept() with the token you keep.
 * Returns -1 only if every token is banned (all logits -inf) or n_vocab <= 0. */
int32_t hearth_sampler_sample(hearth_sampler *s, const float *logits, int32_t n_vocab);
/* Appends id to the history that the penalties look at. */
void hearth_sampler_accept(hearth_sampler *s, int32_t id);

/* For the last hearth_sampler_sample(): log-softmax of the ORIGINAL logits
 * (before bias, penalties, truncation and temperature) at the chosen token. */
float hearth_sampler_last_logprob(const hearth_sampler *s);

typedef struct hearth_token_logprob {
    int32_t id;
    float logprob;
} hearth_token_logprob;

/* The top alternatives (by original logit, descending; ties: lower id) of the
 * last sample with their log-softmax values: copies min(n, n_probs) into out
 * and returns how many. */
int32_t hearth_sampler_last_top(const hearth_sampler *s, hearth_token_logprob *out, int32_t n);

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
