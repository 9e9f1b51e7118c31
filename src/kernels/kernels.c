/*
 * kernels.c — picks the instruction set once, owns the per-type tables and
 * the ops tables, and implements what is built on top of them: the matmul
 * driver (threads split rows of W), RoPE, and single-head attention.
 */
#include "kernels_internal.h"

#include <math.h>
#include <pthread.h>

/* ==== tables ================================================================ */
static hearth_type_traits TABLES[HEARTH_ISA_COUNT][HEARTH_TYPE_COUNT];
static hearth_ops OPS[HEARTH_ISA_COUNT];
static bool SUPPORTED[HEARTH_ISA_COUNT];
static hearth_isa ACTIVE;
static pthread_once_t ONCE = PTHREAD_ONCE_INIT;


static void init_tables(void) {
    const hearth_cpu *cpu = hearth_cpu_features();
    SUPPORTED[HEARTH_ISA_REF] = true;
    SUPPORTED[HEARTH_ISA_AVX2] = cpu->avx2 && cpu->fma && cpu->f16c;
    SUPPORTED[HEARTH_ISA_AVX512] = SUPPORTED[HEARTH_ISA_AVX2] && cpu->avx512f && cpu->avx512bw && cpu->avx512vl;
    for (int isa = 0; isa < HEARTH_ISA_COUNT; isa++) {
        if (!SUPPORTED[isa]) continue;
        kernels_fill_ref(TABLES[isa], &OPS[isa]);
        if (isa >= HEARTH_ISA_AVX2) kernels_fill_avx2(TABLES[isa], &OPS[isa]);
        if (isa >= HEARTH_ISA_AVX512) kernels_fill_avx512(TABLES[isa], &OPS[isa]);
        hearth_quant_register(TABLES[isa], (hearth_isa)isa);   /* quantized types: quant_table.c */
    }
    ACTIVE = HEARTH_ISA_REF;
    if (!hearth_force_reference()) {
        if (SUPPORTED[HEARTH_ISA_AVX512]) ACTIVE = HEARTH_ISA_AVX512;
        else if (SUPPORTED[HEARTH_ISA_AVX2]) ACTIVE = HEARTH_ISA_AVX2;
    }
}

const char *hearth_isa_name(hearth_isa isa) {
    switch (isa) {
    case HEARTH_ISA_REF: return "reference";
    case HEARTH_ISA_AVX2: return "avx2";
    case HEARTH_ISA_AVX512: return "avx512";
    default: return "unknown";
    }
}

hearth_isa hearth_kernels_isa(void) {
    pthread_once(&ONCE, init_tables);
    return ACTIVE;
}

bool hearth_kernels_isa_supported(hearth_isa isa) {
    pthread_once(&ONCE, init_tables);
    return (unsigned)isa < HEARTH_ISA_COUNT && SUPPORTED[isa];
}

const hearth_type_traits *hearth_type_traits_isa(uint32_t type, hearth_isa isa) {
    if (!hearth_kernels_isa_supported(isa) || type >= HEARTH_TYPE_COUNT) return NULL;
    return &TABLES[isa][type];
}

const hearth_type_traits *hearth_type_traits_get(uint32_t type) {
    return hearth_type_traits_isa(type, hearth_kernels_isa());
}

const hearth_ops *hearth_ops_isa(hearth_isa isa) {
    if (!hearth_kernels_isa_supported(isa)) return NULL;
    return &OPS[isa];
}

const hearth_ops *hearth_ops_get(void) { return hearth_ops_isa(hearth_kernels_isa()); }

/* ==== matmul ================================================================ */
#define MM_GROUP 4   /* rows of X per pass over a W row */

typedef struct mm_job {
    float *Y;
    const float *X;             /* F32 activations */
    const char *Xc;             /* activations in vec_dot_type */
    size_t xc_row;              /* bytes per converted row */
    const char *W;
    size_t w_row;               /* bytes per W row */
    int64_t T, K, N;
    const hearth_type_traits *tt, *vt;   /* W's entry, vec_dot_type's entry */
} mm_job;

/* convert rows of X to the vec_dot_type, split over threads */
static void mm_convert(void *arg, int ith, int nth) {
    mm_job *j = arg;
    int64_t t0, t1;
    hearth_split_rows(j->T, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++)
        j->vt->from_float(j->X + t * j->K, (char *)j->Xc + (size_t)t * j->xc_row, j->K);
}

/* Y[t, r] for this thread's rows r of W */
static void mm_rows(void *arg, int ith, int nth) {
    mm_job *j = arg;
    int64_t r0, r1;
    hearth_split_rows(j->N, ith, nth, &r0, &r1);
    if (j->T == 1) {
        for (int64_t r = r0; r < r1; r++) j->Y[r] = j->tt->vec_dot(j->K, j->W + (size_t)r * j->w_row, j->Xc);
        return;
    }
    /* blocks of W rows small enough to stay in cache while every group of X
     * rows passes over them */
    int64_t rb = (int64_t)(65536 / (j->w_row ? j->w_row : 1));
    rb = (rb + 3) / 4 * 4;   /* whole 4-row tiles */
    if (rb < 4) rb = 4;
    for (int64_t b0 = r0; b0 < r1; b0 += rb) {
        int64_t b1 = b0 + rb < r1 ? b0 + rb : r1;
        for (int64_t t = 0; t < j->T; t += MM_GROUP) {
            int nx = (int)(j->T - t < MM_GROUP ? j->T - t : MM_GROUP);
            const char *x = j->Xc + (size_t)t * j->xc_row;
            int64_t r = b0;
            if (j->tt->gemm4x4 && nx == 4) {   /* register tiles of 4 W rows x 4 X rows */
                for (; r + 4 <= b1; r += 4) {
                    float out[16];
                    j->tt->gemm4x4(j->K, j->W + (size_t)r * j->w_row, j->w_row, x, j->xc_row, out);
                    for (int a = 0; a < 4; a++)
                        for (int k = 0; k < 4; k++) j->Y[(t + k) * j->N + r + a] = out[4 * a + k];
                }
            }
            for (; r < b1; r++) {
                const char *w = j->W + (size_t)r * j->w_row;
                float out[MM_GROUP];
                if (j->tt->vec_dot4) {
                    j->tt->vec_dot4(j->K, w, x, j->xc_row, nx, out);
                } else {
                    for (int k = 0; k < nx; k++) out[k] = j->tt->vec_dot(j->K, w, x + (size_t)k * j->xc_row);
                }
                for (int k = 0; k < nx; k++) j->Y[(t + k) * j->N + r] = out[k];
            }
        }
    }
}

size_t hearth_matmul_work_size(uint32_t wtype, int64_t T, int64_t K) {
    const hearth_type_traits *tt = hearth_type_traits_get(wtype);
    if (!tt || !tt->vec_dot || tt->vec_dot_type == HEARTH_TYPE_F32) return 0;
    return hearth_row_size(tt->vec_dot_type, K) * (size_t)T;
}

hearth_status hearth_matmul_isa(hearth_pool *pool, float *Y, const float *X, const void *W, uint32_t wtype,
                                int64_t T, int64_t K, int64_t N, void *work, hearth_isa isa) {
    const hearth_type_traits *tt = hearth_type_traits_isa(wtype, isa);
    if (!tt) return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "matmul: instruction set %s not available",
                                     hearth_isa_name(isa));
    if (!tt->vec_dot) {
        const hearth_type_info *ti = hearth_type_get(wtype);
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "matmul: no kernels for weight type %s",
                                ti ? ti->name : "unknown");
    }
    const hearth_type_info *ti = hearth_type_get(wtype), *vi = hearth_type_get(tt->vec_dot_type);
    if (K % ti->block_size != 0 || K % vi->block_size != 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "matmul: row length %lld is not a multiple of %s's block",
                                (long long)K, K % ti->block_size ? ti->name : vi->name);
    mm_job j = {
        .Y = Y, .X = X, .W = W, .w_row = hearth_row_size(wtype, K), .T = T, .K = K, .N = N, .tt = tt,
        .vt = &TABLES[isa][tt->vec_dot_type],
    };
    if (tt->vec_dot_type == HEARTH_TYPE_F32) {
        j.Xc = (const char *)X;
        j.xc_row = (size_t)K * sizeof(float);
    } else {
        if (!work || !j.vt->from_float)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "matmul: %s activations need a work buffer",
                                    vi->name);
        j.Xc = work;
        j.xc_row = hearth_row_size(tt->vec_dot_type, K);
        if (T == 1) mm_convert(&j, 0, 1);
        else hearth_pool_run(pool, mm_convert, &j);
    }
    hearth_pool_run(N >= 64 ? pool : NULL, mm_rows, &j);
    return HEARTH_OK;
}

hearth_status hearth_matmul(hearth_pool *pool, float *Y, const float *X, const void *W, uint32_t wtype,
                            int64_t T, int64_t K, int64_t N, void *work) {
    return hearth_matmul_isa(pool, Y, X, W, wtype, T, K, N, work, hearth_kernels_isa());
}

/* ==== RoPE =================================================================== */
/* YaRN: blend weight for pair i0/2 between the corrected dims lo and hi */
static float yarn_ramp(float lo, float hi, int i0) {
    float y = ((float)(i0 / 2) - lo) / fmaxf(0.001f, hi - lo);
    return 1.0f - fminf(1.0f, fmaxf(0.0f, y));
}

/* dimension whose wavelength makes n_rot_turns turns over n_ctx_orig */
static float yarn_corr_dim(int n_dims, int n_ctx_orig, float n_turns, float base) {
    return (float)n_dims * logf((float)n_ctx_orig / (n_turns * 2.0f * (float)M_PI)) / (2.0f * logf(base));
}

void hearth_rope_cache(const hearth_rope *r, int64_t pos, float *cs) {
    float theta_scale = powf(r->freq_base, -2.0f / (float)r->n_rot);
    float lo = 0, hi = 0;
    if (r->ext_factor != 0.0f) {
        lo = fmaxf(0.0f, floorf(yarn_corr_dim(r->n_rot, r->n_ctx_orig, r->beta_fast, r->freq_base)));
        hi = fminf((float)(r->n_rot - 1), ceilf(yarn_corr_dim(r->n_rot, r->n_ctx_orig, r->beta_slow, r->freq_base)));
    }
    float theta = (float)pos;   /* pos * theta_scale^i, by repeated products as ggml does */
    for (int i0 = 0; i0 < r->n_rot; i0 += 2) {
        float ff = r->freq_factors ? r->freq_factors[i0 / 2] : 1.0f;
        float extrap = theta / ff;
        float interp = r->freq_scale * extrap;
        float th = interp, mscale = r->attn_factor;
        if (r->ext_factor != 0.0f) {
            float mix = yarn_ramp(lo, hi, i0) * r->ext_factor;
            th = interp * (1 - mix) + extrap * mix;
            mscale *= 1.0f + 0.1f * logf(1.0f / r->freq_scale);
        }
        cs[i0] = cosf(th) * mscale;
        cs[i0 + 1] = sinf(th) * mscale;
        theta *= theta_scale;
    }
}

void hearth_rope_apply(const hearth_rope *r, float *x, int n_head, int head_dim, const float *cs) {
    int half = r->n_rot / 2;
    for (int h = 0; h < n_head; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            float c = cs[2 * i], s = cs[2 * i + 1];
            int a = r->neox ? i : 2 * i, b = r->neox ? i + half : 2 * i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}

/* ==== attention ================================================================ */
void hearth_attention_head(const hearth_ops *ops, float *out, const float *q, const void *K, const void *V,
                           uint32_t kv_type, int64_t n_kv, int64_t kv_stride, int head_dim, float scale,
                           float *att) {
    size_t esz = kv_type == HEARTH_TYPE_F16 ? 2 : 4;
    const char *k = K, *v = V;
    /* att[t] = scale * k_t . q */
    for (int64_t t = 0; t < n_kv; t++) att[t] = scale * ops->dot(head_dim, k + (size_t)t * kv_stride * esz, kv_type, q);
    /* att = softmax(att) */
    ops->softmax(att, n_kv);
    /* out = sum_t att[t] v_t */
    memset(out, 0, (size_t)head_dim * sizeof(float));
    for (int64_t t = 0; t < n_kv; t++) ops->axpy(head_dim, att[t], v + (size_t)t * kv_stride * esz, kv_type, out);
}
