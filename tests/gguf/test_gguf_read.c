/*
 * test_gguf_read.c — the GGUF reader over real files: llama.cpp's vocab
 * files (in the repo) and model files (tests/data/models, plus the shared
 * reference models where present). Checks what model loading and the
 * tokenizer rely on: keys found by name, string arrays indexed, tensors found
 * by name with in-file, aligned data of the size their type implies.
 */
#include "harness.h"
#include "hearth/gguf.h"

#include "gguf_test_util.h"

/* ---- helpers ------------------------------------------------------------ */

static bool str_eq(hearth_str s, const char *c) { return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0; }

static size_t pad_to(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* Vocabulary sizes of the public tokenizers these files hold. */
static const struct { const char *file; uint64_t n_vocab; const char *model; } VOCABS[] = {
    {"ggml-vocab-gpt-2.gguf", 50257, "gpt2"},
    {"ggml-vocab-llama-spm.gguf", 32000, "llama"},
    {"ggml-vocab-phi-3.gguf", 32064, "llama"},
    {"ggml-vocab-bert-bge.gguf", 30522, "bert"},
    {"ggml-vocab-falcon.gguf", 65024, "gpt2"},
    {"ggml-vocab-deepseek-llm.gguf", 102400, "gpt2"},
};

/* Checks that hold for every valid file. */
static void check_common(const char *path, hearth_gguf *g) {
    int64_t n_kv = hearth_gguf_n_kv(g);
    CHECK_MSG(hearth_gguf_version(g) == 2 || hearth_gguf_version(g) == 3, "%s", path);
    size_t align = hearth_gguf_alignment(g);
    CHECK_MSG(align > 0 && (align & (align - 1)) == 0, "%s: alignment %zu", path, align);
    CHECK_MSG(hearth_gguf_data_offset(g) % align == 0, "%s", path);
    /* every key is found by name at its own index */
    for (int64_t i = 0; i < n_kv; i++) {
        hearth_str k = hearth_gguf_kv_key(g, i);
        char buf[256];
        if (k.len >= sizeof buf) continue;
        memcpy(buf, k.ptr, k.len);
        buf[k.len] = 0;
        CHECK_MSG(hearth_gguf_find_key(g, buf) == i, "%s: key %s", path, buf);
        CHECK(hearth_gguf_kv_type(g, i) < HEARTH_GGUF_TYPE_COUNT);
    }
    CHECK(hearth_gguf_find_key(g, "no.such.key") == -1);
    /* tensors: found by name, aligned, in the file, sized by their type */
    const uint8_t *base = NULL;
    int64_t nt = hearth_gguf_n_tensors(g);
    for (int64_t i = 0; i < nt; i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        CHECK_MSG(hearth_gguf_find_tensor(g, t->name) == t, "%s: tensor %s", path, t->name);
        CHECK(t->n_dims >= 1 && t->n_dims <= 4);
        CHECK_MSG(t->offset % align == 0, "%s: %s offset %llu", path, t->name, (unsigned long long)t->offset);
        size_t expect = hearth_row_size(t->type, t->ne[0]) * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        CHECK_MSG(t->nbytes == expect, "%s: %s: %zu vs %zu", path, t->name, t->nbytes, expect);
        CHECK(hearth_gguf_data_offset(g) + t->offset + t->nbytes <= hearth_gguf_file_size(g));
        if (i == 0) base = (const uint8_t *)t->data - hearth_gguf_data_offset(g) - t->offset;
        CHECK((const uint8_t *)t->data == base + hearth_gguf_data_offset(g) + t->offset);
    }
    CHECK(hearth_gguf_find_tensor(g, "no.such.tensor") == NULL);
    CHECK(hearth_gguf_tensor_at(g, nt) == NULL);
    CHECK(hearth_gguf_tensor_at(g, -1) == NULL);
}

/* ---- tests -------------------------------------------------------------- */

TEST(vocab_files) {
    for (size_t v = 0; v < sizeof VOCABS / sizeof VOCABS[0]; v++) {
        char path[512];
        snprintf(path, sizeof path, "%s/vocab/%s", HEARTH_TEST_DATA, VOCABS[v].file);
        hearth_gguf *g = NULL;
        hearth_status s = hearth_gguf_open(path, &g);
        CHECK_MSG(s == HEARTH_OK, "%s: %s", path, hearth_last_error());
        if (s) continue;
        check_common(path, g);
        CHECK_EQ_INT(hearth_gguf_n_tensors(g), 0);
        hearth_str model;
        CHECK(hearth_gguf_get_str(g, "tokenizer.ggml.model", &model) == HEARTH_OK);
        CHECK_MSG(str_eq(model, VOCABS[v].model), "%s: model %.*s", path, (int)model.len, model.ptr);
        hearth_gguf_arr toks;
        CHECK(hearth_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks) == HEARTH_OK);
        CHECK(toks.type == HEARTH_GGUF_STRING);
        CHECK_MSG(toks.n == VOCABS[v].n_vocab, "%s: %llu tokens", path, (unsigned long long)toks.n);
        CHECK(hearth_gguf_arr_data(&toks) == NULL);
        /* strings are consecutive in the file: each starts 8 bytes after the previous one ends */
        bool consecutive = true;
        for (uint64_t i = 1; i < toks.n; i++) {
            hearth_str a = hearth_gguf_arr_str(&toks, i - 1), b = hearth_gguf_arr_str(&toks, i);
            if (b.ptr != a.ptr + a.len + 8) consecutive = false;
        }
        CHECK_MSG(consecutive, "%s", path);
        CHECK(hearth_gguf_arr_str(&toks, toks.n).len == 0);   /* out of range: empty */
        CHECK(hearth_gguf_arr_int(&toks, 0) == 0);              /* wrong type: 0 */
        hearth_gguf_arr tt;
        if (hearth_gguf_get_arr(g, "tokenizer.ggml.token_type", &tt) == HEARTH_OK) {
            CHECK(tt.type == HEARTH_GGUF_INT32);
            CHECK_EQ_INT(tt.n, toks.n);
            CHECK(hearth_gguf_arr_data(&tt) != NULL);
            int64_t t0 = hearth_gguf_arr_int(&tt, 0);
            CHECK(t0 >= 1 && t0 <= 6);   /* llama.cpp token attributes: normal..byte */
        }
        if (strstr(path, "llama-spm")) {
            /* SentencePiece: <unk> <s> </s>, then byte tokens <0x00>... */
            CHECK(str_eq(hearth_gguf_arr_str(&toks, 1), "<s>"));
            CHECK(str_eq(hearth_gguf_arr_str(&toks, 3), "<0x00>"));
            hearth_gguf_arr sc;
            CHECK(hearth_gguf_get_arr(g, "tokenizer.ggml.scores", &sc) == HEARTH_OK);
            CHECK(sc.type == HEARTH_GGUF_FLOAT32 && sc.n == toks.n);
            int64_t bos;
            CHECK(hearth_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &bos) == HEARTH_OK);
            CHECK_EQ_INT(bos, 1);
        }
        if (strstr(path, "gpt-2")) {
            CHECK(str_eq(hearth_gguf_arr_str(&toks, 0), "!"));
            hearth_gguf_arr merges;
            CHECK(hearth_gguf_get_arr(g, "tokenizer.ggml.merges", &merges) == HEARTH_OK);
            CHECK(merges.type == HEARTH_GGUF_STRING && merges.n == 50000);
            CHECK(str_eq(hearth_gguf_arr_str(&merges, 0), "\xc4\xa0 t"));   /* "Ġ t" */
        }
        hearth_gguf_close(g);
    }
}

TEST(model_files) {
    gguf_files f = gguf_files_all();
    int models = 0;
    for (int i = 0; i < f.n; i++) {
        if (strstr(f.path[i], "/vocab/")) continue;
        models++;
        hearth_gguf *g = NULL;
        hearth_status s = hearth_gguf_open(f.path[i], &g);
        CHECK_MSG(s == HEARTH_OK, "%s: %s", f.path[i], hearth_last_error());
        if (s) continue;
        check_common(f.path[i], g);
        hearth_str arch;
        CHECK(hearth_gguf_get_str(g, "general.architecture", &arch) == HEARTH_OK);
        CHECK(hearth_gguf_n_tensors(g) > 0);
        /* llama.cpp packs tensors in order, each padded to the alignment,
         * and pads the last one too: the file ends exactly there. */
        size_t a = hearth_gguf_alignment(g), end = 0;
        for (int64_t t = 0; t < hearth_gguf_n_tensors(g); t++) {
            const hearth_gguf_tensor *ti = hearth_gguf_tensor_at(g, t);
            CHECK_MSG(ti->offset == end, "%s: %s", f.path[i], ti->name);
            end = ti->offset + pad_to(ti->nbytes, a);
        }
        CHECK_EQ_INT(hearth_gguf_data_offset(g) + end, hearth_gguf_file_size(g));
        hearth_gguf_close(g);
    }
    printf("  %d model files\n", models);
    gguf_files_free(&f);
}

/* Architecture values stated in tests/data/README / the shared README. */
TEST(tiny_llama_values) {
    const char *cands[] = {HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf",
#ifdef GGUF_EXTRA_DIR
                           GGUF_EXTRA_DIR "/tiny-llama-spm-f16.gguf",
#endif
    };
    hearth_gguf *g = NULL;
    const char *path = NULL;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0] && !g; i++)
        if (hearth_gguf_open(cands[i], &g) == HEARTH_OK) path = cands[i];
    if (!g) { printf("  (tiny-llama-spm-f16.gguf not available: skipped)\n"); return; }
    int64_t v;
    CHECK(hearth_gguf_get_int(g, "llama.embedding_length", &v) == HEARTH_OK && v == 64);
    CHECK(hearth_gguf_get_int(g, "llama.block_count", &v) == HEARTH_OK && v == 2);
    CHECK(hearth_gguf_get_int(g, "llama.attention.head_count", &v) == HEARTH_OK && v == 4);
    CHECK(hearth_gguf_get_int(g, "llama.attention.head_count_kv", &v) == HEARTH_OK && v == 2);
    CHECK(hearth_gguf_get_int(g, "llama.feed_forward_length", &v) == HEARTH_OK && v == 172);
    uint64_t u;
    CHECK(hearth_gguf_get_uint(g, "llama.block_count", &u) == HEARTH_OK && u == 2);
    double eps;
    CHECK(hearth_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &eps) == HEARTH_OK);
    CHECK(eps > 0 && eps < 1e-3);
    double d;   /* integers read as float too */
    CHECK(hearth_gguf_get_float(g, "llama.block_count", &d) == HEARTH_OK && d == 2.0);
    /* wrong type / missing key: status and a message naming the key */
    hearth_str sv;
    CHECK(hearth_gguf_get_str(g, "llama.block_count", &sv) == HEARTH_ERR_TYPE);
    CHECK(strstr(hearth_last_error(), "llama.block_count") != NULL);
    CHECK(hearth_gguf_get_int(g, "general.architecture", &v) == HEARTH_ERR_TYPE);
    CHECK(hearth_gguf_get_int(g, "llama.nope", &v) == HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(hearth_last_error(), "llama.nope") != NULL);
    bool b;
    CHECK(hearth_gguf_get_bool(g, "llama.block_count", &b) == HEARTH_ERR_TYPE);
    /* tensors: 2 layers x 9 + token_embd, output_norm, output */
    CHECK_EQ_INT(hearth_gguf_n_tensors(g), 21);
    const hearth_gguf_tensor *emb = hearth_gguf_find_tensor(g, "token_embd.weight");
    CHECK(emb != NULL);
    if (emb) {
        CHECK_EQ_INT(emb->n_dims, 2);
        CHECK_EQ_INT(emb->ne[0], 64);
        CHECK_EQ_INT(emb->ne[1], 32000);
        CHECK_EQ_INT(hearth_gguf_tensor_nelements(emb), 64 * 32000);
    }
    const hearth_gguf_tensor *kv = hearth_gguf_find_tensor(g, "blk.1.attn_k.weight");
    CHECK(kv && kv->ne[0] == 64 && kv->ne[1] == 32 && kv->type == HEARTH_TYPE_F16);   /* 2 kv heads x 16 */
    const hearth_gguf_tensor *nrm = hearth_gguf_find_tensor(g, "blk.0.attn_norm.weight");
    CHECK(nrm && nrm->n_dims == 1 && nrm->ne[0] == 64 && nrm->type == HEARTH_TYPE_F32);
    /* the norm weights are ordinary floats (random, but finite) */
    if (nrm) {
        float x;
        memcpy(&x, nrm->data, 4);
        CHECK(isfinite(x));
    }
    (void)path;
    hearth_gguf_close(g);
}

TEST(null_and_missing) {
    hearth_gguf_close(NULL);
    hearth_gguf *g = (hearth_gguf *)1;
    CHECK(hearth_gguf_open(HEARTH_TEST_DATA "/vocab/does-not-exist.gguf", &g) == HEARTH_ERR_IO);
    CHECK(g == NULL);
    CHECK(strstr(hearth_last_error(), "does-not-exist.gguf") != NULL);
    CHECK(hearth_gguf_open(HEARTH_TEST_DATA "/vocab/ggml-vocab-gpt-2.gguf.inp", &g) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "offset 0") != NULL);
    CHECK(hearth_gguf_n_kv(NULL) == 0);
    CHECK(hearth_gguf_find_key(NULL, "x") == -1);
    CHECK(hearth_gguf_find_tensor(NULL, "x") == NULL);
}

int main(void) {
    RUN(vocab_files);
    RUN(model_files);
    RUN(tiny_llama_values);
    RUN(null_and_missing);
    return harness_done();
}
