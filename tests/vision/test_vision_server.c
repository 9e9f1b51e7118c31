/*
 * test_vision_server.c — images through `hearth serve` (127.0.0.1, a free
 * port, started and stopped here): the tiny LLaVA pair (tiny-llama +
 * tiny-mmproj) as "llava", the same language model without an encoder as
 * "plain".
 *   - a chat message with an image_url part (data URL) answers what
 *     `hearth chat --mmproj` answers with /image (greedy), usage counting
 *     the image's positions;
 *   - image and text requests at the same time (batched by the scheduler)
 *     all complete;
 *   - /v1/embeddings with an image input: the mean of `hearth embed --mmproj
 *     --image` rows, normalized; "pooling":"none": those rows;
 *   - 400s with a message: a remote URL, bad base64, a corrupt image, two
 *     images, an image to the model without an encoder.
 */
#include "harness.h"

#include "http_client.h"
#include "core/buf.h"
#include "hearth/core.h"

#include <cjson/cJSON.h>
#include <pthread.h>

#define DATA HEARTH_TEST_DATA "/vision/"
#define LM HEARTH_TEST_DATA "/models/tiny-llama-spm-f16.gguf"
#define MMPROJ DATA "tiny-mmproj-224-p14-f16.gguf"

static int port;
static pid_t server_pid;

static char *data_url(const char *path, size_t cut) {
    char *bytes = NULL;
    size_t n = 0;
    if (hearth_read_file(path, &bytes, &n)) return NULL;
    if (cut && cut < n) n = cut;
    static const char *A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(32 + (n + 2) / 3 * 4 + 1);
    size_t k = (size_t)sprintf(out, "data:image/png;base64,");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint8_t)bytes[i] << 16 | (i + 1 < n ? (uint8_t)bytes[i + 1] << 8 : 0) | (i + 2 < n ? (uint8_t)bytes[i + 2] : 0);
        out[k++] = A[v >> 18 & 63], out[k++] = A[v >> 12 & 63];
        out[k++] = i + 1 < n ? A[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? A[v & 63] : '=';
    }
    out[k] = 0;
    free(bytes);
    return out;
}

/* a chat request body: [image part(s), text part] */
static char *chat_body(const char *model, const char *url, const char *url2, const char *text, int max_tokens) {
    cJSON *req = cJSON_CreateObject(), *msgs = cJSON_AddArrayToObject(req, "messages"), *m = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", model);
    cJSON_AddNumberToObject(req, "temperature", 0);
    cJSON_AddNumberToObject(req, "max_tokens", max_tokens);
    cJSON_AddItemToArray(msgs, m);
    cJSON_AddStringToObject(m, "role", "user");
    cJSON *content = cJSON_AddArrayToObject(m, "content");
    const char *urls[2] = {url, url2};
    for (int i = 0; i < 2; i++) {
        if (!urls[i]) continue;
        cJSON *p = cJSON_CreateObject(), *iu = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "image_url");
        cJSON_AddStringToObject(iu, "url", urls[i]);
        cJSON_AddItemToObject(p, "image_url", iu);
        cJSON_AddItemToArray(content, p);
    }
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "type", "text");
    cJSON_AddStringToObject(t, "text", text);
    cJSON_AddItemToArray(content, t);
    char *s = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    return s;
}

static char *run_cmd(const char *cmd) {
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    for (size_t r; p && (r = fread(out + n, 1, cap - n - 1, p)) > 0;) {
        n += r;
        if (n + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    if (p) pclose(p);
    return out;
}

static char *chelsea, *camera;

TEST(chat_with_image) {
    char *body = chat_body("llava", chelsea, NULL, "\nDescribe the picture.", 8);
    int st;
    cJSON *r = http_post_json(port, "/v1/chat/completions", body, &st);
    CHECK_EQ_INT(st, 200);
    const char *got = json_path_str(r, "choices.0.message.content");
    /* the same conversation through hearth chat's /image */
    char *cli = run_cmd("printf '/image " DATA "chelsea.png\\nDescribe the picture.\\n' | " HEARTH_BIN
                        " chat -m " LM " --mmproj " MMPROJ " --temp 0 -n 8 -t 2 2>/dev/null");
    char *nl = strchr(cli, '\n');
    if (nl) *nl = 0;
    CHECK_STR(got, cli);
    const cJSON *usage = cJSON_GetObjectItem(r, "usage");
    CHECK(cJSON_GetObjectItem(usage, "prompt_tokens")->valueint > 256);   /* the image's 256 positions counted */
    free(cli);
    cJSON_Delete(r);
    free(body);
}

typedef struct req_arg {
    char *body;
    int status, n;
} req_arg;

static void *post(void *p) {
    req_arg *a = p;
    cJSON *r = http_post_json(port, "/v1/chat/completions", a->body, &a->status);
    const cJSON *u = cJSON_GetObjectItem(r, "usage");
    a->n = u ? cJSON_GetObjectItem(u, "completion_tokens")->valueint : -1;
    cJSON_Delete(r);
    return NULL;
}

TEST(images_and_text_together) {
    req_arg a[4] = {{chat_body("llava", chelsea, NULL, "What is it?", 6), 0, 0},
                    {chat_body("llava", camera, NULL, "And this?", 6), 0, 0},
                    {chat_body("llava", NULL, NULL, "Only text here.", 6), 0, 0},
                    {chat_body("llava", chelsea, NULL, "Again.", 6), 0, 0}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, post, &a[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(a[i].status, 200);
        CHECK_EQ_INT(a[i].n, 6);
        free(a[i].body);
    }
}

static float *floats(const cJSON *arr, int *n) {
    *n = cJSON_GetArraySize(arr);
    float *f = malloc(sizeof *f * (*n ? *n : 1));
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) f[i++] = (float)x->valuedouble;
    return f;
}

TEST(image_embeddings) {
    char *cli = run_cmd(HEARTH_BIN " embed --mmproj " MMPROJ " --image " DATA "chelsea.png --json -t 2");
    cJSON *c = cJSON_Parse(cli);
    CHECK(c != NULL);
    if (!c) return;
    int nt = cJSON_GetObjectItem(c, "n_tokens")->valueint, ne = cJSON_GetObjectItem(c, "n_embd")->valueint, nr;
    float *rows = floats(cJSON_GetObjectItem(c, "embedding"), &nr);
    CHECK_EQ_INT(nr, nt * ne);
    /* pooled: mean of the rows, L2-normalized */
    double *mean = calloc((size_t)ne, sizeof *mean), norm = 0;
    for (int d = 0; d < ne; d++) {
        for (int t = 0; t < nt; t++) mean[d] += rows[(size_t)t * ne + d];
        mean[d] /= nt;
        norm += mean[d] * mean[d];
    }
    hearth_buf b = {0};
    hearth_buf_printf(&b, "{\"model\":\"llava\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"}}]}", chelsea);
    int st, n;
    cJSON *r = http_post_json(port, "/v1/embeddings", b.data, &st);
    CHECK_EQ_INT(st, 200);
    float *v = floats(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "data"), 0), "embedding"), &n);
    CHECK_EQ_INT(n, ne);
    double maxd = 0;
    for (int d = 0; d < ne && n == ne; d++) maxd = fmax(maxd, fabs(v[d] - mean[d] / sqrt(norm)));
    CHECK_MSG(maxd < 1e-5, "pooled image embedding differs from the CLI's rows by %g", maxd);
    free(v);
    cJSON_Delete(r);
    /* pooling none: every row */
    hearth_buf_free(&b);
    hearth_buf_printf(&b,
                      "{\"model\":\"llava\",\"pooling\":\"none\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"}}]}",
                      chelsea);
    r = http_post_json(port, "/v1/embeddings", b.data, &st);
    CHECK_EQ_INT(st, 200);
    v = floats(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "data"), 0), "embedding"), &n);
    CHECK_EQ_INT(n, nt * ne);
    maxd = 0;
    for (int i = 0; i < n && n == nt * ne; i++) maxd = fmax(maxd, fabs(v[i] - rows[i]));
    CHECK_MSG(maxd < 1e-4, "image rows differ from the CLI's by %g", maxd);
    free(v);
    cJSON_Delete(r);
    /* pooling none with a text input is refused */
    r = http_post_json(port, "/v1/embeddings", "{\"model\":\"llava\",\"pooling\":\"none\",\"input\":\"text\"}", &st);
    CHECK_EQ_INT(st, 400);
    cJSON_Delete(r);
    hearth_buf_free(&b);
    free(mean);
    free(rows);
    cJSON_Delete(c);
    free(cli);
}

static void expect_400(const char *body, const char *needle) {
    int st;
    cJSON *r = http_post_json(port, strstr(body, "\"input\"") ? "/v1/embeddings" : "/v1/chat/completions", body, &st);
    CHECK_EQ_INT(st, 400);
    const char *msg = json_path_str(r, "error.message");
    CHECK_MSG(msg && strstr(msg, needle), "expected '%s' in: %s", needle, msg ? msg : "(none)");
    cJSON_Delete(r);
}

TEST(bad_images) {
    char *b = chat_body("llava", "https://example.com/cat.png", NULL, "x", 4);
    expect_400(b, "does not download");
    free(b);
    b = chat_body("llava", "data:image/png;base64,@@@@", NULL, "x", 4);
    expect_400(b, "base64");
    free(b);
    char *cut = data_url(DATA "chelsea.png", 5000);   /* a truncated PNG */
    b = chat_body("llava", cut, NULL, "x", 4);
    expect_400(b, "PNG image");
    free(b);
    free(cut);
    b = chat_body("llava", chelsea, camera, "x", 4);
    expect_400(b, "one image per request");
    free(b);
    b = chat_body("plain", chelsea, NULL, "x", 4);
    expect_400(b, "no image encoder");
    free(b);
    hearth_buf e = {0};
    hearth_buf_printf(&e, "{\"model\":\"plain\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"}}]}", camera);
    expect_400(e.data, "no image encoder");
    hearth_buf_free(&e);
    /* the server still answers */
    b = chat_body("llava", camera, NULL, "x", 2);
    int st;
    cJSON *r = http_post_json(port, "/v1/chat/completions", b, &st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(r);
    free(b);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    chelsea = data_url(DATA "chelsea.png", 0);
    camera = data_url(DATA "camera-160.png", 0);
    const char *args[] = {"--model", "llava=" LM, "--model", "plain=" LM, "--mmproj", "llava=" MMPROJ, "-t", "2",
                          "--parallel", "4", "--max-body", "4194304", NULL};
    port = start_server(HEARTH_BIN, args, &server_pid);
    if (port <= 0) {
        fprintf(stderr, "the server did not start\n");
        return 1;
    }
    RUN(chat_with_image);
    RUN(images_and_text_together);
    RUN(image_embeddings);
    RUN(bad_images);
    kill(server_pid, SIGTERM);
    int status = 0;
    waitpid(server_pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server exit status %d", status);
    free(chelsea);
    free(camera);
    return harness_done();
}
