/*
 * runner.c — runs a rendered prompt on a model: the chat policy turns the
 * messages into the model's prompt, sampling settings are read as the server
 * reads a chat completion, an output schema becomes a grammar constraint,
 * and a chain-of-thought reply is split into reasoning and answer.
 */
#include "library_internal.h"

#include "hearth/chat.h"
#include "hearth/core.h"
#include "hearth/grammar.h"

#include <stdlib.h>
#include <string.h>

struct hearth_prompt_runner {
    const hearth_model *model;
    hearth_context *ctx;
    hearth_chat_policy *policy;
    hearth_grammar_vocab *gvocab;   /* made on the first schema */
    hearth_prompt_runner_params p;
};

hearth_prompt_runner_params hearth_prompt_runner_default_params(void) {
    hearth_prompt_runner_params p = {0, 0, -1, -1.0f, 0};
    return p;
}

hearth_status hearth_prompt_runner_create(const hearth_model *m, const hearth_prompt_runner_params *p,
                                          hearth_prompt_runner **out) {
    *out = NULL;
    hearth_prompt_runner *r = calloc(1, sizeof *r);
    if (!r) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    r->model = m;
    r->p = p ? *p : hearth_prompt_runner_default_params();
    hearth_context_params cp = hearth_context_default_params();
    int32_t train = hearth_model_n_ctx_train(m);
    cp.n_ctx = r->p.n_ctx > 0 ? r->p.n_ctx : train > 0 && train < 4096 ? train : 4096;
    cp.n_threads = r->p.n_threads;
    hearth_status st = hearth_context_create(m, &cp, &r->ctx);
    if (!st) st = hearth_chat_policy_create(m, NULL, &r->policy);
    if (st) {
        hearth_prompt_runner_free(r);
        return st;
    }
    *out = r;
    return HEARTH_OK;
}

void hearth_prompt_runner_free(hearth_prompt_runner *r) {
    if (!r) return;
    hearth_context_free(r->ctx);
    hearth_chat_policy_free(r->policy);
    hearth_grammar_vocab_free(r->gvocab);
    free(r);
}

void hearth_prompt_output_clear(hearth_prompt_output *o) {
    if (!o) return;
    free(o->text);
    free(o->reasoning);
    free(o->answer);
    memset(o, 0, sizeof *o);
}

static double num(const cJSON *o, const char *k, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

hearth_status hearth_prompt_runner_run(hearth_prompt_runner *r, const char *rendered, hearth_text_fn on_text,
                                       void *user, hearth_prompt_output *out) {
    memset(out, 0, sizeof *out);
    cJSON *j = cJSON_Parse(rendered);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    if (!cJSON_IsArray(msgs)) {
        cJSON_Delete(j);
        return hearth_set_error(HEARTH_ERR_FORMAT, "not a rendered prompt (no messages)");
    }
    int n = cJSON_GetArraySize(msgs);
    hearth_chat_message *cm = calloc((size_t)n + 1, sizeof *cm);
    const char *stops[16];
    size_t n_stop = 0;
    char *text = NULL;
    hearth_grammar *g = NULL;
    hearth_constraint *c = NULL;
    hearth_generation gen = {0};
    int32_t *ids = NULL;
    size_t n_ids = 0;
    hearth_status st = HEARTH_OK;
    if (!cm) {
        st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
        goto done;
    }
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role"), *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content)) {
            st = hearth_set_error(HEARTH_ERR_FORMAT, "messages[%d]: needs string role and content", i);
            goto done;
        }
        cm[i].role = role->valuestring;
        cm[i++].content = content->valuestring;
    }
    if ((st = hearth_chat_policy_render(r->policy, cm, (size_t)n, true, &text, NULL))) goto done;
    /* sampling as a chat completion reads it */
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "sampling");
    hearth_generate_params gp = hearth_generate_default_params();
    hearth_sampler_params sp = hearth_sampler_default_params();
    sp.temp = (float)num(s, "temperature", r->p.temperature >= 0 ? r->p.temperature : 1.0);
    sp.top_p = (float)num(s, "top_p", 1.0);
    if (sp.top_p <= 0) sp.top_p = 1e-6f;
    sp.top_k = 0;
    sp.min_p = 0;
    sp.presence_penalty = (float)num(s, "presence_penalty", 0);
    sp.frequency_penalty = (float)num(s, "frequency_penalty", 0);
    sp.repeat_last_n = -1;
    double seed = num(s, "seed", (double)r->p.seed);
    sp.seed = seed < 0 ? HEARTH_SEED_RANDOM : (uint64_t)seed;
    gp.sampling = sp;
    gp.max_tokens = (int32_t)num(s, "max_tokens", r->p.max_tokens > 0 ? r->p.max_tokens : 256);
    for (const char *const *ps = hearth_chat_policy_stops(r->policy); *ps && n_stop < 8; ps++) stops[n_stop++] = *ps;
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(s, "stop"), *x;
    if (cJSON_IsString(stop)) stops[n_stop++] = stop->valuestring;
    if (cJSON_IsArray(stop))
        cJSON_ArrayForEach(x, stop) if (cJSON_IsString(x) && n_stop < 16) stops[n_stop++] = x->valuestring;
    gp.stop = stops;
    gp.n_stop = n_stop;
    gp.on_text = on_text;
    gp.user = user;
    /* an output schema: decoding constrained to it */
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "response_format"), "json_schema"), "schema");
    if (schema) {
        char *stxt = cJSON_PrintUnformatted(schema);
        st = stxt ? hearth_grammar_from_schema(stxt, strlen(stxt), &g) : HEARTH_ERR_NOMEM;
        free(stxt);
        if (!st && !r->gvocab) st = hearth_grammar_vocab_from(hearth_model_vocab(r->model), &r->gvocab);
        if (!st) st = hearth_grammar_constraint_vocab(g, r->gvocab, &c);
        if (st) goto done;
        gp.constraint = c;
    }
    double t0 = hearth_time_s();
    if ((st = hearth_chat_tokenize(hearth_model_vocab(r->model), text, &ids, &n_ids)) ||
        (st = hearth_generate_ids(r->ctx, r->model, ids, n_ids, &gp, &gen)))
        goto done;
    out->latency_ms = (hearth_time_s() - t0) * 1000.0;
    out->n_prompt = (int32_t)gen.n_prompt;
    out->n_generated = (int32_t)gen.n_ids;
    out->stop = gen.stop_reason;
    out->text = strdup(gen.text);
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(j, "reasoning");
    if (!out->text) st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    else if (cJSON_IsString(tag)) st = hearth_prompt_split_reasoning(out->text, tag->valuestring, &out->reasoning, &out->answer);
    else if (!(out->reasoning = strdup("")) || !(out->answer = strdup(out->text)))
        st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
done:
    if (st) hearth_prompt_output_clear(out);
    hearth_generation_clear(&gen);
    hearth_constraint_free(c);
    hearth_grammar_free(g);
    free(text);
    free(ids);
    free(cm);
    cJSON_Delete(j);
    return st;
}
