/*
 * test_vectors.c — golden: every llama.cpp tokenizer test vector in
 * tests/data/vocab (6 vocabularies x {base, .zh} sets) is reproduced
 * exactly (no BOS/EOS, special tokens not parsed); and, where the tokenizer
 * is lossless (BPE always, SPM up to its leading-space rule), detokenizing
 * gives back the input, also through the streaming detokenizer, whose
 * every chunk is valid UTF-8.
 */
#include "harness.h"
#include "vectors.h"

#include "hearth/tokenizer.h"

#include <stdlib.h>
#include <string.h>

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* strict UTF-8 validity */
static bool valid_utf8(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) k = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) k = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) k = 4, cp = c & 0x07;
        else return false;
        if (i + k > n) return false;
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += k;
    }
    return true;
}

static int g_total_pass, g_total;

static void run_set(const char *vocab_name, const char *base) {
    char vp[1024], ip[1024], op[1024];
    snprintf(vp, sizeof vp, "%s/vocab/%s", HEARTH_TEST_DATA, vocab_name);
    snprintf(ip, sizeof ip, "%s/vocab/%s.inp", HEARTH_TEST_DATA, base);
    snprintf(op, sizeof op, "%s/vocab/%s.out", HEARTH_TEST_DATA, base);
    hearth_vocab *v = NULL;
    hearth_status st = hearth_vocab_load_file(vp, &v);
    CHECK_MSG(st == HEARTH_OK, "%s: %s", vp, hearth_last_error());
    if (st != HEARTH_OK) return;
    vec_case *cases = NULL;
    int n = vectors_load(ip, op, &cases);
    CHECK_MSG(n > 0, "%s: no test cases", ip);
    hearth_tokenize_params p = hearth_tokenize_default_params();
    p.add_special = false;
    p.parse_special = false;
    int pass = 0, rt_pass = 0, rt_total = 0;
    hearth_vocab_kind kind = hearth_vocab_get_kind(v);
    for (int i = 0; i < n; i++) {
        int32_t *ids = NULL;
        size_t n_ids = 0;
        st = hearth_tokenize(v, cases[i].text, cases[i].len, &p, &ids, &n_ids);
        CHECK_MSG(st == HEARTH_OK, "%s case %d: %s", base, i, hearth_last_error());
        bool same = st == HEARTH_OK && n_ids == cases[i].n_ids &&
                    (n_ids == 0 || memcmp(ids, cases[i].ids, n_ids * sizeof(int32_t)) == 0);
        CHECK_MSG(same, "%s case %d: token ids differ for \"%s\"", base, i, cases[i].text);
        if (!same) {
            print_ids("expected", cases[i].ids, cases[i].n_ids);
            print_ids("got     ", ids, n_ids);
        } else {
            pass++;
        }
        /* round trip (lossless tokenizers only) */
        if (kind != HEARTH_VOCAB_WPM && st == HEARTH_OK) {
            bool valid = valid_utf8(cases[i].text, cases[i].len);
            rt_total++;
            char *text = NULL;
            size_t len = 0;
            st = hearth_detokenize(v, ids, n_ids, false, false, &text, &len);
            CHECK_MSG(st == HEARTH_OK, "%s", hearth_last_error());
            bool ok = st == HEARTH_OK && len == cases[i].len && memcmp(text, cases[i].text, len) == 0;
            CHECK_MSG(ok || !valid, "%s case %d: detokenize gives \"%s\", expected \"%s\"", base, i, text ? text : "",
                      cases[i].text);
            free(text);
            /* streaming */
            hearth_detok *d = hearth_detok_create(v, false);
            CHECK(d != NULL);
            size_t cap = cases[i].len * 3 + 16, m = 0;
            char *acc = malloc(cap);
            bool chunks_valid = true;
            for (size_t k = 0; k < n_ids && d; k++) {
                const char *o;
                size_t on = hearth_detok_push(d, ids[k], &o);
                if (!valid_utf8(o, on)) chunks_valid = false;
                if (m + on <= cap) memcpy(acc + m, o, on);
                m += on;
            }
            if (d) {
                const char *o;
                size_t on = hearth_detok_flush(d, &o);
                if (!valid_utf8(o, on)) chunks_valid = false;
                if (m + on <= cap) memcpy(acc + m, o, on);
                m += on;
            }
            CHECK_MSG(chunks_valid, "%s case %d: a streamed chunk is not valid UTF-8", base, i);
            bool sok = m == cases[i].len && memcmp(acc, cases[i].text, m) == 0;
            CHECK_MSG(sok || !valid, "%s case %d: streaming detokenize differs from the input", base, i);
            if (ok && sok) rt_pass++;
            free(acc);
            hearth_detok_free(d);
        }
        free(ids);
    }
    printf("%-34s %3d/%3d vectors exact", base, pass, n);
    if (kind != HEARTH_VOCAB_WPM) printf(", round trip %d/%d", rt_pass, rt_total);
    printf("\n");
    g_total_pass += pass;
    g_total += n;
    vectors_free(cases, n);
    hearth_vocab_free(v);
}

TEST(all_vector_sets) {
    for (int s = 0; s < 12; s++) run_set(k_vector_sets[s][0], k_vector_sets[s][1]);
    printf("total: %d/%d vectors exact\n", g_total_pass, g_total);
}

int main(void) {
    RUN(all_vector_sets);
    return harness_done();
}
