/*
 * chat_policy.c — the chat policy (include/hearth/chat.h): the model's
 * Jinja chat template, else the built-in format detected from it; the
 * built-in format's stop strings either way.
 */
#include "hearth/chat.h"
#include "prompt/jinja_cjson.h"
#include "hearth/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hearth_chat_policy {
    hearth_jinja_template *tmpl;   /* NULL: the built-in format only */
    hearth_chat_format fmt;
    bool fallback_on_refusal;
};

hearth_chat_params hearth_chat_default_params(void) {
    hearth_chat_params p;
    memset(&p, 0, sizeof p);
    return p;
}

hearth_status hearth_chat_policy_create_from(const char *chat_template, const hearth_vocab *v,
                                             const hearth_chat_params *params, hearth_chat_policy **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat policy: out is NULL");
    *out = NULL;
    hearth_chat_params dp = hearth_chat_default_params();
    if (!params) params = &dp;
    const char *format = params->format;
    hearth_chat_policy *p = calloc(1, sizeof *p);
    if (!p) return hearth_set_error(HEARTH_ERR_NOMEM, "chat policy: out of memory");
    p->fallback_on_refusal = params->fallback_on_refusal;
    hearth_chat_format detected = hearth_chat_format_detect_template(chat_template, v);
    if (format) {
        hearth_status st = hearth_chat_format_from_name(format, &p->fmt);
        if (st != HEARTH_OK) {
            free(p);
            return st;
        }
        if (v) {   /* the vocabulary's own BOS/EOS texts */
            memcpy(p->fmt.bos, detected.bos, sizeof p->fmt.bos);
            memcpy(p->fmt.eos, detected.eos, sizeof p->fmt.eos);
        }
    } else {
        p->fmt = detected;
        /* a template the engine cannot parse: the built-in format only */
        if (chat_template && *chat_template &&
            hearth_jinja_parse(chat_template, strlen(chat_template), &p->tmpl) != HEARTH_OK)
            p->tmpl = NULL;
    }
    *out = p;
    return HEARTH_OK;
}

hearth_status hearth_chat_policy_create(const hearth_model *m, const hearth_chat_params *p, hearth_chat_policy **out) {
    if (!m) {
        if (out) *out = NULL;
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat policy: model is NULL");
    }
    return hearth_chat_policy_create_from(hearth_model_chat_template(m), hearth_model_vocab(m), p, out);
}

void hearth_chat_policy_free(hearth_chat_policy *p) {
    if (!p) return;
    hearth_jinja_free(p->tmpl);
    free(p);
}

/* the template with { messages, add_generation_prompt, bos_token, eos_token } */
static hearth_status render_template(const hearth_chat_policy *p, const hearth_chat_message *msgs, size_t n,
                                     bool agp, char **out) {
    cJSON *ctx = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(ctx, "messages");
    bool ok = ctx && arr;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *m = cJSON_CreateObject();
        ok = m && cJSON_AddStringToObject(m, "role", msgs[i].role) && cJSON_AddStringToObject(m, "content", msgs[i].content);
        if (m) cJSON_AddItemToArray(arr, m);
    }
    ok = ok && cJSON_AddBoolToObject(ctx, "add_generation_prompt", agp) &&
         cJSON_AddStringToObject(ctx, "bos_token", p->fmt.bos) && cJSON_AddStringToObject(ctx, "eos_token", p->fmt.eos);
    hearth_status st = ok ? hearth_jinja_render(p->tmpl, ctx, NULL, out, NULL)
                          : hearth_set_error(HEARTH_ERR_NOMEM, "chat policy: out of memory");
    cJSON_Delete(ctx);
    return st;
}

hearth_status hearth_chat_policy_render(const hearth_chat_policy *p, const hearth_chat_message *msgs, size_t n,
                                        bool add_generation_prompt, char **out, bool *used_template) {
    if (used_template) *used_template = false;
    if (!p || !out || (n && !msgs)) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat policy: NULL argument");
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat message %zu: role or content is NULL", i);
    if (p->tmpl) {
        hearth_status st = render_template(p, msgs, n, add_generation_prompt, out);
        if (st == HEARTH_OK) {
            if (used_template) *used_template = true;
            return st;
        }
        if (st == HEARTH_ERR_INVALID_ARG && !p->fallback_on_refusal) {   /* raise_exception: the template refuses this conversation */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", hearth_last_error());
            return hearth_set_error(st, "the model's chat template refuses the conversation: %s", msg);
        }
        /* any other failure: the built-in format renders this one */
    }
    return hearth_chat_format_apply(&p->fmt, msgs, n, add_generation_prompt, out);
}

const char *const *hearth_chat_policy_stops(const hearth_chat_policy *p) { return hearth_chat_format_stops(&p->fmt); }

bool hearth_chat_policy_has_template(const hearth_chat_policy *p) { return p->tmpl != NULL; }

const hearth_chat_format *hearth_chat_policy_format(const hearth_chat_policy *p) { return &p->fmt; }
