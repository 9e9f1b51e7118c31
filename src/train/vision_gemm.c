/*
 * vision_gemm.c — the matrix product of the vision trainer: the reference
 * loop, the choice of the AVX2 version, and a blocked transpose.
 */
#include "train/vision_internal.h"

#include <pthread.h>
#include <string.h>

/* C[M,N] (=|+=) A[M,K] @ B[K,N]: for each row of C, add a[i,k] * row k of B */
void vg_gemm_ref(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                 bool acc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (!acc) memset(c, 0, (size_t)N * sizeof(float));
        for (int k = 0; k < K; k++) {
            float a = A[(size_t)i * lda + k];
            const float *b = B + (size_t)k * ldb;
            for (int j = 0; j < N; j++) c[j] += a * b[j];
        }
    }
}

/* chosen once (pthread_once: the first calls come from several pool workers at once) */
static bool use_avx2;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static void choose_isa(void) {
    const hearth_cpu *cpu = hearth_cpu_features();
    use_avx2 = cpu->avx2 && cpu->fma && !hearth_force_reference();
}

void vg_gemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, bool acc) {
    pthread_once(&isa_once, choose_isa);
    if (use_avx2) vg_gemm_avx2(M, N, K, A, lda, B, ldb, C, ldc, acc);
    else vg_gemm_ref(M, N, K, A, lda, B, ldb, C, ldc, acc);
}

void vg_transpose(float *dst, const float *src, int R, int C) {
    enum { TB = 32 };
    for (int r0 = 0; r0 < R; r0 += TB)
        for (int c0 = 0; c0 < C; c0 += TB) {
            int r1 = r0 + TB < R ? r0 + TB : R, c1 = c0 + TB < C ? c0 + TB : C;
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++) dst[(size_t)c * R + r] = src[(size_t)r * C + c];
        }
}
