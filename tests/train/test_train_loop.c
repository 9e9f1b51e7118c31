/*
 * test_train_loop.c — the library's training loop, hearth_train_run
 * (include/hearth/train.h), as a program that links libhearth uses it:
 *  - the plan: steps per run with batch, accumulation, packing and max_steps;
 *  - progress: one STEP event per optimizer step with the step number, the
 *    mean loss over the step's scored tokens and a finite gradient norm, and
 *    one EVAL event per epoch with the held-out loss (= hearth_train_evaluate);
 *  - stopping from the callback writes a checkpoint, and a new trainer that
 *    resumes from it ends with the same adapter, bit for bit, as a run that
 *    was never stopped;
 *  - bad parameters are refused with a message.
 */
#include "harness.h"
#include "hearth/adapter.h"
#include "hearth/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"
#define DATA HEARTH_TEST_DATA "/train/parity/qa30.jsonl"

static hearth_model *model;
static hearth_train_data *train, *held;

typedef struct events {
    int steps, evals, stop_at;
    int64_t last_step, total;
    double eval_loss;
    bool bad;
} events;

static bool on_event(const hearth_train_progress *p, void *user) {
    events *e = user;
    if (p->event == HEARTH_TRAIN_STEP) {
        e->steps++;
        if (p->step != e->last_step + 1 || !(p->loss > 0) || !isfinite(p->grad_norm) || p->n_scored < 1) e->bad = true;
        e->last_step = p->step;
        e->total = p->total_steps;
        if (e->stop_at && p->step == e->stop_at) return false;
    } else if (p->event == HEARTH_TRAIN_EVAL) {
        e->evals++;
        e->eval_loss = p->loss;
    } else if (p->event == HEARTH_TRAIN_RESUMED) {
        e->last_step = p->step;
    }
    return true;
}

static hearth_trainer *new_trainer(int64_t total) {
    hearth_train_params tp = hearth_train_default_params();
    tp.lora_r = 4, tp.lora_alpha = 8, tp.lora_dropout = 0.1f, tp.lora_targets = "q,v", tp.lr = 1e-3f;
    tp.total_steps = (int32_t)total, tp.n_ctx = 128, tp.n_threads = 2, tp.seed = 7;
    hearth_trainer *t = NULL;
    CHECK(hearth_trainer_create(model, &tp, &t) == HEARTH_OK);
    return t;
}

static hearth_train_run_params run_params(void) {
    hearth_train_run_params rp = hearth_train_run_default_params();
    rp.epochs = 3, rp.batch = 2, rp.grad_accum = 2, rp.pack = true, rp.n_ctx = 127, rp.seed = 5;
    return rp;
}

TEST(plan_counts_steps) {
    hearth_train_run_params rp = hearth_train_run_default_params();
    int64_t total = 0, n_seq = 0;
    CHECK(hearth_train_plan(train, &rp, &total, &n_seq) == HEARTH_OK);
    CHECK_EQ_INT(total, train->n);   /* one record per step */
    CHECK_EQ_INT(n_seq, train->n);
    rp.epochs = 3, rp.batch = 2, rp.grad_accum = 2;
    CHECK(hearth_train_plan(train, &rp, &total, NULL) == HEARTH_OK);
    CHECK_EQ_INT(total, 3 * ((train->n + 3) / 4));
    rp.max_steps = 5;
    CHECK(hearth_train_plan(train, &rp, &total, NULL) == HEARTH_OK);
    CHECK_EQ_INT(total, 5);
    rp = run_params();
    CHECK(hearth_train_plan(train, &rp, &total, &n_seq) == HEARTH_OK);
    CHECK_MSG(n_seq < train->n, "packing made %lld sequences of %d records", (long long)n_seq, train->n);
    rp.batch = 0;
    CHECK(hearth_train_plan(train, &rp, &total, NULL) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "batch") != NULL);
}

TEST(stop_and_resume_equal_one_run) {
    hearth_train_run_params rp = run_params();
    int64_t total = 0;
    CHECK(hearth_train_plan(train, &rp, &total, NULL) == HEARTH_OK);
    char ckpt[] = "/tmp/hearth-loop-XXXXXX";
    int fd = mkstemp(ckpt);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);

    /* one run, never stopped */
    hearth_trainer *a = new_trainer(total);
    events ea = {0};
    hearth_train_result ra;
    CHECK(a && hearth_train_run(a, train, held, &rp, on_event, &ea, &ra) == HEARTH_OK);
    CHECK(!ra.stopped && !ea.bad);
    CHECK_EQ_INT(ea.steps, total);
    CHECK_EQ_INT(ra.steps, total);
    CHECK_EQ_INT(ea.total, total);
    CHECK_EQ_INT(ea.evals, 3);
    double el = 0;
    CHECK(hearth_train_evaluate(a, held, &el) == HEARTH_OK);
    CHECK_MSG(fabs(el - ea.eval_loss) < 1e-9 && el > 0, "eval event %.6f, evaluate %.6f", ea.eval_loss, el);

    /* stopped by the callback after 4 steps (checkpoint), then a new trainer resumes */
    hearth_trainer *b = new_trainer(total);
    events eb = {.stop_at = 4};
    hearth_train_result rb;
    rp.checkpoint = ckpt;
    CHECK(b && hearth_train_run(b, train, held, &rp, on_event, &eb, &rb) == HEARTH_OK);
    CHECK(rb.stopped);
    CHECK_EQ_INT(rb.steps, 4);
    hearth_trainer_free(b);
    hearth_trainer *c = new_trainer(total);
    events ec = {0};
    hearth_train_result rc;
    rp.resume = ckpt;
    CHECK(c && hearth_train_run(c, train, held, &rp, on_event, &ec, &rc) == HEARTH_OK);
    CHECK(!rc.stopped && !ec.bad);
    CHECK_EQ_INT(ec.steps, total - 4);
    CHECK_EQ_INT(rc.steps, total);

    const hearth_adapter *la = a ? hearth_trainer_lora(a) : NULL, *lc = c ? hearth_trainer_lora(c) : NULL;
    CHECK(la && lc && la->n == lc->n);
    int differ = 0;
    for (int i = 0; la && lc && i < la->n && i < lc->n; i++) {
        const hearth_adapter_weight *x = &la->w[i], *y = &lc->w[i];
        differ += memcmp(x->a, y->a, (size_t)la->r * x->n_in * 4) != 0;
        differ += memcmp(x->b, y->b, (size_t)la->r * x->n_out * 4) != 0;
    }
    CHECK_MSG(differ == 0, "%d of the adapter's matrices differ between the resumed and the uninterrupted run", differ);
    hearth_trainer_free(a);
    hearth_trainer_free(c);
    unlink(ckpt);
}

TEST(bad_resume_is_an_error) {
    hearth_train_run_params rp = run_params();
    rp.resume = "/nonexistent/hearth.ckpt";
    hearth_trainer *t = new_trainer(10);
    CHECK(t && hearth_train_run(t, train, NULL, &rp, NULL, NULL, NULL) != HEARTH_OK);
    CHECK(strstr(hearth_last_error(), "hearth.ckpt") != NULL);
    hearth_trainer_free(t);
    CHECK(hearth_train_run(NULL, train, NULL, NULL, NULL, NULL, NULL) == HEARTH_ERR_INVALID_ARG);
}

int main(void) {
    CHECK(hearth_model_load(MODEL, NULL, &model) == HEARTH_OK);
    CHECK(model && hearth_train_data_load(DATA, model, NULL, NULL, &train) == HEARTH_OK);
    CHECK(train && hearth_train_data_split(train, 0.2, 3, &held) == HEARTH_OK);
    if (!model || !train || !held) return harness_done();
    RUN(plan_counts_steps);
    RUN(stop_and_resume_equal_one_run);
    RUN(bad_resume_is_an_error);
    hearth_train_data_free(train);
    hearth_train_data_free(held);
    hearth_model_free(model);
    return harness_done();
}
