/*
 * answer.c — answers with sources: retrieve, render the numbered context
 * into the model's chat template, generate, and note which sources the
 * answer cites ([1], [2] ...).
 */
#include "rag_internal.h"

#include "prompt/jinja_cjson.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAG_SYSTEM                                                                                                   \
    "Answer the question using only the numbered context passages. Cite the passages you use by their numbers in " \
    "square brackets, like [1] or [2]. If the passages do not hold the answer, say that you do not know."

hearth_rag_ask_params hearth_rag_ask_default_params(void) {
    hearth_rag_ask_params p;
    p.search = hearth_rag_search_default_params();
    p.search.k = 4;
    p.gen = hearth_generate_default_params();
    p.gen.max_tokens = 256;
    p.gen.sampling.temp = 0;
    return p;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

hearth_status hearth_rag_prompt(const char *question, const hearth_rag_hit *hits, size_t n, char **system_msg,
                                char **user_msg) {
    *system_msg = *user_msg = NULL;
    hearth_buf u = {0};
    hearth_buf_puts(&u, "Context:\n\n");
    for (size_t i = 0; i < n; i++) {
        hearth_buf_printf(&u, "[%zu] (%s", i + 1, base_name(hits[i].source));
        if (hits[i].page > 0) hearth_buf_printf(&u, ", page %d", hits[i].page);
        if (hits[i].heading) hearth_buf_printf(&u, ", %s", hits[i].heading);
        hearth_buf_puts(&u, ")\n");
        hearth_buf_puts(&u, hits[i].text ? hits[i].text : "");
        hearth_buf_puts(&u, "\n\n");
    }
    if (!n) hearth_buf_puts(&u, "(no passages were found)\n\n");
    hearth_buf_puts(&u, "Question: ");
    hearth_buf_puts(&u, question);
    char *s = strdup(RAG_SYSTEM);
    if (u.oom || !s) {
        hearth_buf_free(&u);
        free(s);
        return hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
    }
    *system_msg = s;
    *user_msg = hearth_buf_take(&u, NULL);
    return HEARTH_OK;
}

/* the conversation as the model's template renders it; *stops: the built-in
 * format's stop strings when that was used (static), else NULL */
static hearth_status render(const hearth_model *m, const char *sys, const char *user, char **out,
                            const char *const **stops) {
    *stops = NULL;
    const char *tmpl = hearth_model_chat_template(m);
    if (tmpl) {
        cJSON *msgs = cJSON_CreateArray();
        cJSON *a = cJSON_CreateObject(), *b = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "role", "system");
        cJSON_AddStringToObject(a, "content", sys);
        cJSON_AddStringToObject(b, "role", "user");
        cJSON_AddStringToObject(b, "content", user);
        cJSON_AddItemToArray(msgs, a);
        cJSON_AddItemToArray(msgs, b);
        const hearth_vocab *v = hearth_model_vocab(m);
        int32_t bos = hearth_vocab_bos(v), eos = hearth_vocab_eos(v);
        hearth_status st = hearth_chat_template_apply(tmpl, msgs, true, bos >= 0 ? hearth_vocab_token_text(v, bos) : "",
                                                      eos >= 0 ? hearth_vocab_token_text(v, eos) : "", NULL, out);
        cJSON_Delete(msgs);
        if (st == HEARTH_OK) return HEARTH_OK;
        *out = NULL;   /* a template the engine cannot run: the built-in format */
    }
    hearth_chat_format fmt = hearth_chat_format_detect(m);
    hearth_chat_message cm[2] = {{"system", sys}, {"user", user}};
    *stops = hearth_chat_format_stops(&fmt);
    return hearth_chat_format_apply(&fmt, cm, 2, true, out);
}

static void mark_cited(hearth_rag_answer *a) {
    const char *t = a->text;
    for (size_t i = 0; t && t[i]; i++) {
        if (t[i] != '[') continue;
        /* [1], [2, 3], [1][2] */
        size_t j = i + 1;
        while (t[j] && t[j] != ']' && j - i < 32) {
            if (t[j] >= '0' && t[j] <= '9') {
                long k = strtol(t + j, NULL, 10);
                if (k >= 1 && (size_t)k <= a->sources.n) a->cited[k - 1] = true;
                while (t[j] >= '0' && t[j] <= '9') j++;
            } else if (t[j] == ',' || t[j] == ' ') {
                j++;
            } else {
                break;
            }
        }
    }
}

hearth_status hearth_rag_ask(hearth_rag *r, hearth_context *ctx, const hearth_model *model, const char *question,
                             const hearth_rag_ask_params *pp, hearth_rag_answer *out) {
    memset(out, 0, sizeof *out);
    hearth_rag_ask_params p = pp ? *pp : hearth_rag_ask_default_params();
    if (!question || !*question) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "ask: an empty question");
    hearth_status st = hearth_rag_search(r, question, &p.search, &out->sources);
    if (st) return st;
    int32_t n_ctx = hearth_context_n_ctx(ctx);
    /* room for the answer: max_tokens, but at most a third of a small context */
    int32_t room = p.gen.max_tokens > 0 && p.gen.max_tokens < n_ctx / 3 ? p.gen.max_tokens : n_ctx / 3;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    const char *const *stops = NULL;
    /* drop the weakest sources until the prompt leaves room for the answer */
    for (;;) {
        char *sys = NULL, *user = NULL, *text = NULL;
        if ((st = hearth_rag_prompt(question, out->sources.hits, out->sources.n, &sys, &user))) goto bad;
        st = render(model, sys, user, &text, &stops);
        free(sys);
        free(user);
        if (st) goto bad;
        st = hearth_chat_tokenize(hearth_model_vocab(model), text, &ids, &n_ids);
        free(text);
        if (st) goto bad;
        if ((int64_t)n_ids + room <= n_ctx || out->sources.n == 0) break;
        free(ids);
        ids = NULL;
        if (out->sources.n > 1) {
            hearth_rag_hit *h = &out->sources.hits[--out->sources.n];
            free(h->source), free(h->text), free(h->heading), free(h->attributes);
            continue;
        }
        /* one source left: shorten its text (a small model's context) */
        hearth_rag_hit *h = &out->sources.hits[0];
        size_t len = strlen(h->text);
        if (len < 32) {
            st = hearth_set_error(HEARTH_ERR_RANGE, "ask: the question and its context do not fit the model's %d "
                                                    "tokens of context", n_ctx);
            goto bad;
        }
        len = len * 2 / 3;
        while (len > 0 && ((unsigned char)h->text[len] & 0xC0) == 0x80) len--;
        h->text[len] = 0;
        h->char_end = h->char_start + (int64_t)len;
        free(h->heading);
        h->heading = NULL;
    }
    if ((int64_t)n_ids >= n_ctx) {
        st = hearth_set_error(HEARTH_ERR_RANGE, "ask: the question alone is %zu tokens; the context is %d", n_ids, n_ctx);
        goto bad;
    }
    hearth_generate_params g = p.gen;
    if (!g.stop && stops) {
        size_t k = 0;
        while (stops[k]) k++;
        g.stop = stops;
        g.n_stop = k;
    }
    hearth_generation gen;
    st = hearth_generate_ids(ctx, model, ids, n_ids, &g, &gen);
    free(ids);
    ids = NULL;
    if (st) goto bad;
    /* the answer without leading/trailing blanks */
    const char *s = gen.text;
    size_t len = gen.text_len;
    while (len && (*s == ' ' || *s == '\n')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n')) len--;
    out->text = strndup(s, len);
    out->stop_reason = gen.stop_reason;
    out->n_prompt = (int32_t)gen.n_prompt;
    out->n_generated = (int32_t)gen.n_ids;
    hearth_generation_clear(&gen);
    out->cited = calloc(out->sources.n + 1, sizeof *out->cited);
    if (!out->text || !out->cited) {
        st = hearth_set_error(HEARTH_ERR_NOMEM, "rag: out of memory");
        goto bad;
    }
    mark_cited(out);
    return HEARTH_OK;
bad:;
    hearth_status s2 = st;   /* its message is set */
    free(ids);
    hearth_rag_answer_clear(out);
    return s2;
}

void hearth_rag_answer_clear(hearth_rag_answer *a) {
    if (!a) return;
    free(a->text);
    free(a->cited);
    hearth_rag_results_clear(&a->sources);
    memset(a, 0, sizeof *a);
}
