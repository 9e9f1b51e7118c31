/*
 * test_rerank.c — cross-encoder re-ranking (hearth_rag_reranker): a test
 * reranker is made from the tiny BERT test model plus a classification head
 * (cls.weight/bias, cls.output.weight/bias from a fixed generator;
 * bert.pooling_type 4 = rank), and its scores are compared with llama.cpp's
 * rerank pooling on the same file (tests/data/rag/rerank_golden.txt, made by
 * tests/data/rag/rerank_golden.c). Also: search with a reranker orders by its
 * scores and keeps the fused score; an embedding model without a head is
 * refused with a clear error.
 *   test_rerank --write-model FILE   writes the test reranker (for the golden program)
 */
#include "harness.h"
#include "hearth/gguf.h"
#include "hearth/rag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EMBED HEARTH_TEST_DATA "/embed/tiny-bert-bge-mean-f16.gguf"
#define GOLDEN HEARTH_TEST_DATA "/rag/rerank_golden.txt"

/* the tiny BERT with a classification head; 0 on success */
static int write_reranker(const char *path) {
    hearth_gguf *g;
    if (hearth_gguf_open(EMBED, &g) != HEARTH_OK) return 1;
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) hearth_gguf_copy_kv(w, g, i);
    hearth_gguf_set_u32(w, "bert.pooling_type", 4);
    hearth_gguf_set_str(w, "general.name", "tiny-bert-reranker-test");
    int64_t n_embd = 0;
    for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
        const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
        hearth_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
        if (!strcmp(t->name, "token_embd.weight")) n_embd = t->ne[0];
    }
    /* a fixed generator: values in [-0.25, 0.25) */
    uint32_t s = 12345;
    size_t nw = (size_t)(n_embd * n_embd + n_embd + n_embd + 1);
    float *v = malloc(nw * sizeof *v);
    for (size_t i = 0; i < nw; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.5f;
    }
    int64_t ne_w[2] = {n_embd, n_embd}, ne_b[1] = {n_embd}, ne_o[2] = {n_embd, 1}, ne_ob[1] = {1};
    hearth_gguf_add_tensor(w, "cls.weight", HEARTH_TYPE_F32, 2, ne_w, v);
    hearth_gguf_add_tensor(w, "cls.bias", HEARTH_TYPE_F32, 1, ne_b, v + n_embd * n_embd);
    hearth_gguf_add_tensor(w, "cls.output.weight", HEARTH_TYPE_F32, 2, ne_o, v + n_embd * n_embd + n_embd);
    hearth_gguf_add_tensor(w, "cls.output.bias", HEARTH_TYPE_F32, 1, ne_ob, v + n_embd * n_embd + 2 * n_embd);
    hearth_status st = hearth_gguf_writer_write(w, path);
    hearth_gguf_writer_free(w);
    hearth_gguf_close(g);
    free(v);
    return st != HEARTH_OK;
}

static char g_model[256];

TEST(scores_match_llama_cpp) {
    hearth_model *m;
    CHECK_EQ_INT(hearth_model_load(g_model, NULL, &m), HEARTH_OK);
    hearth_rag_reranker *rr;
    CHECK_EQ_INT(hearth_rag_reranker_create(m, 2, &rr), HEARTH_OK);
    FILE *f = fopen(GOLDEN, "r");
    CHECK(f != NULL);
    char line[2048];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        /* score <TAB> query <TAB> document */
        char *q = strchr(line, '\t'), *d = q ? strchr(q + 1, '\t') : NULL;
        if (!q || !d) continue;
        *q++ = 0;
        *d++ = 0;
        d[strcspn(d, "\n")] = 0;
        float s = 0;
        CHECK_EQ_INT(hearth_rag_rerank_score(rr, q, d, &s), HEARTH_OK);
        double want = atof(line);
        CHECK_NEAR(s, want, 1e-4 + 1e-4 * fabs(want));
        n++;
    }
    if (f) fclose(f);
    CHECK(n >= 4);
    hearth_rag_reranker_free(rr);
    hearth_model_free(m);
}

TEST(search_reranks) {
    char dir[] = "/tmp/hearth-test-rerank-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    hearth_rag *r;
    CHECK_EQ_INT(hearth_rag_open(dir, "kb", true, &r), HEARTH_OK);
    const char *texts[] = {"The kiln reaches 1240 degrees.", "Bread dough rises for two hours.",
                           "The chimney flue is swept twice a year.", "Ducks are waterfowl.",
                           "Sweep the kiln shelves before firing."};
    for (int i = 0; i < 5; i++) {
        char src[32];
        snprintf(src, sizeof src, "doc%d.txt", i);
        CHECK_EQ_INT(hearth_rag_add_item(r, src, "text", texts[i], NULL, 0, NULL, NULL), HEARTH_OK);
    }
    hearth_model *m;
    CHECK_EQ_INT(hearth_model_load(g_model, NULL, &m), HEARTH_OK);
    hearth_rag_reranker *rr;
    CHECK_EQ_INT(hearth_rag_reranker_create(m, 2, &rr), HEARTH_OK);
    hearth_rag_search_params sp = hearth_rag_search_default_params();
    sp.reranker = rr;
    sp.k = 3;
    hearth_rag_results res;
    const char *q = "kiln chimney sweep degrees";
    CHECK_EQ_INT(hearth_rag_search(r, q, &sp, &res), HEARTH_OK);
    CHECK(res.n >= 2 && res.n <= 3);
    for (size_t i = 0; i < res.n; i++) {
        float s;
        CHECK_EQ_INT(hearth_rag_rerank_score(rr, q, res.hits[i].text, &s), HEARTH_OK);
        CHECK_NEAR(res.hits[i].score, s, 1e-6);   /* the final score is the cross-encoder's */
        CHECK(res.hits[i].bm25_rank > 0 && res.hits[i].fused > 0);
        if (i) CHECK(res.hits[i].score <= res.hits[i - 1].score);
    }
    hearth_rag_results_clear(&res);
    hearth_rag_reranker_free(rr);
    hearth_model_free(m);
    hearth_rag_close(r);
    /* an embedding model has no head */
    CHECK_EQ_INT(hearth_model_load(EMBED, NULL, &m), HEARTH_OK);
    CHECK_EQ_INT(hearth_rag_reranker_create(m, 1, &rr), HEARTH_ERR_UNSUPPORTED);
    CHECK(strstr(hearth_last_error(), "classification head") != NULL);
    hearth_model_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-model")) return write_reranker(argv[2]);
    snprintf(g_model, sizeof g_model, "/tmp/hearth-test-reranker-%d.gguf", (int)getpid());
    if (write_reranker(g_model)) {
        fprintf(stderr, "cannot write %s\n", g_model);
        return 1;
    }
    RUN(scores_match_llama_cpp);
    RUN(search_reranks);
    unlink(g_model);
    return harness_done();
}
