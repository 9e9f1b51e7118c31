/*
 * store_pg.c — the gateway's storage on PostgreSQL (store.h), through libpq,
 * for several gateways sharing keys, usage, limits and one audit chain.
 *
 *   config            `database: postgresql://user@host/db` (a libpq URL; an
 *                     empty host part, "postgresql:///db" or "postgresql://",
 *                     takes PGHOST, PGPORT, PGUSER... from the environment)
 *   schema            versioned migrations (MIGRATIONS below) applied at open
 *                     under an advisory lock; a database whose version is newer
 *                     than this build knows is refused
 *   limits            one row per (key, minute of the database's clock); one
 *                     INSERT ... ON CONFLICT DO UPDATE ... RETURNING per request,
 *                     so N gateways together admit exactly the key's rpm
 *   revocation        a trigger on keys sends NOTIFY hearth_keys; each store
 *                     LISTENs on a connection of its own and its keystore drops
 *                     the key cache when a notification (or a lost connection)
 *                     is seen — before the next request is checked
 *   audit chain       the head row is locked FOR UPDATE for an append, so the
 *                     appends of every gateway form one linear chain; record
 *                     times come from the database's clock (clock_timestamp()),
 *                     so the chain's times follow its order whatever the
 *                     gateways' clocks say
 *   connection loss   a call on a broken connection resets it first; if the
 *                     database is still away the call fails (HEARTH_ERR_IO, the
 *                     gateway answers 503) and the next call tries again
 */
#include "gateway_internal.h"
#include "store.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_LOCK 0x6865617274LL   /* pg_advisory_lock key for migrations ("heart") */
#define WINDOW_SWEEP_EVERY 1000      /* admits between deletions of old limit windows */
#define LISTEN_RETRY_S 1.0           /* at most one reconnect of the listener per second */

typedef struct pg_store {
    gw_store base;
    char *url;                  /* as given (the listener reconnects with it) */
    char where[256];            /* the URL without its password, for messages */
    PGconn *conn;               /* queries */
    PGconn *listen;             /* LISTEN hearth_keys; NULL when down */
    double listen_retry;        /* monotonic time of the next reconnect attempt */
    unsigned n_admit;
} pg_store;

/* ==== schema ======================================================================== */
/* MIGRATIONS[i] takes the schema from version i to i + 1. Append, never edit. */
static const char *const MIGRATIONS[] = {
    /* 1: keys, usage, limit windows, the audit chain, key-change notifications */
    "CREATE TABLE keys ("
    " id text PRIMARY KEY, name text NOT NULL, role int NOT NULL, models text NOT NULL,"
    " rpm bigint NOT NULL, tpm bigint NOT NULL, max_concurrent bigint NOT NULL,"
    " budget_tokens bigint NOT NULL, period int NOT NULL, expires bigint NOT NULL,"
    " created bigint NOT NULL, revoked bigint NOT NULL DEFAULT 0,"
    " salt bytea NOT NULL, hash bytea NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY);"
    "CREATE TABLE usage ("
    " key_id text NOT NULL, model text NOT NULL, day bigint NOT NULL,"
    " requests bigint NOT NULL, tokens_in bigint NOT NULL, tokens_out bigint NOT NULL,"
    " PRIMARY KEY (key_id, model, day));"
    "CREATE TABLE rate_window ("
    " key_id text NOT NULL, minute timestamptz NOT NULL, requests bigint NOT NULL, tokens bigint NOT NULL,"
    " PRIMARY KEY (key_id, minute));"
    "CREATE TABLE audit ("
    " id bigint PRIMARY KEY, time_ms bigint NOT NULL, key_id text NOT NULL, model text NOT NULL,"
    " adapter text NOT NULL, endpoint text NOT NULL, status int NOT NULL,"
    " tokens_in bigint NOT NULL, tokens_out bigint NOT NULL, latency_ms bigint NOT NULL,"
    " pii_kinds text NOT NULL, client text NOT NULL, prompt text, response text,"
    " prev_hash text NOT NULL, hash text NOT NULL);"
    "CREATE INDEX audit_time ON audit (time_ms);"
    "CREATE TABLE audit_head (one int PRIMARY KEY CHECK (one = 1), n bigint NOT NULL, hash text NOT NULL);"
    "INSERT INTO audit_head VALUES (1, 0, '" GW_ZERO_HASH "');"
    "CREATE FUNCTION hearth_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF TG_OP = 'DELETE' THEN PERFORM pg_notify('hearth_keys', OLD.id);"
    "  ELSE PERFORM pg_notify('hearth_keys', NEW.id); END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER keys_changed AFTER INSERT OR UPDATE OR DELETE ON keys"
    " FOR EACH ROW EXECUTE FUNCTION hearth_keys_notify();",
};
#define SCHEMA_VERSION ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

/* ==== connection ==================================================================== */
/* the URL with any password replaced by "***" */
static void redact(const char *url, char *out, size_t cap) {
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (at && colon && colon < at)
        snprintf(out, cap, "%.*s:***%s", (int)(colon - url), url, at);
    else
        snprintf(out, cap, "%s", url);
}

static void trim_msg(char *m) {
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' ')) m[--n] = 0;
}

/* the server's notices ("relation ... already exists, skipping") go to the log, not stderr */
static void on_notice(void *user, const char *msg) {
    (void)user;
    hearth_log(HEARTH_LOG_DEBUG, "postgresql: %s", msg);
}

static PGconn *connect_url(const char *url) {
    /* defaults first: what the URL itself names overrides them */
    const char *kw[] = {"connect_timeout", "tcp_user_timeout", "keepalives_idle", "application_name", "dbname", NULL};
    const char *val[] = {"5", "10000", "10", "hearth-gateway", url, NULL};
    PGconn *c = PQconnectdbParams(kw, val, 1);
    if (c) PQsetNoticeProcessor(c, on_notice, NULL);
    return c;
}

static hearth_status conn_error(pg_store *p, PGconn *c, const char *what) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", c ? PQerrorMessage(c) : "out of memory");
    trim_msg(msg);
    return hearth_set_error(HEARTH_ERR_IO, "%s: database %s unavailable: %s", what, p->where, msg);
}

/* the query connection, reconnected if it was lost */
static hearth_status ready(pg_store *p, const char *what) {
    if (PQstatus(p->conn) == CONNECTION_OK) return HEARTH_OK;
    PQreset(p->conn);
    if (PQstatus(p->conn) != CONNECTION_OK) return conn_error(p, p->conn, what);
    hearth_log(HEARTH_LOG_INFO, "gateway: reconnected to the database %s", p->where);
    return HEARTH_OK;
}

/* Runs sql with text parameters; returns the result when its status is want,
 * else NULL with the error set (a lost connection says so). */
static PGresult *run(pg_store *p, const char *what, const char *sql, int n, const char *const *vals,
                     ExecStatusType want, hearth_status *st) {
    *st = ready(p, what);
    if (*st) return NULL;
    /* no parameters: PQexec, which also takes several statements (migrations) */
    PGresult *r = n ? PQexecParams(p->conn, sql, n, NULL, vals, NULL, NULL, 0) : PQexec(p->conn, sql);
    if (r && PQresultStatus(r) == want) return r;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
    if (!msg[0]) snprintf(msg, sizeof msg, "%s", PQerrorMessage(p->conn));
    trim_msg(msg);
    if (PQstatus(p->conn) != CONNECTION_OK)
        *st = hearth_set_error(HEARTH_ERR_IO, "%s: connection to the database %s lost: %s", what, p->where, msg);
    else
        *st = hearth_set_error(HEARTH_ERR_IO, "%s: %s", what, msg);
    PQclear(r);
    return NULL;
}

/* runs a statement whose result is not needed */
static hearth_status exec0(pg_store *p, const char *what, const char *sql, int n, const char *const *vals) {
    hearth_status st;
    bool rows = !strncmp(sql, "SELECT", 6);
    PGresult *r = run(p, what, sql, n, vals, rows ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, &st);
    PQclear(r);
    return st;
}

static void rollback(pg_store *p) {
    if (PQstatus(p->conn) == CONNECTION_OK && PQtransactionStatus(p->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(p->conn, "ROLLBACK");
        PQclear(r);
    }
}

static void i64(char *buf, size_t cap, int64_t v) { snprintf(buf, cap, "%lld", (long long)v); }
static int64_t col64(PGresult *r, int row, int col) { return strtoll(PQgetvalue(r, row, col), NULL, 10); }

/* ==== migrations ==================================================================== */
static hearth_status migrate(pg_store *p) {
    char lock[24];
    i64(lock, sizeof lock, SCHEMA_LOCK);
    const char *lv[1] = {lock};
    hearth_status st = exec0(p, "schema", "SELECT pg_advisory_lock($1)", 1, lv);
    if (st) return st;
    st = exec0(p, "schema",
               "CREATE TABLE IF NOT EXISTS hearth_schema (one int PRIMARY KEY CHECK (one = 1), version int NOT NULL);"
               "INSERT INTO hearth_schema VALUES (1, 0) ON CONFLICT DO NOTHING",
               0, NULL);
    PGresult *r = st ? NULL : run(p, "schema", "SELECT version FROM hearth_schema WHERE one = 1", 0, NULL,
                                  PGRES_TUPLES_OK, &st);
    int version = r && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    if (!st && version < 0) st = hearth_set_error(HEARTH_ERR_FORMAT, "database %s: hearth_schema has no row", p->where);
    if (!st && version > SCHEMA_VERSION)
        st = hearth_set_error(HEARTH_ERR_UNSUPPORTED,
                              "database %s has schema version %d, newer than this hearth knows (%d): upgrade hearth "
                              "(a newer gateway migrated it), or use another database",
                              p->where, version, SCHEMA_VERSION);
    for (int v = version; !st && v < SCHEMA_VERSION; v++) {
        char next[16];
        snprintf(next, sizeof next, "%d", v + 1);
        const char *nv[1] = {next};
        st = exec0(p, "schema", "BEGIN", 0, NULL);
        if (!st) st = exec0(p, "schema migration", MIGRATIONS[v], 0, NULL);
        if (!st) st = exec0(p, "schema", "UPDATE hearth_schema SET version = $1 WHERE one = 1", 1, nv);
        if (!st) st = exec0(p, "schema", "COMMIT", 0, NULL);
        if (st) rollback(p);
        else hearth_log(HEARTH_LOG_INFO, "gateway: database %s migrated to schema version %d", p->where, v + 1);
    }
    char *err = st ? strdup(hearth_last_error()) : NULL;
    hearth_status st2 = exec0(p, "schema", "SELECT pg_advisory_unlock($1)", 1, lv);
    if (st) {
        hearth_set_error(st, "%s", err ? err : "schema migration failed");
        free(err);
        return st;
    }
    return st2;
}

/* ==== keys ========================================================================== */
#define KEY_COLS "id, name, role, models, rpm, tpm, max_concurrent, budget_tokens, period, expires, created, revoked"

static void read_key(PGresult *r, int i, hearth_key_info *k) {
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", PQgetvalue(r, i, 0));
    snprintf(k->name, sizeof k->name, "%s", PQgetvalue(r, i, 1));
    k->role = atoi(PQgetvalue(r, i, 2)) ? HEARTH_ROLE_ADMIN : HEARTH_ROLE_USER;
    snprintf(k->models, sizeof k->models, "%s", PQgetvalue(r, i, 3));
    k->rpm = col64(r, i, 4);
    k->tpm = col64(r, i, 5);
    k->max_concurrent = col64(r, i, 6);
    k->budget_tokens = col64(r, i, 7);
    k->period = (hearth_key_period)atoi(PQgetvalue(r, i, 8));
    k->expires = col64(r, i, 9);
    k->created = col64(r, i, 10);
    k->revoked = col64(r, i, 11);
}

/* bytea as text input: "\x" + hex */
static void bytea_hex(char *out, size_t cap, const unsigned char *b, size_t n) {
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, cap - 2, b, n);
}

static bool bytea_read(const char *s, unsigned char *out, size_t n) {
    size_t got = 0;
    return s[0] == '\\' && s[1] == 'x' && sodium_hex2bin(out, n, s + 2, strlen(s + 2), NULL, &got, NULL) == 0 &&
           got == n;
}

static hearth_status pg_key_insert(gw_store *s, hearth_key_info *k, const unsigned char *salt,
                                   const unsigned char *hash) {
    pg_store *p = (pg_store *)s;
    char role[4], rpm[24], tpm[24], conc[24], budget[24], period[8], expires[24], sx[64], hx[96];
    snprintf(role, sizeof role, "%d", k->role == HEARTH_ROLE_ADMIN);
    i64(rpm, sizeof rpm, k->rpm);
    i64(tpm, sizeof tpm, k->tpm);
    i64(conc, sizeof conc, k->max_concurrent);
    i64(budget, sizeof budget, k->budget_tokens);
    snprintf(period, sizeof period, "%d", (int)k->period);
    i64(expires, sizeof expires, k->expires);
    bytea_hex(sx, sizeof sx, salt, GW_SALT_LEN);
    bytea_hex(hx, sizeof hx, hash, GW_HASH_LEN);
    const char *v[] = {k->id, k->name, role, k->models, rpm, tpm, conc, budget, period, expires, sx, hx};
    hearth_status st;
    PGresult *r = run(p, "keys: insert",
                      "INSERT INTO keys (" KEY_COLS ", salt, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
                      " extract(epoch from now())::bigint, 0, $11, $12) RETURNING created",
                      12, v, PGRES_TUPLES_OK, &st);
    if (r) k->created = col64(r, 0, 0);
    PQclear(r);
    return st;
}

static hearth_status pg_key_get(gw_store *s, const char *id, hearth_key_info *k, unsigned char *salt,
                                unsigned char *hash) {
    pg_store *p = (pg_store *)s;
    const char *v[1] = {id};
    hearth_status st;
    PGresult *r = run(p, "keys: lookup", "SELECT " KEY_COLS ", salt, hash FROM keys WHERE id = $1", 1, v,
                      PGRES_TUPLES_OK, &st);
    if (!r) return st;
    if (PQntuples(r) == 0) {
        st = hearth_set_error(HEARTH_ERR_NOT_FOUND, "no key with id %s", id);
    } else {
        read_key(r, 0, k);
        if (salt && hash && (!bytea_read(PQgetvalue(r, 0, 12), salt, GW_SALT_LEN) ||
                             !bytea_read(PQgetvalue(r, 0, 13), hash, GW_HASH_LEN)))
            st = hearth_set_error(HEARTH_ERR_FORMAT, "keys: row %s has a damaged salt or hash", id);
    }
    PQclear(r);
    return st;
}

static hearth_status pg_key_list(gw_store *s, hearth_key_info **out, size_t *n) {
    pg_store *p = (pg_store *)s;
    *out = NULL;
    *n = 0;
    hearth_status st;
    PGresult *r = run(p, "keys: list", "SELECT " KEY_COLS " FROM keys ORDER BY created, seq", 0, NULL,
                      PGRES_TUPLES_OK, &st);
    if (!r) return st;
    int rows = PQntuples(r);
    hearth_key_info *v = rows ? calloc((size_t)rows, sizeof *v) : NULL;
    if (rows && !v) {
        PQclear(r);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < rows; i++) read_key(r, i, &v[i]);
    PQclear(r);
    *out = v;
    *n = (size_t)rows;
    return HEARTH_OK;
}

static hearth_status pg_key_update(gw_store *s, const char *id, const unsigned char *salt,
                                   const unsigned char *hash) {
    pg_store *p = (pg_store *)s;
    hearth_status st;
    PGresult *r;
    if (salt) {
        char sx[64], hx[96];
        bytea_hex(sx, sizeof sx, salt, GW_SALT_LEN);
        bytea_hex(hx, sizeof hx, hash, GW_HASH_LEN);
        const char *v[] = {sx, hx, id};
        r = run(p, "keys: rotate", "UPDATE keys SET salt = $1, hash = $2 WHERE id = $3", 3, v, PGRES_COMMAND_OK, &st);
    } else {
        const char *v[] = {id};
        r = run(p, "keys: revoke", "UPDATE keys SET revoked = extract(epoch from now())::bigint WHERE id = $1", 1, v,
                PGRES_COMMAND_OK, &st);
    }
    if (r && !strcmp(PQcmdTuples(r), "0")) st = hearth_set_error(HEARTH_ERR_NOT_FOUND, "no key with id %s", id);
    PQclear(r);
    return st;
}

/* Keys may have changed when a notification arrived on the listening
 * connection, or when that connection is (or was) down and notifications may
 * have been missed. Never blocks on the listener except to reconnect it, at
 * most once a second. */
static hearth_status pg_keys_changed(gw_store *s, bool *changed) {
    pg_store *p = (pg_store *)s;
    *changed = false;
    if (p->listen && (!PQconsumeInput(p->listen) || PQstatus(p->listen) != CONNECTION_OK)) {
        hearth_log(HEARTH_LOG_WARN, "gateway: the key-change listener lost the database %s", p->where);
        PQfinish(p->listen);
        p->listen = NULL;
    }
    if (!p->listen) {
        *changed = true;   /* nothing heard while down: assume everything changed */
        double now = gw_mono_s();
        if (now < p->listen_retry) return HEARTH_OK;
        p->listen_retry = now + LISTEN_RETRY_S;
        PGconn *c = connect_url(p->url);
        PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, "LISTEN hearth_keys") : NULL;
        if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
            p->listen = c;   /* from here on nothing is missed; the cache is dropped this once */
        } else {
            PQfinish(c);
        }
        PQclear(r);
        return HEARTH_OK;
    }
    PGnotify *n;
    while ((n = PQnotifies(p->listen))) {
        *changed = true;
        PQfreemem(n);
    }
    return HEARTH_OK;
}

/* ==== usage ========================================================================= */
static hearth_status pg_usage_add(gw_store *s, const gw_usage_row *rows, size_t n) {
    pg_store *p = (pg_store *)s;
    hearth_status st = n > 1 ? exec0(p, "usage: begin", "BEGIN", 0, NULL) : HEARTH_OK;
    for (size_t i = 0; i < n && !st; i++) {
        char day[24], req[24], tin[24], tout[24];
        i64(day, sizeof day, rows[i].day);
        i64(req, sizeof req, rows[i].requests);
        i64(tin, sizeof tin, rows[i].tokens_in);
        i64(tout, sizeof tout, rows[i].tokens_out);
        const char *v[] = {rows[i].key_id, rows[i].model, day, req, tin, tout};
        st = exec0(p, "usage: record",
                   "INSERT INTO usage AS u (key_id, model, day, requests, tokens_in, tokens_out)"
                   " VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (key_id, model, day) DO UPDATE SET"
                   " requests = u.requests + excluded.requests, tokens_in = u.tokens_in + excluded.tokens_in,"
                   " tokens_out = u.tokens_out + excluded.tokens_out",
                   6, v);
    }
    if (!st && n > 1) st = exec0(p, "usage: commit", "COMMIT", 0, NULL);
    if (st) rollback(p);
    return st;
}

static hearth_status pg_usage_sum(gw_store *s, const char *key_id, int64_t day0, int64_t day1, int64_t *tokens) {
    pg_store *p = (pg_store *)s;
    char d0[24], d1[24];
    i64(d0, sizeof d0, day0);
    i64(d1, sizeof d1, day1);
    const char *v[] = {key_id, d0, d1};
    hearth_status st;
    PGresult *r = run(p, "usage: query",
                      "SELECT COALESCE(SUM(tokens_in + tokens_out), 0) FROM usage"
                      " WHERE key_id = $1 AND day >= $2 AND day < $3",
                      3, v, PGRES_TUPLES_OK, &st);
    if (r) *tokens = col64(r, 0, 0);
    PQclear(r);
    return st;
}

/* ==== shared limits ================================================================= */
static hearth_status pg_window_admit(gw_store *s, const char *key_id, int64_t rpm, int64_t tpm, bool *rpm_ok,
                                     bool *tpm_ok, int *retry_after_s) {
    pg_store *p = (pg_store *)s;
    *rpm_ok = *tpm_ok = false;
    *retry_after_s = 1;
    const char *v[] = {key_id};
    hearth_status st;
    /* one atomic statement: every gateway's request lands on the same row */
    PGresult *r = run(p, "limits",
                      "INSERT INTO rate_window AS w (key_id, minute, requests, tokens)"
                      " VALUES ($1, date_trunc('minute', now()), 1, 0)"
                      " ON CONFLICT (key_id, minute) DO UPDATE SET requests = w.requests + 1"
                      " RETURNING requests, tokens,"
                      " ceil(extract(epoch from (minute + interval '1 minute' - now())))::int",
                      1, v, PGRES_TUPLES_OK, &st);
    if (!r) return st;
    int64_t n = col64(r, 0, 0), tokens = col64(r, 0, 1);
    int wait = atoi(PQgetvalue(r, 0, 2));
    PQclear(r);
    *rpm_ok = rpm <= 0 || n <= rpm;
    *tpm_ok = tpm <= 0 || tokens < tpm;
    *retry_after_s = wait < 1 ? 1 : wait;
    if (++p->n_admit % WINDOW_SWEEP_EVERY == 0 &&
        exec0(p, "limits: sweep", "DELETE FROM rate_window WHERE minute < now() - interval '10 minutes'", 0, NULL))
        hearth_log(HEARTH_LOG_WARN, "gateway: %s", hearth_last_error());
    return HEARTH_OK;
}

static hearth_status pg_window_charge(gw_store *s, const char *key_id, int64_t tokens) {
    pg_store *p = (pg_store *)s;
    char t[24];
    i64(t, sizeof t, tokens);
    const char *v[] = {key_id, t};
    return exec0(p, "limits: charge",
                 "INSERT INTO rate_window AS w (key_id, minute, requests, tokens)"
                 " VALUES ($1, date_trunc('minute', now()), 0, $2)"
                 " ON CONFLICT (key_id, minute) DO UPDATE SET tokens = w.tokens + excluded.tokens",
                 2, v);
}

/* ==== audit ========================================================================= */
#define AUDIT_COLS                                                                                                \
    "id, time_ms, key_id, model, adapter, endpoint, status, tokens_in, tokens_out, latency_ms, pii_kinds, client," \
    " prompt, response, prev_hash, hash"

/* queues one record's INSERT on the pipeline; false if it could not be sent */
static bool send_record(pg_store *p, const hearth_audit_record *r, const char *prev) {
    char id[24], t[24], status[16], tin[24], tout[24], lat[24];
    i64(id, sizeof id, r->id);
    i64(t, sizeof t, r->time_ms);
    snprintf(status, sizeof status, "%d", r->status);
    i64(tin, sizeof tin, r->tokens_in);
    i64(tout, sizeof tout, r->tokens_out);
    i64(lat, sizeof lat, r->latency_ms);
    const char *v[] = {id, t, r->key_id ? r->key_id : "", r->model ? r->model : "", r->adapter ? r->adapter : "",
                       r->endpoint ? r->endpoint : "", status, tin, tout, lat, r->pii_kinds ? r->pii_kinds : "",
                       r->client ? r->client : "", r->prompt, r->response, prev, r->hash};
    /* libpq copies the parameters into its output buffer here */
    return PQsendQueryParams(p->conn,
                             "INSERT INTO audit (" AUDIT_COLS ")"
                             " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
                             16, NULL, v, NULL, NULL, 0) == 1;
}

/* Two round trips whatever the group's size: BEGIN and the head locked, then
 * (libpq's pipeline mode) the inserts, the head update and COMMIT sent at once. */
static hearth_status pg_audit_append(gw_store *s, hearth_audit_record **recs, size_t n, gw_chain_fn chain) {
    pg_store *p = (pg_store *)s;
    /* round trip 1: the head row locked — appenders of every gateway queue here, one chain */
    hearth_status st;
    PGresult *r = run(p, "audit: read head",
                      "BEGIN; SELECT n, hash, (extract(epoch from clock_timestamp()) * 1000)::bigint"
                      " FROM audit_head WHERE one = 1 FOR UPDATE",
                      0, NULL, PGRES_TUPLES_OK, &st);
    if (r && PQntuples(r) != 1) st = hearth_set_error(HEARTH_ERR_FORMAT, "audit: the head row is missing");
    if (st) {
        PQclear(r);
        rollback(p);
        return st;
    }
    int64_t id = col64(r, 0, 0), now_ms = col64(r, 0, 2);
    char prev[65], nb[24];
    snprintf(prev, sizeof prev, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    /* round trip 2, pipelined: the inserts, the head update and COMMIT sent at once */
    if (!PQenterPipelineMode(p->conn)) {
        st = conn_error(p, p->conn, "audit: pipeline");
        rollback(p);
        return st;
    }
    int sent = 0;
    for (size_t i = 0; i < n && !st; i++) {
        hearth_audit_record *rec = recs[i];
        rec->id = ++id;
        rec->time_ms = now_ms;   /* the database's clock: ordered with the chain */
        if (!chain(prev, rec, rec->hash)) {
            st = hearth_set_error(HEARTH_ERR_FORMAT, "audit: the head hash is damaged");
            break;
        }
        if (!send_record(p, rec, prev)) break;
        sent++;
        memcpy(prev, rec->hash, 65);
    }
    i64(nb, sizeof nb, id);
    const char *v[] = {nb, prev};
    bool all = !st && sent == (int)n &&
               PQsendQueryParams(p->conn, "UPDATE audit_head SET n = $1, hash = $2 WHERE one = 1", 2, NULL, v, NULL,
                                 NULL, 0) &&
               PQsendQueryParams(p->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    if (all) sent += 2;
    if (!PQpipelineSync(p->conn)) all = false;
    /* results: one or more per statement, a NULL after each, then the sync */
    int nulls = 0;
    for (;;) {
        PGresult *x = PQgetResult(p->conn);
        if (!x) {
            if (++nulls > sent + 1 || PQstatus(p->conn) != CONNECTION_OK) break;
            continue;
        }
        ExecStatusType t = PQresultStatus(x);
        if (t == PGRES_PIPELINE_SYNC) {
            PQclear(x);
            break;
        }
        if (t != PGRES_COMMAND_OK && t != PGRES_PIPELINE_ABORTED && !st) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(x));
            trim_msg(msg);
            st = hearth_set_error(HEARTH_ERR_IO, "audit: append: %s", msg);
        }
        PQclear(x);
    }
    PQexitPipelineMode(p->conn);
    if (!st && !all) st = conn_error(p, p->conn, "audit: append");
    if (st) rollback(p);
    return st;
}

static void row_record(PGresult *r, hearth_audit_record *rec) {
    memset(rec, 0, sizeof *rec);
    rec->id = col64(r, 0, 0);
    rec->time_ms = col64(r, 0, 1);
    rec->key_id = PQgetvalue(r, 0, 2);
    rec->model = PQgetvalue(r, 0, 3);
    rec->adapter = PQgetvalue(r, 0, 4);
    rec->endpoint = PQgetvalue(r, 0, 5);
    rec->status = atoi(PQgetvalue(r, 0, 6));
    rec->tokens_in = col64(r, 0, 7);
    rec->tokens_out = col64(r, 0, 8);
    rec->latency_ms = col64(r, 0, 9);
    rec->pii_kinds = PQgetvalue(r, 0, 10);
    rec->client = PQgetvalue(r, 0, 11);
    rec->prompt = PQgetisnull(r, 0, 12) ? NULL : PQgetvalue(r, 0, 12);
    rec->response = PQgetisnull(r, 0, 13) ? NULL : PQgetvalue(r, 0, 13);
    snprintf(rec->hash, sizeof rec->hash, "%s", PQgetvalue(r, 0, 15));
}

static hearth_status pg_audit_scan(gw_store *s, int64_t since_ms, int64_t until_ms, int64_t *head_n,
                                   char head_hash[65], gw_audit_row_fn fn, void *user) {
    pg_store *p = (pg_store *)s;
    /* one snapshot for the head and the rows, even while gateways append */
    hearth_status st = exec0(p, "audit: begin", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
    if (st) return st;
    if (head_n) {
        PGresult *r = run(p, "audit: read head", "SELECT n, hash FROM audit_head WHERE one = 1", 0, NULL,
                          PGRES_TUPLES_OK, &st);
        if (r && PQntuples(r) != 1) st = hearth_set_error(HEARTH_ERR_FORMAT, "audit: the head row is missing");
        if (!st) {
            *head_n = col64(r, 0, 0);
            snprintf(head_hash, 65, "%s", PQgetvalue(r, 0, 1));
        }
        PQclear(r);
        if (st) {
            rollback(p);
            return st;
        }
    }
    char a[24], b[24];
    i64(a, sizeof a, head_n ? INT64_MIN : since_ms);
    i64(b, sizeof b, until_ms);
    const char *v[] = {a, b};
    if (!PQsendQueryParams(p->conn,
                           "SELECT " AUDIT_COLS " FROM audit"
                           " WHERE time_ms >= $1::bigint AND ($2::bigint = 0 OR time_ms < $2::bigint) ORDER BY id",
                           2, NULL, v, NULL, NULL, 0) ||
        !PQsetSingleRowMode(p->conn)) {
        st = conn_error(p, p->conn, "audit: read");
        rollback(p);
        return st;
    }
    bool stop = false;
    PGresult *r;
    while ((r = PQgetResult(p->conn))) {   /* rows one at a time: any size of log */
        ExecStatusType t = PQresultStatus(r);
        if (t == PGRES_SINGLE_TUPLE && !stop) {
            hearth_audit_record rec;
            row_record(r, &rec);
            stop = fn(&rec, PQgetvalue(r, 0, 14), user) != 0;
        } else if (t != PGRES_SINGLE_TUPLE && t != PGRES_TUPLES_OK && !st) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
            trim_msg(msg);
            st = hearth_set_error(HEARTH_ERR_IO, "audit: read: %s", msg);
        }
        PQclear(r);
    }
    if (!st) st = exec0(p, "audit: end", "COMMIT", 0, NULL);
    else rollback(p);
    return st;
}

/* ==== open / close ================================================================== */
static void pg_close(gw_store *s) {
    pg_store *p = (pg_store *)s;
    PQfinish(p->conn);
    PQfinish(p->listen);
    if (p->url) sodium_memzero(p->url, strlen(p->url));
    free(p->url);
    free(p);
}

static const gw_store_ops PG_OPS = {
    .name = "postgresql",
    .close = pg_close,
    .key_insert = pg_key_insert,
    .key_get = pg_key_get,
    .key_list = pg_key_list,
    .key_update = pg_key_update,
    .keys_changed = pg_keys_changed,
    .usage_add = pg_usage_add,
    .usage_sum = pg_usage_sum,
    .window_admit = pg_window_admit,
    .window_charge = pg_window_charge,
    .audit_append = pg_audit_append,
    .audit_scan = pg_audit_scan,
};

hearth_status gw_store_pg_open(const char *url, gw_store **out) {
    *out = NULL;
    pg_store *p = calloc(1, sizeof *p);
    if (!p) return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    p->base.ops = &PG_OPS;
    redact(url, p->where, sizeof p->where);
    p->url = strdup(url);
    if (!p->url) {
        free(p);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    p->conn = connect_url(url);
    hearth_status st = HEARTH_OK;
    if (PQstatus(p->conn) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", p->conn ? PQerrorMessage(p->conn) : "out of memory");
        trim_msg(msg);
        st = hearth_set_error(HEARTH_ERR_IO, "cannot connect to the database %s: %s", p->where, msg);
    }
    if (!st) st = migrate(p);
    if (st) {
        pg_close(&p->base);
        return st;
    }
    *out = &p->base;
    return HEARTH_OK;
}
