/*
 * test_train_model.c — the training forward and backward over real models:
 *  - the training forward's logits equal hearth_decode's (all_logits, F32 KV
 *    cache) on the tiny llama (SPM, GQA, normal RoPE) and qwen2 (Q/K/V biases,
 *    NEOX RoPE) models, in LoRA mode (B = 0) and in full mode (F32 copies);
 *  - finite differences of the whole model's loss (float, central
 *    differences, double accumulation) against the backward: LoRA A and B on
 *    q,v (with B made non-zero) and, in full mode, elements of every kind of
 *    weight (embedding, norms, projections, biases);
 *  - the int8 compute mode (a quantized base on AVX-512 VNNI): its forward is
 *    inference's packed forward, and its gradients stay within a stated
 *    distance of the exact F32 backward's.
 */
#include "harness.h"
#include "hearth/model.h"
#include "hearth/train.h"
#include "train/train_internal.h"

#include <math.h>
#include <stdlib.h>

#define MODEL(n) HEARTH_TEST_DATA "/models/" n

static const int32_t TOKS[12] = {1, 450, 4996, 17354, 1701, 432, 29871, 975, 278, 17366, 11203, 29889};

static void logits_match(const char *path, bool full) {
    hearth_model *m = NULL;
    CHECK(hearth_model_load(path, NULL, &m) == HEARTH_OK);
    if (!m) return;
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 64, cp.kv_f32 = true, cp.n_threads = 2;
    hearth_context *c = NULL;
    CHECK(hearth_context_create(m, &cp, &c) == HEARTH_OK);
    int n = 12, V = hearth_model_n_vocab(m);
    CHECK(hearth_decode(c, TOKS, n, true) == HEARTH_OK);
    hearth_train_params tp = hearth_train_default_params();
    tp.full = full, tp.n_ctx = 16, tp.n_threads = 2, tp.lora_targets = "all";
    hearth_trainer *t = NULL;
    CHECK(hearth_trainer_create(m, &tp, &t) == HEARTH_OK);
    float *lg = malloc((size_t)n * V * 4);
    CHECK(hearth_trainer_logits(t, TOKS, n, lg) == HEARTH_OK);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        const float *ref = hearth_get_logits_ith(c, i);
        double mx = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, fabs(ref[v]));
        for (int v = 0; v < V; v++) {
            double d = fabs(lg[(size_t)i * V + v] - ref[v]) / mx;
            worst = d == d ? fmax(worst, d) : INFINITY;   /* a NaN fails */
        }
    }
    CHECK_MSG(worst < 1e-3, "%s (%s): training logits differ from hearth_decode by %.3g (relative to the largest)",
              path, full ? "full" : "lora", worst);
    printf("  %s %s: max relative logit difference %.2e\n", path, full ? "full" : "lora", worst);
    free(lg);
    hearth_trainer_free(t);
    hearth_context_free(c);
    hearth_model_free(m);
}

TEST(forward_matches_inference) {
    logits_match(MODEL("tiny-llama-spm-f16.gguf"), false);
    logits_match(MODEL("tiny-qwen2-gpt2-f16.gguf"), false);
    logits_match(MODEL("tiny-llama-spm-f16.gguf"), true);
    logits_match(MODEL("tiny-qwen2-gpt2-f16.gguf"), true);
    /* quantized frozen base (QLoRA-style: read in its stored type) */
    logits_match(MODEL("licenses-llama-Q4_0.gguf"), false);
    logits_match(MODEL("licenses-llama-Q8_0.gguf"), false);
}

/* LoRA over a Q4_0 base learns: the loss of a sequence falls */
TEST(lora_on_quantized_base) {
    hearth_model *m = NULL;
    CHECK(hearth_model_load(MODEL("licenses-llama-Q4_0.gguf"), NULL, &m) == HEARTH_OK);
    if (!m) return;
    hearth_train_params tp = hearth_train_default_params();
    tp.n_ctx = 16, tp.n_threads = 2, tp.lr = 1e-2f, tp.lora_targets = "all", tp.lora_dropout = 0;
    hearth_trainer *t = NULL;
    CHECK(hearth_trainer_create(m, &tp, &t) == HEARTH_OK);
    if (t) {
        double l0, l1, ls;
        int32_t ns;
        hearth_trainer_eval(t, TOKS, NULL, 12, &l0, &ns);
        for (int s = 0; s < 15; s++) {
            CHECK(hearth_trainer_forward_backward(t, TOKS, NULL, 12, 1.0f / 11, &ls, &ns) == HEARTH_OK);
            CHECK(hearth_trainer_step(t, NULL) == HEARTH_OK);
        }
        hearth_trainer_eval(t, TOKS, NULL, 12, &l1, &ns);
        printf("  LoRA on Q4_0: loss %.3f -> %.3f in 15 steps\n", l0 / ns, l1 / ns);
        CHECK(l1 < l0 / 2);
    }
    hearth_trainer_free(t);
    hearth_model_free(m);
}

/* ==== finite differences over the whole model ================================================ */
static const uint8_t MASK[12] = {0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1};

static double loss_of(hearth_trainer *t) {
    double ls;
    int32_t ns;
    hearth_trainer_eval(t, TOKS, MASK, 12, &ls, &ns);
    return ls;
}

/* compares g[i] with the central difference of the loss in w[i] for the `count` elements of largest |g|
 * (small gradients drown in the float loss's rounding noise, ~2e-4 over 2h) */
static void fd_elems(hearth_trainer *t, const char *what, float *w, const float *g, size_t n, int count, double *worst,
                     int *checked) {
    size_t top[8];
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        int pos = k < count ? k++ : count;
        if (pos == count && fabsf(g[i]) <= fabsf(g[top[count - 1]])) continue;
        if (pos == count) pos = count - 1;
        while (pos > 0 && fabsf(g[top[pos - 1]]) < fabsf(g[i])) top[pos] = top[pos - 1], pos--;
        top[pos] = i;
    }
    for (int c = 0; c < k; c++) {
        size_t i = top[c];
        float keep = w[i];
        float h = fmaxf(1e-2f, fabsf(keep) * 1e-2f);
        w[i] = keep + h;
        double lp = loss_of(t);
        w[i] = keep - h;
        double lm = loss_of(t);
        w[i] = keep;
        double num = (lp - lm) / (2.0 * h), an = g[i];
        double err = fabs(num - an) / (fabs(num) + fabs(an) + 1e-30);
        bool ok = err < 3e-2 || fabs(num - an) < 3e-4;
        if (fabs(an) > 1e-2) {
            (*checked)++;
            if (err > *worst) *worst = err;
        }
        CHECK_MSG(ok, "%s[%zu]: analytic %.6g, numeric %.6g", what, i, an, num);
    }
}

static void grad_model(const char *path, bool full) {
    hearth_model *m = NULL;
    CHECK(hearth_model_load(path, NULL, &m) == HEARTH_OK);
    if (!m) return;
    hearth_train_params tp = hearth_train_default_params();
    tp.full = full, tp.n_ctx = 16, tp.n_threads = 2, tp.lora_dropout = 0, tp.lora_targets = "q,v", tp.lora_r = 4;
    hearth_trainer *t = NULL;
    CHECK(hearth_trainer_create(m, &tp, &t) == HEARTH_OK);
    if (!t) return;
    if (!full) {
        /* B = 0 at start would make dA zero: give B values */
        uint64_t r = 7;
        for (int i = 0; i < t->lora->n; i++)
            for (int64_t j = 0; j < t->lora->w[i].n_out * t->lora->r; j++)
                t->lora->w[i].b[j] = (float)(train_rng_uniform(&r) - 0.5) * 0.2f;
    }
    double ls;
    int32_t ns;
    CHECK(hearth_trainer_forward_backward(t, TOKS, MASK, 12, 1.0f, &ls, &ns) == HEARTH_OK);
    CHECK_EQ_INT(ns, 8);
    double worst = 0;
    int checked = 0;
    for (int i = 0; i < t->n_params; i++) {
        tparam *q = &t->params[i];
        bool ok = !full || strstr(q->name, "blk.1.") || strstr(q->name, "token_embd") || strstr(q->name, "output") ||
                  strstr(q->name, "blk.0.attn_q") || strstr(q->name, "blk.0.attn_norm") || strstr(q->name, "bias");
        if (ok) fd_elems(t, q->name, q->w, q->g, q->n, full ? 3 : 6, &worst, &checked);
    }
    printf("  %s %s: worst relative gradient error %.2e over %d elements with |g| > 0.01 (%d tensors)\n", path,
           full ? "full" : "lora q,v", worst, checked, t->n_params);
    CHECK(checked >= (full ? 10 : 8));   /* the check must have had real gradients to look at */
    hearth_trainer_free(t);
    hearth_model_free(m);
}

TEST(grad_whole_model_lora) {
    grad_model(MODEL("tiny-llama-spm-f16.gguf"), false);
    grad_model(MODEL("tiny-qwen2-gpt2-f16.gguf"), false);
}

TEST(grad_whole_model_full) {
    grad_model(MODEL("tiny-llama-spm-f16.gguf"), true);
    grad_model(MODEL("tiny-qwen2-gpt2-f16.gguf"), true);
}

/* ==== trained models written as GGUF load with the inference loader and give the same logits ==== */
static void saved_model_matches(hearth_trainer *t, const char *path) {
    CHECK(hearth_trainer_save_model(t, path, HEARTH_TYPE_F32) == HEARTH_OK);
    hearth_model *m = NULL;
    CHECK(hearth_model_load(path, NULL, &m) == HEARTH_OK);
    if (!m) {
        fprintf(stderr, "  %s\n", hearth_last_error());
        return;
    }
    int n = 12, V = hearth_trainer_n_vocab(t);
    CHECK_EQ_INT(hearth_model_n_vocab(m), V);
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 32, cp.kv_f32 = true, cp.n_threads = 2;
    hearth_context *c = NULL;
    CHECK(hearth_context_create(m, &cp, &c) == HEARTH_OK);
    CHECK(hearth_decode(c, TOKS, n, true) == HEARTH_OK);
    float *lg = malloc((size_t)n * V * 4);
    CHECK(hearth_trainer_logits(t, TOKS, n, lg) == HEARTH_OK);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        const float *ref = hearth_get_logits_ith(c, i);
        double mx = 1e-6;
        for (int v = 0; v < V; v++) mx = fmax(mx, fabs(ref[v]));
        for (int v = 0; v < V; v++) worst = fmax(worst, fabs(lg[(size_t)i * V + v] - ref[v]) / mx);
    }
    CHECK_MSG(worst < 1e-4, "%s: saved model's logits differ by %.3g", path, worst);
    free(lg);
    hearth_context_free(c);
    hearth_model_free(m);
    remove(path);
}

static void train_steps(hearth_trainer *t, int n) {
    for (int s = 0; s < n; s++) {
        double ls;
        int32_t ns;
        CHECK(hearth_trainer_forward_backward(t, TOKS, NULL, 12, 1.0f / 11, &ls, &ns) == HEARTH_OK);
        CHECK(hearth_trainer_step(t, NULL) == HEARTH_OK);
    }
}

TEST(full_and_init_models_save) {
    hearth_model *m = NULL;
    CHECK(hearth_model_load(MODEL("tiny-qwen2-gpt2-f16.gguf"), NULL, &m) == HEARTH_OK);
    hearth_train_params tp = hearth_train_default_params();
    tp.full = true, tp.n_ctx = 16, tp.n_threads = 2, tp.lr = 1e-3f;
    hearth_trainer *t = NULL;
    CHECK(hearth_trainer_create(m, &tp, &t) == HEARTH_OK);
    if (t) {
        train_steps(t, 3);
        saved_model_matches(t, "/tmp/hearth-test-full-qwen2.gguf");
    }
    hearth_trainer_free(t);
    /* a new model, tokenizer taken from the tiny llama file */
    hearth_init_params ip = {.n_embd = 32, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 64, .n_ctx = 64,
                             .tied = true};
    hearth_model *tokm = NULL;
    CHECK(hearth_model_load(MODEL("tiny-llama-spm-f16.gguf"), NULL, &tokm) == HEARTH_OK);
    t = NULL;
    tp.lr = 1e-2f;
    CHECK(hearth_trainer_create_init(hearth_model_gguf(tokm), &ip, &tp, &t) == HEARTH_OK);
    if (t) {
        double l0, l1;
        int32_t ns;
        hearth_trainer_eval(t, TOKS, NULL, 12, &l0, &ns);
        CHECK_NEAR(l0 / ns, log(32000.0), 0.1);   /* small random weights: near-uniform predictions */
        train_steps(t, 20);
        hearth_trainer_eval(t, TOKS, NULL, 12, &l1, &ns);
        printf("  init model: loss %.3f -> %.3f after 20 steps on one sequence\n", l0 / ns, l1 / ns);
        CHECK(l1 < l0 / 2);
        saved_model_matches(t, "/tmp/hearth-test-init.gguf");
    }
    hearth_trainer_free(t);
    hearth_model_free(tokm);
    hearth_model_free(m);
}

/* ==== int8 compute ========================================================================== */
/* the LoRA gradients of one forward/backward under `compute` (B given values so that dA is not zero) over
 * 120 tokens, every one scored (more rows of the vocabulary-wide dlogits than one int8 backward matmul
 * of the output layer takes at once) */
static float *lora_grads(hearth_model *m, hearth_train_compute compute, size_t *n, double *loss, int *n_int8) {
    int32_t toks[120];
    for (int i = 0; i < 120; i++) toks[i] = i ? TOKS[1 + (i * 7) % 11] : 1;
    hearth_train_params tp = hearth_train_default_params();
    tp.n_ctx = 128, tp.n_threads = 2, tp.lora_dropout = 0, tp.lora_targets = "all", tp.lora_r = 4, tp.compute = compute;
    hearth_trainer *t = NULL;
    CHECK(hearth_trainer_create(m, &tp, &t) == HEARTH_OK);
    if (!t) return NULL;
    uint64_t r = 7;
    for (int i = 0; i < t->lora->n; i++)
        for (int64_t j = 0; j < t->lora->w[i].n_out * t->lora->r; j++)
            t->lora->w[i].b[j] = (float)(train_rng_uniform(&r) - 0.5) * 0.2f;
    int32_t ns;
    CHECK(hearth_trainer_forward_backward(t, toks, NULL, 120, 1.0f / 119, loss, &ns) == HEARTH_OK);
    *n = 0;
    for (int i = 0; i < t->n_params; i++) *n += t->params[i].n;
    float *g = malloc(*n * sizeof *g), *p = g;
    for (int i = 0; g && i < t->n_params; p += t->params[i].n, i++) memcpy(p, t->params[i].g, t->params[i].n * 4);
    *n_int8 = hearth_trainer_int8_matrices(t);
    hearth_trainer_free(t);
    return g;
}

TEST(int8_backward_near_exact) {
    if (!hearth_pack_supported(HEARTH_TYPE_Q8_0, 128, 128)) {
        printf("  skipped: no AVX-512 VNNI (the int8 mode falls back to the exact one)\n");
        return;
    }
    const char *paths[] = {MODEL("licenses-llama-Q8_0.gguf"), MODEL("licenses-llama-Q4_0.gguf")};
    for (int f = 0; f < 2; f++) {
        hearth_model *m = NULL;
        CHECK(hearth_model_load(paths[f], NULL, &m) == HEARTH_OK);
        if (!m) return;
        size_t ne = 0, ni = 0;
        double le = 0, li = 0;
        int ie = -1, ii = -1;
        float *ge = lora_grads(m, HEARTH_TRAIN_COMPUTE_EXACT, &ne, &le, &ie);
        float *gi = lora_grads(m, HEARTH_TRAIN_COMPUTE_AUTO, &ni, &li, &ii);   /* a quantized base: int8 */
        CHECK_EQ_INT(ie, 0);
        CHECK_MSG(ii == 7 * 4 + 1, "%s: %d matrices with an int8 backward, expected all 29", paths[f], ii);
        CHECK(ge && gi && ne == ni && ne > 0);
        if (ge && gi && ne == ni) {
            double dd = 0, ee = 0, ei = 0, dot = 0;
            for (size_t i = 0; i < ne; i++) {
                dd += ((double)gi[i] - ge[i]) * ((double)gi[i] - ge[i]);
                ee += (double)ge[i] * ge[i], ei += (double)gi[i] * gi[i], dot += (double)ge[i] * gi[i];
            }
            double rel = sqrt(dd / ee), cosv = dot / sqrt(ee * ei);
            printf("  %s: loss %.6f (exact) %.6f (int8); LoRA gradients (%zu values): relative L2 distance %.4f, "
                   "cosine %.6f\n", paths[f], le, li, ne, rel, cosv);
            CHECK_MSG(fabs(li - le) < 1e-2 * fabs(le), "int8 forward loss %.6f vs %.6f", li, le);
            CHECK_MSG(rel < 0.05 && cosv > 0.998, "int8 gradients too far from the exact ones: %.4f, cosine %.6f", rel,
                      cosv);
        }
        free(ge), free(gi);
        hearth_model_free(m);
    }
}

int main(void) {
    RUN(int8_backward_near_exact);
    RUN(forward_matches_inference);
    RUN(lora_on_quantized_base);
    RUN(grad_whole_model_lora);
    RUN(grad_whole_model_full);
    RUN(full_and_init_models_save);
    return harness_done();
}
