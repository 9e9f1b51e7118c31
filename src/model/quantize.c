/*
 * quantize.c — GGUF file -> GGUF file in another tensor type or a mixed
 * preset (include/hearth/quantize.h), mirroring llama.cpp's llama-quantize
 * (src/llama-quant.cpp, early 2025) without an importance matrix:
 *
 *   - tensors are processed and written in llama.cpp's order: tensors
 *     outside the layers first, then blk.0, blk.1, ..., names sorted within
 *     each group (its weight map's comparator); the per-layer counters of the
 *     rules (attn_v, ffn_down) count in that order;
 *   - the per-tensor type rules are those of llama_tensor_get_type for the
 *     k-quant and legacy presets (the IQ presets are not offered);
 *   - the quantizers are the type table's from_float, which writes the same
 *     bytes as ggml's quantize_row_*_ref.
 *
 * Rows are split over a hearth_pool; output tensors are held in memory until
 * the GGUF writer writes the file (the input stays mapped and unchanged
 * tensors are written straight from the mapping).
 */
#include "hearth/quantize.h"

#include "hearth/core.h"
#include "hearth/gguf.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ==== presets =============================================================== */
/* llama.cpp's llama_ftype numbers (general.file_type) */
enum {
    FT_ALL_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9,
    FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15,
    FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_Q2_K_S = 21, FT_BF16 = 32,
};

typedef struct preset {
    const char *name;
    uint32_t type;    /* base tensor type */
    uint32_t ftype;   /* general.file_type */
    bool pure;        /* a plain type: no per-tensor rules */
} preset;

static const preset PRESETS[] = {
    {"Q4_0", HEARTH_TYPE_Q4_0, FT_Q4_0, false},     {"Q4_1", HEARTH_TYPE_Q4_1, FT_Q4_1, false},
    {"Q5_0", HEARTH_TYPE_Q5_0, FT_Q5_0, false},     {"Q5_1", HEARTH_TYPE_Q5_1, FT_Q5_1, false},
    {"Q8_0", HEARTH_TYPE_Q8_0, FT_Q8_0, false},     {"Q2_K", HEARTH_TYPE_Q2_K, FT_Q2_K, false},
    {"Q2_K_S", HEARTH_TYPE_Q2_K, FT_Q2_K_S, false}, {"Q3_K_S", HEARTH_TYPE_Q3_K, FT_Q3_K_S, false},
    {"Q3_K_M", HEARTH_TYPE_Q3_K, FT_Q3_K_M, false}, {"Q3_K_L", HEARTH_TYPE_Q3_K, FT_Q3_K_L, false},
    {"Q4_K_S", HEARTH_TYPE_Q4_K, FT_Q4_K_S, false}, {"Q4_K_M", HEARTH_TYPE_Q4_K, FT_Q4_K_M, false},
    {"Q5_K_S", HEARTH_TYPE_Q5_K, FT_Q5_K_S, false}, {"Q5_K_M", HEARTH_TYPE_Q5_K, FT_Q5_K_M, false},
    {"Q6_K", HEARTH_TYPE_Q6_K, FT_Q6_K, false},     {"F16", HEARTH_TYPE_F16, FT_F16, false},
    {"BF16", HEARTH_TYPE_BF16, FT_BF16, false},     {"F32", HEARTH_TYPE_F32, FT_ALL_F32, false},
    /* plain types: every quantizable tensor in that type (--pure) */
    {"Q3_K", HEARTH_TYPE_Q3_K, FT_Q3_K_M, true},    {"Q4_K", HEARTH_TYPE_Q4_K, FT_Q4_K_M, true},
    {"Q5_K", HEARTH_TYPE_Q5_K, FT_Q5_K_M, true},
};
#define N_PRESETS (sizeof PRESETS / sizeof PRESETS[0])

const char *hearth_quantize_preset_names(void) {
    return "Q2_K Q2_K_S Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 "
           "Q3_K Q4_K Q5_K F16 BF16 F32";
}

static const preset *find_preset(const char *name) {
    for (size_t i = 0; name && i < N_PRESETS; i++)
        if (strcasecmp(name, PRESETS[i].name) == 0) return &PRESETS[i];
    return NULL;
}

hearth_status hearth_quantize_preset(const char *name, uint32_t *base_type, uint32_t *file_type) {
    const preset *p = find_preset(name);
    if (!p)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "quantize: unknown type '%s' (known: %s)",
                                name ? name : "(null)", hearth_quantize_preset_names());
    if (base_type) *base_type = p->type;
    if (file_type) *file_type = p->ftype;
    return HEARTH_OK;
}

hearth_quantize_params hearth_quantize_default_params(void) {
    hearth_quantize_params p = {.n_threads = 0};
    return p;
}

/* ==== the per-tensor rules (llama_tensor_get_type) ============================ */
typedef struct qstate {
    uint32_t ftype;
    bool falcon, has_output, is_70b;
    int n_gqa, n_expert, n_layer;
    int n_attention_wv, i_attention_wv, i_ffn_down, i_ffn_gate, i_ffn_up;
} qstate;

static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static bool has(const char *name, const char *part) { return strstr(name, part) != NULL; }

/* layer index for the counter-based rules: the counter, or for MoE models the
 * name's blk.N (experts are not consecutive) */
static int layer_of(const qstate *q, int counter, const char *name) {
    int il = counter;
    if (q->n_expert > 1 && sscanf(name, "blk.%d.", &il) != 1) il = counter;
    return il;
}

static uint32_t rule_type(qstate *q, uint32_t t, const char *name, int64_t ne0) {
    const uint32_t ft = q->ftype;
    const int nl = q->n_layer;
    if (strcmp(name, "output.weight") == 0 || (!q->has_output && strcmp(name, "token_embd.weight") == 0)) {
        int64_t qk = hearth_type_get(t)->block_size;
        if (q->falcon || ne0 % qk != 0) t = HEARTH_TYPE_Q8_0;
        else if (t != HEARTH_TYPE_Q8_0) t = HEARTH_TYPE_Q6_K;
    } else if (strcmp(name, "token_embd.weight") == 0) {
        /* only the IQ presets change it */
    } else if (has(name, "attn_v.weight")) {
        if (ft == FT_Q2_K) t = q->n_gqa >= 4 ? HEARTH_TYPE_Q4_K : HEARTH_TYPE_Q3_K;
        else if (ft == FT_Q2_K_S && q->n_gqa >= 4) t = HEARTH_TYPE_Q4_K;
        else if (ft == FT_Q3_K_M) t = q->i_attention_wv < 2 ? HEARTH_TYPE_Q5_K : HEARTH_TYPE_Q4_K;
        else if (ft == FT_Q3_K_L) t = HEARTH_TYPE_Q5_K;
        else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(q->i_attention_wv, q->n_attention_wv))
            t = HEARTH_TYPE_Q6_K;
        else if (ft == FT_Q4_K_S && q->i_attention_wv < 4) t = HEARTH_TYPE_Q5_K;
        if (q->is_70b && (t == HEARTH_TYPE_Q3_K || t == HEARTH_TYPE_Q4_K)) t = HEARTH_TYPE_Q5_K;
        if (q->n_expert == 8) t = HEARTH_TYPE_Q8_0;
        q->i_attention_wv++;
    } else if (has(name, "attn_k.weight")) {
        if (q->n_expert == 8) t = HEARTH_TYPE_Q8_0;
    } else if (has(name, "attn_q.weight")) {
        /* only the IQ presets change it */
    } else if (has(name, "ffn_down")) {
        int il = layer_of(q, q->i_ffn_down, name);
        if (ft == FT_Q2_K) t = HEARTH_TYPE_Q3_K;
        else if (ft == FT_Q2_K_S) { if (il < nl / 8) t = HEARTH_TYPE_Q4_K; }
        else if (ft == FT_Q3_K_M)
            t = il < nl / 16 ? HEARTH_TYPE_Q5_K
                : !q->falcon || use_more_bits(il, nl) ? HEARTH_TYPE_Q4_K : HEARTH_TYPE_Q3_K;
        else if (ft == FT_Q3_K_L) t = q->falcon ? HEARTH_TYPE_Q4_K : HEARTH_TYPE_Q5_K;
        else if (ft == FT_Q4_K_M) {
            if (q->falcon) t = il < nl / 16 ? HEARTH_TYPE_Q6_K : use_more_bits(il, nl) ? HEARTH_TYPE_Q5_K : HEARTH_TYPE_Q4_K;
            else if (use_more_bits(il, nl)) t = HEARTH_TYPE_Q6_K;
        } else if (ft == FT_Q5_K_M && use_more_bits(il, nl)) t = HEARTH_TYPE_Q6_K;
        else if (ft == FT_Q4_K_S && !q->falcon && il < nl / 8) t = HEARTH_TYPE_Q5_K;
        q->i_ffn_down++;
    } else if (has(name, "attn_output.weight")) {
        if (!q->falcon) {
            if (q->n_expert == 8) {
                if (ft == FT_Q2_K || ft == FT_Q3_K_S || ft == FT_Q3_K_M || ft == FT_Q4_K_S || ft == FT_Q4_K_M)
                    t = HEARTH_TYPE_Q5_K;
            } else {
                if (ft == FT_Q2_K) t = HEARTH_TYPE_Q3_K;
                else if (ft == FT_Q3_K_M) t = HEARTH_TYPE_Q4_K;
                else if (ft == FT_Q3_K_L) t = HEARTH_TYPE_Q5_K;
            }
        } else if (ft == FT_Q3_K_L) {
            t = HEARTH_TYPE_Q4_K;
        }
    } else if (has(name, "attn_qkv.weight")) {
        if (ft == FT_Q3_K_M || ft == FT_Q3_K_L) t = HEARTH_TYPE_Q4_K;
        else if (ft == FT_Q4_K_M) t = HEARTH_TYPE_Q5_K;
        else if (ft == FT_Q5_K_M) t = HEARTH_TYPE_Q6_K;
    } else if (has(name, "ffn_gate")) {
        q->i_ffn_gate++;
    } else if (has(name, "ffn_up")) {
        q->i_ffn_up++;
    }
    return t;
}

/* rows whose length is not a multiple of the type's block: llama.cpp's
 * fallbacks (Q2_K/Q3_K go to IQ4_NL there, which hearth does not have:
 * Q4_0, the same 4.5 bits per weight, here), F16 as the last resort */
static uint32_t fallback_type(uint32_t t, int64_t ne0) {
    if (ne0 % hearth_type_get(t)->block_size == 0) return t;
    switch (t) {
    case HEARTH_TYPE_Q2_K:
    case HEARTH_TYPE_Q3_K: t = HEARTH_TYPE_Q4_0; break;
    case HEARTH_TYPE_Q4_K: t = HEARTH_TYPE_Q5_0; break;
    case HEARTH_TYPE_Q5_K: t = HEARTH_TYPE_Q5_1; break;
    case HEARTH_TYPE_Q6_K: t = HEARTH_TYPE_Q8_0; break;
    default: t = HEARTH_TYPE_F16; break;
    }
    if (ne0 % hearth_type_get(t)->block_size != 0) t = HEARTH_TYPE_F16;
    return t;
}

static bool is_quantizable(const hearth_gguf_tensor *t) {
    const char *n = t->name;
    size_t len = strlen(n);
    if (len < 6 || strcmp(n + len - 6, "weight") != 0) return false;
    int dims = 1;   /* ggml_n_dims: trailing 1s do not count */
    for (int d = 1; d < t->n_dims && d < 4; d++) if (t->ne[d] > 1) dims = d + 1;
    if (dims < 2) return false;
    static const char *const skip[] = {"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight",
                                       "attn_rel_b.weight", "time_mix_first.weight", "time_mix_w1.weight",
                                       "time_mix_w2.weight", "time_mix_decay_w1.weight",
                                       "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) if (has(n, skip[i])) return false;
    return strcmp(n, "position_embd.weight") != 0 && strcmp(n, "token_types.weight") != 0;
}

/* ==== tensor order (llama.cpp's weight_name_comparer) ========================== */
static int tensor_layer(const char *name) {
    int il = -1;
    if (sscanf(name, "blk.%d.", &il) != 1) il = -1;
    return il;
}

static int cmp_tensors(const void *a, const void *b) {
    const hearth_gguf_tensor *x = *(const hearth_gguf_tensor *const *)a, *y = *(const hearth_gguf_tensor *const *)b;
    int lx = tensor_layer(x->name), ly = tensor_layer(y->name);
    if (lx != ly) return lx < ly ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* ==== row conversion over the pool ============================================= */
typedef struct conv_job {
    const char *src;
    char *dst;
    uint32_t tin, tout;
    int64_t ne0, nrows;
    size_t row_in, row_out;
    float **scratch;   /* per thread, ne0 floats */
    hearth_status status;
} conv_job;

static void conv_rows(void *arg, int ith, int nth) {
    conv_job *j = arg;
    int64_t r0, r1;
    hearth_split_rows(j->nrows, ith, nth, &r0, &r1);
    const hearth_type_traits *ti = hearth_type_traits_get(j->tin), *to = hearth_type_traits_get(j->tout);
    float *f = j->scratch[ith];
    for (int64_t r = r0; r < r1; r++) {
        const char *s = j->src + (size_t)r * j->row_in;
        if (j->tin == HEARTH_TYPE_F32) memcpy(f, s, (size_t)j->ne0 * sizeof(float));
        else ti->to_float(s, f, j->ne0);
        char *d = j->dst + (size_t)r * j->row_out;
        if (j->tout == HEARTH_TYPE_F32) memcpy(d, f, (size_t)j->ne0 * sizeof(float));
        else to->from_float(f, d, j->ne0);
    }
}

/* ==== the file ==================================================================== */
static int64_t get_int_or(const hearth_gguf *g, const char *arch, const char *suffix, int64_t dflt) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t v;
    if (hearth_gguf_get_int(g, key, &v) == HEARTH_OK) return v;
    /* head_count_kv may be a per-layer array: take the first */
    hearth_gguf_arr a;
    if (hearth_gguf_get_arr(g, key, &a) == HEARTH_OK && a.n > 0) return hearth_gguf_arr_int(&a, 0);
    return dflt;
}

hearth_status hearth_quantize_file(const char *in_path, const char *out_path, const char *type_name,
                                   const hearth_quantize_params *params) {
    hearth_quantize_params p = params ? *params : hearth_quantize_default_params();
    const preset *pr = find_preset(type_name);
    if (!pr) return hearth_quantize_preset(type_name, NULL, NULL);
    bool pure = p.pure || pr->pure;
    int nth = p.n_threads > 0 ? p.n_threads : 2;

    hearth_gguf *g = NULL;
    hearth_status s = hearth_gguf_open(in_path, &g);
    if (s) return s;

    /* model facts the rules need */
    char arch[128] = "llama";
    hearth_str as;
    if (hearth_gguf_get_str(g, "general.architecture", &as) == HEARTH_OK && as.len < sizeof arch) {
        memcpy(arch, as.ptr, as.len);
        arch[as.len] = 0;
    }
    qstate q = {.ftype = pr->ftype, .falcon = strcmp(arch, "falcon") == 0};
    q.n_layer = (int)get_int_or(g, arch, "block_count", 0);
    int64_t n_head = get_int_or(g, arch, "attention.head_count", 0);
    int64_t n_head_kv = get_int_or(g, arch, "attention.head_count_kv", n_head);
    q.n_gqa = n_head_kv > 0 ? (int)(n_head / n_head_kv) : 0;
    q.n_expert = (int)get_int_or(g, arch, "expert_count", 0);
    q.is_70b = strcmp(arch, "llama") == 0 && q.n_layer == 80 && n_head != n_head_kv;

    int64_t n = hearth_gguf_n_tensors(g);
    const hearth_gguf_tensor **order = calloc((size_t)(n > 0 ? n : 1), sizeof *order);
    void **bufs = calloc((size_t)(n > 0 ? n : 1), sizeof *bufs);
    float **scratch = calloc((size_t)nth, sizeof *scratch);
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    hearth_pool *pool = nth > 1 ? hearth_pool_create(nth) : NULL;
    if (!order || !bufs || !scratch || !w || (nth > 1 && !pool)) {
        s = hearth_set_error(HEARTH_ERR_NOMEM, "quantize: out of memory");
        goto done;
    }
    uint64_t total = 0, done_bytes = 0;
    int64_t max_ne0 = 0;
    for (int64_t i = 0; i < n; i++) {
        order[i] = hearth_gguf_tensor_at(g, i);
        total += order[i]->nbytes;
        if (order[i]->ne[0] > max_ne0) max_ne0 = order[i]->ne[0];
        const char *nm = order[i]->name;
        if (has(nm, "attn_v.weight") || has(nm, "attn_qkv.weight") || has(nm, "attn_kv_b.weight")) q.n_attention_wv++;
        else if (strcmp(nm, "output.weight") == 0) q.has_output = true;
    }
    qsort(order, (size_t)n, sizeof *order, cmp_tensors);
    for (int k = 0; k < nth; k++) {
        if (!(scratch[k] = malloc((size_t)(max_ne0 > 0 ? max_ne0 : 1) * sizeof(float)))) {
            s = hearth_set_error(HEARTH_ERR_NOMEM, "quantize: out of memory");
            goto done;
        }
    }

    /* metadata: the input's, with the file type and quantization version set */
    for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++)
        if ((s = hearth_gguf_copy_kv(w, g, i))) goto done;
    if ((s = hearth_gguf_set_u32(w, "general.quantization_version", 2))) goto done;
    if ((s = hearth_gguf_set_u32(w, "general.file_type", pr->ftype))) goto done;

    for (int64_t i = 0; i < n; i++) {
        const hearth_gguf_tensor *t = order[i];
        uint32_t tout = t->type;
        if (is_quantizable(t)) {
            tout = pr->type;
            const hearth_type_info *bi = hearth_type_get(pr->type);
            if (!pure && bi->quantized) tout = rule_type(&q, tout, t->name, t->ne[0]);
            if (bi->quantized || pure) tout = fallback_type(tout, t->ne[0]);
        }
        const void *data = t->data;
        if (tout != t->type) {
            const hearth_type_traits *ti = hearth_type_traits_get(t->type), *to = hearth_type_traits_get(tout);
            const hearth_type_info *tii = hearth_type_get(t->type);
            if (t->type != HEARTH_TYPE_F32 && (!ti || !ti->to_float)) {
                s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "quantize: %s: tensor '%s' is %s, which hearth cannot read",
                                     in_path, t->name, tii ? tii->name : "an unknown type");
                goto done;
            }
            if (tout != HEARTH_TYPE_F32 && (!to || !to->from_float)) {
                s = hearth_set_error(HEARTH_ERR_UNSUPPORTED, "quantize: no quantizer for %s (tensor '%s')",
                                     hearth_type_get(tout)->name, t->name);
                goto done;
            }
            int64_t nrows = hearth_gguf_tensor_nelements(t) / (t->ne[0] > 0 ? t->ne[0] : 1);
            conv_job j = {.src = t->data, .tin = t->type, .tout = tout, .ne0 = t->ne[0], .nrows = nrows,
                          .row_in = hearth_row_size(t->type, t->ne[0]), .row_out = hearth_row_size(tout, t->ne[0]),
                          .scratch = scratch};
            size_t bytes = j.row_out * (size_t)nrows;
            if (!(bufs[i] = malloc(bytes ? bytes : 1))) {
                s = hearth_set_error(HEARTH_ERR_NOMEM, "quantize: out of memory for tensor '%s' (%zu bytes)",
                                     t->name, bytes);
                goto done;
            }
            j.dst = bufs[i];
            hearth_pool_run(nrows >= 8 ? pool : NULL, conv_rows, &j);
            data = bufs[i];
        }
        if ((s = hearth_gguf_add_tensor(w, t->name, tout, t->n_dims, t->ne, data))) goto done;
        done_bytes += t->nbytes;
        if (p.progress) p.progress(p.progress_user, (int)i + 1, (int)n, t->name, t->type, tout, done_bytes, total);
    }
    s = hearth_gguf_writer_write(w, out_path);

done:
    hearth_gguf_writer_free(w);
    for (int64_t i = 0; bufs && i < n; i++) free(bufs[i]);
    for (int k = 0; scratch && k < nth; k++) free(scratch[k]);
    free(scratch);
    free(bufs);
    free(order);
    hearth_pool_free(pool);
    hearth_gguf_close(g);
    return s;
}
