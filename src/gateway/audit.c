/*
 * audit.c — the tamper-evident audit log: one SQLite row per request, each
 * carrying hash = SHA-256(previous hash || canonical JSON of the row), and a
 * one-row head (count, last hash) updated in the same transaction.
 *
 * What verify catches: a changed field (the row's hash no longer matches), a
 * removed row (a gap in the ids, or the head counting more rows than exist),
 * an inserted row (an id out of sequence, or one past the head), rows swapped
 * (the id is part of what is hashed). What it cannot catch on its own: someone
 * with write access who rewrites every later hash and the head — keep a copy
 * of the head hash elsewhere (`hearth audit verify` prints it) to pin it.
 *
 * Durability: WAL mode; synchronous=FULL fsyncs the WAL at every commit, so a
 * record is on disk before the gateway answers. NORMAL skips that fsync: a
 * crash of the process loses nothing, a power failure may lose the last
 * commits.
 *
 * Group commit: appends from several threads that arrive while one is being
 * written wait in a queue; the next writer takes the whole queue and commits
 * it as one transaction (one fsync under FULL), in arrival order. Each caller
 * returns when the transaction holding its record has committed (or failed:
 * then every record of it fails, and none was stored).
 */
#include "gateway_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct append_wait {
    hearth_audit_record *r;
    hearth_status st;
    char err[256];
    bool done;
    struct append_wait *next;
} append_wait;

#define GROUP_MAX 64            /* records per group commit at most */

struct hearth_audit {
    sqlite3 *db;
    pthread_mutex_t mu;         /* the connection and the statements */
    pthread_mutex_t qmu;        /* the queue of appends and `writing` */
    pthread_cond_t qcv;
    append_wait *q_head, *q_tail;
    bool writing;               /* a thread is committing a group */
    /* append's statements, prepared once (NULL until the first append) */
    sqlite3_stmt *s_begin, *s_head, *s_insert, *s_update, *s_commit;
};

#define SQL_HEAD "SELECT n, hash FROM audit_head WHERE one = 1"
#define SQL_INSERT                                                                                     \
    "INSERT INTO audit (id, time_ms, key_id, model, adapter, endpoint, status, tokens_in,"            \
    " tokens_out, latency_ms, pii_kinds, client, prompt, response, prev_hash, hash)"                  \
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define SQL_UPDATE "UPDATE audit_head SET n = ?, hash = ? WHERE one = 1"

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS audit ("
    " id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL,"
    " adapter TEXT NOT NULL, endpoint TEXT NOT NULL, status INTEGER NOT NULL,"
    " tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, latency_ms INTEGER NOT NULL,"
    " pii_kinds TEXT NOT NULL, client TEXT NOT NULL, prompt TEXT, response TEXT,"
    " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_time ON audit (time_ms);"
    "CREATE TABLE IF NOT EXISTS audit_head (one INTEGER PRIMARY KEY CHECK (one = 1),"
    " n INTEGER NOT NULL, hash TEXT NOT NULL);"
    "INSERT OR IGNORE INTO audit_head VALUES (1, 0,"
    " '0000000000000000000000000000000000000000000000000000000000000000');";

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* ==== canonical serialisation ======================================================= */
/* The hash chain covers these exact bytes, so this escaping (\u00XX for every
 * control character but \n \r \t) must not change: hearth_buf_json_str differs. */
static void json_str(hearth_buf *b, const char *s) {
    if (!s) {
        hearth_buf_put(b, "null", 4);
        return;
    }
    hearth_buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': hearth_buf_put(b, "\\\"", 2); break;
        case '\\': hearth_buf_put(b, "\\\\", 2); break;
        case '\n': hearth_buf_put(b, "\\n", 2); break;
        case '\r': hearth_buf_put(b, "\\r", 2); break;
        case '\t': hearth_buf_put(b, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                hearth_buf_put(b, esc, 6);
            } else {
                hearth_buf_put(b, (const char *)p, 1);
            }
        }
    }
    hearth_buf_put(b, "\"", 1);
}

char *hearth_audit_record_json(const hearth_audit_record *r, bool with_hash) {
    hearth_buf b = {0};
    hearth_buf_printf(&b, "{\"id\":%lld,\"time_ms\":%lld,\"key_id\":", (long long)r->id, (long long)r->time_ms);
    json_str(&b, r->key_id ? r->key_id : "");
    hearth_buf_put(&b, ",\"model\":", 9);
    json_str(&b, r->model ? r->model : "");
    hearth_buf_put(&b, ",\"adapter\":", 11);
    json_str(&b, r->adapter ? r->adapter : "");
    hearth_buf_put(&b, ",\"endpoint\":", 12);
    json_str(&b, r->endpoint ? r->endpoint : "");
    hearth_buf_printf(&b, ",\"status\":%d,\"tokens_in\":%lld,\"tokens_out\":%lld,\"latency_ms\":%lld,\"pii_kinds\":",
                  r->status, (long long)r->tokens_in, (long long)r->tokens_out, (long long)r->latency_ms);
    json_str(&b, r->pii_kinds ? r->pii_kinds : "");
    hearth_buf_put(&b, ",\"client\":", 10);
    json_str(&b, r->client ? r->client : "");
    hearth_buf_put(&b, ",\"prompt\":", 10);
    json_str(&b, r->prompt);
    hearth_buf_put(&b, ",\"response\":", 12);
    json_str(&b, r->response);
    if (with_hash) {
        hearth_buf_put(&b, ",\"hash\":", 8);
        json_str(&b, r->hash);
    }
    hearth_buf_put(&b, "}", 1);
    return hearth_buf_take(&b, NULL);
}

/* hex(SHA-256(raw(prev_hex) || canonical(r))) into out[65] */
static bool chain_hash(const char *prev_hex, const hearth_audit_record *r, char out[65]) {
    unsigned char prev[32], h[32];
    size_t n = 0;
    if (sodium_hex2bin(prev, sizeof prev, prev_hex, strlen(prev_hex), NULL, &n, NULL) != 0 || n != 32) return false;
    char *canon = hearth_audit_record_json(r, false);
    if (!canon) return false;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, 32);
    crypto_hash_sha256_update(&st, (const unsigned char *)canon, strlen(canon));
    crypto_hash_sha256_final(&st, h);
    free(canon);
    sodium_bin2hex(out, 65, h, 32);
    return true;
}

/* ==== open / close ================================================================== */
hearth_status hearth_audit_open(const char *path, bool sync_full, hearth_audit **out) {
    *out = NULL;
    if (sodium_init() < 0) return hearth_set_error(HEARTH_ERR_INTERNAL, "libsodium failed to initialise");
    sqlite3 *db;
    hearth_status st = gw_db_open(path, sync_full ? "FULL" : "NORMAL", SCHEMA, &db);
    if (st) return st;
    hearth_audit *a = calloc(1, sizeof *a);
    if (!a) {
        sqlite3_close(db);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    a->db = db;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->qmu, NULL);
    pthread_cond_init(&a->qcv, NULL);
    *out = a;
    return HEARTH_OK;
}

void hearth_audit_free(hearth_audit *a) {
    if (!a) return;
    sqlite3_finalize(a->s_begin);
    sqlite3_finalize(a->s_head);
    sqlite3_finalize(a->s_insert);
    sqlite3_finalize(a->s_update);
    sqlite3_finalize(a->s_commit);
    sqlite3_close(a->db);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->qmu);
    pthread_cond_destroy(&a->qcv);
    free(a);
}

/* ==== append ======================================================================== */
sqlite3 *gw_audit_db(hearth_audit *a) { return a->db; }

/* with a->mu held: prepares append's statements once */
static bool prepare_append(hearth_audit *a) {
    if (a->s_commit) return true;
    const char *sql[5] = {"BEGIN IMMEDIATE", SQL_HEAD, SQL_INSERT, SQL_UPDATE, "COMMIT"};
    sqlite3_stmt **out[5] = {&a->s_begin, &a->s_head, &a->s_insert, &a->s_update, &a->s_commit};
    for (int i = 0; i < 5; i++)
        if (!*out[i] && sqlite3_prepare_v3(a->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, out[i], NULL) != SQLITE_OK) {
            *out[i] = NULL;
            return false;
        }
    return true;
}

/* steps a statement that returns no rows and resets it */
static bool run_once(sqlite3_stmt *s) {
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok;
}

/* with a->mu held: inserts one record after prev (hex, updated to its hash) */
static hearth_status insert_locked(hearth_audit *a, hearth_audit_record *r, int64_t id, char prev[65]) {
    r->id = id;
    if (!chain_hash(prev, r, r->hash)) return hearth_set_error(HEARTH_ERR_FORMAT, "audit: the head hash is damaged");
    sqlite3_stmt *s = a->s_insert;
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
    if (!ok) return gw_db_error(a->db, "audit: insert");
    memcpy(prev, r->hash, 65);
    return HEARTH_OK;
}

/* one transaction for the records of a group, in order; the status of all */
static hearth_status write_group(hearth_audit *a, append_wait *group) {
    pthread_mutex_lock(&a->mu);
    hearth_status st = HEARTH_OK;
    bool in_tx = false;
    if (!prepare_append(a)) {
        st = gw_db_error(a->db, "audit: prepare");
        goto out;
    }
    if (!run_once(a->s_begin)) {
        st = gw_db_error(a->db, "audit: begin");
        goto out;
    }
    in_tx = true;
    char prev[65];
    sqlite3_stmt *s = a->s_head;
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_reset(s);
        st = gw_db_error(a->db, "audit: read head");
        goto out;
    }
    int64_t id = sqlite3_column_int64(s, 0);
    snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(s, 1));
    sqlite3_reset(s);
    for (append_wait *w = group; w && !st; w = w->next) st = insert_locked(a, w->r, ++id, prev);
    if (st) goto out;
    s = a->s_update;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, prev, -1, SQLITE_TRANSIENT);
    if (!run_once(s)) {
        st = gw_db_error(a->db, "audit: update head");
        goto out;
    }
    if (!run_once(a->s_commit)) {
        st = gw_db_error(a->db, "audit: commit");
        goto out;
    }
    in_tx = false;
out:
    if (in_tx) sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&a->mu);
    return st;
}

hearth_status hearth_audit_append(hearth_audit *a, hearth_audit_record *r) {
    append_wait me = {.r = r};
    pthread_mutex_lock(&a->qmu);
    /* `me` lives on this stack while queued: the writer unlinks it from the queue before it sets
     * me.done, and this function returns only after done (checked under qmu) */
    // cppcheck-suppress autoVariables
    if (a->q_tail) a->q_tail->next = &me;
    // cppcheck-suppress autoVariables
    else a->q_head = &me;
    // cppcheck-suppress autoVariables
    a->q_tail = &me;
    while (!me.done) {
        if (a->writing) {
            pthread_cond_wait(&a->qcv, &a->qmu);
            continue;
        }
        /* this thread writes the next group: the queue's first GROUP_MAX */
        a->writing = true;
        append_wait *group = a->q_head, *last = group;
        for (int n = 1; n < GROUP_MAX && last->next; n++) last = last->next;
        a->q_head = last->next;
        if (!a->q_head) a->q_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&a->qmu);
        hearth_status st = write_group(a, group);
        const char *msg = st ? hearth_last_error() : "";
        pthread_mutex_lock(&a->qmu);
        for (append_wait *w = group, *nx; w; w = nx) {
            nx = w->next;   /* w may be gone once done is set */
            w->st = st;
            snprintf(w->err, sizeof w->err, "%s", msg);
            w->done = true;
        }
        a->writing = false;
        pthread_cond_broadcast(&a->qcv);
    }
    pthread_mutex_unlock(&a->qmu);
    if (me.st) hearth_set_error(me.st, "%s", me.err);
    return me.st;
}

void gw_audit_restart_wal(void *audit) {
    hearth_audit *a = audit;
    pthread_mutex_lock(&a->mu);
    char *err = NULL;
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE; UPDATE audit_head SET n = n WHERE one = 1; COMMIT", NULL, NULL,
                     &err) != SQLITE_OK) {
        hearth_log(HEARTH_LOG_WARN, "audit: restarting the WAL: %s", err ? err : sqlite3_errmsg(a->db));
        if (!sqlite3_get_autocommit(a->db)) sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_free(err);
    pthread_mutex_unlock(&a->mu);
}

/* ==== reading ======================================================================= */
#define AUDIT_COLS                                                                                                \
    "id, time_ms, key_id, model, adapter, endpoint, status, tokens_in, tokens_out, latency_ms, pii_kinds, client," \
    " prompt, response, prev_hash, hash"

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
    if (prev_hash) *prev_hash = (const char *)sqlite3_column_text(s, 14);
    const char *h = (const char *)sqlite3_column_text(s, 15);
    snprintf(r->hash, sizeof r->hash, "%s", h ? h : "");
}

hearth_status hearth_audit_verify(hearth_audit *a, int64_t *n_records, int64_t *bad_id) {
    *n_records = 0;
    *bad_id = 0;
    pthread_mutex_lock(&a->mu);
    hearth_status st = HEARTH_OK;
    sqlite3_stmt *s = NULL;
    /* one read transaction: a consistent snapshot even while a gateway appends */
    sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL);
    int64_t head_n = 0;
    char head_hash[65] = "";
    if (sqlite3_prepare_v2(a->db, "SELECT n, hash FROM audit_head WHERE one = 1", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        st = hearth_set_error(HEARTH_ERR_FORMAT, "audit: the head row is missing");
        goto out;
    }
    head_n = sqlite3_column_int64(s, 0);
    snprintf(head_hash, sizeof head_hash, "%s", (const char *)sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    s = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT " AUDIT_COLS " FROM audit ORDER BY id", -1, &s, NULL) != SQLITE_OK) {
        st = gw_db_error(a->db, "audit: read");
        goto out;
    }
    char running[65] = ZERO_HASH;
    int64_t expect = 1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        hearth_audit_record r;
        const char *prev = NULL;
        row_record(s, &r, &prev);
        if (r.id != expect) {
            *bad_id = r.id;
            st = r.id > expect ? hearth_set_error(HEARTH_ERR_FORMAT,
                                                  "audit record %lld: records %lld..%lld before it are missing",
                                                  (long long)r.id, (long long)expect, (long long)r.id - 1)
                               : hearth_set_error(HEARTH_ERR_FORMAT, "audit record %lld: out of sequence",
                                                  (long long)r.id);
            goto out;
        }
        char h[65];
        if (!prev || strcmp(prev, running) != 0) {
            *bad_id = r.id;
            st = hearth_set_error(HEARTH_ERR_FORMAT,
                                  "audit record %lld: its previous-hash does not match record %lld (inserted, removed "
                                  "or reordered records)",
                                  (long long)r.id, (long long)r.id - 1);
            goto out;
        }
        if (!chain_hash(running, &r, h) || strcmp(h, r.hash) != 0) {
            *bad_id = r.id;
            st = hearth_set_error(HEARTH_ERR_FORMAT, "audit record %lld: contents changed (hash mismatch)",
                                  (long long)r.id);
            goto out;
        }
        memcpy(running, h, sizeof running);
        expect++;
    }
    if (rc != SQLITE_DONE) {
        st = gw_db_error(a->db, "audit: read");
        goto out;
    }
    if (expect - 1 != head_n || strcmp(running, head_hash) != 0) {
        *bad_id = expect - 1 < head_n ? expect : head_n + 1;
        st = expect - 1 < head_n
                 ? hearth_set_error(HEARTH_ERR_FORMAT, "audit: records %lld..%lld (the newest) are missing",
                                    (long long)expect, (long long)head_n)
                 : hearth_set_error(HEARTH_ERR_FORMAT,
                                    "audit: the head (%lld records) does not match the last record %lld",
                                    (long long)head_n, (long long)expect - 1);
        goto out;
    }
    *n_records = head_n;
out:
    sqlite3_finalize(s);
    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&a->mu);
    return st;
}

hearth_status hearth_audit_each(hearth_audit *a, int64_t since_ms, int64_t until_ms, hearth_audit_fn fn,
                                void *user) {
    pthread_mutex_lock(&a->mu);
    hearth_status st = HEARTH_OK;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT " AUDIT_COLS " FROM audit WHERE time_ms >= ? AND (? = 0 OR time_ms < ?)"
                           " ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK) {
        st = gw_db_error(a->db, "audit: read");
        goto out;
    }
    sqlite3_bind_int64(s, 1, since_ms);
    sqlite3_bind_int64(s, 2, until_ms);
    sqlite3_bind_int64(s, 3, until_ms);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        hearth_audit_record r;
        row_record(s, &r, NULL);
        if (fn(&r, user)) break;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) st = gw_db_error(a->db, "audit: read");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->mu);
    return st;
}
