/*
 * adapter_apply.c — LoRA adapters at inference, without merging.
 *
 * hearth_context_set_adapters() arranges the adapters' weights by (layer,
 * projection); the forward (llama.c) calls lora_apply() after each
 * projection with the rows of the sequence that owns the context:
 *
 *   tmp (T, r)     = X (T, n_in) @ A^T        A (r, n_in)
 *   d   (T, n_out) = tmp @ B^T                B (n_out, r)
 *   Y  += s * d                                s = user scale * alpha / r
 *
 * two small F32 matmuls per adapter and projection: 2 r (n_in + n_out)
 * multiply-adds per token, next to n_in n_out for the base weight. The
 * adapters' arrays are borrowed; the set owns only its index and scratch.
 */
#include "adapter_internal.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lora_term {
    const float *a, *b;   /* borrowed from the adapter */
    int32_t r;
    int64_t n_in, n_out;
    float scale;
    int next;             /* next term of the same (layer, projection), -1: none */
} lora_term;

struct lora_set {
    int n_layer;
    int *head;            /* (n_layer * LORA_N_PROJ + 1) first term, -1: none; last: output */
    lora_term *t;
    int n_t;
    int32_t r_max;
    int64_t in_max, out_max;
    /* scratch for T rows */
    size_t cap_T;
    float *tmp, *d;
    void *work;
    size_t work_size;
};

void lora_set_free(lora_set *ls) {
    if (!ls) return;
    free(ls->head);
    free(ls->t);
    free(ls->tmp);
    free(ls->d);
    free(ls->work);
    free(ls);
}

/* GGUF tensor name -> (layer, projection) slot index; -1 if not a projection */
static int slot_of(const char *name, int n_layer) {
    static const char *const proj[LORA_N_PROJ] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                  "ffn_gate", "ffn_up", "ffn_down"};
    if (strcmp(name, "output.weight") == 0) return n_layer * LORA_N_PROJ;
    int l, n = 0;
    if (sscanf(name, "blk.%d.%n", &l, &n) != 1 || n == 0 || l < 0 || l >= n_layer) return -1;
    for (int p = 0; p < LORA_N_PROJ; p++) {
        size_t k = strlen(proj[p]);
        if (strncmp(name + n, proj[p], k) == 0 && strcmp(name + n + k, ".weight") == 0) return l * LORA_N_PROJ + p;
    }
    return -1;
}

static hearth_status grow(lora_set *ls, size_t T) {
    if (T <= ls->cap_T) return HEARTH_OK;
    free(ls->tmp);
    free(ls->d);
    free(ls->work);
    ls->tmp = malloc(T * (size_t)ls->r_max * sizeof(float));
    ls->d = malloc(T * (size_t)ls->out_max * sizeof(float));
    size_t w1 = hearth_matmul_work_size(HEARTH_TYPE_F32, (int64_t)T, ls->in_max);
    size_t w2 = hearth_matmul_work_size(HEARTH_TYPE_F32, (int64_t)T, ls->r_max);
    ls->work_size = w1 > w2 ? w1 : w2;
    ls->work = ls->work_size ? malloc(ls->work_size) : NULL;
    if (!ls->tmp || !ls->d || (ls->work_size && !ls->work)) {
        ls->cap_T = 0;
        return hearth_set_error(HEARTH_ERR_NOMEM, "adapters: out of memory for %zu rows", T);
    }
    ls->cap_T = T;
    return HEARTH_OK;
}

hearth_status lora_apply(lora_set *ls, hearth_pool *pool, int layer, int proj, float *Y, const float *X, int32_t T) {
    if (!ls || T <= 0) return HEARTH_OK;
    int slot = proj == LORA_OUTPUT ? ls->n_layer * LORA_N_PROJ : layer * LORA_N_PROJ + proj;
    if (ls->head[slot] < 0) return HEARTH_OK;
    hearth_status s = grow(ls, (size_t)T);
    if (s) return s;
    const hearth_ops *ops = hearth_ops_get();
    for (int i = ls->head[slot]; i >= 0; i = ls->t[i].next) {
        const lora_term *t = &ls->t[i];
        if ((s = hearth_matmul(pool, ls->tmp, X, t->a, HEARTH_TYPE_F32, T, t->n_in, t->r, ls->work)) ||
            (s = hearth_matmul(pool, ls->d, ls->tmp, t->b, HEARTH_TYPE_F32, T, t->r, t->n_out, ls->work)))
            return s;
        ops->axpy((int64_t)T * t->n_out, t->scale, ls->d, HEARTH_TYPE_F32, Y);
    }
    return HEARTH_OK;
}

hearth_status hearth_context_set_adapters(hearth_context *c, const hearth_adapter *const *adapters,
                                          const float *scales, int n) {
    if (n < 0 || (n > 0 && !adapters)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "adapters: bad list");
    const hearth_model *m = hearth_context_model(c);
    const hearth_gguf *g = hearth_model_gguf(m);
    int n_layer = hearth_model_n_layer(m);
    int total = 0;
    for (int i = 0; i < n; i++) {
        const hearth_adapter *a = adapters[i];
        hearth_status s = hearth_adapter_check(a, g);
        if (s) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", hearth_last_error());
            return hearth_set_error(s, "adapter %d of %d: %s", i + 1, n, msg);
        }
        for (int k = 0; k < a->n; k++)
            if (slot_of(a->w[k].name, n_layer) < 0)
                return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                        "adapter %d of %d: %s is not a projection adapters apply to at inference "
                                        "(attn_q/k/v/output, ffn_gate/up/down, output)",
                                        i + 1, n, a->w[k].name);
        total += a->n;
    }
    lora_set **slot = llama_context_lora_slot(c);
    if (total == 0) {
        lora_set_free(*slot);
        *slot = NULL;
        return HEARTH_OK;
    }
    int n_slots = n_layer * LORA_N_PROJ + 1;
    lora_set *ls = calloc(1, sizeof *ls);
    if (ls) {
        ls->head = malloc((size_t)n_slots * sizeof *ls->head);
        ls->t = calloc((size_t)total, sizeof *ls->t);
    }
    if (!ls || !ls->head || !ls->t) {
        lora_set_free(ls);
        return hearth_set_error(HEARTH_ERR_NOMEM, "adapters: out of memory");
    }
    ls->n_layer = n_layer;
    for (int i = 0; i < n_slots; i++) ls->head[i] = -1;
    int *tail = malloc((size_t)n_slots * sizeof *tail);
    if (!tail) {
        lora_set_free(ls);
        return hearth_set_error(HEARTH_ERR_NOMEM, "adapters: out of memory");
    }
    /* terms in adapter order within each slot (a fixed order of summation) */
    for (int i = 0; i < n; i++) {
        const hearth_adapter *a = adapters[i];
        float sc = (scales ? scales[i] : 1.0f) * hearth_adapter_scale(a);
        if (sc == 0) continue;   /* scale 0: exactly the base model */
        for (int k = 0; k < a->n; k++) {
            const hearth_adapter_weight *w = &a->w[k];
            int sl = slot_of(w->name, n_layer);
            lora_term *t = &ls->t[ls->n_t];
            *t = (lora_term){w->a, w->b, a->r, w->n_in, w->n_out, sc, -1};
            if (ls->head[sl] < 0) ls->head[sl] = ls->n_t;
            else ls->t[tail[sl]].next = ls->n_t;
            tail[sl] = ls->n_t++;
            if (a->r > ls->r_max) ls->r_max = a->r;
            if (w->n_in > ls->in_max) ls->in_max = w->n_in;
            if (w->n_out > ls->out_max) ls->out_max = w->n_out;
        }
    }
    free(tail);
    lora_set_free(*slot);
    *slot = ls->n_t ? ls : NULL;
    if (!ls->n_t) lora_set_free(ls);
    return HEARTH_OK;
}
