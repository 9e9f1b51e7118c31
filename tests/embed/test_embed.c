/*
 * test_embed.c — sentence embeddings:
 *   golden: for the BERT encoder (tiny-bert-bge-mean-f16) and a llama model
 *   (licenses-llama-f16, mean pooling), every reference text's vector has
 *   cosine >= 0.999 with llama.cpp's (tests/data/embed/embeddings.json);
 *   the batch form equals one call per text; vectors are unit length, and
 *   --no-normalize / pooling overrides change what they should;
 *   errors: too long, too small an output, pooling none, vocab-only; files
 *   with a tensor missing or misshapen, or an unknown pooling type;
 *   the `hearth embed` command: --json parses and matches the API, text
 *   output, -f FILE, error exits.
 */
#include "harness.h"
#include "hearth/embed.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BERT HEARTH_TEST_DATA "/embed/tiny-bert-bge-mean-f16.gguf"
#define LLAMA HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"

static cJSON *ref;

static double cosine(const float *a, const double *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) ab += a[i] * b[i], aa += (double)a[i] * a[i], bb += b[i] * b[i];
    return ab / (sqrt(aa) * sqrt(bb) + 1e-30);
}

static double norm(const float *a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * a[i];
    return sqrt(s);
}

static hearth_model *load(const char *path) {
    hearth_model *m = NULL;
    hearth_status s = hearth_model_load(path, NULL, &m);
    CHECK_MSG(s == HEARTH_OK, "%s: %s", path, hearth_last_error());
    return m;
}

/* every reference text of `key`: cosine >= 0.999; returns the smallest */
static double golden(const char *path, const char *key) {
    double worst = 2;
    const cJSON *r = cJSON_GetObjectItem(ref, key);
    CHECK(r != NULL);
    hearth_model *m = load(path);
    if (!m || !r) return worst;
    hearth_embedder *e = NULL;
    CHECK_EQ_INT(hearth_embedder_create(m, NULL, &e), HEARTH_OK);
    if (!e) { hearth_model_free(m); return worst; }
    const cJSON *texts = cJSON_GetObjectItem(r, "texts"), *vecs = cJSON_GetObjectItem(r, "embeddings");
    int n = cJSON_GetArraySize(texts), dim = hearth_embedder_n_embd(e);
    CHECK_EQ_INT(n, cJSON_GetArraySize(vecs));
    CHECK_EQ_INT(dim, cJSON_GetArraySize(cJSON_GetArrayItem(vecs, 0)));
    CHECK_EQ_INT(dim, hearth_model_n_embd(m));
    float *v = malloc((size_t)dim * 4);
    double *want = malloc((size_t)dim * sizeof *want);
    for (int i = 0; i < n; i++) {
        const char *t = cJSON_GetArrayItem(texts, i)->valuestring;
        const cJSON *rv = cJSON_GetArrayItem(vecs, i);
        for (int j = 0; j < dim; j++) want[j] = cJSON_GetArrayItem(rv, j)->valuedouble;
        hearth_status s = hearth_embed(e, t, strlen(t), v, dim);
        CHECK_MSG(s == HEARTH_OK, "%s", hearth_last_error());
        double c = cosine(v, want, dim);
        if (c < worst) worst = c;
        CHECK_MSG(c >= 0.999, "%s text %d \"%s\": cosine %.6f", key, i, t, c);
        CHECK_NEAR(norm(v, dim), 1.0, 1e-5);
        printf("  %s text %d: cosine %.9f (%lld tokens)\n", key, i, c, (long long)hearth_embedder_last_tokens(e));
    }
    free(v);
    free(want);
    hearth_embedder_free(e);
    hearth_model_free(m);
    return worst;
}

TEST(golden_bert) {
    double w = golden(BERT, "tiny-bert-bge-mean-f16.gguf");
    printf("  worst cosine bert: %.9f\n", w);
}

TEST(golden_llama) {
    double w = golden(LLAMA, "licenses-llama-f16.gguf");
    printf("  worst cosine llama: %.9f\n", w);
}

/* llama: a text longer than one decode slice (64 tokens) gives the mean of
 * the hidden states of one hearth_decode over all its tokens */
TEST(llama_long_text) {
    hearth_model *m = load(LLAMA);
    if (!m) return;
    const char *t = "This License explicitly affirms your unlimited permission to run the unmodified Program. "
                    "The output from running a covered work is covered by this License only if the output, given its "
                    "content, constitutes a covered work. This License acknowledges your rights of fair use or other "
                    "equivalent, as provided by copyright law. You may make, run and propagate covered works that you "
                    "do not convey, without conditions so long as your license otherwise remains in force.";
    int32_t *ids = NULL;
    size_t n = 0;
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    CHECK_EQ_INT(hearth_tokenize(hearth_model_vocab(m), t, strlen(t), &tp, &ids, &n), HEARTH_OK);
    CHECK(n > 64 && n < 200);
    hearth_context *c = NULL;
    CHECK_EQ_INT(hearth_context_create(m, NULL, &c), HEARTH_OK);
    hearth_embedder *e = NULL;
    CHECK_EQ_INT(hearth_embedder_create(m, NULL, &e), HEARTH_OK);
    if (c && e && ids) {
        int dim = hearth_model_n_embd(m);
        double want[512] = {0};
        float v[512];
        CHECK_EQ_INT(hearth_decode(c, ids, (int32_t)n, true), HEARTH_OK);
        for (size_t i = 0; i < n; i++) {
            const float *h = hearth_get_embeddings_ith(c, (int32_t)i);
            CHECK(h != NULL);
            for (int j = 0; h && j < dim; j++) want[j] += h[j] / (double)n;
        }
        CHECK_EQ_INT(hearth_embed(e, t, strlen(t), v, dim), HEARTH_OK);
        CHECK_EQ_INT(hearth_embedder_last_tokens(e), (int64_t)n);
        double c1 = cosine(v, want, dim);
        CHECK_MSG(c1 > 0.99999, "cosine %.8f", c1);
    }
    /* a smaller n_ctx: the same text is refused with the counts */
    hearth_embed_params p = hearth_embed_default_params();
    p.n_ctx = 32;
    hearth_embedder *e2 = NULL;
    CHECK_EQ_INT(hearth_embedder_create(m, &p, &e2), HEARTH_OK);
    if (e2) {
        float v[512];
        CHECK_EQ_INT(hearth_embedder_n_ctx(e2), 32);
        CHECK_EQ_INT(hearth_embed(e2, t, strlen(t), v, 512), HEARTH_ERR_RANGE);
        CHECK(strstr(hearth_last_error(), "more than the 32") != NULL);
        CHECK_EQ_INT(hearth_embed(e2, "short", 5, v, 512), HEARTH_OK);
    }
    hearth_embedder_free(e2);
    free(ids);
    hearth_embedder_free(e);
    hearth_context_free(c);
    hearth_model_free(m);
}

/* the batch form = one call per text, for both kinds; also with a small
 * n_batch so that BERT splits the texts over several passes */
static void batch_equals_single(const char *path, int32_t n_batch) {
    hearth_model *m = load(path);
    if (!m) return;
    hearth_embed_params p = hearth_embed_default_params();
    p.n_batch = n_batch;
    hearth_embedder *e = NULL;
    CHECK_EQ_INT(hearth_embedder_create(m, &p, &e), HEARTH_OK);
    if (!e) { hearth_model_free(m); return; }
    const char *texts[] = {"first text", "", "a somewhat longer second text with more words in it", "x"};
    int n = 4, dim = hearth_embedder_n_embd(e);
    float *all = malloc((size_t)n * dim * 4), *one = malloc((size_t)dim * 4);
    hearth_status s = hearth_embed_batch(e, texts, NULL, n, all, (int64_t)n * dim);
    CHECK_MSG(s == HEARTH_OK, "%s", hearth_last_error());
    int64_t total = hearth_embedder_last_tokens(e), sum = 0;
    for (int i = 0; i < n; i++) {
        CHECK_EQ_INT(hearth_embed(e, texts[i], strlen(texts[i]), one, dim), HEARTH_OK);
        sum += hearth_embedder_last_tokens(e);
        double maxd = 0;
        for (int j = 0; j < dim; j++) maxd = fmax(maxd, fabs(one[j] - all[(size_t)i * dim + j]));
        CHECK_MSG(maxd < 1e-5, "%s text %d: batch differs from single by %g", path, i, maxd);
    }
    CHECK_EQ_INT(total, sum);
    /* different texts give different vectors */
    double d = 0;
    for (int j = 0; j < dim; j++) d += fabs(all[j] - all[(size_t)2 * dim + j]);
    CHECK(d > 1e-3);
    free(all);
    free(one);
    hearth_embedder_free(e);
    hearth_model_free(m);
}

TEST(batch) {
    batch_equals_single(BERT, 0);
    batch_equals_single(BERT, 1);   /* raised to the context: one long text must fit */
    batch_equals_single(LLAMA, 0);
}

/* the BERT passes several texts per pass: small n_batch forces several rounds */
TEST(batch_rounds) {
    hearth_model *m = load(BERT);
    if (!m) return;
    hearth_embedder *e1 = NULL;
    CHECK_EQ_INT(hearth_embedder_create(m, NULL, &e1), HEARTH_OK);
    if (!e1) { hearth_model_free(m); return; }
    enum { N = 80 };
    const char *texts[N];
    char buf[N][64];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "text number %d about keys and licences", i);
        texts[i] = buf[i];
    }
    int dim = hearth_embedder_n_embd(e1);
    float *all = malloc((size_t)N * dim * 4), *one = malloc((size_t)dim * 4);
    CHECK_EQ_INT(hearth_embed_batch(e1, texts, NULL, N, all, (int64_t)N * dim), HEARTH_OK);
    for (int i = 0; i < N; i += 7) {
        CHECK_EQ_INT(hearth_embed(e1, texts[i], strlen(texts[i]), one, dim), HEARTH_OK);
        double maxd = 0;
        for (int j = 0; j < dim; j++) maxd = fmax(maxd, fabs(one[j] - all[(size_t)i * dim + j]));
        CHECK_MSG(maxd < 1e-5, "text %d differs by %g", i, maxd);
    }
    free(all);
    free(one);
    hearth_embedder_free(e1);
    hearth_model_free(m);
}

TEST(normalize_and_pooling) {
    hearth_model *m = load(BERT);
    if (!m) return;
    CHECK(hearth_model_is_encoder(m));
    CHECK_EQ_INT(hearth_model_pooling(m), HEARTH_POOLING_MEAN);
    const char *t = "How do I rotate an API key?";
    int dim = hearth_model_n_embd(m);
    float a[256], b[256], c[256];
    hearth_embedder *e = NULL;
    hearth_embed_params p = hearth_embed_default_params();
    CHECK_EQ_INT(hearth_embedder_create(m, &p, &e), HEARTH_OK);
    CHECK_EQ_INT(hearth_embed(e, t, strlen(t), a, dim), HEARTH_OK);
    hearth_embedder_free(e);
    p.normalize = false;
    CHECK_EQ_INT(hearth_embedder_create(m, &p, &e), HEARTH_OK);
    CHECK_EQ_INT(hearth_embed(e, t, strlen(t), b, dim), HEARTH_OK);
    hearth_embedder_free(e);
    CHECK_NEAR(norm(a, dim), 1.0, 1e-5);
    double nb = norm(b, dim);
    CHECK(fabs(nb - 1.0) > 1e-3);   /* raw mean of LayerNorm outputs is not unit length */
    for (int j = 0; j < dim; j++) CHECK_NEAR(b[j] / nb, a[j], 1e-5);
    /* cls pooling: another vector */
    p.normalize = true;
    p.pooling = HEARTH_POOLING_CLS;
    CHECK_EQ_INT(hearth_embedder_create(m, &p, &e), HEARTH_OK);
    CHECK_EQ_INT(hearth_embed(e, t, strlen(t), c, dim), HEARTH_OK);
    hearth_embedder_free(e);
    double d = 0;
    for (int j = 0; j < dim; j++) d += fabs(a[j] - c[j]);
    CHECK(d > 1e-2);
    CHECK_NEAR(norm(c, dim), 1.0, 1e-5);
    hearth_model_free(m);
}

TEST(errors) {
    hearth_model *m = load(BERT);
    if (!m) return;
    hearth_embedder *e = NULL;
    hearth_embed_params p = hearth_embed_default_params();
    p.pooling = HEARTH_POOLING_NONE;
    CHECK_EQ_INT(hearth_embedder_create(m, &p, &e), HEARTH_ERR_INVALID_ARG);
    CHECK(strstr(hearth_last_error(), "pooling none") != NULL);
    CHECK(e == NULL);
    CHECK_EQ_INT(hearth_embedder_create(m, NULL, &e), HEARTH_OK);
    if (!e) { hearth_model_free(m); return; }
    int dim = hearth_embedder_n_embd(e);
    float v[256];
    for (int j = 0; j < dim; j++) v[j] = 7;
    /* output too small */
    CHECK_EQ_INT(hearth_embed(e, "hi", 2, v, dim - 1), HEARTH_ERR_RANGE);
    /* more tokens than positions (512): unchanged output, message with counts */
    size_t L = 600 * 4;
    char *big = malloc(L + 1);
    for (size_t i = 0; i < L; i += 4) memcpy(big + i, "cat ", 4);
    big[L] = 0;
    CHECK_EQ_INT(hearth_embed(e, big, L, v, dim), HEARTH_ERR_RANGE);
    CHECK(strstr(hearth_last_error(), "602 tokens") != NULL);
    CHECK(strstr(hearth_last_error(), "512") != NULL);
    CHECK(v[0] == 7);
    /* exactly 512 tokens ([CLS] + 510 + [SEP]) is fine */
    CHECK_EQ_INT(hearth_embed(e, big, 510 * 4, v, dim), HEARTH_OK);
    CHECK_EQ_INT(hearth_embedder_last_tokens(e), 512);
    /* a batch names the text that is too long */
    const char *texts[] = {"short", big};
    float *two = malloc((size_t)2 * dim * 4);
    CHECK_EQ_INT(hearth_embed_batch(e, texts, NULL, 2, two, 2 * dim), HEARTH_ERR_RANGE);
    CHECK(strstr(hearth_last_error(), "text 1") != NULL);
    CHECK_EQ_INT(hearth_embed_batch(e, texts, NULL, 0, two, 2 * dim), HEARTH_ERR_INVALID_ARG);
    /* token ids */
    int32_t bad[] = {101, 40000, 102};
    CHECK_EQ_INT(hearth_embed_tokens(e, bad, 3, v, dim), HEARTH_ERR_INVALID_ARG);
    int32_t good[] = {101, 2129, 102};
    CHECK_EQ_INT(hearth_embed_tokens(e, good, 3, v, dim), HEARTH_OK);
    CHECK_EQ_INT(hearth_embed_tokens(e, good, 0, v, dim), HEARTH_ERR_INVALID_ARG);
    free(two);
    free(big);
    hearth_embedder_free(e);
    hearth_embedder_free(NULL);
    hearth_model_free(m);

    /* vocab-only model: no embedder */
    hearth_model_params mp = hearth_model_default_params();
    mp.vocab_only = true;
    CHECK_EQ_INT(hearth_model_load(BERT, &mp, &m), HEARTH_OK);
    if (m) {
        CHECK_EQ_INT(hearth_embedder_create(m, NULL, &e), HEARTH_ERR_INVALID_ARG);
        hearth_model_free(m);
    }
}

/* ---- bad files ----------------------------------------------------------------
 * the BERT file rewritten with one tensor left out or reshaped, or a key set */
static bool write_variant(const char *out, const char *skip, const char *reshape, const char *key, uint32_t val) {
    hearth_gguf *g = NULL;
    if (hearth_gguf_open(BERT, &g) != HEARTH_OK) return false;
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) {
        hearth_str k = hearth_gguf_kv_key(g, i);
        if (key && strlen(key) == k.len && memcmp(key, k.ptr, k.len) == 0) continue;
        hearth_gguf_copy_kv(w, g, i);
    }
    if (key) hearth_gguf_set_u32(w, key, val);
    for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        if (skip && strcmp(t->name, skip) == 0) continue;
        int64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        if (reshape && strcmp(t->name, reshape) == 0) ne[0] /= 2, ne[1] *= 2;   /* same bytes, wrong shape */
        hearth_gguf_add_tensor(w, t->name, t->type, t->n_dims, ne, t->data);
    }
    bool ok = hearth_gguf_writer_write(w, out) == HEARTH_OK;
    hearth_gguf_writer_free(w);
    hearth_gguf_close(g);
    return ok;
}

TEST(bad_files) {
    char path[64];
    snprintf(path, sizeof path, "test_embed_bad_%d.gguf", (int)getpid());   /* two runs may share the folder */
    hearth_model *m = NULL;
    CHECK(write_variant(path, "blk.1.ffn_up.bias", NULL, NULL, 0));
    CHECK_EQ_INT(hearth_model_load(path, NULL, &m), HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "missing 1 tensor: blk.1.ffn_up.bias") != NULL, "%s", hearth_last_error());
    CHECK(m == NULL);
    CHECK(write_variant(path, NULL, "blk.0.attn_k.weight", NULL, 0));
    CHECK_EQ_INT(hearth_model_load(path, NULL, &m), HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "blk.0.attn_k.weight has shape [32, 128], expected [64, 64]") != NULL, "%s",
              hearth_last_error());
    CHECK(write_variant(path, NULL, NULL, "bert.pooling_type", 7));
    CHECK_EQ_INT(hearth_model_load(path, NULL, &m), HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "bert.pooling_type 7") != NULL, "%s", hearth_last_error());
    /* cls pooling from the file is what the embedder uses */
    CHECK(write_variant(path, NULL, NULL, "bert.pooling_type", 2));
    CHECK_EQ_INT(hearth_model_load(path, NULL, &m), HEARTH_OK);
    if (m) {
        CHECK_EQ_INT(hearth_model_pooling(m), HEARTH_POOLING_CLS);
        hearth_model_free(m);
    }
    remove(path);
}

/* ---- the command ----------------------------------------------------------- */
static int run(const char *args, char **out) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s embed %s 2>/dev/null", HEARTH_BIN, args);
    return harness_run(cmd, out);
}

static int run_err(const char *args, char **err) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s embed %s 2>&1 >/dev/null", HEARTH_BIN, args);
    return harness_run(cmd, err);
}

TEST(cli_json) {
    hearth_model *m = load(BERT);
    if (!m) return;
    hearth_embedder *e = NULL;
    CHECK_EQ_INT(hearth_embedder_create(m, NULL, &e), HEARTH_OK);
    if (!e) { hearth_model_free(m); return; }
    int dim = hearth_embedder_n_embd(e);
    float v[256];
    const char *t = "The quick brown fox jumps over the lazy dog.";
    CHECK_EQ_INT(hearth_embed(e, t, strlen(t), v, dim), HEARTH_OK);

    char *out = NULL;
    CHECK_EQ_INT(run("-m " BERT " --json -p 'The quick brown fox jumps over the lazy dog.'", &out), 0);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    CHECK_MSG(j != NULL, "not JSON: %s", out ? out : "(null)");
    if (j) {
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "dim")->valueint, dim);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "model")));
        const cJSON *data = cJSON_GetObjectItem(j, "data");
        CHECK_EQ_INT(cJSON_GetArraySize(data), 1);
        const cJSON *d0 = cJSON_GetArrayItem(data, 0);
        CHECK_EQ_INT(cJSON_GetObjectItem(d0, "index")->valueint, 0);
        const cJSON *emb = cJSON_GetObjectItem(d0, "embedding");
        CHECK_EQ_INT(cJSON_GetArraySize(emb), dim);
        double maxd = 0;
        for (int i = 0; i < dim && i < cJSON_GetArraySize(emb); i++)
            maxd = fmax(maxd, fabs(cJSON_GetArrayItem(emb, i)->valuedouble - v[i]));
        CHECK_MSG(maxd < 1e-6, "CLI and API differ by %g", maxd);
        cJSON_Delete(j);
    }
    free(out);

    /* text output: one line of dim floats, equal to the API's */
    out = NULL;
    CHECK_EQ_INT(run("-m " BERT " -p 'The quick brown fox jumps over the lazy dog.'", &out), 0);
    if (out) {
        char *p = out, *end;
        int k = 0;
        double maxd = 0;
        for (;; k++) {
            double x = strtod(p, &end);
            if (end == p) break;
            if (k < dim) maxd = fmax(maxd, fabs(x - v[k]));
            p = end;
        }
        CHECK_EQ_INT(k, dim);
        CHECK(maxd < 1e-6);
        CHECK(strchr(out, '\n') == out + strlen(out) - 1);
    }
    free(out);
    hearth_embedder_free(e);
    hearth_model_free(m);
}

TEST(cli_file) {
    char path[64], args[512];
    snprintf(path, sizeof path, "test_embed_texts_%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("How do I rotate an API key?\nThe quick brown fox jumps over the lazy dog.\n\n", f);
    fclose(f);
    char *out = NULL;
    snprintf(args, sizeof args, "-m %s --json -f %s", BERT, path);
    CHECK_EQ_INT(run(args, &out), 0);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    CHECK(j != NULL);
    if (j) {
        const cJSON *data = cJSON_GetObjectItem(j, "data");
        CHECK_EQ_INT(cJSON_GetArraySize(data), 2);   /* empty lines are skipped */
        CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 1), "index")->valueint, 1);
        /* the second line's vector is the reference's third text */
        const cJSON *r = cJSON_GetObjectItem(ref, "tiny-bert-bge-mean-f16.gguf");
        const cJSON *rv = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "embeddings"), 2);
        const cJSON *emb = cJSON_GetObjectItem(cJSON_GetArrayItem(data, 1), "embedding");
        int dim = cJSON_GetArraySize(emb);
        float v[256];
        double want[256];
        for (int i = 0; i < dim && i < 256; i++) {
            v[i] = (float)cJSON_GetArrayItem(emb, i)->valuedouble;
            want[i] = cJSON_GetArrayItem(rv, i)->valuedouble;
        }
        CHECK(cosine(v, want, dim) >= 0.999);
        cJSON_Delete(j);
    }
    free(out);
    /* text output: two lines */
    out = NULL;
    snprintf(args, sizeof args, "-m %s -f %s --no-normalize", BERT, path);
    CHECK_EQ_INT(run(args, &out), 0);
    int lines = 0;
    for (char *p = out; p && *p; p++) lines += *p == '\n';
    CHECK_EQ_INT(lines, 2);
    free(out);
    /* a line too long for the model: named by file and line */
    f = fopen(path, "w");
    if (f) {
        fputs("short\n\n", f);
        for (int i = 0; i < 600; i++) fputs("cat ", f);
        fputs("\n", f);
        fclose(f);
    }
    char *err = NULL;
    snprintf(args, sizeof args, "-m %s -f %s", BERT, path);
    CHECK_EQ_INT(run_err(args, &err), 1);
    char where[80];
    snprintf(where, sizeof where, "%s:3:", path);
    CHECK_MSG(err && strstr(err, where) && strstr(err, "602 tokens"), "%s", err ? err : "");
    free(err);
    remove(path);
}

TEST(cli_errors) {
    char *err = NULL;
    CHECK_EQ_INT(run_err("-m " BERT " --bogus -p x", &err), 2);
    CHECK(err && strstr(err, "--bogus"));
    free(err), err = NULL;
    CHECK_EQ_INT(run_err("-m " BERT, &err), 2);
    CHECK(err && strstr(err, "-p"));
    free(err), err = NULL;
    CHECK_EQ_INT(run_err("-m " BERT " -p a -f b", &err), 2);
    free(err), err = NULL;
    CHECK_EQ_INT(run_err("-m " BERT " --image cat.png", &err), 2);
    CHECK(err && strstr(err, "--mmproj"));
    free(err), err = NULL;
    CHECK(run_err("-m " BERT " -f /nonexistent/texts.txt", &err) == 1);
    CHECK(err && strstr(err, "/nonexistent/texts.txt"));
    free(err), err = NULL;
    CHECK(run_err("-m /nonexistent/model.gguf -p x", &err) == 1);
    CHECK(err && strstr(err, "/nonexistent/model.gguf"));
    free(err), err = NULL;
    CHECK(run_err("-m " BERT " --pooling sideways -p x", &err) == 2);
    CHECK(err && strstr(err, "sideways"));
    free(err), err = NULL;
    CHECK_EQ_INT(run("--help", NULL), 0);
}

int main(void) {
    char *txt = harness_read(HEARTH_TEST_DATA "/embed/embeddings.json", NULL);
    ref = txt ? cJSON_Parse(txt) : NULL;
    free(txt);
    if (!ref) {
        fprintf(stderr, "cannot read %s\n", HEARTH_TEST_DATA "/embed/embeddings.json");
        return 1;
    }
    RUN(golden_bert);
    RUN(golden_llama);
    RUN(llama_long_text);
    RUN(batch);
    RUN(batch_rounds);
    RUN(normalize_and_pooling);
    RUN(errors);
    RUN(bad_files);
    RUN(cli_json);
    RUN(cli_file);
    RUN(cli_errors);
    cJSON_Delete(ref);
    return harness_done();
}
