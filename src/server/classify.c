/*
 * classify.c — POST /v1/images/classify: the image classifier of
 * `hearth serve --classifier clf.gguf` (a model of `hearth vision train`).
 *
 * Request: the image's bytes (PNG, JPEG, WebP, GIF, BMP) as the body, or
 * JSON {"image": "<base64>" | "data:image/...;base64,<base64>", "top": k}.
 * Response: {"model": NAME, "class": C, "p": f, "top": [{"class", "p"}...]}
 * (classes by probability, k = 5 or "top"). Images of another size than
 * the model's are refused with 400 and both sizes in the message.
 */
#include "server_internal.h"

#include "core/buf.h"
#include "hearth/image.h"
#include "hearth/vision_train.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cls_state {
    hearth_vnet *net;        /* one request at a time uses it (mu) */
    pthread_mutex_t mu;
    char name[128];
};

hearth_status cls_create(const char *path, cls_state **out) {
    *out = NULL;
    cls_state *c = calloc(1, sizeof *c);
    if (!c) return HEARTH_ERR_NOMEM;
    hearth_status st = hearth_vnet_load(path, &c->net);
    if (st) {
        free(c);
        return st;
    }
    pthread_mutex_init(&c->mu, NULL);
    const char *base = strrchr(path, '/');
    snprintf(c->name, sizeof c->name, "%s", base ? base + 1 : path);
    *out = c;
    return HEARTH_OK;
}

void cls_free(cls_state *c) {
    if (!c) return;
    hearth_vnet_free(c->net);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

bool cls_route(const char *url) { return !strcmp(url, "/v1/images/classify"); }

static int fail(char **out, int status, const char *msg) {
    api_error e = {0};
    e.status = status;
    e.type = status == 405 ? "invalid_request_error" : "invalid_request_error";
    snprintf(e.message, sizeof e.message, "%s", msg);
    *out = api_error_body(&e);
    return status;
}

int cls_handle(hearth_server *s, const char *method, const char *ctype, const char *body, size_t len, char **out) {
    cls_state *c = s->cls;
    char msg[512];
    if (!c) return fail(out, 404, "this server has no image classifier (hearth serve --classifier FILE)");
    if (strcmp(method, "POST")) return fail(out, 405, "POST an image to /v1/images/classify");
    const void *bytes = body;
    size_t n = len;
    uint8_t *decoded = NULL;
    int top = 5;
    if (ctype && !strncmp(ctype, "application/json", 16)) {
        cJSON *j = cJSON_ParseWithLength(body, len);
        const cJSON *im = cJSON_GetObjectItemCaseSensitive(j, "image"), *tk = cJSON_GetObjectItemCaseSensitive(j, "top");
        if (!cJSON_IsString(im)) {
            cJSON_Delete(j);
            return fail(out, 400, "expected {\"image\": \"<base64>\"} or the image's bytes as the body");
        }
        const char *b = im->valuestring, *comma = !strncmp(b, "data:", 5) ? strchr(b, ',') : NULL;
        const char *b64 = comma ? comma + 1 : b;
        decoded = srv_base64_decode(b64, strlen(b64), &n);
        if (cJSON_IsNumber(tk) && tk->valueint > 0) top = tk->valueint;
        cJSON_Delete(j);
        if (!decoded) return fail(out, 400, "\"image\" is not valid base64");
        bytes = decoded;
    }
    hearth_image img = {0};
    int w, h, ch, k;
    hearth_vnet_shape(c->net, &w, &h, &ch, &k);
    if (hearth_image_decode(bytes, n, ch, &img)) {
        snprintf(msg, sizeof msg, "the image could not be read: %s", hearth_last_error());
        free(decoded);
        return fail(out, 400, msg);
    }
    free(decoded);
    if (img.w != w || img.h != h) {
        snprintf(msg, sizeof msg, "the image is %dx%d; the classifier takes %dx%d", img.w, img.h, w, h);
        hearth_image_free(&img);
        return fail(out, 400, msg);
    }
    float *p = malloc((size_t)k * sizeof(float));
    int *order = malloc((size_t)k * sizeof(int));
    hearth_status st = p && order ? HEARTH_OK : HEARTH_ERR_NOMEM;
    if (!st) {
        pthread_mutex_lock(&c->mu);
        st = hearth_vnet_predict(c->net, NULL, img.data, 1, p);
        pthread_mutex_unlock(&c->mu);
    }
    hearth_image_free(&img);
    if (st) {
        free(p), free(order);
        return fail(out, 500, "classification failed");
    }
    for (int i = 0; i < k; i++) order[i] = i;
    for (int i = 1; i < k; i++)   /* by probability, insertion sort (few classes) */
        for (int j = i; j > 0 && p[order[j]] > p[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    if (top > k) top = k;
    hearth_buf b = {0};
    hearth_buf_puts(&b, "{\"model\": ");
    hearth_buf_json_str(&b, c->name, strlen(c->name));
    const char *best = hearth_vnet_class_name(c->net, order[0]);
    hearth_buf_puts(&b, ", \"class\": ");
    hearth_buf_json_str(&b, best, strlen(best));
    hearth_buf_printf(&b, ", \"p\": %.6f, \"top\": [", p[order[0]]);
    for (int i = 0; i < top; i++) {
        const char *nm = hearth_vnet_class_name(c->net, order[i]);
        hearth_buf_puts(&b, i ? ", {\"class\": " : "{\"class\": ");
        hearth_buf_json_str(&b, nm, strlen(nm));
        hearth_buf_printf(&b, ", \"p\": %.6f}", p[order[i]]);
    }
    hearth_buf_puts(&b, "]}");
    free(p), free(order);
    if (b.oom) {
        hearth_buf_free(&b);
        return fail(out, 500, "out of memory");
    }
    *out = hearth_buf_take(&b, NULL);
    return 200;
}
