/*
 * test_decode_batch.c — hearth_decode_batch: several sequences in one forward
 * pass give the logits each would get alone (the licenses-llama F16 model).
 *   - prompts of different lengths at different positions, prefilled in one
 *     batch, then greedy decode steps of all of them together: every logit
 *     row matches a lone hearth_decode of the same tokens;
 *   - a lead that takes no part (n = 0) and a lead with a small n_batch
 *     (rounds) give the same;
 *   - an overflowing sequence fails the whole call and moves no n_past.
 */
#include "harness.h"

#include "hearth/model.h"

#include <stdlib.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"
#define NS 3

static hearth_context *mkctx(const hearth_model *m, int n_ctx, int n_batch, int threads) {
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_threads = threads;
    hearth_context *c = NULL;
    CHECK_MSG(hearth_context_create(m, &cp, &c) == HEARTH_OK, "%s", hearth_last_error());
    return c;
}

static double max_diff(const float *a, const float *b, int n, double *range) {
    double d = 0, lo = a[0], hi = a[0];
    for (int i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > d) d = e;
        if (a[i] < lo) lo = a[i];
        if (a[i] > hi) hi = a[i];
    }
    *range = hi - lo;
    return d;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* prompts of lengths 7, 23, 2 (distinct tokens) */
static int32_t prompt[NS][32];
static const int32_t plen[NS] = {7, 23, 2};

static void check_against_alone(const hearth_model *m, int lead_batch, bool idle_lead) {
    int V = hearth_model_n_vocab(m);
    hearth_context *alone[NS], *batched[NS + 1];
    for (int i = 0; i < NS; i++) alone[i] = mkctx(m, 64, 64, 2);
    batched[0] = mkctx(m, 64, lead_batch, 2);
    for (int i = 1; i <= NS; i++) batched[i] = mkctx(m, 64, 4, 1);
    for (int i = 0; i <= NS; i++)
        if (!batched[i] || (i < NS && !alone[i])) return;
    /* sequences: batched[0..NS) or, with an idle lead, batched[1..NS] */
    hearth_context **seq = idle_lead ? batched + 1 : batched;
    hearth_context *call[NS + 1];
    const int32_t *toks[NS + 1];
    int32_t n[NS + 1];
    int ncall = 0;
    if (idle_lead) call[ncall] = batched[0], toks[ncall] = NULL, n[ncall++] = 0;
    for (int i = 0; i < NS; i++) call[ncall] = seq[i], toks[ncall] = prompt[i], n[ncall++] = plen[i];

    CHECK_MSG(hearth_decode_batch(call, toks, n, ncall, true) == HEARTH_OK, "%s", hearth_last_error());
    for (int i = 0; i < NS; i++) {
        CHECK(hearth_decode(alone[i], prompt[i], plen[i], true) == HEARTH_OK);
        CHECK_EQ_INT(hearth_context_n_past(seq[i]), plen[i]);
        for (int t = 0; t < plen[i]; t++) {
            double range, d = max_diff(hearth_get_logits_ith(alone[i], t), hearth_get_logits_ith(seq[i], t), V, &range);
            CHECK_MSG(d <= 1e-3 * range, "lead_batch %d idle %d seq %d token %d: logits differ by %g (range %g)",
                      lead_batch, idle_lead, i, t, d, range);
        }
    }
    /* 5 greedy steps, one token per sequence per batch */
    int32_t next[NS + 1];
    for (int step = 0; step < 5; step++) {
        ncall = 0;
        if (idle_lead) call[ncall] = batched[0], toks[ncall] = NULL, n[ncall++] = 0;
        for (int i = 0; i < NS; i++) {
            next[i] = argmax(hearth_get_logits(alone[i]), V);
            int32_t b = argmax(hearth_get_logits(seq[i]), V);
            CHECK_MSG(next[i] == b, "step %d seq %d: greedy token %d alone, %d batched", step, i, next[i], b);
            call[ncall] = seq[i], toks[ncall] = &next[i], n[ncall++] = 1;
        }
        CHECK(hearth_decode_batch(call, toks, n, ncall, false) == HEARTH_OK);
        for (int i = 0; i < NS; i++) {
            CHECK(hearth_decode(alone[i], &next[i], 1, false) == HEARTH_OK);
            double range, d = max_diff(hearth_get_logits(alone[i]), hearth_get_logits(seq[i]), V, &range);
            CHECK_MSG(d <= 1e-3 * range, "step %d seq %d: logits differ by %g (range %g)", step, i, d, range);
        }
    }
    for (int i = 0; i < NS; i++) hearth_context_free(alone[i]);
    for (int i = 0; i <= NS; i++) hearth_context_free(batched[i]);
}

static hearth_model *model;

TEST(batch_equals_alone) { check_against_alone(model, 64, false); }
TEST(batch_idle_lead) { check_against_alone(model, 64, true); }
TEST(batch_in_rounds) { check_against_alone(model, 5, false); }

TEST(batch_overflow_changes_nothing) {
    hearth_context *a = mkctx(model, 64, 64, 1), *b = mkctx(model, 16, 16, 1);
    if (!a || !b) return;
    hearth_context *cs[2] = {a, b};
    const int32_t *toks[2] = {prompt[1], prompt[1]};
    int32_t n[2] = {10, 17};
    CHECK_EQ_INT(hearth_decode_batch(cs, toks, n, 2, false), HEARTH_ERR_RANGE);
    CHECK_EQ_INT(hearth_context_n_past(a), 0);
    CHECK_EQ_INT(hearth_context_n_past(b), 0);
    /* same context twice */
    hearth_context *dup[2] = {a, a};
    n[1] = 3;
    CHECK_EQ_INT(hearth_decode_batch(dup, toks, n, 2, false), HEARTH_ERR_INVALID_ARG);
    /* a longer context than the lead's */
    hearth_context *big[2] = {b, a};
    CHECK_EQ_INT(hearth_decode_batch(big, toks, n, 2, false), HEARTH_ERR_INVALID_ARG);
    hearth_context_free(a);
    hearth_context_free(b);
}

int main(void) {
    if (hearth_model_load(MODEL, NULL, &model) != HEARTH_OK) {
        fprintf(stderr, "%s: %s\n", MODEL, hearth_last_error());
        return 1;
    }
    int V = hearth_model_n_vocab(model);
    for (int i = 0; i < NS; i++)
        for (int t = 0; t < 32; t++) prompt[i][t] = (int32_t)((1 + 97 * i + 31 * t) % V);
    RUN(batch_equals_alone);
    RUN(batch_idle_lead);
    RUN(batch_in_rounds);
    RUN(batch_overflow_changes_nothing);
    hearth_model_free(model);
    return harness_done();
}
