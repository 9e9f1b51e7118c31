/*
 * clip.c — llama.cpp "mmproj" image encoders (include/hearth/clip.h): the
 * CLIP ViT and the LLaVA projector, loading, preprocessing and forward.
 *
 * The forward over T = 1 + n_patches rows (the class token first):
 *   x = [class_embd; im2col(image) @ Wpatch^T (+ b)] + pos_embd      (T, dim)
 *   x = layernorm(x) * pre_ln + b                                    (if present)
 *   per block l < n_block - 1:
 *     xb = layernorm(x) * ln1 + b
 *     q, k, v = xb @ Wq^T + bq, xb @ Wk^T + bk, xb @ Wv^T + bv
 *     att = softmax(q k^T / sqrt(head_dim)) v                         per head, no mask
 *     x += att @ Wo^T + bo
 *     xb = layernorm(x) * ln2 + b
 *     x += gelu(xb @ Wffn_down^T + b) @ Wffn_up^T + b     (down: dim -> n_ff, as named in the file)
 *   x = layernorm(x) * post_ln + b                                   (if present)
 *   y = projector(x[1 .. T))                                         (n_patches, n_out)
 * Matmuls, attention and the norms are hearth's shared kernels
 * (hearth_matmul / packed tiles, hearth_attention_head, model_layernorm).
 */
#include "hearth/clip.h"
#include "hearth/generate.h"
#include "hearth/gguf.h"
#include "model_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== the model ==================================================================== */
typedef struct cblock {
    const float *ln1, *ln1_b, *ln2, *ln2_b;   /* (dim) */
    mweight wq, wk, wv, wo;                   /* (dim, dim) */
    const float *bq, *bk, *bv, *bo;           /* (dim) */
    mweight ffn_down;                         /* (n_ff, dim): the first FFN matrix */
    const float *ffn_down_b;                  /* (n_ff) */
    mweight ffn_up;                           /* (dim, n_ff) */
    const float *ffn_up_b;                    /* (dim) */
} cblock;

enum { PROJ_MLP = 0, PROJ_MLP_NORM = 1 };

struct hearth_clip {
    hearth_gguf *gguf;
    char *name;
    /* hyper-parameters */
    int32_t image_size, patch, dim, n_head, n_ff, n_block, n_run;
    int32_t n_patches, n_pos;   /* n_pos = n_patches + 1 (class token) */
    float eps, mean[3], std[3];
    bool gelu_tanh;             /* clip.use_gelu; else quick GELU */
    int proj_type;
    int32_t n_mid, n_out;       /* projector hidden and output sizes */
    /* weights */
    mweight patch_embd;         /* (dim, 3 * patch * patch): rows (c, ky, kx) */
    const float *patch_b;       /* (dim) or NULL */
    const float *class_embd;    /* (dim) */
    const float *pos_embd;      /* (n_pos, dim) */
    const float *pre_ln, *pre_ln_b, *post_ln, *post_ln_b;   /* or NULL */
    cblock *blocks;             /* n_block (only n_run run) */
    mweight mm0, mm2;           /* (n_mid, dim), (n_out, n_mid); mlp_norm: mm2 is mm.3 */
    const float *mm0_b, *mm2_b;
    const float *mm1, *mm1_b, *mm4, *mm4_b;   /* mlp_norm's LayerNorms */
    /* two-tower CLIP (clip.has_text_encoder, no LLaVA projector): pooled, projected embeddings */
    bool two_tower;
    mweight v_proj;             /* visual_projection (proj_dim, dim) */
    hearth_vocab *vocab;        /* the text tower's tokenizer (from the same file) */
    int32_t t_dim, t_head, t_ff, t_block, t_ctx, proj_dim;
    mweight t_tok;              /* (n_vocab, t_dim) */
    const float *t_pos;         /* (t_ctx, t_dim) */
    cblock *t_blocks;           /* t_block, all run */
    const float *t_post, *t_post_b;   /* final LayerNorm */
    mweight t_proj;             /* text_projection (proj_dim, t_dim) */
    float logit_scale;
    float *tx, *txb, *tq, *tk, *tv, *tao, *thb, *pooled;   /* text activations (t_ctx rows) */
    void **owned;               /* vectors converted to F32 */
    int n_owned, cap_owned;
    void *pack_arena;
    size_t pack_bytes;
    /* state for one image */
    hearth_pool *pool;
    float *x, *xb, *q, *k, *v, *ao, *hb, *cols, *att, *planes;
    void *work;
};

hearth_clip_params hearth_clip_default_params(void) {
    hearth_clip_params p = {.n_threads = 0};
    return p;
}

void hearth_clip_free(hearth_clip *v) {
    if (!v) return;
    for (int i = 0; i < v->n_owned; i++) free(v->owned[i]);
    free(v->owned);
    free(v->blocks);
    free(v->name);
    hearth_huge_free(v->pack_arena, v->pack_bytes);
    hearth_pool_free(v->pool);
    free(v->x); free(v->xb); free(v->q); free(v->k); free(v->v); free(v->ao);
    free(v->hb); free(v->cols); free(v->att); free(v->planes); free(v->work);
    free(v->t_blocks);
    hearth_vocab_free(v->vocab);
    free(v->tx); free(v->txb); free(v->tq); free(v->tk); free(v->tv); free(v->tao); free(v->thb); free(v->pooled);
    hearth_gguf_close(v->gguf);
    free(v);
}

int32_t hearth_clip_image_size(const hearth_clip *v) { return v->image_size; }
int32_t hearth_clip_patch_size(const hearth_clip *v) { return v->patch; }
int32_t hearth_clip_n_tokens(const hearth_clip *v) { return v->n_patches; }
int32_t hearth_clip_n_embd(const hearth_clip *v) { return v->n_out; }
const char *hearth_clip_projector(const hearth_clip *v) {
    return v->two_tower ? "none (two-tower CLIP)" : v->proj_type == PROJ_MLP ? "mlp" : "mlp_norm";
}
bool hearth_clip_has_text(const hearth_clip *v) { return v->two_tower; }
int32_t hearth_clip_embd_dim(const hearth_clip *v) { return v->two_tower ? v->proj_dim : v->n_out; }
const char *hearth_clip_name(const hearth_clip *v) { return v->name; }

/* ==== loading ========================================================================= */
static int64_t get_int(const hearth_gguf *g, const char *key, int64_t def, problems *pr) {
    int64_t x = def;
    hearth_status s = hearth_gguf_get_int(g, key, &x);
    if (s == HEARTH_ERR_NOT_FOUND && def >= 0) return def;
    if (s) model_problem(pr, "%s: %s", key, hearth_last_error());
    return x;
}

/* a weight matrix of ne1 rows of ne0 (a 4-D convolution kernel counts its
 * first three dimensions as the row) */
static void get_matrix(hearth_clip *v, mweight *w, const char *name, int64_t ne0, int64_t ne1, problems *pr) {
    const hearth_gguf_tensor *t = hearth_gguf_find_tensor(v->gguf, name);
    memset(w, 0, sizeof *w);
    if (!t) {
        model_problem(pr, "missing tensor %s", name);
        return;
    }
    int64_t rows = t->n_dims == 4 ? t->ne[3] : t->ne[1], row = t->n_dims == 4 ? t->ne[0] * t->ne[1] * t->ne[2] : t->ne[0];
    if ((t->n_dims != 2 && t->n_dims != 4) || row != ne0 || rows != ne1 || (t->n_dims == 2 && (t->ne[2] != 1 || t->ne[3] != 1))) {
        model_problem(pr, "%s has shape [%lld, %lld, %lld, %lld], expected %lld x %lld", name, (long long)t->ne[0],
                      (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], (long long)ne0, (long long)ne1);
        return;
    }
    const hearth_type_traits *tr = hearth_type_traits_get(t->type);
    const hearth_type_info *ti = hearth_type_get(t->type);
    if (!tr || !tr->vec_dot || !ti) {
        model_problem(pr, "%s is of type %s, which hearth cannot compute with", name, ti ? ti->name : "unknown");
        return;
    }
    if (ne0 % ti->block_size) {
        model_problem(pr, "%s: rows of %lld are not a multiple of %s's block of %lld", name, (long long)ne0, ti->name,
                      (long long)ti->block_size);
        return;
    }
    w->data = t->data;
    w->type = t->type;
    w->ne0 = ne0;
    w->ne1 = ne1;
    w->row_bytes = hearth_row_size(t->type, ne0);
}

/* n floats (F32 in the file, or converted into an owned copy); NULL if
 * absent and not required */
static const float *get_vector(hearth_clip *v, const char *name, int64_t n, bool required, problems *pr) {
    const hearth_gguf_tensor *t = hearth_gguf_find_tensor(v->gguf, name);
    if (!t) {
        if (required) model_problem(pr, "missing tensor %s", name);
        return NULL;
    }
    if (hearth_gguf_tensor_nelements(t) != n) {
        model_problem(pr, "%s has %lld elements, expected %lld", name, (long long)hearth_gguf_tensor_nelements(t),
                      (long long)n);
        return NULL;
    }
    if (t->type == HEARTH_TYPE_F32) return t->data;
    const hearth_type_traits *tr = hearth_type_traits_get(t->type);
    const hearth_type_info *ti = hearth_type_get(t->type);
    if (!tr || !tr->to_float || !ti || n % ti->block_size) {
        model_problem(pr, "%s: type %s cannot be read as floats", name, ti ? ti->name : "unknown");
        return NULL;
    }
    float *f = malloc((size_t)n * sizeof *f);
    if (v->n_owned == v->cap_owned) {
        int cap = v->cap_owned ? 2 * v->cap_owned : 64;
        void **o = realloc(v->owned, (size_t)cap * sizeof *o);
        if (o) v->owned = o, v->cap_owned = cap;
    }
    if (!f || v->n_owned == v->cap_owned) {
        free(f);
        model_problem(pr, "out of memory for %s", name);
        return NULL;
    }
    v->owned[v->n_owned++] = f;
    tr->to_float(t->data, f, n);
    return f;
}

static void read_floats3(hearth_clip *v, const char *key, float *out, const float *def, problems *pr) {
    hearth_gguf_arr a;
    hearth_status s = hearth_gguf_get_arr(v->gguf, key, &a);
    if (s == HEARTH_ERR_NOT_FOUND) {
        memcpy(out, def, 3 * sizeof *out);
        return;
    }
    if (s || a.n != 3) {
        model_problem(pr, "%s: expected an array of 3 numbers", key);
        return;
    }
    for (int i = 0; i < 3; i++) out[i] = (float)hearth_gguf_arr_float(&a, (uint64_t)i);
}

/* repacks the matrices the packed kernels take (AVX-512 VNNI; Q8_0, Q4_0...) */
static void pack_weights(hearth_clip *v) {
    mweight *ws[512];
    int n = 0;
    for (int l = 0; l < v->n_run && n + 6 <= 500; l++) {
        cblock *b = &v->blocks[l];
        ws[n++] = &b->wq, ws[n++] = &b->wk, ws[n++] = &b->wv, ws[n++] = &b->wo, ws[n++] = &b->ffn_down, ws[n++] = &b->ffn_up;
    }
    ws[n++] = &v->mm0, ws[n++] = &v->mm2, ws[n++] = &v->patch_embd;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (hearth_pack_supported(ws[i]->type, ws[i]->ne0, ws[i]->ne1))
            total += (hearth_pack_size(ws[i]->type, ws[i]->ne0, ws[i]->ne1) + 63) & ~(size_t)63;
    if (!total || !(v->pack_arena = hearth_huge_alloc(total))) return;
    v->pack_bytes = total;
    char *p = v->pack_arena;
    for (int i = 0; i < n; i++)
        if (hearth_pack_supported(ws[i]->type, ws[i]->ne0, ws[i]->ne1)) {
            hearth_pack(ws[i]->type, ws[i]->data, ws[i]->ne0, ws[i]->ne1, p);
            ws[i]->packed = p;
            p += (hearth_pack_size(ws[i]->type, ws[i]->ne0, ws[i]->ne1) + 63) & ~(size_t)63;
        }
}

/* the pre-norm transformer blocks "<prefix>.blk.l.*" of dim / n_ff */
static void load_blocks(hearth_clip *v, cblock *blocks, int n, const char *prefix, int64_t dim, int64_t n_ff,
                        problems *pr) {
    char name[96];
    for (int l = 0; l < n; l++) {
        cblock *b = &blocks[l];
#define M(field, t, ne0, ne1) (snprintf(name, sizeof name, "%s.blk.%d.%s.weight", prefix, l, t), get_matrix(v, &b->field, name, ne0, ne1, pr))
#define V(field, t, suffix, n) (snprintf(name, sizeof name, "%s.blk.%d.%s.%s", prefix, l, t, suffix), b->field = get_vector(v, name, n, true, pr))
        M(wq, "attn_q", dim, dim); V(bq, "attn_q", "bias", dim);
        M(wk, "attn_k", dim, dim); V(bk, "attn_k", "bias", dim);
        M(wv, "attn_v", dim, dim); V(bv, "attn_v", "bias", dim);
        M(wo, "attn_out", dim, dim); V(bo, "attn_out", "bias", dim);
        V(ln1, "ln1", "weight", dim); V(ln1_b, "ln1", "bias", dim);
        V(ln2, "ln2", "weight", dim); V(ln2_b, "ln2", "bias", dim);
        M(ffn_down, "ffn_down", dim, n_ff); V(ffn_down_b, "ffn_down", "bias", n_ff);
        M(ffn_up, "ffn_up", n_ff, dim); V(ffn_up_b, "ffn_up", "bias", dim);
#undef M
#undef V
    }
}

/* two-tower: the projections, the text tower and its tokenizer */
static hearth_status load_text_tower(hearth_clip *v, problems *pr) {
    const hearth_gguf *g = v->gguf;
    v->t_dim = (int32_t)get_int(g, "clip.text.embedding_length", -1, pr);
    v->t_ff = (int32_t)get_int(g, "clip.text.feed_forward_length", -1, pr);
    v->t_head = (int32_t)get_int(g, "clip.text.attention.head_count", -1, pr);
    v->t_block = (int32_t)get_int(g, "clip.text.block_count", -1, pr);
    v->t_ctx = (int32_t)get_int(g, "clip.text.context_length", 77, pr);
    v->proj_dim = (int32_t)get_int(g, "clip.text.projection_dim", -1, pr);
    double ls = 100.0;   /* exp(logit_scale) of OpenAI CLIP */
    hearth_gguf_get_float(g, "clip.logit_scale", &ls);
    v->logit_scale = (float)ls;
    if (pr->n) return HEARTH_OK;
    if (v->t_dim <= 0 || v->t_head <= 0 || v->t_dim % v->t_head || v->t_ff <= 0 || v->t_block < 1 ||
        v->t_block > 1000 || v->t_ctx < 2 || v->t_ctx > 4096 || v->proj_dim <= 0) {
        model_problem(pr, "bad text tower sizes: dim %d, %d heads, FFN %d, %d blocks, context %d, projection %d",
                      v->t_dim, v->t_head, v->t_ff, v->t_block, v->t_ctx, v->proj_dim);
        return HEARTH_OK;
    }
    hearth_status s = hearth_vocab_load(g, &v->vocab);
    if (s) {
        model_problem(pr, "text tokenizer: %s", hearth_last_error());
        return HEARTH_OK;
    }
    get_matrix(v, &v->v_proj, "visual_projection.weight", v->dim, v->proj_dim, pr);
    get_matrix(v, &v->t_proj, "text_projection.weight", v->t_dim, v->proj_dim, pr);
    get_matrix(v, &v->t_tok, "t.token_embd.weight", v->t_dim, hearth_vocab_n_tokens(v->vocab), pr);
    v->t_pos = get_vector(v, "t.position_embd.weight", (int64_t)v->t_ctx * v->t_dim, true, pr);
    v->t_post = get_vector(v, "t.post_ln.weight", v->t_dim, true, pr);
    v->t_post_b = get_vector(v, "t.post_ln.bias", v->t_dim, true, pr);
    if (!(v->t_blocks = calloc((size_t)v->t_block, sizeof *v->t_blocks)))
        return hearth_set_error(HEARTH_ERR_NOMEM, "clip: out of memory");
    load_blocks(v, v->t_blocks, v->t_block, "t", v->t_dim, v->t_ff, pr);
    return HEARTH_OK;
}

static hearth_status load_weights(hearth_clip *v, problems *pr) {
    const int64_t dim = v->dim, n_ff = v->n_ff;
    get_matrix(v, &v->patch_embd, "v.patch_embd.weight", 3 * (int64_t)v->patch * v->patch, dim, pr);
    v->patch_b = get_vector(v, "v.patch_embd.bias", dim, false, pr);
    v->class_embd = get_vector(v, "v.class_embd", dim, true, pr);
    v->pos_embd = get_vector(v, "v.position_embd.weight", (int64_t)v->n_pos * dim, true, pr);
    v->pre_ln = get_vector(v, "v.pre_ln.weight", dim, false, pr);
    v->pre_ln_b = get_vector(v, "v.pre_ln.bias", dim, v->pre_ln != NULL, pr);
    v->post_ln = get_vector(v, "v.post_ln.weight", dim, false, pr);
    v->post_ln_b = get_vector(v, "v.post_ln.bias", dim, v->post_ln != NULL, pr);
    v->blocks = calloc((size_t)v->n_block, sizeof *v->blocks);
    if (!v->blocks) return hearth_set_error(HEARTH_ERR_NOMEM, "clip: out of memory");
    load_blocks(v, v->blocks, v->n_run, "v", dim, n_ff, pr);   /* blocks that never run may be absent */
    if (v->two_tower) return load_text_tower(v, pr);
    /* projector: sizes from its tensors (the output size is the last bias's,
     * not clip.vision.projection_dim) */
    const hearth_gguf_tensor *b0 = hearth_gguf_find_tensor(v->gguf, "mm.0.bias");
    const char *last = v->proj_type == PROJ_MLP ? "mm.2.bias" : "mm.3.bias";
    const hearth_gguf_tensor *b2 = hearth_gguf_find_tensor(v->gguf, last);
    if (!b0 || !b2) {
        model_problem(pr, "missing projector tensor %s", !b0 ? "mm.0.bias" : last);
        return HEARTH_OK;
    }
    v->n_mid = (int32_t)hearth_gguf_tensor_nelements(b0);
    v->n_out = (int32_t)hearth_gguf_tensor_nelements(b2);
    get_matrix(v, &v->mm0, "mm.0.weight", dim, v->n_mid, pr);
    v->mm0_b = get_vector(v, "mm.0.bias", v->n_mid, true, pr);
    get_matrix(v, &v->mm2, v->proj_type == PROJ_MLP ? "mm.2.weight" : "mm.3.weight", v->n_mid, v->n_out, pr);
    v->mm2_b = get_vector(v, last, v->n_out, true, pr);
    if (v->proj_type == PROJ_MLP_NORM) {
        v->mm1 = get_vector(v, "mm.1.weight", v->n_mid, true, pr);
        v->mm1_b = get_vector(v, "mm.1.bias", v->n_mid, true, pr);
        v->mm4 = get_vector(v, "mm.4.weight", v->n_out, true, pr);
        v->mm4_b = get_vector(v, "mm.4.bias", v->n_out, true, pr);
    }
    return HEARTH_OK;
}

static hearth_status alloc_state(hearth_clip *v, int n_threads) {
    size_t T = (size_t)v->n_pos, dim = (size_t)v->dim, K = 3 * (size_t)v->patch * v->patch;
    size_t wide = (size_t)v->n_ff;
    if ((size_t)v->n_mid > wide) wide = (size_t)v->n_mid;
    if ((size_t)v->n_out > wide) wide = (size_t)v->n_out;
    if (dim > wide) wide = dim;
    v->pool = hearth_pool_create(n_threads);
    int nth = hearth_pool_size(v->pool);
    v->x = malloc(T * dim * 4);
    v->xb = malloc(T * wide * 4);
    v->q = malloc(T * dim * 4);
    v->k = malloc(T * dim * 4);
    v->v = malloc(T * dim * 4);
    v->ao = malloc(T * dim * 4);
    v->hb = malloc(T * wide * 4);
    v->cols = malloc((size_t)v->n_patches * K * 4);
    v->att = malloc((size_t)nth * T * 4);
    v->planes = malloc(3 * (size_t)v->image_size * v->image_size * 4);
    /* matmul scratch: the largest of every matrix's needs at T rows */
    const mweight *ws[] = {&v->patch_embd, &v->mm0, &v->mm2};
    size_t work = 0;
    for (int i = 0; i < 3; i++) {
        if (!ws[i]->data) continue;
        size_t s = ws[i]->packed ? hearth_matmul_packed_work_size((int64_t)T, ws[i]->ne0)
                                 : hearth_matmul_work_size(ws[i]->type, (int64_t)T, ws[i]->ne0);
        if (s > work) work = s;
    }
    for (int l = 0; l < v->n_run; l++) {
        const mweight *bw[] = {&v->blocks[l].wq, &v->blocks[l].wk, &v->blocks[l].wv, &v->blocks[l].wo,
                               &v->blocks[l].ffn_down, &v->blocks[l].ffn_up};
        for (int i = 0; i < 6; i++) {
            size_t s = bw[i]->packed ? hearth_matmul_packed_work_size((int64_t)T, bw[i]->ne0)
                                     : hearth_matmul_work_size(bw[i]->type, (int64_t)T, bw[i]->ne0);
            if (s > work) work = s;
        }
    }
    if (v->two_tower) {
        size_t tT = (size_t)v->t_ctx, td = (size_t)v->t_dim, tw = (size_t)(v->t_ff > v->t_dim ? v->t_ff : v->t_dim);
        int64_t TT = (int64_t)(tT > T ? tT : T);
        const mweight *tw_[] = {&v->v_proj, &v->t_proj};
        for (int i = 0; i < 2; i++) {
            size_t s = hearth_matmul_work_size(tw_[i]->type, TT, tw_[i]->ne0);
            if (s > work) work = s;
        }
        for (int l = 0; l < v->t_block; l++) {
            const mweight *bw[] = {&v->t_blocks[l].wq, &v->t_blocks[l].wk, &v->t_blocks[l].wv, &v->t_blocks[l].wo,
                                   &v->t_blocks[l].ffn_down, &v->t_blocks[l].ffn_up};
            for (int i = 0; i < 6; i++) {
                size_t s = bw[i]->packed ? hearth_matmul_packed_work_size((int64_t)tT, bw[i]->ne0)
                                         : hearth_matmul_work_size(bw[i]->type, (int64_t)tT, bw[i]->ne0);
                if (s > work) work = s;
            }
        }
        v->tx = malloc(tT * td * 4), v->txb = malloc(tT * td * 4), v->tq = malloc(tT * td * 4);
        v->tk = malloc(tT * td * 4), v->tv = malloc(tT * td * 4), v->tao = malloc(tT * td * 4);
        v->thb = malloc(tT * tw * 4), v->pooled = malloc((size_t)(v->dim > v->t_dim ? v->dim : v->t_dim) * 4);
        float *att = realloc(v->att, (size_t)nth * (tT > T ? tT : T) * 4);
        if (att) v->att = att;
        if (!v->tx || !v->txb || !v->tq || !v->tk || !v->tv || !v->tao || !v->thb || !v->pooled || !att)
            return hearth_set_error(HEARTH_ERR_NOMEM, "clip: out of memory for the text tower");
    }
    v->work = malloc(work ? work : 1);
    if (!v->pool || !v->x || !v->xb || !v->q || !v->k || !v->v || !v->ao || !v->hb || !v->cols || !v->att ||
        !v->planes || !v->work)
        return hearth_set_error(HEARTH_ERR_NOMEM, "clip: out of memory for the activations of %zu tokens", T);
    return HEARTH_OK;
}

hearth_status hearth_clip_load(const char *path, const hearth_clip_params *p, hearth_clip **out) {
    *out = NULL;
    hearth_clip_params dp = hearth_clip_default_params();
    if (!p) p = &dp;
    hearth_clip *v = calloc(1, sizeof *v);
    if (!v) return hearth_set_error(HEARTH_ERR_NOMEM, "clip: out of memory");
    hearth_status s = hearth_gguf_open(path, &v->gguf);
    if (s) {
        free(v);
        return s;
    }
    const hearth_gguf *g = v->gguf;
    hearth_str arch = {0}, str = {0};
    hearth_gguf_get_str(g, "general.architecture", &arch);
    if (arch.len != 4 || memcmp(arch.ptr, "clip", 4)) {
        char a[64];
        snprintf(a, sizeof a, "%.*s", (int)(arch.len < 63 ? arch.len : 63), arch.ptr ? arch.ptr : "");
        hearth_clip_free(v);
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "%s: general.architecture is \"%s\", not \"clip\": not an image encoder (mmproj) file",
                                path, a);
    }
    if (hearth_gguf_get_str(g, "general.name", &str) == HEARTH_OK)
        v->name = strndup(str.ptr, str.len);
    else {
        const char *b = strrchr(path, '/');
        v->name = strdup(b ? b + 1 : path);
    }
    bool has_vision = true, has_llava = false;
    hearth_gguf_get_bool(g, "clip.has_vision_encoder", &has_vision);
    hearth_gguf_get_bool(g, "clip.has_llava_projector", &has_llava);
    if (!has_vision) {
        hearth_clip_free(v);
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "%s: clip.has_vision_encoder is false: no image encoder", path);
    }
    /* projector: clip.projector_type, "mlp" by default for LLaVA files */
    char ptype[64] = "mlp";
    if (hearth_gguf_get_str(g, "clip.projector_type", &str) == HEARTH_OK)
        snprintf(ptype, sizeof ptype, "%.*s", (int)(str.len < 63 ? str.len : 63), str.ptr);
    else if (!has_llava) {
        bool has_text = false;
        hearth_gguf_get_bool(g, "clip.has_text_encoder", &has_text);
        if (!has_text) {
            hearth_clip_free(v);
            return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                    "%s: neither a LLaVA projector nor a text tower: nothing hearth can compute", path);
        }
        v->two_tower = true;
    }
    if (v->two_tower) {
        /* vision and text towers, no projector to a language model */
    } else if (!strcmp(ptype, "mlp")) {
        v->proj_type = hearth_gguf_find_tensor(g, "mm.3.weight") ? PROJ_MLP_NORM : PROJ_MLP;
    } else if (!strcmp(ptype, "mlp_norm")) {
        v->proj_type = PROJ_MLP_NORM;
    } else {
        hearth_clip_free(v);
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "%s: projector type \"%s\" is not supported (hearth reads LLaVA's \"mlp\" and "
                                "\"mlp_norm\")",
                                path, ptype);
    }
    problems pr = {0};
    v->image_size = (int32_t)get_int(g, "clip.vision.image_size", -1, &pr);
    v->patch = (int32_t)get_int(g, "clip.vision.patch_size", -1, &pr);
    v->dim = (int32_t)get_int(g, "clip.vision.embedding_length", -1, &pr);
    v->n_ff = (int32_t)get_int(g, "clip.vision.feed_forward_length", -1, &pr);
    v->n_head = (int32_t)get_int(g, "clip.vision.attention.head_count", -1, &pr);
    v->n_block = (int32_t)get_int(g, "clip.vision.block_count", -1, &pr);
    double eps = 1e-5;
    if (hearth_gguf_get_float(g, "clip.vision.attention.layer_norm_epsilon", &eps) == HEARTH_ERR_TYPE)
        model_problem(&pr, "clip.vision.attention.layer_norm_epsilon: %s", hearth_last_error());
    v->eps = (float)eps;
    hearth_gguf_get_bool(g, "clip.use_gelu", &v->gelu_tanh);
    static const float def_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, def_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    read_floats3(v, "clip.vision.image_mean", v->mean, def_mean, &pr);
    read_floats3(v, "clip.vision.image_std", v->std, def_std, &pr);
    if (pr.n == 0) {
        if (v->image_size <= 0 || v->image_size > 4096 || v->patch <= 0 || v->image_size % v->patch)
            model_problem(&pr, "image size %d is not a positive multiple of the patch size %d (at most 4096)",
                          v->image_size, v->patch);
        if (v->dim <= 0 || v->n_head <= 0 || v->dim % v->n_head || v->n_ff <= 0 || v->n_block < 1 || v->n_block > 1000)
            model_problem(&pr, "bad sizes: dim %d, %d heads, FFN %d, %d blocks", v->dim, v->n_head, v->n_ff, v->n_block);
        if (!(eps > 0 && eps < 1)) model_problem(&pr, "layer_norm_epsilon %g is not in (0, 1)", eps);
        for (int c = 0; c < 3; c++)
            if (!(v->std[c] > 0)) model_problem(&pr, "image_std[%d] = %g is not positive", c, v->std[c]);
    }
    if (pr.n == 0) {
        int32_t side = v->image_size / v->patch;
        v->n_patches = side * side;
        v->n_pos = v->n_patches + 1;
        /* llama.cpp runs all blocks but the last for LLaVA (its penultimate
         * layer); a two-tower CLIP runs them all (its pooled output) */
        v->n_run = v->two_tower ? v->n_block : v->n_block - 1;
        if ((s = load_weights(v, &pr))) {
            hearth_clip_free(v);
            return s;
        }
    }
    if (pr.n) {
        hearth_clip_free(v);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s: %d problem%s: %s", path, pr.n, pr.n > 1 ? "s" : "", pr.buf);
    }
    if (!hearth_force_reference()) pack_weights(v);
    if ((s = alloc_state(v, p->n_threads))) {
        hearth_clip_free(v);
        return s;
    }
    *out = v;
    return HEARTH_OK;
}

/* ==== preprocessing (clip.cpp's, for LLaVA-1.5 files) ===================================== */
hearth_status hearth_clip_preprocess(const hearth_clip *v, const hearth_image *img, float *out) {
    if (!img || !img->data || img->w <= 0 || img->h <= 0 || (img->c != 1 && img->c != 3))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "clip: not an image (need 1 or 3 channels of 8-bit pixels)");
    const int w = img->w, h = img->h, n = w > h ? w : h, S = v->image_size, ic = img->c;
    static const uint8_t pad[3] = {122, 116, 104};   /* LLaVA's padding: the CLIP mean colour */
    const float scale = (float)n / (float)S;
    /* pixel (x, y), channel c of the padded square */
#define PIX(x, y, c) ((x) < w && (y) < h ? img->data[((size_t)(y) * w + (x)) * ic + (ic == 3 ? (c) : 0)] : pad[c])
    for (int y = 0; y < S; y++) {
        const float sy = ((float)y + 0.5f) * scale - 0.5f;
        const int y0 = sy > 0 ? (int)floorf(sy) : 0, y1 = y0 + 1 < n - 1 ? y0 + 1 : n - 1;
        const float dy = sy - (float)y0;
        for (int x = 0; x < S; x++) {
            const float sx = ((float)x + 0.5f) * scale - 0.5f;
            const int x0 = sx > 0 ? (int)floorf(sx) : 0, x1 = x0 + 1 < n - 1 ? x0 + 1 : n - 1;
            const float dx = sx - (float)x0;
            for (int c = 0; c < 3; c++) {
                const float v00 = PIX(x0, y0, c), v01 = PIX(x1, y0, c), v10 = PIX(x0, y1, c), v11 = PIX(x1, y1, c);
                const float v0 = v00 * (1.0f - dx) + v01 * dx;
                const float v1 = v10 * (1.0f - dx) + v11 * dx;
                float val = roundf(v0 * (1.0f - dy) + v1 * dy);
                val = val < 0 ? 0 : val > 255 ? 255 : val;
                out[((size_t)c * S + y) * S + x] = (val / 255.0f - v->mean[c]) / v->std[c];
            }
        }
    }
#undef PIX
    return HEARTH_OK;
}

/* ==== forward ============================================================================ */
static hearth_status matmul(hearth_clip *v, float *Y, const float *X, const mweight *w, int64_t T) {
    if (w->packed) return hearth_matmul_packed(v->pool, Y, X, w->packed, w->type, T, w->ne0, w->ne1, v->work);
    return hearth_matmul(v->pool, Y, X, w->data, w->type, T, w->ne0, w->ne1, v->work);
}

static void add_bias(const hearth_ops *ops, float *y, const float *b, int64_t T, int64_t n) {
    if (!b) return;
    for (int64_t r = 0; r < T; r++) ops->add(y + r * n, y + r * n, b, n);
}

/* attention over T rows of q, k, v (dim floats each, n_head heads): every
 * row sees every row, or (causal, the text tower) rows up to its own */
typedef struct att_job {
    const hearth_clip *v;
    float *ao;
    const float *q, *k, *vv;
    int64_t T, dim;
    int n_head;
    bool causal;
} att_job;

static void attention_worker(void *arg, int ith, int nth) {
    const att_job *j = arg;
    const int hd = (int)(j->dim / j->n_head);
    const float scale = 1.0f / sqrtf((float)hd);
    const hearth_ops *ops = hearth_ops_get();
    int64_t i0, i1;
    hearth_split_rows(j->T * j->n_head, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        int64_t r = i / j->n_head, off = (i % j->n_head) * hd;
        hearth_attention_head(ops, j->ao + r * j->dim + off, j->q + r * j->dim + off, j->k + off, j->vv + off,
                              HEARTH_TYPE_F32, j->causal ? r + 1 : j->T, j->dim, hd, scale,
                              j->v->att + (size_t)ith * j->T);
    }
}

/* activations of one tower */
typedef struct tower {
    float *x, *xb, *q, *k, *v, *ao, *hb;
    int64_t T, dim, n_ff;
    int n_head;
    bool causal;
} tower;

/* n pre-norm blocks over the tower's T rows in place (x) */
static hearth_status run_blocks(hearth_clip *v, const cblock *blocks, int n, const tower *t) {
    const hearth_ops *ops = hearth_ops_get();
    const int64_t T = t->T, dim = t->dim, n_ff = t->n_ff;
    hearth_status s;
    for (int l = 0; l < n; l++) {
        const cblock *b = &blocks[l];
        /* attention LayerNorm */
        for (int64_t r = 0; r < T; r++) model_layernorm(t->xb + r * dim, t->x + r * dim, b->ln1, b->ln1_b, dim, v->eps);
        /* q, k, v with biases */
        if ((s = matmul(v, t->q, t->xb, &b->wq, T)) || (s = matmul(v, t->k, t->xb, &b->wk, T)) ||
            (s = matmul(v, t->v, t->xb, &b->wv, T)))
            return s;
        add_bias(ops, t->q, b->bq, T, dim);
        add_bias(ops, t->k, b->bk, T, dim);
        add_bias(ops, t->v, b->bv, T, dim);
        /* softmax(q k^T / sqrt(head_dim)) v */
        att_job aj = {v, t->ao, t->q, t->k, t->v, T, dim, t->n_head, t->causal};
        hearth_pool_run(v->pool, attention_worker, &aj);
        /* output projection (+ bias) and residual */
        if ((s = matmul(v, t->xb, t->ao, &b->wo, T))) return s;
        add_bias(ops, t->xb, b->bo, T, dim);
        ops->add(t->x, t->x, t->xb, T * dim);
        /* feed-forward LayerNorm, ffn_down -> GELU -> ffn_up, residual */
        for (int64_t r = 0; r < T; r++) model_layernorm(t->xb + r * dim, t->x + r * dim, b->ln2, b->ln2_b, dim, v->eps);
        if ((s = matmul(v, t->hb, t->xb, &b->ffn_down, T))) return s;
        add_bias(ops, t->hb, b->ffn_down_b, T, n_ff);
        if (v->gelu_tanh) model_gelu(t->hb, T * n_ff);
        else model_gelu_quick(t->hb, T * n_ff);
        if ((s = matmul(v, t->xb, t->hb, &b->ffn_up, T))) return s;
        add_bias(ops, t->xb, b->ffn_up_b, T, dim);
        ops->add(t->x, t->x, t->xb, T * dim);
    }
    return HEARTH_OK;
}

/* the vision tower up to (and with) post-LayerNorm: v->x holds T rows */
static hearth_status vision_tower(hearth_clip *v, const float *planes) {
    const hearth_ops *ops = hearth_ops_get();
    const int64_t T = v->n_pos, N = v->n_patches, dim = v->dim, P = v->patch, S = v->image_size;
    const int64_t side = S / P, K = 3 * P * P;
    hearth_status s;

    /* patch embedding: each patch's pixels in the kernel's order (c, ky, kx) */
    for (int64_t pi = 0; pi < N; pi++) {
        const int64_t py = pi / side, px = pi % side;
        float *col = v->cols + pi * K;
        for (int64_t c = 0; c < 3; c++)
            for (int64_t ky = 0; ky < P; ky++)
                memcpy(col + (c * P + ky) * P, planes + (c * S + py * P + ky) * S + px * P, (size_t)P * sizeof *col);
    }
    if ((s = matmul(v, v->x + dim, v->cols, &v->patch_embd, N))) return s;
    add_bias(ops, v->x + dim, v->patch_b, N, dim);
    /* class token first, then positions */
    memcpy(v->x, v->class_embd, (size_t)dim * sizeof *v->x);
    ops->add(v->x, v->x, v->pos_embd, T * dim);
    if (v->pre_ln)
        for (int64_t r = 0; r < T; r++) model_layernorm(v->x + r * dim, v->x + r * dim, v->pre_ln, v->pre_ln_b, dim, v->eps);
    tower t = {v->x, v->xb, v->q, v->k, v->v, v->ao, v->hb, T, dim, v->n_ff, v->n_head, false};
    if ((s = run_blocks(v, v->blocks, v->n_run, &t))) return s;
    if (v->post_ln)
        for (int64_t r = 0; r < T; r++)
            model_layernorm(v->x + r * dim, v->x + r * dim, v->post_ln, v->post_ln_b, dim, v->eps);
    return HEARTH_OK;
}

hearth_status hearth_clip_encode_planes(hearth_clip *v, const float *planes, float *out) {
    const hearth_ops *ops = hearth_ops_get();
    const int64_t N = v->n_patches, dim = v->dim;
    hearth_status s;
    if (v->two_tower)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "clip: %s is a two-tower CLIP (no projector to a language model): use its pooled "
                                "image embedding (hearth_clip_embed_image)",
                                v->name);
    if ((s = vision_tower(v, planes))) return s;

    /* projector on the patch rows (the class token dropped) */
    const float *xp = v->x + dim;
    if ((s = matmul(v, v->hb, xp, &v->mm0, N))) return s;
    add_bias(ops, v->hb, v->mm0_b, N, v->n_mid);
    if (v->proj_type == PROJ_MLP_NORM)
        for (int64_t r = 0; r < N; r++)
            model_layernorm(v->hb + r * v->n_mid, v->hb + r * v->n_mid, v->mm1, v->mm1_b, v->n_mid, v->eps);
    model_gelu(v->hb, N * v->n_mid);   /* the projector's GELU is the tanh form */
    if ((s = matmul(v, out, v->hb, &v->mm2, N))) return s;
    add_bias(ops, out, v->mm2_b, N, v->n_out);
    if (v->proj_type == PROJ_MLP_NORM)
        for (int64_t r = 0; r < N; r++)
            model_layernorm(out + r * v->n_out, out + r * v->n_out, v->mm4, v->mm4_b, v->n_out, v->eps);
    return HEARTH_OK;
}

hearth_status hearth_clip_encode(hearth_clip *v, const hearth_image *img, float *out) {
    hearth_status s = hearth_clip_preprocess(v, img, v->planes);
    if (s) return s;
    return hearth_clip_encode_planes(v, v->planes, out);
}

/* ==== pooled embeddings (two-tower CLIP; LLaVA files: mean of the patch rows) ============= */
static void l2_normalize(float *x, int64_t n) {
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

hearth_status hearth_clip_embed_image(hearth_clip *v, const hearth_image *img, float *out) {
    hearth_status s = hearth_clip_preprocess(v, img, v->planes);
    if (s) return s;
    if (!v->two_tower) {   /* a LLaVA encoder: the mean of its projected patch rows */
        int64_t nt = v->n_patches, ne = v->n_out;
        float *rows = malloc(sizeof *rows * (size_t)(nt * ne));
        if (!rows) return hearth_set_error(HEARTH_ERR_NOMEM, "clip: out of memory");
        if (!(s = hearth_clip_encode_planes(v, v->planes, rows))) {
            for (int64_t d = 0; d < ne; d++) {
                double m = 0;
                for (int64_t t = 0; t < nt; t++) m += rows[t * ne + d];
                out[d] = (float)(m / (double)nt);
            }
            l2_normalize(out, ne);
        }
        free(rows);
        return s;
    }
    /* two-tower: the class token (post-LayerNorm) through visual_projection */
    if ((s = vision_tower(v, v->planes))) return s;
    if ((s = matmul(v, out, v->x, &v->v_proj, 1))) return s;
    l2_normalize(out, v->proj_dim);
    return HEARTH_OK;
}

hearth_status hearth_clip_embed_text(hearth_clip *v, const char *text, size_t len, float *out) {
    if (!v->two_tower)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "clip: %s has no text tower (a LLaVA image encoder)", v->name);
    int32_t *ids = NULL;
    size_t n = 0;
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    hearth_status s = hearth_tokenize(v->vocab, text ? text : "", len, &tp, &ids, &n);
    if (s) return s;
    /* the text ends with EOS (its row is the pooled one), truncated to the context */
    int32_t eos = hearth_vocab_eos(v->vocab);
    int32_t *grown = realloc(ids, (n + 1) * sizeof *ids);
    if (!grown) {
        free(ids);
        return hearth_set_error(HEARTH_ERR_NOMEM, "clip: out of memory");
    }
    ids = grown;
    if (eos >= 0 && (n == 0 || ids[n - 1] != eos)) ids[n++] = eos;
    if (n == 0) {
        free(ids);
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "clip: empty text");
    }
    if ((int64_t)n > v->t_ctx) {
        ids[v->t_ctx - 1] = ids[n - 1];
        n = (size_t)v->t_ctx;
    }
    const int64_t T = (int64_t)n, dim = v->t_dim;
    const hearth_type_traits *tt = hearth_type_traits_get(v->t_tok.type);
    for (int64_t r = 0; r < T; r++) {
        tt->to_float((const char *)v->t_tok.data + (size_t)ids[r] * v->t_tok.row_bytes, v->tx + r * dim, dim);
        hearth_ops_get()->add(v->tx + r * dim, v->tx + r * dim, v->t_pos + r * dim, dim);
    }
    free(ids);
    tower t = {v->tx, v->txb, v->tq, v->tk, v->tv, v->tao, v->thb, T, dim, v->t_ff, v->t_head, true};
    if ((s = run_blocks(v, v->t_blocks, v->t_block, &t))) return s;
    /* the last (EOS) row, final LayerNorm, text_projection */
    model_layernorm(v->pooled, v->tx + (T - 1) * dim, v->t_post, v->t_post_b, dim, v->eps);
    if ((s = matmul(v, out, v->pooled, &v->t_proj, 1))) return s;
    l2_normalize(out, v->proj_dim);
    return HEARTH_OK;
}

hearth_status hearth_clip_classify(hearth_clip *v, const hearth_image *img, const char *const *labels, int n,
                                   float *probs) {
    if (n <= 0 || !labels) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "classify: no labels");
    if (!v->two_tower)
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                                "classify: %s has no text tower; zero-shot classification needs a two-tower CLIP file",
                                v->name);
    float *ie = malloc(sizeof *ie * (size_t)v->proj_dim * 2);
    if (!ie) return hearth_set_error(HEARTH_ERR_NOMEM, "classify: out of memory");
    float *te = ie + v->proj_dim;   /* after the check: NULL + n is undefined */
    hearth_status s = hearth_clip_embed_image(v, img, ie);
    float mx = -INFINITY;
    for (int i = 0; i < n && !s; i++) {
        if (!(s = hearth_clip_embed_text(v, labels[i], strlen(labels[i]), te))) {
            double c = 0;
            for (int d = 0; d < v->proj_dim; d++) c += (double)ie[d] * te[d];
            probs[i] = v->logit_scale * (float)c;   /* logits: scaled cosine similarity */
            if (probs[i] > mx) mx = probs[i];
        }
    }
    if (!s) {   /* softmax over the labels */
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (probs[i] = expf(probs[i] - mx));
        for (int i = 0; i < n; i++) probs[i] = (float)(probs[i] / sum);
    }
    free(ie);
    return s;
}

/* ==== LLaVA prompts ======================================================================= */
hearth_status hearth_clip_check_model(const hearth_clip *v, const hearth_model *m) {
    if (hearth_model_n_embd(m) != v->n_out)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "image encoder %s gives embeddings of %d floats but the language model %s has "
                                "n_embd %d: the mmproj was made for another model",
                                v->name, v->n_out, hearth_model_name(m), hearth_model_n_embd(m));
    return HEARTH_OK;
}

hearth_status hearth_clip_prompt(const hearth_vocab *vocab, const char *prompt, size_t len, int32_t **ids,
                                 size_t *n, int32_t *at) {
    static const char tag[] = "<image>";
    *ids = NULL, *n = 0, *at = 0;
    const char *p = prompt ? memmem(prompt, len, tag, sizeof tag - 1) : NULL;
    size_t before = p ? (size_t)(p - prompt) : 0;
    const char *rest = p ? p + sizeof tag - 1 : prompt;
    size_t rest_len = p ? len - before - (sizeof tag - 1) : len;
    if (p && memmem(rest, rest_len, tag, sizeof tag - 1))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "prompt: more than one <image> (one image per prompt)");
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    /* the text before <image> with BOS as a rendered chat gets it (alone:
     * BOS), the rest without */
    char *head = strndup(prompt ? prompt : "", before);
    if (!head) return hearth_set_error(HEARTH_ERR_NOMEM, "prompt: out of memory");
    hearth_status s = hearth_chat_tokenize(vocab, head, &a, &na);
    free(head);
    if (s) return s;
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    tp.parse_special = true;
    tp.add_special = false;
    if (rest_len && (s = hearth_tokenize(vocab, rest, rest_len, &tp, &b, &nb))) {
        free(a);
        return s;
    }
    int32_t *all = realloc(a, (na + nb + 1) * sizeof *all);
    if (!all) {
        free(a), free(b);
        return hearth_set_error(HEARTH_ERR_NOMEM, "prompt: out of memory");
    }
    if (nb) memcpy(all + na, b, nb * sizeof *b);
    free(b);
    *ids = all, *n = na + nb, *at = (int32_t)na;
    return HEARTH_OK;
}
