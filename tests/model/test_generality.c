/*
 * test_generality.c — the forward pass on random models of other shapes
 * (written with the GGUF writer into /tmp): head_dim 128 with few heads, 16
 * heads over 2 KV heads with a tied output, qwen2 with attention.key_length
 * different from dim / n_head; 4096-token metadata contexts. Checks that
 *   - one batched decode (sliced by n_batch) and token-by-token decoding give
 *     the same logits (F32 weights, F32 cache: within 1e-4 of the logit range);
 *   - F16 copies of the weights give logits within 2 % of the range of F32's,
 *     and an F16 cache stays within 1 % of an F32 cache;
 *   - missing tensors are all listed, wrong shapes and unknown architectures
 *     are refused with messages naming them.
 */
#include "harness.h"

#include "hearth/model.h"
#include "random_model.h"

#include <unistd.h>

#define VOCAB HEARTH_TEST_DATA "/vocab/ggml-vocab-llama-spm.gguf"
#define NT 40

static char tmpdir[256];

static hearth_model *load(const char *path) {
    hearth_model *m = NULL;
    hearth_status s = hearth_model_load(path, NULL, &m);
    CHECK_MSG(s == HEARTH_OK, "%s: %s", path, hearth_last_error());
    return m;
}

static hearth_context *ctx(const hearth_model *m, int n_batch, bool kv_f32) {
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 64;
    cp.n_batch = n_batch;
    cp.n_threads = 2;
    cp.kv_f32 = kv_f32;
    hearth_context *c = NULL;
    CHECK_MSG(hearth_context_create(m, &cp, &c) == HEARTH_OK, "%s", hearth_last_error());
    return c;
}

/* logits of NT tokens: one batched decode (all_logits) */
static float *run_batched(hearth_model *m, const int32_t *toks, int n_batch, bool kv_f32) {
    int V = hearth_model_n_vocab(m);
    float *out = malloc((size_t)NT * V * sizeof *out);
    hearth_context *c = ctx(m, n_batch, kv_f32);
    if (!c) return out;
    CHECK_MSG(hearth_decode(c, toks, NT, true) == HEARTH_OK, "%s", hearth_last_error());
    for (int i = 0; i < NT; i++) memcpy(out + (size_t)i * V, hearth_get_logits_ith(c, i), (size_t)V * sizeof *out);
    CHECK_EQ_INT(hearth_context_n_past(c), NT);
    hearth_context_free(c);
    return out;
}

static double range_of(const float *x, size_t n) {
    float lo = x[0], hi = x[0];
    for (size_t i = 0; i < n; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; }
    return hi - lo;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fabs(a[i] - b[i]) > d ? fabs(a[i] - b[i]) : d;
    return d;
}

static void check_shape(rm_params p, const char *label) {
    char f32[512], f16[512];
    snprintf(f32, sizeof f32, "%s/%s-f32.gguf", tmpdir, label);
    snprintf(f16, sizeof f16, "%s/%s-f16.gguf", tmpdir, label);
    p.type = HEARTH_TYPE_F32;
    CHECK_MSG(rm_write(&p, f32) == HEARTH_OK, "%s", hearth_last_error());
    p.type = HEARTH_TYPE_F16;
    CHECK_MSG(rm_write(&p, f16) == HEARTH_OK, "%s", hearth_last_error());
    hearth_model *m32 = load(f32), *m16 = load(f16);
    if (!m32 || !m16) goto out;
    int V = hearth_model_n_vocab(m32);
    size_t all = (size_t)NT * V;
    /* parameters: every tensor the shape implies */
    int64_t q = p.n_head * p.head_dim, kv = p.n_head_kv * p.head_dim;
    int64_t per_layer = 2 * p.dim + p.dim * (2 * q + 2 * kv) + 3 * p.dim * p.n_ff;
    if (strcmp(p.arch, "qwen2") == 0) per_layer += q + 2 * kv;
    int64_t expect = p.n_layer * per_layer + p.dim + (p.tied ? 1 : 2) * (int64_t)V * p.dim;
    CHECK_EQ_INT(hearth_model_n_params(m32), expect);
    CHECK_EQ_INT(hearth_model_n_ctx_train(m32), p.n_ctx);

    int32_t toks[NT];
    uint64_t s = 12345;
    for (int i = 0; i < NT; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; toks[i] = (int32_t)(s % (uint64_t)V); }
    toks[0] = 1;

    /* batched (slices of 16) vs token by token, F32 everything */
    float *bat = run_batched(m32, toks, 16, true);
    double rng = range_of(bat, all), worst = 0;
    hearth_context *c = ctx(m32, 16, true);
    for (int i = 0; c && i < NT; i++) {
        CHECK(hearth_decode(c, toks + i, 1, false) == HEARTH_OK);
        double d = max_diff(hearth_get_logits(c), bat + (size_t)i * V, (size_t)V);
        worst = d > worst ? d : worst;
    }
    CHECK_MSG(worst <= 1e-4 * rng, "%s: incremental vs batched differ by %g (range %g)", label, worst, rng);
    printf("  %-22s incremental vs batched: %.2e of range\n", label, worst / rng);
    /* a too-long decode is refused and leaves the cache alone */
    int32_t big[64] = {0};
    CHECK(hearth_decode(c, big, 64 - NT + 1, false) == HEARTH_ERR_RANGE);
    CHECK_EQ_INT(hearth_context_n_past(c), NT);
    int32_t bad = V;
    CHECK(hearth_decode(c, &bad, 1, false) == HEARTH_ERR_INVALID_ARG);
    hearth_context_free(c);

    /* F16 weights vs F32 weights; F16 cache vs F32 cache */
    float *h = run_batched(m16, toks, 64, true);
    double d16 = max_diff(h, bat, all);
    CHECK_MSG(d16 <= 0.02 * rng, "%s: F16 vs F32 weights differ by %g (range %g)", label, d16, rng);
    float *hk = run_batched(m32, toks, 64, false);
    double dkv = max_diff(hk, bat, all);
    CHECK_MSG(dkv <= 0.01 * rng, "%s: F16 vs F32 KV cache differ by %g (range %g)", label, dkv, rng);
    printf("  %-22s F16 weights: %.2e of range, F16 cache: %.2e\n", label, d16 / rng, dkv / rng);
    free(bat); free(h); free(hk);
out:
    hearth_model_free(m32);
    hearth_model_free(m16);
    unlink(f32);
    unlink(f16);
}

static const rm_params BASE = {.arch = "llama", .vocab = VOCAB, .dim = 256, .n_layer = 2, .n_head = 2, .n_head_kv = 2,
                               .head_dim = 128, .n_ff = 384, .n_ctx = 4096, .rope_base = 10000, .seed = 7};

TEST(head_dim_128) { check_shape(BASE, "hd128"); }

TEST(gqa_16_over_2_tied) {
    rm_params p = BASE;
    p.n_head = 16; p.n_head_kv = 2; p.head_dim = 16; p.n_ff = 512; p.tied = true;
    check_shape(p, "gqa16x2-tied");
}

TEST(qwen2_key_length) {
    rm_params p = BASE;
    p.arch = "qwen2"; p.n_head = 4; p.n_head_kv = 2; p.head_dim = 96; p.key_length = true; p.n_ff = 320;
    p.rope_base = 1e6f;
    check_shape(p, "qwen2-kl96");
}

static void expect_error(rm_params p, const char *label, hearth_status want, const char *const *words) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", tmpdir, label);
    p.type = HEARTH_TYPE_F16;
    p.dim = 64; p.n_head = 4; p.n_head_kv = 2; p.head_dim = 16; p.n_ff = 96;
    CHECK_MSG(rm_write(&p, path) == HEARTH_OK, "%s", hearth_last_error());
    hearth_model *m = NULL;
    hearth_status s = hearth_model_load(path, NULL, &m);
    CHECK_MSG(s == want, "%s: status %d, message %s", label, s, hearth_last_error());
    CHECK(m == NULL);
    for (int i = 0; words[i]; i++)
        CHECK_MSG(strstr(hearth_last_error(), words[i]) != NULL, "%s: \"%s\" not in \"%s\"", label, words[i],
                  hearth_last_error());
    hearth_model_free(m);
    unlink(path);
}

TEST(bad_models_are_refused) {
    rm_params p = BASE;
    p.skip[0] = "blk.0.attn_k.weight";
    p.skip[1] = "blk.1.ffn_up.weight";
    p.skip[2] = "output_norm.weight";
    const char *missing[] = {"blk.0.attn_k.weight", "blk.1.ffn_up.weight", "output_norm.weight", "missing 3", NULL};
    expect_error(p, "missing", HEARTH_ERR_FORMAT, missing);

    p = BASE;
    p.arch = "qwen2";   /* qwen2 needs Q/K/V biases */
    p.skip[0] = "blk.0.attn_q.bias";
    const char *bias[] = {"blk.0.attn_q.bias", NULL};
    expect_error(p, "nobias", HEARTH_ERR_FORMAT, bias);

    p = BASE;
    p.n_ff_meta = 100;   /* metadata says 100, tensors have 96 */
    const char *shape[] = {"blk.0.ffn_gate.weight", "blk.1.ffn_down.weight", "expected [64, 100]", NULL};
    expect_error(p, "shape", HEARTH_ERR_FORMAT, shape);

    p = BASE;
    p.arch = "mamba";
    const char *arch[] = {"mamba", "not supported", NULL};
    expect_error(p, "arch", HEARTH_ERR_UNSUPPORTED, arch);

    hearth_model *m = NULL;
    CHECK(hearth_model_load(HEARTH_TEST_DATA "/reference/gpl3.txt", NULL, &m) != HEARTH_OK);
    CHECK(m == NULL);
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/hearth-gen-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    RUN(head_dim_128);
    RUN(gqa_16_over_2_tied);
    RUN(qwen2_key_length);
    RUN(bad_models_are_refused);
    rmdir(tmpdir);
    return harness_done();
}
