/*
 * test_train_parity.c — LoRA training follows PyTorch's trajectory (issue 16
 * part 1). tests/train/ref_lora_torch.py (an independent PyTorch
 * implementation: its own GGUF reader, llama forward, torch's AdamW and
 * autograd) trained a LoRA on the licences model with r 16, alpha 32 on
 * q,k,v,o,gate,up,down, lr 2e-3 cosine, batch 1, dropout 0, clip 1.0, 40
 * epochs over 30 Alpaca records, starting from the PEFT folder it wrote, and
 * recorded per step the record, the loss (mean cross-entropy over the scored
 * tokens) and the gradient norm before clipping (tests/data/train/parity/).
 *
 * Here hearth's data loader must give the same token ids and loss masks
 * (prompt + answer tokenized jointly), and hearth_train_run, started from the
 * same PEFT folder, must take the same records in the same order with
 *  - exact compute (F16 base), against the float64 reference: the loss
 *    within 1e-3 relative at each of the first 100 steps (measured: at most
 *    2.9e-4); the gradient norm within 1e-3 at each of the first 19 steps,
 *    within 3e-3 at each of the 100 and within 2e-4 at the median (measured:
 *    6.5e-6 at step 1, 7 steps of 100 between 1e-3 and 2.5e-3, median
 *    1.3e-4). The gradient norm is the sensitive one: Adam's first updates
 *    are lr * sign(g) per coordinate, so float32 rounding (6.5e-6 at step 1)
 *    grows along the trajectory; PyTorch itself in float32 is 1.3e-4 off its
 *    float64 run at step 1 and 1.5e-2 at step 98;
 *  - int8 compute (the default for a quantized base; here the Q8_0 file of
 *    the same model, so the base weights differ too): the loss within 5 %
 *    at each of the first 10 steps (measured: at most 4.0e-2; 4.2e-3 at step
 *    1) and the mean loss of each block of 20 steps within 10 % (measured:
 *    at most 7.0 %, steps 61-80; single steps after the tenth differ by up
 *    to 15 % as the two trajectories separate).
 * No PyTorch is needed to run it.
 */
#include "harness.h"
#include "hearth/adapter.h"
#include "hearth/core.h"
#include "hearth/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR HEARTH_TEST_DATA "/train/parity"
#define N_STEPS 100

typedef struct ref_step {
    int record;
    double loss, grad_norm;
} ref_step;

static ref_step ref[N_STEPS];
static int n_ref, ref_total;

static cJSON *read_json(const char *path) {
    char *buf;
    size_t len;
    if (hearth_read_file(path, &buf, &len)) return NULL;
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    return j;
}

static bool load_reference(void) {
    cJSON *j = read_json(DIR "/trajectory.json");
    CHECK_MSG(j != NULL, "cannot read %s", DIR "/trajectory.json");
    if (!j) return false;
    ref_total = cJSON_GetObjectItem(j, "total_steps")->valueint;
    const cJSON *st;
    cJSON_ArrayForEach(st, cJSON_GetObjectItem(j, "steps")) {
        if (n_ref == N_STEPS) break;
        ref[n_ref].record = cJSON_GetObjectItem(st, "record")->valueint;
        ref[n_ref].loss = cJSON_GetObjectItem(st, "loss")->valuedouble;
        ref[n_ref].grad_norm = cJSON_GetObjectItem(st, "grad_norm")->valuedouble;
        n_ref++;
    }
    cJSON_Delete(j);
    CHECK_EQ_INT(n_ref, N_STEPS);
    return n_ref == N_STEPS;
}

/* ==== tokenization: joint, the same ids and masks as the reference ====================== */
TEST(tokens_and_masks_match_reference) {
    hearth_model *m = NULL;
    CHECK(hearth_model_load(HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf", NULL, &m) == HEARTH_OK);
    hearth_train_data *d = NULL;
    CHECK(hearth_train_data_load(DIR "/qa30.jsonl", m, NULL, NULL, &d) == HEARTH_OK);
    cJSON *j = read_json(DIR "/tokens.json");
    CHECK(j != NULL);
    if (!m || !d || !j) goto out;
    CHECK_EQ_INT(cJSON_GetArraySize(j), d->n);
    int i = 0, first_after_newline = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, j) {
        if (i >= d->n) break;
        const cJSON *toks = cJSON_GetObjectItem(rec, "tokens"), *mask = cJSON_GetObjectItem(rec, "mask");
        const hearth_train_example *ex = &d->ex[i];
        CHECK_MSG(cJSON_GetArraySize(toks) == ex->n, "record %d: %d tokens, reference %d", i, ex->n,
                  cJSON_GetArraySize(toks));
        for (int k = 0; k < ex->n && k < cJSON_GetArraySize(toks); k++) {
            CHECK_MSG(ex->tokens[k] == cJSON_GetArrayItem(toks, k)->valueint, "record %d token %d: %d, reference %d", i,
                      k, ex->tokens[k], cJSON_GetArrayItem(toks, k)->valueint);
            CHECK_MSG(ex->mask[k] == cJSON_GetArrayItem(mask, k)->valueint, "record %d mask %d: %d, reference %d", i, k,
                      ex->mask[k], cJSON_GetArrayItem(mask, k)->valueint);
        }
        /* the answer's first token directly follows the prompt's "\n" token (13) and is scored */
        for (int k = 1; k < ex->n; k++)
            if (ex->mask[k] && !ex->mask[k - 1]) first_after_newline += ex->tokens[k - 1] == 13;
        i++;
    }
    CHECK_EQ_INT(first_after_newline, d->n);
out:
    cJSON_Delete(j);
    hearth_train_data_free(d);
    hearth_model_free(m);
}

/* ==== the trajectory ==================================================================== */
typedef struct got {
    int n;
    int record[N_STEPS];
    double loss[N_STEPS], grad_norm[N_STEPS];
} got;

static bool on_step(const hearth_train_progress *p, void *user) {
    got *g = user;
    if (p->event == HEARTH_TRAIN_STEP && g->n < N_STEPS) {
        g->record[g->n] = p->record;
        g->loss[g->n] = p->loss;
        g->grad_norm[g->n] = p->grad_norm;
        g->n++;
    }
    return true;
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-12); }

static void run_hearth(const char *model, hearth_train_compute compute, got *g) {
    memset(g, 0, sizeof *g);
    hearth_model *m = NULL;
    hearth_train_data *d = NULL;
    hearth_trainer *t = NULL;
    hearth_adapter *init = NULL;
    CHECK(hearth_model_load(model, NULL, &m) == HEARTH_OK);
    if (!m) return;
    CHECK(hearth_train_data_load(DIR "/qa30.jsonl", m, NULL, NULL, &d) == HEARTH_OK);
    hearth_train_run_params rp = hearth_train_run_default_params();
    rp.epochs = 40;
    int64_t total = 0;
    CHECK(d && hearth_train_plan(d, &rp, &total, NULL) == HEARTH_OK);
    CHECK_EQ_INT(total, ref_total);
    hearth_train_params tp = hearth_train_default_params();
    tp.lora_r = 16, tp.lora_alpha = 32, tp.lora_dropout = 0, tp.lora_targets = "all";
    tp.lr = 2e-3f, tp.grad_clip = 1.0f, tp.schedule = HEARTH_LR_COSINE, tp.total_steps = (int32_t)total;
    tp.n_ctx = 128, tp.compute = compute, tp.n_threads = 2;
    CHECK(hearth_trainer_create(m, &tp, &t) == HEARTH_OK);
    CHECK(hearth_adapter_load(DIR "/init_adapter", hearth_model_gguf(m), &init) == HEARTH_OK);
    if (!d || !t || !init) goto out;
    CHECK(hearth_trainer_set_lora(t, init) == HEARTH_OK);
    if (compute == HEARTH_TRAIN_COMPUTE_EXACT) CHECK_EQ_INT(hearth_trainer_int8_matrices(t), 0);
    else if (hearth_trainer_int8_matrices(t) == 0)   /* int8 needs AVX-512 VNNI; elsewhere the exact path runs */
        printf("  (no AVX-512 VNNI here: the Q8_0 base runs the exact path)\n");
    rp.max_steps = N_STEPS;
    hearth_train_result res;
    CHECK(hearth_train_run(t, d, NULL, &rp, on_step, g, &res) == HEARTH_OK);
    CHECK_EQ_INT(res.steps, N_STEPS);
    CHECK_EQ_INT(g->n, N_STEPS);
out:
    hearth_adapter_free(init);
    hearth_trainer_free(t);
    hearth_train_data_free(d);
    hearth_model_free(m);
}

TEST(exact_compute_follows_pytorch) {
    got g;
    run_hearth(HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf", HEARTH_TRAIN_COMPUTE_EXACT, &g);
    double worst_l = 0, worst_g = 0;
    int at_l = 0, at_g = 0;
    for (int i = 0; i < g.n; i++) {
        CHECK_MSG(g.record[i] == ref[i].record, "step %d: record %d, PyTorch %d", i + 1, g.record[i], ref[i].record);
        double rl = rel(g.loss[i], ref[i].loss), rg = rel(g.grad_norm[i], ref[i].grad_norm);
        if (rl > worst_l) worst_l = rl, at_l = i + 1;
        if (rg > worst_g) worst_g = rg, at_g = i + 1;
        if (getenv("HEARTH_PARITY_VERBOSE"))
            printf("  step %3d  loss %.6f / %.6f (%.1e)  grad norm %.6f / %.6f (%.1e)\n", i + 1, g.loss[i], ref[i].loss,
                   rl, g.grad_norm[i], ref[i].grad_norm, rg);
        CHECK_MSG(rl <= 1e-3 && rg <= (i < 19 ? 1e-3 : 3e-3), "step %d: loss %.6f (PyTorch %.6f), grad norm %.6f (PyTorch %.6f)", i + 1,
                  g.loss[i], ref[i].loss, g.grad_norm[i], ref[i].grad_norm);
    }
    double d[N_STEPS];
    for (int i = 0; i < g.n; i++) d[i] = rel(g.grad_norm[i], ref[i].grad_norm);
    for (int i = 1; i < g.n; i++)   /* insertion sort for the median */
        for (int k = i; k > 0 && d[k] < d[k - 1]; k--) {
            double x = d[k];
            d[k] = d[k - 1], d[k - 1] = x;
        }
    double median = g.n ? d[g.n / 2] : 1;
    printf("  exact compute, %d steps: largest relative difference loss %.2e (step %d), grad norm %.2e (step %d), "
           "median grad norm %.2e\n", g.n, worst_l, at_l, worst_g, at_g, median);
    CHECK_MSG(median <= 2e-4, "median relative difference of the gradient norm %.2e", median);
}

TEST(int8_compute_follows_pytorch) {
    got g;
    run_hearth(HEARTH_TEST_DATA "/models/licenses-llama-Q8_0.gguf", HEARTH_TRAIN_COMPUTE_INT8, &g);
    if (g.n < N_STEPS) return;
    double worst = 0;
    for (int i = 0; i < 10; i++) {
        double rl = rel(g.loss[i], ref[i].loss);
        if (getenv("HEARTH_PARITY_VERBOSE"))
            printf("  int8 step %3d  loss %.6f / %.6f (%.1e)  grad norm %.6f / %.6f\n", i + 1, g.loss[i], ref[i].loss, rl,
                   g.grad_norm[i], ref[i].grad_norm);
        worst = rl > worst ? rl : worst;
        CHECK_MSG(rl <= 0.05, "int8 step %d: loss %.5f, PyTorch %.5f", i + 1, g.loss[i], ref[i].loss);
    }
    printf("  int8 compute (Q8_0 base): steps 1-10 largest loss difference %.2e; mean loss per 20 steps:", worst);
    for (int b = 0; b < N_STEPS / 20; b++) {
        double mh = 0, mr = 0;
        for (int i = 20 * b; i < 20 * b + 20; i++) mh += g.loss[i] / 20, mr += ref[i].loss / 20;
        printf(" %.3f/%.3f", mh, mr);
        CHECK_MSG(rel(mh, mr) <= 0.10, "int8: mean loss of steps %d-%d %.4f, PyTorch %.4f", 20 * b + 1, 20 * b + 20, mh,
                  mr);
    }
    printf(" (hearth/PyTorch)\n");
}

int main(void) {
    if (!load_reference()) return harness_done();
    RUN(tokens_and_masks_match_reference);
    RUN(exact_compute_follows_pytorch);
    RUN(int8_compute_follows_pytorch);
    return harness_done();
}
