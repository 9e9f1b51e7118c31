/*
 * chat_policy.c — the chat policy (include/hearth/chat.h): the model's
 * Jinja chat template, else the built-in format detected from it; the
 * built-in format's stop strings either way.
 */
#include "hearth/chat.h"
#include "prompt/jinja_cjson.h"
#include "core/buf.h"
#include "hearth/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hearth_chat_policy {
    hearth_jinja_template *tmpl;   /* NULL: the built-in format only */
    hearth_chat_format fmt;
    bool fallback_on_refusal;
    bool tmpl_tools;               /* the template describes tools itself */
    bool tmpl_calls;               /* it renders calls in the history */
    bool args_text;                /* it joins a call's arguments as text (tool['function']['arguments'] + ...) */
    hearth_tool_format tool_fmt;
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
    p->tmpl_tools = p->tmpl && strstr(chat_template, "tools");
    p->tmpl_calls = p->tmpl && strstr(chat_template, "tool_calls");
    p->args_text = p->tmpl && strstr(chat_template, "['arguments']");
    p->tool_fmt = p->tmpl_tools ? hearth_tool_format_detect(chat_template) : HEARTH_TOOL_HERMES;
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

hearth_tool_format hearth_chat_policy_tool_format(const hearth_chat_policy *p) {
    return p ? p->tool_fmt : HEARTH_TOOL_HERMES;
}

/* ========================================================================
 * conversations with tools (OpenAI JSON)
 * ======================================================================== */

static hearth_status bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static hearth_status bad(const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hearth_set_error(HEARTH_ERR_FORMAT, "%s", msg);
}

/* the messages checked and copied as templates expect them: content a
 * string, a call's arguments an object */
static hearth_status normalize(const cJSON *in, bool args_text, cJSON **out, bool *has_tools) {
    *out = NULL;
    if (!cJSON_IsArray(in)) return bad("messages: must be an array");
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return hearth_set_error(HEARTH_ERR_NOMEM, "chat policy: out of memory");
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, in) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        hearth_status st = HEARTH_OK;
        if (!cJSON_IsObject(m) || !cJSON_IsString(role)) st = bad("messages[%d].role: must be a string", i);
        else if (content && !cJSON_IsNull(content) && !cJSON_IsString(content))
            st = bad("messages[%d].content: must be a string or null", i);
        cJSON *o = st ? NULL : cJSON_CreateObject();
        if (!st && !o) st = hearth_set_error(HEARTH_ERR_NOMEM, "chat policy: out of memory");
        if (st) {
            cJSON_Delete(arr);
            return st;
        }
        cJSON_AddItemToArray(arr, o);
        const char *r = !strcmp(role->valuestring, "developer") ? "system" : role->valuestring;
        cJSON_AddStringToObject(o, "role", r);
        cJSON_AddStringToObject(o, "content", cJSON_IsString(content) ? content->valuestring : "");
        const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
        if (calls && !cJSON_IsNull(calls)) {
            if (!cJSON_IsArray(calls) || strcmp(r, "assistant")) {
                cJSON_Delete(arr);
                return bad("messages[%d].tool_calls: must be an array, on an assistant message", i);
            }
            cJSON *oc = cJSON_AddArrayToObject(o, "tool_calls");
            int k = 0;
            const cJSON *c;
            cJSON_ArrayForEach(c, calls) {
                const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
                const cJSON *nm = cJSON_GetObjectItemCaseSensitive(fn, "name");
                const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
                if (!cJSON_IsString(nm) || !nm->valuestring[0]) {
                    cJSON_Delete(arr);
                    return bad("messages[%d].tool_calls[%d].function.name: must be a non-empty string", i, k);
                }
                cJSON *a = NULL;
                if (cJSON_IsString(args)) a = cJSON_Parse(args->valuestring);
                else if (cJSON_IsObject(args)) a = cJSON_Duplicate(args, true);
                else if (!args || cJSON_IsNull(args)) a = cJSON_CreateObject();
                if (!cJSON_IsObject(a)) {
                    cJSON_Delete(a);
                    cJSON_Delete(arr);
                    return bad("messages[%d].tool_calls[%d].function.arguments: must be a JSON object (as text)", i, k);
                }
                cJSON *co = cJSON_CreateObject(), *cf;
                cJSON_AddItemToArray(oc, co);
                if (cJSON_IsString(id)) cJSON_AddStringToObject(co, "id", id->valuestring);
                cJSON_AddStringToObject(co, "type", "function");
                cf = cJSON_AddObjectToObject(co, "function");
                cJSON_AddStringToObject(cf, "name", nm->valuestring);
                if (args_text) {   /* the template wants the JSON text */
                    char *t = cJSON_IsString(args) ? NULL : cJSON_PrintUnformatted(a);
                    cJSON_AddStringToObject(cf, "arguments", cJSON_IsString(args) ? args->valuestring : t ? t : "{}");
                    free(t);
                    cJSON_Delete(a);
                } else {
                    cJSON_AddItemToObject(cf, "arguments", a);
                }
                k++;
            }
            *has_tools = true;
        }
        if (!strcmp(r, "tool")) {
            const cJSON *tid = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id");
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(m, "name");
            if (tid && !cJSON_IsString(tid)) {
                cJSON_Delete(arr);
                return bad("messages[%d].tool_call_id: must be a string", i);
            }
            if (tid) cJSON_AddStringToObject(o, "tool_call_id", tid->valuestring);
            if (cJSON_IsString(nm)) cJSON_AddStringToObject(o, "name", nm->valuestring);
            *has_tools = true;
        }
        i++;
    }
    *out = arr;
    return HEARTH_OK;
}

/* the hermes rewrite for a template (or built-in format) that knows no tools */
static void hermes_system(hearth_buf *b, const cJSON *tools) {
    hearth_buf_puts(b, "# Tools\n\nYou may call one or more of the functions below to help with the request. "
                       "Their signatures, as JSON, are inside <tools></tools>:\n<tools>");
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        char *s = cJSON_PrintUnformatted(t);
        hearth_buf_putc(b, '\n');
        if (s) hearth_buf_puts(b, s);
        free(s);
    }
    hearth_buf_puts(b, "\n</tools>\n\nTo call a function, write a JSON object with its name and arguments inside "
                       "<tool_call></tool_call> tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
                       "<arguments-object>}\n</tool_call>");
}

static hearth_status render_rewritten(const hearth_chat_policy *p, const cJSON *msgs, const cJSON *tools, bool agp,
                                      bool sys_in_user, char **out, bool *used_template) {
    int n = cJSON_GetArraySize(msgs);
    hearth_chat_message *cm = calloc((size_t)n + 1, sizeof *cm);
    hearth_buf *texts = calloc((size_t)n + 1, sizeof *texts);
    if (!cm || !texts) {
        free(cm);
        free(texts);
        return hearth_set_error(HEARTH_ERR_NOMEM, "chat policy: out of memory");
    }
    size_t k = 0;
    const cJSON *m = msgs ? msgs->child : NULL;
    const char *role0 = m ? cJSON_GetObjectItemCaseSensitive(m, "role")->valuestring : "";
    if (cJSON_GetArraySize(tools) > 0) {   /* the tools go in the (first) system message */
        cm[k].role = "system";
        if (!strcmp(role0, "system")) {
            hearth_buf_puts(&texts[k], cJSON_GetObjectItemCaseSensitive(m, "content")->valuestring);
            hearth_buf_puts(&texts[k], "\n\n");
            m = m->next;
        }
        hermes_system(&texts[k], tools);
        k++;
    }
    for (; m; m = m->next) {
        const char *r = cJSON_GetObjectItemCaseSensitive(m, "role")->valuestring;
        const char *c = cJSON_GetObjectItemCaseSensitive(m, "content")->valuestring;
        const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
        if (!strcmp(r, "tool")) {   /* results: user turns; results in a row share one */
            bool join = k > 0 && !strcmp(cm[k - 1].role, "user") && texts[k - 1].len &&
                        strstr(texts[k - 1].data, "</tool_response>");
            size_t at = join ? k - 1 : k;
            if (join) hearth_buf_putc(&texts[at], '\n');
            hearth_buf_puts(&texts[at], "<tool_response>\n");
            hearth_buf_puts(&texts[at], c);
            hearth_buf_puts(&texts[at], "\n</tool_response>");
            cm[at].role = "user";
            if (!join) k++;
            continue;
        }
        cm[k].role = r;
        hearth_buf_puts(&texts[k], c);
        const cJSON *call;
        cJSON_ArrayForEach(call, calls) {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
            const cJSON *av = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
            char *args = cJSON_IsString(av) ? strdup(av->valuestring) : cJSON_PrintUnformatted(av);
            const char *nm = cJSON_GetObjectItemCaseSensitive(fn, "name")->valuestring;
            if (texts[k].len) hearth_buf_putc(&texts[k], '\n');
            hearth_buf_puts(&texts[k], "<tool_call>\n{\"name\": ");
            hearth_buf_json_str(&texts[k], nm, strlen(nm));
            hearth_buf_puts(&texts[k], ", \"arguments\": ");
            hearth_buf_puts(&texts[k], args ? args : "{}");
            hearth_buf_puts(&texts[k], "}\n</tool_call>");
            free(args);
        }
        k++;
    }
    if (sys_in_user && k > 1 && !strcmp(cm[0].role, "system")) {
        /* a template without a system role: the system text opens the first user turn */
        size_t u = 1;
        while (u < k && strcmp(cm[u].role, "user")) u++;
        if (u < k) {
            hearth_buf_puts(&texts[0], "\n\n");
            hearth_buf_put(&texts[0], texts[u].data ? texts[u].data : "", texts[u].len);
            hearth_buf_free(&texts[u]);
            texts[u] = texts[0];
            memset(&texts[0], 0, sizeof texts[0]);
            memmove(cm, cm + 1, (k - 1) * sizeof *cm);
            memmove(texts, texts + 1, (k - 1) * sizeof *texts);
            memset(&texts[k - 1], 0, sizeof texts[0]);
            k--;
        }
    }
    bool oom = false;
    for (size_t i = 0; i < k; i++) {
        hearth_buf_puts(&texts[i], "");
        oom |= texts[i].oom;
        cm[i].content = texts[i].data;
    }
    hearth_status st = oom ? hearth_set_error(HEARTH_ERR_NOMEM, "chat policy: out of memory")
                           : hearth_chat_policy_render(p, cm, k, agp, out, used_template);
    for (size_t i = 0; i <= (size_t)n; i++) hearth_buf_free(&texts[i]);
    free(texts);
    free(cm);
    return st;
}

hearth_status hearth_chat_policy_render_json(const hearth_chat_policy *p, const char *messages_json,
                                             size_t messages_len, const char *tools_json, bool agp, char **out,
                                             bool *used_template) {
    if (used_template) *used_template = false;
    if (!p || !messages_json || !out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "chat policy: NULL argument");
    *out = NULL;
    cJSON *in = cJSON_ParseWithLength(messages_json, messages_len);
    if (!in) return bad("messages: not valid JSON");
    cJSON *tools = NULL;
    if (tools_json && !(tools = cJSON_Parse(tools_json))) {
        cJSON_Delete(in);
        return bad("tools: not valid JSON");
    }
    if (tools && !cJSON_IsArray(tools)) {
        cJSON_Delete(in);
        cJSON_Delete(tools);
        return bad("tools: must be an array");
    }
    cJSON *msgs = NULL;
    bool given = cJSON_GetArraySize(tools) > 0, history = false;
    hearth_status st = normalize(in, p->args_text, &msgs, &history);
    cJSON_Delete(in);
    /* the template itself when it describes tools, or when none are given and it
     * renders the history's calls and results (DeepSeek V3.1 does, without tools) */
    if (st == HEARTH_OK && p->tmpl && (p->tmpl_tools || (!given && (!history || p->tmpl_calls)))) {
        /* the template itself: { messages, tools, add_generation_prompt, bos_token, eos_token } */
        cJSON *ctx = cJSON_CreateObject();
        bool ok = ctx && cJSON_AddItemReferenceToObject(ctx, "messages", msgs) &&
                  (!tools || cJSON_AddItemReferenceToObject(ctx, "tools", tools)) &&
                  cJSON_AddBoolToObject(ctx, "add_generation_prompt", agp) &&
                  cJSON_AddStringToObject(ctx, "bos_token", p->fmt.bos) &&
                  cJSON_AddStringToObject(ctx, "eos_token", p->fmt.eos);
        st = ok ? hearth_jinja_render(p->tmpl, ctx, NULL, out, NULL)
                : hearth_set_error(HEARTH_ERR_NOMEM, "chat policy: out of memory");
        cJSON_Delete(ctx);
        if (st == HEARTH_OK) {
            if (used_template) *used_template = true;
        } else if (st == HEARTH_ERR_INVALID_ARG && !p->fallback_on_refusal) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", hearth_last_error());
            st = hearth_set_error(st, "the model's chat template refuses the conversation: %s", msg);
        } else {   /* the template failed: the rewrite through the built-in format */
            hearth_chat_policy fb = *p;
            fb.tmpl = NULL;
            st = render_rewritten(&fb, msgs, tools, agp, false, out, used_template);
        }
    } else if (st == HEARTH_OK) {
        st = render_rewritten(p, msgs, tools, agp, false, out, used_template);
        if (st == HEARTH_ERR_INVALID_ARG && cJSON_GetArraySize(tools) > 0)   /* e.g. "System role not supported" */
            st = render_rewritten(p, msgs, tools, agp, true, out, used_template);
    }
    cJSON_Delete(msgs);
    cJSON_Delete(tools);
    return st;
}
