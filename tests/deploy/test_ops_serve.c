/*
 * test_ops_serve.c — what the monitoring of `hearth serve` relies on, with
 * the server in this process (the small default model, registered twice:
 * "chat" and "chat-2"), on a free 127.0.0.1 port:
 *   - GET /ready and /health answer 200 while models are loaded;
 *   - after one request per model, /metrics counts exactly that request per
 *     model: prompt and generated tokens equal the answer's usage, one time
 *     to first token and one end-to-end latency, and generated - 1
 *     inter-token latencies (histograms cumulative, +Inf = count);
 *   - the vLLM-style gauges: requests running and waiting 0 when idle,
 *     KV-cache usage = used / capacity, hearth_ready 1, models loaded;
 *   - promtool check metrics accepts the whole page (label escaping of
 *     clients' model names: test_ops_gateway).
 */
#include "harness.h"

#include "hearth/server.h"
#include "server/http_client.h"

#include "prom_sample.h"

#include <cjson/cJSON.h>

#define MODEL HEARTH_SOURCE_DIR "/models/hearth-default.gguf"

static int port;

static double series(const char *text, const char *name, const char *model, const char *extra) {
    char s[300];
    snprintf(s, sizeof s, "%s{model=\"%s\"%s}", name, model, extra ? extra : "");
    return prom_sample(text, s);
}

TEST(ready_and_health) {
    http_resp r;
    CHECK(http_do(port, "GET", "/ready", NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(strstr(r.body, "\"ready\"") != NULL, "%s", r.body);
    http_resp_free(&r);
    CHECK(http_do(port, "GET", "/health", NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    http_resp_free(&r);
    CHECK(http_do(port, "POST", "/ready", "{}", &r));
    CHECK_EQ_INT(r.status, 405);
    http_resp_free(&r);
}

/* one chat request to model; *prompt and *completion from its usage */
static void ask(const char *model_json, int max_tokens, int *prompt, int *completion) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"model\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"Say something about rivers.\"}],"
             "\"max_tokens\":%d,\"temperature\":0}",
             model_json, max_tokens);
    int st;
    cJSON *j = http_post_json(port, "/v1/chat/completions", body, &st);
    CHECK_EQ_INT(st, 200);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    *prompt = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens"));
    *completion = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens"));
    cJSON_Delete(j);
}

static void check_histogram(const char *m, const char *name, const char *model, double want_count) {
    char n[128];
    snprintf(n, sizeof n, "%s_count", name);
    double count = series(m, n, model, NULL);
    CHECK_MSG(count == want_count, "%s{model=%s}: count %g, want %g", name, model, count, want_count);
    snprintf(n, sizeof n, "%s_bucket", name);
    CHECK_NEAR(series(m, n, model, ",le=\"+Inf\""), want_count, 0);
    /* cumulative: every bucket at most the next */
    char want[300];
    snprintf(want, sizeof want, "\n%s_bucket{model=\"%s\",le=\"", name, model);
    double prev = 0;
    int buckets = 0;
    for (const char *p = strstr(m, want); p; p = strstr(p + 1, want)) {
        double v = strtod(strchr(p + strlen(want), ' ') + 1, NULL);
        CHECK_MSG(v >= prev, "%s buckets not cumulative", name);
        prev = v;
        buckets++;
    }
    CHECK_MSG(buckets >= 10, "%s: %d buckets", name, buckets);
    snprintf(n, sizeof n, "%s_sum", name);
    CHECK(series(m, n, model, NULL) >= 0);
}

TEST(per_model_series) {
    int p1, c1, p2, c2;
    ask("\"chat\"", 12, &p1, &c1);
    ask("\"chat-2\"", 5, &p2, &c2);
    CHECK(c1 >= 2 && c2 >= 2);
    /* the answer goes out before the scheduler frees the slot: wait (bounded) for the idle state */
    http_resp r = {0};
    for (int i = 0; i < 100; i++) {
        http_resp_free(&r);
        CHECK(http_do(port, "GET", "/metrics", NULL, &r));
        if (prom_sample(r.body, "hearth_requests_running") == 0) break;
        usleep(50000);
    }
    CHECK_EQ_INT(r.status, 200);
    const char *m = r.body;
    const char *models[] = {"chat", "chat-2"};
    int prompt[] = {p1, p2}, gen[] = {c1, c2};
    for (int i = 0; i < 2; i++) {
        CHECK_NEAR(series(m, "hearth_prompt_tokens_total", models[i], NULL), prompt[i], 0);
        CHECK_NEAR(series(m, "hearth_generated_tokens_total", models[i], NULL), gen[i], 0);
        check_histogram(m, "hearth_time_to_first_token_seconds", models[i], 1);
        check_histogram(m, "hearth_request_duration_seconds", models[i], 1);
        check_histogram(m, "hearth_inter_token_latency_seconds", models[i], gen[i] - 1);
        CHECK_NEAR(series(m, "hearth_model_loaded", models[i], NULL), 1, 0);
    }
    CHECK_NEAR(prom_sample(m, "hearth_requests_running"), 0, 0);
    CHECK_NEAR(prom_sample(m, "hearth_requests_waiting"), 0, 0);
    double used = prom_sample(m, "hearth_kv_cache_used_tokens"), cap = prom_sample(m, "hearth_kv_cache_capacity_tokens");
    CHECK(cap > 0 && used >= 0);
    CHECK_NEAR(prom_sample(m, "hearth_kv_cache_usage_ratio"), used / cap, 1e-9);
    CHECK_NEAR(prom_sample(m, "hearth_ready"), 1, 0);
    CHECK_MSG(strstr(m, "# TYPE hearth_inter_token_latency_seconds histogram\n") != NULL, "no ITL family");
    /* Prometheus' linter over the whole page */
    char path[64], cmd[160];
    snprintf(path, sizeof path, "/tmp/hearth-ops-serve-%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    if (f) fputs(m, f), fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 1>&2", path);
    CHECK_MSG(system(cmd) == 0, "promtool check metrics flagged /metrics");
    unlink(path);
    http_resp_free(&r);
}

int main(void) {
    if (system("command -v promtool >/dev/null") != 0) {
        fprintf(stderr, "promtool is needed (Debian: prometheus; scripts/install-deps.sh)\n");
        return 1;
    }
    hearth_server_params p = hearth_server_default_params();
    p.port = 0;
    p.n_threads = 1;
    p.n_parallel = 2;
    p.n_ctx_per_seq = 256;
    hearth_server *s = NULL;
    CHECK(hearth_server_create(&p, &s) == HEARTH_OK);
    CHECK(s && hearth_server_add_model(s, "chat", MODEL) == HEARTH_OK);
    CHECK(s && hearth_server_add_model(s, "chat-2", MODEL) == HEARTH_OK);
    if (!s || hearth_server_start(s) != HEARTH_OK) {
        fprintf(stderr, "server: %s\n", hearth_last_error());
        hearth_server_free(s);
        return harness_done() + 1;
    }
    port = hearth_server_port(s);
    RUN(ready_and_health);
    RUN(per_model_series);
    hearth_server_free(s);
    return harness_done();
}
