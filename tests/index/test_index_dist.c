/*
 * test_index_dist.c — the vector index's distance kernels: AVX2 and AVX-512
 * (when the CPU has them) against the scalar reference, at lengths that hit
 * every tail, with float results within summation-order rounding and int8
 * results exact.
 */
#include "harness.h"
#include "index/dist.h"

#include <stdlib.h>

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

static void compare(const idx_dist_ops *o) {
    const idx_dist_ops *r = idx_dist_reference();
    uint64_t seed = 7;
    static const int lens[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 384, 385, 768, 1000};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int n = lens[li];
        float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        int8_t *x = malloc(n), *y = malloc(n);
        for (int i = 0; i < n; i++) {
            a[i] = frand(&seed);
            b[i] = frand(&seed);
            x[i] = (int8_t)(frand(&seed) * 127);
            y[i] = (int8_t)(frand(&seed) * 127);
        }
        if (n >= 2) { x[0] = 127; y[0] = 127; x[1] = -127; y[1] = -127; }
        double tol = 1e-5 * n;
        CHECK_MSG(fabs(o->dot_f32(a, b, n) - r->dot_f32(a, b, n)) <= tol, "%s dot_f32 n=%d: %g vs %g", o->name, n,
                  o->dot_f32(a, b, n), r->dot_f32(a, b, n));
        CHECK_MSG(fabs(o->l2sq_f32(a, b, n) - r->l2sq_f32(a, b, n)) <= tol, "%s l2sq_f32 n=%d: %g vs %g", o->name, n,
                  o->l2sq_f32(a, b, n), r->l2sq_f32(a, b, n));
        CHECK_MSG(o->dot_i8(x, y, n) == r->dot_i8(x, y, n), "%s dot_i8 n=%d: %d vs %d", o->name, n, o->dot_i8(x, y, n),
                  r->dot_i8(x, y, n));
        free(a); free(b); free(x); free(y);
    }
}

TEST(reference_is_the_maths) {
    const idx_dist_ops *r = idx_dist_reference();
    float a[3] = {1, 2, 3}, b[3] = {4, -5, 6};
    int8_t x[3] = {127, -127, 5}, y[3] = {127, 127, -3};
    CHECK_NEAR(r->dot_f32(a, b, 3), 12, 1e-6);
    CHECK_NEAR(r->l2sq_f32(a, b, 3), 9 + 49 + 9, 1e-6);
    CHECK_EQ_INT(r->dot_i8(x, y, 3), 127 * 127 - 127 * 127 - 15);
}

TEST(avx2_matches_reference) {
    const idx_dist_ops *o = idx_dist_avx2();
    if (!o) { printf("  (no AVX2 on this CPU: skipped)\n"); return; }
    compare(o);
}

TEST(avx512_matches_reference) {
    const idx_dist_ops *o = idx_dist_avx512();
    if (!o) { printf("  (no AVX-512 on this CPU: skipped)\n"); return; }
    compare(o);
}

TEST(chosen_is_one_of_them) {
    const idx_dist_ops *o = idx_dist_get();
    CHECK(o == idx_dist_reference() || o == idx_dist_avx2() || o == idx_dist_avx512());
    printf("  chosen: %s\n", o->name);
}

int main(void) {
    RUN(reference_is_the_maths);
    RUN(avx2_matches_reference);
    RUN(avx512_matches_reference);
    RUN(chosen_is_one_of_them);
    return harness_done();
}
