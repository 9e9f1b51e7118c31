/*
 * test_vision_grad.c — the vision trainer's maths: the AVX2 matrix product
 * against the reference loop, the convolution against a direct one, and a
 * finite-difference gradient check of every layer type (conv, bn, relu,
 * pool, gap, fc, patch, transformer block, ln, tokmean) through whole small
 * networks on two threads.
 */
#include "harness.h"
#include "train/vision_internal.h"

#include <stdlib.h>

static float frand(uint64_t *s) { return (float)(vrng_uniform(s) * 2.0 - 1.0); }

TEST(gemm_matches_reference) {
    uint64_t s = 3;
    int shapes[][3] = {{1, 1, 1}, {4, 16, 9}, {7, 37, 300}, {32, 784, 9}, {64, 196, 288}, {5, 8, 1}, {3, 15, 2}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int M = shapes[t][0], N = shapes[t][1], K = shapes[t][2];
        float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
        float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
        for (int i = 0; i < M * K; i++) A[i] = frand(&s);
        for (int i = 0; i < K * N; i++) B[i] = frand(&s);
        for (int acc = 0; acc < 2; acc++) {
            for (int i = 0; i < M * N; i++) C1[i] = C2[i] = frand(&s);
            vg_gemm_ref(M, N, K, A, K, B, N, C1, N, acc);
            vg_gemm(M, N, K, A, K, B, N, C2, N, acc);
            double worst = 0;
            for (int i = 0; i < M * N; i++) worst = fmax(worst, fabs(C1[i] - C2[i]));
            CHECK_MSG(worst < 1e-4 * (1 + K / 16.0), "M %d N %d K %d acc %d: max diff %g", M, N, K, acc, worst);
        }
        free(A), free(B), free(C1), free(C2);
    }
}

TEST(conv_matches_direct) {
    uint64_t s = 5;
    int C = 3, H = 5, W = 6, O = 4;
    float x[3 * 5 * 6], Wt[4 * 27], b[4], out[4 * 30], col[27 * 30];
    for (int i = 0; i < C * H * W; i++) x[i] = frand(&s);
    for (int i = 0; i < O * C * 9; i++) Wt[i] = frand(&s);
    for (int i = 0; i < O; i++) b[i] = frand(&s);
    vop_conv3_forward(out, col, x, Wt, b, C, H, W, O);
    double worst = 0;
    for (int o = 0; o < O; o++)
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < W; xx++) {
                double sum = b[o];
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int sy = y + ky - 1, sx = xx + kx - 1;
                            if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
                            sum += Wt[o * 27 + c * 9 + ky * 3 + kx] * x[(c * H + sy) * W + sx];
                        }
                worst = fmax(worst, fabs(sum - out[(o * H + y) * W + xx]));
            }
    CHECK_MSG(worst < 1e-5, "max diff %g", worst);
}

/* loss = sum over the batch of cross-entropy; train-mode forward */
static double net_loss(hearth_vnet *net, hearth_pool *pool, const float *x, const int *y, int B, float *logits,
                       float *dlogits) {
    int K;
    hearth_vnet_shape(net, NULL, NULL, NULL, &K);
    vnet_forward(net, pool, x, B, true, logits);
    double loss = 0;
    float probs[16];
    for (int b = 0; b < B; b++)
        loss += vop_xent(dlogits ? dlogits + b * K : NULL, probs, logits + b * K, y[b], K, 1.0f);
    return loss;
}

static void grad_check(const char *arch, int w, int h, int c) {
    hearth_pool *pool = hearth_pool_create(2);
    hearth_vnet *net = NULL;
    int K = 3, B = 4;
    CHECK(hearth_vnet_create(arch, w, h, c, K, 11, &net) == HEARTH_OK);
    if (!net) {
        fprintf(stderr, "  %s\n", hearth_last_error());
        hearth_pool_free(pool);
        return;
    }
    uint64_t s = 17;
    int n_in = w * h * c;
    float *x = malloc(sizeof(float) * B * n_in), logits[64], dlogits[64];
    int y[4] = {0, 1, 2, 1};
    for (int i = 0; i < B * n_in; i++) x[i] = frand(&s);
    float *p = vnet_params(net), *g = vnet_grads(net);
    /* small random perturbation of norms / biases so that nothing sits at a symmetric point */
    int64_t np = hearth_vnet_n_params(net);
    for (int64_t i = 0; i < np; i++) p[i] += 0.05f * frand(&s);
    net_loss(net, pool, x, y, B, logits, dlogits);
    vnet_zero_grad(net);
    CHECK(vnet_backward(net, pool, dlogits, B) == HEARTH_OK);
    float *an = malloc(sizeof(float) * np);
    for (int64_t i = 0; i < np; i++) an[i] = g[i];
    int bad = 0, checked = 0;
    double worst = 0;
    int64_t stride = np / 300 + 1;
    for (int64_t i = (int64_t)(vrng_next(&s) % (uint64_t)stride); i < np; i += stride) {
        float keep = p[i];
        const float eps = 2e-3f;
        p[i] = keep + eps;
        double lp = net_loss(net, pool, x, y, B, logits, NULL);
        p[i] = keep - eps;
        double lm = net_loss(net, pool, x, y, B, logits, NULL);
        p[i] = keep;
        double num = (lp - lm) / (2 * eps), err = fabs(num - an[i]) / fmax(1.0, fabs(num) + fabs(an[i]));
        worst = fmax(worst, err);
        checked++;
        if (err > 1e-2) {
            if (bad < 5) fprintf(stderr, "  %s: param %lld numeric %.6f analytic %.6f\n", arch, (long long)i, num, an[i]);
            bad++;
        }
    }
    /* kinks of relu / max pool can flip under the step: allow a couple of misses in 300 */
    CHECK_MSG(bad <= 2, "%s: %d of %d gradients off (worst relative error %g)", arch, bad, checked, worst);
    printf("  %s: %d gradients, worst relative error %.2g\n", arch, checked, worst);
    free(an);
    free(x);
    hearth_vnet_free(net);
    hearth_pool_free(pool);
}

TEST(grad_cnn_bn_pool_fc) { grad_check("conv4,bn,relu,pool,conv3,bn,relu,fc6,relu,fc", 6, 6, 1); }
TEST(grad_cnn_rgb_gap) { grad_check("conv5,relu,gap,fc", 5, 4, 3); }
TEST(grad_vit) { grad_check("patch2x8,block2,ln,tokmean,fc", 4, 6, 1); }

TEST(bad_arch) {
    hearth_vnet *net = NULL;
    CHECK(hearth_vnet_create("conv8,bogus,fc", 8, 8, 1, 3, 1, &net) == HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "bogus") != NULL);
    CHECK(hearth_vnet_create("conv8,relu", 8, 8, 1, 3, 1, &net) == HEARTH_ERR_INVALID_ARG);
    CHECK(hearth_vnet_create("patch3x8,fc", 8, 8, 1, 3, 1, &net) == HEARTH_ERR_INVALID_ARG);
    CHECK(net == NULL);
}

int main(void) {
    RUN(gemm_matches_reference);
    RUN(conv_matches_direct);
    RUN(grad_cnn_bn_pool_fc);
    RUN(grad_cnn_rgb_gap);
    RUN(grad_vit);
    RUN(bad_arch);
    return harness_done();
}
