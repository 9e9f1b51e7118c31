/*
 * random_model.h — writes a llama-family GGUF with random weights and any
 * shape (used by test_generality and the hearth_make_model tool). The
 * tokenizer metadata (tokenizer.*) is copied from a vocab GGUF; the model's
 * vocabulary size is the vocab's token count.
 */
#ifndef HEARTH_TEST_RANDOM_MODEL_H
#define HEARTH_TEST_RANDOM_MODEL_H

#include "hearth/gguf.h"
#include "kernels/kernels.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rm_params {
    const char *arch;       /* "llama" or "qwen2" (adds Q/K/V biases, NEOX rope) */
    const char *vocab;      /* a GGUF holding tokenizer.* metadata */
    int64_t dim, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
    bool key_length;        /* write attention.key_length (head_dim need not be dim / n_head) */
    bool tied;              /* no output.weight */
    uint32_t type;          /* matrices: F32, F16 or BF16 (norms and biases stay F32) */
    float rope_base;
    uint64_t seed;
    const char *skip[4];    /* tensor names to leave out (error tests) */
    int64_t n_ff_meta;      /* feed_forward_length written to metadata (0: n_ff; error tests) */
} rm_params;

typedef struct rm_state {
    uint64_t s;
    void **bufs;
    int n_bufs;
} rm_state;

static float rm_rand(rm_state *st) {   /* uniform in [-1, 1) */
    st->s ^= st->s << 13; st->s ^= st->s >> 7; st->s ^= st->s << 17;
    return (float)((st->s >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

/* a tensor of ne0 x ne1 random values (scale) or constant (scale 0 -> value) */
static hearth_status rm_tensor(hearth_gguf_writer *w, rm_state *st, const rm_params *p, const char *name,
                               uint32_t type, int64_t ne0, int64_t ne1, float scale, float value) {
    for (int i = 0; i < 4; i++)
        if (p->skip[i] && strcmp(p->skip[i], name) == 0) return HEARTH_OK;
    size_t bytes = hearth_row_size(type, ne0) * (size_t)ne1;
    void *buf = malloc(bytes);
    void **b = realloc(st->bufs, (size_t)(st->n_bufs + 1) * sizeof *b);
    if (!buf || !b) { free(buf); return hearth_set_error(HEARTH_ERR_NOMEM, "random model: out of memory"); }
    st->bufs = b;
    st->bufs[st->n_bufs++] = buf;
    float row[4096];
    size_t rb = hearth_row_size(type, ne0);
    const hearth_type_traits *tt = hearth_type_traits_get(type);
    for (int64_t r = 0; r < ne1; r++) {
        for (int64_t off = 0; off < ne0; off += 4096) {
            int64_t n = ne0 - off < 4096 ? ne0 - off : 4096;
            for (int64_t i = 0; i < n; i++) row[i] = scale != 0 ? scale * rm_rand(st) : value;
            tt->from_float(row, (char *)buf + (size_t)r * rb + hearth_row_size(type, off), n);
        }
    }
    int64_t ne[2] = {ne0, ne1};
    return hearth_gguf_add_tensor(w, name, type, ne1 == 1 ? 1 : 2, ne, buf);
}

static hearth_status rm_write(const rm_params *p, const char *path) {
    hearth_gguf *voc = NULL;
    hearth_status s = hearth_gguf_open(p->vocab, &voc);
    if (s) return s;
    hearth_gguf_arr toks;
    if ((s = hearth_gguf_get_arr(voc, "tokenizer.ggml.tokens", &toks))) { hearth_gguf_close(voc); return s; }
    int64_t n_vocab = (int64_t)toks.n;
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    rm_state st = {p->seed ? p->seed : 88172645463325252ull, NULL, 0};
    char k[128];
    const char *a = p->arch;
    hearth_gguf_set_str(w, "general.architecture", a);
    hearth_gguf_set_str(w, "general.name", "hearth-random");
#define KEY(x) (snprintf(k, sizeof k, "%s." x, a), k)
    hearth_gguf_set_u32(w, KEY("context_length"), (uint32_t)p->n_ctx);
    hearth_gguf_set_u32(w, KEY("embedding_length"), (uint32_t)p->dim);
    hearth_gguf_set_u32(w, KEY("block_count"), (uint32_t)p->n_layer);
    hearth_gguf_set_u32(w, KEY("feed_forward_length"), (uint32_t)(p->n_ff_meta ? p->n_ff_meta : p->n_ff));
    hearth_gguf_set_u32(w, KEY("attention.head_count"), (uint32_t)p->n_head);
    hearth_gguf_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)p->n_head_kv);
    if (p->key_length) {
        hearth_gguf_set_u32(w, KEY("attention.key_length"), (uint32_t)p->head_dim);
        hearth_gguf_set_u32(w, KEY("attention.value_length"), (uint32_t)p->head_dim);
    }
    hearth_gguf_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
    hearth_gguf_set_f32(w, KEY("rope.freq_base"), p->rope_base > 0 ? p->rope_base : 10000.0f);
    hearth_gguf_set_u32(w, KEY("rope.dimension_count"), (uint32_t)p->head_dim);
#undef KEY
    for (int64_t i = 0; i < hearth_gguf_n_kv(voc); i++) {
        hearth_str key = hearth_gguf_kv_key(voc, i);
        if (key.len > 10 && memcmp(key.ptr, "tokenizer.", 10) == 0) hearth_gguf_copy_kv(w, voc, i);
    }
    int64_t q_dim = p->n_head * p->head_dim, kv_dim = p->n_head_kv * p->head_dim;
    float sd = 1.0f / sqrtf((float)p->dim), sf = 1.0f / sqrtf((float)p->n_ff), sq = 1.0f / sqrtf((float)q_dim);
    bool qwen2 = strcmp(a, "qwen2") == 0;
    s = rm_tensor(w, &st, p, "token_embd.weight", p->type, p->dim, n_vocab, 1.0f, 0);
    for (int l = 0; l < p->n_layer && !s; l++) {
        char n[96];
#define T(nm, ty, a0, a1, sc, val) \
    if (!s) s = rm_tensor(w, &st, p, (snprintf(n, sizeof n, "blk.%d." nm, l), n), ty, a0, a1, sc, val)
        T("attn_norm.weight", HEARTH_TYPE_F32, p->dim, 1, 0, 1.0f);
        T("attn_q.weight", p->type, p->dim, q_dim, 2 * sd, 0);
        T("attn_k.weight", p->type, p->dim, kv_dim, 2 * sd, 0);
        T("attn_v.weight", p->type, p->dim, kv_dim, 2 * sd, 0);
        if (qwen2) {
            T("attn_q.bias", HEARTH_TYPE_F32, q_dim, 1, 0.5f, 0);
            T("attn_k.bias", HEARTH_TYPE_F32, kv_dim, 1, 0.5f, 0);
            T("attn_v.bias", HEARTH_TYPE_F32, kv_dim, 1, 0.5f, 0);
        }
        T("attn_output.weight", p->type, q_dim, p->dim, sq, 0);
        T("ffn_norm.weight", HEARTH_TYPE_F32, p->dim, 1, 0, 1.0f);
        T("ffn_gate.weight", p->type, p->dim, p->n_ff, 2 * sd, 0);
        T("ffn_up.weight", p->type, p->dim, p->n_ff, 2 * sd, 0);
        T("ffn_down.weight", p->type, p->n_ff, p->dim, sf, 0);
#undef T
    }
    if (!s) s = rm_tensor(w, &st, p, "output_norm.weight", HEARTH_TYPE_F32, p->dim, 1, 0, 1.0f);
    if (!s && !p->tied) s = rm_tensor(w, &st, p, "output.weight", p->type, p->dim, n_vocab, 2 * sd, 0);
    if (!s) s = hearth_gguf_writer_write(w, path);
    hearth_gguf_writer_free(w);
    hearth_gguf_close(voc);
    for (int i = 0; i < st.n_bufs; i++) free(st.bufs[i]);
    free(st.bufs);
    return s;
}

#endif
