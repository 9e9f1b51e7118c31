/*
 * gateway.h — hearth's enterprise gateway: API keys and roles, per-key limits
 * and token budgets, a tamper-evident audit log, and `hearth gateway`, an
 * HTTP front (libmicrohttpd) that checks keys, applies limits and the PII
 * policy, writes the audit record and proxies to `hearth serve` replicas
 * (libcurl) with health checks, least-busy routing and fail-over.
 *
 * Storage: SQLite in WAL mode. Keys and usage live in one database file,
 * the audit log in another (or the same). Several processes may share them
 * (SQLite locking; every write is one IMMEDIATE transaction).
 *
 * Threads: a keystore or audit handle may be used from several threads at
 * once (each serialises its own calls with a mutex). The gateway runs its own
 * threads (one per HTTP connection, one health checker, one upkeep thread that
 * runs the databases' WAL checkpoints and writes per-key usage every 0.25 s).
 */
#ifndef HEARTH_GATEWAY_H
#define HEARTH_GATEWAY_H

#include "hearth/hearth.h"

#ifdef __cplusplus
extern "C" {
#endif
HEARTH_API_BEGIN

/* ==== API keys ======================================================================
 * A key reads "hk_<id>_<secret>": id is 12 hex digits (public: it names the key in
 * lists, the audit log and metrics), secret is 32 random bytes in base64url (43
 * characters). Only BLAKE2b-256(secret) keyed with a per-key random 16-byte salt
 * is stored; checks compare in constant time. */
#define HEARTH_KEY_ID_LEN 12
#define HEARTH_KEY_MAX 96            /* buffer size that holds any full key + NUL */

typedef struct hearth_keystore hearth_keystore;

typedef enum hearth_key_role { HEARTH_ROLE_USER = 0, HEARTH_ROLE_ADMIN = 1 } hearth_key_role;
typedef enum hearth_key_period { HEARTH_PERIOD_NONE = 0, HEARTH_PERIOD_DAY = 1, HEARTH_PERIOD_MONTH = 2 } hearth_key_period;

typedef struct hearth_key_info {
    char id[HEARTH_KEY_ID_LEN + 1];
    char name[128];
    hearth_key_role role;
    char models[1024];          /* comma-separated allowed models; "" = all */
    int64_t rpm;                /* requests per minute; 0 = unlimited */
    int64_t tpm;                /* tokens (prompt + completion) per minute; 0 = unlimited */
    int64_t max_concurrent;     /* requests in flight at once; 0 = unlimited */
    int64_t budget_tokens;      /* tokens per period; 0 = unlimited */
    hearth_key_period period;
    int64_t expires;            /* unix seconds after which the key is refused; 0 = never */
    int64_t created;            /* unix seconds */
    int64_t revoked;            /* unix seconds when revoked; 0 = active */
} hearth_key_info;

/* Settings for a new key; strings are copied. */
typedef struct hearth_key_params {
    const char *name;           /* required */
    const char *models;         /* NULL or "" = all models */
    int64_t rpm, tpm, max_concurrent, budget_tokens;
    hearth_key_period period;   /* required when budget_tokens > 0 */
    int64_t expires;            /* 0 = never */
    hearth_key_role role;
} hearth_key_params;

hearth_key_params hearth_key_default_params(void);

/* Opens (creating if needed) a key database. */
hearth_status hearth_keystore_open(const char *path, hearth_keystore **out);
void hearth_keystore_free(hearth_keystore *ks);   /* NULL is a no-op */

/* Creates a key; writes the full key (shown once, never stored) to key_out
 * (HEARTH_KEY_MAX bytes) and the stored row to info (may be NULL). */
hearth_status hearth_keys_create(hearth_keystore *ks, const hearth_key_params *p, char *key_out,
                                 hearth_key_info *info);
/* All keys, oldest first; *out is malloc'd (free()). */
hearth_status hearth_keys_list(hearth_keystore *ks, hearth_key_info **out, size_t *n);
/* One key by id; HEARTH_ERR_NOT_FOUND if absent. */
hearth_status hearth_keys_get(hearth_keystore *ks, const char *id, hearth_key_info *info);
hearth_status hearth_keys_revoke(hearth_keystore *ks, const char *id);
/* New secret for the same id and settings; the old key stops working. */
hearth_status hearth_keys_rotate(hearth_keystore *ks, const char *id, char *key_out);

typedef enum hearth_key_check {
    HEARTH_KEY_VALID = 0,
    HEARTH_KEY_MALFORMED,       /* not of the hk_<id>_<secret> shape */
    HEARTH_KEY_UNKNOWN,         /* no such id, or the secret does not match */
    HEARTH_KEY_REVOKED,
    HEARTH_KEY_EXPIRED,
} hearth_key_check;

const char *hearth_key_check_str(hearth_key_check c);

/* Checks a presented key at time now (unix seconds). Returns HEARTH_OK with
 * *result set (info filled when VALID); a status only for database failures. */
hearth_status hearth_keys_verify(hearth_keystore *ks, const char *key, int64_t now, hearth_key_info *info,
                                 hearth_key_check *result);

/* Whether the key may use model ("base" or "base+adapter"): allowed if the
 * list is empty, names the full string, or names its base. */
bool hearth_key_allows_model(const hearth_key_info *k, const char *model);

/* ---- usage per key and model (token budgets) ---- */
/* Adds one request's tokens to the day bucket (UTC) of (key, model). */
hearth_status hearth_keys_add_usage(hearth_keystore *ks, const char *key_id, const char *model, int64_t now,
                                    int64_t tokens_in, int64_t tokens_out);
/* Tokens (in + out) used by the key in the current period at now; *period_end
 * (may be NULL) gets the unix time at which the period ends. */
hearth_status hearth_keys_period_usage(hearth_keystore *ks, const char *key_id, hearth_key_period period,
                                       int64_t now, int64_t *tokens, int64_t *period_end);

/* "2025-03-01" (UTC midnight) -> unix seconds; false if malformed. */
bool hearth_parse_date(const char *s, int64_t *out);

/* ==== audit log ====================================================================
 * One row per request. Each row stores hash = SHA-256(prev_hash || canonical(row))
 * where canonical(row) is the row's JSON serialisation with a fixed field order
 * (id included, so a reordering changes it) and prev_hash is the previous row's
 * hash (32 zero bytes for the first). A one-row table audit_head holds the count
 * and the last hash, updated in the same transaction, so removing the newest
 * rows is caught too. */
typedef struct hearth_audit hearth_audit;

typedef struct hearth_audit_record {
    int64_t id;                 /* assigned by append (1, 2, ...) */
    int64_t time_ms;            /* unix milliseconds */
    const char *key_id;         /* "" for requests without a valid key */
    const char *model;
    const char *adapter;        /* "" if none */
    const char *endpoint;       /* "/v1/chat/completions" */
    int status;                 /* HTTP status answered */
    int64_t tokens_in, tokens_out;
    int64_t latency_ms;
    const char *pii_kinds;      /* kinds found, "request: email,phone; response: email" (a side
                                 * with none is left out; "" = none). Records written before
                                 * the answer was scanned hold the request's list alone
                                 * ("email,phone"). Hashed as stored, so both verify. */
    const char *client;         /* client address */
    const char *prompt;         /* masked text, or NULL when the policy keeps no text */
    const char *response;       /* masked text, or NULL */
    char hash[65];              /* hex, filled by append / read back by each */
} hearth_audit_record;

/* sync_full: PRAGMA synchronous=FULL (each append is fsync'd before it returns);
 * otherwise NORMAL (WAL: survives a crash of the process, the last commits may
 * be lost on power failure). */
hearth_status hearth_audit_open(const char *path, bool sync_full, hearth_audit **out);
void hearth_audit_free(hearth_audit *a);   /* NULL is a no-op */
/* Appends r (id and hash are set; *r is otherwise unchanged). Durable when it returns. */
hearth_status hearth_audit_append(hearth_audit *a, hearth_audit_record *r);

/* Walks the chain. HEARTH_OK if intact (*n_records set); HEARTH_ERR_FORMAT if
 * not, with *bad_id the first record that fails (or the row after a gap; 0 when
 * the head disagrees with the last row) and the reason in hearth_last_error(). */
hearth_status hearth_audit_verify(hearth_audit *a, int64_t *n_records, int64_t *bad_id);

/* Calls fn for each record with since_ms <= time_ms < until_ms (until_ms 0 =
 * no end), in id order; fn returning non-zero stops the walk. Strings are
 * borrowed for the call. */
typedef int (*hearth_audit_fn)(const hearth_audit_record *r, void *user);
hearth_status hearth_audit_each(hearth_audit *a, int64_t since_ms, int64_t until_ms, hearth_audit_fn fn,
                                void *user);
/* JSON object of a record (canonical order, with "hash" when with_hash); malloc'd. */
char *hearth_audit_record_json(const hearth_audit_record *r, bool with_hash);

/* ==== the gateway ================================================================== */
typedef struct hearth_gateway_config hearth_gateway_config;
typedef struct hearth_gateway hearth_gateway;

/* Loads and validates a YAML config (see docs/gateway.md); errors name
 * the file and line. Relative paths inside are taken from the config's folder. */
hearth_status hearth_gateway_config_load(const char *path, hearth_gateway_config **out);
/* Same, for a gateway whose upstream the caller adds itself
 * (hearth_gateway_config_add_replica; `hearth serve --gateway-config`):
 * upstream.replicas may be absent. */
hearth_status hearth_gateway_config_load_local(const char *path, hearth_gateway_config **out);
void hearth_gateway_config_free(hearth_gateway_config *c);
/* The database paths it names (borrowed), and whether audit appends fsync. */
const char *hearth_gateway_config_keys_db(const hearth_gateway_config *c);
const char *hearth_gateway_config_audit_db(const hearth_gateway_config *c);
bool hearth_gateway_config_audit_sync_full(const hearth_gateway_config *c);
/* Overrides the listen port (0: any free port). */
void hearth_gateway_config_set_port(hearth_gateway_config *c, int port);
/* The replicas' admin token (hearth serve --admin-token-file; in a config:
 * upstream.admin_token_file): admin keys may then use hearth serve's model
 * admin API (/admin/models..., /admin/aliases) through the gateway, which
 * sends each call to every replica. NULL or "": off. */
void hearth_gateway_config_set_upstream_admin_token(hearth_gateway_config *c, const char *token);
/* The web console (chat playground at /, no key needed to load the pages):
 * on by default with the files built into hearth; dir (copied; NULL: built
 * in) serves a folder read on every request; enabled false turns it off. */
void hearth_gateway_config_set_ui(hearth_gateway_config *c, const char *dir, bool enabled);
/* Single-node install (upstream.inprocess): the models a `hearth serve` server
 * inside the gateway's own process should load (the caller — `hearth gateway`
 * — creates the server with hearth_server_create on 127.0.0.1, port 0, adds
 * these models, starts it and passes its URL to add_replica before
 * hearth_gateway_create). parallel/ctx_per_seq/threads: 0 = the server's default. */
int hearth_gateway_config_inprocess_count(const hearth_gateway_config *c);
bool hearth_gateway_config_inprocess_model(const hearth_gateway_config *c, int i, const char **name,
                                           const char **path);
void hearth_gateway_config_inprocess_params(const hearth_gateway_config *c, int *n_parallel, int *n_ctx_per_seq,
                                            int *n_threads);
/* Appends a replica base URL ("http://127.0.0.1:8081"). */
hearth_status hearth_gateway_config_add_replica(hearth_gateway_config *c, const char *url);

/* Opens the databases and prepares the replicas; c must outlive the gateway. */
hearth_status hearth_gateway_create(const hearth_gateway_config *c, hearth_gateway **out);
/* Binds and starts the HTTP and health-check threads. */
hearth_status hearth_gateway_start(hearth_gateway *g);
int hearth_gateway_port(const hearth_gateway *g);
void hearth_gateway_stop(hearth_gateway *g);
void hearth_gateway_free(hearth_gateway *g);   /* stops first; NULL is a no-op */

HEARTH_API_END
#ifdef __cplusplus
}
#endif
#endif
