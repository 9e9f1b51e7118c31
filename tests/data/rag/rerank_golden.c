/*
 * rerank_golden.c — writes tests/data/rag/rerank_golden.txt: llama.cpp's
 * rerank scores (pooling "rank") of a few query/document pairs for the test
 * reranker that test_rerank writes. Not part of the build. Run:
 *   build/tests/rag/test_rerank --write-model /tmp/reranker.gguf
 *   cc -O2 tests/data/rag/rerank_golden.c -I/work/ref/llama.cpp/include -I/work/ref/llama.cpp/ggml/include \
 *      -L/work/ref/llama.cpp/build/bin -lllama -Wl,-rpath,/work/ref/llama.cpp/build/bin -o /tmp/rerank_golden
 *   /tmp/rerank_golden /tmp/reranker.gguf > tests/data/rag/rerank_golden.txt
 * The pair is tokenized as llama.cpp's server does (format_prompt_rerank
 * without a rerank template): BOS, query, EOS if added, SEP if added, doc,
 * EOS if added.
 */
#include "llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tok(const struct llama_vocab *v, const char *s, llama_token *out, int cap) {
    return llama_tokenize(v, s, (int32_t)strlen(s), out, cap, false, false);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *m = llama_model_load_from_file(argv[1], mp);
    if (!m) return 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.embeddings = true;
    cp.pooling_type = LLAMA_POOLING_TYPE_RANK;
    cp.n_ctx = 512;
    cp.n_batch = 512;
    cp.n_ubatch = 512;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    const struct llama_vocab *v = llama_model_get_vocab(m);
    static const char *pairs[][2] = {
        {"how hot does the kiln get", "The kiln reaches 1240 degrees at the end of the firing."},
        {"how hot does the kiln get", "Ducks are waterfowl; the mallard is the most common duck."},
        {"when is the chimney swept", "Sweep the chimney flue twice a year, in spring and autumn."},
        {"when is the chimney swept", "Let the bread dough rise for two hours at room temperature."},
        {"What is hearth?", "hearth is a private LLM platform written in C."},
        {"What is hearth?", "A hearth is the floor of a fireplace."},
    };
    printf("# llama.cpp rerank scores (pooling rank) of the test reranker: score<TAB>query<TAB>document\n");
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        llama_token ids[512], q[256], d[256];
        int nq = tok(v, pairs[i][0], q, 256), nd = tok(v, pairs[i][1], d, 256), n = 0;
        llama_token eos = llama_vocab_eos(v);
        if (eos == LLAMA_TOKEN_NULL) eos = llama_vocab_sep(v);
        if (llama_vocab_get_add_bos(v)) ids[n++] = llama_vocab_bos(v);
        memcpy(ids + n, q, (size_t)nq * sizeof *ids), n += nq;
        if (llama_vocab_get_add_eos(v)) ids[n++] = eos;
        if (llama_vocab_get_add_sep(v)) ids[n++] = llama_vocab_sep(v);
        memcpy(ids + n, d, (size_t)nd * sizeof *ids), n += nd;
        if (llama_vocab_get_add_eos(v)) ids[n++] = eos;
        llama_memory_clear(llama_get_memory(ctx), true);
        struct llama_batch b = llama_batch_get_one(ids, n);
        if (llama_encode(ctx, b) != 0) return 1;
        const float *e = llama_get_embeddings_seq(ctx, 0);
        if (!e) return 1;
        printf("%.7g\t%s\t%s\n", e[0], pairs[i][0], pairs[i][1]);
    }
    llama_free(ctx);
    llama_model_free(m);
    return 0;
}
