/*
 * test_server.c — `hearth serve` end to end over HTTP (licenses-llama F16
 * model, a server on a free 127.0.0.1 port, stopped by the test):
 *   - /health, /v1/models, /metrics (Prometheus text: every sample line is
 *     `name{labels} value`, the families are typed);
 *   - /v1/completions at temperature 0 gives exactly `hearth run --temp 0`;
 *   - chat non-streaming (usage adds up) and streaming (events arrive before
 *     the stream ends; final usage chunk; data: [DONE]);
 *   - embeddings: n_embd floats of norm 1, equal for equal inputs, base64;
 *   - response_format json_object: the output is a JSON object (or a valid
 *     prefix of one when cut by max_tokens); the validator itself;
 *   - errors in OpenAI's shape: invalid JSON and bad fields -> 400 naming the
 *     field, unknown model -> 404, huge body -> 413, full queue -> 429 with
 *     Retry-After, unknown URL -> 404;
 *   - a slowloris client (a header byte at a time) does not block others and
 *     is cut off by the idle timeout;
 *   - 1,000 requests, many abandoned mid-way, leave no busy slot, an empty
 *     queue, and the server's RSS within 64 MiB of where it was;
 *   - SIGTERM: the server exits 0 (a full queue and SIGTERM during a stream:
 *     test_server_models.c, so that ctest runs the two halves side by side).
 */
#include "harness.h"

#include "http_client.h"
#include "server/server_internal.h"

#include <cjson/cJSON.h>
#include <pthread.h>

#define MODEL HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"

static int port;
static pid_t server_pid;

/* the JSON helpers of http_client.h, on this test's server */
#define post_json(path, body, status) http_post_json(port, (path), (body), (status))
#define jstr(o, path) json_path_str((o), (path))

static double jnum(const cJSON *o, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

/* ==== basic endpoints ======================================================= */
TEST(health_models) {
    http_resp r;
    CHECK(http_do(port, "GET", "/health", NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.body, "\"ok\"") != NULL);
    http_resp_free(&r);
    CHECK(http_do(port, "GET", "/v1/models", NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    CHECK(j && !strcmp(jstr(j, "object"), "list"));
    const char *id = jstr(j, "data.0.id");
    CHECK_MSG(id && !strcmp(id, "lic"), "first model id %s", id ? id : "(none)");
    cJSON_Delete(j);
    http_resp_free(&r);
    CHECK(http_do(port, "GET", "/v2/nothing", NULL, &r));
    CHECK_EQ_INT(r.status, 404);
    http_resp_free(&r);
}

/* `hearth run --temp 0` and the API at temperature 0 give the same text */
TEST(greedy_equals_run) {
    const char *prompt = "Licensor grants You";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s run -m %s -p '%s' -n 24 --temp 0 -t 2 -c 256 --json 2>/dev/null", HEARTH_BIN, MODEL,
             prompt);
    FILE *f = popen(cmd, "r");
    char out[8192] = {0};
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    if (f) pclose(f);
    out[n] = 0;
    cJSON *run = cJSON_Parse(out);
    const char *want = jstr(run, "text");
    CHECK_MSG(want != NULL, "hearth run --json gave: %s", out);
    if (!want) want = "";
    char body[512];
    snprintf(body, sizeof body, "{\"model\":\"lic\",\"prompt\":\"%s\",\"max_tokens\":24,\"temperature\":0}", prompt);
    int st;
    cJSON *j = post_json("/v1/completions", body, &st);
    CHECK_EQ_INT(st, 200);
    const char *got = jstr(j, "choices.0.text");
    CHECK_MSG(got && !strcmp(got, want), "API: [%s]\nrun: [%s]", got ? got : "(null)", want);
    CHECK_EQ_INT(jnum(j, "usage", "completion_tokens"), 24);
    CHECK_EQ_INT(jnum(j, "usage", "total_tokens"), jnum(j, "usage", "prompt_tokens") + 24);
    cJSON_Delete(j);
    cJSON_Delete(run);
}

TEST(chat_non_streaming) {
    int st;
    cJSON *j = post_json("/v1/chat/completions",
                         "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":"
                         "\"What is a license?\"}],\"max_tokens\":12,\"temperature\":0.7,\"seed\":5,\"n\":2,"
                         "\"logprobs\":true,\"top_logprobs\":3}",
                         &st);
    CHECK_EQ_INT(st, 200);
    CHECK(jstr(j, "object") && !strcmp(jstr(j, "object"), "chat.completion"));
    CHECK(jstr(j, "choices.0.message.role") && !strcmp(jstr(j, "choices.0.message.role"), "assistant"));
    CHECK(jstr(j, "choices.1.message.content") != NULL);
    const cJSON *lp = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
                                                              "logprobs"), "content");
    CHECK(cJSON_GetArraySize(lp) > 0);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(lp, 0), "top_logprobs")), 3);
    double pt = jnum(j, "usage", "prompt_tokens"), ct = jnum(j, "usage", "completion_tokens");
    CHECK(pt > 0 && ct > 0 && ct <= 24);
    CHECK_EQ_INT(jnum(j, "usage", "total_tokens"), pt + ct);
    cJSON_Delete(j);
}

TEST(chat_streaming) {
    int fd = http_connect(port, 60);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(http_send(fd, "POST", "/v1/chat/completions",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about licenses\"}],\"max_tokens\":24,"
                    "\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"));
    /* the first events come before the stream is over */
    char buf[1 << 16];
    size_t len = 0;
    bool early = false;
    for (;;) {
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
        buf[len] = 0;
        if (!early && strstr(buf, "data: {")) {
            early = true;
            CHECK_MSG(!strstr(buf, "[DONE]"), "the first event came with the end of the stream");
        }
    }
    close(fd);
    CHECK(early);
    CHECK(strstr(buf, "text/event-stream") != NULL);
    CHECK(strstr(buf, "chat.completion.chunk") != NULL);
    CHECK(strstr(buf, "\"finish_reason\":\"length\"") != NULL);
    CHECK(strstr(buf, "\"usage\":{\"prompt_tokens\"") != NULL);
    CHECK(strstr(buf, "data: [DONE]") != NULL);
}

TEST(embeddings) {
    int st;
    cJSON *j = post_json("/v1/embeddings", "{\"model\":\"lic\",\"input\":[\"the license\",\"the license\",\"patents\"]}",
                         &st);
    CHECK_EQ_INT(st, 200);
    const cJSON *data = cJSON_GetObjectItem(j, "data");
    CHECK_EQ_INT(cJSON_GetArraySize(data), 3);
    const cJSON *e0 = cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "embedding");
    const cJSON *e1 = cJSON_GetObjectItem(cJSON_GetArrayItem(data, 1), "embedding");
    const cJSON *e2 = cJSON_GetObjectItem(cJSON_GetArrayItem(data, 2), "embedding");
    int d = cJSON_GetArraySize(e0);
    CHECK(d > 0 && d == cJSON_GetArraySize(e2));
    double norm = 0, diff01 = 0, diff02 = 0;
    for (int i = 0; i < d; i++) {
        double a = cJSON_GetArrayItem(e0, i)->valuedouble;
        norm += a * a;
        diff01 += fabs(a - cJSON_GetArrayItem(e1, i)->valuedouble);
        diff02 += fabs(a - cJSON_GetArrayItem(e2, i)->valuedouble);
    }
    CHECK_NEAR(norm, 1.0, 1e-4);
    CHECK(diff01 < 1e-6);
    CHECK(diff02 > 1e-3);
    CHECK(jnum(j, "usage", "prompt_tokens") > 0);
    cJSON_Delete(j);
    j = post_json("/v1/embeddings", "{\"input\":\"patents\",\"encoding_format\":\"base64\"}", &st);
    CHECK_EQ_INT(st, 200);
    const char *b = jstr(j, "data.0.embedding");
    CHECK_MSG(b && strlen(b) == (size_t)((d * 4 + 2) / 3 * 4), "base64 of %d floats: %zu chars", d, b ? strlen(b) : 0);
    cJSON_Delete(j);
}

TEST(metrics_format) {
    http_resp r;
    CHECK(http_do(port, "GET", "/metrics", NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.head, "text/plain") != NULL);
    const char *fams[] = {"hearth_requests_total counter", "hearth_time_to_first_token_seconds histogram",
                          "hearth_request_duration_seconds histogram", "hearth_queue_depth gauge",
                          "hearth_slots_busy gauge", "hearth_kv_cache_used_tokens gauge",
                          "hearth_generated_tokens_total counter"};
    for (size_t i = 0; i < sizeof fams / sizeof *fams; i++) {
        char want[128];
        snprintf(want, sizeof want, "# TYPE %s\n", fams[i]);
        CHECK_MSG(strstr(r.body, want) != NULL, "missing %s", want);
    }
    /* every sample line: name{labels} value */
    int bad = 0, samples = 0;
    for (char *line = strtok(r.body, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        samples++;
        char *sp = strrchr(line, ' ');
        char *end;
        if (!sp || (strtod(sp + 1, &end), *end != 0)) bad++;
        for (char *p = line; p < sp && *p != '{'; p++)
            if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) bad++;
    }
    CHECK(samples > 10);
    CHECK_EQ_INT(bad, 0);
    http_resp_free(&r);
    /* Prometheus' own linter, when installed (Debian: prometheus) */
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  promtool not found: `promtool check metrics` skipped (apt-get install prometheus)\n");
        return;
    }
    CHECK(http_do(port, "GET", "/metrics", NULL, &r));
    char path[64];
    snprintf(path, sizeof path, "/tmp/hearth-test-metrics-%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fputs(r.body, f), fclose(f);
    http_resp_free(&r);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 1>&2", path);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "promtool check metrics flagged the /metrics output (exit %d)", rc);
    unlink(path);
}

/* ==== JSON mode ============================================================= */
TEST(json_mode) {
    /* three sampled choices (seeds 1, 2, 3) decoded together */
    int st;
    cJSON *j = post_json("/v1/chat/completions",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"Reply in JSON\"}],\"max_tokens\":60,"
                         "\"seed\":1,\"n\":3,\"temperature\":0.8,\"response_format\":{\"type\":\"json_object\"}}",
                         &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "choices")), 3);
    for (int c = 0; c < 3; c++) {
        char p1[64], p2[64];
        snprintf(p1, sizeof p1, "choices.%d.message.content", c);
        snprintf(p2, sizeof p2, "choices.%d.finish_reason", c);
        const char *text = jstr(j, p1), *fin = jstr(j, p2);
        CHECK(text && fin);
        if (!text || !fin) continue;
        hearth_constraint *v = NULL;
        CHECK(hearth_constraint_json_object(&v) == HEARTH_OK);
        CHECK_MSG(hearth_constraint_allows(v, text, strlen(text)), "not a JSON prefix: %s", text);
        hearth_constraint_free(v);
        if (!strcmp(fin, "stop")) {
            cJSON *o = cJSON_Parse(text);
            CHECK_MSG(o && cJSON_IsObject(o), "finished but not a JSON object: %s", text);
            cJSON_Delete(o);
        }
    }
    cJSON_Delete(j);
}

/* ==== errors ================================================================== */
static void check_error(const char *path, const char *body, int want_status, const char *want_param) {
    int st;
    cJSON *j = post_json(path, body, &st);
    CHECK_MSG(st == want_status, "%s %s: status %d, want %d", path, body, st, want_status);
    const char *msg = jstr(j, "error.message"), *type = jstr(j, "error.type");
    CHECK_MSG(msg && *msg && type, "%s: no OpenAI-shaped error", body);
    if (want_param) {
        const char *p = jstr(j, "error.param");
        CHECK_MSG(p && !strcmp(p, want_param), "%s: param %s, want %s", body, p ? p : "null", want_param);
    }
    cJSON_Delete(j);
}

TEST(errors) {
    check_error("/v1/chat/completions", "{\"messages\": [", 400, NULL);
    check_error("/v1/chat/completions", "[1,2]", 400, NULL);
    check_error("/v1/chat/completions", "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                404, "model");
    check_error("/v1/chat/completions", "{}", 400, "messages");
    check_error("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}",
                400, "temperature");
    check_error("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", 400,
                "max_tokens");
    check_error("/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", 400,
                "messages[0].role");
    check_error("/v1/completions", "{\"prompt\":\"x\",\"logit_bias\":{\"abc\":1}}", 400, "logit_bias");
    check_error("/v1/completions", "{\"prompt\":\"x\",\"stop\":[1]}", 400, "stop");
    check_error("/v1/embeddings", "{\"input\":[]}", 400, "input");
    check_error("/v1/chat/completions", "{\"model\":\"lic+none\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                404, "model");
    /* a body over --max-body (1 MiB here) */
    size_t n = 3u << 20;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = 0;
    memcpy(big, "{\"prompt\":\"", 11);
    http_resp r;
    CHECK(http_do(port, "POST", "/v1/completions", big, &r));
    CHECK_EQ_INT(r.status, 413);
    CHECK(r.body && strstr(r.body, "\"error\"") != NULL);
    http_resp_free(&r);
    free(big);
}

/* ==== slow and vanishing clients ==================================================== */
static void *slowloris(void *arg) {
    int *closed_after = arg;
    int fd = http_connect(port, 30);
    const char *req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i < strlen(req) && i < 6; i++) {
        send_all(fd, req + i, 1);
        usleep(500000);
    }
    /* then silence: the idle timeout (2 s) must close the connection */
    double t0 = now_s();
    char c;
    ssize_t r = recv(fd, &c, 1, 0);
    *closed_after = r == 0 || r < 0 ? (int)(now_s() - t0 + 0.5) : -1;
    close(fd);
    return NULL;
}

/* the slowloris client runs on through the thousand requests below; its
 * thread is joined (and the idle cut checked) after them */
static pthread_t slow_th;
static int slow_closed_after = -2;
TEST(slow_client) {
    pthread_create(&slow_th, NULL, slowloris, &slow_closed_after);
    usleep(200000);
    for (int i = 0; i < 5; i++) {   /* others are served meanwhile */
        int st;
        cJSON *j = post_json("/v1/completions", "{\"prompt\":\"The\",\"max_tokens\":4}", &st);
        CHECK_EQ_INT(st, 200);
        cJSON_Delete(j);
    }
}

TEST(slow_client_cut) {
    pthread_join(slow_th, NULL);
    CHECK_MSG(slow_closed_after >= 0 && slow_closed_after <= 10, "slow connection closed after %d s",
              slow_closed_after);
}

static long server_rss_kb(void) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)server_pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static long metric(const char *name) {
    http_resp r;
    long v = -1;
    if (!http_do(port, "GET", "/metrics", NULL, &r)) return -1;
    char want[128];
    snprintf(want, sizeof want, "\n%s ", name);
    char *at = strstr(r.body, want);
    if (at) v = atol(at + strlen(want));
    http_resp_free(&r);
    return v;
}

typedef struct churn_arg { unsigned seed; int n; } churn_arg;
static void *churn(void *arg) {
    churn_arg *a = arg;
    unsigned seed = a->seed;
    for (int i = 0; i < a->n; i++) {
        int kind = rand_r(&seed) % 4;
        int fd = http_connect(port, 30);
        if (fd < 0) continue;
        const char *body = kind == 0 ? "{\"prompt\":\"Licensor\",\"max_tokens\":3}"
                                     : "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":12,"
                                       "\"stream\":true}";
        http_send(fd, "POST", kind == 0 ? "/v1/completions" : "/v1/chat/completions", body);
        if (kind == 0 || kind == 3) {   /* read it all */
            http_resp r;
            if (http_read(fd, &r)) http_resp_free(&r);
        } else if (kind == 1) {         /* read a little, then vanish */
            char buf[512];
            recv(fd, buf, sizeof buf, 0);
        }                               /* kind 2: vanish at once */
        close(fd);
    }
    return NULL;
}

/* n requests from 4 concurrent clients */
static void churn_par(unsigned seed0, int n) {
    pthread_t th[4];
    churn_arg a[4];
    for (int i = 0; i < 4; i++) a[i] = (churn_arg){seed0 + (unsigned)i, n / 4};
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, churn, &a[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
}

TEST(thousand_requests_with_disconnects) {
    churn_par(99, 200);   /* warm-up: 200 requests (allocations reach their steady state) */
    long rss0 = server_rss_kb();
    churn_par(1, 800);
    long busy = -1, queued = -1;
    for (int i = 0; i < 100 && (busy != 0 || queued != 0); i++) {
        busy = metric("hearth_slots_busy");
        queued = metric("hearth_queue_depth");
        if (busy || queued) usleep(100000);
    }
    CHECK_EQ_INT(busy, 0);
    CHECK_EQ_INT(queued, 0);
    long rss1 = server_rss_kb();
    CHECK_MSG(rss0 > 0 && rss1 - rss0 < 64 * 1024, "RSS %ld kB -> %ld kB", rss0, rss1);
    int st;
    cJSON *j = post_json("/v1/completions", "{\"prompt\":\"The\",\"max_tokens\":2}", &st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);
}

/* RUN with its wall time on stderr (where this test spends its time) */
#define RUN_T(name)                                                         \
    do {                                                                    \
        double t0_ = now_s();                                               \
        RUN(name);                                                          \
        fprintf(stderr, "  (%s: %.1f s)\n", #name, now_s() - t0_);          \
    } while (0)

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *args[] = {"--model", "lic=" MODEL, "-t", "2", "--parallel", "4", "--timeout", "2", "--max-body",
                          "1048576", NULL};
    port = start_server(HEARTH_BIN, args, &server_pid);
    if (port <= 0) {
        fprintf(stderr, "the server did not start\n");
        return 1;
    }
    RUN_T(health_models);
    RUN_T(greedy_equals_run);
    RUN_T(chat_non_streaming);
    RUN_T(chat_streaming);
    RUN_T(embeddings);
    RUN_T(json_mode);
    RUN_T(errors);
    RUN_T(slow_client);
    RUN_T(thousand_requests_with_disconnects);
    RUN_T(slow_client_cut);
    RUN_T(metrics_format);
    kill(server_pid, SIGTERM);
    int status = 0;
    waitpid(server_pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server exit status %d", status);
    return harness_done();
}
