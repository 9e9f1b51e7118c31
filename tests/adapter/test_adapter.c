/*
 * test_adapter.c — LoRA adapters out and in, on the two tiny F16 models
 * (llama: GQA 4/2 heads, normal RoPE, output matrix; qwen2: 4/1 heads,
 * NEOX RoPE, Q/K/V biases, tied output):
 *   - safetensors: a round trip of F32/F16/BF16 tensors and metadata; corrupt
 *     files (truncated, header length past the end, bad JSON, unknown dtype,
 *     offsets out of range, gaps/overlaps, wrong byte counts, duplicate
 *     names) fail with a message saying what is wrong;
 *   - the Q/K row permutation (HF rotate-half -> GGUF interleaved) written
 *     here from its definition is what makes hearth's normal RoPE equal its
 *     NEOX RoPE: rope_norm(P v) = P rope_neox(v);
 *   - a random adapter (B nonzero) applied at inference = the model merged
 *     with it (to F32) within 1e-4 relative, and clearly not the base;
 *   - GGUF and PEFT round trips give the same weights and logits;
 *   - a PEFT folder written here in the reference layout (names
 *     base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight, A [r, in],
 *     B [out, r], q/k rows of B in HF order, F16) loads to the same adapter;
 *   - scale 0 leaves the logits bit-identical to the base; two adapters at
 *     once = one adapter of their concatenated ranks = the merge of both;
 *   - one sequence with an adapter and one without in one batch each get
 *     what they get alone;
 *   - a llama adapter on the qwen2 model fails naming the tensor and shapes.
 */
#include "harness.h"

#include "hearth/adapter.h"
#include "kernels/kernels.h"
#include "hearth/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LLAMA HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"
#define QWEN2 HEARTH_TEST_DATA "/models/tiny-qwen2-gpt2-f16.gguf"
#define NTOK 9

static char tmpdir[256];
static const int32_t toks[NTOK] = {1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975};

static char *tmp_path(const char *name) {
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

/* ---- random numbers (xorshift), values exactly representable in F16 ---- */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(float amp) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    float u = (float)((rng >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
    return hearth_fp16_to_fp32(hearth_fp32_to_fp16(u * amp));
}

/* every attention / feed-forward projection of every layer (+ output when the model has one) */
static hearth_adapter *random_adapter(const hearth_model *m, int32_t r, float alpha, float amp_b) {
    static const char *const proj[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    const hearth_gguf *g = hearth_model_gguf(m);
    hearth_adapter *a = hearth_adapter_create(r, alpha, false);
    snprintf(a->arch, sizeof a->arch, "%s", hearth_model_arch(m));
    char name[96];
    for (int l = 0; l <= hearth_model_n_layer(m); l++)
        for (int p = 0; p < 7; p++) {
            if (l == hearth_model_n_layer(m)) {
                if (p) break;
                snprintf(name, sizeof name, "output.weight");
            } else {
                snprintf(name, sizeof name, "blk.%d.%s.weight", l, proj[p]);
            }
            const hearth_gguf_tensor *t = hearth_gguf_find_tensor(g, name);
            if (!t) continue;
            CHECK(hearth_adapter_add(a, name, t->ne[0], t->ne[1]) == HEARTH_OK);
            hearth_adapter_weight *w = &a->w[a->n - 1];
            for (int64_t i = 0; i < r * w->n_in; i++) w->a[i] = frand(0.25f);
            for (int64_t i = 0; i < w->n_out * r; i++) w->b[i] = frand(amp_b);
        }
    return a;
}

/* all NTOK rows of logits with the given adapters (n may be 0) */
static float *run_logits(const hearth_model *m, const hearth_adapter *const *ad, const float *sc, int n) {
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 32;
    cp.n_threads = 2;
    hearth_context *c = NULL;
    if (hearth_context_create(m, &cp, &c) != HEARTH_OK) return NULL;
    int V = hearth_model_n_vocab(m);
    float *out = NULL;
    hearth_status s = hearth_context_set_adapters(c, ad, sc, n);
    CHECK_MSG(s == HEARTH_OK, "%s", hearth_last_error());
    if (!s && hearth_decode(c, toks, NTOK, true) == HEARTH_OK) {
        out = malloc((size_t)NTOK * V * sizeof(float));
        for (int i = 0; i < NTOK; i++) memcpy(out + (size_t)i * V, hearth_get_logits_ith(c, i), (size_t)V * 4);
    }
    hearth_context_free(c);
    return out;
}

static float *file_logits(const char *path, const hearth_adapter *const *ad, const float *sc, int n) {
    hearth_model *m = NULL;
    if (hearth_model_load(path, NULL, &m) != HEARTH_OK) {
        CHECK_MSG(0, "%s", hearth_last_error());
        return NULL;
    }
    float *l = run_logits(m, ad, sc, n);
    hearth_model_free(m);
    return l;
}

/* max |a - b| / max |b| */
static double rel(const float *a, const float *b, size_t n) {
    double d = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > d) d = e;
        if (fabs(b[i]) > mx) mx = fabs(b[i]);
    }
    return mx > 0 ? d / mx : d;
}

/* ---- the permutation, from its definition in convert_hf_to_gguf.py:
 * w.reshape(heads, 2, hd/2, ...).swapaxes(1, 2): HF row h*hd + j*hd/2 + i
 * goes to GGUF row h*hd + 2i + j. ---- */
static void hf_from_gguf(float *hf, const float *gg, int64_t n_out, int32_t cols, int heads) {
    int64_t hd = n_out / heads;
    for (int h = 0; h < heads; h++)
        for (int64_t i = 0; i < hd / 2; i++)
            for (int j = 0; j < 2; j++)
                memcpy(hf + (h * hd + j * hd / 2 + i) * cols, gg + (h * hd + 2 * i + j) * cols, (size_t)cols * 4);
}

TEST(permutation_matches_rope) {
    enum { H = 3, HD = 16 };
    hearth_rope norm = {.n_rot = HD, .neox = false, .freq_base = 10000, .freq_scale = 1, .attn_factor = 1,
                        .beta_fast = 32, .beta_slow = 1, .n_ctx_orig = 2048};
    hearth_rope neox = norm;
    neox.neox = true;
    float cs[HD], v[H * HD], pv[H * HD], rv[H * HD], prv[H * HD];
    for (int i = 0; i < H * HD; i++) v[i] = frand(1);
    for (int pos = 1; pos < 40; pos += 7) {
        hearth_rope_cache(&norm, pos, cs);
        /* pv = P v (GGUF order from HF order: inverse of hf_from_gguf) */
        for (int h = 0; h < H; h++)
            for (int i = 0; i < HD / 2; i++)
                for (int j = 0; j < 2; j++) pv[h * HD + 2 * i + j] = v[h * HD + j * HD / 2 + i];
        memcpy(rv, v, sizeof v);
        hearth_rope_apply(&neox, rv, H, HD, cs);
        hearth_rope_apply(&norm, pv, H, HD, cs);
        hf_from_gguf(prv, pv, H * HD, 1, H);   /* back to HF order */
        for (int i = 0; i < H * HD; i++) CHECK_NEAR(prv[i], rv[i], 1e-5);
    }
}

/* ---- safetensors ----------------------------------------------------------- */
static uint8_t *read_all(const char *path, size_t *n) {
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n + 1);
    if (fread(p, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return p;
}

TEST(safetensors_roundtrip) {
    float a[6] = {1, -2, 3.5f, 0.25f, -0.125f, 1e-3f};
    uint16_t h[4], bf[3];
    for (int i = 0; i < 4; i++) h[i] = hearth_fp32_to_fp16(a[i]);
    for (int i = 0; i < 3; i++) bf[i] = hearth_fp32_to_bf16(a[i]);
    hearth_st_writer *w = hearth_st_writer_create();
    int64_t s23[2] = {2, 3}, s4[1] = {4}, s3[1] = {3};
    CHECK(hearth_st_writer_add(w, "z.f32", HEARTH_ST_F32, 2, s23, a) == HEARTH_OK);
    CHECK(hearth_st_writer_add(w, "a.f16", HEARTH_ST_F16, 1, s4, h) == HEARTH_OK);
    CHECK(hearth_st_writer_add(w, "m.bf16", HEARTH_ST_BF16, 1, s3, bf) == HEARTH_OK);
    CHECK(hearth_st_writer_add(w, "a.f16", HEARTH_ST_F16, 1, s4, h) != HEARTH_OK);   /* twice */
    CHECK(hearth_st_writer_set_meta(w, "format", "pt") == HEARTH_OK);
    CHECK(hearth_st_writer_set_meta(w, "quote", "a \"b\"\n") == HEARTH_OK);
    const char *path = tmp_path("rt.safetensors");
    CHECK_MSG(hearth_st_writer_write(w, path) == HEARTH_OK, "%s", hearth_last_error());
    hearth_st_writer_free(w);
    size_t n = 0;
    uint8_t *raw = read_all(path, &n);
    if (!raw || n < 8) return;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | raw[i];
    CHECK_EQ_INT((8 + hl) % 8, 0);                       /* header padded to 8 bytes */
    CHECK_EQ_INT(n, 8 + hl + 6 * 4 + 4 * 2 + 3 * 2);
    free(raw);
    hearth_safetensors *st = NULL;
    CHECK_MSG(hearth_safetensors_open(path, &st) == HEARTH_OK, "%s", hearth_last_error());
    if (!st) return;
    CHECK_EQ_INT(hearth_safetensors_n_tensors(st), 3);
    CHECK_STR(hearth_safetensors_meta_get(st, "quote"), "a \"b\"\n");
    const hearth_st_tensor *t = hearth_safetensors_find(st, "z.f32");
    float back[6];
    CHECK(t && t->dtype == HEARTH_ST_F32 && t->n_dims == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    if (t && hearth_safetensors_to_f32(t, back) == HEARTH_OK)
        for (int i = 0; i < 6; i++) CHECK(back[i] == a[i]);
    t = hearth_safetensors_find(st, "a.f16");
    if (t && hearth_safetensors_to_f32(t, back) == HEARTH_OK)
        for (int i = 0; i < 4; i++) CHECK(back[i] == a[i]);
    t = hearth_safetensors_find(st, "m.bf16");
    if (t && hearth_safetensors_to_f32(t, back) == HEARTH_OK)
        for (int i = 0; i < 3; i++) CHECK(back[i] == a[i]);
    CHECK(hearth_safetensors_find(st, "nope") == NULL);
    hearth_safetensors_close(st);
}

/* a file made of a header text and n data bytes; expect failure mentioning `want` */
static void expect_bad(const char *header, size_t data_n, size_t cut, const char *want) {
    size_t hl = strlen(header), n = 8 + hl + data_n;
    uint8_t *buf = calloc(1, n);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    if (cut) n = cut;
    hearth_safetensors *st = NULL;
    hearth_status s = hearth_safetensors_open_memory(buf, n, &st);
    CHECK_MSG(s == HEARTH_ERR_FORMAT && st == NULL, "accepted: %s", header);
    CHECK_MSG(strstr(hearth_last_error(), want) != NULL, "for %s: message \"%s\" lacks \"%s\"", header,
              hearth_last_error(), want);
    hearth_safetensors_close(st);
    free(buf);
}

TEST(safetensors_corrupt) {
    const char *ok = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
    hearth_safetensors *st = NULL;
    {   /* the good one is accepted */
        size_t hl = strlen(ok);
        uint8_t buf[256] = {0};
        buf[0] = (uint8_t)hl;
        memcpy(buf + 8, ok, hl);
        CHECK(hearth_safetensors_open_memory(buf, 8 + hl + 16, &st) == HEARTH_OK);
        hearth_safetensors_close(st);
    }
    expect_bad(ok, 16, 5, "truncated");                              /* shorter than the length */
    expect_bad(ok, 16, 30, "header length");                        /* header cut */
    expect_bad(ok, 16, 8 + strlen(ok) + 10, "past the end");       /* data cut */
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]", 16, 0, "not valid JSON");
    expect_bad("[1, 2]  ", 0, 0, "not a JSON object");
    expect_bad("{\"x\":{\"dtype\":\"F33\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, 0, "unknown dtype");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,99999]}}", 16, 0, "past the end");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}}", 24, 0, "gap");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16, 0, "needs 16");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,16]}}", 16, 0, "shape[1]");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, "overlap");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0, "twice");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, 0, "after the last tensor");
    expect_bad("{\"__metadata__\":{\"a\":1}}", 0, 0, "not a string");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[4503599627370496,4096],\"data_offsets\":[0,16]}}", 16, 0,
               "2^64");
}

/* ---- adapters on a model ------------------------------------------------------- */
typedef struct fixture {
    const char *path, *tag;
    hearth_model *m;       /* the F16 base */
    char base32[512];      /* the base converted to F32 */
    hearth_model *m32;
    float *base_logits;    /* of m32 */
    int V;
} fixture;

static bool setup(fixture *f, const char *path, const char *tag) {
    memset(f, 0, sizeof *f);
    f->path = path;
    f->tag = tag;
    if (hearth_model_load(path, NULL, &f->m) != HEARTH_OK) {
        CHECK_MSG(0, "%s", hearth_last_error());
        return false;
    }
    snprintf(f->base32, sizeof f->base32, "%s", tmp_path(tag));
    strcat(f->base32, "-f32.gguf");
    hearth_status s = hearth_adapter_merge(path, NULL, NULL, 0, HEARTH_TYPE_F32, f->base32, NULL, NULL);
    CHECK_MSG(s == HEARTH_OK, "%s", hearth_last_error());
    if (s || hearth_model_load(f->base32, NULL, &f->m32) != HEARTH_OK) return false;
    f->V = hearth_model_n_vocab(f->m);
    f->base_logits = run_logits(f->m32, NULL, NULL, 0);
    return f->base_logits != NULL;
}

static void teardown(fixture *f) {
    hearth_model_free(f->m);
    hearth_model_free(f->m32);
    free(f->base_logits);
}

static bool same_adapter(const hearth_adapter *a, const hearth_adapter *b) {
    if (a->r != b->r || a->n != b->n || fabsf(hearth_adapter_scale(a) - hearth_adapter_scale(b)) > 1e-6f) return false;
    for (int i = 0; i < a->n; i++) {
        const hearth_adapter_weight *y = hearth_adapter_find(b, a->w[i].name);
        if (!y || y->n_in != a->w[i].n_in || y->n_out != a->w[i].n_out ||
            memcmp(y->a, a->w[i].a, (size_t)a->r * y->n_in * 4) || memcmp(y->b, a->w[i].b, (size_t)a->r * y->n_out * 4)) {
            fprintf(stderr, "  weights of %s differ\n", a->w[i].name);
            return false;
        }
    }
    return true;
}

/* inference = merge; GGUF and PEFT round trips; scale 0 */
static void check_model(fixture *f) {
    size_t NL = (size_t)NTOK * f->V;
    hearth_adapter *ad = random_adapter(f->m, 4, 8.0f, 0.2f);
    const char *gpath = tmp_path("a.gguf");
    CHECK_MSG(hearth_adapter_save_gguf(ad, gpath) == HEARTH_OK, "%s", hearth_last_error());
    hearth_adapter *ag = NULL;
    CHECK_MSG(hearth_adapter_load(gpath, hearth_model_gguf(f->m), &ag) == HEARTH_OK, "%s", hearth_last_error());
    if (!ag) return;
    CHECK(same_adapter(ad, ag));

    /* at inference vs merged into an F32 copy of the base */
    const hearth_adapter *one[1] = {ag};
    float sc = 0.7f;
    float *l_run = run_logits(f->m32, one, &sc, 1);
    const char *mpath = tmp_path("merged.gguf");
    CHECK_MSG(hearth_adapter_merge(f->base32, one, &sc, 1, -1, mpath, NULL, NULL) == HEARTH_OK, "%s",
              hearth_last_error());
    float *l_merged = file_logits(mpath, NULL, NULL, 0);
    if (l_run && l_merged) {
        double r = rel(l_run, l_merged, NL), moved = rel(l_run, f->base_logits, NL);
        printf("  %s: adapter at inference vs merged F32: max rel diff %.2e (the adapter moves logits by %.2e)\n",
               f->tag, r, moved);
        CHECK(r <= 1e-4);
        CHECK(moved > 1e-2);
    }
    /* merged straight from the F16 base and quantized to Q8_0: close, not exact */
    const char *qpath = tmp_path("merged-q8.gguf");
    CHECK_MSG(hearth_adapter_merge(f->path, one, &sc, 1, HEARTH_TYPE_Q8_0, qpath, NULL, NULL) == HEARTH_OK, "%s",
              hearth_last_error());
    float *l_q8 = file_logits(qpath, NULL, NULL, 0);
    if (l_run && l_q8) {
        double r = rel(l_q8, l_run, NL);
        printf("  %s: merged to Q8_0 vs adapter at inference: max rel diff %.2e\n", f->tag, r);
        CHECK(r < 0.05);
    }

    /* PEFT: saved and loaded back */
    const char *pdir = tmp_path("peft");
    CHECK_MSG(hearth_adapter_save_peft(ag, hearth_model_gguf(f->m), pdir) == HEARTH_OK, "%s", hearth_last_error());
    hearth_adapter *ap = NULL;
    CHECK_MSG(hearth_adapter_load(pdir, hearth_model_gguf(f->m), &ap) == HEARTH_OK, "%s", hearth_last_error());
    if (ap) {
        CHECK(same_adapter(ag, ap));
        const hearth_adapter *onep[1] = {ap};
        float *l_p = run_logits(f->m32, onep, &sc, 1);
        CHECK(l_p && l_run && memcmp(l_p, l_run, NL * 4) == 0);
        free(l_p);
    }

    /* scale 0: exactly the base */
    float zero = 0;
    float *l0 = run_logits(f->m32, one, &zero, 1);
    CHECK(l0 && memcmp(l0, f->base_logits, NL * 4) == 0);

    free(l0);
    free(l_run);
    free(l_merged);
    free(l_q8);
    hearth_adapter_free(ap);
    hearth_adapter_free(ag);
    hearth_adapter_free(ad);
}

/* a PEFT folder in the reference layout, written here */
static void check_reference_peft(fixture *f, bool permuted) {
    hearth_adapter *ad = random_adapter(f->m, 2, 3.0f, 0.3f);
    const char *dir = tmp_path(permuted ? "ref-llama" : "ref-qwen2");
    char cfg[600], st[600];
    snprintf(cfg, sizeof cfg, "%s/adapter_config.json", dir);
    snprintf(st, sizeof st, "%s/adapter_model.safetensors", dir);
    CHECK(mkdir(dir, 0755) == 0);
    FILE *fc = fopen(cfg, "w");
    fputs("{\n  \"alpha_pattern\": {},\n  \"auto_mapping\": null,\n  \"base_model_name_or_path\": \"tiny\",\n"
          "  \"bias\": \"none\",\n  \"fan_in_fan_out\": false,\n  \"inference_mode\": true,\n"
          "  \"init_lora_weights\": true,\n  \"layers_pattern\": null,\n  \"layers_to_transform\": null,\n"
          "  \"lora_alpha\": 3,\n  \"lora_dropout\": 0.05,\n  \"modules_to_save\": null,\n  \"peft_type\": \"LORA\",\n"
          "  \"r\": 2,\n  \"rank_pattern\": {},\n  \"revision\": null,\n  \"target_modules\": [\"q_proj\", \"k_proj\", "
          "\"v_proj\", \"o_proj\", \"gate_proj\", \"up_proj\", \"down_proj\", \"lm_head\"],\n"
          "  \"task_type\": \"CAUSAL_LM\",\n  \"use_dora\": false,\n  \"use_rslora\": false\n}\n", fc);
    fclose(fc);
    static const char *const gg[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    static const char *const hf[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                     "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
    int64_t n_head = 0, n_kv = 0;
    char key[64];
    snprintf(key, sizeof key, "%s.attention.head_count", hearth_model_arch(f->m));
    hearth_gguf_get_int(hearth_model_gguf(f->m), key, &n_head);
    snprintf(key, sizeof key, "%s.attention.head_count_kv", hearth_model_arch(f->m));
    hearth_gguf_get_int(hearth_model_gguf(f->m), key, &n_kv);
    hearth_st_writer *w = hearth_st_writer_create();
    uint16_t *bufs[64];
    int nb = 0;
    char name[160];
    for (int i = 0; i < ad->n; i++) {
        const hearth_adapter_weight *x = &ad->w[i];
        int l = -1, p = -1;
        if (strcmp(x->name, "output.weight") == 0) {
            snprintf(name, sizeof name, "base_model.model.lm_head");
        } else {
            char mod[32];
            sscanf(x->name, "blk.%d.%31[a-z_]", &l, mod);
            for (int k = 0; k < 7; k++)
                if (strcmp(mod, gg[k]) == 0) p = k;
            snprintf(name, sizeof name, "base_model.model.model.layers.%d.%s", l, hf[p]);
        }
        /* B in HF row order: the inverse of the converter's permutation for llama q/k */
        float *b = malloc((size_t)x->n_out * ad->r * 4);
        if (permuted && (p == 0 || p == 1)) hf_from_gguf(b, x->b, x->n_out, ad->r, (int)(p == 0 ? n_head : n_kv));
        else memcpy(b, x->b, (size_t)x->n_out * ad->r * 4);
        uint16_t *ha = malloc((size_t)ad->r * x->n_in * 2), *hb = malloc((size_t)x->n_out * ad->r * 2);
        for (int64_t k = 0; k < ad->r * x->n_in; k++) ha[k] = hearth_fp32_to_fp16(x->a[k]);
        for (int64_t k = 0; k < ad->r * x->n_out; k++) hb[k] = hearth_fp32_to_fp16(b[k]);
        free(b);
        bufs[nb++] = ha;
        bufs[nb++] = hb;
        char full[200];
        int64_t sa[2] = {ad->r, x->n_in}, sb[2] = {x->n_out, ad->r};
        snprintf(full, sizeof full, "%s.lora_A.weight", name);
        CHECK(hearth_st_writer_add(w, full, HEARTH_ST_F16, 2, sa, ha) == HEARTH_OK);
        snprintf(full, sizeof full, "%s.lora_B.weight", name);
        CHECK(hearth_st_writer_add(w, full, HEARTH_ST_F16, 2, sb, hb) == HEARTH_OK);
    }
    CHECK(hearth_st_writer_set_meta(w, "format", "pt") == HEARTH_OK);
    CHECK_MSG(hearth_st_writer_write(w, st) == HEARTH_OK, "%s", hearth_last_error());
    hearth_st_writer_free(w);
    for (int i = 0; i < nb; i++) free(bufs[i]);

    hearth_adapter *ap = NULL;
    CHECK_MSG(hearth_adapter_load(dir, hearth_model_gguf(f->m), &ap) == HEARTH_OK, "%s", hearth_last_error());
    if (ap) {
        CHECK(same_adapter(ad, ap));
        CHECK(strcmp(ap->base_model, "tiny") == 0 && fabsf(ap->dropout - 0.05f) < 1e-6f);
        const hearth_adapter *x1[1] = {ad}, *x2[1] = {ap};
        float *l1 = run_logits(f->m32, x1, NULL, 1), *l2 = run_logits(f->m32, x2, NULL, 1);
        CHECK(l1 && l2 && memcmp(l1, l2, (size_t)NTOK * f->V * 4) == 0);
        if (permuted && l1) {
            /* read in HF row order without the permutation, the adapter computes something else */
            hearth_adapter *raw = NULL;
            CHECK(hearth_adapter_load_peft(dir, NULL, &raw) == HEARTH_OK);
            const hearth_adapter *x3[1] = {raw};
            float *l3 = raw ? run_logits(f->m32, x3, NULL, 1) : NULL;
            if (l3) printf("  llama: reference PEFT read without the q/k permutation: rel diff %.2e\n",
                           rel(l3, l1, (size_t)NTOK * f->V));
            CHECK(l3 && rel(l3, l1, (size_t)NTOK * f->V) > 1e-3);
            free(l3);
            hearth_adapter_free(raw);
        }
        free(l1);
        free(l2);
    }
    hearth_adapter_free(ap);
    hearth_adapter_free(ad);
}

/* two adapters = one adapter of rank r1 + r2 (A stacked, B side by side with the scales folded in) */
static void check_two(fixture *f) {
    hearth_adapter *a1 = random_adapter(f->m, 4, 8.0f, 0.2f), *a2 = random_adapter(f->m, 2, 1.0f, 0.3f);
    float sc[2] = {0.5f, 1.5f};
    float e1 = sc[0] * hearth_adapter_scale(a1), e2 = sc[1] * hearth_adapter_scale(a2);
    hearth_adapter *cat = hearth_adapter_create(6, 6.0f, false);   /* scale 1 */
    for (int i = 0; i < a1->n; i++) {
        const hearth_adapter_weight *x = &a1->w[i], *y = &a2->w[i];
        hearth_adapter_add(cat, x->name, x->n_in, x->n_out);
        hearth_adapter_weight *z = &cat->w[i];
        memcpy(z->a, x->a, (size_t)4 * x->n_in * 4);
        memcpy(z->a + 4 * x->n_in, y->a, (size_t)2 * x->n_in * 4);
        for (int64_t o = 0; o < x->n_out; o++) {
            for (int k = 0; k < 4; k++) z->b[o * 6 + k] = e1 * x->b[o * 4 + k];
            for (int k = 0; k < 2; k++) z->b[o * 6 + 4 + k] = e2 * y->b[o * 2 + k];
        }
    }
    size_t NL = (size_t)NTOK * f->V;
    const hearth_adapter *both[2] = {a1, a2}, *c1[1] = {cat}, *only1[1] = {a1};
    float *l_both = run_logits(f->m32, both, sc, 2), *l_cat = run_logits(f->m32, c1, NULL, 1);
    float *l_one = run_logits(f->m32, only1, sc, 1);
    const char *mpath = tmp_path("merged2.gguf");
    CHECK(hearth_adapter_merge(f->base32, both, sc, 2, -1, mpath, NULL, NULL) == HEARTH_OK);
    float *l_m = file_logits(mpath, NULL, NULL, 0);
    if (l_both && l_cat && l_one && l_m) {
        printf("  %s: two adapters vs their rank-6 concatenation %.2e, vs the merge of both %.2e, vs the first alone "
               "%.2e\n", f->tag, rel(l_both, l_cat, NL), rel(l_both, l_m, NL), rel(l_both, l_one, NL));
        CHECK(rel(l_both, l_cat, NL) <= 1e-4);
        CHECK(rel(l_both, l_m, NL) <= 1e-4);
        CHECK(rel(l_both, l_one, NL) > 1e-2);
    }
    free(l_both);
    free(l_cat);
    free(l_one);
    free(l_m);
    hearth_adapter_free(cat);
    hearth_adapter_free(a1);
    hearth_adapter_free(a2);
}

/* one sequence with an adapter and one without, in one batch */
static void check_batch(fixture *f) {
    hearth_adapter *ad = random_adapter(f->m, 4, 8.0f, 0.2f);
    const hearth_adapter *one[1] = {ad};
    float *alone_lora = run_logits(f->m32, one, NULL, 1);
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = 32;
    cp.n_threads = 2;
    hearth_context *c[2] = {NULL, NULL};
    hearth_context_create(f->m32, &cp, &c[0]);
    hearth_context_create(f->m32, &cp, &c[1]);
    if (c[0] && c[1] && alone_lora) {
        CHECK(hearth_context_set_adapters(c[1], one, NULL, 1) == HEARTH_OK);
        const int32_t *tk[2] = {toks, toks};
        int32_t n[2] = {NTOK, NTOK};
        CHECK_MSG(hearth_decode_batch(c, tk, n, 2, true) == HEARTH_OK, "%s", hearth_last_error());
        double d0 = 0, d1 = 0;
        for (int i = 0; i < NTOK; i++) {
            d0 = fmax(d0, rel(hearth_get_logits_ith(c[0], i), f->base_logits + (size_t)i * f->V, (size_t)f->V));
            d1 = fmax(d1, rel(hearth_get_logits_ith(c[1], i), alone_lora + (size_t)i * f->V, (size_t)f->V));
        }
        printf("  %s: in one batch, without / with the adapter vs alone: %.2e / %.2e\n", f->tag, d0, d1);
        CHECK(d0 <= 1e-5 && d1 <= 1e-5);
    }
    hearth_context_free(c[0]);
    hearth_context_free(c[1]);
    free(alone_lora);
    hearth_adapter_free(ad);
}

static fixture llama, qwen2;
static bool have_llama, have_qwen2;

TEST(llama_adapters) {
    if (have_llama) check_model(&llama);
}
TEST(qwen2_adapters) {
    if (have_qwen2) check_model(&qwen2);
}
TEST(llama_reference_peft_permuted) {
    if (have_llama) check_reference_peft(&llama, true);
}
TEST(qwen2_reference_peft) {
    if (have_qwen2) check_reference_peft(&qwen2, false);
}
TEST(two_adapters_sum) {
    if (have_llama) check_two(&llama);
    if (have_qwen2) check_two(&qwen2);
}
TEST(per_sequence_adapters_in_a_batch) {
    if (have_llama) check_batch(&llama);
}

TEST(wrong_base_model) {
    if (!have_llama || !have_qwen2) return;
    hearth_adapter *ad = random_adapter(llama.m, 2, 4.0f, 0.1f);
    const char *gpath = tmp_path("llama-adapter.gguf");
    CHECK(hearth_adapter_save_gguf(ad, gpath) == HEARTH_OK);
    /* same names, other shapes: the qwen2 model has 1 KV head (attn_k [64, 16]) */
    hearth_adapter *copy = NULL;
    CHECK(hearth_adapter_load_gguf(gpath, &copy) == HEARTH_OK);
    if (copy) {
        snprintf(copy->arch, sizeof copy->arch, "qwen2");   /* past the architecture check, to the shapes */
        hearth_context *c = NULL;
        hearth_context_create(qwen2.m, NULL, &c);
        const hearth_adapter *one[1] = {copy};
        hearth_status s = c ? hearth_context_set_adapters(c, one, NULL, 1) : HEARTH_ERR_INTERNAL;
        CHECK(s == HEARTH_ERR_FORMAT);
        const char *msg = hearth_last_error();
        CHECK_MSG(strstr(msg, "blk.0.attn_k.weight") && strstr(msg, "[64, 16]") && strstr(msg, "[64, 32]"), "%s", msg);
        hearth_context_free(c);
        CHECK(hearth_adapter_merge(QWEN2, one, NULL, 1, -1, tmp_path("never.gguf"), NULL, NULL) == HEARTH_ERR_FORMAT);
        CHECK(access(tmp_path("never.gguf"), F_OK) != 0);
    }
    /* loading for the wrong base: the architecture is named */
    hearth_adapter *x = NULL;
    CHECK(hearth_adapter_load(gpath, hearth_model_gguf(qwen2.m), &x) == HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "llama") && strstr(hearth_last_error(), "qwen2"), "%s", hearth_last_error());
    /* a PEFT folder of the llama adapter on the qwen2 model: the shape error */
    const char *pdir = tmp_path("llama-peft");
    CHECK(hearth_adapter_save_peft(ad, hearth_model_gguf(llama.m), pdir) == HEARTH_OK);
    CHECK(hearth_adapter_load(pdir, hearth_model_gguf(qwen2.m), &x) == HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "wrong base model"), "%s", hearth_last_error());
    /* a model file is not an adapter */
    CHECK(hearth_adapter_load(LLAMA, NULL, &x) == HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "not a LoRA adapter"), "%s", hearth_last_error());
    hearth_adapter_free(copy);
    hearth_adapter_free(ad);
}

TEST(spec_parsing) {
    char *p;
    float s;
    CHECK(hearth_adapter_parse_spec("a.gguf:0.5", &p, &s) == HEARTH_OK && strcmp(p, "a.gguf") == 0 && s == 0.5f);
    free(p);
    CHECK(hearth_adapter_parse_spec("dir/x", &p, &s) == HEARTH_OK && strcmp(p, "dir/x") == 0 && s == 1.0f);
    free(p);
    CHECK(hearth_adapter_parse_spec("c:/w:x", &p, &s) == HEARTH_OK && strcmp(p, "c:/w:x") == 0 && s == 1.0f);
    free(p);
    CHECK(hearth_adapter_parse_spec(":2", &p, &s) != HEARTH_OK);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hearth-adapter-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(safetensors_roundtrip);
    RUN(safetensors_corrupt);
    RUN(permutation_matches_rope);
    RUN(spec_parsing);
    have_llama = setup(&llama, LLAMA, "llama");
    have_qwen2 = setup(&qwen2, QWEN2, "qwen2");
    CHECK(have_llama && have_qwen2);
    RUN(llama_adapters);
    RUN(qwen2_adapters);
    RUN(llama_reference_peft_permuted);
    RUN(qwen2_reference_peft);
    RUN(two_adapters_sum);
    RUN(per_sequence_adapters_in_a_batch);
    RUN(wrong_base_model);
    teardown(&llama);
    teardown(&qwen2);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return harness_done();
}
