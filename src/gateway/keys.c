/*
 * keys.c — the API key store: create, list, revoke, rotate, verify, and
 * per-key usage for token budgets, over the gateway's storage (store.h:
 * SQLite or PostgreSQL).
 *
 * A key is "hk_<id>_<secret>". The row is found by its public id; the secret
 * is checked by recomputing BLAKE2b-256(secret, key = per-row salt) and
 * comparing with sodium_memcmp (constant time). A slow password hash is not
 * needed: the secret is 256 random bits, not something a person chose.
 *
 * Verified rows are cached in memory (id -> settings, salt, hash; the hash is
 * still recomputed per request). The cache is dropped whenever this handle
 * writes a key, and whenever the store says keys may have changed elsewhere
 * (SQLite: `PRAGMA data_version` moved because another process committed to
 * the file; PostgreSQL: the keys table's trigger sent a NOTIFY, or the
 * listening connection is down), so a revoke or rotate takes effect on the
 * next request, on every gateway.
 */
#include "gateway_internal.h"
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SALT_LEN GW_SALT_LEN
#define HASH_LEN GW_HASH_LEN
#define SECRET_LEN 32
#define KEY_CACHE_MAX 256           /* cached key rows; the cache starts over when full */
#define USAGE_PENDING_MAX 4096      /* deferred usage rows before a write is forced */

typedef struct key_cached {
    hearth_key_info info;
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
} key_cached;

typedef gw_usage_row usage_pending;

struct hearth_keystore {
    gw_store *st;
    pthread_mutex_t mu;         /* everything below, and the store */
    key_cached *cache;          /* KEY_CACHE_MAX slots */
    int n_cache;
    bool defer_usage;
    usage_pending *pend;
    size_t n_pend, cap_pend;
};

hearth_key_params hearth_key_default_params(void) {
    hearth_key_params p;
    memset(&p, 0, sizeof p);
    p.role = HEARTH_ROLE_USER;
    return p;
}

const char *hearth_key_check_str(hearth_key_check c) {
    switch (c) {
    case HEARTH_KEY_VALID: return "valid";
    case HEARTH_KEY_MALFORMED: return "malformed key";
    case HEARTH_KEY_UNKNOWN: return "unknown key";
    case HEARTH_KEY_REVOKED: return "key revoked";
    case HEARTH_KEY_EXPIRED: return "key expired";
    }
    return "?";
}

/* ==== open / close ================================================================== */
hearth_status hearth_keystore_open(const char *path, hearth_keystore **out) {
    *out = NULL;
    if (sodium_init() < 0) return hearth_set_error(HEARTH_ERR_INTERNAL, "libsodium failed to initialise");
    if (!path || !*path) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "no key database given");
    gw_store *db;
    hearth_status st = gw_store_open(path, GW_STORE_KEYS, false, &db);   /* usage counters: no fsync per request */
    if (st) return st;
    hearth_keystore *ks = calloc(1, sizeof *ks);
    if (!ks) {
        gw_store_close(db);
        return hearth_set_error(HEARTH_ERR_NOMEM, "out of memory");
    }
    ks->st = db;
    pthread_mutex_init(&ks->mu, NULL);
    *out = ks;
    return HEARTH_OK;
}

void hearth_keystore_free(hearth_keystore *ks) {
    if (!ks) return;
    if (ks->n_pend && gw_keys_flush_usage(ks))
        hearth_log(HEARTH_LOG_ERROR, "keys: %s (usage of the last moments lost)", hearth_last_error());
    gw_store_close(ks->st);
    pthread_mutex_destroy(&ks->mu);
    if (ks->cache) sodium_memzero(ks->cache, KEY_CACHE_MAX * sizeof *ks->cache);
    free(ks->cache);
    free(ks->pend);
    free(ks);
}

sqlite3 *gw_keystore_db(hearth_keystore *ks) { return gw_store_sqlite_db(ks->st); }

/* ==== shared limits (stores that count windows for every gateway) ==================== */
bool gw_keys_shared_limits(hearth_keystore *ks) { return ks->st->ops->window_admit != NULL; }

hearth_status gw_keys_window_admit(hearth_keystore *ks, const char *key_id, int64_t rpm, int64_t tpm, bool *rpm_ok,
                                   bool *tpm_ok, int *retry_after_s) {
    pthread_mutex_lock(&ks->mu);
    hearth_status st = ks->st->ops->window_admit(ks->st, key_id, rpm, tpm, rpm_ok, tpm_ok, retry_after_s);
    pthread_mutex_unlock(&ks->mu);
    return st;
}

hearth_status gw_keys_window_charge(hearth_keystore *ks, const char *key_id, int64_t tokens) {
    pthread_mutex_lock(&ks->mu);
    hearth_status st = ks->st->ops->window_charge(ks->st, key_id, tokens);
    pthread_mutex_unlock(&ks->mu);
    return st;
}

/* ==== helpers ======================================================================= */
static void new_secret(char *secret_b64, size_t cap, unsigned char salt[SALT_LEN], unsigned char hash[HASH_LEN]) {
    unsigned char raw[SECRET_LEN];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(secret_b64, cap, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    randombytes_buf(salt, SALT_LEN);
    crypto_generichash(hash, HASH_LEN, (const unsigned char *)secret_b64, strlen(secret_b64), salt, SALT_LEN);
}

static bool valid_id(const char *id) {
    if (!id || strlen(id) != HEARTH_KEY_ID_LEN) return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return false;
    return true;
}

/* ==== create / list / get =========================================================== */
hearth_status hearth_keys_create(hearth_keystore *ks, const hearth_key_params *p, char *key_out,
                                 hearth_key_info *info) {
    if (!p->name || !*p->name) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "a key needs a name");
    if (strlen(p->name) >= sizeof(((hearth_key_info *)0)->name))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "key name longer than 127 bytes");
    if (p->models && strlen(p->models) >= sizeof(((hearth_key_info *)0)->models))
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "model list longer than 1023 bytes");
    if (p->rpm < 0 || p->tpm < 0 || p->max_concurrent < 0 || p->budget_tokens < 0)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "limits must be >= 0");
    if (p->budget_tokens > 0 && p->period == HEARTH_PERIOD_NONE)
        return hearth_set_error(HEARTH_ERR_INVALID_ARG, "a token budget needs a period (day or month)");
    unsigned char idb[HEARTH_KEY_ID_LEN / 2], salt[SALT_LEN], hash[HASH_LEN];
    char id[HEARTH_KEY_ID_LEN + 1], secret[64];
    randombytes_buf(idb, sizeof idb);
    sodium_bin2hex(id, sizeof id, idb, sizeof idb);
    new_secret(secret, sizeof secret, salt, hash);
    hearth_key_info k;
    memset(&k, 0, sizeof k);
    snprintf(k.id, sizeof k.id, "%s", id);
    snprintf(k.name, sizeof k.name, "%s", p->name);
    k.role = p->role == HEARTH_ROLE_ADMIN ? HEARTH_ROLE_ADMIN : HEARTH_ROLE_USER;
    snprintf(k.models, sizeof k.models, "%s", p->models ? p->models : "");
    k.rpm = p->rpm;
    k.tpm = p->tpm;
    k.max_concurrent = p->max_concurrent;
    k.budget_tokens = p->budget_tokens;
    k.period = p->period;
    k.expires = p->expires;
    pthread_mutex_lock(&ks->mu);
    hearth_status st = ks->st->ops->key_insert(ks->st, &k, salt, hash);
    ks->n_cache = 0;
    pthread_mutex_unlock(&ks->mu);
    if (!st) {
        snprintf(key_out, HEARTH_KEY_MAX, "hk_%s_%s", id, secret);
        if (info) *info = k;
    }
    sodium_memzero(secret, sizeof secret);
    return st;
}

hearth_status hearth_keys_list(hearth_keystore *ks, hearth_key_info **out, size_t *n) {
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&ks->mu);
    hearth_status st = ks->st->ops->key_list(ks->st, out, n);
    pthread_mutex_unlock(&ks->mu);
    return st;
}

hearth_status hearth_keys_get(hearth_keystore *ks, const char *id, hearth_key_info *info) {
    if (!valid_id(id)) return hearth_set_error(HEARTH_ERR_NOT_FOUND, "no key with id %s (ids are 12 hex digits)", id);
    pthread_mutex_lock(&ks->mu);
    hearth_status st = ks->st->ops->key_get(ks->st, id, info, NULL, NULL);
    pthread_mutex_unlock(&ks->mu);
    return st;
}

/* ==== revoke / rotate =============================================================== */
static hearth_status update_one(hearth_keystore *ks, const char *id, const unsigned char *salt,
                                const unsigned char *hash) {
    if (!valid_id(id)) return hearth_set_error(HEARTH_ERR_NOT_FOUND, "no key with id %s (ids are 12 hex digits)", id);
    pthread_mutex_lock(&ks->mu);
    hearth_status st = ks->st->ops->key_update(ks->st, id, salt, hash);
    ks->n_cache = 0;   /* our own writes may not show as a change */
    pthread_mutex_unlock(&ks->mu);
    return st;
}

hearth_status hearth_keys_revoke(hearth_keystore *ks, const char *id) {
    hearth_key_info k;
    hearth_status st = hearth_keys_get(ks, id, &k);
    if (st || k.revoked) return st;   /* revoking twice is harmless */
    return update_one(ks, id, NULL, NULL);
}

hearth_status hearth_keys_rotate(hearth_keystore *ks, const char *id, char *key_out) {
    hearth_key_info k;
    hearth_status st = hearth_keys_get(ks, id, &k);
    if (st) return st;
    if (k.revoked) return hearth_set_error(HEARTH_ERR_INVALID_ARG, "key %s is revoked; create a new one", id);
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    char secret[64];
    new_secret(secret, sizeof secret, salt, hash);
    st = update_one(ks, id, salt, hash);
    if (!st) snprintf(key_out, HEARTH_KEY_MAX, "hk_%s_%s", id, secret);
    sodium_memzero(secret, sizeof secret);
    return st;
}

/* ==== verify ======================================================================== */
/* with ks->mu held: empties the cache if keys may have changed elsewhere since the last call */
static hearth_status cache_check_locked(hearth_keystore *ks) {
    bool changed = true;
    hearth_status st = ks->st->ops->keys_changed(ks->st, &changed);
    if (st || changed) ks->n_cache = 0;
    return st;
}

/* key_get through the cache (a hit costs one keys_changed: a PRAGMA, or a look at the LISTEN socket) */
static hearth_status cached_get_locked(hearth_keystore *ks, const char *id, hearth_key_info *info,
                                       unsigned char salt[SALT_LEN], unsigned char hash[HASH_LEN]) {
    hearth_status st = cache_check_locked(ks);
    if (st) return st;
    for (int i = 0; i < ks->n_cache; i++) {
        key_cached *c = &ks->cache[i];
        if (strcmp(c->info.id, id)) continue;
        *info = c->info;
        memcpy(salt, c->salt, SALT_LEN);
        memcpy(hash, c->hash, HASH_LEN);
        return HEARTH_OK;
    }
    st = ks->st->ops->key_get(ks->st, id, info, salt, hash);
    if (st) return st;
    if (!ks->cache) ks->cache = calloc(KEY_CACHE_MAX, sizeof *ks->cache);
    if (!ks->cache) return HEARTH_OK;   /* no memory for a cache: just uncached */
    if (ks->n_cache == KEY_CACHE_MAX) ks->n_cache = 0;
    key_cached *c = &ks->cache[ks->n_cache++];
    c->info = *info;
    memcpy(c->salt, salt, SALT_LEN);
    memcpy(c->hash, hash, HASH_LEN);
    return HEARTH_OK;
}

hearth_status hearth_keys_verify(hearth_keystore *ks, const char *key, int64_t now, hearth_key_info *info,
                                 hearth_key_check *result) {
    *result = HEARTH_KEY_MALFORMED;
    if (!key || strncmp(key, "hk_", 3) != 0 || strlen(key) < 3 + HEARTH_KEY_ID_LEN + 2 ||
        key[3 + HEARTH_KEY_ID_LEN] != '_')
        return HEARTH_OK;
    char id[HEARTH_KEY_ID_LEN + 1];
    memcpy(id, key + 3, HEARTH_KEY_ID_LEN);
    id[HEARTH_KEY_ID_LEN] = 0;
    if (!valid_id(id)) return HEARTH_OK;
    const char *secret = key + 3 + HEARTH_KEY_ID_LEN + 1;
    unsigned char salt[SALT_LEN], hash[HASH_LEN], got[HASH_LEN];
    hearth_key_info k;
    pthread_mutex_lock(&ks->mu);
    hearth_status st = cached_get_locked(ks, id, &k, salt, hash);
    pthread_mutex_unlock(&ks->mu);
    if (st == HEARTH_ERR_NOT_FOUND) {
        *result = HEARTH_KEY_UNKNOWN;
        return HEARTH_OK;
    }
    if (st) return st;
    crypto_generichash(got, HASH_LEN, (const unsigned char *)secret, strlen(secret), salt, SALT_LEN);
    if (sodium_memcmp(got, hash, HASH_LEN) != 0) *result = HEARTH_KEY_UNKNOWN;
    else if (k.revoked) *result = HEARTH_KEY_REVOKED;
    else if (k.expires && now >= k.expires) *result = HEARTH_KEY_EXPIRED;
    else *result = HEARTH_KEY_VALID;
    if (info && *result == HEARTH_KEY_VALID) *info = k;
    return HEARTH_OK;
}

bool hearth_key_allows_model(const hearth_key_info *k, const char *model) {
    if (!k->models[0]) return true;
    if (!model || !*model) return false;
    size_t base_len = strcspn(model, "+");
    const char *p = k->models;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *e = p + n;
        while (n && (*p == ' ')) p++, n--;
        while (n && p[n - 1] == ' ') n--;
        if ((n == strlen(model) && !memcmp(p, model, n)) || (n == base_len && !memcmp(p, model, n))) return true;
        p = *e ? e + 1 : e;
    }
    return false;
}

/* ==== usage ========================================================================= */
static int64_t day_of(int64_t t) { return t / 86400; }

/* with ks->mu held: writes the deferred rows in one transaction; kept on failure */
static hearth_status usage_flush_locked(hearth_keystore *ks) {
    if (!ks->n_pend) return HEARTH_OK;
    hearth_status st = ks->st->ops->usage_add(ks->st, ks->pend, ks->n_pend);
    if (!st) ks->n_pend = 0;
    return st;
}

void gw_keys_defer_usage(hearth_keystore *ks, bool on) {
    pthread_mutex_lock(&ks->mu);
    ks->defer_usage = on;
    pthread_mutex_unlock(&ks->mu);
}

hearth_status gw_keys_flush_usage(hearth_keystore *ks) {
    pthread_mutex_lock(&ks->mu);
    hearth_status st = usage_flush_locked(ks);
    pthread_mutex_unlock(&ks->mu);
    return st;
}

hearth_status hearth_keys_add_usage(hearth_keystore *ks, const char *key_id, const char *model, int64_t now,
                                    int64_t tokens_in, int64_t tokens_out) {
    usage_pending u = {.day = day_of(now), .requests = 1, .tokens_in = tokens_in, .tokens_out = tokens_out};
    snprintf(u.key_id, sizeof u.key_id, "%s", key_id);
    snprintf(u.model, sizeof u.model, "%s", model ? model : "");
    pthread_mutex_lock(&ks->mu);
    hearth_status st = HEARTH_OK;
    if (!ks->defer_usage) {
        st = ks->st->ops->usage_add(ks->st, &u, 1);
        goto out;
    }
    for (size_t i = 0; i < ks->n_pend; i++) {
        usage_pending *p = &ks->pend[i];
        if (p->day != u.day || strcmp(p->key_id, u.key_id) || strcmp(p->model, u.model)) continue;
        p->requests++;
        p->tokens_in += tokens_in;
        p->tokens_out += tokens_out;
        goto out;
    }
    if (ks->n_pend == USAGE_PENDING_MAX) {   /* the flusher is not keeping up: write now */
        st = usage_flush_locked(ks);
        if (st) goto out;
    }
    if (!HEARTH_GROW(ks->pend, ks->cap_pend, ks->n_pend + 1)) {
        st = ks->st->ops->usage_add(ks->st, &u, 1);   /* no memory to defer it */
        goto out;
    }
    ks->pend[ks->n_pend++] = u;
out:
    pthread_mutex_unlock(&ks->mu);
    return st;
}

/* start and end (unix seconds, UTC) of the period containing now */
static void period_bounds(hearth_key_period p, int64_t now, int64_t *start, int64_t *end) {
    if (p == HEARTH_PERIOD_DAY) {
        *start = day_of(now) * 86400;
        *end = *start + 86400;
        return;
    }
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    *start = (int64_t)timegm(&tm);
    tm.tm_mon += 1;
    *end = (int64_t)timegm(&tm);
}

hearth_status hearth_keys_period_usage(hearth_keystore *ks, const char *key_id, hearth_key_period period,
                                       int64_t now, int64_t *tokens, int64_t *period_end) {
    *tokens = 0;
    if (period_end) *period_end = 0;
    if (period == HEARTH_PERIOD_NONE) return HEARTH_OK;
    int64_t start, end;
    period_bounds(period, now, &start, &end);
    if (period_end) *period_end = end;
    pthread_mutex_lock(&ks->mu);
    hearth_status st = ks->st->ops->usage_sum(ks->st, key_id, day_of(start), day_of(end), tokens);
    for (size_t i = 0; i < ks->n_pend; i++) {   /* deferred, not yet written */
        const usage_pending *p = &ks->pend[i];
        if (!strcmp(p->key_id, key_id) && p->day >= day_of(start) && p->day < day_of(end))
            *tokens += p->tokens_in + p->tokens_out;
    }
    pthread_mutex_unlock(&ks->mu);
    return st;
}

bool hearth_parse_date(const char *s, int64_t *out) {
    int y, m, d;
    char tail;
    if (!s || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || strlen(s) != 10) return false;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != d || back.tm_mon != m - 1) return false;   /* 2025-02-30 */
    *out = (int64_t)t;
    return true;
}
