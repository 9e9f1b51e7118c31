/*
 * proxy.c — forwarding to `hearth serve` replicas with libcurl.
 *
 * Non-streaming: one blocking call in the connection's thread; a replica that
 * fails in transport (refused, reset, closed early) is taken out and the
 * request goes to the next least-busy one — nothing reached the client yet.
 *
 * Streaming: a worker thread runs the upstream transfer and turns its
 * server-sent events into client events (placeholders restored, the usage
 * chunk dropped when the client did not ask for it); the connection's thread
 * hands them to libmicrohttpd as they come. Until the first event is passed
 * on, a failed replica is retried on another; after that, a failure ends the
 * stream with an error event. The audit record is written before the final
 * "data: [DONE]"; if it cannot be written the client gets an error event
 * instead.
 */
#include "gateway_internal.h"

#include "hearth/pii.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== libcurl handles =============================================================== */
void *gw_curl_get(hearth_gateway *g) {
    pthread_mutex_lock(&g->curl_mu);
    CURL *h = g->n_curl_idle ? g->curl_idle[--g->n_curl_idle] : NULL;
    pthread_mutex_unlock(&g->curl_mu);
    if (!h) h = curl_easy_init();
    else curl_easy_reset(h);   /* keeps its open connections */
    return h;
}

void gw_curl_put(hearth_gateway *g, void *h) {
    if (!h) return;
    pthread_mutex_lock(&g->curl_mu);
    if (g->n_curl_idle < (int)(sizeof g->curl_idle / sizeof g->curl_idle[0])) {
        g->curl_idle[g->n_curl_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&g->curl_mu);
    if (h) curl_easy_cleanup(h);
}

static void setup(hearth_gateway *g, CURL *h, const char *method, const char *url, const char *body,
                  struct curl_slist *hdrs) {
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)g->c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)g->c->request_timeout_s);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    }
}

static struct curl_slist *json_headers(void) {
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    return curl_slist_append(h, "Expect:");
}

/* transport failures that mean the replica (not the request) is at fault */
static bool replica_fault(CURLcode rc) {
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE || rc == CURLE_COULDNT_RESOLVE_HOST;
}

static char *error_json(const char *msg, const char *type, const char *code) {
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "code", code);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ==== non-streaming ================================================================= */
static size_t collect(char *ptr, size_t size, size_t n, void *user) {
    hearth_buf_put((hearth_buf *)user, ptr, size * n);
    return size * n;
}

bool gw_proxy_call(hearth_gateway *g, const char *method, const char *path, const char *body, int *status,
                   char **resp) {
    int n = gw_pool_size(g->pool);
    int attempts = g->c->max_attempts > 0 && g->c->max_attempts < n ? g->c->max_attempts : n;
    uint32_t tried = 0;
    struct curl_slist *hdrs = json_headers();
    CURLcode last = CURLE_OK;
    for (int a = 0; a < attempts; a++) {
        int i = gw_pool_acquire(g->pool, tried);
        if (i < 0) break;
        tried |= 1u << i;
        char url[512];
        snprintf(url, sizeof url, "%s%s", gw_pool_url(g->pool, i), path);
        CURL *h = gw_curl_get(g);
        hearth_buf out = {0};
        setup(g, h, method, url, body, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
        last = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        gw_curl_put(g, h);
        if (last == CURLE_OK && code != 503) {
            gw_pool_release(g->pool, i, false);
            curl_slist_free_all(hdrs);
            *status = (int)code;
            *resp = out.data ? out.data : strdup("");
            return true;
        }
        free(out.data);
        gw_pool_release(g->pool, i, last != CURLE_OK && replica_fault(last));
        if (last != CURLE_OK && !replica_fault(last)) break;   /* e.g. a timeout: do not repeat the work */
    }
    curl_slist_free_all(hdrs);
    char msg[256];
    snprintf(msg, sizeof msg, "no replica could answer (%s)",
             last == CURLE_OK ? "all busy or unavailable" : curl_easy_strerror(last));
    *status = last == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
    *resp = error_json(msg, "upstream_error", "upstream_unavailable");
    return false;
}

void gw_proxy_admin(hearth_gateway *g, int i, const char *method, const char *path, const char *body, int *status,
                    char **resp) {
    char url[512], auth[300];
    snprintf(url, sizeof url, "%s%s", gw_pool_url(g->pool, i), path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", g->c->upstream_admin_token);
    struct curl_slist *hdrs = curl_slist_append(json_headers(), auth);
    CURL *h = gw_curl_get(g);
    hearth_buf out = {0};
    setup(g, h, method, url, body, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    gw_curl_put(g, h);
    curl_slist_free_all(hdrs);
    if (rc == CURLE_OK) {
        *status = (int)code;
        *resp = out.data ? out.data : strdup("");
        return;
    }
    free(out.data);
    char msg[300];
    snprintf(msg, sizeof msg, "replica %s did not answer (%s)", gw_pool_url(g->pool, i), curl_easy_strerror(rc));
    *status = rc == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
    *resp = error_json(msg, "upstream_error", "upstream_unavailable");
}

bool gw_proxy_raw(hearth_gateway *g, const char *method, const char *path, const char *ctype, const char *body,
                  size_t len, int *status, hearth_buf *resp) {
    int n = gw_pool_size(g->pool);
    int attempts = g->c->max_attempts > 0 && g->c->max_attempts < n ? g->c->max_attempts : n;
    uint32_t tried = 0;
    char ct[300];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    struct curl_slist *hdrs = curl_slist_append(curl_slist_append(NULL, ct), "Expect:");
    CURLcode last = CURLE_OK;
    for (int a = 0; a < attempts; a++) {
        int i = gw_pool_acquire(g->pool, tried);
        if (i < 0) break;
        tried |= 1u << i;
        char url[768];
        snprintf(url, sizeof url, "%s%s", gw_pool_url(g->pool, i), path);
        CURL *h = gw_curl_get(g);
        hearth_buf_reset(resp);
        setup(g, h, "GET", url, NULL, hdrs);
        if (!strcmp(method, "POST")) {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
        } else if (strcmp(method, "GET")) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
        last = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);   /* the handle is reused */
        gw_curl_put(g, h);
        if (last == CURLE_OK && code != 503) {
            gw_pool_release(g->pool, i, false);
            curl_slist_free_all(hdrs);
            *status = (int)code;
            return true;
        }
        gw_pool_release(g->pool, i, last != CURLE_OK && replica_fault(last));
        if (last != CURLE_OK && !replica_fault(last)) break;
    }
    curl_slist_free_all(hdrs);
    char msg[256];
    snprintf(msg, sizeof msg, "no replica could answer (%s)",
             last == CURLE_OK ? "all busy or unavailable" : curl_easy_strerror(last));
    *status = last == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
    char *e = error_json(msg, "upstream_error", "upstream_unavailable");
    hearth_buf_reset(resp);
    if (e) hearth_buf_puts(resp, e);
    free(e);
    return false;
}

/* ==== streaming ===================================================================== */
typedef struct stream {
    gw_req *r;
    char *path, *body;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                   /* the worker and the MHD response */
    /* upstream state (worker only) */
    int replica;
    bool started;               /* an event was passed to the client */
    hearth_buf in;                  /* upstream bytes not yet split into events */
    hearth_buf text;                /* the response text (masked form) for the audit record */
    hearth_pii_unmasker *um[8]; /* per choice: restores placeholders split across chunks */
    gw_resp_filter *rf[8];      /* per choice: the response policy over the model's output */
    bool done_sent, abort_upstream;
    int64_t chunks;
    /* shared (under mu) */
    int status;                 /* 0 until known */
    hearth_buf q;                   /* bytes for the client */
    size_t q_off;
    char *err_body;             /* a non-200 answer before any event */
    bool finished, cancelled;
} stream;

static void stream_unref(stream *s) {
    pthread_mutex_lock(&s->mu);
    int left = --s->refs;
    pthread_mutex_unlock(&s->mu);
    if (left) return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->path);
    free(s->body);
    free(s->in.data);
    free(s->text.data);
    free(s->q.data);
    free(s->err_body);
    for (int i = 0; i < 8; i++) {
        hearth_pii_unmasker_free(s->um[i]);
        gw_resp_filter_free(s->rf[i]);
    }
    gw_req_free(s->r);
    free(s);
}

static void push(stream *s, const char *data, size_t n) {
    pthread_mutex_lock(&s->mu);
    if (s->status == 0) s->status = 200;
    hearth_buf_put(&s->q, data, n);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    s->started = true;
}

static void push_event(stream *s, const char *json) {
    hearth_buf e = {0};
    hearth_buf_put(&e, "data: ", 6);
    hearth_buf_put(&e, json, strlen(json));
    hearth_buf_put(&e, "\n\n", 2);
    push(s, e.data, e.len);
    free(e.data);
}

/* restores placeholders in a delta, holding back a possible partial one */
static char *restore_piece(stream *s, int idx, const char *piece, bool flush) {
    if (idx < 0 || idx >= 8) idx = 0;
    if (!s->um[idx]) s->um[idx] = hearth_pii_unmasker_create(gw_scrub_mapping(s->r->scrub));
    if (!s->um[idx]) return strdup(piece);
    const char *out = NULL;
    size_t n = 0;
    hearth_buf t = {0};
    if (hearth_pii_unmasker_feed(s->um[idx], piece, strlen(piece), &out, &n) == HEARTH_OK) hearth_buf_put(&t, out, n);
    if (flush && hearth_pii_unmasker_finish(s->um[idx], &out, &n) == HEARTH_OK) hearth_buf_put(&t, out, n);
    return t.data ? t.data : strdup("");
}

/* bytes still held back for choice idx */
static bool has_held(stream *s, int idx) {
    return idx >= 0 && idx < 8 && (s->um[idx] != NULL || s->rf[idx] != NULL);
}

/* the response policy on a piece of model output (holding back a possible
 * start of personal data); NULL on allocation failure */
static char *police(stream *s, int idx, const char *piece, bool flush, bool *blocked) {
    const gw_pii_policy *pol = s->r->pii;
    *blocked = false;
    if (!pol || pol->response == GW_PII_ALLOW) return strdup(piece);
    if (idx < 0 || idx >= 8) idx = 0;
    if (!s->rf[idx]) s->rf[idx] = gw_resp_filter_new(pol->resp_pol, pol->response == GW_PII_BLOCK);
    if (!s->rf[idx]) return NULL;
    return gw_resp_filter_feed(s->rf[idx], piece, flush, blocked);
}

/* before the audit record: the kinds the response policy found in the model's
 * output (under allow nothing was filtered, so the text is scanned once now) */
static void stream_resp_kinds(stream *s) {
    gw_req *r = s->r;
    for (int i = 0; i < 8; i++)
        if (s->rf[i]) gw_kinds_add(r->resp_kinds, sizeof r->resp_kinds, gw_resp_filter_kinds(s->rf[i]));
    if (r->pii && r->pii->response == GW_PII_ALLOW && s->text.data) {
        gw_scrub *scan = gw_scrub_new();
        char *t = scan ? gw_scrub_text(scan, s->text.data, r->pii->resp_pol) : NULL;
        if (t) gw_kinds_add(r->resp_kinds, sizeof r->resp_kinds, gw_scrub_kinds(scan));
        free(t);
        gw_scrub_free(scan);
    }
}

/* the response policy found personal data under block: end the stream with an
 * error event naming the kinds (never the values) and stop the upstream */
static void block_stream(stream *s, int idx) {
    gw_req *r = s->r;
    char msg[400];
    snprintf(msg, sizeof msg, "the model's answer contained personal data (%s) and was withheld",
             gw_resp_filter_kinds(s->rf[idx < 0 || idx >= 8 ? 0 : idx]));
    char *e = error_json(msg, "upstream_error", "pii_blocked_response");
    if (r->tokens_out == 0) r->tokens_out = s->chunks;
    stream_resp_kinds(s);
    if (!gw_finish(r, 502, s->text.data ? s->text.data : "")) {
        free(e);
        e = error_json(GW_AUDIT_FAILED_WITHHELD, "server_error",
                       "audit_failed");
    }
    push_event(s, e);
    free(e);
    s->done_sent = true;
    s->abort_upstream = true;
}

/* one piece of a choice: policy, audit text, placeholders restored; NULL when
 * the stream was ended (blocked) or memory ran out */
static char *process_piece(stream *s, int idx, const char *piece, bool flush) {
    bool blocked = false;
    char *policed = police(s, idx, piece, flush, &blocked);
    if (blocked) {
        free(policed);
        block_stream(s, idx);
        return NULL;
    }
    if (!policed) return NULL;
    hearth_buf_put(&s->text, policed, strlen(policed));
    char *restored = restore_piece(s, idx, policed, flush);
    free(policed);
    return restored;
}

/* before [DONE]: text still held back by a choice whose stream had no finish_reason */
static bool flush_held(stream *s) {
    bool chat = !strcmp(s->r->endpoint, "/v1/chat/completions");
    for (int i = 0; i < 8; i++) {
        if (!has_held(s, i)) continue;
        char *rest = process_piece(s, i, "", true);
        if (!rest) return false;
        if (*rest) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "object", chat ? "chat.completion.chunk" : "text_completion");
            cJSON *arr = cJSON_AddArrayToObject(o, "choices"), *c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "index", i);
            if (chat) cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "delta"), "content", rest);
            else cJSON_AddStringToObject(c, "text", rest);
            cJSON_AddNullToObject(c, "finish_reason");
            cJSON_AddItemToArray(arr, c);
            char *js = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            if (js) push_event(s, js);
            free(js);
        }
        free(rest);
        if (s->rf[i]) gw_kinds_add(s->r->resp_kinds, sizeof s->r->resp_kinds, gw_resp_filter_kinds(s->rf[i]));
        gw_resp_filter_free(s->rf[i]);
        s->rf[i] = NULL;
        hearth_pii_unmasker_free(s->um[i]);
        s->um[i] = NULL;
    }
    return true;
}

static void on_event(stream *s, char *ev) {
    gw_req *r = s->r;
    /* one event: lines; we act on the data line */
    char *data = strstr(ev, "data:");
    if (!data) return;
    data += 5;
    while (*data == ' ') data++;
    if (!strncmp(data, "[DONE]", 6)) {
        if (!flush_held(s)) return;   /* blocked: the stream has ended */
        if (r->tokens_out == 0) r->tokens_out = s->chunks;
        bool keep = r->pii && r->pii->response != GW_PII_ALLOW;
        stream_resp_kinds(s);
        bool ok = gw_finish(r, 200, keep ? (s->text.data ? s->text.data : "") : NULL);
        if (ok) push(s, "data: [DONE]\n\n", 14);
        else {
            char *e = error_json(GW_AUDIT_FAILED_WITHHELD, "server_error",
                                 "audit_failed");
            push_event(s, e);
            free(e);
        }
        s->done_sent = true;
        return;
    }
    cJSON *o = cJSON_Parse(data);
    if (!o) {
        push(s, ev, strlen(ev));
        push(s, "\n\n", 2);
        return;
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "usage");
    if (cJSON_IsObject(u)) {
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
        if (cJSON_IsNumber(pt)) r->tokens_in = (int64_t)pt->valuedouble;
        if (cJSON_IsNumber(ct)) r->tokens_out = (int64_t)ct->valuedouble;
    }
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
    if (cJSON_IsArray(choices) && cJSON_GetArraySize(choices) == 0 && cJSON_IsObject(u) && !r->client_wants_usage) {
        cJSON_Delete(o);
        return;   /* the usage chunk the gateway asked for on its own account */
    }
    cJSON *c;
    cJSON_ArrayForEach(c, choices) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(c, "index");
        int idx = cJSON_IsNumber(ix) ? (int)ix->valuedouble : 0;
        const cJSON *fin = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
        bool flush = fin && !cJSON_IsNull(fin);
        cJSON *delta = cJSON_GetObjectItemCaseSensitive(c, "delta");
        cJSON *holder = cJSON_IsObject(delta) ? delta : c;
        const char *field = cJSON_IsObject(delta) ? "content" : "text";
        cJSON *txt = cJSON_GetObjectItemCaseSensitive(holder, field);
        bool has_txt = cJSON_IsString(txt);
        if (!has_txt && !(flush && has_held(s, idx))) continue;
        if (has_txt) s->chunks++;
        char *restored = process_piece(s, idx, has_txt ? txt->valuestring : "", flush);
        if (!restored) {
            cJSON_Delete(o);
            if (!s->done_sent) {   /* out of memory */
                char *e = error_json("out of memory", "server_error", "internal_error");
                push_event(s, e);
                free(e);
                gw_finish(r, 500, NULL);
                s->done_sent = s->abort_upstream = true;
            }
            return;
        }
        if (has_txt) cJSON_ReplaceItemInObjectCaseSensitive(holder, field, cJSON_CreateString(restored));
        else if (*restored) cJSON_AddStringToObject(holder, field, restored);
        free(restored);
    }
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (js) push_event(s, js);
    free(js);
}

static size_t stream_write(char *ptr, size_t size, size_t n, void *user) {
    stream *s = user;
    size_t len = size * n;
    pthread_mutex_lock(&s->mu);
    bool cancelled = s->cancelled;
    pthread_mutex_unlock(&s->mu);
    if (cancelled || s->abort_upstream) return 0;
    hearth_buf_put(&s->in, ptr, len);
    /* split into events at blank lines */
    for (;;) {
        char *p = s->in.data;
        if (!p) break;
        char *end = strstr(p, "\n\n");
        size_t sep = 2;
        char *crlf = strstr(p, "\r\n\r\n");
        if (crlf && (!end || crlf < end)) {
            end = crlf;
            sep = 4;
        }
        if (!end) break;
        *end = 0;
        if (!s->done_sent) on_event(s, p);
        size_t used = (size_t)(end - p) + sep;
        memmove(s->in.data, s->in.data + used, s->in.len - used + 1);
        s->in.len -= used;
    }
    return len;
}

typedef struct status_probe {
    stream *s;
    hearth_buf body;                /* non-200 answers are collected whole */
    long code;
    CURL *h;
} status_probe;

static size_t probe_write(char *ptr, size_t size, size_t n, void *user) {
    status_probe *p = user;
    if (!p->code) curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &p->code);
    if (p->code != 200) {
        hearth_buf_put(&p->body, ptr, size * n);
        return size * n;
    }
    return stream_write(ptr, size, n, p->s);
}

static void finish_stream(stream *s, int status) {
    pthread_mutex_lock(&s->mu);
    if (s->status == 0) s->status = status;
    s->finished = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *stream_main(void *arg) {
    stream *s = arg;
    hearth_gateway *g = s->r->g;
    int n = gw_pool_size(g->pool);
    int attempts = g->c->max_attempts > 0 && g->c->max_attempts < n ? g->c->max_attempts : n;
    uint32_t tried = 0;
    struct curl_slist *hdrs = json_headers();
    CURLcode last = CURLE_OK;
    bool answered = false;
    for (int a = 0; a < attempts && !answered; a++) {
        int i = gw_pool_acquire(g->pool, tried);
        if (i < 0) break;
        tried |= 1u << i;
        char url[512];
        snprintf(url, sizeof url, "%s%s", gw_pool_url(g->pool, i), s->path);
        CURL *h = gw_curl_get(g);
        status_probe p = {.s = s, .h = h};
        setup(g, h, "POST", url, s->body, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &p);
        last = curl_easy_perform(h);
        if (!p.code) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &p.code);
        gw_curl_put(g, h);
        bool fault = last != CURLE_OK && replica_fault(last);
        gw_pool_release(g->pool, i, fault);
        if (s->started || s->done_sent) {
            answered = true;
            if (!s->done_sent) {
                /* the replica went away mid-stream: tell the client, do not hang */
                pthread_mutex_lock(&s->mu);
                bool gone = s->cancelled;
                pthread_mutex_unlock(&s->mu);
                if (!gone) {
                    char *e = error_json("the model replica failed during the stream; the answer is incomplete",
                                         "upstream_error", "upstream_failed");
                    push_event(s, e);
                    free(e);
                }
                if (s->r->tokens_out == 0) s->r->tokens_out = s->chunks;
                stream_resp_kinds(s);
                gw_finish(s->r, gone ? 499 : 502, s->text.data ? s->text.data : "");
            }
            free(p.body.data);
            break;
        }
        if (last == CURLE_OK && p.code != 200 && p.code != 503) {
            /* an answer that is not a stream (e.g. 400 from the replica): pass it on */
            answered = true;
            pthread_mutex_lock(&s->mu);
            s->err_body = p.body.data ? p.body.data : strdup("");
            pthread_mutex_unlock(&s->mu);
            gw_finish(s->r, (int)p.code, NULL);
            finish_stream(s, (int)p.code);
            break;
        }
        free(p.body.data);
        if (last != CURLE_OK && !fault) break;
    }
    curl_slist_free_all(hdrs);
    if (!answered) {
        char msg[256];
        snprintf(msg, sizeof msg, "no replica could answer (%s)",
                 last == CURLE_OK ? "all busy or unavailable" : curl_easy_strerror(last));
        pthread_mutex_lock(&s->mu);
        s->err_body = error_json(msg, "upstream_error", "upstream_unavailable");
        pthread_mutex_unlock(&s->mu);
        gw_finish(s->r, 502, NULL);
        finish_stream(s, 502);
    } else {
        finish_stream(s, 200);
    }
    stream_unref(s);
    return NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream *s = cls;
    pthread_mutex_lock(&s->mu);
    while (s->q.len == s->q_off && !s->finished) pthread_cond_wait(&s->cv, &s->mu);
    ssize_t n;
    if (s->q.len > s->q_off) {
        size_t k = s->q.len - s->q_off;
        if (k > max) k = max;
        memcpy(buf, s->q.data + s->q_off, k);
        s->q_off += k;
        if (s->q_off == s->q.len) s->q_off = s->q.len = 0;
        n = (ssize_t)k;
    } else {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void stream_free_cb(void *cls) {
    stream *s = cls;
    pthread_mutex_lock(&s->mu);
    s->cancelled = true;
    pthread_mutex_unlock(&s->mu);
    stream_unref(s);
}

struct MHD_Response *gw_proxy_stream(gw_req *r, const char *path, const char *body, int *status) {
    stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->r = r;
    s->path = strdup(path);
    s->body = strdup(body);
    s->refs = 2;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, stream_main, s) != 0) {
        pthread_attr_destroy(&at);
        s->refs = 1;
        stream_unref(s);
        return NULL;
    }
    pthread_attr_destroy(&at);
    /* wait until the worker knows whether this is a stream */
    pthread_mutex_lock(&s->mu);
    while (s->status == 0) pthread_cond_wait(&s->cv, &s->mu);
    *status = s->status;
    char *err = s->err_body;
    s->err_body = NULL;
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *resp;
    if (err) {
        resp = MHD_create_response_from_buffer(strlen(err), err, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        stream_free_cb(s);
        return resp;
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free_cb);
    if (!resp) {
        stream_free_cb(s);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return resp;
}
