/*
 * test_ops_gateway.c — what the monitoring of a gateway relies on, against a
 * real `hearth gateway` process in front of a fake replica (tests/gateway's
 * fixture):
 *   - GET /ready: 200 while a replica passes its checks, 503 once none does
 *     (the replica killed), without a key; /health stays 200;
 *   - /metrics: a key's token budget and its use (hearth_gateway_budget_*),
 *     hearth_audit_chain_ok 1, a client's model name with a quote, a
 *     backslash and a newline escaped, Prometheus' own linter (promtool)
 *     passes;
 *   - an audit log that cannot be appended to (its table dropped behind the
 *     gateway's back): the request fails closed (503), /metrics still answers
 *     and shows hearth_audit_chain_ok 0 and the failures counted.
 */
#include "gateway/gw_fixture.h"

#include "hearth/gateway.h"
#include "prom_sample.h"

static char dir[256];
static int gw_port, rep_port;
static pid_t gw_pid, rep_pid;
static char key[HEARTH_KEY_MAX];
static hearth_key_info info;

static char *metrics(void) {
    http_resp r = http(gw_port, "GET", "/metrics", key, false, NULL);
    CHECK_EQ_INT(r.status, 200);
    return r.body;
}

TEST(ready_and_budget_metrics) {
    http_resp r = http(gw_port, "GET", "/ready", NULL, false, NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(r.body && strstr(r.body, "\"ready\""), "%s", r.body);
    free(r.body);
    char *b = chat_body("m1", "ping", false);
    for (int i = 0; i < 2; i++) {
        r = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
        CHECK_EQ_INT(r.status, 200);
        free(r.body);
    }
    free(b);
    /* a client's model name with a quote, a backslash and a newline: escaped in the labels */
    b = chat_body("we\"ird\\na\nme", "ping", false);
    r = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
    free(b);
    free(r.body);
    char *m = metrics();
    CHECK_MSG(m && strstr(m, "model=\"we\\\"ird\\\\na\\nme\"") != NULL, "hostile model label:\n%s", m);
    char s[160];
    snprintf(s, sizeof s, "hearth_gateway_budget_tokens{key=\"%s\"}", info.id);
    CHECK_NEAR(prom_sample(m, s), 100000, 0);
    snprintf(s, sizeof s, "hearth_gateway_budget_used_tokens{key=\"%s\"}", info.id);
    double used = prom_sample(m, s);
    CHECK_MSG(used > 0, "budget used after two answered requests: %g\n%s", used, m);   /* as of the second request */
    CHECK_NEAR(prom_sample(m, "hearth_audit_chain_ok"), 1, 0);
    CHECK_NEAR(prom_sample(m, "hearth_audit_append_failures_total"), 0, 0);
    /* Prometheus' linter */
    char path[400], cmd[600];
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    FILE *f = fopen(path, "w");
    if (f) fputs(m ? m : "", f), fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 1>&2", path);
    CHECK_MSG(system(cmd) == 0, "promtool check metrics flagged the gateway's /metrics");
    free(m);
}

TEST(audit_failure_shows) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "sqlite3 %s/audit.db 'DROP TABLE audit'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    char *b = chat_body("m1", "ping", false);
    http_resp r = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
    free(b);
    CHECK_EQ_INT(r.status, 503);   /* fail closed: no unaudited answer */
    free(r.body);
    /* /metrics still answers (its own audit record fails as well): the alert needs it */
    char *m = metrics();
    CHECK_NEAR(prom_sample(m, "hearth_audit_chain_ok"), 0, 0);
    CHECK_MSG(prom_sample(m, "hearth_audit_append_failures_total") >= 2, "%s", m);
    free(m);
}

TEST(not_ready_without_replicas) {
    kill(rep_pid, SIGKILL);
    waitpid(rep_pid, NULL, 0);
    rep_pid = 0;
    int st = 0;
    for (int i = 0; i < 100 && st != 503; i++) {   /* health checks every 0.2 s: at most 10 s */
        http_resp r = http(gw_port, "GET", "/ready", NULL, false, NULL);
        st = r.status;
        if (st == 503) CHECK_MSG(r.body && strstr(r.body, "no replica is ready"), "%s", r.body);
        free(r.body);
        if (st != 503) usleep(100000);
    }
    CHECK_EQ_INT(st, 503);
    http_resp r = http(gw_port, "GET", "/health", NULL, false, NULL);
    CHECK_EQ_INT(r.status, 200);   /* alive all the same */
    free(r.body);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (system("command -v promtool >/dev/null && command -v sqlite3 >/dev/null") != 0) {
        fprintf(stderr, "promtool and sqlite3 are needed (scripts/install-deps.sh)\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "/tmp/hearth-ops-gw-%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    rep_pid = fake_start(0, &rep_port);
    char db[400], cfg[400];
    snprintf(db, sizeof db, "%s/keys.db", dir);
    hearth_keystore *ks;
    CHECK(hearth_keystore_open(db, &ks) == HEARTH_OK);
    hearth_key_params p = hearth_key_default_params();
    p.name = "monitored";
    p.budget_tokens = 100000;
    p.period = HEARTH_PERIOD_DAY;
    CHECK(hearth_keys_create(ks, &p, key, &info) == HEARTH_OK);
    hearth_keystore_free(ks);
    snprintf(cfg, sizeof cfg, "%s/gateway.yaml", dir);
    FILE *f = fopen(cfg, "w");
    if (!f) return 1;
    fprintf(f,
            "keys_db: keys.db\naudit: {db: audit.db, sync: normal}\n"
            "upstream:\n  replicas: [http://127.0.0.1:%d]\n"
            "  health_interval_s: 0.2\n  connect_timeout_ms: 500\n  request_timeout_s: 20\n",
            rep_port);
    fclose(f);
    gw_pid = gateway_start(cfg, &gw_port);
    CHECK_MSG(gw_port > 0, "the gateway did not start");
    if (gw_port > 0) {
        RUN(ready_and_budget_metrics);
        RUN(audit_failure_shows);
        RUN(not_ready_without_replicas);
    }
    stop(gw_pid, SIGTERM);
    stop(rep_pid, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (harness_failures == 0 && system(cmd) != 0) return 1;
    return harness_done();
}
