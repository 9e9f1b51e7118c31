/*
 * gateway.c — `hearth gateway`'s HTTP side (libmicrohttpd, one thread per
 * connection): key check, model access, limits and budgets, the PII policy on
 * the request and the answer, the audit record, metrics. Forwarding is in
 * proxy.c; the admin API and console (/admin...) in admin.c.
 *
 * Order for a model request: key (401) -> model allowed (403) -> budget (429
 * insufficient_quota) -> rate and concurrency (429 rate_limit_exceeded) ->
 * PII (400 under block) -> upstream -> PII on the answer -> audit record (503
 * if it cannot be written) -> answer.
 */
#include "gateway_internal.h"

#include "hearth/pii.h"
#include "webui/webui.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conn_state {
    hearth_buf body;
    bool too_big;
} conn_state;

/* ==== replies ======================================================================= */
static enum MHD_Result send_text(struct MHD_Connection *c, int status, char *body, const char *ctype,
                                 int retry_after) {
    if (!body) body = strdup("{}");
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype ? ctype : "application/json");
    if (retry_after > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%d", retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static char *err_body(const char *msg, const char *type, const char *code) {
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    if (code) cJSON_AddStringToObject(e, "code", code);
    else cJSON_AddNullToObject(e, "code");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* answers an error and writes its audit record (the record is written first; a
 * failed write — the database is away — turns the answer into a 503) */
static enum MHD_Result fail(gw_req *r, struct MHD_Connection *c, int status, const char *msg, const char *type,
                            const char *code, int retry_after) {
    if (!gw_finish(r, status, NULL)) {
        status = 503;
        msg = GW_AUDIT_FAILED "; nothing was done";
        type = "server_error";
        code = "audit_failed";
        retry_after = 1;
    }
    return send_text(c, status, err_body(msg, type, code), NULL, retry_after);
}

/* ==== request bookkeeping =========================================================== */
void gw_req_free(gw_req *r) {
    if (!r) return;
    gw_scrub_free(r->scrub);
    free(r->prompt_masked);
    free(r);
}

bool gw_finish(gw_req *r, int status, const char *response_text) {
    hearth_gateway *g = r->g;
    double t1 = gw_mono_s();
    int64_t now = gw_now_s();
    char kinds[600];
    gw_kinds_record(r->scrub ? gw_scrub_kinds(r->scrub) : "", r->resp_kinds, kinds, sizeof kinds);
    hearth_audit_record a = {
        .time_ms = gw_now_ms(),
        .key_id = r->have_key ? r->key.id : "",
        .model = r->model,
        .adapter = r->adapter,
        .endpoint = r->endpoint,
        .status = status,
        .tokens_in = r->tokens_in,
        .tokens_out = r->tokens_out,
        .latency_ms = (int64_t)((t1 - r->t0) * 1000.0 + 0.5),
        .pii_kinds = kinds,
        .client = r->client,
        .prompt = g->c->audit_store_text ? r->prompt_masked : NULL,
        .response = g->c->audit_store_text ? response_text : NULL,
    };
    bool ok = hearth_audit_append(g->au, &a) == HEARTH_OK;
    if (!ok) hearth_log(HEARTH_LOG_ERROR, "gateway: %s", hearth_last_error());
    gw_metrics_audit(g->met, ok);
    if (r->have_key && (r->tokens_in || r->tokens_out))
        if (hearth_keys_add_usage(g->ks, r->key.id, r->model, now, r->tokens_in, r->tokens_out))
            hearth_log(HEARTH_LOG_ERROR, "gateway: %s", hearth_last_error());
    if (r->admitted) {
        gw_limiter_done(g->lim, r->key.id, r->tokens_in + r->tokens_out, t1);
        r->admitted = false;
    }
    gw_metrics_request(g->met, r->have_key ? r->key.id : "", r->model, ok ? status : 503, r->tokens_in,
                       r->tokens_out, t1 - r->t0);
    return ok;
}

/* ==== key check ===================================================================== */
static const char *presented_key(struct MHD_Connection *c) {
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth && !strncasecmp(auth, "Bearer ", 7)) {
        auth += 7;
        while (*auth == ' ') auth++;
        return auth;
    }
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-Key");
}

/* 0 if r->key is valid, else the status to answer (with msg/code) */
static int check_key(gw_req *r, struct MHD_Connection *c, const char **msg, const char **code) {
    const char *k = presented_key(c);
    if (!k || !*k) {
        *msg = "an API key is required (Authorization: Bearer KEY or X-Api-Key: KEY)";
        *code = "missing_api_key";
        return 401;
    }
    hearth_key_check res;
    if (hearth_keys_verify(r->g->ks, k, gw_now_s(), &r->key, &res)) {
        hearth_log(HEARTH_LOG_ERROR, "gateway: %s", hearth_last_error());
        *msg = "the key store could not be read (the gateway's database is unavailable); try again later";
        *code = "database_unavailable";
        return 503;
    }
    switch (res) {
    case HEARTH_KEY_VALID: r->have_key = true; return 0;
    case HEARTH_KEY_REVOKED: *msg = "this API key has been revoked"; *code = "key_revoked"; return 401;
    case HEARTH_KEY_EXPIRED: *msg = "this API key has expired"; *code = "key_expired"; return 401;
    default: *msg = "invalid API key"; *code = "invalid_api_key"; return 401;
    }
}

/* ---- the same, for admin.c ---- */
int gw_send(struct MHD_Connection *c, int status, char *body, const char *ctype) {
    return send_text(c, status, body, ctype, 0);
}
char *gw_err_body(const char *msg, const char *type, const char *code) { return err_body(msg, type, code); }
int gw_fail(gw_req *r, struct MHD_Connection *c, int status, const char *msg, const char *type, const char *code,
            int retry_after) {
    return fail(r, c, status, msg, type, code, retry_after);
}
int gw_check_key(gw_req *r, struct MHD_Connection *c, const char **msg, const char **code) {
    return check_key(r, c, msg, code);
}
bool gw_has_key(struct MHD_Connection *c) {
    const char *k = presented_key(c);
    return k && *k;
}

/* ==== PII on a request ============================================================== */
/* applies action to one string item; returns false when it could not */
static bool scrub_item(gw_req *r, cJSON *holder, const char *field, const hearth_pii_policy *action, hearth_buf *seen) {
    cJSON *it = cJSON_GetObjectItemCaseSensitive(holder, field);
    if (!cJSON_IsString(it)) return true;
    char *t = gw_scrub_text(r->scrub, it->valuestring, action);
    if (!t) return false;
    if (seen->len) hearth_buf_put(seen, "\n", 1);
    hearth_buf_put(seen, t, strlen(t));
    cJSON_ReplaceItemInObjectCaseSensitive(holder, field, cJSON_CreateString(t));
    free(t);
    return true;
}

static bool scrub_array_strings(gw_req *r, cJSON *arr, const hearth_pii_policy *action, hearth_buf *seen) {
    for (cJSON *it = arr ? arr->child : NULL; it; it = it->next) {
        if (!cJSON_IsString(it)) continue;
        char *t = gw_scrub_text(r->scrub, it->valuestring, action);
        if (!t) return false;
        if (seen->len) hearth_buf_put(seen, "\n", 1);
        hearth_buf_put(seen, t, strlen(t));
        cJSON_SetValuestring(it, t);
        free(t);
    }
    return true;
}

/* the request's text fields: messages[].content (string or parts), prompt, input */
static bool scrub_request(gw_req *r, cJSON *req, const hearth_pii_policy *action) {
    hearth_buf seen = {0};
    bool ok = true;
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(content)) ok = ok && scrub_item(r, m, "content", action, &seen);
        else if (cJSON_IsArray(content)) {
            cJSON *part;
            cJSON_ArrayForEach(part, content) ok = ok && scrub_item(r, part, "text", action, &seen);
        }
    }
    for (int f = 0; f < 2; f++) {
        const char *field = f ? "input" : "prompt";
        cJSON *v = cJSON_GetObjectItemCaseSensitive(req, field);
        if (cJSON_IsString(v)) ok = ok && scrub_item(r, req, field, action, &seen);
        else if (cJSON_IsArray(v)) ok = ok && scrub_array_strings(r, v, action, &seen);
    }
    r->prompt_masked = seen.data;
    return ok;
}

/* the answer's texts: PII the model produced gets the response policy, then this
 * request's placeholders are restored; seen gets the masked text for the audit */
static bool scrub_response(gw_req *r, cJSON *resp, const gw_pii_policy *pol, hearth_buf *seen) {
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(resp, "choices"), *c;
    gw_scrub *model_side = gw_scrub_new();
    if (!model_side) return false;
    cJSON_ArrayForEach(c, choices) {
        cJSON *msg = cJSON_GetObjectItemCaseSensitive(c, "message");
        cJSON *holder = cJSON_IsObject(msg) ? msg : c;
        const char *field = cJSON_IsObject(msg) ? "content" : "text";
        cJSON *t = cJSON_GetObjectItemCaseSensitive(holder, field);
        if (!cJSON_IsString(t)) continue;
        char *policed = gw_scrub_text(model_side, t->valuestring, pol->resp_pol);
        if (!policed) continue;
        if (seen->len) hearth_buf_put(seen, "\n", 1);
        hearth_buf_put(seen, policed, strlen(policed));
        char *restored = gw_scrub_unmask(r->scrub, policed);
        free(policed);
        if (restored) cJSON_ReplaceItemInObjectCaseSensitive(holder, field, cJSON_CreateString(restored));
        free(restored);
    }
    gw_kinds_add(r->resp_kinds, sizeof r->resp_kinds, gw_scrub_kinds(model_side));
    bool blocked = pol->response == GW_PII_BLOCK && gw_scrub_found(model_side) > 0;
    if (blocked) snprintf(r->resp_blocked, sizeof r->resp_blocked, "%s", gw_scrub_kinds(model_side));
    gw_scrub_free(model_side);
    return !blocked;
}

/* ==== model requests ================================================================ */
static enum MHD_Result model_request(gw_req *r, struct MHD_Connection *c, const char *method, const char *url,
                                     const char *body) {
    hearth_gateway *g = r->g;
    const hearth_gateway_config *cf = g->c;
    cJSON *req = NULL;
    if (!strcmp(method, "POST")) {
        req = cJSON_Parse(body ? body : "");
        if (!cJSON_IsObject(req)) {
            cJSON_Delete(req);
            return fail(r, c, 400, "the request body must be a JSON object", "invalid_request_error", "invalid_json", 0);
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "model");
        if (cJSON_IsString(m)) {
            snprintf(r->model, sizeof r->model, "%s", m->valuestring);
            const char *plus = strchr(m->valuestring, '+');
            if (plus) snprintf(r->adapter, sizeof r->adapter, "%s", plus + 1);
        }
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(req, "stream");
        r->stream = cJSON_IsTrue(st);
    }
    /* model access */
    if (req && r->key.models[0] && !hearth_key_allows_model(&r->key, r->model)) {
        char msg[400];
        if (r->model[0]) snprintf(msg, sizeof msg, "this key may not use model '%s'", r->model);
        else snprintf(msg, sizeof msg, "this key may use only some models; name one in \"model\"");
        cJSON_Delete(req);
        return fail(r, c, 403, msg, "permission_error", "model_not_allowed", 0);
    }
    /* token budget */
    if (r->key.budget_tokens > 0) {
        int64_t used, end, now = gw_now_s();
        if (hearth_keys_period_usage(g->ks, r->key.id, r->key.period, now, &used, &end)) {
            cJSON_Delete(req);
            return fail(r, c, 503, "the usage store could not be read (the gateway's database is unavailable)",
                        "server_error", "database_unavailable", 1);
        }
        gw_metrics_budget(g->met, r->key.id, used, r->key.budget_tokens);
        if (used >= r->key.budget_tokens) {
            char msg[200];
            snprintf(msg, sizeof msg, "token budget of %lld per %s used up", (long long)r->key.budget_tokens,
                     r->key.period == HEARTH_PERIOD_DAY ? "day" : "month");
            cJSON_Delete(req);
            return fail(r, c, 429, msg, "insufficient_quota", "insufficient_quota", (int)(end - now > 0 ? end - now : 1));
        }
    }
    /* rates and concurrency */
    int64_t rpm = r->key.rpm ? r->key.rpm : cf->rpm, tpm = r->key.tpm ? r->key.tpm : cf->tpm,
            conc = r->key.max_concurrent ? r->key.max_concurrent : cf->max_concurrent;
    int retry = 0;
    gw_limit_result lr = gw_limiter_admit(g->lim, r->key.id, rpm, tpm, conc, gw_mono_s(), &retry);
    if (lr == GW_LIMIT_UNAVAILABLE) {
        cJSON_Delete(req);
        return fail(r, c, 503, "the rate limits could not be checked (the gateway's database is unavailable)",
                    "server_error", "database_unavailable", 1);
    }
    if (lr != GW_LIMIT_OK) {
        char msg[200];
        if (lr == GW_LIMIT_RPM) snprintf(msg, sizeof msg, "rate limit: %lld requests per minute", (long long)rpm);
        else if (lr == GW_LIMIT_TPM) snprintf(msg, sizeof msg, "rate limit: %lld tokens per minute", (long long)tpm);
        else snprintf(msg, sizeof msg, "rate limit: %lld requests at once", (long long)conc);
        cJSON_Delete(req);
        return fail(r, c, 429, msg, "rate_limit_exceeded",
                    lr == GW_LIMIT_RPM ? "rpm_exceeded" : lr == GW_LIMIT_TPM ? "tpm_exceeded" : "concurrency_exceeded",
                    retry);
    }
    r->admitted = true;
    /* PII on the request */
    const gw_pii_policy *pol = gw_config_pii(cf, &r->key);
    r->pii = pol;
    if (req) {
        if (!scrub_request(r, req, pol->req_pol)) {
            cJSON_Delete(req);
            return fail(r, c, 500, "out of memory", "server_error", NULL, 0);
        }
        if (pol->request == GW_PII_BLOCK && gw_scrub_found(r->scrub) > 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "request refused: it contains personal data (%s)", gw_scrub_kinds(r->scrub));
            cJSON_Delete(req);
            free(r->prompt_masked);   /* unmasked under block: never stored */
            r->prompt_masked = NULL;
            return fail(r, c, 400, msg, "invalid_request_error", "pii_blocked", 0);
        }
        if (pol->request == GW_PII_ALLOW || pol->request == GW_PII_BLOCK) {
            free(r->prompt_masked);   /* raw text: keep it out of the audit log */
            r->prompt_masked = NULL;
        }
    }
    if (r->stream && req) {
        cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
        const cJSON *iu = cJSON_IsObject(so) ? cJSON_GetObjectItemCaseSensitive(so, "include_usage") : NULL;
        r->client_wants_usage = cJSON_IsTrue(iu);
        if (!r->client_wants_usage) {
            if (!cJSON_IsObject(so)) {
                cJSON_DeleteItemFromObjectCaseSensitive(req, "stream_options");
                so = cJSON_AddObjectToObject(req, "stream_options");
            }
            cJSON_DeleteItemFromObjectCaseSensitive(so, "include_usage");
            cJSON_AddTrueToObject(so, "include_usage");
        }
    }
    char *fwd = req ? cJSON_PrintUnformatted(req) : NULL;
    cJSON_Delete(req);
    if (r->stream) {
        int status = 0;
        struct MHD_Response *resp = gw_proxy_stream(r, url, fwd ? fwd : "", &status);
        free(fwd);
        /* r belongs to the stream now */
        if (!resp) return send_text(c, 500, err_body("could not start the stream", "server_error", NULL), NULL, 0);
        enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
        MHD_destroy_response(resp);
        return ok;
    }
    int status = 0;
    char *answer = NULL;
    gw_proxy_call(g, method, url, fwd, &status, &answer);
    free(fwd);
    /* tokens and the response policy */
    cJSON *resp = status == 200 ? cJSON_Parse(answer) : NULL;
    hearth_buf seen = {0};
    if (resp) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(resp, "usage");
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
        if (cJSON_IsNumber(pt)) r->tokens_in = (int64_t)pt->valuedouble;
        if (cJSON_IsNumber(ct)) r->tokens_out = (int64_t)ct->valuedouble;
        if (!scrub_response(r, resp, pol, &seen)) {
            cJSON_Delete(resp);
            free(answer);
            free(seen.data);
            char msg[400];
            snprintf(msg, sizeof msg, "the model's answer contained personal data (%s) and was withheld",
                     r->resp_blocked);
            return fail(r, c, 502, msg, "upstream_error", "pii_blocked_response", 0);
        }
        free(answer);
        answer = cJSON_PrintUnformatted(resp);
        cJSON_Delete(resp);
    }
    bool ok = gw_finish(r, status, pol->response == GW_PII_ALLOW ? NULL : seen.data);
    free(seen.data);
    if (!ok) {
        free(answer);
        return send_text(c, 503, err_body(GW_AUDIT_FAILED_WITHHELD,
                                          "server_error", "audit_failed"), NULL, 0);
    }
    return send_text(c, status, answer, NULL, 0);
}

/* ==== files and vector stores (hearth serve --rag-db) ================================
 * Passed through as they are (multipart uploads included) after the key
 * check, under the key's request rate and concurrency limits, with an audit
 * record; the key's PII policy applies to uploads, search queries and search
 * results (pii_store.c). */
static enum MHD_Result store_request(gw_req *r, struct MHD_Connection *c, const char *method, const char *url,
                                     const conn_state *cs) {
    hearth_gateway *g = r->g;
    const hearth_gateway_config *cf = g->c;
    /* the same limits as the model endpoints (the key's buckets are shared) */
    int64_t rpm = r->key.rpm ? r->key.rpm : cf->rpm, tpm = r->key.tpm ? r->key.tpm : cf->tpm,
            conc = r->key.max_concurrent ? r->key.max_concurrent : cf->max_concurrent;
    int retry = 0;
    gw_limit_result lr = gw_limiter_admit(g->lim, r->key.id, rpm, tpm, conc, gw_mono_s(), &retry);
    if (lr == GW_LIMIT_UNAVAILABLE)
        return fail(r, c, 503, "the rate limits could not be checked (the gateway's database is unavailable)",
                    "server_error", "database_unavailable", 1);
    if (lr != GW_LIMIT_OK)
        return fail(r, c, 429,
                    lr == GW_LIMIT_RPM ? "rate limit: requests per minute"
                    : lr == GW_LIMIT_TPM ? "rate limit: tokens per minute" : "rate limit: requests at once",
                    "rate_limit_exceeded",
                    lr == GW_LIMIT_RPM ? "rpm_exceeded" : lr == GW_LIMIT_TPM ? "tpm_exceeded" : "concurrency_exceeded",
                    retry);
    r->admitted = true;
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    r->pii = gw_config_pii(cf, &r->key);
    hearth_buf fwd = {0};
    char msg[768];
    const char *code = NULL;
    int refuse = gw_store_pii_request(r, method, url, ctype, cs->body.data, cs->body.len, &fwd, msg, sizeof msg, &code);
    if (refuse) {
        hearth_buf_free(&fwd);
        return fail(r, c, refuse, msg, refuse == 500 ? "server_error" : "invalid_request_error", code, 0);
    }
    int status = 0;
    hearth_buf out = {0};
    gw_proxy_raw(g, method, url, ctype, fwd.data ? fwd.data : cs->body.data, fwd.data ? fwd.len : cs->body.len,
                 &status, &out);
    hearth_buf_free(&fwd);
    if (status == 200 && !gw_store_pii_response(r, method, url, &out)) {
        hearth_buf_free(&out);
        snprintf(msg, sizeof msg, "the search results contained personal data (%s) and were withheld", r->resp_blocked);
        return fail(r, c, 502, msg, "upstream_error", "pii_blocked_response", 0);
    }
    if (!gw_finish(r, status, NULL)) {
        hearth_buf_free(&out);
        return send_text(c, 503, err_body(GW_AUDIT_FAILED_WITHHELD,
                                          "server_error", "audit_failed"), NULL, 0);
    }
    size_t n = out.len;
    char *body = out.data ? hearth_buf_take(&out, NULL) : strdup("");
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    size_t ul = strlen(url);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            ul > 8 && !strcmp(url + ul - 8, "/content") && status == 200 ? "application/octet-stream"
                                                                                         : "application/json");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ==== routing ======================================================================= */
static void client_addr(struct MHD_Connection *c, char *out, size_t cap) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = 0;
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

static enum MHD_Result dispatch(hearth_gateway *g, struct MHD_Connection *c, const char *url, const char *method,
                                conn_state *cs) {
    if (!strcmp(url, "/health") && !strcmp(method, "GET"))
        return send_text(c, 200, strdup("{\"status\":\"ok\"}"), NULL, 0);
    if (!strcmp(url, "/ready") && !strcmp(method, "GET")) {   /* a replica that passed its last check */
        bool ready = gw_pool_healthy(g->pool) > 0;
        return send_text(c, ready ? 200 : 503,
                         strdup(ready ? "{\"status\":\"ready\"}" : "{\"status\":\"no replica is ready\"}"), NULL,
                         ready ? 0 : 1);
    }
    int ui = webui_respond(g->ui, c, method, url);   /* the web console's pages: public, like /health */
    if (ui) return ui > 0 ? MHD_YES : MHD_NO;
    gw_req *r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->g = g;
    r->t0 = gw_mono_s();
    r->scrub = gw_scrub_new();
    client_addr(c, r->client, sizeof r->client);
    static const char *const endpoints[] = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                                            "/v1/models", "/metrics", "/admin/keys", "/v1/files",
                                            "/v1/vector_stores"};
    r->endpoint = "other";
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (!strncmp(url, endpoints[i], strlen(endpoints[i]))) r->endpoint = endpoints[i];
    const char *msg = NULL, *code = NULL;
    enum MHD_Result res;
    int st = 0;
    if (gw_admin_route(url) && !cs->too_big) {
        res = gw_admin_request(r, c, method, url, cs->body.data);   /* the console: its own login */
    } else if ((st = check_key(r, c, &msg, &code))) {
        res = fail(r, c, st, msg, st == 401 ? "invalid_request_error" : "server_error", code, 0);
    } else if (cs->too_big) {
        char m[128];
        snprintf(m, sizeof m, "request body larger than %zu bytes", g->c->max_body);
        res = fail(r, c, 413, m, "invalid_request_error", "body_too_large", 0);
    } else if (!strcmp(url, "/metrics") && !strcmp(method, "GET")) {
        hearth_buf b = {0};
        /* served even when its audit record fails: that failure is what
         * hearth_audit_chain_ok must tell Prometheus (rendered after the append) */
        gw_finish(r, 200, NULL);
        gw_metrics_render(g->met, &b);
        gw_pool_render(g->pool, &b);
        res = send_text(c, 200, b.data, "text/plain; version=0.0.4; charset=utf-8", 0);
    } else if ((!strcmp(method, "POST") && (!strcmp(url, "/v1/chat/completions") || !strcmp(url, "/v1/completions") ||
                                            !strcmp(url, "/v1/embeddings"))) ||
               (!strcmp(method, "GET") && !strcmp(url, "/v1/models"))) {
        res = model_request(r, c, method, url, cs->body.data);
        if (r->stream) return res;   /* the stream owns r */
    } else if (!strncmp(url, "/v1/files", 9) || !strncmp(url, "/v1/vector_stores", 17)) {
        res = store_request(r, c, method, url, cs);
    } else {
        res = fail(r, c, 404, "no such endpoint", "invalid_request_error", "not_found", 0);
    }
    gw_req_free(r);
    return res;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    hearth_gateway *g = cls;
    conn_state *cs = *con_cls;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        if (!cs) return MHD_NO;
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_size) {
        if (cs->body.len + *upload_size > g->c->max_body) cs->too_big = true;
        else hearth_buf_put(&cs->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(g, c, url, method, cs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    (void)cls;
    (void)c;
    (void)t;
    conn_state *cs = *con_cls;
    if (!cs) return;
    free(cs->body.data);
    free(cs);
    *con_cls = NULL;
}

/* ==== lifetime ====================================================================== */
#define USAGE_FLUSH_S 0.25      /* how often deferred usage counters are written */
static void flush_usage(void *user);

hearth_status hearth_gateway_create(const hearth_gateway_config *c, hearth_gateway **out) {
    *out = NULL;
    hearth_gateway *g = calloc(1, sizeof *g);
    if (!g) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    g->c = c;
    pthread_mutex_init(&g->curl_mu, NULL);
    hearth_status st = hearth_keystore_open(c->keys_db, &g->ks);
    if (!st) st = hearth_audit_open(c->audit_db, c->audit_sync_full, &g->au);
    /* checkpoints and usage writes off the request path (upkeep thread) */
    if (!st && !(g->bg = gw_bg_new())) st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    if (!st && !(g->sessions = gw_sessions_new(GW_SESSION_IDLE_S, GW_SESSION_MAX_S)))
        st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    if (!st && gw_audit_db(g->au))   /* SQLite: WAL checkpoints (PostgreSQL needs none) */
        st = gw_bg_watch(g->bg, gw_audit_db(g->au), c->audit_db, gw_audit_restart_wal, g->au);
    if (!st && gw_keystore_db(g->ks))   /* written by the upkeep thread itself */
        st = gw_bg_watch(g->bg, gw_keystore_db(g->ks), c->keys_db, NULL, NULL);
    if (!st) gw_keys_defer_usage(g->ks, true);
    if (!st) {
        g->lim = gw_limiter_new();
        if (g->lim) gw_limiter_share(g->lim, g->ks);   /* PostgreSQL: rates shared by every gateway */
        g->met = gw_metrics_new();
        g->pool = gw_pool_new(c);
        if (!g->lim || !g->met || !g->pool) st = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    if (!st && !c->ui_off) st = webui_create(c->ui_dir[0] ? c->ui_dir : NULL, &g->ui);
    if (st) {
        hearth_gateway_free(g);
        return st;
    }
    *out = g;
    return HEARTH_OK;
}

hearth_status hearth_gateway_start(hearth_gateway *g) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g->c->port);
    if (inet_pton(AF_INET, g->c->host, &sa.sin_addr) != 1)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "listen.host '%s' is not an IPv4 address", g->c->host);
    g->httpd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC,
                                (uint16_t)g->c->port, NULL, NULL, on_request, g, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(g->c->request_timeout_s + 30),
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)g->c->max_connections,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, g, MHD_OPTION_END);
    if (!g->httpd)
        return hearth_set_error(HEARTH_ERR_IO, "cannot listen on %s:%d (in use, or not allowed)", g->c->host, g->c->port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(g->httpd, MHD_DAEMON_INFO_BIND_PORT);
    g->port = di ? di->port : g->c->port;
    gw_pool_start(g->pool);
    gw_bg_start(g->bg, flush_usage, g, USAGE_FLUSH_S);
    return HEARTH_OK;
}

int hearth_gateway_port(const hearth_gateway *g) { return g->port; }

/* upkeep tick: the usage counters of the last moments go to the key database */
static void flush_usage(void *user) {
    hearth_gateway *g = user;
    if (gw_keys_flush_usage(g->ks)) hearth_log(HEARTH_LOG_ERROR, "gateway: %s", hearth_last_error());
}

void hearth_gateway_stop(hearth_gateway *g) {
    if (!g) return;
    if (g->httpd) {
        MHD_stop_daemon(g->httpd);
        g->httpd = NULL;
    }
    gw_pool_stop(g->pool);
    gw_bg_stop(g->bg);
    if (g->ks && gw_keys_flush_usage(g->ks)) hearth_log(HEARTH_LOG_ERROR, "gateway: %s", hearth_last_error());
}

void hearth_gateway_free(hearth_gateway *g) {
    if (!g) return;
    hearth_gateway_stop(g);
    gw_pool_free(g->pool);
    gw_metrics_free(g->met);
    gw_limiter_free(g->lim);
    gw_sessions_free(g->sessions);
    hearth_audit_free(g->au);
    hearth_keystore_free(g->ks);
    gw_bg_free(g->bg);   /* after the connections whose WAL hooks point into it */
    webui_free(g->ui);
    for (int i = 0; i < g->n_curl_idle; i++) curl_easy_cleanup(g->curl_idle[i]);
    pthread_mutex_destroy(&g->curl_mu);
    free(g);
}
