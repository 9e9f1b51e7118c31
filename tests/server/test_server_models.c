/*
 * test_server_models.c — `hearth serve` with several models and an adapter:
 *   - a LoRA adapter made here with the adapter API (random A, nonzero B,
 *     scale large enough to change greedy output) on tiny-llama-spm, served
 *     with --lora: /v1/models lists "tiny+ad"; greedy output through the API
 *     for "tiny+ad" equals `hearth run --temp 0 --lora` and differs from the
 *     base's; base and adapter requests decoded together in one batch give
 *     the same texts as alone; a base request after the adapter's filled
 *     every slot's cache with the same prompt still gets the base's text
 *     (cached prefixes never cross adapters);
 *   - an adapter whose shapes fit no served model: the server exits non-zero
 *     with a message naming the adapter;
 *   - a BERT encoder served with --model: /v1/embeddings equals
 *     `hearth embed --json` (cosine >= 0.9999) with usage.prompt_tokens the
 *     tokenizer's count; chat/completions on it -> 400 saying it is an
 *     embedding model; a llama model's embeddings equal `hearth embed` too;
 *   - a 1-slot server with a queue of 1 answers 429 to the extra streams and,
 *     on SIGTERM during a stream, finishes it with [DONE] and exits 0.
 */
#include "harness.h"

#include "http_client.h"
#include "lora_maker.h"
#include "hearth/adapter.h"
#include "hearth/gguf.h"
#include "hearth/tokenizer.h"

#include <cjson/cJSON.h>
#include <pthread.h>

#define TINY HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"
#define LIC HEARTH_TEST_DATA "/models/licenses-llama-f16.gguf"
#define BERT HEARTH_TEST_DATA "/embed/tiny-bert-bge-mean-f16.gguf"

static int port;
static char adapter_path[256];

/* the JSON helpers of http_client.h, on this test's server */
#define post_json(path, body, status) http_post_json(port, (path), (body), (status))
#define jstr(o, path) json_path_str((o), (path))


/* ==== generation with an adapter ================================================ */
static const char *PROMPT = "Hello world, this is";

static char *api_greedy(const char *model, const char *prompt) {
    char body[512];
    snprintf(body, sizeof body, "{\"model\":\"%s\",\"prompt\":\"%s\",\"max_tokens\":16,\"temperature\":0}", model,
             prompt);
    int st;
    cJSON *j = post_json("/v1/completions", body, &st);
    const char *t = st == 200 ? jstr(j, "choices.0.text") : NULL;
    if (!t) fprintf(stderr, "%s: status %d\n", model, st);
    char *out = strdup(t ? t : "(error)");
    cJSON_Delete(j);
    return out;
}

static char *run_greedy(const char *lora) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s run -m %s -p '%s' -n 16 --temp 0 -t 1 -c 256 %s%s --json 2>/dev/null", HEARTH_BIN,
             TINY, PROMPT, lora ? "--lora " : "", lora ? lora : "");
    char *out = cmd_output(cmd);
    cJSON *j = cJSON_Parse(out);
    const char *t = jstr(j, "text");
    char *r = strdup(t ? t : "(hearth run failed)");
    if (!t) fprintf(stderr, "hearth run gave: %.300s\n", out);
    cJSON_Delete(j);
    free(out);
    return r;
}

typedef struct { const char *model; char *text; } greedy_job;
static void *greedy_thread(void *arg) {
    greedy_job *g = arg;
    g->text = api_greedy(g->model, PROMPT);
    return NULL;
}

TEST(models_listed) {
    http_resp r;
    CHECK(http_do(port, "GET", "/v1/models", NULL, &r));
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "\"id\":\"tiny\"") && strstr(r.body, "\"id\":\"tiny+ad\"") &&
          strstr(r.body, "\"id\":\"bge\""));
    CHECK_MSG(r.body && !strstr(r.body, "bge+ad"), "an encoder listed with an adapter: %s", r.body);
    http_resp_free(&r);
}

TEST(adapter_greedy_equals_run) {
    char *run_base = run_greedy(NULL), *run_ad = run_greedy(adapter_path);
    char *api_base = api_greedy("tiny", PROMPT), *api_ad = api_greedy("tiny+ad", PROMPT);
    CHECK_MSG(!strcmp(api_base, run_base), "base: API [%s] run [%s]", api_base, run_base);
    CHECK_MSG(!strcmp(api_ad, run_ad), "adapter: API [%s] run --lora [%s]", api_ad, run_ad);
    CHECK_MSG(strcmp(api_ad, api_base) != 0, "the adapter did not change the greedy text [%s]", api_ad);

    /* base and adapter sequences in the same batched steps, twice each:
     * both slots then hold the adapter's cache of the prompt at some point */
    greedy_job g[4] = {{"tiny+ad", NULL}, {"tiny", NULL}, {"tiny+ad", NULL}, {"tiny", NULL}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, greedy_thread, &g[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        const char *want = i % 2 ? run_base : run_ad;
        CHECK_MSG(!strcmp(g[i].text, want), "batched %s: [%s], want [%s]", g[i].model, g[i].text, want);
        free(g[i].text);
    }
    /* every slot's cache holds the prompt under the adapter; the base must
     * not reuse it */
    greedy_job h[2] = {{"tiny+ad", NULL}, {"tiny+ad", NULL}};
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, greedy_thread, &h[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) free(h[i].text);
    char *again = api_greedy("tiny", PROMPT);
    CHECK_MSG(!strcmp(again, run_base), "base after adapter caches: [%s], want [%s]", again, run_base);
    free(again);
    free(run_base), free(run_ad), free(api_base), free(api_ad);
}

/* ==== embeddings ================================================================== */
static double cosine_vs_cli(const char *model, const char *path, const char *text, int *prompt_tokens) {
    char body[512];
    snprintf(body, sizeof body, "{\"model\":\"%s\",\"input\":\"%s\"}", model, text);
    int st;
    cJSON *j = post_json("/v1/embeddings", body, &st);
    CHECK_EQ_INT(st, 200);
    const cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "prompt_tokens");
    *prompt_tokens = cJSON_IsNumber(u) ? u->valueint : -1;
    const cJSON *api = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "embedding");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s embed -m %s -p '%s' -t 1 --json 2>/dev/null", HEARTH_BIN, path, text);
    char *out = cmd_output(cmd);
    cJSON *c = cJSON_Parse(out);
    const cJSON *cli = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "data"), 0), "embedding");
    int n = cJSON_GetArraySize(api);
    CHECK_MSG(n > 0 && n == cJSON_GetArraySize(cli), "%s: API %d floats, CLI %d (%.200s)", model, n,
              cJSON_GetArraySize(cli), out);
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < n && n == cJSON_GetArraySize(cli); i++) {
        double a = cJSON_GetArrayItem(api, i)->valuedouble, b = cJSON_GetArrayItem(cli, i)->valuedouble;
        dot += a * b, na += a * a, nb += b * b;
    }
    cJSON_Delete(c);
    cJSON_Delete(j);
    free(out);
    return na > 0 && nb > 0 ? dot / sqrt(na * nb) : 0;
}

static int count_tokens(const char *path, const char *text) {
    hearth_model *m = NULL;
    hearth_model_params mp = hearth_model_default_params();
    mp.vocab_only = true;
    if (hearth_model_load(path, &mp, &m) != HEARTH_OK) return -1;
    hearth_tokenize_params tp = hearth_tokenize_default_params();
    int32_t *ids = NULL;
    size_t n = 0;
    int r = hearth_tokenize(hearth_model_vocab(m), text, strlen(text), &tp, &ids, &n) == HEARTH_OK ? (int)n : -1;
    free(ids);
    hearth_model_free(m);
    return r;
}

TEST(embeddings_bert_and_llama) {
    const char *text = "the quick brown fox";
    int pt = 0;
    double cs = cosine_vs_cli("bge", BERT, text, &pt);
    CHECK_MSG(cs >= 0.9999, "BERT: cosine(API, hearth embed) = %.6f", cs);
    int want = count_tokens(BERT, text);
    CHECK_MSG(want > 2 && pt == want, "BERT usage.prompt_tokens %d, tokenizer %d", pt, want);
    cs = cosine_vs_cli("tiny", TINY, text, &pt);
    CHECK_MSG(cs >= 0.9999, "llama: cosine(API, hearth embed) = %.6f", cs);
    want = count_tokens(TINY, text);
    CHECK_MSG(want > 1 && pt == want, "llama usage.prompt_tokens %d, tokenizer %d", pt, want);
    /* token ids as given: usage counts them */
    int st;
    cJSON *j = post_json("/v1/embeddings", "{\"model\":\"bge\",\"input\":[[101,2000,2001,102]]}", &st);
    CHECK_EQ_INT(st, 200);
    const cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "prompt_tokens");
    CHECK(cJSON_IsNumber(u) && u->valueint == 4);
    cJSON_Delete(j);
}

TEST(encoder_refuses_generation) {
    int st;
    cJSON *j = post_json("/v1/chat/completions", "{\"model\":\"bge\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                         &st);
    CHECK_EQ_INT(st, 400);
    const char *msg = jstr(j, "error.message");
    CHECK_MSG(msg && strstr(msg, "embedding model"), "message: %s", msg ? msg : "(none)");
    cJSON_Delete(j);
    j = post_json("/v1/completions", "{\"model\":\"bge\",\"prompt\":\"x\"}", &st);
    CHECK_EQ_INT(st, 400);
    cJSON_Delete(j);
    /* an adapter on embeddings, or on a model it does not fit */
    j = post_json("/v1/embeddings", "{\"model\":\"tiny+ad\",\"input\":\"x\"}", &st);
    CHECK_EQ_INT(st, 400);
    cJSON_Delete(j);
    j = post_json("/v1/embeddings", "{\"model\":\"bge+ad\",\"input\":\"x\"}", &st);
    CHECK_EQ_INT(st, 404);
    cJSON_Delete(j);
}

/* ==== an adapter that fits no model: startup fails ================================ */
TEST(adapter_shape_mismatch_at_startup) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s serve --model lic=%s --lora ad=%s --port 0 2>&1; echo \"exit=$?\"", HEARTH_BIN, LIC,
             adapter_path);
    char *out = cmd_output(cmd);
    CHECK_MSG(strstr(out, "exit=0") == NULL && strstr(out, "exit=") != NULL, "exit: %s", out);
    CHECK_MSG(strstr(out, "'ad'") && strstr(out, "fits no served model") && !strstr(out, "listening"),
              "message: %s", out);
    free(out);
}

/* ==== a full queue, then SIGTERM (a second server: 1 slot, queue of 1) ============== */
static int port2;
static void *long_stream(void *arg) {
    int *ok = arg;
    int fd = http_connect(port2, 60);
    http_send(fd, "POST", "/v1/completions", "{\"prompt\":\"The\",\"max_tokens\":200,\"stream\":true}");
    http_resp r;
    *ok = http_read(fd, &r) ? (r.status == 200 ? 1 + (strstr(r.body, "data: [DONE]") != NULL) : 10 + r.status) : -1;
    if (r.head) http_resp_free(&r);
    close(fd);
    return NULL;
}

TEST(queue_full_and_sigterm) {
    const char *args[] = {"-m", LIC, "-t", "1", "--parallel", "1", "--queue", "1", "--drain", "30", NULL};
    pid_t pid;
    port2 = start_server(HEARTH_BIN, args, &pid);
    CHECK(port2 > 0);
    if (port2 <= 0) return;
    pthread_t th[4];
    int res[4] = {0};
    for (int i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, long_stream, &res[i]);
        usleep(100000);
    }
    usleep(300000);
    kill(pid, SIGTERM);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    int done = 0, rejected = 0;
    for (int i = 0; i < 4; i++) {
        if (res[i] == 2) done++;
        if (res[i] == 10 + 429) rejected++;
    }
    CHECK_MSG(done >= 1, "no stream ended with [DONE] (%d %d %d %d)", res[0], res[1], res[2], res[3]);
    CHECK_MSG(rejected >= 1, "no 429 from a full queue (%d %d %d %d)", res[0], res[1], res[2], res[3]);
    int status = 0;
    double t0 = now_s();
    pid_t w = 0;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_s() - t0 < 60) usleep(50000);
    CHECK_MSG(w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "server exit status %d", status);
    if (w != pid) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    snprintf(adapter_path, sizeof adapter_path, "/tmp/hearth-test-serve-lora-%d.gguf", (int)getpid());
    if (!make_adapter(TINY, adapter_path, 0x9E3779B97F4A7C15ull)) return 1;
    char lora[300];
    snprintf(lora, sizeof lora, "ad=%s", adapter_path);
    const char *args[] = {"--model", "tiny=" TINY, "--model", "bge=" BERT, "--lora", lora, "-t", "1", "--parallel",
                          "2", "--ctx-per-seq", "256", NULL};
    pid_t pid;
    port = start_server(HEARTH_BIN, args, &pid);
    if (port <= 0) {
        fprintf(stderr, "the server did not start\n");
        unlink(adapter_path);
        return 1;
    }
    RUN(models_listed);
    RUN(adapter_greedy_equals_run);
    RUN(embeddings_bert_and_llama);
    RUN(encoder_refuses_generation);
    RUN(adapter_shape_mismatch_at_startup);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server exit status %d", status);
    RUN(queue_full_and_sigterm);
    if (getenv("HEARTH_KEEP")) fprintf(stderr, "adapter kept: %s\n", adapter_path);
    else unlink(adapter_path);
    return harness_done();
}
