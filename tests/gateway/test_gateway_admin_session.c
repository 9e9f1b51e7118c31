/*
 * test_gateway_admin_session.c — the admin console's session table on its
 * own, on a clock the test sets: a session is found by its id and only by it,
 * its CSRF token is checked, it ends when idle too long, when too old, at
 * logout and when its key's sessions are ended; a full table drops the
 * session used longest ago; failed logins from one address are throttled
 * (and not those of another address); many threads at once (TSan).
 */
#include "harness.h"

#include "../../src/gateway/gateway_internal.h"

#include <pthread.h>
#include <stdlib.h>

TEST(create_check_csrf) {
    gw_sessions *t = gw_sessions_new(60, 600);
    CHECK(t != NULL);
    char id[GW_SESSION_TOKEN_LEN + 1], csrf[GW_SESSION_TOKEN_LEN + 1];
    char id2[GW_SESSION_TOKEN_LEN + 1], csrf2[GW_SESSION_TOKEN_LEN + 1];
    CHECK(gw_session_create(t, "0123456789ab", 1000, id, csrf) == HEARTH_OK);
    CHECK(gw_session_create(t, "ba9876543210", 1000, id2, csrf2) == HEARTH_OK);
    CHECK_EQ_INT(strlen(id), GW_SESSION_TOKEN_LEN);
    CHECK(strcmp(id, id2) != 0 && strcmp(csrf, csrf2) != 0 && strcmp(id, csrf) != 0);
    char key[HEARTH_KEY_ID_LEN + 1], tok[GW_SESSION_TOKEN_LEN + 1];
    int64_t exp = 0;
    CHECK(gw_session_check(t, id, 1010, key, tok, &exp));
    CHECK_STR(key, "0123456789ab");
    CHECK_STR(tok, csrf);
    CHECK_EQ_INT(exp, 1070);   /* idle end (1010 + 60) comes before the absolute one (1600) */
    CHECK(gw_session_check(t, id2, 1010, key, NULL, NULL));
    CHECK_STR(key, "ba9876543210");
    /* the CSRF token is the session's own, whole */
    CHECK(gw_session_csrf_ok(t, id, csrf, 1010));
    CHECK(!gw_session_csrf_ok(t, id, csrf2, 1010));
    CHECK(!gw_session_csrf_ok(t, id, NULL, 1010));
    CHECK(!gw_session_csrf_ok(t, id, "", 1010));
    char half[GW_SESSION_TOKEN_LEN + 1];
    memcpy(half, csrf, sizeof half);
    half[GW_SESSION_TOKEN_LEN - 1] ^= 1;
    CHECK(!gw_session_csrf_ok(t, id, half, 1010));
    /* ids that are not a session's */
    CHECK(!gw_session_check(t, csrf, 1010, NULL, NULL, NULL));   /* the CSRF token is no session id */
    CHECK(!gw_session_check(t, "", 1010, NULL, NULL, NULL));
    CHECK(!gw_session_check(t, NULL, 1010, NULL, NULL, NULL));
    char longer[200];
    snprintf(longer, sizeof longer, "%s%s", id, "x");
    CHECK(!gw_session_check(t, longer, 1010, NULL, NULL, NULL));
    memcpy(half, id, sizeof half);
    half[0] = half[0] == 'A' ? 'B' : 'A';
    CHECK(!gw_session_check(t, half, 1010, NULL, NULL, NULL));
    /* logout ends exactly that session */
    gw_session_end(t, id);
    CHECK(!gw_session_check(t, id, 1011, NULL, NULL, NULL));
    CHECK(!gw_session_csrf_ok(t, id, csrf, 1011));
    CHECK(gw_session_check(t, id2, 1011, NULL, NULL, NULL));
    gw_session_end(t, "not-a-session");   /* harmless */
    gw_sessions_free(t);
    gw_sessions_free(NULL);
}

TEST(expiry) {
    gw_sessions *t = gw_sessions_new(60, 300);
    char id[GW_SESSION_TOKEN_LEN + 1], csrf[GW_SESSION_TOKEN_LEN + 1];
    gw_session_create(t, "0123456789ab", 1000, id, csrf);
    /* used every 50 s it stays alive past the idle time ... */
    for (int64_t now = 1050; now < 1300; now += 50) CHECK_MSG(gw_session_check(t, id, now, NULL, NULL, NULL), "t=%lld", (long long)now);
    /* ... but not past the absolute limit */
    CHECK(!gw_session_check(t, id, 1300, NULL, NULL, NULL));
    CHECK(!gw_session_csrf_ok(t, id, csrf, 1300));
    /* unused for the idle time: ended */
    gw_session_create(t, "0123456789ab", 2000, id, csrf);
    CHECK(gw_session_check(t, id, 2059, NULL, NULL, NULL));
    CHECK(!gw_session_check(t, id, 2059 + 60, NULL, NULL, NULL));
    CHECK(!gw_session_check(t, id, 2060, NULL, NULL, NULL));   /* once ended, it stays ended */
    gw_sessions_free(t);
}

TEST(end_key_and_full_table) {
    gw_sessions *t = gw_sessions_new(600, 6000);
    static char ids[GW_SESSIONS_MAX + 1][GW_SESSION_TOKEN_LEN + 1];
    char csrf[GW_SESSION_TOKEN_LEN + 1];
    for (int i = 0; i < GW_SESSIONS_MAX; i++)
        gw_session_create(t, i % 2 ? "aaaaaaaaaaaa" : "bbbbbbbbbbbb", 1000 + i, ids[i], csrf);
    gw_session_check(t, ids[0], 1000 + GW_SESSIONS_MAX, NULL, NULL, NULL);   /* 0 used lately; 1 is the stalest */
    gw_session_create(t, "cccccccccccc", 1001 + GW_SESSIONS_MAX, ids[GW_SESSIONS_MAX], csrf);
    CHECK(gw_session_check(t, ids[GW_SESSIONS_MAX], 1002 + GW_SESSIONS_MAX, NULL, NULL, NULL));
    CHECK(gw_session_check(t, ids[0], 1002 + GW_SESSIONS_MAX, NULL, NULL, NULL));
    CHECK(!gw_session_check(t, ids[1], 1002 + GW_SESSIONS_MAX, NULL, NULL, NULL));
    CHECK(gw_session_check(t, ids[3], 1002 + GW_SESSIONS_MAX, NULL, NULL, NULL));
    /* a key's sessions end together (its key was revoked or rotated) */
    gw_session_end_key(t, "aaaaaaaaaaaa");
    int alive_a = 0, alive_b = 0;
    for (int i = 0; i < GW_SESSIONS_MAX; i++) {
        bool ok = gw_session_check(t, ids[i], 1003 + GW_SESSIONS_MAX, NULL, NULL, NULL);
        if (i % 2) alive_a += ok;
        else alive_b += ok;
    }
    CHECK_EQ_INT(alive_a, 0);
    CHECK_EQ_INT(alive_b, GW_SESSIONS_MAX / 2);
    gw_sessions_free(t);
}

TEST(login_throttle) {
    gw_sessions *t = gw_sessions_new(60, 600);
    CHECK_EQ_INT(gw_login_blocked(t, "10.0.0.1", 100), 0);
    for (int i = 0; i < GW_LOGIN_MAX_FAILURES; i++) gw_login_failed(t, "10.0.0.1", 100 + i);
    int wait = gw_login_blocked(t, "10.0.0.1", 110);
    CHECK_MSG(wait > 0 && wait <= GW_LOGIN_WINDOW_S, "wait %d", wait);
    CHECK_EQ_INT(gw_login_blocked(t, "10.0.0.2", 110), 0);   /* another address is not held back */
    CHECK_EQ_INT(gw_login_blocked(t, "10.0.0.1", 100 + GW_LOGIN_WINDOW_S), 0);   /* the window passed */
    gw_sessions_free(t);
}

/* ---- many threads at once (TSan build) ---- */
static gw_sessions *shared;
static void *worker(void *arg) {
    int n = 0;
    for (int i = 0; i < 200; i++) {
        char id[GW_SESSION_TOKEN_LEN + 1], csrf[GW_SESSION_TOKEN_LEN + 1];
        gw_session_create(shared, "0123456789ab", 5000, id, csrf);
        n += gw_session_check(shared, id, 5001, NULL, NULL, NULL) && gw_session_csrf_ok(shared, id, csrf, 5001);
        gw_login_failed(shared, arg, 5001);
        gw_session_end(shared, id);
    }
    return (void *)(intptr_t)n;
}

TEST(threads) {
    shared = gw_sessions_new(60, 600);
    pthread_t th[4];
    char *addr[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, addr[i]);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        void *v;
        pthread_join(th[i], &v);
        total += (int)(intptr_t)v;
    }
    CHECK_EQ_INT(total, 800);   /* the table never lost a fresh session (4 live at most) */
    gw_sessions_free(shared);
}

int main(void) {
    RUN(create_check_csrf);
    RUN(expiry);
    RUN(end_key_and_full_table);
    RUN(login_throttle);
    RUN(threads);
    return harness_done();
}
