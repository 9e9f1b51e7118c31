/*
 * test_vision_serve.c — a classifier trained from a folder of class folders
 * (`hearth vision train --data DIR`) and served by `hearth serve
 * --classifier`: POST /v1/images/classify with the PNG's bytes or with JSON
 * base64 answers the class; a corrupt image is a 400 with a message; an
 * empty class folder stops training with an error naming it.
 */
#include "harness.h"
#include "../server/http_client.h"

#include <stdlib.h>

#define QDATA HEARTH_TEST_DATA "/qc/metal"
#define DEFAULT_MODEL HEARTH_TEST_DATA "/../../models/hearth-default.gguf"

static char tmpdir[256];

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64(const unsigned char *p, size_t n) {
    char *o = malloc(n / 3 * 4 + 8), *q = o;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *q++ = b64tab[v >> 18 & 63];
        *q++ = b64tab[v >> 12 & 63];
        *q++ = i + 1 < n ? b64tab[v >> 6 & 63] : '=';
        *q++ = i + 2 < n ? b64tab[v & 63] : '=';
    }
    *q = 0;
    return o;
}

static int post_bytes(int port, const char *ctype, const char *body, size_t n, http_resp *r) {
    int fd = http_connect(port, 30);
    if (fd < 0) return -1;
    char head[512];
    snprintf(head, sizeof head,
             "POST /v1/images/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: %s\r\n"
             "Content-Length: %zu\r\n\r\n",
             ctype, n);
    bool ok = send_all(fd, head, strlen(head)) && send_all(fd, body, n) && http_read(fd, r);
    close(fd);
    return ok ? r->status : -1;
}

TEST(folder_train_and_serve) {
    char cmd[4096], model[512], data[512];
    snprintf(data, sizeof data, "%s/parts", tmpdir);
    snprintf(model, sizeof model, "%s/parts.gguf", tmpdir);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/good %s/scratched %s/empty && cp %s/train/good/00[0-3]*.png %s/good/ && "
             "cp %s/test/bad/*.png %s/scratched/",
             data, data, data, QDATA, data, QDATA, data);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);
    /* an empty class folder is an error naming it */
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s vision train --data %s -o %s -q 2>&1", HEARTH_BIN, data, model);
    CHECK(harness_run(cmd, &out) != 0);
    CHECK_MSG(out && strstr(out, "empty") && strstr(out, "no images"), "%s", out ? out : "");
    free(out);
    snprintf(cmd, sizeof cmd, "rmdir %s/empty && %s vision train --data %s -o %s --arch conv8,bn,relu,pool,conv8,relu,gap,fc "
                              "--epochs 3 --batch 16 -q",
             data, HEARTH_BIN, data, model);
    CHECK_EQ_INT(harness_run(cmd, NULL), 0);

    pid_t pid = 0;
    const char *args[] = {"-m", DEFAULT_MODEL, "--classifier", model, NULL};
    int port = start_server(HEARTH_BIN, args, &pid);
    CHECK(port > 0);
    if (port <= 0) return;
    size_t n = 0;
    char *png = harness_read(QDATA "/test/good/0002.png", &n);
    http_resp r = {0};
    CHECK_EQ_INT(post_bytes(port, "image/png", png, n, &r), 200);
    cJSON *j = cJSON_Parse(r.body ? r.body : "");
    const cJSON *cls = cJSON_GetObjectItem(j, "class"), *p = cJSON_GetObjectItem(j, "p");
    CHECK_MSG(cJSON_IsString(cls) && (!strcmp(cls->valuestring, "good") || !strcmp(cls->valuestring, "scratched")),
              "%s", r.body ? r.body : "");
    CHECK(cJSON_IsNumber(p) && p->valuedouble >= 0.5 && p->valuedouble <= 1.0);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "top")), 2);
    cJSON_Delete(j);
    http_resp_free(&r);
    /* the same as JSON base64 (data URL) */
    char *enc = b64((unsigned char *)png, n);
    size_t blen = strlen(enc) + 64;
    char *body = malloc(blen);
    snprintf(body, blen, "{\"image\": \"data:image/png;base64,%s\", \"top\": 1}", enc);
    CHECK_EQ_INT(post_bytes(port, "application/json", body, strlen(body), &r), 200);
    j = cJSON_Parse(r.body ? r.body : "");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "top")) == 1);
    cJSON_Delete(j);
    http_resp_free(&r);
    free(body), free(enc), free(png);
    /* a corrupt image */
    CHECK_EQ_INT(post_bytes(port, "image/png", "\x89PNG\r\n\x1a\ngarbage", 15, &r), 400);
    CHECK_MSG(r.body && strstr(r.body, "could not be read"), "%s", r.body ? r.body : "");
    http_resp_free(&r);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hearth_vserve_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(folder_train_and_serve);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    harness_run(cmd, NULL);
    return harness_done();
}
