/* vectors.c — see vectors.h. */
#include "vectors.h"

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const k_vector_sets[12][2] = {
    {"ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-spm.gguf"},
    {"ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-spm.zh.gguf"},
    {"ggml-vocab-phi-3.gguf", "ggml-vocab-phi-3.gguf"},
    {"ggml-vocab-phi-3.gguf", "ggml-vocab-phi-3.zh.gguf"},
    {"ggml-vocab-gpt-2.gguf", "ggml-vocab-gpt-2.gguf"},
    {"ggml-vocab-gpt-2.gguf", "ggml-vocab-gpt-2.zh.gguf"},
    {"ggml-vocab-deepseek-llm.gguf", "ggml-vocab-deepseek-llm.gguf"},
    {"ggml-vocab-deepseek-llm.gguf", "ggml-vocab-deepseek-llm.zh.gguf"},
    {"ggml-vocab-falcon.gguf", "ggml-vocab-falcon.gguf"},
    {"ggml-vocab-falcon.gguf", "ggml-vocab-falcon.zh.gguf"},
    {"ggml-vocab-bert-bge.gguf", "ggml-vocab-bert-bge.gguf"},
    {"ggml-vocab-bert-bge.gguf", "ggml-vocab-bert-bge.zh.gguf"},
};

int vectors_load(const char *inp_path, const char *out_path, vec_case **cases) {
    size_t ni = 0, no = 0;
    char *inp = harness_read(inp_path, &ni), *out = harness_read(out_path, &no);
    *cases = NULL;
    if (!inp || !out) {
        fprintf(stderr, "cannot read %s or %s\n", inp_path, out_path);
        free(inp);
        free(out);
        return -1;
    }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t sl = sizeof sep - 1;
    int n = 0, cap = 0;
    vec_case *c = NULL;
    for (size_t pos = 0; pos < ni;) {
        const char *next = memmem(inp + pos, ni - pos, sep, sl);
        size_t end = next ? (size_t)(next - inp) : ni;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            c = realloc(c, sizeof *c * (size_t)cap);
        }
        c[n].len = end - pos;
        c[n].text = malloc(c[n].len + 1);
        memcpy(c[n].text, inp + pos, c[n].len);
        c[n].text[c[n].len] = 0;
        c[n].ids = NULL;
        c[n].n_ids = 0;
        n++;
        pos = next ? end + sl : ni;
    }
    /* expected ids, one line per case */
    int line = 0;
    for (char *p = out; p < out + no && line <= n;) {
        char *eol = memchr(p, '\n', (size_t)(out + no - p));
        if (!eol) eol = out + no;
        if (line < n) {
            size_t cap_ids = 16;
            c[line].ids = malloc(sizeof(int32_t) * cap_ids);
            for (char *q = p; q < eol;) {
                while (q < eol && *q == ' ') q++;
                if (q >= eol) break;
                char *e;
                long x = strtol(q, &e, 10);
                if (e == q) break;
                if (c[line].n_ids == cap_ids) c[line].ids = realloc(c[line].ids, sizeof(int32_t) * (cap_ids *= 2));
                c[line].ids[c[line].n_ids++] = (int32_t)x;
                q = e;
            }
        }
        line++;
        p = eol + 1;
    }
    free(inp);
    free(out);
    if (line != n) {
        fprintf(stderr, "%s has %d strings but %s has %d lines\n", inp_path, n, out_path, line);
        vectors_free(c, n);
        return -1;
    }
    *cases = c;
    return n;
}

void vectors_free(vec_case *cases, int n) {
    if (!cases) return;
    for (int i = 0; i < n; i++) {
        free(cases[i].text);
        free(cases[i].ids);
    }
    free(cases);
}
