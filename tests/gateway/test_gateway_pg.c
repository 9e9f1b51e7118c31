/*
 * test_gateway_pg.c — two `hearth gateway` processes sharing one PostgreSQL
 * database (a throwaway cluster from pg_virtualenv: run through pg_run.sh,
 * which sets PGHOST, PGPORT, PGUSER, PGPASSWORD and PGVERSION), in front of a
 * fake replica on 127.0.0.1:
 *
 *   - a key with rpm 20, 40 requests alternating between the gateways in one
 *     minute of the database's clock -> exactly 20 answered, 20 x 429
 *   - a key revoked through gateway A's admin API -> gateway B answers 401
 *     within 1 s (LISTEN/NOTIFY)
 *   - 2 x 200 concurrent requests through both -> 400 audit records in one
 *     chain, `hearth audit verify --config` passes; an UPDATE of one row with
 *     psql -> verify fails naming that row; times follow the chain's order
 *   - the database stopped under the gateways -> 503 with a clear message,
 *     then answers again once it is back (reconnect)
 *   - a wrong database URL, a schema newer than the build -> clear errors
 *
 * Gateway B runs under faketime with its clock 90 s behind (another minute):
 * the shared limits and the chain's times must come from the database's
 * clock for the checks above to pass.
 */
#include "gw_fixture.h"

#include "hearth/gateway.h"

#include <sys/time.h>
#include <time.h>

#define DB_URL "postgresql://"   /* empty host part: the PG* variables of pg_virtualenv */
#if defined(__aarch64__)
#define FAKETIME_LIB "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1"
#else
#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
#endif

static char dir[256], cfg[300];
static int rep_port, port_a, port_b;
static pid_t rep_pid, pid_a, pid_b;
static char k_admin[HEARTH_KEY_MAX], k_rpm[HEARTH_KEY_MAX], k_victim[HEARTH_KEY_MAX], k_load[HEARTH_KEY_MAX];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* runs cmd (through sh), its output (stdout and stderr) into out; returns the exit status */
static int run_cmd(const char *cmd, char *out, size_t cap) {
    char full[2048];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* one SQL statement through psql; its single value (trimmed) into out */
static int psql(const char *sql, char *out, size_t cap) {
    char cmd[1024], buf[4096];
    snprintf(cmd, sizeof cmd, "psql -XAtq -v ON_ERROR_STOP=1 -c \"%s\"", sql);
    int rc = run_cmd(cmd, buf, sizeof buf);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
    if (out) snprintf(out, cap, "%s", buf);
    if (rc) fprintf(stderr, "psql: %s: %s\n", sql, buf);
    return rc;
}

static long long psql_int(const char *sql) {
    char v[64] = "";
    if (psql(sql, v, sizeof v)) return -1;
    return atoll(v);
}

static void make_key(hearth_keystore *ks, const char *name, int64_t rpm, hearth_key_role role, char *out) {
    hearth_key_params p = hearth_key_default_params();
    p.name = name;
    p.rpm = rpm;
    p.role = role;
    CHECK(hearth_keys_create(ks, &p, out, NULL) == HEARTH_OK);
}

static int chat_status(int port, const char *key) {
    char *b = chat_body("m1", "hello", false);
    http_resp r = http(port, "POST", "/v1/chat/completions", key, false, b);
    free(b);
    free(r.body);
    return r.status;
}

static int verify(char *out, size_t cap) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s audit verify --config %s", HEARTH_BIN, cfg);
    return run_cmd(cmd, out, cap);
}

/* ==== exact shared rate limit ======================================================= */
TEST(rpm_shared_exactly) {
    /* the window is the database's minute: start with room for 40 requests in it */
    long long sec = psql_int("SELECT extract(second FROM now())::int");
    if (sec > 30) sleep((unsigned)(61 - sec));
    int ok = 0, limited = 0, other = 0, retry_ok = 0;
    for (int i = 0; i < 40; i++) {
        char *b = chat_body("m1", "hello", false);
        http_resp r = http(i % 2 ? port_b : port_a, "POST", "/v1/chat/completions", k_rpm, false, b);
        free(b);
        if (r.status == 200) ok++;
        else if (r.status == 429) {
            limited++;
            if (r.retry_after >= 1 && r.retry_after <= 60 && strstr(r.body, "rpm_exceeded")) retry_ok++;
        } else other++;
        free(r.body);
    }
    CHECK_EQ_INT(ok, 20);
    CHECK_EQ_INT(limited, 20);
    CHECK_EQ_INT(other, 0);
    CHECK_EQ_INT(retry_ok, limited);   /* each 429 says why and when to come back */
}

/* ==== revocation seen by the other gateway =========================================== */
TEST(revoke_on_a_seen_by_b) {
    CHECK_EQ_INT(chat_status(port_a, k_victim), 200);
    CHECK_EQ_INT(chat_status(port_b, k_victim), 200);   /* cached on B now */
    char path[64];
    snprintf(path, sizeof path, "/admin/keys/%.*s", HEARTH_KEY_ID_LEN, k_victim + 3);
    http_resp r = http(port_a, "DELETE", path, k_admin, false, NULL);
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
    double t0 = now_s();
    int st = 0;
    while (now_s() - t0 < 1.0 && (st = chat_status(port_b, k_victim)) != 401) usleep(10000);
    double dt = now_s() - t0;
    CHECK_MSG(st == 401, "gateway B still answers %d %.2f s after the revoke on A", st, dt);
    printf("  revoke on A -> 401 on B after %.0f ms\n", dt * 1000);
    CHECK_EQ_INT(chat_status(port_a, k_victim), 401);
}

/* ==== one audit chain from concurrent appends ====================================== */
#define LOAD_THREADS 20
#define LOAD_PER_THREAD 20   /* half through each gateway: 2 x 200 */

static int load_ok[LOAD_THREADS];

static void *load_thread(void *arg) {
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < LOAD_PER_THREAD; i++)
        if (chat_status((t + i) % 2 ? port_b : port_a, k_load) == 200) load_ok[t]++;
    return NULL;
}

TEST(one_chain_from_two_gateways) {
    pthread_t th[LOAD_THREADS];
    for (int t = 0; t < LOAD_THREADS; t++) pthread_create(&th[t], NULL, load_thread, (void *)(intptr_t)t);
    int ok = 0;
    for (int t = 0; t < LOAD_THREADS; t++) {
        pthread_join(th[t], NULL);
        ok += load_ok[t];
    }
    CHECK_EQ_INT(ok, 2 * 200);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit WHERE key_id = '%.*s' AND status = 200", HEARTH_KEY_ID_LEN,
             k_load + 3);
    CHECK_EQ_INT(psql_int(sql), 400);
    long long n = psql_int("SELECT count(*) FROM audit"), head = psql_int("SELECT n FROM audit_head");
    CHECK_EQ_INT(head, n);
    CHECK_EQ_INT(psql_int("SELECT max(id) FROM audit"), n);
    /* the database's clock stamps the records in chain order */
    CHECK_EQ_INT(psql_int("SELECT count(*) FROM (SELECT time_ms < lag(time_ms) OVER (ORDER BY id) AS back"
                          " FROM audit) t WHERE back"),
                 0);
    char out[4096], want[64];
    int rc = verify(out, sizeof out);
    CHECK_MSG(rc == 0, "verify: %s", out);
    snprintf(want, sizeof want, "ok: %lld records", n);
    CHECK_MSG(strstr(out, want) != NULL, "verify said: %s", out);

    /* an UPDATE made with psql: verify fails at that row */
    long long victim = n / 2;
    snprintf(sql, sizeof sql, "UPDATE audit SET tokens_out = tokens_out + 1 WHERE id = %lld", victim);
    CHECK_EQ_INT(psql(sql, NULL, 0), 0);
    rc = verify(out, sizeof out);
    snprintf(want, sizeof want, "record %lld", victim);
    CHECK_MSG(rc != 0 && strstr(out, want) && strstr(out, "contents changed"), "verify after UPDATE: rc %d: %s", rc,
              out);
    snprintf(sql, sizeof sql, "UPDATE audit SET tokens_out = tokens_out - 1 WHERE id = %lld", victim);
    CHECK_EQ_INT(psql(sql, NULL, 0), 0);
    rc = verify(out, sizeof out);
    CHECK_MSG(rc == 0, "verify after undoing the UPDATE: %s", out);

    /* a DELETE of the newest row (the head still counts it) */
    CHECK_EQ_INT(psql("CREATE TABLE audit_saved AS SELECT * FROM audit WHERE id = (SELECT max(id) FROM audit);"
                      "DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)",
                      NULL, 0),
                 0);
    rc = verify(out, sizeof out);
    CHECK_MSG(rc != 0 && strstr(out, "missing"), "verify after DELETE: rc %d: %s", rc, out);
    CHECK_EQ_INT(psql("INSERT INTO audit SELECT * FROM audit_saved; DROP TABLE audit_saved", NULL, 0), 0);
    rc = verify(out, sizeof out);
    CHECK_MSG(rc == 0, "verify after restoring the row: %s", out);
}

/* ==== the database goes away and comes back ========================================= */
static int cluster(const char *action) {
    char cmd[256], out[2048];
    const char *v = getenv("PGVERSION");
    snprintf(cmd, sizeof cmd, "pg_ctlcluster %s regress %s%s", v ? v : "15", action,
             !strcmp(action, "stop") ? " -m fast" : "");
    int rc = run_cmd(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s: %s\n", cmd, out);
    return rc;
}

TEST(database_stopped_then_back) {
    CHECK_EQ_INT(chat_status(port_a, k_load), 200);
    long long before = psql_int("SELECT n FROM audit_head");
    if (cluster("stop")) {
        CHECK_MSG(0, "could not stop the cluster");
        return;
    }
    for (int g = 0; g < 2; g++) {
        char *b = chat_body("m1", "hello", false);
        http_resp r = http(g ? port_b : port_a, "POST", "/v1/chat/completions", k_load, false, b);
        free(b);
        CHECK_MSG(r.status == 503, "gateway %c answered %d with the database down: %s", 'A' + g, r.status, r.body);
        CHECK_MSG(strstr(r.body, "database") != NULL, "no clear message: %s", r.body);
        free(r.body);
    }
    CHECK_EQ_INT(cluster("start"), 0);
    int st = 0;
    double t0 = now_s();
    while (now_s() - t0 < 30 && (st = chat_status(port_a, k_load)) != 200) usleep(200000);
    CHECK_MSG(st == 200, "gateway A did not recover: %d", st);
    t0 = now_s();
    while (now_s() - t0 < 30 && (st = chat_status(port_b, k_load)) != 200) usleep(200000);
    CHECK_MSG(st == 200, "gateway B did not recover: %d", st);
    /* nothing was answered unaudited: the refused ones left no record, the chain holds */
    long long after = psql_int("SELECT n FROM audit_head");
    CHECK(after >= before + 2);
    char out[4096];
    CHECK_MSG(verify(out, sizeof out) == 0, "verify after the outage: %s", out);
}

/* ==== bad configuration ============================================================= */
TEST(wrong_url_and_newer_schema) {
    char bad[300], out[4096], cmd[700];
    snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
    FILE *f = fopen(bad, "w");
    fprintf(f, "listen: {host: 127.0.0.1, port: 0}\ndatabase: postgresql://hearth:secret@127.0.0.1:1/nowhere\n"
               "upstream: {replicas: [http://127.0.0.1:%d]}\n",
            rep_port);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s gateway --config %s --port 0", HEARTH_BIN, bad);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc != 0 && strstr(out, "cannot connect to the database") && strstr(out, "127.0.0.1:1/nowhere"),
              "wrong URL: rc %d: %s", rc, out);
    CHECK_MSG(!strstr(out, "secret"), "the password is printed: %s", out);

    f = fopen(bad, "w");
    fprintf(f, "database: mysql://x/y\nupstream: {replicas: [http://127.0.0.1:%d]}\n", rep_port);
    fclose(f);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc != 0 && strstr(out, "PostgreSQL URL") && strstr(out, "bad.yaml:1:"), "not a postgresql URL: %s", out);

    f = fopen(bad, "w");
    fprintf(f, "database: postgresql://\nkeys_db: k.db\nupstream: {replicas: [http://127.0.0.1:%d]}\n", rep_port);
    fclose(f);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc != 0 && strstr(out, "replaces keys_db"), "database and keys_db: %s", out);

    /* a newer hearth migrated the database: this one refuses it, touching nothing */
    long long v = psql_int("SELECT version FROM hearth_schema");
    CHECK(v >= 1);
    CHECK_EQ_INT(psql("UPDATE hearth_schema SET version = 99", NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s gateway --config %s --port 0", HEARTH_BIN, cfg);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc != 0 && strstr(out, "schema version 99") && strstr(out, "newer"), "newer schema: rc %d: %s", rc, out);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE hearth_schema SET version = %lld", v);
    CHECK_EQ_INT(psql(sql, NULL, 0), 0);
}

int main(void) {
    if (!getenv("PGHOST") && !getenv("PGPORT")) {
        fprintf(stderr, "test_gateway_pg: run it through tests/gateway/pg_run.sh (pg_virtualenv)\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(dir, sizeof dir, "/tmp/hearth-gw-pg-%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    rep_pid = fake_start(0, &rep_port);
    CHECK(rep_port > 0);
    snprintf(cfg, sizeof cfg, "%s/gateway.yaml", dir);
    hearth_keystore *ks = NULL;
    hearth_status st = hearth_keystore_open(DB_URL, &ks);   /* creates the schema */
    CHECK_MSG(st == HEARTH_OK, "%s", hearth_last_error());
    if (st) return harness_done();
    make_key(ks, "admin", 0, HEARTH_ROLE_ADMIN, k_admin);
    make_key(ks, "rpm20", 20, HEARTH_ROLE_USER, k_rpm);
    make_key(ks, "victim", 0, HEARTH_ROLE_USER, k_victim);
    make_key(ks, "load", 0, HEARTH_ROLE_USER, k_load);
    hearth_keystore_free(ks);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "listen: {host: 127.0.0.1, port: 0}\n"
            "database: " DB_URL "\n"
            "upstream:\n  replicas: [http://127.0.0.1:%d]\n  health_interval_s: 0.5\n",
            rep_port);
    fclose(f);
    pid_a = gateway_start(cfg, &port_a);
    /* libfaketime preloaded through env, which execs the gateway itself (its pid is ours to stop) */
    char *const skewed[] = {"/usr/bin/env", "LD_PRELOAD=" FAKETIME_LIB, "FAKETIME=-90s", HEARTH_BIN, "gateway",
                            "--config", cfg, "--port", "0", NULL};
    if (access(FAKETIME_LIB, R_OK) == 0) {
        pid_b = start_reading_port(skewed, &port_b);
    } else {
        CHECK_MSG(0, "%s is missing (faketime, scripts/install-deps.sh): gateway B runs without clock skew",
                  FAKETIME_LIB);
        pid_b = gateway_start(cfg, &port_b);
    }
    CHECK_MSG(port_a > 0 && port_b > 0, "the gateways did not start");
    if (port_a > 0 && port_b > 0) {
        RUN(rpm_shared_exactly);
        RUN(revoke_on_a_seen_by_b);
        RUN(one_chain_from_two_gateways);
        RUN(database_stopped_then_back);
        RUN(wrong_url_and_newer_schema);
    }
    stop(pid_a, SIGTERM);
    stop(pid_b, SIGTERM);
    stop(rep_pid, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    curl_global_cleanup();
    return harness_done();
}
