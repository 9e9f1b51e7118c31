/*
 * jinja_api.c — the public Jinja API (hearth/jinja.h): parse, render with
 * limits, and the chat-template convenience call.
 */
#include "jinja_internal.h"

#include <stdlib.h>
#include <string.h>

hearth_jinja_options hearth_jinja_default_options(void) {
    hearth_jinja_options o;
    memset(&o, 0, sizeof o);
    o.max_steps = 10000000;
    o.max_output = 4u << 20;
    o.max_memory = 128u << 20;
    o.max_depth = 100;
    o.now = NULL;
    return o;
}

/* ---- parse ---------------------------------------------------------------------------- */
hearth_status hearth_jinja_parse(const char *src, size_t len, hearth_jinja_template **out) {
    if (!out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_jinja_parse: out is NULL");
    *out = NULL;
    if (!src && len) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_jinja_parse: src is NULL");
    hearth_jinja_template *t = calloc(1, sizeof *t);
    if (!t) return hearth_set_error(HEARTH_ERR_NOMEM, "hearth_jinja_parse: out of memory");
    jmp_buf jb;
    t->ar.fail = &jb;
    if (setjmp(jb)) {
        jarena_free(&t->ar);
        free(t);
        return hearth_set_error(HEARTH_ERR_NOMEM, "hearth_jinja_parse: out of memory");
    }
    /* newlines: \r\n and \r become \n; one trailing newline is dropped (Jinja2's keep_trailing_newline=False) */
    char *s = jarena_alloc(&t->ar, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else s[n++] = src[i];
    }
    if (n && s[n - 1] == '\n') n--;
    s[n] = 0;
    char err[512] = "";
    jtokens toks = {0};
    if (!jinja_lex(&t->ar, s, n, &toks, err, sizeof err) ||
        !(t->root = jinja_parse_tokens(&t->ar, &toks, err, sizeof err))) {
        jarena_free(&t->ar);
        free(t);
        return hearth_set_error(HEARTH_ERR_FORMAT, "%s", err);
    }
    t->ar.fail = NULL;
    *out = t;
    return HEARTH_OK;
}

void hearth_jinja_free(hearth_jinja_template *t) {
    if (!t) return;
    jarena_free(&t->ar);
    free(t);
}

/* ---- render ----------------------------------------------------------------------------- */
static hearth_status render(const hearth_jinja_template *t, const cJSON *cj, const char *json, size_t json_len,
                            const hearth_jinja_options *opt, char **out, size_t *len) {
    if (!t || !out) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_jinja_render: template or out is NULL");
    *out = NULL;
    if (len) *len = 0;
    hearth_jinja_options o = opt ? *opt : hearth_jinja_default_options();
    hearth_jinja_options d = hearth_jinja_default_options();
    if (o.max_steps <= 0) o.max_steps = d.max_steps;
    if (!o.max_output) o.max_output = d.max_output;
    if (!o.max_memory) o.max_memory = d.max_memory;
    if (o.max_depth <= 0) o.max_depth = d.max_depth;

    jctx *c = calloc(1, sizeof *c);
    if (!c) return hearth_set_error(HEARTH_ERR_NOMEM, "hearth_jinja_render: out of memory");
    c->max_steps = o.max_steps;
    c->max_output = o.max_output;
    c->max_depth = o.max_depth;
    c->now = o.now;
    c->ar.cap = o.max_memory;
    c->ar.fail = &c->fail;
    jbuf outbuf = {0};
    hearth_status st;
    int jr = setjmp(c->fail);
    if (jr == 0) {
        c->globals = jframe_new(c, NULL);
        jinja_install_globals(c, c->globals);
        jframe *ctxf = jframe_new(c, c->globals);
        jval cv = jv_undef();
        if (json) cv = jv_from_json_text(c, json, json_len);
        else if (cj) cv = jv_from_cjson(c, cj);
        if (cv.t == JV_DICT) {
            for (size_t i = 0; i < cv.u.d->n; i++)
                if (cv.u.d->k[i].t == JV_STR)
                    jframe_set(c, ctxf, jv_strcpy(c, cv.u.d->k[i].u.s.p, cv.u.d->k[i].u.s.n).u.s.p, cv.u.d->v[i]);
        } else if (cv.t != JV_UNDEF && cv.t != JV_NONE) {
            jfail(c, HEARTH_ERR_INVALID_ARG, "the render context must be a JSON object, not %s", jv_type_name(cv));
        }
        c->out = &outbuf;
        jexec_block(c, ctxf, t->root->list, t->root->n);
        char *r = malloc(outbuf.len + 1);
        if (!r) {
            st = hearth_set_error(HEARTH_ERR_NOMEM, "hearth_jinja_render: out of memory");
        } else {
            if (outbuf.len) memcpy(r, outbuf.data, outbuf.len);
            r[outbuf.len] = 0;
            *out = r;
            if (len) *len = outbuf.len;
            st = HEARTH_OK;
        }
    } else if (jr == 2) {   /* arena exhausted */
        st = hearth_set_error(HEARTH_ERR_RANGE, "template error at line %d: %s (limit %zu bytes)", c->line,
                              c->ar.errmsg ? c->ar.errmsg : "memory limit exceeded", c->ar.cap);
    } else {
        st = hearth_set_error(c->status, "%s", c->err);
    }
    jarena_free(&c->ar);
    free(c);
    return st;
}

hearth_status hearth_jinja_render(const hearth_jinja_template *t, const cJSON *context,
                                  const hearth_jinja_options *opt, char **out, size_t *len) {
    return render(t, context, NULL, 0, opt, out, len);
}

hearth_status hearth_jinja_render_json(const hearth_jinja_template *t, const char *json, size_t json_len,
                                       const hearth_jinja_options *opt, char **out, size_t *len) {
    if (!json) return render(t, NULL, NULL, 0, opt, out, len);
    return render(t, NULL, json, json_len, opt, out, len);
}

/* ---- chat templates --------------------------------------------------------------------------- */
hearth_status hearth_chat_template_apply(const char *template_src, const cJSON *messages,
                                         bool add_generation_prompt, const char *bos, const char *eos,
                                         const cJSON *tools_or_null, char **out) {
    if (!template_src || !messages || !out)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "hearth_chat_template_apply: template, messages or out is NULL");
    *out = NULL;
    hearth_jinja_template *t = NULL;
    hearth_status st = hearth_jinja_parse(template_src, strlen(template_src), &t);
    if (st) return st;
    cJSON *ctx = cJSON_CreateObject();
    if (!ctx) {
        hearth_jinja_free(t);
        return hearth_set_error(HEARTH_ERR_NOMEM, "hearth_chat_template_apply: out of memory");
    }
    /* references: the caller keeps ownership of messages and tools */
    cJSON_AddItemReferenceToObject(ctx, "messages", (cJSON *)messages);
    cJSON_AddBoolToObject(ctx, "add_generation_prompt", add_generation_prompt);
    cJSON_AddStringToObject(ctx, "bos_token", bos ? bos : "");
    cJSON_AddStringToObject(ctx, "eos_token", eos ? eos : "");
    if (tools_or_null) cJSON_AddItemReferenceToObject(ctx, "tools", (cJSON *)tools_or_null);
    st = hearth_jinja_render(t, ctx, NULL, out, NULL);
    cJSON_Delete(ctx);
    hearth_jinja_free(t);
    return st;
}

hearth_status hearth_chat_template_apply_json(const char *template_src, const char *messages_json,
                                              size_t messages_len, bool add_generation_prompt,
                                              const char *bos, const char *eos,
                                              const char *tools_json, char **out) {
    if (!template_src || !messages_json || !out)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG,
                                "hearth_chat_template_apply_json: template, messages or out is NULL");
    *out = NULL;
    cJSON *messages = cJSON_ParseWithLength(messages_json, messages_len);
    if (!messages || !cJSON_IsArray(messages)) {
        cJSON_Delete(messages);
        return hearth_set_error(HEARTH_ERR_FORMAT, "hearth_chat_template_apply_json: messages are not a JSON array");
    }
    cJSON *tools = NULL;
    if (tools_json) {
        tools = cJSON_Parse(tools_json);
        if (!tools || !cJSON_IsArray(tools)) {
            cJSON_Delete(messages);
            cJSON_Delete(tools);
            return hearth_set_error(HEARTH_ERR_FORMAT, "hearth_chat_template_apply_json: tools are not a JSON array");
        }
    }
    hearth_status st = hearth_chat_template_apply(template_src, messages, add_generation_prompt, bos, eos, tools, out);
    cJSON_Delete(messages);
    cJSON_Delete(tools);
    return st;
}
