/*
 * optim.c — the list of trainable tensors, AdamW (decoupled weight decay, not
 * applied to norms and biases), clipping by global norm and the learning-rate
 * schedule (linear warmup, then cosine / linear decay or constant).
 *
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   w -= lr * (m / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps) + wd * w)
 */
#include "train_internal.h"

#include "core/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hearth_status add_param(hearth_trainer *t, const char *name, float *w, float *g, size_t n, bool decay) {
    if (!HEARTH_GROW(t->params, t->params_cap, (size_t)t->n_params + 1))
        return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    tparam *q = &t->params[t->n_params];
    memset(q, 0, sizeof *q);
    snprintf(q->name, sizeof q->name, "%s", name);
    q->w = w, q->g = g, q->n = n, q->decay = decay, q->lr_mult = 1.0f;
    q->m = calloc(n, 4);
    q->v = calloc(n, 4);
    t->n_params++;
    if (!q->m || !q->v) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for optimizer state of %s", name);
    t->mem += 2 * n * 4;
    return HEARTH_OK;
}

hearth_status train_params_build(hearth_trainer *t) {
    hearth_status s = HEARTH_OK;
    if (!t->full) {
        char n[112];
        for (int i = 0; i < t->lora->n && !s; i++) {
            hearth_adapter_weight *w = &t->lora->w[i];
            snprintf(n, sizeof n, "%s.lora_a", w->name);
            s = add_param(t, n, w->a, t->lg_a[i], (size_t)t->lora->r * w->n_in, true);
            snprintf(n, sizeof n, "%s.lora_b", w->name);
            if (!s) s = add_param(t, n, w->b, t->lg_b[i], (size_t)t->lora->r * w->n_out, true);
            if (!s && t->p.lora_plus > 0) t->params[t->n_params - 1].lr_mult = t->p.lora_plus;
        }
        return s;
    }
    s = add_param(t, t->tok_embd.name, t->tok_embd.w, t->tok_embd.g, (size_t)t->tok_embd.in * t->tok_embd.out, true);
    for (int l = 0; l < t->hp.n_layer && !s; l++) {
        tlayer *L = &t->layers[l];
        tvec *vs[5] = {&L->attn_norm, &L->bq, &L->bk, &L->bv, &L->ffn_norm};
        tmat *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (int i = 0; i < 5 && !s; i++)
            if (vs[i]->w) s = add_param(t, vs[i]->name, vs[i]->w, vs[i]->g, (size_t)vs[i]->n, false);
        for (int i = 0; i < 7 && !s; i++) s = add_param(t, ms[i]->name, ms[i]->w, ms[i]->g, (size_t)ms[i]->in * ms[i]->out, true);
    }
    if (!s) s = add_param(t, t->output_norm.name, t->output_norm.w, t->output_norm.g, (size_t)t->output_norm.n, false);
    if (!s && !t->tied) s = add_param(t, t->output.name, t->output.w, t->output.g, (size_t)t->output.in * t->output.out, true);
    return s;
}

float train_lr_at(const hearth_train_params *p, int64_t step) {
    if (p->warmup_steps > 0 && step < p->warmup_steps) return p->lr * (float)(step + 1) / (float)p->warmup_steps;
    if (p->schedule == HEARTH_LR_CONSTANT || p->total_steps <= p->warmup_steps) return p->lr;
    double frac = (double)(step - p->warmup_steps) / (double)(p->total_steps - p->warmup_steps);
    if (frac > 1) frac = 1;
    double lo = p->lr * p->min_lr_ratio, k;
    k = p->schedule == HEARTH_LR_LINEAR ? 1 - frac : 0.5 * (1 + cos(3.141592653589793 * frac));
    return (float)(lo + (p->lr - lo) * k);
}

float hearth_trainer_lr(const hearth_trainer *t) { return train_lr_at(&t->p, t->step); }
int64_t hearth_trainer_steps(const hearth_trainer *t) { return t->step; }

int64_t hearth_trainer_n_trainable(const hearth_trainer *t) {
    int64_t n = 0;
    for (int i = 0; i < t->n_params; i++) n += (int64_t)t->params[i].n;
    return n;
}

hearth_status hearth_trainer_step(hearth_trainer *t, float *grad_norm) {
    const hearth_train_params *p = &t->p;
    /* global norm, in double, in a fixed order */
    double ss = 0;
    for (int i = 0; i < t->n_params; i++) {
        const float *g = t->params[i].g;
        for (size_t j = 0; j < t->params[i].n; j++) ss += (double)g[j] * g[j];
    }
    float norm = (float)sqrt(ss);
    if (grad_norm) *grad_norm = norm;
    if (!isfinite(norm))
        return hearth_set_error(HEARTH_ERR_RANGE, "train: gradient norm is %g at step %lld (diverged; lower --lr)",
                                norm, (long long)t->step + 1);
    float clip = (p->grad_clip > 0 && norm > p->grad_clip) ? p->grad_clip / norm : 1.0f;
    float lr = train_lr_at(p, t->step);
    t->step++;
    double bc1 = 1 - pow(p->beta1, (double)t->step), bc2 = 1 - pow(p->beta2, (double)t->step);
    float b1 = p->beta1, b2 = p->beta2, eps = p->eps;
    for (int i = 0; i < t->n_params; i++) {
        tparam *q = &t->params[i];
        float wd = q->decay ? p->weight_decay : 0.0f, lrq = lr * q->lr_mult;
        for (size_t j = 0; j < q->n; j++) {
            float g = q->g[j] * clip;
            q->m[j] = b1 * q->m[j] + (1 - b1) * g;
            q->v[j] = b2 * q->v[j] + (1 - b2) * g * g;
            float mh = (float)(q->m[j] / bc1), vh = (float)(q->v[j] / bc2);
            q->w[j] -= lrq * (mh / (sqrtf(vh) + eps) + wd * q->w[j]);
        }
        memset(q->g, 0, q->n * 4);
    }
    return HEARTH_OK;
}
