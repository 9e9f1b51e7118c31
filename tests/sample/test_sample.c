/*
 * test_sample.c — sampling stages and the sampler on hand-made logits.
 */
#include "harness.h"
#include "hearth/sample.h"

#include <math.h>
#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------ */

#define MAXV 64
static hearth_candidate buf[MAXV];

static hearth_candidates make(const float *logits, size_t n) {
    for (size_t i = 0; i < n; i++) {
        buf[i].id = (int32_t)i;
        buf[i].logit = logits[i];
        buf[i].p = 0;
    }
    hearth_candidates c = {buf, n, false};
    return c;
}

static bool has_id(const hearth_candidates *c, int32_t id) {
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].id == id) return true;
    return false;
}

/* softmax of logits/t into p (reference, straight from the definition) */
static void ref_softmax(const float *l, size_t n, double t, double *p) {
    double m = -INFINITY, s = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, l[i] / t);
    for (size_t i = 0; i < n; i++) s += (p[i] = exp(l[i] / t - m));
    for (size_t i = 0; i < n; i++) p[i] /= s;
}

static double entropy(const double *p, size_t n) {
    double h = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] > 0) h -= p[i] * log(p[i]);
    return h;
}

static hearth_sampler_params plain_params(uint64_t seed) {
    hearth_sampler_params p = hearth_sampler_default_params();
    p.seed = seed;
    p.temp = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

/* ---- stages ------------------------------------------------------------- */

TEST(softmax_sorts_and_normalises) {
    float l[] = {0.5f, 2.0f, -1.0f, 2.0f, 0.0f};
    hearth_candidates c = make(l, 5);
    hearth_sample_softmax(&c);
    double p[5];
    ref_softmax(l, 5, 1.0, p);
    double sum = 0;
    for (size_t i = 0; i < c.size; i++) {
        sum += c.data[i].p;
        CHECK_NEAR(c.data[i].p, p[c.data[i].id], 1e-6);
        if (i) CHECK(c.data[i - 1].logit >= c.data[i].logit);
    }
    CHECK_NEAR(sum, 1.0, 1e-6);
    CHECK_EQ_INT(c.data[0].id, 1);   /* tie 1 vs 3: lower id first */
    CHECK_EQ_INT(c.data[1].id, 3);
}

/* a whole vocabulary (the linear-time sort's case): descending logits, ties
 * by lower id, signed zeros, -inf (banned) last */
TEST(vocabulary_sort_orders_like_the_rule) {
    const size_t n = 32000;
    hearth_candidate *d = malloc(n * sizeof *d);
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        float l = (float)((int)(x >> 40) % 2000 - 1000) / 64.0f;   /* many exact ties */
        if (i % 997 == 0) l = -INFINITY;
        if (i % 1009 == 0) l = -0.0f;
        if (i % 1013 == 0) l = 1e30f;
        d[i] = (hearth_candidate){(int32_t)i, l, 0};
    }
    hearth_candidates c = {d, n, false};
    hearth_sample_softmax(&c);
    int bad = 0;
    for (size_t i = 1; i < n; i++) {
        const hearth_candidate *a = &d[i - 1], *b = &d[i];
        bool ok = a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
        bad += !ok;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(d[0].logit == 1e30f && d[0].id == 0);
    CHECK(isinf(d[n - 1].logit) && d[n - 1].p == 0.0f);
    free(d);
}

TEST(top_k_keeps_exactly_k_largest) {
    float l[40];
    for (int i = 0; i < 40; i++) l[i] = (float)((i * 17) % 40) - 7.5f;   /* a permutation */
    for (int k = 1; k <= 40; k += 3) {
        hearth_candidates c = make(l, 40);
        hearth_sample_top_k(&c, k);
        CHECK_EQ_INT(c.size, k);
        /* the kept ones are the k largest: every kept logit >= every dropped one */
        float min_kept = INFINITY;
        for (size_t i = 0; i < c.size; i++) min_kept = fminf(min_kept, c.data[i].logit);
        int n_ge = 0;
        for (int i = 0; i < 40; i++) n_ge += l[i] >= min_kept;
        CHECK_EQ_INT(n_ge, k);
        for (size_t i = 1; i < c.size; i++) CHECK(c.data[i - 1].logit >= c.data[i].logit);
    }
    hearth_candidates c = make(l, 40);
    hearth_sample_top_k(&c, 0);
    CHECK_EQ_INT(c.size, 40);
    c = make(l, 40);
    hearth_sample_top_k(&c, 100);
    CHECK_EQ_INT(c.size, 40);
    /* ties at the boundary go to the lower id */
    float t[] = {1, 3, 3, 3, 0};
    c = make(t, 5);
    hearth_sample_top_k(&c, 2);
    CHECK(has_id(&c, 1) && has_id(&c, 2) && !has_id(&c, 3));
}

TEST(top_p_smallest_set_with_mass) {
    float l[] = {logf(0.15f), logf(0.5f), logf(0.05f), logf(0.3f)};
    hearth_candidates c = make(l, 4);
    hearth_sample_top_p(&c, 0.75f, 1);
    CHECK_EQ_INT(c.size, 2);
    CHECK(has_id(&c, 1) && has_id(&c, 3));
    c = make(l, 4);
    hearth_sample_top_p(&c, 0.85f, 1);
    CHECK_EQ_INT(c.size, 3);
    CHECK(!has_id(&c, 2));
    c = make(l, 4);
    hearth_sample_top_p(&c, 0.4f, 1);
    CHECK_EQ_INT(c.size, 1);
    CHECK_EQ_INT(c.data[0].id, 1);
    c = make(l, 4);
    hearth_sample_top_p(&c, 0.4f, 3);   /* min_keep */
    CHECK_EQ_INT(c.size, 3);
    c = make(l, 4);
    hearth_sample_top_p(&c, 1.0f, 1);
    CHECK_EQ_INT(c.size, 4);

    /* property on pseudo-random logits: mass(kept) >= p > mass(kept minus the last) */
    hearth_rng r;
    hearth_rng_seed(&r, 7);
    for (int trial = 0; trial < 50; trial++) {
        float x[MAXV];
        for (int i = 0; i < MAXV; i++) x[i] = (float)(hearth_rng_uniform(&r) * 8.0 - 4.0);
        double p[MAXV];
        ref_softmax(x, MAXV, 1.0, p);
        float top_p = (float)(0.05 + 0.9 * hearth_rng_uniform(&r));
        c = make(x, MAXV);
        hearth_sample_top_p(&c, top_p, 1);
        double mass = 0, min_kept = 1;
        for (size_t i = 0; i < c.size; i++) {
            mass += p[c.data[i].id];
            min_kept = fmin(min_kept, p[c.data[i].id]);
        }
        CHECK_MSG(mass >= top_p - 1e-6, "mass %g < p %g", mass, top_p);
        CHECK_MSG(mass - min_kept < top_p + 1e-6, "set not minimal: %g - %g >= %g", mass, min_kept, top_p);
        /* nothing dropped is more probable than something kept */
        for (int i = 0; i < MAXV; i++)
            if (!has_id(&c, i)) CHECK(p[i] <= min_kept + 1e-9);
    }
}

TEST(min_p_threshold) {
    float l[] = {logf(0.05f), logf(0.5f), logf(0.15f), logf(0.3f)};
    hearth_candidates c = make(l, 4);
    hearth_sample_min_p(&c, 0.25f, 1);   /* threshold 0.125 */
    CHECK_EQ_INT(c.size, 3);
    CHECK(!has_id(&c, 0));
    c = make(l, 4);
    hearth_sample_min_p(&c, 0.7f, 1);    /* threshold 0.35 */
    CHECK_EQ_INT(c.size, 1);
    CHECK_EQ_INT(c.data[0].id, 1);
    c = make(l, 4);
    hearth_sample_min_p(&c, 0.0f, 1);
    CHECK_EQ_INT(c.size, 4);
}

TEST(typical_prefers_typical_tokens) {
    /* p = 0.4, 0.2, 0.2, 0.2: entropy 1.332; -log 0.4 = 0.916 (|.|=0.416),
     * -log 0.2 = 1.609 (|.|=0.277): the three 0.2 tokens are the typical ones */
    float l[] = {logf(0.2f), logf(0.4f), logf(0.2f), logf(0.2f)};
    hearth_candidates c = make(l, 4);
    hearth_sample_typical(&c, 0.5f, 1);
    CHECK_EQ_INT(c.size, 3);
    CHECK(!has_id(&c, 1));   /* the most probable token is dropped */
    for (size_t i = 1; i < c.size; i++) CHECK(c.data[i - 1].logit >= c.data[i].logit);
    /* p = 0.7, 0.1 x3: the 0.7 token is the typical one */
    float m[] = {logf(0.1f), logf(0.1f), logf(0.7f), logf(0.1f)};
    c = make(m, 4);
    hearth_sample_typical(&c, 0.5f, 1);
    CHECK_EQ_INT(c.size, 1);
    CHECK_EQ_INT(c.data[0].id, 2);
    c = make(m, 4);
    hearth_sample_typical(&c, 1.0f, 1);
    CHECK_EQ_INT(c.size, 4);
}

TEST(temperature_changes_entropy) {
    float l[] = {1.0f, 2.5f, 0.3f, -1.0f, 2.0f};
    double p1[5], plo[5], phi[5];
    ref_softmax(l, 5, 1.0, p1);
    hearth_candidates c = make(l, 5);
    hearth_sample_temp(&c, 0.5f);
    hearth_sample_softmax(&c);
    for (size_t i = 0; i < 5; i++) plo[c.data[i].id] = c.data[i].p;
    c = make(l, 5);
    hearth_sample_temp(&c, 2.0f);
    hearth_sample_softmax(&c);
    for (size_t i = 0; i < 5; i++) phi[c.data[i].id] = c.data[i].p;
    CHECK(entropy(plo, 5) < entropy(p1, 5) - 0.1);
    CHECK(entropy(phi, 5) > entropy(p1, 5) + 0.1);
    double ref[5];
    ref_softmax(l, 5, 0.5, ref);
    for (int i = 0; i < 5; i++) CHECK_NEAR(plo[i], ref[i], 1e-6);
}

TEST(penalties_change_the_right_logits) {
    float l[] = {2.0f, -2.0f, 1.0f, 0.5f};
    int32_t hist[] = {0, 1, 1};
    hearth_candidates c = make(l, 4);
    hearth_sample_penalties(&c, hist, 3, 2.0f, 0.0f, 0.0f);
    CHECK_NEAR(c.data[0].logit, 1.0, 1e-6);    /* positive: divided */
    CHECK_NEAR(c.data[1].logit, -4.0, 1e-6);   /* negative: multiplied */
    CHECK_NEAR(c.data[2].logit, 1.0, 1e-6);    /* not in history */
    CHECK_NEAR(c.data[3].logit, 0.5, 1e-6);
    c = make(l, 4);
    hearth_sample_penalties(&c, hist, 3, 1.0f, 0.5f, 1.0f);
    CHECK_NEAR(c.data[0].logit, 2.0 - 0.5 - 1.0, 1e-6);        /* count 1 */
    CHECK_NEAR(c.data[1].logit, -2.0 - 2 * 0.5 - 1.0, 1e-6);   /* count 2 */
    CHECK_NEAR(c.data[2].logit, 1.0, 1e-6);
    c = make(l, 4);
    hearth_sample_penalties(&c, hist, 3, 1.0f, 0.0f, 0.0f);   /* neutral */
    for (int i = 0; i < 4; i++) CHECK_NEAR(c.data[i].logit, l[i], 0);
}

TEST(logit_bias_bans_and_boosts) {
    float l[] = {1.0f, 3.0f, 2.0f};
    int32_t ids[] = {1, 0};
    float b[] = {-INFINITY, 5.0f};
    hearth_candidates c = make(l, 3);
    hearth_sample_logit_bias(&c, ids, b, 2);
    CHECK(isinf(c.data[1].logit) && c.data[1].logit < 0);
    CHECK_NEAR(c.data[0].logit, 6.0, 1e-6);
    hearth_sample_softmax(&c);
    CHECK_EQ_INT(c.data[2].id, 1);
    CHECK_NEAR(c.data[2].p, 0.0, 0);
}

/* ---- the sampler -------------------------------------------------------- */

TEST(greedy_is_argmax_lowest_id_on_ties) {
    hearth_sampler_params p = hearth_sampler_default_params();
    p.temp = 0.0f;
    hearth_sampler *s = NULL;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_OK);
    float l[] = {1.0f, 3.0f, 3.0f, 2.0f};
    CHECK_EQ_INT(hearth_sampler_sample(s, l, 4), 1);
    float m[] = {-5.0f, -1.0f, -0.5f, -7.0f};
    CHECK_EQ_INT(hearth_sampler_sample(s, m, 4), 2);
    hearth_sampler_free(s);

    /* a banned token is never chosen, even greedily */
    hearth_logit_bias ban = {1, -INFINITY};
    p.logit_bias = &ban;
    p.n_logit_bias = 1;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_OK);
    CHECK_EQ_INT(hearth_sampler_sample(s, l, 4), 2);
    hearth_sampler_free(s);
}

TEST(banned_token_never_sampled) {
    hearth_sampler_params p = plain_params(11);
    hearth_logit_bias ban = {0, -INFINITY};
    p.logit_bias = &ban;
    p.n_logit_bias = 1;
    hearth_sampler *s = NULL;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_OK);
    float l[] = {5.0f, 0.0f, 0.0f};
    int hits = 0;
    for (int i = 0; i < 2000; i++) hits += hearth_sampler_sample(s, l, 3) == 0;
    CHECK_EQ_INT(hits, 0);
    float all[] = {1.0f};
    CHECK_EQ_INT(hearth_sampler_sample(s, all, 1), -1);   /* every token banned */
    hearth_sampler_free(s);
}

TEST(repeat_window_is_last_n) {
    hearth_sampler_params p = hearth_sampler_default_params();
    p.temp = 0.0f;
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 2;
    hearth_sampler *s = NULL;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_OK);
    float l[] = {1.0f, 0.9f, 0.0f, 0.0f, 0.0f, 0.0f};
    CHECK_EQ_INT(hearth_sampler_sample(s, l, 6), 0);
    hearth_sampler_accept(s, 0);
    CHECK_EQ_INT(hearth_sampler_sample(s, l, 6), 1);   /* 0 penalised to 0.5 */
    hearth_sampler_accept(s, 4);
    CHECK_EQ_INT(hearth_sampler_sample(s, l, 6), 1);   /* 0 still in the window of 2 */
    hearth_sampler_accept(s, 5);
    CHECK_EQ_INT(hearth_sampler_sample(s, l, 6), 0);   /* 0 has left the window */
    hearth_sampler_reset(s);
    CHECK_EQ_INT(hearth_sampler_sample(s, l, 6), 0);
    hearth_sampler_free(s);
}

static void draw_seq(uint64_t seed, int32_t *out, int n) {
    hearth_sampler_params p = hearth_sampler_default_params();
    p.seed = seed;
    hearth_sampler *s = NULL;
    hearth_sampler_create(&p, &s);
    float l[32];
    for (int i = 0; i < 32; i++) l[i] = (float)(i % 7) * 0.3f;
    for (int i = 0; i < n; i++) {
        out[i] = hearth_sampler_sample(s, l, 32);
        hearth_sampler_accept(s, out[i]);
    }
    hearth_sampler_free(s);
}

TEST(same_seed_same_tokens) {
    int32_t a[200], b[200], c[200];
    draw_seq(42, a, 200);
    draw_seq(42, b, 200);
    draw_seq(43, c, 200);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* the clock seed is reported and replays the same draws */
    hearth_sampler_params p = hearth_sampler_default_params();
    hearth_sampler *s = NULL;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_OK);
    uint64_t seed = hearth_sampler_seed(s);
    CHECK(seed != HEARTH_SEED_RANDOM);
    hearth_sampler_free(s);
    int32_t d[200], e[200];
    draw_seq(seed, d, 200);
    draw_seq(seed, e, 200);
    CHECK(memcmp(d, e, sizeof d) == 0);
}

static void check_frequencies(float temp) {
    float l[] = {0.0f, 1.0f, -0.5f, 2.0f, 0.7f};
    double p[5];
    ref_softmax(l, 5, temp, p);
    hearth_sampler_params sp = plain_params(1234);
    sp.temp = temp;
    hearth_sampler *s = NULL;
    CHECK_EQ_INT(hearth_sampler_create(&sp, &s), HEARTH_OK);
    int counts[5] = {0};
    const int N = 20000;
    for (int i = 0; i < N; i++) {
        int32_t id = hearth_sampler_sample(s, l, 5);
        CHECK(id >= 0 && id < 5);
        if (id >= 0 && id < 5) counts[id]++;
    }
    /* binomial sd <= 0.0036 at N = 20000; 0.02 is over 5 sd */
    for (int i = 0; i < 5; i++)
        CHECK_MSG(fabs((double)counts[i] / N - p[i]) < 0.02, "temp %g token %d: freq %g vs p %g", temp, i,
                  (double)counts[i] / N, p[i]);
    hearth_sampler_free(s);
}

TEST(frequencies_match_probabilities) {
    check_frequencies(1.0f);
    check_frequencies(0.5f);
    check_frequencies(1.7f);
}

TEST(sampler_truncation_limits_support) {
    float l[10];
    for (int i = 0; i < 10; i++) l[i] = (float)i * 0.1f;   /* nearly flat */
    hearth_sampler_params p = plain_params(5);
    p.top_k = 3;
    hearth_sampler *s = NULL;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_OK);
    int seen[10] = {0};
    for (int i = 0; i < 3000; i++) {
        int32_t id = hearth_sampler_sample(s, l, 10);
        if (id >= 0) seen[id]++;
    }
    for (int i = 0; i < 7; i++) CHECK_EQ_INT(seen[i], 0);
    for (int i = 7; i < 10; i++) CHECK(seen[i] > 0);
    hearth_sampler_free(s);
}

TEST(logprobs_of_original_logits) {
    float l[] = {0.0f, 1.0f, -0.5f, 2.0f, 0.7f};
    double p[5];
    ref_softmax(l, 5, 1.0, p);
    hearth_sampler_params sp = plain_params(9);
    sp.n_probs = 3;
    sp.temp = 0.3f;   /* sampling temperature must not change the reported logprobs */
    sp.repeat_penalty = 1.5f;
    hearth_sampler *s = NULL;
    CHECK_EQ_INT(hearth_sampler_create(&sp, &s), HEARTH_OK);
    hearth_sampler_accept(s, 3);
    int32_t id = hearth_sampler_sample(s, l, 5);
    CHECK(id >= 0);
    if (id >= 0) CHECK_NEAR(hearth_sampler_last_logprob(s), log(p[id]), 1e-5);
    hearth_token_logprob top[5];
    int32_t n = hearth_sampler_last_top(s, top, 5);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(top[0].id, 3);
    CHECK_EQ_INT(top[1].id, 1);
    CHECK_EQ_INT(top[2].id, 4);
    CHECK_NEAR(top[0].logprob, log(p[3]), 1e-5);
    CHECK_NEAR(top[2].logprob, log(p[4]), 1e-5);
    hearth_sampler_free(s);
}

TEST(bad_settings_are_rejected) {
    hearth_sampler *s = (hearth_sampler *)1;
    hearth_sampler_params p = hearth_sampler_default_params();
    p.top_p = 0.0f;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_ERR_INVALID_ARG);
    CHECK(s == NULL);
    CHECK(strstr(hearth_last_error(), "top_p") != NULL);
    p = hearth_sampler_default_params();
    p.min_p = 1.5f;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "min_p") != NULL);
    p = hearth_sampler_default_params();
    p.repeat_penalty = 0.0f;
    CHECK_EQ_INT(hearth_sampler_create(&p, &s), HEARTH_ERR_INVALID_ARG);
    hearth_sampler_free(NULL);
}

int main(void) {
    RUN(softmax_sorts_and_normalises);
    RUN(vocabulary_sort_orders_like_the_rule);
    RUN(top_k_keeps_exactly_k_largest);
    RUN(top_p_smallest_set_with_mass);
    RUN(min_p_threshold);
    RUN(typical_prefers_typical_tokens);
    RUN(temperature_changes_entropy);
    RUN(penalties_change_the_right_logits);
    RUN(logit_bias_bans_and_boosts);
    RUN(greedy_is_argmax_lowest_id_on_ties);
    RUN(banned_token_never_sampled);
    RUN(repeat_window_is_last_n);
    RUN(same_seed_same_tokens);
    RUN(frequencies_match_probabilities);
    RUN(sampler_truncation_limits_support);
    RUN(logprobs_of_original_logits);
    RUN(bad_settings_are_rejected);
    return harness_done();
}
