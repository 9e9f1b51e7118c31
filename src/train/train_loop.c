/*
 * train_loop.c — the training loop of include/hearth/train.h
 * (hearth_train_run): epochs over a seeded shuffle of the records, optimizer
 * steps of batch * grad_accum sequences, packing several records into one
 * sequence, evaluation on held-out records after each epoch, checkpoints
 * every N steps and when stopped, resuming from a checkpoint, and a progress
 * callback per step (the caller prints; the library does not).
 *
 * A step's loss is the mean cross-entropy over the step's scored tokens
 * (sum of the scored tokens' losses / their count), the number PyTorch and
 * TRL print; its gradient is that mean's (loss_scale = 1 / scored tokens).
 */
#include "train_internal.h"

#include "core/buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

hearth_train_run_params hearth_train_run_default_params(void) {
    hearth_train_run_params p;
    memset(&p, 0, sizeof p);
    p.epochs = 1;
    p.batch = 1;
    p.grad_accum = 1;
    p.n_ctx = 512;
    p.seed = 42;
    return p;
}

/* ==== data order ================================================================= */
/* epoch e's order of the n training examples: a seeded shuffle (xorshift64;
 * tests/train/ref_lora_torch.py re-implements it) */
static void epoch_order(int32_t *ord, int32_t n, uint64_t seed, int64_t e) {
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + (uint64_t)e * 0xbf58476d1ce4e5b9ull + 1;
    for (int32_t i = 0; i < n; i++) ord[i] = i;
    for (int32_t i = n - 1; i > 0; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int32_t j = (int32_t)(s % (uint64_t)(i + 1)), x = ord[i];
        ord[i] = ord[j], ord[j] = x;
    }
}

/* the records ord[i..end) of one sequence: one, or (pack) as many as fit in cap tokens */
static int64_t seq_end(const hearth_train_data *d, const int32_t *ord, int64_t i, bool pack, int64_t cap) {
    int64_t j = i + 1, n = d->ex[ord[i]].n;
    while (pack && j < d->n && n + d->ex[ord[j]].n <= cap) n += d->ex[ord[j++]].n;
    return j;
}

/* optimizer steps in epoch e (per_step sequences each); *n_seq: sequences */
static int64_t epoch_steps(const hearth_train_data *d, int32_t *ord, uint64_t seed, int64_t e, bool pack, int64_t cap,
                           int64_t per_step, int64_t *n_seq) {
    epoch_order(ord, d->n, seed, e);
    int64_t k = 0;
    for (int64_t i = 0; i < d->n; i = seq_end(d, ord, i, pack, cap)) k++;
    if (n_seq) *n_seq = k;
    return (k + per_step - 1) / per_step;
}

static hearth_status check_params(const hearth_train_data *d, const hearth_train_run_params *p) {
    if (!d || d->n < 1) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: no training records");
    if (p->epochs < 1 || p->batch < 1 || p->grad_accum < 1 || p->n_ctx < 1 || p->max_steps < 0 ||
        p->checkpoint_every < 0 || p->stop_after < 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "train: epochs, batch, grad_accum and n_ctx must be >= 1 and step counts >= 0 "
                                "(got %d, %d, %d, %d)", p->epochs, p->batch, p->grad_accum, p->n_ctx);
    return HEARTH_OK;
}

hearth_status hearth_train_plan(const hearth_train_data *d, const hearth_train_run_params *p, int64_t *total_steps,
                                int64_t *n_seq_first_epoch) {
    hearth_status s = check_params(d, p);
    if (s) return s;
    int32_t *ord = malloc((size_t)d->n * sizeof *ord);
    if (!ord) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    int64_t per_step = (int64_t)p->batch * p->grad_accum, cap = (int64_t)p->n_ctx + 1, total = 0, n0 = 0;
    for (int64_t e = 0; e < p->epochs && (!p->max_steps || total < p->max_steps); e++)
        total += epoch_steps(d, ord, p->seed, e, p->pack, cap, per_step, e == 0 ? &n0 : NULL);
    free(ord);
    if (p->max_steps && p->max_steps < total) total = p->max_steps;
    if (total_steps) *total_steps = total;
    if (n_seq_first_epoch) *n_seq_first_epoch = n0;
    return HEARTH_OK;
}

/* ==== evaluation ================================================================== */
static int64_t scored(const hearth_train_example *e) {
    int64_t k = 0;
    for (int32_t i = 1; i < e->n; i++) k += e->mask[i] != 0;
    return k;
}

hearth_status hearth_train_evaluate(hearth_trainer *t, const hearth_train_data *d, double *loss) {
    double sum = 0;
    int64_t cnt = 0;
    *loss = 0;
    for (int32_t i = 0; d && i < d->n; i++) {
        double ls;
        int32_t ns;
        hearth_status s = hearth_trainer_eval(t, d->ex[i].tokens, d->ex[i].mask, d->ex[i].n, &ls, &ns);
        if (s) return s;
        sum += ls, cnt += ns;
    }
    *loss = cnt ? sum / (double)cnt : 0;
    return HEARTH_OK;
}

/* ==== the loop ===================================================================== */
typedef struct packer {
    int32_t *tok, *start;
    uint8_t *mask;
} packer;

/* forward + backward of the sequence made of records ord[k..k_end) */
static hearth_status run_sequence(hearth_trainer *t, const hearth_train_data *d, const int32_t *ord, int64_t k,
                                  int64_t k_end, packer *pk, float loss_scale, double *loss_sum, int64_t *n_tok) {
    const hearth_train_example *ex = &d->ex[ord[k]];
    int32_t ns;
    if (k_end - k == 1) {
        *n_tok = ex->n - 1;
        return hearth_trainer_forward_backward(t, ex->tokens, ex->mask, ex->n, loss_scale, loss_sum, &ns);
    }
    int32_t n = 0, n_rec = 0;
    for (int64_t q = k; q < k_end; q++) {
        const hearth_train_example *x = &d->ex[ord[q]];
        pk->start[n_rec++] = n;
        memcpy(pk->tok + n, x->tokens, (size_t)x->n * sizeof *pk->tok);
        memcpy(pk->mask + n, x->mask, (size_t)x->n);
        n += x->n;
    }
    *n_tok = n - 1;
    return hearth_trainer_forward_backward_packed(t, pk->tok, pk->mask, n, pk->start, n_rec, loss_scale, loss_sum, &ns);
}

static bool report(hearth_train_progress_cb cb, void *user, const hearth_train_progress *pr) {
    return cb ? cb(pr, user) : true;
}

hearth_status hearth_train_run(hearth_trainer *t, const hearth_train_data *data, const hearth_train_data *heldout,
                               const hearth_train_run_params *params, hearth_train_progress_cb cb, void *user,
                               hearth_train_result *res) {
    hearth_train_run_params dp = hearth_train_run_default_params();
    const hearth_train_run_params *p = params ? params : &dp;
    hearth_train_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (!t) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: run needs a trainer");
    int64_t total;
    hearth_status s = hearth_train_plan(data, p, &total, NULL);
    if (s) return s;
    int64_t per_step = (int64_t)p->batch * p->grad_accum, cap = (int64_t)p->n_ctx + 1;
    int32_t *ord = malloc((size_t)data->n * sizeof *ord);
    packer pk = {0};
    if (p->pack) {
        pk.tok = malloc((size_t)cap * sizeof *pk.tok), pk.start = malloc((size_t)cap * sizeof *pk.start);
        pk.mask = malloc((size_t)cap);
    }
    if (!ord || (p->pack && (!pk.tok || !pk.start || !pk.mask))) {
        s = hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    if (p->pack)
        for (int32_t i = 0; i < data->n; i++)
            if (data->ex[i].n > cap) {
                s = hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: record %d has %d tokens, more than n_ctx + 1 = %lld",
                                     i, data->ex[i].n, (long long)cap);
                goto done;
            }

    int64_t pos[8] = {0};   /* checkpoint position: epoch, next record index in the epoch, tokens seen */
    if (p->resume) {
        if ((s = hearth_trainer_load_checkpoint(t, p->resume, pos))) goto done;
        if (pos[0] < 0 || pos[1] < 0 || pos[1] > data->n) {
            s = hearth_set_error(HEARTH_ERR_FORMAT, "train: checkpoint %s is at record %lld of epoch %lld, outside "
                                 "these %d records", p->resume, (long long)pos[1], (long long)pos[0] + 1, data->n);
            goto done;
        }
        hearth_train_progress pr = {.event = HEARTH_TRAIN_RESUMED, .step = hearth_trainer_steps(t),
                                    .total_steps = total, .epoch = pos[0] + 1};
        report(cb, user, &pr);
    }
    double t0 = hearth_time_s(), tok_run = 0;
    int64_t step0 = hearth_trainer_steps(t);
    bool stopped = false;
    for (int64_t e = pos[0]; e < p->epochs && !stopped && hearth_trainer_steps(t) < total; e++) {
        epoch_order(ord, data->n, p->seed, e);
        for (int64_t i = pos[1]; i < data->n && hearth_trainer_steps(t) < total;) {
            /* this step's records: per_step sequences of one record each, or of as many as fit (pack) */
            int64_t i_end = i, n_sc = 0, n_tok = 0;
            for (int64_t k = 0; k < per_step && i_end < data->n; k++) i_end = seq_end(data, ord, i_end, p->pack, cap);
            for (int64_t k = i; k < i_end; k++) n_sc += scored(&data->ex[ord[k]]);
            double lsum = 0;
            for (int64_t k = i; k < i_end && n_sc > 0;) {
                int64_t k_end = seq_end(data, ord, k, p->pack, cap), nt;
                double ls;
                if ((s = run_sequence(t, data, ord, k, k_end, &pk, 1.0f / (float)n_sc, &ls, &nt))) goto done;
                lsum += ls, n_tok += nt;
                k = k_end;
            }
            float lr_now = hearth_trainer_lr(t), gn = 0;
            if ((s = hearth_trainer_step(t, &gn))) goto done;
            pos[0] = e, pos[1] = i_end, pos[2] += n_tok;   /* records, not sequences */
            i = i_end;
            tok_run += (double)n_tok;
            int64_t st = hearth_trainer_steps(t);
            double el = hearth_time_s() - t0;
            hearth_train_progress pr = {
                .event = HEARTH_TRAIN_STEP, .step = st, .total_steps = total, .epoch = e + 1,
                .loss = n_sc ? lsum / (double)n_sc : 0, .n_scored = n_sc, .lr = lr_now, .grad_norm = gn,
                .tokens = pos[2], .tokens_per_s = tok_run / (el > 0 ? el : 1),
                .seconds_left = st > step0 ? (double)(total - st) * el / (double)(st - step0) : 0,
                .record = data->n ? ord[i_end - 1] : 0,
            };
            res->steps = st, res->last_loss = pr.loss;
            bool go = report(cb, user, &pr);
            if (p->checkpoint && p->checkpoint_every > 0 && st % p->checkpoint_every == 0 &&
                (s = hearth_trainer_save_checkpoint(t, p->checkpoint, pos)))
                goto done;
            if (!go || (p->stop_after > 0 && st == p->stop_after)) {
                stopped = true;
                break;
            }
        }
        if (stopped) break;
        pos[1] = 0;
        pos[0] = e + 1;
        if (heldout && heldout->n) {
            double el;
            if ((s = hearth_train_evaluate(t, heldout, &el))) goto done;
            res->eval_loss = el;
            hearth_train_progress pr = {.event = HEARTH_TRAIN_EVAL, .step = hearth_trainer_steps(t),
                                        .total_steps = total, .epoch = e + 1, .loss = el};
            if (!report(cb, user, &pr)) {
                stopped = true;
                break;
            }
        }
    }
    res->steps = hearth_trainer_steps(t);
    res->tokens = pos[2];
    res->seconds = hearth_time_s() - t0;
    res->tokens_per_s = res->seconds > 0 ? tok_run / res->seconds : 0;
    if (stopped) {
        res->stopped = true;
        if (p->checkpoint && (s = hearth_trainer_save_checkpoint(t, p->checkpoint, pos))) goto done;
    }
done:
    free(ord), free(pk.tok), free(pk.start), free(pk.mask);
    return s;
}
