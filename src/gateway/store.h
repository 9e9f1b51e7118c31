/*
 * store.h — the gateway's storage interface (not API): everything gateways
 * share — keys, usage, the limits' windows, the audit chain — behind one
 * table of functions, with two backends:
 *
 *   store_sqlite.c  a file (WAL mode); one machine, several processes
 *   store_pg.c      PostgreSQL through libpq; several gateways on several machines
 *
 * The logic lives once above this interface: keys.c (secrets, the cache,
 * deferred usage), audit.c (the chain hash, group commit, verify), limits.c
 * (buckets in memory, or the store's shared windows). A backend only moves
 * rows and keeps its transactions.
 *
 * Threads: a store handle is used by one thread at a time (the keystore's and
 * the audit log's mutexes serialise it).
 */
#ifndef HEARTH_GATEWAY_STORE_H
#define HEARTH_GATEWAY_STORE_H

#include "hearth/gateway.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define GW_SALT_LEN 16
#define GW_HASH_LEN 32

typedef struct gw_store gw_store;

/* what a store is opened for (SQLite creates only those tables; PostgreSQL has one schema) */
typedef enum gw_store_use { GW_STORE_KEYS = 1, GW_STORE_AUDIT = 2 } gw_store_use;

/* one (key, model, UTC day) usage counter to add */
typedef struct gw_usage_row {
    char key_id[HEARTH_KEY_ID_LEN + 1];
    char model[256];
    int64_t day, requests, tokens_in, tokens_out;
} gw_usage_row;

/* The audit chain's hash of r after prev (hex): audit.c's, given to append. */
typedef bool (*gw_chain_fn)(const char *prev_hex, const hearth_audit_record *r, char out[65]);
/* One stored audit row with its stored previous-hash; non-zero stops the scan. */
typedef int (*gw_audit_row_fn)(const hearth_audit_record *r, const char *prev_hash, void *user);

typedef struct gw_store_ops {
    const char *name;                                   /* "sqlite", "postgresql" */
    void (*close)(gw_store *s);

    /* ---- keys (info->created is set by the store, with its clock) ---- */
    hearth_status (*key_insert)(gw_store *s, hearth_key_info *k, const unsigned char *salt,
                                const unsigned char *hash);
    /* HEARTH_ERR_NOT_FOUND if absent; salt/hash may be NULL */
    hearth_status (*key_get)(gw_store *s, const char *id, hearth_key_info *k, unsigned char *salt,
                             unsigned char *hash);
    hearth_status (*key_list)(gw_store *s, hearth_key_info **out, size_t *n);   /* malloc'd, oldest first */
    /* revoke (salt NULL: revoked = the store's now) or a new secret; NOT_FOUND if absent */
    hearth_status (*key_update)(gw_store *s, const char *id, const unsigned char *salt, const unsigned char *hash);
    /* *changed: keys may have been written by another connection since the last call
     * (the caller then drops its cache); true whenever the store cannot tell */
    hearth_status (*keys_changed)(gw_store *s, bool *changed);

    /* ---- usage ---- */
    hearth_status (*usage_add)(gw_store *s, const gw_usage_row *rows, size_t n);   /* one transaction */
    hearth_status (*usage_sum)(gw_store *s, const char *key_id, int64_t day0, int64_t day1, int64_t *tokens);

    /* ---- shared limits: NULL when the gateway counts in memory (one process) ----
     * One request of key_id in the current minute of the store's clock: counts it and
     * says whether it fits rpm and tpm (0 = unlimited); *retry_after_s: seconds to the
     * next minute. */
    hearth_status (*window_admit)(gw_store *s, const char *key_id, int64_t rpm, int64_t tpm, bool *rpm_ok,
                                  bool *tpm_ok, int *retry_after_s);
    hearth_status (*window_charge)(gw_store *s, const char *key_id, int64_t tokens);

    /* ---- audit ----
     * Appends recs in order in one transaction, serialised with every other
     * appender of the store: reads the head, gives each record the next id (and,
     * where the store has a shared clock, its time), hashes it with chain, inserts
     * it, writes the head. All or none. */
    hearth_status (*audit_append)(gw_store *s, hearth_audit_record **recs, size_t n, gw_chain_fn chain);
    /* In one consistent snapshot: the head (count, hash) when head_n is not NULL,
     * then the rows with since_ms <= time_ms < until_ms (0 = no end) in id order. */
    hearth_status (*audit_scan)(gw_store *s, int64_t since_ms, int64_t until_ms, int64_t *head_n,
                                char head_hash[65], gw_audit_row_fn fn, void *user);
} gw_store_ops;

struct gw_store {
    const gw_store_ops *ops;
};

/* Opens "postgresql://..." / "postgres://..." (libpq URL) or a SQLite file. */
hearth_status gw_store_open(const char *where, gw_store_use use, bool sync_full, gw_store **out);
void gw_store_close(gw_store *s);   /* NULL is a no-op */
bool gw_store_is_url(const char *where);

hearth_status gw_store_sqlite_open(const char *path, gw_store_use use, bool sync_full, gw_store **out);
hearth_status gw_store_pg_open(const char *url, gw_store **out);
/* The SQLite connection of a SQLite store (WAL upkeep); NULL for other backends. */
sqlite3 *gw_store_sqlite_db(gw_store *s);
/* SQLite: a write that changes nothing, so the WAL starts over outside a request. */
void gw_store_sqlite_restart_wal(gw_store *s);

#define GW_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

#endif
