/*
 * test_generate.c — the generation loop on a real model
 * (tests/data/models/licenses-llama-f16.gguf, trained on licence texts):
 * greedy output against the reference engine's, max_tokens, EOS handling,
 * stop strings, streaming, context limits, KV-cache reuse, cancellation.
 */
#include "harness.h"
#include "hearth/generate.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"

static hearth_model *model;

static hearth_context *new_ctx(int32_t n_ctx) {
    hearth_context_params cp = hearth_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_threads = 2;
    hearth_context *c = NULL;
    if (hearth_context_create(model, &cp, &c) != HEARTH_OK) fprintf(stderr, "context: %s\n", hearth_last_error());
    return c;
}

static hearth_generate_params greedy(int32_t max_tokens) {
    hearth_generate_params p = hearth_generate_default_params();
    p.sampling.temp = 0.0f;
    p.max_tokens = max_tokens;
    return p;
}

/* ---- streaming capture -------------------------------------------------- */
typedef struct capture {
    char s[16384];
    size_t n;
    int pieces;
    int stop_after;   /* > 0: return false after this many pieces */
    bool bad_utf8;
} capture;

static bool utf8_whole(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return true;
}

static bool on_text(const char *t, size_t n, void *user) {
    capture *c = user;
    if (!utf8_whole(t, n)) c->bad_utf8 = true;
    if (c->n + n < sizeof c->s) {
        memcpy(c->s + c->n, t, n);
        c->n += n;
        c->s[c->n] = 0;
    }
    c->pieces++;
    return !(c->stop_after > 0 && c->pieces >= c->stop_after);
}

/* ---- tests -------------------------------------------------------------- */

TEST(greedy_matches_reference) {
    char *text = harness_read(HEARTH_TEST_DATA "/reference/reference.json", NULL);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *cases = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "licenses-llama-f16.gguf"), "greedy");
    CHECK(cJSON_GetArraySize(cases) >= 1);
    hearth_context *ctx = new_ctx(0);
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(c, "prompt"));
        const cJSON *pids = cJSON_GetObjectItem(c, "prompt_ids"), *ids = cJSON_GetObjectItem(c, "ids"),
                    *gaps = cJSON_GetObjectItem(c, "gaps");
        int n = cJSON_GetArraySize(ids);
        hearth_generate_params p = greedy(n);
        p.ignore_eos = true;   /* the reference did not stop at EOS */
        hearth_generation g;
        CHECK_EQ_INT(hearth_generate(ctx, model, prompt, strlen(prompt), &p, &g), HEARTH_OK);
        CHECK_EQ_INT(g.n_prompt, cJSON_GetArraySize(pids));
        for (int i = 0; i < cJSON_GetArraySize(pids) && i < (int)g.n_prompt; i++)
            CHECK_EQ_INT(g.prompt_ids[i], cJSON_GetArrayItem(pids, i)->valueint);
        CHECK_EQ_INT(g.n_ids, n);
        /* identical up to the first near-tie (gap < 0.05), where either token may win */
        int compared = 0;
        for (int i = 0; i < n && i < (int)g.n_ids; i++) {
            if (cJSON_GetArrayItem(gaps, i)->valuedouble < 0.05) break;
            CHECK_MSG(g.ids[i] == cJSON_GetArrayItem(ids, i)->valueint, "'%s' step %d: %d vs reference %d", prompt, i,
                      (int)g.ids[i], cJSON_GetArrayItem(ids, i)->valueint);
            compared++;
        }
        CHECK(compared >= 10);
        CHECK_STR(hearth_stop_reason_str(g.stop_reason), "length");
        hearth_generation_clear(&g);
    }
    hearth_context_free(ctx);
    cJSON_Delete(doc);
}

TEST(readable_greedy_continuation) {
    hearth_context *ctx = new_ctx(0);
    hearth_generate_params p = greedy(40);
    hearth_generation g;
    const char *prompt = "GNU GENERAL PUBLIC LICENSE";
    CHECK_EQ_INT(hearth_generate(ctx, model, prompt, strlen(prompt), &p, &g), HEARTH_OK);
    /* the model knows the GPL-3 header nearly by heart */
    CHECK_MSG(strstr(g.text, "Version 3") != NULL, "text: %s", g.text);
    hearth_generation_clear(&g);
    hearth_context_free(ctx);
}

TEST(max_tokens_and_streaming) {
    hearth_context *ctx = new_ctx(0);
    const char *prompts[] = {"This License", "\xe5\xa4\xa7\xe5\x9e\x8b\xe8\xaf\xad\xe8\xa8\x80\xe6\xa8\xa1\xe5\x9e\x8b"};
    for (int k = 0; k < 2; k++) {
        capture cap = {{0}, 0, 0, 0, false};
        hearth_generate_params p = hearth_generate_default_params();
        p.sampling.seed = 99;
        p.sampling.temp = 1.2f;   /* wander into odd tokens, byte pieces included */
        p.sampling.top_k = 0;
        p.sampling.top_p = 1.0f;
        p.sampling.min_p = 0.0f;
        p.max_tokens = 48;
        p.ignore_eos = true;
        p.on_text = on_text;
        p.user = &cap;
        hearth_generation g;
        CHECK_EQ_INT(hearth_generate(ctx, model, prompts[k], strlen(prompts[k]), &p, &g), HEARTH_OK);
        CHECK_EQ_INT(g.n_ids, 48);
        CHECK_STR(hearth_stop_reason_str(g.stop_reason), "length");
        CHECK_EQ_INT(cap.n, g.text_len);
        CHECK(memcmp(cap.s, g.text, g.text_len) == 0);
        CHECK(!cap.bad_utf8);
        CHECK(g.text_len > 0);
        for (size_t i = 0; i < g.n_ids; i++) CHECK(g.logprobs[i] <= 0.0f);
        hearth_generation_clear(&g);
    }
    hearth_context_free(ctx);
}

TEST(stop_string_cuts_text) {
    hearth_context *ctx = new_ctx(0);
    const char *prompt = "GNU GENERAL PUBLIC LICENSE";
    hearth_generate_params p = greedy(40);
    hearth_generation full;
    CHECK_EQ_INT(hearth_generate(ctx, model, prompt, strlen(prompt), &p, &full), HEARTH_OK);
    CHECK(full.text_len > 20);
    if (full.text_len <= 20) return;
    /* a stop string taken from the middle of the unrestricted output */
    char stop[8];
    memcpy(stop, full.text + 15, 5);
    stop[5] = 0;
    const char *cut = strstr(full.text, stop);
    const char *stops[] = {"never-appears-zzz", stop};
    capture cap = {{0}, 0, 0, 0, false};
    p.stop = stops;
    p.n_stop = 2;
    p.on_text = on_text;
    p.user = &cap;
    hearth_generation g;
    CHECK_EQ_INT(hearth_generate(ctx, model, prompt, strlen(prompt), &p, &g), HEARTH_OK);
    CHECK_STR(hearth_stop_reason_str(g.stop_reason), "stop");
    CHECK_EQ_INT(g.text_len, (size_t)(cut - full.text));
    CHECK(memcmp(g.text, full.text, g.text_len) == 0);
    CHECK(strstr(g.text, stop) == NULL);
    CHECK_EQ_INT(cap.n, g.text_len);   /* the stop string was never streamed */
    CHECK(g.n_ids < full.n_ids);
    hearth_generation_clear(&g);
    hearth_generation_clear(&full);
    hearth_context_free(ctx);
}

TEST(eos_stops_unless_ignored) {
    hearth_context *ctx = new_ctx(0);
    const hearth_vocab *v = hearth_model_vocab(model);
    int32_t eos = hearth_vocab_eos(v);
    CHECK(eos >= 0);
    hearth_logit_bias force = {eos, 100.0f};   /* make EOS the only likely token */
    hearth_generate_params p = greedy(6);
    p.sampling.logit_bias = &force;
    p.sampling.n_logit_bias = 1;
    hearth_generation g;
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &g), HEARTH_OK);
    CHECK_STR(hearth_stop_reason_str(g.stop_reason), "eos");
    CHECK_EQ_INT(g.n_ids, 1);
    CHECK_EQ_INT(g.ids[0], eos);
    CHECK_EQ_INT(g.text_len, 0);
    hearth_generation_clear(&g);
    p.ignore_eos = true;
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &g), HEARTH_OK);
    CHECK_STR(hearth_stop_reason_str(g.stop_reason), "length");
    CHECK_EQ_INT(g.n_ids, 6);
    hearth_generation_clear(&g);
    hearth_context_free(ctx);
}

TEST(context_limits) {
    hearth_context *ctx = new_ctx(16);
    const char *long_prompt = "This License applies to any program or other work which contains a notice placed by "
                              "the copyright holder saying it may be distributed under the terms of this License.";
    hearth_generate_params p = greedy(8);
    hearth_generation g;
    CHECK_EQ_INT(hearth_generate(ctx, model, long_prompt, strlen(long_prompt), &p, &g), HEARTH_ERR_RANGE);
    CHECK_MSG(strstr(hearth_last_error(), "context is 16") && strstr(hearth_last_error(), "prompt is "), "message: %s",
              hearth_last_error());
    CHECK(g.ids == NULL && g.text == NULL);
    /* a short prompt with no token limit runs until the context is full */
    p.max_tokens = -1;
    p.ignore_eos = true;
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &g), HEARTH_OK);
    CHECK_STR(hearth_stop_reason_str(g.stop_reason), "length");
    CHECK_EQ_INT(g.n_prompt + g.n_ids, 16 + 1);   /* the last token is sampled, never decoded */
    hearth_generation_clear(&g);
    CHECK_EQ_INT(hearth_generate(ctx, model, "", 0, &p, &g), HEARTH_OK);   /* BOS alone is a prompt */
    hearth_generation_clear(&g);
    hearth_context_free(ctx);
}

TEST(seeded_sampling_reproducible) {
    hearth_context *ctx = new_ctx(0);
    hearth_generate_params p = hearth_generate_default_params();
    p.sampling.temp = 1.5f;
    p.max_tokens = 24;
    p.ignore_eos = true;
    hearth_generation a, b, c;
    p.sampling.seed = 1234;
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &a), HEARTH_OK);
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &b), HEARTH_OK);
    p.sampling.seed = 4321;
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &c), HEARTH_OK);
    CHECK(a.n_ids == b.n_ids && memcmp(a.ids, b.ids, a.n_ids * sizeof *a.ids) == 0);
    CHECK_STR(a.text, b.text);
    CHECK(a.n_ids != c.n_ids || memcmp(a.ids, c.ids, a.n_ids * sizeof *a.ids) != 0);
    hearth_generation_clear(&a);
    hearth_generation_clear(&b);
    hearth_generation_clear(&c);
    hearth_context_free(ctx);
}

TEST(kv_reuse_matches_fresh_prefill) {
    hearth_context *ctx = new_ctx(0), *fresh = new_ctx(0);
    hearth_generate_params p = greedy(12);
    hearth_generation t1;
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &t1), HEARTH_OK);
    /* second turn: the first prompt, its reply and some new text */
    int32_t ids[128];
    size_t n = 0;
    for (size_t i = 0; i < t1.n_prompt; i++) ids[n++] = t1.prompt_ids[i];
    for (size_t i = 0; i < t1.n_ids; i++) ids[n++] = t1.ids[i];
    int32_t *more = NULL;
    size_t n_more = 0;
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    tp.add_special = false;
    CHECK_EQ_INT(hearth_tokenize(hearth_model_vocab(model), " You may convey", 15, &tp, &more, &n_more), HEARTH_OK);
    for (size_t i = 0; i < n_more; i++) ids[n++] = more[i];
    free(more);
    int32_t cached = hearth_context_n_past(ctx);
    CHECK_EQ_INT(cached, t1.n_prompt + t1.n_ids - 1);
    hearth_generation a, b;
    p.n_reuse = cached;
    CHECK_EQ_INT(hearth_generate_ids(ctx, model, ids, n, &p, &a), HEARTH_OK);
    CHECK_EQ_INT(a.n_prefilled, (int32_t)n - cached);
    p.n_reuse = 0;
    CHECK_EQ_INT(hearth_generate_ids(fresh, model, ids, n, &p, &b), HEARTH_OK);
    CHECK_EQ_INT(b.n_prefilled, n);
    CHECK(a.n_ids == b.n_ids && memcmp(a.ids, b.ids, a.n_ids * sizeof *a.ids) == 0);
    hearth_generation_clear(&t1);
    hearth_generation_clear(&a);
    hearth_generation_clear(&b);
    hearth_context_free(ctx);
    hearth_context_free(fresh);
}

TEST(cancel_stops_early) {
    hearth_context *ctx = new_ctx(0);
    capture cap = {{0}, 0, 0, 3, false};
    hearth_generate_params p = greedy(40);
    p.ignore_eos = true;
    p.on_text = on_text;
    p.user = &cap;
    hearth_generation g;
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &g), HEARTH_OK);
    CHECK_STR(hearth_stop_reason_str(g.stop_reason), "cancelled");
    CHECK(g.n_ids < 40);
    CHECK_EQ_INT(cap.pieces, 3);
    hearth_generation_clear(&g);
    volatile int flag = 1;
    p.on_text = NULL;
    p.cancel = &flag;
    CHECK_EQ_INT(hearth_generate(ctx, model, "This License", 12, &p, &g), HEARTH_OK);
    CHECK_STR(hearth_stop_reason_str(g.stop_reason), "cancelled");
    CHECK_EQ_INT(g.n_ids, 0);
    hearth_generation_clear(&g);
    hearth_context_free(ctx);
}

TEST(chat_format_detection) {
    /* the licences model has no chat template: alpaca, the documented fallback */
    hearth_chat_format f = hearth_chat_format_detect(model);
    CHECK_STR(hearth_chat_format_name(f.kind), "alpaca");
    /* the reference templates are recognised by their text */
    static const struct { const char *file, *name; } T[] = {
        {"Qwen-Qwen2.5-7B-Instruct.json", "chatml"},
        {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.json", "chatml"},
        {"meta-llama-Llama-3.1-8B-Instruct.json", "llama3.1"},
        {"google-gemma-2-2b-it.json", "gemma"},
        {"microsoft-Phi-3.5-mini-instruct.json", "phi3"},
        {"mistralai-Mistral-Nemo-Instruct-2407.json", "mistral"},
        {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.json", "deepseek-r1"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/templates/%s", HEARTH_TEST_DATA, T[i].file);
        char *text = harness_read(path, NULL);
        cJSON *doc = text ? cJSON_Parse(text) : NULL;
        free(text);
        const char *tmpl = cJSON_GetStringValue(cJSON_GetObjectItem(doc, "template"));
        CHECK_MSG(tmpl != NULL, "%s", path);
        hearth_chat_format d = hearth_chat_format_detect_template(tmpl, NULL);
        CHECK_MSG(strcmp(hearth_chat_format_name(d.kind), T[i].name) == 0, "%s: %s, expected %s", T[i].file,
                  hearth_chat_format_name(d.kind), T[i].name);
        cJSON_Delete(doc);
    }
    /* a rendered conversation tokenizes with exactly one BOS */
    hearth_chat_format l2;
    hearth_chat_format_from_name("llama2", &l2);
    hearth_chat_message m[] = {{"user", "Hi"}};
    char *text = NULL;
    CHECK_EQ_INT(hearth_chat_format_apply(&l2, m, 1, true, &text), HEARTH_OK);
    int32_t *ids = NULL;
    size_t n = 0;
    const hearth_vocab *v = hearth_model_vocab(model);
    CHECK_EQ_INT(hearth_chat_tokenize(v, text, &ids, &n), HEARTH_OK);
    int n_bos = 0;
    for (size_t i = 0; i < n; i++) n_bos += ids[i] == hearth_vocab_bos(v);
    CHECK(n > 0 && ids[0] == hearth_vocab_bos(v));
    CHECK_EQ_INT(n_bos, 1);
    free(ids);
    free(text);
}

int main(void) {
    hearth_status st = hearth_model_load(MODEL, NULL, &model);
    if (st != HEARTH_OK) {
        fprintf(stderr, "cannot load %s: %s\n", MODEL, hearth_last_error());
        return 1;
    }
    RUN(greedy_matches_reference);
    RUN(readable_greedy_continuation);
    RUN(max_tokens_and_streaming);
    RUN(stop_string_cuts_text);
    RUN(eos_stops_unless_ignored);
    RUN(context_limits);
    RUN(seeded_sampling_reproducible);
    RUN(kv_reuse_matches_fresh_prefill);
    RUN(cancel_stops_early);
    RUN(chat_format_detection);
    hearth_model_free(model);
    return harness_done();
}
