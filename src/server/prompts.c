/*
 * prompts.c — the prompt library in `hearth serve --prompts DB`:
 *
 *   GET  /v1/prompts                       every prompt, its latest version and labels
 *   POST /v1/prompts                       {"name", "spec" (YAML/JSON text or an object), "author"}
 *                                          -> {"name", "version"}
 *   GET  /v1/prompts/REF                   one version (REF: NAME, NAME@LABEL, NAME@N)
 *   GET  /v1/prompts/NAME/history          label moves, oldest first
 *   POST /v1/prompts/NAME/labels           {"label", "version", "actor"}: moves a label;
 *                                          `production` only with the server's admin token
 *                                          (Authorization: Bearer TOKEN; serve --admin-token-file)
 *   /admin/prompts...                      the same (the gateway forwards its admin keys' calls
 *                                          here with the admin token; its audit record names the
 *                                          change in "model": "prompts NAME/labels {...}")
 *   POST /v1/chat/completions {"prompt": {"name", "label"|"version", "variables"}}
 *                                          rendered into messages (and model, sampling,
 *                                          response_format) before the request is parsed
 *
 * Errors are OpenAI-shaped with the field at fault in "param" ("prompt.variables.q").
 * The library handle is thread-safe; the embedder (few-shot selection) is
 * used under a mutex.
 */
#include "server_internal.h"

#include "hearth/prompt_library.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct pr_state {
    hearth_prompt_lib *lib;
    hearth_model *emb_model;     /* few-shot selection (NULL: none) */
    hearth_embedder *emb;
    pthread_mutex_t emb_mu;
    char *admin_token;           /* NULL: production cannot be moved over HTTP */
};

hearth_status pr_create(const char *db, const char *embed_model, const char *admin_token, int n_threads,
                        pr_state **out) {
    *out = NULL;
    pr_state *p = calloc(1, sizeof *p);
    if (!p) return hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    pthread_mutex_init(&p->emb_mu, NULL);
    hearth_status st = hearth_prompt_lib_open(db, &p->lib);
    if (!st && embed_model) {
        hearth_embed_params ep = hearth_embed_default_params();
        ep.n_threads = n_threads;
        st = hearth_model_load(embed_model, NULL, &p->emb_model);
        if (!st) st = hearth_embedder_create(p->emb_model, &ep, &p->emb);
    }
    if (!st && admin_token && *admin_token && !(p->admin_token = strdup(admin_token)))
        st = hearth_set_error(HEARTH_ERR_NOMEM, "serve: out of memory");
    if (st) {
        pr_free(p);
        return st;
    }
    *out = p;
    return HEARTH_OK;
}

void pr_free(pr_state *p) {
    if (!p) return;
    hearth_prompt_lib_free(p->lib);
    hearth_embedder_free(p->emb);
    hearth_model_free(p->emb_model);
    pthread_mutex_destroy(&p->emb_mu);
    free(p->admin_token);
    free(p);
}

/* the part after /v1/prompts (or /admin/prompts, the same API as the gateway forwards it), or NULL */
static const char *pr_rest(const char *url) {
    static const char *const prefixes[] = {"/v1/prompts", "/admin/prompts"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(url, prefixes[i], n) && (url[n] == 0 || url[n] == '/')) return url[n] ? url + n + 1 : "";
    }
    return NULL;
}

bool pr_route(const char *url) { return pr_rest(url) != NULL; }

/* an OpenAI-shaped error body for status; param may be NULL */
static char *error_body(int status, const char *param, const char *fmt, ...) {
    api_error e = {.status = status};
    e.type = status == 404 ? "not_found_error" : status == 403 ? "permission_error" : "invalid_request_error";
    snprintf(e.param, sizeof e.param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    return api_error_body(&e);
}

/* the field a library message starts with ("prompt.variables.q: ..."), for "param" */
static void field_of(const char *msg, char *out, size_t cap) {
    size_t n = strcspn(msg, ": ");
    if (n >= cap || msg[n] != ':') n = 0;
    memcpy(out, msg, n);
    out[n] = 0;
}

static int status_of(hearth_status st) {
    return st == HEARTH_ERR_NOT_FOUND ? 404 : st == HEARTH_ERR_IO || st == HEARTH_ERR_NOMEM ? 500 : 400;
}

static bool is_admin(const pr_state *p, const char *auth) {
    if (!p->admin_token || !auth || strncmp(auth, "Bearer ", 7)) return false;
    const char *t = auth + 7;
    size_t n = strlen(t);
    return n == strlen(p->admin_token) && sodium_memcmp(t, p->admin_token, n) == 0;
}

static int add_version(pr_state *p, const char *body, size_t len, char **out) {
    cJSON *req = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(req, "name"), *spec = cJSON_GetObjectItemCaseSensitive(req, "spec");
    const cJSON *author = cJSON_GetObjectItemCaseSensitive(req, "author");
    int status = 200;
    if (!cJSON_IsObject(req)) status = 400, *out = error_body(400, NULL, "the body must be a JSON object");
    else if (!cJSON_IsString(name)) status = 400, *out = error_body(400, "name", "'name' must be a string");
    else if (!cJSON_IsString(spec) && !cJSON_IsObject(spec))
        status = 400, *out = error_body(400, "spec", "'spec' must be the prompt's YAML/JSON text or an object");
    else if (author && !cJSON_IsString(author)) status = 400, *out = error_body(400, "author", "'author' must be a string");
    if (status != 200) {
        cJSON_Delete(req);
        return status;
    }
    char *text = cJSON_IsString(spec) ? strdup(spec->valuestring) : cJSON_PrintUnformatted(spec);
    int32_t v = 0;
    hearth_status st = text ? hearth_prompt_add(p->lib, name->valuestring, text, strlen(text),
                                                author ? author->valuestring : "", &v)
                            : hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    free(text);
    if (st) {
        status = status_of(st);
        *out = error_body(status, st == HEARTH_ERR_FORMAT ? "spec" : "name", "%s", hearth_last_error());
    } else {
        hearth_buf b = {0};
        hearth_buf_puts(&b, "{\"name\":");
        hearth_buf_json_str(&b, name->valuestring, strlen(name->valuestring));
        hearth_buf_printf(&b, ",\"version\":%d}", (int)v);
        *out = hearth_buf_take(&b, NULL);
    }
    cJSON_Delete(req);
    return status;
}

static int move_label(pr_state *p, const char *name, const char *auth, const char *body, size_t len, char **out) {
    cJSON *req = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(req, "label"), *ver = cJSON_GetObjectItemCaseSensitive(req, "version");
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(req, "actor");
    int status = 200;
    if (!cJSON_IsObject(req)) status = 400, *out = error_body(400, NULL, "the body must be a JSON object");
    else if (!cJSON_IsString(label)) status = 400, *out = error_body(400, "label", "'label' must be a string");
    else if (!cJSON_IsNumber(ver) || ver->valuedouble < 1 || ver->valuedouble > 1e9 ||
             ver->valuedouble != (double)(int32_t)ver->valuedouble)
        status = 400, *out = error_body(400, "version", "'version' must be a version number");
    else if (actor && !cJSON_IsString(actor)) status = 400, *out = error_body(400, "actor", "'actor' must be a string");
    else if (hearth_prompt_label_is_protected(label->valuestring) && !is_admin(p, auth))
        status = 403, *out = error_body(403, "label", "label %s is protected: moving it needs the admin token",
                                        label->valuestring);
    if (status == 200) {
        hearth_status st = hearth_prompt_label(p->lib, name, label->valuestring, (int32_t)ver->valuedouble,
                                               actor ? actor->valuestring : "", is_admin(p, auth));
        if (st) {
            status = status_of(st);
            *out = error_body(status, status == 404 ? "version" : "label", "%s", hearth_last_error());
        } else {
            *out = strdup("{\"ok\":true}");
        }
    }
    cJSON_Delete(req);
    return status;
}

int pr_handle(hearth_server *s, const char *method, const char *url, const char *auth, const char *body, size_t len,
              char **out) {
    pr_state *p = s->pr;
    *out = NULL;
    if (!p) return *out = error_body(404, NULL, "this server has no prompt library (serve --prompts DB)"), 404;
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    const char *rest = pr_rest(url);
    char name[128];
    size_t n = strcspn(rest, "/");
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, rest, n);
    name[n] = 0;
    const char *tail = rest[n] == '/' ? rest + n + 1 : NULL;
    hearth_status st = HEARTH_OK;
    if (!*rest && get) st = hearth_prompt_list_json(p->lib, out);
    else if (!*rest && post) return add_version(p, body, len, out);
    else if (*name && !tail && get) st = hearth_prompt_get_json(p->lib, name, out);
    else if (*name && tail && !strcmp(tail, "history") && get) st = hearth_prompt_history_json(p->lib, name, out);
    else if (*name && tail && !strcmp(tail, "labels") && post) return move_label(p, name, auth, body, len, out);
    else return *out = error_body(404, NULL, "no such prompt endpoint: %s %.200s", method, url), 404;
    if (st) {
        int status = status_of(st);
        *out = error_body(status, "name", "%s", hearth_last_error());
        return status;
    }
    return 200;
}

int pr_expand(hearth_server *s, const char *body, size_t len, char **out_body, api_error *e) {
    *out_body = NULL;
    if (!body || !memmem(body, len, "\"prompt\"", 8)) return 0;   /* most requests: no second parse */
    cJSON *req = cJSON_ParseWithLength(body, len);
    bool has = cJSON_GetObjectItemCaseSensitive(req, "prompt") != NULL;
    cJSON_Delete(req);
    if (!has) return 0;
    if (!s->pr) {
        e->status = 400;
        e->type = "invalid_request_error";
        snprintf(e->param, sizeof e->param, "prompt");
        snprintf(e->message, sizeof e->message, "this server has no prompt library (serve --prompts DB)");
        return -1;
    }
    pthread_mutex_lock(&s->pr->emb_mu);
    hearth_status st = hearth_prompt_expand_request(s->pr->lib, body, len, s->pr->emb, out_body);
    pthread_mutex_unlock(&s->pr->emb_mu);
    if (!st) return 1;
    e->status = status_of(st) == 500 ? 500 : 400;
    e->type = e->status == 500 ? "server_error" : "invalid_request_error";
    e->code = st == HEARTH_ERR_NOT_FOUND ? "prompt_not_found" : "invalid_value";
    field_of(hearth_last_error(), e->param, sizeof e->param);
    snprintf(e->message, sizeof e->message, "%s", hearth_last_error());
    return -1;
}
