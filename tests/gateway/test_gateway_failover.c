/*
 * test_gateway_failover.c — three fake replicas behind `hearth gateway`: one
 * is killed with SIGKILL during 200 non-streaming requests (4 clients at
 * once) and no request fails; a stream whose replica dies mid-way ends with
 * an error event (no [DONE]) instead of hanging; the dead replica shows as
 * down in /metrics.
 */
#include "gw_fixture.h"

#include "hearth/gateway.h"

static char dir[256];
static int gw_port, rep_port[3];
static pid_t gw_pid, rep_pid[3];
static char key[HEARTH_KEY_MAX];
static int done_count, ok_count;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *client(void *arg) {
    (void)arg;
    char *b = chat_body("m1", "ping", false);
    for (int i = 0; i < 50; i++) {
        http_resp r = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
        pthread_mutex_lock(&mu);
        done_count++;
        if (r.status == 200 && strstr(r.body, "You said: ping")) ok_count++;
        else fprintf(stderr, "request failed: %d %s\n", r.status, r.body);
        pthread_mutex_unlock(&mu);
        free(r.body);
    }
    free(b);
    return NULL;
}

TEST(sigkill_during_200_requests) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, client, NULL);
    for (int spins = 0; spins < 2000; spins++) {   /* bounded: at most ~20 s */
        pthread_mutex_lock(&mu);
        int d = done_count;
        pthread_mutex_unlock(&mu);
        if (d >= 50) break;
        usleep(10000);
    }
    kill(rep_pid[1], SIGKILL);
    waitpid(rep_pid[1], NULL, 0);
    rep_pid[1] = 0;
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(done_count, 200);
    CHECK_EQ_INT(ok_count, 200);
    http_resp r = http(gw_port, "GET", "/metrics", key, false, NULL);
    char want[128];
    snprintf(want, sizeof want, "hearth_gateway_replica_up{replica=\"http://127.0.0.1:%d\"} 0", rep_port[1]);
    CHECK_MSG(r.body && strstr(r.body, want), "%s", r.body);
    free(r.body);
}

TEST(stream_on_dying_replica) {
    /* every replica kills itself in the middle of a "die" stream: the first
     * chunks reach the client, then the gateway must end the stream */
    char *b = chat_body("die", "a longer message so that the stream has many chunks", true);
    http_resp r = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
    free(b);
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(r.body && strstr(r.body, "data: ") && strstr(r.body, "\"error\""), "%s", r.body);
    CHECK(r.body && !strstr(r.body, "[DONE]"));
    CHECK(r.body && strstr(r.body, "upstream_failed"));
    free(r.body);
    /* the gateway still answers with the replicas that are left */
    b = chat_body("m1", "still there?", false);
    r = http(gw_port, "POST", "/v1/chat/completions", key, false, b);
    free(b);
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(dir, sizeof dir, "/tmp/hearth-gw-failover-%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    for (int i = 0; i < 3; i++) rep_pid[i] = fake_start(i, &rep_port[i]);
    char db[400], cfg[400];
    snprintf(db, sizeof db, "%s/keys.db", dir);
    hearth_keystore *ks;
    CHECK(hearth_keystore_open(db, &ks) == HEARTH_OK);
    hearth_key_params p = hearth_key_default_params();
    p.name = "load";
    CHECK(hearth_keys_create(ks, &p, key, NULL) == HEARTH_OK);
    hearth_keystore_free(ks);
    snprintf(cfg, sizeof cfg, "%s/gateway.yaml", dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "keys_db: keys.db\naudit: {db: audit.db, sync: normal}\n"
            "upstream:\n  replicas: [http://127.0.0.1:%d, http://127.0.0.1:%d, http://127.0.0.1:%d]\n"
            "  health_interval_s: 0.2\n  connect_timeout_ms: 500\n  request_timeout_s: 20\n",
            rep_port[0], rep_port[1], rep_port[2]);
    fclose(f);
    gw_pid = gateway_start(cfg, &gw_port);
    CHECK_MSG(gw_port > 0, "the gateway did not start");
    if (gw_port > 0) {
        RUN(sigkill_during_200_requests);
        RUN(stream_on_dying_replica);
    }
    stop(gw_pid, SIGTERM);
    for (int i = 0; i < 3; i++) stop(rep_pid[i], SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (harness_failures == 0 && system(cmd) != 0) return 1;
    return harness_done();
}
