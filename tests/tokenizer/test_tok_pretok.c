/*
 * test_tok_pretok.c — every pre-tokenizer hearth knows builds (its regexes
 * compile) and splits as its pattern says: a synthetic byte-level vocab with
 * all 256 byte characters plus merges 1+2, 12+3, 123+4 shows where digit
 * runs are cut (\p{N}{1,3}, single \p{N}, whole runs, groups of three);
 * any text comes back unchanged through detokenize.
 */
#include "harness.h"

#include "hearth/gguf.h"
#include "hearth/tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_path[256];

/* GPT-2 byte -> character map, as UTF-8 */
static void byte_char(int b, char *out) {
    static int map[256];
    static int ready = 0;
    if (!ready) {
        int n = 0;
        for (int c = 0; c < 256; c++) {
            bool keep = (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
            map[c] = keep ? c : 256 + n++;
        }
        ready = 1;
    }
    int cp = map[b];
    if (cp < 0x80) { out[0] = (char)cp; out[1] = 0; }
    else { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); out[2] = 0; }
}

static hearth_vocab *make_vocab(const char *pre) {
    static char texts[259][8];
    const char *toks[259];
    for (int b = 0; b < 256; b++) {
        byte_char(b, texts[b]);
        toks[b] = texts[b];
    }
    toks[256] = "12";
    toks[257] = "123";
    toks[258] = "1234";
    const char *merges[] = {"1 2", "12 3", "123 4"};
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    hearth_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    hearth_gguf_set_str(w, "tokenizer.ggml.pre", pre);
    hearth_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 259);
    hearth_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 3);
    CHECK(hearth_gguf_writer_write(w, g_path) == HEARTH_OK);
    hearth_gguf_writer_free(w);
    hearth_vocab *v = NULL;
    hearth_status st = hearth_vocab_load_file(g_path, &v);
    CHECK_MSG(st == HEARTH_OK, "pre '%s': %s", pre, hearth_last_error());
    return v;
}

/* digits "1234" -> how many tokens, and whether "1234" stayed whole */
static size_t digit_tokens(const hearth_vocab *v, const char *s) {
    hearth_tokenize_params p = {.add_special = false, .parse_special = false};
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(hearth_tokenize(v, s, strlen(s), &p, &ids, &n) == HEARTH_OK);
    free(ids);
    return n;
}

TEST(every_pre_tokenizer) {
    static const struct {
        const char *name;
        size_t digits;   /* tokens for "1234", -1 = not checked */
    } pres[] = {
        {"default", 2},      {"gpt-2", 1},        {"phi-2", 1},        {"mpt", 1},         {"olmo", 1},
        {"jais", 1},         {"gpt-neox", 1},     {"roberta-bpe", 1},  {"llama3", 2},      {"llama-bpe", 2},
        {"dbrx", 2},         {"smaug-bpe", 2},    {"chatglm-bpe", 2},  {"qwen2", 4},       {"stablelm2", 4},
        {"deepseek-llm", 1}, {"deepseek-coder", 4}, {"deepseek-v3", 2}, {"falcon", 2},      {"starcoder", 4},
        {"refact", 4},       {"command-r", 4},    {"smollm", 4},       {"exaone", 4},      {"minerva-7b", 4},
        {"poro-chat", 1},    {"bloom", 1},        {"gpt3-finnish", 1}, {"viking", 4},      {"tekken", 4},
        {"chameleon", 4},    {"gpt-4o", 2},       {"codeshell", 4},
    };
    const char *text = "Hello, World! It's 1234 o'clock; naïve café — 你好 😀 \t\n  x  \r\n  end. ÀB ab'LL   ";
    for (size_t i = 0; i < sizeof pres / sizeof pres[0]; i++) {
        hearth_vocab *v = make_vocab(pres[i].name);
        if (!v) continue;
        size_t n = digit_tokens(v, "1234");
        CHECK_MSG(n == pres[i].digits, "pre '%s': \"1234\" gave %zu tokens, expected %zu", pres[i].name, n, pres[i].digits);
        hearth_tokenize_params p = {.add_special = false, .parse_special = false};
        int32_t *ids = NULL;
        size_t m = 0;
        CHECK(hearth_tokenize(v, text, strlen(text), &p, &ids, &m) == HEARTH_OK);
        char *back = NULL;
        size_t len = 0;
        CHECK(hearth_detokenize(v, ids, m, false, false, &back, &len) == HEARTH_OK);
        CHECK_MSG(back && strcmp(back, text) == 0, "pre '%s': round trip gave \"%s\"", pres[i].name, back ? back : "");
        free(back);
        free(ids);
        hearth_vocab_free(v);
    }
}

int main(void) {
    snprintf(g_path, sizeof g_path, "/tmp/hearth_tok_pretok_%d.gguf", (int)getpid());
    RUN(every_pre_tokenizer);
    unlink(g_path);
    return harness_done();
}
