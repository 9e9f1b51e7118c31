/*
 * gateway_internal.h — shared pieces of the gateway layer (not API): SQLite
 * opening, time helpers, the limiter, metrics, the upstream pool and the
 * parsed configuration.
 */
#ifndef HEARTH_GATEWAY_INTERNAL_H
#define HEARTH_GATEWAY_INTERNAL_H

#include "hearth/gateway.h"
#include "core/buf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* ==== SQLite ===== */
/* Opens path read-write (creating it), WAL mode, busy timeout, the given
 * synchronous level ("FULL"/"NORMAL"), then runs schema. */
hearth_status gw_db_open(const char *path, const char *sync, const char *schema, sqlite3 **out);
/* hearth_set_error with sqlite's message; returns HEARTH_ERR_IO. */
hearth_status gw_db_error(sqlite3 *db, const char *what);

/* The gateway's upkeep thread: WAL checkpoints of watched connections (their
 * automatic checkpoint is replaced by a hook that signals this thread, so no
 * request waits for one) and a periodic tick (usage flush). */
typedef struct gw_bg gw_bg;
gw_bg *gw_bg_new(void);
/* Before gw_bg_start: watch db (opened on path); the thread checkpoints it
 * through a connection of its own, and after a checkpoint that copied the
 * whole WAL calls restart(user) (may be NULL): a commit through db that makes
 * the WAL start over. */
hearth_status gw_bg_watch(gw_bg *b, sqlite3 *db, const char *path, void (*restart)(void *), void *user);
/* Starts the thread; tick(user) runs every interval_s (tick may be NULL). */
void gw_bg_start(gw_bg *b, void (*tick)(void *), void *user, double interval_s);
void gw_bg_stop(gw_bg *b);   /* joins; later commits checkpoint inline */
void gw_bg_free(gw_bg *b);   /* stops first; NULL is a no-op */

/* The handles' connections (for gw_bg_watch; borrowed). */
sqlite3 *gw_keystore_db(hearth_keystore *ks);
sqlite3 *gw_audit_db(hearth_audit *a);
/* A write transaction that changes nothing (the head row rewritten as it is):
 * after a complete checkpoint, it makes the WAL start over (and fsync its new
 * header) outside any request. Takes the handle's mutex. */
void gw_audit_restart_wal(void *audit);
/* Deferred usage (the gateway): hearth_keys_add_usage only adds to counters in
 * memory, which hearth_keys_period_usage includes, and gw_keys_flush_usage
 * writes them in one transaction (the upkeep tick, and on close). */
void gw_keys_defer_usage(hearth_keystore *ks, bool on);
/* Shared limits (PostgreSQL): whether the key store counts the limits' windows
 * for every gateway, one admit per request and window (see store.h), and the
 * tokens charged to the current window after the answer. */
bool gw_keys_shared_limits(hearth_keystore *ks);
hearth_status gw_keys_window_admit(hearth_keystore *ks, const char *key_id, int64_t rpm, int64_t tpm, bool *rpm_ok,
                                   bool *tpm_ok, int *retry_after_s);
hearth_status gw_keys_window_charge(hearth_keystore *ks, const char *key_id, int64_t tokens);
hearth_status gw_keys_flush_usage(hearth_keystore *ks);

int64_t gw_now_s(void);
int64_t gw_now_ms(void);
double gw_mono_s(void);

/* ==== configuration ===== */
typedef enum gw_pii_action { GW_PII_ALLOW = 0, GW_PII_MASK, GW_PII_REDACT, GW_PII_BLOCK } gw_pii_action;
const char *gw_pii_action_str(gw_pii_action a);

/* A custom PII kind from the config: a PCRE2 pattern or a keyword list. */
typedef struct gw_pii_custom {
    char name[32];
    char *regex;                /* malloc'd, or NULL for a keyword list */
    char **words;               /* malloc'd list (keyword lists) */
    int n_words;
    bool whole_word;
} gw_pii_custom;

typedef struct gw_pii_policy {
    char key[128];              /* key name or id; "" = the default */
    gw_pii_action request, response;
    int n_custom;               /* indices into the config's custom kinds: the */
    int custom[16];             /* default's, then the key's own */
    /* built by config load: the detectors for each side with the action of
     * that side (request: allow/block scan only, mask, redact; response: scan
     * only for allow/block, redact for mask/redact) */
    struct hearth_pii_policy *req_pol, *resp_pol;
} gw_pii_policy;

struct hearth_gateway_config {
    char path[1024];
    char host[64];
    int port;
    char keys_db[1024];
    char audit_db[1024];
    bool audit_sync_full;
    bool audit_store_text;      /* masked prompt/response text in audit records */
    int n_replicas;
    char replicas[16][256];     /* base URLs, "http://127.0.0.1:8081" */
    double health_interval_s;
    int connect_timeout_ms;
    int request_timeout_s;
    int max_attempts;           /* replicas tried per request; 0 = all */
    char upstream_admin_token[256];   /* hearth serve's admin token (upstream.admin_token_file): the
                                         gateway forwards /admin/models and /admin/aliases with it */
    int n_inproc;               /* upstream.inprocess: models served inside the gateway's process */
    char inproc_name[8][128];
    char inproc_path[8][1024];
    int inproc_parallel, inproc_ctx, inproc_threads;
    int64_t rpm, tpm, max_concurrent;   /* defaults for keys that set none */
    size_t max_body;
    int max_connections;
    int n_pii;
    gw_pii_policy pii[64];      /* pii[0] is the default */
    int n_custom;
    gw_pii_custom custom[64];   /* custom PII kinds (patterns, keyword lists) */
    char ui_dir[1024];          /* the web console from this folder; "": built in */
    bool ui_off;                /* no web console */
};

const gw_pii_policy *gw_config_pii(const hearth_gateway_config *c, const hearth_key_info *k);

/* ==== limits ===== */
typedef struct gw_limiter gw_limiter;
typedef enum gw_limit_result {
    GW_LIMIT_OK = 0, GW_LIMIT_RPM, GW_LIMIT_TPM, GW_LIMIT_CONCURRENT,
    GW_LIMIT_UNAVAILABLE,       /* shared limits: the database could not be asked (fail closed) */
} gw_limit_result;
gw_limiter *gw_limiter_new(void);
/* Rates from the key store's shared windows (when gw_keys_shared_limits) instead
 * of buckets in memory; concurrency stays per gateway. */
void gw_limiter_share(gw_limiter *l, hearth_keystore *ks);
void gw_limiter_free(gw_limiter *l);
/* Admits one request of key k (effective limits given) at monotonic time t:
 * takes a request token, checks tokens > 0 and concurrency. On refusal
 * *retry_after gets the seconds until it would pass. On GW_LIMIT_OK the caller
 * must call gw_limiter_done. */
gw_limit_result gw_limiter_admit(gw_limiter *l, const char *key_id, int64_t rpm, int64_t tpm, int64_t max_conc,
                                 double t, int *retry_after);
/* Ends a request: releases its concurrency slot and charges tokens to the tpm bucket. */
void gw_limiter_done(gw_limiter *l, const char *key_id, int64_t tokens, double t);

/* ==== metrics ===== */
typedef struct gw_metrics gw_metrics;
gw_metrics *gw_metrics_new(void);
void gw_metrics_free(gw_metrics *m);
void gw_metrics_request(gw_metrics *m, const char *key_id, const char *model, int status, int64_t tokens_in,
                        int64_t tokens_out, double latency_s);
/* A key's token budget: used of budget tokens this period (gauge per key). */
void gw_metrics_budget(gw_metrics *m, const char *key_id, int64_t used, int64_t budget);
/* An audit append (or check) succeeded or failed: hearth_audit_chain_ok. */
void gw_metrics_audit(gw_metrics *m, bool ok);
/* Appends the Prometheus text to a malloc'd buffer (the caller appends more and frees). */
void gw_metrics_render(gw_metrics *m, hearth_buf *out);

/* ==== upstream replicas ===== */
typedef struct gw_pool gw_pool;
gw_pool *gw_pool_new(const hearth_gateway_config *c);
void gw_pool_free(gw_pool *p);
void gw_pool_start(gw_pool *p);   /* health-check thread */
void gw_pool_stop(gw_pool *p);
/* Picks the healthy replica with the fewest requests in flight, skipping those
 * whose bit is set in tried; -1 if none. Counts it in flight (gw_pool_release). */
int gw_pool_acquire(gw_pool *p, uint32_t tried);
void gw_pool_release(gw_pool *p, int i, bool failed);
const char *gw_pool_url(gw_pool *p, int i);
int gw_pool_size(gw_pool *p);
int gw_pool_healthy(gw_pool *p);  /* replicas that passed their last check (GET /ready) */
void gw_pool_render(gw_pool *p, hearth_buf *out);   /* metrics: up, in flight, failures */

/* ==== PII scrubbing for one request (scrub.c; wraps the PII detectors) ===== */
struct hearth_pii_policy;
typedef struct gw_scrub gw_scrub;
gw_scrub *gw_scrub_new(void);
void gw_scrub_free(gw_scrub *s);
/* Finds personal data in text and applies action: ALLOW leaves it (kinds are
 * still recorded), MASK puts reversible placeholders (remembered in s), REDACT
 * puts irreversible ones, BLOCK leaves it (the caller refuses when kinds were
 * found). Returns a malloc'd copy; NULL on allocation failure. */
char *gw_scrub_text(gw_scrub *s, const char *text, const struct hearth_pii_policy *pol);
/* Number of personal-data findings so far, and their kinds ("email,phone"). */
int gw_scrub_found(const gw_scrub *s);
const char *gw_scrub_kinds(gw_scrub *s);
/* Restores this request's placeholders in text; malloc'd. */
char *gw_scrub_unmask(gw_scrub *s, const char *text);
/* The request's placeholder mapping (for streaming unmaskers). */
struct hearth_pii_mapping;
const struct hearth_pii_mapping *gw_scrub_mapping(const gw_scrub *s);
/* Builds p->req_pol / p->resp_pol from the actions and custom kinds; errors
 * (a bad regex) are set with hearth_set_error (PCRE2's message). */
hearth_status gw_pii_build(const hearth_gateway_config *c, gw_pii_policy *p);
void gw_pii_release(gw_pii_policy *p);

/* Response-side policy over a stream of text pieces (one per choice): holds
 * back a bounded tail that may be the start of personal data, so a value split
 * across chunks is still found. Output text is what the client may see (before
 * placeholders are restored). */
typedef struct gw_resp_filter gw_resp_filter;
gw_resp_filter *gw_resp_filter_new(const struct hearth_pii_policy *pol, bool block);
void gw_resp_filter_free(gw_resp_filter *f);
/* Returns malloc'd text safe to emit now (may be ""); flush: end of the text.
 * *blocked is set when the policy is block and personal data was found: emit
 * nothing more. NULL on allocation failure. */
char *gw_resp_filter_feed(gw_resp_filter *f, const char *piece, bool flush, bool *blocked);
/* Kinds the filter found so far ("email,phone"). */
const char *gw_resp_filter_kinds(gw_resp_filter *f);

/* ==== admin console: sessions (admin_session.c) and routes (admin.c) ===== */
#define GW_SESSION_TOKEN_LEN 43     /* 32 random bytes in base64url: session ids and CSRF tokens */
#define GW_SESSIONS_MAX 256         /* sessions at once; the one used longest ago makes room */
#define GW_SESSION_IDLE_S (30 * 60) /* a session ends after this long unused */
#define GW_SESSION_MAX_S (8 * 3600) /* ... and this long after login in any case */
#define GW_LOGIN_MAX_FAILURES 10    /* failed logins per client address per window, then 429 */
#define GW_LOGIN_WINDOW_S 60
typedef struct gw_sessions gw_sessions;
gw_sessions *gw_sessions_new(int64_t idle_s, int64_t max_s);   /* NULL when out of memory */
void gw_sessions_free(gw_sessions *t);                         /* NULL is a no-op */
/* New session for admin key key_id at now (unix s): the cookie's id and the
 * session's CSRF token (both GW_SESSION_TOKEN_LEN chars + NUL). */
hearth_status gw_session_create(gw_sessions *t, const char *key_id, int64_t now, char id_out[GW_SESSION_TOKEN_LEN + 1],
                                char csrf_out[GW_SESSION_TOKEN_LEN + 1]);
/* Whether id names a live session at now (and marks it used); copies its key
 * id, CSRF token and the time it ends if unused (each may be NULL). */
bool gw_session_check(gw_sessions *t, const char *id, int64_t now, char key_id_out[HEARTH_KEY_ID_LEN + 1],
                      char csrf_out[GW_SESSION_TOKEN_LEN + 1], int64_t *expires);
/* Whether token is the CSRF token of the live session id (constant time). */
bool gw_session_csrf_ok(gw_sessions *t, const char *id, const char *token, int64_t now);
void gw_session_end(gw_sessions *t, const char *id);           /* logout; unknown ids are ignored */
void gw_session_end_key(gw_sessions *t, const char *key_id);   /* every session of a key */
/* Seconds a client must wait before it may try to log in again (0: now). */
int gw_login_blocked(gw_sessions *t, const char *client, int64_t now);
void gw_login_failed(gw_sessions *t, const char *client, int64_t now);

/* The value of field name in an application/x-www-form-urlencoded body,
 * decoded ('+' and %XX) into out (cap bytes); false if absent or too long. */
bool gw_form_field(const char *body, const char *name, char *out, size_t cap);

struct MHD_Connection;
struct gw_req;
/* Whether url belongs to the admin console (/admin, /admin/...). */
bool gw_admin_route(const char *url);
/* Answers an admin console request (login, logout, the JSON API, the legacy
 * /admin/keys API, the pages); writes its audit record when it changes
 * something or is refused. */
int gw_admin_request(struct gw_req *r, struct MHD_Connection *c, const char *method, const char *url,
                     const char *body);

/* Replies shared by gateway.c and admin.c: body is taken over (NULL: "{}");
 * gw_fail writes the audit record first (its failure turns the answer into a 500). */
int gw_send(struct MHD_Connection *c, int status, char *body, const char *ctype);
char *gw_err_body(const char *msg, const char *type, const char *code);
int gw_fail(struct gw_req *r, struct MHD_Connection *c, int status, const char *msg, const char *type,
            const char *code, int retry_after);
/* Checks the presented API key (Authorization: Bearer or X-Api-Key) into
 * r->key: 0, or the status to answer with a message and code. */
int gw_check_key(struct gw_req *r, struct MHD_Connection *c, const char **msg, const char **code);
/* Whether the request carries an API key at all. */
bool gw_has_key(struct MHD_Connection *c);

/* One replica's state for the admin console. */
void gw_pool_state(gw_pool *p, int i, bool *healthy, int64_t *in_flight, uint64_t *requests, uint64_t *failures);

/* ==== the gateway and one request ===== */
struct hearth_gateway {
    const hearth_gateway_config *c;
    hearth_keystore *ks;
    hearth_audit *au;
    gw_limiter *lim;
    gw_metrics *met;
    gw_pool *pool;
    gw_bg *bg;                  /* upkeep thread: checkpoints, usage flush */
    gw_sessions *sessions;      /* admin console logins */
    struct MHD_Daemon *httpd;
    int port;
    struct webui *ui;           /* the web console's files (src/webui; NULL: off) */
    pthread_mutex_t curl_mu;    /* pool of idle libcurl handles (kept for connection reuse) */
    void *curl_idle[256];
    int n_curl_idle;
};

typedef struct gw_req {
    hearth_gateway *g;
    double t0;                  /* monotonic start */
    const char *endpoint;
    char client[64];
    bool have_key;
    hearth_key_info key;
    char model[256], adapter[128];
    gw_scrub *scrub;
    char *prompt_masked;        /* what the upstream saw (audit text), malloc'd or NULL */
    int64_t tokens_in, tokens_out;
    bool admitted;              /* holds a limiter slot */
    bool stream, client_wants_usage;
    const gw_pii_policy *pii;   /* the key's PII policy */
    char resp_blocked[256];     /* kinds that made the response policy block */
    char resp_kinds[256];       /* kinds found in the model's answer ("email,phone") */
} gw_req;

/* Adds the comma-separated kinds to list (cap bytes), skipping those already in it. */
void gw_kinds_add(char *list, size_t cap, const char *kinds);
/* The audit record's pii_kinds: "request: K1,K2; response: K3" (a side with
 * nothing found is left out; "" when neither found any). */
void gw_kinds_record(const char *request, const char *response, char *out, size_t cap);

void gw_req_free(gw_req *r);   /* NULL is a no-op */
void *gw_curl_get(hearth_gateway *g);
void gw_curl_put(hearth_gateway *g, void *h);

/* What a client is told when its audit record could not be written (503): the
 * request is refused, the answer (if any) withheld. */
#define GW_AUDIT_FAILED "the audit record could not be written (is the gateway's database available?)"
#define GW_AUDIT_FAILED_WITHHELD GW_AUDIT_FAILED "; the answer is withheld"

/* The key's PII policy on files and vector stores (pii_store.c): 0 to go on
 * (fwd holds the body to forward instead when it was rewritten, else stays
 * empty), or the HTTP status to refuse with, msg and code saying why. */
int gw_store_pii_request(gw_req *r, const char *method, const char *url, const char *ctype, const char *body,
                         size_t len, hearth_buf *fwd, char *msg, size_t cap, const char **code);
/* The "file" part of a multipart/form-data body (ctype names the boundary):
 * its headers and content point into body. False when ctype is not
 * multipart, the body is malformed, or it has no such part. */
typedef struct gw_part {
    const char *head, *data;
    size_t head_len, len;
} gw_part;
bool gw_multipart_file(const char *ctype, const char *body, size_t len, gw_part *p);
/* Search results: the response policy on their texts (and a masked query's
 * placeholders restored); false when the policy blocks the answer. */
bool gw_store_pii_response(gw_req *r, const char *method, const char *url, hearth_buf *resp);

/* Writes the audit record, usage, metrics and releases the limiter slot.
 * Returns false if the audit record could not be written. */
bool gw_finish(gw_req *r, int status, const char *response_text);

/* Forwards a non-streaming request (body: JSON to send) to a replica, with
 * retries on others when one fails before answering. *status, *resp (malloc'd)
 * get the upstream answer; false if no replica answered (resp gets an error). */
bool gw_proxy_call(hearth_gateway *g, const char *method, const char *path, const char *body, int *status,
                   char **resp);

/* Sends method path body to replica i with hearth serve's admin token
 * (upstream_admin_token); *status and *resp (malloc'd) get its answer, or a
 * 502 error body when it did not answer. */
void gw_proxy_admin(hearth_gateway *g, int i, const char *method, const char *path, const char *body, int *status,
                    char **resp);

/* Forwards a request as it is — any method (GET, POST, DELETE), content type
 * and bytes — for the endpoints the gateway authorizes and audits but does
 * not rewrite (files, vector stores). *resp gets the upstream bytes; false if
 * no replica answered (resp gets an error). */
bool gw_proxy_raw(hearth_gateway *g, const char *method, const char *path, const char *ctype, const char *body,
                  size_t len, int *status, hearth_buf *resp);

/* Streams: returns an MHD response (status in *status) for a request whose
 * upstream body is body; takes r over (finishes it). */
struct MHD_Response;
struct MHD_Response *gw_proxy_stream(gw_req *r, const char *path, const char *body, int *status);

#endif
