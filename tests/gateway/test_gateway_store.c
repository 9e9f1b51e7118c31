/*
 * test_gateway_store.c — the gateway's stores without HTTP: API keys (only a
 * hash stored, rotate/revoke/expiry), the hash-chained audit log (verify
 * catches a changed, removed, inserted or reordered row, also through
 * `hearth audit verify` after editing with the sqlite3 library), token
 * buckets, budgets, and config errors that name the line.
 */
#include "harness.h"

#include "../../src/gateway/gateway_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

static void sql(const char *db, const char *stmt) {
    sqlite3 *h;
    CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(h, stmt, NULL, NULL, &err);
    CHECK_MSG(rc == SQLITE_OK, "%s: %s", stmt, err ? err : "");
    sqlite3_free(err);
    sqlite3_close(h);
}

TEST(keys_lifecycle) {
    char db[300];
    path(db, sizeof db, "keys.db");
    hearth_keystore *ks;
    CHECK(hearth_keystore_open(db, &ks) == HEARTH_OK);
    hearth_key_params p = hearth_key_default_params();
    p.name = "alice";
    p.models = "llama, qwen";
    char key[HEARTH_KEY_MAX];
    hearth_key_info k, got;
    CHECK(hearth_keys_create(ks, &p, key, &k) == HEARTH_OK);
    CHECK(strncmp(key, "hk_", 3) == 0);
    CHECK_EQ_INT(strlen(key), 3 + 12 + 1 + 43);
    hearth_key_check res;
    CHECK(hearth_keys_verify(ks, key, gw_now_s(), &got, &res) == HEARTH_OK);
    CHECK_EQ_INT(res, HEARTH_KEY_VALID);
    CHECK_STR(got.name, "alice");
    /* model access: listed names and their adapters */
    CHECK(hearth_key_allows_model(&got, "llama"));
    CHECK(hearth_key_allows_model(&got, "qwen+sql"));
    CHECK(!hearth_key_allows_model(&got, "mistral"));
    CHECK(!hearth_key_allows_model(&got, "llam"));
    /* a changed secret is unknown */
    char bad[HEARTH_KEY_MAX];
    snprintf(bad, sizeof bad, "%s", key);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
    CHECK(hearth_keys_verify(ks, bad, gw_now_s(), NULL, &res) == HEARTH_OK);
    CHECK_EQ_INT(res, HEARTH_KEY_UNKNOWN);
    CHECK(hearth_keys_verify(ks, "sk-nothing", gw_now_s(), NULL, &res) == HEARTH_OK);
    CHECK_EQ_INT(res, HEARTH_KEY_MALFORMED);
    /* the secret is nowhere in the database file */
    hearth_keystore_free(ks);
    size_t len;
    char *bytes = harness_read(db, &len);
    CHECK(bytes != NULL);
    const char *secret = key + 16;
    bool leaked = false;
    for (size_t i = 0; bytes && i + 20 <= len; i++)
        if (!memcmp(bytes + i, secret, 20)) leaked = true;
    CHECK(!leaked);
    free(bytes);
    CHECK(hearth_keystore_open(db, &ks) == HEARTH_OK);
    /* rotate: old secret stops working, new one works */
    char key2[HEARTH_KEY_MAX];
    CHECK(hearth_keys_rotate(ks, k.id, key2) == HEARTH_OK);
    CHECK(strcmp(key, key2) != 0);
    hearth_keys_verify(ks, key, gw_now_s(), NULL, &res);
    CHECK_EQ_INT(res, HEARTH_KEY_UNKNOWN);
    hearth_keys_verify(ks, key2, gw_now_s(), NULL, &res);
    CHECK_EQ_INT(res, HEARTH_KEY_VALID);
    /* revoke */
    CHECK(hearth_keys_revoke(ks, k.id) == HEARTH_OK);
    hearth_keys_verify(ks, key2, gw_now_s(), NULL, &res);
    CHECK_EQ_INT(res, HEARTH_KEY_REVOKED);
    CHECK(hearth_keys_revoke(ks, "000000000000") == HEARTH_ERR_NOT_FOUND);
    /* expiry */
    p.name = "temp";
    CHECK(hearth_parse_date("2020-01-02", &p.expires));
    CHECK(hearth_keys_create(ks, &p, key, &k) == HEARTH_OK);
    hearth_keys_verify(ks, key, gw_now_s(), NULL, &res);
    CHECK_EQ_INT(res, HEARTH_KEY_EXPIRED);
    CHECK(!hearth_parse_date("2021-02-29", &p.expires));
    /* budget without a period is refused */
    p.expires = 0;
    p.budget_tokens = 10;
    CHECK(hearth_keys_create(ks, &p, key, &k) == HEARTH_ERR_INVALID_ARG);
    /* usage per period */
    int64_t used, end, now = gw_now_s();
    CHECK(hearth_keys_add_usage(ks, "aaaaaaaaaaaa", "m", now, 10, 5) == HEARTH_OK);
    CHECK(hearth_keys_add_usage(ks, "aaaaaaaaaaaa", "n", now, 1, 2) == HEARTH_OK);
    CHECK(hearth_keys_add_usage(ks, "aaaaaaaaaaaa", "m", now - 40 * 86400, 100, 0) == HEARTH_OK);
    CHECK(hearth_keys_period_usage(ks, "aaaaaaaaaaaa", HEARTH_PERIOD_DAY, now, &used, &end) == HEARTH_OK);
    CHECK_EQ_INT(used, 18);
    CHECK(end > now && end <= now + 86400);
    CHECK(hearth_keys_period_usage(ks, "aaaaaaaaaaaa", HEARTH_PERIOD_MONTH, now, &used, &end) == HEARTH_OK);
    CHECK_EQ_INT(used, 18);
    hearth_keystore_free(ks);
}

static void fill_audit(const char *db, int n) {
    unlink(db);
    hearth_audit *a;
    CHECK(hearth_audit_open(db, false, &a) == HEARTH_OK);
    for (int i = 0; i < n; i++) {
        hearth_audit_record r = {.time_ms = 1700000000000LL + i * 1000, .key_id = "abcdef012345", .model = "m",
                                 .adapter = "", .endpoint = "/v1/chat/completions", .status = 200,
                                 .tokens_in = 10 + i, .tokens_out = 3, .latency_ms = 5, .pii_kinds = i == 2 ? "email" : "",
                                 .client = "127.0.0.1", .prompt = i == 1 ? "write to [EMAIL_1]\n\"quoted\"" : NULL};
        CHECK(hearth_audit_append(a, &r) == HEARTH_OK);
        CHECK_EQ_INT(r.id, i + 1);
    }
    int64_t count, bad;
    CHECK(hearth_audit_verify(a, &count, &bad) == HEARTH_OK);
    CHECK_EQ_INT(count, n);
    hearth_audit_free(a);
}

static int64_t verify_bad(const char *db) {
    hearth_audit *a;
    int64_t count = 0, bad = -1;
    CHECK(hearth_audit_open(db, false, &a) == HEARTH_OK);
    hearth_status st = hearth_audit_verify(a, &count, &bad);
    if (st == HEARTH_OK) bad = -1;
    hearth_audit_free(a);
    return bad;
}

TEST(audit_chain) {
    char db[300];
    path(db, sizeof db, "audit.db");
    fill_audit(db, 6);
    CHECK_EQ_INT(verify_bad(db), -1);
    /* a changed field */
    sql(db, "UPDATE audit SET tokens_in = 999 WHERE id = 3");
    CHECK_EQ_INT(verify_bad(db), 3);
    /* a changed text field of another row */
    fill_audit(db, 6);
    sql(db, "UPDATE audit SET prompt = 'write to bob@example.com' WHERE id = 2");
    CHECK_EQ_INT(verify_bad(db), 2);
    /* a removed row in the middle */
    fill_audit(db, 6);
    sql(db, "DELETE FROM audit WHERE id = 4");
    CHECK_EQ_INT(verify_bad(db), 5);
    /* the newest row removed */
    fill_audit(db, 6);
    sql(db, "DELETE FROM audit WHERE id = 6");
    CHECK_EQ_INT(verify_bad(db), 6);
    /* two rows swapped (ids exchanged) */
    fill_audit(db, 6);
    sql(db, "UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3;"
            "UPDATE audit SET id = 3 WHERE id = -2");
    CHECK_EQ_INT(verify_bad(db), 2);
    /* a row inserted (a copy of row 2 placed after the end) */
    fill_audit(db, 6);
    sql(db, "INSERT INTO audit SELECT 7, time_ms, key_id, model, adapter, endpoint, status, tokens_in, tokens_out,"
            " latency_ms, pii_kinds, client, prompt, response, prev_hash, hash FROM audit WHERE id = 2");
    CHECK_EQ_INT(verify_bad(db), 7);
}

TEST(audit_cli) {
    char db[300], cmd[800];
    path(db, sizeof db, "cli-audit.db");
    fill_audit(db, 4);
    snprintf(cmd, sizeof cmd, "%s audit verify --db %s", HEARTH_BIN, db);
    char *out = NULL;
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK(out && strstr(out, "4 records"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s audit export --since 2023-01-01 --db %s", HEARTH_BIN, db);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    int lines = 0;
    for (char *p = out; p && *p; p++) lines += *p == '\n';
    CHECK_EQ_INT(lines, 4);
    CHECK(out && strstr(out, "\"prompt\":\"write to [EMAIL_1]\\n\\\"quoted\\\"\""));
    free(out);
    snprintf(cmd, sizeof cmd, "%s audit export --since 2023-11-14 --until 2023-11-14 --db %s", HEARTH_BIN, db);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK(out && out[0] == 0);
    free(out);
    if (system("command -v sqlite3 >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd, "sqlite3 %s \"UPDATE audit SET status = 500 WHERE id = 2\"", db);
        CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    } else {
        sql(db, "UPDATE audit SET status = 500 WHERE id = 2");
    }
    snprintf(cmd, sizeof cmd, "%s audit verify --db %s 2>&1", HEARTH_BIN, db);
    CHECK_EQ_INT(harness_run(cmd, &out), 1);
    CHECK_MSG(out && strstr(out, "record 2"), "%s", out ? out : "");
    free(out);
}

/* appends from several threads at once (committed in groups): every record
 * stored once, each with its own id, in one chain that verifies; records in
 * the old one-sided pii_kinds form and the new two-sided form side by side */
#define APPEND_THREADS 8
#define APPENDS_EACH 60
typedef struct appender { hearth_audit *a; int t; int64_t ids[APPENDS_EACH]; int failed; } appender;

static void *append_many(void *arg) {
    appender *p = arg;
    for (int i = 0; i < APPENDS_EACH; i++) {
        char client[32];
        snprintf(client, sizeof client, "10.0.%d.%d", p->t, i);
        hearth_audit_record r = {.time_ms = 1700000000000LL + i, .key_id = "abcdef012345", .model = "m",
                                 .adapter = "", .endpoint = "/v1/chat/completions", .status = 200,
                                 .pii_kinds = i % 2 ? "email,phone" : "request: email; response: phone",
                                 .client = client};
        if (hearth_audit_append(p->a, &r) != HEARTH_OK) p->failed++;
        p->ids[i] = r.id;
    }
    return NULL;
}

TEST(audit_concurrent_appends) {
    char db[400];
    snprintf(db, sizeof db, "%s/audit_conc.db", dir);
    unlink(db);
    hearth_audit *a;
    CHECK(hearth_audit_open(db, true, &a) == HEARTH_OK);
    appender ap[APPEND_THREADS];
    pthread_t th[APPEND_THREADS];
    for (int t = 0; t < APPEND_THREADS; t++) {
        ap[t] = (appender){.a = a, .t = t};
        pthread_create(&th[t], NULL, append_many, &ap[t]);
    }
    for (int t = 0; t < APPEND_THREADS; t++) pthread_join(th[t], NULL);
    static bool seen[APPEND_THREADS * APPENDS_EACH + 1];
    int dup_or_bad = 0, failed = 0;
    for (int t = 0; t < APPEND_THREADS; t++) {
        failed += ap[t].failed;
        for (int i = 0; i < APPENDS_EACH; i++) {
            int64_t id = ap[t].ids[i];
            if (id < 1 || id > APPEND_THREADS * APPENDS_EACH || seen[id]) dup_or_bad++;
            else seen[id] = true;
        }
    }
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(dup_or_bad, 0);
    int64_t count = 0, bad = -1;
    CHECK(hearth_audit_verify(a, &count, &bad) == HEARTH_OK);
    CHECK_EQ_INT(count, APPEND_THREADS * APPENDS_EACH);
    hearth_audit_free(a);
}

TEST(limiter_buckets) {
    gw_limiter *l = gw_limiter_new();
    int ra;
    double t = 100.0;
    /* rpm 2: two pass, the third waits about 30 s */
    CHECK_EQ_INT(gw_limiter_admit(l, "k1", 2, 0, 0, t, &ra), GW_LIMIT_OK);
    gw_limiter_done(l, "k1", 0, t);
    CHECK_EQ_INT(gw_limiter_admit(l, "k1", 2, 0, 0, t, &ra), GW_LIMIT_OK);
    gw_limiter_done(l, "k1", 0, t);
    CHECK_EQ_INT(gw_limiter_admit(l, "k1", 2, 0, 0, t, &ra), GW_LIMIT_RPM);
    CHECK(ra >= 29 && ra <= 30);
    CHECK_EQ_INT(gw_limiter_admit(l, "k1", 2, 0, 0, t + 31, &ra), GW_LIMIT_OK);
    gw_limiter_done(l, "k1", 0, t + 31);
    /* other keys are not affected */
    CHECK_EQ_INT(gw_limiter_admit(l, "k2", 2, 0, 0, t, &ra), GW_LIMIT_OK);
    gw_limiter_done(l, "k2", 0, t);
    /* tpm 60 (1/s): 90 tokens used -> refused for about 30 s */
    CHECK_EQ_INT(gw_limiter_admit(l, "k3", 0, 60, 0, t, &ra), GW_LIMIT_OK);
    gw_limiter_done(l, "k3", 90, t);
    CHECK_EQ_INT(gw_limiter_admit(l, "k3", 0, 60, 0, t + 1, &ra), GW_LIMIT_TPM);
    CHECK(ra >= 28 && ra <= 30);
    CHECK_EQ_INT(gw_limiter_admit(l, "k3", 0, 60, 0, t + 31, &ra), GW_LIMIT_OK);
    gw_limiter_done(l, "k3", 0, t + 31);
    /* concurrency 1 */
    CHECK_EQ_INT(gw_limiter_admit(l, "k4", 0, 0, 1, t, &ra), GW_LIMIT_OK);
    CHECK_EQ_INT(gw_limiter_admit(l, "k4", 0, 0, 1, t, &ra), GW_LIMIT_CONCURRENT);
    gw_limiter_done(l, "k4", 0, t);
    CHECK_EQ_INT(gw_limiter_admit(l, "k4", 0, 0, 1, t, &ra), GW_LIMIT_OK);
    gw_limiter_done(l, "k4", 0, t);
    gw_limiter_free(l);
}

static hearth_status load_yaml(const char *text) {
    char p[300];
    path(p, sizeof p, "gw.yaml");
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    hearth_gateway_config *c = NULL;
    hearth_status st = hearth_gateway_config_load(p, &c);
    hearth_gateway_config_free(c);
    return st;
}

TEST(config_errors) {
    const char *good = "listen: {host: 127.0.0.1, port: 0}\nkeys_db: k.db\naudit:\n  db: a.db\n  sync: normal\n"
                       "upstream:\n  replicas: [http://127.0.0.1:1]\npii:\n  request: mask\n  keys:\n    bob: {request: block}\n";
    CHECK_EQ_INT(load_yaml(good), HEARTH_OK);
    CHECK_EQ_INT(load_yaml("keys_db: k.db\naudit: {db: a.db}\nupstream:\n  replicas: [http://x:1]\n  colour: red\n"),
                 HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "gw.yaml:5:") && strstr(hearth_last_error(), "colour"), "%s", hearth_last_error());
    CHECK_EQ_INT(load_yaml("keys_db: k.db\naudit: {db: a.db}\nlimits:\n  rpm: lots\nupstream: {replicas: [http://x:1]}\n"),
                 HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), ":4:") && strstr(hearth_last_error(), "rpm"), "%s", hearth_last_error());
    CHECK_EQ_INT(load_yaml("keys_db: k.db\naudit: {db: a.db}\nupstream: {replicas: [http://x:1]}\npii:\n  request: hide\n"),
                 HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), ":5:") && strstr(hearth_last_error(), "hide"), "%s", hearth_last_error());
    CHECK_EQ_INT(load_yaml("keys_db: [k.db\n"), HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "YAML"), "%s", hearth_last_error());
    CHECK_EQ_INT(load_yaml("keys_db: k.db\naudit: {db: a.db}\n"), HEARTH_ERR_FORMAT);
    CHECK_MSG(strstr(hearth_last_error(), "replicas"), "%s", hearth_last_error());
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/hearth-gw-store-%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    RUN(keys_lifecycle);
    RUN(audit_chain);
    RUN(audit_cli);
    RUN(audit_concurrent_appends);
    RUN(limiter_buckets);
    RUN(config_errors);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return harness_done();
}
