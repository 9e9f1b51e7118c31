/*
 * clip_gen.h — writes random-weight image encoders in llama.cpp's mmproj
 * layout (GGUF "clip", v.* and mm.* tensors) of any shape and weight type,
 * for the tests (other shapes than the shipped file) and the benchmark
 * (a ViT-B/16-shaped encoder). Header-only, for test and bench programs.
 */
#ifndef HEARTH_TEST_CLIP_GEN_H
#define HEARTH_TEST_CLIP_GEN_H

#include "hearth/gguf.h"
#include "kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct clip_shape {
    int image_size, patch, dim, n_head, n_ff, n_block, n_mid, n_out;
    uint32_t wtype;          /* 2-D weights (and the patch kernel when its rows allow) */
    bool mlp_norm;           /* projector mm.0 -> LN mm.1 -> GELU -> mm.3 -> LN mm.4 */
    bool gelu_tanh;          /* clip.use_gelu */
    bool pre_ln, post_ln, patch_bias;
    float mean[3], std[3];
    float eps;
    const char *projector;   /* clip.projector_type; NULL: "mlp" */
    /* two-tower CLIP: a text tower t.* (tokenizer copied from vocab_from), projections to proj_dim */
    bool two_tower;
    int t_dim, t_head, t_ff, t_block, t_ctx, proj_dim;
    const char *vocab_from;
    uint64_t seed;
} clip_shape;

static clip_shape clip_shape_default(void) {
    clip_shape s = {.image_size = 32, .patch = 8, .dim = 32, .n_head = 4, .n_ff = 64, .n_block = 3, .n_mid = 48,
                    .n_out = 40, .wtype = HEARTH_TYPE_F16, .pre_ln = true, .eps = 1e-5f, .seed = 1,
                    .mean = {0.48145466f, 0.4578275f, 0.40821073f}, .std = {0.26862954f, 0.26130258f, 0.27577711f}};
    return s;
}

typedef struct cg_rng {
    uint64_t s;
} cg_rng;

static float cg_uniform(cg_rng *r) {   /* [-1, 1) */
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((r->s >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

/* tensors are kept alive until the writer has written */
typedef struct cg_ctx {
    hearth_gguf_writer *w;
    void *bufs[512];
    int n;
    cg_rng rng;
} cg_ctx;

/* a tensor of ne (up to 4 dims) with values scale * U(-1, 1) + offset, in type */
static void cg_tensor(cg_ctx *c, const char *name, uint32_t type, int nd, int64_t ne0, int64_t ne1, int64_t ne2,
                      int64_t ne3, float scale, float offset) {
    int64_t ne[4] = {ne0, ne1, ne2, ne3}, n = ne0 * ne1 * ne2 * ne3;
    float *f = malloc((size_t)n * sizeof *f);
    for (int64_t i = 0; i < n; i++) f[i] = scale * cg_uniform(&c->rng) + offset;
    /* the type only where the row length allows its blocks */
    const hearth_type_info *ti = hearth_type_get(type);
    if (!ti || ne0 % ti->block_size) type = HEARTH_TYPE_F16;
    void *data = f;
    if (type != HEARTH_TYPE_F32) {
        size_t bytes = hearth_row_size(type, ne0) * (size_t)(n / ne0);
        data = malloc(bytes);
        hearth_type_traits_get(type)->from_float(f, data, n);
        free(f);
    }
    c->bufs[c->n++] = data;
    hearth_gguf_add_tensor(c->w, name, type, nd, ne, data);
}

/* writes the encoder to path; 0 on success */
static int clip_gen_write(const char *path, const clip_shape *s) {
    cg_ctx c = {.w = hearth_gguf_writer_create(), .rng = {s->seed * 2654435761u + 7}};
    hearth_gguf_writer *w = c.w;
    hearth_gguf_set_str(w, "general.architecture", "clip");
    hearth_gguf_set_str(w, "general.name", "random-clip");
    hearth_gguf_set_bool(w, "clip.has_text_encoder", s->two_tower);
    hearth_gguf_set_bool(w, "clip.has_vision_encoder", true);
    hearth_gguf_set_bool(w, "clip.has_llava_projector", !s->two_tower);
    if (!s->two_tower) hearth_gguf_set_str(w, "clip.projector_type", s->projector ? s->projector : "mlp");
    hearth_gguf *vg = NULL;
    if (s->two_tower) {
        hearth_gguf_set_u32(w, "clip.text.embedding_length", (uint32_t)s->t_dim);
        hearth_gguf_set_u32(w, "clip.text.feed_forward_length", (uint32_t)s->t_ff);
        hearth_gguf_set_u32(w, "clip.text.attention.head_count", (uint32_t)s->t_head);
        hearth_gguf_set_u32(w, "clip.text.block_count", (uint32_t)s->t_block);
        hearth_gguf_set_u32(w, "clip.text.context_length", (uint32_t)s->t_ctx);
        hearth_gguf_set_u32(w, "clip.text.projection_dim", (uint32_t)s->proj_dim);
        hearth_gguf_set_f32(w, "clip.logit_scale", 100.0f);
        if (hearth_gguf_open(s->vocab_from, &vg)) return 1;
        for (int64_t i = 0; i < hearth_gguf_n_kv(vg); i++) {
            hearth_str k = hearth_gguf_kv_key(vg, i);
            if (k.len > 10 && !memcmp(k.ptr, "tokenizer.", 10)) hearth_gguf_copy_kv(w, vg, i);
        }
    }
    hearth_gguf_set_u32(w, "clip.vision.image_size", (uint32_t)s->image_size);
    hearth_gguf_set_u32(w, "clip.vision.patch_size", (uint32_t)s->patch);
    hearth_gguf_set_u32(w, "clip.vision.embedding_length", (uint32_t)s->dim);
    hearth_gguf_set_u32(w, "clip.vision.feed_forward_length", (uint32_t)s->n_ff);
    hearth_gguf_set_u32(w, "clip.vision.projection_dim", 768);
    hearth_gguf_set_u32(w, "clip.vision.attention.head_count", (uint32_t)s->n_head);
    hearth_gguf_set_f32(w, "clip.vision.attention.layer_norm_epsilon", s->eps);
    hearth_gguf_set_u32(w, "clip.vision.block_count", (uint32_t)s->n_block);
    hearth_gguf_set_arr(w, "clip.vision.image_mean", HEARTH_GGUF_FLOAT32, s->mean, 3);
    hearth_gguf_set_arr(w, "clip.vision.image_std", HEARTH_GGUF_FLOAT32, s->std, 3);
    hearth_gguf_set_bool(w, "clip.use_gelu", s->gelu_tanh);
    const int64_t d = s->dim, f = s->n_ff, P = s->patch, np = (int64_t)(s->image_size / P) * (s->image_size / P);
    const float ws = 1.0f / sqrtf((float)d), wf = 1.0f / sqrtf((float)f);
    const uint32_t wt = s->wtype, F32 = HEARTH_TYPE_F32;
    char name[96];
    if (s->two_tower) {
        int64_t nv = 0;
        hearth_gguf_arr toks;
        if (!hearth_gguf_get_arr(vg, "tokenizer.ggml.tokens", &toks)) nv = (int64_t)toks.n;
        const int64_t td = s->t_dim, tf = s->t_ff;
        cg_tensor(&c, "visual_projection.weight", wt, 2, d, s->proj_dim, 1, 1, ws, 0);
        cg_tensor(&c, "text_projection.weight", wt, 2, td, s->proj_dim, 1, 1, 1.0f / sqrtf((float)td), 0);
        cg_tensor(&c, "t.token_embd.weight", HEARTH_TYPE_F16, 2, td, nv, 1, 1, 1.0f, 0);
        cg_tensor(&c, "t.position_embd.weight", F32, 2, td, s->t_ctx, 1, 1, 0.5f, 0);
        cg_tensor(&c, "t.post_ln.weight", F32, 1, td, 1, 1, 1, 0.2f, 1);
        cg_tensor(&c, "t.post_ln.bias", F32, 1, td, 1, 1, 1, 0.1f, 0);
        for (int l = 0; l < s->t_block; l++) {
            static const char *att[4] = {"attn_k", "attn_v", "attn_q", "attn_out"};
            for (int i = 0; i < 4; i++) {
                snprintf(name, sizeof name, "t.blk.%d.%s.weight", l, att[i]);
                cg_tensor(&c, name, wt, 2, td, td, 1, 1, 1.0f / sqrtf((float)td), 0);
                snprintf(name, sizeof name, "t.blk.%d.%s.bias", l, att[i]);
                cg_tensor(&c, name, F32, 1, td, 1, 1, 1, 0.1f, 0);
            }
            snprintf(name, sizeof name, "t.blk.%d.ffn_down.weight", l);
            cg_tensor(&c, name, wt, 2, td, tf, 1, 1, 1.0f / sqrtf((float)td), 0);
            snprintf(name, sizeof name, "t.blk.%d.ffn_down.bias", l);
            cg_tensor(&c, name, F32, 1, tf, 1, 1, 1, 0.1f, 0);
            snprintf(name, sizeof name, "t.blk.%d.ffn_up.weight", l);
            cg_tensor(&c, name, wt, 2, tf, td, 1, 1, 1.0f / sqrtf((float)tf), 0);
            snprintf(name, sizeof name, "t.blk.%d.ffn_up.bias", l);
            cg_tensor(&c, name, F32, 1, td, 1, 1, 1, 0.1f, 0);
            for (int k = 1; k <= 2; k++) {
                snprintf(name, sizeof name, "t.blk.%d.ln%d.weight", l, k);
                cg_tensor(&c, name, F32, 1, td, 1, 1, 1, 0.2f, 1);
                snprintf(name, sizeof name, "t.blk.%d.ln%d.bias", l, k);
                cg_tensor(&c, name, F32, 1, td, 1, 1, 1, 0.1f, 0);
            }
        }
    } else if (s->mlp_norm) {
        cg_tensor(&c, "mm.0.weight", wt, 2, d, s->n_mid, 1, 1, ws, 0);
        cg_tensor(&c, "mm.0.bias", F32, 1, s->n_mid, 1, 1, 1, 0.1f, 0);
        cg_tensor(&c, "mm.1.weight", F32, 1, s->n_mid, 1, 1, 1, 0.2f, 1);
        cg_tensor(&c, "mm.1.bias", F32, 1, s->n_mid, 1, 1, 1, 0.1f, 0);
        cg_tensor(&c, "mm.3.weight", wt, 2, s->n_mid, s->n_out, 1, 1, 1.0f / sqrtf((float)s->n_mid), 0);
        cg_tensor(&c, "mm.3.bias", F32, 1, s->n_out, 1, 1, 1, 0.1f, 0);
        cg_tensor(&c, "mm.4.weight", F32, 1, s->n_out, 1, 1, 1, 0.2f, 1);
        cg_tensor(&c, "mm.4.bias", F32, 1, s->n_out, 1, 1, 1, 0.1f, 0);
    } else {   /* mlp */
        cg_tensor(&c, "mm.0.weight", wt, 2, d, s->n_mid, 1, 1, ws, 0);
        cg_tensor(&c, "mm.0.bias", F32, 1, s->n_mid, 1, 1, 1, 0.1f, 0);
        cg_tensor(&c, "mm.2.weight", wt, 2, s->n_mid, s->n_out, 1, 1, 1.0f / sqrtf((float)s->n_mid), 0);
        cg_tensor(&c, "mm.2.bias", F32, 1, s->n_out, 1, 1, 1, 0.1f, 0);
    }
    cg_tensor(&c, "v.class_embd", F32, 1, d, 1, 1, 1, 1.0f, 0);
    cg_tensor(&c, "v.patch_embd.weight", wt, 4, P, P, 3, d, 1.0f / sqrtf(3.0f * P * P), 0);
    if (s->patch_bias) cg_tensor(&c, "v.patch_embd.bias", F32, 1, d, 1, 1, 1, 0.1f, 0);
    cg_tensor(&c, "v.position_embd.weight", HEARTH_TYPE_F16, 2, d, np + 1, 1, 1, 0.5f, 0);
    if (s->pre_ln) {
        cg_tensor(&c, "v.pre_ln.weight", F32, 1, d, 1, 1, 1, 0.2f, 1);
        cg_tensor(&c, "v.pre_ln.bias", F32, 1, d, 1, 1, 1, 0.1f, 0);
    }
    for (int l = 0; l < s->n_block; l++) {
        static const char *att[4] = {"attn_k", "attn_v", "attn_q", "attn_out"};
        for (int i = 0; i < 4; i++) {
            snprintf(name, sizeof name, "v.blk.%d.%s.weight", l, att[i]);
            cg_tensor(&c, name, wt, 2, d, d, 1, 1, ws, 0);
            snprintf(name, sizeof name, "v.blk.%d.%s.bias", l, att[i]);
            cg_tensor(&c, name, F32, 1, d, 1, 1, 1, 0.1f, 0);
        }
        snprintf(name, sizeof name, "v.blk.%d.ffn_down.weight", l);
        cg_tensor(&c, name, wt, 2, d, f, 1, 1, ws, 0);
        snprintf(name, sizeof name, "v.blk.%d.ffn_down.bias", l);
        cg_tensor(&c, name, F32, 1, f, 1, 1, 1, 0.1f, 0);
        snprintf(name, sizeof name, "v.blk.%d.ffn_up.weight", l);
        cg_tensor(&c, name, wt, 2, f, d, 1, 1, wf, 0);
        snprintf(name, sizeof name, "v.blk.%d.ffn_up.bias", l);
        cg_tensor(&c, name, F32, 1, d, 1, 1, 1, 0.1f, 0);
        for (int k = 1; k <= 2; k++) {
            snprintf(name, sizeof name, "v.blk.%d.ln%d.weight", l, k);
            cg_tensor(&c, name, F32, 1, d, 1, 1, 1, 0.2f, 1);
            snprintf(name, sizeof name, "v.blk.%d.ln%d.bias", l, k);
            cg_tensor(&c, name, F32, 1, d, 1, 1, 1, 0.1f, 0);
        }
    }
    if (s->post_ln) {
        cg_tensor(&c, "v.post_ln.weight", F32, 1, d, 1, 1, 1, 0.2f, 1);
        cg_tensor(&c, "v.post_ln.bias", F32, 1, d, 1, 1, 1, 0.1f, 0);
    }
    hearth_gguf_set_u32(w, "general.file_type", wt == HEARTH_TYPE_F32 ? 0 : wt == HEARTH_TYPE_F16 ? 1 : 7);
    int rc = hearth_gguf_writer_write(w, path) == HEARTH_OK ? 0 : 1;
    hearth_gguf_writer_free(w);
    hearth_gguf_close(vg);
    for (int i = 0; i < c.n; i++) free(c.bufs[i]);
    return rc;
}

#endif
