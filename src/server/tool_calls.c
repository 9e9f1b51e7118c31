/*
 * tool_calls.c — OpenAI tool calling in /v1/chat/completions: reading
 * `tools` / `tool_choice`, checking the calls in the history, forcing a
 * call with a grammar, and mapping the library's parser (tool_call.h) to
 * `tool_calls` in responses and stream deltas.
 *
 * tool_choice: "auto" (default with tools) reads calls from the reply and
 * checks their arguments with the validator; "none" renders no tools and
 * reads none; "required" and {"type": "function", "function": {"name"}}
 * end the prompt with the format's opening and constrain the reply to one
 * call whose arguments are the parameters' schema compiled as a grammar.
 *
 * A call the model wrote that is malformed or fails its schema (auto only:
 * a forced call always validates): non-streaming, the whole reply comes
 * back as content with no tool_calls; streaming, the stream ends with an
 * error event (code "invalid_tool_call") naming the call.
 */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool failf(api_error *e, const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool failf(api_error *e, const char *param, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_fail(e, 400, param, code, msg);
    return false;
}

bool srv_tools_on(const srv_job *j) { return j->tools && j->tool_choice != TOOL_NONE; }

bool srv_tools_parse(srv_job *j, const cJSON *req, api_error *e) {
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(req, "tools");
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(req, "tool_choice");
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(req, "parallel_tool_calls");
    if (par && !cJSON_IsNull(par) && !cJSON_IsBool(par))
        return failf(e, "parallel_tool_calls", "invalid_type", "'parallel_tool_calls' must be a boolean");
    j->tool_fmt = hearth_chat_policy_tool_format(j->model->chat);
    if (tools && !cJSON_IsNull(tools) && !(cJSON_IsArray(tools) && cJSON_GetArraySize(tools) == 0)) {
        char *text = cJSON_PrintUnformatted(tools);
        if (!text) return api_fail(e, 500, NULL, NULL, "out of memory"), false;
        if (hearth_tools_parse(text, strlen(text), &j->tools) != HEARTH_OK) {
            free(text);
            /* the message starts with the field's path */
            const char *msg = hearth_last_error(), *colon = strstr(msg, ": ");
            char param[64];
            snprintf(param, sizeof param, "%.*s", colon ? (int)(colon - msg) : 5, colon ? msg : "tools");
            return failf(e, param, "invalid_value", "%s", msg);
        }
        j->tools_json = text;
    }
    j->tool_choice = TOOL_AUTO;
    if (!choice || cJSON_IsNull(choice)) return true;
    if (!j->tools)
        return failf(e, "tool_choice", "invalid_value", "'tool_choice' is only allowed when 'tools' are given");
    if (cJSON_IsString(choice)) {
        const char *c = choice->valuestring;
        if (!strcmp(c, "auto")) j->tool_choice = TOOL_AUTO;
        else if (!strcmp(c, "none")) j->tool_choice = TOOL_NONE;
        else if (!strcmp(c, "required")) j->tool_choice = TOOL_REQUIRED;
        else
            return failf(e, "tool_choice", "invalid_value",
                         "'tool_choice' is '%s'; expected \"none\", \"auto\", \"required\" or "
                         "{\"type\": \"function\", \"function\": {\"name\": ...}}",
                         c);
        return true;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(choice, "type");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(choice, "function");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
    if (!cJSON_IsObject(choice) || !cJSON_IsString(type) || strcmp(type->valuestring, "function") ||
        !cJSON_IsString(name))
        return failf(e, "tool_choice", "invalid_value",
                     "'tool_choice' must be \"none\", \"auto\", \"required\" or "
                     "{\"type\": \"function\", \"function\": {\"name\": ...}}");
    if (hearth_tools_find(j->tools, name->valuestring) < 0)
        return failf(e, "tool_choice.function.name", "invalid_value",
                     "'tool_choice.function.name' is '%.64s', which is not one of the request's tools", name->valuestring);
    j->tool_choice = TOOL_NAMED;
    snprintf(j->tool_name, sizeof j->tool_name, "%s", name->valuestring);
    return true;
}

bool srv_tools_check_history(const srv_job *j, const cJSON *msgs, api_error *e) {
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
        char param[96];
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "tool")) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id");
            snprintf(param, sizeof param, "messages[%d].tool_call_id", i);
            if (!cJSON_IsString(id))
                return failf(e, param, "invalid_value", "'%s' is required: the id of the call this answers", param);
        }
        if (calls && !cJSON_IsNull(calls) && !cJSON_IsArray(calls)) {
            snprintf(param, sizeof param, "messages[%d].tool_calls", i);
            return failf(e, param, "invalid_type", "'%s' must be an array", param);
        }
        int k = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, calls) {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
            snprintf(param, sizeof param, "messages[%d].tool_calls[%d].function.name", i, k);
            if (!cJSON_IsString(name)) return failf(e, param, "invalid_value", "'%s' must be a string", param);
            if (j->tools && hearth_tools_find(j->tools, name->valuestring) < 0)
                return failf(e, param, "invalid_value", "'%s' is '%.64s', which is not one of the request's tools",
                             param, name->valuestring);
            snprintf(param, sizeof param, "messages[%d].tool_calls[%d].function.arguments", i, k);
            char *text = cJSON_IsString(args) ? strdup(args->valuestring) : cJSON_IsObject(args) ? cJSON_PrintUnformatted(args) : NULL;
            if (!text) return failf(e, param, "invalid_value", "'%s' must be a JSON object as a string", param);
            hearth_status st = j->tools ? hearth_tools_check(j->tools, name->valuestring, text, strlen(text)) : HEARTH_OK;
            if (!j->tools) {
                cJSON *p = cJSON_Parse(text);
                if (!cJSON_IsObject(p)) st = hearth_set_error(HEARTH_ERR_INVALID_ARG, "not a JSON object");
                cJSON_Delete(p);
            }
            free(text);
            if (st != HEARTH_OK) return failf(e, param, "invalid_value", "'%s': %s", param, hearth_last_error());
            k++;
        }
        i++;
    }
    return true;
}

bool srv_tools_force(srv_job *j, const char **opening, api_error *e) {
    *opening = NULL;
    if (!j->tools || (j->tool_choice != TOOL_REQUIRED && j->tool_choice != TOOL_NAMED)) return true;
    if (hearth_tools_grammar(j->tools, j->tool_fmt, j->tool_choice == TOOL_NAMED ? j->tool_name : NULL, &j->grammar) !=
        HEARTH_OK) {
        const char *msg = hearth_last_error(), *colon = strstr(msg, ": ");
        char param[64];
        snprintf(param, sizeof param, "%.*s", colon ? (int)(colon - msg) : 5, colon ? msg : "tools");
        return failf(e, param, "invalid_value", "%s", msg);
    }
    *opening = hearth_tool_format_opening(j->tool_fmt);
    return true;
}

/* ==== the reply ==================================================================== */
typedef struct collect {
    const srv_job *j;
    hearth_tool_parser *tp;
    hearth_buf content;
    cJSON *calls;       /* stream: the delta's tool_calls entries */
    char err[400];
} collect;

static void on_event(void *user, const hearth_tool_event *ev) {
    collect *k = user;
    if (ev->kind == HEARTH_TOOL_EVENT_CONTENT) {
        hearth_buf_put(&k->content, ev->text, ev->len);
        return;
    }
    if (ev->kind == HEARTH_TOOL_EVENT_CALL_END) {
        const hearth_tool_call *c = hearth_tool_parser_call(k->tp, ev->index);
        if (!k->err[0] && hearth_tools_check(k->j->tools, c->name, c->arguments, strlen(c->arguments)) != HEARTH_OK)
            snprintf(k->err, sizeof k->err, "tool call %d: %s", ev->index + 1, hearth_last_error());
        return;
    }
    if (!k->calls) return;
    cJSON *o = cJSON_CreateObject(), *fn;
    cJSON_AddNumberToObject(o, "index", ev->index);
    if (ev->kind == HEARTH_TOOL_EVENT_CALL) {
        cJSON_AddStringToObject(o, "id", hearth_tool_parser_call(k->tp, ev->index)->id);
        cJSON_AddStringToObject(o, "type", "function");
    }
    fn = cJSON_AddObjectToObject(o, "function");
    char *s = strndup(ev->text, ev->len);
    if (ev->kind == HEARTH_TOOL_EVENT_CALL) {
        cJSON_AddStringToObject(fn, "name", s ? s : "");
        cJSON_AddStringToObject(fn, "arguments", "");
    } else {
        cJSON_AddStringToObject(fn, "arguments", s ? s : "");
    }
    free(s);
    cJSON_AddItemToArray(k->calls, o);
}

static hearth_tool_parser *new_parser(const srv_job *j, const srv_choice *c) {
    hearth_tool_parser_params pp = hearth_tool_parser_default_params();
    pp.format = j->tool_fmt;
    pp.in_call = j->tool_choice == TOOL_REQUIRED || j->tool_choice == TOOL_NAMED;
    uint64_t h = 1469598103934665603ull;   /* the job id and choice make the call ids */
    for (const char *p = j->id; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    pp.seed = h ^ (uint64_t)(c - j->ch + 1);
    hearth_tool_parser *tp = NULL;
    hearth_tool_parser_new(&pp, &tp);
    return tp;
}

static const char *finish_of(const srv_choice *c, bool calls) {
    if (c->finish && !strcmp(c->finish, "length")) return "length";
    return calls ? "tool_calls" : "stop";
}

void srv_tools_message(const srv_job *j, const srv_choice *c, cJSON *msg, const char **finish) {
    collect k = {.j = j};
    k.tp = new_parser(j, c);
    const char *text = c->text ? c->text : "";
    bool ok = k.tp && hearth_tool_parser_feed(k.tp, text, c->len, on_event, &k) == HEARTH_OK &&
              hearth_tool_parser_finish(k.tp, on_event, &k) == HEARTH_OK && !k.err[0] && !k.content.oom;
    int n = ok ? hearth_tool_parser_n_calls(k.tp) : 0;
    if (!ok) {   /* not a valid call: the reply as it is */
        cJSON_AddStringToObject(msg, "content", text);
    } else if (k.content.len || n == 0) {
        cJSON_AddStringToObject(msg, "content", k.content.data ? k.content.data : "");
    } else {
        cJSON_AddNullToObject(msg, "content");
    }
    if (n > 0) {
        cJSON *arr = cJSON_AddArrayToObject(msg, "tool_calls");
        for (int i = 0; i < n; i++) {
            const hearth_tool_call *tc = hearth_tool_parser_call(k.tp, i);
            cJSON *o = cJSON_CreateObject(), *fn;
            cJSON_AddStringToObject(o, "id", tc->id);
            cJSON_AddStringToObject(o, "type", "function");
            fn = cJSON_AddObjectToObject(o, "function");
            cJSON_AddStringToObject(fn, "name", tc->name);
            cJSON_AddStringToObject(fn, "arguments", tc->arguments);
            cJSON_AddItemToArray(arr, o);
        }
    }
    *finish = finish_of(c, n > 0);
    hearth_tool_parser_free(k.tp);
    hearth_buf_free(&k.content);
}

bool srv_tools_delta(srv_job *j, srv_choice *c, const char *text, size_t n, bool fin, cJSON *delta,
                     const char **finish, char **err) {
    *err = NULL;
    if (!c->tp && !(c->tp = new_parser(j, c))) {
        *err = strdup("out of memory");
        return false;
    }
    collect k = {.j = j, .tp = c->tp, .calls = cJSON_CreateArray()};
    hearth_status st = hearth_tool_parser_feed(c->tp, text, n, on_event, &k);
    if (st == HEARTH_OK && fin) st = hearth_tool_parser_finish(c->tp, on_event, &k);
    if (st != HEARTH_OK && !k.err[0]) snprintf(k.err, sizeof k.err, "%s", hearth_last_error());
    bool ok = !k.err[0];
    if (ok && k.content.len) cJSON_AddStringToObject(delta, "content", k.content.data);
    if (ok && cJSON_GetArraySize(k.calls) > 0) cJSON_AddItemToObject(delta, "tool_calls", k.calls);
    else cJSON_Delete(k.calls);
    if (!ok) *err = strdup(k.err);
    if (fin) *finish = finish_of(c, hearth_tool_parser_n_calls(c->tp) > 0);
    hearth_buf_free(&k.content);
    return ok;
}
