/*
 * model_access.c — the one place where training reads the inference model's
 * internals (src/model/model_internal.h, read-only): hyper-parameters, RoPE
 * settings and views of the weights in their stored type. Everything else in
 * src/train works on its own tmat/tvec views, so a change of the model's
 * private layout is fixed here alone.
 */
#include "model/model_internal.h"
#include "train_internal.h"

#include <stdio.h>
#include <string.h>

static void view(tmat *d, const mweight *s, const char *name) {
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->data = s->data;
    d->type = s->type;
    d->in = s->ne0;
    d->out = s->ne1;
    d->row_bytes = s->row_bytes;
    d->packed = s->packed;
    d->lora = -1;
}

static void vview(tvec *d, const float *s, int64_t n, const char *name) {
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->w = (float *)s;   /* frozen: never written through this pointer */
    d->n = s ? n : 0;
}

void tmodel_pack(const hearth_model *m, tmat *output, tlayer *layers, int n_layer) {
    model_pack((hearth_model *)m);
    if (!output->w && output->data == m->output.data) output->packed = m->output.packed;
    for (int l = 0; l < n_layer; l++) {
        const mlayer *s = &m->layers[l];
        const mweight *src[7] = {&s->wq, &s->wk, &s->wv, &s->wo, &s->w_gate, &s->w_up, &s->w_down};
        for (int i = 0; i < 7; i++) {
            tmat *d = layer_mats(&layers[l], i);
            if (!d->w && d->data == src[i]->data) d->packed = src[i]->packed;
        }
    }
}

void tmodel_release(const tmat *m) {
    if (m->data) model_release_pages(m->data, m->row_bytes * (size_t)m->out);
}

hearth_status tmodel_from_model(const hearth_model *m, thparams *hp, tmat *tok_embd, tvec *output_norm, tmat *output,
                                tlayer *layers, bool *tied) {
    const mhparams *h = &m->hp;
    memset(hp, 0, sizeof *hp);
    snprintf(hp->arch, sizeof hp->arch, "%s", m->arch);
    hp->n_vocab = h->n_vocab;
    hp->n_ctx_train = h->n_ctx_train;
    hp->n_embd = h->n_embd;
    hp->n_layer = h->n_layer;
    hp->n_head = h->n_head;
    hp->n_head_kv = h->n_head_kv;
    hp->head_dim = h->head_dim;
    hp->n_ff = h->n_ff;
    hp->eps = h->eps;
    hp->rope = h->rope;
    if (!layers || !tok_embd || !output_norm || !output || !tied) return HEARTH_OK;   /* hyper-parameters only */
    int64_t dim = h->n_embd, qd = (int64_t)h->n_head * h->head_dim, kvd = (int64_t)h->n_head_kv * h->head_dim;
    view(tok_embd, &m->tok_embd, "token_embd.weight");
    *tied = m->output.data == m->tok_embd.data;
    view(output, &m->output, *tied ? "token_embd.weight" : "output.weight");
    vview(output_norm, m->output_norm, dim, "output_norm.weight");
    for (int l = 0; l < h->n_layer; l++) {
        const mlayer *s = &m->layers[l];
        tlayer *d = &layers[l];
        char n[96];
#define NM(x) (snprintf(n, sizeof n, "blk.%d." x, l), n)
        vview(&d->attn_norm, s->attn_norm, dim, NM("attn_norm.weight"));
        vview(&d->ffn_norm, s->ffn_norm, dim, NM("ffn_norm.weight"));
        vview(&d->bq, s->bq, qd, NM("attn_q.bias"));
        vview(&d->bk, s->bk, kvd, NM("attn_k.bias"));
        vview(&d->bv, s->bv, kvd, NM("attn_v.bias"));
        view(&d->wq, &s->wq, NM("attn_q.weight"));
        view(&d->wk, &s->wk, NM("attn_k.weight"));
        view(&d->wv, &s->wv, NM("attn_v.weight"));
        view(&d->wo, &s->wo, NM("attn_output.weight"));
        view(&d->gate, &s->w_gate, NM("ffn_gate.weight"));
        view(&d->up, &s->w_up, NM("ffn_up.weight"));
        view(&d->down, &s->w_down, NM("ffn_down.weight"));
#undef NM
    }
    return HEARTH_OK;
}
