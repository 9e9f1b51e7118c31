/*
 * admin.c — the gateway's admin API and the admin console's login.
 *
 * Two ways in, both for admin keys only (a valid user key gets 403, a wrong,
 * revoked or expired key or session 401):
 *   - an API key (Authorization: Bearer or X-Api-Key), for scripts: every
 *     call is audited, as any API call;
 *   - a session, for the console: POST /admin/login with a form field "key"
 *     sets an HttpOnly, SameSite=Strict cookie (Secure behind TLS, i.e. when
 *     X-Forwarded-Proto is https) naming a server-side session
 *     (admin_session.c). State-changing calls through a session must carry
 *     the session's CSRF token in X-CSRF-Token (and, when the browser sends
 *     Origin, come from the gateway's own origin); reads through a session
 *     are not audited (the console polls), changes and refusals are (but
 *     not the page's "am I logged in?" with no cookie at all).
 *
 * Routes (JSON unless said):
 *   POST /admin/login            form key=...  -> {key_id, name, csrf}
 *   POST /admin/logout
 *   GET  /admin/api/session      -> {key_id, name, csrf, expires}
 *   GET|POST /admin/api/keys, DELETE /admin/api/keys/ID, POST .../ID/rotate
 *        (also at /admin/keys, the older path for scripts)
 *   GET  /admin/api/usage?since=MS&bucket=S[&key=ID]   requests allowed,
 *        rejected (429) and failed, tokens, per (time bucket, key, model)
 *   GET  /admin/api/audit?q=&key=&model=&status=&since=&until=&offset=&limit=
 *        newest first; /admin/api/audit.csv the same as CSV;
 *        /admin/api/audit/verify the chain's state
 *   GET  /admin/api/replicas, /admin/api/models, /admin/api/metrics (text)
 *   GET  /admin/models, POST /admin/models/load|swap|unload, POST /admin/aliases:
 *        hearth serve's hot model swaps, sent to every replica with
 *        upstream.admin_token_file's token
 * The pages themselves (/admin/) are static files of the web console.
 */
#include "gateway_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COOKIE "hearth_admin"
#define AUDIT_PAGE_MAX 500
#define USAGE_ROWS_MAX 20000

/* ==== replies ======================================================================= */
static int audit_failed(struct MHD_Connection *c) {
    return gw_send(c, 503, gw_err_body(GW_AUDIT_FAILED_WITHHELD, "server_error", "audit_failed"), NULL);
}

static int send_json(gw_req *r, struct MHD_Connection *c, int status, cJSON *o, bool audit) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (audit && !gw_finish(r, status, NULL)) {
        free(s);
        return audit_failed(c);
    }
    return gw_send(c, status, s, NULL);
}

static int bad_request(gw_req *r, struct MHD_Connection *c, const char *why) {
    return gw_fail(r, c, 400, why, "invalid_request_error", "invalid_admin_request", 0);
}

/* ==== who is asking ================================================================= */
typedef struct admin_ctx {
    gw_req *r;
    struct MHD_Connection *c;
    const char *method;
    bool session;                       /* through the console's cookie (else an API key) */
    char sid[GW_SESSION_TOKEN_LEN + 1]; /* the cookie's session id */
    char csrf[GW_SESSION_TOKEN_LEN + 1];
    int64_t expires;
} admin_ctx;

static bool is_read(const char *method) { return !strcmp(method, "GET") || !strcmp(method, "HEAD"); }

/* the browser's Origin, when it sent one, must be this gateway's own */
static bool same_origin(struct MHD_Connection *c) {
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin) return true;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *p = strstr(origin, "://");
    return host && p && !strcmp(p + 3, host);
}

/* an admin key that is still valid at now (the session's key may have been revoked since) */
static int session_key(admin_ctx *x, const char *key_id, const char **msg) {
    hearth_key_info *k = &x->r->key;
    if (hearth_keys_get(x->r->g->ks, key_id, k)) {
        *msg = "the session's admin key no longer exists; log in again";
        return 401;
    }
    int64_t now = gw_now_s();
    if (k->revoked || (k->expires && now >= k->expires) || k->role != HEARTH_ROLE_ADMIN) {
        gw_session_end_key(x->r->g->sessions, key_id);
        *msg = "the session's admin key has been revoked or has expired; log in again";
        return 401;
    }
    x->r->have_key = true;
    return 0;
}

/* 0 when the caller may use the admin API, else the status to answer (401, 403) */
static int authorize(admin_ctx *x, const char **msg, const char **code) {
    gw_req *r = x->r;
    if (gw_has_key(x->c)) {
        int st = gw_check_key(r, x->c, msg, code);
        if (st) return st;
    } else {
        const char *sid = MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, COOKIE);
        char key_id[HEARTH_KEY_ID_LEN + 1];
        *code = "admin_login_required";
        if (!sid || !*sid) {
            *msg = "log in at /admin with an admin key, or send one (Authorization: Bearer KEY)";
            return 401;
        }
        int64_t now = gw_now_s();
        if (!gw_session_check(r->g->sessions, sid, now, key_id, x->csrf, &x->expires)) {
            *msg = "the admin session has ended (logged out or expired); log in again";
            return 401;
        }
        snprintf(x->sid, sizeof x->sid, "%s", sid);
        x->session = true;
        int st = session_key(x, key_id, msg);
        if (st) return st;
        if (!is_read(x->method)) {
            const char *tok = MHD_lookup_connection_value(x->c, MHD_HEADER_KIND, "X-CSRF-Token");
            *code = "csrf_failed";
            if (!same_origin(x->c)) {
                *msg = "refused: the request comes from another site (Origin does not match)";
                return 403;
            }
            if (!gw_session_csrf_ok(r->g->sessions, sid, tok, now)) {
                *msg = tok ? "refused: the CSRF token (X-CSRF-Token) does not match the session's"
                           : "refused: a change through the console needs the session's CSRF token (X-CSRF-Token)";
                return 403;
            }
        }
    }
    if (r->key.role != HEARTH_ROLE_ADMIN) {
        *msg = "the admin API needs an admin key";
        *code = "admin_only";
        return 403;
    }
    return 0;
}

/* ==== login and logout ============================================================== */
static void set_cookie(struct MHD_Connection *c, struct MHD_Response *resp, const char *value, int64_t max_age) {
    const char *proto = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Proto");
    bool tls = proto && !strcasecmp(proto, "https");
    char h[256];
    snprintf(h, sizeof h, COOKIE "=%s; Path=/admin; Max-Age=%lld; HttpOnly; SameSite=Strict%s", value,
             (long long)max_age, tls ? "; Secure" : "");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, h);
}

static int send_with_cookie(struct MHD_Connection *c, int status, cJSON *o, const char *value, int64_t max_age) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    set_cookie(c, resp, value, max_age);
    int ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ok;
}

bool gw_form_field(const char *body, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nl) || p[nl] != '=') continue;
        const char *v = p + nl + 1, *e = strchr(v, '&');
        size_t n = e ? (size_t)(e - v) : strlen(v);
        if (n >= cap) return false;
        memcpy(out, v, n);
        out[n] = 0;
        for (char *q = out; *q; q++)
            if (*q == '+') *q = ' ';
        MHD_http_unescape(out);
        return true;
    }
    return false;
}

static cJSON *session_json(const hearth_key_info *k, const char *csrf, int64_t expires) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key_id", k->id);
    cJSON_AddStringToObject(o, "name", k->name);
    cJSON_AddStringToObject(o, "csrf", csrf);
    cJSON_AddNumberToObject(o, "expires", (double)expires);
    return o;
}

static int login(gw_req *r, struct MHD_Connection *c, const char *body) {
    hearth_gateway *g = r->g;
    r->endpoint = "/admin/login";
    int64_t now = gw_now_s();
    int wait = gw_login_blocked(g->sessions, r->client, now);
    if (wait) return gw_fail(r, c, 429, "too many failed logins from this address; wait and try again",
                             "rate_limit_exceeded", "login_throttled", wait);
    if (!same_origin(c))
        return gw_fail(r, c, 403, "refused: the login form was posted from another site", "permission_error",
                       "csrf_failed", 0);
    char key[HEARTH_KEY_MAX + 8];
    if (!body || !gw_form_field(body, "key", key, sizeof key) || !key[0]) {
        gw_login_failed(g->sessions, r->client, now);
        return bad_request(r, c, "the login form needs a field 'key' (an admin key, hk_...)");
    }
    hearth_key_check res;
    if (hearth_keys_verify(g->ks, key, now, &r->key, &res))
        return gw_fail(r, c, 500, "the key store could not be read", "server_error", "internal_error", 0);
    if (res != HEARTH_KEY_VALID) {
        gw_login_failed(g->sessions, r->client, now);
        char msg[160];
        snprintf(msg, sizeof msg, "login refused: %s admin key",
                 res == HEARTH_KEY_REVOKED ? "a revoked" : res == HEARTH_KEY_EXPIRED ? "an expired" : "not a valid");
        return gw_fail(r, c, 401, msg, "invalid_request_error", "invalid_api_key", 0);
    }
    r->have_key = true;
    if (r->key.role != HEARTH_ROLE_ADMIN)
        return gw_fail(r, c, 403, "login refused: this is a user key; the console needs an admin key",
                       "permission_error", "admin_only", 0);
    char sid[GW_SESSION_TOKEN_LEN + 1], csrf[GW_SESSION_TOKEN_LEN + 1];
    gw_session_create(g->sessions, r->key.id, now, sid, csrf);
    if (!gw_finish(r, 200, NULL)) {
        gw_session_end(g->sessions, sid);
        return audit_failed(c);
    }
    int64_t max_age = GW_SESSION_MAX_S;
    return send_with_cookie(c, 200, session_json(&r->key, csrf, now + GW_SESSION_IDLE_S), sid, max_age);
}

static int logout(admin_ctx *x) {
    x->r->endpoint = "/admin/logout";
    gw_session_end(x->r->g->sessions, x->sid);
    if (!gw_finish(x->r, 200, NULL))
        return audit_failed(x->c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "logged_out", true);
    return send_with_cookie(x->c, 200, o, "", 0);
}

/* ==== keys ========================================================================== */
static cJSON *key_json(const hearth_key_info *k) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", k->id);
    cJSON_AddStringToObject(o, "name", k->name);
    cJSON_AddStringToObject(o, "role", k->role == HEARTH_ROLE_ADMIN ? "admin" : "user");
    cJSON_AddStringToObject(o, "models", k->models);
    cJSON_AddNumberToObject(o, "rpm", (double)k->rpm);
    cJSON_AddNumberToObject(o, "tpm", (double)k->tpm);
    cJSON_AddNumberToObject(o, "max_concurrent", (double)k->max_concurrent);
    cJSON_AddNumberToObject(o, "budget_tokens", (double)k->budget_tokens);
    cJSON_AddStringToObject(o, "period", k->period == HEARTH_PERIOD_DAY ? "day" : k->period == HEARTH_PERIOD_MONTH ? "month" : "");
    cJSON_AddNumberToObject(o, "expires", (double)k->expires);
    cJSON_AddNumberToObject(o, "created", (double)k->created);
    cJSON_AddNumberToObject(o, "revoked", (double)k->revoked);
    return o;
}

static bool json_int(const cJSON *o, const char *name, int64_t *out, char *why, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        snprintf(why, cap, "'%s' must be a non-negative integer", name);
        return false;
    }
    *out = (int64_t)v->valuedouble;
    return true;
}

/* a key's settings from the JSON body; false with why set when something is wrong */
static bool key_params(const cJSON *o, hearth_key_params *p, char *models, size_t models_cap, char *why, size_t cap) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(o, "models");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(o, "role");
    const cJSON *period = cJSON_GetObjectItemCaseSensitive(o, "period");
    const cJSON *expires = cJSON_GetObjectItemCaseSensitive(o, "expires");
    models[0] = 0;
    if (!cJSON_IsString(name) || !name->valuestring[0]) snprintf(why, cap, "'name' (a string) is required");
    else p->name = name->valuestring;
    if (cJSON_IsString(mods)) snprintf(models, models_cap, "%s", mods->valuestring);
    else if (cJSON_IsArray(mods)) {
        const cJSON *m;
        cJSON_ArrayForEach(m, mods) if (cJSON_IsString(m)) {
            size_t l = strlen(models);
            snprintf(models + l, models_cap - l, "%s%s", l ? "," : "", m->valuestring);
        }
    } else if (mods && !cJSON_IsNull(mods)) snprintf(why, cap, "'models' must be a list of names");
    p->models = models;
    if (!why[0]) json_int(o, "rpm", &p->rpm, why, cap);
    if (!why[0]) json_int(o, "tpm", &p->tpm, why, cap);
    if (!why[0]) json_int(o, "max_concurrent", &p->max_concurrent, why, cap);
    if (!why[0]) json_int(o, "budget_tokens", &p->budget_tokens, why, cap);
    if (!why[0] && role && !cJSON_IsNull(role)) {
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "admin")) p->role = HEARTH_ROLE_ADMIN;
        else if (!cJSON_IsString(role) || strcmp(role->valuestring, "user")) snprintf(why, cap, "'role' must be admin or user");
    }
    if (!why[0] && period && !cJSON_IsNull(period) && !(cJSON_IsString(period) && !period->valuestring[0])) {
        if (cJSON_IsString(period) && !strcmp(period->valuestring, "day")) p->period = HEARTH_PERIOD_DAY;
        else if (cJSON_IsString(period) && !strcmp(period->valuestring, "month")) p->period = HEARTH_PERIOD_MONTH;
        else snprintf(why, cap, "'period' must be day or month");
    }
    if (!why[0] && expires && !cJSON_IsNull(expires) && !(cJSON_IsString(expires) && !expires->valuestring[0]) &&
        (!cJSON_IsString(expires) || !hearth_parse_date(expires->valuestring, &p->expires)))
        snprintf(why, cap, "'expires' must be a date YYYY-MM-DD");
    return !why[0];
}

static int keys_list(admin_ctx *x) {
    hearth_key_info *v;
    size_t n;
    if (hearth_keys_list(x->r->g->ks, &v, &n)) return gw_fail(x->r, x->c, 500, hearth_last_error(), "server_error", NULL, 0);
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "data");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, key_json(&v[i]));
    free(v);
    return send_json(x->r, x->c, 200, o, !x->session);
}

static int keys_create(admin_ctx *x, const char *body) {
    cJSON *o = cJSON_Parse(body ? body : "");
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return gw_fail(x->r, x->c, 400, "the body must be a JSON object", "invalid_request_error", "invalid_json", 0);
    }
    hearth_key_params p = hearth_key_default_params();
    char why[200] = "", models[1024];
    char key[HEARTH_KEY_MAX];
    hearth_key_info k;
    if (key_params(o, &p, models, sizeof models, why, sizeof why) && hearth_keys_create(x->r->g->ks, &p, key, &k))
        snprintf(why, sizeof why, "%s", hearth_last_error());
    cJSON_Delete(o);
    if (why[0]) return gw_fail(x->r, x->c, 400, why, "invalid_request_error", "invalid_key_request", 0);
    cJSON *out = key_json(&k);
    cJSON_AddStringToObject(out, "key", key);   /* shown once */
    return send_json(x->r, x->c, 201, out, true);
}

/* DELETE /ID (revoke) or POST /ID/rotate */
static int keys_change(admin_ctx *x, const char *rest) {
    char id[64];
    snprintf(id, sizeof id, "%s", rest + 1);
    bool rotate = false;
    char *slash = strchr(id, '/');
    if (slash) {
        if (strcmp(slash, "/rotate") || strcmp(x->method, "POST"))
            return gw_fail(x->r, x->c, 404, "no such admin endpoint", "invalid_request_error", "not_found", 0);
        *slash = 0;
        rotate = true;
    } else if (strcmp(x->method, "DELETE")) {
        return gw_fail(x->r, x->c, 405, "use DELETE /admin/api/keys/ID or POST /admin/api/keys/ID/rotate",
                       "invalid_request_error", "method_not_allowed", 0);
    }
    char key[HEARTH_KEY_MAX];
    hearth_status st = rotate ? hearth_keys_rotate(x->r->g->ks, id, key) : hearth_keys_revoke(x->r->g->ks, id);
    if (st) return gw_fail(x->r, x->c, st == HEARTH_ERR_NOT_FOUND ? 404 : 400, hearth_last_error(),
                           "invalid_request_error", "key_not_found", 0);
    gw_session_end_key(x->r->g->sessions, id);   /* a revoked or rotated admin key's sessions end */
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", id);
    if (rotate) cJSON_AddStringToObject(out, "key", key);
    else cJSON_AddBoolToObject(out, "revoked", true);
    return send_json(x->r, x->c, 200, out, true);
}

static int keys_route(admin_ctx *x, const char *rest, const char *body) {
    x->r->endpoint = "/admin/keys";
    bool top = !*rest || !strcmp(rest, "/");
    if (top && !strcmp(x->method, "GET")) return keys_list(x);
    if (top && !strcmp(x->method, "POST")) return keys_create(x, body);
    if (!top && rest[0] == '/') return keys_change(x, rest);
    return gw_fail(x->r, x->c, 405, "use GET or POST /admin/api/keys", "invalid_request_error", "method_not_allowed", 0);
}

/* ==== query parameters ============================================================== */
static const char *arg(admin_ctx *x, const char *name) {
    const char *v = MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

/* an integer parameter in [lo, hi] (default def when absent); false with why set */
static bool arg_int(admin_ctx *x, const char *name, int64_t def, int64_t lo, int64_t hi, int64_t *out, char *why,
                    size_t cap) {
    const char *v = arg(x, name);
    *out = def;
    if (!v) return true;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < lo || n > hi) {
        snprintf(why, cap, "query parameter '%s' must be an integer from %lld to %lld", name, (long long)lo,
                 (long long)hi);
        return false;
    }
    *out = n;
    return true;
}

/* ==== usage ========================================================================= */
typedef struct usage_row {
    int64_t t;                  /* bucket start, unix ms */
    char key_id[HEARTH_KEY_ID_LEN + 1];
    char model[128];
    int64_t allowed, rejected, failed, tokens_in, tokens_out;
} usage_row;

typedef struct usage_walk {
    int64_t bucket_ms;
    const char *key;            /* only this key, or NULL */
    usage_row *v;
    size_t n, cap;
    bool truncated, oom;
} usage_walk;

static int usage_add(const hearth_audit_record *a, void *user) {
    usage_walk *w = user;
    if (!a->key_id[0] || strncmp(a->endpoint, "/v1/", 4)) return 0;   /* model calls with a valid key */
    if (w->key && strcmp(a->key_id, w->key)) return 0;
    int64_t t = a->time_ms - a->time_ms % w->bucket_ms;
    usage_row *row = NULL;
    for (size_t i = w->n; i-- > 0;) {   /* the newest rows first: records come in time order */
        if (w->v[i].t != t) break;
        if (!strcmp(w->v[i].key_id, a->key_id) && !strcmp(w->v[i].model, a->model)) {
            row = &w->v[i];
            break;
        }
    }
    if (!row) {
        if (w->n == USAGE_ROWS_MAX) {
            w->truncated = true;
            return 1;
        }
        if (!HEARTH_GROW(w->v, w->cap, w->n + 1)) {
            w->oom = true;
            return 1;
        }
        row = &w->v[w->n++];
        memset(row, 0, sizeof *row);
        row->t = t;
        snprintf(row->key_id, sizeof row->key_id, "%s", a->key_id);
        snprintf(row->model, sizeof row->model, "%s", a->model);
    }
    if (a->status < 400) row->allowed++;
    else if (a->status == 429) row->rejected++;
    else row->failed++;
    row->tokens_in += a->tokens_in;
    row->tokens_out += a->tokens_out;
    return 0;
}

static int usage(admin_ctx *x) {
    char why[160] = "";
    int64_t now_ms = gw_now_ms(), since, bucket;
    if (!arg_int(x, "since", now_ms - 24 * 3600 * 1000LL, 0, INT64_MAX / 2, &since, why, sizeof why) ||
        !arg_int(x, "bucket", 3600, 1, 366 * 86400, &bucket, why, sizeof why))
        return bad_request(x->r, x->c, why);
    usage_walk w = {.bucket_ms = bucket * 1000, .key = arg(x, "key")};
    if (hearth_audit_each(x->r->g->au, since, 0, usage_add, &w) || w.oom) {
        free(w.v);
        return gw_fail(x->r, x->c, 500, w.oom ? "out of memory" : hearth_last_error(), "server_error", NULL, 0);
    }
    cJSON *o = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(o, "data");
    cJSON_AddNumberToObject(o, "since", (double)since);
    cJSON_AddNumberToObject(o, "bucket", (double)bucket);
    cJSON_AddBoolToObject(o, "truncated", w.truncated);
    for (size_t i = 0; i < w.n; i++) {
        const usage_row *u = &w.v[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "t", (double)u->t);
        cJSON_AddStringToObject(e, "key_id", u->key_id);
        cJSON_AddStringToObject(e, "model", u->model);
        cJSON_AddNumberToObject(e, "allowed", (double)u->allowed);
        cJSON_AddNumberToObject(e, "rejected", (double)u->rejected);
        cJSON_AddNumberToObject(e, "failed", (double)u->failed);
        cJSON_AddNumberToObject(e, "tokens_in", (double)u->tokens_in);
        cJSON_AddNumberToObject(e, "tokens_out", (double)u->tokens_out);
        cJSON_AddItemToArray(rows, e);
    }
    free(w.v);
    return send_json(x->r, x->c, 200, o, !x->session);
}

/* ==== audit log: search, CSV, verification ========================================== */
typedef struct audit_filter {
    const char *q, *key, *model;
    int status;                 /* exact status, or 100 * class (e.g. 400 for "4xx"); 0 = any */
    bool status_class;
} audit_filter;

static bool contains(const char *hay, const char *needle) { return hay && strcasestr(hay, needle); }

static bool audit_match(const audit_filter *f, const hearth_audit_record *a) {
    if (f->key && strcmp(a->key_id, f->key)) return false;
    if (f->model && strcmp(a->model, f->model)) return false;
    if (f->status && (f->status_class ? a->status / 100 * 100 != f->status : a->status != f->status)) return false;
    if (f->q && !contains(a->key_id, f->q) && !contains(a->model, f->q) && !contains(a->adapter, f->q) &&
        !contains(a->endpoint, f->q) && !contains(a->client, f->q) && !contains(a->pii_kinds, f->q))
        return false;
    return true;
}

typedef struct audit_walk {
    const audit_filter *f;
    int64_t total;              /* matches seen */
    int64_t lo, hi;             /* keep matches with index in [lo, hi) (in id order) */
    char **kept;
    size_t n_kept;
    hearth_buf *csv;            /* CSV export: every match goes here instead */
    bool oom;
} audit_walk;

static int audit_count(const hearth_audit_record *a, void *user) {
    audit_walk *w = user;
    if (audit_match(w->f, a)) w->total++;
    return 0;
}

static void csv_cell(hearth_buf *b, const char *s) {
    /* quoted; a cell that a spreadsheet would take for a formula gets a leading ' */
    hearth_buf_putc(b, '"');
    if (s && (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r')) hearth_buf_putc(b, '\'');
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '"') hearth_buf_putc(b, '"');
        hearth_buf_putc(b, *p);
    }
    hearth_buf_putc(b, '"');
}

static void csv_row(hearth_buf *b, const hearth_audit_record *a) {
    time_t t = (time_t)(a->time_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    hearth_buf_printf(b, "%lld,%s.%03dZ,", (long long)a->id, when, (int)(a->time_ms % 1000));
    const char *text[] = {a->key_id, a->model, a->adapter, a->endpoint};
    for (int i = 0; i < 4; i++) {
        csv_cell(b, text[i]);
        hearth_buf_putc(b, ',');
    }
    hearth_buf_printf(b, "%d,%lld,%lld,%lld,", a->status, (long long)a->tokens_in, (long long)a->tokens_out,
                      (long long)a->latency_ms);
    csv_cell(b, a->pii_kinds);
    hearth_buf_putc(b, ',');
    csv_cell(b, a->client);
    hearth_buf_printf(b, ",%s\r\n", a->hash);
}

static int audit_collect(const hearth_audit_record *a, void *user) {
    audit_walk *w = user;
    if (!audit_match(w->f, a)) return 0;
    int64_t i = w->total++;
    if (w->csv) {
        csv_row(w->csv, a);
        return w->csv->oom;
    }
    if (i < w->lo || i >= w->hi) return 0;
    char *js = hearth_audit_record_json(a, true);
    if (!js) {
        w->oom = true;
        return 1;
    }
    w->kept[w->n_kept++] = js;
    return 0;
}

/* the filter from the query; false with why set */
static bool audit_args(admin_ctx *x, audit_filter *f, int64_t *since, int64_t *until, char *why, size_t cap) {
    memset(f, 0, sizeof *f);
    f->q = arg(x, "q");
    f->key = arg(x, "key");
    f->model = arg(x, "model");
    const char *st = arg(x, "status");
    if (st) {
        if (strlen(st) == 3 && st[0] >= '1' && st[0] <= '5' && !strcasecmp(st + 1, "xx")) {
            f->status = (st[0] - '0') * 100;
            f->status_class = true;
        } else {
            int64_t v;
            if (!arg_int(x, "status", 0, 100, 599, &v, why, cap)) {
                snprintf(why, cap, "query parameter 'status' must be an HTTP status (429) or a class (4xx)");
                return false;
            }
            f->status = (int)v;
        }
    }
    return arg_int(x, "since", 0, 0, INT64_MAX / 2, since, why, cap) &&
           arg_int(x, "until", 0, 0, INT64_MAX / 2, until, why, cap);
}

/* after a walk (or render) that wrote b: false with *res the answer (500; b
 * freed) when it failed or the audit record of an API-key read could not be
 * written */
static bool walk_ok(admin_ctx *x, hearth_buf *b, hearth_status st, bool oom, int *res) {
    if (st || oom || b->oom) {
        hearth_buf_free(b);
        *res = gw_fail(x->r, x->c, 500, st ? hearth_last_error() : "out of memory", "server_error", NULL, 0);
        return false;
    }
    if (!x->session && !gw_finish(x->r, 200, NULL)) {
        hearth_buf_free(b);
        *res = audit_failed(x->c);
        return false;
    }
    return true;
}

static int audit_search(admin_ctx *x) {
    char why[160] = "";
    audit_filter f;
    int64_t since, until, offset, limit;
    if (!audit_args(x, &f, &since, &until, why, sizeof why) ||
        !arg_int(x, "offset", 0, 0, INT64_MAX / 2, &offset, why, sizeof why) ||
        !arg_int(x, "limit", 50, 1, AUDIT_PAGE_MAX, &limit, why, sizeof why))
        return bad_request(x->r, x->c, why);
    hearth_audit *au = x->r->g->au;
    /* two walks: count the matches, then keep the page (newest first: the
     * page's matches are the last ones in id order, counting back from offset) */
    audit_walk w = {.f = &f};
    hearth_status st = hearth_audit_each(au, since, until, audit_count, &w);
    int64_t total = w.total;
    w.hi = total - offset;
    w.lo = w.hi - limit < 0 ? 0 : w.hi - limit;
    w.total = 0;
    w.kept = calloc((size_t)limit, sizeof *w.kept);
    if (!w.kept) return gw_fail(x->r, x->c, 500, "out of memory", "server_error", NULL, 0);
    if (!st && w.hi > 0) st = hearth_audit_each(au, since, until, audit_collect, &w);
    hearth_buf b = {0};
    hearth_buf_printf(&b, "{\"total\":%lld,\"offset\":%lld,\"limit\":%lld,\"data\":[", (long long)total,
                      (long long)offset, (long long)limit);
    for (size_t i = w.n_kept; i-- > 0;) {
        hearth_buf_puts(&b, w.kept[i]);
        if (i) hearth_buf_putc(&b, ',');
        free(w.kept[i]);
    }
    free(w.kept);
    hearth_buf_puts(&b, "]}");
    int res;
    if (!walk_ok(x, &b, st, w.oom, &res)) return res;
    return gw_send(x->c, 200, hearth_buf_take(&b, NULL), NULL);
}

static int audit_csv(admin_ctx *x) {
    char why[160] = "";
    audit_filter f;
    int64_t since, until;
    if (!audit_args(x, &f, &since, &until, why, sizeof why)) return bad_request(x->r, x->c, why);
    hearth_buf b = {0};
    hearth_buf_puts(&b, "id,time,key_id,model,adapter,endpoint,status,tokens_in,tokens_out,latency_ms,pii_kinds,"
                        "client,hash\r\n");
    audit_walk w = {.f = &f, .csv = &b};
    hearth_status st = hearth_audit_each(x->r->g->au, since, until, audit_collect, &w);
    int res;
    if (!walk_ok(x, &b, st, false, &res)) return res;
    size_t n;
    char *s = hearth_buf_take(&b, &n);
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, "attachment; filename=\"hearth-audit.csv\"");
    int ok = MHD_queue_response(x->c, 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

static int audit_verify(admin_ctx *x) {
    int64_t n = 0, bad = 0;
    hearth_status st = hearth_audit_verify(x->r->g->au, &n, &bad);
    if (st && st != HEARTH_ERR_FORMAT) return gw_fail(x->r, x->c, 500, hearth_last_error(), "server_error", NULL, 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "verified", st == HEARTH_OK);
    cJSON_AddNumberToObject(o, "records", (double)n);
    if (st) {
        cJSON_AddNumberToObject(o, "bad_id", (double)bad);
        cJSON_AddStringToObject(o, "error", hearth_last_error());
    }
    return send_json(x->r, x->c, 200, o, !x->session);
}

/* ==== replicas, models, metrics ===================================================== */
static int replicas(admin_ctx *x) {
    gw_pool *p = x->r->g->pool;
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "data");
    for (int i = 0; i < gw_pool_size(p); i++) {
        bool healthy;
        int64_t in_flight;
        uint64_t requests, failures;
        gw_pool_state(p, i, &healthy, &in_flight, &requests, &failures);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "url", gw_pool_url(p, i));
        cJSON_AddBoolToObject(e, "healthy", healthy);
        cJSON_AddNumberToObject(e, "in_flight", (double)in_flight);
        cJSON_AddNumberToObject(e, "requests", (double)requests);
        cJSON_AddNumberToObject(e, "failures", (double)failures);
        cJSON_AddItemToArray(arr, e);
    }
    return send_json(x->r, x->c, 200, o, !x->session);
}

static int models(admin_ctx *x) {
    int status = 0;
    char *answer = NULL;
    gw_proxy_call(x->r->g, "GET", "/v1/models", NULL, &status, &answer);
    if (!x->session && !gw_finish(x->r, status, NULL)) {
        free(answer);
        return audit_failed(x->c);
    }
    return gw_send(x->c, status ? status : 502, answer, NULL);
}

static int metrics(admin_ctx *x) {
    hearth_buf b = {0};
    gw_metrics_render(x->r->g->met, &b);
    gw_pool_render(x->r->g->pool, &b);
    int res;
    if (!walk_ok(x, &b, HEARTH_OK, false, &res)) return res;
    return gw_send(x->c, 200, hearth_buf_take(&b, NULL), "text/plain; version=0.0.4; charset=utf-8");
}

/* hearth serve's model admin API (/admin/models..., /admin/aliases; src/server/admin_models.c) on every
 * replica, with the replicas' admin token: one replica's answer as it is; several: {"replicas": [{"replica",
 * "status", "answer"}]} with the first failing status */
static bool serve_admin_route(const char *url) {
    return !strcmp(url, "/admin/models") || !strncmp(url, "/admin/models/", 14) || !strcmp(url, "/admin/aliases") ||
           !strcmp(url, "/admin/prompts") || !strncmp(url, "/admin/prompts/", 15);
}

static int serve_admin(admin_ctx *x, const char *url, const char *body) {
    hearth_gateway *g = x->r->g;
    /* the prompt library (serve --prompts, src/server/prompts.c): one replica holds it; a change (a new
     * version, a label move) goes into the audit record with its request body */
    bool prompts = !strncmp(url, "/admin/prompts", 14);
    x->r->endpoint = prompts ? "/admin/prompts" : "/admin/models";
    if (prompts && strcmp(x->method, "GET"))   /* the record's model field is always kept: what changed */
        snprintf(x->r->model, sizeof x->r->model, "prompts %s %.200s", url[14] ? url + 15 : "(add)", body ? body : "");
    if (!g->c->upstream_admin_token[0])
        return gw_fail(x->r, x->c, 404, "model admin is off: the gateway has no upstream.admin_token_file",
                       "invalid_request_error", "not_found", 0);
    int n = prompts ? 1 : gw_pool_size(g->pool), status = 200;
    char *one = NULL;
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "replicas");
    for (int i = 0; i < n; i++) {
        int st = 0;
        char *answer = NULL;
        gw_proxy_admin(g, i, x->method, url, body, &st, &answer);
        if (status < 300 && (st >= 300 || i == 0)) status = st;
        cJSON *e = cJSON_CreateObject(), *a = cJSON_Parse(answer);
        cJSON_AddStringToObject(e, "replica", gw_pool_url(g->pool, i));
        cJSON_AddNumberToObject(e, "status", st);
        cJSON_AddItemToObject(e, "answer", a ? a : cJSON_CreateString(answer ? answer : ""));
        cJSON_AddItemToArray(arr, e);
        if (n == 1) one = answer;
        else free(answer);
    }
    if (!x->session && !gw_finish(x->r, status, NULL)) {
        free(one);
        cJSON_Delete(o);
        return audit_failed(x->c);
    }
    if (n == 1) {
        cJSON_Delete(o);
        return gw_send(x->c, status, one, NULL);
    }
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return gw_send(x->c, status, out, NULL);
}

/* ==== routing ======================================================================= */
bool gw_admin_route(const char *url) {
    return !strcmp(url, "/admin/login") || !strcmp(url, "/admin/logout") || !strncmp(url, "/admin/api/", 11) ||
           ((!strncmp(url, "/admin/keys", 11)) && (url[11] == 0 || url[11] == '/')) || serve_admin_route(url);
}

int gw_admin_request(gw_req *r, struct MHD_Connection *c, const char *method, const char *url, const char *body) {
    if (!strcmp(url, "/admin/login")) {
        r->endpoint = "/admin/login";
        if (strcmp(method, "POST"))
            return gw_fail(r, c, 405, "log in with POST /admin/login (form field 'key')", "invalid_request_error",
                           "method_not_allowed", 0);
        return login(r, c, body);
    }
    /* the audit log's name for the route */
    if (!strncmp(url, "/admin/keys", 11) || !strncmp(url, "/admin/api/keys", 15)) r->endpoint = "/admin/keys";
    else if (!strcmp(url, "/admin/logout")) r->endpoint = "/admin/logout";
    else r->endpoint = "/admin/api";
    admin_ctx x = {.r = r, .c = c, .method = method};
    const char *msg = NULL, *code = NULL;
    int st = authorize(&x, &msg, &code);
    /* the page asks whether it has a session on every load: a plain "no" is not an event */
    if (st == 401 && !strcmp(url, "/admin/api/session") && !gw_has_key(c) &&
        !MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE))
        return gw_send(c, 401, gw_err_body(msg, "invalid_request_error", code), NULL);
    if (st) return gw_fail(r, c, st, msg, st == 403 ? "permission_error" : "invalid_request_error", code, 0);
    if (!strcmp(url, "/admin/logout")) {
        if (!x.session) return bad_request(r, c, "logout ends a console session; API keys have none");
        return logout(&x);
    }
    if (!strncmp(url, "/admin/keys", 11)) return keys_route(&x, url + 11, body);
    if (serve_admin_route(url)) return serve_admin(&x, url, body);
    const char *api = url + strlen("/admin/api");
    if (!strncmp(api, "/keys", 5) && (api[5] == 0 || api[5] == '/')) return keys_route(&x, api + 5, body);
    if (!is_read(method))
        return gw_fail(r, c, 405, "this admin endpoint is read-only (GET)", "invalid_request_error",
                       "method_not_allowed", 0);
    if (!strcmp(api, "/session")) {
        if (!x.session) return bad_request(r, c, "/admin/api/session describes a console session; API keys have none");
        return send_json(r, c, 200, session_json(&r->key, x.csrf, x.expires), false);
    }
    if (!strcmp(api, "/usage")) return usage(&x);
    if (!strcmp(api, "/audit")) return audit_search(&x);
    if (!strcmp(api, "/audit.csv")) return audit_csv(&x);
    if (!strcmp(api, "/audit/verify")) return audit_verify(&x);
    if (!strcmp(api, "/replicas")) return replicas(&x);
    if (!strcmp(api, "/models")) return models(&x);
    if (!strcmp(api, "/metrics")) return metrics(&x);
    return gw_fail(r, c, 404, "no such admin endpoint", "invalid_request_error", "not_found", 0);
}
