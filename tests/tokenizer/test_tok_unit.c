/*
 * test_tok_unit.c — tokenizer behaviour a user relies on beyond the golden
 * vectors: special tokens (add_bos/add_eos, parse_special, user-defined
 * tokens), end-of-generation ids, pieces, streaming detokenization that
 * never splits a character, invalid UTF-8 input, and load errors.
 */
#include "harness.h"

#include "hearth/gguf.h"
#include "hearth/tokenizer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hearth_vocab *load(const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/vocab/ggml-vocab-%s.gguf", HEARTH_TEST_DATA, name);
    hearth_vocab *v = NULL;
    hearth_status st = hearth_vocab_load_file(p, &v);
    CHECK_MSG(st == HEARTH_OK, "%s: %s", p, hearth_last_error());
    return v;
}

static size_t tok(const hearth_vocab *v, const char *s, bool add, bool parse, int32_t **ids) {
    hearth_tokenize_params p = {.add_special = add, .parse_special = parse};
    size_t n = 0;
    *ids = NULL;
    hearth_status st = hearth_tokenize(v, s, strlen(s), &p, ids, &n);
    CHECK_MSG(st == HEARTH_OK, "tokenize \"%s\": %s", s, hearth_last_error());
    return n;
}

static bool contains(const int32_t *ids, size_t n, int32_t id) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

TEST(bos_eos_follow_the_metadata) {
    int32_t *ids;
    size_t n;
    hearth_vocab *v = load("llama-spm");   /* add_bos_token = true, add_eos_token = false */
    if (v) {
        CHECK(hearth_vocab_add_bos(v) && !hearth_vocab_add_eos(v));
        n = tok(v, "Hello", true, false, &ids);
        CHECK(n >= 2 && ids[0] == 1 && ids[n - 1] != 2);
        free(ids);
        n = tok(v, "Hello", false, false, &ids);
        CHECK(n >= 1 && ids[0] != 1);
        free(ids);
        n = tok(v, "", true, false, &ids);   /* empty text: just BOS */
        CHECK(n == 1 && ids[0] == 1);
        free(ids);
        hearth_vocab_free(v);
    }
    v = load("gpt-2");   /* no add_bos key: GPT-2 adds nothing */
    if (v) {
        CHECK(!hearth_vocab_add_bos(v));
        n = tok(v, "Hello", true, false, &ids);
        CHECK(n == 1 && ids[0] == 15496);
        free(ids);
        hearth_vocab_free(v);
    }
    v = load("deepseek-llm");   /* add_bos_token = true, BOS 100000 */
    if (v) {
        n = tok(v, "Hello", true, false, &ids);
        CHECK(n >= 2 && ids[0] == 100000 && hearth_vocab_bos(v) == 100000);
        free(ids);
        hearth_vocab_free(v);
    }
    v = load("bert-bge");   /* [CLS] ... [SEP] */
    if (v) {
        n = tok(v, "hello world", true, false, &ids);
        CHECK(n == 4 && ids[0] == 101 && ids[n - 1] == 102);
        CHECK_EQ_INT(hearth_vocab_cls(v), 101);
        CHECK_EQ_INT(hearth_vocab_sep(v), 102);
        CHECK_EQ_INT(hearth_vocab_unk(v), 100);
        free(ids);
        n = tok(v, "hello world", false, false, &ids);
        CHECK(n == 2 && !contains(ids, n, 101) && !contains(ids, n, 102));
        free(ids);
        hearth_vocab_free(v);
    }
}

TEST(parse_special) {
    int32_t *ids;
    size_t n;
    hearth_vocab *v = load("phi-3");
    if (!v) return;
    int32_t user = hearth_vocab_find(v, "<|user|>", 8), end = hearth_vocab_find(v, "<|end|>", 7);
    CHECK(user >= 0 && end >= 0);
    n = tok(v, "<|user|>\nHi there<|end|>", false, true, &ids);
    CHECK(n >= 3 && ids[0] == user && ids[n - 1] == end);
    free(ids);
    n = tok(v, "<|user|>\nHi there<|end|>", false, false, &ids);   /* as plain text */
    CHECK(!contains(ids, n, user) && !contains(ids, n, end) && n > 6);
    free(ids);
    /* longest text first: "<|endoftext|>" is not read as "<|end|>" + "oftext|>" */
    int32_t eot = hearth_vocab_find(v, "<|endoftext|>", 13);
    n = tok(v, "a<|endoftext|>b", false, true, &ids);
    CHECK(contains(ids, n, eot) && !contains(ids, n, end));
    free(ids);
    /* parse_special text round-trips when special tokens are rendered */
    n = tok(v, "<|user|>Hi<|end|>", false, true, &ids);
    char *text = NULL;
    size_t len = 0;
    CHECK(hearth_detokenize(v, ids, n, false, true, &text, &len) == HEARTH_OK);
    CHECK_STR(text, "<|user|>Hi<|end|>");
    free(text);
    CHECK(hearth_detokenize(v, ids, n, false, false, &text, &len) == HEARTH_OK);
    CHECK_STR(text, "Hi");
    free(text);
    free(ids);
    hearth_vocab_free(v);

    v = load("llama-spm");   /* "<s>" is BOS only when parsed */
    if (!v) return;
    n = tok(v, "<s>x", false, true, &ids);
    CHECK(n >= 2 && ids[0] == 1);
    free(ids);
    n = tok(v, "<s>x", false, false, &ids);
    CHECK(!contains(ids, n, 1));
    free(ids);
    hearth_vocab_free(v);
}

TEST(user_defined_tokens_always_split) {
    /* deepseek-llm marks single characters such as "ø" as user-defined
     * tokens: they are cut out even without parse_special */
    hearth_vocab *v = load("deepseek-llm");
    if (!v) return;
    int32_t o = hearth_vocab_find(v, "ø", strlen("ø"));
    CHECK(o >= 0 && hearth_vocab_token_type(v, o) == HEARTH_TOKEN_USER_DEFINED);
    int32_t *ids;
    size_t n = tok(v, "København og Ørsted: søster", false, false, &ids);
    CHECK(contains(ids, n, o));
    free(ids);
    hearth_vocab_free(v);
}

TEST(end_of_generation) {
    hearth_vocab *v = load("gpt-2");
    if (v) {
        CHECK(hearth_vocab_is_eog(v, 50256));
        CHECK(!hearth_vocab_is_eog(v, 15496));
        CHECK(!hearth_vocab_is_eog(v, -1) && !hearth_vocab_is_eog(v, 1 << 30));
        hearth_vocab_free(v);
    }
    v = load("llama-spm");
    if (v) {
        CHECK(hearth_vocab_is_eog(v, 2) && !hearth_vocab_is_eog(v, 1));
        CHECK_EQ_INT(hearth_vocab_eos(v), 2);
        hearth_vocab_free(v);
    }
    v = load("phi-3");   /* EOS <|endoftext|>, and <|end|> ends a turn */
    if (v) {
        int32_t end = hearth_vocab_find(v, "<|end|>", 7), asst = hearth_vocab_find(v, "<|assistant|>", 13);
        CHECK(hearth_vocab_is_eog(v, 32000) && hearth_vocab_is_eog(v, end) && !hearth_vocab_is_eog(v, asst));
        CHECK_EQ_INT(hearth_vocab_eot(v), end);
        hearth_vocab_free(v);
    }
}

TEST(pieces) {
    char buf[64];
    hearth_vocab *v = load("llama-spm");
    if (v) {
        int32_t nl = hearth_vocab_find(v, "<0x0A>", 6);
        CHECK(hearth_token_to_piece(v, nl, false, buf, sizeof buf) == 1 && buf[0] == '\n');
        CHECK_EQ_INT(hearth_token_to_piece(v, 15043, false, buf, sizeof buf), 6);   /* "▁Hello" -> " Hello" */
        CHECK(memcmp(buf, " Hello", 6) == 0);
        CHECK_EQ_INT(hearth_token_to_piece(v, 1, false, buf, sizeof buf), 0);      /* control, not rendered */
        CHECK_EQ_INT(hearth_token_to_piece(v, 1, true, buf, sizeof buf), 3);
        CHECK_EQ_INT(hearth_token_to_piece(v, 15043, false, buf, 2), 6);          /* size even when cut */
        CHECK_EQ_INT(hearth_token_to_piece(v, -1, false, buf, sizeof buf), -1);
        CHECK_EQ_INT(hearth_token_to_piece(v, 32000, false, buf, sizeof buf), -1);
        hearth_vocab_free(v);
    }
    v = load("gpt-2");
    if (v) {
        CHECK_EQ_INT(hearth_token_to_piece(v, 995, false, buf, sizeof buf), 6);   /* "Ġworld" */
        CHECK(memcmp(buf, " world", 6) == 0);
        hearth_vocab_free(v);
    }
}

TEST(streaming_never_splits_a_character) {
    hearth_vocab *v = load("llama-spm");
    if (!v) return;
    const char *s = "a😀b";   /* the emoji is not a token: four byte tokens */
    int32_t *ids;
    size_t n = tok(v, s, false, false, &ids);
    hearth_detok *d = hearth_detok_create(v, false);
    CHECK(d != NULL);
    char acc[64];
    size_t m = 0;
    int empty_pushes = 0;
    for (size_t i = 0; i < n && d; i++) {
        const char *o;
        size_t k = hearth_detok_push(d, ids[i], &o);
        if (k == 0) empty_pushes++;
        for (size_t j = 0; j < k; j++) CHECK((unsigned char)o[j] != 0xF0 || k >= j + 4);
        memcpy(acc + m, o, k);
        m += k;
    }
    acc[m] = 0;
    CHECK_STR(acc, s);
    CHECK(empty_pushes >= 3);   /* three of the four bytes were held back */
    hearth_detok_free(d);
    free(ids);

    /* an incomplete character at the end comes out as U+FFFD on flush */
    d = hearth_detok_create(v, false);
    int32_t f0 = hearth_vocab_find(v, "<0xF0>", 6);
    const char *o;
    CHECK_EQ_INT(hearth_detok_push(d, f0, &o), 0);
    CHECK_EQ_INT(hearth_detok_flush(d, &o), 3);
    CHECK(memcmp(o, "\xEF\xBF\xBD", 3) == 0);
    hearth_detok_free(d);
    hearth_detok_free(NULL);
    hearth_vocab_free(v);
}

TEST(invalid_utf8_does_not_crash) {
    const char *names[] = {"llama-spm", "phi-3", "gpt-2", "deepseek-llm", "falcon", "bert-bge"};
    static const char bad[][12] = {"\xFF\xFE", "a\xC3", "\xE4\xBD", "\xED\xA0\x80x", "\xF4\x90\x80\x80", "\x80\x80 \xC0\xAF",
                                   "\xF0\x9F\x98", "x\x00y"};
    for (int k = 0; k < 6; k++) {
        hearth_vocab *v = load(names[k]);
        if (!v) continue;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            size_t len = i == 7 ? 3 : strlen(bad[i]);
            int32_t *ids = NULL;
            size_t n = 0;
            hearth_tokenize_params p = hearth_tokenize_default_params();
            CHECK_MSG(hearth_tokenize(v, bad[i], len, &p, &ids, &n) == HEARTH_OK, "%s: %s", names[k], hearth_last_error());
            for (size_t j = 0; j < n; j++) CHECK(ids[j] >= 0 && ids[j] < hearth_vocab_n_tokens(v));
            /* the streamed text is valid UTF-8 whatever the ids were */
            hearth_detok *d = hearth_detok_create(v, true);
            for (size_t j = 0; j < n; j++) {
                const char *o;
                size_t m = hearth_detok_push(d, ids[j], &o);
                for (size_t q = 0; q < m; q++) CHECK((unsigned char)o[q] != 0xFF && (unsigned char)o[q] != 0xC0);
            }
            hearth_detok_free(d);
            free(ids);
        }
        hearth_vocab_free(v);
    }
}

/* random bytes and random mixes of ASCII and multi-byte characters: valid
 * ids, no crash; byte-level BPE gives back the text it was given (with
 * malformed bytes read as U+FFFD, as the reference does) */
TEST(random_text) {
    const char *names[] = {"llama-spm", "gpt-2", "deepseek-llm", "falcon", "bert-bge"};
    static const char *const pieces[] = {"a", " ", "  ", "\n", "\t", "é", "你", "😀", "'s", "1", "12345", "<s>", "ø", "\xE4", "\xFF", "\r\n", "\xC2\xA0"};
    uint32_t seed = 12345;
    for (int k = 0; k < 5; k++) {
        hearth_vocab *v = load(names[k]);
        if (!v) continue;
        for (int it = 0; it < 300; it++) {
            char s[256];
            size_t n = 0;
            int parts = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;
            for (int j = 0; j < parts; j++) {
                seed = seed * 1103515245u + 12345u;
                if (it % 3 == 0) {
                    s[n++] = (char)(seed >> 16);
                } else {
                    const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof *pieces)];
                    size_t m = strlen(p);
                    memcpy(s + n, p, m);
                    n += m;
                }
            }
            hearth_tokenize_params p = {.add_special = (it & 1) != 0, .parse_special = (it & 2) != 0};
            int32_t *ids = NULL;
            size_t n_ids = 0;
            CHECK(hearth_tokenize(v, s, n, &p, &ids, &n_ids) == HEARTH_OK);
            bool ok = true;
            for (size_t j = 0; j < n_ids; j++) ok = ok && ids[j] >= 0 && ids[j] < hearth_vocab_n_tokens(v);
            CHECK_MSG(ok, "%s: an id out of range", names[k]);
            /* (falcon has no token for some control bytes, which the reference drops) */
            if (hearth_vocab_get_kind(v) == HEARTH_VOCAB_BPE && strcmp(names[k], "falcon") != 0 && !p.add_special &&
                !p.parse_special) {
                /* expected: the text as the reference reads it — a lead byte with
                 * its continuation bytes is one code point (overlong forms
                 * included, re-encoded in the shortest form); anything else
                 * is U+FFFD */
                char want[1024];
                size_t w = 0;
                const unsigned char *u = (const unsigned char *)s;
                for (size_t i = 0; i < n;) {
                    unsigned c = u[i];
                    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
                    bool good = len > 0 && i + len <= n && (len == 1 || (c & 0x40));
                    for (size_t q = 1; good && q < len; q++) good = (u[i + q] & 0xC0) == 0x80;
                    uint32_t cp = 0xFFFD;
                    if (good) {
                        cp = len == 1 ? c : c & (0x7Fu >> len);
                        for (size_t q = 1; q < len; q++) cp = (cp << 6) | (u[i + q] & 0x3Fu);
                        if (cp >= 0x110000) good = false, cp = 0xFFFD;
                    }
                    i += good ? len : 1;
                    if (cp < 0x80) want[w++] = (char)cp;
                    else if (cp < 0x800) { want[w++] = (char)(0xC0 | (cp >> 6)); want[w++] = (char)(0x80 | (cp & 0x3F)); }
                    else if (cp < 0x10000) { want[w++] = (char)(0xE0 | (cp >> 12)); want[w++] = (char)(0x80 | ((cp >> 6) & 0x3F)); want[w++] = (char)(0x80 | (cp & 0x3F)); }
                    else { want[w++] = (char)(0xF0 | (cp >> 18)); want[w++] = (char)(0x80 | ((cp >> 12) & 0x3F)); want[w++] = (char)(0x80 | ((cp >> 6) & 0x3F)); want[w++] = (char)(0x80 | (cp & 0x3F)); }
                }
                char *text = NULL;
                size_t len = 0;
                CHECK(hearth_detokenize(v, ids, n_ids, false, false, &text, &len) == HEARTH_OK);
                CHECK_MSG(text && len == w && memcmp(text, want, w) == 0, "%s: round trip of random text %d", names[k], it);
                if (!(text && len == w && memcmp(text, want, w) == 0)) { for (size_t q = 0; q < n; q++) fprintf(stderr, "%02x ", (unsigned char)s[q]); fprintf(stderr, "\n"); for (size_t q = 0; q < len; q++) fprintf(stderr, "%02x ", (unsigned char)text[q]); fprintf(stderr, "\n"); }
                free(text);
            }
            free(ids);
        }
        hearth_vocab_free(v);
    }
}

/* one vocab used from several threads at once gives the same ids */
typedef struct th_arg {
    const hearth_vocab *v;
    const char *text;
    size_t n_ids;
    int32_t first, last;
    int ok;
} th_arg;

static void *th_run(void *p) {
    th_arg *a = p;
    hearth_tokenize_params tp = {.add_special = false, .parse_special = false};
    a->ok = 1;
    for (int r = 0; r < 20; r++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (hearth_tokenize(a->v, a->text, strlen(a->text), &tp, &ids, &n) != HEARTH_OK) a->ok = 0;
        if (r == 0) { a->n_ids = n; a->first = n ? ids[0] : -1; a->last = n ? ids[n - 1] : -1; }
        else if (n != a->n_ids || (n && (ids[0] != a->first || ids[n - 1] != a->last))) a->ok = 0;
        free(ids);
    }
    return NULL;
}

TEST(shared_between_threads) {
    const char *names[] = {"deepseek-llm", "llama-spm"};
    const char *text = "大型语言模型 Hello world! 1234567 naïve café\n\n  def f(x): return x  # 注释 😀";
    for (int k = 0; k < 2; k++) {
        hearth_vocab *v = load(names[k]);
        if (!v) continue;
        th_arg a[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            a[i] = (th_arg){v, text, 0, 0, 0, 0};
            CHECK(pthread_create(&t[i], NULL, th_run, &a[i]) == 0);
        }
        for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
        for (int i = 0; i < 4; i++) {
            CHECK(a[i].ok);
            CHECK(a[i].n_ids == a[0].n_ids && a[i].first == a[0].first && a[i].last == a[0].last);
        }
        hearth_vocab_free(v);
    }
}

TEST(load_errors_are_clear) {
    hearth_vocab *v = NULL;
    CHECK(hearth_vocab_load_file("/nonexistent/x.gguf", &v) != HEARTH_OK && v == NULL);
    CHECK(strstr(hearth_last_error(), "/nonexistent/x.gguf") != NULL);
    hearth_vocab_free(NULL);

    /* a BPE vocab with a pre-tokenizer hearth does not know */
    char path[256];
    snprintf(path, sizeof path, "/tmp/hearth_tok_unit_%d.gguf", (int)getpid());
    hearth_gguf_writer *w = hearth_gguf_writer_create();
    const char *toks[] = {"a", "b", "ab"};
    const char *merges[] = {"a b"};
    CHECK(w != NULL);
    if (!w) return;
    hearth_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    hearth_gguf_set_str(w, "tokenizer.ggml.pre", "no-such-pre");
    hearth_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
    hearth_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 1);
    CHECK(hearth_gguf_writer_write(w, path) == HEARTH_OK);
    CHECK(hearth_vocab_load_file(path, &v) == HEARTH_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(hearth_last_error(), "no-such-pre") != NULL, "%s", hearth_last_error());
    /* the same with a known pre-tokenizer works, and merges apply */
    hearth_gguf_set_str(w, "tokenizer.ggml.pre", "gpt-2");
    CHECK(hearth_gguf_writer_write(w, path) == HEARTH_OK);
    CHECK(hearth_vocab_load_file(path, &v) == HEARTH_OK);
    if (v) {
        int32_t *ids;
        size_t n = tok(v, "abab", false, false, &ids);
        CHECK(n == 2 && ids[0] == 2 && ids[1] == 2);
        free(ids);
        hearth_vocab_free(v);
    }
    /* no tokenizer at all */
    hearth_gguf_writer_free(w);
    w = hearth_gguf_writer_create();
    hearth_gguf_set_str(w, "general.name", "empty");
    CHECK(hearth_gguf_writer_write(w, path) == HEARTH_OK);
    CHECK(hearth_vocab_load_file(path, &v) == HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "tokenizer.ggml.model") != NULL);
    hearth_gguf_writer_free(w);
    unlink(path);
}

int main(void) {
    RUN(bos_eos_follow_the_metadata);
    RUN(parse_special);
    RUN(user_defined_tokens_always_split);
    RUN(end_of_generation);
    RUN(pieces);
    RUN(streaming_never_splits_a_character);
    RUN(invalid_utf8_does_not_crash);
    RUN(random_text);
    RUN(shared_between_threads);
    RUN(load_errors_are_clear);
    return harness_done();
}
