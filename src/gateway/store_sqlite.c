/*
 * store_sqlite.c — the gateway's storage on SQLite (store.h): one file in WAL
 * mode, shared by the processes of one machine through SQLite's locking; every
 * write is one IMMEDIATE transaction, so audit appends from several processes
 * are serialised by the file's write lock.
 *
 * Keys and usage may live in one file and the audit log in another (or the
 * same): a store creates the tables of what it is opened for.
 */
#include "gateway_internal.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sq_store {
    gw_store base;
    sqlite3 *db;
    int64_t data_version;       /* at the last keys_changed */
    /* prepared once, NULL until first used */
    sqlite3_stmt *s_get, *s_version, *s_usage_add, *s_usage_sum;
    sqlite3_stmt *s_begin, *s_head, *s_insert, *s_update, *s_commit;
} sq_store;

static const char *SCHEMA_KEYS =
    "CREATE TABLE IF NOT EXISTS keys ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, role INTEGER NOT NULL, models TEXT NOT NULL,"
    " rpm INTEGER NOT NULL, tpm INTEGER NOT NULL, max_concurrent INTEGER NOT NULL,"
    " budget_tokens INTEGER NOT NULL, period INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
    " salt BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS usage ("
    " key_id TEXT NOT NULL, model TEXT NOT NULL, day INTEGER NOT NULL,"
    " requests INTEGER NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,"
    " PRIMARY KEY (key_id, model, day));";

static const char *SCHEMA_AUDIT =
    "CREATE TABLE IF NOT EXISTS audit ("
    " id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL,"
    " adapter TEXT NOT NULL, endpoint TEXT NOT NULL, status INTEGER NOT NULL,"
    " tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, latency_ms INTEGER NOT NULL,"
    " pii_kinds TEXT NOT NULL, client TEXT NOT NULL, prompt TEXT, response TEXT,"
    " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_time ON audit (time_ms);"
    "CREATE TABLE IF NOT EXISTS audit_head (one INTEGER PRIMARY KEY CHECK (one = 1),"
    " n INTEGER NOT NULL, hash TEXT NOT NULL);"
    "INSERT OR IGNORE INTO audit_head VALUES (1, 0, '" GW_ZERO_HASH "');";

#define KEY_COLS "id, name, role, models, rpm, tpm, max_concurrent, budget_tokens, period, expires, created, revoked"
#define AUDIT_COLS                                                                                                \
    "id, time_ms, key_id, model, adapter, endpoint, status, tokens_in, tokens_out, latency_ms, pii_kinds, client," \
    " prompt, response, prev_hash, hash"

/* *s prepared once (kept for the store's life), reset for use; NULL on failure */
static sqlite3_stmt *cached(sq_store *q, sqlite3_stmt **s, const char *sql) {
    if (!*s && sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) != SQLITE_OK) {
        *s = NULL;
        return NULL;
    }
    sqlite3_reset(*s);
    sqlite3_clear_bindings(*s);
    return *s;
}

/* steps a statement that returns no rows and resets it */
static bool run_once(sqlite3_stmt *s) {
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok;
}

static void sq_close(gw_store *s) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *all[] = {q->s_get, q->s_version, q->s_usage_add, q->s_usage_sum, q->s_begin,
                           q->s_head, q->s_insert, q->s_update, q->s_commit};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) sqlite3_finalize(all[i]);
    sqlite3_close(q->db);
    free(q);
}

/* ==== keys ========================================================================== */
static void read_key(sqlite3_stmt *s, hearth_key_info *k) {
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", (const char *)sqlite3_column_text(s, 0));
    snprintf(k->name, sizeof k->name, "%s", (const char *)sqlite3_column_text(s, 1));
    k->role = sqlite3_column_int(s, 2) ? HEARTH_ROLE_ADMIN : HEARTH_ROLE_USER;
    snprintf(k->models, sizeof k->models, "%s", (const char *)sqlite3_column_text(s, 3));
    k->rpm = sqlite3_column_int64(s, 4);
    k->tpm = sqlite3_column_int64(s, 5);
    k->max_concurrent = sqlite3_column_int64(s, 6);
    k->budget_tokens = sqlite3_column_int64(s, 7);
    k->period = (hearth_key_period)sqlite3_column_int(s, 8);
    k->expires = sqlite3_column_int64(s, 9);
    k->created = sqlite3_column_int64(s, 10);
    k->revoked = sqlite3_column_int64(s, 11);
}

static hearth_status sq_key_insert(gw_store *s, hearth_key_info *k, const unsigned char *salt,
                                   const unsigned char *hash) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(q->db, "INSERT INTO keys (" KEY_COLS ", salt, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,0,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return gw_db_error(q->db, "keys: insert");
    k->created = gw_now_s();
    sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, k->role == HEARTH_ROLE_ADMIN);
    sqlite3_bind_text(st, 4, k->models, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, k->rpm);
    sqlite3_bind_int64(st, 6, k->tpm);
    sqlite3_bind_int64(st, 7, k->max_concurrent);
    sqlite3_bind_int64(st, 8, k->budget_tokens);
    sqlite3_bind_int(st, 9, (int)k->period);
    sqlite3_bind_int64(st, 10, k->expires);
    sqlite3_bind_int64(st, 11, k->created);
    sqlite3_bind_blob(st, 12, salt, GW_SALT_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 13, hash, GW_HASH_LEN, SQLITE_STATIC);
    hearth_status r = sqlite3_step(st) == SQLITE_DONE ? HEARTH_OK : gw_db_error(q->db, "keys: insert");
    sqlite3_finalize(st);
    return r;
}

static hearth_status sq_key_get(gw_store *s, const char *id, hearth_key_info *k, unsigned char *salt,
                                unsigned char *hash) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = cached(q, &q->s_get, "SELECT " KEY_COLS ", salt, hash FROM keys WHERE id = ?");
    if (!st) return gw_db_error(q->db, "keys: lookup");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    hearth_status r = HEARTH_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_key(st, k);
        if (salt && hash) {
            if (sqlite3_column_bytes(st, 12) != GW_SALT_LEN || sqlite3_column_bytes(st, 13) != GW_HASH_LEN) {
                r = hearth_set_error(HEARTH_ERR_FORMAT, "keys: row %s has a damaged salt or hash", id);
            } else {
                memcpy(salt, sqlite3_column_blob(st, 12), GW_SALT_LEN);
                memcpy(hash, sqlite3_column_blob(st, 13), GW_HASH_LEN);
            }
        }
    } else if (rc == SQLITE_DONE) {
        r = hearth_set_error(HEARTH_ERR_NOT_FOUND, "no key with id %s", id);
    } else {
        r = gw_db_error(q->db, "keys: lookup");
    }
    sqlite3_reset(st);
    return r;
}

static hearth_status sq_key_list(gw_store *s, hearth_key_info **out, size_t *n) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    hearth_status r = HEARTH_OK;
    size_t cap = 0;
    hearth_key_info *v = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(q->db, "SELECT " KEY_COLS " FROM keys ORDER BY created, rowid", -1, &st, NULL) !=
        SQLITE_OK) {
        r = gw_db_error(q->db, "keys: list");
        goto out;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!HEARTH_GROW(v, cap, *n + 1)) {
            r = hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
            goto out;
        }
        read_key(st, &v[(*n)++]);
    }
    if (rc != SQLITE_DONE) r = gw_db_error(q->db, "keys: list");
out:
    sqlite3_finalize(st);
    if (r) {
        free(v);
        v = NULL;
        *n = 0;
    }
    *out = v;
    return r;
}

static hearth_status sq_key_update(gw_store *s, const char *id, const unsigned char *salt,
                                   const unsigned char *hash) {
    sq_store *q = (sq_store *)s;
    const char *what = salt ? "keys: rotate" : "keys: revoke";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(q->db,
                           salt ? "UPDATE keys SET salt = ?, hash = ? WHERE id = ?"
                                : "UPDATE keys SET revoked = ? WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return gw_db_error(q->db, what);
    int i = 1;
    if (salt) {
        sqlite3_bind_blob(st, i++, salt, GW_SALT_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, i++, hash, GW_HASH_LEN, SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(st, i++, gw_now_s());
    }
    sqlite3_bind_text(st, i, id, -1, SQLITE_STATIC);
    hearth_status r = HEARTH_OK;
    if (sqlite3_step(st) != SQLITE_DONE) r = gw_db_error(q->db, what);
    else if (sqlite3_changes(q->db) == 0) r = hearth_set_error(HEARTH_ERR_NOT_FOUND, "no key with id %s", id);
    sqlite3_finalize(st);
    return r;
}

/* PRAGMA data_version changes when another connection — `hearth keys revoke` in
 * another process — commits to the file */
static hearth_status sq_keys_changed(gw_store *s, bool *changed) {
    sq_store *q = (sq_store *)s;
    *changed = true;
    sqlite3_stmt *st = cached(q, &q->s_version, "PRAGMA data_version");
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        if (st) sqlite3_reset(st);
        return gw_db_error(q->db, "keys: data_version");
    }
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    *changed = v != q->data_version;
    q->data_version = v;
    return HEARTH_OK;
}

/* ==== usage ========================================================================= */
#define USAGE_UPSERT                                                                                  \
    "INSERT INTO usage (key_id, model, day, requests, tokens_in, tokens_out) VALUES (?,?,?,?,?,?)"       \
    " ON CONFLICT (key_id, model, day) DO UPDATE SET requests = requests + excluded.requests,"          \
    " tokens_in = tokens_in + excluded.tokens_in, tokens_out = tokens_out + excluded.tokens_out"

static hearth_status usage_one(sq_store *q, const gw_usage_row *u) {
    sqlite3_stmt *st = cached(q, &q->s_usage_add, USAGE_UPSERT);
    if (!st) return gw_db_error(q->db, "usage: record");
    sqlite3_bind_text(st, 1, u->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, u->day);
    sqlite3_bind_int64(st, 4, u->requests);
    sqlite3_bind_int64(st, 5, u->tokens_in);
    sqlite3_bind_int64(st, 6, u->tokens_out);
    hearth_status r = sqlite3_step(st) == SQLITE_DONE ? HEARTH_OK : gw_db_error(q->db, "usage: record");
    sqlite3_reset(st);
    return r;
}

static hearth_status sq_usage_add(gw_store *s, const gw_usage_row *rows, size_t n) {
    sq_store *q = (sq_store *)s;
    if (n == 1) return usage_one(q, rows);
    if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return gw_db_error(q->db, "usage: begin");
    hearth_status r = HEARTH_OK;
    for (size_t i = 0; i < n && !r; i++) r = usage_one(q, &rows[i]);
    if (!r && sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) r = gw_db_error(q->db, "usage: commit");
    if (r) sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

static hearth_status sq_usage_sum(gw_store *s, const char *key_id, int64_t day0, int64_t day1, int64_t *tokens) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = cached(q, &q->s_usage_sum,
                              "SELECT COALESCE(SUM(tokens_in + tokens_out), 0) FROM usage"
                              " WHERE key_id = ? AND day >= ? AND day < ?");
    if (!st) return gw_db_error(q->db, "usage: query");
    sqlite3_bind_text(st, 1, key_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, day0);
    sqlite3_bind_int64(st, 3, day1);
    hearth_status r = HEARTH_OK;
    if (sqlite3_step(st) == SQLITE_ROW) *tokens = sqlite3_column_int64(st, 0);
    else r = gw_db_error(q->db, "usage: query");
    sqlite3_reset(st);
    return r;
}

/* ==== audit ========================================================================= */
static bool prepare_append(sq_store *q) {
    if (q->s_commit) return true;
    const char *sql[5] = {"BEGIN IMMEDIATE", "SELECT n, hash FROM audit_head WHERE one = 1",
                          "INSERT INTO audit (" AUDIT_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                          "UPDATE audit_head SET n = ?, hash = ? WHERE one = 1", "COMMIT"};
    sqlite3_stmt **out[5] = {&q->s_begin, &q->s_head, &q->s_insert, &q->s_update, &q->s_commit};
    for (int i = 0; i < 5; i++)
        if (!*out[i] && sqlite3_prepare_v3(q->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, out[i], NULL) != SQLITE_OK) {
            *out[i] = NULL;
            return false;
        }
    return true;
}

static bool insert_record(sq_store *q, const hearth_audit_record *r, const char *prev) {
    sqlite3_stmt *s = q->s_insert;
    sqlite3_clear_bindings(s);
    sqlite3_bind_int64(s, 1, r->id);
    sqlite3_bind_int64(s, 2, r->time_ms);
    sqlite3_bind_text(s, 3, r->key_id ? r->key_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, r->model ? r->model : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, r->adapter ? r->adapter : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->endpoint ? r->endpoint : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, r->status);
    sqlite3_bind_int64(s, 8, r->tokens_in);
    sqlite3_bind_int64(s, 9, r->tokens_out);
    sqlite3_bind_int64(s, 10, r->latency_ms);
    sqlite3_bind_text(s, 11, r->pii_kinds ? r->pii_kinds : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 12, r->client ? r->client : "", -1, SQLITE_STATIC);
    if (r->prompt) sqlite3_bind_text(s, 13, r->prompt, -1, SQLITE_STATIC);
    if (r->response) sqlite3_bind_text(s, 14, r->response, -1, SQLITE_STATIC);   /* unbound: NULL */
    sqlite3_bind_text(s, 15, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 16, r->hash, -1, SQLITE_STATIC);
    bool ok = run_once(s);
    sqlite3_clear_bindings(s);   /* the bound strings are the caller's */
    return ok;
}

static hearth_status sq_audit_append(gw_store *s, hearth_audit_record **recs, size_t n, gw_chain_fn chain) {
    sq_store *q = (sq_store *)s;
    if (!prepare_append(q)) return gw_db_error(q->db, "audit: prepare");
    if (!run_once(q->s_begin)) return gw_db_error(q->db, "audit: begin");
    hearth_status st = HEARTH_OK;
    char prev[65];
    sqlite3_stmt *h = q->s_head;
    if (sqlite3_step(h) != SQLITE_ROW) {
        sqlite3_reset(h);
        st = gw_db_error(q->db, "audit: read head");
        goto out;
    }
    int64_t id = sqlite3_column_int64(h, 0);
    snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(h, 1));
    sqlite3_reset(h);
    for (size_t i = 0; i < n; i++) {
        hearth_audit_record *r = recs[i];
        r->id = ++id;
        if (!chain(prev, r, r->hash)) {
            st = hearth_set_error(HEARTH_ERR_FORMAT, "audit: the head hash is damaged");
            goto out;
        }
        if (!insert_record(q, r, prev)) {
            st = gw_db_error(q->db, "audit: insert");
            goto out;
        }
        memcpy(prev, r->hash, 65);
    }
    sqlite3_bind_int64(q->s_update, 1, id);
    sqlite3_bind_text(q->s_update, 2, prev, -1, SQLITE_TRANSIENT);
    if (!run_once(q->s_update)) {
        st = gw_db_error(q->db, "audit: update head");
        goto out;
    }
    if (!run_once(q->s_commit)) st = gw_db_error(q->db, "audit: commit");
out:
    if (!sqlite3_get_autocommit(q->db)) sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static void row_record(sqlite3_stmt *s, hearth_audit_record *r, const char **prev_hash) {
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(s, 0);
    r->time_ms = sqlite3_column_int64(s, 1);
    r->key_id = (const char *)sqlite3_column_text(s, 2);
    r->model = (const char *)sqlite3_column_text(s, 3);
    r->adapter = (const char *)sqlite3_column_text(s, 4);
    r->endpoint = (const char *)sqlite3_column_text(s, 5);
    r->status = sqlite3_column_int(s, 6);
    r->tokens_in = sqlite3_column_int64(s, 7);
    r->tokens_out = sqlite3_column_int64(s, 8);
    r->latency_ms = sqlite3_column_int64(s, 9);
    r->pii_kinds = (const char *)sqlite3_column_text(s, 10);
    r->client = (const char *)sqlite3_column_text(s, 11);
    r->prompt = sqlite3_column_type(s, 12) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(s, 12);
    r->response = sqlite3_column_type(s, 13) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(s, 13);
    *prev_hash = (const char *)sqlite3_column_text(s, 14);
    const char *h = (const char *)sqlite3_column_text(s, 15);
    snprintf(r->hash, sizeof r->hash, "%s", h ? h : "");
}

static hearth_status sq_audit_scan(gw_store *s, int64_t since_ms, int64_t until_ms, int64_t *head_n,
                                   char head_hash[65], gw_audit_row_fn fn, void *user) {
    sq_store *q = (sq_store *)s;
    hearth_status r = HEARTH_OK;
    sqlite3_stmt *st = NULL;
    /* one read transaction: a consistent snapshot even while a gateway appends */
    sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL);
    if (head_n) {
        if (sqlite3_prepare_v2(q->db, "SELECT n, hash FROM audit_head WHERE one = 1", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW) {
            r = hearth_set_error(HEARTH_ERR_FORMAT, "audit: the head row is missing");
            goto out;
        }
        *head_n = sqlite3_column_int64(st, 0);
        snprintf(head_hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
        st = NULL;
    }
    if (sqlite3_prepare_v2(q->db,
                           "SELECT " AUDIT_COLS " FROM audit WHERE time_ms >= ? AND (? = 0 OR time_ms < ?)"
                           " ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        r = gw_db_error(q->db, "audit: read");
        goto out;
    }
    sqlite3_bind_int64(st, 1, head_n ? INT64_MIN : since_ms);
    sqlite3_bind_int64(st, 2, until_ms);
    sqlite3_bind_int64(st, 3, until_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hearth_audit_record rec;
        const char *prev = NULL;
        row_record(st, &rec, &prev);
        if (fn(&rec, prev, user)) break;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) r = gw_db_error(q->db, "audit: read");
out:
    sqlite3_finalize(st);
    sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
    return r;
}

void gw_store_sqlite_restart_wal(gw_store *s) {
    sq_store *q = (sq_store *)s;
    char *err = NULL;
    if (sqlite3_exec(q->db, "BEGIN IMMEDIATE; UPDATE audit_head SET n = n WHERE one = 1; COMMIT", NULL, NULL,
                     &err) != SQLITE_OK) {
        hearth_log(HEARTH_LOG_WARN, "audit: restarting the WAL: %s", err ? err : sqlite3_errmsg(q->db));
        if (!sqlite3_get_autocommit(q->db)) sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_free(err);
}

/* ==== open ========================================================================== */
static const gw_store_ops SQLITE_OPS = {
    .name = "sqlite",
    .close = sq_close,
    .key_insert = sq_key_insert,
    .key_get = sq_key_get,
    .key_list = sq_key_list,
    .key_update = sq_key_update,
    .keys_changed = sq_keys_changed,
    .usage_add = sq_usage_add,
    .usage_sum = sq_usage_sum,
    .window_admit = NULL,   /* one machine: the gateway's buckets in memory */
    .window_charge = NULL,
    .audit_append = sq_audit_append,
    .audit_scan = sq_audit_scan,
};

sqlite3 *gw_store_sqlite_db(gw_store *s) { return s && s->ops == &SQLITE_OPS ? ((sq_store *)s)->db : NULL; }

hearth_status gw_store_sqlite_open(const char *path, gw_store_use use, bool sync_full, gw_store **out) {
    *out = NULL;
    sqlite3 *db;
    /* keys and usage: WAL, no fsync per request; the audit log as configured */
    const char *schema = use == GW_STORE_AUDIT ? SCHEMA_AUDIT : SCHEMA_KEYS;
    hearth_status st = gw_db_open(path, sync_full ? "FULL" : "NORMAL", schema, &db);
    if (st) return st;
    sq_store *q = calloc(1, sizeof *q);
    if (!q) {
        sqlite3_close(db);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    q->base.ops = &SQLITE_OPS;
    q->db = db;
    q->data_version = -1;
    *out = &q->base;
    return HEARTH_OK;
}

bool gw_store_is_url(const char *where) {
    return where && (!strncmp(where, "postgresql://", 13) || !strncmp(where, "postgres://", 11));
}

hearth_status gw_store_open(const char *where, gw_store_use use, bool sync_full, gw_store **out) {
    if (gw_store_is_url(where)) return gw_store_pg_open(where, out);
    return gw_store_sqlite_open(where, use, sync_full, out);
}

void gw_store_close(gw_store *s) {
    if (s) s->ops->close(s);
}
