/*
 * checkpoint.c — checkpoints and trained models, both written as GGUF to
 * PATH.tmp and renamed over PATH (atomic on one filesystem).
 *
 * Checkpoint layout:
 *   hearth.ckpt.version  u32 1
 *   hearth.ckpt.step     u64 optimizer steps taken
 *   hearth.ckpt.rng      u64 dropout RNG state
 *   hearth.ckpt.user     i64[8] the caller's position (epoch, example...)
 *   per trainable tensor NAME (F32, 1-D): "p/NAME" weights, "m/NAME" and
 *   "v/NAME" AdamW moments
 */
#include "train_internal.h"

#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hearth_status write_atomic(hearth_gguf_writer *w, const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hearth_status s = hearth_gguf_writer_write(w, tmp);
    if (!s && rename(tmp, path) != 0) s = hearth_set_error(HEARTH_ERR_IO, "cannot rename %s to %s", tmp, path);
    if (s) remove(tmp);
    return s;
}

/* ==== checkpoints ================================================================= */
hearth_status hearth_trainer_save_checkpoint(const hearth_trainer *t, const char *path, const int64_t user[8]) {
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    if (!w) return hearth_set_error(HEARTH_ERR_NOMEM, "checkpoint: out of memory");
    int64_t u[8] = {0};
    if (user) memcpy(u, user, sizeof u);
    hearth_status s = hearth_gguf_set_u32(w, "hearth.ckpt.version", 1);
    if (!s) s = hearth_gguf_set_u64(w, "hearth.ckpt.step", (uint64_t)t->step);
    if (!s) s = hearth_gguf_set_u64(w, "hearth.ckpt.rng", t->rng);
    if (!s) s = hearth_gguf_set_arr(w, "hearth.ckpt.user", HEARTH_GGUF_INT64, u, 8);
    if (!s) s = hearth_gguf_set_bool(w, "hearth.ckpt.full", t->full);
    char name[160];
    for (int i = 0; i < t->n_params && !s; i++) {
        const tparam *q = &t->params[i];
        int64_t ne[1] = {(int64_t)q->n};
        snprintf(name, sizeof name, "p/%s", q->name);
        s = hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F32, 1, ne, q->w);
        snprintf(name, sizeof name, "m/%s", q->name);
        if (!s) s = hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F32, 1, ne, q->m);
        snprintf(name, sizeof name, "v/%s", q->name);
        if (!s) s = hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F32, 1, ne, q->v);
    }
    if (!s) s = write_atomic(w, path);
    hearth_gguf_writer_free(w);
    return s;
}

hearth_status hearth_trainer_load_checkpoint(hearth_trainer *t, const char *path, int64_t user[8]) {
    hearth_gguf *g;
    hearth_status s = hearth_gguf_open(path, &g);
    if (s) return s;
    uint64_t step = 0, rng = 0;
    bool full = false;
    hearth_gguf_arr ua;
    if (hearth_gguf_get_uint(g, "hearth.ckpt.step", &step) || hearth_gguf_get_uint(g, "hearth.ckpt.rng", &rng) ||
        hearth_gguf_get_arr(g, "hearth.ckpt.user", &ua) || ua.n != 8) {
        hearth_gguf_close(g);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: not a hearth training checkpoint", path);
    }
    hearth_gguf_get_bool(g, "hearth.ckpt.full", &full);
    if (full != t->full) {
        hearth_gguf_close(g);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: checkpoint of a %s run, resumed as a %s run", path,
                                full ? "full" : "LoRA", t->full ? "full" : "LoRA");
    }
    /* check everything before changing anything */
    if (hearth_gguf_n_tensors(g) != 3 * (int64_t)t->n_params)
        s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: the checkpoint has %lld trainable tensors, this run %d (other "
                             "targets, rank or model?)", path, (long long)hearth_gguf_n_tensors(g) / 3, t->n_params);
    char name[160];
    for (int i = 0; i < t->n_params && !s; i++) {
        const tparam *q = &t->params[i];
        const char *pre[3] = {"p/", "m/", "v/"};
        for (int k = 0; k < 3 && !s; k++) {
            snprintf(name, sizeof name, "%s%s", pre[k], q->name);
            const hearth_gguf_tensor *x = hearth_gguf_find_tensor(g, name);
            if (!x)
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: no %s in the checkpoint (other targets or model?)", path, name);
            else if (x->type != HEARTH_TYPE_F32 || hearth_gguf_tensor_nelements(x) != (int64_t)q->n)
                s = hearth_set_error(HEARTH_ERR_FORMAT, "%s: %s has %lld values, this run %zu (other rank or model?)",
                                     path, name, (long long)hearth_gguf_tensor_nelements(x), q->n);
        }
    }
    if (!s) {
        for (int i = 0; i < t->n_params; i++) {
            tparam *q = &t->params[i];
            float *dst[3] = {q->w, q->m, q->v};
            const char *pre[3] = {"p/", "m/", "v/"};
            for (int k = 0; k < 3; k++) {
                snprintf(name, sizeof name, "%s%s", pre[k], q->name);
                memcpy(dst[k], hearth_gguf_find_tensor(g, name)->data, q->n * 4);
            }
            memset(q->g, 0, q->n * 4);
        }
        t->step = (int64_t)step;
        t->rng = rng;
        if (user)
            for (int i = 0; i < 8; i++) user[i] = hearth_gguf_arr_int(&ua, (uint64_t)i);
    }
    hearth_gguf_close(g);
    return s;
}

/* ==== trained models (--full, --init) ===================================================== */
typedef struct conv_list {
    void **p;
    size_t n, cap;
} conv_list;

static hearth_status add_weight(hearth_gguf_writer *w, conv_list *cl, const char *name, const float *data, int64_t in,
                                int64_t out, uint32_t wtype) {
    int64_t ne[2] = {in, out};
    int nd = out > 1 ? 2 : 1;
    if (wtype == HEARTH_TYPE_F32 || nd == 1) return hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F32, nd, ne, data);
    size_t n = (size_t)in * out;
    uint16_t *h = malloc(n * 2);
    if (!h || !HEARTH_GROW(cl->p, cl->cap, cl->n + 1)) {
        free(h);
        return hearth_set_error(HEARTH_ERR_NOMEM, "save: out of memory converting %s", name);
    }
    cl->p[cl->n++] = h;
    hearth_type_traits_get(HEARTH_TYPE_F16)->from_float(data, h, (int64_t)n);
    return hearth_gguf_add_tensor(w, name, HEARTH_TYPE_F16, 2, ne, h);
}

static bool copy_key(const char *k, size_t len, bool init) {
    if (len >= 17 && memcmp(k, "general.file_type", 17) == 0) return false;
    if (len >= 17 && memcmp(k, "general.alignment", 17) == 0) return false;
    if (!init) return true;
    return len >= 10 && memcmp(k, "tokenizer.", 10) == 0;
}

hearth_status hearth_trainer_save_model(const hearth_trainer *t, const char *path, uint32_t wtype) {
    if (!t->full) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "save model: LoRA runs save an adapter");
    if (wtype != HEARTH_TYPE_F32 && wtype != HEARTH_TYPE_F16)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "save model: only F32 and F16 (quantize afterwards)");
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    if (!w) return hearth_set_error(HEARTH_ERR_NOMEM, "save: out of memory");
    hearth_status s = HEARTH_OK;
    const thparams *hp = &t->hp;
    if (t->init) {
        char k[96];
        s = hearth_gguf_set_str(w, "general.architecture", "llama");
        if (!s) s = hearth_gguf_set_str(w, "general.name", "hearth-init");
#define ARCHU(key, v) if (!s) { snprintf(k, sizeof k, "llama." key); s = hearth_gguf_set_u32(w, k, (uint32_t)(v)); }
        ARCHU("context_length", hp->n_ctx_train)
        ARCHU("embedding_length", hp->n_embd)
        ARCHU("block_count", hp->n_layer)
        ARCHU("feed_forward_length", hp->n_ff)
        ARCHU("attention.head_count", hp->n_head)
        ARCHU("attention.head_count_kv", hp->n_head_kv)
        ARCHU("rope.dimension_count", hp->rope.n_rot)
#undef ARCHU
        if (!s) s = hearth_gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", hp->eps);
        if (!s) s = hearth_gguf_set_f32(w, "llama.rope.freq_base", hp->rope.freq_base);
    }
    for (int64_t i = 0; i < hearth_gguf_n_kv(t->meta) && !s; i++) {
        hearth_str k = hearth_gguf_kv_key(t->meta, i);
        if (copy_key(k.ptr, k.len, t->init)) s = hearth_gguf_copy_kv(w, t->meta, i);
    }
    if (!s) s = hearth_gguf_set_u32(w, "general.file_type", wtype == HEARTH_TYPE_F16 ? 1 : 0);
    conv_list cl = {0};
    if (!s) s = add_weight(w, &cl, "token_embd.weight", t->tok_embd.w, t->tok_embd.in, t->tok_embd.out, wtype);
    if (!s) s = add_weight(w, &cl, "output_norm.weight", t->output_norm.w, t->output_norm.n, 1, wtype);
    if (!s && !t->tied) s = add_weight(w, &cl, "output.weight", t->output.w, t->output.in, t->output.out, wtype);
    const hearth_gguf_tensor *rf = t->init ? NULL : hearth_gguf_find_tensor(t->meta, "rope_freqs.weight");
    if (!s && rf) s = hearth_gguf_add_tensor(w, rf->name, rf->type, rf->n_dims, rf->ne, rf->data);
    for (int l = 0; l < hp->n_layer && !s; l++) {
        const tlayer *L = &t->layers[l];
        const tvec *vs[5] = {&L->attn_norm, &L->bq, &L->bk, &L->bv, &L->ffn_norm};
        const tmat *ms[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (int i = 0; i < 7 && !s; i++) s = add_weight(w, &cl, ms[i]->name, ms[i]->w, ms[i]->in, ms[i]->out, wtype);
        for (int i = 0; i < 5 && !s; i++)
            if (vs[i]->w) s = add_weight(w, &cl, vs[i]->name, vs[i]->w, vs[i]->n, 1, wtype);
    }
    if (!s) s = write_atomic(w, path);
    for (size_t i = 0; i < cl.n; i++) free(cl.p[i]);
    free(cl.p);
    hearth_gguf_writer_free(w);
    return s;
}
