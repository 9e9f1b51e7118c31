/*
 * bandwidth.c — this machine's memory read bandwidth: THREADS threads each sum
 * their share of a buffer much larger than the caches (default 1 GiB, touched
 * first so that every page is mapped), best of REPS passes; prints GB/s
 * (1e9 bytes per second). The decode limit of a model is then
 * bandwidth / (weight bytes read per token).
 *
 *   bandwidth [THREADS [MIB [REPS]]]        (defaults: 2, 1024, 5)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

typedef struct part {
    const char *p;
    size_t n;
    double sum;
} part;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* sum of the buffer as 32-bit ints, four independent accumulators */
static void *reader(void *arg) {
    part *w = arg;
#if defined(__AVX2__)
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 128 <= w->n; i += 128) {
        const __m256i *q = (const __m256i *)(w->p + i);
        s0 = _mm256_add_epi32(s0, _mm256_load_si256(q));
        s1 = _mm256_add_epi32(s1, _mm256_load_si256(q + 1));
        s2 = _mm256_add_epi32(s2, _mm256_load_si256(q + 2));
        s3 = _mm256_add_epi32(s3, _mm256_load_si256(q + 3));
    }
    int32_t o[8];
    _mm256_storeu_si256((__m256i *)o, _mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3)));
    w->sum = (double)o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
#else
    uint64_t s0 = 0, s1 = 0;
    const uint64_t *q = (const uint64_t *)w->p;
    for (size_t i = 0; i + 1 < w->n / 8; i += 2) { s0 += q[i]; s1 += q[i + 1]; }
    w->sum = (double)(s0 + s1);
#endif
    return NULL;
}

int main(int argc, char **argv) {
    int nth = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 3 ? atoi(argv[3]) : 5;
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    if (nth < 1 || nth > 256 || mib < 1 || reps < 1) {
        fprintf(stderr, "usage: bandwidth [THREADS [MIB [REPS]]]\n");
        return 2;
    }
    size_t size = mib << 20, share = size / (size_t)nth / 128 * 128;
    char *buf = aligned_alloc(4096, size);
    if (!buf) {
        fprintf(stderr, "bandwidth: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    memset(buf, 1, size);
    pthread_t th[256];
    part parts[256];
    double best = 0, check = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < nth; i++) {
            parts[i] = (part){.p = buf + (size_t)i * share, .n = share};
            pthread_create(&th[i], NULL, reader, &parts[i]);
        }
        for (int i = 0; i < nth; i++) pthread_join(th[i], NULL);
        double gbs = (double)share * nth / (now() - t0) / 1e9;
        best = gbs > best ? gbs : best;
        for (int i = 0; i < nth; i++) check += parts[i].sum;
    }
    fprintf(stderr, "bandwidth: %d thread(s), %zu MiB, best of %d (checksum %.0f)\n", nth, mib, reps, check);
    printf("%.2f\n", best);
    free(buf);
    return 0;
}
