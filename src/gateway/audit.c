/*
 * audit.c — the tamper-evident audit log: one row per request (in the
 * gateway's store, store.h: SQLite or PostgreSQL), each carrying
 * hash = SHA-256(previous hash || canonical JSON of the row), and a one-row
 * head (count, last hash) updated in the same transaction. Appends from
 * every process sharing the store are serialised by the store (SQLite: the
 * file's write lock; PostgreSQL: the head row locked FOR UPDATE), so there is
 * one linear chain however many gateways write to it.
 *
 * What verify catches: a changed field (the row's hash no longer matches), a
 * removed row (a gap in the ids, or the head counting more rows than exist),
 * an inserted row (an id out of sequence, or one past the head), rows swapped
 * (the id is part of what is hashed). What it cannot catch on its own: someone
 * with write access who rewrites every later hash and the head — keep a copy
 * of the head hash elsewhere (`hearth audit verify` prints it) to pin it.
 *
 * Durability (SQLite): WAL mode; synchronous=FULL fsyncs the WAL at every commit, so a
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
#include "store.h"

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
    gw_store *st;
    pthread_mutex_t mu;         /* the store */
    pthread_mutex_t qmu;        /* the queue of appends and `writing` */
    pthread_cond_t qcv;
    append_wait *q_head, *q_tail;
    bool writing;               /* a thread is committing a group */
};

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
    if (!path || !*path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "no audit database given");
    gw_store *db;
    hearth_status st = gw_store_open(path, GW_STORE_AUDIT, sync_full, &db);
    if (st) return st;
    hearth_audit *a = calloc(1, sizeof *a);
    if (!a) {
        gw_store_close(db);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    a->st = db;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->qmu, NULL);
    pthread_cond_init(&a->qcv, NULL);
    *out = a;
    return HEARTH_OK;
}

void hearth_audit_free(hearth_audit *a) {
    if (!a) return;
    gw_store_close(a->st);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->qmu);
    pthread_cond_destroy(&a->qcv);
    free(a);
}

/* ==== append ======================================================================== */
sqlite3 *gw_audit_db(hearth_audit *a) { return gw_store_sqlite_db(a->st); }

/* one transaction for the records of a group, in order; the status of all */
static hearth_status write_group(hearth_audit *a, append_wait *group) {
    hearth_audit_record *recs[GROUP_MAX];
    size_t n = 0;
    for (append_wait *w = group; w && n < GROUP_MAX; w = w->next) recs[n++] = w->r;
    pthread_mutex_lock(&a->mu);
    hearth_status st = a->st->ops->audit_append(a->st, recs, n, chain_hash);
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
    gw_store_sqlite_restart_wal(a->st);
    pthread_mutex_unlock(&a->mu);
}

/* ==== reading ======================================================================= */
typedef struct verify_walk {
    char running[65];           /* hash of the chain so far */
    int64_t expect;             /* the next id */
    int64_t bad_id;
    hearth_status st;
} verify_walk;

static int verify_row(const hearth_audit_record *r, const char *prev, void *user) {
    verify_walk *v = user;
    if (r->id != v->expect) {
        v->bad_id = r->id;
        v->st = r->id > v->expect ? hearth_set_error(HEARTH_ERR_FORMAT,
                                                     "audit record %lld: records %lld..%lld before it are missing",
                                                     (long long)r->id, (long long)v->expect, (long long)r->id - 1)
                                  : hearth_set_error(HEARTH_ERR_FORMAT, "audit record %lld: out of sequence",
                                                     (long long)r->id);
        return 1;
    }
    if (!prev || strcmp(prev, v->running) != 0) {
        v->bad_id = r->id;
        v->st = hearth_set_error(HEARTH_ERR_FORMAT,
                                 "audit record %lld: its previous-hash does not match record %lld (inserted, removed "
                                 "or reordered records)",
                                 (long long)r->id, (long long)r->id - 1);
        return 1;
    }
    char h[65];
    if (!chain_hash(v->running, r, h) || strcmp(h, r->hash) != 0) {
        v->bad_id = r->id;
        v->st = hearth_set_error(HEARTH_ERR_FORMAT, "audit record %lld: contents changed (hash mismatch)",
                                 (long long)r->id);
        return 1;
    }
    memcpy(v->running, h, sizeof v->running);
    v->expect++;
    return 0;
}

hearth_status hearth_audit_verify(hearth_audit *a, int64_t *n_records, int64_t *bad_id) {
    *n_records = 0;
    *bad_id = 0;
    verify_walk v = {.running = GW_ZERO_HASH, .expect = 1};
    int64_t head_n = 0;
    char head_hash[65] = "";
    pthread_mutex_lock(&a->mu);
    hearth_status st = a->st->ops->audit_scan(a->st, 0, 0, &head_n, head_hash, verify_row, &v);
    pthread_mutex_unlock(&a->mu);
    if (st) return st;
    if (v.st) {
        *bad_id = v.bad_id;
        return v.st;
    }
    int64_t last = v.expect - 1;
    if (last != head_n || strcmp(v.running, head_hash) != 0) {
        *bad_id = last < head_n ? v.expect : head_n + 1;
        return last < head_n ? hearth_set_error(HEARTH_ERR_FORMAT, "audit: records %lld..%lld (the newest) are missing",
                                                (long long)v.expect, (long long)head_n)
                             : hearth_set_error(HEARTH_ERR_FORMAT,
                                                "audit: the head (%lld records) does not match the last record %lld",
                                                (long long)head_n, (long long)last);
    }
    *n_records = head_n;
    return HEARTH_OK;
}

typedef struct each_walk {
    hearth_audit_fn fn;
    void *user;
} each_walk;

static int each_row(const hearth_audit_record *r, const char *prev, void *user) {
    (void)prev;
    each_walk *w = user;
    return w->fn(r, w->user);
}

hearth_status hearth_audit_each(hearth_audit *a, int64_t since_ms, int64_t until_ms, hearth_audit_fn fn,
                                void *user) {
    each_walk w = {fn, user};
    pthread_mutex_lock(&a->mu);
    hearth_status st = a->st->ops->audit_scan(a->st, since_ms, until_ms, NULL, NULL, each_row, &w);
    pthread_mutex_unlock(&a->mu);
    return st;
}
