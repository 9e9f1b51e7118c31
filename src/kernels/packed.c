/*
 * packed.c — weights repacked for the register tiles of packed_avx512.c
 * (layout in packed.h): which matrices can be packed, the repacking itself,
 * and the matmul driver over packed weights.
 *
 * Packing is for inference only: the model keeps its mapped weights (which
 * training, merging and quantizing read) and adds the packed copy beside
 * them (hearth_context_create packs a model's matrices once). The packed
 * copy has the size of the original plus at most 64 bytes per 4 rows.
 * HEARTH_NO_REPACK=1 (or HEARTH_FORCE_REFERENCE=1) turns it off.
 */
#include "packed.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* the type, shape and instruction set the tiles need (what a matmul over
 * weights already packed checks; HEARTH_NO_REPACK only stops new packing) */
static bool packable(uint32_t type, int64_t K, int64_t N) {
    const bool k_quant = type == HEARTH_TYPE_Q4_K || type == HEARTH_TYPE_Q6_K;
    if (type != HEARTH_TYPE_Q4_0 && type != HEARTH_TYPE_Q8_0 && !k_quant) return false;
    if (K <= 0 || N <= 0 || K % (k_quant ? 256 : 32) != 0 || N % 4 != 0) return false;
    return hearth_kernels_isa() == HEARTH_ISA_AVX512 && hearth_cpu_features()->avx512vnni;
}

bool hearth_pack_supported(uint32_t type, int64_t K, int64_t N) {
    if (!packable(type, K, N)) return false;
    const char *e = getenv("HEARTH_NO_REPACK");
    return !(e && *e && strcmp(e, "0") != 0);
}

static int64_t n_units(int64_t N) { return (N + PACK_UNIT - 1) / PACK_UNIT; }

size_t hearth_pack_size(uint32_t type, int64_t K, int64_t N) {
    if (type == HEARTH_TYPE_Q4_K) return (size_t)(N / 4) * packed_k_unit_bytes(K / 256);
    if (type == HEARTH_TYPE_Q6_K) return (size_t)(N / 4) * packed_q6_unit_bytes(K / 256);
    return (size_t)n_units(N) * packed_unit_bytes(type, K / 32, PACK_UNIT);
}

static void pack_q4k(const void *W, int64_t K, int64_t N, void *dst) {
    const int64_t ns = K / 256;
    const size_t row = hearth_row_size(HEARTH_TYPE_Q4_K, K), cb = packed_k_chunk_bytes();
    for (int64_t u = 0; u < N / 4; u++) {
        uint8_t *unit = (uint8_t *)dst + (size_t)u * packed_k_unit_bytes(ns);
        for (int r = 0; r < 4; r++) {
            const block_q4_K *src = (const block_q4_K *)((const char *)W + (size_t)(4 * u + r) * row);
            for (int64_t s = 0; s < ns; s++) {
                uint8_t *chunk = unit + (size_t)(s / PACK_CHUNK) * cb;
                const int i = (int)(s % PACK_CHUNK);
                uint8_t *hdr = chunk + (size_t)i * PACK_K_HDR;
                uint8_t *qs = chunk + PACK_CHUNK * PACK_K_HDR + (size_t)i * PACK_K_QS;
                const block_q4_K *b = &src[s];
                memcpy(hdr + 2 * r, &b->d, 2);
                memcpy(hdr + 8 + 2 * r, &b->dmin, 2);
                for (int j = 0; j < 8; j++) {
                    int sc, m;
                    quant_scale_min_k4(j, b->scales, &sc, &m);
                    hdr[16 + 4 * j + r] = (uint8_t)sc;
                    hdr[48 + 8 * r + j] = (uint8_t)m;
                }
                for (int c = 0; c < 4; c++)
                    for (int h = 0; h < 2; h++) memcpy(qs + 128 * c + 64 * h + 16 * r, b->qs + 32 * c + 16 * h, 16);
            }
        }
    }
}

/* Q6_K element e of a super-block as 0 .. 63 (the format's bit layout) */
static int q6_value(const block_q6_K *b, int e) {
    int h = e / 128, k = (e / 32) % 4, l = e % 32;
    int lo = b->ql[64 * h + 32 * (k & 1) + l] >> (4 * (k >> 1)) & 0xF;
    int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;
    return lo | (hi << 4);
}

static void pack_q6k(const void *W, int64_t K, int64_t N, void *dst) {
    const int64_t ns = K / 256;
    const size_t row = hearth_row_size(HEARTH_TYPE_Q6_K, K), cb = packed_q6_chunk_bytes();
    for (int64_t u = 0; u < N / 4; u++) {
        uint8_t *unit = (uint8_t *)dst + (size_t)u * packed_q6_unit_bytes(ns);
        for (int r = 0; r < 4; r++) {
            const block_q6_K *src = (const block_q6_K *)((const char *)W + (size_t)(4 * u + r) * row);
            for (int64_t s = 0; s < ns; s++) {
                uint8_t *chunk = unit + (size_t)(s / PACK_CHUNK) * cb;
                const int i = (int)(s % PACK_CHUNK);
                uint8_t *hdr = chunk + (size_t)i * PACK_Q6_HDR;
                uint8_t *qs = chunk + PACK_CHUNK * PACK_Q6_HDR + (size_t)i * PACK_Q6_QS;
                const block_q6_K *b = &src[s];
                memcpy(hdr + 2 * r, &b->d, 2);
                for (int j = 0; j < 16; j++) {
                    const int p = j / 2;
                    hdr[8 + 32 * (p / 4) + 8 * r + 2 * (p % 4) + j % 2] = (uint8_t)b->scales[j];
                    for (int g = 0; g < 4; g++)
                        for (int e = 0; e < 4; e++) {
                            int v = q6_value(b, 16 * j + 4 * g + e), pos = 16 * r + 4 * g + e;
                            qs[64 * (j & 7) + pos] |= (uint8_t)((v & 0xF) << (j < 8 ? 0 : 4));
                            qs[512 + 64 * (j & 3) + pos] |= (uint8_t)((v >> 4) << (2 * (j >> 2)));
                        }
                }
            }
        }
    }
}

void hearth_pack(uint32_t type, const void *W, int64_t K, int64_t N, void *dst) {
    memset(dst, 0, hearth_pack_size(type, K, N));   /* padding of partial chunks; Q6_K ORs its bits in */
    if (type == HEARTH_TYPE_Q4_K || type == HEARTH_TYPE_Q6_K) {
        (type == HEARTH_TYPE_Q4_K ? pack_q4k : pack_q6k)(W, K, N, dst);
        return;
    }
    const int64_t nb = K / 32;
    const size_t row = hearth_row_size(type, K), qs = packed_qs_bytes(type);
    for (int64_t u = 0; u < n_units(N); u++) {
        const int rows = 8 * u + 8 <= N ? 8 : 4, nw = rows / 4;
        const size_t cb = packed_chunk_bytes(type, rows);
        uint8_t *unit = (uint8_t *)dst + (size_t)u * packed_unit_bytes(type, nb, PACK_UNIT);
        for (int r = 0; r < rows; r++) {
            const char *src = (const char *)W + (size_t)(8 * u + r) * row;
            const int k = r / 4, rr = r % 4;
            for (int64_t b = 0; b < nb; b++) {
                uint8_t *chunk = unit + (size_t)(b / PACK_CHUNK) * cb;
                const int i = (int)(b % PACK_CHUNK);
                uint8_t *d = chunk + (size_t)(i * nw + k) * 8 + 2 * rr;
                uint8_t *q = chunk + 64 + (size_t)(i * nw + k) * qs;
                if (type == HEARTH_TYPE_Q4_0) {
                    const block_q4_0 *blk = (const block_q4_0 *)src + b;
                    memcpy(d, &blk->d, 2);
                    for (int c = 0; c < 4; c++) memcpy(q + 16 * c + 4 * rr, blk->qs + 4 * c, 4);
                } else {
                    const block_q8_0 *blk = (const block_q8_0 *)src + b;
                    memcpy(d, &blk->d, 2);
                    for (int h = 0; h < 2; h++)
                        for (int c = 0; c < 4; c++)
                            for (int e = 0; e < 4; e++)
                                q[64 * h + 16 * c + 4 * rr + e] = (uint8_t)(blk->qs[16 * h + 4 * c + e] + 128);
                }
            }
        }
    }
}

/* ---- the driver ------------------------------------------------------------ */
size_t hearth_matmul_packed_work_size(int64_t T, int64_t K) {
    size_t q8_0 = (size_t)T * (size_t)(K / 32) * (sizeof(block_q8_0) + sizeof(float) + sizeof(int32_t)) + 64;
    if (T >= 4) q8_0 += (size_t)((T + 3) / 4) * (size_t)(K / 32) * PACK_XS_BYTES + 64;   /* spread groups */
    size_t q8_k = (size_t)T * (size_t)(K / 256) * (sizeof(block_q8_K) + 16) + 64;
    return q8_0 > q8_k ? q8_0 : q8_k;
}

/* Threads take runs of units from a shared counter, about 8 runs each, so
 * that one slowed down (another process on its core, a slower memory path)
 * leaves its share to the others instead of making them wait. Returns the
 * next run [*u0, *u1) or false when all are taken. */
static bool next_run(atomic_llong *next, int64_t n, int nth, int64_t *u0, int64_t *u1) {
    int64_t step = n / ((int64_t)nth * 8);
    if (step < 1) step = 1;
    *u0 = atomic_fetch_add_explicit(next, step, memory_order_relaxed);
    if (*u0 >= n) return false;
    *u1 = *u0 + step < n ? *u0 + step : n;
    return true;
}

/* ---- Q4_K against Q8_K activations ---- */
typedef struct pkk_job {
    const float *X;
    float *Y;
    int64_t T, K, N;
    packed_w w;
    packed_xk x;
    block_q8_K *xq;
    int16_t *bs;
    hearth_from_float_fn to_q8k;
    bool q6;             /* Q6_K: no sums of 32 needed */
    atomic_llong next;   /* next unit to hand out */
} pkk_job;

static void pkk_convert(void *arg, int ith, int nth) {
    pkk_job *j = arg;
    int64_t t0, t1, ns = j->x.ns;
    hearth_split_rows(j->T, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        block_q8_K *q = j->xq + (size_t)t * ns;
        j->to_q8k(j->X + t * j->K, q, j->K);
        if (j->q6) continue;   /* Q6_K reads the Q8_K sums of 16 directly */
        for (int64_t s = 0; s < ns; s++)
            for (int k = 0; k < 8; k++)
                j->bs[((size_t)t * ns + s) * 8 + k] = (int16_t)(q[s].bsums[2 * k] + q[s].bsums[2 * k + 1]);
    }
}

static void pkk_rows(void *arg, int ith, int nth) {
    pkk_job *j = arg;
    int64_t u0, u1;
    (void)ith;
    while (next_run(&j->next, j->N / 4, nth, &u0, &u1)) {
        if (j->q6) packed_rows_q6k_avx512(&j->w, &j->x, u0, u1, 0, j->T, j->Y, j->N);
        else packed_rows_q4k_avx512(&j->w, &j->x, u0, u1, 0, j->T, j->Y, j->N);
    }
}

static void matmul_packed_kq(hearth_pool *pool, float *Y, const float *X, const void *P, uint32_t type, int64_t T,
                             int64_t K, int64_t N, void *work) {
    const int64_t ns = K / 256;
    pkk_job j = {.X = X, .Y = Y, .T = T, .K = K, .N = N, .q6 = type == HEARTH_TYPE_Q6_K};
    atomic_init(&j.next, 0);
    j.w = (packed_w){P, ns, N, type};
    j.xq = work;
    j.bs = (int16_t *)((char *)work + (size_t)T * ns * sizeof(block_q8_K));
    j.x = (packed_xk){j.xq, j.bs, ns};
    j.to_q8k = hearth_type_traits_get(HEARTH_TYPE_Q8_K)->from_float;
    if (T == 1) pkk_convert(&j, 0, 1);
    else hearth_pool_run(pool, pkk_convert, &j);
    hearth_pool_run(N >= 64 ? pool : NULL, pkk_rows, &j);
}

typedef struct pk_job {
    const float *X;
    float *Y;
    int64_t T, K, N;
    int32_t off_scale;   /* 8 (Q4_0) or 128 (Q8_0) */
    packed_w w;
    packed_x x;
    block_q8_0 *xq;
    float *xd;
    int32_t *xo;
    hearth_from_float_fn to_q8;
    uint8_t *xs;         /* T >= 4: the activations spread by groups of 4 rows (packed.h), else NULL */
    atomic_llong next;   /* next unit to hand out */
} pk_job;

/* row t: Q8_0 blocks, their float scales and offset terms */
static void pk_convert_row(pk_job *j, int64_t t) {
    const int64_t nb = j->x.nb;
    block_q8_0 *q = j->xq + (size_t)t * nb;
    j->to_q8(j->X + t * j->K, q, j->K);
    for (int64_t b = 0; b < nb; b++) {
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += q[b].qs[i];
        j->xd[t * nb + b] = quant_f16_table[q[b].d];
        j->xo[t * nb + b] = -j->off_scale * s;
    }
}

/* group g of 4 rows (rows past T: zeros) spread as packed.h lays out; step
 * g's elements are 4g .. 4g+3 in both halves (16 + 4(g-4) = 4g), so each
 * step copies qs[4g ..] */
static void pk_spread_group(pk_job *j, int64_t g) {
    const int64_t nb = j->x.nb;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *dst = j->xs + ((size_t)g * nb + b) * PACK_XS_BYTES;
        int32_t *off = (int32_t *)(dst + 512);
        float *d = (void *)(dst + 576);   /* 4-byte aligned: the block holds floats there */
        for (int r = 0; r < 4; r++) {
            int64_t t = 4 * g + r;
            const block_q8_0 *q = t < j->T ? &j->xq[(size_t)t * nb + b] : NULL;
            for (int step = 0; step < 8; step++)
                for (int c = 0; c < 4; c++) {
                    if (q) memcpy(dst + 64 * step + 16 * r + 4 * c, q->qs + 4 * step, 4);
                    else memset(dst + 64 * step + 16 * r + 4 * c, 0, 4);
                }
            for (int c = 0; c < 4; c++) {
                off[4 * r + c] = q ? j->xo[t * nb + b] : 0;
                d[4 * r + c] = q ? j->xd[t * nb + b] : 0.0f;
            }
        }
    }
}

static void pk_convert(void *arg, int ith, int nth) {
    pk_job *j = arg;
    int64_t t0, t1;
    if (!j->xs) {
        hearth_split_rows(j->T, ith, nth, &t0, &t1);
        for (int64_t t = t0; t < t1; t++) pk_convert_row(j, t);
        return;
    }
    int64_t g0, g1;
    hearth_split_rows((j->T + 3) / 4, ith, nth, &g0, &g1);
    for (int64_t g = g0; g < g1; g++) {
        for (int64_t t = 4 * g; t < 4 * g + 4 && t < j->T; t++) pk_convert_row(j, t);
        pk_spread_group(j, g);
    }
}

static void pk_rows(void *arg, int ith, int nth) {
    pk_job *j = arg;
    int64_t u0, u1;
    (void)ith;
    while (next_run(&j->next, n_units(j->N), nth, &u0, &u1)) {
        if (j->xs) packed_rows_spread_avx512(&j->w, j->xs, j->T, u0, u1, j->Y, j->N);
        else packed_rows_avx512(&j->w, &j->x, u0, u1, 0, j->T, j->Y, j->N);
    }
}

hearth_status hearth_matmul_packed(hearth_pool *pool, float *Y, const float *X, const void *P, uint32_t type,
                                   int64_t T, int64_t K, int64_t N, void *work) {
    if (!packable(type, K, N))
        return hearth_set_error(HEARTH_ERR_UNSUPPORTED, "matmul: packed weights need AVX-512 VNNI, Q4_0, Q8_0, "
                                                        "Q4_K or Q6_K, whole blocks per row and a multiple of 4 rows");
    quant_f16_table_ready();
    if (type == HEARTH_TYPE_Q4_K || type == HEARTH_TYPE_Q6_K) {
        matmul_packed_kq(pool, Y, X, P, type, T, K, N, work);
        return HEARTH_OK;
    }
    const int64_t nb = K / 32;
    pk_job j = {.X = X, .Y = Y, .T = T, .K = K, .N = N, .off_scale = type == HEARTH_TYPE_Q4_0 ? 8 : 128};
    atomic_init(&j.next, 0);
    j.w = (packed_w){P, nb, N, type};
    char *p = work;
    j.xq = (block_q8_0 *)p;
    p += (size_t)T * nb * sizeof(block_q8_0);
    p = (char *)(((uintptr_t)p + 3) & ~(uintptr_t)3);
    j.xd = (void *)p;   /* aligned to 4 just above */
    j.xo = (int32_t *)(p + (size_t)T * nb * sizeof(float));
    j.x = (packed_x){j.xq, j.xd, j.xo, nb};
    if (T >= 4) {
        p = (char *)(j.xo + (size_t)T * nb);
        j.xs = (uint8_t *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
    }
    j.to_q8 = hearth_type_traits_get(HEARTH_TYPE_Q8_0)->from_float;
    if (T == 1) pk_convert(&j, 0, 1);
    else hearth_pool_run(pool, pk_convert, &j);
    hearth_pool_run(N >= 64 ? pool : NULL, pk_rows, &j);
    return HEARTH_OK;
}
