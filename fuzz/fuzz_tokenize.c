/*
 * fuzz_tokenize.c — libFuzzer target for the tokenizers. The vocabularies
 * are loaded once from tests/data/vocab (HEARTH_FUZZ_VOCAB_DIR overrides the
 * folder); every input is tokenized by each of them with and without special
 * token parsing, then detokenized in one piece and streamed token by token.
 * Nothing may crash, read out of bounds, or stream broken UTF-8.
 */
#include "hearth/tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HEARTH_SOURCE_DIR
#define HEARTH_SOURCE_DIR "."
#endif

static const char *const VOCABS[] = {"llama-spm", "phi-3", "gpt-2", "deepseek-llm", "falcon", "bert-bge"};
#define N_VOCABS (sizeof VOCABS / sizeof VOCABS[0])
static hearth_vocab *vocabs[N_VOCABS];
static int loaded;

static void load_all(void) {
    const char *dir = getenv("HEARTH_FUZZ_VOCAB_DIR");
    char path[4096];
    for (size_t i = 0; i < N_VOCABS; i++) {
        if (dir) snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, VOCABS[i]);
        else snprintf(path, sizeof path, "%s/tests/data/vocab/ggml-vocab-%s.gguf", HEARTH_SOURCE_DIR, VOCABS[i]);
        if (hearth_vocab_load_file(path, &vocabs[i]) != HEARTH_OK) {
            fprintf(stderr, "fuzz_tokenize: %s\n", hearth_last_error());
            abort();
        }
    }
    loaded = 1;
}

/* length of the valid UTF-8 sequence at s (0 if invalid) */
static size_t utf8_len(const unsigned char *s, size_t n) {
    if (s[0] < 0x80) return 1;
    size_t len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return len;
}

static void check_utf8(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(u + i, n - i);
        if (!l) abort();   /* streamed text must always be whole UTF-8 */
        i += l;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!loaded) load_all();
    if (size > 4096) return 0;   /* long inputs add time, not coverage */
    for (size_t v = 0; v < N_VOCABS; v++) {
        for (int special = 0; special < 2; special++) {
            hearth_tokenize_params p = hearth_tokenize_default_params();
            p.parse_special = special;
            int32_t *ids = NULL;
            size_t n = 0;
            if (hearth_tokenize(vocabs[v], (const char *)data, size, &p, &ids, &n) != HEARTH_OK) continue;
            char *text = NULL;
            size_t len = 0;
            if (hearth_detokenize(vocabs[v], ids, n, false, special, &text, &len) == HEARTH_OK) free(text);
            hearth_detok *d = hearth_detok_create(vocabs[v], special);
            for (size_t i = 0; d && i < n; i++) {
                const char *out;
                size_t k = hearth_detok_push(d, ids[i], &out);
                check_utf8(out, k);
            }
            if (d) {
                const char *out;
                size_t k = hearth_detok_flush(d, &out);
                check_utf8(out, k);
            }
            hearth_detok_free(d);
            free(ids);
        }
    }
    return 0;
}
