/*
 * kernels.h — compute kernels: the per-type function table, the matmul
 * driver, and the transformer ops (rmsnorm, RoPE, softmax, SiLU, attention).
 * Internal to libhearth (not installed): the layers above, the command's
 * bench/perplexity/train and the tests use it; library users go through
 * model.h.
 *
 * Every kernel has a scalar reference (the spec) and AVX2 / AVX-512 versions
 * in their own files (src/kernels/kernels_avx2.c, kernels_avx512.c). The instruction set
 * is chosen once, at the first call, from hearth_cpu_features();
 * HEARTH_FORCE_REFERENCE=1 forces the reference everywhere. Tests may ask for
 * a given instruction set's table to compare it with the reference.
 *
 * ---- the type table ------------------------------------------------------
 * One hearth_type_traits per hearth_type id (an array indexed by the id):
 *   to_float     row of n elements of the type -> n floats
 *   from_float   n floats -> row of the type (quantizes; used to convert the
 *                activations to another type's vec_dot_type)
 *   vec_dot      sum_i w[i] * x[i] over n elements, w a row of this type and
 *                x a row of vec_dot_type
 *   vec_dot4     optional: the same for nx <= 4 rows of x (x_stride bytes
 *                apart) against one row of w, so that prefill reads each
 *                weight row once per 4 tokens; NULL: the driver calls vec_dot
 *   vec_dot_type the type the activations are converted to before vec_dot
 *                (F32 for F32/F16/BF16 weights)
 *   gemm4x4      optional: 4 rows of w (w_stride bytes apart) against 4 rows
 *                of x (x_stride apart) in one register tile, out[4*r + t] =
 *                vec_dot(w_r, x_t); the matmul driver uses it for prefill
 * A NULL vec_dot means hearth cannot compute with the type.
 *
 * Quantized types (Q4_0 ... Q8_K) register in src/kernels/quant_table.c,
 * which defines hearth_quant_register() below: it is called once per
 * instruction set with that set's table (already holding F32/F16/BF16) and
 * fills the entries of the types it implements.
 */
#ifndef HEARTH_KERNELS_H
#define HEARTH_KERNELS_H

#include "hearth/core.h"
#include "hearth/types.h"

#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- half-precision conversion (exact; the scalar reference) ------------ */
static inline float hearth_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {   /* subnormal: normalise */
            int e = -1;
            do { mant <<= 1; e++; } while (!(mant & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* round to nearest even; overflow -> inf; NaN stays NaN */
static inline uint16_t hearth_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);   /* rounds to >= 65520 */
    if (ax < 0x38800000u) {                                       /* below the smallest normal half */
        if (ax < 0x33000000u) return (uint16_t)sign;              /* < 2^-25: zero */
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e;                                  /* 14..24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((ax - 0x38000000u) >> 13);   /* rebias exponent 127 -> 15 */
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

static inline float hearth_bf16_to_fp32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t hearth_fp32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 64);   /* quiet NaN */
    return (uint16_t)((x + (0x7fffu + ((x >> 16) & 1))) >> 16);
}

/* ---- the per-type table --------------------------------------------------- */
typedef void (*hearth_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*hearth_from_float_fn)(const float *src, void *dst, int64_t n);
typedef float (*hearth_vec_dot_fn)(int64_t n, const void *w, const void *x);
typedef void (*hearth_vec_dot4_fn)(int64_t n, const void *w, const void *x, size_t x_stride, int nx,
                                   float *out);

typedef void (*hearth_gemm4x4_fn)(int64_t n, const void *w, size_t w_stride, const void *x, size_t x_stride,
                                  float *out);

typedef struct hearth_type_traits {
    hearth_to_float_fn to_float;
    hearth_from_float_fn from_float;
    hearth_vec_dot_fn vec_dot;
    hearth_vec_dot4_fn vec_dot4;   /* may be NULL */
    uint32_t vec_dot_type;
    hearth_gemm4x4_fn gemm4x4;     /* may be NULL */
} hearth_type_traits;

typedef enum hearth_isa {
    HEARTH_ISA_REF = 0,      /* portable scalar C: the reference */
    HEARTH_ISA_AVX2 = 1,     /* AVX2 + FMA + F16C */
    HEARTH_ISA_AVX512 = 2,   /* AVX-512 F/BW/VL (+ the AVX2 set) */
    HEARTH_ISA_COUNT = 3,
} hearth_isa;

const char *hearth_isa_name(hearth_isa isa);
/* The instruction set the kernels use (fixed at the first call). */
hearth_isa hearth_kernels_isa(void);
/* Whether this CPU can run isa's kernels (REF: always). */
bool hearth_kernels_isa_supported(hearth_isa isa);

/* Entry of the active table; NULL for an id outside the table. Entries of
 * types hearth cannot compute with have NULL functions. */
const hearth_type_traits *hearth_type_traits_get(uint32_t type);
/* Entry of a given instruction set's table (tests); NULL if unsupported. */
const hearth_type_traits *hearth_type_traits_isa(uint32_t type, hearth_isa isa);

/* Quantized types: defined in src/kernels/quant_table.c (see above). */
void hearth_quant_register(hearth_type_traits table[HEARTH_TYPE_COUNT], hearth_isa isa);

/* ---- matmul ----------------------------------------------------------------
 * Y (T, N) = X (T, K) @ W (N, K)^T : W is N rows of K elements of wtype, X and
 * Y are row-major floats. Rows of W are split over the pool's threads; T == 1
 * is a matrix-vector product, T > 1 processes X in groups of 4 rows per pass
 * over each block of W rows. `work` is scratch of hearth_matmul_work_size()
 * bytes (the activations converted to the weight's vec_dot_type), owned by the
 * caller. Fails with HEARTH_ERR_UNSUPPORTED for a type without vec_dot and
 * HEARTH_ERR_INVALID_ARG when K is not a multiple of the block size. */
size_t hearth_matmul_work_size(uint32_t wtype, int64_t T, int64_t K);
hearth_status hearth_matmul(hearth_pool *pool, float *Y, const float *X, const void *W, uint32_t wtype,
                            int64_t T, int64_t K, int64_t N, void *work);
/* Same with an explicit table (tests: compare instruction sets). */
hearth_status hearth_matmul_isa(hearth_pool *pool, float *Y, const float *X, const void *W, uint32_t wtype,
                                int64_t T, int64_t K, int64_t N, void *work, hearth_isa isa);

/* ---- packed weights (src/kernels/packed.c) ---------------------------------
 * Q4_0, Q8_0, Q4_K and Q6_K matrices repacked in groups of 4 rows for
 * AVX-512 VNNI register tiles (decode and prefill alike; same results as
 * hearth_matmul up to float summation order). Supported when the active
 * kernels are AVX-512 with VNNI, K is a multiple of the type's block (32, or
 * 256 for the K-quants) and N of 4, and HEARTH_NO_REPACK is not set (it
 * stops new packing; a matmul over weights already packed still runs). P
 * holds hearth_pack_size() bytes, 64-byte aligned, written by hearth_pack()
 * from the matrix W (N rows of K); work holds
 * hearth_matmul_packed_work_size() bytes. */
bool hearth_pack_supported(uint32_t type, int64_t K, int64_t N);
size_t hearth_pack_size(uint32_t type, int64_t K, int64_t N);
void hearth_pack(uint32_t type, const void *W, int64_t K, int64_t N, void *P);
size_t hearth_matmul_packed_work_size(int64_t T, int64_t K);
hearth_status hearth_matmul_packed(hearth_pool *pool, float *Y, const float *X, const void *P, uint32_t type,
                                   int64_t T, int64_t K, int64_t N, void *work);

/* ---- ops ------------------------------------------------------------------ */
typedef struct hearth_ops {
    /* y = x / sqrt(mean(x^2) + eps) * w   (y may equal x) */
    void (*rmsnorm)(float *y, const float *x, const float *w, int64_t n, float eps);
    /* x = exp(x - max) / sum, in place */
    void (*softmax)(float *x, int64_t n);
    /* y = silu(gate) * up = gate / (1 + exp(-gate)) * up  (y may equal gate) */
    void (*silu_mul)(float *y, const float *gate, const float *up, int64_t n);
    /* y += a * x, x of type xtype (F32 or F16) */
    void (*axpy)(int64_t n, float a, const void *x, uint32_t xtype, float *y);
    /* sum x[i] * y[i], x of type xtype (F32 or F16), y F32 */
    float (*dot)(int64_t n, const void *x, uint32_t xtype, const float *y);
    /* y = x + b */
    void (*add)(float *y, const float *x, const float *b, int64_t n);
} hearth_ops;

const hearth_ops *hearth_ops_get(void);                 /* active set */
const hearth_ops *hearth_ops_isa(hearth_isa isa);      /* NULL if unsupported */

/* ---- RoPE -------------------------------------------------------------------
 * Rotary position embedding as ggml computes it. The first n_rot dimensions
 * of each head are rotated in pairs: "normal" (llama: the GGUF converter
 * permutes Q/K so that pairs are (x[2i], x[2i+1])) or NEOX (qwen2: pairs
 * (x[i], x[i + n_rot/2])). Pair i turns by theta_i = pos * base^(-2i/n_rot),
 * divided by freq_factors[i] when given (llama 3 rope_freqs), scaled by
 * freq_scale (linear scaling = 1/factor) and blended YaRN-style when
 * ext_factor != 0. */
typedef struct hearth_rope {
    int n_rot;                   /* rotated dims per head (even) */
    bool neox;
    float freq_base;
    float freq_scale;            /* 1: no scaling */
    float ext_factor;            /* YaRN extrapolation mix; 0: off */
    float attn_factor;           /* YaRN magnitude scale; 1: none */
    float beta_fast, beta_slow;  /* YaRN ramp (32, 1) */
    int n_ctx_orig;              /* YaRN: training context before scaling */
    const float *freq_factors;   /* n_rot/2 or NULL (borrowed) */
} hearth_rope;

/* cs: n_rot floats = (cos, sin) for each pair at position pos. */
void hearth_rope_cache(const hearth_rope *r, int64_t pos, float *cs);
/* Rotates n_head heads of head_dim floats at x (contiguous) with cs. */
void hearth_rope_apply(const hearth_rope *r, float *x, int n_head, int head_dim, const float *cs);

/* ---- attention -------------------------------------------------------------
 * One query head against n_kv cached positions (causal masking is the caller
 * choosing n_kv = pos + 1):
 *   out (head_dim) = softmax(scale * K q) @ V
 * K and V rows are head_dim elements of kv_type (F32 or F16), kv_stride
 * elements apart. att: scratch of n_kv floats. */
void hearth_attention_head(const hearth_ops *ops, float *out, const float *q, const void *K, const void *V,
                           uint32_t kv_type, int64_t n_kv, int64_t kv_stride, int head_dim, float scale,
                           float *att);

#ifdef __cplusplus
}
#endif
#endif
