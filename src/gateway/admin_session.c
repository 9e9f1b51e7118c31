/*
 * admin_session.c — the admin console's login sessions, kept in memory: a
 * random session id (the cookie), a per-session CSRF token, expiry, and a
 * count of failed logins per client address.
 *
 * Ids and tokens are 32 random bytes from libsodium in base64url (43
 * characters). The table stores BLAKE2b-256 of the id, not the id, and finds
 * a session by comparing hashes in constant time (sodium_memcmp), so neither
 * a memory dump nor timing gives a usable cookie. A session ends at logout,
 * after SESSION_IDLE_S without use, or SESSION_MAX_S after login, whichever
 * comes first; the caller also ends it when its admin key stops being valid.
 * When the table is full, the session used longest ago makes room.
 *
 * Sessions live in the gateway's memory: a restart logs everyone out, and
 * several gateways behind one address do not share them (sticky routing).
 */
#include "gateway_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_RAW 32
#define ID_HASH 32

typedef struct session {
    unsigned char hash[ID_HASH];     /* BLAKE2b(id) */
    char key_id[HEARTH_KEY_ID_LEN + 1];
    char csrf[GW_SESSION_TOKEN_LEN + 1];
    int64_t created, last;           /* unix seconds */
    bool used;
} session;

typedef struct login_failures {
    char client[64];
    int64_t window_start;
    int count;
} login_failures;

struct gw_sessions {
    pthread_mutex_t mu;
    int64_t idle_s, max_s;
    session s[GW_SESSIONS_MAX];
    login_failures f[64];
};

gw_sessions *gw_sessions_new(int64_t idle_s, int64_t max_s) {
    if (sodium_init() < 0) return NULL;
    gw_sessions *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->idle_s = idle_s;
    t->max_s = max_s;
    return t;
}

void gw_sessions_free(gw_sessions *t) {
    if (!t) return;
    pthread_mutex_destroy(&t->mu);
    sodium_memzero(t, sizeof *t);
    free(t);
}

static void random_token(char out[GW_SESSION_TOKEN_LEN + 1]) {
    unsigned char raw[ID_RAW];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, GW_SESSION_TOKEN_LEN + 1, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static void hash_id(const char *id, unsigned char out[ID_HASH]) {
    crypto_generichash(out, ID_HASH, (const unsigned char *)id, strlen(id), NULL, 0);
}

static bool live(const gw_sessions *t, const session *s, int64_t now) {
    return s->used && now - s->last < t->idle_s && now - s->created < t->max_s;
}

/* with t->mu held: the live session whose id is id, or NULL (expired ones are cleared) */
static session *find(gw_sessions *t, const char *id, int64_t now) {
    if (!id || strlen(id) != GW_SESSION_TOKEN_LEN) return NULL;
    unsigned char h[ID_HASH];
    hash_id(id, h);
    session *hit = NULL;
    for (int i = 0; i < GW_SESSIONS_MAX; i++) {
        session *s = &t->s[i];
        if (!s->used) continue;
        if (sodium_memcmp(s->hash, h, ID_HASH) != 0) continue;
        if (live(t, s, now)) hit = s;
        else sodium_memzero(s, sizeof *s);
    }
    return hit;
}

hearth_status gw_session_create(gw_sessions *t, const char *key_id, int64_t now, char id_out[GW_SESSION_TOKEN_LEN + 1],
                                char csrf_out[GW_SESSION_TOKEN_LEN + 1]) {
    pthread_mutex_lock(&t->mu);
    session *slot = NULL;
    for (int i = 0; i < GW_SESSIONS_MAX; i++) {
        session *s = &t->s[i];
        if (!live(t, s, now)) {   /* free or expired: take it */
            slot = s;
            break;
        }
        if (!slot || s->last < slot->last) slot = s;   /* else the one used longest ago */
    }
    sodium_memzero(slot, sizeof *slot);
    random_token(id_out);
    random_token(csrf_out);
    hash_id(id_out, slot->hash);
    snprintf(slot->key_id, sizeof slot->key_id, "%s", key_id);
    memcpy(slot->csrf, csrf_out, GW_SESSION_TOKEN_LEN + 1);
    slot->created = slot->last = now;
    slot->used = true;
    pthread_mutex_unlock(&t->mu);
    return HEARTH_OK;
}

bool gw_session_check(gw_sessions *t, const char *id, int64_t now, char key_id_out[HEARTH_KEY_ID_LEN + 1],
                      char csrf_out[GW_SESSION_TOKEN_LEN + 1], int64_t *expires) {
    pthread_mutex_lock(&t->mu);
    session *s = find(t, id, now);
    if (s) {
        s->last = now;
        if (key_id_out) memcpy(key_id_out, s->key_id, sizeof s->key_id);
        if (csrf_out) memcpy(csrf_out, s->csrf, sizeof s->csrf);
        if (expires) {
            int64_t idle_end = now + t->idle_s, max_end = s->created + t->max_s;
            *expires = idle_end < max_end ? idle_end : max_end;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return s != NULL;
}

bool gw_session_csrf_ok(gw_sessions *t, const char *id, const char *token, int64_t now) {
    if (!token || strlen(token) != GW_SESSION_TOKEN_LEN) return false;
    pthread_mutex_lock(&t->mu);
    session *s = find(t, id, now);
    bool ok = s && sodium_memcmp(s->csrf, token, GW_SESSION_TOKEN_LEN) == 0;
    pthread_mutex_unlock(&t->mu);
    return ok;
}

void gw_session_end(gw_sessions *t, const char *id) {
    pthread_mutex_lock(&t->mu);
    session *s = find(t, id, INT64_MIN / 4);   /* any time: ends it whether live or not */
    if (s) sodium_memzero(s, sizeof *s);
    pthread_mutex_unlock(&t->mu);
}

void gw_session_end_key(gw_sessions *t, const char *key_id) {
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < GW_SESSIONS_MAX; i++)
        if (t->s[i].used && !strcmp(t->s[i].key_id, key_id)) sodium_memzero(&t->s[i], sizeof t->s[i]);
    pthread_mutex_unlock(&t->mu);
}

/* ==== failed logins per client ====================================================== */
/* with t->mu held: the client's row (a new or the stalest one if absent) */
static login_failures *failures_of(gw_sessions *t, const char *client, int64_t now) {
    login_failures *hit = NULL, *stale = &t->f[0];
    for (size_t i = 0; i < sizeof t->f / sizeof t->f[0]; i++) {
        if (t->f[i].count && !strcmp(t->f[i].client, client)) hit = &t->f[i];
        if (t->f[i].window_start < stale->window_start || !t->f[i].count) stale = &t->f[i];
    }
    if (hit && now - hit->window_start >= GW_LOGIN_WINDOW_S) {
        hit->count = 0;
        hit->window_start = now;
    }
    if (!hit) {
        hit = stale;
        memset(hit, 0, sizeof *hit);
        snprintf(hit->client, sizeof hit->client, "%s", client);
        hit->window_start = now;
    }
    return hit;
}

int gw_login_blocked(gw_sessions *t, const char *client, int64_t now) {
    pthread_mutex_lock(&t->mu);
    login_failures *f = failures_of(t, client, now);
    int wait = f->count >= GW_LOGIN_MAX_FAILURES ? (int)(f->window_start + GW_LOGIN_WINDOW_S - now) : 0;
    pthread_mutex_unlock(&t->mu);
    return wait > 0 ? wait : 0;
}

void gw_login_failed(gw_sessions *t, const char *client, int64_t now) {
    pthread_mutex_lock(&t->mu);
    failures_of(t, client, now)->count++;
    pthread_mutex_unlock(&t->mu);
}
