/*
 * test_train_pack.c — sequence packing and activation recomputation over
 * real models:
 *  - packing: three records of different lengths laid end to end in one
 *    sequence (hearth_trainer_forward_backward_packed) give the loss, the
 *    number of scored tokens and the gradients of the same three records
 *    trained one by one in the same step: LoRA on every projection (tiny
 *    llama: GQA, normal RoPE) and full fine-tuning (tiny qwen2: biases, NEOX
 *    RoPE, every weight's gradient);
 *  - recomputation (recompute = true, `--recompute`): gradients, losses and
 *    the weights after two AdamW steps are bit-identical to those of a
 *    trainer that keeps every activation (LoRA with dropout, full mode,
 *    packed sequences), and the trainer allocates less.
 */
#include "harness.h"
#include "hearth/model.h"
#include "hearth/train.h"
#include "train/train_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MODEL(n) HEARTH_TEST_DATA "/models/" n

enum { N_REC = 3, N_ALL = 7 + 5 + 9 };
static const int32_t LEN[N_REC] = {7, 5, 9};

/* three records (token 1 first, like a BOS) and their loss masks: an answer after a prompt */
static void make_records(int32_t vocab, int32_t tok[N_ALL], uint8_t mask[N_ALL], int32_t starts[N_REC]) {
    uint64_t r = 11;
    for (int k = 0, n = 0; k < N_REC; n += LEN[k++]) {
        starts[k] = n;
        for (int i = 0; i < LEN[k]; i++) {
            tok[n + i] = i == 0 ? 1 : 3 + (int32_t)(train_rng_next(&r) % (uint64_t)(vocab - 3 < 400 ? vocab - 3 : 400));
            mask[n + i] = i >= 2;   /* mask[0] = 0 as the data loader makes it */
        }
    }
}

static bool load(const char *path, hearth_model **m) {
    *m = NULL;
    CHECK(hearth_model_load(path, NULL, m) == HEARTH_OK);
    return *m != NULL;
}

/* LoRA B is zero at start, which would make every dA zero: give it values */
static void fill_lora_b(hearth_trainer *t) {
    if (!t->lora || t->full) return;
    uint64_t r = 7;
    for (int i = 0; i < t->lora->n; i++)
        for (int64_t j = 0; j < t->lora->w[i].n_out * t->lora->r; j++)
            t->lora->w[i].b[j] = (float)(train_rng_uniform(&r) - 0.5) * 0.2f;
}

static size_t grad_count(const hearth_trainer *t) {
    size_t n = 0;
    for (int i = 0; i < t->n_params; i++) n += t->params[i].n;
    return n;
}

/* every trainable tensor's gradient, in parameter order, into g; then zeroed */
static void take_grads(hearth_trainer *t, float *g) {
    for (int i = 0; i < t->n_params; i++) {
        memcpy(g, t->params[i].g, t->params[i].n * 4);
        memset(t->params[i].g, 0, t->params[i].n * 4);
        g += t->params[i].n;
    }
}

/* ==== packed = unpacked ========================================================================= */
static void packed_matches(const char *path, bool full) {
    hearth_model *m;
    if (!load(path, &m)) return;
    hearth_train_params tp = hearth_train_default_params();
    tp.full = full, tp.n_ctx = 32, tp.n_threads = 2, tp.lora_dropout = 0, tp.lora_targets = "all", tp.lora_r = 4;
    hearth_trainer *t = NULL;
    CHECK(hearth_trainer_create(m, &tp, &t) == HEARTH_OK);
    if (!t) {
        hearth_model_free(m);
        return;
    }
    fill_lora_b(t);
    int32_t tok[N_ALL], starts[N_REC];
    uint8_t mask[N_ALL];
    make_records(hearth_trainer_n_vocab(t), tok, mask, starts);
    int32_t scored_all = 0;
    for (int i = 0; i < N_ALL; i++) scored_all += mask[i];
    float scale = 1.0f / (float)scored_all;
    size_t n = grad_count(t);
    float *g_one = malloc(n * 4), *g_pack = malloc(n * 4);
    /* one by one, accumulated into the same gradients */
    double loss_one = 0, ls;
    int32_t ns, ns_one = 0;
    for (int k = 0; k < N_REC; k++) {
        CHECK(hearth_trainer_forward_backward(t, tok + starts[k], mask + starts[k], LEN[k], scale, &ls, &ns) == HEARTH_OK);
        loss_one += ls, ns_one += ns;
    }
    take_grads(t, g_one);
    /* packed: one sequence of 21 tokens */
    double loss_pack = 0;
    int32_t ns_pack = 0;
    CHECK(hearth_trainer_forward_backward_packed(t, tok, mask, N_ALL, starts, N_REC, scale, &loss_pack, &ns_pack) ==
          HEARTH_OK);
    take_grads(t, g_pack);
    CHECK_EQ_INT(ns_pack, ns_one);
    CHECK_EQ_INT(ns_pack, scored_all);
    CHECK_MSG(fabs(loss_pack - loss_one) < 1e-5 * fabs(loss_one), "%s: packed loss %.9g, one by one %.9g", path,
              loss_pack, loss_one);
    double gmax = 0, dmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g_one[i])), dmax = fmax(dmax, fabs(g_pack[i] - g_one[i]));
    CHECK(gmax > 0);
    CHECK_MSG(dmax <= 1e-5 * gmax, "%s: packed gradients differ by %.3g (largest gradient %.3g)", path, dmax, gmax);
    printf("  %s %s: loss %.6f packed vs %.6f one by one; gradients differ by %.2e of the largest (%zu values)\n",
           path, full ? "full" : "lora all", loss_pack / ns_pack, loss_one / ns_one, dmax / gmax, n);
    /* the first token of a record is never a target, whatever its mask says; bad layouts are refused */
    mask[starts[1]] = 1;
    CHECK(hearth_trainer_forward_backward_packed(t, tok, mask, N_ALL, starts, N_REC, scale, &ls, &ns) == HEARTH_OK);
    CHECK_EQ_INT(ns, scored_all);
    int32_t bad[N_REC] = {0, 9, 9};
    CHECK(hearth_trainer_forward_backward_packed(t, tok, mask, N_ALL, bad, N_REC, scale, &ls, &ns) ==
          HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "packed record 2 starts at 9") != NULL);
    free(g_one), free(g_pack);
    hearth_trainer_free(t);
    hearth_model_free(m);
}

TEST(packed_equals_one_by_one) {
    packed_matches(MODEL("tiny-llama-spm-f16.gguf"), false);
    packed_matches(MODEL("tiny-qwen2-gpt2-f16.gguf"), true);
}

/* ==== recompute = keep everything ================================================================ */
static void recompute_matches(const char *path, bool full) {
    hearth_model *m;
    if (!load(path, &m)) return;
    hearth_train_params tp = hearth_train_default_params();
    tp.full = full, tp.n_ctx = 32, tp.n_threads = 2, tp.lora_dropout = 0.1f, tp.lora_targets = "all", tp.lr = 1e-3f;
    hearth_trainer *t[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        tp.recompute = k == 1;
        CHECK(hearth_trainer_create(m, &tp, &t[k]) == HEARTH_OK);
    }
    if (!t[0] || !t[1]) goto out;
    CHECK_MSG(hearth_trainer_memory(t[1]) < hearth_trainer_memory(t[0]), "%s: recompute allocates %zu bytes, not "
              "less than %zu", path, hearth_trainer_memory(t[1]), hearth_trainer_memory(t[0]));
    int32_t tok[N_ALL], starts[N_REC];
    uint8_t mask[N_ALL];
    make_records(hearth_trainer_n_vocab(t[0]), tok, mask, starts);
    size_t n = grad_count(t[0]);
    float *g[2] = {malloc(n * 4), malloc(n * 4)};
    for (int step = 0; step < 2; step++) {
        double loss[2];
        for (int k = 0; k < 2; k++) {
            double ls;
            int32_t ns;
            loss[k] = 0;
            CHECK(hearth_trainer_forward_backward(t[k], tok, mask, LEN[0], 0.05f, &ls, &ns) == HEARTH_OK);
            loss[k] += ls;
            CHECK(hearth_trainer_forward_backward_packed(t[k], tok, mask, N_ALL, starts, N_REC, 0.05f, &ls, &ns) ==
                  HEARTH_OK);
            loss[k] += ls;
            size_t off = 0;   /* a copy of the gradients for the comparison (the step zeroes them) */
            for (int i = 0; i < t[k]->n_params; off += t[k]->params[i++].n)
                memcpy(g[k] + off, t[k]->params[i].g, t[k]->params[i].n * 4);
            CHECK(hearth_trainer_step(t[k], NULL) == HEARTH_OK);
        }
        CHECK_MSG(loss[0] == loss[1], "%s step %d: loss %.9g with recompute, %.9g without", path, step, loss[1], loss[0]);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++) diff += memcmp(&g[0][i], &g[1][i], 4) != 0;
        CHECK_MSG(diff == 0, "%s step %d: %zu of %zu gradients differ with recompute", path, step, diff, n);
    }
    size_t wdiff = 0;
    for (int i = 0; i < t[0]->n_params; i++)
        wdiff += memcmp(t[0]->params[i].w, t[1]->params[i].w, t[0]->params[i].n * 4) != 0;
    CHECK_MSG(wdiff == 0, "%s: %zu tensors differ after two steps with recompute", path, wdiff);
    printf("  %s %s: recompute bit-identical over 2 steps; trainer memory %.2f -> %.2f MiB (32 tokens)\n", path,
           full ? "full" : "lora all, dropout 0.1", hearth_trainer_memory(t[0]) / 1048576.0,
           hearth_trainer_memory(t[1]) / 1048576.0);
    free(g[0]), free(g[1]);
out:
    hearth_trainer_free(t[0]);
    hearth_trainer_free(t[1]);
    hearth_model_free(m);
}

TEST(recompute_is_bit_identical) {
    recompute_matches(MODEL("tiny-llama-spm-f16.gguf"), false);
    recompute_matches(MODEL("tiny-qwen2-gpt2-f16.gguf"), true);
}

/* the activations the trainer no longer keeps: most of its memory at a long context */
TEST(recompute_memory) {
    hearth_model *m;
    if (!load(MODEL("licenses-llama-f16.gguf"), &m)) return;
    hearth_train_params tp = hearth_train_default_params();
    tp.n_ctx = 512, tp.n_threads = 2, tp.lora_targets = "all";
    size_t mem[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        tp.recompute = k == 1;
        hearth_trainer *t = NULL;
        CHECK(hearth_trainer_create(m, &tp, &t) == HEARTH_OK);
        mem[k] = hearth_trainer_memory(t);
        hearth_trainer_free(t);
    }
    printf("  licences model, LoRA all, 512 tokens: trainer memory %.1f MiB, %.1f MiB with recompute\n",
           mem[0] / 1048576.0, mem[1] / 1048576.0);
    CHECK(mem[1] < mem[0]);
    hearth_model_free(m);
}

int main(void) {
    RUN(packed_equals_one_by_one);
    RUN(recompute_is_bit_identical);
    RUN(recompute_memory);
    return harness_done();
}
