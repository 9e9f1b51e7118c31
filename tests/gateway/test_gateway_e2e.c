/*
 * test_gateway_e2e.c — `hearth gateway` in front of real `hearth serve`
 * replicas (the licences test model, greedy decoding) on 127.0.0.1:
 * - under mask the model sees placeholders: the gateway's answer to a prompt
 *   with an e-mail and a phone number has the prompt_tokens and the greedy
 *   completion of the MASKED prompt sent straight to a replica (and not those
 *   of the raw prompt), plain and streamed;
 * - block -> 400 naming the kinds; rpm -> 429 with Retry-After; the audit log
 *   verifies;
 * - fail-over: one of three replicas SIGKILLed during 60 requests, none fails;
 * - single node, one process: the gateway serving the model itself
 *   (upstream.inprocess), and `hearth serve --gateway-config` putting the
 *   gateway in front of the server, with the same policy.
 */
#include "gw_fixture.h"

#include "hearth/gateway.h"

#include <fcntl.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"
#define RAW "Please write to john.smith.longname@corporate-example.com or call 13800138000 about the licence."
#define MASKED "Please write to [EMAIL_1] or call [PHONE_1] about the licence."

static char dir[256], keys_db[300], audit_db[300];
static int gw_port, rep_port[3];
static pid_t gw_pid, rep_pid[3];
static char k_mask[HEARTH_KEY_MAX], k_block[HEARTH_KEY_MAX], k_rpm[HEARTH_KEY_MAX];

/* starts `hearth serve` on a free port; the port is read from its log line */
static pid_t serve_start(int i, int *port) {
    char log[320];
    snprintf(log, sizeof log, "%s/serve%d.log", dir, i);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        execl(HEARTH_BIN, HEARTH_BIN, "serve", "-m", MODEL, "--port", "0", "--parallel", "2", "--ctx-per-seq",
              "256", "-t", "1", (char *)NULL);
        _exit(127);
    }
    *port = -1;
    for (int t = 0; t < 600 && *port < 0; t++) {   /* at most 30 s */
        usleep(50000);
        FILE *f = fopen(log, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "listening on http://127.0.0.1:");
            if (p) *port = atoi(p + strlen("listening on http://127.0.0.1:"));
        }
        if (f) fclose(f);
    }
    return pid;
}

static char *body(const char *text, bool stream, int max_tokens) {
    cJSON *o = cJSON_CreateObject();
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages"), *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", text);
    cJSON_AddItemToArray(msgs, m);
    cJSON_AddNumberToObject(o, "max_tokens", max_tokens);
    cJSON_AddNumberToObject(o, "temperature", 0);
    if (stream) cJSON_AddTrueToObject(o, "stream");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static http_resp ask(int port, const char *key, const char *text, bool stream, int max_tokens) {
    char *b = body(text, stream, max_tokens);
    http_resp r = http(port, "POST", "/v1/chat/completions", key, false, b);
    free(b);
    return r;
}

static int prompt_tokens(const http_resp *r) {
    cJSON *o = cJSON_Parse(r->body ? r->body : "");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "usage"), "prompt_tokens");
    int n = cJSON_IsNumber(pt) ? (int)pt->valuedouble : -1;
    cJSON_Delete(o);
    return n;
}

static int masked_tokens;
static char *masked_text;

TEST(model_sees_placeholders) {
    http_resp raw = ask(rep_port[0], NULL, RAW, false, 8);
    http_resp masked = ask(rep_port[0], NULL, MASKED, false, 8);
    CHECK_EQ_INT(raw.status, 200);
    CHECK_EQ_INT(masked.status, 200);
    masked_tokens = prompt_tokens(&masked);
    masked_text = answer_text(&masked);
    char *raw_text = answer_text(&raw);
    /* the two prompts differ in length, so usage tells which one the model saw */
    CHECK(prompt_tokens(&raw) != masked_tokens);
    http_resp g = ask(gw_port, k_mask, RAW, false, 8);
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_INT(prompt_tokens(&g), masked_tokens);
    char *t = answer_text(&g);
    CHECK_STR(t, masked_text);   /* the greedy completion of the masked prompt */
    if (strcmp(raw_text, masked_text)) CHECK(strcmp(t, raw_text) != 0);
    free(t);
    free(g.body);
    /* streamed: the same text, chunk by chunk */
    g = ask(gw_port, k_mask, RAW, true, 8);
    CHECK_EQ_INT(g.status, 200);
    CHECK(strstr(g.body, "[DONE]"));
    t = answer_text(&g);
    CHECK_STR(t, masked_text);
    free(t);
    free(g.body);
    free(raw_text);
    free(raw.body);
    free(masked.body);
}

TEST(block_rpm_audit) {
    http_resp r = ask(gw_port, k_block, RAW, false, 4);
    CHECK_EQ_INT(r.status, 400);
    CHECK_MSG(strstr(r.body, "email") && strstr(r.body, "phone") && !strstr(r.body, "13800138000") &&
                  !strstr(r.body, "longname"), "%s", r.body);
    free(r.body);
    for (int i = 0; i < 2; i++) {
        r = ask(gw_port, k_rpm, "hello", false, 2);
        CHECK_EQ_INT(r.status, 200);
        free(r.body);
    }
    r = ask(gw_port, k_rpm, "hello", false, 2);
    CHECK_EQ_INT(r.status, 429);
    CHECK(r.retry_after >= 1);
    CHECK(strstr(r.body, "rate_limit_exceeded"));
    free(r.body);
    char cmd[600], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s audit verify --db %s 2>&1", HEARTH_BIN, audit_db);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "%s audit export --since 2000-01-01 --db %s", HEARTH_BIN, audit_db);
    CHECK_EQ_INT(harness_run(cmd, &out), 0);
    CHECK(out && strstr(out, "\"pii_kinds\":\"request: email,phone") && !strstr(out, "longname"));
    free(out);
}

/* ---- fail-over: 3 clients x 20 requests, replica 1 killed after a few */
static int n_ok, n_done;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *client(void *arg) {
    (void)arg;
    for (int i = 0; i < 20; i++) {
        http_resp r = ask(gw_port, k_mask, "Tell me about the licence.", false, 4);
        pthread_mutex_lock(&mu);
        n_done++;
        if (r.status == 200) n_ok++;
        else printf("  request failed: %d %s\n", r.status, r.body);
        pthread_mutex_unlock(&mu);
        free(r.body);
    }
    return NULL;
}

TEST(failover_real_replicas) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, client, NULL);
    for (;;) {
        pthread_mutex_lock(&mu);
        int d = n_done;
        pthread_mutex_unlock(&mu);
        if (d >= 10) break;
        usleep(2000);
    }
    kill(rep_pid[1], SIGKILL);   /* with requests in flight */
    waitpid(rep_pid[1], NULL, 0);
    rep_pid[1] = 0;
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(n_done, 60);
    CHECK_EQ_INT(n_ok, 60);
}

/* the single-node policy checks against a gateway on port that serves the
 * model "lic" in its own process; stops pid, then verifies its audit log */
static void check_single_node(pid_t pid, int port, const char *audit_name) {
    CHECK_MSG(port > 0, "the single-node gateway did not start");
    if (port <= 0) {
        stop(pid, SIGKILL);
        return;
    }
    char *b = body(RAW, false, 8);
    cJSON *o = cJSON_Parse(b);
    cJSON_AddStringToObject(o, "model", "lic");
    free(b);
    b = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    http_resp r = http(port, "POST", "/v1/chat/completions", NULL, false, b);
    CHECK_EQ_INT(r.status, 401);
    free(r.body);
    r = http(port, "POST", "/v1/chat/completions", k_mask, false, b);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(prompt_tokens(&r), masked_tokens);
    char *t = answer_text(&r);
    CHECK_STR(t, masked_text);
    free(t);
    free(r.body);
    r = http(port, "POST", "/v1/chat/completions", k_block, false, b);
    CHECK_EQ_INT(r.status, 400);
    free(r.body);
    free(b);
    stop(pid, SIGTERM);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s audit verify --db %s/%s >/dev/null 2>&1", HEARTH_BIN, dir, audit_name);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
}

/* upstream.inprocess: `hearth gateway` serves the model itself */
TEST(inprocess_mode) {
    char cfg[320];
    snprintf(cfg, sizeof cfg, "%s/inproc.yaml", dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "keys_db: keys.db\naudit: {db: audit-inproc.db, sync: normal}\n"
            "upstream:\n  inprocess:\n    models: {lic: %s}\n    parallel: 1\n    ctx_per_seq: 256\n    threads: 1\n"
            "pii:\n  request: mask\n  keys:\n    blocker: {request: block}\n",
            MODEL);
    fclose(f);
    int port = -1;
    pid_t pid = gateway_start(cfg, &port);
    check_single_node(pid, port, "audit-inproc.db");
}

/* `hearth serve --gateway-config`: the server puts the gateway in front of itself */
TEST(serve_gateway_config) {
    char cfg[320];
    snprintf(cfg, sizeof cfg, "%s/serve-gw.yaml", dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f, "keys_db: keys.db\naudit: {db: audit-serve.db, sync: normal}\n"
               "pii:\n  request: mask\n  keys:\n    blocker: {request: block}\n");
    fclose(f);
    char *const argv[] = {HEARTH_BIN, "serve", "--model", "lic=" MODEL, "--gateway-config", cfg, "--port", "0",
                          "--parallel", "1", "--ctx-per-seq", "256", "-t", "1", NULL};
    int port = -1;
    pid_t pid = start_reading_port(argv, &port);
    check_single_node(pid, port, "audit-serve.db");
}

static void make_key(hearth_keystore *ks, const char *name, int64_t rpm, char *out) {
    hearth_key_params p = hearth_key_default_params();
    p.name = name;
    p.rpm = rpm;
    CHECK(hearth_keys_create(ks, &p, out, NULL) == HEARTH_OK);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(dir, sizeof dir, "/tmp/hearth-gw-e2e-%d", (int)getpid());
    char cmd[600], cfg[320];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    for (int i = 0; i < 3; i++) rep_pid[i] = serve_start(i, &rep_port[i]);
    CHECK(rep_port[0] > 0 && rep_port[1] > 0 && rep_port[2] > 0);
    snprintf(keys_db, sizeof keys_db, "%s/keys.db", dir);
    snprintf(audit_db, sizeof audit_db, "%s/audit.db", dir);
    snprintf(cfg, sizeof cfg, "%s/gateway.yaml", dir);
    hearth_keystore *ks;
    CHECK(hearth_keystore_open(keys_db, &ks) == HEARTH_OK);
    make_key(ks, "masker", 0, k_mask);
    make_key(ks, "blocker", 0, k_block);
    make_key(ks, "limited", 2, k_rpm);
    hearth_keystore_free(ks);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "keys_db: keys.db\naudit: {db: audit.db, sync: normal}\n"
            "upstream:\n  replicas: [http://127.0.0.1:%d, http://127.0.0.1:%d, http://127.0.0.1:%d]\n"
            "  health_interval_s: 0.3\n"
            "pii:\n  request: mask\n  response: allow\n  keys:\n    blocker: {request: block}\n",
            rep_port[0], rep_port[1], rep_port[2]);
    fclose(f);
    if (rep_port[0] > 0 && rep_port[1] > 0 && rep_port[2] > 0) {
        gw_pid = gateway_start(cfg, &gw_port);
        CHECK_MSG(gw_port > 0, "the gateway did not start");
        if (gw_port > 0) {
            RUN(model_sees_placeholders);
            RUN(block_rpm_audit);
            RUN(failover_real_replicas);
        }
        stop(gw_pid, SIGTERM);
    }
    for (int i = 0; i < 3; i++) stop(rep_pid[i], SIGKILL);
    if (masked_text) {
        RUN(inprocess_mode);
        RUN(serve_gateway_config);
    }
    free(masked_text);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (harness_failures == 0 && system(cmd) != 0) return 1;
    return harness_done();
}
