/*
 * test_perplexity.c — perplexity at context 128 of the four F16 reference
 * models on gpl3.txt and zh3.txt within 0.5 % of llama.cpp's
 * (tests/data/reference/reference.json), through the library; the tokenizer's
 * ids for the reference greedy prompts equal the reference's; and the
 * `hearth perplexity` command prints the same figure (--json and text) and
 * fails clearly on bad input.
 */
#include "harness.h"

#include "golden_util.h"
#include "hearth/model.h"

#include <stdio.h>

static const char *const TEXTS[] = {"gpl3.txt", "zh3.txt"};

TEST(perplexity_matches_reference) {
    cJSON *ref = load_reference();
    CHECK(ref != NULL);
    if (!ref) return;
    double worst = 0;
    for (int i = 0; i < N_GOLDEN_MODELS; i++) {
        char path[512];
        snprintf(path, sizeof path, HEARTH_TEST_DATA "/models/%s", GOLDEN_MODELS[i]);
        hearth_model *m = NULL;
        CHECK_MSG(hearth_model_load(path, NULL, &m) == HEARTH_OK, "%s", hearth_last_error());
        if (!m) continue;
        const cJSON *e = cJSON_GetObjectItem(ref, GOLDEN_MODELS[i]);
        const hearth_vocab *v = hearth_model_vocab(m);
        hearth_tokenize_params tp = hearth_tokenize_default_params();
        /* the tokenizer gives the reference's prompt ids */
        const cJSON *greedy = cJSON_GetObjectItem(e, "greedy");
        for (int p = 0; p < cJSON_GetArraySize(greedy); p++) {
            const cJSON *g = cJSON_GetArrayItem(greedy, p);
            const char *prompt = cJSON_GetObjectItem(g, "prompt")->valuestring;
            int n;
            int32_t *want = json_ids(cJSON_GetObjectItem(g, "prompt_ids"), &n), *ids = NULL;
            size_t nids = 0;
            CHECK(hearth_tokenize(v, prompt, strlen(prompt), &tp, &ids, &nids) == HEARTH_OK);
            CHECK_MSG(nids == (size_t)n && memcmp(ids, want, nids * sizeof *ids) == 0, "%s \"%s\": prompt ids differ",
                      GOLDEN_MODELS[i], prompt);
            free(ids);
            free(want);
        }
        hearth_context_params cp = hearth_context_default_params();
        cp.n_ctx = 128;
        cp.n_threads = 2;
        hearth_context *c = NULL;
        CHECK(hearth_context_create(m, &cp, &c) == HEARTH_OK);
        for (int t = 0; c && t < 2; t++) {
            char tp_[512];
            snprintf(tp_, sizeof tp_, HEARTH_TEST_DATA "/reference/%s", TEXTS[t]);
            size_t len;
            char *text = harness_read(tp_, &len);
            int32_t *ids = NULL;
            size_t nids = 0;
            CHECK(text && hearth_tokenize(v, text, len, &tp, &ids, &nids) == HEARTH_OK);
            const cJSON *r = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "ppl"), TEXTS[t]);
            double want = cJSON_GetObjectItem(r, "ppl")->valuedouble;
            int want_chunks = cJSON_GetArraySize(cJSON_GetObjectItem(r, "chunks"));
            hearth_ppl_result res;
            CHECK_MSG(hearth_perplexity(c, ids, nids, 128, NULL, NULL, &res) == HEARTH_OK, "%s", hearth_last_error());
            double rel = fabs(res.ppl - want) / want;
            worst = rel > worst ? rel : worst;
            CHECK_MSG(rel <= 0.005, "%s %s: PPL %.4f, reference %.4f (%.3f%%)", GOLDEN_MODELS[i], TEXTS[t], res.ppl,
                      want, rel * 100);
            CHECK_EQ_INT(res.n_chunks, want_chunks);
            printf("  %-26s %-9s PPL %14.4f  reference %14.4f  (%.5f%%)\n", GOLDEN_MODELS[i], TEXTS[t], res.ppl, want,
                   rel * 100);
            free(ids);
            free(text);
        }
        hearth_context_free(c);
        hearth_model_free(m);
    }
    printf("  worst relative error %.5f%%\n", worst * 100);
    cJSON_Delete(ref);
}

TEST(perplexity_command) {
    cJSON *ref = load_reference();
    double want = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(ref, "licenses-llama-f16.gguf"), "ppl"), "gpl3.txt"), "ppl")->valuedouble;
    cJSON_Delete(ref);
    const char *M = HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf", *F = HEARTH_TEST_DATA "/reference/gpl3.txt";
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s perplexity -m %s -f %s -c 128 -t 2 --json 2>/dev/null", HEARTH_BIN, M, F);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    CHECK_MSG(j != NULL, "not JSON: %s", out ? out : "(none)");
    if (j) {
        CHECK_NEAR(cJSON_GetObjectItem(j, "ppl")->valuedouble, want, 0.005 * want);
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "chunks")->valueint, 36);
        CHECK(cJSON_GetObjectItem(j, "tokens")->valueint >= 36 * 128);
        cJSON_Delete(j);
    }
    free(out);
    out = NULL;
    /* text mode: progress on stderr, `PPL = x` last on stdout */
    snprintf(cmd, sizeof cmd, "%s perplexity -m %s -f %s -c 128 -t 2 2>&1", HEARTH_BIN, M, F);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK(out && strstr(out, "[36/36]") != NULL);
    const char *last = out ? strstr(out, "PPL = ") : NULL;
    CHECK(last != NULL);
    if (last) CHECK_NEAR(atof(last + 6), want, 0.005 * want);
    free(out);
    /* bad input: clear errors, non-zero exit */
    struct { const char *args, *says; } bad[] = {
        {"-m " HEARTH_TEST_DATA "/reference/gpl3.txt -f " HEARTH_TEST_DATA "/reference/gpl3.txt", "error"},
        {"-m /nonexistent.gguf -f " HEARTH_TEST_DATA "/reference/gpl3.txt", "nonexistent"},
        {"-m " HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf", "-f"},
        {"-m " HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf -f " HEARTH_TEST_DATA "/reference/gpl3.txt --bogus", "--bogus"},
        {"-m " HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf -f " HEARTH_TEST_DATA "/reference/zh3.txt -c 100000",
         "fewer than one chunk"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = NULL;
        snprintf(cmd, sizeof cmd, "%s perplexity %s 2>&1", HEARTH_BIN, bad[i].args);
        int rc = harness_run(cmd, &out);
        CHECK_MSG(rc != 0, "exit 0 for: %s", bad[i].args);
        CHECK_MSG(out && strstr(out, bad[i].says), "\"%s\" not in: %s", bad[i].says, out ? out : "");
        free(out);
    }
}

int main(void) {
    RUN(perplexity_matches_reference);
    RUN(perplexity_command);
    return harness_done();
}
