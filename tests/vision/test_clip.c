/*
 * test_clip.c — image encoders (include/hearth/clip.h) against llama.cpp:
 *   - the shipped mmproj (tests/data/vision) on a padded photo and an
 *     upscaled gray one, against llama.cpp's clip_image_encode outputs
 *     (tests/data/reference/vision.json) within the stated tolerances, through
 *     the library and through `hearth embed --mmproj --image --json`; the same
 *     photo as a JPEG within the looser JPEG tolerance;
 *   - other shapes (image and patch sizes, mlp_norm projector, F32 and Q8_0
 *     weights, tanh GELU, other mean/std, post-LayerNorm, patch bias) written
 *     by clip_gen.h, against a float64 re-implementation of llama.cpp's
 *     computation in this file;
 *   - bad files: unsupported projector, a language model, missing tensors.
 */
#include "harness.h"
#include "hearth/clip.h"
#include "hearth/gguf.h"
#include "hearth/image.h"
#include "kernels/kernels.h"
#include "hearth/tokenizer.h"

#include "clip_gen.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <unistd.h>

#define DATA HEARTH_TEST_DATA "/vision/"

/* max |a - b| / max |b| and the smallest cosine between rows of n */
static void compare(const float *a, const double *b, int64_t rows, int64_t n, double *rel, double *cmin) {
    double mx = 0, md = 0;
    *cmin = 1;
    for (int64_t r = 0; r < rows; r++) {
        double ab = 0, aa = 0, bb = 0;
        for (int64_t i = 0; i < n; i++) {
            double x = a[r * n + i], y = b[r * n + i];
            if (fabs(y) > mx) mx = fabs(y);
            if (fabs(x - y) > md) md = fabs(x - y);
            ab += x * y, aa += x * x, bb += y * y;
        }
        double c = ab / sqrt(aa * bb + 1e-300);
        if (c < *cmin) *cmin = c;
    }
    *rel = md / mx;
}

static cJSON *load_ref(void) {
    char *text = NULL;
    size_t n = 0;
    if (hearth_read_file(HEARTH_TEST_DATA "/reference/vision.json", &text, &n)) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

static double *ref_embedding(cJSON *ref, const char *image, int *nt, int *ne) {
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(ref, "embeddings")) {
        const char *im = cJSON_GetObjectItem(e, "image")->valuestring;
        if (strcmp(im + strlen(im) - strlen(image), image)) continue;
        *nt = cJSON_GetObjectItem(e, "n_tokens")->valueint;
        *ne = cJSON_GetObjectItem(e, "n_embd")->valueint;
        cJSON *arr = cJSON_GetObjectItem(e, "embedding");
        double *d = malloc(sizeof *d * cJSON_GetArraySize(arr));
        int i = 0;
        cJSON *x;
        cJSON_ArrayForEach(x, arr) d[i++] = x->valuedouble;
        return d;
    }
    return NULL;
}

/* ---- against llama.cpp ------------------------------------------------------ */
TEST(reference_png) {
    cJSON *ref = load_ref();
    CHECK(ref != NULL);
    if (!ref) return;
    hearth_clip *v = NULL;
    CHECK_EQ_INT(hearth_clip_load(DATA "tiny-mmproj-224-p14-f16.gguf", NULL, &v), HEARTH_OK);
    if (!v) return;
    CHECK_EQ_INT(hearth_clip_n_tokens(v), 256);
    CHECK_EQ_INT(hearth_clip_n_embd(v), 64);
    CHECK_STR(hearth_clip_projector(v), "mlp");
    const char *images[2] = {"chelsea.png", "camera-160.png"};
    for (int k = 0; k < 2; k++) {
        int nt = 0, ne = 0;
        double *want = ref_embedding(ref, images[k], &nt, &ne);
        CHECK(want != NULL);
        if (!want) continue;
        char path[512];
        snprintf(path, sizeof path, DATA "%s", images[k]);
        hearth_image img;
        CHECK_EQ_INT(hearth_image_load(path, 3, &img), HEARTH_OK);
        float *got = malloc(sizeof *got * nt * ne);
        CHECK_EQ_INT(hearth_clip_encode(v, &img, got), HEARTH_OK);
        double rel, cmin;
        compare(got, want, nt, ne, &rel, &cmin);
        printf("  %s: max rel diff %.2e, min cosine %.8f (tolerance 1.5e-3, 0.99999)\n", images[k], rel, cmin);
        CHECK_MSG(rel <= 1.5e-3 && cmin >= 0.99999, "%s: rel %g cos %g", images[k], rel, cmin);
        /* the same photo re-encoded as a JPEG (quality 95): the JPEG path end
         * to end; the encoding's own loss makes it further from the PNG's
         * reference than a decoder difference would, so only a sanity bound */
        if (k == 0) {
            struct jpeg_compress_struct ci;
            struct jpeg_error_mgr je;
            ci.err = jpeg_std_error(&je);
            jpeg_create_compress(&ci);
            unsigned char *buf = NULL;
            unsigned long size = 0;
            jpeg_mem_dest(&ci, &buf, &size);
            ci.image_width = (JDIMENSION)img.w, ci.image_height = (JDIMENSION)img.h;
            ci.input_components = 3, ci.in_color_space = JCS_RGB;
            jpeg_set_defaults(&ci);
            jpeg_set_quality(&ci, 95, TRUE);
            jpeg_start_compress(&ci, TRUE);
            while (ci.next_scanline < ci.image_height) {
                JSAMPROW r = img.data + (size_t)ci.next_scanline * img.w * 3;
                jpeg_write_scanlines(&ci, &r, 1);
            }
            jpeg_finish_compress(&ci);
            jpeg_destroy_compress(&ci);
            hearth_image jimg;
            CHECK_EQ_INT(hearth_image_decode(buf, size, 3, &jimg), HEARTH_OK);
            CHECK_EQ_INT(hearth_clip_encode(v, &jimg, got), HEARTH_OK);
            compare(got, want, nt, ne, &rel, &cmin);
            printf("  chelsea re-encoded as JPEG q95 vs the PNG's reference: max rel diff %.2e, min cosine %.6f\n", rel, cmin);
            CHECK_MSG(rel <= 0.1 && cmin >= 0.99, "jpeg: rel %g cos %g", rel, cmin);
            hearth_image_free(&jimg);
            free(buf);
        }
        free(got);
        free(want);
        hearth_image_free(&img);
    }
    hearth_clip_free(v);
    cJSON_Delete(ref);
}

/* the command's JSON: {"n_tokens", "n_embd", "embedding"} = llama.cpp's */
TEST(reference_cli) {
    cJSON *ref = load_ref();
    if (!ref) return;
    int nt, ne;
    double *want = ref_embedding(ref, "chelsea.png", &nt, &ne);
    FILE *p = popen(HEARTH_BIN " embed --mmproj " DATA "tiny-mmproj-224-p14-f16.gguf --image " DATA
                               "chelsea.png --json -t 2",
                    "r");
    CHECK(p != NULL);
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    for (size_t r; (r = fread(out + n, 1, cap - n - 1, p)) > 0;) {
        n += r;
        if (n + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    CHECK_EQ_INT(pclose(p), 0);
    cJSON *j = cJSON_Parse(out);
    CHECK(j != NULL);
    if (j) {
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "n_tokens")->valueint, nt);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "n_embd")->valueint, ne);
        cJSON *arr = cJSON_GetObjectItem(j, "embedding");
        CHECK_EQ_INT(cJSON_GetArraySize(arr), nt * ne);
        float *got = malloc(sizeof *got * nt * ne);
        int i = 0;
        cJSON *x;
        cJSON_ArrayForEach(x, arr) if (i < nt * ne) got[i++] = (float)x->valuedouble;
        double rel, cmin;
        compare(got, want, nt, ne, &rel, &cmin);
        CHECK_MSG(rel <= 1.5e-3 && cmin >= 0.99999, "cli: rel %g cos %g", rel, cmin);
        free(got);
        cJSON_Delete(j);
    }
    free(out);
    free(want);
    cJSON_Delete(ref);
}

/* ---- a float64 re-implementation of llama.cpp's computation ----------------- */
static double *tensor_d(hearth_gguf *g, const char *name, int64_t *n) {
    const hearth_gguf_tensor *t = hearth_gguf_find_tensor(g, name);
    if (!t) return NULL;
    int64_t ne = hearth_gguf_tensor_nelements(t);
    float *f = malloc(sizeof *f * ne);
    hearth_type_traits_isa(t->type, HEARTH_ISA_REF)->to_float(t->data, f, ne);
    double *d = malloc(sizeof *d * ne);
    for (int64_t i = 0; i < ne; i++) d[i] = f[i];
    free(f);
    if (n) *n = ne;
    return d;
}

/* y (T, N) = x (T, K) W^T + b */
static void lin(double *y, const double *x, const double *W, const double *b, int64_t T, int64_t K, int64_t N) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t o = 0; o < N; o++) {
            double s = b ? b[o] : 0;
            for (int64_t k = 0; k < K; k++) s += x[t * K + k] * W[o * K + k];
            y[t * N + o] = s;
        }
}

static void ln(double *x, const double *w, const double *b, int64_t T, int64_t n, double eps) {
    for (int64_t t = 0; t < T; t++) {
        double *r = x + t * n, m = 0, v = 0;
        for (int64_t i = 0; i < n; i++) m += r[i];
        m /= n;
        for (int64_t i = 0; i < n; i++) v += (r[i] - m) * (r[i] - m);
        v = 1 / sqrt(v / n + eps);
        for (int64_t i = 0; i < n; i++) r[i] = (r[i] - m) * v * w[i] + b[i];
    }
}

static double gelu_tanh(double x) { return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
static double gelu_quick(double x) { return x / (1 + exp(-1.702 * x)); }

/* preprocessing as the spec says (float32, as clip.cpp) into planes */
static void ref_preprocess(const hearth_image *img, int S, const float *mean, const float *std, double *planes) {
    int w = img->w, h = img->h, n = w > h ? w : h;
    static const uint8_t pad[3] = {122, 116, 104};
    float scale = (float)n / S;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) {
                float sx = (x + 0.5f) * scale - 0.5f, sy = (y + 0.5f) * scale - 0.5f;
                int x0 = (int)floorf(sx) < 0 ? 0 : (int)floorf(sx), y0 = (int)floorf(sy) < 0 ? 0 : (int)floorf(sy);
                int x1 = x0 + 1 < n - 1 ? x0 + 1 : n - 1, y1 = y0 + 1 < n - 1 ? y0 + 1 : n - 1;
                float dx = sx - x0, dy = sy - y0;
#define P(xx, yy) ((xx) < w && (yy) < h ? (float)img->data[((size_t)(yy) * w + (xx)) * 3 + c] : (float)pad[c])
                float v0 = P(x0, y0) * (1 - dx) + P(x1, y0) * dx, v1 = P(x0, y1) * (1 - dx) + P(x1, y1) * dx;
#undef P
                float v = roundf(v0 * (1 - dy) + v1 * dy);
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                planes[((size_t)c * S + y) * S + x] = (v / 255.0f - mean[c]) / std[c];
            }
}

static double *ref_encode(const char *path, const clip_shape *s, const hearth_image *img) {
    hearth_gguf *g = NULL;
    if (hearth_gguf_open(path, &g)) return NULL;
    const int S = s->image_size, P = s->patch, side = S / P, N = side * side, T = N + 1, D = s->dim, F = s->n_ff;
    const int H = s->n_head, hd = D / H, K = 3 * P * P;
    double *planes = malloc(sizeof(double) * 3 * S * S);
    ref_preprocess(img, S, s->mean, s->std, planes);
    double *x = calloc((size_t)T * D, sizeof *x), *xb = malloc(sizeof(double) * T * D);
    double *cols = malloc(sizeof(double) * N * K);
    for (int p = 0; p < N; p++)
        for (int c = 0; c < 3; c++)
            for (int ky = 0; ky < P; ky++)
                for (int kx = 0; kx < P; kx++)
                    cols[(size_t)p * K + (c * P + ky) * P + kx] = planes[((size_t)c * S + (p / side) * P + ky) * S + (p % side) * P + kx];
    double *W = tensor_d(g, "v.patch_embd.weight", NULL), *B = tensor_d(g, "v.patch_embd.bias", NULL);
    lin(x + D, cols, W, B, N, K, D);
    free(W), free(B);
    double *cls = tensor_d(g, "v.class_embd", NULL), *pos = tensor_d(g, "v.position_embd.weight", NULL);
    for (int i = 0; i < D; i++) x[i] = cls[i];
    for (int i = 0; i < T * D; i++) x[i] += pos[i];
    free(cls), free(pos);
    char n1[64], n2[64];
    if (s->pre_ln) {
        double *w = tensor_d(g, "v.pre_ln.weight", NULL), *b = tensor_d(g, "v.pre_ln.bias", NULL);
        ln(x, w, b, T, D, s->eps);
        free(w), free(b);
    }
    double *q = malloc(sizeof(double) * T * D), *k = malloc(sizeof(double) * T * D), *vv = malloc(sizeof(double) * T * D);
    double *ao = malloc(sizeof(double) * T * D), *hb = malloc(sizeof(double) * T * (F > s->n_mid ? F : s->n_mid));
    double *att = malloc(sizeof(double) * T);
#define TD(suffix) (snprintf(n2, sizeof n2, "v.blk.%d.%s", l, suffix), tensor_d(g, n2, NULL))
    for (int l = 0; l < s->n_block - 1; l++) {   /* all blocks but the last */
        double *w1 = TD("ln1.weight"), *b1 = TD("ln1.bias");
        memcpy(xb, x, sizeof(double) * T * D);
        ln(xb, w1, b1, T, D, s->eps);
        double *Wq = TD("attn_q.weight"), *bq = TD("attn_q.bias"), *Wk = TD("attn_k.weight"), *bk = TD("attn_k.bias");
        double *Wv = TD("attn_v.weight"), *bv = TD("attn_v.bias"), *Wo = TD("attn_out.weight"), *bo = TD("attn_out.bias");
        lin(q, xb, Wq, bq, T, D, D), lin(k, xb, Wk, bk, T, D, D), lin(vv, xb, Wv, bv, T, D, D);
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                double mx = -1e300, sum = 0;
                for (int u = 0; u < T; u++) {
                    double d = 0;
                    for (int i = 0; i < hd; i++) d += q[t * D + h * hd + i] * k[u * D + h * hd + i];
                    att[u] = d / sqrt((double)hd);
                    if (att[u] > mx) mx = att[u];
                }
                for (int u = 0; u < T; u++) sum += (att[u] = exp(att[u] - mx));
                for (int i = 0; i < hd; i++) {
                    double o = 0;
                    for (int u = 0; u < T; u++) o += att[u] / sum * vv[u * D + h * hd + i];
                    ao[t * D + h * hd + i] = o;
                }
            }
        lin(xb, ao, Wo, bo, T, D, D);
        for (int i = 0; i < T * D; i++) x[i] += xb[i];
        double *w2 = TD("ln2.weight"), *b2 = TD("ln2.bias"), *Wd = TD("ffn_down.weight"), *bd = TD("ffn_down.bias");
        double *Wu = TD("ffn_up.weight"), *bu = TD("ffn_up.bias");
        memcpy(xb, x, sizeof(double) * T * D);
        ln(xb, w2, b2, T, D, s->eps);
        lin(hb, xb, Wd, bd, T, D, F);
        for (int i = 0; i < T * F; i++) hb[i] = s->gelu_tanh ? gelu_tanh(hb[i]) : gelu_quick(hb[i]);
        lin(xb, hb, Wu, bu, T, F, D);
        for (int i = 0; i < T * D; i++) x[i] += xb[i];
        double *all[] = {w1, b1, Wq, bq, Wk, bk, Wv, bv, Wo, bo, w2, b2, Wd, bd, Wu, bu};
        for (int i = 0; i < 16; i++) free(all[i]);
    }
#undef TD
    if (s->post_ln) {
        double *w = tensor_d(g, "v.post_ln.weight", NULL), *b = tensor_d(g, "v.post_ln.bias", NULL);
        ln(x, w, b, T, D, s->eps);
        free(w), free(b);
    }
    /* projector on rows 1 .. N */
    double *out = malloc(sizeof(double) * N * s->n_out);
    double *W0 = tensor_d(g, "mm.0.weight", NULL), *b0 = tensor_d(g, "mm.0.bias", NULL);
    lin(hb, x + D, W0, b0, N, D, s->n_mid);
    if (s->mlp_norm) {
        double *w = tensor_d(g, "mm.1.weight", NULL), *b = tensor_d(g, "mm.1.bias", NULL);
        ln(hb, w, b, N, s->n_mid, s->eps);
        free(w), free(b);
    }
    for (int i = 0; i < N * s->n_mid; i++) hb[i] = gelu_tanh(hb[i]);
    snprintf(n1, sizeof n1, s->mlp_norm ? "mm.3.weight" : "mm.2.weight");
    snprintf(n2, sizeof n2, s->mlp_norm ? "mm.3.bias" : "mm.2.bias");
    double *W2 = tensor_d(g, n1, NULL), *b2 = tensor_d(g, n2, NULL);
    lin(out, hb, W2, b2, N, s->n_mid, s->n_out);
    if (s->mlp_norm) {
        double *w = tensor_d(g, "mm.4.weight", NULL), *b = tensor_d(g, "mm.4.bias", NULL);
        ln(out, w, b, N, s->n_out, s->eps);
        free(w), free(b);
    }
    free(W0), free(b0), free(W2), free(b2);
    free(planes), free(x), free(xb), free(cols), free(q), free(k), free(vv), free(ao), free(hb), free(att);
    hearth_gguf_close(g);
    return out;
}

/* one generated shape on an image; tolerance by weight type */
static void check_shape(const char *label, clip_shape s, const hearth_image *img) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/hearth-test-clip-%d-%s.gguf", (int)getpid(), label);
    CHECK_EQ_INT(clip_gen_write(path, &s), 0);
    hearth_clip_params cp = hearth_clip_default_params();
    cp.n_threads = 2;
    hearth_clip *v = NULL;
    CHECK_EQ_INT(hearth_clip_load(path, &cp, &v), HEARTH_OK);
    if (!v) {
        fprintf(stderr, "%s: %s\n", label, hearth_last_error());
        unlink(path);
        return;
    }
    int side = s.image_size / s.patch;
    CHECK_EQ_INT(hearth_clip_n_tokens(v), side * side);
    CHECK_EQ_INT(hearth_clip_n_embd(v), s.n_out);
    CHECK_STR(hearth_clip_projector(v), s.mlp_norm ? "mlp_norm" : "mlp");
    float *got = malloc(sizeof *got * side * side * s.n_out);
    CHECK_EQ_INT(hearth_clip_encode(v, img, got), HEARTH_OK);
    double *want = ref_encode(path, &s, img);
    double rel, cmin;
    compare(got, want, side * side, s.n_out, &rel, &cmin);
    bool q8 = s.wtype == HEARTH_TYPE_Q8_0;
    double tr = q8 ? 3e-2 : 1.5e-3, tc = q8 ? 0.9995 : 0.99999;
    printf("  %-34s max rel diff %.2e, min cosine %.8f (tolerance %g, %g)\n", label, rel, cmin, tr, tc);
    CHECK_MSG(rel <= tr && cmin >= tc, "%s: rel %g cos %g", label, rel, cmin);
    free(got);
    free(want);
    hearth_clip_free(v);
    unlink(path);
}

TEST(other_shapes) {
    hearth_image photo, gray;
    CHECK_EQ_INT(hearth_image_load(DATA "chelsea.png", 3, &photo), HEARTH_OK);
    CHECK_EQ_INT(hearth_image_load(DATA "camera-160.png", 3, &gray), HEARTH_OK);
    clip_shape s = clip_shape_default();   /* image 32, patch 8, dim 32, F16, mlp, quick GELU */
    check_shape("f16-32-p8-mlp", s, &photo);
    s = clip_shape_default();
    s.image_size = 48, s.patch = 16, s.wtype = HEARTH_TYPE_F32, s.mlp_norm = true, s.gelu_tanh = true;
    s.mean[0] = 0.5f, s.mean[1] = 0.5f, s.mean[2] = 0.5f, s.std[0] = 0.5f, s.std[1] = 0.5f, s.std[2] = 0.5f;
    s.eps = 1e-6f, s.seed = 2;
    check_shape("f32-48-p16-mlp_norm-tanh-meanstd", s, &gray);
    s = clip_shape_default();
    s.image_size = 64, s.patch = 8, s.dim = 64, s.n_ff = 128, s.n_head = 2, s.n_mid = 64, s.n_out = 64;
    s.wtype = HEARTH_TYPE_Q8_0, s.post_ln = true, s.patch_bias = true, s.pre_ln = false, s.seed = 3;
    check_shape("q8_0-64-p8-postln-patchbias", s, &photo);
    s.mlp_norm = true, s.gelu_tanh = true, s.seed = 4, s.image_size = 336, s.patch = 14, s.n_block = 2;
    check_shape("q8_0-336-p14-mlp_norm", s, &gray);
    hearth_image_free(&photo);
    hearth_image_free(&gray);
}

/* ---- LLaVA: `hearth run --mmproj --image` against llava-cli's greedy runs ---- */
static char *run_cmd(const char *cmd, int *rc) {
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    for (size_t r; p && (r = fread(out + n, 1, cap - n - 1, p)) > 0;) {
        n += r;
        if (n + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    *rc = p ? pclose(p) : -1;
    return out;
}

TEST(llava) {
    cJSON *ref = load_ref(), *r;
    if (!ref) return;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(ref, "llava")) {
        const char *image = cJSON_GetObjectItem(r, "image")->valuestring;
        const char *prompt = cJSON_GetObjectItem(r, "prompt")->valuestring;
        char cmd[2048], arg[512];
        /* the prompt as a shell argument ('...' with ' escaped) */
        size_t k = 0;
        arg[k++] = '\'';
        for (const char *c = prompt; *c && k < sizeof arg - 6; c++) {
            if (*c == '\'') memcpy(arg + k, "'\\''", 4), k += 4;
            else arg[k++] = *c;
        }
        arg[k++] = '\'', arg[k] = 0;
        snprintf(cmd, sizeof cmd,
                 HEARTH_BIN " run -m " HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf --mmproj " DATA
                            "tiny-mmproj-224-p14-f16.gguf --image " HEARTH_TEST_DATA "/%s -p %s --temp 0 -n %d --json -t 2",
                 image, arg, cJSON_GetObjectItem(r, "n")->valueint);
        int rc;
        char *out = run_cmd(cmd, &rc);
        CHECK_EQ_INT(rc, 0);
        cJSON *j = cJSON_Parse(out);
        CHECK_MSG(j != NULL, "%s", out);
        if (j) {
            cJSON *pw = cJSON_GetObjectItem(r, "prompt_ids"), *pg = cJSON_GetObjectItem(j, "prompt_ids");
            CHECK_EQ_INT(cJSON_GetArraySize(pg), cJSON_GetArraySize(pw));
            for (int i = 0; i < cJSON_GetArraySize(pw) && i < cJSON_GetArraySize(pg); i++)
                CHECK_EQ_INT(cJSON_GetArrayItem(pg, i)->valueint, cJSON_GetArrayItem(pw, i)->valueint);
            CHECK_EQ_INT(cJSON_GetObjectItem(j, "n_image_pos")->valueint, cJSON_GetObjectItem(r, "n_image_pos")->valueint);
            /* greedy ids equal up to the first step whose top-1/top-2 gap is below 0.05 */
            cJSON *iw = cJSON_GetObjectItem(r, "ids"), *ig = cJSON_GetObjectItem(j, "ids"), *gaps = cJSON_GetObjectItem(r, "gaps");
            int same = 0, n = cJSON_GetArraySize(iw), compared = 0, all = 0;
            for (int i = 0; i < n; i++) {
                compared++;
                CHECK_MSG(i < cJSON_GetArraySize(ig) && cJSON_GetArrayItem(ig, i)->valueint == cJSON_GetArrayItem(iw, i)->valueint,
                          "%s: step %d differs", image, i);
                if (i < cJSON_GetArraySize(ig) && cJSON_GetArrayItem(ig, i)->valueint == cJSON_GetArrayItem(iw, i)->valueint) same++;
                if (cJSON_GetArrayItem(gaps, i)->valuedouble < 0.05) break;
            }
            for (int i = 0; i < n && i < cJSON_GetArraySize(ig); i++)
                all += cJSON_GetArrayItem(ig, i)->valueint == cJSON_GetArrayItem(iw, i)->valueint;
            printf("  %s: %d prompt ids equal; %d of %d ids compared (up to the first gap < 0.05) equal; %d of %d "
                   "equal in all\n",
                   image, cJSON_GetArraySize(pg), same, compared, all, n);
            cJSON_Delete(j);
        }
        free(out);
    }
    cJSON_Delete(ref);
    /* an encoder made for another model (embeddings of 40 floats, the model has 64): refused */
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "/tmp/hearth-test-clip-%d-n40.gguf", (int)getpid());
    clip_shape s = clip_shape_default();
    CHECK_EQ_INT(clip_gen_write(path, &s), 0);
    snprintf(cmd, sizeof cmd,
             HEARTH_BIN " run -m " HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf --mmproj %s --image " DATA
                        "chelsea.png -p 'x<image>y' -n 2 2>&1",
             path);
    int rc;
    char *out = run_cmd(cmd, &rc);
    CHECK(rc != 0);
    CHECK_MSG(strstr(out, "n_embd 64") && strstr(out, "40 floats"), "%s", out);
    free(out);
    unlink(path);
}

/* ---- two-tower CLIP: pooled image and text embeddings, zero-shot ---------- */
/* n pre-norm blocks "<prefix>.blk.l" over x (T, D) in float64 */
static void ref_blocks(hearth_gguf *g, const char *prefix, double *x, int T, int D, int F, int H, int n, bool causal,
                       bool tanh_gelu, double eps) {
    int hd = D / H;
    double *xb = malloc(sizeof(double) * T * D), *q = malloc(sizeof(double) * T * D), *k = malloc(sizeof(double) * T * D);
    double *vv = malloc(sizeof(double) * T * D), *ao = malloc(sizeof(double) * T * D), *hb = malloc(sizeof(double) * T * F);
    double *att = malloc(sizeof(double) * T);
    char nm[96];
#define TD(suffix) (snprintf(nm, sizeof nm, "%s.blk.%d.%s", prefix, l, suffix), tensor_d(g, nm, NULL))
    for (int l = 0; l < n; l++) {
        double *w1 = TD("ln1.weight"), *b1 = TD("ln1.bias"), *Wq = TD("attn_q.weight"), *bq = TD("attn_q.bias");
        double *Wk = TD("attn_k.weight"), *bk = TD("attn_k.bias"), *Wv = TD("attn_v.weight"), *bv = TD("attn_v.bias");
        double *Wo = TD("attn_out.weight"), *bo = TD("attn_out.bias"), *w2 = TD("ln2.weight"), *b2 = TD("ln2.bias");
        double *Wd = TD("ffn_down.weight"), *bd = TD("ffn_down.bias"), *Wu = TD("ffn_up.weight"), *bu = TD("ffn_up.bias");
        memcpy(xb, x, sizeof(double) * T * D);
        ln(xb, w1, b1, T, D, eps);
        lin(q, xb, Wq, bq, T, D, D), lin(k, xb, Wk, bk, T, D, D), lin(vv, xb, Wv, bv, T, D, D);
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                int nk = causal ? t + 1 : T;
                double mx = -1e300, sum = 0;
                for (int u = 0; u < nk; u++) {
                    double d = 0;
                    for (int i = 0; i < hd; i++) d += q[t * D + h * hd + i] * k[u * D + h * hd + i];
                    att[u] = d / sqrt((double)hd);
                    if (att[u] > mx) mx = att[u];
                }
                for (int u = 0; u < nk; u++) sum += (att[u] = exp(att[u] - mx));
                for (int i = 0; i < hd; i++) {
                    double o = 0;
                    for (int u = 0; u < nk; u++) o += att[u] / sum * vv[u * D + h * hd + i];
                    ao[t * D + h * hd + i] = o;
                }
            }
        lin(xb, ao, Wo, bo, T, D, D);
        for (int i = 0; i < T * D; i++) x[i] += xb[i];
        memcpy(xb, x, sizeof(double) * T * D);
        ln(xb, w2, b2, T, D, eps);
        lin(hb, xb, Wd, bd, T, D, F);
        for (int i = 0; i < T * F; i++) hb[i] = tanh_gelu ? gelu_tanh(hb[i]) : gelu_quick(hb[i]);
        lin(xb, hb, Wu, bu, T, F, D);
        for (int i = 0; i < T * D; i++) x[i] += xb[i];
        double *all[] = {w1, b1, Wq, bq, Wk, bk, Wv, bv, Wo, bo, w2, b2, Wd, bd, Wu, bu};
        for (int i = 0; i < 16; i++) free(all[i]);
    }
#undef TD
    free(xb), free(q), free(k), free(vv), free(ao), free(hb), free(att);
}

static void normalize_d(double *x, int n) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    for (int i = 0; i < n; i++) x[i] /= sqrt(ss);
}

static double *ref_image_pooled(hearth_gguf *g, const clip_shape *s, const hearth_image *img) {
    const int S = s->image_size, P = s->patch, side = S / P, N = side * side, T = N + 1, D = s->dim, K = 3 * P * P;
    double *planes = malloc(sizeof(double) * 3 * S * S), *x = calloc((size_t)T * D, sizeof(double));
    ref_preprocess(img, S, s->mean, s->std, planes);
    double *cols = malloc(sizeof(double) * N * K);
    for (int p = 0; p < N; p++)
        for (int c = 0; c < 3; c++)
            for (int ky = 0; ky < P; ky++)
                for (int kx = 0; kx < P; kx++)
                    cols[(size_t)p * K + (c * P + ky) * P + kx] = planes[((size_t)c * S + (p / side) * P + ky) * S + (p % side) * P + kx];
    double *W = tensor_d(g, "v.patch_embd.weight", NULL), *cls = tensor_d(g, "v.class_embd", NULL);
    double *pos = tensor_d(g, "v.position_embd.weight", NULL);
    lin(x + D, cols, W, NULL, N, K, D);
    for (int i = 0; i < D; i++) x[i] = cls[i];
    for (int i = 0; i < T * D; i++) x[i] += pos[i];
    if (s->pre_ln) {
        double *w = tensor_d(g, "v.pre_ln.weight", NULL), *b = tensor_d(g, "v.pre_ln.bias", NULL);
        ln(x, w, b, T, D, s->eps);
        free(w), free(b);
    }
    ref_blocks(g, "v", x, T, D, s->n_ff, s->n_head, s->n_block, false, s->gelu_tanh, s->eps);   /* every block */
    double *w = tensor_d(g, "v.post_ln.weight", NULL), *b = tensor_d(g, "v.post_ln.bias", NULL);
    ln(x, w, b, 1, D, s->eps);
    double *Wp = tensor_d(g, "visual_projection.weight", NULL), *out = malloc(sizeof(double) * s->proj_dim);
    lin(out, x, Wp, NULL, 1, D, s->proj_dim);
    normalize_d(out, s->proj_dim);
    free(planes), free(x), free(cols), free(W), free(cls), free(pos), free(w), free(b), free(Wp);
    return out;
}

static double *ref_text_pooled(hearth_gguf *g, const clip_shape *s, const int32_t *ids, int T) {
    const int D = s->t_dim;
    double *tok = tensor_d(g, "t.token_embd.weight", NULL), *pos = tensor_d(g, "t.position_embd.weight", NULL);
    double *x = malloc(sizeof(double) * T * D);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < D; i++) x[t * D + i] = tok[(size_t)ids[t] * D + i] + pos[t * D + i];
    ref_blocks(g, "t", x, T, D, s->t_ff, s->t_head, s->t_block, true, s->gelu_tanh, s->eps);
    double *w = tensor_d(g, "t.post_ln.weight", NULL), *b = tensor_d(g, "t.post_ln.bias", NULL);
    ln(x + (T - 1) * D, w, b, 1, D, s->eps);
    double *Wp = tensor_d(g, "text_projection.weight", NULL), *out = malloc(sizeof(double) * s->proj_dim);
    lin(out, x + (T - 1) * D, Wp, NULL, 1, D, s->proj_dim);
    normalize_d(out, s->proj_dim);
    free(tok), free(pos), free(x), free(w), free(b), free(Wp);
    return out;
}

static clip_shape two_tower_shape(void) {
    clip_shape s = clip_shape_default();
    s.two_tower = true, s.post_ln = true, s.n_block = 2;
    s.t_dim = 32, s.t_head = 4, s.t_ff = 64, s.t_block = 2, s.t_ctx = 16, s.proj_dim = 24;
    s.vocab_from = HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf";
    return s;
}

TEST(two_tower) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/hearth-test-clip-%d-2t.gguf", (int)getpid());
    clip_shape s = two_tower_shape();
    CHECK_EQ_INT(clip_gen_write(path, &s), 0);
    hearth_clip *v = NULL;
    CHECK_EQ_INT(hearth_clip_load(path, NULL, &v), HEARTH_OK);
    if (!v) {
        fprintf(stderr, "%s\n", hearth_last_error());
        return;
    }
    CHECK(hearth_clip_has_text(v));
    CHECK_EQ_INT(hearth_clip_embd_dim(v), 24);
    hearth_gguf *g = NULL;
    hearth_gguf_open(path, &g);
    hearth_image img;
    CHECK_EQ_INT(hearth_image_load(DATA "chelsea.png", 3, &img), HEARTH_OK);
    float got[24];
    CHECK_EQ_INT(hearth_clip_embed_image(v, &img, got), HEARTH_OK);
    double *want = ref_image_pooled(g, &s, &img), rel, cmin;
    compare(got, want, 1, 24, &rel, &cmin);
    printf("  two-tower image embedding: max diff %.2e, cosine %.8f\n", rel, cmin);
    CHECK_MSG(rel <= 1.5e-3 && cmin >= 0.99999, "image: rel %g cos %g", rel, cmin);
    free(want);
    /* texts: the file's tokenizer (BOS), EOS appended, the EOS row pooled */
    const char *labels[3] = {"a photo of a cat", "a photo of a scratch", "a photo of a clean surface"};
    double wl[3];
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(hearth_clip_embed_text(v, labels[i], strlen(labels[i]), got), HEARTH_OK);
        int32_t *ids = NULL;
        size_t n = 0;
        hearth_vocab *voc = NULL;
        hearth_vocab_load(g, &voc);
        hearth_tokenize_params tp = hearth_tokenize_default_params();
        hearth_tokenize(voc, labels[i], strlen(labels[i]), &tp, &ids, &n);
        ids = realloc(ids, (n + 1) * sizeof *ids);
        ids[n++] = hearth_vocab_eos(voc);
        double *wt = ref_text_pooled(g, &s, ids, (int)n);
        compare(got, wt, 1, 24, &rel, &cmin);
        CHECK_MSG(rel <= 1.5e-3 && cmin >= 0.99999, "text %d: rel %g cos %g", i, rel, cmin);
        /* the label's logit against the reference image */
        double *wi = ref_image_pooled(g, &s, &img), c = 0;
        for (int d = 0; d < 24; d++) c += wi[d] * wt[d];
        wl[i] = 100 * c;
        free(wi), free(wt), free(ids);
        hearth_vocab_free(voc);
    }
    /* zero-shot: softmax of 100 * cosine */
    float probs[3];
    CHECK_EQ_INT(hearth_clip_classify(v, &img, labels, 3, probs), HEARTH_OK);
    double mx = fmax(wl[0], fmax(wl[1], wl[2])), sum = 0;
    for (int i = 0; i < 3; i++) sum += exp(wl[i] - mx);
    for (int i = 0; i < 3; i++) CHECK_NEAR(probs[i], exp(wl[i] - mx) / sum, 2e-3);
    /* the command: hearth classify --image IMG --labels "a,b,c" --json */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, HEARTH_BIN " classify -m %s --image " DATA "chelsea.png --labels '%s,%s,%s' --json", path,
             labels[0], labels[1], labels[2]);
    int rc;
    char *out = run_cmd(cmd, &rc);
    CHECK_EQ_INT(rc, 0);
    cJSON *j = cJSON_Parse(out), *x;
    CHECK_MSG(j != NULL, "%s", out);
    int i = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "labels")) {
        if (i < 3) CHECK_NEAR(cJSON_GetObjectItem(x, "probability")->valuedouble, probs[i], 1e-5);
        i++;
    }
    CHECK_EQ_INT(i, 3);
    cJSON_Delete(j);
    free(out);
    /* hearth embed -m CLIP --image / -p: the same pooled vectors */
    float lib[24];
    const char *modes[2] = {"--image " DATA "chelsea.png", "-p 'a photo of a cat'"};
    for (int m = 0; m < 2; m++) {
        if (m == 0) hearth_clip_embed_image(v, &img, lib);
        else hearth_clip_embed_text(v, labels[0], strlen(labels[0]), lib);
        snprintf(cmd, sizeof cmd, HEARTH_BIN " embed -m %s %s --json", path, modes[m]);
        out = run_cmd(cmd, &rc);
        CHECK_EQ_INT(rc, 0);
        cJSON *e = cJSON_Parse(out);
        cJSON *arr = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data"), 0), "embedding");
        CHECK_EQ_INT(cJSON_GetArraySize(arr), 24);
        for (int d = 0; d < 24 && cJSON_GetArraySize(arr) == 24; d++)
            CHECK_NEAR(cJSON_GetArrayItem(arr, d)->valuedouble, lib[d], 1e-6);
        cJSON_Delete(e);
        free(out);
    }
    /* cross-modal retrieval through a knowledge collection (hearth images add|search) */
    {
        char db[128];
        snprintf(db, sizeof db, "/tmp/hearth-test-images-%d", (int)getpid());
        snprintf(cmd, sizeof cmd,
                 HEARTH_BIN " images add --db %s -c pics -m %s " DATA "chelsea.png " DATA
                            "camera-160.png -p 'a photo of a cat' -p 'a photo of a scratch' 2>/dev/null",
                 db, path);
        free(run_cmd(cmd, &rc));
        CHECK_EQ_INT(rc, 0);
        /* what the search must rank first: the larger cosine, from the library */
        hearth_image cam;
        hearth_image_load(DATA "camera-160.png", 3, &cam);
        float ic[2][24], tc[2][24];
        hearth_clip_embed_image(v, &img, ic[0]);
        hearth_clip_embed_image(v, &cam, ic[1]);
        const char *tx[2] = {"a photo of a cat", "a photo of a scratch"};
        for (int t = 0; t < 2; t++) hearth_clip_embed_text(v, tx[t], strlen(tx[t]), tc[t]);
        hearth_image_free(&cam);
        double c[2][2];
        for (int i = 0; i < 2; i++)
            for (int t = 0; t < 2; t++) {
                c[i][t] = 0;
                for (int d = 0; d < 24; d++) c[i][t] += (double)ic[i][d] * tc[t][d];
            }
        const char *queries[3] = {"-p 'a photo of a cat' --kind image", "--image " DATA "chelsea.png --kind text",
                                  "--image " DATA "camera-160.png"};
        const char *want[3] = {c[0][0] >= c[1][0] ? "chelsea.png" : "camera-160.png",
                               c[0][0] >= c[0][1] ? "a photo of a cat" : "a photo of a scratch", "camera-160.png"};
        const char *kinds[3] = {"image", "text", "image"};
        for (int q = 0; q < 3; q++) {
            snprintf(cmd, sizeof cmd, HEARTH_BIN " images search --db %s -c pics -m %s %s -k 4 --json", db, path, queries[q]);
            out = run_cmd(cmd, &rc);
            CHECK_EQ_INT(rc, 0);
            cJSON *res = cJSON_Parse(out), *first = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "results"), 0);
            const char *src = first ? cJSON_GetObjectItem(first, "source")->valuestring : "";
            CHECK_MSG(strstr(src, want[q]) != NULL, "query %d: first is %s, want %s", q, src, want[q]);
            CHECK_STR(first ? cJSON_GetObjectItem(first, "kind")->valuestring : "", kinds[q]);
            if (q == 2) CHECK_NEAR(cJSON_GetObjectItem(first, "score")->valuedouble, 1.0, 1e-4);   /* itself */
            if (q < 2) CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(res, "results")), 2);    /* the kind filter */
            cJSON_Delete(res);
            free(out);
        }
        snprintf(cmd, sizeof cmd, "rm -rf %s", db);
        free(run_cmd(cmd, &rc));
    }
    /* a LLaVA encoder has no text tower */
    hearth_clip *llava = NULL;
    CHECK_EQ_INT(hearth_clip_load(DATA "tiny-mmproj-224-p14-f16.gguf", NULL, &llava), HEARTH_OK);
    CHECK_EQ_INT(hearth_clip_classify(llava, &img, labels, 3, probs), HEARTH_ERR_UNSUPPORTED);
    hearth_clip_free(llava);
    hearth_image_free(&img);
    hearth_gguf_close(g);
    hearth_clip_free(v);
    unlink(path);
}

/* ---- bad files ---------------------------------------------------------------- */
TEST(bad_files) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/hearth-test-clip-%d-bad.gguf", (int)getpid());
    hearth_clip *v = NULL;
    clip_shape s = clip_shape_default();
    s.projector = "ldp";
    CHECK_EQ_INT(clip_gen_write(path, &s), 0);
    CHECK_EQ_INT(hearth_clip_load(path, NULL, &v), HEARTH_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(hearth_last_error(), "\"ldp\"") != NULL, "%s", hearth_last_error());
    CHECK(v == NULL);
    /* a language model is not an image encoder */
    CHECK_EQ_INT(hearth_clip_load(HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf", NULL, &v), HEARTH_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(hearth_last_error(), "not \"clip\"") != NULL, "%s", hearth_last_error());
    /* a block_count larger than the blocks in the file: the missing tensors listed */
    hearth_gguf *g = NULL;
    CHECK_EQ_INT(hearth_gguf_open(DATA "tiny-mmproj-224-p14-f16.gguf", &g), HEARTH_OK);
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) hearth_gguf_copy_kv(w, g, i);
    hearth_gguf_set_u32(w, "clip.vision.block_count", 5);
    for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        hearth_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
    }
    CHECK_EQ_INT(hearth_gguf_writer_write(w, path), HEARTH_OK);
    hearth_gguf_writer_free(w);
    hearth_gguf_close(g);
    CHECK_EQ_INT(hearth_clip_load(path, NULL, &v), HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "missing tensor v.blk.3.attn_q.weight") != NULL, "%s", hearth_last_error());
    unlink(path);
    /* a gray image is accepted (expanded); a non-image is refused */
    CHECK_EQ_INT(hearth_clip_load(DATA "tiny-mmproj-224-p14-f16.gguf", NULL, &v), HEARTH_OK);
    hearth_image none = {0};
    float out[8];
    CHECK_EQ_INT(hearth_clip_encode(v, &none, out), HEARTH_ERR_INVALID_ARG);
    hearth_clip_free(v);
    hearth_clip_free(NULL);
}

int main(void) {
    RUN(reference_png);
    RUN(reference_cli);
    RUN(other_shapes);
    RUN(llava);
    RUN(two_tower);
    RUN(bad_files);
    return harness_done();
}
