/*
 * model_train.c — the llama-family training forward (saving what the
 * backward needs) and backward, over a hearth model's weights (frozen, in
 * their stored type, with LoRA) or over trainable F32 weights (--full,
 * --init). The forward is the inference forward of src/model/llama.c step by
 * step (same matmul kernels, RoPE layout, biases, tied output), so its logits
 * match hearth_decode's.
 *
 *   x = token_embd[tokens]
 *   per layer l (saved in act[l]):
 *     xn1 = rmsnorm(x_in) * attn_norm
 *     q, k, v = lin(xn1) (+ LoRA) (+ bias); rope(q), rope(k)
 *     ao = causal_attention(q, k, v)           (att saved)
 *     x_mid = x_in + lin_o(ao)
 *     xn2 = rmsnorm(x_mid) * ffn_norm
 *     hh = silu(lin_gate(xn2)) * lin_up(xn2)
 *     x_out = x_mid + lin_down(hh)
 *   logits = lin_out(rmsnorm(x) * output_norm); loss = masked cross-entropy
 * The backward reads this list in reverse.
 */
#include "train_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hearth_train_params hearth_train_default_params(void) {
    hearth_train_params p = {
        .full = false, .lora_r = 8, .lora_alpha = 32, .lora_dropout = 0.05f, .rslora = false,
        .lora_targets = "q,v", .lora_layers = NULL, .lr = 2e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
        .weight_decay = 0, .grad_clip = 1.0f, .warmup_steps = 0, .total_steps = 0, .schedule = HEARTH_LR_COSINE,
        .min_lr_ratio = 0, .n_ctx = 512, .recompute = false, .compute = HEARTH_TRAIN_COMPUTE_AUTO, .n_threads = 0,
        .seed = 42,
    };
    return p;
}

/* ==== allocation ================================================================= */
static void *talloc(hearth_trainer *t, size_t bytes) {
    void *p = calloc(1, bytes ? bytes : 1);
    if (p) t->mem += bytes;
    return p;
}

tmat *layer_mats(tlayer *L, int i) {
    tmat *m[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
    return m[i];
}
static tvec *layer_vecs(tlayer *L, int i) {
    tvec *v[5] = {&L->attn_norm, &L->ffn_norm, &L->bq, &L->bk, &L->bv};
    return v[i];
}

/* full mode: an owned F32 copy of a frozen matrix, and its gradient */
static hearth_status make_trainable(hearth_trainer *t, tmat *m) {
    if (m->w) return HEARTH_OK;
    size_t n = (size_t)m->in * m->out;
    m->w = talloc(t, n * 4);
    m->g = talloc(t, n * 4);
    if (!m->w || !m->g) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for %s", m->name);
    if (m->data) {
        const hearth_type_traits *tt = hearth_type_traits_get(m->type);
        for (int64_t r = 0; r < m->out; r++)
            tt->to_float((const char *)m->data + (size_t)r * m->row_bytes, m->w + (size_t)r * m->in, m->in);
    }
    return HEARTH_OK;
}

static hearth_status make_trainable_vec(hearth_trainer *t, tvec *v) {
    if (!v->w || v->owned) return HEARTH_OK;
    float *w = talloc(t, (size_t)v->n * 4);
    v->g = talloc(t, (size_t)v->n * 4);
    if (!w || !v->g) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for %s", v->name);
    memcpy(w, v->w, (size_t)v->n * 4);
    v->w = w;
    v->owned = true;
    return HEARTH_OK;
}

/* one layer's internals (everything but x_in) for T tokens; false when out of memory */
static bool alloc_layer_internals(hearth_trainer *t, layer_act *A, size_t T) {
    const thparams *hp = &t->hp;
    size_t C = hp->n_embd, F = hp->n_ff, H = hp->n_head;
    size_t qd = H * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    A->xn1 = talloc(t, T * C * 4), A->rstd1 = talloc(t, T * 4);
    A->q = talloc(t, T * qd * 4), A->k = talloc(t, T * kvd * 4), A->v = talloc(t, T * kvd * 4);
    A->att = talloc(t, H * T * T * 4), A->ao = talloc(t, T * qd * 4);
    A->x_mid = talloc(t, T * C * 4), A->xn2 = talloc(t, T * C * 4), A->rstd2 = talloc(t, T * 4);
    A->gate = talloc(t, T * F * 4), A->up = talloc(t, T * F * 4), A->hh = talloc(t, T * F * 4);
    return A->xn1 && A->rstd1 && A->q && A->k && A->v && A->att && A->ao && A->x_mid && A->xn2 && A->rstd2 &&
           A->gate && A->up && A->hh;
}

static void free_layer_internals(layer_act *A) {
    free(A->xn1), free(A->rstd1), free(A->q), free(A->k), free(A->v), free(A->att);
    free(A->ao), free(A->x_mid), free(A->xn2), free(A->rstd2), free(A->gate), free(A->up), free(A->hh);
}

/* activations and scratch for sequences of up to T_max tokens; with recompute
 * every layer keeps only its input and one set of internals (t->ra) serves all */
static hearth_status alloc_buffers(hearth_trainer *t) {
    const thparams *hp = &t->hp;
    size_t T = (size_t)t->T_max, C = hp->n_embd, F = hp->n_ff, H = hp->n_head, V = hp->n_vocab;
    size_t qd = H * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    size_t max_in = C > F ? C : F, max_out = V;
    if (qd > max_in) max_in = qd;
    bool rc = t->p.recompute;
    t->act = talloc(t, hp->n_layer * sizeof(layer_act));
    if (!t->act) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    for (int l = 0; l < hp->n_layer; l++) {
        layer_act *A = &t->act[l];
        A->x_in = talloc(t, T * C * 4);
        if (!A->x_in || (!rc && !alloc_layer_internals(t, A, T)))
            return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for the activations of %zu tokens", T);
    }
    if (rc && !alloc_layer_internals(t, &t->ra, T))
        return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for the activations of %zu tokens", T);
    t->pos = talloc(t, T * 4), t->start_buf = talloc(t, T * 4);
    if (!t->pos || !t->start_buf) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    t->x_out = talloc(t, T * C * 4), t->xnf = talloc(t, T * C * 4), t->rstdf = talloc(t, T * 4);
    t->logits = talloc(t, T * V * 4), t->losses = talloc(t, T * 4), t->dloss = talloc(t, T * 4);
    t->cs = talloc(t, T * hp->rope.n_rot * 4);
    t->sel = talloc(t, T * 4), t->sel_tgt = talloc(t, T * 4);
    t->dx = talloc(t, T * C * 4), t->dxn = talloc(t, T * C * 4);
    t->dq = talloc(t, T * qd * 4), t->dk = talloc(t, T * kvd * 4), t->dv = talloc(t, T * kvd * 4);
    t->dao = talloc(t, T * qd * 4);
    t->dgate = talloc(t, T * F * 4), t->dup = talloc(t, T * F * 4), t->dhh = talloc(t, T * F * 4);
    size_t tmp_cols = max_in > C ? max_in : C;
    if (t->lora) {
        for (int i = 0; i < t->lora->n; i++)
            if ((size_t)t->lora->w[i].n_out > tmp_cols) tmp_cols = (size_t)t->lora->w[i].n_out;
    }
    t->tmp = talloc(t, T * tmp_cols * 4);
    t->du = talloc(t, T * (t->lora ? (size_t)t->lora->r : 1) * 4);
    t->dxd = talloc(t, T * max_in * 4);
    size_t acc_cols = max_in > (size_t)hp->n_embd ? max_in : (size_t)hp->n_embd;
    t->acc = talloc(t, (size_t)t->nth * T * acc_cols * 4);
    t->tile = talloc(t, (size_t)t->nth * 8 * (max_in > V ? max_in : V) * 4);
    t->att_scratch = talloc(t, (size_t)t->nth * (T * T + T) * 4);   /* attention backward: dS and a row */
    if (!t->x_out || !t->xnf || !t->rstdf || !t->logits || !t->losses || !t->dloss || !t->cs || !t->sel || !t->sel_tgt || !t->dx || !t->dxn ||
        !t->dq || !t->dk || !t->dv || !t->dao || !t->dgate || !t->dup || !t->dhh || !t->tmp || !t->du || !t->dxd ||
        !t->acc || !t->tile || !t->att_scratch)
        return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for buffers of %zu tokens", T);
    (void)max_out;
    if (t->lora) {
        /* per adapter weight, or with recompute per slot of a layer (sized for the widest input) */
        int n_la = rc ? 7 : t->lora->n;
        t->lact = talloc(t, (size_t)n_la * sizeof(lora_act));
        if (!t->lact) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
        for (int i = 0; i < n_la; i++) {
            size_t n_in = rc ? max_in : (size_t)t->lora->w[i].n_in;
            lora_act *la = &t->lact[i];
            la->u = talloc(t, T * t->lora->r * 4);
            if (t->p.lora_dropout > 0) {
                la->xd = talloc(t, T * n_in * 4);
                la->keep = talloc(t, T * n_in);
            }
            if (!la->u || (t->p.lora_dropout > 0 && (!la->xd || !la->keep)))
                return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for LoRA activations");
        }
    }
    /* matmul scratch: the largest over every weight type and row length */
    size_t ws = 0, s;
    const tmat *all[] = {&t->tok_embd, &t->output};
    for (int i = 0; i < 2; i++)
        if ((s = hearth_matmul_work_size(all[i]->w ? HEARTH_TYPE_F32 : all[i]->type, (int64_t)T, all[i]->in)) > ws) ws = s;
    for (int l = 0; l < hp->n_layer; l++)
        for (int i = 0; i < 7; i++) {
            const tmat *m = layer_mats(&t->layers[l], i);
            if ((s = hearth_matmul_work_size(m->w ? HEARTH_TYPE_F32 : m->type, (int64_t)T, m->in)) > ws) ws = s;
            if ((s = hearth_matmul_work_size(HEARTH_TYPE_F32, (int64_t)T, m->in)) > ws) ws = s;
        }
    if ((s = tint8_work_size(t, (int64_t)T)) > ws) ws = s;
    t->work_size = ws;
    t->work = ws ? talloc(t, ws) : NULL;
    if (ws && !t->work) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory for matmul scratch");
    return HEARTH_OK;
}

/* ==== LoRA set-up ================================================================== */
static hearth_status setup_lora(hearth_trainer *t) {
    const hearth_train_params *p = &t->p;
    if (p->lora_r <= 0 || p->lora_r > 4096)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: LoRA rank %d out of range (1..4096)", p->lora_r);
    if (p->lora_dropout < 0 || p->lora_dropout >= 1)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: LoRA dropout %g out of range [0, 1)", p->lora_dropout);
    t->lora = hearth_adapter_create(p->lora_r, p->lora_alpha, p->rslora);
    if (!t->lora) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    snprintf(t->lora->arch, sizeof t->lora->arch, "%s", t->hp.arch);
    t->lora->dropout = p->lora_dropout;
    if (t->model) snprintf(t->lora->base_model, sizeof t->lora->base_model, "%s", hearth_model_name(t->model));
    t->lora_scale = hearth_adapter_scale(t->lora);
    hearth_status s;
    for (int l = 0; l < t->hp.n_layer; l++)
        for (int i = 0; i < 7; i++) {
            tmat *m = layer_mats(&t->layers[l], i);
            bool match = false;
            if ((s = lora_target_match(p->lora_targets, p->lora_layers, m->name, l, &match))) return s;
            if (!match) continue;
            if ((s = hearth_adapter_add(t->lora, m->name, m->in, m->out))) return s;
            m->lora = t->lora->n - 1;
            m->slot = i;
        }
    if (t->lora->n == 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: LoRA targets \"%s\"%s%s match no weight of the model",
                                p->lora_targets ? p->lora_targets : "", p->lora_layers ? " in layers " : "",
                                p->lora_layers ? p->lora_layers : "");
    /* A: kaiming-uniform with a = sqrt(5), as PEFT: U(-1/sqrt(n_in), 1/sqrt(n_in)); B: zeros */
    for (int i = 0; i < t->lora->n; i++) {
        hearth_adapter_weight *w = &t->lora->w[i];
        float bound = 1.0f / sqrtf((float)w->n_in);
        for (int64_t j = 0; j < (int64_t)t->lora->r * w->n_in; j++)
            w->a[j] = (float)((train_rng_uniform(&t->rng) * 2 - 1) * bound);
    }
    t->lg_a = talloc(t, (size_t)t->lora->n * sizeof(float *));
    t->lg_b = talloc(t, (size_t)t->lora->n * sizeof(float *));
    if (!t->lg_a || !t->lg_b) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    for (int i = 0; i < t->lora->n; i++) {
        hearth_adapter_weight *w = &t->lora->w[i];
        t->lg_a[i] = talloc(t, (size_t)t->lora->r * w->n_in * 4);
        t->lg_b[i] = talloc(t, (size_t)t->lora->r * w->n_out * 4);
        if (!t->lg_a[i] || !t->lg_b[i]) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    }
    return HEARTH_OK;
}

static hearth_status finish_create(hearth_trainer *t) {
    hearth_status s;
    if (t->full) {
        if ((s = make_trainable(t, &t->tok_embd))) return s;
        if (t->tied) {
            t->output.w = t->tok_embd.w, t->output.g = t->tok_embd.g, t->output.shared = true;
        } else if ((s = make_trainable(t, &t->output))) {
            return s;
        }
        if ((s = make_trainable_vec(t, &t->output_norm))) return s;
        for (int l = 0; l < t->hp.n_layer; l++) {
            for (int i = 0; i < 7; i++)
                if ((s = make_trainable(t, layer_mats(&t->layers[l], i)))) return s;
            for (int i = 0; i < 5; i++)
                if ((s = make_trainable_vec(t, layer_vecs(&t->layers[l], i)))) return s;
        }
    } else if ((s = setup_lora(t)) || (s = tint8_setup(t))) {
        return s;
    }
    if ((s = alloc_buffers(t))) return s;
    return train_params_build(t);
}

static hearth_status check_params(const hearth_train_params *p) {
    if (p->n_ctx < 2 || p->n_ctx > (1 << 20))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: context %d out of range (2..1048576)", p->n_ctx);
    if (!(p->lr >= 0) || !(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1) || !(p->eps > 0))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: bad optimizer settings (lr %g, betas %g %g, eps %g)",
                                p->lr, p->beta1, p->beta2, p->eps);
    return HEARTH_OK;
}

hearth_status hearth_trainer_create(const hearth_model *m, const hearth_train_params *p, hearth_trainer **out) {
    *out = NULL;
    hearth_train_params dp = hearth_train_default_params();
    if (!p) p = &dp;
    hearth_status s = check_params(p);
    if (s) return s;
    hearth_trainer *t = calloc(1, sizeof *t);
    if (!t) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    t->p = *p;
    t->model = m;
    t->meta = hearth_model_gguf(m);
    t->full = p->full;
    t->rng = p->seed;
    t->pool = hearth_pool_create(p->n_threads);
    t->nth = hearth_pool_size(t->pool);
    t->T_max = p->n_ctx;
    s = tmodel_from_model(m, &t->hp, NULL, NULL, NULL, NULL, NULL);
    if (!s) {
        t->layers = talloc(t, (size_t)t->hp.n_layer * sizeof(tlayer));
        if (!t->layers) s = hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    }
    if (!s) s = tmodel_from_model(m, &t->hp, &t->tok_embd, &t->output_norm, &t->output, t->layers, &t->tied);
    if (!s && !t->pool) s = hearth_set_error(HEARTH_ERR_NOMEM, "train: cannot start threads");
    if (!s) s = finish_create(t);
    if (s) {
        hearth_trainer_free(t);
        return s;
    }
    *out = t;
    return HEARTH_OK;
}

/* ==== a new model (--init) ============================================================ */
static void init_mat(hearth_trainer *t, tmat *m, const char *name, int64_t in, int64_t out) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->type = HEARTH_TYPE_F32;
    m->in = in, m->out = out;
    m->row_bytes = (size_t)in * 4;
    m->lora = -1;
}
/* a trainable vector of ones (absent: w stays NULL); false when out of memory */
static bool init_vec(hearth_trainer *t, tvec *v, const char *name, int64_t n, bool present) {
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    if (!present) return true;
    v->n = n;
    v->w = talloc(t, (size_t)n * 4);
    v->g = talloc(t, (size_t)n * 4);
    v->owned = true;
    if (!v->w || !v->g) return false;
    for (int64_t i = 0; i < n; i++) v->w[i] = 1;
    return true;
}

hearth_status hearth_trainer_create_init(const hearth_gguf *tok, const hearth_init_params *sh,
                                         const hearth_train_params *p, hearth_trainer **out) {
    *out = NULL;
    hearth_train_params dp = hearth_train_default_params();
    if (!p) p = &dp;
    hearth_status s = check_params(p);
    if (s) return s;
    int32_t kvh = sh->n_head_kv > 0 ? sh->n_head_kv : sh->n_head;
    if (sh->n_embd <= 0 || sh->n_layer <= 0 || sh->n_head <= 0 || sh->n_ff <= 0 || sh->n_ctx <= 0 ||
        sh->n_embd % sh->n_head || sh->n_head % kvh || (sh->n_embd / sh->n_head) % 2)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "train --init: bad shape (dim %d, layers %d, heads %d, kv-heads %d, ffn %d, ctx %d): "
                                "dim must split into heads of an even size, heads into kv-heads",
                                sh->n_embd, sh->n_layer, sh->n_head, kvh, sh->n_ff, sh->n_ctx);
    hearth_gguf_arr toks;
    if (hearth_gguf_get_arr(tok, "tokenizer.ggml.tokens", &toks) != HEARTH_OK || toks.n == 0 || toks.n > (1u << 24))
        return hearth_set_error(HEARTH_ERR_FORMAT, "train --init: the tokenizer file has no tokenizer.ggml.tokens");
    hearth_trainer *t = calloc(1, sizeof *t);
    if (!t) return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    t->p = *p;
    t->p.full = true;
    t->full = t->init = true;
    t->meta = tok;
    t->rng = p->seed;
    t->tied = sh->tied;
    t->pool = hearth_pool_create(p->n_threads);
    t->nth = hearth_pool_size(t->pool);
    t->T_max = p->n_ctx;
    thparams *hp = &t->hp;
    snprintf(hp->arch, sizeof hp->arch, "llama");
    hp->n_vocab = (int32_t)toks.n;
    hp->n_ctx_train = sh->n_ctx;
    hp->n_embd = sh->n_embd, hp->n_layer = sh->n_layer, hp->n_head = sh->n_head, hp->n_head_kv = kvh;
    hp->head_dim = sh->n_embd / sh->n_head, hp->n_ff = sh->n_ff;
    hp->eps = sh->eps > 0 ? sh->eps : 1e-5f;
    hp->rope.n_rot = hp->head_dim;
    hp->rope.freq_base = sh->rope_base > 0 ? sh->rope_base : 10000.0f;
    hp->rope.freq_scale = 1, hp->rope.attn_factor = 1, hp->rope.beta_fast = 32, hp->rope.beta_slow = 1;
    hp->rope.n_ctx_orig = sh->n_ctx;
    int64_t C = hp->n_embd, qd = (int64_t)hp->n_head * hp->head_dim, kvd = (int64_t)kvh * hp->head_dim;
    t->layers = talloc(t, (size_t)hp->n_layer * sizeof(tlayer));
    if (!t->layers || !t->pool) {
        hearth_trainer_free(t);
        return hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    }
    init_mat(t, &t->tok_embd, "token_embd.weight", C, hp->n_vocab);
    init_mat(t, &t->output, t->tied ? "token_embd.weight" : "output.weight", C, hp->n_vocab);
    bool ok = init_vec(t, &t->output_norm, "output_norm.weight", C, true);
    for (int l = 0; l < hp->n_layer; l++) {
        tlayer *L = &t->layers[l];
        char n[96];
#define NM(x) (snprintf(n, sizeof n, "blk.%d." x, l), n)
        ok = ok && init_vec(t, &L->attn_norm, NM("attn_norm.weight"), C, true);
        ok = ok && init_vec(t, &L->ffn_norm, NM("ffn_norm.weight"), C, true);
        init_vec(t, &L->bq, NM("attn_q.bias"), qd, false);
        init_vec(t, &L->bk, NM("attn_k.bias"), kvd, false);
        init_vec(t, &L->bv, NM("attn_v.bias"), kvd, false);
        init_mat(t, &L->wq, NM("attn_q.weight"), C, qd);
        init_mat(t, &L->wk, NM("attn_k.weight"), C, kvd);
        init_mat(t, &L->wv, NM("attn_v.weight"), C, kvd);
        init_mat(t, &L->wo, NM("attn_output.weight"), qd, C);
        init_mat(t, &L->gate, NM("ffn_gate.weight"), C, hp->n_ff);
        init_mat(t, &L->up, NM("ffn_up.weight"), C, hp->n_ff);
        init_mat(t, &L->down, NM("ffn_down.weight"), hp->n_ff, C);
#undef NM
    }
    /* make_trainable allocates the matrices; then the values: N(0, 0.02),
     * residual outputs scaled by 1/sqrt(2 n_layer) (GPT-2); norms are 1 */
    s = ok ? finish_create(t) : hearth_set_error(HEARTH_ERR_NOMEM, "train: out of memory");
    if (s) {
        hearth_trainer_free(t);
        return s;
    }
    float std = 0.02f, std_res = 0.02f / sqrtf(2.0f * hp->n_layer);
    uint64_t r = p->seed ^ 0x5151u;
    for (size_t i = 0; i < (size_t)C * hp->n_vocab; i++) t->tok_embd.w[i] = (float)(train_rng_normal(&r) * std);
    if (!t->tied)
        for (size_t i = 0; i < (size_t)C * hp->n_vocab; i++) t->output.w[i] = (float)(train_rng_normal(&r) * std);
    for (int l = 0; l < hp->n_layer; l++) {
        tlayer *L = &t->layers[l];
        for (int k = 0; k < 7; k++) {
            tmat *m = layer_mats(L, k);
            float sd = (m == &L->wo || m == &L->down) ? std_res : std;
            for (size_t i = 0; i < (size_t)m->in * m->out; i++) m->w[i] = (float)(train_rng_normal(&r) * sd);
        }
    }
    *out = t;
    return HEARTH_OK;
}

void hearth_trainer_free(hearth_trainer *t) {
    if (!t) return;
    hearth_pool_free(t->pool);
    tint8_free(t);
    tmat *mats[2] = {&t->tok_embd, &t->output};
    for (int i = 0; i < 2; i++)
        if (!mats[i]->shared) free(mats[i]->w), free(mats[i]->g);
    if (t->output_norm.owned) free(t->output_norm.w);
    free(t->output_norm.g);
    if (t->layers)
        for (int l = 0; l < t->hp.n_layer; l++) {
            for (int i = 0; i < 7; i++) {
                tmat *m = layer_mats(&t->layers[l], i);
                free(m->w), free(m->g);
            }
            for (int i = 0; i < 5; i++) {
                tvec *v = layer_vecs(&t->layers[l], i);
                if (v->owned) free(v->w);
                free(v->g);
            }
        }
    free(t->layers);
    if (t->act)
        for (int l = 0; l < t->hp.n_layer; l++) free(t->act[l].x_in), free_layer_internals(&t->act[l]);
    free(t->act);
    free_layer_internals(&t->ra);
    free(t->pos), free(t->start_buf);
    if (t->lora) {
        int n_la = t->p.recompute ? 7 : t->lora->n;
        for (int i = 0; t->lact && i < n_la; i++) free(t->lact[i].xd), free(t->lact[i].keep), free(t->lact[i].u);
        for (int i = 0; i < t->lora->n; i++) {
            if (t->lg_a) free(t->lg_a[i]);
            if (t->lg_b) free(t->lg_b[i]);
        }
    }
    free(t->lact), free(t->lg_a), free(t->lg_b);
    hearth_adapter_free(t->lora);
    for (int i = 0; i < t->n_params; i++) free(t->params[i].m), free(t->params[i].v);
    free(t->params);
    free(t->x_out), free(t->xnf), free(t->rstdf), free(t->logits), free(t->losses), free(t->dloss), free(t->cs);
    free(t->sel), free(t->sel_tgt);
    free(t->dx), free(t->dxn), free(t->dq), free(t->dk), free(t->dv), free(t->dao), free(t->dgate), free(t->dup);
    free(t->dhh), free(t->tmp), free(t->du), free(t->dxd), free(t->acc), free(t->tile), free(t->att_scratch);
    free(t->work);
    free(t);
}

/* ==== linear layers with LoRA ========================================================= */
static const void *mat_data(const tmat *m, uint32_t *type, size_t *row_bytes) {
    if (m->w) {
        *type = HEARTH_TYPE_F32;
        *row_bytes = (size_t)m->in * 4;
        return m->w;
    }
    *type = m->type;
    *row_bytes = m->row_bytes;
    return m->data;
}

/* the LoRA activations of adapted weight m */
static lora_act *lora_act_of(hearth_trainer *t, const tmat *m) {
    return &t->lact[t->p.recompute ? m->slot : m->lora];
}

/* y (T, out) = x (T, in) @ W^T + scale * dropout(x) A^T B^T */
static hearth_status lin_forward(hearth_trainer *t, const tmat *m, float *y, const float *x, int T, bool train) {
    uint32_t type;
    size_t rb;
    const void *W = mat_data(m, &type, &rb);
    hearth_status s = m->packed ? hearth_matmul_packed(t->pool, y, x, m->packed, type, T, m->in, m->out, t->work)
                                : hearth_matmul(t->pool, y, x, W, type, T, m->in, m->out, t->work);
    if (s || m->lora < 0) return s;
    const hearth_adapter_weight *lw = &t->lora->w[m->lora];
    lora_act *la = lora_act_of(t, m);
    const float *xin = x;
    la->dropped = train && t->p.lora_dropout > 0;
    if (la->dropped) {
        /* each weight's mask from its own stream of this pass, so that a recomputed forward draws the same */
        float p = t->p.lora_dropout, inv = 1.0f / (1.0f - p);
        uint64_t rng = t->drop_seed ^ ((uint64_t)(m->lora + 1) * 0xd1b54a32d192ed03ull);
        size_t n = (size_t)T * m->in;
        for (size_t i = 0; i < n; i++) {
            la->keep[i] = train_rng_uniform(&rng) >= p;
            la->xd[i] = la->keep[i] ? x[i] * inv : 0.0f;
        }
        xin = la->xd;
    }
    int r = t->lora->r;
    if ((s = hearth_matmul(t->pool, la->u, xin, lw->a, HEARTH_TYPE_F32, T, m->in, r, t->work))) return s;
    if ((s = hearth_matmul(t->pool, t->tmp, la->u, lw->b, HEARTH_TYPE_F32, T, r, m->out, t->work))) return s;
    size_t n = (size_t)T * m->out;
    for (size_t i = 0; i < n; i++) y[i] += t->lora_scale * t->tmp[i];
    return HEARTH_OK;
}

/* dx (T, in) += dy @ W (+ LoRA path);  trainable W: dW += dy^T x;  LoRA: dA, dB */
static void lin_backward(hearth_trainer *t, const tmat *m, float *dx, const float *dy, const float *x, int T) {
    uint32_t type;
    size_t rb;
    const void *W = mat_data(m, &type, &rb);
    if (dx && m->packed_t) (void)tint8_matmul_dx(t, m, dx, dy, T, t->dxd);   /* shape checked at set-up; dxd is free until the LoRA part */
    else if (dx) tk_matmul_dx(t, dx, dy, W, type, rb, T, m->in, m->out);
    if (m->g) tk_matmul_dw(t, m->g, 1.0f, dy, x, T, m->in, m->out);
    if (m->lora < 0) return;
    const hearth_adapter_weight *lw = &t->lora->w[m->lora];
    lora_act *la = lora_act_of(t, m);
    int r = t->lora->r;
    const float *xin = la->dropped ? la->xd : x;
    float sc = t->lora_scale;
    /* du = scale * dy @ B;  dB += scale * dy^T u;  dA += du^T xin;  dxin = du @ A */
    memset(t->du, 0, (size_t)T * r * 4);
    tk_matmul_dx(t, t->du, dy, lw->b, HEARTH_TYPE_F32, (size_t)r * 4, T, r, m->out);
    for (size_t i = 0; i < (size_t)T * r; i++) t->du[i] *= sc;
    tk_matmul_dw(t, t->lg_b[m->lora], sc, dy, la->u, T, r, m->out);
    tk_matmul_dw(t, t->lg_a[m->lora], 1.0f, t->du, xin, T, m->in, r);
    if (!dx) return;
    if (!la->dropped) {
        tk_matmul_dx(t, dx, t->du, lw->a, HEARTH_TYPE_F32, (size_t)m->in * 4, T, m->in, r);
        return;
    }
    size_t n = (size_t)T * m->in;
    memset(t->dxd, 0, n * 4);
    tk_matmul_dx(t, t->dxd, t->du, lw->a, HEARTH_TYPE_F32, (size_t)m->in * 4, T, m->in, r);
    float inv = 1.0f / (1.0f - t->p.lora_dropout);
    for (size_t i = 0; i < n; i++)
        if (la->keep[i]) dx[i] += t->dxd[i] * inv;
}

static void add_bias(float *y, const tvec *b, int T) {
    if (!b->w) return;
    for (int t = 0; t < T; t++)
        for (int64_t i = 0; i < b->n; i++) y[t * b->n + i] += b->w[i];
}
static void bias_backward(tvec *b, const float *dy, int T) {
    if (!b->w || !b->g) return;
    for (int t = 0; t < T; t++)
        for (int64_t i = 0; i < b->n; i++) b->g[i] += dy[t * b->n + i];
}

/* ==== attention and cross-entropy over the pool ========================================= */
typedef struct att_job {
    hearth_trainer *t;
    layer_act *A;
    int T;
    bool backward;
} att_job;

static void att_worker(void *arg, int ith, int nth) {
    att_job *j = arg;
    const thparams *hp = &j->t->hp;
    int64_t g0, g1;
    hearth_split_rows(hp->n_head_kv, ith, nth, &g0, &g1);
    if (g0 >= g1) return;
    layer_act *A = j->A;
    if (!j->backward) {
        /* the inference kernel (bit-identical to hearth_decode with an F32 KV cache); it leaves the
         * softmax in the att row, which the backward needs */
        const hearth_ops *ops = hearth_ops_get();
        int T = j->T, H = hp->n_head, hd = hp->head_dim, group = H / hp->n_head_kv;
        size_t qs = (size_t)H * hd, ks = (size_t)hp->n_head_kv * hd;
        float scale = 1.0f / sqrtf((float)hd);
        const int32_t *st = j->t->start;
        for (int h = (int)g0 * group; h < (int)g1 * group; h++)
            for (int t = 0; t < T; t++) {
                float *a = A->att + ((size_t)h * T + t) * T;
                int s0 = st ? st[t] : 0;   /* a packed record sees keys s0..t only */
                size_t off = (size_t)s0 * ks + (size_t)(h / group) * hd;
                memset(a, 0, (size_t)s0 * 4);
                hearth_attention_head(ops, A->ao + t * qs + (size_t)h * hd, A->q + t * qs + (size_t)h * hd,
                                      A->k + off, A->v + off, HEARTH_TYPE_F32, t - s0 + 1, (int64_t)ks, hd, scale,
                                      a + s0);
                memset(a + t + 1, 0, (size_t)(T - t - 1) * 4);
            }
    } else
        tk_attention_backward(j->t->dq, j->t->dk, j->t->dv, j->t->dao, A->q, A->k, A->v, A->att, j->t->start, j->T,
                              hp->n_head, hp->n_head_kv, hp->head_dim, (int)g0, (int)g1,
                              j->t->att_scratch + (size_t)ith * ((size_t)j->T * j->T + j->T));
}

typedef struct ce_job {
    hearth_trainer *t;
    const int32_t *targets;
    int T;
} ce_job;

static void ce_worker(void *arg, int ith, int nth) {
    ce_job *j = arg;
    int64_t t0, t1;
    hearth_split_rows(j->T, ith, nth, &t0, &t1);
    int V = j->t->hp.n_vocab;
    if (t1 > t0)
        crossentropy_forward_f(j->t->losses + t0, j->t->logits + t0 * V, j->t->logits + t0 * V, j->targets + t0,
                               (int)(t1 - t0), V);
}

/* ==== forward ============================================================================= */
/* out = x * rstd * w with the inference kernel (bit-identical to hearth_decode); rstd kept for the backward */
static void rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, int T, int C, float eps) {
    const hearth_ops *ops = hearth_ops_get();
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * C;
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)xt[c] * xt[c];
        rstd[t] = (float)(1.0 / sqrt(ss / C + eps));
        ops->rmsnorm(out + (size_t)t * C, xt, w, C, eps);
    }
}

/* the internals of layer l (into A, whose x_in is the layer's input) and its output x_next */
static hearth_status layer_forward(hearth_trainer *t, int l, layer_act *A, float *x_next, int T, bool train) {
    const thparams *hp = &t->hp;
    const int C = hp->n_embd, H = hp->n_head, KVH = hp->n_head_kv, hd = hp->head_dim, F = hp->n_ff;
    const int qd = H * hd, kvd = KVH * hd, n_rot = hp->rope.n_rot;
    tlayer *L = &t->layers[l];
    hearth_status s;
    /* attention rmsnorm, q k v (+ bias), RoPE */
    rmsnorm_fwd(A->xn1, A->rstd1, A->x_in, L->attn_norm.w, T, C, hp->eps);
    if ((s = lin_forward(t, &L->wq, A->q, A->xn1, T, train)) || (s = lin_forward(t, &L->wk, A->k, A->xn1, T, train)) ||
        (s = lin_forward(t, &L->wv, A->v, A->xn1, T, train)))
        return s;
    add_bias(A->q, &L->bq, T), add_bias(A->k, &L->bk, T), add_bias(A->v, &L->bv, T);
    for (int i = 0; i < T; i++) {   /* the inference kernel; rope_forward_f is the same maths */
        hearth_rope_apply(&hp->rope, A->q + (size_t)i * qd, H, hd, t->cs + (size_t)i * n_rot);
        hearth_rope_apply(&hp->rope, A->k + (size_t)i * kvd, KVH, hd, t->cs + (size_t)i * n_rot);
    }
    /* causal attention (block-diagonal when packed), GQA */
    att_job aj = {t, A, T, false};
    hearth_pool_run(t->pool, att_worker, &aj);
    /* output projection and residual */
    if ((s = lin_forward(t, &L->wo, t->dxn, A->ao, T, train))) return s;
    for (size_t i = 0; i < (size_t)T * C; i++) A->x_mid[i] = A->x_in[i] + t->dxn[i];
    /* ffn rmsnorm, SwiGLU, down projection and residual */
    rmsnorm_fwd(A->xn2, A->rstd2, A->x_mid, L->ffn_norm.w, T, C, hp->eps);
    if ((s = lin_forward(t, &L->gate, A->gate, A->xn2, T, train)) || (s = lin_forward(t, &L->up, A->up, A->xn2, T, train)))
        return s;
    hearth_ops_get()->silu_mul(A->hh, A->gate, A->up, (int64_t)T * F);
    if ((s = lin_forward(t, &L->down, t->dxn, A->hh, T, train))) return s;
    for (size_t i = 0; i < (size_t)T * C; i++) x_next[i] = A->x_mid[i] + t->dxn[i];
    return HEARTH_OK;
}

/* layer l's saved activations: its own, or (recompute) the shared set over its input */
static layer_act *layer_saved(hearth_trainer *t, int l) {
    if (!t->p.recompute) return &t->act[l];
    t->ra.x_in = t->act[l].x_in;
    return &t->ra;
}

static float *layer_output(hearth_trainer *t, int l) {
    return l + 1 < t->hp.n_layer ? t->act[l + 1].x_in : t->x_out;
}

/* Logits only for the t->n_sel positions t->sel[] (ascending): the final
 * normed rows are compacted to the front of xnf, so that logits row j is
 * position sel[j] (only the scored positions need the vocabulary-wide output
 * projection, which dominates small models). RoPE positions from t->pos. */
static hearth_status forward(hearth_trainer *t, const int32_t *tokens, int T, bool train) {
    const thparams *hp = &t->hp;
    const int C = hp->n_embd, n_rot = hp->rope.n_rot;
    hearth_status s;
    if (train) t->drop_seed = train_rng_next(&t->rng);
    /* token embeddings into layer 0's input */
    float *x0 = t->act[0].x_in;
    const hearth_type_traits *et = hearth_type_traits_get(t->tok_embd.type);
    for (int i = 0; i < T; i++) {
        if (t->tok_embd.w)
            memcpy(x0 + (size_t)i * C, t->tok_embd.w + (size_t)tokens[i] * C, (size_t)C * 4);
        else
            et->to_float((const char *)t->tok_embd.data + (size_t)tokens[i] * t->tok_embd.row_bytes, x0 + (size_t)i * C, C);
    }
    for (int i = 0; i < T; i++) hearth_rope_cache(&hp->rope, t->pos[i], t->cs + (size_t)i * n_rot);
    for (int l = 0; l < hp->n_layer; l++)
        if ((s = layer_forward(t, l, layer_saved(t, l), layer_output(t, l), T, train))) return s;
    /* final rmsnorm and logits */
    rmsnorm_fwd(t->xnf, t->rstdf, t->x_out, t->output_norm.w, T, C, hp->eps);
    for (int j = 0; j < t->n_sel; j++)
        if (t->sel[j] != j) memcpy(t->xnf + (size_t)j * C, t->xnf + (size_t)t->sel[j] * C, (size_t)C * 4);
    return lin_forward(t, &t->output, t->logits, t->xnf, t->n_sel, train);
}

/* ==== backward (t->logits holds the softmax of the selected rows; dloss per selected row) ==== */
/* t->dx arrives as d(layer output) and leaves as d(layer input) */
static void layer_backward(hearth_trainer *t, int l, layer_act *A, int T) {
    const thparams *hp = &t->hp;
    const int C = hp->n_embd, H = hp->n_head, KVH = hp->n_head_kv, hd = hp->head_dim, F = hp->n_ff;
    const int qd = H * hd, kvd = KVH * hd, n_rot = hp->rope.n_rot;
    tlayer *L = &t->layers[l];
    /* x_out = x_mid + down(hh): dx flows to x_mid unchanged */
    memset(t->dhh, 0, (size_t)T * F * 4);
    lin_backward(t, &L->down, t->dhh, t->dx, A->hh, T);
    memset(t->dgate, 0, (size_t)T * F * 4);
    memset(t->dup, 0, (size_t)T * F * 4);
    swiglu_backward_f(t->dgate, t->dup, t->dhh, A->gate, A->up, (size_t)T * F);
    memset(t->dxn, 0, (size_t)T * C * 4);
    lin_backward(t, &L->gate, t->dxn, t->dgate, A->xn2, T);
    lin_backward(t, &L->up, t->dxn, t->dup, A->xn2, T);
    rmsnorm_backward_f(t->dx, L->ffn_norm.g, t->dxn, A->x_mid, L->ffn_norm.w, A->rstd2, T, C);
    /* x_mid = x_in + o(ao) */
    memset(t->dao, 0, (size_t)T * qd * 4);
    lin_backward(t, &L->wo, t->dao, t->dx, A->ao, T);
    memset(t->dq, 0, (size_t)T * qd * 4);
    memset(t->dk, 0, (size_t)T * kvd * 4);
    memset(t->dv, 0, (size_t)T * kvd * 4);
    att_job aj = {t, A, T, true};
    hearth_pool_run(t->pool, att_worker, &aj);
    rope_backward_f(t->dq, t->cs, T, H, hd, n_rot, hp->rope.neox);
    rope_backward_f(t->dk, t->cs, T, KVH, hd, n_rot, hp->rope.neox);
    bias_backward(&L->bq, t->dq, T), bias_backward(&L->bk, t->dk, T), bias_backward(&L->bv, t->dv, T);
    memset(t->dxn, 0, (size_t)T * C * 4);
    lin_backward(t, &L->wq, t->dxn, t->dq, A->xn1, T);
    lin_backward(t, &L->wk, t->dxn, t->dk, A->xn1, T);
    lin_backward(t, &L->wv, t->dxn, t->dv, A->xn1, T);
    rmsnorm_backward_f(t->dx, L->attn_norm.g, t->dxn, A->x_in, L->attn_norm.w, A->rstd1, T, C);
}

static hearth_status backward(hearth_trainer *t, const int32_t *tokens, int T) {
    const thparams *hp = &t->hp;
    const int C = hp->n_embd, V = hp->n_vocab;
    const int S = t->n_sel;
    /* cross-entropy: logits become dlogits in place */
    for (int i = 0; i < S; i++) {
        float w = t->dloss[i], *row = t->logits + (size_t)i * V;
        if (w == 0) {
            memset(row, 0, (size_t)V * 4);
            continue;
        }
        for (int v = 0; v < V; v++) row[v] *= w;
        row[t->sel_tgt[i]] -= w;
    }
    /* output projection (selected rows, into tmp) scattered back to their positions, final rmsnorm */
    memset(t->tmp, 0, (size_t)S * C * 4);
    lin_backward(t, &t->output, t->tmp, t->logits, t->xnf, S);
    memset(t->dxn, 0, (size_t)T * C * 4);
    for (int j = 0; j < S; j++) memcpy(t->dxn + (size_t)t->sel[j] * C, t->tmp + (size_t)j * C, (size_t)C * 4);
    memset(t->dx, 0, (size_t)T * C * 4);
    rmsnorm_backward_f(t->dx, t->output_norm.g, t->dxn, t->x_out, t->output_norm.w, t->rstdf, T, C);

    for (int l = hp->n_layer - 1; l >= 0; l--) {
        layer_act *A = layer_saved(t, l);
        /* recompute: rebuild the layer's internals from its saved input (same kernels, same dropout
         * stream: bit-identical to the first forward; it rewrites the layer's output with the same values) */
        if (t->p.recompute) {
            hearth_status s = layer_forward(t, l, A, layer_output(t, l), T, true);
            if (s) return s;
        }
        layer_backward(t, l, A, T);
    }
    if (t->tok_embd.g) embedding_backward_f(t->tok_embd.g, t->dx, tokens, T, C);
    return HEARTH_OK;
}

/* ==== public entry points ===================================================================== */
static hearth_status check_tokens(const hearth_trainer *t, const int32_t *tokens, int32_t n, int32_t max_n) {
    if (!tokens || n < 1 || n > max_n)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: sequence of %d tokens (1..%d allowed)", n, max_n);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= t->hp.n_vocab)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: token %d at %d outside the vocabulary of %d",
                                    tokens[i], i, t->hp.n_vocab);
    return HEARTH_OK;
}

/* positions and record starts of T tokens: one record (starts NULL) or n_rec packed ones */
static hearth_status set_layout(hearth_trainer *t, int T, const int32_t *starts, int32_t n_rec, int32_t n) {
    t->start = NULL;
    if (!starts || n_rec <= 1) {
        if (starts && (n_rec < 1 || starts[0] != 0))
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: packed records must start at 0 (starts[0] = %d)",
                                    n_rec < 1 ? -1 : starts[0]);
        for (int i = 0; i < T; i++) t->pos[i] = i;
        return HEARTH_OK;
    }
    if (starts[0] != 0) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: packed records must start at 0 (starts[0] = %d)", starts[0]);
    for (int32_t k = 1; k < n_rec; k++)
        if (starts[k] <= starts[k - 1] || starts[k] >= n)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                    "train: packed record %d starts at %d, after %d and before the end (%d tokens)", k,
                                    starts[k], starts[k - 1], n);
    for (int32_t k = 0, i = 0; k < n_rec; k++) {
        int32_t end = k + 1 < n_rec ? starts[k + 1] : T;
        for (; i < end && i < T; i++) t->start_buf[i] = starts[k], t->pos[i] = i - starts[k];
    }
    t->start = t->start_buf;
    return HEARTH_OK;
}

static hearth_status loss_pass(hearth_trainer *t, const int32_t *tokens, const uint8_t *mask, int32_t n,
                               const int32_t *starts, int32_t n_rec, bool train, float loss_scale, double *loss_sum,
                               int32_t *n_scored) {
    *loss_sum = 0;
    *n_scored = 0;
    hearth_status s = check_tokens(t, tokens, n, t->T_max + 1);
    if (s) return s;
    int T = n - 1;
    if (T < 1) return HEARTH_OK;
    if ((s = set_layout(t, T, starts, n_rec, n))) return s;
    /* position i predicts tokens[i + 1], unless that token opens the next packed record */
    t->n_sel = 0;
    for (int i = 0, k = 1; i < T; i++) {
        bool opens = starts && k < n_rec && starts[k] == i + 1;
        k += opens;
        if ((!mask || mask[i + 1]) && !opens) t->sel[t->n_sel] = i, t->sel_tgt[t->n_sel++] = tokens[i + 1];
    }
    if (t->n_sel == 0) return HEARTH_OK;   /* nothing scored: no loss, no gradient */
    if ((s = forward(t, tokens, T, train))) return s;
    ce_job cj = {t, t->sel_tgt, t->n_sel};
    hearth_pool_run(t->pool, ce_worker, &cj);
    double sum = 0;
    for (int j = 0; j < t->n_sel; j++) {
        t->dloss[j] = loss_scale;
        sum += t->losses[j];
    }
    *loss_sum = sum;
    *n_scored = t->n_sel;
    if (train) return backward(t, tokens, T);
    return HEARTH_OK;
}

hearth_status hearth_trainer_forward_backward(hearth_trainer *t, const int32_t *tokens, const uint8_t *mask, int32_t n,
                                              float loss_scale, double *loss_sum, int32_t *n_scored) {
    return loss_pass(t, tokens, mask, n, NULL, 0, true, loss_scale, loss_sum, n_scored);
}

hearth_status hearth_trainer_forward_backward_packed(hearth_trainer *t, const int32_t *tokens, const uint8_t *mask,
                                                     int32_t n, const int32_t *starts, int32_t n_rec,
                                                     float loss_scale, double *loss_sum, int32_t *n_scored) {
    if (!starts || n_rec < 1)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: packed sequence without record starts (%d records)", n_rec);
    return loss_pass(t, tokens, mask, n, starts, n_rec, true, loss_scale, loss_sum, n_scored);
}

hearth_status hearth_trainer_eval(hearth_trainer *t, const int32_t *tokens, const uint8_t *mask, int32_t n,
                                  double *loss_sum, int32_t *n_scored) {
    return loss_pass(t, tokens, mask, n, NULL, 0, false, 0, loss_sum, n_scored);
}

hearth_status hearth_trainer_logits(hearth_trainer *t, const int32_t *tokens, int32_t n, float *logits) {
    hearth_status s = check_tokens(t, tokens, n, t->T_max);
    if (s) return s;
    set_layout(t, n, NULL, 0, n);
    t->n_sel = n;
    for (int i = 0; i < n; i++) t->sel[i] = i;
    if ((s = forward(t, tokens, n, false))) return s;
    memcpy(logits, t->logits, (size_t)n * t->hp.n_vocab * 4);
    return HEARTH_OK;
}

const hearth_adapter *hearth_trainer_lora(const hearth_trainer *t) { return t->full ? NULL : t->lora; }

hearth_status hearth_trainer_set_lora(hearth_trainer *t, const hearth_adapter *from) {
    if (!t || !from) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: set_lora needs a trainer and an adapter");
    if (t->full) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "train: a starting adapter needs LoRA training, not --full");
    const hearth_adapter *a = t->lora;
    if (from->r != a->r || from->rslora != a->rslora || fabsf(hearth_adapter_scale(from) - t->lora_scale) > 1e-6f * t->lora_scale)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "train: the starting adapter has rank %d, scale %g%s; training uses rank %d, scale %g%s",
                                from->r, hearth_adapter_scale(from), from->rslora ? " (rsLoRA)" : "", a->r,
                                t->lora_scale, a->rslora ? " (rsLoRA)" : "");
    if (from->n != a->n)
        return hearth_set_error(HEARTH_ERR_FORMAT, "train: the starting adapter has %d weights, training targets %d",
                                from->n, a->n);
    for (int i = 0; i < a->n; i++) {
        const hearth_adapter_weight *w = &a->w[i], *f = hearth_adapter_find(from, w->name);
        if (!f) return hearth_set_error(HEARTH_ERR_FORMAT, "train: the starting adapter has no weight for %s", w->name);
        if (f->n_in != w->n_in || f->n_out != w->n_out)
            return hearth_set_error(HEARTH_ERR_FORMAT, "train: starting adapter weight %s is %lld x %lld, the model's %lld x %lld",
                                    w->name, (long long)f->n_out, (long long)f->n_in, (long long)w->n_out,
                                    (long long)w->n_in);
    }
    for (int i = 0; i < a->n; i++) {
        hearth_adapter_weight *w = &a->w[i];
        const hearth_adapter_weight *f = hearth_adapter_find(from, w->name);
        memcpy(w->a, f->a, (size_t)a->r * w->n_in * 4);
        memcpy(w->b, f->b, (size_t)a->r * w->n_out * 4);
    }
    return HEARTH_OK;
}
size_t hearth_trainer_memory(const hearth_trainer *t) { return t->mem; }
int32_t hearth_trainer_n_vocab(const hearth_trainer *t) { return t->hp.n_vocab; }
int hearth_trainer_int8_matrices(const hearth_trainer *t) { return t->n_int8; }
