/*
 * test_quant.c — the quantized types against their reference, against the
 * reference engine's files, and against the format's error bounds.
 *
 *  - every ISA (reference, AVX2, AVX-512 where this CPU has them): vec_dot
 *    vs the scalar reference on random rows of many sizes, tolerance
 *    1e-5 * sum_i |w_i a_i| (the integer parts are exact; only the order of
 *    the float sums differs); dequantize identical to the reference
 *  - quantize -> dequantize of Gaussian rows: relative RMS error under the
 *    format's bound (step / sqrt(12) of a uniform quantizer, with margin)
 *  - fixtures cut from the reference engine's GGUF files
 *    (tests/data/quant, made by tests/quant/make_fixtures.py): quantizing
 *    the F16 rows reproduces the file's bytes exactly, and the dequantized
 *    values lie within one quantization step of the F16 originals
 *  - the matmul driver with quantized weights against a float computation
 */
#include "harness.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

#include <stdlib.h>

/* ==== helpers =============================================================== */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static float gauss(void) { return (float)(sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand())); }

typedef struct qtype {
    uint32_t type;
    const char *name;
    double rms_bound;   /* relative RMS round-trip error bound for N(0,1) rows */
} qtype;

/* Bounds: a uniform quantizer of step D has RMS error D/sqrt(12). With the
 * block max of 32 N(0,1) values ~2.1 (16 values: ~1.8): Q8_0 D = 2.1/127 ->
 * 0.005; Q4_0 D = 2.1/8 -> 0.076; Q4_1/Q4_K D = range/15 ~ 4.2/15 -> 0.081;
 * Q5_* D ~ 4.2/31 -> 0.039; Q6_K D = 2*1.8/63 -> 0.017; Q3_K D = 2*1.8/7 ->
 * 0.15; Q2_K D = 3.6/3 -> 0.35. Bounds add ~25 % margin (the K-quant
 * searches do better than these estimates). */
static const qtype TYPES[] = {
    {HEARTH_TYPE_Q4_0, "Q4_0", 0.10}, {HEARTH_TYPE_Q4_1, "Q4_1", 0.10}, {HEARTH_TYPE_Q5_0, "Q5_0", 0.05},
    {HEARTH_TYPE_Q5_1, "Q5_1", 0.05}, {HEARTH_TYPE_Q8_0, "Q8_0", 0.01}, {HEARTH_TYPE_Q2_K, "Q2_K", 0.40},
    {HEARTH_TYPE_Q3_K, "Q3_K", 0.19}, {HEARTH_TYPE_Q4_K, "Q4_K", 0.10}, {HEARTH_TYPE_Q5_K, "Q5_K", 0.05},
    {HEARTH_TYPE_Q6_K, "Q6_K", 0.022},
};
#define NTYPES ((int)(sizeof TYPES / sizeof TYPES[0]))

static const hearth_isa ISAS[] = {HEARTH_ISA_REF, HEARTH_ISA_AVX2, HEARTH_ISA_AVX512};

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* ==== every ISA against the reference ====================================== */

TEST(isa_vec_dot_and_dequantize_match_reference) {
    static const int64_t sizes32[] = {32, 64, 96, 160, 512, 1024, 4096, 4128};
    static const int64_t sizesK[] = {256, 512, 768, 2048, 4096, 11008 / 256 * 256};
    for (int t = 0; t < NTYPES; t++) {
        const hearth_type_traits *ref = hearth_type_traits_isa(TYPES[t].type, HEARTH_ISA_REF);
        CHECK_MSG(ref && ref->vec_dot && ref->to_float && ref->from_float, "%s: no reference kernels", TYPES[t].name);
        if (!ref || !ref->vec_dot) continue;
        const hearth_type_traits *aref = hearth_type_traits_isa(ref->vec_dot_type, HEARTH_ISA_REF);
        bool k = hearth_type_get(TYPES[t].type)->block_size == 256;
        const int64_t *sizes = k ? sizesK : sizes32;
        int nsizes = k ? 6 : 8;
        for (int si = 0; si < nsizes; si++) {
            int64_t n = sizes[si];
            float *x = xmalloc(sizeof(float) * n), *y = xmalloc(sizeof(float) * n);
            float *wd = xmalloc(sizeof(float) * n), *ad = xmalloc(sizeof(float) * n);
            float *wd2 = xmalloc(sizeof(float) * n);
            for (int64_t i = 0; i < n; i++) {
                x[i] = gauss() * (i % 97 == 0 ? 4.0f : 1.0f);   /* some outliers */
                y[i] = gauss();
            }
            if (si == 0) y[5] = 30.0f;   /* a dominant activation */
            void *w = xmalloc(hearth_row_size(TYPES[t].type, n));
            void *a = xmalloc(hearth_row_size(ref->vec_dot_type, n));
            ref->from_float(x, w, n);
            aref->from_float(y, a, n);
            ref->to_float(w, wd, n);
            aref->to_float(a, ad, n);
            double mag = 0, s_err = 0;
            for (int64_t i = 0; i < n; i++) mag += fabs((double)wd[i] * ad[i]);
            /* Q8_1 keeps d * sum(q) as f16 (relative rounding 2^-11): the
             * min term m * s of Q4_1 / Q5_1 carries that rounding */
            if (ref->vec_dot_type == HEARTH_TYPE_Q8_1)
                for (int64_t b = 0; b < n / 32; b++)
                    s_err += fabs(hearth_fp16_to_fp32(((const uint16_t *)((const char *)w + b * hearth_row_size(TYPES[t].type, 32)))[1]) *
                                  hearth_fp16_to_fp32(((const block_q8_1 *)a)[b].s)) / 2048.0;
            float want = ref->vec_dot(n, w, a);
            for (int is = 1; is < 3; is++) {
                const hearth_type_traits *tt = hearth_type_traits_isa(TYPES[t].type, ISAS[is]);
                if (!tt) continue;   /* this CPU lacks the instruction set */
                float got = tt->vec_dot(n, w, a);
                CHECK_MSG(fabs(got - want) <= 1e-5 * mag + 1e-30, "%s %s n=%lld: vec_dot %.9g vs reference %.9g",
                          TYPES[t].name, hearth_isa_name(ISAS[is]), (long long)n, got, want);
                tt->to_float(w, wd2, n);
                CHECK_MSG(memcmp(wd, wd2, sizeof(float) * n) == 0, "%s %s n=%lld: dequantize differs from reference",
                          TYPES[t].name, hearth_isa_name(ISAS[is]), (long long)n);
            }
            /* the reference dot is the dot of the dequantized rows */
            double exact = 0;
            for (int64_t i = 0; i < n; i++) exact += (double)wd[i] * ad[i];
            CHECK_MSG(fabs(want - exact) <= 1e-5 * mag + s_err + 1e-30, "%s n=%lld: reference vec_dot %.9g vs dequantized %.9g",
                      TYPES[t].name, (long long)n, want, exact);
            free(x), free(y), free(wd), free(ad), free(wd2), free(w), free(a);
        }
    }
}

/* Blocks of random bytes (every quant bit pattern, also ones the quantizers
 * never write: Q8_0 -128, Q6_K scale -128, 6-bit scales at 63...) with
 * finite random f16 scales: every ISA agrees with the reference. */
static uint16_t random_f16(void) {
    /* sign, exponent 5..20 (about 2^-10 .. 2^5), any mantissa */
    return (uint16_t)(((urand() < 0.5) << 15) | ((5 + (int)(urand() * 16)) << 10) | (int)(urand() * 1024));
}

TEST(isa_kernels_on_random_blocks) {
    /* byte offsets of the f16 fields inside each type's block */
    static const struct { uint32_t type; int f16[2]; } L[] = {
        {HEARTH_TYPE_Q4_0, {0, -1}}, {HEARTH_TYPE_Q4_1, {0, 2}}, {HEARTH_TYPE_Q5_0, {0, -1}},
        {HEARTH_TYPE_Q5_1, {0, 2}},  {HEARTH_TYPE_Q8_0, {0, -1}}, {HEARTH_TYPE_Q2_K, {80, 82}},
        {HEARTH_TYPE_Q3_K, {108, -1}}, {HEARTH_TYPE_Q4_K, {0, 2}}, {HEARTH_TYPE_Q5_K, {0, 2}},
        {HEARTH_TYPE_Q6_K, {208, -1}},
    };
    const int64_t n = 2048;
    float *y = xmalloc(sizeof(float) * n), *r0 = xmalloc(sizeof(float) * n), *r1 = xmalloc(sizeof(float) * n);
    float *ad = xmalloc(sizeof(float) * n);
    for (int t = 0; t < 10; t++) {
        const hearth_type_info *ti = hearth_type_get(L[t].type);
        const hearth_type_traits *ref = hearth_type_traits_isa(L[t].type, HEARTH_ISA_REF);
        const hearth_type_traits *aref = hearth_type_traits_isa(ref->vec_dot_type, HEARTH_ISA_REF);
        size_t row = hearth_row_size(L[t].type, n);
        uint8_t *w = xmalloc(row);
        void *a = xmalloc(hearth_row_size(ref->vec_dot_type, n));
        for (int rep = 0; rep < 4; rep++) {
            for (size_t b = 0; b < row; b++) w[b] = (uint8_t)(urand() * 256);
            for (int64_t blk = 0; blk < n / ti->block_size; blk++)
                for (int f = 0; f < 2; f++)
                    if (L[t].f16[f] >= 0) {
                        uint16_t h = random_f16();
                        memcpy(w + blk * ti->type_size + L[t].f16[f], &h, 2);
                    }
            for (int64_t i = 0; i < n; i++) y[i] = gauss();
            aref->from_float(y, a, n);
            ref->to_float(w, r0, n);
            aref->to_float(a, ad, n);
            double mag = 0;
            for (int64_t i = 0; i < n; i++) mag += fabs((double)r0[i] * ad[i]);
            float want = ref->vec_dot(n, w, a);
            for (int is = 1; is < 3; is++) {
                const hearth_type_traits *tt = hearth_type_traits_isa(L[t].type, ISAS[is]);
                if (!tt) continue;
                float got = tt->vec_dot(n, w, a);
                CHECK_MSG(fabs(got - want) <= 1e-5 * mag, "%s %s random blocks: vec_dot %.9g vs %.9g", ti->name,
                          hearth_isa_name(ISAS[is]), got, want);
                tt->to_float(w, r1, n);
                CHECK_MSG(memcmp(r0, r1, sizeof(float) * n) == 0, "%s %s random blocks: dequantize differs", ti->name,
                          hearth_isa_name(ISAS[is]));
                if (tt->vec_dot4) {
                    float out[4];
                    tt->vec_dot4(n, w, a, 0, 2, out);   /* the same row twice */
                    CHECK_MSG(fabs(out[0] - want) <= 1e-5 * mag && fabs(out[1] - want) <= 1e-5 * mag,
                              "%s %s random blocks: vec_dot4 %.9g %.9g vs %.9g", ti->name, hearth_isa_name(ISAS[is]),
                              out[0], out[1], want);
                }
            }
        }
        free(w), free(a);
    }
    free(y), free(r0), free(r1), free(ad);
}

/* vec_dot4 (prefill: up to 4 activation rows per pass over a weight row)
 * against the reference vec_dot of each row, every nx */
TEST(isa_vec_dot4_matches_reference) {
    int tested = 0;
    for (int t = 0; t < NTYPES; t++) {
        const hearth_type_traits *ref = hearth_type_traits_isa(TYPES[t].type, HEARTH_ISA_REF);
        const hearth_type_traits *aref = hearth_type_traits_isa(ref->vec_dot_type, HEARTH_ISA_REF);
        const int64_t n = 1024 + 256 * (t % 3);
        float *x = xmalloc(sizeof(float) * n), *y = xmalloc(sizeof(float) * n), *wd = xmalloc(sizeof(float) * n),
              *ad = xmalloc(sizeof(float) * n);
        size_t arow = hearth_row_size(ref->vec_dot_type, n) + 8;   /* a stride that is not the row size */
        void *w = xmalloc(hearth_row_size(TYPES[t].type, n));
        char *a = xmalloc(arow * 4);
        for (int64_t i = 0; i < n; i++) x[i] = gauss();
        ref->from_float(x, w, n);
        ref->to_float(w, wd, n);
        double mag[4] = {0};
        float want[4];
        for (int k = 0; k < 4; k++) {
            for (int64_t i = 0; i < n; i++) y[i] = gauss() * (float)(k + 1);
            aref->from_float(y, a + k * arow, n);
            aref->to_float(a + k * arow, ad, n);
            for (int64_t i = 0; i < n; i++) mag[k] += fabs((double)wd[i] * ad[i]);
            want[k] = ref->vec_dot(n, w, a + k * arow);
        }
        for (int is = 0; is < 3; is++) {
            const hearth_type_traits *tt = hearth_type_traits_isa(TYPES[t].type, ISAS[is]);
            if (!tt || !tt->vec_dot4) continue;
            tested++;
            for (int nx = 1; nx <= 4; nx++) {
                float out[4] = {-1, -1, -1, -1};
                tt->vec_dot4(n, w, a, arow, nx, out);
                for (int k = 0; k < 4; k++) {
                    if (k < nx)
                        CHECK_MSG(fabs(out[k] - want[k]) <= 1e-5 * mag[k], "%s %s nx=%d row %d: %.9g vs %.9g",
                                  TYPES[t].name, hearth_isa_name(ISAS[is]), nx, k, out[k], want[k]);
                    else
                        CHECK_MSG(out[k] == -1, "%s %s nx=%d: wrote out[%d]", TYPES[t].name, hearth_isa_name(ISAS[is]), nx, k);
                }
            }
        }
        free(x), free(y), free(wd), free(ad), free(w), free(a);
    }
    printf("  vec_dot4 checked for %d type x ISA pairs\n", tested);
}

/* the activation quantizers of every ISA write the reference's bytes,
 * rounding ties included */
TEST(isa_activation_quantizers_byte_identical) {
    const int64_t n = 256 * 8;
    float *x = xmalloc(sizeof(float) * n);
    const uint32_t acts[] = {HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q8_1, HEARTH_TYPE_Q8_K};
    for (int pass = 0; pass < 4; pass++) {
        for (int64_t i = 0; i < n; i++) {
            switch (pass) {
            case 0: x[i] = gauss(); break;
            case 1: x[i] = (float)((int)(urand() * 254) - 127) + 0.5f; break;   /* ties at d = 1 */
            case 2: x[i] = (i % 256 == 0) ? 127.0f : (float)((int)(urand() * 254) - 127) + 0.5f; break;
            default: x[i] = (i % 64 < 32) ? 0.0f : (i % 7 == 0 ? -3.0f : (i % 5 == 0 ? 3.0f : gauss())); break;
            }
        }
        if (pass == 3) x[300] = 3.0f, x[301] = -3.0f;   /* equal magnitudes, first one gives the sign */
        for (int k = 0; k < 3; k++) {
            const hearth_type_traits *ref = hearth_type_traits_isa(acts[k], HEARTH_ISA_REF);
            size_t sz = hearth_row_size(acts[k], n);
            uint8_t *want = xmalloc(sz), *got = xmalloc(sz);
            memset(want, 0, sz), memset(got, 0, sz);
            ref->from_float(x, want, n);
            for (int is = 1; is < 3; is++) {
                const hearth_type_traits *tt = hearth_type_traits_isa(acts[k], ISAS[is]);
                if (!tt) continue;
                memset(got, 0, sz);
                tt->from_float(x, got, n);
                CHECK_MSG(memcmp(want, got, sz) == 0, "%s %s pass %d: quantized bytes differ from the reference",
                          hearth_type_get(acts[k])->name, hearth_isa_name(ISAS[is]), pass);
            }
            free(want), free(got);
        }
    }
    free(x);
}

/* AVX-VNNI kernels (used on CPUs with AVX-VNNI but not AVX-512 VNNI), called
 * directly where this CPU has AVX-VNNI */
TEST(avxvnni_kernels_match_reference) {
    if (!hearth_cpu_features()->avxvnni || !hearth_cpu_features()->avx2) {
        printf("  (no AVX-VNNI on this CPU)\n");
        return;
    }
    typedef float (*dot_fn)(int64_t, const void *, const void *);
    const struct { uint32_t type; dot_fn fn; } cases[] = {
        {HEARTH_TYPE_Q4_0, vec_dot_q4_0_q8_0_avxvnni}, {HEARTH_TYPE_Q4_1, vec_dot_q4_1_q8_1_avxvnni},
        {HEARTH_TYPE_Q5_0, vec_dot_q5_0_q8_0_avxvnni}, {HEARTH_TYPE_Q5_1, vec_dot_q5_1_q8_1_avxvnni},
        {HEARTH_TYPE_Q8_0, vec_dot_q8_0_q8_0_avxvnni},
    };
    const int64_t n = 1024 + 96;
    float *x = xmalloc(sizeof(float) * n), *y = xmalloc(sizeof(float) * n);
    for (int c = 0; c < 5; c++) {
        const hearth_type_traits *ref = hearth_type_traits_isa(cases[c].type, HEARTH_ISA_REF);
        const hearth_type_traits *aref = hearth_type_traits_isa(ref->vec_dot_type, HEARTH_ISA_REF);
        void *w = xmalloc(hearth_row_size(cases[c].type, n));
        char *a = xmalloc(hearth_row_size(ref->vec_dot_type, n) * 4);
        size_t arow = hearth_row_size(ref->vec_dot_type, n);
        for (int64_t i = 0; i < n; i++) x[i] = gauss();
        ref->from_float(x, w, n);
        for (int k = 0; k < 4; k++) {
            for (int64_t i = 0; i < n; i++) y[i] = gauss();
            aref->from_float(y, a + k * arow, n);
        }
        float want[4], *wd = xmalloc(sizeof(float) * n), *ad = xmalloc(sizeof(float) * n);
        double mag[4] = {0};   /* tolerance 1e-5 * sum |w_i a_i|, as for the other ISAs */
        ref->to_float(w, wd, n);
        for (int k = 0; k < 4; k++) {
            want[k] = ref->vec_dot(n, w, a + k * arow);
            aref->to_float(a + k * arow, ad, n);
            for (int64_t i = 0; i < n; i++) mag[k] += fabs((double)wd[i] * ad[i]);
        }
        free(wd), free(ad);
        float got = cases[c].fn(n, w, a);
        CHECK_MSG(fabs(got - want[0]) <= 1e-5 * mag[0], "%s avxvnni: %.9g vs %.9g",
                  hearth_type_get(cases[c].type)->name, got, want[0]);
        if (cases[c].type == HEARTH_TYPE_Q4_0 || cases[c].type == HEARTH_TYPE_Q8_0) {
            float out[4];
            (cases[c].type == HEARTH_TYPE_Q4_0 ? vec_dot4_q4_0_q8_0_avxvnni : vec_dot4_q8_0_q8_0_avxvnni)(n, w, a, arow, 4, out);
            for (int k = 0; k < 4; k++)
                CHECK_MSG(fabs(out[k] - want[k]) <= 1e-5 * mag[k], "%s avxvnni dot4 row %d: %.9g vs %.9g",
                          hearth_type_get(cases[c].type)->name, k, out[k], want[k]);
        }
        free(w), free(a);
    }
    free(x), free(y);
}

/* ==== round trip ============================================================ */

TEST(round_trip_error_within_format_bounds) {
    const int64_t n = 256 * 64;
    float *x = xmalloc(sizeof(float) * n), *r = xmalloc(sizeof(float) * n);
    for (int64_t i = 0; i < n; i++) x[i] = gauss();
    double prev = 1.0;
    for (int t = 0; t < NTYPES; t++) {
        const hearth_type_traits *ref = hearth_type_traits_isa(TYPES[t].type, HEARTH_ISA_REF);
        if (!ref || !ref->from_float) continue;
        void *q = xmalloc(hearth_row_size(TYPES[t].type, n));
        ref->from_float(x, q, n);
        ref->to_float(q, r, n);
        double e2 = 0, x2 = 0;
        for (int64_t i = 0; i < n; i++) e2 += (double)(x[i] - r[i]) * (x[i] - r[i]), x2 += (double)x[i] * x[i];
        double rel = sqrt(e2 / x2);
        printf("  %-5s round-trip relative RMS error %.5f (bound %.3f)\n", TYPES[t].name, rel, TYPES[t].rms_bound);
        CHECK_MSG(rel < TYPES[t].rms_bound, "%s: relative RMS error %.5f >= %.3f", TYPES[t].name, rel,
                  TYPES[t].rms_bound);
        (void)prev;
        /* all-zero and constant rows survive */
        float z[256] = {0}, zr[256];
        int64_t bs = hearth_type_get(TYPES[t].type)->block_size;
        ref->from_float(z, q, bs);
        ref->to_float(q, zr, bs);
        for (int i = 0; i < bs; i++) CHECK_MSG(zr[i] == 0.0f, "%s: zero row -> %g at %d", TYPES[t].name, zr[i], i);
        free(q);
    }
    /* the activation types */
    const uint32_t acts[] = {HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q8_1, HEARTH_TYPE_Q8_K};
    for (int k = 0; k < 3; k++) {
        const hearth_type_traits *ref = hearth_type_traits_isa(acts[k], HEARTH_ISA_REF);
        CHECK(ref && ref->from_float && ref->to_float);
        if (!ref || !ref->from_float) continue;
        void *q = xmalloc(hearth_row_size(acts[k], n));
        ref->from_float(x, q, n);
        ref->to_float(q, r, n);
        double e2 = 0, x2 = 0;
        for (int64_t i = 0; i < n; i++) e2 += (double)(x[i] - r[i]) * (x[i] - r[i]), x2 += (double)x[i] * x[i];
        CHECK_MSG(sqrt(e2 / x2) < 0.01, "%s: relative RMS error %.5f", hearth_type_get(acts[k])->name, sqrt(e2 / x2));
        free(q);
    }
    /* Q8_1's s is d * sum(q); Q8_K's bsums are the sums of 16 quants */
    {
        block_q8_1 b[4];
        quantize_row_q8_1_ref(x, b, 128);
        for (int i = 0; i < 4; i++) {
            int s = 0;
            for (int j = 0; j < 32; j++) s += b[i].qs[j];
            CHECK_NEAR(hearth_fp16_to_fp32(b[i].s), s * hearth_fp16_to_fp32(b[i].d), 1e-3 * fabs(s * hearth_fp16_to_fp32(b[i].d)) + 1e-6);
        }
        block_q8_K bk;
        quantize_row_q8_K_ref(x, &bk, 256);
        for (int s = 0; s < 16; s++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += bk.qs[16 * s + j];
            CHECK_EQ_INT(bk.bsums[s], sum);
        }
    }
    free(x), free(r);
}

/* ==== fixtures from the reference engine's files ============================ */

static void *read_bin(const char *name, const char *ext, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s/quant/%s.%s", HEARTH_TEST_DATA, name, ext);
    return harness_read(path, len);
}

/* quantization step of element e of a row (the spacing of the levels) */
static double step_of(uint32_t type, const uint8_t *row, int64_t e) {
    switch (type) {
    case HEARTH_TYPE_Q8_0: return fabs(hearth_fp16_to_fp32(((const block_q8_0 *)row)[e / 32].d));
    case HEARTH_TYPE_Q4_0: return fabs(hearth_fp16_to_fp32(((const block_q4_0 *)row)[e / 32].d));
    case HEARTH_TYPE_Q4_K:
    case HEARTH_TYPE_Q5_K: {
        const uint8_t *scales = type == HEARTH_TYPE_Q4_K ? ((const block_q4_K *)row)[e / 256].scales
                                                         : ((const block_q5_K *)row)[e / 256].scales;
        uint16_t d = type == HEARTH_TYPE_Q4_K ? ((const block_q4_K *)row)[e / 256].d : ((const block_q5_K *)row)[e / 256].d;
        int sc, m;
        quant_scale_min_k4((int)(e % 256) / 32, scales, &sc, &m);
        return fabs(hearth_fp16_to_fp32(d) * sc);
    }
    case HEARTH_TYPE_Q6_K: {
        const block_q6_K *b = &((const block_q6_K *)row)[e / 256];
        return fabs(hearth_fp16_to_fp32(b->d) * b->scales[(e % 256) / 16]);
    }
    default: return 0;
    }
}

TEST(reference_files_bit_compatible) {
    size_t len;
    char *index = read_bin("fixtures", "txt", &len);
    CHECK_MSG(index != NULL, "missing %s/quant/fixtures.txt", HEARTH_TEST_DATA);
    if (!index) return;
    int cases = 0;
    for (char *line = strtok(index, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char name[64];
        unsigned type;
        long long n, rows;
        if (sscanf(line, "%63s %u %lld %lld", name, &type, &n, &rows) != 4) continue;
        size_t qlen, flen;
        uint8_t *q = read_bin(name, "bin", &qlen);
        uint16_t *f = read_bin(name, "f16", &flen);
        size_t row = hearth_row_size(type, n);
        CHECK_MSG(q && f && qlen == row * rows && flen == (size_t)(2 * n * rows), "%s: fixture sizes", name);
        if (!q || !f || qlen != row * rows || flen != (size_t)(2 * n * rows)) continue;
        cases++;
        float *x = xmalloc(sizeof(float) * n), *r = xmalloc(sizeof(float) * n);
        uint8_t *mine = xmalloc(row);
        /* within one step; 1.5 for Q4_K / Q5_K, whose 6-bit quantized min
         * shifts the grid so that values at a sub-block's ends may clamp */
        const double slack = type == HEARTH_TYPE_Q4_K || type == HEARTH_TYPE_Q5_K ? 1.5 : 1.0;
        int mismatched_rows = 0;
        double worst = 0, e2 = 0, x2 = 0;
        for (long long i = 0; i < rows; i++) {
            const uint8_t *qr = q + i * row;
            for (int64_t e = 0; e < n; e++) x[e] = hearth_fp16_to_fp32(f[i * n + e]);
            /* quantizing the F16 rows gives the reference engine's bytes */
            const hearth_type_traits *ref = hearth_type_traits_isa(type, HEARTH_ISA_REF);
            ref->from_float(x, mine, n);
            if (memcmp(mine, qr, row) != 0) {
                mismatched_rows++;
                for (size_t b = 0; b < row; b++)
                    if (mine[b] != qr[b]) {
                        if (mismatched_rows <= 2)
                            fprintf(stderr, "  %s row %lld: first differing byte %zu: %u vs file %u\n", name, i, b,
                                    mine[b], qr[b]);
                        break;
                    }
            }
            /* the file's blocks decode to within one step of the originals */
            for (int is = 0; is < 3; is++) {
                const hearth_type_traits *tt = hearth_type_traits_isa(type, ISAS[is]);
                if (!tt) continue;
                tt->to_float(qr, r, n);
                for (int64_t e = 0; e < n; e++) {
                    double err = fabs((double)r[e] - x[e]), st = step_of(type, qr, e);
                    if (is == 0) {
                        e2 += err * err, x2 += (double)x[e] * x[e];
                        if (st > 0 && err / st > worst) worst = err / st;
                    }
                    if (!(err <= st * slack + 1e-7)) {
                        CHECK_MSG(0, "%s %s row %lld el %lld: %.6g vs f16 %.6g (step %.3g)", name,
                                  hearth_isa_name(ISAS[is]), i, (long long)e, r[e], x[e], st);
                        e = n, i = rows, is = 3;   /* one report is enough */
                    }
                }
            }
        }
        printf("  %-18s %s: %lld rows, requantized rows differing: %d, worst error %.3f steps, rel RMS %.4f\n", name,
               hearth_type_get(type)->name, rows, mismatched_rows, worst, sqrt(e2 / x2));
        CHECK_MSG(mismatched_rows == 0, "%s: %d of %lld rows requantize to different bytes", name, mismatched_rows,
                  rows);
        free(x), free(r), free(mine), free(q), free(f);
    }
    CHECK_MSG(cases >= 5, "only %d fixtures", cases);
    free(index);
}

/* ==== matmul driver ========================================================= */

TEST(matmul_with_quantized_weights) {
    /* T = 7, N = 26: 4 x 4 register tiles (gemm4x4) and both edges */
    const int64_t K = 512, N = 26, T = 7;
    float *W = xmalloc(sizeof(float) * K * N), *X = xmalloc(sizeof(float) * K * T);
    float *Wd = xmalloc(sizeof(float) * K), *Y = xmalloc(sizeof(float) * N * T);
    for (int64_t i = 0; i < K * N; i++) W[i] = gauss() * 0.1f;
    for (int64_t i = 0; i < K * T; i++) X[i] = gauss();
    for (int t = 0; t < NTYPES; t++) {
        uint32_t type = TYPES[t].type;
        const hearth_type_traits *ref = hearth_type_traits_isa(type, HEARTH_ISA_REF);
        size_t row = hearth_row_size(type, K);
        uint8_t *Wq = xmalloc(row * N);
        for (int64_t r = 0; r < N; r++) ref->from_float(W + r * K, Wq + r * row, K);
        for (int is = 0; is < 3; is++) {
            if (!hearth_kernels_isa_supported(ISAS[is])) continue;
            void *work = xmalloc(hearth_matmul_work_size(type, T, K) + 64);
            hearth_status st = hearth_matmul_isa(NULL, Y, X, Wq, type, T, K, N, work, ISAS[is]);
            CHECK_MSG(st == HEARTH_OK, "%s %s: matmul status %d", TYPES[t].name, hearth_isa_name(ISAS[is]), (int)st);
            /* against float: dequantized W times unquantized X; the
             * activations' 8-bit rounding costs ~0.5 % of |W||X| */
            double worst = 0;
            for (int64_t r = 0; r < N; r++) {
                ref->to_float(Wq + r * row, Wd, K);
                for (int64_t tk = 0; tk < T; tk++) {
                    double s = 0, mag = 0;
                    for (int64_t k = 0; k < K; k++) s += (double)Wd[k] * X[tk * K + k], mag += fabs((double)Wd[k] * X[tk * K + k]);
                    double err = fabs(Y[tk * N + r] - s) / mag;
                    if (err > worst) worst = err;
                }
            }
            CHECK_MSG(worst < 0.01, "%s %s: matmul off by %.4f of sum|w x|", TYPES[t].name, hearth_isa_name(ISAS[is]),
                      worst);
            free(work);
        }
        free(Wq);
    }
    free(W), free(X), free(Wd), free(Y);
}

/* run as `test_quant --expect-reference` with HEARTH_FORCE_REFERENCE=1: the
 * active table must hand out the scalar reference for every quantized type */
static int expect_reference(void) {
    CHECK_EQ_INT(hearth_kernels_isa(), HEARTH_ISA_REF);
    for (int t = 0; t < NTYPES; t++) {
        const hearth_type_traits *tt = hearth_type_traits_get(TYPES[t].type);
        const hearth_type_traits *ref = hearth_type_traits_isa(TYPES[t].type, HEARTH_ISA_REF);
        CHECK_MSG(tt && ref && tt->vec_dot == ref->vec_dot && tt->to_float == ref->to_float && !tt->vec_dot4,
                  "%s: active kernels are not the reference", TYPES[t].name);
    }
    return harness_done();
}

/* ==== gemm4x4 ================================================================ */
/* each type's 4 x 4 tile = 16 vec_dots of the same instruction set, within
 * 1e-5 of sum|w x| (integer sums exact; float order differs); odd and even
 * block counts, random bytes as weights (every bit pattern) */
TEST(gemm4x4_matches_vec_dot) {
    int checked = 0;
    for (int t = 0; t <= NTYPES; t++) {   /* the quantized types, then F16 (F32 activations) */
        uint32_t type = t < NTYPES ? TYPES[t].type : HEARTH_TYPE_F16;
        const char *tname = t < NTYPES ? TYPES[t].name : "F16";
        for (int is = 0; is < 3; is++) {
            const hearth_type_traits *tt = hearth_type_traits_isa(type, ISAS[is]);
            if (!tt || !tt->gemm4x4) continue;
            const hearth_type_traits *vt = hearth_type_traits_isa(tt->vec_dot_type, ISAS[is]);
            for (int64_t K = 32; K <= 4128; K += K < 256 ? 32 : 1312) {
                if (K % hearth_type_get(type)->block_size) continue;
                if (type == HEARTH_TYPE_F16 && K == 64) K = 61;   /* a partial last vector */
                size_t wrow = hearth_row_size(type, K), xrow = hearth_row_size(tt->vec_dot_type, K);
                uint8_t *W = xmalloc(wrow * 4), *Xq = xmalloc(xrow * 4);
                float *X = xmalloc(sizeof(float) * K), *Wf = xmalloc(sizeof(float) * K);
                for (int r = 0; r < 4; r++) {
                    for (int64_t i = 0; i < K; i++) Wf[i] = gauss();
                    hearth_type_traits_isa(type, HEARTH_ISA_REF)->from_float(Wf, W + r * wrow, K);
                    for (int64_t i = 0; i < K; i++) X[i] = gauss();
                    vt->from_float(X, Xq + r * xrow, K);
                }
                float out[16];
                tt->gemm4x4(K, W, wrow, Xq, xrow, out);
                for (int r = 0; r < 4; r++) {
                    for (int k = 0; k < 4; k++) {
                        float want = tt->vec_dot(K, W + r * wrow, Xq + k * xrow);
                        /* scale of the sum: the dot of |dequantized| rows */
                        float *a = xmalloc(sizeof(float) * K), *b = xmalloc(sizeof(float) * K);
                        tt->to_float(W + r * wrow, a, K);
                        vt->to_float(Xq + k * xrow, b, K);
                        double mag = 0;
                        for (int64_t i = 0; i < K; i++) mag += fabs((double)a[i] * b[i]);
                        free(a);
                        free(b);
                        CHECK_MSG(fabs(out[4 * r + k] - want) <= 1e-5 * mag + 1e-6, "%s %s K=%lld (%d,%d): %g vs %g",
                                  tname, hearth_isa_name(ISAS[is]), (long long)K, r, k, out[4 * r + k], want);
                        checked++;
                    }
                }
                free(W); free(Xq); free(X); free(Wf);
            }
        }
    }
    printf("  gemm4x4: %d tile entries checked\n", checked);
}

/* ==== packed weights ========================================================== */
/* hearth_matmul_packed = hearth_matmul of the reference kernels, within 1e-5
 * of sum|w x| (the integer block sums are exact; only the float order
 * differs): Q4_0 and Q8_0, random bytes as weights (every bit pattern),
 * T = 1 .. 9 (every tile width and the T chunking), N with and without a
 * 4-row last unit, K with full and partial chunks of 4 blocks */
TEST(packed_matmul_matches_reference) {
    static const uint32_t types[] = {HEARTH_TYPE_Q4_0, HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q4_K, HEARTH_TYPE_Q6_K};
    static const int64_t Ks[] = {256, 768, 1024, 1280, 2048};   /* Q4_0/Q8_0 also take 32, 96, 160 */
    static const int64_t Ns[] = {4, 8, 12, 20, 64};
    if (!hearth_pack_supported(HEARTH_TYPE_Q4_0, 128, 8)) {
        printf("  packed weights: not supported here (no AVX-512 VNNI, or HEARTH_NO_REPACK), skipped\n");
        CHECK(!hearth_pack_supported(HEARTH_TYPE_Q8_0, 128, 8));
        return;
    }
    CHECK(!hearth_pack_supported(HEARTH_TYPE_Q5_K, 256, 8));   /* only Q4_0 / Q8_0 / Q4_K / Q6_K */
    CHECK(!hearth_pack_supported(HEARTH_TYPE_Q4_K, 128, 8));   /* whole super-blocks */
    CHECK(!hearth_pack_supported(HEARTH_TYPE_Q4_0, 128, 6));   /* whole 4-row groups */
    CHECK(!hearth_pack_supported(HEARTH_TYPE_Q4_0, 48, 8));    /* whole blocks */
    int checked = 0;
    for (int ti = 0; ti < 4; ti++)
        for (int ki = 0; ki < 8; ki++)
            for (int ni = 0; ni < 5; ni++) {
                static const int64_t small[] = {32, 96, 160};
                const uint32_t type = types[ti];
                const bool kq = type == HEARTH_TYPE_Q4_K || type == HEARTH_TYPE_Q6_K;
                if (ki >= 5 && kq) continue;
                const int64_t K = ki < 5 ? Ks[ki] : small[ki - 5], N = Ns[ni], T = 9;
                size_t row = hearth_row_size(type, K);
                uint8_t *W = xmalloc(row * N);
                for (size_t i = 0; i < row * N; i++) W[i] = (uint8_t)(urand() * 256);
                /* sane scales: random f16 bit patterns may be inf/NaN */
                const size_t bsz = hearth_row_size(type, hearth_type_get(type)->block_size);
                const size_t doff = type == HEARTH_TYPE_Q6_K ? 208 : 0;   /* Q6_K: d at the end */
                const int64_t nblk = K / hearth_type_get(type)->block_size;
                for (int64_t r = 0; r < N; r++)
                    for (int64_t b = 0; b < nblk; b++)
                        for (int h = 0; h < (type == HEARTH_TYPE_Q4_K ? 2 : 1); h++) {   /* Q4_K: d and dmin */
                            uint16_t d = hearth_fp32_to_fp16((float)(0.01 + 0.02 * urand()));
                            memcpy(W + r * row + (size_t)b * bsz + doff + 2 * h, &d, 2);
                        }
                float *X = xmalloc(sizeof(float) * K * T), *Y = xmalloc(sizeof(float) * N * T);
                float *Yr = xmalloc(sizeof(float) * N * T);
                for (int64_t i = 0; i < K * T; i++) X[i] = gauss();
                void *P = xmalloc(hearth_pack_size(type, K, N) + 64);
                void *Pa = (void *)(((uintptr_t)P + 63) & ~(uintptr_t)63);
                hearth_pack(type, W, K, N, Pa);
                size_t ws = hearth_matmul_packed_work_size(T, K), wr = hearth_matmul_work_size(type, T, K);
                void *work = xmalloc(ws > wr ? ws : wr);
                hearth_pool *pool = hearth_pool_create(2);
                for (int64_t t = 1; t <= T; t++) {
                    CHECK(hearth_matmul_isa(NULL, Yr, X, W, type, t, K, N, work, HEARTH_ISA_REF) == HEARTH_OK);
                    CHECK(hearth_matmul_packed(t & 1 ? pool : NULL, Y, X, Pa, type, t, K, N, work) == HEARTH_OK);
                    const hearth_type_traits *ref = hearth_type_traits_isa(type, HEARTH_ISA_REF);
                    float *wd = xmalloc(sizeof(float) * K);
                    for (int64_t r = 0; r < N; r++) {
                        ref->to_float(W + r * row, wd, K);
                        for (int64_t k = 0; k < t; k++) {
                            double mag = 0;
                            for (int64_t i = 0; i < K; i++) mag += fabs((double)wd[i] * X[k * K + i]);
                            CHECK_MSG(fabs(Y[k * N + r] - Yr[k * N + r]) <= 1e-5 * mag + 1e-6,
                                      "packed %s K=%lld N=%lld T=%lld (%lld,%lld): %g vs reference %g",
                                      hearth_type_get(type)->name, (long long)K, (long long)N, (long long)t,
                                      (long long)k, (long long)r, Y[k * N + r], Yr[k * N + r]);
                            checked++;
                        }
                    }
                    free(wd);
                }
                hearth_pool_free(pool);
                free(W), free(X), free(Y), free(Yr), free(P), free(work);
            }
    printf("  packed matmul: %d outputs checked against the reference\n", checked);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--expect-reference") == 0) return expect_reference();
    for (int is = 0; is < 3; is++)
        printf("ISA %s: %s\n", hearth_isa_name(ISAS[is]), hearth_kernels_isa_supported(ISAS[is]) ? "tested" : "not on this CPU");
    RUN(isa_vec_dot_and_dequantize_match_reference);
    RUN(isa_vec_dot4_matches_reference);
    RUN(isa_kernels_on_random_blocks);
    RUN(isa_activation_quantizers_byte_identical);
    RUN(avxvnni_kernels_match_reference);
    RUN(round_trip_error_within_format_bounds);
    RUN(reference_files_bit_compatible);
    RUN(matmul_with_quantized_weights);
    RUN(gemm4x4_matches_vec_dot);
    RUN(packed_matmul_matches_reference);
    return harness_done();
}
