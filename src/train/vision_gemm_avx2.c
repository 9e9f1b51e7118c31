/*
 * vision_gemm_avx2.c — C[M,N] (=|+=) A[M,K] @ B[K,N] with AVX2 + FMA.
 *
 * A 4 x 16 block of C lives in eight registers while k runs over K: each
 * step loads 16 floats of row k of B and broadcasts 4 values of column k
 * of A (8 FMAs). Column tails of fewer than 16 go 8 wide then scalar; row
 * tails use the same kernel with fewer rows.
 */
#include "train/vision_internal.h"

#include <immintrin.h>
#include <string.h>

/* rows [i, i+mr) (mr <= 4), columns [j, j+16) */
static inline void kernel_m16(int mr, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                              int i, int j, bool acc) {
    __m256 c0[4], c1[4];
    for (int r = 0; r < 4; r++) {
        if (r < mr && acc) {
            c0[r] = _mm256_loadu_ps(C + (size_t)(i + r) * ldc + j);
            c1[r] = _mm256_loadu_ps(C + (size_t)(i + r) * ldc + j + 8);
        } else {
            c0[r] = _mm256_setzero_ps();
            c1[r] = _mm256_setzero_ps();
        }
    }
    const float *a0 = A + (size_t)i * lda;
    if (mr == 4) {
        for (int k = 0; k < K; k++) {
            const float *b = B + (size_t)k * ldb + j;
            __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
            __m256 a;
            a = _mm256_broadcast_ss(a0 + k);
            c0[0] = _mm256_fmadd_ps(a, b0, c0[0]); c1[0] = _mm256_fmadd_ps(a, b1, c1[0]);
            a = _mm256_broadcast_ss(a0 + lda + k);
            c0[1] = _mm256_fmadd_ps(a, b0, c0[1]); c1[1] = _mm256_fmadd_ps(a, b1, c1[1]);
            a = _mm256_broadcast_ss(a0 + 2 * (size_t)lda + k);
            c0[2] = _mm256_fmadd_ps(a, b0, c0[2]); c1[2] = _mm256_fmadd_ps(a, b1, c1[2]);
            a = _mm256_broadcast_ss(a0 + 3 * (size_t)lda + k);
            c0[3] = _mm256_fmadd_ps(a, b0, c0[3]); c1[3] = _mm256_fmadd_ps(a, b1, c1[3]);
        }
    } else {
        for (int k = 0; k < K; k++) {
            const float *b = B + (size_t)k * ldb + j;
            __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
            for (int r = 0; r < mr; r++) {
                __m256 a = _mm256_broadcast_ss(a0 + (size_t)r * lda + k);
                c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
                c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
            }
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm256_storeu_ps(C + (size_t)(i + r) * ldc + j, c0[r]);
        _mm256_storeu_ps(C + (size_t)(i + r) * ldc + j + 8, c1[r]);
    }
}

/* columns [j, N) with N - j < 16 for rows [i, i+mr) */
static void tail_cols(int mr, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                      int i, int j0, bool acc) {
    for (int r = 0; r < mr; r++) {
        float *c = C + (size_t)(i + r) * ldc;
        const float *a = A + (size_t)(i + r) * lda;
        int j = j0;
        if (N - j >= 8) {
            __m256 s = acc ? _mm256_loadu_ps(c + j) : _mm256_setzero_ps();
            for (int k = 0; k < K; k++)
                s = _mm256_fmadd_ps(_mm256_broadcast_ss(a + k), _mm256_loadu_ps(B + (size_t)k * ldb + j), s);
            _mm256_storeu_ps(c + j, s);
            j += 8;
        }
        for (; j < N; j++) {
            float s = acc ? c[j] : 0.0f;
            for (int k = 0; k < K; k++) s += a[k] * B[(size_t)k * ldb + j];
            c[j] = s;
        }
    }
}

void vg_gemm_avx2(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                  bool acc) {
    /* block K so that a 4 x K slice of A and K x 16 of B stay in cache */
    enum { KB = 256 };
    for (int k0 = 0; k0 < K; k0 += KB) {
        int kb = K - k0 < KB ? K - k0 : KB;
        bool a2 = acc || k0 > 0;
        const float *Ak = A + k0, *Bk = B + (size_t)k0 * ldb;
        int N16 = N & ~15;
        for (int i = 0; i < M; i += 4) {
            int mr = M - i < 4 ? M - i : 4;
            for (int j = 0; j < N16; j += 16) kernel_m16(mr, kb, Ak, lda, Bk, ldb, C, ldc, i, j, a2);
            if (N16 < N) tail_cols(mr, N, kb, Ak, lda, Bk, ldb, C, ldc, i, N16, a2);
        }
    }
    if (K == 0 && !acc)
        for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
}
