/*
 * test_gateway_admin.c — the admin console's server side through a real
 * `hearth gateway` process (fake replica on 127.0.0.1): login with an admin
 * key sets an HttpOnly, SameSite=Strict session cookie (Secure behind TLS);
 * wrong, revoked or user keys are refused (401/401/403); changes through a
 * session need its CSRF token and the gateway's own Origin; a user key gets
 * 403 and no credentials 401 from every admin route; the usage view counts a
 * rpm-3 key's 4 calls as 3 allowed and 1 rejected; the audit search, CSV
 * export (formula cells defused) and chain status; revoking in the console
 * stops the key; logout and a revoked admin key end the session; malformed
 * query parameters get 400 naming the parameter.
 */
#include "gw_fixture.h"

#include "hearth/gateway.h"

static char dir[256], cfg[300];
static int gw_port, rep_port;
static pid_t gw_pid, rep_pid;
static char k_admin[HEARTH_KEY_MAX], k_admin2[HEARTH_KEY_MAX], k_user[HEARTH_KEY_MAX], k_revoked[HEARTH_KEY_MAX];
static char cookie[128], csrf[64];

typedef http_resp resp2;

/* one request with any headers (NULL-terminated list) */
static resp2 req(const char *method, const char *path, const char *body, const char *const *headers) {
    return http_with(gw_port, method, path, headers, body);
}

static resp2 login(const char *key, const char *extra_header) {
    char body[256];
    snprintf(body, sizeof body, "key=%s", key);
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded", extra_header, NULL};
    return req("POST", "/admin/login", body, h);
}

/* as the console does: session cookie, and for changes the CSRF token */
static resp2 console(const char *method, const char *path, const char *body) {
    char c[200], t[120], o[100];
    snprintf(c, sizeof c, "Cookie: %s", cookie);
    snprintf(t, sizeof t, "X-CSRF-Token: %s", csrf);
    snprintf(o, sizeof o, "Origin: http://127.0.0.1:%d", gw_port);
    const char *h[] = {c, t, o, "Content-Type: application/json", NULL};
    return req(method, path, body, h);
}

static char *json_str(const char *body, const char *field) {
    cJSON *o = cJSON_Parse(body ? body : "");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
    cJSON_Delete(o);
    return s;
}

static const char *key_id_of(const char *key, char *out) {
    memcpy(out, key + 3, HEARTH_KEY_ID_LEN);
    out[HEARTH_KEY_ID_LEN] = 0;
    return out;
}

TEST(login_refusals) {
    resp2 r = login("hk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    CHECK_EQ_INT(r.status, 401);
    CHECK(!r.set_cookie[0]);
    CHECK(strstr(r.body, "not a valid admin key"));
    free(r.body);
    r = login("not even a key", NULL);
    CHECK_EQ_INT(r.status, 401);
    free(r.body);
    r = login(k_revoked, NULL);
    CHECK_EQ_INT(r.status, 401);
    CHECK(strstr(r.body, "revoked"));
    free(r.body);
    r = login(k_user, NULL);
    CHECK_EQ_INT(r.status, 403);
    CHECK(!r.set_cookie[0]);
    CHECK(strstr(r.body, "user key"));
    free(r.body);
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    r = req("POST", "/admin/login", "password=x", h);
    CHECK_EQ_INT(r.status, 400);
    CHECK(strstr(r.body, "'key'"));
    free(r.body);
    r = req("GET", "/admin/login", NULL, NULL);
    CHECK_EQ_INT(r.status, 405);
    free(r.body);
    /* a login form posted from another site */
    r = login(k_admin, "Origin: http://evil.example");
    CHECK_EQ_INT(r.status, 403);
    CHECK(!r.set_cookie[0]);
    free(r.body);
}

TEST(login_cookie) {
    resp2 r = login(k_admin, NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(strstr(r.set_cookie, "hearth_admin=") == r.set_cookie, "%s", r.set_cookie);
    CHECK(strstr(r.set_cookie, "HttpOnly"));
    CHECK(strstr(r.set_cookie, "SameSite=Strict"));
    CHECK(strstr(r.set_cookie, "Path=/admin"));
    CHECK(!strstr(r.set_cookie, "Secure"));   /* plain HTTP: a Secure cookie would not come back */
    CHECK(!strstr(r.body, k_admin + 16));     /* the key's secret is not echoed */
    char *t = json_str(r.body, "csrf");
    CHECK(t && strlen(t) == 43);
    snprintf(csrf, sizeof csrf, "%s", t ? t : "");
    free(t);
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(r.set_cookie, ";"), r.set_cookie);
    free(r.body);
    /* the session describes itself, with the same CSRF token */
    r = console("GET", "/admin/api/session", NULL);
    CHECK_EQ_INT(r.status, 200);
    t = json_str(r.body, "csrf");
    CHECK(t && !strcmp(t, csrf));
    free(t);
    char id[16];
    t = json_str(r.body, "key_id");
    CHECK(t && !strcmp(t, key_id_of(k_admin, id)));
    free(t);
    free(r.body);
    /* behind a TLS proxy the cookie is Secure */
    r = login(k_admin2, "X-Forwarded-Proto: https");
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.set_cookie, "; Secure"));
    free(r.body);
}

TEST(csrf_refused) {
    char c[200], t[120], o[100];
    snprintf(c, sizeof c, "Cookie: %s", cookie);
    snprintf(o, sizeof o, "Origin: http://127.0.0.1:%d", gw_port);
    const char *body = "{\"name\":\"csrf-victim\"}";
    /* the cookie alone (what a cross-site form would carry) */
    const char *h1[] = {c, "Content-Type: application/json", NULL};
    resp2 r = req("POST", "/admin/api/keys", body, h1);
    CHECK_EQ_INT(r.status, 403);
    CHECK(strstr(r.body, "CSRF"));
    free(r.body);
    /* a wrong token */
    const char *h2[] = {c, "X-CSRF-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL};
    r = req("POST", "/admin/api/keys", body, h2);
    CHECK_EQ_INT(r.status, 403);
    free(r.body);
    /* the right token from another origin */
    snprintf(t, sizeof t, "X-CSRF-Token: %s", csrf);
    const char *h3[] = {c, t, "Origin: https://evil.example", NULL};
    r = req("POST", "/admin/api/keys", body, h3);
    CHECK_EQ_INT(r.status, 403);
    CHECK(strstr(r.body, "another site"));
    free(r.body);
    /* logout without the token is refused too */
    r = req("POST", "/admin/logout", NULL, h1);
    CHECK_EQ_INT(r.status, 403);
    free(r.body);
    /* nothing was created */
    r = console("GET", "/admin/api/keys", NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK(!strstr(r.body, "csrf-victim"));
    free(r.body);
    (void)o;
}

/* every admin route: no credentials 401, a user key 403, a bogus cookie 401 */
TEST(every_route_guarded) {
    static const char *const routes[][2] = {
        {"GET", "/admin/api/keys"},      {"POST", "/admin/api/keys"},       {"DELETE", "/admin/api/keys/0123456789ab"},
        {"POST", "/admin/api/keys/0123456789ab/rotate"}, {"GET", "/admin/api/usage"}, {"GET", "/admin/api/audit"},
        {"GET", "/admin/api/audit.csv"}, {"GET", "/admin/api/audit/verify"}, {"GET", "/admin/api/replicas"},
        {"GET", "/admin/api/models"},    {"GET", "/admin/api/metrics"},    {"GET", "/admin/api/session"},
        {"POST", "/admin/logout"},       {"GET", "/admin/keys"},           {"POST", "/admin/keys"},
        {"GET", "/admin/api/nothing"},
    };
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", k_user);
    const char *user[] = {auth, NULL};
    const char *bogus[] = {"Cookie: hearth_admin=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL};
    const char *wrong[] = {"Authorization: Bearer hk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        resp2 r = req(routes[i][0], routes[i][1], "{\"name\":\"x\"}", NULL);
        CHECK_MSG(r.status == 401, "%s %s: %d", routes[i][0], routes[i][1], r.status);
        free(r.body);
        r = req(routes[i][0], routes[i][1], "{\"name\":\"x\"}", user);
        CHECK_MSG(r.status == 403, "%s %s with a user key: %d", routes[i][0], routes[i][1], r.status);
        CHECK(strstr(r.body, "admin"));
        free(r.body);
        r = req(routes[i][0], routes[i][1], "{\"name\":\"x\"}", bogus);
        CHECK_MSG(r.status == 401, "%s %s with a made-up session: %d", routes[i][0], routes[i][1], r.status);
        free(r.body);
        r = req(routes[i][0], routes[i][1], "{\"name\":\"x\"}", wrong);
        CHECK_MSG(r.status == 401, "%s %s with a wrong admin key: %d", routes[i][0], routes[i][1], r.status);
        free(r.body);
    }
}

static int usage_sum(const char *body, const char *key_id, const char *field) {
    cJSON *o = cJSON_Parse(body ? body : "");
    int n = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(o, "data")) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(row, "key_id");
        if (cJSON_IsString(k) && !strcmp(k->valuestring, key_id))
            n += (int)cJSON_GetObjectItemCaseSensitive(row, field)->valuedouble;
    }
    cJSON_Delete(o);
    return n;
}

TEST(usage_audit_revoke) {
    /* a key with rpm 3, created through the console */
    resp2 r = console("POST", "/admin/api/keys", "{\"name\":\"limited\",\"rpm\":3,\"role\":\"user\"}");
    CHECK_EQ_INT(r.status, 201);
    char *key = json_str(r.body, "key"), *id = json_str(r.body, "id");
    free(r.body);
    CHECK(key && id);
    if (!key || !id) return;
    int codes[4];
    for (int i = 0; i < 4; i++) {
        char *b = chat_body(i == 3 ? "=HYPERLINK(\"http://x\")" : "m1", "hi", false);
        http_resp a = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
        codes[i] = a.status;
        free(a.body);
        free(b);
    }
    CHECK_EQ_INT(codes[0], 200);
    CHECK_EQ_INT(codes[2], 200);
    CHECK_EQ_INT(codes[3], 429);
    r = console("GET", "/admin/api/usage?bucket=60", NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(usage_sum(r.body, id, "allowed"), 3);
    CHECK_EQ_INT(usage_sum(r.body, id, "rejected"), 1);
    CHECK_EQ_INT(usage_sum(r.body, id, "tokens_in"), 30);
    free(r.body);
    /* the audit search, by key, newest first */
    char path[300];
    snprintf(path, sizeof path, "/admin/api/audit?key=%s&limit=2", id);
    r = console("GET", path, NULL);
    CHECK_EQ_INT(r.status, 200);
    cJSON *o = cJSON_Parse(r.body);
    CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(o, "total")->valuedouble, 4);
    cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "data");
    CHECK_EQ_INT(cJSON_GetArraySize(d), 2);
    CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(d, 0), "status")->valuedouble, 429);
    cJSON_Delete(o);
    free(r.body);
    snprintf(path, sizeof path, "/admin/api/audit?key=%s&status=4xx", id);
    r = console("GET", path, NULL);
    CHECK(strstr(r.body, "\"total\":1"));
    free(r.body);
    /* CSV: a header, one row per match, the formula-looking model defused */
    snprintf(path, sizeof path, "/admin/api/audit.csv?key=%s", id);
    r = console("GET", path, NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.ctype, "text/csv"));
    CHECK(!strncmp(r.body, "id,time,key_id,model", 20));
    int lines = 0;
    for (const char *p = r.body; (p = strchr(p, '\n')); p++) lines++;
    CHECK_EQ_INT(lines, 5);
    CHECK_MSG(strstr(r.body, "\"'=HYPERLINK(\"\"http://x\"\")\""), "%s", r.body);
    free(r.body);
    r = console("GET", "/admin/api/audit/verify", NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.body, "\"verified\":true"));
    free(r.body);
    /* revoke in the console: the key stops working */
    snprintf(path, sizeof path, "/admin/api/keys/%s", id);
    r = console("DELETE", path, NULL);
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
    char *b = chat_body("m1", "hi", false);
    http_resp a = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
    CHECK_EQ_INT(a.status, 401);
    free(a.body);
    free(b);
    /* the console's changes are in the audit log, under the admin's key */
    char aid[16];
    snprintf(path, sizeof path, "/admin/api/audit?key=%s&q=/admin/keys&status=2xx", key_id_of(k_admin, aid));
    r = console("GET", path, NULL);
    CHECK(strstr(r.body, "\"total\":2"));   /* create (201) and revoke (200) */
    free(r.body);
    /* ... and so are the refused CSRF attempts (three, under the same key) */
    snprintf(path, sizeof path, "/admin/api/audit?key=%s&q=/admin/keys&status=403", aid);
    r = console("GET", path, NULL);
    CHECK_MSG(strstr(r.body, "\"total\":3"), "%s", r.body);
    free(r.body);
    free(key);
    free(id);
}

TEST(other_views) {
    resp2 r = console("GET", "/admin/api/replicas", NULL);
    CHECK_EQ_INT(r.status, 200);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", rep_port);
    CHECK(strstr(r.body, url));
    free(r.body);
    r = console("GET", "/admin/api/metrics", NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.body, "hearth_gateway_replica_up"));
    free(r.body);
    /* bad parameters and bodies are refused, naming what was wrong */
    static const char *const bad[][5] = {
        {"GET", "/admin/api/audit?limit=100000", NULL, "400", "'limit'"},
        {"GET", "/admin/api/audit?status=abc", NULL, "400", "'status'"},
        {"GET", "/admin/api/audit?since=yesterday", NULL, "400", "'since'"},
        {"GET", "/admin/api/usage?bucket=-5", NULL, "400", "'bucket'"},
        {"POST", "/admin/api/keys", "{\"name\":", "400", "JSON"},
        {"POST", "/admin/api/keys", "{\"name\":\"x\",\"rpm\":-1}", "400", "'rpm'"},
        {"POST", "/admin/api/keys", "{\"name\":\"x\",\"role\":\"root\"}", "400", "'role'"},
        {"DELETE", "/admin/api/keys/../../etc", NULL, "404", "error"},
        {"DELETE", "/admin/api/keys/..%2F..%2Fetc%00x", NULL, "404", "error"},
        {"PUT", "/admin/api/audit", NULL, "405", "read-only"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = console(bad[i][0], bad[i][1], bad[i][2]);
        CHECK_MSG(r.status == atoi(bad[i][3]) && strstr(r.body, bad[i][4]), "%s %s: %d %s", bad[i][0], bad[i][1],
                  r.status, r.body);
        free(r.body);
    }
}

TEST(logout_and_revoked_admin) {
    resp2 r = console("POST", "/admin/logout", NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.set_cookie, "Max-Age=0"));
    free(r.body);
    r = console("GET", "/admin/api/keys", NULL);
    CHECK_EQ_INT(r.status, 401);
    free(r.body);
    /* a session whose admin key is revoked ends */
    r = login(k_admin2, NULL);
    CHECK_EQ_INT(r.status, 200);
    char *t = json_str(r.body, "csrf");
    snprintf(csrf, sizeof csrf, "%s", t ? t : "");
    free(t);
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(r.set_cookie, ";"), r.set_cookie);
    free(r.body);
    char id[16], auth[200], path[100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", k_admin);
    snprintf(path, sizeof path, "/admin/keys/%s", key_id_of(k_admin2, id));
    const char *h[] = {auth, NULL};
    r = req("DELETE", path, NULL, h);
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
    r = console("GET", "/admin/api/session", NULL);
    CHECK_EQ_INT(r.status, 401);
    free(r.body);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(dir, sizeof dir, "/tmp/hearth-gw-admin-%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    rep_pid = fake_start(0, &rep_port);
    CHECK(rep_port > 0);
    char keys_db[300];
    snprintf(keys_db, sizeof keys_db, "%s/keys.db", dir);
    snprintf(cfg, sizeof cfg, "%s/gateway.yaml", dir);
    hearth_keystore *ks;
    CHECK(hearth_keystore_open(keys_db, &ks) == HEARTH_OK);
    hearth_key_params p = hearth_key_default_params();
    hearth_key_info k;
    p.name = "user";
    CHECK(hearth_keys_create(ks, &p, k_user, &k) == HEARTH_OK);
    p.name = "revoked-admin";
    p.role = HEARTH_ROLE_ADMIN;
    CHECK(hearth_keys_create(ks, &p, k_revoked, &k) == HEARTH_OK);
    CHECK(hearth_keys_revoke(ks, k.id) == HEARTH_OK);
    p.name = "admin";
    CHECK(hearth_keys_create(ks, &p, k_admin, &k) == HEARTH_OK);
    p.name = "admin2";
    CHECK(hearth_keys_create(ks, &p, k_admin2, &k) == HEARTH_OK);
    hearth_keystore_free(ks);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "listen: {host: 127.0.0.1, port: 0}\n"
            "keys_db: keys.db\n"
            "audit: {db: audit.db}\n"
            "upstream:\n  replicas: [http://127.0.0.1:%d]\n  health_interval_s: 0.5\n",
            rep_port);
    fclose(f);
    gw_pid = gateway_start(cfg, &gw_port);
    CHECK_MSG(gw_port > 0, "the gateway did not start");
    if (gw_port > 0) {
        RUN(login_refusals);
        RUN(login_cookie);
        RUN(csrf_refused);
        RUN(every_route_guarded);
        RUN(usage_audit_revoke);
        RUN(other_views);
        RUN(logout_and_revoked_admin);
    }
    stop(gw_pid, SIGTERM);
    stop(rep_pid, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (harness_failures == 0 && system(cmd) != 0) return 1;
    return harness_done();
}
